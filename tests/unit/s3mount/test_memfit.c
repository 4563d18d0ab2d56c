/*
 * test_memfit.c: the memory limit found on fake /proc and /sys trees (cgroup
 * v1, v2, a hybrid host like the CI machines, nested v2 limits, a bind-mounted
 * subtree, unlimited values) and the budget rule: a 512 MiB limit gives more
 * than 128 MiB, no limit gives the old default, too small a box is refused,
 * an explicit budget that cannot fit is refused naming both numbers.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "memfit.h"
#include "t.h"

static char tmpl[] = "/tmp/test_memfit.XXXXXX";
static const char *top;

static void put(const char *rel, const char *text)
{
	char p[1024], cmd[1200 + 1024];
	snprintf(p, sizeof(p), "%s/%s", top, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", p);
	CHECK_INT(system(cmd), 0);
	FILE *f = fopen(p, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void fresh(const char *name)
{
	char cmd[2400];
	static char dir[1024];
	snprintf(dir, sizeof(dir), "%s/%s", tmpl, name);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", dir, dir);
	CHECK_INT(system(cmd), 0);
	top = dir;
	put("proc/meminfo", "MemTotal:       2048000 kB\nMemFree: 1 kB\n");
}

static const char *HYBRID_MI =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

static void test_v1_hybrid(void)
{
	fresh("hybrid");
	put("proc/self/cgroup", "4:memory:/job/a\n1:cpu:/\n0::/job/a\n");
	put("proc/self/mountinfo", HYBRID_MI);
	put("sys/fs/cgroup/memory/job/a/memory.limit_in_bytes", "268435456\n");
	put("sys/fs/cgroup/memory/job/a/memory.stat",
	    "cache 0\nhierarchical_memory_limit 536870912\nrss 1\n");
	/* the v2 tree has the cgroup but no memory controller: no memory.max */
	put("sys/fs/cgroup/unified/job/a/cgroup.procs", "1\n");
	struct memfit m;
	CHECK_INT(memfit_find(top, &m), 0);
	CHECK_INT(m.limit, 256ull << 20);
	CHECK(strstr(m.source, "memory.limit_in_bytes") != NULL);
	CHECK_INT(m.ram, 2048000ull * 1024);
	uint64_t b;
	char why[2048];
	CHECK_INT(memfit_budget(&m, &b, why, sizeof(why)), 0);
	CHECK_INT(b, 64ull << 20);
	CHECK(strstr(why, "64 MiB") && strstr(why, "256 MiB"));
	/* hierarchical limit below the group's own: the parent's wins */
	put("sys/fs/cgroup/memory/job/a/memory.stat", "hierarchical_memory_limit 134217728\n");
	CHECK_INT(memfit_find(top, &m), 0);
	CHECK_INT(m.limit, 128ull << 20);
	CHECK(strstr(m.source, "memory.stat") != NULL);
	/* unlimited (v1's huge value) everywhere: RAM decides */
	put("sys/fs/cgroup/memory/job/a/memory.limit_in_bytes", "9223372036854771712\n");
	put("sys/fs/cgroup/memory/job/a/memory.stat",
	    "hierarchical_memory_limit 9223372036854771712\n");
	CHECK_INT(memfit_find(top, &m), 0);
	CHECK_INT(m.limit, 0);
	CHECK_INT(memfit_budget(&m, &b, why, sizeof(why)), 0);
	CHECK_INT(b, 256ull << 20); /* 2 GB RAM / 4 = 500 MiB, capped */
	CHECK(strstr(why, "RAM") != NULL);
}

static void test_v2_nested(void)
{
	fresh("v2");
	put("proc/self/cgroup", "0::/pod/ctr\n");
	put("proc/self/mountinfo",
	    "25 1 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
	put("sys/fs/cgroup/memory.max", "max\n"); /* the root has none */
	put("sys/fs/cgroup/pod/memory.max", "536870912\n");
	put("sys/fs/cgroup/pod/ctr/memory.max", "max\n");
	struct memfit m;
	CHECK_INT(memfit_find(top, &m), 0);
	CHECK_INT(m.limit, 512ull << 20);
	CHECK(strstr(m.source, "pod/memory.max") != NULL);
	uint64_t b512, b128;
	char why[2048];
	CHECK_INT(memfit_budget(&m, &b512, why, sizeof(why)), 0);
	CHECK_INT(b512, 128ull << 20);
	put("sys/fs/cgroup/pod/ctr/memory.max", "134217728\n");
	CHECK_INT(memfit_find(top, &m), 0);
	CHECK_INT(m.limit, 128ull << 20);
	CHECK_INT(memfit_budget(&m, &b128, why, sizeof(why)), 0);
	CHECK_INT(b128, 32ull << 20);
	CHECK(b512 > b128);
	/* an explicit budget: 96M + 32M fits 128M, 100M does not */
	CHECK_INT(memfit_check(&m, 96ull << 20, why, sizeof(why)), 0);
	CHECK_INT(memfit_check(&m, 100ull << 20, why, sizeof(why)), -E2BIG);
	CHECK(strstr(why, "100 MiB") && strstr(why, "128 MiB") && strstr(why, "96M"));
	/* too small a box for the daemon */
	put("sys/fs/cgroup/pod/ctr/memory.max", "50331648\n");
	CHECK_INT(memfit_find(top, &m), 0);
	uint64_t b;
	CHECK_INT(memfit_budget(&m, &b, why, sizeof(why)), -ENOMEM);
	CHECK(strstr(why, "48 MiB") && strstr(why, "64 MiB"));
}

/* A container's view: the mount shows a subtree (its root field), and the
 * process's path is below it; a mount point with a space (\040). */
static void test_bind_root(void)
{
	fresh("bind");
	put("proc/self/cgroup", "0::/kubepods/pod1/c\n");
	put("proc/self/mountinfo",
	    "30 20 0:26 /kubepods/pod1 /sys/fs/my\\040cg rw - cgroup2 cgroup2 rw\n");
	put("sys/fs/my cg/c/memory.max", "268435456\n");
	struct memfit m;
	CHECK_INT(memfit_find(top, &m), 0);
	CHECK_INT(m.limit, 256ull << 20);
	/* no /proc at all: nothing known */
	fresh("empty");
	CHECK_INT(memfit_find(top, &m), -ENOENT);
	memset(&m, 0, sizeof(m));
	uint64_t b;
	char why[512];
	CHECK_INT(memfit_budget(&m, &b, why, sizeof(why)), 0);
	CHECK_INT(b, MEMFIT_DEFAULT);
}

static void test_parsers(void)
{
	uint64_t v;
	CHECK_INT(memfit_parse_value("max\n", 4, &v), 0);
	CHECK(v == UINT64_MAX);
	CHECK_INT(memfit_parse_value("123\n", 4, &v), 0);
	CHECK_INT(v, 123);
	CHECK_INT(memfit_parse_value("9223372036854771712", 19, &v), 0);
	CHECK(v == UINT64_MAX);
	CHECK_INT(memfit_parse_value("99999999999999999999", 20, &v), -EINVAL);
	CHECK_INT(memfit_parse_value("", 0, &v), -EINVAL);
	CHECK_INT(memfit_parse_value("-1", 2, &v), -EINVAL);
	char a[MEMFIT_PATH_MAX], b[MEMFIT_PATH_MAX];
	CHECK_INT(memfit_parse_cgroup("4:cpu,memory:/x\n0::/y\n", 22, a, b), 0);
	CHECK_STR(a, "/x");
	CHECK_STR(b, "/y");
	CHECK_INT(memfit_parse_cgroup("garbage\n", 8, a, b), -EINVAL);
	CHECK_INT(memfit_parse_cgroup("x:memory:/a\n", 12, a, b), -EINVAL);
	int kind;
	const char *l = "1 2 0:3 / /m rw shared:5 master:1 - cgroup cgroup rw,memory,cpu";
	CHECK_INT(memfit_parse_mount(l, strlen(l), &kind, a, b), 0);
	CHECK_INT(kind, 1);
	CHECK_STR(b, "/m");
	l = "1 2 0:3 / /m rw - cgroup cgroup rw,memoryx";
	CHECK_INT(memfit_parse_mount(l, strlen(l), &kind, a, b), 0);
	CHECK_INT(kind, 0);
	l = "1 2 0:3 / /m rw cgroup cgroup rw,memory";
	CHECK_INT(memfit_parse_mount(l, strlen(l), &kind, a, b), -EINVAL);
	CHECK_INT(memfit_parse_meminfo("MemTotal:  1000 kB\n", 19, &v), 0);
	CHECK_INT(v, 1024000);
	CHECK_INT(memfit_parse_meminfo("MemFree: 1 kB\n", 14, &v), -ENOENT);
}

int main(void)
{
	CHECK(mkdtemp(tmpl) != NULL);
	T_RUN(test_parsers);
	T_RUN(test_v1_hybrid);
	T_RUN(test_v2_nested);
	T_RUN(test_bind_root);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpl);
	return T_DONE();
}
