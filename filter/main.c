/*
 * main.c: the filter program: argv -> opts -> record plan (compile predicate and
 * columns) -> walk (input files) -> output -> pipeline -> summary, exit code.
 * Only this file exits. Exit codes are listed in opts_usage() (--help).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gzin.h"
#include "log.h"
#include "manifest.h"
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

/*
 * --manifest: the output as parts. The writer thread calls parts_file_written
 * after each input's rows (inputs in list order, whole): once the part holds
 * --part-input bytes of input it is closed (on s3mount: committed), its
 * inputs are added to the manifest, the manifest is rewritten whole, and the
 * next part is opened. A part thus closes between inputs, never inside one.
 */
struct parts {
	struct manifest mf;
	const char *base; /* -o OUT */
	struct output *out;
	const struct walk_list *files;
	unsigned part; /* number of the part being written */
	size_t *cur;   /* indices (into files) of its inputs */
	size_t n_cur;
	uint64_t acc;	/* their input bytes */
	uint64_t limit; /* --part-input */
	char name[PATH_MAX + 16];
};

static const char *part_name(struct parts *ps)
{
	snprintf(ps->name, sizeof(ps->name), "%s.part-%04u", ps->base, ps->part);
	return ps->name;
}

/* Closes the current part and records it. 0 or a negative errno. */
static int parts_commit(struct parts *ps)
{
	int rc = output_close(ps->out);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < ps->n_cur; i++) {
		const char *path = ps->files->v[ps->cur[i]].path;
		struct stat sb;

		if (stat(path, &sb) < 0) /* gone since: never matches on --resume */
			memset(&sb, 0, sizeof(sb));
		rc = manifest_add(&ps->mf, ps->part, path, (uint64_t)sb.st_size, sb.st_mtim.tv_sec,
				  sb.st_mtim.tv_nsec);
		if (rc < 0)
			return rc;
	}
	rc = manifest_save(&ps->mf);
	if (rc < 0) {
		snprintf(ps->out->msg, sizeof(ps->out->msg), "%s: writing the manifest: %s",
			 ps->mf.path, strerror(-rc));
		ps->out->err = rc;
		return rc;
	}
	ps->n_cur = 0;
	ps->acc = 0;
	ps->part++;
	return 0;
}

static int parts_file_written(void *ctx, size_t idx)
{
	struct parts *ps = ctx;

	ps->cur[ps->n_cur++] = idx;
	ps->acc += ps->files->v[idx].size;
	if (ps->acc < ps->limit)
		return 0;
	int rc = parts_commit(ps);

	return rc < 0 ? rc : output_open(ps->out, part_name(ps), 0);
}

/* --resume: drops the inputs the manifest lists with the same size and mtime. */
static size_t parts_skip_done(struct parts *ps, struct walk_list *files)
{
	size_t k = 0, skipped = 0;

	for (size_t i = 0; i < files->n; i++) {
		struct walk_file *f = &files->v[i];
		struct stat sb;

		if (stat(f->path, &sb) == 0 &&
		    manifest_done(&ps->mf, f->path, (uint64_t)sb.st_size, sb.st_mtim.tv_sec,
				  sb.st_mtim.tv_nsec)) {
			files->total_size -= f->size;
			free(f->path);
			free(f->rel);
			skipped++;
			continue;
		}
		files->v[k++] = *f;
	}
	files->n = k;
	return skipped;
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
	struct parts ps;
	char err[2048];
	int rc, code = 0, out_open = 0, plan_ok = 0, show_progress;
	double t0 = mono_s();

	walk_list_init(&files);
	memset(&ps, 0, sizeof(ps));
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

	if (o.manifest) {
		manifest_init(&ps.mf, o.manifest);
		ps.base = o.output;
		ps.out = &out;
		ps.files = &files;
		ps.limit = o.part_input;
		rc = o.resume ? manifest_load(&ps.mf) : -ENOENT;
		if (rc < 0 && rc != -ENOENT) {
			fprintf(stderr, "filter: --resume: %s: %s\n", o.manifest,
				rc == -EBADMSG ? "not a filter manifest" : strerror(-rc));
			code = rc == -ENOMEM ? EXIT_INTERNAL : EXIT_USAGE;
			goto out;
		}
		if (rc == -ENOENT && o.resume)
			fprintf(stderr,
				"filter: --resume: no manifest %s yet: starting from the "
				"first input\n",
				o.manifest);
		/* a new run: forget an older run's parts at once */
		if (!o.resume && (rc = manifest_save(&ps.mf)) < 0) {
			fprintf(stderr, "filter: %s: %s\n", o.manifest, strerror(-rc));
			code = EXIT_OUTPUT;
			goto out;
		}
		ps.part = ps.mf.last_part + 1;
		if (ps.part > 1)
			o.header = 0; /* part 0001 has it */
	}
	/* The output is opened before the walk so the walk can skip it. */
	rc = output_open(&out, o.manifest ? part_name(&ps) : o.output, 0);
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
	if (o.manifest) {
		if (o.resume && ps.mf.n) {
			size_t skipped = parts_skip_done(&ps, &files);

			fprintf(stderr,
				"filter: --resume: %zu input(s) already in parts 1-%u skipped, "
				"%zu to do, from part %u\n",
				skipped, ps.mf.last_part, files.n, ps.part);
		}
		ps.cur = calloc(files.n ? files.n : 1, sizeof(*ps.cur));
		if (!ps.cur) {
			fprintf(stderr, "filter: out of memory\n");
			code = EXIT_INTERNAL;
			goto out;
		}
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
	if (o.manifest) {
		cfg.file_written = parts_file_written;
		cfg.file_written_ctx = &ps;
	}
	pipeline_stats_init(&st);

	show_progress = o.progress == 1 || (o.progress == -1 && isatty(STDERR_FILENO));
	if (show_progress && progress_start(&prog, &st, files.n, files.total_size, t0) < 0)
		show_progress = 0;
	rc = pipeline_run(&cfg, &st);
	if (show_progress)
		progress_stop(&prog);

	if (o.manifest && !st.out_err && !st.internal_err && rc == 0) {
		/* the last part: committed when it holds inputs, else removed */
		if (ps.n_cur) {
			if (parts_commit(&ps) < 0)
				st.out_err = out.err ? out.err : -EIO;
		} else if (output_close(&out) == 0 && ps.part > 1) {
			(void)unlink(part_name(&ps));
		}
	}
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
	free(ps.cur);
	manifest_release(&ps.mf);
	walk_list_release(&files);
	opts_release(&o);
	return code;
}
