// SPDX-License-Identifier: GPL-2.0
/*
 * A host hugetlb entry that memory failure turned into a hwpoison entry is
 * met by a process's pagemap as a PMD entry of a VMA that is not hugetlb:
 * reading it must work.
 *
 * The poisoned huge page never returns to the pool, and the pool does not
 * grow again afterwards: this program's name makes mshare-runtests, which
 * goes in alphabetical order, run it after every other test.
 */
#define _GNU_SOURCE
#include <linux/msharefs.h>

#include "../../kselftest_harness.h"
#include "mshare_util.h"

#define PAGE	4096UL
#define MB	(1UL << 20)
#define RW	(PROT_READ | PROT_WRITE)

FIXTURE(hwp) {
	char mnt[64];
	char path[96];
	unsigned long unit;
	int fd;
};

FIXTURE_SETUP(hwp)
{
	region_fixture_setup(_metadata, self->mnt, sizeof(self->mnt),
			     self->path, sizeof(self->path), &self->unit,
			     &self->fd, 1);
}

FIXTURE_TEARDOWN(hwp)
{
	if (self->fd >= 0)
		close(self->fd);
	unlink(self->path);
	umount_instance(self->mnt);
}

/*
 * memory failure of a host 2 MiB hugetlb page (MADV_HWPOISON through the
 * region, as root): the host's PMD entry becomes a hwpoison entry, which a
 * process's pagemap meets in a VMA that is not hugetlb. Reading pagemap
 * works and shows a non-present entry; an access gets SIGBUS.
 */
TEST_F_TIMEOUT(hwp, hugetlb_entry_in_pagemap, 90)
{
	unsigned long val;
	uint64_t ent;
	long old;
	char *p;
	int pm;

	if (geteuid())
		SKIP(return, "needs root for MADV_HWPOISON");
	old = hugepages_get();
	if (hugepages_set(old + 1) || hugepages_get() < old + 1) {
		hugepages_set(old);
		SKIP(return, "no free 2 MiB huge page");
	}
	ASSERT_EQ(0, mshare_create(self->fd, 0, 2 * MB, RW,
				   MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS | MAP_HUGETLB,
				   -1, 0));
	p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, p);
	memset(p, 0x5a, PAGE);

	if (madvise(p, PAGE, MADV_HWPOISON)) {
		int e = errno;

		munmap(p, self->unit);
		mshare_unmap(self->fd, 0, 2 * MB);
		hugepages_set(old);
		if (e == EINVAL)
			SKIP(return, "no MADV_HWPOISON (CONFIG_MEMORY_FAILURE)");
		ASSERT_EQ(0, e);
	}

	pm = open("/proc/self/pagemap", O_RDONLY);
	ASSERT_LE(0, pm);
	ASSERT_EQ(sizeof(ent), pread(pm, &ent, sizeof(ent), ((unsigned long)p / PAGE) * 8));
	TH_LOG("pagemap entry %#llx", (unsigned long long)ent);
	EXPECT_EQ(0, ent >> 63);		/* not present */
	EXPECT_EQ(1, (ent >> 62) & 1);		/* a swap-type entry */
	close(pm);
	EXPECT_EQ(SIGBUS, probe_read(p, &val));

	munmap(p, self->unit);
	ASSERT_EQ(0, mshare_unmap(self->fd, 0, 2 * MB));
	/* The poisoned page stays out of the pool. */
	hugepages_set(old);
}

TEST_HARNESS_MAIN
