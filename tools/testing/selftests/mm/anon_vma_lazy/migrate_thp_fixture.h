/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The migrate_thp fixture: one PMD-sized region in migrate's world
 * (migrate_world.h), THP enabled for it, and the helpers that map, check,
 * migrate and collapse it. Shared by the migrate binary (the first
 * migrate_thp tests) and the migrate_thp binary (the others). Include it
 * after kselftest_harness.h and migrate_checks.h.
 */
#ifndef __AVL_MIGRATE_THP_FIXTURE_H
#define __AVL_MIGRATE_THP_FIXTURE_H

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <linux/kernel-page-flags.h>
#include <linux/mempolicy.h>

FIXTURE(migrate_thp) {
	struct mig_world w;
	int nodes[2];
	int thp_pages;
	struct khealth health;
};

FIXTURE_SETUP(migrate_thp)
{
	unsigned long pmd_size = read_pmd_pagesize();
	char mode[64];

	if (!pmd_size ||
	    read_text(THP_SYSFS "/enabled", mode, sizeof(mode)) <= 0)
		SKIP(return, "no THP (CONFIG_TRANSPARENT_HUGEPAGE)");
	self->thp_pages = pmd_size / psize();
	if (self->thp_pages > MAX_PAGES)
		SKIP(return, "PMD size %lu needs more than %d pages", pmd_size,
		     MAX_PAGES);
	world_init(_metadata, &self->w, self->nodes, &self->health,
		   self->thp_pages, pmd_size);
	if (_metadata->exit_code)
		return;		/* skipped */
	if (strstr(mode, "[never]"))
		ASSERT_EQ(0, knob_set(THP_SYSFS "/enabled", "madvise"));
}

FIXTURE_TEARDOWN(migrate_thp)
{
	world_destroy(&self->w);
}

/* kB of AnonHugePages of the region's VMA in member @m. */
static inline long anon_huge_kb(struct mig_world *w, int m)
{
	char path[64];
	unsigned long kb;

	snprintf(path, sizeof(path), "/proc/%d/smaps", crew_pid(w->crew, m));
	if (smaps_field_kb(path, (unsigned long)w->addr, "AnonHugePages", &kb))
		return -1;
	return kb;
}

/* Map the THP region in member 0; SKIP when no huge page was available. */
static inline void map_thp(struct __test_metadata *_metadata, struct mig_world *w)
{
	ASSERT_EQ(0, map_region(w, 0, THP));
	if (anon_huge_kb(w, 0) * 1024 != (long)(w->nr_pages * psize()))
		SKIP(return, "no huge page could be allocated (fragmented memory)");
}

/* The pages of member @m form one THP: contiguous PFNs, KPF_THP. */
static inline int is_one_thp(struct mig_world *w, int m, int first, int last)
{
	static struct pagemap_entry e[MAX_PAGES];
	__u64 flags;
	int i;

	if (read_entries(crew_pid(w->crew, m), w->addr, w->nr_pages, e) ||
	    kpageflags_get(e[first].pfn, &flags) ||
	    !kpf_has(flags, KPF_THP))
		return 0;
	for (i = first; i < last; i++)
		if (e[i].pfn != e[first].pfn + (i - first))
			return 0;
	return 1;
}

/*
 * Migrate the whole region of member @m to the other node and check the
 * pages, the sharers in @sharers and whether the THP survived.
 */
static inline void migrate_thp_region(struct __test_metadata *_metadata,
				      FIXTURE_DATA(migrate_thp) * self, int m,
				      int first, int last,
				      unsigned int sharers)
{
	static struct pagemap_entry before[MAX_PAGES];
	static int from[MAX_PAGES], to[MAX_PAGES];
	struct mig_world *w = &self->w;
	int was_thp = is_one_thp(w, m, first, last);

	ASSERT_EQ(0, read_entries(crew_pid(w->crew, m), w->addr, w->nr_pages, before));
	ASSERT_EQ(0, move_each(crew_pid(w->crew, m), w->addr, first, last,
			       self->nodes, MPOL_MF_MOVE_ALL, from, to))
		TH_LOG("%m");
	check_moved(_metadata, w, m, first, last, to, before, sharers);
	/* The kernel may split a THP it cannot allocate on the target. */
	if (was_thp && !is_one_thp(w, m, first, last))
		TH_LOG("note: the THP was split by migration");
}

/*
 * MADV_COLLAPSE of small pages into a THP takes the VMA's anon_vma lock and
 * rewrites the folio's rmap; under ANON_VMA_LAZY the VMA may have none (lazy)
 * or a borrowed one (inherited). Collapse, then migrate the new THP.
 * Returns 0, or a SKIP reason when the kernel cannot collapse at all.
 */
static inline const char *collapse(struct __test_metadata *_metadata,
				   struct mig_world *w, int m)
{
	int ret = cmd_all(w, m, CREW_MADVISE, MADV_COLLAPSE), major = 0, minor = 0;
	struct utsname u;

	/* EINVAL is also "cannot collapse this": only old kernels SKIP. */
	if (ret == -EINVAL && !uname(&u) &&
	    sscanf(u.release, "%d.%d", &major, &minor) == 2 &&
	    (major < 6 || (major == 6 && minor < 1)))
		return "no MADV_COLLAPSE (kernel older than 6.1)";
	/* EAGAIN/ENOMEM: no huge page free now, not a kernel bug. */
	if (ret == -EAGAIN || ret == -ENOMEM)
		return "MADV_COLLAPSE found no huge page (fragmented memory)";
	EXPECT_EQ(0, ret) TH_LOG("MADV_COLLAPSE: %s", strerror(-ret));
	return NULL;
}

#endif /* __AVL_MIGRATE_THP_FIXTURE_H */
