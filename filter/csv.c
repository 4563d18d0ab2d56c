/*
 * csv.c: see csv.h. Each cell reserves its worst case in the output buffer
 * once (CSV: 2n + 2 for quoting, TSV: 2n, JSON: 6n + 8) and then writes
 * through a plain pointer, so the per-byte work is a table lookup and a store.
 */
#include "csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "value.h"

/* 1 = the byte forces CSV quoting. */
static const unsigned char csv_special[256] = {[','] = 1, ['"'] = 1, ['\r'] = 1, ['\n'] = 1};
/* 1 = the byte needs a TSV escape. */
static const unsigned char tsv_special[256] = {['\t'] = 1, ['\n'] = 1, ['\r'] = 1, ['\\'] = 1};

int csv_writer_init(struct csv_writer *w, enum csv_format fmt, unsigned flags,
		    const char *const *names, const size_t *slots, size_t ncols, size_t scratch_cap)
{
	memset(w, 0, sizeof(*w));
	w->fmt = fmt;
	w->flags = flags;
	buf_init(&w->scratch, scratch_cap);
	w->names = calloc(ncols ? ncols : 1, sizeof(*w->names));
	w->slots = calloc(ncols ? ncols : 1, sizeof(*w->slots));
	if (!w->names || !w->slots)
		goto nomem;
	for (size_t i = 0; i < ncols; i++) {
		const char *n = names ? names[i] : "";
		size_t l = strlen(n);
		w->names[i] = malloc(l + 1);
		if (!w->names[i])
			goto nomem;
		memcpy(w->names[i], n, l + 1);
		w->slots[i] = slots ? slots[i] : 0;
		w->ncols = i + 1;
	}
	w->ncols = ncols;
	return 0;
nomem:
	csv_writer_release(w);
	return -ENOMEM;
}

void csv_writer_release(struct csv_writer *w)
{
	if (w->names)
		for (size_t i = 0; i < w->ncols; i++)
			free(w->names[i]);
	free(w->names);
	free(w->slots);
	buf_release(&w->scratch);
	w->names = NULL;
	w->slots = NULL;
	w->ncols = 0;
}

static void fail_row(struct csv_writer *w, struct buf *out)
{
	if (out->len > w->row_start) {
		out->len = w->row_start;
		if (out->ptr)
			out->ptr[out->len] = '\0';
	}
	w->col = 0;
}

/* Starts a cell: row bookkeeping and the separator. */
static int cell_begin(struct csv_writer *w, struct buf *out)
{
	if (w->col == 0)
		w->row_start = out->len;
	if (w->fmt == CSV_JSONL) {
		if (w->col >= w->ncols)
			return -EINVAL;
		/* '{' before the first key WRITTEN (missing cells write none). */
		int rc = buf_addch(out, out->len == w->row_start ? '{' : ',');
		if (rc)
			return rc;
		/* The key: the column text as a JSON string. */
		const char *k = w->names[w->col];
		size_t kl = strlen(k);
		rc = buf_reserve(out, 6 * kl + 3);
		if (rc)
			return rc;
		char *o = out->ptr + out->len;
		*o++ = '"';
		long n = value_json_escape(k, kl, o, 6 * kl);
		if (n < 0)
			return (int)n;
		o += n;
		*o++ = '"';
		*o++ = ':';
		out->len = (size_t)(o - out->ptr);
		out->ptr[out->len] = '\0';
	} else if (w->col > 0) {
		int rc = buf_addch(out, w->fmt == CSV_TSV ? '\t' : ',');
		if (rc)
			return rc;
	}
	w->col++;
	return 0;
}

/* Appends text s[0..n) as one CSV/TSV cell body (the separator is written). */
static int put_text(struct csv_writer *w, const char *s, size_t n, struct buf *out)
{
	if (w->fmt == CSV_TSV) {
		int rc = buf_reserve(out, 2 * n);
		if (rc)
			return rc;
		char *o = out->ptr + out->len;
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];
			if (!tsv_special[c]) {
				*o++ = (char)c;
				continue;
			}
			*o++ = '\\';
			*o++ = c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\';
		}
		out->len = (size_t)(o - out->ptr);
		out->ptr[out->len] = '\0';
		return 0;
	}
	size_t i = 0;
	while (i < n && !csv_special[(unsigned char)s[i]])
		i++;
	if (i == n)
		return buf_add(out, s, n);
	int rc = buf_reserve(out, 2 * n + 2);
	if (rc)
		return rc;
	char *o = out->ptr + out->len;
	*o++ = '"';
	for (i = 0; i < n; i++) {
		if (s[i] == '"')
			*o++ = '"';
		*o++ = s[i];
	}
	*o++ = '"';
	out->len = (size_t)(o - out->ptr);
	out->ptr[out->len] = '\0';
	return 0;
}

int csv_cell_text(struct csv_writer *w, const char *s, size_t n, struct buf *out)
{
	int rc = cell_begin(w, out);
	if (!rc) {
		if (w->fmt == CSV_JSONL) {
			rc = buf_reserve(out, 6 * n + 2);
			if (!rc) {
				char *o = out->ptr + out->len;
				*o++ = '"';
				long k = value_json_escape(s, n, o, 6 * n);
				if (k < 0) {
					rc = (int)k;
				} else {
					o += k;
					*o++ = '"';
					out->len = (size_t)(o - out->ptr);
					out->ptr[out->len] = '\0';
				}
			}
		} else {
			rc = put_text(w, s, n, out);
		}
	}
	if (rc)
		fail_row(w, out);
	return rc;
}

/* Makes sure the scratch holds at least n bytes. */
static int scratch_room(struct csv_writer *w, size_t n)
{
	w->scratch.len = 0;
	return buf_reserve(&w->scratch, n);
}

static int put_value(struct csv_writer *w, const struct scan_val *v, struct buf *out)
{
	int rc;
	size_t n;
	if (w->fmt == CSV_JSONL) {
		if (v->type == SCAN_MISSING)
			return 0;
		rc = buf_reserve(out, 6 * (size_t)v->len + 8);
		if (rc)
			return rc;
		rc = value_write_json(v, out->ptr + out->len, 6 * (size_t)v->len + 8, &n);
		if (rc)
			return rc;
		out->len += n;
		out->ptr[out->len] = '\0';
		return 0;
	}
	switch (v->type) {
	case SCAN_MISSING:
	case SCAN_NULL:
		return 0;
	case SCAN_BOOL:
		return (v->flags & SCAN_F_TRUE) ? buf_add(out, "true", 4)
						: buf_add(out, "false", 5);
	case SCAN_NUMBER:
		return buf_add(out, v->p, v->len);
	case SCAN_STRING:
		if (!(v->flags & SCAN_F_ESC))
			return put_text(w, v->p, v->len, out);
		rc = scratch_room(w, v->len);
		if (rc)
			return rc;
		rc = value_unescape(v, w->scratch.ptr, v->len, &n);
		if (rc)
			return rc;
		return put_text(w, w->scratch.ptr, n, out);
	default:
		rc = scratch_room(w, 6 * (size_t)v->len + 8);
		if (rc)
			return rc;
		rc = value_write_json(v, w->scratch.ptr, 6 * (size_t)v->len + 8, &n);
		if (rc)
			return rc;
		return put_text(w, w->scratch.ptr, n, out);
	}
}

int csv_cell_value(struct csv_writer *w, const struct scan_val *v, struct buf *out)
{
	int rc;
	if (w->fmt == CSV_JSONL && v->type == SCAN_MISSING) {
		/* The key is omitted, but the column still counts. */
		if (w->col == 0)
			w->row_start = out->len;
		if (w->col >= w->ncols)
			return -EINVAL;
		w->col++;
		return 0;
	}
	rc = cell_begin(w, out);
	if (!rc)
		rc = put_value(w, v, out);
	if (rc)
		fail_row(w, out);
	return rc;
}

int csv_row_end(struct csv_writer *w, struct buf *out)
{
	int rc;
	if (w->col == 0)
		w->row_start = out->len;
	if (w->fmt == CSV_JSONL) {
		rc = out->len == w->row_start ? buf_add(out, "{}\n", 3) : buf_add(out, "}\n", 2);
	} else {
		/* A lone empty cell would make a blank line, which readers skip. */
		if (w->col <= 1 && out->len == w->row_start && w->fmt == CSV_CSV)
			rc = buf_add(out, "\"\"", 2);
		else
			rc = 0;
		if (!rc) {
			if (w->fmt == CSV_CSV && !(w->flags & CSV_LF))
				rc = buf_add(out, "\r\n", 2);
			else
				rc = buf_addch(out, '\n');
		}
	}
	if (rc)
		fail_row(w, out);
	w->col = 0;
	return rc;
}

int csv_write_header(struct csv_writer *w, struct buf *out)
{
	if (w->fmt == CSV_JSONL)
		return 0;
	for (size_t i = 0; i < w->ncols; i++) {
		int rc = csv_cell_text(w, w->names[i], strlen(w->names[i]), out);
		if (rc)
			return rc;
	}
	return csv_row_end(w, out);
}

int csv_write_row(struct csv_writer *w, const struct scan_val *slots, struct buf *out)
{
	w->col = 0;
	for (size_t i = 0; i < w->ncols; i++) {
		int rc = csv_cell_value(w, &slots[w->slots[i]], out);
		if (rc)
			return rc;
	}
	return csv_row_end(w, out);
}
