// SPDX-License-Identifier: GPL-2.0
/*
 * mshare_attach: a process that maps a region and stays, for the shell
 * selftests of mshare-ctl (msharefs_ctl_test.sh), which need processes
 * attached to a region while they look at it.
 *
 *   mshare_attach [-r] [-w] [-p] [-o OFFSET] [-l LEN] [-d] [-D SECONDS] PATH
 *
 * Maps the whole region at PATH shared (read-write, or read-only with -r),
 * with -p touches the first page at OFFSET, prints "mapped ADDRESS", then
 * with -w waits for SIGUSR1. It then touches
 * every page of [OFFSET, OFFSET + LEN) (writes, or reads with -r), with -d
 * gives the range back with MADV_DONTNEED, prints "touched", and sleeps
 * until it is killed, or for SECONDS with -D. Exit codes: 0 (timed out
 * with -D), 1 (bad usage), 2 (open), 3 (mmap), 4 (madvise).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE	4096UL

static volatile sig_atomic_t go;

static void touch(char *p, unsigned long len, int ro)
{
	unsigned long i;

	for (i = 0; i < len; i += PAGE) {
		if (ro)
			(void)*(volatile char *)(p + i);
		else
			*(volatile char *)(p + i) = 1;
	}
}

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

int main(int argc, char **argv)
{
	unsigned long off = 0, len = 0, secs = 0;
	int ro = 0, wait_go = 0, dontneed = 0, first = 0, fd, c;
	sigset_t block, old;
	struct stat st;
	char *p;

	while ((c = getopt(argc, argv, "rwpo:l:dD:")) != -1) {
		switch (c) {
		case 'r':
			ro = 1;
			break;
		case 'w':
			wait_go = 1;
			break;
		case 'p':
			first = 1;
			break;
		case 'o':
			off = strtoul(optarg, NULL, 0);
			break;
		case 'l':
			len = strtoul(optarg, NULL, 0);
			break;
		case 'd':
			dontneed = 1;
			break;
		case 'D':
			secs = strtoul(optarg, NULL, 0);
			break;
		default:
			return 1;
		}
	}
	if (optind != argc - 1)
		return 1;

	/* Set up before "mapped": the signal may come right after it. */
	signal(SIGUSR1, on_usr1);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);

	fd = open(argv[optind], ro ? O_RDONLY : O_RDWR);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "mshare_attach: %s: %s\n", argv[optind], strerror(errno));
		return 2;
	}
	p = mmap(NULL, st.st_size, ro ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "mshare_attach: mmap: %s\n", strerror(errno));
		return 3;
	}
	if (first && len)
		touch(p + off, PAGE, ro);
	printf("mapped %p\n", p);
	fflush(stdout);

	while (wait_go && !go)
		sigsuspend(&old);

	touch(p + off, len, ro);
	if (dontneed && len && madvise(p + off, len, MADV_DONTNEED)) {
		fprintf(stderr, "mshare_attach: madvise: %s\n", strerror(errno));
		return 4;
	}
	printf("touched\n");
	fflush(stdout);
	if (secs) {
		sleep(secs);
		return 0;
	}
	for (;;)
		pause();
}
