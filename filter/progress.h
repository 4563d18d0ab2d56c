/*
 * progress.h: the live progress line on stderr and the closing summary.
 *
 * progress_start() starts a thread that every 0.5 s rewrites one status line
 * ("\r...\033[K") from the pipeline's atomic counters: files done/total,
 * compressed bytes read/total, records scanned and matched, MB/s of
 * decompressed data, ETA from the compressed bytes. progress_stop() joins it
 * and clears the line. Only main uses it; it only reads the counters.
 * progress_summary() formats the one-line summary printed at the end.
 */
#ifndef PROGRESS_H
#define PROGRESS_H
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline.h"

struct progress {
	const struct pipeline_stats *st;
	uint64_t files_total;
	uint64_t bytes_total; /* compressed bytes of all inputs (0: unknown) */
	double t0;	      /* start, seconds (monotonic) */
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int running;
	int stop;
};

int progress_start(struct progress *p, const struct pipeline_stats *st, uint64_t files_total,
		   uint64_t bytes_total, double t0);
void progress_stop(struct progress *p);

/* "filter: 3 files (1 failed), 1.03 GB read (180 MB gzip), 1,700,000 records, 6,272 rows,
 * 2 bad records, 0.71 s, 1,448 MB/s" */
void progress_summary(const struct pipeline_stats *st, uint64_t files_total, double seconds,
		      char *out, size_t cap);

#endif
