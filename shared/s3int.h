/*
 * s3int.h: the inside of the S3 client, shared by its three files and by
 * nothing else (no caller outside shared/s3*.c includes it):
 *   s3.c     the client (new/free/stats, bucket calls) and s3_exec, the one
 *            request loop that addresses, signs, sends, classifies (s3err.h)
 *            and retries (retry.h);
 *   s3obj.c  object calls: HEAD, GET, LIST, PUT, COPY, DELETE;
 *   s3mpu.c  multipart calls: create, upload part (copy), complete, abort,
 *            list uploads, and the multipart path of s3_copy.
 * An operation builds a struct s3_op, hands it to s3_exec and parses the
 * answer; none of them signs, retries or counts by itself.
 *
 * Ownership: struct s3_client belongs to s3.c (s3_client_new/free); the
 * other files read its configuration fields, which never change after
 * s3_client_new, and touch its counters only through atomics. A struct s3_op
 * lives on its caller's stack for one call and borrows every string it
 * points to. Errors: 0 or a negative errno, as in s3.h.
 * Thread-safety: as s3.h; region is the one mutable field, under region_lock.
 */
#ifndef S3INT_H
#define S3INT_H
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "http.h"
#include "ratelimit.h"
#include "retry.h"
#include "s3.h"
#include "s3hdr.h"

#define S3_OP_HDRS 24	 /* extra headers of one request */
#define S3_HNAME_MAX 160 /* an x-amz-meta-* header name we build */
#define S3_REGION_MAX 64
/* Caps of what one request builds (each buffer refuses more, -E2BIG). Keys
 * are at most 1024 bytes and URL-encoding triples a byte at worst. */
#define S3_NUM_MAX 16		      /* a decimal int as text, NUL included */
#define S3_RANGE_MAX 64		      /* "bytes=A-B": two 20-digit numbers */
#define S3_HVAL_MAX 128		      /* a response header value we parse */
#define S3_QUERY_MAX (16 * 1024)      /* a listing's query: prefix, markers, token */
#define S3_UPLOAD_QUERY_MAX 4096      /* partNumber and an encoded upload id */
#define S3_COPY_SOURCE_MAX (8 * 1024) /* "/bucket/" and an encoded key */

#define S3_MAX_CONNECTIONS 32	       /* pool size and send window by default */
#define S3_THROTTLE_DEADLINE_MS 120000 /* throttled answers retried this long */

struct s3_client {
	char *bucket;
	char *endpoint; /* "scheme://authority[/base]" without trailing
			 * '/', or NULL for AWS */
	int path_style;
	int unsigned_payload;
	struct retry_policy retry;
	uint64_t op_timeout_ms;	 /* 0 = no deadline per call */
	uint64_t copy_threshold; /* bytes */
	uint64_t copy_part_size; /* bytes; 0 = auto */
	struct http_pool *http;
	struct creds_provider *creds;
	struct s3hdr *hdr; /* the option headers of each request kind */
	pthread_mutex_t region_lock;
	char region[S3_REGION_MAX]; /* protected by region_lock */
	_Atomic uint64_t seed;	    /* per-call jitter seeds */
	_Atomic uint64_t n_requests, n_retries, n_errors, n_not_found, n_down, n_up;
	/* Throttling (ratelimit.h): the send gate every try passes. */
	pthread_mutex_t rl_lock;
	pthread_cond_t rl_cond; /* CLOCK_MONOTONIC; an answer frees a slot */
	struct ratelimit rl;	/* protected by rl_lock, as the two below */
	int inflight;		/* tries sent and not yet answered */
	int rl_waiters;
	uint64_t throttle_deadline_ms; /* retry throttled answers this long */
	_Atomic uint64_t n_throttled, n_gate_wait_ms;
	_Atomic uint64_t n_req_kind[S3HDR_NOPS], n_retry_kind[S3HDR_NOPS];
	/* 1 once the server showed that it compares a PutObject's If-Match
	 * with the bare ETag (Ceph RGW 16): send it without quotes */
	_Atomic int if_match_bare;
};

struct s3_op {
	const char *name;   /* "GetObject": for logs */
	enum s3hdr_op kind; /* which option headers it carries (s3hdr.h) */
	const char *method;
	const char *key;   /* NULL: the bucket itself */
	const char *query; /* raw query, values already encoded; or NULL */
	struct http_header hdrs[S3_OP_HDRS];
	size_t nhdrs;
	char hname[S3_OP_HDRS][S3_HNAME_MAX]; /* storage for built header names */
	const void *body;
	size_t body_len;
	int content_md5; /* send Content-MD5 of the body */
	int body_cksum;	 /* an x-amz-checksum-* header covers the body (so,
			  * like Content-MD5, it may go UNSIGNED-PAYLOAD) */
	http_sink_fn sink;
	void *sink_arg;
	int error_in_200;	 /* a 200 may carry <Error> (Complete, Copy) */
	int quiet_enoent;	 /* -ENOENT is an expected answer: log at debug */
	int no_retry_after_data; /* failure after the sink saw bytes: return it raw */
	int attempts;		 /* out: tries made */
	int slow_ok;		 /* the server may take minutes (http.h) */
	uint64_t deadline_ms;	 /* CLOCK_MONOTONIC ms the call must end by; 0 =
				  * none. s3_exec sets it from op_timeout_ms unless
				  * the caller did (a GET's resumes share one) */
};

/* ---- s3gate.c: the throttling limits around each try ---- */

/* Waits until the limits (ratelimit.h) let one more try go, at once while S3
 * has not throttled the client; never past end_ms (0 = none). */
void s3_gate_enter(struct s3_client *c, uint64_t end_ms);
/* The try's answer: 1 throttled, 0 clean, -1 none (transport failure). */
void s3_gate_leave(struct s3_client *c, int throttled);

/* ---- s3.c: requests ---- */

/* Sends op (every try, backoff and region switch included) and leaves the
 * last answer in resp (initialised by the caller, released by the caller,
 * whatever the result). 0 for a 2xx, else the mapped errno, already logged
 * and counted. */
int s3_exec(struct s3_client *c, struct s3_op *op, struct http_response *resp);

/* An s3xml.h parser behind one signature: the answer's body into out. */
typedef int (*s3_parse_fn)(const char *body, size_t len, void *out);

/* The shape of every call that reads an XML answer: s3_exec, then, on
 * success, parse(body, out). A body that does not parse is logged ("OP
 * bucket/key DETAIL: unreadable answer") and its error returned. parse NULL:
 * the answer's body is not read (DeleteObject, Abort...). detail: NULL or
 * what the log line adds after the key (" #3"). The response is released
 * before it returns; op->attempts is left as s3_exec set it. */
int s3_exec_parse(struct s3_client *c, struct s3_op *op, const char *detail, s3_parse_fn parse,
		  void *out);
/* s3_parse_fn for CopyObject and UploadPartCopy: out is a char[S3_ETAG_MAX]
 * that gets the ETag, quoted. */
int s3_parse_copy_etag(const char *body, size_t len, void *out);

/* Adds a header to op (name and value borrowed); -E2BIG past S3_OP_HDRS. */
int s3_op_header(struct s3_op *op, const char *name, const char *value);

/* Appends "&name=encoded(value)" to q (without '&' at the start; value NULL:
 * just "name"). */
int s3_query_add(struct buf *q, const char *name, const char *value);

/* x-amz-copy-source into out: "/bucket/" + src_key URL-encoded ('/' kept). */
int s3_copy_source(const struct s3_client *c, const char *src_key, struct buf *out);

/* The deadline of a call starting now (CLOCK_MONOTONIC ms), or 0 when the
 * client has none: for a caller that shares one over several s3_exec. */
uint64_t s3_deadline(const struct s3_client *c);

/* ---- s3.c: small helpers ---- */

/* Adds the quotes to a bare ETag (RGW's XML answers), as headers carry them. */
void s3_etag_quote(char etag[S3_ETAG_MAX]);
/* The ETag header of r into etag, "" when there is none. */
void s3_etag_header(const struct http_response *r, char etag[S3_ETAG_MAX]);

/* ---- s3obj.c ---- */

/* Adds Content-Type, x-amz-meta-* and the conditions from opts (may be NULL)
 * to op: PutObject and CreateMultipartUpload take the same. */
int s3_put_headers(struct s3_op *op, const struct s3_put_opts *opts);

/* An x-amz-checksum-<alg> header of one request: built by
 * s3_cksum_request, compared with the answer by s3_cksum_echo. */
#define S3_CKSUM_HNAME_MAX 32
struct s3_cksum_hdr {
	char name[S3_CKSUM_HNAME_MAX]; /* "" when the request carries none */
	char value[S3_CKSUM_B64_MAX];
};
/* h from ck (h->name "" when ck is NULL or alg NONE). */
int s3_cksum_hdr_fill(const struct s3_cksum *ck, struct s3_cksum_hdr *h);
/* Adds ck's header to op (a body's checksum) and sets op->content_md5 and
 * op->body_cksum as ck says (ck NULL: Content-MD5 only; alg NONE and
 * no_md5: neither). h must live as long as op. */
int s3_cksum_request(struct s3_op *op, const struct s3_cksum *ck, struct s3_cksum_hdr *h);
/* ck->echoed from the answer r: the header came back with our value. */
void s3_cksum_echo(const struct http_response *r, struct s3_cksum *ck,
		   const struct s3_cksum_hdr *h);
/* The condition headers of a commit (If-None-Match, If-Match) from cond (may
 * be NULL); PutObject and CompleteMultipartUpload take the same. The ETag
 * goes quoted, as S3 and HTTP have it, or bare (into bare, which op then
 * borrows) once the server showed it wants that (s3_cond_retry). */
int s3_cond_headers(struct s3_client *c, struct s3_op *op, const struct s3_put_opts *cond,
		    char bare[S3_ETAG_MAX]);
/* A commit with cond got rc. 1 when it should be sent again: a 412 to a
 * quoted If-Match although the key holds exactly that ETag, which Ceph RGW
 * 16 answers to every quoted If-Match of a PutObject (it compares the bare
 * ETag): from then on the client sends If-Match bare (logged once), and op's
 * If-Match is made bare (into bare) for the caller to send again. */
int s3_cond_retry(struct s3_client *c, const char *key, const struct s3_put_opts *cond, int rc,
		  struct s3_op *op, char bare[S3_ETAG_MAX]);
/* rc of a commit that carried cond: a failed If-None-Match is -EEXIST. */
int s3_cond_result(int rc, const struct s3_put_opts *cond);

/* ---- s3mpu.c ---- */

/* s3_copy above the client's copy threshold: a multipart upload of parallel
 * UploadPartCopy calls, every part pinned to src_etag; aborted on failure. */
int s3_copy_multipart(struct s3_client *c, const char *src_key, const char *dst_key, uint64_t size,
		      const char *src_etag, char etag[S3_ETAG_MAX]);

#endif
