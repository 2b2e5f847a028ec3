// SPDX-License-Identifier: GPL-2.0
/*
 * Page-table walkers of the sharing processes against a host that unmaps
 * and frees its tables, for 60 seconds. A process that maps a region walks
 * the host's PMD and PTE tables through its PUD entries, not only when it
 * faults but whenever the kernel walks its address space for it:
 * /proc/PID/smaps and smaps_rollup, /proc/PID/pagemap, mincore(), and
 * get_user_pages_remote() for process_vm_readv(). Here walker processes do
 * all of these, on themselves and on each other, while another process
 * unmaps and recreates the region's mappings (anonymous and memfd, and
 * truncates the memfds), a faulter writes tags into them (so there are
 * pages to find), and short-lived processes map the region, touch it, read
 * their smaps and exit.
 *
 * Every call must return what it may (mincore() 0 over the whole region,
 * since the region's VMA is always there; process_vm_readv() a partial
 * count or EFAULT where it met a hole), nobody may see another slot's data
 * or anything at all where the region never had a mapping, every role must
 * make progress, and nothing may hang. Kernel reports (KASAN, lockdep,
 * BUG) are looked for by the harness in the kernel log.
 */
#define _GNU_SOURCE
#include <linux/msharefs.h>
#include <sys/uio.h>

#include "../../kselftest_harness.h"
#include "mshare_util.h"

#define PAGE		4096UL
#define MB		(1UL << 20)
#define RW		(PROT_READ | PROT_WRITE)
#define SLOTS		8
#define SLOT		(2 * MB)
#define SLOT_PAGES	(SLOT / PAGE)
#define NWALK		3
#define DURATION	60
#define MIN_ITERS	10
#define PVR_LEN		(64 * 1024UL)

/*
 * Each slot is one PTE table of the host, so unmapping it empties (and may
 * free) that table. Most sit alone in their part of the PMD table; 0 and
 * 2 MiB are neighbours and 1022 MiB is the last entry. Everything else in
 * the region is never mapped.
 */
static const unsigned long slot_off[SLOTS] = {
	0, 2 * MB, 10 * MB, 130 * MB, 258 * MB, 512 * MB, 768 * MB, 1022 * MB,
};

enum role { WALK0, WALK1, WALK2, MAPPER, FORKER, FAULTER, NROLES };

static const char * const role_name[NROLES] = {
	"walker 0", "walker 1", "walker 2", "unmap/create", "fork/exit", "faulter",
};

/* What an error was met in, for the log. */
enum op {
	OP_NONE, OP_MMAP, OP_SMAPS, OP_ROLLUP, OP_PAGEMAP, OP_MINCORE, OP_PVR,
	OP_PEER_SMAPS, OP_PEER_PAGEMAP, OP_POPULATE, OP_UNMAP, OP_CREATE,
	OP_TRUNC, OP_FORK, OP_CHILD, NOPS
};

static const char * const op_name[NOPS] = {
	"-", "mmap", "smaps", "smaps_rollup", "pagemap", "mincore",
	"process_vm_readv", "peer smaps", "peer pagemap", "MADV_POPULATE_WRITE",
	"MSHAREFS_UNMAP", "MSHAREFS_CREATE_MAPPING", "ftruncate", "fork",
	"child status",
};

struct role_stats {
	long iters;
	long sigsegv;
	long sigbus;
	long corrupt;		/* another slot's tag, or data where no slot is */
	long errors;		/* a call that failed in a way it may not */
	long last_err;
	int last_op;
	/* What the walkers found, to show that their walks reached pages. */
	long present;		/* pagemap entries present, own region */
	long resident;		/* mincore() resident pages, own region */
	long pvr_bytes;		/* bytes process_vm_readv() copied */
	long pvr_partial;
	long pvr_efault;
	long peer_reads;	/* smaps and pagemap of another walker */
};

struct race {
	volatile int stop;
	/* Where each walker mapped the region, once it has. */
	volatile unsigned long addr[NWALK];
	volatile pid_t pid[NWALK];
	struct role_stats r[NROLES];
};

static unsigned long rnd_state;

static unsigned long rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static void error(struct role_stats *st, int op, long err)
{
	st->errors++;
	st->last_err = err;
	st->last_op = op;
}

/* The slot holding region offset off, or -1 for a part never mapped. */
static int slot_of(unsigned long off)
{
	int s;

	for (s = 0; s < SLOTS; s++)
		if (off - slot_off[s] < SLOT)
			return s;
	return -1;
}

static unsigned long tag(int slot, int id, unsigned long n)
{
	return ((unsigned long)(slot + 1) << 32) | ((unsigned long)id << 24) | (n & 0xffffff);
}

/* May the word at region offset off hold v? */
static int word_ok(unsigned long off, unsigned long v)
{
	int s = slot_of(off);

	return s >= 0 && (!v || (v >> 32) == (unsigned long)s + 1);
}

static sigjmp_buf race_env;
static volatile sig_atomic_t race_sig;

static void race_handler(int sig)
{
	race_sig = sig;
	siglongjmp(race_env, 1);
}

static void catch_faults(void)
{
	struct sigaction sa = { .sa_handler = race_handler };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

/*
 * n reads or writes (one in write_one_in) of random words in the slots.
 * SIGSEGV (a slot being recreated) and SIGBUS (a memfd truncated under it)
 * are counted and the next access goes on.
 */
static void touch_some(volatile unsigned long *p, int n, int write_one_in, int id,
		       struct role_stats *st)
{
	volatile int i = 0;

	if (sigsetjmp(race_env, 1)) {
		if (race_sig == SIGSEGV)
			st->sigsegv++;
		else
			st->sigbus++;
	}
	while (i < n) {
		unsigned long x = rnd();
		int slot = x % SLOTS;
		unsigned long off = slot_off[slot] + ((x >> 8) % SLOT_PAGES) * PAGE +
				    ((x >> 24) % 512) * 8;
		unsigned long v;

		i++;
		if ((x >> 40) % write_one_in == 0) {
			p[off / 8] = tag(slot, id, i);
		} else {
			v = p[off / 8];
			if (!word_ok(off, v))
				st->corrupt++;
		}
	}
}

/* Read a whole file (smaps can be long): 0, or the errno. */
static int read_whole(const char *path)
{
	static char buf[64 * 1024];
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return errno;
	do {
		n = read(fd, buf, sizeof(buf));
	} while (n > 0);
	if (n < 0)
		err = errno;
	close(fd);
	return err;
}

/*
 * pagemap entries of npages pages from region offset off, for a region
 * mapped at base, through the open pagemap file pmfd. Counts the present
 * ones into *present; an entry present where no slot is, is corruption.
 * Returns 0, or the errno (EIO for a short read).
 */
static int read_pagemap(int pmfd, unsigned long base, unsigned long off,
			unsigned long npages, uint64_t *ent, long *present, long *corrupt)
{
	ssize_t len = npages * sizeof(*ent);
	unsigned long i;
	ssize_t n;

	n = pread(pmfd, ent, len, (base + off) / PAGE * sizeof(*ent));
	if (n != len)
		return n < 0 ? errno : EIO;
	for (i = 0; i < npages; i++) {
		if (!(ent[i] >> 63))
			continue;
		(*present)++;
		if (slot_of(off + i * PAGE) < 0)
			(*corrupt)++;
	}
	return 0;
}

/*
 * process_vm_readv() of PVR_LEN bytes at a random place in a random slot of
 * another walker's region. Starting near the end of a slot it runs into
 * the next slot or a hole; a hole, or a slot being recreated, stops it
 * (short count, or EFAULT if nothing came). What came must be the slots'.
 */
static void peer_readv(struct race *rc, int w, struct role_stats *st, unsigned long *buf)
{
	unsigned long x = rnd();
	int peer = (w + 1 + x % (NWALK - 1)) % NWALK;
	unsigned long base = rc->addr[peer];
	unsigned long off = slot_off[(x >> 8) % SLOTS] + ((x >> 16) % SLOT_PAGES) * PAGE;
	struct iovec local = { .iov_base = buf, .iov_len = PVR_LEN };
	struct iovec remote;
	unsigned long i;
	ssize_t n;

	if (!base)
		return;
	remote.iov_base = (void *)(base + off);
	remote.iov_len = PVR_LEN;
	n = process_vm_readv(rc->pid[peer], &local, 1, &remote, 1, 0);
	if (n < 0) {
		if (errno == EFAULT)
			st->pvr_efault++;
		else if (!rc->stop)	/* the peer may be gone once told to stop */
			error(st, OP_PVR, errno);
		return;
	}
	if ((unsigned long)n > PVR_LEN) {
		error(st, OP_PVR, 1000000 + n);
		return;
	}
	if ((unsigned long)n < PVR_LEN)
		st->pvr_partial++;
	st->pvr_bytes += n;
	for (i = 0; i < (unsigned long)n / 8; i++)
		if (!word_ok(off + i * 8, buf[i]))
			st->corrupt++;
}

/* smaps and pagemap of another walker, as a monitoring tool reads them. */
static void peer_proc(struct race *rc, int w, struct role_stats *st, uint64_t *ent)
{
	unsigned long x = rnd();
	int peer = (w + 1 + x % (NWALK - 1)) % NWALK;
	unsigned long base = rc->addr[peer];
	long present = 0;
	char path[64];
	int fd, e;

	if (!base)
		return;
	snprintf(path, sizeof(path), "/proc/%d/smaps", rc->pid[peer]);
	e = read_whole(path);
	if (e && !rc->stop)
		error(st, OP_PEER_SMAPS, e);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", rc->pid[peer]);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		if (!rc->stop)
			error(st, OP_PEER_PAGEMAP, errno);
		return;
	}
	e = read_pagemap(fd, base, slot_off[(x >> 8) % SLOTS], SLOT_PAGES, ent,
			 &present, &st->corrupt);
	if (e && !rc->stop)
		error(st, OP_PEER_PAGEMAP, e);
	close(fd);
	st->peer_reads++;
}

/*
 * A walker: maps the region, touches it so that its PUD entry links the
 * host's PMD table again after every unmap, and walks its own tables and
 * its peers' in every way /proc and the syscalls offer.
 */
static int walker(struct race *rc, int w, int fd, unsigned long u)
{
	struct role_stats *st = &rc->r[WALK0 + w];
	unsigned long npages = u / PAGE;
	unsigned char *vec;
	unsigned long *buf;
	uint64_t *ent;
	char *p;
	int pmfd;
	long it;

	vec = malloc(npages);
	ent = malloc(npages * sizeof(*ent));
	buf = malloc(PVR_LEN);
	pmfd = open("/proc/self/pagemap", O_RDONLY);
	p = map_region(fd, u, RW);
	if (!vec || !ent || !buf || pmfd < 0 || !p)
		return 1;
	rc->pid[w] = getpid();
	__sync_synchronize();
	rc->addr[w] = (unsigned long)p;
	catch_faults();

	for (it = 0; !rc->stop; it++) {
		/* Every 16th round over the whole region, else one slot each. */
		int whole = it % 16 == 15;
		unsigned long i;
		int s, e;

		touch_some((volatile unsigned long *)p, 32, 4, WALK0 + w, st);

		e = read_whole("/proc/self/smaps");
		if (e)
			error(st, OP_SMAPS, e);
		e = read_whole("/proc/self/smaps_rollup");
		if (e)
			error(st, OP_ROLLUP, e);

		if (whole) {
			e = read_pagemap(pmfd, (unsigned long)p, 0, npages, ent,
					 &st->present, &st->corrupt);
			if (e)
				error(st, OP_PAGEMAP, e);
		} else {
			for (s = 0; s < SLOTS; s++) {
				e = read_pagemap(pmfd, (unsigned long)p, slot_off[s], SLOT_PAGES,
						 ent, &st->present, &st->corrupt);
				if (e)
					error(st, OP_PAGEMAP, e);
			}
		}

		/* The region's VMA covers all of it: mincore() has no ENOMEM. */
		if (whole) {
			if (mincore(p, u, vec)) {
				error(st, OP_MINCORE, errno);
			} else {
				for (i = 0; i < npages; i++) {
					if (!(vec[i] & 1))
						continue;
					st->resident++;
					if (slot_of(i * PAGE) < 0)
						st->corrupt++;
				}
			}
		} else {
			for (s = 0; s < SLOTS; s++) {
				if (mincore(p + slot_off[s], SLOT, vec)) {
					error(st, OP_MINCORE, errno);
					continue;
				}
				for (i = 0; i < SLOT_PAGES; i++)
					st->resident += vec[i] & 1;
			}
		}

		peer_readv(rc, w, st, buf);
		peer_proc(rc, w, st, ent);
		st->iters++;
	}
	return 0;
}

/* Create slot s as anonymous shared memory or as its memfd. */
static int create_slot(int fd, int s, int memfd, const int *mfd)
{
	if (memfd)
		return mshare_file(fd, slot_off[s], SLOT, RW, mfd[s]);
	return mshare_anon(fd, slot_off[s], SLOT);
}

/*
 * MSHAREFS_UNMAP and CREATE_MAPPING of random slots, each one anonymous and
 * memfd in turn; the memfds are shrunk and grown again while mapped. Now
 * and then the whole region goes at once: every PTE table of the host is
 * emptied together and its PMD table is left with no entry at all (a host
 * that freed it then would pull it from under the walkers).
 */
static int mapper(struct race *rc, int fd, unsigned long u)
{
	struct role_stats *st = &rc->r[MAPPER];
	int mfd[SLOTS], memfd[SLOTS] = { 0 }, s, e;
	long it;

	/* Each slot has a memfd of its own, so it only ever holds its tags. */
	for (s = 0; s < SLOTS; s++) {
		mfd[s] = memfd_create("walker-race", 0);
		if (mfd[s] < 0 || ftruncate(mfd[s], SLOT))
			return 1;
	}
	for (it = 0; !rc->stop; it++) {
		unsigned long x = rnd();

		if (it % 64 == 63) {
			e = mshare_unmap(fd, 0, u);
			if (e)
				error(st, OP_UNMAP, e);
			usleep(1000);
			for (s = 0; s < SLOTS; s++) {
				memfd[s] = !memfd[s];
				e = create_slot(fd, s, memfd[s], mfd);
				if (e)
					error(st, OP_CREATE, e);
			}
			st->iters++;
			continue;
		}

		s = x % SLOTS;
		e = mshare_unmap(fd, slot_off[s], SLOT);
		if (e)
			error(st, OP_UNMAP, e);
		if ((x >> 8) % 4 == 0)
			usleep(500);	/* a hole for a while */
		memfd[s] = !memfd[s];
		e = create_slot(fd, s, memfd[s], mfd);
		if (e)
			error(st, OP_CREATE, e);
		if (memfd[s] && (x >> 16) % 4 == 0) {
			/* Pull pages out from under whoever maps them. */
			if (ftruncate(mfd[s], ((x >> 24) % SLOT_PAGES) * PAGE))
				error(st, OP_TRUNC, errno);
			usleep(500);
			if (ftruncate(mfd[s], SLOT))
				error(st, OP_TRUNC, errno);
		}
		st->iters++;
	}
	return 0;
}

/*
 * Short-lived processes: map the region, touch a few pages (linking the
 * host's tables), read their own smaps, exit with or without munmap.
 */
static int forker(struct race *rc, int fd, unsigned long u)
{
	struct role_stats *st = &rc->r[FORKER];
	long it;

	for (it = 0; !rc->stop; it++) {
		int status;
		pid_t pid = fork_child();

		if (pid < 0) {
			error(st, OP_FORK, errno);
			continue;
		}
		if (pid == 0) {
			struct role_stats mine = { 0 };
			volatile unsigned long *p = map_region(fd, u, RW);

			if (!p)
				_exit(1);
			rnd_state ^= (unsigned long)getpid() << 20;
			catch_faults();
			touch_some(p, 16, 2, FORKER, &mine);
			if (mine.corrupt)
				_exit(2);
			if (read_whole("/proc/self/smaps"))
				_exit(3);
			if ((it & 1) && munmap((void *)p, u))
				_exit(4);
			_exit(0);
		}
		if (waitpid(pid, &status, 0) != pid || !exited_with(status, 0))
			error(st, OP_CHILD, status);
		st->iters++;
	}
	return 0;
}

/* Tags written into the slots, so the walkers find pages to report. */
static int faulter(struct race *rc, int fd, unsigned long u)
{
	struct role_stats *st = &rc->r[FAULTER];
	char *p = map_region(fd, u, RW);

	if (!p)
		return 1;
	catch_faults();
	while (!rc->stop) {
		unsigned long x = rnd();

		touch_some((volatile unsigned long *)p, 256, 2, FAULTER, st);
		/*
		 * Faulting a whole slot in through GUP in this process; it
		 * meets holes and truncations as the walkers do (EFAULT).
		 */
		if ((x >> 32) % 16 == 0 &&
		    madvise(p + slot_off[x % SLOTS], SLOT, MADV_POPULATE_WRITE) &&
		    errno != EFAULT)
			error(st, OP_POPULATE, errno);
		st->iters++;
	}
	return 0;
}

/*
 * Reap the roles once told to stop: 20 s for them to end, then SIGKILL and
 * 10 s more. Never blocks for good, unlike wait_child(): a process spinning
 * in the kernel on a freed lock cannot die, and the counts should still be
 * reported. A role that is not reaped gets status -1.
 */
static void reap_roles(const pid_t *pid, int *status, int *done)
{
	int i, t, left = 1;

	for (t = 0; t < 300 && left; t++) {
		left = 0;
		for (i = 0; i < NROLES; i++) {
			if (done[i])
				continue;
			if (waitpid(pid[i], &status[i], WNOHANG) == pid[i]) {
				done[i] = 1;
				continue;
			}
			if (t == 200)
				kill(pid[i], SIGKILL);
			left++;
		}
		if (left)
			usleep(100000);
	}
	for (i = 0; i < NROLES; i++)
		if (!done[i])
			status[i] = -1;
}

static void log_rounds(struct __test_metadata *_metadata, struct race *rc, int t)
{
	TH_LOG("%2d s: rounds %ld %ld %ld (walkers), %ld (unmap/create), %ld (fork/exit), %ld (faulter)",
	       t, rc->r[WALK0].iters, rc->r[WALK1].iters, rc->r[WALK2].iters,
	       rc->r[MAPPER].iters, rc->r[FORKER].iters, rc->r[FAULTER].iters);
}

FIXTURE(walk) {
	char mnt[64];
	char path[128];
	unsigned long unit;
	int fd;
};

FIXTURE_SETUP(walk)
{
	int s;

	self->fd = -1;
	region_fixture_setup(_metadata, self->mnt, sizeof(self->mnt), self->path,
			     sizeof(self->path), &self->unit, &self->fd, 1);
	for (s = 0; s < SLOTS; s++)
		ASSERT_EQ(0, mshare_anon(self->fd, slot_off[s], SLOT));
}

FIXTURE_TEARDOWN(walk)
{
	if (self->fd >= 0)
		close(self->fd);
	unlink(self->path);
	umount_instance(self->mnt);
}

TEST_F_TIMEOUT(walk, walkers_vs_unmap, 200)
{
	unsigned long u = self->unit;
	int status[NROLES], done[NROLES] = { 0 };
	long present = 0, resident = 0, pvr = 0;
	pid_t pid[NROLES];
	struct race *rc;
	int i, t;

	rc = shared_mem(sizeof(*rc));
	ASSERT_NE(NULL, rc);
	memset(rc, 0, sizeof(*rc));

	for (i = 0; i < NROLES; i++) {
		pid[i] = fork_child();
		ASSERT_LE(0, pid[i]);
		if (pid[i] == 0) {
			rnd_state = 0x9e3779b97f4a7c15UL ^ ((unsigned long)getpid() << 16);
			switch (i) {
			case MAPPER:
				_exit(mapper(rc, self->fd, u));
			case FORKER:
				_exit(forker(rc, self->fd, u));
			case FAULTER:
				_exit(faulter(rc, self->fd, u));
			default:
				_exit(walker(rc, i - WALK0, self->fd, u));
			}
		}
	}

	/* Let them race; nobody may end before it is told to. */
	for (t = 0; t < DURATION; t++) {
		sleep(1);
		if (t % 15 == 14)
			log_rounds(_metadata, rc, t + 1);
		for (i = 0; i < NROLES; i++) {
			if (!done[i] && waitpid(pid[i], &status[i], WNOHANG) == pid[i]) {
				done[i] = 1;
				TH_LOG("%s ended early: status %#x", role_name[i], status[i]);
			}
		}
	}
	rc->stop = 1;
	reap_roles(pid, status, done);
	for (i = 0; i < NROLES; i++)
		if (status[i] == -1)
			TH_LOG("%s did not stop, even when killed: stuck in the kernel?",
			       role_name[i]);

	for (i = 0; i < NROLES; i++) {
		struct role_stats *st = &rc->r[i];

		TH_LOG("%-12s status %#x: %ld rounds, %ld SIGSEGV, %ld SIGBUS, %ld corrupt, %ld errors (last %s: %ld)",
		       role_name[i], status[i], st->iters, st->sigsegv, st->sigbus,
		       st->corrupt, st->errors, op_name[st->last_op], st->last_err);
		if (i <= WALK2)
			TH_LOG("%-12s pagemap present %ld, mincore resident %ld, process_vm_readv %ld bytes (%ld short, %ld EFAULT), %ld peer reads",
			       role_name[i], st->present, st->resident, st->pvr_bytes,
			       st->pvr_partial, st->pvr_efault, st->peer_reads);
		EXPECT_TRUE(status[i] != -1 && exited_with(status[i], 0))
			TH_LOG("%s: status %#x", role_name[i], status[i]);
		EXPECT_LE(MIN_ITERS, st->iters) TH_LOG("%s made too little progress", role_name[i]);
		EXPECT_EQ(0, st->corrupt)
			TH_LOG("%s saw another slot's data, or data where no slot is", role_name[i]);
		EXPECT_EQ(0, st->errors)
			TH_LOG("%s: %s failed with %ld", role_name[i], op_name[st->last_op],
			       st->last_err);
		if (i <= WALK2) {
			present += st->present;
			resident += st->resident;
			pvr += st->pvr_bytes;
		}
	}
	/* Otherwise the walks never went through the host's tables at all. */
	EXPECT_LT(0, present) TH_LOG("pagemap never showed a page of the region");
	EXPECT_LT(0, resident) TH_LOG("mincore() never showed a page of the region");
	EXPECT_LT(0, pvr) TH_LOG("process_vm_readv() never read the region");
	munmap(rc, sizeof(*rc));
}

TEST_HARNESS_MAIN
