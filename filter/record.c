/*
 * record.c: the per-record glue between scanner, predicate and CSV writer.
 */
#include "record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Splits the column list with scan_fields_add_prefix so every column keeps
 * its text as written (the header) and its slot. */
static int parse_columns(struct record_plan *j, const char *list, char *err, size_t errcap)
{
	size_t len = strlen(list), pos = 0, alloc = 0;
	int rc;

	for (;;) {
		size_t consumed = 0, slot = 0, errpos = 0;
		const char *msg = NULL;

		while (pos < len && is_space(list[pos]))
			pos++;
		if (j->ncols == RECORD_MAX_COLS) {
			snprintf(err, errcap, "--columns: more than %d columns", RECORD_MAX_COLS);
			return -EINVAL;
		}
		rc = scan_fields_add_prefix(j->fields, list + pos, len - pos, &consumed, &slot,
					    &errpos, &msg);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0 || consumed == 0) {
			snprintf(err, errcap, "--columns: %s at column %zu: %s",
				 msg ? msg : "expected a field path", pos + errpos + 1, list);
			return -EINVAL;
		}
		if (j->ncols == alloc) {
			size_t na = alloc ? alloc * 2 : 8;
			char **nn = realloc(j->names, na * sizeof(*nn));
			size_t *ns;

			if (!nn)
				return -ENOMEM;
			j->names = nn;
			ns = realloc(j->slots, na * sizeof(*ns));
			if (!ns)
				return -ENOMEM;
			j->slots = ns;
			alloc = na;
		}
		j->names[j->ncols] = strndup(list + pos, consumed);
		if (!j->names[j->ncols])
			return -ENOMEM;
		j->slots[j->ncols++] = slot;
		pos += consumed;
		while (pos < len && is_space(list[pos]))
			pos++;
		if (pos == len)
			return 0;
		if (list[pos] != ',') {
			snprintf(err, errcap, "--columns: expected ',' at column %zu: %s", pos + 1,
				 list);
			return -EINVAL;
		}
		pos++;
	}
}

int record_plan_init(struct record_plan *j, const char *where, const char *columns,
		     enum scan_format in, enum csv_format out, unsigned csv_flags, size_t max_line,
		     char *err, size_t errcap)
{
	int rc;

	memset(j, 0, sizeof(*j));
	j->informat = in;
	j->outformat = out;
	j->csv_flags = csv_flags;
	j->max_line = max_line;
	err[0] = '\0';
	j->fields = scan_fields_new();
	if (!j->fields)
		return -ENOMEM;
	if (where) {
		struct pred_error pe;

		memset(&pe, 0, sizeof(pe));
		rc = pred_compile(where, j->fields, NULL, &j->pred, &pe);
		if (rc < 0) {
			char buf[1024];

			if (pe.msg[0]) {
				pred_error_format(where, &pe, buf, sizeof(buf));
				snprintf(err, errcap, "--where: %s", buf);
			} else {
				snprintf(err, errcap, "--where: %s", strerror(-rc));
			}
			return rc == -ENOMEM ? rc : -EINVAL;
		}
	}
	rc = parse_columns(j, columns, err, errcap);
	if (rc < 0)
		return rc;
	j->nslots = scan_fields_nslots(j->fields);
	return 0;
}

int record_plan_prefilter(struct record_plan *j)
{
	prefilter_free(j->pf);
	j->pf = NULL;
	return j->pred ? prefilter_new(j->pred, &j->pf) : 0;
}

void record_plan_release(struct record_plan *j)
{
	prefilter_free(j->pf);
	pred_free(j->pred);
	scan_fields_free(j->fields);
	for (size_t i = 0; i < j->ncols; i++)
		free(j->names[i]);
	free(j->names);
	free(j->slots);
	memset(j, 0, sizeof(*j));
}

int record_worker_init(struct record_worker *w, const struct record_plan *j)
{
	int rc;

	memset(w, 0, sizeof(*w));
	w->plan = j;
	w->slots = calloc(j->nslots ? j->nslots : 1, sizeof(*w->slots));
	w->scratch_cap = j->max_line + 1;
	/* Large but lazily touched: only pages an actual string uses count. */
	w->scratch = malloc(w->scratch_cap);
	if (!w->slots || !w->scratch) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = csv_writer_init(&w->w, j->outformat, j->csv_flags, (const char *const *)j->names,
			     j->slots, j->ncols, 8 * j->max_line + 64);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	free(w->slots);
	free(w->scratch);
	memset(w, 0, sizeof(*w));
	return rc;
}

void record_worker_release(struct record_worker *w)
{
	if (!w->plan)
		return;
	csv_writer_release(&w->w);
	free(w->slots);
	free(w->scratch);
	memset(w, 0, sizeof(*w));
}

int record_header(struct record_worker *w, struct buf *out)
{
	return csv_write_header(&w->w, out);
}

int record_is_blank(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			return 0;
	return 1;
}

int record_process(struct record_worker *w, const char *line, size_t len, struct buf *out,
		   struct scan_result *res)
{
	const struct record_plan *j = w->plan;
	int rc;

	if (len == 0 || record_is_blank(line, len))
		return 0;
	rc = scan_record(j->fields, line, len, j->informat, w->slots, res);
	if (rc < 0)
		return rc;
	if (j->pred) {
		rc = pred_eval(j->pred, w->slots, w->scratch, w->scratch_cap);
		if (rc <= 0)
			return rc;
	}
	rc = csv_write_row(&w->w, w->slots, out);
	return rc < 0 ? rc : 1;
}
