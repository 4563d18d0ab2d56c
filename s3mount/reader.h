/*
 * reader.h: the read path's data plane: a block cache shared by all open
 * files and a per-handle sequential prefetcher, inside the one memory budget.
 *
 * The cache holds fixed-size blocks (size chosen and documented in reader.c)
 * of objects identified by key and ETag, LRU-evicted; every block is charged to the budget, and the cache
 * registers a reclaim callback so writers and prefetch can take memory back
 * from clean, unreferenced blocks.
 *
 * A struct reader is one open file handle. reader_read() detects sequential
 * access (the next offset equals the end of the previous read, as sshfs's
 * cache.c does): on sequential hits it keeps a window of parallel ranged GETs
 * ahead of the reader, starting small so the first byte comes fast and
 * doubling on each sequential hit up to a cap; random reads fetch only the
 * blocks they need. At the budget, prefetch shrinks or waits; it never
 * allocates past it.
 *
 * Thread-safety: the cache is shared and thread-safe; one reader may be used
 * by several FUSE threads at once (reads on one handle may overlap).
 * Errors: negative errno from s3.h (an object replaced under an open handle
 * fails with -ESTALE, because every GET carries If-Match: etag).
 */
#ifndef READER_H
#define READER_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "budget.h"
#include "s3.h"

struct rcache;
struct reader;

struct rcache_opts {
	size_t block_size;        /* bytes; 0 = implementation default */
	size_t max_window;        /* prefetch window cap per handle in bytes; 0 = default */
	int fetch_threads;        /* parallel GETs for all handles; 0 = 8 */
};

int rcache_new(struct s3_client *c, struct budget *b, const struct rcache_opts *o,
	       struct rcache **out);
void rcache_free(struct rcache *rc);
/* Drops every cached block of key (after it was replaced or deleted here). */
void rcache_invalidate(struct rcache *rc, const char *key);

struct rcache_stats {
	uint64_t hits, misses, prefetched_bytes, evicted_bytes;
};
void rcache_stats(struct rcache *rc, struct rcache_stats *out);

/* Opens a reader over a known object version (size and ETag from the lookup). */
int reader_new(struct rcache *rc, const char *key, uint64_t size, const char *etag,
	       struct reader **out);
/* Reads up to len bytes at off into buf; returns the count (0 at EOF) or a
 * negative errno. */
ssize_t reader_read(struct reader *r, void *buf, size_t len, uint64_t off);
void reader_free(struct reader *r);

#endif
