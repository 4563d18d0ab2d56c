/*
 * gzin.h: one input file as a stream of decompressed bytes (the only filter
 * file that touches zlib and ISA-L).
 *
 * A path ("-" = stdin) is opened and its first bytes are inspected: the gzip
 * magic 1f 8b selects inflation, anything else is passed through as plain text.
 * Gzip is inflated with ISA-L's igzip streaming API when the build has it
 * (HAVE_ISAL) and zlib otherwise, or always zlib when gzin_opts.force_zlib is
 * set (to compare the two). Multi-member streams (`cat a.gz b.gz`) are read
 * member after member; zero padding after the last member is ignored as gzip
 * does, any other trailing bytes are corrupt data.
 *
 * Input is read with plain read(2) calls of gzin_opts.read_size bytes into one
 * buffer allocated at open: memory is bounded (read_size + the inflater state,
 * ~300 KiB for ISA-L) whatever the file size. Reads are strictly sequential.
 *
 * Retry: on a regular file opened by path, a TRANSIENT read error (EIO,
 * ETIMEDOUT, ECONNRESET, EAGAIN, or a short read: end of data before the
 * st_size seen at open) is retried up to gzin_opts.retries times in a row:
 * wait backoff_ms (doubling, at most 16 x), reopen the path, check that size
 * and mtime are those seen at open (else -ESTALE, final), seek to the offset
 * of the first byte not yet read and read on. Every byte before that offset
 * was read once and went (or will go) through the inflater, whose state is
 * kept: the decompressed stream continues exactly, no byte twice, none lost.
 * Any other error is final, notably -EBADMSG from read(2) (s3mount's
 * checksum mismatch: the data is wrong, not late). Each retry logs a warning.
 * A short read that stays short fails with -EIO.
 *
 * Errors (negative errno; gzin_errmsg() gives the human detail):
 *   -ENODATA  the gzip stream ended early ("unexpected end of file"): every
 *             byte before the cut has already been returned
 *   -EBADMSG  corrupt data: bad header, invalid deflate data, CRC or length
 *             mismatch, trailing garbage
 *   other     the errno of open(2)/read(2) (-ENOENT, -EACCES, -EIO, ...)
 * After an error the stream stays failed (every later read returns it again).
 *
 * Thread-safety: one gzin is used by one thread at a time; gzin_bytes_in() may
 * be read by another thread (a relaxed atomic) for progress reports.
 */
#ifndef GZIN_H
#define GZIN_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct gzin;

/* read(2) replacement for tests (fault injection); NULL = read(2). */
typedef ssize_t (*gzin_read_fn)(void *ctx, int fd, void *buf, size_t n);

struct gzin_opts {
	int force_zlib;	     /* 1: inflate with zlib even when ISA-L is built in */
	size_t read_size;    /* bytes per read(2); 0 = default (512 KiB); at least 2 */
	unsigned retries;    /* transient read errors retried in a row; 0 = none */
	unsigned backoff_ms; /* first wait before a retry; 0 = 1000 */
	gzin_read_fn read_fn;
	void *read_ctx;
};

/* The caller's output window: gzin_read fills dst[pos..size) and advances pos. */
struct gzin_out {
	void *dst;
	size_t size;
	size_t pos;
};

#define GZIN_EOF 1 /* gzin_read: the stream ended cleanly */

/* Opens path ("-" = standard input, never closed by gzin_free). */
int gzin_open(struct gzin **out, const char *path, const struct gzin_opts *opts);

/*
 * Fills out->dst from out->pos towards out->size. Returns 0 when it made
 * progress (out->pos advanced or the window is full), GZIN_EOF at the clean
 * end of the data (out->pos may have advanced in the same call), or a negative
 * errno as above (bytes placed in the window before the error are valid).
 */
int gzin_read(struct gzin *g, struct gzin_out *out);

/* 1 when the input is gzip, 0 when plain text (known after gzin_open). */
int gzin_is_gzip(const struct gzin *g);
/* "isa-l", "zlib" or "plain": what this stream is decoded with. */
const char *gzin_decoder(const struct gzin *g);
/* Compressed (raw file) bytes read so far; safe from another thread. */
uint64_t gzin_bytes_in(const struct gzin *g);
/* Retries done on this stream so far (see Retry above). */
unsigned gzin_retries(const struct gzin *g);
/* Number of gzip members finished so far. */
uint64_t gzin_members(const struct gzin *g);
/* Detail of the last error ("unexpected end of file", "CRC mismatch", ...). */
const char *gzin_errmsg(const struct gzin *g);
/* 1 when this build has ISA-L. */
int gzin_have_isal(void);

/* Closes the file (not stdin) and frees everything; NULL is a no-op. */
void gzin_free(struct gzin *g);

#endif
