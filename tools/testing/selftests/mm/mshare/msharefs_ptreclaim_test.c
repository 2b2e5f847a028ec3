// SPDX-License-Identifier: GPL-2.0
/*
 * Page-table reclaim (mm/pt_reclaim.c): PTE tables that map nothing, or
 * (in private anonymous memory that is not mlocked) only the shared
 * zeropage, are freed
 *
 * - at once by the zap of MADV_DONTNEED, MADV_DONTNEED_LOCKED and
 *   MADV_REMOVE for the tables whose whole span the call zapped (unless
 *   vm.pt_reclaim_zap is 0);
 * - on request with madvise(MADV_PT_RECLAIM) and process_madvise(), which
 *   a region's sharer passes on to the region's host mm;
 * - for a region's host mm, by a work item after a truncation or hole
 *   punch of the object it maps, and by the "mshare-pt" shrinker.
 *
 * A process that keeps handing memory back with MADV_DONTNEED must not
 * keep a table for every 2 MiB it ever touched, and no table may go while
 * it holds anything a later access needs: data, swap entries, uffd-wp
 * state, huge pages. The last test has all of it race for 30 seconds and
 * checks that no written value is lost.
 *
 * Figures: VmPTE (/proc/self/status) is exact and changes at once; it
 * has none of a region's tables, which are its host's. PageTables
 * (/proc/meminfo) has them; it is system-wide, drops after an RCU grace
 * period, and is compared with SLACK_KB of slack. The pt_reclaim_*
 * counters of /proc/vmstat count tables exactly (system-wide too).
 */
#define _GNU_SOURCE
#include <linux/msharefs.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "../../kselftest_harness.h"
#include "mshare_util.h"

#define PAGE		4096UL
#define MB		(1024 * 1024UL)
#define GB		(1024 * MB)
#define SPAN		(2 * MB)	/* what one PTE table maps */
#define TABLE_KB	4L		/* what one PTE table costs */
#define RW		(PROT_READ | PROT_WRITE)
/*
 * Slack for PageTables, which other tasks move too (PT_SLACK_KB is what
 * an idle guest was seen to do; these tests measure over seconds, not
 * minutes).
 */
#define SLACK_KB	64L

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
#ifndef MADV_PT_RECLAIM
#define MADV_PT_RECLAIM		26
#endif
#ifndef __NR_pidfd_open
#define __NR_pidfd_open		434
#endif
#ifndef __NR_process_madvise
#define __NR_process_madvise	440
#endif

#define ZAP_SYSCTL	"/proc/sys/vm/pt_reclaim_zap"
#define THP_ENABLED	"/sys/kernel/mm/transparent_hugepage/enabled"

/* Bits of a /proc/PID/pagemap entry. */
#define PM_PRESENT	0x8000000000000000UL	/* bit 63 */
#define PM_SWAP		0x4000000000000000UL	/* bit 62 */
#define PM_UFFD_WP	0x0200000000000000UL	/* bit 57 */

/*
 * The data of the region test: 1 GiB, as the issue asks, 512 host PTE
 * tables (2 MiB of PageTables). Writing it through a region costs 20 to
 * 25 s on the debug kernel under TCG (MADV_POPULATE_WRITE, one shmem page
 * at a time), and the first sharer to read it back after the DONTNEED
 * as much again.
 */
#define REGION_DATA	(1024 * MB)
/* The memfd of the truncation test and the read-only sharer's mapping. */
#define FILE_DATA	(128 * MB)

static long vm_event(const char *name)
{
	return key_value("/proc/vmstat", name);
}

static long vmpte(void)
{
	return proc_status_kb("VmPTE");
}

static int set_zap(long on)
{
	return write_file(ZAP_SYSCTL, on ? "1\n" : "0\n");
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Private anonymous memory at a free address aligned to align, without
 * THP: the guest's THP setting is "always", and a huge page (or the huge
 * zeropage) would take the place of the PTE table the tests look at.
 */
static char *anon_map(unsigned long size, unsigned long align, int prot)
{
	char *want = free_aligned_range(size, align);
	char *p;

	if (!want)
		return NULL;
	p = mmap(want, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
		 MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (madvise(p, size, MADV_NOHUGEPAGE)) {
		munmap(p, size);
		return NULL;
	}
	return p;
}

/*
 * PageTables once it has fallen to target kB or below, or its last value
 * after secs seconds: tables are freed after an RCU grace period, and
 * those of a truncated object by a work item.
 */
static long pagetables_below(long target, int secs)
{
	long pt = meminfo_kb("PageTables");
	int i;

	for (i = 0; pt > target && i < secs * 10; i++) {
		usleep(100000);
		pt = meminfo_kb("PageTables");
	}
	return pt;
}

/*
 * echo 2 > /proc/sys/vm/drop_caches (which runs the shrinkers, the
 * "mshare-pt" one among them) from a child: 0, or -1 if it failed or has
 * not returned within secs. A shrinker that spins in the kernel would
 * otherwise hang the whole test program: the child is then killed and
 * left behind.
 */
static int shrink_slabs(int secs)
{
	int status, i;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(write_file("/proc/sys/vm/drop_caches", "2\n") ? 1 : 0);
	for (i = 0; i < secs * 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return exited_with(status, 0) ? 0 : -1;
		usleep(100000);
	}
	kill(pid, SIGKILL);
	return -1;
}

struct pm_count {
	unsigned long present, swapped, uffd_wp;
};

/* Count the states of n pages from p in /proc/self/pagemap: 0 or -1. */
static int pagemap_count(const void *p, unsigned long n, struct pm_count *c)
{
	unsigned long *ent, i;
	ssize_t len = n * sizeof(*ent);
	int fd, ret = -1;

	memset(c, 0, sizeof(*c));
	ent = malloc(len);
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (ent && fd >= 0 &&
	    pread(fd, ent, len, (unsigned long)p / PAGE * sizeof(*ent)) == len) {
		for (i = 0; i < n; i++) {
			c->present += !!(ent[i] & PM_PRESENT);
			c->swapped += !!(ent[i] & PM_SWAP);
			c->uffd_wp += !!(ent[i] & PM_UFFD_WP);
		}
		ret = 0;
	}
	if (fd >= 0)
		close(fd);
	free(ent);
	return ret;
}

/*
 * The sample of page i that the data checks use: 32 bytes of pattern i + 1
 * at an offset that moves with i. Checking whole pages byte by byte takes
 * minutes under TCG; a sample per page still catches a page lost,
 * replaced by a zero page or swapped with another one.
 */
#define SAMPLE	32UL

static char *sample(char *p, unsigned long i)
{
	return p + i * PAGE + (i % (PAGE / SAMPLE)) * SAMPLE;
}

static void fill_samples(char *p, unsigned long len)
{
	unsigned long i;

	for (i = 0; i < len / PAGE; i++)
		fill(sample(p, i), SAMPLE, i + 1);
}

static unsigned long bad_samples(char *p, unsigned long len)
{
	unsigned long i, bad = 0;

	for (i = 0; i < len / PAGE; i++)
		bad += bad_bytes(sample(p, i), SAMPLE, i + 1);
	return bad;
}

static long sys_process_madvise(int pidfd, const struct iovec *iov, unsigned long n, int advice)
{
	return syscall(__NR_process_madvise, pidfd, iov, n, advice, 0);
}

static int sys_pidfd_open(pid_t pid)
{
	return syscall(__NR_pidfd_open, pid, 0);
}

/*
 * The teardown runs in the parent of the test's process, so that the
 * sysctl, the huge page pool and swap are put back even if the test
 * process dies of a signal.
 */
FIXTURE(ptr) {
	char mnt[64];
	char path[96];
	unsigned long unit;
	int fd;			/* the region (one unit), open O_RDWR */
	long zap;		/* vm.pt_reclaim_zap at setup */
	long hugepages;		/* nr_hugepages to put back, or -1 */
	int zram;		/* swap on zram0 to take down */
};

FIXTURE_SETUP(ptr)
{
	self->hugepages = -1;
	self->zram = 0;
	if (geteuid())
		SKIP(return, "needs root");
	self->zap = read_long_file(ZAP_SYSCTL);
	if (self->zap < 0)
		SKIP(return, "no %s: a kernel without CONFIG_PT_RECLAIM", ZAP_SYSCTL);
	region_fixture_setup(_metadata, self->mnt, sizeof(self->mnt), self->path,
			     sizeof(self->path), &self->unit, &self->fd, 1);
	/* Sharers that drop to uid 65534 look the region up. */
	ASSERT_EQ(0, chmod(self->mnt, 0755));
	/* Every test starts from the default, whatever the guest had. */
	ASSERT_EQ(0, set_zap(1));
}

FIXTURE_TEARDOWN_PARENT(ptr)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld\n", self->zap);
	write_file(ZAP_SYSCTL, buf);
	if (self->hugepages >= 0)
		hugepages_set(self->hugepages);
	if (self->zram)
		zram_swap_off();
	unlink(self->path);
	umount_instance(self->mnt);
}

/*
 * Touch a page at each end of every 2 MiB step of [p, p + size) and drop
 * the step with MADV_DONTNEED right after, as an allocator that hands its
 * memory back does. Each step gets a PTE table of its own. (A fault costs
 * 40 to 100 us on the debug kernel under TCG: two per step, not 512.)
 */
static int touch_and_drop(char *p, unsigned long size)
{
	unsigned long off;

	for (off = 0; off < size; off += SPAN) {
		p[off] = 1;
		p[off + SPAN - PAGE] = 1;
		if (madvise(p + off, SPAN, MADV_DONTNEED))
			return -errno;
	}
	return 0;
}

/*
 * 1 GiB touched and dropped in 2 MiB steps: the zap frees each step's
 * table, so VmPTE ends where it started (but for the PMD and PUD tables
 * of the range, 4 kB each at most). With vm.pt_reclaim_zap=0 the 512
 * tables stay, as they do without page-table reclaim.
 */
TEST_F_TIMEOUT(ptr, dontneed_loop, 120)
{
	long pte0, pte1, pte2, zap0, zap1, zap2;
	char *p;

	p = anon_map(GB, GB, RW);
	ASSERT_NE(NULL, p);

	pte0 = vmpte();
	zap0 = vm_event("pt_reclaim_zap");
	ASSERT_EQ(0, touch_and_drop(p, GB));
	pte1 = vmpte();
	zap1 = vm_event("pt_reclaim_zap");

	ASSERT_EQ(0, set_zap(0));
	ASSERT_EQ(0, touch_and_drop(p, GB));
	pte2 = vmpte();
	zap2 = vm_event("pt_reclaim_zap");
	ASSERT_EQ(0, set_zap(1));

	TH_LOG("pt_reclaim_zap=1: VmPTE %ld -> %ld kB, pt_reclaim_zap +%ld",
	       pte0, pte1, zap1 - zap0);
	TH_LOG("pt_reclaim_zap=0: VmPTE %ld -> %ld kB (+%ld), pt_reclaim_zap +%ld",
	       pte1, pte2, pte2 - pte1, zap2 - zap1);
	ASSERT_GE(8, labs(pte1 - pte0));
	ASSERT_LE(GB / SPAN, zap1 - zap0);
	/* 512 tables of 4 kB each, kept. */
	ASSERT_LE(1900, pte2 - pte1);
	ASSERT_GE(2048 + 8, pte2 - pte1);

	/* And MADV_PT_RECLAIM frees what the zaps left. */
	ASSERT_EQ(0, madvise(p, GB, MADV_PT_RECLAIM));
	ASSERT_GE(8, labs(vmpte() - pte0));
	munmap(p, GB);
}

/*
 * 1 GiB of private anonymous memory only read maps the zeropage in 512
 * tables; MADV_PT_RECLAIM frees them all (MADV_POPULATE_READ of 1 GiB
 * takes about 6 s on the debug kernel under TCG). A later read maps zeros
 * again; a table that also maps one written page is kept, with its data.
 */
TEST_F_TIMEOUT(ptr, zeropage, 180)
{
	const unsigned long size = GB, pg = 5 * SPAN + 17 * PAGE;
	long pte0, pte1, pte2, pte3, pte4, zero0, zero1, mad0, mad1;
	unsigned long off, i;
	double t;
	char *p;

	p = anon_map(size, GB, RW);
	ASSERT_NE(NULL, p);

	pte0 = vmpte();
	t = now();
	ASSERT_EQ(0, madvise(p, size, MADV_POPULATE_READ));
	t = now() - t;
	pte1 = vmpte();
	TH_LOG("1 GiB read-faulted in %.1f s: VmPTE %ld -> %ld kB", t, pte0, pte1);
	ASSERT_LE(2048, pte1 - pte0);
	ASSERT_GE(2048 + 8, pte1 - pte0);

	zero0 = vm_event("pt_reclaim_zeropage");
	mad0 = vm_event("pt_reclaim_madvise");
	ASSERT_EQ(0, madvise(p, size, MADV_PT_RECLAIM));
	pte2 = vmpte();
	zero1 = vm_event("pt_reclaim_zeropage");
	mad1 = vm_event("pt_reclaim_madvise");
	TH_LOG("MADV_PT_RECLAIM: VmPTE %ld kB, pt_reclaim_madvise +%ld, pt_reclaim_zeropage +%ld",
	       pte2, mad1 - mad0, zero1 - zero0);
	ASSERT_GE(8, labs(pte2 - pte0));
	ASSERT_LE(size / SPAN, mad1 - mad0);
	ASSERT_LE(size / SPAN, zero1 - zero0);

	/* A read faults the zeropage back in, in a new table. */
	for (off = 0; off < size; off += SPAN)
		ASSERT_EQ(0, p[off + (off / SPAN) % (SPAN / PAGE) * PAGE]);
	for (i = 0; i < PAGE; i++)
		ASSERT_EQ(0, p[i]);
	pte3 = vmpte();
	ASSERT_LE(2048, pte3 - pte2);
	ASSERT_GE(2048 + 8, pte3 - pte2);

	/* One written page keeps its table, and the zeropage entries in it. */
	fill(p + pg, PAGE, 7);
	ASSERT_EQ(0, madvise(p, size, MADV_PT_RECLAIM));
	pte4 = vmpte();
	TH_LOG("with one page written: VmPTE %ld kB after MADV_PT_RECLAIM (%ld before the reads)",
	       pte4, pte2);
	ASSERT_EQ(pte2 + TABLE_KB, pte4);
	ASSERT_EQ(0, bad_bytes(p + pg, PAGE, 7));
	ASSERT_EQ(0, p[5 * SPAN + (5 % (SPAN / PAGE)) * PAGE]);
	ASSERT_EQ(pte4, vmpte());
	munmap(p, size);
}

/* --- Region sharers: processes that each map the region --- */

enum {
	CMD_POPULATE = 'p',	/* MADV_POPULATE_WRITE, then the samples */
	CMD_LINK = 'l',		/* read one sample: links the host's tables */
	CMD_DONTNEED = 'd',	/* MADV_DONTNEED of the data */
	CMD_CHECK = 'c',	/* check every sample */
};

/*
 * A sharer runs the commands the test writes to its pipe, and writes a
 * byte to the shared ready pipe after each (and once it has mapped the
 * region). It exits 0 when its pipe is closed, or 13 (open), 14 (mmap).
 */
struct sharer {
	pid_t pid;
	int cmd[2];
	int ret;		/* of the last command: 0 or the errno */
	unsigned long bad;	/* sample bytes found wrong by CMD_CHECK */
	double secs;		/* the last command took */
	long vmpte0;		/* VmPTE once the region is mapped */
	long vmpte;		/* VmPTE after the last command */
};

static void sharer_main(struct sharer *s, const char *path, unsigned long unit,
			unsigned long len, int ready)
{
	char *q, c;
	double t;
	int fd;

	close(s->cmd[1]);
	fd = open(path, O_RDWR);
	if (fd < 0)
		_exit(13);
	q = map_region(fd, unit, RW);
	if (!q)
		_exit(14);
	s->vmpte0 = proc_status_kb("VmPTE");
	child_ready(ready);
	while (read(s->cmd[0], &c, 1) == 1) {
		t = now();
		s->ret = 0;
		switch (c) {
		case CMD_POPULATE:
			if (madvise(q, len, MADV_POPULATE_WRITE))
				s->ret = errno;
			else
				fill_samples(q, len);
			break;
		case CMD_LINK:
			s->bad = bad_bytes(sample(q, 0), SAMPLE, 1);
			break;
		case CMD_DONTNEED:
			if (madvise(q, len, MADV_DONTNEED))
				s->ret = errno;
			break;
		case CMD_CHECK:
			s->bad = bad_samples(q, len);
			break;
		}
		s->secs = now() - t;
		s->vmpte = proc_status_kb("VmPTE");
		child_ready(ready);
	}
	_exit(0);
}

/* Have sharer s run cmd: 0 once it has, -1 if it did not within secs. */
static int sharer_do(struct sharer *s, char cmd, int ready, int secs)
{
	if (write(s->cmd[1], &cmd, 1) != 1)
		return -1;
	return read_n(ready, 1, secs) == 1 ? 0 : -1;
}

#define NSHARERS	8

/*
 * Eight processes share a region whose anonymous mapping one of them has
 * written. One sharer's MADV_DONTNEED of it, forwarded to the host, frees
 * the host's PTE tables at once: PageTables drops by 2 MiB per GiB (none
 * of it was in any sharer's VmPTE). The memory is shmem: every sharer
 * reads its data back, and the tables come back as they fault.
 */
TEST_F_TIMEOUT(ptr, region_dontneed, 240)
{
	const unsigned long len = REGION_DATA;
	const long tables = len / SPAN, tables_kb = tables * TABLE_KB;
	long pt0, pt1, pt2, pt3, zap0, zap1;
	int ready[2], j, k, status, failed = 0;
	struct sharer *sh;
	pid_t pid;

	ASSERT_EQ(0, mshare_anon(self->fd, 0, len));
	sh = shared_mem(NSHARERS * sizeof(*sh));
	ASSERT_NE(NULL, sh);
	ASSERT_EQ(0, pipe(ready));
	for (k = 0; k < NSHARERS; k++) {
		ASSERT_EQ(0, pipe(sh[k].cmd));
		/* Not straight into sh[k]: the child would write its 0 there. */
		pid = fork_child();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			/* Only the test may keep a sharer's pipe open. */
			for (j = 0; j < k; j++)
				close(sh[j].cmd[1]);
			sharer_main(&sh[k], self->path, self->unit, len, ready[1]);
		}
		sh[k].pid = pid;
		close(sh[k].cmd[0]);
	}
	ASSERT_EQ(NSHARERS, read_n(ready[0], NSHARERS, 60));

	pt0 = meminfo_kb("PageTables");
	ASSERT_EQ(0, sharer_do(&sh[0], CMD_POPULATE, ready[0], 200));
	ASSERT_EQ(0, sh[0].ret);
	TH_LOG("%lu MiB written through a sharer in %.1f s (%.0f s per GiB)",
	       len / MB, sh[0].secs, sh[0].secs * GB / len);
	TH_LOG("its VmPTE %ld -> %ld kB", sh[0].vmpte0, sh[0].vmpte);
	/* The host has the tables: the sharer links them, a few kB at most. */
	ASSERT_GT(32, sh[0].vmpte - sh[0].vmpte0);
	for (k = 1; k < NSHARERS; k++) {
		ASSERT_EQ(0, sharer_do(&sh[k], CMD_LINK, ready[0], 30));
		ASSERT_EQ(0, sh[k].bad);
	}
	pt1 = meminfo_kb("PageTables");

	zap0 = vm_event("pt_reclaim_zap");
	ASSERT_EQ(0, sharer_do(&sh[NSHARERS - 1], CMD_DONTNEED, ready[0], 60));
	ASSERT_EQ(0, sh[NSHARERS - 1].ret);
	zap1 = vm_event("pt_reclaim_zap");
	pt2 = pagetables_below(pt1 - tables_kb + SLACK_KB, 10);

	/* All of them at once: the first to fault a page maps it for all. */
	for (k = 0; k < NSHARERS; k++)
		ASSERT_EQ(1, write(sh[k].cmd[1], "c", 1));
	ASSERT_EQ(NSHARERS, read_n(ready[0], NSHARERS, 200));
	pt3 = meminfo_kb("PageTables");

	for (k = 0; k < NSHARERS; k++) {
		close(sh[k].cmd[1]);
		if (wait_child(sh[k].pid, &status, 30)) {
			failed++;
			TH_LOG("sharer %d did not exit", k);
		} else if (!exited_with(status, 0) || sh[k].bad) {
			failed++;
			TH_LOG("sharer %d: status %#x, %lu bad bytes", k, status, sh[k].bad);
		}
	}
	TH_LOG("PageTables %ld kB; written and linked by %d sharers %ld kB (+%ld)",
	       pt0, NSHARERS, pt1, pt1 - pt0);
	TH_LOG("one sharer's MADV_DONTNEED: %ld kB (-%ld, host tables %ld kB)",
	       pt2, pt1 - pt2, tables_kb);
	TH_LOG("pt_reclaim_zap +%ld", zap1 - zap0);
	TH_LOG("after every sharer read it back (%.1f s) %ld kB (+%ld)",
	       sh[0].secs, pt3, pt3 - pt2);
	ASSERT_EQ(0, failed);
	ASSERT_LE(tables_kb - SLACK_KB, pt1 - pt0);
	ASSERT_GE(tables_kb + SLACK_KB, pt1 - pt0);
	ASSERT_LE(tables, zap1 - zap0);
	ASSERT_LE(tables_kb - SLACK_KB, pt1 - pt2);
	ASSERT_GE(tables_kb + SLACK_KB, pt1 - pt2);
	ASSERT_LE(tables_kb - SLACK_KB, pt3 - pt2);
	ASSERT_GE(tables_kb + SLACK_KB, pt3 - pt2);
}

/*
 * A memfd mapped in a region and written through a sharer. Truncating it,
 * or punching a hole in it, zaps the host's entries: a work item frees the
 * host tables it emptied shortly after. With vm.pt_reclaim_zap=0 they
 * stay, until the "mshare-pt" shrinker frees them.
 */
TEST_F_TIMEOUT(ptr, truncate_and_shrinker, 180)
{
	const unsigned long len = FILE_DATA;
	const long tables = len / SPAN, tables_kb = tables * TABLE_KB;
	long pt0, pt1, pt2, pt3, pt4, pt5, pt6, zap0, zap1, zap2, zap3, zap4, shr0, shr1;
	long scan0, scan1;
	int mfd, dropped;
	char *p;

	mfd = memfd_create("ptreclaim", 0);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, len));
	ASSERT_EQ(0, mshare_file(self->fd, 0, len, RW, mfd));
	p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, p);

	/* Truncation. */
	ASSERT_EQ(0, madvise(p, len, MADV_POPULATE_WRITE));
	pt0 = meminfo_kb("PageTables");
	zap0 = vm_event("pt_reclaim_zap");
	ASSERT_EQ(0, ftruncate(mfd, 0));
	pt1 = pagetables_below(pt0 - tables_kb + SLACK_KB, 10);
	zap1 = vm_event("pt_reclaim_zap");
	TH_LOG("ftruncate: PageTables %ld -> %ld kB (-%ld, host tables %ld kB)",
	       pt0, pt1, pt0 - pt1, tables_kb);
	TH_LOG("ftruncate: pt_reclaim_zap +%ld", zap1 - zap0);
	ASSERT_LE(tables_kb - SLACK_KB, pt0 - pt1);
	ASSERT_LE(tables, zap1 - zap0);

	/* Hole punch. */
	ASSERT_EQ(0, ftruncate(mfd, len));
	ASSERT_EQ(0, madvise(p, len, MADV_POPULATE_WRITE));
	pt2 = meminfo_kb("PageTables");
	scan0 = vm_event("pt_reclaim_scanned");
	ASSERT_EQ(0, fallocate(mfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, len));
	pt3 = pagetables_below(pt2 - tables_kb + SLACK_KB, 10);
	zap2 = vm_event("pt_reclaim_zap");
	scan1 = vm_event("pt_reclaim_scanned");
	TH_LOG("hole punch: PageTables %ld -> %ld kB (-%ld), pt_reclaim_zap +%ld",
	       pt2, pt3, pt2 - pt3, zap2 - zap1);
	TH_LOG("hole punch: pt_reclaim_scanned +%ld", scan1 - scan0);
	/* Go on to the shrinker whatever this found: it is another path. */
	EXPECT_LE(tables_kb - SLACK_KB, pt2 - pt3);
	EXPECT_LE(tables, zap2 - zap1);

	/* The same with pt_reclaim_zap=0: the tables stay... */
	ASSERT_EQ(0, set_zap(0));
	ASSERT_EQ(0, madvise(p, len, MADV_POPULATE_WRITE));
	pt4 = meminfo_kb("PageTables");
	zap3 = vm_event("pt_reclaim_zap");
	ASSERT_EQ(0, fallocate(mfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, len));
	/* As long as the work item took above, and more. */
	sleep(3);
	pt5 = meminfo_kb("PageTables");
	zap4 = vm_event("pt_reclaim_zap");
	TH_LOG("pt_reclaim_zap=0, hole punch: PageTables %ld -> %ld kB after 3 s",
	       pt4, pt5);
	TH_LOG("pt_reclaim_zap=0, hole punch: pt_reclaim_zap +%ld", zap4 - zap3);
	ASSERT_GT(SLACK_KB, pt4 - pt5);
	ASSERT_GT(tables, zap4 - zap3);

	/* ...until the shrinker frees them. */
	shr0 = vm_event("pt_reclaim_shrinker");
	dropped = shrink_slabs(60);
	pt6 = pagetables_below(pt5 - tables_kb + SLACK_KB, 10);
	shr1 = vm_event("pt_reclaim_shrinker");
	ASSERT_EQ(0, set_zap(1));
	TH_LOG("echo 2 > drop_caches: %s", dropped ? "did not return within 60 s" : "done");
	TH_LOG("PageTables %ld -> %ld kB (-%ld), pt_reclaim_shrinker +%ld",
	       pt5, pt6, pt5 - pt6, shr1 - shr0);
	ASSERT_EQ(0, dropped);
	ASSERT_LE(tables_kb - SLACK_KB, pt5 - pt6);
	ASSERT_LE(tables, shr1 - shr0);
	munmap(p, self->unit);
	close(mfd);
}

/*
 * Page reclaim empties host tables that nobody zaps: a shmem page written
 * out to swap leaves a none entry in the host (the swap entry is in the
 * page cache, not in the table). MADV_PAGEOUT of the region, forwarded to
 * the host, does what memory pressure would; no zap spans a whole table,
 * so the tables stay until the "mshare-pt" shrinker frees them. The data
 * comes back from swap.
 */
TEST_F_TIMEOUT(ptr, shrinker_after_pageout, 120)
{
	const unsigned long len = 32 * MB;
	const long tables = len / SPAN, tables_kb = tables * TABLE_KB;
	long pt0, pt1, pt2, swap0, swap1, zap0, zap1, shr0, shr1;
	struct pm_count c;
	cpu_set_t cpus;
	int dropped;
	char *p;

	self->zram = zram_swap_on();
	if (!self->zram)
		SKIP(return, "no swap on zram0 (CONFIG_ZRAM, mkswap and swapon needed)");
	/*
	 * One CPU: a page faulted on another may still wait in that CPU's
	 * LRU batch, which MADV_PAGEOUT does not drain, and keep its table.
	 * (The harness runs each test in a child of its own.)
	 */
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(cpus), &cpus));
	ASSERT_EQ(0, mshare_anon(self->fd, 0, len));
	p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, p);
	fill_samples(p, len);

	pt0 = meminfo_kb("PageTables");
	swap0 = meminfo_kb("SwapFree");
	zap0 = vm_event("pt_reclaim_zap");
	ASSERT_EQ(0, madvise(p, len, MADV_PAGEOUT));
	swap1 = meminfo_kb("SwapFree");
	/* Every entry of the host's tables is none: none is present. */
	ASSERT_EQ(0, pagemap_count(p, len / PAGE, &c));
	TH_LOG("MADV_PAGEOUT: %lu of %lu pages still present", c.present, len / PAGE);
	ASSERT_EQ(0, c.present);
	/* Long enough for a work item, had a zap queued one. */
	sleep(2);
	pt1 = meminfo_kb("PageTables");
	zap1 = vm_event("pt_reclaim_zap");

	shr0 = vm_event("pt_reclaim_shrinker");
	dropped = shrink_slabs(60);
	pt2 = pagetables_below(pt1 - tables_kb + SLACK_KB, 10);
	shr1 = vm_event("pt_reclaim_shrinker");
	TH_LOG("MADV_PAGEOUT of %lu MiB: %ld kB to swap, PageTables %ld -> %ld kB",
	       len / MB, swap0 - swap1, pt0, pt1);
	TH_LOG("MADV_PAGEOUT: pt_reclaim_zap +%ld", zap1 - zap0);
	TH_LOG("echo 2 > drop_caches: PageTables %ld kB (-%ld, host tables %ld kB)",
	       pt2, pt1 - pt2, tables_kb);
	TH_LOG("echo 2 > drop_caches: pt_reclaim_shrinker +%ld", shr1 - shr0);
	ASSERT_EQ(0, dropped);
	/* Most of it went to swap, or the tables were never emptied. */
	ASSERT_LE((long)(len / 1024 / 2), swap0 - swap1);
	ASSERT_GT(SLACK_KB, labs(pt0 - pt1));
	ASSERT_LE(tables_kb - SLACK_KB, pt1 - pt2);
	ASSERT_LE(tables, shr1 - shr0);
	ASSERT_EQ(0, bad_samples(p, len));
	munmap(p, self->unit);
}

/*
 * The two ways into a region's host this file does not take elsewhere:
 * a manager's process_madvise(MADV_PT_RECLAIM) on a child's mapping of
 * the region (forwarded to the host: the empty host tables go), and
 * MADV_REMOVE through a writable mapping of the region (the host's zap
 * frees the tables it spanned whole at once, and the data is gone).
 */
TEST_F_TIMEOUT(ptr, region_process_madvise_and_remove, 120)
{
	/* Twice SLACK_KB of tables: the PageTables checks mean something. */
	const unsigned long len = 64 * MB;
	const long tables = len / SPAN, tables_kb = tables * TABLE_KB;
	long pt0, pt1, pt2, pt3, pt4, mad0, mad1, zap0, zap1;
	static const char zeros[SAMPLE];
	int go[2], ready[2], pidfd, status;
	unsigned long i, nonzero = 0;
	struct iovec iov;
	char *p;
	pid_t pid;

	ASSERT_EQ(0, mshare_anon(self->fd, 0, len));
	p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, p);

	/* Empty host tables: written, then dropped with reclaim off. */
	ASSERT_EQ(0, set_zap(0));
	fill_samples(p, len);
	pt0 = meminfo_kb("PageTables");
	ASSERT_EQ(0, madvise(p, len, MADV_DONTNEED));
	ASSERT_EQ(0, set_zap(1));
	pt1 = meminfo_kb("PageTables");
	ASSERT_GT(SLACK_KB, labs(pt0 - pt1));

	/* A child has the mapping too (fork); its manager reclaims through it. */
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(ready));
	pid = fork_child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		child_ready(ready[1]);
		child_wait(go[0]);
		_exit(0);
	}
	ASSERT_EQ(1, read_n(ready[0], 1, 30));
	iov.iov_base = p;
	iov.iov_len = len;
	mad0 = vm_event("pt_reclaim_madvise");
	pidfd = sys_pidfd_open(pid);
	ASSERT_LE(0, pidfd);
	ASSERT_EQ((long)len, sys_process_madvise(pidfd, &iov, 1, MADV_PT_RECLAIM));
	close(pidfd);
	pt2 = pagetables_below(pt1 - tables_kb + SLACK_KB, 10);
	mad1 = vm_event("pt_reclaim_madvise");
	release_n(go[1], 1);
	ASSERT_EQ(0, wait_child(pid, &status, 30));
	TH_LOG("process_madvise on a child's region mapping: PageTables %ld -> %ld kB",
	       pt1, pt2);
	TH_LOG("  (-%ld, host tables %ld kB), pt_reclaim_madvise +%ld",
	       pt1 - pt2, tables_kb, mad1 - mad0);
	ASSERT_TRUE(exited_with(status, 0));
	ASSERT_LE(tables_kb - SLACK_KB, pt1 - pt2);
	ASSERT_LE(tables, mad1 - mad0);

	/* MADV_REMOVE through the region: tables freed at once, data gone. */
	fill_samples(p, len);
	pt3 = meminfo_kb("PageTables");
	zap0 = vm_event("pt_reclaim_zap");
	ASSERT_EQ(0, madvise(p, len, MADV_REMOVE));
	zap1 = vm_event("pt_reclaim_zap");
	pt4 = pagetables_below(pt3 - tables_kb + SLACK_KB, 10);
	TH_LOG("MADV_REMOVE through the region: PageTables %ld -> %ld kB (-%ld)",
	       pt3, pt4, pt3 - pt4);
	TH_LOG("MADV_REMOVE: pt_reclaim_zap +%ld", zap1 - zap0);
	ASSERT_LE(tables_kb - SLACK_KB, pt3 - pt4);
	ASSERT_LE(tables, zap1 - zap0);
	for (i = 0; i < len / PAGE; i++)
		nonzero += !!memcmp(sample(p, i), zeros, SAMPLE);
	TH_LOG("MADV_REMOVE: %lu of %lu pages not zero", nonzero, len / PAGE);
	ASSERT_EQ(0, nonzero);
	munmap(p, self->unit);
}

/*
 * MADV_REMOVE frees the blocks of a shared mapping, and at once the tables
 * whose whole span it zapped, as MADV_DONTNEED does; what it removed
 * reads back as zeros.
 */
TEST_F_TIMEOUT(ptr, madv_remove, 60)
{
	static const char zeros[SAMPLE];
	long pte1, pte2, zap0, zap1;
	unsigned long i, nonzero = 0;
	int mfd;
	char *p;

	mfd = memfd_create("ptreclaim-remove", 0);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, 2 * SPAN));
	p = free_aligned_range(2 * SPAN, SPAN);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(p, mmap(p, 2 * SPAN, RW, MAP_SHARED | MAP_FIXED_NOREPLACE, mfd, 0));
	ASSERT_EQ(0, madvise(p, 2 * SPAN, MADV_POPULATE_WRITE));
	fill_samples(p, 2 * SPAN);
	pte1 = vmpte();
	zap0 = vm_event("pt_reclaim_zap");
	ASSERT_EQ(0, madvise(p, 2 * SPAN, MADV_REMOVE));
	pte2 = vmpte();
	zap1 = vm_event("pt_reclaim_zap");
	for (i = 0; i < 2 * SPAN / PAGE; i++)
		nonzero += !!memcmp(sample(p, i), zeros, SAMPLE);
	TH_LOG("MADV_REMOVE of 2 tables: VmPTE %ld -> %ld kB, pt_reclaim_zap +%ld",
	       pte1, pte2, zap1 - zap0);
	ASSERT_EQ(pte1 - 2 * TABLE_KB, pte2);
	ASSERT_LE(2, zap1 - zap0);
	ASSERT_EQ(0, nonzero);
	munmap(p, 2 * SPAN);
	close(mfd);
}

/* --- What is never freed --- */

/*
 * A table that maps one written page is kept, by MADV_PT_RECLAIM and
 * after zaps of everything else in it; its neighbour that only maps the
 * zeropage goes.
 */
TEST_F_TIMEOUT(ptr, not_freed_present_page, 60)
{
	long pte1, pte2, pte3;
	char *p;

	p = anon_map(2 * SPAN, SPAN, RW);
	ASSERT_NE(NULL, p);
	fill(p + 3 * PAGE, PAGE, 11);
	ASSERT_EQ(0, madvise(p + SPAN, SPAN, MADV_POPULATE_READ));
	pte1 = vmpte();
	ASSERT_EQ(0, madvise(p, 2 * SPAN, MADV_PT_RECLAIM));
	pte2 = vmpte();
	ASSERT_EQ(0, madvise(p, 3 * PAGE, MADV_DONTNEED));
	ASSERT_EQ(0, madvise(p + 4 * PAGE, SPAN - 4 * PAGE, MADV_DONTNEED));
	ASSERT_EQ(0, madvise(p, 2 * SPAN, MADV_PT_RECLAIM));
	pte3 = vmpte();
	TH_LOG("VmPTE %ld kB; MADV_PT_RECLAIM %ld kB; zaps around the page and again %ld kB",
	       pte1, pte2, pte3);
	ASSERT_EQ(pte1 - TABLE_KB, pte2);
	ASSERT_EQ(pte2, pte3);
	ASSERT_EQ(0, bad_bytes(p + 3 * PAGE, PAGE, 11));
	munmap(p, 2 * SPAN);
}

/* A table whose only entries are swap entries is kept; the data comes back. */
TEST_F_TIMEOUT(ptr, not_freed_swap, 60)
{
	const unsigned long n = 64;
	struct pm_count c0, c1;
	long pte1, pte2;
	unsigned long i;
	char *p;

	self->zram = zram_swap_on();
	if (!self->zram)
		SKIP(return, "no swap on zram0 (CONFIG_ZRAM, mkswap and swapon needed)");
	p = anon_map(SPAN, SPAN, RW);
	ASSERT_NE(NULL, p);
	for (i = 0; i < n; i++)
		fill(p + i * PAGE, PAGE, 100 + i);
	ASSERT_EQ(0, madvise(p, SPAN, MADV_PAGEOUT));
	ASSERT_EQ(0, pagemap_count(p, SPAN / PAGE, &c0));
	pte1 = vmpte();
	ASSERT_EQ(0, madvise(p, SPAN, MADV_PT_RECLAIM));
	pte2 = vmpte();
	ASSERT_EQ(0, pagemap_count(p, SPAN / PAGE, &c1));
	TH_LOG("%lu pages paged out: %lu swapped, %lu present", n, c0.swapped, c0.present);
	TH_LOG("MADV_PT_RECLAIM: VmPTE %ld -> %ld kB, %lu swapped", pte1, pte2, c1.swapped);
	/* Only swap entries may hold the table, or this proves nothing. */
	ASSERT_EQ(n, c0.swapped);
	ASSERT_EQ(0, c0.present);
	ASSERT_EQ(pte1, pte2);
	ASSERT_EQ(n, c1.swapped);
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, bad_bytes(p + i * PAGE, PAGE, 100 + i));
	munmap(p, SPAN);
}

static int uffd_open(unsigned long features, unsigned long *got)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	int uffd;

	uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0)
		return -1;
	if (ioctl(uffd, UFFDIO_API, &api)) {
		close(uffd);
		return -1;
	}
	*got = api.features;
	return uffd;
}

static int uffd_wp(int uffd, void *p, unsigned long len)
{
	struct uffdio_register reg = {
		.range = { .start = (unsigned long)p, .len = len },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	struct uffdio_writeprotect wp = {
		.range = { .start = (unsigned long)p, .len = len },
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};

	if (ioctl(uffd, UFFDIO_REGISTER, &reg) || ioctl(uffd, UFFDIO_WRITEPROTECT, &wp))
		return -errno;
	return 0;
}

static int uffd_unregister(int uffd, void *p, unsigned long len)
{
	struct uffdio_range r = { .start = (unsigned long)p, .len = len };

	return ioctl(uffd, UFFDIO_UNREGISTER, &r) ? -errno : 0;
}

/*
 * MADV_PT_RECLAIM of a range under userfaultfd: 0 or the errno. No table
 * under userfaultfd may go, and a range with nothing else in it may be
 * refused as a whole (EINVAL), as one of hugetlb is.
 */
static int reclaim_uffd(void *p, unsigned long len)
{
	return madvise(p, len, MADV_PT_RECLAIM) ? errno : 0;
}

/*
 * userfaultfd write protection lives in the page tables:
 * - on anonymous memory, write-protected zeropage entries (a read fault
 *   under userfaultfd maps the zeropage; clearing it would lose the
 *   protection) keep their table;
 * - on shmem, MADV_DONTNEED leaves uffd-wp markers where it zapped
 *   write-protected pages: neither the zap nor MADV_PT_RECLAIM frees the
 *   table.
 * Once the range is unregistered (which clears the bits and markers), the
 * same tables go: it was userfaultfd that kept them.
 */
TEST_F_TIMEOUT(ptr, not_freed_uffd_wp, 60)
{
	const unsigned long n = SPAN / PAGE;
	long pte1, pte2, pte3, pte4, pte5;
	struct pm_count c0, c1, c2;
	unsigned long features;
	int uffd, mfd, err;
	char *p, *q;

	uffd = uffd_open(UFFD_FEATURE_WP_HUGETLBFS_SHMEM, &features);
	if (uffd < 0)
		SKIP(return, "no userfaultfd with shmem write protection");

	/* Anonymous: write-protected zeropage entries. */
	p = anon_map(SPAN, SPAN, RW);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, madvise(p, SPAN, MADV_POPULATE_READ));
	ASSERT_EQ(0, uffd_wp(uffd, p, SPAN));
	pte1 = vmpte();
	err = reclaim_uffd(p, SPAN);
	pte2 = vmpte();
	ASSERT_EQ(0, pagemap_count(p, n, &c0));
	ASSERT_EQ(0, uffd_unregister(uffd, p, SPAN));
	ASSERT_EQ(0, madvise(p, SPAN, MADV_PT_RECLAIM));
	pte3 = vmpte();
	TH_LOG("anon, zeropage write-protected: MADV_PT_RECLAIM %s", err ? strerror(err) : "0");
	TH_LOG("anon, zeropage write-protected: VmPTE %ld -> %ld kB, %lu uffd-wp",
	       pte1, pte2, c0.uffd_wp);
	TH_LOG("anon, unregistered: VmPTE %ld kB", pte3);
	ASSERT_TRUE(!err || err == EINVAL);
	ASSERT_EQ(pte1, pte2);
	ASSERT_EQ(n, c0.uffd_wp);
	ASSERT_EQ(pte1 - TABLE_KB, pte3);
	munmap(p, SPAN);

	/* shmem: markers left by MADV_DONTNEED. */
	mfd = memfd_create("ptreclaim-uffd", 0);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, SPAN));
	q = free_aligned_range(SPAN, SPAN);
	ASSERT_NE(NULL, q);
	ASSERT_EQ(q, mmap(q, SPAN, RW, MAP_SHARED | MAP_FIXED_NOREPLACE, mfd, 0));
	ASSERT_EQ(0, madvise(q, SPAN, MADV_POPULATE_WRITE));
	fill_samples(q, SPAN);
	ASSERT_EQ(0, uffd_wp(uffd, q, SPAN));
	pte1 = vmpte();
	ASSERT_EQ(0, madvise(q, SPAN, MADV_DONTNEED));
	pte2 = vmpte();
	ASSERT_EQ(0, pagemap_count(q, n, &c1));
	err = reclaim_uffd(q, SPAN);
	pte3 = vmpte();
	ASSERT_EQ(0, uffd_unregister(uffd, q, SPAN));
	ASSERT_EQ(0, pagemap_count(q, n, &c2));
	ASSERT_EQ(0, madvise(q, SPAN, MADV_PT_RECLAIM));
	pte4 = vmpte();
	ASSERT_EQ(0, bad_samples(q, SPAN));
	pte5 = vmpte();
	TH_LOG("shmem, write-protected: VmPTE %ld kB; MADV_DONTNEED %ld kB", pte1, pte2);
	TH_LOG("shmem, after MADV_DONTNEED: %lu present, %lu uffd-wp", c1.present, c1.uffd_wp);
	TH_LOG("shmem, write-protected: MADV_PT_RECLAIM %s, VmPTE %ld kB",
	       err ? strerror(err) : "0", pte3);
	TH_LOG("unregistered (%lu markers left): MADV_PT_RECLAIM %ld kB; data read back %ld kB",
	       c2.uffd_wp, pte4, pte5);
	ASSERT_EQ(0, c1.present);
	ASSERT_EQ(n, c1.uffd_wp);
	ASSERT_EQ(pte1, pte2);
	ASSERT_TRUE(!err || err == EINVAL);
	ASSERT_EQ(pte1, pte3);
	ASSERT_EQ(0, c2.uffd_wp);
	ASSERT_EQ(pte1 - TABLE_KB, pte4);
	munmap(q, SPAN);
	close(mfd);
	close(uffd);
}

/* hugetlb tables are never freed: MADV_PT_RECLAIM of hugetlb alone is EINVAL. */
TEST_F_TIMEOUT(ptr, not_freed_hugetlb, 60)
{
	long free0, pte1, pte2;
	unsigned long i;
	char *h;
	int ret;

	self->hugepages = hugepages_get();
	ASSERT_LE(0, self->hugepages);
	ASSERT_EQ(0, hugepages_set(self->hugepages + 2));
	free0 = proc_field_kb("/proc/meminfo", "HugePages_Free");
	if (free0 < 2)
		SKIP(return, "could not get 2 huge pages (HugePages_Free %ld)", free0);
	h = free_aligned_range(2 * SPAN, SPAN);
	ASSERT_NE(NULL, h);
	ASSERT_EQ(h, mmap(h, 2 * SPAN, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
			  MAP_FIXED_NOREPLACE, -1, 0));
	for (i = 0; i < 2; i++)
		fill(h + i * SPAN, PAGE, 30 + i);
	pte1 = vmpte();
	errno = 0;
	ret = madvise(h, 2 * SPAN, MADV_PT_RECLAIM);
	pte2 = vmpte();
	TH_LOG("MADV_PT_RECLAIM of hugetlb only: %d (%s); VmPTE %ld -> %ld kB",
	       ret, strerror(errno), pte1, pte2);
	ASSERT_EQ(-1, ret);
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(pte1, pte2);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, bad_bytes(h + i * SPAN, PAGE, 30 + i));
	munmap(h, 2 * SPAN);
}

/* A THP's PMD entry is a leaf, not a table: MADV_PT_RECLAIM leaves it. */
TEST_F_TIMEOUT(ptr, not_freed_thp, 60)
{
	long thp1, thp2, pte0, pte1, pte2;
	char buf[128], *p;
	unsigned long i;

	if (read_file(THP_ENABLED, buf, sizeof(buf)) <= 0 || strstr(buf, "[never]"))
		SKIP(return, "THP not enabled");
	p = free_aligned_range(2 * SPAN, SPAN);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(p, mmap(p, 2 * SPAN, RW, MAP_PRIVATE | MAP_ANONYMOUS |
			  MAP_FIXED_NOREPLACE, -1, 0));
	ASSERT_EQ(0, madvise(p, 2 * SPAN, MADV_HUGEPAGE));
	pte0 = vmpte();
	for (i = 0; i < 2; i++)
		fill(p + i * SPAN + PAGE, PAGE, 40 + i);
	thp1 = smaps_kb(p, "AnonHugePages");
	if (thp1 < 2 * 2048)
		SKIP(return, "no THP could be allocated (AnonHugePages %ld kB)", thp1);
	/* Each THP deposits a table for its split: it counts in VmPTE. */
	pte1 = vmpte();
	ASSERT_EQ(0, madvise(p, 2 * SPAN, MADV_PT_RECLAIM));
	pte2 = vmpte();
	thp2 = smaps_kb(p, "AnonHugePages");
	TH_LOG("2 THPs written: AnonHugePages %ld kB, VmPTE %ld -> %ld kB", thp1, pte0, pte1);
	TH_LOG("MADV_PT_RECLAIM: AnonHugePages %ld kB, VmPTE %ld kB", thp2, pte2);
	ASSERT_EQ(thp1, thp2);
	ASSERT_EQ(pte1, pte2);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, bad_bytes(p + i * SPAN + PAGE, PAGE, 40 + i));
	munmap(p, 2 * SPAN);
}

/*
 * mlock() promises that nothing faults: the tables of a locked range stay,
 * with data and with zeropage entries alike. MADV_DONTNEED_LOCKED drops
 * locked pages, and then frees their tables as MADV_DONTNEED does.
 */
TEST_F_TIMEOUT(ptr, not_freed_mlock, 60)
{
	long pte1, pte2, pte3, pte4, pte5, pte6, lck, zap0, zap1;
	struct pm_count c;
	unsigned long i;
	char *p, *r;

	/* Locked data: mlock() write-faults a private writable range. */
	p = anon_map(2 * SPAN, SPAN, RW);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, mlock(p, 2 * SPAN));
	for (i = 0; i < 2; i++)
		fill(p + i * SPAN + 5 * PAGE, PAGE, 20 + i);
	/* Locked zeropage: a read-only private range only read-faults. */
	r = anon_map(2 * SPAN, SPAN, PROT_READ);
	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, mlock(r, 2 * SPAN));
	ASSERT_EQ(0, pagemap_count(r, 2 * SPAN / PAGE, &c));
	lck = proc_status_kb("VmLck");

	pte1 = vmpte();
	ASSERT_EQ(0, madvise(p, 2 * SPAN, MADV_PT_RECLAIM));
	pte2 = vmpte();
	ASSERT_EQ(0, madvise(r, 2 * SPAN, MADV_PT_RECLAIM));
	pte3 = vmpte();
	ASSERT_EQ(0, munlock(r, 2 * SPAN));
	ASSERT_EQ(0, madvise(r, 2 * SPAN, MADV_PT_RECLAIM));
	pte4 = vmpte();
	TH_LOG("VmLck %ld kB, %lu zeropage entries locked, VmPTE %ld kB", lck, c.present, pte1);
	TH_LOG("MADV_PT_RECLAIM: of data %ld kB, of zeropage %ld kB, once unlocked %ld kB",
	       pte2, pte3, pte4);
	ASSERT_LE(8192, lck);
	ASSERT_EQ(2 * SPAN / PAGE, c.present);
	ASSERT_EQ(pte1, pte2);
	ASSERT_EQ(pte1, pte3);
	ASSERT_EQ(pte1 - 2 * TABLE_KB, pte4);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, bad_bytes(p + i * SPAN + 5 * PAGE, PAGE, 20 + i));

	zap0 = vm_event("pt_reclaim_zap");
	pte5 = vmpte();
	ASSERT_EQ(0, madvise(p, 2 * SPAN, MADV_DONTNEED_LOCKED));
	pte6 = vmpte();
	zap1 = vm_event("pt_reclaim_zap");
	TH_LOG("MADV_DONTNEED_LOCKED: VmPTE %ld -> %ld kB, pt_reclaim_zap +%ld",
	       pte5, pte6, zap1 - zap0);
	ASSERT_EQ(pte5 - 2 * TABLE_KB, pte6);
	ASSERT_LE(2, zap1 - zap0);
	munmap(p, 2 * SPAN);
	munmap(r, 2 * SPAN);
}

/* --- Errors and callers --- */

struct pm_target {
	pid_t pid;
	void *addr;
	unsigned long len;
};

/* process_madvise(MADV_PT_RECLAIM) of another process: 0 or the errno. */
static int reclaim_other(void *arg)
{
	struct pm_target *t = arg;
	struct iovec iov = { .iov_base = t->addr, .iov_len = t->len };
	int pidfd = sys_pidfd_open(t->pid);

	if (pidfd < 0)
		return 200;
	if (sys_process_madvise(pidfd, &iov, 1, MADV_PT_RECLAIM) >= 0)
		return 0;
	return errno;
}

/*
 * As uid 65534: process_madvise() of a process of its own, which it may
 * ptrace, still needs CAP_SYS_NICE. The target is a child made dumpable
 * (a process that changed its uids is not, and could not be ptraced).
 */
static int reclaim_own_child(void *arg)
{
	struct pm_target t = *(struct pm_target *)arg;
	int ret, status;

	prctl(PR_SET_DUMPABLE, 1);
	t.pid = fork();
	if (t.pid < 0)
		return 201;
	if (t.pid == 0) {
		pause();
		_exit(0);
	}
	ret = reclaim_other(&t);
	kill(t.pid, SIGKILL);
	waitpid(t.pid, &status, 0);
	return ret;
}

/* The status field of process pid in kB, or -1. */
static long pid_status_kb(pid_t pid, const char *field)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	return proc_field_kb(path, field);
}

/*
 * What MADV_PT_RECLAIM refuses: an unaligned start (EINVAL), a range with
 * nothing mapped (ENOMEM), a range partly unmapped (ENOMEM, the mapped
 * part done). process_madvise() on itself and, with CAP_SYS_NICE, on
 * another process work; without, they fail as for any advice.
 */
TEST_F_TIMEOUT(ptr, errors, 60)
{
	long pte1, pte2, pte3, pte4, mad0, mad1, cpte1, cpte2;
	struct iovec iov;
	struct pm_target t;
	int ret, pidfd, go[2], ready[2], status;
	char *p;
	pid_t pid;

	/* Two tables mapped, the next two spans free. */
	p = free_aligned_range(4 * SPAN, SPAN);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(p, mmap(p, 2 * SPAN, RW, MAP_PRIVATE | MAP_ANONYMOUS |
			  MAP_FIXED_NOREPLACE, -1, 0));
	ASSERT_EQ(0, madvise(p, 2 * SPAN, MADV_NOHUGEPAGE));

	errno = 0;
	ASSERT_EQ(-1, madvise(p + 1, SPAN, MADV_PT_RECLAIM));
	ASSERT_EQ(EINVAL, errno);
	errno = 0;
	ASSERT_EQ(-1, madvise(p + 2 * SPAN, 2 * SPAN, MADV_PT_RECLAIM));
	ASSERT_EQ(ENOMEM, errno);

	ASSERT_EQ(0, madvise(p, 2 * SPAN, MADV_POPULATE_READ));
	pte1 = vmpte();
	mad0 = vm_event("pt_reclaim_madvise");
	errno = 0;
	ret = madvise(p, 4 * SPAN, MADV_PT_RECLAIM);
	ASSERT_EQ(-1, ret);
	ASSERT_EQ(ENOMEM, errno);
	pte2 = vmpte();
	mad1 = vm_event("pt_reclaim_madvise");
	TH_LOG("partly unmapped: ENOMEM, VmPTE %ld -> %ld kB, pt_reclaim_madvise +%ld",
	       pte1, pte2, mad1 - mad0);
	ASSERT_EQ(pte1 - 2 * TABLE_KB, pte2);
	ASSERT_LE(2, mad1 - mad0);

	/* process_madvise() on itself. */
	ASSERT_EQ(0, madvise(p, 2 * SPAN, MADV_POPULATE_READ));
	pte3 = vmpte();
	pidfd = sys_pidfd_open(getpid());
	ASSERT_LE(0, pidfd);
	iov.iov_base = p;
	iov.iov_len = 2 * SPAN;
	ASSERT_EQ((long)(2 * SPAN), sys_process_madvise(pidfd, &iov, 1, MADV_PT_RECLAIM));
	pte4 = vmpte();
	close(pidfd);
	TH_LOG("process_madvise on itself: VmPTE %ld -> %ld kB", pte3, pte4);
	ASSERT_EQ(pte3 - 2 * TABLE_KB, pte4);

	/* On a child, as root; then as uid 65534. */
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(ready));
	pid = fork_child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (madvise(p, 2 * SPAN, MADV_POPULATE_READ))
			_exit(1);
		child_ready(ready[1]);
		child_wait(go[0]);
		_exit(0);
	}
	ASSERT_EQ(1, read_n(ready[0], 1, 30));
	cpte1 = pid_status_kb(pid, "VmPTE");
	t.pid = pid;
	t.addr = p;
	t.len = 2 * SPAN;
	pidfd = sys_pidfd_open(pid);
	ASSERT_LE(0, pidfd);
	ASSERT_EQ((long)(2 * SPAN), sys_process_madvise(pidfd, &iov, 1, MADV_PT_RECLAIM));
	close(pidfd);
	cpte2 = pid_status_kb(pid, "VmPTE");
	TH_LOG("process_madvise by root on a child: its VmPTE %ld -> %ld kB", cpte1, cpte2);
	ASSERT_EQ(cpte1 - 2 * TABLE_KB, cpte2);

	/* Another user's process: no ptrace access (mm_access()). */
	ret = run_as_user(reclaim_other, &t);
	TH_LOG("uid %d on root's process: %s", UNPRIV_UID, strerror(ret));
	ASSERT_EQ(EACCES, ret);
	/* Its own process: ptrace access, but no CAP_SYS_NICE. */
	ret = run_as_user(reclaim_own_child, &t);
	TH_LOG("uid %d on a process of its own: %s", UNPRIV_UID, strerror(ret));
	ASSERT_EQ(EPERM, ret);

	release_n(go[1], 1);
	ASSERT_EQ(0, wait_child(pid, &status, 30));
	ASSERT_TRUE(exited_with(status, 0));
	munmap(p, 2 * SPAN);
}

struct ro_arg {
	const char *path;
	unsigned long unit;
	unsigned long len;
};

/*
 * As uid 65534, through a read-only mapping of the region: MADV_DONTNEED,
 * which costs the other sharers, is refused; MADV_PT_RECLAIM, which frees
 * nothing but empty tables, is not. 0, or where it went wrong.
 */
static int ro_sharer_reclaim(void *arg)
{
	struct ro_arg *a = arg;
	char *q;
	int fd;

	fd = open(a->path, O_RDONLY);
	if (fd < 0)
		return 1;
	q = map_region(fd, a->unit, PROT_READ);
	if (!q)
		return 2;
	if (madvise(q, a->len, MADV_DONTNEED) != -1 || errno != EACCES)
		return 3;
	if (madvise(q, a->len, MADV_PT_RECLAIM))
		return 100 + errno;
	return 0;
}

/*
 * A read-only sharer running as another user frees the host's empty
 * tables (left by a MADV_DONTNEED with vm.pt_reclaim_zap=0).
 */
TEST_F_TIMEOUT(ptr, read_only_sharer, 120)
{
	const unsigned long len = FILE_DATA;
	const long tables = len / SPAN, tables_kb = tables * TABLE_KB;
	struct ro_arg a = { .path = self->path, .unit = self->unit, .len = len };
	long pt0, pt1, pt2, mad0, mad1;
	char *p;
	int ret;

	ASSERT_EQ(0, mshare_anon(self->fd, 0, len));
	ASSERT_EQ(0, fchmod(self->fd, 0644));
	p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, madvise(p, len, MADV_POPULATE_WRITE));
	ASSERT_EQ(0, set_zap(0));
	pt0 = meminfo_kb("PageTables");
	ASSERT_EQ(0, madvise(p, len, MADV_DONTNEED));
	pt1 = meminfo_kb("PageTables");
	ASSERT_EQ(0, set_zap(1));

	mad0 = vm_event("pt_reclaim_madvise");
	ret = run_as_user(ro_sharer_reclaim, &a);
	mad1 = vm_event("pt_reclaim_madvise");
	pt2 = pagetables_below(pt1 - tables_kb + SLACK_KB, 10);
	TH_LOG("MADV_DONTNEED with pt_reclaim_zap=0: PageTables %ld -> %ld kB", pt0, pt1);
	TH_LOG("read-only sharer, uid %d: returned %d; pt_reclaim_madvise +%ld",
	       UNPRIV_UID, ret, mad1 - mad0);
	TH_LOG("PageTables %ld kB (-%ld, host tables %ld kB)", pt2, pt1 - pt2, tables_kb);
	ASSERT_GT(SLACK_KB, pt0 - pt1);
	ASSERT_EQ(0, ret);
	ASSERT_LE(tables, mad1 - mad0);
	ASSERT_LE(tables_kb - SLACK_KB, pt1 - pt2);
	munmap(p, self->unit);
}

/* --- The race --- */

#define RACE_SECS	30
#define RACE_LEN	(16 * MB)		/* 8 tables */
#define RACE_PAGES	(RACE_LEN / PAGE)
#define RACE_WRITERS	3

enum race_role {
	A_STORE, A_GUP, A_PREAD, A_DROP, A_RECLAIM, A_WALK,
	R_STORE, R_GUP, R_PREAD, R_DROP, R_RECLAIM, R_WALK,
	SHRINK, NR_ROLES
};

static const char * const role_name[NR_ROLES] = {
	"anon writer, stores", "anon writer, GUP", "anon writer, pread",
	"anon MADV_DONTNEED", "anon MADV_PT_RECLAIM", "anon smaps+pagemap",
	"region writer, stores", "region writer, GUP", "region writer, pread",
	"region MADV_DONTNEED", "region MADV_PT_RECLAIM", "region smaps+pagemap",
	"drop_caches",
};

struct race_stats {
	long iters;
	long dropped;		/* read zero after a drop of the page: allowed */
	long lost;		/* read zero, and no drop of the page since the write */
	long corrupt;		/* read neither the value written last nor zero */
	long errors;		/* calls that failed */
	int last_err;
	unsigned long page, want, got;	/* the first lost or corrupt value */
};

struct race_ctl {
	int stop;		/* set once the race is over */
	pid_t pid[NR_ROLES];
	char *addr[NR_ROLES];	/* where the role's process maps the range */
	struct race_stats st[NR_ROLES];
};

static unsigned long xorshift(unsigned long *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int stopped(int *stop)
{
	return __atomic_load_n(stop, __ATOMIC_RELAXED);
}

static void race_error(struct race_stats *st)
{
	st->errors++;
	st->last_err = errno;
}

/*
 * A writer owns the pages i of the range with i % RACE_WRITERS == id. It
 * reads back the value it wrote to a page last, then writes one that names
 * the page and counts up:
 *
 * - on a region nothing may drop a value (MADV_DONTNEED of a region drops
 *   mappings, the shmem behind keeps the data): it must read back;
 * - on private anonymous memory MADV_DONTNEED drops pages, so a zero is a
 *   drop if one was made after the write. The dropper counts begin[i] up
 *   before its call and end[i] after; the writer samples both before it
 *   writes, and a zero is allowed if begin[i] moved since, or if a drop
 *   was under way at the write (end[i] != begin[i]).
 *
 * Anything else is a lost write: page-table reclaim may free tables, never
 * a value. The value is read back at once (a write that went to a table
 * being freed reads back as zero, and a drop in so short a window is rare)
 * and again at the writer's next visit of the page.
 *
 * The three writers go through different paths: stores and loads (page
 * faults); process_vm_writev() (GUP) and vmsplice() (GUP-fast); pread()
 * into the page (a fault in uaccess) and /proc/self/mem (GUP of another
 * mm's memory).
 */
struct writer {
	struct race_stats *st;
	int *stop;
	char *base;
	int id;
	unsigned int *begin, *end;	/* drop counts per page, or NULL */
	unsigned long *last;		/* the value written last, per page */
	unsigned int *wb, *we;		/* begin and end sampled at that write */
	unsigned long seq, rnd;
	int pipefd[2];
	int tmpfd, memfd;
};

static int writer_init(struct writer *w, struct race_ctl *rc, int role, char *base,
		       unsigned int *begin, unsigned int *end)
{
	memset(w, 0, sizeof(*w));
	w->st = &rc->st[role];
	w->stop = &rc->stop;
	w->base = base;
	w->id = (role - (begin ? A_STORE : R_STORE)) % RACE_WRITERS;
	w->begin = begin;
	w->end = end;
	w->rnd = getpid() * 7919UL + role * 104729UL + 1;
	w->last = calloc(RACE_PAGES, sizeof(*w->last));
	w->wb = calloc(RACE_PAGES, sizeof(*w->wb));
	w->we = calloc(RACE_PAGES, sizeof(*w->we));
	w->tmpfd = memfd_create("ptreclaim-race", 0);
	w->memfd = open("/proc/self/mem", O_RDWR);
	if (!w->last || !w->wb || !w->we || w->tmpfd < 0 || w->memfd < 0 ||
	    pipe(w->pipefd))
		return -1;
	return 0;
}

static unsigned long *page_word(char *base, unsigned long i)
{
	return (unsigned long *)(base + i * PAGE) + i % (PAGE / sizeof(long));
}

static int writer_read(struct writer *w, unsigned long *addr, unsigned long *val)
{
	struct iovec iov = { .iov_base = addr, .iov_len = sizeof(*val) };

	switch (w->id) {
	case 1:
		if (vmsplice(w->pipefd[1], &iov, 1, 0) != sizeof(*val) ||
		    read(w->pipefd[0], val, sizeof(*val)) != sizeof(*val))
			return -1;
		return 0;
	case 2:
		if (pread(w->memfd, val, sizeof(*val), (unsigned long)addr) != sizeof(*val))
			return -1;
		return 0;
	default:
		*val = __atomic_load_n(addr, __ATOMIC_RELAXED);
		return 0;
	}
}

static int writer_write(struct writer *w, unsigned long *addr, unsigned long val)
{
	struct iovec local = { .iov_base = &val, .iov_len = sizeof(val) };
	struct iovec remote = { .iov_base = addr, .iov_len = sizeof(val) };

	switch (w->id) {
	case 1:
		if (process_vm_writev(getpid(), &local, 1, &remote, 1, 0) != sizeof(val))
			return -1;
		return 0;
	case 2:
		if (pwrite(w->tmpfd, &val, sizeof(val), 0) != sizeof(val) ||
		    pread(w->tmpfd, addr, sizeof(val), 0) != sizeof(val))
			return -1;
		return 0;
	default:
		__atomic_store_n(addr, val, __ATOMIC_RELAXED);
		return 0;
	}
}

static void writer_check(struct writer *w, unsigned long i, unsigned long got)
{
	struct race_stats *st = w->st;

	if (got == w->last[i])
		return;
	if (!got && w->begin &&
	    (__atomic_load_n(&w->begin[i], __ATOMIC_SEQ_CST) != w->wb[i] ||
	     w->we[i] != w->wb[i])) {
		st->dropped++;
		w->last[i] = 0;
		return;
	}
	if (got)
		st->corrupt++;
	else
		st->lost++;
	if (st->lost + st->corrupt == 1) {
		st->page = i;
		st->want = w->last[i];
		st->got = got;
	}
	/* Go on from what is there: one loss is counted once. */
	w->last[i] = got;
}

static void writer_step(struct writer *w, unsigned long i)
{
	unsigned long *addr = page_word(w->base, i);
	unsigned long got, val;

	if (writer_read(w, addr, &got)) {
		race_error(w->st);
		return;
	}
	writer_check(w, i, got);
	if (!(++w->seq & 0xffffffffUL))
		w->seq++;
	val = (i + 1) << 32 | (w->seq & 0xffffffffUL);
	if (w->begin) {
		w->we[i] = __atomic_load_n(&w->end[i], __ATOMIC_SEQ_CST);
		w->wb[i] = __atomic_load_n(&w->begin[i], __ATOMIC_SEQ_CST);
	}
	if (writer_write(w, addr, val)) {
		/* Whether it landed is not known: go on from what is there. */
		race_error(w->st);
		if (!writer_read(w, addr, &got))
			w->last[i] = got;
		return;
	}
	w->last[i] = val;
	w->st->iters++;
	/*
	 * And at once, while a drop is unlikely to have come between: a
	 * write that went to a table being freed reads back as zero.
	 */
	if (writer_read(w, addr, &got))
		race_error(w->st);
	else
		writer_check(w, i, got);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	unsigned long i, got;

	while (!stopped(w->stop))
		writer_step(w, xorshift(&w->rnd) % (RACE_PAGES / RACE_WRITERS) *
			       RACE_WRITERS + w->id);
	/* A last look at every page it owns. */
	for (i = w->id; i < RACE_PAGES; i += RACE_WRITERS) {
		if (writer_read(w, page_word(w->base, i), &got))
			race_error(w->st);
		else
			writer_check(w, i, got);
	}
	return NULL;
}

/*
 * MADV_DONTNEED of one or two whole tables (which the zap frees) or of
 * part of one (which it leaves, for MADV_PT_RECLAIM and the shrinker).
 */
struct dropper {
	struct race_stats *st;
	int *stop;
	char *base;
	unsigned int *begin, *end;	/* NULL on a region */
	unsigned long rnd;
};

static void *dropper_main(void *arg)
{
	struct dropper *d = arg;
	unsigned long x, first, n, i;

	while (!stopped(d->stop)) {
		x = xorshift(&d->rnd);
		if (x & 1) {
			first = (x >> 1) % (RACE_LEN / SPAN) * (SPAN / PAGE);
			n = ((x >> 8) % 2 + 1) * (SPAN / PAGE);
		} else {
			first = (x >> 1) % RACE_PAGES;
			n = (x >> 20) % (SPAN / PAGE) + 1;
		}
		if (first + n > RACE_PAGES)
			n = RACE_PAGES - first;
		for (i = 0; d->begin && i < n; i++)
			__atomic_add_fetch(&d->begin[first + i], 1, __ATOMIC_SEQ_CST);
		if (madvise(d->base + first * PAGE, n * PAGE, MADV_DONTNEED))
			race_error(d->st);
		for (i = 0; d->end && i < n; i++)
			__atomic_add_fetch(&d->end[first + i], 1, __ATOMIC_SEQ_CST);
		d->st->iters++;
		usleep(1000 + (x >> 40) % 4000);
	}
	return NULL;
}

/*
 * Read-fault a few pages (on anonymous memory, where a span was dropped,
 * the zeropage) and MADV_PT_RECLAIM the whole range or one table.
 */
struct reclaimer {
	struct race_stats *st;
	int *stop;
	char *base;
	unsigned long rnd;
};

static void *reclaimer_main(void *arg)
{
	struct reclaimer *r = arg;
	unsigned long x, k;

	while (!stopped(r->stop)) {
		x = xorshift(&r->rnd);
		for (k = 0; k < 16; k++)
			(void)__atomic_load_n(r->base + xorshift(&r->rnd) % RACE_LEN,
					       __ATOMIC_RELAXED);
		if (x & 1) {
			if (madvise(r->base, RACE_LEN, MADV_PT_RECLAIM))
				race_error(r->st);
		} else {
			if (madvise(r->base + (x >> 1) % (RACE_LEN / SPAN) * SPAN, SPAN,
				    MADV_PT_RECLAIM))
				race_error(r->st);
		}
		r->st->iters++;
		usleep(200 + (x >> 40) % 1000);
	}
	return NULL;
}

/*
 * Walk the writers' page tables as /proc/PID/smaps and /proc/PID/pagemap
 * do. A writer that has exited once the race is over is no error.
 */
struct walker {
	struct race_stats *st;
	int *stop;
	int n;
	pid_t pid[RACE_WRITERS];
	char *addr[RACE_WRITERS];
};

static int walk_one(pid_t pid, char *addr)
{
	static char buf[65536];
	const ssize_t len = RACE_PAGES * sizeof(unsigned long);
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	do {
		n = read(fd, buf, sizeof(buf));
	} while (n > 0);
	close(fd);
	if (n < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = pread(fd, buf, len, (unsigned long)addr / PAGE * sizeof(unsigned long));
	close(fd);
	return n == len ? 0 : -1;
}

static void *walker_main(void *arg)
{
	struct walker *k = arg;
	int j;

	while (!stopped(k->stop)) {
		for (j = 0; j < k->n; j++)
			if (walk_one(k->pid[j], k->addr[j]) && !stopped(k->stop))
				race_error(k->st);
		k->st->iters++;
	}
	return NULL;
}

/*
 * The anonymous side: one process, its threads all on one private range.
 * Exits 0, or 1 if it could not set up.
 */
static int race_anon(struct race_ctl *rc, int ready, int go)
{
	struct writer w[RACE_WRITERS];
	struct dropper d;
	struct reclaimer r;
	struct walker k;
	pthread_t th[RACE_WRITERS + 3];
	unsigned int *begin, *end;
	char *base;
	int i;

	base = anon_map(RACE_LEN, SPAN, RW);
	begin = calloc(RACE_PAGES, sizeof(*begin));
	end = calloc(RACE_PAGES, sizeof(*end));
	if (!base || !begin || !end)
		return 1;
	for (i = 0; i < RACE_WRITERS; i++)
		if (writer_init(&w[i], rc, A_STORE + i, base, begin, end))
			return 1;
	d = (struct dropper){ &rc->st[A_DROP], &rc->stop, base, begin, end, getpid() };
	r = (struct reclaimer){ &rc->st[A_RECLAIM], &rc->stop, base, getpid() + 1UL };
	k = (struct walker){ .st = &rc->st[A_WALK], .stop = &rc->stop, .n = 1 };
	k.pid[0] = getpid();
	k.addr[0] = base;
	child_ready(ready);
	child_wait(go);
	for (i = 0; i < RACE_WRITERS; i++)
		if (pthread_create(&th[i], NULL, writer_main, &w[i]))
			return 1;
	if (pthread_create(&th[i++], NULL, dropper_main, &d) ||
	    pthread_create(&th[i++], NULL, reclaimer_main, &r) ||
	    pthread_create(&th[i++], NULL, walker_main, &k))
		return 1;
	while (i--)
		pthread_join(th[i], NULL);
	return 0;
}

/*
 * A sharer of the region with one role. Exits 0, or 1 if it could not set
 * up.
 */
static int race_region(struct race_ctl *rc, int role, int fd, unsigned long unit,
		       int ready, int go)
{
	struct writer w;
	struct dropper d;
	struct reclaimer r;
	struct walker k;
	char *base;
	int j;

	base = map_region(fd, unit, RW);
	if (!base)
		return 1;
	rc->addr[role] = base;
	if (role <= R_PREAD && writer_init(&w, rc, role, base, NULL, NULL))
		return 1;
	child_ready(ready);
	child_wait(go);
	switch (role) {
	case R_DROP:
		d = (struct dropper){ &rc->st[role], &rc->stop, base, NULL, NULL, getpid() };
		dropper_main(&d);
		break;
	case R_RECLAIM:
		r = (struct reclaimer){ &rc->st[role], &rc->stop, base, getpid() };
		reclaimer_main(&r);
		break;
	case R_WALK:
		k = (struct walker){ .st = &rc->st[role], .stop = &rc->stop, .n = RACE_WRITERS };
		for (j = 0; j < RACE_WRITERS; j++) {
			k.pid[j] = rc->pid[R_STORE + j];
			k.addr[j] = rc->addr[R_STORE + j];
		}
		walker_main(&k);
		break;
	default:
		writer_main(&w);
		break;
	}
	return 0;
}

/*
 * Every 100 ms: run the shrinkers; every second, turn the freeing on zap
 * off or on, so that empty tables are left for MADV_PT_RECLAIM and the
 * shrinker half of the time.
 */
static int race_shrink(struct race_ctl *rc, int ready, int go)
{
	struct race_stats *st = &rc->st[SHRINK];

	child_ready(ready);
	child_wait(go);
	while (!stopped(&rc->stop)) {
		if (write_file("/proc/sys/vm/drop_caches", "2\n"))
			race_error(st);
		if (st->iters % 10 == 0 && set_zap(st->iters / 10 % 2 == 0))
			race_error(st);
		st->iters++;
		usleep(100000);
	}
	return 0;
}

/* Reap pid within secs, killing it then: its status, or -1 if it stays. */
static int reap(pid_t pid, int secs)
{
	int status, i;

	for (i = 0; i < secs * 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(100000);
	}
	kill(pid, SIGKILL);
	for (i = 0; i < 50; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(100000);
	}
	return -1;
}

static const char * const race_counters[] = {
	"pt_reclaim_zap", "pt_reclaim_madvise", "pt_reclaim_shrinker",
	"pt_reclaim_zeropage", "pt_reclaim_scanned",
};

#define NR_COUNTERS	ARRAY_SIZE(race_counters)

/*
 * For 30 seconds, on a private anonymous range (threads of one process)
 * and on a region (one process per role): writers fault pages in and
 * write them through stores, GUP and uaccess, while others MADV_DONTNEED
 * and MADV_PT_RECLAIM the same range, read-fault zeropages into it, walk
 * its tables through /proc/PID/smaps and pagemap, the shrinkers run
 * every 100 ms and vm.pt_reclaim_zap goes off and on every second. No
 * written value may be lost (see struct writer), nothing may fail or hang,
 * and page-table reclaim must have freed tables on the way, on zap and on
 * request, zeropage ones among them.
 */
TEST_F_TIMEOUT(ptr, race, 150)
{
	long before[NR_COUNTERS], after[NR_COUNTERS];
	int go[2], ready[2], role, nproc = 0, status, failed = 0;
	pid_t procs[NR_ROLES];
	struct race_ctl *rc;
	unsigned int j;

	rc = shared_mem(sizeof(*rc));
	ASSERT_NE(NULL, rc);
	ASSERT_EQ(0, mshare_anon(self->fd, 0, RACE_LEN));
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(ready));

	procs[nproc] = fork_child();
	ASSERT_LE(0, procs[nproc]);
	if (procs[nproc] == 0)
		_exit(race_anon(rc, ready[1], go[0]));
	for (role = A_STORE; role <= A_WALK; role++)
		rc->pid[role] = procs[nproc];
	nproc++;
	for (role = R_STORE; role <= SHRINK; role++) {
		procs[nproc] = fork_child();
		ASSERT_LE(0, procs[nproc]);
		if (procs[nproc] == 0) {
			if (role == SHRINK)
				_exit(race_shrink(rc, ready[1], go[0]));
			_exit(race_region(rc, role, self->fd, self->unit, ready[1], go[0]));
		}
		rc->pid[role] = procs[nproc++];
	}
	ASSERT_EQ(nproc, read_n(ready[0], nproc, 60));

	for (j = 0; j < NR_COUNTERS; j++)
		before[j] = vm_event(race_counters[j]);
	release_n(go[1], nproc);
	sleep(RACE_SECS);
	__atomic_store_n(&rc->stop, 1, __ATOMIC_RELAXED);
	for (j = 0; j < (unsigned int)nproc; j++) {
		status = reap(procs[j], 60);
		if (status == -1 || !exited_with(status, 0)) {
			failed++;
			TH_LOG("process %d (%s): %s %#x", procs[j],
			       j ? role_name[R_STORE + j - 1] : "anon",
			       status == -1 ? "stuck in the kernel, status" : "status", status);
		}
	}
	for (j = 0; j < NR_COUNTERS; j++)
		after[j] = vm_event(race_counters[j]);
	set_zap(1);

	for (role = 0; role < NR_ROLES; role++) {
		struct race_stats *st = &rc->st[role];

		TH_LOG("%-22s %7ld iterations, %ld drops seen, %ld lost, %ld corrupt",
		       role_name[role], st->iters, st->dropped, st->lost, st->corrupt);
		if (st->errors)
			TH_LOG("%-22s %ld errors, the last %s", role_name[role], st->errors,
			       strerror(st->last_err));
		if (st->lost || st->corrupt)
			TH_LOG("%-22s first: page %lu held %#lx, not %#lx", role_name[role],
			       st->page, st->got, st->want);
	}
	for (j = 0; j < NR_COUNTERS; j++)
		TH_LOG("%s +%ld", race_counters[j], after[j] - before[j]);

	ASSERT_EQ(0, failed);
	for (role = 0; role < NR_ROLES; role++) {
		EXPECT_LT(0, rc->st[role].iters) TH_LOG("%s did nothing", role_name[role]);
		EXPECT_EQ(0, rc->st[role].lost) TH_LOG("%s", role_name[role]);
		EXPECT_EQ(0, rc->st[role].corrupt) TH_LOG("%s", role_name[role]);
		EXPECT_EQ(0, rc->st[role].errors) TH_LOG("%s", role_name[role]);
	}
	/* Tables were freed on zap and on request while it all went on. */
	EXPECT_LT(0, after[0] - before[0]);
	EXPECT_LT(0, after[1] - before[1]);
	EXPECT_LT(0, after[3] - before[3]);
}

TEST_HARNESS_MAIN
