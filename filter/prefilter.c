/*
 * prefilter.c: the raw prefilter of prefilter.h: clause selection, the SSE2
 * block search and the per-line check (raw atoms, then the escaped strings).
 */
#define _GNU_SOURCE /* memmem, memrchr */
#include "prefilter.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#define PF_SSE2 1
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define PF_AVX2 1 /* compiled for AVX2 by function attribute, used when the CPU has it */
#endif

#define ESC_LENS 32 /* escaped strings remembered per line; more: scan it */

struct atom {
	enum pred_atom_kind kind;
	char *s;
	size_t n;
};

struct clause {
	struct atom a[PRED_MAX_ATOMS];
	size_t n;
	size_t maxn;	       /* longest atom */
	int has_empty;	       /* an atom `== ''` (no bytes to search) */
	int eq_only;	       /* every atom is PRED_ATOM_EQ */
	int nonascii;	       /* some literal holds a byte >= 0x80 */
	unsigned char in[256]; /* bytes of the literals (eq_only: escape relevance) */
	int avx2;	       /* search 32 bytes at a time (the CPU has AVX2) */
};

struct prefilter {
	struct clause c[PREFILTER_MAX_CLAUSES];
	size_t nc;
	size_t primary; /* index of the searched clause */
};

void prefilter_free(struct prefilter *pf)
{
	if (!pf)
		return;
	for (size_t i = 0; i < pf->nc; i++)
		for (size_t j = 0; j < pf->c[i].n; j++)
			free(pf->c[i].a[j].s);
	free(pf);
}

/* Search cost of a clause as the primary: fewer atoms first, then a longer
 * shortest atom (its two-byte filter passes fewer false candidates). An atom
 * of one byte has a one-byte filter; an empty one (`== ''`) has none. */
static int eligible(const struct clause *c)
{
	if (c->n == 0 || c->n > PREFILTER_MAX_PRIMARY)
		return 0;
	for (size_t i = 0; i < c->n; i++)
		if (c->a[i].n == 0)
			return 0;
	return 1;
}

static size_t minlen(const struct clause *c)
{
	size_t m = SIZE_MAX;
	for (size_t i = 0; i < c->n; i++)
		m = c->a[i].n < m ? c->a[i].n : m;
	return m;
}

int prefilter_new(const struct pred *p, struct prefilter **out)
{
	struct pred_clause pc[PREFILTER_MAX_CLAUSES];
	size_t n = pred_clauses(p, pc, PREFILTER_MAX_CLAUSES);
	struct prefilter *pf;
	int have = 0;

	*out = NULL;
	if (n == 0)
		return 0;
	pf = calloc(1, sizeof(*pf));
	if (!pf)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct clause *c = &pf->c[pf->nc++];
		for (size_t j = 0; j < pc[i].n; j++) {
			struct atom *a = &c->a[c->n];
			a->kind = pc[i].a[j].kind;
			a->n = pc[i].a[j].n;
			a->s = malloc(a->n + 1);
			if (!a->s) {
				prefilter_free(pf);
				return -ENOMEM;
			}
			memcpy(a->s, pc[i].a[j].s, a->n);
			a->s[a->n] = '\0';
			c->n++;
		}
		c->eq_only = 1;
		for (size_t j = 0; j < c->n; j++) {
			const struct atom *a = &c->a[j];
			c->maxn = a->n > c->maxn ? a->n : c->maxn;
			c->has_empty |= a->n == 0;
			c->eq_only &= a->kind == PRED_ATOM_EQ;
			for (size_t k = 0; k < a->n; k++) {
				c->in[(unsigned char)a->s[k]] = 1;
				c->nonascii |= (unsigned char)a->s[k] >= 0x80;
			}
		}
		if (!eligible(c))
			continue;
		if (!have) {
			pf->primary = pf->nc - 1;
			have = 1;
			continue;
		}
		const struct clause *b = &pf->c[pf->primary];
		if (c->n < b->n || (c->n == b->n && minlen(c) > minlen(b)))
			pf->primary = pf->nc - 1;
	}
	if (!have) {
		prefilter_free(pf);
		return 0;
	}
	prefilter_use_avx2(pf, 1);
	*out = pf;
	return 0;
}

void prefilter_use_avx2(struct prefilter *pf, int on)
{
	for (size_t i = 0; i < pf->nc; i++) {
		pf->c[i].avx2 = 0;
#ifdef PF_AVX2
		pf->c[i].avx2 = on && __builtin_cpu_supports("avx2");
#else
		(void)on;
#endif
	}
}

size_t prefilter_nclauses(const struct prefilter *pf)
{
	return pf ? pf->nc : 0;
}

size_t prefilter_nprimary(const struct prefilter *pf)
{
	return pf ? pf->c[pf->primary].n : 0;
}

static inline int is_quote(char c)
{
	return c == '"' || c == '\'';
}

/* Is atom a at pos, with the quotes its kind needs, inside [base, end)? */
static inline int verify(const struct atom *a, const char *pos, const char *base, const char *end)
{
	if ((size_t)(end - pos) < a->n || memcmp(pos, a->s, a->n) != 0)
		return 0;
	switch (a->kind) {
	case PRED_ATOM_EQ:
		return pos > base && is_quote(pos[-1]) && pos + a->n < end && pos[a->n] == pos[-1];
	case PRED_ATOM_PREFIX:
		return pos > base && is_quote(pos[-1]);
	case PRED_ATOM_SUFFIX:
		return pos + a->n < end && is_quote(pos[a->n]);
	case PRED_ATOM_SUB:
		return 1;
	}
	return 0;
}

static int esc_at(const struct clause *c, const char *p, const char *end, size_t *len);

/* Does a verified atom of c (or, with bs, a backslash starting an escape
 * that may spell part of one) start at pos? */
static inline int hit_at(const struct clause *c, const char *pos, const char *base, const char *end,
			 int bs)
{
	size_t len;

	if (bs && *pos == '\\')
		return esc_at(c, pos, end, &len);
	for (size_t i = 0; i < c->n; i++)
		if (c->a[i].n && c->a[i].s[0] == *pos && verify(&c->a[i], pos, base, end))
			return 1;
	return 0;
}

#ifdef PF_AVX2
/* The loop of clause_find below, 32 bytes at a time; the tail is left to it. */
__attribute__((target("avx2"))) static const char *
clause_find_avx2(const struct clause *c, const char *base, const char **qp, const char *end, int bs)
{
	__m256i first[PRED_MAX_ATOMS], last[PRED_MAX_ATOMS];
	size_t off[PRED_MAX_ATOMS], k = 0;
	const char *q = *qp;

	for (size_t i = 0; i < c->n; i++) {
		if (c->a[i].n == 0)
			continue;
		first[k] = _mm256_set1_epi8(c->a[i].s[0]);
		last[k] = _mm256_set1_epi8(c->a[i].s[c->a[i].n - 1]);
		off[k++] = c->a[i].n - 1;
	}
	while ((size_t)(end - q) >= 32 + c->maxn - 1) {
		__m256i x = _mm256_loadu_si256((const __m256i *)(const void *)q);
		__m256i m =
		    bs ? _mm256_cmpeq_epi8(x, _mm256_set1_epi8('\\')) : _mm256_setzero_si256();
		for (size_t i = 0; i < k; i++) {
			__m256i y = _mm256_loadu_si256((const __m256i *)(const void *)(q + off[i]));
			m = _mm256_or_si256(m, _mm256_and_si256(_mm256_cmpeq_epi8(x, first[i]),
								_mm256_cmpeq_epi8(y, last[i])));
		}
		unsigned mask = (unsigned)_mm256_movemask_epi8(m);
		while (mask) {
			const char *pos = q + __builtin_ctz(mask);
			if (hit_at(c, pos, base, end, bs))
				return pos;
			mask &= mask - 1;
		}
		q += 32;
	}
	*qp = q;
	return NULL;
}
#endif

/*
 * First position in [p, end) where an atom of c (not the empty one) starts
 * verified, or with bs a backslash; NULL when none. Per 16 (AVX2: 32) bytes
 * each atom's first and last byte are compared at their offsets; candidates
 * are verified.
 */
static const char *clause_find(const struct clause *c, const char *base, const char *p,
			       const char *end, int bs)
{
	const char *q = p;
#ifdef PF_AVX2
	if (c->avx2 && c->maxn) {
		const char *hit = clause_find_avx2(c, base, &q, end, bs);
		if (hit)
			return hit;
	}
#endif
#ifdef PF_SSE2
	__m128i first[PRED_MAX_ATOMS], last[PRED_MAX_ATOMS];
	size_t off[PRED_MAX_ATOMS], k = 0;
	const __m128i vbs = _mm_set1_epi8(bs ? '\\' : 0);

	for (size_t i = 0; i < c->n; i++) {
		if (c->a[i].n == 0)
			continue;
		first[k] = _mm_set1_epi8(c->a[i].s[0]);
		last[k] = _mm_set1_epi8(c->a[i].s[c->a[i].n - 1]);
		off[k++] = c->a[i].n - 1;
	}
	/* every load at q + off stays inside [p, end) */
	while (c->maxn && (size_t)(end - q) >= 16 + c->maxn - 1) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
		__m128i m = bs ? _mm_cmpeq_epi8(x, vbs) : _mm_setzero_si128();
		for (size_t i = 0; i < k; i++) {
			__m128i y = _mm_loadu_si128((const __m128i *)(const void *)(q + off[i]));
			m = _mm_or_si128(m, _mm_and_si128(_mm_cmpeq_epi8(x, first[i]),
							  _mm_cmpeq_epi8(y, last[i])));
		}
		unsigned mask = (unsigned)_mm_movemask_epi8(m);
		while (mask) {
			const char *pos = q + __builtin_ctz(mask);
			if (hit_at(c, pos, base, end, bs))
				return pos;
			mask &= mask - 1;
		}
		q += 16;
	}
#endif
	for (; q < end; q++)
		if (hit_at(c, q, base, end, bs))
			return q;
	return NULL;
}

const char *prefilter_next(const struct prefilter *pf, const char *base, const char *p,
			   const char *end)
{
	return clause_find(&pf->c[pf->primary], base, p, end, 1);
}

/* Does the line hold a raw occurrence of some atom of c? */
static int raw_clause(const struct clause *c, const char *l, size_t n)
{
	if (c->has_empty && (memmem(l, n, "\"\"", 2) || memmem(l, n, "''", 2)))
		return 1; /* == '': two quotes of the same kind */
	return clause_find(c, l, l, l + n, 0) != NULL;
}

/* The strings of a line that hold a backslash, by raw length. */
struct esc {
	size_t len[ESC_LENS];
	size_t n;
	int any; /* a backslash-CR (spells nothing) or too many strings: any text */
};

/* Next byte in [p, end) equal to a or b, or end. */
static const char *find2(const char *p, const char *end, char a, char b)
{
#ifdef PF_SSE2
	const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b);
	while (end - p >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
		unsigned m = (unsigned)_mm_movemask_epi8(
		    _mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)));
		if (m)
			return p + __builtin_ctz(m);
		p += 16;
	}
#endif
	while (p < end && *p != a && *p != b)
		p++;
	return p;
}

/* Splits the line into strings the way valid JSON and valid Python lines
 * both quote (prefilter.h) and records the raw length of each string that
 * holds a backslash. An invalid line may be split wrongly: it yields no row. */
static void esc_scan(const char *l, size_t n, struct esc *e)
{
	const char *p = l, *end = l + n;
	e->n = 0;
	e->any = 0;
	for (;;) {
		p = find2(p, end, '"', '\'');
		if (p >= end)
			return;
		const char q = *p++, *body = p;
		int has = 0;
		for (;;) {
			p = find2(p, end, q, '\\');
			if (p >= end)
				return; /* unterminated: not a valid line */
			if (*p == q)
				break;
			has = 1;
			if (p + 1 < end && p[1] == '\r')
				e->any = 1;
			p += 2;
			if (p > end)
				return;
		}
		if (has) {
			if (e->n == ESC_LENS) {
				e->any = 1;
				return;
			}
			e->len[e->n++] = (size_t)(p - body);
		}
		p++;
	}
}

/* Could an escaped string of the line satisfy an atom of c? */
static int esc_clause(const struct clause *c, const struct esc *e)
{
	if (e->any)
		return 1;
	for (size_t k = 0; k < e->n; k++)
		for (size_t i = 0; i < c->n; i++) {
			const struct atom *a = &c->a[i];
			/* raw >= text; == text only for an equal literal,
			 * raw <= 10 x text (\UXXXXXXXX for one byte) */
			if (e->len[k] < a->n)
				continue;
			if (a->kind != PRED_ATOM_EQ || e->len[k] <= 10 * a->n + 10)
				return 1;
		}
	return 0;
}

/* Value of the n hex digits at p (inside [p, end)), or -1. */
static long hexval(const char *p, const char *end, size_t n)
{
	long v = 0;
	if ((size_t)(end - p) < n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char h = (unsigned char)p[i];
		int d = h >= '0' && h <= '9'			 ? h - '0'
			: (h | 0x20) >= 'a' && (h | 0x20) <= 'f' ? (h | 0x20) - 'a' + 10
								 : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/*
 * Could the escape at p (a backslash) belong to a string equal to a literal
 * of c? Such a string holds only the literal's characters, so each of its
 * escapes decodes to bytes of the literal (or spells nothing: a
 * continuation). An escape whose value is another ASCII byte (\" \n \\,
 * \u00e9 for an ASCII literal ...) cannot be one of them; undecidable ones
 * count. Every escape counts for a clause with other kinds of atoms. *len
 * gets the escape's length. A backslash that is itself escaped is judged as
 * an escape too: that only adds candidates.
 */
static int esc_at(const struct clause *c, const char *p, const char *end, size_t *len)
{
	static const unsigned char one[256] = {
	    ['"'] = '"',  ['\''] = '\'', ['\\'] = '\\', ['/'] = '/',  ['n'] = '\n', ['t'] = '\t',
	    ['r'] = '\r', ['b'] = '\b',	 ['f'] = '\f',	['a'] = '\a', ['v'] = '\v'};
	unsigned char e = p + 1 < end ? (unsigned char)p[1] : 0;
	long v = -1;

	*len = 2;
	if (!c->eq_only)
		return 1;
	if (e == 'u' || e == 'U' || e == 'x') {
		size_t nd = e == 'u' ? 4 : e == 'U' ? 8 : 2;
		v = hexval(p + 2, end, nd);
		*len += nd;
		if (v >= 0xD800 && v <= 0xDFFF)
			return 1; /* a surrogate: decoded in pairs */
		/* in a Python bytes string \u is no escape: the text keeps '\\' */
		if (e != 'x' && c->in['\\'])
			return 1;
	} else if (e >= '0' && e <= '7') {
		v = 0;
		*len = 1;
		while (*len < 4 && p + *len < end && p[*len] >= '0' && p[*len] <= '7')
			v = v * 8 + (p[(*len)++] - '0');
	} else if (one[e]) {
		v = one[e];
	} else if (e == '\r' || e == '\n' || e == 0) {
		return 1; /* a continuation spells nothing; or the line ends */
	}
	if (v < 0) { /* unknown: Python keeps the backslash in the text */
		*len = 2;
		return c->in['\\'];
	}
	return v < 0x80 ? c->in[v] : c->nonascii;
}

/* Could any escape of the line belong to a string equal to a literal of c? */
static int esc_relevant(const struct clause *c, const char *l, size_t n)
{
	const char *p = l, *end = l + n;
	size_t len;

	while (p < end && (p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
		if (esc_at(c, p, end, &len))
			return 1;
		p += len;
	}
	return 0;
}

int prefilter_line(const struct prefilter *pf, const char *line, size_t n)
{
	int has_bs = -1, have_esc = 0;
	struct esc e = {.n = 0, .any = 0};

	for (size_t i = 0; i < pf->nc; i++) {
		const struct clause *c = &pf->c[i];
		if (raw_clause(c, line, n))
			continue;
		if (has_bs < 0)
			has_bs = memchr(line, '\\', n) != NULL;
		if (!has_bs || !esc_relevant(c, line, n))
			return 0;
		if (!have_esc) {
			esc_scan(line, n, &e);
			have_esc = 1;
		}
		if (!esc_clause(c, &e))
			return 0;
	}
	return 1;
}

int prefilter_next_line(const struct prefilter *pf, const char *base, const char *p,
			const char *end, const char **ls, const char **le)
{
	while (p < end) {
		const char *hit = prefilter_next(pf, base, p, end), *s, *e;

		if (!hit)
			return 0;
		s = hit > p ? memrchr(p, '\n', (size_t)(hit - p)) : NULL;
		s = s ? s + 1 : p;
		e = memchr(hit, '\n', (size_t)(end - hit));
		if (!e)
			e = end;
		if (prefilter_line(pf, s, (size_t)(e - s))) {
			*ls = s;
			*le = e;
			return 1;
		}
		p = e + 1;
	}
	return 0;
}
