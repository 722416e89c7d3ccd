/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The system around a test: knobs it changes (saved and restored, also
 * when the test is killed), KSM, NUMA nodes and move_pages(2), swap, slab
 * counts of the anon_vma caches, and what the kernel is (ANON_VMA_LAZY
 * present or not, its config).
 */
#ifndef __AVL_ENV_H
#define __AVL_ENV_H

#include <sys/mman.h>

#include "util.h"

/* MADV_COLLAPSE (Linux 6.1): older libc headers lack it. */
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

/* ---- knobs: save, change, restore (also after SIGKILL) ------------------ */

/*
 * knob_set() saves a sysfs/procfs knob's current value the first time it is
 * changed and writes the new one. knob_restore_all() puts every saved knob
 * back. A guard process, started on the first knob_set() in its own session,
 * holds the saved values too and restores them when the test process dies
 * without restoring (timeout SIGKILL, crash), so no run leaves ksmd running
 * or THP reconfigured.
 */
int knob_set(const char *path, const char *value);
int knob_restore_all(void);

/* ---- KSM --------------------------------------------------------------- */

#define KSM_SYSFS "/sys/kernel/mm/ksm"
#define THP_SYSFS "/sys/kernel/mm/transparent_hugepage"

bool ksm_available(void);
/* ksmd on (run=1), scanning fast. Saved through knob_set(). */
int ksm_start_fast(void);
/* /proc/@pid/ksm_merging_pages (0: self). */
int proc_ksm_merging_pages(pid_t pid, unsigned long *pages);

/* ---- NUMA and move_pages ----------------------------------------------- */

/*
 * Parse a node list such as "0-1,3". Returns the number of nodes (stored up
 * to @max) or -EINVAL.
 */
int parse_node_list(const char *list, int *nodes, int max);
/*
 * Nodes that have memory and that this process may allocate on (the
 * intersection of has_memory and Mems_allowed_list).
 */
int numa_usable_nodes(int *nodes, int max);
/*
 * Let process @pid (0: this one) run only on the CPUs of @node that it may
 * run on now, so that what it faults is allocated on @node. 0, -ENOENT
 * when the node has no such CPU, or -errno.
 */
int pin_to_node(pid_t pid, int node);
/*
 * move_pages(2) query for this process (pid 0) or @pid: node of each page
 * in @status (or -errno per page).
 */
int pages_node(pid_t pid, void **pages, int count, int *status);
/*
 * move_pages(2) of @count pages of this process (pid 0) or @pid to @node,
 * shared pages included (MPOL_MF_MOVE_ALL: needs CAP_SYS_NICE). Returns 0,
 * the number of pages not moved, or -errno; @status has each page's node
 * or -errno.
 */
int pages_move(pid_t pid, void **pages, int count, int node, int *status);
/*
 * The same with every page going to the one of @nodes[0], @nodes[1] it is
 * not on now (a fault allocates on the node of the CPU the process ran
 * on, so one range may be on both): where each went in @to. 0, the number
 * not moved, or -errno.
 */
int pages_move_away(pid_t pid, void **pages, int count, const int *nodes,
		    int *to);

/* Whether swap is on (for MADV_PAGEOUT walks). */
bool swap_enabled(void);

/* The counter @name of /proc/vmstat; -ENOENT when the kernel has none. */
int vmstat_get(const char *name, unsigned long *value);

/* ---- userfaultfd ------------------------------------------------------ */

/*
 * A userfaultfd (O_CLOEXEC | O_NONBLOCK) with the UFFD_FEATURE_* bits of
 * @features in *@fd: NULL, or why not for a SKIP (no CONFIG_USERFAULTFD,
 * not permitted, a feature the kernel lacks, named by @what). NULL with
 * *@fd < 0 (errno set) when userfaultfd() itself failed otherwise.
 */
const char *uffd_open(int *fd, __u64 features, const char *what);

/* ---- memory cgroups --------------------------------------------------- */

/*
 * A cgroup v2 child of the cgroup2 root, named for this process, with the
 * memory controller, at @path (@len bytes). NULL when created (stale ones
 * of dead processes are removed first), else why not, for a SKIP: no
 * cgroup2 mount, or no memory controller enabled for its children (the
 * suite does not change the root's cgroup.subtree_control).
 */
const char *memcg_create(char *path, size_t len);
/* Move process @pid into the cgroup at @path. 0 or -errno. */
int memcg_attach(const char *path, pid_t pid);
/*
 * memory.reclaim of @bytes: the kernel reclaims from the cgroup's LRUs as
 * under memory pressure (folio_referenced() ages, try_to_unmap() unmaps
 * through rmap). 0, or -EAGAIN when less was reclaimed, or -errno.
 */
int memcg_reclaim(const char *path, unsigned long bytes);
/* Remove the (empty) cgroup, within a deadline. 0 or -errno. */
int memcg_destroy(const char *path);

/* ---- slab -------------------------------------------------------------- */

struct slab_count {
	unsigned long active_objs;
	unsigned long num_objs;
	unsigned long objsize;
};

/* Row of @cache in a slabinfo file (/proc/slabinfo or a fixture). */
int slabinfo_get(const char *path, const char *cache, struct slab_count *c);
/*
 * Active objects of @cache from /proc/slabinfo after flushing its per-CPU
 * slabs (/sys/kernel/slab/@cache/shrink, where present): without that,
 * free objects cached per CPU count as active, hundreds after a burst of
 * frees, and a leak check would need a tolerance that hides real leaks.
 */
int slab_active_objects(const char *cache, unsigned long *active);
/*
 * 1 when the cache shares its slab with others (slab merging: the counts
 * then include foreign objects), 0 when it has its own, negative when it
 * cannot tell (no /sys/kernel/slab).
 */
int slab_cache_is_merged(const char *cache);

/*
 * The caches whose counts show anon_vma and VMA leaks, and a baseline of
 * them: the caches merged with others are left out (their counts include
 * foreign objects) and named in @note.
 */
enum {
	SLAB_ANON_VMA,
	SLAB_ANON_VMA_CHAIN,
	SLAB_VM_AREA_STRUCT,
	NR_VMA_CACHES,
};

extern const char * const vma_caches[NR_VMA_CACHES];

struct slab_baseline {
	bool counted[NR_VMA_CACHES];
	unsigned long objs[NR_VMA_CACHES];
};

/* Returns how many caches it counts (0: all merged). */
int slab_baseline_take(struct slab_baseline *b, char *note, size_t len);
/*
 * How many counted caches are still above baseline + @tolerance, after
 * waiting up to 3 s for RCU-freed objects; the counts go to @report.
 */
int slab_baseline_exceeded(const struct slab_baseline *b,
			   unsigned long tolerance, char *report, size_t len);

/* ---- ANON_VMA_LAZY detection ------------------------------------------- */

struct lazy_state {
	int config;		/* CONFIG_ANON_VMA_LAZY: 1 y, 0 absent, -1 unknown */
	char config_source[128];	/* "/proc/config.gz", "/boot/config-..." */
	char switch_path[512];	/* runtime switch found, or "" */
	int switch_value;	/* its value, -1 unknown */
};

/*
 * Look for CONFIG_ANON_VMA_LAZY in the kernel config and for a runtime
 * switch ("anon_vma" under /proc/sys/vm, /sys/kernel/mm, the command line).
 */
int lazy_detect(struct lazy_state *s);
/* One line "ANON_VMA_LAZY: ..." describing @s. */
const char *lazy_state_str(const struct lazy_state *s, char *buf, size_t len);
/*
 * Whether the kernel config has CONFIG_@name (@name without the prefix)
 * =y or =m (1), not (0), or no config is readable (<0).
 */
int kconfig_has(const char *name);
/*
 * Read a "CONFIG_x=y" style stream and report CONFIG_@name: 1 (=y or =m),
 * 0 (absent, "is not set", or any other value).
 */
int kconfig_stream_has(FILE *f, const char *name);

/*
 * Print the environment line once per binary (the harness forks every test
 * from one parent, so "once" is kept in a shared page set up at load).
 */
void report_environment_once(void);

#endif /* __AVL_ENV_H */
