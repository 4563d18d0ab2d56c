/*
 * rchunk.h: the read cache's memory. A GET's blocks live in one anonymous
 * mapping, a "chunk", so s3_get_range writes straight into them (the only
 * other copy is from the block into the caller's buffer). The budget is
 * charged per chunk before the GET and credited after the chunk is
 * unmapped, so the cache's memory never passes the budget; a chunk dies
 * when its last block does. Fresh anonymous memory costs a page fault and a
 * zeroed page per 4 KiB (in a profile, a third of the CPU of a sequential
 * read), so dead full-size chunks go to a small pool, still charged, and
 * the next GET reuses one as is. The pool is the first thing the budget's
 * reclaim callback gives back. Chunks are mmapped rather than malloced so
 * that freed memory goes back to the kernel at once and RSS follows the
 * budget.
 *
 * Ownership: what dies goes to a struct rchunk_grave, to be unmapped and
 * credited by rchunk_grave_free once the caller has dropped its lock.
 * Thread-safety: none; rcache.c calls everything but rchunk_map and
 * rchunk_grave_free (which touch no pool) under its lock.
 * Errors: negative errno.
 */
#ifndef RCHUNK_H
#define RCHUNK_H
#include <stddef.h>
#include <stdint.h>

#include "budget.h"

/* One GET's memory: blocks are page-aligned slices of it. */
struct rchunk {
	struct rchunk *next; /* in the pool or a grave */
	char *base;
	size_t size;   /* bytes mapped and charged to the budget */
	unsigned live; /* blocks using it */
};

/* Chunks that died, and the bytes to credit to the budget for them. */
struct rchunk_grave {
	struct rchunk *chunks;
	size_t bytes; /* chunk bytes (and bytes charged, never mapped) to credit */
};

struct rchunk_pool {
	struct budget *budget;
	size_t part_bytes;   /* bytes of a full-size chunk (one whole GET) */
	size_t max;	     /* bytes the pool may hold */
	struct rchunk *head; /* dead full-size chunks, still charged */
	size_t bytes;	     /* bytes in head */
	int pooling;	     /* 0: dead chunks go to the grave (reclaim, shutdown) */
	uint64_t charged;    /* bytes charged now: chunks live, pooled or to map */
};

void rchunk_pool_init(struct rchunk_pool *p, struct budget *b, size_t part_bytes, size_t max);
/* Memory for a GET needing maplen bytes, without waiting: a pooled chunk
 * (*chunk set; only for GETs of more than half a part, so a small random
 * read does not pin a whole part), else maplen charged to the budget
 * (*chunk NULL: the fetch thread maps it with rchunk_map). When neither
 * works but the pool holds chunks, one goes to the grave and -EAGAIN asks
 * the caller to free the grave and try again; -ENOMEM otherwise. */
int rchunk_take(struct rchunk_pool *p, size_t maplen, struct rchunk **chunk,
		struct rchunk_grave *g);
/* Gives back what rchunk_take gave (or rchunk_map made of it) when it
 * will hold no block: the chunk as if its last block died, else maplen to
 * the grave to be credited. */
void rchunk_untake(struct rchunk_pool *p, size_t maplen, struct rchunk *chunk,
		   struct rchunk_grave *g);
/* A chunk lost a block: the last one sends it to the pool, or to the grave
 * to be unmapped and credited. */
void rchunk_put(struct rchunk_pool *p, struct rchunk *ch, struct rchunk_grave *g);
/* Moves every pooled chunk to the grave. */
void rchunk_pool_drain(struct rchunk_pool *p, struct rchunk_grave *g);
/* Maps len bytes (already charged) as a new chunk; -ENOMEM. */
int rchunk_map(size_t len, struct rchunk **out);
/* Frees what died: unmaps first and credits b after, so the memory is gone
 * before anyone may allocate it again. Returns the bytes credited. */
size_t rchunk_grave_free(struct budget *b, struct rchunk_grave *g);

#endif
