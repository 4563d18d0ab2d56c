/*
 * s3types.h: the S3 wire types: the limits S3 sets on what it sends and takes
 * (ETags, keys, upload ids, parts) and the answers the client and the XML
 * parsers fill (object info, part info, list pages, completed parts). A
 * header of its own so that s3xml.h and mpu.c, which parse and compute
 * these, need not include the client (s3.h). Plain data: no functions, no
 * ownership beyond what each field says; s3.h includes it for its callers.
 */
#ifndef S3TYPES_H
#define S3TYPES_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mpu.h"

#define S3_ETAG_MAX 80	/* quoted ETag incl. "-N" suffix and NUL */
#define S3_KEY_MAX 1025 /* S3 keys are at most 1024 bytes */
#define S3_UPLOAD_ID_MAX 1024
/* A multipart upload's nonce: 128 random bits in hex, recorded at
 * CreateMultipartUpload as x-amz-meta-s3mount-upload (S3_NONCE_META). Where
 * the multipart ETag cannot be computed (SSE-KMS, SSE-C: part ETags are no
 * MD5s), it is what proves that the object found under a key is this
 * upload's. */
#define S3_NONCE_MAX 33
#define S3_NONCE_META "s3mount-upload" /* after x-amz-meta- */
#define S3_MAX_PARTS 10000
#define S3_MIN_PART_SIZE (5ull << 20)
#define S3_MAX_PART_SIZE (5ull << 30)
#define S3_MAX_OBJECT_SIZE (5ull << 40)

/* A checksum S3 stores with an object (s3cksum.h parses it). */
/* The CRC checksums S3 validates on an upload (issue 13; crc.h computes
 * them). Declared per request as x-amz-checksum-<alg>: base64 of the
 * big-endian digest; a multipart upload declares its algorithm and
 * FULL_OBJECT at CreateMultipartUpload and lists each part's checksum in
 * CompleteMultipartUpload. CRC32 (IEEE) is only read: a HEAD may name it
 * for an object another client uploaded (s3cksum.h); uploads never send it. */
enum s3_cksum_alg {
	S3_CKSUM_NONE = 0,
	S3_CKSUM_CRC32C,
	S3_CKSUM_CRC64NVME,
	S3_CKSUM_CRC32,
};
#define S3_CKSUM_B64_MAX 16 /* base64 of 8 bytes (12) and NUL, rounded */
struct s3_checksum {
	enum s3_cksum_alg alg; /* S3_CKSUM_NONE: the answer had no usable one */
	int full_object;       /* 1: the CRC of the whole object's bytes */
	int parts;	       /* COMPOSITE: the "-N" of the value; else 0 */
	uint64_t value;	       /* the digest (a CRC32's in the low 32 bits) */
};

struct s3_object_info {
	uint64_t size;
	time_t mtime;			   /* Last-Modified */
	char etag[S3_ETAG_MAX];		   /* with its quotes, as S3 sends it */
	char parts_layout[MPU_LAYOUT_MAX]; /* x-amz-meta-s3mount-parts, or "" (also
					    * when longer than mpu.h allows) */
	/* 1: the answer named SSE-KMS, DSSE-KMS or SSE-C (s3hdr.h), so etag is
	 * no MD5 of the bytes */
	int etag_not_md5;
	char upload_nonce[S3_NONCE_MAX]; /* x-amz-meta-s3mount-upload, or "" */
	/* x-amz-checksum-* of a HEAD with x-amz-checksum-mode: ENABLED (s3_head
	 * asks for it), or alg S3_CKSUM_NONE */
	struct s3_checksum checksum;
};

/* HEAD ?partNumber=N: where part N of a multipart object lies. S3 (and RGW
 * from 18.x) answers 206 with Content-Range "bytes A-B/TOTAL" and
 * x-amz-mp-parts-count; a server without the feature answers the whole
 * object: parts_count 0 then (len is the object's size). */
struct s3_part_info {
	uint64_t off, len; /* the part's bytes; off valid when have_off */
	uint64_t size;	   /* object size from Content-Range, when have_off */
	int have_off;
	int parts_count; /* x-amz-mp-parts-count, or 0 when absent */
	char etag[S3_ETAG_MAX];
};

/* ListObjectsV2: one page (s3_list fills it, s3_list_page_release frees it). */
struct s3_list_entry {
	char *key; /* decoded (encoding-type=url is always requested) */
	uint64_t size;
	time_t mtime;
	char etag[S3_ETAG_MAX];
};
struct s3_list_page {
	struct s3_list_entry *entries;
	size_t nentries;
	char **prefixes; /* CommonPrefixes, decoded */
	size_t nprefixes;
	int truncated;
	char *next_continuation; /* NULL when not truncated */
};

/* The checksum of one upload request: PutObject's or UploadPart's body, or
 * at CompleteMultipartUpload the whole object's (FULL_OBJECT). */
struct s3_cksum {
	enum s3_cksum_alg alg; /* S3_CKSUM_NONE: no x-amz-checksum-* header */
	uint64_t crc;	       /* the CRC (a CRC32C in the low 32 bits) */
	int no_md5;	       /* 1: no Content-MD5 with it (the server is known to
				* validate the checksum; with alg NONE: no
				* checksum at all); 0: Content-MD5 too */
	int echoed;	       /* out: the answer carried the header back with
				* our value: the server validated it */
};

/* Multipart upload: one part of CompleteMultipartUpload. */
struct s3_part {
	int number; /* 1..10000 */
	char etag[S3_ETAG_MAX];
	char cksum[S3_CKSUM_B64_MAX]; /* the part's x-amz-checksum value, or "" */
};

#endif
