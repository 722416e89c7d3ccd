#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The project's own tests ("make check"). Each step prints "ok N step" or
# "not ok N step" (with the step's output indented on failure), and the run
# ends with "N passed, N failed". Steps:
#
#   build-gcc, build-clang   warning-free builds (-Werror) with both compilers
#   test-names               every test name of commit e4efdad still in the
#                            same binary (test/names_check.sh)
#   checkpatch               checkpatch.pl --no-tree --strict on every C file
#   unit                     helper-library parsers on fixture files
#   runner                   run_vmtests.sh options, accounting, knob restore
#   tree                     a binary or the runner killed mid-test (KILL,
#                            TERM, INT) leaves no process and no changed
#                            knob behind; the lock (test/tree_checks.sh)
#   vmtest-args              vmtest.sh argument and kernel-file checks
#   kconfig                  config and config.x86_64 merge into x86_64's
#                            defconfig without a merge_config.sh warning
#   in-tree                  builds and runs inside a copy of a kernel tree
#   suite-root               the whole suite on this kernel as root, with a
#                            temporary swap device (-s): no FAIL, swap as
#                            before afterwards
#   suite-nobody             the whole suite as nobody: no FAIL, root-only SKIP
#   exit-codes               every binary exits 1 on a failure, 4 when all
#                            its tests skipped, else 0 (test/exit_codes.sh)
#   bench                    anon_vma_bench: table, JSON, compare, plot and
#                            the repeat-run tolerance (test/bench_checks.sh)
#   stress                   anon_vma_stress replays, finds an injected model
#                            bug and shrinks it (test/stress_checks.sh)
#   suite-vm                 the whole suite (-d too) in QEMU, default kernel
#   coverage                 vmtest.sh --coverage on the fork category (GCOV
#                            kernel, cached): anon_vma_fork() is reported
#                            executed, collect_procs_anon() (memory failure)
#                            never entered, and --coverage-diff finds the
#                            line mutant 07 changes executed
#   inverted                 every test fails with its central assertion
#                            inverted (test/inverted/), on the host and in QEMU
#   mutation-smoke           scripts/mutation.sh on one mutant (fork without
#                            write-protect) and the fork category: killed
#
# AVL_CHECK_VM=0 leaves QEMU out (suite-vm, and the VM half of inverted).
#
# Run as root on Debian 12 after "sh scripts/deps.sh --vm".

set -u

top=$(cd "$(dirname "$0")/.." && pwd)
sel=$top/tools/testing/selftests/mm/anon_vma_lazy
work=$(mktemp -d /tmp/avl-check.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT INT TERM

passed=0
failed=0
n=0

# step NAME COMMAND...: run COMMAND, report its result, keep its output.
step() {
	name=$1
	shift
	n=$((n + 1))
	start=$(date +%s)
	if "$@" > "$work/$name.log" 2>&1; then
		passed=$((passed + 1))
		echo "ok $n $name ($(($(date +%s) - start)) s)"
	else
		failed=$((failed + 1))
		echo "not ok $n $name ($(($(date +%s) - start)) s)"
		# What failed first (a tail can miss it), then how it ended.
		echo "#   failing lines:"
		grep -E 'not ok|# FAIL|FAIL:|ERROR|Bail out' "$work/$name.log" |
			head -n 40 | sed 's/^/#     /'
		echo "#   last lines:"
		tail -n 60 "$work/$name.log" | sed 's/^/#   /'
	fi
}

ksrc=$(sh "$top/scripts/fetch-framework.sh") || {
	echo "not ok 1 framework"
	echo "0 passed, 1 failed"
	exit 1
}

build_with() {
	out=$work/build-$1
	shift
	mkdir -p "$out"
	make -C "$sel" O="$out" USERCFLAGS=-Werror "$@"
}

checkpatch() {
	# shellcheck disable=SC2046
	perl "$ksrc/scripts/checkpatch.pl" --no-tree --strict --terse \
		--show-types -f $(find "$sel" "$top/test" -name '*.[ch]') |
		tee "$work/checkpatch.out"
	! grep -qE 'ERROR|WARNING|CHECK' "$work/checkpatch.out"
}

# The config fragments merge into x86_64's defconfig as kselftest-merge
# merges them, and merge_config.sh warns about none of their options (in a
# hard-linked copy of the tree: it writes its temporary files into the
# current directory, which must be the source tree).
kconfig() {
	tree=$work/kconfig-src
	cp -al "$ksrc" "$tree" || return 1
	make -s -C "$tree" O="$work/kconfig" defconfig > /dev/null || return 1
	( cd "$tree" && ARCH=x86_64 scripts/kconfig/merge_config.sh \
		-O "$work/kconfig" "$work/kconfig/.config" \
		"$sel/config" "$sel/config.x86_64" ) > "$work/kconfig.out" 2>&1 || {
		tail -n 20 "$work/kconfig.out"
		return 1
	}
	rm -rf "$tree"
	if grep -A2 '^Value requested for' "$work/kconfig.out"; then
		return 1
	fi
	missing=$(grep -hE '^CONFIG_' "$sel/config" "$sel/config.x86_64" |
		grep -vxF -f "$work/kconfig/.config")
	[ -z "$missing" ] || { echo "not in the merged .config: $missing"; return 1; }
	echo "$(cat "$sel/config" "$sel/config.x86_64" | grep -c '^CONFIG_') options merged, no warning"
}

# Copy of the kernel tree (hard links: seconds, and with O= nothing below
# it is written), with this directory dropped in as upstream would have it
# and the selftests Makefile patched to list it in TARGETS (the in-tree
# part of the upstream patch; patch writes a new file, so the link to the
# kernel source is broken, not written through). The suite runs from the
# default TARGETS list with every other target skipped (SKIP_TARGETS: not
# building ~114 of them), then is installed, and run_kselftest.sh lists it.
in_tree() {
	tree=$work/linux
	ksel=$tree/tools/testing/selftests
	cp -al "$ksrc" "$tree" || return 1
	rm -rf "$ksel/mm/anon_vma_lazy"
	cp -R "$sel" "$ksel/mm/anon_vma_lazy"
	rm -f "$ksel/Makefile"
	cp "$ksrc/tools/testing/selftests/Makefile" "$ksel/Makefile"
	patch -s -p1 -d "$tree" \
		< "$top/patches/selftests-Makefile-add-anon_vma_lazy.patch" ||
		return 1
	make -C "$ksel/mm/anon_vma_lazy" clean >/dev/null
	targets=$(make -s -C "$ksel" \
		--eval='avl-targets: ; @echo $(TARGETS)' avl-targets) || return 1
	echo "default TARGETS: $(echo "$targets" | wc -w) targets"
	echo " $targets " | grep -q ' mm/anon_vma_lazy ' || {
		echo "mm/anon_vma_lazy not in the default TARGETS"
		return 1
	}
	# The Makefile's own SKIP_TARGETS (bpf, sched_ext) stay skipped too.
	others=$(make -s -C "$ksel" \
		--eval='avl-skip: ; @echo $(SKIP_TARGETS)' avl-skip) || return 1
	others="$others $(echo "$targets" | tr ' ' '\n' |
		grep -vx 'mm/anon_vma_lazy' | tr '\n' ' ')"
	make -C "$ksel" O="$work/in-tree-out" SKIP_TARGETS="$others" \
		run_tests > "$work/in-tree.out" 2>&1
	cat "$work/in-tree.out"
	grep -q '^ok 1 selftests: mm/anon_vma_lazy: fork_chain' \
		"$work/in-tree.out" &&
	# memory_failure runs only when asked for (-d): all of it skips.
	grep -qE '^ok [0-9]+ selftests: mm/anon_vma_lazy: memory_failure # SKIP' \
		"$work/in-tree.out" || return 1
	make -s -C "$ksel" O="$work/in-tree-out" SKIP_TARGETS="$others" \
		INSTALL_PATH="$work/ksft" install > "$work/install.out" 2>&1 || {
		tail -n 20 "$work/install.out"
		return 1
	}
	"$work/ksft/run_kselftest.sh" -l > "$work/list.out" || return 1
	echo "run_kselftest.sh -l: $(grep -c '^mm/anon_vma_lazy:' "$work/list.out") tests of mm/anon_vma_lazy"
	grep -qx 'mm/anon_vma_lazy:fork_chain' "$work/list.out" &&
		grep -qx 'mm/anon_vma_lazy:swap' "$work/list.out"
}

# As root with -s (a temporary swap device): no FAIL; the swap tests ran
# where the device could be set up, and swap is as before afterwards.
suite_root() {
	make -C "$sel" >/dev/null || return 1
	swaps_before=$(awk 'NR > 1 { print $1 }' /proc/swaps)
	"$sel/run_vmtests.sh" -a -s > "$work/root.out" 2>&1
	rc=$?
	cat "$work/root.out"
	swaps_after=$(awk 'NR > 1 { print $1 }' /proc/swaps)
	if [ "$swaps_before" != "$swaps_after" ]; then
		echo "swap devices before: $swaps_before; after: $swaps_after"
		return 1
	fi
	if grep -q '^# temporary swap for this run' "$work/root.out" &&
	   grep -q '^ok [0-9]* swap:swap # SKIP' "$work/root.out"; then
		echo "the swap tests skipped with a temporary swap device"
		return 1
	fi
	[ "$rc" -eq 0 ]
}

# As nobody: no test may fail; root-only tests SKIP with their reason.
suite_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$sel/run_vmtests.sh" -a > "$work/nobody.out" 2>&1
	rc=$?
	cat "$work/nobody.out"
	[ "$rc" -eq 0 ] || [ "$rc" -eq 4 ] || return 1
	! grep -q '^not ok' "$work/nobody.out"
}

# The kill-matrix machinery on one small mutant: builds the mutation
# kernel tree, one clean run, the mutant, the revert checked.
mutation_smoke() {
	bash "$top/scripts/mutation.sh" -n 1 -m 07 -c fork \
		-o "$work/mutation.json" > "$work/mutation.out" || return 1
	cat "$work/mutation.out"
	grep -q '^1 killed, 0 survived, 0 not run' "$work/mutation.out" &&
		grep -q '"result": "killed"' "$work/mutation.json"
}

# The coverage machinery measures what runs: a function the fork category
# must enter is executed, one it cannot reach is not, and a mutant's line
# in copy_present_ptes() ran.
coverage_smoke() {
	cache=${AVL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/anon_vma_lazy}
	"$sel/vmtest.sh" \
		--coverage-diff "$top/test/mutants/07_fork_no_wrprotect.patch" \
		-- -t fork > "$work/coverage.ktap" 2> "$work/coverage.err" || {
		tail -n 20 "$work/coverage.err"
		return 1
	}
	rep=$cache/coverage/latest
	cat "$rep/summary.txt" "$rep/diff.txt"
	grep -qE '^  rmap.c +anon_vma_fork +[1-9][0-9]* / +[0-9]+ ' \
		"$rep/summary.txt" &&
	grep -qE '^  memory-failure.c +collect_procs_anon +0 / +[1-9][0-9]* .*never entered' \
		"$rep/summary.txt" &&
	grep -qx '1 of 1 changed lines executed' "$rep/diff.txt"
}

# The guest is thrown away: the destructive category runs there too.
suite_vm() {
	"$sel/vmtest.sh" -- -a -d
}

step build-gcc build_with gcc
step build-clang build_with clang LLVM=1
step test-names sh "$top/test/names_check.sh" "$work/build-gcc"
step checkpatch checkpatch
step unit make -C "$top/test/unit" check
step runner sh "$top/test/runner_checks.sh"
step tree sh "$top/test/tree_checks.sh"
step vmtest-args sh "$top/test/vm_checks.sh"
step kconfig kconfig
step in-tree in_tree
step suite-root suite_root
step suite-nobody suite_nobody
step exit-codes sh "$top/test/exit_codes.sh" "$work/build-gcc"
step bench sh "$top/test/bench_checks.sh"
step stress sh "$top/test/stress_checks.sh"
if [ "${AVL_CHECK_VM:-1}" != 0 ]; then
	step suite-vm suite_vm
	step coverage coverage_smoke
	step inverted sh "$top/test/inverted_checks.sh" --vm
	step mutation-smoke mutation_smoke
else
	step inverted sh "$top/test/inverted_checks.sh"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
