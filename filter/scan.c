/* Whole: the scanner walks the field trie inline per byte; a split would expose the trie. */
/*
 * scan.c: see scan.h. Two parts:
 *  - the field set: a trie of path segments, one node per distinct prefix;
 *    the node index is the slot index, node 0 is the record itself;
 *  - the scanner: match_value() walks only along trie nodes (recursion depth
 *    = path depth), everything else goes through skip_value(), an iterative
 *    validating skipper with an explicit stack of closing brackets. Strings
 *    are skipped 16 bytes at a time with SSE2 (x86-64 baseline) where present.
 * JSON and Python share the code; `py` is a constant in each caller so the
 * compiler specialises the inlined helpers per format.
 */
#include "scan.h"

#include "value.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#define SCAN_SSE2 1
#endif

#define NONE UINT32_MAX
#define MAX_NODES 4096
#define MAX_SEGS 128

struct sf_node {
	char *name; /* key bytes (unescaped), NULL for an index node */
	uint32_t name_len;
	int32_t index; /* >= 0: list/tuple element; -1: key */
	uint32_t parent;
	uint32_t first_child;
	uint32_t next_sibling;
	uint64_t key_bloom;	/* bit key_bit(name) set for each key child: rejects
				   most keys of a record with one test */
	uint16_t bit_head[64];	/* key children by key_bit: first node + 1 (0: none) */
	uint16_t next_same_bit; /* next sibling key node with the same key_bit, + 1 */
	uint8_t has_keys;	/* some child is a key node */
	uint8_t has_idx;	/* some child is an index node */
};

struct scan_fields {
	struct sf_node *nodes;
	size_t n, alloc;
	size_t max_name; /* longest key name: bounds unescaping of keys */
};

/* ---- field set ---------------------------------------------------------- */

struct scan_fields *scan_fields_new(void)
{
	struct scan_fields *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->alloc = 16;
	f->nodes = calloc(f->alloc, sizeof(*f->nodes));
	if (!f->nodes) {
		free(f);
		return NULL;
	}
	f->n = 1;
	f->nodes[0].index = -1;
	f->nodes[0].parent = NONE;
	f->nodes[0].first_child = NONE;
	f->nodes[0].next_sibling = NONE;
	return f;
}

void scan_fields_free(struct scan_fields *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		free(f->nodes[i].name);
	free(f->nodes);
	free(f);
}

size_t scan_fields_nslots(const struct scan_fields *f)
{
	return f->n;
}

static int is_name_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '$' || c == '-' || c >= 0x80;
}

struct seg {
	size_t off, len; /* into the name scratch, for keys */
	int32_t index;	 /* >= 0 for [n] */
};

/* Parses a quoted key at s[i] (the quote); appends its bytes to names. */
static int parse_quoted(const char *s, size_t len, size_t *i, char *names, size_t *nl,
			size_t *errpos, const char **errmsg)
{
	char q = s[*i];
	size_t j = *i + 1;
	for (;;) {
		if (j >= len) {
			*errpos = *i;
			*errmsg = "unterminated quoted key";
			return -EINVAL;
		}
		char c = s[j];
		if (c == q)
			break;
		if (c == '\\') {
			if (j + 1 >= len ||
			    (s[j + 1] != '\\' && s[j + 1] != '"' && s[j + 1] != '\'')) {
				*errpos = j;
				*errmsg =
				    "only \\\\, \\\" and \\' escapes are allowed in a quoted key";
				return -EINVAL;
			}
			c = s[++j];
		}
		if (*nl >= SCAN_MAX_PATH) {
			*errpos = j;
			*errmsg = "path too long";
			return -E2BIG;
		}
		names[(*nl)++] = c;
		j++;
	}
	*i = j + 1;
	return 0;
}

static int parse_path(const char *s, size_t len, size_t *consumed, char *names, struct seg *segs,
		      size_t *nsegs, size_t *errpos, const char **errmsg)
{
	size_t i = 0, nl = 0, ns = 0;
	int first = 1;
	for (;;) {
		int bracket = 0;
		if (first) {
			if (i < len && s[i] == '[')
				bracket = 1;
		} else if (i < len && s[i] == '.') {
			i++;
		} else if (i < len && s[i] == '[') {
			bracket = 1;
		} else {
			break;
		}
		if (ns >= MAX_SEGS) {
			*errpos = i;
			*errmsg = "path has too many segments";
			return -E2BIG;
		}
		if (bracket) {
			size_t open = i++;
			if (i < len && (s[i] == '"' || s[i] == '\'')) {
				size_t start = nl;
				int rc = parse_quoted(s, len, &i, names, &nl, errpos, errmsg);
				if (rc)
					return rc;
				segs[ns].off = start;
				segs[ns].len = nl - start;
				segs[ns].index = -1;
			} else if (i < len && s[i] >= '0' && s[i] <= '9') {
				long v = 0;
				while (i < len && s[i] >= '0' && s[i] <= '9') {
					v = v * 10 + (s[i] - '0');
					if (v > INT32_MAX) {
						*errpos = open + 1;
						*errmsg = "array index too large";
						return -EINVAL;
					}
					i++;
				}
				segs[ns].index = (int32_t)v;
				segs[ns].off = segs[ns].len = 0;
			} else {
				*errpos = i;
				*errmsg = "expected an index or a quoted key after '['";
				return -EINVAL;
			}
			if (i >= len || s[i] != ']') {
				*errpos = i;
				*errmsg = "expected ']'";
				return -EINVAL;
			}
			i++;
		} else {
			size_t start = i;
			while (i < len && is_name_byte((unsigned char)s[i]))
				i++;
			if (i == start) {
				*errpos = i;
				*errmsg = first ? "expected a field name"
						: "expected a field name after '.'";
				return -EINVAL;
			}
			if (nl + (i - start) > SCAN_MAX_PATH) {
				*errpos = start;
				*errmsg = "path too long";
				return -E2BIG;
			}
			memcpy(names + nl, s + start, i - start);
			segs[ns].off = nl;
			segs[ns].len = i - start;
			segs[ns].index = -1;
			nl += i - start;
		}
		ns++;
		first = 0;
	}
	*consumed = i;
	*nsegs = ns;
	return 0;
}

/* Bloom bit of a key: mixes its length with its first and last bytes. */
static inline unsigned key_bit(const char *k, size_t n)
{
	if (n == 0)
		return 0;
	return (unsigned)(n * 5 + (unsigned char)k[0] * 7 + (unsigned char)k[n - 1] * 3) & 63;
}

static int add_child(struct scan_fields *f, uint32_t parent, const char *name, size_t nlen,
		     int32_t index, uint32_t *out)
{
	for (uint32_t c = f->nodes[parent].first_child; c != NONE; c = f->nodes[c].next_sibling) {
		struct sf_node *n = &f->nodes[c];
		if (n->index != index)
			continue;
		if (index >= 0 || (n->name_len == nlen && memcmp(n->name, name, nlen) == 0)) {
			*out = c;
			return 0;
		}
	}
	if (f->n >= MAX_NODES)
		return -E2BIG;
	if (f->n == f->alloc) {
		struct sf_node *nn = realloc(f->nodes, 2 * f->alloc * sizeof(*nn));
		if (!nn)
			return -ENOMEM;
		f->nodes = nn;
		f->alloc *= 2;
	}
	struct sf_node *n = &f->nodes[f->n];
	memset(n, 0, sizeof(*n));
	n->index = index;
	if (index < 0) {
		/* zero-padded to >= 8 bytes: key_eq compares short keys as one word */
		n->name = calloc(1, nlen + 1 > 8 ? nlen + 1 : 8);
		if (!n->name)
			return -ENOMEM;
		memcpy(n->name, name, nlen);
		n->name[nlen] = '\0';
		n->name_len = (uint32_t)nlen;
		if (nlen > f->max_name)
			f->max_name = nlen;
	}
	n->parent = parent;
	n->first_child = NONE;
	/* Appending keeps children in registration order (cheap, few children). */
	n->next_sibling = NONE;
	uint32_t *link = &f->nodes[parent].first_child;
	while (*link != NONE)
		link = &f->nodes[*link].next_sibling;
	*link = (uint32_t)f->n;
	if (index >= 0) {
		f->nodes[parent].has_idx = 1;
	} else {
		unsigned bit = key_bit(name, nlen);
		f->nodes[parent].has_keys = 1;
		f->nodes[parent].key_bloom |= 1ULL << bit;
		/* chain the new node into its bit's list (n->next_same_bit = 0) */
		uint16_t *hp = &f->nodes[parent].bit_head[bit];
		while (*hp)
			hp = &f->nodes[*hp - 1].next_same_bit;
		*hp = (uint16_t)(f->n + 1);
	}
	*out = (uint32_t)f->n++;
	return 0;
}

int scan_fields_add_prefix(struct scan_fields *f, const char *s, size_t len, size_t *consumed,
			   size_t *slot, size_t *errpos, const char **errmsg)
{
	char names[SCAN_MAX_PATH];
	struct seg segs[MAX_SEGS];
	size_t ns = 0;
	*errpos = 0;
	*errmsg = "";
	int rc = parse_path(s, len, consumed, names, segs, &ns, errpos, errmsg);
	if (rc)
		return rc;
	uint32_t cur = 0;
	for (size_t i = 0; i < ns; i++) {
		rc = add_child(f, cur, names + segs[i].off, segs[i].len, segs[i].index, &cur);
		if (rc) {
			*errpos = 0;
			*errmsg = rc == -E2BIG ? "too many field paths" : "out of memory";
			return rc;
		}
	}
	*slot = cur;
	return 0;
}

int scan_fields_add(struct scan_fields *f, const char *path, size_t *slot, size_t *errpos,
		    const char **errmsg)
{
	size_t len = strlen(path), used = 0;
	int rc = scan_fields_add_prefix(f, path, len, &used, slot, errpos, errmsg);
	if (rc)
		return rc;
	if (used != len) {
		*errpos = used;
		*errmsg = "unexpected character in field path";
		return -EINVAL;
	}
	return 0;
}

int scan_fields_add_list(struct scan_fields *f, const char *list, size_t *slots, size_t max_cols,
			 size_t *ncols, size_t *errpos, const char **errmsg)
{
	size_t len = strlen(list), i = 0, n = 0;
	*ncols = 0;
	for (;;) {
		while (i < len && (list[i] == ' ' || list[i] == '\t'))
			i++;
		if (n >= max_cols) {
			*errpos = i;
			*errmsg = "too many columns";
			return -E2BIG;
		}
		size_t used = 0, pos = 0;
		int rc =
		    scan_fields_add_prefix(f, list + i, len - i, &used, &slots[n], &pos, errmsg);
		if (rc) {
			*errpos = i + pos;
			return rc;
		}
		i += used;
		n++;
		while (i < len && (list[i] == ' ' || list[i] == '\t'))
			i++;
		if (i == len)
			break;
		if (list[i] != ',') {
			*errpos = i;
			*errmsg = "expected ',' between columns";
			return -EINVAL;
		}
		i++;
	}
	*ncols = n;
	return 0;
}

const char *scan_type_name(enum scan_type t)
{
	static const char *const names[] = {"missing", "null",	 "bool", "number",
					    "string",  "object", "array"};
	if ((unsigned)t < sizeof(names) / sizeof(names[0]))
		return names[t];
	return "?";
}

/* ---- scanner ------------------------------------------------------------ */

struct sc {
	const char *start, *end;
	const char *err_at;
	const char *err;
	const struct scan_fields *f;
	struct scan_val *slots;
	int depth; /* containers open in match_value */
};

/* Byte classes for the scalar string loops: 1 = stop in a JSON string. */
static const unsigned char json_str_stop[256] = {
    [0 ... 0x1f] = 1,
    ['"'] = 1,
    ['\\'] = 1,
};

static inline const char *fail(struct sc *s, const char *at, const char *why)
{
	if (!s->err) {
		s->err = why;
		s->err_at = at;
	}
	return NULL;
}

static inline int is_ws(unsigned char c, int py)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || (py && c == '\f');
}

static inline __attribute__((always_inline)) const char *ws(const char *p, const char *end, int py)
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
	while (p < end && is_ws((unsigned char)*p, py))
		p++;
	return p;
}

/*
 * Is p at separator c followed by one space (json.dumps and repr write ": "
 * and ", ")? One 16-bit compare instead of the two whitespace scans around
 * the separator; any other layout takes the general path.
 */
static inline __attribute__((always_inline)) int sep_sp(const char *p, const char *end, char c)
{
	uint16_t w, want = (uint16_t)((unsigned char)c | (' ' << 8));
	if (end - p < 2)
		return 0;
	memcpy(&w, p, 2);
	return w == want; /* little- or big-endian: want is built the same way */
}

static inline int is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

static inline int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/*
 * JSON string at p (the opening quote). Fills v (content slice, ESC flag);
 * returns the byte after the closing quote or NULL.
 */
static inline __attribute__((always_inline)) const char *json_string(struct sc *s, const char *p,
								     struct scan_val *v)
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
			__m128i mq = _mm_cmpeq_epi8(x, dq);
			__m128i m = _mm_or_si128(mq, _mm_cmpeq_epi8(x, bs));
			m = _mm_or_si128(m, _mm_cmpeq_epi8(_mm_max_epu8(x, lim), lim));
			unsigned mask = (unsigned)_mm_movemask_epi8(m);
			if (mask) {
				/* The closing quote is the common stop: decide it from
				 * the masks, without reloading the byte. */
				unsigned first = mask & -mask;
				q += __builtin_ctz(mask);
				if (first & (unsigned)_mm_movemask_epi8(mq))
					goto closed;
				goto found;
			}
			q += 16;
		}
#endif
		while (q < end && !json_str_stop[(unsigned char)*q])
			q++;
		if (q >= end)
			return fail(s, p, "unterminated string");
#ifdef SCAN_SSE2
	found:
#endif
		if (*q == '"')
			break;
		if (*q != '\\')
			return fail(s, q, "control character in string");
		flags = SCAN_F_ESC;
		if (q + 1 >= end)
			return fail(s, q, "unterminated string");
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
			if (end - q < 6 || !is_hex((unsigned char)q[2]) ||
			    !is_hex((unsigned char)q[3]) || !is_hex((unsigned char)q[4]) ||
			    !is_hex((unsigned char)q[5]))
				return fail(s, q, "bad \\u escape");
			q += 6;
			break;
		default:
			return fail(s, q, "bad escape in string");
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
 * Python string at p: optional u/U/b/B prefix, then ' or ". Python escapes
 * are all "backslash + next byte" except the counted ones (\x \u \U \N),
 * which are checked here so value_unescape can trust them.
 */
static inline __attribute__((always_inline)) const char *py_string(struct sc *s, const char *p,
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
		return fail(s, p, "unexpected character");
	const char quote = *q;
	const char *body = ++q;
	for (;;) {
#ifdef SCAN_SSE2
		/* Both quote bytes stop the vector loop (constant vectors are cheaper
		 * than a per-string broadcast); the other quote is rare inside a
		 * string and is stepped over below. */
		/* (x | 5) == 0x27 is x in {'"', '#', '&', '\''}; (x | 7) == 0x0f is
		 * x in 0x08..0x0f, which holds '\n' and '\r' (repr never writes the
		 * others raw). Four ops fewer than five compares; a false stop is
		 * stepped over below. */
		const __m128i q27 = _mm_set1_epi8(0x27), o5 = _mm_set1_epi8(5),
			      c0f = _mm_set1_epi8(0x0f), o7 = _mm_set1_epi8(7),
			      bs = _mm_set1_epi8('\\');
		while (q + 16 <= end) {
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
			__m128i m = _mm_or_si128(_mm_cmpeq_epi8(_mm_or_si128(x, o5), q27),
						 _mm_cmpeq_epi8(_mm_or_si128(x, o7), c0f));
			m = _mm_or_si128(m, _mm_cmpeq_epi8(x, bs));
			int mask = _mm_movemask_epi8(m);
			if (mask) {
				q += __builtin_ctz((unsigned)mask);
				goto found;
			}
			q += 16;
		}
#endif
		while (q < end && *q != quote && *q != '\\' && *q != '\n' && *q != '\r')
			q++;
		if (q >= end)
			return fail(s, p, "unterminated string");
#ifdef SCAN_SSE2
	found:
#endif
		if (*q == quote)
			break;
		if (*q != '\\') {
			if (*q == '\n' || *q == '\r')
				return fail(s, q, "newline in string");
			q++; /* the other quote, or a false stop of the vector loop */
			continue;
		}
		flags |= SCAN_F_ESC;
		if (q + 1 >= end)
			return fail(s, q, "unterminated string");
		unsigned char e = (unsigned char)q[1];
		size_t need = 0;
		if (e == 'x')
			need = 2;
		else if ((e == 'u' || e == 'U' || e == 'N') && !(flags & SCAN_F_BYTES))
			need = e == 'u' ? 4 : e == 'U' ? 8 : 0;
		if (e == 'N' && !(flags & SCAN_F_BYTES))
			return fail(s, q, "\\N{...} escapes are not supported");
		if (e == '\r' && q + 2 < end && q[2] == '\n')
			q++; /* backslash-CRLF continuation */
		if ((size_t)(end - q) < 2 + need)
			return fail(s, q, "truncated escape");
		for (size_t k = 0; k < need; k++)
			if (!is_hex((unsigned char)q[2 + k]))
				return fail(s, q, "bad hex escape");
		if (e == 'U' && !(flags & SCAN_F_BYTES)) {
			unsigned long cp = 0;
			for (size_t k = 0; k < 8; k++) {
				unsigned char h = (unsigned char)q[2 + k];
				cp = cp * 16 +
				     (unsigned)(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
			}
			if (cp > 0x10FFFF)
				return fail(s, q, "\\U escape beyond U+10FFFF");
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
static inline __attribute__((always_inline)) const char *number(struct sc *s, const char *p, int py,
								struct scan_val *v)
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
		return fail(s, p, "invalid number");
	if (*q == '0') {
		q++;
	} else if (*q >= '1' && *q <= '9') {
		q++;
		while (q < end && is_digit((unsigned char)*q))
			q++;
	} else if (py && end - q >= 3 && (memcmp(q, "inf", 3) == 0 || memcmp(q, "nan", 3) == 0)) {
		q += 3;
		v->p = p;
		v->len = (uint32_t)(q - p);
		v->type = SCAN_NUMBER;
		v->flags = SCAN_F_PY | SCAN_F_SPECIAL;
		return q;
	} else {
		return fail(s, p, "invalid number");
	}
	if (q < end && *q == '.') {
		q++;
		if (q >= end || !is_digit((unsigned char)*q))
			return fail(s, q, "digit expected after '.'");
		while (q < end && is_digit((unsigned char)*q))
			q++;
		flags = 0;
	}
	if (q < end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < end && (*q == '+' || *q == '-'))
			q++;
		if (q >= end || !is_digit((unsigned char)*q))
			return fail(s, q, "digit expected in exponent");
		while (q < end && is_digit((unsigned char)*q))
			q++;
		flags = 0;
	}
	v->p = p;
	v->len = (uint32_t)(q - p);
	v->type = SCAN_NUMBER;
	v->flags = flags | (py ? SCAN_F_PY : 0);
	return q;
}

static inline int lit(const char *p, const char *end, const char *w, size_t n)
{
	return (size_t)(end - p) >= n && memcmp(p, w, n) == 0;
}

/*
 * One scalar at p (p < end, not whitespace). Containers are not scalars:
 * returns NULL without error for '{' '[' '(' so callers can branch.
 */
static inline __attribute__((always_inline)) const char *scalar(struct sc *s, const char *p, int py,
								struct scan_val *v)
{
	const char *end = s->end;
	switch (*p) {
	case '"':
		return py ? py_string(s, p, v) : json_string(s, p, v);
	case '\'':
		if (py)
			return py_string(s, p, v);
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
		return number(s, p, py, v);
	}
	if (!py) {
		v->flags = 0;
		if (*p == 't' && lit(p, end, "true", 4)) {
			v->type = SCAN_BOOL;
			v->flags = SCAN_F_TRUE;
			v->p = p;
			v->len = 4;
			return p + 4;
		}
		if (*p == 'f' && lit(p, end, "false", 5)) {
			v->type = SCAN_BOOL;
			v->p = p;
			v->len = 5;
			return p + 5;
		}
		if (*p == 'n' && lit(p, end, "null", 4)) {
			v->type = SCAN_NULL;
			v->p = p;
			v->len = 4;
			return p + 4;
		}
		return fail(s, p, "unexpected character, expected a value");
	}
	switch (*p) {
	case '\'':
	case 'u':
	case 'U':
	case 'b':
	case 'B':
		return py_string(s, p, v);
	case 'T':
		if (lit(p, end, "True", 4)) {
			v->type = SCAN_BOOL;
			v->flags = SCAN_F_PY | SCAN_F_TRUE;
			v->p = p;
			v->len = 4;
			return p + 4;
		}
		break;
	case 'F':
		if (lit(p, end, "False", 5)) {
			v->type = SCAN_BOOL;
			v->flags = SCAN_F_PY;
			v->p = p;
			v->len = 5;
			return p + 5;
		}
		break;
	case 'N':
		if (lit(p, end, "None", 4)) {
			v->type = SCAN_NULL;
			v->flags = SCAN_F_PY;
			v->p = p;
			v->len = 4;
			return p + 4;
		}
		break;
	case 'i':
	case 'n':
		return number(s, p, py, v);
	}
	return fail(s, p, "unexpected character, expected a value");
}

/* A name-like token must not run on into letters/digits (`Truex`, `1true`
 * are caught by the structural checks; this is for `infx`). */

/*
 * Skips one complete value of any type at p (after whitespace), validating
 * it. Iterative: the stack holds the closing byte of each open container.
 */
static inline __attribute__((always_inline)) const char *skip_value_impl(struct sc *s,
									 const char *p, int py)
{
	const char *end = s->end;
	char stk[SCAN_MAX_DEPTH];
	int d = 0;
	const int limit = SCAN_MAX_DEPTH - s->depth;
	struct scan_val v;
	char c;

value:
	p = ws(p, end, py);
	if (p >= end)
		return fail(s, p, "unexpected end of line, expected a value");
	c = *p;
	if (c == '{' || c == '[' || (py && c == '(')) {
		if (d >= limit)
			return fail(s, p, "nesting too deep");
		char close = c == '{' ? '}' : c == '[' ? ']' : ')';
		stk[d++] = close;
		p = ws(p + 1, end, py);
		if (p < end && *p == close) {
			d--;
			p++;
			goto after;
		}
		if (c == '{')
			goto key;
		goto value;
	}
	p = scalar(s, p, py, &v);
	if (!p)
		return NULL;
	goto after;

key:
	if (p >= end)
		return fail(s, p, "unexpected end of line, expected a key");
	if (!py) {
		if (*p != '"')
			return fail(s, p, "expected a string key");
		p = json_string(s, p, &v);
	} else {
		if (*p == '{' || *p == '[' || *p == '(')
			return fail(s, p, "unsupported dict key");
		p = scalar(s, p, py, &v);
	}
	if (!p)
		return NULL;
	if (sep_sp(p, end, ':')) {
		p += 2;
		goto value;
	}
	p = ws(p, end, py);
	if (p >= end || *p != ':')
		return fail(s, p, "expected ':'");
	p++;
	goto value;

after:
	if (d == 0)
		return p;
	if (sep_sp(p, end, ',')) {
		c = ',';
		p++;
	} else {
		p = ws(p, end, py);
		if (p >= end)
			return fail(s, p, "unexpected end of line inside a container");
		c = *p;
	}
	if (c == ',') {
		p = ws(p + 1, end, py);
		if (py && p < end && *p == stk[d - 1]) {
			d--;
			p++;
			goto after;
		}
		if (stk[d - 1] == '}')
			goto key;
		goto value;
	}
	if (c == stk[d - 1]) {
		d--;
		p++;
		goto after;
	}
	return fail(s, p,
		    stk[d - 1] == '}'	? "expected ',' or '}'"
		    : stk[d - 1] == ']' ? "expected ',' or ']'"
					: "expected ',' or ')'");
}

static void clear_subtree(struct sc *s, uint32_t node)
{
	const struct sf_node *nodes = s->f->nodes;
	for (uint32_t c = nodes[node].first_child; c != NONE; c = nodes[c].next_sibling) {
		s->slots[c].type = SCAN_MISSING;
		clear_subtree(s, c);
	}
}

/* JSON and Python copies of the walkers, so `py` is a constant inside each. */
static const char *skip_value_j(struct sc *s, const char *p);
static const char *skip_value_p(struct sc *s, const char *p);
static const char *match_value_j(struct sc *s, const char *p, uint32_t node);
static const char *match_value_p(struct sc *s, const char *p, uint32_t node);

static inline __attribute__((always_inline)) const char *skip_value(struct sc *s, const char *p,
								    int py)
{
	return py ? skip_value_p(s, p) : skip_value_j(s, p);
}

static inline __attribute__((always_inline)) const char *match_value(struct sc *s, const char *p,
								     uint32_t node, int py)
{
	return py ? match_value_p(s, p, node) : match_value_j(s, p, node);
}

/* name (zero-padded to 8 bytes) == key k[0..n)? A key of up to 8 bytes with
 * 8 readable bytes in the line is compared as one masked word. */
static inline __attribute__((always_inline)) int key_eq(const char *name, const char *k, size_t n,
							const char *end)
{
	if (n <= 8 && (size_t)(end - k) >= 8) {
		uint64_t a, b;
		memcpy(&a, name, 8);
		memcpy(&b, k, 8);
		uint64_t mask = n == 8 ? ~0ULL : (1ULL << (8 * n)) - 1;
		return ((a ^ b) & mask) == 0;
	}
	return memcmp(name, k, n) == 0;
}

static inline __attribute__((always_inline)) uint32_t find_key(struct sc *s, uint32_t node,
							       const struct scan_val *k)
{
	const struct sf_node *nodes = s->f->nodes;
	if (!(k->flags & SCAN_F_ESC) && k->type == SCAN_STRING) {
		unsigned bit = key_bit(k->p, k->len);
		if (!((nodes[node].key_bloom >> bit) & 1))
			return NONE;
		for (uint32_t c = nodes[node].bit_head[bit]; c; c = nodes[c - 1].next_same_bit)
			if (nodes[c - 1].name_len == k->len &&
			    key_eq(nodes[c - 1].name, k->p, k->len, s->end))
				return c - 1;
		return NONE;
	}
	if (k->type != SCAN_STRING) {
		/* Python non-string key: match the token text. */
		for (uint32_t c = nodes[node].first_child; c != NONE; c = nodes[c].next_sibling)
			if (nodes[c].name_len == k->len && nodes[c].index < 0 &&
			    memcmp(nodes[c].name, k->p, k->len) == 0)
				return c;
		return NONE;
	}
	/* Escaped key (rare): compare the unescaped text, streamed. */
	for (uint32_t c = nodes[node].first_child; c != NONE; c = nodes[c].next_sibling)
		if (nodes[c].index < 0 && value_str_eq(k, nodes[c].name, nodes[c].name_len))
			return c;
	return NONE;
}

static inline __attribute__((always_inline)) const char *match_object(struct sc *s, const char *p,
								      uint32_t node, int py)
{
	const char *end = s->end;
	struct scan_val k;
	p = ws(p + 1, end, py);
	if (p < end && *p == '}')
		return p + 1;
	for (;;) {
		if (p >= end)
			return fail(s, p, "unexpected end of line, expected a key");
		if (!py) {
			if (*p != '"')
				return fail(s, p, "expected a string key");
			p = json_string(s, p, &k);
		} else {
			if (*p == '{' || *p == '[' || *p == '(')
				return fail(s, p, "unsupported dict key");
			p = scalar(s, p, py, &k);
		}
		if (!p)
			return NULL;
		if (sep_sp(p, end, ':')) {
			p = ws(p + 2, end, py);
		} else {
			p = ws(p, end, py);
			if (p >= end || *p != ':')
				return fail(s, p, "expected ':'");
			p = ws(p + 1, end, py);
		}
		uint32_t c = find_key(s, node, &k);
		if (c != NONE) {
			p = match_value(s, p, c, py);
		} else if (p < end && *p != '{' && *p != '[' && *p != '(') {
			struct scan_val tmp; /* a skipped scalar: no call, no stack */
			p = scalar(s, p, py, &tmp);
		} else {
			p = skip_value(s, p, py);
		}
		if (!p)
			return NULL;
		if (!sep_sp(p, end, ',')) {
			p = ws(p, end, py);
			if (p >= end)
				return fail(s, p,
					    "unexpected end of line inside a container");
		}
		if (*p == ',') {
			p = ws(p + 1, end, py);
			if (py && p < end && *p == '}')
				return p + 1;
			continue;
		}
		if (*p == '}')
			return p + 1;
		return fail(s, p, "expected ',' or '}'");
	}
}

static inline __attribute__((always_inline)) const char *match_array(struct sc *s, const char *p,
								     uint32_t node, int py)
{
	const char *end = s->end;
	const struct sf_node *nodes = s->f->nodes;
	const char close = *p == '[' ? ']' : ')';
	int32_t idx = 0;
	p = ws(p + 1, end, py);
	if (p < end && *p == close)
		return p + 1;
	for (;;) {
		uint32_t c;
		for (c = nodes[node].first_child; c != NONE; c = nodes[c].next_sibling)
			if (nodes[c].index == idx)
				break;
		p = c != NONE ? match_value(s, p, c, py) : skip_value(s, p, py);
		if (!p)
			return NULL;
		if (idx < INT32_MAX)
			idx++;
		if (!sep_sp(p, end, ',')) {
			p = ws(p, end, py);
			if (p >= end)
				return fail(s, p,
					    "unexpected end of line inside a container");
		}
		if (*p == ',') {
			p = ws(p + 1, end, py);
			if (py && p < end && *p == close)
				return p + 1;
			continue;
		}
		if (*p == close)
			return p + 1;
		return fail(s, p, close == ']' ? "expected ',' or ']'" : "expected ',' or ')'");
	}
}

/* Value at p (after whitespace) for trie node `node`: recorded in its slot. */
static inline __attribute__((always_inline)) const char *
match_value_impl(struct sc *s, const char *p, uint32_t node, int py)
{
	const struct sf_node *n = &s->f->nodes[node];
	struct scan_val *slot = &s->slots[node];
	const char *end = s->end;
	if (p >= end)
		return fail(s, p, "unexpected end of line, expected a value");
	if (slot->type != SCAN_MISSING)
		clear_subtree(s, node); /* duplicate key: the last one wins */
	const char *start = p;
	char c = *p;
	if (c == '{' || c == '[' || (py && c == '(')) {
		if (s->depth >= SCAN_MAX_DEPTH)
			return fail(s, p, "nesting too deep");
		if (c == '{' && n->has_keys) {
			s->depth++;
			p = match_object(s, p, node, py);
			s->depth--;
		} else if (c != '{' && n->has_idx) {
			s->depth++;
			p = match_array(s, p, node, py);
			s->depth--;
		} else {
			p = skip_value(s, p, py);
		}
		if (!p)
			return NULL;
		slot->p = start;
		slot->len = (uint32_t)(p - start);
		slot->type = c == '{' ? SCAN_OBJECT : SCAN_ARRAY;
		slot->flags = (py ? SCAN_F_PY : 0) | (c == '(' ? SCAN_F_TUPLE : 0);
		return p;
	}
	return scalar(s, p, py, slot);
}

static const char *skip_value_j(struct sc *s, const char *p)
{
	return skip_value_impl(s, p, 0);
}

static const char *skip_value_p(struct sc *s, const char *p)
{
	return skip_value_impl(s, p, 1);
}

static const char *match_value_j(struct sc *s, const char *p, uint32_t node)
{
	return match_value_impl(s, p, node, 0);
}

static const char *match_value_p(struct sc *s, const char *p, uint32_t node)
{
	return match_value_impl(s, p, node, 1);
}

/* One attempt in one format. Returns 0 or -EINVAL (s->err set). */
static int scan_one(struct sc *s, int py, int want_object)
{
	const char *p = ws(s->start, s->end, py);
	s->err = NULL;
	s->depth = 0;
	if (p >= s->end) {
		fail(s, p, "empty line");
		return -EINVAL;
	}
	if (*p == '{' && want_object && s->f) {
		memset(s->slots, 0, s->f->n * sizeof(*s->slots));
		p = match_value(s, p, 0, py);
	} else {
		const char *start = p;
		p = skip_value(s, p, py);
		if (p && want_object && *start != '{') {
			p = ws(p, s->end, py);
			if (p != s->end)
				fail(s, p, "unexpected data after the value");
			else
				fail(s, start, "record is not an object");
			return -EINVAL;
		}
		if (p && want_object && s->slots) {
			s->slots[0].p = start;
			s->slots[0].len = (uint32_t)(p - start);
			s->slots[0].type = SCAN_OBJECT;
			s->slots[0].flags = py ? SCAN_F_PY : 0;
		}
	}
	if (!p)
		return -EINVAL;
	p = ws(p, s->end, py);
	if (p != s->end) {
		fail(s, p, "unexpected data after the record");
		return -EINVAL;
	}
	return 0;
}

static int scan_any(const struct scan_fields *f, const char *line, size_t len, enum scan_format fmt,
		    struct scan_val *slots, struct scan_result *res, int want_object)
{
	struct sc s = {.start = line, .end = line + len, .f = f, .slots = slots};
	int rc;
	res->not_object = 0;
	res->err_reason = NULL;
	res->err_off = 0;
	if (fmt == SCAN_PYDICT) {
		res->format = SCAN_PYDICT;
		rc = scan_one(&s, 1, want_object);
	} else {
		res->format = SCAN_JSON;
		rc = scan_one(&s, 0, want_object);
		if (rc && fmt == SCAN_AUTO) {
			const char *jerr = s.err, *jat = s.err_at;
			rc = scan_one(&s, 1, want_object);
			if (rc == 0) {
				res->format = SCAN_PYDICT;
			} else if (jat >= s.err_at) {
				s.err = jerr;
				s.err_at = jat;
			} else {
				res->format = SCAN_PYDICT;
			}
		}
	}
	if (rc) {
		res->err_reason = s.err ? s.err : "malformed record";
		res->err_off = s.err_at ? (size_t)(s.err_at - line) : 0;
		res->not_object = s.err && strcmp(s.err, "record is not an object") == 0;
	}
	return rc;
}

int scan_record(const struct scan_fields *f, const char *line, size_t len, enum scan_format fmt,
		struct scan_val *slots, struct scan_result *res)
{
	return scan_any(f, line, len, fmt, slots, res, 1);
}

int scan_validate(const char *line, size_t len, enum scan_format fmt, struct scan_result *res)
{
	return scan_any(NULL, line, len, fmt, NULL, res, 0);
}
