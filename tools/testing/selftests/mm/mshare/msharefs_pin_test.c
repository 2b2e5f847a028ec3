// SPDX-License-Identifier: GPL-2.0
/*
 * Long-term pins through a region mapping.
 *
 * A long-term writable pin of page cache that needs dirty tracking is
 * refused on a plain mapping of the file (GUP checks the VMA). Through a
 * region the VMA is the region's, so the check is made on the page: the
 * gup_test driver (CONFIG_GUP_TEST) pins as io_uring fixed buffers and
 * RDMA do.
 */
#define _GNU_SOURCE
#include <linux/msharefs.h>
#include <sys/ioctl.h>

#include "../../kselftest_harness.h"
#include "mshare_util.h"
#include "../../../../../mm/gup_test.h"

#define PAGE	4096UL
#define MB	(1UL << 20)
#define RW	(PROT_READ | PROT_WRITE)
#define GUP_TEST_FILE	"/sys/kernel/debug/gup_test"

FIXTURE(pin) {
	char mnt[64];
	char path[96];
	unsigned long unit;
	int fd;
	struct ext2_loop e2;
};

FIXTURE_SETUP(pin)
{
	region_fixture_setup(_metadata, self->mnt, sizeof(self->mnt),
			     self->path, sizeof(self->path), &self->unit,
			     &self->fd, 1);
	memset(&self->e2, 0, sizeof(self->e2));
}

FIXTURE_TEARDOWN(pin)
{
	if (self->fd >= 0)
		close(self->fd);
	unlink(self->path);
	umount_instance(self->mnt);
	ext2_loop_teardown(&self->e2);
}

/* PIN_LONGTERM_TEST_START of one page: 0 (pinned, then unpinned) or errno. */
static int longterm_pin(int gfd, void *addr, unsigned int flags)
{
	struct pin_longterm_test t = {
		.addr = (unsigned long)addr,
		.size = PAGE,
		.flags = flags,
	};

	if (ioctl(gfd, PIN_LONGTERM_TEST_START, &t))
		return errno;
	ioctl(gfd, PIN_LONGTERM_TEST_STOP);
	return 0;
}

/*
 * ext2 page cache at offset 0, a memfd at 2 MiB: a long-term writable pin
 * of the ext2 page fails with EFAULT (slow and fast GUP), a read-only one
 * works, as on a mapping of the file itself; the memfd page is pinnable.
 */
TEST_F_TIMEOUT(pin, longterm_write_pin_of_page_cache_refused, 90)
{
	char file[160], *p;
	int gfd, ffd, mfd;

	gfd = open(GUP_TEST_FILE, O_RDWR);
	if (gfd < 0)
		SKIP(return, GUP_TEST_FILE " missing (CONFIG_GUP_TEST)");

	ASSERT_EQ(0, ext2_loop_setup(&self->e2, 16));
	snprintf(file, sizeof(file), "%s/obj", self->e2.dir);
	ffd = open(file, O_RDWR | O_CREAT, 0600);
	ASSERT_LE(0, ffd);
	ASSERT_EQ(0, ftruncate(ffd, 2 * MB));
	mfd = memfd_create("pin", 0);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, 2 * MB));
	ASSERT_EQ(0, mshare_file(self->fd, 0, 2 * MB, RW, ffd));
	ASSERT_EQ(0, mshare_file(self->fd, 2 * MB, 2 * MB, RW, mfd));

	p = map_region(self->fd, self->unit, RW);
	ASSERT_NE(NULL, p);
	p[0] = 1;
	p[2 * MB] = 2;

	EXPECT_EQ(EFAULT, longterm_pin(gfd, p, PIN_LONGTERM_TEST_FLAG_USE_WRITE));
	EXPECT_EQ(EFAULT, longterm_pin(gfd, p, PIN_LONGTERM_TEST_FLAG_USE_WRITE |
					      PIN_LONGTERM_TEST_FLAG_USE_FAST));
	EXPECT_EQ(0, longterm_pin(gfd, p, 0));
	EXPECT_EQ(0, longterm_pin(gfd, p + 2 * MB, PIN_LONGTERM_TEST_FLAG_USE_WRITE));
	EXPECT_EQ(0, longterm_pin(gfd, p + 2 * MB, PIN_LONGTERM_TEST_FLAG_USE_WRITE |
						   PIN_LONGTERM_TEST_FLAG_USE_FAST));
	/* The mapping of the file itself refuses the same, for reference. */
	{
		char *q = mmap(NULL, 2 * MB, RW, MAP_SHARED, ffd, 0);

		ASSERT_NE(MAP_FAILED, q);
		q[0] = 3;
		EXPECT_EQ(EFAULT, longterm_pin(gfd, q, PIN_LONGTERM_TEST_FLAG_USE_WRITE));
		munmap(q, 2 * MB);
	}

	munmap(p, self->unit);
	ASSERT_EQ(0, mshare_unmap(self->fd, 0, 4 * MB));
	close(mfd);
	close(ffd);
	close(gfd);
}

TEST_HARNESS_MAIN
