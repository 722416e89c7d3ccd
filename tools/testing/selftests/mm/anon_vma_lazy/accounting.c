// SPDX-License-Identifier: GPL-2.0
/*
 * accounting: what the anon_vma, anon_vma_chain and vm_area_struct slab
 * caches must show, with and without ANON_VMA_LAZY.
 *
 * Without ANON_VMA_LAZY every VMA that faults anonymous memory gets an
 * anon_vma and an anon_vma_chain; with it, VMAs that fault but never fork
 * get neither. lazy_or_eager_by_mode faults N separated VMAs without fork
 * and checks the anon_vma count against the mode detected at run time:
 * about N more on a kernel without the scheme (an assertion on every stock
 * kernel, proving the oracle sees what it should), about none with the
 * scheme enabled.
 * The leak tests repeat fork scenarios many more times than the tolerance,
 * so that a leak of one object per iteration cannot hide in the noise of
 * other processes, and require every count back at baseline.
 *
 * SLUB may merge caches of the same size (anon_vma_chain with other
 * 64-byte caches on Debian kernels): a merged cache's counts include other
 * objects, so it is named and not counted; a test with nothing left to
 * count SKIPs with that reason. Boot with slab_nomerge to count them all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "../../kselftest_harness.h"
#include "harness_main.h"
#include "crew.h"
#include "env.h"
#include "khealth.h"
#include "oracles.h"

#define NR_VMAS		1024	/* separated one-page VMAs */
#define FORK_VMAS	64
#define FORK_ITERATIONS	1000
#define CHAIN_DEPTH	4
#define CHAIN_ITERATIONS 600
#define TOLERANCE	256	/* per-CPU sheaves (6.18+), other processes */
#define WAIT_MS		30000

FIXTURE(accounting) {
	char *area;
	size_t area_len;
	struct slab_baseline base;
	struct khealth health;
};

FIXTURE_SETUP(accounting)
{
	char note[128];

	report_environment_once();
	if (geteuid())
		SKIP(return, "needs root: /proc/slabinfo");
	if (access("/proc/slabinfo", R_OK))
		SKIP(return, "no /proc/slabinfo (CONFIG_SLUB_DEBUG?)");
	if (!slab_baseline_take(&self->base, note, sizeof(note)))
		SKIP(return, "%s", note);
	if (note[0])
		TH_LOG("%s", note);
	ASSERT_EQ(0, khealth_begin(&self->health, "accounting"));
}

FIXTURE_TEARDOWN(accounting)
{
	if (self->area)
		munmap(self->area, self->area_len);
}

/*
 * @nr one-page VMAs, each followed by a PROT_NONE guard so that none can
 * share an anon_vma with a neighbour, each faulted by a write.
 */
static char *fault_separated_vmas(int nr, size_t *len)
{
	char *area, *p;
	int i;

	*len = 2 * nr * psize();
	area = reserve_range(*len);
	if (!area)
		return NULL;
	for (i = 0; i < nr; i++) {
		p = area + 2 * i * psize();
		if (mmap(p, psize(), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != p)
			return NULL;
		*p = 1;
	}
	return area;
}

/*
 * N separated VMAs faulted without fork: about N new anon_vmas (and
 * anon_vma_chains) without the lazy scheme, about none with it. With the
 * scheme built in (or no kernel config to tell) but no switch found,
 * either is accepted and reported; anything in between is not.
 */
TEST_F(accounting, lazy_or_eager_by_mode)
{
	struct lazy_state lazy;
	struct slab_baseline after;
	char buf[512], report[2048];
	long delta, avc_delta = 0;
	bool eager, lazy_seen;

	ASSERT_EQ(0, lazy_detect(&lazy));
	TH_LOG("%s", lazy_state_str(&lazy, buf, sizeof(buf)));
	if (!self->base.counted[SLAB_ANON_VMA])
		SKIP(return, "anon_vma cache merged with others: cannot count it");

	self->area = fault_separated_vmas(NR_VMAS, &self->area_len);
	ASSERT_NE(NULL, self->area);
	slab_baseline_take(&after, buf, sizeof(buf));
	delta = (long)after.objs[SLAB_ANON_VMA] -
		(long)self->base.objs[SLAB_ANON_VMA];
	if (after.counted[SLAB_ANON_VMA_CHAIN] &&
	    self->base.counted[SLAB_ANON_VMA_CHAIN])
		avc_delta = (long)after.objs[SLAB_ANON_VMA_CHAIN] -
			    (long)self->base.objs[SLAB_ANON_VMA_CHAIN];
	/*
	 * Judged by halves: objects held in per-CPU sheaves (6.18+) count as
	 * active and are handed out first, so the delta can fall short.
	 */
	eager = delta >= NR_VMAS / 2 && delta <= NR_VMAS + TOLERANCE;
	lazy_seen = delta >= -TOLERANCE && delta <= NR_VMAS / 8;
	TH_LOG("%d faulted VMAs: anon_vma %+ld, anon_vma_chain %+ld%s: %s",
	       NR_VMAS, delta, avc_delta,
	       self->base.counted[SLAB_ANON_VMA_CHAIN] ? "" : " (not counted)",
	       eager ? "eager (an anon_vma per VMA)" :
	       lazy_seen ? "lazy (no anon_vma until fork)" : "neither");

	if (lazy.config == 1 && lazy.switch_value == 1) {
		EXPECT_TRUE(lazy_seen)
			TH_LOG("ANON_VMA_LAZY enabled, yet anon_vmas were allocated");
	} else if (lazy.config != 0 && lazy.switch_value < 0) {
		/* Cannot tell the mode: either is fine, reported above. */
		EXPECT_TRUE(eager || lazy_seen);
	} else {
		EXPECT_TRUE(eager)
			TH_LOG("no lazy scheme: expected about %d new anon_vmas",
			       NR_VMAS);
	}
	if (eager && self->base.counted[SLAB_ANON_VMA_CHAIN])
		EXPECT_LE(NR_VMAS / 2, avc_delta);

	munmap(self->area, self->area_len);
	self->area = NULL;
	EXPECT_EQ(0, slab_baseline_exceeded(&self->base, TOLERANCE, report,
					    sizeof(report)))
		TH_LOG("after munmap: %s", report);
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * A process with FORK_VMAS faulted VMAs forks again and again; each child
 * COW-writes every VMA and exits. Under the series each first fork
 * upgrades the parent and gives the child borrowed pointers: nothing of it
 * may outlive the child.
 */
TEST_F_TIMEOUT(accounting, fork_with_faulted_vmas_leaks_nothing, 120)
{
	char report[2048];
	int k, i, status, bad = 0;
	pid_t pid;

	self->area = fault_separated_vmas(FORK_VMAS, &self->area_len);
	ASSERT_NE(NULL, self->area);
	slab_baseline_take(&self->base, report, sizeof(report));
	for (k = 0; k < FORK_ITERATIONS; k++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			for (i = 0; i < FORK_VMAS; i++)
				self->area[2 * i * psize()] = 2;
			_exit(0);
		}
		if (reap_with_deadline(pid, WAIT_MS, &status) ||
		    !WIFEXITED(status) || WEXITSTATUS(status))
			bad++;
	}
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, slab_baseline_exceeded(&self->base, TOLERANCE, report,
					    sizeof(report)))
		TH_LOG("after %d forks: %s", FORK_ITERATIONS, report);
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/* Each level faults a VMA of its own, COW-writes the inherited ones, forks. */
static int chain_level(char *area, int level)
{
	char *mine = area + 2 * level * psize();
	int i, status = 0;
	pid_t pid;

	if (mmap(mine, psize(), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != mine)
		return 1;
	*mine = 1;
	for (i = 0; i < level; i++)
		area[2 * i * psize()] = level;
	if (level == CHAIN_DEPTH)
		return 0;
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0)
		_exit(chain_level(area, level + 1));
	if (reap_with_deadline(pid, WAIT_MS, &status))
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/*
 * Fork chains of depth CHAIN_DEPTH built and torn down over and over:
 * every level is upgraded when it forks, and exits leaf first.
 */
TEST_F_TIMEOUT(accounting, fork_chains_leak_nothing, 120)
{
	char report[2048];
	int k, status, bad = 0;
	size_t len = 2 * (CHAIN_DEPTH + 1) * psize();
	pid_t pid;

	self->area = reserve_range(len);
	self->area_len = len;
	ASSERT_NE(NULL, self->area);
	for (k = 0; k < CHAIN_ITERATIONS; k++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0)
			_exit(chain_level(self->area, 0));
		if (reap_with_deadline(pid, WAIT_MS, &status) ||
		    !WIFEXITED(status) || WEXITSTATUS(status))
			bad++;
	}
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, slab_baseline_exceeded(&self->base, TOLERANCE, report,
					    sizeof(report)))
		TH_LOG("after %d chains: %s", CHAIN_ITERATIONS, report);
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/* ---- generations: fork, then the parent exits, over and over ----------- */

/*
 * A process that forks and exits, its child that forks and exits, and so
 * on: one process alive at a time, each inheriting and COW-writing the
 * same VMA. Each fork links the child's VMA to every anon_vma of the
 * parent's chain and gives it one of its own, so without reuse the
 * hierarchy grows by an anon_vma and a chain link per generation, forever
 * (fixed in 2015 by 7a3ef208e662, "mm: prevent endless growth of anon_vma
 * hierarchy": fork reuses an ancestor anon_vma that has no VMA left and
 * at most one child; the corner cases followed in b800c91a0517 and
 * 3fe89b3e2a7b). Whatever the kernel's scheme, the counts must stay
 * bounded: between generation GEN_FIRST and GEN_LAST nothing may grow by
 * more than the tolerance, and the last generation's pages must hold what
 * each generation wrote.
 *
 *   G0 [ 0 0 ... 0 ]  forks G1, exits;  G1 writes page 1, forks G2, exits;
 *   ... G1000 writes page 1000 % 16; counts at G50 and at G1000
 */
#define GEN_PAGES	16
#define GEN_FIRST	50
#define GEN_LAST	1000

/* Who wrote page @i last, as generation @g sees it (0: nobody). */
static int gen_writer(int g, int i)
{
	int w = g - ((g - i) % GEN_PAGES + GEN_PAGES) % GEN_PAGES;

	return w > 0 ? w : 0;
}

static int gen_verify(char *region, int g)
{
	int i, bad = 0;

	for (i = 0; i < GEN_PAGES; i++) {
		struct page_tag tag = { .owner = gen_writer(g, i), .index = i };

		bad += !!tag_verify(region + i * psize(), psize(), &tag, NULL);
	}
	return bad;
}

/* The chain of generations; reports on @report, waits for @go. */
static __noreturn void generations(char *region, int report, int go)
{
	struct page_tag tag;
	int g, i;
	pid_t pid;

	for (i = 0; i < GEN_PAGES; i++) {
		tag = (struct page_tag){ .owner = 0, .index = i };
		tag_fill(region + i * psize(), psize(), &tag);
	}
	for (g = 1; g <= GEN_LAST; g++) {
		pid = fork();
		if (pid < 0) {
			if (write(report, "F", 1) != 1)
				_exit(2);
			_exit(1);
		}
		/*
		 * The parent goes, the child carries on (no parent-death
		 * signal: each outlives its parent by design; the chain
		 * ends by itself within seconds).
		 */
		if (pid > 0)
			_exit(0);
		i = g % GEN_PAGES;
		tag = (struct page_tag){ .owner = g, .index = i };
		tag_fill(region + i * psize(), psize(), &tag);
		if (g != GEN_FIRST && g != GEN_LAST)
			continue;
		if (write(report, gen_verify(region, g) ? "X" : "R", 1) != 1 ||
		    wait_byte(go, WAIT_MS) != 'G')
			_exit(1);
	}
	_exit(0);
}

TEST_F_TIMEOUT(accounting, fork_generations_stay_bounded, 120)
{
	size_t len = GEN_PAGES * psize();
	int report[2], go[2], status;
	struct slab_baseline first;
	char buf[2048], byte;
	long long deadline;
	pid_t pid;

	self->area = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->area);
	self->area_len = len;
	ASSERT_EQ(0, madvise(self->area, len, MADV_NOHUGEPAGE));
	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));
	ASSERT_EQ(0, pipe(report));
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(report[0]);
		close(go[1]);
		generations(self->area, report[1], go[0]);
	}
	close(report[1]);
	close(go[0]);

	byte = wait_byte(report[0], WAIT_MS);
	EXPECT_EQ('R', byte) TH_LOG("generation %d: %s", GEN_FIRST,
				    byte == 'X' ? "wrong contents" : "no report");
	slab_baseline_take(&first, buf, sizeof(buf));
	ASSERT_EQ(1, write(go[1], "G", 1));
	byte = wait_byte(report[0], 4 * WAIT_MS);
	EXPECT_EQ('R', byte) TH_LOG("generation %d: %s", GEN_LAST,
				    byte == 'X' ? "wrong contents" : "no report");
	EXPECT_EQ(0, slab_baseline_exceeded(&first, TOLERANCE, buf, sizeof(buf)))
		TH_LOG("from generation %d to %d: %s", GEN_FIRST, GEN_LAST, buf);
	ASSERT_EQ(1, write(go[1], "G", 1));
	close(go[1]);
	close(report[0]);

	/* Every generation is ours to reap (subreaper), within a deadline. */
	deadline = now_ms() + WAIT_MS;
	while (now_ms() < deadline) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid < 0)
			break;		/* no children left */
		if (pid == 0)
			usleep(1000);
	}
	EXPECT_EQ(-1, waitpid(-1, &status, WNOHANG)) TH_LOG("generations left");
	EXPECT_EQ(0, slab_baseline_exceeded(&self->base, TOLERANCE, buf,
					    sizeof(buf)))
		TH_LOG("after the last generation exited: %s", buf);
	EXPECT_EQ(0, khealth_check(&self->health, buf, sizeof(buf)))
		TH_LOG("kernel log / taint:\n%s", buf);
}

/* ---- anon_vma reuse at fork ---------------------------------------------- */

/*
 * Fork gives each child VMA an anon_vma of its own, unless an anon_vma
 * in the parent VMA's chain has no VMA left and at most one child
 * anon_vma (num_active_vmas 0, num_children < 2: anon_vma_clone()); the
 * child VMA then reuses it. Until 2022 one "degree" counted both, so an
 * anon_vma that was still a VMA's ->anon_vma could be reused once more:
 * two VMAs had one ->anon_vma with different chains, a merge joined
 * them, rmap walks of the merged pages missed mappings and later read a
 * freed anon_vma (CVE-2022-42703; fixed by 2555283eb40d, "mm/rmap: Fix
 * anon_vma->degree ambiguity leading to double-reuse", which split it
 * into num_children and num_active_vmas).
 *
 * The tree below builds that reuse condition twice over the same
 * ancestor. Whether fork takes the reuse is policy (a lazy scheme changes
 * it; the anon_vma count of each fork is logged); what must hold is that
 * every page of every survivor stays reachable by rmap and keeps its
 * contents, and that nothing outlives the tree.
 *
 *   P0 [ writes 0-15 ]                          (AV0)
 *   P0 forks P1; P1 writes 0-3                  (AV1)
 *   P1 forks P2; P2 writes 4-7, 8-15 read-only  (AV2; two VMAs)
 *   P1 exits: AV1 has no VMA and one child
 *   P2 forks P3 (its first VMA may reuse AV1); P3 writes 2, exits
 *   P2 forks P4 (may reuse AV1 again); P4 makes 8-15 writable (a merge
 *   if both VMAs have one anon_vma), writes 1 and 9
 *   P2 exits; P0 and P4 remain: every page of theirs migrates to the
 *   other node (each shared copy in both at one PFN), contents intact
 */
#define REUSE_PAGES	16

/* Who wrote the copy that P4 maps at page @i (everything else P0's). */
static int reuse_p4_writer(int i)
{
	if (i == 1 || i == 9)
		return 4;
	if (i < 4)
		return 1;
	return i < 8 ? 2 : 0;
}

/* anon_vma objects now, for the log; -1 when they cannot be counted. */
static long anon_vmas_now(void)
{
	unsigned long n;

	return slab_active_objects("anon_vma", &n) ? -1 : (long)n;
}

/* Fork member @child from @parent and log how many anon_vmas it added. */
static int reuse_fork(struct crew *c, int parent, int child)
{
	long before = anon_vmas_now(), after;
	int ret = crew_do(c, parent, CREW_FORK, 0, 0, 0, child);

	after = anon_vmas_now();
	if (!ret && before >= 0 && after >= 0)
		ksft_print_msg("policy: P%d forked P%d: %+ld anon_vma (for all its VMAs)\n",
			       parent, child, after - before);
	return ret;
}

/*
 * Every page of P0 and P4 on one PFN exactly where they share a copy:
 * where @writer says P0 wrote the copy P4 maps.
 */
static void reuse_check_sharing(struct __test_metadata *_metadata,
				struct crew *c, int (*writer)(int),
				const char *when)
{
	struct pagemap_entry e0, e4;
	unsigned long addr;
	int i;

	for (i = 0; i < REUSE_PAGES; i++) {
		addr = (unsigned long)crew_addr(c, 0, 0) + i * psize();
		ASSERT_EQ(0, pagemap_get(crew_pid(c, 0), addr, &e0));
		ASSERT_EQ(0, pagemap_get(crew_pid(c, 4), addr, &e4));
		ASSERT_TRUE(e0.present && e4.present && e0.pfn && e4.pfn)
			TH_LOG("%s: page %d not mapped", when, i);
		EXPECT_EQ(writer(i) == 0, e0.pfn == e4.pfn)
			TH_LOG("%s: page %d: P0 %#llx, P4 %#llx", when, i,
			       (unsigned long long)e0.pfn,
			       (unsigned long long)e4.pfn);
	}
}

/*
 * P0 and P4 the survivors of the tree @c: contents, sharing as @writer
 * says, every page of P4 migrated (each walk must also reach P0's
 * mapping of a shared copy); then, once all exited, nothing left over
 * and a clean kernel log.
 */
static void reuse_survivors_check(struct __test_metadata *_metadata,
				  FIXTURE_DATA(accounting) * self,
				  struct crew *c, int (*writer)(int))
{
	void *pages[REUSE_PAGES];
	int to[REUSE_PAGES], nodes[2];
	char report[2048];
	int i, m;

	for (m = 0; m <= 4; m += 4)
		EXPECT_EQ(0, crew_do(c, m, CREW_VERIFY, 0, 0, REUSE_PAGES, 0))
			TH_LOG("P%d", m);
	reuse_check_sharing(_metadata, c, writer, "before the walks");
	if (numa_usable_nodes(nodes, 2) >= 2) {
		/* From P4's mappings: each walk must also reach P0's. */
		for (i = 0; i < REUSE_PAGES; i++)
			pages[i] = crew_addr(c, 4, 0) + i * psize();
		EXPECT_EQ(0, pages_move_away(crew_pid(c, 4), pages,
					     REUSE_PAGES, nodes, to))
			TH_LOG("pages of P4 not migrated: rmap did not reach them");
		reuse_check_sharing(_metadata, c, writer, "after migration");
		for (m = 0; m <= 4; m += 4)
			EXPECT_EQ(0, crew_do(c, m, CREW_VERIFY, 0, 0,
					     REUSE_PAGES, 0)) TH_LOG("P%d", m);
	} else {
		ksft_print_msg("no migration walk: needs 2 NUMA nodes\n");
	}
	crew_destroy(c);
	EXPECT_EQ(0, slab_baseline_exceeded(&self->base, TOLERANCE, report,
					    sizeof(report)))
		TH_LOG("after the tree exited: %s", report);
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/*
 * The first three generations of both reuse trees, in a crew of five:
 * P0 writes 0-15 and forks P1, which writes 0-3 and forks P2, which
 * writes 4-7. NULL after a SKIP (no page oracles).
 */
static struct crew *reuse_tree_start(struct __test_metadata *_metadata,
				     FIXTURE_DATA(accounting) * self)
{
	const char *why = page_oracles_missing();
	struct crew *c;

	if (why)
		SKIP(return NULL, "%s", why);
	self->area_len = REUSE_PAGES * psize();
	self->area = reserve_range(self->area_len);
	ASSERT_NE(NULL, self->area);
	c = crew_create(5);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(0, crew_add_region(c, self->area, REUSE_PAGES, true));
	ASSERT_LT(0, crew_start(c, 0));
	ASSERT_EQ(0, crew_do(c, 0, CREW_MMAP, 0, 0, REUSE_PAGES, 0));
	ASSERT_EQ(0, crew_do(c, 0, CREW_FILL, 0, 0, REUSE_PAGES, 0));
	ASSERT_EQ(0, reuse_fork(c, 0, 1));
	ASSERT_EQ(0, crew_do(c, 1, CREW_FILL, 0, 0, 4, 1));
	ASSERT_EQ(0, reuse_fork(c, 1, 2));
	ASSERT_EQ(0, crew_do(c, 2, CREW_FILL, 0, 4, 8, 2));
	return c;
}

TEST_F_TIMEOUT(accounting, double_reuse_after_middle_exits, 60)
{
	struct crew *c = reuse_tree_start(_metadata, self);

	if (!c)
		return;		/* skipped */
	ASSERT_EQ(0, crew_do(c, 2, CREW_MPROTECT, 0, 8, REUSE_PAGES,
			     PROT_READ));
	ASSERT_EQ(0, crew_exit(c, 1));

	ASSERT_EQ(0, reuse_fork(c, 2, 3));
	ASSERT_EQ(0, crew_do(c, 3, CREW_FILL, 0, 2, 3, 3));
	ASSERT_EQ(0, crew_exit(c, 3));
	ASSERT_EQ(0, reuse_fork(c, 2, 4));
	ASSERT_EQ(0, crew_do(c, 4, CREW_MPROTECT, 0, 8, REUSE_PAGES,
			     PROT_READ | PROT_WRITE));
	ASSERT_EQ(0, crew_do(c, 4, CREW_FILL, 0, 1, 2, 4));
	ASSERT_EQ(0, crew_do(c, 4, CREW_FILL, 0, 9, 10, 4));
	ASSERT_EQ(0, crew_exit(c, 2));

	reuse_survivors_check(_metadata, self, c, reuse_p4_writer);
}

/*
 * The other half of the 2022 ambiguity: a leaf anon_vma that an earlier
 * reuse left without a child, while its VMA still uses it. P3 reuses AV1
 * (no VMA, one child), so AV2 gets no child of its own: one VMA (P2's) and
 * no child, which the single "degree" of old counted as 1, the count of
 * an anon_vma with one child and no VMA. P3's fork of P4 meets AV2 in its
 * chain: the 6.12 rule sees the VMA and does not reuse it (P4 gets an
 * anon_vma of its own); the old rule would have. Which anon_vma P4 gets
 * is policy (logged); every page of the survivors must stay reachable,
 * through a split and merge in P4 and the exits of P2 and P3.
 *
 *   P0 [ writes 0-15 ]                          (AV0)
 *   P0 forks P1; P1 writes 0-3                  (AV1)
 *   P1 forks P2; P2 writes 4-7                  (AV2)
 *   P1 exits: AV1 has no VMA and one child
 *   P2 forks P3 (may reuse AV1: AV2 keeps no child)
 *   P3 forks P4 (AV2 in its chain, still P2's)
 *   P4 makes 8-15 read-only and writable again, writes 8 and 9
 *   P2 writes 10 (its own copy); P3 and P2 exit; P0 and P4 remain
 */
static int leaf_p4_writer(int i)
{
	if (i == 8 || i == 9)
		return 4;
	if (i < 4)
		return 1;
	return i < 8 ? 2 : 0;
}

TEST_F_TIMEOUT(accounting, reuse_skips_a_leaf_still_in_use, 60)
{
	struct crew *c = reuse_tree_start(_metadata, self);

	if (!c)
		return;		/* skipped */
	ASSERT_EQ(0, crew_exit(c, 1));

	ASSERT_EQ(0, reuse_fork(c, 2, 3));
	ASSERT_EQ(0, reuse_fork(c, 3, 4));
	ASSERT_EQ(0, crew_do(c, 4, CREW_MPROTECT, 0, 8, REUSE_PAGES,
			     PROT_READ));
	ASSERT_EQ(0, crew_do(c, 4, CREW_MPROTECT, 0, 8, REUSE_PAGES,
			     PROT_READ | PROT_WRITE));
	ASSERT_EQ(0, crew_do(c, 4, CREW_FILL, 0, 8, 10, 4));
	ASSERT_EQ(0, crew_do(c, 2, CREW_FILL, 0, 10, 11, 2));
	ASSERT_EQ(0, crew_exit(c, 3));
	ASSERT_EQ(0, crew_exit(c, 2));

	reuse_survivors_check(_metadata, self, c, leaf_p4_writer);
}

AVL_HARNESS_MAIN
