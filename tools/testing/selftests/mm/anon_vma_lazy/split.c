// SPDX-License-Identifier: GPL-2.0
/*
 * split: anonymous pages stay reachable by rmap after their VMA changes
 * shape - split by mprotect, munmap, madvise, mlock - before it was ever
 * shared, in a child that inherited it, and in a parent that still shares
 * it with a child.
 *
 * A VMA changes by split and merge before it is ever shared. Without
 * ANON_VMA_LAZY every piece keeps the anon_vma of the VMA it came from;
 * under it a lazy folio points at a root VMA, kept alive by a reference
 * count, and finds its address in a piece as vm_start - vm_pgoff of that
 * root, also after the piece that holds the root object is unmapped; a
 * split of an inherited (ANON_VMA_TREE_PARENT) VMA in a child promotes it
 * to a regular anon_vma. Either way every page must stay reachable from
 * every process that maps it.
 *
 * Every scenario is a program for the scenario engine (scenario.h) on
 * 12-page regions, with its expected outcome once built written out in
 * the engine's literal form (scenario_test.h): e.g. mprotect of the middle
 * third of a faulted region, then a write of a pseudo-random half of its
 * writable pages,
 *
 *   .program = "0: mmap0 ro0:4-8 write0",
 *   .expect = "P0 R0 AAAA|AAAA|AAAA rw,r-,rw",
 *
 * three VMAs, every page P0's own; in a fork chain the letters say which
 * processes share a physical page. After the scenario is built and after
 * every exit, the engine checks contents in every process, PFN identity
 * among the processes mapping each copy, bit 56, kpagecount,
 * KPF_ANON/KPF_KSM, smaps (Rss, Shared, Private, Locked, Pss) and the
 * exact VMA layout of the region; migrate_walks and pageout_walks make the
 * kernel walk rmap from every folio first, which must reach every mapping
 * of it.
 *
 * split_misc: split/re-merge churn (thousands of mprotect cycles, slab
 * counts back at baseline) and stack growth of a MAP_GROWSDOWN VMA below
 * faulted pages.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <linux/kernel-page-flags.h>

#include "../../kselftest_harness.h"
#include "harness_main.h"
#include "scenario_test.h"

FIXTURE(split) {
	struct scenario_fixture s;
};

/* @program, its members' exit order, its outcome once built. */
FIXTURE_VARIANT(split) {
	const char *program;
	int exit_order[3];
	const char *expect;
	/* Where it depends on merge policy: when VMAs merge (sc_policy()). */
	const char *expect_if_merged;
};

/* Never forked: a lazy VMA under ANON_VMA_LAZY. */
FIXTURE_VARIANT_ADD(split, mprotect_left) {
	.program = "0: mmap0 ro0:0-4 write0",
	.expect = "P0 R0 AAAA|AAAAAAAA r-,rw",
};

FIXTURE_VARIANT_ADD(split, mprotect_middle) {
	.program = "0: mmap0 ro0:4-8 write0",
	.expect = "P0 R0 AAAA|AAAA|AAAA rw,r-,rw",
};

FIXTURE_VARIANT_ADD(split, mprotect_right) {
	.program = "0: mmap0 ro0:8-12 write0",
	.expect = "P0 R0 AAAAAAAA|AAAA rw,r-",
};

FIXTURE_VARIANT_ADD(split, mprotect_and_back) {
	.program = "0: mmap0 ro0:4-8 write0 rw0:4-8 write0",
	.expect = "P0 R0 AAAAAAAAAAAA rw",
};

FIXTURE_VARIANT_ADD(split, munmap_middle) {
	.program = "0: mmap0 unmap0:4-8 write0",
	.expect = "P0 R0 AAAA....AAAA rw,rw",
};

FIXTURE_VARIANT_ADD(split, dontneed_middle) {
	.program = "0: mmap0 dontneed0:4-8 write0:0-6",
	.expect = "P0 R0 AAAA0A00AAAA rw",
};

FIXTURE_VARIANT_ADD(split, free_middle) {
	.program = "0: mmap0 free0:4-8",
	.expect = "P0 R0 AAAAaaaaAAAA rw",
};

FIXTURE_VARIANT_ADD(split, free_then_write) {
	.program = "0: mmap0 free0:4-8 write0",
	.expect = "P0 R0 AAAAaAaAAAAA rw",
};

FIXTURE_VARIANT_ADD(split, cold_middle) {
	.program = "0: mmap0 cold0:4-8 write0",
	.expect = "P0 R0 AAAAAAAAAAAA rw",
};

FIXTURE_VARIANT_ADD(split, mlock_middle) {
	.program = "0: mmap0 mlock0:4-8 write0",
	.expect = "P0 R0 AAAA|AAAA|AAAA rw,rwL,rw",
};

FIXTURE_VARIANT_ADD(split, mlock_and_unlock) {
	.program = "0: mmap0 mlock0:4-8 write0 munlock0:4-8",
	.expect = "P0 R0 AAAAAAAAAAAA rw",
};

FIXTURE_VARIANT_ADD(split, dontfork_part) {
	.program = "0: mmap0 dontfork0:0-4 write0",
	.expect = "P0 R0 AAAA|AAAAAAAA rwD,rw",
};

/*
 * The piece that owns the original VMA object is unmapped while the
 * others, whose folios may still point at it, live on. Which piece keeps
 * the object depends on the kernel: unmap each, and all but each.
 */
FIXTURE_VARIANT_ADD(split, unmap_first_piece) {
	.program = "0: mmap0 ro0:4-8 unmap0:0-4 write0",
	.expect = "P0 R0 ....AAAA|AAAA r-,rw",
};

FIXTURE_VARIANT_ADD(split, unmap_middle_piece) {
	.program = "0: mmap0 ro0:4-8 unmap0:4-8 write0",
	.expect = "P0 R0 AAAA....AAAA rw,rw",
};

FIXTURE_VARIANT_ADD(split, unmap_last_piece) {
	.program = "0: mmap0 ro0:4-8 unmap0:8-12 write0",
	.expect = "P0 R0 AAAA|AAAA.... rw,r-",
};

FIXTURE_VARIANT_ADD(split, keep_first_piece) {
	.program = "0: mmap0 ro0:4-8 unmap0:4-12 write0",
	.expect = "P0 R0 AAAA........ rw",
};

FIXTURE_VARIANT_ADD(split, keep_middle_piece) {
	.program = "0: mmap0 ro0:4-8 unmap0:0-4 unmap0:8-12",
	.expect = "P0 R0 ....AAAA.... r-",
};

FIXTURE_VARIANT_ADD(split, keep_last_piece) {
	.program = "0: mmap0 ro0:4-8 unmap0:0-8 write0",
	.expect = "P0 R0 ........AAAA rw",
};

/*
 * In a child: the inherited (PARENT-typed) VMA is split, then the child
 * forks again, so the grandchild inherits pieces of a split PARENT VMA.
 */
FIXTURE_VARIANT_ADD(split, child_mprotect_root_first) {
	.program = "0: mmap0 fork1 | 1: write0 ro0:4-8 fork2 | 2: write0",
	.exit_order = { 0, 1, 2 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R0 BBBB|BBAB|AABA rw,r-,rw\n"
		  "P2 R0 CCCB|BBAB|BACA rw,r-,rw",
};

FIXTURE_VARIANT_ADD(split, child_mprotect_middle_first) {
	.program = "0: mmap0 fork1 | 1: write0 ro0:4-8 fork2 | 2: write0",
	.exit_order = { 1, 0, 2 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R0 BBBB|BBAB|AABA rw,r-,rw\n"
		  "P2 R0 CCCB|BBAB|BACA rw,r-,rw",
};

FIXTURE_VARIANT_ADD(split, child_mprotect_leaf_first) {
	.program = "0: mmap0 fork1 | 1: write0 ro0:4-8 fork2 | 2: write0",
	.exit_order = { 2, 1, 0 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R0 BBBB|BBAB|AABA rw,r-,rw\n"
		  "P2 R0 CCCB|BBAB|BACA rw,r-,rw",
};

FIXTURE_VARIANT_ADD(split, child_munmap_root_first) {
	.program = "0: mmap0 fork1 | 1: unmap0:4-8 write0 fork2 | 2: write0",
	.exit_order = { 0, 1, 2 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R0 BABB....BAAA rw,rw\n"
		  "P2 R0 CBCB....CABA rw,rw",
};

FIXTURE_VARIANT_ADD(split, child_munmap_leaf_first) {
	.program = "0: mmap0 fork1 | 1: unmap0:0-4 write0 fork2 | 2: write0",
	.exit_order = { 2, 1, 0 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R0 ....AAAABAAA rw\n"
		  "P2 R0 ....BBABCABA rw",
};

FIXTURE_VARIANT_ADD(split, child_dontneed_middle_first) {
	.program = "0: mmap0 fork1 | 1: dontneed0:4-8 write0 fork2 | 2: write0",
	.exit_order = { 1, 0, 2 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R0 BABB0000BAAA rw\n"
		  "P2 R0 CBCBBB0BCABA rw",
};

FIXTURE_VARIANT_ADD(split, child_mlock_leaf_first) {
	.program = "0: mmap0 fork1 | 1: mlock0:4-8 write0 fork2 | 2: write0",
	.exit_order = { 2, 1, 0 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R0 BABB|BBBB|BAAA rw,rwL,rw\n"
		  "P2 R0 CBCB|CCBC|CABA rw,rw,rw",
};

FIXTURE_VARIANT_ADD(split, child_dontfork_root_first) {
	.program = "0: mmap0 fork1 | 1: write0 dontfork0:0-4 fork2 | 2: write0",
	.exit_order = { 0, 1, 2 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R0 BBBB|BBABAABA rwD,rw\n"
		  "P2 R0 ....CCACBACA rw",
};

FIXTURE_VARIANT_ADD(split, child_mprotect_and_back_middle_first) {
	.program = "0: mmap0 fork1 | 1: ro0:4-8 write0 rw0:4-8 fork2 | 2: write0",
	.exit_order = { 1, 0, 2 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R0 BABBAAAABAAA rw\n"
		  "P2 R0 CBCBBBABCABA rw",
};

FIXTURE_VARIANT_ADD(split, child_munmap_middle_first) {
	.program = "0: mmap0 fork1 | 1: unmap0:8-12 write0 fork2 | 2: write0",
	.exit_order = { 1, 2, 0 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R0 BABBAAAA.... rw\n"
		  "P2 R0 CBCBBBAB.... rw",
};

FIXTURE_VARIANT_ADD(split, child_dontneed_root_first) {
	.program = "0: mmap0 fork1 | 1: dontneed0:0-4 write0 fork2 | 2: write0",
	.exit_order = { 0, 1, 2 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R0 B0BBAAAABAAA rw\n"
		  "P2 R0 CBCBBBABCABA rw",
};

FIXTURE_VARIANT_ADD(split, child_dontneed_leaf_first) {
	.program = "0: mmap0 fork1 | 1: dontneed0:8-12 fork2 | 2: write0",
	.exit_order = { 2, 1, 0 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R0 AAAAAAAA0000 rw\n"
		  "P2 R0 BBBABBABB0B0 rw",
};

FIXTURE_VARIANT_ADD(split, child_mlock_root_first) {
	.program = "0: mmap0 fork1 | 1: mlock0:0-4 fork2 | 2: write0",
	.exit_order = { 0, 1, 2 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R0 BBBB|AAAAAAAA rwL,rw\n"
		  "P2 R0 CCCB|BBABBABA rw,rw",
};

FIXTURE_VARIANT_ADD(split, child_mlock_middle_first) {
	.program = "0: mmap0 fork1 | 1: write0 mlock0:4-8 fork2 munlock0:4-8 | 2: write0",
	.exit_order = { 1, 0, 2 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R0 BBBBBBBBAABA rw\n"
		  "P2 R0 CCCB|CCBC|BACA rw,rw,rw",
};

FIXTURE_VARIANT_ADD(split, child_dontfork_middle_first) {
	.program = "0: mmap0 fork1 | 1: dontfork0:4-8 write0 fork2 | 2: write0",
	.exit_order = { 1, 0, 2 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R0 BABB|AAAA|BAAA rw,rwD,rw\n"
		  "P2 R0 CBCB....CABA rw,rw",
};

FIXTURE_VARIANT_ADD(split, child_dontfork_leaf_first) {
	.program = "0: mmap0 fork1 | 1: dontfork0:8-12 fork2 | 2: write0",
	.exit_order = { 2, 1, 0 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R0 AAAAAAAA|AAAA rw,rwD\n"
		  "P2 R0 BBBABBAB.... rw",
};

FIXTURE_VARIANT_ADD(split, child_cold_root_first) {
	.program = "0: mmap0 fork1 | 1: write0 cold0:4-8 fork2 | 2: write0",
	.exit_order = { 0, 1, 2 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R0 BBBBBBABAABA rw\n"
		  "P2 R0 CCCBCCACBACA rw",
};

FIXTURE_VARIANT_ADD(split, child_cold_leaf_first) {
	.program = "0: mmap0 fork1 | 1: cold0 fork2 | 2: cold0:0-6 write0",
	.exit_order = { 2, 1, 0 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R0 AAAAAAAAAAAA rw\n"
		  "P2 R0 ABBABAABAAAB rw",
};

/* In the parent after fork, while the child still shares the pages. */
FIXTURE_VARIANT_ADD(split, parent_mprotect_after_fork) {
	.program = "0: mmap0 fork1 ro0:4-8 write0 | 1: write0:8-12",
	.exit_order = { 0, 1 },
	.expect = "P0 R0 AAAA|AAAA|AAAA rw,r-,rw\n"
		  "P1 R0 ABBAAAAABBBA rw",
};

FIXTURE_VARIANT_ADD(split, parent_munmap_after_fork) {
	.program = "0: mmap0 fork1 unmap0:0-4 write0:8-12 | 1: write0:4-8",
	.exit_order = { 1, 0 },
	.expect = "P0 R0 ....AAAAAAAA rw\n"
		  "P1 R0 AAAABBABBBAA rw",
};

FIXTURE_VARIANT_ADD(split, parent_mlock_after_fork) {
	.program = "0: mmap0 fork1 mlock0:4-8 | 1: write0",
	.exit_order = { 0, 1 },
	.expect = "P0 R0 AAAA|AAAA|AAAA rw,rwL,rw\n"
		  "P1 R0 BBBBBBBBAABA rw",
};

FIXTURE_VARIANT_ADD(split, parent_split_then_fork_again) {
	.program = "0: mmap0 fork1 ro0:4-8 fork2 | 1: write0 | 2: write0:0-4",
	.exit_order = { 0, 2, 1 },
	.expect = "P0 R0 AAAA|AAAA|AAAA rw,r-,rw\n"
		  "P1 R0 BBBBBBABAABA rw\n"
		  "P2 R0 CCCA|AAAA|AAAA rw,r-,rw",
};

FIXTURE_SETUP(split)
{
	scenario_setup(_metadata, &self->s, variant->program, variant->expect,
		       variant->expect_if_merged, false, "split");
}

FIXTURE_TEARDOWN(split)
{
	sc_destroy(self->s.sc);
}

TEST_F_TIMEOUT(split, exits, 60)
{
	scenario_test_run(_metadata, &self->s, variant->exit_order, SC_NO_WALK);
}

TEST_F_TIMEOUT(split, migrate_walks, 90)
{
	scenario_test_run(_metadata, &self->s, variant->exit_order,
			  SC_MIGRATE_WALK);
}

TEST_F_TIMEOUT(split, pageout_walks, 90)
{
	scenario_test_run(_metadata, &self->s, variant->exit_order,
			  SC_PAGEOUT_WALK);
}

/* ---- split_misc -------------------------------------------------------- */

#define CHURN_PAGES		12
#define CHURN_CYCLES		5000
#define CHURN_BUDGET_MS		5000
#define SLAB_TOLERANCE		256

static void fill_region(char *p, int pages)
{
	int i;

	for (i = 0; i < pages; i++) {
		struct page_tag tag = { .owner = 7, .index = i };

		tag_fill(p + i * psize(), psize(), &tag);
	}
}

/* Contents, one VMA over the region, and each page mapped @mappers times. */
static int check_churned(char *p, int pages, int mappers)
{
	struct vma_extent vma[4];
	struct pagemap_entry e;
	int i, n, bad = 0;
	__u64 count;

	n = vma_layout(0, (unsigned long)p,
		       (unsigned long)p + pages * psize(), vma, 4);
	if (n != 1 || vma[0].start != (unsigned long)p ||
	    vma[0].end != (unsigned long)p + pages * psize())
		bad++;
	for (i = 0; i < pages; i++) {
		struct page_tag tag = { .owner = 7, .index = i };
		char *page = p + i * psize();
		bool want_exclusive = mappers == 1;

		if (tag_verify(page, psize(), &tag, NULL) ||
		    pagemap_get(0, (unsigned long)page, &e) || !e.pfn ||
		    e.exclusive != want_exclusive ||
		    kpagecount_get(e.pfn, &count) || count != (__u64)mappers)
			bad++;
	}
	return bad;
}

/* mprotect the middle third away and back, many times; 0 or -errno. */
static int churn(char *p, int *cycles)
{
	char *mid = p + CHURN_PAGES / 3 * psize();
	size_t len = CHURN_PAGES / 3 * psize();
	long long deadline = now_ms() + CHURN_BUDGET_MS;

	for (*cycles = 0; *cycles < CHURN_CYCLES && now_ms() < deadline;
	     (*cycles)++) {
		if (mprotect(mid, len, PROT_READ) ||
		    mprotect(mid, len, PROT_READ | PROT_WRITE))
			return -errno;
	}
	return 0;
}

#define STACK_PAGES	4
#define GROW_PAGES	8
#define STACK_AREA	(4UL << 20)	/* room for stack_guard_gap below */

/* The thread that migrates a growing stack's pages. */
struct stack_walker {
	void *pages[STACK_PAGES + GROW_PAGES];
	int published;		/* pages [0, published) exist */
	bool stop;
	int nodes[2];
	int moved;
};

FIXTURE(split_misc) {
	char *region;
	struct khealth health;
	/* stack_growth_while_migrating: the walker, while it runs */
	struct stack_walker walker;
	pthread_t walker_thread;
	bool walker_running;
};

FIXTURE_SETUP(split_misc)
{
	const char *missing = page_oracles_missing();

	report_environment_once();
	if (missing)
		SKIP(return, "%s", missing);
	self->region = mmap(NULL, CHURN_PAGES * psize(),
			    PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->region);
	madvise(self->region, CHURN_PAGES * psize(), MADV_NOHUGEPAGE);
	fill_region(self->region, CHURN_PAGES);
	ASSERT_EQ(0, khealth_begin(&self->health, "split_misc"));
}

/* Tell the walker to stop and wait for it: 0 or an error number. */
static int walker_stop(FIXTURE_DATA(split_misc) * self)
{
	__atomic_store_n(&self->walker.stop, true, __ATOMIC_RELEASE);
	self->walker_running = false;
	return pthread_join(self->walker_thread, NULL);
}

/* Also after a failed ASSERT: a walker still running is stopped first. */
FIXTURE_TEARDOWN(split_misc)
{
	if (self->walker_running)
		walker_stop(self);
	if (self->region && self->region != MAP_FAILED)
		munmap(self->region, CHURN_PAGES * psize());
}

/*
 * Split and re-merge a lazy (never forked) VMA thousands of times: it must
 * end as one VMA with every page in place, and no VMA or anon_vma object
 * may be left behind.
 */
TEST_F_TIMEOUT(split_misc, remerge_churn_lazy, 60)
{
	struct slab_baseline base;
	char note[256], report[2048];
	int cycles;

	if (!slab_baseline_take(&base, note, sizeof(note)))
		SKIP(return, "%s", note);
	if (note[0])
		TH_LOG("%s", note);
	ASSERT_EQ(0, churn(self->region, &cycles));
	TH_LOG("%d split/merge cycles", cycles);
	EXPECT_EQ(0, check_churned(self->region, CHURN_PAGES, 1));
	EXPECT_EQ(0, slab_baseline_exceeded(&base, SLAB_TOLERANCE, report,
					    sizeof(report)))
		TH_LOG("%s", report);
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * The same in a child, on the VMA it inherited (PARENT-typed under
 * ANON_VMA_LAZY: its first split promotes it), while the parent shares
 * the pages.
 */
TEST_F_TIMEOUT(split_misc, remerge_churn_inherited, 60)
{
	struct slab_baseline base;
	char note[256], report[2048];
	int cycles, status;
	pid_t pid;

	if (!slab_baseline_take(&base, note, sizeof(note)))
		SKIP(return, "%s", note);
	if (note[0])
		TH_LOG("%s", note);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (churn(self->region, &cycles))
			_exit(1);
		_exit(check_churned(self->region, CHURN_PAGES, 2) ? 2 : 0);
	}
	ASSERT_EQ(0, reap_with_deadline(pid, 30000, &status));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("child: status %#x (1: mprotect failed, 2: pages or layout wrong)",
		       status);
	EXPECT_EQ(0, check_churned(self->region, CHURN_PAGES, 1));
	EXPECT_EQ(0, slab_baseline_exceeded(&base, SLAB_TOLERANCE, report,
					    sizeof(report)))
		TH_LOG("%s", report);
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * A MAP_GROWSDOWN VMA with faulted pages grows down page by page: vm_start
 * and vm_pgoff change together, which is what a lazy folio's address is
 * computed from. Between growth steps the pages already there are walked
 * (migrated with two NUMA nodes, paged out with swap) and must all be
 * found again.
 */
TEST_F_TIMEOUT(split_misc, stack_growth, 60)
{
	int nodes[2], status[STACK_PAGES + GROW_PAGES], step, i, k, bad = 0;
	void *pages[STACK_PAGES + GROW_PAGES];
	bool migrate = numa_usable_nodes(nodes, 2) >= 2;
	bool pageout = swap_enabled();
	struct vma_extent vma[4];
	struct pagemap_entry e;
	char *area, *top, report[2048];
	unsigned long lo;

	if (pageout)
		ASSERT_EQ(0, pin_to_this_cpu());
	area = reserve_range(STACK_AREA);
	ASSERT_NE(NULL, area);
	ASSERT_EQ(0, munmap(area, STACK_AREA));
	top = area + STACK_AREA - STACK_PAGES * psize();
	ASSERT_EQ(top, mmap(top, STACK_PAGES * psize(),
			    PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN |
			    MAP_FIXED_NOREPLACE, -1, 0));
	TH_LOG("walks between growth steps: %s%s%s",
	       migrate ? "migration" : "", migrate && pageout ? ", " : "",
	       pageout ? "pageout" : migrate ? "" : "none (no NUMA, no swap)");

	/* Page k counts down from the top: k = 0 is the highest. */
	for (k = 0; k < STACK_PAGES + GROW_PAGES; k++) {
		char *p = area + STACK_AREA - (k + 1) * psize();
		struct page_tag tag = { .owner = 9, .index = k };

		pages[k] = p;
		tag_fill(p, psize(), &tag);	/* grows the stack */
		if (k < STACK_PAGES - 1)
			continue;
		step = k + 1;
		if (migrate) {
			for (i = 0; i < step; i++)
				if (pages_node(0, &pages[i], 1, &status[i]))
					bad++;
			for (i = 0; i < step; i++) {
				int to = status[i] == nodes[0] ? nodes[1] : nodes[0];

				if (pages_move(0, &pages[i], 1, to, &status[i]) ||
				    status[i] != to)
					bad++;
			}
		}
		if (pageout) {
			if (madvise(p, step * psize(), MADV_PAGEOUT))
				bad++;
			for (i = 0; i < step; i++)
				if (pagemap_get(0, (unsigned long)pages[i], &e) ||
				    !e.swapped)
					bad++;
		}
		for (i = 0; i < step; i++) {
			struct page_tag want = { .owner = 9, .index = i };

			if (tag_verify(pages[i], psize(), &want, NULL))
				bad++;
		}
	}
	EXPECT_EQ(0, bad);

	lo = (unsigned long)area + STACK_AREA -
	     (STACK_PAGES + GROW_PAGES) * psize();
	EXPECT_EQ(1, vma_layout(0, (unsigned long)area,
				(unsigned long)area + STACK_AREA, vma, 4));
	EXPECT_EQ(lo, vma[0].start);
	for (k = 0; k < STACK_PAGES + GROW_PAGES; k++) {
		__u64 count;

		ASSERT_EQ(0, pagemap_get(0, (unsigned long)pages[k], &e));
		EXPECT_TRUE(e.present && e.pfn && e.exclusive &&
			    !kpagecount_get(e.pfn, &count) && count == 1)
			TH_LOG("stack page %d: present %d exclusive %d", k,
			       e.present, e.exclusive);
	}
	munmap((void *)lo, (STACK_PAGES + GROW_PAGES) * psize());
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * The same stack mlocked (MAP_LOCKED): each growth step counts the new
 * page in locked_vm, and reclaim leaves mlocked pages mapped. The grown
 * VMA is Locked for its whole size, MADV_PAGEOUT (which refuses a
 * VM_LOCKED VMA) swaps nothing out, a migration moves every page, and
 * the contents stay.
 */
TEST_F_TIMEOUT(split_misc, stack_growth_mlocked, 60)
{
	int nodes[2], to[STACK_PAGES + GROW_PAGES], k, n = STACK_PAGES + GROW_PAGES;
	void *pages[STACK_PAGES + GROW_PAGES];
	char *area, *top, report[2048];
	struct pagemap_entry e;
	unsigned long lo, kb;

	area = reserve_range(STACK_AREA);
	ASSERT_NE(NULL, area);
	ASSERT_EQ(0, munmap(area, STACK_AREA));
	top = area + STACK_AREA - STACK_PAGES * psize();
	if (mmap(top, STACK_PAGES * psize(), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_LOCKED |
		 MAP_FIXED_NOREPLACE, -1, 0) != top) {
		ASSERT_EQ(EAGAIN, errno) TH_LOG("mmap: %s", strerror(errno));
		SKIP(return, "MAP_LOCKED over RLIMIT_MEMLOCK");
	}
	for (k = 0; k < n; k++) {
		struct page_tag tag = { .owner = 9, .index = k };

		pages[k] = area + STACK_AREA - (k + 1) * psize();
		tag_fill(pages[k], psize(), &tag);	/* grows the stack */
	}
	lo = (unsigned long)pages[n - 1];
	ASSERT_EQ(0, smaps_range_kb(0, lo, lo + n * psize(),
				    offsetof(struct smaps_vma, locked), &kb));
	EXPECT_EQ(n * psize() / 1024, kb) TH_LOG("Locked of the grown stack");
	if (swap_enabled()) {
		/* Refused for a VM_LOCKED VMA (EINVAL), or nothing goes out. */
		if (madvise((void *)lo, n * psize(), MADV_PAGEOUT))
			EXPECT_EQ(EINVAL, errno);
		for (k = 0; k < n; k++) {
			ASSERT_EQ(0, pagemap_get(0, (unsigned long)pages[k], &e));
			EXPECT_TRUE(e.present && !e.swapped)
				TH_LOG("mlocked stack page %d swapped out", k);
		}
	}
	if (numa_usable_nodes(nodes, 2) >= 2)
		EXPECT_EQ(0, pages_move_away(0, pages, n, nodes, to));
	for (k = 0; k < n; k++) {
		struct page_tag want = { .owner = 9, .index = k };

		EXPECT_EQ(0, tag_verify(pages[k], psize(), &want, NULL))
			TH_LOG("stack page %d", k);
	}
	munmap((void *)lo, n * psize());
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/* Migrate the stack's pages back and forth while the stack grows. */
static void *stack_walker_main(void *arg)
{
	struct stack_walker *w = arg;
	int i, n, status, to;

	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		n = __atomic_load_n(&w->published, __ATOMIC_ACQUIRE);
		for (i = 0; i < n; i++) {
			if (pages_node(0, &w->pages[i], 1, &status) || status < 0)
				continue;
			to = status == w->nodes[0] ? w->nodes[1] : w->nodes[0];
			/* A page being faulted may be busy: that is no error. */
			if (!pages_move(0, &w->pages[i], 1, to, &status) &&
			    status == to)
				w->moved++;
		}
	}
	return NULL;
}

/*
 * The same growth while another thread keeps migrating the pages already
 * there: the rmap walks race with the VMA changing vm_start and vm_pgoff.
 */
TEST_F_TIMEOUT(split_misc, stack_growth_while_migrating, 60)
{
	struct stack_walker *w = &self->walker;
	struct pagemap_entry e;
	char *area, *top, report[2048];
	int k, round;
	__u64 count;

	if (numa_usable_nodes(w->nodes, 2) < 2)
		SKIP(return, "needs 2 NUMA nodes with memory for migration");
	area = reserve_range(STACK_AREA);
	ASSERT_NE(NULL, area);
	ASSERT_EQ(0, pthread_create(&self->walker_thread, NULL,
				    stack_walker_main, w));
	self->walker_running = true;
	for (round = 0; round < 20; round++) {
		ASSERT_EQ(0, munmap(area, STACK_AREA));
		top = area + STACK_AREA - STACK_PAGES * psize();
		ASSERT_EQ(top, mmap(top, STACK_PAGES * psize(),
				    PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN |
				    MAP_FIXED_NOREPLACE, -1, 0));
		for (k = 0; k < STACK_PAGES + GROW_PAGES; k++) {
			char *p = area + STACK_AREA - (k + 1) * psize();
			struct page_tag tag = { .owner = 9, .index = k };

			w->pages[k] = p;
			tag_fill(p, psize(), &tag);
			__atomic_store_n(&w->published, k + 1, __ATOMIC_RELEASE);
			usleep(500);
		}
		__atomic_store_n(&w->published, 0, __ATOMIC_RELEASE);
		usleep(2000);	/* let the walker leave this round's pages */
		for (k = 0; k < STACK_PAGES + GROW_PAGES; k++) {
			struct page_tag tag = { .owner = 9, .index = k };

			EXPECT_EQ(0, tag_verify(w->pages[k], psize(), &tag,
						NULL)) TH_LOG("round %d page %d", round, k);
			ASSERT_EQ(0, pagemap_get(0, (unsigned long)w->pages[k], &e));
			EXPECT_TRUE(e.present && e.exclusive &&
				    !kpagecount_get(e.pfn, &count) && count == 1);
		}
		/* Back to a plain reservation for the next round. */
		ASSERT_EQ(area, mmap(area, STACK_AREA, PROT_NONE,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED |
				     MAP_NORESERVE, -1, 0));
	}
	ASSERT_EQ(0, walker_stop(self));
	TH_LOG("%d migrations raced with stack growth", w->moved);
	EXPECT_LT(0, w->moved);
	munmap(area, STACK_AREA);
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

AVL_HARNESS_MAIN
