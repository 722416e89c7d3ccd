// SPDX-License-Identifier: GPL-2.0
/*
 * The fault tests' processes and calls: the states built fresh for every
 * injection point, what each call needs first, and the calls themselves
 * (those the crew commands have no word for run in the member through
 * the crew's run() callback).
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/mempolicy.h>
#include <linux/userfaultfd.h>

#include "env.h"
#include "fault_world.h"
#include "util.h"

/* ---- the state --------------------------------------------------------- */

char *region_at(struct fault_world *w, int r)
{
	static const int at[NR_REGIONS] = { 0, 1, 2 };

	/* R0, R1 just after it, a gap of a page, R2. */
	return w->base + (size_t)(at[r] * w->pages + (r == R2)) * psize();
}

/* Who wrote the page @i member @m sees (the states above). */
struct page_tag expected_tag(struct fault_world *w, int m, int i)
{
	struct page_tag tag = { .owner = 0, .index = i };

	/* The child the call forks (member 3) sees what its parent sees. */
	if (m == 3)
		m = w->m;
	if (m >= 1 && w->state != LAZY && i < 4)
		tag.owner = 1;
	if (m == 2 && i >= 8 && i < 10)
		tag.owner = 2;
	return tag;
}

static int run_op(void *ctx, struct crew *c, int k, const struct crew_cmd *cmd);

/* A fresh crew in the state of the variant; 0 or -errno. */
int build(struct fault_world *w)
{
	int ret, r;

	crew_destroy(w->crew);
	w->crew = crew_create(4);
	if (!w->crew)
		return -ENOMEM;
	w->crew->run = run_op;
	w->crew->run_ctx = w;
	for (r = 0; r < NR_REGIONS; r++)
		if (crew_add_region(w->crew, region_at(w, r), w->pages, true) < 0)
			return -ENOMEM;
	if (crew_start(w->crew, 0) < 0)
		return -ECHILD;
	ret = crew_do(w->crew, 0, CREW_MMAP, R0, 0, w->pages, 0);
	if (!ret)
		ret = crew_do(w->crew, 0, CREW_MADVISE, R0, 0, w->pages,
			      MADV_NOHUGEPAGE);
	if (!ret)
		ret = crew_do(w->crew, 0, CREW_FILL, R0, 0, w->pages, 0);
	if (!ret && w->state != LAZY) {
		ret = crew_do(w->crew, 0, CREW_FORK, R0, 0, 0, 1);
		if (!ret)
			ret = crew_do(w->crew, 1, CREW_FILL, R0, 0, 4, 1);
	}
	if (!ret && w->state == ORPHANED)
		ret = crew_exit(w->crew, 0);
	if (!ret && w->state == GRANDCHILD) {
		ret = crew_do(w->crew, 1, CREW_FORK, R0, 0, 0, 2);
		if (!ret)
			ret = crew_do(w->crew, 2, CREW_FILL, R0, 8, 10, 2);
	}
	return ret;
}

/* ---- the calls --------------------------------------------------------- */

/* In the member: UFFDIO_MOVE of R0 [0, 4) (its own pages) to R2. */
static int member_uffd_move(struct fault_world *w, struct crew *c, int k,
			    int first, int last)
{
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct uffdio_move mv = {
		.src = (unsigned long)crew_addr(c, k, R0) + first * psize(),
		.dst = (unsigned long)crew_addr(c, k, R2) + first * psize(),
		.len = (last - first) * psize(),
	};
	int r, ret;

	if (w->uffd < 0) {
		w->uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
		if (w->uffd < 0)
			return -errno;
		struct uffdio_api api = { .api = UFFD_API,
					  .features = UFFD_FEATURE_MOVE };
		if (ioctl(w->uffd, UFFDIO_API, &api))
			return -errno;
		for (r = R0; r <= R2; r += R2 - R0) {
			reg.range.start = (unsigned long)crew_addr(c, k, r);
			reg.range.len = w->pages * psize();
			if (ioctl(w->uffd, UFFDIO_REGISTER, &reg))
				return -errno;
		}
	}
	ret = ioctl(w->uffd, UFFDIO_MOVE, &mv) ? -errno : 0;
	*w->moved = mv.move;
	return ret;
}

/* In the member: move_pages of its R0 pages, each to the other node. */
static int member_move_pages(struct fault_world *w, struct crew *c, int k)
{
	void *pages[FPAGES];
	int status[FPAGES], nodes[FPAGES], i;
	long ret;

	for (i = 0; i < FPAGES; i++)
		pages[i] = crew_addr(c, k, R0) + i * psize();
	if (pages_node(0, pages, FPAGES, status))
		return -errno;
	for (i = 0; i < FPAGES; i++)
		nodes[i] = status[i] == w->nodes[0] ? w->nodes[1] : w->nodes[0];
	ret = syscall(SYS_move_pages, 0, FPAGES, pages, nodes, status,
		      MPOL_MF_MOVE_ALL);
	*w->moved = ret;
	return ret < 0 ? -errno : 0;
}

/* The calls crew commands have no word for (CREW_RUN, @cmd->arg: op). */
static int run_op(void *ctx, struct crew *c, int k, const struct crew_cmd *cmd)
{
	struct fault_world *w = ctx;
	char *r0 = crew_addr(c, k, R0), *r2 = crew_addr(c, k, R2);
	size_t len = (size_t)w->pages * psize();
	unsigned long mask;
	char *p;

	switch (cmd->arg) {
	case OP_MERGE_BY_MMAP:
		p = crew_addr(c, k, R1);
		return mmap(p, len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == p ?
		       0 : -errno;
	case OP_MREMAP_MOVE:
	case OP_MREMAP_DONTUNMAP:
		return mremap(r0, len, len, MREMAP_MAYMOVE | MREMAP_FIXED |
			      (cmd->arg == OP_MREMAP_DONTUNMAP ?
			       MREMAP_DONTUNMAP : 0), r2) == r2 ? 0 : -errno;
	case OP_MREMAP_DONTUNMAP_LOCKED:
		/* [4, 8) of an mlocked VMA: split off first, then moved. */
		return mremap(r0 + 4 * psize(), 4 * psize(), 4 * psize(),
			      MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP,
			      r2 + 4 * psize()) == r2 + 4 * psize() ? 0 : -errno;
	case OP_MREMAP_GROW:
		/* [0, 8) grows in place up to the VMA at [12, 16). */
		return mremap(r0, 8 * psize(), 12 * psize(), 0) == r0 ?
		       0 : -errno;
	case OP_UFFD_MOVE:
		return member_uffd_move(w, c, k, cmd->first, cmd->last);
	case OP_MOVE_PAGES:
		return member_move_pages(w, c, k);
	case OP_FIRST_WRITE:
		/*
		 * The first fault of a fresh VMA (anon_vma, page table,
		 * page), then COW of the pages [4, 8) shared with the parent.
		 */
		if (madvise(r2, len, MADV_POPULATE_WRITE))
			return -errno;
		return madvise(r0 + 4 * psize(), 4 * psize(),
			       MADV_POPULATE_WRITE) ? -errno : 0;
	case OP_COLLAPSE:
		return madvise(r0, len, MADV_COLLAPSE) ? -errno : 0;
	case OP_SET_POLICY:
		mask = 1UL << w->nodes[0];
		return syscall(SYS_mbind, r0, len, MPOL_PREFERRED, &mask,
			       8 * sizeof(mask), 0) ? -errno : 0;
	}
	return -EINVAL;
}

/* What the call needs first (made without injection). */
int prepare(struct fault_world *w, enum fault_op op)
{
	switch (op) {
	case OP_MPROTECT_MIDDLE:
	case OP_MREMAP_MOVE:
		/*
		 * A NUMA policy on the VMA (with two nodes): the split and the
		 * copy duplicate it, one more allocation that can fail.
		 */
		return w->numa ? crew_do(w->crew, w->m, CREW_RUN, R0, 0, 0,
					 OP_SET_POLICY) : 0;
	case OP_MERGE_BY_MPROTECT:
		return crew_do(w->crew, w->m, CREW_MPROTECT, R0, 4, 8, PROT_READ);
	case OP_MREMAP_GROW:
		return crew_do(w->crew, w->m, CREW_MUNMAP, R0, 8, 12, 0);
	case OP_MREMAP_DONTUNMAP_LOCKED:
		return crew_do(w->crew, w->m, CREW_MLOCK, R0, 0, w->pages, 0);
	case OP_UFFD_MOVE:
		/*
		 * Only pages the member maps alone move: after fork the
		 * parent's copies of [0, 4) are its alone once P1 copied them,
		 * but not marked so until it writes them (the same contents).
		 */
		if (w->state == UPGRADED &&
		    crew_do(w->crew, 0, CREW_FILL, R0, 0, 4, 0))
			return -EIO;
		/* The destination, mapped and empty (registered there). */
		return crew_do(w->crew, w->m, CREW_MMAP, R2, 0, w->pages, 0);
	case OP_FIRST_WRITE:
		return crew_do(w->crew, w->m, CREW_MMAP, R2, 0, w->pages, 0);
	case OP_COLLAPSE:
		return crew_do(w->crew, w->m, CREW_MADVISE, R0, 0, w->pages,
			       MADV_HUGEPAGE);
	default:
		return 0;
	}
}

/*
 * The call, its @nth failable allocation failed (0: none; < 0: a burst
 * armed by the caller, make-it-fail set for the call).
 */
int call(struct fault_world *w, enum fault_op op, int nth, bool *injected)
{
	struct crew *c = w->crew;
	int m = w->m;

	switch (op) {
	case OP_FORK:
		return crew_do_nth(c, m, CREW_FORK, R0, 0, 0, 3, nth, injected);
	case OP_MPROTECT_MIDDLE:
		return crew_do_nth(c, m, CREW_MPROTECT, R0, 4, 8, PROT_READ,
				   nth, injected);
	case OP_MPROTECT_EDGE:
		return crew_do_nth(c, m, CREW_MPROTECT, R0, 0, 4, PROT_READ,
				   nth, injected);
	case OP_MUNMAP_MIDDLE:
		return crew_do_nth(c, m, CREW_MUNMAP, R0, 4, 8, 0, nth, injected);
	case OP_MADVISE_MIDDLE:
		return crew_do_nth(c, m, CREW_MADVISE, R0, 4, 8, MADV_DONTFORK,
				   nth, injected);
	case OP_MLOCK_MIDDLE:
		return crew_do_nth(c, m, CREW_MLOCK, R0, 4, 8, 0, nth, injected);
	case OP_MERGE_BY_MPROTECT:
		return crew_do_nth(c, m, CREW_MPROTECT, R0, 4, 8,
				   PROT_READ | PROT_WRITE, nth, injected);
	case OP_UFFD_MOVE:
		/* The member's own pages: shared ones cannot move (EBUSY). */
		return crew_do_nth(c, m, CREW_RUN, R0, w->m == 2 ? 8 : 0,
				   w->m == 2 ? 10 : 4, op, nth, injected);
	default:
		return crew_do_nth(c, m, CREW_RUN, R0, 0, 0, op, nth, injected);
	}
}
