/* test_partsize.c: the part-size policy reaches S3's 5 TiB object maximum
 * within 10,000 parts, never passes 5 GiB per part, and offsets agree with
 * the sizes. */
#include <errno.h>
#include <stdint.h>

#include "mpu.h"
#include "partsize.h"
#include "s3.h"
#include "t.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define TiB (1ull << 40)

static void test_default_reaches_5tib(void)
{
	uint64_t sum = 0;
	int reached = 0;
	for (int n = 1; n <= S3_MAX_PARTS; n++) {
		uint64_t s = partsize_for(PARTSIZE_DEFAULT, n);
		CHECK(s >= S3_MIN_PART_SIZE);
		CHECK(s <= S3_MAX_PART_SIZE);
		sum += s;
		if (!reached && sum >= 5 * TiB)
			reached = n;
	}
	CHECK(reached > 0 && reached <= S3_MAX_PARTS);
	CHECK_INT(partsize_max_object(PARTSIZE_DEFAULT), S3_MAX_OBJECT_SIZE);
	/* 8 MiB * 1000 * (1 + 2 + ... + 512) */
	CHECK_INT(partsize_offset(PARTSIZE_DEFAULT, S3_MAX_PARTS + 1), 8 * MiB * 1000 * 1023);
}

static void test_steps(void)
{
	CHECK_INT(partsize_for(PARTSIZE_DEFAULT, 1), 8 * MiB);
	CHECK_INT(partsize_for(PARTSIZE_DEFAULT, 1000), 8 * MiB);
	CHECK_INT(partsize_for(PARTSIZE_DEFAULT, 1001), 16 * MiB);
	CHECK_INT(partsize_for(PARTSIZE_DEFAULT, 2001), 32 * MiB);
	CHECK_INT(partsize_for(PARTSIZE_DEFAULT, 10000), 4 * GiB);
	CHECK_INT(partsize_for(PARTSIZE_DEFAULT, 0), 0);
	CHECK_INT(partsize_for(PARTSIZE_DEFAULT, 10001), 0);
	CHECK_INT(partsize_for(PARTSIZE_DEFAULT, -5), 0);
	/* The cap: a 64 MiB base doubles past 5 GiB in group 7. */
	CHECK_INT(partsize_for(64 * MiB, 7001), 5 * GiB);
	CHECK_INT(partsize_for(64 * MiB, 6001), 4 * GiB);
	CHECK_INT(partsize_for(5 * GiB, 1), 5 * GiB);
	CHECK_INT(partsize_for(5 * GiB, 9999), 5 * GiB);
}

/* Every base from 5 MiB to 5 GiB: parts within S3 limits, non-decreasing,
 * offsets equal to the running sum; every base >= 6 MiB reaches 5 TiB. */
static void test_all_bases(void)
{
	static const uint64_t bases[] = {5 * MiB,   6 * MiB, 8 * MiB, 10 * MiB,	      16 * MiB,
					 100 * MiB, 1 * GiB, 5 * GiB, 5 * MiB + 12345};
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		uint64_t b = bases[i], sum = 0, prev = 0;
		int ok = 1;
		for (int n = 1; n <= S3_MAX_PARTS; n++) {
			uint64_t s = partsize_for(b, n);
			if (partsize_offset(b, n) != sum)
				ok = 0;
			if (s < S3_MIN_PART_SIZE || s > S3_MAX_PART_SIZE || s < prev)
				ok = 0;
			prev = s;
			sum += s;
		}
		if (partsize_offset(b, S3_MAX_PARTS + 1) != sum)
			ok = 0;
		if (b >= 6 * MiB && sum < 5 * TiB)
			ok = 0;
		if (partsize_max_object(b) != (sum < 5 * TiB ? sum : 5 * TiB))
			ok = 0;
		T_CASE("base", ok);
	}
	/* The honest limit of the smallest base, stated in partsize.h. */
	CHECK(partsize_max_object(5 * MiB) < 5 * TiB);
	CHECK(partsize_max_object(5 * MiB) > 4 * TiB);
}

static void test_check_base(void)
{
	CHECK_INT(partsize_check_base(5 * MiB), 0);
	CHECK_INT(partsize_check_base(5 * GiB), 0);
	CHECK_INT(partsize_check_base(5 * MiB - 1), -EINVAL);
	CHECK_INT(partsize_check_base(5 * GiB + 1), -EINVAL);
	CHECK_INT(partsize_check_base(0), -EINVAL);
}

static void test_capped(void)
{
	/* 1000 x (8+16+32+64+128 x 6) MiB */
	CHECK_INT(partsize_max_object_capped(PARTSIZE_DEFAULT, 128 * MiB), 888000 * MiB);
	CHECK_INT(partsize_max_object_capped(PARTSIZE_DEFAULT, 2 * GiB), 5 * TiB);
	CHECK(partsize_max_object_capped(PARTSIZE_DEFAULT, 1 * GiB) < 5 * TiB);
	CHECK_INT(partsize_max_object_capped(PARTSIZE_DEFAULT, 5 * GiB),
		  partsize_max_object(PARTSIZE_DEFAULT));
	CHECK_INT(partsize_for_capped(PARTSIZE_DEFAULT, 128 * MiB, 1), 8 * MiB);
	CHECK_INT(partsize_for_capped(PARTSIZE_DEFAULT, 128 * MiB, 4001), 128 * MiB);
	CHECK_INT(partsize_for_capped(PARTSIZE_DEFAULT, 128 * MiB, 9999), 128 * MiB);
	CHECK_INT(partsize_for_capped(PARTSIZE_DEFAULT, 128 * MiB, 10001), 0);
	/* agrees with summing part by part */
	uint64_t sum = 0;
	for (int n = 1; n <= S3_MAX_PARTS; n++)
		sum += partsize_for_capped(6 * MiB, 100 * MiB, n);
	CHECK_INT(partsize_max_object_capped(6 * MiB, 100 * MiB), sum);
}

/* The layout the upload engine records for readers (mpu.h, upload.c's
 * mpu_create) describes exactly the parts this policy cuts, for every base
 * and cap the pool can have, including caps below the base. */
static void test_layout_matches_policy(void)
{
	const uint64_t bases[] = {5 * MiB, 8 * MiB, 13 * MiB, 64 * MiB, 5 * GiB};
	const uint64_t caps[] = {4 * MiB, 32 * MiB, 128 * MiB, 2 * GiB, 5 * GiB};
	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
		for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
			uint64_t cap = caps[c], base = bases[b] < cap ? bases[b] : cap;
			struct mpu_layout l = {.base = base, .cap = cap, .grow = PARTSIZE_GROUP};
			char s[MPU_LAYOUT_MAX];
			struct mpu_layout back;
			CHECK_INT(mpu_layout_format(&l, s, sizeof(s)), 0);
			CHECK_INT(mpu_layout_parse(s, &back), 0);
			int same = 1;
			for (int n = 1; n <= S3_MAX_PARTS; n++)
				same &= mpu_layout_part_size(&back, n) ==
					partsize_for_capped(bases[b], cap, n);
			T_CASE("layout == policy", same);
		}
	}
}

int main(void)
{
	T_RUN(test_default_reaches_5tib);
	T_RUN(test_steps);
	T_RUN(test_all_bases);
	T_RUN(test_check_base);
	T_RUN(test_capped);
	T_RUN(test_layout_matches_policy);
	return T_DONE();
}
