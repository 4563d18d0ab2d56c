/*
 * record.h: what the filter does to one record: scan the fields it needs
 * (scan.h), evaluate the predicate (pred.h), format the chosen columns
 * (csv.h). Pure: no I/O, no globals.
 *
 * struct record_plan is compiled once by main (record_plan_init) and then read-only: all
 * workers share it. Each worker thread has its own struct record_worker (slot
 * array, predicate scratch, CSV writer): record_process allocates nothing once
 * warm.
 *
 * Column list: comma-separated field paths (scan.h syntax), spaces around
 * commas allowed; each column's header text is the path exactly as written.
 * Errors: record_plan_init returns -EINVAL with a message (expression errors point at
 * the column, pred_error_format) in err[], or -ENOMEM / a set file's errno.
 */
#ifndef RECORD_H
#define RECORD_H
#include <stddef.h>

#include "buf.h"
#include "csv.h"
#include "pred.h"
#include "prefilter.h"
#include "scan.h"

#define RECORD_MAX_COLS 1024

struct record_plan {
	struct scan_fields *fields;
	struct pred *pred;    /* NULL: every record matches */
	struct prefilter *pf; /* NULL: every line is scanned (record_plan_prefilter) */
	enum scan_format informat;
	enum csv_format outformat;
	unsigned csv_flags;
	char **names;  /* ncols column header texts */
	size_t *slots; /* ncols slot indexes */
	size_t ncols;
	size_t nslots;
	size_t max_line; /* bytes: bounds scratch and row sizes */
};

struct record_worker {
	const struct record_plan *plan;
	struct scan_val *slots; /* plan->nslots */
	char *scratch;		/* predicate unescape space, max_line + 1 bytes */
	size_t scratch_cap;
	struct csv_writer w;
};

/* where may be NULL (match all). */
int record_plan_init(struct record_plan *j, const char *where, const char *columns,
		     enum scan_format in, enum csv_format out, unsigned csv_flags, size_t max_line,
		     char *err, size_t errcap);
void record_plan_release(struct record_plan *j);
/* Builds the raw prefilter of the predicate (prefilter.h) into j->pf; it
 * stays NULL when the predicate has no literal condition. 0 or -ENOMEM. */
int record_plan_prefilter(struct record_plan *j);

int record_worker_init(struct record_worker *w, const struct record_plan *j);
void record_worker_release(struct record_worker *w);

/* Header row into out (CSV/TSV; nothing for JSONL). */
int record_header(struct record_worker *w, struct buf *out);

/*
 * One line (no "\n"). Returns 1 when the record matched and its row was
 * appended to out, 0 when it did not match or the line is blank (see
 * record_is_blank), -EINVAL for a bad record (res->err_reason/err_off), or
 * -E2BIG/-ENOSPC/-ENOMEM when the row could not be formatted (out unchanged).
 */
int record_process(struct record_worker *w, const char *line, size_t len, struct buf *out,
		   struct scan_result *res);

/* 1 when the line holds only spaces, tabs and CRs (skipped, not an error). */
int record_is_blank(const char *line, size_t len);

#endif
