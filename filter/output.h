/*
 * output.h: the one output stream of a filter run (stdout or -o PATH).
 *
 * Opened once; bytes are staged in one buffer and written with large write(2)
 * calls of exactly stage_cap bytes (1 MiB by default) except the last, always
 * sequentially and never seeking, so a path inside the s3mount mount streams
 * to S3 as a multipart upload. Every write error and the close(2) error are
 * reported (a FUSE/NFS file may only report a failed upload at close). A
 * short write is continued; EINTR is retried.
 *
 * Errors: negative errno; the first error is sticky (later calls return it)
 * and output_errmsg() says which step failed. Not thread-safe: the pipeline's
 * single writer thread owns it.
 */
#ifndef OUTPUT_H
#define OUTPUT_H
#include <stddef.h>
#include <stdint.h>

struct output {
	int fd;
	int is_stdout;
	const char *name; /* for messages: the path or "<stdout>" (borrowed) */
	char *stage;
	size_t stage_len, stage_cap;
	uint64_t written; /* bytes handed to write(2) successfully */
	int err;	  /* sticky negative errno */
	char msg[160];
};

#define OUTPUT_DEFAULT_STAGE (1u << 20)

/* path NULL or "-": stdout. Creates/truncates a file with mode 0666 & ~umask. */
int output_open(struct output *o, const char *path, size_t stage_cap);
int output_write(struct output *o, const void *p, size_t n);
/* Writes what is staged. */
int output_flush(struct output *o);
/* Flushes and closes (stdout too, so its close error is seen). Returns the
 * first error of the whole life of the stream. */
int output_close(struct output *o);
const char *output_errmsg(const struct output *o);

#endif
