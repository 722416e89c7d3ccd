/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The world of the ksm and ksm_numa tests: a crew of up to four members,
 * each with one region at the same address, whose pages hold the same
 * contents so that ksmd can merge them; ksmd scans fast meanwhile and
 * every KSM tunable is restored afterwards. The set-up and the checks
 * that use the harness are in ksm_checks.h.
 */
#ifndef __AVL_KSM_WORLD_H
#define __AVL_KSM_WORLD_H

#include <stdbool.h>

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

/* One crew command on pages [first, last) of member @m's region. */
int cmd(struct ksm_world *w, int m, int op, int first, int last,
	long arg);

/* Map the region in member @m, every page holding tag { @owner }. */
int map_same(struct ksm_world *w, int m, long owner);

/* COW-write page 0 of member @m with contents of its own. */
int write_page0(struct ksm_world *w, int m);

int verify(struct ksm_world *w, int m);

char *region_of(struct ksm_world *w, int m);

void world_destroy(struct ksm_world *w);

/*
 * KSM kB of our region in member @m (smaps). ksm_merging_pages counts the
 * whole process: with PR_SET_MEMORY_MERGE its other pages may merge too.
 */
int region_ksm_kb(struct ksm_world *w, int m, unsigned long *kb);

/* Wait until @pages of member @m's region are merged. */
int wait_merged(struct ksm_world *w, int m, unsigned long pages);

#endif /* __AVL_KSM_WORLD_H */
