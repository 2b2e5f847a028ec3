// SPDX-License-Identifier: GPL-2.0
/*
 * A seeded fuzzer of the msharefs region API
 * (Documentation/filesystems/msharefs.rst).
 *
 * Several processes, each with a few threads, draw weighted random
 * operations from a PRNG seeded by -s and the worker's index: region
 * create/open/unlink/rename and sizing in a private instance,
 * MSHAREFS_CREATE_MAPPING/MSHAREFS_UNMAP of anonymous, memfd, tmpfs, ext2
 * and hugetlb objects and of objects a region refuses, mmap/munmap of
 * regions, madvise, mprotect/mremap/mlock/msync, loads and stores, GUP
 * (vmsplice, process_vm_readv/writev, pread and O_DIRECT reads into region
 * memory), smaps/pagemap/fdinfo, fork, signals, worker exits, memfd
 * truncation and hole punching, garbage ioctls.
 *
 * Every refusal must carry an errno that the documentation allows for the
 * call, and calls the documentation refuses must fail. Each thread owns a
 * private region, mapping only objects of its own, whose layout and data
 * it models: a load gives what was last stored, zero after a documented
 * drop, SIGSEGV in a hole and SIGBUS past the end of a file. Regions of
 * the shared pool are used concurrently and only their errnos are checked.
 *
 * Usage: msharefs_fuzz [-s SEED] [-n OPS] [-t SECONDS] [-p PROCS]
 *			[-T THREADS] [-v]
 */
#define _GNU_SOURCE
#include <linux/falloc.h>
#include <dirent.h>
#include <linux/msharefs.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>

#include "mshare_util.h"

#define PAGE		4096UL
#define MB		(1UL << 20)
#define HPAGE		(2 * MB)
#define RW		(PROT_READ | PROT_WRITE)
#define MAX_PROCS	8
#define MAX_THREADS	8
#define NPOOL		6
#define NPFD		6
#define NPMAP		3
#define NSEG		24
#define MODEL_PAGES	1024
#define OBJ_SIZE	(4 * MB)
#define SHARED_OBJ_SIZE	(8 * MB)
#define MAX_FAILS	48
#define FAIL_LEN	400
#define HANG_SECS	60
#define NR_HUGE		24
#define ERR_MAX		134

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB	(21 << MAP_HUGE_SHIFT)
#define MAP_HUGE_1GB	(30 << MAP_HUGE_SHIFT)
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE	0x100000
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB	4U
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT	1
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT	4
#endif
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE	1
#define RENAME_EXCHANGE		2
#define RENAME_WHITEOUT		4
#endif
#define TMPFS_MAGIC_	0x01021994
#define HUGETLBFS_MAGIC_	0x958458f6
#define CREATE_FLAGS	(MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS | MAP_HUGETLB | \
			 MAP_NORESERVE | (MAP_HUGE_MASK << MAP_HUGE_SHIFT))
#define HOST_LIMIT	((1UL << 47) - 2 * (1UL << 30))

/* Operations and their weights. */
enum {
	OP_OPEN, OP_CLOSE, OP_UNLINK, OP_RENAME, OP_SIZE, OP_FSTAT, OP_NSOPS,
	OP_CREATE, OP_UNMAP, OP_MMAP, OP_MUNMAP, OP_PCREATE, OP_PUNMAP,
	OP_PREGION, OP_MADVISE, OP_SPLIT, OP_ACCESS, OP_GUP, OP_PROCREAD,
	OP_FDINFO, OP_OBJ, OP_BADIOCTL, OP_FORK, OP_SIGNAL, OP_EXIT, NOPS,
};

static const char *const op_names[NOPS] = {
	"open", "close", "unlink", "rename", "size", "fstat", "nsops",
	"create", "unmap", "mmap", "munmap", "pcreate", "punmap",
	"pregion", "madvise", "split", "access", "gup", "procread",
	"fdinfo", "obj", "badioctl", "fork", "signal", "exit",
};

static const int op_weight[NOPS] = {
	5, 3, 2, 2, 4, 2, 3,
	8, 5, 5, 3, 8, 5,
	2, 9, 5, 16, 6, 2,
	2, 5, 3, 1, 2, 0,
};

/* Operations a forked child may do: none changes the parent's model. */
static const bool child_ok[NOPS] = {
	[OP_OPEN] = 1, [OP_CLOSE] = 1, [OP_UNLINK] = 1, [OP_RENAME] = 1,
	[OP_SIZE] = 1, [OP_FSTAT] = 1, [OP_NSOPS] = 1, [OP_CREATE] = 1,
	[OP_UNMAP] = 1, [OP_MMAP] = 1, [OP_MUNMAP] = 1, [OP_ACCESS] = 1,
	[OP_PROCREAD] = 1, [OP_FDINFO] = 1, [OP_BADIOCTL] = 1,
	[OP_SPLIT] = 1, [OP_GUP] = 1,
};

/* State shared by the main process and every worker. */
struct shared {
	unsigned long seed;
	long budget;			/* ops per thread, or LONG_MAX */
	volatile int stop;
	int sysrq_done;			/* blocked tasks were dumped */
	int nfail;
	long fail_total;
	pid_t pids[MAX_PROCS];
	int gens[MAX_PROCS];
	volatile long done[MAX_PROCS][MAX_THREADS];
	volatile long op_start[MAX_PROCS][MAX_THREADS];	/* 0: idle */
	volatile int cur_op[MAX_PROCS][MAX_THREADS];
	volatile int cur_sub[MAX_PROCS][MAX_THREADS];	/* a step of the op */
	volatile pid_t tids[MAX_PROCS][MAX_THREADS];
	volatile unsigned long pub_addr[MAX_PROCS][MAX_THREADS];
	long cnt[NOPS];
	long hist[NOPS][ERR_MAX + 1];	/* [0]: success */
	long signals, forks, exits, faults_seen, data_checks, pvr;
	char fails[MAX_FAILS][FAIL_LEN];
};

/* Fixed at start, inherited by every worker. */
static struct shared *sh;
static char mnt[64], tmpdir[64], hugedir[64];
static unsigned long unit;
static int nprocs = 3, nthreads = 2, verbose;
static bool have_huge, have_ext2, own_tmpfs;
static struct ext2_loop ext2;
static pthread_rwlock_t map_lock = PTHREAD_RWLOCK_INITIALIZER;

/*
 * A thread that forks while another holds map_lock would leave the child
 * a lock nobody can release (the soak found children hanging in futex_wait
 * in op_mmap): fork with it held for writing, when no mmap() of another
 * thread is half done, and give the child a fresh one.
 */
static void map_lock_prepare(void)
{
	pthread_rwlock_wrlock(&map_lock);
}

static void map_lock_parent(void)
{
	pthread_rwlock_unlock(&map_lock);
}

static void map_lock_child(void)
{
	pthread_rwlock_init(&map_lock, NULL);
}

/* Shared objects, mapped only in pool regions. */
enum {
	K_ANON, K_MEMFD, K_TMPFS, K_EXT2, K_HANON, K_HFILE, K_HMEMFD,
	K_BADFD, K_NEG1, K_SELF, K_OTHER, K_INFO, K_PROC, K_DEVZERO,
	K_EVENTFD, K_PIPE, K_OPATH, K_RO, K_DIR, K_SECRET, NKINDS,
};
static int kind_fd[NKINDS];
static const int kind_weight[NKINDS] = {
	30, 15, 10, 8, 6, 5, 3,
	3, 2, 2, 2, 2, 2, 2,
	1, 1, 1, 3, 1, 1,
};

static const char *const kind_names[NKINDS] = {
	"anon", "memfd", "tmpfs", "ext2", "hugetlb-anon", "hugetlbfs",
	"hugetlb-memfd", "bad-fd", "-1", "self", "other-region", "mshare_info",
	"procfs", "/dev/zero", "eventfd", "pipe", "O_PATH", "read-only",
	"directory", "memfd_secret",
};

/* A private object and what it holds: word 0 of each page. */
struct obj {
	int kind;			/* K_ANON, K_MEMFD, K_TMPFS, K_EXT2, K_HANON, K_HFILE */
	int fd;
	unsigned long size;		/* file size, or mapping size */
	int refs;			/* segments using it (anon) */
	uint64_t val[MODEL_PAGES];
	bool known[MODEL_PAGES];
};

struct seg {
	unsigned long off, len, objoff;
	int prot;
	struct obj *o;
};

struct pfd {
	int fd;
	int acc;			/* O_RDONLY, O_WRONLY, O_RDWR */
};

struct pmap {
	char *addr;
	unsigned long len;
	int prot;
	bool scratch;
};

struct ctx {
	int slot, th, gen;
	uint64_t rng;
	long idx;
	int op;
	bool child;
	char *scratch;			/* 3 units reserved PROT_NONE, aligned */
	bool scratch_used;
	char *guard;			/* a PROT_NONE page */
	struct pfd pf[NPFD];
	struct pmap pm[NPMAP];
	/* The private region. */
	int rfd;
	unsigned long rsize;
	struct pmap rm[2];		/* [0] read-write, [1] read-only */
	struct seg seg[NSEG];
	int nseg;
	int split_slack;		/* host VMAs that failed unmaps may have split */
	struct obj *fobj[4];		/* memfd, tmpfs, ext2, hugetlbfs */
	int diofd;
	int pipefd[2];
	uint64_t wcount;
	char msg[256];
};

/* --- Random numbers --- */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd(struct ctx *c)
{
	return splitmix(&c->rng);
}

static unsigned long rn(struct ctx *c, unsigned long n)
{
	return n ? rnd(c) % n : 0;
}

static bool pct(struct ctx *c, int p)
{
	return (int)rn(c, 100) < p;
}

static int pick_weighted(struct ctx *c, const int *w, int n)
{
	int i, sum = 0, r;

	for (i = 0; i < n; i++)
		sum += w[i];
	r = rn(c, sum);
	for (i = 0; i < n; i++) {
		if (r < w[i])
			return i;
		r -= w[i];
	}
	return n - 1;
}

/* --- Results --- */

static void fail(struct ctx *c, const char *fmt, ...)
{
	char buf[FAIL_LEN], *p = buf;
	va_list ap;
	int n, i;

	n = snprintf(p, sizeof(buf), "%s: worker %d.%d gen %d op #%ld seed %lu%s: ",
		     op_names[c->op], c->slot, c->th, c->gen, c->idx, sh->seed,
		     c->child ? " (forked child)" : "");
	va_start(ap, fmt);
	vsnprintf(p + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	__atomic_fetch_add(&sh->fail_total, 1, __ATOMIC_SEQ_CST);
	i = __atomic_fetch_add(&sh->nfail, 1, __ATOMIC_SEQ_CST);
	if (i < MAX_FAILS)
		memcpy(sh->fails[i], buf, FAIL_LEN);
	fprintf(stderr, "FAIL %s\n", buf);
}

static void count(struct ctx *c, int err)
{
	if (err < 0 || err > ERR_MAX)
		err = ERR_MAX;
	__atomic_fetch_add(&sh->hist[c->op][err], 1, __ATOMIC_RELAXED);
}

static bool in_set(int e, const int *set)
{
	for (; *set; set++)
		if (*set == e)
			return true;
	return false;
}

/*
 * Check a call's outcome: err is 0 or its errno. A refusal must carry an
 * errno of the set; a call that must fail must not succeed.
 */
static void check(struct ctx *c, const char *what, int err, const int *set,
		  bool must_fail)
{
	count(c, err);
	if (!err && must_fail)
		fail(c, "%s succeeded, must fail", what);
	else if (err && !in_set(err, set))
		fail(c, "%s: undocumented errno %d (%s)", what, err, strerror(err));
}

#define SET(...)	((const int []){ __VA_ARGS__, 0 })

/* --- Faults --- */

static __thread sigjmp_buf t_env;
static __thread volatile int t_armed, t_sig;

static void fault_handler(int sig, siginfo_t *si, void *uc)
{
	if (!t_armed) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	t_armed = 0;
	t_sig = sig;
	siglongjmp(t_env, 1);
}

static void usr1_handler(int sig)
{
}

/* Load or store word 0 of p: 0, SIGSEGV or SIGBUS. */
static int access_word(char *p, bool write, uint64_t *v)
{
	volatile uint64_t *q = (volatile uint64_t *)p;

	t_sig = 0;
	if (sigsetjmp(t_env, 1) == 0) {
		t_armed = 1;
		if (write)
			*q = *v;
		else
			*v = *q;
		t_armed = 0;
	}
	if (t_sig)
		__atomic_fetch_add(&sh->faults_seen, 1, __ATOMIC_RELAXED);
	return t_sig;
}

static void install_handlers(void)
{
	struct sigaction sa = { .sa_sigaction = fault_handler, .sa_flags = SA_SIGINFO };
	struct sigaction su = { .sa_handler = usr1_handler, .sa_flags = SA_RESTART };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigemptyset(&su.sa_mask);
	sigaction(SIGUSR1, &su, NULL);
}

/* --- The private model --- */

static bool is_huge_kind(int k)
{
	return k == K_HANON || k == K_HFILE;
}

static bool is_file_kind(int k)
{
	return k == K_MEMFD || k == K_TMPFS || k == K_EXT2 || k == K_HFILE;
}

static bool is_shmem_kind(int k)
{
	return k == K_ANON || k == K_MEMFD || k == K_TMPFS;
}

static struct obj *obj_new(int kind, int fd, unsigned long size)
{
	struct obj *o = calloc(1, sizeof(*o));
	int i;

	if (!o)
		abort();
	o->kind = kind;
	o->fd = fd;
	o->size = size;
	for (i = 0; i < MODEL_PAGES; i++)
		o->known[i] = true;
	return o;
}

static void obj_put(struct obj *o)
{
	if (o->kind == K_ANON || o->kind == K_HANON) {
		if (--o->refs == 0)
			free(o);
	}
}

static struct seg *seg_at(struct ctx *c, unsigned long off)
{
	int i;

	for (i = 0; i < c->nseg; i++)
		if (off >= c->seg[i].off && off < c->seg[i].off + c->seg[i].len)
			return &c->seg[i];
	return NULL;
}

static bool range_free(struct ctx *c, unsigned long off, unsigned long len)
{
	int i;

	for (i = 0; i < c->nseg; i++)
		if (off < c->seg[i].off + c->seg[i].len && c->seg[i].off < off + len)
			return false;
	return true;
}

/* Remove [off, off + len) from the model, splitting segments. */
static void model_unmap(struct ctx *c, unsigned long off, unsigned long len)
{
	unsigned long end = off + len;
	int i;

	for (i = 0; i < c->nseg; i++) {
		struct seg *s = &c->seg[i];
		unsigned long se = s->off + s->len;

		if (end <= s->off || off >= se)
			continue;
		if (off > s->off && end < se) {
			/* Split in two: the tail goes to a new slot. */
			struct seg t = *s;

			t.objoff += end - s->off;
			t.off = end;
			t.len = se - end;
			s->len = off - s->off;
			if (t.o->kind == K_ANON || t.o->kind == K_HANON)
				t.o->refs++;
			c->seg[c->nseg++] = t;
			continue;
		}
		if (off <= s->off && end >= se) {
			obj_put(s->o);
			c->seg[i] = c->seg[--c->nseg];
			i--;
			continue;
		}
		if (off <= s->off) {
			s->objoff += end - s->off;
			s->len = se - end;
			s->off = end;
		} else {
			s->len = off - s->off;
		}
	}
}

/* Outcomes of an access. */
enum { XP_OK, XP_SEGV, XP_BUS, XP_OK_BUS };

/*
 * What an access at region offset off through mapping m gives, and the
 * object page behind it.
 */
static int expect(struct ctx *c, struct pmap *m, unsigned long off, bool write,
		  struct obj **op, unsigned long *pgp)
{
	struct seg *s = seg_at(c, off);
	unsigned long pg;

	*op = NULL;
	if (!s)
		return XP_SEGV;
	if (write && (!(m->prot & PROT_WRITE) || !(s->prot & PROT_WRITE)))
		return XP_SEGV;
	pg = (s->objoff + off - s->off) / PAGE;
	*op = s->o;
	*pgp = pg;
	if (is_file_kind(s->o->kind) && pg * PAGE >= s->o->size)
		return XP_BUS;
	if (is_huge_kind(s->o->kind))
		return XP_OK_BUS;
	return XP_OK;
}

static bool model_get(struct obj *o, unsigned long pg, uint64_t *v)
{
	if (!o || pg >= MODEL_PAGES || !o->known[pg])
		return false;
	*v = o->val[pg];
	return true;
}

static void model_set(struct obj *o, unsigned long pg, uint64_t v, bool known)
{
	if (o && pg < MODEL_PAGES) {
		o->val[pg] = v;
		o->known[pg] = known;
	}
}

/* Forget, or zero, the object pages behind [off, off + len) of the region. */
static void model_range(struct ctx *c, unsigned long off, unsigned long len,
			bool zero_shmem)
{
	int i;

	for (i = 0; i < c->nseg; i++) {
		struct seg *s = &c->seg[i];
		unsigned long a = off > s->off ? off : s->off;
		unsigned long b = off + len < s->off + s->len ? off + len : s->off + s->len;
		unsigned long pg;

		if (a >= b)
			continue;
		for (pg = (s->objoff + a - s->off) / PAGE;
		     pg < (s->objoff + b - s->off + PAGE - 1) / PAGE && pg < MODEL_PAGES; pg++) {
			bool whole = s->objoff + a - s->off <= pg * PAGE &&
				     (pg + 1) * PAGE <= s->objoff + b - s->off;

			if (zero_shmem && is_shmem_kind(s->o->kind) && whole)
				model_set(s->o, pg, 0, true);
			else
				model_set(s->o, pg, 0, false);
		}
	}
}

static uint64_t new_value(struct ctx *c)
{
	return ((uint64_t)(0xa5 ^ c->slot) << 56) | ((uint64_t)c->th << 48) |
	       ((uint64_t)c->gen << 40) | ++c->wcount;
}

/* --- Helpers --- */

static void pool_path(char *buf, size_t size, int i)
{
	if (i == NPOOL)
		snprintf(buf, size, "%s/mshare_info", mnt);
	else
		snprintf(buf, size, "%s/r%d", mnt, i);
}

static struct pfd *pick_pfd(struct ctx *c)
{
	int i, n = 0, at[NPFD];

	for (i = 0; i < NPFD; i++)
		if (c->pf[i].fd >= 0)
			at[n++] = i;
	return n ? &c->pf[at[rn(c, n)]] : NULL;
}

static struct pmap *pick_pm(struct ctx *c)
{
	int i, n = 0, at[NPMAP];

	for (i = 0; i < NPMAP; i++)
		if (c->pm[i].addr)
			at[n++] = i;
	return n ? &c->pm[at[rn(c, n)]] : NULL;
}

static unsigned long fsize(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return 0;
	return st.st_size;
}

/* Give back a mapping: munmap, or a PROT_NONE reservation in the scratch. */
static void drop_map(struct ctx *c, struct pmap *m)
{
	if (m->scratch) {
		if (mmap(c->scratch, 3 * unit, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
			 -1, 0) == MAP_FAILED)
			fail(c, "re-reserving the scratch: %s", strerror(errno));
		c->scratch_used = false;
	} else if (munmap(m->addr, m->len)) {
		fail(c, "munmap of a whole region mapping %p+%lx: %s", m->addr,
		     m->len, strerror(errno));
	}
	memset(m, 0, sizeof(*m));
}

static const char *model_desc(struct ctx *c, unsigned long off)
{
	struct seg *s = seg_at(c, off);

	if (!s)
		snprintf(c->msg, sizeof(c->msg), "hole at region offset %#lx", off);
	else
		snprintf(c->msg, sizeof(c->msg),
			 "region offset %#lx in %s mapping %#lx+%#lx %s objoff %#lx (obj size %#lx)",
			 off, kind_names[s->o->kind], s->off, s->len,
			 s->prot & PROT_WRITE ? "rw" : "r-", s->objoff, s->o->size);
	return c->msg;
}

static const char *xname(int x)
{
	static const char *const n[] = { "ok", "SIGSEGV", "SIGBUS", "ok or SIGBUS" };

	return n[x];
}

static int sig_to_x(int sig)
{
	return sig == SIGSEGV ? XP_SEGV : sig == SIGBUS ? XP_BUS : XP_OK;
}

static bool x_matches(int want, int got)
{
	if (want == XP_OK_BUS)
		return got == XP_OK || got == XP_BUS;
	return want == got;
}

/* --- Operations on the pool of shared regions --- */

static void op_open(struct ctx *c)
{
	int i = rn(c, NPOOL + (pct(c, 10) ? 1 : 0)), acc, flags, fd, e;
	static const int accs[] = { O_RDWR, O_RDWR, O_RDWR, O_RDONLY, O_RDONLY, O_WRONLY };
	char path[128];
	bool must_fail = false;
	struct pfd *slot = NULL;
	int k;

	pool_path(path, sizeof(path), i);
	acc = accs[rn(c, 6)];
	flags = acc;
	if (pct(c, 60)) {
		flags |= O_CREAT;
		if (pct(c, 30))
			flags |= O_EXCL;
	}
	if (pct(c, 8))
		flags |= O_TRUNC;
	if (pct(c, 3)) {
		flags = O_TMPFILE | O_RDWR;
		snprintf(path, sizeof(path), "%s", mnt);
		must_fail = true;
	}
	if ((flags & O_TRUNC) && !(flags & O_CREAT))
		must_fail = true;
	if (i == NPOOL && acc != O_RDONLY)
		must_fail = true;
	fd = open(path, flags, 0600);
	e = fd < 0 ? errno : 0;
	check(c, "open", e, SET(ENOENT, EEXIST, EINVAL, ENOSPC, EACCES, EMFILE,
				 EOPNOTSUPP, EPERM), must_fail);
	if (fd < 0)
		return;
	if (i == NPOOL || (flags & O_TMPFILE)) {
		char buf[64];
		ssize_t n = read(fd, buf, sizeof(buf) - 1);

		if (n > 0)
			buf[n] = 0;
		if (i == NPOOL && (n <= 0 || strtoul(buf, NULL, 10) != unit))
			fail(c, "mshare_info reads %zd bytes, not the unit %lu", n, unit);
		close(fd);
		return;
	}
	for (k = 0; k < NPFD; k++)
		if (c->pf[k].fd < 0)
			slot = &c->pf[k];
	if (!slot) {
		slot = &c->pf[rn(c, NPFD)];
		close(slot->fd);
	}
	slot->fd = fd;
	slot->acc = acc;
}

static void op_close(struct ctx *c)
{
	struct pfd *p = pick_pfd(c);

	if (!p)
		return;
	check(c, "close", close(p->fd) ? errno : 0, SET(EINTR), false);
	p->fd = -1;
}

static void op_unlink(struct ctx *c)
{
	int i = rn(c, NPOOL + (pct(c, 10) ? 1 : 0));
	char path[128];

	pool_path(path, sizeof(path), i);
	check(c, "unlink", unlink(path) ? errno : 0, SET(ENOENT, EPERM), i == NPOOL);
}

static void op_rename(struct ctx *c)
{
	static const unsigned int fl[] = {
		0, 0, 0, RENAME_NOREPLACE, RENAME_EXCHANGE,
		RENAME_NOREPLACE | RENAME_EXCHANGE, RENAME_WHITEOUT,
	};
	int a = rn(c, NPOOL + (pct(c, 8) ? 1 : 0)), b = rn(c, NPOOL + (pct(c, 8) ? 1 : 0));
	unsigned int flags = fl[rn(c, 7)];
	char pa[128], pb[128], what[300];
	bool must_fail;
	int e;

	pool_path(pa, sizeof(pa), a);
	pool_path(pb, sizeof(pb), b);
	/* Renaming a name to itself succeeds before the file system sees it. */
	must_fail = flags == (RENAME_NOREPLACE | RENAME_EXCHANGE) ||
		    (a != b && ((flags & RENAME_WHITEOUT) || a == NPOOL || b == NPOOL));
	e = syscall(SYS_renameat2, AT_FDCWD, pa, AT_FDCWD, pb, flags) ? errno : 0;
	snprintf(what, sizeof(what), "renameat2(%s, %s, %#x)", pa, pb, flags);
	check(c, what, e, SET(ENOENT, EEXIST, EINVAL, EPERM), must_fail);
}

static unsigned long pick_region_size(struct ctx *c, bool *valid)
{
	unsigned long s;

	switch (rn(c, 12)) {
	case 0:
	case 1:
	case 2:
	case 3:
		s = unit;
		break;
	case 4:
	case 5:
		s = 2 * unit;
		break;
	case 6:
		s = 0;
		break;
	case 7:
		s = unit / 2;
		break;
	case 8:
		s = unit + PAGE;
		break;
	case 9:
		s = 1UL << 48;
		break;
	case 10:
		s = (LLONG_MAX / unit) * unit;
		break;
	default:
		s = rnd(c) >> rn(c, 64);
		break;
	}
	*valid = s && !(s % unit) && s <= (LLONG_MAX / unit) * unit;
	return s;
}

static void op_size(struct ctx *c)
{
	struct pfd *p = pick_pfd(c);
	unsigned long size, before;
	bool valid, must_fail;
	int e, mode = 0;
	long off = 0;

	if (!p)
		return;
	size = pick_region_size(c, &valid);
	before = fsize(p->fd);
	must_fail = !valid || p->acc == O_RDONLY || before;
	if (pct(c, 60)) {
		e = ftruncate(p->fd, size) ? errno : 0;
		check(c, "ftruncate", e, SET(EINVAL, EFBIG, ENOSPC), must_fail);
	} else {
		if (pct(c, 25))
			mode = 1 << rn(c, 7);
		if (pct(c, 15))
			off = pct(c, 50) ? (long)unit : LLONG_MAX - 5;
		must_fail |= mode || off;
		e = fallocate(p->fd, mode, off, size) ? errno : 0;
		check(c, "fallocate", e, SET(EINVAL, EOPNOTSUPP, EBADF, EFBIG, ENOSPC),
		      must_fail);
	}
	if (!e && fsize(p->fd) != size)
		fail(c, "sized %#lx, fstat says %#lx", size, fsize(p->fd));
}

static void op_fstat(struct ctx *c)
{
	struct pfd *p = pick_pfd(c);
	struct statfs sf;
	struct stat st;

	if (statfs(mnt, &sf) || sf.f_type != MSHARE_MAGIC)
		fail(c, "statfs of the instance: magic %#lx", (long)sf.f_type);
	if (!p)
		return;
	if (fstat(p->fd, &st)) {
		fail(c, "fstat: %s", strerror(errno));
		return;
	}
	count(c, 0);
	if (!S_ISREG(st.st_mode) || st.st_size < 0 || st.st_size % unit)
		fail(c, "fstat: mode %o size %#lx", st.st_mode, (long)st.st_size);
}

/* What the directory and mshare_info refuse, and read()/write(). */
static void op_nsops(struct ctx *c)
{
	char path[128], path2[128], info[128], buf[64];
	struct pfd *p;
	int e = 0, n;

	pool_path(info, sizeof(info), NPOOL);
	pool_path(path, sizeof(path), rn(c, NPOOL));
	snprintf(path2, sizeof(path2), "%s/x%d", mnt, (int)rn(c, 2));
	switch (rn(c, 11)) {
	case 0:
		e = mkdir(path2, 0700) ? errno : 0;
		check(c, "mkdir", e, SET(EPERM, EEXIST), true);
		break;
	case 1:
		e = symlink("r0", path2) ? errno : 0;
		check(c, "symlink", e, SET(EPERM, EEXIST), true);
		break;
	case 2:
		e = link(path, path2) ? errno : 0;
		check(c, "link", e, SET(EPERM, ENOENT, EEXIST), true);
		break;
	case 3:
		e = mknod(path2, S_IFCHR | 0600, makedev(1, 3)) ? errno : 0;
		check(c, "mknod(S_IFCHR)", e, SET(EPERM, EEXIST), true);
		break;
	case 4:
		e = chmod(info, 0666) ? errno : 0;
		check(c, "chmod(mshare_info)", e, SET(EPERM), true);
		break;
	case 5:
		e = truncate(info, 0) ? errno : 0;
		check(c, "truncate(mshare_info)", e, SET(EPERM, EACCES), true);
		break;
	case 6:
		e = chown(info, 1, 1) ? errno : 0;
		check(c, "chown(mshare_info)", e, SET(EPERM), true);
		break;
	case 7:
		p = pick_pfd(c);
		if (!p)
			break;
		n = read(p->fd, buf, sizeof(buf));
		e = n < 0 ? errno : 0;
		check(c, "read(region)", e, SET(EINVAL, EBADF), true);
		break;
	case 8:
		p = pick_pfd(c);
		if (!p)
			break;
		n = write(p->fd, buf, 8);
		e = n < 0 ? errno : 0;
		check(c, "write(region)", e, SET(EINVAL, EBADF), true);
		break;
	case 9:
		p = pick_pfd(c);
		if (!p)
			break;
		e = (pct(c, 50) ? fsync(p->fd) : fdatasync(p->fd)) ? errno : 0;
		check(c, "fsync(region)", e, SET(EINTR), false);
		break;
	default:
		e = truncate(path, pct(c, 50) ? unit : unit / 2) ? errno : 0;
		check(c, "truncate(region)", e, SET(EINVAL, ENOENT, ENOSPC), false);
		break;
	}
}

struct create_args {
	unsigned long off, size, objoff;
	unsigned int prot, flags;
	int fd, kind;
	bool bad;			/* a documented refusal applies */
};

static const int create_errs[] = {
	EBADF, EINVAL, ENODEV, EFAULT, EEXIST, EACCES, ENOMEM, EINTR,
	EOVERFLOW, EAGAIN, 0,
};

static int do_create(int fd, struct create_args *a)
{
	struct mshare_create mc = {
		.region_offset = a->off, .size = a->size, .offset = a->objoff,
		.prot = a->prot, .flags = a->flags, .fd = (__u32)a->fd,
	};

	return ioctl(fd, MSHAREFS_CREATE_MAPPING, &mc) ? errno : 0;
}

static int do_unmap(int fd, unsigned long off, unsigned long size)
{
	struct mshare_unmap mu = { .region_offset = off, .size = size };

	return ioctl(fd, MSHAREFS_UNMAP, &mu) ? errno : 0;
}

/* The documented refusals of MSHAREFS_CREATE_MAPPING's arguments. */
static bool create_refused(struct create_args *a, unsigned long rsize)
{
	unsigned int hlog = (a->flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;

	if ((a->flags & MAP_TYPE) != MAP_SHARED || !(a->flags & MAP_FIXED) ||
	    (a->flags & ~CREATE_FLAGS))
		return true;
	if ((a->prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) ||
	    !(a->prot & PROT_READ) || (a->prot & PROT_EXEC))
		return true;
	if ((a->flags & MAP_HUGETLB) && !(a->flags & MAP_ANONYMOUS))
		return true;
	if (!(a->flags & MAP_HUGETLB) && hlog)
		return true;
	if ((a->flags & MAP_HUGETLB) && hlog && hlog != 21)
		return true;
	if (!a->size || a->off % PAGE || a->size % PAGE || a->objoff % PAGE)
		return true;
	if (a->off + a->size < a->off || (rsize && a->off + a->size > rsize) ||
	    a->off + a->size > HOST_LIMIT)
		return true;
	if ((a->flags & MAP_ANONYMOUS) && (a->fd != -1 || a->objoff))
		return true;
	if (!(a->flags & MAP_ANONYMOUS)) {
		switch (a->kind) {
		case K_BADFD:
		case K_NEG1:
		case K_SELF:
		case K_OTHER:
		case K_INFO:
		case K_PROC:
		case K_DEVZERO:
		case K_EVENTFD:
		case K_PIPE:
		case K_OPATH:
		case K_DIR:
		case K_SECRET:
			return true;
		case K_RO:
			return a->prot & PROT_WRITE;
		}
	}
	return false;
}

static unsigned long pick_offset(struct ctx *c, bool huge)
{
	switch (rn(c, 10)) {
	case 0:
		return 0;
	case 1:
	case 2:
	case 3:
		return rn(c, 32) * HPAGE;
	case 4:
		return unit - HPAGE;
	case 5:
		return huge ? rn(c, 512) * HPAGE : rn(c, 2 * unit / PAGE) * PAGE;
	case 6:
		return rn(c, 4096) * PAGE;
	case 7:
		return pct(c, 50) ? 1UL << 47 : ~0UL - PAGE + 1;
	case 8:
		return rn(c, 64) * PAGE + (pct(c, 50) ? 123 : 0);
	default:
		return rn(c, 8) * HPAGE + (huge ? 0 : rn(c, 512) * PAGE);
	}
}

static unsigned long pick_len(struct ctx *c, bool huge)
{
	switch (rn(c, 10)) {
	case 0:
	case 1:
	case 2:
		return huge ? HPAGE : (1 + rn(c, 16)) * PAGE;
	case 3:
	case 4:
		return (1 + rn(c, 4)) * HPAGE;
	case 5:
		return 64 * MB;
	case 6:
		return pct(c, 50) ? unit : 2 * unit;
	case 7:
		return pct(c, 50) ? 0 : 123;
	case 8:
		return ~0UL & ~(PAGE - 1);
	default:
		return (1 + rn(c, 512)) * PAGE;
	}
}

static void gen_create(struct ctx *c, struct create_args *a, int region_fd,
		       int other_fd, int kind)
{
	bool huge;

	memset(a, 0, sizeof(*a));
	a->kind = kind;
	huge = kind == K_HANON || kind == K_HFILE || kind == K_HMEMFD;
	a->off = pick_offset(c, huge);
	a->size = pick_len(c, huge);
	switch (rn(c, 20)) {
	case 0:
	case 1:
	case 2:
		a->prot = PROT_READ;
		break;
	case 3:
		a->prot = PROT_WRITE;
		break;
	case 4:
		a->prot = PROT_NONE;
		break;
	case 5:
		a->prot = PROT_READ | PROT_EXEC;
		break;
	case 6:
		a->prot = RW | 0x10;
		break;
	default:
		a->prot = RW;
		break;
	}
	a->flags = MAP_SHARED | MAP_FIXED;
	if (pct(c, 20))
		a->flags |= MAP_NORESERVE;
	switch (rn(c, 40)) {
	case 0:
		a->flags &= ~MAP_FIXED;
		break;
	case 1:
		a->flags = (a->flags & ~MAP_TYPE) | MAP_PRIVATE;
		break;
	case 2:
		a->flags |= MAP_SHARED_VALIDATE;
		break;
	case 3:
		a->flags |= 1U << rn(c, 32);
		break;
	case 4:
		a->flags |= MAP_HUGE_2MB;
		break;
	}
	a->fd = -1;
	switch (kind) {
	case K_ANON:
		a->flags |= MAP_ANONYMOUS;
		if (pct(c, 5))
			a->fd = kind_fd[K_MEMFD];
		if (pct(c, 5))
			a->objoff = PAGE;
		return;
	case K_HANON:
		a->flags |= MAP_ANONYMOUS | MAP_HUGETLB;
		if (pct(c, 30))
			a->flags |= MAP_HUGE_2MB;
		else if (pct(c, 10))
			a->flags |= MAP_HUGE_1GB;
		else if (pct(c, 5))
			a->flags |= 16 << MAP_HUGE_SHIFT;
		return;
	case K_SELF:
		a->fd = region_fd;
		break;
	case K_OTHER:
		a->fd = other_fd;
		break;
	default:
		a->fd = kind_fd[kind];
		break;
	}
	if (pct(c, 3))
		a->flags |= MAP_HUGETLB;
	switch (rn(c, 20)) {
	case 0:
		a->objoff = 123;
		break;
	case 1:
		a->objoff = ~0UL & ~(PAGE - 1);
		break;
	case 2:
	case 3:
	case 4:
	case 5:
	case 6:
		a->objoff = huge ? rn(c, 2) * HPAGE : rn(c, 2048) * PAGE;
		break;
	default:
		a->objoff = 0;
		break;
	}
}

static void op_create(struct ctx *c)
{
	struct pfd *p = pick_pfd(c), *o;
	struct create_args a;
	unsigned long before;
	bool must_fail;
	int e;

	if (!p)
		return;
	o = pick_pfd(c);
	gen_create(c, &a, p->fd, o ? o->fd : kind_fd[K_INFO],
		   pick_weighted(c, kind_weight, NKINDS));
	before = fsize(p->fd);
	must_fail = create_refused(&a, before) || p->acc == O_RDONLY;
	e = do_create(p->fd, &a);
	if (!e && !before && !fsize(p->fd))
		must_fail = true;
	if (!e && must_fail)
		fail(c, "create off %#lx size %#lx objoff %#lx prot %#x flags %#x fd %d (%s) on a %s fd of a region of size %#lx succeeded, must fail",
		     a.off, a.size, a.objoff, a.prot, a.flags, a.fd, kind_names[a.kind],
		     p->acc == O_RDONLY ? "read-only" : "writable", before);
	else if (e && !in_set(e, create_errs))
		fail(c, "create off %#lx size %#lx objoff %#lx prot %#x flags %#x fd %d (%s): undocumented errno %d (%s)",
		     a.off, a.size, a.objoff, a.prot, a.flags, a.fd, kind_names[a.kind],
		     e, strerror(e));
	count(c, e);
}

static void op_unmap(struct ctx *c)
{
	struct pfd *p = pick_pfd(c);
	unsigned long off, len, before;
	bool must_fail;
	int e;

	if (!p)
		return;
	off = pick_offset(c, pct(c, 30));
	len = pick_len(c, pct(c, 30));
	before = fsize(p->fd);
	must_fail = p->acc == O_RDONLY || !len || off % PAGE || len % PAGE ||
		    off + len < off || (before && off + len > before) ||
		    off + len > HOST_LIMIT;
	e = do_unmap(p->fd, off, len);
	if (!e && !before && !fsize(p->fd))
		must_fail = true;
	check(c, "MSHAREFS_UNMAP", e, SET(EBADF, EINVAL, EFAULT, EINTR, ENOMEM),
	      must_fail);
}

/* mmap() of a region fd, with the documented refusals. */
static void op_mmap(struct ctx *c)
{
	struct pfd *p = pick_pfd(c);
	struct pmap *slot = NULL;
	unsigned long size, len, off = 0, after;
	int prot, flags, e, k;
	bool must_fail, scratch = false;
	char *addr = NULL, *r;

	if (!p)
		return;
	size = fsize(p->fd);
	len = size;
	if (size > 2 * unit || pct(c, 15))
		len = pct(c, 50) ? unit : (pct(c, 50) ? 2 * unit : unit + PAGE);
	if (len > 2 * unit && size > 2 * unit && pct(c, 70))
		return;
	switch (rn(c, 20)) {
	case 0:
	case 1:
	case 2:
	case 3:
		prot = PROT_READ;
		break;
	case 4:
		prot = PROT_WRITE;
		break;
	case 5:
		prot = PROT_NONE;
		break;
	case 6:
		prot = PROT_READ | PROT_EXEC;
		break;
	case 7:
		prot = RW | PROT_EXEC;
		break;
	default:
		prot = RW;
		break;
	}
	flags = MAP_SHARED;
	switch (rn(c, 20)) {
	case 0:
	case 1:
		flags = MAP_PRIVATE;
		break;
	case 2:
	case 3:
		flags = MAP_SHARED_VALIDATE;
		break;
	case 4:
		flags |= MAP_NORESERVE;
		break;
	case 5:
	case 6:
		if (!c->scratch_used && len <= 2 * unit) {
			flags |= MAP_FIXED;
			addr = c->scratch;
			scratch = true;
		}
		break;
	case 7:
		if (!c->scratch_used && len <= 2 * unit) {
			flags |= MAP_FIXED;
			addr = c->scratch + (1 + rn(c, 256)) * PAGE;
			scratch = true;
		}
		break;
	case 8:
		flags |= MAP_FIXED_NOREPLACE;
		addr = (char *)((rnd(c) & ((1UL << 46) - 1)) & ~(unit - 1));
		break;
	case 9:
	case 10:
		addr = (char *)((rnd(c) & ((1UL << 46) - 1)) & ~(pct(c, 50) ? unit - 1 : PAGE - 1));
		break;
	}
	if (pct(c, 5))
		off = pct(c, 50) ? PAGE : unit;
	for (k = 0; k < NPMAP; k++)
		if (!c->pm[k].addr)
			slot = &c->pm[k];
	if (!slot)
		return;
	must_fail = (flags & MAP_TYPE) == MAP_PRIVATE || len != size || off ||
		    ((flags & MAP_FIXED) && ((unsigned long)addr % unit)) ||
		    (prot & PROT_EXEC) || !(prot & PROT_READ) ||
		    ((prot & PROT_WRITE) && p->acc == O_RDONLY) || p->acc == O_WRONLY ||
		    !size;
	/*
	 * A MAP_FIXED mmap() that the region refuses may leave a hole where
	 * the scratch reservation was: fill it again before any other
	 * mapping of ours can be placed there.
	 */
	if (scratch)
		pthread_rwlock_wrlock(&map_lock);
	else
		pthread_rwlock_rdlock(&map_lock);
	r = mmap(addr, len, prot, flags, p->fd, off);
	e = r == MAP_FAILED ? errno : 0;
	if (scratch && e)
		mmap(c->scratch, 3 * unit, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	pthread_rwlock_unlock(&map_lock);
	after = fsize(p->fd);
	if (!e && !size && after == len)
		must_fail = (flags & MAP_TYPE) == MAP_PRIVATE || off ||
			    ((flags & MAP_FIXED) && ((unsigned long)addr % unit)) ||
			    (prot & PROT_EXEC) || !(prot & PROT_READ) ||
			    ((prot & PROT_WRITE) && p->acc == O_RDONLY) || p->acc == O_WRONLY;
	if (!e && must_fail)
		fail(c, "mmap(%p, %#lx, prot %#x, flags %#x, %s fd, off %#lx) of a region of size %#lx succeeded, must fail",
		     addr, len, prot, flags, p->acc == O_RDONLY ? "O_RDONLY" :
		     p->acc == O_WRONLY ? "O_WRONLY" : "O_RDWR", off, size);
	else if (e && !in_set(e, SET(EINVAL, EACCES, ENOMEM, EEXIST, EOPNOTSUPP,
				     EOVERFLOW, EAGAIN)))
		fail(c, "mmap(%p, %#lx, prot %#x, flags %#x, off %#lx): undocumented errno %d (%s)",
		     addr, len, prot, flags, off, e, strerror(e));
	count(c, e);
	if (e)
		return;
	if ((unsigned long)r % unit)
		fail(c, "region mapped at %p, not aligned to %#lx", r, unit);
	if ((flags & MAP_FIXED) && r != addr)
		fail(c, "MAP_FIXED at %p mapped at %p", addr, r);
	slot->addr = r;
	slot->len = len;
	slot->prot = prot;
	slot->scratch = scratch;
	if (scratch)
		c->scratch_used = true;
}

static void op_munmap(struct ctx *c)
{
	struct pmap *m = pick_pm(c);

	if (!m)
		return;
	count(c, 0);
	drop_map(c, m);
}

/* --- Operations on the private region --- */

static void priv_close(struct ctx *c)
{
	int i;

	for (i = 0; i < 2; i++)
		if (c->rm[i].addr)
			drop_map(c, &c->rm[i]);
	while (c->nseg)
		model_unmap(c, c->seg[0].off, c->seg[0].len);
	if (c->rfd >= 0)
		close(c->rfd);
	c->rfd = -1;
	c->split_slack = 0;
	__atomic_store_n(&sh->pub_addr[c->slot][c->th], 0, __ATOMIC_RELEASE);
}

static void priv_open(struct ctx *c)
{
	char path[128];
	int e;

	snprintf(path, sizeof(path), "%s/p%d.%d.%d.%lu", mnt, c->slot, c->th, c->gen,
		 c->idx);
	c->rfd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (c->rfd < 0) {
		fail(c, "creating private region %s: %s", path, strerror(errno));
		return;
	}
	c->rsize = pct(c, 70) ? unit : 2 * unit;
	e = pct(c, 50) ? ftruncate(c->rfd, c->rsize) : fallocate(c->rfd, 0, 0, c->rsize);
	if (e)
		fail(c, "sizing private region to %#lx: %s", c->rsize, strerror(errno));
	if (pct(c, 90))
		unlink(path);
	pthread_rwlock_rdlock(&map_lock);
	c->rm[0].addr = mmap(NULL, c->rsize, RW, MAP_SHARED, c->rfd, 0);
	pthread_rwlock_unlock(&map_lock);
	if (c->rm[0].addr == MAP_FAILED) {
		fail(c, "mapping private region: %s", strerror(errno));
		c->rm[0].addr = NULL;
		close(c->rfd);
		c->rfd = -1;
		return;
	}
	c->rm[0].len = c->rsize;
	c->rm[0].prot = RW;
	__atomic_store_n(&sh->pub_addr[c->slot][c->th], (unsigned long)c->rm[0].addr,
			 __ATOMIC_RELEASE);
}

static void op_pregion(struct ctx *c)
{
	char path[64];
	int fd;
	char *r;

	if (c->rfd < 0) {
		priv_open(c);
		return;
	}
	switch (rn(c, 10)) {
	case 0:
	case 1:
	case 2:
	case 3:
		/* A read-only mapping, of this fd or of a read-only reopen. */
		if (c->rm[1].addr) {
			drop_map(c, &c->rm[1]);
			count(c, 0);
			return;
		}
		fd = c->rfd;
		if (pct(c, 50)) {
			snprintf(path, sizeof(path), "/proc/self/fd/%d", c->rfd);
			fd = open(path, O_RDONLY);
			if (fd < 0) {
				fail(c, "reopening the private region read-only: %s",
				     strerror(errno));
				return;
			}
		}
		pthread_rwlock_rdlock(&map_lock);
		r = mmap(NULL, c->rsize, PROT_READ, MAP_SHARED, fd, 0);
		pthread_rwlock_unlock(&map_lock);
		check(c, "mmap(PROT_READ)", r == MAP_FAILED ? errno : 0, SET(ENOMEM), false);
		if (fd != c->rfd) {
			/* An O_RDONLY fd may not be mapped writable. */
			char *w = mmap(NULL, c->rsize, RW, MAP_SHARED, fd, 0);

			check(c, "mmap(O_RDONLY, PROT_WRITE)", w == MAP_FAILED ? errno : 0,
			      SET(EACCES), true);
			if (w != MAP_FAILED)
				munmap(w, c->rsize);
			close(fd);
		}
		if (r != MAP_FAILED) {
			c->rm[1].addr = r;
			c->rm[1].len = c->rsize;
			c->rm[1].prot = PROT_READ;
		}
		return;
	case 4:
	case 5:
	case 6:
		/* Move the read-write mapping into the scratch, or out. */
		if (c->scratch_used && !c->rm[0].scratch)
			return;
		if (c->rm[0].scratch) {
			drop_map(c, &c->rm[0]);
			pthread_rwlock_rdlock(&map_lock);
			r = mmap(NULL, c->rsize, RW, MAP_SHARED, c->rfd, 0);
			pthread_rwlock_unlock(&map_lock);
		} else {
			munmap(c->rm[0].addr, c->rm[0].len);
			pthread_rwlock_wrlock(&map_lock);
			r = mmap(c->scratch, c->rsize, RW, MAP_SHARED | MAP_FIXED, c->rfd, 0);
			if (r == MAP_FAILED)
				mmap(c->scratch, 3 * unit, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
				     MAP_FIXED | MAP_NORESERVE, -1, 0);
			pthread_rwlock_unlock(&map_lock);
			c->rm[0].scratch = r != MAP_FAILED;
			c->scratch_used = r != MAP_FAILED;
		}
		check(c, "mmap(private)", r == MAP_FAILED ? errno : 0, SET(ENOMEM), false);
		c->rm[0].addr = r == MAP_FAILED ? NULL : r;
		c->rm[0].len = c->rsize;
		c->rm[0].prot = RW;
		__atomic_store_n(&sh->pub_addr[c->slot][c->th],
				 (unsigned long)c->rm[0].addr, __ATOMIC_RELEASE);
		if (!c->rm[0].addr) {
			priv_close(c);
			priv_open(c);
		}
		return;
	default:
		/* A new private region; the old one goes with what it maps. */
		count(c, 0);
		priv_close(c);
		priv_open(c);
		return;
	}
}

static struct obj *priv_obj(struct ctx *c, int kind)
{
	int i = kind == K_MEMFD ? 0 : kind == K_TMPFS ? 1 : kind == K_EXT2 ? 2 : 3;

	return c->fobj[i];
}

static void op_pcreate(struct ctx *c)
{
	static const int w[] = { 35, 20, 15, 10, 10, 5 };
	static const int kinds[] = { K_ANON, K_MEMFD, K_TMPFS, K_EXT2, K_HANON, K_HFILE };
	struct create_args a = { .fd = -1 };
	struct obj *o = NULL;
	bool huge, valid, free_range;
	int kind, e, tries;

	if (c->rfd < 0 || c->nseg >= NSEG - 2)
		return;
	for (tries = 0; tries < 10; tries++) {
		kind = kinds[pick_weighted(c, w, 6)];
		if ((kind == K_EXT2 && !have_ext2) || (is_huge_kind(kind) && !have_huge))
			continue;
		break;
	}
	if (tries == 10)
		kind = K_ANON;
	a.kind = kind;
	huge = is_huge_kind(kind);
	a.prot = pct(c, 20) ? PROT_READ : RW;
	a.flags = MAP_SHARED | MAP_FIXED | (pct(c, 30) ? MAP_NORESERVE : 0);
	if (huge) {
		a.off = rn(c, 32) * HPAGE;
		a.size = (1 + rn(c, 2)) * HPAGE;
	} else if (pct(c, 50)) {
		a.off = rn(c, 4096) * PAGE;
		a.size = (1 + rn(c, 64)) * PAGE;
	} else {
		a.off = rn(c, 32) * HPAGE + (pct(c, 50) ? 0 : rn(c, 512) * PAGE);
		a.size = pct(c, 10) && kind == K_ANON ? 64 * MB : (1 + rn(c, 1024)) * PAGE;
	}
	if (a.off + a.size > c->rsize)
		a.off = 0;
	if (kind == K_ANON || kind == K_HANON) {
		a.flags |= MAP_ANONYMOUS | (huge ? MAP_HUGETLB : 0);
		if (huge && pct(c, 30))
			a.flags |= MAP_HUGE_2MB;
	} else {
		o = priv_obj(c, kind);
		a.fd = o->fd;
		a.objoff = huge ? rn(c, 2) * HPAGE : rn(c, 1024) * PAGE;
		if (a.objoff + a.size > 2 * OBJ_SIZE)
			a.objoff = 0;
		if (huge && a.objoff + a.size > OBJ_SIZE)
			a.objoff = 0;
	}
	/* Now and then a documented refusal. */
	switch (rn(c, 30)) {
	case 0:
		a.prot |= PROT_EXEC;
		break;
	case 1:
		a.prot = PROT_WRITE;
		break;
	case 2:
		a.flags &= ~MAP_FIXED;
		break;
	case 3:
		a.off += 100;
		break;
	case 4:
		a.off = c->rsize - PAGE;
		a.size = 2 * PAGE;
		break;
	case 5:
		a.flags |= MAP_POPULATE;
		break;
	case 6:
		if (kind == K_ANON)
			a.fd = c->rfd;
		break;
	}
	free_range = range_free(c, a.off, a.size);
	valid = !create_refused(&a, c->rsize);
	e = do_create(c->rfd, &a);
	if (!e && (!valid || !free_range))
		fail(c, "create off %#lx size %#lx objoff %#lx prot %#x flags %#x (%s) succeeded, must fail (%s)",
		     a.off, a.size, a.objoff, a.prot, a.flags, kind_names[kind],
		     valid ? "range in use" : "bad arguments");
	else if (e && valid && free_range && !in_set(e, SET(ENOMEM, EINTR, EAGAIN)))
		fail(c, "create off %#lx size %#lx objoff %#lx prot %#x flags %#x (%s) in a free range: %s",
		     a.off, a.size, a.objoff, a.prot, a.flags, kind_names[kind], strerror(e));
	else if (e && !in_set(e, create_errs))
		fail(c, "create off %#lx size %#lx flags %#x (%s): undocumented errno %d (%s)",
		     a.off, a.size, a.flags, kind_names[kind], e, strerror(e));
	else if (e && valid && !free_range && e != EEXIST)
		fail(c, "create over a mapping: %s, not EEXIST", strerror(e));
	count(c, e);
	if (e)
		return;
	if (!valid || !free_range)
		model_unmap(c, a.off, a.size);	/* unknown: forget */
	if (!o) {
		o = obj_new(kind, -1, a.size);
		o->refs = 0;
	}
	if (o->kind == K_ANON || o->kind == K_HANON)
		o->refs++;
	c->seg[c->nseg++] = (struct seg){ .off = a.off, .len = a.size,
					  .objoff = a.objoff, .prot = a.prot, .o = o };
}

static bool huge_split(struct ctx *c, unsigned long off, unsigned long len)
{
	int i;

	for (i = 0; i < c->nseg; i++) {
		struct seg *s = &c->seg[i];

		if (!is_huge_kind(s->o->kind) || off + len <= s->off || off >= s->off + s->len)
			continue;
		if ((off > s->off && off % HPAGE) || (off + len < s->off + s->len && (off + len) % HPAGE))
			return true;
	}
	return false;
}

static void op_punmap(struct ctx *c)
{
	unsigned long off, len;
	bool valid;
	int e;

	if (c->rfd < 0)
		return;
	if (c->nseg && pct(c, 70)) {
		struct seg *s = &c->seg[rn(c, c->nseg)];

		off = s->off;
		len = s->len;
		if (pct(c, 40)) {
			off += rn(c, len / PAGE) * PAGE;
			len = (1 + rn(c, (s->off + s->len - off) / PAGE)) * PAGE;
		}
	} else {
		off = rn(c, 4096) * PAGE;
		len = (1 + rn(c, 8192)) * PAGE;
	}
	switch (rn(c, 20)) {
	case 0:
		off += 8;
		break;
	case 1:
		len = 0;
		break;
	case 2:
		off = c->rsize - PAGE;
		len = 2 * PAGE;
		break;
	}
	valid = len && !(off % PAGE) && !(len % PAGE) && off + len <= c->rsize;
	e = do_unmap(c->rfd, off, len);
	if (!e && !valid)
		fail(c, "unmap %#lx+%#lx succeeded, must fail", off, len);
	else if (e && valid && !(e == EINVAL && huge_split(c, off, len)) &&
		 !in_set(e, SET(ENOMEM, EINTR)))
		fail(c, "unmap %#lx+%#lx of the private region: %s", off, len, strerror(e));
	else if (e && !in_set(e, SET(EINVAL, ENOMEM, EINTR)))
		fail(c, "unmap: undocumented errno %d (%s)", e, strerror(e));
	count(c, e);
	/*
	 * An unmap that a hugetlb mapping refuses may have split the mapping
	 * before it, as munmap() does: more host mappings than the model.
	 */
	if (e)
		c->split_slack += 2;
	if (!e)
		model_unmap(c, off, len);
}

/* A region offset to touch: mostly in a mapping, sometimes in a hole. */
static unsigned long pick_touch(struct ctx *c)
{
	if (c->nseg && pct(c, 85)) {
		struct seg *s = &c->seg[rn(c, c->nseg)];
		unsigned long n = s->len / PAGE;

		return s->off + rn(c, n < 64 ? n : 64) * PAGE;
	}
	return rn(c, 8192) * PAGE;
}

static void op_access(struct ctx *c)
{
	struct pmap *m;
	unsigned long off, pg = 0;
	struct obj *o;
	uint64_t v = 0, want;
	bool write = pct(c, 50), known;
	int x, got;

	if (c->child)
		write = false;
	if (pct(c, 25) || c->rfd < 0) {
		m = pick_pm(c);
		if (!m)
			return;
		off = pct(c, 70) ? rn(c, 2048) * PAGE : rn(c, m->len / PAGE) * PAGE;
		v = new_value(c);
		got = access_word(m->addr + off, write && (m->prot & PROT_WRITE), &v);
		count(c, got == 0 ? 0 : got == SIGSEGV ? EFAULT : EIO);
		return;
	}
	m = c->rm[1].addr && pct(c, 30) ? &c->rm[1] : &c->rm[0];
	if (!m->addr)
		return;
	off = pick_touch(c);
	x = expect(c, m, off, write, &o, &pg);
	known = model_get(o, pg, &want);
	v = write ? new_value(c) : 0;
	got = sig_to_x(access_word(m->addr + off, write, &v));
	count(c, got == XP_OK ? 0 : got == XP_SEGV ? EFAULT : EIO);
	if (!x_matches(x, got)) {
		/* Once more, and a load through the other mapping: transient? */
		struct pmap *m2 = m == &c->rm[0] ? &c->rm[1] : &c->rm[0];
		uint64_t v2 = v, v3 = 0;
		int again = sig_to_x(access_word(m->addr + off, write, &v2));
		int other = m2->addr ? sig_to_x(access_word(m2->addr + off, false, &v3)) : -1;

		fail(c, "%s through the %s mapping %p: %s, expected %s (%s); again: %s; load through the other mapping: %s",
		     write ? "store" : "load", m->prot & PROT_WRITE ? "rw" : "r-",
		     m->addr, xname(got), xname(x), model_desc(c, off), xname(again),
		     other < 0 ? "none" : xname(other));
		return;
	}
	if (got != XP_OK)
		return;
	if (write) {
		model_set(o, pg, v, true);
	} else if (known) {
		__atomic_fetch_add(&sh->data_checks, 1, __ATOMIC_RELAXED);
		if (v != want) {
			fail(c, "load gives %#llx, expected %#llx (%s)",
			     (unsigned long long)v, (unsigned long long)want,
			     model_desc(c, off));
			model_set(o, pg, v, true);
		}
	}
}

/* GUP-style accesses to the private region. */
static void op_gup(struct ctx *c)
{
	struct pmap *m = c->rm[1].addr && pct(c, 30) ? &c->rm[1] : &c->rm[0];
	unsigned long off, pg = 0, spg = 0;
	struct obj *o, *src = NULL;
	uint64_t v = 0, want = 0, sv = 0;
	bool known, sknown = false, write = false;
	char buf[PAGE];
	struct iovec liov = { buf, PAGE }, riov;
	int x, kind = rn(c, 5), e = 0;
	ssize_t n = -1;

	if (c->rfd < 0 || !m->addr)
		return;
	off = pick_touch(c);
	if (c->child && kind >= 2)
		kind = 0;
	if (kind == 4 && !have_ext2)
		kind = 3;
	write = kind >= 2;
	x = expect(c, m, off, write, &o, &pg);
	known = model_get(o, pg, &want);
	riov.iov_base = m->addr + off;
	riov.iov_len = PAGE;
	switch (kind) {
	case 0:
		/*
		 * The pipe holds references to the pages spliced, not copies:
		 * a page left in it (by a forked child killed between its
		 * vmsplice and its read) would be read back here with what it
		 * held then. The soak met this; each process has its own pipe.
		 */
		if (ioctl(c->pipefd[0], FIONREAD, &e) || e) {
			fail(c, "the vmsplice pipe holds %d bytes before the splice", e);
			return;
		}
		n = vmsplice(c->pipefd[1], &riov, 1, 0);
		e = n < 0 ? errno : 0;
		if (n > 0 && read(c->pipefd[0], buf, n) != n)
			fail(c, "reading back the pipe");
		break;
	case 1:
		n = process_vm_readv(getpid(), &liov, 1, &riov, 1, 0);
		e = n < 0 ? errno : 0;
		break;
	case 2:
		sv = new_value(c);
		memcpy(buf, &sv, 8);
		n = process_vm_writev(getpid(), &liov, 1, &riov, 1, 0);
		e = n < 0 ? errno : 0;
		sknown = true;
		break;
	case 3:
	case 4:
		src = c->fobj[kind == 3 ? 0 : 2];
		spg = rn(c, OBJ_SIZE / PAGE);
		if ((spg + 1) * PAGE > src->size)
			spg = 0;
		if ((spg + 1) * PAGE > src->size || (kind == 4 && c->diofd < 0) ||
		    (kind == 4 && o && o->kind == K_EXT2))
			return;
		sknown = model_get(src, spg, &sv);
		if (kind == 3)
			n = pread(src->fd, m->addr + off, PAGE, spg * PAGE);
		else
			n = pread(c->diofd, m->addr + off, PAGE, spg * PAGE);
		e = n < 0 ? errno : 0;
		break;
	}
	count(c, e);
	if (n >= 0 && n != (ssize_t)PAGE) {
		fail(c, "GUP access %d moved %zd bytes, not a page (%s)", kind, n,
		     model_desc(c, off));
		return;
	}
	if (e && e != EFAULT) {
		fail(c, "GUP access %d: undocumented errno %d (%s)", kind, e, strerror(e));
		return;
	}
	if (x == XP_OK && e) {
		fail(c, "GUP access %d: EFAULT where an access works (%s)", kind,
		     model_desc(c, off));
		return;
	}
	if ((x == XP_SEGV || x == XP_BUS) && !e) {
		fail(c, "GUP access %d succeeded where an access gets %s (%s)", kind,
		     xname(x), model_desc(c, off));
		if (write)
			model_set(o, pg, 0, false);
		return;
	}
	if (e)
		return;
	if (write) {
		model_set(o, pg, sv, sknown);
		return;
	}
	memcpy(&v, buf, 8);
	if (known) {
		__atomic_fetch_add(&sh->data_checks, 1, __ATOMIC_RELAXED);
		if (v != want)
			fail(c, "GUP read %d gives %#llx, expected %#llx (%s)", kind,
			     (unsigned long long)v, (unsigned long long)want,
			     model_desc(c, off));
	}
}

static const int advices[] = {
	MADV_DONTNEED, MADV_DONTNEED, MADV_REMOVE, MADV_REMOVE, MADV_PT_RECLAIM,
	MADV_PT_RECLAIM, MADV_PAGEOUT, MADV_COLD, MADV_WILLNEED,
	MADV_POPULATE_READ, MADV_POPULATE_WRITE, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
	MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_FREE,
	MADV_MERGEABLE, MADV_UNMERGEABLE, MADV_DONTDUMP, MADV_DODUMP,
	MADV_DONTNEED_LOCKED, MADV_COLLAPSE, MADV_NORMAL, MADV_RANDOM,
	MADV_SEQUENTIAL, -1,
};

static const char *adv_name(int a)
{
	static char buf[16];

	switch (a) {
	case MADV_DONTNEED:
		return "MADV_DONTNEED";
	case MADV_REMOVE:
		return "MADV_REMOVE";
	case MADV_PT_RECLAIM:
		return "MADV_PT_RECLAIM";
	case MADV_PAGEOUT:
		return "MADV_PAGEOUT";
	case MADV_COLD:
		return "MADV_COLD";
	case MADV_WILLNEED:
		return "MADV_WILLNEED";
	case MADV_POPULATE_READ:
		return "MADV_POPULATE_READ";
	case MADV_POPULATE_WRITE:
		return "MADV_POPULATE_WRITE";
	}
	snprintf(buf, sizeof(buf), "advice %d", a);
	return buf;
}

static const int adv_drop[] = { EINVAL, ENOMEM, EACCES, EINTR, EAGAIN, 0 };
static const int adv_willneed[] = { EINVAL, ENOMEM, EBADF, EINTR, EAGAIN, 0 };
static const int adv_remove[] = { EINVAL, ENOMEM, EACCES, EOPNOTSUPP, EINTR, 0 };
static const int adv_reclaim[] = { EINVAL, ENOMEM, EINTR, 0 };
static const int adv_populate[] = { EINVAL, ENOMEM, EFAULT, EINTR, EHWPOISON, EAGAIN, 0 };
static const int adv_other[] = { EINVAL, 0 };

static void op_madvise(struct ctx *c)
{
	bool priv = c->rfd >= 0 && pct(c, 60) && !c->child;
	struct pmap *m = priv ? (c->rm[1].addr && pct(c, 20) ? &c->rm[1] : &c->rm[0]) : pick_pm(c);
	int adv = advices[rn(c, sizeof(advices) / sizeof(advices[0]))];
	unsigned long start, len, cap = 64 * MB;
	const int *set;
	bool must_fail = false;
	int e;

	if (!m || !m->addr)
		return;
	if (c->child && (adv == MADV_REMOVE || adv == MADV_POPULATE_WRITE))
		adv = MADV_WILLNEED;
	if (adv == -1) {
		static const int garbage[] = { 27, 50, 99, 102, 103, 150, 1000, -5, 0x7fffffff };

		adv = garbage[rn(c, 9)];
	}
	if (adv == MADV_POPULATE_READ || adv == MADV_POPULATE_WRITE)
		cap = MB;
	if (priv && c->nseg && pct(c, 70)) {
		struct seg *s = &c->seg[rn(c, c->nseg)];

		start = s->off + (pct(c, 50) ? 0 : rn(c, s->len / PAGE) * PAGE);
		len = pct(c, 50) ? s->off + s->len - start : (1 + rn(c, 64)) * PAGE;
	} else {
		start = rn(c, 32) * HPAGE;
		len = pct(c, 20) ? m->len - start : (1 + rn(c, 4)) * HPAGE;
	}
	if (start >= m->len)
		start = 0;
	if (len > cap)
		len = cap;
	if (start + len > m->len)
		len = m->len - start;
	if (pct(c, 4))
		start += 100;
	if (pct(c, 3))
		len = 0;
	switch (adv) {
	case MADV_DONTNEED:
	case MADV_PAGEOUT:
	case MADV_COLD:
	case MADV_DONTNEED_LOCKED:
		set = adv_drop;
		break;
	case MADV_WILLNEED:
		set = adv_willneed;
		break;
	case MADV_REMOVE:
		set = adv_remove;
		must_fail = !(m->prot & PROT_WRITE) && len;
		break;
	case MADV_PT_RECLAIM:
		set = adv_reclaim;
		break;
	case MADV_POPULATE_READ:
	case MADV_POPULATE_WRITE:
		set = adv_populate;
		must_fail = adv == MADV_POPULATE_WRITE && !(m->prot & PROT_WRITE) && len;
		break;
	default:
		set = adv_other;
		must_fail = len || adv < 0 || adv > 30;
		break;
	}
	if ((start & (PAGE - 1)) && len)
		must_fail = true;
	e = madvise(m->addr + start, len, adv) ? errno : 0;
	if (!e && must_fail)
		fail(c, "madvise(%#lx+%#lx, %s) on a %s region mapping succeeded, must fail",
		     start, len, adv_name(adv), m->prot & PROT_WRITE ? "rw" : "r-");
	else if (e && !in_set(e, set))
		fail(c, "madvise(%#lx+%#lx, %s): undocumented errno %d (%s)", start, len,
		     adv_name(adv), e, strerror(e));
	count(c, e);
	if (!priv || !len)
		return;
	/* MADV_REMOVE drops the data; a failure may have done part of it. */
	if (adv == MADV_REMOVE)
		model_range(c, start, len, !e);
}

/* What one process may not do to its region mapping. */
static void op_split(struct ctx *c)
{
	bool priv = c->rfd >= 0 && pct(c, 50);
	struct pmap *m = priv ? &c->rm[0] : pick_pm(c);
	unsigned long in, len;
	int e, prot;
	void *r;

	if (!m || !m->addr)
		return;
	in = (1 + rn(c, 64)) * PAGE;
	len = (1 + rn(c, 64)) * PAGE;
	sh->cur_sub[c->slot][c->th] = rn(c, 8);
	switch (sh->cur_sub[c->slot][c->th]) {
	case 0:
		e = munmap(m->addr + in, len) ? errno : 0;
		check(c, "munmap(part)", e, SET(EINVAL), true);
		break;
	case 1:
		prot = ((const int []){ PROT_READ, RW, PROT_NONE, RW | PROT_EXEC, PROT_WRITE })[rn(c, 5)];
		if (pct(c, 50)) {
			in = 0;
			len = m->len;
		}
		e = mprotect(m->addr + in, len, prot) ? errno : 0;
		check(c, "mprotect", e, SET(EINVAL, EACCES, ENOMEM), prot != m->prot);
		break;
	case 2:
		{
		unsigned long nl = pct(c, 30) ? m->len : pct(c, 50) ? m->len / 2 : m->len + unit;
		int fl = ((const int []){ 0, MREMAP_MAYMOVE, MREMAP_MAYMOVE | MREMAP_FIXED,
				  MREMAP_MAYMOVE | 4 })[rn(c, 4)];
		void *to = NULL;

		/*
		 * A target that overlaps the mapping is refused before
		 * anything is done; any other would be unmapped first, even
		 * though the move then fails.
		 */
		if (fl & MREMAP_FIXED)
			to = m->addr + unit / 2;
		if (fl & 4)
			nl = m->len;
		r = mremap(m->addr, m->len, nl, fl, to);
		e = r == MAP_FAILED ? errno : 0;
		check(c, "mremap", e, SET(EINVAL),
		      nl != m->len || (fl & (MREMAP_FIXED | 4)));
		if (!e && r != m->addr) {
			fail(c, "mremap moved the region mapping to %p", r);
			exit(3);
		}
		break;
	}
	case 3:
		e = (pct(c, 50) ? mlock(m->addr + in, len) :
		     syscall(SYS_mlock2, m->addr + in, len, MLOCK_ONFAULT)) ? errno : 0;
		check(c, "mlock", e, SET(EINVAL, ENOMEM, EAGAIN, EPERM), true);
		break;
	case 4:
		e = munlock(m->addr + in, len) ? errno : 0;
		check(c, "munlock", e, SET(ENOMEM), false);
		break;
	case 5:
		if (pct(c, 20)) {
			e = mlockall(MCL_CURRENT | MCL_ONFAULT) ? errno : 0;
			check(c, "mlockall", e, SET(ENOMEM, EAGAIN), false);
			munlockall();
		}
		break;
	default:
		{
		int fl = ((const int []){ MS_SYNC, MS_ASYNC, MS_INVALIDATE, MS_SYNC | MS_ASYNC, 8 })[rn(c, 5)];

		if (pct(c, 30)) {
			in = 0;
			len = m->len;
		}
		e = msync(m->addr + in, len, fl) ? errno : 0;
		check(c, "msync", e, SET(EINVAL, ENOMEM, EBUSY, EINTR),
		      fl == (MS_SYNC | MS_ASYNC) || fl == 8);
		break;
	}
	}
}

/* smaps and pagemap of the private mapping. */
static void op_procread(struct ctx *c)
{
	struct pmap *m = &c->rm[0];
	uint64_t ent[16];
	unsigned long off;
	long kb;
	int fd, i;
	ssize_t n;

	if (!m->addr)
		return;
	if (pct(c, 40)) {
		/*
		 * Rss is walked through the host's tables (as the guard test
		 * has it), so it is only bounded by the size.
		 */
		long rss = smaps_kb(m->addr, "Rss");

		kb = smaps_kb(m->addr, "Size");
		if (kb != (long)(m->len >> 10) || rss < 0 || rss > kb)
			fail(c, "smaps of the region mapping: Size %ld kB (not %lu), Rss %ld kB",
			     kb, m->len >> 10, rss);
		count(c, 0);
		return;
	}
	off = pick_touch(c) & ~(16 * PAGE - 1);
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return;
	n = pread(fd, ent, sizeof(ent), ((unsigned long)m->addr + off) / PAGE * 8);
	close(fd);
	count(c, n < 0 ? errno : 0);
	if (n != sizeof(ent)) {
		fail(c, "pagemap read of the region: %zd (%s)", n, strerror(errno));
		return;
	}
	for (i = 0; i < 16; i++)
		if (!seg_at(c, off + i * PAGE) && (ent[i] >> 63))
			fail(c, "pagemap shows a present page in a hole (%s): %#llx",
			     model_desc(c, off + i * PAGE), (unsigned long long)ent[i]);
}

/* Read and parse /proc/self/fdinfo/FD of a region. */
static void op_fdinfo(struct ctx *c)
{
	bool priv = c->rfd >= 0 && pct(c, 60);
	struct pfd *p = priv ? NULL : pick_pfd(c);
	int fd = priv ? c->rfd : p ? p->fd : -1;
	long size = -1, mapped = -1, mappings = -1, nmap = 0;
	static __thread char buf[65536];
	char path[64], *line, *save;
	unsigned long sum = 0;
	int pfd, i, seen = 0;
	ssize_t n, len = 0;

	if (fd < 0)
		return;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	pfd = open(path, O_RDONLY);
	if (pfd < 0) {
		fail(c, "open %s: %s", path, strerror(errno));
		return;
	}
	while ((n = read(pfd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	close(pfd);
	buf[len] = 0;
	count(c, n < 0 ? errno : 0);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');
		unsigned long a, b, d, e2, f;
		char pr[8], ty[16], pa[256];

		if (!colon || colon[1] != '\t') {
			fail(c, "fdinfo line without \":\\t\": %.80s", line);
			return;
		}
		*colon = 0;
		if (!strcmp(line, "map")) {
			if (sscanf(colon + 2, "%lu %lu %7s %15s %lu %lu %lu %255s", &a, &b, pr,
				   ty, &d, &e2, &f, pa) != 8) {
				fail(c, "fdinfo map line does not parse: %.80s", colon + 2);
				return;
			}
			nmap++;
			continue;
		}
		if (!strcmp(line, "size")) {
			size = strtol(colon + 2, NULL, 10);
			seen++;
		} else if (!strcmp(line, "mapped")) {
			mapped = strtol(colon + 2, NULL, 10);
			seen++;
		} else if (!strcmp(line, "mappings")) {
			mappings = strtol(colon + 2, NULL, 10);
			seen++;
		} else if (!strcmp(line, "rss_anon") || !strcmp(line, "rss_file") ||
			   !strcmp(line, "rss_shmem") || !strcmp(line, "rss_hugetlb") ||
			   !strcmp(line, "pagetables") || !strcmp(line, "attached") ||
			   !strcmp(line, "linked") || !strcmp(line, "pud_links") ||
			   !strcmp(line, "pt_freed") || !strcmp(line, "pt_pending")) {
			char *end;

			strtol(colon + 2, &end, 10);
			if (*end || end == colon + 2)
				fail(c, "fdinfo %s: %s", line, colon + 2);
			seen++;
		}
	}
	if (seen != 13) {
		fail(c, "fdinfo has %d of the 13 summary keys", seen);
		return;
	}
	if (size < 0 || size % unit)
		fail(c, "fdinfo size %ld", size);
	if (!priv)
		return;
	for (i = 0; i < c->nseg; i++)
		sum += c->seg[i].len;
	if (size != (long)c->rsize || mapped != (long)sum || nmap != mappings ||
	    mappings > c->nseg + c->split_slack || (c->nseg && !mappings))
		fail(c, "fdinfo of the private region: size %ld mapped %ld mappings %ld (%ld map lines); model: size %lu mapped %lu in %d mappings",
		     size, mapped, mappings, nmap, c->rsize, sum, c->nseg);
}

/* Truncate, punch, write and read the objects behind mappings. */
static void op_obj(struct ctx *c)
{
	static const unsigned long sizes[] = {
		OBJ_SIZE, OBJ_SIZE, 2 * MB, MB + PAGE, 0, 2 * OBJ_SIZE, MB + 100,
	};
	struct obj *o;
	unsigned long pg, off, len, size;
	uint64_t v, want;
	int e, i;

	if (c->child)
		return;
	if (pct(c, 25)) {
		/* A shared object of the pool: no model. */
		int k = ((const int []){ K_MEMFD, K_TMPFS, K_EXT2, K_HMEMFD })[rn(c, 4)];

		if (kind_fd[k] < 0)
			return;
		if (pct(c, 50))
			e = ftruncate(kind_fd[k], sizes[rn(c, 7)] * 2) ? errno : 0;
		else
			e = fallocate(kind_fd[k], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				      rn(c, 2048) * PAGE, rn(c, 512) * PAGE) ? errno : 0;
		check(c, "shared object", e, SET(EOPNOTSUPP, EINVAL), false);
		return;
	}
	o = c->fobj[rn(c, have_ext2 ? 3 : 2)];
	if (o->kind == K_EXT2 && !have_ext2)
		return;
	switch (rn(c, 5)) {
	case 0:
		size = sizes[rn(c, 7)];
		e = ftruncate(o->fd, size) ? errno : 0;
		check(c, "ftruncate(object)", e, SET(EINTR), false);
		if (e)
			return;
		for (pg = (size + PAGE - 1) / PAGE; pg < MODEL_PAGES; pg++)
			model_set(o, pg, 0, true);
		o->size = size;
		return;
	case 1:
		off = rn(c, 1024) * PAGE;
		len = (1 + rn(c, 64)) * PAGE;
		e = fallocate(o->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) ?
		    errno : 0;
		check(c, "fallocate(PUNCH_HOLE)", e, SET(EOPNOTSUPP),
		      false);
		if (!e && o->kind == K_EXT2)
			fail(c, "ext2 punched a hole");
		if (!e)
			for (pg = off / PAGE; pg < (off + len) / PAGE && pg < MODEL_PAGES; pg++)
				model_set(o, pg, 0, true);
		return;
	case 2:
		pg = rn(c, MODEL_PAGES);
		v = new_value(c);
		e = pwrite(o->fd, &v, 8, pg * PAGE) == 8 ? 0 : errno;
		check(c, "pwrite(object)", e, SET(ENOSPC), false);
		if (e)
			return;
		model_set(o, pg, v, true);
		if (pg * PAGE + 8 > o->size)
			o->size = pg * PAGE + 8;
		return;
	default:
		for (i = 0; i < 4; i++) {
			ssize_t n;

			pg = rn(c, MODEL_PAGES);
			v = 0;
			n = pread(o->fd, &v, 8, pg * PAGE);
			count(c, n < 0 ? errno : 0);
			if (pg * PAGE >= o->size) {
				if (n != 0)
					fail(c, "pread past EOF of a %s object: %zd", kind_names[o->kind], n);
				continue;
			}
			if (n != 8) {
				fail(c, "pread of a %s object: %zd", kind_names[o->kind], n);
				continue;
			}
			if (model_get(o, pg, &want) && want != v)
				fail(c, "%s object page %lu holds %#llx, expected %#llx",
				     kind_names[o->kind], pg, (unsigned long long)v,
				     (unsigned long long)want);
		}
	}
}

static void op_badioctl(struct ctx *c)
{
	struct pfd *p = pick_pfd(c);
	int fd = c->rfd >= 0 && (!p || pct(c, 40)) ? c->rfd : p ? p->fd : -1;
	void *ptrs[] = { NULL, (void *)1, c->guard, (void *)-4096L, (void *)(1UL << 47) };
	unsigned long cmd;
	int e;

	if (fd < 0)
		return;
	if (pct(c, 50)) {
		cmd = pct(c, 50) ? MSHAREFS_CREATE_MAPPING : MSHAREFS_UNMAP;
		e = ioctl(fd, cmd, ptrs[rn(c, 5)]) ? errno : 0;
		check(c, "ioctl(bad pointer)", e, SET(EFAULT, EBADF, EINVAL), true);
		return;
	}
	switch (rn(c, 5)) {
	case 0:
		cmd = _IOW('x', 2 + rn(c, 254), struct mshare_create);
		break;
	case 1:
		cmd = _IOR('x', rn(c, 2), struct mshare_create);
		break;
	case 2:
		cmd = _IO('x', rn(c, 2));
		break;
	case 3:
		cmd = _IOW('x', rn(c, 2), uint64_t);
		break;
	default:
		cmd = rnd(c) & 0xffffffff;
		/* Keep away from the ioctls the VFS answers itself. */
		cmd = (cmd & ~0xff00UL) | ((unsigned long)(0xa0 + rn(c, 16)) << 8);
		break;
	}
	e = ioctl(fd, cmd, ptrs[rn(c, 5)]) ? errno : 0;
	if (e != ENOTTY)
		fail(c, "ioctl %#lx: %s, not ENOTTY", cmd, e ? strerror(e) : "success");
	count(c, e);
}

/*
 * An op waits far too long: print the kernel stack of every thread of pid,
 * and have the kernel print every blocked task with its stack (sysrq w,
 * into the console the harness keeps; once a run), so that whoever holds
 * what it waits for can be found.
 */
static void dump_waiters(pid_t pid, const char *who)
{
	char path[80], stack[FAIL_LEN * 4];
	struct dirent *e;
	DIR *d;
	int fd;

	if (!__atomic_exchange_n(&sh->sysrq_done, 1, __ATOMIC_RELAXED)) {
		fd = open("/proc/sysrq-trigger", O_WRONLY);
		if (fd >= 0) {
			if (write(fd, "w", 1) != 1)
				perror("sysrq w");
			close(fd);
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stack", pid, e->d_name);
		if (read_file(path, stack, sizeof(stack)) < 0)
			continue;
		for (char *q = stack; *q; q++)
			if (*q == '\n')
				*q = '|';
		fprintf(stderr, "# %s: task %s waits; stack: %s\n", who, e->d_name, stack);
	}
	closedir(d);
}

static void do_op(struct ctx *c, int op);

static struct ctx *child_ctx;

/* A forked child stuck in an op: say which, with where it is. */
static void child_alarm(int sig)
{
	char stack[FAIL_LEN - 160];

	if (read_file("/proc/thread-self/stack", stack, sizeof(stack)) < 0)
		stack[0] = 0;
	for (char *p = stack; *p; p++)
		if (*p == '\n')
			*p = '|';
	fail(child_ctx, "forked child hangs for %d s in this op; stack: %s",
	     HANG_SECS, stack);
	_exit(5);
}

static void op_fork(struct ctx *c)
{
	int status, i, n = 1 + rn(c, 4);
	bool killed = pct(c, 25);
	uint64_t crng = rnd(c);
	pid_t pid;

	__atomic_fetch_add(&sh->forks, 1, __ATOMIC_RELAXED);
	pid = fork();
	if (pid < 0) {
		check(c, "fork", errno, SET(EAGAIN, ENOMEM), false);
		return;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		child_ctx = c;
		signal(SIGALRM, child_alarm);
		alarm(HANG_SECS - 5);
		c->child = true;
		c->rng = crng;
		/* Not the parent's pipe: a kill here must not leave it pages. */
		close(c->pipefd[0]);
		close(c->pipefd[1]);
		if (pipe(c->pipefd))
			_exit(0);
		for (i = 0; i < n; i++) {
			int op;

			do {
				op = pick_weighted(c, op_weight, NOPS);
			} while (!child_ok[op]);
			c->idx++;
			do_op(c, op);
		}
		_exit(0);
	}
	if (killed) {
		usleep(rn(c, 3000));
		kill(pid, SIGKILL);
	}
	for (i = 0; i < HANG_SECS / 2 * 100; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		usleep(10000);
	}
	if (i == HANG_SECS / 2 * 100) {
		dump_waiters(pid, "forked child");
		if (wait_child(pid, &status, HANG_SECS - HANG_SECS / 2)) {
			fail(c, "forked child hangs");
			return;
		}
	}
	count(c, 0);
	if (!exited_with(status, 0) && !(killed && killed_by(status, SIGKILL)))
		fail(c, "forked child ended with status %#x", status);
}

static void op_signal(struct ctx *c)
{
	int s = rn(c, nprocs);
	pid_t pid = sh->pids[s];

	__atomic_fetch_add(&sh->signals, 1, __ATOMIC_RELAXED);
	if (pct(c, 50) && pid > 0) {
		kill(pid, SIGUSR1);
	} else {
		pid_t tid = sh->tids[c->slot][rn(c, nthreads)];

		if (tid > 0)
			syscall(SYS_tgkill, getpid(), tid, SIGUSR1);
	}
	count(c, 0);
}

static void do_op(struct ctx *c, int op)
{
	int prev = c->op;

	c->op = op;
	__atomic_fetch_add(&sh->cnt[op], 1, __ATOMIC_RELAXED);
	if (verbose)
		fprintf(stderr, "%d.%d #%ld %s%s\n", c->slot, c->th, c->idx, op_names[op],
			c->child ? " (child)" : "");
	switch (op) {
	case OP_OPEN:
		op_open(c);
		break;
	case OP_CLOSE:
		op_close(c);
		break;
	case OP_UNLINK:
		op_unlink(c);
		break;
	case OP_RENAME:
		op_rename(c);
		break;
	case OP_SIZE:
		op_size(c);
		break;
	case OP_FSTAT:
		op_fstat(c);
		break;
	case OP_NSOPS:
		op_nsops(c);
		break;
	case OP_CREATE:
		op_create(c);
		break;
	case OP_UNMAP:
		op_unmap(c);
		break;
	case OP_MMAP:
		op_mmap(c);
		break;
	case OP_MUNMAP:
		op_munmap(c);
		break;
	case OP_PCREATE:
		op_pcreate(c);
		break;
	case OP_PUNMAP:
		op_punmap(c);
		break;
	case OP_PREGION:
		op_pregion(c);
		break;
	case OP_MADVISE:
		op_madvise(c);
		break;
	case OP_SPLIT:
		op_split(c);
		break;
	case OP_ACCESS:
		op_access(c);
		break;
	case OP_GUP:
		op_gup(c);
		break;
	case OP_PROCREAD:
		op_procread(c);
		break;
	case OP_FDINFO:
		op_fdinfo(c);
		break;
	case OP_OBJ:
		op_obj(c);
		break;
	case OP_BADIOCTL:
		op_badioctl(c);
		break;
	case OP_FORK:
		op_fork(c);
		break;
	case OP_SIGNAL:
		op_signal(c);
		break;
	case OP_EXIT:
		__atomic_fetch_add(&sh->exits, 1, __ATOMIC_RELAXED);
		_exit(42);
	}
	c->op = prev;
}

/* --- Workers --- */

static struct obj *private_file(struct ctx *c, int kind, const char *dir)
{
	char path[128];
	int fd;

	if (kind == K_MEMFD) {
		fd = memfd_create("fuzz", 0);
	} else {
		snprintf(path, sizeof(path), "%s/f%d.%d.%d", dir, c->slot, c->th, c->gen);
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (kind == K_EXT2 && fd >= 0) {
			c->diofd = open(path, O_RDWR | O_DIRECT);
			if (c->diofd < 0)
				fail(c, "O_DIRECT open on ext2: %s", strerror(errno));
		}
		unlink(path);
	}
	if (fd < 0 || ftruncate(fd, OBJ_SIZE)) {
		fail(c, "object of kind %s: %s", kind_names[kind], strerror(errno));
		exit(2);
	}
	return obj_new(kind, fd, OBJ_SIZE);
}

static void *worker_thread(void *arg)
{
	struct ctx *c = arg;
	long *done = (long *)&sh->done[c->slot][c->th];

	sh->tids[c->slot][c->th] = gettid();
	sh->op_start[c->slot][c->th] = 0;
	c->rng = sh->seed * 0x100000001b3ULL ^ ((uint64_t)(c->slot + 1) << 40) ^
		 ((uint64_t)(c->th + 1) << 20) ^ c->gen;
	splitmix(&c->rng);
	c->rfd = -1;
	c->diofd = -1;
	for (int i = 0; i < NPFD; i++)
		c->pf[i].fd = -1;
	c->scratch = mmap(NULL, 4 * unit, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	c->guard = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c->scratch == MAP_FAILED || c->guard == MAP_FAILED || pipe(c->pipefd)) {
		fail(c, "worker setup: %s", strerror(errno));
		return NULL;
	}
	c->scratch = (char *)(((unsigned long)c->scratch + unit - 1) & ~(unit - 1));
	c->fobj[0] = private_file(c, K_MEMFD, NULL);
	c->fobj[1] = private_file(c, K_TMPFS, tmpdir);
	c->fobj[2] = have_ext2 ? private_file(c, K_EXT2, ext2.dir) : obj_new(K_EXT2, -1, 0);
	c->fobj[3] = have_huge ? private_file(c, K_HFILE, hugedir) : obj_new(K_HFILE, -1, 0);
	priv_open(c);
	while (!sh->stop && *done < sh->budget) {
		int op;

		c->idx = *done;
		op = pick_weighted(c, op_weight, NOPS);
		if (!rn(c, 1500) && !c->child)
			op = OP_EXIT;
		sh->cur_op[c->slot][c->th] = op;
		sh->cur_sub[c->slot][c->th] = -1;
		__atomic_store_n(&sh->op_start[c->slot][c->th], time(NULL), __ATOMIC_RELEASE);
		do_op(c, op);
		__atomic_store_n(&sh->op_start[c->slot][c->th], 0, __ATOMIC_RELEASE);
		__atomic_fetch_add(done, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* Report a thread stuck in one operation, with its kernel stack. */
static void *watchdog(void *arg)
{
	int slot = (long)arg, t;
	long dumped = 0;

	for (;;) {
		sleep(1);
		for (t = 0; t < nthreads; t++) {
			long s = sh->op_start[slot][t];
			char path[64], stack[FAIL_LEN - 100];
			struct ctx c = { .slot = slot, .th = t, .gen = sh->gens[slot],
					 .op = sh->cur_op[slot][t], .idx = sh->done[slot][t] };

			if (!s || time(NULL) - s < HANG_SECS / 2)
				continue;
			if (time(NULL) - s < HANG_SECS) {
				if (dumped != s)
					dump_waiters(getpid(), "worker");
				dumped = s;
				continue;
			}
			snprintf(path, sizeof(path), "/proc/self/task/%d/stack", sh->tids[slot][t]);
			if (read_file(path, stack, sizeof(stack)) < 0)
				stack[0] = 0;
			for (char *p = stack; *p; p++)
				if (*p == '\n')
					*p = '|';
			fail(&c, "hangs for %d s (step %d); kernel stack: %s", HANG_SECS,
			     sh->cur_sub[slot][t], stack);
			kill(getpid(), SIGKILL);
		}
	}
	return NULL;
}

static void worker_main(int slot)
{
	struct ctx c[MAX_THREADS];
	pthread_t th[MAX_THREADS], wd;
	int t;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	install_handlers();
	memset(c, 0, sizeof(c));
	pthread_create(&wd, NULL, watchdog, (void *)(long)slot);
	for (t = 0; t < nthreads; t++) {
		c[t].slot = slot;
		c[t].th = t;
		c[t].gen = sh->gens[slot];
		if (pthread_create(&th[t], NULL, worker_thread, &c[t]))
			exit(2);
	}
	for (t = 0; t < nthreads; t++)
		pthread_join(th[t], NULL);
	_exit(0);
}

static pid_t spawn(int slot)
{
	pid_t pid = fork();

	if (pid == 0) {
		sh->pids[slot] = getpid();
		worker_main(slot);
	}
	if (pid > 0)
		sh->pids[slot] = pid;
	return pid;
}

/* --- Setup and the main process --- */

static int open_kind(int kind)
{
	char path[128];
	int fd = -1;

	switch (kind) {
	case K_MEMFD:
		fd = memfd_create("fuzz-shared", 0);
		break;
	case K_HMEMFD:
		fd = have_huge ? memfd_create("fuzz-huge", MFD_HUGETLB) : -1;
		if (fd >= 0 && ftruncate(fd, 4 * MB)) {
			close(fd);
			fd = -1;
		}
		return fd;
	case K_TMPFS:
	case K_RO:
	case K_OPATH:
		snprintf(path, sizeof(path), "%s/shared", tmpdir);
		fd = open(path, kind == K_TMPFS ? O_RDWR | O_CREAT : kind == K_RO ?
			  O_RDONLY : O_PATH, 0600);
		break;
	case K_EXT2:
		if (!have_ext2)
			return -1;
		snprintf(path, sizeof(path), "%s/shared", ext2.dir);
		fd = open(path, O_RDWR | O_CREAT, 0600);
		break;
	case K_HFILE:
		if (!have_huge)
			return -1;
		snprintf(path, sizeof(path), "%s/fuzz-shared-%d", hugedir, getpid());
		fd = open(path, O_RDWR | O_CREAT, 0600);
		unlink(path);
		if (fd >= 0 && ftruncate(fd, 4 * MB)) {
			close(fd);
			fd = -1;
		}
		return fd;
	case K_BADFD:
		return 900;
	case K_NEG1:
		return -1;
	case K_INFO:
		snprintf(path, sizeof(path), "%s/mshare_info", mnt);
		return open(path, O_RDONLY);
	case K_PROC:
		return open("/proc/self/status", O_RDONLY);
	case K_DEVZERO:
		return open("/dev/zero", O_RDWR);
	case K_EVENTFD:
		return eventfd(0, 0);
	case K_PIPE:
		{
		int p[2];

		if (pipe(p))
			return -1;
		return p[1];
	}
	case K_DIR:
		return open(tmpdir, O_RDONLY | O_DIRECTORY);
	case K_SECRET:
		return syscall(447, 0);
		/* memfd_secret */
	default:
		return -1;
	}
	if (fd >= 0 && (kind == K_TMPFS || kind == K_EXT2 || kind == K_MEMFD) &&
	    ftruncate(fd, SHARED_OBJ_SIZE)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void usage(const char *prog)
{
	fprintf(stderr, "Usage: %s [-s SEED] [-n OPS] [-t SECONDS] [-p PROCS] [-T THREADS] [-v]\n",
		prog);
	exit(2);
}

static const char *errname(int e)
{
	static char buf[16];
	const char *n = e ? strerrorname_np(e) : "ok";

	if (n)
		return n;
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

static void report(long ops, double secs)
{
	char line[1024];
	int op, e, n;

	for (op = 0; op < NOPS; op++) {
		if (!sh->cnt[op])
			continue;
		n = snprintf(line, sizeof(line), "# %-9s %5ld:", op_names[op], sh->cnt[op]);
		for (e = 0; e <= ERR_MAX && n < (int)sizeof(line) - 40; e++)
			if (sh->hist[op][e])
				n += snprintf(line + n, sizeof(line) - n, " %s %ld",
					      e == ERR_MAX ? "other" : errname(e),
					      sh->hist[op][e]);
		printf("%s\n", line);
	}
	printf("# faults caught %ld, data checks %ld, forks %ld, signals %ld, worker exits %ld, parent process_vm_readv %ld\n",
	       sh->faults_seen, sh->data_checks, sh->forks, sh->signals, sh->exits, sh->pvr);
	printf("# objects: ext2 %s, hugetlb %s\n", have_ext2 ? "yes" : "no (skipped)",
	       have_huge ? "yes" : "no (skipped)");
	printf("# %ld ops in %.1f s: %.0f ops/s\n", ops, secs, secs > 0 ? ops / secs : 0.0);
}

int main(int argc, char **argv)
{
	unsigned long seed = 0;
	long nops = 3000, secs = 0, huge_before = -1, total;
	bool seeded = false, hung = false;
	struct timespec t0, t1;
	time_t deadline, stop_at = 0;
	struct statfs sf;
	uint64_t prng;
	int opt, s, t, status, live;
	double el;
	pid_t pid;

	pthread_atfork(map_lock_prepare, map_lock_parent, map_lock_child);
	while ((opt = getopt(argc, argv, "s:n:t:p:T:v")) != -1) {
		switch (opt) {
		case 's':
			seed = strtoul(optarg, NULL, 0);
			seeded = true;
			break;
		case 'n':
			nops = strtol(optarg, NULL, 0);
			break;
		case 't':
			secs = strtol(optarg, NULL, 0);
			break;
		case 'p':
			nprocs = atoi(optarg);
			break;
		case 'T':
			nthreads = atoi(optarg);
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (nprocs < 1 || nprocs > MAX_PROCS || nthreads < 1 || nthreads > MAX_THREADS ||
	    nops < 1)
		usage(argv[0]);
	if (!seeded)
		seed = (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n1..1\n# seed %lu\n", seed);
	if (geteuid()) {
		printf("ok 1 # SKIP fuzz seed %lu: needs root\n", seed);
		return 4;
	}
	if (mount_instance(mnt, sizeof(mnt))) {
		printf("ok 1 # SKIP fuzz seed %lu: no msharefs\n", seed);
		return 4;
	}
	unit = mshare_unit(mnt);
	sh = shared_mem(sizeof(*sh));
	if (!unit || !sh) {
		printf("not ok 1 fuzz seed %lu: setup\n", seed);
		umount_instance(mnt);
		return 1;
	}
	sh->seed = seed;
	sh->budget = secs ? LONG_MAX : (nops + nprocs * nthreads - 1) / (nprocs * nthreads);

	/* tmpfs: /tmp if it is one, else an instance of ours. */
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/msharefs-fuzz-XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	if (statfs(tmpdir, &sf) || sf.f_type != TMPFS_MAGIC_) {
		own_tmpfs = !mount("tmpfs", tmpdir, "tmpfs", 0, "size=256m");
	}
	/* Huge pages, if they can be had, returned at the end. */
	huge_before = hugepages_get();
	snprintf(hugedir, sizeof(hugedir), "/dev/hugepages");
	if (huge_before >= 0 && !statfs(hugedir, &sf) && sf.f_type == HUGETLBFS_MAGIC_ &&
	    !hugepages_set(huge_before + NR_HUGE) && hugepages_get() >= huge_before + 8)
		have_huge = true;
	have_ext2 = !ext2_loop_setup(&ext2, 64);
	if (!have_ext2)
		ext2_loop_teardown(&ext2);
	for (s = 0; s < NKINDS; s++)
		kind_fd[s] = open_kind(s);
	if (kind_fd[K_TMPFS] >= 0) {
		char path[128];

		snprintf(path, sizeof(path), "%s/shared", tmpdir);
		unlink(path);
	}
	printf("# %d processes x %d threads, unit %#lx, %s\n", nprocs, nthreads, unit,
	       secs ? "timed" : "counted");

	clock_gettime(CLOCK_MONOTONIC, &t0);
	deadline = time(NULL) + (secs ? secs + 120 : 120 + nops / 10);
	if (secs)
		stop_at = time(NULL) + secs;
	/* Workers signal each other: no worker may die of it, new ones neither. */
	signal(SIGUSR1, usr1_handler);
	for (s = 0; s < nprocs; s++)
		if (spawn(s) < 0)
			return 1;
	live = nprocs;
	prng = seed ^ 0x5eed;

	while (live) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid > 0) {
			for (s = 0; s < nprocs && sh->pids[s] != pid; s++)
				;
			if (s == nprocs)
				continue;
			if (exited_with(status, 42) && !sh->stop) {
				sh->gens[s]++;
				if (spawn(s) > 0)
					continue;
			} else if (!exited_with(status, 0) && !exited_with(status, 42)) {
				struct ctx c = { .slot = s, .gen = sh->gens[s], .op = OP_EXIT };

				fail(&c, "worker process ended with status %#x", status);
			}
			sh->pids[s] = 0;
			live--;
			continue;
		}
		if (stop_at && time(NULL) >= stop_at)
			sh->stop = 1;
		if (time(NULL) > deadline) {
			struct ctx c = { .op = OP_EXIT };

			fail(&c, "workers still running at the deadline: hang");
			for (s = 0; s < nprocs; s++)
				if (sh->pids[s] > 0)
					kill(sh->pids[s], SIGKILL);
			hung = true;
			break;
		}
		/* Read workers' private mappings from here (remote GUP). */
		s = splitmix(&prng) % nprocs;
		t = splitmix(&prng) % nthreads;
		if (sh->pids[s] > 0 && sh->pub_addr[s][t]) {
			char buf[256];
			struct iovec l = { buf, sizeof(buf) };
			struct iovec r = { (char *)sh->pub_addr[s][t] +
					   (splitmix(&prng) % 2048) * PAGE, sizeof(buf) };

			if (process_vm_readv(sh->pids[s], &l, 1, &r, 1, 0) < 0 &&
			    !in_set(errno, SET(EFAULT, ESRCH, ENOMEM, EPERM))) {
				struct ctx c = { .op = OP_GUP };

				fail(&c, "parent process_vm_readv: %s", strerror(errno));
			}
			sh->pvr++;
		}
		usleep(2000);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	el = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	for (total = 0, s = 0; s < nprocs; s++)
		for (t = 0; t < nthreads; t++)
			total += sh->done[s][t];

	/* Clean up: the instance first, its regions hold the objects. */
	if (!hung)
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	for (s = 0; s < NKINDS; s++)
		if (kind_fd[s] > 2 && s != K_BADFD)
			close(kind_fd[s]);
	umount_instance(mnt);
	if (have_ext2)
		ext2_loop_teardown(&ext2);
	if (own_tmpfs)
		umount2(tmpdir, MNT_DETACH);
	rmdir(tmpdir);
	if (huge_before >= 0 && have_huge)
		hugepages_set(huge_before);

	report(total, el);
	if (sh->fail_total) {
		printf("not ok 1 fuzz seed %lu: %ld ops, %.0f ops/s, %ld failures\n", seed,
		       total, el > 0 ? total / el : 0.0, sh->fail_total);
		for (s = 0; s < sh->nfail && s < MAX_FAILS; s++)
			printf("# %s\n", sh->fails[s]);
		printf("# replay: %s -s %lu -n %ld -p %d -T %d\n", argv[0], seed, nops,
		       nprocs, nthreads);
		return 1;
	}
	printf("ok 1 fuzz seed %lu: %ld ops, %.0f ops/s\n", seed, total,
	       el > 0 ? total / el : 0.0);
	return 0;
}
