// SPDX-License-Identifier: GPL-2.0
/*
 * Processes mapping a region: the mmap() rules, faults resolved in the host,
 * unlinking on munmap/exit/exec, TLB coherence when the host changes,
 * operations on the region VMA (mprotect, munmap, mremap, madvise, fork,
 * userfaultfd, mlock), accounting (maps, smaps, VmPTE, PageTables) and every
 * kind of host object shared between processes.
 */
#define _GNU_SOURCE
#include <linux/msharefs.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <sys/swap.h>
#include <sys/syscall.h>

#include "../../kselftest_harness.h"
#include "mshare_util.h"

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB	(21 << MAP_HUGE_SHIFT)
#endif
#ifndef MADV_COLD
#define MADV_COLD		20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT		21
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE		25
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT		0x01
#endif

#define PAGE	4096UL
#define MB	(1UL << 20)
#define RW	(PROT_READ | PROT_WRITE)

/* A value for word i of a pattern; never 0. */
static inline unsigned long pat(unsigned long seed, unsigned long i)
{
	return ((seed << 48) ^ (i * 0x9e3779b97f4a7c15UL) ^ 0x5a5a5a5aUL) | 1;
}

/* Word `word` of every page of [p, p + len) gets pat(seed, page). */
static void fill_pages(char *p, unsigned long len, unsigned long seed, int word)
{
	unsigned long i;

	for (i = 0; i < len / PAGE; i++)
		((volatile unsigned long *)(p + i * PAGE))[word] = pat(seed, i);
}

/* How many pages of [p, p + len) do not hold what fill_pages() put there. */
static unsigned long check_pages(const char *p, unsigned long len, unsigned long seed,
				 int word)
{
	unsigned long i, bad = 0;

	for (i = 0; i < len / PAGE; i++)
		if (((volatile const unsigned long *)(p + i * PAGE))[word] != pat(seed, i))
			bad++;
	return bad;
}

/* The same in a file object, read with pread(). */
static unsigned long check_file_pages(int fd, unsigned long len, unsigned long seed, int word)
{
	unsigned long i, v, bad = 0;

	for (i = 0; i < len / PAGE; i++) {
		if (pread(fd, &v, sizeof(v), i * PAGE + word * sizeof(v)) != sizeof(v) ||
		    v != pat(seed, i))
			bad++;
	}
	return bad;
}

/*
 * Fork a child that maps the region (fd, of u bytes) and fill_pages() its
 * first len bytes with seed at word 0: it exits 0, or 1 if it cannot map.
 * Returns the pid (-1 if fork failed).
 */
static pid_t fill_in_child(int fd, unsigned long u, unsigned long len, unsigned long seed)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		char *p = map_region(fd, u, RW);

		if (!p)
			_exit(1);
		fill_pages(p, len, seed, 0);
		_exit(0);
	}
	return pid;
}

/*
 * Fork a child that maps the region read-only and check_pages() its first
 * len bytes: it exits 0 if they hold seed, 2 if not, 1 if it cannot map.
 */
static pid_t check_in_child(int fd, unsigned long u, unsigned long len, unsigned long seed)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		char *p = map_region(fd, u, PROT_READ);

		_exit(!p ? 1 : check_pages(p, len, seed, 0) ? 2 : 0);
	}
	return pid;
}

/* mmap() that is expected to fail: its errno, or 0 (and unmapped) if it worked. */
static int mmap_err(void *addr, unsigned long len, int prot, int flags, int fd, off_t off)
{
	void *p = mmap(addr, len, prot, flags, fd, off);

	if (p == MAP_FAILED)
		return errno;
	munmap(p, len);
	return 0;
}

static int pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static int fault_kind(void *addr, int write, void **where)
{
	unsigned long v = 0x77;

	return probe((volatile unsigned long *)addr, write, &v, where);
}

FIXTURE(share) {
	char mnt[64];
	char path[128];
	unsigned long unit;
	int fd;		/* a region of one unit, open O_RDWR */
	int zram;	/* swap on /dev/zram0 to turn off */
};

FIXTURE_SETUP(share)
{
	self->fd = -1;
	self->zram = 0;
	region_fixture_setup(_metadata, self->mnt, sizeof(self->mnt), self->path,
			     sizeof(self->path), &self->unit, &self->fd, 1);
}

static void zram_off(void)
{
	swapoff("/dev/zram0");
	write_file("/sys/block/zram0/reset", "1");
}

FIXTURE_TEARDOWN(share)
{
	if (self->zram)
		zram_off();
	if (self->fd >= 0)
		close(self->fd);
	umount_instance(self->mnt);
}

/* ---------------------------------------------------------------------- */
/* 2. Mapping a region                                                     */
/* ---------------------------------------------------------------------- */

/* Every refusal of mmap() with its errno; what is right still maps. */
TEST_F(share, mmap_refusals)
{
	unsigned long u = self->unit;
	char *fixed;
	int ro;

	EXPECT_EQ(EINVAL, mmap_err(NULL, u, RW, MAP_PRIVATE, self->fd, 0));
	EXPECT_EQ(EINVAL, mmap_err(NULL, u, PROT_READ, MAP_PRIVATE, self->fd, 0));
	/* Length other than the region size, smaller or larger. */
	EXPECT_EQ(EINVAL, mmap_err(NULL, u / 2, RW, MAP_SHARED, self->fd, 0));
	EXPECT_EQ(EINVAL, mmap_err(NULL, u - PAGE, RW, MAP_SHARED, self->fd, 0));
	EXPECT_EQ(EINVAL, mmap_err(NULL, PAGE, RW, MAP_SHARED, self->fd, 0));
	EXPECT_EQ(EINVAL, mmap_err(NULL, u + PAGE, RW, MAP_SHARED, self->fd, 0));
	EXPECT_EQ(EINVAL, mmap_err(NULL, 2 * u, RW, MAP_SHARED, self->fd, 0));
	/* Offset other than 0. */
	EXPECT_EQ(EINVAL, mmap_err(NULL, u, RW, MAP_SHARED, self->fd, PAGE));
	EXPECT_EQ(EINVAL, mmap_err(NULL, u, RW, MAP_SHARED, self->fd, u));
	/* MAP_FIXED at an address that is not aligned to the unit. */
	fixed = free_aligned_range(2 * u, u);
	ASSERT_NE(NULL, fixed);
	EXPECT_EQ(EINVAL, mmap_err(fixed + 2 * MB, u, RW, MAP_SHARED | MAP_FIXED, self->fd, 0));
	EXPECT_EQ(EINVAL, mmap_err(fixed + PAGE, u, RW, MAP_SHARED | MAP_FIXED, self->fd, 0));
	EXPECT_EQ(EINVAL, mmap_err(fixed + u / 2, u, RW, MAP_SHARED | MAP_FIXED, self->fd, 0));
	/* No PROT_EXEC in a process mapping of a region. */
	EXPECT_EQ(EINVAL, mmap_err(NULL, u, PROT_READ | PROT_EXEC, MAP_SHARED, self->fd, 0));
	EXPECT_EQ(EINVAL, mmap_err(NULL, u, RW | PROT_EXEC, MAP_SHARED, self->fd, 0));
	EXPECT_EQ(EINVAL, mmap_err(NULL, u, PROT_EXEC, MAP_SHARED, self->fd, 0));
	/* A read-only fd maps shared only without PROT_WRITE, as for any file. */
	ro = open(self->path, O_RDONLY);
	ASSERT_LE(0, ro);
	EXPECT_EQ(EACCES, mmap_err(NULL, u, RW, MAP_SHARED, ro, 0));
	EXPECT_EQ(EACCES, mmap_err(NULL, u, PROT_WRITE, MAP_SHARED, ro, 0));

	/* The refusals were for what they named: the right call maps. */
	EXPECT_EQ(0, mmap_err(NULL, u, RW, MAP_SHARED, self->fd, 0));
	EXPECT_EQ(0, mmap_err(NULL, u, PROT_READ, MAP_SHARED, ro, 0));
	close(ro);
}

TEST_F(share, mmap_unsized_region)
{
	int fd;

	fd = region_create(self->mnt, "unsized", 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(EINVAL, mmap_err(NULL, self->unit, RW, MAP_SHARED, fd, 0));
	EXPECT_EQ(EINVAL, mmap_err(NULL, PAGE, RW, MAP_SHARED, fd, 0));
	close(fd);
}

/* Kernel-chosen addresses are aligned, even from an unaligned hint. */
TEST_F(share, mmap_addresses_aligned)
{
	unsigned long u = self->unit;
	char *p, *hint;
	unsigned long v = 0;

	ASSERT_EQ(0, mshare_anon(self->fd, 0, 2 * MB));

	p = map_region(self->fd, u, RW);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0, (uintptr_t)p % u) TH_LOG("region mapped at %p", p);
	EXPECT_EQ(0, munmap(p, u));

	hint = free_aligned_range(3 * u, u);
	ASSERT_NE(NULL, hint);
	p = mmap(hint + u / 2 + 5 * PAGE, u, RW, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, (uintptr_t)p % u) TH_LOG("hint %p gave %p", hint + u / 2 + 5 * PAGE, p);
	EXPECT_EQ(0, munmap(p, u));

	/* MAP_FIXED at an aligned address maps there, and works. */
	hint = free_aligned_range(u, u);
	ASSERT_NE(NULL, hint);
	p = mmap(hint, u, RW, MAP_SHARED | MAP_FIXED, self->fd, 0);
	ASSERT_EQ(hint, p);
	EXPECT_EQ(0, probe_write(p + PAGE, 0x1234));
	EXPECT_EQ(0, probe_read(p + PAGE, &v));
	EXPECT_EQ(0x1234, v);
	EXPECT_EQ(0, munmap(p, u));
}

/* Host mappings are never executable. */
TEST_F(share, create_mapping_exec_refused)
{
	const int fixed = MAP_SHARED | MAP_FIXED;
	int mfd;

	EXPECT_EQ(EINVAL, mshare_create(self->fd, 0, 2 * MB, PROT_READ | PROT_EXEC,
					fixed | MAP_ANONYMOUS, -1, 0));
	EXPECT_EQ(EINVAL, mshare_create(self->fd, 0, 2 * MB, RW | PROT_EXEC,
					fixed | MAP_ANONYMOUS, -1, 0));
	mfd = memfd_create("exec", 0);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, 2 * MB));
	EXPECT_EQ(EINVAL, mshare_create(self->fd, 0, 2 * MB, PROT_READ | PROT_EXEC, fixed, mfd, 0));
	EXPECT_EQ(EINVAL, mshare_create(self->fd, 0, 2 * MB, RW | PROT_EXEC, fixed, mfd, 0));
	/* Nothing was mapped by them. */
	EXPECT_EQ(0, mshare_file(self->fd, 0, 2 * MB, PROT_READ, mfd));
	EXPECT_EQ(0, mshare_anon(self->fd, 2 * MB, 2 * MB));
	close(mfd);
}

/*
 * A read-only sharer (PROT_READ mapping of a writable fd, or any mapping of
 * an O_RDONLY fd) reads the data and cannot store: SIGSEGV, data unchanged.
 */
static int read_only_sharer(const char *path, int rwfd, unsigned long u, int use_ro_fd)
{
	unsigned long v = 0;
	char *r;
	int fd = rwfd;

	if (use_ro_fd) {
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return 1;
		if (mmap_err(NULL, u, RW, MAP_SHARED, fd, 0) != EACCES)
			return 2;
	}
	r = map_region(fd, u, PROT_READ);
	if (!r)
		return 3;
	if (check_pages(r, 2 * MB, 1, 0))
		return 4;
	if (fault_kind(r, 1, NULL) != SIGSEGV)
		return 5;
	if (fault_kind(r + MB + 8, 1, NULL) != SIGSEGV)
		return 6;
	if (probe_read(r, &v) || v != pat(1, 0))
		return 7;
	if (check_pages(r, 2 * MB, 1, 0))
		return 8;
	return 0;
}

TEST_F(share, read_only_mappings)
{
	int st, k;
	pid_t pid;

	ASSERT_EQ(0, mshare_anon(self->fd, 0, 2 * MB));
	pid = fill_in_child(self->fd, self->unit, 2 * MB, 1);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, wait_child(pid, &st, 30));
	ASSERT_TRUE(exited_with(st, 0));

	for (k = 0; k < 2; k++) {
		pid = fork_child();
		ASSERT_LE(0, pid);
		if (pid == 0)
			_exit(read_only_sharer(self->path, self->fd, self->unit, k));
		ASSERT_EQ(0, wait_child(pid, &st, 30));
		EXPECT_TRUE(exited_with(st, 0))
			TH_LOG("%s sharer: status %#x", k ? "O_RDONLY fd" : "PROT_READ", st);
	}

	/* The data never changed. */
	pid = check_in_child(self->fd, self->unit, 2 * MB, 1);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, wait_child(pid, &st, 30));
	EXPECT_TRUE(exited_with(st, 0));
}

/* ---------------------------------------------------------------------- */
/* 3. Faults                                                               */
/* ---------------------------------------------------------------------- */

static int memfd_with_pattern(unsigned long size, unsigned long seed)
{
	unsigned long i, v;
	int mfd = memfd_create("obj", 0);

	if (mfd < 0 || ftruncate(mfd, size))
		return -1;
	for (i = 0; i < size / PAGE; i++) {
		v = pat(seed, i);
		if (pwrite(mfd, &v, sizeof(v), i * PAGE) != sizeof(v))
			return -1;
	}
	return mfd;
}

/* A process touching the region gets the host object's data, both ways. */
TEST_F(share, fault_gets_host_data)
{
	unsigned long v = 0;
	char *p;
	int mfd;

	mfd = memfd_with_pattern(2 * MB, 2);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, mshare_file(self->fd, 4 * MB, 2 * MB, RW, mfd));
	p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0, check_pages(p + 4 * MB, 2 * MB, 2, 0));
	fill_pages(p + 4 * MB, 2 * MB, 3, 1);
	EXPECT_EQ(0, check_file_pages(mfd, 2 * MB, 3, 1));
	v = pat(9, 9);
	ASSERT_EQ(sizeof(v), pwrite(mfd, &v, sizeof(v), PAGE + 16));
	EXPECT_EQ(pat(9, 9), ((unsigned long *)(p + 4 * MB + PAGE))[2]);
	munmap(p, self->unit);
	close(mfd);
}

/* The host mapping decides permission: a store where it is read-only faults. */
TEST_F(share, host_read_only_store_sigsegv)
{
	unsigned long v = 0;
	char *p;
	int mfd;

	mfd = memfd_with_pattern(2 * MB, 4);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, mshare_file(self->fd, 0, 2 * MB, PROT_READ, mfd));
	p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0, probe_read(p + PAGE, &v));
	EXPECT_EQ(pat(4, 1), v);
	EXPECT_EQ(SIGSEGV, fault_kind(p + PAGE, 1, NULL));
	EXPECT_EQ(SIGSEGV, fault_kind(p, 1, NULL));	/* never read before */
	EXPECT_EQ(0, check_file_pages(mfd, 2 * MB, 4, 0));
	EXPECT_EQ(0, check_pages(p, 2 * MB, 4, 0));
	munmap(p, self->unit);
	close(mfd);
}

/* An address in a hole of the region: SIGSEGV at the process's address. */
TEST_F(share, hole_sigsegv)
{
	unsigned long u = self->unit;
	void *si = NULL;
	char *p;

	ASSERT_EQ(0, mshare_anon(self->fd, 2 * MB, 2 * MB));
	p = map_region(self->fd, u, RW);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0, fault_kind(p + 2 * MB, 1, NULL));
	EXPECT_EQ(0, fault_kind(p + 4 * MB - 8, 1, NULL));
	EXPECT_EQ(SIGSEGV, fault_kind(p, 0, &si));
	EXPECT_EQ(p, si);
	EXPECT_EQ(SIGSEGV, fault_kind(p + 2 * MB - 8, 1, &si));
	EXPECT_EQ(p + 2 * MB - 8, si);
	EXPECT_EQ(SIGSEGV, fault_kind(p + 4 * MB, 0, &si));
	EXPECT_EQ(p + 4 * MB, si);
	EXPECT_EQ(SIGSEGV, fault_kind(p + u - 8, 1, &si));
	EXPECT_EQ(p + u - 8, si);
	/* The mapped range still works after the faults around it. */
	EXPECT_EQ(0, fault_kind(p + 3 * MB, 1, NULL));
	munmap(p, u);
}

/* Beyond the end of a file object: SIGBUS. */
TEST_F(share, beyond_eof_sigbus)
{
	unsigned long v = 0;
	void *si = NULL;
	char *p;
	int mfd;

	mfd = memfd_with_pattern(PAGE, 5);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, mshare_file(self->fd, 0, 2 * PAGE, RW, mfd));
	p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0, probe_read(p, &v));
	EXPECT_EQ(pat(5, 0), v);
	EXPECT_EQ(SIGBUS, fault_kind(p + PAGE, 0, &si));
	EXPECT_EQ(p + PAGE, si);
	EXPECT_EQ(SIGBUS, fault_kind(p + PAGE + 64, 1, &si));
	EXPECT_EQ(p + PAGE + 64, si);
	munmap(p, self->unit);
	close(mfd);
}

/*
 * After the first touch links the process's PUD entry to the host's PMD
 * table, pages the host already maps cost no fault: a process writing one
 * byte per page of a fully written 1 GiB takes at most 2 minor faults.
 */
TEST_F_TIMEOUT(share, no_faults_after_link_1g, 240)
{
	unsigned long u = self->unit;
	long *res;
	pid_t pid;
	int st;

	res = shared_mem(PAGE);
	ASSERT_NE(NULL, res);
	ASSERT_EQ(0, mshare_anon(self->fd, 0, u));

	pid = fill_in_child(self->fd, u, u, 6);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, wait_child(pid, &st, 200));
	ASSERT_TRUE(exited_with(st, 0));

	pid = fork_child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		volatile char *p = (volatile char *)map_region(self->fd, u, RW);
		unsigned long i, bad = 0;
		long f0, f1;

		if (!p)
			_exit(1);
		self_minflt();
		f0 = self_minflt();
		for (i = 0; i < u / PAGE; i++) {
			p[i * PAGE + 8] = 1;
			if (*(volatile unsigned long *)(p + i * PAGE) != pat(6, i))
				bad++;
		}
		f1 = self_minflt();
		res[0] = f1 - f0;
		res[1] = bad;
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid, &st, 200));
	ASSERT_TRUE(exited_with(st, 0));
	TH_LOG("minor faults writing 1 GiB of a populated region: %ld", res[0]);
	EXPECT_EQ(0, res[1]);
	EXPECT_LE(res[0], 2);
}

/* ---------------------------------------------------------------------- */
/* 4. Unlinking                                                            */
/* ---------------------------------------------------------------------- */

/*
 * munmap of the whole region, exit and exec unlink the process; once they
 * are all gone and the region is unlinked, PageTables is back where it was.
 */
TEST_F_TIMEOUT(share, unlink_on_munmap_exit_exec, 120)
{
	/* Host tables of 1 MiB: well above PageTables' noise. */
	const unsigned long size = 512 * MB;
	unsigned long u = self->unit;
	long pt0, pt1, pt2;
	char path[160];
	int rfd, st, k;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/pt", self->mnt);
	drain_slabs();
	meminfo_kb("PageTables");
	pt0 = meminfo_kb("PageTables");
	ASSERT_LT(0, pt0);

	rfd = region_create(self->mnt, "pt", u);
	ASSERT_LE(0, rfd);
	ASSERT_EQ(0, mshare_anon(rfd, 0, size));

	for (k = 0; k < 3; k++) {
		pid = fork_child();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			char *p = map_region(rfd, u, RW);
			volatile unsigned long *q;

			if (!p)
				_exit(1);
			if (k == 0)
				fill_pages(p, size, 7, 0);
			else if (check_pages(p, size, 7, 0))
				_exit(2);
			if (k == 2) {
				execl("/bin/sh", "sh", "-c", "exit 7", (char *)NULL);
				_exit(3);
			}
			if (k == 1)
				_exit(0);	/* exit with the region mapped */
			/*
			 * munmap unlinks: memory mapped there afterwards is the
			 * process's own, not the host's.
			 */
			if (munmap(p, u))
				_exit(4);
			q = mmap(p, 2 * MB, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			if (q == MAP_FAILED)
				_exit(5);
			if (q[0] != 0)
				_exit(6);
			q[0] = 0xdead;
			_exit(0);
		}
		ASSERT_EQ(0, wait_child(pid, &st, 60));
		EXPECT_TRUE(exited_with(st, k == 2 ? 7 : 0))
			TH_LOG("child %d: status %#x", k, st);
	}
	/* Nothing the first child did after munmap reached the host. */
	pid = check_in_child(rfd, u, size, 7);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, wait_child(pid, &st, 60));
	EXPECT_TRUE(exited_with(st, 0));

	pt1 = meminfo_kb("PageTables");
	ASSERT_EQ(0, close(rfd));
	ASSERT_EQ(0, unlink(path));
	pt2 = wait_pagetables(pt0, 10);
	TH_LOG("PageTables: %ld kB before, %ld kB with the host's tables, %ld kB after",
	       pt0, pt1, pt2);
	/* The host's PTE tables for 512 MiB were there (256 of them)... */
	EXPECT_LE(pt0 + (long)(size / 512 / 1024) - PT_SLACK_KB, pt1);
	/* ...and everything is given back (see PT_SLACK_KB). */
	EXPECT_GE(PT_SLACK_KB, labs(pt2 - pt0));
}

/* MSHAREFS_UNMAP while a process is attached: its next access SIGSEGVs. */
TEST_F(share, unmap_while_attached)
{
	int go[2], ready[2], st;
	unsigned long v = 0;
	pid_t pid;
	char *p;

	ASSERT_EQ(0, mshare_anon(self->fd, 0, 2 * MB));
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(ready));
	pid = fork_child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		volatile unsigned long *q = (void *)map_region(self->fd, self->unit, RW);

		if (!q)
			_exit(1);
		q[0] = 0x1234;
		q[1024] = 0x1234;
		if (q[0] != 0x1234)
			_exit(2);
		child_ready(ready[1]);
		child_wait(go[0]);
		v = q[0];	/* must fault */
		_exit(v == 0x1234 ? 3 : 4);
	}
	ASSERT_EQ(1, read_n(ready[0], 1, 30));
	ASSERT_EQ(0, mshare_unmap(self->fd, 0, 2 * MB));
	release_n(go[1], 1);
	ASSERT_EQ(0, wait_child(pid, &st, 30));
	EXPECT_TRUE(killed_by(st, SIGSEGV))
		TH_LOG("child status %#x (exit 3: read the old data)", st);

	/* The same in the process that unmaps. */
	ASSERT_EQ(0, mshare_anon(self->fd, 0, 2 * MB));
	p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0, probe_write(p, 0x4321));
	ASSERT_EQ(0, mshare_unmap(self->fd, 0, 2 * MB));
	EXPECT_EQ(SIGSEGV, probe_read(p, &v));
	munmap(p, self->unit);
}

/* ---------------------------------------------------------------------- */
/* 5. TLB coherence                                                        */
/* ---------------------------------------------------------------------- */

/*
 * A child on CPU 1 spins reading a word of the region; the parent on CPU 0
 * changes the host under it. A stale TLB entry would let it read on.
 */
static pid_t spinning_reader(int fd, unsigned long u, volatile int *started,
			     unsigned long expect, int write_first)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		volatile unsigned long *q;

		if (pin_cpu(1))
			_exit(10);
		q = (void *)map_region(fd, u, RW);
		if (!q)
			_exit(11);
		if (write_first)
			q[0] = expect;
		if (q[0] != expect)
			_exit(12);
		*started = 1;
		for (;;) {
			if (q[0] != expect)
				_exit(3);
		}
	}
	return pid;
}

static int wait_flag(volatile int *flag, int secs)
{
	int i;

	for (i = 0; i < secs * 100 && !*flag; i++)
		usleep(10000);
	return *flag ? 0 : -1;
}

TEST_F(share, tlb_unmap_spinning_reader)
{
	volatile int *flag;
	pid_t pid;
	int st;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs 2 CPUs");
	flag = shared_mem(PAGE);
	ASSERT_NE(NULL, flag);
	ASSERT_EQ(0, pin_cpu(0));
	ASSERT_EQ(0, mshare_anon(self->fd, 0, 2 * MB));
	pid = spinning_reader(self->fd, self->unit, flag, 0x5a5a, 1);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, wait_flag(flag, 30));
	usleep(200000);
	ASSERT_EQ(0, mshare_unmap(self->fd, 0, 2 * MB));
	EXPECT_EQ(0, wait_child(pid, &st, 10)) TH_LOG("reader still reading after unmap");
	EXPECT_TRUE(killed_by(st, SIGSEGV)) TH_LOG("reader status %#x", st);
}

TEST_F(share, tlb_truncate_spinning_reader)
{
	volatile int *flag;
	pid_t pid;
	int st, mfd;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs 2 CPUs");
	flag = shared_mem(PAGE);
	ASSERT_NE(NULL, flag);
	ASSERT_EQ(0, pin_cpu(0));
	mfd = memfd_with_pattern(2 * MB, 8);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, mshare_file(self->fd, 0, 2 * MB, RW, mfd));
	pid = spinning_reader(self->fd, self->unit, flag, pat(8, 0), 0);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, wait_flag(flag, 30));
	usleep(200000);
	ASSERT_EQ(0, ftruncate(mfd, 0));
	EXPECT_EQ(0, wait_child(pid, &st, 10)) TH_LOG("reader still reading after truncate");
	EXPECT_TRUE(killed_by(st, SIGBUS)) TH_LOG("reader status %#x", st);
	close(mfd);
}

static sigjmp_buf spin_env;

static void spin_handler(int sig)
{
	siglongjmp(spin_env, 1);
}

/*
 * UNMAP and CREATE of new anonymous memory at the same offset under a
 * spinning reader: once CREATE has returned the reader sees 0, never the
 * old value. Faults between the two are caught and the reader spins on.
 */
TEST_F(share, tlb_unmap_create_reads_zero)
{
	volatile int *flag;
	pid_t pid;
	int st;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs 2 CPUs");
	flag = shared_mem(PAGE);
	ASSERT_NE(NULL, flag);
	ASSERT_EQ(0, pin_cpu(0));
	ASSERT_EQ(0, mshare_anon(self->fd, 0, 2 * MB));
	pid = fork_child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = spin_handler };
		volatile unsigned long *q;
		volatile int done = 0;
		unsigned long v;

		if (pin_cpu(1))
			_exit(10);
		q = (void *)map_region(self->fd, self->unit, RW);
		if (!q)
			_exit(11);
		q[0] = 0xabcdef;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGSEGV, &sa, NULL);
		flag[0] = 1;
		if (sigsetjmp(spin_env, 1) && done)
			_exit(4);	/* a fault once the new mapping existed */
		for (;;) {
			done = flag[1];
			v = q[0];
			if (v == 0)
				_exit(0);
			if (v != 0xabcdef)
				_exit(3);
			if (done)
				_exit(2);	/* old data after CREATE returned */
		}
	}
	ASSERT_EQ(0, wait_flag(flag, 30));
	usleep(200000);
	ASSERT_EQ(0, mshare_unmap(self->fd, 0, 2 * MB));
	ASSERT_EQ(0, mshare_anon(self->fd, 0, 2 * MB));
	flag[1] = 1;
	EXPECT_EQ(0, wait_child(pid, &st, 10)) TH_LOG("reader never saw the new memory");
	EXPECT_TRUE(exited_with(st, 0))
		TH_LOG("reader status %#x (exit 2: old data, 4: fault after CREATE)", st);
}

/* ---------------------------------------------------------------------- */
/* 7. Operations on the region VMA                                          */
/* ---------------------------------------------------------------------- */

/* The region VMA is whole and works: [p, p + u) with the data in it. */
static int region_intact(const char *p, unsigned long u, unsigned long off)
{
	unsigned long start, end, v = 0;
	char line[512];

	if (maps_line("/proc/self/maps", p, line, sizeof(line)))
		return -1;
	if (sscanf(line, "%lx-%lx", &start, &end) != 2 || end - start != u)
		return -2;
	if (probe_read(p + off, &v) || v != pat(10, 0))
		return -3;
	if (probe_write(p + off + 8, 0x77))
		return -4;
	return 0;
}

TEST_F(share, mprotect_refused)
{
	static const int prots[] = {
		PROT_NONE, PROT_READ, RW, PROT_READ | PROT_EXEC, RW | PROT_EXEC, PROT_WRITE,
	};
	unsigned long u = self->unit;
	unsigned int i;
	char *p;

	ASSERT_EQ(0, mshare_anon(self->fd, 8 * MB, 4 * MB));
	p = map_region(self->fd, u, RW);
	ASSERT_NE(NULL, p);
	fill_pages(p + 8 * MB, 4 * MB, 10, 0);
	for (i = 0; i < ARRAY_SIZE(prots); i++) {
		EXPECT_EQ(-1, mprotect(p, u, prots[i]));
		EXPECT_EQ(EINVAL, errno) TH_LOG("mprotect(whole, %#x)", prots[i]);
		EXPECT_EQ(-1, mprotect(p + 8 * MB, 2 * MB, prots[i]));
		EXPECT_EQ(EINVAL, errno) TH_LOG("mprotect(part, %#x)", prots[i]);
		EXPECT_EQ(-1, mprotect(p + u - PAGE, PAGE, prots[i]));
		EXPECT_EQ(EINVAL, errno) TH_LOG("mprotect(last page, %#x)", prots[i]);
	}
	EXPECT_EQ(0, region_intact(p, u, 8 * MB));
	munmap(p, u);
}

TEST_F(share, partial_munmap_refused)
{
	unsigned long u = self->unit;
	char *p;

	ASSERT_EQ(0, mshare_anon(self->fd, 8 * MB, 4 * MB));
	p = map_region(self->fd, u, RW);
	ASSERT_NE(NULL, p);
	fill_pages(p + 8 * MB, 4 * MB, 10, 0);
	EXPECT_EQ(-1, munmap(p, 2 * MB));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, munmap(p + 8 * MB, 4 * MB));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, munmap(p + u / 2, u / 2));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, munmap(p + u - PAGE, PAGE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, munmap(p + PAGE, u - 2 * PAGE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, region_intact(p, u, 8 * MB));
	EXPECT_EQ(0, check_pages(p + 8 * MB, 4 * MB, 10, 0));
	/* The whole of it unmaps. */
	EXPECT_EQ(0, munmap(p, u));
}

TEST_F(share, mremap_refused)
{
	unsigned long u = self->unit;
	char *area, *p, *target, *q;

	ASSERT_EQ(0, mshare_anon(self->fd, 8 * MB, 4 * MB));
	/* Room after the mapping, so that growing in place could work. */
	area = free_aligned_range(3 * u, u);
	ASSERT_NE(NULL, area);
	p = mmap(area, u, RW, MAP_SHARED | MAP_FIXED, self->fd, 0);
	ASSERT_EQ(area, p);
	fill_pages(p + 8 * MB, 4 * MB, 10, 0);
	target = area + 2 * u;

	/* Move. */
	EXPECT_EQ(MAP_FAILED, mremap(p, u, u, MREMAP_MAYMOVE | MREMAP_FIXED, target));
	EXPECT_EQ(EINVAL, errno);
	/* Grow. */
	EXPECT_EQ(MAP_FAILED, mremap(p, u, 2 * u, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mremap(p, u, 2 * u, MREMAP_MAYMOVE));
	EXPECT_EQ(EINVAL, errno);
	/* Shrink. */
	EXPECT_EQ(MAP_FAILED, mremap(p, u, u / 2, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mremap(p, u, 2 * MB, MREMAP_MAYMOVE));
	EXPECT_EQ(EINVAL, errno);

	EXPECT_EQ(0, region_intact(p, u, 8 * MB));
	EXPECT_EQ(0, check_pages(p + 8 * MB, 4 * MB, 10, 0));
	/* Nothing was moved to the target. */
	q = mmap(target, PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	EXPECT_EQ(target, q);
	if (q != MAP_FAILED)
		munmap(q, PAGE);
	munmap(p, u);
}

/*
 * MADV_DONTNEED is forwarded to the host range: Rss of the region VMA goes
 * to 0; shared anonymous memory keeps the data in its object, as with plain
 * MAP_SHARED, so a re-read gives the old data.
 */
TEST_F(share, madv_dontneed)
{
	unsigned long u = self->unit;
	long rss0, rss1;
	char *p;

	ASSERT_EQ(0, mshare_anon(self->fd, 8 * MB, 4 * MB));
	p = map_region(self->fd, u, RW);
	ASSERT_NE(NULL, p);
	fill_pages(p + 8 * MB, 4 * MB, 11, 0);
	rss0 = smaps_kb(p, "Rss");
	EXPECT_EQ(0, madvise(p + 8 * MB, 4 * MB, MADV_DONTNEED));
	rss1 = smaps_kb(p, "Rss");
	TH_LOG("Rss of the region VMA: %ld kB, after MADV_DONTNEED %ld kB", rss0, rss1);
	EXPECT_LT(0, rss0);
	EXPECT_EQ(0, rss1);
	EXPECT_EQ(0, check_pages(p + 8 * MB, 4 * MB, 11, 0));
	munmap(p, u);
}

/* MADV_REMOVE frees the backing store of exactly the range: zeroes. */
TEST_F(share, madv_remove)
{
	unsigned long u = self->unit;
	unsigned long i;
	char *p;
	int zero = 1;

	ASSERT_EQ(0, mshare_anon(self->fd, 8 * MB, 4 * MB));
	p = map_region(self->fd, u, RW);
	ASSERT_NE(NULL, p);
	fill_pages(p + 8 * MB, 2 * MB, 12, 0);
	fill_pages(p + 10 * MB, 2 * MB, 13, 0);
	EXPECT_EQ(0, madvise(p + 8 * MB, 2 * MB, MADV_REMOVE));
	for (i = 0; i < 2 * MB; i += sizeof(long))
		if (*(volatile unsigned long *)(p + 8 * MB + i))
			zero = 0;
	EXPECT_TRUE(zero);
	/* The rest of the mapping is untouched. */
	EXPECT_EQ(0, check_pages(p + 10 * MB, 2 * MB, 13, 0));
	munmap(p, u);
}

TEST_F(share, madv_willneed_cold)
{
	unsigned long u = self->unit;
	char *p;

	ASSERT_EQ(0, mshare_anon(self->fd, 8 * MB, 4 * MB));
	p = map_region(self->fd, u, RW);
	ASSERT_NE(NULL, p);
	fill_pages(p + 8 * MB, 4 * MB, 13, 0);
	EXPECT_EQ(0, madvise(p + 8 * MB, 4 * MB, MADV_WILLNEED));
	EXPECT_EQ(0, madvise(p + 8 * MB, 4 * MB, MADV_COLD));
	EXPECT_EQ(0, madvise(p + 8 * MB, 2 * MB, MADV_WILLNEED));
	EXPECT_EQ(0, madvise(p + 10 * MB, 2 * MB, MADV_COLD));
	EXPECT_EQ(0, check_pages(p + 8 * MB, 4 * MB, 13, 0));
	munmap(p, u);
}

static long swap_used_kb(void)
{
	return meminfo_kb("SwapTotal") - meminfo_kb("SwapFree");
}

/* MADV_PAGEOUT with swap on zram: the range goes to swap and comes back. */
TEST_F_TIMEOUT(share, madv_pageout, 120)
{
	const unsigned long size = 16 * MB;
	unsigned long u = self->unit;
	char swaps[4096];
	long used0, used1;
	char *p;

	if (access("/sys/block/zram0/disksize", W_OK))
		SKIP(return, "no /dev/zram0");
	ASSERT_LT(0, read_file("/proc/swaps", swaps, sizeof(swaps)));
	if (strstr(swaps, "zram0"))
		SKIP(return, "/dev/zram0 is already in use as swap");
	write_file("/sys/block/zram0/reset", "1");
	ASSERT_EQ(0, write_file("/sys/block/zram0/disksize", "128M"));
	self->zram = 1;
	ASSERT_EQ(0, run_cmd("mkswap /dev/zram0 >/dev/null 2>&1"));
	ASSERT_EQ(0, swapon("/dev/zram0", 0));
	/* Keep the pages on one CPU's LRU lists. */
	ASSERT_EQ(0, pin_cpu(0));

	ASSERT_EQ(0, mshare_anon(self->fd, 8 * MB, size));
	p = map_region(self->fd, u, RW);
	ASSERT_NE(NULL, p);
	fill_pages(p + 8 * MB, size, 14, 0);
	fill_pages(p + 8 * MB, size, 15, 100);
	used0 = swap_used_kb();
	EXPECT_EQ(0, madvise(p + 8 * MB, size, MADV_PAGEOUT));
	used1 = swap_used_kb();
	TH_LOG("swap in use: %ld kB before MADV_PAGEOUT of %lu kB, %ld kB after",
	       used0, size >> 10, used1);
	EXPECT_LT(used0, used1);
	EXPECT_EQ(0, check_pages(p + 8 * MB, size, 14, 0));
	EXPECT_EQ(0, check_pages(p + 8 * MB, size, 15, 100));
	munmap(p, u);
	EXPECT_EQ(0, mshare_unmap(self->fd, 8 * MB, size));
	EXPECT_EQ(0, swapoff("/dev/zram0"));
	write_file("/sys/block/zram0/reset", "1");
	self->zram = 0;
}

/* MADV_POPULATE_READ/WRITE: afterwards touching the range takes no fault. */
TEST_F(share, madv_populate)
{
	unsigned long u = self->unit;
	long *res;
	pid_t pid;
	int st;

	res = shared_mem(PAGE);
	ASSERT_NE(NULL, res);
	ASSERT_EQ(0, mshare_anon(self->fd, 8 * MB, 16 * MB));
	pid = fork_child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		volatile char *p = (volatile char *)map_region(self->fd, u, RW);
		unsigned long i, sum = 0;
		long f0, f1;

		if (!p)
			_exit(1);
		if (madvise((char *)p + 8 * MB, 8 * MB, MADV_POPULATE_READ))
			_exit(2);
		self_minflt();
		f0 = self_minflt();
		for (i = 8 * MB; i < 16 * MB; i += PAGE)
			sum += p[i];
		f1 = self_minflt();
		res[0] = f1 - f0;
		if (madvise((char *)p + 16 * MB, 8 * MB, MADV_POPULATE_WRITE))
			_exit(3);
		f0 = self_minflt();
		for (i = 16 * MB; i < 24 * MB; i += PAGE)
			p[i] = 1;
		f1 = self_minflt();
		res[1] = f1 - f0;
		_exit(sum ? 4 : 0);
	}
	ASSERT_EQ(0, wait_child(pid, &st, 60));
	ASSERT_TRUE(exited_with(st, 0)) TH_LOG("child status %#x", st);
	TH_LOG("minor faults after POPULATE_READ: %ld, after POPULATE_WRITE: %ld",
	       res[0], res[1]);
	EXPECT_EQ(0, res[0]);
	EXPECT_EQ(0, res[1]);
}

/* Every other advice is refused on the region VMA. */
TEST_F(share, madv_refused)
{
	static const struct { int advice; const char *name; } refused[] = {
		{ MADV_NORMAL, "MADV_NORMAL" },
		{ MADV_RANDOM, "MADV_RANDOM" },
		{ MADV_SEQUENTIAL, "MADV_SEQUENTIAL" },
		{ MADV_DONTFORK, "MADV_DONTFORK" },
		{ MADV_DOFORK, "MADV_DOFORK" },
		{ MADV_DONTDUMP, "MADV_DONTDUMP" },
		{ MADV_DODUMP, "MADV_DODUMP" },
		{ MADV_HUGEPAGE, "MADV_HUGEPAGE" },
		{ MADV_NOHUGEPAGE, "MADV_NOHUGEPAGE" },
		{ MADV_COLLAPSE, "MADV_COLLAPSE" },
		{ MADV_MERGEABLE, "MADV_MERGEABLE" },
		{ MADV_UNMERGEABLE, "MADV_UNMERGEABLE" },
		{ MADV_FREE, "MADV_FREE" },
		{ MADV_WIPEONFORK, "MADV_WIPEONFORK" },
		{ MADV_KEEPONFORK, "MADV_KEEPONFORK" },
	};
	unsigned long u = self->unit;
	unsigned int i;
	char *p;

	ASSERT_EQ(0, mshare_anon(self->fd, 8 * MB, 4 * MB));
	p = map_region(self->fd, u, RW);
	ASSERT_NE(NULL, p);
	fill_pages(p + 8 * MB, 4 * MB, 10, 0);
	for (i = 0; i < ARRAY_SIZE(refused); i++) {
		errno = 0;
		EXPECT_EQ(-1, madvise(p + 8 * MB, 4 * MB, refused[i].advice))
			TH_LOG("%s on part of the region", refused[i].name);
		EXPECT_EQ(EINVAL, errno) TH_LOG("%s on part of the region", refused[i].name);
		errno = 0;
		EXPECT_EQ(-1, madvise(p, u, refused[i].advice))
			TH_LOG("%s on the whole region", refused[i].name);
		EXPECT_EQ(EINVAL, errno) TH_LOG("%s on the whole region", refused[i].name);
	}
	EXPECT_EQ(0, region_intact(p, u, 8 * MB));
	EXPECT_EQ(0, check_pages(p + 8 * MB, 4 * MB, 10, 0));
	munmap(p, u);
}

/*
 * fork: the child has the region, reads the parent's data with at most two
 * faults, and what it writes the parent sees.
 */
TEST_F(share, fork_child_shares)
{
	const unsigned long size = 64 * MB;
	unsigned long u = self->unit;
	long *res;
	pid_t pid;
	char *p;
	int st;

	res = shared_mem(PAGE);
	ASSERT_NE(NULL, res);
	ASSERT_EQ(0, mshare_anon(self->fd, 8 * MB, size));
	p = map_region(self->fd, u, RW);
	ASSERT_NE(NULL, p);
	fill_pages(p + 8 * MB, size, 16, 0);
	pid = fork_child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		unsigned long bad;
		long f0, f1;

		self_minflt();
		f0 = self_minflt();
		bad = check_pages(p + 8 * MB, size, 16, 0);
		f1 = self_minflt();
		res[0] = f1 - f0;
		fill_pages(p + 8 * MB, size, 17, 1);
		_exit(bad ? 2 : 0);
	}
	ASSERT_EQ(0, wait_child(pid, &st, 60));
	EXPECT_TRUE(exited_with(st, 0)) TH_LOG("child status %#x", st);
	TH_LOG("child's minor faults reading 64 MiB: %ld", res[0]);
	EXPECT_LE(res[0], 2);
	EXPECT_EQ(0, check_pages(p + 8 * MB, size, 17, 1));
	munmap(p, u);
}

TEST_F(share, userfaultfd_refused)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	unsigned long u = self->unit;
	char *p;
	int uffd;

	uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0 && errno == ENOSYS)
		SKIP(return, "no userfaultfd");
	ASSERT_LE(0, uffd);
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	ASSERT_EQ(0, mshare_anon(self->fd, 8 * MB, 4 * MB));
	p = map_region(self->fd, u, RW);
	ASSERT_NE(NULL, p);
	fill_pages(p + 8 * MB, 4 * MB, 10, 0);

	reg.range.start = (unsigned long)p;
	reg.range.len = u;
	EXPECT_EQ(-1, ioctl(uffd, UFFDIO_REGISTER, &reg));
	EXPECT_EQ(EINVAL, errno);
	reg.range.start = (unsigned long)p + 8 * MB;
	reg.range.len = 2 * MB;
	EXPECT_EQ(-1, ioctl(uffd, UFFDIO_REGISTER, &reg));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, region_intact(p, u, 8 * MB));
	close(uffd);
	munmap(p, u);
}

TEST_F(share, mlock_refused)
{
	unsigned long u = self->unit;
	char flags[256];
	long lck0;
	char *p;

	ASSERT_EQ(0, mshare_anon(self->fd, 8 * MB, 4 * MB));
	p = map_region(self->fd, u, RW);
	ASSERT_NE(NULL, p);
	fill_pages(p + 8 * MB, 4 * MB, 10, 0);
	lck0 = proc_status_kb("VmLck");

	EXPECT_EQ(-1, mlock(p, u));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, mlock(p + 8 * MB, 2 * MB));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, syscall(__NR_mlock2, p, u, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, syscall(__NR_mlock2, p + 8 * MB, 2 * MB, MLOCK_ONFAULT));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, munlock(p, u));
	EXPECT_EQ(0, munlock(p + 8 * MB, 2 * MB));

	EXPECT_EQ(lck0, proc_status_kb("VmLck"));
	ASSERT_EQ(0, smaps_vmflags(p, flags, sizeof(flags)));
	EXPECT_EQ(NULL, strstr(flags, " lo")) TH_LOG("VmFlags:%s", flags);
	EXPECT_EQ(0, region_intact(p, u, 8 * MB));
	munmap(p, u);
}

/*
 * mlockall(MCL_CURRENT) succeeds and leaves the region unlocked: VmLck is
 * the same as in a twin process without the region.
 */
TEST_F(share, mlockall_skips_region)
{
	unsigned long u = self->unit;
	long *res;
	pid_t pid;
	char *p;
	int k, st;

	res = shared_mem(PAGE);
	ASSERT_NE(NULL, res);
	ASSERT_EQ(0, mshare_anon(self->fd, 8 * MB, 4 * MB));
	p = map_region(self->fd, u, RW);
	ASSERT_NE(NULL, p);
	fill_pages(p + 8 * MB, 4 * MB, 10, 0);
	for (k = 0; k < 2; k++) {
		pid = fork_child();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			char flags[256];

			if (k == 0 && munmap(p, u))
				_exit(1);
			if (mlockall(MCL_CURRENT))
				_exit(2);
			res[k] = proc_status_kb("VmLck");
			if (k == 1) {
				if (smaps_vmflags(p, flags, sizeof(flags)))
					_exit(3);
				if (strstr(flags, " lo"))
					_exit(4);
				if (check_pages(p + 8 * MB, 4 * MB, 10, 0))
					_exit(5);
			}
			_exit(0);
		}
		ASSERT_EQ(0, wait_child(pid, &st, 60));
		EXPECT_TRUE(exited_with(st, 0)) TH_LOG("child %d: status %#x", k, st);
	}
	TH_LOG("VmLck after mlockall: %ld kB without the region, %ld kB with it",
	       res[0], res[1]);
	EXPECT_LT(0, res[0]);
	EXPECT_EQ(res[0], res[1]);
	munmap(p, u);
}

/* ---------------------------------------------------------------------- */
/* 8. Accounting                                                            */
/* ---------------------------------------------------------------------- */

/* maps and smaps show the region VMA with its msharefs path. */
TEST_F(share, maps_show_path)
{
	unsigned long u = self->unit;
	unsigned long start, end;
	char line[512];
	char *p;

	p = map_region(self->fd, u, RW);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, maps_line("/proc/self/maps", p, line, sizeof(line)));
	TH_LOG("%s", line);
	ASSERT_EQ(2, sscanf(line, "%lx-%lx", &start, &end));
	EXPECT_EQ(u, end - start);
	EXPECT_NE(NULL, strstr(line, self->path));
	ASSERT_EQ(0, maps_line("/proc/self/smaps", p, line, sizeof(line)));
	EXPECT_NE(NULL, strstr(line, self->path));
	EXPECT_EQ((long)(u >> 10), smaps_kb(p, "Size"));
	munmap(p, u);
}

struct proc_res {
	long minflt, vmpte0, vmpte1;
};

/*
 * In a child: map the region (fd, of u bytes) and write byte off of every
 * page; VmPTE before and after and the minor faults taken go to *r. Exits 1
 * if it cannot map; returns the mapping.
 */
static volatile char *touch_all(int fd, unsigned long u, unsigned long off, struct proc_res *r)
{
	volatile char *p;
	unsigned long i;
	long f0;

	r->vmpte0 = proc_status_kb("VmPTE");
	p = map_region(fd, u, RW);
	if (!p)
		_exit(1);
	self_minflt();
	f0 = self_minflt();
	for (i = 0; i < u / PAGE; i++)
		p[i * PAGE + off] = 1;
	r->minflt = self_minflt() - f0;
	r->vmpte1 = proc_status_kb("VmPTE");
	return p;
}

/*
 * VmPTE of a process that maps and touches 1 GiB stays small, while
 * PageTables grows by ~2 MiB once, for the host, whoever touches first.
 * Both processes are forked before the first figure, so that their own page
 * tables are in it.
 */
TEST_F_TIMEOUT(share, vmpte_small_pagetables_once_1g, 240)
{
	unsigned long u = self->unit;
	int go[2][2], ready[2], fin[2], k, st[2];
	long pt0, pt1, pt2;
	struct proc_res *res;
	pid_t pid[2];

	res = shared_mem(PAGE);
	ASSERT_NE(NULL, res);
	ASSERT_EQ(0, mshare_anon(self->fd, 0, u));
	ASSERT_EQ(0, pipe(go[0]));
	ASSERT_EQ(0, pipe(go[1]));
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(fin));

	for (k = 0; k < 2; k++) {
		pid[k] = fork_child();
		ASSERT_LE(0, pid[k]);
		if (pid[k] == 0) {
			/* malloc's heap and the result page, before the figure */
			res[k].vmpte0 = proc_status_kb("VmPTE");
			child_ready(ready[1]);
			child_wait(go[k][0]);
			touch_all(self->fd, u, k, &res[k]);
			child_ready(ready[1]);
			child_wait(fin[0]);
			_exit(0);
		}
	}
	ASSERT_EQ(2, read_n(ready[0], 2, 60));
	drain_slabs();
	meminfo_kb("PageTables");
	pt0 = meminfo_kb("PageTables");
	release_n(go[0][1], 1);
	ASSERT_EQ(1, read_n(ready[0], 1, 200));
	pt1 = meminfo_kb("PageTables");
	release_n(go[1][1], 1);
	ASSERT_EQ(1, read_n(ready[0], 1, 200));
	pt2 = meminfo_kb("PageTables");
	release_n(fin[1], 2);
	for (k = 0; k < 2; k++) {
		ASSERT_EQ(0, wait_child(pid[k], &st[k], 30));
		EXPECT_TRUE(exited_with(st[k], 0));
	}
	TH_LOG("PageTables %ld kB; first toucher +%ld kB; second +%ld kB", pt0,
	       pt1 - pt0, pt2 - pt1);
	TH_LOG("VmPTE first %ld -> %ld kB (%ld faults), second %ld -> %ld kB (%ld faults)",
	       res[0].vmpte0, res[0].vmpte1, res[0].minflt,
	       res[1].vmpte0, res[1].vmpte1, res[1].minflt);
	EXPECT_GT(64, res[0].vmpte1 - res[0].vmpte0);
	EXPECT_GT(64, res[1].vmpte1 - res[1].vmpte0);
	/*
	 * 512 PTE tables of the host, plus a few upper-level tables; tables of
	 * processes that end meanwhile (earlier tests' children) may go.
	 */
	EXPECT_LE(2048 - 64, pt1 - pt0);
	EXPECT_GT(2048 + 64, pt1 - pt0);
	EXPECT_GT(64, pt2 - pt1);
}

/*
 * n processes write their slot (at offset i * stride) and then all check
 * all slots. Children exit 0 when everything they saw was right.
 */
static int exchange(int fd, unsigned long u, int n, unsigned long stride, int *statuses)
{
	int go[2], ready[2], i, ok = 0;
	pid_t pid[64];

	if (n > 64 || pipe(go) || pipe(ready))
		return -1;
	for (i = 0; i < n; i++) {
		pid[i] = fork_child();
		if (pid[i] < 0)
			return -1;
		if (pid[i] == 0) {
			char *p = map_region(fd, u, RW);
			int j;

			if (!p)
				_exit(1);
			fill_pages(p + i * stride, 16 * PAGE, 20 + i, 0);
			child_ready(ready[1]);
			child_wait(go[0]);
			for (j = 0; j < n; j++)
				if (check_pages(p + j * stride, 16 * PAGE, 20 + j, 0))
					_exit(2);
			_exit(0);
		}
	}
	close(ready[1]);
	if (read_n(ready[0], n, 120) == n)
		ok = 1;
	release_n(go[1], n);
	for (i = 0; i < n; i++)
		if (wait_child(pid[i], &statuses[i], 60))
			ok = 0;
	close(go[0]);
	close(go[1]);
	close(ready[0]);
	return ok ? 0 : -1;
}

TEST_F(share, two_processes_exchange)
{
	int st[2];

	ASSERT_EQ(0, mshare_anon(self->fd, 0, 4 * MB));
	ASSERT_EQ(0, exchange(self->fd, self->unit, 2, 2 * MB, st));
	EXPECT_TRUE(exited_with(st[0], 0)) TH_LOG("status %#x", st[0]);
	EXPECT_TRUE(exited_with(st[1], 0)) TH_LOG("status %#x", st[1]);
}

#define NPROC	64

/*
 * 64 processes each map the same fully touched 1 GiB region: PageTables
 * grows by at most 2.2 MiB + 64 x 8 KiB over the figure taken before the
 * region was populated (with the 64 processes already forked, so that their
 * own page tables are in it); the 64th touching all 1 GiB takes at most 2
 * minor faults; they all see each other's slots.
 */
TEST_F_TIMEOUT(share, sixty_four_processes_1g, 300)
{
	const unsigned long stride = self->unit / NPROC;
	int go1[2], go2[2], go3[2], ready[2];
	unsigned long u = self->unit;
	long pt0, pt1, limit, maxflt = 0, maxpte = 0;
	struct proc_res *res;
	pid_t pid[NPROC], pop;
	int i, st, failed = 0;

	res = shared_mem(NPROC * sizeof(*res));
	ASSERT_NE(NULL, res);
	ASSERT_EQ(0, mshare_anon(self->fd, 0, u));
	ASSERT_EQ(0, pipe(go1));
	ASSERT_EQ(0, pipe(go2));
	ASSERT_EQ(0, pipe(go3));
	ASSERT_EQ(0, pipe(ready));

	for (i = 0; i < NPROC; i++) {
		pid[i] = fork_child();
		ASSERT_LE(0, pid[i]);
		if (pid[i] == 0) {
			char *p;
			int j;

			/* malloc's heap and the result page, before the figure */
			res[i].vmpte0 = proc_status_kb("VmPTE");
			child_ready(ready[1]);
			child_wait(i == NPROC - 1 ? go2[0] : go1[0]);
			p = (char *)touch_all(self->fd, u, 64 + i, &res[i]);
			fill_pages(p + i * stride, 16 * PAGE, 100 + i, 0);
			child_ready(ready[1]);
			child_wait(go3[0]);
			for (j = 0; j < NPROC; j++)
				if (check_pages(p + j * stride, 16 * PAGE, 100 + j, 0))
					_exit(2);
			_exit(0);
		}
	}
	ASSERT_EQ(NPROC, read_n(ready[0], NPROC, 60));
	drain_slabs();
	meminfo_kb("PageTables");
	pt0 = meminfo_kb("PageTables");

	/* Populate all of it from another process, which then exits. */
	pop = fill_in_child(self->fd, u, u, 99);
	ASSERT_LE(0, pop);
	ASSERT_EQ(0, wait_child(pop, &st, 200));
	ASSERT_TRUE(exited_with(st, 0));

	/* 63 processes attach and touch it all, then the 64th. */
	release_n(go1[1], NPROC - 1);
	EXPECT_EQ(NPROC - 1, read_n(ready[0], NPROC - 1, 200));
	release_n(go2[1], 1);
	EXPECT_EQ(1, read_n(ready[0], 1, 60));
	pt1 = meminfo_kb("PageTables");

	release_n(go3[1], NPROC);
	for (i = 0; i < NPROC; i++) {
		if (wait_child(pid[i], &st, 60) || !exited_with(st, 0)) {
			failed++;
			TH_LOG("process %d: status %#x", i, st);
		}
		if (res[i].minflt > maxflt)
			maxflt = res[i].minflt;
		if (res[i].vmpte1 - res[i].vmpte0 > maxpte)
			maxpte = res[i].vmpte1 - res[i].vmpte0;
	}
	limit = 22 * 1024 / 10 + NPROC * 8;
	TH_LOG("PageTables %ld kB -> %ld kB with %d processes attached: +%ld kB (limit %ld kB)",
	       pt0, pt1, NPROC, pt1 - pt0, limit);
	TH_LOG("64th process: %ld minor faults; most of any process %ld; VmPTE growth <= %ld kB",
	       res[NPROC - 1].minflt, maxflt, maxpte);
	EXPECT_EQ(0, failed);
	EXPECT_GE(limit, pt1 - pt0);
	EXPECT_LE(res[NPROC - 1].minflt, 2);
}

/* ---------------------------------------------------------------------- */
/* Object kinds                                                            */
/* ---------------------------------------------------------------------- */

enum kind_type { K_ANON, K_MEMFD, K_TMPFS, K_HUGETLB, K_HUGETLBFS, K_EXT2 };

#define KIND_SIZE	(4 * MB)

FIXTURE(kind) {
	char mnt[64];
	unsigned long unit;
	int fd;
	int objfd;
	char objpath[160];
	char hdir[64];
	long nr_huge;
	struct ext2_loop e2;
	const char *skip;
};

FIXTURE_VARIANT(kind) {
	enum kind_type type;
};

FIXTURE_VARIANT_ADD(kind, anon) { .type = K_ANON };
FIXTURE_VARIANT_ADD(kind, memfd) { .type = K_MEMFD };
FIXTURE_VARIANT_ADD(kind, tmpfs_file) { .type = K_TMPFS };
FIXTURE_VARIANT_ADD(kind, hugetlb_anon) { .type = K_HUGETLB };
FIXTURE_VARIANT_ADD(kind, hugetlbfs_file) { .type = K_HUGETLBFS };
FIXTURE_VARIANT_ADD(kind, ext2_file) { .type = K_EXT2 };

static int hugepages_reserve(long *saved, long want_free)
{
	*saved = hugepages_get();
	if (*saved < 0)
		return -1;
	hugepages_set(*saved + want_free);
	return meminfo_kb("HugePages_Free") - meminfo_kb("HugePages_Rsvd") >= want_free ? 0 : -1;
}

FIXTURE_SETUP(kind)
{
	int fl = MAP_SHARED | MAP_FIXED;

	self->fd = self->objfd = -1;
	self->nr_huge = -1;
	self->skip = NULL;
	self->objpath[0] = self->hdir[0] = '\0';
	memset(&self->e2, 0, sizeof(self->e2));
	ASSERT_EQ(0, mount_instance(self->mnt, sizeof(self->mnt)));
	self->unit = mshare_unit(self->mnt);
	ASSERT_NE(0, self->unit);
	self->fd = region_create(self->mnt, "region", self->unit);
	ASSERT_LE(0, self->fd);

	switch (variant->type) {
	case K_ANON:
		ASSERT_EQ(0, mshare_anon(self->fd, 0, KIND_SIZE));
		return;
	case K_MEMFD:
		self->objfd = memfd_create("kind", 0);
		break;
	case K_TMPFS:
		snprintf(self->objpath, sizeof(self->objpath), "/dev/shm/mshare-kind-XXXXXX");
		self->objfd = mkstemp(self->objpath);
		break;
	case K_HUGETLB:
		if (hugepages_reserve(&self->nr_huge, KIND_SIZE >> 21)) {
			self->skip = "could not get 2 free huge pages";
			return;
		}
		ASSERT_EQ(0, mshare_create(self->fd, 0, KIND_SIZE, RW,
					   fl | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB, -1, 0));
		return;
	case K_HUGETLBFS:
		if (hugepages_reserve(&self->nr_huge, KIND_SIZE >> 21)) {
			self->skip = "could not get 2 free huge pages";
			return;
		}
		snprintf(self->hdir, sizeof(self->hdir), "/tmp/mshare-huge-XXXXXX");
		ASSERT_NE(NULL, mkdtemp(self->hdir));
		ASSERT_EQ(0, mount("none", self->hdir, "hugetlbfs", 0, "pagesize=2M"));
		snprintf(self->objpath, sizeof(self->objpath), "%s/obj", self->hdir);
		self->objfd = open(self->objpath, O_RDWR | O_CREAT, 0600);
		break;
	case K_EXT2:
		ASSERT_EQ(0, ext2_loop_setup(&self->e2, 32));
		snprintf(self->objpath, sizeof(self->objpath), "%s/obj", self->e2.dir);
		self->objfd = open(self->objpath, O_RDWR | O_CREAT, 0600);
		break;
	}
	ASSERT_LE(0, self->objfd);
	ASSERT_EQ(0, ftruncate(self->objfd, KIND_SIZE));
	ASSERT_EQ(0, mshare_file(self->fd, 0, KIND_SIZE, RW, self->objfd));
}

FIXTURE_TEARDOWN(kind)
{
	if (self->fd >= 0) {
		mshare_unmap(self->fd, 0, KIND_SIZE);
		close(self->fd);
	}
	if (self->objfd >= 0)
		close(self->objfd);
	if (self->objpath[0])
		unlink(self->objpath);
	if (self->hdir[0]) {
		umount2(self->hdir, MNT_DETACH);
		rmdir(self->hdir);
	}
	ext2_loop_teardown(&self->e2);
	if (self->nr_huge >= 0)
		hugepages_set(self->nr_huge);
	umount_instance(self->mnt);
}

/* What is on disk, read with O_DIRECT: mismatching pages, or -1. */
static long ext2_on_disk_bad(const char *path, unsigned long seed, int word)
{
	unsigned long i, bad = 0;
	void *buf;
	int fd;

	if (posix_memalign(&buf, PAGE, KIND_SIZE))
		return -1;
	fd = open(path, O_RDONLY | O_DIRECT);
	if (fd < 0 || pread(fd, buf, KIND_SIZE, 0) != (ssize_t)KIND_SIZE) {
		free(buf);
		return -1;
	}
	close(fd);
	for (i = 0; i < KIND_SIZE / PAGE; i++)
		if (((unsigned long *)((char *)buf + i * PAGE))[word] != pat(seed, i))
			bad++;
	free(buf);
	return bad;
}

/*
 * Each kind of host object is shared between two processes that map the
 * region on their own; data goes both ways and is the object's.
 */
TEST_F_TIMEOUT(kind, shared_both_ways, 90)
{
	int file = variant->type != K_ANON && variant->type != K_HUGETLB;
	unsigned long u = self->unit;
	int go[2], st;
	pid_t pid;
	char *p;

	if (self->skip)
		SKIP(return, "%s", self->skip);
	ASSERT_EQ(0, pipe(go));
	pid = fork_child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *q;

		child_wait(go[0]);
		q = map_region(self->fd, u, RW);
		if (!q)
			_exit(1);
		if (check_pages(q, KIND_SIZE, 30, 0))
			_exit(2);
		fill_pages(q, KIND_SIZE, 31, 1);
		_exit(0);
	}
	p = map_region(self->fd, u, RW);
	ASSERT_NE(NULL, p);
	fill_pages(p, KIND_SIZE, 30, 0);
	if (file)
		EXPECT_EQ(0, check_file_pages(self->objfd, KIND_SIZE, 30, 0));
	release_n(go[1], 1);
	ASSERT_EQ(0, wait_child(pid, &st, 60));
	EXPECT_TRUE(exited_with(st, 0)) TH_LOG("child status %#x", st);
	EXPECT_EQ(0, check_pages(p, KIND_SIZE, 31, 1));
	if (file)
		EXPECT_EQ(0, check_file_pages(self->objfd, KIND_SIZE, 31, 1));

	EXPECT_EQ(0, msync(p, u, MS_SYNC));
	EXPECT_EQ(0, fsync(self->fd));
	if (variant->type == K_EXT2) {
		/* Written back to the disk, and written again after writeback. */
		EXPECT_EQ(0, fsync(self->objfd));
		EXPECT_EQ(0, ext2_on_disk_bad(self->objpath, 30, 0));
		EXPECT_EQ(0, ext2_on_disk_bad(self->objpath, 31, 1));
		fill_pages(p, KIND_SIZE, 32, 0);
		/* msync() of the region reaches the file, as with mmap(). */
		EXPECT_EQ(0, msync(p, u, MS_SYNC));
		EXPECT_EQ(0, ext2_on_disk_bad(self->objpath, 32, 0));
	}
	munmap(p, u);
}

TEST_HARNESS_MAIN
