/* test_mpu.c: the part-layout string that rides with a multipart
 * object (x-amz-meta-s3mount-parts): format/parse round trips, every
 * malformed form rejected, part sizes and part counts at the edges (head
 * pieces, caps, growth, 10,000 parts), and multipart ETag part counts. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mpu.h"
#include "s3.h"
#include "t.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static void test_round_trip(void)
{
	struct mpu_layout ls[] = {
	    {.base = 8 * MiB, .cap = 128 * MiB, .grow = 1000},
	    {.base = 5 * GiB, .cap = 5 * GiB},
	    {.base = 1, .cap = 1},
	    {.base = 8 * MiB,
	     .cap = 32 * MiB,
	     .grow = 1000,
	     .head_parts = 2,
	     .head_bytes = 6 * GiB + 1},
	    {.base = 5 * MiB,
	     .cap = 5 * GiB,
	     .grow = 10000,
	     .head_parts = 10000,
	     .head_bytes = 10000 * 5 * GiB},
	};
	for (size_t i = 0; i < sizeof(ls) / sizeof(ls[0]); i++) {
		char s[MPU_LAYOUT_MAX];
		struct mpu_layout b;
		int ok = mpu_layout_format(&ls[i], s, sizeof(s)) == 0 &&
			 mpu_layout_parse(s, &b) == 0 && memcmp(&b, &ls[i], sizeof(b)) == 0;
		T_CASE(s, ok);
	}
	char s[MPU_LAYOUT_MAX];
	struct mpu_layout l = {.base = 8 * MiB, .cap = 128 * MiB, .grow = 1000};
	CHECK_INT(mpu_layout_format(&l, s, sizeof(s)), 0);
	CHECK_STR(s, "v=1 base=8388608 cap=134217728 grow=1000");
	CHECK_INT(mpu_layout_format(&l, s, 10), -ENOSPC);
	struct mpu_layout bad[] = {
	    {.base = 0, .cap = 1},
	    {.base = 2, .cap = 1},
	    {.base = 1, .cap = 5 * GiB + 1},
	    {.base = 1, .cap = 1, .head_parts = 1},
	    {.base = 1, .cap = 1, .head_bytes = 1},
	    {.base = 1, .cap = 1, .head_parts = 3, .head_bytes = 2},
	    {.base = 1, .cap = 1, .head_parts = 10001, .head_bytes = 20000},
	    {.base = 1, .cap = 1, .head_parts = 1, .head_bytes = 5 * GiB + 1},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		T_CASE("invalid layout refused",
		       mpu_layout_format(&bad[i], s, sizeof(s)) == -EINVAL);
}

static void test_parse_rejects(void)
{
	const char *bad[] = {
	    "",
	    "v=2 base=1 cap=1 grow=0",
	    "v=1 base=1 cap=1",
	    "v=1  base=1 cap=1 grow=0",
	    "v=1 base=1 cap=1 grow=0 ",
	    "v=1 base=01 cap=1 grow=0",
	    "v=1 base=-1 cap=1 grow=0",
	    "v=1 base=+1 cap=1 grow=0",
	    "v=1 base=0 cap=1 grow=0",
	    "v=1 base=2 cap=1 grow=0",
	    "v=1 base=1 cap=5368709121 grow=0",
	    "v=1 base=1 cap=99999999999999999999999 grow=0",
	    "v=1 base=1 cap=1 grow=10001",
	    "v=1 cap=1 base=1 grow=0",
	    "v=1 base=1 cap=1 grow=0 head=5",
	    "v=1 base=1 cap=1 grow=0 head=5/",
	    "v=1 base=1 cap=1 grow=0 head=/5",
	    "v=1 base=1 cap=1 grow=0 head=5/0",
	    "v=1 base=1 cap=1 grow=0 head=0/0",
	    "v=1 base=1 cap=1 grow=0 head=4/5",
	    "v=1 base=1 cap=1 grow=0 head=5/5 x=1",
	    "v=1 base=1 cap=1 grow=0 HEAD=5/5",
	    "V=1 base=1 cap=1 grow=0",
	    "v=1 base=1 cap=1 grow=0\n",
	    "v=1 base=1\0 cap=1 grow=0",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mpu_layout l = {.base = 77};
		int ok = mpu_layout_parse(bad[i], &l) == -EINVAL && l.base == 77;
		T_CASE(bad[i], ok);
	}
	char longer[MPU_LAYOUT_MAX + 10];
	memset(longer, '1', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	memcpy(longer, "v=1 base=1 cap=1 grow=0 head=", 29);
	struct mpu_layout l;
	CHECK_INT(mpu_layout_parse(longer, &l), -EINVAL);
	CHECK_INT(mpu_layout_parse(NULL, &l), -EINVAL);
	CHECK_INT(mpu_layout_parse("v=1 base=1 cap=1 grow=0 head=5/5", &l), 0);
	CHECK_INT(l.head_parts, 5);
}

static void test_sizes_and_counts(void)
{
	struct mpu_layout l = {.base = 8 * MiB, .cap = 5 * GiB, .grow = 1000};
	CHECK_INT(mpu_layout_part_size(&l, 1), 8 * MiB);
	CHECK_INT(mpu_layout_part_size(&l, 1000), 8 * MiB);
	CHECK_INT(mpu_layout_part_size(&l, 1001), 16 * MiB);
	CHECK_INT(mpu_layout_part_size(&l, 10000), 4 * GiB);
	CHECK_INT(mpu_layout_part_size(&l, 0), 0);
	CHECK_INT(mpu_layout_part_size(&l, 10001), 0);
	CHECK_INT(mpu_layout_parts(&l, 1), 1);
	CHECK_INT(mpu_layout_parts(&l, 8 * MiB), 1);
	CHECK_INT(mpu_layout_parts(&l, 8 * MiB + 1), 2);
	CHECK_INT(mpu_layout_parts(&l, 100 * MiB), 13);
	CHECK_INT(mpu_layout_parts(&l, 1000 * 8 * MiB + 1), 1001);
	CHECK_INT(mpu_layout_parts(&l, 0), -EINVAL);
	/* 10,000 parts of 1 byte, and one byte more */
	struct mpu_layout one = {.base = 1, .cap = 1};
	CHECK_INT(mpu_layout_parts(&one, 10000), 10000);
	CHECK_INT(mpu_layout_parts(&one, 10001), -EINVAL);
	/* growth capped: 1 2 4 4 4 */
	struct mpu_layout g = {.base = 1, .cap = 4, .grow = 1};
	CHECK_INT(mpu_layout_part_size(&g, 3), 4);
	CHECK_INT(mpu_layout_part_size(&g, 9999), 4);
	CHECK_INT(mpu_layout_parts(&g, 15), 5);
	CHECK_INT(mpu_layout_parts(&g, 16), 6);
	/* head: 10 bytes in 3 pieces (3 3 4), then policy parts 4.. */
	struct mpu_layout h = {.base = 1, .cap = 4, .grow = 1, .head_parts = 3, .head_bytes = 10};
	CHECK_INT(mpu_layout_part_size(&h, 1), 3);
	CHECK_INT(mpu_layout_part_size(&h, 3), 4);
	CHECK_INT(mpu_layout_part_size(&h, 4), 4); /* policy part 4: min(4, 8) */
	CHECK_INT(mpu_layout_parts(&h, 10), 3);
	CHECK_INT(mpu_layout_parts(&h, 11), 4);
	CHECK_INT(mpu_layout_parts(&h, 9), -EINVAL); /* shorter than its head */
}

static void test_uniform(void)
{
	struct mpu_layout l;
	CHECK_INT(mpu_layout_uniform(20 * MiB + 123, 3, 8 * MiB, &l), 0);
	CHECK_INT(l.base, 8 * MiB);
	CHECK_INT(l.cap, 8 * MiB);
	CHECK_INT(l.grow, 0);
	CHECK_INT(mpu_layout_part_size(&l, 3), 8 * MiB);
	CHECK_INT(mpu_layout_uniform(16 * MiB, 2, 8 * MiB, &l), 0);
	CHECK_INT(mpu_layout_uniform(5, 1, 5, &l), 0);
	CHECK_INT(mpu_layout_uniform(20 * MiB + 123, 2, 8 * MiB, &l), -EINVAL);
	CHECK_INT(mpu_layout_uniform(16 * MiB, 3, 8 * MiB, &l), -EINVAL);
	CHECK_INT(mpu_layout_uniform(16 * MiB, 2, 0, &l), -EINVAL);
	CHECK_INT(mpu_layout_uniform(16 * GiB, 2, 8 * GiB, &l), -EINVAL); /* parts > 5 GiB */
	CHECK_INT(mpu_layout_uniform(10001, 10001, 1, &l), -EINVAL);
}

static void test_etag_parts(void)
{
	CHECK_INT(mpu_etag_parts("\"0123456789abcdef0123456789ABCDEF-13\""), 13);
	CHECK_INT(mpu_etag_parts("0123456789abcdef0123456789abcdef-1"), 1);
	CHECK_INT(mpu_etag_parts("0123456789abcdef0123456789abcdef-10000"), 10000);
	const char *bad[] = {
	    "0123456789abcdef0123456789abcdef",	    "\"0123456789abcdef0123456789abcdef\"",
	    "0123456789abcdef0123456789abcdef-0",   "0123456789abcdef0123456789abcdef-10001",
	    "0123456789abcdef0123456789abcdef-01",  "0123456789abcdef0123456789abcdef-",
	    "0123456789abcdef0123456789abcdef-2\"", "\"0123456789abcdef0123456789abcdef-2",
	    "0123456789abcdef0123456789abcdeg-2",   "0123456789abcdef0123456789abcde-2",
	    "0123456789abcdef0123456789abcdef-2x",  "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		T_CASE(bad[i], mpu_etag_parts(bad[i]) == -EINVAL);
	CHECK_INT(mpu_etag_parts(NULL), -EINVAL);
}

/* The multipart ETag that proves an object is the one our parts made: parts
 * "a" and "b" (md5 0cc1..., 92eb...) give md5(md5(a) || md5(b)) "-2", as S3
 * and RGW compute it; quoted or bare part ETags alike; a part ETag that is
 * not an MD5 (SSE-KMS) gives -EINVAL: nothing can be proven then. */
static void test_etag_of_parts(void)
{
	struct s3_part p[2] = {{1, "\"0cc175b9c0f1b6a831c399e269772661\"", ""},
			       {2, "92EB5FFEE6AE2FEC3AD71C777531578F", ""}};
	char out[S3_ETAG_MAX];
	CHECK_INT(mpu_etag_of_parts(p, 2, out, sizeof(out)), 0);
	CHECK_STR(out, "\"96e024ba2074fe77e8e965ba43a704be-2\"");
	CHECK_INT(mpu_etag_of_parts(p, 1, out, sizeof(out)), 0);
	CHECK_STR(out, "\"b6ff9a06b7e20bcb2858c5b8ff744aea-1\"");
	snprintf(p[1].etag, sizeof(p[1].etag), "\"kms-opaque-etag-not-an-md5-000000\"");
	CHECK_INT(mpu_etag_of_parts(p, 2, out, sizeof(out)), -EINVAL);
	CHECK_STR(out, "");
	snprintf(p[1].etag, sizeof(p[1].etag), "\"92eb\"");
	CHECK_INT(mpu_etag_of_parts(p, 2, out, sizeof(out)), -EINVAL);
}

int main(void)
{
	T_RUN(test_round_trip);
	T_RUN(test_parse_rejects);
	T_RUN(test_sizes_and_counts);
	T_RUN(test_uniform);
	T_RUN(test_etag_parts);
	T_RUN(test_etag_of_parts);
	return T_DONE();
}
