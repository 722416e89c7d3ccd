#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A test that cannot fail is worthless. Every patch in test/inverted/ flips
# the central assertion of every test of one binary (test/inverted/NAME.patch
# for binary NAME); this builds each patched binary and requires that none
# of its tests passes: each one fails (or SKIPs where the environment lacks
# what it needs, e.g. two NUMA nodes on the host), and on the host the
# binary exits 1 (4 when every test skipped).
#
#   test/inverted_checks.sh          on this kernel (as root)
#   test/inverted_checks.sh --vm     also in QEMU via vmtest.sh, where the
#                                    migration tests run instead of SKIP
#   test/inverted_checks.sh [--vm] ksm migrate    only these binaries
#
# The QEMU runs pass -d: destructive categories run there too.
#
# Prints "ok N ..." / "not ok N ..." and ends with "N passed, N failed".

set -u

top=$(cd "$(dirname "$0")/.." && pwd)
sel=tools/testing/selftests
suite=$top/$sel/mm/anon_vma_lazy
vm=0
if [ "${1:-}" = --vm ]; then
	vm=1
	shift
fi
only=" $* "

work=$(mktemp -d /tmp/avl-inverted.XXXXXX)
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
		[ -s "$work/why" ] && sed 's/^/#   /' "$work/why"
	fi
	: > "$work/why"
}

# judge FILE PREFIX: no test of the KTAP in FILE (lines starting with
# PREFIX) passed, and at least one failed. Returns 2 when every test
# SKIPped (nothing judged: the environment lacks what they need).
judge() {
	sed -n "s/^$2//p" "$1" > "$work/results"
	passes=$(grep -E '^ok [0-9]+ ' "$work/results" | grep -vc '# SKIP')
	fails=$(grep -cE '^not ok [0-9]+ ' "$work/results")
	grep -E '^ok [0-9]+ ' "$work/results" | grep -v '# SKIP' > "$work/why"
	[ "$passes" -eq 0 ] && [ "$fails" -eq 0 ] &&
		grep -qE '^ok [0-9]+ .*# SKIP' "$work/results" && return 2
	[ "$passes" -eq 0 ] && [ "$fails" -gt 0 ]
}

sh "$top/scripts/fetch-framework.sh" > /dev/null || {
	echo "not ok 1 framework"
	echo "0 passed, 1 failed"
	exit 1
}

# The patched copy needs the framework at the same relative place.
tree=$work/tree
mkdir -p "$tree/$sel/mm"
cp -R "$top/$sel/lib.mk" "$top/$sel/kselftest.h" \
	"$top/$sel/kselftest_harness.h" "$top/$sel/kselftest" "$tree/$sel/"
cp "$top/$sel/mm/vm_util.c" "$top/$sel/mm/vm_util.h" "$tree/$sel/mm/"
copy=$tree/$sel/mm/anon_vma_lazy

for patch in "$top"/test/inverted/*.patch; do
	bin=$(basename "$patch" .patch)
	case $only in
	"  " | *" $bin "*) ;;
	*) continue ;;
	esac
	# A fresh copy for every patch: each inverts one binary's tests.
	rm -rf "$copy" "$work/static"
	cp -R "$suite" "$copy"
	make -s -C "$copy" clean > /dev/null 2>&1
	if ! patch -s -p1 --batch -d "$copy" < "$patch" > "$work/why" 2>&1; then
		report fail "$bin: patch applies"
		continue
	fi
	report ok "$bin: patch applies"

	if ! make -s -C "$copy" KHDR_INCLUDES="-isystem $top/usr/include" \
		"$copy/$bin" > "$work/why" 2>&1; then
		report fail "$bin: inverted build"
		continue
	fi
	"$copy/$bin" > "$work/out" 2>&1
	rc=$?
	judge "$work/out" ""
	case $? in
	0) if [ "$rc" -eq 1 ]; then
		report ok "$bin: every test fails with its central assertion inverted (host)"
	   else
		echo "exit code $rc with failed tests, want 1" > "$work/why"
		report fail "$bin: every test fails with its central assertion inverted (host)"
	   fi ;;
	2) if [ "$rc" -eq 4 ]; then
		report ok "$bin: every test SKIPs on this host (the VM run judges it)"
	   else
		echo "exit code $rc with every test skipped, want 4" > "$work/why"
		report fail "$bin: every test SKIPs on this host (the VM run judges it)"
	   fi ;;
	*) report fail "$bin: every test fails with its central assertion inverted (host)" ;;
	esac

	[ $vm = 1 ] || continue
	static=$work/static
	mkdir -p "$static"
	if ! make -s -C "$copy" KHDR_INCLUDES="-isystem $top/usr/include" \
		STATIC=1 O="$static" > "$work/why" 2>&1; then
		report fail "$bin: inverted static build"
		continue
	fi
	cat=$("$suite/run_vmtests.sh" -l -d | awk -v b="$bin" '$2 == b { print $1 }')
	"$suite/vmtest.sh" -B "$static" -- -d -t "$cat" > "$work/vm.out" 2> "$work/vm.err"
	if judge "$work/vm.out" "# "; then
		report ok "$bin: every test fails with its central assertion inverted (VM)"
	else
		tail -n 5 "$work/vm.err" >> "$work/why"
		report fail "$bin: every test fails with its central assertion inverted (VM)"
	fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
