/* test_dir.c: how a ListObjectsV2 page becomes directory entries (dir.c) and
 * which key components are usable names (meta.c): markers, implicit dirs,
 * shadowing, a//b, '.', '..', 255-byte names, key order. */
#include <stdlib.h>
#include <string.h>

#include "dir.h"
#include "log.h"
#include "meta.h"
#include "t.h"

/* Builds a page from static strings (copied: dir_page_entries rewrites prefixes). */
static void page_make(struct s3_list_page *pg, const char *const *keys, const uint64_t *sizes,
		      size_t nk, const char *const *prefixes, size_t np)
{
	memset(pg, 0, sizeof(*pg));
	/* empty lists are NULL, as the S3 client returns them */
	pg->entries = nk ? calloc(nk, sizeof(*pg->entries)) : NULL;
	pg->prefixes = np ? calloc(np, sizeof(char *)) : NULL;
	for (size_t i = 0; i < nk; i++) {
		pg->entries[i].key = strdup(keys[i]);
		pg->entries[i].size = sizes ? sizes[i] : 1;
		pg->entries[i].mtime = 1000 + (time_t)i;
		memcpy(pg->entries[i].etag, "\"e\"", 4);
	}
	for (size_t i = 0; i < np; i++)
		pg->prefixes[i] = strdup(prefixes[i]);
	pg->nentries = nk;
	pg->nprefixes = np;
}

static void page_free(struct s3_list_page *pg)
{
	for (size_t i = 0; i < pg->nentries; i++)
		free(pg->entries[i].key);
	for (size_t i = 0; i < pg->nprefixes; i++)
		free(pg->prefixes[i]);
	free(pg->entries);
	free(pg->prefixes);
}

static void test_entries(void)
{
	/* listing of "d/": its marker, files, prefixes, a file shadowed by a dir */
	static const char *const keys[] = {"d/", "d/a", "d/a-b", "d/shadow", "d/z.txt"};
	static const uint64_t sizes[] = {0, 10, 20, 30, 40};
	static const char *const prefixes[] = {"d/a/", "d/shadow/", "d/sub/"};
	struct s3_list_page pg;
	page_make(&pg, keys, sizes, 5, prefixes, 3);
	struct dir_entry out[8];
	size_t n = dir_page_entries("d/", &pg, out);
	/* key order: d/a (hidden by d/a/), d/a-b, d/a/, d/shadow (hidden), d/shadow/,
	 * d/sub/, d/z.txt; the marker d/ itself is not an entry */
	CHECK_INT(n, 5);
	const char *want[] = {"a-b", "a", "shadow", "sub", "z.txt"};
	const int want_dir[] = {0, 1, 1, 1, 0};
	for (size_t i = 0; i < n && i < 5; i++) {
		CHECK_STR(out[i].name, want[i]);
		CHECK_INT(out[i].is_dir, want_dir[i]);
	}
	CHECK_INT(out[0].size, 20);
	CHECK_STR(out[4].etag, "\"e\"");
	CHECK_INT(out[4].size, 40);
	page_free(&pg);
}

static void test_bad_names(void)
{
	char longkey[300];
	memcpy(longkey, "r/", 2);
	memset(longkey + 2, 'x', 256);
	longkey[258] = '\0';
	const char *keys[] = {"r/.", "r/..", "r/ok", longkey};
	const char *prefixes[] = {"r//", "r/../", "r/fine/"};
	struct s3_list_page pg;
	page_make(&pg, keys, NULL, 4, prefixes, 3);
	struct dir_entry out[8];
	size_t n = dir_page_entries("r/", &pg, out);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_STR(out[0].name, "fine");
		CHECK_STR(out[1].name, "ok");
	}
	page_free(&pg);
}

static void test_root_and_marker_with_data(void)
{
	static const char *const keys[] = {"m/", "top"};
	static const uint64_t sizes[] = {5, 3};
	static const char *const prefixes[] = {"m/"};
	struct s3_list_page pg;
	/* at the root, "m/" comes as a prefix; a stray marker entry is not a file */
	page_make(&pg, keys, sizes, 2, prefixes, 1);
	struct dir_entry out[4];
	size_t n = dir_page_entries("", &pg, out);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_STR(out[0].name, "m");
		CHECK_INT(out[0].is_dir, 1);
		CHECK_STR(out[1].name, "top");
	}
	page_free(&pg);
	/* the directory's own marker holding data: skipped (logged) */
	static const char *const k2[] = {"m/", "m/f"};
	page_make(&pg, k2, sizes, 2, NULL, 0);
	n = dir_page_entries("m/", &pg, out);
	CHECK_INT(n, 1);
	if (n == 1)
		CHECK_STR(out[0].name, "f");
	page_free(&pg);
}

static void test_name_rules(void)
{
	static const struct {
		const char *name;
		enum meta_name_verdict v;
	} v[] = {
	    {"", META_NAME_EMPTY},	     {".", META_NAME_DOT},
	    {"..", META_NAME_DOT},	     {"...", META_NAME_OK},
	    {".hidden", META_NAME_OK},	     {"a/b", META_NAME_SLASH},
	    {"caf\xc3\xa9 ñ", META_NAME_OK}, {"sp !#$&'()+,;=@[]~%", META_NAME_OK},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		T_CASE(v[i].name, meta_name_check(v[i].name, strlen(v[i].name)) == v[i].v);
	char n255[256], n256[257];
	memset(n255, 'a', 255);
	n255[255] = '\0';
	memset(n256, 'a', 256);
	n256[256] = '\0';
	T_CASE("255 bytes", meta_name_check(n255, 255) == META_NAME_OK);
	T_CASE("256 bytes", meta_name_check(n256, 256) == META_NAME_LONG);
}

static void test_negative_cache(void)
{
	struct meta_neg *n;
	CHECK_INT(meta_neg_new(&n), 0);
	meta_neg_add(n, 5, "x", 100.0);
	CHECK_INT(meta_neg_check(n, 5, "x", 50.0), 1);
	CHECK_INT(meta_neg_check(n, 6, "x", 50.0), 0);
	CHECK_INT(meta_neg_check(n, 5, "y", 50.0), 0);
	CHECK_INT(meta_neg_check(n, 5, "x", 150.0), 0); /* expired, and dropped */
	CHECK_INT(meta_neg_check(n, 5, "x", 50.0), 0);
	meta_neg_add(n, 5, "z", 100.0);
	meta_neg_remove(n, 5, "z");
	CHECK_INT(meta_neg_check(n, 5, "z", 50.0), 0);
	/* past the cap it is cleared, never unbounded */
	char name[32];
	for (int i = 0; i < META_NEG_MAX + 10; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		meta_neg_add(n, 1, name, 100.0);
	}
	snprintf(name, sizeof(name), "n%d", META_NEG_MAX + 9);
	CHECK_INT(meta_neg_check(n, 1, name, 50.0), 1);
	meta_neg_free(n);
}

int main(void)
{
	log_level_set(LOG_LVL_ERROR);
	T_RUN(test_entries);
	T_RUN(test_bad_names);
	T_RUN(test_root_and_marker_with_data);
	test_name_rules();
	T_RUN(test_negative_cache);
	return T_DONE();
}
