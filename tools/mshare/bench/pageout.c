// SPDX-License-Identifier: GPL-2.0
/*
 * mshare-bench-pageout: what MADV_PAGEOUT of 16 MiB costs in TLB shootdown
 * IPIs and time when the pages are linked by 1 or N processes through a
 * region, beside the same pages paged out of a plain memfd mapping.
 *
 *   mshare-bench-pageout [-n N] [-r runs]   (defaults: 64 sharers, 5 runs)
 *
 * The object is a 16 MiB memfd in both columns, filled with write(2):
 *  - msharefs: a region maps it (MSHAREFS_CREATE_MAPPING with the memfd);
 *    N sharer processes map the region and touch one byte per page, then
 *    sleep, except sharer 0, which is pinned to CPU 1 and keeps reading
 *    one page so that its mm is live there and every flush of the range
 *    needs an IPI. The measuring process, on CPU 0, maps the region too and
 *    advises MADV_PAGEOUT over the 16 MiB (forwarded to the host).
 *  - memfd: the measuring process maps the memfd, touches it, and a thread
 *    of its own spins on CPU 1 in the same way. Mainline's MADV_PAGEOUT
 *    leaves alone a page that more than one process maps, so the memfd
 *    column is one process doing the same work: paging out 16 MiB that a
 *    live remote CPU may translate. (With N processes mapping it, memfd
 *    pages nothing out.)
 * Each in two ways: the sharers read the pages (clean PTEs: reclaim can
 * batch its flushes), or write them (dirty PTEs: reclaim flushes before
 * writing each dirty page out, in mainline as here).
 *
 * Targets, msharefs beside memfd, at 1 and at N sharers: shootdown IPIs
 * (the "TLB:" line of /proc/interrupts) <= 2x, time <= 1.5x; so the cost
 * does not grow with the number of idle sharers either.
 *
 * Swap is set up on /dev/zram0 so that the pages really go out, and taken
 * down at the end. Exit status: 0, 1 if something failed to run, 2 if a
 * target was missed. Run it as root on the bench kernel with >= 2 CPUs.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <linux/msharefs.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>

/* mshare_file(), region_create(), read_file(), ... shared with the selftests */
#include "../../testing/selftests/mm/mshare/mshare_util.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif

#define PAGE		4096UL
#define OBJ_SIZE	(16UL << 20)
#define NPAGES		(OBJ_SIZE / PAGE)
#define ZRAM		"/sys/block/zram0"
#define MAX_RUNS	15

enum kind { MSHAREFS, MEMFD };
enum touch { READ, WRITE };

static const char * const touch_name[] = { "read", "written" };

static char mnt[64];
static unsigned long unit;
static int swap_owned;
static char swap_note[128];
static pid_t *pids;
static int npids;
static int nregion;

static void kill_sharers(void)
{
	int i;

	for (i = 0; i < npids; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
	npids = 0;
}

static void cleanup(void)
{
	kill_sharers();
	if (swap_owned) {
		run_cmd("swapoff /dev/zram0 >/dev/null 2>&1");
		write_file(ZRAM "/reset", "1");
		swap_owned = 0;
	}
	if (mnt[0]) {
		umount_instance(mnt);
		mnt[0] = '\0';
	}
}

static void die(const char *what)
{
	perror(what);
	exit(1);	/* cleanup() runs from atexit() */
}

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* The sum over all CPUs of the "TLB:" line of /proc/interrupts, or -1. */
static long tlb_shootdowns(void)
{
	char line[4096];
	long sum = -1;
	FILE *f;

	f = fopen("/proc/interrupts", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *s = line, *e;

		while (*s == ' ')
			s++;
		if (strncmp(s, "TLB:", 4))
			continue;
		s += 4;
		sum = 0;
		for (;;) {
			long v = strtol(s, &e, 10);

			if (e == s)
				break;
			sum += v;
			s = e;
		}
		break;
	}
	fclose(f);
	return sum;
}

static void swap_setup(void)
{
	char buf[4096];

	if (read_file("/proc/swaps", buf, sizeof(buf)) > 0 &&
	    strchr(buf, '\n') && strchr(buf, '\n')[1]) {
		snprintf(swap_note, sizeof(swap_note), "swap already on, used as it is");
		return;
	}
	if (write_file(ZRAM "/disksize", "256M") ||
	    run_cmd("mkswap /dev/zram0 >/dev/null 2>&1") ||
	    run_cmd("swapon /dev/zram0 >/dev/null 2>&1")) {
		write_file(ZRAM "/reset", "1");
		snprintf(swap_note, sizeof(swap_note),
			 "no swap (zram0 could not be set up): pages are unmapped, not paged out");
		return;
	}
	swap_owned = 1;
	snprintf(swap_note, sizeof(swap_note), "swap: 256 MiB on /dev/zram0");
}

/* A 16 MiB memfd filled with write(2): no page-table entry maps it yet. */
static int filled_memfd(void)
{
	static char buf[1 << 20];
	unsigned long done;
	int fd;

	fd = memfd_create("pageout", 0);
	if (fd < 0)
		die("memfd_create");
	memset(buf, 0x5a, sizeof(buf));
	for (done = 0; done < OBJ_SIZE; done += sizeof(buf))
		if (write(fd, buf, sizeof(buf)) != sizeof(buf))
			die("write memfd");
	return fd;
}

static void touch_all(volatile char *p, int how)
{
	unsigned long i;

	for (i = 0; i < NPAGES; i++) {
		if (how == WRITE)
			p[i * PAGE] = 1;
		else
			(void)p[i * PAGE];
	}
}

static volatile int spin_stop;

/* Keep reading one page, on CPU 1: the mm stays live there. */
static void spin_on(volatile char *p)
{
	pin(1);
	while (!spin_stop)
		(void)p[0];
}

static void *spin_thread(void *arg)
{
	spin_on(arg);
	return NULL;
}

/* Pages of the 16 MiB at p that pagemap shows present (mapped). */
static long present_pages(volatile char *p)
{
	uint64_t ent[512];
	unsigned long i, j;
	long n = 0;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return -1;
	for (i = 0; i < NPAGES; i += 512) {
		off_t off = ((unsigned long)p / PAGE + i) * sizeof(uint64_t);

		if (pread(fd, ent, sizeof(ent), off) != sizeof(ent)) {
			n = -1;
			break;
		}
		for (j = 0; j < 512; j++)
			n += !!(ent[j] & (1ULL << 63));
	}
	close(fd);
	return n;
}

static long ns_between(struct timespec *a, struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000000000L + (b->tv_nsec - a->tv_nsec);
}

/* One measurement: shootdown IPIs and microseconds of the advice. */
static void run_once(int kind, int nshare, int how, long *ipis, long *us,
		     long *unmapped)
{
	struct timespec t0, t1;
	volatile char *p;
	pthread_t spinner;
	int memfd, fd = -1, pipefd[2], i;
	unsigned long maplen;
	long before;
	char c;

	memfd = filled_memfd();
	if (kind == MSHAREFS) {
		char name[96];

		snprintf(name, sizeof(name), "r%d", nregion++);
		fd = region_create(mnt, name, unit);
		if (fd < 0) {
			errno = -fd;
			die("region");
		}
		errno = mshare_file(fd, 0, OBJ_SIZE, PROT_READ | PROT_WRITE, memfd);
		if (errno)
			die("MSHAREFS_CREATE_MAPPING");
		snprintf(name, sizeof(name), "%s/r%d", mnt, nregion - 1);
		unlink(name);
		maplen = unit;
	} else {
		fd = memfd;
		maplen = OBJ_SIZE;
	}

	if (pipe(pipefd))
		die("pipe");
	/* Before the fork: sharer 0 spins until it is killed. */
	spin_stop = 0;
	npids = 0;
	for (i = 0; kind == MSHAREFS && i < nshare; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			p = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			if (p == MAP_FAILED)
				_exit(1);
			touch_all(p, how);
			if (write(pipefd[1], "r", 1) != 1)
				_exit(1);
			if (i == 0)
				spin_on(p);
			pause();
			_exit(0);
		}
		pids[npids++] = pid;
	}
	for (i = 0; i < npids; i++)
		if (read(pipefd[0], &c, 1) != 1)
			die("sharer");

	p = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	touch_all(p, how);
	if (kind == MEMFD && pthread_create(&spinner, NULL, spin_thread, (void *)p))
		die("pthread_create");
	usleep(100000);

	before = tlb_shootdowns();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (madvise((void *)p, OBJ_SIZE, MADV_PAGEOUT))
		die("MADV_PAGEOUT");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*ipis = tlb_shootdowns() - before;
	*us = ns_between(&t0, &t1) / 1000;
	/* The spinner may have faulted its one page back. */
	*unmapped = NPAGES - present_pages(p);

	spin_stop = 1;
	if (kind == MEMFD)
		pthread_join(spinner, NULL);
	kill_sharers();
	munmap((void *)p, maplen);
	close(pipefd[0]);
	close(pipefd[1]);
	if (fd != memfd)
		close(fd);
	close(memfd);
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

static long median(long *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_long);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	long ipis[2][MAX_RUNS], us[2][MAX_RUNS], un[2][MAX_RUNS], mi[2], mu[2], mn[2];
	int nshare[2] = { 1, 64 }, runs = 5, missed = 0, opt, s, h, r, k;

	while ((opt = getopt(argc, argv, "n:r:")) != -1) {
		switch (opt) {
		case 'n':
			nshare[1] = atoi(optarg);
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-n sharers] [-r runs]\n", argv[0]);
			return 1;
		}
	}
	if (nshare[1] < 1 || runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "bad -n or -r\n");
		return 1;
	}
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		fprintf(stderr, "needs 2 CPUs\n");
		return 1;
	}
	pids = calloc(nshare[1], sizeof(*pids));
	if (!pids)
		die("calloc");
	atexit(cleanup);
	signal(SIGPIPE, SIG_IGN);
	if (mount_instance(mnt, sizeof(mnt)))
		die("mount msharefs");
	unit = mshare_unit(mnt);
	swap_setup();
	if (pin(0))
		die("sched_setaffinity");

	printf("mshare-bench-pageout: MADV_PAGEOUT of 16 MiB that a process on another\n"
	       "CPU keeps translating; msharefs: the pages linked by the sharers of a\n"
	       "region, memfd: mapped by one process (mainline pages out nothing that\n"
	       "two processes map). %s. Medians of %d runs, alternating.\n", swap_note, runs);
	printf("%-34s %10s %10s %8s   %s\n", "", "msharefs", "memfd", "ratio",
	       "target (msharefs / memfd)");
	for (s = 0; s < 2; s++) {
		for (h = READ; h <= WRITE; h++) {
			for (r = 0; r < runs; r++)
				for (k = MSHAREFS; k <= MEMFD; k++)
					run_once(k, nshare[s], h, &ipis[k][r], &us[k][r],
						 &un[k][r]);
			for (k = MSHAREFS; k <= MEMFD; k++) {
				mi[k] = median(ipis[k], runs);
				mu[k] = median(us[k], runs);
				mn[k] = median(un[k], runs);
			}
			printf("%d sharer%s, pages %s:\n", nshare[s], nshare[s] > 1 ? "s" : "",
			       touch_name[h]);
			printf("  %-32s %10ld %10ld\n", "pages unmapped (of 4096)", mn[MSHAREFS],
			       mn[MEMFD]);
			printf("  %-32s %10ld %10ld %8.2f   <= 2.00 %s\n", "TLB shootdown IPIs",
			       mi[MSHAREFS], mi[MEMFD],
			       (double)mi[MSHAREFS] / (mi[MEMFD] ? mi[MEMFD] : 1),
			       mi[MSHAREFS] <= 2 * (mi[MEMFD] ? mi[MEMFD] : 1) ? "PASS" : "FAIL");
			printf("  %-32s %10ld %10ld %8.2f   <= 1.50 %s\n", "time (us)",
			       mu[MSHAREFS], mu[MEMFD], (double)mu[MSHAREFS] / mu[MEMFD],
			       mu[MSHAREFS] * 2 <= mu[MEMFD] * 3 ? "PASS" : "FAIL");
			missed |= mi[MSHAREFS] > 2 * (mi[MEMFD] ? mi[MEMFD] : 1) ||
				  mu[MSHAREFS] * 2 > mu[MEMFD] * 3;
			printf("pageout_%d_%s_ipis=%ld,%ld\npageout_%d_%s_us=%ld,%ld\n",
			       nshare[s], touch_name[h], mi[MSHAREFS], mi[MEMFD],
			       nshare[s], touch_name[h], mu[MSHAREFS], mu[MEMFD]);
		}
	}
	return missed ? 2 : 0;
}
