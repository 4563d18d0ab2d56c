/*
 * s3.h: the S3 client used by s3mount (and the tests). One struct s3_client
 * per bucket; every call is synchronous and thread-safe, and many threads may
 * call at once: each call borrows a libcurl easy handle from a pool that shares
 * one connection cache, so connections are kept alive and reused across
 * requests and threads.
 *
 * Keys are full object keys (no leading '/'); the mount adds its own prefix.
 * Errors: 0 or a negative errno, mapped from HTTP/S3 errors in exactly one
 * table (s3err.c): NoSuchKey/404 -> -ENOENT, AccessDenied/403/Signature... ->
 * -EACCES, NoSuchBucket -> -ENXIO, PreconditionFailed/412 -> -ESTALE,
 * ConditionalRequestConflict/409 -> -EBUSY, InvalidRange/416 -> -ERANGE,
 * EntityTooLarge -> -EFBIG, NoSuchUpload ->
 * -ENOENT, BucketAlreadyOwnedByYou -> -EEXIST, BucketNotEmpty -> -ENOTEMPTY,
 * InvalidArgument/InvalidPart/other 400 -> -EINVAL, transport failure or 5xx
 * after retries -> -EIO, timeouts after retries -> -ETIMEDOUT (s3err.c has
 * the whole table).
 * The S3 code, request id and key of a failure go to the log (log.h): at
 * error level, except expected answers (-ENOENT of HEAD/GET at debug;
 * -ESTALE, -ERANGE, -EEXIST at info). Secrets, session tokens and the
 * Authorization header are never logged, at any level (nor the SSE-C key).
 * Option headers (cfg.hdr: SSE, SSE-C, storage class, requester pays,
 * expected bucket owner) go on exactly the requests s3hdr.h lists.
 * Retries: full-jitter exponential backoff (retry.h: 50 ms doubling to 5 s)
 * for 500/502/503/504, SlowDown, 429, RequestTimeout, connection resets and
 * timeouts (up to cfg.max_retries, and within cfg.op_timeout_ms when set: a
 * try is cut off at the deadline and no backoff sleeps past it); throttled
 * answers (503, 429) do not count against max_retries: they are retried
 * until op_timeout_ms, or cfg.throttle_deadline_ms when there is none, and
 * they slow the whole client down (ratelimit.h: a CUBIC request rate and a
 * window of requests in flight, off again once answers are clean); an
 * interrupted GET resumes from the last byte received; ExpiredToken refreshes
 * credentials and retries once; a 301 or 400 naming the bucket's region
 * (x-amz-bucket-region or <Region>) switches the client to that region and
 * retries; other 4xx are not retried.
 * Credentials: expired ones that cannot be refreshed fail a call with -EIO
 * (their source did not answer; retried like a 503, at least CREDS_RETRY_MS
 * apart so that each retry asks the source again) or -EACCES (it refused),
 * never -ENOENT, so a caller cannot take them for a missing key.
 * Addressing: virtual-hosted (https://BUCKET.s3.REGION.amazonaws.com/KEY) by
 * default, path-style on request (or for a dotted bucket name over https).
 * Signing: SigV4 with x-amz-content-sha256 = SHA-256 of the body (or, with
 * cfg.unsigned_payload, UNSIGNED-PAYLOAD for the bodies that carry a signed
 * Content-MD5 or x-amz-checksum-*: PutObject, UploadPart, DeleteObjects;
 * other bodies are still hashed); anonymous credentials send no
 * Authorization.
 * Checksums (issue 13): an upload carries Content-MD5, or the CRC the
 * caller gives (struct s3_cksum, s3types.h) as x-amz-checksum-<alg>, or
 * both; the caller decides (s3mount's upload.c: until the server has shown
 * that it validates the CRC by echoing the header, both). S3 accepts both
 * on one request and checks each. s3_cksum.echoed says whether the answer
 * echoed the header.
 */
#ifndef S3_H
#define S3_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "creds.h"
#include "mpu.h"
#include "s3hdr.h"
#include "s3types.h"

struct s3_config {
	const char *bucket;		   /* required */
	const char *region;		   /* NULL: $AWS_REGION, $AWS_DEFAULT_REGION, the
					    * profile's config, else "us-east-1";
					    * learnt from a redirect if wrong */
	const char *endpoint;		   /* NULL: https://s3.<region>.amazonaws.com,
					    * else e.g. "http://127.0.0.1:7480" */
	int path_style;			   /* 1: http://host/bucket/key; 0: virtual-hosted */
	const char *ca_bundle;		   /* NULL: system default; TLS is always verified */
	int insecure_skip_verify;	   /* only by explicit option; logged loudly */
	struct creds_opts creds;	   /* the credentials chain (creds.h) */
	int unsigned_payload;		   /* sign bodies that carry Content-MD5 with
					    * UNSIGNED-PAYLOAD instead of hashing them */
	long connect_timeout_ms;	   /* 0 = 5000 */
	long low_speed_time_s;		   /* abort a transfer below 1 KB/s for this long; 0 = 30 */
	int max_retries;		   /* 0 = 6; -1 = none */
	long op_timeout_ms;		   /* deadline of one call, all its tries, backoff and
					    * resumes included; 0 = none (the default).
					    * Past it the call fails with -ETIMEDOUT.
					    * CompleteMultipartUpload and CopyObject are
					    * exempt: S3 itself may take minutes on them */
	long throttle_deadline_ms;	   /* when op_timeout_ms is 0: how long throttled
					    * answers (503 SlowDown, 429) are retried
					    * before the call fails with -EIO; 0 = 120 s.
					    * They do not count against max_retries */
	int max_connections;		   /* pool size; 0 = 32; also the most requests
					    * in flight (ratelimit.h) */
	uint64_t copy_multipart_threshold; /* s3_copy goes multipart above this many
					    * bytes; 0 = 5 GiB (CopyObject's limit) */
	uint64_t copy_part_size;	   /* UploadPartCopy part size; 0 = max(512 MiB,
					    * size/10000) */
	/* encryption, storage class, requester pays, expected owner: each sends
	 * its headers on the requests it applies to (s3hdr.h); the SSE-C key is
	 * copied and never logged */
	struct s3hdr_config hdr;
};

struct s3_client;

int s3_client_new(const struct s3_config *cfg, struct s3_client **out);
void s3_client_free(struct s3_client *c);
/* HEAD bucket: 0 when it exists and we may use it (mount-time check). */
int s3_bucket_check(struct s3_client *c);
/* CreateBucket (tests and the demo; -EEXIST when it is already ours). */
int s3_bucket_create(struct s3_client *c);
/* DeleteBucket (tests and the demo; -ENOTEMPTY unless it is empty). */
int s3_bucket_delete(struct s3_client *c);

/* The answer types and limits (struct s3_object_info, s3_part_info,
 * s3_list_page, s3_part, S3_ETAG_MAX...) are in s3types.h. */

int s3_head(struct s3_client *c, const char *key, struct s3_object_info *info);

/* HEAD ?partNumber=N: where part N of a multipart object lies (s3types.h). */
int s3_head_part(struct s3_client *c, const char *key, int part_number, struct s3_part_info *pi);

/* GET bytes [off, off+len) into buf. *got is set to the bytes stored (less than
 * len only at the end of the object); off at or past the end of the object
 * (also any off on an empty object) is -ERANGE (HTTP 416); len 0 is a no-op.
 * if_match: NULL or an ETag; a changed object then fails with -ESTALE. info
 * (may be NULL) receives size/etag/mtime from the response (size = total
 * object size from Content-Range). A dropped connection resumes from the last
 * byte received, pinned to the first response's ETag. */
int s3_get_range(struct s3_client *c, const char *key, uint64_t off, size_t len, void *buf,
		 size_t *got, const char *if_match, struct s3_object_info *info);

/* Streaming GET of [off, off+len) (len = UINT64_MAX: to the end); sink returns
 * 0 to go on or a negative errno to stop (which is then returned). Resumes
 * after a dropped connection from the last byte delivered, with If-Match on
 * the first response's ETag, so sink never sees a byte twice nor bytes of two
 * versions of the object (-ESTALE if it changed meanwhile). */
typedef int (*s3_sink_fn)(void *arg, const void *data, size_t n);
int s3_get_stream(struct s3_client *c, const char *key, uint64_t off, uint64_t len, s3_sink_fn sink,
		  void *arg, struct s3_object_info *info);

/* ListObjectsV2: one page (struct s3_list_page: s3types.h). */
struct s3_list_req {
	const char *prefix;	  /* NULL or "" for all */
	const char *delimiter;	  /* NULL or "/" */
	const char *continuation; /* NULL on the first page */
	const char *start_after;  /* NULL or a key */
	int max_keys;		  /* 0 = server default (1000) */
};
int s3_list(struct s3_client *c, const struct s3_list_req *req, struct s3_list_page *page);
void s3_list_page_release(struct s3_list_page *page);

struct s3_put_opts {
	const char *content_type;  /* NULL: none */
	const char *const *meta;   /* NULL or {"name", "value", ..., NULL}: x-amz-meta-* */
	const char *if_none_match; /* NULL or "*" (create only: s3_put fails
				    * with -EEXIST when the key exists) */
	const char *if_match;	   /* NULL or an ETag: replace only that version
				    * (-ESTALE when the key holds another one) */
	struct s3_cksum *cksum;	   /* NULL: Content-MD5 only. PutObject: the
				    * body's CRC (and echoed is set);
				    * CreateMultipartUpload: only alg, declared
				    * with x-amz-checksum-type FULL_OBJECT */
};
/* The name S3 gives alg ("CRC64NVME", "CRC32C"), NULL for none. */
const char *s3_cksum_name(enum s3_cksum_alg alg);
/* The header value of crc under alg (base64 of the big-endian digest). */
void s3_cksum_b64(enum s3_cksum_alg alg, uint64_t crc, char out[S3_CKSUM_B64_MAX]);
/* PutObject of len bytes (Content-MD5, the CRC of opts->cksum, or both:
 * corruption is rejected by a server that checks what it gets).
 * A failed condition of opts: -EEXIST (if_none_match), -ESTALE (if_match: 412
 * PreconditionFailed); -EBUSY for 409 ConditionalRequestConflict (another
 * conditional write of the key at the same moment). Servers that ignore the
 * conditions (Ceph RGW ignores them on Complete) just write. */
int s3_put(struct s3_client *c, const char *key, const void *data, size_t len,
	   const struct s3_put_opts *opts, char etag[S3_ETAG_MAX]);

/* CopyObject (metadata and Content-Type copied); above 5 GiB (or
 * cfg.copy_multipart_threshold) it switches to a multipart upload of parallel
 * UploadPartCopy calls, every part pinned to the source's ETag
 * (x-amz-copy-source-if-match; -ESTALE if it changes meanwhile). That path
 * does NOT carry the source's user metadata or Content-Type over; it records
 * its own part layout in x-amz-meta-s3mount-parts (mpu.h). src_size:
 * pass it, or 0 to HEAD. The multipart upload is aborted on any failure. */
int s3_copy(struct s3_client *c, const char *src_key, const char *dst_key, uint64_t src_size,
	    char etag[S3_ETAG_MAX]);
/* s3_copy of exactly the version src_etag of src_key (NULL or "": any):
 * x-amz-copy-source-if-match; -ESTALE when src_key holds another version. */
int s3_copy_if(struct s3_client *c, const char *src_key, const char *dst_key, uint64_t src_size,
	       const char *src_etag, char etag[S3_ETAG_MAX]);
int s3_delete(struct s3_client *c, const char *key);
/* DeleteObjects in batches of 1000; -EIO if any key failed (each is logged). */
int s3_delete_many(struct s3_client *c, const char *const *keys, size_t n);

/* Multipart upload. */
int s3_mpu_create(struct s3_client *c, const char *key, const struct s3_put_opts *opts,
		  char upload_id[S3_UPLOAD_ID_MAX]);
/* CreateMultipartUpload recording in x-amz-meta-s3mount-parts how the
 * upload will cut its parts (mpu.h), so a reader can check the object
 * against its multipart ETag; an invalid layout is simply not recorded. */
/* A fresh nonce (S3_NONCE_MAX) from the kernel's random source; 0 or -errno. */
int s3_nonce_new(char nonce[S3_NONCE_MAX]);
/* ... and, when nonce is not NULL, the upload's nonce (S3_NONCE_META). */
/* ... and, when alg is not S3_CKSUM_NONE, declares alg and FULL_OBJECT. */
int s3_mpu_create_layout(struct s3_client *c, const char *key, const struct mpu_layout *l,
			 const char *nonce, enum s3_cksum_alg alg,
			 char upload_id[S3_UPLOAD_ID_MAX]);
/* ck: NULL (Content-MD5 only) or the part's CRC (see s3_cksum). */
int s3_mpu_upload_part(struct s3_client *c, const char *key, const char *upload_id, int part_number,
		       const void *data, size_t len, struct s3_cksum *ck, char etag[S3_ETAG_MAX]);
/* src_etag (or NULL): copy only from that version of src_key (-ESTALE if it
 * changed), so that several parts all come from one version. */
int s3_mpu_upload_part_copy(struct s3_client *c, const char *key, const char *upload_id,
			    int part_number, const char *src_key, uint64_t off, uint64_t len,
			    const char *src_etag, char etag[S3_ETAG_MAX]);
/* A 200 whose body is <Error> is a failure (-EIO, or the mapped errno). etag may
 * come back "" (Ceph RGW sends an empty one); HEAD the key if you need it.
 * NoSuchUpload on a retry (an earlier try may have succeeded, its answer
 * lost) counts as done only if the object there is proven ours: its ETag is
 * the multipart ETag of parts (mpu_etag_of_parts), or, when nonce is not
 * NULL, it carries this upload's nonce (under SSE-KMS/SSE-C the ETag cannot
 * be computed); otherwise -ENOENT, whatever "-N" object is there. */
/* full: NULL, or the whole object's CRC under the algorithm declared at
 * Create: sent as x-amz-checksum-<alg> with x-amz-checksum-type FULL_OBJECT
 * (S3 compares it with the CRC it combines from the parts, so parts in the
 * wrong order or a part missing fail), and each part's cksum goes in the
 * XML. */
int s3_mpu_complete(struct s3_client *c, const char *key, const char *upload_id,
		    const struct s3_part *parts, size_t nparts, const char *nonce,
		    const struct s3_cksum *full, char etag[S3_ETAG_MAX]);
/* s3_mpu_complete with cond's if_none_match / if_match (its other fields are
 * ignored; NULL: none), which S3 checks as for PutObject, with the same
 * errors (-EEXIST, -ESTALE, -EBUSY). */
int s3_mpu_complete_if(struct s3_client *c, const char *key, const char *upload_id,
		       const struct s3_part *parts, size_t nparts, const char *nonce,
		       const struct s3_cksum *full, const struct s3_put_opts *cond,
		       char etag[S3_ETAG_MAX]);
int s3_mpu_abort(struct s3_client *c, const char *key, const char *upload_id);
/* ListMultipartUploads under prefix, every page; fn returns non-zero to stop. */
typedef int (*s3_upload_fn)(void *arg, const char *key, const char *upload_id, time_t initiated);
int s3_mpu_list(struct s3_client *c, const char *prefix, s3_upload_fn fn, void *arg);

/* Counters for the SIGUSR1/unmount summary (monotonic, relaxed atomics). */
struct s3_stats {
	uint64_t requests, retries, bytes_down, bytes_up;
	uint64_t errors;       /* requests that failed, after retries; not 404s */
	uint64_t not_found;    /* answers "no such key/bucket/upload" (-ENOENT) */
	uint64_t connects;     /* TCP/TLS connections opened; the rest reused */
	uint64_t throttled;    /* answers 503 SlowDown / 429 (each retried) */
	uint64_t gate_wait_ms; /* time tries waited for the throttling limits */
};
void s3_client_stats(struct s3_client *c, struct s3_stats *out);
/* Tries sent and retries taken for one kind of request (s3hdr.h). */
void s3_client_kind_stats(struct s3_client *c, enum s3hdr_op kind, uint64_t *requests,
			  uint64_t *retries);

#endif
