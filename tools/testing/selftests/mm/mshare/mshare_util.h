/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the msharefs selftests.
 */
#ifndef __MSHARE_UTIL_H
#define __MSHARE_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define MSHARE_MOUNT	"/sys/fs/mshare"
#define MSHARE_FSTYPE	"msharefs"
#define MSHARE_MAGIC	0x4d534852
#define UNPRIV_UID	65534
#define UNPRIV_GID	65534

/* Read a whole small file into buf; returns its length or -errno. */
static inline ssize_t read_file(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	else
		buf[n] = '\0';
	close(fd);
	return n;
}

/* The region unit as mshare_info tells it, or 0 if it cannot be read. */
static inline unsigned long mshare_unit(const char *mnt)
{
	char path[4096], buf[64];

	snprintf(path, sizeof(path), "%s/mshare_info", mnt);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	return strtoul(buf, NULL, 10);
}

/* An instance of msharefs of the test's own; fills mnt, 0 or -errno. */
static inline int mount_instance(char *mnt, size_t size)
{
	snprintf(mnt, size, "/tmp/msharefs-XXXXXX");
	if (!mkdtemp(mnt))
		return -errno;
	if (mount("msharefs", mnt, "msharefs", 0, NULL)) {
		int err = -errno;

		rmdir(mnt);
		return err;
	}
	return 0;
}

static inline void umount_instance(const char *mnt)
{
	umount2(mnt, MNT_DETACH);
	rmdir(mnt);
}

/* A field of /proc/meminfo in kB, or -1. */
static inline long meminfo_kb(const char *field)
{
	char line[256];
	size_t len = strlen(field);
	long val = -1;
	FILE *f;

	f = fopen("/proc/meminfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, len) && line[len] == ':') {
			val = strtol(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

/*
 * Give freed slab objects back: shrinking a cache also empties what KASAN
 * holds of it in quarantine, so that Slab and MemFree show real usage.
 */
static inline void drain_slabs(void)
{
	char cmd[] = "for f in /sys/kernel/slab/*/shrink; do echo 1 > $f; done 2>/dev/null";
	int fd;

	if (system(cmd) < 0)
		return;
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "3\n", 2) < 0)
			;
		close(fd);
	}
}

/*
 * Run fn(arg) in a child that has dropped to an unprivileged uid and gid
 * (and so every capability). Returns what fn returned (0..255), or -1 if
 * the child died.
 */
static inline int run_as_user(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (setgroups(0, NULL) || setresgid(UNPRIV_GID, UNPRIV_GID, UNPRIV_GID) ||
		    setresuid(UNPRIV_UID, UNPRIV_UID, UNPRIV_UID))
			_exit(255);
		_exit(fn(arg) & 0xff);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Run a shell command; returns its exit status, or -1. */
static inline int run_cmd(const char *cmd)
{
	int status = system(cmd);

	if (status == -1 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

#endif /* __MSHARE_UTIL_H */
