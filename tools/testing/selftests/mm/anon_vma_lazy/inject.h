/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fault injection for the error paths of the anon_vma code.
 *
 * fail-nth (/proc/thread-self/fail-nth, armed by a crew member around one
 * command: crew_do_nth()) fails the n-th failable allocation of a task,
 * but failslab and fail_page_alloc let only some allocations fail: by
 * default not the sleeping (GFP_KERNEL) ones. inject_setup() lets every
 * slab and page allocation fail.
 *
 * A burst fails several allocations in a row, which fail-nth cannot:
 * anon_vma_clone() asks for each anon_vma_chain without sleeping first
 * and retries with GFP_KERNEL, so its error path runs only when both
 * fail. inject_burst_setup() limits failslab to the anon_vma_chain cache
 * and to tasks with make-it-fail set (crew_do_nth() with a negative nth);
 * inject_burst_arm() lets @skip of those allocations through and fails
 * the next two; inject_burst_fired() disarms and says whether any failed.
 *
 * The setup functions return NULL, or why the kernel cannot do it (a
 * SKIP reason).
 */
#ifndef __AVL_INJECT_H
#define __AVL_INJECT_H

#include <stdbool.h>

const char *inject_setup(void);
const char *inject_burst_setup(unsigned long *avc_size);
int inject_burst_arm(unsigned long avc_size, int skip);
bool inject_burst_fired(void);

#endif /* __AVL_INJECT_H */
