// SPDX-License-Identifier: GPL-2.0
/*
 * What one process may do to a region's memory, which is every sharer's
 * memory:
 *
 * - advice forwarded to the host mm needs the rights its effect needs:
 *   MADV_REMOVE (which frees data) a writable mapping; MADV_DONTNEED,
 *   MADV_PAGEOUT and MADV_COLD (which drop or age the host's entries for
 *   everybody) write permission on the region file;
 * - a region holds no inaccessible or write-only memory: PROT_NONE and
 *   PROT_WRITE alone are refused in the host and in processes;
 * - objects that are not plain page-cache files (memfd_secret, procfs,
 *   sysfs, debugfs) are refused, and refusing them leaves nothing mapped;
 * - page-table walkers that would change the host's shared entries in one
 *   process's name (clear_refs soft-dirty, move_pages, mbind) leave them
 *   alone.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <limits.h>
#include <linux/mempolicy.h>
#include <linux/msharefs.h>
#include <sys/syscall.h>

#include "../../kselftest_harness.h"
#include "mshare_util.h"

#ifndef MADV_COLD
#define MADV_COLD		20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT		21
#endif
#ifndef __NR_memfd_secret
#define __NR_memfd_secret	447
#endif

#define PROC_SUPER_MAGIC	0x9fa0
#define SYSFS_MAGIC		0x62656572
#define DEBUGFS_MAGIC		0x64626720
#define TRACEFS_MAGIC		0x74726163

/* /proc/PID/pagemap */
#define PM_SOFT_DIRTY		(1ULL << 55)
#define PM_PRESENT		(1ULL << 63)

#define PAGE	4096UL
#define MB	(1UL << 20)
#define RW	(PROT_READ | PROT_WRITE)
#define ANON	(MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS)

/* A value for page i of a pattern; never 0. */
static inline unsigned long pat(unsigned long seed, unsigned long i)
{
	return ((seed << 48) ^ (i * 0x9e3779b97f4a7c15UL) ^ 0x5a5a5a5aUL) | 1;
}

/* The first word of every page of [p, p + len) gets pat(seed, page). */
static void fill_pages(char *p, unsigned long len, unsigned long seed)
{
	unsigned long i;

	for (i = 0; i < len / PAGE; i++)
		*(volatile unsigned long *)(p + i * PAGE) = pat(seed, i);
}

/* How many pages of [p, p + len) do not hold what fill_pages() put there. */
static unsigned long check_pages(const char *p, unsigned long len, unsigned long seed)
{
	unsigned long i, bad = 0;

	for (i = 0; i < len / PAGE; i++)
		if (*(volatile const unsigned long *)(p + i * PAGE) != pat(seed, i))
			bad++;
	return bad;
}

/* The same for an object file, read with pread() at offset off. */
static unsigned long check_file_pages(int fd, off_t off, unsigned long len, unsigned long seed)
{
	unsigned long i, v, bad = 0;

	for (i = 0; i < len / PAGE; i++)
		if (pread(fd, &v, sizeof(v), off + i * PAGE) != sizeof(v) || v != pat(seed, i))
			bad++;
	return bad;
}

/* How many words of [p, p + len) are not 0. */
static unsigned long nonzero_words(const char *p, unsigned long len)
{
	unsigned long i, bad = 0;

	for (i = 0; i < len; i += sizeof(long))
		if (*(volatile const unsigned long *)(p + i))
			bad++;
	return bad;
}

/* The same for an object file at offset off. */
static unsigned long nonzero_file_words(int fd, off_t off, unsigned long len)
{
	unsigned long i, bad = 0, *buf = malloc(len);

	if (!buf || pread(fd, buf, len, off) != (ssize_t)len) {
		free(buf);
		return len;
	}
	for (i = 0; i < len / sizeof(long); i++)
		if (buf[i])
			bad++;
	free(buf);
	return bad;
}

/*
 * Run fn(arg) in a child, dropped to uid and gid 65534 (and so every
 * capability) if unpriv: its exit code, or -1 if it died or hung.
 */
static int in_child(int (*fn)(void *), void *arg, int unpriv)
{
	pid_t pid = fork_child();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (unpriv && (setgroups(0, NULL) ||
			       setresgid(UNPRIV_GID, UNPRIV_GID, UNPRIV_GID) ||
			       setresuid(UNPRIV_UID, UNPRIV_UID, UNPRIV_UID)))
			_exit(254);
		_exit(fn(arg) & 0xff);
	}
	if (wait_child(pid, &st, 60) || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

FIXTURE(guard) {
	char mnt[64];
	char path[128];
	unsigned long unit;
	int fd;		/* a region of one unit, open O_RDWR */
	int objfd;	/* an object for the region, or -1 */
};

FIXTURE_SETUP(guard)
{
	self->fd = -1;
	self->objfd = -1;
	region_fixture_setup(_metadata, self->mnt, sizeof(self->mnt), self->path,
			     sizeof(self->path), &self->unit, &self->fd, 1);
	/* Sharers that drop to an unprivileged user look the region up. */
	ASSERT_EQ(0, chmod(self->mnt, 0755));
}

FIXTURE_TEARDOWN(guard)
{
	if (self->objfd >= 0)
		close(self->objfd);
	if (self->fd >= 0) {
		mshare_unmap(self->fd, 0, self->unit);
		close(self->fd);
	}
	unlink(self->path);
	umount_instance(self->mnt);
}

/* ---------------------------------------------------------------------- */
/* A. Forwarded advice needs the rights its effect needs                  */
/* ---------------------------------------------------------------------- */

#define MAX_ADVICE	8

/* Shared with a sharer in a child. */
struct advise_arg {
	char path[128];
	unsigned long size;	/* of the region */
	unsigned long len;	/* advised, from offset 0; holds pattern seed */
	unsigned long seed;
	int open_flags;
	int prot;
	int recheck;		/* read the pattern again afterwards */
	int nr;
	int advice[MAX_ADVICE];
	int err[MAX_ADVICE];	/* errno of each advice, 0 if it succeeded */
	unsigned long bad_after;
};

static struct advise_arg *advise_arg(FIXTURE_DATA(guard) *self, unsigned long len,
				     unsigned long seed, int open_flags, int prot)
{
	struct advise_arg *a = shared_mem(sizeof(*a));

	if (!a)
		return NULL;
	snprintf(a->path, sizeof(a->path), "%s", self->path);
	a->size = self->unit;
	a->len = len;
	a->seed = seed;
	a->open_flags = open_flags;
	a->prot = prot;
	a->recheck = 1;
	return a;
}

static void add_advice(struct advise_arg *a, int advice)
{
	a->err[a->nr] = -1;
	a->advice[a->nr++] = advice;
}

/*
 * A sharer that opens and maps the region itself, reads the advised range
 * (so that its PUD entry links the host's table and the advice has
 * something to act on), gives each advice over it and, if asked to, reads
 * it again. Exits 0, or 10.. where it could not get that far.
 */
static int advise_sharer(void *arg)
{
	struct advise_arg *a = arg;
	char *q;
	int fd, i;

	fd = open(a->path, a->open_flags);
	if (fd < 0)
		return 10;
	q = map_region(fd, a->size, a->prot);
	if (!q)
		return 11;
	if (check_pages(q, a->len, a->seed))
		return 12;
	for (i = 0; i < a->nr; i++)
		a->err[i] = madvise(q, a->len, a->advice[i]) ? errno : 0;
	if (a->recheck)
		a->bad_after = check_pages(q, a->len, a->seed);
	munmap(q, a->size);
	close(fd);
	return 0;
}

static const char *advice_name(int advice)
{
	switch (advice) {
	case MADV_DONTNEED:	return "MADV_DONTNEED";
	case MADV_PAGEOUT:	return "MADV_PAGEOUT";
	case MADV_COLD:		return "MADV_COLD";
	case MADV_WILLNEED:	return "MADV_WILLNEED";
	case MADV_REMOVE:	return "MADV_REMOVE";
	}
	return "?";
}

/*
 * MADV_REMOVE through a mapping that cannot write (PROT_READ, or an O_RDONLY
 * region fd) would free data that the caller could not even overwrite:
 * EACCES, for root as for anyone, and the writer's data stays, in the
 * region and (for a memfd object) in the object.
 */
static void remove_not_writable(struct __test_metadata *_metadata,
				FIXTURE_DATA(guard) *self, int open_flags, int memfd)
{
	struct advise_arg *a;
	char *p;
	int rc;

	if (memfd) {
		self->objfd = memfd_create("guard-remove", 0);
		ASSERT_LE(0, self->objfd);
		ASSERT_EQ(0, ftruncate(self->objfd, 2 * MB));
		ASSERT_EQ(0, mshare_file(self->fd, 0, 2 * MB, RW, self->objfd));
	} else {
		ASSERT_EQ(0, mshare_anon(self->fd, 0, 2 * MB));
	}
	p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, p);
	fill_pages(p, 2 * MB, 1);

	a = advise_arg(self, 2 * MB, 1, open_flags, PROT_READ);
	ASSERT_NE(NULL, a);
	add_advice(a, MADV_REMOVE);
	rc = in_child(advise_sharer, a, 0);
	ASSERT_EQ(0, rc) TH_LOG("read-only sharer: exit %d", rc);
	EXPECT_EQ(EACCES, a->err[0]) TH_LOG("MADV_REMOVE through a read-only mapping: %s",
					   strerror(a->err[0]));
	EXPECT_EQ(0, a->bad_after);
	EXPECT_EQ(0, check_pages(p, 2 * MB, 1));
	if (memfd)
		EXPECT_EQ(0, check_file_pages(self->objfd, 0, 2 * MB, 1));
	munmap(p, self->unit);
}

TEST_F(guard, madv_remove_prot_read)
{
	remove_not_writable(_metadata, self, O_RDWR, 0);
}

TEST_F(guard, madv_remove_rdonly_fd)
{
	remove_not_writable(_metadata, self, O_RDONLY, 1);
}

/*
 * Through a PROT_READ | PROT_WRITE mapping of an O_RDWR fd MADV_REMOVE
 * works: the range reads zeros (in the object too), the rest is untouched.
 */
static void remove_writable(struct __test_metadata *_metadata,
			    FIXTURE_DATA(guard) *self, int memfd)
{
	char *p;

	if (memfd) {
		self->objfd = memfd_create("guard-remove", 0);
		ASSERT_LE(0, self->objfd);
		ASSERT_EQ(0, ftruncate(self->objfd, 4 * MB));
		ASSERT_EQ(0, mshare_file(self->fd, 0, 4 * MB, RW, self->objfd));
	} else {
		ASSERT_EQ(0, mshare_anon(self->fd, 0, 4 * MB));
	}
	p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, p);
	fill_pages(p, 2 * MB, 2);
	fill_pages(p + 2 * MB, 2 * MB, 3);
	EXPECT_EQ(0, madvise(p, 2 * MB, MADV_REMOVE)) TH_LOG("MADV_REMOVE: %s", strerror(errno));
	EXPECT_EQ(0, nonzero_words(p, 2 * MB));
	EXPECT_EQ(0, check_pages(p + 2 * MB, 2 * MB, 3));
	if (memfd) {
		EXPECT_EQ(0, nonzero_file_words(self->objfd, 0, 2 * MB));
		EXPECT_EQ(0, check_file_pages(self->objfd, 2 * MB, 2 * MB, 3));
	}
	munmap(p, self->unit);
}

TEST_F(guard, madv_remove_rw_memfd)
{
	remove_writable(_metadata, self, 1);
}

TEST_F(guard, madv_remove_rw_anon)
{
	remove_writable(_metadata, self, 0);
}

/*
 * A user who cannot write the region file (mode 0644, owned by root) maps
 * it read-only: it may read the memory and ask for it to be read ahead
 * (MADV_WILLNEED), but not drop or age the host's entries, which would
 * cost every sharer faults and I/O: MADV_DONTNEED, MADV_PAGEOUT and
 * MADV_COLD give EACCES, MADV_REMOVE too. The host's entries all stay (the
 * writer's Rss, walked through the same tables, does not move), and so
 * does the data.
 */
TEST_F(guard, madv_non_writer_refused)
{
	static const int advice[] = {
		MADV_DONTNEED, MADV_PAGEOUT, MADV_COLD, MADV_REMOVE, MADV_WILLNEED,
	};
	static const int want[] = { EACCES, EACCES, EACCES, EACCES, 0 };
	struct advise_arg *a;
	long rss0, rss1;
	unsigned int i;
	char *p;
	int rc;

	ASSERT_EQ(0, mshare_anon(self->fd, 0, 2 * MB));
	ASSERT_EQ(0, fchmod(self->fd, 0644));
	p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, p);
	fill_pages(p, 2 * MB, 4);
	rss0 = smaps_kb(p, "Rss");

	a = advise_arg(self, 2 * MB, 4, O_RDONLY, PROT_READ);
	ASSERT_NE(NULL, a);
	for (i = 0; i < ARRAY_SIZE(advice); i++)
		add_advice(a, advice[i]);
	rc = in_child(advise_sharer, a, 1);
	ASSERT_EQ(0, rc) TH_LOG("sharer as uid %d: exit %d", UNPRIV_UID, rc);
	for (i = 0; i < ARRAY_SIZE(advice); i++)
		EXPECT_EQ(want[i], a->err[i]) TH_LOG("%s by uid %d, region 0644: %s",
						     advice_name(advice[i]), UNPRIV_UID,
						     a->err[i] ? strerror(a->err[i]) : "success");
	EXPECT_EQ(0, a->bad_after);

	rss1 = smaps_kb(p, "Rss");
	TH_LOG("Rss of the writer's region VMA: %ld kB, after the sharer's advice %ld kB",
	       rss0, rss1);
	EXPECT_LT(0, rss0);
	EXPECT_EQ(rss0, rss1);
	EXPECT_EQ(0, check_pages(p, 2 * MB, 4));
	munmap(p, self->unit);
}

/*
 * With the region file mode 0666 the same read-only sharer may write the
 * file, and so may drop and age the host's entries: MADV_DONTNEED,
 * MADV_PAGEOUT and MADV_COLD succeed, for every sharer (the writer's Rss
 * goes to 0). Its mapping still cannot write, so MADV_REMOVE stays EACCES
 * and the data is all there.
 */
TEST_F(guard, madv_file_writer_allowed)
{
	static const int advice[] = {
		MADV_DONTNEED, MADV_PAGEOUT, MADV_COLD, MADV_REMOVE,
	};
	static const int want[] = { 0, 0, 0, EACCES };
	struct advise_arg *a;
	long rss0, rss1;
	unsigned int i;
	char *p;
	int rc;

	ASSERT_EQ(0, mshare_anon(self->fd, 0, 2 * MB));
	ASSERT_EQ(0, fchmod(self->fd, 0666));
	p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, p);
	fill_pages(p, 2 * MB, 5);
	rss0 = smaps_kb(p, "Rss");

	a = advise_arg(self, 2 * MB, 5, O_RDONLY, PROT_READ);
	ASSERT_NE(NULL, a);
	/* A re-read would fault the range back in before Rss is looked at. */
	a->recheck = 0;
	for (i = 0; i < ARRAY_SIZE(advice); i++)
		add_advice(a, advice[i]);
	rc = in_child(advise_sharer, a, 1);
	ASSERT_EQ(0, rc) TH_LOG("sharer as uid %d: exit %d", UNPRIV_UID, rc);
	for (i = 0; i < ARRAY_SIZE(advice); i++)
		EXPECT_EQ(want[i], a->err[i]) TH_LOG("%s by uid %d, region 0666: %s",
						     advice_name(advice[i]), UNPRIV_UID,
						     a->err[i] ? strerror(a->err[i]) : "success");

	rss1 = smaps_kb(p, "Rss");
	TH_LOG("Rss of the writer's region VMA: %ld kB, after the sharer's advice %ld kB",
	       rss0, rss1);
	EXPECT_LT(0, rss0);
	EXPECT_EQ(0, rss1);
	/* Shared memory keeps its data when its entries are dropped. */
	EXPECT_EQ(0, check_pages(p, 2 * MB, 5));
	munmap(p, self->unit);
}

/* ---------------------------------------------------------------------- */
/* B. No inaccessible or write-only memory                                */
/* ---------------------------------------------------------------------- */

/*
 * A host mapping without PROT_READ: the host's entries would be what every
 * sharer uses, and x86 has no write-only pages. Refused before anything is
 * mapped: anonymous memory fits at the same offset afterwards.
 */
static void create_refused(struct __test_metadata *_metadata,
			   FIXTURE_DATA(guard) *self, int prot)
{
	EXPECT_EQ(EINVAL, mshare_create(self->fd, 0, 2 * MB, prot, ANON, -1, 0))
		TH_LOG("anonymous mapping with prot %#x", prot);
	self->objfd = memfd_create("guard-prot", 0);
	ASSERT_LE(0, self->objfd);
	ASSERT_EQ(0, ftruncate(self->objfd, 2 * MB));
	EXPECT_EQ(EINVAL, mshare_file(self->fd, 2 * MB, 2 * MB, prot, self->objfd))
		TH_LOG("memfd mapping with prot %#x", prot);
	EXPECT_EQ(0, mshare_create(self->fd, 0, 2 * MB, RW, ANON, -1, 0));
	EXPECT_EQ(0, mshare_file(self->fd, 2 * MB, 2 * MB, RW, self->objfd));
}

TEST_F(guard, create_prot_none)
{
	create_refused(_metadata, self, PROT_NONE);
}

TEST_F(guard, create_prot_write_only)
{
	create_refused(_metadata, self, PROT_WRITE);
}

/* PROT_READ and PROT_READ | PROT_WRITE are what a region holds. */
TEST_F(guard, create_prot_read_and_rw)
{
	unsigned long v = 1;
	char *p;

	EXPECT_EQ(0, mshare_create(self->fd, 0, 2 * MB, PROT_READ, ANON, -1, 0));
	EXPECT_EQ(0, mshare_create(self->fd, 2 * MB, 2 * MB, RW, ANON, -1, 0));
	p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0, probe_read(p, &v));
	EXPECT_EQ(0, v);
	/* The host's protection holds for a sharer that mapped RW. */
	EXPECT_EQ(SIGSEGV, probe_write(p, 0x77));
	EXPECT_EQ(0, probe_write(p + 2 * MB, 0x77));
	EXPECT_EQ(0, probe_read(p + 2 * MB, &v));
	EXPECT_EQ(0x77, v);
	munmap(p, self->unit);
}

/* mmap() that is expected to fail: its errno, or 0 (and unmapped) if it worked. */
static int mmap_err(unsigned long len, int prot, int fd)
{
	void *p = mmap(NULL, len, prot, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return errno;
	munmap(p, len);
	return 0;
}

/*
 * A process's mapping of a region without PROT_READ: its PUD entry cannot
 * make the host's entries inaccessible or write-only for it, and a
 * PROT_NONE mapping would be readable through GUP (/proc/self/mem).
 */
TEST_F(guard, mmap_prot_none)
{
	int ro;

	ASSERT_EQ(0, mshare_anon(self->fd, 0, 2 * MB));
	EXPECT_EQ(EINVAL, mmap_err(self->unit, PROT_NONE, self->fd));
	ro = open(self->path, O_RDONLY);
	ASSERT_LE(0, ro);
	EXPECT_EQ(EINVAL, mmap_err(self->unit, PROT_NONE, ro)) TH_LOG("O_RDONLY fd");
	close(ro);
}

TEST_F(guard, mmap_prot_write_only)
{
	ASSERT_EQ(0, mshare_anon(self->fd, 0, 2 * MB));
	EXPECT_EQ(EINVAL, mmap_err(self->unit, PROT_WRITE, self->fd));
}

/* ---------------------------------------------------------------------- */
/* C. Objects                                                             */
/* ---------------------------------------------------------------------- */

/*
 * obj is refused with ENODEV, and the refusal leaves nothing mapped:
 * anonymous memory can be created at the same offset, and works.
 */
static void object_refused(struct __test_metadata *_metadata,
			   FIXTURE_DATA(guard) *self, int obj, int prot, const char *what)
{
	char *p;

	EXPECT_EQ(ENODEV, mshare_file(self->fd, 0, 2 * MB, prot, obj)) TH_LOG("%s", what);
	ASSERT_EQ(0, mshare_create(self->fd, 0, 2 * MB, RW, ANON, -1, 0));
	p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, p);
	fill_pages(p, 64 * 1024, 6);
	EXPECT_EQ(0, check_pages(p, 64 * 1024, 6));
	munmap(p, self->unit);
}

/*
 * Opens path O_RDONLY into self->objfd if it is a regular file of the
 * filesystem with that magic: 0, or -1.
 */
static int open_object_on(FIXTURE_DATA(guard) *self, const char *path, long magic)
{
	struct statfs sfs;
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || fstatfs(fd, &sfs) ||
	    sfs.f_type != magic) {
		close(fd);
		return -1;
	}
	self->objfd = fd;
	return 0;
}

/*
 * memfd_secret memory is taken out of the kernel's direct map; its fault
 * handler must not run for another mm's host, nor its pages be reached
 * through the region's kernel paths.
 */
TEST_F(guard, object_memfd_secret)
{
	self->objfd = syscall(__NR_memfd_secret, 0);
	if (self->objfd < 0 && errno == ENOSYS)
		SKIP(return, "memfd_secret: ENOSYS (CONFIG_SECRETMEM, secretmem.enable)");
	ASSERT_LE(0, self->objfd) TH_LOG("memfd_secret: %s", strerror(errno));
	ASSERT_EQ(0, ftruncate(self->objfd, 2 * MB));
	object_refused(_metadata, self, self->objfd, RW, "memfd_secret");
}

TEST_F(guard, object_procfs)
{
	ASSERT_EQ(0, open_object_on(self, "/proc/self/maps", PROC_SUPER_MAGIC));
	object_refused(_metadata, self, self->objfd, PROT_READ, "/proc/self/maps");
}

TEST_F(guard, object_sysfs)
{
	static const char * const files[] = {
		"/sys/kernel/mm/transparent_hugepage/enabled",
		"/sys/devices/system/cpu/online",
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(files); i++)
		if (!open_object_on(self, files[i], SYSFS_MAGIC))
			break;
	if (i == ARRAY_SIZE(files))
		SKIP(return, "no sysfs file to open");
	object_refused(_metadata, self, self->objfd, PROT_READ, files[i]);
}

TEST_F(guard, object_debugfs)
{
	static const char * const known[] = {
		"/sys/kernel/debug/fault_around_bytes",
		"/sys/kernel/debug/failslab/probability",
	};
	char name[PATH_MAX] = "";
	struct statfs sfs;
	struct dirent *d;
	unsigned int i;
	DIR *dir;

	if (statfs("/sys/kernel/debug", &sfs) || sfs.f_type != DEBUGFS_MAGIC)
		SKIP(return, "debugfs is not mounted on /sys/kernel/debug");
	for (i = 0; i < ARRAY_SIZE(known) && self->objfd < 0; i++)
		if (!open_object_on(self, known[i], DEBUGFS_MAGIC))
			snprintf(name, sizeof(name), "%s", known[i]);
	/* Else any regular file at the top (stat does not automount tracefs). */
	dir = self->objfd < 0 ? opendir("/sys/kernel/debug") : NULL;
	while (dir && self->objfd < 0 && (d = readdir(dir))) {
		snprintf(name, sizeof(name), "/sys/kernel/debug/%s", d->d_name);
		if (d->d_type == DT_REG && !open_object_on(self, name, DEBUGFS_MAGIC))
			break;
	}
	if (dir)
		closedir(dir);
	if (self->objfd < 0)
		SKIP(return, "no readable regular file in debugfs");
	object_refused(_metadata, self, self->objfd, PROT_READ, name);
}

/*
 * What stays accepted keeps working both ways: a sharer's stores reach the
 * object, and what another process finds through its own mapping is what
 * was stored, through the region or into the object.
 */
struct share_arg {
	char path[128];
	unsigned long size;
};

/* Reads the first MiB (seed 7), writes the second (seed 8): 0 or 10.. */
static int object_sharer(void *arg)
{
	struct share_arg *a = arg;
	char *q;
	int fd;

	fd = open(a->path, O_RDWR);
	if (fd < 0)
		return 10;
	q = map_region(fd, a->size, RW);
	if (!q)
		return 11;
	if (check_pages(q, MB, 7))
		return 12;
	fill_pages(q + MB, MB, 8);
	return 0;
}

static void object_works(struct __test_metadata *_metadata, FIXTURE_DATA(guard) *self)
{
	struct share_arg *a;
	char *p;
	int rc;

	if (self->objfd >= 0) {
		ASSERT_EQ(0, mshare_file(self->fd, 0, 2 * MB, RW, self->objfd));
	} else {
		ASSERT_EQ(0, mshare_create(self->fd, 0, 2 * MB, RW, ANON, -1, 0));
	}
	p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, p);
	fill_pages(p, MB, 7);
	if (self->objfd >= 0)
		EXPECT_EQ(0, check_file_pages(self->objfd, 0, MB, 7));

	a = shared_mem(sizeof(*a));
	ASSERT_NE(NULL, a);
	snprintf(a->path, sizeof(a->path), "%s", self->path);
	a->size = self->unit;
	rc = in_child(object_sharer, a, 0);
	EXPECT_EQ(0, rc) TH_LOG("sharer: exit %d", rc);
	EXPECT_EQ(0, check_pages(p + MB, MB, 8));
	if (self->objfd >= 0) {
		unsigned long v = pat(9, 0);

		EXPECT_EQ(0, check_file_pages(self->objfd, MB, MB, 8));
		/* Written into the object, read through the region. */
		ASSERT_EQ(sizeof(v), pwrite(self->objfd, &v, sizeof(v), MB + PAGE * 3));
		EXPECT_EQ(v, *(volatile unsigned long *)(p + MB + PAGE * 3));
	}
	munmap(p, self->unit);
}

/*
 * A pseudo-filesystem file whose ->mmap works: tracefs's per-CPU ring
 * buffer (trace_pipe_raw, mapped read-only since 6.10, with pages it
 * inserts itself). A plain mapping of it works; a region refuses it before
 * its ->mmap runs in the host.
 */
TEST_F(guard, object_tracefs_mmapable)
{
	const char *dir = "/sys/kernel/tracing";
	char name[PATH_MAX];
	struct statfs sfs;
	void *q;

	if (statfs(dir, &sfs) || sfs.f_type != TRACEFS_MAGIC)
		mount("nodev", dir, "tracefs", 0, NULL);
	if (statfs(dir, &sfs) || sfs.f_type != TRACEFS_MAGIC)
		SKIP(return, "no tracefs (CONFIG_TRACING)");
	snprintf(name, sizeof(name), "%s/per_cpu/cpu0/trace_pipe_raw", dir);
	if (open_object_on(self, name, TRACEFS_MAGIC))
		SKIP(return, "cannot open trace_pipe_raw of CPU 0");
	q = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->objfd, 0);
	if (q == MAP_FAILED)
		SKIP(return, "trace_pipe_raw cannot be mapped here (errno %d)", errno);
	munmap(q, PAGE);

	EXPECT_EQ(ENODEV, mshare_file(self->fd, 0, PAGE, PROT_READ, self->objfd));
	object_refused(_metadata, self, self->objfd, PROT_READ, name);
}

TEST_F(guard, object_memfd)
{
	self->objfd = memfd_create("guard-object", 0);
	ASSERT_LE(0, self->objfd);
	ASSERT_EQ(0, ftruncate(self->objfd, 2 * MB));
	object_works(_metadata, self);
}

TEST_F(guard, object_tmpfs)
{
	char name[] = "/dev/shm/mshare-guard-XXXXXX";

	self->objfd = mkstemp(name);
	ASSERT_LE(0, self->objfd);
	unlink(name);
	ASSERT_EQ(0, ftruncate(self->objfd, 2 * MB));
	object_works(_metadata, self);
}

TEST_F(guard, object_anon)
{
	object_works(_metadata, self);
}

/* ---------------------------------------------------------------------- */
/* D. Walkers acting in one process's name                                */
/* ---------------------------------------------------------------------- */

/* The pagemap entry of addr in this process: 0, or -1. */
static int pagemap_entry(const void *addr, uint64_t *ent)
{
	ssize_t n;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return -1;
	n = pread(fd, ent, sizeof(*ent), (uintptr_t)addr / PAGE * sizeof(*ent));
	close(fd);
	return n == sizeof(*ent) ? 0 : -1;
}

static int clear_soft_dirty(void)
{
	return write_file("/proc/self/clear_refs", "4");
}

/*
 * Whether this kernel tracks soft-dirty: a written page of private memory
 * shows bit 55, loses it to clear_refs "4" and gets it back on the next
 * write. NULL, or why not.
 */
static const char *soft_dirty_missing(void)
{
	volatile char *m = mmap(NULL, PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	const char *why = NULL;
	uint64_t e = 0;
	int err;

	if (m == MAP_FAILED)
		return "cannot map a page";
	m[0] = 1;
	if (pagemap_entry((void *)m, &e)) {
		why = "/proc/self/pagemap cannot be read";
		goto out;
	}
	if (!(e & PM_SOFT_DIRTY)) {
		why = "pagemap shows no soft-dirty bit (CONFIG_MEM_SOFT_DIRTY)";
		goto out;
	}
	err = clear_soft_dirty();
	if (err) {
		why = err == -EINVAL ? "clear_refs refuses \"4\"" : "cannot write clear_refs";
		goto out;
	}
	if (pagemap_entry((void *)m, &e) || (e & PM_SOFT_DIRTY)) {
		why = "clear_refs \"4\" does not clear soft-dirty";
		goto out;
	}
	m[0] = 2;
	if (pagemap_entry((void *)m, &e) || !(e & PM_SOFT_DIRTY))
		why = "a write does not set soft-dirty again";
out:
	munmap((void *)m, PAGE);
	return why;
}

/*
 * Soft-dirty tracking is a process's own: another sharer clearing its
 * soft-dirty bits (which write-protects the entries it walks) must not
 * clear them in the host's entries, which this process walks too. A
 * writes page X, clears its own bits and writes X again, so that bit 55
 * of X comes from the entry (not from the VMA's VM_SOFTDIRTY); B, which
 * links the same host table, clears its bits; X is still soft-dirty for A.
 */
TEST_F(guard, clear_refs_soft_dirty)
{
	const unsigned long x = MB + 5 * PAGE, mark = 0x736f66746469727aUL;
	const char *why;
	int go[2], st;
	uint64_t e = 0;
	pid_t pid;
	char *p;

	why = soft_dirty_missing();
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, mshare_anon(self->fd, 0, 2 * MB));
	ASSERT_EQ(0, pipe(go));
	/* B is forked before A maps: it maps the region itself. */
	pid = fork_child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *q;

		child_wait(go[0]);
		q = map_region(self->fd, self->unit, RW);
		if (!q)
			_exit(1);
		/* The read links the host's table from B's PUD entry. */
		if (*(volatile unsigned long *)(q + x) != mark)
			_exit(2);
		_exit(clear_soft_dirty() ? 3 : 0);
	}

	p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, p);
	*(volatile unsigned long *)(p + x) = mark;
	ASSERT_EQ(0, clear_soft_dirty());
	*(volatile unsigned long *)(p + x) = mark;
	ASSERT_EQ(0, pagemap_entry(p + x, &e));
	ASSERT_TRUE(e & PM_SOFT_DIRTY)
		TH_LOG("X just written shows no soft-dirty (%#llx): nothing to judge",
		       (unsigned long long)e);

	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(0, wait_child(pid, &st, 30));
	ASSERT_TRUE(exited_with(st, 0)) TH_LOG("B: status %#x", st);
	ASSERT_EQ(0, pagemap_entry(p + x, &e));
	TH_LOG("A's pagemap entry of X after B's clear_refs: %#llx (present %d)",
	       (unsigned long long)e, !!(e & PM_PRESENT));
	EXPECT_TRUE(e & PM_SOFT_DIRTY)
		TH_LOG("B's clear_refs cleared A's soft-dirty bit of X: %#llx",
		       (unsigned long long)e);
	EXPECT_EQ(mark, *(volatile unsigned long *)(p + x));
	munmap(p, self->unit);
}

static long sys_move_pages(pid_t pid, unsigned long n, void **pages, const int *nodes,
			   int *status, int flags)
{
	return syscall(__NR_move_pages, pid, n, pages, nodes, status, flags);
}

static long sys_mbind(void *addr, unsigned long len, int mode, const unsigned long *mask,
		      unsigned long maxnode, unsigned int flags)
{
	return syscall(__NR_mbind, addr, len, mode, mask, maxnode, flags);
}

static long sys_get_mempolicy(int *mode, unsigned long *mask, unsigned long maxnode,
			      void *addr, unsigned long flags)
{
	return syscall(__NR_get_mempolicy, mode, mask, maxnode, addr, flags);
}

/* The node of the page mapped at addr in this process, or -1. */
static int page_node(void *addr)
{
	int node = -1;

	if (sys_get_mempolicy(&node, NULL, 0, addr, MPOL_F_NODE | MPOL_F_ADDR))
		return -1;
	return node;
}

/* A node with memory other than node (from has_memory, "0-1,3"), or -1. */
static int other_memory_node(int node)
{
	char buf[256], *s = buf;

	if (read_file("/sys/devices/system/node/has_memory", buf, sizeof(buf)) <= 0)
		return -1;
	while (*s >= '0' && *s <= '9') {
		long a = strtol(s, &s, 10), b = a;

		if (*s == '-')
			b = strtol(s + 1, &s, 10);
		for (; a <= b; a++)
			if (a != node && a < 64)
				return a;
		if (*s != ',')
			break;
		s++;
	}
	return -1;
}

/*
 * Whether an ordinary page of this process moves to node target: if not
 * (no free memory there, no migration), a page of the region staying
 * where it was would prove nothing.
 */
static int page_moves_to(int target)
{
	char *m = mmap(NULL, PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int status = INT_MIN, ok;
	void *page = m;

	if (m == MAP_FAILED)
		return 0;
	m[0] = 1;
	ok = !sys_move_pages(0, 1, &page, &target, &status, MPOL_MF_MOVE) &&
	     status == target && page_node(m) == target;
	munmap(m, PAGE);
	return ok;
}

/* Shared with B. */
struct numa_arg {
	char path[128];
	unsigned long size;
	unsigned long off;	/* of the page, in the region */
	unsigned long mark;	/* its first word */
	int target;		/* the node it is not on */
	int use_mbind;
	long ret;
	int err;
	int status;		/* move_pages() status of the page */
};

/*
 * B: maps the region itself (read-only unless root), links the host's
 * table by reading the page, and asks for it to go to the other node.
 * Exits 0, or 10.. where it could not get that far.
 */
static int numa_sharer(void *arg)
{
	struct numa_arg *a = arg;
	int root = geteuid() == 0;
	char *q;
	int fd;

	fd = open(a->path, root ? O_RDWR : O_RDONLY);
	if (fd < 0)
		return 10;
	q = map_region(fd, a->size, root ? RW : PROT_READ);
	if (!q)
		return 11;
	if (*(volatile unsigned long *)(q + a->off) != a->mark)
		return 12;
	if (a->use_mbind) {
		unsigned long mask = 1UL << a->target;

		a->ret = sys_mbind(q, a->size, MPOL_BIND, &mask, 8 * sizeof(mask),
				   MPOL_MF_MOVE);
	} else {
		void *page = q + a->off;

		a->status = INT_MIN;
		a->ret = sys_move_pages(0, 1, &page, &a->target, &a->status, MPOL_MF_MOVE);
	}
	a->err = a->ret < 0 ? errno : 0;
	return 0;
}

/*
 * A page of the region belongs to the host, and to every sharer: B may not
 * migrate it. move_pages() reports -EFAULT for it, as for any VMA that
 * cannot migrate; mbind() may succeed or not, but moves nothing. Either
 * way the page stays on its node, as A sees it.
 */
static void numa_test(struct __test_metadata *_metadata, FIXTURE_DATA(guard) *self,
		      int unpriv, int use_mbind)
{
	const unsigned long off = MB + 3 * PAGE, mark = 0x6e756d616e756d61UL;
	struct numa_arg *a;
	int node, target, rc;
	char *p;

	if (access("/sys/devices/system/node/node1", F_OK))
		SKIP(return, "fewer than 2 NUMA nodes");
	ASSERT_EQ(0, mshare_anon(self->fd, 0, 2 * MB));
	ASSERT_EQ(0, fchmod(self->fd, 0644));
	p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, p);
	*(volatile unsigned long *)(p + off) = mark;
	node = page_node(p + off);
	ASSERT_LE(0, node) TH_LOG("get_mempolicy(MPOL_F_NODE | MPOL_F_ADDR): %s",
				  strerror(errno));
	target = other_memory_node(node);
	if (target < 0)
		SKIP(return, "no node with memory besides node %d", node);
	if (!page_moves_to(target))
		SKIP(return, "an ordinary page does not move to node %d here", target);

	a = shared_mem(sizeof(*a));
	ASSERT_NE(NULL, a);
	snprintf(a->path, sizeof(a->path), "%s", self->path);
	a->size = self->unit;
	a->off = off;
	a->mark = mark;
	a->target = target;
	a->use_mbind = use_mbind;
	rc = in_child(numa_sharer, a, unpriv);
	ASSERT_EQ(0, rc) TH_LOG("B (uid %d): exit %d", unpriv ? UNPRIV_UID : 0, rc);
	if (use_mbind) {
		TH_LOG("mbind(MPOL_BIND to node %d, MPOL_MF_MOVE) of B's mapping: %ld (%s)",
		       target, a->ret, a->ret ? strerror(a->err) : "success");
	} else {
		EXPECT_LE(0, a->ret) TH_LOG("move_pages: %s", strerror(a->err));
		EXPECT_EQ(-EFAULT, a->status) TH_LOG("move_pages status of the page: %d",
						     a->status);
	}
	EXPECT_EQ(node, page_node(p + off)) TH_LOG("the page was on node %d, target %d",
						  node, target);
	EXPECT_EQ(mark, *(volatile unsigned long *)(p + off));
	munmap(p, self->unit);
}

TEST_F(guard, move_pages_user)
{
	numa_test(_metadata, self, 1, 0);
}

TEST_F(guard, move_pages_root)
{
	numa_test(_metadata, self, 0, 0);
}

TEST_F(guard, mbind_user)
{
	numa_test(_metadata, self, 1, 1);
}

TEST_F(guard, mbind_root)
{
	numa_test(_metadata, self, 0, 1);
}

/* --- The OOM reaper and process_mrelease() on a read-only sharer --- */

#ifndef __NR_pidfd_open
#define __NR_pidfd_open		434
#endif
#ifndef __NR_process_mrelease
#define __NR_process_mrelease	448
#endif

/*
 * A read-only sharer (an O_RDONLY fd: its VMA is not VM_SHARED, which the
 * OOM reaper takes for private memory) is killed and reaped at once with
 * process_mrelease(), again and again. The reaper must leave the region
 * alone: the writer's pages stay mapped in the host (its Rss
 * of the region stays whole) and its data intact; a zap of the host's
 * entries in the victim's name would empty them for everyone (and leave
 * the victim's RSS counters negative, which the kernel log shows).
 */
TEST_F_TIMEOUT(guard, mrelease_readonly_sharer, 120)
{
	int i, reaped = 0, ready[2], pidfd, st;
	long rss;
	char *p;

	ASSERT_EQ(0, mshare_anon(self->fd, 0, 2 * MB));
	p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, p);
	fill_pages(p, 2 * MB, 21);
	ASSERT_EQ(2048, smaps_kb(p, "Rss"));

	for (i = 0; i < 40; i++) {
		pid_t pid;

		ASSERT_EQ(0, pipe(ready));
		pid = fork_child();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			int rfd = open(self->path, O_RDONLY);
			volatile char *q;
			unsigned long off;
			char c = 0;

			q = rfd < 0 ? MAP_FAILED :
			    mmap(NULL, self->unit, PROT_READ, MAP_SHARED, rfd, 0);
			if (q == MAP_FAILED)
				_exit(1);
			for (off = 0; off < 2 * MB; off += PAGE)
				c += q[off];
			child_ready(ready[1]);
			for (;;)
				pause();
		}
		close(ready[1]);
		ASSERT_EQ(1, read_n(ready[0], 1, 30));
		close(ready[0]);
		pidfd = syscall(__NR_pidfd_open, pid, 0);
		ASSERT_LE(0, pidfd);
		ASSERT_EQ(0, kill(pid, SIGKILL));
		/* ESRCH or EINVAL when the victim's exit was quicker. */
		if (!syscall(__NR_process_mrelease, pidfd, 0))
			reaped++;
		close(pidfd);
		ASSERT_EQ(0, wait_child(pid, &st, 30));
		EXPECT_TRUE(killed_by(st, SIGKILL));
	}
	rss = smaps_kb(p, "Rss");
	TH_LOG("process_mrelease() reaped %d of 40 victims; writer's Rss %ld kB", reaped, rss);
	EXPECT_EQ(2048, rss);
	EXPECT_EQ(0, check_pages(p, 2 * MB, 21));
	munmap(p, self->unit);
}

TEST_HARNESS_MAIN
