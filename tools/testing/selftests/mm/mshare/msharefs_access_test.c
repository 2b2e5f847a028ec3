// SPDX-License-Identifier: GPL-2.0
/*
 * Everything that touches user memory works through the shared page tables
 * of a region: read()/write() with the region as buffer, O_DIRECT,
 * process_vm_readv/writev, /proc/PID/mem, futexes, ptrace, vmsplice and
 * core dumps (which skip the region). A read-only mapping of a region can
 * be read that way but never written: every path that would write through
 * it fails and the data never changes.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <linux/futex.h>
#include <linux/msharefs.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "../../kselftest_harness.h"
#include "mshare_util.h"

#define PAGE	4096UL
#define MB	(1UL << 20)
#define RW	(PROT_READ | PROT_WRITE)

/* Map the region at an aligned address other than avoid. */
static char *map_region_elsewhere(int fd, unsigned long size, const void *avoid)
{
	char *a, *p;

	a = free_aligned_range(2 * size, size);
	if (!a)
		return NULL;
	if (a == avoid)
		a += size;
	p = mmap(a, size, RW, MAP_SHARED | MAP_FIXED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* A buffer of len bytes of pattern seed, aligned for O_DIRECT. */
static char *pattern_buf(unsigned long len, unsigned long seed)
{
	void *b;

	if (posix_memalign(&b, PAGE, len))
		return NULL;
	fill(b, len, seed);
	return b;
}

FIXTURE(acc) {
	char mnt[64];
	char path[128];
	unsigned long unit;
	int fd;
	char core_pattern[256];
	int core_saved;
	struct ext2_loop e2;
};

FIXTURE_SETUP(acc)
{
	self->fd = -1;
	self->core_saved = 0;
	memset(&self->e2, 0, sizeof(self->e2));
	region_fixture_setup(_metadata, self->mnt, sizeof(self->mnt), self->path,
			     sizeof(self->path), &self->unit, &self->fd, 1);
	/* 8 MiB of shared anonymous memory at offset 0 of the region. */
	ASSERT_EQ(0, mshare_anon(self->fd, 0, 8 * MB));
}

FIXTURE_TEARDOWN(acc)
{
	if (self->core_saved)
		write_file("/proc/sys/kernel/core_pattern", self->core_pattern);
	if (self->fd >= 0) {
		mshare_unmap(self->fd, 0, self->unit);
		close(self->fd);
	}
	ext2_loop_teardown(&self->e2);
	umount_instance(self->mnt);
}

/*
 * Run fn in a child that maps the region itself (so its first access to
 * the region is the one under test); returns its wait status, or -1.
 */
static int in_fresh_process(int (*fn)(char *, void *), int fd, unsigned long u, void *arg)
{
	pid_t pid;
	int st;

	pid = fork_child();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char *q = map_region(fd, u, RW);

		_exit(q ? fn(q, arg) : 99);
	}
	if (wait_child(pid, &st, 60))
		return -1;
	return st;
}

/* --- read() and write() --- */

/* write() from and read() into the region, through a pipe. */
static int pipe_io(char *q, void *arg)
{
	char *buf = malloc(64 * 1024);
	int pp[2];

	if (!buf || pipe(pp))
		return 1;
	/* From the region, where another process wrote. */
	if (write(pp[1], q, 64 * 1024) != 64 * 1024)
		return 2;
	if (read(pp[0], buf, 64 * 1024) != 64 * 1024)
		return 3;
	if (bad_bytes(buf, 64 * 1024, 1))
		return 4;
	/* Into the region, where nobody has been. */
	fill(buf, 64 * 1024, 2);
	if (write(pp[1], buf, 64 * 1024) != 64 * 1024)
		return 5;
	if (read(pp[0], q + 4 * MB, 64 * 1024) != 64 * 1024)
		return 6;
	return bad_bytes(q + 4 * MB, 64 * 1024, 2) ? 7 : 0;
}

TEST_F(acc, read_write_pipe)
{
	char *p;
	int st;

	p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, p);
	fill(p, 64 * 1024, 1);
	st = in_fresh_process(pipe_io, self->fd, self->unit, NULL);
	EXPECT_TRUE(exited_with(st, 0)) TH_LOG("child status %#x", st);
	EXPECT_EQ(0, bad_bytes(p + 4 * MB, 64 * 1024, 2));
	munmap(p, self->unit);
}

/* write() from and read() into the region, with a tmpfs file. */
static int tmpfs_io(char *q, void *arg)
{
	char name[] = "/dev/shm/mshare-io-XXXXXX";
	char *buf = malloc(MB);
	int fd = mkstemp(name);

	if (fd < 0 || !buf)
		return 1;
	unlink(name);
	if (write(fd, q, MB) != (ssize_t)MB)
		return 2;
	if (pread(fd, buf, MB, 0) != (ssize_t)MB || bad_bytes(buf, MB, 3))
		return 3;
	fill(buf, MB, 4);
	if (pwrite(fd, buf, MB, MB) != (ssize_t)MB)
		return 4;
	if (pread(fd, q + 2 * MB, MB, MB) != (ssize_t)MB)
		return 5;
	if (bad_bytes(q + 2 * MB, MB, 4))
		return 6;
	return 0;
}

TEST_F(acc, read_write_tmpfs_file)
{
	char *p;
	int st;

	p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, p);
	fill(p, MB, 3);
	st = in_fresh_process(tmpfs_io, self->fd, self->unit, NULL);
	EXPECT_TRUE(exited_with(st, 0)) TH_LOG("child status %#x", st);
	EXPECT_EQ(0, bad_bytes(p + 2 * MB, MB, 4));
	munmap(p, self->unit);
}

/* --- O_DIRECT --- */

static int direct_io(char *q, void *arg)
{
	const char *file = arg;
	int fd;

	fd = open(file, O_RDWR | O_CREAT | O_DIRECT, 0600);
	if (fd < 0)
		return 1;
	/* Pages pinned for reading from the region... */
	if (pwrite(fd, q, MB, 0) != (ssize_t)MB)
		return 2;
	/* ...and for writing into it, where nobody has been. */
	if (pread(fd, q + 4 * MB, MB, 0) != (ssize_t)MB)
		return 3;
	if (bad_bytes(q + 4 * MB, MB, 5))
		return 4;
	close(fd);
	return 0;
}

TEST_F_TIMEOUT(acc, o_direct_ext2, 90)
{
	char file[160], *p, *buf;
	int st, fd;

	ASSERT_EQ(0, ext2_loop_setup(&self->e2, 32));
	snprintf(file, sizeof(file), "%s/direct", self->e2.dir);
	p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, p);
	fill(p, MB, 5);
	st = in_fresh_process(direct_io, self->fd, self->unit, file);
	EXPECT_TRUE(exited_with(st, 0)) TH_LOG("child status %#x", st);
	EXPECT_EQ(0, bad_bytes(p + 4 * MB, MB, 5));
	/* What went to the disk is the region's data. */
	buf = malloc(MB);
	ASSERT_NE(NULL, buf);
	fd = open(file, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(MB, pread(fd, buf, MB, 0));
	EXPECT_EQ(0, bad_bytes(buf, MB, 5));
	close(fd);
	free(buf);
	munmap(p, self->unit);
}

/* --- process_vm_readv / process_vm_writev --- */

struct xproc {
	unsigned long addr;
	volatile int woke;
};

TEST_F(acc, process_vm_readv_writev)
{
	int go[2], ready[2], st;
	struct iovec local, remote;
	struct xproc *x;
	char *p, *q;
	pid_t pid;

	x = shared_mem(PAGE);
	ASSERT_NE(NULL, x);
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(ready));
	pid = fork_child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		q = map_region(self->fd, self->unit, RW);
		if (!q)
			_exit(1);
		fill(q, MB, 6);
		x->addr = (unsigned long)q;
		child_ready(ready[1]);
		child_wait(go[0]);
		_exit(bad_bytes(q + 4 * MB, MB, 7) ? 2 : 0);
	}
	ASSERT_EQ(1, read_n(ready[0], 1, 30));
	/* This process's side is the region too, at another address. */
	p = map_region_elsewhere(self->fd, self->unit, (void *)x->addr);
	ASSERT_NE(NULL, p);
	EXPECT_NE((unsigned long)p, x->addr);

	/* The child's region into untouched pages of ours... */
	local.iov_base = p + 2 * MB;
	local.iov_len = MB;
	remote.iov_base = (void *)x->addr;
	remote.iov_len = MB;
	EXPECT_EQ(MB, process_vm_readv(pid, &local, 1, &remote, 1, 0));
	EXPECT_EQ(0, bad_bytes(p + 2 * MB, MB, 6));
	/* ...and ours into untouched pages of the child's. */
	fill(p + 6 * MB, MB, 7);
	local.iov_base = p + 6 * MB;
	remote.iov_base = (void *)(x->addr + 4 * MB);
	EXPECT_EQ(MB, process_vm_writev(pid, &local, 1, &remote, 1, 0));
	EXPECT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(0, wait_child(pid, &st, 30));
	EXPECT_TRUE(exited_with(st, 0)) TH_LOG("child status %#x", st);
	munmap(p, self->unit);
}

/* --- /proc/PID/mem --- */

TEST_F(acc, proc_pid_mem)
{
	int go[2], ready[2], st, mfd;
	char path[64], *buf;
	struct xproc *x;
	pid_t pid;

	x = shared_mem(PAGE);
	ASSERT_NE(NULL, x);
	buf = malloc(64 * 1024);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(ready));
	pid = fork_child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *q = map_region(self->fd, self->unit, RW);

		if (!q)
			_exit(1);
		fill(q, 64 * 1024, 8);
		x->addr = (unsigned long)q;
		child_ready(ready[1]);
		child_wait(go[0]);
		_exit(bad_bytes(q + 4 * MB, 64 * 1024, 9) ? 2 : 0);
	}
	ASSERT_EQ(1, read_n(ready[0], 1, 30));
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	mfd = open(path, O_RDWR);
	ASSERT_LE(0, mfd);
	EXPECT_EQ(64 * 1024, pread(mfd, buf, 64 * 1024, x->addr));
	EXPECT_EQ(0, bad_bytes(buf, 64 * 1024, 8));
	fill(buf, 64 * 1024, 9);
	EXPECT_EQ(64 * 1024, pwrite(mfd, buf, 64 * 1024, x->addr + 4 * MB));
	close(mfd);
	EXPECT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(0, wait_child(pid, &st, 30));
	EXPECT_TRUE(exited_with(st, 0)) TH_LOG("child status %#x", st);
	free(buf);
}

/* --- futexes --- */

static long futex(volatile unsigned int *uaddr, int op, unsigned int val,
		  const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

/*
 * A shared futex on a word of the region, mapped at different addresses by
 * the two processes: FUTEX_WAKE in one wakes FUTEX_WAIT in the other.
 */
TEST_F(acc, futex_wait_wake)
{
	const unsigned long off = 3 * MB + 64;
	volatile unsigned int *w;
	struct xproc *x;
	long woken = 0;
	pid_t pid;
	char *p;
	int i, st;

	x = shared_mem(PAGE);
	ASSERT_NE(NULL, x);
	p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, p);
	w = (volatile unsigned int *)(p + off);
	*w = 0;
	pid = fork_child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct timespec ts = { .tv_sec = 30 };
		volatile unsigned int *cw;
		char *q;

		q = map_region_elsewhere(self->fd, self->unit, p);
		if (!q || q == p)
			_exit(1);
		munmap(p, self->unit);
		x->addr = (unsigned long)q;
		cw = (volatile unsigned int *)(q + off);
		for (;;) {
			long r = futex(cw, FUTEX_WAIT, 0, &ts);

			if (r == 0 && x->woke)
				_exit(0);
			if (r == 0 || (r < 0 && errno == EINTR))
				continue;	/* spurious */
			_exit(r < 0 && errno == ETIMEDOUT ? 2 : 3);
		}
	}
	x->woke = 1;
	for (i = 0; i < 1000 && woken != 1; i++) {
		woken = futex(w, FUTEX_WAKE, 1, NULL);
		if (woken != 1)
			usleep(10000);
	}
	EXPECT_EQ(1, woken) TH_LOG("FUTEX_WAKE never found the waiter");
	ASSERT_EQ(0, wait_child(pid, &st, 40));
	EXPECT_TRUE(exited_with(st, 0)) TH_LOG("waiter status %#x (2: timed out)", st);
	EXPECT_NE((unsigned long)p, x->addr);
	munmap(p, self->unit);
}

/* --- ptrace --- */

TEST_F(acc, ptrace_peek_poke)
{
	const unsigned long mark = 0x6d73686172656421UL, poked = 0x706f6b6564212121UL;
	struct xproc *x;
	unsigned long v;
	pid_t pid;
	int st;

	x = shared_mem(PAGE);
	ASSERT_NE(NULL, x);
	pid = fork_child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		volatile unsigned long *q = (void *)map_region(self->fd, self->unit, RW);

		if (!q)
			_exit(1);
		q[0] = mark;
		x->addr = (unsigned long)q;
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
			_exit(2);
		raise(SIGSTOP);
		/* One poked where this process had been, one where nobody had. */
		_exit(q[1] == poked && q[MB / 8] == poked ? 0 : 3);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFSTOPPED(st));
	errno = 0;
	v = ptrace(PTRACE_PEEKDATA, pid, (void *)x->addr, NULL);
	EXPECT_EQ(0, errno);
	EXPECT_EQ(mark, v);
	EXPECT_EQ(0, ptrace(PTRACE_POKEDATA, pid, (void *)(x->addr + 8), (void *)poked));
	EXPECT_EQ(0, ptrace(PTRACE_POKEDATA, pid, (void *)(x->addr + MB), (void *)poked));
	errno = 0;
	v = ptrace(PTRACE_PEEKDATA, pid, (void *)(x->addr + MB), NULL);
	EXPECT_EQ(0, errno);
	EXPECT_EQ(poked, v);
	EXPECT_EQ(0, ptrace(PTRACE_CONT, pid, NULL, NULL));
	ASSERT_EQ(0, wait_child(pid, &st, 30));
	EXPECT_TRUE(exited_with(st, 0)) TH_LOG("child status %#x", st);
}

/* --- vmsplice --- */

static int vmsplice_io(char *q, void *arg)
{
	struct iovec iov = { .iov_base = q, .iov_len = 64 * 1024 };
	char *buf = malloc(64 * 1024);
	int pp[2];

	if (!buf || pipe(pp))
		return 1;
	if (vmsplice(pp[1], &iov, 1, 0) != 64 * 1024)
		return 2;
	if (read(pp[0], buf, 64 * 1024) != 64 * 1024)
		return 3;
	return bad_bytes(buf, 64 * 1024, 10) ? 4 : 0;
}

TEST_F(acc, vmsplice_into_pipe)
{
	char *p;
	int st;

	p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, p);
	fill(p, 64 * 1024, 10);
	st = in_fresh_process(vmsplice_io, self->fd, self->unit, NULL);
	EXPECT_TRUE(exited_with(st, 0)) TH_LOG("child status %#x", st);
	munmap(p, self->unit);
}

/* --- core dumps --- */

#define MARKER_LEN	64

/* The marker bytes; computed in place so that no other copy exists. */
static inline unsigned char marker_byte(unsigned long seed, int i)
{
	unsigned long x = seed * 0x2545f4914f6cdd1dUL + (unsigned long)i * 0x9e3779b97f4a7c15UL;

	return (x >> 33) ^ (x >> 17) ^ (x >> 3);
}

/*
 * The region VMA is VM_DONTDUMP: a core dump has its PT_LOAD with no file
 * contents, and the data in it appears nowhere in the core.
 */
TEST_F_TIMEOUT(acc, core_dump_skips_region, 90)
{
	unsigned char marker[MARKER_LEN];
	char corefile[64], vmflags[256];
	unsigned long seed, filesz = ~0UL, memsz = 0;
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
	struct xproc *x;
	struct stat sb;
	char *core, *p;
	int i, st, cfd, found = 0;
	pid_t pid;

	x = shared_mem(PAGE);
	ASSERT_NE(NULL, x);
	ASSERT_LT(0, read_file("/proc/sys/kernel/core_pattern", self->core_pattern,
			       sizeof(self->core_pattern)));
	self->core_saved = 1;
	ASSERT_EQ(0, write_file("/proc/sys/kernel/core_pattern", "/tmp/mshare-core.%p\n"));

	p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, smaps_vmflags(p, vmflags, sizeof(vmflags)));
	EXPECT_NE(NULL, strstr(vmflags, " dd")) TH_LOG("VmFlags:%s", vmflags);
	munmap(p, self->unit);

	seed = ((unsigned long)getpid() << 20) ^ (unsigned long)time(NULL);
	pid = fork_child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
		volatile unsigned char *q;
		int j;

		if (setrlimit(RLIMIT_CORE, &rl))
			_exit(1);
		q = (void *)map_region(self->fd, self->unit, RW);
		if (!q)
			_exit(2);
		for (j = 0; j < MARKER_LEN; j++) {
			q[j] = marker_byte(seed, j);
			q[MB + j] = marker_byte(seed, j);
		}
		x->addr = (unsigned long)q;
		abort();
	}
	ASSERT_EQ(0, wait_child(pid, &st, 60));
	write_file("/proc/sys/kernel/core_pattern", self->core_pattern);
	self->core_saved = 0;
	ASSERT_TRUE(killed_by(st, SIGABRT)) TH_LOG("child status %#x", st);
	ASSERT_TRUE(WCOREDUMP(st));

	snprintf(corefile, sizeof(corefile), "/tmp/mshare-core.%d", pid);
	cfd = open(corefile, O_RDONLY);
	ASSERT_LE(0, cfd);
	ASSERT_EQ(0, fstat(cfd, &sb));
	core = mmap(NULL, sb.st_size, PROT_READ, MAP_PRIVATE, cfd, 0);
	ASSERT_NE(MAP_FAILED, core);
	close(cfd);
	unlink(corefile);

	eh = (Elf64_Ehdr *)core;
	ASSERT_EQ(0, memcmp(eh->e_ident, ELFMAG, SELFMAG));
	ASSERT_EQ(ET_CORE, eh->e_type);
	ASSERT_GE((unsigned long)sb.st_size, eh->e_phoff + eh->e_phnum * sizeof(*ph));
	ph = (Elf64_Phdr *)(core + eh->e_phoff);
	for (i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && ph[i].p_vaddr == x->addr) {
			found = 1;
			filesz = ph[i].p_filesz;
			memsz = ph[i].p_memsz;
		}
	}
	TH_LOG("core of %ld bytes; region PT_LOAD: filesz %lu memsz %lu",
	       (long)sb.st_size, filesz, memsz);
	EXPECT_TRUE(found);
	EXPECT_EQ(0, filesz);
	EXPECT_EQ(self->unit, memsz);
	for (i = 0; i < MARKER_LEN; i++)
		marker[i] = marker_byte(seed, i);
	EXPECT_EQ(NULL, memmem(core, sb.st_size, marker, MARKER_LEN));
	munmap(core, sb.st_size);
}

/* --- read-only mappings: nothing writes through them --- */

/*
 * In a process that maps the region read-only (PROT_READ of a writable fd,
 * or from an O_RDONLY fd): kernel reads from it work, every kernel write
 * into it fails with the errno of a read-only mapping, and its data stays.
 */
static int read_only_gup(const char *path, int rwfd, unsigned long u,
			 const char *direct_file, int use_ro_fd)
{
	char name[] = "/dev/shm/mshare-ro-XXXXXX", mem[64];
	struct iovec local, remote;
	char *r, *buf;
	int fd = rwfd, tfd, mfd, dfd, pp[2];

	buf = pattern_buf(64 * 1024, 21);
	if (!buf || pipe(pp))
		return 1;
	if (use_ro_fd) {
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return 2;
	}
	r = map_region(fd, u, PROT_READ);
	if (!r)
		return 3;
	/* Reads work, by the process and by the kernel. */
	if (bad_bytes(r, MB, 20))
		return 4;
	if (write(pp[1], r, 4096) != 4096)
		return 5;

	/* read() into it. */
	tfd = mkstemp(name);
	if (tfd < 0 || write(tfd, buf, 64 * 1024) != 64 * 1024)
		return 6;
	unlink(name);
	errno = 0;
	if (pread(tfd, r, 4096, 0) != -1 || errno != EFAULT)
		return 7;
	/* Where the host has no page yet, too. */
	errno = 0;
	if (pread(tfd, r + 5 * MB, 4096, 0) != -1 || errno != EFAULT)
		return 8;
	/* process_vm_writev() into it. */
	local.iov_base = buf;
	local.iov_len = 4096;
	remote.iov_base = r + PAGE;
	remote.iov_len = 4096;
	errno = 0;
	if (process_vm_writev(getpid(), &local, 1, &remote, 1, 0) != -1 || errno != EFAULT)
		return 9;
	/* /proc/PID/mem (forced write). */
	snprintf(mem, sizeof(mem), "/proc/%d/mem", getpid());
	mfd = open(mem, O_RDWR);
	if (mfd < 0)
		return 10;
	errno = 0;
	if (pwrite(mfd, buf, 4096, (unsigned long)r + 2 * PAGE) != -1 || errno != EIO)
		return 11;
	errno = 0;
	if (pwrite(mfd, buf, 4096, (unsigned long)r + 6 * MB) != -1 || errno != EIO)
		return 12;
	close(mfd);
	/* O_DIRECT read() into it: pinning for write fails. */
	dfd = open(direct_file, O_RDONLY | O_DIRECT);
	if (dfd < 0)
		return 13;
	errno = 0;
	if (pread(dfd, r + 3 * PAGE, 4096, 0) != -1 || errno != EFAULT)
		return 14;
	close(dfd);

	/* The data never changed. */
	if (bad_bytes(r, MB, 20))
		return 15;
	return 0;
}

static void read_only_test(struct __test_metadata *_metadata,
			   FIXTURE_DATA(acc) *self, int use_ro_fd)
{
	char file[160], *p, *buf;
	unsigned long i;
	int st, fd, zero = 1;
	pid_t pid;

	ASSERT_EQ(0, ext2_loop_setup(&self->e2, 32));
	snprintf(file, sizeof(file), "%s/src", self->e2.dir);
	buf = pattern_buf(64 * 1024, 21);
	ASSERT_NE(NULL, buf);
	fd = open(file, O_RDWR | O_CREAT, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(64 * 1024, write(fd, buf, 64 * 1024));
	ASSERT_EQ(0, fsync(fd));
	close(fd);

	p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, p);
	fill(p, MB, 20);
	pid = fork_child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		munmap(p, self->unit);
		_exit(read_only_gup(self->path, self->fd, self->unit, file, use_ro_fd));
	}
	ASSERT_EQ(0, wait_child(pid, &st, 60));
	EXPECT_TRUE(exited_with(st, 0)) TH_LOG("read-only sharer: status %#x", st);
	EXPECT_EQ(0, bad_bytes(p, MB, 20));
	/* Nothing was written where the host had no page either. */
	for (i = 0; i < 4096; i++)
		if (p[5 * MB + i] || p[6 * MB + i])
			zero = 0;
	EXPECT_TRUE(zero);
	munmap(p, self->unit);
	free(buf);
}

TEST_F_TIMEOUT(acc, read_only_prot_read, 90)
{
	read_only_test(_metadata, self, 0);
}

TEST_F_TIMEOUT(acc, read_only_fd, 90)
{
	read_only_test(_metadata, self, 1);
}

TEST_HARNESS_MAIN
