// SPDX-License-Identifier: GPL-2.0
/*
 * memory_failure: a poisoned or soft-offlined anonymous page is taken away
 * from every process that maps it, found through rmap, as on a kernel
 * without ANON_VMA_LAZY. DESTRUCTIVE: pages are poisoned for good (they
 * are unpoisoned again where debugfs allows). Runs only with
 * run_vmtests.sh -d (AVL_DESTRUCTIVE=1); meant for vmtest.sh.
 *
 * Memory failure unmaps the page from every mapping through rmap
 * (try_to_unmap with TTU_HWPOISON), leaving hwpoison entries: every mapper
 * then gets SIGBUS (BUS_MCEERR_AR) when it touches the page. A mapping the
 * walk misses goes on reading the bad page without a signal. Soft offline
 * migrates the page first: every mapper must see the copy at a new PFN.
 *
 * Each test maps a region in the test process (a lazy VMA), or forks a
 * child that shares it first (upgraded in the parent, inherited in the
 * child), poisons or soft-offlines one page, and checks every process:
 * SIGBUS on that page and only there, the other pages intact; or, for soft
 * offline, the new PFN in both, the contents, the old PFN marked
 * KPF_HWPOISON.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <linux/kernel-page-flags.h>

#include "../../kselftest_harness.h"
#include "harness_main.h"
#include "env.h"
#include "khealth.h"
#include "oracles.h"

#ifndef MADV_HWPOISON
#define MADV_HWPOISON		100
#endif
#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE	101
#endif
#define UNPOISON		"/sys/kernel/debug/hwpoison/unpoison-pfn"

#define MF_PAGES	8
#define BAD_PAGE	3
#define WAIT_MS		30000

/* Results of touch_all(): what each page did. */
enum touch_result { TOUCH_OK, TOUCH_SIGBUS, TOUCH_WRONG };

static sigjmp_buf touch_env;

/* Back to touch() with the si_code (never 0 there). */
static void on_sigbus(int sig, siginfo_t *info, void *uc)
{
	siglongjmp(touch_env, info->si_code ? info->si_code : -1);
}

/* Read page @i of @base: intact, SIGBUS (its si_code in @code), or wrong. */
static enum touch_result touch(char *base, int i, int *code)
{
	struct page_tag tag = { .index = i };
	struct sigaction sa = { .sa_sigaction = on_sigbus,
				.sa_flags = SA_SIGINFO };
	struct sigaction old;
	enum touch_result ret;
	int si_code;

	sigaction(SIGBUS, &sa, &old);
	si_code = sigsetjmp(touch_env, 1);
	if (si_code) {
		*code = si_code;
		ret = TOUCH_SIGBUS;
	} else {
		ret = tag_verify(base + i * psize(), psize(), &tag,
				 NULL) ? TOUCH_WRONG : TOUCH_OK;
	}
	sigaction(SIGBUS, &old, NULL);
	return ret;
}

/*
 * MADV_HWPOISON of the page at @p. The kernel treats it as an action
 * required error of the caller: it may SIGBUS us (BUS_MCEERR_AR) right
 * away, which counts as done. 0 when done, else the errno.
 */
static int poison(char *p)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus,
				.sa_flags = SA_SIGINFO };
	struct sigaction old;
	int si_code, ret;

	sigaction(SIGBUS, &sa, &old);
	si_code = sigsetjmp(touch_env, 1);
	if (si_code)
		ret = si_code == BUS_MCEERR_AR ? 0 : EFAULT;
	else
		ret = madvise(p, psize(), MADV_HWPOISON) ? errno : 0;
	sigaction(SIGBUS, &old, NULL);
	return ret;
}

/* 0 when page @bad (or none: -1) raises SIGBUS and every other is intact. */
static int touch_all(char *base, int bad)
{
	int i, code = 0, wrong = 0;

	for (i = 0; i < MF_PAGES; i++) {
		enum touch_result r = touch(base, i, &code);

		if (i == bad)
			wrong += r != TOUCH_SIGBUS || code != BUS_MCEERR_AR;
		else
			wrong += r != TOUCH_OK;
	}
	return wrong;
}

FIXTURE(memory_failure) {
	char *base;
	pid_t child;
	int go;			/* write end: the child checks when it closes */
	__u64 bad_pfn;
	struct khealth health;
};

FIXTURE_VARIANT(memory_failure) {
	bool shared;		/* a child shares the pages */
};

FIXTURE_VARIANT_ADD(memory_failure, lazy) {
	.shared = false,
};

FIXTURE_VARIANT_ADD(memory_failure, shared_with_child) {
	.shared = true,
};

FIXTURE_SETUP(memory_failure)
{
	const char *missing = page_oracles_missing();
	const char *destructive = getenv("AVL_DESTRUCTIVE");
	struct page_tag tag = { 0 };
	struct pagemap_entry e;
	int fds[2], i;

	report_environment_once();
	self->go = -1;
	if (!destructive || strcmp(destructive, "1"))
		SKIP(return, "destructive: only with run_vmtests.sh -d (AVL_DESTRUCTIVE=1)");
	if (missing)
		SKIP(return, "%s", missing);
	if (kconfig_has("MEMORY_FAILURE") == 0)
		SKIP(return, "no CONFIG_MEMORY_FAILURE");
	/* Late kill: mappers get SIGBUS when they touch the page. */
	ASSERT_EQ(0, knob_set("/proc/sys/vm/memory_failure_early_kill", "0"));
	self->base = mmap(NULL, MF_PAGES * psize(), PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->base);
	madvise(self->base, MF_PAGES * psize(), MADV_NOHUGEPAGE);
	for (i = 0; i < MF_PAGES; i++) {
		tag.index = i;
		tag_fill(self->base + i * psize(), psize(), &tag);
	}
	ASSERT_EQ(0, pagemap_get(0, (unsigned long)self->base +
				 BAD_PAGE * psize(), &e));
	self->bad_pfn = e.pfn;
	if (variant->shared) {
		ASSERT_EQ(0, pipe(fds));
		self->child = fork();
		ASSERT_LE(0, self->child);
		if (self->child == 0) {
			char c;

			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(fds[1]);
			while (read(fds[0], &c, 1) < 0 && errno == EINTR)
				;
			_exit(c == 'P' ? touch_all(self->base, BAD_PAGE) :
			      c == 'S' ? touch_all(self->base, -1) : 100);
		}
		close(fds[0]);
		self->go = fds[1];
	}
	ASSERT_EQ(0, khealth_begin(&self->health, "memory_failure"));
}

FIXTURE_TEARDOWN(memory_failure)
{
	char pfn[32];
	int status;

	if (self->go >= 0)
		close(self->go);
	if (self->child > 0)
		reap_with_deadline(self->child, WAIT_MS, &status);
	if (self->base)
		munmap(self->base, MF_PAGES * psize());
	/* Give the page back where the kernel lets us (debugfs). */
	if (self->bad_pfn) {
		snprintf(pfn, sizeof(pfn), "%llu",
			 (unsigned long long)self->bad_pfn);
		write_text(UNPOISON, pfn);
	}
	knob_restore_all();
}

/* Tell the child what happened (@what) and get its verdict. */
static int child_verdict(FIXTURE_DATA(memory_failure) * self, char what)
{
	int status;

	if (write(self->go, &what, 1) != 1 ||
	    reap_with_deadline(self->child, WAIT_MS, &status))
		return -1;
	self->child = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST_F_TIMEOUT(memory_failure, hwpoison_every_mapper_gets_sigbus, 60)
{
	char *bad = self->base + BAD_PAGE * psize();
	struct pagemap_entry e;
	char report[4096];
	__u64 flags;

	ASSERT_EQ(0, poison(bad)) TH_LOG("MADV_HWPOISON failed");
	ASSERT_EQ(0, kpageflags_get(self->bad_pfn, &flags));
	EXPECT_TRUE(kpf_has(flags, KPF_HWPOISON));
	/* Unmapped from us: a hwpoison entry, not the page. */
	ASSERT_EQ(0, pagemap_get(0, (unsigned long)bad, &e));
	EXPECT_FALSE(e.present);
	EXPECT_EQ(0, touch_all(self->base, BAD_PAGE));
	if (variant->shared)
		EXPECT_EQ(0, child_verdict(self, 'P'))
			TH_LOG("child: no SIGBUS on the poisoned page, or another lost");
	/* The kernel reports the poisoning; anything worse is a failure. */
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

TEST_F_TIMEOUT(memory_failure, soft_offline_every_mapper_follows, 60)
{
	char *bad = self->base + BAD_PAGE * psize();
	struct pagemap_entry e;
	char report[4096];
	__u64 flags;

	ASSERT_EQ(0, madvise(bad, psize(), MADV_SOFT_OFFLINE))
		TH_LOG("MADV_SOFT_OFFLINE: %s", strerror(errno));
	ASSERT_EQ(0, kpageflags_get(self->bad_pfn, &flags));
	EXPECT_TRUE(kpf_has(flags, KPF_HWPOISON));
	ASSERT_EQ(0, pagemap_get(0, (unsigned long)bad, &e));
	EXPECT_TRUE(e.present);
	EXPECT_NE(self->bad_pfn, e.pfn);
	EXPECT_EQ(0, touch_all(self->base, -1));
	if (variant->shared) {
		struct pagemap_entry c;

		ASSERT_EQ(0, pagemap_get(self->child, (unsigned long)bad, &c));
		EXPECT_EQ(e.pfn, c.pfn)
			TH_LOG("child at %#llx, parent at %#llx",
			       (unsigned long long)c.pfn,
			       (unsigned long long)e.pfn);
		EXPECT_EQ(0, child_verdict(self, 'S'));
	}
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

AVL_HARNESS_MAIN
