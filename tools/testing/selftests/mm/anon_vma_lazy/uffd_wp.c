// SPDX-License-Identifier: GPL-2.0
/*
 * uffd_wp: the userfaultfd write-protect bit of anonymous pages survives
 * every rmap walk that replaces their PTEs, in lazy and forked VMAs.
 *
 * UFFDIO_WRITEPROTECT sets a bit in each PTE; a write then faults to the
 * handler (or, with UFFD_FEATURE_WP_ASYNC, the kernel clears the bit and
 * lets it go on). Migration and reclaim replace the PTE by a migration or
 * swap entry through rmap and back: the bit must go with it (a copy of
 * the PTE that drops it lets a write through that the handler never
 * sees, which is how live migration loses data). fork() without
 * UFFD_FEATURE_EVENT_FORK gives the child PTEs without the bit.
 *
 * The oracles are pagemap bit 57 (PM_UFFD_WP) of every page, present or
 * swapped, its contents, and whether a write traps; SKIPs where the kernel
 * has no UFFD_FEATURE_WP_ASYNC (before 6.7, or without
 * CONFIG_PTE_MARKER_UFFD_WP).
 *
 *   [ W W W ... W ]  16 pages written, then write-protected
 *   migrate, page out, read back:  [ W W W ... W ]  bit 57 still set
 *   write page 3:  [ W W W . W ... W ]  only page 3 writable again
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <linux/kernel-page-flags.h>
#include <linux/userfaultfd.h>

#include "../../kselftest_harness.h"
#include "harness_main.h"
#include "env.h"
#include "khealth.h"
#include "oracles.h"

#define WP_PAGES	16

/* The region of both fixtures: write-protected pages of ours. */
struct wp_world {
	int uffd;
	char *p;
	int nodes[2];
	bool numa, swap;
	struct page_tag tag[WP_PAGES];
	struct khealth health;
	/* uffd_wp_sync: the thread whose write waits for the handler */
	pthread_t writer;
	bool writer_running;
};

FIXTURE(uffd_wp) {
	struct wp_world w;
};

/* Write-protect (or unprotect) pages [first, last), waking no one. */
static int wp_range(struct wp_world *w, int first, int last,
		    bool protect)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = (unsigned long)w->p + first * psize(),
			   .len = (last - first) * psize() },
		.mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	return ioctl(w->uffd, UFFDIO_WRITEPROTECT, &wp) ? -errno : 0;
}

/*
 * Map, fill (unless @empty) and register the pages with @features, then
 * write-protect them; SKIP where missing.
 */
static void wp_setup(struct __test_metadata *_metadata,
		     struct wp_world *w, __u64 features, bool empty)
{
	const char *why = page_oracles_missing();
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_WP };
	int i;

	report_environment_once();
	w->uffd = -1;
	if (why)
		SKIP(return, "%s", why);
	why = uffd_open(&w->uffd, features,
			"no UFFD_FEATURE_WP_ASYNC (before 6.7, or no CONFIG_PTE_MARKER_UFFD_WP)");
	if (why)
		SKIP(return, "%s", why);
	ASSERT_LE(0, w->uffd) TH_LOG("userfaultfd: %s", strerror(errno));
	w->numa = numa_usable_nodes(w->nodes, 2) >= 2;
	w->swap = swap_enabled();
	/* MADV_PAGEOUT drains only this CPU's LRU batch. */
	ASSERT_EQ(0, pin_to_this_cpu());
	w->p = mmap(NULL, WP_PAGES * psize(), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, w->p);
	ASSERT_EQ(0, madvise(w->p, WP_PAGES * psize(), MADV_NOHUGEPAGE));
	for (i = 0; i < WP_PAGES; i++) {
		w->tag[i] = (struct page_tag){ .owner = 4, .index = i };
		if (!empty)
			tag_fill(w->p + i * psize(), psize(), &w->tag[i]);
	}
	reg.range.start = (unsigned long)w->p;
	reg.range.len = WP_PAGES * psize();
	ASSERT_EQ(0, ioctl(w->uffd, UFFDIO_REGISTER, &reg))
		TH_LOG("UFFDIO_REGISTER: %s", strerror(errno));
	ASSERT_EQ(0, wp_range(w, 0, WP_PAGES, true));
	ASSERT_EQ(0, khealth_begin(&w->health, "uffd_wp"));
}

/*
 * Also after a failed ASSERT: closing the userfaultfd releases it, which
 * lets a write still waiting for the handler complete, so that the writer
 * ends before its page is unmapped.
 */
static void wp_teardown(struct wp_world *w)
{
	if (w->uffd >= 0)
		close(w->uffd);
	if (w->writer_running)
		pthread_join(w->writer, NULL);
	if (w->p && w->p != MAP_FAILED)
		munmap(w->p, WP_PAGES * psize());
}

FIXTURE_SETUP(uffd_wp)
{
	wp_setup(_metadata, &self->w, UFFD_FEATURE_WP_ASYNC, false);
}

FIXTURE_TEARDOWN(uffd_wp)
{
	wp_teardown(&self->w);
}

/*
 * Pages of @pid (0: ours) whose bit 57 is not @wp (page @except the other
 * way round), or whose contents are wrong when @read; each logged.
 */
static int wp_bits_off(struct __test_metadata *_metadata,
		       struct wp_world *w, pid_t pid, bool wp,
		       int except, bool read, const char *when)
{
	struct pagemap_entry e;
	int i, bad = 0;

	for (i = 0; i < WP_PAGES; i++) {
		bool want = i == except ? !wp : wp;

		if (read && tag_verify(w->p + i * psize(), psize(),
				       &w->tag[i], NULL)) {
			TH_LOG("%s: page %d contents", when, i);
			bad++;
		}
		if (pagemap_get(pid, (unsigned long)w->p + i * psize(), &e) ||
		    (!e.present && !e.swapped) || e.uffd_wp != want) {
			TH_LOG("%s: page %d present %d swapped %d bit 57 %d, want %d",
			       when, i, e.present, e.swapped, e.uffd_wp, want);
			bad++;
		}
	}
	return bad;
}

/*
 * The bit goes through migration (migration entries) and reclaim (swap
 * entries, then swap-in), read-only; a write then clears it on one page.
 */
TEST_F_TIMEOUT(uffd_wp, bit_survives_migration_and_swap, 60)
{
	struct wp_world *w = &self->w;
	int i, try, left, status[WP_PAGES];
	struct pagemap_entry e;
	void *pages[WP_PAGES];
	char report[2048];

	EXPECT_EQ(0, wp_bits_off(_metadata, w, 0, true, -1, true,
				 "write-protected"));
	for (i = 0; i < WP_PAGES; i++)
		pages[i] = w->p + i * psize();
	if (w->numa) {
		EXPECT_EQ(0, pages_move_away(0, pages, WP_PAGES, w->nodes,
					     status));
		EXPECT_EQ(0, wp_bits_off(_metadata, w, 0, true, -1, true,
					 "migrated"));
	}
	if (w->swap) {
		for (try = 0, left = 1; try < 4 && left; try++) {
			ASSERT_EQ(0, madvise(w->p, WP_PAGES * psize(),
					     MADV_PAGEOUT));
			for (left = 0, i = 0; i < WP_PAGES; i++)
				left += !pagemap_get(0, (unsigned long)pages[i],
						     &e) && !e.swapped;
		}
		EXPECT_EQ(0, left) TH_LOG("%d pages not swapped out", left);
		/* Swap entries carry the bit; reading swaps in, still set. */
		EXPECT_EQ(0, wp_bits_off(_metadata, w, 0, true, -1, false,
					 "swapped out"));
		EXPECT_EQ(0, wp_bits_off(_metadata, w, 0, true, -1, true,
					 "swapped in"));
	}
	/* WP_ASYNC: the write goes on, the kernel clears the bit. */
	w->tag[3].owner = 5;
	tag_fill(pages[3], psize(), &w->tag[3]);
	EXPECT_EQ(0, wp_bits_off(_metadata, w, 0, true, 3, true,
				 "page 3 written"));
	EXPECT_EQ(0, khealth_check(&w->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * mremap() without UFFD_FEATURE_EVENT_REMAP: the moved VMA is no longer
 * registered, so its PTEs lose the bit as they move (move_ptes() clears
 * it in present PTEs and in swap entries); the pages keep their PFNs and
 * contents, and the walks find them at the new address.
 *
 *   [ w w w w w w w w s s s s s s s s ]  w: write-protected, s: swapped
 *   moved:  [ . . . ... . ]  no bit anywhere, the same pages
 */
TEST_F_TIMEOUT(uffd_wp, mremap_without_event_remap_drops_the_bit, 60)
{
	struct wp_world *w = &self->w;
	size_t len = WP_PAGES * psize();
	int i, try, left, half = WP_PAGES / 2, to[WP_PAGES];
	__u64 pfn[WP_PAGES];
	struct pagemap_entry e;
	void *pages[WP_PAGES];
	char *dst, report[2048];

	for (i = 0; i < WP_PAGES; i++) {
		ASSERT_EQ(0, pagemap_get(0, (unsigned long)w->p + i * psize(), &e));
		pfn[i] = e.pfn;
	}
	if (w->swap) {
		for (try = 0, left = 1; try < 4 && left; try++) {
			ASSERT_EQ(0, madvise(w->p + half * psize(),
					     half * psize(), MADV_PAGEOUT));
			for (left = 0, i = half; i < WP_PAGES; i++)
				left += !pagemap_get(0, (unsigned long)w->p +
						     i * psize(), &e) &&
					!e.swapped;
		}
		EXPECT_EQ(0, left) TH_LOG("%d pages not swapped out", left);
	}
	dst = reserve_range(len);
	ASSERT_NE(NULL, dst);
	ASSERT_EQ(dst, mremap(w->p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
			      dst)) TH_LOG("mremap: %s", strerror(errno));
	w->p = dst;
	/* Before anything is read back: swap entries too. */
	EXPECT_EQ(0, wp_bits_off(_metadata, w, 0, false, -1, false, "moved"));
	EXPECT_EQ(0, wp_bits_off(_metadata, w, 0, false, -1, true,
				 "moved and read"));
	for (i = 0; i < half; i++) {
		ASSERT_EQ(0, pagemap_get(0, (unsigned long)dst + i * psize(), &e));
		EXPECT_EQ(pfn[i], e.pfn) TH_LOG("page %d copied, not moved", i);
	}
	if (w->numa) {
		for (i = 0; i < WP_PAGES; i++)
			pages[i] = dst + i * psize();
		EXPECT_EQ(0, pages_move_away(0, pages, WP_PAGES, w->nodes, to));
		EXPECT_EQ(0, wp_bits_off(_metadata, w, 0, false, -1, true,
					 "migrated"));
	}
	EXPECT_EQ(0, khealth_check(&w->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * fork() without UFFD_FEATURE_EVENT_FORK: the child's PTEs lose the bit
 * and its writes are ordinary COW; the parent's pages keep it.
 */
TEST_F_TIMEOUT(uffd_wp, fork_child_unprotected_parent_kept, 60)
{
	struct wp_world *w = &self->w;
	int ready[2], status, bad;
	char report[2048], byte;
	pid_t pid;

	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct page_tag mine = { .owner = 6, .index = 0 };

		close(ready[0]);
		bad = wp_bits_off(_metadata, w, 0, false, -1, true, "child");
		tag_fill(w->p, psize(), &mine);
		bad += !!tag_verify(w->p, psize(), &mine, NULL);
		byte = bad ? 'F' : 'K';
		_exit(write(ready[1], &byte, 1) == 1 ? 0 : 1);
	}
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &byte, 1));
	close(ready[0]);
	EXPECT_EQ('K', byte) TH_LOG("the child's pages kept the bit, or lost contents");
	ASSERT_EQ(0, reap_with_deadline(pid, 30000, &status));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	EXPECT_EQ(0, wp_bits_off(_metadata, w, 0, true, -1, true,
				 "parent after the child"));
	EXPECT_EQ(0, khealth_check(&w->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/* ---- uffd_wp_unpopulated: markers where nothing is mapped ------------- */

/*
 * With UFFD_FEATURE_WP_UNPOPULATED, write protection of a range that was
 * never faulted leaves a marker in each empty PTE (a swap-like entry with
 * the bit). A read of a marked page faults through do_swap_page() into
 * the marker's handler and maps the zero page, still protected; a write
 * (WP_ASYNC) gets a fresh anon page with the bit cleared. The written
 * pages are then anon pages like any other: migrated, swapped, intact.
 *
 *   [ m m m m ... m ]   m: a marker, no page
 *   read 2, write 3, 5:  [ m m z 3 m 5 m ... m ]   z the zero page (bit set)
 */
FIXTURE(uffd_wp_unpopulated) {
	struct wp_world w;
};

FIXTURE_SETUP(uffd_wp_unpopulated)
{
	wp_setup(_metadata, &self->w,
		 UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED, true);
}

FIXTURE_TEARDOWN(uffd_wp_unpopulated)
{
	wp_teardown(&self->w);
}

TEST_F_TIMEOUT(uffd_wp_unpopulated, markers_then_read_and_write, 60)
{
	struct wp_world *w = &self->w;
	int i, try, left, written[2] = { 3, 5 }, to[2], node[2];
	struct page_tag none = { 0 };
	struct pagemap_entry e;
	void *pages[2];
	char report[2048];

	for (i = 0; i < WP_PAGES; i++) {
		ASSERT_EQ(0, pagemap_get(0, (unsigned long)w->p + i * psize(), &e));
		EXPECT_TRUE(!e.present && e.uffd_wp)
			TH_LOG("page %d: present %d bit 57 %d", i, e.present,
			       e.uffd_wp);
	}
	EXPECT_EQ(PAGE_ZERO, page_seen_in(getpid(), (unsigned long)w->p +
					  2 * psize(), &none));
	ASSERT_EQ(0, pagemap_get(0, (unsigned long)w->p + 2 * psize(), &e));
	EXPECT_TRUE(e.present && e.uffd_wp) TH_LOG("read: present %d bit 57 %d",
						   e.present, e.uffd_wp);
	for (i = 0; i < 2; i++) {
		pages[i] = w->p + written[i] * psize();
		tag_fill(pages[i], psize(), &w->tag[written[i]]);
		ASSERT_EQ(0, pagemap_get(0, (unsigned long)pages[i], &e));
		EXPECT_TRUE(e.present && e.exclusive && !e.uffd_wp)
			TH_LOG("page %d written: present %d exclusive %d bit 57 %d",
			       written[i], e.present, e.exclusive, e.uffd_wp);
	}
	if (w->numa) {
		EXPECT_EQ(0, pages_move_away(0, pages, 2, w->nodes, to));
		ASSERT_EQ(0, pages_node(0, pages, 2, node));
		EXPECT_TRUE(to[0] == node[0] && to[1] == node[1]);
	}
	if (w->swap) {
		for (try = 0, left = 2; try < 4 && left; try++) {
			for (left = 0, i = 0; i < 2; i++) {
				ASSERT_EQ(0, madvise(pages[i], psize(), MADV_PAGEOUT));
				ASSERT_EQ(0, pagemap_get(0, (unsigned long)pages[i], &e));
				left += !e.swapped;
			}
		}
		EXPECT_EQ(0, left) TH_LOG("%d written pages not swapped out", left);
	}
	for (i = 0; i < 2; i++) {
		int k = written[i];

		EXPECT_EQ(0, tag_verify(pages[i], psize(), &w->tag[k], NULL))
			TH_LOG("page %d", k);
	}
	EXPECT_EQ(0, khealth_check(&w->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/* ---- uffd_wp_sync: a handler resolves the write ------------------------ */

FIXTURE(uffd_wp_sync) {
	struct wp_world w;
};

FIXTURE_SETUP(uffd_wp_sync)
{
	wp_setup(_metadata, &self->w, UFFD_FEATURE_PAGEFAULT_FLAG_WP, false);
}

FIXTURE_TEARDOWN(uffd_wp_sync)
{
	wp_teardown(&self->w);
}

#define WRITTEN_TAG	((struct page_tag){ .owner = 5, .index = 5 })

static void *write_page5(void *arg)
{
	struct wp_world *w = arg;
	struct page_tag tag = WRITTEN_TAG;

	tag_fill(w->p + 5 * psize(), psize(), &tag);
	return NULL;
}

/*
 * A write to a protected page waits for the handler: a message with the
 * WP flag at that address; unprotecting the page wakes the writer, whose
 * write lands in the page (ours alone still: a reuse, or a copy, logged).
 */
TEST_F_TIMEOUT(uffd_wp_sync, write_waits_for_the_handler, 60)
{
	struct wp_world *w = &self->w;
	struct pollfd pfd = { .fd = w->uffd, .events = POLLIN };
	struct pagemap_entry before, after;
	struct uffd_msg msg;
	char report[2048];

	ASSERT_EQ(0, pagemap_get(0, (unsigned long)w->p + 5 * psize(),
				 &before));
	ASSERT_EQ(0, pthread_create(&w->writer, NULL, write_page5, w));
	w->writer_running = true;
	ASSERT_EQ(1, poll(&pfd, 1, 10000)) TH_LOG("no fault within 10 s");
	ASSERT_EQ((ssize_t)sizeof(msg), read(w->uffd, &msg, sizeof(msg)));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	EXPECT_TRUE(!!(msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP));
	EXPECT_EQ((unsigned long)w->p + 5 * psize(),
		  msg.arg.pagefault.address & ~(unsigned long)(psize() - 1));
	/* Still protected, not written, until we say so. */
	EXPECT_EQ(0, wp_bits_off(_metadata, w, 0,
				 true, -1, true, "while the writer waits"));
	ASSERT_EQ(0, wp_range(w, 5, 6, false));
	w->writer_running = false;
	ASSERT_EQ(0, pthread_join(w->writer, NULL));
	w->tag[5] = WRITTEN_TAG;
	EXPECT_EQ(0, wp_bits_off(_metadata, w, 0,
				 true, 5, true, "page 5 written"));
	ASSERT_EQ(0, pagemap_get(0, (unsigned long)w->p + 5 * psize(),
				 &after));
	EXPECT_TRUE(after.exclusive) TH_LOG("page 5 not ours alone");
	TH_LOG("policy: page 5 %s", before.pfn == after.pfn ? "reused" : "copied");
	EXPECT_EQ(0, khealth_check(&w->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/* ---- uffd_wp_thp: a watched THP range, collapsed and moved ------------ */

/*
 * One PMD-sized, PMD-aligned range of ours, a THP, registered for write
 * protection (without UFFD_FEATURE_EVENT_REMAP).
 *
 * MADV_COLLAPSE must refuse a range userfaultfd watches while it has an
 * empty PTE (a huge PMD would fill it without the fault being reported),
 * a write-protected PTE or a write-protected swap entry (one PMD cannot
 * carry the protection of one page), and change nothing: the same PFNs,
 * the hole still a hole, the bit still set. It collapses once the range
 * is unregistered. An already PMD-mapped THP is collapsed: success.
 *
 *   [ T T T ... T ]           one PMD: MADV_COLLAPSE succeeds, no change
 *   [ T ... . ... T ]         page 100 zapped, registered: refused
 *   [ T w ... 1 ... T ]       page 100 written, page 7 protected: refused
 *   [ T s ... 1 ... T ]       page 7 swapped out, still protected: refused
 *   unregistered:  [ N N ... N ]  a new THP, every page as written
 *
 * mremap() of the write-protected PMD-mapped THP moves the huge PMD
 * (move_huge_pmd()) and, the new VMA not being registered, drops the
 * bit; the THP keeps its PFNs and migrates from its new address.
 */
#define WP_THP_PAGES	512
#define WP_THP_OWNER	6

FIXTURE(uffd_wp_thp) {
	int uffd;
	char *reserved, *moved_to;
	char *p;
	size_t len;
	int pages;
	int nodes[2];
	bool numa, swap;
	struct khealth health;
};

/* A PMD-aligned range of @len in a reservation of twice that. */
static char *pmd_aligned(size_t len, char **reserved)
{
	*reserved = reserve_range(2 * len);
	if (!*reserved)
		return NULL;
	return (char *)(((unsigned long)*reserved + len - 1) & ~(len - 1));
}

FIXTURE_SETUP(uffd_wp_thp)
{
	const char *why = page_oracles_missing();
	unsigned long pmd = read_pmd_pagesize(), kb;
	char mode[64];
	int i;

	report_environment_once();
	self->uffd = -1;
	if (why)
		SKIP(return, "%s", why);
	if (!pmd || read_text(THP_SYSFS "/enabled", mode, sizeof(mode)) <= 0)
		SKIP(return, "no THP (CONFIG_TRANSPARENT_HUGEPAGE)");
	self->pages = pmd / psize();
	ASSERT_GE(WP_THP_PAGES, self->pages);
	why = uffd_open(&self->uffd, 0, "no userfaultfd");
	if (why)
		SKIP(return, "%s", why);
	ASSERT_LE(0, self->uffd) TH_LOG("userfaultfd: %s", strerror(errno));
	if (strstr(mode, "[never]"))
		ASSERT_EQ(0, knob_set(THP_SYSFS "/enabled", "madvise"));
	self->numa = numa_usable_nodes(self->nodes, 2) >= 2;
	self->swap = swap_enabled();
	ASSERT_EQ(0, pin_to_this_cpu());
	self->len = pmd;
	self->p = pmd_aligned(pmd, &self->reserved);
	ASSERT_NE(NULL, self->p);
	ASSERT_EQ(self->p, mmap(self->p, pmd, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	ASSERT_EQ(0, madvise(self->p, pmd, MADV_HUGEPAGE));
	for (i = 0; i < self->pages; i++) {
		struct page_tag tag = { .owner = WP_THP_OWNER, .index = i };

		tag_fill(self->p + i * psize(), psize(), &tag);
	}
	if (smaps_field_kb("/proc/self/smaps", (unsigned long)self->p,
			   "AnonHugePages", &kb) || kb * 1024 != pmd)
		SKIP(return, "no huge page could be allocated (fragmented memory)");
	ASSERT_EQ(0, khealth_begin(&self->health, "uffd_wp_thp"));
}

FIXTURE_TEARDOWN(uffd_wp_thp)
{
	if (self->uffd >= 0)
		close(self->uffd);
	if (self->reserved)
		munmap(self->reserved, 2 * self->len);
	if (self->moved_to)
		munmap(self->moved_to, 2 * self->len);
}

/* Register the range for write protection (@on) or unregister it. */
static int thp_register(FIXTURE_DATA(uffd_wp_thp) * self, bool on)
{
	struct uffdio_register reg = {
		.range = { .start = (unsigned long)self->p, .len = self->len },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};

	if (on)
		return ioctl(self->uffd, UFFDIO_REGISTER, &reg) ? -errno : 0;
	return ioctl(self->uffd, UFFDIO_UNREGISTER, &reg.range) ? -errno : 0;
}

/* Write-protect pages [first, last) of the range. */
static int thp_protect(FIXTURE_DATA(uffd_wp_thp) * self, int first, int last)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = (unsigned long)self->p + first * psize(),
			   .len = (last - first) * psize() },
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};

	return ioctl(self->uffd, UFFDIO_WRITEPROTECT, &wp) ? -errno : 0;
}

static void thp_entries(FIXTURE_DATA(uffd_wp_thp) * self,
			struct pagemap_entry *e)
{
	int i;

	for (i = 0; i < self->pages; i++)
		if (pagemap_get(0, (unsigned long)self->p + i * psize(), &e[i]))
			memset(&e[i], 0, sizeof(e[i]));
}

/* Whether the range is one THP: contiguous PFNs, KPF_THP. */
static bool thp_is_one(FIXTURE_DATA(uffd_wp_thp) * self)
{
	static struct pagemap_entry e[WP_THP_PAGES];
	__u64 flags;
	int i;

	thp_entries(self, e);
	if (!e[0].pfn || kpageflags_get(e[0].pfn, &flags) ||
	    !kpf_has(flags, KPF_THP))
		return false;
	for (i = 1; i < self->pages; i++)
		if (e[i].pfn != e[0].pfn + i)
			return false;
	return true;
}

/* Pages whose contents are not what was written (page @rewritten by 7). */
static int thp_contents_bad(struct __test_metadata *_metadata,
			    FIXTURE_DATA(uffd_wp_thp) * self, int rewritten)
{
	int i, bad = 0;

	for (i = 0; i < self->pages; i++) {
		struct page_tag tag = { .owner = i == rewritten ? 7 : WP_THP_OWNER,
					.index = i };

		if (tag_verify(self->p + i * psize(), psize(), &tag, NULL)) {
			if (bad++ < 4)
				TH_LOG("page %d: wrong contents", i);
		}
	}
	return bad;
}

/*
 * With two nodes: the range migrated, every page to the node it is not
 * on; each arrives at a new PFN (not one of @before) with its contents.
 */
static void thp_migrated(struct __test_metadata *_metadata,
			 FIXTURE_DATA(uffd_wp_thp) * self,
			 const struct pagemap_entry *before, int rewritten)
{
	static struct pagemap_entry e[WP_THP_PAGES];
	static void *pages[WP_THP_PAGES];
	int i, to[WP_THP_PAGES];

	if (!self->numa)
		return;
	for (i = 0; i < self->pages; i++)
		pages[i] = self->p + i * psize();
	EXPECT_EQ(0, pages_move_away(0, pages, self->pages, self->nodes, to));
	thp_entries(self, e);
	for (i = 0; i < self->pages; i++)
		EXPECT_TRUE(e[i].present && e[i].pfn && e[i].pfn != before[i].pfn)
			TH_LOG("page %d not migrated", i);
	EXPECT_EQ(0, thp_contents_bad(_metadata, self, rewritten));
}

/*
 * MADV_COLLAPSE refused, @why: it fails, and every page table entry is
 * as in @before (PFN, present, swapped, bit 57).
 */
static void collapse_refused(struct __test_metadata *_metadata,
			     FIXTURE_DATA(uffd_wp_thp) * self,
			     const struct pagemap_entry *before,
			     const char *why)
{
	static struct pagemap_entry now[WP_THP_PAGES];
	int ret, err, i, changed = 0;

	ret = madvise(self->p, self->len, MADV_COLLAPSE);
	err = errno;
	EXPECT_EQ(-1, ret) TH_LOG("MADV_COLLAPSE collapsed: %s", why);
	if (ret)
		TH_LOG("%s: MADV_COLLAPSE: %s", why, strerror(err));
	thp_entries(self, now);
	for (i = 0; i < self->pages; i++) {
		if (now[i].present != before[i].present ||
		    now[i].swapped != before[i].swapped ||
		    now[i].uffd_wp != before[i].uffd_wp ||
		    (now[i].present && now[i].pfn != before[i].pfn)) {
			if (changed++ < 4)
				TH_LOG("%s: page %d changed", why, i);
		}
	}
	EXPECT_EQ(0, changed) TH_LOG("%s: %d pages changed", why, changed);
}

TEST_F_TIMEOUT(uffd_wp_thp, collapse_refused_while_watched, 60)
{
	static struct pagemap_entry before[WP_THP_PAGES], e[WP_THP_PAGES];
	struct page_tag tag = { .owner = 7, .index = 100 };
	int i, try, ret, err;
	char report[2048];

	/* One huge PMD already: nothing to collapse, success, no change. */
	ASSERT_TRUE(thp_is_one(self));
	thp_entries(self, before);
	EXPECT_EQ(0, madvise(self->p, self->len, MADV_COLLAPSE))
		TH_LOG("MADV_COLLAPSE of a PMD-mapped THP: %s", strerror(errno));
	thp_entries(self, e);
	for (i = 0; i < self->pages; i++)
		EXPECT_EQ(before[i].pfn, e[i].pfn) TH_LOG("page %d", i);

	ASSERT_EQ(0, madvise(self->p + 100 * psize(), psize(), MADV_DONTNEED));
	ASSERT_EQ(0, thp_register(self, true))
		TH_LOG("UFFDIO_REGISTER: %s", strerror(errno));
	thp_entries(self, before);
	ASSERT_FALSE(before[100].present);
	collapse_refused(_metadata, self, before, "an empty PTE");

	/* Write protection does not trap an empty PTE: an ordinary fault. */
	tag_fill(self->p + 100 * psize(), psize(), &tag);
	ASSERT_EQ(0, thp_protect(self, 7, 8));
	thp_entries(self, before);
	ASSERT_TRUE(before[7].uffd_wp);
	collapse_refused(_metadata, self, before, "a write-protected PTE");

	if (self->swap) {
		for (try = 0; try < 4 && !e[7].swapped; try++) {
			ASSERT_EQ(0, madvise(self->p + 7 * psize(), psize(),
					     MADV_PAGEOUT));
			ASSERT_EQ(0, pagemap_get(0, (unsigned long)self->p +
						 7 * psize(), &e[7]));
		}
		ASSERT_TRUE(e[7].swapped) TH_LOG("page 7 not swapped out");
		thp_entries(self, before);
		ASSERT_TRUE(before[7].uffd_wp);
		collapse_refused(_metadata, self, before,
				 "a write-protected swap entry");
	}
	EXPECT_EQ(0, thp_contents_bad(_metadata, self, 100));

	/* Unwatched, it collapses into a new THP with every page as written. */
	ASSERT_EQ(0, thp_register(self, false));
	ret = madvise(self->p, self->len, MADV_COLLAPSE);
	err = errno;
	if (ret && (err == EAGAIN || err == ENOMEM))
		SKIP(return, "MADV_COLLAPSE found no huge page (fragmented memory)");
	ASSERT_EQ(0, ret) TH_LOG("MADV_COLLAPSE unwatched: %s", strerror(err));
	EXPECT_TRUE(thp_is_one(self));
	EXPECT_EQ(0, thp_contents_bad(_metadata, self, 100));
	thp_entries(self, before);
	for (i = 0; i < self->pages; i++)
		EXPECT_FALSE(before[i].uffd_wp) TH_LOG("page %d", i);
	thp_migrated(_metadata, self, before, 100);
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

TEST_F_TIMEOUT(uffd_wp_thp, mremap_without_event_remap_drops_the_bit, 60)
{
	static struct pagemap_entry before[WP_THP_PAGES], e[WP_THP_PAGES];
	char *dst, report[2048];
	int i;

	ASSERT_EQ(0, thp_register(self, true))
		TH_LOG("UFFDIO_REGISTER: %s", strerror(errno));
	ASSERT_EQ(0, thp_protect(self, 0, self->pages));
	thp_entries(self, before);
	for (i = 0; i < self->pages; i++)
		ASSERT_TRUE(before[i].uffd_wp) TH_LOG("page %d", i);
	ASSERT_TRUE(thp_is_one(self));

	dst = pmd_aligned(self->len, &self->moved_to);
	ASSERT_NE(NULL, dst);
	ASSERT_EQ(dst, mremap(self->p, self->len, self->len,
			      MREMAP_MAYMOVE | MREMAP_FIXED, dst))
		TH_LOG("mremap: %s", strerror(errno));
	self->p = dst;
	thp_entries(self, e);
	for (i = 0; i < self->pages; i++) {
		EXPECT_EQ(before[i].pfn, e[i].pfn) TH_LOG("page %d copied", i);
		EXPECT_FALSE(e[i].uffd_wp) TH_LOG("page %d kept the bit", i);
	}
	EXPECT_TRUE(thp_is_one(self));
	EXPECT_EQ(0, thp_contents_bad(_metadata, self, -1));
	thp_migrated(_metadata, self, before, -1);
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

AVL_HARNESS_MAIN
