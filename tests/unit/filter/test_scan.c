/*
 * test_scan.c: the record scanner and value helpers (filter/scan.h,
 * filter/value.h): JSON and Python-dict unit cases (every escape, nesting,
 * arrays/tuples, odd whitespace, duplicates, errors with offsets) and the whole
 * JSONTestSuite test_parsing directory under SCAN_JSON: every y_ file is
 * accepted by scan_validate (and by scan_record when its top level is an
 * object; otherwise scan_record rejects it as "not an object"), every n_ file
 * is rejected by both, every i_ file runs without crashing and the two entry
 * points agree on it. Each file is one T_CASE.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"
#include "t.h"
#include "value.h"

#define MAXP 16

/* Scans line with the given paths; returns scan_record's rc. */
struct scanned {
	struct scan_fields *f;
	size_t slot[MAXP];
	struct scan_val v[256];
	struct scan_result res;
	int rc;
};

static int do_scan(struct scanned *s, const char *line, size_t len, enum scan_format fmt,
		   const char *const *paths, size_t np)
{
	memset(s, 0, sizeof(*s));
	s->f = scan_fields_new();
	for (size_t i = 0; i < np; i++) {
		size_t epos;
		const char *emsg;
		if (scan_fields_add(s->f, paths[i], &s->slot[i], &epos, &emsg) != 0) {
			fprintf(stderr, "bad path %s: %s\n", paths[i], emsg);
			return -999;
		}
	}
	s->rc = scan_record(s->f, line, len, fmt, s->v, &s->res);
	return s->rc;
}

static void done(struct scanned *s)
{
	scan_fields_free(s->f);
}

static const struct scan_val *V(struct scanned *s, size_t i)
{
	return &s->v[s->slot[i]];
}

/* Unescaped text of a string slot, in a static buffer. */
static const char *str_of(const struct scan_val *v)
{
	static char buf[4096];
	size_t n = 0;
	if (v->type != SCAN_STRING || value_unescape(v, buf, sizeof(buf) - 1, &n) != 0)
		return "<not a string>";
	buf[n] = '\0';
	return buf;
}

static const char *json_of(const struct scan_val *v)
{
	static char buf[8192];
	size_t n = 0;
	if (value_write_json(v, buf, sizeof(buf) - 1, &n) != 0)
		return "<json failed>";
	buf[n] = '\0';
	return buf;
}

static const char *raw_of(const struct scan_val *v)
{
	static char buf[4096];
	size_t n = v->len < sizeof(buf) - 1 ? v->len : sizeof(buf) - 1;
	memcpy(buf, v->p, n);
	buf[n] = '\0';
	return buf;
}

/* ---- JSON ------------------------------------------------------------------ */

static void test_json_basic(void)
{
	struct scanned s;
	const char *line =
	    "{\"id\": \"evt_1\", \"seq\": 12, \"amount\": 9.49, \"ok\": true, "
	    "\"no\": false, \"z\": null, \"user\": {\"country\": \"DE\", "
	    "\"geo\": {\"lat\": -1.5e3}}, \"tags\": [\"a\", \"b\", [1, {\"x\": 2}]]}";
	const char *paths[] = {"id",	  "seq",      "amount",	      "ok",
			       "no",	  "z",	      "user.country", "user.geo.lat",
			       "tags[0]", "tags[1]",  "tags[2][1].x", "tags[3]",
			       "nope",	  "user.geo", "tags",	      "user.nope.deeper"};
	CHECK_INT(do_scan(&s, line, strlen(line), SCAN_JSON, paths, 16), 0);
	CHECK_INT(s.res.format, SCAN_JSON);
	CHECK_INT(V(&s, 0)->type, SCAN_STRING);
	CHECK_STR(str_of(V(&s, 0)), "evt_1");
	CHECK_INT(V(&s, 1)->type, SCAN_NUMBER);
	CHECK_STR(raw_of(V(&s, 1)), "12");
	CHECK(V(&s, 1)->flags & SCAN_F_INT);
	CHECK_STR(raw_of(V(&s, 2)), "9.49");
	CHECK(!(V(&s, 2)->flags & SCAN_F_INT));
	CHECK_INT(V(&s, 3)->type, SCAN_BOOL);
	CHECK(V(&s, 3)->flags & SCAN_F_TRUE);
	CHECK_INT(V(&s, 4)->type, SCAN_BOOL);
	CHECK(!(V(&s, 4)->flags & SCAN_F_TRUE));
	CHECK_INT(V(&s, 5)->type, SCAN_NULL);
	CHECK_STR(str_of(V(&s, 6)), "DE");
	CHECK_STR(raw_of(V(&s, 7)), "-1.5e3");
	CHECK_STR(str_of(V(&s, 8)), "a");
	CHECK_STR(str_of(V(&s, 9)), "b");
	CHECK_STR(raw_of(V(&s, 10)), "2");
	CHECK_INT(V(&s, 11)->type, SCAN_MISSING);
	CHECK_INT(V(&s, 12)->type, SCAN_MISSING);
	CHECK_INT(V(&s, 13)->type, SCAN_OBJECT);
	CHECK_STR(raw_of(V(&s, 13)), "{\"lat\": -1.5e3}");
	CHECK_INT(V(&s, 14)->type, SCAN_ARRAY);
	CHECK_STR(json_of(V(&s, 14)), "[\"a\",\"b\",[1,{\"x\":2}]]");
	CHECK_INT(V(&s, 15)->type, SCAN_MISSING);
	/* slot 0 is the whole record */
	CHECK_INT(s.v[0].type, SCAN_OBJECT);
	CHECK_INT(s.v[0].len, strlen(line));
	done(&s);
}

static void test_json_escapes(void)
{
	struct scanned s;
	/* every JSON escape, a surrogate pair, a lone surrogate, raw UTF-8 */
	const char *line =
	    "{\"a\":\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t u\\u00e9\\u20AC\","
	    "\"e\":\"\\ud83d\\ude00\",\"lone\":\"x\\ud800y\",\"raw\":\"größe 🙂\","
	    "\"k\\u0065y\":1,\"nul\":\"a\\u0000b\"}";
	const char *paths[] = {"a", "e", "lone", "raw", "key", "nul"};
	CHECK_INT(do_scan(&s, line, strlen(line), SCAN_JSON, paths, 6), 0);
	CHECK_STR(str_of(V(&s, 0)), "q\" b\\ s/ \b\f\n\r\t u\xc3\xa9\xe2\x82\xac");
	CHECK(V(&s, 0)->flags & SCAN_F_ESC);
	CHECK_STR(str_of(V(&s, 1)), "\xf0\x9f\x98\x80");
	CHECK_STR(str_of(V(&s, 2)), "x\xef\xbf\xbdy");
	CHECK_STR(str_of(V(&s, 3)), "größe 🙂");
	CHECK(!(V(&s, 3)->flags & SCAN_F_ESC));
	CHECK_INT(V(&s, 4)->type, SCAN_NUMBER); /* escaped key matched unescaped */
	char buf[16];
	size_t n = 0;
	CHECK_INT(value_unescape(V(&s, 5), buf, sizeof(buf), &n), 0);
	CHECK_INT(n, 3);
	CHECK(memcmp(buf, "a\0b", 3) == 0);
	CHECK(value_str_eq(V(&s, 5), "a\0b", 3));
	CHECK(!value_str_eq(V(&s, 5), "a", 1));
	/* too small a buffer */
	CHECK_INT(value_unescape(V(&s, 0), buf, 4, &n), -ENOSPC);
	/* JSON output keeps JSON escapes as written */
	CHECK_STR(json_of(V(&s, 1)), "\"\\ud83d\\ude00\"");
	done(&s);
}

static void test_json_whitespace_and_dups(void)
{
	struct scanned s;
	const char *line = " \t{ \"a\" :\r\n{\"b\" : 1 , \"c\":2} ,\"a\" : {\"c\": 3}, \"d\":[ ] ,"
			   "\"e\" : { } }\r";
	const char *paths[] = {"a.b", "a.c", "d", "e", "a"};
	CHECK_INT(do_scan(&s, line, strlen(line), SCAN_JSON, paths, 5), 0);
	/* last "a" wins, and its missing "b" is missing (not left from the first) */
	CHECK_INT(V(&s, 0)->type, SCAN_MISSING);
	CHECK_STR(raw_of(V(&s, 1)), "3");
	CHECK_INT(V(&s, 2)->type, SCAN_ARRAY);
	CHECK_STR(json_of(V(&s, 2)), "[]");
	CHECK_STR(json_of(V(&s, 3)), "{}");
	CHECK_STR(json_of(V(&s, 4)), "{\"c\":3}");
	done(&s);
}

static void test_json_errors(void)
{
	struct {
		const char *line;
		size_t off;
		const char *reason_part;
	} cases[] = {
	    {"{\"a\":1,}", 7, "key"},
	    {"{\"a\" 1}", 5, "':'"},
	    {"{\"a\":01}", 6, "','"},
	    {"{\"a\":\"x\ty\"}", 7, "control"},
	    {"{\"a\":\"\\x41\"}", 6, "escape"},
	    {"{\"a\":[1,2}", 9, "']'"},
	    {"{\"a\":tru}", 5, "value"},
	    {"{\"a\":1} x", 8, "after"},
	    {"{'a':1}", 1, "key"},
	    {"{\"a\":\"open", 5, "unterminated"},
	    {"", 0, "empty"},
	    {"[1,2]", 0, "not an object"},
	    {"{\"a\":-}", 5, "number"},
	    {"{\"a\":1.}", 7, "digit"},
	    {"{\"a\":NaN}", 5, "value"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct scanned s;
		int rc = do_scan(&s, cases[i].line, strlen(cases[i].line), SCAN_JSON, NULL, 0);
		int ok = rc == -EINVAL && s.res.err_off == cases[i].off && s.res.err_reason &&
			 strstr(s.res.err_reason, cases[i].reason_part);
		if (!ok)
			fprintf(stderr, "case %zu [%s]: rc %d off %zu reason %s\n", i,
				cases[i].line, rc, s.res.err_off,
				s.res.err_reason ? s.res.err_reason : "(null)");
		CHECK(ok);
		done(&s);
	}
	struct scanned s;
	do_scan(&s, "[1]", 3, SCAN_JSON, NULL, 0);
	CHECK_INT(s.res.not_object, 1);
	done(&s);
}

/*
 * The SSE2 fast paths (a 16-byte digit mask for numbers, a 16-byte stop mask
 * for strings) run only with 16 readable bytes after the token start, else
 * the byte loops run. Each token is scanned with 0..24 trailing spaces so both
 * paths and every stop position around the 16-byte window are taken; the
 * outcome (rc, error offset and reason, slice, flags) must not depend on it.
 */
static void scan_padded(const char *tok, enum scan_format fmt, size_t pad, struct scanned *s,
			char *line, size_t cap)
{
	const char *path[] = {"a"};
	const char *pre = fmt == SCAN_PYDICT ? "{'a':" : "{\"a\":";
	size_t n = (size_t)snprintf(line, cap, "%s%s%*s}", pre, tok, (int)pad, "");
	do_scan(s, line, n, fmt, path, 1);
}

static void test_fast_paths_pad(void)
{
	static const char *const nums[] = {
	    "0",
	    "-0",
	    "7",
	    "-7",
	    "10",
	    "123456789012345",
	    "1234567890123456",
	    "12345678901234567",
	    "-123456789012345",
	    "0.5",
	    "-0.5",
	    "1.25",
	    "123456.7890123",
	    "1234567.89012345",
	    "12345678.9012345678",
	    "1.5e3",
	    "1.5E-3",
	    "1e5",
	    "-1E+5",
	    "0e0",
	    "01",
	    "-01",
	    "00",
	    "1.",
	    "1.e5",
	    "-",
	    "-x",
	    ".5",
	    "1.5x",
	    "1x",
	    "2true",
	    "1.5.5",
	    "-inf",
	    "inf",
	    "nan",
	    "1e",
	    "1e+",
	    "0.000000000000001",
	    "\"\"",
	    "\"abc\"",
	    "\"0123456789abcde\"",
	    "\"0123456789abcdef\"",
	    "\"0123456789abcdefg\"",
	    "\"0123456789abcde\\\"\"",
	    "\"0123456789abcdef\\n\"",
	    "\"0123456789abcd\\u00e9x\"",
	    "\"\\\\\"",
	    "\"abc\\\"",
	    "\"a\x01b\"",
	    "\"0123456789abcdef0123456789abcd\\\"x\"",
	    "'it''s'",
	    "'0123456789abcde\\''",
	    "\"0123456789abcd'e\"",
	    "'0123456789abcde\"f'",
	    /* the Python vector loop's false stops ('#' '&' and 0x08..0x0f) */
	    "'a#b&c#d&e#f&g#h&i#j'",
	    "'0123456789abcd#&'",
	    "'01234\t56789\x0b\x0c\x08"
	    "abc'",
	    "'0123456789abcdef\x0e\x0f'",
	    "'0123456789abc\ndef'",
	    "'0123456789abcdef\r'",
	    "'0123456789abcdefghij\n'",
	    "\"#&\\\"'#\"",
	};
	char l0[256], l1[256];
	for (size_t f = 0; f < 2; f++) {
		enum scan_format fmt = f ? SCAN_PYDICT : SCAN_JSON;
		for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
			struct scanned a;
			scan_padded(nums[i], fmt, 0, &a, l0, sizeof(l0));
			for (size_t pad = 1; pad <= 24; pad++) {
				struct scanned b;
				scan_padded(nums[i], fmt, pad, &b, l1, sizeof(l1));
				const struct scan_val *va = V(&a, 0), *vb = V(&b, 0);
				int same =
				    a.rc == b.rc && a.res.err_off == b.res.err_off &&
				    (a.rc ? strcmp(a.res.err_reason, b.res.err_reason) == 0
					  : va->type == vb->type && va->len == vb->len &&
						va->flags == vb->flags && va->p - l0 == vb->p - l1);
				if (!same)
					fprintf(stderr,
						"fmt %zu token [%s] pad %zu: rc %d/%d off "
						"%zu/%zu len %u/%u flags %x/%x\n",
						f, nums[i], pad, a.rc, b.rc, a.res.err_off,
						b.res.err_off, va->len, vb->len, va->flags,
						vb->flags);
				CHECK(same);
				done(&b);
			}
			done(&a);
		}
	}
	/* and the expected outcome of a few, so "same" is not "same and wrong" */
	struct scanned s;
	char line[256];
	scan_padded("1234567.89012345", SCAN_JSON, 20, &s, line, sizeof(line));
	CHECK_INT(s.rc, 0);
	CHECK(V(&s, 0)->type == SCAN_NUMBER && !(V(&s, 0)->flags & SCAN_F_INT));
	CHECK_STR(raw_of(V(&s, 0)), "1234567.89012345");
	done(&s);
	scan_padded("-123456789012345", SCAN_JSON, 20, &s, line, sizeof(line));
	CHECK_INT(s.rc, 0);
	CHECK(V(&s, 0)->flags & SCAN_F_INT);
	CHECK_STR(raw_of(V(&s, 0)), "-123456789012345");
	done(&s);
	scan_padded("01", SCAN_JSON, 20, &s, line, sizeof(line));
	CHECK_INT(s.rc, -EINVAL);
	CHECK_INT((long)s.res.err_off, 6);
	done(&s);
	scan_padded("\"0123456789abcde\\\"\"", SCAN_JSON, 20, &s, line, sizeof(line));
	CHECK_INT(s.rc, 0);
	CHECK_STR(str_of(V(&s, 0)), "0123456789abcde\"");
	done(&s);
	scan_padded("'a#b&c#d&e#f&g#h&i#j\t'", SCAN_PYDICT, 20, &s, line, sizeof(line));
	CHECK_INT(s.rc, 0);
	CHECK_STR(str_of(V(&s, 0)), "a#b&c#d&e#f&g#h&i#j\t");
	done(&s);
	scan_padded("'0123456789abc\ndef'", SCAN_PYDICT, 20, &s, line, sizeof(line));
	CHECK_INT(s.rc, -EINVAL);
	CHECK_INT((long)s.res.err_off, 19);
	done(&s);
	for (size_t pad = 0; pad <= 20; pad += 20) {
		scan_padded("'0123456789abcdef\r'", SCAN_PYDICT, pad, &s, line, sizeof(line));
		CHECK_INT(s.rc, -EINVAL);
		CHECK_INT((long)s.res.err_off, 22);
		done(&s);
	}
}

/* The ": " / ", " shortcut (sep_sp) against other layouts of the same record,
 * in matched and skipped containers, and its errors at the end of the line. */
static void test_separator_layouts(void)
{
	static const char *const lines[] = {
	    "{\"a\": 1, \"b\": [1, 2], \"c\": {\"d\": \"x\", \"e\": {\"f\": 2, \"g\": 3}}, \"z\": "
	    "9}",
	    "{\"a\":1,\"b\":[1,2],\"c\":{\"d\":\"x\",\"e\":{\"f\":2,\"g\":3}},\"z\":9}",
	    "{\"a\" : 1 , \"b\" : [1 , 2] , \"c\" : {\"d\" : \"x\" , \"e\" : {\"f\" : 2 , \"g\" : "
	    "3}} , \"z\" : 9}",
	    "{\"a\":  1,  \"b\":\t[1,\t2],\r\"c\": \n{\"d\": \"x\",  \"e\": {\"f\": 2,  \"g\": "
	    "3}}, \"z\": 9 }",
	};
	const char *paths[] = {"a", "b[1]", "c.d", "z"};
	for (size_t f = 0; f < 2; f++) {
		enum scan_format fmt = f ? SCAN_PYDICT : SCAN_JSON;
		for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
			struct scanned s;
			CHECK_INT(do_scan(&s, lines[i], strlen(lines[i]), fmt, paths, 4), 0);
			CHECK_STR(raw_of(V(&s, 0)), "1");
			CHECK_STR(raw_of(V(&s, 1)), "2");
			CHECK_STR(str_of(V(&s, 2)), "x");
			CHECK_STR(raw_of(V(&s, 3)), "9");
			done(&s);
		}
	}
	struct {
		const char *line;
		size_t off;
		const char *reason_part;
	} bad[] = {
	    {"{\"a\": }", 6, "value"},	       {"{\"a\": 1, }", 9, "key"},
	    {"{\"a\": 1, ", 9, "key"},	       {"{\"a\": 1,", 8, "key"},
	    {"{\"a\": [1, ]}", 10, "value"},   {"{\"a\": {\"b\": 1, }}", 15, "key"},
	    {"{\"a\": {\"b\": ", 12, "value"}, {"{\"a\": [1, ", 10, "value"},
	    {"{\"a\": 1 ,", 9, "key"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct scanned s;
		const char *path[] = {"a"};
		int rc = do_scan(&s, bad[i].line, strlen(bad[i].line), SCAN_JSON, path, 1);
		int ok = rc == -EINVAL && s.res.err_off == bad[i].off && s.res.err_reason &&
			 strstr(s.res.err_reason, bad[i].reason_part);
		if (!ok)
			fprintf(stderr, "case %zu [%s]: rc %d off %zu reason %s\n", i, bad[i].line,
				rc, s.res.err_off, s.res.err_reason ? s.res.err_reason : "(null)");
		CHECK(ok);
		done(&s);
	}
}

static void test_depth_limit(void)
{
	static char line[4 * SCAN_MAX_DEPTH + 64];
	size_t n = 0;
	/* Exactly SCAN_MAX_DEPTH containers deep is fine, one more is not. */
	for (int extra = 0; extra < 2; extra++) {
		n = 0;
		int depth = SCAN_MAX_DEPTH + extra;
		line[n++] = '{';
		memcpy(line + n, "\"a\":", 4);
		n += 4;
		for (int i = 1; i < depth; i++)
			line[n++] = '[';
		for (int i = 1; i < depth; i++)
			line[n++] = ']';
		line[n++] = '}';
		struct scanned s;
		const char *paths[] = {"a"};
		int rc = do_scan(&s, line, n, SCAN_JSON, paths, 1);
		CHECK_INT(rc, extra ? -EINVAL : 0);
		if (extra)
			CHECK(strstr(s.res.err_reason, "deep") != NULL);
		done(&s);
		/* the same through the index path (match_array recursion) */
		const char *paths2[] = {"a[0][0][0][0]"};
		rc = do_scan(&s, line, n, SCAN_JSON, paths2, 1);
		CHECK_INT(rc, extra ? -EINVAL : 0);
		done(&s);
	}
}

static void test_paths(void)
{
	struct scan_fields *f = scan_fields_new();
	size_t a, b, c, d, e, used, epos;
	const char *emsg;
	CHECK_INT(scan_fields_add(f, "user.country", &a, &epos, &emsg), 0);
	CHECK_INT(scan_fields_add(f, "user['country']", &b, &epos, &emsg), 0);
	CHECK_INT(a, b);
	CHECK_INT(scan_fields_add(f, "[\"odd key\"].x[3]", &c, &epos, &emsg), 0);
	CHECK_INT(scan_fields_add(f, "a['it\\'s'][\"q\\\"\"]", &d, &epos, &emsg), 0);
	CHECK_INT(scan_fields_add_prefix(f, "größe == 3", 11, &used, &e, &epos, &emsg), 0);
	CHECK_INT(used, strlen("größe"));
	CHECK_INT(scan_fields_add(f, "a..b", &e, &epos, &emsg), -EINVAL);
	CHECK_INT(epos, 2);
	CHECK_INT(scan_fields_add(f, "a[x]", &e, &epos, &emsg), -EINVAL);
	CHECK_INT(epos, 2);
	CHECK_INT(scan_fields_add(f, "a[1", &e, &epos, &emsg), -EINVAL);
	CHECK_INT(epos, 3);
	CHECK_INT(scan_fields_add(f, "a['x]", &e, &epos, &emsg), -EINVAL);
	CHECK_INT(scan_fields_add(f, "", &e, &epos, &emsg), -EINVAL);
	CHECK_INT(scan_fields_add(f, "a b", &e, &epos, &emsg), -EINVAL);
	CHECK_INT(epos, 1);
	size_t cols[8], ncols;
	CHECK_INT(scan_fields_add_list(f, "id, ts ,user.id,['a,b']", cols, 8, &ncols, &epos, &emsg),
		  0);
	CHECK_INT(ncols, 4);
	CHECK_INT(scan_fields_add_list(f, "id,,ts", cols, 8, &ncols, &epos, &emsg), -EINVAL);
	CHECK_INT(epos, 3);
	CHECK_INT(scan_fields_add_list(f, "a,b,c", cols, 2, &ncols, &epos, &emsg), -E2BIG);

	const char *line =
	    "{\"odd key\": {\"x\": [0,1,2,\"three\"]}, \"a\": {\"it's\": {\"q\\\"\": 7}},"
	    " \"größe\": 3, \"a,b\": 5, \"user\": {\"country\": \"AT\"}}";
	struct scan_val v[64];
	struct scan_result res;
	CHECK(scan_fields_nslots(f) <= 64);
	CHECK_INT(scan_record(f, line, strlen(line), SCAN_AUTO, v, &res), 0);
	CHECK_STR(str_of(&v[a]), "AT");
	CHECK_STR(str_of(&v[c]), "three");
	CHECK_STR(raw_of(&v[d]), "7");
	CHECK_STR(raw_of(&v[cols[3]]), "5");
	scan_fields_free(f);
}

/* ---- Python dicts ------------------------------------------------------------- */

static void test_py_basic(void)
{
	struct scanned s;
	const char *line =
	    "{'id': 'evt_1', 'n': -12, 'x': 1.5e-05, 't': True, 'f': False, "
	    "'z': None, \"name\": \"O'Brien\", 'tup': (1, 'a', (2,)), 'l': [1, 2, ], "
	    "'d': {'k': 'v', }, 'inf': inf, 'ninf': -inf, 'nan': nan, 1: 'one', "
	    "'u': u'uni', 'b': b'by\\x00', 'e': ()}";
	const char *paths[] = {"id",   "n",   "x",   "t",    "f",   "z", "name", "tup[2][0]",
			       "l[1]", "d.k", "inf", "ninf", "nan", "1", "u",	 "b"};
	CHECK_INT(do_scan(&s, line, strlen(line), SCAN_PYDICT, paths, 16), 0);
	CHECK_STR(str_of(V(&s, 0)), "evt_1");
	CHECK(V(&s, 0)->flags & SCAN_F_PY);
	CHECK_STR(raw_of(V(&s, 1)), "-12");
	CHECK_STR(raw_of(V(&s, 2)), "1.5e-05");
	CHECK(V(&s, 3)->type == SCAN_BOOL && (V(&s, 3)->flags & SCAN_F_TRUE));
	CHECK(V(&s, 4)->type == SCAN_BOOL && !(V(&s, 4)->flags & SCAN_F_TRUE));
	CHECK_INT(V(&s, 5)->type, SCAN_NULL);
	CHECK_STR(str_of(V(&s, 6)), "O'Brien");
	CHECK_STR(raw_of(V(&s, 7)), "2");
	CHECK_STR(raw_of(V(&s, 8)), "2");
	CHECK_STR(str_of(V(&s, 9)), "v");
	struct value_num num;
	CHECK_INT(value_number(V(&s, 10), &num), 0);
	CHECK(isinf(num.d) && num.d > 0);
	CHECK_INT(value_number(V(&s, 11), &num), 0);
	CHECK(isinf(num.d) && num.d < 0);
	CHECK_INT(value_number(V(&s, 12), &num), 0);
	CHECK(isnan(num.d));
	CHECK_STR(str_of(V(&s, 13)), "one");
	CHECK_STR(str_of(V(&s, 14)), "uni");
	CHECK(V(&s, 15)->flags & SCAN_F_BYTES);
	char buf[8];
	size_t n;
	CHECK_INT(value_unescape(V(&s, 15), buf, sizeof(buf), &n), 0);
	CHECK_INT(n, 3);
	CHECK(memcmp(buf, "by\0", 3) == 0);
	/* the whole record as JSON: Python literals converted */
	CHECK_STR(json_of(&s.v[0]),
		  "{\"id\":\"evt_1\",\"n\":-12,\"x\":1.5e-05,\"t\":true,\"f\":false,\"z\":null,"
		  "\"name\":\"O'Brien\",\"tup\":[1,\"a\",[2]],\"l\":[1,2],\"d\":{\"k\":\"v\"},"
		  "\"inf\":null,\"ninf\":null,\"nan\":null,\"1\":\"one\",\"u\":\"uni\","
		  "\"b\":\"by\\u0000\",\"e\":[]}");
	done(&s);
}

static void test_py_escapes(void)
{
	struct scanned s;
	const char *line = "{'a': 'q\\' d\\\" b\\\\ \\a\\b\\f\\n\\r\\t\\v', 'x': '\\xe9\\x41', "
			   "'u': '\\u20ac\\U0001F600', 'o': '\\0\\101\\7x\\777', 'unk': '\\q\\d', "
			   "'cont': 'a\\\nb', 'sur': '\\ud800', 'bx': b'\\xe9\\101\\u20ac', "
			   "\"dq\": \"it's \\\"x\\\"\", 'raw': 'größe\t🙂'}";
	const char *paths[] = {"a", "x", "u", "o", "unk", "cont", "sur", "bx", "dq", "raw"};
	CHECK_INT(do_scan(&s, line, strlen(line), SCAN_PYDICT, paths, 10), 0);
	CHECK_STR(str_of(V(&s, 0)), "q' d\" b\\ \a\b\f\n\r\t\v");
	CHECK_STR(str_of(V(&s, 1)), "\xc3\xa9"
				    "A");
	CHECK_STR(str_of(V(&s, 2)), "\xe2\x82\xac\xf0\x9f\x98\x80");
	char buf[64];
	size_t n;
	CHECK_INT(value_unescape(V(&s, 3), buf, sizeof(buf), &n), 0);
	/* \0 -> U+0000, \101 -> 'A', \7 -> BEL, x, \777 -> U+01FF */
	CHECK_INT(n, 6);
	CHECK(memcmp(buf, "\0A\ax\xc7\xbf", 6) == 0);
	CHECK_STR(str_of(V(&s, 4)), "\\q\\d");
	CHECK_STR(str_of(V(&s, 5)), "ab");
	CHECK_STR(str_of(V(&s, 6)), "\xef\xbf\xbd");
	CHECK_INT(value_unescape(V(&s, 7), buf, sizeof(buf), &n), 0);
	CHECK_INT(n, 8);
	CHECK(memcmp(buf,
		     "\xe9"
		     "A\\u20ac",
		     8) == 0);
	CHECK_STR(str_of(V(&s, 8)), "it's \"x\"");
	done(&s);
	/* bytes: \u and \U are not escapes, so no hex digits follow them */
	const char *bl = "{'b': b'\\U', 'c': b'\\u12'}";
	const char *bp[] = {"b", "c"};
	CHECK_INT(do_scan(&s, bl, strlen(bl), SCAN_PYDICT, bp, 2), 0);
	CHECK_STR(str_of(V(&s, 0)), "\\U");
	CHECK_STR(str_of(V(&s, 1)), "\\u12");
	done(&s);
	CHECK_INT(do_scan(&s, line, strlen(line), SCAN_PYDICT, paths, 10), 0);
	CHECK_STR(str_of(V(&s, 9)), "größe\t🙂");
	CHECK_STR(json_of(V(&s, 0)), "\"q' d\\\" b\\\\ \\u0007\\b\\f\\n\\r\\t\\u000b\"");
	CHECK_STR(json_of(V(&s, 9)), "\"größe\\t🙂\"");
	CHECK_STR(json_of(V(&s, 3)), "\"\\u0000A\\u0007x\xc7\xbf\"");
	done(&s);
}

static void test_py_errors(void)
{
	const char *bad[] = {
	    "{'a': '\\N{DASH}'}",   /* unsupported */
	    "{'a': 'x\ny'}",	    /* raw newline */
	    "{'a': {1, 2}}",	    /* set */
	    "{'a': r'x'}",	    /* raw string */
	    "{'a': 'x' 'y'}",	    /* implicit concatenation */
	    "{'a': 1j}",	    /* complex */
	    "{'a': 01}",	    /* leading zero */
	    "{'a': true}",	    /* JSON literal in Python */
	    "{'a': '\\x4'}",	    /* short \x */
	    "{'a': '\\U00110000'}", /* beyond U+10FFFF */
	    "{'a': [1,,2]}",	    /* empty element */
	    "{,}",		    /* lone comma */
	    "{'a': (,)}",
	    "{'a': 1,,}",
	    "{'a': 'x'",
	    "{[1]: 2}", /* unhashable key */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct scanned s;
		int rc = do_scan(&s, bad[i], strlen(bad[i]), SCAN_PYDICT, NULL, 0);
		if (rc != -EINVAL)
			fprintf(stderr, "accepted bad pydict %zu: %s\n", i, bad[i]);
		CHECK_INT(rc, -EINVAL);
		done(&s);
	}
	struct scanned s;
	do_scan(&s, "{'a': '\\N{DASH}'}", 17, SCAN_PYDICT, NULL, 0);
	CHECK(strstr(s.res.err_reason, "\\N") != NULL);
	CHECK_INT(s.res.err_off, 7);
	done(&s);
}

/*
 * Python refuses a NUL byte anywhere in a string literal, raw or after a
 * backslash (issue 14); other raw control bytes are legal there and stay
 * accepted. Both the scalar loop (short strings) and the 16-byte loop (a NUL
 * past the first 16 bytes) are covered, in both quote kinds.
 */
static void test_py_nul(void)
{
	static const char *const bodies[] = {"a\0a", "\\\0", "0123456789abcdefghij\0x",
					     "0123456789abcdefghij\\\0x"};
	static const size_t blen[] = {3, 2, 23, 24};
	const char *paths[] = {"a"};
	for (size_t q = 0; q < 2; q++) {
		char quote = q ? '"' : '\'';
		for (size_t i = 0; i < 4; i++) {
			char line[64];
			size_t n = 0;
			memcpy(line, "{'a': ", 6);
			n = 6;
			line[n++] = quote;
			memcpy(line + n, bodies[i], blen[i]);
			n += blen[i];
			line[n++] = quote;
			line[n++] = '}';
			struct scanned s;
			CHECK_INT(do_scan(&s, line, n, SCAN_PYDICT, paths, 1), -EINVAL);
			CHECK(s.res.err_reason && strstr(s.res.err_reason, "NUL") != NULL);
			done(&s);
			CHECK_INT(do_scan(&s, line, n, SCAN_AUTO, paths, 1), -EINVAL);
			done(&s);
		}
	}
	/* other raw controls (0x01..0x1f but \n \r) are legal Python */
	for (int c = 1; c < 0x20; c++) {
		if (c == '\n' || c == '\r')
			continue;
		char line[64];
		int n = snprintf(line, sizeof(line), "{'a': 'x%cy', 'b': '0123456789abcdef%cgh'}",
				 c, c);
		struct scanned s;
		const char *pb[] = {"a", "b"};
		CHECK_INT(do_scan(&s, line, (size_t)n, SCAN_AUTO, pb, 2), 0);
		CHECK_INT(s.res.format, SCAN_PYDICT);
		CHECK_INT(V(&s, 0)->len, 3);
		done(&s);
	}
	/* JSONTestSuite n_string_unescaped_ctrl_char and n_string_backslash_00,
	 * wrapped as a field value: bad records in AUTO mode (they were read as
	 * Python dicts before) */
	static const char *const files[] = {"n_string_unescaped_ctrl_char.json",
					    "n_string_backslash_00.json"};
	for (size_t i = 0; i < 2; i++) {
		char path[1024], line[256];
		snprintf(path, sizeof(path), "%s/testdata/json/test_parsing/%s", S3M_SHARED_DIR,
			 files[i]);
		FILE *f = fopen(path, "rb");
		CHECK(f != NULL);
		if (!f)
			continue;
		memcpy(line, "{\"a\": ", 6);
		size_t n = 6 + fread(line + 6, 1, sizeof(line) - 8, f);
		fclose(f);
		while (n > 6 && (line[n - 1] == '\n' || line[n - 1] == ' '))
			n--;
		line[n++] = '}';
		CHECK(memchr(line, '\0', n) != NULL);
		struct scanned s;
		CHECK_INT(do_scan(&s, line, n, SCAN_AUTO, paths, 1), -EINVAL);
		done(&s);
		/* and with the Python quote */
		for (size_t k = 0; k < n; k++)
			if (line[k] == '"')
				line[k] = '\'';
		CHECK_INT(do_scan(&s, line, n, SCAN_AUTO, paths, 1), -EINVAL);
		done(&s);
	}
}

static void test_auto(void)
{
	struct scanned s;
	const char *paths[] = {"a"};
	CHECK_INT(do_scan(&s, "{\"a\": 1}", 8, SCAN_AUTO, paths, 1), 0);
	CHECK_INT(s.res.format, SCAN_JSON);
	done(&s);
	CHECK_INT(do_scan(&s, "{'a': 1}", 8, SCAN_AUTO, paths, 1), 0);
	CHECK_INT(s.res.format, SCAN_PYDICT);
	CHECK_STR(raw_of(V(&s, 0)), "1");
	done(&s);
	/* starts like JSON (first key holds a '), turns Python later */
	const char *l = "{\"it's\": 1, 'a': None}";
	CHECK_INT(do_scan(&s, l, strlen(l), SCAN_AUTO, paths, 1), 0);
	CHECK_INT(s.res.format, SCAN_PYDICT);
	CHECK_INT(V(&s, 0)->type, SCAN_NULL);
	done(&s);
	/* forced JSON rejects the Python line; forced Python rejects true */
	CHECK_INT(do_scan(&s, "{'a': 1}", 8, SCAN_JSON, paths, 1), -EINVAL);
	done(&s);
	CHECK_INT(do_scan(&s, "{\"a\": true}", 11, SCAN_PYDICT, paths, 1), -EINVAL);
	done(&s);
	/* both fail: the error that got further is reported */
	l = "{\"a\": 1, \"b\": [1, 2}";
	CHECK_INT(do_scan(&s, l, strlen(l), SCAN_AUTO, paths, 1), -EINVAL);
	CHECK_INT(s.res.err_off, strlen(l) - 1);
	done(&s);
}

static void test_numbers_and_cmp(void)
{
	struct value_num n;
	CHECK_INT(value_parse_number("9223372036854775807", 19, &n), 0);
	CHECK(n.is_int && n.i == INT64_MAX);
	CHECK_INT(value_parse_number("-9223372036854775808", 20, &n), 0);
	CHECK(n.is_int && n.i == INT64_MIN);
	CHECK_INT(value_parse_number("9223372036854775808", 19, &n), 0);
	CHECK(!n.is_int && n.d == 9223372036854775808.0);
	CHECK_INT(value_parse_number("9.49", 4, &n), 0);
	CHECK(!n.is_int && n.d == 9.49);
	CHECK_INT(value_parse_number("0.1", 3, &n), 0);
	CHECK(n.d == 0.1);
	CHECK_INT(value_parse_number("1e400", 5, &n), 0);
	CHECK(isinf(n.d));
	CHECK_INT(value_parse_number("123456789012345678901234567890e-10", 34, &n), 0);
	CHECK(fabs(n.d - 12345678901234567890.1234567890) < 1e4);
	CHECK_INT(value_parse_number("-0", 2, &n), 0);
	CHECK(n.is_int && n.i == 0);
	CHECK_INT(value_parse_number("1.", 2, &n), -EINVAL);
	CHECK_INT(value_parse_number("01", 2, &n), -EINVAL);
	CHECK_INT(value_parse_number("1e", 2, &n), -EINVAL);
	CHECK_INT(value_parse_number("x", 1, &n), -EINVAL);
	CHECK_INT(value_parse_number("", 0, &n), -EINVAL);
	/* 17 significant digits round correctly (strtod path) */
	CHECK_INT(value_parse_number("0.30000000000000004", 19, &n), 0);
	CHECK(n.d == 0.30000000000000004);

	struct scanned s;
	const char *line =
	    "{\"a\": 5, \"b\": 5.0, \"c\": \"x\\u00e9\", \"d\": \"xé\", \"e\": true, "
	    "\"f\": null, \"g\": [1], \"h\": \"y\"}";
	const char *paths[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
	CHECK_INT(do_scan(&s, line, strlen(line), SCAN_JSON, paths, 8), 0);
	char scratch[64];
	int r;
	CHECK_INT(value_cmp(V(&s, 0), V(&s, 1), scratch, sizeof(scratch), &r), 0);
	CHECK_INT(r, 0);
	CHECK_INT(value_cmp(V(&s, 2), V(&s, 3), scratch, sizeof(scratch), &r), 0);
	CHECK_INT(r, 0);
	CHECK_INT(value_cmp(V(&s, 2), V(&s, 7), scratch, sizeof(scratch), &r), 0);
	CHECK_INT(r, -1);
	CHECK_INT(value_cmp(V(&s, 0), V(&s, 2), scratch, sizeof(scratch), &r), 0);
	CHECK_INT(r, VALUE_CMP_NONE);
	CHECK_INT(value_cmp(V(&s, 6), V(&s, 6), scratch, sizeof(scratch), &r), 0);
	CHECK_INT(r, VALUE_CMP_NONE);
	CHECK_INT(value_cmp(V(&s, 5), V(&s, 5), scratch, sizeof(scratch), &r), 0);
	CHECK_INT(r, 0);
	done(&s);
	/* True == true, None == null across formats */
	struct scanned p;
	const char *pl = "{'e': True, 'f': None}";
	const char *pp[] = {"e", "f"};
	CHECK_INT(do_scan(&p, pl, strlen(pl), SCAN_PYDICT, pp, 2), 0);
	CHECK_INT(do_scan(&s, line, strlen(line), SCAN_JSON, paths, 8), 0);
	CHECK_INT(value_cmp(V(&p, 0), V(&s, 4), scratch, sizeof(scratch), &r), 0);
	CHECK_INT(r, 0);
	CHECK_INT(value_cmp(V(&p, 1), V(&s, 5), scratch, sizeof(scratch), &r), 0);
	CHECK_INT(r, 0);
	done(&p);
	done(&s);
}

static void test_json_escape_fn(void)
{
	char out[64];
	long n = value_json_escape("a\"b\\c\n\x01\x7f é", 11, out, sizeof(out));
	CHECK(n > 0);
	out[n] = '\0';
	CHECK_STR(out, "a\\\"b\\\\c\\n\\u0001\x7f é");
	CHECK_INT(value_json_escape("\x01\x01", 2, out, 11), -ENOSPC);
	CHECK_INT(value_json_escape("\x01\x01", 2, out, 12), 12);
}

/* ---- JSONTestSuite ----------------------------------------------------------- */

static int read_file(const char *path, char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -errno;
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap);
	for (;;) {
		if (n == cap) {
			cap *= 2;
			b = realloc(b, cap);
		}
		size_t r = fread(b + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	*data = b;
	*len = n;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_jsontestsuite(void)
{
	const char *dir = S3M_SHARED_DIR "/testdata/json/test_parsing";
	DIR *d = opendir(dir);
	CHECK(d != NULL);
	if (!d)
		return;
	char *names[1024];
	size_t nn = 0;
	struct dirent *e;
	while ((e = readdir(d)) && nn < 1024)
		if (e->d_name[0] != '.')
			names[nn++] = strdup(e->d_name);
	closedir(d);
	qsort(names, nn, sizeof(names[0]), cmp_names);
	int ny = 0, nnn = 0, ni = 0, nobj = 0;
	struct scan_fields *f = scan_fields_new();
	size_t slot, epos;
	const char *emsg;
	scan_fields_add(f, "a", &slot, &epos, &emsg);
	struct scan_val v[8];
	for (size_t i = 0; i < nn; i++) {
		char path[2048];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		char *data = NULL;
		size_t len = 0;
		if (read_file(path, &data, &len)) {
			T_CASE(names[i], 0);
			continue;
		}
		struct scan_result r1, r2;
		int rv = scan_validate(data, len, SCAN_JSON, &r1);
		int rr = scan_record(f, data, len, SCAN_JSON, v, &r2);
		size_t k = 0;
		while (k < len &&
		       (data[k] == ' ' || data[k] == '\t' || data[k] == '\n' || data[k] == '\r'))
			k++;
		int is_obj = k < len && data[k] == '{';
		int ok;
		if (names[i][0] == 'y') {
			ny++;
			nobj += is_obj;
			ok = rv == 0 && (is_obj ? rr == 0 : (rr == -EINVAL && r2.not_object));
		} else if (names[i][0] == 'n') {
			nnn++;
			ok = rv == -EINVAL && rr == -EINVAL && !r2.not_object;
		} else {
			ni++;
			/* either way, but consistently */
			ok = is_obj ? (rv == 0) == (rr == 0) : rr == -EINVAL;
		}
		if (!ok)
			fprintf(stderr, "%s: validate %d (%s) record %d (%s)\n", names[i], rv,
				rv ? r1.err_reason : "ok", rr, rr ? r2.err_reason : "ok");
		T_CASE(names[i], ok);
		free(data);
		free(names[i]);
	}
	scan_fields_free(f);
	printf("JSONTestSuite: %d y_ (%d objects), %d n_, %d i_ files\n", ny, nobj, nnn, ni);
	CHECK(ny >= 90 && nnn >= 180);
}

int main(void)
{
	T_RUN(test_json_basic);
	T_RUN(test_json_escapes);
	T_RUN(test_json_whitespace_and_dups);
	T_RUN(test_json_errors);
	T_RUN(test_fast_paths_pad);
	T_RUN(test_separator_layouts);
	T_RUN(test_depth_limit);
	T_RUN(test_paths);
	T_RUN(test_py_basic);
	T_RUN(test_py_escapes);
	T_RUN(test_py_errors);
	T_RUN(test_py_nul);
	T_RUN(test_auto);
	T_RUN(test_numbers_and_cmp);
	T_RUN(test_json_escape_fn);
	T_RUN(test_jsontestsuite);
	return T_DONE();
}
