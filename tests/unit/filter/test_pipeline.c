/* test_pipeline.c: the pipeline gives byte-identical output whatever the
 * worker count and however small its buffers (ring slots of a few bytes, an
 * output cap far below one file's rows, so workers ahead must block and
 * lines straddle every slot boundary), on the real datasets; counters agree;
 * --strict keeps exactly the rows before the error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"
#include "pipeline.h"
#include "record.h"
#include "t.h"
#include "walk.h"

#define DS S3M_SHARED_DIR "/datasets/"

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long sz;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)sz + 1);
	*n = fread(p, 1, (size_t)sz, f);
	p[*n] = '\0';
	fclose(f);
	return p;
}

struct outcome {
	char *data;
	size_t len;
	uint64_t records, matched, bad, failed;
};

static unsigned scan_threads = 1;

static struct outcome run(char **paths, size_t np, const char *where, const char *cols,
			  unsigned jobs, size_t ring_n, size_t ring_size, size_t out_cap,
			  int strict)
{
	struct outcome r = {NULL, 0, 0, 0, 0, 0};
	char tmpl[] = "/tmp/test_pipeline.XXXXXX", err[512];
	struct walk_list files;
	struct walk_opts wo;
	struct record_plan plan;
	struct output out;
	struct pipeline_cfg cfg;
	struct pipeline_stats st;
	int fd = mkstemp(tmpl);

	CHECK(fd >= 0);
	close(fd);
	memset(&wo, 0, sizeof(wo));
	walk_list_init(&files);
	CHECK_INT(walk_collect(&files, paths, np, &wo), 0);
	CHECK_INT(
	    record_plan_init(&plan, where, cols, SCAN_AUTO, CSV_CSV, 0, 1 << 20, err, sizeof(err)),
	    0);
	CHECK_INT(output_open(&out, tmpl, 4096), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.files = &files;
	cfg.plan = &plan;
	cfg.out = &out;
	cfg.jobs = jobs;
	cfg.max_line = 1 << 20;
	cfg.strict = strict;
	cfg.max_errors = 0;
	cfg.ring_n = ring_n;
	cfg.ring_size = ring_size;
	cfg.out_cap = out_cap;
	cfg.scan_threads = scan_threads;
	pipeline_stats_init(&st);
	CHECK_INT(pipeline_run(&cfg, &st), 0);
	CHECK_INT(output_close(&out), 0);
	CHECK_INT(st.out_err, 0);
	CHECK_INT(st.internal_err, 0);
	r.records = atomic_load(&st.records);
	r.matched = atomic_load(&st.matched);
	r.bad = atomic_load(&st.bad);
	r.failed = atomic_load(&st.files_failed);
	r.data = slurp(tmpl, &r.len);
	unlink(tmpl);
	record_plan_release(&plan);
	walk_list_release(&files);
	return r;
}

static void test_identical_under_pressure(void)
{
	static char gh0[] = DS "gharchive/2015-01-01-0.json.gz";
	static char he[] = DS "humaneval/HumanEval.jsonl.gz";
	static char qa[] = DS "amazon-mcauley/qa_Appliances.json.gz";
	static char gh1[] = DS "gharchive/2015-01-01-1.json.gz";
	char *paths[] = {gh0, he, qa, gh1};
	const char *cols = "id,type,payload.size,task_id,asin,question";
	unsigned saved = scan_threads;
	struct outcome ref;

	/* the reference always comes from one scanner thread */
	scan_threads = 1;
	ref = run(paths, 4, NULL, cols, 1, 4, 1 << 20, 8 << 20, 0);
	scan_threads = saved;
	static const struct {
		unsigned jobs;
		size_t ring_n, ring_size, out_cap;
	} v[] = {{2, 4, 1 << 20, 8 << 20},
		 {3, 2, 4096, 1 << 16},
		 {2, 2, 7, 1},
		 {4, 3, 100, 1000},
		 {1, 2, 1, 1}};

	char *small[] = {he, he};
	struct outcome ref2 = run(small, 2, NULL, cols, 1, 4, 1 << 20, 8 << 20, 0);

	CHECK_INT(ref.records, 7702 + 164 + 9011 + 7427);
	CHECK_INT(ref.matched, ref.records);
	CHECK(ref.len > 1000000);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct outcome o;

		int tiny = v[i].ring_size < 64; /* few-byte slots: small files only */

		paths[0] = tiny ? he : gh0;
		o = run(paths, tiny ? 2 : 4, NULL, cols, v[i].jobs, v[i].ring_n, v[i].ring_size,
			v[i].out_cap, 0);
		if (tiny) {
			CHECK_INT(o.records, 164 + 164);
			CHECK(o.len == ref2.len && memcmp(o.data, ref2.data, ref2.len) == 0);
		} else {
			CHECK(o.len == ref.len && memcmp(o.data, ref.data, ref.len) == 0);
			CHECK_INT(o.records, ref.records);
		}
		if (t_cur_failed)
			fprintf(stderr, "variant %zu differs\n", i);
		free(o.data);
	}
	free(ref.data);
	free(ref2.data);
}

static void test_strict_truncated(void)
{
	static char rev[] = DS "derived/reviews_Digital_Music_5.complete-lines.json.gz";
	static char cut[] = DS "amazon-mcauley/reviews_Digital_Music_5.json.gz";
	static char gh0[] = DS "gharchive/2015-01-01-0.json.gz";
	char *paths[] = {rev, cut, gh0};
	struct outcome a = run(paths, 3, "overall == 5.0", "reviewerID", 3, 2, 5000, 3000, 1);
	struct outcome b = run(paths, 3, "overall == 5.0", "reviewerID", 1, 4, 1 << 20, 8 << 20, 0);

	/* strict: the first file and the truncated one's complete rows, not the third */
	CHECK_INT(a.failed, 1);
	CHECK_INT(a.matched, 2 * 4662);
	CHECK_INT(b.failed, 1);
	CHECK_INT(b.matched, 2 * 4662);
	CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	free(a.data);
	free(b.data);
}

int main(void)
{
	T_RUN(test_identical_under_pressure);
	T_RUN(test_strict_truncated);
	scan_threads = 2; /* two scanners per file, slots committed in order */
	T_RUN(test_identical_under_pressure);
	T_RUN(test_strict_truncated);
	return T_DONE();
}
