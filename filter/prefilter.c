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

#define ESC_LENS 32 /* escaped strings remembered per line; more: scan it */

struct atom {
	enum pred_atom_kind kind;
	char *s;
	size_t n;
};

struct clause {
	struct atom a[PRED_MAX_ATOMS];
	size_t n;
};

struct prefilter {
	struct clause c[PREFILTER_MAX_CLAUSES];
	size_t nc;
	size_t primary; /* index of the searched clause */
	size_t maxn;	/* longest atom of the primary clause */
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
	for (size_t j = 0; j < pf->c[pf->primary].n; j++)
		if (pf->c[pf->primary].a[j].n > pf->maxn)
			pf->maxn = pf->c[pf->primary].a[j].n;
	*out = pf;
	return 0;
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

static inline int hit_at(const struct clause *c, const char *pos, const char *base, const char *end)
{
	if (*pos == '\\')
		return 1;
	for (size_t i = 0; i < c->n; i++)
		if (c->a[i].s[0] == *pos && verify(&c->a[i], pos, base, end))
			return 1;
	return 0;
}

const char *prefilter_next(const struct prefilter *pf, const char *base, const char *p,
			   const char *end)
{
	const struct clause *c = &pf->c[pf->primary];
	const char *q = p;
#ifdef PF_SSE2
	__m128i first[PREFILTER_MAX_PRIMARY], last[PREFILTER_MAX_PRIMARY];
	const __m128i bs = _mm_set1_epi8('\\');
	size_t k = c->n;

	for (size_t i = 0; i < k; i++) {
		first[i] = _mm_set1_epi8(c->a[i].s[0]);
		last[i] = _mm_set1_epi8(c->a[i].s[c->a[i].n - 1]);
	}
	/* every load at q + n - 1 stays inside [p, end) */
	while ((size_t)(end - q) >= 16 + pf->maxn - 1) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
		__m128i m = _mm_cmpeq_epi8(x, bs);
		for (size_t i = 0; i < k; i++) {
			__m128i y =
			    _mm_loadu_si128((const __m128i *)(const void *)(q + c->a[i].n - 1));
			m = _mm_or_si128(m, _mm_and_si128(_mm_cmpeq_epi8(x, first[i]),
							  _mm_cmpeq_epi8(y, last[i])));
		}
		unsigned mask = (unsigned)_mm_movemask_epi8(m);
		while (mask) {
			const char *pos = q + __builtin_ctz(mask);
			if (hit_at(c, pos, base, end))
				return pos;
			mask &= mask - 1;
		}
		q += 16;
	}
#endif
	for (; q < end; q++)
		if (hit_at(c, q, base, end))
			return q;
	return NULL;
}

/* Does the line hold a raw occurrence of some atom of c? */
static int raw_clause(const struct clause *c, const char *l, size_t n)
{
	const char *end = l + n;
	for (size_t i = 0; i < c->n; i++) {
		const struct atom *a = &c->a[i];
		if (a->n == 0) { /* == '': two quotes of the same kind */
			if (memmem(l, n, "\"\"", 2) || memmem(l, n, "''", 2))
				return 1;
			continue;
		}
		const char *p = l;
		while (p < end) {
			const char *h = memmem(p, (size_t)(end - p), a->s, a->n);
			if (!h)
				break;
			if (verify(a, h, l, end))
				return 1;
			p = h + 1;
		}
	}
	return 0;
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

int prefilter_line(const struct prefilter *pf, const char *line, size_t n)
{
	int has_bs = -1, have_esc = 0;
	struct esc e;

	for (size_t i = 0; i < pf->nc; i++) {
		const struct clause *c = &pf->c[i];
		if (raw_clause(c, line, n))
			continue;
		if (has_bs < 0)
			has_bs = memchr(line, '\\', n) != NULL;
		if (!has_bs)
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
