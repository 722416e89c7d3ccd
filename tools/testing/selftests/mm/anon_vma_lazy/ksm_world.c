// SPDX-License-Identifier: GPL-2.0
/*
 * The world of the ksm and ksm_numa tests (ksm_world.h).
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ksm_world.h"

/* One crew command on pages [first, last) of member @m's region. */
int cmd(struct ksm_world *w, int m, int op, int first, int last,
	long arg)
{
	return crew_do(w->crew, m, op, w->region, first, last, arg);
}

/* Map the region in member @m, every page holding tag { @owner }. */
int map_same(struct ksm_world *w, int m, long owner)
{
	int ret = cmd(w, m, CREW_MMAP, 0, PAGES, 0);

	return ret ? ret : cmd(w, m, CREW_FILL_SAME, 0, PAGES, owner);
}

/* COW-write page 0 of member @m with contents of its own. */
int write_page0(struct ksm_world *w, int m)
{
	w->wrote0[m] = true;
	return cmd(w, m, CREW_FILL_SAME, 0, 1, OWN(m));
}

int verify(struct ksm_world *w, int m)
{
	return cmd(w, m, CREW_VERIFY, 0, PAGES, 0);
}

char *region_of(struct ksm_world *w, int m)
{
	return crew_addr(w->crew, m, w->region);
}

void world_destroy(struct ksm_world *w)
{
	crew_destroy(w->crew);
	/* Stop ksmd and put every tunable back; the guard covers a kill. */
	knob_restore_all();
	if (w->base)
		munmap(w->base, RESERVED * psize());
}

/*
 * KSM kB of our region in member @m (smaps). ksm_merging_pages counts the
 * whole process: with PR_SET_MEMORY_MERGE its other pages may merge too.
 */
int region_ksm_kb(struct ksm_world *w, int m, unsigned long *kb)
{
	unsigned long lo = (unsigned long)region_of(w, m);

	/* The region may be split into several VMAs. */
	return smaps_range_kb(crew_pid(w->crew, m), lo, lo + PAGES * psize(),
			      offsetof(struct smaps_vma, ksm), kb);
}

/* Wait until @pages of member @m's region are merged. */
int wait_merged(struct ksm_world *w, int m, unsigned long pages)
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
