/*
 * s3cksum.c: the names and header values of the CRC checksums S3 takes on
 * uploads (s3.h: s3_cksum_name, s3_cksum_b64). Pure, apart from the rest of
 * the client so that code which stands in for the S3 calls in tests (the
 * upload engine's unit test) can use them without linking the calls.
 */
#include "crc.h"
#include "s3.h"

const char *s3_cksum_name(enum s3_cksum_alg alg)
{
	switch (alg) {
	case S3_CKSUM_CRC32C:
		return "CRC32C";
	case S3_CKSUM_CRC64NVME:
		return "CRC64NVME";
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
