// SPDX-License-Identifier: GPL-2.0
/*
 * The scenario engine's model: what every member of a scenario maps once
 * the programs ran, the merge policy it follows, and the literal form the
 * tests state their expectations in. See scenario.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "scenario.h"

/* Whether step @s of member @m writes page @i of region @r. */
bool sc_step_writes(struct scenario *sc, int m, int s, int r, int i)
{
	return splitmix64(sc->seed ^ splitmix64(((__u64)m << 48) | ((__u64)s << 32) |
					((__u64)r << 16) | i)) & 1;
}

struct page_tag sc_tag(int m, int s, int r, int i)
{
	struct page_tag tag = {
		.owner = m, .gen = r, .index = i, .version = s + 1,
	};

	return tag;
}

static bool sc_same_attrs(const struct sc_page *a, const struct sc_page *b)
{
	return a->readonly == b->readonly && a->locked == b->locked &&
	       a->dontfork == b->dontfork && a->wipeonfork == b->wipeonfork &&
	       a->unaccounted == b->unaccounted;
}

bool sc_mapped(const struct sc_page *pg)
{
	return pg->state != SC_UNMAPPED;
}

/*
 * A VMA's anon_vma as the model knows it (sc_page.av): 0 none (a child's
 * MADV_WIPEONFORK VMA, or moved from one), values with this bit set for
 * the anon_vma a VMA gets at fork, others for one made in this mm.
 */
#define SC_AV_FORKED	0x80000000U

/* ---- merge policy ------------------------------------------------------ */

static struct sc_policy probed_policy;
static bool policy_known;

/*
 * merges_into_unfaulted: a two-page mapping whose pages differ only in
 * VM_DONTCOPY, neither faulted; the first page is faulted, then made
 * VM_DONTCOPY too: one VMA afterwards (merged) or two.
 */
static bool probe_merges_into_unfaulted(void)
{
	struct vma_extent v[3];
	size_t ps = psize();
	bool merges = false;
	char *p;

	p = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return merges;
	if (!madvise(p + ps, ps, MADV_DONTFORK)) {
		p[0] = 1;
		if (!madvise(p, ps, MADV_DONTFORK))
			merges = vma_layout(0, (unsigned long)p,
					    (unsigned long)p + 2 * ps, v, 3) == 1;
	}
	munmap(p, 2 * ps);
	return merges;
}

const struct sc_policy *sc_policy(void)
{
	if (!policy_known) {
		probed_policy.merges_into_unfaulted =
			probe_merges_into_unfaulted();
		policy_known = true;
	}
	return &probed_policy;
}

void sc_policy_override(const struct sc_policy *policy)
{
	probed_policy = *policy;
	policy_known = true;
}

/* ---- the model ---------------------------------------------------------- */

/*
 * Whether the VMA of page @vmg (just changed, moved or grown) merges with
 * its neighbour's (@nb) across the boundary between them: flags and
 * vm_pgoff line up, and the anon_vmas are compatible: one anon_vma; or
 * none on either side (the merged VMA takes the other's), where the one
 * that has one has no other (it was not inherited). A VMA with one
 * merging into a neighbour without: depends on the kernel.
 */
static bool sc_fits(const struct sc_page *vmg, const struct sc_page *nb,
		    bool nb_left)
{
	const struct sc_page *a = nb_left ? nb : vmg, *b = nb_left ? vmg : nb;
	bool anon_ok;

	if (vmg->av == nb->av)
		anon_ok = true;
	else if (!vmg->av)
		anon_ok = !(nb->av & SC_AV_FORKED);
	else if (!nb->av)
		anon_ok = !(vmg->av & SC_AV_FORKED) &&
			  sc_policy()->merges_into_unfaulted;
	else
		anon_ok = false;
	return sc_same_attrs(a, b) && b->pgoff == a->pgoff + 1 && anon_ok;
}

/* After merges: a VMA that took in one without anon_vma shares its own. */
static void sc_model_spread_av(struct sc_page *pg)
{
	int i, j, start;
	__u32 av;

	for (start = 0; start < SC_REGION_PAGES; start = i) {
		for (av = 0, i = start; i < SC_REGION_PAGES && sc_mapped(&pg[i]) &&
		     (i == start || !pg[i].vma_start); i++)
			av = av ? av : pg[i].av;
		for (j = start; j < i; j++)
			pg[j].av = av;
		if (i == start)
			i++;
	}
}

/*
 * The VMA layout after [first, last) changed (@changed[i]: page i's
 * flags changed; NULL: every page of the range, for a moved or grown
 * piece). The kernel splits a changed VMA at the ends of the range and
 * tries to merge every changed VMA with its neighbours; unchanged VMAs
 * keep their boundaries, even between pieces that would fit.
 */
static void sc_model_edges(struct sc_page *pg, int first, int last,
			   const bool *changed)
{
	int b;

	for (b = first; b <= last; b++) {
		bool left, right;

		if (b <= 0 || b >= SC_REGION_PAGES || !sc_mapped(&pg[b]) ||
		    !sc_mapped(&pg[b - 1]))
			continue;
		left = b - 1 >= first && b - 1 < last &&
		       (!changed || changed[b - 1]);
		right = b >= first && b < last && (!changed || changed[b]);
		/* Inside one VMA that changed as a whole: no boundary. */
		if (!pg[b].vma_start && b > first && b < last)
			continue;
		if (!left && !right)
			continue;
		/* The kernel goes left to right: the right piece merges last. */
		pg[b].vma_start = right ? !sc_fits(&pg[b], &pg[b - 1], true) :
					  !sc_fits(&pg[b - 1], &pg[b], false);
	}
	sc_model_spread_av(pg);
}

/*
 * mremap of [first, last) from @src to the same pages of @dst: the pages
 * keep contents, attributes and vm_pgoff; with MREMAP_DONTUNMAP the source
 * stays mapped, empty (the next access faults a zero page).
 */
static void sc_model_move(struct sc_page *src, struct sc_page *dst,
			  int dst_region, int first, int last, bool dontunmap)
{
	int i;

	for (i = first; i < last; i++) {
		dst[i] = src[i];
		dst[i].vma_start = i == first;
		/* copy_vma(): no anon_vma yet, so vm_pgoff as for a new VMA. */
		if (!src[i].av)
			dst[i].pgoff = dst_region * (SC_REGION_PAGES + 1) + i;
		if (dontunmap) {
			src[i].state = SC_ZERO;
			memset(&src[i].tag, 0, sizeof(src[i].tag));
			src[i].copy = 0;
			src[i].locked = false;
		} else {
			memset(&src[i], 0, sizeof(src[i]));
		}
	}
	/* The hole left behind starts a new VMA after it. */
	if (!dontunmap && last < SC_REGION_PAGES && sc_mapped(&src[last]))
		src[last].vma_start = true;
	if (last < SC_REGION_PAGES && sc_mapped(&dst[last]))
		dst[last].vma_start = true;
	sc_model_edges(dst, first, last, NULL);
}

/* mremap growing the VMA that ends at @first in place to end at @last. */
static void sc_model_grow(struct sc_page *pg, int first, int last)
{
	int i;

	for (i = first; i < last; i++) {
		pg[i] = pg[i - 1];
		pg[i].state = SC_ZERO;
		memset(&pg[i].tag, 0, sizeof(pg[i].tag));
		pg[i].copy = 0;
		pg[i].pgoff = pg[i - 1].pgoff + 1;
		pg[i].vma_start = false;
	}
	sc_model_edges(pg, first, last, NULL);
}

/*
 * A write fault in a VMA without anon_vma (a child's MADV_WIPEONFORK VMA)
 * gives the whole VMA a new one (its neighbours are inherited: never
 * reused).
 */
static void sc_model_first_write(struct sc_page *pg, int m, int s, int r)
{
	int i, j, start = 0;

	for (i = 0; i < SC_REGION_PAGES; i++) {
		if (!sc_mapped(&pg[i]))
			continue;
		if (pg[i].vma_start || !i || !sc_mapped(&pg[i - 1]))
			start = i;
		if (pg[i].av || pg[i].state != SC_TAGGED)
			continue;
		for (j = start; j < SC_REGION_PAGES && sc_mapped(&pg[j]) &&
		     (j == start || !pg[j].vma_start); j++)
			pg[j].av = 0x40000000U |
				   (splitmix64(((__u64)m << 32) | (s << 16) |
					   (r << 8) | start) & 0x3fffffff);
	}
}

/* What step @s of member @m does to its view @v. */
void sc_model_step(struct scenario *sc, int m, int s, struct sc_view *v)
{
	const struct sc_step *st = &sc->steps[m][s];
	struct sc_page *pg = v->page[st->region];
	bool changes_attrs = false, changed[SC_REGION_PAGES] = { false };
	int i;

	if (st->op == SC_FORK)
		return;
	if (st->op == SC_MOVE || st->op == SC_DONTUNMAP) {
		sc_model_move(pg, v->page[st->child], st->child, st->first,
			      st->last, st->op == SC_DONTUNMAP);
		return;
	}
	if (st->op == SC_GROW) {
		sc_model_grow(pg, st->first, st->last);
		return;
	}
	for (i = st->first; i < st->last; i++) {
		struct sc_page *p = &pg[i];
		struct sc_page before = *p;

		switch (st->op) {
		case SC_MMAP:
			memset(p, 0, sizeof(*p));
			p->state = SC_TAGGED;
			p->tag = sc_tag(m, s, st->region, i);
			p->vma_start = i == st->first;
			/* Faulted at once: an anon_vma of its own. */
			p->av = 1 + (m * SC_MAX_STEPS + s) * SC_MAX_REGIONS +
				st->region;
			/* Anonymous: the address in pages (regions never touch). */
			p->pgoff = st->region * (SC_REGION_PAGES + 1) + i;
			break;
		case SC_WRITE:
			if (sc_mapped(p) && !p->readonly &&
			    sc_step_writes(sc, m, s, st->region, i)) {
				p->state = SC_TAGGED;
				p->tag = sc_tag(m, s, st->region, i);
				p->copy = 0;
			}
			break;
		case SC_UNMAP:
			memset(p, 0, sizeof(*p));
			break;
		case SC_DONTNEED:
			if (sc_mapped(p)) {
				p->state = SC_ZERO;
				memset(&p->tag, 0, sizeof(p->tag));
			}
			break;
		case SC_FREE:
			if (p->state == SC_TAGGED)
				p->state = SC_LAZYFREE;
			break;
		case SC_RO:
		case SC_RW:
			/*
			 * An mlocked private VMA made writable is populated
			 * for write: a shared copy is copied.
			 */
			if (st->op == SC_RW && p->readonly && p->locked &&
			    p->state == SC_TAGGED)
				p->copy = ((m + 1) << 16) | (s + 1);
			/*
			 * mprotect drops VM_ACCOUNT of a VMA without anon_vma
			 * made read-only, and charges it again when writable:
			 * a flag that keeps such a VMA from its neighbours.
			 */
			if (st->op == SC_RO && !p->readonly && !p->av)
				p->unaccounted = true;
			if (st->op == SC_RW && p->readonly)
				p->unaccounted = false;
			p->readonly = st->op == SC_RO;
			break;
		case SC_MLOCK:
			/*
			 * Populated for write, also when already locked: a
			 * shared copy is copied.
			 */
			if (p->state == SC_TAGGED && !p->readonly)
				p->copy = ((m + 1) << 16) | (s + 1);
			p->locked = true;
			break;
		case SC_MUNLOCK:
			p->locked = false;
			break;
		case SC_DONTFORK:
			p->dontfork = true;
			break;
		case SC_WIPEONFORK:
			p->wipeonfork = true;
			break;
		default:
			break;
		}
		changed[i] = sc_mapped(p) && !sc_same_attrs(&before, p);
		changes_attrs |= changed[i];
	}
	/* A hole left by munmap starts a new VMA after it. */
	if (st->op == SC_UNMAP && st->last < SC_REGION_PAGES &&
	    sc_mapped(&pg[st->last]))
		pg[st->last].vma_start = true;
	if (changes_attrs)
		sc_model_edges(pg, st->first, st->last, changed);
	if (st->op == SC_WRITE)
		sc_model_first_write(pg, m, s, st->region);
}

/* The view a child gets from its parent's at fork (may be in place). */
void sc_model_fork(const struct sc_view *parent, struct sc_view *child)
{
	__u32 av;
	int r, i;

	if (child != parent)
		*child = *parent;
	for (r = 0; r < SC_MAX_REGIONS; r++) {
		for (i = 0; i < SC_REGION_PAGES; i++) {
			struct sc_page *p = &child->page[r][i];

			if (!sc_mapped(p))
				continue;
			if (p->dontfork) {
				memset(p, 0, sizeof(*p));
				continue;
			}
			if (p->wipeonfork) {
				p->state = SC_ZERO;
				memset(&p->tag, 0, sizeof(p->tag));
			}
			/* mlock is not inherited; VMA boundaries are. */
			p->locked = false;
		}
		/* A page after a DONTFORK hole starts a VMA. */
		for (i = 1; i < SC_REGION_PAGES; i++) {
			struct sc_page *p = &child->page[r][i];

			if (sc_mapped(p) && !sc_mapped(&child->page[r][i - 1]))
				p->vma_start = true;
		}
		if (sc_mapped(&child->page[r][0]))
			child->page[r][0].vma_start = true;
		/*
		 * Every VMA of the child gets an anon_vma of its own, but a
		 * MADV_WIPEONFORK one: none until a write fault.
		 */
		for (i = 0, av = 0; i < SC_REGION_PAGES; i++) {
			struct sc_page *p = &child->page[r][i];

			if (!sc_mapped(p))
				continue;
			if (p->vma_start)
				av = splitmix64(((__u64)p->av << 16) | (r << 4) | i) |
				     SC_AV_FORKED;
			p->av = p->wipeonfork ? 0 : av;
		}
	}
}

static void sc_model_member(struct scenario *sc, int m, struct sc_view *view)
{
	int s, c;

	for (s = 0; s < sc->nr_steps[m]; s++) {
		if (sc->steps[m][s].op != SC_FORK) {
			sc_model_step(sc, m, s, view);
			continue;
		}
		c = sc->steps[m][s].child;
		sc_model_fork(view, &sc->expect[c]);
		sc_model_member(sc, c, &sc->expect[c]);
	}
}

void sc_model_all(struct scenario *sc)
{
	memset(sc->expect, 0, sizeof(sc->expect));
	sc_model_member(sc, 0, &sc->expect[0]);
}

bool sc_same_copy(const struct sc_page *a, const struct sc_page *b)
{
	return a->state == SC_TAGGED && b->state == SC_TAGGED &&
	       a->copy == b->copy && !memcmp(&a->tag, &b->tag, sizeof(a->tag));
}

/* ---- the literal form ---------------------------------------------------- */

/* One physical copy: the same tag and copy, freed lazily or not. */
static bool same_contents(const struct sc_page *a, const struct sc_page *b)
{
	return a->copy == b->copy && !memcmp(&a->tag, &b->tag, sizeof(a->tag));
}

static bool holds_copy(const struct sc_page *pg)
{
	return pg->state == SC_TAGGED || pg->state == SC_LAZYFREE;
}

/*
 * The letter of the copy at page @i of (@m, @r): copies are lettered per
 * region and page in order of first appearance over the members; with
 * mremap steps per page index over all used regions (moves keep the page
 * index, so a copy stays in its column).
 */
static char copy_letter(struct scenario *sc, int m, int r, int i)
{
	const struct sc_page *pg = sc_expect(sc, m, r, i), *q;
	const struct sc_page *seen[26];
	int n = 0, k, j, qm, qr;

	for (qm = 0; qm < sc->nr_members; qm++) {
		for (j = 0; j < sc->nr_used; j++) {
			qr = sc->used[j];
			if (!sc->moves && qr != r)
				continue;
			q = sc_expect(sc, qm, qr, i);
			if (!holds_copy(q))
				continue;
			for (k = 0; k < n && !same_contents(seen[k], q); k++)
				;
			if (k == n && n < 26)
				seen[n++] = q;
			if (qm == m && qr == r)
				return (pg->state == SC_LAZYFREE ? 'a' : 'A') + k;
		}
	}
	return '?';
}

static bool vma_starts_at(struct scenario *sc, int m, int r, int i)
{
	return sc_mapped(sc_expect(sc, m, r, i)) &&
	       (!i || !sc_mapped(sc_expect(sc, m, r, i - 1)) ||
		sc_expect(sc, m, r, i)->vma_start);
}

/* Append to @buf at *@used; false when it does not fit. */
static __printf(4, 5) bool append(char *buf, size_t len, size_t *used,
				  const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used >= len)
		return false;
	va_start(ap, fmt);
	n = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - *used)
		return false;
	*used += n;
	return true;
}

/* "P1 R0 AB0A|A0BB|.... rw,r-" for member @m, region @r. */
static bool render_line(struct scenario *sc, int m, int r, char *buf,
			size_t len, size_t *used)
{
	bool ok = append(buf, len, used, "%sP%d R%d ", *used ? "\n" : "", m, r);
	char sep;
	int i;

	for (i = 0; i < SC_REGION_PAGES && ok; i++) {
		const struct sc_page *pg = sc_expect(sc, m, r, i);
		char c = pg->state == SC_UNMAPPED ? '.' :
			 pg->state == SC_ZERO ? '0' : copy_letter(sc, m, r, i);

		if (i && vma_starts_at(sc, m, r, i) &&
		    sc_mapped(sc_expect(sc, m, r, i - 1)))
			ok = append(buf, len, used, "|");
		ok = ok && append(buf, len, used, "%c", c);
	}
	for (i = 0, sep = ' '; i < SC_REGION_PAGES && ok; i++) {
		const struct sc_page *pg = sc_expect(sc, m, r, i);

		if (!vma_starts_at(sc, m, r, i))
			continue;
		ok = append(buf, len, used, "%c%s%s%s%s", sep,
			    pg->readonly ? "r-" : "rw", pg->locked ? "L" : "",
			    pg->dontfork ? "D" : "", pg->wipeonfork ? "W" : "");
		sep = ',';
	}
	return ok;
}

int sc_render(struct scenario *sc, char *buf, size_t len)
{
	size_t used = 0;
	int m, k, i;

	buf[0] = '\0';
	for (m = 0; m < sc->nr_members; m++) {
		for (k = 0; k < sc->nr_used; k++) {
			for (i = 0; i < SC_REGION_PAGES; i++)
				if (sc_mapped(sc_expect(sc, m, sc->used[k], i)))
					break;
			if (i == SC_REGION_PAGES)
				continue;
			if (!render_line(sc, m, sc->used[k], buf, len, &used))
				return -ENOSPC;
		}
	}
	return used;
}

/* How many members map the copy at page @i of (@m, @r), in any region. */
static int copy_mappers(struct scenario *sc, int m, int r, int i)
{
	const struct sc_page *pg = sc_expect(sc, m, r, i);
	int q, k, n = 0;

	for (q = 0; q < sc->nr_members; q++)
		for (k = 0; k < sc->nr_used; k++)
			n += sc_same_copy(sc_expect(sc, q, sc->used[k], i), pg);
	return n;
}

int sc_render_summary(struct scenario *sc, char *buf, size_t len)
{
	size_t used = 0;
	int m, k, r, i;

	buf[0] = '\0';
	for (m = 0; m < sc->nr_members; m++) {
		int vmas = 0, pages = 0, shared = 0, own = 0;
		char parent[16] = "";

		for (k = 0; k < sc->nr_used; k++) {
			r = sc->used[k];
			for (i = 0; i < SC_REGION_PAGES; i++) {
				const struct sc_page *pg = sc_expect(sc, m, r, i);

				if (!sc_mapped(pg))
					continue;
				vmas += vma_starts_at(sc, m, r, i);
				pages++;
				if (pg->state != SC_TAGGED)
					continue;
				if (copy_mappers(sc, m, r, i) > 1)
					shared++;
				else
					own++;
			}
		}
		if (sc->parent[m] >= 0)
			snprintf(parent, sizeof(parent), "<P%d", sc->parent[m]);
		if (!append(buf, len, &used,
			    "%sP%d%s: %d VMAs, %d pages, %d shared, %d own",
			    used ? "\n" : "", m, parent, vmas, pages, shared, own))
			return -ENOSPC;
	}
	return used;
}

/* The next line of @s without its blanks at both ends; NULL at the end. */
static const char *next_line(const char *s, size_t *n, const char **rest)
{
	const char *end;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			return NULL;
		end = s + strcspn(s, "\n");
		*rest = *end ? end + 1 : end;
		*n = end - s;
		while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
			(*n)--;
		if (*n)
			return s;
		s = *rest;
	}
}

int sc_check_literal(struct scenario *sc, const char *literal, bool summary,
		     char *err, size_t len)
{
	static char model[16384];
	const char *a = literal, *b = model, *la, *lb;
	size_t na, nb;
	int ret;

	ret = summary ? sc_render_summary(sc, model, sizeof(model)) :
			sc_render(sc, model, sizeof(model));
	if (ret < 0) {
		snprintf(err, len, "the model's view does not fit %zu bytes",
			 sizeof(model));
		return -1;
	}
	for (;;) {
		la = next_line(a, &na, &a);
		lb = next_line(b, &nb, &b);
		if (!la && !lb)
			return 0;
		if (!la || !lb || na != nb || memcmp(la, lb, na))
			break;
	}
	snprintf(err, len, "the variant expects:\n%s\nthe model of its program gives:\n%s",
		 literal, model);
	return -1;
}

int sc_check_literals(struct scenario *sc, const char *expect,
		      const char *expect_if_merged, bool summary, char *err,
		      size_t len)
{
	struct sc_policy kernel = *sc_policy(), p;
	int merges, ret = 0;
	size_t n;

	for (merges = 0; merges < 2 && !ret; merges++) {
		p.merges_into_unfaulted = merges;
		sc_policy_override(&p);
		sc_model_all(sc);
		ret = sc_check_literal(sc, merges && expect_if_merged ?
				       expect_if_merged : expect, summary, err,
				       len);
		n = strlen(err);
		if (ret && n < len)
			snprintf(err + n, len - n,
				 "\n(with merges into an unfaulted neighbour: %s)",
				 merges ? "yes" : "no");
	}
	sc_policy_override(&kernel);
	sc_model_all(sc);
	return ret;
}
