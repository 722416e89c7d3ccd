// SPDX-License-Identifier: GPL-2.0
/*
 * Crews: helper processes driven by one command vocabulary. See crew.h.
 *
 * A command travels as a struct in the crew's shared area plus one byte on
 * the member's wake-up pipe; the answer as a status in the shared area
 * plus the member's number on the common reply pipe. Only the controller
 * writes wake-ups and reads replies: with those ends closed in a member, a
 * member sees EOF once the controller is gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/mempolicy.h>

#include "crew.h"

#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67
#endif

static const char * const crew_op_names[NR_CREW_OPS] = {
	[CREW_MMAP] = "mmap", [CREW_MMAP_FILE] = "mmap_file",
	[CREW_FILL] = "fill", [CREW_FILL_SAME] = "fill_same",
	[CREW_MPROTECT] = "mprotect", [CREW_MADVISE] = "madvise",
	[CREW_MLOCK] = "mlock", [CREW_MUNLOCK] = "munlock",
	[CREW_MUNMAP] = "munmap", [CREW_MBIND] = "mbind",
	[CREW_MREMAP] = "mremap", [CREW_MERGE_ANY] = "merge_any",
	[CREW_TOUCH] = "touch", [CREW_READ] = "read", [CREW_RUN] = "run",
	[CREW_VERIFY] = "verify",
	[CREW_FORK] = "fork", [CREW_EXIT] = "exit",
};

const char *crew_op_name(int op)
{
	return op >= 0 && op < NR_CREW_OPS ? crew_op_names[op] : "?";
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void crew_close_all(struct crew *c)
{
	int k;

	for (k = 0; k < CREW_MAX; k++) {
		close_fd(&c->wake[k][0]);
		close_fd(&c->wake[k][1]);
	}
	close_fd(&c->reply[0]);
	close_fd(&c->reply[1]);
}

static void crew_free(struct crew *c)
{
	int r;

	for (r = 0; r < c->nr_regions; r++) {
		free(c->region[r].model);
		free(c->region[r].tagged);
	}
	if (c->shared)
		munmap(c->shared, sizeof(*c->shared));
	free(c);
}

struct crew *crew_create(int size)
{
	struct crew *c;
	int k;

	if (size < 1 || size > CREW_MAX)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->size = size;
	c->self = -1;
	c->file_fd = -1;
	c->reply[0] = -1;
	c->reply[1] = -1;
	for (k = 0; k < CREW_MAX; k++) {
		c->wake[k][0] = -1;
		c->wake[k][1] = -1;
	}
	c->shared = shared_area(sizeof(*c->shared));
	if (!c->shared)
		goto fail;
	if (pipe2(c->reply, O_CLOEXEC))
		goto fail;
	for (k = 0; k < size; k++)
		if (pipe2(c->wake[k], O_CLOEXEC))
			goto fail;
	/* Orphaned members are re-parented to us, so we reap them all. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	return c;
fail:
	crew_close_all(c);
	crew_free(c);
	return NULL;
}

int crew_add_region(struct crew *c, char *base, int pages, bool model)
{
	struct crew_region *reg;

	if (c->nr_regions == CREW_MAX_REGIONS || pages < 1)
		return -ENOSPC;
	reg = &c->region[c->nr_regions];
	reg->base = base;
	reg->pages = pages;
	if (model) {
		reg->model = calloc(pages, sizeof(*reg->model));
		reg->tagged = calloc(pages, sizeof(*reg->tagged));
		if (!reg->model || !reg->tagged) {
			free(reg->model);
			free(reg->tagged);
			reg->model = NULL;
			reg->tagged = NULL;
			return -ENOMEM;
		}
	}
	return c->nr_regions++;
}

void crew_set_file(struct crew *c, int fd, __u32 owner)
{
	c->file_fd = fd;
	c->file_owner = owner;
}

pid_t crew_fork(struct crew *c, int k)
{
	pid_t pid;
	int i;

	if (k < 0 || k >= c->size)
		return -EINVAL;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid) {
		c->shared->pids[k] = pid;
		return pid;
	}
	c->shared->pids[k] = getpid();
	/* A child has its regions where its parent has them. */
	if (c->self >= 0)
		memcpy(c->shared->offset[k], c->shared->offset[c->self],
		       sizeof(c->shared->offset[k]));
	else
		memset(c->shared->offset[k], 0, sizeof(c->shared->offset[k]));
	c->self = k;
	for (i = 0; i < c->size; i++)
		close_fd(&c->wake[i][1]);
	close_fd(&c->reply[0]);
	c->pending = 0;
	return 0;
}

pid_t crew_start(struct crew *c, int k)
{
	pid_t pid = crew_fork(c, k);

	if (pid == 0)
		crew_serve(c, k);
	return pid;
}

/* One byte from @fd within @timeout_ms: the byte, -ETIMEDOUT or -EPIPE. */
static int read_byte(int fd, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	unsigned char byte;
	ssize_t n;
	int ret;

	for (;;) {
		long long left = deadline - now_ms();

		if (left <= 0)
			return -ETIMEDOUT;
		ret = poll(&pfd, 1, left);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			return -errno;
		if (!ret)
			return -ETIMEDOUT;
		n = read(fd, &byte, 1);
		if (n == 1)
			return byte;
		if (!n)
			return -EPIPE;
		if (errno != EINTR)
			return -errno;
	}
}

int crew_reply(struct crew *c, int k, int status)
{
	unsigned char byte = k;

	c->shared->status[k] = status;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return write(c->reply[1], &byte, 1) == 1 ? 0 : -EPIPE;
}

int crew_syscall(int op, char *p, size_t len, long arg)
{
	unsigned long mask;
	long ret;

	switch (op) {
	case CREW_MPROTECT:
		ret = mprotect(p, len, arg);
		break;
	case CREW_MADVISE:
		ret = madvise(p, len, arg);
		break;
	case CREW_MLOCK:
		/* mlock2() flags (MLOCK_ONFAULT) in @arg, or 0 for mlock() */
		ret = arg ? syscall(SYS_mlock2, p, len, arg) : mlock(p, len);
		break;
	case CREW_MUNLOCK:
		ret = munlock(p, len);
		break;
	case CREW_MUNMAP:
		ret = munmap(p, len);
		break;
	case CREW_MBIND:
		if (arg < 0 || arg >= (long)(8 * sizeof(mask)))
			return -EINVAL;
		mask = 1UL << arg;
		ret = syscall(SYS_mbind, p, len, MPOL_BIND, &mask,
			      8 * sizeof(mask), MPOL_MF_MOVE | MPOL_MF_STRICT);
		break;
	default:
		return -EINVAL;
	}
	return ret ? -errno : 0;
}

/* The model's tag of page @i of region @reg after a fill with @cmd. */
static struct page_tag fill_tag(const struct crew_cmd *cmd, int i)
{
	struct page_tag tag = { .owner = cmd->arg };

	if (cmd->op != CREW_FILL_SAME)
		tag.index = i;
	return tag;
}

static bool all_zero(const char *p)
{
	size_t k;

	for (k = 0; k < psize(); k++)
		if (p[k])
			return false;
	return true;
}

/* Pages of [first, last) not as the model says; with @all, untagged ones too. */
static int member_verify(struct crew *c, int k, const struct crew_cmd *cmd,
			 bool all)
{
	const struct crew_region *reg = &c->region[cmd->region];
	char *p = crew_addr(c, k, cmd->region);
	int i, bad = 0;

	for (i = cmd->first; i < cmd->last; i++) {
		char *page = p + (size_t)i * psize();

		if (reg->tagged[i])
			bad += !!tag_verify(page, psize(), &reg->model[i], NULL);
		else if (all)
			bad += !all_zero(page);
	}
	return bad;
}

/* Map pages of the crew's file and take its tags into the model. */
static int member_map_file(struct crew *c, const struct crew_cmd *cmd,
			   char *p, size_t len)
{
	struct crew_region *reg = &c->region[cmd->region];
	int i;

	if (c->file_fd < 0)
		return -EBADF;
	if (mmap(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED,
		 c->file_fd, (off_t)cmd->first * psize()) != p)
		return -errno;
	for (i = cmd->first; i < cmd->last; i++) {
		reg->model[i] = (struct page_tag){ .owner = c->file_owner,
						   .index = i };
		reg->tagged[i] = true;
	}
	return 0;
}

/* Carry out @cmd in member @k: 0, -errno, or a count. */
static int member_do(struct crew *c, int k, const struct crew_cmd *cmd)
{
	struct crew_region *reg = &c->region[cmd->region];
	char *p = crew_addr(c, k, cmd->region) + (size_t)cmd->first * psize();
	size_t len = (size_t)(cmd->last - cmd->first) * psize();
	char *to;
	int i;

	if (cmd->op == CREW_FORK) {
		pid_t pid = crew_fork(c, cmd->arg);

		if (pid == 0) {
			/* The new member answers its own set-up. */
			crew_reply(c, cmd->arg, 0);
			crew_serve(c, cmd->arg);
		}
		return pid < 0 ? pid : 0;
	}
	if (cmd->region < 0 || cmd->region >= c->nr_regions ||
	    cmd->first < 0 || cmd->last > reg->pages || cmd->first > cmd->last)
		return -EINVAL;
	/* Model-less regions (the engine's) take the plain commands only. */
	if (!reg->model && cmd->op != CREW_VERIFY &&
	    (cmd->op == CREW_MMAP_FILE || cmd->op == CREW_FILL ||
	     cmd->op == CREW_FILL_SAME || cmd->op == CREW_TOUCH ||
	     cmd->op == CREW_READ))
		return -EINVAL;

	switch (cmd->op) {
	case CREW_MMAP:
		if (mmap(p, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != p)
			return -errno;
		if (reg->tagged)
			memset(&reg->tagged[cmd->first], 0,
			       (cmd->last - cmd->first) * sizeof(bool));
		return 0;
	case CREW_MMAP_FILE:
		return member_map_file(c, cmd, p, len);
	case CREW_MUNMAP:
	case CREW_MADVISE:
		/* Unmapped or zapped (MADV_DONTNEED): nothing to compare. */
		if (reg->tagged && (cmd->op == CREW_MUNMAP ||
				    cmd->arg == MADV_DONTNEED))
			memset(&reg->tagged[cmd->first], 0,
			       (cmd->last - cmd->first) * sizeof(bool));
		return crew_syscall(cmd->op, p, len, cmd->arg);
	case CREW_FILL:
	case CREW_FILL_SAME:
		for (i = cmd->first; i < cmd->last; i++) {
			reg->model[i] = fill_tag(cmd, i);
			reg->tagged[i] = true;
			tag_fill(p + (size_t)(i - cmd->first) * psize(), psize(),
				 &reg->model[i]);
		}
		return 0;
	case CREW_MREMAP:
		to = reg->base + cmd->arg * (long)psize();
		p = crew_addr(c, k, cmd->region);
		len = (size_t)reg->pages * psize();
		if (mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to) != to)
			return -errno;
		c->shared->offset[k][cmd->region] = cmd->arg;
		return 0;
	case CREW_MERGE_ANY:
		return prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0) ? -errno : 0;
	case CREW_TOUCH:
		/*
		 * Clearing an accessed bit (page_idle) does not flush the
		 * TLB: a cached translation would not set it again. Changing
		 * the protection flushes, so the reads walk the page table
		 * and set the bit.
		 */
		if (mprotect(p, len, PROT_READ) ||
		    mprotect(p, len, PROT_READ | PROT_WRITE))
			return -errno;
		for (i = cmd->first; i < cmd->last; i += 2)
			if (reg->tagged[i] &&
			    tag_verify(crew_addr(c, k, cmd->region) +
				       (size_t)i * psize(), psize(),
				       &reg->model[i], NULL))
				return -EIO;
		return 0;
	case CREW_READ:
		return member_verify(c, k, cmd, true);
	case CREW_RUN:
		return c->run ? c->run(c->run_ctx, c, k, cmd) : -EINVAL;
	case CREW_VERIFY:
		if (c->verify)
			return c->verify(c->verify_ctx, k);
		return reg->model ? member_verify(c, k, cmd, false) : -EINVAL;
	default:
		return crew_syscall(cmd->op, p, len, cmd->arg);
	}
}

/*
 * @cmd with its fail_nth-th failable allocation failed: fail-nth counts
 * every should_fail() of this task from the write on and stays armed
 * until it fires, so it is armed right before the command and read back
 * (0: it fired) and disarmed right after. A negative fail_nth sets the
 * task's make-it-fail for the command instead: the fault attributes'
 * task filter then decides what fails (the controller set them up).
 */
static int member_do_nth(struct crew *c, int k, const struct crew_cmd *cmd)
{
	const char *path = cmd->fail_nth > 0 ? "/proc/thread-self/fail-nth" :
					       "/proc/thread-self/make-it-fail";
	int fd = open(path, O_RDWR | O_CLOEXEC);
	char arm[16], *left = c->shared->nth_io[k][0];
	char *zero = c->shared->nth_io[k][1];
	ssize_t len;
	int ret;

	c->shared->injected[k] = false;
	if (fd < 0)
		return -errno;
	/*
	 * Read back and disarm through the shared page, touched here: a
	 * command that forks leaves this process's private pages, its stack
	 * too, write-protected, and the copy to a COW page in pread() would
	 * take the allocation fail-nth is still armed for (EFAULT) when the
	 * command did not reach it. The shared page stays mapped writable.
	 */
	memset(c->shared->nth_io[k], 0, sizeof(c->shared->nth_io[k]));
	zero[0] = '0';
	len = snprintf(arm, sizeof(arm), "%d", cmd->fail_nth > 0 ? cmd->fail_nth : 1);
	if (write(fd, arm, len) != len) {
		ret = -errno;
		close(fd);
		return ret;
	}
	ret = member_do(c, k, cmd);
	if (pread(fd, left, sizeof(c->shared->nth_io[k][0]) - 1, 0) <= 0 ||
	    write(fd, zero, 1) != 1)
		ret = -EIO;
	close(fd);
	c->shared->injected[k] = cmd->fail_nth > 0 && atoi(left) == 0;
	return ret;
}

void crew_serve(struct crew *c, int k)
{
	struct crew_cmd cmd;
	int byte;

	for (;;) {
		/* Twice the controller's deadline: it gives up first. */
		byte = read_byte(c->wake[k][0], 2 * CREW_WAIT_MS);
		if (byte < 0)
			_exit(3);	/* the controller is gone */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		cmd = c->shared->cmd[k];
		if (cmd.op == CREW_EXIT)
			_exit(0);
		crew_reply(c, k, cmd.fail_nth ? member_do_nth(c, k, &cmd) :
					     member_do(c, k, &cmd));
	}
}

int crew_send(struct crew *c, int k, const struct crew_cmd *cmd)
{
	char byte = 1;

	if (k < 0 || k >= c->size || c->wake[k][1] < 0)
		return -EINVAL;
	c->shared->cmd[k] = *cmd;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return write(c->wake[k][1], &byte, 1) == 1 ? 0 : -errno;
}

/* Wait for member @k's answer until @deadline (now_ms()). */
static int collect_until(struct crew *c, int k, long long deadline,
			 int *status)
{
	int who;

	while (!(c->pending & (1ULL << k))) {
		who = read_byte(c->reply[0], deadline - now_ms());
		if (who < 0)
			return who;
		if (who < c->size)
			c->pending |= 1ULL << who;
	}
	c->pending &= ~(1ULL << k);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	*status = c->shared->status[k];
	return 0;
}

int crew_collect(struct crew *c, int k, int *status)
{
	return collect_until(c, k, now_ms() + CREW_WAIT_MS, status);
}

int crew_do_nth(struct crew *c, int k, int op, int region, int first,
		int last, long arg, int nth, bool *injected)
{
	struct crew_cmd cmd = {
		.op = op, .region = region, .first = first, .last = last,
		.arg = arg, .fail_nth = nth,
	};
	int ret, status;

	ret = crew_send(c, k, &cmd);
	if (!ret)
		ret = crew_collect(c, k, &status);
	if (injected)
		*injected = !ret && c->shared->injected[k];
	/* A fork that failed has no child to answer. */
	if (!ret && !status && op == CREW_FORK)
		ret = crew_collect(c, arg, &status);
	return ret ? ret : status;
}

int crew_do(struct crew *c, int k, int op, int region, int first, int last,
	    long arg)
{
	return crew_do_nth(c, k, op, region, first, last, arg, 0, NULL);
}

int crew_broadcast(struct crew *c, const bool *alive,
		   const struct crew_cmd *cmd)
{
	long long deadline = now_ms() + CREW_WAIT_MS;
	int k, ret, status, bad = 0;

	for (k = 0; k < c->size; k++) {
		if (!alive[k])
			continue;
		ret = crew_send(c, k, cmd);
		if (ret)
			return ret;
	}
	for (k = 0; k < c->size; k++) {
		if (!alive[k])
			continue;
		ret = collect_until(c, k, deadline, &status);
		if (ret)
			return ret;
		bad += status != 0;
	}
	return bad;
}

int crew_wait_exited(struct crew *c, int k)
{
	long long deadline = now_ms() + CREW_WAIT_MS;
	pid_t pid = c->shared->pids[k];
	char state;

	if (pid <= 0)
		return -EINVAL;
	for (;;) {
		state = proc_state(pid);
		/* exit_mm() runs before a task becomes a zombie. */
		if (!state || state == 'Z' || state == 'X')
			return 0;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		sleep_ms(2);
	}
}

int crew_exit(struct crew *c, int k)
{
	struct crew_cmd cmd = { .op = CREW_EXIT };
	int ret = crew_send(c, k, &cmd);

	return ret ? ret : crew_wait_exited(c, k);
}

void crew_destroy(struct crew *c)
{
	long long deadline;
	int k;

	if (!c)
		return;
	for (k = 0; k < c->size; k++)
		if (c->shared->pids[k] > 0)
			kill(c->shared->pids[k], SIGKILL);
	crew_close_all(c);
	/*
	 * As subreaper we inherit every orphan, zombies included: reap until
	 * no member is left, within a deadline.
	 */
	deadline = now_ms() + 10000;
	for (;;) {
		int left = 0;

		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		for (k = 0; k < c->size; k++)
			if (c->shared->pids[k] > 0 &&
			    proc_state(c->shared->pids[k]))
				left++;
		if (!left || now_ms() >= deadline)
			break;
		sleep_ms(2);
	}
	crew_free(c);
}
