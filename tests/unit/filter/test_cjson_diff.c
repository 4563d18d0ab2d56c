/*
 * test_cjson_diff.c: differential test of the scanner against cJSON (the
 * reference tree parser). For every JSON line of the GH Archive hours, the
 * Amazon reviews and HumanEval, and for every JSONTestSuite y_ file whose top
 * level is an object: cJSON parses the line, the paths of its tree (keys to
 * depth 4, array elements 0..2, plus absent keys and out-of-range indexes)
 * are extracted with our scanner, and each value must agree: same type;
 * strings equal after unescaping; numbers equal as doubles; objects/arrays
 * equal after cJSON_PrintUnformatted normalisation of our compact JSON.
 * Keys that occur twice in one object are skipped (cJSON returns the first,
 * we return the last, by design: scan.h), and so are keys holding \u0000
 * (cJSON cuts them at the NUL). Keys are written in the bracket
 * form ["..."], so odd keys are exercised too.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "scan.h"
#include "t.h"
#include "value.h"

#define MAXPATHS 48
#define PATHLEN 1024

struct pathset {
	char path[MAXPATHS][PATHLEN];
	const cJSON *node[MAXPATHS]; /* NULL: must be missing */
	int n;
};

struct stats {
	long lines, values, missing, strings, numbers, nested, skipped_lines, fails;
};

static int key_count(const cJSON *obj, const char *k)
{
	int n = 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, obj)
	{
		if (c->string && strcmp(c->string, k) == 0)
			n++;
	}
	return n;
}

/* Appends ["key"] (escaping \ and ") to p; 0 if it does not fit. */
static int add_key(char *p, size_t cap, const char *k)
{
	size_t n = strlen(p);
	if (n + 2 >= cap)
		return 0;
	p[n++] = '[';
	p[n++] = '"';
	for (const char *c = k; *c; c++) {
		if (n + 3 >= cap)
			return 0;
		if (*c == '"' || *c == '\\')
			p[n++] = '\\';
		p[n++] = *c;
	}
	if (n + 3 >= cap)
		return 0;
	p[n++] = '"';
	p[n++] = ']';
	p[n] = '\0';
	return 1;
}

static void add_path(struct pathset *ps, const char *p, const cJSON *node)
{
	if (ps->n >= MAXPATHS)
		return;
	snprintf(ps->path[ps->n], PATHLEN, "%s", p);
	ps->node[ps->n] = node;
	ps->n++;
}

static void collect(struct pathset *ps, const cJSON *node, char *prefix, int depth)
{
	if (depth > 4 || ps->n >= MAXPATHS)
		return;
	size_t plen = strlen(prefix);
	if (cJSON_IsObject(node)) {
		const cJSON *c;
		cJSON_ArrayForEach(c, node)
		{
			if (ps->n >= MAXPATHS)
				break;
			if (key_count(node, c->string) != 1)
				continue; /* duplicate keys: first vs last wins */
			if (!add_key(prefix, PATHLEN, c->string)) {
				prefix[plen] = '\0';
				continue;
			}
			add_path(ps, prefix, c);
			collect(ps, c, prefix, depth + 1);
			prefix[plen] = '\0';
		}
		if (add_key(prefix, PATHLEN, "__absent__"))
			add_path(ps, prefix, NULL);
		prefix[plen] = '\0';
	} else if (cJSON_IsArray(node)) {
		int n = cJSON_GetArraySize(node);
		for (int i = 0; i < n && i < 3; i++) {
			snprintf(prefix + plen, PATHLEN - plen, "[%d]", i);
			const cJSON *c = cJSON_GetArrayItem(node, i);
			add_path(ps, prefix, c);
			collect(ps, c, prefix, depth + 1);
			prefix[plen] = '\0';
		}
		snprintf(prefix + plen, PATHLEN - plen, "[%d]", n);
		add_path(ps, prefix, NULL);
		prefix[plen] = '\0';
	}
}

static int same_value(const struct scan_val *v, const cJSON *c, struct stats *st, char *buf,
		      size_t cap)
{
	if (!c) {
		st->missing++;
		return v->type == SCAN_MISSING;
	}
	size_t n = 0;
	if (cJSON_IsNull(c))
		return v->type == SCAN_NULL;
	if (cJSON_IsTrue(c))
		return v->type == SCAN_BOOL && (v->flags & SCAN_F_TRUE);
	if (cJSON_IsFalse(c))
		return v->type == SCAN_BOOL && !(v->flags & SCAN_F_TRUE);
	if (cJSON_IsNumber(c)) {
		struct value_num num;
		st->numbers++;
		if (v->type != SCAN_NUMBER || value_number(v, &num))
			return 0;
		double d = num.is_int ? (double)num.i : num.d;
		return d == c->valuedouble;
	}
	if (cJSON_IsString(c)) {
		st->strings++;
		if (v->type != SCAN_STRING || value_unescape(v, buf, cap, &n))
			return 0;
		/* cJSON's strings end at an embedded U+0000: compare up to it */
		size_t cl = strlen(c->valuestring);
		const char *nul = memchr(buf, '\0', n);
		if (nul)
			n = (size_t)(nul - buf);
		return n == cl && memcmp(buf, c->valuestring, n) == 0;
	}
	st->nested++;
	if ((cJSON_IsArray(c) && v->type != SCAN_ARRAY) ||
	    (cJSON_IsObject(c) && v->type != SCAN_OBJECT))
		return 0;
	if (value_write_json(v, buf, cap - 1, &n))
		return 0;
	cJSON *mine = cJSON_ParseWithLength(buf, n);
	char *a = mine ? cJSON_PrintUnformatted(mine) : NULL;
	char *b = cJSON_PrintUnformatted(c);
	int same = a && b && strcmp(a, b) == 0;
	cJSON_free(a);
	cJSON_free(b);
	cJSON_Delete(mine);
	return same;
}

/* Compares one line; returns 1 when every path agrees (or cJSON rejects the
 * line, counted as skipped). */
static int diff_line(const char *line, size_t len, struct stats *st, const char *where)
{
	static struct pathset ps;
	static char buf[1 << 22];
	cJSON *root = cJSON_ParseWithLength(line, len);
	st->lines++;
	if (!root || !cJSON_IsObject(root)) {
		st->skipped_lines++;
		cJSON_Delete(root);
		return 1;
	}
	ps.n = 0;
	char prefix[PATHLEN] = "";
	collect(&ps, root, prefix, 0);
	struct scan_fields *f = scan_fields_new();
	size_t slot[MAXPATHS];
	int ok = 1;
	for (int i = 0; i < ps.n; i++) {
		size_t ep;
		const char *em;
		if (scan_fields_add(f, ps.path[i], &slot[i], &ep, &em)) {
			fprintf(stderr, "%s: bad generated path %s: %s\n", where, ps.path[i], em);
			ok = 0;
		}
	}
	struct scan_val *v = calloc(scan_fields_nslots(f), sizeof(*v));
	struct scan_result res;
	if (ok && scan_record(f, line, len, SCAN_JSON, v, &res) != 0) {
		fprintf(stderr, "%s: scanner rejects a line cJSON accepts: %s at %zu\n", where,
			res.err_reason, res.err_off);
		ok = 0;
	}
	/* cJSON keys are C strings: a key with \u0000 is cut at the NUL there,
	 * so such a path cannot be asked of our scanner (it sees the whole key). */
	int nul_key = 0;
	for (size_t i = 0; i + 6 <= len; i++)
		if (memcmp(line + i, "\\u0000", 6) == 0)
			nul_key = 1;
	for (int i = 0; ok && i < ps.n; i++) {
		if (nul_key && ps.node[i] && v[slot[i]].type == SCAN_MISSING)
			continue;
		st->values++;
		if (!same_value(&v[slot[i]], ps.node[i], st, buf, sizeof(buf))) {
			fprintf(stderr, "%s: path %s differs (type %s)\n", where, ps.path[i],
				scan_type_name(v[slot[i]].type));
			ok = 0;
		}
	}
	free(v);
	scan_fields_free(f);
	cJSON_Delete(root);
	if (!ok)
		st->fails++;
	return ok;
}

static void diff_gz(const char *rel)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/datasets/%s", S3M_SHARED_DIR, rel);
	gzFile g = gzopen(path, "rb");
	struct stats st;
	memset(&st, 0, sizeof(st));
	int ok = g != NULL;
	size_t cap = 4 << 20, have = 0;
	char *b = malloc(cap);
	while (ok) {
		int r = gzread(g, b + have, (unsigned)(cap - have));
		if (r <= 0)
			break;
		have += (size_t)r;
		size_t i = 0;
		char *nl;
		while ((nl = memchr(b + i, '\n', have - i))) {
			char where[600];
			snprintf(where, sizeof(where), "%s line %ld", rel, st.lines + 1);
			diff_line(b + i, (size_t)(nl - (b + i)), &st, where);
			i = (size_t)(nl - b) + 1;
		}
		memmove(b, b + i, have - i);
		have -= i;
	}
	free(b);
	if (g)
		gzclose(g);
	char name[800];
	snprintf(name, sizeof(name),
		 "%s: %ld lines, %ld values (%ld strings, %ld numbers, %ld nested, %ld absent), "
		 "%ld skipped, %ld differing lines",
		 rel, st.lines, st.values, st.strings, st.numbers, st.nested, st.missing,
		 st.skipped_lines, st.fails);
	printf("%s\n", name);
	T_CASE(name, ok && st.lines > 100 && st.values > st.lines * 5 && st.skipped_lines == 0 &&
			 st.fails == 0);
}

static void diff_jsontestsuite(void)
{
	const char *dir = S3M_SHARED_DIR "/testdata/json/test_parsing";
	DIR *d = opendir(dir);
	CHECK(d != NULL);
	if (!d)
		return;
	struct dirent *e;
	int objs = 0;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "y_", 2) != 0)
			continue;
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		FILE *fp = fopen(path, "rb");
		if (!fp)
			continue;
		static char data[1 << 16];
		size_t n = fread(data, 1, sizeof(data), fp);
		fclose(fp);
		size_t k = 0;
		while (k < n &&
		       (data[k] == ' ' || data[k] == '\n' || data[k] == '\t' || data[k] == '\r'))
			k++;
		if (k >= n || data[k] != '{')
			continue;
		struct stats st;
		memset(&st, 0, sizeof(st));
		int ok = diff_line(data, n, &st, e->d_name);
		objs++;
		/* a y_ object cJSON cannot read is noted, not failed: the point
		 * is agreement where both read the input */
		if (st.skipped_lines)
			printf("%s: cJSON rejects it\n", e->d_name);
		T_CASE(e->d_name, ok);
	}
	closedir(d);
	CHECK(objs >= 10);
}

int main(void)
{
	diff_gz("gharchive/2015-01-01-0.json.gz");
	diff_gz("gharchive/2015-01-01-1.json.gz");
	diff_gz("derived/reviews_Digital_Music_5.complete-lines.json.gz");
	diff_gz("humaneval/HumanEval.jsonl.gz");
	diff_jsontestsuite();
	return T_DONE();
}
