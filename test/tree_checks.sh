#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A killed run leaves nothing behind: with a real kselftest binary
# (test/tree/tree_probe, built with the suite's helpers and harness_main.h)
# whose test has changed a knob and holds a process tree in the harness's
# own process group (a child that ignores SIGTERM, an orphaned grandchild),
#   - the binary killed with SIGKILL, SIGTERM or SIGINT (run_kselftest.sh,
#     CI bots and timeout(1) run the binaries directly), and
#   - run_vmtests.sh above it killed with SIGINT, SIGTERM or SIGKILL
# leave no process of the probe (test, helpers, knob guard, sweeper) alive
# and the knob as it was, within a few seconds; the same for the temporary
# swap device of run_vmtests.sh -s (normal end, SIGINT, SIGKILL). Also: a
# binary run as root outside the runner waits for the suite's lock while
# another run holds it.
#
# Root only (the probe changes /sys/kernel/mm/ksm/sleep_millisecs): as
# another user every check reports SKIP.
#
# Output: "ok N description" / "not ok N description" per check, then
# "N passed, N failed" alone on the last line. Exit 1 if a check failed.

top=$(cd "$(dirname "$0")/.." && pwd) || exit 1
runner=$top/tools/testing/selftests/mm/anon_vma_lazy/run_vmtests.sh
knob=/sys/kernel/mm/ksm/sleep_millisecs

work=$(mktemp -d "${TMPDIR:-/tmp}/avl_tree_checks.XXXXXX") || exit 1
bin=$work/bin
mkdir -p "$bin"
chmod 755 "$work" "$bin"
orig=
orig_swaps=$(awk 'NR > 1 { printf "%s ", $1 }' /proc/swaps)

# shellcheck disable=SC2317 # called from the traps below
cleanup() {
	pkill -KILL -f "$bin/tree_probe" 2>/dev/null
	# A temporary swap device that a failed check left behind.
	# shellcheck disable=SC2013 # one device name per line, no blanks
	for dev in $(awk 'NR > 1 { print $1 }' /proc/swaps); do
		case " $orig_swaps" in *" $dev "*) continue ;; esac
		case $dev in
		/dev/zram*) swapoff "$dev"
			echo 1 > "/sys/block/${dev#/dev/}/reset"
			echo "${dev#/dev/zram}" > /sys/class/zram-control/hot_remove ;;
		*/avl_swap.*) swapoff "$dev"; rm -f "$dev" ;;
		esac
	done 2>/dev/null
	if [ -n "$orig" ] && [ "$(cat "$knob")" != "$orig" ]; then
		echo "$orig" > "$knob"
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

n=0
n_pass=0
n_fail=0
why=

bad() {
	why="${why:+$why; }$*"
}

report() {
	n=$((n + 1))
	if [ -z "$why" ]; then
		echo "ok $n $1"
		n_pass=$((n_pass + 1))
		return
	fi
	echo "not ok $n $1"
	echo "# $why"
	sed 's/^/#   /' "$work/out" 2>/dev/null
	n_fail=$((n_fail + 1))
	why=
	pkill -KILL -f "$bin/tree_probe" 2>/dev/null
	[ -n "$orig" ] && echo "$orig" > "$knob"
}

# skip_check DESCRIPTION REASON
skip_check() {
	n=$((n + 1))
	echo "ok $n $1 # SKIP $2"
	n_pass=$((n_pass + 1))
}

finish() {
	echo "$n_pass passed, $n_fail failed"
	[ "$n_fail" = 0 ]
	exit
}

if [ "$(id -u)" != 0 ] || [ ! -w "$knob" ]; then
	for what in "binary killed" "runner killed" "lock"; do
		skip_check "$what" "needs root and $knob"
	done
	finish
fi

make -s -C "$top/test/tree" > "$work/build" 2>&1 || {
	echo "not ok 1 build test/tree/tree_probe"
	sed 's/^/#   /' "$work/build"
	echo "0 passed, 1 failed"
	exit 1
}
cp "$top/test/tree/tree_probe" "$bin/"
orig=$(cat "$knob")
new=$((orig + 7))

# SIGINT reaches a background job only if it is not ignored on entry, as it
# is for asynchronous lists of a non-interactive shell: the probe and the
# runner start with its default action (coreutils env 8.31 and later).
int_default=
if env --default-signal=INT true 2>/dev/null; then
	int_default=--default-signal=INT
fi

# Live (not zombie) processes of the probe.
probe_left() {
	for p in $(pgrep -f "$bin/tree_probe"); do
		st=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -c1)
		[ -n "$st" ] && [ "$st" != Z ] && printf ' %s' "$p"
	done
}

# Start COMMAND... in the background (pid in $bg) with the probe's
# environment; wait until the probe's test holds its tree.
start() {
	rm -f "$work/pids"
	# shellcheck disable=SC2086 # empty or one word
	env $int_default AVL_PROBE_PIDS="$work/pids" AVL_PROBE_KNOB="$knob=$new" \
		AVL_PROBE_SECONDS=20 "$@" > "$work/out" 2>&1 &
	bg=$!
	i=0
	while [ ! -s "$work/pids" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -s "$work/pids" ] || { bad "the probe never started"; return 1; }
	[ "$(cat "$knob")" = "$new" ] || bad "the probe did not change the knob"
	# Somewhere in the middle of the test, not right at its start.
	sleep 0.$(($$ % 7 + 2))
}

# After the kill: within 5 s nothing of the probe lives and the knob is back.
all_gone() {
	i=0
	while [ $i -lt 50 ]; do
		left=$(probe_left)
		[ -z "$left" ] && [ "$(cat "$knob")" = "$orig" ] && break
		sleep 0.1
		i=$((i + 1))
	done
	[ -z "$left" ] || bad "alive after 5 s:$left ($(ps -o pid=,ppid=,pgid=,stat= -p "${left# }"))"
	[ "$(cat "$knob")" = "$orig" ] || bad "knob $(cat "$knob"), was $orig"
	while [ $i -lt 50 ] && [ "$(swaps)" != "$orig_swaps" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(swaps)" = "$orig_swaps" ] || bad "swap devices now: $(swaps), were: $orig_swaps"
	wait "$bg" 2>/dev/null
}

swaps() {
	awk 'NR > 1 { printf "%s ", $1 }' /proc/swaps
}

for sig in KILL TERM INT; do
	if [ $sig = INT ] && [ -z "$int_default" ]; then
		skip_check "binary killed with SIGINT" "env --default-signal unsupported"
		continue
	fi
	if start "$bin/tree_probe"; then
		kill -"$sig" "$bg"
		all_gone
	fi
	report "binary killed with SIG$sig: no process left, knob restored"
done

for sig in INT TERM KILL; do
	if [ $sig = INT ] && [ -z "$int_default" ]; then
		skip_check "run_vmtests.sh killed with SIGINT" "env --default-signal unsupported"
		continue
	fi
	if start env AVL_BIN_DIR="$bin" AVL_CATEGORIES="probe:tree_probe" \
		 AVL_LOCK_FILE="$work/lock" sh "$runner" -t probe; then
		kill -"$sig" "$bg"
		all_gone
	fi
	report "run_vmtests.sh killed with SIG$sig: no process left, knob restored"
done

# run_vmtests.sh -s: a temporary swap device while the suite runs, gone
# after a normal end, an interrupt and a SIGKILL of the runner.
for sig in none INT KILL; do
	what="run_vmtests.sh -s, $([ $sig = none ] && echo "normal end" || echo "killed with SIG$sig")"
	if [ -n "$orig_swaps" ]; then
		skip_check "$what" "swap is on already"
		continue
	fi
	if [ $sig = INT ] && [ -z "$int_default" ]; then
		skip_check "$what" "env --default-signal unsupported"
		continue
	fi
	if start env AVL_BIN_DIR="$bin" AVL_CATEGORIES="probe:tree_probe" \
		 AVL_LOCK_FILE="$work/lock" AVL_SWAP_MIB=64 \
		 AVL_PROBE_SECONDS="$([ $sig = none ] && echo 2 || echo 20)" \
		 sh "$runner" -s -t probe; then
		[ -n "$(swaps)" ] || bad "no swap device while the suite ran"
		if [ $sig = none ]; then
			wait "$bg"
			rc=$?
			[ $rc = 0 ] || bad "runner exit $rc"
			grep -q '^# temporary swap .* taken down' "$work/out" ||
				bad "no 'taken down' line"
		else
			kill -"$sig" "$bg"
		fi
		all_gone
	fi
	report "$what: swap as before, no process left, knob restored"
done

# The lock: held by a runner, a binary started beside it waits.
if start env AVL_BIN_DIR="$bin" AVL_CATEGORIES="probe:tree_probe" \
	 AVL_LOCK_FILE="$work/lock" sh "$runner" -t probe; then
	runner_pid=$bg
	AVL_LOCK_FILE="$work/lock" AVL_LOCK_WAIT=1 AVL_PROBE_PIDS="$work/pids2" \
		"$bin/tree_probe" > "$work/out2" 2>&1
	rc=$?
	[ "$rc" = 1 ] || bad "second binary exit $rc, expected 1"
	grep -q 'waiting for another anon_vma_lazy run' "$work/out2" ||
		bad "second binary did not say it waits"
	grep -q '^Bail out! the anon_vma_lazy lock' "$work/out2" ||
		bad "second binary did not bail out"
	[ ! -e "$work/pids2" ] || bad "second binary ran its test"
	bg=$runner_pid
	kill -TERM "$bg"
	all_gone
fi
report "a binary waits for the lock of a run in progress, then bails out"

finish
