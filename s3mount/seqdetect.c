/* seqdetect.c: see seqdetect.h. */
#include "seqdetect.h"

void seqdetect_init(struct seqdetect *s, size_t min_window, size_t max_window,
		    size_t grow_step)
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
	if (off < s->next_off)
		return s->next_off - off <= s->back_tol;
	/* A forward skip inside the window lands on data being prefetched; in
	 * random mode only an exact continuation re-arms the prefetcher. */
	return s->window > 0 && off - s->next_off < s->window;
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
