/* fuzz-lib: s3shared */
/*
 * fuzz_s3cksum.c: the x-amz-checksum-* / x-amz-checksum-type parser
 * (s3cksum.h) over hostile header values. Input: first byte picks the
 * algorithm, then "value\ntype". A parse that succeeds must give a
 * consistent answer: a known algorithm, parts in 0..10000, FULL_OBJECT
 * without parts, and a 32-bit value for the CRC32s.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3cksum.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 256)
		return 0;
	enum s3_cksum_alg alg =
	    (enum s3_cksum_alg)(data[0] % 4); /* NONE, CRC32C, CRC64NVME, CRC32 */
	char buf[260];
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	char *type = strchr(buf, '\n');
	if (type)
		*type++ = '\0';
	struct s3_checksum ck;
	int rc = s3cksum_parse(alg, buf, type, &ck);
	if (rc == 0) {
		if (ck.alg != alg || alg == S3_CKSUM_NONE)
			abort();
		if (ck.parts < 0 || ck.parts > 10000 || (ck.full_object && ck.parts))
			abort();
		if (alg != S3_CKSUM_CRC64NVME && ck.value > 0xFFFFFFFFull)
			abort();
	} else if (ck.alg != S3_CKSUM_NONE) {
		abort();
	}
	return 0;
}
