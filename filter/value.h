/*
 * value.h: on-demand helpers over scan_val views (scan.h): unescape a string,
 * parse a number, compare two values, write any value as compact JSON.
 *
 * The views come from a line that scan_record validated, so these functions
 * trust the grammar (they still never read outside the view and return
 * -EINVAL rather than misbehave on a view they did not expect).
 * Pure functions: no allocation, no globals, thread-safe; output goes to a
 * caller buffer and a too-small buffer gives -ENOSPC (nothing useful written).
 *
 * Unescaping (value_unescape) gives UTF-8:
 *   JSON: \" \\ \/ \b \f \n \r \t \uXXXX; a surrogate pair becomes one 4-byte
 *         sequence; a LONE surrogate becomes U+FFFD (cJSON rejects such input,
 *         Python keeps it; JSONTestSuite lists them under i_).
 *   Python text: \\ \' \" \a \b \f \n \r \t \v, octal (1-3 digits, code point
 *         <= 0o777), \xNN (code point U+00NN, so '\xe9' -> "é" = C3 A9),
 *         \uNNNN, \UNNNNNNNN (lone surrogates -> U+FFFD, > U+10FFFF -> -EINVAL),
 *         backslash-newline -> nothing, unknown escape -> kept with its '\'.
 *   Python bytes (b''): \xNN and octal give the raw byte; \u, \U are literal.
 *   The output is never longer than the input: cap >= v->len always suffices.
 *
 * Numbers: value_number gives an exact int64 for integer tokens that fit,
 * else a double (correctly rounded: strtod on a bounded copy, with an exact
 * fast path for short decimals). strtod is locale-dependent: the program does
 * not call setlocale(LC_NUMERIC), so "." is the decimal point.
 *
 * Comparison (value_cmp): numbers compare numerically and exactly (an int64
 * meets a double by its exact value, never rounded to a double first, as
 * Python compares int and float: 2^53 + 1 > 2^53 == 9007199254740992.0;
 * nan is unordered), strings bytewise over the
 * UNESCAPED UTF-8 (= code point order), bools false < true, null == null
 * (JSON and Python spellings are the same values: True == true,
 * None == null). Values of different types, and objects/arrays, are
 * unordered: VALUE_CMP_NONE.
 */
#ifndef VALUE_H
#define VALUE_H
#include <stddef.h>
#include <stdint.h>

#include "scan.h"

struct value_num {
	int is_int; /* 1: i holds the exact value (d holds it too, rounded) */
	int64_t i;
	double d;
};

/* String view -> UTF-8 in out[0..*outlen) (not NUL-terminated). -EINVAL if v
 * is not a string or holds an escape scan_record would not have accepted. */
int value_unescape(const struct scan_val *v, char *out, size_t cap, size_t *outlen);

/* Does the string view, unescaped, equal s[0..n)? Streams the unescaping
 * (no buffer needed). 0 for a non-string view. */
int value_str_eq(const struct scan_val *v, const char *s, size_t n);

/* Number view -> value_num. inf/-inf/nan give is_int = 0 and the double.
 * -EINVAL if v is not a number. */
int value_number(const struct scan_val *v, struct value_num *n);

/* Parses a number token from raw text (the same JSON/Python number grammar;
 * the whole of s[0..len) must be the token). Used for set files and literals.
 * -EINVAL if it is not a number; -ERANGE for a token longer than 500 bytes
 * that is not an exact int64 (not parsed: such a value compares as nothing). */
int value_parse_number(const char *s, size_t len, struct value_num *n);

#define VALUE_CMP_NONE 2 /* *res when the two values are unordered */
/* -1, 0, 1 or VALUE_CMP_NONE (a nan): the exact order of value_cmp. */
int value_num_cmp(const struct value_num *a, const struct value_num *b);
/* 1 and *out = n's value if n is a whole number that fits an int64 (5, 5.0,
 * 5e0 alike), else 0: the one spelling of an integer, whatever its token. */
int value_num_int(const struct value_num *n, int64_t *out);
/* *res = -1, 0, 1 or VALUE_CMP_NONE. scratch (>= a.len + b.len bytes when both
 * are escaped strings; else may be small) receives unescaped text.
 * -ENOSPC if scratch is too small. */
int value_cmp(const struct scan_val *a, const struct scan_val *b, char *scratch, size_t cap,
	      int *res);

/*
 * Writes v as compact JSON (no spaces) to out: JSON input keeps its string
 * escapes and number tokens as written; Python input is converted: strings are
 * unescaped and re-escaped for JSON (", \, control characters as \n \t \r \b
 * \f or \u00XX; other bytes, UTF-8 included, pass through), True/False/None ->
 * true/false/null, tuples -> arrays, non-string keys -> strings of their token
 * text ({1: 'a'} -> {"1":"a"}, as json.dumps does), inf/-inf/nan -> null
 * (JSON has no such numbers), bytes b'' -> a string of the raw bytes.
 * A missing value writes nothing (*outlen = 0).
 * cap >= 6 * v->len + 8 always suffices (Python '\0' -> "\u0000").
 */
int value_write_json(const struct scan_val *v, char *out, size_t cap, size_t *outlen);

/* Writes s[0..n) (UTF-8 or any bytes) as the BODY of a JSON string (no quotes):
 * escapes ", \ and control bytes; returns bytes written or -ENOSPC
 * (cap >= 6 * n suffices). */
long value_json_escape(const char *s, size_t n, char *out, size_t cap);

#endif
