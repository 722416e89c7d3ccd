// SPDX-License-Identifier: GPL-2.0
/*
 * fault: every allocation that fork, split, merge, mremap, UFFDIO_MOVE,
 * move_pages, MADV_COLLAPSE and write faults make can fail, and rmap
 * stays whole.
 *
 * The anon_vma code's error paths (anon_vma_clone() failing part-way,
 * __split_vma() after a failed clone, anon_vma_fork() unlinking a half
 * built VMA, a merge giving up on ENOMEM) run only when an allocation
 * fails, which a small GFP_KERNEL allocation never does by itself. Each
 * test fails the 1st, 2nd, 3rd ... failable allocation of one call
 * (/proc/thread-self/fail-nth, armed by the crew member making the call;
 * failslab and fail_page_alloc told to fail sleeping allocations too)
 * until the call no longer reaches an n-th one. Under ANON_VMA_LAZY fork
 * and splits of inherited VMAs allocate where they did not before.
 *
 * After every injected failure: the call returned success or its
 * documented error; the layout is one the kernel allows for that failure
 * (a split that fails half-way may keep its first split; an mremap that
 * fails leaves the pages where they were; UFFDIO_MOVE and move_pages
 * report partial progress, checked page by page); every page of every
 * process holds its contents where it must be mapped. Then the call
 * without injection succeeds; a migration walk and a pageout walk reach
 * every page; the kernel log is clean; and once the processes exit the
 * anon_vma, anon_vma_chain and vm_area_struct counts are back at the
 * baseline exactly. Each loop prints how many injection points it went
 * through and how many calls failed; a loop that never failed one is a
 * FAIL (the injection did not reach the call).
 *
 * The states (variants), P1 and P2 COW-writing pages of their own:
 *
 *   lazy        P0 [ 0 0 0 0 0 ... 0 ]            the call in P0, never forked
 *   upgraded    P0 [ 0 ... 0 ]  P1 [ 1 1 1 1 0 ... 0 ]      the call in P0
 *   inherited   the same, the call in P1
 *   grandchild  P2 [ 1 1 1 1 0 0 0 0 2 2 0 ... 0 ]          the call in P2
 *   orphaned    P1 as in inherited, but P0 exited: the call in P1 (its
 *               parent's anon_vma has no VMA left, fork may reuse it)
 *
 * fail-nth fails one allocation. anon_vma_clone() asks for each AVC
 * without sleeping first and falls back to GFP_KERNEL: its error path runs
 * only when both fail. The *_clone_exhausted tests therefore skip the
 * first k anon_vma_chain allocations of the call and fail the next two
 * (failslab limited to that cache and to the calling task: cache-filter,
 * task-filter, make-it-fail, space, times), for k = 0, 1, 2, ... until
 * the call no longer reaches a (k+1)-th.
 *
 * KSM merging is left out: ksmd, not the caller, makes its allocations.
 * Needs fail-nth (CONFIG_FAULT_INJECTION, FAILSLAB, FAIL_PAGE_ALLOC,
 * FAULT_INJECTION_DEBUG_FS): SKIPs without it; vmtest.sh's kernel has it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/mempolicy.h>
#include <linux/userfaultfd.h>

#include "../../kselftest_harness.h"
#include "harness_main.h"
#include "crew.h"
#include "env.h"
#include "fault_world.h"
#include "inject.h"
#include "khealth.h"

/*
 * The kernel writes a thread's rseq area on its way back to userspace
 * after a preemption or migration. Once fork made that page copy-on-write
 * in the caller, the write faults, and an injected failure of the copy's
 * allocation ends the caller with SIGSEGV (rseq_handle_notify_resume()
 * has no other way to fail). These tests fail allocations around fork on
 * purpose, so they run without rseq: glibc's glibc.pthread.rseq=0
 * tunable, set by executing the binary again, once.
 */
static void __attribute__((constructor)) no_rseq(int argc, char **argv)
{
	const char *was = getenv("GLIBC_TUNABLES");
	char tunables[512];

	(void)argc;
	if (was && strstr(was, "glibc.pthread.rseq=0"))
		return;
	snprintf(tunables, sizeof(tunables), "%s%sglibc.pthread.rseq=0",
		 was ? was : "", was && *was ? ":" : "");
	if (setenv("GLIBC_TUNABLES", tunables, 1))
		return;
	execv("/proc/self/exe", argv);
	/* Not possible here: run with rseq. */
}

/* ---- the oracles ------------------------------------------------------- */

/* The VMA starts and protections of member @m in [R0, R1 end). */
struct layout {
	int n;
	struct vma_extent v[8];
};

static int layout_of(struct fault_world *w, int m, struct layout *l)
{
	unsigned long lo = (unsigned long)region_at(w, R0);
	unsigned long hi = (unsigned long)region_at(w, R2) + w->pages * psize();

	l->n = vma_layout(crew_pid(w->crew, m), lo, hi, l->v, 8);
	return l->n < 0 || l->n > 8 ? -1 : 0;
}

static bool same_layout(const struct layout *a, const struct layout *b)
{
	int i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n && i < 8; i++)
		if (a->v[i].start != b->v[i].start || a->v[i].end != b->v[i].end ||
		    strcmp(a->v[i].perms, b->v[i].perms))
			return false;
	return true;
}

/* VMA boundaries of @l inside R0, as page offsets, as a bit mask. */
static unsigned long cuts(struct fault_world *w, const struct layout *l)
{
	unsigned long lo = (unsigned long)region_at(w, R0), mask = 0;
	int i;

	for (i = 0; i < l->n; i++) {
		long page = ((long)l->v[i].start - (long)lo) / (long)psize();

		if (page > 0 && page < w->pages && page < 64)
			mask |= 1UL << page;
	}
	return mask;
}

/* The protection of page @i of R0 in @l ("" when not mapped). */
static const char *perms_at(struct fault_world *w, const struct layout *l,
			    int i)
{
	unsigned long a = (unsigned long)region_at(w, R0) + i * psize();
	int k;

	for (k = 0; k < l->n; k++)
		if (l->v[k].start <= a && a < l->v[k].end)
			return l->v[k].perms;
	return "";
}

/* Whether page @i of region @r is mapped in @l (not the reservation). */
static bool mapped_at(struct fault_world *w, const struct layout *l, int r,
		      int i)
{
	unsigned long a = (unsigned long)region_at(w, r) + i * psize();
	int k;

	for (k = 0; k < l->n; k++)
		if (l->v[k].start <= a && a < l->v[k].end)
			return strcmp(l->v[k].perms, "---p") != 0;
	return false;
}

/* Pages [first, last) of member @m at region @r hold its contents. */
static int contents_bad(struct fault_world *w, int m, int r, int first,
			int last)
{
	struct page_tag tag;
	int i, bad = 0;

	for (i = first; i < last; i++) {
		tag = expected_tag(w, m, i);
		bad += page_seen_in(crew_pid(w->crew, m),
				    (unsigned long)region_at(w, r) + i * psize(),
				    &tag) != PAGE_TAGGED;
	}
	return bad;
}

/* Whether member @m is alive in the state (an orphan's parent is not). */
static bool alive(struct fault_world *w, int m)
{
	return m < w->members && !(w->state == ORPHANED && m == 0);
}

/* Every other member's pages, untouched by the call, are intact. */
static int others_bad(struct fault_world *w)
{
	int m, bad = 0;

	for (m = 0; m < w->members; m++)
		if (m != w->m && alive(w, m))
			bad += contents_bad(w, m, R0, 0, w->pages);
	return bad;
}

/*
 * After the write faults of OP_FIRST_WRITE: R2 reads as zeroes; when the
 * call succeeded, all of R2 is present and R0 [4, 8) is the member's own
 * (COWed when it was shared).
 */
static int first_write_bad(struct fault_world *w, bool ok)
{
	pid_t pid = crew_pid(w->crew, w->m);
	struct page_tag none = { 0 };
	struct pagemap_entry e;
	unsigned long a;
	int i, bad = 0;

	for (i = 0; ok && i < w->pages; i++) {
		a = (unsigned long)region_at(w, R2) + i * psize();
		bad += pagemap_get(pid, a, &e) || !e.present;
		a = (unsigned long)region_at(w, R0) + i * psize();
		if (i >= 4 && i < 8)
			bad += pagemap_get(pid, a, &e) || !e.exclusive;
	}
	/* Only what is there: a read would map the zero page. */
	for (i = 0; i < w->pages; i++) {
		a = (unsigned long)region_at(w, R2) + i * psize();
		if (pagemap_get(pid, a, &e))
			bad++;
		else if (e.present)
			bad += page_seen_in(pid, a, &none) != PAGE_ZERO;
	}
	return bad;
}

/*
 * The outcome of the call in @l with result @ret: one the kernel allows
 * (@ok: the call succeeded as a whole). 0, or a count of what is wrong.
 */
static int outcome_bad(struct __test_metadata *_metadata,
		       struct fault_world *w, enum fault_op op, int ret,
		       const struct layout *before, const struct layout *l,
		       bool ok)
{
	const unsigned long mid = 1UL << 4 | 1UL << 8;
	int bad = 0, i, k, first, last, n = w->pages;
	char text[256];
	unsigned long cut = cuts(w, l);

	switch (op) {
	case OP_FORK:
		/* A failed fork leaves the parent as it was, and no child. */
		if (!ok && !same_layout(l, before))
			bad++;
		bad += contents_bad(w, w->m, R0, 0, n);
		if (ok)
			bad += contents_bad(w, 3, R0, 0, n);
		break;
	case OP_MPROTECT_MIDDLE:
	case OP_MPROTECT_EDGE:
	case OP_MADVISE_MIDDLE:
	case OP_MLOCK_MIDDLE:
		first = op == OP_MPROTECT_EDGE ? 0 : 4;
		last = first + 4;
		if (ok) {
			/* [first, last) a VMA of its own. */
			unsigned long want = (first ? 1UL << first : 0) | 1UL << last;

			bad += cut != want;
			if (op != OP_MADVISE_MIDDLE && op != OP_MLOCK_MIDDLE)
				bad += strcmp(perms_at(w, l, first), "r--p") != 0;
		} else if (op == OP_MLOCK_MIDDLE) {
			/*
			 * Split and locked, but not all faulted in (EAGAIN),
			 * or stopped before: at most the two splits.
			 */
			bad += (cut & ~(1UL << first | 1UL << last)) != 0;
		} else {
			/* Unchanged, or the first split kept, nothing changed. */
			bad += (cut & ~(first ? 1UL << first : 1UL << last)) != 0;
			for (i = 0; i < n; i++)
				bad += strcmp(perms_at(w, l, i), "rw-p") != 0;
		}
		bad += contents_bad(w, w->m, R0, 0, n);
		break;
	case OP_MUNMAP_MIDDLE:
		for (i = 0; i < n; i++)
			bad += mapped_at(w, l, R0, i) == (ok && i >= 4 && i < 8);
		if (!ok)
			bad += (cut & ~(1UL << 4)) != 0;
		bad += contents_bad(w, w->m, R0, 0, 4) +
		       contents_bad(w, w->m, R0, 8, n) +
		       (ok ? 0 : contents_bad(w, w->m, R0, 4, 8));
		break;
	case OP_MERGE_BY_MMAP:
		/* R1 is mapped (merged into R0's VMA or not) or not at all. */
		for (i = 0; i < n; i++)
			bad += mapped_at(w, l, R1, i) != ok;
		bad += cut != 0 || contents_bad(w, w->m, R0, 0, n);
		break;
	case OP_MERGE_BY_MPROTECT:
		/* Merged back (or left in pieces, all rw), or unchanged. */
		for (i = 0; i < n; i++)
			bad += strcmp(perms_at(w, l, i),
				      ok || i < 4 || i >= 8 ? "rw-p" : "r--p") != 0;
		bad += (cut & ~mid) != 0 || (!ok && cut != mid);
		bad += contents_bad(w, w->m, R0, 0, n);
		break;
	case OP_MREMAP_MOVE:
	case OP_MREMAP_DONTUNMAP:
		/* Moved as a whole, or not at all: the pages at one place. */
		for (i = 0; i < n; i++) {
			bad += mapped_at(w, l, R2, i) != ok;
			bad += mapped_at(w, l, R0, i) !=
			       (!ok || op == OP_MREMAP_DONTUNMAP);
		}
		bad += contents_bad(w, w->m, ok ? R2 : R0, 0, n);
		break;
	case OP_MREMAP_DONTUNMAP_LOCKED:
		/*
		 * The source stays mapped (empty where moved); failed, the
		 * splits may stay, the pages where they were, R2 empty.
		 */
		for (i = 0; i < n; i++) {
			bad += !mapped_at(w, l, R0, i);
			bad += mapped_at(w, l, R2, i) != (ok && i >= 4 && i < 8);
		}
		bad += (cut & ~(1UL << 4 | 1UL << 8)) != 0;
		bad += contents_bad(w, w->m, R0, 0, 4) +
		       contents_bad(w, w->m, R0, 8, n) +
		       contents_bad(w, w->m, ok ? R2 : R0, 4, 8);
		break;
	case OP_MREMAP_GROW:
		for (i = 0; i < n; i++)
			bad += mapped_at(w, l, R0, i) != (ok || i < 8 || i >= 12);
		bad += contents_bad(w, w->m, R0, 0, 8) +
		       contents_bad(w, w->m, R0, 12, n);
		break;
	case OP_UFFD_MOVE:
		/* Partial progress: pages [first, first + moved) are at R2. */
		first = w->m == 2 ? 8 : 0;
		last = w->m == 2 ? 10 : 4;
		k = *w->moved > 0 ? *w->moved / (long)psize() : 0;
		if (ok && k != last - first)
			bad++;
		bad += contents_bad(w, w->m, R2, first, first + k) +
		       contents_bad(w, w->m, R0, first + k, n);
		break;
	case OP_FIRST_WRITE:
		/* Some or all faulted in: zeroes at R2, R0 as it was. */
		bad += first_write_bad(w, ok);
		bad += contents_bad(w, w->m, R0, 0, n);
		break;
	case OP_MOVE_PAGES:
	case OP_COLLAPSE:
		/* Wherever the pages are now, they are all there. */
		bad += contents_bad(w, w->m, R0, 0, n);
		break;
	case OP_SET_POLICY:
		bad++;		/* never a call of a loop */
		break;
	}
	if (bad)
		TH_LOG("%d things wrong after %s (ret %d): %s", bad,
		       ok ? "success" : "the failure", ret,
		       vma_layout_str(l->v, l->n < 8 ? l->n : 8,
				      (unsigned long)region_at(w, R0), text,
				      sizeof(text)));
	return bad + others_bad(w);
}

/* The documented errors of the call. */
static bool allowed_error(enum fault_op op, int ret)
{
	switch (op) {
	case OP_FORK:
		return ret == -ENOMEM || ret == -EAGAIN;
	case OP_UFFD_MOVE:
	case OP_COLLAPSE:
		return ret == -ENOMEM || ret == -EAGAIN || ret == -EBUSY;
	case OP_MADVISE_MIDDLE:
	case OP_MLOCK_MIDDLE:
		return ret == -ENOMEM || ret == -EAGAIN;
	default:
		return ret == -ENOMEM;
	}
}

/* ---- the walks ---------------------------------------------------------- */

/*
 * The present pages of member @m in region @r migrated, each to the node
 * it is not on (one call: the pages of a THP go together); the number
 * that did not arrive.
 */
static int migrate_bad(struct __test_metadata *_metadata,
		       struct fault_world *w, int m, int r)
{
	static void *pages[MAX_PAGES];
	static int node[MAX_PAGES], to[MAX_PAGES];
	pid_t pid = crew_pid(w->crew, m);
	struct pagemap_entry e;
	int i, n = 0, bad = 0;

	for (i = 0; i < w->pages; i++) {
		pages[n] = region_at(w, r) + i * psize();
		if (!pagemap_get(pid, (unsigned long)pages[n], &e) && e.present)
			n++;
	}
	if (!n)
		return 0;
	if (pages_move_away(pid, pages, n, w->nodes, to) < 0 ||
	    pages_node(pid, pages, n, node))
		return n;
	for (i = 0; i < n; i++)
		if (node[i] != to[i] && bad++ < 4)
			TH_LOG("P%d R%d page %ld not migrated", m, r,
			       ((char *)pages[i] - region_at(w, r)) / (long)psize());
	return bad;
}

/*
 * Every present page of every member in R0 and R2 migrated to the other
 * node (every page must arrive), then paged out (every page a member maps
 * alone must go to swap) and read back: the contents where they must be.
 */
static int walks_bad(struct __test_metadata *_metadata, struct fault_world *w)
{
	struct pagemap_entry e;
	int m, i, r, bad = 0;
	struct page_tag tag;
	pid_t pid;
	char *page;

	for (m = 0; m < w->members; m++) {
		if (!alive(w, m))
			continue;
		pid = crew_pid(w->crew, m);
		for (r = R0; r < NR_REGIONS; r += R2 - R0) {
			if (w->numa)
				bad += migrate_bad(_metadata, w, m, r);
			if (w->swap)
				crew_do(w->crew, m, CREW_MADVISE, r, 0, w->pages,
					MADV_PAGEOUT);
			for (i = 0; i < w->pages; i++) {
				page = region_at(w, r) + i * psize();
				if (pagemap_get(pid, (unsigned long)page, &e) ||
				    (!e.present && !e.swapped))
					continue;
				if (w->swap && e.present && e.exclusive) {
					TH_LOG("P%d R%d page %d not swapped out", m, r, i);
					bad++;
				}
				/* Zero-filled where the call mapped new memory. */
				tag = expected_tag(w, m, i);
				if (page_seen_in(pid, (unsigned long)page, &tag) ==
				    PAGE_OTHER) {
					TH_LOG("P%d R%d page %d: wrong contents", m, r, i);
					bad++;
				}
			}
		}
	}
	return bad;
}

/* ---- the fixtures ------------------------------------------------------ */

struct fault_fixture {
	struct fault_world w;
	struct slab_baseline slab;
	bool counted;
	struct khealth health;
};

static void fault_fixture_setup(struct __test_metadata *_metadata,
				struct fault_fixture *f, enum fault_state state,
				int member, int members, int pages,
				size_t align)
{
	const char *why = page_oracles_missing();
	struct fault_world *w = &f->w;
	char note[256];

	report_environment_once();
	w->uffd = -1;
	if (why)
		SKIP(return, "%s", why);
	why = inject_setup();
	if (why)
		SKIP(return, "%s", why);
	w->state = state;
	w->m = member;
	w->members = members;
	w->pages = pages;
	w->numa = numa_usable_nodes(w->nodes, 2) >= 2;
	w->swap = swap_enabled();
	/* MADV_PAGEOUT drains only this CPU's LRU batch (the members too). */
	ASSERT_EQ(0, pin_to_this_cpu());
	w->moved = shared_area(sizeof(*w->moved));
	ASSERT_NE(NULL, w->moved);
	w->reserved_len = (size_t)(3 * pages + 1) * psize() + align;
	w->base = reserve_range(w->reserved_len);
	ASSERT_NE(NULL, w->base);
	w->base = (char *)(((unsigned long)w->base + align - 1) & ~(align - 1));
	f->counted = slab_baseline_take(&f->slab, note, sizeof(note)) > 0;
	ASSERT_EQ(0, khealth_begin(&f->health, "fault"));
}

/*
 * The loop: for n = 1, 2, ... a fresh state, the call with its n-th
 * failable allocation failed, the outcome checked; until a call is not
 * failed any more (it did not reach an n-th), which must then succeed.
 */
static void fail_each_allocation(struct __test_metadata *_metadata,
				 struct fault_fixture *f, enum fault_op op,
				 const char *name, bool burst)
{
	struct fault_world *w = &f->w;
	struct layout before, after;
	int nth, ret, errors = 0, bad = 0;
	unsigned long avc_size = 0;
	char report[2048];
	bool injected = true;
	const char *why;

	if (op == OP_MOVE_PAGES && !w->numa)
		SKIP(return, "needs 2 NUMA nodes with memory for migration");
	if (burst) {
		why = inject_burst_setup(&avc_size);
		if (why)
			SKIP(return, "%s", why);
	}
	for (nth = 1; nth <= MAX_NTH && injected; nth++) {
		ASSERT_EQ(0, build(w)) TH_LOG("building the state");
		ASSERT_EQ(0, prepare(w, op));
		ASSERT_EQ(0, layout_of(w, w->m, &before));
		if (burst) {
			ASSERT_EQ(0, inject_burst_arm(avc_size, nth - 1));
			ret = call(w, op, -1, NULL);
			injected = inject_burst_fired();
		} else {
			ret = call(w, op, nth, &injected);
		}
		ASSERT_EQ(0, layout_of(w, w->m, &after));
		if (!injected) {
			/* It no longer reaches an n-th: a normal call. */
			EXPECT_EQ(0, ret) TH_LOG("%s without injection: %s", name,
						 strerror(-ret));
			EXPECT_EQ(0, outcome_bad(_metadata, w, op, ret, &before,
						 &after, true));
			break;
		}
		if (ret) {
			errors++;
			EXPECT_TRUE(allowed_error(op, ret))
				TH_LOG("%s, allocation %d failed: %s", name, nth,
				       strerror(-ret));
		}
		/*
		 * Partial progress (UFFDIO_MOVE, move_pages) is not "ok".
		 * Whatever the call left, rmap reaches it: a migration walk
		 * of the caller's pages.
		 */
		if (outcome_bad(_metadata, w, op, ret, &before, &after,
				!ret && op != OP_UFFD_MOVE) ||
		    (w->numa && (migrate_bad(_metadata, w, w->m, R0) ||
				 migrate_bad(_metadata, w, w->m, R2)))) {
			TH_LOG("... with allocation %d of %s failed", nth, name);
			bad++;
		}
	}
	TH_LOG("%s: %d injection points, %d calls failed with an error", name,
	       nth - 1, errors);
	EXPECT_EQ(0, bad);
	EXPECT_LT(0, errors) TH_LOG("no injected failure reached %s", name);
	EXPECT_GE(MAX_NTH, nth) TH_LOG("%s still failing at allocation %d",
				       name, MAX_NTH);
	/* The state after a normal call: every page reachable. */
	if (op == OP_MLOCK_MIDDLE)
		EXPECT_EQ(0, crew_do(w->crew, w->m, CREW_MUNLOCK, R0, 4, 8, 0));
	if (op == OP_MREMAP_DONTUNMAP_LOCKED) {
		EXPECT_EQ(0, crew_do(w->crew, w->m, CREW_MUNLOCK, R0, 0, w->pages, 0));
		EXPECT_EQ(0, crew_do(w->crew, w->m, CREW_MUNLOCK, R2, 4, 8, 0));
	}
	EXPECT_EQ(0, walks_bad(_metadata, w));
	crew_destroy(w->crew);
	w->crew = NULL;
	/*
	 * Counted before the kernel log is read: that read may grow this
	 * process's heap (a new anon VMA when the log is long).
	 */
	if (f->counted)
		EXPECT_EQ(0, slab_baseline_exceeded(&f->slab, 0, report,
						    sizeof(report)))
			TH_LOG("after every process exited: %s", report);
	EXPECT_EQ(0, khealth_check(&f->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

FIXTURE(fault) {
	struct fault_fixture f;
};

FIXTURE_VARIANT(fault) {
	enum fault_state state;
	int member;		/* who makes the call */
	int members;
};

FIXTURE_VARIANT_ADD(fault, lazy) {
	.state = LAZY, .member = 0, .members = 1,
};

FIXTURE_VARIANT_ADD(fault, upgraded) {
	.state = UPGRADED, .member = 0, .members = 2,
};

FIXTURE_VARIANT_ADD(fault, inherited) {
	.state = INHERITED, .member = 1, .members = 2,
};

FIXTURE_VARIANT_ADD(fault, grandchild) {
	.state = GRANDCHILD, .member = 2, .members = 3,
};

FIXTURE_VARIANT_ADD(fault, orphaned) {
	.state = ORPHANED, .member = 1, .members = 2,
};

FIXTURE_SETUP(fault)
{
	fault_fixture_setup(_metadata, &self->f, variant->state,
			    variant->member, variant->members, FPAGES, psize());
}

FIXTURE_TEARDOWN(fault)
{
	crew_destroy(self->f.w.crew);
	knob_restore_all();
}

TEST_F_TIMEOUT(fault, fork, 120)
{
	fail_each_allocation(_metadata, &self->f, OP_FORK,
			     "fork", false);
}

TEST_F_TIMEOUT(fault, mprotect_middle, 120)
{
	fail_each_allocation(_metadata, &self->f, OP_MPROTECT_MIDDLE,
			     "mprotect middle", false);
}

TEST_F_TIMEOUT(fault, mprotect_edge, 120)
{
	fail_each_allocation(_metadata, &self->f, OP_MPROTECT_EDGE,
			     "mprotect edge", false);
}

TEST_F_TIMEOUT(fault, munmap_middle, 120)
{
	fail_each_allocation(_metadata, &self->f, OP_MUNMAP_MIDDLE,
			     "munmap middle", false);
}

TEST_F_TIMEOUT(fault, madvise_middle, 120)
{
	fail_each_allocation(_metadata, &self->f, OP_MADVISE_MIDDLE,
			     "madvise middle", false);
}

TEST_F_TIMEOUT(fault, mlock_middle, 120)
{
	fail_each_allocation(_metadata, &self->f, OP_MLOCK_MIDDLE,
			     "mlock middle", false);
}

TEST_F_TIMEOUT(fault, merge_by_mmap, 120)
{
	fail_each_allocation(_metadata, &self->f, OP_MERGE_BY_MMAP,
			     "mmap next to it", false);
}

TEST_F_TIMEOUT(fault, merge_by_mprotect, 120)
{
	fail_each_allocation(_metadata, &self->f, OP_MERGE_BY_MPROTECT,
			     "mprotect back", false);
}

TEST_F_TIMEOUT(fault, mremap_move, 120)
{
	fail_each_allocation(_metadata, &self->f, OP_MREMAP_MOVE,
			     "mremap move", false);
}

TEST_F_TIMEOUT(fault, mremap_dontunmap, 120)
{
	fail_each_allocation(_metadata, &self->f, OP_MREMAP_DONTUNMAP,
			     "mremap dontunmap", false);
}

/* MREMAP_DONTUNMAP of the middle of an mlocked VMA: two splits first. */
TEST_F_TIMEOUT(fault, mremap_dontunmap_mlocked_part, 120)
{
	fail_each_allocation(_metadata, &self->f, OP_MREMAP_DONTUNMAP_LOCKED,
			     "mremap dontunmap mlocked", false);
}

TEST_F_TIMEOUT(fault, mremap_grow_into_neighbour, 120)
{
	fail_each_allocation(_metadata, &self->f, OP_MREMAP_GROW,
			     "mremap grow", false);
}

TEST_F_TIMEOUT(fault, fork_clone_exhausted, 120)
{
	fail_each_allocation(_metadata, &self->f, OP_FORK, "fork", true);
}

TEST_F_TIMEOUT(fault, split_clone_exhausted, 120)
{
	fail_each_allocation(_metadata, &self->f, OP_MPROTECT_MIDDLE,
			     "mprotect middle", true);
}

TEST_F_TIMEOUT(fault, mremap_clone_exhausted, 120)
{
	fail_each_allocation(_metadata, &self->f, OP_MREMAP_MOVE, "mremap move",
			     true);
}

TEST_F_TIMEOUT(fault, first_write, 120)
{
	fail_each_allocation(_metadata, &self->f, OP_FIRST_WRITE,
			     "first write faults", false);
}

TEST_F_TIMEOUT(fault, uffd_move, 120)
{
	const char *why;
	int fd;

	why = uffd_open(&fd, UFFD_FEATURE_MOVE,
			"no UFFD_FEATURE_MOVE (kernel older than 6.8)");
	if (fd >= 0)
		close(fd);
	if (why)
		SKIP(return, "%s", why);
	fail_each_allocation(_metadata, &self->f, OP_UFFD_MOVE,
			     "UFFDIO_MOVE", false);
}

TEST_F_TIMEOUT(fault, move_pages, 120)
{
	fail_each_allocation(_metadata, &self->f, OP_MOVE_PAGES,
			     "move_pages", false);
}

/*
 * MADV_COLLAPSE of a THP's worth of small pages, never forked and in an
 * inherited VMA (the child COW-wrote some, shares the rest with its
 * parent, which keeps its small pages): the huge page, the page table
 * and the copies can each fail to be allocated.
 */
FIXTURE(fault_thp) {
	struct fault_fixture f;
};

FIXTURE_VARIANT(fault_thp) {
	enum fault_state state;
	int member;
	int members;
};

FIXTURE_VARIANT_ADD(fault_thp, lazy) {
	.state = LAZY, .member = 0, .members = 1,
};

FIXTURE_VARIANT_ADD(fault_thp, inherited) {
	.state = INHERITED, .member = 1, .members = 2,
};

FIXTURE_SETUP(fault_thp)
{
	size_t thp = read_pmd_pagesize();
	char mode[64];

	if (!thp || thp / psize() > MAX_PAGES ||
	    read_text("/sys/kernel/mm/transparent_hugepage/enabled", mode,
		      sizeof(mode)) <= 0)
		SKIP(return, "no THP of at most %d pages", MAX_PAGES);
	fault_fixture_setup(_metadata, &self->f, variant->state,
			    variant->member, variant->members, thp / psize(),
			    thp);
	if (_metadata->exit_code)
		return;		/* skipped */
	if (strstr(mode, "[never]"))
		ASSERT_EQ(0, knob_set("/sys/kernel/mm/transparent_hugepage/enabled",
				      "madvise"));
}

FIXTURE_TEARDOWN(fault_thp)
{
	crew_destroy(self->f.w.crew);
	knob_restore_all();
}

TEST_F_TIMEOUT(fault_thp, madv_collapse, 120)
{
	fail_each_allocation(_metadata, &self->f, OP_COLLAPSE,
			     "MADV_COLLAPSE", false);
}

AVL_HARNESS_MAIN
