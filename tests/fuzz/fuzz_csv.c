/* fuzz-lib: filtercore */
/*
 * fuzz_csv.c: the output writer on arbitrary fields. Input: byte 0 picks the
 * mode (CSV CRLF, CSV LF, TSV, JSON lines); the rest is split into rows at
 * 0xFE and into fields at 0xFF (rows padded to the widest with empty
 * fields). The rows are written with csv_cell_text and read back with the
 * strict reader of tests/unit/filter/csv_strict.h (JSON lines: with our own
 * strict JSON scanner, each value unescaped); every field must come back
 * byte for byte, and nothing else may come back. Aborts on any difference.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/filter/csv_strict.h"
#include "csv.h"
#include "scan.h"
#include "value.h"

#define MAXC 16
#define MAXR 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int mode = data[0] % 4;
	const char *s = (const char *)data + 1;
	size_t n = size - 1;
	/* split */
	const char *fp[MAXR][MAXC];
	size_t fl[MAXR][MAXC], nf[MAXR];
	size_t nr = 0, maxc = 0, i = 0;
	while (nr < MAXR) {
		size_t c = 0, start = i;
		for (;;) {
			if (i >= n || s[i] == (char)0xFE || s[i] == (char)0xFF) {
				if (c < MAXC) {
					fp[nr][c] = s + start;
					fl[nr][c] = i - start;
					c++;
				}
				if (i >= n || s[i] == (char)0xFE)
					break;
				start = i + 1;
			}
			i++;
		}
		nf[nr++] = c;
		if (c > maxc)
			maxc = c;
		if (i >= n)
			break;
		i++;
	}
	const char *names[MAXC] = {"c0", "c1", "c2",  "c3",  "c4",  "c5",  "c6",  "c7",
				   "c8", "c9", "c10", "c11", "c12", "c13", "c14", "c15"};
	enum csv_format fmt = mode == 2 ? CSV_TSV : mode == 3 ? CSV_JSONL : CSV_CSV;
	struct csv_writer w;
	struct buf out;
	buf_init(&out, 1 << 24);
	if (csv_writer_init(&w, fmt, mode == 1 ? CSV_LF : 0, names, NULL, maxc, 1 << 20))
		abort();
	for (size_t r = 0; r < nr; r++) {
		for (size_t c = 0; c < maxc; c++) {
			const char *p = c < nf[r] ? fp[r][c] : "";
			size_t l = c < nf[r] ? fl[r][c] : 0;
			if (csv_cell_text(&w, p, l, &out))
				abort();
		}
		if (csv_row_end(&w, &out))
			abort();
	}
	if (fmt == CSV_JSONL) {
		struct scan_fields *f = scan_fields_new();
		size_t slot[MAXC], ep;
		const char *em;
		for (size_t c = 0; c < maxc; c++)
			if (scan_fields_add(f, names[c], &slot[c], &ep, &em))
				abort();
		struct scan_val v[64];
		char *tmp = malloc(out.len + 1);
		size_t pos = 0;
		for (size_t r = 0; r < nr; r++) {
			char *e = memchr(out.ptr + pos, '\n', out.len - pos);
			if (!e)
				abort();
			struct scan_result res;
			if (scan_record(f, out.ptr + pos, (size_t)(e - (out.ptr + pos)), SCAN_JSON,
					v, &res))
				abort();
			for (size_t c = 0; c < maxc; c++) {
				const char *p = c < nf[r] ? fp[r][c] : "";
				size_t l = c < nf[r] ? fl[r][c] : 0, k;
				if (value_unescape(&v[slot[c]], tmp, out.len, &k) || k != l ||
				    memcmp(tmp, p, l) != 0)
					abort();
			}
			pos = (size_t)(e - out.ptr) + 1;
		}
		if (pos != out.len)
			abort();
		free(tmp);
		scan_fields_free(f);
	} else {
		struct csvr t;
		size_t eo;
		int rc = fmt == CSV_TSV ? tsvr_parse(out.ptr, out.len, &t, &eo)
					: csvr_parse(out.ptr, out.len, &t, &eo);
		if (rc || t.nrows != nr || t.ncols != maxc)
			abort();
		for (size_t r = 0; r < nr; r++)
			for (size_t c = 0; c < maxc; c++) {
				size_t l;
				const char *got = csvr_field(&t, r, c, &l);
				size_t wl = c < nf[r] ? fl[r][c] : 0;
				if (l != wl || (wl && memcmp(got, fp[r][c], wl) != 0))
					abort();
			}
		csvr_free(&t);
	}
	csv_writer_release(&w);
	buf_release(&out);
	return 0;
}
