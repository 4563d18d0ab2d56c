/*
 * manifest.h: the record of a resumable filter run (filter --manifest PATH).
 *
 * The output is written as parts (OUT.part-0001, OUT.part-0002, ...), each
 * closed, and so committed by s3mount, after a bounded amount of input. The
 * manifest lists every committed part with the inputs it holds (whole inputs
 * only), each with its size and mtime at the time its rows were written. It
 * is rewritten whole (O_TRUNC, write, close) after each part: on s3mount one
 * PutObject, which S3 applies atomically, so a reader sees the old or the new
 * list, never a mix. A rerun with --resume skips the inputs listed whose size
 * and mtime still match.
 *
 * Format (text, one record a line; a path is the rest of its line, so paths
 * holding a newline are refused):
 *     s3mount-filter-manifest 1
 *     part 1
 *     input SIZE MTIME_SEC MTIME_NSEC PATH
 *     ...
 *     part 2
 *     ...
 * Errors: negative errno; -EBADMSG for a manifest that does not parse.
 * Not thread-safe (the pipeline's writer thread owns it during the run).
 */
#ifndef MANIFEST_H
#define MANIFEST_H
#include <stddef.h>
#include <stdint.h>

struct manifest_input {
	char *path;
	uint64_t size;
	int64_t mtime_s;
	long mtime_ns;
	unsigned part;
};

struct manifest {
	const char *path; /* borrowed */
	struct manifest_input *in;
	size_t n, alloc;
	unsigned last_part; /* highest committed part number, 0 = none */
};

void manifest_init(struct manifest *m, const char *path);
/* Reads m->path (at most 256 MiB: -EFBIG) and parses it. -ENOENT when it
 * does not exist (m stays empty). */
int manifest_load(struct manifest *m);
/* Parses a manifest's text into m (pure; the fuzz target's entry). Part
 * numbers must not decrease. */
int manifest_parse(struct manifest *m, const char *text, size_t len);
/* Appends one input to part `part` (in memory). -EINVAL for a path with '\n'. */
int manifest_add(struct manifest *m, unsigned part, const char *path, uint64_t size,
		 int64_t mtime_s, long mtime_ns);
/* Rewrites m->path whole: O_TRUNC, write, fsync-free close (close reports). */
int manifest_save(const struct manifest *m);
/* 1 when path is listed with this size and mtime (a done input), else 0. */
int manifest_done(const struct manifest *m, const char *path, uint64_t size, int64_t mtime_s,
		  long mtime_ns);
void manifest_release(struct manifest *m);

#endif
