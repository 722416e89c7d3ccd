#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Checks of anon_vma_stress (as root, on this kernel):
#  - a seeded run replays exactly (same rounds, same steps) and passes;
#  - with a bug injected into the engine's model on purpose
#    (test/stress/model_bug.patch: mlock no longer breaks COW in the
#    model), the random walk finds a failure and --shrink reduces it to a
#    short scenario, which fails again when given with --program and
#    passes on the correct model;
#  - the same broken model disagrees with the literal expectations of the
#    scenario variants (split's mlock variants fail at set-up, where the
#    model is checked against the literal), the correct one agrees;
#  - --render prints a program's literal expectation;
#  - its own options: --help, a bad option.
#
# Prints "ok N ..." / "not ok N ..." and ends with "N passed, N failed".

set -u

top=$(cd "$(dirname "$0")/.." && pwd)
sel=tools/testing/selftests
suite=$top/$sel/mm/anon_vma_lazy
work=$(mktemp -d /tmp/avl-stress.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

passed=0
failed=0
n=0

report() {
	n=$((n + 1))
	if [ "$1" = ok ]; then
		passed=$((passed + 1))
		echo "ok $n $2"
	else
		failed=$((failed + 1))
		echo "not ok $n $2"
		[ -s "$work/why" ] && sed 's/^/#   /' "$work/why" | tail -n 20
	fi
	: > "$work/why"
}

check() {
	what=$1
	shift
	if "$@" >> "$work/why" 2>&1; then
		report ok "$what"
	else
		report fail "$what"
	fi
}

sh "$top/scripts/fetch-framework.sh" > /dev/null || {
	echo "not ok 1 framework"
	echo "0 passed, 1 failed"
	exit 1
}

# A copy of the suite per model: the correct one and the broken one.
build() {
	tree=$work/$1
	mkdir -p "$tree/$sel/mm"
	cp -R "$top/$sel/lib.mk" "$top/$sel/kselftest.h" \
		"$top/$sel/kselftest_harness.h" "$top/$sel/kselftest" "$tree/$sel/"
	cp "$top/$sel/mm/vm_util.c" "$top/$sel/mm/vm_util.h" "$tree/$sel/mm/"
	cp -R "$suite" "$tree/$sel/mm/"
	copy=$tree/$sel/mm/anon_vma_lazy
	make -s -C "$copy" clean > /dev/null 2>&1
	if [ -n "${2:-}" ]; then
		patch -s -p1 --batch -d "$copy" < "$2" || return 1
	fi
	make -s -C "$copy" KHDR_INCLUDES="-isystem $top/usr/include" \
		"$copy/anon_vma_stress" "$copy/split" > /dev/null
}

good=$work/good/$sel/mm/anon_vma_lazy/anon_vma_stress
bad=$work/bad/$sel/mm/anon_vma_lazy/anon_vma_stress
check "build (correct model)" build good
check "build (model with an injected bug)" build bad "$top/test/stress/model_bug.patch"

summary() {
	grep -E '^# [0-9]+ rounds, [0-9]+ steps' "$1"
}

replay() {
	"$good" --seed 7 --steps 400 > "$work/r1" 2>&1 &&
	"$good" --seed 7 --steps 400 > "$work/r2" 2>&1 &&
	summary "$work/r1" > "$work/s1" && summary "$work/r2" > "$work/s2" &&
	cmp "$work/s1" "$work/s2" && cat "$work/s1"
}
check "a seeded run passes and replays the same rounds and steps" replay

find_and_shrink() {
	! "$bad" --seed 1 --seconds 60 --shrink > "$work/bad.out" 2>&1 || return 1
	grep -E '^# (failing round|replay|shrunk to)' "$work/bad.out"
	steps=$(sed -n 's/^# shrunk to (\([0-9]*\) steps).*/\1/p' "$work/bad.out")
	[ -n "$steps" ] && [ "$steps" -le 8 ] &&
		grep '^# shrunk to' "$work/bad.out" | grep -q mlock
}
check "an injected model bug is found and shrunk to at most 8 steps" find_and_shrink

# The shrunk scenario, given back with --program/--exit/--walk.
shrunk_args() {
	sed -n 's/^# shrunk to ([0-9]* steps): //p' "$work/bad.out" | head -n 1
}

rerun() {
	args=$(shrunk_args)
	[ -n "$args" ] || return 1
	echo "$args"
	eval "set -- $args"
	! "$bad" "$@" > "$work/again.out" 2>&1 && "$good" "$@" > "$work/good.out" 2>&1
}
check "the shrunk scenario fails on the broken model, passes on the correct one" rerun

# The model against the variants' literals: split's set-up checks it
# before anything else (also without root).
literals() {
	"${good%/*}/split" -v child_mlock_root_first -t exits > "$work/lit.good" 2>&1 ||
		return 1
	! "${bad%/*}/split" -v child_mlock_root_first -t exits > "$work/lit.bad" 2>&1 &&
		grep -q '^not ok ' "$work/lit.bad" &&
		grep -q 'the variant expects' "$work/lit.bad" &&
		grep -A4 'the variant expects' "$work/lit.bad"
}
check "the broken model disagrees with a variant's literal expectation" literals

render() {
	"$good" --program "0: mmap0 ro0:4-8" --render > "$work/render" &&
	grep -qx 'P0 R0 AAAA|AAAA|AAAA rw,r-,rw' "$work/render" &&
	{ "$good" --program "0: nonsense" --render > /dev/null 2>&1; [ $? -eq 2 ]; }
}
check "--render prints the literal expectation, exit 2 on a bad program" render

options() {
	"$good" --help | grep -q -- '--shrink' &&
	{ "$good" --nonsense > /dev/null 2>&1; [ $? -eq 2 ]; }
}
check "--help, and exit 2 on an unknown option" options

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
