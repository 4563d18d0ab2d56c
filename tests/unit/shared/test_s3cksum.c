/* test_s3cksum.c: the x-amz-checksum-* values of a HEAD answer: the check
 * values of "123456789" as S3 would send them, the FULL_OBJECT / COMPOSITE
 * rules, and every malformed value refused (the header is untrusted). */
#include <errno.h>
#include <string.h>

#include "crc.h"
#include "s3.h"
#include "s3cksum.h"
#include "t.h"

static void test_check_values(void)
{
	struct s3_checksum ck;
	/* CRC64NVME("123456789") = 0xAE8B14860A799888 -> base64 of its 8 bytes */
	char b64[CRC64NVME_B64_LEN];
	crc64nvme_b64(0xAE8B14860A799888ull, b64);
	CHECK_STR(b64, "rosUhgp5mIg=");
	CHECK_INT(s3cksum_parse(S3_CKSUM_CRC64NVME, "rosUhgp5mIg=", "FULL_OBJECT", &ck), 0);
	CHECK(ck.alg == S3_CKSUM_CRC64NVME && ck.full_object == 1 && ck.parts == 0);
	CHECK(ck.value == 0xAE8B14860A799888ull);
	/* CRC32C 0xE3069283 = 4waSgw==; CRC32 0xCBF43926 = y/Q5Jg== */
	CHECK_INT(s3cksum_parse(S3_CKSUM_CRC32C, "4waSgw==", NULL, &ck), 0);
	CHECK(ck.alg == S3_CKSUM_CRC32C && ck.full_object && ck.value == 0xE3069283u);
	CHECK_INT(s3cksum_parse(S3_CKSUM_CRC32, "y/Q5Jg==", "", &ck), 0);
	CHECK(ck.alg == S3_CKSUM_CRC32 && ck.full_object && ck.value == 0xCBF43926u);
	CHECK_STR(s3cksum_header(S3_CKSUM_CRC32C), "x-amz-checksum-crc32c");
	CHECK_STR(s3_cksum_name(S3_CKSUM_CRC64NVME), "CRC64NVME");
	CHECK_STR(s3_cksum_name(S3_CKSUM_CRC32), "CRC32");
}

static void test_types(void)
{
	struct s3_checksum ck;
	/* composite: "-N", type absent (old S3) or COMPOSITE */
	CHECK_INT(s3cksum_parse(S3_CKSUM_CRC32C, "4waSgw==-3", NULL, &ck), 0);
	CHECK(!ck.full_object && ck.parts == 3);
	CHECK_INT(s3cksum_parse(S3_CKSUM_CRC32C, "4waSgw==-10000", "COMPOSITE", &ck), 0);
	CHECK(!ck.full_object && ck.parts == 10000);
	/* a multipart upload's FULL_OBJECT CRC has no -N */
	CHECK_INT(s3cksum_parse(S3_CKSUM_CRC64NVME, "rosUhgp5mIg=", "FULL_OBJECT", &ck), 0);
	CHECK_INT(s3cksum_parse(S3_CKSUM_CRC64NVME, "rosUhgp5mIg=-2", "FULL_OBJECT", &ck), -EINVAL);
	CHECK(ck.alg == S3_CKSUM_NONE);
	CHECK_INT(s3cksum_parse(S3_CKSUM_CRC64NVME, "rosUhgp5mIg=", "full_object", &ck), -EINVAL);
	CHECK_INT(s3cksum_parse(S3_CKSUM_CRC64NVME, "rosUhgp5mIg=", "SOMETHING", &ck), -EINVAL);
}

static void test_malformed(void)
{
	struct s3_checksum ck;
	static const char *const bad64[] = {
	    "",
	    "rosUhgp5mIg",
	    "rosUhgp5mIg==",
	    "rosUhgp5mIh=", /* unused bits set */
	    "rosUhgp5m g=",
	    "rosUhgp5mI==",
	    "4waSgw==",
	    "rosUhgp5mIg=-",
	    "rosUhgp5mIg=-0",
	    "rosUhgp5mIg=-01",
	    "rosUhgp5mIg=-10001",
	    "rosUhgp5mIg=-1x",
	    "rosUhgp5mIg=-+1",
	    "=rosUhgp5mIg",
	    "rosUhgp5mIg=-99999999999999999999",
	    "rosUhgp5mIg= ",
	    "rosUhgp5mIg=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	};
	for (size_t i = 0; i < sizeof(bad64) / sizeof(bad64[0]); i++) {
		int rc = s3cksum_parse(S3_CKSUM_CRC64NVME, bad64[i], NULL, &ck);
		T_CASE(bad64[i], rc == -EINVAL && ck.alg == S3_CKSUM_NONE);
	}
	static const char *const bad32[] = {"4waSgw=",
					    "4waSgw===",
					    "4waSgx==",
					    "4waS-w==",
					    "rosUhgp5mIg=",
					    "4waSgw==-",
					    "4waSgw=="
					    "\x01"};
	for (size_t i = 0; i < sizeof(bad32) / sizeof(bad32[0]); i++)
		T_CASE(bad32[i], s3cksum_parse(S3_CKSUM_CRC32C, bad32[i], NULL, &ck) == -EINVAL);
	CHECK_INT(s3cksum_parse(S3_CKSUM_NONE, "4waSgw==", NULL, &ck), -EINVAL);
	CHECK_INT(s3cksum_parse(S3_CKSUM_CRC32, NULL, NULL, &ck), -EINVAL);
	/* every 4-byte value round-trips through the encoder crc.h uses */
	uint32_t vals[] = {0, 1, 0xFFFFFFFFu, 0x80000000u, 0x12345678u};
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		char b[CRC32C_B64_LEN];
		crc32c_b64(vals[i], b);
		T_CASE(b, s3cksum_parse(S3_CKSUM_CRC32C, b, "FULL_OBJECT", &ck) == 0 &&
			      ck.value == vals[i]);
	}
}

int main(void)
{
	T_RUN(test_check_values);
	T_RUN(test_types);
	T_RUN(test_malformed);
	return T_DONE();
}
