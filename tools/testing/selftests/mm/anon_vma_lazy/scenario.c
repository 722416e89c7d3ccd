// SPDX-License-Identifier: GPL-2.0
/*
 * The scenario engine: programs, set-up, members and the run of a
 * scenario. The model is in sc_model.c, the controller's checks and walks
 * in sc_check.c. See scenario.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "scenario.h"

/* A broken kernel fails thousands of checks: print the first few. */
void sc_log(struct scenario *sc, const char *fmt, ...)
{
	va_list ap;

	if (sc->log_budget-- <= 0)
		return;
	va_start(ap, fmt);
	fputs("# ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

char *sc_addr(struct scenario *sc, int r, int i)
{
	return sc->base + r * sc->stride + i * psize();
}

struct sc_page *sc_expect(struct scenario *sc, int m, int r, int i)
{
	return &sc->expect[m].page[r][i];
}

/* ---- programs -------------------------------------------------------------- */

const char * const sc_op_names[NR_SC_OPS] = {
	[SC_MMAP] = "mmap", [SC_WRITE] = "write", [SC_FORK] = "fork",
	[SC_RO] = "ro", [SC_RW] = "rw", [SC_UNMAP] = "unmap",
	[SC_DONTNEED] = "dontneed", [SC_FREE] = "free", [SC_COLD] = "cold",
	[SC_MLOCK] = "mlock", [SC_MUNLOCK] = "munlock",
	[SC_DONTFORK] = "dontfork", [SC_WIPEONFORK] = "wipeonfork",
	[SC_MOVE] = "move", [SC_DONTUNMAP] = "dontunmap", [SC_GROW] = "grow",
	[SC_PAGEOUT] = "pageout",
};

struct scenario *sc_create(unsigned long seed)
{
	struct scenario *sc = calloc(1, sizeof(*sc));

	if (sc)
		sc->seed = seed;
	return sc;
}

int sc_add_step(struct scenario *sc, int m, enum sc_op op, int region,
		int first, int last, int child)
{
	bool moves = op == SC_MOVE || op == SC_DONTUNMAP;
	struct sc_step *st;

	if (m < 0 || m >= SC_MAX_MEMBERS || sc->nr_steps[m] >= SC_MAX_STEPS ||
	    region < 0 || region >= SC_MAX_REGIONS || first < 0 ||
	    last > SC_REGION_PAGES || first >= last ||
	    (op == SC_FORK && (child <= m || child >= SC_MAX_MEMBERS)) ||
	    (moves && (child < 0 || child >= SC_MAX_REGIONS ||
		       child == region)) ||
	    (op == SC_GROW && first == 0))
		return -EINVAL;
	st = &sc->steps[m][sc->nr_steps[m]++];
	st->op = op;
	st->region = region;
	st->first = first;
	st->last = last;
	st->child = child;
	if (m + 1 > sc->nr_members)
		sc->nr_members = m + 1;
	if (op == SC_FORK && child + 1 > sc->nr_members)
		sc->nr_members = child + 1;
	return 0;
}

/* One "word<number>[:a-b][>region]" token. */
static int sc_parse_step(struct scenario *sc, int m, const char *tok,
			 size_t len)
{
	unsigned long num, a = 0, b = SC_REGION_PAGES, to = ~0UL;
	char word[16];
	const char *p;
	size_t w;
	unsigned int op;

	for (w = 0; w < len && tok[w] >= 'a' && tok[w] <= 'z'; w++)
		;
	if (!w || w >= sizeof(word))
		return -EINVAL;
	memcpy(word, tok, w);
	word[w] = '\0';
	if (parse_ulong(tok + w, &num, &p))
		return -EINVAL;
	if (*p == ':') {
		if (parse_ulong(p + 1, &a, &p) || *p != '-' ||
		    parse_ulong(p + 1, &b, &p))
			return -EINVAL;
	}
	if (*p == '>' && parse_ulong(p + 1, &to, &p))
		return -EINVAL;
	if (p != tok + len)
		return -EINVAL;
	for (op = 0; op < NR_SC_OPS; op++)
		if (!strcmp(word, sc_op_names[op]))
			break;
	if (op == NR_SC_OPS)
		return -EINVAL;
	/* Only moves have a destination, and they need one. */
	if ((op == SC_MOVE || op == SC_DONTUNMAP) != (to != ~0UL) ||
	    (to != ~0UL && to >= SC_MAX_REGIONS))
		return -EINVAL;
	if (op == SC_FORK)
		return sc_add_step(sc, m, op, 0, 0, SC_REGION_PAGES, num);
	return sc_add_step(sc, m, op, num, a, b, to == ~0UL ? 0 : to);
}

int sc_parse(struct scenario *sc, const char *text)
{
	const char *p = text, *end;
	unsigned long m;
	int ret;

	while (*p) {
		while (*p == ' ' || *p == '|')
			p++;
		if (!*p)
			break;
		if (parse_ulong(p, &m, &p) || *p++ != ':' ||
		    m >= SC_MAX_MEMBERS)
			return -EINVAL;
		for (;;) {
			while (*p == ' ')
				p++;
			if (!*p || *p == '|')
				break;
			end = p + strcspn(p, " |");
			ret = sc_parse_step(sc, m, p, end - p);
			if (ret)
				return ret;
			p = end;
		}
	}
	return 0;
}

/* ---- set-up ------------------------------------------------------------------ */

/* The regions any program touches, and whether pages move between them. */
static void sc_find_used_regions(struct scenario *sc)
{
	bool used[SC_MAX_REGIONS] = { false };
	int m, s, r;

	for (m = 0; m < sc->nr_members; m++) {
		for (s = 0; s < sc->nr_steps[m]; s++) {
			const struct sc_step *st = &sc->steps[m][s];

			if (st->op == SC_FORK)
				continue;
			used[st->region] = true;
			if (st->op == SC_MOVE || st->op == SC_DONTUNMAP) {
				used[st->child] = true;
				sc->moves = true;
			}
		}
	}
	sc->nr_used = 0;
	for (r = 0; r < SC_MAX_REGIONS; r++)
		if (used[r])
			sc->used[sc->nr_used++] = r;
}

static int sc_member_verify(void *ctx, int m);

int sc_finish(struct scenario *sc)
{
	int m, s, c, r;

	if (!sc->nr_members)
		return -EINVAL;
	for (m = 0; m < sc->nr_members; m++)
		sc->parent[m] = -1;
	for (m = 0; m < sc->nr_members; m++) {
		for (s = 0; s < sc->nr_steps[m]; s++) {
			if (sc->steps[m][s].op != SC_FORK)
				continue;
			c = sc->steps[m][s].child;
			if (sc->parent[c] >= 0)
				return -EINVAL;	/* forked twice */
			sc->parent[c] = m;
			sc->depth[c] = sc->depth[m] + 1;
		}
	}
	for (m = 1; m < sc->nr_members; m++)
		if (sc->parent[m] < 0)
			return -EINVAL;	/* never forked */
	sc_find_used_regions(sc);
	sc->ksm_flag_reliable = kpageflags_ksm_on_plain_anon() == 0;
	sc_model_all(sc);
	sc->stride = (SC_REGION_PAGES + 1) * psize();
	sc->reserved = SC_MAX_REGIONS * sc->stride;
	sc->base = reserve_range(sc->reserved);
	if (!sc->base)
		return -ENOMEM;
	sc->crew = crew_create(sc->nr_members);
	if (!sc->crew)
		return -ENOMEM;
	/* The members' regions, for the crew commands of the walks. */
	for (r = 0; r < SC_MAX_REGIONS; r++)
		if (crew_add_region(sc->crew, sc_addr(sc, r, 0),
				    SC_REGION_PAGES, false) != r)
			return -ENOMEM;
	sc->crew->verify = sc_member_verify;
	sc->crew->verify_ctx = sc;
	return 0;
}

struct scenario *sc_from_program(const char *program, char *err, size_t len)
{
	struct scenario *sc = sc_create(1);

	if (!sc) {
		snprintf(err, len, "out of memory");
		return NULL;
	}
	if (sc_parse(sc, program)) {
		snprintf(err, len, "bad program: %s", program);
		goto fail;
	}
	if (sc_finish(sc)) {
		snprintf(err, len, "cannot set up: %s", program);
		goto fail;
	}
	return sc;
fail:
	sc_destroy(sc);
	return NULL;
}

/* ---- members ----------------------------------------------------------------- */

static bool sc_all_zero(const char *p)
{
	size_t k;

	for (k = 0; k < psize(); k++)
		if (p[k])
			return false;
	return true;
}

/* CREW_VERIFY in member @m: every page holds what the model says. */
static int sc_member_verify(void *ctx, int m)
{
	struct scenario *sc = ctx;
	struct page_tag found;
	char a[96], b[96];
	int r, i, bad = 0;

	for (r = 0; r < SC_MAX_REGIONS; r++) {
		for (i = 0; i < SC_REGION_PAGES; i++) {
			struct sc_page *pg = sc_expect(sc, m, r, i);
			const char *p = sc_addr(sc, r, i);
			bool ok;

			memset(&found, 0xff, sizeof(found));
			switch (pg->state) {
			case SC_ZERO:
				ok = sc_all_zero(p);
				break;
			case SC_TAGGED:
				ok = !tag_verify(p, psize(), &pg->tag, &found);
				break;
			case SC_LAZYFREE:
				ok = sc_all_zero(p) ||
				     !tag_verify(p, psize(), &pg->tag, &found);
				break;
			default:
				continue;
			}
			if (ok || bad++ >= 5)
				continue;
			fprintf(stderr, "# P%d R%d page %d: want %s, found %s\n",
				m, r, i,
				pg->state == SC_ZERO ? "zeroes" :
				tag_str(&pg->tag, a, sizeof(a)),
				tag_str(&found, b, sizeof(b)));
		}
	}
	return bad;
}

/*
 * MADV_PAGEOUT of @nr pages at @p, until every page this process maps
 * alone is swapped out (a folio still in a per-CPU LRU batch is missed
 * once). -EAGAIN when some stay.
 */
static int sc_pageout_range(char *p, int nr)
{
	struct pagemap_entry e;
	int try, i, left = 0;

	for (try = 0; try < 4; try++) {
		if (madvise(p, nr * psize(), MADV_PAGEOUT))
			return -errno;
		for (left = 0, i = 0; i < nr; i++) {
			if (pagemap_get(0, (unsigned long)p + i * psize(), &e))
				return -EIO;
			left += e.present && e.exclusive;
		}
		if (!left)
			return 0;
	}
	return -EAGAIN;
}

/* The plain system call behind each step, as a crew command. */
static const struct {
	int op;
	long arg;
} sc_plain[NR_SC_OPS] = {
	[SC_RO] = { CREW_MPROTECT, PROT_READ },
	[SC_RW] = { CREW_MPROTECT, PROT_READ | PROT_WRITE },
	[SC_UNMAP] = { CREW_MUNMAP, 0 },
	[SC_DONTNEED] = { CREW_MADVISE, MADV_DONTNEED },
	[SC_FREE] = { CREW_MADVISE, MADV_FREE },
	[SC_COLD] = { CREW_MADVISE, MADV_COLD },
	[SC_MLOCK] = { CREW_MLOCK, 0 },
	[SC_MUNLOCK] = { CREW_MUNLOCK, 0 },
	[SC_DONTFORK] = { CREW_MADVISE, MADV_DONTFORK },
	[SC_WIPEONFORK] = { CREW_MADVISE, MADV_WIPEONFORK },
};

/* The system calls of step @st; 0 or -errno. */
static int sc_member_syscall(struct scenario *sc, const struct sc_step *st,
			     const struct sc_view *view)
{
	char *p = sc_addr(sc, st->region, st->first);
	size_t len = (st->last - st->first) * psize();
	char *to = sc_addr(sc, st->child, st->first);
	int start;

	switch (st->op) {
	case SC_MMAP:
		p = sc_addr(sc, st->region, 0);
		len = SC_REGION_PAGES * psize();
		if (mmap(p, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != p)
			return -errno;
		/* Base pages only: map counts are then exact per page. */
		madvise(p, len, MADV_NOHUGEPAGE);
		return 0;
	case SC_WRITE:
	case SC_FORK:
		return 0;
	case SC_PAGEOUT:
		return sc_pageout_range(p, st->last - st->first);
	case SC_MOVE:
	case SC_DONTUNMAP:
		if (mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED |
			   (st->op == SC_DONTUNMAP ? MREMAP_DONTUNMAP : 0),
			   to) != to)
			return -errno;
		return 0;
	case SC_GROW:
		/* In place: no MREMAP_MAYMOVE. */
		for (start = st->first - 1; start > 0; start--)
			if (view->page[st->region][start].vma_start)
				break;
		/* The range may still hold the PROT_NONE reservation. */
		if (munmap(p, len))
			return -errno;
		p = sc_addr(sc, st->region, start);
		if (mremap(p, (st->first - start) * psize(),
			   (st->last - start) * psize(), 0) != p)
			return -errno;
		return 0;
	default:
		return crew_syscall(sc_plain[st->op].op, p, len,
				    sc_plain[st->op].arg);
	}
}

/* Carry out step @s of member @m: the system calls behind the model. */
static int sc_member_step(struct scenario *sc, int m, int s,
			  struct sc_view *view)
{
	const struct sc_step *st = &sc->steps[m][s];
	int i, ret;

	ret = sc_member_syscall(sc, st, view);
	if (ret)
		return ret;
	sc_model_step(sc, m, s, view);
	if (st->op != SC_MMAP && st->op != SC_WRITE)
		return 0;
	for (i = st->first; i < st->last; i++) {
		struct sc_page *pg = &view->page[st->region][i];
		struct page_tag tag = sc_tag(m, s, st->region, i);

		if (pg->state == SC_TAGGED &&
		    !memcmp(&pg->tag, &tag, sizeof(tag)))
			tag_fill(sc_addr(sc, st->region, i), psize(), &tag);
	}
	return 0;
}

/*
 * Member @m: run its program (forking its children as it goes), report
 * how that went, then serve the controller's crew commands.
 */
static __noreturn void sc_member_main(struct scenario *sc, int m,
				      struct sc_view *view)
{
	int s, status = 0;
	pid_t pid;

	for (s = 0; s < sc->nr_steps[m] && !status; s++) {
		const struct sc_step *st = &sc->steps[m][s];

		if (st->op != SC_FORK) {
			status = sc_member_step(sc, m, s, view);
			if (status)
				fprintf(stderr, "# P%d: %s%d:%d-%d failed: %s\n",
					m, sc_op_names[st->op], st->region,
					st->first, st->last, strerror(-status));
			continue;
		}
		pid = crew_fork(sc->crew, st->child);
		if (pid == 0) {
			sc_model_fork(view, view);
			sc_member_main(sc, st->child, view);
		}
		if (pid < 0)
			status = pid;
	}
	crew_reply(sc->crew, m, status);
	crew_serve(sc->crew, m);
}

/* ---- running ----------------------------------------------------------------- */

int sc_start(struct scenario *sc, char *err, size_t len)
{
	struct sc_view *view = calloc(1, sizeof(*view));
	int m, status, ret;
	pid_t pid;

	if (!view)
		return -ENOMEM;
	pid = crew_fork(sc->crew, 0);
	if (pid == 0)
		sc_member_main(sc, 0, view);
	free(view);
	if (pid < 0)
		return pid;
	for (m = 0; m < sc->nr_members; m++) {
		ret = crew_collect(sc->crew, m, &status);
		if (!ret && status)
			ret = status;
		if (ret) {
			snprintf(err, len, "P%d did not set up: %s", m,
				 strerror(-ret));
			return ret;
		}
		sc->alive[m] = true;
	}
	return 0;
}

int sc_exit_member(struct scenario *sc, int m)
{
	int ret = crew_exit(sc->crew, m);

	if (!ret)
		sc->alive[m] = false;
	return ret;
}

void sc_destroy(struct scenario *sc)
{
	if (!sc)
		return;
	crew_destroy(sc->crew);
	if (sc->base)
		munmap(sc->base, sc->reserved);
	free(sc);
}

int sc_run(struct scenario *sc, const int *exit_order, enum sc_walk walk,
	   const int *nodes, char *err, size_t len)
{
	char when[64];
	int k, m, bad;

	if (sc_start(sc, err, len))
		return -1;
	bad = sc_checkpoint(sc, "built");
	bad += sc_walk_all(sc, walk, nodes, "walked after build");
	for (k = 0; k < sc->nr_members - 1; k++) {
		m = exit_order[k];
		if (sc_exit_member(sc, m)) {
			sc_log(sc, "P%d did not exit", m);
			return bad + 1;
		}
		snprintf(when, sizeof(when), "after P%d exited", m);
		bad += sc_checkpoint(sc, when);
		bad += sc_walk_all(sc, walk, nodes, when);
	}
	return bad;
}
