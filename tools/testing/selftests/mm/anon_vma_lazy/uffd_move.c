// SPDX-License-Identifier: GPL-2.0
/*
 * uffd_move: UFFDIO_MOVE moves anonymous pages between VMAs of different
 * roots without copying them, and they stay reachable by rmap there.
 *
 * UFFDIO_MOVE remaps an exclusive anonymous folio from one VMA to another
 * and rewrites its rmap: folio->mapping becomes the destination VMA's
 * anon_vma and folio->index its linear index there. Under ANON_VMA_LAZY a
 * lazy destination has no anon_vma; the folio must point at the
 * destination's root VMA instead, with an index that vm_start - vm_pgoff of
 * that root turns into the right address, also once the source VMA is
 * gone.
 *
 * Each test moves pages from a source region to a destination region (a
 * lazy VMA, or one upgraded by a fork whose child still lives), checks
 * that the destination maps the very same PFNs (a move, not a copy),
 * exclusively, mapped once, with the contents, and the source nothing;
 * moves them back; unmaps the other VMA; and then makes the kernel walk
 * rmap from the folios: migration to the other NUMA node (every page must
 * arrive at a new PFN) and MADV_PAGEOUT (every page swapped out, then read
 * back in), where the machine has two nodes and swap (vmtest.sh does).
 * SKIPs where the kernel has no UFFD_FEATURE_MOVE (before 6.8).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>

#include "../../kselftest_harness.h"
#include "harness_main.h"
#include "crew.h"
#include "env.h"
#include "khealth.h"

#define UPAGES		16
#define SRC		0		/* region offsets in pages */
#define DST		(2 * UPAGES)	/* a gap: the regions never merge */
#define RESERVED	(3 * UPAGES)

FIXTURE(uffd_move) {
	int uffd;
	char *base;
	int nodes[2];
	bool numa, swap;
	struct crew *sharer;	/* a child that shares what is mapped */
	__u64 pfn[UPAGES];
	struct page_tag tag[UPAGES];
	struct khealth health;
	/* missing_faults_resolved_by_moves: the faulting thread */
	pthread_t faulter;
	bool faulter_running;
	int faulter_bad;	/* pages it saw with wrong contents */
};

/* Fork before faulting the source or the destination (upgrading it). */
FIXTURE_VARIANT(uffd_move) {
	bool fork_src;
	bool fork_dst;
};

FIXTURE_VARIANT_ADD(uffd_move, lazy_to_lazy) {
	.fork_src = false,
	.fork_dst = false,
};

FIXTURE_VARIANT_ADD(uffd_move, lazy_to_upgraded) {
	.fork_src = false,
	.fork_dst = true,
};

FIXTURE_VARIANT_ADD(uffd_move, upgraded_to_lazy) {
	.fork_src = true,
	.fork_dst = false,
};

static char *page_of(FIXTURE_DATA(uffd_move) * self, int region, int i)
{
	return self->base + (size_t)(region + i) * psize();
}

/* Map region @region, registered for missing faults, pages [0, @fill). */
static int map_region(FIXTURE_DATA(uffd_move) * self, int region, int fill)
{
	struct uffdio_register reg = {
		.range = { .start = (unsigned long)page_of(self, region, 0),
			   .len = UPAGES * psize() },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	char *p = page_of(self, region, 0);
	int i;

	if (mmap(p, UPAGES * psize(), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != p)
		return -errno;
	/* Small folios: UFFDIO_MOVE would split large ones first. */
	madvise(p, UPAGES * psize(), MADV_NOHUGEPAGE);
	for (i = 0; i < fill; i++) {
		self->tag[i] = (struct page_tag){ .owner = region, .index = i };
		tag_fill(page_of(self, region, i), psize(), &self->tag[i]);
	}
	return ioctl(self->uffd, UFFDIO_REGISTER, &reg) ? -errno : 0;
}

/* A child that shares everything mapped so far until the test ends. */
static int fork_sharer(FIXTURE_DATA(uffd_move) * self)
{
	pid_t pid;

	self->sharer = crew_create(1);
	if (!self->sharer)
		return -ENOMEM;
	pid = crew_start(self->sharer, 0);
	return pid < 0 ? pid : 0;
}

/*
 * The oracles and a userfaultfd with UFFD_FEATURE_MOVE at *@uffd; NULL,
 * or why not (a SKIP).
 */
static const char *move_uffd_open(int *uffd)
{
	const char *why = page_oracles_missing();

	report_environment_once();
	*uffd = -1;
	if (why)
		return why;
	return uffd_open(uffd, UFFD_FEATURE_MOVE,
			 "no UFFD_FEATURE_MOVE (kernel older than 6.8)");
}

FIXTURE_SETUP(uffd_move)
{
	const char *why = move_uffd_open(&self->uffd);

	if (why)
		SKIP(return, "%s", why);
	ASSERT_LE(0, self->uffd) TH_LOG("userfaultfd: %s", strerror(errno));
	self->numa = numa_usable_nodes(self->nodes, 2) >= 2;
	self->swap = swap_enabled();
	/* MADV_PAGEOUT drains only this CPU's LRU batch. */
	ASSERT_EQ(0, pin_to_this_cpu());
	self->base = reserve_range(RESERVED * psize());
	ASSERT_NE(NULL, self->base);
	ASSERT_EQ(0, khealth_begin(&self->health, "uffd_move"));
}

/*
 * Also after a failed ASSERT. The sharer, forked with the userfaultfd
 * open, holds it too: once the sharer is gone, closing ours releases the
 * userfaultfd, which lets a fault still waiting for a move complete as an
 * ordinary one, so that the faulting thread ends before its pages are
 * unmapped.
 */
FIXTURE_TEARDOWN(uffd_move)
{
	crew_destroy(self->sharer);
	if (self->uffd >= 0)
		close(self->uffd);
	if (self->faulter_running)
		pthread_join(self->faulter, NULL);
	if (self->base)
		munmap(self->base, RESERVED * psize());
}

/*
 * Pages [1, UPAGES) are at @region: the PFNs they had (a move keeps the
 * folio), present, exclusive, mapped once, intact; the pages at @empty
 * are gone (only pagemap looks: a read would wait for a missing fault).
 */
static void check_at(struct __test_metadata *_metadata,
		     FIXTURE_DATA(uffd_move) * self, int region, int empty,
		     bool same_pfns, const char *when)
{
	struct pagemap_entry e;
	__u64 count;
	int i;

	for (i = 1; i < UPAGES; i++) {
		/* Read first: a swapped-out page comes back in. */
		EXPECT_EQ(0, tag_verify(page_of(self, region, i), psize(),
					&self->tag[i], NULL))
			TH_LOG("%s: page %d contents", when, i);
		ASSERT_EQ(0, pagemap_get(0, (unsigned long)page_of(self, region, i),
					 &e));
		EXPECT_TRUE(e.present && e.exclusive && !e.file)
			TH_LOG("%s: page %d: present %d exclusive %d", when, i,
			       e.present, e.exclusive);
		if (same_pfns)
			EXPECT_EQ(self->pfn[i], e.pfn)
				TH_LOG("%s: page %d was copied, not moved", when, i);
		EXPECT_EQ(0, kpagecount_get(e.pfn, &count));
		EXPECT_EQ((__u64)1, count) TH_LOG("%s: page %d", when, i);
		self->pfn[i] = e.pfn;
		if (empty < 0)
			continue;
		ASSERT_EQ(0, pagemap_get(0, (unsigned long)page_of(self, empty, i),
					 &e));
		EXPECT_FALSE(e.present || e.swapped)
			TH_LOG("%s: page %d still at its source", when, i);
	}
}

/*
 * UFFDIO_MOVE of pages [first, last) from region @from to @to with @mode:
 * 0 and the bytes moved, or -errno and the bytes moved before it stopped.
 */
static int move_part(FIXTURE_DATA(uffd_move) * self, int from, int to,
		     int first, int last, __u64 mode, __s64 *moved)
{
	struct uffdio_move mv = {
		.dst = (unsigned long)page_of(self, to, first),
		.src = (unsigned long)page_of(self, from, first),
		.len = (last - first) * psize(),
		.mode = mode,
	};
	int ret = ioctl(self->uffd, UFFDIO_MOVE, &mv) ? -errno : 0;

	*moved = mv.move;
	return ret;
}

static void move(struct __test_metadata *_metadata,
		 FIXTURE_DATA(uffd_move) * self, int from, int to)
{
	struct uffdio_move mv = {
		.dst = (unsigned long)page_of(self, to, 1),
		.src = (unsigned long)page_of(self, from, 1),
		.len = (UPAGES - 1) * psize(),
	};

	ASSERT_EQ(0, ioctl(self->uffd, UFFDIO_MOVE, &mv))
		TH_LOG("UFFDIO_MOVE: %s, moved %lld bytes", strerror(errno),
		       (long long)mv.move);
	ASSERT_EQ((__s64)mv.len, mv.move);
}

/* rmap walks from the folios at @region: migration, then pageout. */
static void walk(struct __test_metadata *_metadata,
		 FIXTURE_DATA(uffd_move) * self, int region, const char *when)
{
	int status[UPAGES], to[UPAGES], i, try, left;
	struct pagemap_entry e;
	void *pages[UPAGES];

	for (i = 1; i < UPAGES; i++)
		pages[i - 1] = page_of(self, region, i);
	if (self->numa) {
		EXPECT_LE(0, pages_move_away(0, pages, UPAGES - 1, self->nodes,
					     to));
		ASSERT_EQ(0, pages_node(0, pages, UPAGES - 1, status));
		for (i = 0; i < UPAGES - 1; i++)
			EXPECT_EQ(to[i], status[i])
				TH_LOG("%s: page %d not migrated", when, i + 1);
		for (i = 1; i < UPAGES; i++) {
			ASSERT_EQ(0, pagemap_get(0, (unsigned long)pages[i - 1],
						 &e));
			EXPECT_NE(self->pfn[i], e.pfn)
				TH_LOG("%s: page %d kept its PFN", when, i);
		}
		check_at(_metadata, self, region, -1, false, when);
	}
	if (self->swap) {
		for (try = 0, left = 1; try < 4 && left; try++) {
			ASSERT_EQ(0, madvise(pages[0], (UPAGES - 1) * psize(),
					     MADV_PAGEOUT));
			for (left = 0, i = 0; i < UPAGES - 1; i++) {
				ASSERT_EQ(0, pagemap_get(0, (unsigned long)pages[i],
							 &e));
				left += !e.swapped;
			}
		}
		EXPECT_EQ(0, left) TH_LOG("%s: pages not swapped out", when);
		/* Reading swaps them in: rmap set up again at this address. */
		check_at(_metadata, self, region, -1, false, when);
	}
}

/*
 * Pages 1..15 move between the source and the destination region and back
 * (page 0 of each stays: the destination's page 0 is what a fork shares
 * in lazy_to_upgraded):
 *
 *   SRC [ 0 1 2 ... 15 ]   DST [ 0 . . ... . ]     faulted, registered
 *   UFFDIO_MOVE:  SRC [ 0 . . ... . ]   DST [ 0 1 2 ... 15 ]   same PFNs
 *   walk DST (migrate, pageout); move back; move again; unmap SRC; walk
 */
/*
 * Map the regions as the variant says: SRC faulted (pages 0..15), DST
 * registered, its page 0 shared with a child (lazy_to_upgraded) or not;
 * after upgraded_to_lazy's fork, SRC's pages are COW copies again.
 */
static void build_regions(struct __test_metadata *_metadata,
			  FIXTURE_DATA(uffd_move) * self,
			  const FIXTURE_VARIANT(uffd_move) * variant)
{
	int i;

	if (variant->fork_dst) {
		/* The destination's page 0 is shared with a living child. */
		ASSERT_EQ(0, map_region(self, DST, 1));
		ASSERT_EQ(0, fork_sharer(self));
		ASSERT_EQ(0, map_region(self, SRC, UPAGES));
	} else if (variant->fork_src) {
		ASSERT_EQ(0, map_region(self, SRC, UPAGES));
		ASSERT_EQ(0, fork_sharer(self));
		/* COW: our copies are exclusive again, movable. */
		for (i = 0; i < UPAGES; i++)
			tag_fill(page_of(self, SRC, i), psize(),
				 &self->tag[i]);
		ASSERT_EQ(0, map_region(self, DST, 0));
	} else {
		ASSERT_EQ(0, map_region(self, SRC, UPAGES));
		ASSERT_EQ(0, map_region(self, DST, 0));
	}
}

TEST_F_TIMEOUT(uffd_move, move_there_and_back, 60)
{
	char report[2048];
	struct pagemap_entry e;
	int i;

	build_regions(_metadata, self, variant);
	for (i = 1; i < UPAGES; i++) {
		ASSERT_EQ(0, pagemap_get(0, (unsigned long)page_of(self, SRC, i),
					 &e));
		self->pfn[i] = e.pfn;
	}

	move(_metadata, self, SRC, DST);
	check_at(_metadata, self, DST, SRC, true, "moved");
	walk(_metadata, self, DST, "walked at the destination");
	move(_metadata, self, DST, SRC);
	check_at(_metadata, self, SRC, DST, true, "moved back");
	move(_metadata, self, SRC, DST);
	check_at(_metadata, self, DST, SRC, true, "moved again");
	/* The source VMA goes: the folios now live in the destination only. */
	ASSERT_EQ(0, munmap(page_of(self, SRC, 0), UPAGES * psize()));
	walk(_metadata, self, DST, "walked after the source was unmapped");
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/* A thread that faults DST's pages 1..15: reads, then writes the same. */
static void *fault_dst(void *arg)
{
	FIXTURE_DATA(uffd_move) * self = arg;
	int i;

	for (i = 1; i < UPAGES; i++) {
		char *p = page_of(self, DST, i);

		/* The fault waits until the handler moved the page in. */
		if (i >= UPAGES / 2)
			tag_fill(p, psize(), &self->tag[i]);
		if (tag_verify(p, psize(), &self->tag[i], NULL))
			self->faulter_bad++;
	}
	return NULL;
}

/*
 * UFFDIO_MOVE as it is meant to be used: a missing fault on the
 * destination (a read fault on pages 1..7, a write fault on 8..15) is
 * resolved by moving the source's page in, which wakes the faulting
 * thread; it sees the moved contents, at the source's PFN.
 */
TEST_F_TIMEOUT(uffd_move, missing_faults_resolved_by_moves, 60)
{
	struct pollfd pfd = { .fd = self->uffd, .events = POLLIN };
	struct uffd_msg msg;
	char report[2048];
	struct pagemap_entry e;
	int i, faults = 0;
	__s64 moved;

	build_regions(_metadata, self, variant);
	for (i = 1; i < UPAGES; i++) {
		ASSERT_EQ(0, pagemap_get(0, (unsigned long)page_of(self, SRC, i),
					 &e));
		self->pfn[i] = e.pfn;
	}
	ASSERT_EQ(0, pthread_create(&self->faulter, NULL, fault_dst, self));
	self->faulter_running = true;
	while (faults < UPAGES - 1) {
		ASSERT_EQ(1, poll(&pfd, 1, 10000)) TH_LOG("no fault within 10 s");
		ASSERT_EQ((ssize_t)sizeof(msg), read(self->uffd, &msg, sizeof(msg)));
		ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
		i = (msg.arg.pagefault.address - (unsigned long)page_of(self, DST, 0)) /
		    psize();
		ASSERT_TRUE(i >= 1 && i < UPAGES) TH_LOG("fault at page %d", i);
		EXPECT_EQ(i >= UPAGES / 2,
			  !!(msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE))
			TH_LOG("page %d", i);
		ASSERT_EQ(0, move_part(self, SRC, DST, i, i + 1, 0, &moved))
			TH_LOG("page %d: %s", i, strerror(errno));
		faults++;
	}
	self->faulter_running = false;
	ASSERT_EQ(0, pthread_join(self->faulter, NULL));
	EXPECT_EQ(0, self->faulter_bad)
		TH_LOG("%d pages with wrong contents", self->faulter_bad);
	check_at(_metadata, self, DST, SRC, true, "moved by the fault handler");
	walk(_metadata, self, DST, "walked at the destination");
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/* Pages [1, UPAGES) at @region all swapped out (swap entries), or not. */
static int count_swapped(FIXTURE_DATA(uffd_move) * self, int region)
{
	struct pagemap_entry e;
	int i, n = 0;

	for (i = 1; i < UPAGES; i++) {
		if (pagemap_get(0, (unsigned long)page_of(self, region, i), &e))
			return -1;
		n += e.swapped;
	}
	return n;
}

/* How many of pages [1, UPAGES) at @region the page cache (swap cache) has. */
static int count_cached(FIXTURE_DATA(uffd_move) * self, int region)
{
	unsigned char vec[UPAGES];
	int i, n = 0;

	if (mincore(page_of(self, region, 1), (UPAGES - 1) * psize(), vec))
		return -1;
	for (i = 0; i < UPAGES - 1; i++)
		n += vec[i] & 1;
	return n;
}

/*
 * UFFDIO_MOVE of swap entries (move_swap_pte()): SRC's pages are paged out
 * first; with @cached they are read back into the swap cache by
 * MADV_WILLNEED (mincore() says they are there), their PTEs still swap
 * entries. The move must give a cached folio the destination's rmap (the
 * 2025 fix "mm: fix kernel BUG when userfaultfd_move encounters
 * swapcache", c50f8e6053b0): the swap-in at DST maps it, and the walks
 * from it must then reach DST.
 *
 *   SRC [ 0 s s ... s ]  swap entries (+ swap cache)   DST [ 0 . . ... . ]
 *   UFFDIO_MOVE:   SRC [ 0 . . ... . ]   DST [ 0 s s ... s ]
 *   read DST: swapped in, intact, exclusive; walk DST (migrate, pageout)
 */
static void move_swapped(struct __test_metadata *_metadata,
			 FIXTURE_DATA(uffd_move) * self,
			 const FIXTURE_VARIANT(uffd_move) * variant, bool cached)
{
	long long deadline;
	char report[2048];
	int try, n = 0;

	if (!self->swap)
		SKIP(return, "needs swap for MADV_PAGEOUT");
	build_regions(_metadata, self, variant);
	for (try = 0; try < 4 && n < UPAGES - 1; try++) {
		ASSERT_EQ(0, madvise(page_of(self, SRC, 1),
				     (UPAGES - 1) * psize(), MADV_PAGEOUT));
		n = count_swapped(self, SRC);
	}
	ASSERT_EQ(UPAGES - 1, n) TH_LOG("SRC pages not swapped out");
	if (cached) {
		ASSERT_EQ(0, madvise(page_of(self, SRC, 1),
				     (UPAGES - 1) * psize(), MADV_WILLNEED));
		deadline = now_ms() + 10000;
		while ((n = count_cached(self, SRC)) < UPAGES - 1 &&
		       now_ms() < deadline)
			sleep_ms(5);
		ASSERT_EQ(UPAGES - 1, n) TH_LOG("swap cache holds %d pages", n);
		/* Still swap entries: the folios are in the swap cache only. */
		ASSERT_EQ(UPAGES - 1, count_swapped(self, SRC));
	}
	move(_metadata, self, SRC, DST);
	EXPECT_EQ(0, count_swapped(self, SRC));
	EXPECT_EQ(UPAGES - 1, count_swapped(self, DST));
	/* Reading swaps them in at DST: contents, exclusive, mapped once. */
	check_at(_metadata, self, DST, SRC, false, "swapped in at DST");
	walk(_metadata, self, DST, "walked at the destination");
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

TEST_F_TIMEOUT(uffd_move, move_swapped_out, 60)
{
	move_swapped(_metadata, self, variant, false);
}

TEST_F_TIMEOUT(uffd_move, move_from_swap_cache, 60)
{
	move_swapped(_metadata, self, variant, true);
}

/* The PFN at page @i of @region (0: not present). */
static __u64 pfn_at(FIXTURE_DATA(uffd_move) * self, int region, int i)
{
	struct pagemap_entry e;

	return pagemap_get(0, (unsigned long)page_of(self, region, i), &e) ? 0 :
	       e.pfn;
}

/*
 * Holes and zero pages in the source. Without UFFDIO_MOVE_MODE_ALLOW_SRC_
 * HOLES a move stops at the first hole: EAGAIN with the bytes moved so
 * far, or ENOENT when it starts at one; with it, holes are skipped and a
 * zero page is moved as a zero page (move_zeropage_pte()). The pages
 * moved before a hole are where they should be.
 *
 *   SRC [ 0 1 2 . 4 z 6 ... 15 ]   . a hole (MADV_DONTNEED), z the zero
 *                                   page (UFFDIO_ZEROPAGE)
 *   move 1..15: EAGAIN, 2 moved      DST [ 0 1 2 . . . ... ]
 *   move 3..15: ENOENT, 0 moved
 *   move 3..15 allowing holes:       DST [ 0 1 2 . 4 z 6 ... 15 ]
 */
TEST_F_TIMEOUT(uffd_move, move_holes_and_zero_pages, 60)
{
	__u64 pfn[UPAGES];
	char report[2048], zero[64] = { 0 };
	__s64 moved;
	int i, ret;

	struct uffdio_zeropage zp = {
		.range = { .start = (unsigned long)page_of(self, SRC, 5),
			   .len = psize() },
	};

	build_regions(_metadata, self, variant);
	ASSERT_EQ(0, madvise(page_of(self, SRC, 3), psize(), MADV_DONTNEED));
	ASSERT_EQ(0, madvise(page_of(self, SRC, 5), psize(), MADV_DONTNEED));
	/* SRC is registered: a fault would wait; map the zero page instead. */
	ASSERT_EQ(0, ioctl(self->uffd, UFFDIO_ZEROPAGE, &zp))
		TH_LOG("UFFDIO_ZEROPAGE: %s", strerror(errno));
	ASSERT_EQ(0, memcmp(page_of(self, SRC, 5), zero, sizeof(zero)));
	for (i = 0; i < UPAGES; i++)
		pfn[i] = pfn_at(self, SRC, i);
	ASSERT_EQ(0ULL, pfn[3]);

	/* Partial progress: EAGAIN, and the count of what moved. */
	ret = move_part(self, SRC, DST, 1, UPAGES, 0, &moved);
	EXPECT_EQ(-EAGAIN, ret) TH_LOG("a move over a hole: %s", strerror(-ret));
	EXPECT_EQ((__s64)(2 * psize()), moved);
	/* From the hole on: nothing moves, ENOENT (also in the count). */
	ret = move_part(self, SRC, DST, 3, UPAGES, 0, &moved);
	EXPECT_EQ(-ENOENT, ret) TH_LOG("a move from a hole: %s", strerror(-ret));
	EXPECT_EQ(-ENOENT, moved);
	for (i = 1; i < 3; i++) {
		EXPECT_EQ(pfn[i], pfn_at(self, DST, i)) TH_LOG("page %d", i);
		EXPECT_EQ(0ULL, pfn_at(self, SRC, i)) TH_LOG("page %d", i);
	}
	EXPECT_EQ(pfn[4], pfn_at(self, SRC, 4));

	ret = move_part(self, SRC, DST, 3, UPAGES,
			UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES, &moved);
	EXPECT_EQ(0, ret) TH_LOG("allowing holes: %s", strerror(-ret));
	EXPECT_EQ(0ULL, pfn_at(self, DST, 3));
	for (i = 4; i < UPAGES; i++) {
		EXPECT_EQ(pfn[i], pfn_at(self, DST, i)) TH_LOG("page %d", i);
		EXPECT_EQ(0ULL, pfn_at(self, SRC, i)) TH_LOG("page %d", i);
		if (i == 5) {
			EXPECT_EQ(0, memcmp(page_of(self, DST, 5), zero,
					    sizeof(zero)));
			continue;
		}
		EXPECT_EQ(0, tag_verify(page_of(self, DST, i), psize(),
					&self->tag[i], NULL)) TH_LOG("page %d", i);
	}
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * A source whose page table was never allocated (a fresh VMA in a PMD
 * range nothing has touched: its PMD entry is empty): without
 * UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES the move fails at once with ENOENT;
 * with it the kernel allocates the source's page table and moves holes.
 * Either way nothing arrives at the destination and the source stays
 * empty.
 */
TEST_F_TIMEOUT(uffd_move, move_from_untouched_page_table, 60)
{
	unsigned long pmd = read_pmd_pagesize();
	struct uffdio_move mv = { 0 };
	char *area, *src, report[2048];
	struct pagemap_entry e;
	int i;

	if (!pmd)
		SKIP(return, "no PMD size in sysfs (no THP)");
	build_regions(_metadata, self, variant);
	area = reserve_range(2 * pmd);
	ASSERT_NE(NULL, area);
	src = (char *)(((unsigned long)area + pmd - 1) & ~(pmd - 1));
	ASSERT_EQ(src, mmap(src, UPAGES * psize(), PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	mv.src = (unsigned long)src + psize();
	mv.dst = (unsigned long)page_of(self, DST, 1);
	mv.len = (UPAGES - 1) * psize();
	EXPECT_EQ(-1, ioctl(self->uffd, UFFDIO_MOVE, &mv));
	EXPECT_EQ(ENOENT, errno) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(-ENOENT, mv.move);
	mv.mode = UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES;
	mv.move = 0;
	EXPECT_EQ(0, ioctl(self->uffd, UFFDIO_MOVE, &mv))
		TH_LOG("allowing holes: %s", strerror(errno));
	EXPECT_EQ((__s64)mv.len, mv.move);
	for (i = 1; i < UPAGES; i++) {
		EXPECT_EQ(0ULL, pfn_at(self, DST, i)) TH_LOG("page %d", i);
		ASSERT_EQ(0, pagemap_get(0, (unsigned long)src + i * psize(), &e));
		EXPECT_FALSE(e.present || e.swapped) TH_LOG("source page %d", i);
	}
	munmap(area, 2 * pmd);
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * A page mapped by another process too cannot move (its rmap would have
 * to follow in both): UFFDIO_MOVE fails with EBUSY before moving it. Once
 * COW made the pages ours alone, they move.
 *
 *   SRC [ 0 S S ... S ]  shared with a child   move: EBUSY, nothing moved
 *   write them: SRC [ 0 1 2 ... 15 ]           move: all of them
 */
TEST_F_TIMEOUT(uffd_move, move_shared_pages_busy, 60)
{
	struct crew *sharer;
	char report[2048];
	__s64 moved;
	int i, ret;

	build_regions(_metadata, self, variant);
	/* A child of our own that maps every page of SRC as we do. */
	sharer = crew_create(1);
	ASSERT_NE(NULL, sharer);
	ASSERT_LT(0, crew_start(sharer, 0));
	ret = move_part(self, SRC, DST, 1, UPAGES, 0, &moved);
	EXPECT_EQ(-EBUSY, ret) TH_LOG("moving shared pages: %s", strerror(-ret));
	/* Nothing moved: the count is the negated error. */
	EXPECT_EQ(-EBUSY, moved);
	EXPECT_EQ(0ULL, pfn_at(self, DST, 1));
	for (i = 1; i < UPAGES; i++)
		tag_fill(page_of(self, SRC, i), psize(), &self->tag[i]);
	ret = move_part(self, SRC, DST, 1, UPAGES, 0, &moved);
	EXPECT_EQ(0, ret) TH_LOG("moving COWed pages: %s", strerror(-ret));
	EXPECT_EQ((__s64)((UPAGES - 1) * psize()), moved);
	check_at(_metadata, self, DST, SRC, false, "moved after COW");
	crew_destroy(sharer);
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * Moves UFFDIO_MOVE rejects before it touches a page: a source or a
 * destination range that runs past the end of its VMA, a shared source
 * or destination (move_pages() moves only private anonymous pages), a
 * destination VMA whose protection is not the source's (a moved page
 * would change its protection). Each is EINVAL with nothing moved; the
 * pages stay where they were, at their PFNs, and walks still find them
 * there.
 *
 *   SRC [ 0 1 2 ... 15 ] |reserved|   SHARED [ s s ... ]  MAP_SHARED
 *   SRC 1..16 -> DST   SRC 1..15 -> DST 2..16   SHARED -> DST   SRC -> SHARED
 *   SRC 1..15 -> DST 1..15 made read-only
 */
TEST_F_TIMEOUT(uffd_move, rejected_moves_change_nothing, 60)
{
	size_t len = (UPAGES - 1) * psize();
	struct {
		const char *what;
		char *src, *dst;
		size_t len;
	} bad[5];
	const unsigned int read_only_dst = 4;
	char *shared, report[2048];
	unsigned int k;
	int i, ret, err;

	build_regions(_metadata, self, variant);
	for (i = 1; i < UPAGES; i++)
		self->pfn[i] = pfn_at(self, SRC, i);
	shared = mmap(NULL, UPAGES * psize(), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, shared);
	memset(shared, 0x5a, UPAGES * psize());
	bad[0] = (typeof(bad[0])){ "source past its VMA", page_of(self, SRC, 1),
				   page_of(self, DST, 1), len + psize() };
	bad[1] = (typeof(bad[0])){ "destination past its VMA",
				   page_of(self, SRC, 1), page_of(self, DST, 2),
				   len };
	bad[2] = (typeof(bad[0])){ "shared source", shared,
				   page_of(self, DST, 1), len };
	bad[3] = (typeof(bad[0])){ "shared destination", page_of(self, SRC, 1),
				   shared, len };
	bad[read_only_dst] = (typeof(bad[0])){ "read-only destination",
					       page_of(self, SRC, 1),
					       page_of(self, DST, 1), len };
	for (k = 0; k < ARRAY_SIZE(bad); k++) {
		struct uffdio_move mv = {
			.src = (unsigned long)bad[k].src,
			.dst = (unsigned long)bad[k].dst,
			.len = bad[k].len,
		};

		if (k == read_only_dst)
			ASSERT_EQ(0, mprotect(bad[k].dst, bad[k].len, PROT_READ));
		ret = ioctl(self->uffd, UFFDIO_MOVE, &mv);
		err = errno;
		if (k == read_only_dst)
			ASSERT_EQ(0, mprotect(bad[k].dst, bad[k].len,
					      PROT_READ | PROT_WRITE));
		EXPECT_EQ(-1, ret) TH_LOG("%s: moved", bad[k].what);
		EXPECT_EQ(EINVAL, err) TH_LOG("%s: %s", bad[k].what,
					      strerror(err));
		EXPECT_EQ(-EINVAL, mv.move) TH_LOG("%s", bad[k].what);
	}
	for (i = 1; i < UPAGES; i++)
		EXPECT_EQ(0ULL, pfn_at(self, DST, i)) TH_LOG("page %d moved", i);
	check_at(_metadata, self, SRC, -1, true, "after the rejected moves");
	walk(_metadata, self, SRC, "after the rejected moves");
	munmap(shared, UPAGES * psize());
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/* ---- uffd_move_thp: PMD-mapped THPs ------------------------------------ */

/*
 * A move of a whole, PMD-aligned THP moves the PMD (move_pages_huge_pmd():
 * the folio keeps its PFNs and becomes the destination's, as one); a
 * move of part of one splits the PMD and then the folio, and moves small
 * pages; a THP mapped by another process too is EBUSY, like a small page.
 *
 *   SRC [ T T ... T ]  one THP, 2 MiB aligned    DST [ . . ... . ]
 */
FIXTURE(uffd_move_thp) {
	int uffd;
	char *reserved, *src, *dst;
	size_t thp, reserved_len;
	int n;			/* base pages per THP */
	int nodes[2];
	bool numa;
	__u64 pfn0;		/* the THP's first PFN */
	struct khealth health;
};

static struct page_tag thp_tag(int i)
{
	return (struct page_tag){ .owner = 7, .index = i };
}

/* Register [@p, @p + @len) for missing faults. */
static int register_range(int uffd, char *p, size_t len)
{
	struct uffdio_register reg = {
		.range = { .start = (unsigned long)p, .len = len },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};

	return ioctl(uffd, UFFDIO_REGISTER, &reg) ? -errno : 0;
}

/* Pages [first, last) of @p: the @pfn0 + i of a move, tagged, mapped once. */
static int thp_pages_at(struct __test_metadata *_metadata,
			FIXTURE_DATA(uffd_move_thp) * self, char *p,
			int first, int last, __u64 pfn0, const char *when)
{
	struct pagemap_entry e;
	struct page_tag tag;
	int i, bad = 0;
	__u64 count;

	for (i = first; i < last; i++) {
		tag = thp_tag(i);
		if (pagemap_get(0, (unsigned long)p + i * psize(), &e) ||
		    !e.present || !e.exclusive || (pfn0 && e.pfn != pfn0 + i) ||
		    kpagecount_get(e.pfn, &count) || count != 1 ||
		    tag_verify(p + i * psize(), psize(), &tag, NULL)) {
			if (bad++ < 4)
				TH_LOG("%s: page %d: present %d exclusive %d pfn %#llx",
				       when, i, e.present, e.exclusive,
				       (unsigned long long)e.pfn);
		}
	}
	return bad;
}

/* Pages [first, last) of @p not mapped (pagemap only: no fault). */
static int thp_pages_gone(FIXTURE_DATA(uffd_move_thp) * self, char *p,
			  int first, int last)
{
	struct pagemap_entry e;
	int i, bad = 0;

	for (i = first; i < last; i++)
		bad += pagemap_get(0, (unsigned long)p + i * psize(), &e) ||
		       e.present || e.swapped;
	return bad;
}

/* Whether @p is mapped by one PMD (smaps AnonHugePages of its VMA). */
static bool pmd_mapped_at(FIXTURE_DATA(uffd_move_thp) * self, char *p)
{
	unsigned long kb;

	return !smaps_field_kb("/proc/self/smaps", (unsigned long)p,
			       "AnonHugePages", &kb) &&
	       kb >= self->thp / 1024;
}

FIXTURE_SETUP(uffd_move_thp)
{
	const char *why = move_uffd_open(&self->uffd);
	struct pagemap_entry e;
	struct page_tag tag;
	char mode[64];
	int i;

	if (why)
		SKIP(return, "%s", why);
	ASSERT_LE(0, self->uffd) TH_LOG("userfaultfd: %s", strerror(errno));
	self->thp = read_pmd_pagesize();
	if (!self->thp || read_text(THP_SYSFS "/enabled", mode, sizeof(mode)) <= 0)
		SKIP(return, "no THP (CONFIG_TRANSPARENT_HUGEPAGE)");
	if (strstr(mode, "[never]"))
		ASSERT_EQ(0, knob_set(THP_SYSFS "/enabled", "madvise"));
	self->n = self->thp / psize();
	self->numa = numa_usable_nodes(self->nodes, 2) >= 2;
	/* SRC, a gap, DST: each THP-aligned. */
	self->reserved_len = 4 * self->thp;
	self->reserved = reserve_range(self->reserved_len);
	ASSERT_NE(NULL, self->reserved);
	self->src = (char *)(((unsigned long)self->reserved + self->thp - 1) &
			     ~(self->thp - 1));
	self->dst = self->src + 2 * self->thp;
	for (i = 0; i < 2; i++) {
		char *p = i ? self->dst : self->src;

		ASSERT_EQ(p, mmap(p, self->thp, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
		ASSERT_EQ(0, madvise(p, self->thp, MADV_HUGEPAGE));
	}
	for (i = 0; i < self->n; i++) {
		tag = thp_tag(i);
		tag_fill(self->src + i * psize(), psize(), &tag);
	}
	ASSERT_EQ(0, register_range(self->uffd, self->src, self->thp));
	ASSERT_EQ(0, register_range(self->uffd, self->dst, self->thp));
	ASSERT_EQ(0, pagemap_get(0, (unsigned long)self->src, &e));
	self->pfn0 = e.pfn;
	if (!pmd_mapped_at(self, self->src) ||
	    thp_pages_at(_metadata, self, self->src, 0, self->n, e.pfn, "fault"))
		SKIP(return, "no THP could be allocated (fragmented memory)");
	ASSERT_EQ(0, khealth_begin(&self->health, "uffd_move_thp"));
}

FIXTURE_TEARDOWN(uffd_move_thp)
{
	if (self->uffd >= 0)
		close(self->uffd);
	if (self->reserved)
		munmap(self->reserved, self->reserved_len);
	knob_restore_all();
}

/* UFFDIO_MOVE of [@from, @from + @len) to @to: 0 or -errno; @moved. */
static int move_thp_range(FIXTURE_DATA(uffd_move_thp) * self, char *from,
			  char *to, size_t len, __s64 *moved)
{
	struct uffdio_move mv = {
		.dst = (unsigned long)to, .src = (unsigned long)from,
		.len = len,
	};
	int ret = ioctl(self->uffd, UFFDIO_MOVE, &mv) ? -errno : 0;

	*moved = mv.move;
	return ret;
}

/* Migrate pages [first, last) of @p to the other node: all arrive anew. */
static void thp_migrate(struct __test_metadata *_metadata,
			FIXTURE_DATA(uffd_move_thp) * self, char *p,
			int first, int last)
{
	void *page = p + first * psize();
	int node, to, status, bad;

	if (!self->numa)
		return;
	ASSERT_EQ(0, pages_node(0, &page, 1, &node));
	to = node == self->nodes[0] ? self->nodes[1] : self->nodes[0];
	for (bad = 0; first < last; first++) {
		page = p + first * psize();
		if (pages_move(0, &page, 1, to, &status) ||
		    pages_node(0, &page, 1, &node) || node != to)
			bad++;
	}
	EXPECT_EQ(0, bad) TH_LOG("pages not migrated to node %d", to);
}

/*
 * The whole THP moves as one: the PMD goes to DST, the same PFNs, still a
 * THP; it moves back; then migration walks it at SRC.
 */
TEST_F_TIMEOUT(uffd_move_thp, whole_pmd_moves, 60)
{
	char report[2048];
	__s64 moved;

	ASSERT_EQ(0, move_thp_range(self, self->src, self->dst, self->thp,
				    &moved)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ((__s64)self->thp, moved);
	EXPECT_TRUE(pmd_mapped_at(self, self->dst));
	EXPECT_EQ(0, thp_pages_gone(self, self->src, 0, self->n));
	EXPECT_EQ(0, thp_pages_at(_metadata, self, self->dst, 0, self->n,
				  self->pfn0, "moved"));
	ASSERT_EQ(0, move_thp_range(self, self->dst, self->src, self->thp,
				    &moved));
	EXPECT_TRUE(pmd_mapped_at(self, self->src));
	EXPECT_EQ(0, thp_pages_at(_metadata, self, self->src, 0, self->n,
				  self->pfn0, "moved back"));
	thp_migrate(_metadata, self, self->src, 0, 1);
	EXPECT_EQ(0, thp_pages_at(_metadata, self, self->src, 0, self->n, 0,
				  "migrated"));
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * Half of the THP: the PMD is split, then the folio (a large folio cannot
 * move by PTEs), and the small pages move keeping their PFNs; the other
 * half stays at SRC. Both halves are walked by migration afterwards.
 */
TEST_F_TIMEOUT(uffd_move_thp, half_splits_and_moves, 60)
{
	int half = self->n / 2;
	char report[2048];
	__s64 moved;

	ASSERT_EQ(0, move_thp_range(self, self->src, self->dst,
				    half * psize(), &moved))
		TH_LOG("%s", strerror(errno));
	EXPECT_EQ((__s64)(half * psize()), moved);
	EXPECT_FALSE(pmd_mapped_at(self, self->dst));
	EXPECT_EQ(0, thp_pages_gone(self, self->src, 0, half));
	EXPECT_EQ(0, thp_pages_at(_metadata, self, self->dst, 0, half,
				  self->pfn0, "moved half"));
	EXPECT_EQ(0, thp_pages_at(_metadata, self, self->src, half, self->n,
				  self->pfn0, "stayed half"));
	thp_migrate(_metadata, self, self->dst, 0, half);
	thp_migrate(_metadata, self, self->src, half, self->n);
	EXPECT_EQ(0, thp_pages_at(_metadata, self, self->dst, 0, half, 0,
				  "moved half, migrated"));
	EXPECT_EQ(0, thp_pages_at(_metadata, self, self->src, half, self->n, 0,
				  "stayed half, migrated"));
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * A THP shared with a child (fork): EBUSY, nothing moves, the whole PMD
 * as well as half of it (which would need the PMD split first: refused
 * before the split, the THP stays PMD-mapped). Once the child is gone, a
 * write makes the THP ours again (reused by the write fault, not copied)
 * and it moves.
 */
TEST_F_TIMEOUT(uffd_move_thp, shared_pmd_busy_until_reused, 60)
{
	struct pagemap_entry e;
	struct page_tag tag = thp_tag(0);
	struct crew *sharer;
	char report[2048];
	__s64 moved;
	int ret;

	sharer = crew_create(1);
	ASSERT_NE(NULL, sharer);
	ASSERT_LT(0, crew_start(sharer, 0));
	ret = move_thp_range(self, self->src, self->dst, self->thp, &moved);
	EXPECT_EQ(-EBUSY, ret) TH_LOG("moving a shared THP: %s", strerror(-ret));
	EXPECT_EQ(0, thp_pages_gone(self, self->dst, 0, self->n));
	ret = move_thp_range(self, self->src, self->dst, self->thp / 2, &moved);
	EXPECT_EQ(-EBUSY, ret)
		TH_LOG("moving half a shared THP: %s", strerror(-ret));
	EXPECT_EQ(0, thp_pages_gone(self, self->dst, 0, self->n));
	ASSERT_EQ(0, pagemap_get(crew_pid(sharer, 0), (unsigned long)self->src,
				 &e));
	EXPECT_EQ(self->pfn0, e.pfn);
	crew_destroy(sharer);

	tag_fill(self->src, psize(), &tag);
	EXPECT_TRUE(pmd_mapped_at(self, self->src));
	EXPECT_EQ(0, thp_pages_at(_metadata, self, self->src, 0, self->n,
				  self->pfn0, "reused"));
	ret = move_thp_range(self, self->src, self->dst, self->thp, &moved);
	EXPECT_EQ(0, ret) TH_LOG("moving the reused THP: %s", strerror(-ret));
	EXPECT_EQ(0, thp_pages_at(_metadata, self, self->dst, 0, self->n,
				  self->pfn0, "moved"));
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

AVL_HARNESS_MAIN
