// SPDX-License-Identifier: GPL-2.0
/*
 * fork_chain: anonymous pages created at every level of a fork chain stay
 * correctly shared, copied and reachable by rmap through COW at every level
 * and through every exit order.
 *
 * Under ANON_VMA_LAZY the first fault leaves a VMA "lazy" (its folios point
 * at a root VMA, not at an anon_vma); fork upgrades the parent to a real
 * anon_vma and re-points its folios, the child borrows the parent's anon_vma
 * (ANON_VMA_TREE_PARENT) and is upgraded in turn when it forks, and exit
 * drops the references. A page that rmap cannot find any more shows up as a
 * wrong map count, a wrong "exclusively mapped" bit, a wrong share in smaps,
 * or a kernel splat when the last mapper exits.
 *
 * The chain, with the region each member creates before it forks:
 *
 *   controller
 *       `- P0 --fork--> P1 --fork--> P2 --fork--> P3 --fork--> P4
 *          R0           R1           R2           R3           R4
 *
 * All regions live in one reserved range, each followed by a PROT_NONE guard
 * page so that no two regions ever merge:
 *
 *   |  R0: 16 pages  |g|  R1  |g|  R2  |g|  R3  |g|  R4  |g|
 *
 * Member q >= 1 COW-writes page i of every region it inherited when bit
 * (q - 1) of i is set, before forking q + 1: page 0 of R0 is shared by all
 * five members, page 15 was copied by every one, and the pages in between
 * cover every subset of writers. Who shares a page is therefore known
 * exactly: the live members whose last writer of that page is the same.
 *
 * At every checkpoint (after the chain is built, then after each exit in the
 * variant's order) each live member verifies the contents of all its pages
 * itself, and the controller checks for every page of every live member:
 * pagemap present, not file, PFN identical exactly among expected sharers,
 * bit 56 (exclusively mapped) set exactly when one member maps it,
 * /proc/kpagecount equal to the number of sharers, KPF_ANON set and KPF_KSM
 * clear; and per region: smaps Rss, Anonymous, Shared_* and the sum of Pss
 * over all members. The kernel log and taint must stay clean.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "../../kselftest_harness.h"
#include "rmap_util.h"

#define DEPTH		4			/* forks: DEPTH + 1 members */
#define NR_MEMBERS	(DEPTH + 1)
#define NR_PAGES	16			/* 2^DEPTH: every set of writers */
#define WAIT_MS		20000

#define CMD_VERIFY	'V'
#define CMD_EXIT	'X'

/* Exit status of a member that lost its controller or failed to set up. */
#define MEMBER_LOST	3

/* The scenario, shared by the controller and (copied at fork) the members. */
struct chain {
	struct crew *crew;
	char *base;
	size_t stride;
	size_t reserved;
	bool ksm_flag_reliable;
};

FIXTURE(fork_chain) {
	struct chain chain;
	struct khealth health;
};

FIXTURE_VARIANT(fork_chain) {
	int exit_order[NR_MEMBERS];
};

FIXTURE_VARIANT_ADD(fork_chain, root_first) {
	.exit_order = { 0, 1, 2, 3, 4 },
};

FIXTURE_VARIANT_ADD(fork_chain, middle_first) {
	.exit_order = { 2, 1, 3, 0, 4 },
};

FIXTURE_VARIANT_ADD(fork_chain, leaf_first) {
	.exit_order = { 4, 3, 2, 1, 0 },
};

static char *page_addr(struct chain *ch, int region, int index)
{
	return ch->base + region * ch->stride + index * page_size();
}

/* Member @q copies page @index of an inherited region. */
static bool member_writes(int q, int index)
{
	return q >= 1 && (index & BIT_ULL(q - 1));
}

/* Who wrote the copy of page @index of @region that member @p maps. */
static int last_writer(int p, int region, int index)
{
	int q, writer = region;

	for (q = region + 1; q <= p; q++)
		if (member_writes(q, index))
			writer = q;
	return writer;
}

static struct page_tag expected_tag(int p, int region, int index)
{
	int writer = last_writer(p, region, index);
	struct page_tag tag = {
		.owner = writer,
		.gen = region,
		.index = index,
		.version = writer != region,
	};

	return tag;
}

/* Live members that map the same physical copy as member @p. */
static int nr_sharers(const bool *alive, int p, int region, int index)
{
	int q, writer = last_writer(p, region, index), count = 0;

	for (q = region; q < NR_MEMBERS; q++)
		if (alive[q] && last_writer(q, region, index) == writer)
			count++;
	return count;
}

/* A member's own check: every page of every region it maps. */
static int member_verify(struct chain *ch, int p)
{
	struct page_tag want, found;
	char a[96], b[96];
	int r, i, bad = 0;

	for (r = 0; r <= p; r++) {
		for (i = 0; i < NR_PAGES; i++) {
			want = expected_tag(p, r, i);
			if (!tag_verify(page_addr(ch, r, i), page_size(),
					&want, &found))
				continue;
			if (bad++ < 5)
				fprintf(stderr, "# P%d R%d page %d: want %s, found %s\n",
					p, r, i, tag_str(&want, a, sizeof(a)),
					tag_str(&found, b, sizeof(b)));
		}
	}
	return bad;
}

static __noreturn void member_main(struct chain *ch, int p)
{
	struct page_tag tag;
	int r, i, cmd, status = 0;
	char *region = page_addr(ch, p, 0);
	pid_t pid;

	/* Fault the member's own region: it starts lazy under the series. */
	if (mmap(region, NR_PAGES * page_size(), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != region) {
		status = errno;
	} else {
		/* Base pages only: map counts are then exact per page. */
		madvise(region, NR_PAGES * page_size(), MADV_NOHUGEPAGE);
		for (i = 0; i < NR_PAGES; i++) {
			tag = expected_tag(p, p, i);
			tag_fill(page_addr(ch, p, i), page_size(), &tag);
		}
	}
	/* COW-write inherited pages before the next fork. */
	for (r = 0; r < p && !status; r++) {
		for (i = 0; i < NR_PAGES; i++) {
			if (!member_writes(p, i))
				continue;
			tag = expected_tag(p, r, i);
			tag_fill(page_addr(ch, r, i), page_size(), &tag);
		}
	}
	if (p < DEPTH && !status) {
		pid = crew_fork(ch->crew, p + 1);
		if (pid == 0)
			member_main(ch, p + 1);
		if (pid < 0)
			status = -pid;
	}
	crew_reply(ch->crew, p, status);

	for (;;) {
		cmd = crew_next(ch->crew, p, 2 * WAIT_MS);
		if (cmd == CMD_VERIFY)
			crew_reply(ch->crew, p, member_verify(ch, p));
		else if (cmd == CMD_EXIT)
			_exit(0);
		else
			_exit(MEMBER_LOST);
	}
}

/* Controller: the pagemap/kpage oracles for one page across all members. */
static int check_page(struct __test_metadata *_metadata,
		      struct chain *ch, const bool *alive,
		      int region, int index, const char *when)
{
	struct pagemap_entry e[NR_MEMBERS];
	__u64 count, flags;
	int p, q, sharers, bad = 0;
	bool want_exclusive;
	pid_t pid;

	for (p = region; p < NR_MEMBERS; p++) {
		if (!alive[p])
			continue;
		pid = ch->crew->shared->pids[p];
		if (pagemap_get(pid, (unsigned long)page_addr(ch, region, index),
				&e[p])) {
			TH_LOG("%s: P%d R%d page %d: pagemap unreadable",
			       when, p, region, index);
			return 1;
		}
		if (!e[p].present || e[p].swapped || e[p].file || !e[p].pfn) {
			TH_LOG("%s: P%d R%d page %d: present=%d swapped=%d file=%d pfn=%#llx",
			       when, p, region, index, e[p].present,
			       e[p].swapped, e[p].file,
			       (unsigned long long)e[p].pfn);
			return 1;
		}
	}
	for (p = region; p < NR_MEMBERS; p++) {
		if (!alive[p])
			continue;
		sharers = nr_sharers(alive, p, region, index);
		for (q = p + 1; q < NR_MEMBERS; q++) {
			bool same = last_writer(p, region, index) ==
				    last_writer(q, region, index);
			bool same_pfn = e[p].pfn == e[q].pfn;

			if (!alive[q] || same == same_pfn)
				continue;
			TH_LOG("%s: R%d page %d: P%d pfn %#llx, P%d pfn %#llx, expected %s",
			       when, region, index, p,
			       (unsigned long long)e[p].pfn, q,
			       (unsigned long long)e[q].pfn,
			       same ? "one shared page" : "separate copies");
			bad++;
		}
		want_exclusive = sharers == 1;
		if (e[p].exclusive != want_exclusive) {
			TH_LOG("%s: P%d R%d page %d: exclusive bit %d with %d sharers",
			       when, p, region, index, e[p].exclusive, sharers);
			bad++;
		}
		if (kpagecount_get(e[p].pfn, &count) ||
		    count != (__u64)sharers) {
			TH_LOG("%s: P%d R%d page %d: kpagecount %llu, expected %d",
			       when, p, region, index,
			       (unsigned long long)count, sharers);
			bad++;
		}
		if (kpageflags_get(e[p].pfn, &flags) ||
		    !(flags & (1ULL << KPF_BIT_ANON)) ||
		    (ch->ksm_flag_reliable && (flags & (1ULL << KPF_BIT_KSM)))) {
			TH_LOG("%s: P%d R%d page %d: kpageflags %#llx: want ANON, not KSM",
			       when, p, region, index,
			       (unsigned long long)flags);
			bad++;
		}
	}
	return bad;
}

/* Controller: smaps of one region across all live members. */
static int check_smaps(struct __test_metadata *_metadata,
		       struct chain *ch, const bool *alive,
		       int region, const char *when)
{
	unsigned long kb_page = page_size() / 1024, rss, anon, sh_clean, sh_dirty;
	unsigned long pss, pss_sum = 0, distinct = 0, shared_pages, members = 0;
	unsigned long addr = (unsigned long)page_addr(ch, region, 0);
	char path[64];
	int p, q, i, bad = 0;

	for (p = region; p < NR_MEMBERS; p++) {
		if (!alive[p])
			continue;
		members++;
		snprintf(path, sizeof(path), "/proc/%d/smaps",
			 ch->crew->shared->pids[p]);
		if (smaps_field_kb(path, addr, "Rss", &rss) ||
		    smaps_field_kb(path, addr, "Anonymous", &anon) ||
		    smaps_field_kb(path, addr, "Shared_Clean", &sh_clean) ||
		    smaps_field_kb(path, addr, "Shared_Dirty", &sh_dirty) ||
		    smaps_field_kb(path, addr, "Pss", &pss)) {
			TH_LOG("%s: P%d R%d: smaps unreadable", when, p, region);
			bad++;
			continue;
		}
		shared_pages = 0;
		for (i = 0; i < NR_PAGES; i++)
			shared_pages += nr_sharers(alive, p, region, i) > 1;
		if (rss != NR_PAGES * kb_page || anon != rss ||
		    sh_clean + sh_dirty != shared_pages * kb_page) {
			TH_LOG("%s: P%d R%d: Rss/Anonymous/Shared %lu/%lu/%lu kB, want %lu/%lu/%lu",
			       when, p, region, rss, anon, sh_clean + sh_dirty,
			       NR_PAGES * kb_page, NR_PAGES * kb_page,
			       shared_pages * kb_page);
			bad++;
		}
		pss_sum += pss;
	}
	/* Physical copies of this region: one per distinct last writer. */
	for (i = 0; i < NR_PAGES; i++) {
		for (q = region; q < NR_MEMBERS; q++) {
			bool first = alive[q];

			for (p = region; p < q && first; p++)
				if (alive[p] && last_writer(p, region, i) ==
						last_writer(q, region, i))
					first = false;
			distinct += first;
		}
	}
	/* Each member's Pss is rounded down to a kB. */
	if (pss_sum > distinct * kb_page ||
	    pss_sum + members < distinct * kb_page) {
		TH_LOG("%s: R%d: Pss sums to %lu kB over %lu members, expected %lu kB",
		       when, region, pss_sum, members, distinct * kb_page);
		bad++;
	}
	return bad;
}

static int checkpoint(struct __test_metadata *_metadata,
		      struct chain *ch, const bool *alive,
		      const char *when)
{
	int r, i, ret, bad = 0;

	ret = crew_broadcast(ch->crew, alive, CMD_VERIFY, WAIT_MS);
	if (ret) {
		TH_LOG("%s: %d member(s) saw wrong page contents (%d)",
		       when, ret, ret);
		bad++;
	}
	for (r = 0; r < NR_MEMBERS; r++) {
		bool mapped = false;

		for (i = r; i < NR_MEMBERS; i++)
			mapped |= alive[i];
		if (!mapped)
			continue;
		for (i = 0; i < NR_PAGES; i++)
			bad += check_page(_metadata, ch, alive, r, i, when);
		bad += check_smaps(_metadata, ch, alive, r, when);
	}
	return bad;
}

FIXTURE_SETUP(fork_chain)
{
	int ret;

	report_environment_once();
	if (geteuid())
		SKIP(return, "needs root: pagemap PFNs, kpagecount and the kernel log");
	ret = pagemap_pfns_visible();
	if (ret != 1)
		SKIP(return, "pagemap does not show PFNs (%d)", ret);
	if (access("/proc/kpagecount", R_OK) || access("/proc/kpageflags", R_OK))
		SKIP(return, "no /proc/kpagecount or /proc/kpageflags");
	/* Kernels with the KPF_KSM-on-every-anon-page bug: skip that bit. */
	self->chain.ksm_flag_reliable = kpageflags_ksm_on_plain_anon() == 0;
	if (!self->chain.ksm_flag_reliable)
		TH_LOG("kpageflags marks plain anon pages KSM: KPF_KSM not checked");

	self->chain.stride = (NR_PAGES + 1) * page_size();
	self->chain.reserved = NR_MEMBERS * self->chain.stride;
	self->chain.base = reserve_range(self->chain.reserved);
	ASSERT_NE(NULL, self->chain.base);
	self->chain.crew = crew_create(NR_MEMBERS);
	ASSERT_NE(NULL, self->chain.crew);
	ASSERT_EQ(0, khealth_begin(&self->health, "fork_chain"));
}

FIXTURE_TEARDOWN(fork_chain)
{
	crew_destroy(self->chain.crew);
	if (self->chain.base)
		munmap(self->chain.base, self->chain.reserved);
}

TEST_F(fork_chain, cow_at_every_level)
{
	bool alive[NR_MEMBERS];
	char when[64], report[2048];
	int p, k, status, bad;
	pid_t pid;

	pid = crew_fork(self->chain.crew, 0);
	if (pid == 0)
		member_main(&self->chain, 0);
	ASSERT_LT(0, pid);

	/* Every member answers once its region is built and its child forked. */
	for (p = 0; p < NR_MEMBERS; p++) {
		ASSERT_EQ(0, crew_collect(self->chain.crew, p, WAIT_MS, &status));
		ASSERT_EQ(0, status) TH_LOG("P%d failed to set up: %s", p,
					    strerror(status));
		alive[p] = true;
	}

	bad = checkpoint(_metadata, &self->chain, alive, "chain built");
	EXPECT_EQ(0, bad);

	for (k = 0; k < NR_MEMBERS; k++) {
		p = variant->exit_order[k];
		ASSERT_EQ(0, crew_send(self->chain.crew, p, CMD_EXIT));
		ASSERT_EQ(0, crew_wait_exited(self->chain.crew, p, WAIT_MS))
			TH_LOG("P%d did not exit", p);
		alive[p] = false;
		snprintf(when, sizeof(when), "after P%d exited", p);
		bad = checkpoint(_metadata, &self->chain, alive, when);
		EXPECT_EQ(0, bad);
	}

	status = khealth_check(&self->health, report, sizeof(report));
	EXPECT_EQ(0, status) TH_LOG("kernel log / taint:\n%s", report);
}

TEST_HARNESS_MAIN
