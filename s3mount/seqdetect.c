/* seqdetect.c: see seqdetect.h. */
#include "seqdetect.h"

void seqdetect_init(struct seqdetect *s, size_t min_window, size_t max_window, size_t grow_step)
{
	s->next_off = 0;
	s->window = 0;
	s->min_window = min_window;
	s->max_window = max_window < min_window ? min_window : max_window;
	s->grow_step = grow_step;
	s->back_tol = grow_step;
	s->seq_reads = 0;
	s->random_reads = 0;
}

static int is_sequential(const struct seqdetect *s, uint64_t off)
{
	if (off == s->next_off)
		return 1;
	/* In random mode only an exact continuation, or a read just behind
	 * the last one, re-arms the prefetcher. */
	if (s->window == 0)
		return off < s->next_off && s->next_off - off <= s->back_tol;
	/* Armed: the kernel keeps up to max_background (64) readahead
	 * requests of 1 MiB in flight on parallel FUSE threads, so a late
	 * read can lie tens of MiB behind the furthest end: anything up to
	 * max_window behind is still this stream (its data was requested
	 * already). A 1 MiB tolerance dropped streams to random mode under
	 * load, which collapsed the window and refetched evicted data. A
	 * forward skip counts only inside the window (data being prefetched):
	 * the reads that fill holes in the kernel's page cache skip forward,
	 * and prefetching past each hole would fetch what the kernel has. */
	if (off < s->next_off) {
		size_t tol = s->max_window > s->back_tol ? s->max_window : s->back_tol;
		return s->next_off - off <= tol;
	}
	return off - s->next_off < s->window;
}

int seqdetect_feed(struct seqdetect *s, uint64_t off, size_t len)
{
	uint64_t end = off + len;
	if (!is_sequential(s, off)) {
		s->random_reads++;
		s->window = 0;
		s->next_off = end;
		return 0;
	}
	s->seq_reads++;
	if (s->window == 0) {
		s->window = s->min_window;
	} else if (end > s->next_off && end / s->grow_step > s->next_off / s->grow_step) {
		/* Crossed into a new step: the reader keeps consuming, so the
		 * window ahead of it may grow. Doubling per step (not per read)
		 * makes growth independent of the kernel's request size. */
		s->window = s->window > s->max_window / 2 ? s->max_window : s->window * 2;
	}
	if (end > s->next_off)
		s->next_off = end;
	return 1;
}

void seqdetect_shrink(struct seqdetect *s)
{
	if (s->window == 0)
		return;
	s->window /= 2;
	if (s->window < s->min_window)
		s->window = s->min_window;
}
