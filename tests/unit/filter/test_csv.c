/*
 * test_csv.c: the output writer (filter/csv.h) against csv-spectrum
 * (../shared/testdata/csv): each csvs/X.csv is first read with the strict
 * RFC 4180 reader of csv_strict.h and must give the records of json/X.json
 * (this validates the reader); then those records are written with our
 * writer (CSV with CRLF, CSV with LF, TSV, JSON lines), read back strictly
 * and compared again. Plus byte-exact rows from scanned JSON and Python
 * records (every value type), quoting rules and error rollback.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "csv_strict.h"
#include "scan.h"
#include "t.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	if (b) {
		b[n] = '\0';
		*len = (size_t)n;
	}
	return b;
}

/* Does table t (header row + records) hold exactly the records of arr? */
static int table_matches(const struct csvr *t, const cJSON *arr, const char *what)
{
	int n = cJSON_GetArraySize(arr);
	if (t->nrows != (size_t)n + 1) {
		fprintf(stderr, "%s: %zu rows, want %d + header\n", what, t->nrows, n);
		return 0;
	}
	for (int r = 0; r < n; r++) {
		const cJSON *rec = cJSON_GetArrayItem(arr, r);
		size_t c = 0;
		const cJSON *kv;
		cJSON_ArrayForEach(kv, rec)
		{
			size_t hl, fl;
			const char *h = csvr_field(t, 0, c, &hl);
			const char *fv = csvr_field(t, (size_t)r + 1, c, &fl);
			if (c >= t->ncols || hl != strlen(kv->string) ||
			    memcmp(h, kv->string, hl) != 0 || !cJSON_IsString(kv) ||
			    fl != strlen(kv->valuestring) || memcmp(fv, kv->valuestring, fl) != 0) {
				fprintf(stderr, "%s: row %d column %zu differs\n", what, r, c);
				return 0;
			}
			c++;
		}
		if (c != t->ncols) {
			fprintf(stderr, "%s: %zu columns, want %zu\n", what, t->ncols, c);
			return 0;
		}
	}
	return 1;
}

/* Writes header + records of arr with fmt/flags into out. */
static int write_records(const cJSON *arr, enum csv_format fmt, unsigned flags, struct buf *out)
{
	const cJSON *first = cJSON_GetArrayItem(arr, 0);
	const char *names[32];
	size_t nc = 0;
	const cJSON *kv;
	cJSON_ArrayForEach(kv, first)
	{
		if (nc < 32)
			names[nc++] = kv->string;
	}
	struct csv_writer w;
	if (csv_writer_init(&w, fmt, flags, names, NULL, nc, 1 << 20))
		return -1;
	int rc = csv_write_header(&w, out);
	const cJSON *rec;
	cJSON_ArrayForEach(rec, arr)
	{
		cJSON_ArrayForEach(kv, rec)
		{
			if (!rc)
				rc = csv_cell_text(&w, kv->valuestring, strlen(kv->valuestring),
						   out);
		}
		if (!rc)
			rc = csv_row_end(&w, out);
	}
	csv_writer_release(&w);
	return rc;
}

static int jsonl_matches(const char *s, size_t n, const cJSON *arr)
{
	int r = 0;
	size_t i = 0;
	while (i < n) {
		const char *nl = memchr(s + i, '\n', n - i);
		if (!nl)
			return 0;
		cJSON *got = cJSON_ParseWithLength(s + i, (size_t)(nl - (s + i)));
		const cJSON *want = cJSON_GetArrayItem(arr, r);
		int same = got && want && cJSON_Compare(got, want, 1);
		cJSON_Delete(got);
		if (!same)
			return 0;
		r++;
		i = (size_t)(nl - s) + 1;
	}
	return r == cJSON_GetArraySize(arr);
}

static void test_spectrum(void)
{
	const char *dir = S3M_SHARED_DIR "/testdata/csv";
	char path[1024];
	snprintf(path, sizeof(path), "%s/csvs", dir);
	DIR *d = opendir(path);
	CHECK(d != NULL);
	if (!d)
		return;
	struct dirent *e;
	int files = 0;
	while ((e = readdir(d))) {
		size_t nl = strlen(e->d_name);
		if (nl < 5 || strcmp(e->d_name + nl - 4, ".csv") != 0)
			continue;
		char name[256];
		snprintf(name, sizeof(name), "%.*s", (int)(nl - 4), e->d_name);
		size_t clen = 0, jlen = 0;
		snprintf(path, sizeof(path), "%s/csvs/%s.csv", dir, name);
		char *csv = slurp(path, &clen);
		snprintf(path, sizeof(path), "%s/json/%s.json", dir, name);
		char *js = slurp(path, &jlen);
		cJSON *arr = js ? cJSON_Parse(js) : NULL;
		char what[300];
		struct csvr t;
		size_t eo = 0;
		files++;

		/* 1. the strict reader reads the given file as expected */
		snprintf(what, sizeof(what), "read %s", name);
		int ok = csv && arr && csvr_parse(csv, clen, &t, &eo) == 0 &&
			 table_matches(&t, arr, what);
		csvr_free(&t);
		T_CASE(what, ok);

		/* 2. our writer, read back strictly: CRLF, LF, TSV */
		static const struct {
			enum csv_format fmt;
			unsigned flags;
			const char *tag;
		} modes[] = {
		    {CSV_CSV, 0, "csv-crlf"}, {CSV_CSV, CSV_LF, "csv-lf"}, {CSV_TSV, 0, "tsv"}};
		for (size_t m = 0; m < 3 && arr; m++) {
			struct buf out;
			buf_init(&out, 1 << 20);
			snprintf(what, sizeof(what), "roundtrip %s %s", modes[m].tag, name);
			ok = write_records(arr, modes[m].fmt, modes[m].flags, &out) == 0;
			if (ok) {
				int prc = modes[m].fmt == CSV_TSV
					      ? tsvr_parse(out.ptr, out.len, &t, &eo)
					      : csvr_parse(out.ptr, out.len, &t, &eo);
				ok = prc == 0 && table_matches(&t, arr, what);
				if (prc)
					fprintf(stderr, "%s: parse error at %zu\n", what, eo);
				csvr_free(&t);
			}
			if (ok && modes[m].fmt == CSV_CSV) {
				/* row ends (newlines outside quotes) are exactly the
				 * requested ones */
				int inq = 0;
				for (size_t i = 0; i < out.len && ok; i++) {
					if (out.ptr[i] == '"')
						inq = !inq;
					else if (out.ptr[i] == '\n' && !inq)
						ok = (i > 0 && out.ptr[i - 1] == '\r') ==
						     !(modes[m].flags & CSV_LF);
				}
			}
			T_CASE(what, ok);
			buf_release(&out);
		}
		/* 3. JSON lines give back the same objects */
		if (arr) {
			struct buf out;
			buf_init(&out, 1 << 20);
			snprintf(what, sizeof(what), "roundtrip jsonl %s", name);
			ok = write_records(arr, CSV_JSONL, 0, &out) == 0 &&
			     jsonl_matches(out.ptr, out.len, arr);
			T_CASE(what, ok);
			buf_release(&out);
		}
		cJSON_Delete(arr);
		free(js);
		free(csv);
	}
	closedir(d);
	CHECK_INT(files, 11);
}

static void test_reader_rejects(void)
{
	const char *bad[] = {"a,b\n1,\"x\"y\n", "a\n\"open\n", "a,b\n1\n", "a,b\n1,x\"y\n",
			     "a\rb\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct csvr t;
		size_t eo;
		CHECK_INT(csvr_parse(bad[i], strlen(bad[i]), &t, &eo), -1);
		csvr_free(&t);
	}
}

/* Scans line for the columns and writes one row; returns the row text. */
static const char *row_of(const char *line, const char *cols, enum csv_format fmt, unsigned flags,
			  int header)
{
	static char res[4096];
	struct scan_fields *f = scan_fields_new();
	size_t slots[16], nc = 0, ep;
	const char *em;
	if (scan_fields_add_list(f, cols, slots, 16, &nc, &ep, &em))
		return "<bad columns>";
	const char *names[16];
	char namebuf[16][64];
	/* column names: the path texts as given (split on commas, or on '|'
	 * when the list holds a quoted key with a comma) */
	const char *p = cols;
	char sep = cols[0] == '[' ? '|' : ',';
	for (size_t i = 0; i < nc; i++) {
		const char *c = strchr(p, sep);
		size_t l = c ? (size_t)(c - p) : strlen(p);
		snprintf(namebuf[i], sizeof(namebuf[i]), "%.*s", (int)l, p);
		names[i] = namebuf[i];
		p = c ? c + 1 : p + l;
	}
	struct scan_val v[64];
	struct scan_result r;
	struct csv_writer w;
	struct buf out;
	buf_init(&out, 1 << 16);
	const char *ret = res;
	if (scan_record(f, line, strlen(line), SCAN_AUTO, v, &r) ||
	    csv_writer_init(&w, fmt, flags, names, slots, nc, 1 << 16)) {
		ret = "<scan failed>";
	} else {
		if ((header && csv_write_header(&w, &out)) || csv_write_row(&w, v, &out))
			ret = "<write failed>";
		else
			snprintf(res, sizeof(res), "%s", out.ptr);
		csv_writer_release(&w);
	}
	buf_release(&out);
	scan_fields_free(f);
	return ret;
}

static void test_rows(void)
{
	const char *j =
	    "{\"id\": \"evt_1\", \"amount\": 9.49, \"big\": 1e3, \"t\": true, \"f\": false, "
	    "\"z\": null, \"name\": \"O'Brien, \\\"Bob\\\"\", \"msg\": \"l1\\nl2\\tx\\r\", "
	    "\"sp\": \"  pad  \", \"obj\": {\"a\": [1, 2.50, \"x,y\"], \"b\": null}, "
	    "\"u\": \"M\\u00fcller \\ud83d\\ude00\", \"e\": \"\"}";
	CHECK_STR(row_of(j, "id,amount,big,t,f,z,nope", CSV_CSV, 0, 1),
		  "id,amount,big,t,f,z,nope\r\nevt_1,9.49,1e3,true,false,,\r\n");
	CHECK_STR(row_of(j, "name,msg,sp", CSV_CSV, 0, 0),
		  "\"O'Brien, \"\"Bob\"\"\",\"l1\nl2\tx\r\",  pad  \r\n");
	CHECK_STR(row_of(j, "obj,u", CSV_CSV, CSV_LF, 0),
		  "\"{\"\"a\"\":[1,2.50,\"\"x,y\"\"],\"\"b\"\":null}\",Müller 😀\n");
	/* one empty column is written as "" so the row is not blank */
	CHECK_STR(row_of(j, "nope", CSV_CSV, 0, 0), "\"\"\r\n");
	CHECK_STR(row_of(j, "e", CSV_CSV, 0, 0), "\"\"\r\n");
	CHECK_STR(row_of(j, "e,z", CSV_CSV, 0, 0), ",\r\n");
	/* TSV escapes */
	CHECK_STR(row_of(j, "msg,name,obj.a", CSV_TSV, 0, 1),
		  "msg\tname\tobj.a\nl1\\nl2\\tx\\r\tO'Brien, \"Bob\"\t[1,2.50,\"x,y\"]\n");
	/* JSON lines: missing keys omitted, null kept, strings as JSON */
	CHECK_STR(row_of(j, "id,nope,z,amount,msg,obj.a,u", CSV_JSONL, 0, 1),
		  "{\"id\":\"evt_1\",\"z\":null,\"amount\":9.49,\"msg\":\"l1\\nl2\\tx\\r\","
		  "\"obj.a\":[1,2.50,\"x,y\"],\"u\":\"M\\u00fcller \\ud83d\\ude00\"}\n");
	CHECK_STR(row_of(j, "nope", CSV_JSONL, 0, 0), "{}\n");
	CHECK_STR(row_of(j, "nope,id", CSV_JSONL, 0, 0), "{\"id\":\"evt_1\"}\n");

	/* Python records: converted values, numbers as written */
	const char *p = "{'id': 'a', 'price': 9.49, 'n': -0, 'ok': True, 'none': None, "
			"'name': \"it's\", 'esc': 'caf\\xe9\\n', 'rel': {'also': ['B0', 'B1'], "
			"1: (2, 3)}, 'inf': inf}";
	CHECK_STR(row_of(p, "id,price,n,ok,none,name,esc,rel,inf", CSV_CSV, 0, 0),
		  "a,9.49,-0,true,,it's,\"café\n\",\"{\"\"also\"\":[\"\"B0\"\",\"\"B1\"\"],"
		  "\"\"1\"\":[2,3]}\",inf\r\n");
	CHECK_STR(
	    row_of(p, "name,esc,ok,none,inf", CSV_JSONL, 0, 0),
	    "{\"name\":\"it's\",\"esc\":\"café\\n\",\"ok\":true,\"none\":null,\"inf\":null}\n");
	/* header names that need quoting */
	CHECK_STR(row_of("{\"a,b\": 1}", "['a,b']", CSV_CSV, 0, 1), "\"['a,b']\"\r\n1\r\n");
}

static void test_rollback(void)
{
	const char *names[] = {"a", "b"};
	size_t slots[] = {1, 2};
	struct csv_writer w;
	struct buf out;
	buf_init(&out, 16);
	CHECK_INT(csv_writer_init(&w, CSV_CSV, 0, names, slots, 2, 1 << 10), 0);
	CHECK_INT(csv_write_header(&w, &out), 0);
	CHECK_STR(out.ptr, "a,b\r\n");
	/* a row that does not fit leaves out exactly as it was */
	CHECK(csv_cell_text(&w, "12345", 5, &out) == 0);
	CHECK_INT(csv_cell_text(&w, "0123456789", 10, &out), -E2BIG);
	CHECK_STR(out.ptr, "a,b\r\n");
	CHECK_INT(out.len, 5);
	/* and the writer is ready for a fresh row */
	CHECK_INT(csv_cell_text(&w, "x", 1, &out), 0);
	CHECK_INT(csv_cell_text(&w, "y", 1, &out), 0);
	CHECK_INT(csv_row_end(&w, &out), 0);
	CHECK_STR(out.ptr, "a,b\r\nx,y\r\n");
	csv_writer_release(&w);
	buf_release(&out);
}

int main(void)
{
	test_spectrum();
	T_RUN(test_reader_rejects);
	T_RUN(test_rows);
	T_RUN(test_rollback);
	return T_DONE();
}
