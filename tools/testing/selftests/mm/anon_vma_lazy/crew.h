/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Crews: the one way the anon_vma_lazy tests drive helper processes.
 *
 * A crew is a controller (the test body) and up to CREW_MAX member
 * processes forked from it or from each other, so that fork chains and
 * trees share pages exactly as the test built them. Members work on the
 * crew's regions: address ranges the controller reserved before the first
 * fork, at the same addresses in every member. The controller sends a
 * member one command at a time from one vocabulary (enum crew_op) and
 * waits for its answer; members report, only the controller asserts.
 *
 *   crew = crew_create(3);
 *   r = crew_add_region(crew, base, 16);
 *   crew_start(crew, 0);                               P0 serves commands
 *   crew_do(crew, 0, CREW_MMAP, r, 0, 16, 0);          P0 maps the region
 *   crew_do(crew, 0, CREW_FILL, r, 0, 16, 0);          and writes it
 *   crew_do(crew, 0, CREW_FORK, r, 0, 0, 1);           P0 forks P1
 *   crew_do(crew, 1, CREW_FILL, r, 4, 8, 101);         P1 COW-writes 4..7
 *   crew_do(crew, 1, CREW_VERIFY, r, 0, 16, 0);        0: contents intact
 *
 * Every member keeps a model of the tags it wrote into each region (a
 * child starts from its parent's, as it starts from its pages), which
 * CREW_VERIFY compares with its pages. The scenario engine (scenario.h)
 * builds its members with programs and then lets them serve the same
 * commands, with its own model behind CREW_VERIFY.
 *
 * Every wait has a deadline (CREW_WAIT_MS); a member whose controller is
 * gone exits; the controller is a child subreaper, so it reaps every
 * member whatever the exit order of the tree; crew_destroy() kills them.
 */
#ifndef __AVL_CREW_H
#define __AVL_CREW_H

#include "oracles.h"

#define CREW_MAX		64
#define CREW_MAX_REGIONS	80
#define CREW_WAIT_MS		30000

/*
 * The commands, on pages [first, last) of one region (@arg as noted).
 * A member answers 0 or -errno, CREW_VERIFY the number of pages that do
 * not hold what the member wrote (pages it never wrote, or mapped anew
 * with CREW_MMAP, unmapped or zapped by MADV_DONTNEED, are not looked
 * at), CREW_READ the same for
 * every page of the range, the never-written ones being zeroes.
 */
enum crew_op {
	CREW_MMAP,		/* mmap anonymous private, MAP_FIXED */
	CREW_MMAP_FILE,		/* mmap the crew's file MAP_PRIVATE (its tags) */
	CREW_FILL,		/* write tag { owner @arg, index i } to page i */
	CREW_FILL_SAME,		/* one tag { owner @arg } in every page */
	CREW_MPROTECT,		/* mprotect to @arg (PROT_*) */
	CREW_MADVISE,		/* madvise @arg (MADV_*) */
	CREW_MLOCK,		/* mlock2() with flags @arg (0: mlock) */
	CREW_MUNLOCK,
	CREW_MUNMAP,
	CREW_MBIND,		/* MPOL_BIND to node @arg, moving the pages */
	CREW_MREMAP,		/* move the region to page @arg of its range */
	CREW_MERGE_ANY,		/* prctl(PR_SET_MEMORY_MERGE, 1) */
	CREW_TOUCH,		/* flush the TLB, read every second page */
	CREW_READ,		/* read-fault every page: a tag or zeroes */
	CREW_RUN,		/* the crew's run() callback, @arg its choice */
	CREW_VERIFY,		/* compare the pages with the model */
	CREW_FORK,		/* fork member @arg, which serves too */
	CREW_EXIT,
	NR_CREW_OPS,
};

struct crew_cmd {
	int op;
	int region;
	int first, last;
	long arg;
	/* > 0: fail the call's fail_nth-th allocation; < 0: make-it-fail */
	int fail_nth;
};

struct crew_region {
	char *base;		/* where it was reserved */
	int pages;		/* the model's size; CREW_MREMAP range */
	struct page_tag *model;	/* per page; NULL: none (the engine's) */
	bool *tagged;		/* which model entries hold a tag */
};

/* What every member and the controller see alike. */
struct crew_shared {
	pid_t pids[CREW_MAX];
	int status[CREW_MAX];
	bool injected[CREW_MAX];	/* the fail_nth-th failure happened */
	struct crew_cmd cmd[CREW_MAX];
	long offset[CREW_MAX][CREW_MAX_REGIONS];	/* CREW_MREMAP moves */
	/* fail-nth read back into [0], disarmed from [1] (member_do_nth()) */
	char nth_io[CREW_MAX][2][16];
};

struct crew {
	int size;
	int self;		/* this process: member number, -1 controller */
	int nr_regions;
	struct crew_region region[CREW_MAX_REGIONS];
	int file_fd;		/* CREW_MMAP_FILE's file, page i tagged */
	__u32 file_owner;	/* { file_owner, index i } */
	/* CREW_VERIFY through this instead of the model, when set. */
	int (*verify)(void *ctx, int k);
	void *verify_ctx;
	/* CREW_RUN: a test's own operation, in member @k; 0 or -errno. */
	int (*run)(void *ctx, struct crew *c, int k, const struct crew_cmd *cmd);
	void *run_ctx;
	/* Per process: each member has its own copy of the pipe ends. */
	int wake[CREW_MAX][2];
	int reply[2];
	unsigned long long pending;	/* controller: answers read early */
	struct crew_shared *shared;
};

/* Controller: a crew of @size members, or NULL. */
struct crew *crew_create(int size);
/*
 * Controller, before the first fork: a region of @pages pages at @base;
 * with @model, members keep the tags they write there (CREW_FILL and
 * CREW_VERIFY). Returns its number or -errno.
 */
int crew_add_region(struct crew *c, char *base, int pages, bool model);
/* Controller: the file CREW_MMAP_FILE maps, every page i tagged so. */
void crew_set_file(struct crew *c, int fd, __u32 owner);
/*
 * fork() member @k from the calling process (controller or member).
 * Returns the pid in the caller, 0 in the new member, -errno on failure.
 */
pid_t crew_fork(struct crew *c, int k);
/* Controller: fork member @k, which serves commands. Its pid or -errno. */
pid_t crew_start(struct crew *c, int k);
/* Member @k: carry out commands until CREW_EXIT or the controller left. */
__noreturn void crew_serve(struct crew *c, int k);
/* Member @k: answer the command it is on (or its set-up) with @status. */
int crew_reply(struct crew *c, int k, int status);

/* Controller: send @cmd to member @k without waiting. */
int crew_send(struct crew *c, int k, const struct crew_cmd *cmd);
/* Controller: wait for member @k's answer, returned in @status. */
int crew_collect(struct crew *c, int k, int *status);
/* Controller: one command to member @k; its answer, or -errno. */
int crew_do(struct crew *c, int k, int op, int region, int first, int last,
	    long arg);
/*
 * The same with fault injection: the member arms its fail-nth
 * (/proc/thread-self/fail-nth) with @nth right before the command's
 * system calls and disarms it right after; *@injected says whether the
 * @nth-th failable allocation (slab or page allocator) of the command was
 * failed, or whether the command never got that far. A negative @nth sets
 * the member's make-it-fail for the command instead (the fault
 * attributes' task filter decides; *@injected is then false).
 */
int crew_do_nth(struct crew *c, int k, int op, int region, int first,
		int last, long arg, int nth, bool *injected);
/*
 * Controller: @cmd to every member in @alive, then all answers; the
 * number of members whose answer was not 0, or -errno.
 */
int crew_broadcast(struct crew *c, const bool *alive,
		   const struct crew_cmd *cmd);
/* Controller: CREW_EXIT to member @k, then wait until its mm is gone. */
int crew_exit(struct crew *c, int k);
/*
 * Controller: wait until member @k has exited (its mm is gone: zombie or
 * reaped), with a deadline.
 */
int crew_wait_exited(struct crew *c, int k);
/* Controller: SIGKILL every member, reap all children, free the crew. */
void crew_destroy(struct crew *c);

static inline pid_t crew_pid(const struct crew *c, int k)
{
	return c->shared->pids[k];
}

/* Where member @k has region @r now (CREW_MREMAP moves it). */
static inline char *crew_addr(const struct crew *c, int k, int r)
{
	return c->region[r].base + c->shared->offset[k][r] * (long)psize();
}

/* The name of @op in logs ("mmap", "fill", ...). */
const char *crew_op_name(int op);

/*
 * The system call behind a plain command on [@p, @p + @len): mprotect,
 * madvise, mlock, munlock, munmap, mbind. 0 or -errno.
 */
int crew_syscall(int op, char *p, size_t len, long arg);

#endif /* __AVL_CREW_H */
