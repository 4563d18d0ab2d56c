/* partsize.c: see partsize.h. */
#include "partsize.h"

#include <errno.h>

#include "s3.h"

int partsize_check_base(uint64_t base)
{
	if (base < S3_MIN_PART_SIZE || base > S3_MAX_PART_SIZE)
		return -EINVAL;
	return 0;
}

/* Size of every part in group g (parts g*1000+1 .. g*1000+1000). */
static uint64_t group_size(uint64_t base, int g)
{
	uint64_t s = base;
	/* Doubling one step at a time keeps the arithmetic far from overflow:
	 * it stops at the 5 GiB cap. */
	for (int i = 0; i < g && s < S3_MAX_PART_SIZE; i++)
		s *= 2;
	return s < S3_MAX_PART_SIZE ? s : S3_MAX_PART_SIZE;
}

uint64_t partsize_for(uint64_t base, int part_number)
{
	if (part_number < 1 || part_number > S3_MAX_PARTS)
		return 0;
	return group_size(base, (part_number - 1) / PARTSIZE_GROUP);
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
	uint64_t s = partsize_for(base, part_number);
	return s < cap ? s : cap;
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
