/* fuzz-lib: s3shared */
/*
 * fuzz_mpu.c: the part-layout metadata (x-amz-meta-s3mount-parts)
 * comes from whoever wrote the object, so its parser sees anything. A
 * string that parses must format back to itself, and expanding it over any
 * size stays within S3's part limits; the ETag part-count parser gets the
 * same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mpu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	int n = mpu_etag_parts(s);
	if (n != -22 && (n < 1 || n > 10000))
		abort();
	struct mpu_layout l;
	if (mpu_layout_parse(s, &l) == 0) {
		char back[MPU_LAYOUT_MAX];
		if (mpu_layout_format(&l, back, sizeof(back)) != 0 || strcmp(back, s) != 0)
			abort();
		uint64_t objsize = size * 7919u + 1;
		int k = mpu_layout_parts(&l, objsize);
		if (k != -22 && (k < 1 || k > 10000))
			abort();
		for (int i = 1; i <= 10000; i += 997)
			if (mpu_layout_part_size(&l, i) == 0 ||
			    mpu_layout_part_size(&l, i) > (5ull << 30))
				abort();
	}
	free(s);
	return 0;
}
