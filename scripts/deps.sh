#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian packages this repository needs to build and run the
# anon_vma_lazy selftests, the project's own tests and the QEMU runner.
# Installs only what is missing; does nothing when everything is present.
#
# Usage: scripts/deps.sh [--vm]
#   --vm   also the packages for vmtest.sh (QEMU, busybox, kernel build,
#          python3 and lcov for --coverage reports) and for make check
#          (gnuplot for the benchmark's plot)

set -eu

pkgs="make gcc clang libc6-dev linux-source-6.12 xz-utils perl rsync
      libnuma-dev procps util-linux kmod patch coreutils"
vm_pkgs="qemu-system-x86 busybox-static cpio gzip flex bison bc libelf-dev
	 libssl-dev gnuplot-nox python3 lcov"

[ "${1:-}" = "--vm" ] && pkgs="$pkgs $vm_pkgs"

missing=
for p in $pkgs; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing Debian packages:$missing" >&2
	echo "deps.sh: install them as root: apt-get install$missing" >&2
	exit 1
fi

echo "deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# The package lists of a fresh machine may be empty or stale.
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
