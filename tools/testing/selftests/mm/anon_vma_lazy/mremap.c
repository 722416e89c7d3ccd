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
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include <linux/kernel-page-flags.h>

#include "../../kselftest_harness.h"
#include "harness_main.h"
#include "crew.h"
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

/* ---- mremap_pmd: whole page tables and huge PMDs move ------------------ */

/*
 * An mremap of a PMD-aligned range to a PMD-aligned address moves whole
 * page tables (move_normal_pmd()) or huge PMDs (move_huge_pmd()) instead
 * of PTE by PTE, holding the rmap locks so that an rmap walk never sees
 * the pages at neither address. The pages keep their PFNs; a child that
 * shares them keeps them at the old address; walks afterwards must reach
 * the mover's mapping at its new address and every other mapping.
 *
 *   [ A: 2 MiB, PMD-aligned ][ 2 MiB gap ][ B: 2 MiB, PMD-aligned ]
 *   the mover: mremap A -> B; a sharer (after fork) keeps A
 *
 * The *_far variants move to 1 GiB away, into another page table page of
 * PMDs, whose lock is another one (split PMD locks): both are taken.
 * thp_to_unaligned moves the THP to one page past B: no PMD fits there,
 * so move_page_tables() splits the huge PMD and moves its PTEs; the folio
 * stays one THP, mapped by PTEs.
 */
#define PMD_PAGES_MAX	512
#define PMD_AWAY(n)	(2 * (n))	/* B, in pages from A */
#define PMD_FAR		(1024UL << 20)	/* B of the *_far variants, in bytes */

FIXTURE(mremap_pmd) {
	struct crew *crew;
	char *reserved;
	size_t reserved_len;
	char *a;
	int pages;		/* one PMD's worth */
	long away;		/* B, in pages from A */
	int nodes[2];
	bool numa, swap;
	struct khealth health;
};

FIXTURE_VARIANT(mremap_pmd) {
	bool thp;		/* a PMD-mapped THP, else a table of small pages */
	int mover;		/* 0: the parent (or the only process), 1: the child */
	bool fork;		/* P0 forks P1 before the move */
	bool far;		/* B in another PMD table (PMD_FAR away) */
	bool unaligned;		/* B one page past a PMD boundary */
};

FIXTURE_VARIANT_ADD(mremap_pmd, small_pages_lazy) {
	.thp = false, .mover = 0, .fork = false,
};

FIXTURE_VARIANT_ADD(mremap_pmd, small_pages_parent_moves) {
	.thp = false, .mover = 0, .fork = true,
};

FIXTURE_VARIANT_ADD(mremap_pmd, small_pages_child_moves) {
	.thp = false, .mover = 1, .fork = true,
};

FIXTURE_VARIANT_ADD(mremap_pmd, thp_lazy) {
	.thp = true, .mover = 0, .fork = false,
};

FIXTURE_VARIANT_ADD(mremap_pmd, thp_parent_moves) {
	.thp = true, .mover = 0, .fork = true,
};

FIXTURE_VARIANT_ADD(mremap_pmd, thp_child_moves) {
	.thp = true, .mover = 1, .fork = true,
};

FIXTURE_VARIANT_ADD(mremap_pmd, small_pages_far) {
	.thp = false, .mover = 0, .fork = false, .far = true,
};

FIXTURE_VARIANT_ADD(mremap_pmd, thp_far) {
	.thp = true, .mover = 0, .fork = false, .far = true,
};

FIXTURE_VARIANT_ADD(mremap_pmd, thp_to_unaligned) {
	.thp = true, .mover = 0, .fork = true, .unaligned = true,
};

FIXTURE_SETUP(mremap_pmd)
{
	const char *missing = page_oracles_missing();
	unsigned long pmd = read_pmd_pagesize(), a;
	int ret;

	report_environment_once();
	if (missing)
		SKIP(return, "%s", missing);
	if (!pmd)
		pmd = 2UL << 20;	/* no THP: x86's PMD size */
	if (variant->thp && !read_pmd_pagesize())
		SKIP(return, "no THP (CONFIG_TRANSPARENT_HUGEPAGE)");
	self->pages = pmd / psize();
	ASSERT_GE(PMD_PAGES_MAX, self->pages);
	self->numa = numa_usable_nodes(self->nodes, 2) >= 2;
	self->swap = swap_enabled();
	if (self->swap)
		ASSERT_EQ(0, pin_to_this_cpu());
	/* A, a gap, B, and room to align A. */
	self->reserved_len = 4 * pmd + (variant->far ? PMD_FAR : 0);
	self->away = variant->far ? (long)(PMD_FAR / psize()) :
		     PMD_AWAY(self->pages) + variant->unaligned;
	self->reserved = reserve_range(self->reserved_len);
	ASSERT_NE(NULL, self->reserved);
	a = ((unsigned long)self->reserved + pmd - 1) & ~(pmd - 1);
	self->a = (char *)a;
	self->crew = crew_create(2);
	ASSERT_NE(NULL, self->crew);
	ASSERT_EQ(0, crew_add_region(self->crew, self->a, self->pages, true));
	ASSERT_LT(0, crew_start(self->crew, 0));
	ASSERT_EQ(0, crew_do(self->crew, 0, CREW_MMAP, 0, 0, self->pages, 0));
	ret = crew_do(self->crew, 0, CREW_MADVISE, 0, 0, self->pages,
		      variant->thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, crew_do(self->crew, 0, CREW_FILL, 0, 0, self->pages, 0));
	ASSERT_EQ(0, khealth_begin(&self->health, "mremap_pmd"));
}

FIXTURE_TEARDOWN(mremap_pmd)
{
	crew_destroy(self->crew);
	if (self->reserved)
		munmap(self->reserved, self->reserved_len);
}

/* The PFNs of member @m's pages at @at (all present). */
static int pmd_pfns(FIXTURE_DATA(mremap_pmd) * self, int m, const char *at,
		    __u64 *pfn)
{
	struct pagemap_entry e;
	int i;

	for (i = 0; i < self->pages; i++) {
		if (pagemap_get(crew_pid(self->crew, m),
				(unsigned long)at + (size_t)i * psize(), &e) ||
		    !e.present || !e.pfn)
			return -1;
		pfn[i] = e.pfn;
	}
	return 0;
}

/* Whether member @m maps its pages at @at as one THP (KPF_THP, in a row). */
static bool pmd_is_thp(FIXTURE_DATA(mremap_pmd) * self, int m, const char *at)
{
	static __u64 pfn[PMD_PAGES_MAX];
	__u64 flags;
	int i;

	if (pmd_pfns(self, m, at, pfn) || kpageflags_get(pfn[0], &flags) ||
	    !kpf_has(flags, KPF_THP))
		return false;
	for (i = 1; i < self->pages; i++)
		if (pfn[i] != pfn[0] + i)
			return false;
	return true;
}

TEST_F_TIMEOUT(mremap_pmd, moved_pmd_keeps_pages, 90)
{
	static __u64 before[PMD_PAGES_MAX], moved[PMD_PAGES_MAX];
	static __u64 other[PMD_PAGES_MAX];
	static void *addrs[PMD_PAGES_MAX];
	static int status[PMD_PAGES_MAX];
	int mover = variant->mover, sharer = !mover, i, bad, node, to;
	char *b = self->a + (size_t)self->away * psize();
	bool thp = false;
	char report[2048];
	__u64 count;

	if (variant->thp) {
		thp = pmd_is_thp(self, 0, self->a);
		if (!thp)
			SKIP(return, "no huge page could be allocated (fragmented memory)");
	}
	if (variant->fork)
		ASSERT_EQ(0, crew_do(self->crew, 0, CREW_FORK, 0, 0, 0, 1));
	ASSERT_EQ(0, pmd_pfns(self, mover, self->a, before));
	ASSERT_EQ(0, crew_do(self->crew, mover, CREW_MREMAP, 0, 0,
			     self->pages, self->away));

	/* The mover maps the very same pages at B, a THP still a THP. */
	ASSERT_EQ(0, pmd_pfns(self, mover, b, moved));
	for (i = 0, bad = 0; i < self->pages; i++)
		bad += moved[i] != before[i];
	EXPECT_EQ(0, bad) TH_LOG("%d pages changed their PFN in the move", bad);
	if (thp)
		EXPECT_TRUE(pmd_is_thp(self, mover, b));
	EXPECT_EQ(0, crew_do(self->crew, mover, CREW_VERIFY, 0, 0,
			     self->pages, 0));
	if (variant->fork) {
		/* The sharer still maps them at A. */
		ASSERT_EQ(0, pmd_pfns(self, sharer, self->a, other));
		EXPECT_EQ(0, memcmp(before, other, self->pages * sizeof(*other)));
		ASSERT_EQ(0, kpagecount_get(before[1], &count));
		EXPECT_EQ((__u64)2, count)
			TH_LOG("page 1 mapped %llu times", count);
		EXPECT_EQ(0, crew_do(self->crew, sharer, CREW_VERIFY, 0, 0,
				     self->pages, 0));
	}

	/* Migration from the mover: every mapping follows, at A and at B. */
	if (self->numa) {
		for (i = 0; i < self->pages; i++)
			addrs[i] = b + (size_t)i * psize();
		ASSERT_EQ(0, pages_node(crew_pid(self->crew, mover), addrs, 1,
					status));
		node = status[0];
		to = node == self->nodes[0] ? self->nodes[1] : self->nodes[0];
		EXPECT_LE(0, pages_move(crew_pid(self->crew, mover), addrs,
					self->pages, to, status));
		ASSERT_EQ(0, pmd_pfns(self, mover, b, moved));
		for (i = 0, bad = 0; i < self->pages; i++)
			bad += moved[i] == before[i];
		EXPECT_EQ(0, bad) TH_LOG("%d pages kept their PFN", bad);
		if (variant->fork) {
			ASSERT_EQ(0, pmd_pfns(self, sharer, self->a, other));
			EXPECT_EQ(0, memcmp(moved, other,
					    self->pages * sizeof(*other)))
				TH_LOG("the sharer's mapping did not follow");
		}
		EXPECT_EQ(0, crew_do(self->crew, mover, CREW_VERIFY, 0, 0,
				     self->pages, 0));
	}
	/* Pageout of pages only the mover maps: swapped out, read back. */
	if (self->swap && !variant->fork) {
		struct pagemap_entry e;
		int try, left = 1;

		for (try = 0; try < 4 && left; try++) {
			ASSERT_EQ(0, crew_do(self->crew, mover, CREW_MADVISE, 0,
					     0, self->pages, MADV_PAGEOUT));
			for (left = 0, i = 0; i < self->pages; i++) {
				ASSERT_EQ(0, pagemap_get(crew_pid(self->crew, mover),
							 (unsigned long)b + i * psize(),
							 &e));
				left += !e.swapped;
			}
		}
		EXPECT_EQ(0, left) TH_LOG("%d pages not swapped out", left);
		EXPECT_EQ(0, crew_do(self->crew, mover, CREW_VERIFY, 0, 0,
				     self->pages, 0));
	}
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/* ---- mremap_misc: shrinking, mlocked and relocating moves --------------- */

/*
 * mremap variants that take other paths through move_vma() and
 * mremap_to(): a move that shrinks (the tail is unmapped), a
 * MREMAP_DONTUNMAP of part of an mlocked VMA (split first, the lock moves
 * with the pages), a growth that does not fit in place (the VMA moves;
 * mlocked, the new part is populated), and moves of a VMA that never
 * faulted (no anon_vma yet: its vm_pgoff is reset to the new address, so
 * it may merge with itself). The moved pages keep their PFNs and
 * contents, and walks from them (migration, pageout where the pages are
 * not mlocked) find them at their new address.
 */
#define MISC_PAGES	8

FIXTURE(mremap_misc) {
	char *area;		/* src at 0, a blocker, dst at 3 * MISC_PAGES */
	size_t len;
	int nodes[2];
	bool numa, swap;
	struct khealth health;
};

FIXTURE_SETUP(mremap_misc)
{
	const char *missing = page_oracles_missing();
	int i;

	report_environment_once();
	if (missing)
		SKIP(return, "%s", missing);
	self->numa = numa_usable_nodes(self->nodes, 2) >= 2;
	self->swap = swap_enabled();
	if (self->swap)
		ASSERT_EQ(0, pin_to_this_cpu());
	self->len = 5 * MISC_PAGES * psize();
	self->area = reserve_range(self->len);
	ASSERT_NE(NULL, self->area);
	ASSERT_EQ(self->area, mmap(self->area, MISC_PAGES * psize(),
				   PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	madvise(self->area, MISC_PAGES * psize(), MADV_NOHUGEPAGE);
	for (i = 0; i < MISC_PAGES; i++) {
		struct page_tag tag = { .owner = 8, .index = i };

		tag_fill(self->area + i * psize(), psize(), &tag);
	}
	ASSERT_EQ(0, khealth_begin(&self->health, "mremap_misc"));
}

FIXTURE_TEARDOWN(mremap_misc)
{
	if (self->area)
		munmap(self->area, self->len);
}

/* PFNs of @n pages at @p; 0 for a page not present. */
static void misc_pfns(const char *p, int n, __u64 *pfn)
{
	struct pagemap_entry e;
	int i;

	for (i = 0; i < n; i++)
		pfn[i] = pagemap_get(0, (unsigned long)p + i * psize(), &e) ?
			 0 : e.pfn;
}

/*
 * Pages [first, first + n) of the original region are at @at, as they
 * were (@pfn), intact; then walked: migrated (two nodes), paged out and
 * read back (swap, unless @locked).
 */
static void misc_check(struct __test_metadata *_metadata,
		       FIXTURE_DATA(mremap_misc) * self, char *at, int first,
		       int n, const __u64 *pfn, bool locked)
{
	int i, try, left = n, to[MISC_PAGES], node[MISC_PAGES];
	__u64 now[MISC_PAGES];
	struct pagemap_entry e;
	void *pages[MISC_PAGES];

	misc_pfns(at, n, now);
	for (i = 0; i < n; i++) {
		struct page_tag tag = { .owner = 8, .index = first + i };

		EXPECT_EQ(pfn[first + i], now[i]) TH_LOG("page %d", first + i);
		EXPECT_EQ(0, tag_verify(at + i * psize(), psize(), &tag, NULL))
			TH_LOG("page %d", first + i);
		pages[i] = at + i * psize();
	}
	if (self->numa) {
		EXPECT_LE(0, pages_move_away(0, pages, n, self->nodes, to));
		ASSERT_EQ(0, pages_node(0, pages, n, node));
		misc_pfns(at, n, now);
		for (i = 0; i < n; i++)
			EXPECT_TRUE(pfn[first + i] != now[i] && node[i] == to[i])
				TH_LOG("page %d not migrated", first + i);
	}
	if (self->swap && !locked) {
		for (try = 0; try < 4 && left; try++) {
			ASSERT_EQ(0, madvise(at, n * psize(), MADV_PAGEOUT));
			for (left = 0, i = 0; i < n; i++)
				left += !pagemap_get(0, (unsigned long)at +
						     i * psize(), &e) &&
					!e.swapped;
		}
		EXPECT_EQ(0, left) TH_LOG("%d pages not swapped out", left);
	}
	for (i = 0; i < n; i++) {
		struct page_tag tag = { .owner = 8, .index = first + i };

		EXPECT_EQ(0, tag_verify(at + i * psize(), psize(), &tag, NULL))
			TH_LOG("page %d after the walks", first + i);
	}
}

/*
 *   [ 0 1 2 3 4 5 6 7 ]  mremap(8 pages -> 4 pages, MREMAP_FIXED to dst)
 *   dst [ 0 1 2 3 ]      the source range is gone
 */
TEST_F_TIMEOUT(mremap_misc, shrink_while_moving, 60)
{
	char *dst = self->area + 3 * MISC_PAGES * psize(), report[2048];
	__u64 pfn[MISC_PAGES], gone[MISC_PAGES];
	int i;

	misc_pfns(self->area, MISC_PAGES, pfn);
	ASSERT_EQ(dst, mremap(self->area, MISC_PAGES * psize(),
			      MISC_PAGES / 2 * psize(),
			      MREMAP_MAYMOVE | MREMAP_FIXED, dst));
	misc_pfns(self->area, MISC_PAGES, gone);
	for (i = 0; i < MISC_PAGES; i++)
		EXPECT_EQ(0ULL, gone[i]) TH_LOG("page %d still at the source", i);
	misc_check(_metadata, self, dst, 0, MISC_PAGES / 2, pfn, false);
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 *   [ 0 1 | 2 3 4 5 | 6 7 ]  mlocked; MREMAP_DONTUNMAP of pages 2..5
 *   [ 0 1 | . . . . | 6 7 ]  the source stays mapped, empty
 *   dst [ 2 3 4 5 ]          mlocked, the same pages
 */
TEST_F_TIMEOUT(mremap_misc, dontunmap_part_of_mlocked, 60)
{
	char *dst = self->area + 3 * MISC_PAGES * psize(), report[2048];
	__u64 pfn[MISC_PAGES], left[MISC_PAGES];
	unsigned long kb;
	int i;

	if (mlock(self->area, MISC_PAGES * psize()))
		SKIP(return, "mlock: %s (RLIMIT_MEMLOCK)", strerror(errno));
	misc_pfns(self->area, MISC_PAGES, pfn);
	ASSERT_EQ(dst, mremap(self->area + 2 * psize(), 4 * psize(), 4 * psize(),
			      MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
			      dst));
	misc_pfns(self->area, MISC_PAGES, left);
	for (i = 0; i < MISC_PAGES; i++)
		EXPECT_EQ(i < 2 || i >= 6, left[i] == pfn[i]) TH_LOG("page %d", i);
	ASSERT_EQ(0, smaps_range_kb(0, (unsigned long)dst,
				    (unsigned long)dst + 4 * psize(),
				    offsetof(struct smaps_vma, locked), &kb));
	EXPECT_EQ(4 * psize() / 1024, kb) TH_LOG("Locked of the moved VMA");
	misc_check(_metadata, self, dst, 2, 4, pfn, true);
	munlock(self->area, self->len);
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 *   [ 0 1 2 3 ][ blocker ]   grow 4 -> 8 pages with MREMAP_MAYMOVE:
 *   [ 0 1 2 3 . . . . ] elsewhere, the same pages; mlocked (@locked),
 *   the new half is populated and the whole VMA counts as Locked
 */
static void grow_by_moving(struct __test_metadata *_metadata,
			   FIXTURE_DATA(mremap_misc) * self, bool locked)
{
	char *blocker = self->area + MISC_PAGES / 2 * psize(), report[2048];
	__u64 pfn[MISC_PAGES], grown[MISC_PAGES];
	unsigned long kb;
	char *moved;
	int i;

	if (locked && mlock(self->area, MISC_PAGES / 2 * psize()))
		SKIP(return, "mlock: %s (RLIMIT_MEMLOCK)", strerror(errno));
	misc_pfns(self->area, MISC_PAGES, pfn);
	/* Something else right after the first half: no room in place. */
	ASSERT_EQ(blocker, mmap(blocker, psize(), PROT_READ,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	moved = mremap(self->area, MISC_PAGES / 2 * psize(),
		       MISC_PAGES * psize(), MREMAP_MAYMOVE);
	ASSERT_NE(MAP_FAILED, moved) TH_LOG("mremap: %s", strerror(errno));
	EXPECT_NE(self->area, moved);
	if (locked) {
		ASSERT_EQ(0, smaps_range_kb(0, (unsigned long)moved,
					    (unsigned long)moved +
					    MISC_PAGES * psize(),
					    offsetof(struct smaps_vma, locked),
					    &kb));
		EXPECT_EQ(MISC_PAGES * psize() / 1024, kb)
			TH_LOG("Locked of the grown VMA");
		misc_pfns(moved, MISC_PAGES, grown);
		for (i = MISC_PAGES / 2; i < MISC_PAGES; i++)
			EXPECT_NE(0ULL, grown[i])
				TH_LOG("page %d of the grown part not populated", i);
	}
	misc_check(_metadata, self, moved, 0, MISC_PAGES / 2, pfn, locked);
	munlock(moved, MISC_PAGES * psize());
	munmap(moved, MISC_PAGES * psize());
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

TEST_F_TIMEOUT(mremap_misc, grow_by_moving, 60)
{
	grow_by_moving(_metadata, self, false);
}

TEST_F_TIMEOUT(mremap_misc, grow_mlocked_by_moving, 60)
{
	grow_by_moving(_metadata, self, true);
}

/*
 * A VMA of 1 GiB + 6 MiB with pages only near its two ends moves to
 * another window of the same alignment: move_page_tables() skips the PUD
 * entry that has no page table below it and the PMD entry that has none,
 * and moves the two page tables that have pages. The four pages keep
 * their PFNs and contents at the new address, the holes stay empty, and
 * the walks find the pages there.
 *
 *   X - 2 MiB      X                 X + 1 GiB          X + 1 GiB + 4 MiB
 *   [ . . 0 1 ][ no table: 1 GiB ][ 2 3 . . ][ no table ]
 */
#define SPARSE_GIB	(1024UL << 20)
#define SPARSE_HEAD	(2UL << 20)
#define SPARSE_LEN	(SPARSE_HEAD + SPARSE_GIB + (4UL << 20))

/* Page @i of the sparse VMA at @v: two before X, two from X + 1 GiB. */
static char *sparse_page(char *v, int i)
{
	static const long at[4] = { -2, -1, 0, 1 };

	return v + SPARSE_HEAD + (i < 2 ? 0 : SPARSE_GIB) + at[i] * (long)psize();
}

TEST_F_TIMEOUT(mremap_misc, sparse_move_skips_empty_tables, 60)
{
	size_t window = SPARSE_LEN + 2 * SPARSE_GIB;
	static const unsigned long holes[] = {
		0, SPARSE_HEAD + SPARSE_GIB / 2,
		SPARSE_HEAD + SPARSE_GIB + (2UL << 20),
	};
	char *res[2] = { NULL, NULL }, *v[2], report[2048];
	__u64 pfn[4], now;
	struct pagemap_entry e;
	unsigned int k;
	int i;

	for (i = 0; i < 2; i++) {
		res[i] = reserve_range(window);
		ASSERT_NE(NULL, res[i]);
		v[i] = (char *)((((unsigned long)res[i] + SPARSE_HEAD +
				  SPARSE_GIB - 1) & ~(SPARSE_GIB - 1)) -
				SPARSE_HEAD);
	}
	ASSERT_EQ(v[0], mmap(v[0], SPARSE_LEN, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED |
			     MAP_NORESERVE, -1, 0));
	madvise(v[0], SPARSE_LEN, MADV_NOHUGEPAGE);
	for (i = 0; i < 4; i++) {
		struct page_tag tag = { .owner = 8, .index = i };

		tag_fill(sparse_page(v[0], i), psize(), &tag);
		misc_pfns(sparse_page(v[0], i), 1, &pfn[i]);
		ASSERT_NE(0ULL, pfn[i]);
	}
	ASSERT_EQ(v[1], mremap(v[0], SPARSE_LEN, SPARSE_LEN,
			       MREMAP_MAYMOVE | MREMAP_FIXED, v[1]))
		TH_LOG("mremap: %s", strerror(errno));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, pagemap_get(0, (unsigned long)sparse_page(v[0], i),
					 &e));
		EXPECT_FALSE(e.present || e.swapped)
			TH_LOG("page %d still at the source", i);
		misc_pfns(sparse_page(v[1], i), 1, &now);
		EXPECT_EQ(pfn[i], now) TH_LOG("page %d", i);
	}
	for (k = 0; k < ARRAY_SIZE(holes); k++) {
		ASSERT_EQ(0, pagemap_get(0, (unsigned long)v[1] + holes[k], &e));
		EXPECT_FALSE(e.present || e.swapped)
			TH_LOG("a page in the hole at +%#lx", holes[k]);
	}
	misc_check(_metadata, self, sparse_page(v[1], 0), 0, 2, pfn, false);
	misc_check(_metadata, self, sparse_page(v[1], 2), 2, 2, pfn, false);
	for (i = 0; i < 2; i++)
		munmap(res[i], window);
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/* Total mapped size of this process (VmSize), in bytes; 0 on error. */
static unsigned long vm_size(void)
{
	unsigned long kb;
	char buf[4096], *line;

	if (read_text("/proc/self/status", buf, sizeof(buf)) < 0)
		return 0;
	line = strstr(buf, "VmSize:");
	return line && sscanf(line, "VmSize: %lu kB", &kb) == 1 ? kb * 1024 : 0;
}

/*
 * Moves mremap_to() rejects: a destination not page aligned, one beyond
 * the address space, one overlapping the source (EINVAL); a source range
 * running past its VMA (EFAULT); an old length of 0, which duplicates
 * only shared mappings (EINVAL); a MREMAP_DONTUNMAP that would take the
 * process over RLIMIT_AS (ENOMEM). After each the source keeps its pages
 * at their PFNs, and walks find them there.
 *
 *   src [ 0 1 2 3 4 5 6 7 ]|reserved ...   dst in the reservation
 */
TEST_F_TIMEOUT(mremap_misc, rejected_moves_keep_pages, 60)
{
	char *src = self->area, *dst = self->area + 3 * MISC_PAGES * psize();
	const int fixed = MREMAP_MAYMOVE | MREMAP_FIXED;
	const int keep = MREMAP_MAYMOVE | MREMAP_DONTUNMAP;
	size_t len = MISC_PAGES * psize();
	__u64 pfn[MISC_PAGES], now[MISC_PAGES];
	struct rlimit as, tight;
	char report[2048];
	void *ret;
	int i, err;

	misc_pfns(src, MISC_PAGES, pfn);
	EXPECT_EQ(MAP_FAILED, mremap(src, len, len, fixed, dst + 1));
	EXPECT_EQ(EINVAL, errno) TH_LOG("unaligned destination");
	EXPECT_EQ(MAP_FAILED, mremap(src, len, 1UL << 62, fixed, dst));
	EXPECT_EQ(EINVAL, errno) TH_LOG("beyond the address space");
	EXPECT_EQ(MAP_FAILED, mremap(src, len, len, fixed, src + 2 * psize()));
	EXPECT_EQ(EINVAL, errno) TH_LOG("overlapping the source");
	EXPECT_EQ(MAP_FAILED, mremap(src, len + psize(), len + psize(), keep,
				     dst));
	EXPECT_EQ(EFAULT, errno) TH_LOG("source past its VMA");
	/* Old length 0 duplicates a shared mapping; not a private one. */
	EXPECT_EQ(MAP_FAILED, mremap(src, 0, len, MREMAP_MAYMOVE));
	EXPECT_EQ(EINVAL, errno) TH_LOG("duplicating a private mapping");
	misc_pfns(src, MISC_PAGES, now);
	for (i = 0; i < MISC_PAGES; i++)
		EXPECT_EQ(pfn[i], now[i]) TH_LOG("page %d", i);

	ASSERT_EQ(0, getrlimit(RLIMIT_AS, &as));
	tight = as;
	tight.rlim_cur = vm_size();
	ASSERT_NE((rlim_t)0, tight.rlim_cur);
	ASSERT_EQ(0, setrlimit(RLIMIT_AS, &tight));
	ret = mremap(src, len, len, keep, dst);
	err = errno;
	ASSERT_EQ(0, setrlimit(RLIMIT_AS, &as));
	EXPECT_EQ(MAP_FAILED, ret);
	EXPECT_EQ(ENOMEM, err) TH_LOG("DONTUNMAP over RLIMIT_AS");
	if (ret != MAP_FAILED)
		munmap(ret, len);
	misc_check(_metadata, self, src, 0, MISC_PAGES, pfn, false);
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/* Fault pages [0, @n) at @p with the tags misc_check() expects. */
static void misc_fill(char *p, int n, __u64 *pfn)
{
	int i;

	for (i = 0; i < n; i++) {
		struct page_tag tag = { .owner = 8, .index = i };

		tag_fill(p + i * psize(), psize(), &tag);
	}
	misc_pfns(p, n, pfn);
}

/*
 * A never-faulted VMA moves its first page to just past its end: with
 * its vm_pgoff reset to the new address it may merge with itself (the
 * kernel's choice, logged), and either way the four pages behave as one
 * mapping once faulted.
 *
 *   [ . . . . ]           unfaulted, at u
 *   move page 0 to u + 4:  [ . . . | . ]  or merged: [ . . . . ] at u + 1
 */
TEST_F_TIMEOUT(mremap_misc, unfaulted_moved_past_its_end, 60)
{
	char *u = self->area + 3 * MISC_PAGES * psize(), report[2048];
	struct vma_extent v[4];
	__u64 pfn[MISC_PAGES];
	int n;

	ASSERT_EQ(u, mmap(u, 4 * psize(), PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	madvise(u, 4 * psize(), MADV_NOHUGEPAGE);
	ASSERT_EQ(u + 4 * psize(), mremap(u, psize(), psize(),
					  MREMAP_MAYMOVE | MREMAP_FIXED,
					  u + 4 * psize()));
	n = vma_layout(0, (unsigned long)u, (unsigned long)u + 5 * psize(),
		       v, 4);
	TH_LOG("policy: %d VMA(s) after the move (1: merged with itself)", n);
	EXPECT_TRUE(n == 1 || n == 2);
	EXPECT_EQ((unsigned long)u + psize(), v[0].start);
	EXPECT_EQ((unsigned long)u + 5 * psize(), v[n - 1].end);
	misc_fill(u + psize(), 4, pfn);
	misc_check(_metadata, self, u + psize(), 0, 4, pfn, false);
	munmap(u + psize(), 4 * psize());
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * MREMAP_DONTUNMAP of a never-faulted VMA to just past its end: the
 * source stays (6.12 keeps it apart from its copy, 6.18 merges the two:
 * policy, logged); both halves then fault pages of their own.
 *
 *   [ . . . . ]  at u      DONTUNMAP to u + 4:  [ . . . . ][ . . . . ]
 */
TEST_F_TIMEOUT(mremap_misc, unfaulted_dontunmap_past_its_end, 60)
{
	char *u = self->area + 3 * MISC_PAGES * psize(), report[2048];
	__u64 pfn[MISC_PAGES], other[MISC_PAGES];
	struct vma_extent v[4];
	int i, n;

	ASSERT_EQ(u, mmap(u, 4 * psize(), PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	madvise(u, 4 * psize(), MADV_NOHUGEPAGE);
	ASSERT_EQ(u + 4 * psize(), mremap(u, 4 * psize(), 4 * psize(),
					  MREMAP_MAYMOVE | MREMAP_FIXED |
					  MREMAP_DONTUNMAP, u + 4 * psize()));
	n = vma_layout(0, (unsigned long)u, (unsigned long)u + 8 * psize(),
		       v, 4);
	TH_LOG("policy: %d VMA(s) after the move", n);
	EXPECT_TRUE(n == 1 || n == 2);
	misc_fill(u, 4, other);
	misc_fill(u + 4 * psize(), 4, pfn);
	for (i = 0; i < 4; i++)
		EXPECT_NE(other[i], pfn[i]) TH_LOG("page %d in both", i);
	misc_check(_metadata, self, u + 4 * psize(), 0, 4, pfn, false);
	misc_check(_metadata, self, u, 0, 4, other, false);
	munmap(u, 8 * psize());
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * The same to just before its start: the copy ends where the source
 * begins (copy_vma() keeps the source from being the copy's next, as it
 * keeps it from being its prev above).
 *
 *   [ . . . . ]  at u + 4     DONTUNMAP to u:  [ . . . . ][ . . . . ]
 */
TEST_F_TIMEOUT(mremap_misc, unfaulted_dontunmap_before_its_start, 60)
{
	char *u = self->area + 3 * MISC_PAGES * psize(), report[2048];
	char *src = u + 4 * psize();
	__u64 pfn[MISC_PAGES], other[MISC_PAGES];
	struct vma_extent v[4];
	int i, n;

	ASSERT_EQ(src, mmap(src, 4 * psize(), PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	madvise(src, 4 * psize(), MADV_NOHUGEPAGE);
	ASSERT_EQ(u, mremap(src, 4 * psize(), 4 * psize(),
			    MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
			    u));
	n = vma_layout(0, (unsigned long)u, (unsigned long)u + 8 * psize(),
		       v, 4);
	TH_LOG("policy: %d VMA(s) after the move", n);
	EXPECT_TRUE(n == 1 || n == 2);
	EXPECT_EQ((unsigned long)u, v[0].start);
	EXPECT_EQ((unsigned long)u + 8 * psize(), v[n - 1].end);
	misc_fill(u, 4, pfn);
	misc_fill(src, 4, other);
	for (i = 0; i < 4; i++)
		EXPECT_NE(other[i], pfn[i]) TH_LOG("page %d in both", i);
	misc_check(_metadata, self, u, 0, 4, pfn, false);
	misc_check(_metadata, self, src, 0, 4, other, false);
	munmap(u, 8 * psize());
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

AVL_HARNESS_MAIN
