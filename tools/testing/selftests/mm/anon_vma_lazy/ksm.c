// SPDX-License-Identifier: GPL-2.0
/*
 * ksm: KSM merges, unmerges and walks pages of lazy, upgraded and
 * inherited anonymous VMAs exactly as on a kernel without ANON_VMA_LAZY.
 *
 * The series reuses the KSM bit of folio->mapping (0x2) for lazy folios,
 * and KSM keeps an anon_vma per merged page (rmap_item->anon_vma) that a
 * lazy VMA does not have. A kernel that confuses the two shows a lazy page
 * as KSM (smaps KSM, ksm_merging_pages, pagemap bit 61), fails to merge or
 * unmerge, or loses a mapping when it walks a KSM page.
 *
 * Each test builds processes whose pages hold the same contents (the
 * pattern of a page tag without its index), lets ksmd merge them, and
 * checks per process /proc/pid/ksm_merging_pages and smaps KSM, one PFN for
 * every merged page of every process, kpagecount, bit 56 and bit 61 as on
 * a stock kernel, and the contents; then unmerges (COW write, fork and COW
 * in the child, MADV_UNMERGEABLE, run=2) and checks again. With two NUMA
 * nodes the merged page is migrated, an rmap walk of a KSM page that must
 * reach every mapper. ksmd runs fast during a test; every KSM tunable is
 * restored afterwards, also when the test is killed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <linux/kernel-page-flags.h>

#include "../../kselftest_harness.h"
#include "crew.h"
#include "env.h"
#include "khealth.h"

#define PAGES		16
#define MERGE_MS	20000

/* Contents: every page of every member the same (so all can merge)... */
#define SAME		77
/* ...but P1's before the chain of ksm_tree COW-writes them... */
#define P1_OWN		50
/* ...and page 0 of member m after write_page0(): OWN(m). */
#define OWN(m)		(100 + (m))

/* The reserved range: the region, a gap, room for the moved region. */
#define AWAY		(2 * PAGES)
#define RESERVED	(3 * PAGES)

struct ksm_world {
	struct crew *crew;
	char *base;		/* the reserved range: same in every member */
	int region;		/* the crew's region at base */
	int nr;			/* members */
	bool wrote0[8];		/* member wrote its own page 0 */
	bool forked[8];		/* member inherited its merged pages */
};

/* One crew command on pages [first, last) of member @m's region. */
static int cmd(struct ksm_world *w, int m, int op, int first, int last,
	       long arg)
{
	return crew_do(w->crew, m, op, w->region, first, last, arg);
}

/* Map the region in member @m, every page holding tag { @owner }. */
static int map_same(struct ksm_world *w, int m, long owner)
{
	int ret = cmd(w, m, CREW_MMAP, 0, PAGES, 0);

	return ret ? ret : cmd(w, m, CREW_FILL_SAME, 0, PAGES, owner);
}

/* COW-write page 0 of member @m with contents of its own. */
static int write_page0(struct ksm_world *w, int m)
{
	w->wrote0[m] = true;
	return cmd(w, m, CREW_FILL_SAME, 0, 1, OWN(m));
}

static int verify(struct ksm_world *w, int m)
{
	return cmd(w, m, CREW_VERIFY, 0, PAGES, 0);
}

static char *region_of(struct ksm_world *w, int m)
{
	return crew_addr(w->crew, m, w->region);
}

FIXTURE(ksm) {
	struct ksm_world w;
	struct khealth health;
};

/*
 * A crew of up to 4 members, @unrelated of them forked by the test itself
 * (the others are forked by members later), and ksmd scanning fast.
 */
static void world_init(struct __test_metadata *_metadata, struct ksm_world *w,
		       struct khealth *health, int unrelated)
{
	const char *missing = page_oracles_missing();
	int m;
	pid_t pid;

	report_environment_once();
	if (missing)
		SKIP(return, "%s", missing);
	if (!ksm_available())
		SKIP(return, "no KSM (CONFIG_KSM, /sys/kernel/mm/ksm)");
	w->base = reserve_range(RESERVED * psize());
	ASSERT_NE(NULL, w->base);
	w->nr = unrelated;
	w->crew = crew_create(4);
	ASSERT_NE(NULL, w->crew);
	w->region = crew_add_region(w->crew, w->base, PAGES, true);
	ASSERT_LE(0, w->region);
	for (m = 0; m < unrelated; m++) {
		pid = crew_start(w->crew, m);
		ASSERT_LT(0, pid);
	}
	ASSERT_EQ(0, khealth_begin(health, "ksm"));
	ASSERT_EQ(0, ksm_start_fast());
}

static void world_destroy(struct ksm_world *w)
{
	crew_destroy(w->crew);
	/* Stop ksmd and put every tunable back; the guard covers a kill. */
	knob_restore_all();
	if (w->base)
		munmap(w->base, RESERVED * psize());
}

FIXTURE_SETUP(ksm)
{
	/* Members 0..2: unrelated processes, all forked by the test. */
	world_init(_metadata, &self->w, &self->health, 3);
}

FIXTURE_TEARDOWN(ksm)
{
	world_destroy(&self->w);
}

/*
 * KSM kB of our region in member @m (smaps). ksm_merging_pages counts the
 * whole process: with PR_SET_MEMORY_MERGE its other pages may merge too.
 */
static int region_ksm_kb(struct ksm_world *w, int m, unsigned long *kb)
{
	unsigned long lo = (unsigned long)region_of(w, m);

	/* The region may be split into several VMAs. */
	return smaps_range_kb(crew_pid(w->crew, m), lo, lo + PAGES * psize(),
			      offsetof(struct smaps_vma, ksm), kb);
}

/* Wait until @pages of member @m's region are merged. */
static int wait_merged(struct ksm_world *w, int m, unsigned long pages)
{
	long long deadline = now_ms() + MERGE_MS;
	unsigned long kb;

	do {
		if (region_ksm_kb(w, m, &kb))
			return -1;
		if (kb == pages * (psize() / 1024))
			return 0;
		usleep(10000);
	} while (now_ms() < deadline);
	return -ETIMEDOUT;
}

/*
 * The merged state of members @mask: every page but the ones they wrote
 * maps one KSM page (one PFN across all), counted once per mapping;
 * smaps KSM and ksm_merging_pages agree; bit 61 clear, bit 56 clear.
 */
static int check_merged(struct __test_metadata *_metadata,
			struct ksm_world *w, unsigned int mask)
{
	__u64 pfn = 0, count = 0, flags = 0;
	unsigned long kb, merging, want;
	int m, i, mappers = 0, bad = 0;
	struct pagemap_entry e;

	for (m = 0; m < w->nr; m++)
		if (mask & (1 << m))
			mappers += PAGES - w->wrote0[m];
	for (m = 0; m < w->nr; m++) {
		pid_t pid = crew_pid(w->crew, m);

		if (!(mask & (1 << m)))
			continue;
		want = PAGES - w->wrote0[m];
		/*
		 * ksm_merging_pages counts ksmd's items for this mm: a forked
		 * child starts at 0 until ksmd scans it; smaps KSM is exact.
		 */
		if (proc_ksm_merging_pages(pid, &merging) ||
		    region_ksm_kb(w, m, &kb) ||
		    (!w->forked[m] && merging < want) ||
		    kb != want * (psize() / 1024)) {
			TH_LOG("P%d: ksm_merging_pages %lu, smaps KSM %lu kB, want %lu pages",
			       m, merging, kb, want);
			bad++;
		}
		for (i = 0; i < PAGES; i++) {
			bool own = i == 0 && w->wrote0[m];

			if (pagemap_get(pid, (unsigned long)region_of(w, m) + i * psize(),
					&e) || !e.present || e.file) {
				TH_LOG("P%d page %d: present %d, bit 61 %d", m, i,
				       e.present, e.file);
				bad++;
				continue;
			}
			if (own) {
				if (!e.exclusive)
					bad++;
				continue;
			}
			if (!pfn)
				pfn = e.pfn;
			if (e.pfn != pfn || e.exclusive) {
				TH_LOG("P%d page %d: pfn %#llx exclusive %d, want KSM %#llx",
				       m, i, (unsigned long long)e.pfn,
				       e.exclusive, (unsigned long long)pfn);
				bad++;
			}
		}
	}
	if (pfn && (kpagecount_get(pfn, &count) || count != (__u64)mappers ||
		    kpageflags_get(pfn, &flags) ||
		    !kpf_has(flags, KPF_KSM))) {
		TH_LOG("KSM page: kpagecount %llu, want %d; flags %#llx",
		       (unsigned long long)count, mappers,
		       (unsigned long long)flags);
		bad++;
	}
	return bad;
}

/* No KSM page left in member @m: every page its own, contents intact. */
static int check_unmerged(struct __test_metadata *_metadata,
			  struct ksm_world *w, int m)
{
	pid_t pid = crew_pid(w->crew, m);
	struct pagemap_entry e;
	unsigned long kb;
	int i, bad = 0;
	__u64 count;

	if (region_ksm_kb(w, m, &kb) || kb) {
		TH_LOG("P%d: smaps KSM %lu kB after unmerge", m, kb);
		bad++;
	}
	for (i = 0; i < PAGES; i++) {
		if (pagemap_get(pid, (unsigned long)region_of(w, m) + i * psize(),
				&e) || !e.present || !e.exclusive || e.file ||
		    kpagecount_get(e.pfn, &count) || count != 1) {
			TH_LOG("P%d page %d: present %d exclusive %d bit 61 %d",
			       m, i, e.present, e.exclusive, e.file);
			bad++;
		}
	}
	return bad + (verify(w, m) != 0);
}

/* Map and fill every member, then make it mergeable by @op, @arg. */
static void merge_all(struct __test_metadata *_metadata,
		      FIXTURE_DATA(ksm) * self, int op, long arg)
{
	struct ksm_world *w = &self->w;
	int m;

	for (m = 0; m < w->nr; m++) {
		ASSERT_EQ(0, map_same(w, m, SAME));
		ASSERT_EQ(0, cmd(w, m, op, 0, PAGES, arg));
	}
	for (m = 0; m < w->nr; m++)
		ASSERT_EQ(0, wait_merged(w, m, PAGES))
			TH_LOG("P%d: pages not merged within %d ms", m, MERGE_MS);
	EXPECT_EQ(0, check_merged(_metadata, w, 7));
	for (m = 0; m < w->nr; m++)
		EXPECT_EQ(0, verify(w, m));
}

/*
 * Three unrelated processes with lazy (never forked) VMAs of identical
 * pages: all merge into one KSM page; a COW write unmerges one page;
 * MADV_UNMERGEABLE unmerges a whole process.
 *
 *   P0 [ K K K ... K ]     K: the one KSM page, mapped 48 times
 *   P1 [ K K K ... K ]
 *   P2 [ K K K ... K ]
 *   P1 writes page 0:      P1 [ 1 K K ... K ]   its own copy, exclusive
 *   P2 MADV_UNMERGEABLE:   P2 [ 2 2 2 ... 2 ]   all its own again
 */
TEST_F_TIMEOUT(ksm, lazy_vmas_merge_and_unmerge, 90)
{
	struct ksm_world *w = &self->w;
	char report[2048];

	merge_all(_metadata, self, CREW_MADVISE, MADV_MERGEABLE);
	ASSERT_EQ(0, write_page0(w, 1));
	EXPECT_EQ(0, check_merged(_metadata, w, 7));
	ASSERT_EQ(0, cmd(w, 2, CREW_MADVISE, 0, PAGES, MADV_UNMERGEABLE));
	EXPECT_EQ(0, check_unmerged(_metadata, w, 2));
	EXPECT_EQ(0, check_merged(_metadata, w, 3));
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/* The same merge through PR_SET_MEMORY_MERGE; run=2 unmerges everything. */
TEST_F_TIMEOUT(ksm, prctl_merge_then_run_2, 90)
{
	struct ksm_world *w = &self->w;
	char report[2048];
	int m;

	merge_all(_metadata, self, CREW_MERGE_ANY, 0);
	ASSERT_EQ(0, knob_set(KSM_SYSFS "/run", "2"));
	for (m = 0; m < w->nr; m++)
		EXPECT_EQ(0, check_unmerged(_metadata, w, m));
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * Fork after merge: the child inherits the KSM mappings (and, under
 * ANON_VMA_LAZY, PARENT-typed VMAs); its COW write of page 0 copies the KSM
 * page for the child only.
 *
 *   P0, P1, P2 [ K K ... K ]   merged
 *   P2 forks P3: P3 [ K K ... K ]   the KSM page mapped 64 times
 *   P3 writes page 0: P3 [ 3 K ... K ], the others unchanged
 */
TEST_F_TIMEOUT(ksm, fork_after_merge_cow_in_child, 90)
{
	struct ksm_world *w = &self->w;
	char report[2048];

	merge_all(_metadata, self, CREW_MADVISE, MADV_MERGEABLE);
	ASSERT_EQ(0, cmd(w, 2, CREW_FORK, 0, 0, 3));	/* P3, child of P2 */
	w->nr = 4;
	w->forked[3] = true;
	w->wrote0[3] = w->wrote0[2];
	EXPECT_EQ(0, check_merged(_metadata, w, 15));
	ASSERT_EQ(0, write_page0(w, 3));
	EXPECT_EQ(0, check_merged(_metadata, w, 15));
	EXPECT_EQ(0, verify(w, 3));
	EXPECT_EQ(0, verify(w, 2));
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/* VMAs of the region in member @m. */
static int region_vmas(struct ksm_world *w, int m)
{
	struct vma_extent v[8];
	unsigned long lo = (unsigned long)region_of(w, m);

	return vma_layout(crew_pid(w->crew, m), lo,
			  lo + PAGES * psize(), v, 8);
}

/*
 * A merged range split by mprotect and joined again, then the processes
 * exit one by one: the KSM page stays shared by exactly the survivors.
 *
 *   P1 [ K K K K | K K K K | K ... K ]   mprotect of pages 4..7: 3 VMAs
 *   P1 [ K K K K   K K K K   K ... K ]   back to rw: one VMA again
 *   P0 exits, then P2: P1's pages still map K, now mapped 16 times
 */
TEST_F_TIMEOUT(ksm, merged_range_split_then_exits, 90)
{
	struct ksm_world *w = &self->w;
	unsigned int alive = 7;
	char report[2048];
	int k, m;

	merge_all(_metadata, self, CREW_MADVISE, MADV_MERGEABLE);
	ASSERT_EQ(0, cmd(w, 1, CREW_MPROTECT, PAGES / 4, PAGES / 2, PROT_READ));
	EXPECT_EQ(3, region_vmas(w, 1));
	EXPECT_EQ(0, check_merged(_metadata, w, alive));
	ASSERT_EQ(0, cmd(w, 1, CREW_MPROTECT, PAGES / 4, PAGES / 2,
			 PROT_READ | PROT_WRITE));
	EXPECT_EQ(1, region_vmas(w, 1));
	EXPECT_EQ(0, check_merged(_metadata, w, alive));
	EXPECT_EQ(0, verify(w, 1));
	for (k = 0; k < 2; k++) {
		m = k == 0 ? 0 : 2;	/* the first, then the last */
		ASSERT_EQ(0, crew_exit(w->crew, m));
		alive &= ~(1U << m);
		EXPECT_EQ(0, check_merged(_metadata, w, alive))
			TH_LOG("after P%d exited", m);
	}
	EXPECT_EQ(0, verify(w, 1));
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * Migrate the KSM page through member @m's mapping (a walk of a KSM page
 * that must reach every mapper) and check that every member in @mask
 * follows: one KSM page still, at a new PFN, on the target node.
 */
static void migrate_ksm_page(struct __test_metadata *_metadata,
			     struct ksm_world *w, int m, unsigned int mask,
			     const int *nodes)
{
	pid_t pid = crew_pid(w->crew, m);
	void *page = region_of(w, m) + (PAGES - 1) * psize();
	int status, node, to, q, i;
	struct pagemap_entry e;
	__u64 before;

	/* ksmd holds page references while it scans: stop it (pages stay). */
	ASSERT_EQ(0, knob_set(KSM_SYSFS "/run", "0"));
	ASSERT_EQ(0, pagemap_get(pid, (unsigned long)page, &e));
	before = e.pfn;
	ASSERT_EQ(0, pages_node(pid, &page, 1, &node));
	to = node == nodes[0] ? nodes[1] : nodes[0];
	ASSERT_EQ(0, pages_move(pid, &page, 1, to, &status))
		TH_LOG("P%d: move_pages status %d", m, status);
	/* Where the page is now, not what the move reported. */
	ASSERT_EQ(0, pages_node(pid, &page, 1, &node));
	EXPECT_EQ(to, node);
	ASSERT_EQ(0, pagemap_get(pid, (unsigned long)page, &e));
	EXPECT_NE(before, e.pfn);
	/* One KSM page still: the migrated one, in every process. */
	EXPECT_EQ(0, check_merged(_metadata, w, mask));
	for (q = 0; q < w->nr; q++) {
		if (!(mask & (1U << q)))
			continue;
		for (i = 0; i < PAGES; i++)
			EXPECT_EQ(0, pagemap_get(crew_pid(w->crew, q),
						 (unsigned long)region_of(w, q) + i * psize(),
						 &e) || e.pfn == before)
				TH_LOG("P%d page %d still at the old PFN", q, i);
		EXPECT_EQ(0, verify(w, q));
	}
}

/* Migrating the KSM page walks all its mappings: every one must follow. */
TEST_F_TIMEOUT(ksm, migrate_merged_page, 90)
{
	char report[2048];
	int nodes[2];

	if (numa_usable_nodes(nodes, 2) < 2)
		SKIP(return, "needs 2 NUMA nodes with memory for migration");
	merge_all(_metadata, self, CREW_MADVISE, MADV_MERGEABLE);
	migrate_ksm_page(_metadata, &self->w, 0, 7, nodes);
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * mremap of a merged range: the kernel unmerges the moved pages (they
 * must not turn up as KSM pages at the new place) and ksmd merges them
 * again once they are back. Under ANON_VMA_LAZY the moved VMA's pages find
 * their address from vm_start - vm_pgoff, which mremap rewrites.
 *
 *   P1 [ K ... K ][ gap ][ unmapped ]   merged with P0 and P2
 *   P1 [ unmapped ][ gap ][ 1 ... 1 ]   moved away: its own pages
 *   P1 [ 1 ... 1 ][ gap ][ unmapped ]   moved back; ksmd merges again
 */
TEST_F_TIMEOUT(ksm, merged_range_mremap_away_and_back, 90)
{
	struct ksm_world *w = &self->w;
	char report[2048];

	merge_all(_metadata, self, CREW_MADVISE, MADV_MERGEABLE);
	/* No remerge behind our back while P1 is away. */
	ASSERT_EQ(0, knob_set(KSM_SYSFS "/run", "0"));
	ASSERT_EQ(0, cmd(w, 1, CREW_MREMAP, 0, PAGES, AWAY));
	EXPECT_EQ(1, region_vmas(w, 1));
	EXPECT_EQ(0, check_unmerged(_metadata, w, 1));
	EXPECT_EQ(0, check_merged(_metadata, w, 5));
	ASSERT_EQ(0, cmd(w, 1, CREW_MREMAP, 0, PAGES, 0));
	EXPECT_EQ(1, region_vmas(w, 1));
	EXPECT_EQ(0, check_unmerged(_metadata, w, 1));
	ASSERT_EQ(0, ksm_start_fast());
	ASSERT_EQ(0, wait_merged(w, 1, PAGES))
		TH_LOG("P1: pages not merged again within %d ms", MERGE_MS);
	EXPECT_EQ(0, check_merged(_metadata, w, 7));
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * ksm_tree: a lazy process P0 next to a fork chain P1 -> P2 -> P3. P1 maps
 * its region with contents of its own and forks; then every process of the
 * chain COW-writes the common contents (P1 and P2 copy, P3 reuses the page
 * it inherited from P1), so KSM merges pages of a lazy VMA, of an upgraded
 * one (P1) and of inherited (PARENT-typed) ones into one page. The chain
 * then exits in the variant's order, the KSM page staying shared by
 * exactly the survivors.
 *
 *   P0 [ S S ... S ]                        lazy, the common contents S
 *   P1 [ O O ... O ] --fork--> P2 --fork--> P3   all map P1's pages O
 *   P1, P2, P3 write S: P1 and P2 copy, P3 reuses the page O it mapped
 *   ksmd: P0, P1, P2, P3 [ K K ... K ]      one KSM page
 */
FIXTURE(ksm_tree) {
	struct ksm_world w;
	struct khealth health;
};

FIXTURE_VARIANT(ksm_tree) {
	int exit_order[3];
};

FIXTURE_VARIANT_ADD(ksm_tree, root_first) {
	.exit_order = { 1, 2, 3 },
};

FIXTURE_VARIANT_ADD(ksm_tree, leaf_first) {
	.exit_order = { 3, 2, 1 },
};

FIXTURE_VARIANT_ADD(ksm_tree, middle_first) {
	.exit_order = { 2, 3, 1 },
};

FIXTURE_VARIANT_ADD(ksm_tree, middle_then_root) {
	.exit_order = { 2, 1, 3 },
};

FIXTURE_SETUP(ksm_tree)
{
	/* P0 and P1 unrelated; P1 forks P2, P2 forks P3. */
	world_init(_metadata, &self->w, &self->health, 2);
}

FIXTURE_TEARDOWN(ksm_tree)
{
	world_destroy(&self->w);
}

static void cow_identical_then_exits(struct __test_metadata *_metadata,
				     FIXTURE_DATA(ksm_tree) * self,
				     const int *exit_order, const int *nodes)
{
	struct ksm_world *w = &self->w;
	unsigned int alive = 15;
	char report[2048];
	int k, m;

	ASSERT_EQ(0, map_same(w, 0, SAME));
	ASSERT_EQ(0, map_same(w, 1, P1_OWN));
	ASSERT_EQ(0, cmd(w, 1, CREW_FORK, 0, 0, 2));
	ASSERT_EQ(0, cmd(w, 2, CREW_FORK, 0, 0, 3));
	w->nr = 4;
	for (m = 1; m < w->nr; m++)
		ASSERT_EQ(0, cmd(w, m, CREW_FILL_SAME, 0, PAGES, SAME));
	for (m = 0; m < w->nr; m++)
		ASSERT_EQ(0, cmd(w, m, CREW_MADVISE, 0, PAGES, MADV_MERGEABLE));
	for (m = 0; m < w->nr; m++)
		ASSERT_EQ(0, wait_merged(w, m, PAGES))
			TH_LOG("P%d: pages not merged within %d ms", m, MERGE_MS);
	EXPECT_EQ(0, check_merged(_metadata, w, alive));
	for (m = 0; m < w->nr; m++)
		EXPECT_EQ(0, verify(w, m));
	/* Through the leaf's mapping: the page P3 inherited from P1. */
	if (nodes)
		migrate_ksm_page(_metadata, w, 3, alive, nodes);
	for (k = 0; k < 3; k++) {
		m = exit_order[k];
		ASSERT_EQ(0, crew_exit(w->crew, m));
		alive &= ~(1U << m);
		EXPECT_EQ(0, check_merged(_metadata, w, alive))
			TH_LOG("after P%d exited", m);
		if (nodes && k < 2)
			migrate_ksm_page(_metadata, w, 0, alive, nodes);
	}
	EXPECT_EQ(0, verify(w, 0));
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

TEST_F_TIMEOUT(ksm_tree, cow_identical_merge_then_exits, 90)
{
	cow_identical_then_exits(_metadata, self, variant->exit_order, NULL);
}

/* The same with the KSM page migrated through each survivor in turn. */
TEST_F_TIMEOUT(ksm_tree, cow_identical_merge_migrate_then_exits, 120)
{
	int nodes[2];

	if (numa_usable_nodes(nodes, 2) < 2)
		SKIP(return, "needs 2 NUMA nodes with memory for migration");
	cow_identical_then_exits(_metadata, self, variant->exit_order, nodes);
}

TEST_HARNESS_MAIN
