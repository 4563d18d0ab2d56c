/*
 * pipeline.h: runs a job over the input files with bounded memory.
 *
 * Threads:
 *   - `jobs` workers take the files in list order (an atomic counter); each
 *     file is read by that worker's INFLATER thread (gzin.h: read(2) +
 *     inflate) into a ring of ring_n buffers of ring_size bytes, while the
 *     worker itself splits lines (lines.h) and runs the job (job.h) on the
 *     previous buffers: decompression and scanning run on two cores.
 *   - one WRITER thread writes the rows in FILE ORDER: rows of file i are
 *     written before rows of file i+1 whatever finishes first. A worker ahead
 *     of the file being written keeps its rows in 1 MiB chunks and blocks
 *     while more than out_cap bytes are buffered; the file being written
 *     blocks only when more than out_cap/2 of its own bytes wait for the
 *     writer (it is always drained, so nothing deadlocks).
 * Memory: workers x (ring_n x ring_size + the inflater's read buffer + ~1 MiB
 * of row chunk) + out_cap + the output stage, plus a carry buffer per worker
 * that holds at most one line (capped at max_line). Independent of file sizes
 * and of the number of matches.
 *
 * Errors inside a file (cannot open, corrupt or truncated gzip, a line over
 * max_line, a bad record) are reported on stderr with file:line and counted;
 * the run goes on. With `strict`, the first such error stops the run: files
 * after the failing one are not read, and the output holds every row of the
 * files before it plus the rows of the failing file before the error. A
 * truncated or corrupt file always contributes its complete lines before the
 * error; the cut partial line is discarded, never written.
 * An output error stops everything at once.
 *
 * pipe_run() blocks until done; pipe_stats may be read by another thread
 * (progress) while it runs: every counter is a relaxed atomic.
 */
#ifndef PIPELINE_H
#define PIPELINE_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "gzin.h"
#include "job.h"
#include "output.h"
#include "walk.h"

struct pipe_cfg {
	const struct walk_list *files;
	const struct job *job;
	struct output *out; /* the writer thread owns it during pipe_run */
	unsigned jobs;      /* worker count (>= 1) */
	struct gzin_opts gz;
	size_t max_line;
	int strict;
	unsigned max_errors; /* bad records / lines reported in detail */
	size_t ring_n;       /* buffers per worker; 0 = 4 */
	size_t ring_size;    /* bytes per buffer; 0 = 1 MiB */
	size_t out_cap;      /* bytes of rows buffered ahead; 0 = 8 MiB */
};

struct pipe_stats {
	_Atomic uint64_t files_done;   /* finished, with or without error */
	_Atomic uint64_t files_failed; /* could not open, corrupt, truncated */
	_Atomic uint64_t bytes_in;     /* raw (compressed) bytes read */
	_Atomic uint64_t bytes_data;   /* decompressed bytes scanned */
	_Atomic uint64_t records;      /* non-blank lines scanned */
	_Atomic uint64_t matched;      /* rows written */
	_Atomic uint64_t bad;          /* bad records skipped */
	_Atomic uint64_t too_long;     /* lines over max_line skipped */
	_Atomic uint64_t reported;     /* detail messages printed so far */
	int stopped;                   /* --strict stopped the run */
	int out_err;                   /* negative errno of the output, or 0 */
	int internal_err;              /* negative errno (ENOMEM, thread) or 0 */
};

void pipe_stats_init(struct pipe_stats *s);

/* Returns 0 when every thread ran; the outcome is in *st. */
int pipe_run(const struct pipe_cfg *cfg, struct pipe_stats *st);

#endif
