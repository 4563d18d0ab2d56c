/*
 * pipeline.h: runs the record plan over the input files with bounded memory.
 *
 * Threads:
 *   - `jobs` workers take the files in list order (an atomic counter). Each
 *     file is read by that worker's INFLATER thread (gzin.h: read(2) +
 *     inflate) into a ring of ring_n slots of ~ring_size bytes; the inflater
 *     cuts every slot at its last newline (lines_align: the partial line moves
 *     on to the next slot, lines are numbered there), so a slot holds whole
 *     lines and any thread can scan it alone. One or two SCANNER threads (the
 *     worker itself, plus a helper when scan_threads = 2) claim slots, split
 *     them (lines.h) and run the record plan (record.h) into the slot's row buffer; the
 *     scanner that finishes commits every finished slot in slot order (rows
 *     handed on, slot released), so rows keep the line order. Inflate and
 *     scanning thus share the cores even for a single file. The helper
 *     scanner runs at nice 19 so it only takes CPU the inflater leaves idle.
 *   - one WRITER thread writes the rows in FILE ORDER: rows of file i are
 *     written before rows of file i+1 whatever finishes first. A worker ahead
 *     of the file being written keeps its rows in 1 MiB chunks and blocks
 *     while more than out_cap bytes are buffered; the file being written
 *     blocks only when more than out_cap/2 of its own bytes wait for the
 *     writer (it is always drained, so nothing deadlocks).
 * Memory: workers x (ring_n x (ring_size + the slot's rows) + the inflater's
 * read buffer + ~1 MiB of row chunk) + out_cap + the output stage, plus one
 * carried line per worker (capped at max_line; a slot grows to hold it and
 * shrinks back after). Independent of file sizes and of the number of
 * matches; a slot's rows are bounded by what its ~1 MiB of lines produce.
 *
 * Errors inside a file (cannot open, corrupt or truncated gzip, a line over
 * max_line, a bad record) are reported on stderr with file:line and counted;
 * the run goes on. With `strict`, the first such error stops the run: files
 * after the failing one are not read, and the output holds every row of the
 * files before it plus the rows of the failing file before the error. A
 * truncated or corrupt file always contributes its complete lines before the
 * error; the cut partial line is discarded, never written.
 * A transient read error is retried inside gzin (gzin.h, cfg->gz.retries):
 * the file continues where it was, its rows are the same as without the
 * fault; files_retried and retries count it.
 * An output error stops everything at once.
 *
 * pipeline_run() blocks until done; pipeline_stats may be read by another thread
 * (progress) while it runs: every counter is a relaxed atomic.
 */
#ifndef PIPELINE_H
#define PIPELINE_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "gzin.h"
#include "output.h"
#include "record.h"
#include "walk.h"

struct pipeline_cfg {
	const struct walk_list *files;
	const struct record_plan *plan;
	struct output *out; /* the writer thread owns it during pipeline_run */
	unsigned jobs;	    /* worker count (>= 1) */
	struct gzin_opts gz;
	size_t max_line;
	int strict;
	unsigned max_errors;   /* bad records / lines reported in detail */
	size_t ring_n;	       /* buffers per worker; 0 = 4 */
	size_t ring_size;      /* bytes per buffer; 0 = 1 MiB */
	size_t out_cap;	       /* bytes of rows buffered ahead; 0 = 4 MiB */
	unsigned scan_threads; /* scanner threads per file: 1, or 2 (when cores are
				  spare: one file then uses 3 threads) */
	/* plan->pf (prefilter.h) is used unless validate or strict: only the
	 * candidate lines of a slot are scanned, the others are counted in
	 * skipped, unparsed (a bad record among them is not reported). A line
	 * over max_line is reported either way. */
	int validate;
	/* Called by the writer thread, outside every lock, when every row of
	 * file idx has been handed to output_write (files in list order; not
	 * after an output error). It may close and reopen cfg->out (parts of a
	 * --manifest run). A negative errno stops the run as an output error. */
	int (*file_written)(void *ctx, size_t idx);
	void *file_written_ctx;
};

struct pipeline_stats {
	_Atomic uint64_t files_done;	/* finished, with or without error */
	_Atomic uint64_t files_failed;	/* could not open, corrupt, truncated */
	_Atomic uint64_t bytes_in;	/* raw (compressed) bytes read */
	_Atomic uint64_t bytes_data;	/* decompressed bytes scanned */
	_Atomic uint64_t records;	/* non-blank lines scanned */
	_Atomic uint64_t matched;	/* rows written */
	_Atomic uint64_t bad;		/* bad records skipped */
	_Atomic uint64_t too_long;	/* lines over max_line skipped */
	_Atomic uint64_t skipped;	/* lines the prefilter passed over unparsed */
	_Atomic uint64_t reported;	/* detail messages printed so far */
	_Atomic uint64_t files_retried; /* inputs that needed a read retry (gzin.h) */
	_Atomic uint64_t retries;	/* read retries in all */
	int stopped;			/* --strict stopped the run */
	int out_err;			/* negative errno of the output, or 0 */
	int internal_err;		/* negative errno (ENOMEM, thread) or 0 */
};

void pipeline_stats_init(struct pipeline_stats *s);

/* Returns 0 when every thread ran; the outcome is in *st. */
int pipeline_run(const struct pipeline_cfg *cfg, struct pipeline_stats *st);

#endif
