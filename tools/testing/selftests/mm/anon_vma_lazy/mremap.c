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
 * Every scenario is a program for the scenario engine (scenario.h) with
 * its expected outcome once built (scenario_test.h): "move0:4-8>5" moves
 * pages 4..7 of region 0 to pages 4..7 of region 5, "dontunmap0>5" the
 * same with MREMAP_DONTUNMAP, "grow0:8-12" grows the VMA ending at page 8
 * in place. A moved piece keeps its vm_pgoff, so it merges again exactly
 * when it is back in line; a moved copy keeps its letter in its column:
 *
 *   .program = "0: mmap0 move0:4-8>5 write0 write5",
 *   .expect = "P0 R0 AAAA....AAAA rw,rw\n"
 *             "P0 R5 ....AAAA.... rw",
 *
 * The engine checks contents, PFN identity among the processes mapping
 * each copy, bit 56, kpagecount, smaps and the VMA layout after the
 * scenario is built and after every exit; migrate_walks and pageout_walks
 * make the kernel walk rmap from every folio first: the walks must reach
 * every mapping at its new address.
 */
#include <stdio.h>

#include "../../kselftest_harness.h"
#include "scenario_test.h"

FIXTURE(mremap) {
	struct scenario_fixture s;
};

/* @program, its members' exit order, its outcome once built. */
FIXTURE_VARIANT(mremap) {
	const char *program;
	int exit_order[3];
	const char *expect;
	/* Where it depends on merge policy: when VMAs merge (sc_policy()). */
	const char *expect_if_merged;
};

/* Never forked: a lazy VMA under ANON_VMA_LAZY. */
FIXTURE_VARIANT_ADD(mremap, move_whole) {
	.program = "0: mmap0 move0>5 write5",
	.expect = "P0 R5 AAAAAAAAAAAA rw",
};

FIXTURE_VARIANT_ADD(mremap, move_part_splits) {
	.program = "0: mmap0 move0:4-8>5 write0 write5",
	.expect = "P0 R0 AAAA....AAAA rw,rw\n"
		  "P0 R5 ....AAAA.... rw",
};

FIXTURE_VARIANT_ADD(mremap, move_first_piece) {
	.program = "0: mmap0 move0:0-4>5 write5",
	.expect = "P0 R0 ....AAAAAAAA rw\n"
		  "P0 R5 AAAA........ rw",
};

FIXTURE_VARIANT_ADD(mremap, move_and_back_remerges) {
	.program = "0: mmap0 move0:4-8>5 write5 move5:4-8>0 write0",
	.expect = "P0 R0 AAAAAAAAAAAA rw",
};

FIXTURE_VARIANT_ADD(mremap, move_twice) {
	.program = "0: mmap0 move0:2-10>5 move5:2-10>7 write7",
	.expect = "P0 R0 AA........AA rw,rw\n"
		  "P0 R7 ..AAAAAAAA.. rw",
};

FIXTURE_VARIANT_ADD(mremap, move_onto_mapped) {
	.program = "0: mmap0 mmap5 move0:2-6>5 write5",
	.expect = "P0 R0 AA....AAAAAA rw,rw\n"
		  "P0 R5 BB|AAAA|BBBBBB rw,rw,rw",
};

FIXTURE_VARIANT_ADD(mremap, move_after_mprotect_split) {
	.program = "0: mmap0 ro0:4-8 move0:8-12>5 write5",
	.expect = "P0 R0 AAAA|AAAA.... rw,r-\n"
		  "P0 R5 ........AAAA rw",
};

FIXTURE_VARIANT_ADD(mremap, grow_in_place) {
	.program = "0: mmap0 unmap0:8-12 grow0:8-12 write0",
	.expect = "P0 R0 AAAAAAAAAA00 rw",
};

FIXTURE_VARIANT_ADD(mremap, grow_into_hole_merges) {
	.program = "0: mmap0 unmap0:4-8 grow0:4-8 write0",
	.expect = "P0 R0 AAAA000AAAAA rw",
};

FIXTURE_VARIANT_ADD(mremap, dontunmap_whole) {
	.program = "0: mmap0 dontunmap0>5 write0 write5",
	.expect = "P0 R0 0AA00A0A0A00 rw\n"
		  "P0 R5 ABBAABABABAA rw",
};

FIXTURE_VARIANT_ADD(mremap, dontunmap_part) {
	.program = "0: mmap0 dontunmap0:0-4>5 write5",
	.expect = "P0 R0 0000AAAAAAAA rw\n"
		  "P0 R5 AAAA........ rw",
};

/*
 * MREMAP_DONTUNMAP of a whole VMA leaves it without anon_vma; growing it
 * up to the rest of the region merges the two, and the merged VMA must
 * take the anon_vma of the rest (dup_anon_vma()), or rmap loses the
 * rest's pages.
 */
FIXTURE_VARIANT_ADD(mremap, dontunmap_whole_then_grow_into_rest) {
	.program = "0: mmap0 unmap0:4-6 dontunmap0:0-4>5 grow0:4-6 write0",
	.expect = "P0 R0 0AA0AAAAAAAA rw\n"
		  "P0 R5 ABBA........ rw",
};

/* In the parent after fork, while the child shares the pages. */
FIXTURE_VARIANT_ADD(mremap, parent_moves_after_fork) {
	.program = "0: mmap0 fork1 move0>5 write5 | 1: write0:0-6",
	.exit_order = { 0, 1 },
	.expect = "P0 R5 AAAAAAAAAAAA rw\n"
		  "P1 R0 BBBBBBBAABAB rw",
};

FIXTURE_VARIANT_ADD(mremap, parent_moves_part_child_first) {
	.program = "0: mmap0 fork1 move0:4-8>5 | 1: write0:6-12",
	.exit_order = { 1, 0 },
	.expect = "P0 R0 AAAA....AAAA rw,rw\n"
		  "P0 R5 ....AAAA.... rw\n"
		  "P1 R0 AAAAAAABAABA rw",
};

FIXTURE_VARIANT_ADD(mremap, parent_grows_after_fork) {
	.program = "0: mmap0 unmap0:8-12 fork1 grow0:8-12 write0 | 1: write0",
	.exit_order = { 0, 1 },
	.expect = "P0 R0 AAAAAAAAAAA0 rw\n"
		  "P1 R0 BBBBBBAB.... rw",
};

FIXTURE_VARIANT_ADD(mremap, parent_dontunmap_after_fork) {
	.program = "0: mmap0 fork1 dontunmap0>5 write0:0-6 | 1: write0:6-12",
	.exit_order = { 0, 1 },
	.expect = "P0 R0 0AA000000000 rw\n"
		  "P0 R5 ABBAAAAAAAAA rw\n"
		  "P1 R0 ABBAAAABAABA rw",
};

/* In a child: its inherited (PARENT-typed) VMA moves. */
FIXTURE_VARIANT_ADD(mremap, child_moves_inherited) {
	.program = "0: mmap0 fork1 | 1: move0>5 write5 fork2 | 2: write5",
	.exit_order = { 0, 1, 2 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R5 BABAAAABBBAB rw\n"
		  "P2 R5 BBBBBAACBBAC rw",
};

FIXTURE_VARIANT_ADD(mremap, child_moves_part_leaf_first) {
	.program = "0: mmap0 fork1 | 1: move0:4-8>5 fork2 | 2: write0 write5",
	.exit_order = { 2, 1, 0 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R0 AAAA....AAAA rw,rw\n"
		  "P1 R5 ....AAAA.... rw\n"
		  "P2 R0 BBBA....BABA rw,rw\n"
		  "P2 R5 ....AAAB.... rw",
};

FIXTURE_VARIANT_ADD(mremap, child_moves_part_and_back) {
	.program = "0: mmap0 fork1 | 1: move0:4-8>5 move5:4-8>0 write0 fork2 | 2: write0",
	.exit_order = { 1, 0, 2 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R0 ABAABABAAAAA rw\n"
		  "P2 R0 BCBACBBBBABA rw",
};

FIXTURE_VARIANT_ADD(mremap, child_grows_inherited) {
	.program = "0: mmap0 unmap0:8-12 fork1 | 1: grow0:8-12 write0 fork2 | 2: write0",
	.exit_order = { 0, 2, 1 },
	.expect = "P0 R0 AAAAAAAA.... rw\n"
		  "P1 R0 BABBAAAAA000 rw\n"
		  "P2 R0 CBCBBBABB0A0 rw",
};

FIXTURE_VARIANT_ADD(mremap, child_dontunmap_inherited) {
	.program = "0: mmap0 fork1 | 1: dontunmap0>5 write0 fork2 | 2: write5",
	.exit_order = { 1, 0, 2 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R0 B0BB0000B000 rw\n"
		  "P1 R5 AAAAAAAAAAAA rw\n"
		  "P2 R0 B0BB0000B000 rw\n"
		  "P2 R5 ABACBAABAAAB rw",
};

/* Moved before fork: the child inherits a moved (and split) VMA. */
FIXTURE_VARIANT_ADD(mremap, moved_then_fork) {
	.program = "0: mmap0 move0:4-8>5 fork1 write5 | 1: write0 write5",
	.exit_order = { 0, 1 },
	.expect = "P0 R0 AAAA....AAAA rw,rw\n"
		  "P0 R5 ....AAAA.... rw\n"
		  "P1 R0 BBBB....AABA rw,rw\n"
		  "P1 R5 ....AABB.... rw",
};

FIXTURE_VARIANT_ADD(mremap, moved_back_then_fork) {
	.program = "0: mmap0 move0:4-8>5 move5:4-8>0 fork1 | 1: write0",
	.exit_order = { 1, 0 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R0 BBBBBBABAABA rw",
};

FIXTURE_SETUP(mremap)
{
	scenario_setup(_metadata, &self->s, variant->program, variant->expect,
		       variant->expect_if_merged, false, "mremap");
}

FIXTURE_TEARDOWN(mremap)
{
	sc_destroy(self->s.sc);
}

TEST_F_TIMEOUT(mremap, exits, 60)
{
	scenario_test_run(_metadata, &self->s, variant->exit_order, SC_NO_WALK);
}

TEST_F_TIMEOUT(mremap, migrate_walks, 90)
{
	scenario_test_run(_metadata, &self->s, variant->exit_order,
			  SC_MIGRATE_WALK);
}

TEST_F_TIMEOUT(mremap, pageout_walks, 90)
{
	scenario_test_run(_metadata, &self->s, variant->exit_order,
			  SC_PAGEOUT_WALK);
}

TEST_HARNESS_MAIN
