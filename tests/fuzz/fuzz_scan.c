/* fuzz-lib: filtercore */
/*
 * fuzz_scan.c: the record scanner and the value helpers on arbitrary lines.
 * Input: byte 0 picks the format (0 auto, 1 JSON, 2 Python dict), the rest is
 * the line. Beyond "no crash, no sanitizer report" it checks invariants and
 * aborts when one breaks:
 *  - scan_record accepts => scan_validate accepts, in the same format;
 *  - every found value lies inside the line; strings unescape into a buffer
 *    of their own length and value_str_eq agrees with the result; numbers
 *    parse;
 *  - the whole record written as compact JSON (value_write_json, Python
 *    converted) is a valid JSON object for our own strict scanner, and
 *    scanning that output for the same paths gives the same types and the
 *    same unescaped strings and number tokens (Python inf/nan -> null).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"
#include "value.h"

static const char *const paths[] = {"a",	 "a.b",	    "a[0]",  "a[1].b", "id",
				    "user.name", "tags[1]", "x.y.z", "['']",   "['a b']",
				    "b[0][0]",	 "1",	    "c",     "a.b.c"};
#define NP (sizeof(paths) / sizeof(paths[0]))

static struct scan_fields *fields;
static size_t slot[NP];

static void init(void)
{
	if (fields)
		return;
	fields = scan_fields_new();
	for (size_t i = 0; i < NP; i++) {
		size_t ep;
		const char *em;
		if (scan_fields_add(fields, paths[i], &slot[i], &ep, &em))
			abort();
	}
}

static void check_value(const struct scan_val *v, const char *line, size_t len, char *buf)
{
	if (v->type == SCAN_MISSING)
		return;
	if (v->p < line || v->p + v->len > line + len)
		abort();
	size_t n;
	if (v->type == SCAN_STRING) {
		if (value_unescape(v, buf, v->len, &n) != 0 || n > v->len)
			abort();
		if (!value_str_eq(v, buf, n))
			abort();
		if (n > 0 && value_str_eq(v, buf, n - 1))
			abort();
	}
	if (v->type == SCAN_NUMBER) {
		struct value_num num;
		int rc = value_number(v, &num);
		if (rc != 0 && !(rc == -ERANGE && v->len > 500))
			abort();
	}
	if (value_write_json(v, buf, 6 * (size_t)v->len + 8, &n) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init();
	if (size < 1)
		return 0;
	enum scan_format fmt = data[0] % 3 == 0	  ? SCAN_AUTO
			       : data[0] % 3 == 1 ? SCAN_JSON
						  : SCAN_PYDICT;
	const char *line = (const char *)data + 1;
	size_t len = size - 1;
	size_t ns = scan_fields_nslots(fields);
	struct scan_val v[64], w[64];
	if (ns > 64)
		abort();
	struct scan_result res, res2;
	int rc = scan_record(fields, line, len, fmt, v, &res);
	int rv = scan_validate(line, len, fmt, &res2);
	if (rc == 0 && rv != 0)
		abort();
	if (rc != 0) {
		if (res.err_off > len || !res.err_reason)
			abort();
		return 0;
	}
	size_t cap = 6 * len + 16;
	char *buf = malloc(cap);
	char *json = malloc(cap);
	if (!buf || !json)
		abort();
	for (size_t i = 0; i < ns; i++)
		check_value(&v[i], line, len, buf);
	/* round trip through our compact JSON */
	size_t jn;
	if (value_write_json(&v[0], json, cap, &jn) != 0)
		abort();
	if (scan_record(fields, json, jn, SCAN_JSON, w, &res2) != 0)
		abort();
	for (size_t i = 0; i < NP; i++) {
		const struct scan_val *a = &v[slot[i]], *b = &w[slot[i]];
		if (a->type == SCAN_NUMBER && (a->flags & SCAN_F_SPECIAL)) {
			if (b->type != SCAN_NULL)
				abort();
			continue;
		}
		if (a->type != b->type)
			abort();
		if (a->type == SCAN_BOOL && (a->flags & SCAN_F_TRUE) != (b->flags & SCAN_F_TRUE))
			abort();
		if (a->type == SCAN_NUMBER && (a->len != b->len || memcmp(a->p, b->p, a->len) != 0))
			abort();
		if (a->type == SCAN_STRING) {
			size_t n1, n2;
			char *buf2 = malloc(b->len + 1);
			if (!buf2 || value_unescape(a, buf, a->len, &n1) ||
			    value_unescape(b, buf2, b->len, &n2))
				abort();
			if (n1 != n2 || memcmp(buf, buf2, n1) != 0)
				abort();
			free(buf2);
		}
	}
	free(buf);
	free(json);
	return 0;
}
