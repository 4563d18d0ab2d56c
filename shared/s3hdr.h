/*
 * s3hdr.h: the request headers of s3mount's per-bucket options (server-side
 * encryption, SSE-C keys, storage class, requester pays, expected bucket
 * owner) for each kind of S3 request, and what an answer's encryption
 * headers say about its ETag. Pure: no I/O, no logging.
 *
 * Which request carries what, from the S3 API reference:
 * - x-amz-server-side-encryption (+ -aws-kms-key-id) and x-amz-storage-class:
 *   the requests that create an object: PutObject, CopyObject (the copy's
 *   own encryption and class; S3 would otherwise give it the bucket's
 *   defaults) and CreateMultipartUpload. Never on GET/HEAD (S3 answers 400)
 *   nor on UploadPart or Complete (the upload already has them).
 * - SSE-C (x-amz-server-side-encryption-customer-algorithm, -key, -key-MD5):
 *   every request that reads or writes the object's bytes or metadata:
 *   PutObject, CopyObject, CreateMultipartUpload, UploadPart, UploadPartCopy,
 *   GetObject, HeadObject, and CompleteMultipartUpload (S3 needs it there
 *   only with checksums or when a bucket policy demands SSE-C on every
 *   write, which a policy on s3:PutObject does, and accepts it otherwise:
 *   sending it always keeps such buckets working). Copies also name the
 *   source's key with x-amz-copy-source-server-side-encryption-customer-*:
 *   the mount has one key, so the source's is the same.
 * - x-amz-request-payer: requester and x-amz-expected-bucket-owner: every
 *   request to the bucket, listings included; not CreateBucket (tests only:
 *   there is no owner to expect yet).
 *
 * Ownership: s3hdr_new copies what it needs (the SSE-C key as base64, with
 * its MD5); s3hdr_free scrubs it. The header values s3hdr_for hands out
 * point into the struct s3hdr. Thread-safe after s3hdr_new (read-only).
 * Errors: -EINVAL for a configuration S3 would refuse, -ENOMEM.
 */
#ifndef S3HDR_H
#define S3HDR_H
#include <stddef.h>
#include <stdint.h>

#include "http.h"

#define S3HDR_SSEC_KEY_LEN 32 /* an SSE-C key is 256 bits (AES256) */
#define S3HDR_MAX 10	      /* headers s3hdr_for adds to one request, at most */

/* The request kinds: each S3 operation s3.c sends. */
enum s3hdr_op {
	S3HDR_HEAD_BUCKET,
	S3HDR_CREATE_BUCKET,
	S3HDR_DELETE_BUCKET,
	S3HDR_LIST_OBJECTS,
	S3HDR_HEAD_OBJECT,
	S3HDR_GET_OBJECT,
	S3HDR_PUT_OBJECT,
	S3HDR_COPY_OBJECT,
	S3HDR_DELETE_OBJECT,
	S3HDR_DELETE_OBJECTS,
	S3HDR_MPU_CREATE,
	S3HDR_UPLOAD_PART,
	S3HDR_UPLOAD_PART_COPY,
	S3HDR_MPU_COMPLETE,
	S3HDR_MPU_ABORT,
	S3HDR_LIST_UPLOADS,
	S3HDR_NOPS
};

struct s3hdr_config {
	const char *sse;	    /* NULL, "AES256", "aws:kms" or "aws:kms:dsse" */
	const char *kms_key_id;	    /* NULL, or with aws:kms*: key id, ARN or alias */
	const uint8_t *ssec_key;    /* NULL, or S3HDR_SSEC_KEY_LEN bytes (not with sse) */
	const char *storage_class;  /* NULL (the bucket's default) or e.g. STANDARD_IA */
	int requester_pays;	    /* 1: x-amz-request-payer: requester */
	const char *expected_owner; /* NULL or the owner's 12-digit account id */
};

struct s3hdr;

/* NULL cfg or one with nothing set: a struct s3hdr that adds nothing. */
int s3hdr_new(const struct s3hdr_config *cfg, struct s3hdr **out);
void s3hdr_free(struct s3hdr *h);

/* Writes the headers of op into out (room for S3HDR_MAX); returns how many.
 * h may be NULL (none). */
size_t s3hdr_for(const struct s3hdr *h, enum s3hdr_op op, struct http_header *out);

/* The S3 API name of a request kind ("GetObject"), for logs and metrics. */
const char *s3hdr_op_name(enum s3hdr_op op);

/* The checks s3hdr_new makes, for the option parser's messages: 1 when the
 * value is usable. */
int s3hdr_sse_valid(const char *sse);
int s3hdr_storage_class_valid(const char *cls);
int s3hdr_account_id_valid(const char *id);

/* An SSE-C key file's contents: exactly 32 bytes (the raw key), or the
 * base64 of 32 bytes (44 characters) with optional surrounding whitespace.
 * 0 and the key in out, or -EINVAL. */
int s3hdr_ssec_key_parse(const void *data, size_t len, uint8_t out[S3HDR_SSEC_KEY_LEN]);

/* 1 when an answer with these header values (NULL or "" when absent) names
 * an encryption under which the ETag is not an MD5 of the bytes: sse is an
 * "aws:kms..." value (any case), or ssec_algorithm is present. S3's ETag is
 * the MD5 (or, multipart, MD5 of the part MD5s "-N") only unencrypted or
 * under SSE-S3 (AES256, what S3 now applies to almost every object); under
 * SSE-KMS, DSSE-KMS and SSE-C it is another value of the same shape. 0
 * otherwise: no header, AES256, or a value this code does not know (the
 * ETag is then still checked: a wrong guess costs a failed read, never a
 * missed corruption). */
int s3hdr_etag_not_md5(const char *sse, const char *ssec_algorithm);

#endif
