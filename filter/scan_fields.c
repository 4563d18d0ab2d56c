/*
 * scan_fields.c: the field-set half of scan.h: parses field paths (the
 * syntax in scan.h) and registers them in the trie of scan_trie.h. Runs only
 * at start-up (single-threaded, allocating); the per-record walk that reads
 * the trie is scan.c.
 */
#include "scan.h"

#include "scan_trie.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NODES 4096
#define MAX_SEGS 128

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
	f->nodes[0].parent = SF_NONE;
	f->nodes[0].first_child = SF_NONE;
	f->nodes[0].next_sibling = SF_NONE;
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
static int add_child(struct scan_fields *f, uint32_t parent, const char *name, size_t nlen,
		     int32_t index, uint32_t *out)
{
	for (uint32_t c = f->nodes[parent].first_child; c != SF_NONE;
	     c = f->nodes[c].next_sibling) {
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
	n->first_child = SF_NONE;
	/* Appending keeps children in registration order (cheap, few children). */
	n->next_sibling = SF_NONE;
	uint32_t *link = &f->nodes[parent].first_child;
	while (*link != SF_NONE)
		link = &f->nodes[*link].next_sibling;
	*link = (uint32_t)f->n;
	if (index >= 0) {
		f->nodes[parent].has_idx = 1;
	} else {
		unsigned bit = sf_key_bit(name, nlen);
		f->nodes[parent].has_keys = 1;
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
