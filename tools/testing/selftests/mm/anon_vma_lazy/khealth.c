// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel health: taint and kernel log. See khealth.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "khealth.h"

static const struct klog_pattern {
	const char *text;
	bool at_start;
} klog_patterns[] = {
#define KLOG_AT_START(s)	{ s, true },
#define KLOG_ANYWHERE(s)	{ s, false },
#include "klog_patterns.h"
#undef KLOG_AT_START
#undef KLOG_ANYWHERE
};

bool klog_line_is_bad(const char *text)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(klog_patterns); i++) {
		const struct klog_pattern *k = &klog_patterns[i];

		if (k->at_start ? !strncmp(text, k->text, strlen(k->text)) :
				  !!strstr(text, k->text))
			return true;
	}
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
