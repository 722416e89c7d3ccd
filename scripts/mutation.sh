#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mutation.sh: measure which rmap bugs the anon_vma_lazy suite catches.
#
# Every test/mutants/NN_name.patch injects one known kind of anon_vma/rmap
# bug into Debian's linux-source-6.12 (its header says which and what should
# kill it). This builds the clean debug kernel and each mutant in one build
# tree (incrementally: one file recompiled per mutant), boots each in QEMU
# with vmtest.sh and prints a kill matrix: a mutant is killed when a test
# FAILs that passed in both clean runs, when the kernel panics (Oops), or
# when the run hangs; otherwise it survived. Results also go to a JSON file.
#
#   scripts/mutation.sh                     every mutant, every category but
#                                           stress (about 45 minutes)
#   scripts/mutation.sh -m 07,11 -c fork,accounting
#   scripts/mutation.sh -n 1 -m 07 -c fork  one clean run (the CI smoke test)
#
# The mutants are applied to a hard-linked copy of the source tree
# ($AVL_CACHE/mutation-src; patch replaces the files it changes, so the
# pristine tree is never written) and reverted after each run; the checksums
# of every file a mutant touches are compared with the pristine tree after
# each revert, and the script fails if one differs.
#
# Not run by make check as a whole (too slow); test/run.sh runs one mutant.

set -u
set -o pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
suite=$top/tools/testing/selftests/mm/anon_vma_lazy
cache=${AVL_CACHE:-$HOME/.cache/anon_vma_lazy}
mutants_dir=$top/test/mutants
only_mutants=
categories=
clean_runs=2
timeout=300
json=$cache/mutation/results.json

usage() {
	cat <<EOF
Usage: $0 [-m MUTANTS] [-c CATEGORIES] [-n CLEAN_RUNS] [-o JSON] [-T SEC]

  -m LIST   mutants to run: comma-separated numbers or name parts
            (default: all of test/mutants/)
  -c LIST   run_vmtests.sh categories (default: all non-destructive but
            stress; "all" for every one including stress)
  -n N      clean runs before the mutants (default: $clean_runs)
  -o FILE   JSON results (default: $json)
  -T SEC    vmtest.sh timeout per run (default: $timeout)
EOF
}

while getopts "m:c:n:o:T:h" opt; do
	case $opt in
	m) only_mutants=$OPTARG ;;
	c) categories=$OPTARG ;;
	n) clean_runs=$OPTARG ;;
	o) json=$OPTARG ;;
	T) timeout=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
[[ $clean_runs =~ ^[1-9][0-9]*$ ]] || { usage >&2; exit 2; }

say() { echo "mutation.sh: $*" >&2; }
die() { say "$*"; exit 1; }

pristine=$(sh "$top/scripts/fetch-framework.sh" | tail -n 1) ||
	die "cannot unpack the kernel source"
[ -f "$pristine/mm/rmap.c" ] || die "no kernel source at $pristine"
work=$cache/mutation-src
out=$cache/mutation
mkdir -p "$out" "$(dirname "$json")"

# One hard-linked copy of the pristine tree, made once.
if [ ! -f "$work/mm/rmap.c" ]; then
	say "linking a work tree at $work"
	rm -rf "$work"
	cp -al "$pristine" "$work" || die "cannot copy $pristine"
fi

# Selected mutants.
mutants=()
for p in "$mutants_dir"/*.patch; do
	name=$(basename "$p" .patch)
	if [ -n "$only_mutants" ]; then
		keep=0
		IFS=, read -ra want <<< "$only_mutants"
		for w in "${want[@]}"; do
			case $name in "$w"_* | *"$w"*) keep=1 ;; esac
		done
		[ $keep = 1 ] || continue
	fi
	mutants+=("$name")
done
[ ${#mutants[@]} -gt 0 ] || die "no mutant matches '$only_mutants'"

# Categories: -a without stress by default.
runner_args=()
if [ "$categories" = all ]; then
	runner_args=(-a)
else
	[ -n "$categories" ] ||
		categories=$("$suite/run_vmtests.sh" -l | awk '$1 != "stress" { printf "%s%s", s, $1; s = "," }')
	IFS=, read -ra cats <<< "$categories"
	for c in "${cats[@]}"; do
		runner_args+=(-t "$c")
	done
fi

files_of() {
	sed -n 's|^+++ b/||p' "$mutants_dir/$1.patch"
}

# The files of @1 in the work tree are the pristine ones.
check_clean() {
	local f
	for f in $(files_of "$1"); do
		cmp -s "$pristine/$f" "$work/$f" ||
			die "$work/$f differs from the pristine source after reverting $1"
	done
}

# run NAME: boot the work tree's kernel, KTAP to $out/NAME.ktap; sets $rc.
run() {
	local name=$1 t0=$SECONDS
	"$suite/vmtest.sh" -K "$work" -t "$timeout" -l "$out/$name.log" \
		-- "${runner_args[@]}" > "$out/$name.ktap" 2> "$out/$name.err"
	rc=$?
	say "$name: exit $rc after $((SECONDS - t0)) s"
}

# Names of the failed test cases and binaries in a KTAP file.
failures() {
	sed -n -e 's/^# not ok [0-9]* \([^ #]*\).*/\1/p' \
		-e 's/^not ok [0-9]* \([^ #]*\).*/\1/p' "$1" | sort -u
}

start=$SECONDS
: > "$out/clean.fail"
for i in $(seq 1 "$clean_runs"); do
	run "clean$i"
	case $rc in
	0 | 1 | 4) ;;
	*) die "clean run $i: vmtest.sh exit $rc (see $out/clean$i.err)" ;;
	esac
	failures "$out/clean$i.ktap" >> "$out/clean.fail"
	grep -q '^ok\|^not ok' "$out/clean$i.ktap" ||
		die "clean run $i produced no results (see $out/clean$i.err)"
done
sort -u -o "$out/clean.fail" "$out/clean.fail"
if [ -s "$out/clean.fail" ]; then
	say "failing in a clean run (ignored for kills):"
	sed 's/^/  /' "$out/clean.fail" >&2
fi

killed=0
survived=0
errors=0
rows=()
json_rows=()
for m in "${mutants[@]}"; do
	check_clean "$m"
	if ! patch -s -p1 --batch -d "$work" < "$mutants_dir/$m.patch"; then
		die "$m does not apply"
	fi
	run "$m"
	patch -s -R -p1 --batch -d "$work" < "$mutants_dir/$m.patch" ||
		die "cannot revert $m"
	check_clean "$m"

	how=
	case $rc in
	124) how="hang (vmtest.sh timeout)" ;;
	125) how="kernel panic, or no result at all" ;;
	esac
	if [ $rc = 126 ]; then
		# A mutant that does not build tells nothing: neither count.
		result=error
		how="build or host failure (see $out/$m.err)"
	elif [ -n "$how" ]; then
		result=killed
	else
		failures "$out/$m.ktap" | comm -23 - "$out/clean.fail" > "$out/$m.kills"
		if [ -s "$out/$m.kills" ]; then
			result=killed
			how="$(wc -l < "$out/$m.kills") failed: $(head -n 3 "$out/$m.kills" | paste -sd ' ')"
		else
			result=survived
		fi
	fi
	case $result in
	killed) killed=$((killed + 1)) ;;
	survived) survived=$((survived + 1)) ;;
	*) errors=$((errors + 1)) ;;
	esac
	rows+=("$(printf '%-40s %-9s %s' "$m" "$result" "$how")")
	json_rows+=("$(printf '  {"mutant": "%s", "result": "%s", "by": "%s", "exit": %d}' \
		"$m" "$result" "${how//\"/\'}" "$rc")")
	say "$m: $result $how"
done

{
	echo "["
	for i in "${!json_rows[@]}"; do
		sep=,
		[ "$i" = $((${#json_rows[@]} - 1)) ] && sep=
		echo "${json_rows[$i]}$sep"
	done
	echo "]"
} > "$json"

echo "Kill matrix ($(date -u +%Y-%m-%d), $((SECONDS - start)) s, clean runs: $clean_runs)"
printf '%-40s %-9s %s\n' mutant result by
for r in "${rows[@]}"; do
	echo "$r"
done
echo "$killed killed, $survived survived, $errors not run; JSON: $json"
[ "$errors" -eq 0 ]
