/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The world of the memcg_* tests of reclaim and swap: a crew whose
 * processes are charged to a fresh memory cgroup, so that memory.reclaim
 * runs the reclaim of memory pressure (folio_referenced(), then
 * try_to_unmap()) on exactly their pages, and the helpers that count
 * what is swapped out. Needs swap and a memory cgroup; the set-up SKIPs
 * with the reason otherwise. Include it after kselftest_harness.h.
 */
#ifndef __AVL_MEMCG_WORLD_H
#define __AVL_MEMCG_WORLD_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "crew.h"
#include "env.h"
#include "khealth.h"
#include "oracles.h"
#include "util.h"

#define MEMCG_PAGES	64
#define MEMCG_MAX_PAGES	512	/* a THP of 2 MB in 4 kB pages */

/*
 * A crew whose processes are charged to a fresh memory cgroup: P0 maps
 * @pages pages (one THP when @thp) and fills them. The memcg_* fixtures.
 */
struct memcg_world {
	struct crew *crew;
	char *reserved, *base;
	size_t reserved_len;
	char cgroup[512];
	bool have_cgroup;
	int members;
	int pages;
	struct khealth health;
};

static inline void memcg_world_setup(struct __test_metadata *_metadata,
				     struct memcg_world *w, int members,
				     bool thp, const char *name)
{
	const char *why = page_oracles_missing();
	size_t align = psize();
	unsigned long kb;
	char mode[64], path[64];
	pid_t pid;

	report_environment_once();
	if (why)
		SKIP(return, "%s", why);
	if (!swap_enabled())
		SKIP(return, "needs swap for reclaim");
	w->pages = MEMCG_PAGES;
	if (thp) {
		align = read_pmd_pagesize();
		if (!align || align / psize() > MEMCG_MAX_PAGES ||
		    read_text(THP_SYSFS "/enabled", mode, sizeof(mode)) <= 0)
			SKIP(return, "no THP of at most %d pages", MEMCG_MAX_PAGES);
		if (strstr(mode, "[never]"))
			ASSERT_EQ(0, knob_set(THP_SYSFS "/enabled", "madvise"));
		w->pages = align / psize();
	}
	why = memcg_create(w->cgroup, sizeof(w->cgroup));
	if (why)
		SKIP(return, "%s", why);
	w->have_cgroup = true;
	w->members = members;
	w->reserved_len = w->pages * psize() + align;
	w->reserved = reserve_range(w->reserved_len);
	ASSERT_NE(NULL, w->reserved);
	w->base = (char *)(((unsigned long)w->reserved + align - 1) &
			   ~(align - 1));
	w->crew = crew_create(members > 3 ? members : 3);
	ASSERT_NE(NULL, w->crew);
	ASSERT_EQ(0, crew_add_region(w->crew, w->base, w->pages, true));
	pid = crew_start(w->crew, 0);
	ASSERT_LT(0, pid);
	/* Before it faults: its pages (and its children's) are charged here. */
	ASSERT_EQ(0, memcg_attach(w->cgroup, pid));
	ASSERT_EQ(0, crew_do(w->crew, 0, CREW_MMAP, 0, 0, w->pages, 0));
	ASSERT_EQ(0, crew_do(w->crew, 0, CREW_MADVISE, 0, 0, w->pages,
			     thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE));
	ASSERT_EQ(0, crew_do(w->crew, 0, CREW_FILL, 0, 0, w->pages, 0));
	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	if (thp && (smaps_field_kb(path, (unsigned long)w->base,
				   "AnonHugePages", &kb) ||
		    kb < w->pages * psize() / 1024))
		SKIP(return, "no THP could be allocated (fragmented memory)");
	ASSERT_EQ(0, khealth_begin(&w->health, name));
}

static inline void memcg_world_teardown(struct memcg_world *w)
{
	crew_destroy(w->crew);
	if (w->have_cgroup)
		memcg_destroy(w->cgroup);
	if (w->reserved)
		munmap(w->reserved, w->reserved_len);
	knob_restore_all();
}

/* How many pages of member @m are not swap entries; -1 on error. */
static inline int memcg_left(struct memcg_world *w, int m)
{
	struct pagemap_entry e;
	int i, left = 0;

	for (i = 0; i < w->pages; i++) {
		if (pagemap_get(crew_pid(w->crew, m),
				(unsigned long)w->base + i * psize(), &e))
			return -1;
		left += !e.swapped;
	}
	return left;
}

/* Swap entries among pages [first, last) of P0; -1 on error. */
static inline int p0_swapped(struct memcg_world *w, int first, int last)
{
	struct pagemap_entry e;
	int i, swapped = 0;

	for (i = first; i < last; i++) {
		if (pagemap_get(crew_pid(w->crew, 0),
				(unsigned long)w->base + i * psize(), &e))
			return -1;
		swapped += e.swapped;
	}
	return swapped;
}

/* memory.reclaim until pages [first, last) are out, or 10 s passed. */
static inline int p0_reclaim(struct memcg_world *w, int first, int last)
{
	long long deadline = now_ms() + 10000;
	int ret, swapped;

	do {
		ret = memcg_reclaim(w->cgroup, 4 * w->pages * psize());
		if (ret && ret != -EAGAIN)
			return ret;
		swapped = p0_swapped(w, first, last);
	} while (swapped >= 0 && swapped < last - first && now_ms() < deadline);
	return swapped;
}

#endif /* __AVL_MEMCG_WORLD_H */
