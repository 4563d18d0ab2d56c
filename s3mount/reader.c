/*
 * reader.c: see reader.h. The read cache and the per-handle prefetcher.
 *
 * Sizes, and why:
 * - Blocks of 1 MiB are the unit of lookup, eviction and budget accounting.
 *   A random read wastes at most a block; a FUSE read (max 1 MiB) spans at
 *   most two; a 256 MiB budget is 256 blocks, so the table and LRU stay tiny.
 * - A GET fetches up to 8 MiB (8 blocks): per-request cost (signing, the
 *   server's per-op overhead) is amortised, and 8 MiB is where S3 throughput
 *   per request stops climbing (Mountpoint's measured part size). Several
 *   GETs run in parallel on the fetch threads to fill the pipe.
 * - The window starts at 2 blocks (the first GET is one block, so the first
 *   byte comes fast) and doubles per block consumed sequentially up to 64 MiB
 *   or a quarter of the budget: several handles can stream at once and
 *   demand reads always find memory to reclaim.
 *
 * Memory: a GET's blocks live in one anonymous mapping so s3_get_range writes
 * straight into them (the only other copy is from the block into the
 * caller's buffer). Each block is a page-aligned slice of it, unmapped on its
 * own when the block dies, so freed memory goes back to the kernel at once
 * and RSS follows the budget (malloc's arenas would keep freed blocks). A
 * block is charged to the budget before it exists and credited after it is
 * unmapped, so the cache's memory never passes the budget.
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
 * callback takes the cache lock). Lock order: cache lock, then budget lock.
 */
#define _GNU_SOURCE /* MAP_ANONYMOUS, MAP_POPULATE */
#include "reader.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "blockmap.h"
#include "log.h"
#include "seqdetect.h"

#define RC_DEF_BLOCK ((size_t)1 << 20)
#define RC_DEF_PART ((size_t)8 << 20)
#define RC_DEF_WINDOW ((size_t)64 << 20)
#define RC_DEF_THREADS 8
#define RC_MAX_THREADS 64
#define RC_MAX_PART_BLOCKS 64
#define RC_GROUP 16 /* blocks one read pins at a time */

enum blk_state { BLK_PENDING, BLK_FILLED, BLK_ERROR };
enum evict_mode { EVICT_ANY, EVICT_FOR_PREFETCH };

/* One object version (key + ETag); shared by its readers and blocks. */
struct robj {
	struct robj *next; /* rc->objs; protected by rc->lock */
	char *key;
	char etag[S3_ETAG_MAX];
	uint64_t size;  /* bytes */
	unsigned refs;  /* readers + blocks; protected by rc->lock */
	int dead;       /* invalidated or replaced: reader_new makes a new one */
};

struct rjob;

struct rblock {
	struct rblock *hnext;        /* hash chain, or the free list once dead */
	struct rblock *lprev, *lnext; /* LRU, while FILLED and hashed */
	struct robj *obj;            /* holds a ref */
	struct rjob *job;            /* queued job that fills it; NULL once taken */
	uint64_t idx;
	char *data;    /* slice of the job's mapping; NULL until FILLED */
	size_t len;    /* bytes of object data */
	size_t charge; /* bytes charged to the budget (len rounded to pages) */
	int state;
	int err;       /* negative errno when ERROR */
	unsigned refs; /* all fields below and above: protected by rc->lock */
	unsigned char hashed, in_lru, prefetched, used;
};

struct rjob {
	struct rjob *next;
	int prefetch;  /* 1: in the prefetch queue (lower priority) */
	unsigned n;
	struct rblock *blk[RC_MAX_PART_BLOCKS]; /* consecutive; each holds a ref */
};

struct rjob_queue {
	struct rjob *head, *tail;
};

struct rcache {
	struct s3_client *s3;
	struct budget *budget;
	rcache_fetch_fn fetch;
	void *fetch_arg;
	size_t bs;          /* block size, bytes */
	size_t page;        /* page size, bytes */
	unsigned part_blocks;
	size_t min_window, max_window; /* bytes */

	pthread_mutex_t lock;
	pthread_cond_t filled; /* a block left PENDING */
	pthread_cond_t work;   /* a job was queued, or stopping */
	struct rblock **table; /* hash of (obj, idx) */
	size_t mask;
	struct rblock lru;     /* sentinel: lru.lnext is the coldest */
	struct robj *objs;
	struct rjob_queue demand, ahead;
	int stopping;
	struct rcache_stats st;

	pthread_t threads[RC_MAX_THREADS];
	int nthreads;
};

struct reader {
	struct rcache *rc;
	struct robj *obj;     /* holds a ref */
	struct seqdetect seq; /* protected by rc->lock */
	uint64_t pf_next;     /* first block the prefetcher has not examined; rc->lock */
};

/* ---- table, LRU, refs (all *_locked: rc->lock held) ---- */

static size_t slot(const struct rcache *rc, const struct robj *o, uint64_t idx)
{
	uint64_t h = (uint64_t)(uintptr_t)o * 0x9e3779b97f4a7c15ull;
	h ^= (idx + 1) * 0xc2b2ae3d27d4eb4full;
	h ^= h >> 29;
	return (size_t)h & rc->mask;
}

static struct rblock *lookup_locked(struct rcache *rc, const struct robj *o, uint64_t idx)
{
	for (struct rblock *b = rc->table[slot(rc, o, idx)]; b; b = b->hnext)
		if (b->obj == o && b->idx == idx)
			return b;
	return NULL;
}

static void lru_unlink(struct rblock *b)
{
	if (!b->in_lru)
		return;
	b->lprev->lnext = b->lnext;
	b->lnext->lprev = b->lprev;
	b->in_lru = 0;
}

static void lru_push_warm(struct rcache *rc, struct rblock *b)
{
	lru_unlink(b);
	b->lprev = rc->lru.lprev;
	b->lnext = &rc->lru;
	rc->lru.lprev->lnext = b;
	rc->lru.lprev = b;
	b->in_lru = 1;
}

static void lru_push_cold(struct rcache *rc, struct rblock *b)
{
	lru_unlink(b);
	b->lnext = rc->lru.lnext;
	b->lprev = &rc->lru;
	rc->lru.lnext->lprev = b;
	rc->lru.lnext = b;
	b->in_lru = 1;
}

static void obj_put_locked(struct rcache *rc, struct robj *o)
{
	if (--o->refs > 0)
		return;
	for (struct robj **pp = &rc->objs; *pp; pp = &(*pp)->next) {
		if (*pp == o) {
			*pp = o->next;
			break;
		}
	}
	free(o->key);
	free(o);
}

/* Drops one ref; the last one moves b to *dead, to be freed unlocked. */
static void block_put_locked(struct rcache *rc, struct rblock *b, struct rblock **dead)
{
	if (--b->refs > 0)
		return;
	rc->st.cached_bytes -= b->charge;
	obj_put_locked(rc, b->obj);
	b->obj = NULL;
	b->hnext = *dead;
	*dead = b;
}

/* Takes b out of the table (and the LRU) and drops the table's ref. */
static void unhash_locked(struct rcache *rc, struct rblock *b, struct rblock **dead)
{
	if (!b->hashed)
		return;
	struct rblock **pp = &rc->table[slot(rc, b->obj, b->idx)];
	while (*pp != b)
		pp = &(*pp)->hnext;
	*pp = b->hnext;
	b->hnext = NULL;
	b->hashed = 0;
	lru_unlink(b);
	block_put_locked(rc, b, dead);
}

/* Frees dead blocks: unmap first, credit the budget after, so the memory is
 * gone before anyone may allocate it again. */
static void free_dead(struct rcache *rc, struct rblock *dead)
{
	while (dead) {
		struct rblock *next = dead->hnext;
		if (dead->data)
			munmap(dead->data, dead->charge);
		if (dead->charge)
			budget_release(rc->budget, dead->charge);
		free(dead);
		dead = next;
	}
}

/* Evicts unreferenced FILLED blocks from the cold end until want bytes are
 * out; returns the bytes evicted (their memory is freed by free_dead). */
static size_t evict_locked(struct rcache *rc, size_t want, enum evict_mode mode,
			   struct rblock **dead)
{
	size_t got = 0;
	struct rblock *b = rc->lru.lnext;
	while (b != &rc->lru && got < want) {
		struct rblock *next = b->lnext;
		if (b->refs == 1 && !(mode == EVICT_FOR_PREFETCH && b->prefetched && !b->used)) {
			got += b->charge;
			rc->st.evicted_bytes += b->charge;
			unhash_locked(rc, b, dead);
		}
		b = next;
	}
	return got;
}

static size_t block_charge(const struct rcache *rc, const struct robj *o, uint64_t idx)
{
	return blockmap_round(blockmap_len(o->size, rc->bs, idx), rc->page);
}

/* A new PENDING block in the table; the caller has charged its bytes and
 * gets one ref besides the table's. NULL on allocation failure. */
static struct rblock *block_new_locked(struct rcache *rc, struct robj *o, uint64_t idx,
				       int prefetched)
{
	struct rblock *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->obj = o;
	o->refs++;
	b->idx = idx;
	b->len = blockmap_len(o->size, rc->bs, idx);
	b->charge = block_charge(rc, o, idx);
	b->state = BLK_PENDING;
	b->refs = 2;
	b->prefetched = (unsigned char)prefetched;
	size_t s = slot(rc, o, idx);
	b->hnext = rc->table[s];
	rc->table[s] = b;
	b->hashed = 1;
	rc->st.cached_bytes += b->charge;
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
static void promote_locked(struct rcache *rc, struct rblock *b)
{
	struct rjob *j = b->job;
	if (!j || !j->prefetch)
		return;
	queue_remove(&rc->ahead, j);
	j->prefetch = 0;
	queue_push(&rc->demand, j);
}

/* Queues blocks blk[0..n) (consecutive, PENDING, one ref each handed over to
 * the job). On allocation failure the blocks fail with -ENOMEM. */
static void submit_locked(struct rcache *rc, struct rblock **blk, unsigned n, int prefetch,
			  struct rblock **dead)
{
	if (n == 0)
		return;
	struct rjob *j = malloc(sizeof(*j));
	if (!j) {
		for (unsigned i = 0; i < n; i++) {
			blk[i]->state = BLK_ERROR;
			blk[i]->err = -ENOMEM;
			unhash_locked(rc, blk[i], dead);
			block_put_locked(rc, blk[i], dead);
		}
		pthread_cond_broadcast(&rc->filled);
		return;
	}
	j->prefetch = prefetch;
	j->n = n;
	for (unsigned i = 0; i < n; i++) {
		j->blk[i] = blk[i];
		blk[i]->job = j;
	}
	queue_push(prefetch ? &rc->ahead : &rc->demand, j);
	pthread_cond_signal(&rc->work);
}

/* ---- fetch threads ---- */

static int fetch_s3(void *arg, const char *key, uint64_t off, size_t len, void *buf,
		    size_t *got, const char *if_match)
{
	return s3_get_range(arg, key, off, len, buf, got, if_match, NULL);
}

static void run_job(struct rcache *rc, struct rjob *j)
{
	struct robj *o = j->blk[0]->obj; /* kept alive by the blocks' refs */
	uint64_t off = j->blk[0]->idx * rc->bs;
	size_t total = 0, maplen = 0;
	for (unsigned i = 0; i < j->n; i++) {
		total += j->blk[i]->len;
		maplen += j->blk[i]->charge;
	}
	/* MAP_POPULATE faults the pages in with one call instead of one trap
	 * per page while curl writes into them. */
	char *map = mmap(NULL, maplen, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	size_t got = 0;
	int err;
	if (map == MAP_FAILED) {
		map = NULL;
		err = -ENOMEM;
	} else {
		err = rc->fetch(rc->fetch_arg, o->key, off, total, map, &got,
				o->etag[0] ? o->etag : NULL);
		if (err == 0 && got != total) {
			log_warn("reader: short GET of %s at %llu: %zu of %zu bytes", o->key,
				 (unsigned long long)off, got, total);
			err = -EIO;
		}
	}
	if (err) {
		log_warn("reader: GET %s [%llu, +%zu) failed: %s", o->key,
			 (unsigned long long)off, total, strerror(-err));
		if (map)
			munmap(map, maplen);
		budget_release(rc->budget, maplen);
	}

	struct rblock *dead = NULL;
	pthread_mutex_lock(&rc->lock);
	rc->st.gets++;
	if (err) {
		rc->st.get_errors++;
		if (err == -ESTALE)
			o->dead = 1;
	} else {
		rc->st.fetched_bytes += total;
	}
	for (unsigned i = 0; i < j->n; i++) {
		struct rblock *b = j->blk[i];
		if (err) {
			rc->st.cached_bytes -= b->charge;
			b->charge = 0;
			b->state = BLK_ERROR;
			b->err = err;
			unhash_locked(rc, b, &dead);
		} else {
			b->data = map + i * rc->bs;
			b->state = BLK_FILLED;
			if (b->prefetched)
				rc->st.prefetched_bytes += b->len;
			if (b->hashed)
				lru_push_warm(rc, b);
		}
		block_put_locked(rc, b, &dead);
	}
	pthread_cond_broadcast(&rc->filled);
	pthread_mutex_unlock(&rc->lock);
	free_dead(rc, dead);
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
	struct rblock *dead = NULL;
	pthread_mutex_lock(&rc->lock);
	size_t got = evict_locked(rc, want, EVICT_ANY, &dead);
	pthread_mutex_unlock(&rc->lock);
	free_dead(rc, dead);
	return got;
}

/* ---- cache lifecycle ---- */

static void drain_queue_locked(struct rcache *rc, struct rjob_queue *q, struct rblock **dead)
{
	struct rjob *j;
	while ((j = queue_pop(q))) {
		for (unsigned i = 0; i < j->n; i++) {
			struct rblock *b = j->blk[i];
			b->job = NULL;
			b->state = BLK_ERROR;
			b->err = -ECANCELED;
			unhash_locked(rc, b, dead);
			block_put_locked(rc, b, dead);
		}
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

	struct rblock *dead = NULL;
	pthread_mutex_lock(&rc->lock);
	drain_queue_locked(rc, &rc->demand, &dead);
	drain_queue_locked(rc, &rc->ahead, &dead);
	for (size_t s = 0; s <= rc->mask; s++)
		while (rc->table[s])
			unhash_locked(rc, rc->table[s], &dead);
	if (rc->objs)
		log_error("reader: rcache_free with readers still open");
	pthread_mutex_unlock(&rc->lock);
	free_dead(rc, dead);
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
	struct rblock *dead = NULL;
	pthread_mutex_lock(&rc->lock);
	int any = 0;
	for (struct robj *o = rc->objs; o; o = o->next) {
		if (strcmp(o->key, key) == 0) {
			o->dead = 1;
			any = 1;
		}
	}
	/* Pending and in-use blocks leave the table too; their last user
	 * frees them. */
	for (size_t s = 0; any && s <= rc->mask; s++) {
		struct rblock *b = rc->table[s];
		while (b) {
			struct rblock *next = b->hnext;
			if (b->obj->dead && strcmp(b->obj->key, key) == 0)
				unhash_locked(rc, b, &dead);
			b = next;
		}
	}
	pthread_mutex_unlock(&rc->lock);
	free_dead(rc, dead);
}

void rcache_stats(struct rcache *rc, struct rcache_stats *out)
{
	pthread_mutex_lock(&rc->lock);
	*out = rc->st;
	pthread_mutex_unlock(&rc->lock);
}

/* ---- readers ---- */

int reader_new(struct rcache *rc, const char *key, uint64_t size, const char *etag,
	       struct reader **out)
{
	*out = NULL;
	if (!etag)
		etag = "";
	if (strlen(key) >= S3_KEY_MAX)
		return -ENAMETOOLONG;
	if (strlen(etag) >= S3_ETAG_MAX)
		return -EINVAL;
	struct reader *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->rc = rc;
	seqdetect_init(&r->seq, rc->min_window, rc->max_window, rc->bs);

	pthread_mutex_lock(&rc->lock);
	struct robj *o = rc->objs;
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
			free(r);
			return -ENOMEM;
		}
		o->key = k;
		memcpy(o->etag, etag, strlen(etag) + 1);
		o->size = size;
		o->next = rc->objs;
		rc->objs = o;
	}
	o->refs++;
	r->obj = o;
	pthread_mutex_unlock(&rc->lock);
	*out = r;
	return 0;
}

void reader_free(struct reader *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->rc->lock);
	obj_put_locked(r->rc, r->obj);
	pthread_mutex_unlock(&r->rc->lock);
	free(r);
}

/* Pins blocks [idx, idx+n) without blocking: found ones get a ref, missing
 * ones are created and fetched when the budget has room now (consecutive
 * ones in one GET); held[i] stays NULL for a block that had no room. */
static void pin_group(struct reader *r, uint64_t idx, unsigned n, struct rblock **held)
{
	struct rcache *rc = r->rc;
	struct robj *o = r->obj;
	struct rblock *run[RC_MAX_PART_BLOCKS];
	unsigned nrun = 0;
	struct rblock *dead = NULL;
	pthread_mutex_lock(&rc->lock);
	for (unsigned i = 0; i < n; i++) {
		struct rblock *b = lookup_locked(rc, o, idx + i);
		if (b) {
			b->refs++;
			rc->st.hits++;
			if (b->state == BLK_PENDING)
				promote_locked(rc, b);
			held[i] = b;
		} else if (budget_try_acquire(rc->budget, block_charge(rc, o, idx + i)) == 0) {
			b = block_new_locked(rc, o, idx + i, 0);
			if (b) {
				rc->st.misses++;
				held[i] = b;
				b->refs++; /* one for us, one handed to the job */
				run[nrun++] = b;
				if (nrun < rc->part_blocks)
					continue;
			} else {
				/* pin_blocking retries it (and reports ENOMEM). */
				budget_release(rc->budget, block_charge(rc, o, idx + i));
			}
		}
		submit_locked(rc, run, nrun, 0, &dead);
		nrun = 0;
	}
	submit_locked(rc, run, nrun, 0, &dead);
	pthread_mutex_unlock(&rc->lock);
	free_dead(rc, dead);
}

/* Pins block idx, waiting for budget if it must: demand reads always make
 * progress (evicting, then blocking in budget_acquire, whose reclaim evicts
 * other handles' blocks and waits for writers to free part buffers). */
static int pin_blocking(struct reader *r, uint64_t idx, struct rblock **out)
{
	struct rcache *rc = r->rc;
	struct robj *o = r->obj;
	size_t charge = block_charge(rc, o, idx);
	struct rblock *dead = NULL, *b;
	int err = 0;

	pthread_mutex_lock(&rc->lock);
	b = lookup_locked(rc, o, idx);
	if (b) {
		b->refs++;
		rc->st.hits++;
		if (b->state == BLK_PENDING)
			promote_locked(rc, b);
		goto out_unlock;
	}
	if (budget_try_acquire(rc->budget, charge) != 0) {
		evict_locked(rc, charge, EVICT_ANY, &dead);
		pthread_mutex_unlock(&rc->lock);
		free_dead(rc, dead);
		dead = NULL;
		if (budget_try_acquire(rc->budget, charge) != 0) {
			err = budget_acquire(rc->budget, charge);
			if (err)
				return err;
		}
		pthread_mutex_lock(&rc->lock);
		b = lookup_locked(rc, o, idx);
		if (b) {
			/* Someone fetched it while we waited for memory. */
			b->refs++;
			rc->st.hits++;
			pthread_mutex_unlock(&rc->lock);
			budget_release(rc->budget, charge);
			*out = b;
			return 0;
		}
	}
	b = block_new_locked(rc, o, idx, 0);
	if (!b) {
		pthread_mutex_unlock(&rc->lock);
		budget_release(rc->budget, charge);
		return -ENOMEM;
	}
	rc->st.misses++;
	b->refs++;
	struct rblock *one = b;
	submit_locked(rc, &one, 1, 0, &dead);
out_unlock:
	pthread_mutex_unlock(&rc->lock);
	free_dead(rc, dead);
	*out = b;
	return err;
}

static void unpin(struct rcache *rc, struct rblock **held, unsigned n)
{
	struct rblock *dead = NULL;
	pthread_mutex_lock(&rc->lock);
	for (unsigned i = 0; i < n; i++) {
		if (held[i])
			block_put_locked(rc, held[i], &dead);
		held[i] = NULL;
	}
	pthread_mutex_unlock(&rc->lock);
	free_dead(rc, dead);
}

/* Waits until b is filled or failed; 0 or its errno. */
static int wait_block(struct rcache *rc, struct rblock *b)
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
static void release_block(struct rcache *rc, struct rblock *b, int drop_behind)
{
	struct rblock *dead = NULL;
	pthread_mutex_lock(&rc->lock);
	b->used = 1;
	if (b->in_lru) {
		if (drop_behind)
			lru_push_cold(rc, b);
		else
			lru_push_warm(rc, b);
	}
	block_put_locked(rc, b, &dead);
	pthread_mutex_unlock(&rc->lock);
	free_dead(rc, dead);
}

/* Keeps the window ahead of a sequential reader requested: from the furthest
 * read end, missing blocks are fetched in GETs of up to part_blocks, charged
 * with budget_try_acquire. No room: evict blocks already read, else shrink
 * the window and stop (prefetch never waits for memory). */
static void prefetch(struct reader *r)
{
	struct rcache *rc = r->rc;
	struct robj *o = r->obj;
	int evicted = 0;
	for (;;) {
		struct rblock *dead = NULL;
		pthread_mutex_lock(&rc->lock);
		uint64_t end = r->seq.next_off;
		size_t window = r->seq.window;
		if (window == 0 || end >= o->size) {
			pthread_mutex_unlock(&rc->lock);
			return;
		}
		uint64_t wend = o->size - end < window ? o->size : end + window;
		uint64_t last = (wend - 1) / rc->bs;
		uint64_t start = end / rc->bs;
		if (r->pf_next > start)
			start = r->pf_next;
		while (start <= last && lookup_locked(rc, o, start))
			start++;
		r->pf_next = start;
		if (start > last) {
			pthread_mutex_unlock(&rc->lock);
			return;
		}
		unsigned n = 1;
		size_t charge = block_charge(rc, o, start);
		while (n < rc->part_blocks && start + n <= last &&
		       !lookup_locked(rc, o, start + n)) {
			charge += block_charge(rc, o, start + n);
			n++;
		}
		/* Top the window up in large GETs: a run cut only by the window's
		 * end waits until it is a full part or half the window (else, at
		 * a steady 64 MiB window, every new block would be its own GET). */
		uint64_t wblocks = window / rc->bs;
		if (n < rc->part_blocks && n < wblocks / 2 && start + n > last &&
		    last + 1 < blockmap_count(o->size, rc->bs)) {
			pthread_mutex_unlock(&rc->lock);
			return;
		}
		if (budget_try_acquire(rc->budget, charge) == 0) {
			struct rblock *run[RC_MAX_PART_BLOCKS];
			unsigned made = 0;
			size_t unused = 0;
			for (unsigned i = 0; i < n; i++) {
				struct rblock *b = made == i
					? block_new_locked(rc, o, start + i, 1) : NULL;
				if (b)
					run[made++] = b;
				else
					unused += block_charge(rc, o, start + i);
			}
			/* block_new gave each block a ref for us and the
			 * table; the job takes ours. */
			submit_locked(rc, run, made, 1, &dead);
			r->pf_next = start + made;
			pthread_mutex_unlock(&rc->lock);
			if (unused)
				budget_release(rc->budget, unused);
			free_dead(rc, dead);
			if (made < n)
				return;
			evicted = 0;
			continue;
		}
		size_t got = evicted ? 0 : evict_locked(rc, charge, EVICT_FOR_PREFETCH, &dead);
		if (got == 0)
			seqdetect_shrink(&r->seq);
		pthread_mutex_unlock(&rc->lock);
		free_dead(rc, dead);
		if (got == 0)
			return;
		evicted = 1;
	}
}

ssize_t reader_read(struct reader *r, void *buf, size_t len, uint64_t off)
{
	struct rcache *rc = r->rc;
	struct robj *o = r->obj;
	if (off >= o->size || len == 0)
		return 0;
	if (len > o->size - off)
		len = (size_t)(o->size - off);
	uint64_t first;
	uint64_t nblk = blockmap_span(o->size, rc->bs, off, len, &first);
	uint64_t end = off + len;

	pthread_mutex_lock(&rc->lock);
	int seq = seqdetect_feed(&r->seq, off, len);
	if (!seq)
		r->pf_next = 0;
	pthread_mutex_unlock(&rc->lock);

	int err = 0;
	uint64_t idx = first;
	while (idx < first + nblk && !err) {
		struct rblock *held[RC_GROUP] = { 0 };
		unsigned g = first + nblk - idx < RC_GROUP ? (unsigned)(first + nblk - idx)
							  : RC_GROUP;
		pin_group(r, idx, g, held);
		if (idx == first && seq)
			prefetch(r);
		for (unsigned i = 0; i < g; i++) {
			struct rblock *b = held[i];
			if (!b) {
				/* Blocking for memory while holding pins on later
				 * blocks could deadlock two readers: drop them. */
				unpin(rc, held + i + 1, g - i - 1);
				err = pin_blocking(r, idx + i, &b);
				if (err)
					break;
				if (seq) {
					/* A sequential read missed: prefetch let
					 * something slip (evicted); rescan. */
					pthread_mutex_lock(&rc->lock);
					r->pf_next = 0;
					pthread_mutex_unlock(&rc->lock);
				}
			}
			err = wait_block(rc, b);
			uint64_t bstart = (idx + i) * rc->bs;
			uint64_t bend = bstart + b->len;
			if (!err) {
				uint64_t from = off > bstart ? off : bstart;
				uint64_t to = end < bend ? end : bend;
				memcpy((char *)buf + (from - off), b->data + (from - bstart),
				       (size_t)(to - from));
			}
			release_block(rc, b, seq && end >= bend);
			held[i] = NULL;
			if (err) {
				unpin(rc, held + i + 1, g - i - 1);
				break;
			}
		}
		idx += g;
	}
	return err ? err : (ssize_t)len;
}
