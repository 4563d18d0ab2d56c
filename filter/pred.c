/*
 * pred.c: the evaluation half of pred.h (the parser is pred_parse.c). eval
 * walks the tree of pred_node.h over the slots of one record; literals were
 * pre-parsed at compile time (numbers to value_num, strings unescaped) so the
 * per-record work is a slot load, a type check and one compare.
 */
#include "pred.h"

#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "pred_node.h"
#include "strset.h"
#include "value.h"

void pred_node_free(struct pnode *n)
{
	if (!n)
		return;
	pred_node_free(n->a);
	pred_node_free(n->b);
	free(n->lit.s);
	for (size_t i = 0; i < n->nin; i++)
		free(n->inlits[i].s);
	free(n->inlits);
	strset_free(n->set);
	if (n->has_re)
		regfree(&n->re);
	free(n);
}

void pred_free(struct pred *p)
{
	if (!p)
		return;
	pred_node_free(p->root);
	free(p);
}
/* The text of a string value: the raw slice or unescaped into scratch. */
static int text_of(const struct scan_val *v, char *scratch, size_t cap, const char **t, size_t *n)
{
	if (!(v->flags & SCAN_F_ESC)) {
		*t = v->p;
		*n = v->len;
		return 0;
	}
	int rc = value_unescape(v, scratch, cap, n);
	if (rc)
		return rc;
	*t = scratch;
	return 0;
}

static int apply_op(enum op op, int c)
{
	if (c == VALUE_CMP_NONE)
		return op == OP_NE;
	switch (op) {
	case OP_EQ:
		return c == 0;
	case OP_NE:
		return c != 0;
	case OP_LT:
		return c < 0;
	case OP_LE:
		return c <= 0;
	case OP_GT:
		return c > 0;
	case OP_GE:
		return c >= 0;
	}
	return 0;
}

static int eval_cmp(const struct pnode *n, const struct scan_val *v, char *scratch, size_t cap)
{
	const struct lit *l = &n->lit;
	if (v->type == SCAN_MISSING)
		return 0;
	if (l->type == SCAN_NULL) {
		if (n->op == OP_EQ)
			return v->type == SCAN_NULL;
		if (n->op == OP_NE)
			return v->type != SCAN_NULL;
		return 0;
	}
	if (v->type == SCAN_NULL)
		return 0;
	if ((int)v->type != (int)l->type)
		return n->op == OP_NE;
	switch (l->type) {
	case SCAN_NUMBER: {
		struct value_num x;
		if (value_number(v, &x))
			return 0;
		return apply_op(n->op, value_num_cmp(&x, &l->num));
	}
	case SCAN_STRING: {
		if (n->op == OP_EQ || n->op == OP_NE) {
			int eq = value_str_eq(v, l->s, l->n);
			return n->op == OP_EQ ? eq : !eq;
		}
		const char *t;
		size_t tn;
		int rc = text_of(v, scratch, cap, &t, &tn);
		if (rc)
			return rc == -ENOSPC ? rc : 0;
		size_t m = tn < l->n ? tn : l->n;
		int c = m ? memcmp(t, l->s, m) : 0;
		c = c < 0 ? -1 : c > 0 ? 1 : tn < l->n ? -1 : tn > l->n;
		return apply_op(n->op, c);
	}
	case SCAN_BOOL: {
		int x = !!(v->flags & SCAN_F_TRUE);
		return apply_op(n->op, x < l->b ? -1 : x > l->b);
	}
	default:
		return 0;
	}
}

static int member(const struct pnode *n, const struct scan_val *v, char *scratch, size_t cap)
{
	switch (v->type) {
	case SCAN_STRING: {
		const char *t;
		size_t tn;
		int rc = text_of(v, scratch, cap, &t, &tn);
		if (rc)
			return rc == -ENOSPC ? rc : 0;
		return strset_has_str(n->set, t, tn);
	}
	case SCAN_NUMBER: {
		struct value_num x;
		if (value_number(v, &x))
			return 0;
		return strset_has_num(n->set, &x);
	}
	case SCAN_BOOL:
		return strset_has_bool(n->set, !!(v->flags & SCAN_F_TRUE));
	case SCAN_NULL:
		return strset_has_null(n->set);
	default:
		return 0;
	}
}

static int find_bytes(const char *h, size_t hn, const char *nd, size_t nn)
{
	if (nn == 0)
		return 1;
	if (nn > hn)
		return 0;
	const char *end = h + hn - nn + 1;
	for (const char *p = h; p < end;) {
		p = memchr(p, nd[0], (size_t)(end - p));
		if (!p)
			return 0;
		if (memcmp(p, nd, nn) == 0)
			return 1;
		p++;
	}
	return 0;
}

static int eval(const struct pnode *n, const struct scan_val *slots, char *scratch, size_t cap)
{
	int r;
	switch (n->kind) {
	case P_CONST:
		return n->cval;
	case P_AND:
		r = eval(n->a, slots, scratch, cap);
		return r == 1 ? eval(n->b, slots, scratch, cap) : r;
	case P_OR:
		r = eval(n->a, slots, scratch, cap);
		return r == 0 ? eval(n->b, slots, scratch, cap) : r;
	case P_NOT:
		r = eval(n->a, slots, scratch, cap);
		return r < 0 ? r : !r;
	case P_EXISTS:
		return slots[n->slot].type != SCAN_MISSING;
	case P_MISSING:
		return slots[n->slot].type == SCAN_MISSING;
	case P_CMP:
		return eval_cmp(n, &slots[n->slot], scratch, cap);
	case P_IN:
		if (slots[n->slot].type == SCAN_MISSING)
			return 0;
		return member(n, &slots[n->slot], scratch, cap);
	case P_NOTIN: {
		const struct scan_val *v = &slots[n->slot];
		if (v->type == SCAN_MISSING || v->type == SCAN_NULL)
			return 0;
		r = member(n, v, scratch, cap);
		return r < 0 ? r : !r;
	}
	case P_STARTS:
	case P_ENDS:
	case P_CONTAINS:
	case P_REGEX: {
		const struct scan_val *v = &slots[n->slot];
		if (v->type != SCAN_STRING)
			return 0;
		const char *t;
		size_t tn;
		if (n->kind == P_REGEX) {
			/* regexec needs a NUL-terminated copy. */
			if (v->flags & SCAN_F_ESC) {
				r = value_unescape(v, scratch, cap, &tn);
				if (r)
					return r == -ENOSPC ? r : 0;
			} else {
				if (v->len > cap)
					return -ENOSPC;
				memcpy(scratch, v->p, v->len);
				tn = v->len;
			}
			if (tn >= cap)
				return -ENOSPC;
			scratch[tn] = '\0';
			return regexec(&n->re, scratch, 0, NULL, 0) == 0;
		}
		r = text_of(v, scratch, cap, &t, &tn);
		if (r)
			return r == -ENOSPC ? r : 0;
		if (n->kind == P_STARTS)
			return tn >= n->lit.n && memcmp(t, n->lit.s, n->lit.n) == 0;
		if (n->kind == P_ENDS)
			return tn >= n->lit.n && memcmp(t + tn - n->lit.n, n->lit.s, n->lit.n) == 0;
		return find_bytes(t, tn, n->lit.s, n->lit.n);
	}
	}
	return 0;
}

int pred_eval(const struct pred *p, const struct scan_val *slots, char *scratch, size_t cap)
{
	return eval(p->root, slots, scratch, cap);
}
