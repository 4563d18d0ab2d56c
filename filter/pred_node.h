/*
 * pred_node.h: PRIVATE to the predicate module: the compiled tree that
 * pred_parse.c builds (pred_compile) and pred.c walks (pred_eval). Nodes are
 * allocated at compile time only; a node owns its children, its literal's
 * string copy, its loaded set and its compiled regex, all released by
 * pred_node_free (NULL is a no-op). Read-only once compiled (pred.h).
 */
#ifndef PRED_NODE_H
#define PRED_NODE_H
#include <regex.h>
#include <stddef.h>

#include "pred.h"
#include "scan.h"
#include "value.h"

enum pk {
	P_CONST,
	P_AND,
	P_OR,
	P_NOT,
	P_EXISTS,
	P_MISSING,
	P_CMP,
	P_IN,
	P_NOTIN,
	P_STARTS,
	P_ENDS,
	P_CONTAINS,
	P_REGEX,
};

#define PRED_MAX_NODES 10000

enum op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

struct lit {
	enum scan_type type; /* SCAN_NULL, SCAN_BOOL, SCAN_NUMBER, SCAN_STRING */
	int b;
	struct value_num num;
	char *s; /* NUL-terminated copy (strings) */
	size_t n;
};

struct pnode {
	enum pk kind;
	enum op op;
	int cval; /* P_CONST */
	size_t slot;
	struct pnode *a, *b;
	struct lit lit;
	struct strset *set;
	/* `in [...]`: the string literals of the list, kept for pred_clauses()
	 * (the set cannot be iterated); nin_other counts the list's other
	 * values (numbers, bools, null) and the strings beyond PRED_MAX_ATOMS */
	struct lit *inlits;
	size_t nin, nin_other;
	regex_t re;
	int has_re;
};

struct pred {
	struct pnode *root;
};

/* Frees n and its subtree. */
void pred_node_free(struct pnode *n);

#endif
