/*
 * reader.c: see reader.h. One handle's read path and sequential prefetch,
 * on the shared block cache (rcache.c holds the blocks, their memory and
 * the fetch threads).
 *
 * The window starts at 2 blocks (the first GET is one block, so the first
 * byte comes fast) and doubles per block consumed sequentially up to 64 MiB
 * or a quarter of the budget (bounds from rcache_window): several handles
 * can stream at once and demand reads always find memory to reclaim. A
 * block a sequential reader has read to its end is released drop-behind
 * (streamed data is the first to go).
 *
 * Locking: r->lock guards the handle's sequential state (seq, pf_next) and
 * is held over one prefetch step, so the window a step acts on does not
 * move under it; it is never held while waiting for a block or for memory.
 * Lock order: r->lock, then the cache lock (inside rcache_*).
 */
#include "reader.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "blockmap.h"
#include "seqdetect.h"

#define READER_GROUP 16 /* blocks one read pins at a time */

struct reader {
	struct rcache *rc;
	struct rcache_obj *obj; /* opened by reader_new */
	pthread_mutex_t lock;
	struct seqdetect seq; /* protected by lock */
	uint64_t pf_next;     /* first block the prefetcher has not examined; lock */
};

int reader_new(struct rcache *rc, const char *key, uint64_t size, const char *etag,
	       struct reader **out)
{
	*out = NULL;
	struct reader *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	int err = rcache_obj_open(rc, key, size, etag, &r->obj);
	if (err) {
		free(r);
		return err;
	}
	r->rc = rc;
	size_t min_window, max_window;
	rcache_window(rc, &min_window, &max_window);
	seqdetect_init(&r->seq, min_window, max_window, rcache_block_size(rc));
	pthread_mutex_init(&r->lock, NULL);
	*out = r;
	return 0;
}

int reader_etag_not_md5(struct reader *r)
{
	return rcache_obj_etag_not_md5(r->obj);
}

void reader_free(struct reader *r)
{
	if (!r)
		return;
	rcache_obj_close(r->rc, r->obj);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* Keeps the window ahead of a sequential reader requested: from the furthest
 * read end, missing blocks are fetched in GETs of up to a part, with memory
 * at hand. No room: evict blocks already read, else shrink the window and
 * stop (prefetch never waits for memory). */
static void prefetch(struct reader *r)
{
	struct rcache *rc = r->rc;
	size_t bs = rcache_block_size(rc);
	uint64_t size = rcache_obj_size(r->obj);
	int tries = 0;
	for (;;) {
		pthread_mutex_lock(&r->lock);
		uint64_t end = r->seq.next_off;
		size_t window = r->seq.window;
		if (window == 0 || end >= size)
			break;
		uint64_t wend = size - end < window ? size : end + window;
		uint64_t last = (wend - 1) / bs;
		uint64_t next = end / bs;
		if (r->pf_next > next)
			next = r->pf_next;
		/* Top the window up in large GETs: a run cut only by the
		 * window's end waits until it is a full part or half the window
		 * (else, at a steady 64 MiB window, every new block would be its
		 * own GET). */
		size_t evicted;
		int n =
		    rcache_prefetch(rc, r->obj, &next, last, window / bs / 2, tries == 0, &evicted);
		r->pf_next = next;
		if (n > 0) {
			tries = 0;
		} else if (n == -ENOMEM) {
			if (tries++ > 0 || evicted == 0) {
				seqdetect_shrink(&r->seq);
				break;
			}
		} else if (n != -EAGAIN) {
			break;
		}
		pthread_mutex_unlock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
}

/* Feeds one read to the sequential detector; returns 1 when sequential. */
static int feed(struct reader *r, uint64_t off, size_t len)
{
	pthread_mutex_lock(&r->lock);
	int seq = seqdetect_feed(&r->seq, off, len);
	if (!seq)
		r->pf_next = 0;
	pthread_mutex_unlock(&r->lock);
	return seq;
}

ssize_t reader_read(struct reader *r, void *buf, size_t len, uint64_t off)
{
	struct rcache *rc = r->rc;
	uint64_t size = rcache_obj_size(r->obj);
	size_t bs = rcache_block_size(rc);
	if (off >= size || len == 0)
		return 0;
	if (len > size - off)
		len = (size_t)(size - off);
	uint64_t first;
	uint64_t nblk = blockmap_span(size, bs, off, len, &first);
	uint64_t end = off + len;

	int seq = feed(r, off, len);

	int err = 0;
	uint64_t idx = first;
	while (idx < first + nblk && !err) {
		struct rcache_block *held[READER_GROUP] = {0};
		unsigned g = first + nblk - idx < READER_GROUP ? (unsigned)(first + nblk - idx)
							       : READER_GROUP;
		rcache_pin_nowait(rc, r->obj, idx, g, held);
		if (idx == first && seq)
			prefetch(r);
		for (unsigned i = 0; i < g; i++) {
			struct rcache_block *b = held[i];
			if (!b) {
				/* Blocking for memory while holding pins on later
				 * blocks could deadlock two readers: drop them. */
				rcache_unpin(rc, held + i + 1, g - i - 1);
				err = rcache_pin(rc, r->obj, idx + i, &b);
				if (err)
					break;
				if (seq) {
					/* A sequential read missed: prefetch let
					 * something slip (evicted); rescan. */
					pthread_mutex_lock(&r->lock);
					r->pf_next = 0;
					pthread_mutex_unlock(&r->lock);
				}
			}
			err = rcache_wait(rc, b);
			uint64_t bstart = (idx + i) * bs;
			uint64_t bend = bstart + rcache_block_len(b);
			if (!err) {
				uint64_t from = off > bstart ? off : bstart;
				uint64_t to = end < bend ? end : bend;
				memcpy((char *)buf + (from - off),
				       rcache_block_data(b) + (from - bstart), (size_t)(to - from));
			}
			rcache_release(rc, b, seq && end >= bend);
			held[i] = NULL;
			if (err) {
				rcache_unpin(rc, held + i + 1, g - i - 1);
				break;
			}
		}
		idx += g;
	}
	return err ? err : (ssize_t)len;
}

struct reader_pin {
	struct rcache *rc;
	unsigned n;
	struct rcache_block *blk[READER_IOV_MAX];
	unsigned char drop_behind[READER_IOV_MAX];
};

ssize_t reader_read_iov(struct reader *r, uint64_t off, size_t len, struct iovec *iov, int *niov,
			struct reader_pin **pinp)
{
	struct rcache *rc = r->rc;
	uint64_t size = rcache_obj_size(r->obj);
	size_t bs = rcache_block_size(rc);
	*pinp = NULL;
	*niov = 0;
	if (off >= size || len == 0)
		return 0;
	if (len > size - off)
		len = (size_t)(size - off);
	uint64_t first;
	uint64_t nblk = blockmap_span(size, bs, off, len, &first);
	uint64_t end = off + len;
	if (nblk > READER_IOV_MAX)
		return -EAGAIN;
	struct reader_pin *pin = calloc(1, sizeof(*pin));
	if (!pin)
		return -EAGAIN;
	pin->rc = rc;
	pin->n = (unsigned)nblk;

	int seq = feed(r, off, len);

	rcache_pin_nowait(rc, r->obj, first, pin->n, pin->blk);
	if (seq)
		prefetch(r);
	int err = 0;
	for (unsigned i = 0; i < pin->n && !err; i++) {
		struct rcache_block *b = pin->blk[i];
		if (!b) {
			err = -EAGAIN;
			break;
		}
		err = rcache_wait(rc, b);
		if (err)
			break;
		uint64_t bstart = (first + i) * bs;
		uint64_t bend = bstart + rcache_block_len(b);
		uint64_t from = off > bstart ? off : bstart;
		uint64_t to = end < bend ? end : bend;
		iov[i].iov_base = rcache_block_data(b) + (from - bstart);
		iov[i].iov_len = (size_t)(to - from);
		pin->drop_behind[i] = (unsigned char)(seq && end >= bend);
	}
	if (err) {
		rcache_unpin(rc, pin->blk, pin->n);
		free(pin);
		return err;
	}
	*niov = (int)pin->n;
	*pinp = pin;
	return (ssize_t)len;
}

void reader_unpin(struct reader_pin *pin)
{
	if (!pin)
		return;
	for (unsigned i = 0; i < pin->n; i++)
		rcache_release(pin->rc, pin->blk[i], pin->drop_behind[i]);
	free(pin);
}
