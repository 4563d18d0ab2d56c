/* verify.c: see verify.h. */
#include "verify.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "crc.h"
#include "crypto.h"
#include "log.h"
#include "monoclock.h"
#include "mpu.h"

/* A read further than this past the hashed prefix is not a reordered
 * readahead (the kernel's window is a few MiB) but random access: stop at
 * once instead of waiting. */
#define VERIFY_REORDER_MAX ((uint64_t)32 << 20)
/* How long a read ahead of the hashed prefix waits while a read that covers
 * the gap is still in flight (verify_read_begin): on a loaded machine that
 * read may wait on its GET for seconds, and giving up would leave a
 * sequential read unchecked. Bounded because the waiting read holds its
 * pinned blocks: at a tiny budget the read it waits for could be waiting
 * for that memory (then this is a stall of this length, and the check gives
 * up, logged). */
#define VERIFY_INFLIGHT_WAIT_MS 10000
#define MIB ((uint64_t)1 << 20)

/* One MD5 computation of the ETag: plain (the whole object) or multipart
 * under one layout (each part's MD5 feeds the outer one). */
struct md5_track {
	struct crypto_md5_ctx *md5;   /* the whole object's, or the current part's;
				       * NULL once finalised */
	struct crypto_md5_ctx *outer; /* multipart: MD5 of the parts' digests */
	struct mpu_layout layout;     /* multipart: how the parts are cut */
	int part;		      /* multipart: 1-based part being hashed */
	uint64_t part_end;	      /* multipart: offset where that part ends */
	uint64_t pos;		      /* bytes this track hashed */
	int dead;		      /* MD5 failed: this track gives no verdict */
	const char *tool;	      /* guessed layouts: whose part size */
};

struct verify {
	pthread_mutex_t lock;
	pthread_cond_t moved; /* pos advanced or the state changed */
	enum verify_mode mode;
	/* VERIFY_MODE_CRC: the algorithm, the running CRC and the wanted one;
	 * VERIFY_MODE_GUESSED: CRC64NVME of what was delivered */
	enum s3_cksum_alg alg;
	uint64_t crc, want_crc;
	/* the ETag modes */
	struct md5_track tracks[VERIFY_GUESSES_MAX];
	int ntracks;
	int nparts;		/* the ETag's part count; 0 for a plain MD5 ETag */
	char etag[S3_ETAG_MAX]; /* VERIFY_MODE_GUESSED: the version to fetch again */
	uint8_t want[CRYPTO_MD5_LEN];
	uint64_t size;		 /* bytes */
	uint64_t pos;		 /* bytes hashed so far (a prefix); protected by lock */
	enum verify_state state; /* protected by lock */
	int wait_ms;
	/* reads begun and not yet fed (verify_read_begin); a slot with len 0 is
	 * free. More at once than slots (FUSE threads) are not tracked. */
	struct {
		uint64_t off, len;
	} inflight[VERIFY_INFLIGHT_MAX];
	int gave_up;  /* why reads out of order turned the check off (verify_gave_up) */
	int reported; /* 1: verify_gave_up said so */
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

int verify_etag_is_md5(const char *etag)
{
	uint8_t d[CRYPTO_MD5_LEN];
	return verify_hex(etag, d, 0) == 0;
}

/* ---- the part sizes of common uploaders ---- */

static uint64_t ceil_div(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

static uint64_t round_up(uint64_t a, uint64_t m)
{
	return ceil_div(a, m) * m;
}

/* Each tool's default part size and what it does when that would take more
 * than 10,000 parts, as we know their current versions (not checked against
 * every release; a rule we get wrong costs a second download, never a wrong
 * verdict):
 *   AWS CLI / boto3 (s3transfer): 8 MiB, doubled until <= 10,000 parts;
 *   AWS SDK for Go (s3manager): 5 MiB, else size / 10,000 + 1 bytes;
 *   rclone: 5 MiB, else size / 10,000 rounded up to whole MiB;
 *   s3fs: 10 MiB, s3cmd: 15 MiB (fixed);
 *   MinIO client (minio-go): 16 MiB, else size / 10,000 rounded up to a
 *   multiple of 16 MiB (64 MiB in minio-go before v7). */
static uint64_t part_size_of(int tool, uint64_t size)
{
	uint64_t p;
	switch (tool) {
	case 0:
		p = 8 * MIB;
		while (ceil_div(size, p) > S3_MAX_PARTS)
			p *= 2;
		return p;
	case 1:
		p = 5 * MIB;
		return size / p >= S3_MAX_PARTS ? size / S3_MAX_PARTS + 1 : p;
	case 2:
		p = 5 * MIB;
		return ceil_div(size, p) > S3_MAX_PARTS
			   ? round_up(ceil_div(size, S3_MAX_PARTS), MIB)
			   : p;
	case 3:
		return 10 * MIB;
	case 4:
		return 15 * MIB;
	case 5:
	case 6:
		p = tool == 5 ? 16 * MIB : 64 * MIB;
		return size / S3_MAX_PARTS > p ? round_up(size / S3_MAX_PARTS, p) : p;
	}
	return 0;
}

static const char *const tool_names[] = {
    "aws-cli/boto3 (8 MiB)", "AWS SDK for Go (5 MiB)", "rclone (5 MiB)",       "s3fs (10 MiB)",
    "s3cmd (15 MiB)",	     "MinIO client (16 MiB)",  "minio-go v6 (64 MiB)",
};
#define NTOOLS ((int)(sizeof(tool_names) / sizeof(tool_names[0])))

int verify_guesses(uint64_t size, int nparts, struct verify_guess out[VERIFY_GUESSES_MAX])
{
	int n = 0;
	if (size == 0 || nparts < 1 || nparts > S3_MAX_PARTS)
		return 0;
	for (int t = 0; t < NTOOLS && n < VERIFY_GUESSES_MAX; t++) {
		uint64_t p = part_size_of(t, size);
		if (p == 0 || p > S3_MAX_PART_SIZE || ceil_div(size, p) != (uint64_t)nparts)
			continue;
		int dup = 0;
		for (int i = 0; i < n; i++)
			dup |= out[i].part_size == p;
		if (!dup)
			out[n++] = (struct verify_guess){p, tool_names[t]};
	}
	return n;
}

/* ---- construction ---- */

static void track_drop(struct md5_track *t)
{
	crypto_md5_free(t->md5);
	crypto_md5_free(t->outer);
	t->md5 = t->outer = NULL;
}

static int track_init(struct md5_track *t, const struct mpu_layout *l, uint64_t size)
{
	memset(t, 0, sizeof(*t));
	t->md5 = crypto_md5_new();
	if (l)
		t->outer = crypto_md5_new();
	if (!t->md5 || (l && !t->outer)) {
		track_drop(t);
		return -ENOMEM;
	}
	if (l) {
		t->layout = *l;
		t->part = 1;
		t->part_end = mpu_layout_part_size(l, 1);
		if (t->part_end > size)
			t->part_end = size;
	}
	return 0;
}

/* A FULL_OBJECT CRC this code can compute, or NULL. */
static const struct s3_checksum *usable_crc(const struct s3_checksum *c)
{
	if (!c || !c->full_object)
		return NULL;
	return c->alg == S3_CKSUM_CRC64NVME || c->alg == S3_CKSUM_CRC32C || c->alg == S3_CKSUM_CRC32
		   ? c
		   : NULL;
}

int verify_new_spec(const struct verify_spec *s, struct verify **out)
{
	*out = NULL;
	if (s->size == 0)
		return 0;
	struct verify *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	const struct s3_checksum *ck = usable_crc(s->checksum);
	int rc = 0;
	if (ck) {
		v->mode = VERIFY_MODE_CRC;
		v->alg = ck->alg;
		v->want_crc = ck->value;
	} else if (verify_hex(s->etag, v->want, 0) == 0) {
		v->mode = VERIFY_MODE_MD5;
		v->ntracks = 1;
		rc = track_init(&v->tracks[0], NULL, s->size);
	} else {
		/* multipart: a layout that predicts the ETag's part count, or
		 * the guesses */
		v->nparts = mpu_etag_parts(s->etag);
		if (v->nparts < 0 || verify_hex(s->etag, v->want, 1) != 0) {
			free(v);
			return 0;
		}
		if (s->layout && mpu_layout_parts(s->layout, s->size) == v->nparts) {
			v->mode = VERIFY_MODE_MD5;
			v->ntracks = 1;
			rc = track_init(&v->tracks[0], s->layout, s->size);
		} else if (s->infer) {
			v->mode = VERIFY_MODE_GUESSED;
			v->alg = S3_CKSUM_CRC64NVME;
			snprintf(v->etag, sizeof(v->etag), "%s", s->etag);
			struct verify_guess g[VERIFY_GUESSES_MAX];
			int ng = verify_guesses(s->size, v->nparts, g);
			for (int i = 0; i < ng && !rc; i++) {
				struct mpu_layout l;
				if (mpu_layout_uniform(s->size, v->nparts, g[i].part_size, &l) != 0)
					continue;
				rc = track_init(&v->tracks[v->ntracks], &l, s->size);
				if (!rc)
					v->tracks[v->ntracks++].tool = g[i].tool;
			}
		} else {
			free(v);
			return 0;
		}
	}
	if (rc) {
		for (int i = 0; i < v->ntracks; i++)
			track_drop(&v->tracks[i]);
		free(v);
		return rc;
	}
	pthread_mutex_init(&v->lock, NULL);
	mono_cond_init(&v->moved);
	v->size = s->size;
	v->wait_ms = s->wait_ms;
	v->state = VERIFY_ACTIVE;
	*out = v;
	return 0;
}

int verify_new(const char *etag, uint64_t size, const struct mpu_layout *layout, int wait_ms,
	       struct verify **out)
{
	struct verify_spec s = {.etag = etag, .size = size, .layout = layout, .wait_ms = wait_ms};
	return verify_new_spec(&s, out);
}

void verify_free(struct verify *v)
{
	if (!v)
		return;
	for (int i = 0; i < v->ntracks; i++)
		track_drop(&v->tracks[i]);
	pthread_cond_destroy(&v->moved);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

enum verify_mode verify_mode(struct verify *v)
{
	return v->mode;
}

const char *verify_what(struct verify *v)
{
	switch (v->mode) {
	case VERIFY_MODE_CRC:
		return v->alg == S3_CKSUM_CRC64NVME ? "CRC64NVME"
		       : v->alg == S3_CKSUM_CRC32C  ? "CRC32C"
						    : "CRC32";
	case VERIFY_MODE_MD5:
		return "ETag (MD5)";
	case VERIFY_MODE_GUESSED:
		break;
	}
	return "ETag (MD5, guessed part layout)";
}

const char *verify_etag(struct verify *v)
{
	return v->etag;
}

/* ---- hashing ---- */

/* MD5 itself failed on a track (crypto.h logged OpenSSL's reason): it gives
 * no verdict. When no track is left the handle reads on unchecked rather
 * than fail a good file (a guessed-layout check still has its second
 * download). */
static void track_failed_locked(struct verify *v, struct md5_track *t)
{
	track_drop(t);
	t->dead = 1;
	log_warn("ETag check of this read: MD5 failed");
	int alive = 0;
	for (int i = 0; i < v->ntracks; i++)
		alive |= !v->tracks[i].dead;
	if (!alive && v->mode == VERIFY_MODE_MD5)
		v->state = VERIFY_OFF;
}

/* Hashes n bytes that follow t->pos into track t. A multipart track's bytes
 * go to the current part's MD5, whose digest feeds the outer MD5 where the
 * layout says the part ends. */
static void track_hash_locked(struct verify *v, struct md5_track *t, const char *p, size_t n)
{
	while (n > 0 && !t->dead) {
		size_t take = n;
		if (t->outer && t->pos < t->part_end && t->part_end - t->pos < take)
			take = (size_t)(t->part_end - t->pos);
		if (crypto_md5_update(t->md5, p, take)) {
			track_failed_locked(v, t);
			return;
		}
		t->pos += take;
		p += take;
		n -= take;
		if (t->outer && t->pos == t->part_end && t->pos < v->size) {
			uint8_t d[CRYPTO_MD5_LEN];
			int rc = crypto_md5_final(t->md5, d);
			t->md5 = NULL;
			if (!rc)
				rc = crypto_md5_update(t->outer, d, sizeof(d));
			if (!rc)
				t->md5 = crypto_md5_new();
			if (rc || !t->md5) {
				track_failed_locked(v, t);
				return;
			}
			t->part++;
			uint64_t next = mpu_layout_part_size(&t->layout, t->part);
			t->part_end = next && v->size - t->pos > next ? t->pos + next : v->size;
		}
	}
}

static void crc_update(struct verify *v, const char *p, size_t n)
{
	switch (v->alg) {
	case S3_CKSUM_CRC64NVME:
		v->crc = crc64nvme(v->crc, p, n);
		break;
	case S3_CKSUM_CRC32C:
		v->crc = crc32c((uint32_t)v->crc, p, n);
		break;
	case S3_CKSUM_CRC32:
		v->crc = crc32_z((uLong)v->crc, (const Bytef *)p, n);
		break;
	case S3_CKSUM_NONE:
		break;
	}
}

/* Hashes n more bytes at v->pos and advances it (lock held). */
static void hash_locked(struct verify *v, const char *p, size_t n)
{
	if (v->mode != VERIFY_MODE_MD5)
		crc_update(v, p, n);
	for (int i = 0; i < v->ntracks; i++)
		track_hash_locked(v, &v->tracks[i], p, n);
	v->pos += n;
}

/* 1 when track t's digest equals the ETag (it is finalised). */
static int track_matches(struct verify *v, struct md5_track *t)
{
	if (t->dead)
		return 0;
	uint8_t got[CRYPTO_MD5_LEN];
	int rc = crypto_md5_final(t->md5, got);
	t->md5 = NULL;
	int ok = t->pos == v->size;
	if (t->outer) {
		if (!rc)
			rc = crypto_md5_update(t->outer, got, sizeof(got));
		int frc = crypto_md5_final(t->outer, got);
		t->outer = NULL;
		rc = rc ? rc : frc;
		ok = ok && t->part == v->nparts;
	}
	if (rc) {
		track_failed_locked(v, t);
		return 0;
	}
	return ok && memcmp(got, v->want, sizeof(got)) == 0;
}

/* Every byte was hashed (lock held): the verdict. */
static void finish_locked(struct verify *v)
{
	if (v->mode == VERIFY_MODE_CRC) {
		v->state = v->crc == v->want_crc ? VERIFY_GOOD : VERIFY_BAD;
		return;
	}
	int match = 0;
	for (int i = 0; i < v->ntracks; i++) {
		if (track_matches(v, &v->tracks[i]) && !match) {
			match = 1;
			if (v->mode == VERIFY_MODE_GUESSED)
				log_debug("read: the ETag matches parts of %llu bytes (%s)",
					  (unsigned long long)v->tracks[i].layout.base,
					  v->tracks[i].tool);
		}
	}
	if (v->state != VERIFY_ACTIVE) /* every MD5 track failed */
		return;
	if (match)
		v->state = VERIFY_GOOD;
	else
		v->state = v->mode == VERIFY_MODE_GUESSED ? VERIFY_DECIDE : VERIFY_BAD;
}

/* Stops checking (lock held). */
static void verify_off_locked(struct verify *v)
{
	v->state = VERIFY_OFF;
	pthread_cond_broadcast(&v->moved);
}

int verify_read_begin(struct verify *v, uint64_t off, size_t len)
{
	if (!v || len == 0)
		return -1;
	int slot = -1;
	pthread_mutex_lock(&v->lock);
	for (int i = 0; i < VERIFY_INFLIGHT_MAX && slot < 0; i++)
		if (v->inflight[i].len == 0)
			slot = i;
	if (slot >= 0) {
		v->inflight[slot].off = off;
		v->inflight[slot].len = len;
	}
	pthread_mutex_unlock(&v->lock);
	return slot;
}

void verify_read_end(struct verify *v, int slot)
{
	if (!v || slot < 0 || slot >= VERIFY_INFLIGHT_MAX)
		return;
	pthread_mutex_lock(&v->lock);
	v->inflight[slot].len = 0;
	/* a waiter may have been waiting for this read */
	pthread_cond_broadcast(&v->moved);
	pthread_mutex_unlock(&v->lock);
}

/* 1 when a read in flight covers the next byte to hash (lock held): a read
 * ahead of it then waits for that one instead of giving up. */
static int gap_filler_locked(struct verify *v)
{
	for (int i = 0; i < VERIFY_INFLIGHT_MAX; i++)
		if (v->inflight[i].len && v->inflight[i].off <= v->pos &&
		    v->pos - v->inflight[i].off < v->inflight[i].len)
			return 1;
	return 0;
}

/* The absolute time of a deadline of mono_ms() ms, for the timed waits of
 * the monotonic condition variable. */
static struct timespec mono_ts(uint64_t ms)
{
	return (struct timespec){(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
}

/* Stops checking because the reads did not come in order (lock held). */
static void verify_give_up_locked(struct verify *v, int why)
{
	verify_off_locked(v);
	v->gave_up = why;
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
		verify_give_up_locked(v, VERIFY_GAVE_UP_JUMP);
	if (v->state == VERIFY_ACTIVE && off > v->pos) {
		/* A read ahead of the hashed prefix: the reads before it are
		 * normally on other FUSE threads right now. Wait a little, and
		 * as long as a read covering the gap is known to be in flight
		 * (up to a minute): it may be waiting on its GET. */
		uint64_t now = mono_ms();
		uint64_t dl = now + (uint64_t)v->wait_ms, dl_long = now + VERIFY_INFLIGHT_WAIT_MS;
		while (v->state == VERIFY_ACTIVE && off > v->pos) {
			uint64_t d = gap_filler_locked(v) ? dl_long : dl;
			if (mono_ms() >= d) {
				verify_give_up_locked(v, VERIFY_GAVE_UP_WAIT);
				break;
			}
			struct timespec ts = mono_ts(d);
			pthread_cond_timedwait(&v->moved, &v->lock, &ts);
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
			hash_locked(v, p + skip, n - (size_t)skip);
			skip = 0;
		}
		if (v->state == VERIFY_ACTIVE && v->pos >= v->size) {
			finish_locked(v);
			if (v->state == VERIFY_DECIDE)
				rc = VERIFY_FEED_DECIDE; /* this caller downloads again */
		}
		pthread_cond_broadcast(&v->moved);
	} else if (v->state == VERIFY_DECIDE && off + len >= v->size) {
		/* another read of the end: not before the second download decided */
		while (v->state == VERIFY_DECIDE)
			pthread_cond_wait(&v->moved, &v->lock);
	}
	if (v->state == VERIFY_BAD)
		rc = -EIO;
	pthread_mutex_unlock(&v->lock);
	return rc;
}

int verify_decide(struct verify *v, int rc, uint64_t crc, uint64_t len)
{
	pthread_mutex_lock(&v->lock);
	int out = 0;
	if (v->state == VERIFY_DECIDE) {
		if (rc < 0)
			out = rc;
		else if (len != v->size || crc != v->crc)
			out = -EIO;
		v->state = out ? VERIFY_BAD : VERIFY_GOOD;
		pthread_cond_broadcast(&v->moved);
	} else if (v->state == VERIFY_BAD) {
		out = -EIO;
	}
	pthread_mutex_unlock(&v->lock);
	return out;
}

int verify_stop(struct verify *v)
{
	if (v->mode == VERIFY_MODE_CRC)
		return 0;
	pthread_mutex_lock(&v->lock);
	int was = v->state == VERIFY_ACTIVE;
	if (was)
		verify_off_locked(v);
	pthread_mutex_unlock(&v->lock);
	return was;
}

int verify_gave_up(struct verify *v)
{
	if (!v)
		return 0;
	pthread_mutex_lock(&v->lock);
	int r = v->reported ? 0 : v->gave_up;
	if (r)
		v->reported = 1;
	pthread_mutex_unlock(&v->lock);
	return r;
}

enum verify_state verify_state(struct verify *v)
{
	pthread_mutex_lock(&v->lock);
	enum verify_state s = v->state;
	pthread_mutex_unlock(&v->lock);
	return s;
}
