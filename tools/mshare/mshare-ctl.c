// SPDX-License-Identifier: GPL-2.0
/*
 * mshare-ctl: list and manage msharefs regions.
 *
 *   mshare-ctl [options] [list]
 *   mshare-ctl [options] create NAME SIZE [--mode MODE]
 *   mshare-ctl [options] map NAME OFFSET SIZE
 *              (--anon | --hugetlb[=PAGESIZE] | --file PATH [--object-offset N])
 *              [--read-only]
 *   mshare-ctl [options] unmap NAME OFFSET SIZE
 *   mshare-ctl [options] info NAME [--processes]
 *   mshare-ctl [options] reclaim NAME
 *   mshare-ctl [options] rm NAME...
 *
 * The figures come from /proc/self/fdinfo of a region file descriptor (see
 * Documentation/filesystems/msharefs.rst); the output follows util-linux's
 * lsipc and zramctl (libsmartcols tables, -J, -r, -n, -b, -o). See
 * mshare-ctl(8).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <libmount/libmount.h>
#include <libsmartcols/libsmartcols.h>
#include <linux/msharefs.h>

#define CTL_VERSION	"1.0"
#define DEFAULT_MOUNT	"/sys/fs/mshare"
#define INFO_FILE	"mshare_info"
#define FS_TYPE		"msharefs"

#ifndef MSHARE_MAGIC
#define MSHARE_MAGIC	0x4d534852
#endif
#ifndef MADV_PT_RECLAIM
#define MADV_PT_RECLAIM	26
#endif
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT	26
#endif
#ifndef MAP_HUGE_MASK
#define MAP_HUGE_MASK	0x3f
#endif

#ifndef __noreturn
#define __noreturn	__attribute__((__noreturn__))
#endif
#ifndef __printf
#define __printf(a, b)	__attribute__((__format__(printf, a, b)))
#endif
#ifndef fallthrough
#define fallthrough	__attribute__((__fallthrough__))
#endif

#define EXIT_USAGE	2	/* bad usage */
#define EXIT_NOTAVAIL	3	/* page-table reclaim is not in this kernel */

#define MAX_COLUMNS	64
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static const char *prog;

/* ------------------------------------------------------------ messages */

static void __noreturn try_help(void)
{
	fprintf(stderr, "Try '%s --help' for more information.\n", prog);
	exit(EXIT_USAGE);
}

static void __noreturn __printf(1, 2) usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	try_help();
}

/* "mshare-ctl: <message>: <strerror(errnum)>" (no strerror if errnum is 0) */
static void __printf(2, 0) vmessage(int errnum, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	if (errnum)
		fprintf(stderr, ": %s", strerror(errnum));
	fputc('\n', stderr);
}

static void __noreturn __printf(3, 4) fail(int code, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(errnum, fmt, ap);
	va_end(ap);
	exit(code);
}

static void __printf(2, 3) warn_errno(int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(errnum, fmt, ap);
	va_end(ap);
}

static void close_stdout(void)
{
	if (fflush(stdout) || ferror(stdout)) {
		if (errno == EPIPE)
			_exit(EXIT_FAILURE);
		warn_errno(errno, "write error");
		_exit(EXIT_FAILURE);
	}
	if (fclose(stdout) && errno != EBADF) {
		warn_errno(errno, "write error");
		_exit(EXIT_FAILURE);
	}
}

static void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		err(EXIT_FAILURE, "cannot allocate %zu bytes", size);
	return p;
}

static void *xrealloc(void *old, size_t size)
{
	void *p = realloc(old, size ? size : 1);

	if (!p)
		err(EXIT_FAILURE, "cannot allocate %zu bytes", size);
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		err(EXIT_FAILURE, "cannot duplicate string");
	return p;
}

static __printf(1, 2) char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (rc < 0)
		err(EXIT_FAILURE, "cannot allocate string");
	return s;
}

/* ------------------------------------------------------------ sizes */

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/*
 * Parse a size or an offset as util-linux's strtosize() does: decimal with
 * an optional fraction and a suffix K, M, G, T, P, E (or KiB, MiB, ...:
 * powers of 1024; KB, MB, ...: powers of 1000; B: bytes), or 0x hex bytes.
 * The result must be a whole number of bytes. Returns 0, -EINVAL if @str is
 * not a size, -ERANGE if it does not fit in 64 bits.
 */
static int parse_size(const char *str, uint64_t *res)
{
	static const char suffixes[] = "KMGTPE";
	const char *p = str, *s;
	uint64_t x = 0, frac = 0, fracdiv = 1, base = 1024, mult = 1, g;
	int pwr = 0, digits = 0, d;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		p += 2;
		if (!isxdigit((unsigned char)*p))
			return -EINVAL;
		for (; isxdigit((unsigned char)*p); p++) {
			d = isdigit((unsigned char)*p) ? *p - '0' :
				tolower((unsigned char)*p) - 'a' + 10;
			if (x > (UINT64_MAX - d) / 16)
				return -ERANGE;
			x = x * 16 + d;
		}
		if (*p)
			return -EINVAL;
		*res = x;
		return 0;
	}

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		d = *p - '0';
		if (x > (UINT64_MAX - d) / 10)
			return -ERANGE;
		x = x * 10 + d;
	}
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		for (; isdigit((unsigned char)*p); p++) {
			if (++digits > 18)
				return -EINVAL;
			frac = frac * 10 + (*p - '0');
			fracdiv *= 10;
		}
	}
	if (*p == 'B' && !p[1]) {
		p++;
	} else if (*p) {
		s = strchr(suffixes, toupper((unsigned char)*p));
		if (!s)
			return -EINVAL;
		pwr = s - suffixes + 1;
		p++;
		if (p[0] == 'i' && p[1] == 'B' && !p[2]) {
			p += 2;
		} else if (p[0] == 'B' && !p[1]) {
			base = 1000;
			p++;
		}
		if (*p)
			return -EINVAL;
	}
	while (pwr-- > 0)
		mult *= base;

	/* frac / fracdiv * mult must be whole: reduce the fraction first */
	g = gcd(mult, fracdiv);
	mult /= g;
	fracdiv /= g;
	if (frac % fracdiv)
		return -EINVAL;		/* not a whole number of bytes */
	frac /= fracdiv;
	if (frac && frac > UINT64_MAX / mult)
		return -ERANGE;
	frac *= mult;
	mult *= g;
	if (x && x > UINT64_MAX / mult)
		return -ERANGE;
	x *= mult;
	if (x > UINT64_MAX - frac)
		return -ERANGE;
	*res = x + frac;
	return 0;
}

static uint64_t parse_size_or_die(const char *str, const char *what)
{
	uint64_t v;
	int rc = parse_size(str, &v);

	if (rc == -ERANGE)
		usage_error("%s: %s is out of range", str, what);
	if (rc)
		usage_error("invalid %s: '%s'", what, str);
	return v;
}

/*
 * Exact: the largest binary unit that divides @v ("1536M", "4K", "0"),
 * bytes otherwise. Used for what a user types back: offsets and sizes.
 */
static char *size_exact(uint64_t v)
{
	static const char units[] = "KMGTPE";
	int i;

	if (!v)
		return xstrdup("0");
	for (i = 6; i > 0; i--) {
		if (!(v & ((1ULL << (10 * i)) - 1)))
			return xasprintf("%" PRIu64 "%c", v >> (10 * i), units[i - 1]);
	}
	return xasprintf("%" PRIu64, v);
}

/*
 * Human: as util-linux's size_to_human_string() with one-letter suffixes,
 * one decimal at most, rounded ("1.5G", "20K", "0B"). Used for measured
 * amounts: RSS and page tables.
 */
static char *size_human(uint64_t v)
{
	static const char letters[] = "BKMGTPE";
	uint64_t dec, frac = 0;
	int exp = 0, shift;

	while (exp < 6 && v >= (1ULL << (10 * (exp + 1))))
		exp++;
	shift = 10 * exp;
	dec = v >> shift;
	if (exp) {
		/* tenths, rounded: rest < 2^60, so this stays below 2^64 */
		uint64_t rest = v & ((1ULL << shift) - 1);

		frac = (rest * 10 + (1ULL << (shift - 1))) >> shift;
		if (frac == 10) {
			dec++;
			frac = 0;
		}
	}
	if (frac)
		return xasprintf("%" PRIu64 ".%" PRIu64 "%c", dec, frac, letters[exp]);
	return xasprintf("%" PRIu64 "%c", dec, letters[exp]);
}

static int strtou64_strict(const char *s, uint64_t *v)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	return 0;
}

/* ------------------------------------------------------------ control */

enum map_kind {
	MAP_KIND_NONE,
	MAP_KIND_ANON,
	MAP_KIND_HUGETLB,
	MAP_KIND_FILE,
};

struct ctl {
	const char *mount;		/* -m, or found */
	bool mount_checked;		/* -m was checked */
	char *mount_alloc;

	bool json, raw, noheadings, bytes, output_all;
	const char *outarg;		/* -o */

	/* subcommand options, and which were given (for validation) */
	const char *mode_arg;
	enum map_kind kind;
	int nkinds;
	const char *hugetlb_arg;
	const char *file;
	const char *objoff_arg;
	bool read_only;
	bool processes;

	long pagesize;
};

/* ------------------------------------------------------------ columns */

enum col_kind {
	K_STR,		/* text */
	K_COUNT,	/* a count */
	K_EXACT,	/* bytes, shown exactly ("1536M") */
	K_HUMAN,	/* bytes, shown rounded ("1.5G") */
};

struct colinfo {
	const char *name;
	const char *label;	/* info's key: value lines */
	double whint;
	int flags;
	enum col_kind kind;
	int stat;		/* the fdinfo figure (ST_*), or -1 */
	const char *help;
};

/* fdinfo keys of a region */
enum {
	ST_SIZE, ST_MAPPINGS, ST_MAPPED, ST_RSS_ANON, ST_RSS_FILE, ST_RSS_SHMEM,
	ST_RSS_HUGETLB, ST_PAGETABLES, ST_ATTACHED, ST_LINKED, ST_PUD_LINKS,
	ST_PT_FREED, ST_PT_PENDING, ST_NR
};

static const char * const stat_keys[ST_NR] = {
	[ST_SIZE]	 = "size",
	[ST_MAPPINGS]	 = "mappings",
	[ST_MAPPED]	 = "mapped",
	[ST_RSS_ANON]	 = "rss_anon",
	[ST_RSS_FILE]	 = "rss_file",
	[ST_RSS_SHMEM]	 = "rss_shmem",
	[ST_RSS_HUGETLB] = "rss_hugetlb",
	[ST_PAGETABLES]	 = "pagetables",
	[ST_ATTACHED]	 = "attached",
	[ST_LINKED]	 = "linked",
	[ST_PUD_LINKS]	 = "pud_links",
	[ST_PT_FREED]	 = "pt_freed",
	[ST_PT_PENDING]	 = "pt_pending",
};

/* region columns: list, and the region part of info */
enum {
	RCOL_NAME, RCOL_PATH, RCOL_SIZE, RCOL_OWNER, RCOL_GROUP, RCOL_MODE,
	RCOL_MAPPINGS, RCOL_MAPPED, RCOL_RSS, RCOL_RSS_ANON, RCOL_RSS_FILE,
	RCOL_RSS_SHMEM, RCOL_RSS_HUGETLB, RCOL_PAGETABLES, RCOL_ATTACHED,
	RCOL_LINKED, RCOL_PUD_LINKS, RCOL_PT_FREED, RCOL_PT_PENDING,
};

static const struct colinfo region_cols[] = {
	[RCOL_NAME]	   = { "NAME", "Name", 0.15, SCOLS_FL_NOEXTREMES, K_STR, -1,
			       "region name" },
	[RCOL_PATH]	   = { "PATH", "Path", 0.3, SCOLS_FL_NOEXTREMES, K_STR, -1,
			       "path of the region file" },
	[RCOL_SIZE]	   = { "SIZE", "Size", 5, SCOLS_FL_RIGHT, K_EXACT, ST_SIZE,
			       "region size" },
	[RCOL_OWNER]	   = { "OWNER", "Owner", 8, SCOLS_FL_TRUNC, K_STR, -1,
			       "owner of the region file" },
	[RCOL_GROUP]	   = { "GROUP", "Group", 8, SCOLS_FL_TRUNC, K_STR, -1,
			       "group of the region file" },
	[RCOL_MODE]	   = { "MODE", "Mode", 10, 0, K_STR, -1,
			       "permissions of the region file" },
	[RCOL_MAPPINGS]	   = { "MAPPINGS", "Mappings", 3, SCOLS_FL_RIGHT, K_COUNT, ST_MAPPINGS,
			       "host mappings in the region" },
	[RCOL_MAPPED]	   = { "MAPPED", "Mapped", 5, SCOLS_FL_RIGHT, K_HUMAN, ST_MAPPED,
			       "bytes the host mappings span" },
	[RCOL_RSS]	   = { "RSS", "RSS", 5, SCOLS_FL_RIGHT, K_HUMAN, -1,
			       "resident memory (sum of the RSS-* columns)" },
	[RCOL_RSS_ANON]	   = { "RSS-ANON", "RSS anon", 5, SCOLS_FL_RIGHT, K_HUMAN, ST_RSS_ANON,
			       "resident anonymous memory" },
	[RCOL_RSS_FILE]	   = { "RSS-FILE", "RSS file", 5, SCOLS_FL_RIGHT, K_HUMAN, ST_RSS_FILE,
			       "resident file pages" },
	[RCOL_RSS_SHMEM]   = { "RSS-SHMEM", "RSS shmem", 5, SCOLS_FL_RIGHT, K_HUMAN,
			       ST_RSS_SHMEM,
			       "resident shared memory (anonymous mappings, tmpfs, memfd)" },
	[RCOL_RSS_HUGETLB] = { "RSS-HUGETLB", "RSS hugetlb", 5, SCOLS_FL_RIGHT, K_HUMAN,
			       ST_RSS_HUGETLB, "resident hugetlb memory" },
	[RCOL_PAGETABLES]  = { "PAGETABLES", "Page tables", 5, SCOLS_FL_RIGHT, K_HUMAN,
			       ST_PAGETABLES, "host page tables" },
	[RCOL_ATTACHED]	   = { "ATTACHED", "Attached", 3, SCOLS_FL_RIGHT, K_COUNT, ST_ATTACHED,
			       "process mappings of the region" },
	[RCOL_LINKED]	   = { "LINKED", "Linked", 3, SCOLS_FL_RIGHT, K_COUNT, ST_LINKED,
			       "process mappings that link the host tables" },
	[RCOL_PUD_LINKS]   = { "PUD-LINKS", "PUD links", 3, SCOLS_FL_RIGHT, K_COUNT,
			       ST_PUD_LINKS, "process PUD entries that link host PMD tables" },
	[RCOL_PT_FREED]	   = { "PT-FREED", "PT freed", 3, SCOLS_FL_RIGHT, K_COUNT, ST_PT_FREED,
			       "host PTE tables freed by page-table reclaim" },
	[RCOL_PT_PENDING]  = { "PT-PENDING", "PT pending", 3, SCOLS_FL_RIGHT, K_COUNT,
			       ST_PT_PENDING, "host PTE tables the shrinker may still free" },
};

static const int region_default[] = {
	RCOL_NAME, RCOL_SIZE, RCOL_MAPPINGS, RCOL_MAPPED, RCOL_RSS, RCOL_PAGETABLES,
	RCOL_ATTACHED, RCOL_OWNER, RCOL_MODE,
};

/* mapping columns: info */
enum {
	MCOL_OFFSET, MCOL_END, MCOL_SIZE, MCOL_PROT, MCOL_TYPE, MCOL_PAGESIZE,
	MCOL_OBJ_OFFSET, MCOL_RSS, MCOL_OBJECT,
};

static const struct colinfo map_cols[] = {
	[MCOL_OFFSET]	  = { "OFFSET", NULL, 5, SCOLS_FL_RIGHT, K_EXACT, -1,
			      "start of the mapping in the region" },
	[MCOL_END]	  = { "END", NULL, 5, SCOLS_FL_RIGHT, K_EXACT, -1,
			      "end of the mapping in the region (exclusive)" },
	[MCOL_SIZE]	  = { "SIZE", NULL, 5, SCOLS_FL_RIGHT, K_EXACT, -1,
			      "size of the mapping" },
	[MCOL_PROT]	  = { "PROT", NULL, 4, 0, K_STR, -1,
			      "protection: rw- or r--" },
	[MCOL_TYPE]	  = { "TYPE", NULL, 4, 0, K_STR, -1,
			      "anon, anon_hugetlb, file or file_hugetlb" },
	[MCOL_PAGESIZE]	  = { "PAGESIZE", NULL, 4, SCOLS_FL_RIGHT, K_EXACT, -1,
			      "page size of the mapping" },
	[MCOL_OBJ_OFFSET] = { "OBJ-OFFSET", NULL, 5, SCOLS_FL_RIGHT, K_EXACT, -1,
			      "offset into the mapped object" },
	[MCOL_RSS]	  = { "RSS", NULL, 5, SCOLS_FL_RIGHT, K_HUMAN, -1,
			      "resident memory of the mapping" },
	[MCOL_OBJECT]	  = { "OBJECT", NULL, 0.3, SCOLS_FL_NOEXTREMES, K_STR, -1,
			      "the mapped object, as /proc/PID/maps names it" },
};

static const int map_default[] = {
	MCOL_OFFSET, MCOL_SIZE, MCOL_PROT, MCOL_TYPE, MCOL_PAGESIZE, MCOL_OBJ_OFFSET,
	MCOL_RSS, MCOL_OBJECT,
};

/* process columns: info --processes */
enum {
	PCOL_PID, PCOL_USER, PCOL_COMMAND, PCOL_ADDRESS, PCOL_SIZE, PCOL_MODE,
};

static const struct colinfo proc_cols[] = {
	[PCOL_PID]	= { "PID", NULL, 5, SCOLS_FL_RIGHT, K_COUNT, -1,
			    "process ID" },
	[PCOL_USER]	= { "USER", NULL, 8, SCOLS_FL_TRUNC, K_STR, -1,
			    "owner of the process" },
	[PCOL_COMMAND]	= { "COMMAND", NULL, 0.2, SCOLS_FL_TRUNC, K_STR, -1,
			    "command name (/proc/PID/comm)" },
	[PCOL_ADDRESS]	= { "ADDRESS", NULL, 14, SCOLS_FL_RIGHT, K_STR, -1,
			    "start address of the process mapping (hex)" },
	[PCOL_SIZE]	= { "SIZE", NULL, 5, SCOLS_FL_RIGHT, K_EXACT, -1,
			    "size of the process mapping" },
	[PCOL_MODE]	= { "MODE", NULL, 2, 0, K_STR, -1,
			    "rw (read-write) or r (read-only)" },
};

static const int proc_default[] = {
	PCOL_PID, PCOL_USER, PCOL_COMMAND, PCOL_ADDRESS, PCOL_SIZE, PCOL_MODE,
};

struct colset {
	const struct colinfo *info;
	size_t ninfo;
	const int *def;
	size_t ndef;
	int ids[MAX_COLUMNS];
	size_t n;
};

#define COLSET(cols, defaults) {					\
	.info = cols, .ninfo = ARRAY_SIZE(cols),			\
	.def = defaults, .ndef = ARRAY_SIZE(defaults) }

static int column_by_name(const struct colset *cs, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < cs->ninfo; i++) {
		if (strlen(cs->info[i].name) == len &&
		    !strncasecmp(cs->info[i].name, name, len))
			return i;
	}
	return -1;
}

static void colset_add(struct colset *cs, int id)
{
	if (cs->n >= MAX_COLUMNS)
		usage_error("too many columns");
	cs->ids[cs->n++] = id;
}

/* defaults, all columns (-O), or -o LIST ("+LIST" adds to the defaults) */
static void colset_init(struct colset *cs, const struct ctl *ctl)
{
	const char *p, *end;
	size_t i;
	int id;

	cs->n = 0;
	if (ctl->output_all) {
		for (i = 0; i < cs->ninfo; i++)
			colset_add(cs, i);
		return;
	}
	if (!ctl->outarg || *ctl->outarg == '+') {
		for (i = 0; i < cs->ndef; i++)
			colset_add(cs, cs->def[i]);
	}
	if (!ctl->outarg)
		return;
	p = ctl->outarg + (*ctl->outarg == '+');
	if (!*p)
		usage_error("no columns in '%s'", ctl->outarg);
	for (; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ',');
		if (end == p)
			usage_error("empty column name in '%s'", ctl->outarg);
		id = column_by_name(cs, p, end - p);
		if (id < 0)
			usage_error("unknown column: %.*s", (int)(end - p), p);
		colset_add(cs, id);
	}
}

/* JSON field name of a column: lowercase, '-' as '_' */
static void json_name(const char *name, char *buf, size_t len)
{
	size_t i;

	for (i = 0; name[i] && i + 1 < len; i++)
		buf[i] = name[i] == '-' ? '_' : tolower((unsigned char)name[i]);
	buf[i] = '\0';
}

/* ------------------------------------------------------------ tables */

static struct libscols_table *new_table(const struct ctl *ctl, const struct colset *cs)
{
	struct libscols_table *tb = scols_new_table();
	struct libscols_column *cl;
	char name[64];
	size_t i;

	if (!tb)
		err(EXIT_FAILURE, "cannot allocate output table");
	scols_table_enable_raw(tb, ctl->raw);
	scols_table_enable_noheadings(tb, ctl->noheadings);
	for (i = 0; i < cs->n; i++) {
		const struct colinfo *ci = &cs->info[cs->ids[i]];

		/* the JSON writer takes the field names from the columns */
		if (ctl->json)
			json_name(ci->name, name, sizeof(name));
		else
			snprintf(name, sizeof(name), "%s", ci->name);
		cl = scols_table_new_column(tb, name, ci->whint, ctl->raw ? 0 : ci->flags);
		if (!cl)
			err(EXIT_FAILURE, "cannot allocate output column");
		scols_column_set_json_type(cl, ci->kind == K_STR ? SCOLS_JSON_STRING :
					   SCOLS_JSON_NUMBER);
	}
	return tb;
}

static struct libscols_line *new_line(struct libscols_table *tb)
{
	struct libscols_line *ln = scols_table_new_line(tb, NULL);

	if (!ln)
		err(EXIT_FAILURE, "cannot allocate output line");
	return ln;
}

/* hand @str (malloc'ed, or NULL: unknown) to cell @i */
static void set_cell(const struct ctl *ctl, struct libscols_line *ln, size_t i, char *str)
{
	int rc;

	if (!str)
		rc = ctl->json ? 0 : scols_line_set_data(ln, i, "-");
	else
		rc = scols_line_refer_data(ln, i, str);
	if (rc) {
		free(str);
		errno = -rc;
		err(EXIT_FAILURE, "cannot add output data");
	}
}

static char *fmt_value(const struct ctl *ctl, enum col_kind kind, uint64_t v)
{
	if (kind == K_COUNT || ctl->json || ctl->bytes)
		return xasprintf("%" PRIu64, v);
	return kind == K_EXACT ? size_exact(v) : size_human(v);
}

static void print_table(struct libscols_table *tb)
{
	int rc = scols_print_table(tb);

	if (rc) {
		errno = -rc;
		err(EXIT_FAILURE, "cannot print table");
	}
}

/* ------------------------------------------------------------ JSON */

static void json_indent(int level)
{
	printf("%*s", level * 3, "");
}

/* length of the valid UTF-8 sequence at @s, 0 if it is not one */
static size_t utf8_len(const unsigned char *s)
{
	size_t n, i;
	unsigned char lo = 0x80, hi = 0xbf;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	}
	return n;
}

/* a JSON string; bytes that are not UTF-8 become U+FFFD */
static void json_string(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;

	putchar('"');
	while (*s) {
		switch (*s) {
		case '"':
			fputs("\\\"", stdout);
			break;
		case '\\':
			fputs("\\\\", stdout);
			break;
		case '\b':
			fputs("\\b", stdout);
			break;
		case '\f':
			fputs("\\f", stdout);
			break;
		case '\n':
			fputs("\\n", stdout);
			break;
		case '\r':
			fputs("\\r", stdout);
			break;
		case '\t':
			fputs("\\t", stdout);
			break;
		default:
			if (*s < 0x20 || *s == 0x7f) {
				printf("\\u%04x", *s);
				break;
			}
			n = utf8_len(s);
			if (!n) {
				fputs("\\ufffd", stdout);
				break;
			}
			fwrite(s, 1, n, stdout);
			s += n;
			continue;
		}
		s++;
	}
	putchar('"');
}

static void json_key(int level, const char *key)
{
	json_indent(level);
	json_string(key);
	fputs(": ", stdout);
}

static void json_number_or_null(const char *data)
{
	fputs(data ? data : "null", stdout);
}

/* one line of @tb as an object; field names and types from its columns */
static void json_line(struct libscols_table *tb, struct libscols_line *ln, int level)
{
	size_t i, n = scols_table_get_ncols(tb);

	fputs("{\n", stdout);
	for (i = 0; i < n; i++) {
		struct libscols_column *cl = scols_table_get_column(tb, i);
		struct libscols_cell *ce = scols_line_get_cell(ln, i);
		const char *data = ce ? scols_cell_get_data(ce) : NULL;

		json_key(level + 1, scols_column_get_name(cl));
		if (scols_column_get_json_type(cl) == SCOLS_JSON_NUMBER || !data)
			json_number_or_null(data);
		else
			json_string(data);
		fputs(i + 1 < n ? ",\n" : "\n", stdout);
	}
	json_indent(level);
	putchar('}');
}

/* "key": [ {...}, ... ] */
static void json_array(const char *key, struct libscols_table *tb, int level)
{
	struct libscols_iter *itr = scols_new_iter(SCOLS_ITER_FORWARD);
	struct libscols_line *ln;
	bool first = true;

	if (!itr)
		err(EXIT_FAILURE, "cannot allocate iterator");
	json_key(level, key);
	putchar('[');
	while (scols_table_next_line(tb, itr, &ln) == 0) {
		fputs(first ? "\n" : ",\n", stdout);
		json_indent(level + 1);
		json_line(tb, ln, level + 1);
		first = false;
	}
	if (!first) {
		putchar('\n');
		json_indent(level);
	}
	putchar(']');
	scols_free_iter(itr);
}

/* "key": {...} from the first line of @tb */
static void json_object(const char *key, struct libscols_table *tb, int level)
{
	struct libscols_iter *itr = scols_new_iter(SCOLS_ITER_FORWARD);
	struct libscols_line *ln;

	if (!itr)
		err(EXIT_FAILURE, "cannot allocate iterator");
	json_key(level, key);
	if (scols_table_next_line(tb, itr, &ln) == 0)
		json_line(tb, ln, level);
	else
		fputs("null", stdout);
	scols_free_iter(itr);
}

/* ------------------------------------------------------------ mounts */

static bool is_msharefs_dir(const char *path)
{
	struct statfs sfs;
	struct stat st;

	return !statfs(path, &sfs) && sfs.f_type == MSHARE_MAGIC &&
	       !stat(path, &st) && S_ISDIR(st.st_mode);
}

static bool fs_in_kernel(void)
{
	FILE *f = fopen("/proc/filesystems", "re");
	char line[256];
	bool found = false;

	if (!f)
		return true;	/* cannot tell: do not claim it is missing */
	while (!found && fgets(line, sizeof(line), f)) {
		char *name = strrchr(line, '\t');

		name = name ? name + 1 : line;
		name[strcspn(name, "\n")] = '\0';
		found = !strcmp(name, FS_TYPE);
	}
	fclose(f);
	return found;
}

/* the first msharefs mount in /proc/self/mountinfo, or NULL */
static char *find_mount(void)
{
	struct libmnt_table *tb = mnt_new_table_from_file("/proc/self/mountinfo");
	struct libmnt_iter *itr;
	struct libmnt_fs *fs;
	char *found = NULL;

	if (!tb)
		return NULL;
	itr = mnt_new_iter(MNT_ITER_FORWARD);
	if (!itr) {
		mnt_unref_table(tb);
		return NULL;
	}
	while (!found && mnt_table_next_fs(tb, itr, &fs) == 0) {
		const char *type = mnt_fs_get_fstype(fs);
		const char *target = mnt_fs_get_target(fs);

		if (type && target && !strcmp(type, FS_TYPE) && is_msharefs_dir(target))
			found = xstrdup(target);
	}
	mnt_free_iter(itr);
	mnt_unref_table(tb);
	return found;
}

/* -m DIR: it must be a msharefs mount */
static void check_given_mount(struct ctl *ctl)
{
	struct statfs sfs;
	struct stat st;

	if (statfs(ctl->mount, &sfs) || stat(ctl->mount, &st))
		fail(EXIT_FAILURE, errno, "%s", ctl->mount);
	if (sfs.f_type != MSHARE_MAGIC || !S_ISDIR(st.st_mode))
		fail(EXIT_FAILURE, 0, "%s: not a msharefs mount", ctl->mount);
}

static const char *get_mount(struct ctl *ctl)
{
	if (ctl->mount) {
		if (!ctl->mount_checked)
			check_given_mount(ctl);
		ctl->mount_checked = true;
		return ctl->mount;
	}
	if (is_msharefs_dir(DEFAULT_MOUNT)) {
		ctl->mount = DEFAULT_MOUNT;
		return ctl->mount;
	}
	ctl->mount_alloc = find_mount();
	if (ctl->mount_alloc) {
		ctl->mount = ctl->mount_alloc;
		return ctl->mount;
	}
	if (!fs_in_kernel())
		fail(EXIT_FAILURE, 0, "msharefs is not in this kernel");
	fail(EXIT_FAILURE, 0,
	     "msharefs is not mounted (try: mount -t msharefs none " DEFAULT_MOUNT ")");
}

/* ------------------------------------------------------------ regions */

struct region_ref {
	char *path;	/* the region file */
	char *dir;	/* the mount it is in */
	const char *name;
};

static bool valid_name(const char *name)
{
	return *name && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..") &&
	       strcmp(name, INFO_FILE);
}

/* usage checks only: no system access */
static void check_name(const char *arg)
{
	const char *base;

	base = arg[0] == '/' ? strrchr(arg, '/') + 1 : arg;
	if (!strcmp(base, INFO_FILE))
		usage_error("%s: not a region", arg);
	if (!valid_name(base))
		usage_error("%s: invalid region name (no '/'; or an absolute path)", arg);
}

/* NAME in the mount, or an absolute path on a msharefs mount */
static void resolve(struct ctl *ctl, const char *arg, struct region_ref *r)
{
	check_name(arg);
	if (arg[0] == '/') {
		const char *slash = strrchr(arg, '/');

		r->path = xstrdup(arg);
		r->dir = slash == arg ? xstrdup("/") : xasprintf("%.*s", (int)(slash - arg), arg);
		r->name = slash + 1;
		if (!is_msharefs_dir(r->dir)) {
			struct stat st;

			if (stat(r->dir, &st))
				fail(EXIT_FAILURE, errno, "%s", r->dir);
			fail(EXIT_FAILURE, 0, "%s: not on a msharefs mount", arg);
		}
		return;
	}
	r->dir = xstrdup(get_mount(ctl));
	r->path = xasprintf("%s/%s", r->dir, arg);
	r->name = arg;
}

static void ref_free(struct region_ref *r)
{
	free(r->path);
	free(r->dir);
}

/* the size unit of regions, from mshare_info */
static uint64_t read_unit(const char *dir)
{
	char *path = xasprintf("%s/" INFO_FILE, dir);
	char buf[64];
	uint64_t unit;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail(EXIT_FAILURE, errno, "%s", path);
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		fail(EXIT_FAILURE, errno, "%s", path);
	close(fd);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (strtou64_strict(buf, &unit) || !unit)
		fail(EXIT_FAILURE, 0, "%s: unexpected contents", path);
	free(path);
	return unit;
}

struct mapent {
	uint64_t offset, size, pagesize, objoff, rss;
	char prot[8];
	char type[16];
	char *object;
};

struct rstats {
	bool read;		/* fdinfo could be read */
	uint64_t v[ST_NR];
	unsigned int have;	/* bit per ST_*: the kernel printed it */
	struct mapent *maps;
	size_t nmaps;
};

static bool have(const struct rstats *rs, int st)
{
	return rs->have & (1U << st);
}

/* undo the kernel's \ooo escapes (space, tab, newline, backslash) */
static char *unescape(const char *s)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

/* "OFFSET SIZE PROT TYPE PAGESIZE OBJOFFSET RSS PATH" */
static bool parse_map_line(char *p, struct mapent *m)
{
	char *f[7];
	int n;

	for (n = 0; n < 7; n++) {
		f[n] = p;
		p = strchr(p, ' ');
		if (!p) {
			if (n < 6)
				return false;
			break;
		}
		*p++ = '\0';
	}
	if (strtou64_strict(f[0], &m->offset) || strtou64_strict(f[1], &m->size) ||
	    strtou64_strict(f[4], &m->pagesize) || strtou64_strict(f[5], &m->objoff) ||
	    strtou64_strict(f[6], &m->rss) ||
	    strlen(f[2]) >= sizeof(m->prot) || strlen(f[3]) >= sizeof(m->type))
		return false;
	snprintf(m->prot, sizeof(m->prot), "%s", f[2]);
	snprintf(m->type, sizeof(m->type), "%s", f[3]);
	m->object = unescape(p ? p : "");
	return true;
}

static void rstats_free(struct rstats *rs)
{
	size_t i;

	for (i = 0; i < rs->nmaps; i++)
		free(rs->maps[i].object);
	free(rs->maps);
	memset(rs, 0, sizeof(*rs));
}

/* the figures of region @fd from /proc/self/fdinfo; 0 or -errno */
static int read_fdinfo(int fd, struct rstats *rs)
{
	char path[64], *buf, *line, *next;
	size_t len = 0, cap = 4096;
	ssize_t n;
	int ffd;

	memset(rs, 0, sizeof(*rs));
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	ffd = open(path, O_RDONLY | O_CLOEXEC);
	if (ffd < 0)
		return -errno;
	buf = xmalloc(cap);
	for (;;) {
		if (cap - len < 2) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		n = read(ffd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(ffd);
			free(buf);
			return n;
		}
		if (!n)
			break;
		len += n;
	}
	close(ffd);
	buf[len] = '\0';

	for (line = buf; line && *line; line = next) {
		char *colon, *val;
		uint64_t v;
		int i;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		val = colon + 1;
		val += strspn(val, " \t");
		if (!strcmp(line, "map")) {
			struct mapent m;

			if (!parse_map_line(val, &m))
				continue;
			rs->maps = xrealloc(rs->maps, (rs->nmaps + 1) * sizeof(*rs->maps));
			rs->maps[rs->nmaps++] = m;
			continue;
		}
		for (i = 0; i < ST_NR; i++) {
			if (!strcmp(line, stat_keys[i]))
				break;
		}
		if (i == ST_NR || strtou64_strict(val, &v))
			continue;	/* a key of the generic fdinfo, or a new one */
		rs->v[i] = v;
		rs->have |= 1U << i;
	}
	free(buf);
	rs->read = true;
	return 0;
}

struct region {
	char *name;
	char *path;
	struct stat st;
	struct rstats rs;
};

static char *user_name(uid_t uid)
{
	struct passwd *pw = getpwuid(uid);

	return pw ? xstrdup(pw->pw_name) : xasprintf("%u", (unsigned int)uid);
}

static char *group_name(gid_t gid)
{
	struct group *gr = getgrgid(gid);

	return gr ? xstrdup(gr->gr_name) : xasprintf("%u", (unsigned int)gid);
}

static char *mode_string(mode_t m)
{
	char s[11];

	s[0] = S_ISREG(m) ? '-' : S_ISDIR(m) ? 'd' : '?';
	s[1] = m & 0400 ? 'r' : '-';
	s[2] = m & 0200 ? 'w' : '-';
	s[3] = m & 04000 ? (m & 0100 ? 's' : 'S') : (m & 0100 ? 'x' : '-');
	s[4] = m & 040 ? 'r' : '-';
	s[5] = m & 020 ? 'w' : '-';
	s[6] = m & 02000 ? (m & 010 ? 's' : 'S') : (m & 010 ? 'x' : '-');
	s[7] = m & 04 ? 'r' : '-';
	s[8] = m & 02 ? 'w' : '-';
	s[9] = m & 01000 ? (m & 01 ? 't' : 'T') : (m & 01 ? 'x' : '-');
	s[10] = '\0';
	return xstrdup(s);
}

/* the cell of region column @col; NULL if unknown */
static char *region_cell(const struct ctl *ctl, const struct region *r, int col)
{
	const struct colinfo *ci = &region_cols[col];
	const struct rstats *rs = &r->rs;

	switch (col) {
	case RCOL_NAME:
		return xstrdup(r->name);
	case RCOL_PATH:
		return xstrdup(r->path);
	case RCOL_SIZE:
		return fmt_value(ctl, ci->kind, have(rs, ST_SIZE) ? rs->v[ST_SIZE] :
				 (uint64_t)r->st.st_size);
	case RCOL_OWNER:
		return user_name(r->st.st_uid);
	case RCOL_GROUP:
		return group_name(r->st.st_gid);
	case RCOL_MODE:
		return mode_string(r->st.st_mode);
	case RCOL_RSS:
		if (!have(rs, ST_RSS_ANON) || !have(rs, ST_RSS_FILE) ||
		    !have(rs, ST_RSS_SHMEM) || !have(rs, ST_RSS_HUGETLB))
			return NULL;
		return fmt_value(ctl, ci->kind, rs->v[ST_RSS_ANON] + rs->v[ST_RSS_FILE] +
				 rs->v[ST_RSS_SHMEM] + rs->v[ST_RSS_HUGETLB]);
	default:
		if (ci->stat < 0 || !have(rs, ci->stat))
			return NULL;
		return fmt_value(ctl, ci->kind, rs->v[ci->stat]);
	}
}

static void add_region_line(const struct ctl *ctl, struct libscols_table *tb,
			    const struct colset *cs, const struct region *r)
{
	struct libscols_line *ln = new_line(tb);
	size_t i;

	for (i = 0; i < cs->n; i++)
		set_cell(ctl, ln, i, region_cell(ctl, r, cs->ids[i]));
}

/*
 * Load @r (name and path set) through @dirfd: stat, and the figures if the
 * region can be opened (*@info_err: 0, or -errno if its fdinfo could not be
 * read). Returns 0, or -errno if the region cannot be stat'ed.
 */
static int region_load(int dirfd, const char *name, struct region *r, int *info_err)
{
	int fd, rc;

	*info_err = 0;
	memset(&r->rs, 0, sizeof(r->rs));
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		if (fstatat(dirfd, name, &r->st, AT_SYMLINK_NOFOLLOW))
			return -errno;
		return 0;
	}
	if (fstat(fd, &r->st)) {
		rc = -errno;
		close(fd);
		return rc;
	}
	*info_err = read_fdinfo(fd, &r->rs);
	close(fd);
	return 0;
}

static void region_free(struct region *r)
{
	free(r->name);
	free(r->path);
	rstats_free(&r->rs);
}

/* ------------------------------------------------------------ list */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

static int cmd_list(struct ctl *ctl, int argc, char **argv)
{
	struct colset cs = COLSET(region_cols, region_default);
	struct libscols_table *tb;
	const char *mnt;
	char **names = NULL;
	size_t nnames = 0, i;
	bool warned = false;
	struct dirent *de;
	DIR *dir;

	(void)argv;
	if (argc)
		usage_error("'list' takes no arguments");
	colset_init(&cs, ctl);
	mnt = get_mount(ctl);

	dir = opendir(mnt);
	if (!dir)
		fail(EXIT_FAILURE, errno, "%s", mnt);
	for (;;) {
		errno = 0;
		de = readdir(dir);
		if (!de)
			break;
		if (!valid_name(de->d_name) || de->d_type == DT_DIR)
			continue;
		names = xrealloc(names, (nnames + 1) * sizeof(*names));
		names[nnames++] = xstrdup(de->d_name);
	}
	if (errno)
		fail(EXIT_FAILURE, errno, "%s", mnt);
	qsort(names, nnames, sizeof(*names), cmp_names);

	tb = new_table(ctl, &cs);
	for (i = 0; i < nnames; i++) {
		struct region r = { .name = names[i] };
		int rc, info_err;

		names[i] = NULL;
		r.path = xasprintf("%s/%s", mnt, r.name);
		rc = region_load(dirfd(dir), r.name, &r, &info_err);
		if (info_err && !warned) {
			warn_errno(-info_err, "cannot read /proc/self/fdinfo");
			warned = true;
		}
		if (!rc)
			add_region_line(ctl, tb, &cs, &r);
		else if (rc != -ENOENT)		/* gone since readdir(): skip it */
			warn_errno(-rc, "%s", r.path);
		region_free(&r);
	}
	free(names);
	closedir(dir);

	if (ctl->json) {
		puts("{");
		json_array("regions", tb, 1);
		puts("\n}");
	} else {
		print_table(tb);
	}
	scols_unref_table(tb);
	return EXIT_SUCCESS;
}

/* ------------------------------------------------------------ info */

struct procent {
	pid_t pid;
	uid_t uid;
	char *comm;		/* NULL if unknown */
	unsigned long long start, end;
	bool writable;
};

static int cmp_procs(const void *a, const void *b)
{
	const struct procent *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static char *read_comm(const char *pid)
{
	char path[64], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%.20s/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return xstrdup(buf);
}

/*
 * The mappings of the region (@rst: its stat) in every process whose
 * /proc/PID/maps can be read: all of them for root, one's own otherwise.
 */
static size_t scan_processes(const struct stat *rst, struct procent **out)
{
	struct procent *procs = NULL;
	size_t nprocs = 0, cap = 0;
	char path[64], *line = NULL;
	size_t linecap = 0;
	struct dirent *de;
	DIR *proc;

	proc = opendir("/proc");
	if (!proc)
		fail(EXIT_FAILURE, errno, "/proc");
	while ((de = readdir(proc))) {
		const char *pid = de->d_name;
		bool found = false;
		struct stat pst;
		FILE *f;

		if (!*pid || strlen(pid) > 20 || strspn(pid, "0123456789") != strlen(pid))
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/maps", pid);
		f = fopen(path, "re");
		if (!f)
			continue;	/* gone, or not ours to read */
		while (getline(&line, &linecap, f) > 0) {
			unsigned long long start, end, off, ino;
			unsigned int maj, min;
			char perms[8];

			if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu", &start, &end, perms,
				   &off, &maj, &min, &ino) != 7)
				continue;
			if (maj != major(rst->st_dev) || min != minor(rst->st_dev) ||
			    ino != (unsigned long long)rst->st_ino)
				continue;
			if (nprocs == cap) {
				cap = cap ? cap * 2 : 16;
				procs = xrealloc(procs, cap * sizeof(*procs));
			}
			procs[nprocs] = (struct procent) {
				.pid = (pid_t)strtol(pid, NULL, 10),
				.uid = (uid_t)-1,
				.start = start,
				.end = end,
				.writable = perms[1] == 'w',
			};
			if (!found) {
				snprintf(path, sizeof(path), "/proc/%.20s", pid);
				if (!stat(path, &pst))
					procs[nprocs].uid = pst.st_uid;
				procs[nprocs].comm = read_comm(pid);
				found = true;
			} else {
				procs[nprocs].uid = procs[nprocs - 1].uid;
				procs[nprocs].comm = procs[nprocs - 1].comm ?
						     xstrdup(procs[nprocs - 1].comm) : NULL;
			}
			nprocs++;
		}
		fclose(f);
	}
	free(line);
	closedir(proc);
	qsort(procs, nprocs, sizeof(*procs), cmp_procs);
	*out = procs;
	return nprocs;
}

static char *map_cell(const struct ctl *ctl, const struct mapent *m, int col)
{
	enum col_kind kind = map_cols[col].kind;

	switch (col) {
	case MCOL_OFFSET:
		return fmt_value(ctl, kind, m->offset);
	case MCOL_END:
		return fmt_value(ctl, kind, m->offset + m->size);
	case MCOL_SIZE:
		return fmt_value(ctl, kind, m->size);
	case MCOL_PROT:
		return xstrdup(m->prot);
	case MCOL_TYPE:
		return xstrdup(m->type);
	case MCOL_PAGESIZE:
		return fmt_value(ctl, kind, m->pagesize);
	case MCOL_OBJ_OFFSET:
		return fmt_value(ctl, kind, m->objoff);
	case MCOL_RSS:
		return fmt_value(ctl, kind, m->rss);
	case MCOL_OBJECT:
		/* "-": the region is not open for writing, the path is not shown */
		return strcmp(m->object, "-") ? xstrdup(m->object) : NULL;
	}
	return NULL;
}

static char *proc_cell(const struct ctl *ctl, const struct procent *p, int col)
{
	switch (col) {
	case PCOL_PID:
		return xasprintf("%d", (int)p->pid);
	case PCOL_USER:
		return p->uid == (uid_t)-1 ? NULL : user_name(p->uid);
	case PCOL_COMMAND:
		return p->comm ? xstrdup(p->comm) : NULL;
	case PCOL_ADDRESS:
		return xasprintf("0x%llx", p->start);
	case PCOL_SIZE:
		return fmt_value(ctl, proc_cols[col].kind, p->end - p->start);
	case PCOL_MODE:
		return xstrdup(p->writable ? "rw" : "r");
	}
	return NULL;
}

/* the region's figures as "Label: value" lines (raw: "COLUMN value") */
static void print_region_fields(const struct ctl *ctl, const struct region *r)
{
	struct libscols_table *tb = scols_new_table();
	size_t i;

	if (!tb || !scols_table_new_column(tb, "FIELD", 0, 0) ||
	    !scols_table_new_column(tb, "DATA", 0, SCOLS_FL_NOEXTREMES))
		err(EXIT_FAILURE, "cannot allocate output table");
	scols_table_enable_raw(tb, ctl->raw);
	scols_table_enable_noheadings(tb, 1);
	for (i = 0; i < ARRAY_SIZE(region_cols); i++) {
		struct libscols_line *ln = new_line(tb);
		const struct colinfo *ci = &region_cols[i];

		set_cell(ctl, ln, 0, ctl->raw ? xstrdup(ci->name) : xasprintf("%s:", ci->label));
		set_cell(ctl, ln, 1, region_cell(ctl, r, i));
	}
	print_table(tb);
	scols_unref_table(tb);
}

static int cmd_info(struct ctl *ctl, int argc, char **argv)
{
	struct colset rcs = COLSET(region_cols, region_default);
	struct colset mcs = COLSET(map_cols, map_default);
	struct colset pcs = COLSET(proc_cols, proc_default);
	struct libscols_table *rtb, *mtb, *ptb = NULL;
	struct region r = { 0 };
	struct region_ref ref;
	struct procent *procs = NULL;
	size_t nprocs = 0, i, j;
	int fd, rc;

	if (argc != 1)
		usage_error("'info' takes one region name");
	check_name(argv[0]);
	colset_init(&mcs, ctl);
	for (i = 0; i < ARRAY_SIZE(region_cols); i++)
		colset_add(&rcs, i);
	for (i = 0; i < ARRAY_SIZE(proc_default); i++)
		colset_add(&pcs, proc_default[i]);

	resolve(ctl, argv[0], &ref);
	/* the kernel shows the objects' paths only through a writable fd */
	fd = open(ref.path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && (errno == EACCES || errno == EPERM || errno == EROFS))
		fd = open(ref.path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		fail(EXIT_FAILURE, errno, "%s", ref.path);
	if (fstat(fd, &r.st))
		fail(EXIT_FAILURE, errno, "%s", ref.path);
	rc = read_fdinfo(fd, &r.rs);
	if (rc)
		warn_errno(-rc, "cannot read /proc/self/fdinfo");
	close(fd);
	r.name = xstrdup(ref.name);
	r.path = xstrdup(ref.path);

	rtb = new_table(ctl, &rcs);
	add_region_line(ctl, rtb, &rcs, &r);

	mtb = new_table(ctl, &mcs);
	for (i = 0; i < r.rs.nmaps; i++) {
		struct libscols_line *ln = new_line(mtb);

		for (j = 0; j < mcs.n; j++)
			set_cell(ctl, ln, j, map_cell(ctl, &r.rs.maps[i], mcs.ids[j]));
	}

	if (ctl->processes) {
		nprocs = scan_processes(&r.st, &procs);
		ptb = new_table(ctl, &pcs);
		for (i = 0; i < nprocs; i++) {
			struct libscols_line *ln = new_line(ptb);

			for (j = 0; j < pcs.n; j++)
				set_cell(ctl, ln, j, proc_cell(ctl, &procs[i], pcs.ids[j]));
		}
	}

	if (ctl->json) {
		puts("{");
		json_object("region", rtb, 1);
		puts(",");
		json_array("mappings", mtb, 1);
		if (ptb) {
			puts(",");
			json_array("processes", ptb, 1);
		}
		puts("\n}");
	} else {
		print_region_fields(ctl, &r);
		if (scols_table_get_nlines(mtb)) {
			putchar('\n');
			print_table(mtb);
		}
		if (ptb && scols_table_get_nlines(ptb)) {
			putchar('\n');
			print_table(ptb);
		}
	}

	scols_unref_table(rtb);
	scols_unref_table(mtb);
	if (ptb)
		scols_unref_table(ptb);
	for (i = 0; i < nprocs; i++)
		free(procs[i].comm);
	free(procs);
	region_free(&r);
	ref_free(&ref);
	return EXIT_SUCCESS;
}

/* ------------------------------------------------------------ create */

static mode_t parse_mode(const char *str)
{
	unsigned long v;
	char *end;

	if (!*str || strspn(str, "01234567") != strlen(str))
		usage_error("invalid mode: '%s' (octal, e.g. 0640)", str);
	errno = 0;
	v = strtoul(str, &end, 8);
	if (errno || *end || v > 07777)
		usage_error("invalid mode: '%s' (octal, at most 07777)", str);
	return (mode_t)v;
}

static int cmd_create(struct ctl *ctl, int argc, char **argv)
{
	struct region_ref ref;
	mode_t mode = 0600;
	uint64_t size, unit;
	char *unitstr, *sizestr;
	int fd, e;

	if (argc != 2)
		usage_error("'create' takes a region name and a size");
	check_name(argv[0]);
	size = parse_size_or_die(argv[1], "size");
	if (ctl->mode_arg)
		mode = parse_mode(ctl->mode_arg);

	resolve(ctl, argv[0], &ref);
	unit = read_unit(ref.dir);
	if (!size || size % unit) {
		unitstr = size_exact(unit);
		fail(EXIT_FAILURE, 0, "%s: size must be a %smultiple of %s (" INFO_FILE ")",
		     argv[1], size ? "" : "non-zero ", unitstr);
	}
	if (size > INT64_MAX)
		fail(EXIT_FAILURE, 0, "%s: size is too large", argv[1]);

	fd = open(ref.path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
		  mode & 0777);
	if (fd < 0) {
		if (errno == ENOSPC)
			fail(EXIT_FAILURE, errno,
			     "%s: cannot create (the mount's nr_regions= limit?)", ref.path);
		fail(EXIT_FAILURE, errno, "%s", ref.path);
	}
	/* the mode as given, whatever the umask */
	if (fchmod(fd, mode)) {
		e = errno;
		if (unlink(ref.path))
			warn_errno(errno, "%s: cannot remove", ref.path);
		fail(EXIT_FAILURE, e, "%s: cannot set mode %04o", ref.path, (unsigned int)mode);
	}
	if (ftruncate(fd, (off_t)size)) {
		e = errno;
		if (unlink(ref.path))
			warn_errno(errno, "%s: cannot remove", ref.path);
		sizestr = fmt_value(ctl, K_EXACT, size);
		fail(EXIT_FAILURE, e, "%s: cannot set the size to %s%s", ref.path, sizestr,
		     e == ENOSPC ? " (beyond the mount's size= limit?)" : "");
	}
	if (close(fd))
		fail(EXIT_FAILURE, errno, "%s", ref.path);
	ref_free(&ref);
	return EXIT_SUCCESS;
}

/* ------------------------------------------------------------ map, unmap */

/* "OFFSET+SIZE": the ends of a range are rarely round where its size is */
static char *range_str(const struct ctl *ctl, uint64_t start, uint64_t end)
{
	char *a = fmt_value(ctl, K_EXACT, start), *b = fmt_value(ctl, K_EXACT, end - start);
	char *s = xasprintf("%s+%s", a, b);

	free(a);
	free(b);
	return s;
}

/* EINVAL from an ioctl: say which rule the range broke, if one did */
static void range_einval(const struct ctl *ctl, int fd, const char *path, uint64_t off,
			 uint64_t size, const char *range)
{
	struct stat st;
	char *s;

	if (fstat(fd, &st))
		return;
	if (!st.st_size)
		fail(EXIT_FAILURE, EINVAL, "%s: the region is not sized", path);
	if (!size)
		fail(EXIT_FAILURE, EINVAL, "%s: the size must not be 0", path);
	if (off % ctl->pagesize || size % ctl->pagesize) {
		s = fmt_value(ctl, K_EXACT, ctl->pagesize);
		fail(EXIT_FAILURE, EINVAL, "%s: %s: offset and size must be multiples of the page size (%s)",
		     path, range, s);
	}
	if (off + size > (uint64_t)st.st_size) {
		s = fmt_value(ctl, K_EXACT, st.st_size);
		fail(EXIT_FAILURE, EINVAL, "%s: %s is past the end of the region (%s)", path,
		     range, s);
	}
}

static int cmd_map(struct ctl *ctl, int argc, char **argv)
{
	struct mshare_create mc = { 0 };
	uint64_t off, size, hps = 0, objoff = 0;
	struct region_ref ref;
	char *range, *s;
	int rfd, ofd = -1, e;

	if (argc == 4 && ctl->kind == MAP_KIND_HUGETLB && !ctl->hugetlb_arg)
		usage_error("the page size of --hugetlb goes after '=': --hugetlb=%s", argv[3]);
	if (argc != 3)
		usage_error("'map' takes a region name, an offset and a size");
	check_name(argv[0]);
	off = parse_size_or_die(argv[1], "offset");
	size = parse_size_or_die(argv[2], "size");
	if (!ctl->nkinds)
		usage_error("'map' needs one of --anon, --hugetlb or --file");
	if (ctl->nkinds > 1)
		usage_error("--anon, --hugetlb and --file are mutually exclusive");
	if (ctl->objoff_arg && ctl->kind != MAP_KIND_FILE)
		usage_error("--object-offset needs --file");
	if (ctl->hugetlb_arg) {
		hps = parse_size_or_die(ctl->hugetlb_arg, "huge page size");
		if (!hps || hps & (hps - 1))
			usage_error("%s: the huge page size must be a power of two",
				    ctl->hugetlb_arg);
		if (__builtin_ctzll(hps) > MAP_HUGE_MASK)
			usage_error("%s: huge page size out of range", ctl->hugetlb_arg);
	}
	if (ctl->objoff_arg)
		objoff = parse_size_or_die(ctl->objoff_arg, "object offset");
	if (off + size < off)
		fail(EXIT_FAILURE, 0, "%s+%s: the range does not fit in 64 bits", argv[1],
		     argv[2]);

	resolve(ctl, argv[0], &ref);
	rfd = open(ref.path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (rfd < 0)
		fail(EXIT_FAILURE, errno, "%s", ref.path);
	if (ctl->kind == MAP_KIND_FILE) {
		ofd = open(ctl->file, (ctl->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY);
		if (ofd < 0)
			fail(EXIT_FAILURE, errno, "%s", ctl->file);
	}

	mc.region_offset = off;
	mc.size = size;
	mc.prot = PROT_READ | (ctl->read_only ? 0 : PROT_WRITE);
	mc.flags = MAP_SHARED | MAP_FIXED;
	mc.fd = (__u32)-1;
	switch (ctl->kind) {
	case MAP_KIND_HUGETLB:
		mc.flags |= MAP_HUGETLB;
		if (hps)
			mc.flags |= (__u32)__builtin_ctzll(hps) << MAP_HUGE_SHIFT;
		fallthrough;
	case MAP_KIND_ANON:
		mc.flags |= MAP_ANONYMOUS;
		break;
	case MAP_KIND_FILE:
		mc.fd = (__u32)ofd;
		mc.offset = objoff;
		break;
	case MAP_KIND_NONE:
		break;
	}

	if (!ioctl(rfd, MSHAREFS_CREATE_MAPPING, &mc)) {
		if (ofd >= 0)
			close(ofd);
		close(rfd);
		ref_free(&ref);
		return EXIT_SUCCESS;
	}

	e = errno;
	range = range_str(ctl, off, off + size);
	switch (e) {
	case EEXIST:
		fail(EXIT_FAILURE, e, "%s: %s overlaps an existing mapping", ref.path, range);
	case ENODEV:
		if (ctl->kind == MAP_KIND_FILE)
			fail(EXIT_FAILURE, e, "%s: a region maps only tmpfs, memfd, hugetlbfs and disk file system files",
			     ctl->file);
		break;
	case EINVAL:
		range_einval(ctl, rfd, ref.path, off, size, range);
		if (ctl->kind == MAP_KIND_HUGETLB && hps == 1ULL << 30)
			fail(EXIT_FAILURE, e, "%s: 1G huge pages cannot be mapped in a region",
			     ref.path);
		if (ctl->kind == MAP_KIND_HUGETLB)
			fail(EXIT_FAILURE, e, "%s: cannot map %s with %s huge pages (%s)",
			     ref.path, range, hps ? ctl->hugetlb_arg : "the default",
			     "not 1G; offset and size multiples of the huge page size?");
		if (ctl->kind == MAP_KIND_FILE && objoff % ctl->pagesize) {
			s = fmt_value(ctl, K_EXACT, ctl->pagesize);
			fail(EXIT_FAILURE, e, "%s: the object offset must be a multiple of the page size (%s)",
			     ref.path, s);
		}
		break;
	case ENOMEM:
		if (ctl->kind == MAP_KIND_HUGETLB)
			fail(EXIT_FAILURE, e, "%s: cannot map %s (are enough huge pages reserved? see /proc/sys/vm/nr_hugepages)",
			     ref.path, range);
		break;
	}
	fail(EXIT_FAILURE, e, "%s: cannot map %s", ref.path, range);
}

static int cmd_unmap(struct ctl *ctl, int argc, char **argv)
{
	struct mshare_unmap mu = { 0 };
	struct region_ref ref;
	uint64_t off, size, end;
	struct rstats rs;
	char *range;
	size_t i;
	int fd, rc, e;

	if (argc != 3)
		usage_error("'unmap' takes a region name, an offset and a size");
	check_name(argv[0]);
	off = parse_size_or_die(argv[1], "offset");
	size = parse_size_or_die(argv[2], "size");
	end = off + size;
	if (!size)
		fail(EXIT_FAILURE, 0, "%s: the size must not be 0", argv[2]);
	if (end < off)
		fail(EXIT_FAILURE, 0, "%s+%s: the range does not fit in 64 bits", argv[1],
		     argv[2]);

	resolve(ctl, argv[0], &ref);
	fd = open(ref.path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		fail(EXIT_FAILURE, errno, "%s", ref.path);
	range = range_str(ctl, off, end);

	/* the kernel takes a hole as munmap() does; a user means a mapping */
	rc = read_fdinfo(fd, &rs);
	if (rc) {
		warn_errno(-rc, "cannot read /proc/self/fdinfo");
	} else if (have(&rs, ST_MAPPINGS)) {
		bool hit = false;

		for (i = 0; i < rs.nmaps && !hit; i++)
			hit = rs.maps[i].offset < end && off < rs.maps[i].offset + rs.maps[i].size;
		if (!hit)
			fail(EXIT_FAILURE, 0, "%s: nothing is mapped in %s", ref.path, range);
	}
	rstats_free(&rs);

	mu.region_offset = off;
	mu.size = size;
	if (ioctl(fd, MSHAREFS_UNMAP, &mu)) {
		e = errno;
		if (e == EINVAL)
			range_einval(ctl, fd, ref.path, off, size, range);
		fail(EXIT_FAILURE, e, "%s: cannot unmap %s", ref.path, range);
	}
	close(fd);
	free(range);
	ref_free(&ref);
	return EXIT_SUCCESS;
}

/* ------------------------------------------------------------ reclaim */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void json_u64_field(int level, const char *key, bool known, uint64_t v, bool last)
{
	json_key(level, key);
	if (known)
		printf("%" PRIu64, v);
	else
		fputs("null", stdout);
	fputs(last ? "\n" : ",\n", stdout);
}

static int cmd_reclaim(struct ctl *ctl, int argc, char **argv)
{
	struct rstats before, after;
	struct region_ref ref;
	bool known, tables_known;
	uint64_t freed = 0, tables = 0, t0;
	struct stat st;
	void *p;
	int fd, rc, e;

	if (argc != 1)
		usage_error("'reclaim' takes one region name");
	check_name(argv[0]);

	resolve(ctl, argv[0], &ref);
	fd = open(ref.path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		fail(EXIT_FAILURE, errno, "%s", ref.path);
	if (fstat(fd, &st))
		fail(EXIT_FAILURE, errno, "%s", ref.path);
	if (!st.st_size)
		fail(EXIT_FAILURE, 0, "%s: the region is not sized", ref.path);
	rc = read_fdinfo(fd, &before);
	if (rc)
		warn_errno(-rc, "cannot read /proc/self/fdinfo");

	p = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		fail(EXIT_FAILURE, errno, "%s: cannot map the region", ref.path);
	rc = madvise(p, st.st_size, MADV_PT_RECLAIM);
	e = errno;
	if (munmap(p, st.st_size))
		fail(EXIT_FAILURE, errno, "%s: munmap", ref.path);
	if (rc && e == EINVAL)
		fail(EXIT_NOTAVAIL, 0, "page-table reclaim is not available in this kernel");
	if (rc)
		fail(EXIT_FAILURE, e, "%s: page-table reclaim failed", ref.path);

	/*
	 * Freed tables leave PageTables after an RCU grace period: wait (2 s
	 * at most) until the drop shows the tables reclaim counted, or until
	 * the figure has not moved for 100 ms if the kernel counts none.
	 */
	memset(&after, 0, sizeof(after));
	known = have(&before, ST_PAGETABLES);
	t0 = now_ms();
	if (known) {
		uint64_t last = before.v[ST_PAGETABLES], stable_since = t0;
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		for (;;) {
			rstats_free(&after);
			if (read_fdinfo(fd, &after) || !have(&after, ST_PAGETABLES)) {
				known = false;
				break;
			}
			if (have(&before, ST_PT_FREED) && have(&after, ST_PT_FREED)) {
				tables = after.v[ST_PT_FREED] - before.v[ST_PT_FREED];
				if (before.v[ST_PAGETABLES] >=
				    after.v[ST_PAGETABLES] + tables * ctl->pagesize)
					break;
			} else if (after.v[ST_PAGETABLES] != last) {
				last = after.v[ST_PAGETABLES];
				stable_since = now_ms();
			} else if (now_ms() - stable_since >= 100) {
				break;
			}
			if (now_ms() - t0 >= 2000)
				break;
			nanosleep(&ts, NULL);
		}
	}
	close(fd);

	tables_known = known && have(&before, ST_PT_FREED) && have(&after, ST_PT_FREED);
	if (known) {
		if (before.v[ST_PAGETABLES] > after.v[ST_PAGETABLES])
			freed = before.v[ST_PAGETABLES] - after.v[ST_PAGETABLES];
		if (!tables_known) {
			tables = freed / ctl->pagesize;
			tables_known = true;
		}
	}

	if (ctl->json) {
		puts("{");
		json_key(1, "reclaim");
		puts("{");
		json_key(2, "name");
		json_string(ref.name);
		puts(",");
		json_key(2, "path");
		json_string(ref.path);
		puts(",");
		json_u64_field(2, "pagetables_before", known, before.v[ST_PAGETABLES], false);
		json_u64_field(2, "pagetables_after", known, after.v[ST_PAGETABLES], false);
		json_u64_field(2, "freed", known, freed, false);
		json_u64_field(2, "tables", tables_known, tables, true);
		json_indent(1);
		puts("}\n}");
	} else if (known) {
		char *s = ctl->bytes ? xasprintf("%" PRIu64 " bytes", freed) : size_human(freed);

		printf("%s: freed %s of page tables (%" PRIu64 " table%s)\n", ref.name, s,
		       tables, tables == 1 ? "" : "s");
		free(s);
	} else {
		printf("%s: page-table reclaim done (this kernel does not report the region's page tables)\n",
		       ref.name);
	}
	rstats_free(&before);
	rstats_free(&after);
	ref_free(&ref);
	return EXIT_SUCCESS;
}

/* ------------------------------------------------------------ rm */

static int cmd_rm(struct ctl *ctl, int argc, char **argv)
{
	int i, rc = EXIT_SUCCESS;

	if (!argc)
		usage_error("'rm' takes one or more region names");
	for (i = 0; i < argc; i++)
		check_name(argv[i]);
	for (i = 0; i < argc; i++) {
		struct region_ref ref;

		resolve(ctl, argv[i], &ref);
		if (unlink(ref.path)) {
			warn_errno(errno, "%s", ref.path);
			rc = EXIT_FAILURE;
		}
		ref_free(&ref);
	}
	return rc;
}

/* ------------------------------------------------------------ main */

static void print_columns(const char *title, const struct colinfo *cols, size_t n)
{
	size_t i;

	printf("\nAvailable output columns for %s:\n", title);
	for (i = 0; i < n; i++)
		printf(" %11s  %s\n", cols[i].name, cols[i].help);
}

static void __noreturn usage(void)
{
	printf("\nUsage:\n"
	       " %1$s [options] [list]\n"
	       " %1$s [options] create <name> <size> [--mode <mode>]\n"
	       " %1$s [options] map <name> <offset> <size> --anon|--hugetlb[=<pagesize>]|\n"
	       "            --file <path> [--object-offset <offset>] [--read-only]\n"
	       " %1$s [options] unmap <name> <offset> <size>\n"
	       " %1$s [options] info <name> [--processes]\n"
	       " %1$s [options] reclaim <name>\n"
	       " %1$s [options] rm <name>...\n"
	       " %1$s help\n", prog);
	fputs("\nList and manage msharefs regions: shared memory whose page tables are\n"
	      "shared by the processes that map it.\n", stdout);
	fputs("\nCommands:\n"
	      " list                    list the regions of the mount (the default)\n"
	      " create <name> <size>    create a region and set its size\n"
	      " map <name> <offset> <size>\n"
	      "                         create a mapping in the region's host address space\n"
	      " unmap <name> <offset> <size>\n"
	      "                         remove the mappings in a range of the region\n"
	      " info <name>             show a region, its mappings (and processes)\n"
	      " reclaim <name>          free the region's empty host page tables\n"
	      " rm <name>...            remove regions\n"
	      " help                    display this help\n", stdout);
	fputs("\nOptions:\n"
	      " -m, --mount <dir>       msharefs mount to use (default: " DEFAULT_MOUNT ",\n"
	      "                           or else the first msharefs mount found)\n"
	      " -J, --json              use JSON output format\n"
	      " -r, --raw               use raw output format\n"
	      " -n, --noheadings        don't print headings\n"
	      " -b, --bytes             print sizes in bytes rather than in human units\n"
	      " -o, --output <list>     columns to print (list; info: the mappings table);\n"
	      "                           '+<list>' adds to the default columns\n"
	      " -O, --output-all        print all columns\n"
	      "\nOptions of create:\n"
	      "     --mode <mode>       permissions of the region, octal (default 0600)\n"
	      "\nOptions of map (exactly one of --anon, --hugetlb and --file):\n"
	      "     --anon              shared anonymous memory\n"
	      "     --hugetlb[=<size>]  anonymous hugetlb memory, of the default huge page\n"
	      "                           size or of <size> (e.g. --hugetlb=2M)\n"
	      "     --file <path>       a tmpfs, memfd, hugetlbfs or disk file system file\n"
	      "     --object-offset <offset>\n"
	      "                         offset in the file (default 0)\n"
	      "     --read-only         map without PROT_WRITE (opens the file read-only)\n"
	      "\nOptions of info:\n"
	      " -p, --processes         list the processes that map the region (all of them\n"
	      "                           for root; one's own processes otherwise)\n"
	      "\n -h, --help              display this help\n"
	      " -V, --version           display version\n", stdout);
	fputs("\n<name> is a region in the mount, or the absolute path of one.\n"
	      "<size> and <offset> are bytes, or take a suffix K, M, G, T, P, E (KiB, MiB,\n"
	      "...: powers of 1024; KB, MB, ...: powers of 1000); 0x<hex> is bytes too.\n",
	      stdout);
	print_columns("list", region_cols, ARRAY_SIZE(region_cols));
	print_columns("info (mappings)", map_cols, ARRAY_SIZE(map_cols));
	print_columns("info --processes", proc_cols, ARRAY_SIZE(proc_cols));
	printf("\nFor more details see %s(8).\n", prog);
	exit(EXIT_SUCCESS);
}

/* options that only some commands take */
enum {
	OB_MODE = 1 << 0,
	OB_KIND = 1 << 1,
	OB_OBJOFF = 1 << 2,
	OB_RO = 1 << 3,
	OB_PROC = 1 << 4,
	OB_OUTPUT = 1 << 5,
};

struct command {
	const char *name;
	int (*fn)(struct ctl *ctl, int argc, char **argv);
	int opts;
};

static int cmd_help(struct ctl *ctl, int argc, char **argv)
{
	(void)ctl;
	(void)argc;
	(void)argv;
	usage();
}

static const struct command commands[] = {
	{ "list",	cmd_list,	OB_OUTPUT },
	{ "create",	cmd_create,	OB_MODE },
	{ "map",	cmd_map,	OB_KIND | OB_OBJOFF | OB_RO },
	{ "unmap",	cmd_unmap,	0 },
	{ "info",	cmd_info,	OB_OUTPUT | OB_PROC },
	{ "reclaim",	cmd_reclaim,	0 },
	{ "rm",		cmd_rm,		0 },
	{ "help",	cmd_help,	0 },
};

enum {
	OPT_MODE = CHAR_MAX + 1,
	OPT_ANON,
	OPT_HUGETLB,
	OPT_FILE,
	OPT_OBJOFF,
	OPT_RO,
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mount",	   required_argument, NULL, 'm' },
		{ "json",	   no_argument,	      NULL, 'J' },
		{ "raw",	   no_argument,	      NULL, 'r' },
		{ "noheadings",	   no_argument,	      NULL, 'n' },
		{ "bytes",	   no_argument,	      NULL, 'b' },
		{ "output",	   required_argument, NULL, 'o' },
		{ "output-all",	   no_argument,	      NULL, 'O' },
		{ "processes",	   no_argument,	      NULL, 'p' },
		{ "help",	   no_argument,	      NULL, 'h' },
		{ "version",	   no_argument,	      NULL, 'V' },
		{ "mode",	   required_argument, NULL, OPT_MODE },
		{ "anon",	   no_argument,	      NULL, OPT_ANON },
		{ "hugetlb",	   optional_argument, NULL, OPT_HUGETLB },
		{ "file",	   required_argument, NULL, OPT_FILE },
		{ "object-offset", required_argument, NULL, OPT_OBJOFF },
		{ "read-only",	   no_argument,	      NULL, OPT_RO },
		{ NULL, 0, NULL, 0 },
	};
	static const struct {
		int bit;
		const char *name;
	} optnames[] = {
		{ OB_MODE, "--mode" }, { OB_KIND, "--anon, --hugetlb or --file" },
		{ OB_OBJOFF, "--object-offset" }, { OB_RO, "--read-only" },
		{ OB_PROC, "--processes" }, { OB_OUTPUT, "--output" },
	};
	struct ctl ctl = { .kind = MAP_KIND_NONE };
	const struct command *cmd = NULL;
	const char *cmdname;
	char **pos;
	int npos = 0, given = 0, c, rc;
	size_t i;

	prog = program_invocation_short_name;
	setlocale(LC_ALL, "");
	atexit(close_stdout);
	ctl.pagesize = sysconf(_SC_PAGESIZE);
	if (ctl.pagesize <= 0)
		ctl.pagesize = 4096;

	pos = xmalloc((argc + 1) * sizeof(*pos));
	/* '-': operands come back in order, so options may follow the command */
	while ((c = getopt_long(argc, argv, "-m:Jrnbo:OphV", longopts, NULL)) != -1) {
		switch (c) {
		case 1:
			pos[npos++] = optarg;
			break;
		case 'm':
			ctl.mount = optarg;
			/* "dir/" names the same mount: keep the paths tidy */
			for (i = strlen(optarg); i > 1 && optarg[i - 1] == '/'; i--)
				optarg[i - 1] = '\0';
			break;
		case 'J':
			ctl.json = true;
			break;
		case 'r':
			ctl.raw = true;
			break;
		case 'n':
			ctl.noheadings = true;
			break;
		case 'b':
			ctl.bytes = true;
			break;
		case 'o':
			ctl.outarg = optarg;
			given |= OB_OUTPUT;
			break;
		case 'O':
			ctl.output_all = true;
			given |= OB_OUTPUT;
			break;
		case 'p':
			ctl.processes = true;
			given |= OB_PROC;
			break;
		case OPT_MODE:
			ctl.mode_arg = optarg;
			given |= OB_MODE;
			break;
		case OPT_ANON:
		case OPT_HUGETLB:
		case OPT_FILE:
			ctl.kind = c == OPT_ANON ? MAP_KIND_ANON :
				   c == OPT_HUGETLB ? MAP_KIND_HUGETLB : MAP_KIND_FILE;
			if (c == OPT_HUGETLB)
				ctl.hugetlb_arg = optarg;
			if (c == OPT_FILE)
				ctl.file = optarg;
			ctl.nkinds++;
			given |= OB_KIND;
			break;
		case OPT_OBJOFF:
			ctl.objoff_arg = optarg;
			given |= OB_OBJOFF;
			break;
		case OPT_RO:
			ctl.read_only = true;
			given |= OB_RO;
			break;
		case 'h':
			usage();
		case 'V':
			printf("%s from msharefs %s\n", prog, CTL_VERSION);
			return EXIT_SUCCESS;
		default:
			try_help();
		}
	}
	while (optind < argc)
		pos[npos++] = argv[optind++];
	pos[npos] = NULL;

	if (ctl.json && ctl.raw)
		usage_error("--json and --raw are mutually exclusive");
	if (ctl.outarg && ctl.output_all)
		usage_error("--output and --output-all are mutually exclusive");

	cmdname = npos ? pos[0] : "list";
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		if (!strcmp(cmdname, commands[i].name))
			cmd = &commands[i];
	}
	if (!cmd)
		usage_error("unknown command '%s'", cmdname);
	for (i = 0; i < ARRAY_SIZE(optnames); i++) {
		if (given & optnames[i].bit & ~cmd->opts)
			usage_error("%s: not an option of '%s'", optnames[i].name, cmd->name);
	}

	rc = cmd->fn(&ctl, npos ? npos - 1 : 0, pos + (npos ? 1 : 0));
	free(pos);
	free(ctl.mount_alloc);
	return rc;
}
