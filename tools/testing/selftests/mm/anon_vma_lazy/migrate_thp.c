// SPDX-License-Identifier: GPL-2.0
/*
 * migrate_thp: page migration, collapse and COW of THPs and of large
 * anonymous folios smaller than a PMD in lazy, upgraded and inherited
 * VMAs: every mapping of every subpage must follow.
 *
 *   migrate_thp    a THP shared with a child that both wrote, reused
 *                  once the child exited, read-only, the huge zero page
 *                  after fork, MADV_COLLAPSE and khugepaged over partly
 *                  swapped-out and shared ranges
 *                  (the first migrate_thp tests are in the migrate
 *                  binary, whose test names they keep).
 *   file_thp       a shmem THP mapped MAP_PRIVATE: COW, fork, hole punch
 *                  and truncation.
 *   migrate_mthp   64 KiB folios COWed after fork, paged out and in as
 *                  one, partly unmapped.
 *
 * The world is migrate's (migrate_world.h): a crew on one region; after
 * every migration the nodes are queried again, every mapper must see the
 * new PFNs, contents, the exclusive bit and kpagecount as before. Fewer
 * than two memory nodes is a SKIP.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/mempolicy.h>

#include "../../kselftest_harness.h"
#include "harness_main.h"
#include "migrate_checks.h"
#include "migrate_thp_fixture.h"

/* ---- migrate_thp -------------------------------------------------------- */

/*
 * A read-only PMD-mapped THP that is ours alone migrates as a readable
 * exclusive migration entry and comes back as one THP; made writable
 * again, it takes a write without a copy (the folio is still exclusive).
 */
TEST_F_TIMEOUT(migrate_thp, pmd_mapped_read_only, 60)
{
	static struct pagemap_entry before[MAX_PAGES], after[MAX_PAGES];
	struct mig_world *w = &self->w;
	int n = w->nr_pages;

	map_thp(_metadata, w);
	ASSERT_EQ(0, cmd(w, 0, CREW_MPROTECT, 0, n, PROT_READ));
	ASSERT_TRUE(is_one_thp(w, 0, 0, n));
	migrate_thp_region(_metadata, self, 0, 0, n, 0);
	ASSERT_EQ(0, cmd(w, 0, CREW_MPROTECT, 0, n, PROT_READ | PROT_WRITE));
	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 0), w->addr, n, before));
	ASSERT_EQ(0, cow_write(w, 0, 7, 8));
	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 0), w->addr, n, after));
	EXPECT_EQ(before[7].pfn, after[7].pfn) TH_LOG("the write copied the page");
	EXPECT_EQ(0, verify(w, 0));
	check_log(_metadata, &self->health);
}

/*
 * A write to a THP shared after fork splits the PMD of the writer only
 * (do_huge_pmd_wp_page() falls back to a PTE-level COW) and copies the one
 * subpage; each process then maps the rest of the large folio by PTEs or
 * still by its PMD. With both writing, both PMDs are split. Migration from
 * the parent must move every subpage still shared for both.
 *
 *   P0 [ T T ... T ]   P1 [ T T ... T ]     one THP, shared after fork
 *   P0 writes 10, P1 writes 20:
 *   P0 [ T .. 0 .. T .. T ]  P1 [ T .. T .. 1 .. T ]   0, 1: own copies
 */
TEST_F_TIMEOUT(migrate_thp, after_fork_both_write, 60)
{
	static struct pagemap_entry mine[MAX_PAGES], theirs[MAX_PAGES];
	struct mig_world *w = &self->w;
	int n = w->nr_pages, i;

	map_thp(_metadata, w);
	ASSERT_EQ(0, cmd(w, 0, CREW_FORK, 0, 0, 1));
	ASSERT_EQ(0, cow_write(w, 0, 10, 11));
	ASSERT_EQ(0, cow_write(w, 1, 20, 21));
	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 0), w->addr, n, mine));
	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 1), w->addr, n, theirs));
	for (i = 0; i < n; i++) {
		bool own = i == 10 || i == 20;

		EXPECT_EQ(own, mine[i].pfn != theirs[i].pfn) TH_LOG("page %d", i);
		EXPECT_EQ(own, mine[i].exclusive) TH_LOG("P0 page %d", i);
		EXPECT_EQ(own, theirs[i].exclusive) TH_LOG("P1 page %d", i);
	}
	EXPECT_EQ(0, verify(w, 0));
	EXPECT_EQ(0, verify(w, 1));
	/* The shared subpages move for both, each process's own alone. */
	migrate_thp_region(_metadata, self, 0, 0, 10, 2);
	migrate_thp_region(_metadata, self, 0, 11, 20, 2);
	migrate_thp_region(_metadata, self, 0, 21, n, 2);
	migrate_thp_region(_metadata, self, 1, 20, 21, 0);
	check_log(_metadata, &self->health);
}

/*
 * Once the child that shared a THP has exited, the parent's write fault
 * on it reuses the large folio, PMD and all (do_huge_pmd_wp_page()'s
 * reuse path): it stays one THP at the same PFNs, and then migrates as
 * one.
 *
 *   P0 [ T ... T ]  P1 [ T ... T ]   forked; P1 exits
 *   P0 writes 3:   P0 [ T ... T ]    the same THP, written in place
 */
TEST_F_TIMEOUT(migrate_thp, after_fork_child_exit_parent_reuses, 60)
{
	static struct pagemap_entry before[MAX_PAGES], after[MAX_PAGES];
	struct mig_world *w = &self->w;
	int n = w->nr_pages, i;

	map_thp(_metadata, w);
	ASSERT_EQ(0, cmd(w, 0, CREW_FORK, 0, 0, 1));
	ASSERT_EQ(0, crew_exit(w->crew, 1));
	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 0), w->addr, n, before));
	ASSERT_EQ(0, cow_write(w, 0, 3, 4));
	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 0), w->addr, n, after));
	for (i = 0; i < n; i++)
		EXPECT_EQ(before[i].pfn, after[i].pfn) TH_LOG("page %d", i);
	EXPECT_TRUE(is_one_thp(w, 0, 0, n));
	EXPECT_EQ((long)(n * psize() / 1024), anon_huge_kb(w, 0));
	EXPECT_EQ(0, verify(w, 0));
	migrate_thp_region(_metadata, self, 0, 0, n, 0);
	check_log(_metadata, &self->health);
}

/*
 * A read fault in a THP region maps the huge zero page by one PMD; fork
 * shares that PMD (copy_huge_pmd()), and a write in either process splits
 * it (__split_huge_zero_page_pmd()) and COWs one page of its own, the rest
 * reading zeroes. The written pages then migrate like any other.
 *
 *   P0 [ Z Z ... Z ]  P1 [ Z Z ... Z ]   Z: the huge zero page
 *   P1 writes 3, P0 writes 100: each one page of its own, zeroes elsewhere
 */
TEST_F_TIMEOUT(migrate_thp, huge_zero_page_fork_then_write, 60)
{
	struct mig_world *w = &self->w;
	struct pagemap_entry e;
	unsigned long use_zero;

	if (read_ulong(THP_SYSFS "/use_zero_page", &use_zero) || !use_zero)
		SKIP(return, "the huge zero page is off (use_zero_page)");
	ASSERT_EQ(0, cmd_all(w, 0, CREW_MMAP, 0));
	ASSERT_EQ(0, cmd_all(w, 0, CREW_MADVISE, MADV_HUGEPAGE));
	ASSERT_EQ(0, cmd_all(w, 0, CREW_READ, 0));
	ASSERT_EQ(0, pagemap_get(crew_pid(w->crew, 0), (unsigned long)w->addr,
				 &e));
	ASSERT_TRUE(e.present);
	ASSERT_EQ(0, cmd(w, 0, CREW_FORK, 0, 0, 1));
	ASSERT_EQ(0, cow_write(w, 1, 3, 4));
	ASSERT_EQ(0, cow_write(w, 0, 100, 101));
	EXPECT_EQ(0, cmd_all(w, 0, CREW_READ, 0));
	EXPECT_EQ(0, cmd_all(w, 1, CREW_READ, 0));
	/* Each written page is its own, and moves alone. */
	migrate_thp_region(_metadata, self, 0, 100, 101, 0);
	migrate_thp_region(_metadata, self, 1, 3, 4, 0);
	EXPECT_EQ(0, cmd_all(w, 0, CREW_READ, 0));
	EXPECT_EQ(0, cmd_all(w, 1, CREW_READ, 0));
	check_log(_metadata, &self->health);
}

/*
 * MADV_COLLAPSE of a range that is not all there: holes (MADV_DONTNEED),
 * swap entries (swapped in by the collapse), pages shared with a child.
 * The parent COW-writes its last page (6.12 and other kernels collapse
 * only a range with a writable PTE). The parent gets one THP (zeroes in
 * the holes), the child keeps its small pages, now its own; both migrate
 * afterwards.
 *
 *   P0 [ . . . | s s s | S S S ... S 0 ] . holes, s swapped out, S shared
 *   P1 [ . . . | s s s | S S .. 1 .. S ] forked, wrote page 100
 *   P0 MADV_COLLAPSE:  P0 [ T T ... T ] with zeroes in 0..15
 */
/* Holes, swap entries, pages shared with P1, one written page in each. */
static void holes_swapped_and_shared(struct __test_metadata *_metadata,
				     struct mig_world *w)
{
	static struct pagemap_entry e[MAX_PAGES];
	int n = w->nr_pages, i, try, left = 1;

	if (!swap_enabled())
		SKIP(return, "needs swap for MADV_PAGEOUT");
	ASSERT_EQ(0, pin_to_this_cpu());
	ASSERT_EQ(0, map_region(w, 0, SMALL_THEN_COLLAPSIBLE));
	ASSERT_EQ(0, cmd(w, 0, CREW_MADVISE, 0, 16, MADV_DONTNEED));
	for (try = 0; try < 4 && left; try++) {
		ASSERT_EQ(0, cmd(w, 0, CREW_MADVISE, 16, 32, MADV_PAGEOUT));
		ASSERT_EQ(0, read_entries_any(crew_pid(w->crew, 0), w->addr, 32,
					      e));
		for (left = 0, i = 16; i < 32; i++)
			left += !e[i].swapped;
	}
	ASSERT_EQ(0, left) TH_LOG("%d pages not swapped out", left);
	ASSERT_EQ(0, cmd(w, 0, CREW_FORK, 0, 0, 1));
	ASSERT_EQ(0, cow_write(w, 1, 100, 101));
	ASSERT_EQ(0, cow_write(w, 0, n - 1, n));
}

/* P0 collapsed: one THP, zeroes in the holes; P1's pages its own; walks. */
static void check_collapsed(struct __test_metadata *_metadata,
			    FIXTURE_DATA(migrate_thp) * self)
{
	static struct pagemap_entry e[MAX_PAGES];
	struct mig_world *w = &self->w;
	int n = w->nr_pages, i;

	EXPECT_TRUE(is_one_thp(w, 0, 0, n));
	EXPECT_EQ(0, cmd_all(w, 0, CREW_READ, 0));
	EXPECT_EQ(0, cmd_all(w, 1, CREW_READ, 0));
	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 1), w->addr, n, e));
	for (i = 32; i < n; i++)
		EXPECT_TRUE(e[i].exclusive) TH_LOG("P1 page %d", i);
	migrate_thp_region(_metadata, self, 0, 0, n, 0);
	/* P1's holes read as the zero page, which does not migrate. */
	if (!is_one_thp(w, 1, 0, n))
		migrate_thp_region(_metadata, self, 1, 16, n, 0);
	check_log(_metadata, &self->health);
}

TEST_F_TIMEOUT(migrate_thp, collapse_holes_swapped_and_shared, 60)
{
	const char *why;

	holes_swapped_and_shared(_metadata, &self->w);
	why = collapse(_metadata, &self->w, 0);
	if (why)
		SKIP(return, "%s", why);
	check_collapsed(_metadata, self);
}

/*
 * The same range collapsed by khugepaged instead of MADV_COLLAPSE, with
 * its limits opened (all but two present pages are shared) and scanning
 * without sleeping: khugepaged's own scan (young PTEs, swap-in of a
 * referenced range, the shared-PTE count) must give the same result.
 */
#define KHUGEPAGED	THP_SYSFS "/khugepaged"

TEST_F_TIMEOUT(migrate_thp, khugepaged_holes_swapped_and_shared, 90)
{
	static const char * const knobs[][2] = {
		{ KHUGEPAGED "/max_ptes_none", NULL },
		{ KHUGEPAGED "/max_ptes_swap", NULL },
		{ KHUGEPAGED "/max_ptes_shared", NULL },
		{ KHUGEPAGED "/pages_to_scan", "4096" },
		{ KHUGEPAGED "/alloc_sleep_millisecs", "100" },
		{ KHUGEPAGED "/scan_sleep_millisecs", "0" },
	};
	struct mig_world *w = &self->w;
	unsigned long failed, now_failed;
	long long deadline;
	char most[16];
	unsigned int k;

	if (access(KHUGEPAGED "/max_ptes_shared", F_OK))
		SKIP(return, "no khugepaged/max_ptes_shared (kernel older than 5.8)");
	holes_swapped_and_shared(_metadata, w);
	ASSERT_EQ(0, vmstat_get("thp_collapse_alloc_failed", &failed));
	snprintf(most, sizeof(most), "%d", w->nr_pages - 1);
	for (k = 0; k < ARRAY_SIZE(knobs); k++) {
		const char *value = knobs[k][1] ? knobs[k][1] : most;

		ASSERT_EQ(0, knob_set(knobs[k][0], value))
			TH_LOG("%s = %s", knobs[k][0] + strlen(KHUGEPAGED), value);
	}
	deadline = now_ms() + 40000;
	while (!is_one_thp(w, 0, 0, w->nr_pages) && now_ms() < deadline)
		usleep(50000);
	if (!is_one_thp(w, 0, 0, w->nr_pages) &&
	    !vmstat_get("thp_collapse_alloc_failed", &now_failed) &&
	    now_failed > failed)
		SKIP(return, "khugepaged found no huge page (fragmented memory)");
	ASSERT_TRUE(is_one_thp(w, 0, 0, w->nr_pages))
		TH_LOG("khugepaged did not collapse the range within 40 s");
	check_collapsed(_metadata, self);
}

/*
 * MADV_COLLAPSE of a range that one PTE-mapped THP fills: MADV_DONTNEED
 * of one page split the PMD, so the other PTEs map subpages of the large
 * folio. __collapse_huge_page_isolate() takes that folio once for all its
 * PTEs, collapse copies it into a new THP (zeroes in the hole) and drops
 * the old one. After a fork (and a write in P0: collapse refuses a range
 * without a writable PTE) the child keeps the old folio, then mapped by
 * it alone. Every page keeps its contents, and the walks of the new THP
 * and of the old folio reach their mappings.
 *
 *   P0 [ T T ... . ... T ]   one THP, page 100 zapped: PTE-mapped
 *   (P1 forked: maps it too; P0 COW-writes page 5)
 *   P0 MADV_COLLAPSE:  P0 [ N N ... 0 ... N ]   N: a new THP
 */
static void collapse_pte_mapped(struct __test_metadata *_metadata,
				FIXTURE_DATA(migrate_thp) * self, bool fork)
{
	static struct pagemap_entry before[MAX_PAGES], e[MAX_PAGES];
	struct mig_world *w = &self->w;
	int n = w->nr_pages, i;
	const char *why;

	map_thp(_metadata, w);
	if (_metadata->exit_code)
		return;		/* skipped */
	ASSERT_EQ(0, cmd(w, 0, CREW_MADVISE, 100, 101, MADV_DONTNEED));
	ASSERT_EQ(0, read_entries_any(crew_pid(w->crew, 0), w->addr, n, before));
	EXPECT_EQ(0, anon_huge_kb(w, 0)) TH_LOG("the PMD was not split");
	if (fork) {
		ASSERT_EQ(0, cmd(w, 0, CREW_FORK, 0, 0, 1));
		/* Collapse needs a writable PTE: fork left none in P0. */
		ASSERT_EQ(0, cow_write(w, 0, 5, 6));
	}
	why = collapse(_metadata, w, 0);
	if (why)
		SKIP(return, "%s", why);

	EXPECT_TRUE(is_one_thp(w, 0, 0, n)) TH_LOG("P0: not one THP");
	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 0), w->addr, n, e));
	for (i = 0; i < n; i++) {
		if (i == 100)
			continue;
		EXPECT_NE(before[i].pfn, e[i].pfn) TH_LOG("P0 page %d not copied", i);
		EXPECT_TRUE(e[i].exclusive) TH_LOG("P0 page %d", i);
	}
	EXPECT_EQ(0, cmd_all(w, 0, CREW_READ, 0));
	if (fork) {
		/* P1 keeps the old folio, its own now. */
		ASSERT_EQ(0, read_entries_any(crew_pid(w->crew, 1), w->addr, n,
					      e));
		for (i = 0; i < n; i++) {
			if (i == 100)
				continue;
			EXPECT_EQ(before[i].pfn, e[i].pfn) TH_LOG("P1 page %d", i);
			EXPECT_TRUE(e[i].exclusive) TH_LOG("P1 page %d", i);
		}
		EXPECT_EQ(0, verify(w, 1));
		/* Its hole reads as the zero page, which does not migrate. */
		EXPECT_EQ(0, cmd_all(w, 1, CREW_READ, 0));
		migrate_thp_region(_metadata, self, 1, 0, 100, 0);
		migrate_thp_region(_metadata, self, 1, 101, n, 0);
	}
	migrate_thp_region(_metadata, self, 0, 0, n, 0);
	EXPECT_EQ(0, verify(w, 0));
	check_log(_metadata, &self->health);
}

TEST_F_TIMEOUT(migrate_thp, collapse_pte_mapped_thp, 60)
{
	collapse_pte_mapped(_metadata, self, false);
}

TEST_F_TIMEOUT(migrate_thp, collapse_pte_mapped_thp_shared_with_child, 60)
{
	collapse_pte_mapped(_metadata, self, true);
}

/* ---- file_thp: a shmem THP mapped MAP_PRIVATE ---------------------------- */

/*
 * A MAP_PRIVATE mapping of a file whose page cache holds a THP maps it by
 * one PMD on a read fault. A write splits that PMD (a file PMD is zapped,
 * not remapped by PTEs: COW happens at PTE level) and copies one page into
 * an anonymous folio, the VMA's first (its anon_vma comes then). fork
 * shares the copies; a hole punched into the file splits the file's THP
 * and unmaps the page cache pages of the hole from every private mapping,
 * but never the anonymous copies inside it; truncation splits it too and
 * unmaps everything beyond the new end, the copies as well (a read there
 * is SIGBUS). Migration then walks both kinds of folio.
 *
 *   file [ F F F ... F ]  one THP        P0 reads: one PMD
 *   P0 writes 5 and 300, forks P1; P1 writes 6 (through /proc/pid/mem)
 *   punch 256..511:  P0 [ F .. 0 .. F | 0 .. 0 .. 0 ]  the copies stay
 *   or truncate to 256:  P0 [ F .. 0 .. F ] and nothing beyond
 */
#define SHMEM_KNOB	THP_SYSFS "/shmem_enabled"
#define COPY_OWNER	70

FIXTURE(file_thp) {
	int fd;
	char *reserved, *p;
	size_t thp, reserved_len;
	int n;
	pid_t child;
	int nodes[2];
	bool numa;
	struct khealth health;
};

FIXTURE_VARIANT(file_thp) {
	bool truncate;		/* truncate to half instead of punching */
};

FIXTURE_VARIANT_ADD(file_thp, punch_second_half) {
	.truncate = false,
};

FIXTURE_VARIANT_ADD(file_thp, truncate_to_half) {
	.truncate = true,
};

FIXTURE_SETUP(file_thp)
{
	const char *missing = page_oracles_missing();
	struct page_tag tag = { .owner = FILE_OWNER };
	char mode[64], *page;
	unsigned long kb;
	int i;

	report_environment_once();
	self->fd = -1;
	if (missing)
		SKIP(return, "%s", missing);
	self->thp = read_pmd_pagesize();
	if (!self->thp || read_text(SHMEM_KNOB, mode, sizeof(mode)) <= 0)
		SKIP(return, "no shmem THP (CONFIG_TRANSPARENT_HUGEPAGE, shmem_enabled)");
	self->n = self->thp / psize();
	self->numa = numa_usable_nodes(self->nodes, 2) >= 2;
	/* Only the file's pages are THPs; written through write(2). */
	ASSERT_EQ(0, knob_set(SHMEM_KNOB, "always"));
	self->fd = memfd_create("avl_file_thp", MFD_CLOEXEC);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ftruncate(self->fd, self->thp));
	page = malloc(psize());
	ASSERT_NE(NULL, page);
	for (i = 0; i < self->n; i++) {
		tag.index = i;
		tag_fill(page, psize(), &tag);
		ASSERT_EQ((ssize_t)psize(), pwrite(self->fd, page, psize(),
						   (off_t)i * psize()));
	}
	free(page);
	self->reserved_len = 2 * self->thp;
	self->reserved = reserve_range(self->reserved_len);
	ASSERT_NE(NULL, self->reserved);
	self->p = (char *)(((unsigned long)self->reserved + self->thp - 1) &
			   ~(self->thp - 1));
	ASSERT_EQ(self->p, mmap(self->p, self->thp, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_FIXED, self->fd, 0));
	ASSERT_EQ(0, madvise(self->p, self->thp, MADV_HUGEPAGE));
	/* A read fault: the THP of the page cache, by one PMD. */
	tag.index = 0;
	ASSERT_EQ(0, tag_verify(self->p, psize(), &tag, NULL));
	if (smaps_field_kb("/proc/self/smaps", (unsigned long)self->p,
			   "ShmemPmdMapped", &kb) || kb < self->thp / 1024)
		SKIP(return, "the file's page cache is not a PMD-mapped THP");
	ASSERT_EQ(0, khealth_begin(&self->health, "file_thp"));
}

FIXTURE_TEARDOWN(file_thp)
{
	int status;

	if (self->child > 0) {
		kill(self->child, SIGKILL);
		reap_with_deadline(self->child, 10000, &status);
	}
	if (self->reserved)
		munmap(self->reserved, self->reserved_len);
	if (self->fd >= 0)
		close(self->fd);
	knob_restore_all();
}

/* The tag page @i of @pid holds: a copy of @copier's, or the file's. */
static struct page_tag file_thp_tag(int i, int copier)
{
	return (struct page_tag){
		.owner = copier >= 0 ? COPY_OWNER + copier : FILE_OWNER,
		.index = i,
	};
}

/*
 * Page @i in @pid: PAGE_TAGGED with @want, bit 61 (file page) as @file,
 * or zeroes for a page of the hole. Before the read, what pagemap said.
 */
static int file_thp_page(pid_t pid, char *p, int i, struct page_tag want,
			 bool file, bool hole)
{
	unsigned long addr = (unsigned long)p + i * psize();
	struct pagemap_entry e;
	int seen = page_seen_in(pid, addr, &want);

	if (seen != (hole ? PAGE_ZERO : PAGE_TAGGED))
		return -1;
	if (pagemap_get(pid, addr, &e) || !e.present)
		return -1;
	/* A hole reads as the zero page: neither file nor exclusive. */
	return hole || e.file == file ? 0 : -1;
}

/* Page @i of @pid beyond the file's end: not mapped, not readable. */
static bool file_thp_gone(pid_t pid, char *p, int i)
{
	unsigned long addr = (unsigned long)p + i * psize();
	struct page_tag any = { 0 };
	struct pagemap_entry e;

	return !pagemap_get(pid, addr, &e) && !e.present && !e.swapped &&
	       page_seen_in(pid, addr, &any) < 0;
}

TEST_F_TIMEOUT(file_thp, private_cow_fork_then_cut, 60)
{
	static const int copies[][2] = { { 5, 0 }, { 300, 0 }, { 6, 1 } };
	struct page_tag tag;
	int i, k, m, bad, status, copier;
	pid_t pid[2];
	char report[2048];
	unsigned long kb;
	void *page;
	int node;

	/* A write: the PMD goes, one anonymous copy comes. */
	tag = file_thp_tag(5, 0);
	tag_fill(self->p + 5 * psize(), psize(), &tag);
	tag = file_thp_tag(300, 0);
	tag_fill(self->p + 300 * psize(), psize(), &tag);
	ASSERT_EQ(0, smaps_field_kb("/proc/self/smaps", (unsigned long)self->p,
				    "ShmemPmdMapped", &kb));
	EXPECT_EQ(0UL, kb) TH_LOG("still PMD-mapped after a COW write");
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (!self->child) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	pid[0] = getpid();
	pid[1] = self->child;
	tag = file_thp_tag(6, 1);
	ASSERT_EQ(0, page_write_in(pid[1], (unsigned long)self->p + 6 * psize(),
				   &tag));

	/* The cut: the file's THP is split, its second half gone. */
	if (variant->truncate) {
		ASSERT_EQ(0, ftruncate(self->fd, self->thp / 2));
	} else {
		ASSERT_EQ(0, fallocate(self->fd, FALLOC_FL_PUNCH_HOLE |
				       FALLOC_FL_KEEP_SIZE, self->thp / 2,
				       self->thp / 2));
	}
	for (m = 0; m < 2; m++) {
		for (bad = 0, i = 0; i < self->n; i++) {
			if (variant->truncate && i >= self->n / 2) {
				bad += !file_thp_gone(pid[m], self->p, i);
				continue;
			}
			for (copier = -1, k = 0; k < 3; k++)
				if (copies[k][0] == i && copies[k][1] <= m)
					copier = copies[k][1];
			if (i == 6 && m == 0)
				copier = -1;	/* P1's own copy */
			if (file_thp_page(pid[m], self->p, i,
					  file_thp_tag(i, copier), copier < 0,
					  copier < 0 && i >= self->n / 2) &&
			    bad++ < 4)
				TH_LOG("P%d page %d (copy of P%d)", m, i, copier);
		}
		EXPECT_EQ(0, bad) TH_LOG("P%d: %d pages wrong after the cut", m, bad);
	}

	/* Migration walks the shared copy and the file pages. */
	if (self->numa) {
		for (i = 4; i < 7; i++) {
			page = self->p + i * psize();
			ASSERT_EQ(0, pages_node(0, &page, 1, &node));
			EXPECT_EQ(0, pages_move(0, &page, 1, other_node(self->nodes, node),
						&status)) TH_LOG("page %d", i);
		}
		tag = file_thp_tag(5, 0);
		EXPECT_EQ(0, file_thp_page(pid[1], self->p, 5, tag, false, false));
		tag = file_thp_tag(4, -1);
		EXPECT_EQ(0, file_thp_page(pid[1], self->p, 4, tag, true, false));
	}
	EXPECT_EQ(0, khealth_check(&self->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

/* ---- migrate_mthp: large anonymous folios smaller than a PMD ------------- */

/*
 * With a multi-size THP order enabled (64 KiB here), anonymous faults map
 * large folios by PTEs: rmap then handles a folio mapped by many PTEs at
 * once (folio_add_anon_rmap_ptes(), copy_present_ptes() batches at fork,
 * try_to_unmap_one() and try_to_migrate_one() walking a range of PTEs),
 * and such a folio can be partly COWed, partly unmapped (deferred split),
 * swapped out and in as one. Every mapping of every subpage must follow.
 *
 *   P0 [ F0: 16 pages | F1 | F2 | ... ]   256 pages in 64 KiB folios
 */
#define MTHP_KNOB	THP_SYSFS "/hugepages-64kB/enabled"
#define MTHP_PAGES	256

FIXTURE(migrate_mthp) {
	struct mig_world w;
	int nodes[2];
	struct khealth health;
};

FIXTURE_SETUP(migrate_mthp)
{
	char mode[64];

	if (read_text(MTHP_KNOB, mode, sizeof(mode)) <= 0)
		SKIP(return, "no 64 KiB mTHP (kernel older than 6.8, or no THP)");
	world_init(_metadata, &self->w, self->nodes, &self->health,
		   MTHP_PAGES, 64 * 1024);
	if (_metadata->exit_code)
		return;		/* skipped */
	ASSERT_EQ(0, knob_set(MTHP_KNOB, "madvise"));
	if (read_text(THP_SYSFS "/enabled", mode, sizeof(mode)) > 0 &&
	    strstr(mode, "[never]"))
		ASSERT_EQ(0, knob_set(THP_SYSFS "/enabled", "madvise"));
}

FIXTURE_TEARDOWN(migrate_mthp)
{
	world_destroy(&self->w);
}

/* How many of member @m's pages [first, last) are in large folios. */
static int count_large(struct mig_world *w, int m, int first, int last)
{
	struct pagemap_entry e;
	int i, n = 0;
	__u64 flags;

	for (i = first; i < last; i++)
		n += !pagemap_get(crew_pid(w->crew, m),
				  (unsigned long)w->addr + i * psize(), &e) &&
		     e.pfn && !kpageflags_get(e.pfn, &flags) &&
		     kpf_has(flags, KPF_THP);
	return n;
}

/* Map the region in large folios in P0; SKIP when none could be had. */
static void map_mthp(struct __test_metadata *_metadata, struct mig_world *w)
{
	ASSERT_EQ(0, map_region(w, 0, THP));
	if (count_large(w, 0, 0, w->nr_pages) < w->nr_pages)
		SKIP(return, "no large folio could be allocated (fragmented memory)");
}

/* Migrate pages [first, last) of member @m, @sharers following. */
static void migrate_mthp_range(struct __test_metadata *_metadata,
			       FIXTURE_DATA(migrate_mthp) * self, int m,
			       int first, int last, unsigned int sharers)
{
	static struct pagemap_entry before[MAX_PAGES];
	static int from[MAX_PAGES], to[MAX_PAGES];
	struct mig_world *w = &self->w;

	ASSERT_EQ(0, read_range(crew_pid(w->crew, m), w->addr, first, last,
				before));
	ASSERT_EQ(0, move_each(crew_pid(w->crew, m), w->addr, first, last,
			       self->nodes, MPOL_MF_MOVE_ALL, from, to))
		TH_LOG("%m");
	check_moved(_metadata, w, m, first, last, to, before, sharers);
}

/*
 * Forked, then COW-written in both: one subpage each becomes a small
 * folio of its own, the rest of each large folio stays shared; migration
 * from the parent moves every shared subpage for both.
 *
 *   P0 [ F0 F0 ... | ... 0 ... ]   P1 [ F0 .. 1 .. F0 | ... ]
 *       wrote page 70                  wrote page 5
 */
TEST_F_TIMEOUT(migrate_mthp, fork_cow_then_migrate, 60)
{
	static struct pagemap_entry mine[MAX_PAGES], theirs[MAX_PAGES];
	struct mig_world *w = &self->w;
	int n = w->nr_pages, i;

	map_mthp(_metadata, w);
	ASSERT_EQ(0, cmd(w, 0, CREW_FORK, 0, 0, 1));
	ASSERT_EQ(0, cow_write(w, 1, 5, 6));
	ASSERT_EQ(0, cow_write(w, 0, 70, 71));
	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 0), w->addr, n, mine));
	ASSERT_EQ(0, read_entries(crew_pid(w->crew, 1), w->addr, n, theirs));
	for (i = 0; i < n; i++) {
		bool own = i == 5 || i == 70;

		EXPECT_EQ(own, mine[i].pfn != theirs[i].pfn) TH_LOG("page %d", i);
		EXPECT_EQ(own, mine[i].exclusive) TH_LOG("P0 page %d", i);
	}
	migrate_mthp_range(_metadata, self, 0, 0, 5, 2);
	migrate_mthp_range(_metadata, self, 0, 6, 70, 2);
	migrate_mthp_range(_metadata, self, 0, 71, n, 2);
	migrate_mthp_range(_metadata, self, 0, 70, 71, 0);
	migrate_mthp_range(_metadata, self, 1, 5, 6, 0);
	check_log(_metadata, &self->health);
}

/*
 * Large folios swapped out (MADV_PAGEOUT) and read back in, then forked:
 * the child shares whatever came back, and migration from the child
 * moves it for both.
 */
TEST_F_TIMEOUT(migrate_mthp, pageout_swapin_then_fork, 60)
{
	static struct pagemap_entry e[MAX_PAGES];
	struct mig_world *w = &self->w;
	int n = w->nr_pages, i, try, left = n;

	if (!swap_enabled())
		SKIP(return, "needs swap for MADV_PAGEOUT");
	ASSERT_EQ(0, pin_to_this_cpu());
	map_mthp(_metadata, w);
	for (try = 0; try < 4 && left; try++) {
		ASSERT_EQ(0, cmd_all(w, 0, CREW_MADVISE, MADV_PAGEOUT));
		ASSERT_EQ(0, read_entries_any(crew_pid(w->crew, 0), w->addr, n, e));
		for (left = 0, i = 0; i < n; i++)
			left += !e[i].swapped;
	}
	EXPECT_EQ(0, left) TH_LOG("%d pages not swapped out", left);
	EXPECT_EQ(0, verify(w, 0));
	TH_LOG("%d of %d pages came back in large folios",
	       count_large(w, 0, 0, n), n);
	ASSERT_EQ(0, cmd(w, 0, CREW_FORK, 0, 0, 1));
	EXPECT_EQ(0, verify(w, 1));
	migrate_mthp_range(_metadata, self, 1, 0, n, 1);
	check_log(_metadata, &self->health);
}

/*
 * Half of two large folios unmapped: they stay mapped in part (queued for
 * a deferred split); migrating the rest must find every remaining page.
 *
 *   [ F0: 0-7 mapped, 8-15 unmapped | F1: 16-23 unmapped, 24-31 | F2 ... ]
 */
TEST_F_TIMEOUT(migrate_mthp, partly_unmapped_then_migrate, 60)
{
	struct mig_world *w = &self->w;
	int n = w->nr_pages;

	map_mthp(_metadata, w);
	ASSERT_EQ(0, cmd(w, 0, CREW_MUNMAP, 8, 24, 0));
	ASSERT_EQ(0, cmd(w, 0, CREW_FORK, 0, 0, 1));
	migrate_mthp_range(_metadata, self, 0, 0, 8, 2);
	migrate_mthp_range(_metadata, self, 0, 24, n, 2);
	EXPECT_EQ(0, verify(w, 0));
	EXPECT_EQ(0, verify(w, 1));
	check_log(_metadata, &self->health);
}

AVL_HARNESS_MAIN
