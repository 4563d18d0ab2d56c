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

int main(void)
{
	T_RUN(test_basic);
	T_RUN(test_crlf);
	T_RUN(test_too_long);
	T_RUN(test_stop_and_pending);
	T_RUN(test_many_lines);
	return T_DONE();
}
