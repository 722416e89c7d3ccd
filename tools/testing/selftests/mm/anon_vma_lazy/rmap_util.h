/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the anon_vma_lazy selftests: oracles that observe anonymous
 * rmap from userspace (page contents, pagemap, kpagecount/kpageflags, smaps,
 * VMA layout, KSM, move_pages, slab counts, kernel log) and process-tree
 * plumbing.
 *
 * Every helper returns an error (negative errno or -1) and never exits or
 * reports a test result: only test bodies decide PASS, FAIL or SKIP. Parsers
 * take a path or a buffer so that they can be fed fixture files.
 */
#ifndef __RMAP_UTIL_H
#define __RMAP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <linux/types.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(arr) (sizeof(arr) / sizeof((arr)[0]))
#endif
#ifndef BIT_ULL
#define BIT_ULL(nr) (1ULL << (nr))
#endif

/* ---- tagged page contents ---------------------------------------------- */

/*
 * Every page a test creates carries a tag that says who wrote it, at which
 * step and for which page; the rest of the page is a pattern derived from the
 * tag, so a page that was swapped with another, zeroed or half copied is
 * caught, not only one whose first bytes changed.
 */
struct page_tag {
	__u32 owner;		/* process index in the scenario */
	__u32 gen;		/* generation: fork depth or step number */
	__u64 index;		/* page index in its region */
	__u64 version;	/* bumped by every COW write */
};

void tag_fill(void *page, size_t page_size, const struct page_tag *tag);
/* 0 when @page holds exactly @expect; -1 otherwise, @found then decoded. */
int tag_verify(const void *page, size_t page_size,
	       const struct page_tag *expect, struct page_tag *found);
/* One line "owner=.. gen=.. index=.. version=.." for diagnostics. */
const char *tag_str(const struct page_tag *tag, char *buf, size_t len);

/* ---- pagemap ----------------------------------------------------------- */

#define PM_PFN_MASK		(BIT_ULL(55) - 1)
#define PM_SOFT_DIRTY		BIT_ULL(55)
#define PM_MMAP_EXCLUSIVE	BIT_ULL(56)
#define PM_UFFD_WP		BIT_ULL(57)
#define PM_FILE			BIT_ULL(61)
#define PM_SWAP			BIT_ULL(62)
#define PM_PRESENT		BIT_ULL(63)

struct pagemap_entry {
	bool present;
	bool swapped;
	bool exclusive;		/* bit 56: mapped by exactly one process */
	bool file;		/* bit 61: file page or shared anon */
	__u64 pfn;		/* 0 when absent or hidden (no CAP_SYS_ADMIN) */
};

void pagemap_decode(__u64 raw, struct pagemap_entry *entry);
/* Raw 64-bit entry of @addr from an open pagemap file. */
int pagemap_read_raw(int fd, unsigned long addr, __u64 *raw);
/* Entry of @addr in /proc/self/pagemap (pid 0) or /proc/@pid/pagemap. */
int pagemap_get(pid_t pid, unsigned long addr, struct pagemap_entry *entry);
/*
 * Whether this process can see PFNs: faults a private page and reads its
 * entry. 1 yes, 0 no (PFN 0: not root), negative on error.
 */
int pagemap_pfns_visible(void);

/* ---- /proc/kpagecount, /proc/kpageflags -------------------------------- */

/* From include/uapi/linux/kernel-page-flags.h, repeated for old headers. */
#define KPF_BIT_ANON		12
#define KPF_BIT_SWAPCACHE	13
#define KPF_BIT_KSM		21
#define KPF_BIT_THP		22

/* The 64-bit word for @pfn in a kpage* file (a fixture in unit tests). */
int kpage_read(const char *path, __u64 pfn, __u64 *value);
int kpagecount_get(__u64 pfn, __u64 *count);
int kpageflags_get(__u64 pfn, __u64 *flags);

/*
 * Some kernels (6.12.y stable with the folio->mapping rework, fixed later)
 * report KPF_KSM on every anonymous page. Probe once with a fresh private
 * page that KSM never saw: 1 when the kernel has that bug, 0 when not,
 * negative when it cannot tell (no PFNs).
 */
int kpageflags_ksm_on_plain_anon(void);

/* ---- smaps ------------------------------------------------------------- */

/*
 * Value in kB of @field ("Rss", "Pss", "Anonymous", "KSM", ...) of the VMA
 * containing @addr in an smaps file. -ENOENT when no VMA contains @addr or
 * the field is absent; -EINVAL on malformed input.
 */
int smaps_field_kb(const char *path, unsigned long addr, const char *field,
		   unsigned long *kb);
/* The fields of one VMA of an smaps file, in kB (0 when absent). */
struct smaps_vma {
	unsigned long start;
	unsigned long end;
	char perms[5];
	unsigned long rss;
	unsigned long pss;
	unsigned long shared_clean;
	unsigned long shared_dirty;
	unsigned long private_clean;
	unsigned long private_dirty;
	unsigned long anonymous;
	unsigned long ksm;
	unsigned long anon_huge;
	unsigned long swap;
	unsigned long locked;
};

/*
 * Every VMA of an smaps file in one read (a scenario checks many regions
 * of many processes; smaps walks page tables on every read). Returns the
 * number of VMAs (may exceed @max; only @max are stored) or -EINVAL.
 */
int smaps_read_all(const char *path, struct smaps_vma *out, int max);
/* Same for the single block of an smaps_rollup file. */
int smaps_rollup_field_kb(const char *path, const char *field,
			  unsigned long *kb);

/* ---- VMA layout -------------------------------------------------------- */

struct vma_extent {
	unsigned long start;
	unsigned long end;
	char perms[5];		/* "rw-p" */
	unsigned long pgoff;	/* in bytes, as in maps */
};

/* Parse one /proc/pid/maps line. 0 or -EINVAL. */
int maps_parse_line(const char *line, struct vma_extent *vma);
/*
 * VMAs of @path (a maps file) that overlap [@lo, @hi), with their full
 * extents (not clipped to the range). Returns the count (may exceed @max;
 * only @max are stored) or a negative error.
 */
int maps_file_layout(const char *path, unsigned long lo, unsigned long hi,
		     struct vma_extent *out, int max);
/*
 * Same for a live process (0: self), via the PROCMAP_QUERY ioctl when the
 * kernel has it and /proc/pid/maps otherwise.
 */
int vma_layout(pid_t pid, unsigned long lo, unsigned long hi,
	       struct vma_extent *out, int max);
/* "[start,end) perms" list for diagnostics. */
const char *vma_layout_str(const struct vma_extent *vmas, int count,
			   unsigned long base, char *buf, size_t len);

/* ---- sysfs / procfs scalars -------------------------------------------- */

/* A file holding one unsigned decimal number (and maybe a newline). */
int read_ulong(const char *path, unsigned long *value);
int write_ulong(const char *path, unsigned long value);
/*
 * Small file into @buf, NUL-terminated; returns its length (at most
 * @len - 1: longer files are cut) or -errno. write_text() does not
 * truncate: it is meant for sysfs and procfs knobs.
 */
ssize_t read_text(const char *path, char *buf, size_t len);
int write_text(const char *path, const char *text);

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

bool ksm_available(void);
/* ksmd on (run=1), scanning fast. Saved through knob_set(). */
int ksm_start_fast(void);
/*
 * Wait until ksmd has completed @scans more full scans after the call
 * (merging needs two: one to checksum, one to merge), within @timeout_ms.
 * -ETIMEDOUT when the deadline passes.
 */
int ksm_wait_full_scans(int scans, int timeout_ms);
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

/* ---- kernel health ----------------------------------------------------- */

struct khealth {
	unsigned long taint;
	char marker[96];
	bool have_kmsg;
};

/*
 * Record taint and write a unique marker for @what to /dev/kmsg. Without
 * root (no /dev/kmsg), only taint is tracked.
 */
int khealth_begin(struct khealth *h, const char *what);
/*
 * 0 when the taint did not change and no kernel-log line after the marker
 * looks like a bug report; 1 otherwise, with the offending lines (and the
 * taint change) in @report; negative on error.
 */
int khealth_check(struct khealth *h, char *report, size_t len);
/*
 * Scan /dev/kmsg-format records ("pri,seq,ts,flags;text") from @f, starting
 * after the record whose text equals @marker (from the first record when
 * @marker is NULL). Offending lines go to @report. Returns the number of
 * offending lines, -ENOENT when @marker never appears.
 */
int klog_scan(FILE *f, const char *marker, char *report, size_t len);
/* Whether one kernel-log line looks like a bug report. */
bool klog_line_is_bad(const char *text);

/* ---- process trees ----------------------------------------------------- */

/* A zeroed MAP_SHARED anonymous area that survives fork, for results. */
void *shared_area(size_t size);
/*
 * Wait for child @pid with a deadline; on timeout kill it (SIGKILL) and
 * reap it. Returns 0 with the wait status in @status, -ETIMEDOUT (then
 * reaped), or -errno (e.g. -ECHILD: not our child).
 */
int reap_with_deadline(pid_t pid, int timeout_ms, int *status);

/*
 * A crew: a controller (the test body) and up to CREW_MAX member processes
 * forked from it or from each other (fork chains and trees). The controller
 * sends one-byte commands to a member through the member's pipe; members
 * answer with a status. Members never decide the test result: they report,
 * the controller asserts. Every wait has a deadline, a member whose
 * controller is gone exits, and the controller is a child subreaper so it
 * reaps every member whatever the exit order of the tree.
 */
#define CREW_MAX 64

/* What every member and the controller see alike. */
struct crew_shared {
	pid_t pids[CREW_MAX];
	int status[CREW_MAX];
};

/* Per process (each member has its own copy of the pipe ends). */
struct crew {
	int size;
	int cmd[CREW_MAX][2];
	int reply[2];
	unsigned long long pending;	/* controller: answers read early */
	struct crew_shared *shared;
};

/* Controller: a crew of @size members, or NULL. */
struct crew *crew_create(int size);
/*
 * fork() member @k from the calling process (controller or member).
 * Returns the pid in the caller, 0 in the new member, -errno on failure.
 */
pid_t crew_fork(struct crew *c, int k);
/* Member: next command, -ETIMEDOUT, or -EPIPE when the controller left. */
int crew_next(struct crew *c, int k, int timeout_ms);
/* Member: answer the last command with @status. */
int crew_reply(struct crew *c, int k, int status);
/* Controller: command @cmd to member @k. */
int crew_send(struct crew *c, int k, char cmd);
/* Controller: wait for member @k's answer, returned in @status. */
int crew_collect(struct crew *c, int k, int timeout_ms, int *status);
/* Controller: send @cmd to member @k and return its answer, or -errno. */
int crew_ask(struct crew *c, int k, char cmd, int timeout_ms);
/* Controller: send @cmd to every member in @alive and collect all answers;
 * returns the number of members whose status was not 0, or -errno.
 */
int crew_broadcast(struct crew *c, const bool *alive, char cmd,
		   int timeout_ms);
/*
 * Controller: wait until member @k has exited (its mm is gone: zombie or
 * reaped), with a deadline.
 */
int crew_wait_exited(struct crew *c, int k, int timeout_ms);
/* Controller: SIGKILL every member, reap all children, free the crew. */
void crew_destroy(struct crew *c);

/* ---- scenarios: process trees running programs against a model -------- */

/*
 * A scenario is a tree of member processes (a crew) where each member runs
 * a small program of memory operations on regions at fixed addresses:
 *
 *   mmap0            create and fault region 0 (it starts lazy here)
 *   write0:2-6       COW-write a pseudo-random half of pages 2..5 of it
 *   fork1            fork member 1 (the tree is given by the fork steps)
 *   ro0:4-8, rw0:4-8 mprotect read-only / back to read-write (splits)
 *   unmap0:0-4       munmap
 *   dontneed0, free0, cold0   MADV_DONTNEED, MADV_FREE, MADV_COLD
 *   mlock0, munlock0          mlock / munlock (mlock of a writable range
 *                             faults it in for write: it breaks COW)
 *   dontfork0:0-2, wipeonfork0:2-4   MADV_DONTFORK / MADV_WIPEONFORK
 *   move0:4-8>3      mremap pages 4..7 of region 0 to the same pages of
 *                    region 3 (MREMAP_FIXED: whatever was there goes)
 *   dontunmap0:0-12>3   the same with MREMAP_DONTUNMAP: the source range
 *                    stays mapped, empty
 *   grow0:8-12       mremap the VMA that ends at page 8 to end at 12, in
 *                    place (pages 8..11 must be unmapped)
 *   pageout0:0-6     MADV_PAGEOUT; every page the member maps alone must
 *                    then be swapped out, or the step fails (needs swap,
 *                    and the scenario pinned to one CPU: pin_to_this_cpu)
 *
 * (":a-b" is pages a..b-1; without it, the whole region; a move's source
 * must lie in one VMA.) Programs are
 * written "0: mmap0 fork1 ro0:4-8 | 1: write0 fork2 | 2: write0". Use
 * "free" only on copies the member maps alone (MADV_FREE leaves shared
 * ones alone), and "mlock" and "dontneed" not on the same pages (mlock
 * populates never-written pages; MADV_DONTNEED refuses mlocked ones).
 *
 * Before the first fork the engine runs the same programs on a model and so
 * knows, for every member, page and moment after setup, which copy of the
 * page the member maps (every write makes a new uniquely tagged copy), and
 * which VMAs it must have. Two members share a physical page exactly when
 * they map the same copy. sc_checkpoint() then checks every live member:
 * contents (by the member itself), pagemap presence, PFN identity among
 * the mappers of each copy, the exclusive bit, kpagecount, KPF_ANON and
 * KPF_KSM, smaps Rss/Anonymous/Shared/Private/Locked and Pss summed over
 * members, and the VMA layout of every region. The walks make the kernel
 * walk rmap and check that it reached every mapper.
 */
#define SC_MAX_MEMBERS	40
#define SC_MAX_REGIONS	80
#define SC_REGION_PAGES	12
#define SC_MAX_STEPS	(SC_MAX_MEMBERS + 24)

enum sc_page_state {
	SC_UNMAPPED,		/* no VMA there */
	SC_ZERO,		/* mapped, never written: reads zero */
	SC_TAGGED,		/* holds a tagged copy */
	SC_LAZYFREE,		/* MADV_FREE'd: the copy or zero */
};

struct sc_page {
	unsigned char state;
	bool readonly;
	bool locked;
	bool dontfork;
	bool wipeonfork;
	bool unaccounted;	/* no VM_ACCOUNT: made read-only without anon_vma */
	bool vma_start;		/* a VMA starts at this page */
	__u32 av;		/* which anon_vma its VMA has (0: none) */
	__u32 pgoff;		/* vm_pgoff of its VMA + offset: mremap keeps it */
	struct page_tag tag;	/* the contents */
	__u32 copy;		/* same tag, new page: mlock broke COW */
};

struct sc_view {
	struct sc_page page[SC_MAX_REGIONS][SC_REGION_PAGES];
};

enum sc_op {
	SC_MMAP, SC_WRITE, SC_FORK, SC_RO, SC_RW, SC_UNMAP, SC_DONTNEED,
	SC_FREE, SC_COLD, SC_MLOCK, SC_MUNLOCK, SC_DONTFORK, SC_WIPEONFORK,
	SC_MOVE, SC_DONTUNMAP, SC_GROW, SC_PAGEOUT,
};

struct sc_step {
	enum sc_op op;
	int region;
	int first, last;	/* pages [first, last) */
	int child;		/* SC_FORK: the new member; SC_MOVE and
				 * SC_DONTUNMAP: the destination region
				 */
};

struct scenario {
	int nr_members;
	int parent[SC_MAX_MEMBERS];
	int depth[SC_MAX_MEMBERS];
	int nr_steps[SC_MAX_MEMBERS];
	struct sc_step steps[SC_MAX_MEMBERS][SC_MAX_STEPS];
	bool alive[SC_MAX_MEMBERS];
	unsigned long seed;	/* which pages a write step writes */
	char *base;
	size_t stride;
	size_t reserved;
	struct crew *crew;
	bool ksm_flag_reliable;
	int log_budget;
	/*
	 * With mremap steps one copy may be mapped at page i of different
	 * regions in different members (moves keep the page index): the
	 * checks then look across the regions the programs use.
	 */
	bool moves;
	int nr_used;
	int used[SC_MAX_REGIONS];
	/* What every member maps once its program ran. */
	struct sc_view expect[SC_MAX_MEMBERS];
};

/* A zeroed scenario, or NULL. */
struct scenario *sc_create(unsigned long seed);
/*
 * The model, for program generators: what step @s of member @m does to
 * the view @v of that member, and the view a child starts from at fork.
 */
void sc_model_step(struct scenario *sc, int m, int s, struct sc_view *v);
void sc_model_fork(const struct sc_view *parent, struct sc_view *child);
/* Append one step to member @m's program (-EINVAL when it does not fit). */
int sc_add_step(struct scenario *sc, int m, enum sc_op op, int region,
		int first, int last, int child);
/* Append the steps of a program text (see above); -EINVAL on a bad one. */
int sc_parse(struct scenario *sc, const char *text);
/*
 * Derive the tree from the fork steps, run the model, reserve the address
 * range and create the crew. Call once, after all steps are added.
 */
int sc_finish(struct scenario *sc);
/* Fork member 0 and wait until every member ran its program. */
int sc_start(struct scenario *sc, char *err, size_t len);
/*
 * Every oracle on every live member. Returns the number of problems found;
 * the first few are printed as "# @when: ..." lines.
 */
int sc_checkpoint(struct scenario *sc, const char *when);
/*
 * Migrate every page member @m maps to the other of @nodes (shared pages
 * included); every member mapping the same copy must see the new PFN.
 * Returns the number of problems.
 */
int sc_migrate_walk(struct scenario *sc, int m, const int *nodes,
		    const char *when);
/*
 * MADV_PAGEOUT in member @m: its exclusive, unlocked copies must be
 * swapped out (reclaim unmaps them through rmap), shared ones stay.
 * Returns the number of problems.
 */
int sc_pageout_walk(struct scenario *sc, int m, const char *when);
/* Which walk sc_walk_all() makes. */
enum sc_walk { SC_NO_WALK, SC_MIGRATE_WALK, SC_PAGEOUT_WALK };
/*
 * @walk in every live member (@nodes: the two nodes of a migration walk),
 * then a checkpoint. Returns the number of problems (0 for SC_NO_WALK).
 */
int sc_walk_all(struct scenario *sc, enum sc_walk walk, const int *nodes,
		const char *when);
/*
 * A scenario from a program text, finished (sc_parse() and sc_finish()),
 * or NULL with the reason in @err.
 */
struct scenario *sc_from_program(const char *program, char *err, size_t len);
/*
 * Start @sc, check it, then make all members but the last exit in
 * @exit_order, checking after each; @walk (with @nodes) before every
 * check. Returns the number of problems found (printed as they come), or
 * -1 when the scenario could not be built (the reason in @err).
 */
int sc_run(struct scenario *sc, const int *exit_order, enum sc_walk walk,
	   const int *nodes, char *err, size_t len);
/* Make member @m exit and wait until its mm is gone. */
int sc_exit_member(struct scenario *sc, int m);
/* Kill and reap every member, release everything. */
void sc_destroy(struct scenario *sc);
/* Whether swap is on (for sc_pageout_walk). */
bool swap_enabled(void);

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
 * Why the pagemap/kpage oracles cannot run here (not root, PFNs hidden,
 * no /proc/kpagecount), for a SKIP; NULL when they can.
 */
const char *page_oracles_missing(void);

/*
 * Print the environment line once per binary (the harness forks every test
 * from one parent, so "once" is kept in a shared page set up at load).
 */
void report_environment_once(void);

/* ---- seeds ------------------------------------------------------------- */

/*
 * The random seed for this binary: $AVL_SEED when set, otherwise derived
 * from the time. Printed with the way to replay it.
 */
unsigned long test_seed(void);

/* ---- misc -------------------------------------------------------------- */

size_t page_size(void);
/*
 * Reserve @size bytes of address space as PROT_NONE, so a test places its
 * VMAs inside at fixed offsets with MAP_FIXED: layouts are then
 * deterministic and no neighbour from the harness merges in.
 */
void *reserve_range(size_t size);
/*
 * Run this process (and what it forks from now on) on the CPU it is on.
 * A new folio waits in a per-CPU batch before it reaches the LRU, and
 * MADV_PAGEOUT drains only the local CPU's batch: pageout tests pin their
 * processes so that every folio they fault is drained by their own pageout.
 */
int pin_to_this_cpu(void);
/* Milliseconds on CLOCK_MONOTONIC. */
long long now_ms(void);

#endif /* __RMAP_UTIL_H */
