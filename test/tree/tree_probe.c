// SPDX-License-Identifier: GPL-2.0
/*
 * A kselftest binary that holds a process tree and a changed knob for
 * test/tree_checks.sh, which kills it (or the runner above it) and checks
 * that the tree and the knob guard's work are done within seconds.
 *
 * Its one test changes the knob in AVL_PROBE_KNOB ("path=value", through
 * knob_set(): saved, restored by the guard process if the test dies),
 * forks a process that ignores SIGTERM, and an orphan (its parent exits
 * at once, so it is reparented away from the test), writes the pids of
 * the test and the two helpers to AVL_PROBE_PIDS, one line, and then
 * sleeps up to AVL_PROBE_SECONDS (default 60). Every process it makes
 * (the sweeper and the knob guard too) is named tree_probe.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "../../tools/testing/selftests/kselftest_harness.h"
#include "harness_main.h"
#include "env.h"

static pid_t sleeper(bool ignore_term, int seconds)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	if (ignore_term)
		signal(SIGTERM, SIG_IGN);
	sleep(seconds);
	_exit(0);
}

/* A grandchild whose parent exited: reparented to init or a subreaper. */
static pid_t orphan(int seconds)
{
	pid_t middle, pid;
	int fds[2];

	if (pipe(fds))
		return -1;
	middle = fork();
	if (!middle) {
		pid = sleeper(false, seconds);
		_exit(write(fds[1], &pid, sizeof(pid)) == sizeof(pid) ? 0 : 1);
	}
	if (middle < 0 || waitpid(middle, NULL, 0) != middle ||
	    read(fds[0], &pid, sizeof(pid)) != sizeof(pid))
		pid = -1;
	close(fds[0]);
	close(fds[1]);
	return pid;
}

TEST(hold_tree)
{
	const char *knob = getenv("AVL_PROBE_KNOB");
	const char *pids = getenv("AVL_PROBE_PIDS");
	const char *secs = getenv("AVL_PROBE_SECONDS");
	int seconds = secs ? atoi(secs) : 60;
	char path[256], line[128];
	pid_t stubborn, lost;
	int fd, n;
	char *eq;

	ASSERT_NE(NULL, pids);
	if (knob) {
		snprintf(path, sizeof(path), "%s", knob);
		eq = strchr(path, '=');
		ASSERT_NE(NULL, eq);
		*eq = '\0';
		ASSERT_EQ(0, knob_set(path, eq + 1));
	}
	stubborn = sleeper(true, seconds);
	ASSERT_LT(0, stubborn);
	lost = orphan(seconds);
	ASSERT_LT(0, lost);
	fd = open(pids, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ASSERT_LE(0, fd);
	n = snprintf(line, sizeof(line), "%d %d %d\n", getpid(), stubborn, lost);
	ASSERT_EQ(n, write(fd, line, n));
	close(fd);
	sleep(seconds);
	kill(stubborn, SIGKILL);
	kill(lost, SIGKILL);
	waitpid(stubborn, NULL, 0);
	ASSERT_EQ(0, knob_restore_all());
}

AVL_HARNESS_MAIN
