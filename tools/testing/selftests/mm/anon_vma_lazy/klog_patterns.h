/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel log lines that mean the kernel itself is unhappy: a WARN(), BUG,
 * KASAN/UBSAN or list corruption report, a bad page or rss counter, a
 * lockup. khealth.c builds its table from this file and run_vmtests.sh
 * its grep pattern, so the tests and the runner judge the same lines:
 * keep one KLOG_*() per line, a plain string without '"' or '\'.
 *
 * KLOG_AT_START: the message starts with it (WARN() and lockdep reports
 * start "WARNING:"; boot notes such as "Spectre V2 : WARNING: ..." have it
 * in the middle). KLOG_ANYWHERE: the message contains it.
 */
KLOG_AT_START("WARNING:")
KLOG_ANYWHERE("BUG:")
KLOG_ANYWHERE("kernel BUG")
KLOG_ANYWHERE("KASAN")
KLOG_ANYWHERE("UBSAN")
KLOG_ANYWHERE("[ cut here ]")
KLOG_ANYWHERE("Bad page")
KLOG_ANYWHERE("Bad rss-counter")
KLOG_ANYWHERE("general protection fault")
KLOG_ANYWHERE("Unable to handle kernel")
KLOG_ANYWHERE("Oops")
KLOG_ANYWHERE("list_add corruption")
KLOG_ANYWHERE("list_del corruption")
KLOG_ANYWHERE("page_table_check")
KLOG_ANYWHERE("VM_BUG_ON")
KLOG_ANYWHERE("refcount_t:")
KLOG_ANYWHERE("INFO: task")
KLOG_ANYWHERE("self-detected stall")
KLOG_ANYWHERE("detected stalls on CPUs")
KLOG_ANYWHERE("soft lockup")
KLOG_ANYWHERE("hard LOCKUP")
KLOG_ANYWHERE("Kernel panic")
