// SPDX-License-Identifier: GPL-2.0
/*
 * Small helpers of the anon_vma_lazy selftests. See util.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "util.h"

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

void *reserve_range(size_t size)
{
	void *p = mmap(NULL, size, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void *shared_area(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int pin_to_this_cpu(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	if (cpu < 0)
		return -errno;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

unsigned long test_seed(void)
{
	const char *env = getenv("AVL_SEED");
	unsigned long seed;

	if (!env || parse_ulong(env, &seed, NULL)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (unsigned long)ts.tv_sec * 1000003UL ^ ts.tv_nsec ^ getpid();
	}
	printf("# random seed %lu (replay with AVL_SEED=%lu)\n", seed, seed);
	fflush(stdout);
	return seed;
}

int parse_ulong(const char *s, unsigned long *value, const char **end)
{
	unsigned long v;
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &e, 10);
	if (errno)
		return -ERANGE;
	*value = v;
	if (end)
		*end = e;
	return 0;
}

bool str_is_blank(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n')
			return false;
	return true;
}

ssize_t read_text(const char *path, char *buf, size_t len)
{
	ssize_t n, total = 0;
	int fd;

	if (!len)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((size_t)total < len - 1) {
		n = read(fd, buf + total, len - 1 - total);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			total = -errno;
			break;
		}
		if (!n)
			break;
		total += n;
	}
	close(fd);
	if (total >= 0)
		buf[total] = '\0';
	return total;
}

int write_text(const char *path, const char *text)
{
	size_t len = strlen(text);
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	return (size_t)n == len ? 0 : -EIO;
}

int read_ulong(const char *path, unsigned long *value)
{
	const char *end;
	char buf[64];
	ssize_t n;
	int ret;

	n = read_text(path, buf, sizeof(buf));
	if (n < 0)
		return n;
	if ((size_t)n == sizeof(buf) - 1)
		return -EINVAL;
	ret = parse_ulong(buf, value, &end);
	if (ret)
		return ret;
	return str_is_blank(end) ? 0 : -EINVAL;
}

int write_ulong(const char *path, unsigned long value)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lu", value);
	return write_text(path, buf);
}

int reap_with_deadline(pid_t pid, int timeout_ms, int *status)
{
	long long deadline = now_ms() + timeout_ms;
	long delay = 1;
	pid_t ret;
	int pidfd;

#ifdef SYS_pidfd_open
	/* A pidfd polls readable when the child exits: no sleeping. */
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd >= 0) {
		struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

		while (poll(&pfd, 1, timeout_ms) < 0 && errno == EINTR)
			;
		close(pidfd);
	}
#endif
	for (;;) {
		ret = waitpid(pid, status, WNOHANG);
		if (ret == pid)
			return 0;
		if (ret < 0 && errno != EINTR)
			return -errno;
		if (now_ms() >= deadline)
			break;
		sleep_ms(delay);
		if (delay < 20)
			delay *= 2;
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return -ETIMEDOUT;
}

pid_t fork_pipe_reader(void (*fn)(int fd, void *arg), void *arg, int *wfd)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -errno;
	}
	if (!pid) {
		close(fds[1]);
		fn(fds[0], arg);
		_exit(1);
	}
	close(fds[0]);
	*wfd = fds[1];
	return pid;
}

int proc_stat(pid_t pid, char *state, pid_t *ppid)
{
	char path[64], buf[512], *p;
	int parent;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_text(path, buf, sizeof(buf)) <= 0)
		return -ENOENT;
	/* "pid (comm) state ppid ...": comm may hold anything, even ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %d", state, &parent) != 2)
		return -EINVAL;
	*ppid = parent;
	return 0;
}

char proc_state(pid_t pid)
{
	pid_t ppid;
	char state;

	return proc_stat(pid, &state, &ppid) ? 0 : state;
}

int wait_byte(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char byte;

	if (poll(&pfd, 1, timeout_ms) != 1 || read(fd, &byte, 1) != 1)
		return -1;
	return byte;
}
