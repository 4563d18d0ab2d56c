/*
 * s3obj.c: the object calls of s3.h: HEAD (and HEAD of one part), GET (a
 * range into a buffer, or a stream with resumes), ListObjectsV2, PutObject,
 * CopyObject, DeleteObject(s). Each builds a struct s3_op, runs it through
 * s3_exec (s3int.h) and reads its answer from the headers or the XML body
 * (s3xml.h); the multipart path of s3_copy is in s3mpu.c.
 */
#include "s3.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http.h"
#include "log.h"
#include "mpu.h"
#include "s3cksum.h"
#include "s3hdr.h"
#include "s3int.h"
#include "s3xml.h"

#define S3_MAX_RESUMES 64    /* stream resumes that made progress, per call */
#define S3_DELETE_BATCH 1000 /* keys per DeleteObjects, S3's limit */
/* A DeleteObjects body: 1000 keys of up to 1 KiB, XML-escaped (up to 6x). */
#define S3_DELETE_BODY_MAX (16u << 20)
#define S3_SSE_NAME_MAX 64 /* an x-amz-server-side-encryption* value */

static int s3_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* "bytes A-B/TOTAL" with A <= B < TOTAL (a Content-Range of a 206). */
static int s3_parse_content_range(const char *v, uint64_t *a, uint64_t *b, uint64_t *total)
{
	char t[S3_HVAL_MAX];
	if (strncmp(v, "bytes ", 6) != 0 || strlen(v) >= sizeof(t))
		return -EINVAL;
	memcpy(t, v + 6, strlen(v + 6) + 1);
	char *dash = strchr(t, '-'), *slash = strchr(t, '/');
	if (!dash || !slash || slash < dash)
		return -EINVAL;
	*dash = *slash = '\0';
	if (s3_parse_u64(t, a) || s3_parse_u64(dash + 1, b) || s3_parse_u64(slash + 1, total) ||
	    *a > *b || *b >= *total)
		return -EINVAL;
	return 0;
}

/* The object's checksum, when the answer has one that parses (s3cksum.h):
 * the first of s3cksum_order present and valid. */
static void s3_fill_checksum(const struct http_response *r, struct s3_checksum *ck)
{
	char v[S3_HVAL_MAX], type[S3_HVAL_MAX];
	memset(ck, 0, sizeof(*ck));
	if (http_response_header(r, "x-amz-checksum-type", type, sizeof(type)) != 0)
		type[0] = '\0';
	for (int i = 0; i < S3CKSUM_NALGS; i++) {
		enum s3_cksum_alg a = s3cksum_order[i];
		if (http_response_header(r, s3cksum_header(a), v, sizeof(v)) == 0 &&
		    s3cksum_parse(a, v, type, ck) == 0)
			return;
	}
	memset(ck, 0, sizeof(*ck));
}

/* size from Content-Range "bytes a-b/total" when present, else Content-Length. */
static void s3_fill_info(const struct http_response *r, struct s3_object_info *info)
{
	char v[S3_HVAL_MAX];
	memset(info, 0, sizeof(*info));
	int have = 0;
	if (http_response_header(r, "Content-Range", v, sizeof(v)) == 0) {
		const char *slash = strchr(v, '/');
		have = slash && s3_parse_u64(slash + 1, &info->size) == 0;
	}
	if (!have && http_response_header(r, "Content-Length", v, sizeof(v)) == 0)
		(void)s3_parse_u64(v, &info->size);
	s3_etag_header(r, info->etag);
	if (http_response_header(r, "Last-Modified", v, sizeof(v)) == 0)
		(void)http_parse_date(v, &info->mtime);
	if (http_response_header(r, "x-amz-meta-" MPU_LAYOUT_META, info->parts_layout,
				 sizeof(info->parts_layout)) != 0)
		info->parts_layout[0] = '\0';
	if (http_response_header(r, "x-amz-meta-" S3_NONCE_META, info->upload_nonce,
				 sizeof(info->upload_nonce)) != 0)
		info->upload_nonce[0] = '\0';
	char sse[S3_SSE_NAME_MAX] = "", ssec[S3_SSE_NAME_MAX] = "";
	if (http_response_header(r, "x-amz-server-side-encryption", sse, sizeof(sse)) != 0)
		sse[0] = '\0';
	if (http_response_header(r, "x-amz-server-side-encryption-customer-algorithm", ssec,
				 sizeof(ssec)) != 0)
		ssec[0] = '\0';
	info->etag_not_md5 = s3hdr_etag_not_md5(sse, ssec);
	s3_fill_checksum(r, &info->checksum);
}

/* ---- HEAD / GET ---- */

int s3_head(struct s3_client *c, const char *key, struct s3_object_info *info)
{
	struct s3_op op = {.name = "HeadObject",
			   .kind = S3HDR_HEAD_OBJECT,
			   .method = "HEAD",
			   .key = key,
			   .quiet_enoent = 1};
	/* the object's stored CRC, where the server keeps one (s3cksum.h);
	 * servers without checksums ignore the header */
	int rc = s3_op_header(&op, "x-amz-checksum-mode", "ENABLED");
	if (rc)
		return rc;
	struct http_response r;
	http_response_init(&r);
	rc = s3_exec(c, &op, &r);
	if (!rc && info)
		s3_fill_info(&r, info);
	http_response_release(&r);
	return rc;
}

int s3_head_part(struct s3_client *c, const char *key, int part_number, struct s3_part_info *pi)
{
	memset(pi, 0, sizeof(*pi));
	if (part_number < 1 || part_number > S3_MAX_PARTS)
		return -EINVAL;
	char q[sizeof("partNumber=") + S3_NUM_MAX];
	snprintf(q, sizeof(q), "partNumber=%d", part_number);
	struct s3_op op = {.name = "HeadObject",
			   .kind = S3HDR_HEAD_OBJECT,
			   .method = "HEAD",
			   .key = key,
			   .query = q,
			   .quiet_enoent = 1};
	struct http_response r;
	http_response_init(&r);
	int rc = s3_exec(c, &op, &r);
	if (!rc) {
		char v[S3_HVAL_MAX];
		uint64_t a, b, n;
		s3_etag_header(&r, pi->etag);
		if (http_response_header(&r, "x-amz-mp-parts-count", v, sizeof(v)) == 0 &&
		    s3_parse_u64(v, &n) == 0 && n >= 1 && n <= S3_MAX_PARTS)
			pi->parts_count = (int)n;
		/* "bytes A-B/TOTAL" locates the part; else only its length is known */
		if (http_response_header(&r, "Content-Range", v, sizeof(v)) == 0 &&
		    s3_parse_content_range(v, &a, &b, &n) == 0) {
			pi->off = a;
			pi->len = b - a + 1;
			pi->size = n;
			pi->have_off = 1;
		} else if (http_response_header(&r, "Content-Length", v, sizeof(v)) == 0) {
			(void)s3_parse_u64(v, &pi->len);
		}
	}
	http_response_release(&r);
	return rc;
}

struct s3_get_ctx {
	s3_sink_fn sink;
	void *arg;
	struct http_response *resp;
	uint64_t delivered; /* bytes passed to sink by this request */
	uint64_t skip;	    /* bytes to drop first (a 200 to a ranged GET) */
	uint64_t want;	    /* bytes still wanted overall; UINT64_MAX = all */
	int got_headers;
	int full_ok;		     /* stopped on purpose: we had all we wanted */
	struct s3_object_info first; /* from the first response that had a body */
};

static int s3_get_sink(void *arg, const void *data, size_t n)
{
	struct s3_get_ctx *g = arg;
	const char *p = data;
	if (!g->got_headers) {
		/* The headers are complete once the body starts: keep them now,
		 * since a transfer that breaks later reports no status. */
		g->got_headers = 1;
		s3_fill_info(g->resp, &g->first);
		/* A server that ignores Range answers 200 with the whole object;
		 * then we skip to our offset (the caller set skip) ourselves. */
		if (g->resp->status == 206)
			g->skip = 0;
	}
	if (g->skip) {
		size_t s = g->skip < n ? (size_t)g->skip : n;
		g->skip -= s;
		p += s;
		n -= s;
	}
	/* More than we asked for (only when the server ignored Range): take
	 * what we want and stop the transfer. An exact end is not cut short,
	 * so the connection stays reusable. */
	int enough = g->want != UINT64_MAX && n > g->want;
	if (enough)
		n = (size_t)g->want;
	if (n) {
		int rc = g->sink(g->arg, p, n);
		if (rc)
			return rc;
		g->delivered += n;
		if (g->want != UINT64_MAX)
			g->want -= n;
	}
	if (enough) {
		g->full_ok = 1;
		return -ECANCELED;
	}
	return 0;
}

static int s3_is_resumable(int rc)
{
	return rc == -ECONNRESET || rc == -ETIMEDOUT || rc == -EIO || rc == -EPROTO;
}

static int s3_get_common(struct s3_client *c, const char *key, uint64_t off, uint64_t len,
			 s3_sink_fn sink, void *arg, const char *if_match,
			 struct s3_object_info *info)
{
	int rc = 0, resumes = 0;
	uint64_t pos = off;
	uint64_t end = len == UINT64_MAX || off + len < off ? UINT64_MAX : off + len;
	char range[S3_RANGE_MAX], etag_pin[S3_ETAG_MAX] = "";
	struct s3_object_info first;
	int have_first = 0;
	memset(&first, 0, sizeof(first));
	if (len == 0) {
		if (info)
			memset(info, 0, sizeof(*info));
		return 0;
	}
	if (if_match)
		str_copy_trunc(etag_pin, sizeof(etag_pin), if_match);
	uint64_t deadline = s3_deadline(c); /* one for every resume */
	struct http_response r;
	http_response_init(&r);
	for (;;) {
		struct s3_op op = {.name = "GetObject",
				   .kind = S3HDR_GET_OBJECT,
				   .method = "GET",
				   .key = key,
				   .quiet_enoent = 1,
				   .no_retry_after_data = 1,
				   .deadline_ms = deadline};
		struct s3_get_ctx g = {.sink = sink,
				       .arg = arg,
				       .resp = &r,
				       .want = end == UINT64_MAX ? UINT64_MAX : end - pos};
		/* The whole object from 0 is a plain GET: "bytes=0-" on an empty
		 * object would be a 416. */
		if (pos == 0 && end == UINT64_MAX) {
			g.skip = 0;
		} else {
			if (end == UINT64_MAX)
				snprintf(range, sizeof(range), "bytes=%" PRIu64 "-", pos);
			else
				snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, pos,
					 end - 1);
			s3_op_header(&op, "Range", range);
			g.skip = pos; /* used only if the server ignores Range */
		}
		if (etag_pin[0])
			s3_op_header(&op, "If-Match", etag_pin);
		op.sink = s3_get_sink;
		op.sink_arg = &g;
		rc = s3_exec(c, &op, &r);
		if (rc == -ECANCELED && g.full_ok)
			rc = 0;
		if (!have_first && (g.got_headers || rc == 0)) {
			if (g.got_headers)
				first = g.first;
			else
				s3_fill_info(&r, &first); /* a body-less 2xx */
			have_first = 1;
			/* Pin every resume to this version of the object. */
			if (!etag_pin[0] && first.etag[0])
				str_copy_trunc(etag_pin, sizeof(etag_pin), first.etag);
		}
		pos += g.delivered;
		if (rc == 0)
			break;
		if (g.delivered && s3_is_resumable(rc) && resumes < S3_MAX_RESUMES &&
		    (end == UINT64_MAX || pos < end) && !(have_first && pos >= first.size)) {
			resumes++;
			atomic_fetch_add_explicit(&c->n_retries, 1, memory_order_relaxed);
			log_info("s3: GetObject %s/%s: connection lost (%s) after %" PRIu64
				 " bytes; resuming at %" PRIu64,
				 c->bucket, LOG_KEY(key), strerror(-rc), g.delivered, pos);
			continue;
		}
		if (g.delivered && s3_is_resumable(rc) && have_first && pos >= first.size) {
			rc = 0; /* dropped right after the last byte */
			break;
		}
		break;
	}
	http_response_release(&r);
	if (!rc && info)
		*info = first;
	return rc;
}

int s3_get_stream(struct s3_client *c, const char *key, uint64_t off, uint64_t len, s3_sink_fn sink,
		  void *arg, struct s3_object_info *info)
{
	return s3_get_common(c, key, off, len, sink, arg, NULL, info);
}

struct s3_buf_sink {
	char *buf;
	size_t cap, got;
};

static int s3_buf_sink_fn(void *arg, const void *data, size_t n)
{
	struct s3_buf_sink *b = arg;
	if (n > b->cap - b->got)
		return -EOVERFLOW; /* the server sent more than we asked for */
	memcpy(b->buf + b->got, data, n);
	b->got += n;
	return 0;
}

int s3_get_range(struct s3_client *c, const char *key, uint64_t off, size_t len, void *buf,
		 size_t *got, const char *if_match, struct s3_object_info *info)
{
	struct s3_buf_sink b = {buf, len, 0};
	*got = 0;
	int rc = s3_get_common(c, key, off, len, s3_buf_sink_fn, &b, if_match, info);
	if (!rc)
		*got = b.got;
	return rc;
}

/* ---- LIST ---- */

void s3_list_page_release(struct s3_list_page *page)
{
	s3xml_list_page_release(page);
}

/* What ListObjectsV2's answer parses into. */
struct s3_list_out {
	struct s3_list_page *page;
	long key_count; /* <KeyCount>, -1 when absent */
};

static int s3_parse_list(const char *body, size_t len, void *out)
{
	struct s3_list_out *lo = out;
	return s3xml_parse_list_v2(body, len, lo->page, &lo->key_count);
}

int s3_list(struct s3_client *c, const struct s3_list_req *req, struct s3_list_page *page)
{
	struct buf q;
	char num[S3_NUM_MAX];
	int rc;
	memset(page, 0, sizeof(*page));
	buf_init(&q, S3_QUERY_MAX);
	/* In canonical (sorted) order, though sigv4 sorts anyway. */
	rc = 0;
	if (req->continuation && req->continuation[0])
		rc = s3_query_add(&q, "continuation-token", req->continuation);
	if (!rc && req->delimiter && req->delimiter[0])
		rc = s3_query_add(&q, "delimiter", req->delimiter);
	if (!rc)
		rc = s3_query_add(&q, "encoding-type", "url");
	if (!rc)
		rc = s3_query_add(&q, "list-type", "2");
	if (!rc && req->max_keys > 0) {
		snprintf(num, sizeof(num), "%d", req->max_keys);
		rc = s3_query_add(&q, "max-keys", num);
	}
	if (!rc)
		rc = s3_query_add(&q, "prefix", req->prefix ? req->prefix : "");
	if (!rc && req->start_after && req->start_after[0])
		rc = s3_query_add(&q, "start-after", req->start_after);
	if (rc)
		goto out;
	struct s3_op op = {
	    .name = "ListObjectsV2", .kind = S3HDR_LIST_OBJECTS, .method = "GET", .query = q.ptr};
	struct s3_list_out lo = {.page = page};
	char detail[sizeof(" prefix=") + LOG_KEY_BUF];
	snprintf(detail, sizeof(detail), " prefix=%s", LOG_KEY(req->prefix));
	rc = s3_exec_parse(c, &op, detail, s3_parse_list, &lo);
	if (!rc && lo.key_count >= 0 && (size_t)lo.key_count != page->nentries + page->nprefixes)
		log_debug("s3: ListObjectsV2 %s: KeyCount %ld, got %zu", c->bucket, lo.key_count,
			  page->nentries + page->nprefixes);
out:
	buf_release(&q);
	return rc;
}

/* ---- PUT ---- */

int s3_cond_headers(struct s3_client *c, struct s3_op *op, const struct s3_put_opts *cond,
		    char bare[S3_ETAG_MAX])
{
	int rc = 0;
	if (cond && cond->if_none_match)
		rc = s3_op_header(op, "If-None-Match", cond->if_none_match);
	if (rc || !cond || !cond->if_match || !cond->if_match[0])
		return rc;
	const char *v = cond->if_match;
	size_t n = strlen(v);
	if (atomic_load(&c->if_match_bare) && n >= 2 && v[0] == '"' && v[n - 1] == '"' &&
	    n - 2 < S3_ETAG_MAX) {
		memcpy(bare, v + 1, n - 2);
		bare[n - 2] = '\0';
		v = bare;
	}
	return s3_op_header(op, "If-Match", v);
}

int s3_cond_retry(struct s3_client *c, const char *key, const struct s3_put_opts *cond, int rc,
		  struct s3_op *op, char bare[S3_ETAG_MAX])
{
	struct s3_object_info hi;
	if (rc != -ESTALE || !cond || !cond->if_match || cond->if_match[0] != '"' ||
	    atomic_load(&c->if_match_bare))
		return 0;
	if (s3_head(c, key, &hi) != 0 || strcmp(hi.etag, cond->if_match) != 0)
		return 0; /* a real 412: the key holds another version */
	if (!atomic_exchange(&c->if_match_bare, 1))
		log_warn("s3: %s answers 412 to If-Match with the ETag it holds, quoted: it "
			 "compares bare ETags (Ceph RGW 16); sending them bare from now on",
			 c->bucket);
	size_t n = strlen(cond->if_match);
	if (n < 2 || cond->if_match[n - 1] != '"' || n - 2 >= S3_ETAG_MAX)
		return 0;
	memcpy(bare, cond->if_match + 1, n - 2);
	bare[n - 2] = '\0';
	for (size_t i = 0; i < op->nhdrs; i++)
		if (strcmp(op->hdrs[i].name, "If-Match") == 0)
			op->hdrs[i].value = bare;
	op->deadline_ms = 0; /* a deadline of its own, as a new call */
	return 1;
}

int s3_cond_result(int rc, const struct s3_put_opts *cond)
{
	/* If-None-Match: * failing means "it already exists". */
	if (rc == -ESTALE && cond && cond->if_none_match)
		return -EEXIST;
	return rc;
}

int s3_put_headers(struct s3_op *op, const struct s3_put_opts *opts)
{
	int rc = 0;
	if (!opts)
		return 0;
	if (opts->content_type)
		rc = s3_op_header(op, "Content-Type", opts->content_type);
	if (!rc && opts->if_none_match) /* (commits: s3_cond_headers) */
		rc = s3_op_header(op, "If-None-Match", opts->if_none_match);
	for (size_t i = 0; !rc && opts->meta && opts->meta[i]; i += 2) {
		if (!opts->meta[i + 1])
			return -EINVAL;
		if (op->nhdrs >= S3_OP_HDRS)
			return -E2BIG;
		char *hn = op->hname[op->nhdrs];
		int n = snprintf(hn, S3_HNAME_MAX, "x-amz-meta-%s", opts->meta[i]);
		if (n < 0 || n >= S3_HNAME_MAX)
			return -E2BIG;
		rc = s3_op_header(op, hn, opts->meta[i + 1]);
	}
	return rc;
}

/* ---- checksums ---- */

int s3_cksum_hdr_fill(const struct s3_cksum *ck, struct s3_cksum_hdr *h)
{
	const char *name = ck ? s3_cksum_name(ck->alg) : NULL;
	h->name[0] = h->value[0] = '\0';
	if (!name)
		return 0;
	/* "x-amz-checksum-crc64nvme": the name in lower case */
	int n = snprintf(h->name, sizeof(h->name), "x-amz-checksum-%s", name);
	if (n < 0 || (size_t)n >= sizeof(h->name))
		return -E2BIG;
	for (char *p = h->name; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	s3_cksum_b64(ck->alg, ck->crc, h->value);
	return 0;
}

int s3_cksum_request(struct s3_op *op, const struct s3_cksum *ck, struct s3_cksum_hdr *h)
{
	int rc = s3_cksum_hdr_fill(ck, h);
	op->content_md5 = !ck || !ck->no_md5;
	op->body_cksum = h->name[0] != '\0';
	if (rc || !h->name[0])
		return rc;
	return s3_op_header(op, h->name, h->value);
}

void s3_cksum_echo(const struct http_response *r, struct s3_cksum *ck, const struct s3_cksum_hdr *h)
{
	char v[S3_HVAL_MAX];
	if (!ck)
		return;
	ck->echoed = h->name[0] && http_response_header(r, h->name, v, sizeof(v)) == 0 &&
		     strcmp(v, h->value) == 0;
}

int s3_put(struct s3_client *c, const char *key, const void *data, size_t len,
	   const struct s3_put_opts *opts, char etag[S3_ETAG_MAX])
{
	struct s3_op op = {.name = "PutObject",
			   .kind = S3HDR_PUT_OBJECT,
			   .method = "PUT",
			   .key = key,
			   .body = data,
			   .body_len = len};
	struct s3_cksum *ck = opts ? opts->cksum : NULL;
	struct s3_cksum_hdr ch;
	if (etag)
		etag[0] = '\0';
	char bare[S3_ETAG_MAX];
	int rc = s3_put_headers(&op, opts);
	if (!rc && opts && opts->if_match)
		rc = s3_cond_headers(c, &op, &(struct s3_put_opts){.if_match = opts->if_match},
				     bare);
	if (!rc)
		rc = s3_cksum_request(&op, ck, &ch);
	if (rc)
		return rc;
	struct http_response r;
	http_response_init(&r);
	rc = s3_exec(c, &op, &r);
	if (s3_cond_retry(c, key, opts, rc, &op, bare)) {
		http_response_release(&r);
		http_response_init(&r);
		rc = s3_exec(c, &op, &r);
	}
	if (!rc)
		s3_cksum_echo(&r, ck, &ch);
	if (!rc && etag)
		s3_etag_header(&r, etag);
	rc = s3_cond_result(rc, opts);
	http_response_release(&r);
	return rc;
}

/* ---- COPY ---- */

static int s3_copy_single(struct s3_client *c, const char *src_key, const char *dst_key,
			  const char *src_etag, char etag[S3_ETAG_MAX])
{
	struct buf src;
	buf_init(&src, S3_COPY_SOURCE_MAX);
	int rc = s3_copy_source(c, src_key, &src);
	if (rc)
		goto out;
	struct s3_op op = {.name = "CopyObject",
			   .kind = S3HDR_COPY_OBJECT,
			   .method = "PUT",
			   .key = dst_key,
			   .error_in_200 = 1,
			   .slow_ok = 1};
	s3_op_header(&op, "x-amz-copy-source", src.ptr);
	if (src_etag && src_etag[0])
		s3_op_header(&op, "x-amz-copy-source-if-match", src_etag);
	char tag[S3_ETAG_MAX];
	rc = s3_exec_parse(c, &op, NULL, s3_parse_copy_etag, tag);
	if (!rc && etag)
		str_copy_trunc(etag, S3_ETAG_MAX, tag);
out:
	buf_release(&src);
	return rc;
}

int s3_copy(struct s3_client *c, const char *src_key, const char *dst_key, uint64_t src_size,
	    char etag[S3_ETAG_MAX])
{
	return s3_copy_if(c, src_key, dst_key, src_size, NULL, etag);
}

int s3_copy_if(struct s3_client *c, const char *src_key, const char *dst_key, uint64_t src_size,
	       const char *src_etag, char etag[S3_ETAG_MAX])
{
	int rc;
	struct s3_object_info info;
	int have_info = 0;
	if (etag)
		etag[0] = '\0';
	if (!src_size) {
		rc = s3_head(c, src_key, &info);
		if (rc)
			return rc;
		src_size = info.size;
		have_info = 1;
		if (src_etag && src_etag[0] && strcmp(info.etag, src_etag) != 0)
			return -ESTALE;
	}
	if (src_size > c->copy_threshold) {
		/* Many requests over a while: pin them all to one version. */
		if (!have_info) {
			rc = s3_head(c, src_key, &info);
			if (rc)
				return rc;
			if (info.size != src_size ||
			    (src_etag && src_etag[0] && strcmp(info.etag, src_etag) != 0))
				return -ESTALE;
		}
		char tag[S3_ETAG_MAX];
		return s3_copy_multipart(c, src_key, dst_key, src_size, info.etag,
					 etag ? etag : tag);
	}
	return s3_copy_single(c, src_key, dst_key, src_etag, etag);
}

/* ---- DELETE ---- */

int s3_delete(struct s3_client *c, const char *key)
{
	struct s3_op op = {
	    .name = "DeleteObject", .kind = S3HDR_DELETE_OBJECT, .method = "DELETE", .key = key};
	return s3_exec_parse(c, &op, NULL, NULL, NULL);
}

static int s3_parse_delete(const char *body, size_t len, void *out)
{
	return s3xml_parse_delete_result(body, len, out);
}

int s3_delete_many(struct s3_client *c, const char *const *keys, size_t n)
{
	int rc = 0, failed = 0;
	struct buf body;
	buf_init(&body, S3_DELETE_BODY_MAX);
	for (size_t at = 0; at < n && !rc; at += S3_DELETE_BATCH) {
		size_t cnt = n - at < S3_DELETE_BATCH ? n - at : S3_DELETE_BATCH;
		buf_reset(&body);
		rc = s3xml_build_delete(keys + at, cnt, 1, &body);
		if (rc)
			break;
		struct s3_op op = {.name = "DeleteObjects",
				   .kind = S3HDR_DELETE_OBJECTS,
				   .method = "POST",
				   .query = "delete",
				   .body = body.ptr,
				   .body_len = body.len,
				   .content_md5 = 1,
				   .error_in_200 = 1};
		s3_op_header(&op, "Content-Type", "application/xml");
		struct s3xml_delete_result res;
		rc = s3_exec_parse(c, &op, NULL, s3_parse_delete, &res);
		if (!rc) {
			for (size_t i = 0; i < res.nerrors; i++)
				log_error("s3: DeleteObjects %s/%s: %s %s", c->bucket,
					  LOG_KEY(res.errors[i].key), res.errors[i].code,
					  res.errors[i].message);
			failed += (int)res.nerrors;
			s3xml_delete_result_release(&res);
		}
	}
	buf_release(&body);
	if (!rc && failed)
		rc = -EIO;
	return rc;
}
