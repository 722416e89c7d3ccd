// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers for the anon_vma_lazy selftests. See rmap_util.h.
 */
#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/fs.h>

#include "rmap_util.h"

#define TAG_MAGIC	0x616e6f6e766d6121ULL	/* "anonvma!" */

size_t page_size(void)
{
	static size_t size;

	if (!size)
		size = (size_t)sysconf(_SC_PAGESIZE);
	return size;
}

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

void *reserve_range(size_t size)
{
	void *p = mmap(NULL, size, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* ---- tagged page contents ---------------------------------------------- */

struct tag_header {
	__u64 magic;
	struct page_tag tag;
};

/* splitmix64: a cheap, well-mixed word sequence seeded by the tag. */
static __u64 mix64(__u64 x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static __u64 tag_seed(const struct page_tag *tag)
{
	return mix64(((__u64)tag->owner << 32 | tag->gen) ^
		     mix64(tag->index ^ mix64(tag->version)));
}

void tag_fill(void *page, size_t page_size, const struct page_tag *tag)
{
	struct tag_header *hdr = page;
	__u64 *word = page, seed = tag_seed(tag);
	size_t i;

	hdr->magic = TAG_MAGIC;
	hdr->tag = *tag;
	for (i = sizeof(*hdr) / sizeof(*word); i < page_size / sizeof(*word); i++)
		word[i] = mix64(seed + i);
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
		if (word[i] != mix64(seed + i))
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

/* ---- pagemap ----------------------------------------------------------- */

void pagemap_decode(__u64 raw, struct pagemap_entry *entry)
{
	entry->present = raw & PM_PRESENT;
	entry->swapped = raw & PM_SWAP;
	entry->exclusive = raw & PM_MMAP_EXCLUSIVE;
	entry->file = raw & PM_FILE;
	/* Bits 0-54 hold the swap type/offset for swapped entries. */
	entry->pfn = entry->present ? raw & PM_PFN_MASK : 0;
}

int pagemap_read_raw(int fd, unsigned long addr, __u64 *raw)
{
	off_t off = (off_t)(addr / page_size()) * sizeof(*raw);
	ssize_t n = pread(fd, raw, sizeof(*raw), off);

	if (n < 0)
		return -errno;
	return n == sizeof(*raw) ? 0 : -EIO;
}

static int open_proc(pid_t pid, const char *file, int flags)
{
	char path[64];

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	else
		snprintf(path, sizeof(path), "/proc/self/%s", file);
	return open(path, flags | O_CLOEXEC);
}

int pagemap_get(pid_t pid, unsigned long addr, struct pagemap_entry *entry)
{
	__u64 raw;
	int fd, ret;

	fd = open_proc(pid, "pagemap", O_RDONLY);
	if (fd < 0)
		return -errno;
	ret = pagemap_read_raw(fd, addr, &raw);
	close(fd);
	if (!ret)
		pagemap_decode(raw, entry);
	return ret;
}

/* A fresh private page that nothing but this process ever saw. */
static void *fresh_anon_page(void)
{
	char *p = mmap(NULL, page_size(), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0x5a, page_size());
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
	munmap(p, page_size());
	if (ret)
		return ret;
	if (!e.present)
		return -EIO;
	return e.pfn != 0;
}

/* ---- /proc/kpagecount, /proc/kpageflags -------------------------------- */

int kpage_read(const char *path, __u64 pfn, __u64 *value)
{
	ssize_t n;
	int fd;

	if (pfn > (__u64)LLONG_MAX / sizeof(*value))
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = pread(fd, value, sizeof(*value), (off_t)(pfn * sizeof(*value)));
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	return n == sizeof(*value) ? 0 : -ERANGE;
}

/*
 * The kpage files are read for every page of every check: keep them open
 * (pread() has no file position to share with forked children).
 */
static int kpage_cached_read(int *fd, const char *path, __u64 pfn,
			     __u64 *value)
{
	ssize_t n;

	if (pfn > (__u64)LLONG_MAX / sizeof(*value))
		return -EINVAL;
	if (*fd < 0) {
		*fd = open(path, O_RDONLY | O_CLOEXEC);
		if (*fd < 0)
			return -errno;
	}
	n = pread(*fd, value, sizeof(*value), (off_t)(pfn * sizeof(*value)));
	if (n < 0)
		return -errno;
	return n == sizeof(*value) ? 0 : -ERANGE;
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
	munmap(p, page_size());
	if (ret)
		return ret;
	return !!(flags & (1ULL << KPF_BIT_KSM));
}

/* ---- numbers ----------------------------------------------------------- */

/*
 * Strict unsigned decimal: digits only, then optional blanks or a newline.
 * @end receives the first unparsed character.
 */
static int parse_ulong(const char *s, unsigned long *value, const char **end)
{
	unsigned long v;
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &e, 10);
	if (errno)
		return -ERANGE;
	*value = v;
	if (end)
		*end = e;
	return 0;
}

static bool only_space(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n')
			return false;
	return true;
}

ssize_t read_text(const char *path, char *buf, size_t len)
{
	ssize_t n, total = 0;
	int fd;

	if (!len)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((size_t)total < len - 1) {
		n = read(fd, buf + total, len - 1 - total);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			total = -errno;
			break;
		}
		if (!n)
			break;
		total += n;
	}
	close(fd);
	if (total >= 0)
		buf[total] = '\0';
	return total;
}

int write_text(const char *path, const char *text)
{
	size_t len = strlen(text);
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	return (size_t)n == len ? 0 : -EIO;
}

int read_ulong(const char *path, unsigned long *value)
{
	const char *end;
	char buf[64];
	ssize_t n;
	int ret;

	n = read_text(path, buf, sizeof(buf));
	if (n < 0)
		return n;
	if ((size_t)n == sizeof(buf) - 1)
		return -EINVAL;
	ret = parse_ulong(buf, value, &end);
	if (ret)
		return ret;
	return only_space(end) ? 0 : -EINVAL;
}

int write_ulong(const char *path, unsigned long value)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lu", value);
	return write_text(path, buf);
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
	if (strncmp(end, " kB", 3) || !only_space(end + 3))
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

	fd = open_proc(pid, "maps", O_RDONLY);
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

/* ---- knobs ------------------------------------------------------------- */

#define MAX_KNOBS 48

struct saved_knob {
	char path[256];
	char value[64];
};

static struct saved_knob saved_knobs[MAX_KNOBS];
static int nr_saved_knobs;
static int guard_fd = -1;
static pid_t guard_pid;

/*
 * "always [madvise] never" -> "madvise"; anything else: first line as is.
 */
static void knob_current_value(const char *text, char *value, size_t len)
{
	const char *open = strchr(text, '['), *close;

	if (open) {
		close = strchr(open, ']');
		if (close && (size_t)(close - open) <= len) {
			memcpy(value, open + 1, close - open - 1);
			value[close - open - 1] = '\0';
			return;
		}
	}
	snprintf(value, len, "%.*s", (int)strcspn(text, "\n"), text);
}

static void guard_restore(struct saved_knob *knobs, int count)
{
	while (count-- > 0)
		write_text(knobs[count].path, knobs[count].value);
}

/*
 * The guard: in its own session (the harness kills the test's process group
 * on timeout), it reads "S<path>\t<value>\n" records and "Q\n"; on "Q" the
 * test restored the knobs itself, on EOF without "Q" the test died and the
 * guard restores them.
 */
static void guard_main(int fd)
{
	struct saved_knob knobs[MAX_KNOBS];
	char buf[256], *tab, *nl;
	size_t used = 0;
	int count = 0;
	ssize_t n;

	setsid();
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	for (;;) {
		n = read(fd, buf + used, sizeof(buf) - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += n;
		buf[used] = '\0';
		while ((nl = strchr(buf, '\n'))) {
			*nl = '\0';
			if (buf[0] == 'Q')
				_exit(0);
			tab = strchr(buf, '\t');
			if (buf[0] == 'S' && tab && count < MAX_KNOBS) {
				*tab = '\0';
				snprintf(knobs[count].path,
					 sizeof(knobs[count].path), "%s", buf + 1);
				snprintf(knobs[count].value,
					 sizeof(knobs[count].value), "%s", tab + 1);
				count++;
			}
			used -= nl + 1 - buf;
			memmove(buf, nl + 1, used + 1);
		}
	}
	guard_restore(knobs, count);
	_exit(0);
}

static int guard_start(void)
{
	int fds[2];
	pid_t pid;

	if (pipe(fds))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -errno;
	}
	if (!pid) {
		close(fds[1]);
		guard_main(fds[0]);
	}
	close(fds[0]);
	/* Forked test processes must not keep the guard alive after exec. */
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	guard_fd = fds[1];
	guard_pid = pid;
	return 0;
}

int knob_set(const char *path, const char *value)
{
	struct saved_knob *k;
	char text[256], line[256];
	ssize_t n;
	int i, ret;

	for (i = 0; i < nr_saved_knobs; i++)
		if (!strcmp(saved_knobs[i].path, path))
			return write_text(path, value);
	if (nr_saved_knobs == MAX_KNOBS || strlen(path) >= sizeof(k->path))
		return -ENOSPC;
	n = read_text(path, text, sizeof(text));
	if (n < 0)
		return n;
	if (guard_fd < 0) {
		ret = guard_start();
		if (ret)
			return ret;
	}
	k = &saved_knobs[nr_saved_knobs++];
	snprintf(k->path, sizeof(k->path), "%s", path);
	knob_current_value(text, k->value, sizeof(k->value));
	n = snprintf(line, sizeof(line), "S%s\t%s\n", k->path, k->value);
	if (write(guard_fd, line, n) != n)
		return -EIO;
	return write_text(path, value);
}

int knob_restore_all(void)
{
	int ret = 0, err, status;

	while (nr_saved_knobs > 0) {
		struct saved_knob *k = &saved_knobs[--nr_saved_knobs];

		err = write_text(k->path, k->value);
		if (err && !ret)
			ret = err;
	}
	if (guard_fd >= 0) {
		if (write(guard_fd, "Q\n", 2) != 2 && !ret)
			ret = -EIO;
		close(guard_fd);
		guard_fd = -1;
		reap_with_deadline(guard_pid, 5000, &status);
	}
	return ret;
}

/* ---- KSM --------------------------------------------------------------- */

bool ksm_available(void)
{
	return access(KSM_SYSFS "/run", F_OK) == 0;
}

int ksm_start_fast(void)
{
	static const char * const knobs[][2] = {
		{ KSM_SYSFS "/pages_to_scan", "4000" },
		{ KSM_SYSFS "/sleep_millisecs", "0" },
		/* Skipping pages that did not merge before slows merging. */
		{ KSM_SYSFS "/smart_scan", "0" },
		/* The advisor would override pages_to_scan. */
		{ KSM_SYSFS "/advisor_mode", "none" },
	};
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(knobs); i++) {
		if (access(knobs[i][0], F_OK))
			continue;	/* older kernel: not there */
		ret = knob_set(knobs[i][0], knobs[i][1]);
		if (ret)
			return ret;
	}
	return knob_set(KSM_SYSFS "/run", "1");
}

int ksm_wait_full_scans(int scans, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	unsigned long start, cur;
	int ret;

	ret = read_ulong(KSM_SYSFS "/full_scans", &start);
	if (ret)
		return ret;
	do {
		ret = read_ulong(KSM_SYSFS "/full_scans", &cur);
		if (ret)
			return ret;
		if (cur >= start + scans)
			return 0;
		sleep_ms(10);
	} while (now_ms() < deadline);
	return -ETIMEDOUT;
}

int proc_ksm_merging_pages(pid_t pid, unsigned long *pages)
{
	char path[64];

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/ksm_merging_pages", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/ksm_merging_pages");
	return read_ulong(path, pages);
}

/* ---- NUMA and move_pages ----------------------------------------------- */

int parse_node_list(const char *list, int *nodes, int max)
{
	unsigned long a, b, n;
	const char *p = list;
	int count = 0;

	if (only_space(p))
		return 0;
	for (;;) {
		if (parse_ulong(p, &a, &p))
			return -EINVAL;
		b = a;
		if (*p == '-' && parse_ulong(p + 1, &b, &p))
			return -EINVAL;
		if (b < a || b > 4095)
			return -EINVAL;
		for (n = a; n <= b; n++) {
			if (count < max)
				nodes[count] = n;
			count++;
		}
		if (*p != ',')
			break;
		p++;
	}
	return only_space(p) ? count : -EINVAL;
}

int numa_usable_nodes(int *nodes, int max)
{
	int mem[64], allowed[64], n_mem, n_allowed, i, j, count = 0;
	char buf[4096], *line;
	ssize_t len;

	len = read_text("/sys/devices/system/node/has_memory", buf, sizeof(buf));
	if (len == -ENOENT) {
		/* !CONFIG_NUMA: everything is node 0. */
		if (max > 0)
			nodes[0] = 0;
		return 1;
	}
	if (len < 0)
		return len;
	n_mem = parse_node_list(buf, mem, 64);
	if (n_mem < 0)
		return n_mem;
	len = read_text("/proc/self/status", buf, sizeof(buf));
	if (len < 0)
		return len;
	line = strstr(buf, "Mems_allowed_list:");
	if (!line) {
		/* !CONFIG_CPUSETS: no restriction to intersect with. */
		for (i = 0; i < n_mem && i < max; i++)
			nodes[i] = mem[i];
		return n_mem;
	}
	line += strlen("Mems_allowed_list:");
	line[strcspn(line, "\n")] = '\0';
	n_allowed = parse_node_list(line, allowed, 64);
	if (n_allowed < 0)
		return n_allowed;
	for (i = 0; i < n_mem && i < 64; i++)
		for (j = 0; j < n_allowed && j < 64; j++)
			if (mem[i] == allowed[j]) {
				if (count < max)
					nodes[count] = mem[i];
				count++;
			}
	return count;
}

#define MPOL_MF_MOVE_ALL_FLAG	4	/* MPOL_MF_MOVE_ALL, without numaif.h */

int pages_node(pid_t pid, void **pages, int count, int *status)
{
	if (syscall(SYS_move_pages, pid, count, pages, NULL, status, 0))
		return -errno;
	return 0;
}

int pages_move(pid_t pid, void **pages, int count, int node, int *status)
{
	int *nodes = calloc(count, sizeof(*nodes));
	long ret;
	int i;

	if (!nodes)
		return -ENOMEM;
	for (i = 0; i < count; i++)
		nodes[i] = node;
	/* Shared pages too: they are the ones whose rmap walk matters. */
	ret = syscall(SYS_move_pages, pid, count, pages, nodes, status,
		      MPOL_MF_MOVE_ALL_FLAG);
	if (ret < 0)
		ret = -errno;
	free(nodes);
	/* > 0: that many pages were not moved; status says why. */
	return ret;
}

/* ---- slab -------------------------------------------------------------- */

int slabinfo_get(const char *path, const char *cache, struct slab_count *c)
{
	FILE *f = fopen(path, "re");
	size_t cap = 0, clen = strlen(cache);
	char *line = NULL;
	const char *p;
	int ret = -ENOENT;

	if (!f)
		return -errno;
	if (getline(&line, &cap, f) <= 0 ||
	    strncmp(line, "slabinfo - version: 2.", 22)) {
		ret = -EINVAL;
		goto out;
	}
	while (getline(&line, &cap, f) > 0) {
		if (line[0] == '#')
			continue;
		if (strncmp(line, cache, clen) || line[clen] != ' ')
			continue;
		p = line + clen;
		/* A whole row: the numbers, then the tunables and a newline. */
		if (parse_ulong(p, &c->active_objs, &p) ||
		    parse_ulong(p, &c->num_objs, &p) ||
		    parse_ulong(p, &c->objsize, &p) ||
		    !strstr(p, " : tunables ") || !strchr(p, '\n') ||
		    c->active_objs > c->num_objs || !c->objsize)
			ret = -EINVAL;
		else
			ret = 0;
		break;
	}
out:
	free(line);
	fclose(f);
	return ret;
}

int slab_cache_is_merged(const char *cache)
{
	unsigned long aliases;
	char path[256];
	struct stat st;

	if (access("/sys/kernel/slab", F_OK))
		return -ENOENT;
	snprintf(path, sizeof(path), "/sys/kernel/slab/%s", cache);
	if (lstat(path, &st))
		return -errno;
	if (S_ISLNK(st.st_mode))
		return 1;	/* an alias of a shared cache */
	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/aliases", cache);
	if (read_ulong(path, &aliases))
		return -EIO;
	return aliases > 0;
}

/* ---- kernel health ----------------------------------------------------- */

bool klog_line_is_bad(const char *text)
{
	static const char * const bad[] = {
		"BUG:", "kernel BUG", "KASAN", "UBSAN", "[ cut here ]",
		"Bad page", "Bad rss-counter", "general protection fault",
		"Unable to handle kernel", "Oops", "list_add corruption",
		"list_del corruption", "page_table_check", "VM_BUG_ON",
		"refcount_t:", "INFO: task", "self-detected stall",
		"detected stalls on CPUs", "soft lockup", "hard LOCKUP",
		"Kernel panic",
	};
	unsigned int i;

	/*
	 * WARN() and lockdep reports start the line with "WARNING:"; boot-time
	 * notes such as "Spectre V2 : WARNING: ..." have it in the middle.
	 */
	if (!strncmp(text, "WARNING:", 8))
		return true;
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		if (strstr(text, bad[i]))
			return true;
	return false;
}

static void report_append(char *report, size_t len, const char *text)
{
	size_t used;

	if (!len)
		return;
	used = strlen(report);
	if (used + 1 < len)
		snprintf(report + used, len - used, "%s%s",
			 used ? "\n" : "", text);
}

int klog_scan(FILE *f, const char *marker, char *report, size_t len)
{
	bool after = !marker;
	size_t cap = 0;
	char *line = NULL, *text;
	int bad = 0;

	if (len)
		report[0] = '\0';
	while (getline(&line, &cap, f) > 0) {
		/* Continuation lines (" KEY=value") carry no message. */
		if (line[0] == ' ')
			continue;
		text = strchr(line, ';');
		if (!text)
			continue;
		text++;
		text[strcspn(text, "\n")] = '\0';
		if (!after) {
			after = !strcmp(text, marker);
			continue;
		}
		if (klog_line_is_bad(text)) {
			bad++;
			report_append(report, len, text);
		}
	}
	free(line);
	return after ? bad : -ENOENT;
}

static int read_taint(unsigned long *taint)
{
	return read_ulong("/proc/sys/kernel/tainted", taint);
}

int khealth_begin(struct khealth *h, const char *what)
{
	static unsigned int counter;
	char line[sizeof(h->marker) + 1];
	struct timespec ts;
	int ret;

	memset(h, 0, sizeof(*h));
	ret = read_taint(&h->taint);
	if (ret)
		return ret;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(h->marker, sizeof(h->marker), "anon_vma_lazy: begin %.40s %d.%u.%ld",
		 what, getpid(), counter++, ts.tv_nsec);
	/*
	 * The newline ends the record: without it printk keeps the record
	 * open for continuation and readers do not see it yet.
	 */
	snprintf(line, sizeof(line), "%s\n", h->marker);
	h->have_kmsg = !write_text("/dev/kmsg", line);
	return 0;
}

/*
 * Every record of /dev/kmsg (one record per read) into a malloc'ed buffer.
 * Returns its length, or -errno.
 */
static ssize_t kmsg_snapshot(char **buf)
{
	char rec[8192];
	size_t size = 0;
	FILE *out;
	ssize_t n;
	int fd;

	*buf = NULL;
	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	out = open_memstream(buf, &size);
	if (!out) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		n = read(fd, rec, sizeof(rec));
		if (n < 0 && (errno == EPIPE || errno == EINTR))
			continue;	/* overwritten records: go on */
		if (n <= 0)
			break;
		fwrite(rec, 1, n, out);
	}
	close(fd);
	fclose(out);
	return size;
}

int khealth_check(struct khealth *h, char *report, size_t len)
{
	unsigned long taint;
	char line[128], *buf;
	FILE *f;
	int ret, bad = 0;

	if (len)
		report[0] = '\0';
	if (h->have_kmsg) {
		ssize_t size = kmsg_snapshot(&buf);

		if (size <= 0) {
			free(buf);
			return size ? size : -ENOENT;
		}
		f = fmemopen(buf, size, "r");
		if (!f) {
			free(buf);
			return -ENOMEM;
		}
		ret = klog_scan(f, h->marker, report, len);
		fclose(f);
		free(buf);
		if (ret < 0)
			return ret;
		bad = ret;
	}
	ret = read_taint(&taint);
	if (ret)
		return ret;
	if (taint != h->taint) {
		snprintf(line, sizeof(line), "taint changed: %lu -> %lu",
			 h->taint, taint);
		report_append(report, len, line);
		bad++;
	}
	return bad ? 1 : 0;
}

/* ---- process trees ----------------------------------------------------- */

void *shared_area(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int reap_with_deadline(pid_t pid, int timeout_ms, int *status)
{
	long long deadline = now_ms() + timeout_ms;
	long delay = 1;
	pid_t ret;

	for (;;) {
		ret = waitpid(pid, status, WNOHANG);
		if (ret == pid)
			return 0;
		if (ret < 0 && errno != EINTR)
			return -errno;
		if (now_ms() >= deadline)
			break;
		sleep_ms(delay);
		if (delay < 20)
			delay *= 2;
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return -ETIMEDOUT;
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
		close_fd(&c->cmd[k][0]);
		close_fd(&c->cmd[k][1]);
	}
	close_fd(&c->reply[0]);
	close_fd(&c->reply[1]);
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
	c->shared = shared_area(sizeof(*c->shared));
	if (!c->shared) {
		free(c);
		return NULL;
	}
	c->size = size;
	c->reply[0] = -1;
	c->reply[1] = -1;
	for (k = 0; k < CREW_MAX; k++) {
		c->cmd[k][0] = -1;
		c->cmd[k][1] = -1;
	}
	if (pipe2(c->reply, O_CLOEXEC))
		goto fail;
	for (k = 0; k < size; k++)
		if (pipe2(c->cmd[k], O_CLOEXEC))
			goto fail;
	/* Orphaned members are re-parented to us, so we reap them all. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	return c;
fail:
	crew_close_all(c);
	munmap(c->shared, sizeof(*c->shared));
	free(c);
	return NULL;
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
	/*
	 * Only the controller writes commands and reads replies: with those
	 * ends closed here, a member sees EOF once the controller is gone.
	 */
	for (i = 0; i < c->size; i++)
		close_fd(&c->cmd[i][1]);
	close_fd(&c->reply[0]);
	c->pending = 0;
	return 0;
}

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

int crew_next(struct crew *c, int k, int timeout_ms)
{
	return read_byte(c->cmd[k][0], timeout_ms);
}

int crew_reply(struct crew *c, int k, int status)
{
	unsigned char byte = k;

	c->shared->status[k] = status;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return write(c->reply[1], &byte, 1) == 1 ? 0 : -EPIPE;
}

int crew_send(struct crew *c, int k, char cmd)
{
	if (k < 0 || k >= c->size || c->cmd[k][1] < 0)
		return -EINVAL;
	return write(c->cmd[k][1], &cmd, 1) == 1 ? 0 : -errno;
}

int crew_collect(struct crew *c, int k, int timeout_ms, int *status)
{
	long long deadline = now_ms() + timeout_ms;
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

int crew_broadcast(struct crew *c, const bool *alive, char cmd,
		   int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
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
		ret = crew_collect(c, k, deadline - now_ms(), &status);
		if (ret)
			return ret;
		bad += status != 0;
	}
	return bad;
}

/* The state letter of /proc/@pid/stat, 0 when the process is gone. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_text(path, buf, sizeof(buf)) <= 0)
		return 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

int crew_wait_exited(struct crew *c, int k, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
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
			if (c->shared->pids[k] > 0 && proc_state(c->shared->pids[k]))
				left++;
		if (!left || now_ms() >= deadline)
			break;
		sleep_ms(2);
	}
	munmap(c->shared, sizeof(*c->shared));
	free(c);
}

/* ---- ANON_VMA_LAZY detection ------------------------------------------- */

int kconfig_stream_has(FILE *f, const char *name)
{
	size_t cap = 0, nlen = strlen(name);
	char *line = NULL;
	int ret = 0;

	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, "CONFIG_", 7) || strncmp(line + 7, name, nlen) ||
		    line[7 + nlen] != '=')
			continue;
		ret = line[8 + nlen] == 'y' || line[8 + nlen] == 'm';
		break;
	}
	free(line);
	return ret;
}

/* The kernel config as a stream, and where it came from. */
static FILE *kconfig_open(char *source, size_t len)
{
	struct utsname u;
	char path[96];
	FILE *f;

	if (!access("/proc/config.gz", R_OK)) {
		f = popen("gzip -dc /proc/config.gz 2>/dev/null", "re");
		if (f) {
			snprintf(source, len, "/proc/config.gz");
			return f;
		}
	}
	uname(&u);
	snprintf(path, sizeof(path), "/boot/config-%s", u.release);
	f = fopen(path, "re");
	if (f)
		snprintf(source, len, "%s", path);
	return f;
}

static void kconfig_close(FILE *f, const char *source)
{
	if (!strcmp(source, "/proc/config.gz"))
		pclose(f);
	else
		fclose(f);
}

int kconfig_has(const char *name)
{
	char source[128];
	FILE *f = kconfig_open(source, sizeof(source));
	int ret;

	if (!f)
		return -ENOENT;
	ret = kconfig_stream_has(f, name);
	kconfig_close(f, source);
	return ret;
}

/* First entry of @dir (and one level below) whose name has "anon_vma". */
static bool find_switch(const char *dir, int depth, char *out, size_t len)
{
	struct dirent *d;
	char path[512];
	struct stat st;
	bool found = false;
	DIR *dp = opendir(dir);

	if (!dp)
		return false;
	while (!found && (d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		if (stat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (depth > 0)
				found = find_switch(path, depth - 1, out, len);
			continue;
		}
		if (strstr(path, "anon_vma")) {
			snprintf(out, len, "%s", path);
			found = true;
		}
	}
	closedir(dp);
	return found;
}

int lazy_detect(struct lazy_state *s)
{
	char text[512], value[64];
	FILE *f;

	memset(s, 0, sizeof(*s));
	s->config = -1;
	s->switch_value = -1;
	f = kconfig_open(s->config_source, sizeof(s->config_source));
	if (f) {
		s->config = kconfig_stream_has(f, "ANON_VMA_LAZY");
		kconfig_close(f, s->config_source);
	}
	if (find_switch("/proc/sys/vm", 0, s->switch_path,
			sizeof(s->switch_path)) ||
	    find_switch("/sys/kernel/mm", 1, s->switch_path,
			sizeof(s->switch_path))) {
		if (read_text(s->switch_path, text, sizeof(text)) > 0) {
			knob_current_value(text, value, sizeof(value));
			s->switch_value = atoi(value);
		}
	} else if (read_text("/proc/cmdline", text, sizeof(text)) > 0 &&
		   strstr(text, "anon_vma")) {
		snprintf(s->switch_path, sizeof(s->switch_path),
			 "/proc/cmdline");
	}
	return 0;
}

const char *lazy_state_str(const struct lazy_state *s, char *buf, size_t len)
{
	snprintf(buf, len, "ANON_VMA_LAZY: config=%s (%s), runtime switch=%s%s%s",
		 s->config == 1 ? "y" : s->config == 0 ? "n" : "unknown",
		 s->config_source[0] ? s->config_source : "no kernel config",
		 s->switch_path[0] ? s->switch_path : "none found",
		 s->switch_value >= 0 ? " value=" : "",
		 s->switch_value >= 0 ? (s->switch_value ? "1" : "0") : "");
	return buf;
}

static int *env_reported;

static void __attribute__((constructor)) env_report_init(void)
{
	env_reported = shared_area(sizeof(*env_reported));
}

void report_environment_once(void)
{
	struct lazy_state s;
	struct utsname u;
	char buf[512];
	int pfns, ksm_bug;

	if (env_reported && __atomic_exchange_n(env_reported, 1, __ATOMIC_SEQ_CST))
		return;
	uname(&u);
	lazy_detect(&s);
	pfns = pagemap_pfns_visible();
	ksm_bug = pfns == 1 ? kpageflags_ksm_on_plain_anon() : -1;
	printf("# kernel %s, uid %d, pagemap PFNs %s, KSM %s\n", u.release,
	       getuid(), pfns == 1 ? "visible" : "hidden",
	       ksm_available() ? "present" : "absent");
	printf("# %s\n", lazy_state_str(&s, buf, sizeof(buf)));
	if (ksm_bug == 1)
		printf("# kpageflags marks plain anon pages KSM (6.12.y bug): %s\n",
		       "KPF_KSM is not trusted on this kernel");
	fflush(stdout);
}

unsigned long test_seed(void)
{
	const char *env = getenv("AVL_SEED");
	unsigned long seed;

	if (!env || parse_ulong(env, &seed, NULL)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (unsigned long)ts.tv_sec * 1000003UL ^ ts.tv_nsec ^ getpid();
	}
	printf("# random seed %lu (replay with AVL_SEED=%lu)\n", seed, seed);
	fflush(stdout);
	return seed;
}
