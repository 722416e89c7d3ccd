// SPDX-License-Identifier: GPL-2.0
/*
 * The scenario engine's checks: every oracle on every live member against
 * the model (sc_checkpoint()), and the walks that make the kernel walk
 * rmap from the folios (migration, pageout). See scenario.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <linux/kernel-page-flags.h>

#include "env.h"
#include "scenario.h"

/* ---- checkpoints ----------------------------------------------------------- */

/* What the controller reads once per checkpoint, per live member. */
struct sc_snapshot {
	int pagemap_fd[SC_MAX_MEMBERS];
	int nr_vmas[SC_MAX_MEMBERS];
	struct smaps_vma vmas[SC_MAX_MEMBERS][SC_MAX_REGIONS + 64];
};

/*
 * The regions whose page @i may hold a copy that region @r's page @i
 * holds elsewhere: @r itself, or every used one when pages move.
 */
int sc_peer_regions(struct scenario *sc, int r, const int **list)
{
	static int self[SC_MAX_REGIONS];

	if (sc->moves) {
		*list = sc->used;
		return sc->nr_used;
	}
	self[0] = r;
	*list = self;
	return 1;
}

int sc_mappers(struct scenario *sc, int r, int i, const struct sc_page *pg)
{
	int m, k, n, count = 0;
	const int *regions;

	n = sc_peer_regions(sc, r, &regions);
	for (m = 0; m < sc->nr_members; m++)
		for (k = 0; k < n; k++)
			count += sc->alive[m] &&
				 sc_same_copy(sc_expect(sc, m, regions[k], i),
					      pg);
	return count;
}

static int sc_take_snapshot(struct scenario *sc, struct sc_snapshot *snap)
{
	char path[64];
	int m, bad = 0;

	for (m = 0; m < sc->nr_members; m++) {
		snap->pagemap_fd[m] = -1;
		if (!sc->alive[m])
			continue;
		snprintf(path, sizeof(path), "/proc/%d/pagemap", crew_pid(sc->crew, m));
		snap->pagemap_fd[m] = open(path, O_RDONLY | O_CLOEXEC);
		snprintf(path, sizeof(path), "/proc/%d/smaps", crew_pid(sc->crew, m));
		snap->nr_vmas[m] = smaps_read_all(path, snap->vmas[m],
						  ARRAY_SIZE(snap->vmas[m]));
		if (snap->pagemap_fd[m] < 0 || snap->nr_vmas[m] < 0 ||
		    snap->nr_vmas[m] > (int)ARRAY_SIZE(snap->vmas[m])) {
			sc_log(sc, "P%d: pagemap or smaps unreadable", m);
			bad++;
		}
	}
	return bad;
}

static void sc_drop_snapshot(struct scenario *sc, struct sc_snapshot *snap)
{
	int m;

	for (m = 0; m < sc->nr_members; m++)
		if (snap->pagemap_fd[m] >= 0)
			close(snap->pagemap_fd[m]);
}

/*
 * PFN identity of member @m's page @i of region @r (at @pfn) with page @i
 * of the used regions after @r in every member: one PFN exactly for one
 * copy. (Regions before @r compared with this one when they were checked.)
 */
static int sc_check_moved_peers(struct scenario *sc, int m, int r, int i,
				__u64 pfn, const char *when,
				struct sc_snapshot *snap)
{
	const struct sc_page *pg = sc_expect(sc, m, r, i);
	struct pagemap_entry f;
	int k, q, r2, bad = 0;
	bool same, same_pfn;

	for (k = 0; k < sc->nr_used; k++) {
		r2 = sc->used[k];
		if (r2 <= r)
			continue;
		for (q = 0; q < sc->nr_members; q++) {
			if (!sc->alive[q] ||
			    sc_expect(sc, q, r2, i)->state != SC_TAGGED)
				continue;
			pagemap_decode(pagemap_get_entry(snap->pagemap_fd[q],
							 sc_addr(sc, r2, i)), &f);
			same = sc_same_copy(pg, sc_expect(sc, q, r2, i));
			same_pfn = f.pfn == pfn;
			if (same == same_pfn)
				continue;
			sc_log(sc, "%s: page %d: P%d R%d pfn %#llx, P%d R%d pfn %#llx, expected %s",
			       when, i, m, r, (unsigned long long)pfn, q, r2,
			       (unsigned long long)f.pfn,
			       same ? "one shared page" : "separate copies");
			bad++;
		}
	}
	return bad;
}

/* pagemap and kpage* of page @i of region @r in every live member. */
static int sc_check_page(struct scenario *sc, int r, int i, const char *when,
			 struct sc_snapshot *snap)
{
	struct pagemap_entry e[SC_MAX_MEMBERS];
	int m, q, mappers, bad = 0;
	bool used = false, want_exclusive;
	__u64 count, flags;

	/* Pages that no live member ever mapped are not looked at. */
	for (m = 0; m < sc->nr_members; m++)
		used |= sc->alive[m] && sc_mapped(sc_expect(sc, m, r, i));
	if (!used)
		return 0;
	for (m = 0; m < sc->nr_members; m++) {
		if (!sc->alive[m])
			continue;
		pagemap_decode(pagemap_get_entry(snap->pagemap_fd[m],
						 sc_addr(sc, r, i)), &e[m]);
	}
	for (m = 0; m < sc->nr_members; m++) {
		struct sc_page *pg = sc_expect(sc, m, r, i);

		if (!sc->alive[m] || pg->state == SC_ZERO ||
		    pg->state == SC_LAZYFREE)
			continue;
		if (pg->state == SC_UNMAPPED) {
			if (e[m].present || e[m].swapped) {
				sc_log(sc, "%s: P%d R%d page %d: mapped, expected no mapping",
				       when, m, r, i);
				bad++;
			}
			continue;
		}
		if (!e[m].present || e[m].swapped || e[m].file || !e[m].pfn) {
			sc_log(sc, "%s: P%d R%d page %d: present %d swapped %d file %d pfn %#llx",
			       when, m, r, i, e[m].present, e[m].swapped,
			       e[m].file, (unsigned long long)e[m].pfn);
			bad++;
			continue;
		}
		for (q = m + 1; q < sc->nr_members; q++) {
			bool same, same_pfn;

			if (!sc->alive[q] ||
			    sc_expect(sc, q, r, i)->state != SC_TAGGED)
				continue;
			same = sc_same_copy(pg, sc_expect(sc, q, r, i));
			same_pfn = e[m].pfn == e[q].pfn;
			if (same == same_pfn)
				continue;
			sc_log(sc, "%s: R%d page %d: P%d pfn %#llx, P%d pfn %#llx, expected %s",
			       when, r, i, m, (unsigned long long)e[m].pfn, q,
			       (unsigned long long)e[q].pfn,
			       same ? "one shared page" : "separate copies");
			bad++;
		}
		if (sc->moves)
			bad += sc_check_moved_peers(sc, m, r, i, e[m].pfn, when,
						    snap);
		mappers = sc_mappers(sc, r, i, pg);
		want_exclusive = mappers == 1;
		if (e[m].exclusive != want_exclusive) {
			sc_log(sc, "%s: P%d R%d page %d: exclusive bit %d with %d mappers",
			       when, m, r, i, e[m].exclusive, mappers);
			bad++;
		}
		if (kpagecount_get(e[m].pfn, &count) ||
		    count != (__u64)mappers) {
			sc_log(sc, "%s: P%d R%d page %d: kpagecount %llu, expected %d",
			       when, m, r, i, (unsigned long long)count,
			       mappers);
			bad++;
		}
		if (kpageflags_get(e[m].pfn, &flags) ||
		    !kpf_has(flags, KPF_ANON) ||
		    (sc->ksm_flag_reliable && kpf_has(flags, KPF_KSM))) {
			sc_log(sc, "%s: P%d R%d page %d: kpageflags %#llx: want ANON, not KSM",
			       when, m, r, i, (unsigned long long)flags);
			bad++;
		}
	}
	return bad;
}

/* The VMAs of region @r in member @m: extents and protections. */
static int sc_check_layout(struct scenario *sc, int m, int r, const char *when,
			   struct sc_snapshot *snap)
{
	unsigned long lo = (unsigned long)sc_addr(sc, r, 0);
	unsigned long hi = lo + SC_REGION_PAGES * psize();
	struct vma_extent want[SC_REGION_PAGES], got[SC_REGION_PAGES + 2];
	int nr_want = 0, nr_got = 0, i, v;
	char a[512], b[512];

	for (i = 0; i < SC_REGION_PAGES; i++) {
		struct sc_page *pg = sc_expect(sc, m, r, i);

		if (!sc_mapped(pg))
			continue;
		if (pg->vma_start || !i || !sc_mapped(sc_expect(sc, m, r, i - 1))) {
			want[nr_want].start = (unsigned long)sc_addr(sc, r, i);
			snprintf(want[nr_want].perms, sizeof(want[0].perms),
				 "r%c-p", pg->readonly ? '-' : 'w');
			nr_want++;
		}
		want[nr_want - 1].end = (unsigned long)sc_addr(sc, r, i + 1);
	}
	for (v = 0; v < snap->nr_vmas[m]; v++) {
		struct smaps_vma *vma = &snap->vmas[m][v];

		/* PROT_NONE VMAs are the reservation around the regions. */
		if (vma->end <= lo || vma->start >= hi ||
		    !strcmp(vma->perms, "---p"))
			continue;
		if (nr_got == ARRAY_SIZE(got))
			break;
		got[nr_got].start = vma->start;
		got[nr_got].end = vma->end;
		memcpy(got[nr_got].perms, vma->perms, sizeof(got[0].perms));
		nr_got++;
	}
	for (i = 0; i < nr_want && i < nr_got; i++)
		if (want[i].start != got[i].start || want[i].end != got[i].end ||
		    strcmp(want[i].perms, got[i].perms))
			break;
	if (i == nr_want && i == nr_got)
		return 0;
	sc_log(sc, "%s: P%d R%d: VMAs %s, expected %s", when, m, r,
	       vma_layout_str(got, nr_got, lo, a, sizeof(a)),
	       vma_layout_str(want, nr_want, lo, b, sizeof(b)));
	return 1;
}

/*
 * smaps of region @r in every live member that maps part of it: Rss and
 * Anonymous count its copies, Shared_* those mapped by others too,
 * Private_* the rest, Locked the mlocked ones (shared by all mappers,
 * like Pss), and Pss summed over all members counts every copy once.
 */
/* Pss and copies summed over regions (pages moved between regions). */
struct sc_pss_sum {
	unsigned long pss, copies, slack, lazy;
};

/* Whether no member maps the copy @pg of (@m, @r, page @i) earlier. */
static bool sc_first_mapping(struct scenario *sc, int m, int r, int i,
			     const struct sc_page *pg)
{
	int k, q, r2, n;
	const int *regions;

	n = sc_peer_regions(sc, r, &regions);
	for (k = 0; k < n; k++) {
		r2 = regions[k];
		for (q = 0; q < sc->nr_members; q++) {
			if (r2 == r && q >= m)
				break;
			if (sc->alive[q] &&
			    sc_same_copy(sc_expect(sc, q, r2, i), pg))
				return false;
		}
		if (r2 == r)
			break;
	}
	return true;
}

static int sc_check_smaps(struct scenario *sc, int r, const char *when,
			  struct sc_snapshot *snap, struct sc_pss_sum *total)
{
	unsigned long lo = (unsigned long)sc_addr(sc, r, 0);
	unsigned long hi = lo + SC_REGION_PAGES * psize();
	unsigned long kb = psize() / 1024, pss_sum = 0, copies = 0;
	unsigned long slack = 0, lazy_all = 0;
	int m, i, v, bad = 0;

	for (m = 0; m < sc->nr_members; m++) {
		unsigned long tagged = 0, shared = 0, lazy = 0, vmas = 0;
		unsigned long locked_x = 0;	/* Locked in kB, times 840 */
		struct smaps_vma sum = { 0 };

		if (!sc->alive[m])
			continue;
		for (i = 0; i < SC_REGION_PAGES; i++) {
			struct sc_page *pg = sc_expect(sc, m, r, i);

			if (pg->state == SC_LAZYFREE)
				lazy++;
			if (pg->state != SC_TAGGED)
				continue;
			tagged++;
			shared += sc_mappers(sc, r, i, pg) > 1;
			/* 840 = lcm(1..8): shares of up to 8 mappers are exact */
			if (pg->locked)
				locked_x += kb * 840 / sc_mappers(sc, r, i, pg);
		}
		if (!tagged && !lazy)
			continue;
		for (v = 0; v < snap->nr_vmas[m]; v++) {
			struct smaps_vma *vma = &snap->vmas[m][v];

			if (vma->end <= lo || vma->start >= hi)
				continue;
			sum.rss += vma->rss;
			sum.pss += vma->pss;
			sum.anonymous += vma->anonymous;
			sum.shared_clean += vma->shared_clean;
			sum.shared_dirty += vma->shared_dirty;
			sum.private_clean += vma->private_clean;
			sum.private_dirty += vma->private_dirty;
			sum.locked += vma->locked;
			vmas++;
		}
		slack += vmas;	/* Pss and Locked are rounded down per VMA */
		/* MADV_FREE'd pages may or may not have been dropped. */
		if (sum.rss < tagged * kb || sum.rss > (tagged + lazy) * kb ||
		    sum.anonymous != sum.rss ||
		    sum.shared_clean + sum.shared_dirty != shared * kb ||
		    sum.private_clean + sum.private_dirty !=
		    sum.rss - shared * kb || sum.locked * 840 > locked_x ||
		    (sum.locked + vmas) * 840 < locked_x) {
			sc_log(sc, "%s: P%d R%d: kB rss/shr/lck %lu/%lu/%lu, want %lu+%lu/%lu/%lu",
			       when, m, r, sum.rss,
			       sum.shared_clean + sum.shared_dirty, sum.locked,
			       tagged * kb, lazy * kb, shared * kb,
			       locked_x / 840);
			bad++;
		}
		pss_sum += sum.pss;
		lazy_all += lazy;
	}
	/* Physical copies: one per distinct tag among the live members. */
	for (i = 0; i < SC_REGION_PAGES; i++)
		for (m = 0; m < sc->nr_members; m++)
			copies += sc->alive[m] &&
				  sc_expect(sc, m, r, i)->state == SC_TAGGED &&
				  sc_first_mapping(sc, m, r, i,
						   sc_expect(sc, m, r, i));
	/* A copy moved to another region shares Pss across regions. */
	if (sc->moves) {
		total->pss += pss_sum;
		total->copies += copies;
		total->slack += slack;
		total->lazy += lazy_all;
		return bad;
	}
	/* Pss is rounded down per VMA: "slack" kB may be missing. */
	if (pss_sum + slack < copies * kb ||
	    pss_sum > (copies + lazy_all) * kb) {
		sc_log(sc, "%s: R%d: Pss sums to %lu kB, expected %lu kB",
		       when, r, pss_sum, copies * kb);
		bad++;
	}
	return bad;
}

int sc_checkpoint(struct scenario *sc, const char *when)
{
	static const struct crew_cmd verify = { .op = CREW_VERIFY };
	static struct sc_snapshot snap;
	struct sc_pss_sum total = { 0 };
	unsigned long kb = psize() / 1024;
	int m, r, i, ret, bad = 0;

	sc->log_budget = SC_LOG_BUDGET;
	/* Members read every page: contents, and swap-in after a pageout. */
	ret = crew_broadcast(sc->crew, sc->alive, &verify);
	if (ret) {
		sc_log(sc, "%s: %d member(s) saw wrong page contents", when,
		       ret);
		bad++;
	}
	bad += sc_take_snapshot(sc, &snap);
	if (bad) {
		sc_drop_snapshot(sc, &snap);
		return bad;
	}
	for (r = 0; r < SC_MAX_REGIONS; r++) {
		for (i = 0; i < SC_REGION_PAGES; i++)
			bad += sc_check_page(sc, r, i, when, &snap);
		bad += sc_check_smaps(sc, r, when, &snap, &total);
		for (m = 0; m < sc->nr_members; m++)
			if (sc->alive[m])
				bad += sc_check_layout(sc, m, r, when, &snap);
	}
	sc_drop_snapshot(sc, &snap);
	if (sc->moves && (total.pss + total.slack < total.copies * kb ||
			  total.pss > (total.copies + total.lazy) * kb)) {
		sc_log(sc, "%s: Pss of all regions sums to %lu kB, expected %lu kB",
		       when, total.pss, total.copies * kb);
		bad++;
	}
	return bad;
}

/* ---- walks ------------------------------------------------------------------ */

#define SC_MAX_PAGES	(SC_MAX_REGIONS * SC_REGION_PAGES)

int sc_migrate_walk(struct scenario *sc, int m, const int *nodes,
		    const char *when)
{
	static void *pages[SC_MAX_PAGES], *batch[SC_MAX_PAGES];
	static int where[SC_MAX_PAGES], status[SC_MAX_PAGES];
	static int target[SC_MAX_PAGES], idx[SC_MAX_PAGES];
	static int region[SC_MAX_PAGES], index[SC_MAX_PAGES];
	static __u64 before[SC_MAX_PAGES];
	pid_t pid = crew_pid(sc->crew, m);
	struct pagemap_entry e, f;
	int r, i, k, q, p, side, ret, count = 0, bad = 0, nr_peers;
	const int *peers;

	sc->log_budget = SC_LOG_BUDGET;
	for (r = 0; r < SC_MAX_REGIONS; r++) {
		for (i = 0; i < SC_REGION_PAGES; i++) {
			if (sc_expect(sc, m, r, i)->state != SC_TAGGED)
				continue;
			region[count] = r;
			index[count] = i;
			pages[count++] = sc_addr(sc, r, i);
		}
	}
	if (!count)
		return 0;
	ret = pages_node(pid, pages, count, where);
	if (ret) {
		sc_log(sc, "%s: move_pages query of P%d: %d", when, m, ret);
		return 1;
	}
	for (k = 0; k < count; k++) {
		if (pagemap_get(pid, (unsigned long)pages[k], &e) || !e.pfn) {
			sc_log(sc, "%s: P%d page %p not mapped before migration",
			       when, m, pages[k]);
			return 1;
		}
		before[k] = e.pfn;
		target[k] = where[k] == nodes[0] ? nodes[1] : nodes[0];
	}
	/* One batch per target node. */
	for (side = 0; side < 2; side++) {
		int nr = 0;

		for (k = 0; k < count; k++)
			if (target[k] == nodes[side]) {
				idx[nr] = k;
				batch[nr++] = pages[k];
			}
		if (!nr)
			continue;
		ret = pages_move(pid, batch, nr, nodes[side], status);
		if (ret < 0) {
			sc_log(sc, "%s: move_pages of P%d failed: %d", when, m,
			       ret);
			return bad + 1;
		}
		for (k = 0; k < nr; k++) {
			if (status[k] == nodes[side])
				continue;
			sc_log(sc, "%s: P%d page %p not migrated to node %d: %d",
			       when, m, batch[k], nodes[side], status[k]);
			bad++;
			where[idx[k]] = -1;
		}
	}
	/* Every member mapping the same copy follows the page. */
	for (k = 0; k < count; k++) {
		struct sc_page *pg = sc_expect(sc, m, region[k], index[k]);

		if (where[k] < 0 ||
		    pagemap_get(pid, (unsigned long)pages[k], &e))
			continue;
		if (e.pfn == before[k]) {
			sc_log(sc, "%s: P%d R%d page %d: PFN unchanged by migration",
			       when, m, region[k], index[k]);
			bad++;
		}
		nr_peers = sc_peer_regions(sc, region[k], &peers);
		for (q = 0; q < sc->nr_members; q++) {
			for (p = 0; p < nr_peers; p++) {
				int r2 = peers[p];

				if ((q == m && r2 == region[k]) || !sc->alive[q] ||
				    !sc_same_copy(sc_expect(sc, q, r2, index[k]),
						  pg))
					continue;
				if (pagemap_get(crew_pid(sc->crew, q),
						(unsigned long)sc_addr(sc, r2, index[k]),
						&f) || f.pfn != e.pfn) {
					sc_log(sc, "%s: page %d: P%d R%d %#llx, P%d R%d %#llx",
					       when, index[k], m, region[k],
					       (unsigned long long)e.pfn, q, r2,
					       (unsigned long long)f.pfn);
					bad++;
				}
			}
		}
	}
	return bad;
}

int sc_walk_all(struct scenario *sc, enum sc_walk walk, const int *nodes,
		const char *when)
{
	int m, bad = 0;

	if (walk == SC_NO_WALK)
		return 0;
	for (m = 0; m < sc->nr_members; m++) {
		if (!sc->alive[m])
			continue;
		if (walk == SC_MIGRATE_WALK)
			bad += sc_migrate_walk(sc, m, nodes, when);
		else
			bad += sc_pageout_walk(sc, m, when);
	}
	return bad + sc_checkpoint(sc, when);
}

/*
 * MADV_PAGEOUT in member @m of every run of pages it maps that are not
 * mlocked (MADV_PAGEOUT refuses mlocked VMAs). 0 or -1.
 */
static int sc_pageout_member(struct scenario *sc, int m, const char *when)
{
	int r, i, first, ret;

	for (r = 0; r < SC_MAX_REGIONS; r++) {
		for (i = 0; i < SC_REGION_PAGES; i++) {
			if (!sc_mapped(sc_expect(sc, m, r, i)) ||
			    sc_expect(sc, m, r, i)->locked)
				continue;
			first = i;
			while (i < SC_REGION_PAGES &&
			       sc_mapped(sc_expect(sc, m, r, i)) &&
			       !sc_expect(sc, m, r, i)->locked)
				i++;
			ret = crew_do(sc->crew, m, CREW_MADVISE, r, first, i,
				      MADV_PAGEOUT);
			if (ret) {
				sc_log(sc, "%s: MADV_PAGEOUT in P%d R%d: %d",
				       when, m, r, ret);
				return -1;
			}
		}
	}
	return 0;
}

int sc_pageout_walk(struct scenario *sc, int m, const char *when)
{
	struct pagemap_entry e;
	int r, i, try, left = 0, bad = 0;

	sc->log_budget = SC_LOG_BUDGET;
	/*
	 * A folio still in a per-CPU LRU batch cannot be isolated; the
	 * member drains its own CPU's batch (callers pin the scenario to one
	 * CPU, see pin_to_this_cpu()), and tries a few times.
	 */
	for (try = 0; try < 4; try++) {
		if (sc_pageout_member(sc, m, when))
			return 1;
		left = 0;
		for (r = 0; r < SC_MAX_REGIONS; r++) {
			for (i = 0; i < SC_REGION_PAGES; i++) {
				struct sc_page *pg = sc_expect(sc, m, r, i);

				if (pg->state != SC_TAGGED || pg->locked ||
				    sc_mappers(sc, r, i, pg) != 1)
					continue;
				if (pagemap_get(crew_pid(sc->crew, m),
						(unsigned long)sc_addr(sc, r, i),
						&e))
					return 1;
				left += !e.swapped;
			}
		}
		if (!left)
			break;
	}
	if (left) {
		sc_log(sc, "%s: P%d: %d exclusive page(s) not swapped out",
		       when, m, left);
		bad++;
	}
	/* Shared and mlocked copies stay where they are. */
	for (r = 0; r < SC_MAX_REGIONS; r++) {
		for (i = 0; i < SC_REGION_PAGES; i++) {
			struct sc_page *pg = sc_expect(sc, m, r, i);
			bool stays;

			if (pg->state != SC_TAGGED)
				continue;
			stays = pg->locked || sc_mappers(sc, r, i, pg) > 1;
			if (!stays ||
			    pagemap_get(crew_pid(sc->crew, m),
					(unsigned long)sc_addr(sc, r, i), &e))
				continue;
			if (!e.present) {
				sc_log(sc, "%s: P%d R%d page %d: %s page swapped out",
				       when, m, r, i,
				       pg->locked ? "mlocked" : "shared");
				bad++;
			}
		}
	}
	return bad;
}
