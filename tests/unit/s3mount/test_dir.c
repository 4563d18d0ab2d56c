/* test_dir.c: how a ListObjectsV2 page becomes directory entries (dir.c) and
 * which key components are usable names (lookup.c): markers, implicit dirs,
 * shadowing, a//b, '.', '..', 255-byte names, key order; the stream over
 * pages of a fake lister: shadowing across pages, names being written here. */
#include <stdlib.h>
#include <string.h>

#include "dir.h"
#include "log.h"
#include "lookup.h"
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

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
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
		enum lookup_name_verdict v;
	} v[] = {
	    {"", LOOKUP_NAME_EMPTY},	       {".", LOOKUP_NAME_DOT},
	    {"..", LOOKUP_NAME_DOT},	       {"...", LOOKUP_NAME_OK},
	    {".hidden", LOOKUP_NAME_OK},       {"a/b", LOOKUP_NAME_SLASH},
	    {"caf\xc3\xa9 ñ", LOOKUP_NAME_OK}, {"sp !#$&'()+,;=@[]~%", LOOKUP_NAME_OK},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		T_CASE(v[i].name, lookup_name_check(v[i].name, strlen(v[i].name)) == v[i].v);
	char n255[256], n256[257];
	memset(n255, 'a', 255);
	n255[255] = '\0';
	memset(n256, 'a', 256);
	n256[256] = '\0';
	T_CASE("255 bytes", lookup_name_check(n255, 255) == LOOKUP_NAME_OK);
	T_CASE("256 bytes", lookup_name_check(n256, 256) == LOOKUP_NAME_LONG);
}

static void test_negative_cache(void)
{
	struct lookup_neg *n;
	CHECK_INT(lookup_neg_new(&n), 0);
	lookup_neg_add(n, 5, "x", 100.0);
	CHECK_INT(lookup_neg_check(n, 5, "x", 50.0), 1);
	CHECK_INT(lookup_neg_check(n, 6, "x", 50.0), 0);
	CHECK_INT(lookup_neg_check(n, 5, "y", 50.0), 0);
	CHECK_INT(lookup_neg_check(n, 5, "x", 150.0), 0); /* expired, and dropped */
	CHECK_INT(lookup_neg_check(n, 5, "x", 50.0), 0);
	lookup_neg_add(n, 5, "z", 100.0);
	lookup_neg_remove(n, 5, "z");
	CHECK_INT(lookup_neg_check(n, 5, "z", 50.0), 0);
	/* past the cap it is cleared, never unbounded */
	char name[32];
	for (int i = 0; i < LOOKUP_NEG_MAX + 10; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		lookup_neg_add(n, 1, name, 100.0);
	}
	snprintf(name, sizeof(name), "n%d", LOOKUP_NEG_MAX + 9);
	CHECK_INT(lookup_neg_check(n, 1, name, 50.0), 1);
	lookup_neg_free(n);
}

/* ---- the stream, over a fake ListObjectsV2 (delimiter '/') ---- */

struct fake_bucket {
	const char *const *keys; /* sorted, byte order */
	size_t nkeys;
	size_t page; /* max entries + prefixes per page */
	int calls;
};

/* ListObjectsV2 with delimiter '/': a common prefix counts as one key; the
 * continuation token is the index of the next key, in decimal. */
static int fake_list(void *arg, const struct s3_list_req *req, struct s3_list_page *out)
{
	struct fake_bucket *b = arg;
	size_t pl = strlen(req->prefix),
	       i = req->continuation ? strtoul(req->continuation, NULL, 10) : 0;
	memset(out, 0, sizeof(*out));
	out->entries = calloc(b->nkeys, sizeof(*out->entries));
	out->prefixes = calloc(b->nkeys, sizeof(char *));
	b->calls++;
	for (; i < b->nkeys; i++) {
		const char *k = b->keys[i];
		if (strncmp(k, req->prefix, pl) != 0)
			continue;
		if (out->nentries + out->nprefixes == b->page) {
			char tok[32];
			snprintf(tok, sizeof(tok), "%zu", i);
			out->truncated = 1;
			out->next_continuation = strdup(tok);
			break;
		}
		const char *slash = strchr(k + pl, '/');
		if (slash) {
			size_t n = (size_t)(slash - k) + 1;
			char *cp = strndup(k, n);
			out->prefixes[out->nprefixes++] = cp;
			while (i + 1 < b->nkeys && strncmp(b->keys[i + 1], cp, n) == 0)
				i++; /* the rest of this common prefix */
		} else {
			struct s3_list_entry *e = &out->entries[out->nentries++];
			e->key = strdup(k);
			e->size = strlen(k);
			memcpy(e->etag, "\"e\"", 4);
		}
	}
	return 0;
}

/* Every entry of the stream as "name/" (directories) or "name:size", joined by
 * spaces, sorted; "*" marks a local entry. */
static void stream_all(struct dir_stream *d, uint64_t from, char *out, size_t cap)
{
	char *names[64];
	size_t n = 0;
	struct dir_entry e;
	for (uint64_t i = from; n < 64 && dir_stream_get(d, i, &e) == 1; i++) {
		char one[300];
		if (e.local)
			snprintf(one, sizeof(one), "%s*", e.name);
		else if (e.is_dir)
			snprintf(one, sizeof(one), "%s/", e.name);
		else
			snprintf(one, sizeof(one), "%s:%llu", e.name, (unsigned long long)e.size);
		names[n++] = strdup(one);
	}
	qsort(names, n, sizeof(char *), cmp_names);
	out[0] = '\0';
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s%s", i ? " " : "",
					names[i]);
		free(names[i]);
	}
}

static void test_stream_shadow_across_pages(void)
{
	/* "d/f" and "d/f/..." with keys between them ('-' and '.' sort before
	 * '/'): at every page size the boundary falls somewhere else, and f must
	 * come once, as a directory */
	static const char *const keys[] = {"d/",      "d/a",	"d/f",	     "d/f-1", "d/f-2",
					   "d/f.txt", "d/f/in", "d/f/sub/x", "d/g",   "d/g-old/y",
					   "d/g.bak", "d/g/z",	"d/h",	     "d/z"};
	const char *want = "a:3 f-1:5 f-2:5 f.txt:7 f/ g-old/ g.bak:7 g/ h:3 z:3";
	for (size_t page = 1; page <= 15; page++) {
		struct fake_bucket b = {keys, sizeof(keys) / sizeof(keys[0]), page, 0};
		struct dir_stream *d;
		CHECK_INT(dir_stream_new_fn(fake_list, &b, "d/", &d), 0);
		char got[512];
		stream_all(d, 0, got, sizeof(got));
		char label[64];
		snprintf(label, sizeof(label), "shadow across pages, page size %zu", page);
		T_CASE(label, strcmp(got, want) == 0);
		if (strcmp(got, want) != 0)
			fprintf(stderr, "  got:  [%s]\n  want: [%s]\n", got, want);
		/* going back restarts the listing and gives the same entries */
		stream_all(d, 0, got, sizeof(got));
		T_CASE("restart", strcmp(got, want) == 0);
		CHECK_INT(dir_stream_pages(d), (uint64_t)b.calls);
		dir_stream_free(d);
	}
}

static void test_stream_locals(void)
{
	/* files being written here: "new" has no object yet, "a" is being
	 * replaced (listed), "f" is hidden by the directory f/ */
	static const char *const keys[] = {"d/a", "d/b", "d/c", "d/f", "d/f/in"};
	const char *want = "a:3 b:3 c:3 f/ new*";
	for (size_t page = 1; page <= 6; page++) {
		struct fake_bucket b = {keys, sizeof(keys) / sizeof(keys[0]), page, 0};
		struct dir_stream *d;
		CHECK_INT(dir_stream_new_fn(fake_list, &b, "d/", &d), 0);
		CHECK_INT(dir_stream_add_local(d, "new"), 0);
		CHECK_INT(dir_stream_add_local(d, "a"), 0);
		CHECK_INT(dir_stream_add_local(d, "f"), 0);
		CHECK_INT(dir_stream_add_local(d, "new"), 0); /* once */
		char got[256];
		stream_all(d, 0, got, sizeof(got));
		T_CASE("locals", strcmp(got, want) == 0);
		if (strcmp(got, want) != 0)
			fprintf(stderr, "  page %zu got:  [%s]\n  want: [%s]\n", page, got, want);
		stream_all(d, 0, got, sizeof(got));
		T_CASE("locals after a restart", strcmp(got, want) == 0);
		dir_stream_free(d);
	}
	/* an empty directory (no object at all) with one file being written */
	struct fake_bucket b = {keys, 0, 3, 0};
	struct dir_stream *d;
	CHECK_INT(dir_stream_new_fn(fake_list, &b, "e/", &d), 0);
	CHECK_INT(dir_stream_add_local(d, "only"), 0);
	char got[64];
	stream_all(d, 0, got, sizeof(got));
	CHECK_STR(got, "only*");
	dir_stream_free(d);
}

int main(void)
{
	log_level_set(LOG_LVL_ERROR);
	T_RUN(test_entries);
	T_RUN(test_bad_names);
	T_RUN(test_root_and_marker_with_data);
	test_name_rules();
	T_RUN(test_negative_cache);
	test_stream_shadow_across_pages();
	test_stream_locals();
	return T_DONE();
}
