/*
 * bench_scan.c: throughput of the filter core alone (scan + predicate +
 * CSV of the matches) over an UNCOMPRESSED lines file held in memory, so the
 * figure is comparable with the inflate floor (ISA-L ~1.5 GB/s on one core).
 *
 *   bench_scan FILE [FORMAT json|pydict|auto] [ROUNDS] [EXPR] [COLUMNS]
 *   BENCH_PREFILTER=1 walks the buffer as the pipeline does with the raw
 *   prefilter (prefilter.h): only the candidate lines are scanned.
 *   e.g. python3 ../shared/peers/gen_records.py --records 200000 --format json
 *        --out ev.json.gz && zcat ev.json.gz > ev.json && bench_scan ev.json json 5
 *
 * Defaults to the reference filter of ../shared/notes/filter-peers.md and its
 * five columns (EXPR and COLUMNS override them); prints MB/s (10^6 bytes of input per CPU-second
 * of the scanning thread: wall time on a shared machine measures the neighbours),
 * records and matches. A benchmark, not a test: it is never registered with ctest.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csv.h"
#include "pred.h"
#include "prefilter.h"
#include "scan.h"

/* CPU time of this thread: on a shared, loaded machine wall time measures the
 * neighbours; CPU-s per GB is the figure that compares across runs. */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE [json|pydict|auto] [ROUNDS]\n", argv[0]);
		return 2;
	}
	enum scan_format fmt = SCAN_AUTO;
	if (argc > 2 && strcmp(argv[2], "json") == 0)
		fmt = SCAN_JSON;
	else if (argc > 2 && strcmp(argv[2], "pydict") == 0)
		fmt = SCAN_PYDICT;
	int rounds = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 3;
	if (rounds < 1)
		rounds = 1;

	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	fseek(f, 0, SEEK_END);
	long sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *data = malloc((size_t)sz + 1);
	if (!data || fread(data, 1, (size_t)sz, f) != (size_t)sz) {
		fprintf(stderr, "read failed\n");
		return 1;
	}
	fclose(f);

	const char *expr = argc > 4
			       ? argv[4]
			       : "event_type in ['purchase', 'refund', 'subscription_renew'] and "
				 "user.country == 'DE' and amount > 100";
	const char *collist = argc > 5 ? argv[5] : "id,ts,user.id,user.name,amount";
	struct scan_fields *fields = scan_fields_new();
	struct pred *pred = NULL;
	struct pred_error perr;
	if (!fields || pred_compile(expr, fields, NULL, &pred, &perr)) {
		fprintf(stderr, "compile: %s\n", perr.msg);
		return 1;
	}
	size_t cols[32], ncols = 0, epos;
	const char *emsg;
	const char *names[32];
	for (size_t i = 0; i < 32; i++)
		names[i] = "c"; /* header names do not matter here */
	if (scan_fields_add_list(fields, collist, cols, 32, &ncols, &epos, &emsg)) {
		fprintf(stderr, "columns: %s\n", emsg);
		return 1;
	}
	struct prefilter *pf = NULL;
	const char *pfe = getenv("BENCH_PREFILTER");
	if (pfe && strcmp(pfe, "1") == 0 && prefilter_new(pred, &pf) != 0)
		return 1;
	size_t nslots = scan_fields_nslots(fields);
	struct scan_val *slots = calloc(nslots, sizeof(*slots));
	size_t scap = 1 << 20;
	char *scratch = malloc(scap);
	struct csv_writer w;
	struct buf out;
	buf_init(&out, (size_t)1 << 30);
	if (!slots || !scratch || csv_writer_init(&w, CSV_CSV, 0, names, cols, ncols, 1 << 24))
		return 1;

	double best = 1e30;
	size_t recs = 0, matches = 0, bad = 0;
	for (int r = 0; r < rounds; r++) {
		recs = matches = bad = 0;
		buf_reset(&out);
		double t0 = now_s();
		const char *p = data, *end = data + sz;
		while (p < end) {
			const char *nl, *ls, *le;
			if (pf) {
				if (!prefilter_next_line(pf, data, p, end, &ls, &le))
					break;
				p = ls;
				nl = le < end ? le : NULL;
			} else {
				nl = memchr(p, '\n', (size_t)(end - p));
			}
			size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
			struct scan_result res;
			recs++;
			if (scan_record(fields, p, len, fmt, slots, &res) != 0) {
				bad++;
			} else if (pred_eval(pred, slots, scratch, scap) == 1) {
				matches++;
				csv_write_row(&w, slots, &out);
			}
			p += len + 1;
		}
		double t = now_s() - t0;
		if (t < best)
			best = t;
	}
	printf("%s: %.1f MB in %.3f CPU-s (best of %d) = %.0f MB/s = %.3f CPU-s/GB; %zu records, "
	       "%zu matches, %zu bad, %zu CSV bytes%s\n",
	       argv[1], (double)sz / 1e6, best, rounds, (double)sz / 1e6 / best,
	       best / ((double)sz / 1e9), recs, matches, bad, out.len,
	       pf ? " (prefiltered: records = lines scanned)" : "");
	prefilter_free(pf);
	buf_release(&out);
	csv_writer_release(&w);
	free(scratch);
	free(slots);
	pred_free(pred);
	scan_fields_free(fields);
	free(data);
	return 0;
}
