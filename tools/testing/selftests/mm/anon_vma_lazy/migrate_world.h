/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The world of the migrate and migrate_thp tests (migrate_world.c): a crew
 * (crew.h) on one region at the same address in each member; P0 maps it,
 * forks P1 and so on, and a test drives them with crew commands. The
 * set-up and the checks that use the harness are in migrate_checks.h.
 */
#ifndef __AVL_MIGRATE_WORLD_H
#define __AVL_MIGRATE_WORLD_H

#include <stdbool.h>
#include <sys/types.h>
#include <linux/kernel-page-flags.h>

#include "crew.h"
#include "env.h"
#include "khealth.h"

#define MAX_PAGES	512	/* a THP of 2 MB in 4 kB pages */

/* Contents of the file behind the MAP_PRIVATE mapping. */
#define FILE_OWNER	90
/* Page i of the region: tag { 0, i } when mapped, { OWN(m), i } COWed. */
#define OWN(m)		(100 + (m))

struct mig_world {
	struct crew *crew;
	char *reserved;
	size_t reserved_len;
	char *addr;		/* the region, at the same place in every member */
	int region;		/* the crew's region at addr */
	int nr_pages;
	int memfd;		/* the file of CREW_MMAP_FILE */
};

enum backing { SMALL_PAGES, THP, SMALL_THEN_COLLAPSIBLE, PRIVATE_FILE };

/* One crew command on pages [first, last) of member @m's region. */
int cmd(struct mig_world *w, int m, int op, int first, int last,
	long arg);

/* The whole region of member @m: one crew command over all its pages. */
int cmd_all(struct mig_world *w, int m, int op, long arg);

int verify(struct mig_world *w, int m);

/* COW-write pages [first, last) of member @m with its own contents. */
int cow_write(struct mig_world *w, int m, int first, int last);

/*
 * Map and fault the region of member @m: anonymous small pages, a THP
 * (MADV_HUGEPAGE first), small pages made collapsible afterwards, or
 * MAP_PRIVATE of the test's file (page cache pages, bit 61 set; every
 * page read so that it is mapped).
 */
int map_region(struct mig_world *w, int m, enum backing how);

/* The file behind CREW_MMAP_FILE (shmem): every page tagged. */
int make_file(int nr_pages);

void world_destroy(struct mig_world *w);

/* Pagemap entries of pages [first, last) of @pid, all present, into @e. */
int read_range(pid_t pid, const char *addr, int first, int last,
	       struct pagemap_entry *e);

/* The same for pages [0, count). */
int read_entries(pid_t pid, const char *addr, int count,
		 struct pagemap_entry *e);

/* The same, present or not (after a pageout). */
int read_entries_any(pid_t pid, const char *addr, int count,
		     struct pagemap_entry *e);

/* The addresses of pages [first, last) at @addr, into @pages. */
void addrs_of(const char *addr, int first, int last, void **pages);

/* @node for every page: for a range that must all be on one node. */
const int *all_on(int node);

int other_node(const int *nodes, int node);

/*
 * move_pages of pages [first, last) of @pid, each to the node of @nodes it
 * is not on now (where it was, in @from; where it goes, in @to; both
 * indexed by page), with MPOL_MF_@flags. A page may be on either node
 * before: a fault allocates on the node of the CPU the process ran on, so
 * one process's pages, and a COW copy and its original, can be on
 * different nodes; each must move to the other. move_pages' return.
 */
long move_each(pid_t pid, const char *addr, int first, int last,
	       const int *nodes, int flags, int *from, int *to);

/* Node of page @i of @pid, or a negative errno. */
int node_of(pid_t pid, const char *addr, int i);

#endif /* __AVL_MIGRATE_WORLD_H */
