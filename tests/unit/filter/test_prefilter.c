/*
 * test_prefilter.c: the literal conditions derived from predicates
 * (pred_clauses) and the raw prefilter's decisions (prefilter.h): which
 * lines it passes over and which it must hand to the scanner (escaped
 * spellings, escapes that cannot spell the literal, backslash-CR
 * continuations), the SSE2 search at every offset
 * of a 16-byte block, and the limits (big `in` lists, empty literals). That
 * no matching line is ever dropped is checked against the full scan by
 * fuzz_prefilter (corpus replayed in ctest) and end to end on the datasets
 * by e2e_filter.py's prefilter_differential.
 */
#include <errno.h>
#include <string.h>

#include "pred.h"
#include "prefilter.h"
#include "scan.h"
#include "t.h"

struct built {
	struct scan_fields *f;
	struct pred *p;
	struct prefilter *pf;
};

static int build(struct built *b, const char *expr)
{
	struct pred_error err;
	memset(b, 0, sizeof(*b));
	b->f = scan_fields_new();
	if (pred_compile(expr, b->f, NULL, &b->p, &err) != 0) {
		fprintf(stderr, "compile %s: %s\n", expr, err.msg);
		return -1;
	}
	return prefilter_new(b->p, &b->pf);
}

static void release(struct built *b)
{
	prefilter_free(b->pf);
	pred_free(b->p);
	scan_fields_free(b->f);
}

static size_t nclauses(const char *expr)
{
	struct built b;
	struct pred_clause c[8];
	size_t n = 0;
	if (build(&b, expr) == 0)
		n = pred_clauses(b.p, c, 8);
	release(&b);
	return n;
}

static void test_clauses(void)
{
	CHECK_INT(nclauses("a == 'x'"), 1);
	CHECK_INT(nclauses("a startswith 'x' and b endswith 'y' and c contains 'z'"), 3);
	CHECK_INT(nclauses("a in ['x', 'y']"), 1);
	/* a non-string in the list matches non-strings: no condition */
	CHECK_INT(nclauses("a in ['x', 5]"), 0);
	CHECK_INT(nclauses("a in ['x', null]"), 0);
	CHECK_INT(nclauses("a != 'x'"), 0);
	CHECK_INT(nclauses("a < 'x'"), 0);
	CHECK_INT(nclauses("a == 5"), 0);
	CHECK_INT(nclauses("not (a == 'x')"), 0);
	CHECK_INT(nclauses("a not in ['x']"), 0);
	CHECK_INT(nclauses("missing(a)"), 0);
	CHECK_INT(nclauses("exists(a)"), 0);
	CHECK_INT(nclauses("a matches 'x'"), 0);
	CHECK_INT(nclauses("a startswith ''"), 0);
	CHECK_INT(nclauses("a contains ''"), 0);
	/* or: only when both sides contribute */
	CHECK_INT(nclauses("a == 'x' or b > 3"), 0);
	CHECK_INT(nclauses("a == 'x' or missing(b)"), 0);
	CHECK_INT(nclauses("a == 'x' or b == 'y'"), 1);
	CHECK_INT(nclauses("(a == 'x' and n > 1) or (b == 'y' and c == 'z')"), 1);
	CHECK_INT(nclauses("a == 'x' and (b == 'y' or c > 1)"), 1);

	struct built b;
	struct pred_clause c[8];
	CHECK_INT(build(&b, "a == 'xx' or (b == 'yyy' and c startswith 'z')"), 0);
	CHECK_INT(pred_clauses(b.p, c, 8), 1);
	CHECK_INT(c[0].n, 2);
	CHECK_INT(c[0].a[0].kind, PRED_ATOM_EQ);
	CHECK(c[0].a[1].n == 3 && memcmp(c[0].a[1].s, "yyy", 3) == 0);
	release(&b);
	/* the predicate: the one-atom clause is searched, the list is
	 * checked on candidate lines */
	CHECK_INT(build(&b, "event_type in ['purchase', 'refund', 'subscription_renew'] and "
			    "user.country == 'DE' and amount > 100"),
		  0);
	CHECK(b.pf != NULL);
	CHECK_INT(prefilter_nclauses(b.pf), 2);
	CHECK_INT(prefilter_nprimary(b.pf), 1);
	release(&b);
	/* more than PREFILTER_MAX_PRIMARY atoms: not searched, no prefilter */
	CHECK_INT(build(&b, "a in ['1','2','3','4','5','6','7','8','9']"), 0);
	CHECK(b.pf == NULL);
	release(&b);
	/* more than PRED_MAX_ATOMS: no condition at all */
	CHECK_INT(nclauses("a in ['1','2','3','4','5','6','7','8','9','10','11','12','13','14',"
			   "'15','16','17']"),
		  0);
	/* an empty literal cannot be searched, but is checked on candidates */
	CHECK_INT(build(&b, "a == ''"), 0);
	CHECK(b.pf == NULL);
	release(&b);
	CHECK_INT(build(&b, "a == '' and b == 'x'"), 0);
	CHECK(b.pf != NULL && prefilter_nclauses(b.pf) == 2);
	CHECK_INT(prefilter_line(b.pf, "{\"a\": \"\", \"b\": \"x\"}", 19), 1);
	CHECK_INT(prefilter_line(b.pf, "{\"a\": \"y\", \"b\": \"x\"}", 20), 0);
	release(&b);
}

static int line(const struct prefilter *pf, const char *l)
{
	return prefilter_line(pf, l, strlen(l));
}

static void test_lines(void)
{
	struct built b;
	CHECK_INT(build(&b, "user.country == 'DE'"), 0);
	const struct prefilter *pf = b.pf;
	CHECK(pf != NULL);
	if (!pf)
		return;
	/* no literal, no backslash: passed over */
	CHECK_INT(line(pf, "{\"user\": {\"country\": \"FR\"}}"), 0);
	CHECK_INT(line(pf, "{\"user\": {\"country\": \"DEU\"}}"), 0);
	CHECK_INT(line(pf, "{\"user\": {\"country\": \"xDE\"}}"), 0);
	CHECK_INT(line(pf, "{\"user\": {\"country\": \"D\" \"E\"}}"), 0);
	CHECK_INT(line(pf, "DE"), 0);
	/* the literal between quotes of either kind, with a u/b prefix */
	CHECK_INT(line(pf, "{\"user\": {\"country\": \"DE\"}}"), 1);
	CHECK_INT(line(pf, "{'user': {'country': 'DE'}}"), 1);
	CHECK_INT(line(pf, "{'user': {'country': u'DE'}}"), 1);
	CHECK_INT(line(pf, "{'user': {'country': b'DE'}}"), 1);
	/* a key, another field, a nested value: candidates (the scan decides) */
	CHECK_INT(line(pf, "{\"DE\": 1}"), 1);
	CHECK_INT(line(pf, "{\"x\": {\"y\": [\"DE\"]}}"), 1);
	/* escaped spellings: a short escaped string may be "DE" */
	CHECK_INT(line(pf, "{\"user\": {\"country\": \"D\\u0045\"}}"), 1);
	CHECK_INT(line(pf, "{'user': {'country': '\\x44E'}}"), 1);
	CHECK_INT(line(pf, "{'user': {'country': '\\U00000044\\U00000045'}}"), 1);
	/* an escape that decodes to a byte the literal lacks (\/ is '/') cannot
	 * be part of a string equal to it: passed over */
	CHECK_INT(line(pf, "{\"user\": {\"country\": \"\\/DE\"}}"), 0);
	CHECK_INT(line(pf, "{\"user\": {\"country\": \"\\u00e9\"}}"), 0);
	CHECK_INT(line(pf, "{\"user\": {\"country\": \"\\u0044x\"}}"), 1);
	CHECK_INT(line(pf, "{\"user\": {\"country\": \"\\uD83D\\uDE00\"}}"), 1);
	CHECK_INT(line(pf, "{'user': {'country': '\\q'}}"), 0);
	/* backslash-CR spells nothing: any text is possible */
	CHECK_INT(line(pf, "{'user': {'country': 'D\\\rE'}, 'm': 'a long text with no match'}"), 1);
	/* an escaped string too long to be "DE" (raw > 10 x 2 + 10): passed
	 * over */
	CHECK_INT(line(pf, "{\"user\": {\"country\": \"FR\"}, \"m\": \"he said \\\"rabatt\\\" and "
			   "left the shop\"}"),
		  0);
	CHECK_INT(line(pf, "{\"user\": {\"country\": \"FR\"}, \"m\": \"\\n\"}"), 0);
	/* an escaped quote around the literal: that string holds a '"' */
	CHECK_INT(line(pf, "{\"a\": \"x\\\"DE\\\"\"}"), 0);
	release(&b);

	/* startswith / endswith / contains */
	CHECK_INT(build(&b, "n startswith 'Zo' and m endswith 'ski' and t contains 'rab'"), 0);
	CHECK_INT(line(b.pf, "{\"n\": \"Zoe\", \"m\": \"Kowalski\", \"t\": \"xraby\"}"), 1);
	CHECK_INT(line(b.pf, "{\"n\": \"xZoe\", \"m\": \"Kowalski\", \"t\": \"xraby\"}"), 0);
	CHECK_INT(line(b.pf, "{\"n\": \"Zoe\", \"m\": \"Kowalskix\", \"t\": \"xraby\"}"), 0);
	CHECK_INT(line(b.pf, "{\"n\": \"Zoe\", \"m\": \"Kowalski\", \"t\": \"xray\"}"), 0);
	/* contains: any escaped string at least as long as the literal */
	CHECK_INT(line(b.pf, "{\"n\": \"Zoe\", \"m\": \"Kowalski\", \"t\": \"r\\u0061b\"}"), 1);
	CHECK_INT(line(b.pf, "{\"n\": \"Zoe\", \"m\": \"Kowalski\", \"t\": \"\\n\"}"), 0);
	release(&b);
}

/* The SIMD search finds the literal at every offset in and across 16-byte
 * blocks, right up to the end of the buffer, and stops at a backslash. */
static void search_offsets(int avx2)
{
	struct built b;
	CHECK_INT(build(&b, "k == 'needle'"), 0);
	prefilter_use_avx2(b.pf, avx2);
	char buf[128];
	for (size_t off = 1; off + 8 <= sizeof(buf); off++) {
		memset(buf, '.', sizeof(buf));
		buf[off - 1] = '"';
		memcpy(buf + off, "needle", 6);
		buf[off + 6] = '"';
		size_t end = off + 7;
		const char *hit = prefilter_next(b.pf, buf, buf, buf + end);
		if (hit != buf + off)
			fprintf(stderr, "offset %zu: %p\n", off, (const void *)hit);
		CHECK(hit == buf + off);
		/* without the closing quote inside the buffer: no hit */
		CHECK(prefilter_next(b.pf, buf, buf, buf + end - 1) == NULL);
		/* an escape that may spell a byte of the literal (\x6e: 'n') stops
		 * the search at its backslash; one that cannot (\", \t) does not */
		if (off > 5) {
			memcpy(buf + off - 5, "\\\"\\t", 4);
			CHECK(prefilter_next(b.pf, buf, buf, buf + end) == buf + off);
			memcpy(buf + off - 5, "\\x6e", 4);
			CHECK(prefilter_next(b.pf, buf, buf, buf + end) == buf + off - 5);
		}
	}
	/* the walk over lines: only the line with the literal */
	const char *text = "{\"k\": \"x\"}\n{\"k\": \"needle\"}\n{\"k\": \"needles\"}\n";
	const char *ls, *le, *end = text + strlen(text);
	CHECK_INT(prefilter_next_line(b.pf, text, text, end, &ls, &le), 1);
	CHECK(ls == text + 11 && le == text + 26);
	CHECK_INT(prefilter_next_line(b.pf, text, le + 1, end, &ls, &le), 0);
	release(&b);
}

static void test_search_offsets(void)
{
	search_offsets(1); /* AVX2 where the CPU has it, SSE2 for the tail */
	search_offsets(0); /* SSE2 only */
}

int main(void)
{
	T_RUN(test_clauses);
	T_RUN(test_lines);
	T_RUN(test_search_offsets);
	return T_DONE();
}
