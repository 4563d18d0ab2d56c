/*
 * lines.h: splits a stream of byte chunks into lines (pure, no I/O).
 *
 * Chunks arrive in order (lines_feed); each complete line is handed to the
 * sink as a slice (ptr, len) WITHOUT its "\n" and without a "\r" before it
 * (CRLF). A line inside one chunk is passed in place, uncopied; only the one
 * line per chunk that straddles a chunk boundary is assembled in a carry
 * buffer, so there is no per-line allocation. lines_finish() hands over a
 * final line that has no newline.
 *
 * A line longer than max_line bytes (without its newline) is never buffered
 * whole: the sink's too_long callback is told its line number once, the rest
 * of that line is skipped, and splitting resumes after its newline. The carry
 * buffer is capped at max_line (shared/buf.h), so memory stays bounded.
 *
 * Line numbers start at 1 and count every "\n" seen (blank lines included).
 * A callback returning non-zero stops lines_feed/lines_finish, which return
 * that value (used by --strict). Errors: -ENOMEM from the carry buffer.
 * Not thread-safe: one struct lines per stream.
 */
#ifndef LINES_H
#define LINES_H
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct lines_sink {
	/* One complete line; ptr is valid only during the call. */
	int (*line)(void *ctx, const char *ptr, size_t len, uint64_t lineno);
	/* Line lineno passed max_line bytes; it is skipped. */
	int (*too_long)(void *ctx, uint64_t lineno, size_t max_line);
	void *ctx;
};

struct lines {
	struct buf carry; /* the partial line carried over from the last chunk */
	size_t max_line;  /* bytes; longer lines are reported and skipped */
	uint64_t lineno;  /* number of the line being assembled (1-based) */
	int skipping;	  /* inside an over-long line: drop bytes until "\n" */
};

void lines_init(struct lines *l, size_t max_line);
void lines_release(struct lines *l);

/* Splits one chunk; calls sink->line per complete line. */
int lines_feed(struct lines *l, const char *data, size_t n, const struct lines_sink *sink);

/* End of stream: passes a final line without newline, if any (not blank). */
int lines_finish(struct lines *l, const struct lines_sink *sink);

/* Bytes of an incomplete line currently held (e.g. cut by a truncated file). */
size_t lines_pending(const struct lines *l);

/* Forgets the incomplete line (used when a stream ends in error). */
void lines_discard(struct lines *l);

/* Newlines in p[0..n). */
uint64_t lines_count(const char *p, size_t n);

/*
 * The first line in [p, e) (lines end at '\n' or e) longer than max_line
 * bytes without a '\r' before its '\n': sets *ls to its start and returns
 * its end; NULL when there is none. A range of at most max_line + 1 bytes is
 * answered at once (for the gaps a prefiltered scan passes over).
 */
const char *lines_find_long(const char *p, const char *e, size_t max_line, const char **ls);

/*
 * Aligner: cuts a stream of buffers at line boundaries so that each buffer
 * can be split (lines_feed + lines_finish) by ANY thread on its own: the
 * producer fills a buffer with lines_align_take() (the carried partial line)
 * followed by new data, then lines_align_cut() returns the range of complete
 * lines to hand on and carries the rest (at most one line, capped at
 * max_line) into the next buffer. It also numbers the lines: first_lineno is
 * the number of the line at *start. A line that outgrows max_line before its
 * newline arrives is reported through sink->too_long once and dropped up to
 * its newline (lines within one buffer are checked by lines_feed). Not
 * thread-safe: the producer owns it.
 */
struct lines_align {
	struct buf carry; /* the partial line carried to the next buffer */
	size_t max_line;
	uint64_t lineno; /* number of the next line to start */
	int skipping;	 /* dropping an over-long line up to its newline */
};

void lines_align_init(struct lines_align *a, size_t max_line);
void lines_align_release(struct lines_align *a);
/* Back to a new stream: drops the carry, numbering restarts at line 1. */
void lines_align_reset(struct lines_align *a);
/* Bytes the next lines_align_take() will copy. */
size_t lines_align_pending(const struct lines_align *a);
/* Copies the carried bytes to dst (room for lines_align_pending()), empties
 * the carry, returns the byte count. */
size_t lines_align_take(struct lines_align *a, char *dst);
/*
 * buf[0..len) = what lines_align_take() copied + new data. final: nothing
 * follows (the last line may lack its newline and is included). Sets
 * [*start, *end) to the complete lines (may be empty) and *first_lineno.
 * Returns 0, -ENOMEM, or the too_long callback's non-zero value.
 */
int lines_align_cut(struct lines_align *a, const char *buf, size_t len, int final, size_t *start,
		    size_t *end, uint64_t *first_lineno, const struct lines_sink *sink);

#endif
