/*
 * s3mpu.c: the multipart calls of s3.h (CreateMultipartUpload, with or
 * without a recorded part layout and nonce; UploadPart; UploadPartCopy;
 * CompleteMultipartUpload, with its proof that a lost answer had succeeded;
 * AbortMultipartUpload; ListMultipartUploads) and the multipart path of
 * s3_copy, which copies parts in parallel threads. Each call builds a struct
 * s3_op and runs it through s3_exec (s3int.h).
 */
#include "s3.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "buf.h"
#include "crypto.h"
#include "http.h"
#include "log.h"
#include "mpu.h"
#include "s3hdr.h"
#include "s3int.h"
#include "s3xml.h"

#define S3_COPY_THREADS 4 /* UploadPartCopy calls of one copy at once */
/* The part size of a multipart copy when the client sets none: at least
 * this, else the size over 10,000 parts rounded up to S3_COPY_PART_ALIGN. */
#define S3_COPY_PART_DEFAULT (512ull << 20)
#define S3_COPY_PART_ALIGN (1ull << 20)
/* A CompleteMultipartUpload body: 10,000 parts of ~100 bytes of XML each. */
#define S3_COMPLETE_BODY_MAX (2u << 20)
/* CreateMultipartUpload's metadata: the layout and the nonce, name and
 * value each, and the closing NULL. */
#define S3_MPU_META_MAX (2 * 2 + 1)

static int s3_part_copy(struct s3_client *c, const char *key, const char *upload_id,
			int part_number, const char *src_key, uint64_t off, uint64_t len,
			const char *src_etag, char etag[S3_ETAG_MAX]);

struct s3_mcopy {
	struct s3_client *c;
	const char *src_key, *dst_key, *upload_id;
	const char *src_etag; /* every part from this version */
	uint64_t size, part_size;
	int nparts;
	struct s3_part *parts;
	_Atomic int next;   /* next part index to copy */
	_Atomic int failed; /* first error, 0 while all is well */
};

static void *s3_mcopy_worker(void *arg)
{
	struct s3_mcopy *m = arg;
	for (;;) {
		if (atomic_load(&m->failed))
			break;
		int i = atomic_fetch_add(&m->next, 1);
		if (i >= m->nparts)
			break;
		uint64_t off = (uint64_t)i * m->part_size;
		uint64_t len = m->size - off < m->part_size ? m->size - off : m->part_size;
		m->parts[i].number = i + 1;
		int rc = s3_part_copy(m->c, m->dst_key, m->upload_id, i + 1, m->src_key, off, len,
				      m->src_etag, m->parts[i].etag);
		if (rc) {
			int zero = 0;
			atomic_compare_exchange_strong(&m->failed, &zero, rc);
			break;
		}
	}
	return NULL;
}

int s3_copy_multipart(struct s3_client *c, const char *src_key, const char *dst_key, uint64_t size,
		      const char *src_etag, char etag[S3_ETAG_MAX])
{
	int rc;
	char upload_id[S3_UPLOAD_ID_MAX];
	uint64_t ps = c->copy_part_size;
	if (!ps) {
		ps = S3_COPY_PART_DEFAULT;
		uint64_t min = (size + S3_MAX_PARTS - 1) / S3_MAX_PARTS;
		if (ps < min)
			ps = (min + S3_COPY_PART_ALIGN - 1) & ~(S3_COPY_PART_ALIGN - 1);
	}
	if (ps < S3_MIN_PART_SIZE)
		ps = S3_MIN_PART_SIZE;
	if (ps > S3_MAX_PART_SIZE)
		ps = S3_MAX_PART_SIZE;
	uint64_t np = (size + ps - 1) / ps;
	if (np == 0 || np > S3_MAX_PARTS)
		return -EFBIG;
	struct s3_mcopy m = {.c = c,
			     .src_key = src_key,
			     .dst_key = dst_key,
			     .src_etag = src_etag,
			     .size = size,
			     .part_size = ps,
			     .nparts = (int)np};
	m.parts = calloc((size_t)np, sizeof(*m.parts));
	if (!m.parts)
		return -ENOMEM;
	/* uniform parts of ps bytes, the last one shorter: say so for readers */
	struct mpu_layout l = {.base = ps, .cap = ps};
	char nonce[S3_NONCE_MAX];
	rc = s3_nonce_new(nonce);
	if (!rc)
		rc = s3_mpu_create_layout(c, dst_key, &l, nonce, S3_CKSUM_NONE, upload_id);
	if (rc)
		goto out;
	m.upload_id = upload_id;
	log_info("s3: copy %s/%s -> %s: %" PRIu64 " bytes in %d parts of %" PRIu64, c->bucket,
		 LOG_KEY(src_key), LOG_KEY(dst_key), size, m.nparts, ps);
	pthread_t th[S3_COPY_THREADS];
	int started = 0;
	for (int i = 0; i < S3_COPY_THREADS && i < m.nparts; i++) {
		if (pthread_create(&th[i], NULL, s3_mcopy_worker, &m) != 0)
			break;
		started++;
	}
	if (!started)
		s3_mcopy_worker(&m); /* no thread to spare: do it here */
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	rc = atomic_load(&m.failed);
	if (!rc)
		rc = s3_mpu_complete(c, dst_key, upload_id, m.parts, (size_t)m.nparts, nonce, NULL,
				     etag);
	if (rc)
		(void)s3_mpu_abort(c, dst_key, upload_id);
out:
	free(m.parts);
	return rc;
}

/* ---- multipart ---- */

static int s3_upload_query(struct buf *q, int part_number, const char *upload_id)
{
	int rc = 0;
	if (part_number > 0) {
		char num[S3_NUM_MAX];
		snprintf(num, sizeof(num), "%d", part_number);
		rc = s3_query_add(q, "partNumber", num);
	}
	if (!rc)
		rc = s3_query_add(q, "uploadId", upload_id);
	return rc;
}

static int s3_parse_initiate(const char *body, size_t len, void *out)
{
	return s3xml_parse_initiate(body, len, out);
}

int s3_mpu_create(struct s3_client *c, const char *key, const struct s3_put_opts *opts,
		  char upload_id[S3_UPLOAD_ID_MAX])
{
	struct s3_op op = {.name = "CreateMultipartUpload",
			   .kind = S3HDR_MPU_CREATE,
			   .method = "POST",
			   .key = key,
			   .query = "uploads"};
	upload_id[0] = '\0';
	int rc = s3_put_headers(&op, opts);
	/* the algorithm of every part, and that S3 keeps the whole object's
	 * CRC (combined from the parts) rather than a checksum of checksums */
	const char *alg = opts && opts->cksum ? s3_cksum_name(opts->cksum->alg) : NULL;
	if (!rc && alg)
		rc = s3_op_header(&op, "x-amz-checksum-algorithm", alg);
	if (!rc && alg)
		rc = s3_op_header(&op, "x-amz-checksum-type", "FULL_OBJECT");
	if (rc)
		return rc;
	return s3_exec_parse(c, &op, NULL, s3_parse_initiate, upload_id);
}

int s3_nonce_new(char nonce[S3_NONCE_MAX])
{
	unsigned char b[(S3_NONCE_MAX - 1) / 2];
	size_t got = 0;
	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		got += (size_t)n;
	}
	crypto_hex(b, sizeof(b), nonce);
	return 0;
}

int s3_mpu_create_layout(struct s3_client *c, const char *key, const struct mpu_layout *l,
			 const char *nonce, enum s3_cksum_alg alg, char upload_id[S3_UPLOAD_ID_MAX])
{
	struct s3_cksum ck = {.alg = alg};
	char val[MPU_LAYOUT_MAX];
	const char *meta[S3_MPU_META_MAX];
	int n = 0;
	/* A layout that cannot be stated (never expected) only costs readers the check. */
	if (mpu_layout_format(l, val, sizeof(val)) == 0) {
		meta[n++] = MPU_LAYOUT_META;
		meta[n++] = val;
	}
	if (nonce && nonce[0]) {
		meta[n++] = S3_NONCE_META;
		meta[n++] = nonce;
	}
	meta[n] = NULL;
	struct s3_put_opts o = {.meta = meta, .cksum = alg != S3_CKSUM_NONE ? &ck : NULL};
	return s3_mpu_create(c, key, &o, upload_id);
}

int s3_mpu_upload_part(struct s3_client *c, const char *key, const char *upload_id, int part_number,
		       const void *data, size_t len, struct s3_cksum *ck, char etag[S3_ETAG_MAX])
{
	struct s3_cksum_hdr ch;
	if (part_number < 1 || part_number > S3_MAX_PARTS || len > S3_MAX_PART_SIZE)
		return -EINVAL;
	struct buf q;
	buf_init(&q, S3_UPLOAD_QUERY_MAX);
	int rc = s3_upload_query(&q, part_number, upload_id);
	if (rc)
		goto out;
	struct s3_op op = {.name = "UploadPart",
			   .kind = S3HDR_UPLOAD_PART,
			   .method = "PUT",
			   .key = key,
			   .query = q.ptr,
			   .body = data,
			   .body_len = len};
	rc = s3_cksum_request(&op, ck, &ch);
	if (rc)
		goto out;
	struct http_response r;
	http_response_init(&r);
	rc = s3_exec(c, &op, &r);
	if (!rc) {
		s3_cksum_echo(&r, ck, &ch);
		s3_etag_header(&r, etag);
		if (!etag[0]) {
			log_error("s3: UploadPart %s/%s #%d: no ETag in the answer", c->bucket,
				  LOG_KEY(key), part_number);
			rc = -EIO;
		}
	}
	http_response_release(&r);
out:
	buf_release(&q);
	return rc;
}

int s3_mpu_upload_part_copy(struct s3_client *c, const char *key, const char *upload_id,
			    int part_number, const char *src_key, uint64_t off, uint64_t len,
			    const char *src_etag, char etag[S3_ETAG_MAX])
{
	return s3_part_copy(c, key, upload_id, part_number, src_key, off, len, src_etag, etag);
}

/* src_etag (or NULL): the source must still be that version (-ESTALE if not),
 * so the parts of one copy all come from the same object. */
static int s3_part_copy(struct s3_client *c, const char *key, const char *upload_id,
			int part_number, const char *src_key, uint64_t off, uint64_t len,
			const char *src_etag, char etag[S3_ETAG_MAX])
{
	if (part_number < 1 || part_number > S3_MAX_PARTS || len == 0 || len > S3_MAX_PART_SIZE)
		return -EINVAL;
	struct buf q, src;
	char range[S3_RANGE_MAX];
	buf_init(&q, S3_UPLOAD_QUERY_MAX);
	buf_init(&src, S3_COPY_SOURCE_MAX);
	int rc = s3_upload_query(&q, part_number, upload_id);
	if (!rc)
		rc = s3_copy_source(c, src_key, &src);
	if (rc)
		goto out;
	snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, off, off + len - 1);
	struct s3_op op = {.name = "UploadPartCopy",
			   .kind = S3HDR_UPLOAD_PART_COPY,
			   .method = "PUT",
			   .key = key,
			   .query = q.ptr,
			   .error_in_200 = 1,
			   .slow_ok = 1};
	s3_op_header(&op, "x-amz-copy-source", src.ptr);
	s3_op_header(&op, "x-amz-copy-source-range", range);
	if (src_etag && src_etag[0])
		s3_op_header(&op, "x-amz-copy-source-if-match", src_etag);
	char detail[S3_NUM_MAX + 2];
	snprintf(detail, sizeof(detail), " #%d", part_number);
	rc = s3_exec_parse(c, &op, detail, s3_parse_copy_etag, etag);
out:
	buf_release(&q);
	buf_release(&src);
	return rc;
}

static int s3_parse_complete(const char *body, size_t len, void *out)
{
	return s3xml_parse_complete(body, len, out);
}

int s3_mpu_complete(struct s3_client *c, const char *key, const char *upload_id,
		    const struct s3_part *parts, size_t nparts, const char *nonce,
		    const struct s3_cksum *full, char etag[S3_ETAG_MAX])
{
	return s3_mpu_complete_if(c, key, upload_id, parts, nparts, nonce, full, NULL, etag);
}

int s3_mpu_complete_if(struct s3_client *c, const char *key, const char *upload_id,
		       const struct s3_part *parts, size_t nparts, const char *nonce,
		       const struct s3_cksum *full, const struct s3_put_opts *cond,
		       char etag[S3_ETAG_MAX])
{
	const char *alg = full ? s3_cksum_name(full->alg) : NULL;
	char elem[S3_CKSUM_HNAME_MAX] = "";
	struct s3_cksum_hdr ch = {.name = ""};
	struct buf q, body;
	char tag[S3_ETAG_MAX] = "";
	buf_init(&q, S3_UPLOAD_QUERY_MAX);
	buf_init(&body, S3_COMPLETE_BODY_MAX);
	if (etag)
		etag[0] = '\0';
	int rc = s3_upload_query(&q, 0, upload_id);
	if (alg)
		snprintf(elem, sizeof(elem), "Checksum%s", alg);
	if (!rc)
		rc = s3xml_build_complete(parts, nparts, alg ? elem : NULL, &body);
	if (rc)
		goto out;
	struct s3_op op = {.name = "CompleteMultipartUpload",
			   .kind = S3HDR_MPU_COMPLETE,
			   .method = "POST",
			   .key = key,
			   .query = q.ptr,
			   .body = body.ptr,
			   .body_len = body.len,
			   .error_in_200 = 1,
			   .slow_ok = 1};
	s3_op_header(&op, "Content-Type", "application/xml");
	if (alg) {
		/* the whole object's CRC: not the body's, so no body_cksum */
		rc = s3_cksum_hdr_fill(full, &ch);
		if (!rc)
			rc = s3_op_header(&op, ch.name, ch.value);
		if (!rc)
			rc = s3_op_header(&op, "x-amz-checksum-type", "FULL_OBJECT");
		if (rc)
			goto out;
	}
	char bare[S3_ETAG_MAX];
	rc = s3_cond_headers(c, &op, cond, bare);
	if (!rc)
		rc = s3_exec_parse(c, &op, NULL, s3_parse_complete, tag);
	if (s3_cond_retry(c, key, cond, rc, &op, bare))
		rc = s3_exec_parse(c, &op, NULL, s3_parse_complete, tag);
	rc = s3_cond_result(rc, cond);
	/* (no parser answers -ENOENT: this one is s3_exec's) */
	if (rc == -ENOENT && op.attempts > 0) {
		/* An earlier try may have completed it and lost the answer. Only
		 * the ETag computed from our own parts, or our nonce where the
		 * ETag cannot be computed, proves the object there is ours: any
		 * "-N" could be another writer's upload of N parts. */
		struct s3_object_info info;
		char want[S3_ETAG_MAX] = "";
		if (mpu_etag_of_parts(parts, nparts, want, sizeof(want)) != 0)
			want[0] = '\0';
		if (s3_head(c, key, &info) == 0 &&
		    ((want[0] && strcmp(info.etag, want) == 0) ||
		     (nonce && nonce[0] && strcmp(info.upload_nonce, nonce) == 0))) {
			log_info("s3: CompleteMultipartUpload %s/%s: done by an earlier try",
				 c->bucket, LOG_KEY(key));
			str_copy_trunc(tag, sizeof(tag), info.etag);
			rc = 0;
		}
	}
	s3_etag_quote(tag);
	if (!rc && etag)
		str_copy_trunc(etag, S3_ETAG_MAX, tag);
out:
	buf_release(&q);
	buf_release(&body);
	return rc;
}

int s3_mpu_abort(struct s3_client *c, const char *key, const char *upload_id)
{
	struct buf q;
	buf_init(&q, S3_UPLOAD_QUERY_MAX);
	int rc = s3_upload_query(&q, 0, upload_id);
	if (rc)
		goto out;
	struct s3_op op = {.name = "AbortMultipartUpload",
			   .kind = S3HDR_MPU_ABORT,
			   .method = "DELETE",
			   .key = key,
			   .query = q.ptr};
	rc = s3_exec_parse(c, &op, NULL, NULL, NULL);
out:
	buf_release(&q);
	return rc;
}

static int s3_parse_uploads(const char *body, size_t len, void *out)
{
	return s3xml_parse_list_uploads(body, len, out);
}

int s3_mpu_list(struct s3_client *c, const char *prefix, s3_upload_fn fn, void *arg)
{
	int rc = 0;
	char *key_marker = NULL, *id_marker = NULL;
	struct buf q;
	buf_init(&q, S3_QUERY_MAX);
	for (int page = 0;; page++) {
		buf_reset(&q);
		/* No encoding-type=url here: RGW then encodes <Key> but sends no
		 * <EncodingType> and a raw NextKeyMarker, so we could not tell
		 * encoded from raw keys. Raw keys are fine in XML. */
		if (key_marker)
			rc = s3_query_add(&q, "key-marker", key_marker);
		if (!rc && prefix && prefix[0])
			rc = s3_query_add(&q, "prefix", prefix);
		if (!rc && id_marker)
			rc = s3_query_add(&q, "upload-id-marker", id_marker);
		if (!rc)
			rc = s3_query_add(&q, "uploads", NULL);
		if (rc)
			break;
		struct s3_op op = {.name = "ListMultipartUploads",
				   .kind = S3HDR_LIST_UPLOADS,
				   .method = "GET",
				   .query = q.ptr};
		struct s3xml_uploads u = {0};
		rc = s3_exec_parse(c, &op, NULL, s3_parse_uploads, &u);
		if (rc)
			break;
		int stop = 0;
		for (size_t i = 0; i < u.n && !stop; i++)
			stop = fn(arg, u.v[i].key, u.v[i].upload_id, u.v[i].initiated);
		int more = u.truncated && u.next_key_marker && !stop;
		if (more && key_marker && strcmp(key_marker, u.next_key_marker) == 0 && id_marker &&
		    u.next_upload_id_marker && strcmp(id_marker, u.next_upload_id_marker) == 0) {
			log_error("s3: ListMultipartUploads %s: markers did not advance",
				  c->bucket);
			rc = -EIO;
			more = 0;
		}
		if (more) {
			free(key_marker);
			free(id_marker);
			key_marker = u.next_key_marker;
			id_marker = u.next_upload_id_marker;
			u.next_key_marker = NULL;
			u.next_upload_id_marker = NULL;
		}
		s3xml_uploads_release(&u);
		if (!more)
			break;
	}
	free(key_marker);
	free(id_marker);
	buf_release(&q);
	return rc;
}
