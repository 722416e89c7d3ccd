// SPDX-License-Identifier: GPL-2.0
/*
 * The oracles of the anon_vma_lazy selftests: tagged page contents,
 * pagemap, kpagecount/kpageflags, smaps and VMA layout. See oracles.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/fs.h>
#include <linux/kernel-page-flags.h>

#include "../../kselftest.h"
#include "oracles.h"

#define TAG_MAGIC	0x616e6f6e766d6121ULL	/* "anonvma!" */

/* ---- tagged page contents ---------------------------------------------- */

struct tag_header {
	__u64 magic;
	struct page_tag tag;
};

static __u64 tag_seed(const struct page_tag *tag)
{
	return splitmix64(((__u64)tag->owner << 32 | tag->gen) ^
		     splitmix64(tag->index ^ splitmix64(tag->version)));
}

void tag_fill(void *page, size_t page_size, const struct page_tag *tag)
{
	struct tag_header *hdr = page;
	__u64 *word = page, seed = tag_seed(tag);
	size_t i;

	hdr->magic = TAG_MAGIC;
	hdr->tag = *tag;
	for (i = sizeof(*hdr) / sizeof(*word); i < page_size / sizeof(*word); i++)
		word[i] = splitmix64(seed + i);
}

int tag_verify(const void *page, size_t page_size,
	       const struct page_tag *expect, struct page_tag *found)
{
	const struct tag_header *hdr = page;
	const __u64 *word = page;
	__u64 seed = tag_seed(expect);
	size_t i;

	if (found) {
		if (hdr->magic == TAG_MAGIC)
			*found = hdr->tag;
		else
			memset(found, 0xff, sizeof(*found));
	}
	if (hdr->magic != TAG_MAGIC ||
	    memcmp(&hdr->tag, expect, sizeof(*expect)))
		return -1;
	for (i = sizeof(*hdr) / sizeof(*word); i < page_size / sizeof(*word); i++)
		if (word[i] != splitmix64(seed + i))
			return -1;
	return 0;
}

const char *tag_str(const struct page_tag *tag, char *buf, size_t len)
{
	snprintf(buf, len, "owner=%u gen=%u index=%llu version=%llu",
		 tag->owner, tag->gen, (unsigned long long)tag->index,
		 (unsigned long long)tag->version);
	return buf;
}

/* pread or pwrite of one page at @addr of @pid's /proc/pid/mem. */
static int proc_mem_page(pid_t pid, unsigned long addr, void *page, bool write)
{
	char path[64];
	ssize_t done;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	done = write ? pwrite(fd, page, psize(), (off_t)addr) :
		       pread(fd, page, psize(), (off_t)addr);
	close(fd);
	return done == (ssize_t)psize() ? 0 : done < 0 ? -errno : -EIO;
}

int page_seen_in(pid_t pid, unsigned long addr, const struct page_tag *expect)
{
	char *page = malloc(psize());
	int ret;
	size_t k;

	if (!page)
		return -ENOMEM;
	ret = proc_mem_page(pid, addr, page, false);
	if (!ret && tag_verify(page, psize(), expect, NULL)) {
		for (k = 0; k < psize() && !page[k]; k++)
			;
		ret = k == psize() ? PAGE_ZERO : PAGE_OTHER;
	} else if (!ret) {
		ret = PAGE_TAGGED;
	}
	free(page);
	return ret;
}

int page_write_in(pid_t pid, unsigned long addr, const struct page_tag *tag)
{
	char *page = malloc(psize());
	int ret;

	if (!page)
		return -ENOMEM;
	tag_fill(page, psize(), tag);
	ret = proc_mem_page(pid, addr, page, true);
	free(page);
	return ret;
}

/* ---- pagemap ----------------------------------------------------------- */

void pagemap_decode(__u64 raw, struct pagemap_entry *entry)
{
	entry->present = raw & PM_PRESENT;
	entry->swapped = raw & PM_SWAP;
	entry->exclusive = raw & PM_MMAP_EXCLUSIVE;
	entry->file = raw & PM_FILE;
	entry->uffd_wp = raw & PM_UFFD_WP;
	/* Bits 0-54 hold the swap type/offset for swapped entries. */
	entry->pfn = entry->present ? PAGEMAP_PFN(raw) : 0;
}

int pagemap_get(pid_t pid, unsigned long addr, struct pagemap_entry *entry)
{
	char path[64];
	int fd;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/pagemap");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	pagemap_decode(pagemap_get_entry(fd, (char *)addr), entry);
	close(fd);
	return 0;
}

/* A fresh private page that nothing but this process ever saw. */
static void *fresh_anon_page(void)
{
	char *p = mmap(NULL, psize(), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0x5a, psize());
	return p;
}

int pagemap_pfns_visible(void)
{
	struct pagemap_entry e;
	void *p = fresh_anon_page();
	int ret;

	if (!p)
		return -ENOMEM;
	ret = pagemap_get(0, (unsigned long)p, &e);
	munmap(p, psize());
	if (ret)
		return ret;
	if (!e.present)
		return -EIO;
	return e.pfn != 0;
}

/* ---- /proc/kpagecount, /proc/kpageflags -------------------------------- */

/* The word for @pfn: 0, -errno, or -ERANGE beyond the end of the file. */
static int kpage_pread(int fd, __u64 pfn, __u64 *value)
{
	ssize_t n;

	if (pfn > (__u64)LLONG_MAX / sizeof(*value))
		return -EINVAL;
	n = pread(fd, value, sizeof(*value), (off_t)(pfn * sizeof(*value)));
	if (n < 0)
		return -errno;
	return n == sizeof(*value) ? 0 : -ERANGE;
}

int kpage_read(const char *path, __u64 pfn, __u64 *value)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = kpage_pread(fd, pfn, value);
	close(fd);
	return ret;
}

/*
 * The kpage files are read for every page of every check: keep them open
 * (pread() has no file position to share with forked children).
 */
static int kpage_cached_read(int *fd, const char *path, __u64 pfn,
			     __u64 *value)
{
	if (*fd < 0) {
		*fd = open(path, O_RDONLY | O_CLOEXEC);
		if (*fd < 0)
			return -errno;
	}
	return kpage_pread(*fd, pfn, value);
}

int kpagecount_get(__u64 pfn, __u64 *count)
{
	static int fd = -1;

	return kpage_cached_read(&fd, "/proc/kpagecount", pfn, count);
}

int kpageflags_get(__u64 pfn, __u64 *flags)
{
	static int fd = -1;

	return kpage_cached_read(&fd, "/proc/kpageflags", pfn, flags);
}

int kpageflags_ksm_on_plain_anon(void)
{
	struct pagemap_entry e;
	__u64 flags;
	void *p = fresh_anon_page();
	int ret;

	if (!p)
		return -ENOMEM;
	ret = pagemap_get(0, (unsigned long)p, &e);
	if (!ret && !e.pfn)
		ret = -EPERM;
	if (!ret)
		ret = kpageflags_get(e.pfn, &flags);
	munmap(p, psize());
	if (ret)
		return ret;
	return kpf_has(flags, KPF_KSM);
}

const char *page_oracles_missing(void)
{
	if (geteuid())
		return "needs root: pagemap PFNs, kpagecount and the kernel log";
	if (pagemap_pfns_visible() != 1)
		return "pagemap does not show PFNs";
	if (access("/proc/kpagecount", R_OK) || access("/proc/kpageflags", R_OK))
		return "no /proc/kpagecount or /proc/kpageflags";
	return NULL;
}

/* ---- smaps and maps ---------------------------------------------------- */

static int parse_hex(const char *s, unsigned long *value, const char **end)
{
	unsigned long v;
	char *e;

	if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')) ||
	    s[1] == 'x')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &e, 16);
	if (errno)
		return -ERANGE;
	*value = v;
	*end = e;
	return 0;
}

int maps_parse_line(const char *line, struct vma_extent *vma)
{
	static const char perm_ok[4][3] = { "r-", "w-", "x-", "ps" };
	const char *p = line;
	unsigned long major, minor, inode;
	int i;

	if (parse_hex(p, &vma->start, &p) || *p++ != '-')
		return -EINVAL;
	if (parse_hex(p, &vma->end, &p) || *p++ != ' ')
		return -EINVAL;
	for (i = 0; i < 4; i++) {
		if (!p[i] || !strchr(perm_ok[i], p[i]))
			return -EINVAL;
		vma->perms[i] = p[i];
	}
	vma->perms[4] = '\0';
	p += 4;
	if (*p++ != ' ' || parse_hex(p, &vma->pgoff, &p) || *p++ != ' ')
		return -EINVAL;
	if (parse_hex(p, &major, &p) || *p++ != ':' ||
	    parse_hex(p, &minor, &p) || *p++ != ' ')
		return -EINVAL;
	if (parse_ulong(p, &inode, &p))
		return -EINVAL;
	if (*p && *p != ' ' && *p != '\n')
		return -EINVAL;
	if (vma->start >= vma->end)
		return -EINVAL;
	return 0;
}

/*
 * "Name:   123 kB" -> 123 when @line is field @field. 1 when it is another
 * field, 0 on a match, -EINVAL when it is @field but malformed.
 */
static int smaps_line_field(const char *line, const char *field,
			    unsigned long *kb)
{
	size_t flen = strlen(field);
	const char *end;

	if (strncmp(line, field, flen) || line[flen] != ':')
		return 1;
	if (parse_ulong(line + flen + 1, kb, &end))
		return -EINVAL;
	if (strncmp(end, " kB", 3) || !str_is_blank(end + 3))
		return -EINVAL;
	return 0;
}

/* "Name:" with a name of letters, digits and underscores. */
static bool is_field_line(const char *line)
{
	const char *p = line;

	if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
		return false;
	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
	       (*p >= '0' && *p <= '9') || *p == '_')
		p++;
	return *p == ':';
}

static int smaps_stream_field(FILE *f, bool rollup, unsigned long addr,
			      const char *field, unsigned long *kb)
{
	struct vma_extent vma;
	bool inside = false, seen_header = false;
	size_t cap = 0;
	char *line = NULL;
	int ret = -ENOENT;

	while (getline(&line, &cap, f) > 0) {
		if (!strchr(line, '\n')) {
			/* Truncated: a last line without its newline. */
			ret = -EINVAL;
			break;
		}
		if (!maps_parse_line(line, &vma)) {
			if (inside)
				break;	/* left the VMA without the field */
			seen_header = true;
			inside = rollup || (addr >= vma.start && addr < vma.end);
			continue;
		}
		/* A broken header must not pass for a field of its VMA. */
		if (!seen_header || !is_field_line(line)) {
			ret = -EINVAL;
			break;
		}
		if (!inside)
			continue;
		ret = smaps_line_field(line, field, kb);
		if (ret <= 0)
			break;
		ret = -ENOENT;
	}
	free(line);
	return ret;
}

int smaps_field_kb(const char *path, unsigned long addr, const char *field,
		   unsigned long *kb)
{
	FILE *f = fopen(path, "re");
	int ret;

	if (!f)
		return -errno;
	ret = smaps_stream_field(f, false, addr, field, kb);
	fclose(f);
	return ret;
}

int smaps_rollup_field_kb(const char *path, const char *field,
			  unsigned long *kb)
{
	FILE *f = fopen(path, "re");
	int ret;

	if (!f)
		return -errno;
	ret = smaps_stream_field(f, true, 0, field, kb);
	fclose(f);
	return ret;
}

/* Where each smaps field goes in struct smaps_vma. */
static const struct {
	const char *name;
	size_t offset;
} smaps_fields[] = {
	{ "Rss", offsetof(struct smaps_vma, rss) },
	{ "Pss", offsetof(struct smaps_vma, pss) },
	{ "Shared_Clean", offsetof(struct smaps_vma, shared_clean) },
	{ "Shared_Dirty", offsetof(struct smaps_vma, shared_dirty) },
	{ "Private_Clean", offsetof(struct smaps_vma, private_clean) },
	{ "Private_Dirty", offsetof(struct smaps_vma, private_dirty) },
	{ "Anonymous", offsetof(struct smaps_vma, anonymous) },
	{ "KSM", offsetof(struct smaps_vma, ksm) },
	{ "AnonHugePages", offsetof(struct smaps_vma, anon_huge) },
	{ "Swap", offsetof(struct smaps_vma, swap) },
	{ "Locked", offsetof(struct smaps_vma, locked) },
};

static int smaps_stream_all(FILE *f, struct smaps_vma *out, int max)
{
	struct smaps_vma *cur = NULL, scratch;
	struct vma_extent vma;
	unsigned long value;
	unsigned int k;
	size_t cap = 0;
	char *line = NULL;
	int ret, count = 0;

	while (getline(&line, &cap, f) > 0) {
		if (!strchr(line, '\n')) {
			count = -EINVAL;
			break;
		}
		if (!maps_parse_line(line, &vma)) {
			cur = count < max ? &out[count] : &scratch;
			memset(cur, 0, sizeof(*cur));
			cur->start = vma.start;
			cur->end = vma.end;
			memcpy(cur->perms, vma.perms, sizeof(cur->perms));
			count++;
			continue;
		}
		if (!cur || !is_field_line(line)) {
			count = -EINVAL;
			break;
		}
		for (k = 0; k < ARRAY_SIZE(smaps_fields); k++) {
			ret = smaps_line_field(line, smaps_fields[k].name, &value);
			if (ret < 0) {
				count = ret;
				goto out;
			}
			if (!ret) {
				*(unsigned long *)((char *)cur +
						   smaps_fields[k].offset) = value;
				break;
			}
		}
	}
out:
	free(line);
	return count;
}

int smaps_read_all(const char *path, struct smaps_vma *out, int max)
{
	FILE *f = fopen(path, "re");
	int ret;

	if (!f)
		return -errno;
	ret = smaps_stream_all(f, out, max);
	fclose(f);
	return ret;
}

int smaps_range_kb(pid_t pid, unsigned long lo, unsigned long hi,
		   size_t field_offset, unsigned long *kb)
{
	static struct smaps_vma vmas[512];
	char path[64];
	int n, i;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/smaps");
	n = smaps_read_all(path, vmas, ARRAY_SIZE(vmas));
	if (n < 0)
		return n;
	if (n > (int)ARRAY_SIZE(vmas))
		return -E2BIG;
	*kb = 0;
	for (i = 0; i < n; i++)
		if (vmas[i].start >= lo && vmas[i].end <= hi)
			*kb += *(unsigned long *)((char *)&vmas[i] + field_offset);
	return 0;
}

int maps_file_layout(const char *path, unsigned long lo, unsigned long hi,
		     struct vma_extent *out, int max)
{
	struct vma_extent vma;
	FILE *f = fopen(path, "re");
	size_t cap = 0;
	char *line = NULL;
	int count = 0;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		if (maps_parse_line(line, &vma)) {
			count = -EINVAL;
			break;
		}
		if (vma.end <= lo || vma.start >= hi)
			continue;
		if (count < max)
			out[count] = vma;
		count++;
	}
	free(line);
	fclose(f);
	return count;
}

#ifdef PROCMAP_QUERY
/* -ENOTTY when the kernel predates PROCMAP_QUERY (6.11). */
static int procmap_query_layout(pid_t pid, unsigned long lo, unsigned long hi,
				struct vma_extent *out, int max)
{
	struct procmap_query q;
	unsigned long addr = lo;
	int fd, count = 0;
	char path[64];

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/maps");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (addr < hi) {
		memset(&q, 0, sizeof(q));
		q.size = sizeof(q);
		q.query_addr = addr;
		q.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA;
		if (ioctl(fd, PROCMAP_QUERY, &q)) {
			if (errno != ENOENT)
				count = -errno;
			break;
		}
		if (q.vma_start >= hi)
			break;
		if (count < max) {
			struct vma_extent *v = &out[count];

			v->start = q.vma_start;
			v->end = q.vma_end;
			v->pgoff = q.vma_offset;
			v->perms[0] = q.vma_flags & PROCMAP_QUERY_VMA_READABLE ? 'r' : '-';
			v->perms[1] = q.vma_flags & PROCMAP_QUERY_VMA_WRITABLE ? 'w' : '-';
			v->perms[2] = q.vma_flags & PROCMAP_QUERY_VMA_EXECUTABLE ? 'x' : '-';
			v->perms[3] = q.vma_flags & PROCMAP_QUERY_VMA_SHARED ? 's' : 'p';
			v->perms[4] = '\0';
		}
		count++;
		addr = q.vma_end;
	}
	close(fd);
	return count;
}
#endif

int vma_layout(pid_t pid, unsigned long lo, unsigned long hi,
	       struct vma_extent *out, int max)
{
	char path[64];

#ifdef PROCMAP_QUERY
	int ret = procmap_query_layout(pid, lo, hi, out, max);

	if (ret != -ENOTTY && ret != -EINVAL)
		return ret;
#endif
	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/maps");
	return maps_file_layout(path, lo, hi, out, max);
}

const char *vma_layout_str(const struct vma_extent *vmas, int count,
			   unsigned long base, char *buf, size_t len)
{
	size_t used = 0;
	int i, n;

	buf[0] = '\0';
	for (i = 0; i < count && used < len; i++) {
		n = snprintf(buf + used, len - used, "%s[+%#lx,+%#lx) %s",
			     i ? " " : "", vmas[i].start - base,
			     vmas[i].end - base, vmas[i].perms);
		if (n < 0)
			break;
		used += n;
	}
	return buf;
}

