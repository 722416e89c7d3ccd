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
#include "scenario_test.h"

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

TEST_HARNESS_MAIN
