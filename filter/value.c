/*
 * value.c: see value.h. The unescaper is one resumable decoder (decode_run)
 * used three ways: whole-string unescape, streamed equality (no buffer), and
 * Python-string -> JSON-string conversion (json mode re-escapes as it goes).
 * stays whole: its parts share decode_run and the inlined bounded output.
 */
#include "value.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

/* ---- bounded output ------------------------------------------------------ */

struct out {
	char *p;
	size_t n, cap;
	int full;
};

static inline void put(struct out *o, const char *s, size_t n)
{
	if (o->full || n > o->cap - o->n) {
		o->full = 1;
		return;
	}
	memcpy(o->p + o->n, s, n);
	o->n += n;
}

static inline void putc1(struct out *o, char c)
{
	if (o->full || o->n >= o->cap) {
		o->full = 1;
		return;
	}
	o->p[o->n++] = c;
}

static size_t utf8_enc(uint32_t cp, char *b)
{
	if (cp < 0x80) {
		b[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (char)(0xC0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp >= 0xD800 && cp <= 0xDFFF)
		cp = 0xFFFD; /* a lone surrogate has no UTF-8 form */
	if (cp < 0x10000) {
		b[0] = (char)(0xE0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	b[0] = (char)(0xF0 | (cp >> 18));
	b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	b[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

static const char hexd[] = "0123456789abcdef";

/* JSON-escapes one byte (json mode) into b; returns its length. */
static inline size_t json_esc_byte(unsigned char c, char *b)
{
	/* the two-character escapes JSON defines */
	static const char short_esc[128] = {['"'] = '"',  ['\\'] = '\\', ['\b'] = 'b', ['\f'] = 'f',
					    ['\n'] = 'n', ['\r'] = 'r',	 ['\t'] = 't'};
	if (c < sizeof(short_esc) && short_esc[c]) {
		b[0] = '\\';
		b[1] = short_esc[c];
		return 2;
	}
	if (c < 0x20) {
		memcpy(b, "\\u00", 4);
		b[4] = hexd[c >> 4];
		b[5] = hexd[c & 15];
		return 6;
	}
	b[0] = (char)c;
	return 1;
}

static inline int needs_json_esc(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\';
}

long value_json_escape(const char *s, size_t n, char *out, size_t cap)
{
	struct out o = {out, 0, cap, 0};
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && !needs_json_esc((unsigned char)s[j]))
			j++;
		put(&o, s + i, j - i);
		if (j < n) {
			char b[6];
			put(&o, b, json_esc_byte((unsigned char)s[j], b));
			j++;
		}
		i = j;
	}
	return o.full ? -ENOSPC : (long)o.n;
}

static inline int is_hex_pair(const char *p)
{
	return crypto_hexval(p[0]) >= 0 && crypto_hexval(p[1]) >= 0;
}

/* n hex digits the scanner has validated */
static uint32_t hexn(const char *p, int n)
{
	uint32_t v = 0;
	for (int i = 0; i < n; i++)
		v = v * 16 + (uint32_t)crypto_hexval(p[i]);
	return v;
}

/*
 * Decodes the string view from *pos, emitting into o until the input ends or
 * the next unit does not fit (o->full is NOT set then: the caller resumes).
 * json: re-escape the output as JSON string text. Returns 0 (all done),
 * 1 (stopped: out full), -EINVAL (bad escape).
 */
static int decode_run(const struct scan_val *v, size_t *pos, struct out *o, int json)
{
	const char *s = v->p;
	const size_t n = v->len;
	const int py = v->flags & SCAN_F_PY, bytes = v->flags & SCAN_F_BYTES;
	size_t i = *pos;
	char b[12];
	while (i < n) {
		/* A run of plain bytes. */
		size_t j = i;
		if (json) {
			while (j < n && s[j] != '\\' && !needs_json_esc((unsigned char)s[j]))
				j++;
		} else {
			const char *bs = memchr(s + i, '\\', n - i);
			j = bs ? (size_t)(bs - s) : n;
		}
		if (j > i) {
			size_t room = o->cap - o->n;
			size_t take = j - i < room ? j - i : room;
			memcpy(o->p + o->n, s + i, take);
			o->n += take;
			i += take;
			if (i < j)
				goto stop;
			continue;
		}
		size_t bl, used;
		if (s[i] != '\\') {
			/* json mode: a byte that needs escaping (raw in Python text). */
			bl = json_esc_byte((unsigned char)s[i], b);
			used = 1;
		} else {
			if (i + 1 >= n)
				return -EINVAL;
			unsigned char e = (unsigned char)s[i + 1];
			uint32_t cp = 0;
			int raw_byte = 0, emit_nothing = 0;
			used = 2;
			switch (e) {
			case '"':
				cp = '"';
				break;
			case '\\':
				cp = '\\';
				break;
			case 'b':
				cp = '\b';
				break;
			case 'f':
				cp = '\f';
				break;
			case 'n':
				cp = '\n';
				break;
			case 'r':
				cp = '\r';
				break;
			case 't':
				cp = '\t';
				break;
			case '/':
				if (py)
					goto unknown;
				cp = '/';
				break;
			case '\'':
				if (!py)
					return -EINVAL;
				cp = '\'';
				break;
			case 'a':
				if (!py)
					return -EINVAL;
				cp = 7;
				break;
			case 'v':
				if (!py)
					return -EINVAL;
				cp = 11;
				break;
			case '\n':
				if (!py)
					return -EINVAL;
				emit_nothing = 1;
				break;
			case '\r':
				if (!py)
					return -EINVAL;
				emit_nothing = 1;
				if (i + 2 < n && s[i + 2] == '\n')
					used = 3;
				break;
			case 'x':
				if (!py || i + 4 > n)
					return -EINVAL;
				if (!is_hex_pair(s + i + 2))
					return -EINVAL;
				cp = hexn(s + i + 2, 2);
				raw_byte = bytes != 0;
				used = 4;
				break;
			case 'u':
				if (py && bytes)
					goto unknown;
				if (i + 6 > n)
					return -EINVAL;
				cp = hexn(s + i + 2, 4);
				used = 6;
				if (!py && cp >= 0xD800 && cp <= 0xDBFF && i + 12 <= n &&
				    s[i + 6] == '\\' && s[i + 7] == 'u') {
					uint32_t lo = hexn(s + i + 8, 4);
					if (lo >= 0xDC00 && lo <= 0xDFFF) {
						cp =
						    0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
						used = 12;
					}
				}
				break;
			case 'U':
				if (!py)
					return -EINVAL;
				if (bytes)
					goto unknown;
				if (i + 10 > n)
					return -EINVAL;
				cp = hexn(s + i + 2, 8);
				if (cp > 0x10FFFF)
					return -EINVAL;
				used = 10;
				break;
			default:
				if (py && e >= '0' && e <= '7') {
					cp = e - '0';
					while (used < 4 && i + used < n && s[i + used] >= '0' &&
					       s[i + used] <= '7') {
						cp = cp * 8 + (uint32_t)(s[i + used] - '0');
						used++;
					}
					if (bytes) {
						cp &= 0xFF;
						raw_byte = 1;
					}
					break;
				}
				if (!py)
					return -EINVAL;
				goto unknown;
			}
			if (emit_nothing) {
				bl = 0;
			} else if (raw_byte) {
				bl = json ? json_esc_byte((unsigned char)cp, b)
					  : (b[0] = (char)cp, 1);
			} else if (json && cp < 0x80) {
				bl = json_esc_byte((unsigned char)cp, b);
			} else {
				bl = utf8_enc(cp, b);
			}
			goto emit;
		unknown:
			/* Python keeps an unknown escape's backslash; the next byte is
			 * decoded as ordinary text on the next round. */
			bl = json ? json_esc_byte('\\', b) : (b[0] = '\\', 1);
			used = 1;
		}
	emit:
		if (bl > o->cap - o->n)
			goto stop;
		memcpy(o->p + o->n, b, bl);
		o->n += bl;
		i += used;
	}
	*pos = i;
	return 0;
stop:
	*pos = i;
	return 1;
}

int value_unescape(const struct scan_val *v, char *out, size_t cap, size_t *outlen)
{
	if (v->type != SCAN_STRING)
		return -EINVAL;
	if (!(v->flags & SCAN_F_ESC)) {
		if (v->len > cap)
			return -ENOSPC;
		memcpy(out, v->p, v->len);
		*outlen = v->len;
		return 0;
	}
	struct out o = {out, 0, cap, 0};
	size_t pos = 0;
	int rc = decode_run(v, &pos, &o, 0);
	if (rc < 0)
		return rc;
	if (rc == 1)
		return -ENOSPC;
	*outlen = o.n;
	return 0;
}

int value_str_eq(const struct scan_val *v, const char *s, size_t n)
{
	if (v->type != SCAN_STRING)
		return 0;
	if (!(v->flags & SCAN_F_ESC))
		return v->len == n && memcmp(v->p, s, n) == 0;
	char tmp[256];
	size_t pos = 0, done = 0;
	for (;;) {
		struct out o = {tmp, 0, sizeof(tmp), 0};
		int rc = decode_run(v, &pos, &o, 0);
		if (rc < 0)
			return 0;
		if (o.n > n - done || memcmp(tmp, s + done, o.n) != 0)
			return 0;
		done += o.n;
		if (rc == 0)
			return done == n;
	}
}

/* ---- numbers ------------------------------------------------------------- */

static const double pow10_exact[] = {1e0,  1e1,	 1e2,  1e3,  1e4,  1e5,	 1e6,  1e7,
				     1e8,  1e9,	 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
				     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

int value_parse_number(const char *s, size_t len, struct value_num *n)
{
	size_t i = 0;
	int neg = 0;
	if (i < len && s[i] == '-') {
		neg = 1;
		i++;
	}
	if (len - i == 3 && (memcmp(s + i, "inf", 3) == 0 || memcmp(s + i, "nan", 3) == 0)) {
		n->is_int = 0;
		n->i = 0;
		n->d = s[i] == 'i' ? (neg ? -INFINITY : INFINITY) : NAN;
		return 0;
	}
	uint64_t m = 0;
	int sig = 0, drop = 0, intdigits = 0, frac = 0;
	size_t start = i;
	/* Mantissa: keep up to 19 significant digits exactly; count the rest. */
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		if (sig < 19) {
			m = m * 10 + (uint64_t)(s[i] - '0');
			if (m)
				sig++;
		} else {
			drop++;
		}
		intdigits++;
		i++;
	}
	if (intdigits == 0)
		return -EINVAL;
	if (intdigits > 1 && s[start] == '0')
		return -EINVAL;
	int e10 = drop;
	int is_int = 1;
	if (i < len && s[i] == '.') {
		i++;
		is_int = 0;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (sig < 19) {
				m = m * 10 + (uint64_t)(s[i] - '0');
				if (m)
					sig++;
				e10--;
			}
			frac++;
			i++;
		}
		if (!frac)
			return -EINVAL;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		is_int = 0;
		int eneg = 0;
		long ev = 0;
		int edig = 0;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			eneg = s[i++] == '-';
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (ev < 100000)
				ev = ev * 10 + (s[i] - '0');
			edig++;
			i++;
		}
		if (!edig)
			return -EINVAL;
		e10 += (int)(eneg ? -ev : ev);
	}
	if (i != len)
		return -EINVAL;
	if (is_int && drop == 0) {
		/* <= 19 digits: fits uint64; int64 range check. */
		if (!neg && m <= (uint64_t)INT64_MAX) {
			n->is_int = 1;
			n->i = (int64_t)m;
			n->d = (double)m;
			return 0;
		}
		if (neg && m <= (uint64_t)INT64_MAX + 1) {
			n->is_int = 1;
			n->i = m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m;
			n->d = -(double)m;
			return 0;
		}
	}
	n->is_int = 0;
	n->i = 0;
	/* Clinger's fast path: exact when m < 2^53 and |e10| <= 22. */
	if (drop == 0 && m < (1ULL << 53) && e10 >= -22 && e10 <= 22) {
		double d = (double)m;
		d = e10 < 0 ? d / pow10_exact[-e10] : d * pow10_exact[e10];
		n->d = neg ? -d : d;
		return 0;
	}
	char tmp[512];
	if (len >= sizeof(tmp))
		return -ERANGE;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	n->d = strtod(tmp, NULL);
	return 0;
}

int value_number(const struct scan_val *v, struct value_num *n)
{
	if (v->type != SCAN_NUMBER)
		return -EINVAL;
	return value_parse_number(v->p, v->len, n);
}

/* ---- comparison ---------------------------------------------------------- */

/* i against d by exact value: d is split into its integer part (exact: a
 * double of magnitude below 2^63 truncates into an int64 without rounding)
 * and its fraction, so no integer is ever rounded to a double. */
static int cmp_int_dbl(int64_t i, double d)
{
	if (isnan(d))
		return VALUE_CMP_NONE;
	if (d >= 9223372036854775808.0)
		return -1;
	if (d < -9223372036854775808.0)
		return 1;
	double w = trunc(d);
	int64_t t = (int64_t)w;
	if (i != t)
		return i < t ? -1 : 1;
	return d > w ? -1 : d < w;
}

int value_num_cmp(const struct value_num *a, const struct value_num *b)
{
	if (a->is_int && b->is_int)
		return a->i < b->i ? -1 : a->i > b->i;
	if (a->is_int)
		return cmp_int_dbl(a->i, b->d);
	if (b->is_int) {
		int c = cmp_int_dbl(b->i, a->d);
		return c == VALUE_CMP_NONE ? c : -c;
	}
	if (isnan(a->d) || isnan(b->d))
		return VALUE_CMP_NONE;
	return a->d < b->d ? -1 : a->d > b->d;
}

int value_num_int(const struct value_num *n, int64_t *out)
{
	if (n->is_int) {
		*out = n->i;
		return 1;
	}
	if (!(n->d >= -9223372036854775808.0 && n->d < 9223372036854775808.0) ||
	    trunc(n->d) != n->d)
		return 0;
	*out = (int64_t)n->d;
	return 1;
}

int value_cmp(const struct scan_val *a, const struct scan_val *b, char *scratch, size_t cap,
	      int *res)
{
	*res = VALUE_CMP_NONE;
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case SCAN_NULL:
		*res = 0;
		return 0;
	case SCAN_BOOL: {
		int x = !!(a->flags & SCAN_F_TRUE), y = !!(b->flags & SCAN_F_TRUE);
		*res = x < y ? -1 : x > y;
		return 0;
	}
	case SCAN_NUMBER: {
		struct value_num x, y;
		if (value_number(a, &x) || value_number(b, &y))
			return 0;
		*res = value_num_cmp(&x, &y);
		return 0;
	}
	case SCAN_STRING: {
		const char *x = a->p, *y = b->p;
		size_t xl = a->len, yl = b->len;
		int rc;
		if (a->flags & SCAN_F_ESC) {
			rc = value_unescape(a, scratch, cap, &xl);
			if (rc)
				return rc;
			x = scratch;
			scratch += xl;
			cap -= xl;
		}
		if (b->flags & SCAN_F_ESC) {
			rc = value_unescape(b, scratch, cap, &yl);
			if (rc)
				return rc;
			y = scratch;
		}
		size_t m = xl < yl ? xl : yl;
		int c = m ? memcmp(x, y, m) : 0;
		*res = c < 0 ? -1 : c > 0 ? 1 : xl < yl ? -1 : xl > yl;
		return 0;
	}
	default:
		return 0;
	}
}

/* ---- compact JSON -------------------------------------------------------- */

static inline int is_ws_py(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f';
}

/* JSON input: drop whitespace outside strings, copy the rest. */
static void json_compact(const char *s, size_t n, struct out *o)
{
	size_t i = 0;
	while (i < n) {
		char c = s[i];
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
			i++;
			continue;
		}
		if (c != '"') {
			size_t j = i + 1;
			while (j < n && s[j] != '"' && s[j] != ' ' && s[j] != '\n' &&
			       s[j] != '\r' && s[j] != '\t')
				j++;
			put(o, s + i, j - i);
			i = j;
			continue;
		}
		size_t j = i + 1;
		while (j < n && s[j] != '"')
			j += s[j] == '\\' ? 2 : 1;
		if (j >= n)
			j = n - 1;
		put(o, s + i, j + 1 - i);
		i = j + 1;
	}
}

/* Python string token at s[i] (prefix or quote): its view and end. */
static size_t py_str_token(const char *s, size_t n, size_t i, struct scan_val *v)
{
	uint8_t flags = SCAN_F_PY;
	if (s[i] == 'b' || s[i] == 'B') {
		flags |= SCAN_F_BYTES;
		i++;
	} else if (s[i] == 'u' || s[i] == 'U') {
		i++;
	}
	char q = s[i++];
	size_t start = i;
	while (i < n && s[i] != q) {
		if (s[i] == '\\') {
			flags |= SCAN_F_ESC;
			i++;
		}
		i++;
	}
	if (i > n)
		i = n;
	v->p = s + start;
	v->len = (uint32_t)(i - start);
	v->type = SCAN_STRING;
	v->flags = flags;
	return i < n ? i + 1 : n;
}

static void py_string_json(const struct scan_val *v, struct out *o)
{
	putc1(o, '"');
	if (o->full)
		return;
	size_t pos = 0;
	int rc = decode_run(v, &pos, o, 1);
	if (rc != 0)
		o->full = 1;
	putc1(o, '"');
}

static int is_py_str_start(const char *s, size_t n, size_t i)
{
	char c = s[i];
	if (c == '\'' || c == '"')
		return 1;
	return (c == 'u' || c == 'U' || c == 'b' || c == 'B') && i + 1 < n &&
	       (s[i + 1] == '\'' || s[i + 1] == '"');
}

/*
 * Python literal -> JSON. Validated input, so a token's first byte tells its
 * kind. The stack tracks dict-ness to know when a token is a key (non-string
 * keys become strings) and to drop trailing commas.
 */
static void py_to_json(const char *s, size_t n, struct out *o)
{
	char stk[SCAN_MAX_DEPTH + 1];
	int d = 0, want_key = 0;
	size_t i = 0;
	while (i < n && !o->full) {
		char c = s[i];
		if (is_ws_py(c)) {
			i++;
			continue;
		}
		if (c == '{' || c == '[' || c == '(') {
			if (d < SCAN_MAX_DEPTH)
				stk[d++] = c;
			putc1(o, c == '(' ? '[' : c);
			want_key = c == '{';
			i++;
			continue;
		}
		if (c == '}' || c == ']' || c == ')') {
			if (d > 0)
				d--;
			putc1(o, c == ')' ? ']' : c);
			want_key = 0;
			i++;
			continue;
		}
		if (c == ',') {
			size_t j = i + 1;
			while (j < n && is_ws_py(s[j]))
				j++;
			if (j < n && (s[j] == '}' || s[j] == ']' || s[j] == ')')) {
				i = j;
				continue;
			}
			putc1(o, ',');
			want_key = d > 0 && stk[d - 1] == '{';
			i++;
			continue;
		}
		if (c == ':') {
			putc1(o, ':');
			want_key = 0;
			i++;
			continue;
		}
		int key = want_key;
		want_key = 0;
		if (is_py_str_start(s, n, i)) {
			struct scan_val v;
			i = py_str_token(s, n, i, &v);
			py_string_json(&v, o);
			continue;
		}
		/* A bare token: True/False/None, a number, inf/nan. */
		size_t j = i;
		while (j < n && !is_ws_py(s[j]) && s[j] != ',' && s[j] != ':' && s[j] != '}' &&
		       s[j] != ']' && s[j] != ')')
			j++;
		const char *t = s + i;
		size_t tl = j - i;
		const char *w = t;
		size_t wl = tl;
		if (tl == 4 && memcmp(t, "True", 4) == 0)
			w = "true";
		else if (tl == 5 && memcmp(t, "False", 5) == 0)
			w = "false";
		else if (tl == 4 && memcmp(t, "None", 4) == 0)
			w = "null";
		else if (!key && memchr(t, 'n', tl) && (memchr(t, 'i', tl) || memchr(t, 'a', tl)))
			w = "null"; /* inf, -inf, nan */
		if (w != t)
			wl = strlen(w);
		if (key)
			putc1(o, '"');
		put(o, w, wl);
		if (key)
			putc1(o, '"');
		i = j;
	}
}

int value_write_json(const struct scan_val *v, char *out, size_t cap, size_t *outlen)
{
	struct out o = {out, 0, cap, 0};
	const int py = v->flags & SCAN_F_PY;
	switch (v->type) {
	case SCAN_MISSING:
		break;
	case SCAN_NULL:
		put(&o, "null", 4);
		break;
	case SCAN_BOOL:
		if (v->flags & SCAN_F_TRUE)
			put(&o, "true", 4);
		else
			put(&o, "false", 5);
		break;
	case SCAN_NUMBER:
		if (v->flags & SCAN_F_SPECIAL)
			put(&o, "null", 4);
		else
			put(&o, v->p, v->len);
		break;
	case SCAN_STRING:
		if (py) {
			py_string_json(v, &o);
		} else {
			putc1(&o, '"');
			put(&o, v->p, v->len);
			putc1(&o, '"');
		}
		break;
	case SCAN_OBJECT:
	case SCAN_ARRAY:
		if (py)
			py_to_json(v->p, v->len, &o);
		else
			json_compact(v->p, v->len, &o);
		break;
	default:
		return -EINVAL;
	}
	if (o.full)
		return -ENOSPC;
	*outlen = o.n;
	return 0;
}
