#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run the anon_vma_lazy selftests by category and report KTAP.
#
# POSIX sh on purpose: it also runs under busybox ash in the QEMU initramfs
# that vmtest.sh builds. Every system knob a test may touch is saved first
# and restored on EXIT, INT, TERM and HUP, and every test binary runs in its
# own process group so an interrupted or timed out test leaves nothing
# behind. As root, the kernel log and the taint flags are checked around
# each binary as a safety net for the tests' own checks.
#
# Environment (test hooks, used by test/runner_checks.sh):
#   AVL_BIN_DIR=DIR     look up the test binaries in DIR instead of the
#                       directory of this script
#   AVL_CATEGORIES="category:binary[:destructive] ..."
#                       replace the built-in category table
#   AVL_TIMEOUT=SECONDS per-binary timeout instead of the settings file
#                       (0: no timeout)
#   AVL_VERBOSE=1       list every saved knob and its value
#   AVL_LOCK_FILE=FILE  the lock that keeps root runs apart (default
#                       /run/anon_vma_lazy.lock, /tmp without /run)
#   AVL_LOCK_WAIT=SECONDS  how long to wait for another run (default 900)
# Exported to the test binaries:
#   AVL_DESTRUCTIVE=1   only with -d; unset otherwise
#   AVL_RUNNER_PID=PID  this runner: a binary's tree guard kills the
#                       binary and its test processes when the runner
#                       dies, even by SIGKILL (tree_guard.h), and the
#                       binary leaves the lock to the runner

# The category table, in run order: one "category:binary" entry per line,
# "category:binary:destructive" for a category that runs only with -d.
# To add a category, add its line here and its binary to TEST_GEN_PROGS.
categories_builtin='
	fork:fork_chain
	fork_pinned:fork_pinned
	split:split
	merge:merge
	mremap:mremap
	ksm:ksm
	ksm_numa:ksm_numa
	migrate:migrate
	migrate_thp:migrate_thp
	reclaim:reclaim
	swap:swap
	uffd_move:uffd_move
	uffd_wp:uffd_wp
	accounting:accounting
	stress:anon_vma_stress
	memory_failure:memory_failure:destructive
	fault:fault
'

# kselftest exit codes
ksft_pass=0
ksft_fail=1
ksft_skip=4

me=${0##*/}
script_dir=$(cd "$(dirname "$0")" && pwd) || exit $ksft_fail
categories=${AVL_CATEGORIES-$categories_builtin}
bin_dir=${AVL_BIN_DIR:-$script_dir}

# Kernel log lines that mean the kernel itself is unhappy: the tests' own
# list (klog_patterns.h, installed beside this script) as one grep -E
# pattern for dmesg lines ("[ time] message"), in $kernel_bad.
klog_patterns() {
	kernel_bad=
	sed -n -e 's/^KLOG_AT_START("\(.*\)")$/S \1/p' \
	       -e 's/^KLOG_ANYWHERE("\(.*\)")$/A \1/p' "$1" |
		sed 's/[][\.*^$()+?{}|]/\\&/g' > "$tmp/klog_patterns"
	while read -r where text; do
		[ "$where" = S ] && text="(^|\\] )$text"
		kernel_bad="${kernel_bad:+$kernel_bad|}$text"
	done < "$tmp/klog_patterns"
	[ -n "$kernel_bad" ]
}

usage() {
	cat <<EOF
Usage: $me [-a] [-d] [-s] [-l] [-t CATEGORY]... [-h]

Run the anon_vma_lazy selftests and report KTAP.

  -t CATEGORY  run this category (repeatable, runs in the order given)
  -a           run every non-destructive category (the default)
  -d           also run destructive categories, and export
               AVL_DESTRUCTIVE=1 to the tests
  -s           as root with no swap on: set up a temporary swap device
               (zram, else a swap file in \$AVL_SWAP_DIR, default
               /var/tmp; \$AVL_SWAP_MIB MiB, default 1024) for the run, so
               that the pageout walks and swap tests run; taken down at exit
  -l           list what would run (category and binary), run nothing
  -h           show this help

Categories:
EOF
	for e in $categories; do
		parse_entry "$e"
		if [ "$e_flag" = destructive ]; then
			printf '  %-12s %s (destructive, needs -d)\n' "$e_cat" "$e_bin"
		else
			printf '  %-12s %s\n' "$e_cat" "$e_bin"
		fi
	done
	cat <<EOF

Exit status: 0 pass, 1 failure, 4 everything skipped, 2 usage error.
EOF
}

# Split "category:binary[:flag]" into e_cat, e_bin and e_flag.
parse_entry() {
	e_cat=${1%%:*}
	e_bin=${1#*:}
	e_flag=
	case $e_bin in
	*:*)
		e_flag=${e_bin#*:}
		e_bin=${e_bin%%:*}
		;;
	esac
}

lookup_category() {
	for e in $categories; do
		parse_entry "$e"
		[ "$e_cat" = "$1" ] && return 0
	done
	return 1
}

# Options are validated before anything is touched: a typo changes nothing.
opt_all=0
opt_destructive=0
opt_list=0
opt_swap=0
selected=
while getopts adlsht: opt; do
	case $opt in
	a) opt_all=1 ;;
	d) opt_destructive=1 ;;
	s) opt_swap=1 ;;
	l) opt_list=1 ;;
	h) usage; exit 0 ;;
	t) selected="$selected $OPTARG" ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [ $# -ne 0 ]; then
	echo "$me: unexpected argument: $1" >&2
	usage >&2
	exit 2
fi

for e in $categories; do
	case $e in
	?*:?*) ;;
	*) echo "$me: bad category table entry: $e" >&2; exit 2 ;;
	esac
done

# The run list: entries "category:binary:flag", flag "skip" marks an
# explicitly requested destructive category without -d.
runlist=
if [ $opt_all = 1 ] || [ -z "$selected" ]; then
	for e in $categories; do
		parse_entry "$e"
		if [ "$e_flag" = destructive ] && [ $opt_destructive = 0 ]; then
			continue
		fi
		runlist="$runlist $e_cat:$e_bin:"
	done
else
	seen=' '
	for c in $selected; do
		if ! lookup_category "$c"; then
			echo "$me: unknown category: $c" >&2
			usage >&2
			exit 2
		fi
		case $seen in *" $c "*) continue ;; esac
		seen="$seen$c "
		flag=
		if [ "$e_flag" = destructive ] && [ $opt_destructive = 0 ]; then
			flag=skip
		fi
		runlist="$runlist $e_cat:$e_bin:$flag"
	done
fi

if [ $opt_list = 1 ]; then
	for e in $runlist; do
		parse_entry "$e"
		[ "$e_flag" = skip ] && continue
		echo "$e_cat $e_bin"
	done
	exit 0
fi

# Per-binary timeout: kselftest's settings file, overridable for tests.
timeout_s=180
if [ -r "$script_dir/settings" ]; then
	t=$(sed -n 's/^timeout=\([0-9][0-9]*\).*/\1/p' "$script_dir/settings" | tail -n 1)
	[ -n "$t" ] && timeout_s=$t
fi
if [ -n "${AVL_TIMEOUT+set}" ]; then
	case $AVL_TIMEOUT in
	'' | *[!0-9]*) echo "$me: AVL_TIMEOUT must be a number: $AVL_TIMEOUT" >&2; exit 2 ;;
	esac
	timeout_s=$AVL_TIMEOUT
fi

if [ $opt_destructive = 1 ]; then
	AVL_DESTRUCTIVE=1
	export AVL_DESTRUCTIVE
else
	unset AVL_DESTRUCTIVE
fi
AVL_RUNNER_PID=$$
export AVL_RUNNER_PID

uid=$(id -u 2>/dev/null || echo unknown)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/avl_run.XXXXXX") || {
	echo "$me: cannot create a temporary directory" >&2
	exit $ksft_fail
}
if ! klog_patterns "$script_dir/klog_patterns.h"; then
	echo "$me: no kernel-log patterns in $script_dir/klog_patterns.h" >&2
	rm -rf "$tmp"
	exit $ksft_fail
fi

# ---- knobs -----------------------------------------------------------------

# Print the knobs the tests may touch. ksm/run is restored last (see
# restore_knobs), whatever its place here.
knob_list() {
	for f in /sys/kernel/mm/ksm/*; do
		[ "$f" = /sys/kernel/mm/ksm/run ] || echo "$f"
	done
	for f in enabled defrag shmem_enabled use_zero_page; do
		echo "/sys/kernel/mm/transparent_hugepage/$f"
	done
	for f in /sys/kernel/mm/transparent_hugepage/khugepaged/* \
		 /sys/kernel/mm/transparent_hugepage/hugepages-*/enabled; do
		echo "$f"
	done
	for f in swappiness overcommit_memory memory_failure_early_kill \
		 compact_unevictable_allowed max_map_count; do
		echo "/proc/sys/vm/$f"
	done
	echo /proc/sys/kernel/numa_balancing
	echo /sys/kernel/mm/ksm/run
}

# Read knob $1 into $kv, with a builtin for sysfs (there are dozens of
# knobs), with cat for /proc/sys: sysctls read byte by byte (as the read
# builtin does) return only the first byte.
# THP files read like "always [madvise] never": the bracketed word is the
# value to write back.
knob_read() {
	kv=
	case $1 in
	/proc/*) kv=$(cat "$1" 2>/dev/null) || return 1 ;;
	*) { read -r kv < "$1"; } 2>/dev/null || [ -n "$kv" ] || return 1 ;;
	esac
	case $kv in
	*\[*\]*) kv=${kv#*\[}; kv=${kv%%\]*} ;;
	esac
}

knob_write() {
	{ printf '%s\n' "$2" > "$1"; } 2>/dev/null
}

# Only knobs writable by their mode bits: root passes access(W_OK) even on
# read-only sysfs counters, so [ -w ] cannot tell. One ls for all of them.
save_knobs() {
	# shellcheck disable=SC2046,SC2012 # knob paths have no blanks
	ls -ld $(knob_list) 2>/dev/null |
	while read -r mode _ _ _ _ _ _ _ f; do
		case $mode in ??w*) ;; *) continue ;; esac
		[ -f "$f" ] || continue
		knob_read "$f" || continue
		case $kv in *' '* | '') continue ;; esac
		printf '%s %s\n' "$f" "$kv"
	done > "$tmp/knobs"
}

restore_knobs() {
	[ -s "$tmp/knobs" ] || return 0
	ksm_run_saved=
	ksm_busy=
	while read -r f v; do
		if [ "$f" = /sys/kernel/mm/ksm/run ]; then
			ksm_run_saved=$v
			continue
		fi
		knob_read "$f" || continue
		cur=$kv
		[ "$cur" = "$v" ] && continue
		if knob_write "$f" "$v"; then
			echo "# restored $f=$v (was $cur)"
			continue
		fi
		case $f in
		/sys/kernel/mm/ksm/*) ksm_busy="$ksm_busy $f=$v" ;;
		*) echo "# cannot restore $f=$v (is $cur)" ;;
		esac
	done < "$tmp/knobs"
	# merge_across_nodes and max_page_sharing refuse changes (EBUSY)
	# while pages are merged: unmerge everything, then retry.
	if [ -n "$ksm_busy" ]; then
		knob_write /sys/kernel/mm/ksm/run 2
		for fv in $ksm_busy; do
			if knob_write "${fv%%=*}" "${fv#*=}"; then
				echo "# restored $fv after unmerging KSM pages"
			else
				echo "# cannot restore $fv"
			fi
		done
	fi
	if [ -n "$ksm_run_saved" ]; then
		knob_read /sys/kernel/mm/ksm/run
		cur=$kv
		if [ "$cur" != "$ksm_run_saved" ]; then
			if knob_write /sys/kernel/mm/ksm/run "$ksm_run_saved"; then
				echo "# restored /sys/kernel/mm/ksm/run=$ksm_run_saved (was $cur)"
			else
				echo "# cannot restore /sys/kernel/mm/ksm/run=$ksm_run_saved (is $cur)"
			fi
		fi
	fi
}

# ---- a temporary swap device (-s) ----------------------------------------------

# With -s, as root and without any swap on: a zram device made for the run
# (hot_add), else a swap file, so that the pageout walks and the swap tests
# run on an ordinary machine. Taken down again by cleanup() on every exit,
# INT, TERM and HUP, and by a watcher process if the runner is SIGKILLed.
swap_dev=
swap_zram=
swap_file=
swap_watcher=

swap_teardown() {
	[ -n "$swap_dev" ] || return 0
	if [ -n "$swap_watcher" ]; then
		kill -KILL "$swap_watcher" 2>/dev/null
		wait "$swap_watcher" 2>/dev/null
		swap_watcher=
	fi
	swapoff "$swap_dev" 2>/dev/null
	if [ -n "$swap_zram" ]; then
		echo 1 > "/sys/block/zram$swap_zram/reset" 2>/dev/null
		echo "$swap_zram" > /sys/class/zram-control/hot_remove 2>/dev/null
	fi
	[ -n "$swap_file" ] && rm -f "$swap_file"
	if grep -q "^$swap_dev " /proc/swaps 2>/dev/null; then
		echo "# cannot take down the temporary swap $swap_dev"
	else
		echo "# temporary swap $swap_dev taken down"
	fi
	swap_dev=
}

# The same teardown from a process of its own, in case the runner is killed
# with SIGKILL (no trap runs then).
swap_watch() {
	runner=$$
	(
		trap '' INT TERM HUP
		while kill -0 "$runner" 2>/dev/null; do
			sleep 1
		done
		swap_watcher=
		swap_teardown
	) < /dev/null > /dev/null 2>&1 9>&- &
	swap_watcher=$!
}

swap_setup() {
	if [ "$uid" != 0 ]; then
		echo "# -s: not root, no temporary swap: the swap tests skip"
		return 0
	fi
	if [ "$(wc -l < /proc/swaps 2>/dev/null)" -gt 1 ]; then
		echo "# -s: swap is on already, none added"
		return 0
	fi
	if ! have swapon || ! have mkswap; then
		echo "# -s: no swapon/mkswap: the swap tests skip"
		return 0
	fi
	if [ -w /sys/class/zram-control/hot_add ] || modprobe zram num_devices=0 2>/dev/null; then
		swap_zram=$(cat /sys/class/zram-control/hot_add 2>/dev/null)
	fi
	if [ -n "$swap_zram" ]; then
		swap_dev=/dev/zram$swap_zram
		i=0
		while [ ! -b "$swap_dev" ] && [ $i -lt 20 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		if ! echo "${AVL_SWAP_MIB:-1024}M" > "/sys/block/zram$swap_zram/disksize" 2>/dev/null ||
		   ! mkswap "$swap_dev" > /dev/null 2>&1; then
			echo "# -s: zram$swap_zram unusable, trying a swap file"
			swap_teardown
			swap_zram=
		fi
	fi
	if [ -z "$swap_dev" ]; then
		swap_file=$(mktemp "${AVL_SWAP_DIR:-/var/tmp}/avl_swap.XXXXXX") || {
			echo "# -s: cannot create a swap file: the swap tests skip"
			return 0
		}
		swap_dev=$swap_file
		chmod 600 "$swap_file"
		if ! dd if=/dev/zero of="$swap_file" bs=1M count="${AVL_SWAP_MIB:-1024}" 2>/dev/null ||
		   ! mkswap "$swap_file" > /dev/null 2>&1; then
			echo "# -s: cannot write a swap file in ${AVL_SWAP_DIR:-/var/tmp}: the swap tests skip"
			swap_teardown
			return 0
		fi
	fi
	swap_watch
	if ! err=$(swapon "$swap_dev" 2>&1); then
		echo "# -s: swapon $swap_dev refused (${err##*: }): the swap tests skip"
		swap_teardown
		return 0
	fi
	echo "# temporary swap for this run: $swap_dev, ${AVL_SWAP_MIB:-1024} MiB"
}

# ---- running one binary ------------------------------------------------------

test_pid=
reader_pid=
watchdog_pid=
current=

# Kill the test's whole process group (its pid, thanks to setsid). Signal
# the pid alone too in case it has not reached setsid() yet.
stop_test() {
	[ -n "$test_pid" ] || return 0
	kill -TERM -"$test_pid" 2>/dev/null
	kill -TERM "$test_pid" 2>/dev/null
	sleep 1
	kill -KILL -"$test_pid" 2>/dev/null
	kill -KILL "$test_pid" 2>/dev/null
	wait "$test_pid" 2>/dev/null
	test_pid=
	if [ -n "$watchdog_pid" ]; then
		kill -KILL "$watchdog_pid" 2>/dev/null
		wait "$watchdog_pid" 2>/dev/null
		watchdog_pid=
	fi
	# The reader ends at EOF once the test group is gone; do not hang on
	# a writer that escaped the group.
	if [ -n "$reader_pid" ]; then
		kill -KILL "$reader_pid" 2>/dev/null
		wait "$reader_pid" 2>/dev/null
		reader_pid=
	fi
}

cleaned=0
cleanup() {
	[ $cleaned = 1 ] && return 0
	cleaned=1
	stop_test
	swap_teardown
	restore_knobs
	rm -rf "$tmp"
}

# shellcheck disable=SC2317 # called from the traps below
on_signal() {
	trap '' INT TERM HUP
	echo "# interrupted by SIG$1${current:+ while running $current}"
	[ -n "$current" ] && n_failed=$((n_failed + 1))
	cleanup
	echo "Bail out! interrupted by SIG$1"
	echo "$n_passed passed, $n_failed failed, $n_skipped skipped"
	trap - EXIT
	exit "$2"
}

n_passed=0
n_failed=0
n_skipped=0
trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

have() {
	command -v "$1" >/dev/null 2>&1
}

launcher=
pgroup_note=
if have setsid; then
	launcher=setsid
else
	# Job control (it needs a tty) puts every background job in its own
	# process group; without it only the test's own pid can be killed.
	set -m 2>/dev/null
	case $- in
	*m*) ;;
	*) pgroup_note="no setsid and no job control: children of a killed test may survive" ;;
	esac
fi
use_timeout=0
if [ "$timeout_s" -gt 0 ] && have timeout; then
	launcher="$launcher timeout -k 10 $timeout_s"
	use_timeout=1
fi

kmsg=0
if [ "$uid" = 0 ] && [ -w /dev/kmsg ] && [ -r /dev/kmsg ] &&
   dmesg >/dev/null 2>&1; then
	kmsg=1
fi

kmsg_mark() {
	[ $kmsg = 1 ] || return 0
	echo "avl_run_vmtests_$$_$1" > /dev/kmsg 2>/dev/null
}

tainted() {
	cat /proc/sys/kernel/tainted 2>/dev/null || echo unknown
}

# Kill process $1 once it has run $2 seconds: its process group and it
# with TERM, then KILL $3 seconds later (at once for 0). In the
# background; its pid in $watchdog.
watch_process() {
	(
		i=0
		while [ $i -lt "$2" ]; do
			sleep 1
			kill -0 "$1" 2>/dev/null || exit 0
			i=$((i + 1))
		done
		if [ "$3" -gt 0 ]; then
			kill -TERM -"$1" 2>/dev/null || kill -TERM "$1" 2>/dev/null
			sleep "$3"
		fi
		kill -KILL -"$1" 2>/dev/null || kill -KILL "$1" 2>/dev/null
	) > /dev/null 2>&1 9>&- &
	watchdog=$!
}

# Wait for child $1, killing it after $2 seconds; false if it was killed.
wait_bounded() {
	watch_process "$1" "$2" 0
	wb_pid=$watchdog
	wait "$1"
	wb_rc=$?
	kill -KILL "$wb_pid" 2>/dev/null
	wait "$wb_pid" 2>/dev/null
	[ $wb_rc -ne 137 ]
}

# Count result lines of a binary that died before its Totals line.
count_lines() {
	c=$(grep -c "$1" "$2" 2>/dev/null)
	echo "${c:-0}"
}

# Run binary $2 of category $1 as test number $3, print its output nested
# and its result line, and add up its test cases.
run_binary() {
	name=$1:$2
	path=$bin_dir/$2
	current=$name

	if [ "$4" = skip ]; then
		echo "ok $3 $name # SKIP destructive, needs -d"
		n_skipped=$((n_skipped + 1))
		nb_skip=$((nb_skip + 1))
		current=
		return
	fi
	if [ ! -e "$path" ]; then
		echo "not ok $3 $name # binary missing: $path"
		n_failed=$((n_failed + 1))
		nb_fail=$((nb_fail + 1))
		current=
		return
	fi
	if [ ! -f "$path" ] || [ ! -x "$path" ]; then
		echo "not ok $3 $name # binary not executable: $path"
		n_failed=$((n_failed + 1))
		nb_fail=$((nb_fail + 1))
		current=
		return
	fi

	log=$tmp/log
	fifo=$tmp/fifo
	rm -f "$log" "$fifo"
	: > "$log"
	mkfifo "$fifo" || {
		echo "not ok $3 $name # cannot create a fifo in $tmp"
		n_failed=$((n_failed + 1))
		nb_fail=$((nb_fail + 1))
		current=
		return
	}

	# Nest the output as it comes, keep a copy to read Totals from.
	while IFS= read -r line || [ -n "$line" ]; do
		printf '# %s\n' "$line"
		printf '%s\n' "$line" >> "$log"
	done < "$fifo" 9>&- &
	reader_pid=$!

	taint_before=$(tainted)
	kmsg_mark "${3}_begin"
	started=$(date +%s)
	# shellcheck disable=SC2086 # $launcher is a command prefix
	$launcher "$path" < /dev/null > "$fifo" 2>&1 9>&- &
	test_pid=$!
	if [ $use_timeout = 0 ] && [ "$timeout_s" -gt 0 ]; then
		watch_process "$test_pid" "$timeout_s" 10
		watchdog_pid=$watchdog
	fi
	wait "$test_pid"
	rc=$?
	elapsed=$(($(date +%s) - started))
	# Leftovers of the test (and of busybox timeout's watcher) must not
	# outlive it: they hold the fifo open and may hold memory.
	kill -KILL -"$test_pid" 2>/dev/null
	test_pid=
	if [ -n "$watchdog_pid" ]; then
		kill -KILL "$watchdog_pid" 2>/dev/null
		wait "$watchdog_pid" 2>/dev/null
		watchdog_pid=
	fi
	if ! wait_bounded "$reader_pid" 10; then
		echo "# output still open 10s after the test ended: a process escaped its process group"
	fi
	reader_pid=
	kmsg_mark "${3}_end"
	taint_after=$(tainted)

	# Test cases: from the Totals line, else from the result lines seen.
	totals=$(sed -n 's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\) xfail:\([0-9]*\) xpass:\([0-9]*\) skip:\([0-9]*\) error:\([0-9]*\).*/\1 \2 \3 \4 \5 \6/p' "$log" | tail -n 1)
	if [ -n "$totals" ]; then
		# shellcheck disable=SC2086 # split into the six counters
		set -- "$@" $totals
		c_pass=$(($5 + $7 + $8))
		c_fail=$(($6 + ${10}))
		c_skip=$9
	else
		c_skip=$(count_lines '^ok .*# *SKIP' "$log")
		c_pass=$(($(count_lines '^ok ' "$log") - c_skip))
		c_fail=$(count_lines '^not ok ' "$log")
	fi

	reasons=
	# GNU timeout exits 124; busybox timeout and the watchdog leave the
	# test killed by TERM (or KILL after the grace period).
	if [ "$timeout_s" -gt 0 ] && { [ $rc -eq 124 ] ||
	   { [ $elapsed -ge "$timeout_s" ] &&
	     { [ $rc -eq 143 ] || [ $rc -eq 137 ]; }; }; }; then
		reasons="TIMEOUT $timeout_s seconds"
		c_fail=$((c_fail + 1))
	elif [ $rc -ne $ksft_pass ] && [ $rc -ne $ksft_skip ]; then
		if [ $rc -gt 128 ]; then
			reasons="killed by signal $((rc - 128))"
		else
			reasons="exit=$rc"
		fi
		[ "$c_fail" -eq 0 ] && c_fail=1
	elif [ "$c_fail" -gt 0 ]; then
		reasons="exit=$rc but $c_fail test cases failed"
	fi

	if [ $kmsg = 1 ]; then
		dmesg 2>/dev/null |
			sed -n "/avl_run_vmtests_$$_${3}_begin/,/avl_run_vmtests_$$_${3}_end/p" |
			grep -E "$kernel_bad" > "$tmp/kernel_bad"
		if [ -s "$tmp/kernel_bad" ]; then
			sed 's/^/# kernel: /' "$tmp/kernel_bad"
			first=$(head -n 1 "$tmp/kernel_bad" | sed 's/^\[[^]]*\] *//')
			reasons="${reasons:+$reasons; }kernel log: $first"
			c_fail=$((c_fail + 1))
		fi
	fi
	if [ "$taint_before" != "$taint_after" ]; then
		echo "# kernel taint changed from $taint_before to $taint_after"
		reasons="${reasons:+$reasons; }taint $taint_before -> $taint_after"
		c_fail=$((c_fail + 1))
	fi

	n_passed=$((n_passed + c_pass))
	n_failed=$((n_failed + c_fail))
	n_skipped=$((n_skipped + c_skip))
	sed -n 's/^ok [0-9]* [^#]*# *SKIP *//p' "$log" >> "$tmp/skip_reasons"

	if [ -n "$reasons" ]; then
		echo "not ok $3 $name # $reasons"
		nb_fail=$((nb_fail + 1))
	elif [ $rc -eq $ksft_skip ] || { [ "$c_pass" -eq 0 ] && [ "$c_skip" -gt 0 ]; }; then
		why=$(sed -n 's/.*# *SKIP *//p' "$log" | head -n 1)
		echo "ok $3 $name # SKIP${why:+ $why}"
		nb_skip=$((nb_skip + 1))
		# A binary that skipped before its plan still counts once.
		[ "$c_skip" -eq 0 ] && n_skipped=$((n_skipped + 1))
	else
		echo "ok $3 $name"
		nb_pass=$((nb_pass + 1))
	fi
	current=
}

# ---- one run at a time --------------------------------------------------------

# Two root runs at once would save each other's knob changes as the values
# to restore, and the KSM tests would merge each other's pages. The lock is
# the open file 9, held until we exit; neither the tests nor the runner's
# own background helpers (output reader, watchdogs) inherit it, so that a
# test that escaped its group, or a watchdog's last "sleep 1", cannot keep
# it after we exit.
take_lock() {
	if ! have flock; then
		echo "# no flock: another run at the same time is not kept out"
		return 0
	fi
	lock_file=${AVL_LOCK_FILE:-}
	if [ -z "$lock_file" ]; then
		lock_file=/tmp/anon_vma_lazy.lock
		[ -d /run ] && [ -w /run ] && lock_file=/run/anon_vma_lazy.lock
	fi
	lock_wait=${AVL_LOCK_WAIT:-900}
	if ! ( : >> "$lock_file" ) 2>/dev/null; then
		echo "# cannot open $lock_file: another run at the same time is not kept out"
		return 0
	fi
	exec 9>> "$lock_file"
	flock -n 9 && return 0
	echo "# another anon_vma_lazy run holds $lock_file: waiting up to ${lock_wait}s"
	flock -w "$lock_wait" 9 && return 0
	echo "Bail out! another anon_vma_lazy run held $lock_file for ${lock_wait}s"
	echo "0 passed, 0 failed, 0 skipped"
	exit $ksft_fail
}

# ---- main --------------------------------------------------------------------

plan=0
for e in $runlist; do
	plan=$((plan + 1))
done

echo "TAP version 13"
echo "1..$plan"
echo "# kernel: $(uname -r 2>/dev/null) $(uname -m 2>/dev/null)"
if [ "$uid" = 0 ]; then
	echo "# running as root"
	take_lock
	save_knobs
	if [ -s "$tmp/knobs" ]; then
		echo "# saved $(wc -l < "$tmp/knobs") knobs (KSM, THP, vm sysctls), restored on exit"
		[ "${AVL_VERBOSE:-0}" = 1 ] &&
			sed 's/^\([^ ]*\) \(.*\)$/# saved knob \1=\2/' "$tmp/knobs"
	else
		echo "# no knobs found to save"
	fi
	if [ $kmsg = 1 ]; then
		echo "# kernel log and taint checked around each binary"
	else
		echo "# /dev/kmsg or dmesg unusable: kernel log not checked"
	fi
else
	echo "# not running as root (uid $uid): knobs not saved, root-only tests skip"
fi
[ -n "$pgroup_note" ] && echo "# $pgroup_note"
echo "# timeout per binary: ${timeout_s}s${AVL_DESTRUCTIVE:+, destructive tests enabled}"
[ $opt_swap = 1 ] && swap_setup

nb_pass=0
nb_fail=0
nb_skip=0
n=0
for e in $runlist; do
	n=$((n + 1))
	parse_entry "$e"
	run_binary "$e_cat" "$e_bin" "$n" "$e_flag"
done

# Why test cases skipped, most common reason first.
if [ -s "$tmp/skip_reasons" ]; then
	echo "# skipped test cases by reason:"
	sort "$tmp/skip_reasons" | uniq -c | sort -rn |
		sed 's/^ *\([0-9]*\) /#   \1  /'
	[ $opt_swap = 1 ] || ! grep -q 'swap' "$tmp/skip_reasons" ||
		echo "# -s sets up a temporary swap device for the swap tests"
	echo "# vmtest.sh (make vm: QEMU with 2 NUMA nodes, swap and a debug kernel) runs them all"
fi

# Restore before the closing line so that it stays the last line.
trap '' INT TERM HUP
cleanup
trap - EXIT

echo "$n_passed passed, $n_failed failed, $n_skipped skipped"
if [ $nb_fail -gt 0 ] || [ $n_failed -gt 0 ]; then
	exit $ksft_fail
fi
if [ $nb_pass -eq 0 ] && [ $nb_skip -gt 0 ]; then
	exit $ksft_skip
fi
exit $ksft_pass
