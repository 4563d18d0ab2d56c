/* test_lines.c: the line splitter gives the same lines for every way of
 * cutting the stream into chunks; CRLF, no final newline, blank lines and
 * over-long lines (reported with their number, skipped, bounded memory). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lines.h"
#include "t.h"

struct got {
	char text[4096]; /* lines joined with '|', too-long ones as "<TL n>" */
	size_t len;
	uint64_t last_no;
	int stop_at; /* return 1 from the callback at this line number */
};

static void put(struct got *g, const char *s, size_t n)
{
	if (g->len + n + 1 < sizeof(g->text)) {
		memcpy(g->text + g->len, s, n);
		g->len += n;
		g->text[g->len] = '\0';
	}
}

static int on_line(void *ctx, const char *p, size_t n, uint64_t no)
{
	struct got *g = ctx;
	char tag[32];

	snprintf(tag, sizeof(tag), "%llu:", (unsigned long long)no);
	put(g, tag, strlen(tag));
	put(g, p, n);
	put(g, "|", 1);
	g->last_no = no;
	return g->stop_at && (int)no == g->stop_at;
}

static int on_long(void *ctx, uint64_t no, size_t max)
{
	struct got *g = ctx;
	char tag[48];

	snprintf(tag, sizeof(tag), "<TL %llu>|", (unsigned long long)no);
	put(g, tag, strlen(tag));
	return 0;
}

/* Splits s at every pair of cut points (chunk sizes 1..n) and checks that
 * the result is always `want`. */
static int split_all(const char *s, size_t max_line, const char *want)
{
	size_t n = strlen(s);
	int ok = 1;

	for (size_t a = 0; a <= n; a++) {
		for (size_t b = a; b <= n; b++) {
			struct lines l;
			struct got g;
			const struct lines_sink sink = {on_line, on_long, &g};

			memset(&g, 0, sizeof(g));
			lines_init(&l, max_line);
			lines_feed(&l, s, a, &sink);
			lines_feed(&l, s + a, b - a, &sink);
			lines_feed(&l, s + b, n - b, &sink);
			lines_finish(&l, &sink);
			lines_release(&l);
			if (strcmp(g.text, want) != 0) {
				fprintf(stderr, "cut %zu,%zu: got [%s] want [%s]\n", a, b, g.text,
					want);
				ok = 0;
				return ok;
			}
		}
	}
	return ok;
}

static void test_basic(void)
{
	CHECK(split_all("a\nbb\nccc\n", 100, "1:a|2:bb|3:ccc|"));
	CHECK(split_all("a\nbb\nccc", 100, "1:a|2:bb|3:ccc|"));
	CHECK(split_all("", 100, ""));
	CHECK(split_all("\n\n", 100, "1:|2:|"));
}

static void test_crlf(void)
{
	CHECK(split_all("a\r\nbb\r\nc\r", 100, "1:a|2:bb|3:c|"));
	/* only one CR before the LF is removed; a CR inside stays */
	CHECK(split_all("x\ry\r\r\n", 100, "1:x\ry\r|"));
}

static void test_too_long(void)
{
	/* max 3: "abcd" (4) is too long, "abc" fits, "abc\r" fits (CR removed) */
	CHECK(split_all("abc\nabcd\nxy\nabc\r\n", 3, "1:abc|<TL 2>|3:xy|4:abc|"));
	CHECK(split_all("abcdefgh", 3, "<TL 1>|"));
	CHECK(split_all("a\nbcdefghij\n\nk", 3, "1:a|<TL 2>|3:|4:k|"));
}

static void test_stop_and_pending(void)
{
	struct lines l;
	struct got g;
	const struct lines_sink sink = {on_line, on_long, &g};

	memset(&g, 0, sizeof(g));
	g.stop_at = 2;
	lines_init(&l, 100);
	CHECK_INT(lines_feed(&l, "a\nb\nc\nd", 7, &sink), 1);
	CHECK_STR(g.text, "1:a|2:b|");
	lines_discard(&l);
	lines_release(&l);

	memset(&g, 0, sizeof(g));
	lines_init(&l, 100);
	CHECK_INT(lines_feed(&l, "one\ntw", 6, &sink), 0);
	CHECK_INT(lines_pending(&l), 2);
	lines_discard(&l);
	CHECK_INT(lines_pending(&l), 0);
	CHECK_INT(lines_finish(&l, &sink), 0);
	CHECK_STR(g.text, "1:one|");
	lines_release(&l);
}

/* A long stream in uneven chunks: line numbers and carry stay right and the
 * carry never holds more than one line. */
static void test_many_lines(void)
{
	size_t n = 0, cap = 1 << 20;
	char *s = malloc(cap);
	struct lines l;
	struct got g;
	const struct lines_sink sink = {on_line, on_long, &g};
	unsigned seed = 7;
	size_t pos = 0;

	for (int i = 0; i < 20000; i++)
		n += (size_t)snprintf(s + n, cap - n, "line-%d-%.*s\n", i, i % 37,
				      "0123456789012345678901234567890123456789");
	memset(&g, 0, sizeof(g));
	lines_init(&l, 64);
	while (pos < n) {
		size_t k;

		seed = seed * 1103515245u + 12345u;
		k = (seed >> 16) % 200 + 1;
		if (k > n - pos)
			k = n - pos;
		lines_feed(&l, s + pos, k, &sink);
		CHECK(l.carry.alloc <= 128);
		pos += k;
	}
	lines_finish(&l, &sink);
	CHECK_INT(g.last_no, 20000);
	lines_release(&l);
	free(s);
}

/* The aligner cuts a stream into slots of whole lines; splitting each slot
 * on its own must give exactly what one streaming split gives, for every
 * slot size, including over-long lines, CRLF and a last line without "\n". */
static void split_aligned(const char *s, size_t n, size_t slot, size_t max_line, struct got *g)
{
	struct lines_align a;
	struct lines l;
	const struct lines_sink sink = {on_line, on_long, g};
	char *buf = malloc(n + max_line + slot + 8);
	size_t pos = 0;

	lines_align_init(&a, max_line);
	lines_init(&l, max_line);
	for (;;) {
		size_t fill = lines_align_take(&a, buf), k, start, end;
		uint64_t first;
		int final;

		k = n - pos < slot ? n - pos : slot;
		memcpy(buf + fill, s + pos, k);
		pos += k;
		final = pos == n;
		CHECK_INT(lines_align_cut(&a, buf, fill + k, final, &start, &end, &first, &sink),
			  0);
		CHECK(lines_align_pending(&a) <= max_line + 1);
		if (start < end) {
			lines_discard(&l);
			l.lineno = first;
			lines_feed(&l, buf + start, end - start, &sink);
			lines_finish(&l, &sink);
		}
		if (final)
			break;
	}
	lines_align_release(&a);
	lines_release(&l);
	free(buf);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The aligner reports a straddling over-long line when it sees it, which
 * can be before the lines of the same slot are split: compare the entries
 * as sets (each entry carries its line number). */
static void sorted_entries(const char *text, char *out, size_t cap)
{
	char tmp[4096], *v[256], *p, *save = NULL;
	size_t n = 0, len = 0;

	snprintf(tmp, sizeof(tmp), "%s", text);
	for (p = strtok_r(tmp, "|", &save); p && n < 256; p = strtok_r(NULL, "|", &save))
		v[n++] = p;
	qsort(v, n, sizeof(v[0]), cmp_str);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s|", v[i]);
}

static void test_align(void)
{
	static const char *streams[] = {
	    "a\nbb\nccc\n",
	    "a\nbb\nccc",
	    "\n\n\nx",
	    "abc\nabcdefghij\nxy\r\nabc\r\n",
	    "abcdefghijklmnop",
	    "x\nabcdefghijklmnop",
	    "abcdefghijklmnop\nq\n",
	    "",
	    "1234\n12345\n123456\n1234567\n\r\n",
	};
	for (size_t i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
		const char *s = streams[i];
		size_t n = strlen(s);
		struct got ref;
		struct lines l;
		const struct lines_sink sink = {on_line, on_long, &ref};

		memset(&ref, 0, sizeof(ref));
		lines_init(&l, 5);
		lines_feed(&l, s, n, &sink);
		lines_finish(&l, &sink);
		lines_release(&l);
		for (size_t slot = 1; slot <= n + 1; slot++) {
			struct got g;

			memset(&g, 0, sizeof(g));
			char a[4096], b[4096];

			split_aligned(s, n, slot, 5, &g);
			sorted_entries(g.text, a, sizeof(a));
			sorted_entries(ref.text, b, sizeof(b));
			if (strcmp(a, b) != 0) {
				fprintf(stderr, "stream %zu slot %zu: got [%s] want [%s]\n", i,
					slot, g.text, ref.text);
				t_cur_failed = 1;
			}
		}
	}
}

/* lines_count (SIMD byte counters summed every 255 rounds) against a plain
 * count, on buffers past one 255 x 16 byte round; lines_find_long. */
static void test_count_and_long(void)
{
	static char buf[20000];
	unsigned seed = 7;
	for (size_t i = 0; i < sizeof(buf); i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (seed >> 16) % 3 == 0 ? '\n' : 'a';
	}
	for (size_t n = 0; n < sizeof(buf); n += n < 64 ? 1 : 997) {
		for (size_t off = 0; off < 3; off++) {
			uint64_t want = 0;
			for (size_t i = off; i < n; i++)
				want += buf[i] == '\n';
			CHECK_INT(lines_count(buf + off, n > off ? n - off : 0), want);
		}
	}
	memset(buf, '\n', 5000);
	CHECK_INT(lines_count(buf, 5000), 5000);
	const char *t = "ab\nabcdef\r\nabcdefg\nx";
	const char *ls = NULL, *le;
	CHECK(lines_find_long(t, t + strlen(t), 6, &ls) == t + 18 && ls == t + 11);
	CHECK(lines_find_long(t, t + strlen(t), 7, &ls) == NULL);
	CHECK(lines_find_long(t, t + 5, 4, &ls) == NULL); /* a range <= max + 1: none */
	le = lines_find_long(t, t + strlen(t), 1, &ls);
	CHECK(le == t + 2 && ls == t);
}

int main(void)
{
	T_RUN(test_align);
	T_RUN(test_basic);
	T_RUN(test_crlf);
	T_RUN(test_too_long);
	T_RUN(test_stop_and_pending);
	T_RUN(test_many_lines);
	T_RUN(test_count_and_long);
	return T_DONE();
}
