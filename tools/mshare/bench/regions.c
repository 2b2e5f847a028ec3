// SPDX-License-Identifier: GPL-2.0
/*
 * mshare-bench-regions: what creating and unlinking many regions costs and
 * gives back. Each region owns a host mm; after N regions have been created,
 * sized and unlinked, MemFree, Slab and PageTables should be where they
 * started. Prints the figures before, with all N regions alive, and after,
 * and what each region costs while alive.
 *
 *   mshare-bench-regions [-u] [N]     (default 10000)
 *	-u	size each region to one unit (mshare_info) instead of the
 *		largest size there is, LLONG_MAX rounded down to the unit
 *
 * The instance is mounted with "nr_regions=" enough for N (at least 20000);
 * a kernel without that option refuses it (EINVAL), and the instance is
 * then mounted without options.
 *
 * Target: a region costs at most 8 KiB of MemFree while alive.
 *
 * Exit status: 0, 1 if something failed to run, 2 if the target was missed.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <time.h>

/* meminfo_kb() and drain_slabs(), shared with the selftests */
#include "../../testing/selftests/mm/mshare/mshare_util.h"

#define TARGET_KB	8.0

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

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-u] [regions]\n", prog);
	exit(1);
}

int main(int argc, char **argv)
{
	char mnt[] = "/tmp/msharefs-bench-XXXXXX", path[128], opts[64], mount_note[128];
	int n = 10000, one_unit = 0, i, fd, opt, ok;
	struct snap before, alive, after;
	unsigned long unit, size;
	struct timespec t0, t1;
	double free_kb, slab_kb;

	while ((opt = getopt(argc, argv, "uh")) != -1) {
		switch (opt) {
		case 'u':
			one_unit = 1;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (optind < argc)
		n = atoi(argv[optind++]);
	if (optind < argc || n < 1)
		usage(argv[0]);

	if (!mkdtemp(mnt)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(opts, sizeof(opts), "nr_regions=%d", n > 10000 ? 2 * n : 20000);
	snprintf(mount_note, sizeof(mount_note), "mounted with %s", opts);
	if (mount("msharefs", mnt, "msharefs", 0, opts)) {
		if (errno != EINVAL || mount("msharefs", mnt, "msharefs", 0, NULL)) {
			perror("mount msharefs");
			rmdir(mnt);
			return 1;
		}
		snprintf(mount_note, sizeof(mount_note),
			 "%s refused (EINVAL): mounted without options", opts);
	}
	unit = mshare_unit(mnt);
	if (!unit) {
		perror("mshare_info");
		umount(mnt);
		rmdir(mnt);
		return 1;
	}
	size = one_unit ? unit : LLONG_MAX / unit * unit;

	take(&before);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/r%d", mnt, i);
		fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd < 0 || ftruncate(fd, size)) {
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

	free_kb = (double)(before.free - alive.free) / n;
	slab_kb = (double)(alive.slab - before.slab) / n;
	ok = free_kb <= TARGET_KB;

	printf("%d regions of %lu bytes (%s) created, sized, unlinked (%.1f us per create)\n",
	       n, size, one_unit ? "one unit" : "the largest size",
	       ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / n);
	printf("(%s)\n", mount_note);
	printf("%-12s %12s %12s %12s %14s\n", "kB", "before", "all alive", "after",
	       "after-before");
	printf("%-12s %12ld %12ld %12ld %14ld\n", "MemFree", before.free, alive.free,
	       after.free, after.free - before.free);
	printf("%-12s %12ld %12ld %12ld %14ld\n", "Slab", before.slab, alive.slab,
	       after.slab, after.slab - before.slab);
	printf("%-12s %12ld %12ld %12ld %14ld\n", "PageTables", before.pt, alive.pt,
	       after.pt, after.pt - before.pt);
	printf("per region while alive: %.1f KiB of MemFree, %.1f KiB of Slab\n",
	       free_kb, slab_kb);
	printf("target: <= %.0f KiB of MemFree per region while alive: %s\n\n", TARGET_KB,
	       ok ? "PASS" : "FAIL");
	printf("regions=%d\n", n);
	printf("region_size=%lu\n", size);
	printf("memfree_per_region_kb=%.2f\n", free_kb);
	printf("slab_per_region_kb=%.2f\n", slab_kb);
	printf("memfree_after_minus_before_kb=%ld\n", after.free - before.free);
	printf("slab_after_minus_before_kb=%ld\n", after.slab - before.slab);
	printf("pagetables_after_minus_before_kb=%ld\n", after.pt - before.pt);
	printf("target_memfree_per_region_kb=%.0f\n", TARGET_KB);
	printf("verdict=%s\n", ok ? "PASS" : "FAIL");
	umount(mnt);
	rmdir(mnt);
	return ok ? 0 : 2;
}
