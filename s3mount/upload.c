/*
 * upload.c: see upload.h. One file's upload: its state (open, committed,
 * failed, aborted), writes into the current part, the multipart upload's
 * Create and Complete or a single PutObject, resume after a commit, abort.
 * The module's other files: uploadpool.c (part buffers within the budget,
 * the worker threads that upload parts, and why buffers are mmaps) and
 * uploadrename.c (rename of a file open for writing: what it costs and what
 * stays under the old name, and why); uploadint.h is what they share.
 *
 * Why a full part is queued only when the next byte arrives: a file of
 * exactly one part then becomes a PutObject instead of a one-part multipart
 * upload, and the last part is never empty.
 *
 * Failures: the first failing part stores its errno in u->err; queued parts
 * of that file are then skipped (no point uploading data that will be
 * discarded), the next write reports -EIO, and commit/abort/free abort the
 * multipart upload. A CompleteMultipartUpload that fails with NoSuchUpload
 * may be a retry after a lost response of a Complete that did succeed: the
 * key is then HEADed and its ETag compared with the multipart ETag computed
 * from the part ETags (md5 of the part md5s, "-N") before calling it failed.
 */
#include "upload.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crc.h"
#include "crypto.h"
#include "log.h"
#include "mpu.h"
#include "partsize.h"
#include "uploadint.h"

/* ---- one upload ---- */

int upload_new(struct upload_pool *p, const char *key, struct upload **out)
{
	size_t klen = strlen(key);
	if (klen == 0 || klen >= S3_KEY_MAX)
		return -ENAMETOOLONG;
	struct upload *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->p = p;
	memcpy(u->key, key, klen + 1);
	memcpy(u->final_key, key, klen + 1);
	u->part_no = 1;
	u->part_cap = upload_part_size_of(p, 1);
	u->state = UP_OPEN;
	u->ck_alg = p->ck_alg;
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->cond, NULL);
	pthread_mutex_lock(&p->lock);
	u->next = p->open;
	if (p->open)
		p->open->prev = u;
	p->open = u;
	pthread_mutex_unlock(&p->lock);
	*out = u;
	return 0;
}

void upload_set_cond(struct upload *u, const char *etag)
{
	if (u->p->no_conditions || !etag) {
		u->ccond = COND_NONE;
		return;
	}
	u->ccond = etag[0] ? COND_MATCH : COND_ABSENT;
	snprintf(u->cond_etag, sizeof(u->cond_etag), "%s", etag);
}

int upload_adopt(struct upload *u, uint64_t size, const char *etag)
{
	if (u->state != UP_OPEN || u->size || u->buf || u->upload_id[0])
		return -EINVAL;
	u->size = size;
	u->info.size = size;
	u->info.mtime = time(NULL);
	snprintf(u->info.etag, sizeof(u->info.etag), "%s", etag);
	u->state = UP_COMMITTED;
	return 0;
}

uint64_t upload_size(const struct upload *u)
{
	return u->size;
}

const char *upload_key(const struct upload *u)
{
	return u->final_key;
}

static int get_err(struct upload *u)
{
	pthread_mutex_lock(&u->lock);
	int e = u->err;
	pthread_mutex_unlock(&u->lock);
	return e;
}

int upload_set_err(struct upload *u, int rc)
{
	pthread_mutex_lock(&u->lock);
	if (!u->err)
		u->err = rc;
	pthread_mutex_unlock(&u->lock);
	return rc;
}

/* Makes parts[] hold part numbers up to n; u->lock held. */
static int reserve_parts_locked(struct upload *u, int n)
{
	if ((size_t)n <= u->parts_alloc)
		return 0;
	size_t na = u->parts_alloc ? u->parts_alloc * 2 : 64;
	while (na < (size_t)n)
		na *= 2;
	if (na > S3_MAX_PARTS)
		na = S3_MAX_PARTS;
	struct s3_part *np = realloc(u->parts, na * sizeof(*np));
	if (!np)
		return -ENOMEM;
	u->parts = np; /* the old size still counts until both arrays grew */
	struct upload_psum *ns = realloc(u->psum, na * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	u->psum = ns;
	memset(np + u->parts_alloc, 0, (na - u->parts_alloc) * sizeof(*np));
	memset(ns + u->parts_alloc, 0, (na - u->parts_alloc) * sizeof(*ns));
	u->parts_alloc = na;
	return 0;
}

/* CreateMultipartUpload of u->key, recording in x-amz-meta-s3mount-parts
 * how this upload cuts its parts (mpu.h), so that a reader can check
 * the object against its multipart ETag: head_parts > 0 when the first
 * head_parts parts are copies of a committed prefix of head_bytes
 * (upload_resume), then the pool's policy by part number. */
static int mpu_create(struct upload *u, uint64_t head_bytes, int head_parts)
{
	struct upload_pool *p = u->p;
	uint64_t cap = p->part_cap < S3_MAX_PART_SIZE ? p->part_cap : S3_MAX_PART_SIZE;
	struct mpu_layout l = {.base = p->part_size < cap ? p->part_size : cap,
			       .cap = cap,
			       .grow = PARTSIZE_GROUP,
			       .head_parts = (uint32_t)head_parts,
			       .head_bytes = head_bytes};
	int rc = s3_nonce_new(u->nonce);
	if (rc) {
		log_error("upload of %s: no random nonce: %s", LOG_KEY(u->key), strerror(-rc));
		return rc;
	}
	return s3_mpu_create_layout(p->c, u->key, &l, u->nonce, u->ck_alg, u->upload_id);
}

/* Hands the current (full, or at commit the last) part to the workers. */
static int submit_current(struct upload *u)
{
	struct upload_pool *p = u->p;
	int rc;

	if (u->part_no > S3_MAX_PARTS) {
		/* only reachable after a resume shifted the part numbers */
		log_error("upload of %s: more than %d parts", LOG_KEY(u->final_key), S3_MAX_PARTS);
		return upload_set_err(u, -EFBIG);
	}
	if (!u->upload_id[0]) {
		rc = mpu_create(u, 0, 0);
		if (rc < 0) {
			u->upload_id[0] = '\0';
			log_error("upload of %s: CreateMultipartUpload failed: %s", LOG_KEY(u->key),
				  strerror(-rc));
			return upload_set_err(u, rc);
		}
		log_debug("upload of %s: multipart upload %s", LOG_KEY(u->key), u->upload_id);
	}
	struct part_job *job = calloc(1, sizeof(*job));
	if (!job)
		return upload_set_err(u, -ENOMEM);

	pthread_mutex_lock(&u->lock);
	if (reserve_parts_locked(u, u->part_no) < 0) {
		pthread_mutex_unlock(&u->lock);
		free(job);
		return upload_set_err(u, -ENOMEM);
	}
	/* The per-file bound keeps one fast writer from filling the whole queue
	 * (and budget) ahead of the other files. */
	while (u->inflight >= p->max_inflight && !u->err)
		pthread_cond_wait(&u->cond, &u->lock);
	rc = u->err;
	if (!rc)
		u->inflight++;
	pthread_mutex_unlock(&u->lock);
	if (rc) {
		free(job);
		return rc;
	}

	job->u = u;
	job->number = u->part_no;
	job->data = u->buf;
	job->len = u->buf_len;
	job->mapped = u->buf_map;
	u->buf = NULL;
	u->buf_len = 0;
	u->buf_map = 0;
	u->part_no++;
	u->part_cap = upload_part_size_of(p, u->part_no);
	upload_enqueue(p, job);
	return 0;
}

ssize_t upload_write(struct upload *u, const void *data, size_t len, uint64_t off)
{
	const char *src = data;
	size_t done = 0;
	int rc;

	if (u->state == UP_COMMITTED) {
		log_warn("write to %s after it was committed without upload_resume() (a bug)",
			 LOG_KEY(u->final_key));
		return -EPERM;
	}
	if (u->state != UP_OPEN)
		return -EIO;
	rc = get_err(u);
	if (rc)
		return rc == -EFBIG ? -EFBIG : -EIO;
	if (off != u->size) {
		log_warn("write to %s at offset %llu refused: the file is %llu bytes and s3mount "
			 "writes only sequentially (ESPIPE)",
			 LOG_KEY(u->final_key), (unsigned long long)off,
			 (unsigned long long)u->size);
		return -ESPIPE;
	}
	if (len == 0)
		return 0;
	uint64_t max = u->p->max_object;
	if (len > max || u->size > max - len) {
		log_error("write to %s refused: %llu bytes would pass the largest object the "
			  "part-size policy allows (%llu)",
			  LOG_KEY(u->final_key), (unsigned long long)(u->size + len),
			  (unsigned long long)max);
		return -EFBIG;
	}
	while (done < len) {
		if (u->buf_len == u->part_cap) {
			rc = submit_current(u);
			if (rc < 0)
				goto fail;
		}
		rc = upload_ensure_room(u);
		if (rc < 0)
			goto fail;
		size_t n = u->buf_map - u->buf_len;
		if (n > len - done)
			n = len - done;
		memcpy(u->buf + u->buf_len, src + done, n);
		u->buf_len += n;
		u->size += n;
		done += n;
	}
	return (ssize_t)len;
fail:
	/* Part of this write may be buffered already: the file can no longer
	 * be completed correctly, so the upload is failed for good. */
	upload_set_err(u, rc);
	return rc == -EFBIG ? -EFBIG : -EIO;
}

static void abort_mpu(struct upload *u)
{
	if (!u->upload_id[0] || u->mpu_done)
		return;
	int rc = s3_mpu_abort(u->p->c, u->key, u->upload_id);
	if (rc < 0 && rc != -ENOENT)
		log_error("upload of %s: AbortMultipartUpload %s failed: %s (parts may remain; "
			  "option abort_stale_uploads removes them)",
			  LOG_KEY(u->key), u->upload_id, strerror(-rc));
	else
		log_info("upload of %s: multipart upload aborted", LOG_KEY(u->key));
	u->upload_id[0] = '\0';
}

/* The ETag a PutObject of u's buffer gets (its quoted MD5) into want. */
static void put_etag(const struct upload *u, char want[S3_ETAG_MAX])
{
	uint8_t md[CRYPTO_MD5_LEN];
	char hex[2 * CRYPTO_MD5_LEN + 1];
	want[0] = '\0';
	if (crypto_md5(u->buf ? u->buf : "", u->buf_len, md) == 0) {
		crypto_hex(md, sizeof(md), hex);
		snprintf(want, S3_ETAG_MAX, "\"%s\"", hex);
	}
}

/* The condition of u's commit as s3_put_opts fields (into o), or NULL. */
static const struct s3_put_opts *commit_cond(const struct upload *u, struct s3_put_opts *o)
{
	if (u->ccond == COND_ABSENT)
		o->if_none_match = "*";
	else if (u->ccond == COND_MATCH)
		o->if_match = u->cond_etag;
	else
		return NULL;
	return o;
}

/* rc of a conditional commit says its condition failed: 412 (-ESTALE, or
 * -EEXIST for If-None-Match) or 409 ConditionalRequestConflict (-EBUSY). */
static int is_cond_failure(const struct upload *u, int rc)
{
	return u->ccond != COND_NONE && (rc == -ESTALE || rc == -EEXIST || rc == -EBUSY);
}

/* Another writer's object is where this commit was to go: the error, logged
 * once with the key; why: how it was found. */
static int cond_conflict(struct upload *u, const char *why)
{
	int err = u->ccond == COND_ABSENT ? -EEXIST : -ESTALE;
	u->cond_lost = err;
	log_error("upload of %s not committed: %s (%s); that object is kept, this file is "
		  "discarded (%s)",
		  LOG_KEY(u->key),
		  u->ccond == COND_ABSENT ? "another writer created the key since the open"
					  : "another writer replaced the object this file was to "
					    "replace or continue",
		  why, strerror(-err));
	return err;
}

/* The commit's condition failed. A try whose answer was lost may have
 * written the object already, and the retry then fails its own condition:
 * the object is ours if it has our nonce and our size, and our computed ETag
 * (want, "" when none can be computed). Else another writer's object is
 * there: it is kept, and the caller aborts ours. */
static int cond_failed(struct upload *u, const char *want, int rc)
{
	struct s3_object_info hi;
	int hr = s3_head(u->p->c, u->key, &hi);
	if (hr == 0 && hi.size == u->size && u->nonce[0] &&
	    strcmp(hi.upload_nonce, u->nonce) == 0 &&
	    (!want[0] || hi.etag_not_md5 || strcmp(hi.etag, want) == 0)) {
		log_info("upload of %s: the commit's retry failed its condition, but the object "
			 "is this upload's (an earlier try's answer was lost): committed",
			 LOG_KEY(u->key));
		u->info = hi;
		u->mpu_done = 1;
		return 0;
	}
	return cond_conflict(u, rc == -EBUSY ? "409 ConditionalRequestConflict"
					     : "412 PreconditionFailed");
}

/* Before a conditional Complete, its condition checked by a HEAD. S3 checks
 * it in the Complete itself, but Ceph RGW 16 ignores it there (it completes
 * and replaces whatever is there: docs/semantics.md), so this one HEAD per
 * multipart commit is what keeps such a server from silently losing another
 * writer's object; only a writer landing between the HEAD and the Complete
 * still loses there. A HEAD that fails leaves it to the Complete. */
static int precheck_cond(struct upload *u)
{
	struct s3_object_info hi;
	if (u->ccond == COND_NONE)
		return 0;
	int rc = s3_head(u->p->c, u->key, &hi);
	if (rc < 0 && rc != -ENOENT)
		return 0;
	int held =
	    u->ccond == COND_ABSENT ? rc == -ENOENT : rc == 0 && strcmp(hi.etag, u->cond_etag) == 0;
	return held ? 0 : cond_conflict(u, "seen by a HEAD before the Complete");
}

static int complete_mpu(struct upload *u)
{
	struct upload_pool *p = u->p;
	int nparts = u->part_no - 1;
	char etag[S3_ETAG_MAX] = "";
	char want[S3_ETAG_MAX] = "";
	int rc;

	for (int i = 0; i < nparts; i++) {
		if (u->parts[i].number != i + 1 || !u->parts[i].etag[0]) {
			log_error("upload of %s: part %d has no ETag", LOG_KEY(u->key), i + 1);
			return -EIO;
		}
	}
	/* The whole object's CRC, combined from the parts' in order: S3
	 * checks it against the parts it holds (FULL_OBJECT), and a reader
	 * gets it from HEAD as the object's checksum. */
	struct s3_cksum full = {.alg = u->ck_alg};
	for (int i = 0; i < nparts && full.alg != S3_CKSUM_NONE; i++) {
		const struct upload_psum *ps = &u->psum[i];
		if (!u->parts[i].cksum[0]) {
			log_error("upload of %s: part %d has no checksum", LOG_KEY(u->key), i + 1);
			return -EIO;
		}
		if (full.alg == S3_CKSUM_CRC32C)
			full.crc =
			    i ? crc32c_combine((uint32_t)full.crc, (uint32_t)ps->crc, ps->len)
			      : ps->crc;
		else
			full.crc = i ? crc64nvme_combine(full.crc, ps->crc, ps->len) : ps->crc;
	}
	/* want stays "" when the part ETags are not MD5s (SSE-KMS) */
	mpu_etag_of_parts(u->parts, (size_t)nparts, want, sizeof(want));
	rc = precheck_cond(u);
	if (rc < 0)
		return rc;
	struct s3_put_opts cond = {0};
	rc = s3_mpu_complete_if(p->c, u->key, u->upload_id, u->parts, (size_t)nparts, u->nonce,
				full.alg != S3_CKSUM_NONE ? &full : NULL, commit_cond(u, &cond),
				etag);
	u->obj_crc = full.crc;
	u->obj_crc_ok = full.alg != S3_CKSUM_NONE;
	if (is_cond_failure(u, rc))
		return cond_failed(u, want, rc);
	if (rc == -ENOENT) {
		/* NoSuchUpload: maybe our retry of a Complete that went through.
		 * Ours only if proven: our multipart ETag, or our nonce where the
		 * ETag cannot be computed (SSE-KMS, SSE-C), and our size. */
		struct s3_object_info hi;
		if (s3_head(p->c, u->key, &hi) == 0 && hi.size == u->size &&
		    ((want[0] && strcmp(hi.etag, want) == 0) ||
		     (u->nonce[0] && strcmp(hi.upload_nonce, u->nonce) == 0))) {
			log_warn("upload of %s: Complete answered NoSuchUpload but the object "
				 "is ours (ETag %s): committed",
				 LOG_KEY(u->key), hi.etag);
			u->mpu_done = 1;
			u->info = hi;
			return 0;
		}
	}
	if (rc < 0) {
		log_error("upload of %s: CompleteMultipartUpload of %d parts failed: %s",
			  LOG_KEY(u->key), nparts, strerror(-rc));
		return rc;
	}
	u->mpu_done = 1;
	u->info.size = u->size;
	u->info.mtime = time(NULL);
	memcpy(u->info.etag, etag, sizeof(etag));
	memcpy(u->info.upload_nonce, u->nonce, sizeof(u->nonce));
	if (!etag[0]) {
		/* Ceph RGW answers Complete with an empty <ETag>: ask the object. */
		rc = s3_head(p->c, u->key, &u->info);
		if (rc < 0) {
			log_error("upload of %s: HEAD after Complete failed: %s", LOG_KEY(u->key),
				  strerror(-rc));
			return rc;
		}
	}
	if (u->info.size != u->size ||
	    (u->info.upload_nonce[0] && strcmp(u->info.upload_nonce, u->nonce) != 0)) {
		/* Not deleted: the object HEAD found may be another writer's,
		 * newer than ours, and nothing proves it is ours. */
		log_error("upload of %s: the object there (%llu bytes, nonce '%s') is not this "
			  "upload's (%llu bytes, nonce %s): another writer's, or not whole; left "
			  "as it is, close fails",
			  LOG_KEY(u->key), (unsigned long long)u->info.size,
			  LOG_KEY(u->info.upload_nonce), (unsigned long long)u->size, u->nonce);
		return -EIO;
	}
	/* (under SSE-KMS/SSE-C no ETag is an MD5: nothing to compare) */
	if (want[0] && !u->info.etag_not_md5 && strcmp(u->info.etag, want) != 0)
		log_warn("upload of %s: ETag %s, expected %s", LOG_KEY(u->key), u->info.etag, want);
	return 0;
}

int upload_commit(struct upload *u, struct s3_object_info *info)
{
	struct upload_pool *p = u->p;
	int rc;

	if (u->state == UP_COMMITTED)
		goto done;
	if (u->state != UP_OPEN)
		return u->state == UP_FAILED ? u->fail_rc : -EIO;
	rc = get_err(u);
	if (rc)
		goto fail;
	if (!u->upload_id[0]) {
		char etag[S3_ETAG_MAX] = "";
		const char *body = u->buf ? u->buf : "";
		struct s3_cksum ck;
		upload_cksum_prepare(u, body, u->buf_len, &ck);
		struct s3_put_opts po = {.cksum = &ck};
		const char *meta[3] = {S3_NONCE_META, u->nonce, NULL};
		u->nonce[0] = '\0';
		if (commit_cond(u, &po)) {
			/* the nonce tells our own object from another writer's (cond_failed) */
			rc = s3_nonce_new(u->nonce);
			if (rc < 0)
				goto fail;
			po.meta = meta;
		}
		rc = s3_put(p->c, u->key, body, u->buf_len, &po, etag);
		if (rc == 0)
			upload_cksum_learn(p, &ck, "PutObject");
		u->obj_crc = ck.crc;
		u->obj_crc_ok = ck.alg != S3_CKSUM_NONE;
		if (is_cond_failure(u, rc)) {
			char want[S3_ETAG_MAX];
			put_etag(u, want);
			rc = cond_failed(u, want, rc);
			if (rc == 0)
				memcpy(etag, u->info.etag, sizeof(etag));
		}
		if (rc < 0) {
			if (!u->cond_lost) /* (else cond_conflict said why) */
				log_error("upload of %s: PutObject of %zu bytes failed: %s",
					  LOG_KEY(u->key), u->buf_len, strerror(-rc));
			goto fail;
		}
		upload_drop_buffer(u);
		u->info.size = u->size;
		u->info.mtime = time(NULL);
		memcpy(u->info.etag, etag, sizeof(etag));
		memcpy(u->info.upload_nonce, u->nonce, sizeof(u->nonce));
	} else {
		rc = submit_current(u);
		if (rc < 0)
			goto fail;
		pthread_mutex_lock(&u->lock);
		while (u->inflight > 0)
			pthread_cond_wait(&u->cond, &u->lock);
		rc = u->err;
		pthread_mutex_unlock(&u->lock);
		if (rc)
			goto fail;
		rc = complete_mpu(u);
		if (rc < 0)
			goto fail;
	}
	if (strcmp(u->key, u->final_key) != 0) {
		rc = upload_move_to_final(u);
		if (rc < 0) {
			/* committed under the old name, which upload_move_to_final logged:
			 * not "nothing was published", and nothing to abort */
			u->state = UP_FAILED;
			u->fail_rc = -EIO;
			return u->fail_rc;
		}
	}
	upload_finish_renames(u);
	u->state = UP_COMMITTED;
	/* the next commit of this file replaces only what this one made */
	upload_set_cond(u, u->info.etag[0] ? u->info.etag : NULL);
	log_debug("upload of %s committed: %llu bytes, ETag %s", LOG_KEY(u->final_key),
		  (unsigned long long)u->info.size, u->info.etag);
done:
	if (info)
		*info = u->info;
	return 0;
fail:
	upload_cancel_parts(u);
	abort_mpu(u);
	upload_drop_buffer(u);
	u->state = UP_FAILED;
	if (u->cond_lost && rc == u->cond_lost) {
		u->fail_rc = rc; /* cond_failed logged it */
		return rc;
	}
	u->fail_rc = rc == -EFBIG ? -EFBIG : -EIO;
	log_error("upload of %s failed (%s): nothing was published", LOG_KEY(u->final_key),
		  strerror(-rc));
	return u->fail_rc;
}

/* The committed object goes first: UploadPartCopy parts of at most 5 GiB
 * (server-side: no byte comes back through this host) when it is >= 5 MiB,
 * the smallest a non-last part may be; else a GET into the first part buffer.
 * Copies and the GET name the version just HEADed (If-Match), so the new
 * object's prefix is exactly that version, never a mix. */
int upload_resume(struct upload *u, const char *key)
{
	struct upload_pool *p = u->p;
	struct s3_object_info hi;
	size_t klen = strlen(key);
	uint64_t size = u->size;
	int rc;

	if (u->state != UP_COMMITTED)
		return -EINVAL;
	if (klen == 0 || klen >= S3_KEY_MAX)
		return -ENAMETOOLONG;
	rc = s3_head(p->c, key, &hi);
	if (rc == 0 && (hi.size != size || (strcmp(key, u->key) == 0 && u->info.etag[0] &&
					    strcmp(hi.etag, u->info.etag) != 0)))
		rc = -ESTALE;
	if (rc < 0) {
		log_error("write to %s after its commit: the committed object %s (%s); "
			  "nothing more is written",
			  LOG_KEY(key),
			  rc == -ESTALE ? "was replaced by another writer" : "cannot be read",
			  strerror(-rc));
		goto fail;
	}
	memcpy(u->key, key, klen + 1);
	memcpy(u->src_etag, hi.etag, sizeof(u->src_etag));
	/* The committed object's CRC is this handle's own (same ETag, same
	 * size): the copied head's part checksum. Without it (it was not
	 * computed, or the head is copied in pieces whose CRCs we do not
	 * know: a head over 5 GiB) the new upload carries none: Content-MD5
	 * guards its parts instead, whatever the mount decided. */
	int n_copy = (int)((size + S3_MAX_PART_SIZE - 1) / S3_MAX_PART_SIZE);
	uint64_t head_crc = u->obj_crc;
	int head_ok = u->obj_crc_ok && u->ck_alg == p->ck_alg;
	u->ck_alg = size < S3_MIN_PART_SIZE || (head_ok && n_copy == 1) ? p->ck_alg : S3_CKSUM_NONE;
	u->obj_crc_ok = 0;
	/* the longer object replaces only the version it continues */
	upload_set_cond(u, hi.etag[0] ? hi.etag : NULL);
	u->upload_id[0] = '\0';
	u->mpu_done = 0;
	u->part_no = 1;
	u->part_cap = upload_part_size_of(p, 1);
	pthread_mutex_lock(&u->lock);
	memcpy(u->final_key, key, klen + 1); /* under lock: upload_pool_each */
	u->err = 0;
	if (u->parts)
		memset(u->parts, 0, u->parts_alloc * sizeof(*u->parts));
	if (u->psum)
		memset(u->psum, 0, u->parts_alloc * sizeof(*u->psum));
	pthread_mutex_unlock(&u->lock);
	u->state = UP_OPEN;
	if (size == 0)
		return 0;
	if (size < S3_MIN_PART_SIZE) {
		size_t got = 0;
		while (u->buf_map < size) {
			u->buf_len = u->buf_map; /* upload_ensure_room grows a full buffer only */
			rc = upload_ensure_room(u);
			if (rc < 0)
				goto fail_open;
		}
		u->buf_len = 0;
		rc = s3_get_range(p->c, key, 0, (size_t)size, u->buf, &got, hi.etag, NULL);
		if (rc == 0 && got != size)
			rc = -EIO;
		if (rc < 0) {
			log_error("write to %s after its commit: reading back its %llu bytes "
				  "failed: %s",
				  LOG_KEY(key), (unsigned long long)size, strerror(-rc));
			goto fail_open;
		}
		u->buf_len = (size_t)size;
		return 0;
	}
	int n = n_copy;
	rc = mpu_create(u, size, n);
	if (rc < 0) {
		u->upload_id[0] = '\0';
		log_error("upload of %s: CreateMultipartUpload failed: %s", LOG_KEY(u->key),
			  strerror(-rc));
		goto fail_open;
	}
	pthread_mutex_lock(&u->lock);
	rc = reserve_parts_locked(u, n + 1);
	if (rc == 0 && u->ck_alg != S3_CKSUM_NONE) { /* n == 1: the whole object */
		s3_cksum_b64(u->ck_alg, head_crc, u->parts[0].cksum);
		u->psum[0] = (struct upload_psum){.crc = head_crc, .len = size};
	}
	pthread_mutex_unlock(&u->lock);
	if (rc < 0)
		goto fail_open;
	for (int i = 0; i < n; i++) {
		/* n equal pieces: each > 2.5 GiB when n > 1, never below 5 MiB */
		uint64_t off = size / (uint64_t)n * (uint64_t)i;
		uint64_t end = i == n - 1 ? size : size / (uint64_t)n * (uint64_t)(i + 1);
		struct part_job *job = calloc(1, sizeof(*job));
		if (!job) {
			rc = -ENOMEM;
			goto fail_open;
		}
		job->u = u;
		job->number = u->part_no++;
		job->copy_off = off;
		job->copy_len = end - off;
		pthread_mutex_lock(&u->lock);
		u->inflight++;
		pthread_mutex_unlock(&u->lock);
		upload_enqueue(p, job);
	}
	u->part_cap = upload_part_size_of(p, u->part_no);
	log_debug("upload of %s: resumed after a commit: %d copied part(s), upload %s",
		  LOG_KEY(u->key), n, u->upload_id);
	return 0;
fail_open:
	upload_cancel_parts(u);
	abort_mpu(u);
	upload_drop_buffer(u);
fail:
	/* The committed version stays as it is; this handle can write no more. */
	u->state = UP_FAILED;
	u->fail_rc = -EIO;
	return -EIO;
}

void upload_abort(struct upload *u)
{
	if (u->state == UP_COMMITTED || u->state == UP_ABORTED)
		return;
	upload_cancel_parts(u);
	abort_mpu(u);
	upload_drop_buffer(u);
	u->state = UP_ABORTED;
}

void upload_free(struct upload *u)
{
	if (!u)
		return;
	struct upload_pool *p = u->p;
	upload_abort(u);
	pthread_mutex_lock(&p->lock);
	if (u->prev)
		u->prev->next = u->next;
	else
		p->open = u->next;
	if (u->next)
		u->next->prev = u->prev;
	pthread_mutex_unlock(&p->lock);
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->lock);
	free(u->parts);
	free(u->psum);
	free(u);
}
