/*
 * lines.c: memchr-driven line splitting with one carry buffer (see lines.h).
 */
#include "lines.h"

#include <errno.h>
#include <string.h>

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
