// SPDX-License-Identifier: GPL-2.0
/*
 * mshare-bench-ptreclaim: what page-table reclaim frees and what it costs,
 * with vm.pt_reclaim_zap = 0 (off) beside 1 (on), both in one boot.
 *
 *   mshare-bench-ptreclaim [-p part[,part]] [-s GiB] [-t seconds] [-r rounds]
 *                          [-n sharers] [-g GiB]
 *
 * Parts (-p, default all):
 *  seed:   the benchmark of every page-table reclaim series. A child maps
 *          -s GiB (50) private anonymous, MAP_NORESERVE, MADV_NOHUGEPAGE,
 *          and for each 2 MiB step writes one byte per 4 KiB page, then
 *          MADV_DONTNEED the 2 MiB; once with reclaim off, once on. VmPTE
 *          at the end, time, the pt_reclaim_zap delta; then MADV_PT_RECLAIM
 *          of the whole range and VmPTE again. Target: VmPTE with reclaim
 *          on <= 240 kB (off is about 102640 kB for 50 GiB). The mapping
 *          is put at 64 GiB, 1 GiB aligned, so that VmPTE does not depend
 *          on ASLR. If it is refused, vm.overcommit_memory is set to 1 for
 *          this part.
 *  fault:  4 KiB write faults per second, as will-it-scale's page_fault1
 *          (each thread: loop { mmap 128 MiB private anonymous; write one
 *          byte per page; munmap }), with 1 and 2 threads; and
 *          page_fault_dontneed (mmap once; loop { write every page;
 *          MADV_DONTNEED the 128 MiB }), which frees and refills 64 PTE
 *          tables per loop with reclaim on. Each side runs -t seconds (5)
 *          in -r rounds (10), off and on alternating (off,on then on,off),
 *          after one uncounted round; the on / off ratio is the median of
 *          the rounds' ratios (each of two runs next to each other). Target:
 *          page_fault1 on / off >= 0.99; page_fault_dontneed has none.
 *          munmap() frees tables whatever the switch says, so page_fault1
 *          compares two runs of the same code: its ratio is the noise
 *          floor that the page_fault_dontneed ratio is read against.
 *  region: -n (64) sharers each map a -g GiB (1) msharefs region with one
 *          anonymous mapping; PageTables with all attached and idle, after
 *          the first sharer wrote every page, and after one MADV_DONTNEED
 *          of the whole region through it (once an RCU grace period has
 *          passed: until it has not moved for 1 s). Target: after - before
 *          <= 16 kB + 4 kB per GiB (the host's PMD tables, which the
 *          sharers' links point to, stay). Then the first sharer reads
 *          every page again (its minor faults are printed), and each of
 *          the others reads every page. Target: <= 1 minor fault each (the
 *          link to the host's refilled tables). Every read checks that the
 *          data written is still there (MADV_DONTNEED of shared memory
 *          drops the mappings, not the pages).
 *
 * vm.pt_reclaim_zap, and vm.overcommit_memory if changed, are restored on
 * exit. Exit status: 0, 1 if something failed to run, 2 if a target was
 * missed. Run it as root on the non-debug (bench) kernel.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <linux/msharefs.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/utsname.h>

/* meminfo_kb(), mshare_anon(), region_create(), ... shared with the selftests */
#include "../../testing/selftests/mm/mshare/mshare_util.h"

#ifndef MADV_PT_RECLAIM
#define MADV_PT_RECLAIM		26
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE	0x100000
#endif

#define PAGE		4096UL
#define PMD_SPAN	(2UL << 20)
#define FAULT_SIZE	(128UL << 20)
#define MAX_ROUNDS	31
#define ZAP_SYSCTL	"/proc/sys/vm/pt_reclaim_zap"
#define OVERCOMMIT	"/proc/sys/vm/overcommit_memory"
#define SEED_TARGET_KB	240L
#define SEED_ADDR	(64UL << 30)	/* where the seed mapping goes */

enum { OFF, ON, NR_SIDES };

static const char * const side_name[NR_SIDES] = { "off", "on" };

/* State to undo on exit. */
static pid_t main_pid;
static long zap_saved = -1;		/* vm.pt_reclaim_zap at start, or -1 */
static char zap_saved_s[32];		/* the same, to write back */
static char overcommit_saved_s[32];	/* vm.overcommit_memory, if changed */
static char mnt[64];
static char region_path[128];
static pid_t *sharer_pids;
static int nr_sharer_pids;

/* Options. */
static unsigned long seed_gib = 50, region_gib = 1;
static int nr_sharers = 64, fault_secs = 5, rounds = 10;

static long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* One access per page that the compiler keeps. */
static inline void touch(char *p)
{
	__atomic_store_n(p, 1, __ATOMIC_RELAXED);
}

static inline char peek(const char *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* No stdio: on_signal() calls it too. */
static void restore_sysctls(void)
{
	if (zap_saved_s[0])
		write_file(ZAP_SYSCTL, zap_saved_s);
	if (overcommit_saved_s[0]) {
		write_file(OVERCOMMIT, overcommit_saved_s);
		overcommit_saved_s[0] = '\0';
	}
}

static void kill_sharers(void)
{
	int i;

	for (i = 0; i < nr_sharer_pids; i++) {
		kill(sharer_pids[i], SIGKILL);
		waitpid(sharer_pids[i], NULL, 0);
	}
	nr_sharer_pids = 0;
}

static void cleanup(void)
{
	if (getpid() != main_pid)
		return;
	kill_sharers();
	restore_sysctls();
	if (region_path[0]) {
		unlink(region_path);
		region_path[0] = '\0';
	}
	if (mnt[0]) {
		umount_instance(mnt);
		mnt[0] = '\0';
	}
}

/*
 * SIGINT, SIGTERM, SIGHUP: leave the sysctls as they were and detach the
 * instance, then die (the sharers die with this process).
 */
static void on_signal(int sig)
{
	if (getpid() == main_pid) {
		restore_sysctls();
		if (mnt[0])
			umount2(mnt, MNT_DETACH);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void die(const char *what)
{
	perror(what);
	exit(1);	/* cleanup() runs from atexit() */
}

static void set_zap(int on)
{
	if (write_file(ZAP_SYSCTL, on ? "1\n" : "0\n")) {
		fprintf(stderr, "cannot write %s\n", ZAP_SYSCTL);
		exit(1);
	}
}

static long vm_event(const char *key)
{
	return key_value("/proc/vmstat", key);
}

static const char *verdict(int ok)
{
	return ok ? "PASS" : "FAIL";
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double tmp[MAX_ROUNDS];

	memcpy(tmp, v, n * sizeof(*v));
	qsort(tmp, n, sizeof(*tmp), cmp_double);
	return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

/*
 * The vDSO's data pages are not copied by fork(): the first clock_gettime()
 * of a child faults them in. Call it before counting, as getrusage() too.
 */
static void warm_up(void)
{
	now_ns();
	self_minflt();
}

/* --- 1. seed --- */

/*
 * What a seed child reports, through a pipe: no page of its own for it,
 * so that VmPTE counts no more than the process and the mapping.
 */
struct seed_res {
	long vmpte_start;	/* kB, before the mapping */
	long vmpte_end;		/* kB, after the last step, still mapped */
	long vmpte_madv;	/* kB, after MADV_PT_RECLAIM of the range, or -1 */
	long ns;		/* the steps */
	int madv_err;		/* errno of MADV_PT_RECLAIM, or 0 */
	int err;		/* errno of the step that failed, or 0 */
	char what[32];		/* the step that failed */
};

struct seed_out {
	struct seed_res r[NR_SIDES];
	long zap[NR_SIDES];	/* vmstat deltas */
	long madvise[NR_SIDES];
	long expect_off;	/* kB */
	int overcommit_set;
	int ok;
};

static struct seed_out seed;

static void seed_report(int fd, struct seed_res *res, const char *step)
{
	if (step) {
		res->err = errno ?: EIO;
		snprintf(res->what, sizeof(res->what), "%s", step);
	}
	if (write(fd, res, sizeof(*res)) != sizeof(*res))
		_exit(2);
	_exit(step ? 1 : 0);
}

static void seed_child(int fd, unsigned long size)
{
	struct seed_res res = { .vmpte_madv = -1 };
	unsigned long off, i;
	char *want, *p;
	long t0;

	/* Fault in what the figures should not count (stdio). */
	proc_status_kb("VmPTE");
	res.vmpte_start = proc_status_kb("VmPTE");

	/*
	 * 2 MiB aligned, so that each step empties one whole PTE table; at
	 * SEED_ADDR if it is free, so that the mapping takes one PMD table
	 * per GiB and no PUD table but the one of the program's text: VmPTE
	 * then does not depend on where ASLR would put the mapping (across a
	 * 512 GiB boundary, it costs a PUD table more).
	 */
	p = mmap((void *)SEED_ADDR, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
		 MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != MAP_FAILED && p != (void *)SEED_ADDR) {
		munmap(p, size);
		p = MAP_FAILED;
	}
	if (p == MAP_FAILED) {
		want = free_aligned_range(size, 1UL << 30);
		if (want)
			p = mmap(want, size, PROT_READ | PROT_WRITE, MAP_PRIVATE |
				 MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	}
	if (p != MAP_FAILED && (unsigned long)p % PMD_SPAN) {
		munmap(p, size);
		p = MAP_FAILED;
	}
	if (p == MAP_FAILED)
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		seed_report(fd, &res, "mmap");
	if (madvise(p, size, MADV_NOHUGEPAGE))
		seed_report(fd, &res, "MADV_NOHUGEPAGE");

	t0 = now_ns();
	for (off = 0; off < size; off += PMD_SPAN) {
		for (i = 0; i < PMD_SPAN; i += PAGE)
			touch(p + off + i);
		if (madvise(p + off, PMD_SPAN, MADV_DONTNEED))
			seed_report(fd, &res, "MADV_DONTNEED");
	}
	res.ns = now_ns() - t0;
	res.vmpte_end = proc_status_kb("VmPTE");

	if (madvise(p, size, MADV_PT_RECLAIM))
		res.madv_err = errno;
	else
		res.vmpte_madv = proc_status_kb("VmPTE");
	seed_report(fd, &res, NULL);
}

/* Can a process map size bytes as the seed child does? */
static int can_map(unsigned long size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return 0;
	munmap(p, size);
	return 1;
}

static void part_seed(void)
{
	unsigned long size = seed_gib << 30;
	int side, st, fd[2];
	struct seed_res r;
	pid_t pid;
	long oc;

	if (!can_map(size)) {
		printf("seed: mmap of %lu GiB MAP_NORESERVE failed (%s):\n"
		       "      setting vm.overcommit_memory=1 for this part\n",
		       seed_gib, strerror(errno));
		oc = read_long_file(OVERCOMMIT);
		if (oc >= 0)
			snprintf(overcommit_saved_s, sizeof(overcommit_saved_s), "%ld\n", oc);
		if (oc < 0 || write_file(OVERCOMMIT, "1\n")) {
			fprintf(stderr, "cannot set %s\n", OVERCOMMIT);
			exit(1);
		}
		seed.overcommit_set = 1;
		if (!can_map(size)) {
			perror("seed: mmap, even with vm.overcommit_memory=1");
			exit(1);
		}
	}

	for (side = OFF; side < NR_SIDES; side++) {
		long z0, m0;
		ssize_t n;

		set_zap(side == ON);
		if (pipe(fd))
			die("pipe");
		z0 = vm_event("pt_reclaim_zap");
		m0 = vm_event("pt_reclaim_madvise");
		pid = fork_child();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			close(fd[0]);
			seed_child(fd[1], size);
		}
		close(fd[1]);
		st = 0;
		if (wait_child(pid, &st, 3000)) {
			fprintf(stderr, "seed, reclaim %s: the child took over 3000 s\n",
				side_name[side]);
			exit(1);
		}
		memset(&r, 0, sizeof(r));
		n = read(fd[0], &r, sizeof(r));
		close(fd[0]);
		if (n != sizeof(r) || r.err || !exited_with(st, 0)) {
			if (n == sizeof(r) && r.err)
				fprintf(stderr, "seed, reclaim %s: %s: %s\n", side_name[side],
					r.what, strerror(r.err));
			else
				fprintf(stderr, "seed, reclaim %s: the child failed (status %#x)\n",
					side_name[side], st);
			exit(1);
		}
		seed.zap[side] = vm_event("pt_reclaim_zap") - z0;
		seed.madvise[side] = vm_event("pt_reclaim_madvise") - m0;
		seed.r[side] = r;
	}
	restore_sysctls();

	/* A PTE table per 2 MiB, a PMD table per GiB, and the rest. */
	seed.expect_off = seed_gib * 2048 + seed_gib * 4 + 40;
	seed.ok = seed.r[ON].vmpte_end <= SEED_TARGET_KB;
}

static void print_seed(void)
{
	struct seed_res *off = &seed.r[OFF], *on = &seed.r[ON];
	double pages = (double)(seed_gib << 30) / PAGE;
	char madv[NR_SIDES][24];
	int side;

	for (side = OFF; side < NR_SIDES; side++) {
		struct seed_res *r = &seed.r[side];

		if (r->madv_err)
			snprintf(madv[side], sizeof(madv[side]), "%s",
				 strerrorname_np(r->madv_err) ?: "error");
		else
			snprintf(madv[side], sizeof(madv[side]), "%ld", r->vmpte_madv);
	}
	printf("1. seed: write one byte per 4 KiB page and MADV_DONTNEED, 2 MiB at a time,\n"
	       "   over %lu GiB private anonymous (MAP_NORESERVE, MADV_NOHUGEPAGE)%s\n\n",
	       seed_gib, seed.overcommit_set ? ", vm.overcommit_memory=1" : "");
	printf("%-42s %12s %12s   %s\n", "", "off", "on", "target");
	printf("%-42s %12ld %12ld\n", "VmPTE before the mapping (kB)", off->vmpte_start,
	       on->vmpte_start);
	printf("%-42s %12ld %12ld   off ~ %ld, on <= %ld %s\n", "VmPTE at the end (kB)",
	       off->vmpte_end, on->vmpte_end, seed.expect_off, SEED_TARGET_KB,
	       verdict(seed.ok));
	printf("%-42s %12ld %12ld\n", "pt_reclaim_zap (vmstat delta)", seed.zap[OFF],
	       seed.zap[ON]);
	printf("%-42s %12.1f %12.1f   on / off %.3f\n", "time (s)", off->ns / 1e9, on->ns / 1e9,
	       off->ns > 0 ? (double)on->ns / off->ns : 0);
	printf("%-42s %12.2f %12.2f\n", "time per page, fault and zap (us)",
	       off->ns / pages / 1e3, on->ns / pages / 1e3);
	printf("%-42s %12s %12s\n", "VmPTE after MADV_PT_RECLAIM of it all (kB)", madv[OFF],
	       madv[ON]);
	printf("%-42s %12ld %12ld\n\n", "pt_reclaim_madvise (vmstat delta)", seed.madvise[OFF],
	       seed.madvise[ON]);
}

static void keys_seed(void)
{
	int side;

	printf("seed_gib=%lu\n", seed_gib);
	for (side = OFF; side < NR_SIDES; side++) {
		struct seed_res *r = &seed.r[side];
		const char *s = side_name[side];

		printf("seed_%s_vmpte_start_kb=%ld\n", s, r->vmpte_start);
		printf("seed_%s_vmpte_kb=%ld\n", s, r->vmpte_end);
		printf("seed_%s_ms=%ld\n", s, r->ns / 1000000);
		printf("seed_%s_pt_reclaim_zap=%ld\n", s, seed.zap[side]);
		printf("seed_%s_vmpte_after_madv_pt_reclaim_kb=%ld\n", s, r->vmpte_madv);
		printf("seed_%s_pt_reclaim_madvise=%ld\n", s, seed.madvise[side]);
	}
	printf("seed_time_ratio=%.4f\n",
	       seed.r[OFF].ns > 0 ? (double)seed.r[ON].ns / seed.r[OFF].ns : 0);
	printf("seed_off_expected_kb=%ld\n", seed.expect_off);
	printf("seed_target_on_kb=%ld\n", SEED_TARGET_KB);
	printf("seed_overcommit_set=%d\n", seed.overcommit_set);
	printf("seed_verdict=%s\n", verdict(seed.ok));
}

/* --- 2. fault --- */

struct fault_test {
	const char *label;
	const char *key;
	int dontneed;
	int threads;
	double rate[NR_SIDES][MAX_ROUNDS];	/* faults per second */
	double med[NR_SIDES];
	double round_ratio[MAX_ROUNDS];		/* on / off of each round */
	long zap[NR_SIDES];			/* vmstat deltas, all rounds */
	double ratio;
	double target;				/* on / off, or 0 */
	int ok;
};

static struct fault_test fault_tests[] = {
	{ .label = "page_fault1, 1 thread", .key = "page_fault1_1t",
	  .threads = 1, .target = 0.99 },
	{ .label = "page_fault1, 2 threads", .key = "page_fault1_2t",
	  .threads = 2, .target = 0.99 },
	{ .label = "page_fault_dontneed, 1 thread", .key = "page_fault_dontneed_1t",
	  .dontneed = 1, .threads = 1 },
	{ .label = "page_fault_dontneed, 2 threads", .key = "page_fault_dontneed_2t",
	  .dontneed = 1, .threads = 2 },
};

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define NR_FAULT_TESTS	ARRAY_SIZE(fault_tests)

struct worker {
	pthread_t th;
	pthread_barrier_t *start;
	long slice_ns;
	int dontneed;
	long pages;		/* written */
	long ns;
	int err;
	const char *what;
};

static void *fault_worker(void *arg)
{
	struct worker *w = arg;
	char *p = NULL;
	unsigned long i;
	long t0, end, n = 0;

	pthread_barrier_wait(w->start);
	t0 = now_ns();
	end = t0 + w->slice_ns;
	for (;;) {
		if (!p) {
			p = mmap(NULL, FAULT_SIZE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED) {
				w->err = errno;
				w->what = "mmap";
				return NULL;
			}
			if (madvise(p, FAULT_SIZE, MADV_NOHUGEPAGE)) {
				w->err = errno;
				w->what = "MADV_NOHUGEPAGE";
				break;
			}
		}
		for (i = 0; i < FAULT_SIZE; i += PAGE) {
			touch(p + i);
			if (!(++n % 64) && now_ns() >= end)
				goto out;
		}
		if (w->dontneed) {
			if (madvise(p, FAULT_SIZE, MADV_DONTNEED)) {
				w->err = errno;
				w->what = "MADV_DONTNEED";
				break;
			}
		} else {
			munmap(p, FAULT_SIZE);
			p = NULL;
		}
	}
out:
	w->ns = now_ns() - t0;
	w->pages = n;
	if (p)
		munmap(p, FAULT_SIZE);
	return NULL;
}

/* One round of one side: faults per second of all threads together. */
static double fault_slice(struct fault_test *t, long slice_ns)
{
	struct worker w[2] = { 0 };
	pthread_barrier_t start;
	double rate = 0;
	int i, e;

	if (pthread_barrier_init(&start, NULL, t->threads + 1))
		die("pthread_barrier_init");
	for (i = 0; i < t->threads; i++) {
		w[i].start = &start;
		w[i].slice_ns = slice_ns;
		w[i].dontneed = t->dontneed;
		e = pthread_create(&w[i].th, NULL, fault_worker, &w[i]);
		if (e) {
			errno = e;
			die("pthread_create");
		}
	}
	pthread_barrier_wait(&start);
	for (i = 0; i < t->threads; i++)
		pthread_join(w[i].th, NULL);
	pthread_barrier_destroy(&start);
	for (i = 0; i < t->threads; i++) {
		if (w[i].err) {
			errno = w[i].err;
			fprintf(stderr, "%s: ", t->label);
			die(w[i].what);
		}
		if (w[i].ns > 0)
			rate += w[i].pages * 1e9 / w[i].ns;
	}
	return rate;
}

static void part_fault(void)
{
	long slice_ns = (long)fault_secs * 1000000000L / rounds;
	unsigned int k;
	int r, j;

	for (k = 0; k < NR_FAULT_TESTS; k++) {
		struct fault_test *t = &fault_tests[k];

		/* Uncounted: first-use costs. */
		set_zap(0);
		fault_slice(t, slice_ns / 2);
		set_zap(1);
		fault_slice(t, slice_ns / 2);

		for (r = 0; r < rounds; r++) {
			for (j = 0; j < NR_SIDES; j++) {
				int side = r % 2 ? NR_SIDES - 1 - j : j;
				long z0;

				set_zap(side == ON);
				z0 = vm_event("pt_reclaim_zap");
				t->rate[side][r] = fault_slice(t, slice_ns);
				t->zap[side] += vm_event("pt_reclaim_zap") - z0;
			}
		}
		for (j = 0; j < NR_SIDES; j++)
			t->med[j] = median(t->rate[j], rounds);
		for (r = 0; r < rounds; r++)
			t->round_ratio[r] = t->rate[OFF][r] > 0 ?
					    t->rate[ON][r] / t->rate[OFF][r] : 0;
		t->ratio = median(t->round_ratio, rounds);
		t->ok = !t->target || t->ratio >= t->target;
	}
	restore_sysctls();
}

static void print_fault(void)
{
	unsigned int k;

	printf("2. fault: 4 KiB write faults per second (128 MiB per thread, MADV_NOHUGEPAGE),\n"
	       "   medians of %d rounds of %.2f s per side, off and on alternating;\n"
	       "   on/off is the median of the rounds' ratios\n\n",
	       rounds, (double)fault_secs / rounds);
	printf("%-32s %12s %12s %8s   %s\n", "", "off", "on", "on/off", "target");
	for (k = 0; k < NR_FAULT_TESTS; k++) {
		struct fault_test *t = &fault_tests[k];
		char tgt[32] = "none";

		if (t->target)
			snprintf(tgt, sizeof(tgt), ">= %.2f %s", t->target, verdict(t->ok));
		printf("%-32s %12.0f %12.0f %8.3f   %s\n", t->label, t->med[OFF], t->med[ON],
		       t->ratio, tgt);
		if (t->dontneed)
			printf("   %-29s %12ld %12ld%s\n", "tables freed (pt_reclaim_zap)",
			       t->zap[OFF], t->zap[ON],
			       t->zap[ON] > 0 ? "" : "   none freed: not measured");
	}
	printf("(page_fault1 runs the same code on both sides, munmap() frees its tables\n"
	       " either way: its ratio is the noise. page_fault_dontneed frees the 64 PTE\n"
	       " tables of its 128 MiB at each MADV_DONTNEED with reclaim on, and faults\n"
	       " them back at once: its ratio is what freeing costs when every table freed\n"
	       " is needed again, the worst case for reclaim at zap time)\n\n");
}

static void print_rounds(const char *key, const char *fmt, const double *v)
{
	int i;

	printf("%s=", key);
	for (i = 0; i < rounds; i++) {
		printf(fmt, v[i]);
		putchar(i + 1 < rounds ? ',' : '\n');
	}
}

static void keys_fault(void)
{
	unsigned int k;
	int side;

	printf("fault_seconds=%d\n", fault_secs);
	printf("fault_rounds=%d\n", rounds);
	for (k = 0; k < NR_FAULT_TESTS; k++) {
		struct fault_test *t = &fault_tests[k];
		char key[80];

		for (side = OFF; side < NR_SIDES; side++) {
			printf("%s_%s_faults_per_s=%.0f\n", t->key, side_name[side], t->med[side]);
			snprintf(key, sizeof(key), "%s_%s_runs", t->key, side_name[side]);
			print_rounds(key, "%.0f", t->rate[side]);
			if (t->dontneed)
				printf("%s_%s_pt_reclaim_zap=%ld\n", t->key, side_name[side],
				       t->zap[side]);
		}
		printf("%s_ratio=%.4f\n", t->key, t->ratio);
		snprintf(key, sizeof(key), "%s_round_ratios", t->key);
		print_rounds(key, "%.3f", t->round_ratio);
		if (t->target) {
			printf("%s_target=%.2f\n", t->key, t->target);
			printf("%s_verdict=%s\n", t->key, verdict(t->ok));
		}
	}
}

/* --- 3. region --- */

struct sharer_res {
	int idx;
	int err;		/* errno of the failed step, or 0 */
	long minflt;
	long ns;
	long sum;		/* of the bytes read */
};

struct region_out {
	long pt_start;		/* no region, no sharer */
	long pt_before;		/* all attached, idle */
	long pt_populated;	/* the first wrote every page */
	long pt_after;		/* after its MADV_DONTNEED, settled */
	long pt_refilled;	/* the first read every page again */
	long pt_linked;		/* all others read every page */
	long pt_gone;		/* all gone, region removed, settled */
	double settle_s;	/* PageTables moved until then */
	long zap;		/* vmstat delta over the MADV_DONTNEED */
	long first_write_minflt;
	long first_write_ms;
	long first_read_minflt;
	long first_read_ms;
	long others_max, others_min, others_total, others_over;
	long others_ms;		/* all of them */
	long target_kb;
	int data_ok;
	int pt_ok, flt_ok;
};

static struct region_out reg;

/* PageTables once it has not moved for 1 s (at most 10 s); *secs: until then. */
static long settle_pagetables(double *secs)
{
	long t0 = now_ns(), changed = t0, pt, prev;
	int stable = 0, i;

	pt = meminfo_kb("PageTables");
	for (i = 0; i < 100 && stable < 10; i++) {
		usleep(100000);
		prev = pt;
		pt = meminfo_kb("PageTables");
		if (pt == prev) {
			stable++;
		} else {
			stable = 0;
			changed = now_ns();
		}
	}
	if (secs)
		*secs = (changed - t0) / 1e9;
	return pt;
}

/* A sharer: map the region, say so, then do what it is told, one at a time. */
static void sharer(int idx, int fd, unsigned long size, int ready, int cmd, int res)
{
	struct sharer_res r = { .idx = idx };
	unsigned long i;
	long f0, t0;
	char *p, c;

	p = map_region(fd, size, PROT_READ | PROT_WRITE);
	if (!p)
		_exit(2);
	warm_up();
	child_ready(ready);
	while (read(cmd, &c, 1) == 1) {
		r.err = 0;
		r.sum = 0;
		f0 = self_minflt();
		t0 = now_ns();
		switch (c) {
		case 'w':
			for (i = 0; i < size; i += PAGE)
				touch(p + i);
			break;
		case 'r':
			for (i = 0; i < size; i += PAGE)
				r.sum += peek(p + i);
			break;
		case 'd':
			if (madvise(p, size, MADV_DONTNEED))
				r.err = errno;
			break;
		default:
			_exit(0);
		}
		r.ns = now_ns() - t0;
		r.minflt = self_minflt() - f0;
		if (write(res, &r, sizeof(r)) != sizeof(r))
			_exit(3);
	}
	_exit(0);
}

/* Tell sharer k to do c and wait for its report. */
static void order(int *cmd, int k, char c, int res, struct sharer_res *r)
{
	struct pollfd pfd = { .fd = res, .events = POLLIN };
	int i, st, n, waited = 0;

	if (write(cmd[k], &c, 1) != 1)
		die("command to a sharer");
	for (;;) {
		n = poll(&pfd, 1, 1000);
		if (n > 0)
			break;
		if (n < 0 && errno != EINTR)
			die("poll");
		for (i = 0; i < nr_sharer_pids; i++) {
			if (waitpid(sharer_pids[i], &st, WNOHANG) == sharer_pids[i]) {
				fprintf(stderr, "sharer %d ended early: status %#x\n", i, st);
				sharer_pids[i] = sharer_pids[--nr_sharer_pids];
				exit(1);
			}
		}
		if (++waited > 1200) {
			fprintf(stderr, "sharer %d: no report in 1200 s\n", k);
			exit(1);
		}
	}
	if (read(res, r, sizeof(*r)) != sizeof(*r))
		die("report of a sharer");
	if (r->idx != k) {
		fprintf(stderr, "report of sharer %d, not %d\n", r->idx, k);
		exit(1);
	}
	if (r->err) {
		errno = r->err;
		fprintf(stderr, "sharer %d, '%c': ", k, c);
		die("madvise");
	}
}

static void part_region(void)
{
	unsigned long size = region_gib << 30, unit;
	long npages = size / PAGE, z0;
	int ready[2], res[2], *cmd, fd, e, k, st, failed = 0;
	struct sharer_res r;
	long t0;

	if (zap_saved >= 0)
		set_zap(1);
	reg.pt_start = settle_pagetables(NULL);
	if (mount_instance(mnt, sizeof(mnt))) {
		mnt[0] = '\0';
		die("mount msharefs");
	}
	unit = mshare_unit(mnt);
	if (!unit || size % unit) {
		fprintf(stderr, "region: size %lu is not a multiple of the region unit %lu\n",
			size, unit);
		exit(1);
	}
	snprintf(region_path, sizeof(region_path), "%s/ptreclaim", mnt);
	fd = region_create(mnt, "ptreclaim", size);
	if (fd < 0) {
		region_path[0] = '\0';
		errno = -fd;
		die("region");
	}
	e = mshare_anon(fd, 0, size);
	if (e) {
		errno = e;
		die("MSHAREFS_CREATE_MAPPING");
	}

	cmd = calloc(nr_sharers, sizeof(*cmd));
	sharer_pids = calloc(nr_sharers, sizeof(*sharer_pids));
	if (!cmd || !sharer_pids || pipe(ready) || pipe(res))
		die("setup");
	for (k = 0; k < nr_sharers; k++) {
		int c[2];
		pid_t pid;

		if (pipe(c))
			die("pipe");
		pid = fork_child();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			int j;

			/* Keep no other sharer's command pipe open. */
			for (j = 0; j < k; j++)
				close(cmd[j]);
			close(c[1]);
			close(ready[0]);
			close(res[0]);
			sharer(k, fd, size, ready[1], c[0], res[1]);
		}
		sharer_pids[nr_sharer_pids++] = pid;
		close(c[0]);
		cmd[k] = c[1];
	}
	close(ready[1]);
	close(res[1]);
	if (read_n(ready[0], nr_sharers, 120) != nr_sharers) {
		fprintf(stderr, "region: not every sharer could map the region\n");
		exit(1);
	}
	close(ready[0]);

	/* All attached, none has touched it. */
	reg.pt_before = settle_pagetables(NULL);

	order(cmd, 0, 'w', res[0], &r);
	reg.first_write_minflt = r.minflt;
	reg.first_write_ms = r.ns / 1000000;
	reg.pt_populated = settle_pagetables(NULL);

	z0 = vm_event("pt_reclaim_zap");
	order(cmd, 0, 'd', res[0], &r);
	reg.pt_after = settle_pagetables(&reg.settle_s);
	reg.zap = vm_event("pt_reclaim_zap") - z0;

	reg.data_ok = 1;
	order(cmd, 0, 'r', res[0], &r);
	reg.first_read_minflt = r.minflt;
	reg.first_read_ms = r.ns / 1000000;
	if (r.sum != npages)
		reg.data_ok = 0;
	reg.pt_refilled = meminfo_kb("PageTables");

	reg.others_min = -1;
	t0 = now_ns();
	for (k = 1; k < nr_sharers; k++) {
		order(cmd, k, 'r', res[0], &r);
		if (r.sum != npages)
			reg.data_ok = 0;
		if (r.minflt > reg.others_max)
			reg.others_max = r.minflt;
		if (reg.others_min < 0 || r.minflt < reg.others_min)
			reg.others_min = r.minflt;
		if (r.minflt > 1)
			reg.others_over++;
		reg.others_total += r.minflt;
	}
	reg.others_ms = (now_ns() - t0) / 1000000;
	reg.pt_linked = meminfo_kb("PageTables");

	for (k = 0; k < nr_sharers; k++) {
		if (write(cmd[k], "q", 1) != 1)
			failed++;
		close(cmd[k]);
	}
	for (k = 0; k < nr_sharer_pids; k++) {
		if (wait_child(sharer_pids[k], &st, 60) || !exited_with(st, 0))
			failed++;
	}
	nr_sharer_pids = 0;
	close(res[0]);
	free(cmd);
	if (failed) {
		fprintf(stderr, "region: %d sharers failed\n", failed);
		exit(1);
	}
	close(fd);
	unlink(region_path);
	region_path[0] = '\0';
	umount_instance(mnt);
	mnt[0] = '\0';
	reg.pt_gone = settle_pagetables(NULL);
	restore_sysctls();

	reg.target_kb = 16 + 4 * region_gib;
	reg.pt_ok = reg.pt_after - reg.pt_before <= reg.target_kb;
	reg.flt_ok = nr_sharers < 2 || reg.others_max <= 1;
}

static void print_region(void)
{
	printf("3. region: %d sharers map a %lu GiB msharefs region (one anonymous mapping);\n"
	       "   the first writes every page, then MADV_DONTNEED of all of it through it\n\n",
	       nr_sharers, region_gib);
	printf("%-52s %10s   %s\n", "", "", "target");
	printf("%-52s %10ld\n", "PageTables at start, no region, no sharer (kB)",
	       reg.pt_start);
	printf("%-52s %10ld\n", "PageTables, all attached, idle (kB)", reg.pt_before);
	printf("%-52s %+10ld\n", "  growth, the first wrote every page (kB)",
	       reg.pt_populated - reg.pt_before);
	printf("%-52s %+10ld   <= %ld kB (16 + 4 per GiB: host PMD tables) %s\n",
	       "  growth, after MADV_DONTNEED of it all (kB)", reg.pt_after - reg.pt_before,
	       reg.target_kb, verdict(reg.pt_ok));
	printf("%-52s %10ld\n", "  freed by the MADV_DONTNEED (kB)",
	       reg.pt_populated - reg.pt_after);
	printf("%-52s %10ld\n", "  tables freed (pt_reclaim_zap delta)", reg.zap);
	printf("%-52s %10.1f\n", "  PageTables last moved after the DONTNEED (s)", reg.settle_s);
	printf("%-52s %10ld   (%ld ms)\n", "minor faults of the first, writing every page",
	       reg.first_write_minflt, reg.first_write_ms);
	printf("%-52s %10ld   (%ld ms)\n", "minor faults of the first, reading it all again",
	       reg.first_read_minflt, reg.first_read_ms);
	printf("%-52s %+10ld\n", "  PageTables growth, refilled (kB)",
	       reg.pt_refilled - reg.pt_before);
	if (nr_sharers > 1) {
		printf("%-52s %10ld   <= 1 %s\n",
		       "minor faults of each other sharer reading it, max", reg.others_max,
		       verdict(reg.flt_ok));
		printf("%-52s %10ld\n", "  min", reg.others_min);
		printf("%-52s %10ld   (%ld ms for all %d)\n", "  total", reg.others_total,
		       reg.others_ms, nr_sharers - 1);
		printf("%-52s %10ld\n", "  sharers with more than 1", reg.others_over);
	}
	printf("%-52s %+10ld\n", "  PageTables growth, all linked (kB)",
	       reg.pt_linked - reg.pt_before);
	printf("%-52s %10ld\n", "PageTables after, all gone (kB)", reg.pt_gone);
	printf("%-52s %10s\n\n", "data read back as written", reg.data_ok ? "yes" : "NO");
}

static void keys_region(void)
{
	printf("region_sharers=%d\n", nr_sharers);
	printf("region_gib=%lu\n", region_gib);
	printf("region_pagetables_start_kb=%ld\n", reg.pt_start);
	printf("region_pagetables_before_kb=%ld\n", reg.pt_before);
	printf("region_pagetables_populated_kb=%ld\n", reg.pt_populated - reg.pt_before);
	printf("region_pagetables_after_dontneed_kb=%ld\n", reg.pt_after - reg.pt_before);
	printf("region_pagetables_freed_kb=%ld\n", reg.pt_populated - reg.pt_after);
	printf("region_pt_reclaim_zap=%ld\n", reg.zap);
	printf("region_settle_s=%.1f\n", reg.settle_s);
	printf("region_first_write_minflt=%ld\n", reg.first_write_minflt);
	printf("region_first_read_minflt=%ld\n", reg.first_read_minflt);
	printf("region_pagetables_refilled_kb=%ld\n", reg.pt_refilled - reg.pt_before);
	printf("region_others_minflt_max=%ld\n", reg.others_max);
	printf("region_others_minflt_min=%ld\n", reg.others_min);
	printf("region_others_minflt_total=%ld\n", reg.others_total);
	printf("region_others_over_1=%ld\n", reg.others_over);
	printf("region_pagetables_linked_kb=%ld\n", reg.pt_linked - reg.pt_before);
	printf("region_pagetables_gone_kb=%ld\n", reg.pt_gone);
	printf("region_data_ok=%s\n", reg.data_ok ? "yes" : "no");
	printf("region_target_after_dontneed_kb=%ld\n", reg.target_kb);
	printf("region_target_others_minflt=1\n");
	printf("region_pagetables_verdict=%s\n", verdict(reg.pt_ok));
	printf("region_minflt_verdict=%s\n", verdict(reg.flt_ok));
}

/* --- main --- */

enum { PART_SEED = 1, PART_FAULT = 2, PART_REGION = 4, PART_ALL = 7 };

static void print_usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-p seed|fault|region|all[,...]] [-s seed GiB] [-t seconds]\n"
		"       [-r rounds] [-n sharers] [-g region GiB]\n"
		"defaults: -p all -s 50 -t 5 -r 10 -n 64 -g 1\n", prog);
	exit(1);
}

static int parse_parts(char *arg)
{
	int parts = 0;
	char *s;

	for (s = strtok(arg, ","); s; s = strtok(NULL, ",")) {
		if (!strcmp(s, "seed"))
			parts |= PART_SEED;
		else if (!strcmp(s, "fault"))
			parts |= PART_FAULT;
		else if (!strcmp(s, "region"))
			parts |= PART_REGION;
		else if (!strcmp(s, "all"))
			parts |= PART_ALL;
		else
			return 0;
	}
	return parts;
}

int main(int argc, char **argv)
{
	int opt, parts = PART_ALL, ok = 1;
	struct utsname un;

	while ((opt = getopt(argc, argv, "p:s:t:r:n:g:h")) != -1) {
		switch (opt) {
		case 'p':
			parts = parse_parts(optarg);
			break;
		case 's':
			seed_gib = strtoul(optarg, NULL, 10);
			break;
		case 't':
			fault_secs = atoi(optarg);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'n':
			nr_sharers = atoi(optarg);
			break;
		case 'g':
			region_gib = strtoul(optarg, NULL, 10);
			break;
		default:
			print_usage(argv[0]);
		}
	}
	if (optind < argc || !parts || seed_gib < 1 || seed_gib > 4096 || fault_secs < 1 ||
	    rounds < 1 || rounds > MAX_ROUNDS || nr_sharers < 1 || nr_sharers > 4096 ||
	    region_gib < 1 || region_gib > 512)
		print_usage(argv[0]);
	setvbuf(stdout, NULL, _IOLBF, 0);

	main_pid = getpid();
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);

	zap_saved = read_long_file(ZAP_SYSCTL);
	if (zap_saved >= 0)
		snprintf(zap_saved_s, sizeof(zap_saved_s), "%ld\n", zap_saved);
	if (zap_saved < 0 && (parts & (PART_SEED | PART_FAULT))) {
		fprintf(stderr, "%s: cannot read it (a kernel without CONFIG_PT_RECLAIM?)\n",
			ZAP_SYSCTL);
		return 1;
	}
	if (vm_event("pt_reclaim_zap") < 0 && (parts & (PART_SEED | PART_FAULT))) {
		fprintf(stderr, "/proc/vmstat has no pt_reclaim_zap\n");
		return 1;
	}
	uname(&un);
	printf("mshare-bench-ptreclaim: page-table reclaim with vm.pt_reclaim_zap=0 (off) beside\n"
	       "=1 (on), one boot (kernel %s, vm.pt_reclaim_zap was %ld; times under\n"
	       "emulation only mean something as ratios within one run)\n\n",
	       un.release, zap_saved);

	if (parts & PART_SEED) {
		part_seed();
		print_seed();
		ok &= seed.ok;
	}
	if (parts & PART_FAULT) {
		unsigned int k;

		part_fault();
		print_fault();
		for (k = 0; k < NR_FAULT_TESTS; k++)
			ok &= fault_tests[k].ok;
	}
	if (parts & PART_REGION) {
		part_region();
		print_region();
		ok &= reg.pt_ok && reg.flt_ok && reg.data_ok;
	}

	if (parts & PART_SEED)
		keys_seed();
	if (parts & PART_FAULT)
		keys_fault();
	if (parts & PART_REGION)
		keys_region();
	printf("verdict=%s\n", verdict(ok));
	return ok ? 0 : 2;
}
