/*
 * seqdetect.h: per-handle sequential-read detection and the prefetch window
 * it drives (pure logic; the cache in reader.c acts on the result).
 *
 * As in sshfs's cache.c, a read is sequential when it starts where the
 * previous one ended. The kernel sends its readahead as many requests
 * (up to max_background in flight) handled by parallel FUSE threads, so
 * they arrive out of order, sometimes by tens of MiB: while the window is
 * armed, a read starting up to max_window bytes before the furthest end
 * seen, or forward by less than the current window (data the prefetcher is
 * already fetching), still counts as sequential. In random mode (window 0)
 * only a read starting at the last end, or up to back_tol bytes before it,
 * re-arms. Anything else is random.
 *
 * Window: 0 after a random read (fetch only what is asked); the first
 * sequential read (including the first read at offset 0) arms it at
 * min_window, so the first GETs are small and the first byte comes fast; it
 * doubles each time the reader crosses a grow_step boundary (one block), up
 * to max_window. seqdetect_shrink() halves it under memory pressure.
 *
 * Not thread-safe: the owner serialises calls (reader.c holds its lock).
 */
#ifndef SEQDETECT_H
#define SEQDETECT_H
#include <stddef.h>
#include <stdint.h>

struct seqdetect {
	uint64_t next_off;  /* furthest end of a read seen so far, bytes */
	size_t window;	    /* prefetch window in bytes; 0 = random mode */
	size_t min_window;  /* bytes */
	size_t max_window;  /* bytes */
	size_t grow_step;   /* bytes of sequential progress per doubling */
	size_t back_tol;    /* bytes a read may lie behind next_off and re-arm
			     * random mode (armed: max_window) */
	uint64_t seq_reads; /* counters, for stats and tests */
	uint64_t random_reads;
};

/* min_window <= max_window; grow_step > 0. back_tol defaults to grow_step. */
void seqdetect_init(struct seqdetect *s, size_t min_window, size_t max_window, size_t grow_step);
/* Feeds one read of len bytes at off; returns 1 when it is sequential (the
 * window is then > 0), 0 when random (window 0). */
int seqdetect_feed(struct seqdetect *s, uint64_t off, size_t len);
/* Memory pressure: halves the window, not below min_window (0 stays 0). */
void seqdetect_shrink(struct seqdetect *s);

#endif
