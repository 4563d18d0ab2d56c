/* fuzz-lib: filtercore */
/*
 * fuzz_pred.c: the predicate parser and evaluator. Input: the first line is
 * the expression, every further line a record (scanned in AUTO mode).
 * Checks beyond "no crash": a rejected expression has an error column inside
 * the expression and a message, and its caret rendering is terminated at any
 * buffer size; an accepted one evaluates to 0 or 1 on every record (the
 * scratch is as large as the line, so -ENOSPC is impossible), and
 * `not (EXPR)` compiles too and always gives the opposite answer.
 * `in @FILE` is served by an in-memory loader (no file access while fuzzing).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pred.h"
#include "scan.h"
#include "strset.h"

static int loader(void *ctx, const char *path, struct strset *set)
{
	size_t bad;
	(void)ctx;
	if (strcmp(path, "missing") == 0)
		return -ENOENT;
	/* the set is the path's own text plus a few fixed values */
	const char *t = "DE\n5\n9.49\nnull\n";
	int rc = strset_add_lines(set, t, strlen(t), 100, &bad);
	return rc ? rc : strset_add(set, path, strlen(path));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *nl = memchr(s, '\n', size);
	size_t elen = nl ? (size_t)(nl - s) : size;
	if (elen > 4096)
		return 0;
	char *expr = malloc(elen + 1);
	char *neg = malloc(elen + 8);
	if (!expr || !neg)
		abort();
	memcpy(expr, s, elen);
	expr[elen] = '\0';
	snprintf(neg, elen + 8, "not (%s)", expr);
	struct scan_fields *f = scan_fields_new();
	struct pred *p = NULL, *q = NULL;
	struct pred_error err;
	struct pred_opts opts = {loader, NULL};
	int rc = pred_compile(expr, f, &opts, &p, &err);
	if (rc != 0) {
		if (p || err.col > strlen(expr) || !err.msg[0])
			abort();
		char out[300];
		size_t cap = (size_t)(data[0] % 64) + 1;
		pred_error_format(expr, &err, out, cap);
		if (strlen(out) >= cap)
			abort();
		goto out;
	}
	/* strlen(expr) < elen when the expression holds a NUL: then the
	 * negation wraps the same C string */
	if (pred_compile(neg, f, &opts, &q, &err) != 0) {
		/* only the nesting limit may refuse one more level */
		if (!strstr(err.msg, "nested"))
			abort();
		q = NULL;
	}
	size_t ns = scan_fields_nslots(f);
	struct scan_val *slots = calloc(ns, sizeof(*slots));
	const char *line = nl ? nl + 1 : s + size;
	const char *end = s + size;
	while (line < end) {
		const char *e = memchr(line, '\n', (size_t)(end - line));
		size_t len = e ? (size_t)(e - line) : (size_t)(end - line);
		struct scan_result res;
		if (scan_record(f, line, len, SCAN_AUTO, slots, &res) == 0) {
			char *scratch = malloc(len + 1);
			int a = pred_eval(p, slots, scratch, len + 1);
			if (a != 0 && a != 1)
				abort();
			if (q && pred_eval(q, slots, scratch, len + 1) != !a)
				abort();
			free(scratch);
		}
		line += len + 1;
	}
	free(slots);
out:
	pred_free(p);
	pred_free(q);
	scan_fields_free(f);
	free(expr);
	free(neg);
	return 0;
}
