/* partsize.c: see partsize.h. */
#include "partsize.h"

#include <errno.h>

#include "mpu.h"
#include "s3.h"

int partsize_check_base(uint64_t base)
{
	if (base < S3_MIN_PART_SIZE || base > S3_MAX_PART_SIZE)
		return -EINVAL;
	return 0;
}

/* The policy as a part layout: mpu_layout_part_size() (shared/mpu.c)
 * is the one computation of a part's size, used here to cut parts and by
 * verify.c to check a download against the layout recorded at upload. */
static uint64_t policy_part(uint64_t base, uint64_t cap, int part_number)
{
	struct mpu_layout l = {.base = base,
			       .cap = cap < S3_MAX_PART_SIZE ? cap : S3_MAX_PART_SIZE,
			       .grow = PARTSIZE_GROUP};
	return mpu_layout_part_size(&l, part_number);
}

/* Size of every part in group g (parts g*1000+1 .. g*1000+1000). */
static uint64_t group_size(uint64_t base, int g)
{
	return policy_part(base, S3_MAX_PART_SIZE, g * PARTSIZE_GROUP + 1);
}

uint64_t partsize_for(uint64_t base, int part_number)
{
	return policy_part(base, S3_MAX_PART_SIZE, part_number);
}

uint64_t partsize_offset(uint64_t base, int part_number)
{
	if (part_number < 1)
		return 0;
	if (part_number > S3_MAX_PARTS + 1)
		part_number = S3_MAX_PARTS + 1;
	int before = part_number - 1; /* parts wholly before part n */
	uint64_t off = 0;
	for (int g = 0; before > 0; g++) {
		int in_group = before < PARTSIZE_GROUP ? before : PARTSIZE_GROUP;
		off += (uint64_t)in_group * group_size(base, g);
		before -= in_group;
	}
	return off;
}

uint64_t partsize_max_object(uint64_t base)
{
	uint64_t total = partsize_offset(base, S3_MAX_PARTS + 1);
	return total < S3_MAX_OBJECT_SIZE ? total : S3_MAX_OBJECT_SIZE;
}

uint64_t partsize_for_capped(uint64_t base, uint64_t cap, int part_number)
{
	return policy_part(base, cap, part_number);
}

uint64_t partsize_max_object_capped(uint64_t base, uint64_t cap)
{
	uint64_t total = 0;
	/* Whole groups at a time: 10 steps, not 10,000. */
	for (int g = 0; g < S3_MAX_PARTS / PARTSIZE_GROUP; g++) {
		uint64_t s = partsize_for_capped(base, cap, g * PARTSIZE_GROUP + 1);
		total += (uint64_t)PARTSIZE_GROUP * s;
	}
	return total < S3_MAX_OBJECT_SIZE ? total : S3_MAX_OBJECT_SIZE;
}
