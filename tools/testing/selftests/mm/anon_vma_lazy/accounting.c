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
#include <sys/wait.h>

#include "../../kselftest_harness.h"
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

TEST_HARNESS_MAIN
