// SPDX-License-Identifier: GPL-2.0
/*
 * fork_chain: anonymous pages stay correctly shared, copied and reachable
 * by rmap through fork chains and trees, COW at every level and every
 * order of process exit.
 *
 * Under ANON_VMA_LAZY the first fault leaves a VMA "lazy" (its folios point
 * at a root VMA, not at an anon_vma); fork upgrades the parent to a real
 * anon_vma and re-points its folios, the child borrows the parent's
 * anon_vma (ANON_VMA_TREE_PARENT) and is upgraded in turn when it forks,
 * and exit drops the references. A page that rmap no longer finds shows up
 * as a wrong map count, a wrong "exclusively mapped" bit, a wrong share in
 * smaps, a migration that fails or misses a mapper, or a kernel splat.
 *
 * fork_tree builds trees of member processes with the scenario engine
 * (scenario.h): every member creates and faults its own
 * regions, COW-writes a pseudo-random half of every page it inherited and
 * forks its children, e.g. "every_level" on a chain of three:
 *
 *   0: mmap0 fork1 mmap1 write0        P0 ---fork---> P1 ---fork---> P2
 *   1: mmap2 write0 write1 fork2       R0 R1          R2 (+R0)       R4 (+R0 R2)
 *   2: mmap4 write0 write1 write2 write3
 *
 * (R1 is created after the first fork, so P1 never sees it.) The engine
 * knows from the same programs which copy of every page each member maps;
 * each variant states it literally, for chain2 (sc_render(): the same
 * letter in the same column is one physical page):
 *
 *   P0 R0 AAAAAAAAAAAA rw     P1 R0 BBBBAAABBBAA rw     P2 R0 BCCBAAABBCBB rw
 *   P0 R1 AAAAAAAAAAAA rw     P1 R2 AAAAAAAAAAAA rw     P2 R2 BBAABBBBBBBB rw
 *                             P1 R3 AAAAAAAAAAAA rw     P2 R4 AAAAAAAAAAAA rw
 *
 * and for trees too large to draw per member: "P13<P4: 4 VMAs, 48 pages,
 * 16 shared, 32 own" (shared: the copy is mapped by another member too).
 * At every checkpoint (tree built, then after each exit in the variant's
 * order) it checks contents in every member, PFN identity exactly among the
 * members mapping the same copy, bit 56, kpagecount, KPF_ANON/KPF_KSM,
 * smaps and the VMA layout. With two NUMA nodes, the migrate_after_exits
 * tests also migrate a survivor's pages at every checkpoint (an rmap walk
 * that must reach every mapper) and check that every mapper follows.
 *
 * fork_misc: fork then exec, vfork, fork of a multi-threaded process while
 * another thread faults, and fork/fault/exit churn with the anon_vma and
 * vm_area_struct slab counts back at baseline. Forks of pinned pages are
 * fork_pinned's.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <linux/kernel-page-flags.h>

#include "../../kselftest_harness.h"
#include "harness_main.h"
#include "env.h"
#include "fork_region.h"
#include "khealth.h"
#include "scenario.h"

enum tree_shape { SHAPE_CHAIN, SHAPE_FAN, SHAPE_RANDOM };
enum placement { EVERY_LEVEL, ROOT_ONLY, LEAVES_ONLY, WITH_FORK_FLAGS };
enum exit_order { ROOT_FIRST, MIDDLE_FIRST, LEAF_FIRST, RANDOM_ORDER };

/* The tree: parent[] and depth[] of every member, before any program. */
struct shape {
	int nr;
	int parent[SC_MAX_MEMBERS];
	int depth[SC_MAX_MEMBERS];
};

static void build_shape(struct shape *t, enum tree_shape shape, int a, int b,
			unsigned long seed)
{
	int n, level_start = 0, level_end = 1, next, k;

	t->parent[0] = -1;
	t->depth[0] = 0;
	switch (shape) {
	case SHAPE_CHAIN:	/* a: depth */
		t->nr = a + 1;
		for (n = 1; n < t->nr; n++) {
			t->parent[n] = n - 1;
			t->depth[n] = n;
		}
		break;
	case SHAPE_FAN:		/* a: breadth, b: depth */
		t->nr = 1;
		for (next = 1; next <= b; next++) {
			for (n = level_start; n < level_end; n++) {
				for (k = 0; k < a; k++) {
					t->parent[t->nr] = n;
					t->depth[t->nr] = next;
					t->nr++;
				}
			}
			level_start = level_end;
			level_end = t->nr;
		}
		break;
	case SHAPE_RANDOM:	/* a: members; parents come before children */
		t->nr = a;
		for (n = 1; n < t->nr; n++) {
			t->parent[n] = splitmix64(seed + n) % n;
			t->depth[n] = t->depth[t->parent[n]] + 1;
		}
		break;
	}
}

static bool is_leaf(const struct shape *t, int n)
{
	int c;

	for (c = n + 1; c < t->nr; c++)
		if (t->parent[c] == n)
			return false;
	return true;
}

/*
 * Member n owns regions 2n (A) and 2n + 1 (B). It writes every region of
 * its ancestors that it may have inherited; the engine skips the pages it
 * does not map.
 */
static int build_programs(struct scenario *sc, const struct shape *t,
			  enum placement where)
{
	int n, c, a, forks, ret = 0;

	for (n = 0; n < t->nr && !ret; n++) {
		bool creates = where == EVERY_LEVEL ||
			       where == WITH_FORK_FLAGS ||
			       (where == ROOT_ONLY && n == 0) ||
			       (where == LEAVES_ONLY && is_leaf(t, n));

		/* Pages created before the first fork... */
		if (creates)
			ret |= sc_add_step(sc, n, SC_MMAP, 2 * n, 0, SC_REGION_PAGES, 0);
		if (where == ROOT_ONLY && n == 0)
			ret |= sc_add_step(sc, n, SC_MMAP, 1, 0, SC_REGION_PAGES, 0);
		if (where == WITH_FORK_FLAGS && n == 0) {
			ret |= sc_add_step(sc, n, SC_DONTFORK, 0, 0, 2, 0);
			ret |= sc_add_step(sc, n, SC_WIPEONFORK, 0, 2, 4, 0);
		}
		for (a = t->parent[n]; a >= 0 && where != LEAVES_ONLY;
		     a = t->parent[a]) {
			ret |= sc_add_step(sc, n, SC_WRITE, 2 * a, 0, SC_REGION_PAGES, 0);
			ret |= sc_add_step(sc, n, SC_WRITE, 2 * a + 1, 0, SC_REGION_PAGES, 0);
		}
		forks = 0;
		for (c = n + 1; c < t->nr; c++) {
			if (t->parent[c] != n)
				continue;
			ret |= sc_add_step(sc, n, SC_FORK, 0, 0, SC_REGION_PAGES, c);
			/* ...and between forks: later children see more. */
			if (++forks == 1 && where == EVERY_LEVEL) {
				ret |= sc_add_step(sc, n, SC_MMAP, 2 * n + 1,
						   0, SC_REGION_PAGES, 0);
				ret |= sc_add_step(sc, n, SC_WRITE, 2 * n, 0, SC_REGION_PAGES, 0);
			}
		}
	}
	return ret;
}

static void build_exit_order(const struct shape *t, enum exit_order order,
			     unsigned long seed, int *exit_order)
{
	int n, k = 0, d, max_depth = 0, mid, dist;

	for (n = 0; n < t->nr; n++)
		if (t->depth[n] > max_depth)
			max_depth = t->depth[n];
	mid = max_depth / 2;
	switch (order) {
	case ROOT_FIRST:
		for (n = 0; n < t->nr; n++)
			exit_order[k++] = n;
		break;
	case LEAF_FIRST:
		for (n = t->nr - 1; n >= 0; n--)
			exit_order[k++] = n;
		break;
	case MIDDLE_FIRST:
		for (dist = 0; dist <= max_depth; dist++)
			for (n = 0; n < t->nr; n++) {
				d = t->depth[n] - mid;
				if (d == dist || -d == dist)
					exit_order[k++] = n;
			}
		break;
	case RANDOM_ORDER:
		for (n = 0; n < t->nr; n++)
			exit_order[n] = n;
		for (n = t->nr - 1; n > 0; n--) {
			int j = splitmix64(seed ^ (0xe817ULL << 20) ^ n) % (n + 1);
			int tmp = exit_order[n];

			exit_order[n] = exit_order[j];
			exit_order[j] = tmp;
		}
		break;
	}
}

/* ---- fork_tree --------------------------------------------------------- */

FIXTURE(fork_tree) {
	struct scenario *sc;
	int exit_order[SC_MAX_MEMBERS];
	struct khealth health;
};

FIXTURE_VARIANT(fork_tree) {
	enum tree_shape shape;
	int a, b;
	enum placement where;
	enum exit_order order;
	/*
	 * Once built: the members' layout and sharing (sc_render()), for
	 * small trees; per member (sc_render_summary()) for large ones;
	 * neither for a random tree (printed instead).
	 */
	const char *expect;
	const char *expect_summary;
};

/* What every_level builds, whatever the order of the exits afterwards. */
static const char chain4_every_level[] = "P0 R0 AAAAAAAAAAAA rw\n"
					 "P0 R1 AAAAAAAAAAAA rw\n"
					 "P1 R0 BBBBAAABBBAA rw\n"
					 "P1 R2 AAAAAAAAAAAA rw\n"
					 "P1 R3 AAAAAAAAAAAA rw\n"
					 "P2 R0 BCCBAAABBCBB rw\n"
					 "P2 R2 BBAABBBBBBBB rw\n"
					 "P2 R4 AAAAAAAAAAAA rw\n"
					 "P2 R5 AAAAAAAAAAAA rw\n"
					 "P3 R0 CCDBABBBBCCB rw\n"
					 "P3 R2 BBABCBCBBBBC rw\n"
					 "P3 R4 BBBBBBBBBBAB rw\n"
					 "P3 R6 AAAAAAAAAAAA rw\n"
					 "P3 R7 AAAAAAAAAAAA rw\n"
					 "P4 R0 DCDCABCCBDDB rw\n"
					 "P4 R2 CCBBCBCBCBBD rw\n"
					 "P4 R4 BBBCCBBBBBBB rw\n"
					 "P4 R6 BABBBBBBBBBB rw\n"
					 "P4 R8 AAAAAAAAAAAA rw";

static const char fan3x3_every_level[] = "P0: 2 VMAs, 24 pages, 21 shared, 3 own\n"
					 "P1<P0: 3 VMAs, 36 pages, 26 shared, 10 own\n"
					 "P2<P0: 4 VMAs, 48 pages, 37 shared, 11 own\n"
					 "P3<P0: 4 VMAs, 48 pages, 43 shared, 5 own\n"
					 "P4<P1: 4 VMAs, 48 pages, 43 shared, 5 own\n"
					 "P5<P1: 5 VMAs, 60 pages, 53 shared, 7 own\n"
					 "P6<P1: 5 VMAs, 60 pages, 56 shared, 4 own\n"
					 "P7<P2: 5 VMAs, 60 pages, 57 shared, 3 own\n"
					 "P8<P2: 6 VMAs, 72 pages, 66 shared, 6 own\n"
					 "P9<P2: 6 VMAs, 72 pages, 63 shared, 9 own\n"
					 "P10<P3: 5 VMAs, 60 pages, 49 shared, 11 own\n"
					 "P11<P3: 6 VMAs, 72 pages, 59 shared, 13 own\n"
					 "P12<P3: 6 VMAs, 72 pages, 68 shared, 4 own\n"
					 "P13<P4: 4 VMAs, 48 pages, 16 shared, 32 own\n"
					 "P14<P4: 5 VMAs, 60 pages, 27 shared, 33 own\n"
					 "P15<P4: 5 VMAs, 60 pages, 24 shared, 36 own\n"
					 "P16<P5: 5 VMAs, 60 pages, 20 shared, 40 own\n"
					 "P17<P5: 6 VMAs, 72 pages, 34 shared, 38 own\n"
					 "P18<P5: 6 VMAs, 72 pages, 32 shared, 40 own\n"
					 "P19<P6: 5 VMAs, 60 pages, 26 shared, 34 own\n"
					 "P20<P6: 6 VMAs, 72 pages, 31 shared, 41 own\n"
					 "P21<P6: 6 VMAs, 72 pages, 37 shared, 35 own\n"
					 "P22<P7: 5 VMAs, 60 pages, 27 shared, 33 own\n"
					 "P23<P7: 6 VMAs, 72 pages, 29 shared, 43 own\n"
					 "P24<P7: 6 VMAs, 72 pages, 33 shared, 39 own\n"
					 "P25<P8: 6 VMAs, 72 pages, 29 shared, 43 own\n"
					 "P26<P8: 7 VMAs, 84 pages, 29 shared, 55 own\n"
					 "P27<P8: 7 VMAs, 84 pages, 35 shared, 49 own\n"
					 "P28<P9: 6 VMAs, 72 pages, 28 shared, 44 own\n"
					 "P29<P9: 7 VMAs, 84 pages, 34 shared, 50 own\n"
					 "P30<P9: 7 VMAs, 84 pages, 39 shared, 45 own\n"
					 "P31<P10: 5 VMAs, 60 pages, 19 shared, 41 own\n"
					 "P32<P10: 6 VMAs, 72 pages, 24 shared, 48 own\n"
					 "P33<P10: 6 VMAs, 72 pages, 31 shared, 41 own\n"
					 "P34<P11: 6 VMAs, 72 pages, 26 shared, 46 own\n"
					 "P35<P11: 7 VMAs, 84 pages, 30 shared, 54 own\n"
					 "P36<P11: 7 VMAs, 84 pages, 34 shared, 50 own\n"
					 "P37<P12: 6 VMAs, 72 pages, 25 shared, 47 own\n"
					 "P38<P12: 7 VMAs, 84 pages, 41 shared, 43 own\n"
					 "P39<P12: 7 VMAs, 84 pages, 36 shared, 48 own";

FIXTURE_VARIANT_ADD(fork_tree, chain2_every_level_leaf_first) {
	.shape = SHAPE_CHAIN, .a = 2, .b = 0,
	.where = EVERY_LEVEL, .order = LEAF_FIRST,
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P0 R1 AAAAAAAAAAAA rw\n"
		  "P1 R0 BBBBAAABBBAA rw\n"
		  "P1 R2 AAAAAAAAAAAA rw\n"
		  "P1 R3 AAAAAAAAAAAA rw\n"
		  "P2 R0 BCCBAAABBCBB rw\n"
		  "P2 R2 BBAABBBBBBBB rw\n"
		  "P2 R4 AAAAAAAAAAAA rw",
};

FIXTURE_VARIANT_ADD(fork_tree, chain4_every_level_root_first) {
	.shape = SHAPE_CHAIN, .a = 4, .b = 0,
	.where = EVERY_LEVEL, .order = ROOT_FIRST,
	.expect = chain4_every_level,
};

FIXTURE_VARIANT_ADD(fork_tree, chain4_every_level_middle_first) {
	.shape = SHAPE_CHAIN, .a = 4, .b = 0,
	.where = EVERY_LEVEL, .order = MIDDLE_FIRST,
	.expect = chain4_every_level,
};

FIXTURE_VARIANT_ADD(fork_tree, chain4_every_level_leaf_first) {
	.shape = SHAPE_CHAIN, .a = 4, .b = 0,
	.where = EVERY_LEVEL, .order = LEAF_FIRST,
	.expect = chain4_every_level,
};

FIXTURE_VARIANT_ADD(fork_tree, chain6_every_level_random) {
	.shape = SHAPE_CHAIN, .a = 6, .b = 0,
	.where = EVERY_LEVEL, .order = RANDOM_ORDER,
	.expect_summary = "P0: 2 VMAs, 24 pages, 5 shared, 19 own\n"
			  "P1<P0: 3 VMAs, 36 pages, 11 shared, 25 own\n"
			  "P2<P1: 4 VMAs, 48 pages, 20 shared, 28 own\n"
			  "P3<P2: 5 VMAs, 60 pages, 31 shared, 29 own\n"
			  "P4<P3: 6 VMAs, 72 pages, 37 shared, 35 own\n"
			  "P5<P4: 7 VMAs, 84 pages, 41 shared, 43 own\n"
			  "P6<P5: 7 VMAs, 84 pages, 30 shared, 54 own",
};

FIXTURE_VARIANT_ADD(fork_tree, chain4_root_only_middle_first) {
	.shape = SHAPE_CHAIN, .a = 4, .b = 0,
	.where = ROOT_ONLY, .order = MIDDLE_FIRST,
	.expect = "P0 R0 AAAAAAAAAAAA rw\n"
		  "P0 R1 AAAAAAAAAAAA rw\n"
		  "P1 R0 BBBBBBABAABA rw\n"
		  "P1 R1 AAAAAAABBAAA rw\n"
		  "P2 R0 BBCCCBBCABBB rw\n"
		  "P2 R1 ABABBBBCCABA rw\n"
		  "P3 R0 BBDDDCCCBBBC rw\n"
		  "P3 R1 BBACBCBDCBBB rw\n"
		  "P4 R0 BCEEDDCCBCCC rw\n"
		  "P4 R1 CCBDBCBECBBB rw",
};

FIXTURE_VARIANT_ADD(fork_tree, chain4_leaves_only_root_first) {
	.shape = SHAPE_CHAIN, .a = 4, .b = 0,
	.where = LEAVES_ONLY, .order = ROOT_FIRST,
	.expect = "P4 R8 AAAAAAAAAAAA rw",
};

FIXTURE_VARIANT_ADD(fork_tree, chain3_fork_flags_leaf_first) {
	.shape = SHAPE_CHAIN, .a = 3, .b = 0,
	.where = WITH_FORK_FLAGS, .order = LEAF_FIRST,
	.expect = "P0 R0 AA|AA|AAAAAAAA rwD,rwW,rw\n"
		  "P1 R0 ..BB|AAAABAAA rwW,rw\n"
		  "P1 R2 AAAAAAAAAAAA rw\n"
		  "P2 R0 ..C0|AAAABBBB rwW,rw\n"
		  "P2 R2 BAAABBBBBBBB rw\n"
		  "P2 R4 AAAAAAAAAAAA rw\n"
		  "P3 R0 ..D0|ABBABBCB rwW,rw\n"
		  "P3 R2 BAABCBCBBBBC rw\n"
		  "P3 R4 BBBABBBBBBAB rw\n"
		  "P3 R6 AAAAAAAAAAAA rw",
};

FIXTURE_VARIANT_ADD(fork_tree, fan3x3_every_level_root_first) {
	.shape = SHAPE_FAN, .a = 3, .b = 3,
	.where = EVERY_LEVEL, .order = ROOT_FIRST,
	.expect_summary = fan3x3_every_level,
};

FIXTURE_VARIANT_ADD(fork_tree, fan3x3_every_level_middle_first) {
	.shape = SHAPE_FAN, .a = 3, .b = 3,
	.where = EVERY_LEVEL, .order = MIDDLE_FIRST,
	.expect_summary = fan3x3_every_level,
};

FIXTURE_VARIANT_ADD(fork_tree, fan3x3_every_level_leaf_first) {
	.shape = SHAPE_FAN, .a = 3, .b = 3,
	.where = EVERY_LEVEL, .order = LEAF_FIRST,
	.expect_summary = fan3x3_every_level,
};

FIXTURE_VARIANT_ADD(fork_tree, fan3x3_root_only_random) {
	.shape = SHAPE_FAN, .a = 3, .b = 3,
	.where = ROOT_ONLY, .order = RANDOM_ORDER,
	.expect_summary = "P0: 2 VMAs, 24 pages, 21 shared, 3 own\n"
			  "P1<P0: 2 VMAs, 24 pages, 24 shared, 0 own\n"
			  "P2<P0: 2 VMAs, 24 pages, 21 shared, 3 own\n"
			  "P3<P0: 2 VMAs, 24 pages, 23 shared, 1 own\n"
			  "P4<P1: 2 VMAs, 24 pages, 24 shared, 0 own\n"
			  "P5<P1: 2 VMAs, 24 pages, 24 shared, 0 own\n"
			  "P6<P1: 2 VMAs, 24 pages, 21 shared, 3 own\n"
			  "P7<P2: 2 VMAs, 24 pages, 24 shared, 0 own\n"
			  "P8<P2: 2 VMAs, 24 pages, 22 shared, 2 own\n"
			  "P9<P2: 2 VMAs, 24 pages, 22 shared, 2 own\n"
			  "P10<P3: 2 VMAs, 24 pages, 24 shared, 0 own\n"
			  "P11<P3: 2 VMAs, 24 pages, 23 shared, 1 own\n"
			  "P12<P3: 2 VMAs, 24 pages, 23 shared, 1 own\n"
			  "P13<P4: 2 VMAs, 24 pages, 12 shared, 12 own\n"
			  "P14<P4: 2 VMAs, 24 pages, 11 shared, 13 own\n"
			  "P15<P4: 2 VMAs, 24 pages, 12 shared, 12 own\n"
			  "P16<P5: 2 VMAs, 24 pages, 17 shared, 7 own\n"
			  "P17<P5: 2 VMAs, 24 pages, 11 shared, 13 own\n"
			  "P18<P5: 2 VMAs, 24 pages, 14 shared, 10 own\n"
			  "P19<P6: 2 VMAs, 24 pages, 10 shared, 14 own\n"
			  "P20<P6: 2 VMAs, 24 pages, 6 shared, 18 own\n"
			  "P21<P6: 2 VMAs, 24 pages, 10 shared, 14 own\n"
			  "P22<P7: 2 VMAs, 24 pages, 8 shared, 16 own\n"
			  "P23<P7: 2 VMAs, 24 pages, 11 shared, 13 own\n"
			  "P24<P7: 2 VMAs, 24 pages, 14 shared, 10 own\n"
			  "P25<P8: 2 VMAs, 24 pages, 13 shared, 11 own\n"
			  "P26<P8: 2 VMAs, 24 pages, 12 shared, 12 own\n"
			  "P27<P8: 2 VMAs, 24 pages, 13 shared, 11 own\n"
			  "P28<P9: 2 VMAs, 24 pages, 11 shared, 13 own\n"
			  "P29<P9: 2 VMAs, 24 pages, 12 shared, 12 own\n"
			  "P30<P9: 2 VMAs, 24 pages, 11 shared, 13 own\n"
			  "P31<P10: 2 VMAs, 24 pages, 13 shared, 11 own\n"
			  "P32<P10: 2 VMAs, 24 pages, 16 shared, 8 own\n"
			  "P33<P10: 2 VMAs, 24 pages, 8 shared, 16 own\n"
			  "P34<P11: 2 VMAs, 24 pages, 11 shared, 13 own\n"
			  "P35<P11: 2 VMAs, 24 pages, 10 shared, 14 own\n"
			  "P36<P11: 2 VMAs, 24 pages, 10 shared, 14 own\n"
			  "P37<P12: 2 VMAs, 24 pages, 11 shared, 13 own\n"
			  "P38<P12: 2 VMAs, 24 pages, 12 shared, 12 own\n"
			  "P39<P12: 2 VMAs, 24 pages, 15 shared, 9 own",
};

FIXTURE_VARIANT_ADD(fork_tree, fan3x2_leaves_only_random) {
	.shape = SHAPE_FAN, .a = 3, .b = 2,
	.where = LEAVES_ONLY, .order = RANDOM_ORDER,
	.expect_summary = "P0: 0 VMAs, 0 pages, 0 shared, 0 own\n"
			  "P1<P0: 0 VMAs, 0 pages, 0 shared, 0 own\n"
			  "P2<P0: 0 VMAs, 0 pages, 0 shared, 0 own\n"
			  "P3<P0: 0 VMAs, 0 pages, 0 shared, 0 own\n"
			  "P4<P1: 1 VMAs, 12 pages, 0 shared, 12 own\n"
			  "P5<P1: 1 VMAs, 12 pages, 0 shared, 12 own\n"
			  "P6<P1: 1 VMAs, 12 pages, 0 shared, 12 own\n"
			  "P7<P2: 1 VMAs, 12 pages, 0 shared, 12 own\n"
			  "P8<P2: 1 VMAs, 12 pages, 0 shared, 12 own\n"
			  "P9<P2: 1 VMAs, 12 pages, 0 shared, 12 own\n"
			  "P10<P3: 1 VMAs, 12 pages, 0 shared, 12 own\n"
			  "P11<P3: 1 VMAs, 12 pages, 0 shared, 12 own\n"
			  "P12<P3: 1 VMAs, 12 pages, 0 shared, 12 own",
};

FIXTURE_VARIANT_ADD(fork_tree, fan3x2_fork_flags_root_first) {
	.shape = SHAPE_FAN, .a = 3, .b = 2,
	.where = WITH_FORK_FLAGS, .order = ROOT_FIRST,
	.expect_summary = "P0: 3 VMAs, 12 pages, 8 shared, 4 own\n"
			  "P1<P0: 3 VMAs, 22 pages, 16 shared, 6 own\n"
			  "P2<P0: 3 VMAs, 22 pages, 17 shared, 4 own\n"
			  "P3<P0: 3 VMAs, 22 pages, 18 shared, 2 own\n"
			  "P4<P1: 4 VMAs, 34 pages, 10 shared, 23 own\n"
			  "P5<P1: 4 VMAs, 34 pages, 8 shared, 25 own\n"
			  "P6<P1: 4 VMAs, 34 pages, 11 shared, 23 own\n"
			  "P7<P2: 4 VMAs, 34 pages, 12 shared, 21 own\n"
			  "P8<P2: 4 VMAs, 34 pages, 11 shared, 22 own\n"
			  "P9<P2: 4 VMAs, 34 pages, 11 shared, 22 own\n"
			  "P10<P3: 4 VMAs, 34 pages, 9 shared, 24 own\n"
			  "P11<P3: 4 VMAs, 34 pages, 10 shared, 23 own\n"
			  "P12<P3: 4 VMAs, 34 pages, 7 shared, 26 own",
};

FIXTURE_VARIANT_ADD(fork_tree, random16_every_level_random) {
	.shape = SHAPE_RANDOM, .a = 16, .b = 0,
	.where = EVERY_LEVEL, .order = RANDOM_ORDER,
};

FIXTURE_SETUP(fork_tree)
{
	const char *missing = page_oracles_missing();
	struct shape t = { .nr = 0 };
	unsigned long seed = 1;
	static char err[16384];

	report_environment_once();
	if (variant->shape == SHAPE_RANDOM || variant->order == RANDOM_ORDER)
		seed = test_seed();
	build_shape(&t, variant->shape, variant->a, variant->b, seed);
	ASSERT_GE(SC_MAX_MEMBERS, t.nr);
	build_exit_order(&t, variant->order, seed, self->exit_order);
	/* Which pages a write step writes does not depend on the seed. */
	self->sc = sc_create(1);
	ASSERT_NE(NULL, self->sc);
	ASSERT_EQ(0, build_programs(self->sc, &t, variant->where));
	ASSERT_EQ(0, sc_finish(self->sc));
	if (variant->expect)
		ASSERT_EQ(0, sc_check_literals(self->sc, variant->expect, NULL,
					       false, err, sizeof(err)))
			TH_LOG("%s", err);
	if (variant->expect_summary)
		ASSERT_EQ(0, sc_check_literals(self->sc, variant->expect_summary,
					       NULL, true, err, sizeof(err)))
			TH_LOG("%s", err);
	if (!variant->expect && !variant->expect_summary &&
	    sc_render_summary(self->sc, err, sizeof(err)) >= 0)
		TH_LOG("expected once built:\n%s", err);
	if (missing)
		SKIP(return, "%s", missing);
	ASSERT_EQ(0, khealth_begin(&self->health, "fork_tree"));
}

FIXTURE_TEARDOWN(fork_tree)
{
	sc_destroy(self->sc);
}

/* Build the tree, check it, then exit members in order, checking after each. */
static void run_tree(struct __test_metadata *_metadata, struct scenario *sc,
		     const int *exit_order, struct khealth *health,
		     const int *numa)
{
	char when[64], report[2048];
	int k, n, walker = 0;

	ASSERT_EQ(0, sc_start(sc, report, sizeof(report))) TH_LOG("%s", report);
	EXPECT_EQ(0, sc_checkpoint(sc, "tree built"));
	if (numa)
		EXPECT_EQ(0, sc_migrate_walk(sc, 0, numa, "tree built"));

	for (k = 0; k < sc->nr_members; k++) {
		n = exit_order[k];
		ASSERT_EQ(0, sc_exit_member(sc, n)) TH_LOG("P%d did not exit", n);
		snprintf(when, sizeof(when), "after P%d exited", n);
		EXPECT_EQ(0, sc_checkpoint(sc, when));
		if (!numa || k == sc->nr_members - 1)
			continue;
		/* Walk from a different survivor each time. */
		do {
			walker = (walker + 1) % sc->nr_members;
		} while (!sc->alive[walker]);
		EXPECT_EQ(0, sc_migrate_walk(sc, walker, numa, when));
		EXPECT_EQ(0, sc_checkpoint(sc, "after migration"));
	}
	EXPECT_EQ(0, khealth_check(health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

TEST_F_TIMEOUT(fork_tree, exits, 120)
{
	run_tree(_metadata, self->sc, self->exit_order, &self->health, NULL);
}

TEST_F_TIMEOUT(fork_tree, migrate_after_exits, 180)
{
	int nodes[2];

	if (numa_usable_nodes(nodes, 2) < 2)
		SKIP(return, "needs 2 NUMA nodes with memory for migration");
	run_tree(_metadata, self->sc, self->exit_order, &self->health, nodes);
}

/* ---- fork_misc: exec, vfork, threads, churn ----------------------------- */

#define EXEC_ENV	"AVL_FORK_MISC_EXEC_CHILD"

/*
 * The image a child execs (this binary again): it says it is running, so
 * its old mm is gone, and waits to be released. Runs before the harness.
 */
static void __attribute__((constructor)) exec_child_main(void)
{
	const char *env = getenv(EXEC_ENV);
	int ready_fd, release_fd;
	char byte = 'R';

	if (!env || sscanf(env, "%d,%d", &ready_fd, &release_fd) != 2)
		return;
	if (write(ready_fd, &byte, 1) != 1)
		_exit(1);
	/* EOF when the test closes its end or dies; then we are done. */
	struct pollfd pfd = { .fd = release_fd, .events = POLLIN };

	poll(&pfd, 1, 2 * WAIT_MS);
	_exit(0);
}

#define RACE_REGIONS	1000

struct fault_race {
	char *base;			/* RACE_REGIONS slots of 2 pages */
	unsigned int published;		/* regions [0, published) are done */
	bool stop;			/* set: the faulting thread stops */
};

FIXTURE(fork_misc) {
	char *region;
	struct khealth health;
	/* fork_while_thread_faults: the thread that faults, while it runs */
	struct fault_race race;
	pthread_t faulter;
	bool faulter_running;
};

FIXTURE_SETUP(fork_misc)
{
	fork_region_setup(_metadata, &self->region, &self->health,
			  "fork_misc");
}

/*
 * Also after a failed ASSERT: a faulting thread still running is stopped
 * and joined before its range goes.
 */
FIXTURE_TEARDOWN(fork_misc)
{
	if (self->faulter_running) {
		__atomic_store_n(&self->race.stop, true, __ATOMIC_RELEASE);
		pthread_join(self->faulter, NULL);
	}
	if (self->race.base)
		munmap(self->race.base, 2 * RACE_REGIONS * psize());
	if (self->region)
		munmap(self->region, MISC_PAGES * psize());
}

/*
 * Pipes to an exec child: only its ends (ready[1], release[0]) survive the
 * exec, so that closing release[1] here is an EOF there.
 */
static int exec_pipes(int ready[2], int release[2])
{
	if (pipe2(ready, O_CLOEXEC) || pipe2(release, O_CLOEXEC))
		return -1;
	if (fcntl(ready[1], F_SETFD, 0) || fcntl(release[0], F_SETFD, 0))
		return -1;
	return 0;
}

/* execve() this binary as an exec child talking over @ready and @release. */
static void exec_self(int ready_fd, int release_fd)
{
	char arg0[] = "fork_misc", env[64];
	char *argv[2], *envp[2];

	snprintf(env, sizeof(env), EXEC_ENV "=%d,%d", ready_fd, release_fd);
	argv[0] = arg0;
	envp[0] = env;
	argv[1] = NULL;
	envp[1] = NULL;
	execve("/proc/self/exe", argv, envp);
	_exit(127);
}

/*
 * Fork shares every page (map count 2); the child's exec drops its mm, so
 * the pages must be exclusive to the parent again, and a new fork must
 * share them again: the parent's upgraded anon_vma must still reach them.
 */
TEST_F(fork_misc, exec_in_child)
{
	int ready[2], release[2], go[2], status;
	pid_t pid, again;
	char report[2048];

	ASSERT_EQ(0, exec_pipes(ready, release));
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Wait until the parent saw the shared pages, then exec. */
		if (wait_byte(go[0], WAIT_MS) < 0)
			_exit(1);
		exec_self(ready[1], release[0]);
	}
	close(ready[1]);
	close(release[0]);
	close(go[0]);

	EXPECT_EQ(0, check_region(_metadata, self->region, 2, "after fork"));
	ASSERT_EQ(1, write(go[1], "G", 1));
	ASSERT_EQ('R', wait_byte(ready[0], WAIT_MS)) TH_LOG("exec child not running");
	EXPECT_EQ(0, check_region(_metadata, self->region, 1, "after exec in child"));

	again = fork();
	ASSERT_LE(0, again);
	if (again == 0) {
		/* Map count 2 while we live: the parent checks it. */
		pause();
		_exit(0);
	}
	EXPECT_EQ(0, check_region(_metadata, self->region, 2, "after second fork"));
	kill(again, SIGKILL);
	EXPECT_EQ(0, reap_with_deadline(again, WAIT_MS, &status));
	EXPECT_EQ(0, check_region(_metadata, self->region, 1, "after second child exit"));

	close(release[1]);
	EXPECT_EQ(0, reap_with_deadline(pid, WAIT_MS, &status));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	close(ready[0]);
	close(go[1]);
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/* vfork shares the mm: no page is ever mapped twice, before or after exec. */
TEST_F(fork_misc, vfork_then_exec)
{
	int ready[2], release[2], status;
	char report[2048];
	pid_t pid;

	ASSERT_EQ(0, exec_pipes(ready, release));
	pid = vfork();
	if (pid == 0)
		exec_self(ready[1], release[0]);
	ASSERT_LE(0, pid);
	close(ready[1]);
	close(release[0]);
	ASSERT_EQ('R', wait_byte(ready[0], WAIT_MS)) TH_LOG("exec child not running");
	EXPECT_EQ(0, check_region(_metadata, self->region, 1, "after vfork and exec"));
	close(release[1]);
	EXPECT_EQ(0, reap_with_deadline(pid, WAIT_MS, &status));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	close(ready[0]);
	EXPECT_EQ(0, check_region(_metadata, self->region, 1, "after the child exited"));
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * Fault one fresh VMA after another: each first fault is the moment a lazy
 * VMA gets its anon_vma state, under the per-VMA lock only, while the main
 * thread forks.
 */
static void *fault_thread(void *arg)
{
	struct fault_race *race = arg;
	unsigned int k;

	for (k = 0; k < RACE_REGIONS; k++) {
		char *p = race->base + 2 * k * psize();
		struct page_tag tag = { .owner = 1, .index = k };

		if (__atomic_load_n(&race->stop, __ATOMIC_ACQUIRE))
			break;
		if (mmap(p, psize(), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != p)
			return (void *)1;
		tag_fill(p, psize(), &tag);
		__atomic_store_n(&race->published, k + 1, __ATOMIC_RELEASE);
		if (k % 8 == 0)
			usleep(100);
	}
	return NULL;
}

/* In a child: every region published before the fork is complete. */
static int race_child_verify(struct fault_race *race)
{
	unsigned int k, done = __atomic_load_n(&race->published, __ATOMIC_ACQUIRE);
	int bad = 0;

	for (k = 0; k < done; k++) {
		struct page_tag tag = { .owner = 1, .index = k };

		bad += !!tag_verify(race->base + 2 * k * psize(),
				    psize(), &tag, NULL);
	}
	return bad;
}

TEST_F_TIMEOUT(fork_misc, fork_while_thread_faults, 60)
{
	struct fault_race *race = &self->race;
	struct pagemap_entry e;
	int status, children = 0, bad_children = 0, bad = 0, fork_errno = 0;
	unsigned int k;
	char report[2048];
	void *ret;
	__u64 count;
	pid_t pid;

	race->base = reserve_range(2 * RACE_REGIONS * psize());
	ASSERT_NE(NULL, race->base);
	ASSERT_EQ(0, pthread_create(&self->faulter, NULL, fault_thread, race));
	self->faulter_running = true;
	while (__atomic_load_n(&race->published, __ATOMIC_ACQUIRE) < RACE_REGIONS) {
		pid = fork();
		if (pid == 0)
			_exit(race_child_verify(race) ? 1 : 0);
		if (pid < 0) {
			fork_errno = errno;
			break;
		}
		children++;
		if (reap_with_deadline(pid, WAIT_MS, &status) ||
		    !WIFEXITED(status) || WEXITSTATUS(status))
			bad_children++;
	}
	self->faulter_running = false;
	ASSERT_EQ(0, pthread_join(self->faulter, &ret));
	ASSERT_EQ(NULL, ret);
	TH_LOG("%d children forked while %d VMAs were faulted", children,
	       RACE_REGIONS);
	/* A failed fork is a failure, and a race with no child proves nothing. */
	EXPECT_EQ(0, fork_errno);
	EXPECT_LT(0, children);
	EXPECT_EQ(0, bad_children);

	/* All children are gone: every page is ours alone. */
	for (k = 0; k < RACE_REGIONS; k++) {
		struct page_tag tag = { .owner = 1, .index = k };
		char *p = race->base + 2 * k * psize();

		if (tag_verify(p, psize(), &tag, NULL) ||
		    pagemap_get(0, (unsigned long)p, &e) || !e.pfn ||
		    !e.exclusive || kpagecount_get(e.pfn, &count) || count != 1)
			bad++;
	}
	EXPECT_EQ(0, bad);
	munmap(race->base, 2 * RACE_REGIONS * psize());
	race->base = NULL;
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

#define CHURN_CYCLES		2000
#define CHURN_BUDGET_MS		8000
#define CHURN_TOLERANCE		256

/* One cycle: a child that faults, COW-writes, maybe forks, and exits. */
static int churn_cycle(char *region, int cycle)
{
	int status = 0;
	pid_t pid, grandchild;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		char *mine = mmap(NULL, 2 * psize(), PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (mine == MAP_FAILED)
			_exit(1);
		mine[0] = 1;
		region[(cycle % MISC_PAGES) * psize() + 64] ^= 1;
		if (cycle % 4 == 0) {
			grandchild = fork();
			if (grandchild == 0) {
				mine[psize()] = 2;
				_exit(0);
			}
			if (grandchild < 0 ||
			    reap_with_deadline(grandchild, WAIT_MS, &status))
				_exit(1);
		}
		_exit(0);
	}
	if (reap_with_deadline(pid, WAIT_MS, &status))
		return -ETIMEDOUT;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -ECHILD;
}

/*
 * Thousands of fork/fault/exit cycles must not leak an anon_vma, an
 * anon_vma_chain or a VMA (a VMA reference ANON_VMA_LAZY takes and never
 * drops, for example). Caches merged with others cannot be counted alone.
 */
TEST_F_TIMEOUT(fork_misc, churn_slab_counts, 60)
{
	struct slab_baseline base;
	char note[128], report[2048];
	long long deadline;
	int cycles;

	if (!slab_baseline_take(&base, note, sizeof(note)))
		SKIP(return, "%s", note);
	if (note[0])
		TH_LOG("%s", note);
	deadline = now_ms() + CHURN_BUDGET_MS;
	for (cycles = 0; cycles < CHURN_CYCLES && now_ms() < deadline; cycles++)
		ASSERT_EQ(0, churn_cycle(self->region, cycles));
	TH_LOG("%d fork/fault/exit cycles", cycles);
	EXPECT_EQ(0, slab_baseline_exceeded(&base, CHURN_TOLERANCE, report,
					    sizeof(report)))
		TH_LOG("%s", report);
	EXPECT_EQ(0, check_region(_metadata, self->region, 1, "after churn"));
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

AVL_HARNESS_MAIN
