/*
 * scan.h: the record scanner. Locates a compiled set of field paths in one
 * JSON or Python-dict line and validates the whole line in the same pass,
 * without building a tree: every value is a view (type + slice of the line),
 * unescaped later and only on demand (value.h).
 *
 * FIELD PATHS (the syntax shared by predicates and column lists)
 *   path    := first ( '.' name | '[' index ']' | '[' quoted ']' )*
 *   first   := name | '[' quoted ']'
 *   name    := one or more bytes of [A-Za-z0-9_$-] or any byte >= 0x80
 *              (UTF-8 key names work bare: `größe`). `a.0` is the KEY "0".
 *   index   := decimal digits (0 .. 2^31-1): an element of a list or tuple.
 *              Negative indexes and wildcards are not supported.
 *   quoted  := '"' ... '"' or '\'' ... '\'' with the escapes \\ \" \' only;
 *              any other key: `["odd key"]`, `a['x.y']`, `['and']`.
 *   Examples: user.country, tags[0], payload.commits[2].author.name,
 *   related["also_bought"][0], ['key with space'].
 * Key matching compares the path's bytes with the UNESCAPED key (so
 * "caf\u00e9" matches `café`). In a Python dict a non-string key (1, 2.5,
 * True, None) matches a name equal to its token text (`ranks.1`). When a key
 * occurs twice in one object the LAST occurrence wins (Python dict(), json.loads
 * and jq semantics; cJSON returns the first: the differential test skips such
 * keys).
 *
 * FORMATS
 *   SCAN_JSON   RFC 8259, strict: JSONTestSuite y_ accepted, n_ rejected.
 *               Whitespace: space, \t, \n, \r. Nesting deeper than
 *               SCAN_MAX_DEPTH is rejected. Bytes inside strings are not
 *               UTF-8-validated (they pass through; JSONTestSuite lists
 *               invalid UTF-8 only under i_).
 *   SCAN_PYDICT What Python's repr()/str() writes for dicts (the McAuley
 *               Amazon dumps): 'single' or "double" quoted strings with an
 *               optional u/U (text) or b/B (bytes) prefix; escapes \\ \' \"
 *               \a \b \f \n \r \t \v, octal \o \oo \ooo, \xNN, \uNNNN and
 *               \UNNNNNNNN (not in bytes), backslash-newline; an unknown escape
 *               keeps its backslash (as Python does); \N{name} is REJECTED (not
 *               supported). True/False/None; ints; floats incl. exponents and
 *               the tokens inf, -inf, nan (repr writes them); dicts (keys:
 *               strings, numbers, True/False/None; tuple keys are rejected), lists, tuples
 *               (`(v)` is read as a 1-tuple; Python reads it as v, repr never
 *               writes it); trailing commas as Python allows. Whitespace: space,
 *               \t, \n, \r, \f. Not accepted: sets, raw strings, implicit string
 *               concatenation, complex numbers, Python 2 `123L`, leading zeros.
 *               Raw newlines inside a string are rejected, and so is a NUL
 *               byte in a string, raw or after a backslash (Python: "source
 *               code string cannot contain null bytes"); other raw control
 *               bytes are legal in Python string literals and accepted.
 *   SCAN_AUTO   Each line is tried as strict JSON first; if that fails it is
 *               tried as a Python dict; the format that worked is returned in
 *               res->format. If both fail, the error of the attempt that got
 *               further is returned. So in AUTO mode a JSONTestSuite n_ file
 *               that happens to be a valid Python literal ({'a':1}, [1,]) is
 *               accepted: the JSON conformance tests force SCAN_JSON.
 * A record must be an OBJECT (a dict). A line that is a valid value but not an
 * object (e.g. `[1]`, `"x"`, JSONTestSuite y_array_*) is rejected with
 * -EINVAL and reason "record is not an object", res->not_object = 1;
 * scan_validate() checks any value (used by the JSONTestSuite test: every y_
 * file passes scan_validate, and those whose top level is an object also pass
 * scan_record).
 *
 * A line is given WITHOUT its '\n'; a trailing '\r' is whitespace. The buffer
 * is read only in [line, line+len): no NUL or padding needed; NUL bytes in
 * the line are data (and rejected outside strings).
 *
 * Ownership: a scan_fields is built single-threaded (scan_fields_new, _add*),
 * then is read-only: any number of threads may call scan_record with the same
 * set, each with its own slot array. Slots point into the caller's line and
 * are valid while it is. scan_record allocates nothing and has no globals.
 * Errors: 0 or negative errno. Malformed records: -EINVAL with reason/offset.
 */
#ifndef SCAN_H
#define SCAN_H
#include <stddef.h>
#include <stdint.h>

#define SCAN_MAX_DEPTH 512 /* nesting cap (JSONTestSuite has 100000-deep n_ files) */
#define SCAN_MAX_PATH 1024 /* bytes of one path's text */

enum scan_format { SCAN_AUTO = 0, SCAN_JSON, SCAN_PYDICT };

enum scan_type {
	SCAN_MISSING = 0, /* path not present in this record (slot default) */
	SCAN_NULL,	  /* null / None */
	SCAN_BOOL,	  /* true/false/True/False: SCAN_F_TRUE tells which */
	SCAN_NUMBER,	  /* p/len = the number token exactly as written */
	SCAN_STRING,	  /* p/len = the bytes BETWEEN the quotes, still escaped */
	SCAN_OBJECT,	  /* p/len = whole '{...}' slice */
	SCAN_ARRAY,	  /* p/len = whole '[...]' or '(...)' (Python tuple) slice */
};

/* scan_val.flags */
#define SCAN_F_PY 0x01	    /* from a Python-dict line: Python escapes/literals */
#define SCAN_F_ESC 0x02	    /* string holds backslash escapes (else raw bytes = text) */
#define SCAN_F_TRUE 0x04    /* bool: true */
#define SCAN_F_INT 0x08	    /* number: no '.', exponent, inf or nan */
#define SCAN_F_BYTES 0x10   /* Python b'' string: \xNN are bytes, no \u */
#define SCAN_F_TUPLE 0x20   /* array written as a Python tuple */
#define SCAN_F_SPECIAL 0x40 /* number is inf, -inf or nan (Python only) */

/* One value view; 16 bytes so slot arrays stay in cache. len < 2^32 (lines
 * are capped far below that by the program). */
struct scan_val {
	const char *p;
	uint32_t len;
	uint8_t type;  /* enum scan_type */
	uint8_t flags; /* SCAN_F_* */
	uint16_t pad;
};

struct scan_result {
	enum scan_format format; /* format the line was read as */
	size_t err_off;		 /* on -EINVAL: byte offset of the error (0-based;
				    print err_off + 1 as the "column") */
	const char *err_reason;	 /* on -EINVAL: static string, e.g. "expected ':'" */
	int not_object;		 /* on -EINVAL: 1 when the line is a valid value
				    but not an object/dict */
};

struct scan_fields; /* opaque: the compiled path trie */

struct scan_fields *scan_fields_new(void);
void scan_fields_free(struct scan_fields *f); /* NULL is a no-op */

/*
 * Parses ONE path at the start of s[0..len) and registers it. Parsing stops
 * at the first byte that cannot continue the path (space, ',', ')', an
 * operator ...): *consumed gets the number of bytes used (the caller -- the
 * predicate parser, a column-list parser -- continues from there).
 * *slot gets the slot index of the path; registering the same path twice
 * gives the same slot. A path may be a prefix of another (`user` and
 * `user.country`): both are filled.
 * Errors: -EINVAL with *errpos (offset in s) and *errmsg (static string) set
 * when no valid path starts at s; -ENOMEM; -E2BIG beyond SCAN_MAX_PATH bytes
 * or 4096 registered path nodes.
 */
int scan_fields_add_prefix(struct scan_fields *f, const char *s, size_t len, size_t *consumed,
			   size_t *slot, size_t *errpos, const char **errmsg);
/* Same for a whole string that must be exactly one path (NUL-terminated). */
int scan_fields_add(struct scan_fields *f, const char *path, size_t *slot, size_t *errpos,
		    const char **errmsg);
/*
 * Parses a comma-separated column list ("id,ts,user.id, ['a,b']"; spaces
 * around commas allowed) and registers each path: slots[i] gets the slot of
 * column i, *ncols the count (at most max_cols, else -E2BIG). Errors as above
 * (errpos is an offset in list).
 */
int scan_fields_add_list(struct scan_fields *f, const char *list, size_t *slots, size_t max_cols,
			 size_t *ncols, size_t *errpos, const char **errmsg);

/* Number of slots a scan needs (slot indexes are < this). Stable once every
 * path is added. */
size_t scan_fields_nslots(const struct scan_fields *f);

/*
 * Scans one record. slots must hold scan_fields_nslots(f) entries; every slot
 * is overwritten (SCAN_MISSING when absent). Returns 0 for a valid record,
 * -EINVAL for a malformed one (res->err_*, slot contents then undefined).
 * res may not be NULL.
 */
int scan_record(const struct scan_fields *f, const char *line, size_t len, enum scan_format fmt,
		struct scan_val *slots, struct scan_result *res);

/* Validates one value of any type (object, array, string, number ...) with
 * the same grammar; 0 or -EINVAL with res->err_*. fmt SCAN_AUTO as above. */
int scan_validate(const char *line, size_t len, enum scan_format fmt, struct scan_result *res);

const char *scan_type_name(enum scan_type t); /* "missing", "null", ... */

#endif
