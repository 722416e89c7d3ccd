/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The set-up and the checks of the ksm and ksm_numa tests on their world
 * (ksm_world.h), on the kselftest harness: include kselftest_harness.h
 * first.
 */
#ifndef __AVL_KSM_CHECKS_H
#define __AVL_KSM_CHECKS_H

#include <linux/kernel-page-flags.h>

#include "ksm_world.h"

/*
 * A crew of up to 4 members, @unrelated of them forked by the test itself
 * (the others are forked by members later), and ksmd scanning fast.
 */
static inline void world_init(struct __test_metadata *_metadata, struct ksm_world *w,
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

/*
 * The merged state of members @mask: every page but the ones they wrote
 * maps one KSM page (one PFN across all), counted once per mapping;
 * smaps KSM and ksm_merging_pages agree; bit 61 clear, bit 56 clear.
 */
static inline int check_merged(struct __test_metadata *_metadata,
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
static inline int check_unmerged(struct __test_metadata *_metadata,
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

#endif /* __AVL_KSM_CHECKS_H */
