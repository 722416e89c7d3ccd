#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# anon_vma_bench's own checks: a short run writes the table and JSON the
# README describes, compare reads them back (also results without the
# reference, as older versions wrote them), plots them, and with -T fails
# exactly when a point's norm median moved by more than the tolerance.
# Timings are not judged here: they belong to the machine.
#
# Usage: test/bench_checks.sh   (root for the memory figures; any user)

set -u

top=$(cd "$(dirname "$0")/.." && pwd)
sel=$top/tools/testing/selftests/mm/anon_vma_lazy
bench=$sel/anon_vma_bench
work=$(mktemp -d /tmp/avl-bench-check.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
failures=0

check() {
	if eval "$2"; then
		echo "ok - $1"
	else
		echo "not ok - $1"
		failures=$((failures + 1))
	fi
}

make -C "$sel" >/dev/null || exit 1

reporting=/sys/module/page_reporting/parameters/page_reporting_order
order_before=$(cat "$reporting" 2>/dev/null)

# Up to 100 VMAs, three rounds, no time budget: a few seconds.
for run in a b; do
	"$bench" -n 100 -r 3 -t 0 -o "$work/$run.json" > "$work/$run.txt" 2>&1
	echo "$?" > "$work/$run.rc"
done
cat "$work/a.txt"

check "runs exit 0" '[ "$(cat "$work/a.rc")$(cat "$work/b.rc")" = 00 ]'
if [ -n "$order_before" ] && [ "$(id -u)" -eq 0 ]; then
	check "free page reporting raised for the run, restored after" \
		'grep -qE "^free page reporting(: order $order_before -> | at order $order_before: cannot)" \
			"$work/a.txt" && [ "$(cat "$reporting")" = "$order_before" ]'
	# Killed mid-run: the knob guard of the helper library restores it.
	"$bench" -n 100 -r 3 -t 60 > /dev/null 2>&1 &
	pid=$!
	i=0
	while [ "$(cat "$reporting")" = "$order_before" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	raised=$(cat "$reporting")
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	i=0
	while [ "$(cat "$reporting")" != "$order_before" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ "$raised" = "$order_before" ]; then
		echo "ok - SIGKILL mid-run restores page_reporting_order # SKIP not raised here"
	else
		check "SIGKILL mid-run restores page_reporting_order" \
			'[ "$(cat "$reporting")" = "$order_before" ]'
	fi
fi
check "table has every timed point" \
	'[ "$(grep -cE "^(fork_cpu_us|fork_exit_wait_us) +(10|100) +(1|8) " "$work/a.txt")" = 8 ] &&
	 [ "$(grep -cE "^(first_fault|munmap|exit)_us_per_vma +100 +1 " "$work/a.txt")" = 3 ]'
check "JSON: 12 memory and 11 time records" \
	'[ "$(grep -c "\"kind\": \"mem\"" "$work/a.json")" = 12 ] &&
	 [ "$(grep -c "\"kind\": \"time\"" "$work/a.json")" = 11 ]'
# Three rounds at least: every point sampled in each.
check "every time record: 3+ runs, norm and reference > 0" \
	'awk -F "\"norm\": |, \"ref\": |, \"runs\": |, \"merged\"" "
		/\"kind\": \"time\"/ { if (!(\$2 > 0 && \$3 > 0 && \$4 >= 3)) bad++ }
		END { exit bad > 0 }" "$work/a.json"'
if [ "$(id -u)" -eq 0 ]; then
	# 13 processes of 100+ VMAs each: seen whatever the per-CPU caches hold.
	check "root: slab counts read (fork tree adds VMAs)" \
		'grep -E "^fork_tree_3x2 +vm_area_struct +[1-9][0-9]{3}" "$work/a.txt" >/dev/null'
fi

"$bench" compare "$work/a.json" "$work/b.json" -s "$work/plot.svg" \
	> "$work/compare.txt" 2>&1
rc=$?
cat "$work/compare.txt"
check "compare exits 0 without a tolerance" '[ "$rc" = 0 ]'
check "compare lists raw and norm medians" \
	'[ "$(grep -c "^fork_cpu_us 10 x 1 " "$work/compare.txt")" = 1 ] &&
	 [ "$(grep -c "^  norm " "$work/compare.txt")" = 11 ]'
if command -v gnuplot >/dev/null; then
	check "compare -s writes an SVG plot" \
		'grep -q "<svg" "$work/plot.svg" 2>/dev/null'
fi

check "a run against itself is within -T 0" \
	'"$bench" compare "$work/a.json" "$work/a.json" -T 0 >/dev/null 2>&1'
# One point's norm 10% higher: -T 5 fails and names it, -T 20 passes.
awk '/"what": "munmap_us_per_vma"/ {
	match($0, /"norm": [-+0-9.eE]+/)
	v = substr($0, RSTART + 8, RLENGTH - 8) * 1.1
	$0 = substr($0, 1, RSTART - 1) "\"norm\": " sprintf("%.6g", v) \
	     substr($0, RSTART + RLENGTH)
} { print }' "$work/a.json" > "$work/moved.json"
"$bench" compare "$work/a.json" "$work/moved.json" -T 5 \
	> /dev/null 2> "$work/moved.err"
rc=$?
check "-T 5 fails on a 10% move and names the point" \
	'[ "$rc" = 1 ] && grep -q "^munmap_us_per_vma 100 x 1: norm median moved 10.0%" "$work/moved.err" &&
	 [ "$(wc -l < "$work/moved.err")" = 1 ]'
check "-T 20 accepts it" \
	'"$bench" compare "$work/a.json" "$work/moved.json" -T 20 >/dev/null 2>&1'

# Results of versions without the reference: raw medians only.
sed -E 's/"norm": [-+0-9.eE]+, "ref": [0-9.]+, "runs": [0-9]+, //' \
	"$work/a.json" > "$work/old.json"
"$bench" compare "$work/old.json" "$work/b.json" -T 5 \
	> "$work/old.txt" 2>&1
rc=$?
check "older results: read, compared without norm" \
	'[ "$rc" = 0 ] && ! grep -q "^  norm" "$work/old.txt" &&
	 [ "$(grep -c "^fork_cpu_us " "$work/old.txt")" = 4 ]'

check "bad arguments: usage, exit 2" \
	'"$bench" -r 1 >/dev/null 2>&1; [ $? = 2 ] &&
	 { "$bench" compare "$work/a.json" >/dev/null 2>&1; [ $? = 2 ]; }'

echo "$failures failed"
[ "$failures" -eq 0 ]
