/*
 * t.h: the unit-test harness. A test file defines test functions, calls them
 * through T_RUN from main(), and returns T_DONE(), which prints the closing
 * "N passed, N failed" line ctest's log shows and exits non-zero on failure.
 * A check that fails prints file:line and the expression and marks the current
 * test failed; the test goes on so one run shows every broken check.
 */
#ifndef T_H
#define T_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_passed, t_failed, t_cur_failed;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
			t_cur_failed = 1;                                                          \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *t_a = (a), *t_b = (b);                                                 \
		if (!t_a || !t_b || strcmp(t_a, t_b) != 0) {                                       \
			fprintf(                                                                   \
			    stderr, "%s:%d: CHECK_STR failed: %s\n  got:  [%s]\n  want: [%s]\n",   \
			    __FILE__, __LINE__, #a, t_a ? t_a : "(null)", t_b ? t_b : "(null)");   \
			t_cur_failed = 1;                                                          \
		}                                                                                  \
	} while (0)

#define CHECK_INT(a, b)                                                                            \
	do {                                                                                       \
		long long t_a = (long long)(a), t_b = (long long)(b);                              \
		if (t_a != t_b) {                                                                  \
			fprintf(stderr, "%s:%d: CHECK_INT failed: %s == %lld, want %lld\n",        \
				__FILE__, __LINE__, #a, t_a, t_b);                                 \
			t_cur_failed = 1;                                                          \
		}                                                                                  \
	} while (0)

/* Counts one case; use for data-driven loops so each vector is a case. */
#define T_CASE(name, ok)                                                                           \
	do {                                                                                       \
		if (ok) {                                                                          \
			t_passed++;                                                                \
		} else {                                                                           \
			t_failed++;                                                                \
			fprintf(stderr, "FAIL %s\n", (name));                                      \
		}                                                                                  \
	} while (0)

#define T_RUN(fn)                                                                                  \
	do {                                                                                       \
		t_cur_failed = 0;                                                                  \
		fn();                                                                              \
		if (t_cur_failed) {                                                                \
			t_failed++;                                                                \
			fprintf(stderr, "FAIL %s\n", #fn);                                         \
		} else {                                                                           \
			t_passed++;                                                                \
		}                                                                                  \
	} while (0)

#define T_DONE()                                                                                   \
	(printf("%d passed, %d failed\n", t_passed, t_failed), (t_failed || t_passed == 0) ? 1 : 0)

/* The whole file as a NUL-terminated string (test data is small), or NULL.
 * The caller frees it. static inline: files that do not use it get no
 * unused-function warning. */
static inline char *t_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		p = malloc((size_t)n + 1);
		if (p && fread(p, 1, (size_t)n, f) == (size_t)n) {
			p[n] = '\0';
		} else {
			free(p);
			p = NULL;
		}
	}
	fclose(f);
	return p;
}

#endif
