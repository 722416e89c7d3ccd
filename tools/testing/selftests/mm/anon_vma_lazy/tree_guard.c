// SPDX-License-Identifier: GPL-2.0
/*
 * The test binary's process tree dies with it; one root run at a time.
 * See tree_guard.h.
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
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "tree_guard.h"
#include "util.h"

static pid_t binary_pid;
/* Write end of the sweeper's pipe; -1 in every process but the binary. */
static int sweeper_fd = -1;

/* The pid in AVL_RUNNER_PID if that process is an ancestor of this one. */
static pid_t runner_ancestor(void)
{
	const char *env = getenv("AVL_RUNNER_PID");
	pid_t runner, pid;
	char *end, state;
	int depth;

	if (!env || !*env)
		return 0;
	runner = strtol(env, &end, 10);
	if (*end || runner <= 1)
		return 0;
	for (pid = getppid(), depth = 0; pid > 1 && depth < 32; depth++) {
		if (pid == runner)
			return runner;
		if (proc_stat(pid, &state, &pid))
			break;
	}
	return 0;
}

/*
 * In every child forked from now on (pthread_atfork): only the binary keeps
 * the sweeper's pipe open, so the sweeper sees end of file when the binary
 * dies. A direct child of the binary is a test: it tells the sweeper its
 * pid (the harness makes it the leader of the test's process group right
 * after fork) and dies with the binary.
 */
static void tree_guard_forked(void)
{
	char line[32];
	ssize_t done;
	int n;

	if (sweeper_fd < 0)
		return;
	if (getppid() == binary_pid) {
		n = snprintf(line, sizeof(line), "T%d\n", getpid());
		/* One short write to a pipe: whole or not at all. */
		done = write(sweeper_fd, line, n);
		(void)done;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* The binary died between fork() and prctl(). */
		if (getppid() != binary_pid)
			raise(SIGKILL);
	}
	close(sweeper_fd);
	sweeper_fd = -1;
}

static void sweep(pid_t test_group)
{
	if (test_group > 1)
		kill(-test_group, SIGKILL);
}

/* A pidfd of @runner (readable once it exits), or -1: then kill(0) polls it. */
static int runner_pidfd(pid_t runner)
{
#ifdef SYS_pidfd_open
	if (runner > 0)
		return syscall(SYS_pidfd_open, runner, 0);
#endif
	return -1;
}

static void sweeper_main(int fd, pid_t runner)
{
	struct pollfd pfd[2] = {
		{ .fd = fd, .events = POLLIN },
		{ .fd = runner_pidfd(runner), .events = POLLIN },
	};
	char buf[256], *nl, *p;
	pid_t test_group = 0;
	size_t used = 0;
	ssize_t n;
	int ret, devnull;

	setsid();
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	/* Hold no one's terminal or pipe: a reader waits for their EOF. */
	devnull = open("/dev/null", O_RDWR);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		dup2(devnull, STDERR_FILENO);
		if (devnull > STDERR_FILENO)
			close(devnull);
	}
	for (;;) {
		ret = poll(pfd, 2, runner > 0 && pfd[1].fd < 0 ? 500 : -1);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			break;
		/* The runner died: so do the binary and its test. */
		if ((pfd[1].fd >= 0 && (pfd[1].revents & POLLIN)) ||
		    (pfd[1].fd < 0 && runner > 0 && kill(runner, 0) &&
		     errno == ESRCH)) {
			kill(binary_pid, SIGKILL);
			break;
		}
		if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(fd, buf + used, sizeof(buf) - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* the binary is gone */
		used += n;
		buf[used] = '\0';
		while ((nl = strchr(buf, '\n'))) {
			*nl = '\0';
			if (buf[0] == 'T') {
				test_group = strtol(buf + 1, &p, 10);
				if (*p)
					test_group = 0;
			}
			used -= nl + 1 - buf;
			memmove(buf, nl + 1, used + 1);
		}
		if (used == sizeof(buf) - 1)
			used = 0;	/* garbage: drop it */
	}
	sweep(test_group);
	/* A fork that raced with the first kill is in the group now. */
	sleep_ms(100);
	sweep(test_group);
	_exit(0);
}

static void sweeper_run(int fd, void *runner)
{
	sweeper_main(fd, *(pid_t *)runner);
}

int tree_guard_start(void)
{
	static bool registered;
	pid_t pid, runner;

	if (sweeper_fd >= 0)
		return 0;
	binary_pid = getpid();
	runner = runner_ancestor();
	pid = fork_pipe_reader(sweeper_run, &runner, &sweeper_fd);
	if (pid < 0)
		return pid;
	if (!registered && pthread_atfork(NULL, NULL, tree_guard_forked))
		return -ENOMEM;
	registered = true;
	return 0;
}

int suite_lock_take(void)
{
	const char *file = getenv("AVL_LOCK_FILE");
	const char *wait_env = getenv("AVL_LOCK_WAIT");
	long long deadline;
	bool told = false;
	int fd, err;

	if (geteuid() != 0 || runner_ancestor())
		return 0;
	/* The same file as run_vmtests.sh's take_lock(). */
	if (!file || !*file)
		file = access("/run", W_OK) ? "/tmp/anon_vma_lazy.lock" :
					      "/run/anon_vma_lazy.lock";
	deadline = now_ms() + 1000LL * (wait_env ? atoi(wait_env) : 900);
	fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX | LOCK_NB)) {
		err = errno;
		if (err != EWOULDBLOCK || now_ms() >= deadline) {
			close(fd);
			return err == EWOULDBLOCK ? -EBUSY : -err;
		}
		if (!told)
			printf("# waiting for another anon_vma_lazy run to release %s\n",
			       file);
		told = true;
		sleep_ms(200);
	}
	/* Held until this binary and every process it forked are gone. */
	return 0;
}
