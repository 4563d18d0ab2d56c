/*
 * csv.h: output rows (CSV, TSV, JSON lines) from scanned values into a
 * caller-owned capped buffer (shared/buf.h); the program flushes the buffer to
 * its output in large writes.
 *
 * CSV (RFC 4180): fields separated by ',', rows end in CRLF by default (RFC
 * 4180 and Python's csv module; CSV_LF gives '\n' as Miller/DuckDB do). A
 * field is quoted iff it contains ',', '"', CR or LF; quotes inside are
 * doubled. Leading/trailing spaces are NOT a reason to quote (RFC 4180 keeps
 * spaces as data; Python's csv does the same). A row with ONE column whose
 * cell is empty is written as "" so the row is not a blank line (Python does
 * the same). UTF-8 and any other bytes pass through unchanged.
 * TSV: fields separated by '\t', rows end in '\n'; inside a field '\\' -> "\\\\",
 * TAB -> "\\t", LF -> "\\n", CR -> "\\r" (the PostgreSQL/Miller TSV escapes;
 * IANA TSV forbids these bytes). No quoting.
 * JSONL: one object per row: {"<column text>":value,...} in column order,
 * compact JSON; a MISSING value omits its key, null writes null.
 *
 * Cells (CSV and TSV): missing -> empty; null -> empty; a string -> its
 * unescaped text; a number -> the token exactly as in the input (9.49 stays
 * 9.49, 1e3 stays 1e3; Python inf/nan as written); a bool -> true/false
 * (Python True -> true); an object/array -> compact JSON (value.h rules,
 * Python converted to JSON).
 *
 * Ownership: csv_writer_init copies the column names and slot indexes;
 * csv_writer_release frees them and the writer's scratch. One writer per
 * thread (it holds scratch); no globals. The scratch grows to the largest
 * value seen, up to the cap given at init: no allocation per row once warm.
 * Errors: negative errno: -E2BIG when out's cap or the scratch cap would be
 * exceeded, -ENOMEM. On an error inside a row, out is truncated back to the
 * start of that row (no half rows are ever left in out).
 */
#ifndef CSV_H
#define CSV_H
#include <stddef.h>

#include "buf.h"
#include "scan.h"

enum csv_format { CSV_CSV = 0, CSV_TSV, CSV_JSONL };

#define CSV_LF 0x1 /* CSV rows end in '\n' instead of "\r\n" */

struct csv_writer {
	enum csv_format fmt;
	unsigned flags;
	size_t ncols;
	char **names;	    /* ncols column names (header / JSONL keys) */
	size_t *slots;	    /* ncols slot indexes into a scan slot array */
	struct buf scratch; /* unescape/JSON staging */
	size_t col;	    /* cells written in the current row */
	size_t row_start;   /* out->len when the current row began */
};

/* names[i] / slots[i] for column i. scratch_cap bounds the scratch buffer
 * (e.g. 8 * the line cap: enough for any value of a capped line). */
int csv_writer_init(struct csv_writer *w, enum csv_format fmt, unsigned flags,
		    const char *const *names, const size_t *slots, size_t ncols,
		    size_t scratch_cap);
void csv_writer_release(struct csv_writer *w);

/* Header row: the column names as given (CSV/TSV-escaped); JSONL: nothing. */
int csv_write_header(struct csv_writer *w, struct buf *out);
/* One full row from a scan's slot array (slots[w->slots[i]] for column i). */
int csv_write_row(struct csv_writer *w, const struct scan_val *slots, struct buf *out);

/* Cell-level interface (tests, fuzzing, custom rows): cells are written in
 * column order; csv_row_end closes the row (w->ncols need not match for
 * CSV/TSV; JSONL uses names[col], so at most ncols cells there). */
int csv_cell_text(struct csv_writer *w, const char *s, size_t n, struct buf *out);
int csv_cell_value(struct csv_writer *w, const struct scan_val *v, struct buf *out);
int csv_row_end(struct csv_writer *w, struct buf *out);

#endif
