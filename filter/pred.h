/*
 * pred.h: the predicate language of `filter -w EXPR`: parse once into a tree
 * whose field paths are registered in a scan_fields set (scan.h), then
 * evaluate against the slots of each scanned record.
 *
 * GRAMMAR (keywords are case-sensitive lower case; `&&` `||` `!` are synonyms)
 *   expr    := and ( ('or' | '||') and )*
 *   and     := unary ( ('and' | '&&') unary )*
 *   unary   := ('not' | '!') unary | '(' expr ')' | test
 *   test    := 'exists' '(' path ')' | 'missing' '(' path ')'
 *            | 'true' | 'false'                        (constant; `-w true` keeps all)
 *            | path op literal
 *            | path ['not'] 'in' '[' literal (',' literal)* ']'
 *            | path ['not'] 'in' '@' file              (file: bytes up to space or ')',
 *                                                      or a quoted string '@"a b.txt"')
 *            | path ('startswith' | 'endswith' | 'contains') string
 *            | path ('matches' | '=~') string          (POSIX extended regex, libc
 *                                                      regcomp/regexec: no new
 *                                                      dependency; REG_NOSUB;
 *                                                      refused: stacked quantifiers
 *                                                      `a++`, bounds > 255, bounds
 *                                                      multiplying past 4096: glibc
 *                                                      needs exponential memory)
 *   op      := '==' | '=' | '!=' | '<' | '<=' | '>' | '>='
 *   literal := number (JSON grammar, e.g. -3, 9.49, 1e3) | string ('...' or "..."
 *              with \\ \' \" \n \t \r \uXXXX escapes; any other backslash
 *              pair is kept as written, so '\.' reaches a regex as \.)
 *              | true | false | null
 *              | True | False | None
 *   path    := scan.h field path (user.country, tags[0], ['odd key'].x);
 *              a key named like a keyword needs brackets: ['and'].
 *
 * SEMANTICS (SQL-like for absent values, two-valued logic):
 *   - A MISSING or NULL field never satisfies a test other than exists/missing
 *     and `== null`: `amount > 100`, `amount != 5`, `country in [...]`,
 *     `country not in [...]`, `name contains 'x'` are all FALSE when the field
 *     is missing or null (one exception: a null field matches `in [...]` or
 *     `in @FILE` when the list holds null). `not` is plain negation: `not (country == 'DE')` is
 *     TRUE for a record without country (while `country != 'DE'` is false).
 *   - `x == null` is true iff x is present and null; `x != null` iff present
 *     and not null. exists(x): present (null counts as present);
 *     missing(x): not present.
 *   - Numbers compare numerically (int64 exactly, else double; 5 == 5.0);
 *     strings bytewise on the unescaped UTF-8; true == True, null == None.
 *     Different types: == false, != TRUE (a present, non-null value of
 *     another type is "not equal"), < <= > >= false. Objects/arrays: == false,
 *     != true, ordering false. A string field never equals a number literal
 *     ('5' != 5), except through `in @FILE`, whose lines are untyped text
 *     (strset.h): a number field matches a line numerically, a string field by
 *     text.
 *   - startswith/endswith/contains/matches apply to string fields only (other
 *     types: false). Regexes see the unescaped text; text after an embedded
 *     NUL (\u0000) is not seen by regexec.
 *   - The comparison of a field path that is a prefix of a longer path still
 *     sees the whole value (`user == null`).
 *
 * ERRORS: pred_compile fills struct pred_error: a message and the 0-based byte
 * column in the expression; pred_error_format renders "msg at column N" plus
 * the expression and a caret line under the column.
 *
 * Ownership: pred_compile returns a heap tree (pred_free; NULL is a no-op)
 * that keeps its own copies of literals and owns loaded sets and compiled
 * regexes; it registers paths in the caller's scan_fields (which must outlive
 * nothing of the pred: slots are plain indexes). After compile the pred is
 * read-only: pred_eval may run in many threads at once, each with its own
 * scratch buffer. pred_eval allocates nothing.
 */
#ifndef PRED_H
#define PRED_H
#include <stddef.h>

#include "scan.h"

struct pred;

struct pred_error {
	size_t col;    /* 0-based byte offset in the expression */
	char msg[200]; /* NUL-terminated, no trailing newline */
};

/*
 * Loads `in @FILE` sets. NULL loader -> strset_load_file() with max_line
 * 65536. A custom loader (tests, the program's own file access) fills the set
 * and returns 0 or a negative errno (the message then names the file and
 * strerror).
 */
struct strset;
typedef int (*pred_loader_fn)(void *ctx, const char *path, struct strset *set);

struct pred_opts {
	pred_loader_fn loader; /* may be NULL */
	void *loader_ctx;
};

/* expr: NUL-terminated. opts may be NULL. Returns 0 and *out, or -EINVAL
 * (syntax; err filled), -ENOENT/-EACCES/... (set file; err filled), -ENOMEM. */
int pred_compile(const char *expr, struct scan_fields *fields, const struct pred_opts *opts,
		 struct pred **out, struct pred_error *err);
void pred_free(struct pred *p);

/*
 * Evaluates against the slots of one record scanned with the same fields set.
 * scratch: caller-owned, reused across records, for unescaping strings; with
 * cap >= the line's length + 1 no test can fail for lack of space.
 * Returns 1 (match), 0 (no match) or -ENOSPC (scratch too small for a string
 * that needed unescaping).
 */
int pred_eval(const struct pred *p, const struct scan_val *slots, char *scratch, size_t cap);

/*
 * LITERAL CONDITIONS (for the raw prefilter, prefilter.h). pred_clauses()
 * derives from the tree a conjunction of clauses that every record the
 * predicate matches satisfies: for EACH clause, the record holds somewhere (as
 * any value or key, at any depth) a string whose UNESCAPED text satisfies at
 * least ONE atom of the clause:
 *   PRED_ATOM_EQ      text == s        (`p == 'x'`, `p in ['x', 'y']`)
 *   PRED_ATOM_PREFIX  text starts with s (`startswith`; s not empty)
 *   PRED_ATOM_SUFFIX  text ends with s   (`endswith`; s not empty)
 *   PRED_ATOM_SUB     text contains s    (`contains`; s not empty)
 * Derivation (conservative): a test above gives one clause; `and` the clauses
 * of both sides; `or` one clause, the union of the best clause of each side,
 * only when both sides have one; `not`, `!=`, ordering, numbers, bools, null,
 * `not in`, `in @FILE`, a list holding a non-string value, exists, missing,
 * regexes and constants give none. A clause over PRED_MAX_ATOMS atoms is
 * dropped. Returns the number of clauses written to out (at most max; 0: no
 * condition, every line must be scanned). Atoms point into p's literals.
 */
#define PRED_MAX_ATOMS 16
enum pred_atom_kind { PRED_ATOM_EQ, PRED_ATOM_PREFIX, PRED_ATOM_SUFFIX, PRED_ATOM_SUB };
struct pred_atom {
	enum pred_atom_kind kind;
	const char *s;
	size_t n;
};
struct pred_clause {
	struct pred_atom a[PRED_MAX_ATOMS];
	size_t n;
};
size_t pred_clauses(const struct pred *p, struct pred_clause *out, size_t max);

/* "msg at column N\n  EXPR\n  ----^\n" into out (always NUL-terminated). */
void pred_error_format(const char *expr, const struct pred_error *err, char *out, size_t cap);

#endif
