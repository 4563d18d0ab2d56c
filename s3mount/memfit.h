/*
 * memfit.h: a memory budget that fits the box the daemon runs in.
 *
 * The limit is found the way the kernel exposes it: /proc/self/cgroup names
 * this process's cgroup per hierarchy ("N:memory:/path" on cgroup v1, "0::/path"
 * on v2); /proc/self/mountinfo says where each hierarchy is mounted (fstype
 * "cgroup" with "memory" among its super options, or "cgroup2") and which of
 * its directories the mount shows (its root field: a container's cgroup
 * namespace or a bind mount shows a subtree). On v2 the limit is the smallest
 * memory.max from the process's cgroup up to the mount's top ("max" is none);
 * on v1 the smaller of memory.limit_in_bytes and memory.stat's
 * hierarchical_memory_limit, a value of 2^62 or more meaning none. Hybrid
 * hosts mount both (the memory controller on v1, a v2 tree without it): a v2
 * tree whose cgroup has no memory.max says nothing, and the v1 one is used.
 * The machine's RAM (MemTotal) bounds every limit.
 *
 * The rule (memfit_budget): the budget is a quarter of the limit, at most
 * MEMFIT_DEFAULT (256 MiB, the old fixed default, reached from 1 GiB up) and
 * at least MEMFIT_FLOOR (32 MiB: three 8 MiB parts and prefetch). The other
 * three quarters are for the daemon's fixed overhead (MEMFIT_OVERHEAD: code,
 * libraries, thread stacks, the inode table), the kernel's page cache for
 * FUSE reads and the rest of the job (the filter) in the same cgroup. A limit
 * below MEMFIT_FLOOR + MEMFIT_OVERHEAD cannot hold the daemon: refused. An
 * explicit budget is refused when it plus MEMFIT_OVERHEAD exceeds the limit.
 *
 * Parsers and the rule are pure (fuzzed, unit-tested on fake trees);
 * memfit_find reads files below a root directory ("" for the real system).
 * Errors: negative errno; -ENOENT from memfit_find only for an unreadable
 * /proc (no limit is then known: the caller uses the default).
 */
#ifndef MEMFIT_H
#define MEMFIT_H
#include <stddef.h>
#include <stdint.h>

#define MEMFIT_DEFAULT (256ull << 20)
#define MEMFIT_FLOOR (32ull << 20)
#define MEMFIT_OVERHEAD (32ull << 20)
#define MEMFIT_UNLIMITED_V1 (1ull << 62) /* v1 "no limit" is about 2^63 - page */
#define MEMFIT_PATH_MAX 1024

struct memfit {
	uint64_t limit;			   /* the cgroup's, bytes; 0 = none found */
	uint64_t ram;			   /* MemTotal, bytes; 0 = unknown */
	char source[MEMFIT_PATH_MAX + 64]; /* the file the limit came from, or "" */
};

/* "N:controllers:/path" lines of /proc/self/cgroup: the v1 memory
 * controller's path and the v2 path ("" when absent; each out holds
 * MEMFIT_PATH_MAX). 0, or -EINVAL for a malformed line. */
int memfit_parse_cgroup(const char *text, size_t len, char *v1_mem, char *v2);

/* One /proc/self/mountinfo line: its root and mount point (unescaped \040
 * etc.), and its kind: 1 a v1 hierarchy with the memory controller, 2 a
 * cgroup2 hierarchy, 0 anything else. 0 or -EINVAL. */
int memfit_parse_mount(const char *line, size_t len, int *kind, char *root, char *mnt);

/* A memory.max / memory.limit_in_bytes value: bytes, UINT64_MAX for "max"
 * or a v1 value >= MEMFIT_UNLIMITED_V1. 0 or -EINVAL. */
int memfit_parse_value(const char *text, size_t len, uint64_t *out);

/* "hierarchical_memory_limit N" out of memory.stat; -ENOENT when absent. */
int memfit_parse_stat_limit(const char *text, size_t len, uint64_t *out);

/* "MemTotal: N kB" out of /proc/meminfo, in bytes; -ENOENT when absent. */
int memfit_parse_meminfo(const char *text, size_t len, uint64_t *out);

/* The limit and RAM of this process, reading root + "/proc/self/cgroup",
 * root + "/proc/self/mountinfo", the cgroup files, root + "/proc/meminfo". */
int memfit_find(const char *root, struct memfit *out);

/* The rule above. 0 and *budget (why: a sentence for the mount log), or
 * -ENOMEM when the limit cannot hold the daemon (why says so). */
int memfit_budget(const struct memfit *m, uint64_t *budget, char *why, size_t cap);

/* An explicit budget: 0 when budget + MEMFIT_OVERHEAD fits the limit (or
 * there is none), else -E2BIG with why naming both numbers. */
int memfit_check(const struct memfit *m, uint64_t budget, char *why, size_t cap);

#endif
