// SPDX-License-Identifier: GPL-2.0
/*
 * The system around a test: knobs, KSM, NUMA, swap, slab counts and the
 * kernel's configuration. See env.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <linux/userfaultfd.h>

#include "env.h"
#include "oracles.h"

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

/*
 * Put one saved value back. KSM refuses to change max_page_sharing and
 * merge_across_nodes while KSM pages exist (EBUSY), also the stale ones of
 * processes that just exited: unmerge everything (run=2) and try again;
 * ksm/run itself was saved before and is put back after.
 */
static int knob_write_back(const struct saved_knob *k)
{
	int ret = write_text(k->path, k->value);

	if (ret == -EBUSY && !strncmp(k->path, KSM_SYSFS "/", strlen(KSM_SYSFS))) {
		write_text(KSM_SYSFS "/run", "2");
		ret = write_text(k->path, k->value);
	}
	return ret;
}

static void guard_restore(struct saved_knob *knobs, int count)
{
	while (count-- > 0)
		knob_write_back(&knobs[count]);
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

static void guard_run(int fd, void *unused)
{
	guard_main(fd);
}

static int guard_start(void)
{
	/* Close-on-exec: exec'd test processes do not keep the guard alive. */
	pid_t pid = fork_pipe_reader(guard_run, NULL, &guard_fd);

	if (pid < 0)
		return pid;
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

		err = knob_write_back(k);
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

	if (str_is_blank(p))
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
	return str_is_blank(p) ? count : -EINVAL;
}

int pin_to_node(pid_t pid, int node)
{
	int cpus[512], n, i, usable = 0;
	char path[80], buf[4096];
	cpu_set_t allowed, set;
	ssize_t len;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist",
		 node);
	len = read_text(path, buf, sizeof(buf));
	if (len < 0)
		return len;
	n = parse_node_list(buf, cpus, 512);
	if (n < 0)
		return n;
	if (sched_getaffinity(pid, sizeof(allowed), &allowed))
		return -errno;
	CPU_ZERO(&set);
	for (i = 0; i < n && i < 512; i++)
		if (cpus[i] < CPU_SETSIZE && CPU_ISSET(cpus[i], &allowed)) {
			CPU_SET(cpus[i], &set);
			usable++;
		}
	if (!usable)
		return -ENOENT;
	return sched_setaffinity(pid, sizeof(set), &set) ? -errno : 0;
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

int pages_move_away(pid_t pid, void **pages, int count, const int *nodes,
		    int *to)
{
	int *status = calloc(count, sizeof(*status));
	long ret;
	int i;

	if (!status)
		return -ENOMEM;
	ret = pages_node(pid, pages, count, status) ? -errno : 0;
	for (i = 0; !ret && i < count; i++)
		to[i] = status[i] == nodes[0] ? nodes[1] : nodes[0];
	if (!ret && syscall(SYS_move_pages, pid, count, pages, to, status,
			    MPOL_MF_MOVE_ALL_FLAG) < 0)
		ret = -errno;
	free(status);
	return ret;
}

/* ---- swap ------------------------------------------------------------- */

bool swap_enabled(void)
{
	char buf[4096];

	/* /proc/swaps: a header line, then one line per swap area. */
	return read_text("/proc/swaps", buf, sizeof(buf)) > 0 &&
	       strchr(buf, '\n') && strchr(buf, '\n')[1];
}

int vmstat_get(const char *name, unsigned long *value)
{
	char line[128], key[64];
	FILE *f = fopen("/proc/vmstat", "re");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (ret && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lu", key, value) == 2 &&
		    !strcmp(key, name))
			ret = 0;
	fclose(f);
	return ret;
}

/* ---- userfaultfd ------------------------------------------------------ */

const char *uffd_open(int *fd, __u64 features, const char *what)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };

	*fd = -1;
	if (kconfig_has("USERFAULTFD") == 0)
		return "no CONFIG_USERFAULTFD";
	*fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (*fd < 0 && (errno == EPERM || errno == EACCES))
		return "userfaultfd() not permitted here";
	if (*fd < 0)
		return NULL;
	if (ioctl(*fd, UFFDIO_API, &api) || (api.features & features) != features)
		return what;
	return NULL;
}

/* ---- memory cgroups --------------------------------------------------- */

#define MEMCG_PREFIX	"anon_vma_lazy."

/* The mount point of cgroup2, from mountinfo. */
static int cgroup2_root(char *root, size_t len)
{
	char line[1024], mnt[512];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* "... mount-point ... - cgroup2 ..." */
		if (!strstr(line, " - cgroup2 ") ||
		    sscanf(line, "%*s %*s %*s %*s %511s", mnt) != 1)
			continue;
		snprintf(root, len, "%s", mnt);
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

/* Whether the space-separated list @list holds @word. */
static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;

	while ((p = strstr(p, word))) {
		if ((p == list || p[-1] == ' ') &&
		    (p[n] == ' ' || p[n] == '\n' || !p[n]))
			return true;
		p += n;
	}
	return false;
}

/* Remove the cgroups of processes that are gone (a killed earlier run). */
static void memcg_remove_stale(const char *root)
{
	char path[1024];
	struct dirent *d;
	DIR *dp = opendir(root);
	long pid;

	if (!dp)
		return;
	while ((d = readdir(dp))) {
		if (strncmp(d->d_name, MEMCG_PREFIX, strlen(MEMCG_PREFIX)))
			continue;
		pid = atol(d->d_name + strlen(MEMCG_PREFIX));
		if (pid <= 0 || !kill(pid, 0) || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", root, d->d_name);
		rmdir(path);
	}
	closedir(dp);
}

const char *memcg_create(char *path, size_t len)
{
	char root[512], file[600], text[512];

	if (cgroup2_root(root, sizeof(root)))
		return "no cgroup2 mount (a cgroup v1 host: no memory.reclaim)";
	snprintf(file, sizeof(file), "%s/cgroup.subtree_control", root);
	if (read_text(file, text, sizeof(text)) < 0 || !has_word(text, "memory"))
		return "no memory controller for cgroup2's children (cgroup.subtree_control)";
	memcg_remove_stale(root);
	snprintf(path, len, "%s/" MEMCG_PREFIX "%d", root, getpid());
	if (mkdir(path, 0755) && errno != EEXIST)
		return "cannot create a cgroup";
	snprintf(file, sizeof(file), "%s/memory.reclaim", path);
	if (access(file, W_OK)) {
		rmdir(path);
		return "no memory.reclaim (kernel older than 5.19)";
	}
	return NULL;
}

int memcg_attach(const char *path, pid_t pid)
{
	char file[600], text[32];

	snprintf(file, sizeof(file), "%s/cgroup.procs", path);
	snprintf(text, sizeof(text), "%d", pid);
	return write_text(file, text);
}

int memcg_reclaim(const char *path, unsigned long bytes)
{
	char file[600];

	snprintf(file, sizeof(file), "%s/memory.reclaim", path);
	return write_ulong(file, bytes);
}

int memcg_destroy(const char *path)
{
	long long deadline = now_ms() + 5000;

	/* Members that just died may take a moment to leave. */
	while (rmdir(path)) {
		if (errno == ENOENT)
			return 0;
		if (errno != EBUSY || now_ms() >= deadline)
			return -errno;
		sleep_ms(10);
	}
	return 0;
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
