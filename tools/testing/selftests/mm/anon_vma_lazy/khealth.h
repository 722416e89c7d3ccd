/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel health around a test: the taint flags and the kernel log.
 *
 * khealth_begin() records the taint and writes a unique marker to
 * /dev/kmsg; khealth_check() fails when the taint changed or a kernel-log
 * line after the marker is a bug report (klog_patterns.h): a WARNING,
 * BUG, KASAN report, "Bad page", "Bad rss-counter", VM_BUG_ON output. A
 * broken rmap often shows only there, as a splat from the kernel's own
 * checks (DEBUG_VM, PAGE_TABLE_CHECK, DEBUG_LIST). Without root (no
 * /dev/kmsg) only the taint is tracked.
 */
#ifndef __AVL_KHEALTH_H
#define __AVL_KHEALTH_H

#include "util.h"

struct khealth {
	unsigned long taint;
	char marker[96];
	bool have_kmsg;
};

/* Record taint and write a unique marker for @what to /dev/kmsg. */
int khealth_begin(struct khealth *h, const char *what);
/*
 * 0 when the taint did not change and no kernel-log line after the marker
 * is a bug report; 1 otherwise, with the offending lines (and the taint
 * change) in @report; negative on error.
 */
int khealth_check(struct khealth *h, char *report, size_t len);
/*
 * Scan /dev/kmsg-format records ("pri,seq,ts,flags;text") from @f, starting
 * after the record whose text equals @marker (from the first record when
 * @marker is NULL). Offending lines go to @report. Returns the number of
 * offending lines, -ENOENT when @marker never appears.
 */
int klog_scan(FILE *f, const char *marker, char *report, size_t len);
/* Whether one kernel-log message is a bug report (klog_patterns.h). */
bool klog_line_is_bad(const char *text);

#endif /* __AVL_KHEALTH_H */
