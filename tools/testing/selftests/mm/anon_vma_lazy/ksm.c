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
 * reach every mapper (one stable tree per node is ksm_numa's). ksmd runs
 * fast during a test; every KSM tunable is restored afterwards, also when
 * the test is killed. The processes and checks are in ksm_world.h and
 * ksm_checks.h.
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
#include "harness_main.h"
#include "ksm_checks.h"

FIXTURE(ksm) {
	struct ksm_world w;
	char cgroup[512];	/* a memory cgroup of the members, when set */
	struct khealth health;
};

FIXTURE_SETUP(ksm)
{
	/* Members 0..2: unrelated processes, all forked by the test. */
	world_init(_metadata, &self->w, &self->health, 3);
}

FIXTURE_TEARDOWN(ksm)
{
	world_destroy(&self->w);
	/* Empty once the members are gone. */
	if (self->cgroup[0])
		memcg_destroy(self->cgroup);
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
 * With max_page_sharing 2, one KSM page may be mapped twice at most: the
 * 48 identical pages of three processes merge into a chain of KSM pages
 * (a stable_node chain of duplicates, each with its own rmap items).
 * Every mapping must still be a KSM page mapped at most twice, and the
 * mappings of each one must add up; migrating one of the duplicates walks
 * its rmap items, and every mapping of it must follow; a COW write
 * unmerges one mapping.
 *
 *   P0 [ K1 K1 K2 K2 ... ]   P1 [ K9 K9 ... ]   P2 [ ... ]
 *   each Kn mapped twice: 24 KSM pages for 48 mappings
 */
#define CHAIN_MAPPINGS	(3 * PAGES)

/* PFN of every mapping of members 0..2; how many are KSM, and distinct. */
static int chain_pfns(struct ksm_world *w, __u64 *pfn, int *distinct)
{
	struct pagemap_entry e;
	int m, i, j, k = 0, bad = 0;
	__u64 flags;

	for (m = 0; m < 3; m++)
		for (i = 0; i < PAGES; i++, k++) {
			if (pagemap_get(crew_pid(w->crew, m),
					(unsigned long)region_of(w, m) +
					i * psize(), &e) || !e.pfn)
				return -1;
			pfn[k] = e.pfn;
			if (kpageflags_get(e.pfn, &flags) ||
			    !kpf_has(flags, KPF_KSM))
				bad++;
		}
	for (*distinct = 0, k = 0; k < CHAIN_MAPPINGS; k++) {
		for (j = 0; j < k && pfn[j] != pfn[k]; j++)
			;
		*distinct += j == k;
	}
	return bad;
}

/* Each KSM page in @pfn is mapped as often as kpagecount says, <= 2. */
static int chain_counts(const __u64 *pfn)
{
	int k, j, seen, bad = 0;
	__u64 count;

	for (k = 0; k < CHAIN_MAPPINGS; k++) {
		for (seen = 0, j = 0; j < CHAIN_MAPPINGS; j++)
			seen += pfn[j] == pfn[k];
		if (kpagecount_get(pfn[k], &count) || count != (__u64)seen ||
		    count > 2)
			bad++;
	}
	return bad;
}

/*
 * After migrating the KSM page of mapping @moved: the mappings of that
 * page are at its new PFN, all others where they were. The number of
 * mappings that are not.
 */
static int chain_followed(const __u64 *pfn, const __u64 *after, int moved)
{
	int k, bad = 0;

	for (k = 0; k < CHAIN_MAPPINGS; k++) {
		bool was = pfn[k] == pfn[moved];

		if (was == (after[k] == after[moved] && after[k] != pfn[k]))
			continue;
		fprintf(stderr, "# mapping %d: %#llx -> %#llx\n", k,
			(unsigned long long)pfn[k],
			(unsigned long long)after[k]);
		bad++;
	}
	return bad;
}

TEST_F_TIMEOUT(ksm, merged_into_chains_of_max_page_sharing, 90)
{
	__u64 pfn[CHAIN_MAPPINGS], after[CHAIN_MAPPINGS], flags, count;
	struct ksm_world *w = &self->w;
	const int last = CHAIN_MAPPINGS - 1;
	int distinct, m, ret, nodes[2];
	struct pagemap_entry e;
	char report[2048];

	/*
	 * Only while no KSM page exists, stale ones of earlier tests
	 * included: unmerge everything first (run=2), then scan again.
	 */
	ASSERT_EQ(0, knob_set(KSM_SYSFS "/run", "2"));
	ret = knob_set(KSM_SYSFS "/max_page_sharing", "2");
	if (ret == -EBUSY)
		SKIP(return, "KSM pages that run=2 cannot unmerge exist (max_page_sharing stays)");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, ksm_start_fast());
	for (m = 0; m < 3; m++) {
		ASSERT_EQ(0, map_same(w, m, SAME));
		ASSERT_EQ(0, cmd(w, m, CREW_MADVISE, 0, PAGES, MADV_MERGEABLE));
	}
	for (m = 0; m < 3; m++)
		ASSERT_EQ(0, wait_merged(w, m, PAGES))
			TH_LOG("P%d: pages not merged within %d ms", m, MERGE_MS);
	/* ksmd would keep rearranging the chain: stop it, pages stay. */
	ASSERT_EQ(0, knob_set(KSM_SYSFS "/run", "0"));
	ASSERT_EQ(0, chain_pfns(w, pfn, &distinct));
	TH_LOG("%d mappings in %d KSM pages", CHAIN_MAPPINGS, distinct);
	EXPECT_LE(CHAIN_MAPPINGS / 2, distinct);
	EXPECT_EQ(0, chain_counts(pfn));

	/* Migrating the duplicate P2's last page maps moves all its mappings. */
	if (numa_usable_nodes(nodes, 2) >= 2) {
		void *page = region_of(w, 2) + (PAGES - 1) * psize();
		int node, to, status;

		ASSERT_EQ(0, pages_node(crew_pid(w->crew, 2), &page, 1, &node));
		to = node == nodes[0] ? nodes[1] : nodes[0];
		ASSERT_EQ(0, pages_move(crew_pid(w->crew, 2), &page, 1, to,
					&status)) TH_LOG("status %d", status);
		ASSERT_EQ(0, chain_pfns(w, after, &distinct));
		EXPECT_EQ(0, chain_counts(after));
		EXPECT_EQ(0, chain_followed(pfn, after, last));
	}

	/* P1's COW write of page 0 makes that mapping its own. */
	ASSERT_EQ(0, write_page0(w, 1));
	ASSERT_EQ(0, pagemap_get(crew_pid(w->crew, 1),
				 (unsigned long)region_of(w, 1), &e));
	ASSERT_EQ(0, kpagecount_get(e.pfn, &count));
	EXPECT_TRUE(e.exclusive && count == 1)
		TH_LOG("exclusive %d, mapcount %llu", e.exclusive,
		       (unsigned long long)count);
	/* Some kernels flag every anon page KPF_KSM: only where not. */
	if (kpageflags_ksm_on_plain_anon() == 0) {
		ASSERT_EQ(0, kpageflags_get(e.pfn, &flags));
		EXPECT_FALSE(kpf_has(flags, KPF_KSM));
	}
	for (m = 0; m < 3; m++)
		EXPECT_EQ(0, verify(w, m));
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * Reclaim of a KSM page: try_to_unmap() walks its rmap items (not an
 * anon_vma tree) and leaves a swap entry in every mapping; each process
 * then reads its pages back, where do_swap_page() reuses the KSM folio
 * while it is in the swap cache or reads a copy. Whichever way, every
 * process sees its contents, the mappers of one PFN are exactly what
 * kpagecount says, and ksmd merges everything back into one KSM page.
 *
 *   P0..P2 [ K K ... K ]  48 mappings of K, charged to a memory cgroup
 *   memory.reclaim:   [ s s ... s ]  swap entries in all three
 *   read back, ksmd:  [ K K ... K ]
 */
TEST_F_TIMEOUT(ksm, merged_page_reclaimed_and_back, 90)
{
	long long deadline = now_ms() + 20000;
	struct ksm_world *w = &self->w;
	char *cgroup = self->cgroup;
	int m, i, left, ret, seen;
	char report[2048];
	struct pagemap_entry e;
	__u64 pfn[CHAIN_MAPPINGS], count;
	const char *why;

	if (!swap_enabled())
		SKIP(return, "needs swap for reclaim");
	why = memcg_create(cgroup, sizeof(self->cgroup));
	if (why) {
		cgroup[0] = 0;
		SKIP(return, "%s", why);
	}
	for (m = 0; m < w->nr; m++)
		ASSERT_EQ(0, memcg_attach(cgroup, crew_pid(w->crew, m)));
	merge_all(_metadata, self, CREW_MADVISE, MADV_MERGEABLE);
	/* ksmd would hold references while scanning: stop it. */
	ASSERT_EQ(0, knob_set(KSM_SYSFS "/run", "0"));
	do {
		ret = memcg_reclaim(cgroup, 16 * PAGES * psize());
		ASSERT_TRUE(!ret || ret == -EAGAIN)
			TH_LOG("memory.reclaim: %s", strerror(-ret));
		for (left = 0, m = 0; m < w->nr; m++)
			for (i = 0; i < PAGES; i++)
				left += pagemap_get(crew_pid(w->crew, m),
						    (unsigned long)region_of(w, m) +
						    i * psize(), &e) || !e.swapped;
	} while (left && now_ms() < deadline);
	EXPECT_EQ(0, left) TH_LOG("%d KSM mappings not swapped out", left);

	/* Read back: contents, and kpagecount agrees with the PFNs seen. */
	for (m = 0; m < w->nr; m++)
		EXPECT_EQ(0, verify(w, m)) TH_LOG("P%d", m);
	for (m = 0; m < w->nr; m++)
		for (i = 0; i < PAGES; i++) {
			ASSERT_EQ(0, pagemap_get(crew_pid(w->crew, m),
						 (unsigned long)region_of(w, m) +
						 i * psize(), &e));
			ASSERT_TRUE(e.present && e.pfn);
			pfn[m * PAGES + i] = e.pfn;
		}
	for (m = 0; m < CHAIN_MAPPINGS; m++) {
		for (seen = 0, i = 0; i < CHAIN_MAPPINGS; i++)
			seen += pfn[i] == pfn[m];
		ASSERT_EQ(0, kpagecount_get(pfn[m], &count));
		EXPECT_EQ((__u64)seen, count) TH_LOG("mapping %d", m);
	}
	ASSERT_EQ(0, ksm_start_fast());
	for (m = 0; m < w->nr; m++)
		ASSERT_EQ(0, wait_merged(w, m, PAGES))
			TH_LOG("P%d: not merged again within %d ms", m, MERGE_MS);
	EXPECT_EQ(0, check_merged(_metadata, w, 7));
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * With use_zero_pages set, ksmd maps a page that holds only zeroes to the
 * shared zero page instead of merging it into a KSM page
 * (replace_page() with the zero page: the anon folio is unmapped and
 * freed, the mm counts one anon page less). The zero page has no rmap. A
 * write COWs it into a fresh anon page of the VMA, the process's alone;
 * the rest still reads as zeroes.
 *
 *   [ 0 0 0 ... 0 ]  written zeroes, mergeable   ksmd: [ z z z ... z ]
 *   write page 3:    [ z z z 3 z ... z ]   3: anon again
 */
TEST_F_TIMEOUT(ksm, zero_pages_mapped_to_the_zero_page, 90)
{
	size_t len = PAGES * psize();
	struct page_tag tag = { .owner = 9, .index = 3 }, none = { 0 };
	long long deadline = now_ms() + MERGE_MS;
	__u64 zero_pfn;
	struct pagemap_entry e;
	char *p, report[2048];
	int i, left;

	if (access(KSM_SYSFS "/use_zero_pages", F_OK))
		SKIP(return, "no use_zero_pages (kernel older than 4.10)");
	ASSERT_EQ(0, knob_set(KSM_SYSFS "/use_zero_pages", "1"));
	p = mmap(NULL, len + psize(), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, madvise(p, len + psize(), MADV_NOHUGEPAGE));
	/* A read of the last page maps the zero page: its PFN. */
	ASSERT_EQ(PAGE_ZERO, page_seen_in(getpid(), (unsigned long)p + len,
					  &none));
	ASSERT_EQ(0, pagemap_get(0, (unsigned long)p + len, &e));
	zero_pfn = e.pfn;
	for (i = 0; i < PAGES; i++) {
		memset(p + i * psize(), 0, psize());
		ASSERT_EQ(0, pagemap_get(0, (unsigned long)p + i * psize(), &e));
		EXPECT_NE(zero_pfn, e.pfn) TH_LOG("page %d not written", i);
	}
	ASSERT_EQ(0, madvise(p, len, MADV_MERGEABLE));
	do {
		for (left = 0, i = 0; i < PAGES; i++) {
			ASSERT_EQ(0, pagemap_get(0, (unsigned long)p + i * psize(),
						 &e));
			left += !e.present || e.pfn != zero_pfn;
		}
		if (left)
			sleep_ms(50);
	} while (left && now_ms() < deadline);
	EXPECT_EQ(0, left) TH_LOG("%d pages not mapped to the zero page", left);

	tag_fill(p + 3 * psize(), psize(), &tag);
	ASSERT_EQ(0, pagemap_get(0, (unsigned long)p + 3 * psize(), &e));
	EXPECT_TRUE(e.present && e.exclusive && e.pfn != zero_pfn);
	EXPECT_EQ(0, tag_verify(p + 3 * psize(), psize(), &tag, NULL));
	for (i = 0; i < PAGES; i++)
		EXPECT_TRUE(i == 3 || page_seen_in(getpid(), (unsigned long)p +
						   i * psize(), &none) == PAGE_ZERO)
			TH_LOG("page %d", i);
	munmap(p, len + psize());
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

AVL_HARNESS_MAIN
