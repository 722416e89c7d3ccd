/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers every anon_vma_lazy test uses: time, address space, CPU
 * pinning, seeds, and reading and writing small procfs/sysfs files.
 *
 * The page size, the pagemap bits and the PMD-sized THP come from mm's
 * vm_util.h (psize(), PM_*, read_pmd_pagesize()); this header includes it,
 * and is the only one that does (6.12's vm_util.h has no include guard),
 * after kselftest.h (__printf, __noreturn).
 *
 * Helpers return an error (negative errno) and never exit or report a test
 * result: only test bodies decide PASS, FAIL or SKIP.
 */
#ifndef __AVL_UTIL_H
#define __AVL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <linux/types.h>

#include "../../kselftest.h"
#include "../vm_util.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(arr) (sizeof(arr) / sizeof((arr)[0]))
#endif

/* Milliseconds on CLOCK_MONOTONIC; a sleep that EINTR does not cut short. */
long long now_ms(void);
void sleep_ms(long ms);

/*
 * Reserve @size bytes of address space as PROT_NONE, so a test places its
 * VMAs inside at fixed offsets with MAP_FIXED: layouts are then
 * deterministic and no neighbour from the harness merges in. NULL on
 * failure.
 */
void *reserve_range(size_t size);
/* A zeroed MAP_SHARED anonymous area that survives fork, or NULL. */
void *shared_area(size_t size);

/*
 * Run this process (and what it forks from now on) on the CPU it is on.
 * A new folio waits in a per-CPU batch before it reaches the LRU, and
 * MADV_PAGEOUT drains only the local CPU's batch: pageout tests pin their
 * processes so that every folio they fault is drained by their own pageout.
 */
int pin_to_this_cpu(void);

/* splitmix64: one well-mixed 64-bit word from another. */
static inline __u64 splitmix64(__u64 x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/*
 * The random seed of this binary: $AVL_SEED when set, otherwise derived
 * from the time. Printed with the way to replay it.
 */
unsigned long test_seed(void);

/*
 * Strict unsigned decimal at @s: optional blanks, digits; @end (may be
 * NULL) receives the first character after them. 0, -EINVAL or -ERANGE.
 */
int parse_ulong(const char *s, unsigned long *value, const char **end);
/* Whether @s holds nothing but blanks and newlines. */
bool str_is_blank(const char *s);

/*
 * Small file into @buf, NUL-terminated; returns its length (at most
 * @len - 1: longer files are cut) or -errno. write_text() does not
 * truncate: it is meant for sysfs and procfs knobs.
 */
ssize_t read_text(const char *path, char *buf, size_t len);
int write_text(const char *path, const char *text);
/* A file holding one unsigned decimal number (and maybe a newline). */
int read_ulong(const char *path, unsigned long *value);
int write_ulong(const char *path, unsigned long value);

/*
 * Wait for child @pid with a deadline; on timeout kill it (SIGKILL) and
 * reap it. Returns 0 with the wait status in @status, -ETIMEDOUT (then
 * reaped), or -errno (e.g. -ECHILD: not our child).
 */
int reap_with_deadline(pid_t pid, int timeout_ms, int *status);

/*
 * Fork a process that runs @fn(read end, @arg) (and must not return) on
 * a pipe whose write end, close-on-exec, this process keeps in @wfd: the
 * child sees end of file once every holder of the write end is gone.
 * Returns the child's pid or -errno.
 */
pid_t fork_pipe_reader(void (*fn)(int fd, void *arg), void *arg, int *wfd);

/* A byte from @fd within @timeout_ms: the byte, or -1. */
int wait_byte(int fd, int timeout_ms);
/*
 * The state letter of /proc/@pid/stat ('R', 'S', 'D', 'Z', ...), or 0
 * when the process is gone.
 */
/* State letter and parent of @pid from /proc/@pid/stat: 0 or -errno. */
int proc_stat(pid_t pid, char *state, pid_t *ppid);
char proc_state(pid_t pid);

#endif /* __AVL_UTIL_H */
