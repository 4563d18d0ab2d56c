/* verify.c: see verify.h. */
#include "verify.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "log.h"
#include "mpu.h"

/* A read further than this past the hashed prefix is not a reordered
 * readahead (the kernel's window is a few MiB) but random access: stop at
 * once instead of waiting. */
#define VERIFY_REORDER_MAX ((uint64_t)32 << 20)

struct verify {
	pthread_mutex_t lock;
	pthread_cond_t moved;	      /* pos advanced or the state changed */
	struct crypto_md5_ctx *md5;   /* the whole object's, or the current part's
				       * (multipart); NULL once finalised */
	struct crypto_md5_ctx *outer; /* multipart: MD5 of the parts' digests;
				       * NULL for a plain ETag */
	struct mpu_layout layout;     /* multipart: how the parts were cut */
	int nparts;		      /* multipart: the ETag's part count */
	int part;		      /* multipart: 1-based part being hashed */
	uint64_t part_end;	      /* multipart: offset where that part ends */
	uint8_t want[CRYPTO_MD5_LEN];
	uint64_t size;		 /* bytes */
	uint64_t pos;		 /* bytes hashed so far (a prefix); protected by lock */
	enum verify_state state; /* protected by lock */
	int wait_ms;
};

/* The 16 bytes of the 32 hex digits that open etag (quoted or not), or
 * -EINVAL. multipart = 0: a plain MD5 ETag, nothing after the digits but
 * the closing quote; 1: a multipart ETag ("hex-N", mpu_etag_parts). */
static int verify_hex(const char *etag, uint8_t out[CRYPTO_MD5_LEN], int multipart)
{
	if (!etag)
		return -EINVAL;
	size_t n = strlen(etag);
	if (multipart) {
		if (mpu_etag_parts(etag) < 0)
			return -EINVAL;
		if (etag[0] == '"')
			etag++;
	} else {
		if (n == 34 && etag[0] == '"' && etag[33] == '"') {
			etag++;
			n = 32;
		}
		if (n != 32)
			return -EINVAL;
	}
	for (int i = 0; i < CRYPTO_MD5_LEN; i++) {
		int h = crypto_hexval(etag[2 * i]), l = crypto_hexval(etag[2 * i + 1]);
		if (h < 0 || l < 0)
			return -EINVAL;
		out[i] = (uint8_t)(h << 4 | l);
	}
	return 0;
}

static void drop_md5(struct crypto_md5_ctx **c)
{
	crypto_md5_free(*c);
	*c = NULL;
}

/* MD5 itself failed (crypto.h logged OpenSSL's reason): no verdict is
 * possible, so the handle reads on unchecked rather than fail a good file. */
static int hash_failed_locked(struct verify *v)
{
	drop_md5(&v->md5);
	drop_md5(&v->outer);
	v->state = VERIFY_OFF;
	log_warn("ETag check of this read stopped: MD5 failed");
	return 0;
}

int verify_etag_is_md5(const char *etag)
{
	uint8_t d[CRYPTO_MD5_LEN];
	return verify_hex(etag, d, 0) == 0;
}

int verify_new(const char *etag, uint64_t size, const struct mpu_layout *layout, int wait_ms,
	       struct verify **out)
{
	*out = NULL;
	uint8_t want[CRYPTO_MD5_LEN];
	int nparts = 0;
	if (size == 0)
		return 0;
	if (verify_hex(etag, want, 0) != 0) {
		/* multipart: only with a layout that predicts the ETag's part count */
		nparts = mpu_etag_parts(etag);
		if (nparts < 0 || !layout || verify_hex(etag, want, 1) != 0 ||
		    mpu_layout_parts(layout, size) != nparts)
			return 0;
	}
	struct verify *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->md5 = crypto_md5_new();
	if (nparts)
		v->outer = crypto_md5_new();
	if (!v->md5 || (nparts && !v->outer)) {
		drop_md5(&v->md5);
		drop_md5(&v->outer);
		free(v);
		return -ENOMEM;
	}
	if (nparts) {
		v->layout = *layout;
		v->nparts = nparts;
		v->part = 1;
		v->part_end = mpu_layout_part_size(layout, 1);
		if (v->part_end > size)
			v->part_end = size;
	}
	pthread_mutex_init(&v->lock, NULL);
	/* CLOCK_MONOTONIC: a wall-clock step must not stretch or cut the wait. */
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&v->moved, &ca);
	pthread_condattr_destroy(&ca);
	memcpy(v->want, want, sizeof(want));
	v->size = size;
	v->wait_ms = wait_ms;
	v->state = VERIFY_ACTIVE;
	*out = v;
	return 0;
}

void verify_free(struct verify *v)
{
	if (!v)
		return;
	drop_md5(&v->md5);
	drop_md5(&v->outer);
	pthread_cond_destroy(&v->moved);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

/* Hashes n more bytes at v->pos and advances it (lock held). A multipart
 * object's bytes go to the current part's MD5, whose digest feeds the outer
 * MD5 where the layout says the part ends. -ENOMEM (the check stops). */
static int hash_locked(struct verify *v, const char *p, size_t n)
{
	while (n > 0) {
		size_t take = n;
		if (v->outer && v->pos < v->part_end && v->part_end - v->pos < take)
			take = (size_t)(v->part_end - v->pos);
		if (crypto_md5_update(v->md5, p, take))
			return hash_failed_locked(v);
		v->pos += take;
		p += take;
		n -= take;
		if (v->outer && v->pos == v->part_end && v->pos < v->size) {
			uint8_t d[CRYPTO_MD5_LEN];
			int rc = crypto_md5_final(v->md5, d);
			v->md5 = NULL;
			if (rc || crypto_md5_update(v->outer, d, sizeof(d)))
				return hash_failed_locked(v);
			v->md5 = crypto_md5_new();
			if (!v->md5) {
				v->state = VERIFY_OFF;
				return -ENOMEM;
			}
			v->part++;
			uint64_t next = mpu_layout_part_size(&v->layout, v->part);
			v->part_end = next && v->size - v->pos > next ? v->pos + next : v->size;
		}
	}
	return 0;
}

/* Every byte was hashed (lock held): compare with the ETag. */
static void finish_locked(struct verify *v)
{
	uint8_t got[CRYPTO_MD5_LEN];
	int rc = crypto_md5_final(v->md5, got);
	v->md5 = NULL;
	int ok = v->pos == v->size;
	if (v->outer) {
		if (!rc)
			rc = crypto_md5_update(v->outer, got, sizeof(got));
		int frc = crypto_md5_final(v->outer, got);
		v->outer = NULL;
		rc = rc ? rc : frc;
		ok = ok && v->part == v->nparts;
	}
	if (rc) {
		(void)hash_failed_locked(v);
		return;
	}
	v->state = ok && memcmp(got, v->want, sizeof(got)) == 0 ? VERIFY_GOOD : VERIFY_BAD;
}

/* Stops checking (lock held). */
static void verify_off_locked(struct verify *v)
{
	v->state = VERIFY_OFF;
	pthread_cond_broadcast(&v->moved);
}

int verify_feed(struct verify *v, uint64_t off, const struct iovec *iov, int niov)
{
	if (!v)
		return 0;
	uint64_t len = 0;
	for (int i = 0; i < niov; i++)
		len += iov[i].iov_len;
	int rc = 0;
	pthread_mutex_lock(&v->lock);
	if (v->state == VERIFY_ACTIVE && off > v->pos + VERIFY_REORDER_MAX)
		verify_off_locked(v);
	if (v->state == VERIFY_ACTIVE && off > v->pos) {
		/* A read ahead of the hashed prefix: the reads before it are
		 * normally on other FUSE threads right now. Wait a little. */
		struct timespec dl;
		clock_gettime(CLOCK_MONOTONIC, &dl);
		dl.tv_sec += v->wait_ms / 1000;
		dl.tv_nsec += (long)(v->wait_ms % 1000) * 1000000L;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
		while (v->state == VERIFY_ACTIVE && off > v->pos) {
			if (pthread_cond_timedwait(&v->moved, &v->lock, &dl) == ETIMEDOUT) {
				if (off > v->pos)
					verify_off_locked(v);
				break;
			}
		}
	}
	if (v->state == VERIFY_ACTIVE && off <= v->pos && off + len > v->pos) {
		/* Hash the part past the prefix (a re-read overlaps it). */
		uint64_t skip = v->pos - off;
		for (int i = 0; i < niov && v->state == VERIFY_ACTIVE; i++) {
			const char *p = iov[i].iov_base;
			size_t n = iov[i].iov_len;
			if (skip >= n) {
				skip -= n;
				continue;
			}
			if (hash_locked(v, p + skip, n - (size_t)skip) != 0)
				break;
			skip = 0;
		}
		if (v->state == VERIFY_ACTIVE && v->pos >= v->size)
			finish_locked(v);
		pthread_cond_broadcast(&v->moved);
	}
	if (v->state == VERIFY_BAD)
		rc = -EIO;
	pthread_mutex_unlock(&v->lock);
	return rc;
}

int verify_stop(struct verify *v)
{
	pthread_mutex_lock(&v->lock);
	int was = v->state == VERIFY_ACTIVE;
	if (was)
		verify_off_locked(v);
	pthread_mutex_unlock(&v->lock);
	return was;
}

enum verify_state verify_state(struct verify *v)
{
	pthread_mutex_lock(&v->lock);
	enum verify_state s = v->state;
	pthread_mutex_unlock(&v->lock);
	return s;
}
