#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# CI bots key their results on the binary and the test name: a test that
# moves to another binary or is renamed looks like one that vanished. Every
# name in test/fixtures/test_names (taken at commit e4efdad, before the
# helper library was split) must still be listed by the same binary's -l.
# New tests may be anywhere.
#
#   test/names_check.sh BUILD_DIR     (the binaries of a make O=BUILD_DIR)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: names_check.sh BUILD_DIR}
list=$top/test/fixtures/test_names
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The harness's -l prints "FIXTURE VARIANT TEST" in columns 0, 21 and 47
# (a long variant pushes its test one blank further), a fixture's variants
# and tests on as many lines as the longer list: every variant runs every
# test of its fixture.
full_names() {
	"$1" -l 2>&1 | awk '
	function flush(  i, j) {
		if (fixture == "" || fixture == "global")
			return
		if (!nv)
			variants[++nv] = ""
		for (i = 1; i <= nv; i++)
			for (j = 1; j <= nt; j++)
				print fixture (variants[i] == "" ? "" : "." variants[i]) "." tests[j]
	}
	/^#|^-/ { next }
	{
		if (substr($0, 1, 1) != " ") {
			flush()
			fixture = $1
			nv = nt = 0
		}
		rest = substr($0, 22)
		if (substr(rest, 1, 1) != " " && rest != "") {
			split(rest, f, " ")
			variants[++nv] = f[1]
			if (f[2] != "")
				tests[++nt] = f[2]
		} else {
			sub(/^ +/, "", rest)
			if (rest != "")
				tests[++nt] = rest
		}
	}
	END { flush() }'
}

missing=0
for bin in $(cut -d' ' -f1 "$list" | sort -u); do
	if [ ! -x "$dir/$bin" ]; then
		echo "not built: $bin"
		missing=$((missing + 1))
		continue
	fi
	full_names "$dir/$bin" | sort -u > "$work/$bin"
	grep "^$bin " "$list" | cut -d' ' -f2 | sort -u > "$work/$bin.want"
	comm -23 "$work/$bin.want" "$work/$bin" > "$work/$bin.gone"
	while read -r name; do
		echo "gone from $bin: $name"
		missing=$((missing + 1))
	done < "$work/$bin.gone"
done
echo "$(wc -l < "$list") names checked, $missing missing"
[ "$missing" -eq 0 ]
