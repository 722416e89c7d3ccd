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

/* A userfaultfd with UFFD_FEATURE_MOVE, or a reason why not. */
static const char *open_uffd(int *fd)
{
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_MOVE };

	if (kconfig_has("USERFAULTFD") == 0)
		return "no CONFIG_USERFAULTFD";
	*fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (*fd < 0 && (errno == EPERM || errno == EACCES))
		return "userfaultfd() not permitted here";
	if (*fd < 0)
		return NULL;	/* the caller fails on it */
	if (ioctl(*fd, UFFDIO_API, &api) || !(api.features & UFFD_FEATURE_MOVE))
		return "no UFFD_FEATURE_MOVE (kernel older than 6.8)";
	return NULL;
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

FIXTURE_SETUP(uffd_move)
{
	const char *why = page_oracles_missing();

	report_environment_once();
	self->uffd = -1;
	if (why)
		SKIP(return, "%s", why);
	why = open_uffd(&self->uffd);
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

FIXTURE_TEARDOWN(uffd_move)
{
	crew_destroy(self->sharer);
	if (self->uffd >= 0)
		close(self->uffd);
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
	void *pages[UPAGES];
	int status[UPAGES], node, i, try, left;
	struct pagemap_entry e;

	for (i = 1; i < UPAGES; i++)
		pages[i - 1] = page_of(self, region, i);
	if (self->numa) {
		ASSERT_EQ(0, pages_node(0, pages, 1, status));
		node = status[0] == self->nodes[0] ? self->nodes[1] :
						     self->nodes[0];
		EXPECT_LE(0, pages_move(0, pages, UPAGES - 1, node, status));
		ASSERT_EQ(0, pages_node(0, pages, UPAGES - 1, status));
		for (i = 0; i < UPAGES - 1; i++)
			EXPECT_EQ(node, status[i])
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
TEST_F_TIMEOUT(uffd_move, move_there_and_back, 60)
{
	char report[2048];
	struct pagemap_entry e;
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

TEST_HARNESS_MAIN
