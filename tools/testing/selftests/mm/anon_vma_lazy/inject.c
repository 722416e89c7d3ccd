// SPDX-License-Identifier: GPL-2.0
/*
 * The fault-injection attributes (failslab, fail_page_alloc in debugfs)
 * set up for fail-nth and for bursts; every knob through knob_set(), so
 * restored by knob_restore_all() or the guard process.
 */
#include <errno.h>
#include <unistd.h>

#include "env.h"
#include "inject.h"
#include "util.h"

#define DEBUGFS		"/sys/kernel/debug"

/*
 * fail-nth fails only allocations the attributes let fail: failslab and
 * fail_page_alloc leave sleeping (GFP_KERNEL) ones alone by default, and
 * fail_page_alloc highmem and small orders too. Saved and restored.
 */
const char *inject_setup(void)
{
	static const char * const knobs[][2] = {
		{ DEBUGFS "/failslab/ignore-gfp-wait", "N" },
		{ DEBUGFS "/failslab/verbose", "0" },
		{ DEBUGFS "/fail_page_alloc/ignore-gfp-wait", "N" },
		{ DEBUGFS "/fail_page_alloc/ignore-gfp-highmem", "N" },
		{ DEBUGFS "/fail_page_alloc/min-order", "0" },
		{ DEBUGFS "/fail_page_alloc/verbose", "0" },
	};
	unsigned int i;

	if (geteuid())
		return "needs root for fail-nth and debugfs";
	if (access("/proc/thread-self/fail-nth", W_OK))
		return "no fail-nth (CONFIG_FAULT_INJECTION)";
	if (access(DEBUGFS "/failslab", F_OK) ||
	    access(DEBUGFS "/fail_page_alloc", F_OK))
		return "no failslab/fail_page_alloc in debugfs (FAULT_INJECTION_DEBUG_FS)";
	for (i = 0; i < ARRAY_SIZE(knobs); i++)
		if (knob_set(knobs[i][0], knobs[i][1]))
			return "a fault-injection knob cannot be set";
	return NULL;
}

#define AVC_FAILSLAB	"/sys/kernel/slab/anon_vma_chain/failslab"

/*
 * failslab for bursts: only anon_vma_chain (cache-filter), only a task
 * with make-it-fail (task-filter), every call (probability 100) once
 * "space" is used up, "times" of them. NULL, or why not (a SKIP).
 */
const char *inject_burst_setup(unsigned long *avc_size)
{
	static const char * const knobs[][2] = {
		{ AVC_FAILSLAB, "1" },
		{ DEBUGFS "/failslab/cache-filter", "Y" },
		{ DEBUGFS "/failslab/task-filter", "Y" },
		{ DEBUGFS "/failslab/interval", "1" },
		{ DEBUGFS "/failslab/times", "0" },
		{ DEBUGFS "/failslab/space", "0" },
		{ DEBUGFS "/failslab/probability", "100" },
	};
	unsigned int i;

	if (access(AVC_FAILSLAB, W_OK) ||
	    read_ulong("/sys/kernel/slab/anon_vma_chain/object_size", avc_size))
		return "no /sys/kernel/slab/anon_vma_chain/failslab (CONFIG_FAILSLAB, SLUB)";
	for (i = 0; i < ARRAY_SIZE(knobs); i++)
		if (knob_set(knobs[i][0], knobs[i][1]))
			return "a failslab knob cannot be set";
	return NULL;
}

/* Arm: let @skip AVC allocations through, fail the next two. */
int inject_burst_arm(unsigned long avc_size, int skip)
{
	return write_ulong(DEBUGFS "/failslab/space", skip * avc_size + 1) ||
	       write_text(DEBUGFS "/failslab/times", "2") ? -EIO : 0;
}

/* Disarm; whether the burst failed anything (times went down). */
bool inject_burst_fired(void)
{
	unsigned long times = 2;

	read_ulong(DEBUGFS "/failslab/times", &times);
	write_text(DEBUGFS "/failslab/times", "0");
	return times < 2;
}
