/*
 * pred_clauses.c: pred_clauses() of pred.h: the literal conditions a matching
 * record must meet, read off the compiled tree (pred_node.h) for the raw
 * prefilter. Runs once at start-up. Every rule only WEAKENS the predicate
 * (each clause is implied by it), so a prefilter built on the clauses may
 * pass lines that do not match but never drops one that does.
 */
#include "pred.h"

#include <stdint.h>
#include <string.h>

#include "pred_node.h"

static int atom_of(const struct pnode *n, struct pred_atom *a)
{
	a->s = n->lit.s;
	a->n = n->lit.n;
	switch (n->kind) {
	case P_CMP:
		if (n->op != OP_EQ || n->lit.type != SCAN_STRING)
			return 0;
		a->kind = PRED_ATOM_EQ;
		return 1;
	case P_STARTS:
		a->kind = PRED_ATOM_PREFIX;
		return a->n > 0; /* '' is every string's prefix: no condition */
	case P_ENDS:
		a->kind = PRED_ATOM_SUFFIX;
		return a->n > 0;
	case P_CONTAINS:
		a->kind = PRED_ATOM_SUB;
		return a->n > 0;
	default:
		return 0;
	}
}

/* The clause of one test node, if it has one. */
static int leaf_clause(const struct pnode *n, struct pred_clause *c)
{
	c->n = 0;
	if (n->kind == P_IN) {
		/* a number, bool or null in the list matches non-strings too */
		if (!n->inlits || n->nin == 0 || n->nin_other)
			return 0;
		for (size_t i = 0; i < n->nin; i++)
			c->a[c->n++] =
			    (struct pred_atom){PRED_ATOM_EQ, n->inlits[i].s, n->inlits[i].n};
		return 1;
	}
	if (atom_of(n, &c->a[0])) {
		c->n = 1;
		return 1;
	}
	return 0;
}

/* Smaller is better: fewer atoms to search, and longer ones. */
static int better(const struct pred_clause *a, const struct pred_clause *b)
{
	size_t ma = SIZE_MAX, mb = SIZE_MAX;
	for (size_t i = 0; i < a->n; i++)
		ma = a->a[i].n < ma ? a->a[i].n : ma;
	for (size_t i = 0; i < b->n; i++)
		mb = b->a[i].n < mb ? b->a[i].n : mb;
	if (a->n != b->n)
		return a->n < b->n;
	return ma > mb;
}

/* The single best clause implied by n (0: none). */
static int best_clause(const struct pnode *n, struct pred_clause *c)
{
	struct pred_clause x, y;
	int hx, hy;
	switch (n->kind) {
	case P_AND:
		hx = best_clause(n->a, &x);
		hy = best_clause(n->b, &y);
		if (hx && (!hy || better(&x, &y)))
			*c = x;
		else if (hy)
			*c = y;
		return hx || hy;
	case P_OR:
		if (!best_clause(n->a, &x) || !best_clause(n->b, &y))
			return 0;
		if (x.n + y.n > PRED_MAX_ATOMS)
			return 0;
		*c = x;
		memcpy(&c->a[c->n], y.a, y.n * sizeof(y.a[0]));
		c->n += y.n;
		return 1;
	default:
		return leaf_clause(n, c);
	}
}

static size_t clauses(const struct pnode *n, struct pred_clause *out, size_t max)
{
	if (max == 0)
		return 0;
	if (n->kind == P_AND) {
		size_t k = clauses(n->a, out, max);
		return k + clauses(n->b, out + k, max - k);
	}
	return best_clause(n, out) ? 1 : 0;
}

size_t pred_clauses(const struct pred *p, struct pred_clause *out, size_t max)
{
	if (!p || !p->root)
		return 0;
	return clauses(p->root, out, max);
}
