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
 * Defaults (reasons in reader.c): 1 MiB blocks, GETs of up to 8 MiB, a
 * window from 2 MiB doubling per block read up to 64 MiB (and at most a
 * quarter of the budget), 8 fetch threads. Two readers needing the same
 * block wait for one GET; a failed GET fails its waiters with its errno and
 * the next read tries again. Counters: rcache_stats().
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
#include <sys/uio.h>

#include "budget.h"
#include "s3.h"

struct rcache;
struct reader;

/* Fetches [off, off+len) of key into buf (*got = bytes stored), failing with
 * -ESTALE when the object's ETag is no longer if_match, and describes the
 * answer in *info: s3_get_range's contract (info is never NULL here). Only
 * tests substitute another (an in-memory object store). */
typedef int (*rcache_fetch_fn)(void *arg, const char *key, uint64_t off, size_t len,
			       void *buf, size_t *got, const char *if_match, struct s3_object_info *info);

struct rcache_opts {
	size_t block_size;        /* bytes, a multiple of the page size; 0 = 1 MiB */
	size_t max_window;        /* prefetch window cap per handle in bytes; 0 = 64 MiB
				   * (also capped at a quarter of the budget) */
	int fetch_threads;        /* parallel GETs for all handles; 0 = 8 */
	size_t part_size;         /* bytes per ranged GET, a multiple of block_size;
				   * 0 = 8 MiB */
	rcache_fetch_fn fetch;    /* NULL = s3_get_range on the client */
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
	uint64_t hits, misses;            /* blocks a read found cached/pending, or had to fetch */
	uint64_t prefetched_bytes;        /* bytes fetched ahead by the prefetcher */
	uint64_t evicted_bytes;           /* bytes dropped by LRU eviction or reclaim */
	uint64_t fetched_bytes;           /* every byte fetched (demand and prefetch) */
	uint64_t gets, get_errors;        /* ranged GETs issued, and failed */
	uint64_t cached_bytes;            /* bytes held now (charged to the budget) */
};
void rcache_stats(struct rcache *rc, struct rcache_stats *out);

/* Opens a reader over a known object version (size and ETag from the lookup). */
int reader_new(struct rcache *rc, const char *key, uint64_t size, const char *etag,
	       struct reader **out);
/* 1 once a GET of the reader's object version answered with SSE-KMS,
 * DSSE-KMS or SSE-C headers (s3_object_info.etag_not_md5): its ETag is then
 * no MD5, and an ETag check must stop. Set before the GET's blocks become
 * readable, so it is set by the time a read has returned any fetched byte. */
int reader_etag_not_md5(struct reader *r);
/* Reads up to len bytes at off into buf; returns the count (0 at EOF) or a
 * negative errno. */
ssize_t reader_read(struct reader *r, void *buf, size_t len, uint64_t off);
void reader_free(struct reader *r);

/* Zero-copy read for the FUSE layer: pins the cached blocks covering
 * [off, off+len) (clipped at EOF) and describes the bytes in iov[0..*niov),
 * so fuse_reply_iov()/fuse_reply_data() copies them to the kernel straight
 * from the cache; the caller then calls reader_unpin(), which must follow
 * every call that returned > 0. Returns the byte count (0 at EOF, *pin set
 * to NULL), a negative errno, or -EAGAIN when the read would need to wait
 * for memory (the pins would then risk a deadlock at a tiny budget) or
 * spans more than READER_IOV_MAX blocks: use reader_read() for that one. */
#define READER_IOV_MAX 16
struct reader_pin;
ssize_t reader_read_iov(struct reader *r, uint64_t off, size_t len, struct iovec *iov,
			int *niov, struct reader_pin **pin);
void reader_unpin(struct reader_pin *pin);

#endif
