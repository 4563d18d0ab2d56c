/*
 * csv_strict.h: test-only strict readers for what filter/csv.c writes, used
 * by test_csv.c and tests/fuzz/fuzz_csv.c (header-only, static functions).
 *
 * csvr_parse: RFC 4180, strictly: a field is either unquoted (no '"', no
 * CR/LF, no separator) or wholly quoted ('""' inside stands for '"', and the
 * closing quote must be followed by the separator, a line end or the end of
 * input). Line ends are CRLF or LF (csv-spectrum has both); a CR not followed
 * by LF outside quotes is an error. A final line end is optional; an empty
 * input has no rows; every row must have as many fields as the first.
 * tsvr_parse: the TSV escapes of csv.h (\\t \\n \\r \\\\; any other backslash
 * is an error), LF line ends, equal field counts.
 * Fields are copied into one arena; csvr_free releases everything.
 */
#ifndef CSV_STRICT_H
#define CSV_STRICT_H
#include <stdlib.h>
#include <string.h>

struct csvr {
	size_t nrows, ncols; /* ncols: fields per row (all equal) */
	size_t nfields;
	size_t *off, *len; /* nfields entries into arena */
	char *arena;
};

static inline void csvr_free(struct csvr *t)
{
	free(t->off);
	free(t->len);
	free(t->arena);
	memset(t, 0, sizeof(*t));
}

static inline const char *csvr_field(const struct csvr *t, size_t row, size_t col, size_t *n)
{
	size_t i = row * t->ncols + col;
	*n = t->len[i];
	return t->arena + t->off[i];
}

/* Returns 0, or -1 with *err_off at the offending byte. */
static inline int csvr_parse_sep(const char *s, size_t n, char sep, int tsv, struct csvr *t,
				 size_t *err_off)
{
	memset(t, 0, sizeof(*t));
	/* every field needs at least one byte of input or one separator */
	size_t maxf = n + 2;
	t->off = malloc(maxf * sizeof(size_t));
	t->len = malloc(maxf * sizeof(size_t));
	t->arena = malloc(n + 1);
	if (!t->off || !t->len || !t->arena) {
		*err_off = 0;
		return -1;
	}
	size_t i = 0, a = 0, row_fields = 0;
	if (n == 0)
		return 0;
	for (;;) {
		/* one field starting at i */
		size_t start = a;
		if (!tsv && i < n && s[i] == '"') {
			i++;
			for (;;) {
				if (i >= n) {
					*err_off = i;
					return -1; /* unterminated quoted field */
				}
				if (s[i] == '"') {
					if (i + 1 < n && s[i + 1] == '"') {
						t->arena[a++] = '"';
						i += 2;
						continue;
					}
					i++;
					break;
				}
				t->arena[a++] = s[i++];
			}
			if (i < n && s[i] != sep && s[i] != '\n' && s[i] != '\r') {
				*err_off = i;
				return -1; /* data after the closing quote */
			}
		} else {
			while (i < n && s[i] != sep && s[i] != '\n' && s[i] != '\r') {
				if (!tsv && s[i] == '"') {
					*err_off = i;
					return -1; /* quote inside an unquoted field */
				}
				if (tsv && s[i] == '\\') {
					char e = i + 1 < n ? s[i + 1] : 0;
					char c = e == 't'    ? '\t'
						 : e == 'n'  ? '\n'
						 : e == 'r'  ? '\r'
						 : e == '\\' ? '\\'
							     : 0;
					if (!c) {
						*err_off = i;
						return -1;
					}
					t->arena[a++] = c;
					i += 2;
					continue;
				}
				t->arena[a++] = s[i++];
			}
		}
		t->off[t->nfields] = start;
		t->len[t->nfields] = a - start;
		t->nfields++;
		row_fields++;
		if (i < n && s[i] == sep) {
			i++;
			continue;
		}
		/* end of row */
		if (t->nrows == 0)
			t->ncols = row_fields;
		else if (row_fields != t->ncols) {
			*err_off = i;
			return -1;
		}
		t->nrows++;
		row_fields = 0;
		if (i >= n)
			return 0;
		if (s[i] == '\r') {
			if (tsv || i + 1 >= n || s[i + 1] != '\n') {
				*err_off = i;
				return -1; /* bare CR */
			}
			i++;
		}
		i++; /* the LF */
		if (i >= n)
			return 0;
	}
}

static inline int csvr_parse(const char *s, size_t n, struct csvr *t, size_t *err_off)
{
	return csvr_parse_sep(s, n, ',', 0, t, err_off);
}

static inline int tsvr_parse(const char *s, size_t n, struct csvr *t, size_t *err_off)
{
	return csvr_parse_sep(s, n, '\t', 1, t, err_off);
}

#endif
