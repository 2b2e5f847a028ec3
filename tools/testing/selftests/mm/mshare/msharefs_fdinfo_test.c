// SPDX-License-Identifier: GPL-2.0
/*
 * A region's figures in /proc/PID/fdinfo/FD: the host mm behind a region has
 * no task and so no /proc entry of its own, and fdinfo is where what it
 * holds is shown (Documentation/filesystems/msharefs.rst, "Statistics"):
 *
 * - the summary: size, host mappings and bytes mapped, host RSS by type,
 *   host page-table bytes, process mappings attached, sharers linked, PUD
 *   links, page-table reclaim counts;
 * - one "map:" line per host mapping with its offset, size, protection,
 *   type, page size, object offset, RSS and escaped path;
 * - figures that agree with /proc/meminfo deltas (Shmem, PageTables,
 *   ShmemHugePages, AnonHugePages, HugePages_Free);
 * - who may read them, and that reading them races safely with changes.
 */
#define _GNU_SOURCE
#include <linux/msharefs.h>
#include <pthread.h>

#include "../../kselftest_harness.h"
#include "mshare_util.h"

#define PAGE	4096UL
#define MB	(1UL << 20)
#define RW	(PROT_READ | PROT_WRITE)

#define SHMEM_ENABLED	"/sys/kernel/mm/transparent_hugepage/shmem_enabled"
#define FDINFO_SIZE	(256 * 1024)

struct fdinfo {
	long size, mappings, mapped;
	long rss_anon, rss_file, rss_shmem, rss_hugetlb;
	long pagetables, attached, linked, pud_links, pt_freed, pt_pending;
	int nr_maps;
	struct fmap {
		unsigned long offset, size, psize, objoff, rss;
		char prot[8], type[16], path[256];
	} maps[512];
};

/* Undo the octal escapes of a map: line's path, in place. */
static void unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0');
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

/*
 * Parse the fdinfo text in buf into fi: 0, or -1 if a line is malformed or
 * a key is missing. Every map: line must have its eight fields.
 */
static int parse_fdinfo(char *buf, struct fdinfo *fi)
{
	static const char *const keys[] = {
		"size", "mappings", "mapped", "rss_anon", "rss_file",
		"rss_shmem", "rss_hugetlb", "pagetables", "attached", "linked",
		"pud_links", "pt_freed", "pt_pending",
	};
	long *vals[] = {
		&fi->size, &fi->mappings, &fi->mapped, &fi->rss_anon,
		&fi->rss_file, &fi->rss_shmem, &fi->rss_hugetlb,
		&fi->pagetables, &fi->attached, &fi->linked, &fi->pud_links,
		&fi->pt_freed, &fi->pt_pending,
	};
	unsigned int seen = 0, i;
	char *line, *save;

	memset(fi, 0, sizeof(*fi));
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');

		if (!colon || colon[1] != '\t')
			return -1;
		*colon = '\0';
		if (!strcmp(line, "map")) {
			struct fmap *m = &fi->maps[fi->nr_maps];
			int n = 0;

			if (fi->nr_maps == (int)ARRAY_SIZE(fi->maps))
				return -1;
			if (sscanf(colon + 2, "%lu %lu %7s %15s %lu %lu %lu %255s%n",
				   &m->offset, &m->size, m->prot, m->type,
				   &m->psize, &m->objoff, &m->rss, m->path, &n) != 8 ||
			    colon[2 + n] != '\0')
				return -1;
			unescape(m->path);
			fi->nr_maps++;
			continue;
		}
		for (i = 0; i < ARRAY_SIZE(keys); i++) {
			if (!strcmp(line, keys[i])) {
				*vals[i] = strtol(colon + 2, NULL, 10);
				seen |= 1U << i;
			}
		}
	}
	return seen == (1U << ARRAY_SIZE(keys)) - 1 ? 0 : -1;
}

/* Read and parse the fdinfo of fd in process pid: 0, -errno, or -EPROTO. */
static int read_fdinfo_of(pid_t pid, int fd, struct fdinfo *fi)
{
	char path[64];
	char *buf = malloc(FDINFO_SIZE);
	ssize_t n, len = 0;
	int pfd, ret;

	if (!buf)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	pfd = open(path, O_RDONLY);
	if (pfd < 0) {
		ret = -errno;
		free(buf);
		return ret;
	}
	while ((n = read(pfd, buf + len, FDINFO_SIZE - 1 - len)) > 0)
		len += n;
	ret = n < 0 ? -errno : 0;
	close(pfd);
	buf[len] = '\0';
	if (!ret && parse_fdinfo(buf, fi))
		ret = -EPROTO;
	free(buf);
	return ret;
}

static int read_fdinfo(int fd, struct fdinfo *fi)
{
	return read_fdinfo_of(getpid(), fd, fi);
}

static void touch(volatile char *p, unsigned long len, int write)
{
	unsigned long i;

	for (i = 0; i < len; i += PAGE) {
		if (write)
			p[i] = 1;
		else
			(void)p[i];
	}
}

FIXTURE(fdinfo) {
	char mnt[64];
	char path[128];
	unsigned long unit;
	int fd;
	struct fdinfo fi;
	long hugepages;
	char shmem_enabled[64];
};

FIXTURE_SETUP(fdinfo)
{
	char buf[256], *s, *e;

	region_fixture_setup(_metadata, self->mnt, sizeof(self->mnt), self->path,
			     sizeof(self->path), &self->unit, &self->fd, 2);
	self->hugepages = hugepages_get();
	self->shmem_enabled[0] = '\0';
	if (read_file(SHMEM_ENABLED, buf, sizeof(buf)) > 0) {
		/* "always within_size advise [never] deny force" */
		s = strchr(buf, '[');
		e = s ? strchr(s, ']') : NULL;
		if (s && e && e - s - 1 < (long)sizeof(self->shmem_enabled)) {
			memcpy(self->shmem_enabled, s + 1, e - s - 1);
			self->shmem_enabled[e - s - 1] = '\0';
		}
	}
}

FIXTURE_TEARDOWN(fdinfo)
{
	close(self->fd);
	if (self->hugepages >= 0)
		hugepages_set(self->hugepages);
	if (self->shmem_enabled[0])
		write_file(SHMEM_ENABLED, self->shmem_enabled);
	umount_instance(self->mnt);
}

/* A sized region that was never used: its size, and nothing else. */
TEST_F(fdinfo, unused_region)
{
	int rofd;

	ASSERT_EQ(0, read_fdinfo(self->fd, &self->fi));
	EXPECT_EQ(2 * self->unit, self->fi.size);
	EXPECT_EQ(0, self->fi.mappings);
	EXPECT_EQ(0, self->fi.mapped);
	EXPECT_EQ(0, self->fi.rss_shmem);
	EXPECT_EQ(0, self->fi.pagetables);
	EXPECT_EQ(0, self->fi.attached);
	EXPECT_EQ(0, self->fi.linked);
	EXPECT_EQ(0, self->fi.pud_links);
	EXPECT_EQ(0, self->fi.nr_maps);

	/* Read-only openers see the same; an unsized region shows size 0. */
	rofd = open(self->path, O_RDONLY);
	ASSERT_LE(0, rofd);
	ASSERT_EQ(0, read_fdinfo(rofd, &self->fi));
	EXPECT_EQ(2 * self->unit, self->fi.size);
	close(rofd);
	rofd = region_create(self->mnt, "unsized", 0);
	ASSERT_LE(0, rofd);
	ASSERT_EQ(0, read_fdinfo(rofd, &self->fi));
	EXPECT_EQ(0, self->fi.size);
	EXPECT_EQ(0, self->fi.mappings);
	close(rofd);
}

/*
 * Every type of mapping, with its offset, size, protection, page size,
 * object offset and path as /proc/PID/maps would print it, escaped.
 */
TEST_F(fdinfo, mapping_lines)
{
	const char *name = "my data\tx\\y";
	struct ext2_loop e2;
	char fpath[128], raw[8192];
	int mfd, efd, hfd, have_huge, have_ext2, i;

	mfd = memfd_create(name, 0);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, 40 * MB));
	ASSERT_EQ(0, mshare_anon(self->fd, 0, 64 * MB));
	ASSERT_EQ(0, mshare_create(self->fd, 128 * MB, 32 * MB, PROT_READ,
				   MAP_SHARED | MAP_FIXED, mfd, 8 * MB));
	have_huge = !hugepages_set(self->hugepages + 3) && hugepages_get() >= self->hugepages + 3;
	if (have_huge)
		ASSERT_EQ(0, mshare_create(self->fd, 256 * MB, 4 * MB, RW,
					   MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS |
					   MAP_HUGETLB | (21 << 26), -1, 0));
	have_ext2 = !ext2_loop_setup(&e2, 16);
	if (have_ext2) {
		snprintf(fpath, sizeof(fpath), "%s/file one", e2.dir);
		efd = open(fpath, O_RDWR | O_CREAT, 0600);
		ASSERT_LE(0, efd);
		ASSERT_EQ(0, ftruncate(efd, 2 * MB));
		/* In the second unit of the region. */
		ASSERT_EQ(0, mshare_file(self->fd, self->unit + 4 * MB, 2 * MB, RW, efd));
		close(efd);
	}

	ASSERT_EQ(0, read_fdinfo(self->fd, &self->fi));
	EXPECT_EQ(2 + have_huge + have_ext2, self->fi.mappings);
	EXPECT_EQ((96 + 4 * have_huge + 2 * have_ext2) * MB, self->fi.mapped);
	ASSERT_EQ(self->fi.mappings, self->fi.nr_maps);

	i = 0;
	EXPECT_EQ(0, self->fi.maps[i].offset);
	EXPECT_EQ(64 * MB, self->fi.maps[i].size);
	EXPECT_STREQ("rw-", self->fi.maps[i].prot);
	EXPECT_STREQ("anon", self->fi.maps[i].type);
	EXPECT_EQ(PAGE, self->fi.maps[i].psize);
	EXPECT_EQ(0, self->fi.maps[i].objoff);
	EXPECT_STREQ("/dev/zero (deleted)", self->fi.maps[i].path);
	i++;
	EXPECT_EQ(128 * MB, self->fi.maps[i].offset);
	EXPECT_EQ(32 * MB, self->fi.maps[i].size);
	EXPECT_STREQ("r--", self->fi.maps[i].prot);
	EXPECT_STREQ("file", self->fi.maps[i].type);
	EXPECT_EQ(8 * MB, self->fi.maps[i].objoff);
	EXPECT_STREQ("/memfd:my data\tx\\y (deleted)", self->fi.maps[i].path);
	i++;
	if (have_huge) {
		EXPECT_EQ(256 * MB, self->fi.maps[i].offset);
		EXPECT_STREQ("anon_hugetlb", self->fi.maps[i].type);
		EXPECT_EQ(2 * MB, self->fi.maps[i].psize);
		EXPECT_STREQ("/anon_hugepage (deleted)", self->fi.maps[i].path);
		i++;
	}
	if (have_ext2) {
		EXPECT_EQ(self->unit + 4 * MB, self->fi.maps[i].offset);
		EXPECT_STREQ("file", self->fi.maps[i].type);
		EXPECT_STREQ(fpath, self->fi.maps[i].path);
		i++;
	}
	/* The raw line escapes what would split it. */
	snprintf(raw, sizeof(raw), "/proc/self/fdinfo/%d", self->fd);
	ASSERT_LT(0, read_file(raw, raw, sizeof(raw)));
	EXPECT_NE(NULL, strstr(raw, " /memfd:my\\040data\\011x\\134y\\040(deleted)\n"));

	/* A hugetlb memfd is a file, not anonymous hugetlb. */
	if (have_huge) {
		hfd = memfd_create("anon_hugepage", MFD_HUGETLB);
		ASSERT_LE(0, hfd);
		ASSERT_EQ(0, ftruncate(hfd, 2 * MB));
		ASSERT_EQ(0, mshare_file(self->fd, 512 * MB, 2 * MB, RW, hfd));
		close(hfd);
		ASSERT_EQ(0, read_fdinfo(self->fd, &self->fi));
		for (i = 0; i < self->fi.nr_maps; i++)
			if (self->fi.maps[i].offset == 512 * MB)
				break;
		ASSERT_GT(self->fi.nr_maps, i);
		EXPECT_STREQ("file_hugetlb", self->fi.maps[i].type);
		EXPECT_EQ(2 * MB, self->fi.maps[i].psize);
		EXPECT_STREQ("/memfd:anon_hugepage (deleted)", self->fi.maps[i].path);
	}

	/* Unmapped, a mapping's line goes; a hole between is no line. */
	ASSERT_EQ(0, mshare_unmap(self->fd, 128 * MB, 32 * MB));
	ASSERT_EQ(0, mshare_unmap(self->fd, 16 * MB, 16 * MB));
	ASSERT_EQ(0, read_fdinfo(self->fd, &self->fi));
	EXPECT_EQ(0, self->fi.maps[0].offset);
	EXPECT_EQ(16 * MB, self->fi.maps[0].size);
	EXPECT_EQ(32 * MB, self->fi.maps[1].offset);
	EXPECT_EQ(32 * MB, self->fi.maps[1].size);
	EXPECT_STREQ("anon", self->fi.maps[1].type);
	ASSERT_EQ(0, mshare_unmap(self->fd, 0, 2 * self->unit));
	ASSERT_EQ(0, read_fdinfo(self->fd, &self->fi));
	EXPECT_EQ(0, self->fi.mappings);
	EXPECT_EQ(0, self->fi.nr_maps);
	close(mfd);
	if (have_ext2)
		ext2_loop_teardown(&e2);
}

/*
 * Shmem and page tables: fdinfo against /proc/meminfo. The baseline is
 * taken after the first fault, which also made this process's own PUD
 * table for the slot: from there on, every table and page is the host's.
 */
TEST_F(fdinfo, rss_and_meminfo)
{
	long shmem0, pt0, ahp0, shmem1, pt1, ahp1;
	struct fdinfo a;
	pid_t pid;
	char *p;

	write_file(SHMEM_ENABLED, "never");
	ASSERT_EQ(0, mshare_anon(self->fd, 0, 64 * MB));
	p = map_region(self->fd, 2 * self->unit, RW);
	ASSERT_NE(NULL, p);
	p[0] = 1;
	ASSERT_EQ(0, read_fdinfo(self->fd, &a));
	shmem0 = meminfo_kb("Shmem");
	pt0 = meminfo_kb("PageTables");
	ahp0 = meminfo_kb("AnonHugePages");
	EXPECT_EQ(PAGE, a.rss_shmem);
	EXPECT_EQ(1, a.attached);
	EXPECT_EQ(1, a.linked);
	EXPECT_EQ(1, a.pud_links);

	touch(p, 64 * MB, 1);
	ASSERT_EQ(0, read_fdinfo(self->fd, &self->fi));
	shmem1 = meminfo_kb("Shmem");
	pt1 = meminfo_kb("PageTables");
	ahp1 = meminfo_kb("AnonHugePages");
	TH_LOG("Shmem %+ld kB (fdinfo %+ld), PageTables %+ld kB (fdinfo %+ld)",
	       shmem1 - shmem0, (self->fi.rss_shmem - a.rss_shmem) / 1024,
	       pt1 - pt0, (self->fi.pagetables - a.pagetables) / 1024);
	TH_LOG("AnonHugePages %+ld kB (fdinfo rss_anon %+ld)",
	       ahp1 - ahp0, (self->fi.rss_anon - a.rss_anon) / 1024);
	EXPECT_EQ(64 * MB, self->fi.rss_shmem);
	EXPECT_EQ(0, self->fi.rss_anon);
	EXPECT_EQ(0, self->fi.rss_file);
	EXPECT_EQ(0, self->fi.rss_hugetlb);
	ASSERT_EQ(1, self->fi.nr_maps);
	EXPECT_EQ(64 * MB, self->fi.maps[0].rss);
	/* 32 PTE tables, one made at the first fault. */
	EXPECT_EQ(31 * PAGE, self->fi.pagetables - a.pagetables);
	/* The rest of the machine is quiet: 1% of the figure, and 64 kB. */
	EXPECT_GE(64 + 640, labs(shmem1 - shmem0 - (self->fi.rss_shmem - a.rss_shmem) / 1024));
	EXPECT_GE(64, labs(pt1 - pt0 - (self->fi.pagetables - a.pagetables) / 1024));
	EXPECT_EQ(ahp1 - ahp0, (self->fi.rss_anon - a.rss_anon) / 1024);

	/* A second process reading it all adds no memory and no table. */
	pid = fork_child();
	ASSERT_LE(0, pid);
	if (!pid) {
		touch(p, 64 * MB, 0);
		_exit(0);
	}
	EXPECT_EQ(0, wait_child(pid, NULL, 60));
	ASSERT_EQ(0, read_fdinfo(self->fd, &a));
	EXPECT_EQ(self->fi.rss_shmem, a.rss_shmem);
	EXPECT_EQ(self->fi.pagetables, a.pagetables);
	EXPECT_EQ(1, a.attached);

	/* The region's memory outlives the mapping; its RSS too. */
	ASSERT_EQ(0, munmap(p, 2 * self->unit));
	ASSERT_EQ(0, read_fdinfo(self->fd, &a));
	EXPECT_EQ(64 * MB, a.rss_shmem);
	EXPECT_EQ(0, a.attached);
	EXPECT_EQ(0, a.linked);
	EXPECT_EQ(0, a.pud_links);

	/* Unmapped in the host, the memory and its tables go. */
	shmem0 = meminfo_kb("Shmem");
	ASSERT_EQ(0, mshare_unmap(self->fd, 0, 64 * MB));
	ASSERT_EQ(0, read_fdinfo(self->fd, &a));
	shmem1 = meminfo_kb("Shmem");
	EXPECT_EQ(0, a.rss_shmem);
	EXPECT_GE(64 + 640, labs(shmem0 - shmem1 - 64 * 1024));
	/* The PMD table stays (rule 1 in mm/mshare.c), and the upper ones. */
	EXPECT_GT(self->fi.pagetables - 31 * (long)PAGE, a.pagetables);
}

/* Shmem THPs: PMD leaves are counted whole, and no PTE table is made. */
TEST_F(fdinfo, shmem_thp)
{
	long hp0, hp1;
	struct fdinfo a;
	char *p;

	if (write_file(SHMEM_ENABLED, "always"))
		SKIP(return, "no shmem THP");
	ASSERT_EQ(0, mshare_anon(self->fd, 0, 16 * MB));
	p = map_region(self->fd, 2 * self->unit, RW);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, read_fdinfo(self->fd, &a));
	hp0 = meminfo_kb("ShmemHugePages");
	touch(p, 16 * MB, 1);
	ASSERT_EQ(0, read_fdinfo(self->fd, &self->fi));
	hp1 = meminfo_kb("ShmemHugePages");
	TH_LOG("ShmemHugePages %+ld kB, fdinfo rss_shmem %ld kB, PTE tables %+ld kB",
	       hp1 - hp0, self->fi.rss_shmem / 1024, (self->fi.pagetables - a.pagetables) / 1024);
	if (hp1 - hp0 < 16 * 1024)
		SKIP(goto out, "no shmem THP were allocated");
	EXPECT_EQ(16 * MB, self->fi.rss_shmem);
	EXPECT_EQ(16 * MB, self->fi.maps[0].rss);
	EXPECT_EQ(hp1 - hp0, self->fi.rss_shmem / 1024);
	/*
	 * No PTE table (8 for 16 MiB): the host's PUD and PMD tables, made at
	 * the first fault, at most.
	 */
	EXPECT_GE(2 * (long)PAGE, self->fi.pagetables - a.pagetables);
out:
	munmap(p, 2 * self->unit);
}

/* hugetlb pages: rss_hugetlb and the mapping's RSS, against HugePages_Free. */
TEST_F(fdinfo, hugetlb)
{
	long free0, free1;
	char *p;

	if (hugepages_set(self->hugepages + 2) || hugepages_get() < self->hugepages + 2)
		SKIP(return, "cannot reserve 2 huge pages");
	ASSERT_EQ(0, mshare_create(self->fd, 0, 4 * MB, RW,
				   MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS | MAP_HUGETLB,
				   -1, 0));
	p = map_region(self->fd, 2 * self->unit, RW);
	ASSERT_NE(NULL, p);
	free0 = meminfo_kb("HugePages_Free");
	p[0] = 1;
	ASSERT_EQ(0, read_fdinfo(self->fd, &self->fi));
	EXPECT_EQ(2 * MB, self->fi.rss_hugetlb);
	EXPECT_EQ(2 * MB, self->fi.maps[0].rss);
	p[2 * MB] = 1;
	ASSERT_EQ(0, read_fdinfo(self->fd, &self->fi));
	free1 = meminfo_kb("HugePages_Free");
	EXPECT_EQ(4 * MB, self->fi.rss_hugetlb);
	EXPECT_EQ(4 * MB, self->fi.maps[0].rss);
	EXPECT_EQ(2, free0 - free1);
	EXPECT_EQ(0, self->fi.rss_shmem);
	munmap(p, 2 * self->unit);
	ASSERT_EQ(0, mshare_unmap(self->fd, 0, 4 * MB));
	ASSERT_EQ(0, read_fdinfo(self->fd, &self->fi));
	EXPECT_EQ(0, self->fi.rss_hugetlb);
}

/* Page cache of a disk file mapped in the region: rss_file. */
TEST_F(fdinfo, file_rss)
{
	struct ext2_loop e2;
	char fpath[128];
	int efd;
	char *p;

	ASSERT_EQ(0, ext2_loop_setup(&e2, 16));
	snprintf(fpath, sizeof(fpath), "%s/data", e2.dir);
	efd = open(fpath, O_RDWR | O_CREAT, 0600);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, ftruncate(efd, 4 * MB));
	ASSERT_EQ(0, mshare_file(self->fd, 0, 4 * MB, PROT_READ, efd));
	p = map_region(self->fd, 2 * self->unit, PROT_READ);
	ASSERT_NE(NULL, p);
	touch(p, 1 * MB, 0);
	ASSERT_EQ(0, read_fdinfo(self->fd, &self->fi));
	/* Read faults map around: at least what was read, at most the file. */
	EXPECT_LE(1 * MB, self->fi.rss_file);
	EXPECT_GE(4 * MB, self->fi.rss_file);
	EXPECT_EQ(self->fi.rss_file, self->fi.maps[0].rss);
	EXPECT_EQ(0, self->fi.rss_shmem);
	EXPECT_STREQ("r--", self->fi.maps[0].prot);
	EXPECT_STREQ(fpath, self->fi.maps[0].path);
	munmap(p, 2 * self->unit);
	close(efd);
	ASSERT_EQ(0, mshare_unmap(self->fd, 0, 4 * MB));
	ext2_loop_teardown(&e2);
}

/*
 * attached counts process mappings, linked those that faulted (sharers),
 * pud_links the PUD entries that link host tables.
 */
TEST_F(fdinfo, attached_and_links)
{
	struct fdinfo *c = malloc(sizeof(*c));
	long link0 = key_value("/proc/vmstat", "mshare_link");
	long unlink0 = key_value("/proc/vmstat", "mshare_unlink");
	char *p, *q;
	pid_t pid;
	int go[2], ready[2];

	ASSERT_NE(NULL, c);
	/* Tests run one at a time: nobody else links tables meanwhile. */
	ASSERT_LE(0, link0);
	ASSERT_LE(0, unlink0);

	ASSERT_EQ(0, mshare_anon(self->fd, 0, 4 * MB));
	ASSERT_EQ(0, mshare_anon(self->fd, self->unit, 4 * MB));
	p = map_region(self->fd, 2 * self->unit, RW);
	q = map_region(self->fd, 2 * self->unit, PROT_READ);
	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, q);
	ASSERT_EQ(0, read_fdinfo(self->fd, &self->fi));
	EXPECT_EQ(2, self->fi.attached);
	EXPECT_EQ(0, self->fi.linked);
	EXPECT_EQ(0, self->fi.pud_links);

	p[0] = 1;
	ASSERT_EQ(0, read_fdinfo(self->fd, &self->fi));
	EXPECT_EQ(1, self->fi.linked);
	EXPECT_EQ(1, self->fi.pud_links);
	p[self->unit] = 1;
	(void)*(volatile char *)&q[self->unit];
	ASSERT_EQ(0, read_fdinfo(self->fd, &self->fi));
	EXPECT_EQ(2, self->fi.linked);
	EXPECT_EQ(3, self->fi.pud_links);
	EXPECT_EQ(link0 + 3, key_value("/proc/vmstat", "mshare_link"));
	EXPECT_EQ(unlink0, key_value("/proc/vmstat", "mshare_unlink"));

	/* A child has copies of both mappings, linked once it faults. */
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(ready));
	pid = fork_child();
	ASSERT_LE(0, pid);
	if (!pid) {
		(void)*(volatile char *)&p[PAGE];
		child_ready(ready[1]);
		child_wait(go[0]);
		_exit(0);
	}
	ASSERT_EQ(1, read_n(ready[0], 1, 30));
	ASSERT_EQ(0, read_fdinfo(self->fd, &self->fi));
	EXPECT_EQ(4, self->fi.attached);
	EXPECT_LE(3, self->fi.linked);
	EXPECT_LE(4, self->fi.pud_links);
	/* The parent sees the region through the child's fd too. */
	EXPECT_EQ(0, read_fdinfo_of(pid, self->fd, c));
	EXPECT_EQ(self->fi.attached, c->attached);
	EXPECT_EQ(self->fi.rss_shmem, c->rss_shmem);
	free(c);
	release_n(go[1], 1);
	EXPECT_EQ(0, wait_child(pid, NULL, 30));
	ASSERT_EQ(0, read_fdinfo(self->fd, &self->fi));
	EXPECT_EQ(2, self->fi.attached);
	EXPECT_EQ(2, self->fi.linked);
	EXPECT_EQ(3, self->fi.pud_links);

	munmap(q, 2 * self->unit);
	munmap(p, 2 * self->unit);
	ASSERT_EQ(0, read_fdinfo(self->fd, &self->fi));
	EXPECT_EQ(0, self->fi.attached);
	EXPECT_EQ(0, self->fi.linked);
	EXPECT_EQ(0, self->fi.pud_links);
	/* The child's link, made and cleared at its exit, counts too. */
	EXPECT_EQ(link0 + 4, key_value("/proc/vmstat", "mshare_link"));
	EXPECT_EQ(unlink0 + 4, key_value("/proc/vmstat", "mshare_unlink"));
	/* Pages 0 and 1 of slot 0, page 0 of slot 1. */
	EXPECT_EQ(3 * PAGE, self->fi.rss_shmem);
	close(go[0]);
	close(go[1]);
	close(ready[0]);
	close(ready[1]);
}

/* The page-table reclaim counts of the region, and its page-table bytes. */
TEST_F(fdinfo, pt_reclaim_counts)
{
	struct fdinfo a;
	char *p;

	ASSERT_EQ(0, mshare_anon(self->fd, 0, 8 * MB));
	p = map_region(self->fd, 2 * self->unit, RW);
	ASSERT_NE(NULL, p);
	touch(p, 8 * MB, 1);
	ASSERT_EQ(0, read_fdinfo(self->fd, &a));
	ASSERT_EQ(0, madvise(p, 4 * MB, MADV_DONTNEED));
	ASSERT_EQ(0, read_fdinfo(self->fd, &self->fi));
	TH_LOG("pt_freed %ld -> %ld, pagetables %ld -> %ld",
	       a.pt_freed, self->fi.pt_freed, a.pagetables, self->fi.pagetables);
	EXPECT_EQ(a.rss_shmem - 4 * (long)MB, self->fi.rss_shmem);
	EXPECT_EQ(a.pt_freed + 2, self->fi.pt_freed);
	EXPECT_EQ(a.pagetables - 2 * (long)PAGE, self->fi.pagetables);

	/* A read of a shmem hole allocates a page: the tables come back. */
	touch(p, 4 * MB, 0);
	ASSERT_EQ(0, read_fdinfo(self->fd, &a));
	EXPECT_EQ(self->fi.pagetables + 2 * (long)PAGE, a.pagetables);
	munmap(p, 2 * self->unit);
}

/*
 * Who may read the figures: whoever may open the region (fdinfo of one's
 * own fd), not another user through someone else's fd.
 */
static int unpriv_fdinfo(void *arg)
{
	const char *path = arg;
	struct fdinfo *fi = malloc(sizeof(*fi));
	int fd, ret;

	if (!fi)
		return 9;
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return errno == EACCES ? 3 : 4;
	ret = read_fdinfo(fd, fi);
	close(fd);
	if (ret)
		return 5;
	if (fi->rss_shmem != (long)(4 * MB) || fi->nr_maps != 1)
		return 6;
	/* Only who opened it for writing sees the objects' paths. */
	return strcmp(fi->maps[0].path, "-") ? 8 : 0;
}

static int unpriv_other_fdinfo(void *arg)
{
	int *ids = arg;
	struct fdinfo *fi = malloc(sizeof(*fi));
	int ret;

	if (!fi)
		return 9;
	ret = read_fdinfo_of(ids[0], ids[1], fi);
	return ret == -EACCES ? 0 : 7;
}

TEST_F(fdinfo, permissions)
{
	int ids[2] = { getpid(), self->fd };
	int rofd;
	char *p;

	ASSERT_EQ(0, mshare_anon(self->fd, 0, 4 * MB));
	p = map_region(self->fd, 2 * self->unit, RW);
	ASSERT_NE(NULL, p);
	touch(p, 4 * MB, 1);

	/* 0600 root's: the open is refused, so no figures. */
	EXPECT_EQ(3, run_as_user(unpriv_fdinfo, self->path));
	/* 0644: a reader opens it and sees them. */
	ASSERT_EQ(0, chmod(self->path, 0644));
	EXPECT_EQ(0, run_as_user(unpriv_fdinfo, self->path));
	/* Root too, opening it read-only; with a writable fd, the path shows. */
	rofd = open(self->path, O_RDONLY);
	ASSERT_LE(0, rofd);
	ASSERT_EQ(0, read_fdinfo(rofd, &self->fi));
	EXPECT_STREQ("-", self->fi.maps[0].path);
	close(rofd);
	ASSERT_EQ(0, read_fdinfo(self->fd, &self->fi));
	EXPECT_STREQ("/dev/zero (deleted)", self->fi.maps[0].path);
	/* Not through another user's process. */
	EXPECT_EQ(0, run_as_user(unpriv_other_fdinfo, ids));
	munmap(p, 2 * self->unit);
}

/* Many mappings: more lines than one page of seq_file buffer holds. */
TEST_F(fdinfo, many_mappings)
{
	int i, n = 400;

	for (i = 0; i < n; i++)
		ASSERT_EQ(0, mshare_anon(self->fd, 2 * i * PAGE, PAGE));
	ASSERT_EQ(0, read_fdinfo(self->fd, &self->fi));
	EXPECT_EQ(n, self->fi.mappings);
	EXPECT_EQ(n * PAGE, self->fi.mapped);
	ASSERT_EQ(n, self->fi.nr_maps);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(2 * i * PAGE, self->fi.maps[i].offset);
		EXPECT_EQ(PAGE, self->fi.maps[i].size);
	}
}

/*
 * Reading fdinfo while mappings come and go, and processes fault, unmap and
 * reclaim: every read parses, and its figures stay within the region.
 */
struct race {
	int fd;
	unsigned long unit;
	volatile int stop;
	unsigned long reads, bad, ops;
};

static void *race_reader(void *arg)
{
	struct race *r = arg;
	struct fdinfo *fi = malloc(sizeof(*fi));
	int i;

	while (fi && !r->stop) {
		if (read_fdinfo(r->fd, fi)) {
			r->bad++;
			continue;
		}
		for (i = 0; i < fi->nr_maps; i++) {
			if (fi->maps[i].offset + fi->maps[i].size > 2 * r->unit ||
			    fi->maps[i].rss > fi->maps[i].size)
				r->bad++;
			/* Lines never overlap, even when mappings change. */
			if (i && fi->maps[i].offset <
				 fi->maps[i - 1].offset + fi->maps[i - 1].size)
				r->bad++;
		}
		if (fi->mapped > (long)(2 * r->unit))
			r->bad++;
		r->reads++;
	}
	free(fi);
	return NULL;
}

TEST_F(fdinfo, race)
{
	struct race r = { .fd = self->fd, .unit = self->unit };
	pthread_t t[2];
	time_t end = time(NULL) + 10;
	char *p;
	int i;

	p = map_region(self->fd, 2 * self->unit, RW);
	ASSERT_NE(NULL, p);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, race_reader, &r));
	while (time(NULL) < end) {
		unsigned long off = (r.ops % 8) * 2 * MB;

		if (!mshare_anon(self->fd, off, 2 * MB)) {
			touch(p + off, 2 * MB, 1);
			madvise(p + off, MB, MADV_DONTNEED);
			madvise(p + off, 2 * MB, MADV_PT_RECLAIM);
		}
		if (r.ops % 3 == 0)
			mshare_unmap(self->fd, ((r.ops / 3) % 8) * 2 * MB, 4 * MB);
		r.ops++;
	}
	r.stop = 1;
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	TH_LOG("%lu reads, %lu ops, %lu bad", r.reads, r.ops, r.bad);
	EXPECT_EQ(0, r.bad);
	EXPECT_LT(10, r.reads);
	munmap(p, 2 * self->unit);
}

TEST_HARNESS_MAIN
