/* test_seqdetect.c: sequential detection, out-of-order tolerance, window
 * growth to the cap, reset on random reads, re-arming, shrink. */
#include "t.h"
#include "seqdetect.h"

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
	size_t want[] = {8 * MiB, 16 * MiB, 32 * MiB, 64 * MiB, 64 * MiB, 64 * MiB};
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
	/* Stream on to 100 MiB: a late read up to the cap (64 MiB) behind the
	 * furthest end is still sequential. */
	while (s.next_off < 100 * MiB)
		CHECK_INT(seqdetect_feed(&s, s.next_off, MiB), 1);
	CHECK_INT(seqdetect_feed(&s, s.next_off - 64 * MiB, 4096), 1);
	CHECK_INT(s.random_reads, 0);
	/* Backward by more than the cap: random, window off. */
	CHECK_INT(seqdetect_feed(&s, s.next_off - 64 * MiB - 1, 4096), 0);
	CHECK_INT(s.window, 0);
	CHECK_INT(s.random_reads, 1);
	/* Forward past the window is random: reads filling holes in the
	 * kernel's page cache must not prefetch past each hole. */
	for (uint64_t off = 0; off < 4 * MiB; off += MiB)
		CHECK_INT(seqdetect_feed(&s, 0 + off, MiB), off == 0 ? 0 : 1);
	CHECK(s.window > 0);
	CHECK_INT(seqdetect_feed(&s, s.next_off + s.window, 4096), 0);
	CHECK_INT(s.window, 0);
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
	/* In random mode, a read back by up to back_tol (1 MiB) re-arms: the
	 * first of an out-of-order pair arrived late. One byte more does not. */
	CHECK_INT(seqdetect_feed(&s, 500 * MiB + 4096 - MiB - 1, 1), 0);
	CHECK_INT(seqdetect_feed(&s, 500 * MiB - MiB, 4096), 1);
	CHECK(s.window > 0);
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
	static const int perm[6][4] = {{0, 1, 2, 3}, {3, 2, 1, 0}, {1, 3, 0, 2},
				       {2, 0, 3, 1}, {3, 0, 1, 2}, {1, 0, 3, 2}};
	uint64_t base = 0;
	for (int g = 0; g < 512; g++) {
		for (int k = 0; k < 4; k++)
			CHECK_INT(seqdetect_feed(&s, base + (uint64_t)perm[g % 6][k] * 128 * KiB,
						 128 * KiB),
				  1);
		base += 4 * 128 * KiB;
	}
	CHECK_INT(s.random_reads, 0);
	CHECK_INT(s.next_off, base);
	CHECK_INT(s.window, 64 * MiB);
}

/* The kernel's readahead with up to 64 requests of 1 MiB in flight, served
 * by 16 FUSE threads on a loaded machine: within each group of 32 requests
 * one straggler (the group's first) arrives last, after the rest, and one
 * request overtakes the group before it. Every read is part of the stream:
 * none may reset the window (a reset collapsed prefetch and refetched
 * evicted data). With a 1 MiB back tolerance this dropped to random mode. */
static void test_heavy_reordering(void)
{
	struct seqdetect s;
	seqdetect_init(&s, 2 * MiB, 64 * MiB, MiB);
	const uint64_t G = 32;
	/* The first group arrives in order (one reader, small windows). */
	for (uint64_t k = 0; k < G; k++)
		CHECK_INT(seqdetect_feed(&s, k * MiB, MiB), 1);
	for (uint64_t g = 1; g < 32; g++) {
		uint64_t base = g * G * MiB;
		/* one request of the next group overtakes this one */
		CHECK_INT(seqdetect_feed(&s, base + (G + 3) * MiB, MiB), 1);
		for (uint64_t k = 1; k < G; k++)
			CHECK_INT(seqdetect_feed(&s, base + k * MiB, MiB), 1);
		CHECK_INT(seqdetect_feed(&s, base, MiB), 1); /* the straggler */
	}
	CHECK_INT(s.random_reads, 0);
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
	T_RUN(test_heavy_reordering);
	return T_DONE();
}
