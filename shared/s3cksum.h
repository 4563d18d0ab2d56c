/*
 * s3cksum.h: the full-object checksum an S3 answer carries (issue 13), read
 * from a HEAD sent with x-amz-checksum-mode: ENABLED: x-amz-checksum-crc32,
 * -crc32c or -crc64nvme (BASE64 of the big-endian digest) and
 * x-amz-checksum-type (FULL_OBJECT or COMPOSITE).
 *
 * The values are untrusted input (any server, any proxy): each is parsed
 * strictly (canonical base64 of exactly 4 or 8 bytes, an optional "-N" with
 * N in 1..10000, a known type) and anything else is ignored, as if absent:
 * a bad header costs the CRC check (the read falls back to the ETag), never
 * a failed read of a good file.
 *
 * FULL_OBJECT is the CRC of the object's bytes: what a whole sequential read
 * can be checked against. COMPOSITE ("value-N": a CRC of the parts' CRCs) is
 * not: without the part layout it cannot be recomputed, so callers treat it
 * as no checksum. An answer without x-amz-checksum-type (S3 before 2025) is
 * FULL_OBJECT when the value has no "-N" (a single PUT) and COMPOSITE
 * otherwise.
 *
 * Pure: no I/O, no state. Errors: -EINVAL.
 */
#ifndef S3CKSUM_H
#define S3CKSUM_H
#include <stdint.h>

#include "s3types.h"

/* The response header that carries alg's value ("x-amz-checksum-crc32c").
 * (s3cksum.c also implements s3.h's s3_cksum_name and s3_cksum_b64.) */
const char *s3cksum_header(enum s3_cksum_alg alg);

/* Parses one algorithm's header value (NUL-terminated, as sent) and the
 * answer's x-amz-checksum-type (NULL or "" when absent) into *out. */
int s3cksum_parse(enum s3_cksum_alg alg, const char *value, const char *type,
		  struct s3_checksum *out);

/* The preference among several (S3 sends one): CRC64NVME, CRC32C, CRC32. */
#define S3CKSUM_NALGS 3
extern const enum s3_cksum_alg s3cksum_order[S3CKSUM_NALGS];

#endif
