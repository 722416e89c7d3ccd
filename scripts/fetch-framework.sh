#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Fill in the kselftest framework files, mm's vm_util.[ch] and the kernel
# UAPI headers that tools/testing/selftests/mm/anon_vma_lazy needs, so that
# this sparse tree builds as if it were a kernel tree. Nothing fetched here is committed
# (see .gitignore).
#
# Source, in order of preference:
#   KSRC=/path/to/linux     a kernel source tree
#   Debian's linux-source-6.12 package (/usr/src/linux-source-6.12.tar.xz),
#   unpacked once into $AVL_CACHE (default ~/.cache/anon_vma_lazy).
#
# Idempotent: when the recorded source matches and the files are present it
# returns at once. Prints the kernel source directory it used on stdout.

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${AVL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/anon_vma_lazy}
tarball=/usr/src/linux-source-6.12.tar.xz
stamp=$top/.framework-source
sel=tools/testing/selftests

die() {
	echo "fetch-framework: $*" >&2
	exit 1
}

# Inside a real kernel tree there is nothing to fill in.
if [ -f "$top/Makefile" ] && [ -f "$top/mm/rmap.c" ]; then
	echo "$top"
	exit 0
fi

if [ -n "${KSRC:-}" ]; then
	ksrc=$(cd "$KSRC" && pwd) || die "KSRC=$KSRC is not a directory"
	[ -f "$ksrc/$sel/kselftest_harness.h" ] ||
		die "KSRC=$ksrc is not a kernel source tree"
else
	if [ ! -f "$tarball" ]; then
		if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
			echo "fetch-framework: installing linux-source-6.12" >&2
			DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				--no-install-recommends linux-source-6.12 >&2
		else
			die "no kernel source: install Debian's linux-source-6.12 package (as root: apt-get install linux-source-6.12) or pass KSRC=/path/to/linux"
		fi
	fi
	ksrc=$cache/linux-source-6.12
	pkgver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null ||
		 echo unknown)
	if [ "$(cat "$ksrc/.avl-unpacked" 2>/dev/null)" != "$pkgver" ]; then
		echo "fetch-framework: unpacking $tarball ($pkgver)" >&2
		rm -rf "$ksrc" "$ksrc.tmp"
		mkdir -p "$ksrc.tmp"
		tar -xJf "$tarball" -C "$ksrc.tmp" --strip-components=1
		echo "$pkgver" > "$ksrc.tmp/.avl-unpacked"
		mv "$ksrc.tmp" "$ksrc"
	fi
fi

version=$(make -s -C "$ksrc" kernelversion 2>/dev/null) ||
	die "cannot read the kernel version of $ksrc"
want="$ksrc $version"

if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] &&
   [ -f "$top/$sel/kselftest_harness.h" ] &&
   [ -f "$top/$sel/mm/vm_util.c" ] &&
   [ -f "$top/usr/include/linux/fs.h" ]; then
	echo "$ksrc"
	exit 0
fi

echo "fetch-framework: kselftest framework and UAPI headers from $ksrc ($version)" >&2
mkdir -p "$top/$sel"
for f in lib.mk kselftest.h kselftest_harness.h; do
	cp "$ksrc/$sel/$f" "$top/$sel/$f"
done
rm -rf "$top/$sel/kselftest"
cp -R "$ksrc/$sel/kselftest" "$top/$sel/kselftest"
for f in vm_util.c vm_util.h; do
	cp "$ksrc/$sel/mm/$f" "$top/$sel/mm/$f"
done

# headers_install writes only below O= and INSTALL_HDR_PATH, so the source
# tree stays untouched (it may be read-only or shared).
hdr_obj=$cache/headers-obj-$version
mkdir -p "$hdr_obj"
rm -rf "$top/usr"
make -s -C "$ksrc" O="$hdr_obj" INSTALL_HDR_PATH="$top/usr" \
	headers_install >&2 || die "make headers_install failed in $ksrc"

echo "$want" > "$stamp"
echo "$ksrc"
