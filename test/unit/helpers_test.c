// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the parsers and oracles of the anon_vma_lazy
 * selftests, fed with the fixture files of test/fixtures/ (real captures and
 * malformed or truncated variants). Not a kselftest: prints "ok N ..." or
 * "not ok N ...", then "N passed, N failed", and exits 1 on any failure.
 *
 * Usage: helpers_test FIXTURE_DIR
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/kernel-page-flags.h>

#include "env.h"
#include "khealth.h"
#include "oracles.h"
#include "scenario.h"

#define MARK "avl-marker-1234-fork_chain"
#define CANARY 0x5a5a5a5a

static int passed, failed, notes;
static const char *fixdir;

static void check(bool cond, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d ", cond ? "ok" : "not ok", passed + failed + 1);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (cond)
		passed++;
	else
		failed++;
}

/* An ambiguous point of the header: reported, not counted. */
static void note(const char *fmt, ...)
{
	va_list ap;

	printf("# %s: ", "note");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	notes++;
}

/* Path of fixture @name; four rotating buffers. */
static const char *fx(const char *name)
{
	static char buf[4][PATH_MAX];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", fixdir, name);
	return buf[i];
}

/* Run @fn in a child: true when it exits 0 (no crash, no sanitizer report). */
static bool in_child(void (*fn)(void))
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return false;
	if (!pid) {
		/* a sanitizer report goes to stderr: keep the TAP output short */
		if (!getenv("UNIT_CHILD_STDERR"))
			freopen("/dev/null", "w", stderr);
		fn();
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return false;
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return true;
	printf("# child failed (status %#x; UNIT_CHILD_STDERR=1 shows its report)\n", status);
	return false;
}

/* ---- tags ------------------------------------------------------------- */

static bool tag_eq(const struct page_tag *a, const struct page_tag *b)
{
	return a->owner == b->owner && a->gen == b->gen &&
	       a->index == b->index && a->version == b->version;
}

static void test_tags(void)
{
	const size_t ps = 4096;
	struct page_tag a = { 1, 2, 3, 4 }, b = { 1, 2, 4, 4 };
	struct page_tag v = { 1, 2, 3, 5 }, found;
	unsigned char *pa = aligned_alloc(ps, ps), *pb = aligned_alloc(ps, ps);
	unsigned char *mix = aligned_alloc(ps, ps), *big = malloc(4 * ps);
	char s[128], tiny[8];

	tag_fill(pa, ps, &a);
	tag_fill(pb, ps, &b);
	check(!tag_verify(pa, ps, &a, &found), "tag_verify: freshly filled page matches");

	pa[ps - 1] ^= 0x01;
	memset(&found, 0, sizeof(found));
	check(tag_verify(pa, ps, &a, &found) == -1,
	      "tag_verify: last byte of the page corrupted -> mismatch");
	check(tag_eq(&found, &a), "tag_verify: corrupted body, found = header tag");
	pa[ps - 1] ^= 0x01;

	pa[ps / 2] ^= 0x80;
	check(tag_verify(pa, ps, &a, &found) == -1,
	      "tag_verify: middle byte corrupted -> mismatch");
	pa[ps / 2] ^= 0x80;

	pa[0] ^= 0xff;
	check(tag_verify(pa, ps, &a, &found) == -1,
	      "tag_verify: first byte corrupted -> mismatch");
	pa[0] ^= 0xff;
	check(!tag_verify(pa, ps, &a, NULL), "tag_verify: restored page matches (found NULL)");

	memset(&found, 0, sizeof(found));
	check(tag_verify(pb, ps, &a, &found) == -1 && tag_eq(&found, &b),
	      "tag_verify: swapped page -> mismatch, found decodes the other tag");
	check(memcmp(pa + ps / 2, pb + ps / 2, ps / 2),
	      "tag_fill: body pattern depends on the tag (index)");

	/* header of a, body of b: a half copy */
	memcpy(mix, pb, ps);
	memcpy(mix, pa, 64);
	check(tag_verify(mix, ps, &a, &found) == -1,
	      "tag_verify: header of one page, body of another -> mismatch");
	memcpy(mix, pa, ps / 2);
	check(tag_verify(mix, ps, &a, &found) == -1,
	      "tag_verify: first half of one page, second of another -> mismatch");

	memset(mix, 0, ps);
	check(tag_verify(mix, ps, &a, &found) == -1, "tag_verify: zeroed page -> mismatch");

	tag_fill(mix, ps, &v);
	memset(&found, 0, sizeof(found));
	check(tag_verify(mix, ps, &a, &found) == -1 && found.version == 5,
	      "tag_verify: other COW version -> mismatch, found.version decoded");

	tag_fill(big, 4 * ps, &a);
	check(!tag_verify(big, 4 * ps, &a, NULL), "tag_verify: 16 KiB page matches");
	big[4 * ps - 1] ^= 1;
	check(tag_verify(big, 4 * ps, &a, NULL) == -1,
	      "tag_verify: 16 KiB page, last byte corrupted -> mismatch");

	tag_str(&a, s, sizeof(s));
	check(strstr(s, "owner=1") && strstr(s, "gen=2") && strstr(s, "index=3") &&
	      strstr(s, "version=4"), "tag_str: \"%s\"", s);
	memset(tiny, 'x', sizeof(tiny));
	tag_str(&a, tiny, sizeof(tiny));
	check(memchr(tiny, '\0', sizeof(tiny)), "tag_str: short buffer NUL-terminated");

	free(pa);
	free(pb);
	free(mix);
	free(big);
}

/* ---- pagemap ---------------------------------------------------------- */

static void decode(unsigned long long raw, struct pagemap_entry *e)
{
	memset(e, 0xff, sizeof(*e));	/* every field must be written */
	pagemap_decode(raw, e);
}

static int pagemap_fd;

static void read_beyond_end(void)
{
	/* It says "Bail out!" on stdout: not in our TAP. */
	if (!freopen("/dev/null", "w", stdout))
		_exit(2);
	pagemap_get_entry(pagemap_fd, (char *)(6UL * psize()));
}

static void test_pagemap(void)
{
	struct pagemap_entry e;
	int fd;

	decode(0, &e);
	check(!e.present && !e.swapped && !e.exclusive && !e.file && !e.pfn,
	      "pagemap_decode: 0 -> nothing");
	decode(PM_PRESENT | 0x12345, &e);
	check(e.present && !e.swapped && !e.exclusive && !e.file && e.pfn == 0x12345,
	      "pagemap_decode: present, pfn 0x12345");
	decode(PM_PRESENT | PM_MMAP_EXCLUSIVE | 0x42, &e);
	check(e.present && e.exclusive && !e.file && e.pfn == 0x42,
	      "pagemap_decode: bit 56 -> exclusive");
	decode(PM_PRESENT | PM_FILE | 0x42, &e);
	check(e.present && e.file && !e.exclusive && e.pfn == 0x42,
	      "pagemap_decode: bit 61 -> file/shared");
	decode(PM_SWAP | (0x777ULL << 5) | 3, &e);
	check(!e.present && e.swapped && e.pfn == 0,
	      "pagemap_decode: swapped -> not present, pfn 0 (not the swap entry)");
	decode(PM_SWAP | PM_MMAP_EXCLUSIVE | 1, &e);
	check(e.swapped && e.exclusive && !e.pfn, "pagemap_decode: swapped exclusive");
	decode(PM_PRESENT | PM_SOFT_DIRTY | PM_UFFD_WP | (7ULL << 58) | PAGEMAP_PFN(~0ULL), &e);
	check(e.present && e.pfn == PAGEMAP_PFN(~0ULL) && !e.exclusive && !e.file && !e.swapped,
	      "pagemap_decode: PFN mask is bits 0-54, bits 55/57/58-60 ignored");
	decode(PM_PRESENT | (1ULL << 55) | 1, &e);
	check(e.pfn == 1, "pagemap_decode: soft-dirty bit 55 not in pfn");
	decode(PM_PRESENT, &e);
	check(e.present && e.pfn == 0, "pagemap_decode: present with hidden pfn -> 0");
	decode(~0ULL, &e);
	check(e.present && e.swapped && e.exclusive && e.file && e.pfn == PAGEMAP_PFN(~0ULL),
	      "pagemap_decode: all bits");

	fd = open(fx("pagemap.bin"), O_RDONLY);
	check(fd >= 0, "pagemap.bin fixture opens");
	if (fd < 0)
		return;
	/* vm_util's reader, as every test uses it. */
	check(pagemap_get_entry(fd, (char *)(1UL * psize())) ==
	      (PM_PRESENT | PM_MMAP_EXCLUSIVE | 0x12345),
	      "pagemap_get_entry: entry of page 1");
	check(pagemap_get_entry(fd, (char *)(3UL * psize() + 123)) ==
	      (PM_SWAP | (0x777ULL << 5) | 3),
	      "pagemap_get_entry: unaligned address -> entry of its page");
	check(pagemap_get_entry(fd, 0) == 0, "pagemap_get_entry: page 0");
	pagemap_fd = fd;
	check(!in_child(read_beyond_end),
	      "pagemap_get_entry: beyond end of file -> the test fails");
	close(fd);
}

/* ---- kpagecount / kpageflags ------------------------------------------ */

static void test_kpage(void)
{
	const char *fl = fx("kpageflags.bin");
	__u64 v;

	check(!kpage_read(fl, 0, &v) && v == 0, "kpage_read: pfn 0 -> 0");
	check(!kpage_read(fl, 1, &v) && (v >> KPF_ANON & 1) && !(v >> KPF_KSM & 1),
	      "kpage_read: pfn 1 anon, not KSM");
	check(!kpage_read(fl, 2, &v) && (v >> KPF_KSM & 1) && (v >> KPF_ANON & 1),
	      "kpage_read: pfn 2 KSM");
	check(!kpage_read(fl, 3, &v) && (v >> KPF_THP & 1), "kpage_read: pfn 3 THP");
	check(!kpage_read(fl, 4, &v) && (v >> KPF_SWAPCACHE & 1) && !(v >> KPF_THP & 1),
	      "kpage_read: pfn 4 swapcache");
	check(!kpage_read(fl, 5, &v) && !(v >> KPF_ANON & 1), "kpage_read: pfn 5 not anon");
	check(!kpage_read(fl, 6, &v) && v == ~0ULL, "kpage_read: pfn 6 all bits");
	check(!kpage_read(fl, 7, &v) && v == 0x8000000000000001ULL,
	      "kpage_read: pfn 7 little-endian word");
	check(!kpage_read(fx("kpagecount.bin"), 6, &v) && v == 0x0102030405060708ULL,
	      "kpage_read: kpagecount pfn 6 byte order");
	check(!kpage_read(fx("kpagecount.bin"), 2, &v) && v == 2, "kpage_read: kpagecount pfn 2");
	check(kpage_read(fl, 8, &v) < 0, "kpage_read: pfn == end of file -> error");
	check(kpage_read(fl, 1000, &v) < 0, "kpage_read: pfn far beyond end -> error");
	check(kpage_read(fl, 1ULL << 61, &v) < 0,
	      "kpage_read: pfn 2^61 (pfn*8 wraps to 0) -> error");
	check(kpage_read(fl, UINT64_MAX, &v) < 0, "kpage_read: pfn UINT64_MAX -> error");
	check(!kpage_read(fx("kpageflags_short.bin"), 1, &v) && v == 0x5828ULL,
	      "kpage_read: short file, last full word");
	check(kpage_read(fx("kpageflags_short.bin"), 2, &v) < 0,
	      "kpage_read: short file, partial word -> error");
	check(kpage_read(fx("kpageflags_short.bin"), 3, &v) < 0,
	      "kpage_read: short file, pfn beyond -> error");
	check(kpage_read(fx("kpage_empty.bin"), 0, &v) < 0, "kpage_read: empty file -> error");
	check(kpage_read(fx("no-such-file"), 0, &v) < 0, "kpage_read: missing file -> error");
}

/* ---- smaps ------------------------------------------------------------ */

struct smaps_case {
	unsigned long addr;
	const char *field;
	unsigned long kb;
};

static void test_smaps(void)
{
	static const struct smaps_case good[] = {
		{ 0x10000000, "Rss", 8 },		/* first VMA, first byte */
		{ 0x10003fff, "Rss", 8 },		/* first VMA, last byte */
		{ 0x10000000, "Size", 16 },
		{ 0x10000000, "Anonymous", 8 },
		{ 0x10000000, "Pss_Dirty", 8 },
		{ 0x10015000, "Rss", 40 },		/* middle VMA */
		{ 0x10015000, "Pss", 40 },
		{ 0x10015000, "Size", 64 },
		{ 0x10015000, "KSM", 0 },
		{ 0x10015000, "SwapPss", 0 },
		{ 0x10033fff, "Rss", 16 },		/* split VMA, rw half */
		{ 0x10034000, "Rss", 4 },		/* split VMA, r- half */
		{ 0x10037fff, "Anonymous", 4 },
		{ 0x555bc9ffe800, "Rss", 4 },		/* file VMA */
		{ 0x555bc9ffe800, "Anonymous", 0 },
		{ 0x555bf59c9000, "Size", 132 },	/* [heap] */
		{ 0x7ffe0d897fff, "Rss", 40 },		/* [stack], last VMA */
		{ 0x7ffe0d877000, "Size", 132 },
	};
	static const unsigned long nowhere[] = {
		0, 0x0fffffff, 0x10004000, 0x1000ffff, 0x10020000, 0x10038000,
		0x7ffe0d898000, ULONG_MAX,
	};
	static const char * const absent[] = {
		"NoSuchField", "Rs", "Ps", "Pss_", "Private", "Shared", "kB", "",
		"Pss_Anon",
	};
	const char *sm = fx("smaps");
	unsigned long kb;
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		kb = 12345;
		ret = smaps_field_kb(sm, good[i].addr, good[i].field, &kb);
		check(!ret && kb == good[i].kb, "smaps_field_kb: %#lx %s = %lu (got %d, %lu)",
		      good[i].addr, good[i].field, good[i].kb, ret, kb);
	}
	for (i = 0; i < ARRAY_SIZE(nowhere); i++) {
		ret = smaps_field_kb(sm, nowhere[i], "Rss", &kb);
		check(ret == -ENOENT, "smaps_field_kb: %#lx in no VMA -> -ENOENT (got %d)",
		      nowhere[i], ret);
	}
	for (i = 0; i < ARRAY_SIZE(absent); i++) {
		ret = smaps_field_kb(sm, 0x10015000, absent[i], &kb);
		check(ret == -ENOENT, "smaps_field_kb: field \"%s\" absent -> -ENOENT (got %d)",
		      absent[i], ret);
	}
	ret = smaps_field_kb(sm, 0x10015000, "VmFlags", &kb);
	check(ret < 0, "smaps_field_kb: VmFlags (not a number) -> error (got %d)", ret);
	ret = smaps_field_kb(sm, 0x10015000, "THPeligible", &kb);
	check(ret < 0, "smaps_field_kb: THPeligible (no kB) -> error (got %d)", ret);

	/* malformed and truncated: an error, never a number */
	kb = 0;
	ret = smaps_field_kb(fx("smaps_trunc_value"), 0x10015000, "Rss", &kb);
	check(ret < 0,
	      "smaps_field_kb: value cut mid-line (\"4\" of \"40 kB\") -> error (got %d, %lu)",
	      ret, kb);
	ret = smaps_field_kb(fx("smaps_trunc_value"), 0x10000000, "Rss", &kb);
	check(!ret && kb == 8, "smaps_field_kb: truncated file, complete block before the cut");
	ret = smaps_field_kb(fx("smaps_trunc_value"), 0x10030000, "Rss", &kb);
	check(ret < 0, "smaps_field_kb: VMA after the cut -> error (got %d)", ret);
	ret = smaps_field_kb(fx("smaps_trunc_header"), 0x10030000, "Rss", &kb);
	check(ret < 0, "smaps_field_kb: header cut mid-line -> error (got %d, %lu)", ret, kb);
	ret = smaps_field_kb(fx("smaps_no_kb"), 0x10015000, "Rss", &kb);
	check(ret == -EINVAL, "smaps_field_kb: field without \" kB\" -> -EINVAL (got %d, %lu)",
	      ret, kb);
	ret = smaps_field_kb(fx("smaps_garbage"), 0x10015000, "Rss", &kb);
	check(ret == -EINVAL, "smaps_field_kb: \"4x0 kB\" -> -EINVAL (got %d, %lu)", ret, kb);
	ret = smaps_field_kb(fx("smaps_garbage"), 0x10000000, "Anonymous", &kb);
	check(ret == -EINVAL, "smaps_field_kb: \"-8 kB\" -> -EINVAL (got %d, %lu)", ret, kb);
	ret = smaps_field_kb(fx("smaps_garbage"), 0x10030000, "Rss", &kb);
	check(ret < 0, "smaps_field_kb: overflowing number -> error (got %d, %lu)", ret, kb);
	ret = smaps_field_kb(fx("smaps_garbage"), 0x10034000, "Rss", &kb);
	check(ret == -EINVAL, "smaps_field_kb: \"Rss: kB\" (no number) -> -EINVAL (got %d, %lu)",
	      ret, kb);
	ret = smaps_field_kb(fx("smaps_garbage"), 0x10015000, "Size", &kb);
	check(!ret && kb == 64, "smaps_field_kb: garbage file, intact field still read");
	kb = 12345;
	ret = smaps_field_kb(fx("smaps_bad_header"), 0x10015000, "KSM", &kb);
	check(ret < 0,
	      "smaps_field_kb: field absent, next header bad -> error, not next VMA's (got %d, %lu)",
	      ret, kb);
	ret = smaps_field_kb(fx("smaps_bad_header"), 0x10031000, "Rss", &kb);
	check(ret < 0,
	      "smaps_field_kb: address in VMA with malformed header -> error (got %d, %lu)",
	      ret, kb);
	ret = smaps_field_kb(fx("smaps_empty"), 0x10000000, "Rss", &kb);
	check(ret < 0, "smaps_field_kb: empty file -> error (got %d)", ret);
	ret = smaps_field_kb(fx("no-such-file"), 0x10000000, "Rss", &kb);
	check(ret < 0, "smaps_field_kb: missing file -> error (got %d)",
	      ret);
}

static void test_smaps_rollup(void)
{
	static const struct smaps_case good[] = {
		{ 0, "Rss", 1468 }, { 0, "Pss", 456 }, { 0, "Pss_Dirty", 212 },
		{ 0, "Pss_Anon", 200 }, { 0, "Pss_File", 256 },
		{ 0, "Anonymous", 200 }, { 0, "KSM", 0 }, { 0, "Swap", 0 },
		{ 0, "SwapPss", 0 }, { 0, "Locked", 0 }, { 0, "Private_Clean", 8 },
	};
	const char *ro = fx("smaps_rollup");
	unsigned long kb;
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		kb = 12345;
		ret = smaps_rollup_field_kb(ro, good[i].field, &kb);
		check(!ret && kb == good[i].kb, "smaps_rollup_field_kb: %s = %lu (got %d, %lu)",
		      good[i].field, good[i].kb, ret, kb);
	}
	check(smaps_rollup_field_kb(ro, "Size", &kb) == -ENOENT,
	      "smaps_rollup_field_kb: Size (not in rollup) -> -ENOENT");
	check(smaps_rollup_field_kb(ro, "Pss_A", &kb) == -ENOENT,
	      "smaps_rollup_field_kb: prefix of a field -> -ENOENT");
	ret = smaps_rollup_field_kb(fx("smaps_rollup_trunc"), "Pss_Anon", &kb);
	check(ret < 0,
	      "smaps_rollup_field_kb: value cut (\"2\" of \"200 kB\") -> error (got %d, %lu)",
	      ret, kb);
	ret = smaps_rollup_field_kb(fx("smaps_rollup_trunc"), "Anonymous", &kb);
	check(ret < 0, "smaps_rollup_field_kb: field after the cut -> error (got %d)", ret);
	ret = smaps_rollup_field_kb(fx("smaps_rollup_trunc"), "Rss", &kb);
	check(!ret && kb == 1468, "smaps_rollup_field_kb: field before the cut still read");
	ret = smaps_rollup_field_kb(fx("smaps_rollup_garbage"), "Anonymous", &kb);
	check(ret == -EINVAL, "smaps_rollup_field_kb: \"2z0 kB\" -> -EINVAL (got %d, %lu)",
	      ret, kb);
	ret = smaps_rollup_field_kb(fx("smaps_empty"), "Rss", &kb);
	check(ret < 0, "smaps_rollup_field_kb: empty file -> error (got %d)", ret);
}

/* ---- maps ------------------------------------------------------------- */

static void test_maps_line(void)
{
	static const char * const real[] = {
		"555bc9ffe000-555bc9fff000 r-xp 00002000 fe:00 10963331                   /tmp/cap/cap\n",
		"7f00-8000 rw-s 00000000 00:01 1234                       /dev/zero (deleted)\n",
		"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n",
	};
	static const char * const bad[] = {
		"", "\n", "10000000-10004000", "10000000-10004000\n",
		"10000000-10004000 rw-p",
		"10000000-10004000 rw-p 00000000",
		"10000000-10004000 rw-p 0000zz00 00:00 0\n",
		"1000zzzz-10004000 rw-p 00000000 00:00 0\n",
		"g0000000-10004000 rw-p 00000000 00:00 0\n",
		"10000000-1000400g rw-p 00000000 00:00 0\n",
		"10000000 10004000 rw-p 00000000 00:00 0\n",
		"-10004000 rw-p 00000000 00:00 0\n",
		"10000000- rw-p 00000000 00:00 0\n",
		"10000000-10004000 rw 00000000 00:00 0\n",
		"10000000-10004000 rw-pq 00000000 00:00 0\n",
		"10000000-10004000 rwxz 00000000 00:00 0\n",
		"1ffffffffffffffff-20000000000000000 rw-p 00000000 00:00 0\n",
		"10004000-10000000 rw-p 00000000 00:00 0\n",
		" 10000000-10004000 rw-p 00000000 00:00 0\n",
	};
	static const char * const lenient[] = {
		"10000000-10004000 rw-p 00000000 00:00",
		"10000000-10004000 rw-p 00000000",
		"0x10000000-0x10004000 rw-p 00000000 00:00 0\n",
		"10000000-10000000 rw-p 00000000 00:00 0\n",
	};
	struct vma_extent v;
	unsigned int i;
	int ret;

	ret = maps_parse_line("10000000-10004000 rw-p 00000000 00:00 0 ", &v);
	check(!ret && v.start == 0x10000000 && v.end == 0x10004000 &&
	      !strcmp(v.perms, "rw-p") && v.pgoff == 0,
	      "maps_parse_line: anon line, no newline (trailing blank)");
	ret = maps_parse_line(real[0], &v);
	check(!ret && v.start == 0x555bc9ffe000 && v.end == 0x555bc9fff000 &&
	      !strcmp(v.perms, "r-xp") && v.pgoff == 0x2000,
	      "maps_parse_line: file line, pgoff in bytes");
	ret = maps_parse_line(real[1], &v);
	check(!ret && !strcmp(v.perms, "rw-s"), "maps_parse_line: shared mapping");
	ret = maps_parse_line(real[2], &v);
	check(!ret && v.start == 0xffffffffff600000UL && v.end == 0xffffffffff601000UL &&
	      !strcmp(v.perms, "--xp"), "maps_parse_line: [vsyscall], top of address space");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ret = maps_parse_line(bad[i], &v);
		check(ret == -EINVAL, "maps_parse_line: malformed \"%.*s\" -> -EINVAL (got %d)",
		      (int)strcspn(bad[i], "\n"), bad[i], ret);
	}
	for (i = 0; i < ARRAY_SIZE(lenient); i++) {
		ret = maps_parse_line(lenient[i], &v);
		if (ret)
			continue;
		note("maps_parse_line accepts \"%.*s\"", (int)strcspn(lenient[i], "\n"),
		     lenient[i]);
	}
}

static void test_maps_layout(void)
{
	struct vma_extent out[8];
	const char *m = fx("maps");
	int n;

	n = maps_file_layout(m, 0x10000000, 0x10040000, out, 8);
	check(n == 4 && out[0].start == 0x10000000 && out[0].end == 0x10004000 &&
	      out[1].start == 0x10010000 && out[2].end == 0x10034000 &&
	      out[3].start == 0x10034000 && !strcmp(out[3].perms, "r--p"),
	      "maps_file_layout: 4 anon VMAs in order (got %d)", n);
	n = maps_file_layout(m, 0x10002000, 0x10012000, out, 8);
	check(n == 2 && out[0].start == 0x10000000 && out[0].end == 0x10004000 &&
	      out[1].start == 0x10010000 && out[1].end == 0x10020000,
	      "maps_file_layout: partial overlap reports full extents (got %d)", n);
	n = maps_file_layout(m, 0x10004000, 0x10010000, out, 8);
	check(n == 0, "maps_file_layout: range in a gap -> 0 (got %d)", n);
	n = maps_file_layout(m, 0x0f000000, 0x10000000, out, 8);
	check(n == 0, "maps_file_layout: range ending at a VMA start -> 0 (got %d)", n);
	n = maps_file_layout(m, 0x10003fff, 0x10004000, out, 8);
	check(n == 1 && out[0].start == 0x10000000,
	      "maps_file_layout: last byte of a VMA -> 1 (got %d)", n);
	n = maps_file_layout(m, 0x10033000, 0x10035000, out, 8);
	check(n == 2 && !strcmp(out[0].perms, "rw-p") && !strcmp(out[1].perms, "r--p"),
	      "maps_file_layout: range across a split (got %d)", n);
	out[2].start = CANARY;
	n = maps_file_layout(m, 0x10000000, 0x10040000, out, 2);
	check(n == 4 && out[1].start == 0x10010000 && out[2].start == CANARY,
	      "maps_file_layout: count beyond max -> 4, only 2 stored (got %d)", n);
	n = maps_file_layout(m, 0x10000000, 0x10040000, NULL, 0);
	check(n == 4, "maps_file_layout: max 0, out NULL -> count (got %d)", n);
	n = maps_file_layout(m, 0, ULONG_MAX, out, 0);
	check(n == 28, "maps_file_layout: whole address space -> every line (got %d)", n);
	n = maps_file_layout(m, 0x10001000, 0x10001000, out, 8);
	if (n)
		note("maps_file_layout: empty range [lo, lo) inside a VMA gives %d, not 0", n);
	n = maps_file_layout(fx("maps_bad_addr"), 0x10000000, 0x10040000, out, 8);
	check(n < 0, "maps_file_layout: non-hex address line -> error (got %d)", n);
	n = maps_file_layout(fx("maps_missing_fields"), 0x10000000, 0x10040000, out, 8);
	check(n < 0, "maps_file_layout: line with missing fields -> error (got %d)", n);
	n = maps_file_layout(fx("maps_empty"), 0, ULONG_MAX, out, 8);
	check(n == 0, "maps_file_layout: empty file -> 0 (got %d)", n);
	n = maps_file_layout(fx("no-such-file"), 0, ULONG_MAX, out, 8);
	check(n < 0, "maps_file_layout: missing file -> error (got %d)", n);
}

/* ---- scalars ---------------------------------------------------------- */

static void test_read_ulong(void)
{
	static const struct {
		const char *name;
		unsigned long value;
	} good[] = {
		{ "ulong_good", 42 }, { "ulong_nonl", 42 }, { "ulong_zero", 0 },
		{ "ulong_max", ULONG_MAX }, { "ksm/pages_to_scan", 100 },
		{ "ksm/sleep_millisecs", 20 }, { "ksm/run", 0 },
		{ "ksm/max_page_sharing", 256 }, { "ksm/merge_across_nodes", 1 },
		{ "ksm/stable_node_chains_prune_millisecs", 2000 },
	};
	static const char * const bad[] = {
		"ulong_12abc", "ulong_empty", "ulong_newline", "ulong_neg",
		"ulong_overflow", "ulong_max_plus1", "ulong_space", "ulong_hex",
		"ulong_two", "ulong_alpha", "ksm/advisor_mode", "smaps",
		"kpageflags.bin", "no-such-file", "ksm",
	};
	char dir[] = "/tmp/helpers_test.XXXXXX", path[PATH_MAX], buf[64];
	unsigned long v;
	unsigned int i;
	char *small;
	ssize_t n;
	int ret;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		v = 12345;
		ret = read_ulong(fx(good[i].name), &v);
		check(!ret && v == good[i].value, "read_ulong: %s = %lu (got %d, %lu)",
		      good[i].name, good[i].value, ret, v);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ret = read_ulong(fx(bad[i]), &v);
		check(ret < 0, "read_ulong: %s -> negative error (got %d)", bad[i], ret);
	}

	n = read_text(fx("ulong_good"), buf, sizeof(buf));
	check(n == 3 && !strcmp(buf, "42\n"), "read_text: whole file, length returned");
	small = malloc(3);
	n = read_text(fx("ksm/stable_node_chains_prune_millisecs"), small, 3);
	check(n < 0 || (n <= 2 && small[n] == '\0'),
	      "read_text: file larger than buffer -> NUL-terminated or error (got %zd)", n);
	free(small);
	check(read_text(fx("no-such-file"), buf, sizeof(buf)) < 0, "read_text: missing file");

	if (!mkdtemp(dir)) {
		check(false, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/knob", dir);
	close(open(path, O_CREAT | O_WRONLY, 0600));
	check(!write_ulong(path, 1234567) && !read_ulong(path, &v) && v == 1234567,
	      "write_ulong/read_ulong round trip");
	check(!write_text(path, "7\n"), "write_text: shorter text over a regular file");
	if (read_ulong(path, &v) || v != 7)
		note("write_text does not truncate a regular file (\"7\\n\" over \"1234567\")");
	unlink(path);
	check(write_ulong(path, 1) < 0, "write_ulong: missing file -> error (no creation)");
	unlink(path);
	rmdir(dir);
}

/* ---- node lists ------------------------------------------------------- */

static bool nodes_are(const int *nodes, const int *want, int n)
{
	return !memcmp(nodes, want, n * sizeof(*nodes));
}

static int node_file(const char *name, int *nodes, int max)
{
	char buf[64];

	if (read_text(fx(name), buf, sizeof(buf)) < 0)
		return -1000;
	return parse_node_list(buf, nodes, max);
}

static void test_nodes(void)
{
	static const int w013[] = { 0, 1, 3 };
	static const char * const bad[] = {
		"1-0", "0-", "a", "0,,1", "-1", "0-1-2", "1,", ",1", "0 1",
		"99999999999999999999", "0-1,x", "0;1", "1-0\n",
	};
	static const char * const bad_files[] = {
		"nodes_bad_reversed", "nodes_bad_dangling", "nodes_bad_alpha",
		"nodes_bad_comma", "nodes_bad_neg",
	};
	int nodes[8], n;
	unsigned int i;

	n = parse_node_list("0", nodes, 8);
	check(n == 1 && nodes[0] == 0, "parse_node_list: \"0\" (got %d)", n);
	n = parse_node_list("0-1", nodes, 8);
	check(n == 2 && nodes_are(nodes, w013, 2), "parse_node_list: \"0-1\" (got %d)", n);
	n = parse_node_list("0-1,3", nodes, 8);
	check(n == 3 && nodes_are(nodes, w013, 3), "parse_node_list: \"0-1,3\" (got %d)", n);
	n = node_file("nodes_0", nodes, 8);
	check(n == 1 && nodes[0] == 0, "parse_node_list: sysfs \"0\\n\" (got %d)", n);
	n = node_file("nodes_0-1", nodes, 8);
	check(n == 2 && nodes_are(nodes, w013, 2), "parse_node_list: sysfs \"0-1\\n\" (got %d)", n);
	n = node_file("nodes_0-1,3", nodes, 8);
	check(n == 3 && nodes_are(nodes, w013, 3),
	      "parse_node_list: sysfs \"0-1,3\\n\" (got %d)", n);
	n = node_file("nodes_has_memory", nodes, 8);
	check(n == 1 && nodes[0] == 0, "parse_node_list: this machine's has_memory (got %d)", n);
	n = parse_node_list("", nodes, 8);
	check(n == 0, "parse_node_list: \"\" -> 0 nodes (got %d)", n);
	n = node_file("nodes_empty", nodes, 8);
	check(n == 0, "parse_node_list: empty file -> 0 nodes (got %d)", n);
	n = parse_node_list("\n", nodes, 8);
	check(n == 0, "parse_node_list: \"\\n\" -> 0 nodes (got %d)", n);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		n = parse_node_list(bad[i], nodes, 8);
		check(n == -EINVAL, "parse_node_list: \"%.*s\" -> -EINVAL (got %d)",
		      (int)strcspn(bad[i], "\n"), bad[i], n);
	}
	for (i = 0; i < ARRAY_SIZE(bad_files); i++) {
		n = node_file(bad_files[i], nodes, 8);
		check(n == -EINVAL, "parse_node_list: %s -> -EINVAL (got %d)", bad_files[i], n);
	}
	nodes[4] = CANARY;
	n = parse_node_list("0-7", nodes, 4);
	check(n == 8 && nodes[3] == 3 && nodes[4] == CANARY,
	      "parse_node_list: 8 nodes, max 4 -> 8, 4 stored (got %d)", n);
	nodes[0] = CANARY;
	n = parse_node_list("2,5", nodes, 0);
	check(n == 2 && nodes[0] == CANARY, "parse_node_list: max 0 stores nothing (got %d)", n);
}

/* ---- slabinfo --------------------------------------------------------- */

static void test_slabinfo(void)
{
	static const struct {
		const char *cache;
		unsigned long active, num, size;
	} good[] = {
		{ "anon_vma", 361, 390, 104 },		/* after anon_vma_chain */
		{ "anon_vma_chain", 470, 768, 64 },
		{ "vm_area_struct", 877, 1134, 192 },
		{ "kmalloc-64", 2276, 2432, 64 },
		{ "kmalloc-192", 11382, 11382, 192 },
		{ "btrfs_delayed_node", 0, 0, 312 },
		{ "task_struct", 107, 125, 5888 },
	};
	static const char * const absent[] = {
		"anon", "anon_vma_", "vm_area", "kmalloc-6", "nosuch", "slabinfo",
		"#", "tunables",
	};
	static const char * const bad[] = {
		"slabinfo_bad_version", "slabinfo_no_header", "slabinfo_missing_cols",
		"slabinfo_garbage", "slabinfo_trunc", "smaps_empty", "smaps",
	};
	struct slab_count c;
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		memset(&c, 0xff, sizeof(c));
		ret = slabinfo_get(fx("slabinfo"), good[i].cache, &c);
		check(!ret && c.active_objs == good[i].active && c.num_objs == good[i].num &&
		      c.objsize == good[i].size, "slabinfo_get: %s %lu %lu %lu (got %d)",
		      good[i].cache, good[i].active, good[i].num, good[i].size, ret);
	}
	for (i = 0; i < ARRAY_SIZE(absent); i++) {
		ret = slabinfo_get(fx("slabinfo"), absent[i], &c);
		check(ret == -ENOENT, "slabinfo_get: \"%s\" absent -> -ENOENT (got %d)",
		      absent[i], ret);
	}
	ret = slabinfo_get(fx("slabinfo_header_only"), "anon_vma", &c);
	check(ret == -ENOENT, "slabinfo_get: header only -> -ENOENT (got %d)", ret);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&c, 0, sizeof(c));
		ret = slabinfo_get(fx(bad[i]), "anon_vma", &c);
		check(ret < 0 && ret != -ENOENT,
		      "slabinfo_get: %s -> error, not -ENOENT (got %d: %lu %lu %lu)",
		      bad[i], ret, c.active_objs, c.num_objs, c.objsize);
	}
	ret = slabinfo_get(fx("no-such-file"), "anon_vma", &c);
	check(ret < 0, "slabinfo_get: missing file -> error (got %d)", ret);
	ret = slabinfo_get(fx("slabinfo_missing_cols"), "vm_area_struct", &c);
	check(!ret && c.num_objs == 1134,
	      "slabinfo_get: other rows of a file with one bad row still read (got %d)", ret);
}

/* ---- kernel log ------------------------------------------------------- */

static const char * const klog_bad[] = {
	"WARNING: CPU: 1 PID: 42 at mm/rmap.c:123 foo+0x1/0x2",
	"WARNING: possible circular locking dependency detected",
	"BUG: Bad rss-counter state mm:00000000a1b2c3d4 type:MM_ANONPAGES val:1 Comm:fork_chain Pid:42",
	"BUG: Bad page map in process fork_chain  pte:8000000101234067 pmd:101235067",
	"BUG: Bad page state in process fork_chain  pfn:1a2b3",
	"kernel BUG at mm/rmap.c:1234!",
	"Oops: general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] SMP NOPTI",
	"general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] SMP",
	"BUG: KASAN: slab-use-after-free in anon_vma_clone+0x1/0x2",
	"UBSAN: array-index-out-of-bounds in mm/rmap.c:10:5",
	"BUG: unable to handle page fault for address: ffff888000000000",
	"Kernel panic - not syncing: Fatal exception",
	"watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [fork_chain:42]",
	"BUG: sleeping function called from invalid context at mm/rmap.c:1",
	"list_del corruption. prev->next should be ffff888100000000, but was ffff888100000008",
	"refcount_t: underflow; use-after-free.",
	"INFO: task khugepaged:42 blocked for more than 122 seconds.",
	"rcu: INFO: rcu_sched self-detected stall on CPU",
	"rcu: INFO: rcu_preempt self-detected stall on CPU",
	"rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:",
};

static const char * const klog_good[] = {
	"",
	"EXT4-fs (vda): mounted filesystem 00000000-0000-0000-0000-000000000000 r/w without journal. Quota mode: none.",
	"random: crng reseeded due to virtual machine fork",
	"pci_bus 0000:00: root bus resource [io  0x0000-0x0cf7 window]",
	"tokio-rt-worker (69): drop_caches: 3",
	"PCI: Using host bridge windows from ACPI; if necessary, use \"pci=nocrs\" and report a bug",
	"[Firmware Bug]: TSC doesn't count with P0 frequency!",
	"ACPI Warning: SystemIO range 0x0000000000000B00-0x0000000000000B08 conflicts with OpRegion 0x0000000000000B00-0x0000000000000B0F (\\GSA1.SMBI) (20240827/utaddress-204)",
	"Speculative Return Stack Overflow: WARNING: See https://kernel.org/doc/html/latest/admin-guide/hw-vuln/srso.html for mitigation options.",
	"Spectre V2 : WARNING: Unprivileged eBPF is enabled with eIBRS on, data leaks possible via Spectre v2 BHB attacks!",
	"RETBleed: WARNING: Spectre v2 mitigation leaves CPU vulnerable to RETBleed attacks, data leaks possible!",
	"avl-marker-1234-fork_chain",
};

/* Debatable: printed as notes. */
static const char * const klog_maybe[] = {
	"------------[ cut here ]------------",
	"Unable to handle kernel paging request at virtual address dead000000000100",
	"Call Trace:",
	"Modules linked in:",
};

static FILE *open_fx(const char *name)
{
	FILE *f = fopen(fx(name), "re");

	if (!f)
		check(false, "fixture %s opens", name);
	return f;
}

static int scan(const char *name, const char *marker, char *report, size_t len)
{
	FILE *f = open_fx(name);
	int ret;

	if (!f)
		return -1000;
	ret = klog_scan(f, marker, report, len);
	fclose(f);
	return ret;
}

static void klog_len0(void)
{
	char *report = malloc(1);

	report[0] = 'x';		/* not a string: len 0 says "no room" */
	scan("kmsg.log", MARK, report, 0);
	free(report);
}

static void klog_small(void)
{
	char *report = malloc(8);

	scan("kmsg.log", MARK, report, 8);
	if (!memchr(report, '\0', 8))
		_exit(1);
	free(report);
}

static void test_klog(void)
{
	char report[2048];
	int n, head_bad = 0, ret;
	unsigned int i;
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	for (i = 0; i < ARRAY_SIZE(klog_bad); i++)
		check(klog_line_is_bad(klog_bad[i]), "klog_line_is_bad: bad \"%.60s\"",
		      klog_bad[i]);
	for (i = 0; i < ARRAY_SIZE(klog_good); i++)
		check(!klog_line_is_bad(klog_good[i]), "klog_line_is_bad: not bad \"%.60s\"",
		      klog_good[i]);
	for (i = 0; i < ARRAY_SIZE(klog_maybe); i++)
		note("klog_line_is_bad(\"%s\") = %d", klog_maybe[i],
		     klog_line_is_bad(klog_maybe[i]));

	n = scan("kmsg.log", MARK, report, sizeof(report));
	check(n == 3, "klog_scan: 3 bad lines after the marker (got %d)", n);
	check(strstr(report, "mm/rmap.c:123") && strstr(report, "Bad rss-counter") &&
	      strstr(report, "Bad page map"), "klog_scan: report holds the 3 lines");
	check(!strstr(report, "before") && !strstr(report, "between") &&
	      !strstr(report, "EXT4") && !strstr(report, "SUBSYSTEM"),
	      "klog_scan: report holds nothing else");
	check(!strchr(report, ';') && !strstr(report, "4,305"),
	      "klog_scan: report holds record text without the prefix");

	/* NULL marker: every record; consistent with klog_line_is_bad */
	f = open_fx("kmsg_real_head");
	while (f && getline(&line, &cap, f) > 0) {
		if (line[0] == ' ' || !strchr(line, ';'))
			continue;
		line[strcspn(line, "\n")] = '\0';
		head_bad += klog_line_is_bad(strchr(line, ';') + 1);
	}
	free(line);
	if (f)
		fclose(f);
	n = scan("kmsg.log", NULL, report, sizeof(report));
	check(n == 5 + head_bad, "klog_scan: NULL marker scans all (%d + 5) (got %d)",
	      head_bad, n);
	check(strstr(report, "before") && strstr(report, "between"),
	      "klog_scan: NULL marker, report holds lines before the marker");
	n = scan("kmsg.log", MARK "-older", report, sizeof(report));
	check(n == 4, "klog_scan: earlier marker -> 4 (got %d)", n);
	n = scan("kmsg.log", "avl-marker-1234", report, sizeof(report));
	check(n == -ENOENT, "klog_scan: marker only a prefix of records -> -ENOENT (got %d)", n);
	n = scan("kmsg.log", "no such marker", report, sizeof(report));
	check(n == -ENOENT, "klog_scan: missing marker -> -ENOENT (got %d)", n);
	n = scan("kmsg_empty.log", MARK, report, sizeof(report));
	check(n == -ENOENT, "klog_scan: empty log, marker -> -ENOENT (got %d)", n);
	n = scan("kmsg_empty.log", NULL, report, sizeof(report));
	check(n == 0 && !report[0], "klog_scan: empty log, NULL marker -> 0 (got %d)", n);
	n = scan("kmsg_malformed.log", MARK, report, sizeof(report));
	check(n == 2, "klog_scan: malformed records survive, 2 bad lines (got %d)", n);
	n = scan("kmsg_malformed.log", NULL, report, sizeof(report));
	check(n == 2, "klog_scan: malformed records, NULL marker -> 2 (got %d)", n);
	check(in_child(klog_small), "klog_scan: 8-byte report, no overflow, NUL-terminated");
	ret = in_child(klog_len0);
	check(ret, "klog_scan: report len 0 -> report not touched nor read");
}

/* ---- kconfig ---------------------------------------------------------- */

static int kc(const char *name, const char *file)
{
	FILE *f = open_fx(file);
	int ret;

	if (!f)
		return -1000;
	ret = kconfig_stream_has(f, name);
	fclose(f);
	return ret;
}

static void test_kconfig(void)
{
	static const struct {
		const char *file, *name;
		int want;
	} cases[] = {
		{ "config_excerpt", "KSM", 1 },
		{ "config_excerpt", "MIGRATION", 1 },
		{ "config_excerpt", "TRANSPARENT_HUGEPAGE", 1 },
		{ "config_excerpt", "TRANSPARENT_HUGEPAGE_MADVISE", 1 },
		{ "config_excerpt", "TRANSPARENT_HUGEPAGE_ALWAYS", 0 },
		{ "config_excerpt", "IDLE_PAGE_TRACKING", 0 },
		{ "config_excerpt", "ANON_VMA_NAME", 0 },
		{ "config_excerpt", "ANON_VMA_LAZY", 0 },
		{ "config_excerpt", "ANON_VMA", 0 },
		{ "config_excerpt", "TRANSPARENT", 0 },
		{ "config_excerpt", "KS", 0 },
		{ "config_excerpt", "PER_VMA_LOCK", 1 },
		{ "config_excerpt", "VMA_LOCK", 0 },
		{ "config_excerpt", "CC_VERSION_TEXT", 0 },
		{ "config_excerpt", "GCC_VERSION", 0 },
		{ "config_excerpt", "PCP_BATCH_SCALE_MAX", 0 },
		{ "kconfig_synthetic", "KSM", 0 },
		{ "kconfig_synthetic", "KSM_FOO", 1 },
		{ "kconfig_synthetic", "KSM_FO", 0 },
		{ "kconfig_synthetic", "ZSMALLOC", 1 },
		{ "kconfig_synthetic", "ANON_VMA_LAZY", 0 },
		{ "kconfig_synthetic", "ANON_VMA_LAZY_DEBUG", 0 },
		{ "kconfig_synthetic", "NOTSET", 0 },
		{ "kconfig_synthetic", "BAR", 0 },
		{ "kconfig_synthetic", "NUMBER", 0 },
		{ "kconfig_synthetic", "LAST_NO_NEWLINE", 1 },
		{ "smaps_empty", "KSM", 0 },
	};
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ret = kc(cases[i].name, cases[i].file);
		check(ret == cases[i].want, "kconfig_stream_has: %s in %s -> %d (got %d)",
		      cases[i].name, cases[i].file, cases[i].want, ret);
	}
	ret = kc("CONFIG_KSM", "config_excerpt");
	note("kconfig_stream_has(\"CONFIG_KSM\") = %d: @name is without the CONFIG_ prefix",
	     ret);
}

static void test_smaps_read_all(void)
{
	struct smaps_vma v[16];
	int n;

	n = smaps_read_all(fx("smaps"), v, 16);
	check(n == 7, "smaps_read_all: smaps has 7 VMAs (got %d)", n);
	check(n > 1 && v[0].start == 0x10000000 && v[0].end == 0x10004000 &&
	      !strcmp(v[0].perms, "rw-p") && v[0].rss == 8 &&
	      v[0].anonymous == 8 && v[0].private_dirty == 8,
	      "smaps_read_all: first VMA's extent, perms and fields");
	check(n > 2 && v[1].rss == 40 && v[1].pss == 40,
	      "smaps_read_all: middle VMA's Rss and Pss");
	check(smaps_read_all(fx("smaps"), v, 2) == 7,
	      "smaps_read_all: count beyond max is still the whole count");
	check(smaps_read_all(fx("smaps_bad_header"), v, 16) < 0,
	      "smaps_read_all: broken header -> error");
	check(smaps_read_all(fx("smaps_trunc_value"), v, 16) < 0,
	      "smaps_read_all: truncated file -> error");
	check(smaps_read_all(fx("smaps_no_kb"), v, 16) < 0,
	      "smaps_read_all: field without kB -> error");
	check(smaps_read_all(fx("smaps_empty"), v, 16) == 0,
	      "smaps_read_all: empty file -> no VMA");
}

/* Programs of the scenario engine: what parses, what must not. */
static void test_sc_parse(void)
{
	static const char * const good[] = {
		"0: mmap0",
		"0: mmap0 fork1 ro0:4-8 | 1: write0 fork2 | 2: write0:0-6",
		"0: mmap3 dontfork3:0-2 wipeonfork3:2-4 mlock3:4-8 munlock3:4-8",
		"0: mmap0 free0:4-8 cold0 dontneed0:8-12 rw0 unmap0:0-4",
		"0: mmap0 move0:4-8>5 move5:4-8>0 dontunmap0>3 grow0:8-12",
		"0: mmap0 pageout0:0-6 fork1 | 1: pageout0",
	};
	static const char * const bad[] = {
		"mmap0", "0 mmap0", "0: mmap", "0: mmapx0", "0: frobnicate0",
		"0: mmap0:4", "0: mmap0:8-4", "0: mmap0:0-13", "0: mmap80",
		"0: fork0", "99: mmap0", "0: mmap0 |1: write0 fork0",
		"0: move0:4-8", "0: mmap0>3", "0: move0>0", "0: move0>80",
		"0: grow0:0-4", "0: dontunmap0>", "0: move0:4-8>3x",
	};
	struct scenario *sc;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		sc = sc_create(1);
		check(sc && !sc_parse(sc, good[i]), "sc_parse: \"%s\"", good[i]);
		free(sc);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		sc = sc_create(1);
		check(sc && sc_parse(sc, bad[i]), "sc_parse: rejects \"%s\"",
		      bad[i]);
		free(sc);
	}
	sc = sc_create(1);
	check(sc && !sc_parse(sc, "0: mmap0 fork1 | 1: write0 | 2: write0") &&
	      sc->nr_members == 3 && sc->nr_steps[0] == 2,
	      "sc_parse: members and steps counted");
	free(sc);
	sc = sc_create(1);
	check(sc && !sc_parse(sc, "0: move2:4-8>7") &&
	      sc->steps[0][0].op == SC_MOVE && sc->steps[0][0].region == 2 &&
	      sc->steps[0][0].first == 4 && sc->steps[0][0].last == 8 &&
	      sc->steps[0][0].child == 7,
	      "sc_parse: a move's source range and destination region");
	free(sc);
}

/* ---- the scenario model's literal form ---------------------------------- */

static bool renders(const char *program, bool summary, const char *want)
{
	char buf[4096], err[8192];
	struct scenario *sc = sc_from_program(program, err, sizeof(err));
	bool ok;

	if (!sc)
		return false;
	ok = (summary ? sc_render_summary(sc, buf, sizeof(buf)) :
			sc_render(sc, buf, sizeof(buf))) >= 0 &&
	     !strcmp(buf, want) &&
	     !sc_check_literal(sc, want, summary, err, sizeof(err));
	if (!ok)
		printf("# the model of %s:\n%s\n", program, buf);
	sc_destroy(sc);
	return ok;
}

static void test_sc_render(void)
{
	char err[8192];
	struct scenario *sc;

	check(renders("0: mmap0 ro0:4-8 write0", false,
		      "P0 R0 AAAA|AAAA|AAAA rw,r-,rw"),
	      "sc_render: a split VMA, one process");
	check(renders("0: mmap0 unmap0:4-8 mlock0:8-12 dontfork0:0-2", false,
		      "P0 R0 AA|AA....AAAA rwD,rw,rwL"),
	      "sc_render: holes, flags");
	check(renders("0: mmap0 dontneed0:0-2 free0:10-12", false,
		      "P0 R0 00AAAAAAAAaa rw"),
	      "sc_render: zeroes, lazily freed copies");
	check(renders("0: mmap0 fork1 | 1: write0", false,
		      "P0 R0 AAAAAAAAAAAA rw\n"
		      "P1 R0 BBBBBBABAABA rw"),
	      "sc_render: a shared copy keeps its letter in its column");
	check(renders("0: mmap0 fork1 | 1: move0:0-4>2", false,
		      "P0 R0 AAAAAAAAAAAA rw\n"
		      "P1 R0 ....AAAAAAAA rw\n"
		      "P1 R2 AAAA........ rw"),
	      "sc_render: a moved copy keeps its letter in its column");
	check(renders("0: mmap0 fork1 | 1: write0", true,
		      "P0: 1 VMAs, 12 pages, 4 shared, 8 own\n"
		      "P1<P0: 1 VMAs, 12 pages, 4 shared, 8 own"),
	      "sc_render_summary: VMAs, pages, shared and own copies");

	sc = sc_from_program("0: mmap0 ro0:4-8", err, sizeof(err));
	check(sc && !sc_check_literal(sc, "  P0 R0 AAAA|AAAA|AAAA rw,r-,rw\t\n\n",
				      false, err, sizeof(err)),
	      "sc_check_literal: blanks around lines and empty lines do not count");
	check(sc && sc_check_literal(sc, "P0 R0 AAAA|AAAAAAAA rw,rw", false, err,
				     sizeof(err)) && strstr(err, "the model"),
	      "sc_check_literal: another layout is a mismatch, both shown");
	check(sc && sc_check_literal(sc, "P0 R0 AAAA|AAAA|AAAA rw,r-,rw\nP1 R0 A",
				     false, err, sizeof(err)),
	      "sc_check_literal: an extra line is a mismatch");
	sc_destroy(sc);
}

int main(int argc, char **argv)
{
	fixdir = argc > 1 ? argv[1] : "../fixtures";
	setvbuf(stdout, NULL, _IOLBF, 0);

	test_tags();
	test_pagemap();
	test_kpage();
	test_smaps();
	test_smaps_rollup();
	test_maps_line();
	test_maps_layout();
	test_read_ulong();
	test_nodes();
	test_slabinfo();
	test_klog();
	test_kconfig();
	test_smaps_read_all();
	test_sc_parse();
	test_sc_render();

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
