/* verify.c: see verify.h. */
#include "verify.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"

/* A read further than this past the hashed prefix is not a reordered
 * readahead (the kernel's window is a few MiB) but random access: stop at
 * once instead of waiting. */
#define VERIFY_REORDER_MAX ((uint64_t)32 << 20)

struct verify {
	pthread_mutex_t lock;
	pthread_cond_t moved; /* pos advanced or the state changed */
	struct crypto_md5_ctx *md5; /* NULL once finalised */
	uint8_t want[CRYPTO_MD5_LEN];
	uint64_t size; /* bytes */
	uint64_t pos;  /* bytes hashed so far (a prefix); protected by lock */
	enum verify_state state; /* protected by lock */
	int wait_ms;
};

/* The 16 bytes of a plain-MD5 ETag, or -EINVAL. */
static int verify_parse(const char *etag, uint8_t out[CRYPTO_MD5_LEN])
{
	if (!etag)
		return -EINVAL;
	size_t n = strlen(etag);
	if (n == 34 && etag[0] == '"' && etag[33] == '"') {
		etag++;
		n = 32;
	}
	if (n != 32)
		return -EINVAL;
	for (int i = 0; i < CRYPTO_MD5_LEN; i++) {
		int h = crypto_hexval(etag[2 * i]), l = crypto_hexval(etag[2 * i + 1]);
		if (h < 0 || l < 0)
			return -EINVAL;
		out[i] = (uint8_t)(h << 4 | l);
	}
	return 0;
}

int verify_etag_is_md5(const char *etag)
{
	uint8_t d[CRYPTO_MD5_LEN];
	return verify_parse(etag, d) == 0;
}

int verify_new(const char *etag, uint64_t size, int wait_ms, struct verify **out)
{
	*out = NULL;
	uint8_t want[CRYPTO_MD5_LEN];
	if (size == 0 || verify_parse(etag, want) != 0)
		return 0;
	struct verify *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->md5 = crypto_md5_new();
	if (!v->md5) {
		free(v);
		return -ENOMEM;
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
	if (v->md5) {
		uint8_t d[CRYPTO_MD5_LEN];
		crypto_md5_final(v->md5, d); /* also frees it */
	}
	pthread_cond_destroy(&v->moved);
	pthread_mutex_destroy(&v->lock);
	free(v);
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
		for (int i = 0; i < niov; i++) {
			const char *p = iov[i].iov_base;
			size_t n = iov[i].iov_len;
			if (skip >= n) {
				skip -= n;
				continue;
			}
			crypto_md5_update(v->md5, p + skip, n - (size_t)skip);
			skip = 0;
		}
		v->pos = off + len;
		if (v->pos >= v->size) {
			uint8_t got[CRYPTO_MD5_LEN];
			crypto_md5_final(v->md5, got);
			v->md5 = NULL;
			v->state = v->pos == v->size && memcmp(got, v->want, sizeof(got)) == 0
				       ? VERIFY_GOOD
				       : VERIFY_BAD;
		}
		pthread_cond_broadcast(&v->moved);
	}
	if (v->state == VERIFY_BAD)
		rc = -EIO;
	pthread_mutex_unlock(&v->lock);
	return rc;
}

enum verify_state verify_state(struct verify *v)
{
	pthread_mutex_lock(&v->lock);
	enum verify_state s = v->state;
	pthread_mutex_unlock(&v->lock);
	return s;
}
