// SPDX-License-Identifier: GPL-2.0
/*
 * mremap: anonymous pages stay reachable by rmap after their VMA moves,
 * grows in place or is moved with MREMAP_DONTUNMAP, before and after fork.
 *
 * Under ANON_VMA_LAZY a lazy folio has no anon_vma: it points at a root
 * VMA and finds its address in a mapping as vm_start - vm_pgoff of it.
 * mremap changes exactly that: the moved VMA gets a new vm_start and keeps
 * vm_pgoff, a partial move splits the root VMA first, and moving a piece
 * back re-merges it with the rest. MREMAP_DONTUNMAP leaves the old VMA in
 * place and, when the whole VMA moved, unlinks its anon_vma chains.
 *
 * Every scenario is a program for the scenario engine (rmap_util.h):
 * "move0:4-8>5" moves pages 4..7 of region 0 to pages 4..7 of region 5,
 * "dontunmap0>5" the same with MREMAP_DONTUNMAP, "grow0:8-12" grows the
 * VMA ending at page 8 in place. The engine knows where every copy of
 * every page is and which VMAs each process must have (a moved piece keeps
 * its vm_pgoff, so it merges again exactly when it is back in line), and
 * checks contents, PFN identity among the processes mapping each copy, bit
 * 56, kpagecount, smaps and the VMA layout after the scenario is built and
 * after every exit. Each scenario runs with no walk, with every page of
 * every process migrated at every checkpoint (two NUMA nodes) and with
 * MADV_PAGEOUT at every checkpoint (swap): the walks must reach every
 * mapping at its new address.
 */
#include <stdio.h>

#include "../../kselftest_harness.h"
#include "rmap_util.h"

FIXTURE(mremap) {
	struct scenario *sc;
	struct khealth health;
};

/* @program for the engine; the members exit in @exit_order. */
FIXTURE_VARIANT(mremap) {
	const char *program;
	int exit_order[3];
};

/* Never forked: the VMA is lazy under the series. */
FIXTURE_VARIANT_ADD(mremap, move_whole) {
	.program = "0: mmap0 move0>5 write5",
};

FIXTURE_VARIANT_ADD(mremap, move_part_splits) {
	.program = "0: mmap0 move0:4-8>5 write0 write5",
};

FIXTURE_VARIANT_ADD(mremap, move_first_piece) {
	.program = "0: mmap0 move0:0-4>5 write5",
};

FIXTURE_VARIANT_ADD(mremap, move_and_back_remerges) {
	.program = "0: mmap0 move0:4-8>5 write5 move5:4-8>0 write0",
};

FIXTURE_VARIANT_ADD(mremap, move_twice) {
	.program = "0: mmap0 move0:2-10>5 move5:2-10>7 write7",
};

FIXTURE_VARIANT_ADD(mremap, move_onto_mapped) {
	.program = "0: mmap0 mmap5 move0:2-6>5 write5",
};

FIXTURE_VARIANT_ADD(mremap, move_after_mprotect_split) {
	.program = "0: mmap0 ro0:4-8 move0:8-12>5 write5",
};

FIXTURE_VARIANT_ADD(mremap, grow_in_place) {
	.program = "0: mmap0 unmap0:8-12 grow0:8-12 write0",
};

FIXTURE_VARIANT_ADD(mremap, grow_into_hole_merges) {
	.program = "0: mmap0 unmap0:4-8 grow0:4-8 write0",
};

FIXTURE_VARIANT_ADD(mremap, dontunmap_whole) {
	.program = "0: mmap0 dontunmap0>5 write0 write5",
};

FIXTURE_VARIANT_ADD(mremap, dontunmap_part) {
	.program = "0: mmap0 dontunmap0:0-4>5 write5",
};

/*
 * MREMAP_DONTUNMAP of a whole VMA leaves it without anon_vma; growing it
 * up to the rest of the region merges the two, and the merged VMA must
 * take the anon_vma of the rest (dup_anon_vma()), or rmap loses the
 * rest's pages.
 */
FIXTURE_VARIANT_ADD(mremap, dontunmap_whole_then_grow_into_rest) {
	.program = "0: mmap0 unmap0:4-6 dontunmap0:0-4>5 grow0:4-6 write0",
};

/* In the parent after fork, while the child shares the pages. */
FIXTURE_VARIANT_ADD(mremap, parent_moves_after_fork) {
	.program = "0: mmap0 fork1 move0>5 write5 | 1: write0:0-6",
	.exit_order = { 0, 1 },
};

FIXTURE_VARIANT_ADD(mremap, parent_moves_part_child_first) {
	.program = "0: mmap0 fork1 move0:4-8>5 | 1: write0:6-12",
	.exit_order = { 1, 0 },
};

FIXTURE_VARIANT_ADD(mremap, parent_grows_after_fork) {
	.program = "0: mmap0 unmap0:8-12 fork1 grow0:8-12 write0 | 1: write0",
	.exit_order = { 0, 1 },
};

FIXTURE_VARIANT_ADD(mremap, parent_dontunmap_after_fork) {
	.program = "0: mmap0 fork1 dontunmap0>5 write0:0-6 | 1: write0:6-12",
	.exit_order = { 0, 1 },
};

/* In a child: its inherited (PARENT-typed) VMA moves. */
FIXTURE_VARIANT_ADD(mremap, child_moves_inherited) {
	.program = "0: mmap0 fork1 | 1: move0>5 write5 fork2 | 2: write5",
	.exit_order = { 0, 1, 2 },
};

FIXTURE_VARIANT_ADD(mremap, child_moves_part_leaf_first) {
	.program = "0: mmap0 fork1 | 1: move0:4-8>5 fork2 | 2: write0 write5",
	.exit_order = { 2, 1, 0 },
};

FIXTURE_VARIANT_ADD(mremap, child_moves_part_and_back) {
	.program = "0: mmap0 fork1 | 1: move0:4-8>5 move5:4-8>0 write0 fork2 | 2: write0",
	.exit_order = { 1, 0, 2 },
};

FIXTURE_VARIANT_ADD(mremap, child_grows_inherited) {
	.program = "0: mmap0 unmap0:8-12 fork1 | 1: grow0:8-12 write0 fork2 | 2: write0",
	.exit_order = { 0, 2, 1 },
};

FIXTURE_VARIANT_ADD(mremap, child_dontunmap_inherited) {
	.program = "0: mmap0 fork1 | 1: dontunmap0>5 write0 fork2 | 2: write5",
	.exit_order = { 1, 0, 2 },
};

/* Moved before fork: the child inherits a moved (and split) VMA. */
FIXTURE_VARIANT_ADD(mremap, moved_then_fork) {
	.program = "0: mmap0 move0:4-8>5 fork1 write5 | 1: write0 write5",
	.exit_order = { 0, 1 },
};

FIXTURE_VARIANT_ADD(mremap, moved_back_then_fork) {
	.program = "0: mmap0 move0:4-8>5 move5:4-8>0 fork1 | 1: write0",
	.exit_order = { 1, 0 },
};

FIXTURE_SETUP(mremap)
{
	const char *missing = page_oracles_missing();
	char err[256];

	report_environment_once();
	if (missing)
		SKIP(return, "%s", missing);

	self->sc = sc_from_program(variant->program, err, sizeof(err));
	ASSERT_NE(NULL, self->sc) TH_LOG("%s", err);
	ASSERT_EQ(0, khealth_begin(&self->health, "mremap"));
}

FIXTURE_TEARDOWN(mremap)
{
	sc_destroy(self->sc);
}

static void run_mremap(struct __test_metadata *_metadata,
		       FIXTURE_DATA(mremap) * self, const int *exit_order,
		       enum sc_walk walk, const int *nodes)
{
	char report[2048];
	int bad;

	bad = sc_run(self->sc, exit_order, walk, nodes, report, sizeof(report));
	ASSERT_LE(0, bad) TH_LOG("%s", report);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

TEST_F_TIMEOUT(mremap, exits, 60)
{
	run_mremap(_metadata, self, variant->exit_order, SC_NO_WALK, NULL);
}

TEST_F_TIMEOUT(mremap, migrate_walks, 90)
{
	int nodes[2];

	if (numa_usable_nodes(nodes, 2) < 2)
		SKIP(return, "needs 2 NUMA nodes with memory for migration");
	run_mremap(_metadata, self, variant->exit_order, SC_MIGRATE_WALK,
		   nodes);
}

TEST_F_TIMEOUT(mremap, pageout_walks, 90)
{
	if (!swap_enabled())
		SKIP(return, "needs swap for MADV_PAGEOUT");
	ASSERT_EQ(0, pin_to_this_cpu());
	run_mremap(_metadata, self, variant->exit_order, SC_PAGEOUT_WALK,
		   NULL);
}

TEST_HARNESS_MAIN
