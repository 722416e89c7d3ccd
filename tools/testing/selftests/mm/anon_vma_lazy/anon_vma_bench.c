// SPDX-License-Identifier: GPL-2.0
/*
 * anon_vma_bench: measure what ANON_VMA_LAZY claims - fewer anon_vma and
 * anon_vma_chain objects, a slightly faster fork - on any kernel, so that
 * two kernels (or the lazy switch on and off) can be compared.
 *
 *   anon_vma_bench [-o FILE.json] [-r ROUNDS] [-t SECONDS] [-n MAX_VMAS]
 *   anon_vma_bench compare BEFORE.json AFTER.json [-s PLOT.svg] [-T PERCENT]
 *
 * Memory: per scenario (N faulted one-page VMAs; the same after a fork; a
 * fork chain of depth 4; a fork tree of breadth 3 and depth 2, both with
 * the N VMAs in the root), the objects and KB of anon_vma, anon_vma_chain
 * and vm_area_struct the scenario added, and per VMA; counted with the
 * per-CPU slabs flushed. A cache merged with others is marked: its numbers
 * include foreign objects (boot with slab_nomerge).
 *
 * Time: fork's CPU time and fork+exit+wait latency against the number of
 * faulted VMAs (10, 100, 1000, 10000) with 1 and 8 pages per VMA, CPU time
 * of mmap and first fault and of munmap per VMA, and exit latency per VMA.
 * Pinned to one CPU, three warm-up runs per point, then rounds that sample
 * every point (at least ROUNDS (15) rounds and SECONDS (60) s): median,
 * min, max, coefficient of variation, and the median in units of a
 * reference (see below).
 *
 * Output: a table on stdout, JSON (one record per line) with -o, and with
 * compare a before/after table with the change in %, and an SVG plot of
 * fork latency against VMA count (gnuplot, from Debian's gnuplot-nox).
 * compare -T PERCENT checks repeat runs: exit 1 if a point's median in
 * reference units moved by more.
 * Built with the tests, not run by run_tests: it measures, it does not
 * judge.
 */
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "../../kselftest.h"
#include "env.h"

#define MAX_RECORDS	128

/* One measured value: a memory or a time figure. */
struct record {
	char kind[8];		/* "mem" or "time" */
	char what[48];		/* scenario or metric */
	char cache[24];		/* mem: which cache */
	long vmas, pages;
	double value;		/* mem: objects; time: median us */
	double kb, min, max, cv;
	double norm;		/* time: median in units of the reference */
	double ref;		/* time: median reference, us */
	int runs;		/* time: samples */
	int merged;
};

struct results {
	char kernel[128];
	int nr;
	struct record rec[MAX_RECORDS];
};

static struct record *add_record(struct results *res)
{
	if (res->nr == MAX_RECORDS)
		return NULL;
	memset(&res->rec[res->nr], 0, sizeof(res->rec[0]));
	return &res->rec[res->nr++];
}

static double clock_us(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double now_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* ---- memory ------------------------------------------------------------ */

static void read_caches(unsigned long *objs)
{
	int c;

	for (c = 0; c < NR_VMA_CACHES; c++)
		if (slab_active_objects(vma_caches[c], &objs[c]))
			objs[c] = 0;
}

/* @nr separated one-page VMAs of @pages pages, faulted. NULL on failure. */
static char *fault_vmas(long nr, long pages, size_t *len)
{
	size_t stride = (pages + 1) * psize();
	char *area, *p;
	long i, k;

	*len = nr * stride;
	area = reserve_range(*len);
	if (!area)
		return NULL;
	for (i = 0; i < nr; i++) {
		p = area + i * stride;
		if (mmap(p, pages * psize(), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != p) {
			munmap(area, *len);
			return NULL;
		}
		for (k = 0; k < pages; k++)
			p[k * psize()] = 1;
	}
	return area;
}

/* Fork @depth levels below us, each level forking @breadth children. */
static int fork_below(int breadth, int depth, int ready_fd, int hold_fd)
{
	pid_t pid;
	int b;
	char c;

	for (b = 0; b < breadth && depth > 0; b++) {
		pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0) {
			fork_below(breadth, depth - 1, ready_fd, hold_fd);
			_exit(0);
		}
	}
	/* Tell we are there, then hold until the measurement is done. */
	if (write(ready_fd, "r", 1) != 1)
		return -1;
	while (read(hold_fd, &c, 1) > 0)
		;
	while (wait(NULL) > 0)
		;
	return 0;
}

static int tree_size(int breadth, int depth)
{
	return depth ? 1 + breadth * tree_size(breadth, depth - 1) : 1;
}

/*
 * In a child: fault @nr VMAs, build a tree of @breadth and @depth below
 * (0, 0: nothing), and record what the caches gained.
 */
static int measure_memory(struct results *res, const char *what, long nr,
			  int breadth, int depth)
{
	unsigned long before[NR_VMA_CACHES], after[NR_VMA_CACHES];
	int ready[2], hold[2], c, n, members;
	size_t len;
	pid_t pid;
	char r;

	if (pipe(ready) || pipe(hold))
		return -1;
	read_caches(before);
	pid = fork();
	if (pid == 0) {
		close(hold[1]);
		close(ready[0]);
		if (!fault_vmas(nr, 1, &len))
			_exit(1);
		_exit(fork_below(breadth, depth, ready[1], hold[0]) ? 1 : 0);
	}
	close(hold[0]);
	close(ready[1]);
	members = tree_size(breadth, depth);
	for (n = 0; n < members; n++)
		if (read(ready[0], &r, 1) != 1)
			break;
	read_caches(after);
	close(hold[1]);
	close(ready[0]);
	reap_with_deadline(pid, 60000, &c);
	if (n < members)
		return -1;
	for (c = 0; c < NR_VMA_CACHES; c++) {
		struct record *rec = add_record(res);
		struct slab_count sc = { .objsize = 0 };

		if (!rec)
			return -1;
		slabinfo_get("/proc/slabinfo", vma_caches[c], &sc);
		snprintf(rec->kind, sizeof(rec->kind), "mem");
		snprintf(rec->what, sizeof(rec->what), "%s", what);
		snprintf(rec->cache, sizeof(rec->cache), "%s", vma_caches[c]);
		rec->vmas = nr;
		rec->value = (double)after[c] - (double)before[c];
		rec->kb = rec->value * sc.objsize / 1024;
		rec->merged = slab_cache_is_merged(vma_caches[c]) == 1;
	}
	return 0;
}

/* ---- time -------------------------------------------------------------- */

enum metric { FORK_CPU, FORK_EXIT_WAIT, FIRST_FAULT, MUNMAP, EXIT };

static const char * const metric_names[] = {
	[FORK_CPU] = "fork_cpu_us",
	[FORK_EXIT_WAIT] = "fork_exit_wait_us",
	[FIRST_FAULT] = "first_fault_us_per_vma",
	[MUNMAP] = "munmap_us_per_vma",
	[EXIT] = "exit_us_per_vma",
};

/* One run of @m with @nr VMAs of @pages pages, in microseconds. */
static double run_once(enum metric m, long nr, long pages)
{
	double t0, t = -1;
	int status, ready[2], go[2];
	size_t len;
	char *area, byte;
	pid_t pid;

	switch (m) {
	case FORK_CPU:
		/* The parent's CPU time in fork(): copying VMAs, anon_vmas, PTEs. */
		area = fault_vmas(nr, pages, &len);
		if (!area)
			return -1;
		t0 = clock_us(CLOCK_THREAD_CPUTIME_ID);
		pid = fork();
		if (pid == 0)
			_exit(0);
		t = clock_us(CLOCK_THREAD_CPUTIME_ID) - t0;
		if (pid < 0 || reap_with_deadline(pid, 60000, &status))
			t = -1;
		munmap(area, len);
		return t;
	case FORK_EXIT_WAIT:
	case MUNMAP:
		area = fault_vmas(nr, pages, &len);
		if (!area)
			return -1;
		if (m == MUNMAP) {
			/* CPU time: the work is ours, preemption is not. */
			t0 = clock_us(CLOCK_THREAD_CPUTIME_ID);
			munmap(area, len);
			return (clock_us(CLOCK_THREAD_CPUTIME_ID) - t0) / nr;
		}
		t0 = now_us();
		pid = fork();
		if (pid == 0)
			_exit(0);
		if (pid > 0 && !reap_with_deadline(pid, 60000, &status))
			t = now_us() - t0;
		munmap(area, len);
		return t;
	case FIRST_FAULT:
		t0 = clock_us(CLOCK_THREAD_CPUTIME_ID);
		area = fault_vmas(nr, pages, &len);
		t = area ? (clock_us(CLOCK_THREAD_CPUTIME_ID) - t0) / nr : -1;
		if (area)
			munmap(area, len);
		return t;
	case EXIT:
		/*
		 * From telling the child to exit to its reaping: the child
		 * waits for the word, or it could be gone before we look.
		 */
		if (pipe(ready))
			return -1;
		if (pipe(go)) {
			close(ready[0]);
			close(ready[1]);
			return -1;
		}
		pid = fork();
		if (pid == 0) {
			close(go[1]);
			status = fault_vmas(nr, pages, &len) ? 0 : 1;
			if (write(ready[1], "x", 1) != 1)
				status = 1;
			if (read(go[0], &byte, 1) != 1)
				status = 1;
			_exit(status);
		}
		close(ready[1]);
		close(go[0]);
		if (pid < 0 || read(ready[0], &byte, 1) != 1) {
			close(ready[0]);
			close(go[1]);
			if (pid > 0)
				reap_with_deadline(pid, 60000, &status);
			return -1;
		}
		close(ready[0]);
		t0 = now_us();
		if (write(go[1], "x", 1) != 1)
			t0 = -1;
		close(go[1]);
		if (reap_with_deadline(pid, 60000, &status) || status || t0 < 0)
			return -1;
		return (now_us() - t0) / nr;
	}
	return -1;
}

/*
 * This machine's speed is not constant: on a shared host, kernel work that
 * allocates and touches memory drifts by tens of per cent over seconds to
 * minutes (neighbours in the caches, host faults) while a cache-resident
 * loop does not. fork, fault and exit are such work, so two runs that
 * measure one point after the other disagree. Counter-measures:
 *  - every point is sampled in every round (round robin), so that all
 *    points see the same mix of fast and slow periods;
 *  - a point runs the same number of times per round in every run
 *    (BATCH_VMAS / VMAs): the first run of a batch finds the caches as the
 *    previous point left them (see point_warm_up());
 *  - before each point the time of a fixed piece of the same kind of kernel
 *    work is taken: fault in 4 MiB of base pages in one new VMA and unmap
 *    them, best of three. A round's reference is the median of those, and
 *    each run is also reported in units of it ("norm").
 * Raw medians stay the figures in microseconds. norm medians are what
 * repeat runs on one machine agree on; they are relative to this kernel's
 * fault path (one anon_vma_prepare() per 1024 faults), so compare kernels
 * of different versions by raw medians on a quiet machine.
 */
#define REF_BYTES	(4UL << 20)
#define MAX_ROUNDS	256
#define MAX_BATCH	16
#define MAX_SAMPLES	(MAX_ROUNDS * MAX_BATCH)
#define BATCH_VMAS	1000	/* small points: more runs per round */
#define MAX_POINTS	24

/* Fault in @bytes of base pages in one new VMA, and unmap them. */
static int fault_in_and_unmap(size_t bytes)
{
	size_t off;
	char *p;

	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	/* Base pages whatever THP is set to: the same work anywhere. */
	madvise(p, bytes, MADV_NOHUGEPAGE);
	for (off = 0; off < bytes; off += psize())
		p[off] = 1;
	return munmap(p, bytes) ? -errno : 0;
}

/* CPU time of fault_in_and_unmap(REF_BYTES), best of three, in us. */
static double reference_us(void)
{
	double t, best = 0;
	int i;

	for (i = 0; i < 3; i++) {
		t = clock_us(CLOCK_THREAD_CPUTIME_ID);
		if (fault_in_and_unmap(REF_BYTES))
			return -1;
		t = clock_us(CLOCK_THREAD_CPUTIME_ID) - t;
		if (!i || t < best)
			best = t;
	}
	return best;
}

/* One timed point: a metric at one size, sampled once per round. */
struct point {
	enum metric m;
	long nr, pages;
	int batch;			/* runs per round */
	int n;				/* samples so far */
	double us[MAX_SAMPLES];
	unsigned char round[MAX_SAMPLES];	/* when each was taken */
	double norm[MAX_SAMPLES];
};

/*
 * The reference of a round: the median of the references taken before
 * each point, so that the cache state a point leaves to the next does
 * not decide it.
 */
static double round_ref[MAX_ROUNDS];

static double median_of(double *v, int n)
{
	qsort(v, n, sizeof(v[0]), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * Warm @p up and size its batch: BATCH_VMAS / VMAs runs per round, 1 to
 * MAX_BATCH, and 1 instead of 2 to 9. The first run of a batch finds the caches as the previous
 * point left them and is slower: its share must be the same in every run
 * of the benchmark (a fixed batch, not one sized by a timing), and either
 * all (batch 1) or few (batch 10 and more) of the runs, never half: with
 * two runs per round the samples split into a cold and a warm half, and
 * the median of such a mix jumps between the two (the 1000-VMA points
 * moved by up to 10% between runs that way).
 */
static int point_warm_up(struct point *p)
{
	int i;

	for (i = 0; i < 3; i++)
		if (run_once(p->m, p->nr, p->pages) < 0)
			return -1;
	p->batch = BATCH_VMAS / p->nr;
	if (p->batch < 10)
		p->batch = 1;
	if (p->batch > MAX_BATCH)
		p->batch = MAX_BATCH;
	return 0;
}

static int point_round(struct point *p, int round)
{
	double t;
	int b;

	for (b = 0; b < p->batch; b++) {
		t = run_once(p->m, p->nr, p->pages);
		if (t < 0)
			return -1;
		p->round[p->n] = round;
		p->us[p->n++] = t;
	}
	return 0;
}

static int point_record(struct results *res, struct point *p)
{
	double sum = 0, sq = 0, mean;
	struct record *rec = add_record(res);
	int i;

	if (!rec || !p->n)
		return -1;
	for (i = 0; i < p->n; i++) {
		sum += p->us[i];
		sq += p->us[i] * p->us[i];
		p->norm[i] = p->us[i] / round_ref[p->round[i]];
	}
	mean = sum / p->n;
	snprintf(rec->kind, sizeof(rec->kind), "time");
	snprintf(rec->what, sizeof(rec->what), "%s", metric_names[p->m]);
	snprintf(rec->cache, sizeof(rec->cache), "-");	/* not a cache */
	rec->vmas = p->nr;
	rec->pages = p->pages;
	rec->value = median_of(p->us, p->n);
	rec->min = p->us[0];
	rec->max = p->us[p->n - 1];
	rec->cv = mean > 0 ? sqrt(fmax(sq / p->n - mean * mean, 0)) / mean : 0;
	rec->norm = median_of(p->norm, p->n);
	rec->runs = p->n;
	return 0;
}

/*
 * Sample all @nr points round robin: at least @min_rounds rounds, and
 * more until @budget_s seconds have passed (or MAX_ROUNDS).
 */
static int measure_points(struct results *res, struct point *points, int nr,
			  int min_rounds, double budget_s)
{
	double start, ref[MAX_POINTS], ref_median;
	int i, r;

	for (i = 0; i < nr; i++)
		if (point_warm_up(&points[i]))
			return -1;
	start = now_us();
	for (r = 0; r < MAX_ROUNDS; r++) {
		if (r >= min_rounds && now_us() - start >= budget_s * 1e6)
			break;
		for (i = 0; i < nr; i++) {
			ref[i] = reference_us();
			if (ref[i] <= 0 || point_round(&points[i], r)) {
				fprintf(stderr, "%s failed at %ld VMAs\n",
					metric_names[points[i].m], points[i].nr);
				return -1;
			}
		}
		round_ref[r] = median_of(ref, nr);
	}
	for (i = 0; i < nr; i++)
		if (point_record(res, &points[i]))
			return -1;
	/* The run's reference, for the record: how fast this machine was. */
	ref_median = median_of(round_ref, r);
	for (i = 0; i < res->nr; i++)
		if (!strcmp(res->rec[i].kind, "time"))
			res->rec[i].ref = ref_median;
	return 0;
}

/* ---- the machine ------------------------------------------------------- */

/*
 * Free page reporting (virtio-balloon's, in many cloud VMs) hands free
 * 2 MiB blocks back to the hypervisor, which discards them; the guest's
 * next use of such a block costs a fault on the host, at the host's speed.
 * Measured on a 2-CPU cloud VM: touching 8 GiB of reported memory took
 * 23.7 s, touching it again 4.0 s. Every fork and exit here allocates and
 * frees: raise page_reporting_order as far as the kernel takes it for the
 * run (knob_set(): restored at exit, or by its guard process if we are
 * killed), and back a pool of memory before timing.
 */
#define REPORTING_ORDER	"/sys/module/page_reporting/parameters/page_reporting_order"
#define BACKED_POOL	(1024UL * 1024 * 1024)

static void quiet_page_reporting(void)
{
	unsigned long order, tried;
	char text[24];

	if (geteuid() || read_ulong(REPORTING_ORDER, &order) || order >= 20)
		return;
	for (tried = 20; tried > order; tried--) {
		snprintf(text, sizeof(text), "%lu", tried);
		if (!knob_set(REPORTING_ORDER, text))
			break;
	}
	if (tried == order) {
		fprintf(stderr, "free page reporting at order %lu: %s\n", order,
			"cannot raise it, timings are noisier");
		return;
	}
	fprintf(stderr, "free page reporting: order %lu -> %lu for the run\n",
		order, tried);
	if (fault_in_and_unmap(BACKED_POOL))
		fprintf(stderr, "cannot back %lu MiB before timing\n",
			BACKED_POOL >> 20);
}

/* ---- output ------------------------------------------------------------ */

static void print_table(const struct results *res)
{
	const struct record *r;
	double ref = 0;
	int i;

	printf("kernel %s\n\n", res->kernel);
	printf("%-22s %-16s %10s %10s %8s\n", "State", "Object", "objects",
	       "KB", "per VMA");
	for (i = 0; i < res->nr; i++) {
		r = &res->rec[i];
		if (strcmp(r->kind, "mem"))
			continue;
		printf("%-22s %-16s %10.0f %10.1f %8.3f%s\n", r->what, r->cache,
		       r->value, r->kb, r->vmas ? r->value / r->vmas : 0,
		       r->merged ? "  (merged cache)" : "");
	}
	printf("\n%-24s %6s %5s %10s %10s %10s %6s %5s %8s\n", "Time",
	       "VMAs", "pages", "median us", "min", "max", "CV", "runs",
	       "norm");
	for (i = 0; i < res->nr; i++) {
		r = &res->rec[i];
		if (strcmp(r->kind, "time"))
			continue;
		printf("%-24s %6ld %5ld %10.2f %10.2f %10.2f %5.1f%% %5d %8.4g\n",
		       r->what, r->vmas, r->pages, r->value, r->min, r->max,
		       100 * r->cv, r->runs, r->norm);
		ref = r->ref;
	}
	if (ref <= 0)
		return;
	printf("\nnorm: median of each run's time over its round's reference,\n");
	printf("the CPU time of faulting in and unmapping 4 MiB (median %.0f us in this run)\n",
	       ref);
}

static int write_json(const struct results *res, const char *path)
{
	FILE *f = fopen(path, "w");
	const struct record *r;
	int i;

	if (!f)
		return -errno;
	fprintf(f, "{\"kernel\": \"%s\", \"records\": [\n", res->kernel);
	for (i = 0; i < res->nr; i++) {
		r = &res->rec[i];
		fprintf(f, "{\"kind\": \"%s\", \"what\": \"%s\", \"cache\": \"%s\", ",
			r->kind, r->what, r->cache);
		fprintf(f, "\"vmas\": %ld, \"pages\": %ld, \"value\": %.3f, ",
			r->vmas, r->pages, r->value);
		fprintf(f, "\"kb\": %.3f, \"min\": %.3f, \"max\": %.3f, ",
			r->kb, r->min, r->max);
		fprintf(f, "\"cv\": %.4f, \"norm\": %.6g, \"ref\": %.3f, ",
			r->cv, r->norm, r->ref);
		fprintf(f, "\"runs\": %d, \"merged\": %d}%s\n", r->runs,
			r->merged, i + 1 < res->nr ? "," : "");
	}
	fprintf(f, "]}\n");
	return fclose(f) ? -errno : 0;
}

/* sscanf() the value of "@key": in @line with @fmt: 1 when found. */
static int json_field(const char *line, const char *key, const char *fmt,
		      void *value)
{
	char pattern[32];
	const char *p;

	snprintf(pattern, sizeof(pattern), "\"%s\": ", key);
	p = strstr(line, pattern);
	return p && sscanf(p + strlen(pattern), fmt, value) == 1;
}

/* Our own JSON back: one record per line, as write_json() puts it. */
static int read_json(const char *path, struct results *res)
{
	char line[1024];
	FILE *f = fopen(path, "r");
	struct record *r;
	int found;

	if (!f)
		return -errno;
	memset(res, 0, sizeof(*res));
	while (fgets(line, sizeof(line), f)) {
		if (json_field(line, "kernel", "\"%127[^\"]", res->kernel))
			continue;
		r = add_record(res);
		if (!r)
			break;
		found = json_field(line, "kind", "\"%7[^\"]", r->kind) +
			json_field(line, "what", "\"%47[^\"]", r->what) +
			json_field(line, "cache", "\"%23[^\"]", r->cache) +
			json_field(line, "vmas", "%ld", &r->vmas) +
			json_field(line, "pages", "%ld", &r->pages) +
			json_field(line, "value", "%lf", &r->value) +
			json_field(line, "kb", "%lf", &r->kb) +
			json_field(line, "min", "%lf", &r->min) +
			json_field(line, "max", "%lf", &r->max) +
			json_field(line, "cv", "%lf", &r->cv) +
			json_field(line, "merged", "%d", &r->merged);
		if (found != 11) {
			res->nr--;	/* not a record line */
			continue;
		}
		/* Results of older versions have no reference. */
		json_field(line, "norm", "%lf", &r->norm);
		json_field(line, "ref", "%lf", &r->ref);
		json_field(line, "runs", "%d", &r->runs);
	}
	fclose(f);
	return res->nr ? 0 : -EINVAL;
}

static const struct record *find(const struct results *res,
				 const struct record *like)
{
	int i;

	for (i = 0; i < res->nr; i++) {
		const struct record *r = &res->rec[i];

		if (!strcmp(r->kind, like->kind) && !strcmp(r->what, like->what) &&
		    !strcmp(r->cache, like->cache) && r->vmas == like->vmas &&
		    r->pages == like->pages)
			return r;
	}
	return NULL;
}

static void print_change(const char *label, double a, double b, int prec)
{
	printf("%-44s %12.*f %12.*f", label, prec, a, prec, b);
	if (a != 0)
		printf(" %+8.1f%%\n", 100 * (b - a) / fabs(a));
	else
		printf(" %9s\n", "-");
}

static int plot_svg(const struct results *a, const struct results *b,
		    const char *svg)
{
	char data[2][64] = { "/tmp/avl-bench-a.XXXXXX", "/tmp/avl-bench-b.XXXXXX" };
	const struct results *set[2] = { a, b };
	char cmd[1024];
	FILE *f;
	int s, i, fd, ret;

	for (s = 0; s < 2; s++) {
		fd = mkstemp(data[s]);
		f = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (!f)
			return -errno;
		for (i = 0; i < set[s]->nr; i++) {
			const struct record *r = &set[s]->rec[i];

			if (!strcmp(r->what, metric_names[FORK_CPU]) &&
			    r->pages == 1)
				fprintf(f, "%ld %.3f %.3f %.3f\n", r->vmas,
					r->value, r->min, r->max);
		}
		fclose(f);
	}
	snprintf(cmd, sizeof(cmd),
		 "gnuplot -e \"%s; %s '%s'; %s; %s; %s; %s; %s '%s' %s '%s', '%s' %s '%s'\"",
		 "set terminal svg size 720,440", "set output", svg,
		 "set logscale xy", "set key top left",
		 "set xlabel 'faulted VMAs (1 page each)'",
		 "set ylabel 'CPU time in fork(), us (median, min-max)'",
		 "plot", data[0], "using 1:2:3:4 with yerrorlines title",
		 a->kernel, data[1], "using 1:2:3:4 with yerrorlines title",
		 b->kernel);
	ret = system(cmd);
	unlink(data[0]);
	unlink(data[1]);
	return ret ? -EIO : 0;
}

/* The run's median reference time (0 in results of older versions). */
static double run_reference(const struct results *res)
{
	int i;

	for (i = 0; i < res->nr; i++)
		if (!strcmp(res->rec[i].kind, "time"))
			return res->rec[i].ref;
	return 0;
}

/*
 * Before/after table. With @tolerance >= 0 (repeat runs of one kernel on
 * one machine), fail when a time point's norm median moved by more.
 */
static int compare(const char *fa, const char *fb, const char *svg,
		   double tolerance)
{
	static struct results a, b;
	const struct record *r, *o;
	char label[96];
	int i, beyond = 0;
	double change, ref_a, ref_b;

	if (read_json(fa, &a) || read_json(fb, &b)) {
		fprintf(stderr, "cannot read %s or %s\n", fa, fb);
		return 2;
	}
	printf("before: %s (%s)\nafter:  %s (%s)\n\n", fa, a.kernel, fb,
	       b.kernel);
	printf("%-44s %12s %12s %9s\n", "", "before", "after", "change");
	for (i = 0; i < a.nr; i++) {
		r = &a.rec[i];
		o = find(&b, r);
		if (!o)
			continue;
		if (!strcmp(r->kind, "mem")) {
			snprintf(label, sizeof(label), "%s %s KB%s", r->what,
				 r->cache, r->merged || o->merged ? " (merged)" : "");
			print_change(label, r->kb, o->kb, 1);
			continue;
		}
		snprintf(label, sizeof(label), "%s %ld x %ld", r->what,
			 r->vmas, r->pages);
		print_change(label, r->value, o->value, 2);
		if (r->norm <= 0 || o->norm <= 0)
			continue;
		snprintf(label, sizeof(label), "  norm");
		print_change(label, r->norm, o->norm, 6);
		change = 100 * fabs(o->norm - r->norm) / r->norm;
		if (tolerance >= 0 && change > tolerance) {
			fprintf(stderr, "%s %ld x %ld: norm median moved %.1f%% (> %.1f%%)\n",
				r->what, r->vmas, r->pages, change, tolerance);
			beyond++;
		}
	}
	ref_a = run_reference(&a);
	ref_b = run_reference(&b);
	if (ref_a > 0 && ref_b > 0) {
		print_change("reference: fault in 4 MiB, us", ref_a, ref_b, 2);
		change = 100 * fabs(ref_b - ref_a) / ref_a;
		if (tolerance >= 0 && change > tolerance)
			fprintf(stderr, "the reference moved %.1f%%: %s\n",
				change, "the machine's speed differed between the runs");
	}
	if (svg && plot_svg(&a, &b, svg))
		fprintf(stderr, "no plot: is gnuplot installed (gnuplot-nox)?\n");
	return beyond ? 1 : 0;
}

static void print_usage(FILE *f)
{
	fprintf(f, "usage: anon_vma_bench [-o FILE.json] [-r ROUNDS] [-t SECONDS] [-n MAX_VMAS]\n"
		   "       anon_vma_bench compare BEFORE.json AFTER.json [-s PLOT.svg] [-T PERCENT]\n");
}

static int compare_main(int argc, char **argv)
{
	const char *svg = NULL;
	double tolerance = -1;
	int opt;

	while ((opt = getopt(argc, argv, "s:T:")) != -1) {
		switch (opt) {
		case 's':
			svg = optarg;
			break;
		case 'T':
			tolerance = atof(optarg);
			break;
		default:
			print_usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		print_usage(stderr);
		return 2;
	}
	return compare(argv[optind], argv[optind + 1], svg, tolerance);
}

static void set_point(struct point *p, enum metric m, long nr, long pages)
{
	p->m = m;
	p->nr = nr;
	p->pages = pages;
}

/* The timed points, in round order. */
static int add_points(struct point *points, long max_vmas, long nr)
{
	static const long counts[] = { 10, 100, 1000, 10000 };
	int n = 0, m, pages;
	unsigned int k;

	for (m = FORK_CPU; m <= FORK_EXIT_WAIT; m++)
		for (pages = 1; pages <= 8; pages *= 8)
			for (k = 0; k < ARRAY_SIZE(counts) &&
			     counts[k] <= max_vmas; k++)
				set_point(&points[n++], m, counts[k], pages);
	for (m = FIRST_FAULT; m <= EXIT; m++)
		set_point(&points[n++], m, nr, 1);
	return n;
}

int main(int argc, char **argv)
{
	static struct point points[MAX_POINTS];
	static struct results res;
	const char *json = NULL;
	long max_vmas = 10000, nr = 1000;
	int opt, rounds = 15, nr_points, ret;
	double budget_s = 60;
	struct utsname u;

	if (argc >= 2 && !strcmp(argv[1], "compare"))
		return compare_main(argc - 1, argv + 1);
	while ((opt = getopt(argc, argv, "o:r:t:n:h")) != -1) {
		switch (opt) {
		case 'o':
			json = optarg;
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 't':
			budget_s = atof(optarg);
			break;
		case 'n':
			max_vmas = atol(optarg);
			break;
		case 'h':
			print_usage(stdout);
			return 0;
		default:
			print_usage(stderr);
			return 2;
		}
	}
	if (optind != argc || rounds < 3 || rounds > MAX_ROUNDS ||
	    budget_s < 0 || max_vmas < 10) {
		print_usage(stderr);
		return 2;
	}
	if (geteuid())
		fprintf(stderr, "not root: slab counts unavailable, memory figures are 0\n");
	uname(&u);
	snprintf(res.kernel, sizeof(res.kernel), "%s", u.release);
	if (pin_to_this_cpu())
		fprintf(stderr, "could not pin to one CPU: timings are noisier\n");
	quiet_page_reporting();

	if (nr > max_vmas)
		nr = max_vmas;
	if (measure_memory(&res, "faulted_vmas", nr, 0, 0) ||
	    measure_memory(&res, "after_fork", nr, 1, 1) ||
	    measure_memory(&res, "fork_chain_depth4", nr, 1, 4) ||
	    measure_memory(&res, "fork_tree_3x2", nr, 3, 2))
		fprintf(stderr, "a memory scenario failed\n");
	nr_points = add_points(points, max_vmas, nr);
	ret = measure_points(&res, points, nr_points, rounds, budget_s);
	knob_restore_all();
	if (ret) {
		fprintf(stderr, "timing failed\n");
		return 1;
	}
	print_table(&res);
	if (json && write_json(&res, json)) {
		fprintf(stderr, "cannot write %s\n", json);
		return 1;
	}
	return 0;
}
