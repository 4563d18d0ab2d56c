/*
 * scan.c: the per-record half of scan.h (the field set is scan_fields.c).
 * match_value() walks only along trie nodes (scan_trie.h; recursion depth =
 * path depth), everything else goes through skip_value(), an iterative
 * validating skipper with an explicit stack of closing brackets. The token
 * readers (strings skipped 16 bytes at a time with SSE2) are scan_tok.h.
 * JSON and Python share the code; `py` is a constant in each caller so the
 * compiler specialises the inlined helpers per format.
 */
#include "scan.h"

#include "scan_tok.h"
#include "scan_trie.h"
#include "value.h"

#include <errno.h>
#include <string.h>

const char *scan_type_name(enum scan_type t)
{
	static const char *const names[] = {"missing", "null",	 "bool", "number",
					    "string",  "object", "array"};
	if ((unsigned)t < sizeof(names) / sizeof(names[0]))
		return names[t];
	return "?";
}
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
	p = tok_ws(p, end, py);
	if (p >= end)
		return tok_fail(s, p, "unexpected end of line, expected a value");
	c = *p;
	if (c == '{' || c == '[' || (py && c == '(')) {
		if (d >= limit)
			return tok_fail(s, p, "nesting too deep");
		char close = c == '{' ? '}' : c == '[' ? ']' : ')';
		stk[d++] = close;
		p = tok_ws(p + 1, end, py);
		if (p < end && *p == close) {
			d--;
			p++;
			goto after;
		}
		if (c == '{')
			goto key;
		goto value;
	}
	if (c == '"' || (py && c == '\'')) {
		uint32_t n;
		const char *q = tok_block(s, p, py, &n);
		if (q) {
			p = q;
			goto after;
		}
	}
	p = tok_scalar(s, p, py, &v);
	if (!p)
		return NULL;
	goto after;

key:
	if (p < end && (*p == '"' || (py && *p == '\''))) {
		uint32_t n;
		const char *q = tok_block(s, p, py, &n);
		p = q ? q : py ? tok_key(s, p, end, py, &v) : tok_json_string(s, p, &v);
	} else {
		p = tok_key(s, p, end, py, &v);
	}
	if (!p)
		return NULL;
	if (tok_sep_sp(p, end, ':')) {
		p += 2;
		goto value;
	}
	p = tok_ws(p, end, py);
	if (p >= end || *p != ':')
		return tok_fail(s, p, "expected ':'");
	p++;
	goto value;

after:
	if (d == 0)
		return p;
	if (tok_sep_sp(p, end, ',')) {
		c = ',';
		p++;
	} else {
		p = tok_ws(p, end, py);
		if (p >= end)
			return tok_fail(s, p, "unexpected end of line inside a container");
		c = *p;
	}
	if (c == ',') {
		p = tok_ws(p + 1, end, py);
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
	return tok_fail(s, p,
			stk[d - 1] == '}'   ? "expected ',' or '}'"
			: stk[d - 1] == ']' ? "expected ',' or ']'"
					    : "expected ',' or ')'");
}

static void clear_subtree(struct sc *s, uint32_t node)
{
	const struct sf_node *nodes = s->f->nodes;
	for (uint32_t c = nodes[node].first_child; c != SF_NONE; c = nodes[c].next_sibling) {
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

/* Child of node named by the unescaped key kp[0..n). */
static inline __attribute__((always_inline)) uint32_t find_plain_key(struct sc *s, uint32_t node,
								     const char *kp, uint32_t n)
{
	const struct sf_node *nodes = s->f->nodes;
	/* an empty bucket is the common answer: one load */
	for (uint32_t c = nodes[node].bit_head[sf_key_bit(kp, n)]; c;
	     c = nodes[c - 1].next_same_bit)
		if (nodes[c - 1].name_len == n && key_eq(nodes[c - 1].name, kp, n, s->end))
			return c - 1;
	return SF_NONE;
}

static inline __attribute__((always_inline)) uint32_t find_key(struct sc *s, uint32_t node,
							       const struct scan_val *k)
{
	const struct sf_node *nodes = s->f->nodes;
	if (!(k->flags & SCAN_F_ESC) && k->type == SCAN_STRING)
		return find_plain_key(s, node, k->p, k->len);
	if (k->type != SCAN_STRING) {
		/* Python non-string key: match the token text. */
		for (uint32_t c = nodes[node].first_child; c != SF_NONE; c = nodes[c].next_sibling)
			if (nodes[c].name_len == k->len && nodes[c].index < 0 &&
			    memcmp(nodes[c].name, k->p, k->len) == 0)
				return c;
		return SF_NONE;
	}
	/* Escaped key (rare): compare the unescaped text, streamed. */
	for (uint32_t c = nodes[node].first_child; c != SF_NONE; c = nodes[c].next_sibling)
		if (nodes[c].index < 0 && value_str_eq(k, nodes[c].name, nodes[c].name_len))
			return c;
	return SF_NONE;
}

/* Past the ':' after a key and the blanks after it ("key": value): ": " in
 * one compare, the general case byte by byte; NULL (tok_fail) without ':'. */
static inline __attribute__((always_inline)) const char *key_colon(struct sc *s, const char *p,
								   const char *end, int py)
{
	if (tok_sep_sp(p, end, ':'))
		return tok_ws(p + 2, end, py);
	p = tok_ws(p, end, py);
	if (p >= end || *p != ':')
		return tok_fail(s, p, "expected ':'");
	return tok_ws(p + 1, end, py);
}

static inline __attribute__((always_inline)) const char *match_object(struct sc *s, const char *p,
								      uint32_t node, int py)
{
	const char *end = s->end;
	struct scan_val k;
	p = tok_ws(p + 1, end, py);
	if (p < end && *p == '}')
		return p + 1;
	for (;;) {
		uint32_t c, klen;
		const char *kq;
		if (p < end && (kq = tok_block(s, p, py, &klen)) != NULL) {
			/* a short plain string key (nearly all of them): no scan_val */
			const char *kp = p + 1;
			p = kq;
			p = key_colon(s, p, end, py);
			if (!p)
				return NULL;
			c = find_plain_key(s, node, kp, klen);
		} else {
			p = tok_key(s, p, end, py, &k);
			if (!p)
				return NULL;
			p = key_colon(s, p, end, py);
			if (!p)
				return NULL;
			c = find_key(s, node, &k);
		}
		if (c != SF_NONE && p < end && *p != '{' && *p != '[' && *p != '(') {
			/* a wanted scalar (most wanted fields): recorded here, without
			 * the call into match_value */
			struct scan_val *slot = &s->slots[c];
			if (slot->type != SCAN_MISSING)
				clear_subtree(s, c); /* duplicate key: the last one wins */
			const char *e = tok_block(s, p, py, &klen);
			if (e) { /* a plain string: what tok_*_string would record */
				slot->p = p + 1;
				slot->len = klen;
				slot->type = SCAN_STRING;
				slot->flags = py ? SCAN_F_PY : 0;
				p = e;
			} else {
				p = tok_scalar(s, p, py, slot);
			}
		} else if (c != SF_NONE) {
			p = match_value(s, p, c, py);
		} else if (p < end && (kq = tok_block(s, p, py, &klen)) != NULL) {
			p = kq; /* a skipped short string: nothing to record */
		} else if (p < end && *p != '{' && *p != '[' && *p != '(') {
			struct scan_val tmp; /* a skipped scalar: no call, no stack */
			p = tok_scalar(s, p, py, &tmp);
		} else {
			p = skip_value(s, p, py);
		}
		if (!p)
			return NULL;
		if (tok_sep_sp(p, end, ',')) {
			/* ", " then (almost always) the next key's quote */
			p += 2;
			if (p < end && (unsigned char)*p <= 0x20)
				p = tok_ws(p, end, py);
			if (py && p < end && *p == '}')
				return p + 1;
			continue;
		}
		p = tok_ws(p, end, py);
		if (p >= end)
			return tok_fail(s, p, "unexpected end of line inside a container");
		if (*p == ',') {
			p = tok_ws(p + 1, end, py);
			if (py && p < end && *p == '}')
				return p + 1;
			continue;
		}
		if (*p == '}')
			return p + 1;
		return tok_fail(s, p, "expected ',' or '}'");
	}
}

static inline __attribute__((always_inline)) const char *match_array(struct sc *s, const char *p,
								     uint32_t node, int py)
{
	const char *end = s->end;
	const struct sf_node *nodes = s->f->nodes;
	const char close = *p == '[' ? ']' : ')';
	int32_t idx = 0;
	p = tok_ws(p + 1, end, py);
	if (p < end && *p == close)
		return p + 1;
	for (;;) {
		uint32_t c;
		for (c = nodes[node].first_child; c != SF_NONE; c = nodes[c].next_sibling)
			if (nodes[c].index == idx)
				break;
		p = c != SF_NONE ? match_value(s, p, c, py) : skip_value(s, p, py);
		if (!p)
			return NULL;
		if (idx < INT32_MAX)
			idx++;
		if (!tok_sep_sp(p, end, ',')) {
			p = tok_ws(p, end, py);
			if (p >= end)
				return tok_fail(s, p, "unexpected end of line inside a container");
		}
		if (*p == ',') {
			p = tok_ws(p + 1, end, py);
			if (py && p < end && *p == close)
				return p + 1;
			continue;
		}
		if (*p == close)
			return p + 1;
		return tok_fail(s, p, close == ']' ? "expected ',' or ']'" : "expected ',' or ')'");
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
		return tok_fail(s, p, "unexpected end of line, expected a value");
	if (slot->type != SCAN_MISSING)
		clear_subtree(s, node); /* duplicate key: the last one wins */
	const char *start = p;
	char c = *p;
	if (c == '{' || c == '[' || (py && c == '(')) {
		if (s->depth >= SCAN_MAX_DEPTH)
			return tok_fail(s, p, "nesting too deep");
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
	return tok_scalar(s, p, py, slot);
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
	const char *p = tok_ws(s->start, s->end, py);
	s->err = NULL;
	s->depth = 0;
	s->blk = NULL;
	s->bstop = 0;
	if (p >= s->end) {
		tok_fail(s, p, "empty line");
		return -EINVAL;
	}
	if (*p == '{' && want_object && s->f) {
		memset(s->slots, 0, s->f->n * sizeof(*s->slots));
		p = match_value(s, p, 0, py);
	} else {
		const char *start = p;
		p = skip_value(s, p, py);
		if (p && want_object && *start != '{') {
			p = tok_ws(p, s->end, py);
			if (p != s->end)
				tok_fail(s, p, "unexpected data after the value");
			else
				tok_fail(s, start, "record is not an object");
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
	p = tok_ws(p, s->end, py);
	if (p != s->end) {
		tok_fail(s, p, "unexpected data after the record");
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
