// SPDX-License-Identifier: GPL-2.0
/*
 * Races on one region for 30 seconds: processes fault in it (reading,
 * writing, having the kernel write into it, MADV_DONTNEED) while its host
 * mappings are unmapped, recreated (anonymous and memfd) and truncated,
 * short-lived processes map it, touch it and exit, and another process
 * maps and unmaps it over and over. Nobody may die of anything but what it
 * expects and handles (SIGSEGV in a hole, SIGBUS past the end of a memfd),
 * nobody may see another slot's data, nothing may hang, and once it is all
 * over and the region unlinked PageTables is back where it started.
 */
#define _GNU_SOURCE
#include <linux/msharefs.h>

#include "../../kselftest_harness.h"
#include "mshare_util.h"

#define PAGE		4096UL
#define MB		(1UL << 20)
#define RW		(PROT_READ | PROT_WRITE)
#define SLOTS		8
#define SLOT		(2 * MB)
#define DURATION	30

enum role { FAULT0, FAULT1, FAULT2, MAPPER, FORKER, REMAPPER, NROLES };

static const char * const role_name[NROLES] = {
	"faulter 0", "faulter 1", "faulter 2", "unmap/create", "fork/exit", "mmap/munmap",
};

struct role_stats {
	long iters;
	long sigsegv;
	long sigbus;
	long corrupt;	/* a word holding another slot's tag */
	long errors;	/* a call that failed in a way it may not */
	long last_err;
};

struct race {
	volatile int stop;
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
 * n reads or writes of random words in the slots. A word of slot s holds 0
 * or a tag of slot s; SIGSEGV (hole) and SIGBUS (truncated memfd) are
 * counted and the next access goes on.
 */
static void touch_some(volatile unsigned long *p, int n, int id, struct role_stats *st)
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
		unsigned long slot = x % SLOTS;
		unsigned long word = (slot * SLOT + ((x >> 8) % (SLOT / PAGE)) * PAGE) / 8 +
				     (x >> 24) % 512;
		unsigned long v;

		i++;
		if ((x >> 40) & 1) {
			p[word] = ((slot + 1) << 32) | ((unsigned long)id << 24) | (i & 0xffffff);
		} else {
			v = p[word];
			if (v && (v >> 32) != slot + 1)
				st->corrupt++;
		}
	}
}

static void error(struct role_stats *st, long err)
{
	st->errors++;
	st->last_err = err;
}

/* Faults of every kind in the region until told to stop. */
static int faulter(struct race *rc, int id, int fd, unsigned long u)
{
	struct role_stats *st = &rc->r[id];
	volatile unsigned long *p;
	int zfd;

	zfd = open("/dev/zero", O_RDONLY);
	p = map_region(fd, u, RW);
	if (!p || zfd < 0)
		return 1;
	catch_faults();
	while (!rc->stop) {
		unsigned long x = rnd();
		char *page = (char *)p + (x % SLOTS) * SLOT + ((x >> 8) % (SLOT / PAGE)) * PAGE;
		ssize_t r;

		touch_some(p, 256, id, st);
		/*
		 * The kernel writing into the region: copy_to_user() faults.
		 * A hole or a truncation met on the way gives EFAULT, or a
		 * short read if it came in the middle of the page.
		 */
		r = read(zfd, page, PAGE);
		if (r < 0 ? errno != EFAULT : r > (ssize_t)PAGE)
			error(st, r < 0 ? errno : 1000 + r);
		/* Forwarded to the host, racing with unmap; any result will do. */
		if ((x >> 32) % 16 == 0)
			madvise((char *)p + (x % SLOTS) * SLOT, SLOT, MADV_DONTNEED);
		st->iters++;
	}
	return 0;
}

/* MSHAREFS_UNMAP and CREATE_MAPPING (anonymous and memfd), truncation. */
static int mapper(struct race *rc, int fd)
{
	struct role_stats *st = &rc->r[MAPPER];
	int mfd[SLOTS], s, e;
	long it;

	for (s = 0; s < SLOTS; s++) {
		mfd[s] = memfd_create("race", 0);
		if (mfd[s] < 0 || ftruncate(mfd[s], SLOT))
			return 1;
	}
	for (it = 0; !rc->stop; it++) {
		s = it % SLOTS;
		e = mshare_unmap(fd, s * SLOT, SLOT);
		if (e)
			error(st, e);
		if (it % 4 == 3)
			usleep(1000);	/* a hole for a while */
		if (it & 1)
			e = mshare_anon(fd, s * SLOT, SLOT);
		else
			e = mshare_file(fd, s * SLOT, SLOT, RW, mfd[s]);
		if (e)
			error(st, e);
		if (it % 16 == 5) {
			/* Pull the second half out from under whoever maps it. */
			s = (it / 16) % SLOTS;
			if (ftruncate(mfd[s], SLOT / 2))
				error(st, errno);
			usleep(1000);
			if (ftruncate(mfd[s], SLOT))
				error(st, errno);
		}
		st->iters++;
	}
	return 0;
}

/* Short-lived processes: map, touch, exit (with or without munmap). */
static int forker(struct race *rc, int fd, unsigned long u)
{
	struct role_stats *st = &rc->r[FORKER];
	long it;

	for (it = 0; !rc->stop; it++) {
		int status;
		pid_t pid = fork_child();

		if (pid < 0) {
			error(st, errno);
			continue;
		}
		if (pid == 0) {
			struct role_stats mine = { 0 };
			volatile unsigned long *p = map_region(fd, u, RW);

			if (!p)
				_exit(1);
			rnd_state ^= getpid();
			catch_faults();
			touch_some(p, 32, FORKER, &mine);
			if (mine.corrupt)
				_exit(2);
			if ((it & 1) && munmap((void *)p, u))
				_exit(3);
			_exit(0);
		}
		if (waitpid(pid, &status, 0) != pid || !exited_with(status, 0))
			error(st, 2000 + status);
		st->iters++;
	}
	return 0;
}

/* mmap and munmap of the whole region, over and over, touching it between. */
static int remapper(struct race *rc, int fd, unsigned long u)
{
	struct role_stats *st = &rc->r[REMAPPER];

	catch_faults();
	while (!rc->stop) {
		volatile unsigned long *p = map_region(fd, u, RW);

		if (!p) {
			error(st, errno);
			continue;
		}
		touch_some(p, 16, REMAPPER, st);
		if (munmap((void *)p, u))
			error(st, errno);
		st->iters++;
	}
	return 0;
}

FIXTURE(race) {
	char mnt[64];
	unsigned long unit;
};

FIXTURE_SETUP(race)
{
	ASSERT_EQ(0, mount_instance(self->mnt, sizeof(self->mnt)));
	self->unit = mshare_unit(self->mnt);
	ASSERT_NE(0, self->unit);
}

FIXTURE_TEARDOWN(race)
{
	umount_instance(self->mnt);
}

TEST_F_TIMEOUT(race, churn, 180)
{
	unsigned long u = self->unit;
	pid_t pid[NROLES];
	int status[NROLES], done[NROLES] = { 0 };
	long pt0, pt1;
	struct race *rc;
	char path[160];
	int fd, i, s, t;

	rc = mmap(NULL, sizeof(*rc), RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, rc);
	memset(rc, 0, sizeof(*rc));	/* its page tables, before the figure */
	snprintf(path, sizeof(path), "%s/race", self->mnt);

	drain_slabs();
	meminfo_kb("PageTables");
	pt0 = meminfo_kb("PageTables");
	fd = region_create(self->mnt, "race", u);
	ASSERT_LE(0, fd);
	for (s = 0; s < SLOTS; s++)
		ASSERT_EQ(0, mshare_anon(fd, s * SLOT, SLOT));

	for (i = 0; i < NROLES; i++) {
		pid[i] = fork_child();
		ASSERT_LE(0, pid[i]);
		if (pid[i] == 0) {
			rnd_state = 0x9e3779b97f4a7c15UL ^ ((unsigned long)getpid() << 16);
			switch (i) {
			case MAPPER:
				_exit(mapper(rc, fd));
			case FORKER:
				_exit(forker(rc, fd, u));
			case REMAPPER:
				_exit(remapper(rc, fd, u));
			default:
				_exit(faulter(rc, i, fd, u));
			}
		}
	}

	/* Let them race; nobody may end before it is told to. */
	for (t = 0; t < DURATION; t++) {
		sleep(1);
		for (i = 0; i < NROLES; i++) {
			if (!done[i] && waitpid(pid[i], &status[i], WNOHANG) == pid[i]) {
				done[i] = 1;
				TH_LOG("%s ended early: status %#x", role_name[i], status[i]);
			}
		}
	}
	rc->stop = 1;
	for (i = 0; i < NROLES; i++) {
		if (!done[i] && wait_child(pid[i], &status[i], 60)) {
			TH_LOG("%s did not stop: killed", role_name[i]);
			status[i] = -1;
		}
	}

	for (i = 0; i < NROLES; i++) {
		struct role_stats *st = &rc->r[i];

		TH_LOG("%-12s status %#x: %ld rounds, %ld SIGSEGV, %ld SIGBUS, %ld corrupt, %ld errors (last %ld)",
		       role_name[i], status[i], st->iters, st->sigsegv, st->sigbus,
		       st->corrupt, st->errors, st->last_err);
		EXPECT_TRUE(status[i] != -1 && exited_with(status[i], 0))
			TH_LOG("%s: status %#x", role_name[i], status[i]);
		EXPECT_LT(0, st->iters) TH_LOG("%s made no progress", role_name[i]);
		EXPECT_EQ(0, st->corrupt) TH_LOG("%s saw another slot's data", role_name[i]);
		EXPECT_EQ(0, st->errors) TH_LOG("%s: a call failed", role_name[i]);
	}

	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(0, unlink(path));
	/*
	 * A machine-wide figure: make soak runs other tests beside this one
	 * (MSHARE_SOAK set), and then it says nothing about this test.
	 */
	if (getenv("MSHARE_SOAK"))
		return;
	pt1 = wait_pagetables(pt0, 15);
	TH_LOG("PageTables %ld kB before, %ld kB after", pt0, pt1);
	EXPECT_GE(PT_SLACK_KB, labs(pt1 - pt0));
}

TEST_HARNESS_MAIN
