/* fuzz-lib: filtercore */
/*
 * fuzz_prefilter.c: the raw prefilter (prefilter.h) against the full scan.
 * Input: the first line is a predicate, every further line a record. Both
 * paths run in each input format (auto, json, pydict): the full path scans
 * and evaluates every line; the prefiltered path walks the buffer with
 * prefilter_next_line, exactly as the pipeline walks a slot, and scans only
 * the candidate lines, once with each search loop (AVX2, SSE2). The lines
 * that match must be the same (so every
 * matching line is a candidate): any difference aborts. The buffer is copied
 * to a heap block of its exact size so ASan sees a read past its end.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pred.h"
#include "prefilter.h"
#include "scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
	const struct scan_fields *f;
	const struct pred *p;
	struct scan_val *slots;
	char *scratch;
	size_t cap;
	enum scan_format fmt;
};

/* 1 when the line (no '\n') is a record the predicate matches. */
static int matches(struct ctx *c, const char *l, size_t n)
{
	struct scan_result res;
	if (n > 0 && l[n - 1] == '\r')
		n--;
	if (scan_record(c->f, l, n, c->fmt, c->slots, &res) != 0)
		return 0;
	int r = pred_eval(c->p, c->slots, c->scratch, c->cap);
	if (r < 0)
		abort(); /* the scratch is as large as the input */
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *nl = memchr(s, '\n', size);
	if (!nl || (size_t)(nl - s) > 4096)
		return 0;
	size_t elen = (size_t)(nl - s);
	char *expr = malloc(elen + 1);
	if (!expr)
		abort();
	memcpy(expr, s, elen);
	expr[elen] = '\0';
	struct scan_fields *f = scan_fields_new();
	struct pred *p = NULL;
	struct pred_error err;
	struct prefilter *pf = NULL;
	if (!f || pred_compile(expr, f, NULL, &p, &err) != 0 || prefilter_new(p, &pf) != 0 || !pf) {
		pred_free(p);
		scan_fields_free(f);
		free(expr);
		return 0;
	}
	size_t blen = size - elen - 1;
	char *buf = malloc(blen ? blen : 1);
	struct ctx c = {f,
			p,
			calloc(scan_fields_nslots(f), sizeof(struct scan_val)),
			malloc(blen + 1),
			blen + 1,
			SCAN_AUTO};
	if (!buf || !c.slots || !c.scratch)
		abort();
	memcpy(buf, nl + 1, blen);
	const char *end = buf + blen;
	size_t nlines = 1;
	for (size_t i = 0; i < blen; i++)
		nlines += buf[i] == '\n';
	const char **want = malloc(nlines * sizeof(*want));
	if (!want)
		abort();
	for (int fmt = 0; fmt < 3; fmt++) {
		c.fmt = (enum scan_format)fmt;
		/* full path: the list of matching line starts, in order */
		size_t nwant = 0;
		for (const char *q = buf; q < end;) {
			const char *e = memchr(q, '\n', (size_t)(end - q));
			if (!e)
				e = end;
			if (matches(&c, q, (size_t)(e - q)))
				want[nwant++] = q;
			q = e + 1;
		}
		/* both search loops: AVX2 (where the CPU has it) and SSE2 */
		for (int avx2 = 1; avx2 >= 0; avx2--) {
			prefilter_use_avx2(pf, avx2);
			size_t got = 0;
			const char *q = buf, *ls, *le;
			while (q < end && prefilter_next_line(pf, buf, q, end, &ls, &le)) {
				if (ls < q || le < ls || le > end)
					abort();
				if (matches(&c, ls, (size_t)(le - ls))) {
					if (got >= nwant || want[got] != ls) {
						fprintf(
						    stderr, "prefilter: line at %zu matches, %s\n",
						    (size_t)(ls - buf),
						    got < nwant
							? "but an earlier matching line was dropped"
							: "unexpectedly");
						abort();
					}
					got++;
				}
				q = le + 1;
			}
			if (got != nwant) {
				fprintf(stderr,
					"prefilter dropped a matching line at %zu (fmt %d)\n",
					(size_t)(want[got] - buf), fmt);
				abort();
			}
		}
	}
	free(want);
	free(buf);
	free(c.slots);
	free(c.scratch);
	prefilter_free(pf);
	pred_free(p);
	scan_fields_free(f);
	free(expr);
	return 0;
}
