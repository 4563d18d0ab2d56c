/*
 * scan_tok.h: PRIVATE to scan.c: the token readers of the record scanner
 * (whitespace, separators, JSON and Python strings, numbers, literals) and the
 * scanner state they report errors into. They are static inline, most of them
 * always_inline, because the walkers in scan.c call them once per token with
 * `py` a constant: the compiler then specialises each reader per format and
 * keeps it in the loop. Moving them behind a call would cost that; including
 * this header anywhere but scan.c would duplicate the code.
 *
 * A reader takes p (the token's first byte, p < s->end), fills a scan_val
 * where it reads a value and returns the byte after the token, or NULL after
 * tok_fail() recorded the first error. Nothing allocates; SSE2 (the x86-64
 * baseline) reads 16 bytes at a time where present.
 */
#ifndef SCAN_TOK_H
#define SCAN_TOK_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scan.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#define SCAN_SSE2 1
#endif

struct sc {
	const char *start, *end;
	const char *err_at;
	const char *err;
	const struct scan_fields *f;
	struct scan_val *slots;
	int depth; /* containers open in match_value */
	/* tok_block's cache: stop bytes of the 64 bytes at blk (bit i: blk[i]);
	 * blk NULL or out of the line: empty. Reset per attempt (scan_one). */
	const char *blk;
	uint64_t bstop;
};

/* Byte classes for the scalar string loops: 1 = stop in a JSON string. */
static const unsigned char tok_json_stop[256] = {
    [0 ... 0x1f] = 1,
    ['"'] = 1,
    ['\\'] = 1,
};

static inline const char *tok_fail(struct sc *s, const char *at, const char *why)
{
	if (!s->err) {
		s->err = why;
		s->err_at = at;
	}
	return NULL;
}

static inline int tok_is_ws(unsigned char c, int py)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || (py && c == '\f');
}

static inline __attribute__((always_inline)) const char *tok_ws(const char *p, const char *end,
								int py)
{
	/* Every whitespace byte is <= 0x20, and most calls see none or the one
	 * space json.dumps/repr put after ':' and ','. */
	if (p < end && (unsigned char)*p > 0x20)
		return p;
	if (p < end && *p == ' ') {
		p++;
		if (p < end && (unsigned char)*p > 0x20)
			return p;
	}
	while (p < end && tok_is_ws((unsigned char)*p, py))
		p++;
	return p;
}

/*
 * Is p at separator c followed by one space (json.dumps and repr write ": "
 * and ", ")? One 16-bit compare instead of the two whitespace scans around
 * the separator; any other layout takes the general path.
 */
static inline __attribute__((always_inline)) int tok_sep_sp(const char *p, const char *end, char c)
{
	uint16_t w, want = (uint16_t)((unsigned char)c | (' ' << 8));
	if (end - p < 2)
		return 0;
	memcpy(&w, p, 2);
	return w == want; /* little- or big-endian: want is built the same way */
}

static inline int tok_is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

static inline int tok_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/*
 * JSON string at p (the opening quote). Fills v (content slice, ESC flag);
 * returns the byte after the closing quote or NULL.
 */
static inline __attribute__((always_inline)) const char *
tok_json_string(struct sc *s, const char *p, struct scan_val *v)
{
	const char *end = s->end;
	const char *q = p + 1;
	uint8_t flags = 0;
	for (;;) {
#ifdef SCAN_SSE2
		const __m128i dq = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'),
			      lim = _mm_set1_epi8(0x1f);
		while (q + 16 <= end) {
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
			__m128i m = _mm_or_si128(_mm_cmpeq_epi8(x, dq), _mm_cmpeq_epi8(x, bs));
			m = _mm_or_si128(m, _mm_cmpeq_epi8(_mm_max_epu8(x, lim), lim));
			unsigned mask = (unsigned)_mm_movemask_epi8(m);
			if (mask) {
				/* The closing quote is the common stop: one byte
				 * compare is cheaper than a second mask. */
				q += __builtin_ctz(mask);
				if (*q == '"')
					goto closed;
				goto found;
			}
			q += 16;
		}
#endif
		while (q < end && !tok_json_stop[(unsigned char)*q])
			q++;
		if (q >= end)
			return tok_fail(s, p, "unterminated string");
#ifdef SCAN_SSE2
	found:
#endif
		if (*q == '"')
			break;
		if (*q != '\\')
			return tok_fail(s, q, "control character in string");
		flags = SCAN_F_ESC;
		if (q + 1 >= end)
			return tok_fail(s, q, "unterminated string");
		switch (q[1]) {
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			q += 2;
			break;
		case 'u':
			if (end - q < 6 || !tok_is_hex((unsigned char)q[2]) ||
			    !tok_is_hex((unsigned char)q[3]) || !tok_is_hex((unsigned char)q[4]) ||
			    !tok_is_hex((unsigned char)q[5]))
				return tok_fail(s, q, "bad \\u escape");
			q += 6;
			break;
		default:
			return tok_fail(s, q, "bad escape in string");
		}
	}
#ifdef SCAN_SSE2
closed:
#endif
	v->p = p + 1;
	v->len = (uint32_t)(q - (p + 1));
	v->type = SCAN_STRING;
	v->flags = flags;
	return q + 1;
}

/*
 * Fast path for the common short JSON string: the whole body and its closing
 * quote lie in the 16 bytes after the opening quote at p, with no backslash
 * or control byte before that quote. Returns the byte after the closing quote
 * and the body length, or NULL when the general reader must decide (longer
 * string, escape, control byte, fewer than 17 readable bytes): NULL is not an
 * error and records none. Two masks and no loop: keys and most values of
 * event records are shorter than 16 bytes, and this saves the loop set-up and
 * the scan_val stores of tok_json_string for each of them.
 */
static inline __attribute__((always_inline)) const char *
tok_json_short(const char *p, const char *end, uint32_t *len)
{
#ifdef SCAN_SSE2
	if (end - p < 17)
		return NULL;
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + 1));
	const __m128i lim = _mm_set1_epi8(0x1f);
	/* one mask of every stop byte; the byte at the first stop tells the
	 * closing quote from a backslash or a control byte */
	__m128i st = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
				  _mm_cmpeq_epi8(x, _mm_set1_epi8('\\')));
	unsigned m = (unsigned)_mm_movemask_epi8(
	    _mm_or_si128(st, _mm_cmpeq_epi8(_mm_max_epu8(x, lim), lim)));
	if (!m)
		return NULL;
	unsigned n = (unsigned)__builtin_ctz(m);
	if (p[1 + n] != '"')
		return NULL;
	*len = n;
	return p + n + 2;
#else
	(void)p;
	(void)end;
	(void)len;
	return NULL;
#endif
}

/*
 * The same for a Python str literal without prefix: p at its quote byte q
 * (' or ", a constant in each caller). Falls back (NULL) on a backslash or
 * any byte 0x00..0x0f in the 16 bytes before the closing quote (NUL, \n and
 * \r are errors there; the other low controls are legal but rare, and the
 * general reader accepts them); the other quote byte is plain text.
 */
static inline __attribute__((always_inline)) const char *
tok_py_short(const char *p, const char *end, char q, uint32_t *len)
{
#ifdef SCAN_SSE2
	if (end - p < 17)
		return NULL;
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + 1));
	const __m128i lim = _mm_set1_epi8(0x0f);
	/* one mask of every stop byte; the byte at the first stop tells the
	 * closing quote from a backslash or a control byte */
	__m128i st = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(q)),
				  _mm_cmpeq_epi8(x, _mm_set1_epi8('\\')));
	unsigned m = (unsigned)_mm_movemask_epi8(
	    _mm_or_si128(st, _mm_cmpeq_epi8(_mm_max_epu8(x, lim), lim)));
	if (!m)
		return NULL;
	unsigned n = (unsigned)__builtin_ctz(m);
	if (p[1 + n] != q)
		return NULL;
	*len = n;
	return p + n + 2;
#else
	(void)p;
	(void)end;
	(void)q;
	(void)len;
	return NULL;
#endif
}

/* Short plain string at p for either format, or NULL (see above). */
static inline __attribute__((always_inline)) const char *tok_short(const char *p, const char *end,
								   int py, uint32_t *len)
{
	if (!py)
		return *p == '"' ? tok_json_short(p, end, len) : NULL;
	if (*p == '\'')
		return tok_py_short(p, end, '\'', len);
	return *p == '"' ? tok_py_short(p, end, '"', len) : NULL;
}

/*
 * Plain string at p via a cached 64-bit stop mask (s->blk, s->bstop): the
 * string's end is a shift and a bit scan of a mask already in hand, so the
 * walk's chain from one token to the next (load, compare, movemask, bit scan
 * per string in tok_short) gets shorter; the mask of the next 64 bytes is
 * built when a string starts past the cached block, off that chain. Stops
 * are the quote bytes, backslash and low control bytes of the format; the
 * byte at the first stop must be the string's own quote, else NULL (the
 * general reader decides, as with tok_short). Needs 64 readable bytes from
 * the block start, so the last bytes of a line take tok_short.
 */
static inline __attribute__((always_inline)) uint64_t tok_block_mask(const char *b, int py)
{
#ifdef SCAN_SSE2
	const __m128i lim = _mm_set1_epi8(py ? 0x0f : 0x1f), dq = _mm_set1_epi8('"'),
		      bs = _mm_set1_epi8('\\'), sq = _mm_set1_epi8('\'');
	uint64_t m = 0;
	for (int i = 0; i < 4; i++) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(b + 16 * i));
		__m128i st = _mm_or_si128(_mm_cmpeq_epi8(x, dq), _mm_cmpeq_epi8(x, bs));
		if (py)
			st = _mm_or_si128(st, _mm_cmpeq_epi8(x, sq));
		st = _mm_or_si128(st, _mm_cmpeq_epi8(_mm_max_epu8(x, lim), lim));
		m |= (uint64_t)(unsigned)_mm_movemask_epi8(st) << (16 * i);
	}
	return m;
#else
	(void)b;
	(void)py;
	return 0;
#endif
}

static inline __attribute__((always_inline)) const char *tok_block(struct sc *s, const char *p,
								   int py, uint32_t *len)
{
	const char q = *p;
	if (q != '"' && !(py && q == '\''))
		return NULL;
	const char *b = p + 1;
	size_t off = (size_t)((uintptr_t)b - (uintptr_t)s->blk);
	uint64_t m = off < 64 ? s->bstop >> off : 0;
	if (!m) {
		if (s->end - b < 64)
			return tok_short(p, s->end, py, len);
		s->blk = b;
		s->bstop = tok_block_mask(b, py);
		m = s->bstop;
		if (!m)
			return NULL; /* 64 bytes without a stop: the general reader */
	}
	b += __builtin_ctzll(m);
	if (*b != q)
		return NULL;
	*len = (uint32_t)(b - (p + 1));
	return b + 1;
}

/*
 * Python string at p: optional u/U/b/B prefix, then ' or ". Python escapes
 * are all "backslash + next byte" except the counted ones (\x \u \U \N),
 * which are checked here so value_unescape can trust them.
 */
static inline __attribute__((always_inline)) const char *tok_py_string(struct sc *s, const char *p,
								       struct scan_val *v)
{
	const char *end = s->end;
	uint8_t flags = SCAN_F_PY;
	const char *q = p;
	if (*q == 'b' || *q == 'B') {
		flags |= SCAN_F_BYTES;
		q++;
	} else if (*q == 'u' || *q == 'U') {
		q++;
	}
	if (q >= end || (*q != '\'' && *q != '"'))
		return tok_fail(s, p, "unexpected character");
	const char quote = *q;
	const char *body = ++q;
	for (;;) {
#ifdef SCAN_SSE2
		/* Both quote bytes stop the vector loop (constant vectors are cheaper
		 * than a per-string broadcast); the other quote is rare inside a
		 * string and is stepped over below. */
		/* (x | 5) == 0x27 is x in {'"', '#', '&', '\''}; max(x, 0x0f) ==
		 * 0x0f is x in 0x00..0x0f, which holds NUL, '\n' and '\r' (repr
		 * never writes the others raw). Four ops fewer than six compares; a
		 * false stop is stepped over below. */
		const __m128i q27 = _mm_set1_epi8(0x27), o5 = _mm_set1_epi8(5),
			      c0f = _mm_set1_epi8(0x0f), bs = _mm_set1_epi8('\\');
		while (q + 16 <= end) {
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
			__m128i m = _mm_or_si128(_mm_cmpeq_epi8(_mm_or_si128(x, o5), q27),
						 _mm_cmpeq_epi8(_mm_max_epu8(x, c0f), c0f));
			m = _mm_or_si128(m, _mm_cmpeq_epi8(x, bs));
			int mask = _mm_movemask_epi8(m);
			if (mask) {
				q += __builtin_ctz((unsigned)mask);
				goto found;
			}
			q += 16;
		}
#endif
		while (q < end && *q != quote && *q != '\\' && *q != '\n' && *q != '\r' &&
		       *q != '\0')
			q++;
		if (q >= end)
			return tok_fail(s, p, "unterminated string");
#ifdef SCAN_SSE2
	found:
#endif
		if (*q == quote)
			break;
		if (*q != '\\') {
			if (*q == '\n' || *q == '\r')
				return tok_fail(s, q, "newline in string");
			/* Python refuses NUL anywhere in source ("source code string
			 * cannot contain null bytes"); other raw controls are legal. */
			if (*q == '\0')
				return tok_fail(s, q, "NUL byte in string");
			q++; /* the other quote, or a false stop of the vector loop */
			continue;
		}
		flags |= SCAN_F_ESC;
		if (q + 1 >= end)
			return tok_fail(s, q, "unterminated string");
		unsigned char e = (unsigned char)q[1];
		size_t need = 0;
		if (e == '\0')
			return tok_fail(s, q + 1, "NUL byte in string");
		if (e == 'x')
			need = 2;
		else if ((e == 'u' || e == 'U' || e == 'N') && !(flags & SCAN_F_BYTES))
			need = e == 'u' ? 4 : e == 'U' ? 8 : 0;
		if (e == 'N' && !(flags & SCAN_F_BYTES))
			return tok_fail(s, q, "\\N{...} escapes are not supported");
		if (e == '\r' && q + 2 < end && q[2] == '\n')
			q++; /* backslash-CRLF continuation */
		if ((size_t)(end - q) < 2 + need)
			return tok_fail(s, q, "truncated escape");
		for (size_t k = 0; k < need; k++)
			if (!tok_is_hex((unsigned char)q[2 + k]))
				return tok_fail(s, q, "bad hex escape");
		if (e == 'U' && !(flags & SCAN_F_BYTES)) {
			unsigned long cp = 0;
			for (size_t k = 0; k < 8; k++) {
				unsigned char h = (unsigned char)q[2 + k];
				cp = cp * 16 +
				     (unsigned)(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
			}
			if (cp > 0x10FFFF)
				return tok_fail(s, q, "\\U escape beyond U+10FFFF");
		}
		q += 2 + need;
	}
	v->p = body;
	v->len = (uint32_t)(q - body);
	v->type = SCAN_STRING;
	v->flags = flags;
	return q + 1;
}

/* Number token at p (JSON grammar; Python adds inf/nan). */
static inline __attribute__((always_inline)) const char *tok_number(struct sc *s, const char *p,
								    int py, struct scan_val *v)
{
	const char *end = s->end, *q = p;
	uint8_t flags = SCAN_F_INT;
	if (*q == '-')
		q++;
#ifdef SCAN_SSE2
	/* Fast path for the common `-?[1-9][0-9]*(.[0-9]+)?` (or a lone 0) with
	 * 16 readable bytes: one digit mask finds the integer part, the dot and
	 * the fraction. Anything else (leading zero followed by a digit, an
	 * exponent, a digit run reaching the 16th byte, an error) falls through
	 * to the byte loop below, which reparses from q and reports errors. */
	if (end - q >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
		__m128i t = _mm_sub_epi8(x, _mm_set1_epi8('0'));
		unsigned dig = (unsigned)_mm_movemask_epi8(
		    _mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8(9)), t));
		unsigned nd = ~dig | 0x10000u; /* bit 16: stop */
		unsigned i = (unsigned)__builtin_ctz(nd);
		if (i > 0 && i < 16 && (*q != '0' || i == 1)) {
			if (q[i] == '.') {
				unsigned j = (unsigned)__builtin_ctz(nd & (~0u << (i + 1)));
				if (j > i + 1 && j < 16 && (q[j] | 0x20) != 'e') {
					v->p = p;
					v->len = (uint32_t)(q + j - p);
					v->type = SCAN_NUMBER;
					v->flags = py ? SCAN_F_PY : 0;
					return q + j;
				}
			} else if ((q[i] | 0x20) != 'e') {
				v->p = p;
				v->len = (uint32_t)(q + i - p);
				v->type = SCAN_NUMBER;
				v->flags = SCAN_F_INT | (py ? SCAN_F_PY : 0);
				return q + i;
			}
		}
	}
#endif
	if (q >= end)
		return tok_fail(s, p, "invalid number");
	if (*q == '0') {
		q++;
	} else if (*q >= '1' && *q <= '9') {
		q++;
		while (q < end && tok_is_digit((unsigned char)*q))
			q++;
	} else if (py && end - q >= 3 && (memcmp(q, "inf", 3) == 0 || memcmp(q, "nan", 3) == 0)) {
		q += 3;
		v->p = p;
		v->len = (uint32_t)(q - p);
		v->type = SCAN_NUMBER;
		v->flags = SCAN_F_PY | SCAN_F_SPECIAL;
		return q;
	} else {
		return tok_fail(s, p, "invalid number");
	}
	if (q < end && *q == '.') {
		q++;
		if (q >= end || !tok_is_digit((unsigned char)*q))
			return tok_fail(s, q, "digit expected after '.'");
		while (q < end && tok_is_digit((unsigned char)*q))
			q++;
		flags = 0;
	}
	if (q < end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < end && (*q == '+' || *q == '-'))
			q++;
		if (q >= end || !tok_is_digit((unsigned char)*q))
			return tok_fail(s, q, "digit expected in exponent");
		while (q < end && tok_is_digit((unsigned char)*q))
			q++;
		flags = 0;
	}
	v->p = p;
	v->len = (uint32_t)(q - p);
	v->type = SCAN_NUMBER;
	v->flags = flags | (py ? SCAN_F_PY : 0);
	return q;
}

static inline int tok_lit(const char *p, const char *end, const char *w, size_t n)
{
	return (size_t)(end - p) >= n && memcmp(p, w, n) == 0;
}

/*
 * One scalar at p (p < end, not whitespace). Containers are not scalars:
 * returns NULL without error for '{' '[' '(' so callers can branch.
 */
static inline __attribute__((always_inline)) const char *tok_scalar(struct sc *s, const char *p,
								    int py, struct scan_val *v)
{
	const char *end = s->end;
	switch (*p) {
	case '"':
		return py ? tok_py_string(s, p, v) : tok_json_string(s, p, v);
	case '\'':
		if (py)
			return tok_py_string(s, p, v);
		break;
	case '-':
	case '0':
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
	case '6':
	case '7':
	case '8':
	case '9':
		return tok_number(s, p, py, v);
	}
	if (!py) {
		v->flags = 0;
		if (*p == 't' && tok_lit(p, end, "true", 4)) {
			v->type = SCAN_BOOL;
			v->flags = SCAN_F_TRUE;
			v->p = p;
			v->len = 4;
			return p + 4;
		}
		if (*p == 'f' && tok_lit(p, end, "false", 5)) {
			v->type = SCAN_BOOL;
			v->p = p;
			v->len = 5;
			return p + 5;
		}
		if (*p == 'n' && tok_lit(p, end, "null", 4)) {
			v->type = SCAN_NULL;
			v->p = p;
			v->len = 4;
			return p + 4;
		}
		return tok_fail(s, p, "unexpected character, expected a value");
	}
	switch (*p) {
	case '\'':
	case 'u':
	case 'U':
	case 'b':
	case 'B':
		return tok_py_string(s, p, v);
	case 'T':
		if (tok_lit(p, end, "True", 4)) {
			v->type = SCAN_BOOL;
			v->flags = SCAN_F_PY | SCAN_F_TRUE;
			v->p = p;
			v->len = 4;
			return p + 4;
		}
		break;
	case 'F':
		if (tok_lit(p, end, "False", 5)) {
			v->type = SCAN_BOOL;
			v->flags = SCAN_F_PY;
			v->p = p;
			v->len = 5;
			return p + 5;
		}
		break;
	case 'N':
		if (tok_lit(p, end, "None", 4)) {
			v->type = SCAN_NULL;
			v->flags = SCAN_F_PY;
			v->p = p;
			v->len = 4;
			return p + 4;
		}
		break;
	case 'i':
	case 'n':
		return tok_number(s, p, py, v);
	}
	return tok_fail(s, p, "unexpected character, expected a value");
}

/* A dict key at p (after whitespace): a JSON string, or a Python scalar
 * (a container as key is refused). */
static inline __attribute__((always_inline)) const char *
tok_key(struct sc *s, const char *p, const char *end, int py, struct scan_val *v)
{
	if (p >= end)
		return tok_fail(s, p, "unexpected end of line, expected a key");
	if (!py) {
		if (*p != '"')
			return tok_fail(s, p, "expected a string key");
		return tok_json_string(s, p, v);
	}
	if (*p == '{' || *p == '[' || *p == '(')
		return tok_fail(s, p, "unsupported dict key");
	return tok_scalar(s, p, py, v);
}

/* A name-like token must not run on into letters/digits (`Truex`, `1true`
 * are caught by the structural checks; this is for `infx`). */

#endif
