// SPDX-License-Identifier: GPL-2.0
/*
 * swap: swap entries and swap-in of anonymous pages where several
 * mappings or threads meet them at once.
 *
 *   memcg_mlock_onfault  pages swapped out, then mlock2(MLOCK_ONFAULT) and
 *                        read back: each is mlocked as its rmap is added
 *                        again, and reclaim must leave it mapped
 *   memcg_swap_shared    one swap entry per page mapped by 64 processes
 *                        (past SWAP_MAP_MAX the count needs a
 *                        continuation page): one folio at one PFN in all
 *                        when read back, reclaimed from all 64 again
 *   swapin_race          two threads fault the same swap entries at once
 *
 * The memcg_* tests charge their crew to a fresh memory cgroup
 * (memcg_world.h). Everything here needs swap: it SKIPs without it (runs
 * in vmtest.sh, whose guest swaps to zram).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "../../kselftest_harness.h"
#include "harness_main.h"
#include "memcg_world.h"

/* ---- memcg_mlock_onfault: swap-in into a locked VMA --------------------- */

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT	0x01
#endif

/*
 * mlock2(MLOCK_ONFAULT) of pages that are swapped out locks the VMA and
 * leaves the swap entries alone (only present pages are mlocked then). A
 * fault brings each page back, and adding its anon rmap in a VM_LOCKED
 * VMA mlocks the folio: reclaim must never swap it out again while the
 * VMA is locked, and swaps it out once munlocked.
 *
 *   P0 [ A A ... A ]   MADV_PAGEOUT: every page a swap entry
 *   mlock2(MLOCK_ONFAULT), P0 reads every page back
 *   memory.reclaim x3: every page stays; munlock, memory.reclaim: all out
 */
FIXTURE(memcg_mlock_onfault) {
	struct memcg_world w;
};

/*
 * MADV_PAGEOUT isolates only folios on the LRU: pages still in another
 * CPU's LRU batch stay mapped. The crew inherits our CPU.
 */
static void pin_for_pageout(struct __test_metadata *_metadata)
{
	ASSERT_EQ(0, pin_to_this_cpu());
}

FIXTURE_SETUP(memcg_mlock_onfault)
{
	pin_for_pageout(_metadata);
	memcg_world_setup(_metadata, &self->w, 1, false, "memcg_mlock_onfault");
}

FIXTURE_TEARDOWN(memcg_mlock_onfault)
{
	memcg_world_teardown(&self->w);
}

TEST_F_TIMEOUT(memcg_mlock_onfault, swapped_in_pages_stay_locked, 60)
{
	struct memcg_world *w = &self->w;
	char report[2048];
	unsigned long kb;
	int i, ret;

	ASSERT_EQ(0, crew_do(w->crew, 0, CREW_MADVISE, 0, 0, w->pages,
			     MADV_PAGEOUT));
	ASSERT_EQ(w->pages, p0_swapped(w, 0, w->pages))
		TH_LOG("MADV_PAGEOUT left pages mapped");
	ASSERT_EQ(0, crew_do(w->crew, 0, CREW_MLOCK, 0, 0, w->pages,
			     MLOCK_ONFAULT)) TH_LOG("mlock2 (RLIMIT_MEMLOCK?)");
	ASSERT_EQ(0, crew_do(w->crew, 0, CREW_VERIFY, 0, 0, w->pages, 0));
	ASSERT_EQ(0, p0_swapped(w, 0, w->pages));

	for (i = 0; i < 3; i++) {
		ret = memcg_reclaim(w->cgroup, 4 * w->pages * psize());
		ASSERT_TRUE(!ret || ret == -EAGAIN)
			TH_LOG("memory.reclaim: %s", strerror(-ret));
	}
	EXPECT_EQ(0, p0_swapped(w, 0, w->pages))
		TH_LOG("pages of a locked VMA swapped out");
	ASSERT_EQ(0, smaps_range_kb(crew_pid(w->crew, 0),
				    (unsigned long)w->base,
				    (unsigned long)w->base + w->pages * psize(),
				    offsetof(struct smaps_vma, locked), &kb));
	EXPECT_EQ(w->pages * psize() / 1024, kb);
	EXPECT_EQ(0, crew_do(w->crew, 0, CREW_VERIFY, 0, 0, w->pages, 0));

	ASSERT_EQ(0, crew_do(w->crew, 0, CREW_MUNLOCK, 0, 0, w->pages, 0));
	EXPECT_EQ(w->pages, p0_reclaim(w, 0, w->pages))
		TH_LOG("pages not swapped out once munlocked");
	EXPECT_EQ(0, crew_do(w->crew, 0, CREW_VERIFY, 0, 0, w->pages, 0));
	EXPECT_EQ(0, khealth_check(&w->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/* ---- memcg_swap_shared: one swap entry in 64 processes ------------------ */

/*
 * The swap map counts the mappers of a swap entry in one byte, up to
 * SWAP_MAP_MAX (62). Fork of a process whose pages are swapped out adds
 * one mapper per child; past that count copy_pte_range() stops, adds a
 * continuation page to the count and starts again. Then 64 processes map
 * each entry. Read back, each page is one folio from the swap cache at
 * one PFN in all 64, mapped 64 times, contents intact; reclaim must
 * unmap it from all 64 again, and the continuation must count every
 * mapper down as they read it back once more. (swap_duplicate() adds
 * the continuation itself with GFP_ATOMIC; fork's own GFP_KERNEL retry
 * runs only when that allocation fails.)
 *
 *   P0 [ A A ... A ]   MADV_PAGEOUT: every page a swap entry
 *   P0 forks P1 ... P63
 *   every member reads; memory.reclaim until no mapping is left; again
 */
#define SWAP_SHARERS	CREW_MAX

FIXTURE(memcg_swap_shared) {
	struct memcg_world w;
};

FIXTURE_SETUP(memcg_swap_shared)
{
	struct memcg_world *w = &self->w;
	int m;

	pin_for_pageout(_metadata);
	memcg_world_setup(_metadata, w, SWAP_SHARERS, false,
			  "memcg_swap_shared");
	if (_metadata->exit_code)
		return;		/* skipped */
	ASSERT_EQ(0, crew_do(w->crew, 0, CREW_MADVISE, 0, 0, w->pages,
			     MADV_PAGEOUT));
	ASSERT_EQ(w->pages, p0_swapped(w, 0, w->pages))
		TH_LOG("MADV_PAGEOUT left pages mapped");
	for (m = 1; m < w->members; m++)
		ASSERT_EQ(0, crew_do(w->crew, 0, CREW_FORK, 0, 0, 0, m))
			TH_LOG("fork of P%d", m);
}

FIXTURE_TEARDOWN(memcg_swap_shared)
{
	memcg_world_teardown(&self->w);
}

/* Every member reads its pages: one PFN per page in all, mapped by all. */
static void swap_shared_read_back(struct __test_metadata *_metadata,
				  struct memcg_world *w)
{
	struct pagemap_entry e;
	__u64 pfn = 0, count;
	int m, i;

	for (m = 0; m < w->members; m++)
		ASSERT_EQ(0, crew_do(w->crew, m, CREW_VERIFY, 0, 0, w->pages, 0))
			TH_LOG("P%d", m);
	for (i = 0; i < w->pages; i++) {
		for (m = 0; m < w->members; m++) {
			ASSERT_EQ(0, pagemap_get(crew_pid(w->crew, m),
						 (unsigned long)w->base +
						 i * psize(), &e));
			ASSERT_TRUE(e.present && e.pfn) TH_LOG("P%d page %d", m, i);
			if (!m)
				pfn = e.pfn;
			EXPECT_EQ(pfn, e.pfn) TH_LOG("page %d: P%d not at P0's PFN",
						     i, m);
		}
		ASSERT_EQ(0, kpagecount_get(pfn, &count));
		EXPECT_EQ((__u64)w->members, count)
			TH_LOG("page %d mapped %llu times", i,
			       (unsigned long long)count);
	}
}

TEST_F_TIMEOUT(memcg_swap_shared, every_sharer_swapped_and_back, 90)
{
	struct memcg_world *w = &self->w;
	long long deadline = now_ms() + 20000;
	int m, left, ret;
	char report[2048];

	swap_shared_read_back(_metadata, w);
	do {
		ret = memcg_reclaim(w->cgroup, 4 * w->pages * psize());
		ASSERT_TRUE(!ret || ret == -EAGAIN)
			TH_LOG("memory.reclaim: %s", strerror(-ret));
		for (left = 0, m = 0; m < w->members; m++)
			left += memcg_left(w, m);
	} while (left && now_ms() < deadline);
	EXPECT_EQ(0, left) TH_LOG("%d mappings not swapped out", left);
	swap_shared_read_back(_metadata, w);
	EXPECT_EQ(0, khealth_check(&w->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/* ---- swapin_race: two threads fault the same swap entries at once ------ */

/*
 * Two threads of one process fault the same swapped-out pages at the same
 * time, in the same order. One swap-in maps each page; the other, on a
 * synchronous device (zram), finds the entry's swap cache slot taken
 * (swapcache_prepare()) and faults again, or, with the folio in the swap
 * cache, backs out when the PTE changed meanwhile (do_swap_page()'s
 * pte_same() check). Whatever the interleaving, every page must end up
 * mapped once, at one PFN, exclusive, with its contents, round after
 * round.
 *
 *   [ A A A ... A ]   256 pages, MADV_PAGEOUT
 *   both threads fault every page at once; check; page out again; repeat
 */
#define SWAPIN_PAGES	256
#define SWAPIN_MS	2000

FIXTURE(swapin_race) {
	char *region;
	pthread_t reader;
	bool have_reader;
	pthread_barrier_t start, done;
	atomic_bool stop;
	struct khealth health;
};

/*
 * Fault every page in by reading one byte of it: a thread that lags
 * behind runs over the pages already mapped and soon meets the other at
 * the page it is swapping in.
 */
static void swapin_touch_all(char *region)
{
	int i;

	for (i = 0; i < SWAPIN_PAGES; i++)
		(void)__atomic_load_n(region + i * psize(), __ATOMIC_RELAXED);
}

static int swapin_read_all(char *region)
{
	int i, bad = 0;

	for (i = 0; i < SWAPIN_PAGES; i++) {
		struct page_tag tag = { .owner = 5, .index = i };

		bad += !!tag_verify(region + i * psize(), psize(), &tag, NULL);
	}
	return bad;
}

/* The second thread: every page faulted once per round, on its own CPU. */
static void *swapin_reader(void *arg)
{
	FIXTURE_DATA(swapin_race) * self = arg;

	for (;;) {
		pthread_barrier_wait(&self->start);
		if (atomic_load(&self->stop))
			break;
		swapin_touch_all(self->region);
		pthread_barrier_wait(&self->done);
	}
	return NULL;
}

/* Pin the calling thread to the @nth CPU of @allowed; 0 or -errno. */
static int pin_to_nth_cpu(const cpu_set_t *allowed, int nth)
{
	cpu_set_t one;
	int cpu;

	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, allowed) || nth--)
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		return sched_setaffinity(0, sizeof(one), &one) ? -errno : 0;
	}
	return -ENOENT;
}

FIXTURE_SETUP(swapin_race)
{
	const char *why = page_oracles_missing();
	size_t len = SWAPIN_PAGES * psize();
	cpu_set_t allowed;
	int i;

	report_environment_once();
	if (why)
		SKIP(return, "%s", why);
	if (!swap_enabled())
		SKIP(return, "needs swap for MADV_PAGEOUT");
	self->region = mmap(NULL, len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->region);
	ASSERT_EQ(0, madvise(self->region, len, MADV_NOHUGEPAGE));
	for (i = 0; i < SWAPIN_PAGES; i++) {
		struct page_tag tag = { .owner = 5, .index = i };

		tag_fill(self->region + i * psize(), psize(), &tag);
	}
	ASSERT_EQ(0, pthread_barrier_init(&self->start, NULL, 2));
	ASSERT_EQ(0, pthread_barrier_init(&self->done, NULL, 2));
	/* The reader inherits the second CPU where there is one. */
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(allowed), &allowed));
	if (pin_to_nth_cpu(&allowed, 1))
		TH_LOG("one CPU: the threads race only when preempted");
	ASSERT_EQ(0, pthread_create(&self->reader, NULL, swapin_reader, self));
	self->have_reader = true;
	ASSERT_EQ(0, pin_to_nth_cpu(&allowed, 0));
	ASSERT_EQ(0, khealth_begin(&self->health, "swapin_race"));
}

/*
 * Also after a failed ASSERT: the test asserts only between rounds, while
 * the reader waits at the start barrier, which lets it see stop and end.
 */
FIXTURE_TEARDOWN(swapin_race)
{
	if (self->have_reader) {
		atomic_store(&self->stop, true);
		pthread_barrier_wait(&self->start);
		pthread_join(self->reader, NULL);
	}
	if (self->region && self->region != MAP_FAILED)
		munmap(self->region, SWAPIN_PAGES * psize());
}

/* Swap entries among our pages; -1 on error. */
static int swapin_swapped(char *region)
{
	struct pagemap_entry e;
	int i, swapped = 0;

	for (i = 0; i < SWAPIN_PAGES; i++) {
		if (pagemap_get(0, (unsigned long)region + i * psize(), &e))
			return -1;
		swapped += e.swapped;
	}
	return swapped;
}

/* Pages not mapped once, exclusive, at a PFN; the first one is logged. */
static int swapin_not_mapped_once(struct __test_metadata *_metadata,
				  char *region, long round)
{
	struct pagemap_entry e;
	int i, wrong = 0;
	__u64 count;

	for (i = 0; i < SWAPIN_PAGES; i++) {
		memset(&e, 0, sizeof(e));
		count = 0;
		if (!pagemap_get(0, (unsigned long)region + i * psize(), &e) &&
		    e.present && e.pfn && e.exclusive &&
		    !kpagecount_get(e.pfn, &count) && count == 1)
			continue;
		if (!wrong++)
			TH_LOG("round %ld page %d: present %d exclusive %d, mapped %llu times",
			       round, i, e.present, e.exclusive,
			       (unsigned long long)count);
	}
	return wrong;
}

TEST_F_TIMEOUT(swapin_race, both_threads_fault_swapped_pages, 60)
{
	long long end = now_ms() + SWAPIN_MS;
	long rounds = 0, raced = 0;
	int swapped, bad = 0, wrong = 0;
	char report[2048];

	do {
		ASSERT_EQ(0, madvise(self->region, SWAPIN_PAGES * psize(),
				     MADV_PAGEOUT));
		swapped = swapin_swapped(self->region);
		ASSERT_LE(0, swapped);
		raced += swapped;
		pthread_barrier_wait(&self->start);
		swapin_touch_all(self->region);
		pthread_barrier_wait(&self->done);
		bad += swapin_read_all(self->region);
		wrong += swapin_not_mapped_once(_metadata, self->region, rounds);
		rounds++;
	} while (now_ms() < end);
	TH_LOG("%ld rounds, %ld swap-ins raced", rounds, raced);
	EXPECT_LT(0, raced) TH_LOG("MADV_PAGEOUT never swapped a page out");
	EXPECT_EQ(0, bad) TH_LOG("%d pages with wrong contents", bad);
	EXPECT_EQ(0, wrong) TH_LOG("pages not mapped once");
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

AVL_HARNESS_MAIN
