// SPDX-License-Identifier: GPL-2.0
/*
 * ksm_numa: KSM with merge_across_nodes=0, one stable tree per NUMA node:
 * KSM pages migrated to the other node keep every mapping reachable by
 * rmap while ksmd moves their stable nodes to the tree of the new node,
 * into a chain with the KSM page of the same contents there, or (mapped
 * once) next to it. Needs two NUMA nodes with memory (vmtest.sh has them).
 * The world is ksm's (ksm_world.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "../../kselftest_harness.h"
#include "harness_main.h"
#include "ksm_checks.h"

FIXTURE(ksm_numa) {
	struct ksm_world w;
	struct khealth health;
};

FIXTURE_SETUP(ksm_numa)
{
	/* Members 0..2: unrelated processes, all forked by the test. */
	world_init(_metadata, &self->w, &self->health, 3);
}

FIXTURE_TEARDOWN(ksm_numa)
{
	world_destroy(&self->w);
}

/*
 * ksmd running fast with one stable tree per node (merge_across_nodes 0),
 * which can be set only while no KSM page exists: run=2 unmerges them
 * first. 0 with *@why set when the machine cannot (a SKIP), or -errno.
 */
static int ksm_start_per_node(int nodes[2], const char **why)
{
	int ret;

	*why = NULL;
	if (numa_usable_nodes(nodes, 2) < 2)
		*why = "needs 2 NUMA nodes with memory for migration";
	else if (access(KSM_SYSFS "/merge_across_nodes", F_OK))
		*why = "no merge_across_nodes (kernel without CONFIG_NUMA)";
	if (*why)
		return 0;
	ret = knob_set(KSM_SYSFS "/run", "2");
	if (ret)
		return ret;
	ret = knob_set(KSM_SYSFS "/merge_across_nodes", "0");
	if (ret == -EBUSY) {
		*why = "KSM pages that run=2 cannot unmerge exist (merge_across_nodes stays)";
		return 0;
	}
	return ret ? ret : ksm_start_fast();
}

/*
 * With merge_across_nodes=0 every node has a stable tree of its own and a
 * KSM page never gets mappers from another node. A KSM page migrated to
 * the other node keeps its mappers (the walk of its rmap items moved them
 * all), and ksmd, when it next sees one of its rmap items, moves its
 * stable node to the tree of the new node: into a chain with the KSM page
 * of the same contents there when it is mapped more than once. Whatever
 * ksmd rearranges, every mapping stays where the walks put it, contents
 * intact.
 *
 *   node a: P0 [ Ka x16 ]            node b: P1 [ Kb x16 ]
 *   Ka -> node b, ksmd scans:        chain on b { Ka, Kb }, PFNs stay
 *   Kb -> node a, ksmd scans; run=2: every page its own again
 */

/*
 * Node and PFN of pages [@first, @last) of member @m: one PFN for all,
 * or -1.
 */
static int region_pfn(struct ksm_world *w, int m, int first, int last,
		      __u64 *pfn, int *node)
{
	void *page = region_of(w, m) + first * psize();
	struct pagemap_entry e;
	int i;

	for (i = first; i < last; i++) {
		if (pagemap_get(crew_pid(w->crew, m),
				(unsigned long)region_of(w, m) + i * psize(), &e) ||
		    !e.pfn || (i > first && e.pfn != *pfn))
			return -1;
		*pfn = e.pfn;
	}
	return pages_node(crew_pid(w->crew, m), &page, 1, node) ? -1 : 0;
}

/* Node and PFN of pages [0, @n) of member @m: one PFN for all, or -1. */
static int region_one_pfn(struct ksm_world *w, int m, int n, __u64 *pfn,
			  int *node)
{
	return region_pfn(w, m, 0, n, pfn, node);
}

/* ksmd (run=1) goes over every mm twice: a deadline of MERGE_MS. */
static int ksm_two_full_scans(void)
{
	unsigned long start, now;
	long long deadline = now_ms() + MERGE_MS;

	if (read_ulong(KSM_SYSFS "/full_scans", &start) ||
	    knob_set(KSM_SYSFS "/run", "1"))
		return -1;
	do {
		if (read_ulong(KSM_SYSFS "/full_scans", &now))
			return -1;
		if (now >= start + 2)
			return 0;
		usleep(10000);
	} while (now_ms() < deadline);
	return -ETIMEDOUT;
}

/* Move page @i of member @m's region (MOVE_ALL) to @node, ksmd stopped. */
static int move_page(struct ksm_world *w, int m, int i, int node)
{
	void *page = region_of(w, m) + i * psize();
	int status;

	if (knob_set(KSM_SYSFS "/run", "0"))
		return -1;
	return pages_move(crew_pid(w->crew, m), &page, 1, node, &status);
}

static int move_page0(struct ksm_world *w, int m, int node)
{
	return move_page(w, m, 0, node);
}

/* Pages [0, @n) of member @m map @pfn, on @node, as the walks left them. */
static void check_one_pfn(struct __test_metadata *_metadata,
			  struct ksm_world *w, int m, int n, __u64 pfn,
			  int node)
{
	int where = -1;
	__u64 now = 0;

	EXPECT_EQ(0, region_one_pfn(w, m, n, &now, &where))
		TH_LOG("P%d: pages not all at one PFN", m);
	EXPECT_EQ(pfn, now) TH_LOG("P%d: at %#llx, want %#llx", m,
				   (unsigned long long)now,
				   (unsigned long long)pfn);
	EXPECT_EQ(node, where) TH_LOG("P%d", m);
	EXPECT_EQ(0, verify(w, m)) TH_LOG("P%d", m);
}

TEST_F_TIMEOUT(ksm_numa, per_node_trees_after_migration, 120)
{
	__u64 ka, kb, pfn, count;
	struct ksm_world *w = &self->w;
	int nodes[2], node, m;
	const char *why;
	char report[2048];

	ASSERT_EQ(0, ksm_start_per_node(nodes, &why));
	if (why)
		SKIP(return, "%s", why);
	for (m = 0; m < 2; m++) {
		ASSERT_EQ(0, cmd(w, m, CREW_MMAP, 0, PAGES, 0));
		ASSERT_EQ(0, cmd(w, m, CREW_MBIND, 0, PAGES, nodes[m]));
		ASSERT_EQ(0, cmd(w, m, CREW_FILL_SAME, 0, PAGES, SAME));
		ASSERT_EQ(0, cmd(w, m, CREW_MADVISE, 0, PAGES, MADV_MERGEABLE));
	}
	for (m = 0; m < 2; m++)
		ASSERT_EQ(0, wait_merged(w, m, PAGES))
			TH_LOG("P%d: pages not merged within %d ms", m, MERGE_MS);
	/* One KSM page per node, never one for both. */
	ASSERT_EQ(0, region_one_pfn(w, 0, PAGES, &ka, &node));
	EXPECT_EQ(nodes[0], node);
	ASSERT_EQ(0, region_one_pfn(w, 1, PAGES, &kb, &node));
	EXPECT_EQ(nodes[1], node);
	EXPECT_NE(ka, kb);
	ASSERT_EQ(0, kpagecount_get(ka, &count));
	EXPECT_EQ((__u64)PAGES, count);

	/* Ka to node b: its 16 mappings follow; ksmd chains it with Kb. */
	ASSERT_EQ(0, move_page0(w, 0, nodes[1]));
	ASSERT_EQ(0, region_one_pfn(w, 0, PAGES, &pfn, &node));
	EXPECT_NE(ka, pfn);
	ka = pfn;
	check_one_pfn(_metadata, w, 0, PAGES, ka, nodes[1]);
	ASSERT_EQ(0, ksm_two_full_scans());
	check_one_pfn(_metadata, w, 0, PAGES, ka, nodes[1]);
	check_one_pfn(_metadata, w, 1, PAGES, kb, nodes[1]);

	/* Kb back to node a, scanned again; then everything unmerged. */
	ASSERT_EQ(0, move_page0(w, 1, nodes[0]));
	ASSERT_EQ(0, region_one_pfn(w, 1, PAGES, &kb, &node));
	EXPECT_EQ(nodes[0], node);
	ASSERT_EQ(0, ksm_two_full_scans());
	check_one_pfn(_metadata, w, 1, PAGES, kb, nodes[0]);
	ASSERT_EQ(0, knob_set(KSM_SYSFS "/run", "2"));
	for (m = 0; m < 2; m++)
		EXPECT_EQ(0, check_unmerged(_metadata, w, m)) TH_LOG("P%d", m);
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * A test's result for a kernel bug known by its fingerprint: XFAIL (not
 * SKIP, not a pass) with the reason, the way SKIP() reports a skip.
 */
#define XFAIL_KNOWN(statement, fmt, ...) do { \
	snprintf(_metadata->results->reason, \
		 sizeof(_metadata->results->reason), fmt, ##__VA_ARGS__); \
	TH_LOG("XFAIL: %s", _metadata->results->reason); \
	_metadata->exit_code = KSFT_XFAIL; \
	statement; \
} while (0)

/* How the known kernel bug below fails, for XFAIL_KNOWN(). */
#define KSM_RMAP_ITEM_BUG \
	"KSM page mapped once, migrated across nodes: rmap item dropped (mm/ksm.c cmp_and_merge_page)"

/*
 * Its fingerprint: member @m's region maps more KSM pages (smaps) than
 * the process has rmap items for (ksm_merging_pages).
 */
static bool ksm_rmap_item_dropped(struct ksm_world *w, int m)
{
	unsigned long merging, kb;

	return !proc_ksm_merging_pages(crew_pid(w->crew, m), &merging) &&
	       !region_ksm_kb(w, m, &kb) && merging < kb / (psize() / 1024);
}

/*
 * The same with a KSM page mapped only once: its stable node goes to the
 * other node's tree (or its mapping into the KSM page there), and in
 * every case the page must stay reachable by rmap: migrated back, it
 * must arrive.
 *
 * Kernels up to at least 6.12 (and the code of later ones) fail this:
 * cmp_and_merge_page() takes the rmap item off the KSM page's stable node
 * before trying to merge the page into the twin found in the other tree,
 * and the merge of a page that is already KSM always fails
 * (write_protect_page(): page_address_in_vma() finds no anon_vma), so the
 * page stays mapped with no rmap item: rmap_walk_ksm() finds nothing, the
 * page can never be migrated or reclaimed again. That fingerprint (a KSM
 * page in smaps, fewer in ksm_merging_pages) is reported as XFAIL; any
 * other way of failing is a FAIL.
 *
 *   node a: P0 [ Kc Kc ], P0 COW-writes page 1: Kc mapped once
 *   node b: P1 [ Kb x16 ]
 *   Kc -> node b, ksmd scans; Kc -> node a: must move
 */
TEST_F_TIMEOUT(ksm_numa, migrated_single_mapping_stays_reachable, 120)
{
	struct ksm_world *w = &self->w;
	int nodes[2], node, ret, m;
	const char *why;
	char report[2048];
	__u64 kc, kb_pfn, pfn;

	ASSERT_EQ(0, ksm_start_per_node(nodes, &why));
	if (why)
		SKIP(return, "%s", why);
	for (m = 0; m < 2; m++) {
		ASSERT_EQ(0, cmd(w, m, CREW_MMAP, 0, PAGES, 0));
		ASSERT_EQ(0, cmd(w, m, CREW_MBIND, 0, PAGES, nodes[m]));
	}
	ASSERT_EQ(0, cmd(w, 0, CREW_FILL_SAME, 0, 2, SAME));
	ASSERT_EQ(0, cmd(w, 0, CREW_FILL, 2, PAGES, OWN(0)));
	ASSERT_EQ(0, cmd(w, 1, CREW_FILL_SAME, 0, PAGES, SAME));
	for (m = 0; m < 2; m++)
		ASSERT_EQ(0, cmd(w, m, CREW_MADVISE, 0, PAGES, MADV_MERGEABLE));
	ASSERT_EQ(0, wait_merged(w, 0, 2))
		TH_LOG("P0: pages not merged within %d ms", MERGE_MS);
	ASSERT_EQ(0, wait_merged(w, 1, PAGES))
		TH_LOG("P1: pages not merged within %d ms", MERGE_MS);
	ASSERT_EQ(0, region_one_pfn(w, 0, 2, &kc, &node));
	EXPECT_EQ(nodes[0], node);
	ASSERT_EQ(0, region_one_pfn(w, 1, PAGES, &kb_pfn, &node));
	EXPECT_NE(kc, kb_pfn);

	/* Kc mapped once, then to node b, where Kb has the same contents. */
	ASSERT_EQ(0, cmd(w, 0, CREW_FILL_SAME, 1, 2, OWN(0)));
	ASSERT_EQ(0, move_page0(w, 0, nodes[1]));
	ASSERT_EQ(0, region_one_pfn(w, 0, 1, &kc, &node));
	EXPECT_EQ(nodes[1], node);
	ASSERT_EQ(0, ksm_two_full_scans());
	ASSERT_EQ(0, region_one_pfn(w, 0, 1, &pfn, &node));
	TH_LOG("policy: P0's page 0 %s", pfn == kb_pfn ?
	       "merged into Kb" : "stays a KSM page of its own");
	EXPECT_EQ(0, verify(w, 0));

	/* Whatever ksmd did, the walk of that page must reach P0. */
	ret = move_page0(w, 0, nodes[0]);
	if (ret && ksm_rmap_item_dropped(w, 0))
		XFAIL_KNOWN(return, "%s", KSM_RMAP_ITEM_BUG);
	ASSERT_EQ(0, ret) TH_LOG("P0's page 0 not migrated: rmap did not reach it");
	ASSERT_EQ(0, region_one_pfn(w, 0, 1, &pfn, &node));
	EXPECT_EQ(nodes[0], node);
	EXPECT_EQ(0, verify(w, 0));
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/* Member @m maps the region on @node, page i tagged { OWN(@m), i }. */
static int map_own_on(struct ksm_world *w, int m, int node)
{
	int ret = cmd(w, m, CREW_MMAP, 0, PAGES, 0);

	if (!ret)
		ret = cmd(w, m, CREW_MBIND, 0, PAGES, node);
	return ret ? ret : cmd(w, m, CREW_FILL, 0, PAGES, OWN(m));
}

/*
 * Migrate page @first of member @m's region to @node: pages [@first,
 * @last), one KSM page, must all arrive there at one PFN, which is what
 * an rmap walk that reached every mapping does. The PFN in @pfn.
 */
static void check_moves_whole(struct __test_metadata *_metadata,
			      struct ksm_world *w, int m, int first, int last,
			      int node, __u64 *pfn)
{
	int where = -1;

	EXPECT_EQ(0, move_page(w, m, first, node))
		TH_LOG("P%d page %d not migrated: rmap did not reach it", m, first);
	EXPECT_EQ(0, region_pfn(w, m, first, last, pfn, &where))
		TH_LOG("P%d: pages %d-%d not all at one PFN", m, first, last - 1);
	EXPECT_EQ(node, where) TH_LOG("P%d page %d", m, first);
}

/*
 * A KSM page migrated to the other node leaves its stable node behind,
 * stale, in the tree of the node it left, until ksmd meets it again:
 * at one of the KSM page's own rmap items, or first in a search of that
 * tree by a page of the same contents on the old node. That search takes
 * the stale node out of the tree (to the migrate_nodes list) and goes on
 * as if it had found nothing; the KSM page's own next scan files it in
 * the tree of its new node. Either way the KSM page keeps both mappings,
 * and the walk migrates it back whole.
 *
 * ksmd searches the stable tree only for a page whose checksum has not
 * changed since its last scan, so page x gets Ka's contents on node b,
 * where it has no twin, and comes to node a later unchanged. Only P0 has
 * mergeable pages: ksmd meets x (page 0) before Ka (pages 1-2) unless it
 * stopped between them.
 *
 *   node a: P0 [ x Ka Ka y ... ]
 *   x -> node b, gets Ka's contents, ksmd scans: no twin there
 *   Ka -> node b, x -> node a, ksmd scans: x meets Ka's stale node
 *   Ka -> node a, x -> node b: each moves whole
 */
TEST_F_TIMEOUT(ksm_numa, stale_stable_node_met_from_old_tree, 120)
{
	struct ksm_world *w = &self->w;
	int nodes[2], node;
	unsigned long kb;
	const char *why;
	char report[2048];
	__u64 ka, pfn;

	ASSERT_EQ(0, ksm_start_per_node(nodes, &why));
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, map_own_on(w, 0, nodes[0]));
	ASSERT_EQ(0, cmd(w, 0, CREW_FILL_SAME, 1, 3, SAME));
	ASSERT_EQ(0, cmd(w, 0, CREW_MADVISE, 0, PAGES, MADV_MERGEABLE));
	ASSERT_EQ(0, wait_merged(w, 0, 2))
		TH_LOG("P0: pages not merged within %d ms", MERGE_MS);
	ASSERT_EQ(0, region_pfn(w, 0, 1, 3, &ka, &node));
	EXPECT_EQ(nodes[0], node);

	/* x gets Ka's contents on node b, where it has no twin. */
	check_moves_whole(_metadata, w, 0, 0, 1, nodes[1], &pfn);
	ASSERT_EQ(0, cmd(w, 0, CREW_FILL_SAME, 0, 1, SAME));
	ASSERT_EQ(0, ksm_two_full_scans());
	ASSERT_EQ(0, region_ksm_kb(w, 0, &kb));
	ASSERT_EQ(2 * psize() / 1024, kb)
		TH_LOG("page x merged on node b, where it has no twin");

	/* Ka to node b, x back to node a: Ka's node in tree a is stale. */
	check_moves_whole(_metadata, w, 0, 1, 3, nodes[1], &ka);
	check_moves_whole(_metadata, w, 0, 0, 1, nodes[0], &pfn);
	ASSERT_EQ(0, ksm_two_full_scans());

	/* Ka keeps both mappings at its PFN on node b, contents intact. */
	ASSERT_EQ(0, region_pfn(w, 0, 1, 3, &pfn, &node))
		TH_LOG("P0: Ka's two mappings no longer at one PFN");
	EXPECT_EQ(ka, pfn);
	EXPECT_EQ(nodes[1], node);
	EXPECT_EQ(0, verify(w, 0));

	/* Every page the walks must find: each migrates, whole. */
	check_moves_whole(_metadata, w, 0, 1, 3, nodes[0], &pfn);
	check_moves_whole(_metadata, w, 0, 0, 1, nodes[1], &pfn);
	EXPECT_EQ(0, verify(w, 0));
	ASSERT_EQ(0, knob_set(KSM_SYSFS "/run", "2"));
	EXPECT_EQ(0, check_unmerged(_metadata, w, 0));
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * Two KSM pages of the same contents, each migrated to the other's node
 * while ksmd slept: each tree holds the other's stale stable node. When
 * ksmd meets K1, mapped once, first (page 0 of the only mergeable
 * process), its search of its new node's tree finds K2's stale node and
 * puts K1's own stable node in its place; K2's next scan files K2 in the
 * other tree. Both KSM pages keep their mappings, and each migrates back
 * whole.
 *
 *   P0 [ K1 K2 K2 K1 y ... ]   K1 on node a, K2 on node b
 *   P0 COW-writes page 3: K1 mapped once
 *   K1 -> node b, K2 -> node a, ksmd scans
 *   K1 -> node a, K2 -> node b: each moves whole
 */
TEST_F_TIMEOUT(ksm_numa, stale_stable_nodes_in_both_trees, 120)
{
	struct ksm_world *w = &self->w;
	int nodes[2], node, ret;
	const char *why;
	char report[2048];
	__u64 k1, k2, pfn;

	ASSERT_EQ(0, ksm_start_per_node(nodes, &why));
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, map_own_on(w, 0, nodes[0]));
	ASSERT_EQ(0, cmd(w, 0, CREW_FILL_SAME, 0, 4, SAME));
	check_moves_whole(_metadata, w, 0, 1, 2, nodes[1], &pfn);
	check_moves_whole(_metadata, w, 0, 2, 3, nodes[1], &pfn);
	ASSERT_EQ(0, knob_set(KSM_SYSFS "/run", "1"));
	ASSERT_EQ(0, cmd(w, 0, CREW_MADVISE, 0, PAGES, MADV_MERGEABLE));
	ASSERT_EQ(0, wait_merged(w, 0, 4))
		TH_LOG("P0: pages not merged within %d ms", MERGE_MS);
	/* K1 mapped once: P0 COW-writes its page 3. */
	ASSERT_EQ(0, cmd(w, 0, CREW_FILL_SAME, 3, 4, OWN(0)));
	ASSERT_EQ(0, region_pfn(w, 0, 0, 1, &k1, &node));
	EXPECT_EQ(nodes[0], node);
	ASSERT_EQ(0, region_pfn(w, 0, 1, 3, &k2, &node))
		TH_LOG("pages 1-2 not merged into one KSM page on node b");
	EXPECT_EQ(nodes[1], node);
	EXPECT_NE(k1, k2);

	check_moves_whole(_metadata, w, 0, 0, 1, nodes[1], &k1);
	check_moves_whole(_metadata, w, 0, 1, 3, nodes[0], &k2);
	ASSERT_EQ(0, ksm_two_full_scans());
	EXPECT_EQ(0, verify(w, 0));
	ASSERT_EQ(0, region_pfn(w, 0, 1, 3, &pfn, &node))
		TH_LOG("K2's two mappings no longer at one PFN");
	EXPECT_EQ(k2, pfn);
	EXPECT_EQ(nodes[0], node);
	ASSERT_EQ(0, region_pfn(w, 0, 0, 1, &pfn, &node));
	TH_LOG("policy: page 0 %s", pfn == k1 ? "stays K1" :
	       pfn == k2 ? "merged into K2" : "at another PFN");

	/* The walk of page 0 must reach P0 (the known kernel bug aside). */
	ret = move_page(w, 0, 0, nodes[0]);
	if (ret && ksm_rmap_item_dropped(w, 0))
		XFAIL_KNOWN(return, "%s", KSM_RMAP_ITEM_BUG);
	EXPECT_EQ(0, ret) TH_LOG("page 0 not migrated: rmap did not reach it");
	check_moves_whole(_metadata, w, 0, 1, 3, nodes[1], &pfn);
	EXPECT_EQ(0, verify(w, 0));
	ASSERT_EQ(0, knob_set(KSM_SYSFS "/run", "2"));
	EXPECT_EQ(0, check_unmerged(_metadata, w, 0));
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

AVL_HARNESS_MAIN
