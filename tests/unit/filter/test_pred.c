/*
 * test_pred.c: the predicate language (filter/pred.h) and the value sets
 * (filter/strset.h): a semantics table evaluated on the same record written as
 * JSON and as a Python dict (results must be equal: True == true, None ==
 * null) and on a record lacking most fields (missing/null rules); parser
 * errors with their exact columns and the caret rendering; `in @FILE` through
 * the real file loader and through a custom loader; a 200,000-value set.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pred.h"
#include "scan.h"
#include "strset.h"
#include "t.h"
#include "value.h"

static const char *R_JSON =
    "{\"id\": \"a1\", \"amount\": 150.5, \"n\": 5, \"country\": \"DE\", "
    "\"name\": \"Olivia O'Brien\", \"email\": \"x@example.com\", \"flag\": true, \"z\": null, "
    "\"tags\": [\"vip\", \"eu\"], \"user\": {\"id\": 7, \"country\": \"AT\"}, "
    "\"msg\": \"caf\\u00e9 \\\"q\\\"\", \"big\": 12345678901234567890, \"neg\": -3}";
static const char *R_PY =
    "{'id': 'a1', 'amount': 150.5, 'n': 5, 'country': 'DE', 'name': \"Olivia O'Brien\", "
    "'email': 'x@example.com', 'flag': True, 'z': None, 'tags': ['vip', 'eu'], "
    "'user': {'id': 7, 'country': 'AT'}, 'msg': 'caf\\xe9 \"q\"', "
    "'big': 12345678901234567890, 'neg': -3}";
static const char *R_SPARSE = "{\"id\": \"b2\", \"n\": \"5\", \"z\": 0, \"user\": null}";

/* A loader that serves two fixed "files" from memory. */
static int mem_loader(void *ctx, const char *path, struct strset *set)
{
	size_t bad;
	(void)ctx;
	if (strcmp(path, "nums.txt") == 0) {
		const char *t = "5\r\nx\n\n17.25\n";
		return strset_add_lines(set, t, strlen(t), 100, &bad);
	}
	if (strcmp(path, "big.txt") == 0) {
		const char *t = "9007199254740993\n-9223372036854775807\n";
		return strset_add_lines(set, t, strlen(t), 100, &bad);
	}
	if (strcmp(path, "countries.txt") == 0) {
		const char *t = "DE\nFR\nnull";
		return strset_add_lines(set, t, strlen(t), 100, &bad);
	}
	return -ENOENT;
}

/* Compiles expr, scans line, evaluates. Returns 1/0, or -100 - errno. */
static int eval_on(const char *expr, const char *line, enum scan_format fmt)
{
	struct scan_fields *f = scan_fields_new();
	struct pred *p = NULL;
	struct pred_error err;
	struct pred_opts opts = {mem_loader, NULL};
	int rc = pred_compile(expr, f, &opts, &p, &err);
	if (rc) {
		fprintf(stderr, "compile '%s': %s at %zu\n", expr, err.msg, err.col);
		scan_fields_free(f);
		return -100 + rc;
	}
	struct scan_val slots[128];
	struct scan_result res;
	char scratch[1024];
	rc = scan_record(f, line, strlen(line), fmt, slots, &res);
	if (rc == 0)
		rc = pred_eval(p, slots, scratch, sizeof(scratch));
	else
		rc = -200;
	pred_free(p);
	scan_fields_free(f);
	return rc;
}

static void test_semantics_table(void)
{
	static const struct {
		const char *expr;
		int full, sparse;
	} t[] = {
	    {"amount > 100", 1, 0},
	    {"amount > 150.5", 0, 0},
	    {"amount >= 150.5", 1, 0},
	    {"amount < 1e3", 1, 0},
	    {"amount <= -1", 0, 0},
	    {"amount != 5", 1, 0},
	    {"not (amount == 5)", 1, 1},
	    {"not amount == 5", 1, 1},
	    {"n == 5", 1, 0},
	    {"n == 5.0", 1, 0},
	    {"n != 5", 0, 1},
	    {"n == '5'", 0, 1},
	    {"n > 4", 1, 0},
	    {"neg < 0 and neg > -4", 1, 0},
	    {"country == 'DE'", 1, 0},
	    {"country = \"DE\"", 1, 0},
	    {"country != 'DE'", 0, 0},
	    {"country < 'DF'", 1, 0},
	    {"country > 'DE'", 0, 0},
	    {"country in ['DE', 'AT']", 1, 0},
	    {"country in ['AT']", 0, 0},
	    {"country not in ['DE']", 0, 0},
	    {"country not in ['FR']", 1, 0},
	    {"user.country in [\"AT\"]", 1, 0},
	    {"user.id == 7", 1, 0},
	    {"exists(z)", 1, 1},
	    {"missing(z)", 0, 0},
	    {"z == null", 1, 0},
	    {"z == None", 1, 0},
	    {"z != null", 0, 1},
	    {"z == 0", 0, 1},
	    {"exists(amount)", 1, 0},
	    {"missing(amount)", 0, 1},
	    {"missing(user.id)", 0, 1},
	    {"user == null", 0, 1},
	    {"user != null", 1, 0},
	    {"flag == true", 1, 0},
	    {"flag == True", 1, 0},
	    {"flag != false", 1, 0},
	    {"flag == 1", 0, 0},
	    {"name startswith 'Olivia'", 1, 0},
	    {"name endswith \"O'Brien\"", 1, 0},
	    {"name contains ' O\\''", 1, 0},
	    {"name contains 'xyz'", 0, 0},
	    {"msg == 'caf\\u00e9 \"q\"'", 1, 0},
	    {"msg == 'café \"q\"'", 1, 0},
	    {"msg contains 'é'", 1, 0},
	    {"msg startswith 'café'", 1, 0},
	    {"msg matches 'caf.+\"q\"$'", 1, 0},
	    {"email =~ '@example[.]com$'", 1, 0},
	    {"email matches '^y'", 0, 0},
	    {"email matches '^[+*]?x{1,2}@(ex|am)+[a-z]{3,10}[.][^]x]{2,3}$'", 1, 0},
	    {"email matches '\\.com\\+?$'", 1, 0},
	    {"email == 'x@example\\.com'", 0, 0},
	    {"email =~ 'x@example\\.com'", 1, 0},
	    {"n matches '5'", 0, 1},
	    {"tags[0] == 'vip'", 1, 0},
	    {"tags[1] in ['eu']", 1, 0},
	    {"tags[2] == 'x'", 0, 0},
	    {"tags == 'vip'", 0, 0},
	    {"tags != 'vip'", 1, 0},
	    {"big > 1e19", 1, 0},
	    {"id == 'a1' and (amount > 100 or n < 0)", 1, 0},
	    {"id == 'b2' || amount > 100", 1, 1},
	    {"!exists(amount) && id == 'b2'", 0, 1},
	    {"id == 'a1' or id == 'b2' and amount > 1", 1, 0},
	    {"(id == 'a1' or id == 'b2') and amount > 1", 1, 0},
	    {"true", 1, 1},
	    {"false", 0, 0},
	    {"not true", 0, 0},
	    {"not not exists(id)", 1, 1},
	    {"amount in [150.5, 3]", 1, 0},
	    {"n in [5]", 1, 0},
	    {"n in ['5']", 0, 1},
	    {"z in [null]", 1, 0},
	    {"flag in [True, 3]", 1, 0},
	    {"n in @nums.txt", 1, 1},
	    {"amount in @nums.txt", 0, 0},
	    {"country in @countries.txt", 1, 0},
	    {"country in @'countries.txt' and n == 5", 1, 0},
	    {"z in @countries.txt", 0, 0},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int a = eval_on(t[i].expr, R_JSON, SCAN_JSON);
		int b = eval_on(t[i].expr, R_PY, SCAN_PYDICT);
		int c = eval_on(t[i].expr, R_SPARSE, SCAN_AUTO);
		int ok = a == t[i].full && b == t[i].full && c == t[i].sparse;
		if (!ok)
			fprintf(stderr, "[%s]: json %d py %d sparse %d, want %d/%d\n", t[i].expr, a,
				b, c, t[i].full, t[i].sparse);
		T_CASE(t[i].expr, ok);
	}
}

/*
 * Integers compare exactly wherever they meet, as Python compares int and
 * float: 2^53 + 1 is not 2^53, neither in `==` nor in a set, and an integer
 * meets a float by its exact value, never rounded to a double first.
 */
static void test_exact_integers(void)
{
	static const char *R_BIG = "{\"id\": 9007199254740992, \"odd\": 9007199254740993, "
				   "\"one\": 1, \"onef\": 1.0, \"max\": 9223372036854775807, "
				   "\"min\": -9223372036854775807}";
	static const struct {
		const char *expr;
		int want;
	} t[] = {
	    {"id == 9007199254740993", 0},
	    {"id in [9007199254740993]", 0},
	    {"id in [9007199254740993, 5]", 0},
	    {"id in @big.txt", 0},
	    {"odd in @big.txt", 1},
	    {"id in [9007199254740992]", 1},
	    {"odd in [9007199254740993]", 1},
	    {"odd == 9007199254740992.0", 0},
	    {"odd > 9007199254740992.0", 1},
	    {"odd in [9007199254740992.0]", 0},
	    {"id in [9007199254740992.0]", 1},
	    {"id == 9007199254740992.0", 1},
	    {"one in [1.0]", 1},
	    {"onef in [1]", 1},
	    {"one in [1e0, 7]", 1},
	    {"max in [9223372036854775806]", 0},
	    {"max in [9223372036854775807]", 1},
	    {"max < 9223372036854775808.0", 1},
	    {"max in [9223372036854775808.0]", 0},
	    {"min in @big.txt", 1},
	    {"min in [-9223372036854775806]", 0},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int a = eval_on(t[i].expr, R_BIG, SCAN_JSON);
		if (a != t[i].want)
			fprintf(stderr, "[%s]: %d, want %d\n", t[i].expr, a, t[i].want);
		T_CASE(t[i].expr, a == t[i].want);
	}
}

static void test_errors(void)
{
	static const struct {
		const char *expr;
		size_t col;
		const char *msg_part;
	} t[] = {
	    {"amount >", 8, "expected a value"},
	    {"amount > > 3", 9, "expected a value"},
	    {"amount 100", 7, "expected an operator"},
	    {"(amount > 1", 11, "expected ')'"},
	    {"amount > 1 and", 14, "unexpected end"},
	    {"amount > 1 or or x == 1", 14, "expected a test"},
	    {"amount > 'abc", 9, "unterminated string"},
	    {"a..b == 1", 2, "field name after '.'"},
	    {"a[x] == 1", 2, "index"},
	    {"exists(amount", 13, "expected ')'"},
	    {"exists amount", 7, "expected '('"},
	    {"country in ['a' 'b']", 16, "expected ',' or ']'"},
	    {"country in 'a'", 11, "expected '['"},
	    {"name matches '('", 13, "bad regular expression"},
	    {"name matches 'a+++'", 13, "stacked"},
	    {"name =~ 'a*{2}'", 8, "stacked"},
	    {"name =~ '(a{256})'", 8, "over 255"},
	    {"name =~ '((a{100}){100})'", 8, "product"},
	    {"x == 1 y", 7, "unexpected 'y'"},
	    {"x == 1 )", 7, "unexpected ')'"},
	    {"5 == x", 0, "field path"},
	    {"'a' == x", 0, "field path"},
	    {"x startswith 5", 13, "quoted string"},
	    {"x == 'a\\u12'", 7, "bad \\u escape"},
	    {"and x == 1", 0, "expected a test"},
	    {"x == 1.2.3", 5, "invalid number"},
	    {"x == tru", 5, "expected a value"},
	    {"x not 5", 6, "expected 'in'"},
	    {"x in @", 6, "file name"},
	    {"", 0, "unexpected end"},
	    {"x == 1 && ", 10, "unexpected end"},
	    {"x in @missing.txt", 5, "missing.txt"},
	    {"größe == 1 and ü", 19, "operator"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct scan_fields *f = scan_fields_new();
		struct pred *p = NULL;
		struct pred_error err;
		struct pred_opts opts = {mem_loader, NULL};
		int rc = pred_compile(t[i].expr, f, &opts, &p, &err);
		int ok =
		    rc < 0 && p == NULL && err.col == t[i].col && strstr(err.msg, t[i].msg_part);
		if (!ok)
			fprintf(stderr, "[%s]: rc %d col %zu msg '%s', want col %zu '%s'\n",
				t[i].expr, rc, err.col, err.msg, t[i].col, t[i].msg_part);
		T_CASE(t[i].expr, ok);
		pred_free(p);
		scan_fields_free(f);
	}
}

static void test_error_format(void)
{
	struct scan_fields *f = scan_fields_new();
	struct pred *p = NULL;
	struct pred_error err;
	const char *expr = "amount > > 3";
	CHECK_INT(pred_compile(expr, f, NULL, &p, &err), -EINVAL);
	char out[512];
	pred_error_format(expr, &err, out, sizeof(out));
	CHECK_STR(out, "expected a value (number, 'string', true, false or null) at column 10\n"
		       "  amount > > 3\n"
		       "  ---------^\n");
	/* the caret counts characters, so UTF-8 text lines up */
	expr = "ä == 1 )";
	CHECK_INT(pred_compile(expr, f, NULL, &p, &err), -EINVAL);
	CHECK_INT(err.col, 8);
	pred_error_format(expr, &err, out, sizeof(out));
	CHECK(strstr(out, "\n  -------^\n") != NULL);
	/* truncation keeps a terminated string */
	pred_error_format(expr, &err, out, 10);
	CHECK_INT(strlen(out), 9);
	scan_fields_free(f);
}

/* strset_has_num on a number written as text. */
static int has_num(const struct strset *s, const char *tok)
{
	struct value_num v;
	if (value_parse_number(tok, strlen(tok), &v))
		return -1;
	return strset_has_num(s, &v);
}

static void test_real_file_loader(void)
{
	char path[] = "/tmp/test_pred_setXXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	/* 200,000 values, > 1 MiB so the loader's chunk boundary is crossed */
	FILE *fp = fdopen(fd, "w");
	for (int i = 0; i < 200000; i++)
		fprintf(fp, "user%07d\n", i * 3);
	fprintf(fp, "42\nlast-no-newline");
	fclose(fp);
	char expr[256];
	snprintf(expr, sizeof(expr), "name in @%s", path);
	struct scan_fields *f = scan_fields_new();
	struct pred *p = NULL;
	struct pred_error err;
	CHECK_INT(pred_compile(expr, f, NULL, &p, &err), 0);
	struct scan_val slots[8];
	struct scan_result res;
	char scratch[256];
	const char *yes[] = {"{\"name\": \"user0000000\"}",
			     "{\"name\": \"user0599997\"}",
			     "{\"name\": \"user\\u0030000003\"}",
			     "{'name': 42}",
			     "{\"name\": 42.0}",
			     "{\"name\": \"last-no-newline\"}"};
	const char *no[] = {"{\"name\": \"user0000001\"}",
			    "{\"name\": \"user0600000\"}",
			    "{\"name\": 43}",
			    "{\"name\": null}",
			    "{}",
			    "{\"name\": \"\"}"};
	for (size_t i = 0; i < 6; i++) {
		CHECK_INT(scan_record(f, yes[i], strlen(yes[i]), SCAN_AUTO, slots, &res), 0);
		CHECK_INT(pred_eval(p, slots, scratch, sizeof(scratch)), 1);
		CHECK_INT(scan_record(f, no[i], strlen(no[i]), SCAN_AUTO, slots, &res), 0);
		CHECK_INT(pred_eval(p, slots, scratch, sizeof(scratch)), 0);
	}
	pred_free(p);
	scan_fields_free(f);

	struct strset *s = strset_new();
	size_t bad = 0;
	CHECK_INT(strset_load_file(s, path, 65536, &bad), 0);
	CHECK_INT(strset_count(s), 200000 + 2 + 1); /* strings + the number 42 */
	CHECK(strset_has_str(s, "user0000003", 11));
	CHECK(!strset_has_str(s, "user000000", 10));
	CHECK(has_num(s, "42.0") == 1);
	CHECK(has_num(s, "3") == 0);
	strset_free(s);
	/* a line over the cap names its line number */
	s = strset_new();
	CHECK_INT(strset_load_file(s, path, 8, &bad), -E2BIG);
	CHECK_INT(bad, 1);
	strset_free(s);
	unlink(path);
	s = strset_new();
	CHECK_INT(strset_load_file(s, path, 100, &bad), -ENOENT);
	strset_free(s);
}

static void test_strset_literals(void)
{
	struct strset *s = strset_new();
	CHECK_INT(strset_add_literal(s, 'n', "-0.0", 4), 0);
	CHECK(has_num(s, "0") == 1 && has_num(s, "0.0") == 1);
	CHECK(!strset_has_str(s, "-0.0", 4));
	CHECK_INT(strset_add_literal(s, 's', "", 0), 0);
	CHECK(strset_has_str(s, "", 0));
	CHECK_INT(strset_add_literal(s, 'n', "abc", 3), -EINVAL);
	CHECK(!strset_has_bool(s, 1) && !strset_has_null(s));
	CHECK_INT(strset_add_literal(s, 't', NULL, 0), 0);
	CHECK(strset_has_bool(s, 1) && !strset_has_bool(s, 0));
	CHECK_INT(strset_add_literal(s, 'x', NULL, 0), -EINVAL);
	/* duplicates counted once */
	CHECK_INT(strset_add(s, "7", 1), 0);
	CHECK_INT(strset_add(s, "7", 1), 0);
	CHECK_INT(strset_add(s, "7.0", 3), 0);
	CHECK_INT(strset_count(s), 6); /* 0, "", true, "7", 7, "7.0" (7.0 == 7) */
	/* nan is never a member; inf is; the integer table's empty-slot key
	 * (INT64_MIN) is a value like any other */
	CHECK_INT(strset_add_literal(s, 'n', "nan", 3), 0);
	CHECK(has_num(s, "nan") == 0);
	CHECK(has_num(s, "-9223372036854775808") == 0);
	CHECK_INT(strset_add(s, "-9223372036854775808", 20), 0);
	CHECK(has_num(s, "-9223372036854775808") == 1);
	CHECK(has_num(s, "-9223372036854775807") == 0);
	CHECK_INT(strset_add(s, "-inf", 4), 0);
	CHECK(has_num(s, "-inf") == 1 && has_num(s, "inf") == 0);
	CHECK(has_num(s, "7e0") == 1 && has_num(s, "7.5") == 0);
	strset_free(s);
}

static void test_size_limits(void)
{
	/* a 20,000-test chain is refused cleanly; 2,000 are fine */
	for (int n = 2000; n <= 20000; n += 18000) {
		size_t cap = (size_t)n * 16 + 16, o = 0;
		char *e = malloc(cap);
		for (int i = 0; i < n; i++)
			o += (size_t)snprintf(e + o, cap - o, "%sa == %d", i ? " or " : "", i);
		struct scan_fields *f = scan_fields_new();
		struct pred *p = NULL;
		struct pred_error err;
		int rc = pred_compile(e, f, NULL, &p, &err);
		if (n == 2000) {
			CHECK_INT(rc, 0);
			struct scan_val slots[8];
			struct scan_result res;
			char scratch[64];
			CHECK_INT(scan_record(f, "{\"a\": 1999}", 11, SCAN_JSON, slots, &res), 0);
			CHECK_INT(pred_eval(p, slots, scratch, sizeof(scratch)), 1);
		} else {
			CHECK_INT(rc, -EINVAL);
			CHECK(strstr(err.msg, "too long") != NULL);
		}
		pred_free(p);
		scan_fields_free(f);
		free(e);
	}
	/* deep nesting is refused at the nesting limit, not by the stack */
	char deep[1200];
	size_t o = 0;
	for (int i = 0; i < 500; i++)
		deep[o++] = '(';
	memcpy(deep + o, "a == 1", 6);
	o += 6;
	for (int i = 0; i < 500; i++)
		deep[o++] = ')';
	deep[o] = '\0';
	struct scan_fields *f = scan_fields_new();
	struct pred *p = NULL;
	struct pred_error err;
	CHECK_INT(pred_compile(deep, f, NULL, &p, &err), -EINVAL);
	CHECK(strstr(err.msg, "nested") != NULL);
	scan_fields_free(f);
}

static void test_scratch_too_small(void)
{
	struct scan_fields *f = scan_fields_new();
	struct pred *p = NULL;
	struct pred_error err;
	CHECK_INT(pred_compile("msg contains 'q'", f, NULL, &p, &err), 0);
	struct scan_val slots[8];
	struct scan_result res;
	char scratch[4];
	CHECK_INT(scan_record(f, R_JSON, strlen(R_JSON), SCAN_JSON, slots, &res), 0);
	CHECK_INT(pred_eval(p, slots, scratch, sizeof(scratch)), -ENOSPC);
	pred_free(p);
	scan_fields_free(f);
}

int main(void)
{
	test_semantics_table();
	test_errors();
	T_RUN(test_exact_integers);
	T_RUN(test_error_format);
	T_RUN(test_real_file_loader);
	T_RUN(test_strset_literals);
	T_RUN(test_scratch_too_small);
	T_RUN(test_size_limits);
	return T_DONE();
}
