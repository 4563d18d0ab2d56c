/*
 * rcache.h: the read path's block cache, shared by all open files, inside
 * the one memory budget; reader.h builds the per-handle read and prefetch
 * on it.
 *
 * The cache holds fixed-size blocks (size chosen and documented in
 * rcache.c) of objects identified by key and ETag, LRU-evicted; every
 * block is charged to the budget, and the cache registers a reclaim
 * callback so writers and prefetch can take memory back from clean,
 * unreferenced blocks. Fetch threads run the GETs: demand jobs before
 * prefetch jobs. Two readers needing the same block wait for one GET; a
 * failed GET fails its waiters with its errno and the next read tries
 * again. Counters: rcache_stats().
 *
 * Defaults (reasons in rcache.c): 1 MiB blocks, GETs of up to 8 MiB, a
 * prefetch window from 2 MiB up to 64 MiB (and at most a quarter of the
 * budget), 8 fetch threads.
 *
 * Ownership: an object version is opened by each reader (rcache_obj_open)
 * and closed once (rcache_obj_close); a pinned block stays valid (its data
 * readable once rcache_wait returned 0) until it is released or unpinned.
 * Thread-safety: everything here is thread-safe; the cache lock is taken
 * inside and never held on return. Errors: negative errno (from s3.h for a
 * GET; an object replaced under an open handle fails with -ESTALE, because
 * every GET carries If-Match: etag).
 */
#ifndef RCACHE_H
#define RCACHE_H
#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "s3.h"

struct rcache;

/* Fetches [off, off+len) of key into buf (*got = bytes stored), failing with
 * -ESTALE when the object's ETag is no longer if_match, and describes the
 * answer in *info: s3_get_range's contract (info is never NULL here). Only
 * tests substitute another (an in-memory object store). */
typedef int (*rcache_fetch_fn)(void *arg, const char *key, uint64_t off, size_t len, void *buf,
			       size_t *got, const char *if_match, struct s3_object_info *info);

struct rcache_opts {
	size_t block_size;     /* bytes, a multiple of the page size; 0 = 1 MiB */
	size_t max_window;     /* prefetch window cap per handle in bytes; 0 = 64 MiB
				* (also capped at a quarter of the budget) */
	int fetch_threads;     /* parallel GETs for all handles; 0 = 8 */
	size_t part_size;      /* bytes per ranged GET, a multiple of block_size;
				* 0 = 8 MiB */
	rcache_fetch_fn fetch; /* NULL = s3_get_range on the client */
	void *fetch_arg;
};

/* rcache_new: c may be NULL only when o->fetch is set; o may be NULL (all
 * defaults). Starts the fetch threads and registers the budget's reclaim
 * callback. -EINVAL for a block size that is not a page multiple or a budget
 * below two blocks (a GET is also cut to at most a quarter of the budget).
 * rcache_free: every reader must have been freed first. */
int rcache_new(struct s3_client *c, struct budget *b, const struct rcache_opts *o,
	       struct rcache **out);
void rcache_free(struct rcache *rc);
/* Drops every cached block of key (after it was replaced or deleted here). */
void rcache_invalidate(struct rcache *rc, const char *key);

struct rcache_stats {
	uint64_t hits, misses;	   /* blocks a read found cached/pending, or had to fetch */
	uint64_t prefetched_bytes; /* bytes fetched ahead by the prefetcher */
	uint64_t evicted_bytes;	   /* bytes dropped by LRU eviction or reclaim */
	uint64_t fetched_bytes;	   /* every byte fetched (demand and prefetch) */
	uint64_t gets, get_errors; /* ranged GETs issued, and failed */
	uint64_t cached_bytes;	   /* bytes held now (charged to the budget) */
};
void rcache_stats(struct rcache *rc, struct rcache_stats *out);

/* ---- for reader.c: object versions, block pins, prefetch ---- */

struct rcache_obj;   /* one object version (key + ETag + size) */
struct rcache_block; /* one block of an object version */

/* Bytes per block, and the prefetch window bounds every handle uses. */
size_t rcache_block_size(const struct rcache *rc);
void rcache_window(const struct rcache *rc, size_t *min_window, size_t *max_window);

/* Opens the object version (key, size, etag; etag NULL = none), shared with
 * other readers of the same version; -ENAMETOOLONG, -EINVAL (ETag too long)
 * or -ENOMEM. rcache_obj_close: the last reader's close lets what was
 * prefetched for it and never read be evicted first. */
int rcache_obj_open(struct rcache *rc, const char *key, uint64_t size, const char *etag,
		    struct rcache_obj **out);
void rcache_obj_close(struct rcache *rc, struct rcache_obj *o);
uint64_t rcache_obj_size(const struct rcache_obj *o);
/* 1 once a GET of the version answered with SSE-KMS, DSSE-KMS or SSE-C
 * headers; set before that GET's blocks can be read. */
int rcache_obj_etag_not_md5(struct rcache_obj *o);

/* Pins blocks [idx, idx+n) without blocking: found ones get a ref; runs of
 * missing ones are fetched, one GET per run of up to a part, when memory is
 * at hand now. held[i] stays NULL for a block that had none. */
void rcache_pin_nowait(struct rcache *rc, struct rcache_obj *o, uint64_t idx, unsigned n,
		       struct rcache_block **held);
/* Pins block idx, waiting for memory if it must (evicting, then blocking in
 * budget_acquire): demand reads always make progress. Hold no other pin
 * while calling it (two readers could deadlock). 0 or a negative errno. */
int rcache_pin(struct rcache *rc, struct rcache_obj *o, uint64_t idx, struct rcache_block **out);
/* Drops the pins held[0..n) (NULL entries skipped) and sets them NULL. */
void rcache_unpin(struct rcache *rc, struct rcache_block **held, unsigned n);
/* Waits until a pinned block is filled (0) or failed (its GET's errno). */
int rcache_wait(struct rcache *rc, struct rcache_block *b);
/* A pinned block's bytes of object data (bytes from rcache_block_len;
 * readable once rcache_wait returned 0). */
char *rcache_block_data(const struct rcache_block *b);
size_t rcache_block_len(const struct rcache_block *b);
/* Done with a pinned block: marks it read and places it in the LRU, at the
 * cold end when drop_behind (a sequential reader has read it to its end),
 * then drops the pin. */
void rcache_release(struct rcache *rc, struct rcache_block *b, int drop_behind);

/* One prefetch GET for o, never waiting for memory: skips from block *next
 * past the blocks cached or pending up to block last (*next = the first
 * missing one), then queues one GET for the run of missing blocks there (up
 * to a part; *next moves past it) and returns its block count. Returns 0
 * when nothing is missing, or when the run is cut only by last (not by a
 * cached block or the object's end) and is shorter than both a part and
 * min_run blocks: a steady window is topped up in large GETs. -EAGAIN: a
 * pooled chunk was given back, try again. -ENOMEM: no memory; with
 * may_evict, blocks already read were evicted first, *evicted bytes (0:
 * nothing to evict). */
int rcache_prefetch(struct rcache *rc, struct rcache_obj *o, uint64_t *next, uint64_t last,
		    uint64_t min_run, int may_evict, size_t *evicted);

#endif
