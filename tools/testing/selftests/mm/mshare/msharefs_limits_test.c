// SPDX-License-Identifier: GPL-2.0
/*
 * Instance limits of msharefs, as tmpfs has them: the mount options
 * nr_regions=, size=, mode=, uid= and gid=, what they refuse (ENOSPC), what
 * statfs() reports, remounting, refusal of bad values, and the memory cgroup
 * that pays for the kernel memory of regions.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sysinfo.h>

#include "../../kselftest_harness.h"
#include "mshare_util.h"

#define LIMITS_CG	"/sys/fs/cgroup/msharefs-limits-test"
#define LIMITS_NR_KMEM	200

FIXTURE(instance) {
	char mnt[64];
	pid_t child;		/* a child to kill at teardown, or 0 */
	char cg[128];		/* a cgroup to remove at teardown, or "" */
};

/*
 * Each test mounts instances with options of its own on a fresh directory;
 * the teardown undoes whatever an assertion left behind.
 */
FIXTURE_SETUP(instance)
{
	snprintf(self->mnt, sizeof(self->mnt), "/tmp/msharefs-limits-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->mnt));
	self->child = 0;
	self->cg[0] = '\0';
}

static void limits_cg_remove(const char *cg);

FIXTURE_TEARDOWN(instance)
{
	int i;

	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	for (i = 0; i < 4 && !umount2(self->mnt, MNT_DETACH); i++)
		;
	rmdir(self->mnt);
	if (self->cg[0])
		limits_cg_remove(self->cg);
}

/* Mount an instance on mnt with the option string data: 0 or the errno. */
static int limits_mount(const char *mnt, const char *data)
{
	return mount("msharefs", mnt, MSHARE_FSTYPE, 0, data) ? errno : 0;
}

/* Change the options of the instance on mnt: 0 or the errno. */
static int limits_remount(const char *mnt, const char *data)
{
	return mount(NULL, mnt, NULL, MS_REMOUNT, data) ? errno : 0;
}

/*
 * The region unit, which sizes in options are made of: known only from an
 * instance, so one is mounted on mnt for the time of reading it. 0 if not.
 */
static unsigned long limits_unit(const char *mnt)
{
	unsigned long unit;

	if (limits_mount(mnt, NULL))
		return 0;
	unit = mshare_unit(mnt);
	if (umount(mnt))
		return 0;
	return unit;
}

/* The largest size of a region: LLONG_MAX rounded down to the unit. */
static off_t limits_max_size(unsigned long unit)
{
	return LLONG_MAX & ~((off_t)unit - 1);
}

static void limits_path(char *buf, size_t size, const char *mnt, const char *name)
{
	snprintf(buf, size, "%s/%s", mnt, name);
}

/*
 * statfs() of mnt shows nr_regions as files and the regions left free, 0
 * and 0 when unlimited; line is the caller's, for the failure message.
 */
static void limits_expect_regions(struct __test_metadata *_metadata, int line,
				  const char *mnt, unsigned long files,
				  unsigned long ffree)
{
	struct statfs sfs;

	ASSERT_EQ(0, statfs(mnt, &sfs)) TH_LOG("statfs, from line %d", line);
	ASSERT_EQ(MSHARE_MAGIC, sfs.f_type) TH_LOG("from line %d", line);
	EXPECT_EQ(files, sfs.f_files) TH_LOG("f_files, from line %d", line);
	EXPECT_EQ(ffree, sfs.f_ffree) TH_LOG("f_ffree, from line %d", line);
}

/*
 * statfs() of mnt shows the size limit in blocks and what is left of it, 0
 * and 0 when unlimited.
 */
static void limits_expect_bytes(struct __test_metadata *_metadata, int line,
				const char *mnt, unsigned long long limit,
				unsigned long long used)
{
	unsigned long bsize = sysconf(_SC_PAGESIZE);
	unsigned long long bfree = limit ? (limit - used) / bsize : 0;
	struct statfs sfs;

	ASSERT_EQ(0, statfs(mnt, &sfs)) TH_LOG("statfs, from line %d", line);
	ASSERT_EQ(MSHARE_MAGIC, sfs.f_type) TH_LOG("from line %d", line);
	EXPECT_EQ(bsize, sfs.f_bsize) TH_LOG("f_bsize, from line %d", line);
	EXPECT_EQ(limit / bsize, sfs.f_blocks) TH_LOG("f_blocks, from line %d", line);
	EXPECT_EQ(bfree, sfs.f_bfree) TH_LOG("f_bfree, from line %d", line);
	EXPECT_EQ(bfree, sfs.f_bavail) TH_LOG("f_bavail, from line %d", line);
}

#define EXPECT_REGIONS(mnt, files, ffree) \
	limits_expect_regions(_metadata, __LINE__, mnt, files, ffree)
#define EXPECT_BYTES(mnt, limit, used) \
	limits_expect_bytes(_metadata, __LINE__, mnt, limit, used)

/* --- what unprivileged users do, each in a child of its own --- */

static int limits_create(void *arg)
{
	int fd = open((char *)arg, O_RDWR | O_CREAT | O_EXCL, 0600);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* O_CREAT without O_EXCL: opens the region if it exists. */
static int limits_open_creat(void *arg)
{
	int fd = open((char *)arg, O_RDWR | O_CREAT, 0600);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int limits_unlink(void *arg)
{
	return unlink((char *)arg) ? errno : 0;
}

struct limits_sizing {
	const char *path;
	off_t size;
	int falloc;	/* fallocate(fd, 0, 0, size) rather than ftruncate() */
};

/* Open (creating it if need be) and size a region: 0 or the errno. */
static int limits_size(void *arg)
{
	struct limits_sizing *s = arg;
	int fd, ret;

	fd = open(s->path, O_RDWR | O_CREAT, 0600);
	if (fd < 0)
		return errno;
	if (s->falloc)
		ret = fallocate(fd, 0, 0, s->size);
	else
		ret = ftruncate(fd, s->size);
	ret = ret ? errno : 0;
	close(fd);
	return ret;
}

/* Size the region at path as the unprivileged user: 0 or the errno. */
static int limits_user_size(const char *path, off_t size, int falloc)
{
	struct limits_sizing s = { .path = path, .size = size, .falloc = falloc };

	return run_as_user(limits_size, &s);
}

/* The size of the file at path, or -1. */
static off_t limits_st_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : st.st_size;
}

/* --- /proc/mounts --- */

/* The option field of the last msharefs line for mnt: 0, or -1 if none. */
static int limits_mount_opts(const char *mnt, char *opts, size_t size)
{
	char line[1024], dir[256], type[64], o[768];
	int ret = -1;
	FILE *f;

	f = fopen("/proc/self/mounts", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %255s %63s %767s", dir, type, o) == 3 &&
		    !strcmp(dir, mnt) && !strcmp(type, MSHARE_FSTYPE)) {
			snprintf(opts, size, "%s", o);
			ret = 0;
		}
	}
	fclose(f);
	return ret;
}

/*
 * Whether the comma-separated opts hold opt as a whole option; an opt that
 * ends in '=' matches any value, so that "size=" finds "size=2g".
 */
static int limits_has_opt(const char *opts, const char *opt)
{
	size_t len = strlen(opt);
	const char *p = opts;

	while (*p) {
		size_t n = strcspn(p, ",");

		if (opt[len - 1] == '=' ? n >= len && !strncmp(p, opt, len) :
					  n == len && !strncmp(p, opt, len))
			return 1;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* --- memory cgroups --- */

/*
 * A memory cgroup of the test's own under the cgroup2 root: the memory
 * controller enabled for the root's children if it is not yet, and a
 * leftover of an earlier run removed. 0 or -errno.
 */
static int limits_cg_create(const char *cg)
{
	char ctl[256];

	if (read_file("/sys/fs/cgroup/cgroup.subtree_control", ctl, sizeof(ctl)) < 0)
		return -ENOENT;
	if (!strstr(ctl, "memory")) {
		int err = write_file("/sys/fs/cgroup/cgroup.subtree_control", "+memory\n");

		if (err)
			return err;
	}
	rmdir(cg);
	return mkdir(cg, 0755) ? -errno : 0;
}

/* memory.current of cg in bytes, or -1. */
static long limits_cg_current(const char *cg)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/memory.current", cg);
	return read_long_file(path);
}

/*
 * memory.current counts pages that each CPU holds in reserve for the memcg
 * it charged last (up to 64 pages, 256 KiB, per CPU), and uncharges that
 * were cached there: alone it can be off by a MiB with 4 CPUs. Lowering
 * memory.high drains those reserves (asynchronously on the other CPUs),
 * then the limit goes back to "max". Nothing in the cgroup runs meanwhile.
 */
static void limits_cg_drain(const char *cg)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/memory.high", cg);
	write_file(path, "0\n");
	write_file(path, "max\n");
	usleep(200000);
}

/*
 * Remove cg once its tasks are gone; memory still charged to it moves to
 * the parent.
 */
static void limits_cg_remove(const char *cg)
{
	int i;

	for (i = 0; i < 50 && rmdir(cg) && errno == EBUSY; i++)
		usleep(100000);
}

/* --- nr_regions --- */

/*
 * nr_regions= bounds the regions of the instance, for root as for users;
 * mshare_info is not one. A region's count comes back once it is gone:
 * unlinked and no longer open.
 */
TEST_F(instance, nr_regions)
{
	char r[5][128], opts[768];
	int i, fd;

	for (i = 0; i < 5; i++) {
		char name[8];

		snprintf(name, sizeof(name), "r%d", i);
		limits_path(r[i], sizeof(r[i]), self->mnt, name);
	}
	ASSERT_EQ(0, limits_mount(self->mnt, "nr_regions=3,mode=1777"));
	ASSERT_EQ(0, limits_mount_opts(self->mnt, opts, sizeof(opts)));
	EXPECT_TRUE(limits_has_opt(opts, "nr_regions=3")) TH_LOG("%s", opts);
	EXPECT_TRUE(limits_has_opt(opts, "mode=1777")) TH_LOG("%s", opts);
	EXPECT_REGIONS(self->mnt, 3, 3);

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, run_as_user(limits_create, r[i]));
		EXPECT_REGIONS(self->mnt, 3, 2 - i);
	}
	EXPECT_EQ(ENOSPC, run_as_user(limits_create, r[3]));
	EXPECT_EQ(-1, access(r[3], F_OK));
	EXPECT_EQ(ENOSPC, limits_create(r[3]));
	EXPECT_EQ(-1, access(r[3], F_OK));
	EXPECT_REGIONS(self->mnt, 3, 0);
	/* Opening an existing region with O_CREAT creates nothing. */
	EXPECT_EQ(0, run_as_user(limits_open_creat, r[0]));

	/* An unlinked, closed region gives its place back. */
	ASSERT_EQ(0, run_as_user(limits_unlink, r[1]));
	EXPECT_REGIONS(self->mnt, 3, 1);
	ASSERT_EQ(0, run_as_user(limits_create, r[3]));
	EXPECT_REGIONS(self->mnt, 3, 0);

	/* One still open keeps it until its last close. */
	fd = open(r[0], O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, unlink(r[0]));
	EXPECT_REGIONS(self->mnt, 3, 0);
	EXPECT_EQ(ENOSPC, run_as_user(limits_create, r[4]));
	close(fd);
	EXPECT_REGIONS(self->mnt, 3, 1);
	EXPECT_EQ(0, run_as_user(limits_create, r[4]));
	EXPECT_REGIONS(self->mnt, 3, 0);
}

/* --- size --- */

/*
 * size= bounds the sum of the region sizes. A sizing that would pass it
 * fails with ENOSPC and leaves the region unsized, by ftruncate() or
 * fallocate(); the bytes of a region come back once it is gone: unlinked
 * and neither open nor mapped.
 */
TEST_F(instance, size_limit)
{
	char a[128], b[128], c[128], d[128], e[128], opts[64];
	unsigned long unit;
	unsigned long long limit;
	void *p;
	int fd, i;

	unit = limits_unit(self->mnt);
	ASSERT_NE(0, unit);

	limit = 2ULL * unit;
	snprintf(opts, sizeof(opts), "size=%llu,mode=1777", limit);
	ASSERT_EQ(0, limits_mount(self->mnt, opts));
	limits_path(a, sizeof(a), self->mnt, "a");
	limits_path(b, sizeof(b), self->mnt, "b");
	limits_path(c, sizeof(c), self->mnt, "c");
	limits_path(d, sizeof(d), self->mnt, "d");
	limits_path(e, sizeof(e), self->mnt, "e");
	EXPECT_BYTES(self->mnt, limit, 0);

	ASSERT_EQ(0, limits_user_size(a, unit, 0));
	EXPECT_BYTES(self->mnt, limit, unit);

	/* Past the limit, by either call: refused, the region stays unsized. */
	EXPECT_EQ(ENOSPC, limits_user_size(b, 2 * unit, 0));
	EXPECT_EQ(0, limits_st_size(b));
	EXPECT_EQ(ENOSPC, limits_user_size(b, 2 * unit, 1));
	EXPECT_EQ(0, limits_st_size(b));
	/* What is in use plus the largest size overflows a signed loff_t. */
	EXPECT_EQ(ENOSPC, limits_user_size(b, limits_max_size(unit), 0));
	EXPECT_EQ(0, limits_st_size(b));
	EXPECT_BYTES(self->mnt, limit, unit);

	/* Up to the limit exactly. */
	ASSERT_EQ(0, limits_user_size(b, unit, 1));
	EXPECT_EQ(unit, limits_st_size(b));
	EXPECT_BYTES(self->mnt, limit, limit);
	EXPECT_EQ(ENOSPC, limits_user_size(c, unit, 0));
	EXPECT_EQ(ENOSPC, limits_user_size(c, unit, 1));
	/* Root has no reserve either. */
	EXPECT_EQ(ENOSPC, limits_size(&(struct limits_sizing){ .path = c, .size = unit }));
	EXPECT_EQ(0, limits_st_size(c));
	EXPECT_BYTES(self->mnt, limit, limit);

	/* An unlinked, closed region gives its bytes back. */
	ASSERT_EQ(0, unlink(a));
	EXPECT_BYTES(self->mnt, limit, unit);
	ASSERT_EQ(0, limits_user_size(c, unit, 0));
	EXPECT_BYTES(self->mnt, limit, limit);

	/* One still open keeps them until its last close. */
	fd = open(b, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, unlink(b));
	EXPECT_BYTES(self->mnt, limit, limit);
	EXPECT_EQ(ENOSPC, limits_user_size(d, unit, 0));
	close(fd);
	EXPECT_BYTES(self->mnt, limit, unit);
	ASSERT_EQ(0, limits_user_size(d, unit, 0));
	EXPECT_BYTES(self->mnt, limit, limit);

	/* One still mapped, until it is unmapped. */
	fd = open(c, O_RDONLY);
	ASSERT_LE(0, fd);
	p = map_region(fd, unit, PROT_READ);
	ASSERT_NE(NULL, p);
	close(fd);
	ASSERT_EQ(0, unlink(c));
	EXPECT_BYTES(self->mnt, limit, limit);
	EXPECT_EQ(ENOSPC, limits_user_size(e, unit, 0));
	ASSERT_EQ(0, munmap(p, unit));
	/*
	 * The last reference goes with the munmap() (or a task_work right
	 * after it): allow a moment rather than assume which.
	 */
	for (i = 0; i < 20 && limits_user_size(e, unit, 0) == ENOSPC; i++)
		usleep(100000);
	EXPECT_EQ(unit, limits_st_size(e));
	EXPECT_BYTES(self->mnt, limit, limit);
}

/* --- remount --- */

/*
 * Remounting changes the limits, up or down to what is in use but not
 * below (EINVAL, and nothing of the remount applies), and the root
 * directory's mode and owner; /proc/mounts shows the options. Both
 * mount(2) with MS_REMOUNT and util-linux's mount -o remount.
 */
TEST_F(instance, remount)
{
	char opts[768], data[128], cmd[256], r2[128];
	unsigned long unit;
	struct stat st;
	int fd;

	unit = limits_unit(self->mnt);
	ASSERT_NE(0, unit);

	snprintf(data, sizeof(data), "nr_regions=4,size=%lu", 4 * unit);
	ASSERT_EQ(0, limits_mount(self->mnt, data));
	ASSERT_EQ(0, limits_mount_opts(self->mnt, opts, sizeof(opts)));
	TH_LOG("mounted with %s: %s", data, opts);
	EXPECT_TRUE(limits_has_opt(opts, "nr_regions=4"));
	EXPECT_TRUE(limits_has_opt(opts, "size="));

	/* Two regions of one unit each in use. */
	fd = region_create(self->mnt, "r0", unit);
	ASSERT_LE(0, fd);
	close(fd);
	fd = region_create(self->mnt, "r1", unit);
	ASSERT_LE(0, fd);
	close(fd);
	limits_path(r2, sizeof(r2), self->mnt, "r2");
	EXPECT_REGIONS(self->mnt, 4, 2);
	EXPECT_BYTES(self->mnt, 4 * unit, 2 * unit);

	/* nr_regions up, down to what is in use, not below. */
	ASSERT_EQ(0, limits_remount(self->mnt, "nr_regions=8"));
	EXPECT_REGIONS(self->mnt, 8, 6);
	EXPECT_BYTES(self->mnt, 4 * unit, 2 * unit);
	ASSERT_EQ(0, limits_remount(self->mnt, "nr_regions=2"));
	EXPECT_REGIONS(self->mnt, 2, 0);
	EXPECT_EQ(ENOSPC, limits_create(r2));
	EXPECT_EQ(EINVAL, limits_remount(self->mnt, "nr_regions=1"));
	EXPECT_REGIONS(self->mnt, 2, 0);

	/* size up (with a memparse suffix), down to what is in use, not below. */
	snprintf(data, sizeof(data), "size=%luk", 8 * unit / 1024);
	ASSERT_EQ(0, limits_remount(self->mnt, data));
	EXPECT_BYTES(self->mnt, 8 * unit, 2 * unit);
	snprintf(data, sizeof(data), "size=%lu", 2 * unit);
	ASSERT_EQ(0, limits_remount(self->mnt, data));
	EXPECT_BYTES(self->mnt, 2 * unit, 2 * unit);
	snprintf(data, sizeof(data), "size=%lu", unit);
	EXPECT_EQ(EINVAL, limits_remount(self->mnt, data));
	EXPECT_BYTES(self->mnt, 2 * unit, 2 * unit);

	/* A remount refused for one option changes none, in either order. */
	snprintf(data, sizeof(data), "nr_regions=8,size=%lu", unit);
	EXPECT_EQ(EINVAL, limits_remount(self->mnt, data));
	EXPECT_REGIONS(self->mnt, 2, 0);
	EXPECT_BYTES(self->mnt, 2 * unit, 2 * unit);
	snprintf(data, sizeof(data), "size=%lu,nr_regions=1", 8 * unit);
	EXPECT_EQ(EINVAL, limits_remount(self->mnt, data));
	EXPECT_REGIONS(self->mnt, 2, 0);
	EXPECT_BYTES(self->mnt, 2 * unit, 2 * unit);

	/* 0 lifts a limit. */
	ASSERT_EQ(0, limits_remount(self->mnt, "nr_regions=0,size=0"));
	EXPECT_REGIONS(self->mnt, 0, 0);
	EXPECT_BYTES(self->mnt, 0, 0);

	/* util-linux's remount. */
	snprintf(cmd, sizeof(cmd), "mount -o remount,nr_regions=7 %s", self->mnt);
	EXPECT_EQ(0, run_cmd(cmd));
	EXPECT_REGIONS(self->mnt, 7, 5);

	/* The root directory's mode and owner. */
	ASSERT_EQ(0, limits_remount(self->mnt, "nr_regions=3,mode=1777,uid=65534,gid=65534"));
	ASSERT_EQ(0, stat(self->mnt, &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT_EQ(01777, st.st_mode & 07777);
	EXPECT_EQ(UNPRIV_UID, st.st_uid);
	EXPECT_EQ(UNPRIV_GID, st.st_gid);
	EXPECT_REGIONS(self->mnt, 3, 1);
	ASSERT_EQ(0, limits_mount_opts(self->mnt, opts, sizeof(opts)));
	TH_LOG("remounted: %s", opts);
	EXPECT_TRUE(limits_has_opt(opts, "nr_regions=3"));
	EXPECT_TRUE(limits_has_opt(opts, "mode=1777"));
	/* Users create regions in it now. */
	EXPECT_EQ(0, run_as_user(limits_create, r2));
	EXPECT_REGIONS(self->mnt, 3, 0);

	ASSERT_EQ(0, limits_remount(self->mnt, "mode=0755,uid=0,gid=0"));
	ASSERT_EQ(0, stat(self->mnt, &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT_EQ(0755, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);
}

/* --- the root directory --- */

/*
 * mode=, uid= and gid= set the root directory at mount, so that users can
 * be given an instance without a chmod; by default it is 0755 root:root.
 */
TEST_F(instance, root_owner_mode)
{
	char mine[128], other[128];
	struct stat st;

	limits_path(mine, sizeof(mine), self->mnt, "mine");
	limits_path(other, sizeof(other), self->mnt, "other");

	ASSERT_EQ(0, limits_mount(self->mnt, "mode=0770,uid=65534,gid=65534"));
	ASSERT_EQ(0, stat(self->mnt, &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT_EQ(0770, st.st_mode & 07777);
	EXPECT_EQ(UNPRIV_UID, st.st_uid);
	EXPECT_EQ(UNPRIV_GID, st.st_gid);
	EXPECT_EQ(0, run_as_user(limits_create, mine));
	ASSERT_EQ(0, stat(mine, &st));
	EXPECT_EQ(UNPRIV_UID, st.st_uid);
	/* Neither the owner nor in the group: the mode keeps it out. */
	EXPECT_EQ(EACCES, run_as(1000, 1000, limits_create, other));
	ASSERT_EQ(0, umount(self->mnt));

	ASSERT_EQ(0, limits_mount(self->mnt, NULL));
	ASSERT_EQ(0, stat(self->mnt, &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT_EQ(0755, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);
	EXPECT_EQ(EACCES, run_as_user(limits_create, mine));
}

/* --- bad options --- */

/*
 * Every bad value fails the mount with EINVAL and mounts nothing. Good
 * values of the same options mount, so that the refusals are the values'.
 */
TEST_F(instance, bad_options)
{
	static const char * const bad[] = {
		"nr_regions=abc",
		"nr_regions=-1",
		"nr_regions",
		"size=-1",
		"size=garbage",
		"size=12junk",
		"mode=8888",
		"mode=100000",
		"mode=abc",
		"uid=4294967295",
		"gid=4294967295",
		"uid=abc",
		"foo=1",
		"nr_regions=3,foo=1",
	};
	static const char * const good[] = {
		"nr_regions=0",
		"nr_regions=1",
		"size=0",
		"mode=7777",
		"mode=0",
		"uid=65534,gid=65534",
	};
	char data[64];
	struct statfs sfs;
	unsigned long unit;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(EINVAL, limits_mount(self->mnt, bad[i])) TH_LOG("%s", bad[i]);
		ASSERT_EQ(0, statfs(self->mnt, &sfs));
		EXPECT_NE(MSHARE_MAGIC, sfs.f_type) TH_LOG("%s mounted", bad[i]);
		if (sfs.f_type == MSHARE_MAGIC)
			umount(self->mnt);
	}

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		EXPECT_EQ(0, limits_mount(self->mnt, good[i])) TH_LOG("%s", good[i]);
		umount(self->mnt);
	}

	/* Sizes take memparse suffixes. */
	unit = limits_unit(self->mnt);
	ASSERT_NE(0, unit);
	snprintf(data, sizeof(data), "size=%luk", 3 * unit / 1024);
	ASSERT_EQ(0, limits_mount(self->mnt, data));
	EXPECT_BYTES(self->mnt, 3 * unit, 0);
	ASSERT_EQ(0, umount(self->mnt));
	snprintf(data, sizeof(data), "size=%lum", 3 * unit / (1024 * 1024));
	ASSERT_EQ(0, limits_mount(self->mnt, data));
	EXPECT_BYTES(self->mnt, 3 * unit, 0);
}

/* --- kernel memory of regions --- */

/*
 * A child in a memory cgroup of its own creates regions as a user and sizes
 * each to the largest size: the kernel memory they cost is charged to that
 * cgroup, and it is a few KiB a region, nothing in proportion to the size
 * (which no limit bounds here). All of it is given back with the regions.
 */
TEST_F_TIMEOUT(instance, max_size_regions_kmem, 300)
{
	int to_child[2], from_child[2], status, result, i;
	long before, after, freed, files;
	char path[128];
	struct statfs sfs;
	unsigned long unit;
	off_t max;
	int err;

	if (access("/sys/fs/cgroup/cgroup.subtree_control", W_OK))
		SKIP(return, "no cgroup v2 hierarchy at /sys/fs/cgroup");
	err = limits_cg_create(LIMITS_CG);
	ASSERT_EQ(0, err);
	snprintf(self->cg, sizeof(self->cg), "%s", LIMITS_CG);
	ASSERT_LE(0, limits_cg_current(self->cg));

	ASSERT_EQ(0, limits_mount(self->mnt, "mode=1777"));
	unit = mshare_unit(self->mnt);
	ASSERT_NE(0, unit);
	max = limits_max_size(unit);
	ASSERT_EQ(0, statfs(self->mnt, &sfs));
	files = sfs.f_files;
	ASSERT_LE(LIMITS_NR_KMEM, files);

	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(from_child));
	self->child = fork_child();
	ASSERT_LE(0, self->child);
	if (self->child == 0) {
		close(to_child[1]);
		close(from_child[0]);
		snprintf(path, sizeof(path), "%s/cgroup.procs", LIMITS_CG);
		if (write_file(path, "0\n"))
			_exit(2);
		if (setgroups(0, NULL) || setresgid(UNPRIV_GID, UNPRIV_GID, UNPRIV_GID) ||
		    setresuid(UNPRIV_UID, UNPRIV_UID, UNPRIV_UID))
			_exit(3);
		child_ready(from_child[1]);
		child_wait(to_child[0]);
		result = 0;
		for (i = 0; i < LIMITS_NR_KMEM && !result; i++) {
			int fd;

			snprintf(path, sizeof(path), "%s/r%d", self->mnt, i);
			fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
			if (fd < 0) {
				result = errno;
				break;
			}
			if (ftruncate(fd, max))
				result = errno;
			close(fd);
		}
		if (write(from_child[1], &result, sizeof(result)) != sizeof(result))
			_exit(4);
		child_wait(to_child[0]);
		_exit(0);
	}
	close(to_child[0]);
	close(from_child[1]);

	/* The child is in the cgroup, a user, and waits: the baseline. */
	ASSERT_EQ(1, read_n(from_child[0], 1, 30));
	limits_cg_drain(self->cg);
	before = limits_cg_current(self->cg);
	release_n(to_child[1], 1);
	ASSERT_EQ(sizeof(result), read(from_child[0], &result, sizeof(result)));
	ASSERT_EQ(0, result) TH_LOG("creating or sizing a region: %s", strerror(result));
	limits_cg_drain(self->cg);
	after = limits_cg_current(self->cg);
	release_n(to_child[1], 1);
	ASSERT_EQ(0, wait_child(self->child, &status, 30));
	self->child = 0;
	EXPECT_TRUE(exited_with(status, 0));

	TH_LOG("memory.current %ld -> %ld bytes for %d regions of %lld bytes: %ld bytes a region",
	       before, after, LIMITS_NR_KMEM, (long long)max,
	       (after - before) / LIMITS_NR_KMEM);
	/* Charged to the creator's cgroup (a host mm alone is more than 1 KiB). */
	EXPECT_LE(before + LIMITS_NR_KMEM * 1024L, after);
	/* Nothing in proportion to the size; generous for KASAN and debug objects. */
	EXPECT_GE(before + LIMITS_NR_KMEM * 64 * 1024L, after);

	/* No limit: nothing reported, whatever the sizes add up to. */
	EXPECT_BYTES(self->mnt, 0, 0);
	EXPECT_REGIONS(self->mnt, files, files - LIMITS_NR_KMEM);

	for (i = 0; i < LIMITS_NR_KMEM; i++) {
		snprintf(path, sizeof(path), "%s/r%d", self->mnt, i);
		ASSERT_EQ(0, unlink(path));
	}
	EXPECT_REGIONS(self->mnt, files, files);

	/*
	 * Inodes and dentries are freed after an RCU grace period, a host mm
	 * may be torn down by a worker: wait for the charges to go, shrinking
	 * caches (which also empties KASAN's quarantine) now and then.
	 */
	drain_slabs();
	for (i = 0; i < 50; i++) {
		limits_cg_drain(self->cg);
		freed = limits_cg_current(self->cg);
		if (freed <= before + (1L << 20))
			break;
		if (i % 10 == 9)
			drain_slabs();
	}
	TH_LOG("memory.current %ld bytes after unlinking them", freed);
	EXPECT_GE(before + (1L << 20), freed);
	close(to_child[1]);
	close(from_child[0]);
}

/* --- defaults --- */

/*
 * Without options an instance holds at most half as many regions as RAM
 * has pages, as tmpfs's nr_inodes, and its size is unlimited.
 */
TEST_F(instance, default_limits)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned long long want;
	struct statfs sfs;
	struct sysinfo si;
	int fd;

	ASSERT_EQ(0, sysinfo(&si));
	want = (unsigned long long)si.totalram * si.mem_unit / page / 2;

	ASSERT_EQ(0, limits_mount(self->mnt, NULL));
	ASSERT_EQ(0, statfs(self->mnt, &sfs));
	TH_LOG("f_files %llu, half the RAM pages %llu",
	       (unsigned long long)sfs.f_files, want);
	EXPECT_LE(want - want / 100, sfs.f_files);
	EXPECT_GE(want + want / 100, sfs.f_files);
	/* mshare_info is not a region. */
	EXPECT_EQ(sfs.f_files, sfs.f_ffree);
	EXPECT_BYTES(self->mnt, 0, 0);

	fd = region_create(self->mnt, "region", 0);
	ASSERT_LE(0, fd);
	EXPECT_REGIONS(self->mnt, sfs.f_files, sfs.f_files - 1);
	close(fd);
}

TEST_HARNESS_MAIN
