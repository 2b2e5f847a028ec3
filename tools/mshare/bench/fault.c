// SPDX-License-Identifier: GPL-2.0
/*
 * mshare-bench-fault: what page faults on 256 MiB of shared memory cost
 * with msharefs beside a plain memfd.
 *
 *   mshare-bench-fault [-r runs]     (default 7 runs of each, at most 31)
 *
 * Three measurements, each the median of runs that alternate msharefs and
 * memfd (after one uncounted run of each), each run on fresh memory (a new
 * region of one unit with an anonymous mapping of 256 MiB at offset 0, or a
 * new memfd of 256 MiB) and in a fresh process:
 *  a. first touch: a process maps the memory and writes one byte per page;
 *     only the write loop is timed. Target: msharefs / memfd <= 1.10.
 *  b. attach to populated: a first process writes every page and exits, a
 *     second maps the memory and reads one byte per page; its loop is
 *     timed. msharefs links the host's tables 2 MiB to 1 GiB at a time, so
 *     this is expected well below 1; no target.
 *  c. two threads of one process write one byte per page of the two
 *     halves of the memory, from a common start barrier until both are
 *     done. Target: msharefs / memfd <= 1.15.
 * The minor faults of each run (getrusage() deltas over the timed loop,
 * RUSAGE_SELF, or RUSAGE_THREAD summed over the two threads) are printed
 * too: msharefs should take no more than memfd.
 *
 * Exit status: 0, 1 if something failed to run, 2 if a target was missed.
 * Run it as root on the non-debug (bench) kernel.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <linux/msharefs.h>
#include <pthread.h>
#include <sys/mman.h>

/* mshare_anon(), region_create(), shared_mem(), ... shared with the selftests */
#include "../../testing/selftests/mm/mshare/mshare_util.h"

#define PAGE		4096UL
#define SIZE		(256UL << 20)
#define MAX_RUNS	31

enum kind { MSHAREFS, MEMFD, NR_KINDS };
enum test { FIRST_TOUCH, ATTACH, THREADS, NR_TESTS };

static const char * const kind_name[NR_KINDS] = { "msharefs", "memfd" };
static const char * const test_key[NR_TESTS] = { "first_touch", "attach", "threads" };

/* What a measuring process reports, in memory shared with it. */
struct res {
	long ns;
	long minflt;
	int err;		/* errno of a failed step, or -1 */
};

static char mnt[64];
static unsigned long unit;
static int nregion;

static void cleanup(void)
{
	if (mnt[0]) {
		umount_instance(mnt);
		mnt[0] = '\0';
	}
}

static void die(const char *what)
{
	perror(what);
	exit(1);	/* cleanup() runs from atexit() */
}

static long ns_between(struct timespec *a, struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000000000L + (b->tv_nsec - a->tv_nsec);
}

static long thread_minflt(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru))
		return -1;
	return ru.ru_minflt;
}

/*
 * The vDSO's data pages are not copied by fork(): the first clock_gettime()
 * of a child faults them in. Call it before counting, as getrusage() too.
 */
static void warm_up(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	self_minflt();
	thread_minflt();
}

/* The object of one run. */
struct obj {
	int kind;
	int fd;
	char path[128];
	unsigned long maplen;	/* what a process maps */
};

static void obj_create(struct obj *o, int kind)
{
	int e;

	o->kind = kind;
	o->path[0] = '\0';
	if (kind == MSHAREFS) {
		char name[32];

		snprintf(name, sizeof(name), "fault%d", nregion++);
		snprintf(o->path, sizeof(o->path), "%s/%s", mnt, name);
		o->fd = region_create(mnt, name, unit);
		if (o->fd < 0) {
			errno = -o->fd;
			die("region");
		}
		e = mshare_anon(o->fd, 0, SIZE);
		if (e) {
			errno = e;
			die("MSHAREFS_CREATE_MAPPING");
		}
		o->maplen = unit;
	} else {
		o->fd = memfd_create("fault", 0);
		if (o->fd < 0 || ftruncate(o->fd, SIZE))
			die("memfd");
		o->maplen = SIZE;
	}
}

static void obj_destroy(struct obj *o)
{
	close(o->fd);
	if (o->path[0])
		unlink(o->path);
	/* Let a region's host mm go (it may be torn down by a worker). */
	usleep(100000);
}

static volatile char *obj_map(struct obj *o)
{
	void *p = mmap(NULL, o->maplen, PROT_READ | PROT_WRITE, MAP_SHARED, o->fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Run fn in a fresh child process; 0, or -1 if it did not end well. */
static int in_child(void (*fn)(struct obj *, struct res *), struct obj *o, struct res *r)
{
	pid_t pid;
	int st = 0;

	r->err = -1;
	pid = fork_child();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		fn(o, r);
		r->err = 0;
		_exit(0);
	}
	if (wait_child(pid, &st, 1200) || !exited_with(st, 0) || r->err) {
		if (r->err > 0)
			errno = r->err;
		fprintf(stderr, "%s: a measuring process failed (status %#x, %s)\n",
			kind_name[o->kind], st, r->err > 0 ? strerror(r->err) : "no report");
		return -1;
	}
	return 0;
}

#define CHILD_FAIL(r)	do { (r)->err = errno ?: EIO; _exit(1); } while (0)

/* a. Map fresh memory and write one byte per page. */
static void first_touch(struct obj *o, struct res *r)
{
	struct timespec t0, t1;
	volatile char *p;
	unsigned long i;
	long f0;

	p = obj_map(o);
	if (!p)
		CHILD_FAIL(r);
	warm_up();
	f0 = self_minflt();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < SIZE; i += PAGE)
		p[i] = 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->minflt = self_minflt() - f0;
	r->ns = ns_between(&t0, &t1);
}

/* b, first process: write every page, then go. */
static void populate(struct obj *o, struct res *r)
{
	volatile char *p;
	unsigned long i;

	p = obj_map(o);
	if (!p)
		CHILD_FAIL(r);
	for (i = 0; i < SIZE; i += PAGE)
		p[i] = 1;
}

/* b, second process: map the populated memory, read one byte per page. */
static void attach(struct obj *o, struct res *r)
{
	struct timespec t0, t1;
	volatile char *p;
	unsigned long i;
	long f0, sum = 0;

	p = obj_map(o);
	if (!p)
		CHILD_FAIL(r);
	warm_up();
	f0 = self_minflt();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < SIZE; i += PAGE)
		sum += p[i];
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->minflt = self_minflt() - f0;
	r->ns = ns_between(&t0, &t1);
	if (sum != (long)(SIZE / PAGE)) {
		errno = EILSEQ;
		CHILD_FAIL(r);
	}
}

/* c. Two threads, one half each. */
struct half {
	pthread_t th;
	pthread_barrier_t *start;
	volatile char *p;
	long minflt;
};

static void *half_writer(void *arg)
{
	struct half *h = arg;
	unsigned long i;
	long f0;

	warm_up();
	f0 = thread_minflt();
	pthread_barrier_wait(h->start);
	for (i = 0; i < SIZE / 2; i += PAGE)
		h->p[i] = 1;
	h->minflt = thread_minflt() - f0;
	return NULL;
}

static void two_threads(struct obj *o, struct res *r)
{
	struct timespec t0, t1;
	pthread_barrier_t start;
	struct half h[2];
	volatile char *p;
	int i, e;

	p = obj_map(o);
	if (!p)
		CHILD_FAIL(r);
	warm_up();
	if (pthread_barrier_init(&start, NULL, 3))
		CHILD_FAIL(r);
	for (i = 0; i < 2; i++) {
		h[i].start = &start;
		h[i].p = p + i * (SIZE / 2);
		e = pthread_create(&h[i].th, NULL, half_writer, &h[i]);
		if (e) {
			errno = e;
			CHILD_FAIL(r);
		}
	}
	pthread_barrier_wait(&start);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 2; i++)
		pthread_join(h[i].th, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->ns = ns_between(&t0, &t1);
	r->minflt = h[0].minflt + h[1].minflt;
}

/* One run of one test on fresh memory. */
static int run_once(int test, int kind, struct res *shared, struct res *out)
{
	struct obj o;
	int ret;

	memset(shared, 0, sizeof(*shared));
	obj_create(&o, kind);
	switch (test) {
	case FIRST_TOUCH:
		ret = in_child(first_touch, &o, shared);
		break;
	case ATTACH:
		ret = in_child(populate, &o, shared);
		if (!ret)
			ret = in_child(attach, &o, shared);
		break;
	default:
		ret = in_child(two_threads, &o, shared);
		break;
	}
	*out = *shared;
	obj_destroy(&o);
	return ret;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

static long median(const long *v, int n)
{
	long tmp[MAX_RUNS];

	memcpy(tmp, v, n * sizeof(*v));
	qsort(tmp, n, sizeof(*tmp), cmp_long);
	return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

struct column {
	long ns[MAX_RUNS], minflt[MAX_RUNS];
	long ns_med, minflt_med, minflt_max;
};

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-r runs]\n", prog);
	exit(1);
}

static void print_runs(const char *key, const long *v, int n, long div)
{
	int i;

	printf("%s=", key);
	for (i = 0; i < n; i++)
		printf("%ld%s", v[i] / div, i + 1 < n ? "," : "\n");
}

int main(int argc, char **argv)
{
	static const char * const label[NR_TESTS] = {
		"a. first touch, write (ms)",
		"b. attach to populated, read (ms)",
		"c. 2 threads, halves, write (ms)",
	};
	static const double target[NR_TESTS] = { 1.10, 0, 1.15 };
	static struct column col[NR_TESTS][NR_KINDS];
	char shmem_thp[64] = "?";
	int opt, runs = 7, t, k, j, ret = 0, fewer_faults = 1;
	struct res *shared;

	while ((opt = getopt(argc, argv, "r:h")) != -1) {
		switch (opt) {
		case 'r':
			runs = atoi(optarg);
			break;
		default:
			usage(argv[0]);
		}
	}
	if (runs < 1 || runs > MAX_RUNS)
		usage(argv[0]);
	setvbuf(stdout, NULL, _IOLBF, 0);

	atexit(cleanup);
	if (mount_instance(mnt, sizeof(mnt))) {
		mnt[0] = '\0';
		die("mount msharefs");
	}
	unit = mshare_unit(mnt);
	if (!unit || unit < SIZE) {
		fprintf(stderr, "cannot read the region unit, or it is below 256 MiB\n");
		return 1;
	}
	shared = shared_mem(sizeof(*shared));
	if (!shared)
		die("shared memory");
	if (read_file("/sys/kernel/mm/transparent_hugepage/shmem_enabled", shmem_thp,
		      sizeof(shmem_thp)) > 0) {
		/* "always within_size advise [never] deny force": the choice */
		char *s = strchr(shmem_thp, '[');

		if (s && strchr(s, ']'))
			memmove(shmem_thp, s + 1, strchr(s, ']') - s - 1 + 1);
		shmem_thp[strcspn(shmem_thp, "]\n")] = '\0';
	}

	for (t = 0; t < NR_TESTS; t++) {
		/* One run of each that is not counted: caches, first-use costs. */
		for (k = 0; k < NR_KINDS; k++) {
			struct res r;

			if (run_once(t, k, shared, &r))
				return 1;
		}
		for (j = 0; j < runs; j++) {
			for (k = 0; k < NR_KINDS; k++) {
				struct res r;

				if (run_once(t, k, shared, &r))
					return 1;
				col[t][k].ns[j] = r.ns;
				col[t][k].minflt[j] = r.minflt;
			}
		}
		for (k = 0; k < NR_KINDS; k++) {
			struct column *c = &col[t][k];

			c->ns_med = median(c->ns, runs);
			c->minflt_med = median(c->minflt, runs);
			for (j = 0; j < runs; j++)
				if (c->minflt[j] > c->minflt_max)
					c->minflt_max = c->minflt[j];
		}
		/* A region's first fault in a 1 GiB slot may only link it. */
		if (col[t][MSHAREFS].minflt_med > col[t][MEMFD].minflt_med + 1)
			fewer_faults = 0;
	}

	printf("mshare-bench-fault: page faults on 256 MiB of shared memory, one byte per\n"
	       "4 KiB page, msharefs (a region's anonymous mapping) beside a memfd\n"
	       "(medians of %d runs each, msharefs and memfd alternating, fresh memory and\n"
	       " a fresh process each run; shmem THP: %s; times under emulation only\n"
	       " mean something as ratios)\n\n", runs, shmem_thp);
	printf("%-38s %12s %12s %9s   %s\n", "", "msharefs", "memfd", "ratio",
	       "target (msharefs / memfd)");
	for (t = 0; t < NR_TESTS; t++) {
		struct column *a = &col[t][MSHAREFS], *b = &col[t][MEMFD];
		double ratio = b->ns_med > 0 ? (double)a->ns_med / b->ns_med : 0;
		char tgt[48] = "none, reported";

		if (target[t] > 0) {
			int ok = b->ns_med > 0 && ratio <= target[t];

			snprintf(tgt, sizeof(tgt), "<= %.2f %s", target[t], ok ? "PASS" : "FAIL");
			if (!ok)
				ret = 2;
		}
		printf("%-38s %12.3f %12.3f %9.3f   %s\n", label[t], a->ns_med / 1e6,
		       b->ns_med / 1e6, ratio, tgt);
		printf("   %-35s %12ld %12ld\n", "minor faults per run (median)", a->minflt_med,
		       b->minflt_med);
		printf("   %-35s %12ld %12ld\n", "minor faults per run (max)", a->minflt_max,
		       b->minflt_max);
	}
	printf("msharefs takes no more minor faults than memfd, but the link (medians): %s\n\n",
	       fewer_faults ? "yes" : "NO");

	printf("runs=%d\n", runs);
	printf("shmem_thp=%s\n", shmem_thp);
	for (t = 0; t < NR_TESTS; t++) {
		for (k = 0; k < NR_KINDS; k++) {
			struct column *c = &col[t][k];
			char key[64];

			printf("%s_%s_us=%ld\n", kind_name[k], test_key[t], c->ns_med / 1000);
			printf("%s_%s_minflt=%ld\n", kind_name[k], test_key[t], c->minflt_med);
			snprintf(key, sizeof(key), "%s_%s_runs_us", kind_name[k], test_key[t]);
			print_runs(key, c->ns, runs, 1000);
			snprintf(key, sizeof(key), "%s_%s_runs_minflt", kind_name[k], test_key[t]);
			print_runs(key, c->minflt, runs, 1);
		}
		printf("%s_ratio=%.4f\n", test_key[t], col[t][MEMFD].ns_med > 0 ?
		       (double)col[t][MSHAREFS].ns_med / col[t][MEMFD].ns_med : 0);
		if (target[t] > 0)
			printf("%s_target=%.2f\n", test_key[t], target[t]);
	}
	printf("fewer_faults=%s\n", fewer_faults ? "yes" : "no");
	return ret;
}
