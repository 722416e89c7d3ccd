// SPDX-License-Identifier: GPL-2.0
/*
 * swapon_prio: swapon(2) with a priority, for vmtest.sh's guest, whose
 * busybox may be built without "swapon -p". Swap devices of one priority
 * hand out swap slots in turn, which is what the guest wants of its zram
 * and disk devices.
 *
 *   swapon_prio DEVICE PRIORITY
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/swap.h>

int main(int argc, char **argv)
{
	char *end;
	long prio;

	if (argc != 3) {
		fprintf(stderr, "usage: %s DEVICE PRIORITY\n", argv[0]);
		return 2;
	}
	errno = 0;
	prio = strtol(argv[2], &end, 10);
	if (errno || end == argv[2] || *end || prio < 0 ||
	    prio > SWAP_FLAG_PRIO_MASK) {
		fprintf(stderr, "%s: bad priority: %s\n", argv[0], argv[2]);
		return 2;
	}
	if (swapon(argv[1], SWAP_FLAG_PREFER |
		   ((int)prio << SWAP_FLAG_PRIO_SHIFT))) {
		fprintf(stderr, "%s: swapon %s: %s\n", argv[0], argv[1],
			strerror(errno));
		return 1;
	}
	return 0;
}
