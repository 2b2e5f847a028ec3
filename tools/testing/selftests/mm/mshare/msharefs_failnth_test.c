// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation failures on a region's paths, injected one at a time with the
 * per-task /proc/thread-self/fail-nth (Documentation/fault-injection/
 * fault-injection.rst), as syzkaller does: for n = 1, 2, 3, ... the n-th
 * allocation (slab or page) of the task from the write of n on fails. An
 * attempt where fail-nth reads back 0 had its failure injected; the first
 * attempt where it does not went through every allocation of the
 * operation, so n - 1 is how many the operation made.
 *
 * Every injected attempt must succeed (the failure is retried or
 * tolerated) or fail with a clean errno: ENOMEM; EAGAIN for fork; ENOSPC
 * where hugetlb_file_setup() or shmem_zero_setup() gets no inode, as for
 * mmap(MAP_HUGETLB) and mmap(MAP_SHARED | MAP_ANONYMOUS);
 * EFAULT for a fault through process_vm_writev(), which turns every GUP
 * error into it. A fault by a store may also end in SIGBUS, SIGSEGV or an
 * OOM kill; here each is retried (pagefault_out_of_memory(), which prints
 * "Huh VM_FAULT_OOM leaked out to the #PF handler", ratelimited).
 *
 * No attempt may leave partial state behind: no region file after a
 * failed create (or one that unlink removes), the region counts of statfs
 * back where they were, an unsized region after a failed sizing, the host
 * mappings of fdinfo unchanged after a failed MSHAREFS_CREATE_MAPPING or
 * MSHAREFS_UNMAP, "attached" unchanged after a failed mmap(), "linked" and
 * "pud_links" consistent after a fault, a fork or page-table reclaim, and
 * all 0 once the mappings are gone. Each operation is then done again
 * without injection and must work. Leaks are kmemleak's to find (the test
 * runner scans after all tests).
 *
 * MSHAREFS_CREATE_MAPPING and MSHAREFS_UNMAP do their mmap() and munmap()
 * of the host mm in a kworker (mshare_op_run() in mm/mshare.c); the
 * caller's fail-nth count goes with the op and comes back, so the host's
 * VMAs, maple-tree nodes, the shmem file of anonymous memory and the file
 * references an unmap takes are covered too. A failed unmap may leave the
 * mapping cut at the ends of its range, as munmap() may: nothing is
 * unmapped, but fdinfo counts the pieces.
 *
 * Counts vary a little from run to run: they include what the debug
 * kernel allocates on the side (kmemleak's object for each slab object,
 * KASAN's stack depot now and then), new slab pages, and, after fork(),
 * the copy-on-write faults of the parent's stack before it reads fail-nth
 * back. The stack is touched before each loop so that the other
 * operations take no such fault.
 *
 * Setup, restored at the end: fail-nth forces the failure whatever the
 * probability, interval, times and space of the fault attributes
 * (should_fail_ex() in lib/fault-inject.c), but failslab and
 * fail_page_alloc filter first: by default they never fail an allocation
 * that may reclaim (ignore-gfp-wait), a highmem one such as a user page
 * (ignore-gfp-highmem) or an order-0 page (min-order 1). The test clears
 * those filters, and sets verbose to 0 so that no failure dumps a stack.
 * The probability stays 0: no other task sees a failure.
 */
#define _GNU_SOURCE
#include <linux/msharefs.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <sys/uio.h>

#include "../../kselftest_harness.h"
#include "mshare_util.h"

#define PAGE		4096UL
#define MB		(1024 * 1024UL)
#define RW		(PROT_READ | PROT_WRITE)
#define MAGIC		0x6d73686172656661UL
#define MAGIC0		0x6661696c6e746821UL

/* Word i of region memory at p, accessed once: a load or store of it. */
#define WORD(p, i)	(((volatile unsigned long *)(p))[i])

/* The most attempts per operation: it must complete within them. */
#define FN_MAX		2000
#define NR_ERRNO	256

#define FAIL_NTH	"/proc/thread-self/fail-nth"
#define DEBUGFS		"/sys/kernel/debug"
#define ZAP_SYSCTL	"/proc/sys/vm/pt_reclaim_zap"

/* verbose of the fault attributes: 0, no report of what failed. */
#ifndef FN_VERBOSE
#define FN_VERBOSE	"0"
#endif

/* The fault-injection settings the test changes, and their values. */
static const struct knob {
	const char *path;
	const char *val;
} knobs[] = {
	{ DEBUGFS "/failslab/ignore-gfp-wait", "N" },
	{ DEBUGFS "/failslab/verbose", FN_VERBOSE },
	{ DEBUGFS "/fail_page_alloc/ignore-gfp-wait", "N" },
	{ DEBUGFS "/fail_page_alloc/ignore-gfp-highmem", "N" },
	{ DEBUGFS "/fail_page_alloc/min-order", "0" },
	{ DEBUGFS "/fail_page_alloc/verbose", FN_VERBOSE },
	/* Not set: an injected failure decrements it unless it is -1. */
	{ DEBUGFS "/failslab/times", NULL },
	{ DEBUGFS "/fail_page_alloc/times", NULL },
};

#define NR_KNOBS	ARRAY_SIZE(knobs)

/* A region's figures in its fdinfo (see msharefs_fdinfo_test.c). */
struct rinfo {
	long size, mappings, mapped, rss_shmem, pagetables;
	long attached, linked, pud_links, pt_freed;
};

static int rinfo_get(int fd, struct rinfo *ri)
{
	static const char *const keys[] = {
		"size", "mappings", "mapped", "rss_shmem", "pagetables",
		"attached", "linked", "pud_links", "pt_freed",
	};
	long *vals[] = {
		&ri->size, &ri->mappings, &ri->mapped, &ri->rss_shmem,
		&ri->pagetables, &ri->attached, &ri->linked, &ri->pud_links,
		&ri->pt_freed,
	};
	char path[64], buf[16384], *line, *save;
	unsigned int seen = 0, i;
	ssize_t n, len = 0;
	int pfd;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	pfd = open(path, O_RDONLY);
	if (pfd < 0)
		return -1;
	while ((n = read(pfd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	close(pfd);
	if (n < 0)
		return -1;
	buf[len] = '\0';
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');

		if (!colon)
			continue;
		*colon = '\0';
		for (i = 0; i < ARRAY_SIZE(keys); i++) {
			if (!strcmp(line, keys[i])) {
				*vals[i] = strtol(colon + 1, NULL, 10);
				seen |= 1U << i;
			}
		}
	}
	return seen == (1U << ARRAY_SIZE(keys)) - 1 ? 0 : -1;
}

/*
 * Arm fail-nth: the n-th allocation of this task from now on fails. Nothing
 * but the operation may run between fn_arm() and fn_disarm(): only plain
 * system calls on file descriptors opened before.
 */
static inline void fn_arm(int fd, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	if (write(fd, buf, len) != len)
		abort();
}

/* Disarm fail-nth: 1 if the failure was injected (it read back 0), else 0. */
static inline int fn_disarm(int fd)
{
	char buf[16] = "";
	long left;

	if (pread(fd, buf, sizeof(buf) - 1, 0) <= 0)
		abort();
	left = strtol(buf, NULL, 10);
	if (write(fd, "0", 1) != 1)
		abort();
	return left == 0;
}

/*
 * Touch the stack the loops will use, and errno, so that the operations
 * under injection take no copy-on-write fault of their own: this process
 * is a fork of the harness's.
 */
static void prefault_stack(void)
{
	char buf[256 * 1024];

	memset(buf, 0, sizeof(buf));
	/* The stores must be made: the buffer escapes. */
	asm("" : : "r" (buf) : "memory");
	errno = 0;
}

/* What the attempts of one operation came to. */
struct fn_stats {
	int sites;		/* allocations the operation makes */
	int injected;		/* attempts that had a failure injected */
	int ok;			/* of those, the ones that succeeded anyway */
	int err[NR_ERRNO];	/* the ones that failed, by errno */
	int sig[NSIG];		/* faults: the children killed, by signal */
};

static const char *err_name(int e)
{
	switch (e) {
	case ENOMEM: return "ENOMEM";
	case EAGAIN: return "EAGAIN";
	case EINTR: return "EINTR";
	case EFAULT: return "EFAULT";
	case EINVAL: return "EINVAL";
	case ENOSPC: return "ENOSPC";
	case EEXIST: return "EEXIST";
	case ENOENT: return "ENOENT";
	}
	return "errno";
}

static const char *sig_name(int s)
{
	switch (s) {
	case SIGBUS: return "SIGBUS";
	case SIGSEGV: return "SIGSEGV";
	case SIGKILL: return "SIGKILL";
	}
	return "signal";
}

static void fn_log(struct __test_metadata *_metadata, const char *what,
		   const struct fn_stats *st)
{
	char buf[512];
	int len, i;

	len = snprintf(buf, sizeof(buf), "%d succeeded", st->ok);
	for (i = 0; i < NR_ERRNO; i++)
		if (st->err[i])
			len += snprintf(buf + len, sizeof(buf) - len, ", %d %s(%d)",
					st->err[i], err_name(i), i);
	for (i = 0; i < NSIG; i++)
		if (st->sig[i])
			len += snprintf(buf + len, sizeof(buf) - len,
					", %d killed by %s(%d)", st->sig[i],
					sig_name(i), i);
	TH_LOG("%s: %d allocation sites; %d failures injected: %s",
	       what, st->sites, st->injected, buf);
}

/* Count an injected attempt that returned err (0: it succeeded). */
static void fn_count(struct fn_stats *st, int err)
{
	st->injected++;
	if (!err)
		st->ok++;
	else
		st->err[err < NR_ERRNO ? err : 0]++;
}

FIXTURE(failnth) {
	char mnt[64];
	char path[128];
	unsigned long unit;
	int fnfd;
	char saved[NR_KNOBS][32];
	int nr_saved;
	long zap;
};

static void knobs_restore(FIXTURE_DATA(failnth) *self)
{
	while (self->nr_saved > 0) {
		self->nr_saved--;
		write_file(knobs[self->nr_saved].path, self->saved[self->nr_saved]);
	}
}

FIXTURE_SETUP(failnth)
{
	unsigned int i;
	int err;

	self->fnfd = -1;
	self->zap = -1;
	if (access(FAIL_NTH, W_OK))
		SKIP(return, "no %s (CONFIG_FAULT_INJECTION)", FAIL_NTH);
	for (i = 0; i < NR_KNOBS; i++)
		if (access(knobs[i].path, W_OK))
			SKIP(return, "no %s (CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC, debugfs)",
			     knobs[i].path);
	ASSERT_EQ(0, mount_instance(self->mnt, sizeof(self->mnt)));
	snprintf(self->path, sizeof(self->path), "%s/region", self->mnt);
	self->unit = mshare_unit(self->mnt);
	ASSERT_NE(0, self->unit);
	self->fnfd = open(FAIL_NTH, O_RDWR);
	ASSERT_LE(0, self->fnfd);
	self->zap = read_long_file(ZAP_SYSCTL);
	for (i = 0; i < NR_KNOBS; i++) {
		char *s = self->saved[i];

		ASSERT_LT(0, read_file(knobs[i].path, s, sizeof(self->saved[i])));
		s[strcspn(s, "\n")] = '\0';
	}
	/* Teardown does not run after a failed setup: undo it here. */
	for (i = 0, err = 0; i < NR_KNOBS && !err; i++) {
		self->nr_saved = i + 1;
		if (knobs[i].val)
			err = write_file(knobs[i].path, knobs[i].val);
	}
	if (err)
		knobs_restore(self);
	ASSERT_EQ(0, err) TH_LOG("%s: %s", knobs[i - 1].path, strerror(-err));
	prefault_stack();
}

FIXTURE_TEARDOWN(failnth)
{
	char buf[32];

	if (self->fnfd >= 0) {
		if (write(self->fnfd, "0", 1) != 1)
			;
		close(self->fnfd);
	}
	knobs_restore(self);
	if (self->zap >= 0) {
		snprintf(buf, sizeof(buf), "%ld\n", self->zap);
		write_file(ZAP_SYSCTL, buf);
	}
	umount_instance(self->mnt);
}

/* statfs() f_ffree of the instance: what nr_regions= leaves. */
static long regions_free(const char *mnt)
{
	struct statfs sf;

	return statfs(mnt, &sf) ? -1 : (long)sf.f_ffree;
}

/* statfs() f_bavail of the instance: what size= leaves, in pages. */
static long bytes_free(const char *mnt)
{
	struct statfs sf;

	return statfs(mnt, &sf) ? -1 : (long)sf.f_bavail;
}

/* A new region at self->path, sized to one unit if sized: fd or -errno. */
static int new_region(FIXTURE_DATA(failnth) *self, int sized)
{
	return region_create(self->mnt, "region", sized ? self->unit : 0);
}

static void drop_region(struct __test_metadata *_metadata,
			FIXTURE_DATA(failnth) *self, int fd)
{
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(0, unlink(self->path));
}

/* (1) Creating a region: open(O_CREAT | O_EXCL). */
TEST_F(failnth, create)
{
	long free0 = regions_free(self->mnt);
	struct fn_stats st = { };
	struct stat sb;
	unsigned int n;
	int fd, err, inj;

	ASSERT_LT(0, free0);
	for (n = 1; n <= FN_MAX; n++) {
		fn_arm(self->fnfd, n);
		fd = open(self->path, O_RDWR | O_CREAT | O_EXCL, 0600);
		err = fd < 0 ? errno : 0;
		inj = fn_disarm(self->fnfd);
		if (!inj) {
			ASSERT_LE(0, fd);
			break;
		}
		fn_count(&st, err);
		if (fd >= 0) {
			ASSERT_EQ(0, close(fd));
		} else {
			EXPECT_EQ(ENOMEM, err) TH_LOG("n=%u", n);
			/* No region, or one that unlink takes away. */
			if (stat(self->path, &sb)) {
				ASSERT_EQ(ENOENT, errno);
				ASSERT_EQ(free0, regions_free(self->mnt));
				continue;
			}
			TH_LOG("n=%u: open failed with %s, the region is there",
			       n, err_name(err));
		}
		ASSERT_EQ(0, unlink(self->path));
		ASSERT_EQ(free0, regions_free(self->mnt));
	}
	ASSERT_GE(FN_MAX, n);
	st.sites = n - 1;
	/* The region created without injection is a working one. */
	EXPECT_EQ(free0 - 1, regions_free(self->mnt));
	ASSERT_EQ(0, ftruncate(fd, self->unit));
	ASSERT_EQ(0, mshare_anon(fd, 0, 2 * MB));
	drop_region(_metadata, self, fd);
	EXPECT_EQ(free0, regions_free(self->mnt));
	fn_log(_metadata, "create", &st);
}

/* (2) Sizing a region: ftruncate() to one unit, within a size= limit. */
TEST_F(failnth, size)
{
	struct fn_stats st = { };
	long free0, pages;
	struct stat sb;
	unsigned int n;
	int fd, err, inj, ret;

	/* A size= limit, so that statfs() shows what sizing takes. */
	ASSERT_EQ(0, mount(NULL, self->mnt, NULL, MS_REMOUNT, "size=1024g"));
	free0 = bytes_free(self->mnt);
	pages = self->unit / PAGE;
	ASSERT_LE(pages, free0);
	for (n = 1; n <= FN_MAX; n++) {
		fd = new_region(self, 0);
		ASSERT_LE(0, fd);
		fn_arm(self->fnfd, n);
		ret = ftruncate(fd, self->unit);
		err = ret ? errno : 0;
		inj = fn_disarm(self->fnfd);
		ASSERT_EQ(0, fstat(fd, &sb));
		if (!inj) {
			ASSERT_EQ(0, ret);
			ASSERT_EQ(self->unit, sb.st_size);
			EXPECT_EQ(free0 - pages, bytes_free(self->mnt));
			drop_region(_metadata, self, fd);
			EXPECT_EQ(free0, bytes_free(self->mnt));
			break;
		}
		fn_count(&st, err);
		if (ret) {
			EXPECT_EQ(ENOMEM, err) TH_LOG("n=%u", n);
			/* Unsized, and nothing taken from the limit. */
			EXPECT_EQ(0, sb.st_size);
			EXPECT_EQ(free0, bytes_free(self->mnt));
			ASSERT_EQ(0, ftruncate(fd, self->unit));
		}
		EXPECT_EQ(free0 - pages, bytes_free(self->mnt));
		drop_region(_metadata, self, fd);
		EXPECT_EQ(free0, bytes_free(self->mnt));
	}
	ASSERT_GE(FN_MAX, n);
	st.sites = n - 1;
	fn_log(_metadata, "ftruncate", &st);
}

/*
 * (3) MSHAREFS_CREATE_MAPPING in a new region, which creates the host mm:
 * anonymous memory, a memfd (objfd >= 0), or anonymous hugetlb, whose
 * file the caller sets up. The mmap() of the host is a kworker's and not
 * covered.
 */
static int create_one(int fd, int objfd, int huge)
{
	if (huge)
		return mshare_create(fd, 0, 2 * MB, RW,
				     MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS |
				     MAP_HUGETLB | MAP_NORESERVE, -1, 0);
	if (objfd >= 0)
		return mshare_file(fd, 0, 2 * MB, RW, objfd);
	return mshare_anon(fd, 0, 2 * MB);
}

static void create_mapping(struct __test_metadata *_metadata,
			   FIXTURE_DATA(failnth) *self, int objfd, int huge,
			   const char *what)
{
	struct fn_stats st = { };
	struct rinfo ri;
	unsigned int n;
	int fd, err, inj;

	if (huge) {
		fd = new_region(self, 1);
		ASSERT_LE(0, fd);
		err = create_one(fd, -1, 1);
		drop_region(_metadata, self, fd);
		if (err)
			SKIP(return, "no 2 MiB hugetlb (%s)", strerror(err));
	}
	for (n = 1; n <= FN_MAX; n++) {
		fd = new_region(self, 1);
		ASSERT_LE(0, fd);
		fn_arm(self->fnfd, n);
		err = create_one(fd, objfd, huge);
		inj = fn_disarm(self->fnfd);
		ASSERT_EQ(0, rinfo_get(fd, &ri));
		if (!inj) {
			ASSERT_EQ(0, err);
			EXPECT_EQ(1, ri.mappings);
			EXPECT_EQ(2 * MB, ri.mapped);
			drop_region(_metadata, self, fd);
			break;
		}
		fn_count(&st, err);
		if (err) {
			/*
			 * hugetlb_file_setup(), and for anonymous memory
			 * shmem_zero_setup(), fail with ENOSPC when they get no
			 * inode, as mmap(MAP_HUGETLB) and mmap(MAP_SHARED |
			 * MAP_ANONYMOUS) do.
			 */
			EXPECT_TRUE(err == ENOMEM ||
				    ((huge || objfd < 0) && err == ENOSPC))
				TH_LOG("n=%u: %s", n, err_name(err));
			/* No host mapping, and the region takes one now. */
			EXPECT_EQ(0, ri.mappings);
			EXPECT_EQ(0, ri.mapped);
			ASSERT_EQ(0, create_one(fd, objfd, huge));
			ASSERT_EQ(0, rinfo_get(fd, &ri));
		}
		EXPECT_EQ(1, ri.mappings);
		EXPECT_EQ(2 * MB, ri.mapped);
		drop_region(_metadata, self, fd);
	}
	ASSERT_GE(FN_MAX, n);
	st.sites = n - 1;
	fn_log(_metadata, what, &st);
}

TEST_F(failnth, create_mapping_anon)
{
	create_mapping(_metadata, self, -1, 0, "CREATE_MAPPING anon");
}

TEST_F(failnth, create_mapping_memfd)
{
	int mfd = memfd_create("failnth", 0);

	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, 2 * MB));
	create_mapping(_metadata, self, mfd, 0, "CREATE_MAPPING memfd");
	close(mfd);
}

TEST_F(failnth, create_mapping_hugetlb)
{
	create_mapping(_metadata, self, -1, 1, "CREATE_MAPPING hugetlb");
}

/*
 * (4) MSHAREFS_UNMAP of the middle of a mapping, which splits the host's
 * VMA: in the kworker, so only the caller's side is covered.
 */
TEST_F(failnth, unmap_split)
{
	struct fn_stats st = { };
	struct rinfo ri;
	unsigned int n;
	int fd, err, inj;

	fd = new_region(self, 1);
	ASSERT_LE(0, fd);
	for (n = 1; n <= FN_MAX; n++) {
		ASSERT_EQ(0, mshare_anon(fd, 0, 8 * MB));
		fn_arm(self->fnfd, n);
		err = mshare_unmap(fd, 2 * MB, 2 * MB);
		inj = fn_disarm(self->fnfd);
		ASSERT_EQ(0, rinfo_get(fd, &ri));
		if (inj)
			fn_count(&st, err);
		if (err) {
			ASSERT_TRUE(inj);
			EXPECT_EQ(ENOMEM, err) TH_LOG("n=%u", n);
			/*
			 * Nothing was unmapped; as munmap(), the mapping may
			 * have been cut at the ends of the range first.
			 */
			EXPECT_LE(1, ri.mappings);
			EXPECT_GE(3, ri.mappings);
			EXPECT_EQ(8 * MB, ri.mapped);
			ASSERT_EQ(0, mshare_unmap(fd, 2 * MB, 2 * MB));
			ASSERT_EQ(0, rinfo_get(fd, &ri));
		}
		EXPECT_EQ(2, ri.mappings);
		EXPECT_EQ(6 * MB, ri.mapped);
		ASSERT_EQ(0, mshare_unmap(fd, 0, 8 * MB));
		ASSERT_EQ(0, rinfo_get(fd, &ri));
		EXPECT_EQ(0, ri.mappings);
		if (!inj)
			break;
	}
	ASSERT_GE(FN_MAX, n);
	st.sites = n - 1;
	drop_region(_metadata, self, fd);
	fn_log(_metadata, "UNMAP split", &st);
}

/* Write and read back a word through p: the region works. */
static void use_mapping(struct __test_metadata *_metadata, int fd, char *p)
{
	struct rinfo ri;

	WORD(p, 0) = MAGIC;
	ASSERT_EQ(MAGIC, WORD(p, 0));
	ASSERT_EQ(0, rinfo_get(fd, &ri));
	EXPECT_EQ(1, ri.linked);
	EXPECT_EQ(1, ri.pud_links);
}

/*
 * (5) A process's mmap() of a new region, which creates its host mm and
 * registers the region's notifiers.
 */
TEST_F(failnth, mmap)
{
	struct fn_stats st = { };
	struct rinfo ri;
	unsigned int n;
	int fd, err, inj;
	char *p;

	for (n = 1; n <= FN_MAX; n++) {
		fd = new_region(self, 1);
		ASSERT_LE(0, fd);
		fn_arm(self->fnfd, n);
		p = mmap(NULL, self->unit, RW, MAP_SHARED, fd, 0);
		err = p == MAP_FAILED ? errno : 0;
		inj = fn_disarm(self->fnfd);
		ASSERT_EQ(0, rinfo_get(fd, &ri));
		if (inj)
			fn_count(&st, err);
		if (err) {
			ASSERT_TRUE(inj);
			EXPECT_EQ(ENOMEM, err) TH_LOG("n=%u", n);
			EXPECT_EQ(0, ri.attached);
			p = mmap(NULL, self->unit, RW, MAP_SHARED, fd, 0);
			ASSERT_NE(MAP_FAILED, p);
			ASSERT_EQ(0, rinfo_get(fd, &ri));
		}
		EXPECT_EQ(1, ri.attached);
		EXPECT_EQ(0, ri.linked);
		ASSERT_EQ(0, mshare_anon(fd, 0, 2 * MB));
		use_mapping(_metadata, fd, p);
		ASSERT_EQ(0, munmap(p, self->unit));
		ASSERT_EQ(0, rinfo_get(fd, &ri));
		EXPECT_EQ(0, ri.attached);
		EXPECT_EQ(0, ri.linked);
		EXPECT_EQ(0, ri.pud_links);
		drop_region(_metadata, self, fd);
		if (!inj)
			break;
	}
	ASSERT_GE(FN_MAX, n);
	st.sites = n - 1;
	fn_log(_metadata, "mmap", &st);
}

/* What a child tells its parent. */
struct child_report {
	int armed;
	int injected;
	int err;
};

/*
 * In a child: map the region, and fault its first page in with fail-nth
 * armed at n: by a store, or (gup) by process_vm_writev() to itself, a
 * fault through get_user_pages() that is not retried. Exits 0, or a code
 * that says what went wrong.
 */
static void fault_child(int fd, unsigned long size, unsigned int n,
			int linked_before, int gup, struct child_report *rep)
{
	unsigned long val = MAGIC;
	struct iovec liov = { .iov_base = &val, .iov_len = sizeof(val) };
	struct iovec riov = { .iov_len = sizeof(val) };
	struct rinfo ri;
	ssize_t ret = 0;
	int fnfd;
	char *p;

	prefault_stack();
	fnfd = open(FAIL_NTH, O_RDWR);
	if (fnfd < 0)
		_exit(20);
	p = mmap(NULL, size, RW, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		_exit(21);
	riov.iov_base = p;
	fn_disarm(fnfd);	/* its code paged in, fail-nth at 0 */
	rep->armed = 1;
	fn_arm(fnfd, n);
	if (gup)
		ret = process_vm_writev(getpid(), &liov, 1, &riov, 1, 0);
	else
		WORD(p, 0) = MAGIC;
	rep->err = ret < 0 ? errno : 0;
	rep->injected = fn_disarm(fnfd);
	rep->armed = 0;
	if (ret >= 0 && ret != (gup ? (ssize_t)sizeof(val) : 0))
		_exit(22);
	if (rinfo_get(fd, &ri))
		_exit(23);
	/* A failed fault may leave a sharer, unlinked; no more. */
	if (ri.attached != 1 || ri.linked > 1 || ri.pud_links > ri.linked)
		_exit(24);
	if (ret < 0)
		WORD(p, 0) = MAGIC;
	if (WORD(p, 0) != MAGIC)
		_exit(25);
	if (linked_before && WORD(p, 1) != MAGIC0)
		_exit(26);
	if (rinfo_get(fd, &ri))
		_exit(27);
	if (ri.attached != 1 || ri.linked != 1 || ri.pud_links != 1)
		_exit(28);
	if (munmap(p, size))
		_exit(29);
	if (rinfo_get(fd, &ri))
		_exit(30);
	if (ri.attached || ri.linked || ri.pud_links)
		_exit(31);
	_exit(0);
}

/*
 * (6) The first fault of a slot, in a child with fail-nth armed: the
 * sharer, the process's PUD table, and, unless the host has them already
 * (host_tables), the host's PUD, PMD and PTE tables and the page. A store
 * that faults with VM_FAULT_OOM is retried (pagefault_out_of_memory());
 * process_vm_writev() fails instead, with EFAULT whatever GUP returned
 * (process_vm_rw_single_vec()).
 */
static void first_fault(struct __test_metadata *_metadata,
			FIXTURE_DATA(failnth) *self, int host_tables, int gup,
			const char *what)
{
	struct child_report *rep = shared_mem(sizeof(*rep));
	struct fn_stats st = { };
	struct rinfo ri;
	int fd, status;
	unsigned int n;
	pid_t pid;
	char *p;

	ASSERT_NE(NULL, rep);
	for (n = 1; n <= FN_MAX; n++) {
		fd = new_region(self, 1);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, mshare_anon(fd, 0, 2 * MB));
		if (host_tables) {
			/* Tables and page made through a mapping now gone. */
			p = map_region(fd, self->unit, RW);
			ASSERT_NE(NULL, p);
			WORD(p, 1) = MAGIC0;
			ASSERT_EQ(0, munmap(p, self->unit));
		}
		memset(rep, 0, sizeof(*rep));
		pid = fork_child();
		ASSERT_LE(0, pid);
		if (!pid)
			fault_child(fd, self->unit, n, host_tables, gup, rep);
		ASSERT_EQ(0, wait_child(pid, &status, 60));
		ASSERT_EQ(0, rinfo_get(fd, &ri));
		EXPECT_EQ(0, ri.attached);
		EXPECT_EQ(0, ri.linked);
		EXPECT_EQ(0, ri.pud_links);
		if (WIFSIGNALED(status)) {
			/* Killed in the fault, or a bug in the child. */
			ASSERT_EQ(1, rep->armed) TH_LOG("n=%u: signal %d",
							n, WTERMSIG(status));
			st.injected++;
			st.sig[WTERMSIG(status)]++;
			EXPECT_TRUE(killed_by(status, SIGBUS) ||
				    killed_by(status, SIGSEGV) ||
				    killed_by(status, SIGKILL))
				TH_LOG("n=%u: signal %d", n, WTERMSIG(status));
		} else {
			ASSERT_TRUE(exited_with(status, 0))
				TH_LOG("n=%u: child exit %d", n, WEXITSTATUS(status));
			EXPECT_LE(PAGE, ri.rss_shmem);
			if (rep->injected) {
				fn_count(&st, rep->err);
				EXPECT_TRUE(!rep->err || (gup && rep->err == EFAULT))
					TH_LOG("n=%u: %s", n, err_name(rep->err));
			} else {
				EXPECT_EQ(0, rep->err);
			}
		}
		drop_region(_metadata, self, fd);
		if (WIFEXITED(status) && !rep->injected)
			break;
	}
	ASSERT_GE(FN_MAX, n);
	st.sites = n - 1;
	munmap(rep, sizeof(*rep));
	fn_log(_metadata, what, &st);
}

TEST_F(failnth, first_fault)
{
	first_fault(_metadata, self, 0, 0, "first fault, new host tables");
}

TEST_F(failnth, first_fault_link)
{
	first_fault(_metadata, self, 1, 0, "first fault, linking host tables");
}

TEST_F(failnth, first_fault_gup)
{
	first_fault(_metadata, self, 0, 1, "first fault by GUP, new host tables");
}

TEST_F(failnth, first_fault_gup_link)
{
	first_fault(_metadata, self, 1, 1, "first fault by GUP, linking host tables");
}

/*
 * (7) fork() of a process that has the region mapped and linked; the
 * child touches the region (links it) and checks what it sees.
 */
TEST_F_TIMEOUT(failnth, fork, 300)
{
	struct fn_stats st = { };
	struct rinfo ri;
	unsigned int n;
	int fd, err, inj, status;
	pid_t pid;
	char *p;

	fd = new_region(self, 1);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mshare_anon(fd, 0, 2 * MB));
	p = map_region(fd, self->unit, RW);
	ASSERT_NE(NULL, p);
	use_mapping(_metadata, fd, p);
	WORD(p, 1) = MAGIC0;
	prefault_stack();
	for (n = 1; n <= FN_MAX; n++) {
		fn_arm(self->fnfd, n);
		pid = fork();
		err = pid < 0 ? errno : 0;
		inj = fn_disarm(self->fnfd);
		if (!pid) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			/* The parent's mapping and the child's copy, unlinked. */
			if (rinfo_get(fd, &ri))
				_exit(30);
			if (ri.attached != 2 || ri.linked != 1 || ri.pud_links != 1)
				_exit(31);
			if (WORD(p, 1) != MAGIC0)
				_exit(32);
			if (rinfo_get(fd, &ri))
				_exit(33);
			if (ri.attached != 2 || ri.linked != 2 || ri.pud_links != 2)
				_exit(34);
			_exit(0);
		}
		if (inj)
			fn_count(&st, err);
		if (pid > 0) {
			ASSERT_EQ(0, wait_child(pid, &status, 60));
			EXPECT_TRUE(exited_with(status, 0))
				TH_LOG("n=%u: child status %#x", n, status);
		} else {
			ASSERT_TRUE(inj);
			EXPECT_TRUE(err == ENOMEM || err == EAGAIN)
				TH_LOG("n=%u: %s", n, err_name(err));
		}
		ASSERT_EQ(0, rinfo_get(fd, &ri));
		EXPECT_EQ(1, ri.attached);
		EXPECT_EQ(1, ri.linked);
		EXPECT_EQ(1, ri.pud_links);
		if (!inj)
			break;
	}
	ASSERT_GE(FN_MAX, n);
	st.sites = n - 1;
	ASSERT_EQ(MAGIC, WORD(p, 0));
	ASSERT_EQ(0, munmap(p, self->unit));
	ASSERT_EQ(0, rinfo_get(fd, &ri));
	EXPECT_EQ(0, ri.attached);
	EXPECT_EQ(0, ri.linked);
	EXPECT_EQ(0, ri.pud_links);
	drop_region(_metadata, self, fd);
	fn_log(_metadata, "fork", &st);
}

/* Write seed + page index in each page of [p, p + len). */
static void fill_words(char *p, unsigned long len, unsigned long seed)
{
	unsigned long i;

	for (i = 0; i < len; i += PAGE)
		WORD(p + i, 0) = seed + i;
}

static unsigned long bad_words(char *p, unsigned long len, unsigned long seed)
{
	unsigned long i, bad = 0;

	for (i = 0; i < len; i += PAGE)
		bad += WORD(p + i, 0) != seed + i;
	return bad;
}

/*
 * (8) Page-table reclaim of the host: madvise(MADV_PT_RECLAIM) of a range
 * that MADV_DONTNEED emptied with vm.pt_reclaim_zap=0 (reclaim), or
 * MADV_DONTNEED itself with vm.pt_reclaim_zap=1 (zap). Both run in the
 * caller's context, on the host mm.
 */
static void pt_reclaim(struct __test_metadata *_metadata,
		       FIXTURE_DATA(failnth) *self, int zap, const char *what)
{
	struct fn_stats st = { };
	struct rinfo a, b;
	unsigned int n;
	int fd, err, inj, ret, i;
	char *p;

	if (self->zap < 0)
		SKIP(return, "no %s", ZAP_SYSCTL);
	ASSERT_EQ(0, write_file(ZAP_SYSCTL, zap ? "1\n" : "0\n"));
	fd = new_region(self, 1);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mshare_anon(fd, 0, 4 * MB));
	p = map_region(fd, self->unit, RW);
	ASSERT_NE(NULL, p);
	fill_words(p, 4 * MB, 0);
	for (n = 1; n <= FN_MAX; n++) {
		/* The PTE table of [0, 2 MiB) full, or (reclaim) emptied. */
		fill_words(p, 2 * MB, n);
		ASSERT_EQ(0, zap ? 0 : madvise(p, 2 * MB, MADV_DONTNEED));
		ASSERT_EQ(0, rinfo_get(fd, &a));
		fn_arm(self->fnfd, n);
		ret = madvise(p, 2 * MB, zap ? MADV_DONTNEED : MADV_PT_RECLAIM);
		err = ret ? errno : 0;
		inj = fn_disarm(self->fnfd);
		ASSERT_EQ(0, rinfo_get(fd, &b));
		/*
		 * A zap through the region also queues the host's truncation
		 * work, which may take the table first and count it a moment
		 * after the madvise() returned.
		 */
		for (i = 0; !err && zap && b.pt_freed == a.pt_freed && i < 200; i++) {
			usleep(10000);
			ASSERT_EQ(0, rinfo_get(fd, &b));
		}
		if (inj)
			fn_count(&st, err);
		if (err) {
			ASSERT_TRUE(inj);
			EXPECT_EQ(ENOMEM, err) TH_LOG("n=%u", n);
		} else {
			/* The table went, and (zap) the pages of the host. */
			EXPECT_EQ(a.pt_freed + 1, b.pt_freed);
			EXPECT_EQ(a.pagetables - (long)PAGE, b.pagetables);
			if (zap)
				EXPECT_EQ(a.rss_shmem - 2 * (long)MB, b.rss_shmem);
		}
		/* Whatever went, the table is gone or there, not between. */
		EXPECT_EQ(a.pagetables - (b.pt_freed - a.pt_freed) * (long)PAGE,
			  b.pagetables);
		EXPECT_EQ(1, b.linked);
		EXPECT_EQ(1, b.pud_links);
		/* Shared memory: the data stays in the object. */
		EXPECT_EQ(0, bad_words(p, 2 * MB, n));
		EXPECT_EQ(0, bad_words(p + 2 * MB, 2 * MB, 2 * MB));
		if (!inj)
			break;
	}
	ASSERT_GE(FN_MAX, n);
	st.sites = n - 1;
	ASSERT_EQ(0, munmap(p, self->unit));
	ASSERT_EQ(0, rinfo_get(fd, &a));
	EXPECT_EQ(0, a.attached);
	EXPECT_EQ(0, a.linked);
	EXPECT_EQ(0, a.pud_links);
	drop_region(_metadata, self, fd);
	fn_log(_metadata, what, &st);
}

TEST_F(failnth, pt_reclaim_madvise)
{
	pt_reclaim(_metadata, self, 0, "MADV_PT_RECLAIM, pt_reclaim_zap=0");
}

TEST_F(failnth, pt_reclaim_dontneed)
{
	pt_reclaim(_metadata, self, 1, "MADV_DONTNEED, pt_reclaim_zap=1");
}

TEST_HARNESS_MAIN
