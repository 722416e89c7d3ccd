// SPDX-License-Identifier: GPL-2.0
/*
 * split: anonymous pages stay reachable by rmap after their VMA changes
 * shape - split by mprotect, munmap, madvise, mlock - before it was ever
 * shared, in a child that inherited it, and in a parent that still shares
 * it with a child.
 *
 * The reviewers' main doubt about ANON_VMA_LAZY: "VMAs change by merge and
 * split even before they are shared, and rmap needs an object that survives
 * both". Under the series a lazy folio points at a root VMA, kept alive by
 * a reference count; a split piece still points at the object of the VMA
 * it came from, even after that piece is unmapped, and finds its address
 * as vm_start - vm_pgoff of it. A split of an inherited (PARENT-typed) VMA
 * in a child promotes it to a regular anon_vma.
 *
 * Every scenario is a program for the scenario engine (rmap_util.h), a
 * 12-page region split e.g. by mprotect of its middle third:
 *
 *   0: mmap0 ro0:4-8 unmap0:4-8 write0
 *
 *   [ rw 0-3 ][ r- 4-7 ][ rw 8-11 ]  ->  [ rw 0-3 ]          [ rw 8-11 ]
 *
 * After the scenario is built and after every exit, the engine checks
 * contents in every process, PFN identity among the processes mapping
 * each copy, bit 56, kpagecount, KPF_ANON/KPF_KSM, smaps (Rss, Shared,
 * Private, Locked, Pss) and the exact VMA layout of the region. Each
 * scenario runs three times: with no walk (runs everywhere), with a
 * migration of every page of every process at every checkpoint (needs two
 * NUMA nodes), and with MADV_PAGEOUT in every process at every checkpoint
 * (needs swap): both make the kernel walk rmap from the folio, which must
 * reach every mapping of it.
 *
 * split_misc: split/re-merge churn (thousands of mprotect cycles, slab
 * counts back at baseline) and stack growth of a MAP_GROWSDOWN VMA below
 * faulted pages.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "../../kselftest_harness.h"
#include "rmap_util.h"

enum walk { NO_WALK, MIGRATE_WALK, PAGEOUT_WALK };

FIXTURE(split) {
	struct scenario *sc;
	struct khealth health;
};

/* @program for the engine; the members exit in @exit_order. */
FIXTURE_VARIANT(split) {
	const char *program;
	int exit_order[3];
};

/* Never forked: the VMA is lazy under the series. */
FIXTURE_VARIANT_ADD(split, mprotect_left) {
	.program = "0: mmap0 ro0:0-4 write0",
};

FIXTURE_VARIANT_ADD(split, mprotect_middle) {
	.program = "0: mmap0 ro0:4-8 write0",
};

FIXTURE_VARIANT_ADD(split, mprotect_right) {
	.program = "0: mmap0 ro0:8-12 write0",
};

FIXTURE_VARIANT_ADD(split, mprotect_and_back) {
	.program = "0: mmap0 ro0:4-8 write0 rw0:4-8 write0",
};

FIXTURE_VARIANT_ADD(split, munmap_middle) {
	.program = "0: mmap0 unmap0:4-8 write0",
};

FIXTURE_VARIANT_ADD(split, dontneed_middle) {
	.program = "0: mmap0 dontneed0:4-8 write0:0-6",
};

FIXTURE_VARIANT_ADD(split, free_middle) {
	.program = "0: mmap0 free0:4-8",
};

FIXTURE_VARIANT_ADD(split, free_then_write) {
	.program = "0: mmap0 free0:4-8 write0",
};

FIXTURE_VARIANT_ADD(split, cold_middle) {
	.program = "0: mmap0 cold0:4-8 write0",
};

FIXTURE_VARIANT_ADD(split, mlock_middle) {
	.program = "0: mmap0 mlock0:4-8 write0",
};

FIXTURE_VARIANT_ADD(split, mlock_and_unlock) {
	.program = "0: mmap0 mlock0:4-8 write0 munlock0:4-8",
};

FIXTURE_VARIANT_ADD(split, dontfork_part) {
	.program = "0: mmap0 dontfork0:0-4 write0",
};

/*
 * The piece that owns the original VMA object is unmapped while the
 * others, whose folios may still point at it, live on. Which piece keeps
 * the object depends on the kernel: unmap each, and all but each.
 */
FIXTURE_VARIANT_ADD(split, unmap_first_piece) {
	.program = "0: mmap0 ro0:4-8 unmap0:0-4 write0",
};

FIXTURE_VARIANT_ADD(split, unmap_middle_piece) {
	.program = "0: mmap0 ro0:4-8 unmap0:4-8 write0",
};

FIXTURE_VARIANT_ADD(split, unmap_last_piece) {
	.program = "0: mmap0 ro0:4-8 unmap0:8-12 write0",
};

FIXTURE_VARIANT_ADD(split, keep_first_piece) {
	.program = "0: mmap0 ro0:4-8 unmap0:4-12 write0",
};

FIXTURE_VARIANT_ADD(split, keep_middle_piece) {
	.program = "0: mmap0 ro0:4-8 unmap0:0-4 unmap0:8-12",
};

FIXTURE_VARIANT_ADD(split, keep_last_piece) {
	.program = "0: mmap0 ro0:4-8 unmap0:0-8 write0",
};

/*
 * In a child: the inherited (PARENT-typed) VMA is split, then the child
 * forks again, so the grandchild inherits pieces of a split PARENT VMA.
 */
FIXTURE_VARIANT_ADD(split, child_mprotect_root_first) {
	.program = "0: mmap0 fork1 | 1: write0 ro0:4-8 fork2 | 2: write0",
	.exit_order = { 0, 1, 2 },
};

FIXTURE_VARIANT_ADD(split, child_mprotect_middle_first) {
	.program = "0: mmap0 fork1 | 1: write0 ro0:4-8 fork2 | 2: write0",
	.exit_order = { 1, 0, 2 },
};

FIXTURE_VARIANT_ADD(split, child_mprotect_leaf_first) {
	.program = "0: mmap0 fork1 | 1: write0 ro0:4-8 fork2 | 2: write0",
	.exit_order = { 2, 1, 0 },
};

FIXTURE_VARIANT_ADD(split, child_munmap_root_first) {
	.program = "0: mmap0 fork1 | 1: unmap0:4-8 write0 fork2 | 2: write0",
	.exit_order = { 0, 1, 2 },
};

FIXTURE_VARIANT_ADD(split, child_munmap_leaf_first) {
	.program = "0: mmap0 fork1 | 1: unmap0:0-4 write0 fork2 | 2: write0",
	.exit_order = { 2, 1, 0 },
};

FIXTURE_VARIANT_ADD(split, child_dontneed_middle_first) {
	.program = "0: mmap0 fork1 | 1: dontneed0:4-8 write0 fork2 | 2: write0",
	.exit_order = { 1, 0, 2 },
};

FIXTURE_VARIANT_ADD(split, child_mlock_leaf_first) {
	.program = "0: mmap0 fork1 | 1: mlock0:4-8 write0 fork2 | 2: write0",
	.exit_order = { 2, 1, 0 },
};

FIXTURE_VARIANT_ADD(split, child_dontfork_root_first) {
	.program = "0: mmap0 fork1 | 1: write0 dontfork0:0-4 fork2 | 2: write0",
	.exit_order = { 0, 1, 2 },
};

FIXTURE_VARIANT_ADD(split, child_mprotect_and_back_middle_first) {
	.program = "0: mmap0 fork1 | 1: ro0:4-8 write0 rw0:4-8 fork2 | 2: write0",
	.exit_order = { 1, 0, 2 },
};

/* In the parent after fork, while the child still shares the pages. */
FIXTURE_VARIANT_ADD(split, parent_mprotect_after_fork) {
	.program = "0: mmap0 fork1 ro0:4-8 write0 | 1: write0:8-12",
	.exit_order = { 0, 1 },
};

FIXTURE_VARIANT_ADD(split, parent_munmap_after_fork) {
	.program = "0: mmap0 fork1 unmap0:0-4 write0:8-12 | 1: write0:4-8",
	.exit_order = { 1, 0 },
};

FIXTURE_VARIANT_ADD(split, parent_mlock_after_fork) {
	.program = "0: mmap0 fork1 mlock0:4-8 | 1: write0",
	.exit_order = { 0, 1 },
};

FIXTURE_VARIANT_ADD(split, parent_split_then_fork_again) {
	.program = "0: mmap0 fork1 ro0:4-8 fork2 | 1: write0 | 2: write0:0-4",
	.exit_order = { 0, 2, 1 },
};

FIXTURE_SETUP(split)
{
	int ret;

	report_environment_once();
	if (geteuid())
		SKIP(return, "needs root: pagemap PFNs, kpagecount and the kernel log");
	ret = pagemap_pfns_visible();
	if (ret != 1)
		SKIP(return, "pagemap does not show PFNs (%d)", ret);
	if (access("/proc/kpagecount", R_OK) || access("/proc/kpageflags", R_OK))
		SKIP(return, "no /proc/kpagecount or /proc/kpageflags");

	self->sc = sc_create(1);
	ASSERT_NE(NULL, self->sc);
	ASSERT_EQ(0, sc_parse(self->sc, variant->program))
		TH_LOG("bad program: %s", variant->program);
	ASSERT_EQ(0, sc_finish(self->sc));
	ASSERT_EQ(0, khealth_begin(&self->health, "split"));
}

FIXTURE_TEARDOWN(split)
{
	sc_destroy(self->sc);
}

/* The walk of this test in every live process, then a checkpoint. */
static int walk_all(struct scenario *sc, enum walk walk, const int *nodes,
		    const char *when)
{
	int m, bad = 0;

	for (m = 0; m < sc->nr_members; m++) {
		if (!sc->alive[m])
			continue;
		if (walk == MIGRATE_WALK)
			bad += sc_migrate_walk(sc, m, nodes, when);
		else if (walk == PAGEOUT_WALK)
			bad += sc_pageout_walk(sc, m, when);
	}
	if (walk != NO_WALK)
		bad += sc_checkpoint(sc, when);
	return bad;
}

static void run_split(struct __test_metadata *_metadata,
		      FIXTURE_DATA(split) * self, const int *exit_order,
		      enum walk walk, const int *nodes)
{
	struct scenario *sc = self->sc;
	char when[64], report[2048];
	int k, m;

	ASSERT_EQ(0, sc_start(sc, report, sizeof(report))) TH_LOG("%s", report);
	EXPECT_EQ(0, sc_checkpoint(sc, "built"));
	EXPECT_EQ(0, walk_all(sc, walk, nodes, "walked after build"));

	for (k = 0; k < sc->nr_members; k++) {
		m = exit_order[k];
		ASSERT_EQ(0, sc_exit_member(sc, m)) TH_LOG("P%d did not exit", m);
		if (k == sc->nr_members - 1)
			break;
		snprintf(when, sizeof(when), "after P%d exited", m);
		EXPECT_EQ(0, sc_checkpoint(sc, when));
		EXPECT_EQ(0, walk_all(sc, walk, nodes, when));
	}
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

TEST_F_TIMEOUT(split, exits, 60)
{
	run_split(_metadata, self, variant->exit_order, NO_WALK, NULL);
}

TEST_F_TIMEOUT(split, migrate_walks, 90)
{
	int nodes[2];

	if (numa_usable_nodes(nodes, 2) < 2)
		SKIP(return, "needs 2 NUMA nodes with memory for migration");
	run_split(_metadata, self, variant->exit_order, MIGRATE_WALK, nodes);
}

TEST_F_TIMEOUT(split, pageout_walks, 90)
{
	if (!swap_enabled())
		SKIP(return, "needs swap for MADV_PAGEOUT");
	run_split(_metadata, self, variant->exit_order, PAGEOUT_WALK, NULL);
}

TEST_HARNESS_MAIN
