/*
 * mpu.h: the part sizes of a multipart object, as a short string that
 * travels with the object in a user-metadata header. Pure; thread-safe.
 *
 * Why: the ETag of a multipart object is MD5(MD5(part 1) || ... || MD5(part
 * N)) followed by "-N". A reader can check a download against it only if it
 * knows where each part ends, and S3 keeps that to itself (GetObject with
 * partNumber answers it on AWS and newer RGW, not on the RGW we test with).
 * So whoever writes the object (s3mount's upload engine, the s3 client's
 * multipart copy) records how it cut the parts when it creates the upload,
 * in x-amz-meta-s3mount-parts (MPU_LAYOUT_META), and a reader that finds
 * that header expands it into the part boundaries and checks every byte.
 *
 * The string, at most MPU_LAYOUT_MAX - 1 bytes, is space-separated
 * key=value words, in this order, unknown keys an error:
 *   v=1              format version (required, first)
 *   base=BYTES       size of part 1 of the policy (required)
 *   cap=BYTES        no part is larger (required; <= 5 GiB)
 *   grow=N           the policy size doubles every N parts (0: never)
 *   head=BYTES/K     optional: parts 1..K are the K pieces of the first BYTES
 *                    bytes, piece i covering [BYTES/K*i, BYTES/K*(i+1)), the
 *                    last one ending at BYTES (a server-side copy of a
 *                    committed prefix); the policy then goes on with part
 *                    K+1 sized as policy part K+1
 * Policy part k (1-based) is min(cap, base * 2^((k-1)/grow)); every part
 * but the last is exactly its size, the last holds what is left.
 *
 * The metadata is a claim, not a proof: a tool that copies the object with
 * other part sizes but keeps the metadata would make it wrong. The reader
 * therefore uses it only when it predicts exactly the ETag's part count for
 * the object's size (mpu_layout_parts) and otherwise checks nothing.
 *
 * Errors: -EINVAL for a string that is not exactly this format (or a layout
 * that breaks S3's limits: parts of 1 byte..5 GiB, at most 10,000 parts).
 */
#ifndef MPU_H
#define MPU_H
#include <stddef.h>
#include <stdint.h>

#define MPU_LAYOUT_META "s3mount-parts" /* after x-amz-meta- */
#define MPU_LAYOUT_MAX 128		/* bytes, NUL included */

struct mpu_layout {
	uint64_t base;	     /* bytes of policy part 1 */
	uint64_t cap;	     /* bytes: no part is larger */
	uint32_t grow;	     /* the size doubles every grow parts; 0 = constant */
	uint32_t head_parts; /* K: parts cut from the first head_bytes; 0 = none */
	uint64_t head_bytes;
};

/* Writes the string for l into out (n bytes). -EINVAL for an invalid l,
 * -ENOSPC when n is too small (MPU_LAYOUT_MAX always suffices). */
int mpu_layout_format(const struct mpu_layout *l, char *out, size_t n);

/* Parses s (NUL-terminated) into *l. */
int mpu_layout_parse(const char *s, struct mpu_layout *l);

/* Size of part k (1-based) when it is not the last one: a head piece or the
 * policy size. 0 when k is outside 1..10000. */
uint64_t mpu_layout_part_size(const struct mpu_layout *l, int k);

/* Number of parts an object of size bytes has under l (size > 0), or
 * -EINVAL when it would take more than 10,000 parts or the head is longer
 * than the object. */
int mpu_layout_parts(const struct mpu_layout *l, uint64_t size);

/* The layout of parts that all have p1 bytes but the last, which holds the
 * rest (how aws s3 cp, boto3, rclone, s3fs and mountpoint-s3 cut files):
 * base = cap = p1. -EINVAL unless that gives exactly nparts parts for size. */
int mpu_layout_uniform(uint64_t size, int nparts, uint64_t p1, struct mpu_layout *out);

/* Parses the part count N from a multipart ETag ("hex-N", quoted or not);
 * -EINVAL when etag is not 32 hex digits, '-', 1..10000. */
int mpu_etag_parts(const char *etag);

struct s3_part;
/* The ETag S3 gives the object completed from parts[0..nparts): the MD5 of
 * the parts' binary MD5s, then "-N", quoted, into out (cap >= S3_ETAG_MAX).
 * -EINVAL if a part ETag is not an MD5 (SSE-KMS, SSE-C): then no ETag can
 * prove that an object is the one these parts made. -ENOMEM. */
int mpu_etag_of_parts(const struct s3_part *parts, size_t nparts, char *out, size_t cap);

#endif
