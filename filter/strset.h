/*
 * strset.h: a hashed set of values for `field in [...]` and `field in @FILE`
 * (the seed's dict-membership trick): open addressing with linear probing,
 * load factor <= 1/2, the strings in one arena (two allocations however many
 * values: thousands to millions of lines load in one pass).
 *
 * Values are untyped text, like the lines of a set file. Each added value is
 * kept as a string; if the text is also a number (JSON/Python number grammar,
 * e.g. "42", "9.49", "1e3") it is ALSO kept as that number, so a string field
 * matches by text and a number field matches numerically (42 == 42.0), by the
 * exact order of value_num_cmp.
 * The literals true/false/null/True/False/None are flags: a bool or null
 * field matches only them (and never the strings "true" ...): see
 * strset_add_literal.
 *
 * Integers are kept exactly: 9007199254740993 is not 9007199254740992, as in
 * `==`; a whole double (5.0, 1e3) is the same number as the integer.
 *
 * Ownership: strset_new / strset_free (NULL is a no-op). Built single-threaded,
 * then read-only: lookups from any number of threads. Errors: -ENOMEM, -E2BIG
 * (a value of 16 MiB or more, or 2^40 bytes of values in all), -EINVAL.
 */
#ifndef STRSET_H
#define STRSET_H
#include <stddef.h>
#include <stdint.h>

#include "value.h"

struct strset;

struct strset *strset_new(void);
void strset_free(struct strset *s);

/* Adds one untyped text value (string, and number if it parses as one). */
int strset_add(struct strset *s, const char *v, size_t n);
/* Adds a value of a known kind (for typed `in [...]` literals): kind 's' a
 * string only, 'n' a number only (v is the token), 't' true, 'f' false,
 * 'z' null. */
int strset_add_literal(struct strset *s, int kind, const char *v, size_t n);
/* Adds a parsed number (a nan is not added: it equals nothing). */
int strset_add_num(struct strset *s, const struct value_num *v);

/*
 * Adds every line of buf[0..len): lines split at '\n', a trailing '\r' is
 * removed, no other trimming or unquoting; empty lines are ignored. A line
 * longer than max_line is an error (-E2BIG, *bad_line = its 1-based number).
 */
int strset_add_lines(struct strset *s, const char *buf, size_t len, size_t max_line,
		     size_t *bad_line);
/*
 * Reads a set file (plain text; read(2) in 1 MiB chunks, no whole-file
 * buffering) and adds its lines as strset_add_lines does. The file's only I/O
 * lives here. Errors: negative errno from open/read, or as above.
 */
int strset_load_file(struct strset *s, const char *path, size_t max_line, size_t *bad_line);

int strset_has_str(const struct strset *s, const char *v, size_t n);
int strset_has_num(const struct strset *s, const struct value_num *v); /* -0.0 == 0; nan never */
int strset_has_bool(const struct strset *s, int b);
int strset_has_null(const struct strset *s);
size_t strset_count(const struct strset *s); /* distinct strings + numbers + flags */

#endif
