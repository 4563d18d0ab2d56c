/*
 * lines.c: memchr-driven line splitting with one carry buffer (see lines.h).
 */
#define _GNU_SOURCE /* memrchr */
#include "lines.h"

#include <errno.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

void lines_init(struct lines *l, size_t max_line)
{
	/* +1: a line of exactly max_line bytes may still carry its "\r". */
	buf_init(&l->carry, max_line + 1);
	l->max_line = max_line;
	l->lineno = 1;
	l->skipping = 0;
}

void lines_release(struct lines *l)
{
	buf_release(&l->carry);
}

static int emit(struct lines *l, const char *p, size_t n, const struct lines_sink *s)
{
	uint64_t no = l->lineno++;

	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n > l->max_line)
		return s->too_long ? s->too_long(s->ctx, no, l->max_line) : 0;
	return s->line(s->ctx, p, n, no);
}

/* Appends an unfinished piece to the carry; switches to skipping past the cap. */
static int carry_add(struct lines *l, const char *p, size_t n, const struct lines_sink *s)
{
	int rc;

	if (l->skipping)
		return 0;
	if (l->carry.len + n > l->max_line + 1) {
		buf_reset(&l->carry);
		l->skipping = 1;
		return s->too_long ? s->too_long(s->ctx, l->lineno, l->max_line) : 0;
	}
	rc = buf_add(&l->carry, p, n);
	return rc;
}

int lines_feed(struct lines *l, const char *data, size_t n, const struct lines_sink *s)
{
	const char *p = data, *end = data + n;
	int rc;

	if (l->skipping || l->carry.len) {
		const char *nl = memchr(p, '\n', n);

		if (!nl)
			return carry_add(l, p, n, s);
		if (l->skipping) {
			l->skipping = 0;
			l->lineno++;
		} else {
			rc = carry_add(l, p, (size_t)(nl - p), s);
			if (rc)
				return rc;
			if (l->skipping) { /* the piece pushed it over the cap */
				l->skipping = 0;
				l->lineno++;
			} else {
				rc = emit(l, l->carry.ptr, l->carry.len, s);
				buf_reset(&l->carry);
				if (rc)
					return rc;
			}
		}
		p = nl + 1;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl)
			return carry_add(l, p, (size_t)(end - p), s);
		rc = emit(l, p, (size_t)(nl - p), s);
		if (rc)
			return rc;
		p = nl + 1;
	}
	return 0;
}

int lines_finish(struct lines *l, const struct lines_sink *s)
{
	int rc = 0;

	if (l->skipping) {
		l->skipping = 0;
		l->lineno++;
		return 0;
	}
	if (l->carry.len) {
		rc = emit(l, l->carry.ptr, l->carry.len, s);
		buf_reset(&l->carry);
	}
	return rc;
}

size_t lines_pending(const struct lines *l)
{
	return l->carry.len;
}

void lines_discard(struct lines *l)
{
	buf_reset(&l->carry);
	l->skipping = 0;
}

void lines_align_init(struct lines_align *a, size_t max_line)
{
	buf_init(&a->carry, max_line + 1);
	a->max_line = max_line;
	a->lineno = 1;
	a->skipping = 0;
}

void lines_align_release(struct lines_align *a)
{
	buf_release(&a->carry);
}

void lines_align_reset(struct lines_align *a)
{
	buf_reset(&a->carry);
	a->lineno = 1;
	a->skipping = 0;
}

size_t lines_align_pending(const struct lines_align *a)
{
	return a->carry.len;
}

size_t lines_align_take(struct lines_align *a, char *dst)
{
	size_t n = a->carry.len;

	if (n)
		memcpy(dst, a->carry.ptr, n);
	buf_reset(&a->carry);
	return n;
}

/* 16 bytes at a time, without a memchr call per line (the aligner counts
 * every line of every slot): each compare's 0/-1 bytes are subtracted into
 * byte counters, summed by psadbw before they can wrap (255 rounds). */
uint64_t lines_count(const char *p, size_t n)
{
	const char *end = p + n;
	uint64_t c = 0;

#ifdef __SSE2__
	const __m128i nl = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
	while (end - p >= 16) {
		__m128i acc = zero;
		for (int r = 0; r < 255 && end - p >= 16; r++, p += 16) {
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
			acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(x, nl));
		}
		__m128i sum = _mm_sad_epu8(acc, zero);
		c += (uint64_t)_mm_cvtsi128_si64(sum) +
		     (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(sum, sum));
	}
#endif
	for (; p < end; p++)
		c += *p == '\n';
	return c;
}

const char *lines_find_long(const char *p, const char *e, size_t max_line, const char **ls)
{
	if ((size_t)(e - p) <= max_line + 1)
		return NULL;
	while (p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		const char *le = nl ? nl : e;
		size_t n = (size_t)(le - p);

		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > max_line) {
			*ls = p;
			return le;
		}
		p = le + 1;
	}
	return NULL;
}

int lines_align_cut(struct lines_align *a, const char *buf, size_t len, int final, size_t *start,
		    size_t *end, uint64_t *first_lineno, const struct lines_sink *sink)
{
	size_t s = 0, e, tail;
	const char *last;
	uint64_t n;

	*start = *end = len;
	*first_lineno = a->lineno;
	if (a->skipping) {
		const char *nl = memchr(buf, '\n', len);

		if (!nl) {
			if (final)
				a->skipping = 0;
			return 0;
		}
		s = (size_t)(nl - buf) + 1;
		a->skipping = 0;
		a->lineno++;
	}
	*first_lineno = a->lineno;
	if (final) {
		n = lines_count(buf + s, len - s);
		if (len > s && buf[len - 1] != '\n')
			n++;
		a->lineno += n;
		*start = s;
		*end = len;
		return 0;
	}
	last = len > s ? memrchr(buf + s, '\n', len - s) : NULL;
	e = last ? (size_t)(last - buf) + 1 : s;
	n = lines_count(buf + s, e - s);
	*start = s;
	*end = e;
	a->lineno += n;
	tail = len - e;
	/* +1: a line of max_line bytes may still end in "\r" */
	if (tail > a->max_line + 1) {
		a->skipping = 1;
		return sink->too_long ? sink->too_long(sink->ctx, a->lineno, a->max_line) : 0;
	}
	return buf_add(&a->carry, buf + e, tail);
}
