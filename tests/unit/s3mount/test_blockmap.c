/* test_blockmap.c: block index math at the boundaries (0 B, 1 B, block-1,
 * block, block+1, reads past the end, offsets near UINT64_MAX). */
#include <stdint.h>

#include "blockmap.h"
#include "t.h"

#define BS ((size_t)1 << 20)

static void test_count_and_len(void)
{
	CHECK_INT(blockmap_count(0, BS), 0);
	CHECK_INT(blockmap_count(1, BS), 1);
	CHECK_INT(blockmap_count(BS - 1, BS), 1);
	CHECK_INT(blockmap_count(BS, BS), 1);
	CHECK_INT(blockmap_count(BS + 1, BS), 2);
	CHECK_INT(blockmap_count(8 * BS - 1, BS), 8);
	CHECK_INT(blockmap_count(8 * BS, BS), 8);
	CHECK_INT(blockmap_count(8 * BS + 1, BS), 9);

	CHECK_INT(blockmap_len(0, BS, 0), 0);
	CHECK_INT(blockmap_len(1, BS, 0), 1);
	CHECK_INT(blockmap_len(1, BS, 1), 0);
	CHECK_INT(blockmap_len(BS - 1, BS, 0), BS - 1);
	CHECK_INT(blockmap_len(BS, BS, 0), BS);
	CHECK_INT(blockmap_len(BS, BS, 1), 0);
	CHECK_INT(blockmap_len(BS + 1, BS, 0), BS);
	CHECK_INT(blockmap_len(BS + 1, BS, 1), 1);
	CHECK_INT(blockmap_len(BS + 1, BS, 2), 0);
	/* 5 TiB object, last block. */
	uint64_t big = 5ull << 40;
	CHECK_INT(blockmap_len(big + 7, BS, big / BS), 7);
	CHECK_INT(blockmap_len(big + 7, BS, big / BS - 1), BS);
}

static void test_span(void)
{
	uint64_t first = 99;
	/* Empty object, zero length, at/after EOF: nothing. */
	CHECK_INT(blockmap_span(0, BS, 0, 4096, &first), 0);
	CHECK_INT(blockmap_span(10, BS, 0, 0, &first), 0);
	CHECK_INT(blockmap_span(10, BS, 10, 1, &first), 0);
	CHECK_INT(blockmap_span(10, BS, 11, 1, &first), 0);
	/* 1 B object. */
	CHECK_INT(blockmap_span(1, BS, 0, 1 << 20, &first), 1);
	CHECK_INT(first, 0);
	/* Inside one block, touching its last byte. */
	CHECK_INT(blockmap_span(3 * BS, BS, BS - 1, 1, &first), 1);
	CHECK_INT(first, 0);
	/* Crossing a boundary by one byte each side. */
	CHECK_INT(blockmap_span(3 * BS, BS, BS - 1, 2, &first), 2);
	CHECK_INT(first, 0);
	/* Exactly one aligned block. */
	CHECK_INT(blockmap_span(3 * BS, BS, BS, BS, &first), 1);
	CHECK_INT(first, 1);
	/* Aligned block + 1 byte. */
	CHECK_INT(blockmap_span(3 * BS, BS, BS, BS + 1, &first), 2);
	CHECK_INT(first, 1);
	/* A 1 MiB unaligned FUSE read spans two blocks. */
	CHECK_INT(blockmap_span(8 * BS, BS, 128 * 1024, BS, &first), 2);
	CHECK_INT(first, 0);
	/* Clipped at EOF: 8 MiB+1 object, read of 1 MiB at 8 MiB. */
	CHECK_INT(blockmap_span(8 * BS + 1, BS, 8 * BS, BS, &first), 1);
	CHECK_INT(first, 8);
	/* Huge length does not overflow. */
	CHECK_INT(blockmap_span(3 * BS, BS, BS + 5, UINT64_MAX, &first), 2);
	CHECK_INT(first, 1);
	CHECK_INT(blockmap_span(UINT64_MAX, BS, UINT64_MAX - 1, UINT64_MAX, &first), 1);
	CHECK(first == (UINT64_MAX - 1) / BS);
}

static void test_round(void)
{
	CHECK_INT(blockmap_round(0, 4096), 0);
	CHECK_INT(blockmap_round(1, 4096), 4096);
	CHECK_INT(blockmap_round(4095, 4096), 4096);
	CHECK_INT(blockmap_round(4096, 4096), 4096);
	CHECK_INT(blockmap_round(4097, 4096), 8192);
	CHECK_INT(blockmap_round(BS, 4096), BS);
}

int main(void)
{
	T_RUN(test_count_and_len);
	T_RUN(test_span);
	T_RUN(test_round);
	return T_DONE();
}
