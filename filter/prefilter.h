/*
 * prefilter.h: the raw prefilter ("filter before you parse", issue 14): finds,
 * in a block of whole lines, the lines that MAY hold a record the predicate
 * matches, by searching the predicate's literal conditions (pred_clauses) in
 * the raw bytes; only those lines go to the scanner. Pure, no I/O.
 *
 * WHY IT IS SAFE. A string whose raw form holds no backslash is its own
 * text, between its quotes (JSON "..."; Python '...' or "...", with or
 * without a u/b prefix). So a line without a backslash can hold a string
 * equal to `x` only if it holds the bytes "x" or 'x'; a prefix needs "x or
 * 'x, a suffix x" or x', a substring x. A string WITH escapes has a raw
 * length from its text length up to 10 times it (\UXXXXXXXX: 10 bytes for
 * one byte of text), except for Python's backslash-CR continuation, which
 * spells nothing. So in a line with backslashes the strings holding one are
 * delimited (valid JSON and valid Python lines quote the same way: a quote
 * opens a string that only the same quote closes, a backslash escapes the
 * next byte, no quote or backslash outside strings) and a clause that no raw
 * atom satisfies is still possible when one escaped string has a fitting raw
 * length (or a backslash-CR is present). For a clause of `==` literals
 * only, an escape matters only when it may decode to bytes of a literal (a
 * string equal to one holds nothing else): `\"`, `\n`, `\/`, `\\`, or
 * `\u00e9` for an ASCII literal cannot, so lines whose escapes are all like
 * that are decided by their raw bytes alone, and the search does not stop at
 * them. A line is a candidate when EVERY clause is possible. Lines that are not valid records may
 * be dropped unparsed: they produce no row either way, so rows are byte-identical with and without
 * the prefilter; only their "bad record" report is lost (see
 * --validate).
 *
 * SEARCH. The block is searched for the primary clause (fewest atoms, then
 * the longest) and for backslashes (those starting an escape that matters)
 * in one SSE2 pass: per 16 bytes, each
 * atom's first and last byte are compared at their offsets (the two-byte
 * filter of memmem-class searches), candidates are verified with memcmp and
 * the quote bytes around them. A clause of more than PREFILTER_MAX_PRIMARY
 * atoms is not searched (a big `in` list: per-atom compares would cost more
 * than they save); when no clause qualifies there is no prefilter.
 *
 * Ownership: prefilter_new copies the literals; the prefilter is read-only
 * after it and may be shared by any number of threads. Errors: -ENOMEM.
 */
#ifndef PREFILTER_H
#define PREFILTER_H
#include <stddef.h>

#include "pred.h"

#define PREFILTER_MAX_PRIMARY 8
#define PREFILTER_MAX_CLAUSES 8

struct prefilter;

/* *out = NULL (and 0) when the predicate yields no usable condition. */
int prefilter_new(const struct pred *p, struct prefilter **out);
void prefilter_free(struct prefilter *pf); /* NULL is a no-op */

/*
 * First position in [p, end) where a candidate line may be: a verified
 * occurrence of a primary atom or a backslash; NULL when none. base <= p is
 * the start of the block (bytes before p from base are readable: the quote
 * before an atom is checked there).
 */
const char *prefilter_next(const struct prefilter *pf, const char *base, const char *p,
			   const char *end);

/* 1 when line[0..n) (no '\n') must be scanned: every clause possible. */
int prefilter_line(const struct prefilter *pf, const char *line, size_t n);

/*
 * The next candidate line at or after p (p at a line start, p <= end): sets
 * *ls and *le to its bounds (*le at its '\n', or end) and returns 1; 0 when
 * none remains. The lines from p to *ls (or end) are not candidates. This is
 * the walk the pipeline does over a slot: prefilter_next, then the line
 * around the hit through prefilter_line.
 */
int prefilter_next_line(const struct prefilter *pf, const char *base, const char *p,
			const char *end, const char **ls, const char **le);

/* Turns the AVX2 search off (0) or back on where the CPU has it (1): the
 * tests run both loops on one machine. Call before sharing pf. */
void prefilter_use_avx2(struct prefilter *pf, int on);

/* Number of clauses and of primary atoms (tests, --help-free diagnostics). */
size_t prefilter_nclauses(const struct prefilter *pf);
size_t prefilter_nprimary(const struct prefilter *pf);

#endif
