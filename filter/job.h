/*
 * job.h: what the filter does to one record: scan the fields it needs
 * (scan.h), evaluate the predicate (pred.h), format the chosen columns
 * (csv.h). Pure: no I/O, no globals.
 *
 * struct job is compiled once by main (job_init) and then read-only: all
 * workers share it. Each worker thread has its own struct job_worker (slot
 * array, predicate scratch, CSV writer): job_record allocates nothing once
 * warm.
 *
 * Column list: comma-separated field paths (scan.h syntax), spaces around
 * commas allowed; each column's header text is the path exactly as written.
 * Errors: job_init returns -EINVAL with a message (expression errors point at
 * the column, pred_error_format) in err[], or -ENOMEM / a set file's errno.
 */
#ifndef JOB_H
#define JOB_H
#include <stddef.h>

#include "buf.h"
#include "csv.h"
#include "pred.h"
#include "scan.h"

#define JOB_MAX_COLS 1024

struct job {
	struct scan_fields *fields;
	struct pred *pred; /* NULL: every record matches */
	enum scan_format informat;
	enum csv_format outformat;
	unsigned csv_flags;
	char **names;  /* ncols column header texts */
	size_t *slots; /* ncols slot indexes */
	size_t ncols;
	size_t nslots;
	size_t max_line; /* bytes: bounds scratch and row sizes */
};

struct job_worker {
	const struct job *job;
	struct scan_val *slots; /* job->nslots */
	char *scratch;		/* predicate unescape space, max_line + 1 bytes */
	size_t scratch_cap;
	struct csv_writer w;
};

/* where may be NULL (match all). */
int job_init(struct job *j, const char *where, const char *columns, enum scan_format in,
	     enum csv_format out, unsigned csv_flags, size_t max_line, char *err, size_t errcap);
void job_release(struct job *j);

int job_worker_init(struct job_worker *w, const struct job *j);
void job_worker_release(struct job_worker *w);

/* Header row into out (CSV/TSV; nothing for JSONL). */
int job_header(struct job_worker *w, struct buf *out);

/*
 * One line (no "\n"). Returns 1 when the record matched and its row was
 * appended to out, 0 when it did not match or the line is blank (see
 * job_is_blank), -EINVAL for a bad record (res->err_reason/err_off), or
 * -E2BIG/-ENOSPC/-ENOMEM when the row could not be formatted (out unchanged).
 */
int job_record(struct job_worker *w, const char *line, size_t len, struct buf *out,
	       struct scan_result *res);

/* 1 when the line holds only spaces, tabs and CRs (skipped, not an error). */
int job_is_blank(const char *line, size_t len);

#endif
