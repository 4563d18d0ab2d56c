/* fuzz-lib: filtercore */
/*
 * fuzz_lines.c: differential fuzzing of the line splitter. Input: byte 0 picks
 * the slot size (1..64), byte 1 max_line (1..32), the rest is the stream.
 * The stream is split (1) by lines_feed in slot-sized chunks and (2) by
 * lines_align into slots of whole lines, each split on its own, as the
 * pipeline's scanners do. Both must report the same lines with the same
 * numbers and the same over-long lines (as a set: the aligner may report a
 * straddling over-long line before earlier lines of its slot are split).
 * Any difference or a carry over its cap aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lines.h"

struct rec {
	uint64_t h[4096]; /* one hash per entry (line number + content or "too long") */
	size_t n;
	int overflow;
};

static uint64_t mix(uint64_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static void add(struct rec *r, uint64_t h)
{
	if (r->n < sizeof(r->h) / sizeof(r->h[0]))
		r->h[r->n++] = h;
	else
		r->overflow = 1;
}

static int on_line(void *ctx, const char *p, size_t n, uint64_t no)
{
	add(ctx, mix(0xcbf29ce484222325ull ^ (no * 0x9e3779b97f4a7c15ull), p, n));
	return 0;
}

static int on_long(void *ctx, uint64_t no, size_t max)
{
	add(ctx, (no * 0x9e3779b97f4a7c15ull) ^ 0x5555555555555555ull);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rec a, b;
	size_t slot, max_line, n, pos;
	const char *s;
	struct lines l;
	struct lines_align al;
	char *buf;

	if (size < 2)
		return 0;
	slot = data[0] % 64 + 1;
	max_line = data[1] % 32 + 1;
	s = (const char *)data + 2;
	n = size - 2;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));

	const struct lines_sink sa = {on_line, on_long, &a};
	lines_init(&l, max_line);
	for (pos = 0; pos < n; pos += slot)
		lines_feed(&l, s + pos, n - pos < slot ? n - pos : slot, &sa);
	lines_finish(&l, &sa);
	lines_release(&l);

	const struct lines_sink sb = {on_line, on_long, &b};
	buf = malloc(slot + max_line + 2);
	lines_align_init(&al, max_line);
	lines_init(&l, max_line);
	pos = 0;
	for (;;) {
		size_t fill = lines_align_take(&al, buf), k = n - pos < slot ? n - pos : slot;
		size_t start, end;
		uint64_t first;
		int final;

		memcpy(buf + fill, s + pos, k);
		pos += k;
		final = pos == n;
		lines_align_cut(&al, buf, fill + k, final, &start, &end, &first, &sb);
		if (lines_align_pending(&al) > max_line + 1)
			abort();
		if (start < end) {
			lines_discard(&l);
			l.lineno = first;
			lines_feed(&l, buf + start, end - start, &sb);
			lines_finish(&l, &sb);
		}
		if (final)
			break;
	}
	lines_release(&l);
	lines_align_release(&al);
	free(buf);
	if (a.overflow || b.overflow)
		return 0;
	qsort(a.h, a.n, sizeof(a.h[0]), cmp_u64);
	qsort(b.h, b.n, sizeof(b.h[0]), cmp_u64);
	if (a.n != b.n || memcmp(a.h, b.h, a.n * sizeof(a.h[0])) != 0)
		abort();
	return 0;
}
