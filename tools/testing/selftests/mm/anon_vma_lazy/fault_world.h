/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The world of the fault tests: a crew of up to four members in one of
 * five states (fault.c's header comment draws them), three regions per
 * member, and the calls whose allocations fault.c fails in turn. The
 * oracles and the loop that uses the harness are in fault.c.
 */
#ifndef __AVL_FAULT_WORLD_H
#define __AVL_FAULT_WORLD_H

#include <stdbool.h>
#include <stddef.h>

#include "crew.h"
#include "oracles.h"

#define FPAGES		16
#define MAX_PAGES	512	/* a THP of 2 MB in 4 kB pages */
#define MAX_NTH		2000

/* The regions: R0 the pages, R1 right after it, R2 apart (moves). */
enum { R0, R1, R2, NR_REGIONS };

enum fault_state { LAZY, UPGRADED, INHERITED, GRANDCHILD, ORPHANED };

enum fault_op {
	OP_FORK,
	OP_MPROTECT_MIDDLE,
	OP_MPROTECT_EDGE,
	OP_MUNMAP_MIDDLE,
	OP_MADVISE_MIDDLE,
	OP_MLOCK_MIDDLE,
	OP_MERGE_BY_MMAP,
	OP_MERGE_BY_MPROTECT,
	OP_MREMAP_MOVE,
	OP_MREMAP_DONTUNMAP,
	OP_MREMAP_DONTUNMAP_LOCKED,
	OP_MREMAP_GROW,
	OP_UFFD_MOVE,
	OP_MOVE_PAGES,
	OP_FIRST_WRITE,
	OP_COLLAPSE,
	OP_SET_POLICY,		/* not a call: a NUMA policy for prepare() */
};

struct fault_world {
	struct crew *crew;
	char *base;
	size_t reserved_len;
	int pages;		/* of R0 (FPAGES, or a THP) */
	int members;		/* 1, 2 or 3 */
	int m;			/* the member making the call */
	enum fault_state state;
	int nodes[2];
	bool numa, swap;
	int uffd;		/* in the member: UFFDIO_MOVE's */
	long *moved;		/* shared: the member's last partial count */
};

/* Region @r of the members (the same address in each). */
char *region_at(struct fault_world *w, int r);
/* Who wrote the page @i member @m sees (member 3: the child the call forks). */
struct page_tag expected_tag(struct fault_world *w, int m, int i);
/* A fresh crew in the state of the variant; 0 or -errno. */
int build(struct fault_world *w);
/* What the call @op needs first (made without injection); 0 or -errno. */
int prepare(struct fault_world *w, enum fault_op op);
/*
 * The call @op by member w->m with its @nth failable allocation failed
 * (0: none; < 0: a burst armed by the caller, make-it-fail set for the
 * call); *@injected says whether the n-th failure happened.
 */
int call(struct fault_world *w, enum fault_op op, int nth, bool *injected);

#endif /* __AVL_FAULT_WORLD_H */
