// SPDX-License-Identifier: GPL-2.0
/*
 * The booted kernel is the one the msharefs tests are meant for: it is
 * 6.12 with the msharefs files and patches, and the options of the config
 * fragment (and of the debug flavour that judges the tests) are live.
 */
#define _GNU_SOURCE
#include <sys/utsname.h>

#include "../../kselftest_harness.h"
#include "mshare_util.h"

/* Is "CONFIG_...=y" (a whole line) in the running kernel's config? */
static int kernel_has(const char *line)
{
	char buf[512];
	size_t len = strlen(line);
	int found = 0;
	FILE *f;

	f = popen("zcat /proc/config.gz", "r");
	if (!f)
		return -1;
	while (fgets(buf, sizeof(buf), f)) {
		if (!strncmp(buf, line, len) && buf[len] == '\n')
			found = 1;
	}
	if (pclose(f))
		return -1;
	return found;
}

TEST(kernel_is_6_12)
{
	struct utsname u;

	ASSERT_EQ(0, uname(&u));
	TH_LOG("running %s", u.release);
	ASSERT_EQ(0, strncmp(u.release, "6.12.", 5));
}

TEST(msharefs_is_registered)
{
	char buf[4096];

	ASSERT_LT(0, read_file("/proc/filesystems", buf, sizeof(buf)));
	ASSERT_NE(NULL, strstr(buf, "nodev\tmsharefs\n"));
}

TEST(mount_point_is_created)
{
	struct stat st;

	ASSERT_EQ(0, stat(MSHARE_MOUNT, &st));
	ASSERT_TRUE(S_ISDIR(st.st_mode));
}

/* Every option the selftests' config fragment asks for is set. */
TEST(config_fragment_is_live)
{
	char line[256];
	int n = 0;
	FILE *f;

	f = fopen("config", "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "CONFIG_", 7))
			continue;
		EXPECT_EQ(1, kernel_has(line)) TH_LOG("%s is not set", line);
		n++;
	}
	fclose(f);
	ASSERT_LT(0, n);
}

/* The tests are judged under these; a kernel without them proves less. */
TEST(debug_options_are_live)
{
	static const char * const opts[] = {
		"CONFIG_DEBUG_VM=y", "CONFIG_PROVE_LOCKING=y", "CONFIG_KASAN=y",
		"CONFIG_DEBUG_KMEMLEAK=y", "CONFIG_FAILSLAB=y",
		"CONFIG_FAIL_PAGE_ALLOC=y",
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(opts); i++)
		EXPECT_EQ(1, kernel_has(opts[i])) TH_LOG("%s is not set", opts[i]);
	ASSERT_EQ(0, access("/sys/kernel/debug/kmemleak", R_OK));
}

TEST_HARNESS_MAIN
