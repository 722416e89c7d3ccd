#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Every test binary's exit code must say what its KTAP says: 1 when a
# test failed, 4 (KSFT_SKIP) when every test skipped, 0 otherwise, so that
# run_kselftest.sh, and the CI bots that read it, report a binary that
# only skipped as skipped, not as passed (harness_main.h). Runs every
# binary of BUILD_DIR directly as nobody (most of them SKIP there: no
# PFNs), and merge and swap as root too (merge passes on any machine,
# swap skips without swap). test/inverted_checks.sh checks failing
# binaries the same way.
#
#   test/exit_codes.sh BUILD_DIR
#
# Prints "ok N ..." / "not ok N ..." and ends with "N passed, N failed".

set -u

top=$(cd "$(dirname "$0")/.." && pwd)
suite=$top/tools/testing/selftests/mm/anon_vma_lazy
build=${1:?usage: test/exit_codes.sh BUILD_DIR}
work=$(mktemp -d /tmp/avl-exit.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT INT TERM

passed=0
failed=0
n=0

# check AS BINARY: run it (as root, or as nobody), compare its exit code
# with the one its top-level KTAP results call for.
check() {
	as=$1
	bin=$2
	if [ "$as" = nobody ]; then
		timeout 120 setpriv --reuid=nobody --regid=nogroup \
			--clear-groups "$build/$bin" > "$work/out" 2>&1
	else
		timeout 120 "$build/$bin" > "$work/out" 2>&1
	fi
	rc=$?
	fails=$(grep -cE '^not ok [0-9]+ ' "$work/out")
	runs=$(grep -E '^ok [0-9]+ ' "$work/out" | grep -vc '# SKIP')
	skips=$(grep -E '^ok [0-9]+ ' "$work/out" | grep -c '# SKIP')
	if [ "$fails" -gt 0 ]; then
		want=1
	elif [ "$runs" -eq 0 ] && [ "$skips" -gt 0 ]; then
		want=4
	else
		want=0
	fi
	n=$((n + 1))
	if [ "$rc" -eq "$want" ]; then
		passed=$((passed + 1))
		echo "ok $n $bin as $as: exit $rc ($runs ran, $skips skipped, $fails failed)"
	else
		failed=$((failed + 1))
		echo "not ok $n $bin as $as: exit $rc, want $want ($runs ran, $skips skipped, $fails failed)"
		tail -n 5 "$work/out" | sed 's/^/#   /'
	fi
}

bins=$("$suite/run_vmtests.sh" -l -d | awk '{ print $2 }')
[ -n "$bins" ] || { echo "not ok 1 no binaries listed"; exit 1; }
for bin in $bins; do
	check nobody "$bin"
done
check root merge
check root swap

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
