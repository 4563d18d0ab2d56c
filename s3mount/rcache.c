/* rcache.c stays whole: one lock guards its table, LRU, job queues and pins; no private header. */
/*
 * rcache.c: see rcache.h. The block cache shared by all open files: the
 * block table and LRU, the chunks of memory charged to the budget, eviction
 * and reclaim, and the fetch threads with their two job queues. The
 * per-handle read path and prefetch window are in reader.c.
 *
 * Sizes, and why:
 * - Blocks of 1 MiB are the unit of lookup, eviction and budget accounting.
 *   A random read wastes at most a block; a FUSE read (max 1 MiB) spans at
 *   most two; a 256 MiB budget is 256 blocks, so the table and LRU stay tiny.
 * - A GET fetches up to 8 MiB (8 blocks): per-request cost (signing, the
 *   server's per-op overhead) is amortised, and 8 MiB is where S3 throughput
 *   per request stops climbing (Mountpoint's measured part size). Several
 *   GETs run in parallel on the fetch threads to fill the pipe.
 * - The window bounds (2 blocks up to 64 MiB or a quarter of the budget) are
 *   fixed here from the budget, so several handles can stream at once and
 *   demand reads always find memory to reclaim; reader.c moves within them.
 *
 * Memory: chunks charged to the budget, pooled for reuse (rchunk.h).
 *
 * Block life: PENDING (queued or being fetched) -> FILLED, or -> ERROR (its
 * waiters get the errno; it leaves the table at once, so the next read
 * retries). refs counts the table, the job filling it and every reader
 * waiting on or copying from it; the last put frees it, outside the lock.
 * Only FILLED blocks held by the table alone can be evicted.
 *
 * LRU order: fresh blocks go to the warm end; a block a sequential reader
 * has read to its end goes to the cold end (drop-behind: streamed data is
 * the first to go), and a block a prefetcher fetched that no one has read
 * yet is never evicted to make room for more prefetch (only demand reads and
 * the budget's reclaim may take it).
 *
 * Locking: one mutex per cache, held only for table/LRU/queue updates, never
 * across a GET, a copy, munmap or a blocking budget_acquire (whose reclaim
 * callback takes the cache lock). Lock order: a reader's lock (reader.c),
 * then the cache lock, then the budget lock; the cache never calls a reader.
 */
#include "rcache.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blockmap.h"
#include "log.h"
#include "rchunk.h"

#define RC_DEF_BLOCK ((size_t)1 << 20)
#define RC_DEF_PART ((size_t)8 << 20)
#define RC_DEF_WINDOW ((size_t)64 << 20)
#define RC_DEF_THREADS 8
#define RC_MAX_THREADS 64
#define RC_MAX_PART_BLOCKS 64

enum blk_state { BLK_PENDING, BLK_FILLED, BLK_ERROR };
enum evict_mode { EVICT_ANY, EVICT_FOR_PREFETCH };

/* One object version (key + ETag); shared by its readers and blocks. */
struct rcache_obj {
	struct rcache_obj *next; /* rc->objs; protected by rc->lock */
	char *key;
	char etag[S3_ETAG_MAX];
	uint64_t size;	  /* bytes */
	unsigned refs;	  /* readers + blocks; protected by rc->lock */
	unsigned readers; /* open readers; protected by rc->lock */
	int dead;	  /* invalidated or replaced: rcache_obj_open makes a new one */
	/* a GET said SSE-KMS/SSE-C: set under rc->lock, read without it */
	_Atomic int etag_not_md5;
};

/* What dies under the lock and is freed after it (free, munmap, credit). */
struct grave {
	struct rcache_block *blocks;
	struct rchunk_grave mem;
};

struct rjob;

struct rcache_block {
	struct rcache_block *hnext;	    /* hash chain, or a grave's list once dead */
	struct rcache_block *lprev, *lnext; /* LRU, while FILLED and hashed */
	struct rcache_obj *obj;		    /* holds a ref */
	struct rjob *job;		    /* queued job that fills it; NULL once taken */
	struct rchunk *chunk;		    /* its memory, once FILLED */
	uint64_t idx;
	char *data; /* slice of chunk; NULL until FILLED */
	size_t len; /* bytes of object data */
	int state;
	int err;       /* negative errno when ERROR */
	unsigned refs; /* all fields below and above: protected by rc->lock */
	unsigned char hashed, in_lru, prefetched, used;
};

struct rjob {
	struct rjob *next;
	int prefetch; /* 1: in the prefetch queue (lower priority) */
	unsigned n;
	size_t maplen;	      /* bytes the blocks need (lens rounded to pages) */
	struct rchunk *chunk; /* from the pool, or NULL: maplen charged, to map */
	struct rcache_block *blk[RC_MAX_PART_BLOCKS]; /* consecutive; each holds a ref */
};

struct rjob_queue {
	struct rjob *head, *tail;
};

struct rcache {
	struct s3_client *s3;
	struct budget *budget;
	rcache_fetch_fn fetch;
	void *fetch_arg;
	size_t bs;   /* block size, bytes */
	size_t page; /* page size, bytes */
	unsigned part_blocks;
	size_t part_bytes;	       /* part_blocks * bs: the size of pooled chunks */
	size_t min_window, max_window; /* bytes */

	pthread_mutex_t lock;
	pthread_cond_t filled;	     /* a block left PENDING */
	pthread_cond_t work;	     /* a job was queued, or stopping */
	struct rcache_block **table; /* hash of (obj, idx) */
	size_t mask;
	struct rcache_block lru; /* sentinel: lru.lnext is the coldest */
	struct rcache_obj *objs;
	struct rjob_queue demand, ahead;
	struct rchunk_pool mem; /* pooling 0 while the reclaim callback runs */
	int stopping;
	struct rcache_stats st;

	pthread_t threads[RC_MAX_THREADS];
	int nthreads;
};

/* ---- table, LRU, refs (all *_locked: rc->lock held) ---- */

static size_t slot(const struct rcache *rc, const struct rcache_obj *o, uint64_t idx)
{
	uint64_t h = (uint64_t)(uintptr_t)o * 0x9e3779b97f4a7c15ull;
	h ^= (idx + 1) * 0xc2b2ae3d27d4eb4full;
	h ^= h >> 29;
	return (size_t)h & rc->mask;
}

static struct rcache_block *lookup_locked(struct rcache *rc, const struct rcache_obj *o,
					  uint64_t idx)
{
	for (struct rcache_block *b = rc->table[slot(rc, o, idx)]; b; b = b->hnext)
		if (b->obj == o && b->idx == idx)
			return b;
	return NULL;
}

static void lru_unlink(struct rcache_block *b)
{
	if (!b->in_lru)
		return;
	b->lprev->lnext = b->lnext;
	b->lnext->lprev = b->lprev;
	b->in_lru = 0;
}

/* Links b, out of the LRU, between prev and next. */
static void lru_insert(struct rcache_block *b, struct rcache_block *prev, struct rcache_block *next)
{
	b->lprev = prev;
	b->lnext = next;
	prev->lnext = b;
	next->lprev = b;
	b->in_lru = 1;
}

static void lru_push_warm(struct rcache *rc, struct rcache_block *b)
{
	lru_unlink(b); /* first: b may be a neighbour of the sentinel */
	lru_insert(b, rc->lru.lprev, &rc->lru);
}

static void lru_push_cold(struct rcache *rc, struct rcache_block *b)
{
	lru_unlink(b); /* first: b may be a neighbour of the sentinel */
	lru_insert(b, &rc->lru, rc->lru.lnext);
}

static void obj_put_locked(struct rcache *rc, struct rcache_obj *o)
{
	if (--o->refs > 0)
		return;
	for (struct rcache_obj **pp = &rc->objs; *pp; pp = &(*pp)->next) {
		if (*pp == o) {
			*pp = o->next;
			break;
		}
	}
	free(o->key);
	free(o);
}

/* Drops one ref; the last one moves b to the grave. */
static void block_put_locked(struct rcache *rc, struct rcache_block *b, struct grave *g)
{
	if (--b->refs > 0)
		return;
	if (b->chunk)
		rchunk_put(&rc->mem, b->chunk, &g->mem);
	obj_put_locked(rc, b->obj);
	b->obj = NULL;
	b->hnext = g->blocks;
	g->blocks = b;
}

/* Takes b out of the table (and the LRU) and drops the table's ref. */
static void unhash_locked(struct rcache *rc, struct rcache_block *b, struct grave *g)
{
	if (!b->hashed)
		return;
	struct rcache_block **pp = &rc->table[slot(rc, b->obj, b->idx)];
	while (*pp != b)
		pp = &(*pp)->hnext;
	*pp = b->hnext;
	b->hnext = NULL;
	b->hashed = 0;
	lru_unlink(b);
	block_put_locked(rc, b, g);
}

/* Frees what died: chunks first (rchunk_grave_free), then blocks.
 * Returns the bytes credited. */
static size_t grave_free(struct rcache *rc, struct grave *g)
{
	size_t bytes = rchunk_grave_free(rc->budget, &g->mem);
	while (g->blocks) {
		struct rcache_block *b = g->blocks;
		g->blocks = b->hnext;
		free(b);
	}
	return bytes;
}

/* Evicts unreferenced FILLED blocks from the cold end until want bytes of
 * chunks have died (to the pool or the grave); returns those bytes. Blocks
 * prefetched and not read yet go only in a second pass, and only for
 * EVICT_ANY: the kernel's parallel reads arrive out of order, so blocks
 * already read are often warmer than the window ahead of the reader, and a
 * chunk dies only with its last block, so one cold-to-warm pass would take
 * that window (and the reader would download it again) while read blocks
 * that free as much are still cached. */
static size_t evict_locked(struct rcache *rc, size_t want, enum evict_mode mode, struct grave *g)
{
	size_t g0 = g->mem.bytes, p0 = rc->mem.bytes, got = 0;
	for (int pass = 0; pass < (mode == EVICT_ANY ? 2 : 1) && got < want; pass++) {
		struct rcache_block *b = rc->lru.lnext;
		while (b != &rc->lru && got < want) {
			struct rcache_block *next = b->lnext;
			if (b->refs == 1 && (pass == 1 || !b->prefetched || b->used)) {
				rc->st.evicted_bytes += b->len;
				unhash_locked(rc, b, g);
				got = g->mem.bytes - g0 +
				      (rc->mem.bytes > p0 ? rc->mem.bytes - p0 : 0);
			}
			b = next;
		}
	}
	return got;
}

static size_t block_charge(const struct rcache *rc, const struct rcache_obj *o, uint64_t idx)
{
	return blockmap_round(blockmap_len(o->size, rc->bs, idx), rc->page);
}

/* A new PENDING block in the table; the caller gets one ref besides the
 * table's. NULL on allocation failure. */
static struct rcache_block *block_new_locked(struct rcache *rc, struct rcache_obj *o, uint64_t idx,
					     int prefetched)
{
	struct rcache_block *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->obj = o;
	o->refs++;
	b->idx = idx;
	b->len = blockmap_len(o->size, rc->bs, idx);
	b->state = BLK_PENDING;
	b->refs = 2;
	b->prefetched = (unsigned char)prefetched;
	size_t s = slot(rc, o, idx);
	b->hnext = rc->table[s];
	rc->table[s] = b;
	b->hashed = 1;
	return b;
}

static void queue_push(struct rjob_queue *q, struct rjob *j)
{
	j->next = NULL;
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
}

static struct rjob *queue_pop(struct rjob_queue *q)
{
	struct rjob *j = q->head;
	if (j) {
		q->head = j->next;
		if (!q->head)
			q->tail = NULL;
	}
	return j;
}

static void queue_remove(struct rjob_queue *q, struct rjob *j)
{
	struct rjob *prev = NULL;
	for (struct rjob *it = q->head; it; prev = it, it = it->next) {
		if (it != j)
			continue;
		if (prev)
			prev->next = it->next;
		else
			q->head = it->next;
		if (q->tail == it)
			q->tail = prev;
		return;
	}
}

/* A reader now waits for a block a queued prefetch job will fetch: move the
 * job ahead of the other prefetches. */
static void promote_locked(struct rcache *rc, struct rcache_block *b)
{
	struct rjob *j = b->job;
	if (!j || !j->prefetch)
		return;
	queue_remove(&rc->ahead, j);
	j->prefetch = 0;
	queue_push(&rc->demand, j);
}

/* Makes blocks [idx, idx+n) of o (all missing) and queues one GET for them,
 * with memory from rchunk_take. held (may be NULL) receives the blocks
 * with an extra ref for the caller. Returns how many blocks were made: 0
 * when there was no memory (*err = -ENOMEM or -EAGAIN) or allocation failed. */
static unsigned make_job_locked(struct rcache *rc, struct rcache_obj *o, uint64_t idx, unsigned n,
				int prefetch, struct rcache_block **held, int *err, struct grave *g)
{
	size_t maplen = 0;
	for (unsigned i = 0; i < n; i++)
		maplen += block_charge(rc, o, idx + i);
	struct rchunk *chunk;
	*err = rchunk_take(&rc->mem, maplen, &chunk, &g->mem);
	if (*err)
		return 0;
	struct rjob *j = malloc(sizeof(*j));
	unsigned made = 0;
	while (j && made < n) {
		struct rcache_block *b = block_new_locked(rc, o, idx + made, prefetch);
		if (!b)
			break;
		j->blk[made++] = b;
	}
	if (made < n) {
		/* Out of memory: undo the partial job entirely. */
		for (unsigned i = 0; i < made; i++) {
			j->blk[i]->state = BLK_ERROR;
			j->blk[i]->err = -ENOMEM;
			unhash_locked(rc, j->blk[i], g);
			block_put_locked(rc, j->blk[i], g);
		}
		free(j);
		rchunk_untake(&rc->mem, maplen, chunk, &g->mem);
		*err = -ENOMEM;
		return 0;
	}
	j->prefetch = prefetch;
	j->n = n;
	j->maplen = maplen;
	j->chunk = chunk;
	for (unsigned i = 0; i < n; i++) {
		j->blk[i]->job = j;
		if (held) {
			j->blk[i]->refs++;
			held[i] = j->blk[i];
		}
	}
	queue_push(prefetch ? &rc->ahead : &rc->demand, j);
	pthread_cond_signal(&rc->work);
	return n;
}

/* ---- fetch threads ---- */

static int fetch_s3(void *arg, const char *key, uint64_t off, size_t len, void *buf, size_t *got,
		    const char *if_match, struct s3_object_info *info)
{
	return s3_get_range(arg, key, off, len, buf, got, if_match, info);
}

static void run_job(struct rcache *rc, struct rjob *j)
{
	struct rcache_obj *o = j->blk[0]->obj; /* kept alive by the blocks' refs */
	uint64_t off = j->blk[0]->idx * rc->bs;
	size_t total = 0;
	for (unsigned i = 0; i < j->n; i++)
		total += j->blk[i]->len;
	struct rchunk *ch = j->chunk;
	int err = 0;
	if (!ch)
		err = rchunk_map(j->maplen, &ch); /* maplen is already charged */
	size_t got = 0;
	struct s3_object_info info;
	memset(&info, 0, sizeof(info));
	if (!err) {
		err = rc->fetch(rc->fetch_arg, o->key, off, total, ch->base, &got,
				o->etag[0] ? o->etag : NULL, &info);
		if (err == 0 && got != total) {
			log_warn("reader: short GET of %s at %llu: %zu of %zu bytes",
				 LOG_KEY(o->key), (unsigned long long)off, got, total);
			err = -EIO;
		}
	}
	if (err)
		log_warn("reader: GET %s [%llu, +%zu) failed: %s", LOG_KEY(o->key),
			 (unsigned long long)off, total, strerror(-err));

	struct grave g = {0};
	pthread_mutex_lock(&rc->lock);
	rc->st.gets++;
	if (err) {
		rc->st.get_errors++;
		if (err == -ESTALE)
			o->dead = 1;
		rchunk_untake(&rc->mem, j->maplen, ch, &g.mem);
	} else {
		rc->st.fetched_bytes += total;
		ch->live = j->n;
		/* before the blocks are FILLED: a reader that sees them sees this */
		if (info.etag_not_md5)
			atomic_store_explicit(&o->etag_not_md5, 1, memory_order_release);
	}
	for (unsigned i = 0; i < j->n; i++) {
		struct rcache_block *b = j->blk[i];
		if (err) {
			b->state = BLK_ERROR;
			b->err = err;
			unhash_locked(rc, b, &g);
		} else {
			b->chunk = ch;
			b->data = ch->base + i * rc->bs;
			b->state = BLK_FILLED;
			if (b->prefetched)
				rc->st.prefetched_bytes += b->len;
			if (b->hashed)
				lru_push_warm(rc, b);
		}
		block_put_locked(rc, b, &g);
	}
	pthread_cond_broadcast(&rc->filled);
	pthread_mutex_unlock(&rc->lock);
	grave_free(rc, &g);
	free(j);
}

static void *fetch_main(void *arg)
{
	struct rcache *rc = arg;
	pthread_mutex_lock(&rc->lock);
	for (;;) {
		while (!rc->stopping && !rc->demand.head && !rc->ahead.head)
			pthread_cond_wait(&rc->work, &rc->lock);
		if (rc->stopping)
			break;
		struct rjob *j = queue_pop(&rc->demand);
		if (!j)
			j = queue_pop(&rc->ahead);
		if (!j)
			continue;
		for (unsigned i = 0; i < j->n; i++)
			j->blk[i]->job = NULL;
		pthread_mutex_unlock(&rc->lock);
		run_job(rc, j);
		pthread_mutex_lock(&rc->lock);
	}
	pthread_mutex_unlock(&rc->lock);
	return NULL;
}

/* ---- reclaim (called by the budget, without its lock) ---- */

static size_t rcache_reclaim(void *arg, size_t want)
{
	struct rcache *rc = arg;
	struct grave g = {0};
	pthread_mutex_lock(&rc->lock);
	/* Someone else needs the memory: give back, do not pool. */
	rc->mem.pooling = 0;
	rchunk_pool_drain(&rc->mem, &g.mem);
	if (g.mem.bytes < want)
		evict_locked(rc, want - g.mem.bytes, EVICT_ANY, &g);
	rc->mem.pooling = 1;
	pthread_mutex_unlock(&rc->lock);
	return grave_free(rc, &g);
}

/* ---- cache lifecycle ---- */

static void drain_queue_locked(struct rcache *rc, struct rjob_queue *q, struct grave *g)
{
	struct rjob *j;
	while ((j = queue_pop(q))) {
		for (unsigned i = 0; i < j->n; i++) {
			struct rcache_block *b = j->blk[i];
			b->job = NULL;
			b->state = BLK_ERROR;
			b->err = -ECANCELED;
			unhash_locked(rc, b, g);
			block_put_locked(rc, b, g);
		}
		rchunk_untake(&rc->mem, j->maplen, j->chunk, &g->mem);
		free(j);
	}
}

void rcache_free(struct rcache *rc)
{
	if (!rc)
		return;
	budget_set_reclaim(rc->budget, NULL, NULL);
	pthread_mutex_lock(&rc->lock);
	rc->stopping = 1;
	pthread_cond_broadcast(&rc->work);
	pthread_mutex_unlock(&rc->lock);
	for (int i = 0; i < rc->nthreads; i++)
		pthread_join(rc->threads[i], NULL);

	struct grave g = {0};
	pthread_mutex_lock(&rc->lock);
	rc->mem.pooling = 0;
	drain_queue_locked(rc, &rc->demand, &g);
	drain_queue_locked(rc, &rc->ahead, &g);
	for (size_t s = 0; s <= rc->mask; s++)
		while (rc->table[s])
			unhash_locked(rc, rc->table[s], &g);
	rchunk_pool_drain(&rc->mem, &g.mem);
	if (rc->objs)
		log_error("reader: rcache_free with readers still open");
	pthread_mutex_unlock(&rc->lock);
	grave_free(rc, &g);
	free(rc->table);
	pthread_cond_destroy(&rc->work);
	pthread_cond_destroy(&rc->filled);
	pthread_mutex_destroy(&rc->lock);
	free(rc);
}

int rcache_new(struct s3_client *c, struct budget *b, const struct rcache_opts *o,
	       struct rcache **out)
{
	static const struct rcache_opts defaults;
	if (!o)
		o = &defaults;
	*out = NULL;
	if (!b || (!c && !o->fetch))
		return -EINVAL;
	long page = sysconf(_SC_PAGESIZE);
	if (page <= 0)
		page = 4096;
	size_t bs = o->block_size ? o->block_size : RC_DEF_BLOCK;
	size_t part = o->part_size ? o->part_size : RC_DEF_PART;
	size_t limit = budget_limit(b);
	if (bs % (size_t)page != 0 || part % bs != 0 || limit / 2 < bs)
		return -EINVAL;

	struct rcache *rc = calloc(1, sizeof(*rc));
	if (!rc)
		return -ENOMEM;
	rc->s3 = c;
	rc->budget = b;
	rc->fetch = o->fetch ? o->fetch : fetch_s3;
	rc->fetch_arg = o->fetch ? o->fetch_arg : c;
	rc->bs = bs;
	rc->page = (size_t)page;
	/* A GET is at most a quarter of the budget, so a small budget still
	 * holds the block being read plus some prefetch. */
	size_t pb = part / bs;
	if (pb > RC_MAX_PART_BLOCKS)
		pb = RC_MAX_PART_BLOCKS;
	if (pb > limit / 4 / bs)
		pb = limit / 4 / bs;
	rc->part_blocks = pb ? (unsigned)pb : 1;
	rc->part_bytes = rc->part_blocks * bs;
	/* A streaming reader frees about one chunk per GET it starts: a few
	 * pooled chunks are enough, and never more than 1/8 of the budget. */
	rchunk_pool_init(&rc->mem, b, rc->part_bytes,
			 4 * rc->part_bytes < limit / 8 ? 4 * rc->part_bytes : limit / 8);
	size_t win = o->max_window ? o->max_window : RC_DEF_WINDOW;
	if (win > limit / 4)
		win = limit / 4;
	if (win < bs)
		win = bs;
	rc->max_window = win;
	rc->min_window = 2 * bs < win ? 2 * bs : win;

	size_t want = 2 * (limit / bs), n = 256;
	while (n < want)
		n <<= 1;
	rc->table = calloc(n, sizeof(*rc->table));
	if (!rc->table) {
		free(rc);
		return -ENOMEM;
	}
	rc->mask = n - 1;
	rc->lru.lnext = rc->lru.lprev = &rc->lru;
	pthread_mutex_init(&rc->lock, NULL);
	pthread_cond_init(&rc->filled, NULL);
	pthread_cond_init(&rc->work, NULL);

	int nt = o->fetch_threads > 0 ? o->fetch_threads : RC_DEF_THREADS;
	if (nt > RC_MAX_THREADS)
		nt = RC_MAX_THREADS;
	for (int i = 0; i < nt; i++) {
		int err = pthread_create(&rc->threads[i], NULL, fetch_main, rc);
		if (err) {
			rcache_free(rc);
			return -err;
		}
		rc->nthreads++;
	}
	budget_set_reclaim(b, rcache_reclaim, rc);
	*out = rc;
	return 0;
}

void rcache_invalidate(struct rcache *rc, const char *key)
{
	struct grave g = {0};
	pthread_mutex_lock(&rc->lock);
	int any = 0;
	for (struct rcache_obj *o = rc->objs; o; o = o->next) {
		if (strcmp(o->key, key) == 0) {
			o->dead = 1;
			any = 1;
		}
	}
	/* Pending and in-use blocks leave the table too; their last user
	 * frees them. */
	for (size_t s = 0; any && s <= rc->mask; s++) {
		struct rcache_block *b = rc->table[s];
		while (b) {
			struct rcache_block *next = b->hnext;
			if (b->obj->dead && strcmp(b->obj->key, key) == 0)
				unhash_locked(rc, b, &g);
			b = next;
		}
	}
	pthread_mutex_unlock(&rc->lock);
	grave_free(rc, &g);
}

void rcache_stats(struct rcache *rc, struct rcache_stats *out)
{
	pthread_mutex_lock(&rc->lock);
	*out = rc->st;
	out->cached_bytes = rc->mem.charged;
	pthread_mutex_unlock(&rc->lock);
}
/* ---- object versions ---- */

int rcache_obj_open(struct rcache *rc, const char *key, uint64_t size, const char *etag,
		    struct rcache_obj **out)
{
	*out = NULL;
	if (!etag)
		etag = "";
	if (strlen(key) >= S3_KEY_MAX)
		return -ENAMETOOLONG;
	if (strlen(etag) >= S3_ETAG_MAX)
		return -EINVAL;
	pthread_mutex_lock(&rc->lock);
	struct rcache_obj *o = rc->objs;
	while (o && (o->dead || o->size != size || strcmp(o->key, key) != 0 ||
		     strcmp(o->etag, etag) != 0))
		o = o->next;
	if (!o) {
		o = calloc(1, sizeof(*o));
		char *k = strdup(key);
		if (!o || !k) {
			pthread_mutex_unlock(&rc->lock);
			free(o);
			free(k);
			return -ENOMEM;
		}
		o->key = k;
		memcpy(o->etag, etag, strlen(etag) + 1);
		o->size = size;
		o->next = rc->objs;
		rc->objs = o;
	}
	o->refs++;
	o->readers++;
	pthread_mutex_unlock(&rc->lock);
	*out = o;
	return 0;
}

void rcache_obj_close(struct rcache *rc, struct rcache_obj *o)
{
	pthread_mutex_lock(&rc->lock);
	if (--o->readers == 0) {
		/* Nobody will read what was prefetched for this object (head, a
		 * file closed early): let prefetch for others evict it first. */
		struct rcache_block *b = rc->lru.lnext;
		while (b != &rc->lru) {
			struct rcache_block *next = b->lnext;
			if (b->obj == o && b->prefetched && !b->used) {
				b->used = 1;
				lru_push_cold(rc, b);
			}
			b = next;
		}
	}
	obj_put_locked(rc, o);
	pthread_mutex_unlock(&rc->lock);
}

uint64_t rcache_obj_size(const struct rcache_obj *o)
{
	return o->size;
}

int rcache_obj_etag_not_md5(struct rcache_obj *o)
{
	/* every read asks: no lock (the value only ever goes 0 -> 1) */
	return atomic_load_explicit(&o->etag_not_md5, memory_order_acquire);
}

size_t rcache_block_size(const struct rcache *rc)
{
	return rc->bs;
}

void rcache_window(const struct rcache *rc, size_t *min_window, size_t *max_window)
{
	*min_window = rc->min_window;
	*max_window = rc->max_window;
}

/* ---- pins ---- */

static void pin_found_locked(struct rcache *rc, struct rcache_block *b)
{
	b->refs++;
	rc->st.hits++;
	if (b->state == BLK_PENDING)
		promote_locked(rc, b);
}

/* Pins blocks [idx, idx+n) without blocking: found ones get a ref; runs of
 * missing ones are fetched, one GET per run of up to part_blocks, when
 * memory is at hand now. held[i] stays NULL for a block that had none. */
void rcache_pin_nowait(struct rcache *rc, struct rcache_obj *o, uint64_t idx, unsigned n,
		       struct rcache_block **held)
{
	struct grave g = {0};
	pthread_mutex_lock(&rc->lock);
	unsigned i = 0;
	while (i < n) {
		struct rcache_block *b = lookup_locked(rc, o, idx + i);
		if (b) {
			pin_found_locked(rc, b);
			held[i++] = b;
			continue;
		}
		unsigned run = 1;
		while (i + run < n && run < rc->part_blocks && !lookup_locked(rc, o, idx + i + run))
			run++;
		int err;
		unsigned made = make_job_locked(rc, o, idx + i, run, 0, held + i, &err, &g);
		rc->st.misses += made;
		i += run; /* blocks left NULL are pinned by rcache_pin */
	}
	pthread_mutex_unlock(&rc->lock);
	grave_free(rc, &g);
}

/* Pins block idx, waiting for memory if it must: demand reads always make
 * progress (evicting, then blocking in budget_acquire, whose reclaim evicts
 * other handles' blocks and waits for writers to free part buffers). */
int rcache_pin(struct rcache *rc, struct rcache_obj *o, uint64_t idx, struct rcache_block **out)
{
	size_t charge = block_charge(rc, o, idx);
	struct grave g = {0};
	int err = 0;
	*out = NULL;
	for (int attempt = 0;; attempt++) {
		pthread_mutex_lock(&rc->lock);
		struct rcache_block *b = lookup_locked(rc, o, idx);
		if (b) {
			pin_found_locked(rc, b);
			*out = b;
			break;
		}
		if (make_job_locked(rc, o, idx, 1, 0, out, &err, &g) == 1) {
			rc->st.misses++;
			break;
		}
		if (err == -ENOMEM && attempt < 2)
			evict_locked(rc, charge, EVICT_ANY, &g);
		pthread_mutex_unlock(&rc->lock);
		grave_free(rc, &g);
		if (err == -EAGAIN || (err == -ENOMEM && attempt < 2))
			continue;
		if (err != -ENOMEM)
			return err;
		/* Nothing to evict here: wait for memory (others' reads finishing,
		 * uploads completing), then hand it over as this block's. */
		err = budget_acquire(rc->budget, charge);
		if (err)
			return err;
		pthread_mutex_lock(&rc->lock);
		b = lookup_locked(rc, o, idx);
		if (b) {
			g.mem.bytes += charge; /* not needed after all: credit it back */
			pin_found_locked(rc, b);
			*out = b;
			break;
		}
		/* A budget_try_acquire would race others for the bytes we hold:
		 * make the job with them directly. */
		struct rjob *j = malloc(sizeof(*j));
		b = j ? block_new_locked(rc, o, idx, 0) : NULL;
		if (!b) {
			free(j);
			g.mem.bytes += charge;
			pthread_mutex_unlock(&rc->lock);
			grave_free(rc, &g);
			return -ENOMEM;
		}
		rc->mem.charged += charge;
		rc->st.misses++;
		j->prefetch = 0;
		j->n = 1;
		j->maplen = charge;
		j->chunk = NULL;
		j->blk[0] = b;
		b->job = j;
		b->refs++;
		*out = b;
		queue_push(&rc->demand, j);
		pthread_cond_signal(&rc->work);
		break;
	}
	pthread_mutex_unlock(&rc->lock);
	grave_free(rc, &g);
	return 0;
}

void rcache_unpin(struct rcache *rc, struct rcache_block **held, unsigned n)
{
	struct grave g = {0};
	pthread_mutex_lock(&rc->lock);
	for (unsigned i = 0; i < n; i++) {
		if (held[i])
			block_put_locked(rc, held[i], &g);
		held[i] = NULL;
	}
	pthread_mutex_unlock(&rc->lock);
	grave_free(rc, &g);
}

/* Waits until b is filled or failed; 0 or its errno. */
int rcache_wait(struct rcache *rc, struct rcache_block *b)
{
	pthread_mutex_lock(&rc->lock);
	while (b->state == BLK_PENDING)
		pthread_cond_wait(&rc->filled, &rc->lock);
	int err = b->state == BLK_ERROR ? b->err : 0;
	pthread_mutex_unlock(&rc->lock);
	return err;
}

/* Done with b: mark it used and place it in the LRU (cold end when a
 * sequential reader has read it to its end), then drop our ref. */
void rcache_release(struct rcache *rc, struct rcache_block *b, int drop_behind)
{
	struct grave g = {0};
	pthread_mutex_lock(&rc->lock);
	b->used = 1;
	if (b->in_lru) {
		if (drop_behind)
			lru_push_cold(rc, b);
		else
			lru_push_warm(rc, b);
	}
	block_put_locked(rc, b, &g);
	pthread_mutex_unlock(&rc->lock);
	grave_free(rc, &g);
}

char *rcache_block_data(const struct rcache_block *b)
{
	return b->data;
}

size_t rcache_block_len(const struct rcache_block *b)
{
	return b->len;
}

/* ---- prefetch ---- */

int rcache_prefetch(struct rcache *rc, struct rcache_obj *o, uint64_t *next, uint64_t last,
		    uint64_t min_run, int may_evict, size_t *evicted)
{
	struct grave g = {0};
	int ret = 0;
	*evicted = 0;
	pthread_mutex_lock(&rc->lock);
	uint64_t start = *next;
	while (start <= last && lookup_locked(rc, o, start))
		start++;
	*next = start;
	if (start > last)
		goto out;
	unsigned n = 1;
	while (n < rc->part_blocks && start + n <= last && !lookup_locked(rc, o, start + n))
		n++;
	/* A run cut only by the window's end waits (see rcache.h). */
	if (n < rc->part_blocks && n < min_run && start + n > last &&
	    last + 1 < blockmap_count(o->size, rc->bs))
		goto out;
	int err;
	unsigned made = make_job_locked(rc, o, start, n, 1, NULL, &err, &g);
	if (made) {
		*next = start + made;
		ret = (int)made;
	} else if (err == -ENOMEM) {
		if (may_evict) {
			size_t need = 0;
			for (unsigned i = 0; i < n; i++)
				need += block_charge(rc, o, start + i);
			*evicted = evict_locked(rc, need, EVICT_FOR_PREFETCH, &g);
		}
		ret = -ENOMEM;
	} else {
		ret = err;
	}
out:
	pthread_mutex_unlock(&rc->lock);
	grave_free(rc, &g);
	return ret;
}
