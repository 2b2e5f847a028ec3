// SPDX-License-Identifier: GPL-2.0
/*
 * mshare-bench-regions: what creating and unlinking many regions costs and
 * gives back. Each region owns a host mm; after N regions have been created,
 * sized and unlinked, MemFree, Slab and PageTables should be where they
 * started. Prints the figures before, with all N regions alive, and after.
 *
 *   mshare-bench-regions [N]     (default 10000)
 */
#define _GNU_SOURCE
#include <time.h>

/* meminfo_kb() and drain_slabs(), shared with the selftests */
#include "../../testing/selftests/mm/mshare/mshare_util.h"

struct snap {
	long free, slab, pt;
};

static void take(struct snap *s)
{
	drain_slabs();
	s->free = meminfo_kb("MemFree");
	s->slab = meminfo_kb("Slab");
	s->pt = meminfo_kb("PageTables");
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10000;
	char mnt[] = "/tmp/msharefs-bench-XXXXXX", path[128];
	struct snap before, alive, after;
	struct timespec t0, t1;
	long unit;
	int i, fd;

	if (!mkdtemp(mnt) || mount("msharefs", mnt, "msharefs", 0, NULL)) {
		perror("mount msharefs");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/mshare_info", mnt);
	fd = open(path, O_RDONLY);
	if (fd < 0 || read(fd, path, sizeof(path)) <= 0) {
		perror("mshare_info");
		return 1;
	}
	close(fd);
	unit = atol(path);

	take(&before);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/r%d", mnt, i);
		fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd < 0 || ftruncate(fd, unit)) {
			perror(path);
			return 1;
		}
		close(fd);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	take(&alive);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/r%d", mnt, i);
		if (unlink(path)) {
			perror(path);
			return 1;
		}
	}
	take(&after);

	printf("%d regions of %ld bytes created, sized, unlinked (%.1f us per create)\n",
	       n, unit, ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / n);
	printf("%-12s %12s %12s %12s %14s\n", "kB", "before", "all alive", "after",
	       "after-before");
	printf("%-12s %12ld %12ld %12ld %14ld\n", "MemFree", before.free, alive.free,
	       after.free, after.free - before.free);
	printf("%-12s %12ld %12ld %12ld %14ld\n", "Slab", before.slab, alive.slab,
	       after.slab, after.slab - before.slab);
	printf("%-12s %12ld %12ld %12ld %14ld\n", "PageTables", before.pt, alive.pt,
	       after.pt, after.pt - before.pt);
	printf("per region while alive: %.1f KiB of MemFree\n",
	       (double)(before.free - alive.free) / n);
	umount(mnt);
	rmdir(mnt);
	return 0;
}
