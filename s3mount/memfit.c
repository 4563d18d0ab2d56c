/*
 * memfit.c: the memory limit of the box and the budget that fits it
 * (memfit.h says how and why).
 */
#include "memfit.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"

#define CGROUP_FILE_MAX (64u << 10)
#define MOUNTINFO_MAX (1u << 20)
#define SMALL_FILE_MAX (16u << 10)

/* The next line of text[*pos..len) into [*s, *e); 0 at the end. */
static int next_line(const char *text, size_t len, size_t *pos, const char **s, const char **e)
{
	if (*pos >= len)
		return 0;
	*s = text + *pos;
	const char *nl = memchr(*s, '\n', len - *pos);
	*e = nl ? nl : text + len;
	*pos = (size_t)(*e - text) + (nl ? 1 : 0);
	return 1;
}

static int copy_span(char *out, const char *s, const char *e)
{
	size_t n = (size_t)(e - s);
	if (n >= MEMFIT_PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/* 1 when the comma-separated list [s, e) holds item. */
static int list_has(const char *s, const char *e, const char *item)
{
	size_t n = strlen(item);
	while (s < e) {
		const char *c = memchr(s, ',', (size_t)(e - s));
		const char *end = c ? c : e;
		if ((size_t)(end - s) == n && memcmp(s, item, n) == 0)
			return 1;
		s = end + 1;
	}
	return 0;
}

int memfit_parse_cgroup(const char *text, size_t len, char *v1_mem, char *v2)
{
	size_t pos = 0;
	const char *s, *e;
	v1_mem[0] = v2[0] = '\0';
	while (next_line(text, len, &pos, &s, &e)) {
		if (s == e)
			continue;
		const char *c1 = memchr(s, ':', (size_t)(e - s));
		const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(e - c1 - 1)) : NULL;
		if (!c2 || c1 == s || c2 + 1 >= e || c2[1] != '/')
			return -EINVAL;
		for (const char *p = s; p < c1; p++)
			if (*p < '0' || *p > '9')
				return -EINVAL;
		int rc = 0;
		if (c1 - s == 1 && s[0] == '0' && c2 == c1 + 1)
			rc = copy_span(v2, c2 + 1, e);
		else if (list_has(c1 + 1, c2, "memory"))
			rc = copy_span(v1_mem, c2 + 1, e);
		if (rc)
			return rc;
	}
	return 0;
}

/* Copies mountinfo field [s, e) into out, undoing its octal escapes (\040
 * for a space, \011, \012, \134). */
static int unescape_field(char *out, const char *s, const char *e)
{
	size_t n = 0;
	while (s < e) {
		if (n + 1 >= MEMFIT_PATH_MAX)
			return -ENAMETOOLONG;
		if (*s == '\\' && e - s >= 4 && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			out[n++] = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			out[n++] = *s++;
		}
	}
	out[n] = '\0';
	return 0;
}

int memfit_parse_mount(const char *line, size_t len, int *kind, char *root, char *mnt)
{
	const char *f[6], *fe[6], *p = line, *end = line + len;
	*kind = 0;
	for (int i = 0; i < 6; i++) {
		while (p < end && *p == ' ')
			p++;
		f[i] = p;
		while (p < end && *p != ' ')
			p++;
		fe[i] = p;
		if (f[i] == fe[i])
			return -EINVAL;
	}
	/* optional fields up to the lone "-" */
	const char *dash = NULL;
	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		const char *w = p;
		while (p < end && *p != ' ')
			p++;
		if (p - w == 1 && *w == '-') {
			dash = p;
			break;
		}
	}
	if (!dash)
		return -EINVAL;
	const char *g[3], *ge[3];
	p = dash;
	for (int i = 0; i < 3; i++) {
		while (p < end && *p == ' ')
			p++;
		g[i] = p;
		while (p < end && *p != ' ')
			p++;
		ge[i] = p;
		if (g[i] == ge[i])
			return -EINVAL;
	}
	int rc = unescape_field(root, f[3], fe[3]);
	if (!rc)
		rc = unescape_field(mnt, f[4], fe[4]);
	if (rc)
		return rc;
	size_t tl = (size_t)(ge[0] - g[0]);
	if (tl == 7 && memcmp(g[0], "cgroup2", 7) == 0)
		*kind = 2;
	else if (tl == 6 && memcmp(g[0], "cgroup", 6) == 0 && list_has(g[2], ge[2], "memory"))
		*kind = 1;
	return 0;
}

int memfit_parse_value(const char *text, size_t len, uint64_t *out)
{
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	if (len == 3 && memcmp(text, "max", 3) == 0) {
		*out = UINT64_MAX;
		return 0;
	}
	if (len == 0 || len > 20)
		return -EINVAL;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -EINVAL;
		unsigned d = (unsigned)(text[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v >= MEMFIT_UNLIMITED_V1 ? UINT64_MAX : v;
	return 0;
}

/* The value after "name" + separator on one of text's lines. */
static int keyed_value(const char *text, size_t len, const char *name, const char *sep,
		       const char *suffix, uint64_t *out)
{
	size_t pos = 0, nl = strlen(name), sl = strlen(sep);
	const char *s, *e;
	while (next_line(text, len, &pos, &s, &e)) {
		if ((size_t)(e - s) <= nl + sl || memcmp(s, name, nl) != 0 ||
		    memcmp(s + nl, sep, sl) != 0)
			continue;
		const char *v = s + nl + sl;
		while (v < e && *v == ' ')
			v++;
		const char *ve = e;
		size_t xl = strlen(suffix);
		if (xl && (size_t)(ve - v) > xl && memcmp(ve - xl, suffix, xl) == 0)
			ve -= xl;
		while (ve > v && ve[-1] == ' ')
			ve--;
		return memfit_parse_value(v, (size_t)(ve - v), out);
	}
	return -ENOENT;
}

int memfit_parse_stat_limit(const char *text, size_t len, uint64_t *out)
{
	return keyed_value(text, len, "hierarchical_memory_limit", " ", "", out);
}

int memfit_parse_meminfo(const char *text, size_t len, uint64_t *out)
{
	uint64_t kb;
	int rc = keyed_value(text, len, "MemTotal", ":", "kB", &kb);
	if (rc)
		return rc;
	if (kb == UINT64_MAX || kb > UINT64_MAX / 1024)
		return -EINVAL;
	*out = kb * 1024;
	return 0;
}

/* ---- reading the files ---- */

/* Reads a whole (small) file into b (capped): 0 or -errno. */
static int slurp(const char *path, struct buf *b, size_t cap)
{
	buf_init(b, cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char tmp[4096];
	int rc = 0;
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof(tmp));
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		rc = buf_add(b, tmp, (size_t)n);
		if (rc)
			break;
	}
	close(fd);
	if (rc)
		buf_release(b);
	return rc;
}

static int read_value(const char *path, uint64_t *out)
{
	struct buf b;
	int rc = slurp(path, &b, SMALL_FILE_MAX);
	if (rc)
		return rc;
	rc = memfit_parse_value(b.ptr ? b.ptr : "", b.len, out);
	buf_release(&b);
	return rc;
}

/* dir = mnt + the part of path below the mount's root. */
static int cgroup_dir(const char *mnt, const char *mroot, const char *path, char *dir)
{
	size_t rl = strlen(mroot);
	const char *rel = path;
	if (strcmp(mroot, "/") != 0 && strncmp(path, mroot, rl) == 0 &&
	    (path[rl] == '/' || path[rl] == '\0'))
		rel = path + rl;
	int n = snprintf(dir, MEMFIT_PATH_MAX, "%s%s", mnt, strcmp(rel, "/") == 0 ? "" : rel);
	return n > 0 && n < MEMFIT_PATH_MAX ? 0 : -ENAMETOOLONG;
}

/* Takes v (from file) when it is a limit smaller than the one in m. */
static void consider(struct memfit *m, uint64_t v, const char *file)
{
	if (v == UINT64_MAX || v == 0 || (m->limit && m->limit <= v))
		return;
	m->limit = v;
	snprintf(m->source, sizeof(m->source), "%s", file);
}

static void v2_limit(struct memfit *m, const char *mnt, const char *dir)
{
	char d[MEMFIT_PATH_MAX], f[MEMFIT_PATH_MAX + 16];
	snprintf(d, sizeof(d), "%s", dir);
	size_t ml = strlen(mnt);
	for (;;) {
		uint64_t v;
		snprintf(f, sizeof(f), "%s/memory.max", d);
		if (read_value(f, &v) == 0)
			consider(m, v, f);
		if (strlen(d) <= ml)
			break;
		char *slash = strrchr(d, '/');
		if (!slash || (size_t)(slash - d) < ml)
			break;
		*slash = '\0';
	}
}

static void v1_limit(struct memfit *m, const char *dir)
{
	char f[MEMFIT_PATH_MAX + 32];
	uint64_t v;
	snprintf(f, sizeof(f), "%s/memory.limit_in_bytes", dir);
	if (read_value(f, &v) == 0)
		consider(m, v, f);
	snprintf(f, sizeof(f), "%s/memory.stat", dir);
	struct buf b;
	if (slurp(f, &b, CGROUP_FILE_MAX) == 0) {
		if (memfit_parse_stat_limit(b.ptr ? b.ptr : "", b.len, &v) == 0)
			consider(m, v, f);
		buf_release(&b);
	}
}

int memfit_find(const char *root, struct memfit *out)
{
	char path[MEMFIT_PATH_MAX + 32], v1[MEMFIT_PATH_MAX], v2[MEMFIT_PATH_MAX];
	struct buf b;
	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "%s/proc/meminfo", root);
	if (slurp(path, &b, CGROUP_FILE_MAX) == 0) {
		(void)memfit_parse_meminfo(b.ptr ? b.ptr : "", b.len, &out->ram);
		buf_release(&b);
	}
	snprintf(path, sizeof(path), "%s/proc/self/cgroup", root);
	int rc = slurp(path, &b, CGROUP_FILE_MAX);
	if (rc)
		return -ENOENT;
	rc = memfit_parse_cgroup(b.ptr ? b.ptr : "", b.len, v1, v2);
	buf_release(&b);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/proc/self/mountinfo", root);
	if (slurp(path, &b, MOUNTINFO_MAX) != 0)
		return -ENOENT;
	size_t pos = 0;
	const char *s, *e;
	while (next_line(b.ptr ? b.ptr : "", b.len, &pos, &s, &e)) {
		int kind;
		char mroot[MEMFIT_PATH_MAX], mnt[MEMFIT_PATH_MAX], dir[MEMFIT_PATH_MAX];
		char full[MEMFIT_PATH_MAX];
		if (memfit_parse_mount(s, (size_t)(e - s), &kind, mroot, mnt) != 0 || !kind)
			continue;
		const char *cg = kind == 1 ? v1 : v2;
		if (!cg[0])
			continue;
		int n = snprintf(full, sizeof(full), "%s%s", root, mnt);
		if (n < 0 || n >= (int)sizeof(full) || cgroup_dir(full, mroot, cg, dir) != 0)
			continue;
		if (kind == 1)
			v1_limit(out, dir);
		else
			v2_limit(out, full, dir);
	}
	buf_release(&b);
	return 0;
}

/* "123 MiB" (or GiB with one decimal past 1 GiB) into out. */
static const char *mib(uint64_t v, char out[32])
{
	if (v >= (1ull << 30))
		snprintf(out, 32, "%.1f GiB", (double)v / (double)(1ull << 30));
	else
		snprintf(out, 32, "%" PRIu64 " MiB", v >> 20);
	return out;
}

int memfit_budget(const struct memfit *m, uint64_t *budget, char *why, size_t cap)
{
	char a[32], l[32];
	uint64_t eff = m->limit;
	const char *what = "the memory limit of cgroup file";
	const char *src = m->source;
	if (m->ram && (!eff || m->ram < eff)) {
		eff = m->ram;
		what = "the machine's RAM";
		src = "(/proc/meminfo)";
	}
	if (!eff) {
		*budget = MEMFIT_DEFAULT;
		snprintf(why, cap, "memory budget %s: no memory limit or RAM size found",
			 mib(*budget, a));
		return 0;
	}
	if (eff < MEMFIT_FLOOR + MEMFIT_OVERHEAD) {
		snprintf(why, cap,
			 "%s %s is %s: the daemon needs at least %s (a %s budget and %s of "
			 "fixed overhead)",
			 what, src, mib(eff, l), mib(MEMFIT_FLOOR + MEMFIT_OVERHEAD, a),
			 mib(MEMFIT_FLOOR, (char[32]){0}), mib(MEMFIT_OVERHEAD, (char[32]){0}));
		return -ENOMEM;
	}
	uint64_t b = eff / 4;
	if (b > MEMFIT_DEFAULT)
		b = MEMFIT_DEFAULT;
	if (b < MEMFIT_FLOOR)
		b = MEMFIT_FLOOR;
	b &= ~((1ull << 20) - 1);
	*budget = b;
	snprintf(why, cap,
		 "memory budget %s: a quarter of %s %s (%s), at most %s; the rest is for the "
		 "daemon's overhead, the page cache and the other processes of the job "
		 "(memory_budget= sets it)",
		 mib(b, a), what, src, mib(eff, l), mib(MEMFIT_DEFAULT, (char[32]){0}));
	return 0;
}

int memfit_check(const struct memfit *m, uint64_t budget, char *why, size_t cap)
{
	char a[32], l[32], o[32];
	uint64_t eff = m->limit;
	const char *src = m->source;
	if (m->ram && (!eff || m->ram < eff)) {
		eff = m->ram;
		src = "/proc/meminfo (RAM)";
	}
	if (!eff || budget + MEMFIT_OVERHEAD <= eff)
		return 0;
	snprintf(
	    why, cap,
	    "memory_budget=%s does not fit the memory limit %s (%s) with the daemon's %s of "
	    "fixed overhead: the daemon would be OOM-killed; use at most memory_budget=%" PRIu64
	    "M",
	    mib(budget, a), mib(eff, l), src, mib(MEMFIT_OVERHEAD, o),
	    (uint64_t)(eff > MEMFIT_OVERHEAD ? (eff - MEMFIT_OVERHEAD) >> 20 : 0));
	return -E2BIG;
}
