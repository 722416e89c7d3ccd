// SPDX-License-Identifier: GPL-2.0
/*
 * fork_pinned: fork of anonymous pages pinned for DMA (an io_uring fixed
 * buffer, a FOLL_LONGTERM pin). The child must get its own copy of every
 * pinned page at fork (copy_present_page(), or for a PMD-mapped THP
 * copy_huge_pmd() giving up so that the PTE copy runs), never share it:
 * the pinned page must stay the parent's, at its PFN, whatever the child
 * writes. The other pages are shared as after any fork. Nor may
 * MADV_COLLAPSE copy a pinned page away into a new THP.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/kernel-page-flags.h>

#include "../../kselftest_harness.h"
#include "harness_main.h"
#include "env.h"
#include "fork_region.h"
#include "khealth.h"
#include "oracles.h"

/*
 * io_uring without <linux/io_uring.h>: in a kernel tree whose headers are
 * not installed, the tools/include copy of it does not build against the
 * system's headers. A zeroed parameter block (larger than struct
 * io_uring_params) is a valid io_uring_setup() request, and these are the
 * io_uring_register() opcodes that register and drop fixed buffers.
 */
#define RING_REGISTER_BUFFERS	0
#define RING_UNREGISTER_BUFFERS	1
#define RING_PARAMS_SIZE	256

FIXTURE(fork_pinned) {
	char *region;
	struct khealth health;
};

FIXTURE_SETUP(fork_pinned)
{
	fork_region_setup(_metadata, &self->region, &self->health,
			  "fork_pinned");
}

FIXTURE_TEARDOWN(fork_pinned)
{
	if (self->region)
		munmap(self->region, MISC_PAGES * psize());
}

#define PINNED		8	/* pages [0, PINNED) of the region */
#define PIN_MAX_PAGES	512	/* a PMD-sized THP of 4 kB pages */

/* What the child of a pinned fork saw of its pages. */
struct pinned_view {
	__u64 pfn[PIN_MAX_PAGES];
	bool exclusive[PIN_MAX_PAGES];
	int bad_contents;
};

/*
 * Pin [@p, @p + @len) for DMA as an io_uring fixed buffer (a FOLL_LONGTERM
 * pin) on the ring *@ring; NULL, or why not for a SKIP.
 */
static const char *pin_buffer(struct __test_metadata *_metadata, void *p,
			      size_t len, int *ring)
{
	struct iovec iov = { .iov_base = p, .iov_len = len };
	__u64 params[RING_PARAMS_SIZE / sizeof(__u64)] = { 0 };

	if (kconfig_has("IO_URING") == 0)
		return "no io_uring (CONFIG_IO_URING)";
	*ring = syscall(__NR_io_uring_setup, 1, params);
	if (*ring < 0 && errno == EPERM)
		return "io_uring disabled (kernel.io_uring_disabled)";
	if (*ring < 0)
		return NULL;	/* the caller fails on it */
	if (syscall(__NR_io_uring_register, *ring, RING_REGISTER_BUFFERS,
		    &iov, 1)) {
		TH_LOG("registering the fixed buffer: %s", strerror(errno));
		close(*ring);
		*ring = -1;
	}
	return NULL;
}

/*
 * Fork with pages [0, @pinned) of @region (@pages pages, tagged { @owner, i })
 * pinned: the child must get copies of the pinned pages at once, its own
 * and exclusive, and share the others; the parent keeps its PFNs.
 */
static void fork_with_pinned(struct __test_metadata *_metadata, char *region,
			     int pages, int pinned, __u32 owner)
{
	static __u64 pfn[PIN_MAX_PAGES];
	struct pinned_view *child;
	struct pagemap_entry e;
	int go[2], ready[2], status, i;
	pid_t pid;

	for (i = 0; i < pages; i++) {
		ASSERT_EQ(0, pagemap_get(0, (unsigned long)region + i * psize(),
					 &e));
		pfn[i] = e.pfn;
	}
	child = shared_area(sizeof(*child));
	ASSERT_NE(NULL, child);
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(ready, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		for (i = 0; i < pages; i++) {
			struct page_tag tag = { .owner = owner, .index = i };
			char *p = region + i * psize();

			child->bad_contents += !!tag_verify(p, psize(), &tag,
							    NULL);
			if (pagemap_get(0, (unsigned long)p, &e))
				_exit(1);
			child->pfn[i] = e.pfn;
			child->exclusive[i] = e.exclusive;
		}
		/* Sharing lasts until the parent has looked. */
		if (write(ready[1], "R", 1) != 1)
			_exit(1);
		wait_byte(go[0], WAIT_MS);
		_exit(0);
	}
	close(go[0]);
	close(ready[1]);
	ASSERT_EQ('R', wait_byte(ready[0], WAIT_MS)) TH_LOG("child not ready");
	close(ready[0]);
	for (i = 0; i < pages; i++) {
		bool is_pinned = i < pinned;

		ASSERT_EQ(0, pagemap_get(0, (unsigned long)region + i * psize(),
					 &e));
		EXPECT_EQ(pfn[i], e.pfn) TH_LOG("parent page %d moved", i);
		EXPECT_EQ(is_pinned, e.exclusive) TH_LOG("parent page %d", i);
		EXPECT_EQ(is_pinned, child->exclusive[i])
			TH_LOG("child page %d", i);
		EXPECT_EQ(is_pinned, child->pfn[i] != pfn[i])
			TH_LOG("page %d (pinned %d): parent %#llx, child %#llx",
			       i, is_pinned, (unsigned long long)pfn[i],
			       (unsigned long long)child->pfn[i]);
	}
	EXPECT_EQ(0, child->bad_contents);
	ASSERT_EQ(1, write(go[1], "G", 1));
	EXPECT_EQ(0, reap_with_deadline(pid, WAIT_MS, &status));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	close(go[1]);
	munmap(child, sizeof(*child));
}

/*
 * An anonymous page pinned for DMA (here: an io_uring fixed buffer, a
 * FOLL_LONGTERM pin) cannot be shared with a child by COW: the device may
 * write it behind the CPU's back. Fork copies such a page for the child at
 * once (copy_present_page()) and gives the child's copy its own rmap in
 * the child's VMA; the other pages are shared as usual.
 *
 *   parent [ P P P P P P P P | S S S S S S S S ]   P pinned, S not
 *   child  [ c c c c c c c c | S S S S S S S S ]   c: copies made at fork
 */
TEST_F(fork_pinned, fork_copies_pinned_pages)
{
	char report[2048];
	const char *why;
	int ring;

	why = pin_buffer(_metadata, self->region, PINNED * psize(), &ring);
	if (why)
		SKIP(return, "%s", why);
	ASSERT_LE(0, ring) TH_LOG("io_uring_setup: %s", strerror(errno));
	fork_with_pinned(_metadata, self->region, MISC_PAGES, PINNED, 0);
	ASSERT_EQ(0, syscall(__NR_io_uring_register, ring,
			     RING_UNREGISTER_BUFFERS, NULL, 0));
	close(ring);
	EXPECT_EQ(0, check_region(_metadata, self->region, 1, "after the child exited"));
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * A PMD-aligned range of one PMD in @area (2 PMDs reserved), faulted with
 * @advice (MADV_HUGEPAGE or MADV_NOHUGEPAGE), page i tagged { @owner, i };
 * NULL on failure.
 */
static char *map_pmd_range(unsigned long pmd, char **area, int advice,
			   __u32 owner)
{
	char *range;
	size_t i;

	*area = reserve_range(2 * pmd);
	if (!*area)
		return NULL;
	range = (char *)(((unsigned long)*area + pmd - 1) & ~(pmd - 1));
	if (mmap(range, pmd, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != range ||
	    madvise(range, pmd, advice))
		return NULL;
	for (i = 0; i < pmd / psize(); i++) {
		struct page_tag tag = { .owner = owner, .index = i };

		tag_fill(range + i * psize(), psize(), &tag);
	}
	return range;
}

/*
 * The same with a pinned THP mapped by one PMD: fork cannot share the PMD
 * (copy_huge_pmd() gives up, splits it and lets the PTE copy run), and the
 * child gets a copy of every subpage.
 *
 *   parent [ T T ... T ]  pinned, PMD-mapped
 *   child  [ c c ... c ]  512 copies made at fork
 */
TEST_F(fork_pinned, fork_copies_pinned_thp)
{
	unsigned long pmd = read_pmd_pagesize();
	char *area, *thp, report[2048];
	struct pagemap_entry e;
	const char *why;
	int ring, pages;
	__u64 flags;

	if (!pmd || pmd / psize() > PIN_MAX_PAGES)
		SKIP(return, "no PMD-sized THP of at most %d pages", PIN_MAX_PAGES);
	pages = pmd / psize();
	thp = map_pmd_range(pmd, &area, MADV_HUGEPAGE, 3);
	ASSERT_NE(NULL, thp);
	ASSERT_EQ(0, pagemap_get(0, (unsigned long)thp, &e));
	if (kpageflags_get(e.pfn, &flags) || !kpf_has(flags, KPF_THP)) {
		munmap(area, 2 * pmd);
		SKIP(return, "no huge page could be allocated (THP off, or fragmented memory)");
	}
	why = pin_buffer(_metadata, thp, pmd, &ring);
	if (why) {
		munmap(area, 2 * pmd);
		SKIP(return, "%s", why);
	}
	ASSERT_LE(0, ring) TH_LOG("io_uring_setup: %s", strerror(errno));
	fork_with_pinned(_metadata, thp, pages, pages, 3);
	ASSERT_EQ(0, syscall(__NR_io_uring_register, ring,
			     RING_UNREGISTER_BUFFERS, NULL, 0));
	close(ring);
	munmap(area, 2 * pmd);
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * MADV_COLLAPSE must not collapse a range that holds a page pinned for
 * DMA: the copy into a new THP would leave the device writing the old
 * page. The scan sees the extra references (is_refcount_suitable()) and
 * gives up with EAGAIN before it allocates anything; every page stays
 * where it was, contents intact. Once unpinned, the same range collapses.
 *
 *   [ P P P P P P P P s s s ... s ]   512 small pages, 0-7 pinned
 *   MADV_COLLAPSE: EAGAIN, nothing moved; unpin, MADV_COLLAPSE: one THP
 */
TEST_F(fork_pinned, collapse_refused_while_pinned)
{
	unsigned long pmd = read_pmd_pagesize();
	static __u64 pfn[PIN_MAX_PAGES];
	char *area, *range, report[2048];
	struct pagemap_entry e;
	const char *why;
	int ring, i, pages, ret;
	__u64 flags;

	if (!pmd || pmd / psize() > PIN_MAX_PAGES)
		SKIP(return, "no PMD-sized THP of at most %d pages", PIN_MAX_PAGES);
	pages = pmd / psize();
	range = map_pmd_range(pmd, &area, MADV_NOHUGEPAGE, 4);
	ASSERT_NE(NULL, range);
	ASSERT_EQ(0, madvise(range, pmd, MADV_HUGEPAGE));
	why = pin_buffer(_metadata, range, PINNED * psize(), &ring);
	if (why) {
		munmap(area, 2 * pmd);
		SKIP(return, "%s", why);
	}
	ASSERT_LE(0, ring) TH_LOG("io_uring_setup: %s", strerror(errno));
	for (i = 0; i < pages; i++) {
		ASSERT_EQ(0, pagemap_get(0, (unsigned long)range + i * psize(),
					 &e));
		pfn[i] = e.pfn;
	}

	ret = madvise(range, pmd, MADV_COLLAPSE) ? -errno : 0;
	EXPECT_EQ(-EAGAIN, ret) TH_LOG("MADV_COLLAPSE of a pinned range: %s",
				       strerror(-ret));
	for (i = 0; i < pages; i++) {
		struct page_tag tag = { .owner = 4, .index = i };

		ASSERT_EQ(0, pagemap_get(0, (unsigned long)range + i * psize(),
					 &e));
		EXPECT_EQ(pfn[i], e.pfn) TH_LOG("page %d moved", i);
		EXPECT_EQ(0, tag_verify(range + i * psize(), psize(), &tag, NULL))
			TH_LOG("page %d", i);
	}

	ASSERT_EQ(0, syscall(__NR_io_uring_register, ring,
			     RING_UNREGISTER_BUFFERS, NULL, 0));
	close(ring);
	ret = madvise(range, pmd, MADV_COLLAPSE) ? -errno : 0;
	if (ret == -EAGAIN || ret == -ENOMEM) {
		TH_LOG("unpinned: MADV_COLLAPSE found no huge page (%s)",
		       strerror(-ret));
	} else {
		EXPECT_EQ(0, ret) TH_LOG("MADV_COLLAPSE once unpinned: %s",
					 strerror(-ret));
		ASSERT_EQ(0, pagemap_get(0, (unsigned long)range, &e));
		EXPECT_TRUE(!kpageflags_get(e.pfn, &flags) &&
			    kpf_has(flags, KPF_THP))
			TH_LOG("not collapsed once unpinned");
	}
	for (i = 0; i < pages; i++) {
		struct page_tag tag = { .owner = 4, .index = i };

		EXPECT_EQ(0, tag_verify(range + i * psize(), psize(), &tag, NULL))
			TH_LOG("page %d after the collapse", i);
	}
	munmap(area, 2 * pmd);
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

AVL_HARNESS_MAIN
