/* test_upload.c: the upload state machine (upload.c) against an in-memory
 * stand-in for the S3 calls it makes, so failures can be injected at exact
 * points and concurrency and the budget observed. The stand-in defines the
 * s3_* functions upload.c uses; the real client is never linked in (nothing
 * here references another symbol of shared/s3*.c). The same behaviour is tested on
 * Ceph RGW by tests/integration/it_upload.c.
 * Like RGW, the stand-in answers CompleteMultipartUpload with an empty ETag,
 * requires every part but the last to be >= 5 MiB, and computes the
 * multipart ETag (md5 of the part md5s, "-N"). Like S3 with checksums
 * (issue 13) it checks a declared CRC on every PutObject and UploadPart
 * (-EIO, S3's BadDigest, on a mismatch), echoes it when fs3.echo is set,
 * and at Complete of an upload created with an algorithm wants each part's
 * CRC in the list and the whole object's (FULL_OBJECT) to match the bytes
 * (-EINVAL otherwise). It counts the bodies sent with and without
 * Content-MD5. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "crc.h"
#include "crypto.h"
#include "s3.h"
#include "t.h"
#include "upload.h"

#define MiB (1u << 20)
#define PART (5 * MiB)
#define MAXOBJ 64
#define MAXMPU 32
#define MAXPARTS 64

/* ---- the stand-in S3 ---- */

struct fobj {
	int used;
	char key[S3_KEY_MAX];
	char *data;
	size_t len;
	char etag[S3_ETAG_MAX];
	char nonce[S3_NONCE_MAX]; /* x-amz-meta-s3mount-upload */
};
struct fmpu {
	int open;
	char key[S3_KEY_MAX];
	char id[32];
	char *pdata[MAXPARTS + 1];
	size_t plen[MAXPARTS + 1];
	enum s3_cksum_alg alg; /* declared at Create */
};
static struct {
	pthread_mutex_t lock;
	struct fobj obj[MAXOBJ];
	struct fmpu mpu[MAXMPU];
	int next_id;
	int fail_part;	   /* part number that fails with -EIO (0: none) */
	int fail_complete; /* Complete fails with this errno (0: none) */
	int complete_lost; /* Complete succeeds but answers -ENOENT (lost response) */
	int commit_lost;   /* a commit lands, then its retry fails its condition */
	int conflict_409;  /* a conditional commit answers 409 ConditionalRequestConflict */
	int part_delay_ms;
	int inflight, max_inflight;
	int copies, puts, creates, aborts, part_copies, gets;
	int echo;		       /* echo checksums (a validating server) */
	int md5_sent, md5_not_sent;    /* bodies with / without Content-MD5 */
	int crc_sent[3];	       /* bodies by enum s3_cksum_alg */
	int bad_digest;		       /* checksums that did not match */
	int full_checked, full_absent; /* Completes with / without the object's CRC */
} fs3 = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void md5_etag(const void *d, size_t n, char out[S3_ETAG_MAX])
{
	uint8_t md[CRYPTO_MD5_LEN];
	char hex[33];
	crypto_md5(d, n, md);
	crypto_hex(md, sizeof(md), hex);
	snprintf(out, S3_ETAG_MAX, "\"%s\"", hex);
}

static uint64_t crc_of(enum s3_cksum_alg alg, const void *d, size_t n)
{
	return alg == S3_CKSUM_CRC32C ? crc32c(0, d, n) : crc64nvme(0, d, n);
}

/* What S3 does with a body's checksum; fs3.lock held. 0 or -EIO. */
static int check_body(struct s3_cksum *ck, const void *d, size_t n)
{
	if (!ck || !ck->no_md5)
		fs3.md5_sent++;
	else
		fs3.md5_not_sent++;
	if (!ck || ck->alg == S3_CKSUM_NONE)
		return 0;
	fs3.crc_sent[ck->alg]++;
	if (crc_of(ck->alg, d, n) != ck->crc) {
		fs3.bad_digest++;
		return -EIO;
	}
	ck->echoed = fs3.echo;
	return 0;
}

static struct fobj *find_obj(const char *key)
{
	for (int i = 0; i < MAXOBJ; i++)
		if (fs3.obj[i].used && strcmp(fs3.obj[i].key, key) == 0)
			return &fs3.obj[i];
	return NULL;
}

/* Stores (takes ownership of data). */
static void store(const char *key, char *data, size_t len, const char *etag)
{
	struct fobj *o = find_obj(key);
	for (int i = 0; !o && i < MAXOBJ; i++)
		if (!fs3.obj[i].used)
			o = &fs3.obj[i];
	if (!o)
		abort();
	if (o->used)
		free(o->data);
	o->used = 1;
	snprintf(o->key, sizeof(o->key), "%s", key);
	o->data = data;
	o->len = len;
	snprintf(o->etag, sizeof(o->etag), "%s", etag);
}

/* S3's conditional commit (If-None-Match: *, If-Match): 0 when it may
 * write, else what s3_put / s3_mpu_complete_if return. fs3.lock held. */
static int cond_check(const char *key, const struct s3_put_opts *cond)
{
	struct fobj *o = find_obj(key);
	if (cond && cond->if_none_match && o)
		return -EEXIST;
	if (cond && cond->if_match && (!o || strcmp(o->etag, cond->if_match) != 0))
		return -ESTALE;
	return 0;
}

static void set_nonce(const char *key, const char *nonce)
{
	struct fobj *o = find_obj(key);
	if (o)
		snprintf(o->nonce, sizeof(o->nonce), "%s", nonce ? nonce : "");
}

static struct fmpu *find_mpu(const char *key, const char *id)
{
	for (int i = 0; i < MAXMPU; i++)
		if (fs3.mpu[i].open && !strcmp(fs3.mpu[i].key, key) && !strcmp(fs3.mpu[i].id, id))
			return &fs3.mpu[i];
	return NULL;
}

static void mpu_drop(struct fmpu *m)
{
	for (int i = 0; i <= MAXPARTS; i++) {
		free(m->pdata[i]);
		m->pdata[i] = NULL;
	}
	m->open = 0;
}

int s3_put(struct s3_client *c, const char *key, const void *data, size_t len,
	   const struct s3_put_opts *opts, char etag[S3_ETAG_MAX])
{
	pthread_mutex_lock(&fs3.lock);
	int rc = check_body(opts ? opts->cksum : NULL, data, len);
	if (rc == 0)
		rc = cond_check(key, opts);
	if (!rc && fs3.conflict_409 && opts && (opts->if_match || opts->if_none_match))
		rc = -EBUSY;
	if (rc == 0) {
		char *copy = malloc(len ? len : 1);
		memcpy(copy, data, len);
		md5_etag(data, len, etag);
		store(key, copy, len, etag);
		fs3.puts++;
		const char *nonce = NULL;
		for (int i = 0; opts && opts->meta && opts->meta[i]; i += 2)
			if (strcmp(opts->meta[i], S3_NONCE_META) == 0)
				nonce = opts->meta[i + 1];
		set_nonce(key, nonce);
		if (fs3.commit_lost && opts && (opts->if_match || opts->if_none_match))
			rc = opts->if_none_match ? -EEXIST : -ESTALE; /* the retry's answer */
	}
	pthread_mutex_unlock(&fs3.lock);
	return rc;
}

int s3_head(struct s3_client *c, const char *key, struct s3_object_info *info)
{
	int rc = -ENOENT;
	pthread_mutex_lock(&fs3.lock);
	struct fobj *o = find_obj(key);
	if (o) {
		info->size = o->len;
		info->mtime = time(NULL);
		snprintf(info->etag, sizeof(info->etag), "%s", o->etag);
		snprintf(info->upload_nonce, sizeof(info->upload_nonce), "%s", o->nonce);
		info->parts_layout[0] = '\0';
		info->etag_not_md5 = 0;
		rc = 0;
	}
	pthread_mutex_unlock(&fs3.lock);
	return rc;
}

int s3_copy(struct s3_client *c, const char *src_key, const char *dst_key, uint64_t src_size,
	    char etag[S3_ETAG_MAX])
{
	int rc = -ENOENT;
	pthread_mutex_lock(&fs3.lock);
	struct fobj *o = find_obj(src_key);
	if (o) {
		char *copy = malloc(o->len ? o->len : 1);
		memcpy(copy, o->data, o->len);
		snprintf(etag, S3_ETAG_MAX, "%s", o->etag);
		char e[S3_ETAG_MAX];
		memcpy(e, o->etag, sizeof(e));
		store(dst_key, copy, o->len, e);
		fs3.copies++;
		rc = 0;
	}
	pthread_mutex_unlock(&fs3.lock);
	return rc;
}

int s3_delete(struct s3_client *c, const char *key)
{
	pthread_mutex_lock(&fs3.lock);
	struct fobj *o = find_obj(key);
	if (o) {
		free(o->data);
		o->used = 0;
	}
	pthread_mutex_unlock(&fs3.lock);
	return 0;
}

int s3_mpu_create(struct s3_client *c, const char *key, const struct s3_put_opts *opts,
		  char upload_id[S3_UPLOAD_ID_MAX])
{
	int rc = -EIO;
	pthread_mutex_lock(&fs3.lock);
	for (int i = 0; i < MAXMPU; i++) {
		if (fs3.mpu[i].open)
			continue;
		fs3.mpu[i].open = 1;
		snprintf(fs3.mpu[i].key, sizeof(fs3.mpu[i].key), "%s", key);
		snprintf(fs3.mpu[i].id, sizeof(fs3.mpu[i].id), "id%d", ++fs3.next_id);
		snprintf(upload_id, S3_UPLOAD_ID_MAX, "%s", fs3.mpu[i].id);
		fs3.mpu[i].alg = opts && opts->cksum ? opts->cksum->alg : S3_CKSUM_NONE;
		fs3.creates++;
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&fs3.lock);
	return rc;
}

int s3_nonce_new(char nonce[S3_NONCE_MAX])
{
	static atomic_uint n;
	snprintf(nonce, S3_NONCE_MAX, "%032x", atomic_fetch_add(&n, 1) + 1);
	return 0;
}

int s3_mpu_create_layout(struct s3_client *c, const char *key, const struct mpu_layout *l,
			 const char *nonce, enum s3_cksum_alg alg, char upload_id[S3_UPLOAD_ID_MAX])
{
	(void)l;     /* the recorded layout is checked against RGW in it_fault_read */
	(void)nonce; /* and the nonce in it_complete_owner */
	struct s3_cksum ck = {.alg = alg};
	struct s3_put_opts o = {.cksum = &ck};
	return s3_mpu_create(c, key, &o, upload_id);
}

int s3_mpu_upload_part(struct s3_client *c, const char *key, const char *upload_id, int part_number,
		       const void *data, size_t len, struct s3_cksum *ck, char etag[S3_ETAG_MAX])
{
	pthread_mutex_lock(&fs3.lock);
	fs3.inflight++;
	if (fs3.inflight > fs3.max_inflight)
		fs3.max_inflight = fs3.inflight;
	int delay = fs3.part_delay_ms;
	int fail = fs3.fail_part == part_number;
	pthread_mutex_unlock(&fs3.lock);
	if (delay) {
		struct timespec ts = {0, (long)delay * 1000000L};
		nanosleep(&ts, NULL);
	}
	char *copy = malloc(len ? len : 1);
	memcpy(copy, data, len);
	md5_etag(data, len, etag);
	pthread_mutex_lock(&fs3.lock);
	fs3.inflight--;
	int rc = check_body(ck, data, len);
	struct fmpu *m = find_mpu(key, upload_id);
	if (rc) {
		free(copy);
	} else if (fail || !m || part_number < 1 || part_number > MAXPARTS) {
		rc = fail ? -EIO : -ENOENT;
		free(copy);
	} else {
		free(m->pdata[part_number]);
		m->pdata[part_number] = copy;
		m->plen[part_number] = len;
	}
	pthread_mutex_unlock(&fs3.lock);
	return rc;
}

int s3_mpu_upload_part_copy(struct s3_client *c, const char *key, const char *upload_id,
			    int part_number, const char *src_key, uint64_t off, uint64_t len,
			    const char *src_etag, char etag[S3_ETAG_MAX])
{
	int rc = 0;
	pthread_mutex_lock(&fs3.lock);
	struct fobj *o = find_obj(src_key);
	struct fmpu *m = find_mpu(key, upload_id);
	if (!o || !m || part_number < 1 || part_number > MAXPARTS)
		rc = -ENOENT;
	else if (src_etag && src_etag[0] && strcmp(src_etag, o->etag) != 0)
		rc = -ESTALE;
	else if (off + len > o->len || len == 0)
		rc = -EINVAL;
	if (!rc) {
		char *copy = malloc(len);
		memcpy(copy, o->data + off, len);
		md5_etag(copy, len, etag);
		free(m->pdata[part_number]);
		m->pdata[part_number] = copy;
		m->plen[part_number] = len;
		fs3.part_copies++;
	}
	pthread_mutex_unlock(&fs3.lock);
	return rc;
}

int s3_get_range(struct s3_client *c, const char *key, uint64_t off, size_t len, void *buf,
		 size_t *got, const char *if_match, struct s3_object_info *info)
{
	int rc = -ENOENT;
	pthread_mutex_lock(&fs3.lock);
	struct fobj *o = find_obj(key);
	if (o && if_match && if_match[0] && strcmp(if_match, o->etag) != 0) {
		rc = -ESTALE;
	} else if (o) {
		size_t n = off >= o->len ? 0 : o->len - off < len ? o->len - off : len;
		memcpy(buf, o->data + off, n);
		*got = n;
		fs3.gets++;
		rc = 0;
	}
	pthread_mutex_unlock(&fs3.lock);
	(void)info;
	return rc;
}

int s3_mpu_complete_if(struct s3_client *c, const char *key, const char *upload_id,
		       const struct s3_part *parts, size_t nparts, const char *nonce,
		       const struct s3_cksum *full, const struct s3_put_opts *cond,
		       char etag[S3_ETAG_MAX])
{
	int rc = 0;
	pthread_mutex_lock(&fs3.lock);
	struct fmpu *m = find_mpu(key, upload_id);
	if (m && (rc = cond_check(key, cond)) != 0)
		goto out;
	if (m && fs3.conflict_409 && cond && (cond->if_match || cond->if_none_match)) {
		rc = -EBUSY;
		goto out;
	}
	if (fs3.fail_complete) {
		rc = fs3.fail_complete;
		goto out;
	}
	if (!m) {
		rc = -ENOENT;
		goto out;
	}
	size_t total = 0;
	struct crypto_md5_ctx *ctx = crypto_md5_new();
	for (size_t i = 0; i < nparts; i++) {
		int n = parts[i].number;
		char e[S3_ETAG_MAX];
		if (n != (int)i + 1 || !m->pdata[n] || (i + 1 < nparts && m->plen[n] < PART)) {
			rc = -EINVAL;
			break;
		}
		md5_etag(m->pdata[n], m->plen[n], e);
		if (strcmp(e, parts[i].etag) != 0)
			rc = -EINVAL;
		if (m->alg != S3_CKSUM_NONE) { /* each part's CRC, as S3 computed it */
			char want[S3_CKSUM_B64_MAX];
			s3_cksum_b64(m->alg, crc_of(m->alg, m->pdata[n], m->plen[n]), want);
			if (strcmp(want, parts[i].cksum) != 0)
				rc = -EINVAL;
		}
		uint8_t md[CRYPTO_MD5_LEN];
		crypto_md5(m->pdata[n], m->plen[n], md);
		crypto_md5_update(ctx, md, sizeof(md));
		total += m->plen[n];
	}
	uint8_t md[CRYPTO_MD5_LEN];
	char hex[33], mpetag[S3_ETAG_MAX];
	crypto_md5_final(ctx, md);
	crypto_hex(md, sizeof(md), hex);
	snprintf(mpetag, sizeof(mpetag), "\"%s-%zu\"", hex, nparts);
	if (rc)
		goto out;
	char *data = malloc(total ? total : 1);
	size_t off = 0;
	for (size_t i = 0; i < nparts; i++) {
		memcpy(data + off, m->pdata[i + 1], m->plen[i + 1]);
		off += m->plen[i + 1];
	}
	/* FULL_OBJECT: the object's CRC given at Complete must match */
	if (m->alg != S3_CKSUM_NONE && full) {
		fs3.full_checked++;
		if (full->alg != m->alg || full->crc != crc_of(m->alg, data, total))
			rc = -EINVAL;
	} else if (m->alg != S3_CKSUM_NONE || full) {
		fs3.full_absent++;
		rc = -EINVAL; /* S3 wants it when declared at Create */
	}
	if (rc) {
		free(data);
		goto out;
	}
	store(key, data, total, mpetag);
	set_nonce(key, nonce);
	mpu_drop(m);
	etag[0] = '\0'; /* as Ceph RGW does */
	if (fs3.complete_lost)
		rc = -ENOENT;
	else if (fs3.commit_lost && cond && (cond->if_match || cond->if_none_match))
		rc = cond->if_none_match ? -EEXIST : -ESTALE; /* the retry's answer */
out:
	pthread_mutex_unlock(&fs3.lock);
	return rc;
}

int s3_mpu_abort(struct s3_client *c, const char *key, const char *upload_id)
{
	int rc = -ENOENT;
	pthread_mutex_lock(&fs3.lock);
	struct fmpu *m = find_mpu(key, upload_id);
	if (m) {
		mpu_drop(m);
		fs3.aborts++;
		rc = 0;
	}
	pthread_mutex_unlock(&fs3.lock);
	return rc;
}

static int open_mpus(void)
{
	int n = 0;
	pthread_mutex_lock(&fs3.lock);
	for (int i = 0; i < MAXMPU; i++)
		n += fs3.mpu[i].open;
	pthread_mutex_unlock(&fs3.lock);
	return n;
}

static void reset(void)
{
	pthread_mutex_lock(&fs3.lock);
	for (int i = 0; i < MAXOBJ; i++)
		if (fs3.obj[i].used) {
			free(fs3.obj[i].data);
			fs3.obj[i].used = 0;
		}
	for (int i = 0; i < MAXMPU; i++)
		if (fs3.mpu[i].open)
			mpu_drop(&fs3.mpu[i]);
	fs3.fail_part = fs3.fail_complete = fs3.complete_lost = fs3.part_delay_ms = 0;
	fs3.commit_lost = fs3.conflict_409 = 0;
	fs3.max_inflight = fs3.copies = fs3.puts = fs3.creates = fs3.aborts = 0;
	fs3.part_copies = fs3.gets = 0;
	fs3.echo = fs3.md5_sent = fs3.md5_not_sent = fs3.bad_digest = 0;
	fs3.full_checked = fs3.full_absent = 0;
	memset(fs3.crc_sent, 0, sizeof(fs3.crc_sent));
	pthread_mutex_unlock(&fs3.lock);
}

/* ---- helpers ---- */

static void fill(char *d, size_t n, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		d[i] = (char)x;
	}
}

/* Writes data through u in chunks of odd sizes. */
static int write_chunks(struct upload *u, const char *d, size_t n, size_t chunk)
{
	size_t off = 0;
	while (off < n) {
		size_t k = n - off < chunk ? n - off : chunk;
		ssize_t w = upload_write(u, d + off, k, off);
		if (w < 0)
			return (int)w;
		if ((size_t)w != k)
			return -EIO;
		off += k;
	}
	return 0;
}

static int obj_equals(const char *key, const char *d, size_t n)
{
	pthread_mutex_lock(&fs3.lock);
	struct fobj *o = find_obj(key);
	int eq = o && o->len == n && (n == 0 || memcmp(o->data, d, n) == 0);
	pthread_mutex_unlock(&fs3.lock);
	return eq;
}

static struct budget *B;
static struct upload_pool *P;

static enum upload_cksum_mode MODE; /* the next setup's checksum= */

static void setup(size_t budget_bytes, int workers)
{
	struct upload_pool_opts o = {.part_size = PART, .workers = workers, .checksum = MODE};
	budget_new(budget_bytes, &B);
	upload_pool_new(NULL, B, &o, &P);
	reset();
}

static void teardown(void)
{
	upload_pool_free(P);
	CHECK_INT(budget_used(B), 0);
	budget_free(B);
	P = NULL;
	B = NULL;
}

/* ---- tests ---- */

static void test_sizes(void)
{
	static const size_t sizes[] = {0, 1, PART - 1, PART, PART + 1, 3 * PART + 12345};
	setup(64 * MiB, 4);
	char *d = malloc(4 * PART);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct upload *u;
		struct s3_object_info info;
		char key[32];
		snprintf(key, sizeof(key), "f%zu", i);
		fill(d, sizes[i], (unsigned)i);
		reset();
		int ok = upload_new(P, key, &u) == 0;
		ok = ok && write_chunks(u, d, sizes[i], 100003) == 0;
		ok = ok && upload_size(u) == sizes[i];
		ok = ok && upload_commit(u, &info) == 0;
		ok = ok && info.size == sizes[i] && obj_equals(key, d, sizes[i]);
		/* multipart iff more than one part; ETag -N then */
		int multi = sizes[i] > PART;
		ok = ok && fs3.creates == multi && fs3.puts == !multi;
		ok = ok && (strstr(info.etag, "-") != NULL) == multi;
		if (sizes[i] == 3 * PART + 12345)
			ok = ok && strstr(info.etag, "-4\"") != NULL;
		ok = ok && open_mpus() == 0;
		upload_free(u);
		T_CASE(key, ok);
	}
	free(d);
	teardown();
}

static void test_nonsequential(void)
{
	setup(64 * MiB, 2);
	struct upload *u;
	char d[100] = {1};
	CHECK_INT(upload_new(P, "ns", &u), 0);
	CHECK_INT(upload_write(u, d, 100, 0), 100);
	CHECK_INT(upload_write(u, d, 100, 50), -ESPIPE);
	CHECK_INT(upload_write(u, d, 100, 200), -ESPIPE);
	CHECK_INT(upload_write(u, d, 100, 100), 100);
	CHECK_INT(upload_size(u), 200);
	upload_free(u); /* never committed: nothing published */
	CHECK(!find_obj("ns"));
	teardown();
}

static void test_part_failure(void)
{
	setup(64 * MiB, 2);
	char *d = malloc(6 * PART);
	fill(d, 6 * PART, 7);
	struct upload *u;
	struct s3_object_info info;
	fs3.fail_part = 2;
	CHECK_INT(upload_new(P, "pf", &u), 0);
	/* The failure of part 2 shows up at a later write (early report) or, at
	 * the latest, at commit. */
	int rc = write_chunks(u, d, 6 * PART, 65536);
	CHECK(rc == 0 || rc == -EIO);
	if (rc == 0)
		fprintf(stderr, "note: part failure not seen by a write (commit reports it)\n");
	CHECK_INT(upload_commit(u, &info), -EIO);
	CHECK_INT(upload_commit(u, &info), -EIO); /* stays failed */
	CHECK(!find_obj("pf"));
	CHECK_INT(open_mpus(), 0);
	CHECK_INT(fs3.aborts, 1);
	upload_free(u);
	free(d);
	teardown();
}

/* A failing part is reported by the next write: with slow parts and one
 * worker, the writer is still writing when part 1 fails. */
static void test_early_report(void)
{
	setup(64 * MiB, 1);
	char *d = malloc(8 * PART);
	fill(d, 8 * PART, 8);
	struct upload *u;
	fs3.fail_part = 1;
	CHECK_INT(upload_new(P, "early", &u), 0);
	int rc = write_chunks(u, d, 8 * PART, 65536);
	CHECK_INT(rc, -EIO);
	CHECK(upload_size(u) < 8 * PART);
	upload_abort(u);
	CHECK(!find_obj("early"));
	CHECK_INT(open_mpus(), 0);
	upload_free(u);
	free(d);
	teardown();
}

static void test_complete_failure(void)
{
	setup(64 * MiB, 2);
	char *d = malloc(2 * PART);
	fill(d, 2 * PART, 9);
	struct upload *u;
	struct s3_object_info info;
	fs3.fail_complete = -EIO;
	CHECK_INT(upload_new(P, "cf", &u), 0);
	CHECK_INT(write_chunks(u, d, 2 * PART, 1 << 20), 0);
	CHECK_INT(upload_commit(u, &info), -EIO);
	CHECK(!find_obj("cf"));
	CHECK_INT(open_mpus(), 0);
	upload_free(u);

	/* A Complete whose response was lost (the retry sees NoSuchUpload):
	 * the object is ours (same multipart ETag), so the commit succeeds. */
	reset();
	fs3.complete_lost = 1;
	CHECK_INT(upload_new(P, "lost", &u), 0);
	CHECK_INT(write_chunks(u, d, 2 * PART, 1 << 20), 0);
	CHECK_INT(upload_commit(u, &info), 0);
	CHECK(obj_equals("lost", d, 2 * PART));
	CHECK(strstr(info.etag, "-2\"") != NULL);
	upload_free(u);
	free(d);
	teardown();
}

static void test_abort_and_free(void)
{
	setup(64 * MiB, 2);
	char *d = malloc(3 * PART);
	fill(d, 3 * PART, 10);
	struct upload *u;
	CHECK_INT(upload_new(P, "ab", &u), 0);
	CHECK_INT(write_chunks(u, d, 3 * PART, 77777), 0);
	upload_abort(u);
	CHECK(!find_obj("ab"));
	CHECK_INT(open_mpus(), 0);
	CHECK_INT(upload_write(u, d, 1, upload_size(u)), -EIO);
	upload_free(u);
	/* freed while open: aborted */
	CHECK_INT(upload_new(P, "fr", &u), 0);
	CHECK_INT(write_chunks(u, d, 3 * PART, 77777), 0);
	upload_free(u);
	CHECK(!find_obj("fr"));
	CHECK_INT(open_mpus(), 0);
	/* left open at pool shutdown: aborted and freed by the pool */
	CHECK_INT(upload_new(P, "sd", &u), 0);
	CHECK_INT(write_chunks(u, d, 3 * PART, 77777), 0);
	free(d);
	teardown();
	CHECK_INT(open_mpus(), 0);
}

/* Part buffers are reused (kept charged between parts) only while parts are
 * in flight: after a commit nothing stays charged, even with the file open,
 * and the budget never goes past its limit. */
static void test_spares_released_when_idle(void)
{
	setup(4 * PART, 2);
	fs3.part_delay_ms = 20;
	char *d = calloc(1, 8 * PART + 1);
	struct upload *u;
	struct s3_object_info a;
	CHECK_INT(upload_new(P, "sp", &u), 0);
	CHECK_INT(write_chunks(u, d, 8 * PART + 1, MiB), 0);
	CHECK_INT(upload_commit(u, &a), 0);
	CHECK_INT(budget_used(B), 0);
	CHECK(budget_peak(B) <= budget_limit(B));
	CHECK(obj_equals("sp", d, 8 * PART + 1));
	upload_free(u);
	free(d);
	teardown();
}

/* Commits size0 bytes (fsync), resumes, writes up to size1, commits again:
 * the object is the whole file; in between it is the first commit. */
static void resume_case(size_t size0, size_t size1, int want_part_copies, int want_gets)
{
	setup(64 * MiB, 2);
	char *d = malloc(size1);
	for (size_t i = 0; i < size1; i++)
		d[i] = (char)(i * 7 + i / 4093);
	struct upload *u;
	struct s3_object_info a, b;
	CHECK_INT(upload_new(P, "rs", &u), 0);
	CHECK_INT(write_chunks(u, d, size0, 100000), 0);
	CHECK_INT(upload_commit(u, &a), 0);
	CHECK_INT(a.size, size0);
	CHECK_INT(upload_resume(u, "rs"), 0);
	CHECK_INT(upload_write(u, d + size0, size1 - size0, size0), (ssize_t)(size1 - size0));
	CHECK(obj_equals("rs", d, size0)); /* still the fsynced version */
	CHECK_INT(upload_commit(u, &b), 0);
	CHECK_INT(b.size, size1);
	CHECK(obj_equals("rs", d, size1));
	CHECK_INT(fs3.part_copies, want_part_copies);
	CHECK_INT(fs3.gets, want_gets);
	upload_free(u);
	free(d);
	teardown();
	CHECK_INT(open_mpus(), 0);
}

static void test_resume_small(void)
{
	resume_case(5, 11, 0, 1);		 /* 5 B object: read back */
	resume_case(PART - 1, PART + 100, 0, 1); /* just below the 5 MiB copy minimum */
}

static void test_resume_copy(void)
{
	resume_case(PART, PART + 1, 1, 0);	   /* exactly 5 MiB: one copied part */
	resume_case(3 * PART + 7, 5 * PART, 1, 0); /* multipart first commit */
}

/* A resume after someone else replaced the object fails and changes nothing;
 * an abort after a resume leaves the committed version. */
static void test_resume_stale_and_abort(void)
{
	setup(64 * MiB, 2);
	struct upload *u;
	struct s3_object_info a;
	CHECK_INT(upload_new(P, "st", &u), 0);
	CHECK_INT(upload_write(u, "hello", 5, 0), 5);
	CHECK_INT(upload_commit(u, &a), 0);
	char e[S3_ETAG_MAX];
	CHECK_INT(s3_put(NULL, "st", "HELLO", 5, NULL, e), 0); /* another writer */
	CHECK_INT(upload_resume(u, "st"), -EIO);
	CHECK_INT(upload_write(u, "x", 1, 5), -EIO);
	CHECK_INT(upload_commit(u, &a), -EIO);
	CHECK(obj_equals("st", "HELLO", 5));
	upload_free(u);

	char *d = calloc(1, 2 * PART);
	CHECK_INT(upload_new(P, "ab", &u), 0);
	CHECK_INT(write_chunks(u, d, PART + 3, 65536), 0);
	CHECK_INT(upload_commit(u, &a), 0);
	CHECK_INT(upload_resume(u, "ab"), 0);
	CHECK_INT(upload_write(u, d, 1, 0), -ESPIPE); /* not at the end: refused */
	CHECK_INT(upload_write(u, d, PART, PART + 3), PART);
	upload_abort(u); /* the writer was killed */
	CHECK(obj_equals("ab", d, PART + 3));
	upload_free(u);
	free(d);
	teardown();
	CHECK_INT(open_mpus(), 0);
}

static void test_after_commit(void)
{
	setup(64 * MiB, 2);
	struct upload *u;
	struct s3_object_info a, b;
	CHECK_INT(upload_new(P, "ac", &u), 0);
	CHECK_INT(upload_write(u, "hello", 5, 0), 5);
	CHECK_INT(upload_commit(u, &a), 0);	       /* fsync */
	CHECK_INT(upload_write(u, "x", 1, 5), -EPERM); /* no resume: refused */
	CHECK_INT(upload_commit(u, &b), 0);	       /* close after fsync */
	CHECK_STR(a.etag, b.etag);
	CHECK_INT(b.size, 5);
	CHECK_INT(upload_retarget(u, "other"), -EINVAL);
	upload_abort(u); /* nothing to undo */
	CHECK(obj_equals("ac", "hello", 5));
	upload_free(u);
	teardown();
}

static void test_retarget(void)
{
	setup(64 * MiB, 2);
	char *d = malloc(3 * PART);
	fill(d, 3 * PART, 11);
	struct upload *u;
	struct s3_object_info info;
	/* before anything went out: just a new key, no copy */
	CHECK_INT(upload_new(P, "tmp1", &u), 0);
	CHECK_INT(write_chunks(u, d, PART, 4096), 0);
	CHECK_INT(upload_retarget(u, "final1"), 0);
	CHECK_STR(upload_key(u), "final1");
	CHECK_INT(upload_commit(u, &info), 0);
	CHECK(obj_equals("final1", d, PART));
	CHECK(!find_obj("tmp1"));
	CHECK_INT(fs3.copies, 0);
	upload_free(u);
	/* after the first part went out: completed under tmp2, copied, deleted */
	CHECK_INT(upload_new(P, "tmp2", &u), 0);
	CHECK_INT(write_chunks(u, d, 3 * PART, 4096), 0);
	CHECK_INT(upload_retarget(u, "mid"), 0);
	CHECK_INT(upload_retarget(u, "final2"), 0);
	CHECK_INT(upload_commit(u, &info), 0);
	CHECK(obj_equals("final2", d, 3 * PART));
	CHECK(!find_obj("tmp2"));
	CHECK(!find_obj("mid"));
	CHECK_INT(fs3.copies, 1);
	CHECK_INT(info.size, 3 * PART);
	CHECK(strstr(info.etag, "-3\"") != NULL);
	upload_free(u);
	free(d);
	teardown();
}

struct writer {
	int idx;
	size_t n;
	char *d;
	int rc;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct upload *u;
	struct s3_object_info info;
	char key[32];
	snprintf(key, sizeof(key), "cw%d", w->idx);
	w->rc = upload_new(P, key, &u);
	if (!w->rc)
		w->rc = write_chunks(u, w->d, w->n, 131071 + (size_t)w->idx * 1000);
	if (!w->rc)
		w->rc = upload_commit(u, &info);
	upload_free(u);
	return NULL;
}

/* 4 writers of 8 parts each on a budget of 4 parts with slow part uploads:
 * everyone finishes, nothing passes the budget, uploads overlap. */
static void test_concurrent_budget(void)
{
	setup(4 * PART, 4);
	fs3.part_delay_ms = 30;
	struct writer w[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		w[i].idx = i;
		w[i].n = 8 * PART - 1000 * (size_t)i;
		w[i].d = malloc(w[i].n);
		fill(w[i].d, w[i].n, 100 + (unsigned)i);
		pthread_create(&t[i], NULL, writer_main, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		char key[32];
		pthread_join(t[i], NULL);
		snprintf(key, sizeof(key), "cw%d", i);
		CHECK_INT(w[i].rc, 0);
		CHECK(obj_equals(key, w[i].d, w[i].n));
		free(w[i].d);
	}
	fprintf(stderr, "concurrent: budget peak %zu of %zu, max parallel parts %d\n",
		budget_peak(B), budget_limit(B), fs3.max_inflight);
	CHECK(budget_peak(B) <= budget_limit(B));
	CHECK(fs3.max_inflight >= 2);
	CHECK_INT(open_mpus(), 0);
	teardown();
}

static int many_done;
static pthread_mutex_t many_lock = PTHREAD_MUTEX_INITIALIZER;

static pthread_barrier_t many_barrier;

/* Writes 60 KiB (inside the first 64 KiB buffer), waits for every other
 * writer to have done the same, then writes the rest: all the files then
 * grow at the same moment. */
static void *many_main(void *arg)
{
	struct writer *w = arg;
	struct upload *u;
	struct s3_object_info info;
	char key[32];
	size_t head = 60 * 1024;
	snprintf(key, sizeof(key), "cw%d", w->idx);
	w->rc = upload_new(P, key, &u);
	if (!w->rc && upload_write(u, w->d, head, 0) != (ssize_t)head)
		w->rc = -EIO;
	pthread_barrier_wait(&many_barrier);
	size_t off = head;
	while (!w->rc && off < w->n) {
		size_t k = w->n - off < 100000 ? w->n - off : 100000;
		ssize_t r = upload_write(u, w->d + off, k, off);
		if (r < 0)
			w->rc = (int)r;
		off += k;
	}
	if (!w->rc)
		w->rc = upload_commit(u, &info);
	upload_free(u);
	pthread_mutex_lock(&many_lock);
	many_done++;
	pthread_mutex_unlock(&many_lock);
	return NULL;
}

/* 16 files growing at once on a budget of 2 parts: if a writer could wait
 * in the budget while holding a partly grown first-part buffer, their
 * buffers would fill the budget and all wait forever. A watchdog fails the
 * test instead of hanging. */
static void test_many_growing_files(void)
{
	enum { NW = 16 };
	setup(2 * PART, 4);
	pthread_barrier_init(&many_barrier, NULL, NW);
	fs3.part_delay_ms = 5;
	struct writer w[NW];
	pthread_t t[NW];
	many_done = 0;
	for (int i = 0; i < NW; i++) {
		w[i].idx = 10 + i;
		w[i].n = PART + PART / 2 + (size_t)i;
		w[i].d = malloc(w[i].n);
		fill(w[i].d, w[i].n, 200 + (unsigned)i);
		pthread_create(&t[i], NULL, many_main, &w[i]);
	}
	for (int s = 0; s < 600; s++) {
		pthread_mutex_lock(&many_lock);
		int d = many_done;
		pthread_mutex_unlock(&many_lock);
		if (d == NW)
			break;
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (many_done != NW) {
		fprintf(stderr, "test_many_growing_files: %d of %d writers stuck after 60 s\n",
			NW - many_done, NW);
		printf("%d passed, %d failed\n", t_passed, t_failed + 1);
		_exit(1);
	}
	for (int i = 0; i < NW; i++) {
		char key[32];
		pthread_join(t[i], NULL);
		snprintf(key, sizeof(key), "cw%d", 10 + i);
		CHECK_INT(w[i].rc, 0);
		CHECK(obj_equals(key, w[i].d, w[i].n));
		free(w[i].d);
	}
	CHECK(budget_peak(B) <= budget_limit(B));
	pthread_barrier_destroy(&many_barrier);
	teardown();
}

/* Parts are capped at half the budget: base 8 MiB on a 12 MiB budget gives
 * 6 MiB parts (20 MiB -> 4 parts, not 3), for every part number. */
static void test_part_cap(void)
{
	struct upload_pool_opts o = {.part_size = 8 * MiB, .workers = 2};
	struct upload *u;
	struct s3_object_info info;
	budget_new(12 * MiB, &B);
	CHECK_INT(upload_pool_new(NULL, B, &o, &P), 0);
	reset();
	CHECK_INT(upload_part_size(P, 1), 6 * MiB);
	CHECK_INT(upload_part_size(P, 9999), 6 * MiB);
	char *d = malloc(20 * MiB);
	fill(d, 20 * MiB, 13);
	CHECK_INT(upload_new(P, "cap", &u), 0);
	CHECK_INT(write_chunks(u, d, 20 * MiB, 333333), 0);
	CHECK_INT(upload_commit(u, &info), 0);
	CHECK(strstr(info.etag, "-4\"") != NULL);
	CHECK(obj_equals("cap", d, 20 * MiB));
	CHECK(budget_peak(B) <= 12 * MiB);
	upload_free(u);
	free(d);
	teardown();
}

/* A part that cannot fit the budget: -EFBIG, never a wait forever. */
static void test_part_above_budget(void)
{
	setup(4 * MiB, 2);
	char *d = malloc(PART);
	fill(d, PART, 12);
	struct upload *u;
	struct s3_object_info info;
	CHECK_INT(upload_new(P, "big", &u), 0);
	CHECK_INT(write_chunks(u, d, PART, 1 << 20), -EFBIG);
	CHECK_INT(upload_commit(u, &info), -EFBIG);
	CHECK(!find_obj("big"));
	upload_free(u);
	free(d);
	teardown();
}

/* Writes and commits key with n bytes of d; 1 when all went well. */
static int put_file(const char *key, const char *d, size_t n)
{
	struct upload *u;
	struct s3_object_info info;
	int ok = upload_new(P, key, &u) == 0 && write_chunks(u, d, n, 77777) == 0 &&
		 upload_commit(u, &info) == 0 && info.size == n && obj_equals(key, d, n);
	upload_free(u);
	return ok;
}

/* checksum= (issue 13): which headers each body carries, as the stand-in
 * counts them, and that every CRC, each part's at Complete and the whole
 * object's (combined from the parts, computed by the workers in parallel),
 * is what S3 would compute. A small file and a 4-part one per mode. */
static void test_checksum_modes(void)
{
	char *d = malloc(3 * PART + 4321);
	fill(d, 3 * PART + 4321, 9);
	static const struct {
		enum upload_cksum_mode mode;
		int echo;
		enum s3_cksum_alg alg;
		int md5; /* bodies with Content-MD5, of the 5 (1 PUT, 4 parts) */
	} cases[] = {
	    {UPLOAD_CKSUM_AUTO, 0, S3_CKSUM_CRC64NVME, 5},	/* RGW: both, always */
	    {UPLOAD_CKSUM_AUTO, 1, S3_CKSUM_CRC64NVME, 1},	/* MD5 until the first echo */
	    {UPLOAD_CKSUM_CRC64NVME, 0, S3_CKSUM_CRC64NVME, 0}, /* forced: never MD5 */
	    {UPLOAD_CKSUM_CRC32C, 0, S3_CKSUM_CRC32C, 0},
	    {UPLOAD_CKSUM_MD5, 1, S3_CKSUM_NONE, 5},
	    {UPLOAD_CKSUM_OFF, 1, S3_CKSUM_NONE, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		MODE = cases[i].mode;
		setup(64 * MiB, 4);
		fs3.echo = cases[i].echo;
		int ok = put_file("small", d, 1000) && put_file("big", d, 3 * PART + 4321);
		int crc = cases[i].alg != S3_CKSUM_NONE;
		ok = ok && fs3.md5_sent == cases[i].md5 && fs3.md5_not_sent == 5 - cases[i].md5;
		ok = ok && fs3.crc_sent[cases[i].alg] == (crc ? 5 : 0) && fs3.bad_digest == 0;
		ok = ok && fs3.full_checked == crc && fs3.full_absent == 0;
		char name[48];
		snprintf(name, sizeof(name), "mode %d echo %d", (int)cases[i].mode, cases[i].echo);
		T_CASE(name, ok);
		if (!ok)
			fprintf(stderr, "md5 %d/%d crc %d %d %d full %d/%d bad %d\n", fs3.md5_sent,
				fs3.md5_not_sent, fs3.crc_sent[0], fs3.crc_sent[1], fs3.crc_sent[2],
				fs3.full_checked, fs3.full_absent, fs3.bad_digest);
		teardown();
	}
	MODE = UPLOAD_CKSUM_AUTO;
	free(d);
}

/* AUTO after an echo sends no MD5; a server that then stops echoing gets
 * Content-MD5 again from the next body on. */
static void test_checksum_echo_lost(void)
{
	char d[1000];
	fill(d, sizeof(d), 3);
	setup(64 * MiB, 2);
	fs3.echo = 1;
	CHECK(put_file("e1", d, sizeof(d)));
	CHECK(put_file("e2", d, sizeof(d)));
	CHECK_INT(fs3.md5_sent, 1);
	CHECK_INT(fs3.md5_not_sent, 1);
	fs3.echo = 0;
	CHECK(put_file("e3", d, sizeof(d))); /* sent without MD5, not echoed */
	CHECK(put_file("e4", d, sizeof(d))); /* MD5 again */
	CHECK_INT(fs3.md5_sent, 2);
	CHECK_INT(fs3.md5_not_sent, 2);
	teardown();
}

/* An appended file's head is copied server-side: its CRC is the committed
 * object's own, and the new whole-object CRC combines it with the new
 * parts'. The stand-in checks both at Complete (resume_case); here also
 * with CRC32C, and that a multipart first commit's CRC carries over. */
static void test_checksum_resume(void)
{
	MODE = UPLOAD_CKSUM_CRC32C;
	resume_case(PART, 2 * PART + 3, 1, 0);
	CHECK_INT(fs3.full_checked, 1); /* reset by setup: the second commit's */
	MODE = UPLOAD_CKSUM_CRC64NVME;
	resume_case(3 * PART + 7, 5 * PART, 1, 0);
	CHECK_INT(fs3.full_checked, 2); /* both commits multipart */
	MODE = UPLOAD_CKSUM_AUTO;
}

/* Conditional commits: a new file is created only if the key is still
 * missing, an overwrite replaces only the version seen, and each later
 * commit only what the one before made. Another writer's object wins: the
 * commit fails with EEXIST / ESTALE, that object stays, no upload is left. */
static void cond_case(size_t n, int overwrite)
{
	setup(64 * MiB, 2);
	char *d = malloc(n + 1), e[S3_ETAG_MAX], seen[S3_ETAG_MAX] = "";
	fill(d, n + 1, 21);
	struct upload *u;
	struct s3_object_info a;
	if (overwrite) {
		CHECK_INT(s3_put(NULL, "k", "old", 3, NULL, seen), 0);
	}
	CHECK_INT(upload_new(P, "k", &u), 0);
	upload_set_cond(u, seen);
	CHECK_INT(write_chunks(u, d, n, 65536), 0);
	CHECK_INT(s3_put(NULL, "k", "theirs", 6, NULL, e), 0); /* the other writer */
	CHECK_INT(upload_commit(u, &a), overwrite ? -ESTALE : -EEXIST);
	CHECK(obj_equals("k", "theirs", 6));
	CHECK_INT(open_mpus(), 0);
	upload_free(u);

	/* no other writer: the commits go through, each on the one before */
	CHECK_INT(upload_new(P, "k2", &u), 0);
	upload_set_cond(u, "");
	CHECK_INT(write_chunks(u, d, n, 65536), 0);
	CHECK_INT(upload_commit(u, &a), 0);   /* fsync */
	CHECK_INT(upload_resume(u, "k2"), 0); /* writes on */
	CHECK_INT(upload_write(u, d + n, 1, n), 1);
	CHECK_INT(upload_commit(u, &a), 0);
	CHECK(obj_equals("k2", d, n + 1));
	upload_free(u);

	/* a lost answer: the commit landed, its retry fails the condition */
	fs3.commit_lost = 1;
	CHECK_INT(upload_new(P, "k3", &u), 0);
	upload_set_cond(u, "");
	CHECK_INT(write_chunks(u, d, n, 65536), 0);
	CHECK_INT(upload_commit(u, &a), 0);
	CHECK_INT(a.size, n);
	CHECK(obj_equals("k3", d, n));
	fs3.commit_lost = 0;
	upload_free(u);

	/* 409 ConditionalRequestConflict (another conditional writer at the
	 * same moment): not ours by the HEAD, so it fails as a conflict */
	fs3.conflict_409 = 1;
	CHECK_INT(upload_new(P, "k4", &u), 0);
	upload_set_cond(u, "");
	CHECK_INT(write_chunks(u, d, n, 65536), 0);
	CHECK_INT(upload_commit(u, &a), -EEXIST);
	CHECK_INT(open_mpus(), 0);
	fs3.conflict_409 = 0;
	upload_free(u);
	free(d);
	teardown();
	CHECK_INT(open_mpus(), 0);
}

static void test_cond_put(void)
{
	cond_case(1000, 0);
	cond_case(1000, 1);
}

static void test_cond_mpu(void)
{
	cond_case(2 * PART + 5, 0);
	cond_case(2 * PART + 5, 1);
}

/* Append: a new upload continues an existing object of the version seen. */
static void test_adopt(void)
{
	setup(64 * MiB, 2);
	char *d = malloc(2 * PART), e[S3_ETAG_MAX];
	fill(d, 2 * PART, 5);
	struct upload *u;
	struct s3_object_info a;
	CHECK_INT(s3_put(NULL, "ap", d, PART + 9, NULL, e), 0);
	CHECK_INT(upload_new(P, "ap", &u), 0);
	CHECK_INT(upload_adopt(u, PART + 9, e), 0);
	CHECK_INT(upload_resume(u, "ap"), 0);
	CHECK_INT(upload_write(u, d + PART + 9, 10, PART + 9), 10);
	CHECK_INT(upload_commit(u, &a), 0);
	CHECK(obj_equals("ap", d, PART + 19));
	upload_free(u);
	/* the object was replaced before the append's commit: ESTALE, kept */
	CHECK_INT(s3_put(NULL, "ap2", d, 100, NULL, e), 0);
	CHECK_INT(upload_new(P, "ap2", &u), 0);
	CHECK_INT(upload_adopt(u, 100, e), 0);
	CHECK_INT(upload_resume(u, "ap2"), 0);
	CHECK_INT(upload_write(u, d + 100, 10, 100), 10);
	CHECK_INT(s3_put(NULL, "ap2", "theirs", 6, NULL, e), 0);
	CHECK_INT(upload_commit(u, &a), -ESTALE);
	CHECK(obj_equals("ap2", "theirs", 6));
	upload_free(u);
	free(d);
	teardown();
	CHECK_INT(open_mpus(), 0);
}

int main(void)
{
	T_RUN(test_sizes);
	T_RUN(test_nonsequential);
	T_RUN(test_part_failure);
	T_RUN(test_early_report);
	T_RUN(test_complete_failure);
	T_RUN(test_abort_and_free);
	T_RUN(test_after_commit);
	T_RUN(test_spares_released_when_idle);
	T_RUN(test_resume_small);
	T_RUN(test_resume_copy);
	T_RUN(test_resume_stale_and_abort);
	T_RUN(test_retarget);
	T_RUN(test_concurrent_budget);
	T_RUN(test_part_above_budget);
	T_RUN(test_part_cap);
	T_RUN(test_many_growing_files);
	T_RUN(test_checksum_modes);
	T_RUN(test_checksum_resume);
	T_RUN(test_checksum_echo_lost);
	T_RUN(test_cond_put);
	T_RUN(test_cond_mpu);
	T_RUN(test_adopt);
	reset();
	return T_DONE();
}
