#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Checks of tools/testing/selftests/mm/anon_vma_lazy/run_vmtests.sh with
# fake test binaries: small shell scripts that print kselftest KTAP and exit
# like kselftest_harness programs (0 pass, 1 fail, 4 skip).
#
# The runner's test hooks used here (documented in the runner's header):
#   AVL_BIN_DIR     directory of the fake binaries
#   AVL_CATEGORIES  fake category table, "category:binary[:destructive] ..."
#   AVL_TIMEOUT     per-binary timeout in seconds
# and AVL_CHECK_DIR, passed through the runner to the fakes, where they
# leave their pids and "ready" flags.
#
# Every check runs under dash and under busybox sh; the busybox run gets a
# PATH holding only busybox applets, as in the QEMU initramfs. The timeout
# and signal checks run once more without a timeout command, which the
# runner then replaces with its own watchdog. As root the
# checks also write real knobs (/sys/kernel/mm/ksm/sleep_millisecs,
# /sys/kernel/mm/transparent_hugepage/enabled) through a fake test, and a
# fake WARNING line to /dev/kmsg; the knobs are restored by a trap here even
# if the runner fails to. Not root: those checks report SKIP.
#
# Output: "ok N description" / "not ok N description" per check, then
# "N passed, N failed" alone on the last line. Exit 1 if a check failed.

top=$(cd "$(dirname "$0")/.." && pwd) || exit 1
runner=$top/tools/testing/selftests/mm/anon_vma_lazy/run_vmtests.sh
ksm_sleep=/sys/kernel/mm/ksm/sleep_millisecs
thp_enabled=/sys/kernel/mm/transparent_hugepage/enabled

work=$(mktemp -d "${TMPDIR:-/tmp}/avl_runner_checks.XXXXXX") || exit 1
bin=$work/bin
state=$work/state
mkdir -p "$bin" "$state"
chmod 755 "$work" "$bin"
chmod 777 "$state"

uid=$(id -u)

thp_read() {
	v=$(cat "$thp_enabled" 2>/dev/null) || return 1
	v=${v#*\[}
	echo "${v%%\]*}"
}

# ---- knobs guard ---------------------------------------------------------------

orig_sleep=
orig_thp=
if [ "$uid" = 0 ]; then
	orig_sleep=$(cat "$ksm_sleep" 2>/dev/null)
	orig_thp=$(thp_read)
fi

kill_fakes() {
	for f in "$state"/*_pids; do
		[ -r "$f" ] || continue
		read -r p1 p2 < "$f"
		kill -KILL "$p1" "$p2" 2>/dev/null
	done
}

cleanup() {
	kill_fakes
	if [ -n "$orig_sleep" ] && [ "$(cat "$ksm_sleep")" != "$orig_sleep" ]; then
		echo "$orig_sleep" > "$ksm_sleep"
	fi
	if [ -n "$orig_thp" ] && [ "$(thp_read)" != "$orig_thp" ]; then
		echo "$orig_thp" > "$thp_enabled"
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Values the fake tests write: different from the current ones, and as
# harmless as possible for anything else running on this machine.
new_sleep=
new_thp=
if [ -n "$orig_sleep" ]; then
	new_sleep=$((orig_sleep + 7))
fi
case $orig_thp in
always) new_thp=madvise ;;
'') ;;
*) new_thp=always ;;
esac

# ---- fake test binaries --------------------------------------------------------

fake() {
	{
		echo '#!/bin/sh'
		cat
	} > "$bin/$1"
	chmod 755 "$bin/$1"
}

fake fake_pass <<'EOF'
echo "TAP version 13"
echo "1..3"
echo "#  RUN           fix.base.one ..."
echo "ok 1 fix.base.one"
echo "ok 2 fix.thp.one"
echo "ok 3 fix.thp.two # SKIP THP disabled"
echo "# Totals: pass:2 fail:0 xfail:0 xpass:0 skip:1 error:0"
exit 0
EOF

fake fake_fail <<'EOF'
echo "TAP version 13"
echo "1..2"
echo "ok 1 fix.base.one"
echo "# fork_chain.c:12:one:Expected 1 (1) == 2 (2)"
echo "not ok 2 fix.base.two"
echo "# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:0 error:0"
exit 1
EOF

fake fake_skip <<'EOF'
echo "TAP version 13"
echo "1..2"
echo "ok 1 fix.base.one # SKIP needs root"
echo "ok 2 fix.base.two # SKIP needs root"
echo "# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:2 error:0"
exit 4
EOF

fake fake_crash <<'EOF'
echo "TAP version 13"
echo "1..3"
echo "ok 1 fix.base.one"
kill -SEGV $$
EOF

# Marks that it ran: "nothing run" checks look for the mark.
fake fake_touch <<'EOF'
: > "$AVL_CHECK_DIR/touch_ran"
echo "TAP version 13"
echo "1..1"
echo "ok 1 fix.base.touch"
echo "# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0"
EOF

# Tells whether it inherited the runner's lock (file descriptor 9).
fake fake_lockfd <<'EOF'
echo "TAP version 13"
echo "1..1"
if [ -e "/proc/$$/fd/9" ]; then echo "# fd9=open"; else echo "# fd9=closed"; fi
echo "ok 1 fix.base.lockfd"
echo "# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0"
EOF

fake fake_env <<'EOF'
echo "TAP version 13"
echo "1..1"
echo "# AVL_DESTRUCTIVE=${AVL_DESTRUCTIVE-unset}"
echo "ok 1 fix.base.env"
echo "# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0"
EOF

# Touches the knobs (as root), leaves a child behind, then hangs.
fake fake_hang <<'EOF'
echo "TAP version 13"
echo "1..1"
if [ "$(id -u)" = 0 ]; then
	echo "$AVL_CHECK_SLEEP" > /sys/kernel/mm/ksm/sleep_millisecs
	echo "$AVL_CHECK_THP" > /sys/kernel/mm/transparent_hugepage/enabled
fi
sleep 1000 &
echo "$$ $!" > "$AVL_CHECK_DIR/hang_pids"
: > "$AVL_CHECK_DIR/hang_ready"
echo "#  RUN           fix.base.hang ..."
wait
EOF

fake fake_slow <<'EOF'
echo "TAP version 13"
echo "1..1"
sleep 1000 &
echo "$$ $!" > "$AVL_CHECK_DIR/slow_pids"
wait
EOF

# Changes a knob and passes: the runner must still restore it.
fake fake_knob <<'EOF'
echo "TAP version 13"
echo "1..1"
echo "$AVL_CHECK_SLEEP" > /sys/kernel/mm/ksm/sleep_millisecs
echo "ok 1 fix.base.knob"
echo "# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0"
EOF

fake fake_warn <<'EOF'
echo "avl runner_checks: the next WARNING line is fake, written by a test" > /dev/kmsg
echo "WARNING: CPU: 0 PID: 1 at mm/rmap.c" > /dev/kmsg
echo "TAP version 13"
echo "1..1"
echo "ok 1 fix.base.warn"
echo "# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0"
EOF

fake fake_noexec <<'EOF'
exit 0
EOF
chmod 644 "$bin/fake_noexec"

# A copy of the runner beside a settings file, for the settings timeout.
mkdir -p "$work/rt"
cp "$runner" "$(dirname "$runner")/klog_patterns.h" "$work/rt/"
echo "timeout=1" > "$work/rt/settings"
chmod -R a+rX "$work"

# busybox applets only, as in the initramfs
bbdir=$work/bb
mkdir -p "$bbdir"
have_busybox=0
if busybox --install -s "$bbdir" 2>/dev/null; then
	have_busybox=1
fi

# SIGINT reaches a background job only if it is not ignored on entry, as it
# is for asynchronous lists of a non-interactive shell.
int_default=
if env --default-signal=INT true 2>/dev/null; then
	int_default=--default-signal=INT
fi

# ---- reporting -------------------------------------------------------------------

n=0
n_pass=0
n_fail=0
n_skip=0
why=

bad() {
	why="${why:+$why; }$*"
}

report() {
	n=$((n + 1))
	if [ -z "$why" ]; then
		echo "ok $n $shname: $1"
		n_pass=$((n_pass + 1))
		return
	fi
	echo "not ok $n $shname: $1"
	echo "# $why"
	echo "# runner exit $rc, stdout:"
	sed 's/^/#   /' "$work/out" 2>/dev/null
	echo "# stderr:"
	sed 's/^/#   /' "$work/err" 2>/dev/null
	n_fail=$((n_fail + 1))
	why=
}

skip() {
	n=$((n + 1))
	echo "ok $n $shname: $1 # SKIP $2"
	n_skip=$((n_skip + 1))
	why=
}

# ---- running the runner ------------------------------------------------------

# R CATEGORIES [runner args...]: run the runner under the current shell,
# with $xenv (VAR=value words) added to its environment.
R() {
	cats=$1
	shift
	rm -f "$state"/*
	# shellcheck disable=SC2086 # $shcmd and $xenv are word lists
	timeout -s KILL 40 env PATH="$shpath" AVL_BIN_DIR="$bin" \
		AVL_CATEGORIES="$cats" AVL_CHECK_DIR="$state" AVL_VERBOSE=1 $xenv \
		$shcmd "${script:-$runner}" "$@" > "$work/out" 2> "$work/err"
	rc=$?
}

expect_rc() {
	[ "$rc" = "$1" ] || bad "exit $rc, expected $1"
}

has() {
	grep -qF -- "$1" "$work/out" || bad "stdout lacks '$1'"
}

has_not() {
	! grep -qF -- "$1" "$work/out" || bad "stdout has '$1'"
}

err_has() {
	grep -qF -- "$1" "$work/err" || bad "stderr lacks '$1'"
}

out_empty() {
	[ ! -s "$work/out" ] || bad "stdout not empty"
}

err_empty() {
	[ ! -s "$work/err" ] || bad "stderr not empty"
}

last_is() {
	l=$(tail -n 1 "$work/out")
	[ "$l" = "$1" ] || bad "last line '$l', expected '$1'"
}

not_ran() {
	[ ! -e "$state/touch_ran" ] || bad "a test ran"
}

# TAP version, plan, then only "# " nested or diagnostic lines and result
# lines (as many as planned, unless bailed out), and the closing line last.
ktap_valid() {
	awk '
		NR == 1 { if ($0 != "TAP version 13") bad = "line 1: " $0; next }
		NR == 2 { if ($0 !~ /^1\.\.[0-9]+$/) bad = "no plan: " $0; plan = substr($0, 4); next }
		{ last = $0 }
		/^# / { next }
		/^(not )?ok [0-9]+ / { results++; next }
		/^Bail out!/ { bail = 1; next }
		/^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$/ { closing = NR; next }
		{ if (!bad) bad = "stray line: " $0 }
		END {
			if (!bad && closing != NR) bad = "closing line not last"
			if (!bad && !bail && results != plan) bad = results " results, plan " plan
			if (bad) { print bad; exit 1 }
		}' "$work/out" > "$work/ktap" || bad "bad KTAP: $(cat "$work/ktap")"
}

knobs_restored() {
	[ "$uid" = 0 ] || return 0
	[ -z "$orig_sleep" ] || [ "$(cat "$ksm_sleep")" = "$orig_sleep" ] ||
		bad "sleep_millisecs $(cat "$ksm_sleep"), was $orig_sleep"
	[ -z "$orig_thp" ] || [ "$(thp_read)" = "$orig_thp" ] ||
		bad "THP enabled $(thp_read), was $orig_thp"
}

alive() {
	[ -r "/proc/$1/stat" ] || return 1
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$st" ] && [ "$st" != Z ]
}

# The fake's processes must be gone (allow init a moment to reap).
fakes_dead() {
	[ -r "$state/$1_pids" ] || { bad "no $1_pids"; return; }
	i=0
	while [ $i -lt 20 ]; do
		left=
		read -r p1 p2 < "$state/$1_pids"
		for p in $p1 $p2; do
			alive "$p" && left="$left $p"
		done
		[ -z "$left" ] && return
		sleep 0.1
		i=$((i + 1))
	done
	bad "fake test processes alive:$left"
}

# Start the runner with fake_hang, wait until the fake has changed the knobs,
# send SIG$1 to the runner alone and expect exit $2.
interrupt_check() {
	rm -f "$state"/*
	# shellcheck disable=SC2086 # $shcmd is a word list
	env $int_default PATH="$shpath" AVL_BIN_DIR="$bin" \
		AVL_CATEGORIES="h:fake_hang" AVL_CHECK_DIR="$state" \
		AVL_CHECK_SLEEP="$new_sleep" AVL_CHECK_THP="$new_thp" \
		$shcmd "$runner" > "$work/out" 2> "$work/err" &
	rpid=$!
	i=0
	while [ ! -e "$state/hang_ready" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -e "$state/hang_ready" ] || bad "fake test never started"
	if [ "$uid" = 0 ] && [ -n "$new_sleep" ]; then
		[ "$(cat "$ksm_sleep")" = "$new_sleep" ] ||
			bad "fake test did not change sleep_millisecs"
	fi
	kill -"$1" "$rpid"
	( sleep 15; kill -KILL "$rpid" ) > /dev/null 2>&1 &
	wd=$!
	wait "$rpid"
	rc=$?
	kill -KILL "$wd" 2>/dev/null
	expect_rc "$2"
	knobs_restored
	fakes_dead hang
	has "Bail out! interrupted by SIG$1"
	last_is "0 passed, 1 failed, 0 skipped"
	ktap_valid
	kill_fakes
}

# ---- the checks --------------------------------------------------------------------

# checks [timeout]: all checks, or only those about timeouts, knob
# restore and signals.
checks() {
	xenv=
	script=
	[ "${1-}" = timeout ] && { timeout_and_signal_checks; return; }

	R "p:fake_pass" -h
	expect_rc 0; has "Usage:"; has "-t CATEGORY"; err_empty
	report "-h prints usage on stdout and exits 0"

	R "a:fake_touch" -x
	expect_rc 2; out_empty; err_has "Usage:"; not_ran
	report "unknown option: usage on stderr, exit 2, nothing run"

	R "a:fake_touch" -t nosuch
	expect_rc 2; out_empty; err_has "unknown category: nosuch"; not_ran
	report "unknown category: exit 2, nothing run"

	R "a:fake_touch" -t a -t nosuch
	expect_rc 2; out_empty; not_ran
	report "unknown category among known ones: nothing run"

	R "a:fake_touch" extra
	expect_rc 2; out_empty; not_ran
	report "stray argument: exit 2, nothing run"

	R "a:fake_touch b:fake_pass c:fake_env:destructive" -l
	expect_rc 0; not_ran; err_empty
	[ "$(cat "$work/out")" = "a fake_touch
b fake_pass" ] || bad "list differs"
	report "-l lists category and binary, runs nothing"

	R "a:fake_touch b:fake_pass c:fake_env:destructive" -l -d
	expect_rc 0; not_ran
	[ "$(cat "$work/out")" = "a fake_touch
b fake_pass
c fake_env" ] || bad "list differs"
	report "-l -d lists destructive categories too"

	R "a:fake_touch b:fake_pass" -l -t b
	expect_rc 0
	[ "$(cat "$work/out")" = "b fake_pass" ] || bad "list differs"
	report "-l -t lists only the selected category"

	R "p:fake_pass"
	expect_rc 0; ktap_valid
	has "1..1"; has "ok 1 p:fake_pass"; has "# ok 1 fix.base.one"
	has "# kernel: $(uname -r)"
	if [ "$uid" = 0 ]; then
		has "# running as root"
		[ -z "$orig_sleep" ] || has "# saved knob $ksm_sleep=$orig_sleep"
		[ -z "$orig_thp" ] || has "# saved knob $thp_enabled=$orig_thp"
		has_not "# restored"
	else
		has "# not running as root"
	fi
	last_is "2 passed, 0 failed, 1 skipped"
	report "pass: nested output, header, ok line, closing line, exit 0"

	R "p:fake_pass f:fake_fail"
	expect_rc 1; ktap_valid
	has "ok 1 p:fake_pass"; has "not ok 2 f:fake_fail # exit=1"
	last_is "3 passed, 1 failed, 1 skipped"
	report "fail: not ok line, counts, exit 1"

	R "s:fake_skip"
	expect_rc 4; ktap_valid
	has "ok 1 s:fake_skip # SKIP"
	last_is "0 passed, 0 failed, 2 skipped"
	report "all skipped: ok # SKIP, exit 4"

	R "s:fake_skip p:fake_pass"
	expect_rc 0; last_is "2 passed, 0 failed, 3 skipped"
	report "skip and pass: exit 0"

	R "c:fake_crash"
	expect_rc 1; ktap_valid
	has "not ok 1 c:fake_crash # killed by signal 11"
	last_is "1 passed, 1 failed, 0 skipped"
	report "crash without Totals: counted as a failure"

	R "m:fake_missing x:fake_noexec p:fake_pass"
	expect_rc 1; ktap_valid
	has "not ok 1 m:fake_missing # binary missing: $bin/fake_missing"
	has "not ok 2 x:fake_noexec # binary not executable"
	has "ok 3 p:fake_pass"
	last_is "2 passed, 2 failed, 1 skipped"
	report "missing or non-executable binary is a FAIL"

	R "a:fake_touch b:fake_pass" -t b
	expect_rc 0; ktap_valid; not_ran
	has "1..1"; has "ok 1 b:fake_pass"
	report "-t runs only the selected category"

	R "a:fake_pass b:fake_env" -t b -t a -t b
	expect_rc 0; ktap_valid
	has "1..2"; has "ok 1 b:fake_env"; has "ok 2 a:fake_pass"
	report "-t keeps the given order and drops repeats"

	R "a:fake_pass d:fake_env:destructive"
	expect_rc 0; has "1..1"; has_not "fake_env"
	report "destructive category not run by default"

	R "d:fake_env:destructive" -t d
	expect_rc 4; ktap_valid
	has "ok 1 d:fake_env # SKIP destructive, needs -d"
	has_not "AVL_DESTRUCTIVE="
	report "destructive category given by -t without -d: SKIP"

	R "a:fake_pass d:fake_env:destructive" -d
	expect_rc 0; ktap_valid
	has "1..2"; has "# # AVL_DESTRUCTIVE=1"
	report "-d runs destructive categories and exports AVL_DESTRUCTIVE=1"

	xenv="AVL_DESTRUCTIVE=1"
	R "e:fake_env"
	expect_rc 0; has "# # AVL_DESTRUCTIVE=unset"
	report "without -d AVL_DESTRUCTIVE is not passed on"
	xenv=

	timeout_and_signal_checks
	lock_checks

	if [ "$uid" != 0 ] || [ ! -w /dev/kmsg ]; then
		skip "WARNING in the kernel log is a FAIL" "not root"
	else
		R "w:fake_warn p:fake_pass"
		expect_rc 1; ktap_valid
		has "not ok 1 w:fake_warn # kernel log: WARNING: CPU: 0 PID: 1 at mm/rmap.c"
		has "# kernel: "
		has "ok 2 p:fake_pass"
		last_is "3 passed, 1 failed, 1 skipped"
		report "WARNING in the kernel log is a FAIL"
	fi
}

# Root runs exclude each other through a lock (flock, which busybox lacks).
lock_checks() {
	if [ "$uid" != 0 ] || ! PATH=$shpath command -v flock >/dev/null; then
		skip "a second root run waits for the lock, then bails out" \
			"not root or no flock"
		return
	fi
	lock=$work/lock
	rm -f "$lock"
	flock -o "$lock" sleep 60 &
	holder=$!
	i=0
	while flock -n "$lock" true && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	xenv="AVL_LOCK_FILE=$lock AVL_LOCK_WAIT=1"
	R "a:fake_touch"
	expect_rc 1; ktap_valid; not_ran
	has "# another anon_vma_lazy run holds $lock: waiting up to 1s"
	has "Bail out! another anon_vma_lazy run held $lock for 1s"
	last_is "0 passed, 0 failed, 0 skipped"
	report "a second root run waits for the lock, then bails out"
	pkill -KILL -P "$holder" 2>/dev/null	# its sleep
	kill "$holder"
	wait "$holder" 2>/dev/null

	R "l:fake_lockfd"
	expect_rc 0; ktap_valid
	has "# # fd9=closed"
	has_not "another anon_vma_lazy run"
	flock -n "$lock" true || bad "lock still held after the run"
	report "free lock: taken, not passed to tests, released at exit"
	xenv=
}

timeout_and_signal_checks() {
	xenv="AVL_TIMEOUT=1"
	t0=$(date +%s)
	R "t:fake_slow p:fake_pass"
	t1=$(date +%s)
	expect_rc 1; ktap_valid
	has "not ok 1 t:fake_slow # TIMEOUT 1 seconds"; has "ok 2 p:fake_pass"
	last_is "2 passed, 1 failed, 1 skipped"
	fakes_dead slow
	[ $((t1 - t0)) -lt 10 ] || bad "took $((t1 - t0)) s"
	report "AVL_TIMEOUT: timeout is a FAIL, test tree killed"
	xenv=

	script=$work/rt/run_vmtests.sh
	R "t:fake_slow"
	expect_rc 1
	has "not ok 1 t:fake_slow # TIMEOUT 1 seconds"
	last_is "0 passed, 1 failed, 0 skipped"
	fakes_dead slow
	report "settings timeout=1: timeout is a FAIL"
	script=

	if [ "$uid" != 0 ] || [ -z "$orig_sleep" ]; then
		skip "knob changed by a passing test is restored" "not root or no KSM"
	else
		xenv="AVL_CHECK_SLEEP=$new_sleep"
		R "k:fake_knob"
		expect_rc 0; knobs_restored; ktap_valid
		has "# restored $ksm_sleep=$orig_sleep (was $new_sleep)"
		last_is "1 passed, 0 failed, 0 skipped"
		report "knob changed by a passing test is restored"
		xenv=
	fi

	interrupt_check TERM 143
	report "SIGTERM mid-run: knobs restored, test tree killed, exit 143"

	if [ -n "$int_default" ]; then
		interrupt_check INT 130
		report "SIGINT mid-run: knobs restored, test tree killed, exit 130"
	else
		skip "SIGINT mid-run" "env --default-signal unsupported"
	fi
}

shname=dash
shcmd=dash
shpath=$PATH
if command -v dash > /dev/null; then
	checks
else
	skip "all checks" "dash not installed"
fi

shname=busybox
shcmd="$bbdir/sh"
shpath=$bbdir
if [ $have_busybox = 1 ]; then
	checks
else
	skip "all checks" "busybox not installed"
fi

# Without a timeout command the runner falls back on its own watchdog.
shname=busybox-no-timeout
shpath=$work/bb-no-timeout
if [ $have_busybox = 1 ]; then
	mkdir -p "$shpath"
	busybox --install -s "$shpath"
	rm -f "$shpath/timeout"
	shcmd="$shpath/sh"
	checks timeout
else
	skip "timeout checks" "busybox not installed"
fi

[ $n_skip -gt 0 ] && echo "# $n_skip skipped"
echo "$n_pass passed, $n_fail failed"
[ $n_fail -eq 0 ]
