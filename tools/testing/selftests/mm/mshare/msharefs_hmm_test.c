// SPDX-License-Identifier: GPL-2.0
/*
 * A secondary MMU that mirrors a process's mapping of a region must see the
 * changes the host makes, whoever makes them. The HMM test driver
 * (CONFIG_TEST_HMM, /dev/hmm_dmirror0) is such a device: it mirrors the
 * address space of the process that opened it, faults pages in with
 * hmm_range_fault() and keeps them, holding no reference, until an MMU
 * interval notifier of that process's mm tells it they are gone.
 *
 * A region's pages are mapped by the host's tables, which the process only
 * links: truncating or punching the mapped object, MADV_DONTNEED and
 * MADV_REMOVE by another sharer, and MSHAREFS_UNMAP change them without the
 * process's mm doing anything. Each test has the mirror read a range of the
 * region (faulting it in), has someone else change the host, and reads it
 * again through the mirror: it must fault again and read what the region
 * now holds, never the old data (which, where the pages were freed, it
 * would be reading from freed memory).
 *
 * The tests skip where the driver is not there.
 */
#define _GNU_SOURCE
#include <linux/falloc.h>
#include <linux/msharefs.h>
#include <sys/ioctl.h>

#include "../../kselftest_harness.h"
#include "mshare_util.h"

/*
 * The driver's uapi is private to the kernel tree, not exported in
 * usr/include; the Makefile puts the top of the tree on the include path,
 * as the mm selftests do for hmm-tests.
 */
#include <lib/test_hmm_uapi.h>

#define PAGE		4096UL
#define MB		(1UL << 20)
#define RW		(PROT_READ | PROT_WRITE)
#define HMM_DEV		"/dev/hmm_dmirror0"
/* The range mirrored: the first 2 MiB of the region, one host PTE table. */
#define RANGE		(2 * MB)
#define NPAGES		(RANGE / PAGE)

/* Number of bytes of [p, p + len) that are not zero. */
static unsigned long nonzero_bytes(const volatile char *p, unsigned long len)
{
	unsigned long i, n = 0;

	for (i = 0; i < len; i++)
		n += p[i] != 0;
	return n;
}

/* Number of whole pages of [p, p + len) that still hold pattern seed. */
static unsigned long pattern_pages(const char *p, unsigned long len, unsigned long seed)
{
	unsigned long pg, n = 0;

	for (pg = 0; pg < len; pg += PAGE) {
		unsigned long i;

		for (i = 0; i < PAGE; i++)
			if ((unsigned char)p[pg + i] != pbyte(seed, pg + i))
				break;
		n += i == PAGE;
	}
	return n;
}

/*
 * HMM_DMIRROR_READ or HMM_DMIRROR_WRITE of npages pages at addr, from or to
 * buf, as hmm-tests does it: 0 or -errno, the driver's counts in *cmd.
 */
static int dmirror(int dmfd, unsigned long request, void *addr, void *buf,
		   unsigned long npages, struct hmm_dmirror_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->addr = (uintptr_t)addr;
	cmd->ptr = (uintptr_t)buf;
	cmd->npages = npages;
	while (ioctl(dmfd, request, cmd)) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

FIXTURE(hmm) {
	char mnt[64];
	char path[128];
	unsigned long unit;
	int fd;		/* the region */
	int dmfd;	/* the mirror of this process */
	int mfd;	/* a memfd mapped in the region, or -1 */
	char *p;	/* this process's mapping of the region */
	char *buf;	/* what the mirror reads and writes */
};

FIXTURE_SETUP(hmm)
{
	self->fd = -1;
	self->dmfd = -1;
	self->mfd = -1;
	self->p = NULL;
	if (access(HMM_DEV, F_OK))
		SKIP(return, "%s not present (CONFIG_TEST_HMM)", HMM_DEV);
	/* The mirror follows the mm of the process that opens it: this one. */
	self->dmfd = open(HMM_DEV, O_RDWR);
	ASSERT_LE(0, self->dmfd);
	self->buf = malloc(RANGE);
	ASSERT_NE(NULL, self->buf);
	region_fixture_setup(_metadata, self->mnt, sizeof(self->mnt), self->path,
			     sizeof(self->path), &self->unit, &self->fd, 1);
}

FIXTURE_TEARDOWN(hmm)
{
	if (self->p)
		munmap(self->p, self->unit);
	if (self->dmfd >= 0)
		close(self->dmfd);
	if (self->mfd >= 0)
		close(self->mfd);
	if (self->fd >= 0) {
		mshare_unmap(self->fd, 0, self->unit);
		close(self->fd);
	}
	free(self->buf);
	umount_instance(self->mnt);
}

/*
 * The start of every change test: this process maps the region, writes
 * pattern seed into the range through its mapping, and the mirror reads it,
 * faulting the pages in (it had none) and keeping them.
 */
static void mirror_pattern(struct __test_metadata *_metadata, FIXTURE_DATA(hmm) *self,
			   unsigned long seed)
{
	struct hmm_dmirror_cmd cmd;

	self->p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, self->p);
	fill(self->p, RANGE, seed);
	memset(self->buf, 0, RANGE);
	ASSERT_EQ(0, dmirror(self->dmfd, HMM_DMIRROR_READ, self->p, self->buf, NPAGES, &cmd));
	ASSERT_EQ(NPAGES, cmd.cpages);
	ASSERT_LT(0, cmd.faults);
	ASSERT_EQ(0, bad_bytes(self->buf, RANGE, seed));
}

/* The mirror reads the range again, into a buffer filled with garbage. */
static void mirror_reread(struct __test_metadata *_metadata, FIXTURE_DATA(hmm) *self,
			  struct hmm_dmirror_cmd *cmd)
{
	memset(self->buf, 0xa5, RANGE);
	ASSERT_EQ(0, dmirror(self->dmfd, HMM_DMIRROR_READ, self->p, self->buf, NPAGES, cmd));
	ASSERT_EQ(NPAGES, cmd->cpages);
}

/*
 * After a change that removed the data: the mirror faulted again and read
 * zeros, with not one page of the old pattern left.
 */
static void expect_zeros(struct __test_metadata *_metadata, FIXTURE_DATA(hmm) *self,
			 const struct hmm_dmirror_cmd *cmd, unsigned long seed)
{
	unsigned long old = pattern_pages(self->buf, RANGE, seed);

	EXPECT_EQ(0, old)
		TH_LOG("the mirror still reads %lu pages of the old data: it was not invalidated",
		       old);
	EXPECT_EQ(0, nonzero_bytes(self->buf, RANGE));
	EXPECT_LT(0, cmd->faults) TH_LOG("the mirror did not fault again");
	/* And what the CPU sees through the mapping agrees. */
	EXPECT_EQ(0, nonzero_bytes(self->p, RANGE));
}

/* Run fn(arg) in another process (B), which may map the region itself. */
static int in_other_process(int (*fn)(int, unsigned long, void *), int fd,
			    unsigned long u, void *arg)
{
	pid_t pid;
	int st;

	pid = fork_child();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(fn(fd, u, arg));
	if (wait_child(pid, &st, 60))
		return -1;
	return st;
}

/* B: punch the range out of the memfd, through the memfd, not the region. */
static int punch_memfd(int fd, unsigned long u, void *arg)
{
	int mfd = *(int *)arg;

	return fallocate(mfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, RANGE) ? 1 : 0;
}

TEST_F(hmm, hole_punch_memfd)
{
	struct hmm_dmirror_cmd cmd;
	int st;

	self->mfd = memfd_create("hmm-punch", 0);
	ASSERT_LE(0, self->mfd);
	ASSERT_EQ(0, ftruncate(self->mfd, RANGE));
	ASSERT_EQ(0, mshare_file(self->fd, 0, RANGE, RW, self->mfd));
	mirror_pattern(_metadata, self, 1);

	st = in_other_process(punch_memfd, self->fd, self->unit, &self->mfd);
	ASSERT_TRUE(exited_with(st, 0)) TH_LOG("punching process: status %#x", st);

	mirror_reread(_metadata, self, &cmd);
	expect_zeros(_metadata, self, &cmd, 1);
}

/* B: map the region, see the pattern, MADV_REMOVE (or another advice) it. */
static int sharer_madvise(int fd, unsigned long u, void *arg)
{
	int advice = *(int *)arg;
	char *q = map_region(fd, u, RW);

	if (!q)
		return 1;
	/* Its own first access links the host's tables as well. */
	if (bad_bytes(q, PAGE, 2))
		return 2;
	return madvise(q, RANGE, advice) ? 3 : 0;
}

TEST_F(hmm, madv_remove_by_sharer)
{
	int advice = MADV_REMOVE;
	struct hmm_dmirror_cmd cmd;
	int st;

	ASSERT_EQ(0, mshare_anon(self->fd, 0, RANGE));
	mirror_pattern(_metadata, self, 2);

	st = in_other_process(sharer_madvise, self->fd, self->unit, &advice);
	ASSERT_TRUE(exited_with(st, 0)) TH_LOG("sharer: status %#x", st);

	mirror_reread(_metadata, self, &cmd);
	expect_zeros(_metadata, self, &cmd, 2);
}

/*
 * B: MSHAREFS_UNMAP the range and create a new mapping there: fresh
 * anonymous memory, or (objfd >= 0) that object.
 */
static int unmap_create(int fd, unsigned long u, void *arg)
{
	int objfd = *(int *)arg;

	if (mshare_unmap(fd, 0, RANGE))
		return 1;
	if (objfd < 0)
		return mshare_anon(fd, 0, RANGE) ? 2 : 0;
	return mshare_file(fd, 0, RANGE, RW, objfd) ? 3 : 0;
}

TEST_F(hmm, unmap_create_anon_by_other)
{
	struct hmm_dmirror_cmd cmd;
	int objfd = -1, st;

	ASSERT_EQ(0, mshare_anon(self->fd, 0, RANGE));
	mirror_pattern(_metadata, self, 3);

	st = in_other_process(unmap_create, self->fd, self->unit, &objfd);
	ASSERT_TRUE(exited_with(st, 0)) TH_LOG("unmapping process: status %#x", st);

	mirror_reread(_metadata, self, &cmd);
	expect_zeros(_metadata, self, &cmd, 3);
}

/*
 * The same with a memfd of other data as the new mapping: the mirror reads
 * the new object's data, so it is not merely zeroed memory that came back.
 */
TEST_F(hmm, unmap_create_memfd_by_other)
{
	struct hmm_dmirror_cmd cmd;
	unsigned long old;
	char *m;
	int st;

	self->mfd = memfd_create("hmm-new", 0);
	ASSERT_LE(0, self->mfd);
	ASSERT_EQ(0, ftruncate(self->mfd, RANGE));
	m = mmap(NULL, RANGE, RW, MAP_SHARED, self->mfd, 0);
	ASSERT_NE(MAP_FAILED, m);
	fill(m, RANGE, 5);
	munmap(m, RANGE);

	ASSERT_EQ(0, mshare_anon(self->fd, 0, RANGE));
	mirror_pattern(_metadata, self, 4);

	st = in_other_process(unmap_create, self->fd, self->unit, &self->mfd);
	ASSERT_TRUE(exited_with(st, 0)) TH_LOG("unmapping process: status %#x", st);

	mirror_reread(_metadata, self, &cmd);
	old = pattern_pages(self->buf, RANGE, 4);
	EXPECT_EQ(0, old)
		TH_LOG("the mirror still reads %lu pages of the old mapping", old);
	EXPECT_EQ(0, bad_bytes(self->buf, RANGE, 5));
	EXPECT_LT(0, cmd.faults) TH_LOG("the mirror did not fault again");
	EXPECT_EQ(0, bad_bytes(self->p, RANGE, 5));
}

/*
 * MADV_DONTNEED by B drops the host's entries but, the memory being shared,
 * not the data: the mirror must have been told (it faults again) and reads
 * the same pattern.
 */
TEST_F(hmm, madv_dontneed_by_sharer)
{
	int advice = MADV_DONTNEED;
	struct hmm_dmirror_cmd cmd;
	int st;

	ASSERT_EQ(0, mshare_anon(self->fd, 0, RANGE));
	/* sharer_madvise checks pattern 2 on its first page. */
	mirror_pattern(_metadata, self, 2);

	st = in_other_process(sharer_madvise, self->fd, self->unit, &advice);
	ASSERT_TRUE(exited_with(st, 0)) TH_LOG("sharer: status %#x", st);

	mirror_reread(_metadata, self, &cmd);
	EXPECT_LT(0, cmd.faults)
		TH_LOG("the mirror did not fault again: it was not invalidated");
	EXPECT_EQ(0, bad_bytes(self->buf, RANGE, 2));
	EXPECT_EQ(0, bad_bytes(self->p, RANGE, 2));
}

/* B: map the region and find pattern seed in the range. */
static int sharer_check(int fd, unsigned long u, void *arg)
{
	unsigned long seed = *(unsigned long *)arg;
	char *q = map_region(fd, u, RW);

	if (!q)
		return 1;
	return bad_bytes(q, RANGE, seed) ? 2 : 0;
}

/*
 * The good path: the mirror writes into the region (faulting the pages in
 * for writing through hmm_range_fault()), and another sharer reads what it
 * wrote through its plain mapping.
 */
TEST_F(hmm, mirror_write_seen_by_sharer)
{
	unsigned long seed = 6;
	struct hmm_dmirror_cmd cmd;
	int st;

	ASSERT_EQ(0, mshare_anon(self->fd, 0, RANGE));
	self->p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, self->p);

	fill(self->buf, RANGE, seed);
	ASSERT_EQ(0, dmirror(self->dmfd, HMM_DMIRROR_WRITE, self->p, self->buf, NPAGES, &cmd));
	ASSERT_EQ(NPAGES, cmd.cpages);
	EXPECT_LT(0, cmd.faults);

	st = in_other_process(sharer_check, self->fd, self->unit, &seed);
	EXPECT_TRUE(exited_with(st, 0)) TH_LOG("sharer: status %#x", st);
	EXPECT_EQ(0, bad_bytes(self->p, RANGE, seed));
}

/*
 * A read-only sharer (region open O_RDONLY, mapped PROT_READ, as another
 * uid) mirrors the range: the host's entries are writable, since the
 * writer wrote through them, but the mirror must not get write permission
 * from them. Its HMM_DMIRROR_WRITE fails and the writer's data stays.
 */
static int readonly_mirror_write(int fd, unsigned long u, void *arg)
{
	const char *path = arg;
	struct hmm_dmirror_cmd cmd;
	int rfd, dmfd, ret;
	char *p, *buf;

	if (setgroups(0, NULL) || setresgid(UNPRIV_GID, UNPRIV_GID, UNPRIV_GID) ||
	    setresuid(UNPRIV_UID, UNPRIV_UID, UNPRIV_UID))
		return 10;
	rfd = open(path, O_RDONLY);
	dmfd = open(HMM_DEV, O_RDWR);
	if (rfd < 0 || dmfd < 0)
		return 11;
	p = mmap(NULL, u, PROT_READ, MAP_SHARED, rfd, 0);
	buf = malloc(RANGE);
	if (p == MAP_FAILED || !buf)
		return 12;
	if (dmirror(dmfd, HMM_DMIRROR_READ, p, buf, NPAGES, &cmd) ||
	    cmd.cpages != NPAGES || bad_bytes(buf, RANGE, 61))
		return 13;
	fill(buf, RANGE, 62);
	ret = dmirror(dmfd, HMM_DMIRROR_WRITE, p, buf, NPAGES, &cmd);
	return ret ? 0 : 14;
}

TEST_F(hmm, readonly_sharer_mirror_cannot_write)
{
	int st;

	/* The device node is root's: let the other uid open it. */
	ASSERT_EQ(0, chmod(HMM_DEV, 0666));
	ASSERT_EQ(0, chmod(self->mnt, 0755));
	ASSERT_EQ(0, fchmod(self->fd, 0644));
	ASSERT_EQ(0, mshare_anon(self->fd, 0, RANGE));
	self->p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, self->p);
	fill(self->p, RANGE, 61);

	st = in_other_process(readonly_mirror_write, self->fd, self->unit, self->path);
	EXPECT_TRUE(exited_with(st, 0))
		TH_LOG("read-only sharer: status %#x (14: the mirror wrote)", st);
	EXPECT_EQ(0, bad_bytes(self->p, RANGE, 61))
		TH_LOG("a read-only sharer's mirror changed the writer's data");
}

TEST_HARNESS_MAIN
