// SPDX-License-Identifier: GPL-2.0
/*
 * mshare-bench-share64: what N processes mapping one region of S GiB cost
 * in page tables and faults, with msharefs and with a plain memfd.
 *
 *   mshare-bench-share64 [-n N] [-s GiB]      (defaults: 64 processes, 1 GiB)
 *
 * For each phase (A: a msharefs region with one anonymous mapping of S;
 * B: a memfd of S mapped MAP_SHARED):
 *  - the N processes are forked first and wait, so that PageTables before
 *    already holds their own page tables;
 *  - the first process (this one) maps the object, writes every page and
 *    unmaps it: PageTables before and after;
 *  - one after the other, each of the N processes maps the object, writes
 *    one byte per page and reports its minor faults and VmPTE through a
 *    pipe; with all N attached at once, PageTables is read; then they are
 *    released and exit.
 * The target for msharefs: PageTables growth with N processes
 * attached <= 2.2 MiB + N x 8 KiB (for S = 1 GiB; 2.2 MiB per GiB), and the
 * Nth process takes <= 2 minor faults.
 *
 * Exit status: 0, 1 if something failed to run, 2 if a target was missed.
 * Run it as root on the non-debug (bench) kernel.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <linux/msharefs.h>
#include <poll.h>
#include <sys/mman.h>

/* meminfo_kb(), drain_slabs(), mshare_anon(), ... shared with the selftests */
#include "../../testing/selftests/mm/mshare/mshare_util.h"

#define PAGE	4096UL

struct result {
	int pid;
	int err;
	long minflt;
	long vmpte_before;	/* kB, before mapping */
	long vmpte_after;	/* kB, after touching it all */
	long touch_ns;
};

struct phase {
	const char *name;
	long pt_start;		/* PageTables before the N processes are forked */
	long pt_before;		/* PageTables with the N processes forked, idle */
	long pt_populated;	/* after the first process wrote every page */
	long pt_attached;	/* with all N attached */
	long pt_after;		/* all gone, object destroyed */
	long vmpte_max;
	long vmpte_growth_max;
	long nth_minflt;
	long minflt_max;
	double touch_s;		/* first release to last report */
};

static int nproc = 64;
static unsigned long size;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* Map the object, write every page, unmap. */
static void populate(int fd)
{
	volatile char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	unsigned long i;

	if (p == MAP_FAILED)
		die("populate: mmap");
	for (i = 0; i < size; i += PAGE)
		p[i] = 1;
	munmap((void *)p, size);
}

/* A child: wait for its turn, attach and touch, report, wait, exit. */
static void child(int fd, int alive, int go, int res, int release)
{
	struct result r = { .pid = getpid() };
	volatile char *p;
	struct timespec t0, t1;
	unsigned long i;
	char c;
	long f0;

	/* malloc's heap (for stdio) now, before PageTables is first read */
	proc_status_kb("VmPTE");
	if (write(alive, "a", 1) != 1)
		_exit(1);
	if (read(go, &c, 1) != 1)
		_exit(1);
	r.vmpte_before = proc_status_kb("VmPTE");
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		r.err = errno;
	} else {
		/*
		 * The vDSO's data pages are not copied by fork(): the first
		 * clock_gettime() of a child faults them in. Do it before
		 * counting, so that only the touch loop is counted.
		 */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		self_minflt();
		f0 = self_minflt();
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (i = 0; i < size; i += PAGE)
			p[i + 1] = 1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		r.minflt = self_minflt() - f0;
		r.touch_ns = (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec);
		r.vmpte_after = proc_status_kb("VmPTE");
	}
	if (write(res, &r, sizeof(r)) != sizeof(r))
		_exit(2);
	if (read(release, &c, 1) != 1)
		_exit(3);
	_exit(r.err ? 4 : 0);
}

/* Read one result; give up if the children are gone. */
static int read_result(int fd, struct result *r, pid_t *pids)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int i, st;

	for (;;) {
		int n = poll(&pfd, 1, 1000);

		if (n > 0)
			return read(fd, r, sizeof(*r)) == sizeof(*r) ? 0 : -1;
		if (n < 0 && errno != EINTR)
			return -1;
		for (i = 0; i < nproc; i++) {
			if (pids[i] > 0 && waitpid(pids[i], &st, WNOHANG) == pids[i]) {
				fprintf(stderr, "process %d ended early: status %#x\n", pids[i], st);
				return -1;
			}
		}
	}
}

/* One phase on the object fd, which destroy() takes down afterwards. */
static void run_phase(struct phase *ph, int fd, void (*destroy)(void *), void *arg)
{
	int alive[2], go[2], res[2], release[2], k, st, failed = 0;
	pid_t *pids = calloc(nproc, sizeof(*pids));
	char *bytes = calloc(nproc, 1);
	struct result r;
	double t0;

	if (!pids || !bytes || pipe(alive) || pipe(go) || pipe(res) || pipe(release))
		die("setup");
	drain_slabs();
	ph->pt_start = meminfo_kb("PageTables");
	for (k = 0; k < nproc; k++) {
		pids[k] = fork_child();
		if (pids[k] < 0)
			die("fork");
		if (pids[k] == 0) {
			close(alive[0]);
			close(go[1]);
			close(res[0]);
			close(release[1]);
			child(fd, alive[1], go[0], res[1], release[0]);
		}
	}
	close(alive[1]);
	close(go[0]);
	close(res[1]);
	close(release[0]);
	for (k = 0; k < nproc; k++) {
		char c;

		if (read(alive[0], &c, 1) != 1)
			die("a process did not start");
	}
	close(alive[0]);

	drain_slabs();
	meminfo_kb("PageTables");
	ph->pt_before = meminfo_kb("PageTables");
	populate(fd);
	ph->pt_populated = meminfo_kb("PageTables");

	/* One at a time: the kth to attach finds k - 1 attached already. */
	t0 = now();
	for (k = 0; k < nproc; k++) {
		if (write(go[1], "g", 1) != 1)
			die("go");
		if (read_result(res[0], &r, pids))
			die("result");
		if (r.err) {
			errno = r.err;
			die("child: mmap");
		}
		if (r.vmpte_after > ph->vmpte_max)
			ph->vmpte_max = r.vmpte_after;
		if (r.vmpte_after - r.vmpte_before > ph->vmpte_growth_max)
			ph->vmpte_growth_max = r.vmpte_after - r.vmpte_before;
		if (r.minflt > ph->minflt_max)
			ph->minflt_max = r.minflt;
		if (k == nproc - 1)
			ph->nth_minflt = r.minflt;
	}
	ph->touch_s = now() - t0;
	ph->pt_attached = meminfo_kb("PageTables");

	if (write(release[1], bytes, nproc) != nproc)
		die("release");
	for (k = 0; k < nproc; k++) {
		if (waitpid(pids[k], &st, 0) != pids[k] || !WIFEXITED(st) || WEXITSTATUS(st))
			failed++;
	}
	if (failed) {
		fprintf(stderr, "%s: %d processes failed\n", ph->name, failed);
		exit(1);
	}
	close(go[1]);
	close(res[0]);
	close(release[1]);
	free(pids);
	free(bytes);

	destroy(arg);
	drain_slabs();
	ph->pt_after = wait_pagetables(ph->pt_start, 5);
}

struct region {
	char mnt[64];
	char path[128];
	int fd;
};

static void region_destroy(void *arg)
{
	struct region *rg = arg;

	close(rg->fd);
	unlink(rg->path);
}

static void memfd_destroy(void *arg)
{
	close(*(int *)arg);
}

static const char *verdict(int ok)
{
	return ok ? "PASS" : "FAIL";
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-n processes] [-s size in GiB]\n", prog);
	exit(1);
}

int main(int argc, char **argv)
{
	struct phase a = { .name = "msharefs" }, b = { .name = "memfd" };
	long target_pt, gib = 1, unit;
	struct region rg;
	int opt, mfd, e, pt_ok, flt_ok;
	double ratio;

	while ((opt = getopt(argc, argv, "n:s:h")) != -1) {
		switch (opt) {
		case 'n':
			nproc = atoi(optarg);
			break;
		case 's':
			gib = atol(optarg);
			break;
		default:
			usage(argv[0]);
		}
	}
	if (nproc < 1 || gib < 1)
		usage(argv[0]);
	size = (unsigned long)gib << 30;

	if (mount_instance(rg.mnt, sizeof(rg.mnt)))
		die("mount msharefs");
	unit = mshare_unit(rg.mnt);
	if (unit <= 0 || size % unit) {
		fprintf(stderr, "size %lu is not a multiple of the region unit %ld\n", size, unit);
		umount_instance(rg.mnt);
		return 1;
	}

	/* Phase A: msharefs. */
	snprintf(rg.path, sizeof(rg.path), "%s/share64", rg.mnt);
	rg.fd = region_create(rg.mnt, "share64", size);
	if (rg.fd < 0) {
		errno = -rg.fd;
		die("region");
	}
	e = mshare_anon(rg.fd, 0, size);
	if (e) {
		errno = e;
		die("MSHAREFS_CREATE_MAPPING");
	}
	run_phase(&a, rg.fd, region_destroy, &rg);
	umount_instance(rg.mnt);

	/* Phase B: a memfd mapped MAP_SHARED. */
	mfd = memfd_create("share64", 0);
	if (mfd < 0 || ftruncate(mfd, size))
		die("memfd");
	run_phase(&b, mfd, memfd_destroy, &mfd);

	target_pt = (22 * 1024 / 10) * gib + nproc * 8L;
	pt_ok = a.pt_attached - a.pt_before <= target_pt;
	flt_ok = a.nth_minflt <= 2;
	ratio = b.touch_s > 0 ? a.touch_s / b.touch_s : 0;

	printf("mshare-bench-share64: %d processes each map %ld GiB and write one byte per 4 KiB page\n",
	       nproc, gib);
	printf("(processes attach one after the other; times under emulation are comparable\n"
	       " only within one run, so only their ratio is given)\n\n");
	printf("%-40s %12s %12s   %s\n", "", "msharefs", "memfd", "target (msharefs)");
	printf("%-40s %12ld %12ld\n", "PageTables at start, no process (kB)",
	       a.pt_start, b.pt_start);
	printf("%-40s %12ld %12ld\n", "PageTables before (kB)", a.pt_before, b.pt_before);
	printf("%-40s %12ld %12ld\n", "PageTables growth, first process (kB)",
	       a.pt_populated - a.pt_before, b.pt_populated - b.pt_before);
	printf("%-40s %12ld %12ld   <= %ld kB %s\n", "PageTables growth, N attached (kB)",
	       a.pt_attached - a.pt_before, b.pt_attached - b.pt_before, target_pt,
	       verdict(pt_ok));
	printf("%-40s %12ld %12ld\n", "PageTables after, all gone (kB)", a.pt_after, b.pt_after);
	printf("%-40s %12ld %12ld\n", "VmPTE per process, max (kB)", a.vmpte_max, b.vmpte_max);
	printf("%-40s %12ld %12ld\n", "VmPTE growth per process, max (kB)",
	       a.vmpte_growth_max, b.vmpte_growth_max);
	printf("%-40s %12ld %12ld   <= 2 %s\n", "minflt of the Nth process", a.nth_minflt,
	       b.nth_minflt, verdict(flt_ok));
	printf("%-40s %12ld %12ld\n", "minflt per process, max", a.minflt_max, b.minflt_max);
	printf("%-40s %12.4f\n\n", "touch phase time, msharefs / memfd", ratio);

	printf("processes=%d\n", nproc);
	printf("size_gib=%ld\n", gib);
	printf("msharefs_pagetables_start_kb=%ld\n", a.pt_start);
	printf("memfd_pagetables_start_kb=%ld\n", b.pt_start);
	printf("msharefs_pagetables_before_kb=%ld\n", a.pt_before);
	printf("memfd_pagetables_before_kb=%ld\n", b.pt_before);
	printf("msharefs_pagetables_first_kb=%ld\n", a.pt_populated - a.pt_before);
	printf("memfd_pagetables_first_kb=%ld\n", b.pt_populated - b.pt_before);
	printf("msharefs_pagetables_growth_kb=%ld\n", a.pt_attached - a.pt_before);
	printf("memfd_pagetables_growth_kb=%ld\n", b.pt_attached - b.pt_before);
	printf("msharefs_pagetables_after_kb=%ld\n", a.pt_after);
	printf("memfd_pagetables_after_kb=%ld\n", b.pt_after);
	printf("msharefs_vmpte_max_kb=%ld\n", a.vmpte_max);
	printf("memfd_vmpte_max_kb=%ld\n", b.vmpte_max);
	printf("msharefs_vmpte_growth_max_kb=%ld\n", a.vmpte_growth_max);
	printf("memfd_vmpte_growth_max_kb=%ld\n", b.vmpte_growth_max);
	printf("msharefs_nth_minflt=%ld\n", a.nth_minflt);
	printf("memfd_nth_minflt=%ld\n", b.nth_minflt);
	printf("msharefs_minflt_max=%ld\n", a.minflt_max);
	printf("memfd_minflt_max=%ld\n", b.minflt_max);
	printf("touch_time_ratio=%.4f\n", ratio);
	printf("target_pagetables_growth_kb=%ld\n", target_pt);
	printf("target_nth_minflt=2\n");
	printf("pagetables_verdict=%s\n", verdict(pt_ok));
	printf("minflt_verdict=%s\n", verdict(flt_ok));
	return pt_ok && flt_ok ? 0 : 2;
}
