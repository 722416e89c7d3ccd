// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers for the anon_vma_lazy selftests. See rmap_util.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
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

#include "../../kselftest.h"
#include "rmap_util.h"

#define TAG_MAGIC	0x616e6f6e766d6121ULL	/* "anonvma!" */

size_t page_size(void)
{
	static size_t size;

	if (!size)
		size = (size_t)sysconf(_SC_PAGESIZE);
	return size;
}

int pin_to_this_cpu(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	if (cpu < 0)
		return -errno;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
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

int slab_active_objects(const char *cache, unsigned long *active)
{
	struct slab_count c;
	char path[256];
	int ret;

	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", cache);
	write_text(path, "1");	/* best effort: older or !SLUB kernels */
	ret = slabinfo_get("/proc/slabinfo", cache, &c);
	if (!ret)
		*active = c.active_objs;
	return ret;
}

const char * const vma_caches[NR_VMA_CACHES] = {
	"anon_vma", "anon_vma_chain", "vm_area_struct",
};

int slab_baseline_take(struct slab_baseline *b, char *note, size_t len)
{
	int c, counted = 0;
	size_t used = 0;

	note[0] = '\0';
	for (c = 0; c < NR_VMA_CACHES; c++) {
		b->counted[c] = slab_cache_is_merged(vma_caches[c]) == 0 &&
				!slab_active_objects(vma_caches[c], &b->objs[c]);
		counted += b->counted[c];
		if (b->counted[c] || used >= len)
			continue;
		used += snprintf(note + used, len - used, "%s%s",
				 used ? ", " : "merged, not counted: ",
				 vma_caches[c]);
	}
	return counted;
}

int slab_baseline_exceeded(const struct slab_baseline *b,
			   unsigned long tolerance, char *report, size_t len)
{
	long long deadline = now_ms() + 3000;
	unsigned long now;
	int c, over;
	size_t used;

	do {
		over = 0;
		used = 0;
		report[0] = '\0';
		for (c = 0; c < NR_VMA_CACHES; c++) {
			if (!b->counted[c] ||
			    slab_active_objects(vma_caches[c], &now))
				continue;
			if (used < len)
				used += snprintf(report + used, len - used,
						 "%s %lu -> %lu; ", vma_caches[c],
						 b->objs[c], now);
			over += now > b->objs[c] + tolerance;
		}
		if (over)
			sleep_ms(50);
	} while (over && now_ms() < deadline);
	return over;
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
	int pidfd;

#ifdef SYS_pidfd_open
	/* A pidfd polls readable when the child exits: no sleeping. */
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd >= 0) {
		struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

		while (poll(&pfd, 1, timeout_ms) < 0 && errno == EINTR)
			;
		close(pidfd);
	}
#endif
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

int crew_ask(struct crew *c, int k, char cmd, int timeout_ms)
{
	int ret, status;

	ret = crew_send(c, k, cmd);
	if (!ret)
		ret = crew_collect(c, k, timeout_ms, &status);
	return ret ? ret : status;
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

/* ---- scenarios --------------------------------------------------------- */

#define SC_WAIT_MS	30000
#define SC_CMD_VERIFY	'V'
#define SC_CMD_PAGEOUT	'P'
#define SC_CMD_EXIT	'X'
#define SC_LOG_BUDGET	12

/* A broken kernel fails thousands of checks: print the first few. */
static __printf(2, 3) void sc_log(struct scenario *sc, const char *fmt, ...)
{
	va_list ap;

	if (sc->log_budget-- <= 0)
		return;
	va_start(ap, fmt);
	fputs("# ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static char *sc_addr(struct scenario *sc, int r, int i)
{
	return sc->base + r * sc->stride + i * page_size();
}

static struct sc_page *sc_expect(struct scenario *sc, int m, int r, int i)
{
	return &sc->expect[m].page[r][i];
}

struct scenario *sc_create(unsigned long seed)
{
	struct scenario *sc = calloc(1, sizeof(*sc));

	if (sc)
		sc->seed = seed;
	return sc;
}

int sc_add_step(struct scenario *sc, int m, enum sc_op op, int region,
		int first, int last, int child)
{
	struct sc_step *st;

	bool moves = op == SC_MOVE || op == SC_DONTUNMAP;

	if (m < 0 || m >= SC_MAX_MEMBERS || sc->nr_steps[m] >= SC_MAX_STEPS ||
	    region < 0 || region >= SC_MAX_REGIONS || first < 0 ||
	    last > SC_REGION_PAGES || first >= last ||
	    (op == SC_FORK && (child <= m || child >= SC_MAX_MEMBERS)) ||
	    (moves && (child < 0 || child >= SC_MAX_REGIONS ||
		       child == region)) ||
	    (op == SC_GROW && first == 0))
		return -EINVAL;
	st = &sc->steps[m][sc->nr_steps[m]++];
	st->op = op;
	st->region = region;
	st->first = first;
	st->last = last;
	st->child = child;
	if (m + 1 > sc->nr_members)
		sc->nr_members = m + 1;
	if (op == SC_FORK && child + 1 > sc->nr_members)
		sc->nr_members = child + 1;
	return 0;
}

static const char * const sc_op_names[] = {
	[SC_MMAP] = "mmap", [SC_WRITE] = "write", [SC_FORK] = "fork",
	[SC_RO] = "ro", [SC_RW] = "rw", [SC_UNMAP] = "unmap",
	[SC_DONTNEED] = "dontneed", [SC_FREE] = "free", [SC_COLD] = "cold",
	[SC_MLOCK] = "mlock", [SC_MUNLOCK] = "munlock",
	[SC_DONTFORK] = "dontfork", [SC_WIPEONFORK] = "wipeonfork",
	[SC_MOVE] = "move", [SC_DONTUNMAP] = "dontunmap", [SC_GROW] = "grow",
	[SC_PAGEOUT] = "pageout",
};

/* One "word<number>[:a-b][>region]" token. */
static int sc_parse_step(struct scenario *sc, int m, const char *tok,
			 size_t len)
{
	unsigned long num, a = 0, b = SC_REGION_PAGES, to = ~0UL;
	char word[16];
	const char *p;
	size_t w;
	unsigned int op;

	for (w = 0; w < len && tok[w] >= 'a' && tok[w] <= 'z'; w++)
		;
	if (!w || w >= sizeof(word))
		return -EINVAL;
	memcpy(word, tok, w);
	word[w] = '\0';
	if (parse_ulong(tok + w, &num, &p))
		return -EINVAL;
	if (*p == ':') {
		if (parse_ulong(p + 1, &a, &p) || *p != '-' ||
		    parse_ulong(p + 1, &b, &p))
			return -EINVAL;
	}
	if (*p == '>' && parse_ulong(p + 1, &to, &p))
		return -EINVAL;
	if (p != tok + len)
		return -EINVAL;
	for (op = 0; op < ARRAY_SIZE(sc_op_names); op++)
		if (!strcmp(word, sc_op_names[op]))
			break;
	if (op == ARRAY_SIZE(sc_op_names))
		return -EINVAL;
	/* Only moves have a destination, and they need one. */
	if ((op == SC_MOVE || op == SC_DONTUNMAP) != (to != ~0UL) ||
	    (to != ~0UL && to >= SC_MAX_REGIONS))
		return -EINVAL;
	if (op == SC_FORK)
		return sc_add_step(sc, m, op, 0, 0, SC_REGION_PAGES, num);
	return sc_add_step(sc, m, op, num, a, b, to == ~0UL ? 0 : to);
}

int sc_parse(struct scenario *sc, const char *text)
{
	const char *p = text, *end;
	unsigned long m;
	int ret;

	while (*p) {
		while (*p == ' ' || *p == '|')
			p++;
		if (!*p)
			break;
		if (parse_ulong(p, &m, &p) || *p++ != ':' ||
		    m >= SC_MAX_MEMBERS)
			return -EINVAL;
		for (;;) {
			while (*p == ' ')
				p++;
			if (!*p || *p == '|')
				break;
			end = p + strcspn(p, " |");
			ret = sc_parse_step(sc, m, p, end - p);
			if (ret)
				return ret;
			p = end;
		}
	}
	return 0;
}

/* ---- the model --------------------------------------------------------- */

static __u64 sc_mix(__u64 x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Whether step @s of member @m writes page @i of region @r. */
static bool sc_step_writes(struct scenario *sc, int m, int s, int r, int i)
{
	return sc_mix(sc->seed ^ sc_mix(((__u64)m << 48) | ((__u64)s << 32) |
					((__u64)r << 16) | i)) & 1;
}

static struct page_tag sc_tag(int m, int s, int r, int i)
{
	struct page_tag tag = {
		.owner = m, .gen = r, .index = i, .version = s + 1,
	};

	return tag;
}

static bool sc_same_attrs(const struct sc_page *a, const struct sc_page *b)
{
	return a->readonly == b->readonly && a->locked == b->locked &&
	       a->dontfork == b->dontfork && a->wipeonfork == b->wipeonfork &&
	       a->unaccounted == b->unaccounted;
}

static bool sc_mapped(const struct sc_page *pg)
{
	return pg->state != SC_UNMAPPED;
}

/*
 * A VMA's anon_vma as the model knows it (sc_page.av): 0 none (a child's
 * MADV_WIPEONFORK VMA, or moved from one), values with this bit set for
 * the anon_vma a VMA gets at fork, others for one made in this mm.
 */
#define SC_AV_FORKED	0x80000000U

/*
 * Whether this kernel merges a VMA that has an anon_vma into a neighbour
 * that has none (6.18 does, when the anon_vma is the VMA's only one; 6.12
 * does not). Probed once: a two-page mapping whose pages differ only in
 * VM_DONTCOPY, neither faulted; the first page is faulted, then made
 * VM_DONTCOPY too: one VMA afterwards or two.
 */
static bool sc_merges_into_empty_anon(void)
{
	static int merges = -1;
	struct vma_extent v[3];
	size_t ps = page_size();
	char *p;

	if (merges >= 0)
		return merges;
	merges = 0;
	p = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return merges;
	if (!madvise(p + ps, ps, MADV_DONTFORK)) {
		p[0] = 1;
		if (!madvise(p, ps, MADV_DONTFORK))
			merges = vma_layout(0, (unsigned long)p,
					    (unsigned long)p + 2 * ps, v, 3) == 1;
	}
	munmap(p, 2 * ps);
	return merges;
}

/*
 * Whether the VMA of page @vmg (just changed, moved or grown) merges with
 * its neighbour's (@nb) across the boundary between them: flags and
 * vm_pgoff line up, and the anon_vmas are compatible: one anon_vma; or
 * none on either side (the merged VMA takes the other's), where the one
 * that has one has no other (it was not inherited). A VMA with one
 * merging into a neighbour without: depends on the kernel.
 */
static bool sc_fits(const struct sc_page *vmg, const struct sc_page *nb,
		    bool nb_left)
{
	const struct sc_page *a = nb_left ? nb : vmg, *b = nb_left ? vmg : nb;
	bool anon_ok;

	if (vmg->av == nb->av)
		anon_ok = true;
	else if (!vmg->av)
		anon_ok = !(nb->av & SC_AV_FORKED);
	else if (!nb->av)
		anon_ok = !(vmg->av & SC_AV_FORKED) &&
			  sc_merges_into_empty_anon();
	else
		anon_ok = false;
	return sc_same_attrs(a, b) && b->pgoff == a->pgoff + 1 && anon_ok;
}

/* After merges: a VMA that took in one without anon_vma shares its own. */
static void sc_model_spread_av(struct sc_page *pg)
{
	int i, j, start;
	__u32 av;

	for (start = 0; start < SC_REGION_PAGES; start = i) {
		for (av = 0, i = start; i < SC_REGION_PAGES && sc_mapped(&pg[i]) &&
		     (i == start || !pg[i].vma_start); i++)
			av = av ? av : pg[i].av;
		for (j = start; j < i; j++)
			pg[j].av = av;
		if (i == start)
			i++;
	}
}

/*
 * The VMA layout after [first, last) changed (@changed[i]: page i's
 * flags changed; NULL: every page of the range, for a moved or grown
 * piece). The kernel splits a changed VMA at the ends of the range and
 * tries to merge every changed VMA with its neighbours; unchanged VMAs
 * keep their boundaries, even between pieces that would fit.
 */
static void sc_model_edges(struct sc_page *pg, int first, int last,
			   const bool *changed)
{
	int b;

	for (b = first; b <= last; b++) {
		bool left, right;

		if (b <= 0 || b >= SC_REGION_PAGES || !sc_mapped(&pg[b]) ||
		    !sc_mapped(&pg[b - 1]))
			continue;
		left = b - 1 >= first && b - 1 < last &&
		       (!changed || changed[b - 1]);
		right = b >= first && b < last && (!changed || changed[b]);
		/* Inside one VMA that changed as a whole: no boundary. */
		if (!pg[b].vma_start && b > first && b < last)
			continue;
		if (!left && !right)
			continue;
		/* The kernel goes left to right: the right piece merges last. */
		pg[b].vma_start = right ? !sc_fits(&pg[b], &pg[b - 1], true) :
					  !sc_fits(&pg[b - 1], &pg[b], false);
	}
	sc_model_spread_av(pg);
}

/*
 * mremap of [first, last) from @src to the same pages of @dst: the pages
 * keep contents, attributes and vm_pgoff; with MREMAP_DONTUNMAP the source
 * stays mapped, empty (the next access faults a zero page).
 */
static void sc_model_move(struct sc_page *src, struct sc_page *dst,
			  int dst_region, int first, int last, bool dontunmap)
{
	int i;

	for (i = first; i < last; i++) {
		dst[i] = src[i];
		dst[i].vma_start = i == first;
		/* copy_vma(): no anon_vma yet, so vm_pgoff as for a new VMA. */
		if (!src[i].av)
			dst[i].pgoff = dst_region * (SC_REGION_PAGES + 1) + i;
		if (dontunmap) {
			src[i].state = SC_ZERO;
			memset(&src[i].tag, 0, sizeof(src[i].tag));
			src[i].copy = 0;
			src[i].locked = false;
		} else {
			memset(&src[i], 0, sizeof(src[i]));
		}
	}
	/* The hole left behind starts a new VMA after it. */
	if (!dontunmap && last < SC_REGION_PAGES && sc_mapped(&src[last]))
		src[last].vma_start = true;
	if (last < SC_REGION_PAGES && sc_mapped(&dst[last]))
		dst[last].vma_start = true;
	sc_model_edges(dst, first, last, NULL);
}

/* mremap growing the VMA that ends at @first in place to end at @last. */
static void sc_model_grow(struct sc_page *pg, int first, int last)
{
	int i;

	for (i = first; i < last; i++) {
		pg[i] = pg[i - 1];
		pg[i].state = SC_ZERO;
		memset(&pg[i].tag, 0, sizeof(pg[i].tag));
		pg[i].copy = 0;
		pg[i].pgoff = pg[i - 1].pgoff + 1;
		pg[i].vma_start = false;
	}
	sc_model_edges(pg, first, last, NULL);
}

/*
 * A write fault in a VMA without anon_vma (a child's MADV_WIPEONFORK VMA)
 * gives the whole VMA a new one (its neighbours are inherited: never
 * reused).
 */
static void sc_model_first_write(struct sc_page *pg, int m, int s, int r)
{
	int i, j, start = 0;

	for (i = 0; i < SC_REGION_PAGES; i++) {
		if (!sc_mapped(&pg[i]))
			continue;
		if (pg[i].vma_start || !i || !sc_mapped(&pg[i - 1]))
			start = i;
		if (pg[i].av || pg[i].state != SC_TAGGED)
			continue;
		for (j = start; j < SC_REGION_PAGES && sc_mapped(&pg[j]) &&
		     (j == start || !pg[j].vma_start); j++)
			pg[j].av = 0x40000000U |
				   (sc_mix(((__u64)m << 32) | (s << 16) |
					   (r << 8) | start) & 0x3fffffff);
	}
}

/* What step @s of member @m does to its view @v. */
void sc_model_step(struct scenario *sc, int m, int s, struct sc_view *v)
{
	const struct sc_step *st = &sc->steps[m][s];
	struct sc_page *pg = v->page[st->region];
	bool changes_attrs = false, changed[SC_REGION_PAGES] = { false };
	int i;

	if (st->op == SC_FORK)
		return;
	if (st->op == SC_MOVE || st->op == SC_DONTUNMAP) {
		sc_model_move(pg, v->page[st->child], st->child, st->first,
			      st->last, st->op == SC_DONTUNMAP);
		return;
	}
	if (st->op == SC_GROW) {
		sc_model_grow(pg, st->first, st->last);
		return;
	}
	for (i = st->first; i < st->last; i++) {
		struct sc_page *p = &pg[i];
		struct sc_page before = *p;

		switch (st->op) {
		case SC_MMAP:
			memset(p, 0, sizeof(*p));
			p->state = SC_TAGGED;
			p->tag = sc_tag(m, s, st->region, i);
			p->vma_start = i == st->first;
			/* Faulted at once: an anon_vma of its own. */
			p->av = 1 + (m * SC_MAX_STEPS + s) * SC_MAX_REGIONS +
				st->region;
			/* Anonymous: the address in pages (regions never touch). */
			p->pgoff = st->region * (SC_REGION_PAGES + 1) + i;
			break;
		case SC_WRITE:
			if (sc_mapped(p) && !p->readonly &&
			    sc_step_writes(sc, m, s, st->region, i)) {
				p->state = SC_TAGGED;
				p->tag = sc_tag(m, s, st->region, i);
				p->copy = 0;
			}
			break;
		case SC_UNMAP:
			memset(p, 0, sizeof(*p));
			break;
		case SC_DONTNEED:
			if (sc_mapped(p)) {
				p->state = SC_ZERO;
				memset(&p->tag, 0, sizeof(p->tag));
			}
			break;
		case SC_FREE:
			if (p->state == SC_TAGGED)
				p->state = SC_LAZYFREE;
			break;
		case SC_RO:
		case SC_RW:
			/*
			 * An mlocked private VMA made writable is populated
			 * for write: a shared copy is copied.
			 */
			if (st->op == SC_RW && p->readonly && p->locked &&
			    p->state == SC_TAGGED)
				p->copy = ((m + 1) << 16) | (s + 1);
			/*
			 * mprotect drops VM_ACCOUNT of a VMA without anon_vma
			 * made read-only, and charges it again when writable:
			 * a flag that keeps such a VMA from its neighbours.
			 */
			if (st->op == SC_RO && !p->readonly && !p->av)
				p->unaccounted = true;
			if (st->op == SC_RW && p->readonly)
				p->unaccounted = false;
			p->readonly = st->op == SC_RO;
			break;
		case SC_MLOCK:
			/*
			 * Populated for write, also when already locked: a
			 * shared copy is copied.
			 */
			if (p->state == SC_TAGGED && !p->readonly)
				p->copy = ((m + 1) << 16) | (s + 1);
			p->locked = true;
			break;
		case SC_MUNLOCK:
			p->locked = false;
			break;
		case SC_DONTFORK:
			p->dontfork = true;
			break;
		case SC_WIPEONFORK:
			p->wipeonfork = true;
			break;
		default:
			break;
		}
		changed[i] = sc_mapped(p) && !sc_same_attrs(&before, p);
		changes_attrs |= changed[i];
	}
	/* A hole left by munmap starts a new VMA after it. */
	if (st->op == SC_UNMAP && st->last < SC_REGION_PAGES &&
	    sc_mapped(&pg[st->last]))
		pg[st->last].vma_start = true;
	if (changes_attrs)
		sc_model_edges(pg, st->first, st->last, changed);
	if (st->op == SC_WRITE)
		sc_model_first_write(pg, m, s, st->region);
}

/* The view a child gets from its parent's at fork (may be in place). */
void sc_model_fork(const struct sc_view *parent, struct sc_view *child)
{
	__u32 av;
	int r, i;

	if (child != parent)
		*child = *parent;
	for (r = 0; r < SC_MAX_REGIONS; r++) {
		for (i = 0; i < SC_REGION_PAGES; i++) {
			struct sc_page *p = &child->page[r][i];

			if (!sc_mapped(p))
				continue;
			if (p->dontfork) {
				memset(p, 0, sizeof(*p));
				continue;
			}
			if (p->wipeonfork) {
				p->state = SC_ZERO;
				memset(&p->tag, 0, sizeof(p->tag));
			}
			/* mlock is not inherited; VMA boundaries are. */
			p->locked = false;
		}
		/* A page after a DONTFORK hole starts a VMA. */
		for (i = 1; i < SC_REGION_PAGES; i++) {
			struct sc_page *p = &child->page[r][i];

			if (sc_mapped(p) && !sc_mapped(&child->page[r][i - 1]))
				p->vma_start = true;
		}
		if (sc_mapped(&child->page[r][0]))
			child->page[r][0].vma_start = true;
		/*
		 * Every VMA of the child gets an anon_vma of its own, but a
		 * MADV_WIPEONFORK one: none until a write fault.
		 */
		for (i = 0, av = 0; i < SC_REGION_PAGES; i++) {
			struct sc_page *p = &child->page[r][i];

			if (!sc_mapped(p))
				continue;
			if (p->vma_start)
				av = sc_mix(((__u64)p->av << 16) | (r << 4) | i) |
				     SC_AV_FORKED;
			p->av = p->wipeonfork ? 0 : av;
		}
	}
}

static void sc_model_member(struct scenario *sc, int m, struct sc_view *view)
{
	int s, c;

	for (s = 0; s < sc->nr_steps[m]; s++) {
		if (sc->steps[m][s].op != SC_FORK) {
			sc_model_step(sc, m, s, view);
			continue;
		}
		c = sc->steps[m][s].child;
		sc_model_fork(view, &sc->expect[c]);
		sc_model_member(sc, c, &sc->expect[c]);
	}
}

/* The regions any program touches, and whether pages move between them. */
static void sc_find_used_regions(struct scenario *sc)
{
	bool used[SC_MAX_REGIONS] = { false };
	int m, s, r;

	for (m = 0; m < sc->nr_members; m++) {
		for (s = 0; s < sc->nr_steps[m]; s++) {
			const struct sc_step *st = &sc->steps[m][s];

			if (st->op == SC_FORK)
				continue;
			used[st->region] = true;
			if (st->op == SC_MOVE || st->op == SC_DONTUNMAP) {
				used[st->child] = true;
				sc->moves = true;
			}
		}
	}
	sc->nr_used = 0;
	for (r = 0; r < SC_MAX_REGIONS; r++)
		if (used[r])
			sc->used[sc->nr_used++] = r;
}

int sc_finish(struct scenario *sc)
{
	int m, s, c;

	if (!sc->nr_members)
		return -EINVAL;
	for (m = 0; m < sc->nr_members; m++)
		sc->parent[m] = -1;
	for (m = 0; m < sc->nr_members; m++) {
		for (s = 0; s < sc->nr_steps[m]; s++) {
			if (sc->steps[m][s].op != SC_FORK)
				continue;
			c = sc->steps[m][s].child;
			if (sc->parent[c] >= 0)
				return -EINVAL;	/* forked twice */
			sc->parent[c] = m;
			sc->depth[c] = sc->depth[m] + 1;
		}
	}
	for (m = 1; m < sc->nr_members; m++)
		if (sc->parent[m] < 0)
			return -EINVAL;	/* never forked */
	sc_find_used_regions(sc);
	sc->ksm_flag_reliable = kpageflags_ksm_on_plain_anon() == 0;
	sc_model_member(sc, 0, &sc->expect[0]);
	sc->stride = (SC_REGION_PAGES + 1) * page_size();
	sc->reserved = SC_MAX_REGIONS * sc->stride;
	sc->base = reserve_range(sc->reserved);
	if (!sc->base)
		return -ENOMEM;
	sc->crew = crew_create(sc->nr_members);
	return sc->crew ? 0 : -ENOMEM;
}

/* ---- members ----------------------------------------------------------- */

static bool sc_all_zero(const char *p)
{
	size_t k;

	for (k = 0; k < page_size(); k++)
		if (p[k])
			return false;
	return true;
}

static int sc_member_verify(struct scenario *sc, int m)
{
	struct page_tag found;
	char a[96], b[96];
	int r, i, bad = 0;

	for (r = 0; r < SC_MAX_REGIONS; r++) {
		for (i = 0; i < SC_REGION_PAGES; i++) {
			struct sc_page *pg = sc_expect(sc, m, r, i);
			const char *p = sc_addr(sc, r, i);
			bool ok;

			switch (pg->state) {
			case SC_ZERO:
				ok = sc_all_zero(p);
				break;
			case SC_TAGGED:
				ok = !tag_verify(p, page_size(), &pg->tag,
						 &found);
				break;
			case SC_LAZYFREE:
				ok = sc_all_zero(p) ||
				     !tag_verify(p, page_size(), &pg->tag,
						 &found);
				break;
			default:
				continue;
			}
			if (ok || bad++ >= 5)
				continue;
			fprintf(stderr, "# P%d R%d page %d: want %s, found %s\n",
				m, r, i,
				pg->state == SC_ZERO ? "zeroes" :
				tag_str(&pg->tag, a, sizeof(a)),
				tag_str(&found, b, sizeof(b)));
		}
	}
	return bad;
}

/* Apply @advice (or mprotect/mlock) to every mapped run of [first, last). */
/*
 * MADV_PAGEOUT of @nr pages at @p, until every page this process maps
 * alone is swapped out (a folio still in a per-CPU LRU batch is missed
 * once). -1 with errno EAGAIN when some stay.
 */
static int sc_pageout_range(char *p, int nr)
{
	struct pagemap_entry e;
	int try, i, left = 0;

	for (try = 0; try < 4; try++) {
		if (madvise(p, nr * page_size(), MADV_PAGEOUT))
			return -1;
		for (left = 0, i = 0; i < nr; i++) {
			if (pagemap_get(0, (unsigned long)p + i * page_size(),
					&e))
				return -1;
			left += e.present && e.exclusive;
		}
		if (!left)
			return 0;
	}
	errno = EAGAIN;
	return -1;
}

static int sc_member_syscall(struct scenario *sc, const struct sc_step *st,
			     const struct sc_view *view)
{
	char *p = sc_addr(sc, st->region, st->first);
	size_t len = (st->last - st->first) * page_size();
	char *to = sc_addr(sc, st->child, st->first);
	int start;

	switch (st->op) {
	case SC_PAGEOUT:
		return sc_pageout_range(p, st->last - st->first);
	case SC_MOVE:
	case SC_DONTUNMAP:
		if (mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED |
			   (st->op == SC_DONTUNMAP ? MREMAP_DONTUNMAP : 0),
			   to) != to)
			return -1;
		return 0;
	case SC_GROW:
		/* In place: no MREMAP_MAYMOVE. */
		for (start = st->first - 1; start > 0; start--)
			if (view->page[st->region][start].vma_start)
				break;
		/* The range may still hold the PROT_NONE reservation. */
		if (munmap(sc_addr(sc, st->region, st->first), len))
			return -1;
		p = sc_addr(sc, st->region, start);
		if (mremap(p, (st->first - start) * page_size(),
			   (st->last - start) * page_size(), 0) != p)
			return -1;
		return 0;
	case SC_RO:
		return mprotect(p, len, PROT_READ);
	case SC_RW:
		return mprotect(p, len, PROT_READ | PROT_WRITE);
	case SC_UNMAP:
		return munmap(p, len);
	case SC_DONTNEED:
		return madvise(p, len, MADV_DONTNEED);
	case SC_FREE:
		return madvise(p, len, MADV_FREE);
	case SC_COLD:
		return madvise(p, len, MADV_COLD);
	case SC_MLOCK:
		return mlock(p, len);
	case SC_MUNLOCK:
		return munlock(p, len);
	case SC_DONTFORK:
		return madvise(p, len, MADV_DONTFORK);
	case SC_WIPEONFORK:
		return madvise(p, len, MADV_WIPEONFORK);
	default:
		return 0;
	}
}

/* Carry out step @s of member @m: the system calls behind the model. */
static int sc_member_step(struct scenario *sc, int m, int s,
			  struct sc_view *view)
{
	const struct sc_step *st = &sc->steps[m][s];
	char *region = sc_addr(sc, st->region, 0);
	size_t len = SC_REGION_PAGES * page_size();
	int i;

	if (st->op == SC_MMAP) {
		if (mmap(region, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
			 0) != region)
			return errno;
		/* Base pages only: map counts are then exact per page. */
		madvise(region, len, MADV_NOHUGEPAGE);
	} else if (sc_member_syscall(sc, st, view)) {
		return errno;
	}
	sc_model_step(sc, m, s, view);
	if (st->op != SC_MMAP && st->op != SC_WRITE)
		return 0;
	for (i = st->first; i < st->last; i++) {
		struct sc_page *pg = &view->page[st->region][i];
		struct page_tag tag = sc_tag(m, s, st->region, i);

		if (pg->state == SC_TAGGED &&
		    !memcmp(&pg->tag, &tag, sizeof(tag)))
			tag_fill(sc_addr(sc, st->region, i), page_size(), &tag);
	}
	return 0;
}

/* MADV_PAGEOUT over every region this member maps (holes skipped). */
static int sc_member_pageout(struct scenario *sc, int m)
{
	int r, i, first, ret = 0;

	/* MADV_PAGEOUT refuses mlocked VMAs: leave them out. */
	for (r = 0; r < SC_MAX_REGIONS; r++) {
		i = 0;
		while (i < SC_REGION_PAGES) {
			struct sc_page *pg = sc_expect(sc, m, r, i);

			if (!sc_mapped(pg) || pg->locked) {
				i++;
				continue;
			}
			first = i;
			while (i < SC_REGION_PAGES &&
			       sc_mapped(sc_expect(sc, m, r, i)) &&
			       !sc_expect(sc, m, r, i)->locked)
				i++;
			if (madvise(sc_addr(sc, r, first),
				    (i - first) * page_size(), MADV_PAGEOUT))
				ret = errno;
		}
	}
	return ret;
}

static __noreturn void sc_member_main(struct scenario *sc, int m,
				      struct sc_view *view)
{
	int s, cmd, status = 0;
	pid_t pid;

	for (s = 0; s < sc->nr_steps[m] && !status; s++) {
		const struct sc_step *st = &sc->steps[m][s];

		if (st->op != SC_FORK) {
			status = sc_member_step(sc, m, s, view);
			if (status)
				fprintf(stderr, "# P%d: %s%d:%d-%d failed: %s\n",
					m, sc_op_names[st->op], st->region,
					st->first, st->last, strerror(status));
			continue;
		}
		pid = crew_fork(sc->crew, st->child);
		if (pid == 0) {
			sc_model_fork(view, view);
			sc_member_main(sc, st->child, view);
		}
		if (pid < 0)
			status = -pid;
	}
	crew_reply(sc->crew, m, status);

	for (;;) {
		cmd = crew_next(sc->crew, m, 2 * SC_WAIT_MS);
		if (cmd == SC_CMD_VERIFY)
			crew_reply(sc->crew, m, sc_member_verify(sc, m));
		else if (cmd == SC_CMD_PAGEOUT)
			crew_reply(sc->crew, m, sc_member_pageout(sc, m));
		else if (cmd == SC_CMD_EXIT)
			_exit(0);
		else
			_exit(3);	/* the controller is gone */
	}
}

int sc_start(struct scenario *sc, char *err, size_t len)
{
	struct sc_view *view = calloc(1, sizeof(*view));
	int m, status, ret;
	pid_t pid;

	if (!view)
		return -ENOMEM;
	pid = crew_fork(sc->crew, 0);
	if (pid == 0)
		sc_member_main(sc, 0, view);
	free(view);
	if (pid < 0)
		return pid;
	for (m = 0; m < sc->nr_members; m++) {
		ret = crew_collect(sc->crew, m, SC_WAIT_MS, &status);
		if (!ret && status)
			ret = -status;
		if (ret) {
			snprintf(err, len, "P%d did not set up: %s", m,
				 strerror(-ret));
			return ret;
		}
		sc->alive[m] = true;
	}
	return 0;
}

int sc_exit_member(struct scenario *sc, int m)
{
	int ret = crew_send(sc->crew, m, SC_CMD_EXIT);

	if (!ret)
		ret = crew_wait_exited(sc->crew, m, SC_WAIT_MS);
	if (!ret)
		sc->alive[m] = false;
	return ret;
}

void sc_destroy(struct scenario *sc)
{
	if (!sc)
		return;
	crew_destroy(sc->crew);
	if (sc->base)
		munmap(sc->base, sc->reserved);
	free(sc);
}

/* ---- the controller's oracles ------------------------------------------ */

/* What the controller reads once per checkpoint, per live member. */
struct sc_snapshot {
	int pagemap_fd[SC_MAX_MEMBERS];
	int nr_vmas[SC_MAX_MEMBERS];
	struct smaps_vma vmas[SC_MAX_MEMBERS][SC_MAX_REGIONS + 64];
};

static bool sc_same_copy(const struct sc_page *a, const struct sc_page *b)
{
	return a->state == SC_TAGGED && b->state == SC_TAGGED &&
	       a->copy == b->copy && !memcmp(&a->tag, &b->tag, sizeof(a->tag));
}

/*
 * The regions whose page @i may hold a copy that region @r's page @i
 * holds elsewhere: @r itself, or every used one when pages move.
 */
static int sc_peer_regions(struct scenario *sc, int r, const int **list)
{
	static int self[SC_MAX_REGIONS];

	if (sc->moves) {
		*list = sc->used;
		return sc->nr_used;
	}
	self[0] = r;
	*list = self;
	return 1;
}

static int sc_mappers(struct scenario *sc, int r, int i,
		      const struct sc_page *pg)
{
	int m, k, n, count = 0;
	const int *regions;

	n = sc_peer_regions(sc, r, &regions);
	for (m = 0; m < sc->nr_members; m++)
		for (k = 0; k < n; k++)
			count += sc->alive[m] &&
				 sc_same_copy(sc_expect(sc, m, regions[k], i),
					      pg);
	return count;
}

static pid_t sc_pid(struct scenario *sc, int m)
{
	return sc->crew->shared->pids[m];
}

static int sc_take_snapshot(struct scenario *sc, struct sc_snapshot *snap)
{
	char path[64];
	int m, bad = 0;

	for (m = 0; m < sc->nr_members; m++) {
		snap->pagemap_fd[m] = -1;
		if (!sc->alive[m])
			continue;
		snprintf(path, sizeof(path), "/proc/%d/pagemap", sc_pid(sc, m));
		snap->pagemap_fd[m] = open(path, O_RDONLY | O_CLOEXEC);
		snprintf(path, sizeof(path), "/proc/%d/smaps", sc_pid(sc, m));
		snap->nr_vmas[m] = smaps_read_all(path, snap->vmas[m],
						  ARRAY_SIZE(snap->vmas[m]));
		if (snap->pagemap_fd[m] < 0 || snap->nr_vmas[m] < 0 ||
		    snap->nr_vmas[m] > (int)ARRAY_SIZE(snap->vmas[m])) {
			sc_log(sc, "P%d: pagemap or smaps unreadable", m);
			bad++;
		}
	}
	return bad;
}

static void sc_drop_snapshot(struct scenario *sc, struct sc_snapshot *snap)
{
	int m;

	for (m = 0; m < sc->nr_members; m++)
		if (snap->pagemap_fd[m] >= 0)
			close(snap->pagemap_fd[m]);
}

/*
 * PFN identity of member @m's page @i of region @r (at @pfn) with page @i
 * of the used regions after @r in every member: one PFN exactly for one
 * copy. (Regions before @r compared with this one when they were checked.)
 */
static int sc_check_moved_peers(struct scenario *sc, int m, int r, int i,
				__u64 pfn, const char *when,
				struct sc_snapshot *snap)
{
	const struct sc_page *pg = sc_expect(sc, m, r, i);
	struct pagemap_entry f;
	int k, q, r2, bad = 0;
	bool same, same_pfn;
	__u64 raw;

	for (k = 0; k < sc->nr_used; k++) {
		r2 = sc->used[k];
		if (r2 <= r)
			continue;
		for (q = 0; q < sc->nr_members; q++) {
			if (!sc->alive[q] ||
			    sc_expect(sc, q, r2, i)->state != SC_TAGGED)
				continue;
			if (pagemap_read_raw(snap->pagemap_fd[q],
					     (unsigned long)sc_addr(sc, r2, i),
					     &raw))
				return bad + 1;
			pagemap_decode(raw, &f);
			same = sc_same_copy(pg, sc_expect(sc, q, r2, i));
			same_pfn = f.pfn == pfn;
			if (same == same_pfn)
				continue;
			sc_log(sc, "%s: page %d: P%d R%d pfn %#llx, P%d R%d pfn %#llx, expected %s",
			       when, i, m, r, (unsigned long long)pfn, q, r2,
			       (unsigned long long)f.pfn,
			       same ? "one shared page" : "separate copies");
			bad++;
		}
	}
	return bad;
}

/* pagemap and kpage* of page @i of region @r in every live member. */
static int sc_check_page(struct scenario *sc, int r, int i, const char *when,
			 struct sc_snapshot *snap)
{
	struct pagemap_entry e[SC_MAX_MEMBERS];
	int m, q, mappers, bad = 0;
	bool used = false, want_exclusive;
	__u64 raw, count, flags;

	/* Pages that no live member ever mapped are not looked at. */
	for (m = 0; m < sc->nr_members; m++)
		used |= sc->alive[m] && sc_mapped(sc_expect(sc, m, r, i));
	if (!used)
		return 0;
	for (m = 0; m < sc->nr_members; m++) {
		if (!sc->alive[m])
			continue;
		if (snap->pagemap_fd[m] < 0 ||
		    pagemap_read_raw(snap->pagemap_fd[m],
				     (unsigned long)sc_addr(sc, r, i), &raw))
			return 1;
		pagemap_decode(raw, &e[m]);
	}
	for (m = 0; m < sc->nr_members; m++) {
		struct sc_page *pg = sc_expect(sc, m, r, i);

		if (!sc->alive[m] || pg->state == SC_ZERO ||
		    pg->state == SC_LAZYFREE)
			continue;
		if (pg->state == SC_UNMAPPED) {
			if (e[m].present || e[m].swapped) {
				sc_log(sc, "%s: P%d R%d page %d: mapped, expected no mapping",
				       when, m, r, i);
				bad++;
			}
			continue;
		}
		if (!e[m].present || e[m].swapped || e[m].file || !e[m].pfn) {
			sc_log(sc, "%s: P%d R%d page %d: present %d swapped %d file %d pfn %#llx",
			       when, m, r, i, e[m].present, e[m].swapped,
			       e[m].file, (unsigned long long)e[m].pfn);
			bad++;
			continue;
		}
		for (q = m + 1; q < sc->nr_members; q++) {
			bool same, same_pfn;

			if (!sc->alive[q] ||
			    sc_expect(sc, q, r, i)->state != SC_TAGGED)
				continue;
			same = sc_same_copy(pg, sc_expect(sc, q, r, i));
			same_pfn = e[m].pfn == e[q].pfn;
			if (same == same_pfn)
				continue;
			sc_log(sc, "%s: R%d page %d: P%d pfn %#llx, P%d pfn %#llx, expected %s",
			       when, r, i, m, (unsigned long long)e[m].pfn, q,
			       (unsigned long long)e[q].pfn,
			       same ? "one shared page" : "separate copies");
			bad++;
		}
		if (sc->moves)
			bad += sc_check_moved_peers(sc, m, r, i, e[m].pfn, when,
						    snap);
		mappers = sc_mappers(sc, r, i, pg);
		want_exclusive = mappers == 1;
		if (e[m].exclusive != want_exclusive) {
			sc_log(sc, "%s: P%d R%d page %d: exclusive bit %d with %d mappers",
			       when, m, r, i, e[m].exclusive, mappers);
			bad++;
		}
		if (kpagecount_get(e[m].pfn, &count) ||
		    count != (__u64)mappers) {
			sc_log(sc, "%s: P%d R%d page %d: kpagecount %llu, expected %d",
			       when, m, r, i, (unsigned long long)count,
			       mappers);
			bad++;
		}
		if (kpageflags_get(e[m].pfn, &flags) ||
		    !(flags & BIT_ULL(KPF_BIT_ANON)) ||
		    (sc->ksm_flag_reliable && (flags & BIT_ULL(KPF_BIT_KSM)))) {
			sc_log(sc, "%s: P%d R%d page %d: kpageflags %#llx: want ANON, not KSM",
			       when, m, r, i, (unsigned long long)flags);
			bad++;
		}
	}
	return bad;
}

/* The VMAs of region @r in member @m: extents and protections. */
static int sc_check_layout(struct scenario *sc, int m, int r, const char *when,
			   struct sc_snapshot *snap)
{
	unsigned long lo = (unsigned long)sc_addr(sc, r, 0);
	unsigned long hi = lo + SC_REGION_PAGES * page_size();
	struct vma_extent want[SC_REGION_PAGES], got[SC_REGION_PAGES + 2];
	int nr_want = 0, nr_got = 0, i, v;
	char a[512], b[512];

	for (i = 0; i < SC_REGION_PAGES; i++) {
		struct sc_page *pg = sc_expect(sc, m, r, i);

		if (!sc_mapped(pg))
			continue;
		if (pg->vma_start || !i || !sc_mapped(sc_expect(sc, m, r, i - 1))) {
			want[nr_want].start = (unsigned long)sc_addr(sc, r, i);
			snprintf(want[nr_want].perms, sizeof(want[0].perms),
				 "r%c-p", pg->readonly ? '-' : 'w');
			nr_want++;
		}
		want[nr_want - 1].end = (unsigned long)sc_addr(sc, r, i + 1);
	}
	for (v = 0; v < snap->nr_vmas[m]; v++) {
		struct smaps_vma *vma = &snap->vmas[m][v];

		/* PROT_NONE VMAs are the reservation around the regions. */
		if (vma->end <= lo || vma->start >= hi ||
		    !strcmp(vma->perms, "---p"))
			continue;
		if (nr_got == ARRAY_SIZE(got))
			break;
		got[nr_got].start = vma->start;
		got[nr_got].end = vma->end;
		memcpy(got[nr_got].perms, vma->perms, sizeof(got[0].perms));
		nr_got++;
	}
	for (i = 0; i < nr_want && i < nr_got; i++)
		if (want[i].start != got[i].start || want[i].end != got[i].end ||
		    strcmp(want[i].perms, got[i].perms))
			break;
	if (i == nr_want && i == nr_got)
		return 0;
	sc_log(sc, "%s: P%d R%d: VMAs %s, expected %s", when, m, r,
	       vma_layout_str(got, nr_got, lo, a, sizeof(a)),
	       vma_layout_str(want, nr_want, lo, b, sizeof(b)));
	return 1;
}

/*
 * smaps of region @r in every live member that maps part of it: Rss and
 * Anonymous count its copies, Shared_* those mapped by others too,
 * Private_* the rest, Locked the mlocked ones (shared by all mappers,
 * like Pss), and Pss summed over all members counts every copy once.
 */
/* Pss and copies summed over regions (pages moved between regions). */
struct sc_pss_sum {
	unsigned long pss, copies, slack, lazy;
};

/* Whether no member maps the copy @pg of (@m, @r, page @i) earlier. */
static bool sc_first_mapping(struct scenario *sc, int m, int r, int i,
			     const struct sc_page *pg)
{
	int k, q, r2, n;
	const int *regions;

	n = sc_peer_regions(sc, r, &regions);
	for (k = 0; k < n; k++) {
		r2 = regions[k];
		for (q = 0; q < sc->nr_members; q++) {
			if (r2 == r && q >= m)
				break;
			if (sc->alive[q] &&
			    sc_same_copy(sc_expect(sc, q, r2, i), pg))
				return false;
		}
		if (r2 == r)
			break;
	}
	return true;
}

static int sc_check_smaps(struct scenario *sc, int r, const char *when,
			  struct sc_snapshot *snap, struct sc_pss_sum *total)
{
	unsigned long lo = (unsigned long)sc_addr(sc, r, 0);
	unsigned long hi = lo + SC_REGION_PAGES * page_size();
	unsigned long kb = page_size() / 1024, pss_sum = 0, copies = 0;
	unsigned long slack = 0, lazy_all = 0;
	int m, i, v, bad = 0;

	for (m = 0; m < sc->nr_members; m++) {
		unsigned long tagged = 0, shared = 0, lazy = 0, vmas = 0;
		unsigned long locked_x = 0;	/* Locked in kB, times 840 */
		struct smaps_vma sum = { 0 };

		if (!sc->alive[m])
			continue;
		for (i = 0; i < SC_REGION_PAGES; i++) {
			struct sc_page *pg = sc_expect(sc, m, r, i);

			if (pg->state == SC_LAZYFREE)
				lazy++;
			if (pg->state != SC_TAGGED)
				continue;
			tagged++;
			shared += sc_mappers(sc, r, i, pg) > 1;
			/* 840 = lcm(1..8): shares of up to 8 mappers are exact */
			if (pg->locked)
				locked_x += kb * 840 / sc_mappers(sc, r, i, pg);
		}
		if (!tagged && !lazy)
			continue;
		for (v = 0; v < snap->nr_vmas[m]; v++) {
			struct smaps_vma *vma = &snap->vmas[m][v];

			if (vma->end <= lo || vma->start >= hi)
				continue;
			sum.rss += vma->rss;
			sum.pss += vma->pss;
			sum.anonymous += vma->anonymous;
			sum.shared_clean += vma->shared_clean;
			sum.shared_dirty += vma->shared_dirty;
			sum.private_clean += vma->private_clean;
			sum.private_dirty += vma->private_dirty;
			sum.locked += vma->locked;
			vmas++;
		}
		slack += vmas;	/* Pss and Locked are rounded down per VMA */
		/* MADV_FREE'd pages may or may not have been dropped. */
		if (sum.rss < tagged * kb || sum.rss > (tagged + lazy) * kb ||
		    sum.anonymous != sum.rss ||
		    sum.shared_clean + sum.shared_dirty != shared * kb ||
		    sum.private_clean + sum.private_dirty !=
		    sum.rss - shared * kb || sum.locked * 840 > locked_x ||
		    (sum.locked + vmas) * 840 < locked_x) {
			sc_log(sc, "%s: P%d R%d: kB rss/shr/lck %lu/%lu/%lu, want %lu+%lu/%lu/%lu",
			       when, m, r, sum.rss,
			       sum.shared_clean + sum.shared_dirty, sum.locked,
			       tagged * kb, lazy * kb, shared * kb,
			       locked_x / 840);
			bad++;
		}
		pss_sum += sum.pss;
		lazy_all += lazy;
	}
	/* Physical copies: one per distinct tag among the live members. */
	for (i = 0; i < SC_REGION_PAGES; i++)
		for (m = 0; m < sc->nr_members; m++)
			copies += sc->alive[m] &&
				  sc_expect(sc, m, r, i)->state == SC_TAGGED &&
				  sc_first_mapping(sc, m, r, i,
						   sc_expect(sc, m, r, i));
	/* A copy moved to another region shares Pss across regions. */
	if (sc->moves) {
		total->pss += pss_sum;
		total->copies += copies;
		total->slack += slack;
		total->lazy += lazy_all;
		return bad;
	}
	/* Pss is rounded down per VMA: "slack" kB may be missing. */
	if (pss_sum + slack < copies * kb ||
	    pss_sum > (copies + lazy_all) * kb) {
		sc_log(sc, "%s: R%d: Pss sums to %lu kB, expected %lu kB",
		       when, r, pss_sum, copies * kb);
		bad++;
	}
	return bad;
}

int sc_checkpoint(struct scenario *sc, const char *when)
{
	static struct sc_snapshot snap;
	struct sc_pss_sum total = { 0 };
	unsigned long kb = page_size() / 1024;
	int m, r, i, ret, bad = 0;

	sc->log_budget = SC_LOG_BUDGET;
	/* Members read every page: contents, and swap-in after a pageout. */
	ret = crew_broadcast(sc->crew, sc->alive, SC_CMD_VERIFY, SC_WAIT_MS);
	if (ret) {
		sc_log(sc, "%s: %d member(s) saw wrong page contents", when,
		       ret);
		bad++;
	}
	bad += sc_take_snapshot(sc, &snap);
	if (bad) {
		sc_drop_snapshot(sc, &snap);
		return bad;
	}
	for (r = 0; r < SC_MAX_REGIONS; r++) {
		for (i = 0; i < SC_REGION_PAGES; i++)
			bad += sc_check_page(sc, r, i, when, &snap);
		bad += sc_check_smaps(sc, r, when, &snap, &total);
		for (m = 0; m < sc->nr_members; m++)
			if (sc->alive[m])
				bad += sc_check_layout(sc, m, r, when, &snap);
	}
	sc_drop_snapshot(sc, &snap);
	if (sc->moves && (total.pss + total.slack < total.copies * kb ||
			  total.pss > (total.copies + total.lazy) * kb)) {
		sc_log(sc, "%s: Pss of all regions sums to %lu kB, expected %lu kB",
		       when, total.pss, total.copies * kb);
		bad++;
	}
	return bad;
}

/* ---- walks ------------------------------------------------------------- */

#define SC_MAX_PAGES	(SC_MAX_REGIONS * SC_REGION_PAGES)

int sc_migrate_walk(struct scenario *sc, int m, const int *nodes,
		    const char *when)
{
	static void *pages[SC_MAX_PAGES], *batch[SC_MAX_PAGES];
	static int where[SC_MAX_PAGES], status[SC_MAX_PAGES];
	static int target[SC_MAX_PAGES], idx[SC_MAX_PAGES];
	static int region[SC_MAX_PAGES], index[SC_MAX_PAGES];
	static __u64 before[SC_MAX_PAGES];
	pid_t pid = sc_pid(sc, m);
	struct pagemap_entry e, f;
	int r, i, k, q, p, side, ret, count = 0, bad = 0, nr_peers;
	const int *peers;

	sc->log_budget = SC_LOG_BUDGET;
	for (r = 0; r < SC_MAX_REGIONS; r++) {
		for (i = 0; i < SC_REGION_PAGES; i++) {
			if (sc_expect(sc, m, r, i)->state != SC_TAGGED)
				continue;
			region[count] = r;
			index[count] = i;
			pages[count++] = sc_addr(sc, r, i);
		}
	}
	if (!count)
		return 0;
	ret = pages_node(pid, pages, count, where);
	if (ret) {
		sc_log(sc, "%s: move_pages query of P%d: %d", when, m, ret);
		return 1;
	}
	for (k = 0; k < count; k++) {
		if (pagemap_get(pid, (unsigned long)pages[k], &e) || !e.pfn) {
			sc_log(sc, "%s: P%d page %p not mapped before migration",
			       when, m, pages[k]);
			return 1;
		}
		before[k] = e.pfn;
		target[k] = where[k] == nodes[0] ? nodes[1] : nodes[0];
	}
	/* One batch per target node. */
	for (side = 0; side < 2; side++) {
		int nr = 0;

		for (k = 0; k < count; k++)
			if (target[k] == nodes[side]) {
				idx[nr] = k;
				batch[nr++] = pages[k];
			}
		if (!nr)
			continue;
		ret = pages_move(pid, batch, nr, nodes[side], status);
		if (ret < 0) {
			sc_log(sc, "%s: move_pages of P%d failed: %d", when, m,
			       ret);
			return bad + 1;
		}
		for (k = 0; k < nr; k++) {
			if (status[k] == nodes[side])
				continue;
			sc_log(sc, "%s: P%d page %p not migrated to node %d: %d",
			       when, m, batch[k], nodes[side], status[k]);
			bad++;
			where[idx[k]] = -1;
		}
	}
	/* Every member mapping the same copy follows the page. */
	for (k = 0; k < count; k++) {
		struct sc_page *pg = sc_expect(sc, m, region[k], index[k]);

		if (where[k] < 0 ||
		    pagemap_get(pid, (unsigned long)pages[k], &e))
			continue;
		if (e.pfn == before[k]) {
			sc_log(sc, "%s: P%d R%d page %d: PFN unchanged by migration",
			       when, m, region[k], index[k]);
			bad++;
		}
		nr_peers = sc_peer_regions(sc, region[k], &peers);
		for (q = 0; q < sc->nr_members; q++) {
			for (p = 0; p < nr_peers; p++) {
				int r2 = peers[p];

				if ((q == m && r2 == region[k]) || !sc->alive[q] ||
				    !sc_same_copy(sc_expect(sc, q, r2, index[k]),
						  pg))
					continue;
				if (pagemap_get(sc_pid(sc, q),
						(unsigned long)sc_addr(sc, r2, index[k]),
						&f) || f.pfn != e.pfn) {
					sc_log(sc, "%s: page %d: P%d R%d %#llx, P%d R%d %#llx",
					       when, index[k], m, region[k],
					       (unsigned long long)e.pfn, q, r2,
					       (unsigned long long)f.pfn);
					bad++;
				}
			}
		}
	}
	return bad;
}

int sc_walk_all(struct scenario *sc, enum sc_walk walk, const int *nodes,
		const char *when)
{
	int m, bad = 0;

	if (walk == SC_NO_WALK)
		return 0;
	for (m = 0; m < sc->nr_members; m++) {
		if (!sc->alive[m])
			continue;
		if (walk == SC_MIGRATE_WALK)
			bad += sc_migrate_walk(sc, m, nodes, when);
		else
			bad += sc_pageout_walk(sc, m, when);
	}
	return bad + sc_checkpoint(sc, when);
}

struct scenario *sc_from_program(const char *program, char *err, size_t len)
{
	struct scenario *sc = sc_create(1);

	if (!sc) {
		snprintf(err, len, "out of memory");
		return NULL;
	}
	if (sc_parse(sc, program)) {
		snprintf(err, len, "bad program: %s", program);
		goto fail;
	}
	if (sc_finish(sc)) {
		snprintf(err, len, "cannot set up: %s", program);
		goto fail;
	}
	return sc;
fail:
	sc_destroy(sc);
	return NULL;
}

int sc_run(struct scenario *sc, const int *exit_order, enum sc_walk walk,
	   const int *nodes, char *err, size_t len)
{
	char when[64];
	int k, m, bad;

	if (sc_start(sc, err, len))
		return -1;
	bad = sc_checkpoint(sc, "built");
	bad += sc_walk_all(sc, walk, nodes, "walked after build");
	for (k = 0; k < sc->nr_members - 1; k++) {
		m = exit_order[k];
		if (sc_exit_member(sc, m)) {
			sc_log(sc, "P%d did not exit", m);
			return bad + 1;
		}
		snprintf(when, sizeof(when), "after P%d exited", m);
		bad += sc_checkpoint(sc, when);
		bad += sc_walk_all(sc, walk, nodes, when);
	}
	return bad;
}

bool swap_enabled(void)
{
	char buf[4096];

	/* /proc/swaps: a header line, then one line per swap area. */
	return read_text("/proc/swaps", buf, sizeof(buf)) > 0 &&
	       strchr(buf, '\n') && strchr(buf, '\n')[1];
}

int sc_pageout_walk(struct scenario *sc, int m, const char *when)
{
	struct pagemap_entry e;
	int r, i, try, status = 0, ret, left = 0, bad = 0;

	sc->log_budget = SC_LOG_BUDGET;
	/*
	 * A folio still in a per-CPU LRU batch cannot be isolated; the
	 * member drains its own CPU's batch (callers pin the scenario to one
	 * CPU, see pin_to_this_cpu()), and tries a few times.
	 */
	for (try = 0; try < 4; try++) {
		ret = crew_send(sc->crew, m, SC_CMD_PAGEOUT);
		if (!ret)
			ret = crew_collect(sc->crew, m, SC_WAIT_MS, &status);
		if (ret || status) {
			sc_log(sc, "%s: MADV_PAGEOUT in P%d failed: %d/%d",
			       when, m, ret, status);
			return 1;
		}
		left = 0;
		for (r = 0; r < SC_MAX_REGIONS; r++) {
			for (i = 0; i < SC_REGION_PAGES; i++) {
				struct sc_page *pg = sc_expect(sc, m, r, i);

				if (pg->state != SC_TAGGED || pg->locked ||
				    sc_mappers(sc, r, i, pg) != 1)
					continue;
				if (pagemap_get(sc_pid(sc, m),
						(unsigned long)sc_addr(sc, r, i),
						&e))
					return 1;
				left += !e.swapped;
			}
		}
		if (!left)
			break;
	}
	if (left) {
		sc_log(sc, "%s: P%d: %d exclusive page(s) not swapped out",
		       when, m, left);
		bad++;
	}
	/* Shared and mlocked copies stay where they are. */
	for (r = 0; r < SC_MAX_REGIONS; r++) {
		for (i = 0; i < SC_REGION_PAGES; i++) {
			struct sc_page *pg = sc_expect(sc, m, r, i);
			bool stays;

			if (pg->state != SC_TAGGED)
				continue;
			stays = pg->locked || sc_mappers(sc, r, i, pg) > 1;
			if (!stays ||
			    pagemap_get(sc_pid(sc, m),
					(unsigned long)sc_addr(sc, r, i), &e))
				continue;
			if (!e.present) {
				sc_log(sc, "%s: P%d R%d page %d: %s page swapped out",
				       when, m, r, i,
				       pg->locked ? "mlocked" : "shared");
				bad++;
			}
		}
	}
	return bad;
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
