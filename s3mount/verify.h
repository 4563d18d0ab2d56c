/*
 * verify.h: end-to-end check of a download against the object's ETag.
 *
 * S3 sends no checksum S3 can verify per ranged GET, but the ETag of an object
 * uploaded in one PUT is the MD5 of its bytes (32 hex digits, no "-N"
 * suffix; that holds unencrypted and under SSE-S3, not under SSE-KMS,
 * DSSE-KMS or SSE-C: the caller then calls verify_stop). So
 * when one open handle reads such an object from byte 0 to its end, the
 * bytes it delivered are hashed in order and compared with the ETag when the
 * last byte goes out: a byte corrupted on the way (or in the cache) fails
 * the read that would deliver the object's end, and every later read of the
 * handle, with -EIO. The data read before that has already reached the
 * application: the check turns a silent corruption into a failed read at
 * the end of the file (cp, md5sum and the filter then fail), it cannot
 * prevent the bad bytes from being seen.
 *
 * Only sequential reading is checked. The kernel may send the reads of one
 * handle slightly out of order (parallel readahead on several FUSE threads),
 * so a read at most 32 MiB beyond the hashed prefix waits up to wait_ms for
 * the reads before it; past that, or further ahead (random access, a hole
 * served from the kernel's page cache), the handle stops checking
 * (verify_state() says VERIFY_OFF) and never reports an error.
 *
 * A multipart object's ETag is MD5(MD5(part 1) || ... || MD5(part N)) "-N":
 * it is checked the same way when the caller knows where the parts end (a
 * struct mpu_layout from the object's x-amz-meta-s3mount-parts, mpu.h)
 * and that layout gives exactly N parts for the object's size; each part's
 * MD5 is finalised at its boundary. Without a layout, or with one that does
 * not fit, nothing is checked.
 *
 * Ownership: verify_new/verify_free. Thread-safety: one struct verify may be
 * fed by several threads at once (it has its own lock).
 */
#ifndef VERIFY_H
#define VERIFY_H
#include <stdint.h>
#include <sys/uio.h>

#include "mpu.h"

enum verify_state {
	VERIFY_ACTIVE, /* hashing a sequential read */
	VERIFY_OFF,    /* gave up: the handle did not read in order */
	VERIFY_GOOD,   /* every byte read, MD5 equals the ETag */
	VERIFY_BAD,    /* every byte read, MD5 differs: reads fail with -EIO */
};

struct verify;

/* 1 when etag (quoted or not) is a plain MD5 that verify can check. */
int verify_etag_is_md5(const char *etag);

/* A checker for an object of size bytes with this ETag. *out is NULL (and 0
 * returned) when there is nothing to check: an absent ETag, a multipart one
 * without a fitting layout (layout may be NULL), or an empty object. layout
 * is copied. wait_ms: how long a read past the hashed prefix waits for the
 * reads before it. -ENOMEM. */
int verify_new(const char *etag, uint64_t size, const struct mpu_layout *layout, int wait_ms,
	       struct verify **out);
void verify_free(struct verify *v);

/* The bytes [off, off + sum of iov lengths) are about to be delivered.
 * Returns 0, or -EIO when the object's MD5 did not match (now or before):
 * the read must fail instead of delivering them. Bytes already hashed (a
 * re-read) are skipped. v may be NULL (returns 0). */
int verify_feed(struct verify *v, uint64_t off, const struct iovec *iov, int niov);

/* Stops checking for good (VERIFY_OFF unless the check already ended): the
 * caller learnt that the ETag is no MD5 (an SSE-KMS or SSE-C object, whose
 * GETs say so). Returns 1 when the check was still active. */
int verify_stop(struct verify *v);

enum verify_state verify_state(struct verify *v);

#endif
