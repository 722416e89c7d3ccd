/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The test binary's process tree dies with it.
 *
 * The harness runs every test in a child that it puts into a process group
 * of its own (setpgrp()), and tests fork trees of helpers below that child.
 * A runner that kills the binary's process group, or SIGKILLs the binary,
 * reaches none of them: they would go on with their own budgets. So:
 *
 * - a sweeper process, started by tree_guard_start() in its own session,
 *   kills the process group of the running test with SIGKILL as soon as the
 *   binary dies, however it dies (it holds the read end of a pipe only the
 *   binary writes to, and sees end of file);
 * - when run_vmtests.sh exports its pid in AVL_RUNNER_PID (and it is an
 *   ancestor of the binary), the sweeper also kills the binary and the test
 *   when the runner dies, even by SIGKILL;
 * - the test process itself dies with the binary (PR_SET_PDEATHSIG).
 *
 * Processes of the test that leave its process group on purpose (the knob
 * guard of env.c, which must outlive the test to restore knobs) are not
 * swept: they end by themselves once the test's processes are gone.
 */
#ifndef __AVL_TREE_GUARD_H
#define __AVL_TREE_GUARD_H

/*
 * Call once in the binary's main process before the harness forks its
 * first test. Returns 0 or -errno (the binary then runs unguarded).
 */
int tree_guard_start(void);

/*
 * As root and not below run_vmtests.sh (which holds it for the whole run):
 * take the suite's lock so that two runs never change the same knobs at
 * once; waits up to AVL_LOCK_WAIT seconds (default 900). Returns 0, or
 * -errno when the lock could not be had (the binary should bail out).
 */
int suite_lock_take(void);

#endif /* __AVL_TREE_GUARD_H */
