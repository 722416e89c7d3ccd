// SPDX-License-Identifier: GPL-2.0
/*
 * reclaim: swap-out, swap-in and page_idle of anonymous pages of lazy,
 * upgraded and inherited (PARENT-typed) VMAs.
 *
 * Reclaim unmaps a folio from every mapping through rmap and leaves swap
 * entries; swap-in maps the folio again and must give it back its rmap
 * (under ANON_VMA_LAZY: the root VMA of a lazy folio, found again at
 * fault time). A folio that was swapped out before fork is a swap-cache
 * folio shared by parent and child once both fault it back. page_idle is
 * an rmap walker of its own: reading the idle bit of a page checks the
 * accessed bit in every mapping of it.
 *
 * reclaim: scenarios for the engine (scenario.h, scenario_test.h) with
 * their expected outcome once built, and "pageout" steps,
 * which fail unless every page the member maps alone was swapped out:
 * pageout then swap-in by read (the checkpoint reads every page) and by
 * write, pageout then fork (both fault the swap-cache folio back), pageout
 * of part then munmap of part then fork, pageout in parent and child
 * after COW, pageout then mremap (swap entries move), pageout in a child
 * after the parent exits. Each runs with no walk, with migration walks and
 * with pageout walks. Needs swap: SKIPs without it (runs in vmtest.sh).
 *
 * page_idle: set every page idle, touch some through one mapping (of a
 * lazy VMA, of a parent after fork, of a child: it reads and verifies
 * them), read the bits back: the touched ones must be busy, the others
 * still idle. The processes are a crew (crew.h). Needs
 * /sys/kernel/mm/page_idle (runs in vmtest.sh).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "../../kselftest_harness.h"
#include "harness_main.h"
#include "scenario_test.h"
#include "memcg_world.h"

FIXTURE(reclaim) {
	struct scenario_fixture s;
};

/* @program, its members' exit order, its outcome once built. */
FIXTURE_VARIANT(reclaim) {
	const char *program;
	int exit_order[3];
	const char *expect;
	/* Where it depends on merge policy: when VMAs merge (sc_policy()). */
	const char *expect_if_merged;
};

/* Never forked: swap-in by read at the checkpoint, or by write. */
FIXTURE_VARIANT_ADD(reclaim, lazy_swapin_by_read) {
	.program = "0: mmap0 pageout0",
	.expect = "P0 R0 AAAAAAAAAAAA rw",
};

FIXTURE_VARIANT_ADD(reclaim, lazy_swapin_by_write) {
	.program = "0: mmap0 pageout0 write0",
	.expect = "P0 R0 AAAAAAAAAAAA rw",
};

FIXTURE_VARIANT_ADD(reclaim, lazy_split_then_pageout) {
	.program = "0: mmap0 ro0:4-8 pageout0 write0",
	.expect = "P0 R0 AAAA|AAAA|AAAA rw,r-,rw",
};

/* Swapped out, then forked: both fault the same swap-cache folio back. */
FIXTURE_VARIANT_ADD(reclaim, pageout_then_fork_parent_first) {
	.program = "0: mmap0 pageout0 fork1 | 1: write0:0-6",
	.exit_order = { 0, 1 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R0 BBBBBBAAAAAA rw",
};

FIXTURE_VARIANT_ADD(reclaim, pageout_then_fork_child_first) {
	.program = "0: mmap0 pageout0 fork1 write0:6-12 | 1: write0:0-3",
	.exit_order = { 1, 0 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R0 BBBAAAABBBAA rw",
};

FIXTURE_VARIANT_ADD(reclaim, pageout_part_then_fork_chain) {
	.program = "0: mmap0 pageout0:0-6 fork1 | 1: fork2 | 2: write0",
	.exit_order = { 1, 0, 2 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R0 AAAAAAAAAAAA rw\n"
		  "P2 R0 BBBABBABBABA rw",
};

FIXTURE_VARIANT_ADD(reclaim, pageout_unmap_part_then_fork) {
	.program = "0: mmap0 pageout0 unmap0:4-8 fork1 | 1: write0",
	.exit_order = { 0, 1 },
	.expect = "P0 R0 AAAA....AAAA rw,rw\n"
		  "P1 R0 BBBB....AABA rw,rw",
};

/* After fork and COW: each process's own copies go out and come back. */
FIXTURE_VARIANT_ADD(reclaim, upgraded_and_inherited_after_cow) {
	.program = "0: mmap0 fork1 write0 pageout0 | 1: write0 pageout0",
	.exit_order = { 0, 1 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R0 BBBBBBABABBA rw",
};

FIXTURE_VARIANT_ADD(reclaim, child_pageout_after_parent_cow) {
	.program = "0: mmap0 fork1 write0 | 1: fork2 pageout0 | 2: write0:0-4",
	.exit_order = { 0, 1, 2 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R0 ABBAABABABAA rw\n"
		  "P2 R0 BCCAABABABAA rw",
};

/* mremap moves swap entries: swap-in at the new address. */
FIXTURE_VARIANT_ADD(reclaim, pageout_then_move) {
	.program = "0: mmap0 pageout0 move0:4-8>5",
	.expect = "P0 R0 AAAA....AAAA rw,rw\n"
		  "P0 R5 ....AAAA.... rw",
};

FIXTURE_VARIANT_ADD(reclaim, pageout_fork_child_moves) {
	.program = "0: mmap0 pageout0 fork1 | 1: move0>5 write5:0-6",
	.exit_order = { 0, 1 },
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P1 R5 BABAAAAAAAAA rw",
};

FIXTURE_SETUP(reclaim)
{
	scenario_setup(_metadata, &self->s, variant->program, variant->expect,
		       variant->expect_if_merged, true, "reclaim");
}

FIXTURE_TEARDOWN(reclaim)
{
	sc_destroy(self->s.sc);
}

TEST_F_TIMEOUT(reclaim, exits, 60)
{
	scenario_test_run(_metadata, &self->s, variant->exit_order, SC_NO_WALK);
}

TEST_F_TIMEOUT(reclaim, migrate_walks, 90)
{
	scenario_test_run(_metadata, &self->s, variant->exit_order,
			  SC_MIGRATE_WALK);
}

TEST_F_TIMEOUT(reclaim, pageout_walks, 90)
{
	scenario_test_run(_metadata, &self->s, variant->exit_order,
			  SC_PAGEOUT_WALK);
}

/* ---- memcg_reclaim: reclaim as under memory pressure -------------------- */

/*
 * MADV_PAGEOUT reclaims without asking whether a folio was used: it skips
 * the rmap walk that reclaim under memory pressure makes first,
 * folio_referenced(), which visits every mapping of the folio and clears
 * its accessed bits, before try_to_unmap() unmaps it from every mapping.
 * memory.reclaim of a memory cgroup runs that reclaim on the cgroup's
 * pages. Once every page of every member is swapped out, each member reads
 * its pages back: the contents are intact, and a copy that several members
 * share comes back as one folio from the swap cache, one PFN for all.
 *
 *   P0 [ A A A ... A ]            64 pages, charged to the cgroup
 *   P1 [ 1 ... 1 A ... A ]        forked, COW-wrote pages 0..31
 *   P2 [ 1 .. 2 .. 1 A ... A ]    forked by P1, COW-wrote pages 16..23
 *   memory.reclaim until every member's pages are swap entries
 */
FIXTURE(memcg_reclaim) {
	struct memcg_world w;
};

/*
 * The thp variants map one PMD-mapped THP instead: P1's and P2's COW
 * writes split their PMDs and copy small pages, P0 keeps the PMD; reclaim
 * then walks one large folio mapped by a PMD and by PTEs in three
 * processes, and splits it to swap it out.
 */
FIXTURE_VARIANT(memcg_reclaim) {
	int members;		/* 1: a lazy VMA; 3: a fork chain */
	bool thp;
};

FIXTURE_VARIANT_ADD(memcg_reclaim, lazy) {
	.members = 1,
};

FIXTURE_VARIANT_ADD(memcg_reclaim, fork_chain) {
	.members = 3,
};

FIXTURE_VARIANT_ADD(memcg_reclaim, thp_lazy) {
	.members = 1,
	.thp = true,
};

FIXTURE_VARIANT_ADD(memcg_reclaim, thp_fork_chain) {
	.members = 3,
	.thp = true,
};

FIXTURE_SETUP(memcg_reclaim)
{
	struct memcg_world *w = &self->w;

	memcg_world_setup(_metadata, w, variant->members, variant->thp,
			  "memcg_reclaim");
	if (_metadata->exit_code)
		return;		/* skipped */
	if (w->members == 3) {
		ASSERT_EQ(0, crew_do(w->crew, 0, CREW_FORK, 0, 0, 0, 1));
		ASSERT_EQ(0, crew_do(w->crew, 1, CREW_FILL, 0, 0, 32, 1));
		ASSERT_EQ(0, crew_do(w->crew, 1, CREW_FORK, 0, 0, 0, 2));
		ASSERT_EQ(0, crew_do(w->crew, 2, CREW_FILL, 0, 16, 24, 2));
	}
}

FIXTURE_TEARDOWN(memcg_reclaim)
{
	memcg_world_teardown(&self->w);
}

/* Who wrote the copy member @m maps at page @i (the tree above). */
static int memcg_writer(int m, int i)
{
	if (m >= 2 && i >= 16 && i < 24)
		return 2;
	if (m >= 1 && i < 32)
		return 1;
	return 0;
}

TEST_F_TIMEOUT(memcg_reclaim, every_mapping_swapped_and_back, 60)
{
	struct memcg_world *w = &self->w;
	static __u64 pfn[3][MEMCG_MAX_PAGES];
	__u64 count;
	long long deadline = now_ms() + 20000;
	struct pagemap_entry e;
	int m, q, i, left, mappers, ret;
	char report[2048];

	do {
		ret = memcg_reclaim(w->cgroup, 4 * w->pages * psize());
		ASSERT_TRUE(!ret || ret == -EAGAIN)
			TH_LOG("memory.reclaim: %s", strerror(-ret));
		for (left = 0, m = 0; m < w->members; m++)
			left += memcg_left(w, m);
	} while (left && now_ms() < deadline);
	EXPECT_EQ(0, left) TH_LOG("%d mappings not swapped out", left);

	/* Each member reads its pages back in. */
	for (m = 0; m < w->members; m++)
		EXPECT_EQ(0, crew_do(w->crew, m, CREW_VERIFY, 0, 0,
				     w->pages, 0)) TH_LOG("P%d", m);
	for (m = 0; m < w->members; m++)
		for (i = 0; i < w->pages; i++) {
			ASSERT_EQ(0, pagemap_get(crew_pid(w->crew, m),
						 (unsigned long)w->base +
						 i * psize(), &e));
			ASSERT_TRUE(e.present && e.pfn) TH_LOG("P%d page %d", m, i);
			pfn[m][i] = e.pfn;
		}
	/* One folio per copy: shared copies share a PFN, others do not. */
	for (m = 0; m < w->members; m++)
		for (i = 0; i < w->pages; i++) {
			for (mappers = 0, q = 0; q < w->members; q++)
				mappers += memcg_writer(q, i) == memcg_writer(m, i);
			for (q = m + 1; q < w->members; q++)
				EXPECT_EQ(memcg_writer(q, i) == memcg_writer(m, i),
					  pfn[q][i] == pfn[m][i])
					TH_LOG("page %d: P%d and P%d", i, m, q);
			ASSERT_EQ(0, kpagecount_get(pfn[m][i], &count));
			EXPECT_EQ((__u64)mappers, count)
				TH_LOG("P%d page %d mapped %llu times, want %d",
				       m, i, (unsigned long long)count, mappers);
		}
	EXPECT_EQ(0, khealth_check(&w->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/* ---- memcg_mlock: reclaim of a THP that is mlocked in part -------------- */

/*
 * A THP mlocked in part: mlock splits the VMA and the PMD, and the folio,
 * mapped across the boundary of a VM_LOCKED VMA, is not mlocked (only a
 * folio wholly inside one is). Reclaim then meets a large folio on the
 * evictable LRU with mappings in a VM_LOCKED VMA: folio_referenced() and
 * try_to_unmap() must keep those pages mapped (the mlock guarantee) while
 * the kernel may or may not swap the rest; once munlocked, all of it goes
 * out and comes back intact.
 *
 *   P0 [ L L ... L | T T ... T ]   one THP, the first half mlocked
 *   memory.reclaim:  L stay mapped; munlock, memory.reclaim: all out
 */
FIXTURE(memcg_mlock) {
	struct memcg_world w;
};

FIXTURE_SETUP(memcg_mlock)
{
	memcg_world_setup(_metadata, &self->w, 1, true, "memcg_mlock");
}

FIXTURE_TEARDOWN(memcg_mlock)
{
	memcg_world_teardown(&self->w);
}

TEST_F_TIMEOUT(memcg_mlock, locked_half_stays_mapped, 60)
{
	struct memcg_world *w = &self->w;
	int half = w->pages / 2, swapped;
	char report[2048];
	unsigned long kb;

	ASSERT_EQ(0, crew_do(w->crew, 0, CREW_MLOCK, 0, 0, half, 0))
		TH_LOG("mlock (RLIMIT_MEMLOCK?)");
	ASSERT_EQ(0, smaps_range_kb(crew_pid(w->crew, 0),
				    (unsigned long)w->base,
				    (unsigned long)w->base + w->pages * psize(),
				    offsetof(struct smaps_vma, locked), &kb));
	EXPECT_EQ(half * psize() / 1024, kb);
	swapped = p0_reclaim(w, half, w->pages);
	ASSERT_LE(0, swapped);
	TH_LOG("policy: %d of the %d unlocked pages swapped out", swapped, half);
	EXPECT_EQ(0, p0_swapped(w, 0, half)) TH_LOG("mlocked pages swapped out");
	EXPECT_EQ(0, crew_do(w->crew, 0, CREW_VERIFY, 0, 0, w->pages, 0));

	ASSERT_EQ(0, crew_do(w->crew, 0, CREW_MUNLOCK, 0, 0, half, 0));
	EXPECT_EQ(w->pages, p0_reclaim(w, 0, w->pages))
		TH_LOG("pages not swapped out once munlocked");
	EXPECT_EQ(0, crew_do(w->crew, 0, CREW_VERIFY, 0, 0, w->pages, 0));
	EXPECT_EQ(0, khealth_check(&w->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/* ---- lazyfree: MADV_FREE pages under reclaim ---------------------------- */

/*
 * MADV_FREE makes clean private pages lazily freeable: reclaim may drop
 * them instead of swapping them out (a later read gives zeroes), but only
 * while no mapping wrote them again and only once every mapping of the
 * folio is unmapped: try_to_unmap_one() checks the reference and map
 * counts and the dirty bit of every PTE it clears, and puts the PTE back
 * (the folio swap-backed again) when the page was written. A page written
 * after MADV_FREE keeps what was written; a dropped page reads as zeroes
 * in every process that mapped it, never as other contents.
 *
 *   P0 [ A A A ... A ]  MADV_FREE    P0 writes 0..7: [ B ... B A ... A ]
 *   MADV_PAGEOUT: 0..7 stay B, 8..15 are A or zeroes (dropped)
 *   forked after MADV_FREE, memory.reclaim: P0 and P1 agree on every page
 */
#define LAZY_PAGES	16

FIXTURE(lazyfree) {
	struct crew *crew;
	char *base;
	char cgroup[512];
	bool have_cgroup;
	struct khealth health;
};

FIXTURE_SETUP(lazyfree)
{
	const char *why = page_oracles_missing();

	report_environment_once();
	if (why)
		SKIP(return, "%s", why);
	/* MADV_PAGEOUT drains only this CPU's LRU batches. */
	ASSERT_EQ(0, pin_to_this_cpu());
	self->base = reserve_range(LAZY_PAGES * psize());
	ASSERT_NE(NULL, self->base);
	self->crew = crew_create(2);
	ASSERT_NE(NULL, self->crew);
	ASSERT_EQ(0, crew_add_region(self->crew, self->base, LAZY_PAGES, true));
	ASSERT_LT(0, crew_start(self->crew, 0));
	ASSERT_EQ(0, khealth_begin(&self->health, "lazyfree"));
}

FIXTURE_TEARDOWN(lazyfree)
{
	crew_destroy(self->crew);
	if (self->have_cgroup)
		memcg_destroy(self->cgroup);
	if (self->base)
		munmap(self->base, LAZY_PAGES * psize());
}

static int lazy_do(FIXTURE_DATA(lazyfree) * self, int m, int op, int first,
		   int last, long arg)
{
	return crew_do(self->crew, m, op, 0, first, last, arg);
}

/* P0 maps the region, tagged { 0, i }, and makes it lazily freeable. */
static int lazy_map(FIXTURE_DATA(lazyfree) * self)
{
	int ret = lazy_do(self, 0, CREW_MMAP, 0, LAZY_PAGES, 0);

	if (!ret)
		ret = lazy_do(self, 0, CREW_MADVISE, 0, LAZY_PAGES,
			      MADV_NOHUGEPAGE);
	if (!ret)
		ret = lazy_do(self, 0, CREW_FILL, 0, LAZY_PAGES, 0);
	return ret ? ret : lazy_do(self, 0, CREW_MADVISE, 0, LAZY_PAGES,
				   MADV_FREE);
}

/* What member @m reads at page @i (page_seen_in(): a fault if needed). */
static int lazy_read(FIXTURE_DATA(lazyfree) * self, int m, int i,
		     const struct page_tag *tag)
{
	return page_seen_in(crew_pid(self->crew, m),
			    (unsigned long)self->base + i * psize(), tag);
}

/* Whether page @i of member @m is mapped or a swap entry (not dropped). */
static bool lazy_kept(FIXTURE_DATA(lazyfree) * self, int m, int i)
{
	struct pagemap_entry e;

	return !pagemap_get(crew_pid(self->crew, m),
			    (unsigned long)self->base + i * psize(), &e) &&
	       (e.present || e.swapped);
}

/*
 * Pages written again after MADV_FREE keep what was written through
 * MADV_PAGEOUT (which needs no swap for the others: it drops them).
 */
TEST_F_TIMEOUT(lazyfree, written_again_survives_pageout, 60)
{
	struct page_tag tag;
	int i, dropped = 0, try;
	char report[2048];

	ASSERT_EQ(0, lazy_map(self));
	ASSERT_EQ(0, lazy_do(self, 0, CREW_FILL, 0, LAZY_PAGES / 2, 1));
	for (try = 0; try < 4 && !dropped; try++) {
		ASSERT_EQ(0, lazy_do(self, 0, CREW_MADVISE, 0, LAZY_PAGES,
				     MADV_PAGEOUT));
		for (i = LAZY_PAGES / 2; i < LAZY_PAGES; i++)
			dropped += !lazy_kept(self, 0, i);
	}
	TH_LOG("%d of %d clean lazily freeable pages dropped", dropped,
	       LAZY_PAGES / 2);
	for (i = 0; i < LAZY_PAGES; i++) {
		bool written = i < LAZY_PAGES / 2;
		int seen;

		tag = (struct page_tag){ .owner = written, .index = i };
		/* Before reading: a read maps the zero page where dropped. */
		if (written) {
			EXPECT_TRUE(lazy_kept(self, 0, i))
				TH_LOG("page %d written after MADV_FREE was dropped", i);
		}
		seen = lazy_read(self, 0, i, &tag);
		if (written) {
			EXPECT_EQ(PAGE_TAGGED, seen) TH_LOG("page %d", i);
		} else {
			EXPECT_TRUE(seen == PAGE_TAGGED || seen == PAGE_ZERO)
				TH_LOG("page %d: neither its contents nor zeroes", i);
		}
	}
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * Forked after MADV_FREE, parent and child map each lazily freeable
 * folio; memory.reclaim of their cgroup may drop it only by unmapping it
 * from both. Each page must then read the same in both: its contents, or
 * zeroes in both; and at least one page must have been dropped, or the
 * test saw nothing.
 */
TEST_F_TIMEOUT(lazyfree, shared_dropped_in_every_mapping, 60)
{
	long long deadline = now_ms() + 20000;
	struct page_tag tag;
	int i, dropped, ret;
	char report[2048];
	const char *why;

	why = memcg_create(self->cgroup, sizeof(self->cgroup));
	if (why)
		SKIP(return, "%s", why);
	self->have_cgroup = true;
	ASSERT_EQ(0, memcg_attach(self->cgroup, crew_pid(self->crew, 0)));
	ASSERT_EQ(0, lazy_map(self));
	ASSERT_EQ(0, lazy_do(self, 0, CREW_FORK, 0, 0, 1));
	do {
		ret = memcg_reclaim(self->cgroup, 4 * LAZY_PAGES * psize());
		ASSERT_TRUE(!ret || ret == -EAGAIN)
			TH_LOG("memory.reclaim: %s", strerror(-ret));
		for (dropped = 0, i = 0; i < LAZY_PAGES; i++)
			dropped += !lazy_kept(self, 0, i);
	} while (dropped < LAZY_PAGES && now_ms() < deadline);
	TH_LOG("%d of %d shared lazily freeable pages dropped", dropped,
	       LAZY_PAGES);
	EXPECT_LT(0, dropped);
	for (i = 0; i < LAZY_PAGES; i++) {
		int p0, p1;

		EXPECT_EQ(lazy_kept(self, 0, i), lazy_kept(self, 1, i))
			TH_LOG("page %d dropped in one process only", i);
		tag = (struct page_tag){ .owner = 0, .index = i };
		p0 = lazy_read(self, 0, i, &tag);
		p1 = lazy_read(self, 1, i, &tag);
		EXPECT_TRUE(p0 == PAGE_TAGGED || p0 == PAGE_ZERO)
			TH_LOG("P0 page %d: neither its contents nor zeroes", i);
		EXPECT_EQ(p0, p1) TH_LOG("page %d reads differently", i);
	}
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/* ---- page_idle ---------------------------------------------------------- */

#define IDLE_BITMAP	"/sys/kernel/mm/page_idle/bitmap"
#define NUMA_BALANCING	"/proc/sys/kernel/numa_balancing"
#define IDLE_PAGES	16
#define IDLE_WAIT_MS	30000

FIXTURE(page_idle) {
	struct crew *crew;
	char *base;
	int bitmap;
	struct khealth health;
};

/* Which process touches the pages, after how many forks. */
FIXTURE_VARIANT(page_idle) {
	bool fork;		/* P0 forks P1, both map the pages */
	bool ksm;		/* P1 unrelated: KSM merges its pages with P0's */
	int toucher;
};

FIXTURE_VARIANT_ADD(page_idle, lazy) {
	.fork = false,
	.toucher = 0,
};

FIXTURE_VARIANT_ADD(page_idle, shared_touched_by_parent) {
	.fork = true,
	.toucher = 0,
};

FIXTURE_VARIANT_ADD(page_idle, shared_touched_by_child) {
	.fork = true,
	.toucher = 1,
};

/* KSM pages: reading the bit walks the KSM page's rmap items. */
FIXTURE_VARIANT_ADD(page_idle, ksm_touched_by_other) {
	.ksm = true,
	.toucher = 1,
};

/* One crew command on the pages of member @m. */
static int idle_cmd(struct crew *c, int m, int op, long arg)
{
	return crew_do(c, m, op, 0, 0, IDLE_PAGES, arg);
}

/*
 * Member @m maps the pages (a lazy VMA) and writes them; small pages:
 * idle bits are per page, not per folio.
 */
static int idle_map(struct crew *c, int m)
{
	int ret = idle_cmd(c, m, CREW_MMAP, 0);

	if (!ret)
		ret = idle_cmd(c, m, CREW_MADVISE, MADV_NOHUGEPAGE);
	return ret ? ret : idle_cmd(c, m, CREW_FILL, 0);
}

FIXTURE_SETUP(page_idle)
{
	const char *missing = page_oracles_missing();
	pid_t pid;

	report_environment_once();
	if (missing)
		SKIP(return, "%s", missing);
	self->bitmap = open(IDLE_BITMAP, O_RDWR | O_CLOEXEC);
	if (self->bitmap < 0)
		SKIP(return, "no %s (CONFIG_IDLE_PAGE_TRACKING)", IDLE_BITMAP);
	/* NUMA balancing would migrate the pages under the idle bits. */
	if (!access(NUMA_BALANCING, F_OK))
		ASSERT_EQ(0, knob_set(NUMA_BALANCING, "0"));
	ASSERT_EQ(0, pin_to_this_cpu());
	self->base = reserve_range(IDLE_PAGES * psize());
	ASSERT_NE(NULL, self->base);
	self->crew = crew_create(3);
	ASSERT_NE(NULL, self->crew);
	ASSERT_EQ(0, crew_add_region(self->crew, self->base, IDLE_PAGES, true));
	pid = crew_start(self->crew, 0);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, idle_map(self->crew, 0));
	ASSERT_EQ(0, khealth_begin(&self->health, "page_idle"));
}

FIXTURE_TEARDOWN(page_idle)
{
	crew_destroy(self->crew);
	knob_restore_all();
	if (self->bitmap >= 0)
		close(self->bitmap);
	if (self->base)
		munmap(self->base, IDLE_PAGES * psize());
}

/*
 * Read (or with @set, write) the idle bit of @pfn. 1 when the bit cannot
 * be read: the bitmap returns only whole 64-page words below max_pfn, so
 * a page in the last, partial word (the end of RAM) has no readable bit.
 */
static int idle_bit(int fd, __u64 pfn, bool set, bool *idle)
{
	off_t off = pfn / 64 * 8;
	__u64 word = 0;
	ssize_t ret;

	if (set) {
		word = 1ULL << (pfn % 64);
		return pwrite(fd, &word, 8, off) == 8 ? 0 : -errno;
	}
	ret = pread(fd, &word, 8, off);
	if (ret < 0)
		return -errno;
	if (ret != 8)
		return 1;
	*idle = word & (1ULL << (pfn % 64));
	return 0;
}

/* PFNs of P0's pages; 0 when all are present. */
static int idle_pfns(FIXTURE_DATA(page_idle) * self, __u64 *pfn)
{
	struct pagemap_entry e;
	int i;

	for (i = 0; i < IDLE_PAGES; i++) {
		if (pagemap_get(crew_pid(self->crew, 0),
				(unsigned long)self->base + i * psize(), &e) ||
		    !e.present || !e.pfn)
			return -1;
		pfn[i] = e.pfn;
	}
	return 0;
}

/*
 * Set every page idle, let the toucher read the even pages, read the
 * bits into @idle. 1 when the round says nothing and must be repeated: a
 * page was not on the LRU when set idle (page_idle skips folios sitting
 * in a per-CPU batch), or moved meanwhile (compaction may migrate any
 * anonymous page: the bits then describe other pages); else 0.
 */
static int idle_round(struct __test_metadata *_metadata,
		      FIXTURE_DATA(page_idle) * self, int toucher,
		      bool *idle, bool *unreadable)
{
	__u64 pfn[IDLE_PAGES], after[IDLE_PAGES];
	int i, ret;

	ASSERT_EQ(0, idle_pfns(self, pfn));
	for (i = 0; i < IDLE_PAGES; i++)
		ASSERT_EQ(0, idle_bit(self->bitmap, pfn[i], true, NULL));
	/* Set idle means idle, before anyone touched a page. */
	for (i = 0; i < IDLE_PAGES; i++) {
		ret = idle_bit(self->bitmap, pfn[i], false, &idle[i]);
		ASSERT_LE(0, ret);
		unreadable[i] = ret;
		if (!unreadable[i] && !idle[i]) {
			__u64 flags = 0;

			kpageflags_get(pfn[i], &flags);
			TH_LOG("page %d (pfn %#llx, kpageflags %#llx) not idle right after set",
			       i, (unsigned long long)pfn[i],
			       (unsigned long long)flags);
			return 1;
		}
	}
	/* The toucher reads (and verifies) the even pages. */
	ASSERT_EQ(0, idle_cmd(self->crew, toucher, CREW_TOUCH, 0));
	for (i = 0; i < IDLE_PAGES; i++)
		if (!unreadable[i])
			ASSERT_EQ(0, idle_bit(self->bitmap, pfn[i], false,
					      &idle[i]));
	ASSERT_EQ(0, idle_pfns(self, after));
	return memcmp(pfn, after, sizeof(pfn)) != 0;
}

/*
 * P1, unrelated to P0, maps the same contents; ksmd merges every page of
 * both into KSM pages, then stops (the pages stay merged).
 */
static void ksm_merge_members(struct __test_metadata *_metadata,
			      FIXTURE_DATA(page_idle) * self)
{
	long long deadline = now_ms() + IDLE_WAIT_MS;
	char path[64];
	unsigned long kb = 0;
	pid_t pid;

	if (!ksm_available())
		SKIP(return, "no KSM (CONFIG_KSM, /sys/kernel/mm/ksm)");
	pid = crew_start(self->crew, 1);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, idle_map(self->crew, 1));
	ASSERT_EQ(0, ksm_start_fast());
	ASSERT_EQ(0, idle_cmd(self->crew, 0, CREW_MADVISE, MADV_MERGEABLE));
	ASSERT_EQ(0, idle_cmd(self->crew, 1, CREW_MADVISE, MADV_MERGEABLE));
	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	while (now_ms() < deadline &&
	       (smaps_field_kb(path, (unsigned long)self->base, "KSM", &kb) ||
		kb < IDLE_PAGES * psize() / 1024))
		usleep(10000);
	ASSERT_EQ(IDLE_PAGES * psize() / 1024, kb)
		TH_LOG("not merged within %d ms", IDLE_WAIT_MS);
	/* ksmd would look at the pages too: stop it, they stay merged. */
	ASSERT_EQ(0, knob_set(KSM_SYSFS "/run", "0"));
}

TEST_F_TIMEOUT(page_idle, touched_pages_are_busy, 60)
{
	bool idle[IDLE_PAGES] = { false }, unreadable[IDLE_PAGES];
	int i, try, moved = 1, checked = 0;
	char report[2048];

	if (variant->fork)
		ASSERT_EQ(0, crew_do(self->crew, 0, CREW_FORK, 0, 0, 0, 1));
	if (variant->ksm)
		ksm_merge_members(_metadata, self);
	for (try = 0; try < 5 && moved; try++) {
		/*
		 * Put the folios on the LRU: page_idle ignores the others.
		 * MADV_COLD drains this CPU's batches first, then moves the
		 * active folios to a deactivation batch, off the LRU: a
		 * second one drains that.
		 */
		for (i = 0; i < 1 + (variant->fork || variant->ksm); i++) {
			ASSERT_EQ(0, idle_cmd(self->crew, i, CREW_MADVISE,
					      MADV_COLD));
			ASSERT_EQ(0, idle_cmd(self->crew, i, CREW_MADVISE,
					      MADV_COLD));
		}
		moved = idle_round(_metadata, self, variant->toucher, idle,
				   unreadable);
		if (moved)
			TH_LOG("round %d inconclusive: again", try + 1);
	}
	ASSERT_EQ(0, moved) TH_LOG("idle bits unverifiable in 5 rounds");
	for (i = 0; i < IDLE_PAGES; i++) {
		bool want = i % 2, got = idle[i];

		if (unreadable[i]) {
			TH_LOG("page %d is at the end of RAM: its bit is unreadable",
			       i);
			continue;
		}
		checked++;
		EXPECT_EQ(want, got)
			TH_LOG("page %d (%s) idle %d after P%d touched it", i,
			       want ? "untouched" : "touched", got,
			       variant->toucher);
	}
	/* Enough pages, touched and untouched, were looked at. */
	EXPECT_LE(IDLE_PAGES / 2, checked);
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

AVL_HARNESS_MAIN
