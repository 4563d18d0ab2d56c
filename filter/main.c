/*
 * main.c: the filter program: argv -> opts -> record plan (compile predicate and
 * columns) -> walk (input files) -> output -> pipeline -> summary, exit code.
 * Only this file exits. Exit codes are listed in opts_usage() (--help).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gzin.h"
#include "log.h"
#include "monoclock.h"
#include "opts.h"
#include "output.h"
#include "pipeline.h"
#include "progress.h"
#include "record.h"
#include "walk.h"

#define EXIT_BAD_RECORDS 1
#define EXIT_USAGE 2
#define EXIT_INPUT 3
#define EXIT_OUTPUT 4
#define EXIT_INTERNAL 5

#ifndef S3M_VERSION
#define S3M_VERSION "0.1.0"
#endif

static unsigned ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)n : 1;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct record_plan plan;
	struct walk_list files;
	struct walk_opts wo;
	struct output out;
	struct pipeline_cfg cfg;
	struct pipeline_stats st;
	struct progress prog;
	char err[2048];
	int rc, code = 0, out_open = 0, plan_ok = 0, show_progress;
	double t0 = mono_s();

	walk_list_init(&files);
	rc = opts_parse(&o, argc, argv);
	if (rc == OPTS_HELP) {
		opts_usage(stdout);
		code = fflush(stdout) ? EXIT_OUTPUT : 0;
		goto out;
	}
	if (rc == OPTS_VERSION) {
		printf("filter %s (s3mount; inflate: %s)\n", S3M_VERSION,
		       gzin_have_isal() ? "ISA-L, zlib with --zlib" : "zlib");
		code = fflush(stdout) ? EXIT_OUTPUT : 0;
		goto out;
	}
	if (rc < 0) {
		fprintf(stderr, "filter: %s\nTry 'filter --help'.\n", o.err);
		code = EXIT_USAGE;
		goto out;
	}

	rc = record_plan_init(&plan, o.where, o.columns,
			      o.informat == OPTS_IN_JSON     ? SCAN_JSON
			      : o.informat == OPTS_IN_PYDICT ? SCAN_PYDICT
							     : SCAN_AUTO,
			      o.format == OPTS_TSV     ? CSV_TSV
			      : o.format == OPTS_JSONL ? CSV_JSONL
						       : CSV_CSV,
			      0, o.max_line, err, sizeof(err));
	plan_ok = 1;
	if (rc < 0) {
		fprintf(stderr, "filter: %s\n", err[0] ? err : strerror(-rc));
		code = rc == -ENOMEM ? EXIT_INTERNAL : EXIT_USAGE;
		goto out;
	}
	if (!o.validate && record_plan_prefilter(&plan) < 0) {
		fprintf(stderr, "filter: out of memory\n");
		code = EXIT_INTERNAL;
		goto out;
	}

	/* The output is opened before the walk so the walk can skip it. */
	rc = output_open(&out, o.output, 0);
	if (rc < 0) {
		fprintf(stderr, "filter: %s\n",
			rc == -ENOMEM ? "out of memory" : output_errmsg(&out));
		code = rc == -ENOMEM ? EXIT_INTERNAL : EXIT_OUTPUT;
		goto out;
	}
	out_open = 1;

	memset(&wo, 0, sizeof(wo));
	wo.include = o.include;
	wo.exclude = o.exclude;
	wo.shard_k = o.shard_k;
	wo.shard_n = o.shard_n;
	{
		struct stat sb;

		if (fstat(out.fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
			wo.skip_valid = 1;
			wo.skip_dev = sb.st_dev;
			wo.skip_ino = sb.st_ino;
		}
	}
	rc = walk_collect(&files, o.paths, o.n_paths, &wo);
	if (rc < 0) {
		fprintf(stderr, "filter: listing the inputs: %s\n", strerror(-rc));
		code = EXIT_INTERNAL;
		goto out;
	}
	if (files.n_errors)
		code = EXIT_INPUT;
	if (files.n_errors && o.strict) {
		fprintf(stderr, "filter: %u input path(s) could not be read; stopping (--strict)\n",
			files.n_errors);
		goto out;
	}

	if (o.header) {
		struct record_worker hw;
		struct buf hb;

		buf_init(&hb, 1u << 20);
		rc = record_worker_init(&hw, &plan);
		if (rc == 0) {
			rc = record_header(&hw, &hb);
			record_worker_release(&hw);
		}
		if (rc == 0)
			rc = output_write(&out, hb.ptr ? hb.ptr : "", hb.len);
		buf_release(&hb);
		if (rc < 0 && out.err) {
			fprintf(stderr, "filter: %s\n", output_errmsg(&out));
			code = EXIT_OUTPUT;
			goto out;
		}
		if (rc < 0) {
			fprintf(stderr, "filter: header: %s\n", strerror(-rc));
			code = EXIT_INTERNAL;
			goto out;
		}
	}

	memset(&cfg, 0, sizeof(cfg));
	cfg.files = &files;
	cfg.plan = &plan;
	cfg.out = &out;
	cfg.jobs = o.jobs ? o.jobs : ncpu();
	/* Fewer files in flight than cores: give each file a second scanner
	 * thread (inflate and scanning then share the cores). */
	cfg.scan_threads = (files.n < cfg.jobs ? files.n : cfg.jobs) < ncpu() ? 2 : 1;
	cfg.gz.force_zlib = o.force_zlib;
	cfg.gz.retries = o.input_retries;
	cfg.max_line = o.max_line;
	cfg.strict = o.strict;
	cfg.validate = o.validate;
	cfg.max_errors = o.max_errors;
	pipeline_stats_init(&st);

	show_progress = o.progress == 1 || (o.progress == -1 && isatty(STDERR_FILENO));
	if (show_progress && progress_start(&prog, &st, files.n, files.total_size, t0) < 0)
		show_progress = 0;
	rc = pipeline_run(&cfg, &st);
	if (show_progress)
		progress_stop(&prog);

	if (output_close(&out) < 0 || st.out_err) {
		fprintf(stderr, "filter: %s\n", output_errmsg(&out));
		code = EXIT_OUTPUT;
	}
	out_open = 0;
	if (code < EXIT_INTERNAL && (rc < 0 || st.internal_err)) {
		fprintf(stderr, "filter: internal error: %s\n",
			strerror(-(st.internal_err ? st.internal_err : rc)));
		code = EXIT_INTERNAL;
	}
	if (code < EXIT_INPUT && (atomic_load(&st.files_failed) || atomic_load(&st.too_long)))
		code = EXIT_INPUT;
	if (code < EXIT_BAD_RECORDS && atomic_load(&st.bad))
		code = EXIT_BAD_RECORDS;
	{
		uint64_t shown = atomic_load(&st.reported);
		uint64_t total = atomic_load(&st.bad) + atomic_load(&st.too_long);

		if (total > o.max_errors && shown > o.max_errors)
			fprintf(stderr,
				"filter: %llu more bad records/lines not shown (--max-errors %u)\n",
				(unsigned long long)(total - o.max_errors), o.max_errors);
	}
	if (!o.quiet) {
		char line[512];

		progress_summary(&st, files.n, mono_s() - t0, line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
out:
	if (out_open) {
		if (output_close(&out) < 0 && code < EXIT_OUTPUT) {
			fprintf(stderr, "filter: %s\n", output_errmsg(&out));
			code = EXIT_OUTPUT;
		}
	}
	if (plan_ok)
		record_plan_release(&plan);
	walk_list_release(&files);
	opts_release(&o);
	return code;
}
