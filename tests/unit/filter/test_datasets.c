/*
 * test_datasets.c: the scanner and predicates on the REAL record files in
 * ../shared/datasets (McAuley Amazon Python-dict and JSON dumps, GH Archive
 * hours, HumanEval), read with zlib in the test, reproducing the reference
 * counts of datasets/README.md (computed there with Python's json /
 * ast.literal_eval). Every line is scanned in AUTO mode; each file also checks
 * the detected format, that no complete line is malformed, and that the cut
 * last line of a truncated gzip is rejected as a bad record. HumanEval's long
 * escaped strings go through the CSV writer and back through the strict
 * reader.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "csv.h"
#include "csv_strict.h"
#include "pred.h"
#include "scan.h"
#include "t.h"
#include "value.h"

#define MAXQ 8

struct query {
	const char *expr;
	long want;
};

struct run {
	const char *file;
	enum scan_format want_fmt;
	long want_lines; /* complete lines (ending in '\n') */
	int truncated;	 /* gzip stream expected to end early */
	struct query q[MAXQ];
};

struct result {
	struct pred *p[MAXQ];
	long got[MAXQ];
	long lines, bad, wrong_fmt, partial_bad, partial;
};

typedef void (*line_fn)(void *ctx, const char *line, size_t len, int complete);

/* Reads a gzip file line by line; returns 0, or 1 when the stream was cut. */
static int gz_lines(const char *path, line_fn fn, void *ctx)
{
	gzFile g = gzopen(path, "rb");
	if (!g)
		return -1;
	size_t cap = 4 << 20, have = 0;
	char *buf = malloc(cap);
	int cut = 0;
	for (;;) {
		int r = gzread(g, buf + have, (unsigned)(cap - have));
		if (r < 0) {
			cut = 1;
			break;
		}
		if (r == 0) {
			int errnum = 0;
			gzerror(g, &errnum);
			/* zlib reports a cut stream as Z_BUF_ERROR at EOF */
			if (errnum != Z_OK && errnum != Z_STREAM_END)
				cut = 1;
			break;
		}
		have += (size_t)r;
		size_t i = 0;
		for (;;) {
			char *nl = memchr(buf + i, '\n', have - i);
			if (!nl)
				break;
			fn(ctx, buf + i, (size_t)(nl - (buf + i)), 1);
			i = (size_t)(nl - buf) + 1;
		}
		memmove(buf, buf + i, have - i);
		have -= i;
		if (have == cap) {
			cut = -1; /* a line over 4 MiB: not in these files */
			break;
		}
	}
	if (have && cut >= 0)
		fn(ctx, buf, have, 0);
	free(buf);
	gzclose(g);
	return cut;
}

struct ctx {
	const struct run *run;
	struct result *res;
	struct scan_fields *f;
	struct scan_val *slots;
	char *scratch;
	size_t scap;
};

static void on_line(void *vctx, const char *line, size_t len, int complete)
{
	struct ctx *c = vctx;
	const struct run *r = c->run;
	struct result *o = c->res;
	struct scan_result res;
	if (!complete) {
		o->partial++;
		if (scan_record(c->f, line, len, SCAN_AUTO, c->slots, &res) != 0)
			o->partial_bad++;
		return;
	}
	o->lines++;
	if (scan_record(c->f, line, len, SCAN_AUTO, c->slots, &res) != 0) {
		if (o->bad < 3)
			fprintf(stderr, "%s line %ld: %s at column %zu\n", r->file, o->lines,
				res.err_reason, res.err_off + 1);
		o->bad++;
		return;
	}
	if (res.format != r->want_fmt)
		o->wrong_fmt++;
	for (int i = 0; i < MAXQ && r->q[i].expr; i++)
		if (pred_eval(o->p[i], c->slots, c->scratch, c->scap) == 1)
			o->got[i]++;
}

static void run_file(const struct run *r)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/datasets/%s", S3M_SHARED_DIR, r->file);
	struct result o;
	memset(&o, 0, sizeof(o));
	struct ctx c = {.run = r, .res = &o};
	c.f = scan_fields_new();
	int ok = 1;
	for (int i = 0; i < MAXQ && r->q[i].expr; i++) {
		struct pred_error err;
		if (pred_compile(r->q[i].expr, c.f, NULL, &o.p[i], &err)) {
			fprintf(stderr, "%s: %s\n", r->q[i].expr, err.msg);
			ok = 0;
		}
	}
	c.slots = calloc(scan_fields_nslots(c.f), sizeof(*c.slots));
	c.scap = 4 << 20;
	c.scratch = malloc(c.scap);
	int cut = ok ? gz_lines(path, on_line, &c) : -1;
	char name[512];
	snprintf(name, sizeof(name), "%s: %ld complete lines (want %ld), %ld bad, %ld wrong format",
		 r->file, o.lines, r->want_lines, o.bad, o.wrong_fmt);
	T_CASE(name,
	       cut == r->truncated && o.lines == r->want_lines && o.bad == 0 && o.wrong_fmt == 0);
	if (r->truncated) {
		/* the cut last line is there and is a bad record, never a match */
		snprintf(name, sizeof(name), "%s: cut last line rejected (%ld partial, %ld bad)",
			 r->file, o.partial, o.partial_bad);
		T_CASE(name, o.partial == 1 && o.partial_bad == 1);
	}
	for (int i = 0; i < MAXQ && r->q[i].expr; i++) {
		snprintf(name, sizeof(name), "%s: [%s] = %ld (want %ld)", r->file, r->q[i].expr,
			 o.got[i], r->q[i].want);
		printf("%s\n", name);
		T_CASE(name, o.got[i] == r->q[i].want);
		pred_free(o.p[i]);
	}
	free(c.slots);
	free(c.scratch);
	scan_fields_free(c.f);
}

static const struct run runs[] = {
    {"amazon-mcauley/qa_Appliances.json.gz",
     SCAN_PYDICT,
     9011,
     0,
     {{"questionType == 'yes/no'", 4693},
      {"questionType == 'open-ended'", 4318},
      {"missing(unixTime)", 421},
      {"exists(answerType)", 4693},
      {"true", 9011}}},
    {"derived/meta_Digital_Music.complete-lines.json.gz",
     SCAN_PYDICT,
     7418,
     0,
     {{"price > 20", 582},
      {"price >= -1e308", 7395},
      {"exists(related)", 6790},
      {"exists(brand)", 1861},
      {"exists(title)", 7321}}},
    {"amazon-mcauley/meta_Digital_Music.json.gz", SCAN_PYDICT, 7419, 1, {{"exists(asin)", 7419}}},
    {"derived/reviews_Digital_Music_5.complete-lines.json.gz",
     SCAN_JSON,
     6908,
     0,
     {{"overall == 5.0", 4662}, {"overall == 5", 4662}, {"missing(reviewerName)", 15}}},
    {"amazon-mcauley/reviews_Digital_Music_5.json.gz",
     SCAN_JSON,
     6908,
     1,
     {{"overall == 5.0", 4662}}},
    {"gharchive/2015-01-01-0.json.gz",
     SCAN_JSON,
     7702,
     0,
     {{"type == 'PushEvent'", 4280},
      {"type == 'CreateEvent'", 815},
      {"type == 'IssueCommentEvent'", 650},
      {"type == 'WatchEvent'", 642},
      {"type == 'PushEvent' and payload.size >= 3", 439},
      {"type in ['PushEvent', 'WatchEvent'] and not (payload.size < 3)", 439 + 642}}},
    {"gharchive/2015-01-01-1.json.gz",
     SCAN_JSON,
     7427,
     0,
     {{"type == 'PushEvent'", 4150},
      {"type == 'CreateEvent'", 727},
      {"type == 'IssueCommentEvent'", 651},
      {"type == 'WatchEvent'", 649},
      {"type == 'PushEvent' && payload.size >= 3", 399}}},
    {"humaneval/HumanEval.jsonl.gz",
     SCAN_JSON,
     164,
     0,
     {{"exists(task_id) and exists(prompt) and exists(canonical_solution) and exists(test) "
       "and exists(entry_point)",
       164},
      {"task_id startswith 'HumanEval/'", 164},
      {"prompt contains 'def '", 164}}},
};

/* HumanEval: prompt and test through CSV and back; values must survive. */
struct he {
	struct scan_fields *f;
	size_t cols[3];
	struct scan_val slots[64];
	struct csv_writer w;
	struct buf out;
	char *want[200][3];
	size_t wantlen[200][3];
	int n, fail;
};

static void he_line(void *vctx, const char *line, size_t len, int complete)
{
	struct he *h = vctx;
	struct scan_result res;
	if (!complete || h->n >= 200 || scan_record(h->f, line, len, SCAN_JSON, h->slots, &res)) {
		h->fail++;
		return;
	}
	for (int c = 0; c < 3; c++) {
		const struct scan_val *v = &h->slots[h->cols[c]];
		char *t = malloc(v->len + 1);
		size_t n = 0;
		if (value_unescape(v, t, v->len, &n))
			h->fail++;
		h->want[h->n][c] = t;
		h->wantlen[h->n][c] = n;
	}
	if (csv_write_row(&h->w, h->slots, &h->out))
		h->fail++;
	h->n++;
}

static void test_humaneval_csv(void)
{
	struct he *h = calloc(1, sizeof(*h));
	size_t ncols, ep;
	const char *em;
	const char *names[] = {"task_id", "prompt", "test"};
	h->f = scan_fields_new();
	CHECK_INT(scan_fields_add_list(h->f, "task_id,prompt,test", h->cols, 3, &ncols, &ep, &em),
		  0);
	CHECK(scan_fields_nslots(h->f) <= 64);
	buf_init(&h->out, 64 << 20);
	CHECK_INT(csv_writer_init(&h->w, CSV_CSV, 0, names, h->cols, 3, 1 << 20), 0);
	CHECK_INT(csv_write_header(&h->w, &h->out), 0);
	CHECK_INT(gz_lines(S3M_SHARED_DIR "/datasets/humaneval/HumanEval.jsonl.gz", he_line, h), 0);
	CHECK_INT(h->n, 164);
	CHECK_INT(h->fail, 0);
	struct csvr t;
	size_t eo = 0;
	CHECK_INT(csvr_parse(h->out.ptr, h->out.len, &t, &eo), 0);
	CHECK_INT(t.nrows, 165);
	CHECK_INT(t.ncols, 3);
	int same = 0;
	for (int r = 0; r < h->n && t.nrows == 165; r++)
		for (int c = 0; c < 3; c++) {
			size_t n;
			const char *fv = csvr_field(&t, (size_t)r + 1, (size_t)c, &n);
			same += n == h->wantlen[r][c] && memcmp(fv, h->want[r][c], n) == 0;
		}
	CHECK_INT(same, 164 * 3);
	/* the prompts really hold what makes CSV quoting necessary */
	CHECK(strstr(h->out.ptr, "\"\"\"") != NULL);
	csvr_free(&t);
	for (int r = 0; r < h->n; r++)
		for (int c = 0; c < 3; c++)
			free(h->want[r][c]);
	csv_writer_release(&h->w);
	buf_release(&h->out);
	scan_fields_free(h->f);
	free(h);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
		run_file(&runs[i]);
	T_RUN(test_humaneval_csv);
	return T_DONE();
}
