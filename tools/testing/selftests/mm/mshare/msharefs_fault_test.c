// SPDX-License-Identifier: GPL-2.0
/*
 * The fault path of a region: faults served under the per-VMA lock, a
 * region fault counted once in PGFAULT, and waits for a busy host mm that
 * a kill ends (a file system stuck under the host's locks must not hang
 * every sharer, nor the ioctl caller, unkillably).
 */
#define _GNU_SOURCE
#include <linux/msharefs.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>

#include "../../kselftest_harness.h"
#include "mshare_util.h"

#define PAGE	4096UL
#define MB	(1UL << 20)
#define RW	(PROT_READ | PROT_WRITE)

/* <linux/fs.h> clashes with <sys/mount.h>. */
#ifndef FIFREEZE
#define FIFREEZE	_IOWR('X', 119, int)
#define FITHAW		_IOWR('X', 120, int)
#endif

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif

/* A counter of /proc/vmstat, or -1 if the kernel has no such counter. */
static long vmstat_get(const char *name)
{
	char line[256];
	size_t len = strlen(name);
	long val = -1;
	FILE *f;

	f = fopen("/proc/vmstat", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, name, len) && line[len] == ' ') {
			val = atol(line + len + 1);
			break;
		}
	}
	fclose(f);
	return val;
}

/* The state letter of /proc/PID/stat (R, S, D, ...), or 0. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* Wait up to secs for pid to be in state D: 1 if it got there. */
static int wait_state_d(pid_t pid, int secs)
{
	int i;

	for (i = 0; i < secs * 100; i++) {
		if (proc_state(pid) == 'D')
			return 1;
		usleep(10000);
	}
	return 0;
}

/*
 * Reap pid if it ends within secs: 1 with its status, 0 if it is still
 * there (it is left alone: it may be stuck in the kernel).
 */
static int reaped_within(pid_t pid, int *status, int secs)
{
	int i;

	for (i = 0; i < secs * 100; i++) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return 1;
		usleep(10000);
	}
	return 0;
}

FIXTURE(fault) {
	char mnt[64];
	char path[96];
	unsigned long unit;
	int fd;
	char *p;
};

FIXTURE_SETUP(fault)
{
	region_fixture_setup(_metadata, self->mnt, sizeof(self->mnt),
			     self->path, sizeof(self->path), &self->unit,
			     &self->fd, 1);
	self->p = NULL;
}

FIXTURE_TEARDOWN(fault)
{
	if (self->p)
		munmap(self->p, self->unit);
	close(self->fd);
	unlink(self->path);
	umount_instance(self->mnt);
}

/*
 * A region fault runs a host fault inside the process's: /proc/vmstat's
 * pgfault and the task's min_flt must count it once.
 */
TEST_F(fault, pgfault_counted_once)
{
	const unsigned long n = 4096;
	long before, minflt, faults, counted;
	unsigned long i;

	ASSERT_EQ(0, mshare_anon(self->fd, 0, n * PAGE));
	self->p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, self->p);

	before = vmstat_get("pgfault");
	ASSERT_LE(0, before);
	minflt = self_minflt();
	for (i = 0; i < n; i++)
		self->p[i * PAGE] = 1;
	counted = vmstat_get("pgfault") - before;
	faults = self_minflt() - minflt;

	TH_LOG("%lu pages written: %ld minor faults, pgfault +%ld", n, faults,
	       counted);
	/* One fault per page, one more where a link was made. */
	ASSERT_LE(n, faults);
	ASSERT_GE(n + 16, faults);
	/* Counted twice it would be 2n; allow for other tasks' faults. */
	ASSERT_LE(n, counted);
	ASSERT_GT(n + n / 4, counted);
}

struct toucher {
	char *p;
	unsigned long pages;
	pthread_barrier_t *start;
};

static void *touch_half(void *arg)
{
	struct toucher *t = arg;
	unsigned long i;

	pthread_barrier_wait(t->start);
	for (i = 0; i < t->pages; i++)
		t->p[i * PAGE] = 1;
	return NULL;
}

/*
 * Two threads fault disjoint halves of fresh region memory: the faults are
 * served under the per-VMA lock (CONFIG_PER_VMA_LOCK_STATS counts them),
 * not retried under the process's mmap_lock.
 */
TEST_F(fault, threads_fault_under_vma_lock)
{
	const unsigned long n = 8192;
	struct toucher t[2];
	pthread_barrier_t start;
	pthread_t th[2];
	long ok0, retry0, ok, retry;
	int i;

	ok0 = vmstat_get("vma_lock_success");
	retry0 = vmstat_get("vma_lock_retry");
	if (ok0 < 0 || retry0 < 0)
		SKIP(return, "no CONFIG_PER_VMA_LOCK_STATS");

	ASSERT_EQ(0, mshare_anon(self->fd, 0, n * PAGE));
	self->p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, self->p);
	/* The first fault allocates the process's side: not measured. */
	self->p[0] = 1;

	ASSERT_EQ(0, pthread_barrier_init(&start, NULL, 3));
	/* Pages 1 to n/2 - 1, and n/2 to n - 1. */
	for (i = 0; i < 2; i++) {
		t[i].p = self->p + (i ? n / 2 : 1) * PAGE;
		t[i].pages = n / 2 - !i;
		t[i].start = &start;
		ASSERT_EQ(0, pthread_create(&th[i], NULL, touch_half, &t[i]));
	}
	ok0 = vmstat_get("vma_lock_success");
	retry0 = vmstat_get("vma_lock_retry");
	pthread_barrier_wait(&start);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	ok = vmstat_get("vma_lock_success") - ok0;
	retry = vmstat_get("vma_lock_retry") - retry0;
	pthread_barrier_destroy(&start);

	TH_LOG("%lu faults: %ld served under the VMA lock, %ld retried",
	       n - 1, ok, retry);
	ASSERT_LE((long)(n - 1) * 9 / 10, ok);
	ASSERT_GE((long)(n - 1) / 10, retry);
	for (i = 0; i < (int)n; i++)
		ASSERT_EQ(1, self->p[i * PAGE]);
}

/*
 * A file system frozen under a write fault holds the host's locks: the
 * writer waits in page_mkwrite, an MSHAREFS_UNMAP of its mapping then waits
 * for it with the host's mmap_lock held, and every other fault waits for
 * that. The writer's wait is the file system's, as with mmap(); the others
 * must end when they are killed. Once the file system thaws, the unmap
 * that was given up by its killed caller completes anyway.
 */
TEST_F(fault, waits_for_busy_host_are_killable)
{
	pid_t writer, unmapper, faulter;
	int status, objfd, dirfd, frozen = 0, ok_u, ok_f, i;
	struct ext2_loop e2;
	char file[128];
	char *buf;

	if (geteuid())
		SKIP(return, "needs root");
	if (ext2_loop_setup(&e2, 64)) {
		ext2_loop_teardown(&e2);
		SKIP(return, "no ext2 on a loop device");
	}
	snprintf(file, sizeof(file), "%s/data", e2.dir);
	objfd = open(file, O_RDWR | O_CREAT, 0600);
	ASSERT_LE(0, objfd);
	buf = malloc(8 * MB);
	ASSERT_NE(NULL, buf);
	memset(buf, 0x5a, 8 * MB);
	ASSERT_EQ((ssize_t)(8 * MB), write(objfd, buf, 8 * MB));
	free(buf);
	ASSERT_EQ(0, fsync(objfd));
	ASSERT_EQ(0, mshare_file(self->fd, 0, 8 * MB, RW, objfd));
	dirfd = open(e2.dir, O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, dirfd);

	self->p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, self->p);
	/* Read faults map the clean pages read-only: a write needs mkwrite. */
	for (i = 0; i < 8 * (int)MB; i += PAGE)
		ASSERT_EQ(0x5a, self->p[i]);

	ASSERT_EQ(0, ioctl(dirfd, FIFREEZE, 0));
	frozen = 1;

	writer = fork_child();
	ASSERT_LE(0, writer);
	if (writer == 0) {
		self->p[0] = 1;		/* waits for the thaw */
		_exit(0);
	}
	ASSERT_TRUE(wait_state_d(writer, 10)) TH_LOG("the writer did not block");

	unmapper = fork_child();
	ASSERT_LE(0, unmapper);
	if (unmapper == 0)
		_exit(mshare_unmap(self->fd, 0, 8 * MB));
	ASSERT_TRUE(wait_state_d(unmapper, 10) || proc_state(unmapper) == 'S');
	usleep(300000);

	faulter = fork_child();
	ASSERT_LE(0, faulter);
	if (faulter == 0) {
		/* Another page of the same host mapping. */
		_exit(self->p[4 * MB] == 0x5a ? 0 : 1);
	}
	usleep(500000);
	/* Neither may have finished: the host is busy until the thaw. */
	ASSERT_EQ(0, waitpid(unmapper, &status, WNOHANG));
	ASSERT_EQ(0, waitpid(faulter, &status, WNOHANG));

	kill(unmapper, SIGKILL);
	kill(faulter, SIGKILL);
	ok_u = reaped_within(unmapper, &status, 10) && killed_by(status, SIGKILL);
	ok_f = reaped_within(faulter, &status, 10) && killed_by(status, SIGKILL);

	ASSERT_EQ(0, ioctl(dirfd, FITHAW, 0));
	frozen = 0;
	/*
	 * Whatever happened, nobody may be left stuck once it thaws. The
	 * writer's store completes, or its retry finds the range unmapped
	 * by then (the unmap waited for its fault, not for its retry).
	 */
	ASSERT_TRUE(reaped_within(writer, &status, 30));
	ASSERT_TRUE(exited_with(status, 0) || killed_by(status, SIGSEGV));
	if (!ok_u)
		waitpid(unmapper, &status, 0);
	if (!ok_f)
		waitpid(faulter, &status, 0);
	ASSERT_TRUE(ok_u) TH_LOG("the ioctl caller was not killable");
	ASSERT_TRUE(ok_f) TH_LOG("a faulting sharer was not killable");

	/* The abandoned unmap completed: the range is a hole now. */
	for (i = 0; i < 500; i++) {
		unsigned long v;

		if (probe_read(self->p, &v) == SIGSEGV)
			break;
		usleep(10000);
	}
	ASSERT_GT(500, i) TH_LOG("the killed caller's unmap never completed");

	if (frozen)
		ioctl(dirfd, FITHAW, 0);
	close(dirfd);
	close(objfd);
	munmap(self->p, self->unit);
	self->p = NULL;
	ext2_loop_teardown(&e2);
}

static void pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/*
 * Reclaim batches a host's flushes and sends them to the sharers at the
 * end of the batch. A sharer that keeps reading a page on another CPU
 * while it is paged out must lose its translation: it then faults the
 * page back, and sees a later write; with a stale TLB entry it would go on
 * reading the freed page. Both with clean entries (a memfd filled with
 * write(2), read through the region: one flush per batch) and dirty ones
 * (written through the region: a flush before each write-out).
 */
TEST_F(fault, pageout_reaches_running_sharer)
{
	const unsigned long size = 4 * MB;
	volatile long *seen;
	volatile char *p;
	int written, objfd;
	pid_t pid;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs 2 CPUs");
	if (!zram_swap_on())
		SKIP(return, "no swap on zram0");
	seen = shared_mem(PAGE);
	ASSERT_NE(NULL, seen);

	for (written = 0; written < 2; written++) {
		static char buf[1 << 20];
		unsigned long i;
		int status;

		if (written) {
			objfd = -1;
			ASSERT_EQ(0, mshare_anon(self->fd, 0, size));
		} else {
			objfd = memfd_create("pageout", 0);
			ASSERT_LE(0, objfd);
			memset(buf, 0x5a, sizeof(buf));
			for (i = 0; i < size; i += sizeof(buf))
				ASSERT_EQ((ssize_t)sizeof(buf),
					  write(objfd, buf, sizeof(buf)));
			ASSERT_EQ(0, mshare_file(self->fd, 0, size, RW, objfd));
		}
		self->p = map_region(self->fd, self->unit, RW);
		ASSERT_NE(NULL, self->p);
		p = self->p;
		for (i = 0; i < size; i += PAGE) {
			if (written)
				p[i] = 0x5a;
			else
				ASSERT_EQ(0x5a, p[i]);
		}

		seen[0] = 0;
		seen[1] = 0;
		pin_cpu(0);
		pid = fork_child();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			pin_cpu(1);
			seen[1] = 1;
			for (;;)
				seen[0] = p[0];
		}
		while (!seen[1])
			usleep(1000);
		usleep(100000);
		ASSERT_EQ(0x5a, seen[0]);

		ASSERT_EQ(0, madvise((void *)p, size, MADV_PAGEOUT));
		p[0] = 0x77;
		for (i = 0; i < 100 && seen[0] != 0x77; i++)
			usleep(10000);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		ASSERT_EQ(0x77, seen[0]) TH_LOG("%s pages: the sharer still reads the paged-out page",
						 written ? "written" : "read");
		for (i = PAGE; i < size; i += PAGE)
			ASSERT_EQ(0x5a, p[i]);

		munmap((void *)p, self->unit);
		self->p = NULL;
		ASSERT_EQ(0, mshare_unmap(self->fd, 0, size));
		if (objfd >= 0)
			close(objfd);
	}
	zram_swap_off();
}

TEST_HARNESS_MAIN
