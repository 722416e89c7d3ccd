/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The scenario engine: process trees whose members run small programs of
 * memory operations, checked against a model of what each member must
 * map.
 *
 * A scenario is a crew (crew.h) of members that fork each other; each
 * runs a program on regions of SC_REGION_PAGES pages at fixed addresses:
 *
 *   mmap0            create and fault region 0 (it starts lazy here)
 *   write0:2-6       COW-write a pseudo-random half of pages 2..5 of it
 *   fork1            fork member 1 (the tree is given by the fork steps)
 *   ro0:4-8, rw0:4-8 mprotect read-only / back to read-write (splits)
 *   unmap0:0-4       munmap
 *   dontneed0, free0, cold0   MADV_DONTNEED, MADV_FREE, MADV_COLD
 *   mlock0, munlock0          mlock / munlock (mlock of a writable range
 *                             faults it in for write: it breaks COW)
 *   dontfork0:0-2, wipeonfork0:2-4   MADV_DONTFORK / MADV_WIPEONFORK
 *   move0:4-8>3      mremap pages 4..7 of region 0 to the same pages of
 *                    region 3 (MREMAP_FIXED: whatever was there goes)
 *   dontunmap0:0-12>3   the same with MREMAP_DONTUNMAP: the source range
 *                    stays mapped, empty
 *   grow0:8-12       mremap the VMA that ends at page 8 to end at 12, in
 *                    place (pages 8..11 must be unmapped)
 *   pageout0:0-6     MADV_PAGEOUT; every page the member maps alone must
 *                    then be swapped out, or the step fails (needs swap,
 *                    and the scenario pinned to one CPU: pin_to_this_cpu)
 *
 * (":a-b" is pages a..b-1; without it, the whole region; a move's source
 * must lie in one VMA.) Programs are written
 * "0: mmap0 fork1 ro0:4-8 | 1: write0 fork2 | 2: write0". Use "free" only
 * on copies the member maps alone (MADV_FREE leaves shared ones alone),
 * and "mlock" and "dontneed" not on the same pages (mlock populates
 * never-written pages; MADV_DONTNEED refuses mlocked ones).
 *
 * Before the first fork the engine runs the same programs on a model and
 * so knows, for every member and page, which copy of the page the member
 * maps once the programs ran (every write makes a new uniquely tagged
 * copy), and which VMAs it must have. Two members share a physical page
 * exactly when they map the same copy. sc_render() writes that down in
 * the form the tests state their expectations in:
 *
 *   P0 R0 AAAA|AAAA|AAAA rw,r-,rw
 *   P1 R0 AB0A|A0BB|.... rw,r-
 *
 * one line per member and region it maps: a column per page, '.' not
 * mapped, '0' mapped but never written (reads zeroes), a letter for the
 * copy the member maps there (the same letter in the same column in two
 * lines: one physical page, shared), lower case when MADV_FREE may have
 * dropped it; '|' where a VMA starts next to a mapped page; then the
 * protection of each VMA in order, with L (mlocked), D (MADV_DONTFORK)
 * and W (MADV_WIPEONFORK) flags. sc_render_summary() gives one line per member
 * instead, for trees too large to draw.
 *
 * sc_checkpoint() then checks every live member against the model:
 * contents (by the member itself), pagemap presence, PFN identity among
 * the mappers of each copy, the exclusive bit, kpagecount, KPF_ANON and
 * KPF_KSM, smaps Rss/Anonymous/Shared/Private/Locked and Pss summed over
 * members, and the VMA layout of every region. The walks make the kernel
 * walk rmap from the folios and check that it reached every mapper.
 *
 * Where the kernel may or may not merge two VMAs (merge policy, which
 * changes between versions), the model follows what the running kernel
 * does, probed once by a control scenario (sc_policy()); correctness -
 * contents, reachability, PFN sharing - never depends on it.
 */
#ifndef __AVL_SCENARIO_H
#define __AVL_SCENARIO_H

#include "crew.h"

#define SC_MAX_MEMBERS	40
#define SC_MAX_REGIONS	CREW_MAX_REGIONS
#define SC_REGION_PAGES	12
#define SC_MAX_STEPS	(SC_MAX_MEMBERS + 24)
/* A broken kernel fails thousands of checks: sc_log() prints this many. */
#define SC_LOG_BUDGET	12

enum sc_page_state {
	SC_UNMAPPED,		/* no VMA there */
	SC_ZERO,		/* mapped, never written: reads zero */
	SC_TAGGED,		/* holds a tagged copy */
	SC_LAZYFREE,		/* MADV_FREE'd: the copy or zero */
};

struct sc_page {
	unsigned char state;
	bool readonly;
	bool locked;
	bool dontfork;
	bool wipeonfork;
	bool unaccounted;	/* no VM_ACCOUNT: made read-only without anon_vma */
	bool vma_start;		/* a VMA starts at this page */
	__u32 av;		/* which anon_vma its VMA has (0: none) */
	__u32 pgoff;		/* vm_pgoff of its VMA + offset: mremap keeps it */
	struct page_tag tag;	/* the contents */
	__u32 copy;		/* same tag, new page: mlock broke COW */
};

struct sc_view {
	struct sc_page page[SC_MAX_REGIONS][SC_REGION_PAGES];
};

enum sc_op {
	SC_MMAP, SC_WRITE, SC_FORK, SC_RO, SC_RW, SC_UNMAP, SC_DONTNEED,
	SC_FREE, SC_COLD, SC_MLOCK, SC_MUNLOCK, SC_DONTFORK, SC_WIPEONFORK,
	SC_MOVE, SC_DONTUNMAP, SC_GROW, SC_PAGEOUT, NR_SC_OPS,
};

/* The name of @op in programs ("mmap", "write", ...). */
extern const char * const sc_op_names[NR_SC_OPS];

struct sc_step {
	enum sc_op op;
	int region;
	int first, last;	/* pages [first, last) */
	int child;		/* SC_FORK: the new member; SC_MOVE and
				 * SC_DONTUNMAP: the destination region
				 */
};

struct scenario {
	int nr_members;
	int parent[SC_MAX_MEMBERS];
	int depth[SC_MAX_MEMBERS];
	int nr_steps[SC_MAX_MEMBERS];
	struct sc_step steps[SC_MAX_MEMBERS][SC_MAX_STEPS];
	bool alive[SC_MAX_MEMBERS];
	unsigned long seed;	/* which pages a write step writes */
	char *base;
	size_t stride;
	size_t reserved;
	struct crew *crew;
	bool ksm_flag_reliable;
	int log_budget;
	/*
	 * With mremap steps one copy may be mapped at page i of different
	 * regions in different members (moves keep the page index): the
	 * checks then look across the regions the programs use.
	 */
	bool moves;
	int nr_used;
	int used[SC_MAX_REGIONS];
	/* What every member maps once its program ran. */
	struct sc_view expect[SC_MAX_MEMBERS];
};

/* ---- building ------------------------------------------------------------ */

/* A zeroed scenario, or NULL. */
struct scenario *sc_create(unsigned long seed);
/* Append one step to member @m's program (-EINVAL when it does not fit). */
int sc_add_step(struct scenario *sc, int m, enum sc_op op, int region,
		int first, int last, int child);
/* Append the steps of a program text (see above); -EINVAL on a bad one. */
int sc_parse(struct scenario *sc, const char *text);
/*
 * Derive the tree from the fork steps and run the model (sc_model_all());
 * then reserve the address range and create the crew. Call once, after
 * all steps are added.
 */
int sc_finish(struct scenario *sc);
/*
 * A scenario from a program text, finished (sc_parse() and sc_finish()),
 * or NULL with the reason in @err.
 */
struct scenario *sc_from_program(const char *program, char *err, size_t len);

/* ---- the model ------------------------------------------------------------- */

/*
 * What this kernel does where merging is allowed but not required: each
 * answer comes from a control scenario run once on the running kernel.
 */
struct sc_policy {
	/*
	 * A VMA with an anon_vma of its own (never forked) merges into a
	 * neighbour without one: 6.18 does, 6.12 does not.
	 */
	bool merges_into_unfaulted;
};

const struct sc_policy *sc_policy(void);
/* Replace the probed policy (the literal checks render both answers). */
void sc_policy_override(const struct sc_policy *policy);

/*
 * The model, for program generators: what step @s of member @m does to
 * the view @v of that member, and the view a child starts from at fork.
 */
void sc_model_step(struct scenario *sc, int m, int s, struct sc_view *v);
void sc_model_fork(const struct sc_view *parent, struct sc_view *child);
/* Every member's view once the programs ran, into sc->expect. */
void sc_model_all(struct scenario *sc);
/* The page tag step @s of member @m writes to page @i of region @r. */
struct page_tag sc_tag(int m, int s, int r, int i);
/* Whether step @s of member @m writes page @i of region @r. */
bool sc_step_writes(struct scenario *sc, int m, int s, int r, int i);
/* Whether @pg is mapped, and whether two pages hold one physical copy. */
bool sc_mapped(const struct sc_page *pg);
bool sc_same_copy(const struct sc_page *a, const struct sc_page *b);

/*
 * The model's expectation in the tests' literal form (see above): one
 * line per member and region, lines separated by '\n'. Returns the
 * length written, or -ENOSPC.
 */
int sc_render(struct scenario *sc, char *buf, size_t len);
/*
 * One line per member: "P3<P1: 6 VMAs, 72 pages, 31 shared, 41 own"
 * (its parent, its VMAs and mapped pages, how many of those hold a copy
 * another member maps too, how many one that only it maps).
 */
int sc_render_summary(struct scenario *sc, char *buf, size_t len);
/*
 * Compare @literal with the model's rendering (sc_render(), or with
 * @summary sc_render_summary()); blanks at line starts and ends do not
 * count. 0 when they agree; otherwise -1 with both in @err.
 */
int sc_check_literal(struct scenario *sc, const char *literal, bool summary,
		     char *err, size_t len);
/*
 * sc_check_literal() under both answers of the merge policy: @expect, or
 * where the outcome depends on it, @expect_if_merged when VMAs merge into
 * unfaulted neighbours (NULL: @expect either way). The model is left as
 * the running kernel's policy has it.
 */
int sc_check_literals(struct scenario *sc, const char *expect,
		      const char *expect_if_merged, bool summary, char *err,
		      size_t len);

/* ---- running and checking ----------------------------------------------- */

/* Fork member 0 and wait until every member ran its program. */
int sc_start(struct scenario *sc, char *err, size_t len);
/*
 * Every oracle on every live member. Returns the number of problems found;
 * the first few are printed as "# @when: ..." lines.
 */
int sc_checkpoint(struct scenario *sc, const char *when);
/*
 * Migrate every page member @m maps to the other of @nodes (shared pages
 * included); every member mapping the same copy must see the new PFN.
 * Returns the number of problems.
 */
int sc_migrate_walk(struct scenario *sc, int m, const int *nodes,
		    const char *when);
/*
 * MADV_PAGEOUT in member @m: its exclusive, unlocked copies must be
 * swapped out (reclaim unmaps them through rmap), shared ones stay.
 * Returns the number of problems.
 */
int sc_pageout_walk(struct scenario *sc, int m, const char *when);
/* Which walk sc_walk_all() makes. */
enum sc_walk { SC_NO_WALK, SC_MIGRATE_WALK, SC_PAGEOUT_WALK };
/*
 * @walk in every live member (@nodes: the two nodes of a migration walk),
 * then a checkpoint. Returns the number of problems (0 for SC_NO_WALK).
 */
int sc_walk_all(struct scenario *sc, enum sc_walk walk, const int *nodes,
		const char *when);
/*
 * Start @sc, check it, then make all members but the last exit in
 * @exit_order, checking after each; @walk (with @nodes) before every
 * check. Returns the number of problems found (printed as they come), or
 * -1 when the scenario could not be built (the reason in @err).
 */
int sc_run(struct scenario *sc, const int *exit_order, enum sc_walk walk,
	   const int *nodes, char *err, size_t len);
/* Make member @m exit and wait until its mm is gone. */
int sc_exit_member(struct scenario *sc, int m);
/* Kill and reap every member, release everything. */
void sc_destroy(struct scenario *sc);

/* For the engine's own files: logging, addresses, the expected page. */
__printf(2, 3) void sc_log(struct scenario *sc, const char *fmt, ...);
char *sc_addr(struct scenario *sc, int r, int i);
struct sc_page *sc_expect(struct scenario *sc, int m, int r, int i);
int sc_mappers(struct scenario *sc, int r, int i, const struct sc_page *pg);
int sc_peer_regions(struct scenario *sc, int r, const int **list);

#endif /* __AVL_SCENARIO_H */
