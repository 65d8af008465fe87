/*
 * A VMM process's memory in the lab, read through the lab's control port
 * from /proc/PID/smaps_rollup and /proc/PID/smaps: its whole RSS and PSS
 * and the resident part of its guest RAM mapping, so that benchmarks can
 * print the VMM's own cost (beyond guest RAM) and the guest RAM it touched,
 * for pinvm-vmm and a peer VMM alike.
 */
#ifndef PINVM_TESTS_LAB_MEMORY_H
#define PINVM_TESTS_LAB_MEMORY_H

#include "client.h"

#include <stddef.h>

struct lab_memory {
	long rss_kb, pss_kb;             /* the whole process (smaps_rollup) */
	long guest_rss_kb, guest_pss_kb; /* its guest RAM mapping's part */
};

/*
 * Reads pid's memory through the control port ctl. The guest RAM mapping
 * is the process's first anonymous mapping of exactly guest_kb (both
 * pinvm-vmm and QEMU map the RAM so, pinvm-vmm's 2 MiB alignment slack
 * being a mapping apart once it asks for huge pages on the RAM alone).
 * Returns 0, or -1 with why in err (the process is gone, no such mapping,
 * no control port).
 */
int lab_memory_read(const struct client *ctl, long pid, long guest_kb, struct lab_memory *m,
		    char *err, size_t err_len);

/*
 * Where pid's RSS beyond guest RAM is: its resident kB summed by what is
 * mapped (a file by its name, [heap], [stack], anonymous mappings as
 * "anonymous"), the guest RAM mapping left out, the n largest as
 * "name N kB, ..." (caller frees), or NULL when not read.
 */
char *lab_memory_largest(const struct client *ctl, long pid, long guest_kb, int n);

#endif
