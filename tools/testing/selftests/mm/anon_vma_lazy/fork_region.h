/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The region of fork_chain's fork_misc and of fork_pinned: MISC_PAGES
 * small pages of the test process, page i tagged { 0, i }, and the check
 * of their contents, exclusive bit and map count.
 */
#ifndef __AVL_FORK_REGION_H
#define __AVL_FORK_REGION_H

#include <stdbool.h>
#include <unistd.h>
#include <sys/mman.h>

#include "khealth.h"
#include "oracles.h"
#include "util.h"

#define MISC_PAGES	16
#define WAIT_MS		30000

/* The region, faulted and tagged; NULL when it cannot be mapped. */
static inline char *fork_region_map(void)
{
	char *region = mmap(NULL, MISC_PAGES * psize(), PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int i;

	if (region == MAP_FAILED)
		return NULL;
	madvise(region, MISC_PAGES * psize(), MADV_NOHUGEPAGE);
	for (i = 0; i < MISC_PAGES; i++) {
		struct page_tag tag = { .owner = 0, .index = i };

		tag_fill(region + i * psize(), psize(), &tag);
	}
	return region;
}

/* Contents, exclusive bit and map count of every page of our region. */
static inline int check_region(struct __test_metadata *_metadata,
			       char *region, int mappers, const char *when)
{
	struct pagemap_entry e;
	bool want_exclusive = mappers == 1;
	struct page_tag found;
	__u64 count;
	int i, bad = 0;

	for (i = 0; i < MISC_PAGES; i++) {
		struct page_tag tag = { .owner = 0, .index = i };
		char *p = region + i * psize();

		if (tag_verify(p, psize(), &tag, &found)) {
			TH_LOG("%s: page %d: wrong contents", when, i);
			bad++;
		}
		if (pagemap_get(0, (unsigned long)p, &e) || !e.present ||
		    !e.pfn || e.file || e.exclusive != want_exclusive ||
		    kpagecount_get(e.pfn, &count) || count != (__u64)mappers) {
			TH_LOG("%s: page %d: present %d exclusive %d count %llu, want %d",
			       when, i, e.present, e.exclusive,
			       (unsigned long long)count, mappers);
			bad++;
		}
	}
	return bad;
}

/*
 * Fixture set-up of both: SKIP without the page oracles, else the region
 * in *@region and the kernel log marked for @name.
 */
static inline void fork_region_setup(struct __test_metadata *_metadata,
				     char **region, struct khealth *health,
				     const char *name)
{
	const char *missing = page_oracles_missing();

	report_environment_once();
	if (missing)
		SKIP(return, "%s", missing);
	*region = fork_region_map();
	ASSERT_NE(NULL, *region);
	ASSERT_EQ(0, khealth_begin(health, name));
}

#endif /* __AVL_FORK_REGION_H */
