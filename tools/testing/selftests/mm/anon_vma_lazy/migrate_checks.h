/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The set-up and the checks of the migrate and migrate_thp tests on their
 * world (migrate_world.h), on the kselftest harness: include
 * kselftest_harness.h first.
 */
#ifndef __AVL_MIGRATE_CHECKS_H
#define __AVL_MIGRATE_CHECKS_H

#include "migrate_world.h"

/*
 * The common set-up: oracles and two nodes, a reserved range with the
 * region @nr_pages long at an @align-aligned address in it, the file, a
 * crew with member 0 forked.
 */
static inline void world_init(struct __test_metadata *_metadata, struct mig_world *w,
			      int *nodes, struct khealth *health, int nr_pages,
			      size_t align)
{
	const char *missing = page_oracles_missing();
	unsigned long a;
	pid_t pid;

	report_environment_once();
	w->memfd = -1;
	if (missing)
		SKIP(return, "%s", missing);
	if (numa_usable_nodes(nodes, 2) < 2)
		SKIP(return, "needs 2 NUMA nodes with memory for migration");
	w->nr_pages = nr_pages;
	/* Room for the region, a gap, and the region moved (CREW_MREMAP). */
	w->reserved_len = (size_t)(2 * nr_pages + 1) * psize() + align;
	w->reserved = reserve_range(w->reserved_len);
	ASSERT_NE(NULL, w->reserved);
	a = ((unsigned long)w->reserved + align - 1) & ~(align - 1);
	w->addr = (char *)a;
	w->memfd = make_file(nr_pages);
	ASSERT_LE(0, w->memfd);
	w->crew = crew_create(3);
	ASSERT_NE(NULL, w->crew);
	w->region = crew_add_region(w->crew, w->addr, nr_pages, true);
	ASSERT_LE(0, w->region);
	crew_set_file(w->crew, w->memfd, FILE_OWNER);
	pid = crew_start(w->crew, 0);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, khealth_begin(health, "migrate"));
}

/*
 * Pages [first, last) of @pid on their nodes @node[i] (indexed by page),
 * queried afterwards with move_pages: the number that are not (each
 * logged).
 */
static inline int count_off_nodes(struct __test_metadata *_metadata, pid_t pid,
				  const char *addr, int first, int last,
				  const int *node)
{
	static void *pages[MAX_PAGES];
	static int status[MAX_PAGES];
	int i, bad = 0, logged = 0;

	addrs_of(addr, first, last, pages);
	if (pages_node(pid, pages, last - first, status))
		return last - first;
	for (i = 0; i < last - first; i++) {
		if (status[i] == node[first + i])
			continue;
		if (logged++ < 4)
			TH_LOG("pid %d page %d on node %d, want %d", pid,
			       first + i, status[i], node[first + i]);
		bad++;
	}
	return bad;
}

/* The same for one node. */
static inline int count_off_node(struct __test_metadata *_metadata, pid_t pid,
				 const char *addr, int first, int last, int node)
{
	return count_off_nodes(_metadata, pid, addr, first, last,
			       all_on(node));
}

static inline void check_log(struct __test_metadata *_metadata, struct khealth *h)
{
	char report[2048];

	EXPECT_EQ(0, khealth_check(h, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * Pages [first, last) of member @m were migrated to @node[i] (indexed by
 * page): they are there, at PFNs other than @before, exclusive as before,
 * mapped once (or @mappers times), and every member in @sharers maps the
 * same new PFNs.
 */
static inline void check_moved(struct __test_metadata *_metadata,
			       struct mig_world *w, int m, int first, int last,
			       const int *node, const struct pagemap_entry *before,
			       unsigned int sharers)
{
	static struct pagemap_entry now[MAX_PAGES], other[MAX_PAGES];
	int i, q, mappers = 1 + __builtin_popcount(sharers), mappers_seen;
	__u64 count, flags;

	EXPECT_EQ(0, count_off_nodes(_metadata, crew_pid(w->crew, m), w->addr,
				     first, last, node));
	ASSERT_EQ(0, read_range(crew_pid(w->crew, m), w->addr, first, last, now));
	for (i = first; i < last; i++) {
		EXPECT_NE(before[i].pfn, now[i].pfn)
			TH_LOG("P%d page %d kept its PFN", m, i);
		EXPECT_EQ(before[i].exclusive, now[i].exclusive);
		EXPECT_EQ(before[i].file, now[i].file);
		ASSERT_EQ(0, kpagecount_get(now[i].pfn, &count));
		ASSERT_EQ(0, kpageflags_get(now[i].pfn, &flags));
		/*
		 * A page of a large folio may count the folio's average
		 * (kernels without CONFIG_PAGE_MAPCOUNT): exact only for
		 * small ones.
		 */
		if (kpf_has(flags, KPF_THP))
			mappers_seen = count ? mappers : 0;
		else
			mappers_seen = count;
		EXPECT_EQ(mappers, mappers_seen) TH_LOG("P%d page %d", m, i);
	}
	for (q = 0; q < 3; q++) {
		if (!(sharers & (1U << q)))
			continue;
		ASSERT_EQ(0, read_range(crew_pid(w->crew, q), w->addr, first,
					last, other));
		for (i = first; i < last; i++)
			EXPECT_EQ(now[i].pfn, other[i].pfn)
				TH_LOG("page %d: P%d at %#llx, P%d at %#llx", i,
				       m, (unsigned long long)now[i].pfn, q,
				       (unsigned long long)other[i].pfn);
		EXPECT_EQ(0, verify(w, q));
	}
	EXPECT_EQ(0, verify(w, m));
}

#endif /* __AVL_MIGRATE_CHECKS_H */
