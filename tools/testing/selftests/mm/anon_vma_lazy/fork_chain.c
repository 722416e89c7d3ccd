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
 * fork_tree runs one engine over many shapes. A tree of member processes is
 * built from a description; each member runs a small program of steps:
 *
 *   C r   create and fault region r (it starts lazy in this member)
 *   W r   COW-write a pseudo-random half of the pages of region r
 *   D r   MADV_DONTFORK on pages 0-1 of region r (splits the VMA)
 *   O r   MADV_WIPEONFORK on pages 2-3 of region r (splits the VMA)
 *   F c   fork member c
 *
 * e.g. "every_level" on a chain of three:
 *
 *   P0: C0 F1 C1 W0 ...         P0 ---fork---> P1 ---fork---> P2
 *   P1: C2 W0 F2 ...             R0 R1          R2 (+R0)       R4 (+R0 R2)
 *   P2: C4 W0 W2
 *
 * Regions live in one reserved range, each followed by a PROT_NONE guard
 * page, so no two regions merge. The same program, simulated in the
 * controller before the first fork, predicts for every member and page
 * which copy it maps (every write makes a new, uniquely tagged copy): two
 * members must share a physical page exactly when they map the same copy.
 *
 * At every checkpoint (tree built, then after each exit in the variant's
 * order) every live member checks the contents of all its pages, and the
 * controller checks per page: present (or absent where DONTFORK), not file,
 * PFN identical exactly among the members mapping the same copy, bit 56
 * set exactly when one member maps it, kpagecount equal to the number of
 * mappers, KPF_ANON and not KPF_KSM; per region the smaps Rss, Anonymous
 * and Shared_* of every member and the Pss summed over all members. With
 * two NUMA nodes, the migrate_after_exits tests also move a survivor's
 * pages to the other node at every checkpoint (an rmap walk that must
 * reach every mapper) and check that every mapper now sees the new PFN.
 *
 * The other fixtures: fork then exec, vfork, fork of a multi-threaded
 * process while another thread faults, and fork/fault/exit churn with the
 * anon_vma and vm_area_struct slab counts back at baseline.
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

#include "../../kselftest_harness.h"
#include "rmap_util.h"

#define MAX_NODES	40
#define MAX_REGIONS	(2 * MAX_NODES)	/* regions A and B of every node */
#define REGION_PAGES	8
#define MAX_STEPS	(MAX_NODES + 8)
#define WAIT_MS		30000

#define CMD_VERIFY	'V'
#define CMD_EXIT	'X'

/* Exit status of a member that lost its controller. */
#define MEMBER_LOST	3

enum page_state { PAGE_UNMAPPED, PAGE_ZERO, PAGE_TAGGED };

/* What one member should see at one page. */
struct page_model {
	unsigned char state;
	bool dontfork;
	bool wipeonfork;
	struct page_tag tag;
};

enum step_op { STEP_CREATE, STEP_WRITE, STEP_DONTFORK, STEP_WIPEONFORK,
	       STEP_FORK };

struct step {
	enum step_op op;
	int arg;			/* region, or child for STEP_FORK */
};

enum tree_shape { SHAPE_CHAIN, SHAPE_FAN, SHAPE_RANDOM };
enum placement { EVERY_LEVEL, ROOT_ONLY, LEAVES_ONLY, WITH_FORK_FLAGS };
enum exit_order { ROOT_FIRST, MIDDLE_FIRST, LEAF_FIRST, RANDOM_ORDER };

/* Everything one member maps, as the model predicts it. */
struct view {
	struct page_model page[MAX_REGIONS][REGION_PAGES];
};

struct tree {
	int nr_nodes;
	int parent[MAX_NODES];
	int depth[MAX_NODES];
	int nr_steps[MAX_NODES];
	struct step steps[MAX_NODES][MAX_STEPS];
	int exit_order[MAX_NODES];
	unsigned long seed;
	char *base;
	size_t stride;
	size_t reserved;
	struct crew *crew;
	bool ksm_flag_reliable;
	/* Final view of every member: what it must see at each checkpoint. */
	struct view expect[MAX_NODES];
};

static char *page_addr(struct tree *t, int region, int index)
{
	return t->base + region * t->stride + index * page_size();
}

static __u64 mix(__u64 x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Whether step @s of member @n writes page @i of region @r. */
static bool step_writes(struct tree *t, int n, int s, int r, int i)
{
	return mix(t->seed ^ mix(((__u64)n << 48) | ((__u64)s << 32) |
				 ((__u64)r << 16) | i)) & 1;
}

static struct page_tag make_tag(int n, int s, int r, int i)
{
	struct page_tag tag = {
		.owner = n, .gen = r, .index = i, .version = s + 1,
	};

	return tag;
}

/* ---- building the tree and its programs -------------------------------- */

static void add_step(struct tree *t, int n, enum step_op op, int arg)
{
	struct step *st = &t->steps[n][t->nr_steps[n]++];

	st->op = op;
	st->arg = arg;
}

static void build_shape(struct tree *t, enum tree_shape shape, int a, int b)
{
	int n, level_start = 0, level_end = 1, next;

	t->parent[0] = -1;
	t->depth[0] = 0;
	switch (shape) {
	case SHAPE_CHAIN:	/* a: depth */
		t->nr_nodes = a + 1;
		for (n = 1; n < t->nr_nodes; n++) {
			t->parent[n] = n - 1;
			t->depth[n] = n;
		}
		break;
	case SHAPE_FAN:		/* a: breadth, b: depth */
		t->nr_nodes = 1;
		for (next = 1; next <= b; next++) {
			for (n = level_start; n < level_end; n++) {
				int k;

				for (k = 0; k < a; k++) {
					t->parent[t->nr_nodes] = n;
					t->depth[t->nr_nodes] = next;
					t->nr_nodes++;
				}
			}
			level_start = level_end;
			level_end = t->nr_nodes;
		}
		break;
	case SHAPE_RANDOM:	/* a: nodes; parents come before children */
		t->nr_nodes = a;
		for (n = 1; n < t->nr_nodes; n++) {
			t->parent[n] = mix(t->seed + n) % n;
			t->depth[n] = t->depth[t->parent[n]] + 1;
		}
		break;
	}
}

static bool is_leaf(struct tree *t, int n)
{
	int c;

	for (c = n + 1; c < t->nr_nodes; c++)
		if (t->parent[c] == n)
			return false;
	return true;
}

/* Regions that member @n inherits: A and B of every ancestor. */
static void write_inherited(struct tree *t, int n, enum placement where)
{
	int a;

	if (where == LEAVES_ONLY)
		return;
	for (a = t->parent[n]; a >= 0; a = t->parent[a]) {
		add_step(t, n, STEP_WRITE, 2 * a);
		if (where == EVERY_LEVEL || where == ROOT_ONLY)
			add_step(t, n, STEP_WRITE, 2 * a + 1);
	}
}

static void build_programs(struct tree *t, enum placement where)
{
	int n, c, forks;

	for (n = 0; n < t->nr_nodes; n++) {
		bool creates = where == EVERY_LEVEL ||
			       where == WITH_FORK_FLAGS ||
			       (where == ROOT_ONLY && n == 0) ||
			       (where == LEAVES_ONLY && is_leaf(t, n));

		/* Pages created before the first fork... */
		if (creates)
			add_step(t, n, STEP_CREATE, 2 * n);
		if (where == ROOT_ONLY && n == 0)
			add_step(t, n, STEP_CREATE, 2 * n + 1);
		if (where == WITH_FORK_FLAGS && n == 0) {
			add_step(t, n, STEP_DONTFORK, 0);
			add_step(t, n, STEP_WIPEONFORK, 0);
		}
		write_inherited(t, n, where);
		forks = 0;
		for (c = n + 1; c < t->nr_nodes; c++) {
			if (t->parent[c] != n)
				continue;
			add_step(t, n, STEP_FORK, c);
			/* ...and between forks: later children see more. */
			if (++forks == 1 && where == EVERY_LEVEL) {
				add_step(t, n, STEP_CREATE, 2 * n + 1);
				add_step(t, n, STEP_WRITE, 2 * n);
			}
		}
	}
}

static void build_exit_order(struct tree *t, enum exit_order order)
{
	int n, k = 0, d, max_depth = 0, mid, dist;

	for (n = 0; n < t->nr_nodes; n++)
		if (t->depth[n] > max_depth)
			max_depth = t->depth[n];
	mid = max_depth / 2;
	switch (order) {
	case ROOT_FIRST:
		for (n = 0; n < t->nr_nodes; n++)
			t->exit_order[k++] = n;
		break;
	case LEAF_FIRST:
		for (n = t->nr_nodes - 1; n >= 0; n--)
			t->exit_order[k++] = n;
		break;
	case MIDDLE_FIRST:
		for (dist = 0; dist <= max_depth; dist++)
			for (n = 0; n < t->nr_nodes; n++) {
				d = t->depth[n] - mid;
				if (d == dist || -d == dist)
					t->exit_order[k++] = n;
			}
		break;
	case RANDOM_ORDER:
		for (n = 0; n < t->nr_nodes; n++)
			t->exit_order[n] = n;
		for (n = t->nr_nodes - 1; n > 0; n--) {
			int j = mix(t->seed ^ (0xe817ULL << 20) ^ n) % (n + 1);
			int tmp = t->exit_order[n];

			t->exit_order[n] = t->exit_order[j];
			t->exit_order[j] = tmp;
		}
		break;
	}
}

/* ---- the model --------------------------------------------------------- */

static bool in_dontfork(int i)
{
	return i < 2;
}

static bool in_wipeonfork(int i)
{
	return i >= 2 && i < 4;
}

/* What step @s of member @n does to its view @v. */
static void model_step(struct tree *t, int n, int s, struct view *v)
{
	const struct step *st = &t->steps[n][s];
	int i, r = st->arg;

	for (i = 0; i < REGION_PAGES && st->op != STEP_FORK; i++) {
		struct page_model *pm = &v->page[r][i];

		switch (st->op) {
		case STEP_CREATE:
			memset(pm, 0, sizeof(*pm));
			pm->state = PAGE_TAGGED;
			pm->tag = make_tag(n, s, r, i);
			break;
		case STEP_WRITE:
			if (pm->state != PAGE_UNMAPPED &&
			    step_writes(t, n, s, r, i)) {
				pm->state = PAGE_TAGGED;
				pm->tag = make_tag(n, s, r, i);
			}
			break;
		case STEP_DONTFORK:
			pm->dontfork |= in_dontfork(i);
			break;
		case STEP_WIPEONFORK:
			pm->wipeonfork |= in_wipeonfork(i);
			break;
		case STEP_FORK:
			break;
		}
	}
}

/* The view a child gets from its parent's view at fork (may be in place). */
static void model_fork(const struct view *parent, struct view *child)
{
	int r, i;

	if (child != parent)
		*child = *parent;
	for (r = 0; r < MAX_REGIONS; r++) {
		for (i = 0; i < REGION_PAGES; i++) {
			struct page_model *pm = &child->page[r][i];

			if (pm->state == PAGE_UNMAPPED)
				continue;
			if (pm->dontfork) {
				memset(pm, 0, sizeof(*pm));
			} else if (pm->wipeonfork) {
				pm->state = PAGE_ZERO;
				memset(&pm->tag, 0, sizeof(pm->tag));
			}
		}
	}
}

/* Run member @n's program on @view; a fork recurses into the child. */
static void model_member(struct tree *t, int n, struct view *view)
{
	int s, c;

	for (s = 0; s < t->nr_steps[n]; s++) {
		if (t->steps[n][s].op != STEP_FORK) {
			model_step(t, n, s, view);
			continue;
		}
		c = t->steps[n][s].arg;
		model_fork(view, &t->expect[c]);
		model_member(t, c, &t->expect[c]);
	}
}

/* ---- members ----------------------------------------------------------- */

static int member_verify(struct tree *t, int n)
{
	struct page_tag found;
	char a[96], b[96];
	int r, i, bad = 0;
	size_t k;

	for (r = 0; r < MAX_REGIONS; r++) {
		for (i = 0; i < REGION_PAGES; i++) {
			struct page_model *pm = &t->expect[n].page[r][i];
			const char *p = page_addr(t, r, i);

			if (pm->state == PAGE_UNMAPPED)
				continue;
			if (pm->state == PAGE_ZERO) {
				for (k = 0; k < page_size() && !p[k]; k++)
					;
				if (k == page_size())
					continue;
				if (bad++ < 5)
					fprintf(stderr, "# P%d R%d page %d: %s\n", n, r,
						i, "not zero after WIPEONFORK");
				continue;
			}
			if (!tag_verify(p, page_size(), &pm->tag, &found))
				continue;
			if (bad++ < 5)
				fprintf(stderr, "# P%d R%d page %d: want %s, found %s\n",
					n, r, i, tag_str(&pm->tag, a, sizeof(a)),
					tag_str(&found, b, sizeof(b)));
		}
	}
	return bad;
}

/* Carry out step @s of member @n: the system calls behind model_step(). */
static int member_step(struct tree *t, int n, int s, struct view *view)
{
	const struct step *st = &t->steps[n][s];
	char *region = page_addr(t, st->arg, 0);
	size_t len = REGION_PAGES * page_size();
	int i;

	switch (st->op) {
	case STEP_CREATE:
		if (mmap(region, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != region)
			return errno;
		/* Base pages only: map counts are then exact per page. */
		madvise(region, len, MADV_NOHUGEPAGE);
		break;
	case STEP_DONTFORK:
		if (madvise(region, 2 * page_size(), MADV_DONTFORK))
			return errno;
		break;
	case STEP_WIPEONFORK:
		if (madvise(region + 2 * page_size(), 2 * page_size(),
			    MADV_WIPEONFORK))
			return errno;
		break;
	default:
		break;
	}
	model_step(t, n, s, view);
	if (st->op != STEP_CREATE && st->op != STEP_WRITE)
		return 0;
	for (i = 0; i < REGION_PAGES; i++) {
		struct page_model *pm = &view->page[st->arg][i];
		struct page_tag tag = make_tag(n, s, st->arg, i);

		if (pm->state == PAGE_TAGGED && !memcmp(&pm->tag, &tag, sizeof(tag)))
			tag_fill(page_addr(t, st->arg, i), page_size(), &tag);
	}
	return 0;
}

static __noreturn void member_main(struct tree *t, int n, struct view *view)
{
	int s, cmd, status = 0;
	pid_t pid;

	for (s = 0; s < t->nr_steps[n] && !status; s++) {
		const struct step *st = &t->steps[n][s];

		if (st->op != STEP_FORK) {
			status = member_step(t, n, s, view);
			continue;
		}
		pid = crew_fork(t->crew, st->arg);
		if (pid == 0) {
			/* The child's view: what fork gave it. */
			model_fork(view, view);
			member_main(t, st->arg, view);
		}
		if (pid < 0)
			status = -pid;
	}
	crew_reply(t->crew, n, status);

	for (;;) {
		cmd = crew_next(t->crew, n, 2 * WAIT_MS);
		if (cmd == CMD_VERIFY)
			crew_reply(t->crew, n, member_verify(t, n));
		else if (cmd == CMD_EXIT)
			_exit(0);
		else
			_exit(MEMBER_LOST);
	}
}

/* ---- the controller's oracles ------------------------------------------ */

/*
 * A broken kernel fails thousands of page checks; the first few per
 * checkpoint say what is wrong, the counts say how much.
 */
#define LOG_BUDGET	12
static int log_budget;

#define TREE_LOG(fmt, ...) do {						\
	if (log_budget-- > 0)						\
		TH_LOG(fmt, ##__VA_ARGS__);				\
} while (0)

/* What the controller reads once per checkpoint, per live member. */
struct snapshot {
	int pagemap_fd[MAX_NODES];
	int nr_vmas[MAX_NODES];
	struct smaps_vma vmas[MAX_NODES][2 * MAX_REGIONS + 64];
};

static struct page_model *expect(struct tree *t, int n, int r, int i)
{
	return &t->expect[n].page[r][i];
}

static bool same_copy(const struct page_model *a, const struct page_model *b)
{
	return a->state == PAGE_TAGGED && b->state == PAGE_TAGGED &&
	       !memcmp(&a->tag, &b->tag, sizeof(a->tag));
}

static int nr_mappers(struct tree *t, const bool *alive, int r, int i,
		      const struct page_model *pm)
{
	int n, count = 0;

	for (n = 0; n < t->nr_nodes; n++)
		count += alive[n] && same_copy(expect(t, n, r, i), pm);
	return count;
}

static int take_snapshot(struct __test_metadata *_metadata, struct tree *t,
			 const bool *alive, struct snapshot *snap)
{
	char path[64];
	int n;

	for (n = 0; n < t->nr_nodes; n++) {
		snap->pagemap_fd[n] = -1;
		if (!alive[n])
			continue;
		snprintf(path, sizeof(path), "/proc/%d/pagemap",
			 t->crew->shared->pids[n]);
		snap->pagemap_fd[n] = open(path, O_RDONLY | O_CLOEXEC);
		snprintf(path, sizeof(path), "/proc/%d/smaps",
			 t->crew->shared->pids[n]);
		snap->nr_vmas[n] = smaps_read_all(path, snap->vmas[n],
						  ARRAY_SIZE(snap->vmas[n]));
		if (snap->pagemap_fd[n] < 0 || snap->nr_vmas[n] < 0 ||
		    snap->nr_vmas[n] > (int)ARRAY_SIZE(snap->vmas[n])) {
			TREE_LOG("P%d: pagemap or smaps unreadable", n);
			return 1;
		}
	}
	return 0;
}

static void drop_snapshot(struct tree *t, struct snapshot *snap)
{
	int n;

	for (n = 0; n < t->nr_nodes; n++)
		if (snap->pagemap_fd[n] >= 0)
			close(snap->pagemap_fd[n]);
}

static int check_page(struct __test_metadata *_metadata, struct tree *t,
		      const bool *alive, int r, int i, const char *when,
		      struct snapshot *snap)
{
	struct pagemap_entry e[MAX_NODES];
	int n, q, mappers, bad = 0;
	bool used = false;
	__u64 raw, count, flags;

	/* Only pages some live member maps: the rest is never touched. */
	for (n = 0; n < t->nr_nodes; n++)
		used |= alive[n] && expect(t, n, r, i)->state != PAGE_UNMAPPED;
	if (!used)
		return 0;
	for (n = 0; n < t->nr_nodes; n++) {
		if (!alive[n])
			continue;
		if (pagemap_read_raw(snap->pagemap_fd[n],
				     (unsigned long)page_addr(t, r, i), &raw)) {
			TREE_LOG("P%d R%d page %d: pagemap unreadable", n, r, i);
			return 1;
		}
		pagemap_decode(raw, &e[n]);
	}
	for (n = 0; n < t->nr_nodes; n++) {
		struct page_model *pm = expect(t, n, r, i);
		bool want_exclusive;

		if (!alive[n] || pm->state == PAGE_ZERO)
			continue;
		if (pm->state == PAGE_UNMAPPED) {
			if (e[n].present || e[n].swapped) {
				TREE_LOG("%s: P%d R%d page %d: mapped, expected no mapping",
					 when, n, r, i);
				bad++;
			}
			continue;
		}
		if (!e[n].present || e[n].swapped || e[n].file || !e[n].pfn) {
			TREE_LOG("%s: P%d R%d page %d: present %d swapped %d file %d pfn %#llx",
				 when, n, r, i, e[n].present, e[n].swapped,
				 e[n].file, (unsigned long long)e[n].pfn);
			bad++;
			continue;
		}
		for (q = n + 1; q < t->nr_nodes; q++) {
			bool same, same_pfn;

			if (!alive[q] || expect(t, q, r, i)->state != PAGE_TAGGED)
				continue;
			same = same_copy(pm, expect(t, q, r, i));
			same_pfn = e[n].pfn == e[q].pfn;
			if (same == same_pfn)
				continue;
			TREE_LOG("%s: R%d page %d: P%d pfn %#llx, P%d pfn %#llx, expected %s",
				 when, r, i, n, (unsigned long long)e[n].pfn, q,
				 (unsigned long long)e[q].pfn,
				 same ? "one shared page" : "separate copies");
			bad++;
		}
		mappers = nr_mappers(t, alive, r, i, pm);
		want_exclusive = mappers == 1;
		if (e[n].exclusive != want_exclusive) {
			TREE_LOG("%s: P%d R%d page %d: exclusive bit %d with %d mappers",
				 when, n, r, i, e[n].exclusive, mappers);
			bad++;
		}
		if (kpagecount_get(e[n].pfn, &count) || count != (__u64)mappers) {
			TREE_LOG("%s: P%d R%d page %d: kpagecount %llu, expected %d",
				 when, n, r, i, (unsigned long long)count, mappers);
			bad++;
		}
		if (kpageflags_get(e[n].pfn, &flags) ||
		    !(flags & BIT_ULL(KPF_BIT_ANON)) ||
		    (t->ksm_flag_reliable && (flags & BIT_ULL(KPF_BIT_KSM)))) {
			TREE_LOG("%s: P%d R%d page %d: kpageflags %#llx: want ANON, not KSM",
				 when, n, r, i, (unsigned long long)flags);
			bad++;
		}
	}
	return bad;
}

/* Sum of one member's smaps over the VMAs inside region @r. */
static int region_smaps(struct tree *t, struct snapshot *snap, int n, int r,
			struct smaps_vma *sum)
{
	unsigned long lo = (unsigned long)page_addr(t, r, 0);
	unsigned long hi = lo + REGION_PAGES * page_size();
	int v, count = 0;

	memset(sum, 0, sizeof(*sum));
	for (v = 0; v < snap->nr_vmas[n]; v++) {
		struct smaps_vma *vma = &snap->vmas[n][v];

		if (vma->end <= lo || vma->start >= hi)
			continue;
		sum->rss += vma->rss;
		sum->pss += vma->pss;
		sum->anonymous += vma->anonymous;
		sum->shared_clean += vma->shared_clean;
		sum->shared_dirty += vma->shared_dirty;
		sum->private_clean += vma->private_clean;
		sum->private_dirty += vma->private_dirty;
		count++;
	}
	return count;
}

/*
 * smaps of region @r in every live member that maps part of it: Rss and
 * Anonymous count its copies, Shared_* those mapped by others too,
 * Private_* the rest, and Pss summed over all members counts every
 * physical copy once.
 */
static int check_smaps(struct __test_metadata *_metadata, struct tree *t,
		       const bool *alive, int r, const char *when,
		       struct snapshot *snap)
{
	unsigned long kb = page_size() / 1024, pss_sum = 0, copies = 0;
	unsigned long tagged, shared, slack = 0;
	struct smaps_vma sum;
	int n, q, i, bad = 0;

	for (n = 0; n < t->nr_nodes; n++) {
		if (!alive[n])
			continue;
		tagged = 0;
		shared = 0;
		for (i = 0; i < REGION_PAGES; i++) {
			struct page_model *pm = expect(t, n, r, i);

			if (pm->state != PAGE_TAGGED)
				continue;
			tagged++;
			shared += nr_mappers(t, alive, r, i, pm) > 1;
		}
		if (!tagged)
			continue;
		/* Pss is rounded down per VMA. */
		slack += region_smaps(t, snap, n, r, &sum);
		if (sum.rss != tagged * kb || sum.anonymous != sum.rss ||
		    sum.shared_clean + sum.shared_dirty != shared * kb ||
		    sum.private_clean + sum.private_dirty !=
		    (tagged - shared) * kb) {
			TREE_LOG("%s: P%d R%d: Rss/Anon/Shared %lu/%lu/%lu kB, want %lu/%lu/%lu",
				 when, n, r, sum.rss, sum.anonymous,
				 sum.shared_clean + sum.shared_dirty,
				 tagged * kb, tagged * kb, shared * kb);
			bad++;
		}
		pss_sum += sum.pss;
	}
	/* Physical copies: one per distinct tag among the live members. */
	for (i = 0; i < REGION_PAGES; i++) {
		for (n = 0; n < t->nr_nodes; n++) {
			bool first = alive[n] &&
				     expect(t, n, r, i)->state == PAGE_TAGGED;

			for (q = 0; q < n && first; q++)
				first = !(alive[q] && same_copy(expect(t, q, r, i),
								expect(t, n, r, i)));
			copies += first;
		}
	}
	if (pss_sum > copies * kb || pss_sum + slack < copies * kb) {
		TREE_LOG("%s: R%d: Pss sums to %lu kB, expected %lu kB",
			 when, r, pss_sum, copies * kb);
		bad++;
	}
	return bad;
}

static int checkpoint(struct __test_metadata *_metadata, struct tree *t,
		      const bool *alive, const char *when)
{
	static struct snapshot snap;
	int r, i, ret, bad = 0;

	log_budget = LOG_BUDGET;
	ret = crew_broadcast(t->crew, alive, CMD_VERIFY, WAIT_MS);
	if (ret) {
		TREE_LOG("%s: %d member(s) saw wrong page contents (%d)",
			 when, ret, ret);
		bad++;
	}
	if (take_snapshot(_metadata, t, alive, &snap)) {
		drop_snapshot(t, &snap);
		return bad + 1;
	}
	for (r = 0; r < MAX_REGIONS; r++) {
		for (i = 0; i < REGION_PAGES; i++)
			bad += check_page(_metadata, t, alive, r, i, when, &snap);
		bad += check_smaps(_metadata, t, alive, r, when, &snap);
	}
	drop_snapshot(t, &snap);
	return bad;
}

/*
 * An rmap walk that must reach every mapper: migrate every page member @s
 * maps to the other node (shared pages included), then every member that
 * maps the same copy must see the new PFN.
 */
static int migrate_walk(struct __test_metadata *_metadata, struct tree *t,
			const bool *alive, int s, const int *nodes,
			const char *when)
{
	static void *pages[MAX_REGIONS * REGION_PAGES];
	static int where[MAX_REGIONS * REGION_PAGES];
	static int status[MAX_REGIONS * REGION_PAGES];
	static int target[MAX_REGIONS * REGION_PAGES];
	static __u64 before[MAX_REGIONS * REGION_PAGES];
	pid_t pid = t->crew->shared->pids[s];
	struct pagemap_entry e, f;
	int r, i, k, n, count = 0, bad = 0, ret, side;
	void *batch[MAX_REGIONS * REGION_PAGES];
	int idx[MAX_REGIONS * REGION_PAGES];

	log_budget = LOG_BUDGET;
	for (r = 0; r < MAX_REGIONS; r++)
		for (i = 0; i < REGION_PAGES; i++)
			if (expect(t, s, r, i)->state == PAGE_TAGGED)
				pages[count++] = page_addr(t, r, i);
	if (!count)
		return 0;
	ret = pages_node(pid, pages, count, where);
	if (ret) {
		TREE_LOG("%s: move_pages query of P%d: %d", when, s, ret);
		return 1;
	}
	for (k = 0; k < count; k++) {
		if (pagemap_get(pid, (unsigned long)pages[k], &e) || !e.pfn)
			return 1;
		before[k] = e.pfn;
		target[k] = where[k] == nodes[0] ? nodes[1] : nodes[0];
	}
	/* One batch per target node. */
	for (side = 0; side < 2; side++) {
		int nr = 0;

		for (k = 0; k < count; k++)
			if (target[k] == nodes[side]) {
				idx[nr] = k;
				batch[nr++] = pages[k];
			}
		if (!nr)
			continue;
		ret = pages_move(pid, batch, nr, nodes[side], status);
		if (ret < 0) {
			TREE_LOG("%s: move_pages of P%d failed: %d", when, s, ret);
			return 1;
		}
		for (k = 0; k < nr; k++) {
			if (status[k] == nodes[side])
				continue;
			TREE_LOG("%s: P%d page %p not migrated to node %d: %d",
				 when, s, batch[k], nodes[side], status[k]);
			bad++;
			where[idx[k]] = -1;
		}
	}
	/* Every member mapping the same copy follows the page. */
	for (r = 0, k = 0; r < MAX_REGIONS; r++) {
		for (i = 0; i < REGION_PAGES; i++) {
			struct page_model *pm = expect(t, s, r, i);

			if (pm->state != PAGE_TAGGED)
				continue;
			if (where[k] < 0 ||
			    pagemap_get(pid, (unsigned long)pages[k], &e)) {
				k++;
				continue;
			}
			if (e.pfn == before[k]) {
				TREE_LOG("%s: P%d R%d page %d: PFN unchanged by migration",
					 when, s, r, i);
				bad++;
			}
			for (n = 0; n < t->nr_nodes; n++) {
				if (n == s || !alive[n] ||
				    !same_copy(expect(t, n, r, i), pm))
					continue;
				if (pagemap_get(t->crew->shared->pids[n],
						(unsigned long)pages[k], &f) ||
				    f.pfn != e.pfn) {
					TREE_LOG("%s: R%d page %d: P%d at %#llx, P%d at %#llx",
						 when, r, i, s,
						 (unsigned long long)e.pfn, n,
						 (unsigned long long)f.pfn);
					bad++;
				}
			}
			k++;
		}
	}
	return bad;
}

/* ---- fork_tree --------------------------------------------------------- */

FIXTURE(fork_tree) {
	struct tree *t;
	struct khealth health;
};

FIXTURE_VARIANT(fork_tree) {
	enum tree_shape shape;
	int a, b;
	enum placement where;
	enum exit_order order;
};

FIXTURE_VARIANT_ADD(fork_tree, chain2_every_level_leaf_first) {
	.shape = SHAPE_CHAIN, .a = 2, .b = 0,
	.where = EVERY_LEVEL, .order = LEAF_FIRST,
};

FIXTURE_VARIANT_ADD(fork_tree, chain4_every_level_root_first) {
	.shape = SHAPE_CHAIN, .a = 4, .b = 0,
	.where = EVERY_LEVEL, .order = ROOT_FIRST,
};

FIXTURE_VARIANT_ADD(fork_tree, chain4_every_level_middle_first) {
	.shape = SHAPE_CHAIN, .a = 4, .b = 0,
	.where = EVERY_LEVEL, .order = MIDDLE_FIRST,
};

FIXTURE_VARIANT_ADD(fork_tree, chain4_every_level_leaf_first) {
	.shape = SHAPE_CHAIN, .a = 4, .b = 0,
	.where = EVERY_LEVEL, .order = LEAF_FIRST,
};

FIXTURE_VARIANT_ADD(fork_tree, chain6_every_level_random) {
	.shape = SHAPE_CHAIN, .a = 6, .b = 0,
	.where = EVERY_LEVEL, .order = RANDOM_ORDER,
};

FIXTURE_VARIANT_ADD(fork_tree, chain4_root_only_middle_first) {
	.shape = SHAPE_CHAIN, .a = 4, .b = 0,
	.where = ROOT_ONLY, .order = MIDDLE_FIRST,
};

FIXTURE_VARIANT_ADD(fork_tree, chain4_leaves_only_root_first) {
	.shape = SHAPE_CHAIN, .a = 4, .b = 0,
	.where = LEAVES_ONLY, .order = ROOT_FIRST,
};

FIXTURE_VARIANT_ADD(fork_tree, chain3_fork_flags_leaf_first) {
	.shape = SHAPE_CHAIN, .a = 3, .b = 0,
	.where = WITH_FORK_FLAGS, .order = LEAF_FIRST,
};

FIXTURE_VARIANT_ADD(fork_tree, fan3x3_every_level_root_first) {
	.shape = SHAPE_FAN, .a = 3, .b = 3,
	.where = EVERY_LEVEL, .order = ROOT_FIRST,
};

FIXTURE_VARIANT_ADD(fork_tree, fan3x3_every_level_middle_first) {
	.shape = SHAPE_FAN, .a = 3, .b = 3,
	.where = EVERY_LEVEL, .order = MIDDLE_FIRST,
};

FIXTURE_VARIANT_ADD(fork_tree, fan3x3_every_level_leaf_first) {
	.shape = SHAPE_FAN, .a = 3, .b = 3,
	.where = EVERY_LEVEL, .order = LEAF_FIRST,
};

FIXTURE_VARIANT_ADD(fork_tree, fan3x3_root_only_random) {
	.shape = SHAPE_FAN, .a = 3, .b = 3,
	.where = ROOT_ONLY, .order = RANDOM_ORDER,
};

FIXTURE_VARIANT_ADD(fork_tree, fan3x2_leaves_only_random) {
	.shape = SHAPE_FAN, .a = 3, .b = 2,
	.where = LEAVES_ONLY, .order = RANDOM_ORDER,
};

FIXTURE_VARIANT_ADD(fork_tree, fan3x2_fork_flags_root_first) {
	.shape = SHAPE_FAN, .a = 3, .b = 2,
	.where = WITH_FORK_FLAGS, .order = ROOT_FIRST,
};

FIXTURE_VARIANT_ADD(fork_tree, random16_every_level_random) {
	.shape = SHAPE_RANDOM, .a = 16, .b = 0,
	.where = EVERY_LEVEL, .order = RANDOM_ORDER,
};

FIXTURE_SETUP(fork_tree)
{
	struct tree *t;
	int ret;

	report_environment_once();
	if (geteuid())
		SKIP(return, "needs root: pagemap PFNs, kpagecount and the kernel log");
	ret = pagemap_pfns_visible();
	if (ret != 1)
		SKIP(return, "pagemap does not show PFNs (%d)", ret);
	if (access("/proc/kpagecount", R_OK) || access("/proc/kpageflags", R_OK))
		SKIP(return, "no /proc/kpagecount or /proc/kpageflags");

	t = calloc(1, sizeof(*t));
	ASSERT_NE(NULL, t);
	self->t = t;
	/* Kernels with the KPF_KSM-on-every-anon-page bug: skip that bit. */
	t->ksm_flag_reliable = kpageflags_ksm_on_plain_anon() == 0;
	t->seed = variant->shape == SHAPE_RANDOM || variant->order == RANDOM_ORDER ?
		  test_seed() : 1;
	build_shape(t, variant->shape, variant->a, variant->b);
	ASSERT_GE(MAX_NODES, t->nr_nodes);
	build_programs(t, variant->where);
	build_exit_order(t, variant->order);
	/* The model: member 0 starts from nothing. */
	model_member(t, 0, &t->expect[0]);

	t->stride = (REGION_PAGES + 1) * page_size();
	t->reserved = MAX_REGIONS * t->stride;
	t->base = reserve_range(t->reserved);
	ASSERT_NE(NULL, t->base);
	t->crew = crew_create(t->nr_nodes);
	ASSERT_NE(NULL, t->crew);
	ASSERT_EQ(0, khealth_begin(&self->health, "fork_tree"));
}

FIXTURE_TEARDOWN(fork_tree)
{
	if (!self->t)
		return;
	crew_destroy(self->t->crew);
	if (self->t->base)
		munmap(self->t->base, self->t->reserved);
	free(self->t);
}

static void build_tree(struct __test_metadata *_metadata, struct tree *t,
		       bool *alive)
{
	struct view *view;
	int n, status;
	pid_t pid;

	view = calloc(1, sizeof(*view));
	ASSERT_NE(NULL, view);
	pid = crew_fork(t->crew, 0);
	if (pid == 0)
		member_main(t, 0, view);
	free(view);
	ASSERT_LT(0, pid);
	for (n = 0; n < t->nr_nodes; n++) {
		ASSERT_EQ(0, crew_collect(t->crew, n, WAIT_MS, &status));
		ASSERT_EQ(0, status) TH_LOG("P%d failed to set up: %s", n,
					    strerror(status));
		alive[n] = true;
	}
}

/* Build the tree, check it, then exit members in order, checking after each. */
static void run_tree(struct __test_metadata *_metadata, struct tree *t,
		     struct khealth *health, const int *numa)
{
	bool alive[MAX_NODES] = { false };
	char when[64], report[2048];
	int k, n, walker = 0;

	build_tree(_metadata, t, alive);
	EXPECT_EQ(0, checkpoint(_metadata, t, alive, "tree built"));
	if (numa)
		EXPECT_EQ(0, migrate_walk(_metadata, t, alive, 0, numa,
					  "tree built"));

	for (k = 0; k < t->nr_nodes; k++) {
		n = t->exit_order[k];
		ASSERT_EQ(0, crew_send(t->crew, n, CMD_EXIT));
		ASSERT_EQ(0, crew_wait_exited(t->crew, n, WAIT_MS))
			TH_LOG("P%d did not exit", n);
		alive[n] = false;
		snprintf(when, sizeof(when), "after P%d exited", n);
		EXPECT_EQ(0, checkpoint(_metadata, t, alive, when));
		if (!numa || k == t->nr_nodes - 1)
			continue;
		/* Walk from a different survivor each time. */
		do {
			walker = (walker + 1) % t->nr_nodes;
		} while (!alive[walker]);
		EXPECT_EQ(0, migrate_walk(_metadata, t, alive, walker, numa,
					  when));
		EXPECT_EQ(0, checkpoint(_metadata, t, alive, "after migration"));
	}
	EXPECT_EQ(0, khealth_check(health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

TEST_F_TIMEOUT(fork_tree, exits, 120)
{
	run_tree(_metadata, self->t, &self->health, NULL);
}

TEST_F_TIMEOUT(fork_tree, migrate_after_exits, 180)
{
	int nodes[2];

	if (numa_usable_nodes(nodes, 2) < 2)
		SKIP(return, "needs 2 NUMA nodes with memory for migration");
	run_tree(_metadata, self->t, &self->health, nodes);
}

/* ---- fork_misc: exec, vfork, threads, churn ----------------------------- */

#define MISC_PAGES	16
#define EXEC_ENV	"AVL_FORK_CHAIN_EXEC_CHILD"

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

FIXTURE(fork_misc) {
	char *region;
	struct khealth health;
};

FIXTURE_SETUP(fork_misc)
{
	int i, ret;

	report_environment_once();
	if (geteuid())
		SKIP(return, "needs root: pagemap PFNs, kpagecount and the kernel log");
	ret = pagemap_pfns_visible();
	if (ret != 1)
		SKIP(return, "pagemap does not show PFNs (%d)", ret);
	self->region = mmap(NULL, MISC_PAGES * page_size(),
			    PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->region);
	madvise(self->region, MISC_PAGES * page_size(), MADV_NOHUGEPAGE);
	for (i = 0; i < MISC_PAGES; i++) {
		struct page_tag tag = { .owner = 0, .index = i };

		tag_fill(self->region + i * page_size(), page_size(), &tag);
	}
	ASSERT_EQ(0, khealth_begin(&self->health, "fork_misc"));
}

FIXTURE_TEARDOWN(fork_misc)
{
	if (self->region && self->region != MAP_FAILED)
		munmap(self->region, MISC_PAGES * page_size());
}

/* Contents, exclusive bit and map count of every page of our region. */
static int check_region(struct __test_metadata *_metadata, char *region,
			int mappers, const char *when)
{
	struct pagemap_entry e;
	bool want_exclusive = mappers == 1;
	struct page_tag found;
	__u64 count;
	int i, bad = 0;

	for (i = 0; i < MISC_PAGES; i++) {
		struct page_tag tag = { .owner = 0, .index = i };
		char *p = region + i * page_size();

		if (tag_verify(p, page_size(), &tag, &found)) {
			TH_LOG("%s: page %d: wrong contents", when, i);
			bad++;
		}
		if (pagemap_get(0, (unsigned long)p, &e) || !e.present ||
		    !e.pfn || e.file || e.exclusive != want_exclusive ||
		    kpagecount_get(e.pfn, &count) || count != (__u64)mappers) {
			TH_LOG("%s: page %d: present %d exclusive %d count %llu, want %d",
			       when, i, e.present, e.exclusive,
			       (unsigned long long)count, mappers);
			bad++;
		}
	}
	return bad;
}

static int wait_byte(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char byte;

	if (poll(&pfd, 1, timeout_ms) != 1 || read(fd, &byte, 1) != 1)
		return -1;
	return byte;
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
	char arg0[] = "fork_chain", env[64];
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

#define RACE_REGIONS	1000

struct fault_race {
	char *base;			/* RACE_REGIONS slots of 2 pages */
	unsigned int published;		/* regions [0, published) are done */
};

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
		char *p = race->base + 2 * k * page_size();
		struct page_tag tag = { .owner = 1, .index = k };

		if (mmap(p, page_size(), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != p)
			return (void *)1;
		tag_fill(p, page_size(), &tag);
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

		bad += !!tag_verify(race->base + 2 * k * page_size(),
				    page_size(), &tag, NULL);
	}
	return bad;
}

TEST_F_TIMEOUT(fork_misc, fork_while_thread_faults, 60)
{
	struct fault_race race = { 0 };
	struct pagemap_entry e;
	int status, children = 0, bad_children = 0, bad = 0;
	unsigned int k;
	char report[2048];
	pthread_t thread;
	void *ret;
	__u64 count;
	pid_t pid;

	race.base = reserve_range(2 * RACE_REGIONS * page_size());
	ASSERT_NE(NULL, race.base);
	ASSERT_EQ(0, pthread_create(&thread, NULL, fault_thread, &race));
	while (__atomic_load_n(&race.published, __ATOMIC_ACQUIRE) < RACE_REGIONS) {
		pid = fork();
		if (pid == 0)
			_exit(race_child_verify(&race) ? 1 : 0);
		if (pid < 0)
			break;
		children++;
		if (reap_with_deadline(pid, WAIT_MS, &status) ||
		    !WIFEXITED(status) || WEXITSTATUS(status))
			bad_children++;
	}
	ASSERT_EQ(0, pthread_join(thread, &ret));
	ASSERT_EQ(NULL, ret);
	TH_LOG("%d children forked while %d VMAs were faulted", children,
	       RACE_REGIONS);
	EXPECT_EQ(0, bad_children);

	/* All children are gone: every page is ours alone. */
	for (k = 0; k < RACE_REGIONS; k++) {
		struct page_tag tag = { .owner = 1, .index = k };
		char *p = race.base + 2 * k * page_size();

		if (tag_verify(p, page_size(), &tag, NULL) ||
		    pagemap_get(0, (unsigned long)p, &e) || !e.pfn ||
		    !e.exclusive || kpagecount_get(e.pfn, &count) || count != 1)
			bad++;
	}
	EXPECT_EQ(0, bad);
	munmap(race.base, 2 * RACE_REGIONS * page_size());
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

#define CHURN_CYCLES		2000
#define CHURN_BUDGET_MS		8000
#define CHURN_TOLERANCE		256

static const char * const churn_caches[] = {
	"anon_vma", "anon_vma_chain", "vm_area_struct",
};

/* One cycle: a child that faults, COW-writes, maybe forks, and exits. */
static int churn_cycle(char *region, int cycle)
{
	int status = 0;
	pid_t pid, grandchild;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		char *mine = mmap(NULL, 2 * page_size(), PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (mine == MAP_FAILED)
			_exit(1);
		mine[0] = 1;
		region[(cycle % MISC_PAGES) * page_size() + 64] ^= 1;
		if (cycle % 4 == 0) {
			grandchild = fork();
			if (grandchild == 0) {
				mine[page_size()] = 2;
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
 * anon_vma_chain or a VMA (a VMA reference the series takes and never
 * drops, for example). Caches merged with others cannot be counted alone.
 */
TEST_F_TIMEOUT(fork_misc, churn_slab_counts, 60)
{
	struct slab_count before[ARRAY_SIZE(churn_caches)], now;
	bool counted[ARRAY_SIZE(churn_caches)];
	long long deadline;
	unsigned int c;
	int cycles, checked = 0, leaking;
	char report[2048];

	for (c = 0; c < ARRAY_SIZE(churn_caches); c++) {
		counted[c] = slab_cache_is_merged(churn_caches[c]) == 0 &&
			     !slabinfo_get("/proc/slabinfo", churn_caches[c],
					   &before[c]);
		if (!counted[c])
			TH_LOG("%s: merged with other caches or not in slabinfo: not counted",
			       churn_caches[c]);
		checked += counted[c];
	}
	if (!checked)
		SKIP(return, "no unmerged anon_vma/anon_vma_chain/vm_area_struct cache to count");

	deadline = now_ms() + CHURN_BUDGET_MS;
	for (cycles = 0; cycles < CHURN_CYCLES && now_ms() < deadline; cycles++)
		ASSERT_EQ(0, churn_cycle(self->region, cycles));
	TH_LOG("%d fork/fault/exit cycles", cycles);

	/* Freed VMAs may wait for an RCU grace period: allow a moment. */
	deadline = now_ms() + 3000;
	do {
		leaking = 0;
		for (c = 0; c < ARRAY_SIZE(churn_caches); c++) {
			if (!counted[c])
				continue;
			ASSERT_EQ(0, slabinfo_get("/proc/slabinfo",
						  churn_caches[c], &now));
			if (now.active_objs > before[c].active_objs + CHURN_TOLERANCE)
				leaking++;
		}
		if (leaking)
			usleep(50000);
	} while (leaking && now_ms() < deadline);

	for (c = 0; c < ARRAY_SIZE(churn_caches); c++) {
		if (!counted[c])
			continue;
		ASSERT_EQ(0, slabinfo_get("/proc/slabinfo", churn_caches[c], &now));
		TH_LOG("%s: %lu active objects before, %lu after", churn_caches[c],
		       before[c].active_objs, now.active_objs);
		EXPECT_GE(before[c].active_objs + CHURN_TOLERANCE, now.active_objs);
	}
	EXPECT_EQ(0, check_region(_metadata, self->region, 1, "after churn"));
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

TEST_HARNESS_MAIN
