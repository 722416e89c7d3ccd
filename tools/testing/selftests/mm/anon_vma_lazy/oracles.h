/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What userspace can observe of an anonymous page and its VMA, the
 * oracles of every anon_vma_lazy test:
 *
 *   page contents   every page a test writes carries a tag (who wrote it,
 *                   when, which page) and a pattern derived from it
 *   pagemap         present, swapped, PFN, bit 56 (mapped by exactly one
 *                   process), bit 61 (file page or shared anon)
 *   kpagecount, kpageflags   map count and KPF_ANON/KSM/THP of a PFN
 *   smaps           Rss, Pss, Shared/Private, Anonymous, KSM, Swap, Locked
 *   VMA layout      extents and protections (PROCMAP_QUERY or maps)
 *
 * A page that rmap no longer reaches shows up in these as a wrong map
 * count, a wrong exclusive bit, a wrong share, a stale PFN after
 * migration, a page not swapped out, or wrong contents.
 *
 * Parsers take a path or a stream so that they can be fed fixture files.
 * pagemap entries are read with vm_util's pagemap_get_entry(), which ends
 * the test as failed when the read itself fails: an open pagemap that
 * cannot be read is a failure, not a condition to recover from.
 */
#ifndef __AVL_ORACLES_H
#define __AVL_ORACLES_H

#include "util.h"

/* ---- tagged page contents ---------------------------------------------- */

/*
 * The tag says who wrote the page, at which step and for which page; the
 * rest of the page is a pattern derived from the tag, so a page that was
 * swapped with another, zeroed or half copied is caught, not only one
 * whose first bytes changed.
 */
struct page_tag {
	__u32 owner;		/* process index in the scenario */
	__u32 gen;		/* generation: fork depth or step number */
	__u64 index;		/* page index in its region */
	__u64 version;		/* bumped by every COW write */
};

void tag_fill(void *page, size_t page_size, const struct page_tag *tag);
/* 0 when @page holds exactly @expect; -1 otherwise, @found then decoded. */
int tag_verify(const void *page, size_t page_size,
	       const struct page_tag *expect, struct page_tag *found);
/* One line "owner=.. gen=.. index=.. version=.." for diagnostics. */
const char *tag_str(const struct page_tag *tag, char *buf, size_t len);

/*
 * The page at @addr of process @pid, read through /proc/pid/mem (which
 * faults it in there if needed): PAGE_TAGGED when it holds @expect,
 * PAGE_ZERO when zeroes, PAGE_OTHER otherwise; -errno when unreadable.
 */
enum { PAGE_ZERO, PAGE_TAGGED, PAGE_OTHER };
int page_seen_in(pid_t pid, unsigned long addr, const struct page_tag *expect);
/* Write @tag's contents there the same way (a COW write in that process). */
int page_write_in(pid_t pid, unsigned long addr, const struct page_tag *tag);

/* ---- pagemap ----------------------------------------------------------- */

struct pagemap_entry {
	bool present;
	bool swapped;
	bool exclusive;		/* bit 56: mapped by exactly one process */
	bool file;		/* bit 61: file page or shared anon */
	bool uffd_wp;		/* bit 57: userfaultfd write-protected */
	__u64 pfn;		/* 0 when absent or hidden (no CAP_SYS_ADMIN) */
};

/* An entry as pagemap_get_entry() returns it, decoded. */
void pagemap_decode(__u64 raw, struct pagemap_entry *entry);
/*
 * Entry of @addr in /proc/self/pagemap (pid 0) or /proc/@pid/pagemap;
 * -errno when the file cannot be opened (the process is gone).
 */
int pagemap_get(pid_t pid, unsigned long addr, struct pagemap_entry *entry);
/*
 * Whether this process can see PFNs: faults a private page and reads its
 * entry. 1 yes, 0 no (PFN 0: not root), negative on error.
 */
int pagemap_pfns_visible(void);

/* ---- /proc/kpagecount, /proc/kpageflags -------------------------------- */

/* The 64-bit word for @pfn in a kpage* file (a fixture in unit tests). */
int kpage_read(const char *path, __u64 pfn, __u64 *value);
/* The same from /proc/kpagecount and /proc/kpageflags, kept open. */
int kpagecount_get(__u64 pfn, __u64 *count);
int kpageflags_get(__u64 pfn, __u64 *flags);
/* Whether kpageflags word @flags has KPF_@bit (from kernel-page-flags.h). */
#define kpf_has(flags, bit)	(!!((flags) & (1ULL << (bit))))

/*
 * Some kernels (6.12.y stable with the folio->mapping rework, fixed later)
 * report KPF_KSM on every anonymous page. Probe once with a fresh private
 * page that KSM never saw: 1 when the kernel has that bug, 0 when not,
 * negative when it cannot tell (no PFNs).
 */
int kpageflags_ksm_on_plain_anon(void);

/*
 * Why the pagemap/kpage oracles cannot run here (not root, PFNs hidden,
 * no /proc/kpagecount), for a SKIP; NULL when they can.
 */
const char *page_oracles_missing(void);

/* ---- smaps ------------------------------------------------------------- */

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
 * Value in kB of @field ("Rss", "Pss", "Anonymous", "KSM", ...) of the VMA
 * containing @addr in an smaps file. -ENOENT when no VMA contains @addr or
 * the field is absent; -EINVAL on malformed input.
 */
int smaps_field_kb(const char *path, unsigned long addr, const char *field,
		   unsigned long *kb);
/* Same for the single block of an smaps_rollup file. */
int smaps_rollup_field_kb(const char *path, const char *field,
			  unsigned long *kb);
/*
 * Every VMA of an smaps file in one read (a scenario checks many regions
 * of many processes; smaps walks page tables on every read). Returns the
 * number of VMAs (may exceed @max; only @max are stored) or -EINVAL.
 */
int smaps_read_all(const char *path, struct smaps_vma *out, int max);
/*
 * The sum of @field over the VMAs of process @pid (0: self) that lie
 * inside [@lo, @hi), in kB. -errno or -EINVAL.
 */
int smaps_range_kb(pid_t pid, unsigned long lo, unsigned long hi,
		   size_t field_offset, unsigned long *kb);

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
/* "[+start,+end) perms" list relative to @base, for diagnostics. */
const char *vma_layout_str(const struct vma_extent *vmas, int count,
			   unsigned long base, char *buf, size_t len);

#endif /* __AVL_ORACLES_H */
