// SPDX-License-Identifier: GPL-2.0
/*
 * The world of the migrate and migrate_thp tests: a crew on one region at
 * the same address in every member, the file behind its MAP_PRIVATE
 * variant, and the pagemap and move_pages(2) queries both use.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "migrate_world.h"

/* One crew command on pages [first, last) of member @m's region. */
int cmd(struct mig_world *w, int m, int op, int first, int last,
	long arg)
{
	return crew_do(w->crew, m, op, w->region, first, last, arg);
}

/* The whole region of member @m: one crew command over all its pages. */
int cmd_all(struct mig_world *w, int m, int op, long arg)
{
	return cmd(w, m, op, 0, w->nr_pages, arg);
}

int verify(struct mig_world *w, int m)
{
	return cmd_all(w, m, CREW_VERIFY, 0);
}

/* COW-write pages [first, last) of member @m with its own contents. */
int cow_write(struct mig_world *w, int m, int first, int last)
{
	return cmd(w, m, CREW_FILL, first, last, OWN(m));
}

/*
 * Map and fault the region of member @m: anonymous small pages, a THP
 * (MADV_HUGEPAGE first), small pages made collapsible afterwards, or
 * MAP_PRIVATE of the test's file (page cache pages, bit 61 set; every
 * page read so that it is mapped).
 */
int map_region(struct mig_world *w, int m, enum backing how)
{
	int ret;

	if (how == PRIVATE_FILE) {
		ret = cmd_all(w, m, CREW_MMAP_FILE, 0);
		return ret ? ret : verify(w, m);
	}
	ret = cmd_all(w, m, CREW_MMAP, 0);
	if (!ret && how != SMALL_PAGES)
		ret = cmd_all(w, m, CREW_MADVISE,
			      how == THP ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	if (!ret)
		ret = cmd_all(w, m, CREW_FILL, 0);
	/* Collapsible once the small pages are there. */
	if (!ret && how == SMALL_THEN_COLLAPSIBLE)
		ret = cmd_all(w, m, CREW_MADVISE, MADV_HUGEPAGE);
	return ret;
}

/* The file behind CREW_MMAP_FILE (shmem): every page tagged. */
int make_file(int nr_pages)
{
	struct page_tag tag = { .owner = FILE_OWNER };
	char *page = malloc(psize());
	int fd = memfd_create("avl_migrate", MFD_CLOEXEC);
	int i;

	if (fd < 0 || !page || ftruncate(fd, nr_pages * psize()))
		goto fail;
	for (i = 0; i < nr_pages; i++) {
		tag.index = i;
		tag_fill(page, psize(), &tag);
		if (pwrite(fd, page, psize(), i * psize()) !=
		    (ssize_t)psize())
			goto fail;
	}
	free(page);
	return fd;
fail:
	free(page);
	if (fd >= 0)
		close(fd);
	return -1;
}

void world_destroy(struct mig_world *w)
{
	crew_destroy(w->crew);
	knob_restore_all();
	if (w->reserved)
		munmap(w->reserved, w->reserved_len);
	if (w->memfd >= 0)
		close(w->memfd);
}

/* Pagemap entries of pages [first, last) of @pid, all present, into @e. */
int read_range(pid_t pid, const char *addr, int first, int last,
	       struct pagemap_entry *e)
{
	int i;

	for (i = first; i < last; i++)
		if (pagemap_get(pid, (unsigned long)addr + i * psize(),
				&e[i]) || !e[i].present || !e[i].pfn)
			return -1;
	return 0;
}

/* The same for pages [0, count). */
int read_entries(pid_t pid, const char *addr, int count,
		 struct pagemap_entry *e)
{
	return read_range(pid, addr, 0, count, e);
}

/* The same, present or not (after a pageout). */
int read_entries_any(pid_t pid, const char *addr, int count,
		     struct pagemap_entry *e)
{
	int i;

	for (i = 0; i < count; i++)
		if (pagemap_get(pid, (unsigned long)addr + i * psize(),
				&e[i]))
			return -1;
	return 0;
}

void addrs_of(const char *addr, int first, int last, void **pages)
{
	int i;

	for (i = first; i < last; i++)
		pages[i - first] = (void *)(addr + (size_t)i * psize());
}

/* @node for every page: for a range that must all be on one node. */
const int *all_on(int node)
{
	static int nodes[MAX_PAGES];
	int i;

	for (i = 0; i < MAX_PAGES; i++)
		nodes[i] = node;
	return nodes;
}

int other_node(const int *nodes, int node)
{
	return node == nodes[0] ? nodes[1] : nodes[0];
}

/*
 * move_pages of pages [first, last) of @pid, each to the node of @nodes it
 * is not on now (where it was, in @from; where it goes, in @to; both
 * indexed by page), with MPOL_MF_@flags. A page may be on either node
 * before: a fault allocates on the node of the CPU the process ran on, so
 * one process's pages, and a COW copy and its original, can be on
 * different nodes; each must move to the other. move_pages' return.
 */
long move_each(pid_t pid, const char *addr, int first, int last,
	       const int *nodes, int flags, int *from, int *to)
{
	static void *pages[MAX_PAGES];
	static int status[MAX_PAGES];
	int i, n = last - first;

	addrs_of(addr, first, last, pages);
	if (pages_node(pid, pages, n, status))
		return -errno;
	for (i = 0; i < n; i++) {
		from[first + i] = status[i];
		to[first + i] = other_node(nodes, status[i]);
	}
	return syscall(SYS_move_pages, pid, n, pages, to + first, status,
		       flags);
}

/* Node of page @i of @pid, or a negative errno. */
int node_of(pid_t pid, const char *addr, int i)
{
	void *page = (void *)(addr + (size_t)i * psize());
	int status;

	if (pages_node(pid, &page, 1, &status))
		return -errno;
	return status;
}
