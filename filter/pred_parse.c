/*
 * pred_parse.c: the parsing half of pred.h (evaluation is pred.c): a
 * tokenizer and a recursive-descent parser over the expression text that
 * build the tree of pred_node.h, registering field paths in the caller's
 * scan_fields, loading `in @FILE` sets and compiling regexes (after
 * regex_guard.h has vetted them). Errors carry the 0-based column of the
 * offending token. Runs once at start-up; it may allocate freely.
 */
#include "pred.h"

#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pred_node.h"
#include "regex_guard.h"
#include "strset.h"
#include "value.h"

struct ps {
	const char *s;
	size_t len, i;
	struct scan_fields *f;
	const struct pred_opts *opts;
	struct pred_error *err;
	int rc;
	int depth;
	int nodes;
};

__attribute__((format(printf, 3, 4))) static struct pnode *perr(struct ps *p, size_t col,
								const char *fmt, ...)
{
	if (p->rc == 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
		va_end(ap);
		p->err->col = col;
		p->rc = -EINVAL;
	}
	return NULL;
}

static void skip_sp(struct ps *p)
{
	while (p->i < p->len && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' ||
				 p->s[p->i] == '\r'))
		p->i++;
}

static int is_word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '$' || c == '-' || c >= 0x80;
}

/* Length of the bare word at i (name bytes). */
static size_t word_len(const struct ps *p, size_t i)
{
	size_t j = i;
	while (j < p->len && is_word_byte((unsigned char)p->s[j]))
		j++;
	return j - i;
}

static int word_is(const struct ps *p, size_t i, size_t n, const char *w)
{
	return strlen(w) == n && memcmp(p->s + i, w, n) == 0;
}

/* Keyword at the cursor (a whole word)? Consumes it when it is. */
static int accept_kw(struct ps *p, const char *w)
{
	skip_sp(p);
	size_t n = word_len(p, p->i);
	if (n && word_is(p, p->i, n, w)) {
		p->i += n;
		return 1;
	}
	return 0;
}

static struct pnode *new_node(struct ps *p, enum pk kind)
{
	/* eval and free recurse over the tree: a cap on its size bounds the
	 * stack even for `a and b and c ...` chains thousands long */
	if (++p->nodes > PRED_MAX_NODES)
		return perr(p, p->i, "expression too long (more than %d tests)", PRED_MAX_NODES);
	struct pnode *n = calloc(1, sizeof(*n));
	if (!n && p->rc == 0) {
		p->rc = -ENOMEM;
		snprintf(p->err->msg, sizeof(p->err->msg), "out of memory");
		p->err->col = p->i;
	}
	if (n)
		n->kind = kind;
	return n;
}

static void put_utf8(char *out, size_t *o, uint32_t cp)
{
	if (cp < 0x80) {
		out[(*o)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*o)++] = (char)(0xC0 | (cp >> 6));
		out[(*o)++] = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		out[(*o)++] = (char)(0xE0 | (cp >> 12));
		out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[(*o)++] = (char)(0x80 | (cp & 0x3F));
	} else {
		out[(*o)++] = (char)(0xF0 | (cp >> 18));
		out[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
		out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[(*o)++] = (char)(0x80 | (cp & 0x3F));
	}
}

static int hex4(const char *s, uint32_t *v)
{
	*v = 0;
	for (int k = 0; k < 4; k++) {
		unsigned char h = (unsigned char)s[k];
		int d;
		if (h >= '0' && h <= '9')
			d = h - '0';
		else if ((h | 0x20) >= 'a' && (h | 0x20) <= 'f')
			d = (h | 0x20) - 'a' + 10;
		else
			return -1;
		*v = *v * 16 + (uint32_t)d;
	}
	return 0;
}

/* Quoted string literal at the cursor -> malloc'd unescaped copy. */
static int parse_string(struct ps *p, char **out, size_t *outlen)
{
	size_t start = p->i;
	char q = p->s[p->i++];
	/* Unescaped text is never longer than the source. */
	char *buf = malloc(p->len - start + 1);
	size_t o = 0;
	if (!buf) {
		p->rc = -ENOMEM;
		return -ENOMEM;
	}
	for (;;) {
		if (p->i >= p->len) {
			free(buf);
			perr(p, start, "unterminated string");
			return -EINVAL;
		}
		char c = p->s[p->i];
		if (c == q) {
			p->i++;
			break;
		}
		if (c != '\\') {
			buf[o++] = c;
			p->i++;
			continue;
		}
		size_t at = p->i;
		if (p->i + 1 >= p->len) {
			free(buf);
			perr(p, at, "unterminated string");
			return -EINVAL;
		}
		char e = p->s[p->i + 1];
		p->i += 2;
		switch (e) {
		case '\\':
			buf[o++] = '\\';
			break;
		case '\'':
			buf[o++] = '\'';
			break;
		case '"':
			buf[o++] = '"';
			break;
		case 'n':
			buf[o++] = '\n';
			break;
		case 't':
			buf[o++] = '\t';
			break;
		case 'r':
			buf[o++] = '\r';
			break;
		case 'u': {
			uint32_t cp, lo;
			if (p->i + 4 > p->len || hex4(p->s + p->i, &cp)) {
				free(buf);
				perr(p, at, "bad \\u escape (want 4 hex digits)");
				return -EINVAL;
			}
			p->i += 4;
			if (cp >= 0xD800 && cp <= 0xDBFF && p->i + 6 <= p->len &&
			    p->s[p->i] == '\\' && p->s[p->i + 1] == 'u' &&
			    hex4(p->s + p->i + 2, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				p->i += 6;
			} else if (cp >= 0xD800 && cp <= 0xDFFF) {
				cp = 0xFFFD;
			}
			put_utf8(buf, &o, cp);
			break;
		}
		default:
			/* kept as written (as Python does), so regexes read
			 * naturally: '\.' is backslash-dot */
			buf[o++] = '\\';
			buf[o++] = e;
			break;
		}
	}
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	return 0;
}

/* A literal at the cursor. */
static int parse_literal(struct ps *p, struct lit *l)
{
	skip_sp(p);
	memset(l, 0, sizeof(*l));
	if (p->i >= p->len) {
		perr(p, p->i, "expected a value (number, 'string', true, false or null)");
		return -EINVAL;
	}
	char c = p->s[p->i];
	if (c == '\'' || c == '"') {
		l->type = SCAN_STRING;
		return parse_string(p, &l->s, &l->n);
	}
	if (c == '-' || (c >= '0' && c <= '9')) {
		size_t j = p->i;
		while (j < p->len &&
		       (p->s[j] == '-' || p->s[j] == '+' || p->s[j] == '.' || p->s[j] == 'e' ||
			p->s[j] == 'E' || (p->s[j] >= '0' && p->s[j] <= '9')))
			j++;
		if (value_parse_number(p->s + p->i, j - p->i, &l->num)) {
			perr(p, p->i, "invalid number '%.*s'", (int)(j - p->i), p->s + p->i);
			return -EINVAL;
		}
		l->type = SCAN_NUMBER;
		p->i = j;
		return 0;
	}
	size_t n = word_len(p, p->i);
	if (word_is(p, p->i, n, "true") || word_is(p, p->i, n, "True")) {
		l->type = SCAN_BOOL;
		l->b = 1;
	} else if (word_is(p, p->i, n, "false") || word_is(p, p->i, n, "False")) {
		l->type = SCAN_BOOL;
	} else if (word_is(p, p->i, n, "null") || word_is(p, p->i, n, "None")) {
		l->type = SCAN_NULL;
	} else {
		perr(p, p->i, "expected a value (number, 'string', true, false or null)");
		return -EINVAL;
	}
	p->i += n;
	return 0;
}

static int parse_path(struct ps *p, size_t *slot)
{
	size_t used = 0, pos = 0;
	const char *msg = "";
	int rc = scan_fields_add_prefix(p->f, p->s + p->i, p->len - p->i, &used, slot, &pos, &msg);
	if (rc) {
		if (rc == -ENOMEM) {
			p->rc = rc;
			snprintf(p->err->msg, sizeof(p->err->msg), "out of memory");
			p->err->col = p->i;
		} else {
			perr(p, p->i + pos, "%s", msg);
		}
		return rc;
	}
	p->i += used;
	return 0;
}

static int load_set(struct ps *p, struct pnode *n)
{
	size_t at = p->i; /* the '@' */
	p->i++;
	char *path = NULL;
	size_t plen = 0;
	int rc;
	if (p->i < p->len && (p->s[p->i] == '\'' || p->s[p->i] == '"')) {
		if (parse_string(p, &path, &plen))
			return -EINVAL;
	} else {
		size_t j = p->i;
		while (j < p->len && p->s[j] != ' ' && p->s[j] != '\t' && p->s[j] != ')' &&
		       p->s[j] != '\n')
			j++;
		if (j == p->i) {
			perr(p, p->i, "expected a file name after '@'");
			return -EINVAL;
		}
		plen = j - p->i;
		path = malloc(plen + 1);
		if (!path) {
			p->rc = -ENOMEM;
			return -ENOMEM;
		}
		memcpy(path, p->s + p->i, plen);
		path[plen] = '\0';
		p->i = j;
	}
	n->set = strset_new();
	if (!n->set) {
		free(path);
		p->rc = -ENOMEM;
		return -ENOMEM;
	}
	size_t bad_line = 0;
	if (p->opts && p->opts->loader)
		rc = p->opts->loader(p->opts->loader_ctx, path, n->set);
	else
		rc = strset_load_file(n->set, path, 65536, &bad_line);
	if (rc) {
		if (p->rc == 0) {
			if (rc == -E2BIG && bad_line)
				snprintf(p->err->msg, sizeof(p->err->msg),
					 "set file '%s': line %zu is too long", path, bad_line);
			else
				snprintf(p->err->msg, sizeof(p->err->msg), "set file '%s': %s",
					 path, strerror(-rc));
			p->err->col = at;
			p->rc = rc;
		}
		free(path);
		return rc;
	}
	free(path);
	return 0;
}

static int parse_list(struct ps *p, struct pnode *n)
{
	/* the cursor is at '[' */
	p->i++;
	n->set = strset_new();
	if (!n->set) {
		p->rc = -ENOMEM;
		return -ENOMEM;
	}
	skip_sp(p);
	if (p->i < p->len && p->s[p->i] == ']') {
		p->i++;
		return 0;
	}
	for (;;) {
		struct lit l;
		size_t at = p->i;
		if (parse_literal(p, &l))
			return -EINVAL;
		int rc;
		switch (l.type) {
		case SCAN_STRING:
			rc = strset_add_literal(n->set, 's', l.s, l.n);
			if (rc == 0 && n->nin < PRED_MAX_ATOMS) {
				if (!n->inlits)
					n->inlits = calloc(PRED_MAX_ATOMS, sizeof(*n->inlits));
				if (!n->inlits) {
					rc = -ENOMEM;
					break;
				}
				n->inlits[n->nin++] = l;
				l.s = NULL; /* now owned by the node */
			} else {
				n->nin_other++;
			}
			break;
		case SCAN_NUMBER:
			n->nin_other++;
			/* The parsed value, not a re-printed token: a "%.17g" of an
			 * integer beyond 2^53 would round it. */
			rc = strset_add_num(n->set, &l.num);
			break;
		case SCAN_BOOL:
			n->nin_other++;
			rc = strset_add_literal(n->set, l.b ? 't' : 'f', NULL, 0);
			break;
		default:
			n->nin_other++;
			rc = strset_add_literal(n->set, 'z', NULL, 0);
			break;
		}
		free(l.s);
		if (rc) {
			if (p->rc == 0) {
				p->rc = rc;
				snprintf(p->err->msg, sizeof(p->err->msg),
					 "cannot add list value: %s", strerror(-rc));
				p->err->col = at;
			}
			return rc;
		}
		skip_sp(p);
		if (p->i < p->len && p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->len && p->s[p->i] == ']') {
			p->i++;
			return 0;
		}
		perr(p, p->i, "expected ',' or ']' in list");
		return -EINVAL;
	}
}

static struct pnode *parse_or(struct ps *p);

/* path followed by an operator. */
static struct pnode *parse_test(struct ps *p)
{
	size_t slot;
	size_t path_at = p->i;
	if (parse_path(p, &slot))
		return NULL;
	skip_sp(p);
	size_t at = p->i;
	if (at >= p->len)
		return perr(p, at,
			    "expected an operator after field '%.*s' (== != < <= > >= in "
			    "startswith endswith contains matches)",
			    (int)(at - path_at), p->s + path_at);
	const char *s = p->s + at;
	size_t rem = p->len - at;
	struct pnode *n = NULL;
	enum op op;
	int oplen = 0;
	if (rem >= 2 && s[0] == '=' && s[1] == '=') {
		op = OP_EQ;
		oplen = 2;
	} else if (rem >= 2 && s[0] == '=' && s[1] == '~') {
		oplen = -2;
	} else if (s[0] == '=') {
		op = OP_EQ;
		oplen = 1;
	} else if (rem >= 2 && s[0] == '!' && s[1] == '=') {
		op = OP_NE;
		oplen = 2;
	} else if (rem >= 2 && s[0] == '<' && s[1] == '=') {
		op = OP_LE;
		oplen = 2;
	} else if (s[0] == '<') {
		op = OP_LT;
		oplen = 1;
	} else if (rem >= 2 && s[0] == '>' && s[1] == '=') {
		op = OP_GE;
		oplen = 2;
	} else if (s[0] == '>') {
		op = OP_GT;
		oplen = 1;
	}
	if (oplen > 0) {
		p->i += (size_t)oplen;
		n = new_node(p, P_CMP);
		if (!n)
			return NULL;
		n->op = op;
		n->slot = slot;
		if (parse_literal(p, &n->lit)) {
			pred_node_free(n);
			return NULL;
		}
		return n;
	}
	enum pk kind;
	if (oplen == -2) {
		p->i += 2;
		kind = P_REGEX;
	} else if (accept_kw(p, "startswith")) {
		kind = P_STARTS;
	} else if (accept_kw(p, "endswith")) {
		kind = P_ENDS;
	} else if (accept_kw(p, "contains")) {
		kind = P_CONTAINS;
	} else if (accept_kw(p, "matches")) {
		kind = P_REGEX;
	} else if (accept_kw(p, "in")) {
		kind = P_IN;
	} else if (accept_kw(p, "not")) {
		if (!accept_kw(p, "in"))
			return perr(p, p->i, "expected 'in' after 'not'");
		kind = P_NOTIN;
	} else {
		return perr(p, at,
			    "expected an operator after field '%.*s' (== != < <= > >= in "
			    "startswith endswith contains matches)",
			    (int)(at - path_at), p->s + path_at);
	}
	n = new_node(p, kind);
	if (!n)
		return NULL;
	n->slot = slot;
	skip_sp(p);
	if (kind == P_IN || kind == P_NOTIN) {
		int rc;
		if (p->i < p->len && p->s[p->i] == '[')
			rc = parse_list(p, n);
		else if (p->i < p->len && p->s[p->i] == '@')
			rc = load_set(p, n);
		else
			rc = perr(p, p->i, "expected '[' or '@FILE' after 'in'") ? 0 : -EINVAL;
		if (rc) {
			pred_node_free(n);
			return NULL;
		}
		return n;
	}
	size_t lit_at = p->i;
	if (p->i >= p->len || (p->s[p->i] != '\'' && p->s[p->i] != '"')) {
		pred_node_free(n);
		return perr(p, p->i, "expected a quoted string");
	}
	n->lit.type = SCAN_STRING;
	if (parse_string(p, &n->lit.s, &n->lit.n)) {
		pred_node_free(n);
		return NULL;
	}
	if (kind == P_REGEX) {
		const char *why = regex_guard_refusal(n->lit.s);
		if (why) {
			pred_node_free(n);
			return perr(p, lit_at, "regular expression not accepted: %s", why);
		}
		int rc = regcomp(&n->re, n->lit.s, REG_EXTENDED | REG_NOSUB);
		if (rc) {
			char m[128];
			regerror(rc, &n->re, m, sizeof(m));
			pred_node_free(n);
			return perr(p, lit_at, "bad regular expression: %s", m);
		}
		n->has_re = 1;
	}
	return n;
}

static struct pnode *parse_unary(struct ps *p)
{
	skip_sp(p);
	if (p->i >= p->len)
		return perr(p, p->i, "unexpected end of expression, expected a test");
	if (++p->depth > 200)
		return perr(p, p->i, "expression nested too deeply");
	struct pnode *n = NULL;
	char c = p->s[p->i];
	size_t at = p->i;
	if (c == '(') {
		p->i++;
		n = parse_or(p);
		if (!n)
			goto out;
		skip_sp(p);
		if (p->i >= p->len || p->s[p->i] != ')') {
			pred_node_free(n);
			n = perr(p, p->i, "expected ')' to close the '(' at column %zu", at + 1);
		} else {
			p->i++;
		}
		goto out;
	}
	if (c == '!' && !(p->i + 1 < p->len && p->s[p->i + 1] == '=')) {
		p->i++;
		goto negate;
	}
	size_t wl = word_len(p, p->i);
	if (wl && word_is(p, p->i, wl, "not")) {
		p->i += wl;
	negate:;
		struct pnode *a = parse_unary(p);
		if (!a)
			goto out;
		n = new_node(p, P_NOT);
		if (!n) {
			pred_node_free(a);
			goto out;
		}
		n->a = a;
		goto out;
	}
	if (wl && (word_is(p, p->i, wl, "exists") || word_is(p, p->i, wl, "missing"))) {
		int ex = p->s[p->i] == 'e';
		p->i += wl;
		skip_sp(p);
		if (p->i >= p->len || p->s[p->i] != '(') {
			n = perr(p, p->i, "expected '(' after '%s'", ex ? "exists" : "missing");
			goto out;
		}
		p->i++;
		skip_sp(p);
		size_t slot;
		if (parse_path(p, &slot))
			goto out;
		skip_sp(p);
		if (p->i >= p->len || p->s[p->i] != ')') {
			n = perr(p, p->i, "expected ')' after the field path");
			goto out;
		}
		p->i++;
		n = new_node(p, ex ? P_EXISTS : P_MISSING);
		if (n)
			n->slot = slot;
		goto out;
	}
	if (wl && (word_is(p, p->i, wl, "true") || word_is(p, p->i, wl, "false"))) {
		n = new_node(p, P_CONST);
		if (n)
			n->cval = p->s[p->i] == 't';
		p->i += wl;
		goto out;
	}
	if (wl && (word_is(p, p->i, wl, "and") || word_is(p, p->i, wl, "or"))) {
		n = perr(p, p->i, "expected a test before '%.*s'", (int)wl, p->s + p->i);
		goto out;
	}
	if (c == '[' || (wl && !(c >= '0' && c <= '9') && c != '-')) {
		n = parse_test(p);
		goto out;
	}
	if (c == '\'' || c == '"' || c == '-' || (c >= '0' && c <= '9'))
		n = perr(p, p->i, "expected a field path on the left of a comparison");
	else
		n = perr(p, p->i, "unexpected character '%c'", c);
out:
	p->depth--;
	return n;
}

/*
 * One left-associative chain `operand (op operand)*` for 'and'/'&&' and
 * 'or'/'||': the two levels differ only in their operand, symbol, keyword
 * and node kind.
 */
static struct pnode *parse_chain(struct ps *p, struct pnode *(*operand)(struct ps *), char sym,
				 const char *kw, enum pk kind)
{
	struct pnode *l = operand(p);
	while (l) {
		skip_sp(p);
		if (p->i + 1 < p->len && p->s[p->i] == sym && p->s[p->i + 1] == sym)
			p->i += 2;
		else if (!accept_kw(p, kw))
			break;
		struct pnode *r = operand(p);
		if (!r) {
			pred_node_free(l);
			return NULL;
		}
		struct pnode *n = new_node(p, kind);
		if (!n) {
			pred_node_free(l);
			pred_node_free(r);
			return NULL;
		}
		n->a = l;
		n->b = r;
		l = n;
	}
	return l;
}

static struct pnode *parse_and(struct ps *p)
{
	return parse_chain(p, parse_unary, '&', "and", P_AND);
}

static struct pnode *parse_or(struct ps *p)
{
	return parse_chain(p, parse_and, '|', "or", P_OR);
}

int pred_compile(const char *expr, struct scan_fields *fields, const struct pred_opts *opts,
		 struct pred **out, struct pred_error *err)
{
	struct ps p = {.s = expr, .len = strlen(expr), .f = fields, .opts = opts, .err = err};
	err->col = 0;
	err->msg[0] = '\0';
	*out = NULL;
	struct pnode *root = parse_or(&p);
	if (root) {
		skip_sp(&p);
		if (p.i < p.len) {
			size_t wl = word_len(&p, p.i);
			if (wl)
				perr(&p, p.i, "unexpected '%.*s' (expected 'and', 'or' or the end)",
				     (int)wl, p.s + p.i);
			else
				perr(&p, p.i, "unexpected '%c' (expected 'and', 'or' or the end)",
				     p.s[p.i]);
			pred_node_free(root);
			root = NULL;
		}
	}
	if (!root)
		return p.rc ? p.rc : -EINVAL;
	struct pred *pr = malloc(sizeof(*pr));
	if (!pr) {
		pred_node_free(root);
		return -ENOMEM;
	}
	pr->root = root;
	*out = pr;
	return 0;
}

void pred_error_format(const char *expr, const struct pred_error *err, char *out, size_t cap)
{
	if (!cap)
		return;
	size_t elen = strlen(expr);
	/* The caret is placed by characters, not bytes, so UTF-8 lines up. */
	size_t chars = 0;
	for (size_t i = 0; i < err->col && i < elen; i++)
		if (((unsigned char)expr[i] & 0xC0) != 0x80)
			chars++;
	int n = snprintf(out, cap, "%s at column %zu\n  %s\n  ", err->msg, err->col + 1, expr);
	size_t o = n < 0 ? 0 : (size_t)n;
	for (size_t i = 0; i < chars && o + 1 < cap; i++)
		out[o++] = '-';
	if (o + 1 < cap)
		out[o++] = '^';
	if (o + 1 < cap)
		out[o++] = '\n';
	if (o >= cap)
		o = cap - 1;
	out[o] = '\0';
}
