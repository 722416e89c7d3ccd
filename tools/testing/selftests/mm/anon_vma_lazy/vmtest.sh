#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a kernel under QEMU and run the anon_vma_lazy selftests inside it.
#
# The guest has 2 vCPUs on 2 NUMA nodes that both have memory, swap (zram and
# a virtio disk at the same priority, so that the kernel alternates between a
# synchronous device and one with a swap cache and readahead; the disk alone
# when the kernel has no zram) and a minimal initramfs made of
# busybox-static, the statically linked test binaries, run_vmtests.sh and its
# settings. The runner's KTAP comes out on stdout, the guest kernel console
# goes to a log file, diagnostics go to stderr, and the exit code is the
# suite's. See usage() for options and exit codes.
#
# Three serial ports keep the streams apart:
#   ttyS0  kernel console (and the interactive shell)  -> log file
#   ttyS1  runner stdout (KTAP) and an exit-code marker -> stdout
#   ttyS2  runner stderr and guest-side checks         -> stderr
# and with --coverage a fourth brings the counters home:
#   ttyS3  the .gcda files of the run, tar.gz, base64  -> the report

set -u -o pipefail

readonly SELF=${0##*/}
SUITE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) || exit 126
readonly SUITE_DIR
# The suite lives at tools/testing/selftests/mm/anon_vma_lazy of a kernel
# tree (or of this project's sparse tree).
TREE_TOP=$(cd "$SUITE_DIR/../../../../.." && pwd) || exit 126
readonly TREE_TOP
AVL_CACHE=${AVL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/anon_vma_lazy}
export AVL_CACHE

# Exit codes (documented in usage()).
# 4 (all skipped) only ever comes from the runner, passed through.
readonly EXIT_PASS=0 EXIT_FAIL=1 EXIT_USAGE=2
readonly EXIT_TIMEOUT=124 EXIT_CRASH=125 EXIT_HOST=126

# Markers the guest init writes on ttyS1 and into the kernel log.
readonly MARK=@@AVL-VMTEST

# Options and their defaults.
kernel=
ksrc=
kasan=0
mem=2G
cpus=2
nodes=2
append=
timeout_s=
interactive=0
logfile=
bin_dir=${AVL_BIN_DIR:-}
swap=auto
swap_mib=1024
accel=${AVL_ACCEL:-auto}
jobs=$(nproc 2>/dev/null || echo 2)
build_only=0
guest_cmd=
coverage=0
coverage_diff=
kernel_src=
runner_args=()

usage() {
	cat <<EOF
Usage: $SELF [options] [-- run_vmtests.sh arguments]

Boot a kernel under QEMU and run run_vmtests.sh inside it, passing it the
arguments after "--" (default: -a). Example:
  $SELF -- -t fork              build/boot the default kernel, run one category
  $SELF -k arch/x86/boot/bzImage -- -a

Kernel (one of):
  -k, --kernel PATH     boot this x86_64 bzImage as it is
  -K, --ksrc DIR        build a kernel from the source tree DIR (allnoconfig +
                        the guest options + this suite's config), incrementally,
                        in \$AVL_CACHE/kernel-<hash>/
  (neither)             build the default debug kernel (DEBUG_VM and friends)
                        from the kernel tree around this directory, or else from
                        Debian's linux-source-6.12 unpacked in \$AVL_CACHE;
                        cached by a hash of the whole configuration input, so
                        only the first run builds (about 5 minutes)
      --kasan           build the KASAN variant of the kernel (with -K or default);
                        the per-binary timeout is four times the settings file's
      --coverage        build a GCOV variant (with -K or default) that counts
                        the lines of the mm files in coverage-focus.txt; the
                        counters are reset right before the suite starts and
                        turned into a report after it (below)
      --coverage-diff PATCH
                        --coverage, and for every executable line PATCH (a
                        unified diff, e.g. "git diff v6.12.." of a series or
                        a kernel mutant) adds or changes in an instrumented
                        file: whether it ran
  -j, --jobs N          make -j for kernel and test builds (default: $jobs)
  -b, --build-only      build the kernel and the tests, print the bzImage path,
                        do not boot
      --bisect          exit codes for "git bisect run" (below)

Guest:
  -m, --memory SIZE     guest RAM, split evenly over the nodes (default: $mem;
                        suffix M or G, plain numbers are MiB)
  -c, --cpus N          vCPUs (default: $cpus)
  -n, --nodes N         NUMA nodes, each with memory (default: $nodes)
  -s, --swap KIND       auto (zram and a virtio disk, at the same priority;
                        the disk alone without zram), both (the same, both
                        required), zram, disk or none (default: $swap)
  -p, --append ARGS     extra kernel command line
  -t, --timeout SEC     kill the guest after SEC seconds (default: 300 plus
                        the settings timeout for each test binary; none with -i)
  -i, --interactive     drop to a busybox shell on the console instead of
                        running the suite (run /avl/run_vmtests.sh by hand;
                        "poweroff -f" or Ctrl-a x ends QEMU)
  -x, --exec CMD        run "sh -c CMD" in the guest instead of run_vmtests.sh
                        (its stdout and exit code are treated as the suite's)
  -B, --bin-dir DIR     take the statically linked test binaries from DIR
                        instead of building them (also: \$AVL_BIN_DIR)
  -l, --log FILE        guest kernel log (default: \$AVL_CACHE/logs/<time>-<pid>.log,
                        with \$AVL_CACHE/logs/latest.log pointing at it)
  -A, --accel KIND      auto, kvm or tcg (default: auto: KVM only when
                        /proc/cpuinfo has vmx/svm and a KVM guest starts)
  -h, --help            this text

A distribution kernel boots too (-k /boot/vmlinuz-...), but the initramfs has
no modules, so what it builds as modules (zram, virtio_blk, hwpoison_inject)
is missing, and Debian's lacks IDLE_PAGE_TRACKING, DEBUG_VM and
/proc/config.gz: the tests that need them skip.

Cache (\$AVL_CACHE, default ~/.cache/anon_vma_lazy):
  kernel-<hash>/        O= build directory of one kernel configuration:
                        avl.fragment (the KCONFIG_ALLCONFIG input), avl.source,
                        build.log, arch/x86/boot/bzImage
  selftests-static-N/   the statically linked test binaries (make O=), one
                        directory per source tree
  logs/                 guest kernel logs, latest.log is the newest
  coverage/<time>/      a --coverage report: summary.txt (per file and per
                        focus function), diff.txt (--coverage-diff), gcov/
                        (gcov's JSON), coverage.info (lcov), html/ (with
                        genhtml); coverage/latest points at the newest

The guest kernel command line always has console=ttyS0 panic=-1 oops=panic
(and QEMU runs with -no-reboot), so an Oops ends the VM at once; WARN does
not panic: the runner sees the WARNING in the kernel log and fails the test
that produced it. After the run the whole guest log is scanned too.

Exit codes:
  0    the suite passed
  1    the suite failed, or it passed but the guest kernel log has a WARNING
       or BUG (at boot, during the run or at shutdown)
  2    usage error: bad option, missing or corrupt kernel file, arguments
       run_vmtests.sh rejects (all found before QEMU starts)
  4    every test was skipped
  124  timeout: the guest was killed after --timeout seconds
  125  the guest kernel crashed (panic, Oops, BUG) or never got to run the
       suite; the log file holds the console output
  126  host-side failure: kernel or test build failed, QEMU or busybox missing

With --bisect, for "git bisect run" (125 = skip this commit, 1-127 = bad,
above 127 = stop bisecting):
  0    the suite passed
  1    a test failed, a WARNING/BUG in the log, a crash or a hang once the
       suite had started
  125  the kernel did not build or did not boot to the suite (crash or hang
       before it), a host-side failure, or every test was skipped
  128  usage error, or vmtest.sh was interrupted: the bisection stops

Environment: AVL_CACHE (default ~/.cache/anon_vma_lazy), AVL_BIN_DIR,
AVL_ACCEL, QEMU (default qemu-system-x86_64), BUSYBOX (default: busybox).
EOF
}

say() { echo "$SELF: $*" >&2; }
die() { local code=$1; shift; say "$*"; exit "$code"; }
usage_error() { say "$*"; say "try '$SELF -h'"; exit $EXIT_USAGE; }

need_arg() {
	[ "$2" -ge 2 ] || usage_error "option $1 needs an argument"
}

parse_args() {
	while [ $# -gt 0 ]; do
		case $1 in
		-k|--kernel) need_arg "$1" $#; kernel=$2; shift 2 ;;
		-K|--ksrc) need_arg "$1" $#; ksrc=$2; shift 2 ;;
		--kasan) kasan=1; shift ;;
		--coverage) coverage=1; shift ;;
		--coverage-diff) need_arg "$1" $#; coverage=1
			coverage_diff=$2; shift 2 ;;
		-j|--jobs) need_arg "$1" $#; jobs=$2; shift 2 ;;
		-b|--build-only) build_only=1; shift ;;
		--bisect) shift ;;	# handled before main(), see the end
		-m|--memory) need_arg "$1" $#; mem=$2; shift 2 ;;
		-c|--cpus) need_arg "$1" $#; cpus=$2; shift 2 ;;
		-n|--nodes) need_arg "$1" $#; nodes=$2; shift 2 ;;
		-s|--swap) need_arg "$1" $#; swap=$2; shift 2 ;;
		-p|--append) need_arg "$1" $#; append="$append $2"; shift 2 ;;
		-t|--timeout) need_arg "$1" $#; timeout_s=$2; shift 2 ;;
		-i|--interactive) interactive=1; shift ;;
		-x|--exec) need_arg "$1" $#; guest_cmd=$2; shift 2 ;;
		-B|--bin-dir) need_arg "$1" $#; bin_dir=$2; shift 2 ;;
		-l|--log) need_arg "$1" $#; logfile=$2; shift 2 ;;
		-A|--accel) need_arg "$1" $#; accel=$2; shift 2 ;;
		-h|--help) usage; exit $EXIT_PASS ;;
		--) shift; runner_args=("$@"); break ;;
		*) usage_error "unknown option or argument: $1" ;;
		esac
	done
	[ ${#runner_args[@]} -gt 0 ] || runner_args=(-a)

	local n
	for n in "$cpus" "$nodes" "$jobs" "$swap_mib"; do
		[[ $n =~ ^[1-9][0-9]*$ ]] || usage_error "not a positive number: $n"
	done
	if [ -n "$timeout_s" ]; then
		[[ $timeout_s =~ ^[1-9][0-9]*$ ]] ||
			usage_error "--timeout wants seconds, got: $timeout_s"
	fi
	case $mem in
	*[gG]) mem_mib=${mem%[gG]}; [[ $mem_mib =~ ^[1-9][0-9]*$ ]] &&
		mem_mib=$((mem_mib * 1024)) ;;
	*[mM]) mem_mib=${mem%[mM]} ;;
	*) mem_mib=$mem ;;
	esac
	[[ $mem_mib =~ ^[1-9][0-9]*$ ]] || usage_error "bad --memory: $mem"
	[ $((mem_mib / nodes)) -ge 128 ] ||
		usage_error "--memory $mem is too small for $nodes nodes"
	case $swap in auto|both|zram|disk|none) ;;
	*) usage_error "bad --swap: $swap (auto, both, zram, disk or none)" ;;
	esac
	case $accel in auto|kvm|tcg) ;;
	*) usage_error "bad --accel: $accel (auto, kvm or tcg)" ;;
	esac
	[ -z "$kernel" ] || [ -z "$ksrc" ] ||
		usage_error "-k and -K exclude each other"
	[ -z "$kernel" ] || [ $kasan -eq 0 ] ||
		usage_error "--kasan builds a kernel; it does not apply to -k"
	[ -z "$kernel" ] || [ $coverage -eq 0 ] ||
		usage_error "--coverage builds a kernel; it does not apply to -k"
	[ -z "$coverage_diff" ] || [ -r "$coverage_diff" ] ||
		usage_error "--coverage-diff: cannot read $coverage_diff"
	[ $coverage -eq 0 ] || [ $interactive -eq 0 ] ||
		usage_error "--coverage and -i exclude each other"
	[ $interactive -eq 0 ] || [ -z "$guest_cmd" ] ||
		usage_error "-i and -x exclude each other"
}

# An x86 boot image carries "HdrS" at offset 0x202 of its setup header and
# says in xloadflags (0x236, bit 0) whether it has a 64-bit entry point.
check_bzimage() {
	local f=$1 magic flags
	[ -e "$f" ] || usage_error "kernel file not found: $f"
	[ -f "$f" ] && [ -r "$f" ] || usage_error "kernel file not readable: $f"
	magic=$(dd if="$f" bs=1 skip=514 count=4 2>/dev/null)
	[ "$magic" = HdrS ] ||
		usage_error "not an x86 bzImage (no HdrS boot header): $f"
	flags=$(od -An -tu1 -j 566 -N1 "$f" 2>/dev/null | tr -d ' ')
	[ -n "$flags" ] && [ $((flags & 1)) -eq 1 ] ||
		usage_error "not a 64-bit x86 kernel (xloadflags): $f"
}

# ---------------------------------------------------------------- kernel build

# Options the guest itself needs on top of allnoconfig: SMP, a PCI/ACPI
# platform with NUMA from SRAT, serial console, virtio, initramfs, the
# filesystems the init script mounts, and debugging that turns anon rmap bugs
# into loud log lines. The suite's own needs come from ./config.
guest_fragment() {
	cat <<'EOF'
CONFIG_64BIT=y
CONFIG_LOCALVERSION="-avl"
CONFIG_SMP=y
CONFIG_NR_CPUS=16
CONFIG_PRINTK=y
CONFIG_PRINTK_TIME=y
CONFIG_BUG=y
CONFIG_KALLSYMS=y
CONFIG_MULTIUSER=y
CONFIG_FUTEX=y
CONFIG_EPOLL=y
CONFIG_SIGNALFD=y
CONFIG_TIMERFD=y
CONFIG_EVENTFD=y
CONFIG_POSIX_TIMERS=y
CONFIG_FILE_LOCKING=y
CONFIG_ADVISE_SYSCALLS=y
CONFIG_MEMBARRIER=y
CONFIG_ANON_VMA_NAME=y
CONFIG_PROC_FS=y
CONFIG_PROC_SYSCTL=y
CONFIG_SYSFS=y
CONFIG_TMPFS=y
CONFIG_DEVTMPFS=y
CONFIG_BLK_DEV_INITRD=y
CONFIG_BINFMT_ELF=y
CONFIG_BINFMT_SCRIPT=y
CONFIG_TTY=y
CONFIG_SERIAL_8250=y
CONFIG_SERIAL_8250_CONSOLE=y
CONFIG_MAGIC_SYSRQ=y
CONFIG_HYPERVISOR_GUEST=y
CONFIG_PARAVIRT=y
CONFIG_KVM_GUEST=y
CONFIG_PCI=y
CONFIG_PCI_MSI=y
CONFIG_ACPI=y
CONFIG_NUMA=y
CONFIG_X86_64_ACPI_NUMA=y
CONFIG_BLOCK=y
CONFIG_BLK_DEV=y
CONFIG_VIRTIO_MENU=y
CONFIG_VIRTIO=y
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_BLK=y
CONFIG_ZRAM=y
CONFIG_ZRAM_BACKEND_LZO=y
CONFIG_X86_MCE=y
CONFIG_MEMORY_FAILURE=y
CONFIG_HWPOISON_INJECT=y
CONFIG_SLUB_DEBUG=y
CONFIG_DEBUG_KERNEL=y
CONFIG_DEBUG_FS=y
CONFIG_DEBUG_VM=y
CONFIG_DEBUG_VM_PGFLAGS=y
CONFIG_DEBUG_LIST=y
CONFIG_PAGE_TABLE_CHECK=y
CONFIG_PAGE_TABLE_CHECK_ENFORCED=y
EOF
}

# GCOV for the mm files of the focus list only: the kernel runs at nearly
# full speed. The files are named to make on its command line, so that a
# tree given with -K is never edited.
gcov_fragment() {
	cat <<'EOF'
CONFIG_GCOV_KERNEL=y
CONFIG_DEBUG_FS=y
EOF
}

# The object stems of the focus list ("rmap vma mremap ...").
coverage_stems() {
	sed -n 's/^\([a-z_-]*\)\.c:.*/\1/p' "$SUITE_DIR/coverage-focus.txt"
}

# make's GCOV_PROFILE_<stem>.o per stem, y in mm/ only. A stem names
# every object of that name in the tree (userfaultfd.o: fs/ and mm/;
# memory.o: arch/x86/boot/, which cannot link the gcov runtime, and mm/):
# the value is expanded where the object is built, with $(obj) its
# directory.
gcov_make_args() {
	local s
	for s in $(coverage_stems); do
		# shellcheck disable=SC2016 # make expands it, not the shell
		printf 'GCOV_PROFILE_%s.o=$(if $(filter mm,$(obj)),y)\n' "$s"
	done
}

kasan_fragment() {
	cat <<'EOF'
CONFIG_KASAN=y
CONFIG_KASAN_GENERIC=y
CONFIG_KASAN_INLINE=y
CONFIG_STACKTRACE=y
EOF
}

# Default source: the kernel tree this suite sits in, else Debian's
# linux-source-6.12 as unpacked by the project's fetch script.
default_ksrc() {
	if [ -f "$TREE_TOP/Makefile" ] && [ -f "$TREE_TOP/mm/rmap.c" ]; then
		echo "$TREE_TOP"
		return
	fi
	if [ -d "$AVL_CACHE/linux-source-6.12/mm" ]; then
		echo "$AVL_CACHE/linux-source-6.12"
		return
	fi
	if [ -x "$TREE_TOP/scripts/fetch-framework.sh" ]; then
		"$TREE_TOP/scripts/fetch-framework.sh" |
			tail -n1
		return
	fi
	return 1
}

# The suite's kernel options: config (every architecture) and
# config.x86_64 (the guest's architecture), as kselftest-merge reads them.
suite_config() {
	grep -hE '^CONFIG_[A-Za-z0-9_]+=' "$SUITE_DIR/config" \
		"$SUITE_DIR/config.x86_64"
}

# Build (or reuse) a kernel; sets $kernel. The build directory is named by a
# hash of everything that decides the result: the config fragment, the source
# tree and its version, the compiler. A tree given with -K may change under
# us, so it is always handed to make (incremental); the default source is a
# fixed package and is reused as soon as its stamp matches.
build_kernel() {
	local src=$1 always_make=$2 frag hash kdir kver srcid
	src=$(cd "$src" 2>/dev/null && pwd) ||
		usage_error "kernel source not found: $1"
	[ -f "$src/Makefile" ] && [ -f "$src/mm/rmap.c" ] ||
		usage_error "not a kernel source tree: $src"
	if [ -f "$src/.config" ]; then
		usage_error "$src has a .config; builds use O=, so run 'make -C $src mrproper' first"
	fi
	command -v make >/dev/null && command -v gcc >/dev/null ||
		die $EXIT_HOST "make and gcc are needed to build a kernel"
	kver=$(make -s -C "$src" kernelversion 2>/dev/null) ||
		die $EXIT_HOST "cannot read the kernel version of $src"
	srcid="$src $kver $(cat "$src/.avl-unpacked" 2>/dev/null)"

	mkdir -p "$AVL_CACHE" || die $EXIT_HOST "cannot create $AVL_CACHE"
	frag=$(mktemp "$AVL_CACHE/fragment.XXXXXX")
	local gcov_args=()
	[ $coverage -eq 0 ] || mapfile -t gcov_args < <(gcov_make_args)
	{
		guest_fragment
		suite_config
		# The series' option, asked for only where the tree has it:
		# the suite detects the lazy scheme at run time either way.
		grep -qsx 'config ANON_VMA_LAZY' "$src/mm/Kconfig" &&
			echo CONFIG_ANON_VMA_LAZY=y
		[ $kasan -eq 0 ] || kasan_fragment
		[ $coverage -eq 0 ] || gcov_fragment
	} > "$frag"
	# The instrumented files are part of what the build is.
	hash=$( { cat "$frag"; echo "$srcid"; gcc --version | head -n1;
		  [ $coverage -eq 0 ] || echo "${gcov_args[*]}"; } |
		sha256sum | cut -c1-16)
	kdir=$AVL_CACHE/kernel-$hash
	kernel=$kdir/arch/x86/boot/bzImage
	kernel_src=$src

	mkdir -p "$kdir"
	exec 9>"$kdir/.lock"
	flock 9
	if [ $always_make -eq 0 ] && [ -f "$kernel" ] &&
	   [ "$(cat "$kdir/.avl-built" 2>/dev/null)" = "$hash" ]; then
		rm -f "$frag"
		say "kernel: cached $kernel ($kver$([ $kasan -eq 1 ] && echo ", KASAN")$([ $coverage -eq 1 ] && echo ", GCOV"))"
		exec 9>&-
		return
	fi
	mv "$frag" "$kdir/avl.fragment"
	echo "$srcid" > "$kdir/avl.source"
	say "kernel: building $kver$([ $kasan -eq 1 ] && echo " with KASAN")$([ $coverage -eq 1 ] && echo " with GCOV") from $src in $kdir (log: $kdir/build.log)"
	local t0=$SECONDS
	rm -f "$kdir/.avl-built"
	if ! { make -C "$src" O="$kdir" allnoconfig \
			KCONFIG_ALLCONFIG="$kdir/avl.fragment" &&
	       make -C "$src" O="$kdir" -j"$jobs" "${gcov_args[@]}" bzImage; } \
			> "$kdir/build.log" 2>&1; then
		tail -n 30 "$kdir/build.log" >&2
		die $EXIT_HOST "kernel build failed, see $kdir/build.log"
	fi
	echo "$hash" > "$kdir/.avl-built"
	say "kernel: built $kernel in $((SECONDS - t0)) s"
	# allnoconfig drops silently what the fragment asks for but this
	# source cannot give (an option this kernel version does not have).
	local line
	while read -r line; do
		grep -qxF "$line" "$kdir/.config" ||
			say "kernel: $src cannot set $line (not in the resulting .config)"
	done < <(grep -E '^CONFIG_[A-Za-z0-9_]+=' "$kdir/avl.fragment")
	exec 9>&-
}

# ---------------------------------------------------------------- test binaries

settings_timeout() {
	local t
	t=$(sed -n 's/^timeout=\([0-9][0-9]*\)$/\1/p' "$SUITE_DIR/settings" 2>/dev/null |
		tail -n1)
	echo $((${t:-180} * $(timeout_scale)))
}

# KASAN checks every access: under TCG a test binary runs about four times
# longer, so its timeout (the settings file's, in the runner) grows with it.
timeout_scale() {
	[ $kasan -eq 1 ] && echo 4 || echo 1
}

build_tests() {
	if [ -n "$bin_dir" ]; then
		bin_dir=$(cd "$bin_dir" 2>/dev/null && pwd) ||
			usage_error "binary directory not found: $bin_dir"
		return
	fi
	# One build directory per source tree: make's timestamps cannot tell
	# binaries of another checkout from this one's.
	bin_dir=$AVL_CACHE/selftests-static-$(printf '%s' "$SUITE_DIR" |
		cksum | cut -d' ' -f1)
	mkdir -p "$bin_dir"
	if [ -x "$TREE_TOP/scripts/fetch-framework.sh" ] &&
	   [ ! -f "$TREE_TOP/mm/rmap.c" ]; then
		"$TREE_TOP/scripts/fetch-framework.sh" \
			> /dev/null || die $EXIT_HOST "scripts/fetch-framework.sh failed"
	fi
	say "tests: make -C $SUITE_DIR STATIC=1 O=$bin_dir"
	make -s -C "$SUITE_DIR" STATIC=1 O="$bin_dir" -j"$jobs" \
		> "$bin_dir/build.log" 2>&1 || {
		tail -n 30 "$bin_dir/build.log" >&2
		die $EXIT_HOST "building the test binaries failed (see $bin_dir/build.log)"
	}
}

# ---------------------------------------------------------------- initramfs

# POSIX-sh single-quoting of each argument, for the guest's "set --" line.
sh_quote() {
	local a out='' sep=
	for a in "$@"; do
		out="$out$sep'${a//\'/\'\\\'\'}'"
		sep=' '
	done
	echo "$out"
}

write_guest_init() {
	cat <<'EOF'
#!/bin/sh
# Init of the vmtest.sh guest (generated; runs under busybox sh).
PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH
mount -t devtmpfs dev /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
mkdir -p /dev/pts /dev/shm /tmp /run
mount -t tmpfs -o mode=1777 tmp /tmp
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
# cgroup v2 with the memory controller for its children (memcg reclaim).
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null &&
	echo +memory > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
hostname avl-guest
. /avl/vmtest.env

# ttyS1 carries KTAP, ttyS2 diagnostics; keep them raw (no CR insertion).
exec 5>/dev/ttyS1 6>/dev/ttyS2
stty -F /dev/ttyS1 raw -echo 2>/dev/null
stty -F /dev/ttyS2 raw -echo 2>/dev/null
note() { echo "vmtest: guest: $*" >&6; }
kmsg() { echo "vmtest: $*" > /dev/kmsg; }

finish() {
	sync
	kmsg "$AVL_MARK poweroff"
	reboot -f	# -no-reboot turns this into a QEMU exit
	sleep 10
}

# Swap: zram and the virtio disk QEMU attached, both at one priority: the
# kernel then takes swap slots from each in turn, so that swap-ins run both
# without the swap cache (zram is synchronous) and through it, with
# readahead (the disk). One of them where the kernel lacks the other.
swapdevs=
case $AVL_SWAP in auto|both|zram)
	[ -e /sys/block/zram0 ] || [ ! -e /sys/class/zram-control ] ||
		cat /sys/class/zram-control/hot_add > /dev/null
	if [ -e /sys/block/zram0/disksize ] &&
	   echo "${AVL_SWAP_MIB}M" > /sys/block/zram0/disksize 2>/dev/null; then
		swapdevs=/dev/zram0
	elif [ "$AVL_SWAP" != auto ]; then
		note "no zram in this kernel (CONFIG_ZRAM)"
	fi ;;
esac
case $AVL_SWAP in auto|both|disk)
	if [ -b /dev/vda ]; then
		swapdevs="$swapdevs /dev/vda"
	elif [ "$AVL_SWAP" != auto ] || [ -z "$swapdevs" ]; then
		note "no virtio disk in this kernel (CONFIG_VIRTIO_BLK)"
	fi ;;
esac
[ -n "$swapdevs" ] || [ "$AVL_SWAP" = none ] || note "no swap"
for swapdev in $swapdevs; do
	mkswap "$swapdev" > /dev/null && /avl/swapon_prio "$swapdev" 10 ||
		note "swapon $swapdev failed"
done

# The kernel against the suite's config fragment.
if [ -r /proc/config.gz ]; then
	zcat /proc/config.gz > /tmp/config
	missing=
	while read -r want; do
		case $want in CONFIG_*=*) ;; *) continue ;; esac
		grep -qxF "$want" /tmp/config || missing="$missing ${want%%=*}"
	done < /avl/config
	for m in $missing; do
		note "kernel lacks $m (wanted by the suite's config)"
	done
else
	note "kernel has no /proc/config.gz (CONFIG_IKCONFIG_PROC): config not checked"
fi

has_mem=$(cat /sys/devices/system/node/has_memory 2>/dev/null)
swaps=$(awk 'NR > 1 { printf "%s%s %d MiB prio %d", s, $1, $3 / 1024, $5; s = ", " }' /proc/swaps)
yesno() { [ -e "$1" ] && echo yes || echo no; }
note "$(uname -r), $(grep -c ^processor /proc/cpuinfo) cpus, nodes with memory ${has_mem:-none}, swap ${swaps:-none}, page_idle $(yesno /sys/kernel/mm/page_idle/bitmap), ksm $(yesno /sys/kernel/mm/ksm), thp $(yesno /sys/kernel/mm/transparent_hugepage)"

cd /avl
if [ "$AVL_MODE" = shell ]; then
	kmsg "$AVL_MARK shell"
	echo "vmtest: busybox shell; the suite is in /avl (./run_vmtests.sh -h);"
	echo "vmtest: 'poweroff -f' or Ctrl-a x ends the VM"
	setsid cttyhack sh -l
	finish
fi

# Coverage counts the suite alone: zeroed right before it starts.
gcov=/sys/kernel/debug/gcov
if [ "$AVL_COVERAGE" = 1 ]; then
	if [ -e $gcov/reset ]; then
		echo 0 > $gcov/reset
	else
		note "no $gcov (CONFIG_GCOV_KERNEL, DEBUG_FS): no coverage"
	fi
fi

read -r up _ < /proc/uptime
echo "$AVL_MARK START uptime=$up" >&5
kmsg "$AVL_MARK runner start"
if [ "$AVL_MODE" = exec ]; then
	sh -c "$AVL_EXEC" >&5 2>&6
else
	eval "set -- $AVL_ARGS"
	[ -z "${AVL_TIMEOUT:-}" ] || export AVL_TIMEOUT
	AVL_BIN_DIR=/avl sh /avl/run_vmtests.sh "$@" >&5 2>&6
fi
rc=$?
kmsg "$AVL_MARK runner end rc=$rc"
# The counters, read out of debugfs (its files show size 0: cat them).
if [ "$AVL_COVERAGE" = 1 ] && [ -e $gcov/reset ]; then
	(cd $gcov && find . -name '*.gcda') | while read -r f; do
		mkdir -p "/tmp/gcda/${f%/*}"
		cat "$gcov/$f" > "/tmp/gcda/$f"
	done
	exec 7>/dev/ttyS3
	stty -F /dev/ttyS3 raw -echo 2>/dev/null
	tar -C /tmp/gcda -cf - . | gzip | base64 >&7
	echo "$AVL_MARK GCDA END" >&7
	exec 7>&-
fi
read -r up _ < /proc/uptime
echo "$AVL_MARK EXIT rc=$rc uptime=$up" >&5
finish
EOF
}

make_initramfs() {
	local out=$1 root=$2 bb f n=0 mode
	bb=$(command -v "${BUSYBOX:-busybox}") ||
		die $EXIT_HOST "busybox not found (Debian: apt-get install busybox-static)"
	if readelf -l "$bb" 2>/dev/null | grep -q 'Requesting program interpreter'; then
		die $EXIT_HOST "$bb is dynamically linked; install busybox-static"
	fi
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,avl,root,etc}
	cp "$bb" "$root/bin/busybox"
	for f in $("$bb" --list); do
		[ -e "$root/bin/$f" ] || ln -s busybox "$root/bin/$f"
	done
	write_guest_init > "$root/init"
	chmod 755 "$root/init"
	mode=run
	[ -z "$guest_cmd" ] || mode='exec'
	[ $interactive -eq 0 ] || mode=shell

	cp "$SUITE_DIR/run_vmtests.sh" "$root/avl/" 2>/dev/null ||
		[ "$mode" = exec ] || [ $interactive -eq 1 ] ||
		die $EXIT_HOST "no $SUITE_DIR/run_vmtests.sh"
	[ -f "$SUITE_DIR/settings" ] && cp "$SUITE_DIR/settings" "$root/avl/"
	cp "$SUITE_DIR/klog_patterns.h" "$root/avl/"
	suite_config > "$root/avl/config"
	# Every executable ELF file of the binary directory is a test binary.
	for f in "$bin_dir"/*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		[ "$(head -c4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
		if readelf -l "$f" 2>/dev/null | grep -q 'program interpreter'; then
			say "tests: $f is not statically linked; skipped (build with STATIC=1)"
			continue
		fi
		cp "$f" "$root/avl/"
		n=$((n + 1))
	done
	n_bins=$n

	{
		echo "AVL_MODE=$mode"
		echo "AVL_MARK=$MARK"
		echo "AVL_SWAP=$swap"
		echo "AVL_SWAP_MIB=$swap_mib"
		echo "AVL_COVERAGE=$coverage"
		[ "$(timeout_scale)" -eq 1 ] || echo "AVL_TIMEOUT=$(settings_timeout)"
		echo "AVL_EXEC=$(sh_quote "$guest_cmd")"
		echo "AVL_ARGS=$(sh_quote "$(sh_quote "${runner_args[@]}")")"
	} > "$root/avl/vmtest.env"
	# An uncompressed cpio: unpacking gzip under TCG costs more than reading
	# a few more MB.
	(cd "$root" && find . | cpio -o -H newc --quiet -R 0:0) > "$out" ||
		die $EXIT_HOST "cpio failed"
}

# ---------------------------------------------------------------- QEMU

# KVM only when the CPU has hardware virtualization and a KVM guest really
# starts; a software /dev/kvm without vmx/svm is far slower than TCG.
pick_accel() {
	local why
	if [ "$accel" = auto ]; then
		if ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
			why="no vmx/svm in /proc/cpuinfo"
			accel=tcg
		elif [ ! -w /dev/kvm ]; then
			why="/dev/kvm not usable"
			accel=tcg
		elif echo quit | timeout 30 "$QEMU" -accel kvm -cpu host \
				-machine pc -m 64 -nodefaults -display none \
				-S -monitor stdio > /dev/null 2>&1; then
			why="vmx/svm present and a KVM guest starts"
			accel=kvm
		else
			why="a KVM guest failed to start"
			accel=tcg
		fi
	else
		why="requested"
	fi
	if [ "$accel" = kvm ]; then
		accel_args=(-accel kvm -cpu host)
	else
		accel_args=(-accel "tcg,thread=multi" -cpu max)
	fi
	say "accelerator: $accel ($why)"
}

# One socket per node so the kernel's topology checks stay quiet (a node
# boundary inside a socket makes topology_sane() warn).
numa_args() {
	local i per last sockets cores c cpu_list
	numa=()
	if [ $((cpus % nodes)) -eq 0 ]; then
		sockets=$nodes
		cores=$((cpus / nodes))
	else
		sockets=$cpus
		cores=1
	fi
	numa+=(-smp "$cpus,sockets=$sockets,cores=$cores,threads=1")
	per=$((mem_mib / nodes))
	last=$((mem_mib - per * (nodes - 1)))
	for ((i = 0; i < nodes; i++)); do
		local size=$per
		[ $i -lt $((nodes - 1)) ] || size=$last
		numa+=(-object "memory-backend-ram,id=mem$i,size=${size}M")
		cpu_list=
		for ((c = 0; c < cpus; c++)); do
			# socket of cpu c, and sockets map onto nodes in order
			if [ $(( (c / cores) % nodes )) -eq $i ]; then
				cpu_list="$cpu_list,cpus=$c"
			fi
		done
		numa+=(-numa "node,nodeid=$i,memdev=mem$i$cpu_list")
	done
}

# Kernel log lines: crash_re marks a dead kernel (with oops=panic every Oops
# ends in a panic), warn_re a splat the kernel survived (WARN, KASAN/UBSAN
# reports, bad page/rss state, lockups, list corruption).
crash_re='Kernel panic - not syncing|Oops: |kernel BUG at|BUG: (unable to handle|kernel NULL pointer)|general protection fault|Unable to mount root fs|Attempted to kill init'
warn_re='WARNING: CPU: [0-9]+ PID: [0-9]+|------------\[ cut here \]------------|BUG: |UBSAN: |Bad page (state|map)|Bad rss-counter|rcu: INFO: .* detected stalls|INFO: task .* blocked for more than|list_(add|del) corruption'

scan_log() {
	# $1 log, $2 phase name, $3 first line, $4 last line
	local log=$1 phase=$2 from=$3 to=$4 hits
	hits=$(sed -n "${from},${to}p" "$log" | tr -d '\r' |
		grep -E "$crash_re|$warn_re" | head -n 10)
	[ -n "$hits" ] || return 0
	say "kernel log ($phase) has:"
	echo "$hits" | sed 's/^/    /' >&2
	if echo "$hits" | grep -qE "$crash_re"; then
		return 2
	fi
	return 1
}

# The report of a --coverage run from the guest's base64 stream $1:
# $AVL_CACHE/coverage/<time>/, its summary on stderr.
coverage_report() {
	local b64=$1 out dir objtree
	out=$AVL_CACHE/coverage/$(date +%Y%m%d-%H%M%S)-$$
	dir=$work/gcda
	objtree=$(dirname "$(dirname "$(dirname "$(dirname "$kernel")")")")
	mkdir -p "$out" "$dir"
	if ! grep -q "$MARK GCDA END" "$b64"; then
		say "coverage: the guest sent no counters (GCOV in the kernel? see $logfile)"
		return 1
	fi
	sed -e 's/\r$//' -e "/^$MARK /d" "$b64" | base64 -d |
		tar -xzf - -C "$dir" || {
		say "coverage: the counters from the guest do not unpack"
		return 1
	}
	command -v python3 > /dev/null && command -v gcov > /dev/null || {
		say "coverage: python3 and gcov are needed for the report"
		return 1
	}
	python3 "$SUITE_DIR/gcov_report.py" --objtree "$objtree" \
		--srctree "$kernel_src" --gcda "$dir" \
		--focus "$SUITE_DIR/coverage-focus.txt" --out "$out" \
		${coverage_diff:+--diff "$coverage_diff"} > "$out/report.out" || {
		cat "$out/report.out" >&2
		return 1
	}
	if command -v genhtml > /dev/null; then
		genhtml -q -o "$out/html" "$out/coverage.info" > /dev/null 2>&1 ||
			say "coverage: genhtml failed: no html/"
	fi
	# Kept, so that other patches can be checked against this run later
	# (gcov_report.py --diff, see its help).
	cp -R "$dir" "$out/gcda"
	{
		echo "objtree=$objtree"
		echo "srctree=$kernel_src"
	} > "$out/report.env"
	ln -sfn "${out##*/}" "$AVL_CACHE/coverage/latest"
	sed 's/^/coverage: /' "$out/report.out" | grep -v '^coverage:   ' >&2
	say "coverage: report in $out (summary.txt${coverage_diff:+, diff.txt}$([ -d "$out/html" ] && echo ", html/"))"
}

cleanup() {
	if [ -n "${qemu_pid:-}" ] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid" 2>/dev/null
	fi
	[ -n "${tail_pids:-}" ] && kill $tail_pids 2>/dev/null
	[ -n "${work:-}" ] && rm -rf "$work"
}

main() {
	parse_args "$@"
	QEMU=${QEMU:-qemu-system-x86_64}

	# Let the runner reject bad arguments before anything is built or booted
	# (-n only lists what would run).
	if [ -z "$guest_cmd" ] && [ $interactive -eq 0 ] &&
	   [ -f "$SUITE_DIR/run_vmtests.sh" ]; then
		local lrc=0
		sh "$SUITE_DIR/run_vmtests.sh" -l "${runner_args[@]}" \
			> /dev/null 2> "${TMPDIR:-/tmp}/avl-vmtest-args.$$" || lrc=$?
		if [ $lrc -eq 2 ]; then
			head -n 1 "${TMPDIR:-/tmp}/avl-vmtest-args.$$" >&2
			rm -f "${TMPDIR:-/tmp}/avl-vmtest-args.$$"
			usage_error "run_vmtests.sh rejects: ${runner_args[*]}"
		fi
		rm -f "${TMPDIR:-/tmp}/avl-vmtest-args.$$"
	fi

	if [ -n "$kernel" ]; then
		check_bzimage "$kernel"
	else
		local src=$ksrc always=1
		if [ -z "$src" ]; then
			src=$(default_ksrc) ||
				die $EXIT_HOST "no kernel source: install Debian's linux-source-6.12, or pass -K DIR or -k bzImage"
			# The in-tree default changes with the tree being tested.
			[ "$src" = "$TREE_TOP" ] || always=0
		fi
		build_kernel "$src" "$always"
		check_bzimage "$kernel"
	fi
	command -v "$QEMU" >/dev/null ||
		die $EXIT_HOST "$QEMU not found (Debian: apt-get install qemu-system-x86)"

	[ -n "$guest_cmd" ] || [ $interactive -eq 1 ] ||
		[ -f "$SUITE_DIR/run_vmtests.sh" ] ||
		die $EXIT_HOST "no $SUITE_DIR/run_vmtests.sh"
	build_tests
	if [ $build_only -eq 1 ]; then
		echo "$kernel"
		exit $EXIT_PASS
	fi

	work=$(mktemp -d "${TMPDIR:-/tmp}/avl-vmtest.XXXXXX")
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	make_initramfs "$work/initramfs.cpio" "$work/root"
	[ $n_bins -gt 0 ] || [ -n "$guest_cmd" ] || [ $interactive -eq 1 ] ||
		say "tests: no statically linked test binaries in $bin_dir"

	if [ -z "$logfile" ]; then
		mkdir -p "$AVL_CACHE/logs"
		logfile=$AVL_CACHE/logs/$(date +%Y%m%d-%H%M%S)-$$.log
		ln -sfn "${logfile##*/}" "$AVL_CACHE/logs/latest.log"
	fi
	: > "$logfile" || usage_error "cannot write the log file $logfile"
	if [ -z "$timeout_s" ] && [ $interactive -eq 0 ]; then
		timeout_s=$((300 + $(settings_timeout) * (n_bins > 0 ? n_bins : 1)))
	fi

	pick_accel
	numa_args
	local cmdline="console=ttyS0,115200 panic=-1 oops=panic panic_on_warn=0 rdinit=/init loglevel=8 $append"
	local disk=()
	if [ "$swap" != zram ] && [ "$swap" != none ]; then
		truncate -s "${swap_mib}M" "$work/swap.img"
		disk=(-drive "file=$work/swap.img,format=raw,if=virtio,cache=unsafe")
	fi
	local ktap=$work/ktap err=$work/err
	: > "$ktap"; : > "$err"
	local serial gcda=$work/gcda.b64
	: > "$gcda"
	if [ $interactive -eq 1 ]; then
		# shellcheck disable=SC2054 # commas belong to QEMU's syntax
		serial=(-chardev "stdio,id=con,mux=on,signal=off,logfile=$logfile"
			-serial chardev:con -mon chardev=con,mode=readline
			-chardev "null,id=ktap,logfile=$ktap"
			-serial chardev:ktap
			-chardev "null,id=err,logfile=$err"
			-serial chardev:err)
	else
		serial=(-chardev "file,id=con,path=$logfile"
			-serial chardev:con
			-chardev "file,id=ktap,path=$ktap" -serial chardev:ktap
			-chardev "file,id=err,path=$err" -serial chardev:err)
		[ $coverage -eq 0 ] ||
			serial+=(-chardev "file,id=gcda,path=$gcda"
				 -serial chardev:gcda)
	fi

	# mem-merge=off: the host's ksmd must not merge guest RAM with the
	# pages of a suite running on the host at the same time (their KSM
	# tests count every mapping of a KSM page).
	local qemu_cmd=("$QEMU" -machine pc,mem-merge=off "${accel_args[@]}"
		-m "${mem_mib}M"
		"${numa[@]}" -nodefaults -display none -no-reboot
		"${serial[@]}" "${disk[@]}"
		-kernel "$kernel" -initrd "$work/initramfs.cpio"
		-append "$cmdline")
	say "guest: $cpus vCPUs, $nodes nodes, ${mem_mib} MiB, swap $swap; kernel log: $logfile"
	echo "${qemu_cmd[*]}" > "$work/qemu.cmd"

	local t0=$SECONDS qrc
	if [ $interactive -eq 1 ]; then
		if [ -n "$timeout_s" ]; then
			timeout --foreground -k 5 "$timeout_s" "${qemu_cmd[@]}"
		else
			"${qemu_cmd[@]}"
		fi
		qrc=$?
		say "QEMU exited ($qrc) after $((SECONDS - t0)) s; kernel log: $logfile"
		[ $qrc -eq 124 ] && exit $EXIT_TIMEOUT
		exit $EXIT_PASS
	fi

	timeout -k 5 "$timeout_s" "${qemu_cmd[@]}" \
		< /dev/null > "$work/qemu.out" 2>&1 &
	qemu_pid=$!
	# Follow the two guest channels live until QEMU is gone.
	tail -n +1 -s 0.2 -f --pid=$qemu_pid "$ktap" |
		sed -u -e 's/\r$//' -e "/^$MARK /d" &
	tail_pids=$!
	tail -n +1 -s 0.2 -f --pid=$qemu_pid "$err" | sed -u 's/\r$//' >&2 &
	tail_pids="$tail_pids $!"
	wait $qemu_pid
	qrc=$?
	qemu_pid=
	wait $tail_pids 2>/dev/null
	tail_pids=
	local wall=$((SECONDS - t0))

	if [ $qrc -ne 0 ] && [ $qrc -ne 124 ] && [ $qrc -ne 137 ] &&
	   ! grep -q "$MARK EXIT" "$ktap"; then
		if [ -s "$work/qemu.out" ]; then
			say "QEMU exited with $qrc:"
			sed 's/^/    /' "$work/qemu.out" >&2
			[ -s "$logfile" ] || die $EXIT_HOST "QEMU failed to start"
		fi
	fi

	# Split the console log at the init's markers: boot, run, shutdown.
	local n_start n_end n_last rc start_up end_up
	n_last=$(wc -l < "$logfile")
	n_start=$(grep -n "$MARK runner start" "$logfile" | head -n1 | cut -d: -f1)
	n_end=$(grep -n "$MARK runner end" "$logfile" | head -n1 | cut -d: -f1)
	start_up=$(sed -n "s/^$MARK START uptime=\([0-9.]*\).*/\1/p" "$ktap")
	rc=$(sed -n "s/^$MARK EXIT rc=\([0-9]*\).*/\1/p" "$ktap")
	end_up=$(sed -n "s/^$MARK EXIT rc=[0-9]* uptime=\([0-9.]*\).*/\1/p" "$ktap")
	[ -z "$start_up" ] ||
		say "timing: guest reached the runner at ${start_up} s guest uptime"
	# For --bisect: a crash or hang from here on is the kernel's fault.
	[ -z "$n_start" ] || [ -z "${AVL_BISECT_STATE:-}" ] ||
		echo started > "$AVL_BISECT_STATE"

	local boot_res=0 run_res=0 after_res=0
	scan_log "$logfile" "boot" 1 "${n_start:-$n_last}" || boot_res=$?
	if [ -n "$n_start" ]; then
		scan_log "$logfile" "during the run" "$n_start" "${n_end:-$n_last}" ||
			run_res=$?
	fi
	if [ -n "$n_end" ]; then
		scan_log "$logfile" "after the runner ended" "$n_end" "$n_last" ||
			after_res=$?
	fi

	# KTAP readers get a reason when the stream ends early.
	if [ $qrc -eq 124 ] || [ $qrc -eq 137 ]; then
		echo "Bail out! vmtest.sh: guest timed out after ${timeout_s} s"
		say "timeout: guest killed after ${timeout_s} s (kernel log: $logfile); its last lines:"
		tail -n 5 "$logfile" | tr -d '\r' | sed 's/^/    /' >&2
		exit $EXIT_TIMEOUT
	fi
	if [ -z "$rc" ]; then
		if grep -qE "$crash_re" "$logfile"; then
			echo "Bail out! vmtest.sh: guest kernel crashed"
			say "the guest kernel crashed after $wall s${n_start:+, while the suite ran} (kernel log: $logfile)"
		else
			echo "Bail out! vmtest.sh: guest ended without finishing the suite"
			say "the guest ended after $wall s without finishing the suite$([ -n "$n_start" ] || echo ", before the runner started"); the last lines of $logfile:"
			tail -n 5 "$logfile" | tr -d '\r' | sed 's/^/    /' >&2
		fi
		exit $EXIT_CRASH
	fi
	say "timing: QEMU ran ${wall} s; runner exit code $rc${end_up:+ at ${end_up} s guest uptime}"
	if [ $coverage -eq 1 ]; then
		coverage_report "$gcda" || exit $EXIT_HOST
	fi
	if [ $boot_res -eq 2 ] || [ $run_res -eq 2 ] || [ $after_res -eq 2 ]; then
		echo "Bail out! vmtest.sh: guest kernel crashed"
		say "the guest kernel crashed (kernel log: $logfile)"
		exit $EXIT_CRASH
	fi
	if [ $boot_res -ne 0 ] || [ $run_res -ne 0 ] || [ $after_res -ne 0 ]; then
		if [ "$rc" -eq 0 ] || [ "$rc" -eq 4 ]; then
			say "failing the run: the kernel log has warnings (kernel log: $logfile)"
			rc=$EXIT_FAIL
		fi
	fi
	exit "$rc"
}

# --bisect: run everything as usual, then map the exit code for git bisect
# run: whether a crash or a hang counts against the commit depends on
# whether the guest got as far as the suite (main() notes it in a file).
bisect_exit() {
	local rc=$1 started=$2

	case $rc in
	0) echo 0 ;;
	1) echo 1 ;;
	124 | 125) [ "$started" = started ] && echo 1 || echo 125 ;;
	4 | 126) echo 125 ;;
	*) echo 128 ;;
	esac
}

bisect=0
for arg in "$@"; do
	[ "$arg" = -- ] && break
	[ "$arg" = --bisect ] && bisect=1
done
if [ $bisect -eq 1 ]; then
	AVL_BISECT_STATE=$(mktemp "${TMPDIR:-/tmp}/avl-bisect.XXXXXX") ||
		exit 128
	export AVL_BISECT_STATE
	trap 'rm -f "$AVL_BISECT_STATE"; exit 128' INT TERM
	( main "$@" )
	rc=$?
	started=$(cat "$AVL_BISECT_STATE" 2>/dev/null)
	rm -f "$AVL_BISECT_STATE"
	brc=$(bisect_exit "$rc" "$started")
	say "bisect: vmtest.sh exit code $rc${started:+ (the suite had started)}: $brc for git bisect run"
	exit "$brc"
fi
main "$@"
