/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AVL_HARNESS_MAIN: the kselftest harness's main() with the exit code
 * that kselftest runners and CI bots read.
 *
 * The harness (6.12's and later ones) exits 0 when every test of a binary
 * skipped: run_kselftest.sh then prints "ok" for the binary and bots
 * record a pass for a binary that tested nothing. This main() runs the
 * harness unchanged (test_harness_run(), as TEST_HARNESS_MAIN does),
 * which ends in exit() itself (ksft_exit(), in 6.12's harness as in
 * newer ones without setjmp()); an exit handler of the harness
 * process then reads the harness's counters and turns the exit into
 * KSFT_SKIP (4) when tests skipped and none passed, xfailed or failed.
 * Any failure still exits 1, all passed 0. Include this after
 * kselftest_harness.h and end the file with AVL_HARNESS_MAIN instead of
 * TEST_HARNESS_MAIN (a main() of its own calls avl_harness_start()
 * before test_harness_run()).
 *
 * avl_harness_start() also makes the binary keep the suite's guarantees
 * when it runs without run_vmtests.sh (run_kselftest.sh, CI bots): as root
 * it takes the suite's lock, and the test's whole process tree dies with
 * the binary (tree_guard.h).
 */
#ifndef __AVL_HARNESS_MAIN_H
#define __AVL_HARNESS_MAIN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tree_guard.h"

static pid_t avl_harness_pid;

static inline void avl_harness_exit(void)
{
	/* Test processes and their helpers exit through here too. */
	if (getpid() != avl_harness_pid || !ksft_get_xskip_cnt() ||
	    ksft_get_pass_cnt() || ksft_get_xfail_cnt() ||
	    ksft_get_xpass_cnt() || ksft_get_fail_cnt() ||
	    ksft_get_error_cnt())
		return;
	fflush(stdout);
	fflush(stderr);
	_exit(KSFT_SKIP);
}

/* Before test_harness_run(): the exit code of an all-skip run is 4. */
static inline void avl_harness_start(void)
{
	int ret;

	ret = suite_lock_take();
	if (ret) {
		printf("Bail out! the anon_vma_lazy lock: %s (another run holds it?)\n",
		       strerror(-ret));
		exit(KSFT_FAIL);
	}
	ret = tree_guard_start();
	if (ret)
		printf("# no process-tree guard (%s): a killed run may leave processes behind\n",
		       strerror(-ret));
	avl_harness_pid = getpid();
	atexit(avl_harness_exit);
}

#define AVL_HARNESS_MAIN \
	int main(int argc, char **argv) \
	{ \
		avl_harness_start(); \
		exit(test_harness_run(argc, argv)); \
	}

#endif /* __AVL_HARNESS_MAIN_H */
