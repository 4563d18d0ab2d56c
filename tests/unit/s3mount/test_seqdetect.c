/* test_seqdetect.c: sequential detection, out-of-order tolerance, window
 * growth to the cap, reset on random reads, re-arming, shrink. */
#include "seqdetect.h"
#include "t.h"

#define MiB ((size_t)1 << 20)
#define KiB ((size_t)1 << 10)

static void test_first_read_and_growth(void)
{
	struct seqdetect s;
	seqdetect_init(&s, 2 * MiB, 64 * MiB, MiB);
	CHECK_INT(s.window, 0);
	/* The first read at 0 is sequential and arms the smallest window. */
	CHECK_INT(seqdetect_feed(&s, 0, 128 * KiB), 1);
	CHECK_INT(s.window, 2 * MiB);
	/* Reads inside the first block do not grow it. */
	for (uint64_t off = 128 * KiB; off < MiB - 128 * KiB; off += 128 * KiB) {
		CHECK_INT(seqdetect_feed(&s, off, 128 * KiB), 1);
		CHECK_INT(s.window, 2 * MiB);
	}
	/* The read ending at the block boundary doubles it. */
	CHECK_INT(seqdetect_feed(&s, MiB - 128 * KiB, 128 * KiB), 1);
	CHECK_INT(s.window, 4 * MiB);
	/* One doubling per block, then the cap. */
	size_t want[] = { 8 * MiB, 16 * MiB, 32 * MiB, 64 * MiB, 64 * MiB, 64 * MiB };
	for (int i = 0; i < 6; i++) {
		CHECK_INT(seqdetect_feed(&s, (uint64_t)(i + 1) * MiB, MiB), 1);
		CHECK_INT(s.window, want[i]);
	}
	CHECK_INT(s.next_off, 7 * MiB);
	CHECK_INT(s.random_reads, 0);
}

static void test_out_of_order_tolerance(void)
{
	struct seqdetect s;
	seqdetect_init(&s, 2 * MiB, 64 * MiB, MiB);
	for (uint64_t off = 0; off < 4 * MiB; off += 128 * KiB)
		CHECK_INT(seqdetect_feed(&s, off, 128 * KiB), 1);
	size_t w = s.window;
	CHECK(w >= 8 * MiB);
	/* Kernel readahead served by parallel threads: the later request
	 * arrives first, then the earlier one. Both are sequential. */
	CHECK_INT(seqdetect_feed(&s, 4 * MiB + 128 * KiB, 128 * KiB), 1);
	CHECK_INT(seqdetect_feed(&s, 4 * MiB, 128 * KiB), 1);
	CHECK_INT(s.next_off, 4 * MiB + 256 * KiB);
	CHECK_INT(s.window, w);
	/* A forward skip inside the window is still sequential. */
	CHECK_INT(seqdetect_feed(&s, s.next_off + w - 1, 1), 1);
	/* Backward by more than the tolerance: random, window off. */
	CHECK_INT(seqdetect_feed(&s, 0, 4096), 0);
	CHECK_INT(s.window, 0);
	CHECK_INT(s.random_reads, 1);
}

static void test_random_then_rearm(void)
{
	struct seqdetect s;
	seqdetect_init(&s, 2 * MiB, 64 * MiB, MiB);
	/* tail -c: the first read is near the end: random. */
	CHECK_INT(seqdetect_feed(&s, 100 * MiB, 4096), 0);
	CHECK_INT(s.window, 0);
	/* In random mode, a forward jump is random too... */
	CHECK_INT(seqdetect_feed(&s, 100 * MiB + 8192, 4096), 0);
	CHECK_INT(s.window, 0);
	/* ...a read that starts exactly where the last ended re-arms. */
	CHECK_INT(seqdetect_feed(&s, 100 * MiB + 12288, 4096), 1);
	CHECK_INT(s.window, 2 * MiB);
	/* A jump far ahead of the window: random again. */
	CHECK_INT(seqdetect_feed(&s, 500 * MiB, 4096), 0);
	CHECK_INT(s.window, 0);
	/* Backwards by exactly the tolerance counts as a late sequential read. */
	CHECK_INT(seqdetect_feed(&s, 500 * MiB + 4096, 4096), 1);
	CHECK_INT(seqdetect_feed(&s, 500 * MiB + 8192 - MiB, 4096), 1);
	CHECK_INT(seqdetect_feed(&s, 500 * MiB + 8192 - MiB - 1, 1), 0);
}

static void test_shrink(void)
{
	struct seqdetect s;
	seqdetect_init(&s, 2 * MiB, 16 * MiB, MiB);
	seqdetect_shrink(&s);
	CHECK_INT(s.window, 0); /* random mode stays off */
	for (uint64_t off = 0; off < 10 * MiB; off += MiB)
		seqdetect_feed(&s, off, MiB);
	CHECK_INT(s.window, 16 * MiB);
	seqdetect_shrink(&s);
	CHECK_INT(s.window, 8 * MiB);
	seqdetect_shrink(&s);
	seqdetect_shrink(&s);
	CHECK_INT(s.window, 2 * MiB);
	seqdetect_shrink(&s);
	CHECK_INT(s.window, 2 * MiB); /* never below the minimum */
	/* And it grows again. */
	seqdetect_feed(&s, 10 * MiB, MiB);
	CHECK_INT(s.window, 4 * MiB);
}

static void test_cap_below_min(void)
{
	struct seqdetect s;
	seqdetect_init(&s, 2 * MiB, MiB, MiB);
	CHECK_INT(s.max_window, 2 * MiB);
	for (uint64_t off = 0; off < 10 * MiB; off += MiB)
		seqdetect_feed(&s, off, MiB);
	CHECK_INT(s.window, 2 * MiB);
}

/* A kernel readahead stream served by 4 FUSE threads: 128 KiB requests
 * arrive shuffled within each group of 4 (the worst order threads can
 * produce). Every read must count as sequential, and the window must reach
 * its cap as in order. */
static void test_shuffled_parallel_stream(void)
{
	struct seqdetect s;
	seqdetect_init(&s, 2 * MiB, 64 * MiB, MiB);
	static const int perm[6][4] = { { 0, 1, 2, 3 }, { 3, 2, 1, 0 }, { 1, 3, 0, 2 },
					 { 2, 0, 3, 1 }, { 3, 0, 1, 2 }, { 1, 0, 3, 2 } };
	uint64_t base = 0;
	for (int g = 0; g < 512; g++) {
		for (int k = 0; k < 4; k++)
			CHECK_INT(seqdetect_feed(&s, base + (uint64_t)perm[g % 6][k] * 128 * KiB,
						 128 * KiB), 1);
		base += 4 * 128 * KiB;
	}
	CHECK_INT(s.random_reads, 0);
	CHECK_INT(s.next_off, base);
	CHECK_INT(s.window, 64 * MiB);
}

int main(void)
{
	T_RUN(test_first_read_and_growth);
	T_RUN(test_out_of_order_tolerance);
	T_RUN(test_random_then_rearm);
	T_RUN(test_shrink);
	T_RUN(test_cap_below_min);
	T_RUN(test_shuffled_parallel_stream);
	return T_DONE();
}
