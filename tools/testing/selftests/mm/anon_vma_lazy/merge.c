// SPDX-License-Identifier: GPL-2.0
/*
 * merge: VMA merging of lazy, regular and inherited anonymous VMAs is what
 * it is on a kernel without ANON_VMA_LAZY, and pages stay reachable by
 * rmap after VMAs merged or refused to.
 *
 * Whether two anonymous VMAs merge depends on their anon_vmas: never two
 * different ones, and a VMA that has none may join one whose anon_vma
 * chain is singular (not forked). The series replaces the anon_vma of a
 * lazy VMA by a tagged pointer to a root VMA and gives a child a borrowed
 * parent pointer, so every one of these decisions is in question. Layouts
 * that do not depend on the kernel version are asserted exactly; the one
 * that changed between versions (a faulted VMA next to an unfaulted one
 * made compatible by mprotect) is calibrated: a lazy VMA must merge exactly
 * as a regular one (upgraded by a fork whose child exited) does on the same
 * kernel.
 *
 * Every test places its VMAs at fixed offsets inside a reserved PROT_NONE
 * range, checks the layout, the contents and the map count of every page,
 * and then (variants) migrates every page to the other NUMA node or pages
 * them out, and checks that every page was found and is intact.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "../../kselftest_harness.h"
#include "harness_main.h"
#include "env.h"
#include "khealth.h"
#include "oracles.h"

#define AREA_PAGES	16
#define WAIT_MS		30000

enum walk_kind { NO_WALK, MIGRATE_WALK, PAGEOUT_WALK };

FIXTURE(merge) {
	char *area;		/* AREA_PAGES reserved, PROT_NONE */
	int nodes[2];
	struct khealth health;
};

FIXTURE_VARIANT(merge) {
	enum walk_kind walk;
};

FIXTURE_VARIANT_ADD(merge, no_walk) {
	.walk = NO_WALK,
};

FIXTURE_VARIANT_ADD(merge, migrate) {
	.walk = MIGRATE_WALK,
};

FIXTURE_VARIANT_ADD(merge, pageout) {
	.walk = PAGEOUT_WALK,
};

FIXTURE_SETUP(merge)
{
	const char *missing = page_oracles_missing();

	report_environment_once();
	if (missing)
		SKIP(return, "%s", missing);
	if (variant->walk == MIGRATE_WALK &&
	    numa_usable_nodes(self->nodes, 2) < 2)
		SKIP(return, "needs 2 NUMA nodes with memory for migration");
	if (variant->walk == PAGEOUT_WALK && !swap_enabled())
		SKIP(return, "needs swap for MADV_PAGEOUT");
	if (variant->walk == PAGEOUT_WALK)
		ASSERT_EQ(0, pin_to_this_cpu());
	self->area = reserve_range(AREA_PAGES * psize());
	ASSERT_NE(NULL, self->area);
	ASSERT_EQ(0, khealth_begin(&self->health, "merge"));
}

FIXTURE_TEARDOWN(merge)
{
	if (self->area)
		munmap(self->area, AREA_PAGES * psize());
}

static char *page_at(char *area, int i)
{
	return area + i * psize();
}

/* Map pages [first, last) of @area anonymous and private, with @prot. */
static int map_at(char *area, int first, int last, int prot)
{
	char *p = page_at(area, first);

	if (mmap(p, (last - first) * psize(), prot,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != p)
		return -errno;
	/* Base pages only: map counts are then exact per page. */
	madvise(p, (last - first) * psize(), MADV_NOHUGEPAGE);
	return 0;
}

static struct page_tag merge_tag(int i)
{
	struct page_tag tag = { .owner = 5, .index = i };

	return tag;
}

static void fault_tagged(char *area, int first, int last)
{
	int i;

	for (i = first; i < last; i++) {
		struct page_tag tag = merge_tag(i);

		tag_fill(page_at(area, i), psize(), &tag);
	}
}

/*
 * The VMAs between pages 0 and AREA_PAGES that are not the PROT_NONE
 * reservation, as page offsets: "[0,4) [4,8)".
 */
static int layout(char *area, char *buf, size_t len)
{
	struct vma_extent v[AREA_PAGES + 2];
	unsigned long lo = (unsigned long)area;
	int n, k, count = 0;
	size_t used = 0;

	n = vma_layout(0, lo, lo + AREA_PAGES * psize(), v, ARRAY_SIZE(v));
	buf[0] = '\0';
	for (k = 0; k < n && k < (int)ARRAY_SIZE(v); k++) {
		if (!strcmp(v[k].perms, "---p"))
			continue;
		used += snprintf(buf + used, len - used, "%s[%lu,%lu)",
				 count ? " " : "", (v[k].start - lo) / psize(),
				 (v[k].end - lo) / psize());
		count++;
	}
	return n < 0 ? n : count;
}

/* Contents of pages [first, last), each mapped @mappers times. */
static int check_pages(char *area, int first, int last, int mappers)
{
	struct pagemap_entry e;
	bool want_exclusive = mappers == 1;
	int i, bad = 0;
	__u64 count;

	for (i = first; i < last; i++) {
		struct page_tag tag = merge_tag(i);
		char *p = page_at(area, i);

		if (tag_verify(p, psize(), &tag, NULL) ||
		    pagemap_get(0, (unsigned long)p, &e) || !e.present ||
		    !e.pfn || e.file || e.exclusive != want_exclusive ||
		    kpagecount_get(e.pfn, &count) || count != (__u64)mappers) {
			fprintf(stderr, "# page %d: present %d exclusive %d, want %d mapper(s)\n",
				i, e.present, e.exclusive, mappers);
			bad++;
		}
	}
	return bad;
}

/*
 * The rmap walk of the variant over pages [first, last), which this
 * process maps alone: migrated pages must have moved (new PFN, right
 * node), paged-out pages must be swapped; then every page must read back.
 */
static int walk_pages(FIXTURE_DATA(merge) * self, enum walk_kind walk,
		      int first, int last)
{
	struct pagemap_entry e;
	int i, status, to, bad = 0;
	__u64 before;

	for (i = first; i < last && walk == MIGRATE_WALK; i++) {
		void *p = page_at(self->area, i);

		if (pagemap_get(0, (unsigned long)p, &e) ||
		    pages_node(0, &p, 1, &status))
			return -1;
		before = e.pfn;
		to = status == self->nodes[0] ? self->nodes[1] : self->nodes[0];
		if (pages_move(0, &p, 1, to, &status) || status != to ||
		    pagemap_get(0, (unsigned long)p, &e) || e.pfn == before) {
			fprintf(stderr, "# page %d: not migrated to node %d (%d)\n",
				i, to, status);
			bad++;
		}
	}
	if (walk == PAGEOUT_WALK) {
		if (madvise(page_at(self->area, first),
			    (last - first) * psize(), MADV_PAGEOUT))
			return -1;
		for (i = first; i < last; i++) {
			if (pagemap_get(0, (unsigned long)page_at(self->area, i),
					&e) || !e.swapped) {
				fprintf(stderr, "# page %d: not swapped out\n", i);
				bad++;
			}
		}
	}
	return bad + check_pages(self->area, first, last, 1);
}

/*
 * Two VMAs faulted separately (so with different anon_vmas, or lazy with
 * different roots), the second moved next to the first, then made
 * compatible by mprotect: a kernel never merges VMAs of two anon_vmas.
 *
 *   [ A: 0-3 faulted ][ B: 4-7 faulted, mremap'ed here ]   two VMAs, always
 */
TEST_F(merge, separately_faulted_neighbours_stay_apart)
{
	char got[128], report[2048];
	char *elsewhere;
	int i;

	ASSERT_EQ(0, map_at(self->area, 0, 4, PROT_READ | PROT_WRITE));
	fault_tagged(self->area, 0, 4);
	elsewhere = mmap(NULL, 4 * psize(), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, elsewhere);
	madvise(elsewhere, 4 * psize(), MADV_NOHUGEPAGE);
	/* Tagged for their final place: page i of the area. */
	for (i = 0; i < 4; i++) {
		struct page_tag tag = merge_tag(4 + i);

		tag_fill(elsewhere + i * psize(), psize(), &tag);
	}
	ASSERT_EQ(page_at(self->area, 4),
		  mremap(elsewhere, 4 * psize(), 4 * psize(),
			 MREMAP_MAYMOVE | MREMAP_FIXED, page_at(self->area, 4)));
	EXPECT_EQ(2, layout(self->area, got, sizeof(got))) TH_LOG("%s", got);

	ASSERT_EQ(0, mprotect(self->area, 8 * psize(), PROT_READ));
	ASSERT_EQ(0, mprotect(self->area, 8 * psize(),
			      PROT_READ | PROT_WRITE));
	EXPECT_EQ(2, layout(self->area, got, sizeof(got))) TH_LOG("%s", got);
	EXPECT_STREQ("[0,4) [4,8)", got);
	EXPECT_EQ(0, check_pages(self->area, 0, 8, 1));
	EXPECT_EQ(0, walk_pages(self, variant->walk, 0, 8));
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * A faulted VMA and an unfaulted neighbour (mapped read-only, then made
 * read-write): the result of a regular VMA is this kernel's policy, and a
 * lazy one must give the same.
 *
 *   left:  [ faulted 0-3 ][ unfaulted 4-7 ]
 *   right: [ unfaulted 0-3 ][ faulted 4-7 ]
 */
static void faulted_next_to_unfaulted(struct __test_metadata *_metadata,
				      FIXTURE_DATA(merge) * self,
				      enum walk_kind walk, bool faulted_left,
				      bool regular, char *result, size_t len)
{
	int f0 = faulted_left ? 0 : 4, u0 = faulted_left ? 4 : 0, status;
	pid_t pid;

	munmap(self->area, 8 * psize());
	ASSERT_EQ(0, map_at(self->area, f0, f0 + 4, PROT_READ | PROT_WRITE));
	fault_tagged(self->area, f0, f0 + 4);
	if (regular) {
		/* A fork gives the VMA a real anon_vma, even under the series. */
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0)
			_exit(0);
		ASSERT_EQ(0, reap_with_deadline(pid, WAIT_MS, &status));
	}
	ASSERT_EQ(0, map_at(self->area, u0, u0 + 4, PROT_READ));
	ASSERT_EQ(0, mprotect(page_at(self->area, u0), 4 * psize(),
			      PROT_READ | PROT_WRITE));
	/* Fault the neighbour too: its pages go wherever it merged to. */
	fault_tagged(self->area, u0, u0 + 4);
	ASSERT_LT(0, layout(self->area, result, len));
	EXPECT_EQ(0, check_pages(self->area, 0, 8, 1));
	EXPECT_EQ(0, walk_pages(self, walk, 0, 8));
	ASSERT_EQ(0, munmap(self->area, 8 * psize()));
	ASSERT_EQ(self->area, mmap(self->area, 8 * psize(), PROT_NONE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED |
				   MAP_NORESERVE, -1, 0));
}

/* The layout of a fresh VMA must be the layout of a regular one. */
static void same_as_regular(struct __test_metadata *_metadata,
			    FIXTURE_DATA(merge) * self, enum walk_kind walk,
			    bool faulted_left)
{
	char control[128], lazy[128], report[2048];

	faulted_next_to_unfaulted(_metadata, self, NO_WALK, faulted_left, true,
				  control, sizeof(control));
	faulted_next_to_unfaulted(_metadata, self, walk, faulted_left, false,
				  lazy, sizeof(lazy));
	TH_LOG("regular VMA: %s, fresh VMA: %s", control, lazy);
	EXPECT_STREQ(control, lazy);
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

TEST_F(merge, faulted_left_of_unfaulted_as_regular)
{
	same_as_regular(_metadata, self, variant->walk, true);
}

TEST_F(merge, faulted_right_of_unfaulted_as_regular)
{
	same_as_regular(_metadata, self, variant->walk, false);
}

/*
 * In a child, a VMA it inherited (faulted in the parent) and a VMA it maps
 * and faults next to it, made compatible by mprotect. Whether the two
 * merge is policy: no kernel merges them today (the inherited VMA carries
 * its parent's anon_vma hierarchy, the new one an anon_vma of its own),
 * but work on forked VMAs' merge context may. Either layout must keep
 * every page where it was, mapped as often as before, and reachable by
 * the walk; the layout is reported, not judged.
 *
 *   parent: [ A 0-3 faulted ]
 *   child:  [ A 0-3 inherited ][ B 4-7 new, faulted ]  two VMAs, or one
 */
TEST_F(merge, inherited_and_new_in_child_stay_apart)
{
	char got[128], report[2048];
	char *child_layout;
	int status;
	pid_t pid;

	child_layout = shared_area(sizeof(got));
	ASSERT_NE(NULL, child_layout);
	ASSERT_EQ(0, map_at(self->area, 0, 4, PROT_READ | PROT_WRITE));
	fault_tagged(self->area, 0, 4);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int bad = 0;

		if (map_at(self->area, 4, 8, PROT_READ | PROT_WRITE))
			_exit(10);
		fault_tagged(self->area, 4, 8);
		/* Made compatible once more. */
		if (mprotect(self->area, 8 * psize(), PROT_READ) ||
		    mprotect(self->area, 8 * psize(),
			     PROT_READ | PROT_WRITE))
			_exit(11);
		if (layout(self->area, got, sizeof(got)) < 0)
			_exit(13);
		snprintf(child_layout, sizeof(got), "%s", got);
		bad += check_pages(self->area, 0, 4, 2);
		bad += check_pages(self->area, 4, 8, 1);
		bad += walk_pages(self, variant->walk, 4, 8);
		_exit(bad ? 12 : 0);
	}
	ASSERT_EQ(0, reap_with_deadline(pid, WAIT_MS, &status));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("child failed: status %#x", status);
	/* Policy: either layout is correct; which one, is reported. */
	EXPECT_TRUE(!strcmp(child_layout, "[0,4) [4,8)") ||
		    !strcmp(child_layout, "[0,8)"))
		TH_LOG("child's VMAs: %s", child_layout);
	TH_LOG("policy: in the child the inherited and the new VMA %s (%s)",
	       strcmp(child_layout, "[0,8)") ? "stayed apart" : "merged",
	       child_layout);
	EXPECT_EQ(1, layout(self->area, got, sizeof(got))) TH_LOG("%s", got);
	EXPECT_EQ(0, check_pages(self->area, 0, 4, 1));
	EXPECT_EQ(0, walk_pages(self, variant->walk, 0, 4));
	munmap(child_layout, sizeof(got));
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * A VMA faulted next to a faulted neighbour that it could have merged with
 * but for its access flags adopts the neighbour's anon_vma at its first
 * fault (find_mergeable_anon_vma(), reusable_anon_vma(): the neighbour's
 * anon_vma has a single chain). Made compatible afterwards, the two then
 * merge: they share one anon_vma. Whether the fault adopts it is policy
 * (ANON_VMA_LAZY changes the rules for VMAs that have no anon_vma yet), so
 * the layout is reported; what must hold either way: every page intact,
 * shared with the child exactly where it did not COW, and reachable by
 * the walk from the merged or unmerged VMAs once the child is gone.
 *
 *   [ A 0-3 rw ][ B 4-7 rwx ]   mapped, neither faulted: two VMAs (flags)
 *   fault A, then B             B adopts A's anon_vma, or gets its own
 *   fork; the child COW-writes pages 0 and 4, then B goes back to rw in
 *   the parent                  [ 0-7 rw ] when B adopted A's, else two
 */
TEST_F(merge, neighbour_anon_vma_adopted_at_first_fault)
{
	char got[128], report[2048];
	int status;
	pid_t pid;

	ASSERT_EQ(0, map_at(self->area, 0, 4, PROT_READ | PROT_WRITE));
	ASSERT_EQ(0, map_at(self->area, 4, 8,
			    PROT_READ | PROT_WRITE | PROT_EXEC));
	EXPECT_EQ(2, layout(self->area, got, sizeof(got))) TH_LOG("%s", got);
	fault_tagged(self->area, 0, 4);
	fault_tagged(self->area, 4, 8);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int bad = check_pages(self->area, 1, 4, 2) +
			  check_pages(self->area, 5, 8, 2);

		/* COW of one page on each side. */
		fault_tagged(self->area, 0, 1);
		fault_tagged(self->area, 4, 5);
		bad += check_pages(self->area, 0, 1, 1) +
		       check_pages(self->area, 4, 5, 1);
		_exit(bad ? 1 : 0);
	}
	ASSERT_EQ(0, reap_with_deadline(pid, WAIT_MS, &status));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("child: status %#x", status);
	ASSERT_EQ(0, mprotect(page_at(self->area, 4), 4 * psize(),
			      PROT_READ | PROT_WRITE));
	ASSERT_LT(0, layout(self->area, got, sizeof(got)));
	/* Policy: either layout is correct; which one, is reported. */
	EXPECT_TRUE(!strcmp(got, "[0,8)") || !strcmp(got, "[0,4) [4,8)"))
		TH_LOG("VMAs: %s", got);
	TH_LOG("policy: the second VMA %s its neighbour's anon_vma (%s)",
	       strcmp(got, "[0,8)") ? "did not adopt" : "adopted", got);
	EXPECT_EQ(0, check_pages(self->area, 0, 8, 1));
	EXPECT_EQ(0, walk_pages(self, variant->walk, 0, 8));
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * A boundary between two VMAs moves so that an unfaulted VMA takes over
 * faulted pages of its neighbour: mprotect of the neighbour's first (or
 * last) pages to the unfaulted VMA's flags makes the unfaulted VMA grow
 * over them and the faulted one shrink (vma_merge_existing_range(), the
 * old vma_adjust() importer/exporter case). The grown VMA must take the
 * neighbour's anon_vma along with its pages (dup_anon_vma()), and the
 * anon_vma's counts must come out right when both go away: the 2015 fix
 * b800c91a0517 ("mm: fix corner case in anon_vma endless growing
 * prevention") was for a clone that took the reuse path here and a degree
 * that underflowed at exit (BUG_ON in unlink_anon_vmas()).
 *
 * Whether the unfaulted VMA takes the pages over is policy: 6.12 refuses
 * (is_mergeable_anon_vma() wants the VMA without an anon_vma to have a
 * single anon_vma_chain entry, and it has none), so the pages stay in a
 * VMA of their own; 6.18 merges. The layout is reported; on either the
 * pages must stay intact, mapped once, reachable by the walk, COW-shared
 * with a grandchild and their anon_vma's counts right at the exits.
 *
 * Built in a child, which walks, forks a grandchild that COW-writes one
 * taken-over page and exits, and exits itself; the kernel log is checked
 * after both exits (6.12 warns there with DEBUG_VM).
 *
 *   left:  [ A 0-3 rw, unfaulted ][ B 4-7 rwx, faulted ]
 *          mprotect 4-5 rw:  [ A 0-5 ][ B 6-7 ]   pages 4-5 now in A
 *                        or  [ A 0-3 ][ 4-5 ][ B 6-7 ]
 *   right: [ B 0-3 rwx, faulted ][ A 4-7 rw, unfaulted ]
 *          mprotect 2-3 rw:  [ B 0-1 ][ A 2-7 ]   pages 2-3 now in A
 *                        or  [ B 0-1 ][ 2-3 ][ A 4-7 ]
 */
static void boundary_moves_into_unfaulted(struct __test_metadata *_metadata,
					  FIXTURE_DATA(merge) * self,
					  enum walk_kind walk, bool grow_right)
{
	int a0 = grow_right ? 0 : 4, b0 = grow_right ? 4 : 0;
	int moved0 = grow_right ? 4 : 2, status;
	const char *merged = grow_right ? "[0,6) [6,8)" : "[0,2) [2,8)";
	const char *apart = grow_right ? "[0,4) [4,6) [6,8)" :
					 "[0,2) [2,4) [4,8)";
	char *got, report[2048];
	pid_t pid;

	got = shared_area(128);
	ASSERT_NE(NULL, got);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int bad = 0;
		pid_t grandchild;

		if (map_at(self->area, a0, a0 + 4, PROT_READ | PROT_WRITE) ||
		    map_at(self->area, b0, b0 + 4,
			   PROT_READ | PROT_WRITE | PROT_EXEC))
			_exit(10);
		fault_tagged(self->area, b0, b0 + 4);
		if (mprotect(page_at(self->area, moved0), 2 * psize(),
			     PROT_READ | PROT_WRITE) ||
		    layout(self->area, got, 128) < 0)
			_exit(11);
		/* A's own pages fault now, in the VMA that took B's anon_vma. */
		fault_tagged(self->area, a0, a0 + 4);
		bad += check_pages(self->area, 0, 8, 1);
		bad += walk_pages(self, walk, 0, 8);
		grandchild = fork();
		if (grandchild < 0)
			_exit(12);
		if (grandchild == 0) {
			fault_tagged(self->area, moved0, moved0 + 1);
			_exit(check_pages(self->area, moved0, moved0 + 1, 1) +
			      check_pages(self->area, moved0 + 1, moved0 + 2, 2) ?
			      1 : 0);
		}
		if (reap_with_deadline(grandchild, WAIT_MS, &status) ||
		    !WIFEXITED(status) || WEXITSTATUS(status))
			bad++;
		bad += check_pages(self->area, 0, 8, 1);
		bad += walk_pages(self, walk, 0, 8);
		_exit(bad ? 13 : 0);
	}
	ASSERT_EQ(0, reap_with_deadline(pid, WAIT_MS, &status));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("child failed: status %#x", status);
	/* Policy: either layout is correct; which one, is reported. */
	EXPECT_TRUE(!strcmp(got, merged) || !strcmp(got, apart))
		TH_LOG("VMAs: %s", got);
	TH_LOG("policy: the unfaulted VMA %s its neighbour's pages (%s)",
	       strcmp(got, merged) ? "did not take over" : "took over", got);
	munmap(got, 128);
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

TEST_F(merge, boundary_moves_into_unfaulted_left)
{
	boundary_moves_into_unfaulted(_metadata, self, variant->walk, true);
}

TEST_F(merge, boundary_moves_into_unfaulted_right)
{
	boundary_moves_into_unfaulted(_metadata, self, variant->walk, false);
}

AVL_HARNESS_MAIN
