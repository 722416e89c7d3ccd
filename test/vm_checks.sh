#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Checks of tools/testing/selftests/mm/anon_vma_lazy/vmtest.sh.
#
# Usage: test/vm_checks.sh [--boot]
#
# By default only the cheap checks run: option and kernel-file errors must
# exit 2 with a clear message before QEMU starts (QEMU is replaced by a stub
# that records being called). With --boot the default kernel (built and
# cached on first use, about 5 minutes) is really booted under QEMU:
#   - "-- -t fork" returns 0 and prints KTAP on stdout, the console log
#     goes to the log file, and the guest reports 2 nodes with memory,
#     swap, page_idle and KSM;
#   - the guest-side checks: has_memory 0-1, /proc/swaps, page_idle,
#     /sys/kernel/mm/ksm, no splat in the boot log;
#   - a kernel that panics (rdinit=/nonexistent) gives 125, log saved;
#   - a guest that hangs gives 124 within the timeout.
#
# Output: "ok N - ..." / "not ok N - ..." lines and "N passed, N failed".

top=$(cd "$(dirname "$0")/.." && pwd)
vmtest=$top/tools/testing/selftests/mm/anon_vma_lazy/vmtest.sh
boot=0
case ${1:-} in
--boot) boot=1 ;;
"") ;;
*) echo "usage: $0 [--boot]" >&2; exit 2 ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/avl-vm-checks.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# A QEMU stand-in that only records that it was started.
cat > "$tmp/qemu" <<EOF
#!/bin/sh
echo "\$@" >> "$tmp/qemu.called"
exit 99
EOF
chmod +x "$tmp/qemu"

n=0
passed=0
failed=0

result() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		passed=$((passed + 1))
		echo "ok $n - $2"
	else
		failed=$((failed + 1))
		echo "not ok $n - $2"
		[ -f "$tmp/err" ] && sed 's/^/# stderr: /' "$tmp/err" | head -n 20
	fi
}

# run_vmtest EXPECTED_RC STDERR_REGEX DESCRIPTION -- ARGS...
# The stub QEMU must not be called.
expect_early() {
	want=$1 re=$2 desc=$3
	shift 4
	rm -f "$tmp/qemu.called"
	QEMU=$tmp/qemu AVL_CACHE=$tmp/cache "$vmtest" "$@" \
		> "$tmp/out" 2> "$tmp/err" < /dev/null
	rc=$?
	ok=0
	if [ $rc -ne "$want" ]; then
		echo "# $desc: exit code $rc, want $want"
		ok=1
	fi
	if ! grep -qE "$re" "$tmp/err"; then
		echo "# $desc: stderr does not match /$re/"
		ok=1
	fi
	if [ -f "$tmp/qemu.called" ]; then
		echo "# $desc: QEMU was started"
		ok=1
	fi
	result $ok "$desc"
}

printf 'this is not a kernel\n' > "$tmp/text-kernel"
head -c 4096 /dev/zero > "$tmp/zero-kernel"

"$vmtest" -h > "$tmp/out" 2> "$tmp/err"
rc=$?
ok=0
[ $rc -eq 0 ] || ok=1
for w in '-k, --kernel' '-K, --ksrc' '--kasan' '--coverage ' '--coverage-diff' \
	 '-m, --memory' '-c, --cpus' \
	 '-n, --nodes' '-p, --append' '-t, --timeout' '-i, --interactive' \
	 '-l, --log' '^  124 ' '^  125 ' '^  2 ' '^  4 '; do
	grep -qe "$w" "$tmp/out" || { echo "# -h lacks '$w'"; ok=1; }
done
result $ok "vmtest.sh -h documents options and exit codes, exits 0"

expect_early 2 'not found: /nonexistent/bzImage' \
	"missing -k file: exit 2 before QEMU" -- -k /nonexistent/bzImage
expect_early 2 'not an x86 bzImage' \
	"text file as -k: exit 2 before QEMU" -- -k "$tmp/text-kernel"
expect_early 2 'not an x86 bzImage' \
	"zero-filled file as -k: exit 2 before QEMU" -- -k "$tmp/zero-kernel"
expect_early 2 'not found: /nonexistent/bzImage' \
	"missing -k file with runner arguments: exit 2" \
	-- -k /nonexistent/bzImage -- -t fork
expect_early 2 'unknown option' \
	"unknown option: exit 2 before QEMU" -- --no-such-option
expect_early 2 'needs an argument' \
	"-k without an argument: exit 2" -- -k
expect_early 2 'bad --memory' \
	"bad memory size: exit 2" -- -m lots -k "$tmp/text-kernel"
expect_early 2 'exclude each other' \
	"-k with -K: exit 2" -- -k "$tmp/text-kernel" -K /nonexistent
expect_early 2 'run_vmtests.sh rejects' \
	"arguments run_vmtests.sh rejects: exit 2 before building or booting" \
	-- -- -t no_such_category
expect_early 2 'kernel source not found' \
	"-K of a missing tree: exit 2" -- -K /nonexistent/linux
expect_early 2 'does not apply to -k' \
	"--coverage with -k (a kernel without .gcno files): exit 2" \
	-- --coverage -k "$tmp/text-kernel"
expect_early 2 'cannot read /nonexistent.patch' \
	"--coverage-diff of a missing patch: exit 2" \
	-- --coverage-diff /nonexistent.patch

# --bisect, with a QEMU stand-in that plays a guest: it writes what the
# real one would to the console and KTAP files (FAKE_GUEST says what
# happens), so every mapping is checked without booting anything.
cat > "$tmp/fakeguest" <<'EOF'
#!/bin/sh
con= ktap=
for a in "$@"; do
	case $a in
	file,id=con,path=*) con=${a#file,id=con,path=} ;;
	file,id=ktap,path=*) ktap=${a#file,id=ktap,path=} ;;
	esac
done
mark=@@AVL-VMTEST
echo "Linux version 6.12.0-fake" > "$con"
case $FAKE_GUEST in
panic_boot) echo "Kernel panic - not syncing: fake" >> "$con"; exit 0 ;;
hang_boot) exec sleep 60 ;;
esac
echo "$mark START uptime=1.0" >> "$ktap"
echo "$mark runner start" >> "$con"
case $FAKE_GUEST in
panic_run) echo "Kernel panic - not syncing: fake" >> "$con"; exit 0 ;;
hang_run) exec sleep 60 ;;
pass) rc=0 ;;
fail) rc=1 ;;
skip) rc=4 ;;
warn) rc=0; echo "WARNING: CPU: 0 PID: 1 at mm/rmap.c:1 fake+0x0/0x1" >> "$con" ;;
esac
echo "$mark runner end rc=$rc" >> "$con"
echo "$mark EXIT rc=$rc uptime=2.0" >> "$ktap"
exit 0
EOF
chmod +x "$tmp/fakeguest"
# A file that passes vmtest.sh's bzImage checks: "HdrS" at 0x202, 64-bit
# xloadflags at 0x236.
head -c 4096 /dev/zero > "$tmp/fake-bzImage"
printf HdrS | dd of="$tmp/fake-bzImage" bs=1 seek=514 conv=notrunc 2>/dev/null
printf '\001' | dd of="$tmp/fake-bzImage" bs=1 seek=566 conv=notrunc 2>/dev/null
mkdir -p "$tmp/nobins"

# bisect_check GUEST WANT DESCRIPTION [vmtest args...]
bisect_check() {
	guest=$1 want=$2 desc=$3
	shift 3
	FAKE_GUEST=$guest QEMU=$tmp/fakeguest AVL_CACHE=$tmp/cache \
		"$vmtest" --bisect -k "$tmp/fake-bzImage" -B "$tmp/nobins" -t 5 \
		-l "$tmp/bisect.log" "$@" > "$tmp/out" 2> "$tmp/err" < /dev/null
	rc=$?
	ok=0
	if [ $rc -ne "$want" ]; then
		echo "# --bisect, $desc: exit code $rc, want $want"
		ok=1
	fi
	grep -q "bisect: vmtest.sh exit code" "$tmp/err" ||
		{ echo "# --bisect, $desc: no bisect line on stderr"; ok=1; }
	result $ok "--bisect: $desc: $want"
}

if command -v "${BUSYBOX:-busybox}" > /dev/null 2>&1; then
	bisect_check pass 0 "the suite passed"
	bisect_check fail 1 "a test failed"
	bisect_check warn 1 "a WARNING in the guest log"
	bisect_check panic_run 1 "a panic while the suite ran"
	bisect_check hang_run 1 "a hang while the suite ran"
	bisect_check skip 125 "every test skipped"
	bisect_check panic_boot 125 "a panic before the suite started"
	bisect_check hang_boot 125 "a hang before the suite started"
	bisect_check pass 128 "a usage error" --no-such-option
	QEMU=/nonexistent/qemu AVL_CACHE=$tmp/cache "$vmtest" --bisect \
		-k "$tmp/fake-bzImage" -B "$tmp/nobins" \
		> "$tmp/out" 2> "$tmp/err" < /dev/null
	[ $? -eq 125 ]
	result $? "--bisect: a host-side failure (no QEMU): 125"
else
	n=$((n + 1))
	passed=$((passed + 1))
	echo "ok $n - --bisect # SKIP no busybox for the initramfs"
fi

if [ $boot -eq 1 ]; then
	log=$tmp/guest.log
	"$vmtest" -l "$log" -- -t fork > "$tmp/out" 2> "$tmp/err"
	rc=$?
	ok=0
	[ $rc -eq 0 ] || { echo "# -- -t fork: exit code $rc"; ok=1; }
	grep -q '^TAP version' "$tmp/out" || { echo "# no KTAP header on stdout"; ok=1; }
	grep -qE '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$tmp/out" ||
		{ echo "# no summary line on stdout"; ok=1; }
	grep -q 'Linux version' "$tmp/out" && { echo "# kernel console on stdout"; ok=1; }
	grep -q 'Linux version' "$log" || { echo "# kernel console not in the log file"; ok=1; }
	result $ok "real boot: -- -t fork returns 0, KTAP on stdout, console in the log"

	ok=0
	for w in 'nodes with memory 0-1' 'swap /dev/zram0 [0-9]* MiB prio 10, /dev/vda [0-9]* MiB prio 10' \
		'page_idle yes' 'ksm yes'; do
		grep -q "$w" "$tmp/err" || { echo "# guest report lacks '$w'"; ok=1; }
	done
	grep -q 'kernel log (boot) has' "$tmp/err" && { echo "# splat in the boot log"; ok=1; }
	result $ok "guest: 2 nodes with memory, swap on zram and disk at one priority, page_idle, ksm, clean boot log"

	rm -f "$tmp/err"
	"$vmtest" -l "$tmp/panic.log" -p rdinit=/nonexistent -x true \
		> "$tmp/out" 2> "$tmp/err"
	rc=$?
	ok=0
	[ $rc -eq 125 ] || { echo "# panic: exit code $rc, want 125"; ok=1; }
	grep -q 'Kernel panic' "$tmp/panic.log" || { echo "# panic not in the log"; ok=1; }
	result $ok "kernel panic at boot: exit 125, log saved"

	"$vmtest" -l "$tmp/crash.log" -x 'echo c > /proc/sysrq-trigger' \
		> "$tmp/out" 2> "$tmp/err"
	rc=$?
	ok=0
	[ $rc -eq 125 ] || { echo "# sysrq-c: exit code $rc, want 125"; ok=1; }
	grep -q 'sysrq triggered crash' "$tmp/crash.log" || { echo "# crash not in the log"; ok=1; }
	result $ok "kernel crash during the run (sysrq-c): exit 125"

	ok=0
	grep -q '^Bail out! ' "$tmp/out" || { echo "# no Bail out! line on stdout"; ok=1; }
	result $ok "a crash ends the KTAP on stdout with Bail out!"

	"$vmtest" -l "$tmp/warn.log" -x \
		'echo "WARNING: CPU: 1 PID: 1 at mm/rmap.c:1 vm_checks+0x0/0x1" > /dev/kmsg' \
		> "$tmp/out" 2> "$tmp/err"
	rc=$?
	ok=0
	[ $rc -eq 1 ] || { echo "# WARNING in the log: exit code $rc, want 1"; ok=1; }
	grep -q 'kernel log (during the run) has' "$tmp/err" ||
		{ echo "# the WARNING was not reported"; ok=1; }
	result $ok "a WARNING in the guest log that the runner missed: exit 1"

	start=$(date +%s)
	"$vmtest" -l "$tmp/hang.log" -t 30 -x 'sleep 1000' > "$tmp/out" 2> "$tmp/err"
	rc=$?
	took=$(($(date +%s) - start))
	ok=0
	[ $rc -eq 124 ] || { echo "# hang: exit code $rc, want 124"; ok=1; }
	[ $took -le 45 ] || { echo "# hang: took $took s for a 30 s timeout"; ok=1; }
	result $ok "hanging guest: exit 124 within the timeout ($took s)"

	"$vmtest" -l "$tmp/rc0.log" -x 'exit 0' \
		> "$tmp/out" 2> "$tmp/err"
	rc=$?
	ok=0
	[ $rc -eq 0 ] || { echo "# -x 'exit 0': exit code $rc"; ok=1; }
	"$vmtest" -l "$tmp/rc.log" -x 'exit 4' > "$tmp/out" 2> "$tmp/err"
	[ $? -eq 4 ] || { echo "# -x 'exit 4' did not give 4"; ok=1; }
	result $ok "the guest command's exit code is passed through"
fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
