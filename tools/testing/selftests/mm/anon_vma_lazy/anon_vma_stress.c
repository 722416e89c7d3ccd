// SPDX-License-Identifier: GPL-2.0
/*
 * anon_vma_stress: a seeded random walk over fork, exit, split, merge,
 * munmap, mremap, madvise, mlock, pageout and migration, checked against
 * the scenario engine's model after every round.
 *
 * The hand-written scenarios cover the combinations someone thought of;
 * this one looks for the others. Each round generates a random scenario
 * for the engine (scenario.h): up to 8 processes forked from
 * each other at random points, each running a random program on 4
 * regions (fault, COW-write, mprotect split and back, munmap, MADV_DONTNEED,
 * MADV_COLD, MADV_DONTFORK, MADV_WIPEONFORK, mlock, mremap move, grow and
 * MREMAP_DONTUNMAP, MADV_PAGEOUT where swap exists). The generator runs
 * the model as it goes, so every program is valid: ranges lie where the
 * operation needs them. Then the processes exit in a random order; after
 * the build and after every exit the engine checks every process (contents,
 * PFN identity among the processes that share each copy, bit 56,
 * kpagecount, smaps, the VMA layout) and, chosen per round, migrates or
 * pages out every page first (rmap walks), where two nodes or swap exist.
 * The kernel log is checked after every round.
 *
 *   anon_vma_stress                     rounds for 30 s (AVL_STRESS_SECONDS)
 *   anon_vma_stress --seed S --steps N  replay exactly: the same rounds
 *   anon_vma_stress --seconds T         another time budget
 *   anon_vma_stress --shrink            on a failure, reduce the failing
 *                                       round to a minimal scenario
 *   anon_vma_stress --program "0: mmap0 fork1 | 1: write0" [--exit 1,0]
 *                   [--walk none|migrate|pageout]   run one scenario
 *   anon_vma_stress --program "..." --render   print the model's
 *                                       expectation of a scenario in the
 *                                       literal form the tests state
 *                                       (scenario_test.h), run nothing
 *
 * A failure prints the seed, the step count to replay it, and the round
 * as a scenario in the engine's language, which split.c and friends take
 * as they are. Every process is reaped and every knob restored.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../kselftest_harness.h"
#include "harness_main.h"
#include "env.h"
#include "khealth.h"
#include "scenario.h"

#define STRESS_MEMBERS	8
#define STRESS_REGIONS	4
#define ROUND_SLACK_MS	20000	/* a round may run past the budget */
#define SHRINK_SECONDS	90

static struct {
	unsigned long seed;
	bool seed_given;
	long steps;		/* 0: until the time budget is spent */
	int seconds;
	bool shrink;
	const char *program;
	const char *exit_order;
	const char *walk;
	bool render;
} opt = { .seconds = 30 };

/* One round: a scenario, an exit order and the walk at every checkpoint. */
struct round {
	char program[4096];
	int nr_members;
	int exit_order[STRESS_MEMBERS];
	enum sc_walk walk;
	int steps;		/* program steps + exits */
};

static const char * const walk_names[] = {
	[SC_NO_WALK] = "none", [SC_MIGRATE_WALK] = "migrate",
	[SC_PAGEOUT_WALK] = "pageout",
};

/* The splitmix64 sequence: the same seed gives the same rounds. */
static int rnd(unsigned long *state, int n)
{
	__u64 z = splitmix64(*state);

	*state += 0x9e3779b97f4a7c15ULL;
	return z % n;
}

/* ---- generation ---------------------------------------------------------- */

struct gen {
	struct scenario *sc;
	unsigned long *rng;
	bool swap;
	int nr_members;
	struct sc_view start[STRESS_MEMBERS];	/* each member's view at fork */
	char text[STRESS_MEMBERS][512];
};

static bool range_all(const struct sc_view *v, int r, int a, int b,
		      bool (*pred)(const struct sc_page *))
{
	int i;

	for (i = a; i < b; i++)
		if (!pred(&v->page[r][i]))
			return false;
	return true;
}

static bool is_mapped(const struct sc_page *p)
{
	return p->state != SC_UNMAPPED;
}

static bool is_unmapped(const struct sc_page *p)
{
	return p->state == SC_UNMAPPED;
}

static bool mapped_unlocked(const struct sc_page *p)
{
	return p->state != SC_UNMAPPED && !p->locked;
}

/* mlock populates never-written pages, which the model keeps as zero. */
static bool mapped_written(const struct sc_page *p)
{
	return p->state == SC_TAGGED;
}

/* [a, b) is a whole VMA. */
static bool whole_vma(const struct sc_view *v, int r, int a, int b)
{
	return (a == 0 || !is_mapped(&v->page[r][a - 1]) ||
		v->page[r][a].vma_start) &&
	       (b == SC_REGION_PAGES || !is_mapped(&v->page[r][b]) ||
		v->page[r][b].vma_start);
}

/* [a, b) lies in one VMA (mremap moves only within one). */
static bool one_vma(const struct sc_view *v, int r, int a, int b)
{
	int i;

	for (i = a + 1; i < b; i++)
		if (v->page[r][i].vma_start)
			return false;
	return true;
}

/*
 * Whether step @st fits the view @v of the member that takes it: the
 * engine's rules for programs (scenario.h) and the kernel's (mlocked
 * VMAs refuse MADV_DONTNEED, MADV_COLD and MADV_PAGEOUT; mremap moves
 * within one VMA; pageout only where swap exists).
 */
static bool step_valid(const struct sc_view *v, const struct sc_step *st,
		       bool swap)
{
	int r = st->region, a = st->first, b = st->last;

	switch (st->op) {
	case SC_MMAP:
	case SC_FORK:
		return true;
	case SC_WRITE:
	case SC_RO:
	case SC_RW:
	case SC_UNMAP:
	case SC_MUNLOCK:
	case SC_DONTFORK:
		return range_all(v, r, a, b, is_mapped);
	case SC_WIPEONFORK:
		/*
		 * Not generated: a child's MADV_WIPEONFORK VMA has no
		 * anon_vma, and the merge rules around such VMAs (with
		 * pageout, splits and faults in between) are more than
		 * the model follows yet; the split and fork tests cover
		 * MADV_WIPEONFORK with exact layouts.
		 */
		return false;
	case SC_MLOCK:
		return range_all(v, r, a, b, mapped_written);
	case SC_DONTNEED:
	case SC_COLD:
		return range_all(v, r, a, b, mapped_unlocked);
	case SC_PAGEOUT:
		return swap && range_all(v, r, a, b, mapped_unlocked);
	case SC_MOVE:
		return range_all(v, r, a, b, mapped_unlocked) &&
		       one_vma(v, r, a, b);
	case SC_DONTUNMAP:
		/*
		 * MREMAP_DONTUNMAP of a whole VMA unlinks its anon_vma; a
		 * later fault there may adopt a neighbour's, which the
		 * model does not follow (mremap.c tests that case).
		 */
		return range_all(v, r, a, b, mapped_unlocked) &&
		       one_vma(v, r, a, b) && !whole_vma(v, r, a, b);
	case SC_GROW:
		return a > 0 && is_mapped(&v->page[r][a - 1]) &&
		       !v->page[r][a - 1].locked &&
		       range_all(v, r, a, b, is_unmapped);
	default:
		return false;
	}
}

/* A random step for a member with view @v; false when it does not fit. */
static bool pick_step(struct gen *g, const struct sc_view *v, struct sc_step *st)
{
	static const enum sc_op ops[] = {
		SC_MMAP, SC_WRITE, SC_WRITE, SC_WRITE, SC_FORK, SC_FORK,
		SC_RO, SC_RW, SC_UNMAP, SC_DONTNEED, SC_COLD, SC_MLOCK,
		SC_MUNLOCK, SC_DONTFORK, SC_MOVE, SC_MOVE,
		SC_DONTUNMAP, SC_GROW, SC_PAGEOUT, SC_PAGEOUT,
	};
	int a = rnd(g->rng, SC_REGION_PAGES);

	st->op = ops[rnd(g->rng, ARRAY_SIZE(ops))];
	st->region = rnd(g->rng, STRESS_REGIONS);
	st->first = a;
	st->last = a + 1 + rnd(g->rng, SC_REGION_PAGES - a);
	st->child = 0;
	if (st->op == SC_MMAP || st->op == SC_FORK) {
		st->first = 0;
		st->last = SC_REGION_PAGES;
	}
	if (st->op == SC_FORK) {
		if (g->nr_members >= STRESS_MEMBERS)
			return false;
		st->child = g->nr_members;
	}
	if (st->op == SC_MOVE || st->op == SC_DONTUNMAP)
		st->child = (st->region + 1 +
			     rnd(g->rng, STRESS_REGIONS - 1)) % STRESS_REGIONS;
	return step_valid(v, st, g->swap);
}

/*
 * Whether every step of @sc fits where it runs, replaying the model in
 * fork order (a child's number is above its parent's). The shrinker's
 * candidates must pass this: dropping a step can leave later ones where
 * they make no sense (an mprotect of an unmapped range).
 */
static bool scenario_valid(struct scenario *sc, bool swap)
{
	static struct sc_view view[SC_MAX_MEMBERS];
	const struct sc_step *st;
	int m, s;

	memset(&view[0], 0, sizeof(view[0]));
	for (m = 0; m < sc->nr_members; m++) {
		for (s = 0; s < sc->nr_steps[m]; s++) {
			st = &sc->steps[m][s];
			if (!step_valid(&view[m], st, swap))
				return false;
			if (st->op == SC_FORK)
				sc_model_fork(&view[m], &view[st->child]);
			else
				sc_model_step(sc, m, s, &view[m]);
		}
	}
	return true;
}

static void append_step(char *text, size_t len, const struct sc_step *st)
{
	size_t n = strlen(text);

	if (st->op == SC_FORK)
		snprintf(text + n, len - n, " fork%d", st->child);
	else if (st->op == SC_MMAP)
		snprintf(text + n, len - n, " mmap%d", st->region);
	else
		snprintf(text + n, len - n, " %s%d:%d-%d", sc_op_names[st->op],
			 st->region, st->first, st->last);
	if (st->op == SC_MOVE || st->op == SC_DONTUNMAP) {
		n = strlen(text);
		snprintf(text + n, len - n, ">%d", st->child);
	}
}

/* Member @m's program, from its view at fork; forks queue new members. */
static void gen_member(struct gen *g, int m)
{
	struct sc_view *v = &g->start[m];
	int n = 2 + rnd(g->rng, 6), k, tries, s;
	struct sc_step st;

	snprintf(g->text[m], sizeof(g->text[m]), "%d:", m);
	for (k = 0; k < n; k++) {
		for (tries = 0; tries < 20; tries++) {
			if (m == 0 && k == 0) {
				/* Something to work on from the start. */
				st = (struct sc_step){ .op = SC_MMAP,
						       .region = 0, .first = 0,
						       .last = SC_REGION_PAGES };
				break;
			}
			if (pick_step(g, v, &st))
				break;
		}
		if (tries == 20)
			continue;
		if (sc_add_step(g->sc, m, st.op, st.region, st.first, st.last,
				st.child))
			break;
		s = g->sc->nr_steps[m] - 1;
		append_step(g->text[m], sizeof(g->text[m]), &st);
		if (st.op == SC_FORK) {
			sc_model_fork(v, &g->start[st.child]);
			g->nr_members++;
			continue;
		}
		sc_model_step(g->sc, m, s, v);
	}
}

/* A random round from @rng, as program text (the engine parses it back). */
static void gen_round(struct round *rd, unsigned long *rng, bool swap,
		      bool numa)
{
	static struct gen g;
	int m, k, j, tmp;

	memset(&g, 0, sizeof(g));
	g.sc = sc_create(1);
	g.rng = rng;
	g.swap = swap;
	g.nr_members = 1;
	/* Members are generated in fork order: a child after its parent. */
	for (m = 0; m < g.nr_members && g.sc; m++)
		gen_member(&g, m);
	rd->program[0] = '\0';
	for (m = 0; m < g.nr_members; m++) {
		size_t n = strlen(rd->program);

		snprintf(rd->program + n, sizeof(rd->program) - n, "%s%s",
			 m ? " | " : "", g.text[m]);
	}
	rd->nr_members = g.nr_members;
	for (m = 0; m < g.nr_members; m++)
		rd->exit_order[m] = m;
	for (k = g.nr_members - 1; k > 0; k--) {
		j = rnd(rng, k + 1);
		tmp = rd->exit_order[k];
		rd->exit_order[k] = rd->exit_order[j];
		rd->exit_order[j] = tmp;
	}
	rd->walk = SC_NO_WALK;
	k = rnd(rng, 3);
	if (k == 1 && numa)
		rd->walk = SC_MIGRATE_WALK;
	if (k == 2 && swap)
		rd->walk = SC_PAGEOUT_WALK;
	rd->steps = g.nr_members;
	for (m = 0; m < g.nr_members && g.sc; m++)
		rd->steps += g.sc->nr_steps[m];
	free(g.sc);
}

/* ---- running a round ------------------------------------------------------ */

enum outcome { ROUND_PASSED, ROUND_SETUP_FAILED, ROUND_FAILED, ROUND_INVALID };

/*
 * Run @rd. ROUND_SETUP_FAILED: a member's system call failed while the
 * scenario was built; ROUND_FAILED: an oracle disagreed with the model or
 * the kernel log has a splat; ROUND_INVALID: the text is not a scenario.
 */
static enum outcome run_round(const struct round *rd, const int *nodes,
			      bool swap, bool quiet)
{
	struct scenario *sc = sc_create(1);
	char report[2048], when[64];
	struct khealth health;
	enum outcome ret = ROUND_PASSED;
	int k, m, bad = 0;

	if (!sc || sc_parse(sc, rd->program) ||
	    !scenario_valid(sc, swap) || sc_finish(sc) ||
	    sc->nr_members != rd->nr_members) {
		sc_destroy(sc);
		return ROUND_INVALID;
	}
	khealth_begin(&health, "anon_vma_stress");
	if (sc_start(sc, report, sizeof(report))) {
		if (!quiet)
			printf("# build failed: %s\n", report);
		sc_destroy(sc);
		return ROUND_SETUP_FAILED;
	}
	bad += sc_checkpoint(sc, "built");
	bad += sc_walk_all(sc, rd->walk, nodes, "walked after build");
	for (k = 0; k < rd->nr_members - 1 && !bad; k++) {
		m = rd->exit_order[k];
		if (sc_exit_member(sc, m)) {
			bad++;
			break;
		}
		snprintf(when, sizeof(when), "after P%d exited", m);
		bad += sc_checkpoint(sc, when);
		bad += sc_walk_all(sc, rd->walk, nodes, when);
	}
	sc_destroy(sc);
	if (khealth_check(&health, report, sizeof(report))) {
		printf("# kernel log / taint:\n%s\n", report);
		bad++;
	}
	if (bad)
		ret = ROUND_FAILED;
	fflush(stdout);
	return ret;
}

static void print_round(const char *what, const struct round *rd)
{
	int m;

	printf("# %s (%d steps): --program \"%s\" --exit ", what, rd->steps,
	       rd->program);
	for (m = 0; m < rd->nr_members; m++)
		printf("%s%d", m ? "," : "", rd->exit_order[m]);
	printf(" --walk %s\n", walk_names[rd->walk]);
}

/* ---- shrinking ------------------------------------------------------------ */

/* Tokens of a program: "N:" member heads, steps, and "|" separators. */
struct tokens {
	int nr;
	char tok[512][24];
};

static void tokenize(const char *text, struct tokens *t)
{
	const char *p = text;
	size_t n;

	t->nr = 0;
	while (*p && t->nr < (int)ARRAY_SIZE(t->tok)) {
		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		if (!n)
			break;
		snprintf(t->tok[t->nr++], sizeof(t->tok[0]), "%.*s", (int)n, p);
		p += n;
	}
}

static int member_of_head(const char *tok)
{
	char *end;
	long m = strtol(tok, &end, 10);

	return *end == ':' && !end[1] ? (int)m : -1;
}

/* Steps of @rd: every program step and every exit. */
static int count_steps(const struct round *rd)
{
	static struct tokens t;
	int i, n = rd->nr_members;

	tokenize(rd->program, &t);
	for (i = 0; i < t.nr; i++)
		n += strcmp(t.tok[i], "|") && member_of_head(t.tok[i]) < 0;
	return n;
}

/*
 * @rd without token @skip; a "forkC" token takes member C's program with
 * it, and the members after C are renumbered. Returns false when nothing
 * is left to drop there.
 */
static bool drop_token(const struct round *rd, int skip, struct round *out)
{
	static struct tokens t;
	int i, m = -1, gone = -1, k, j, c;
	char buf[32];

	tokenize(rd->program, &t);
	if (skip >= t.nr || !strcmp(t.tok[skip], "|") ||
	    member_of_head(t.tok[skip]) >= 0)
		return false;
	if (!strncmp(t.tok[skip], "fork", 4))
		gone = atoi(t.tok[skip] + 4);
	*out = *rd;
	out->program[0] = '\0';
	for (i = 0; i < t.nr; i++) {
		const char *tok = t.tok[i];
		size_t n = strlen(out->program);

		/* A separator goes with the member after it. */
		if (!strcmp(tok, "|")) {
			if (i + 1 < t.nr && member_of_head(t.tok[i + 1]) == gone)
				continue;
			snprintf(out->program + n, sizeof(out->program) - n,
				 " |");
			continue;
		}
		if (member_of_head(tok) >= 0)
			m = member_of_head(tok);
		if (i == skip || m == gone)
			continue;
		if (gone >= 0 && member_of_head(tok) > gone) {
			snprintf(buf, sizeof(buf), "%d:", member_of_head(tok) - 1);
			tok = buf;
		} else if (gone >= 0 && !strncmp(tok, "fork", 4) &&
			   atoi(tok + 4) > gone) {
			snprintf(buf, sizeof(buf), "fork%d", atoi(tok + 4) - 1);
			tok = buf;
		}
		snprintf(out->program + n, sizeof(out->program) - n, "%s%s",
			 n ? " " : "", tok);
	}
	if (gone < 0) {
		out->steps = count_steps(out);
		return true;
	}
	/* The removed member leaves the exit order; the rest renumber. */
	for (k = 0, j = 0; k < rd->nr_members; k++) {
		c = rd->exit_order[k];
		if (c == gone)
			continue;
		out->exit_order[j++] = c > gone ? c - 1 : c;
	}
	out->nr_members = rd->nr_members - 1;
	out->steps = count_steps(out);
	return true;
}

/*
 * Reduce @rd while it still fails the same way (@how): whole members
 * first (a fork and the child's program), then single steps, until no
 * single removal keeps the failure or the time is up; prints the result.
 */
static void shrink(struct round *rd, enum outcome how, const int *nodes,
		   bool swap)
{
	long long deadline = now_ms() + SHRINK_SECONDS * 1000LL;
	static struct round cand;
	static struct tokens t;
	int i, pass, trials = 0;
	bool progress = true;

	if (rd->walk != SC_NO_WALK) {
		cand = *rd;
		cand.walk = SC_NO_WALK;
		if (run_round(&cand, nodes, swap, true) == how)
			*rd = cand;
		trials++;
	}
	while (progress && now_ms() < deadline) {
		progress = false;
		for (pass = 0; pass < 2 && !progress; pass++) {
			tokenize(rd->program, &t);
			for (i = t.nr - 1; i >= 0 && now_ms() < deadline; i--) {
				/* Pass 0: forks only (members); pass 1: any. */
				if (!pass && strncmp(t.tok[i], "fork", 4))
					continue;
				if (!drop_token(rd, i, &cand))
					continue;
				trials++;
				if (run_round(&cand, nodes, swap, true) != how)
					continue;
				*rd = cand;
				progress = true;
				break;
			}
		}
	}
	printf("# shrinking: %d runs%s\n", trials,
	       now_ms() < deadline ? "" : ", stopped by the time limit");
	print_round("shrunk to", rd);
}

/* ---- the test --------------------------------------------------------------- */

static int parse_exit_order(const char *text, struct round *rd)
{
	int k = 0;
	char *end;

	while (text && *text && k < STRESS_MEMBERS) {
		rd->exit_order[k++] = strtol(text, &end, 10);
		text = *end == ',' ? end + 1 : end;
	}
	return k;
}

/* The round given with --program. */
static void given_round(struct round *rd)
{
	struct scenario *sc = sc_create(1);
	int m, k;

	memset(rd, 0, sizeof(*rd));
	snprintf(rd->program, sizeof(rd->program), "%s", opt.program);
	if (sc && !sc_parse(sc, rd->program))
		rd->nr_members = sc->nr_members;
	free(sc);
	k = parse_exit_order(opt.exit_order, rd);
	for (m = 0; k < rd->nr_members && m < rd->nr_members; m++)
		rd->exit_order[k++] = m;	/* default: in member order */
	for (m = 0; m < (int)ARRAY_SIZE(walk_names); m++)
		if (opt.walk && !strcmp(opt.walk, walk_names[m]))
			rd->walk = m;
}

FIXTURE(stress) {
};

FIXTURE_SETUP(stress)
{
}

FIXTURE_TEARDOWN(stress)
{
}

/* The harness timeout is set from --seconds in main(). */
TEST_F_TIMEOUT(stress, random_walk, 170)
{
	const char *missing = page_oracles_missing();
	static struct round rd;
	long long deadline;
	long steps = 0, rounds = 0;
	unsigned long rng, seed;
	int nodes[2], how;	/* enum outcome; int for the harness' checks */
	bool numa, swap;

	report_environment_once();
	if (missing)
		SKIP(return, "%s", missing);
	numa = numa_usable_nodes(nodes, 2) >= 2;
	swap = swap_enabled();
	/* Pageout needs every folio drained by its own CPU. */
	ASSERT_EQ(0, pin_to_this_cpu());

	if (opt.program) {
		given_round(&rd);
		print_round("scenario", &rd);
		how = run_round(&rd, nodes, swap, false);
		ASSERT_NE(ROUND_INVALID, how) TH_LOG("not a valid scenario");
		EXPECT_EQ(ROUND_PASSED, how);
		return;
	}
	seed = opt.seed_given ? opt.seed : test_seed();
	printf("# seed %lu; walks: migration %s, pageout %s\n", seed,
	       numa ? "yes" : "no (one node)", swap ? "yes" : "no (no swap)");
	rng = seed;
	deadline = now_ms() + opt.seconds * 1000LL;
	while (opt.steps ? steps < opt.steps : now_ms() < deadline) {
		gen_round(&rd, &rng, swap, numa);
		how = run_round(&rd, nodes, swap, false);
		steps += rd.steps;
		rounds++;
		if (how == ROUND_PASSED)
			continue;
		print_round("failing round", &rd);
		printf("# replay: anon_vma_stress --seed %lu --steps %ld\n",
		       seed, steps);
		if (opt.shrink)
			shrink(&rd, how, nodes, swap);
		ASSERT_EQ(ROUND_PASSED, how)
			TH_LOG("round %ld failed (%s)", rounds,
			       how == ROUND_SETUP_FAILED ? "a system call of the scenario failed" :
			       how == ROUND_INVALID ? "generated an invalid scenario" :
			       "an oracle disagreed with the model");
	}
	printf("# %ld rounds, %ld steps, all passed (seed %lu)\n", rounds, steps,
	       seed);
	EXPECT_LT(0, rounds);
}

/*
 * --render: the literal expectation of --program, as a scenario variant
 * states it, under each answer of the merge policy. 0, or 2 for a bad
 * program.
 */
static int render(const char *program)
{
	static char buf[16384];
	struct sc_policy p;
	struct scenario *sc;
	char err[256];
	int merges;

	sc = sc_from_program(program, err, sizeof(err));
	if (!sc) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	for (merges = 0; merges < 2; merges++) {
		p.merges_into_unfaulted = merges;
		sc_policy_override(&p);
		sc_model_all(sc);
		printf("# merges into an unfaulted neighbour: %s\n",
		       merges ? "yes" : "no");
		if (sc_render(sc, buf, sizeof(buf)) >= 0)
			printf("%s\n", buf);
		if (sc_render_summary(sc, buf, sizeof(buf)) >= 0)
			printf("# summary:\n%s\n", buf);
	}
	sc_destroy(sc);
	return 0;
}

static void print_help(const char *me)
{
	printf("usage: %s [--seed S] [--steps N] [--seconds T] [--shrink]\n"
	       "       %s --program TEXT [--exit 1,0,...] [--walk none|migrate|pageout]\n"
	       "       %s --program TEXT --render\n"
	       "       and the kselftest_harness options (-l, -t, ...)\n",
	       me, me, me);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "steps", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 'T' },
		{ "shrink", no_argument, NULL, 'S' },
		{ "program", required_argument, NULL, 'p' },
		{ "exit", required_argument, NULL, 'e' },
		{ "walk", required_argument, NULL, 'w' },
		{ "render", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	char *rest[64];
	const char *env = getenv("AVL_STRESS_SECONDS");
	int c, nr = 0, i;

	if (env)
		opt.seconds = atoi(env);
	/* Our long options out; the harness's short ones stay. */
	rest[nr++] = argv[0];
	for (i = 1; i < argc && nr < (int)ARRAY_SIZE(rest) - 1; i++) {
		if (strncmp(argv[i], "--", 2)) {
			rest[nr++] = argv[i];
			if (argv[i][0] == '-' && strchr("tTfFvVr", argv[i][1]) &&
			    !argv[i][2] && i + 1 < argc)
				rest[nr++] = argv[++i];
			continue;
		}
		optind = i;
		c = getopt_long(argc, argv, "+", longopts, NULL);
		i = optind - 1;
		switch (c) {
		case 's':
			opt.seed = strtoul(optarg, NULL, 0);
			opt.seed_given = true;
			break;
		case 'n':
			opt.steps = atol(optarg);
			break;
		case 'T':
			opt.seconds = atoi(optarg);
			break;
		case 'S':
			opt.shrink = true;
			break;
		case 'p':
			opt.program = optarg;
			break;
		case 'e':
			opt.exit_order = optarg;
			break;
		case 'w':
			opt.walk = optarg;
			break;
		case 'R':
			opt.render = true;
			break;
		case 'H':
			print_help(argv[0]);
			return 0;
		default:
			print_help(argv[0]);
			return 2;
		}
	}
	rest[nr] = NULL;
	if (opt.render)
		return opt.program ? render(opt.program) : 2;
	optind = 0;	/* the harness parses the rest from scratch */
	/* The budget, shrinking and the last round's checks fit in this. */
	_stress_random_walk_object->timeout = opt.seconds + SHRINK_SECONDS + 60;
	/* All skipped: exit KSFT_SKIP, as AVL_HARNESS_MAIN does. */
	avl_harness_start();
	return test_harness_run(nr, rest);
}
