/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pattern of a scenario fixture (split.c, mremap.c, reclaim.c): each
 * variant is a program for the scenario engine (scenario.h), the exit
 * order of its members and its expected outcome in the literal form of
 * sc_render(), e.g.
 *
 *   FIXTURE_VARIANT_ADD(split, mprotect_middle) {
 *           .program = "0: mmap0 ro0:4-8 write0",
 *           .expect = "P0 R0 AAAA|AAAA|AAAA rw,r-,rw",
 *   };
 *
 * the fixture's set-up is scenario_setup(), and every variant runs three
 * tests, each a call of scenario_test_run():
 *
 *   exits          build, check, let the members exit in @exit_order
 *                  (all but the last), checking after each exit
 *   migrate_walks  the same, with every page of every member migrated to
 *                  the other NUMA node before each check (2 nodes)
 *   pageout_walks  the same, with MADV_PAGEOUT in every member before
 *                  each check (swap)
 *
 * Set-up first checks the model against the variant's literal: the model
 * of the program must give exactly what the variant states, under every
 * merge policy the engine knows; where the layout depends on policy the
 * variant gives the layout of the other answer in @expect_if_merged. The
 * tests then check the kernel against the model.
 */
#ifndef __AVL_SCENARIO_TEST_H
#define __AVL_SCENARIO_TEST_H

#include "env.h"
#include "khealth.h"
#include "scenario.h"

struct scenario_fixture {
	struct scenario *sc;
	struct khealth health;
};

/*
 * FIXTURE_SETUP of a scenario fixture @what: the scenario of @program,
 * its model checked against the literals (before any SKIP, so that it is
 * checked everywhere), then what the tests need: the page oracles, swap
 * when @needs_swap (the whole fixture pages out, pinned to one CPU so
 * that every folio reaches the LRU of the CPU that pages it out).
 */
static inline void scenario_setup(struct __test_metadata *_metadata,
				  struct scenario_fixture *f,
				  const char *program, const char *expect,
				  const char *expect_if_merged,
				  bool needs_swap, const char *what)
{
	const char *missing = page_oracles_missing();
	static char err[40000];

	report_environment_once();
	f->sc = sc_from_program(program, err, sizeof(err));
	ASSERT_NE(NULL, f->sc) TH_LOG("%s", err);
	ASSERT_EQ(0, sc_check_literals(f->sc, expect, expect_if_merged, false,
				       err, sizeof(err)))
		TH_LOG("%s", err);
	if (missing)
		SKIP(return, "%s", missing);
	if (needs_swap && !swap_enabled())
		SKIP(return, "needs swap for MADV_PAGEOUT");
	if (needs_swap)
		ASSERT_EQ(0, pin_to_this_cpu());
	ASSERT_EQ(0, khealth_begin(&f->health, what));
}

/*
 * The body of the fixture's tests: build, check, let the members exit in
 * @exit_order with @walk before every check; then the kernel log.
 */
static inline void scenario_test_run(struct __test_metadata *_metadata,
				     struct scenario_fixture *f,
				     const int *exit_order, enum sc_walk walk)
{
	char report[2048];
	int nodes[2], bad;

	if (walk == SC_MIGRATE_WALK && numa_usable_nodes(nodes, 2) < 2)
		SKIP(return, "needs 2 NUMA nodes with memory for migration");
	if (walk == SC_PAGEOUT_WALK) {
		if (!swap_enabled())
			SKIP(return, "needs swap for MADV_PAGEOUT");
		ASSERT_EQ(0, pin_to_this_cpu());
	}
	bad = sc_run(f->sc, exit_order, walk, nodes, report, sizeof(report));
	ASSERT_LE(0, bad) TH_LOG("%s", report);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, khealth_check(&f->health, report, sizeof(report)))
		TH_LOG("kernel log / taint:\n%s", report);
}

#endif /* __AVL_SCENARIO_TEST_H */
