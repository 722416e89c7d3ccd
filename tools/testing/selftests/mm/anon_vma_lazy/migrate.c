// SPDX-License-Identifier: GPL-2.0
/*
 * migrate: page migration finds every mapping of anonymous pages of lazy,
 * upgraded and inherited (PARENT-typed) VMAs, base pages and THPs, and
 * survives the mappings changing under it.
 *
 * Migration unmaps a folio through rmap, copies it and maps the copy back
 * through rmap: a mapping the walk misses keeps the old PFN (freed memory
 * then) or is left as a migration entry. Under ANON_VMA_LAZY a lazy folio's
 * mapping is a root VMA, found again from vm_start - vm_pgoff, and the
 * walk must stay safe while that VMA is split, unmapped or its process
 * exits.
 *
 * The fork_chain and split tests already migrate every page of every member
 * of their scenarios (chains, trees, from the root, a middle process and a
 * leaf, after splits and merges, after the parent of a PARENT-typed VMA
 * exited) and ksm migrates KSM pages. This binary covers what those do not:
 *
 *   migrate        move_pages with and without MPOL_MF_MOVE_ALL and mbind
 *                  of a whole and of part of a lazy VMA; shared pages of a
 *                  fork, also after the parent exited; COWed pages of a
 *                  MAP_PRIVATE file mapping.
 *   migrate_race   a process migrating another's pages in a loop while that
 *                  one munmaps, splits by mprotect, forks or lets sharers
 *                  exit; every process ends within its deadline, none
 *                  stuck in D state, contents intact, kernel log clean.
 *
 * After every migration the nodes are queried again (move_pages status is
 * not trusted), every mapper must see the new PFN in its pagemap, contents,
 * the exclusive bit and kpagecount are as before. A page that stays where
 * it was is a FAIL; fewer than two memory nodes is a SKIP.
 *
 *   migrate_thp    the first THP tests: a PMD-mapped THP, one PTE-mapped
 *                  by a partial mprotect, one shared with a child that
 *                  COWed a subpage, MADV_COLLAPSE in a lazy and in an
 *                  inherited VMA (migrate_thp.c has the others, with the
 *                  same fixture, migrate_thp_fixture.h).
 *
 * Large folios smaller than a PMD and the other THP cases are the
 * migrate_thp binary's (migrate_thp.c). The processes of
 * migrate are a crew (crew.h, migrate_world.h) on one region at the same
 * address in each: P0 maps it, forks P1 and so on, and the test drives
 * them with crew commands, e.g.
 *
 *   P0: mmap, fill          [ A A A A ... A ]  32 pages, PFNs p0..p31
 *   P0: fork P1             P1 maps the same 32 pages (bit 56 clear)
 *   P1: fill 0-8            [ B B ... B A A ... A ]  P1's own copies
 *
 * The racers of migrate_race are plain processes: they run at the same
 * time, a crew's members answer one command at a time.
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
#include <sys/wait.h>
#include <linux/mempolicy.h>
#include <linux/userfaultfd.h>

#include "../../kselftest_harness.h"
#include "harness_main.h"
#include "migrate_checks.h"
#include "migrate_thp_fixture.h"

#define PAGES		32

/* ---- migrate: base pages ------------------------------------------------ */

FIXTURE(migrate) {
	struct mig_world w;
	int nodes[2];
	struct khealth health;
};

FIXTURE_SETUP(migrate)
{
	world_init(_metadata, &self->w, self->nodes, &self->health, PAGES,
		   psize());
}

FIXTURE_TEARDOWN(migrate)
{
	world_destroy(&self->w);
}

/*
 * A never-forked (lazy) region: move_pages without MOVE_ALL moves all its
 * pages (they are exclusive), and back with MOVE_ALL.
 */
TEST_F_TIMEOUT(migrate, lazy_pages_move_pages, 60)
{
	static struct pagemap_entry before[PAGES];
	static int from[PAGES], to[PAGES];
	struct mig_world *w = &self->w;
	int k;

	ASSERT_EQ(0, map_region(w, 0, SMALL_PAGES));
	for (k = 0; k < 2; k++) {
		ASSERT_EQ(0, read_entries(crew_pid(w->crew, 0), w->addr, PAGES, before));
		ASSERT_EQ(0, move_each(crew_pid(w->crew, 0), w->addr, 0, PAGES,
				       self->nodes,
				       k ? MPOL_MF_MOVE_ALL : MPOL_MF_MOVE,
				       from, to)) TH_LOG("move_pages: %m");
		check_moved(_metadata, w, 0, 0, PAGES, to, before, 0);
	}
	check_log(_metadata, &self->health);
}

/*
 * mbind(MPOL_MF_MOVE) of a whole lazy region, then of its middle: the
 * second one splits the VMA in three (the policies differ), and the pages
 * of the middle piece migrate out of a VMA that is now a split piece.
 *
 *   mbind all to node b:     [ b b b b b b b b ... ]  one VMA
 *   mbind 8..23 to node a:   [ b ... b | a ... a | b ... b ]  three VMAs
 */
TEST_F_TIMEOUT(migrate, lazy_pages_mbind_whole_then_part, 60)
{
	struct mig_world *w = &self->w;
	unsigned long lo = (unsigned long)w->addr;
	struct vma_extent v[4];
	int node, to;

	ASSERT_EQ(0, map_region(w, 0, SMALL_PAGES));
	node = node_of(crew_pid(w->crew, 0), w->addr, 0);
	ASSERT_LE(0, node);
	to = other_node(self->nodes, node);

	ASSERT_EQ(0, cmd(w, 0, CREW_MBIND, 0, PAGES, to)) TH_LOG("mbind");
	EXPECT_EQ(0, count_off_node(_metadata, crew_pid(w->crew, 0), w->addr, 0,
				    PAGES, to));
	EXPECT_EQ(0, verify(w, 0));

	ASSERT_EQ(0, cmd(w, 0, CREW_MBIND, PAGES / 4, 3 * PAGES / 4, node))
		TH_LOG("mbind");
	EXPECT_EQ(3, vma_layout(crew_pid(w->crew, 0), lo, lo + PAGES * psize(),
				v, 4));
	EXPECT_EQ(0, count_off_node(_metadata, crew_pid(w->crew, 0), w->addr,
				    PAGES / 4, 3 * PAGES / 4, node));
	EXPECT_EQ(0, count_off_node(_metadata, crew_pid(w->crew, 0), w->addr, 0,
				    PAGES / 4, to));
	EXPECT_EQ(0, verify(w, 0));
	check_log(_metadata, &self->health);
}

/*
 * After fork (the parent's VMA upgraded, the child's inherited) and a COW
 * write of the first quarter in the child: move_pages without MOVE_ALL
 * moves only the pages a process maps alone; with MOVE_ALL the shared ones
 * move too and both processes see them at the new place. Then the parent
 * exits and the child's pages, in a VMA whose parent is gone, move again.
 *
 *   P0 [ A A ... A | A A ... A ]    pages 0..7 and 8..31
 *   P1 [ 1 1 ... 1 | A A ... A ]    P1 wrote 0..7: its own copies
 *   P0 MPOL_MF_MOVE: only P0's 0..7 move; P1 MOVE_ALL 8..31: the shared
 *   ones move for both; P0 exits; P1's 0..31 move again, all its own
 */
TEST_F_TIMEOUT(migrate, shared_pages_then_parent_exit, 60)
{
	static struct pagemap_entry before[PAGES], now[PAGES];
	static int from[PAGES], to[PAGES];
	struct mig_world *w = &self->w;
	int i;

	ASSERT_EQ(0, map_region(w, 0, SMALL_PAGES));
	ASSERT_EQ(0, cmd(w, 0, CREW_FORK, 0, 0, 1));
	ASSERT_EQ(0, cow_write(w, 1, 0, PAGES / 4));

	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 0), w->addr, PAGES, before));
	EXPECT_LE(0, move_each(crew_pid(w->crew, 0), w->addr, 0, PAGES,
			       self->nodes, MPOL_MF_MOVE, from, to));
	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 0), w->addr, PAGES, now));
	for (i = 0; i < PAGES; i++) {
		bool shared = i >= PAGES / 4;

		EXPECT_EQ(!shared, now[i].exclusive) TH_LOG("page %d", i);
		EXPECT_EQ(shared ? from[i] : to[i],
			  node_of(crew_pid(w->crew, 0), w->addr, i))
			TH_LOG("page %d (shared %d) after MPOL_MF_MOVE", i,
			       shared);
	}

	/* MOVE_ALL from the child: its own pages and the shared ones. */
	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 1), w->addr, PAGES, before));
	ASSERT_EQ(0, move_each(crew_pid(w->crew, 1), w->addr, PAGES / 4, PAGES,
			       self->nodes, MPOL_MF_MOVE_ALL, from, to));
	check_moved(_metadata, w, 1, PAGES / 4, PAGES, to, before, 1);

	ASSERT_EQ(0, crew_exit(w->crew, 0));
	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 1), w->addr, PAGES, before));
	for (i = 0; i < PAGES; i++)
		EXPECT_TRUE(before[i].exclusive) TH_LOG("page %d", i);
	ASSERT_EQ(0, move_each(crew_pid(w->crew, 1), w->addr, 0, PAGES,
			       self->nodes, MPOL_MF_MOVE, from, to));
	check_moved(_metadata, w, 1, 0, PAGES, to, before, 0);
	check_log(_metadata, &self->health);
}

/*
 * MAP_PRIVATE of a file (shmem, via memfd): the written pages are
 * anonymous COW copies inside a file VMA (bit 61 clear), the others page
 * cache (bit 61 set). The region is split by mprotect, forked, and the
 * child COWs part of the copies again; migrating the parent's copies
 * must move the child's shared ones with them.
 *
 *   P0 [ c c c c c c c c | f f f f f f f f | f f f f | f f f f ]
 *        0..15 COW copies   16..23 page cache        24..31 read-only
 *   P1 [ 1 1 1 1 c c c c | f ... ]   P1 copied 0..7 again
 *   P0 MOVE_ALL 0..15: its own 0..7 move, the shared 8..15 move for both
 */
TEST_F_TIMEOUT(migrate, file_private_cow_pages, 60)
{
	static struct pagemap_entry before[PAGES], now[PAGES];
	static int from[PAGES], to[PAGES];
	struct mig_world *w = &self->w;
	int i;

	ASSERT_EQ(0, map_region(w, 0, PRIVATE_FILE));
	ASSERT_EQ(0, cow_write(w, 0, 0, PAGES / 2));
	ASSERT_EQ(0, cmd(w, 0, CREW_MPROTECT, 3 * PAGES / 4, PAGES, PROT_READ));
	ASSERT_EQ(0, cmd(w, 0, CREW_FORK, 0, 0, 1));
	ASSERT_EQ(0, cow_write(w, 1, 0, PAGES / 4));

	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 0), w->addr, PAGES, before));
	for (i = 0; i < PAGES; i++)
		EXPECT_EQ(i >= PAGES / 2, before[i].file) TH_LOG("page %d", i);

	/* Parent: its own copies [0, 1/4) and the shared ones [1/4, 1/2). */
	ASSERT_EQ(0, move_each(crew_pid(w->crew, 0), w->addr, 0, PAGES / 2,
			       self->nodes, MPOL_MF_MOVE_ALL, from, to));
	check_moved(_metadata, w, 0, 0, PAGES / 4, to, before, 0);
	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 0), w->addr, PAGES, now));
	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 1), w->addr, PAGES, before));
	for (i = PAGES / 4; i < PAGES / 2; i++)
		EXPECT_EQ(now[i].pfn, before[i].pfn) TH_LOG("page %d", i);
	EXPECT_EQ(0, count_off_nodes(_metadata, crew_pid(w->crew, 1), w->addr,
				     PAGES / 4, PAGES / 2, to));
	for (i = 0; i < PAGES; i++)
		EXPECT_EQ(i >= PAGES / 2, before[i].file) TH_LOG("page %d", i);

	/* The parent exits; the child's copies move on their own. */
	ASSERT_EQ(0, crew_exit(w->crew, 0));
	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 1), w->addr, PAGES, before));
	ASSERT_EQ(0, move_each(crew_pid(w->crew, 1), w->addr, 0, PAGES / 2,
			       self->nodes, MPOL_MF_MOVE, from, to));
	check_moved(_metadata, w, 1, 0, PAGES / 2, to, before, 0);
	check_log(_metadata, &self->health);
}

/*
 * The COWed pages of a MAP_PRIVATE file mapping after mremap: the child
 * moves its region; the copies it shares with the parent are found at
 * both addresses (migration from the parent must move the child's
 * mapping, at its new address, too); the child's own copies go to swap
 * and come back. Bit 61 keeps telling copies (clear) from page cache
 * (set) wherever the VMA is.
 *
 *   P0 [ c ... c | f ... f ][ gap ][                   ]
 *   P1 [                   ][ gap ][ 1 .. 1 c .. c | f ... f ]  moved
 *   P0 MOVE_ALL 8..15: P1's shared copies move at their new address
 *   P1 MADV_PAGEOUT: its own copies 0..7 go to swap, then read back
 */
TEST_F_TIMEOUT(migrate, file_private_cow_moved_and_paged_out, 60)
{
	static struct pagemap_entry mine[PAGES], theirs[PAGES];
	static int from[PAGES], to[PAGES];
	struct mig_world *w = &self->w;
	char *moved = w->addr + (size_t)(PAGES + 1) * psize();
	int i, try, left;

	ASSERT_EQ(0, map_region(w, 0, PRIVATE_FILE));
	ASSERT_EQ(0, cow_write(w, 0, 0, PAGES / 2));
	ASSERT_EQ(0, cmd(w, 0, CREW_FORK, 0, 0, 1));
	ASSERT_EQ(0, cmd_all(w, 1, CREW_MREMAP, PAGES + 1));
	/* The child's own copies: [0, 1/4). */
	ASSERT_EQ(0, cow_write(w, 1, 0, PAGES / 4));
	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 0), w->addr, PAGES, mine));
	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 1), moved, PAGES, theirs));
	for (i = 0; i < PAGES; i++) {
		/* Shared copies [1/4, 1/2) and page cache: one PFN. */
		bool shared = i >= PAGES / 4;

		EXPECT_EQ(shared, mine[i].pfn == theirs[i].pfn)
			TH_LOG("page %d: %#llx and %#llx", i,
			       (unsigned long long)mine[i].pfn,
			       (unsigned long long)theirs[i].pfn);
		EXPECT_EQ(i >= PAGES / 2, theirs[i].file) TH_LOG("page %d", i);
	}

	/* Migration from the parent reaches the moved mapping. */
	ASSERT_EQ(0, move_each(crew_pid(w->crew, 0), w->addr, PAGES / 4,
			       PAGES / 2, self->nodes, MPOL_MF_MOVE_ALL, from, to));
	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 0), w->addr, PAGES, mine));
	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 1), moved, PAGES, theirs));
	for (i = PAGES / 4; i < PAGES / 2; i++)
		EXPECT_EQ(mine[i].pfn, theirs[i].pfn) TH_LOG("page %d", i);
	EXPECT_EQ(0, count_off_nodes(_metadata, crew_pid(w->crew, 1), moved,
				     PAGES / 4, PAGES / 2, to));

	/* The child's own copies go out to swap and come back. */
	if (swap_enabled()) {
		for (try = 0, left = 1; try < 4 && left; try++) {
			ASSERT_EQ(0, cmd_all(w, 1, CREW_MADVISE, MADV_PAGEOUT));
			ASSERT_EQ(0, read_entries_any(crew_pid(w->crew, 1), moved,
						      PAGES / 4, theirs));
			for (left = 0, i = 0; i < PAGES / 4; i++)
				left += !theirs[i].swapped;
		}
		EXPECT_EQ(0, left) TH_LOG("copies not swapped out");
	}
	EXPECT_EQ(0, verify(w, 1));
	EXPECT_EQ(0, verify(w, 0));
	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 1), moved, PAGES, theirs));
	for (i = 0; i < PAGES; i++)
		EXPECT_EQ(i >= PAGES / 2, theirs[i].file) TH_LOG("page %d", i);
	check_log(_metadata, &self->health);
}

/* ---- migrate_race ------------------------------------------------------- */

#define RACE_PAGES	64
#define RACE_MAX_PAGES	512	/* the thp variants: one PMD */
#define RACE_MS		2000
#define RACE_WAIT_MS	30000	/* a sharer, the quiet phase */
#define RACE_DEADLINE_MS	(RACE_MS + RACE_WAIT_MS)

enum race_op {
	RACE_MUNMAP, RACE_MPROTECT, RACE_FORK_COW, RACE_FORK_READ, RACE_EXIT,
	RACE_UFFD_MOVE, RACE_MREMAP,
};

/* What the racing processes report. */
struct race_report {
	long rounds;		/* victim: mutations done */
	long moves;		/* migrator: move_pages calls */
	long moved;		/* migrator: pages it saw arrive */
	int bad_pages;		/* victim: contents wrong at some check */
	int final_off_node;	/* victim: pages not moved when quiet */
	int child_failures;	/* victim: children that saw bad contents */
	int migrator_done;	/* the victim's final check waits for it */
};

FIXTURE(migrate_race) {
	int nodes[2];
	char *reserved, *base;
	size_t reserved_len;
	int pages;
	struct race_report *report;
	pid_t victim, migrator;
	unsigned long seed;
	struct khealth health;
};

/*
 * The thp variants race on a PMD-mapped THP instead, made anew every 16
 * rounds: the mutations split its PMD (also while it is a migration
 * entry), fork copies it (also as a migration entry), COW copies a
 * subpage of it. In thp_fork_only neither the victim nor its short-lived
 * children write: the PMD stays whole, and most forks copy it while it is
 * a PMD migration entry (copy_huge_pmd() makes a writable one readable in
 * both processes).
 */
FIXTURE_VARIANT(migrate_race) {
	enum race_op op;
	bool thp;
};

FIXTURE_VARIANT_ADD(migrate_race, munmap) {
	.op = RACE_MUNMAP,
};

FIXTURE_VARIANT_ADD(migrate_race, mprotect_split) {
	.op = RACE_MPROTECT,
};

FIXTURE_VARIANT_ADD(migrate_race, fork_and_cow) {
	.op = RACE_FORK_COW,
};

FIXTURE_VARIANT_ADD(migrate_race, exit_of_sharers) {
	.op = RACE_EXIT,
};

/*
 * UFFDIO_MOVE of random ranges to the spare range after the region and
 * back while they are migrated: move_pages_pte() meets folios locked by
 * migration, migration entries and the anon_vma locked by its rmap walk,
 * waits and retries; the migrator meets pages that are elsewhere now.
 */
FIXTURE_VARIANT_ADD(migrate_race, uffd_move) {
	.op = RACE_UFFD_MOVE,
};

/*
 * mremap of random ranges to the spare range after the region and back
 * (MREMAP_FIXED) while they are migrated: move_ptes() carries migration
 * entries along, and the way back merges the range into its old
 * neighbours (copy_vma() into the VMA it came from). Every migration
 * entry must reach the VMA it ends up in and be replaced there
 * (Hugh Dickins' 2011 mremap-vs-migration fix, and the rmap ordering
 * behind need_rmap_locks): a stale one leaves a page unreadable or the
 * victim hung in migration_entry_wait().
 */
FIXTURE_VARIANT_ADD(migrate_race, mremap_away_and_back) {
	.op = RACE_MREMAP,
};

FIXTURE_VARIANT_ADD(migrate_race, thp_munmap) {
	.op = RACE_MUNMAP,
	.thp = true,
};

FIXTURE_VARIANT_ADD(migrate_race, thp_mprotect_split) {
	.op = RACE_MPROTECT,
	.thp = true,
};

FIXTURE_VARIANT_ADD(migrate_race, thp_fork_and_cow) {
	.op = RACE_FORK_COW,
	.thp = true,
};

FIXTURE_VARIANT_ADD(migrate_race, thp_fork_only) {
	.op = RACE_FORK_READ,
	.thp = true,
};

/*
 * The whole PMD-aligned THP moved away and back: move_huge_pmd() moves a
 * PMD (or a PMD migration entry) under the rmap locks that the 2021 fix
 * takes for write, while migration walks the same anon_vma.
 */
FIXTURE_VARIANT_ADD(migrate_race, thp_mremap_away_and_back) {
	.op = RACE_MREMAP,
	.thp = true,
};

FIXTURE_SETUP(migrate_race)
{
	const char *missing = page_oracles_missing(), *why;
	char mode[64];
	size_t align;

	report_environment_once();
	if (missing)
		SKIP(return, "%s", missing);
	if (numa_usable_nodes(self->nodes, 2) < 2)
		SKIP(return, "needs 2 NUMA nodes with memory for migration");
	self->seed = test_seed();
	self->pages = RACE_PAGES;
	align = psize();
	if (variant->thp) {
		align = read_pmd_pagesize();
		if (!align || align / psize() > RACE_MAX_PAGES ||
		    read_text(THP_SYSFS "/enabled", mode, sizeof(mode)) <= 0)
			SKIP(return, "no THP of at most %d pages", RACE_MAX_PAGES);
		if (strstr(mode, "[never]"))
			ASSERT_EQ(0, knob_set(THP_SYSFS "/enabled", "madvise"));
		self->pages = align / psize();
	}
	if (variant->op == RACE_UFFD_MOVE) {
		int uffd;

		why = uffd_open(&uffd, UFFD_FEATURE_MOVE,
				"no UFFD_FEATURE_MOVE (kernel older than 6.8)");
		if (uffd >= 0)
			close(uffd);
		if (why)
			SKIP(return, "%s", why);
	}
	/* The region, and a spare range of its size for UFFDIO_MOVE. */
	self->reserved_len = 2 * self->pages * psize() + align;
	self->reserved = reserve_range(self->reserved_len);
	ASSERT_NE(NULL, self->reserved);
	self->base = (char *)(((unsigned long)self->reserved + align - 1) &
			      ~(align - 1));
	self->report = shared_area(sizeof(*self->report));
	ASSERT_NE(NULL, self->report);
	/* Grandchildren orphaned by a killed victim come back to us. */
	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));
	ASSERT_EQ(0, khealth_begin(&self->health, "migrate_race"));
}

FIXTURE_TEARDOWN(migrate_race)
{
	long long deadline = now_ms() + 5000;
	int status;

	if (self->victim > 0)
		kill(self->victim, SIGKILL);
	if (self->migrator > 0)
		kill(self->migrator, SIGKILL);
	/* Reap everything, orphans included, within a deadline. */
	while (now_ms() < deadline && waitpid(-1, &status, WNOHANG) >= 0)
		usleep(1000);
	if (self->reserved)
		munmap(self->reserved, self->reserved_len);
	knob_restore_all();
}

static unsigned long next_rand(unsigned long *state)
{
	return splitmix64((*state)++) >> 33;
}

/* The victim's own view of its pages. */
struct victim_model {
	char *base;
	int n;			/* pages */
	bool thp;
	int uffd;		/* RACE_UFFD_MOVE: ours, the spare range after */
	struct page_tag tag[RACE_MAX_PAGES];
};

static void victim_fill(struct victim_model *v, int first, int last,
			__u32 owner)
{
	int i;

	for (i = first; i < last; i++) {
		v->tag[i].owner = owner;
		v->tag[i].index = i;
		v->tag[i].version++;
		tag_fill(v->base + i * psize(), psize(), &v->tag[i]);
	}
}

static int victim_verify(struct victim_model *v)
{
	int i, bad = 0;

	for (i = 0; i < v->n; i++)
		bad += !!tag_verify(v->base + i * psize(), psize(),
				    &v->tag[i], NULL);
	return bad;
}

/* A short-lived sharer: COW-writes @first..@last (or not) and exits. */
static __noreturn void sharer(struct victim_model *v, int first, int last)
{
	int bad = victim_verify(v);

	victim_fill(v, first, last, 2);
	_exit(bad || victim_verify(v) ? 1 : 0);
}

/*
 * Map the spare range after the region and register both with a
 * userfaultfd of the victim's own (UFFDIO_MOVE needs one).
 */
static void victim_uffd_setup(struct victim_model *v)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_MOVE };
	struct uffdio_register reg = {
		.range = { .start = (unsigned long)v->base,
			   .len = 2 * v->n * psize() },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	char *spare = v->base + v->n * psize();

	v->uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (v->uffd < 0 || ioctl(v->uffd, UFFDIO_API, &api) ||
	    mmap(spare, v->n * psize(), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != spare ||
	    ioctl(v->uffd, UFFDIO_REGISTER, &reg))
		_exit(2);
}

/*
 * UFFDIO_MOVE of @len bytes from @from to @to, the rest again after a
 * partial move or EAGAIN (a page under migration): 0, or -errno.
 */
static int victim_uffd_move(struct victim_model *v, char *to, char *from,
			    size_t len)
{
	long long deadline = now_ms() + RACE_WAIT_MS;
	struct uffdio_move mv;

	while (len) {
		mv = (struct uffdio_move){ .dst = (unsigned long)to,
					   .src = (unsigned long)from,
					   .len = len };
		if (!ioctl(v->uffd, UFFDIO_MOVE, &mv))
			return 0;
		if (errno != EAGAIN || now_ms() > deadline)
			return -errno;
		if (mv.move > 0) {
			to += mv.move;
			from += mv.move;
			len -= mv.move;
		}
	}
	return 0;
}

/* One mutation of the victim's region while it is being migrated. */
static void victim_round(struct victim_model *v, enum race_op op,
			 unsigned long *rnd, struct race_report *r)
{
	int first = next_rand(rnd) % v->n;
	int last = first + 1 + next_rand(rnd) % (v->n - first);
	size_t len = (last - first) * psize();
	char *at = v->base + first * psize();
	int status;
	pid_t pid;

	switch (op) {
	case RACE_MREMAP:
		/* A THP moves whole, PMD-aligned, so that its PMD moves. */
		if (v->thp) {
			at = v->base;
			len = v->n * psize();
		}
		if (mremap(at, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
			   at + v->n * psize()) == MAP_FAILED ||
		    mremap(at + v->n * psize(), len, len,
			   MREMAP_MAYMOVE | MREMAP_FIXED, at) != at) {
			fprintf(stderr, "# victim: mremap of %zu bytes: %s\n",
				len, strerror(errno));
			_exit(2);
		}
		break;
	case RACE_UFFD_MOVE:
		status = victim_uffd_move(v, at + v->n * psize(), at, len);
		if (!status)
			status = victim_uffd_move(v, at, at + v->n * psize(), len);
		if (status) {
			fprintf(stderr, "# victim: UFFDIO_MOVE of pages %d-%d: %s\n",
				first, last - 1, strerror(-status));
			_exit(2);
		}
		break;
	case RACE_MUNMAP:
		munmap(at, len);
		if (mmap(at, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != at)
			_exit(2);
		victim_fill(v, first, last, 1);
		break;
	case RACE_MPROTECT:
		if (mprotect(at, len, PROT_READ) ||
		    mprotect(at, len, PROT_READ | PROT_WRITE))
			_exit(2);
		victim_fill(v, first, first + 1, 1);
		break;
	case RACE_FORK_COW:
	case RACE_FORK_READ:
	case RACE_EXIT:
		pid = fork();
		if (pid < 0)
			_exit(2);
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (op == RACE_EXIT)
				_exit(0);
			sharer(v, first, op == RACE_FORK_READ ? first : last);
		}
		if (reap_with_deadline(pid, RACE_WAIT_MS, &status) ||
		    !WIFEXITED(status) || WEXITSTATUS(status))
			r->child_failures++;
		/* The victim writes too: its pages COW while shared. */
		if (op != RACE_FORK_READ)
			victim_fill(v, first, first + 1, 1);
		break;
	}
}

/* Map the whole region (a THP where wanted) and fill every page. */
static void victim_map(struct victim_model *v)
{
	size_t len = v->n * psize();

	munmap(v->base, len);
	if (mmap(v->base, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != v->base ||
	    madvise(v->base, len, v->thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		_exit(2);
	victim_fill(v, 0, v->n, 1);
}

static __noreturn void victim(FIXTURE_DATA(migrate_race) * self,
			      enum race_op op, bool thp, pid_t parent)
{
	static void *pages[RACE_MAX_PAGES];
	static int status[RACE_MAX_PAGES];
	struct race_report *r = self->report;
	struct victim_model v = { .base = self->base, .n = self->pages };
	unsigned long rnd = self->seed;
	long long end = now_ms() + RACE_MS;
	int i, node;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(3);
	v.thp = thp;
	victim_map(&v);
	if (op == RACE_UFFD_MOVE)
		victim_uffd_setup(&v);
	while (now_ms() < end) {
		victim_round(&v, op, &rnd, r);
		r->rounds++;
		if (thp && r->rounds % 16 == 0) {
			r->bad_pages += victim_verify(&v);
			victim_map(&v);
		}
		if (r->rounds % 8 == 0)
			r->bad_pages += victim_verify(&v);
	}
	r->bad_pages += victim_verify(&v);
	/* Once the migrator stopped, every page must move and stay intact. */
	while (!__atomic_load_n(&r->migrator_done, __ATOMIC_ACQUIRE) &&
	       now_ms() < end + RACE_WAIT_MS)
		usleep(1000);
	addrs_of(v.base, 0, v.n, pages);
	node = pages_node(0, pages, 1, status) ? -1 : status[0];
	node = node == self->nodes[0] ? self->nodes[1] : self->nodes[0];
	if (pages_move(0, pages, v.n, node, status) < 0 ||
	    pages_node(0, pages, v.n, status))
		r->final_off_node = v.n;
	for (i = 0; i < v.n; i++)
		r->final_off_node += status[i] != node;
	r->bad_pages += victim_verify(&v);
	_exit(0);
}

/* Migrate every page of @victim back and forth until the race ends. */
static __noreturn void migrator(FIXTURE_DATA(migrate_race) * self,
				pid_t victim_pid, pid_t parent)
{
	static void *pages[RACE_MAX_PAGES];
	static int status[RACE_MAX_PAGES];
	struct race_report *r = self->report;
	long long end = now_ms() + RACE_MS;
	int i, side = 0;
	long ret;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(3);
	addrs_of(self->base, 0, self->pages, pages);
	while (now_ms() < end) {
		side ^= 1;
		ret = pages_move(victim_pid, pages, self->pages,
				 self->nodes[side], status);
		if (ret == -ESRCH)
			break;
		/* Pages come and go meanwhile: -ENOENT, -EFAULT, -EBUSY. */
		if (ret < 0 && ret != -ENOENT && ret != -EFAULT)
			_exit(1);
		r->moves++;
		for (i = 0; i < self->pages; i++)
			r->moved += status[i] == self->nodes[side];
	}
	__atomic_store_n(&r->migrator_done, 1, __ATOMIC_RELEASE);
	_exit(0);
}

/* Wait for @pid until @deadline; on timeout say in which state it hung. */
static void reap_racer(struct __test_metadata *_metadata, pid_t *pid,
		       const char *name, long long deadline)
{
	bool finished;
	int status = 0;
	char state;
	pid_t ret;

	do {
		ret = waitpid(*pid, &status, WNOHANG);
		if (ret == *pid)
			break;
		usleep(2000);
	} while (ret == 0 && now_ms() < deadline);
	finished = ret == *pid;
	state = finished ? 0 : proc_state(*pid);
	state = state ? state : '-';
	EXPECT_TRUE(finished)
		TH_LOG("%s (pid %d) did not finish in time; state %c%s", name,
		       *pid, state, state == 'D' ? " (uninterruptible)" : "");
	if (!finished) {
		EXPECT_NE('D', state);
		reap_with_deadline(*pid, 5000, &status);
		*pid = 0;
		return;
	}
	*pid = 0;
	EXPECT_TRUE(WIFEXITED(status)) TH_LOG("%s: status %#x", name, status);
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("%s failed", name);
}

TEST_F_TIMEOUT(migrate_race, migrate_while_mutating, 90)
{
	struct race_report *r = self->report;
	long long deadline;
	pid_t parent = getpid();

	self->victim = fork();
	ASSERT_LE(0, self->victim);
	if (self->victim == 0)
		victim(self, variant->op, variant->thp, parent);
	self->migrator = fork();
	ASSERT_LE(0, self->migrator);
	if (self->migrator == 0)
		migrator(self, self->victim, parent);

	deadline = now_ms() + RACE_DEADLINE_MS;
	reap_racer(_metadata, &self->migrator, "migrator", deadline);
	reap_racer(_metadata, &self->victim, "victim", deadline);
	TH_LOG("%ld rounds, %ld move_pages calls, %ld pages moved", r->rounds,
	       r->moves, r->moved);
	EXPECT_LT(0, r->rounds);
	/* The race did migrate pages, or it tested nothing. */
	EXPECT_LT(0, r->moved);
	EXPECT_EQ(0, r->bad_pages);
	EXPECT_EQ(0, r->child_failures);
	EXPECT_EQ(0, r->final_off_node);
	check_log(_metadata, &self->health);
}

/* ---- migrate_thp: the first THP tests (the others: migrate_thp.c) ------ */

/* A PMD-mapped THP of a lazy VMA moves as one and stays PMD-mapped. */
TEST_F_TIMEOUT(migrate_thp, pmd_mapped, 60)
{
	struct mig_world *w = &self->w;

	map_thp(_metadata, w);
	ASSERT_TRUE(is_one_thp(w, 0, 0, w->nr_pages));
	migrate_thp_region(_metadata, self, 0, 0, w->nr_pages, 0);
	if (is_one_thp(w, 0, 0, w->nr_pages))
		EXPECT_EQ((long)(w->nr_pages * psize() / 1024),
			  anon_huge_kb(w, 0));
	check_log(_metadata, &self->health);
}

/*
 * mprotect of one subpage splits the VMA in three and the PMD into PTEs:
 * the large folio is now mapped by PTEs of three VMAs (three pieces of a
 * lazy VMA under ANON_VMA_LAZY), all of which the walk must find.
 */
TEST_F_TIMEOUT(migrate_thp, pte_mapped_after_mprotect, 60)
{
	struct mig_world *w = &self->w;
	struct vma_extent v[4];
	unsigned long lo = (unsigned long)w->addr;

	map_thp(_metadata, w);
	ASSERT_EQ(0, cmd(w, 0, CREW_MPROTECT, 100, 101, PROT_READ));
	EXPECT_EQ(3, vma_layout(crew_pid(w->crew, 0), lo,
				lo + w->nr_pages * psize(), v, 4));
	EXPECT_EQ(0, anon_huge_kb(w, 0));
	migrate_thp_region(_metadata, self, 0, 0, w->nr_pages, 0);
	check_log(_metadata, &self->health);
}

/*
 * A THP shared with a child that COW-wrote one subpage (the child's PMD is
 * split; it maps the rest by PTEs): migrating from the parent moves every
 * shared subpage for both; the child's own page stays its own. Then the
 * parent exits and the child's pages move through its inherited VMA.
 *
 *   P0 [ T T T T T T ... T ]   one THP, PMD-mapped, on node A
 *   P1 [ T T T T T 1 ... T ]   COWed subpage 5: PTE-mapped, rest shared;
 *                              page 5 allocated on node A too (P1 runs there)
 *   P0 moves 6..511 for both: the THP goes to B, page 5 stays on A;
 *   P0 exits; P1 moves all its 512 pages, each to the node it is not on
 *
 * P1 runs on a CPU of node A while it COW-writes, so that its copy is on
 * the node the rest of its pages move to at the end, every time: a walk
 * that sends one process's pages to one node would find page 5 there
 * already and leave it (left to the scheduler, the copy landed on either
 * node).
 */
TEST_F_TIMEOUT(migrate_thp, after_fork_one_subpage_cowed, 60)
{
	static struct pagemap_entry mine[MAX_PAGES], theirs[MAX_PAGES];
	struct mig_world *w = &self->w;
	int n = w->nr_pages, cowed = 5, thp_node, ret;

	map_thp(_metadata, w);
	thp_node = node_of(crew_pid(w->crew, 0), w->addr, 0);
	ASSERT_LE(0, thp_node);
	ASSERT_EQ(0, cmd(w, 0, CREW_FORK, 0, 0, 1));
	ret = pin_to_node(crew_pid(w->crew, 1), thp_node);
	ASSERT_EQ(0, ret) TH_LOG("P1 on node %d: %s", thp_node, strerror(-ret));
	ASSERT_EQ(0, cow_write(w, 1, cowed, cowed + 1));
	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 1), w->addr, n, theirs));
	EXPECT_TRUE(theirs[cowed].exclusive);

	/* Everything but the COWed subpage is shared; move those. */
	migrate_thp_region(_metadata, self, 0, cowed + 1, n, 2);
	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 0), w->addr, n, mine));
	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 1), w->addr, n, theirs));
	EXPECT_NE(mine[cowed].pfn, theirs[cowed].pfn);
	/* A local allocation may fall back to the other node: then say so. */
	if (node_of(crew_pid(w->crew, 1), w->addr, cowed) != thp_node)
		TH_LOG("note: P1's copy of page %d is not on node %d", cowed,
		       thp_node);

	ASSERT_EQ(0, crew_exit(w->crew, 0));
	migrate_thp_region(_metadata, self, 1, 0, n, 0);
	check_log(_metadata, &self->health);
}

/* A never-forked (lazy) region of small pages collapses, then migrates. */
TEST_F_TIMEOUT(migrate_thp, collapse_lazy, 60)
{
	struct mig_world *w = &self->w;
	const char *why;

	ASSERT_EQ(0, map_region(w, 0, SMALL_THEN_COLLAPSIBLE));
	why = collapse(_metadata, w, 0);
	if (why)
		SKIP(return, "%s", why);
	EXPECT_TRUE(is_one_thp(w, 0, 0, w->nr_pages));
	EXPECT_EQ((long)(w->nr_pages * psize() / 1024), anon_huge_kb(w, 0));
	EXPECT_EQ(0, verify(w, 0));
	migrate_thp_region(_metadata, self, 0, 0, w->nr_pages, 0);
	check_log(_metadata, &self->health);
}

/*
 * Small pages shared with a parent, collapsed in the child (an inherited
 * VMA; the child COW-writes one page first, collapse needs a writable
 * PTE): the child gets a THP of its own, the parent keeps its small
 * pages, now exclusive; both migrate on their own afterwards.
 *
 *   P0 [ s s s ... s ]   small pages     P1 [ 1 s s ... s ]  after fork
 *   P1 MADV_COLLAPSE:    P1 [ T T T ... T ]  P0 keeps [ s s ... s ]
 */
TEST_F_TIMEOUT(migrate_thp, collapse_in_child, 60)
{
	static struct pagemap_entry before[MAX_PAGES], after[MAX_PAGES];
	struct mig_world *w = &self->w;
	int n = w->nr_pages, i;
	const char *why;

	ASSERT_EQ(0, map_region(w, 0, SMALL_THEN_COLLAPSIBLE));
	ASSERT_EQ(0, cmd(w, 0, CREW_FORK, 0, 0, 1));
	ASSERT_EQ(0, cow_write(w, 1, 0, 1));
	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 0), w->addr, n, before));
	why = collapse(_metadata, w, 1);
	if (why)
		SKIP(return, "%s", why);
	EXPECT_TRUE(is_one_thp(w, 1, 0, n));
	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 0), w->addr, n, after));
	for (i = 0; i < n; i++) {
		EXPECT_EQ(before[i].pfn, after[i].pfn) TH_LOG("P0 page %d", i);
		EXPECT_TRUE(after[i].exclusive) TH_LOG("P0 page %d", i);
	}
	EXPECT_EQ(0, verify(w, 0));
	EXPECT_EQ(0, verify(w, 1));
	migrate_thp_region(_metadata, self, 1, 0, n, 0);
	migrate_thp_region(_metadata, self, 0, 0, n, 0);
	check_log(_metadata, &self->health);
}

AVL_HARNESS_MAIN
