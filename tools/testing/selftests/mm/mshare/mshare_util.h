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

/* The number after "field:" in a /proc file of such lines (kB), or -1. */
static inline long proc_field_kb(const char *file, const char *field)
{
	char line[256];
	size_t len = strlen(field);
	long val = -1;
	FILE *f;

	f = fopen(file, "r");
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
 * A field of /proc/meminfo in kB, or -1. Counters such as PageTables keep
 * per-CPU deltas that /proc/meminfo does not add (up to hundreds of kB
 * with 4 CPUs): as root, fold them first through vm.stat_refresh, so the
 * figure is exact.
 */
static inline long meminfo_kb(const char *field)
{
	int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);

	if (fd >= 0) {
		if (write(fd, "1\n", 2) < 0)
			;
		close(fd);
	}
	return proc_field_kb("/proc/meminfo", field);
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
 * Run fn(arg) in a child that has dropped to these ids (and so every
 * capability). Returns what fn returned (0..255), or -1 if the child died.
 */
static inline int run_as(uid_t uid, gid_t gid, int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (setgroups(0, NULL) || setresgid(gid, gid, gid) ||
		    setresuid(uid, uid, uid))
			_exit(255);
		_exit(fn(arg) & 0xff);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* run_as() the unprivileged uid and gid. */
static inline int run_as_user(int (*fn)(void *), void *arg)
{
	return run_as(UNPRIV_UID, UNPRIV_GID, fn, arg);
}

/* Run a shell command; returns its exit status, or -1. */
static inline int run_cmd(const char *cmd)
{
	int status = system(cmd);

	if (status == -1 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* --- Helpers of the region-sharing tests and benchmarks --- */

#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>

/* madvise() advice that older libc headers lack. */
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT		21
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#define MADV_POPULATE_WRITE	23
#endif
#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED	24
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE		25
#endif
#ifndef MADV_PT_RECLAIM
#define MADV_PT_RECLAIM		26
#endif
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>

#ifdef MSHAREFS_CREATE_MAPPING
#include <sys/ioctl.h>

/* MSHAREFS_CREATE_MAPPING: 0 or the errno. */
static inline int mshare_create(int fd, uint64_t off, uint64_t size, int prot,
				int flags, int objfd, uint64_t objoff)
{
	struct mshare_create mc = {
		.region_offset = off,
		.size = size,
		.offset = objoff,
		.prot = prot,
		.flags = flags,
		.fd = objfd,
	};

	return ioctl(fd, MSHAREFS_CREATE_MAPPING, &mc) ? errno : 0;
}

/* Anonymous shared read-write memory, not charged to overcommit. */
static inline int mshare_anon(int fd, uint64_t off, uint64_t size)
{
	return mshare_create(fd, off, size, PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS | MAP_NORESERVE,
			     -1, 0);
}

/* A file object mapped at object offset 0 with the given protection. */
static inline int mshare_file(int fd, uint64_t off, uint64_t size, int prot, int objfd)
{
	return mshare_create(fd, off, size, prot, MAP_SHARED | MAP_FIXED, objfd, 0);
}

/* MSHAREFS_UNMAP: 0 or the errno. */
static inline int mshare_unmap(int fd, uint64_t off, uint64_t size)
{
	struct mshare_unmap mu = { .region_offset = off, .size = size };

	return ioctl(fd, MSHAREFS_UNMAP, &mu) ? errno : 0;
}
#endif /* MSHAREFS_CREATE_MAPPING */

/* Create and size a region "name" under mnt; its fd (O_RDWR) or -errno. */
static inline int region_create(const char *mnt, const char *name, unsigned long size)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", mnt, name);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return -errno;
	if (size && ftruncate(fd, size)) {
		int err = -errno;

		close(fd);
		unlink(path);
		return err;
	}
	return fd;
}

/* Map a whole region shared with prot: its address, or NULL. */
static inline void *map_region(int fd, unsigned long size, int prot)
{
	void *p = mmap(NULL, size, prot, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Anonymous memory shared with children (results, flags): or NULL. */
static inline void *shared_mem(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Read n bytes from fd within secs seconds; returns how many came. */
static inline int read_n(int fd, int n, int secs)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	time_t end = time(NULL) + secs;
	char buf[64];
	int got = 0;

	while (got < n) {
		int left = end - time(NULL);
		ssize_t r;

		if (left <= 0 || poll(&pfd, 1, left * 1000) <= 0)
			break;
		r = read(fd, buf, n - got < (int)sizeof(buf) ? n - got : (int)sizeof(buf));
		if (r <= 0)
			break;
		got += r;
	}
	return got;
}

/* Write n bytes to fd (one per waiting child). */
static inline void release_n(int fd, int n)
{
	char buf[64] = { 0 };

	while (n > 0) {
		int k = n < (int)sizeof(buf) ? n : (int)sizeof(buf);

		if (write(fd, buf, k) != k)
			return;
		n -= k;
	}
}

/* In a child: block until the parent releases it (exit 100 if it cannot). */
static inline void child_wait(int fd)
{
	char c;

	if (read(fd, &c, 1) != 1)
		_exit(100);
}

/* In a child: tell the parent it is ready (exit 101 if it cannot). */
static inline void child_ready(int fd)
{
	if (write(fd, "r", 1) != 1)
		_exit(101);
}

#ifdef __KSELFTEST_HARNESS_H
/*
 * The start of a FIXTURE_SETUP: an instance of msharefs of the test's own
 * at mnt, its unit in *unit, and the region "region" at path, open O_RDWR
 * in *fd and sized to "units" times the unit. Asserts (ends the test) where
 * a step fails.
 */
static inline void region_fixture_setup(struct __test_metadata *_metadata,
					char *mnt, size_t mnt_size, char *path, size_t path_size,
					unsigned long *unit, int *fd, unsigned long units)
{
	ASSERT_EQ(0, mount_instance(mnt, mnt_size));
	snprintf(path, path_size, "%s/region", mnt);
	*unit = mshare_unit(mnt);
	ASSERT_NE(0, *unit);
	*fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	ASSERT_LE(0, *fd);
	ASSERT_EQ(0, ftruncate(*fd, units * *unit));
}
#endif /* __KSELFTEST_HARNESS_H */

/* A field of /proc/self/status in kB (VmPTE, VmLck, ...), or -1. */
static inline long proc_status_kb(const char *field)
{
	return proc_field_kb("/proc/self/status", field);
}

/* Minor faults taken by the calling process so far. */
static inline long self_minflt(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return -1;
	return ru.ru_minflt;
}

/* Write a string to a (sysfs, procfs) file: 0 or -errno. */
static inline int write_file(const char *path, const char *s)
{
	ssize_t len = strlen(s), n;
	int fd;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, s, len);
	if (n != len) {
		int err = n < 0 ? -errno : -EIO;

		close(fd);
		return err;
	}
	close(fd);
	return 0;
}

/* A file holding a decimal number, or -1. */
static inline long read_long_file(const char *path)
{
	char buf[64];

	if (read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	return strtol(buf, NULL, 10);
}

/*
 * PageTables once it equals target, or its last value after secs seconds:
 * page tables that lockless walkers may still see are freed after an RCU
 * grace period, and a region's host mm may be torn down by a worker.
 */
/*
 * PageTables in /proc/meminfo is system-wide. In the debug guest it moves
 * by up to about 100 kB while no region is mapped at all (measured with the
 * guest idle but for the shell that samples it); the source is not pinned
 * down. Tests that compare it before and after therefore compare amounts
 * far larger than this slack; the benchmark gives the exact figures on the
 * non-debug kernel.
 */
#define PT_SLACK_KB	128

static inline long wait_pagetables(long target, int secs)
{
	long pt = meminfo_kb("PageTables");
	int i;

	for (i = 0; pt != target && i < secs * 10; i++) {
		usleep(100000);
		if (i % 10 == 9)
			drain_slabs();
		pt = meminfo_kb("PageTables");
	}
	return pt;
}

/*
 * The start of a free range of size bytes aligned to align: found by
 * reserving more and giving it back, so it stays free until the caller's
 * next mapping (the tests are single-threaded).
 */
static inline void *free_aligned_range(unsigned long size, unsigned long align)
{
	char *p = mmap(NULL, size + align, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uintptr_t a;

	if (p == MAP_FAILED)
		return NULL;
	munmap(p, size + align);
	a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
	return (void *)a;
}

/*
 * The header line, in /proc/self/maps or /proc/self/smaps (file), of the VMA
 * starting at addr: 0, or -1 if there is none.
 */
static inline int maps_line(const char *file, const void *addr, char *line, size_t size)
{
	unsigned long start, end;
	int ret = -1;
	FILE *f;

	f = fopen(file, "r");
	if (!f)
		return -1;
	while (fgets(line, size, f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 &&
		    start == (unsigned long)addr) {
			line[strcspn(line, "\n")] = '\0';
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

/*
 * The line "field: ..." of the VMA at addr in /proc/self/smaps, into line:
 * 0, or -1 if there is none.
 */
static inline int smaps_line(const void *addr, const char *field, char *line, size_t size)
{
	unsigned long start, end;
	size_t len = strlen(field);
	int in = 0, ret = -1;
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	while (fgets(line, size, f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			if (in)
				break;
			in = start == (unsigned long)addr;
			continue;
		}
		if (in && !strncmp(line, field, len) && line[len] == ':') {
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

/* The value in kB of a field of /proc/self/smaps for the VMA at addr, or -1. */
static inline long smaps_kb(const void *addr, const char *field)
{
	char line[512];

	if (smaps_line(addr, field, line, sizeof(line)))
		return -1;
	return strtol(line + strlen(field) + 1, NULL, 10);
}

/* The VmFlags line of /proc/self/smaps for the VMA at addr; 0 or -1. */
static inline int smaps_vmflags(const void *addr, char *buf, size_t size)
{
	char line[512];
	size_t n;

	if (smaps_line(addr, "VmFlags", line, sizeof(line)))
		return -1;
	n = strcspn(line + 8, "\n");
	if (n >= size)
		n = size - 1;
	memcpy(buf, line + 8, n);
	buf[n] = '\0';
	return 0;
}

/*
 * Access one word and report the signal it raised: 0 (none), SIGSEGV or
 * SIGBUS. For a read, *val gets the value; si_addr of the signal goes to
 * *fault_addr if that is not NULL.
 */
static sigjmp_buf probe_env;
static volatile sig_atomic_t probe_signo;
static void *volatile probe_addr;

static inline void probe_handler(int sig, siginfo_t *si, void *uc)
{
	probe_signo = sig;
	probe_addr = si->si_addr;
	siglongjmp(probe_env, 1);
}

static inline int probe(volatile unsigned long *p, int write, unsigned long *val,
			void **fault_addr)
{
	struct sigaction sa = { .sa_sigaction = probe_handler, .sa_flags = SA_SIGINFO };
	struct sigaction osegv, obus;
	int ret = 0;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &osegv);
	sigaction(SIGBUS, &sa, &obus);
	probe_signo = 0;
	if (sigsetjmp(probe_env, 1) == 0) {
		if (write)
			*p = *val;
		else
			*val = *p;
	} else {
		ret = probe_signo;
		if (fault_addr)
			*fault_addr = probe_addr;
	}
	sigaction(SIGSEGV, &osegv, NULL);
	sigaction(SIGBUS, &obus, NULL);
	return ret;
}

#define probe_read(p, valp)	probe((volatile unsigned long *)(p), 0, (valp), NULL)
#define probe_write(p, v)	({ unsigned long __v = (v); \
				   probe((volatile unsigned long *)(p), 1, &__v, NULL); })

/*
 * Wait for a child for at most secs seconds; on timeout kill it (SIGKILL),
 * reap it and return -1. Otherwise 0 with its wait status in *status.
 */
static inline int wait_child(pid_t pid, int *status, int secs)
{
	int i;

	for (i = 0; i < secs * 100; i++) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0)
			return -1;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, status, 0);
	return -1;
}

/*
 * fork() for a test's child: it is killed when the process that forked it
 * goes (an assertion failing in a test, a test killed on timeout), so that
 * no child blocked on a pipe or spinning is ever left behind.
 */
static inline pid_t fork_child(void)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(111);
	}
	return pid;
}

/* Did the child exit normally with this code? */
static inline int exited_with(int status, int code)
{
	return WIFEXITED(status) && WEXITSTATUS(status) == code;
}

/* Was the child killed by this signal? */
static inline int killed_by(int status, int sig)
{
	return WIFSIGNALED(status) && WTERMSIG(status) == sig;
}

/* /proc/sys/vm/nr_hugepages, or -1. */
static inline long hugepages_get(void)
{
	return read_long_file("/proc/sys/vm/nr_hugepages");
}

static inline int hugepages_set(long n)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld\n", n);
	return write_file("/proc/sys/vm/nr_hugepages", buf);
}

/* --- A byte pattern per seed, written and checked by the data tests --- */

/* Byte i of pattern seed. */
static inline unsigned char pbyte(unsigned long seed, unsigned long i)
{
	unsigned long x = (i + 1) * 0x9e3779b97f4a7c15UL ^ (seed * 0xc2b2ae3d27d4eb4fUL);

	return (x >> 29) ^ (x >> 7) ^ seed;
}

static inline void fill(volatile char *p, unsigned long len, unsigned long seed)
{
	unsigned long i;

	for (i = 0; i < len; i++)
		p[i] = pbyte(seed, i);
}

/* Number of bytes of [p, p + len) that are not pattern seed. */
static inline unsigned long bad_bytes(const volatile char *p, unsigned long len, unsigned long seed)
{
	unsigned long i, bad = 0;

	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] != pbyte(seed, i))
			bad++;
	return bad;
}

/*
 * An ext2 filesystem made with mke2fs on a loop device over a file in /tmp,
 * mounted on a directory of its own.
 */
struct ext2_loop {
	char img[64];
	char dev[64];
	char dir[64];
	int mounted;
};

static inline int ext2_loop_setup(struct ext2_loop *e, int mb)
{
	char cmd[256];
	FILE *f;
	int fd;

	memset(e, 0, sizeof(*e));
	snprintf(e->img, sizeof(e->img), "/tmp/mshare-ext2-XXXXXX");
	fd = mkstemp(e->img);
	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)mb << 20)) {
		close(fd);
		return -1;
	}
	close(fd);
	snprintf(cmd, sizeof(cmd), "/usr/sbin/mke2fs -q -F -t ext2 -b 4096 %s >/dev/null 2>&1", e->img);
	if (run_cmd(cmd))
		return -1;
	snprintf(cmd, sizeof(cmd), "/usr/bin/losetup -f --show %s", e->img);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	if (!fgets(e->dev, sizeof(e->dev), f))
		e->dev[0] = '\0';
	pclose(f);
	e->dev[strcspn(e->dev, "\n")] = '\0';
	if (strncmp(e->dev, "/dev/loop", 9))
		return -1;
	snprintf(e->dir, sizeof(e->dir), "/tmp/mshare-mnt-XXXXXX");
	if (!mkdtemp(e->dir))
		return -1;
	if (mount(e->dev, e->dir, "ext2", 0, NULL))
		return -1;
	e->mounted = 1;
	return 0;
}

static inline void ext2_loop_teardown(struct ext2_loop *e)
{
	char cmd[128];
	int i;

	if (e->mounted) {
		for (i = 0; i < 50 && umount(e->dir); i++)
			usleep(100000);
		if (i == 50)
			umount2(e->dir, MNT_DETACH);
		e->mounted = 0;
	}
	if (e->dir[0])
		rmdir(e->dir);
	if (e->dev[0]) {
		snprintf(cmd, sizeof(cmd), "/usr/bin/losetup -d %s 2>/dev/null", e->dev);
		run_cmd(cmd);
	}
	if (e->img[0])
		unlink(e->img);
	memset(e, 0, sizeof(*e));
}

/* --- Memory cgroups (cgroup v2), for the charging tests --- */

#define CGROUP_ROOT	"/sys/fs/cgroup"

/*
 * The value of key in a file of "key value" lines (memory.stat,
 * memory.events, /proc/vmstat), or -1 if the file has no such line.
 */
static inline long key_value(const char *path, const char *key)
{
	size_t len = strlen(key);
	char line[256];
	long val = -1;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, len) && line[len] == ' ') {
			val = strtol(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

/* Whether word is one of the words of s ("cpu io memory pids\n"). */
static inline int has_word(const char *s, const char *word)
{
	size_t len = strlen(word);

	while (*s) {
		size_t n = strcspn(s, " \n");

		if (n == len && !strncmp(s, word, len))
			return 1;
		s += n;
		s += strspn(s, " \n");
	}
	return 0;
}

/*
 * Make the memory controller available to the children of the root
 * cgroup: 0; -ENOENT if no cgroup v2 hierarchy is mounted at CGROUP_ROOT,
 * -ENODEV if it has no memory controller; or why enabling it failed.
 */
static inline int cg_enable_memory(void)
{
	char buf[512];

	if (read_file(CGROUP_ROOT "/cgroup.controllers", buf, sizeof(buf)) < 0)
		return -ENOENT;
	if (!has_word(buf, "memory"))
		return -ENODEV;
	if (read_file(CGROUP_ROOT "/cgroup.subtree_control", buf, sizeof(buf)) < 0)
		return -ENOENT;
	if (has_word(buf, "memory"))
		return 0;
	return write_file(CGROUP_ROOT "/cgroup.subtree_control", "+memory");
}

/* Create the cgroup CGROUP_ROOT/name, its path into cg: 0 or -errno. */
static inline int cg_create(char *cg, size_t size, const char *name)
{
	snprintf(cg, size, "%s/%s", CGROUP_ROOT, name);
	return mkdir(cg, 0755) ? -errno : 0;
}

/* Write val to the control file "file" of cgroup cg: 0 or -errno. */
static inline int cg_write(const char *cg, const char *file, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	return write_file(path, val);
}

/* Move process pid into cgroup cg: 0 or -errno. */
static inline int cg_attach(const char *cg, pid_t pid)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d\n", pid);
	return cg_write(cg, "cgroup.procs", buf);
}

/* Whether cgroup cg has the control file "file" (memory.peak, ...). */
static inline int cg_has(const char *cg, const char *file)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	return !access(path, F_OK);
}

/* A control file of cgroup cg holding one number (memory.current), or -1. */
static inline long cg_read(const char *cg, const char *file)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	return read_long_file(path);
}

/* key in a keyed control file of cgroup cg (memory.stat, memory.events), or -1. */
static inline long cg_key(const char *cg, const char *file, const char *key)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	return key_value(path, key);
}

/*
 * Remove cgroup cg: 0 or -errno. Processes still in it (a test that joined
 * it itself, a child not reaped) are moved to the root cgroup first; a
 * cgroup whose last task is exiting stays busy for a moment.
 */
static inline int cg_destroy(const char *cg)
{
	char procs[256], pid[32];
	FILE *f;
	int i;

	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
	for (i = 0; i < 50; i++) {
		f = fopen(procs, "r");
		if (!f)
			return errno == ENOENT ? 0 : -errno;
		while (fgets(pid, sizeof(pid), f))
			write_file(CGROUP_ROOT "/cgroup.procs", pid);
		fclose(f);
		if (!rmdir(cg) || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		usleep(100000);
	}
	return -EBUSY;
}

/* Swap on zram0 for the test, if it can be had: 1 if it was set up. */
static inline int zram_swap_on(void)
{
	if (write_file("/sys/block/zram0/disksize", "64M"))
		return 0;
	if (run_cmd("mkswap /dev/zram0 >/dev/null 2>&1") ||
	    run_cmd("swapon /dev/zram0 >/dev/null 2>&1")) {
		write_file("/sys/block/zram0/reset", "1");
		return 0;
	}
	return 1;
}

static inline void zram_swap_off(void)
{
	run_cmd("swapoff /dev/zram0 >/dev/null 2>&1");
	write_file("/sys/block/zram0/reset", "1");
}

#endif /* __MSHARE_UTIL_H */
