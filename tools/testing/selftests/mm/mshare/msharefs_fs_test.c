// SPDX-License-Identifier: GPL-2.0
/*
 * msharefs as a filesystem: mounting, mshare_info, creating, naming,
 * permissions and sizing of regions, and region lifetime.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <linux/falloc.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include "../../kselftest_harness.h"
#include "mshare_util.h"

FIXTURE(fs) {
	char mnt[64];
	char path[128];
	unsigned long unit;
};

/* Each test gets an instance of its own on a fresh directory. */
FIXTURE_SETUP(fs)
{
	ASSERT_EQ(0, mount_instance(self->mnt, sizeof(self->mnt)));
	snprintf(self->path, sizeof(self->path), "%s/region", self->mnt);
	self->unit = mshare_unit(self->mnt);
	ASSERT_NE(0, self->unit);
}

FIXTURE_TEARDOWN(fs)
{
	umount_instance(self->mnt);
}

static int create_region(const char *path)
{
	return open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
}

/* --- mounting --- */

TEST(mount_with_util_linux)
{
	struct statfs sfs;
	char buf[256], fstype[64], source[64];
	FILE *f;
	int n;

	ASSERT_EQ(0, run_cmd("mount -t " MSHARE_FSTYPE " msharefs " MSHARE_MOUNT));
	ASSERT_EQ(0, statfs(MSHARE_MOUNT, &sfs));
	ASSERT_EQ(MSHARE_MAGIC, sfs.f_type);

	f = popen("findmnt -n -o FSTYPE,SOURCE " MSHARE_MOUNT, "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(buf, sizeof(buf), f));
	pclose(f);
	n = sscanf(buf, "%63s %63s", fstype, source);
	ASSERT_EQ(2, n);
	ASSERT_STREQ("msharefs", fstype);
	ASSERT_STREQ("msharefs", source);

	ASSERT_EQ(0, run_cmd("umount " MSHARE_MOUNT));
	ASSERT_EQ(0, statfs(MSHARE_MOUNT, &sfs));
	ASSERT_NE(MSHARE_MAGIC, sfs.f_type);
}

TEST(mount_from_fstab)
{
	struct statfs sfs;
	FILE *f;

	f = fopen("/etc/fstab", "w");
	ASSERT_NE(NULL, f);
	fprintf(f, "msharefs %s msharefs defaults 0 0\n", MSHARE_MOUNT);
	fclose(f);

	EXPECT_EQ(0, run_cmd("mount " MSHARE_MOUNT));
	EXPECT_EQ(0, statfs(MSHARE_MOUNT, &sfs));
	EXPECT_EQ(MSHARE_MAGIC, sfs.f_type);
	EXPECT_EQ(0, run_cmd("umount " MSHARE_MOUNT));
	EXPECT_EQ(0, run_cmd("mount -a -t msharefs"));
	EXPECT_EQ(0, statfs(MSHARE_MOUNT, &sfs));
	EXPECT_EQ(MSHARE_MAGIC, sfs.f_type);
	EXPECT_EQ(0, run_cmd("umount " MSHARE_MOUNT));

	f = fopen("/etc/fstab", "w");
	ASSERT_NE(NULL, f);
	fclose(f);
}

TEST(mount_refuses_unknown_option)
{
	ASSERT_EQ(-1, mount("msharefs", MSHARE_MOUNT, "msharefs", 0, "huge=always"));
	ASSERT_EQ(EINVAL, errno);
}

static int try_mount(void *arg)
{
	if (mount("msharefs", (char *)arg, "msharefs", 0, NULL) == 0)
		return 0;
	return errno;
}

TEST(mount_needs_privilege)
{
	ASSERT_EQ(EPERM, run_as_user(try_mount, MSHARE_MOUNT));
}

/* Each mount is an instance of its own, as with tmpfs. */
TEST_F(fs, mounts_are_independent)
{
	char other[] = "/tmp/msharefs-other-XXXXXX", path[128];
	int fd;

	ASSERT_NE(NULL, mkdtemp(other));
	ASSERT_EQ(0, mount("msharefs", other, "msharefs", 0, NULL));
	fd = create_region(self->path);
	ASSERT_LE(0, fd);
	snprintf(path, sizeof(path), "%s/region", other);
	EXPECT_EQ(-1, access(path, F_OK));
	EXPECT_EQ(ENOENT, errno);
	close(fd);
	EXPECT_EQ(0, umount(other));
	rmdir(other);
}

TEST_F(fs, umount_busy_while_region_open)
{
	int fd = create_region(self->path);

	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, umount(self->mnt));
	ASSERT_EQ(EBUSY, errno);
	close(fd);
	ASSERT_EQ(0, umount(self->mnt));
	/* Regions that nobody holds go with the instance. */
	ASSERT_EQ(0, mount("msharefs", self->mnt, "msharefs", 0, NULL));
	ASSERT_EQ(-1, access(self->path, F_OK));
	ASSERT_EQ(ENOENT, errno);
}

TEST_F(fs, statfs_magic)
{
	struct statfs sfs;

	ASSERT_EQ(0, statfs(self->mnt, &sfs));
	ASSERT_EQ(MSHARE_MAGIC, sfs.f_type);
}

/* --- mshare_info --- */

TEST_F(fs, info_gives_pud_size)
{
	char path[128], buf[64], want[64];

	snprintf(path, sizeof(path), "%s/mshare_info", self->mnt);
	/* PUD_SIZE on x86-64 with 4 KiB pages: 1 GiB. */
	snprintf(want, sizeof(want), "%lu\n", 1UL << 30);
	ASSERT_EQ(strlen(want), read_file(path, buf, sizeof(buf)));
	ASSERT_STREQ(want, buf);
}

TEST_F(fs, info_is_read_only)
{
	char path[128], newpath[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/mshare_info", self->mnt);
	snprintf(newpath, sizeof(newpath), "%s/other", self->mnt);
	ASSERT_EQ(0, stat(path, &st));
	ASSERT_TRUE(S_ISREG(st.st_mode));
	ASSERT_EQ(0444, st.st_mode & 07777);

	/* Even root, which passes the permission bits. */
	ASSERT_EQ(-1, open(path, O_WRONLY));
	ASSERT_EQ(EACCES, errno);
	ASSERT_EQ(-1, open(path, O_RDWR));
	ASSERT_EQ(EACCES, errno);
	ASSERT_EQ(-1, truncate(path, 0));
	ASSERT_EQ(EPERM, errno);
	ASSERT_EQ(-1, chmod(path, 0666));
	ASSERT_EQ(EPERM, errno);
	ASSERT_EQ(-1, unlink(path));
	ASSERT_EQ(EPERM, errno);
	ASSERT_EQ(-1, rename(path, newpath));
	ASSERT_EQ(EPERM, errno);
	ASSERT_EQ(-1, open(path, O_RDWR | O_CREAT | O_EXCL, 0600));
	ASSERT_EQ(EEXIST, errno);
}

TEST_F(fs, info_cannot_be_replaced)
{
	char path[128];
	int fd = create_region(self->path);

	ASSERT_LE(0, fd);
	close(fd);
	snprintf(path, sizeof(path), "%s/mshare_info", self->mnt);
	ASSERT_EQ(-1, rename(self->path, path));
	ASSERT_EQ(EPERM, errno);
	ASSERT_EQ(-1, renameat2(AT_FDCWD, self->path, AT_FDCWD, path, RENAME_EXCHANGE));
	ASSERT_EQ(EPERM, errno);
}

/* --- creating and naming regions --- */

TEST_F(fs, create_region)
{
	struct stat st;
	int fd;

	fd = create_region(self->path);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fstat(fd, &st));
	ASSERT_TRUE(S_ISREG(st.st_mode));
	ASSERT_EQ(0, st.st_size);
	ASSERT_EQ(0600, st.st_mode & 07777);
	ASSERT_EQ(-1, create_region(self->path));
	ASSERT_EQ(EEXIST, errno);
	close(fd);
}

TEST_F(fs, mkstemp_region)
{
	char tmpl[128];
	int fd;

	snprintf(tmpl, sizeof(tmpl), "%s/db-XXXXXX", self->mnt);
	fd = mkstemp(tmpl);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, self->unit));
	close(fd);
	ASSERT_EQ(0, unlink(tmpl));
}

TEST_F(fs, unlink_and_rename)
{
	char a[128], b[128];
	struct stat st;
	int fd;

	snprintf(a, sizeof(a), "%s/a", self->mnt);
	snprintf(b, sizeof(b), "%s/b", self->mnt);
	fd = create_region(a);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, self->unit));
	close(fd);

	ASSERT_EQ(0, rename(a, b));
	ASSERT_EQ(0, stat(b, &st));
	ASSERT_EQ(self->unit, st.st_size);
	ASSERT_EQ(-1, access(a, F_OK));

	fd = create_region(a);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(-1, renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_NOREPLACE));
	ASSERT_EQ(EEXIST, errno);
	ASSERT_EQ(0, renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE));
	ASSERT_EQ(0, stat(a, &st));
	ASSERT_EQ(self->unit, st.st_size);
	ASSERT_EQ(0, stat(b, &st));
	ASSERT_EQ(0, st.st_size);

	ASSERT_EQ(0, unlink(a));
	ASSERT_EQ(0, unlink(b));
	ASSERT_EQ(-1, unlink(b));
	ASSERT_EQ(ENOENT, errno);
}

/* Regions only: no directories, devices, links or anonymous files. */
TEST_F(fs, only_regions)
{
	char p[128], q[128];
	int fd;

	snprintf(p, sizeof(p), "%s/dir", self->mnt);
	ASSERT_EQ(-1, mkdir(p, 0755));
	ASSERT_EQ(EPERM, errno);
	ASSERT_EQ(-1, mknod(p, S_IFIFO | 0600, 0));
	ASSERT_EQ(EPERM, errno);
	ASSERT_EQ(-1, symlink("region", p));
	ASSERT_EQ(EPERM, errno);

	fd = create_region(self->path);
	ASSERT_LE(0, fd);
	close(fd);
	snprintf(q, sizeof(q), "%s/hardlink", self->mnt);
	ASSERT_EQ(-1, link(self->path, q));
	ASSERT_EQ(EPERM, errno);
	ASSERT_EQ(-1, open(self->mnt, O_TMPFILE | O_RDWR, 0600));
	ASSERT_EQ(EOPNOTSUPP, errno);
}

TEST_F(fs, chmod_and_chown)
{
	struct stat st;
	int fd = create_region(self->path);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fchmod(fd, 0640));
	ASSERT_EQ(0, fchown(fd, 1000, 1000));
	ASSERT_EQ(0, stat(self->path, &st));
	ASSERT_EQ(0640, st.st_mode & 07777);
	ASSERT_EQ(1000, st.st_uid);
	ASSERT_EQ(1000, st.st_gid);
	close(fd);
}

static int open_rw(void *arg)
{
	int fd = open((char *)arg, O_RDWR);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int open_ro(void *arg)
{
	int fd = open((char *)arg, O_RDONLY);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int create_as_user(void *arg)
{
	int fd = open((char *)arg, O_RDWR | O_CREAT | O_EXCL, 0600);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int unlink_as_user(void *arg)
{
	return unlink((char *)arg) ? errno : 0;
}

TEST_F(fs, permissions_as_unprivileged_user)
{
	char mine[128];
	int fd = create_region(self->path);

	ASSERT_LE(0, fd);
	close(fd);
	snprintf(mine, sizeof(mine), "%s/users", self->mnt);

	/* Root's 0600 region is closed to others; 0644 opens it for reading. */
	EXPECT_EQ(EACCES, run_as_user(open_ro, self->path));
	ASSERT_EQ(0, chmod(self->path, 0644));
	EXPECT_EQ(0, run_as_user(open_ro, self->path));
	EXPECT_EQ(EACCES, run_as_user(open_rw, self->path));
	ASSERT_EQ(0, chmod(self->path, 0666));
	EXPECT_EQ(0, run_as_user(open_rw, self->path));

	/* The root directory is 0755: users create nothing until it opens. */
	EXPECT_EQ(EACCES, run_as_user(create_as_user, mine));
	ASSERT_EQ(0, chmod(self->mnt, 01777));
	EXPECT_EQ(0, run_as_user(create_as_user, mine));
	/* Sticky, as /dev/shm: users cannot remove others' regions. */
	EXPECT_EQ(EPERM, run_as_user(unlink_as_user, self->path));
	EXPECT_EQ(0, run_as_user(unlink_as_user, mine));
}

/* --- sizing --- */

TEST_F(fs, ftruncate_sizes_once)
{
	struct stat st;
	int fd, fd2;

	fd = create_region(self->path);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 2 * self->unit));

	/* Another opener sees the size. */
	fd2 = open(self->path, O_RDONLY);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, fstat(fd2, &st));
	ASSERT_EQ(2 * self->unit, st.st_size);

	/* No second size, not even the same one; no shrink, no grow. */
	ASSERT_EQ(-1, ftruncate(fd, 2 * self->unit));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, ftruncate(fd, self->unit));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, ftruncate(fd, 3 * self->unit));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, ftruncate(fd, 0));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, fallocate(fd, 0, 0, self->unit));
	ASSERT_EQ(EINVAL, errno);
	/* O_TRUNC is a truncation to 0 too. */
	ASSERT_EQ(-1, open(self->path, O_RDWR | O_TRUNC));
	ASSERT_EQ(EINVAL, errno);

	ASSERT_EQ(0, fstat(fd2, &st));
	ASSERT_EQ(2 * self->unit, st.st_size);
	close(fd2);
	close(fd);
}

TEST_F(fs, bad_sizes)
{
	int fd = create_region(self->path);
	struct stat st;

	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, ftruncate(fd, 0));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, ftruncate(fd, 4096));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, ftruncate(fd, self->unit / 2));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, ftruncate(fd, self->unit + 4096));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, ftruncate(fd, -1));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, ftruncate(fd, LLONG_MAX));
	ASSERT_EQ(EINVAL, errno);
	/* Failed attempts leave the region unsized. */
	ASSERT_EQ(0, fstat(fd, &st));
	ASSERT_EQ(0, st.st_size);
	close(fd);

	/* ftruncate needs a writable fd, as everywhere. */
	fd = open(self->path, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, ftruncate(fd, self->unit));
	ASSERT_EQ(EINVAL, errno);
	close(fd);
}

TEST_F(fs, truncate_by_path)
{
	struct stat st;
	int fd = create_region(self->path);

	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, truncate(self->path, self->unit));
	ASSERT_EQ(0, stat(self->path, &st));
	ASSERT_EQ(self->unit, st.st_size);
}

TEST_F(fs, fallocate_sizes_once)
{
	struct stat st;
	int fd = create_region(self->path);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fallocate(fd, 0, 0, self->unit));
	ASSERT_EQ(0, fstat(fd, &st));
	ASSERT_EQ(self->unit, st.st_size);
	ASSERT_EQ(-1, fallocate(fd, 0, 0, self->unit));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, ftruncate(fd, 2 * self->unit));
	ASSERT_EQ(EINVAL, errno);
	close(fd);
}

TEST_F(fs, fallocate_refusals)
{
	struct stat st;
	int fd = create_region(self->path);

	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, self->unit));
	ASSERT_EQ(EOPNOTSUPP, errno);
	ASSERT_EQ(-1, fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, self->unit));
	ASSERT_EQ(EOPNOTSUPP, errno);
	ASSERT_EQ(-1, fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, self->unit));
	ASSERT_EQ(EOPNOTSUPP, errno);
	ASSERT_EQ(-1, fallocate(fd, 0, self->unit, self->unit));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, fallocate(fd, 0, 4096, self->unit));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, fallocate(fd, 0, 0, self->unit + 4096));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, fallocate(fd, 0, 0, 4096));
	ASSERT_EQ(EINVAL, errno);
	/* The VFS refuses what overflows before msharefs sees it. */
	ASSERT_EQ(-1, fallocate(fd, 0, LLONG_MAX - 4096, 8192));
	ASSERT_EQ(EFBIG, errno);
	ASSERT_EQ(-1, fallocate(fd, 0, 0, 0));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, fstat(fd, &st));
	ASSERT_EQ(0, st.st_size);
	close(fd);

	fd = open(self->path, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, fallocate(fd, 0, 0, self->unit));
	ASSERT_EQ(EBADF, errno);
	close(fd);
}

/* Sizes beyond RAM and the address space cost nothing until mapped. */
TEST_F(fs, huge_sizes)
{
	off_t max = LLONG_MAX & ~((off_t)self->unit - 1);
	char p[128];
	struct stat st;
	int fd;

	fd = create_region(self->path);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 1LL << 50));
	ASSERT_EQ(0, fstat(fd, &st));
	ASSERT_EQ(1LL << 50, st.st_size);
	close(fd);

	snprintf(p, sizeof(p), "%s/max", self->mnt);
	fd = create_region(p);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, ftruncate(fd, max + self->unit));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, fallocate(fd, 0, 0, max));
	ASSERT_EQ(0, fstat(fd, &st));
	ASSERT_EQ(max, st.st_size);
	close(fd);
}

TEST_F(fs, no_data_io)
{
	char buf[16] = "x";
	int fd = create_region(self->path);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, self->unit));
	ASSERT_EQ(-1, read(fd, buf, sizeof(buf)));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, write(fd, buf, sizeof(buf)));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, ioctl(fd, _IO('x', 42)));
	ASSERT_EQ(ENOTTY, errno);
	close(fd);
}

/* --- lifetime --- */

/* The creator exits; the region, its size and its mode stay. */
TEST_F(fs, region_outlives_creator)
{
	struct stat st;
	int status, fd;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		fd = create_region(self->path);
		if (fd < 0 || ftruncate(fd, 4 * self->unit) || fchmod(fd, 0640))
			_exit(1);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);

	fd = open(self->path, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fstat(fd, &st));
	ASSERT_EQ(4 * self->unit, st.st_size);
	ASSERT_EQ(0640, st.st_mode & 07777);
	close(fd);
}

/* An unlinked region lives on while it is open. */
TEST_F(fs, unlinked_region_lives_while_open)
{
	struct stat st;
	int fd = create_region(self->path);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, self->unit));
	ASSERT_EQ(0, unlink(self->path));
	ASSERT_EQ(0, fstat(fd, &st));
	ASSERT_EQ(0, st.st_nlink);
	ASSERT_EQ(self->unit, st.st_size);
	close(fd);
}

static int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

static int set_attr(const char *dir, const char *attr, long val)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), "/sys/kernel/debug/%s/%s", dir, attr);
	snprintf(buf, sizeof(buf), "%ld\n", val);
	return write_str(path, buf);
}

static long get_attr(const char *dir, const char *attr)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), "/sys/kernel/debug/%s/%s", dir, attr);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	return strtol(buf, NULL, 10);
}

/*
 * Make allocations of this task fail once 'space' bytes have been allocated
 * (the first 'times' of them), for every budget until creating, sizing and
 * mapping a region (which creates its host mm) goes through without a
 * failure: each error path is taken. A failed create returns ENOMEM and
 * leaves no file, a failed mmap ENOMEM; kmemleak and the kernel log check
 * that nothing leaked and nothing warned.
 */
static void create_under_injection(struct __test_metadata *_metadata,
				   const char *path, unsigned long unit,
				   const char *dir, int step, int times)
{
	int space, fd, failures = 0, fired, mif, err, mapped;
	void *p;

	ASSERT_EQ(0, set_attr(dir, "times", 0));
	ASSERT_EQ(0, set_attr(dir, "probability", 100));
	ASSERT_EQ(0, set_attr(dir, "interval", 1));
	ASSERT_EQ(0, set_attr(dir, "verbose", 0));
	ASSERT_EQ(0, set_attr(dir, "task-filter", 1));
	ASSERT_EQ(0, set_attr(dir, "ignore-gfp-wait", 0));
	/*
	 * Switched through an fd opened beforehand: while failures are armed,
	 * opening a file may itself fail. Writing it allocates nothing.
	 */
	mif = open("/proc/self/make-it-fail", O_WRONLY);
	ASSERT_LE(0, mif);

	for (space = 0; space < 256 * 1024; space += step) {
		ASSERT_EQ(0, set_attr(dir, "space", space));
		ASSERT_EQ(0, set_attr(dir, "times", times));
		ASSERT_EQ(1, pwrite(mif, "1", 1, 0));
		fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
		err = errno;
		p = MAP_FAILED;
		if (fd >= 0) {
			if (ftruncate(fd, unit) == 0)
				p = mmap(NULL, unit, PROT_READ, MAP_SHARED, fd, 0);
			err = errno;
		}
		ASSERT_EQ(1, pwrite(mif, "0", 1, 0));
		errno = err;
		fired = get_attr(dir, "times") != times;
		ASSERT_EQ(0, set_attr(dir, "times", 0));
		if (fd < 0) {
			ASSERT_EQ(ENOMEM, errno);
			ASSERT_EQ(-1, access(path, F_OK));
			failures++;
			continue;
		}
		mapped = p != MAP_FAILED;
		if (mapped)
			ASSERT_EQ(0, munmap(p, unit));
		close(fd);
		ASSERT_EQ(0, unlink(path));
		if (!mapped) {
			ASSERT_EQ(ENOMEM, err);
			failures++;
			continue;
		}
		if (!fired)
			break;
	}
	close(mif);
	TH_LOG("%s: %d failed creates or maps before one ran clean at space %d",
	       dir, failures, space);
	ASSERT_LT(space, 256 * 1024);
	ASSERT_LT(0, failures);
}

TEST_F(fs, create_with_failing_slab)
{
	/* One failure at each point: every error path once. */
	create_under_injection(_metadata, self->path, self->unit, "failslab",
			       64, 1);
}

TEST_F(fs, create_with_failing_page_alloc)
{
	ASSERT_EQ(0, set_attr("fail_page_alloc", "min-order", 0));
	ASSERT_EQ(0, set_attr("fail_page_alloc", "ignore-gfp-highmem", 0));
	/*
	 * Every page allocation past the budget fails: a single failure is
	 * absorbed by slab's fallback from higher orders.
	 */
	create_under_injection(_metadata, self->path, self->unit,
			       "fail_page_alloc", 4096, 1000);
}

/*
 * Creating and unlinking many regions gives back what they took: each one
 * owns a host mm, so a leak would cost several KiB a region (60 MB for
 * 10,000). Caches are shrunk before each reading, which also empties KASAN's
 * quarantine of freed objects; kmemleak checks for leaks object by object.
 */
TEST_F_TIMEOUT(fs, create_unlink_10000, 600)
{
	long free0, slab0, pt0, free1, slab1, pt1;
	int i, fd;

	for (i = 0; i < 1000; i++) {	/* warm the caches */
		fd = create_region(self->path);
		ASSERT_LE(0, fd);
		close(fd);
		ASSERT_EQ(0, unlink(self->path));
	}
	drain_slabs();
	free0 = meminfo_kb("MemFree");
	slab0 = meminfo_kb("Slab");
	pt0 = meminfo_kb("PageTables");
	for (i = 0; i < 10000; i++) {
		fd = create_region(self->path);
		ASSERT_LE(0, fd);
		if (i % 2)
			ASSERT_EQ(0, ftruncate(fd, self->unit));
		close(fd);
		ASSERT_EQ(0, unlink(self->path));
	}
	drain_slabs();
	free1 = meminfo_kb("MemFree");
	slab1 = meminfo_kb("Slab");
	pt1 = meminfo_kb("PageTables");
	TH_LOG("MemFree %ld -> %ld kB, Slab %ld -> %ld kB, PageTables %ld -> %ld kB",
	       free0, free1, slab0, slab1, pt0, pt1);
	EXPECT_GT(8 * 1024, free0 - free1);
	EXPECT_GT(8 * 1024, slab1 - slab0);
	EXPECT_GE(64, pt1 - pt0);
}

TEST_HARNESS_MAIN
