/*
 * s3cksum.c: the CRC checksums of S3's x-amz-checksum-* headers: their names
 * and header values for uploads (declared in s3.h: s3_cksum_name,
 * s3_cksum_b64; kept apart from the client so that code which stands in for
 * the S3 calls in tests, the upload engine's unit test, can use them without
 * linking the calls), and the parser of the values a HEAD answers with
 * (s3cksum.h). Pure.
 */
#include "s3cksum.h"

#include <errno.h>
#include <string.h>

#include "crc.h"
#include "crypto.h"
#include "s3.h"

const char *s3_cksum_name(enum s3_cksum_alg alg)
{
	switch (alg) {
	case S3_CKSUM_CRC32C:
		return "CRC32C";
	case S3_CKSUM_CRC64NVME:
		return "CRC64NVME";
	case S3_CKSUM_CRC32:
		return "CRC32";
	case S3_CKSUM_NONE:
		break;
	}
	return NULL;
}

void s3_cksum_b64(enum s3_cksum_alg alg, uint64_t crc, char out[S3_CKSUM_B64_MAX])
{
	out[0] = '\0';
	if (alg == S3_CKSUM_CRC32C)
		crc32c_b64((uint32_t)crc, out);
	else if (alg == S3_CKSUM_CRC64NVME)
		crc64nvme_b64(crc, out);
}

/* A header value longer than this is no checksum S3 sends (12 base64
 * digits, "-10000"): refused before it is looked at. */
#define S3CKSUM_VALUE_MAX 32

const enum s3_cksum_alg s3cksum_order[S3CKSUM_NALGS] = {S3_CKSUM_CRC64NVME, S3_CKSUM_CRC32C,
							S3_CKSUM_CRC32};

const char *s3cksum_header(enum s3_cksum_alg alg)
{
	switch (alg) {
	case S3_CKSUM_CRC32:
		return "x-amz-checksum-crc32";
	case S3_CKSUM_CRC32C:
		return "x-amz-checksum-crc32c";
	case S3_CKSUM_CRC64NVME:
		return "x-amz-checksum-crc64nvme";
	case S3_CKSUM_NONE:
		break;
	}
	return NULL;
}

/* Canonical base64 of exactly nbytes (4 or 8) bytes in s[0..len): the
 * padded length, '=' only at the end, unused bits zero. Big-endian value. */
static int b64_digest(const char *s, size_t len, int nbytes, uint64_t *out)
{
	size_t digits = ((size_t)nbytes * 8 + 5) / 6; /* 6 for 4 bytes, 11 for 8 */
	size_t padded = ((size_t)nbytes + 2) / 3 * 4; /* 8, 12 */
	if (len != padded)
		return -EINVAL;
	for (size_t i = digits; i < padded; i++)
		if (s[i] != '=')
			return -EINVAL;
	uint64_t v = 0;
	unsigned bits = 0, extra = 0;
	uint32_t acc = 0;
	int got = 0;
	for (size_t i = 0; i < digits; i++) {
		int d = crypto_b64val((unsigned char)s[i]);
		if (d < 0)
			return -EINVAL;
		acc = (acc << 6 | (uint32_t)d) & 0xFFFFu;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			v = v << 8 | ((acc >> bits) & 0xFFu);
			got++;
		}
	}
	extra = acc & ((1u << bits) - 1);
	if (got != nbytes || extra != 0)
		return -EINVAL;
	*out = v;
	return 0;
}

int s3cksum_parse(enum s3_cksum_alg alg, const char *value, const char *type,
		  struct s3_checksum *out)
{
	memset(out, 0, sizeof(*out));
	int nbytes = alg == S3_CKSUM_CRC64NVME			       ? 8
		     : alg == S3_CKSUM_CRC32 || alg == S3_CKSUM_CRC32C ? 4
								       : 0;
	if (!nbytes || !value)
		return -EINVAL;
	size_t len = strnlen(value, S3CKSUM_VALUE_MAX + 1);
	if (len > S3CKSUM_VALUE_MAX)
		return -EINVAL;
	const char *dash = memchr(value, '-', len);
	int parts = 0;
	if (dash) {
		/* "-N": 1..10000, no sign, no leading zero */
		const char *p = dash + 1;
		size_t n = len - (size_t)(p - value);
		if (n == 0 || n > 5 || p[0] == '0')
			return -EINVAL;
		for (size_t i = 0; i < n; i++) {
			if (p[i] < '0' || p[i] > '9')
				return -EINVAL;
			parts = parts * 10 + (p[i] - '0');
		}
		if (parts > S3_MAX_PARTS)
			return -EINVAL;
		len = (size_t)(dash - value);
	}
	uint64_t v;
	if (b64_digest(value, len, nbytes, &v) != 0)
		return -EINVAL;
	int full;
	if (!type || !type[0])
		full = !parts;
	else if (strcmp(type, "FULL_OBJECT") == 0)
		full = 1;
	else if (strcmp(type, "COMPOSITE") == 0)
		full = 0;
	else
		return -EINVAL;
	/* a full-object CRC has no part count; a composite one has one (a
	 * single-part composite upload says "-1") */
	if (full && parts)
		return -EINVAL;
	out->alg = alg;
	out->full_object = full;
	out->parts = parts;
	out->value = v;
	return 0;
}
