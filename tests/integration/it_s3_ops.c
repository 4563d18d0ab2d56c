/*
 * it_s3_ops.c: every operation of shared/s3.h against a real S3 server (Ceph
 * RGW), through the client's own signing, HTTP and XML code.
 * it-timeout: 600
 *
 * Environment (FAILS when missing): S3M_ENDPOINT, AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_REGION. Creates bucket it-s3ops-<pid> and removes
 * it and everything in it at the end.
 *
 * The library log goes at debug level to a temporary file (fd 2 is pointed at
 * it), which the test reads: SignatureDoesNotMatch must appear for the wrong
 * secret, and the secret key and a session token must never appear. Failed
 * checks and the log's errors are shown on stdout at the end.
 *
 * A small relay thread between client and server cuts connections after a
 * number of bytes (a GET must resume from the last byte received), or answers
 * a new connection's first request itself: 503 SlowDown / 500 (retried with
 * backoff), ExpiredToken (credentials refreshed, retried once), a 301 or 400
 * naming another region (learnt, retried there), a 200 whose body is <Error>
 * for CompleteMultipartUpload.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "crypto.h"
#include "log.h"
#include "retry.h"
#include "s3.h"
#include "t.h"

/* the longest a retry sleep can be, in seconds (retry.h's cap) */
#define RETRY_CAP_S (RETRY_DEFAULT_CAP_MS / 1000.0)

static char g_bucket[64];
static const char *g_endpoint, *g_ak, *g_sk, *g_region;
static struct s3_client *g_c;
static char g_logpath[] = "/tmp/it_s3_ops.log.XXXXXX";

/* ---- helpers ---- */

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static char *make_data(size_t n, uint64_t seed)
{
	char *p = malloc(n ? n : 1);
	if (!p)
		abort();
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = rng_next(&seed);
		memcpy(p + i, &v, n - i < 8 ? n - i : 8);
	}
	return p;
}

static void md5_etag(const void *d, size_t n, char out[S3_ETAG_MAX])
{
	uint8_t m[CRYPTO_MD5_LEN];
	char hex[2 * CRYPTO_MD5_LEN + 1];
	crypto_md5(d, n, m);
	crypto_hex(m, sizeof(m), hex);
	snprintf(out, S3_ETAG_MAX, "\"%s\"", hex);
}

/* The multipart ETag: MD5 of the concatenated part MD5s, "-N". */
static void mpu_etag(const char *d, size_t n, size_t part, char out[S3_ETAG_MAX])
{
	size_t np = (n + part - 1) / part;
	uint8_t *all = malloc(np * CRYPTO_MD5_LEN), m[CRYPTO_MD5_LEN];
	char hex[2 * CRYPTO_MD5_LEN + 1];
	for (size_t i = 0; i < np; i++) {
		size_t len = n - i * part < part ? n - i * part : part;
		crypto_md5(d + i * part, len, all + i * CRYPTO_MD5_LEN);
	}
	crypto_md5(all, np * CRYPTO_MD5_LEN, m);
	crypto_hex(m, sizeof(m), hex);
	snprintf(out, S3_ETAG_MAX, "\"%s-%zu\"", hex, np);
	free(all);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct s3_client *new_client(const char *endpoint, int max_retries)
{
	struct s3_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.bucket = g_bucket;
	cfg.region = g_region;
	cfg.endpoint = endpoint;
	cfg.path_style = 1;
	cfg.max_retries = max_retries;
	struct s3_client *c = NULL;
	int rc = s3_client_new(&cfg, &c);
	if (rc)
		fprintf(stdout, "s3_client_new(%s): %d\n", endpoint, rc);
	return c;
}

/* Whole log file as a string (the library writes with write(2), unbuffered). */
static char *read_log(void)
{
	FILE *f = fopen(g_logpath, "rb");
	if (!f)
		return NULL;
	struct buf b;
	buf_init(&b, 256u << 20);
	char tmp[65536];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_add(&b, tmp, n);
	fclose(f);
	return buf_detach(&b, NULL);
}

static int log_contains(const char *needle)
{
	char *s = read_log();
	int found = s && strstr(s, needle) != NULL;
	free(s);
	return found;
}

/* Gets a whole object into a fresh buffer with s3_get_range. */
static char *get_all(struct s3_client *c, const char *key, size_t size, int *rc_out)
{
	char *p = malloc(size + 16);
	size_t got = 0;
	*rc_out = s3_get_range(c, key, 0, size + 16, p, &got, NULL, NULL);
	if (*rc_out == 0 && got != size)
		*rc_out = -EMSGSIZE;
	return p;
}

/* ---- tests ---- */

static void test_bucket(void)
{
	CHECK_INT(s3_bucket_create(g_c), 0);
	CHECK_INT(s3_bucket_check(g_c), 0);
	int rc = s3_bucket_create(g_c);
	CHECK(rc == 0 || rc == -EEXIST);
}

static const size_t OBJ_SIZE = 1000003; /* odd, so ranges do not align */

static void test_put_head_get(void)
{
	char *d = make_data(OBJ_SIZE, 1);
	char etag[S3_ETAG_MAX], want[S3_ETAG_MAX];
	md5_etag(d, OBJ_SIZE, want);
	struct s3_put_opts po = {.content_type = "application/octet-stream"};
	CHECK_INT(s3_put(g_c, "obj.bin", d, OBJ_SIZE, &po, etag), 0);
	CHECK_STR(etag, want);

	struct s3_object_info info;
	CHECK_INT(s3_head(g_c, "obj.bin", &info), 0);
	CHECK_INT(info.size, OBJ_SIZE);
	CHECK_STR(info.etag, want);
	CHECK(info.mtime > time(NULL) - 3600 && info.mtime < time(NULL) + 3600);

	/* full */
	int rc;
	char *all = get_all(g_c, "obj.bin", OBJ_SIZE, &rc);
	CHECK_INT(rc, 0);
	CHECK(rc == 0 && memcmp(all, d, OBJ_SIZE) == 0);
	free(all);

	/* ranges: inner, first byte, last 100 bytes, across EOF */
	struct {
		uint64_t off;
		size_t len, want;
	} rg[] = {{10, 10, 10},
		  {0, 1, 1},
		  {OBJ_SIZE - 100, 100, 100},
		  {OBJ_SIZE - 10, 100, 10},
		  {OBJ_SIZE - 1, 1, 1},
		  {123457, 654321, 654321}};
	for (size_t i = 0; i < sizeof(rg) / sizeof(rg[0]); i++) {
		char *b = malloc(rg[i].len);
		size_t got = 0;
		memset(&info, 0, sizeof(info));
		rc = s3_get_range(g_c, "obj.bin", rg[i].off, rg[i].len, b, &got, NULL, &info);
		CHECK_INT(rc, 0);
		CHECK_INT(got, rg[i].want);
		CHECK(rc == 0 && memcmp(b, d + rg[i].off, got) == 0);
		CHECK_INT(info.size, OBJ_SIZE); /* the total, from Content-Range */
		CHECK_STR(info.etag, want);
		free(b);
	}
	/* at and past EOF */
	char b1[16];
	size_t got = 99;
	CHECK_INT(s3_get_range(g_c, "obj.bin", OBJ_SIZE, 16, b1, &got, NULL, NULL), -ERANGE);
	CHECK_INT(got, 0);
	CHECK_INT(s3_get_range(g_c, "obj.bin", OBJ_SIZE + 5000, 16, b1, &got, NULL, NULL), -ERANGE);
	/* len 0: nothing asked, nothing done */
	CHECK_INT(s3_get_range(g_c, "obj.bin", 0, 0, b1, &got, NULL, NULL), 0);
	CHECK_INT(got, 0);
	/* If-Match */
	CHECK_INT(s3_get_range(g_c, "obj.bin", 0, 16, b1, &got, want, NULL), 0);
	CHECK_INT(s3_get_range(g_c, "obj.bin", 0, 16, b1, &got,
			       "\"00000000000000000000000000000000\"", NULL),
		  -ESTALE);
	/* create-only PUT */
	struct s3_put_opts excl = {.if_none_match = "*"};
	CHECK_INT(s3_put(g_c, "obj.bin", d, 10, &excl, NULL), -EEXIST);
	CHECK_INT(s3_put(g_c, "excl-new", d, 10, &excl, NULL), 0);
	CHECK_INT(s3_delete(g_c, "excl-new"), 0);
	CHECK_INT(s3_head(g_c, "obj.bin", &info), 0);
	CHECK_INT(info.size, OBJ_SIZE);
	/* x-amz-meta-* and Content-Type headers are signed and accepted */
	const char *meta[] = {"mode", "100644", "uid", "1000", NULL};
	struct s3_put_opts mo = {.content_type = "text/plain", .meta = meta};
	CHECK_INT(s3_put(g_c, "meta-obj", "hello", 5, &mo, NULL), 0);
	CHECK_INT(s3_delete(g_c, "meta-obj"), 0);
	/* empty object */
	CHECK_INT(s3_put(g_c, "empty", "", 0, NULL, etag), 0);
	CHECK_STR(etag, "\"d41d8cd98f00b204e9800998ecf8427e\"");
	CHECK_INT(s3_head(g_c, "empty", &info), 0);
	CHECK_INT(info.size, 0);
	free(d);
}

struct collect {
	char *p;
	size_t len, cap;
};

static int collect_sink(void *arg, const void *data, size_t n)
{
	struct collect *c = arg;
	if (c->len + n > c->cap)
		return -EOVERFLOW;
	memcpy(c->p + c->len, data, n);
	c->len += n;
	return 0;
}

static int stop_sink(void *arg, const void *data, size_t n)
{
	(void)data;
	*(size_t *)arg += n;
	return -EINTR;
}

static void test_get_stream(void)
{
	char *d = make_data(OBJ_SIZE, 1);
	struct collect col = {malloc(OBJ_SIZE), 0, OBJ_SIZE};
	struct s3_object_info info;
	CHECK_INT(s3_get_stream(g_c, "obj.bin", 0, UINT64_MAX, collect_sink, &col, &info), 0);
	CHECK_INT(col.len, OBJ_SIZE);
	CHECK(memcmp(col.p, d, OBJ_SIZE) == 0);
	CHECK_INT(info.size, OBJ_SIZE);
	col.len = 0;
	CHECK_INT(s3_get_stream(g_c, "obj.bin", 999000, UINT64_MAX, collect_sink, &col, &info), 0);
	CHECK_INT(col.len, OBJ_SIZE - 999000);
	CHECK(memcmp(col.p, d + 999000, col.len) == 0);
	/* the sink's error comes back as is */
	size_t seen = 0;
	CHECK_INT(s3_get_stream(g_c, "obj.bin", 0, UINT64_MAX, stop_sink, &seen, NULL), -EINTR);
	CHECK(seen > 0);
	/* the whole of an empty object is 0 bytes, not a 416 */
	col.len = 0;
	CHECK_INT(s3_get_stream(g_c, "empty", 0, UINT64_MAX, collect_sink, &col, &info), 0);
	CHECK_INT(col.len, 0);
	free(col.p);
	free(d);
}

static void test_missing(void)
{
	struct s3_object_info info;
	char b[8];
	size_t got;
	struct s3_stats st0, st1;
	s3_client_stats(g_c, &st0);
	CHECK_INT(s3_head(g_c, "no/such/key", &info), -ENOENT);
	CHECK_INT(s3_get_range(g_c, "no/such/key", 0, 8, b, &got, NULL, NULL), -ENOENT);
	CHECK_INT(s3_delete(g_c, "no/such/key"), 0); /* S3: deleting nothing is fine */
	/* a 404 is an answer, not an error: the mount's summary counts apart the
	 * misses of the existence probe every new file makes */
	s3_client_stats(g_c, &st1);
	CHECK_INT(st1.errors - st0.errors, 0);
	CHECK_INT(st1.not_found - st0.not_found, 2);
}

/* Keys that need care in URLs, signatures and XML. */
static const char *const odd_keys[] = {
    "keys/with space.txt",
    "keys/plus+sign",
    "keys/percent%25%",
    "keys/dollar$",
    "keys/eq=ual",
    "keys/amp&ersand",
    "keys/unicode-\xc3\xa9t\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac-\xf0\x9f\x8e\x89",
    "keys/tilde~star*paren()",
    "keys/quote'dq\"lt<gt>",
    "keys/question?hash#",
    "keys/colon:semi;comma,at@",
    "keys/dir/sub dir/file",
    "keys/a//double",
    "keys/back\\slash",
    "keys/caret^brace{}bar|",
    "keys/line\nfeed\ttab\r",
};

static char long_key[1025];

static void test_odd_keys(void)
{
	size_t nk = sizeof(odd_keys) / sizeof(odd_keys[0]);
	const char *keys[32];
	for (size_t i = 0; i < nk; i++)
		keys[i] = odd_keys[i];
	/* a 1024-byte key, the S3 maximum */
	memcpy(long_key, "keys/", 5);
	for (int i = 5; i < 1024; i++)
		long_key[i] = (char)('a' + i % 26);
	long_key[1024] = '\0';
	keys[nk++] = long_key;

	for (size_t i = 0; i < nk; i++) {
		char etag[S3_ETAG_MAX];
		int rc = s3_put(g_c, keys[i], keys[i], strlen(keys[i]), NULL, etag);
		if (rc)
			fprintf(stdout, "put [%s]: %d\n", keys[i], rc);
		CHECK_INT(rc, 0);
	}
	/* listed back, decoded, each exactly once */
	int found[32] = {0};
	size_t total = 0;
	struct s3_list_req lr = {.prefix = "keys/", .max_keys = 5};
	char *tok = NULL;
	for (int pages = 0; pages < 20; pages++) {
		struct s3_list_page pg;
		lr.continuation = tok;
		int rc = s3_list(g_c, &lr, &pg);
		CHECK_INT(rc, 0);
		if (rc)
			break;
		for (size_t e = 0; e < pg.nentries; e++) {
			size_t i;
			for (i = 0; i < nk; i++)
				if (strcmp(pg.entries[e].key, keys[i]) == 0)
					break;
			if (i == nk)
				fprintf(stdout, "unexpected key listed: [%s]\n", pg.entries[e].key);
			CHECK(i < nk);
			if (i < nk) {
				found[i]++;
				CHECK_INT(pg.entries[e].size, strlen(keys[i]));
			}
			total++;
		}
		free(tok);
		tok = pg.next_continuation ? strdup(pg.next_continuation) : NULL;
		int more = pg.truncated;
		s3_list_page_release(&pg);
		if (!more)
			break;
	}
	free(tok);
	CHECK_INT(total, nk);
	for (size_t i = 0; i < nk; i++) {
		if (found[i] != 1)
			fprintf(stdout, "key [%s] listed %d times\n", keys[i], found[i]);
		CHECK_INT(found[i], 1);
		/* and read back by name */
		char b[1100];
		size_t got = 0;
		int rc = s3_get_range(g_c, keys[i], 0, sizeof(b), b, &got, NULL, NULL);
		CHECK_INT(rc, 0);
		CHECK(rc == 0 && got == strlen(keys[i]) && memcmp(b, keys[i], got) == 0);
		struct s3_object_info info;
		CHECK_INT(s3_head(g_c, keys[i], &info), 0);
	}
	/* delimiter listing decodes the prefixes too */
	struct s3_list_req dl = {.prefix = "keys/dir/", .delimiter = "/"};
	struct s3_list_page pg;
	CHECK_INT(s3_list(g_c, &dl, &pg), 0);
	CHECK_INT(pg.nprefixes, 1);
	if (pg.nprefixes == 1)
		CHECK_STR(pg.prefixes[0], "keys/dir/sub dir/");
	CHECK_INT(pg.nentries, 0);
	s3_list_page_release(&pg);
	/* start-after skips, in key order */
	struct s3_list_req sa = {.prefix = "keys/", .start_after = "keys/tilde"};
	CHECK_INT(s3_list(g_c, &sa, &pg), 0);
	for (size_t e = 0; e < pg.nentries; e++)
		CHECK(strcmp(pg.entries[e].key, "keys/tilde") > 0);
	CHECK(pg.nentries >= 2); /* tilde~..., unicode-... */
	s3_list_page_release(&pg);
	/* a control character in a key never splits a log line */
	CHECK(log_contains("keys/line?feed?tab?: HTTP 200"));
	/* delete them all by name with DeleteObjects */
	CHECK_INT(s3_delete_many(g_c, keys, nk), 0);
	lr.continuation = NULL;
	lr.max_keys = 0;
	CHECK_INT(s3_list(g_c, &lr, &pg), 0);
	CHECK_INT(pg.nentries, 0);
	s3_list_page_release(&pg);
}

#define MANY 1100

struct put_many {
	int from, step;
	_Atomic int *fails;
};

static void many_key(int i, char *out, size_t cap)
{
	if (i < MANY)
		snprintf(out, cap, "many/%04d", i);
	else
		snprintf(out, cap, "many/sub%d/x", i - MANY);
}

static void *put_many_worker(void *arg)
{
	struct put_many *p = arg;
	for (int i = p->from; i < MANY + 2; i += p->step) {
		char k[64];
		many_key(i, k, sizeof(k));
		if (s3_put(g_c, k, k, strlen(k), NULL, NULL) != 0)
			atomic_fetch_add(p->fails, 1);
	}
	return NULL;
}

static void test_list_pagination(void)
{
	_Atomic int fails = 0;
	pthread_t th[4];
	struct put_many pm[4];
	double t0 = now_s();
	for (int i = 0; i < 4; i++) {
		pm[i] = (struct put_many){i, 4, &fails};
		pthread_create(&th[i], NULL, put_many_worker, &pm[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	fprintf(stdout, "put %d small objects in %.2f s (4 threads)\n", MANY + 2, now_s() - t0);
	CHECK_INT(atomic_load(&fails), 0);

	/* default page size (1000): two pages, in order, prefixes counted */
	struct s3_list_req lr = {.prefix = "many/", .delimiter = "/"};
	char *tok = NULL;
	int pages = 0, nkeys = 0, npfx = 0, in_order = 1;
	char last[64] = "";
	for (;;) {
		struct s3_list_page pg;
		lr.continuation = tok;
		int rc = s3_list(g_c, &lr, &pg);
		CHECK_INT(rc, 0);
		if (rc)
			break;
		pages++;
		for (size_t e = 0; e < pg.nentries; e++) {
			char want[64];
			many_key(nkeys, want, sizeof(want));
			in_order &= strcmp(pg.entries[e].key, want) == 0;
			in_order &= strcmp(pg.entries[e].key, last) > 0;
			snprintf(last, sizeof(last), "%s", pg.entries[e].key);
			nkeys++;
		}
		for (size_t e = 0; e < pg.nprefixes; e++) {
			char want[64];
			snprintf(want, sizeof(want), "many/sub%d/", npfx);
			in_order &= strcmp(pg.prefixes[e], want) == 0;
			npfx++;
		}
		free(tok);
		tok = pg.next_continuation ? strdup(pg.next_continuation) : NULL;
		int more = pg.truncated;
		s3_list_page_release(&pg);
		if (!more || pages > 5)
			break;
	}
	free(tok);
	CHECK_INT(pages, 2);
	CHECK_INT(nkeys, MANY);
	CHECK_INT(npfx, 2);
	CHECK(in_order);

	/* small pages with start-after */
	struct s3_list_req sr = {.prefix = "many/", .start_after = "many/1090", .max_keys = 3};
	struct s3_list_page pg;
	CHECK_INT(s3_list(g_c, &sr, &pg), 0);
	CHECK_INT(pg.nentries, 3);
	if (pg.nentries == 3) {
		CHECK_STR(pg.entries[0].key, "many/1091");
		CHECK_STR(pg.entries[2].key, "many/1093");
	}
	CHECK(pg.truncated && pg.next_continuation);
	s3_list_page_release(&pg);

	/* DeleteObjects in batches of 1000 */
	const char **keys = calloc(MANY + 2, sizeof(*keys));
	char(*store)[64] = calloc(MANY + 2, 64);
	for (int i = 0; i < MANY + 2; i++) {
		many_key(i, store[i], 64);
		keys[i] = store[i];
	}
	t0 = now_s();
	CHECK_INT(s3_delete_many(g_c, keys, MANY + 2), 0);
	fprintf(stdout, "delete_many of %d keys in %.2f s\n", MANY + 2, now_s() - t0);
	struct s3_list_req all = {.prefix = "many/"};
	CHECK_INT(s3_list(g_c, &all, &pg), 0);
	CHECK_INT(pg.nentries, 0);
	s3_list_page_release(&pg);
	free(keys);
	free(store);
}

static void test_copy_delete(void)
{
	char *d = make_data(OBJ_SIZE, 1);
	char want[S3_ETAG_MAX], etag[S3_ETAG_MAX];
	md5_etag(d, OBJ_SIZE, want);
	CHECK_INT(s3_copy(g_c, "obj.bin", "copy/dst bin+1", 0, etag), 0);
	CHECK_STR(etag, want);
	int rc;
	char *got = get_all(g_c, "copy/dst bin+1", OBJ_SIZE, &rc);
	CHECK(rc == 0 && memcmp(got, d, OBJ_SIZE) == 0);
	free(got);
	/* copy from a key that needs encoding in x-amz-copy-source */
	CHECK_INT(s3_copy(g_c, "copy/dst bin+1", "copy/\xc3\xa9 2", OBJ_SIZE, etag), 0);
	CHECK_STR(etag, want);
	CHECK_INT(s3_copy(g_c, "no/such/src", "copy/x", 0, etag), -ENOENT);
	CHECK_INT(s3_copy(g_c, "no/such/src", "copy/x", 100, etag), -ENOENT);
	CHECK_INT(s3_delete(g_c, "copy/dst bin+1"), 0);
	struct s3_object_info info;
	CHECK_INT(s3_head(g_c, "copy/dst bin+1", &info), -ENOENT);
	CHECK_INT(s3_delete(g_c, "copy/\xc3\xa9 2"), 0);
	free(d);
}

/* ---- multipart ---- */

#define MP_SIZE (100u << 20)
#define MP_PART (8u << 20)

struct mp_up {
	const char *key, *upload_id, *data;
	size_t size, part;
	int nparts;
	struct s3_part *parts;
	_Atomic int next, fails;
};

static void *mp_worker(void *arg)
{
	struct mp_up *m = arg;
	for (;;) {
		int i = atomic_fetch_add(&m->next, 1);
		if (i >= m->nparts)
			break;
		size_t off = (size_t)i * m->part;
		size_t len = m->size - off < m->part ? m->size - off : m->part;
		m->parts[i].number = i + 1;
		if (s3_mpu_upload_part(g_c, m->key, m->upload_id, i + 1, m->data + off, len, NULL,
				       m->parts[i].etag) != 0)
			atomic_fetch_add(&m->fails, 1);
	}
	return NULL;
}

static void test_multipart_100m(void)
{
	char *d = make_data(MP_SIZE, 7);
	char upload_id[S3_UPLOAD_ID_MAX], etag[S3_ETAG_MAX], want[S3_ETAG_MAX];
	const char *key = "mp/100 MiB+object";
	struct s3_put_opts po = {.content_type = "application/x-test"};
	CHECK_INT(s3_mpu_create(g_c, key, &po, upload_id), 0);
	CHECK(upload_id[0] != '\0');
	struct mp_up m = {.key = key,
			  .upload_id = upload_id,
			  .data = d,
			  .size = MP_SIZE,
			  .part = MP_PART,
			  .nparts = (MP_SIZE + MP_PART - 1) / MP_PART};
	m.parts = calloc((size_t)m.nparts, sizeof(*m.parts));
	double t0 = now_s();
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, mp_worker, &m);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	CHECK_INT(atomic_load(&m.fails), 0);
	CHECK_INT(s3_mpu_complete(g_c, key, upload_id, m.parts, (size_t)m.nparts, NULL, NULL, etag),
		  0);
	double up = now_s() - t0;
	fprintf(stdout, "100 MiB multipart upload (%d parts, 4 threads): %.2f s, %.0f MiB/s\n",
		m.nparts, up, 100 / up);
	/* etag may be "" here (RGW); HEAD has the real one */
	mpu_etag(d, MP_SIZE, MP_PART, want);
	struct s3_object_info info;
	CHECK_INT(s3_head(g_c, key, &info), 0);
	CHECK_INT(info.size, MP_SIZE);
	CHECK_STR(info.etag, want);
	char suffix[16];
	snprintf(suffix, sizeof(suffix), "-%d\"", m.nparts);
	CHECK(strlen(info.etag) > 4 &&
	      strcmp(info.etag + strlen(info.etag) - strlen(suffix), suffix) == 0);
	/* content, streamed */
	struct collect col = {malloc(MP_SIZE), 0, MP_SIZE};
	t0 = now_s();
	CHECK_INT(s3_get_stream(g_c, key, 0, UINT64_MAX, collect_sink, &col, NULL), 0);
	double dn = now_s() - t0;
	fprintf(stdout, "100 MiB GET (one stream): %.2f s, %.0f MiB/s\n", dn, 100 / dn);
	CHECK_INT(col.len, MP_SIZE);
	CHECK(col.len == MP_SIZE && memcmp(col.p, d, MP_SIZE) == 0);
	/* a range across a part boundary */
	size_t got;
	CHECK_INT(s3_get_range(g_c, key, MP_PART - 1000, 2000, col.p, &got, info.etag, NULL), 0);
	CHECK(got == 2000 && memcmp(col.p, d + MP_PART - 1000, 2000) == 0);
	free(col.p);
	free(m.parts);
	free(d);
}

struct find_upload {
	const char *key, *id;
	int found;
	int total;
};

static int find_upload_fn(void *arg, const char *key, const char *upload_id, time_t initiated)
{
	struct find_upload *f = arg;
	f->total++;
	if (strcmp(key, f->key) == 0 && strcmp(upload_id, f->id) == 0 &&
	    initiated > time(NULL) - 3600)
		f->found++;
	return 0;
}

static void test_abort_and_list_uploads(void)
{
	const char *key = "mpu/aborted key+&=%\xc3\xa9";
	char id[S3_UPLOAD_ID_MAX], etag[S3_ETAG_MAX];
	CHECK_INT(s3_mpu_create(g_c, key, NULL, id), 0);
	char *d = make_data(S3_MIN_PART_SIZE, 3);
	CHECK_INT(s3_mpu_upload_part(g_c, key, id, 1, d, S3_MIN_PART_SIZE, NULL, etag), 0);
	struct find_upload f = {key, id, 0, 0};
	CHECK_INT(s3_mpu_list(g_c, "mpu/", find_upload_fn, &f), 0);
	CHECK_INT(f.found, 1);
	CHECK_INT(s3_mpu_abort(g_c, key, id), 0);
	f.found = 0;
	f.total = 0;
	CHECK_INT(s3_mpu_list(g_c, "mpu/", find_upload_fn, &f), 0);
	CHECK_INT(f.found, 0);
	CHECK_INT(f.total, 0);
	/* a part for an aborted upload: gone */
	CHECK_INT(s3_mpu_upload_part(g_c, key, id, 2, d, 100, NULL, etag), -ENOENT);
	/* paging of ListMultipartUploads: RGW's page is 1000, so just check
	 * several uploads are all seen, then abort them */
	char ids[5][S3_UPLOAD_ID_MAX];
	for (int i = 0; i < 5; i++)
		CHECK_INT(s3_mpu_create(g_c, "mpu/many", NULL, ids[i]), 0);
	f = (struct find_upload){"mpu/many", ids[3], 0, 0};
	CHECK_INT(s3_mpu_list(g_c, NULL, find_upload_fn, &f), 0);
	CHECK_INT(f.total, 5);
	CHECK_INT(f.found, 1);
	for (int i = 0; i < 5; i++)
		CHECK_INT(s3_mpu_abort(g_c, "mpu/many", ids[i]), 0);
	free(d);
}

/* ListMultipartUploads over more than one page (RGW's page is 1000). */
#define NUPLOADS 1005

struct up_many {
	int from, step;
	char (*ids)[S3_UPLOAD_ID_MAX];
	int abort;
	_Atomic int *fails;
};

static void *up_many_worker(void *arg)
{
	struct up_many *u = arg;
	for (int i = u->from; i < NUPLOADS; i += u->step) {
		char k[64];
		snprintf(k, sizeof(k), "mpu/page/%04d", i);
		int rc = u->abort ? s3_mpu_abort(g_c, k, u->ids[i])
				  : s3_mpu_create(g_c, k, NULL, u->ids[i]);
		if (rc)
			atomic_fetch_add(u->fails, 1);
	}
	return NULL;
}

struct seen_uploads {
	int count[NUPLOADS];
	int other;
};

static int seen_upload_fn(void *arg, const char *key, const char *upload_id, time_t initiated)
{
	struct seen_uploads *s = arg;
	(void)upload_id, (void)initiated;
	char *end;
	long i = strncmp(key, "mpu/page/", 9) == 0 ? strtol(key + 9, &end, 10) : -1;
	if (i >= 0 && i < NUPLOADS)
		s->count[i]++;
	else
		s->other++;
	return 0;
}

static void test_list_uploads_pages(void)
{
	char(*ids)[S3_UPLOAD_ID_MAX] = calloc(NUPLOADS, S3_UPLOAD_ID_MAX);
	_Atomic int fails = 0;
	struct up_many um[4];
	pthread_t th[4];
	double t0 = now_s();
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < 4; i++) {
			um[i] = (struct up_many){i, 4, ids, pass, &fails};
			pthread_create(&th[i], NULL, up_many_worker, &um[i]);
		}
		for (int i = 0; i < 4; i++)
			pthread_join(th[i], NULL);
		CHECK_INT(atomic_load(&fails), 0);
		if (pass == 1)
			break;
		struct seen_uploads *seen = calloc(1, sizeof(*seen));
		struct s3_stats st0, st1;
		s3_client_stats(g_c, &st0);
		CHECK_INT(s3_mpu_list(g_c, "mpu/page/", seen_upload_fn, seen), 0);
		s3_client_stats(g_c, &st1);
		CHECK_INT(st1.requests - st0.requests, 2); /* two pages */
		int once = 0;
		for (int i = 0; i < NUPLOADS; i++)
			once += seen->count[i] == 1;
		CHECK_INT(once, NUPLOADS);
		CHECK_INT(seen->other, 0);
		free(seen);
	}
	fprintf(stdout, "%d uploads created, listed (2 pages), aborted in %.2f s\n", NUPLOADS,
		now_s() - t0);
	struct seen_uploads *seen = calloc(1, sizeof(*seen));
	CHECK_INT(s3_mpu_list(g_c, "mpu/page/", seen_upload_fn, seen), 0);
	int left = 0;
	for (int i = 0; i < NUPLOADS; i++)
		left += seen->count[i];
	CHECK_INT(left, 0);
	free(seen);
	free(ids);
}

static void test_upload_part_copy(void)
{
	/* src: 12 MiB + 5 bytes single PUT */
	size_t n = (12u << 20) + 5;
	char *d = make_data(n, 11);
	CHECK_INT(s3_put(g_c, "upc/src", d, n, NULL, NULL), 0);
	char id[S3_UPLOAD_ID_MAX], etag[S3_ETAG_MAX], want[S3_ETAG_MAX];
	struct s3_part parts[2];
	CHECK_INT(s3_mpu_create(g_c, "upc/dst", NULL, id), 0);
	/* parts in the reverse order of the source: [7 MiB, n) then [0, 7 MiB) */
	size_t cut = 7u << 20;
	parts[0].number = 1;
	CHECK_INT(s3_mpu_upload_part_copy(g_c, "upc/dst", id, 1, "upc/src", cut, n - cut, NULL,
					  parts[0].etag),
		  0);
	parts[1].number = 2;
	CHECK_INT(
	    s3_mpu_upload_part_copy(g_c, "upc/dst", id, 2, "upc/src", 0, cut, NULL, parts[1].etag),
	    0);
	CHECK_INT(s3_mpu_complete(g_c, "upc/dst", id, parts, 2, NULL, NULL, etag), 0);
	char *swapped = malloc(n);
	memcpy(swapped, d + cut, n - cut);
	memcpy(swapped + (n - cut), d, cut);
	int rc;
	char *got = get_all(g_c, "upc/dst", n, &rc);
	CHECK_INT(rc, 0);
	CHECK(rc == 0 && memcmp(got, swapped, n) == 0);
	free(got);
	/* Complete with a part never uploaded: InvalidPart */
	CHECK_INT(s3_mpu_create(g_c, "upc/bad", NULL, id), 0);
	struct s3_part bogus = {2, "\"00000000000000000000000000000000\"", ""};
	rc = s3_mpu_complete(g_c, "upc/bad", id, &bogus, 1, NULL, NULL, etag);
	CHECK(rc == -EINVAL || rc == -ENOENT);
	CHECK_INT(s3_mpu_abort(g_c, "upc/bad", id), 0);

	/* s3_copy above the (lowered) multipart threshold: parallel
	 * UploadPartCopy in 5 MiB parts */
	struct s3_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.bucket = g_bucket;
	cfg.region = g_region;
	cfg.endpoint = g_endpoint;
	cfg.path_style = 1;
	cfg.copy_multipart_threshold = 6u << 20;
	cfg.copy_part_size = 5u << 20;
	struct s3_client *c2 = NULL;
	CHECK_INT(s3_client_new(&cfg, &c2), 0);
	if (c2) {
		CHECK_INT(s3_copy(c2, "upc/src", "upc/big copy", 0, etag), 0);
		mpu_etag(d, n, 5u << 20, want);
		struct s3_object_info info;
		CHECK_INT(s3_head(c2, "upc/big copy", &info), 0);
		CHECK_STR(info.etag, want); /* "-3" */
		got = get_all(c2, "upc/big copy", n, &rc);
		CHECK(rc == 0 && memcmp(got, d, n) == 0);
		free(got);
		struct s3_stats st;
		s3_client_stats(c2, &st);
		CHECK(st.requests >= 6); /* head, create, 3 part copies, complete */
		s3_client_free(c2);
	}
	free(swapped);
	free(d);
}

static void test_wrong_secret(void)
{
	setenv("AWS_SECRET_ACCESS_KEY", "WRONGSECRETwrongsecret0000", 1);
	struct s3_client *c = new_client(g_endpoint, 0);
	setenv("AWS_SECRET_ACCESS_KEY", g_sk, 1);
	CHECK(c != NULL);
	if (!c)
		return;
	struct s3_object_info info;
	double t0 = now_s();
	CHECK_INT(s3_head(c, "obj.bin", &info), -EACCES);
	char b[4];
	size_t got;
	CHECK_INT(s3_get_range(c, "obj.bin", 0, 4, b, &got, NULL, NULL), -EACCES);
	CHECK(now_s() - t0 < 5); /* not retried */
	CHECK(log_contains("SignatureDoesNotMatch"));
	struct s3_stats st;
	s3_client_stats(c, &st);
	CHECK_INT(st.retries, 0);
	CHECK_INT(st.errors, 2);
	s3_client_free(c);
}

static void test_session_token_not_logged(void)
{
	/* A session token RGW does not know: the request fails, and neither
	 * the token nor the secret may reach the (debug) log. */
	setenv("AWS_SESSION_TOKEN", "FQoGZXIvYXdzEXAMPLETOKENc2VjcmV0LXRva2Vu", 1);
	struct s3_client *c = new_client(g_endpoint, -1);
	unsetenv("AWS_SESSION_TOKEN");
	CHECK(c != NULL);
	if (!c)
		return;
	/* RGW without STS ignores the token: the answer does not matter here,
	 * only that the request went out signed with it. */
	struct s3_object_info info;
	int rc = s3_head(c, "obj.bin", &info);
	CHECK(rc == 0 || rc == -EACCES);
	s3_client_free(c);
}

static void test_unreachable(void)
{
	/* a loopback port nobody listens on */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &al);
	close(fd);
	char ep[64];
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", ntohs(a.sin_port));
	struct s3_client *c = new_client(ep, 3);
	CHECK(c != NULL);
	if (!c)
		return;
	struct s3_object_info info;
	double t0 = now_s();
	int rc = s3_head(c, "obj.bin", &info);
	double dt = now_s() - t0;
	fprintf(stdout, "unreachable endpoint: rc %d after %.2f s\n", rc, dt);
	CHECK(rc == -EIO || rc == -ETIMEDOUT);
	CHECK(dt < 15);
	struct s3_stats st;
	s3_client_stats(c, &st);
	CHECK_INT(st.retries, 3);
	CHECK_INT(st.requests, 4);
	s3_client_free(c);
}

/* ---- a relay that drops connections, for the resume test ---- */

/* What the relay does with the first request of each new connection. */
enum relay_mode {
	RELAY_PASS = 0,	  /* forward */
	RELAY_CANNED,	  /* answer inject_resp (inject_left times), then forward */
	RELAY_REGION,	  /* 301 + x-amz-bucket-region unless signed for want_region */
	RELAY_REGION_400, /* same with 400 AuthorizationHeaderMalformed + <Region> */
};

struct relay {
	int lfd, port, up_port;
	enum relay_mode mode;
	const char *inject_status; /* "503 Slow Down" */
	const char *inject_body;   /* XML or "" */
	const char *want_region;
	_Atomic int inject_left;
	_Atomic int injected;
	char last_req[4096]; /* head of the last request answered by us;
			      * protected by lock */
	pthread_mutex_t lock;
	_Atomic int live;   /* connection threads still running */
	uint64_t cut_after; /* downstream bytes per connection before a cut */
	_Atomic int cuts_left;
	_Atomic int arm_gen; /* bumped when cuts are armed */
	_Atomic int stop;
	_Atomic int cuts_done;
	pthread_t th;
};

struct relay_conn {
	struct relay *r;
	int cfd;
};

static void *relay_conn_main(void *arg)
{
	struct relay_conn *rc = arg;
	struct relay *r = rc->r;
	int cfd = rc->cfd;
	free(rc);
	int ufd = -1;
	char b[65536];
	size_t have = 0;
	if (r->mode != RELAY_PASS) {
		/* read the request head, answer it ourselves or pass it on */
		while (have < sizeof(b) - 1) {
			ssize_t n = read(cfd, b + have, sizeof(b) - 1 - have);
			if (n <= 0)
				goto out;
			have += (size_t)n;
			b[have] = '\0';
			if (strstr(b, "\r\n\r\n"))
				break;
		}
		const char *status = NULL, *body = "", *extra = "";
		char region_hdr[128] = "", region_body[512];
		if (r->mode == RELAY_CANNED && atomic_fetch_sub(&r->inject_left, 1) > 0) {
			status = r->inject_status;
			body = r->inject_body;
		} else if (r->mode == RELAY_REGION || r->mode == RELAY_REGION_400) {
			char scope[96];
			snprintf(scope, sizeof(scope), "/%s/s3/aws4_request", r->want_region);
			if (!strstr(b, scope)) {
				if (r->mode == RELAY_REGION) {
					status = "301 Moved Permanently";
					snprintf(region_hdr, sizeof(region_hdr),
						 "x-amz-bucket-region: %s\r\n", r->want_region);
					extra = region_hdr;
					body = "<?xml version=\"1.0\" "
					       "encoding=\"UTF-8\"?><Error><Code>"
					       "PermanentRedirect</Code><Message>wrong "
					       "region</Message>"
					       "<RequestId>INJECTED</RequestId></Error>";
				} else {
					status = "400 Bad Request";
					snprintf(
					    region_body, sizeof(region_body),
					    "<?xml version=\"1.0\" "
					    "encoding=\"UTF-8\"?><Error><Code>"
					    "AuthorizationHeaderMalformed</Code><Message>x</"
					    "Message>"
					    "<Region>%s</Region><RequestId>INJECTED</RequestId>"
					    "</Error>",
					    r->want_region);
					body = region_body;
				}
			}
		}
		if (status) {
			int head_req = strncmp(b, "HEAD ", 5) == 0;
			char resp[2048];
			int n = snprintf(resp, sizeof(resp),
					 "HTTP/1.1 %s\r\nContent-Type: application/xml\r\n"
					 "Content-Length: %zu\r\n%sx-amz-request-id: INJECTED\r\n"
					 "Connection: close\r\n\r\n%s",
					 status, strlen(body), extra, head_req ? "" : body);
			/* recorded before answering: the client checks it after */
			size_t keep =
			    have < sizeof(r->last_req) - 1 ? have : sizeof(r->last_req) - 1;
			pthread_mutex_lock(&r->lock);
			memcpy(r->last_req, b, keep);
			r->last_req[keep] = '\0';
			pthread_mutex_unlock(&r->lock);
			atomic_fetch_add(&r->injected, 1);
			(void)!write(cfd, resp, (size_t)n);
			goto out;
		}
	}
	ufd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)r->up_port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(ufd, (struct sockaddr *)&a, sizeof(a)) != 0)
		goto out;
	if (have && write(ufd, b, have) != (ssize_t)have)
		goto out;
	uint64_t down = 0;
	int gen = -1;
	for (;;) {
		struct pollfd p[2] = {{cfd, POLLIN, 0}, {ufd, POLLIN, 0}};
		if (poll(p, 2, 200) < 0 || atomic_load(&r->stop))
			break;
		if (p[0].revents) {
			ssize_t n = read(cfd, b, sizeof(b));
			if (n <= 0 || write(ufd, b, (size_t)n) != n)
				break;
		}
		if (p[1].revents) {
			ssize_t n = read(ufd, b, sizeof(b));
			if (n <= 0)
				break;
			/* count from when the cuts were armed: a kept-alive
			 * connection may already have carried a lot */
			if (gen != atomic_load(&r->arm_gen)) {
				gen = atomic_load(&r->arm_gen);
				down = 0;
			}
			if (down + (uint64_t)n > r->cut_after && atomic_load(&r->cuts_left) > 0) {
				size_t part = (size_t)(r->cut_after - down);
				if (atomic_fetch_sub(&r->cuts_left, 1) > 0) {
					if (part)
						(void)!write(cfd, b, part);
					struct linger lg = {1, 0}; /* RST, like a dead peer */
					setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
					atomic_fetch_add(&r->cuts_done, 1);
					break;
				}
			}
			if (write(cfd, b, (size_t)n) != n)
				break;
			down += (uint64_t)n;
		}
	}
out:
	if (ufd >= 0)
		close(ufd);
	close(cfd);
	atomic_fetch_sub(&r->live, 1);
	return NULL;
}

static void *relay_main(void *arg)
{
	struct relay *r = arg;
	while (!atomic_load(&r->stop)) {
		struct pollfd p = {r->lfd, POLLIN, 0};
		if (poll(&p, 1, 100) <= 0)
			continue;
		int cfd = accept(r->lfd, NULL, NULL);
		if (cfd < 0)
			continue;
		struct relay_conn *rc = malloc(sizeof(*rc));
		rc->r = r;
		rc->cfd = cfd;
		pthread_t t;
		atomic_fetch_add(&r->live, 1);
		if (pthread_create(&t, NULL, relay_conn_main, rc) == 0) {
			pthread_detach(t);
		} else {
			atomic_fetch_sub(&r->live, 1);
			close(cfd);
			free(rc);
		}
	}
	return NULL;
}

static int relay_start(struct relay *r, int up_port)
{
	r->up_port = up_port;
	pthread_mutex_init(&r->lock, NULL);
	r->lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	if (bind(r->lfd, (struct sockaddr *)&a, sizeof(a)) || listen(r->lfd, 16) ||
	    getsockname(r->lfd, (struct sockaddr *)&a, &al))
		return -1;
	r->port = ntohs(a.sin_port);
	return pthread_create(&r->th, NULL, relay_main, r);
}

static void relay_stop(struct relay *r)
{
	atomic_store(&r->stop, 1);
	pthread_join(r->th, NULL);
	close(r->lfd);
	/* connection threads notice stop within one poll (200 ms) */
	for (int i = 0; i < 100 && atomic_load(&r->live) > 0; i++) {
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	CHECK_INT(atomic_load(&r->live), 0);
	pthread_mutex_destroy(&r->lock);
}

static void test_resume_after_drop(void)
{
	const char *colon = strrchr(g_endpoint, ':');
	int up_port = colon ? (int)strtol(colon + 1, NULL, 10) : 0;
	CHECK(up_port > 0);
	struct relay r;
	memset(&r, 0, sizeof(r));
	r.cut_after = 300000;
	CHECK_INT(relay_start(&r, up_port), 0);
	char ep[64];
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", r.port);
	struct s3_client *c = new_client(ep, 0);
	CHECK(c != NULL);
	if (!c) {
		relay_stop(&r);
		return;
	}
	char *d = make_data(OBJ_SIZE, 1);
	/* streamed: cut twice, resumed twice, every byte once */
	atomic_store(&r.cuts_left, 2);
	atomic_fetch_add(&r.arm_gen, 1);
	struct collect col = {malloc(OBJ_SIZE), 0, OBJ_SIZE};
	struct s3_object_info info;
	CHECK_INT(s3_get_stream(c, "obj.bin", 0, UINT64_MAX, collect_sink, &col, &info), 0);
	CHECK_INT(col.len, OBJ_SIZE);
	CHECK(col.len == OBJ_SIZE && memcmp(col.p, d, OBJ_SIZE) == 0);
	CHECK_INT(atomic_load(&r.cuts_done), 2);
	CHECK_INT(info.size, OBJ_SIZE);
	/* ranged into a buffer: cut once */
	atomic_store(&r.cuts_left, 1);
	atomic_fetch_add(&r.arm_gen, 1);
	size_t got = 0;
	memset(col.p, 0, OBJ_SIZE);
	CHECK_INT(s3_get_range(c, "obj.bin", 5, OBJ_SIZE - 10, col.p, &got, NULL, NULL), 0);
	CHECK_INT(got, OBJ_SIZE - 10);
	CHECK(memcmp(col.p, d + 5, OBJ_SIZE - 10) == 0);
	CHECK_INT(atomic_load(&r.cuts_done), 3);
	struct s3_stats st;
	s3_client_stats(c, &st);
	CHECK(st.retries >= 3);
	CHECK_INT(st.bytes_down, 2 * OBJ_SIZE - 10); /* nothing fetched twice */
	s3_client_free(c);
	relay_stop(&r);
	free(col.p);
	free(d);
}

static struct s3_client *relay_client(struct relay *r, int max_retries, const char *region)
{
	char ep[64];
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", r->port);
	struct s3_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.bucket = g_bucket;
	cfg.region = region ? region : g_region;
	cfg.endpoint = ep;
	cfg.path_style = 1;
	cfg.max_retries = max_retries;
	struct s3_client *c = NULL;
	CHECK_INT(s3_client_new(&cfg, &c), 0);
	return c;
}

static int up_port(void)
{
	const char *colon = strrchr(g_endpoint, ':');
	return colon ? (int)strtol(colon + 1, NULL, 10) : 0;
}

/* Starts r in front of RGW answering status + body to the next n requests
 * (then forwarding). 0 or what relay_start returned. */
static int relay_canned(struct relay *r, const char *status, const char *body, int n)
{
	memset(r, 0, sizeof(*r));
	r->mode = RELAY_CANNED;
	r->inject_status = status;
	r->inject_body = body;
	int rc = relay_start(r, up_port());
	atomic_store(&r->inject_left, n);
	return rc;
}

/* The first 100 bytes of obj.bin through c: s3_get_range's result; *got
 * the bytes read. */
static int get_100(struct s3_client *c, size_t *got)
{
	char b[100];
	*got = 0;
	return s3_get_range(c, "obj.bin", 0, sizeof(b), b, got, NULL, NULL);
}

/* Throttling: 503 SlowDown is retried with backoff; too many fail with -EIO. */
static void test_injected_slowdown(void)
{
	struct relay r;
	const char *answer =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code>"
	    "<Message>Please reduce your request rate.</Message><RequestId>INJECTED"
	    "</RequestId></Error>";
	CHECK_INT(relay_canned(&r, "503 Slow Down", answer, 3), 0);
	struct s3_client *c = relay_client(&r, 5, NULL);
	size_t got;
	CHECK_INT(get_100(c, &got), 0);
	CHECK_INT(got, 100);
	struct s3_stats st;
	s3_client_stats(c, &st);
	CHECK_INT(st.retries, 3);
	CHECK_INT(st.requests, 4);
	CHECK_INT(atomic_load(&r.injected), 3);
	s3_client_free(c);
	/* more than max_retries: -EIO after 1 + 2 tries, in bounded time */
	atomic_store(&r.inject_left, 100);
	r.inject_status = "500 Internal Server Error";
	r.inject_body = "<Error><Code>InternalError</Code><Message>x</Message></Error>";
	c = relay_client(&r, 2, NULL);
	double t0 = now_s();
	CHECK_INT(s3_head(c, "obj.bin", NULL), -EIO);
	CHECK(now_s() - t0 < 2 * RETRY_CAP_S);
	s3_client_stats(c, &st);
	CHECK_INT(st.requests, 3);
	s3_client_free(c);
	/* a 4xx other than the listed ones is not retried */
	atomic_store(&r.inject_left, 100);
	r.inject_status = "400 Bad Request";
	r.inject_body = "<Error><Code>InvalidArgument</Code><Message>x</Message></Error>";
	c = relay_client(&r, 5, NULL);
	CHECK_INT(get_100(c, &got), -EINVAL);
	s3_client_stats(c, &st);
	CHECK_INT(st.requests, 1);
	s3_client_free(c);
	relay_stop(&r);
}

/* ExpiredToken: credentials are refreshed and the request retried once. */
static void test_injected_expired_token(void)
{
	struct relay r;
	const char *answer = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>ExpiredToken"
			     "</Code><Message>The provided token has expired.</Message><RequestId>"
			     "INJECTED</RequestId></Error>";
	CHECK_INT(relay_canned(&r, "400 Bad Request", answer, 1), 0);
	struct s3_client *c = relay_client(&r, 5, NULL);
	size_t got;
	CHECK_INT(get_100(c, &got), 0);
	CHECK(log_contains("ExpiredToken (rid INJECTED): refreshing credentials"));
	s3_client_free(c);
	/* expired again after the refresh: no second refresh, -EACCES */
	atomic_store(&r.inject_left, 2);
	c = relay_client(&r, 5, NULL);
	CHECK_INT(get_100(c, &got), -EACCES);
	struct s3_stats st;
	s3_client_stats(c, &st);
	CHECK_INT(st.requests, 2);
	s3_client_free(c);
	relay_stop(&r);
}

/* The region is learnt from a 301's x-amz-bucket-region, or from the
 * <Region> of a 400 AuthorizationHeaderMalformed, and the request retried. */
static void test_injected_region(void)
{
	struct relay r;
	memset(&r, 0, sizeof(r));
	r.mode = RELAY_REGION;
	r.want_region = "eu-test-1";
	CHECK_INT(relay_start(&r, up_port()), 0);
	struct s3_client *c = relay_client(&r, 5, "us-west-2");
	struct s3_object_info info;
	CHECK_INT(s3_head(c, "obj.bin", &info), 0); /* HEAD: the header alone */
	CHECK_INT(info.size, OBJ_SIZE);
	CHECK_INT(atomic_load(&r.injected), 1);
	CHECK_INT(s3_head(c, "obj.bin", &info), 0); /* remembered */
	CHECK_INT(atomic_load(&r.injected), 1);
	CHECK(log_contains("is in region eu-test-1 (not us-west-2)"));
	s3_client_free(c);
	r.mode = RELAY_REGION_400;
	r.want_region = "ap-test-2";
	c = relay_client(&r, 5, "us-west-2");
	size_t got;
	CHECK_INT(get_100(c, &got), 0);
	CHECK_INT(atomic_load(&r.injected), 2);
	s3_client_free(c);
	relay_stop(&r);
}

/* CompleteMultipartUpload answering 200 with an <Error> body: InternalError
 * is retried, AccessDenied is a failure. */
static void test_injected_complete_200_error(void)
{
	char id[S3_UPLOAD_ID_MAX], etag[S3_ETAG_MAX];
	struct s3_part part = {1, "", ""};
	char *d = make_data(1000, 5);
	CHECK_INT(s3_mpu_create(g_c, "inj/complete", NULL, id), 0);
	CHECK_INT(s3_mpu_upload_part(g_c, "inj/complete", id, 1, d, 1000, NULL, part.etag), 0);
	struct relay r;
	const char *answer =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n<Error>\n<Code>AccessDenied"
	    "</Code>\n<Message>Access denied.</Message>\n<RequestId>INJECTED"
	    "</RequestId>\n</Error>";
	CHECK_INT(relay_canned(&r, "200 OK", answer, 1), 0);
	struct s3_client *c = relay_client(&r, 5, NULL);
	CHECK_INT(s3_mpu_complete(c, "inj/complete", id, &part, 1, NULL, NULL, etag), -EACCES);
	s3_client_free(c);
	r.inject_body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n<Error>\n<Code>InternalError"
			"</Code>\n<Message>We encountered an internal error. Please try again."
			"</Message>\n<RequestId>INJECTED</RequestId>\n</Error>";
	atomic_store(&r.inject_left, 1);
	c = relay_client(&r, 5, NULL);
	CHECK_INT(s3_mpu_complete(c, "inj/complete", id, &part, 1, NULL, NULL, etag), 0);
	struct s3_stats st;
	s3_client_stats(c, &st);
	CHECK_INT(st.retries, 1);
	s3_client_free(c);
	int rc;
	char *got = get_all(g_c, "inj/complete", 1000, &rc);
	CHECK(rc == 0 && memcmp(got, d, 1000) == 0);
	free(got);
	CHECK_INT(s3_delete(g_c, "inj/complete"), 0);
	relay_stop(&r);
	free(d);
}

/* Virtual-hosted addressing: the bucket goes in the Host, not the path
 * (curl resolves *.localhost to loopback itself). First through the relay,
 * which shows the request line and Host; then against RGW. */
static void test_virtual_host(void)
{
	struct relay r;
	CHECK_INT(relay_canned(&r, "404 Not Found", "", 1), 0);
	char ep[64], want[128];
	snprintf(ep, sizeof(ep), "http://localhost:%d", r.port);
	struct s3_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.bucket = g_bucket;
	cfg.region = g_region;
	cfg.endpoint = ep;
	cfg.path_style = 0;
	struct s3_client *c = NULL;
	CHECK_INT(s3_client_new(&cfg, &c), 0);
	if (c) {
		CHECK_INT(s3_head(c, "dir/a b", NULL), -ENOENT);
		/* (the relay's answer is checked below) */
		pthread_mutex_lock(&r.lock);
		CHECK(strncmp(r.last_req, "HEAD /dir/a%20b HTTP/1.1\r\n", 26) == 0);
		snprintf(want, sizeof(want), "\r\nHost: %s.localhost:%d\r\n", g_bucket, r.port);
		CHECK(strstr(r.last_req, want) != NULL);
		CHECK(strstr(r.last_req, "SignedHeaders=host;") != NULL);
		pthread_mutex_unlock(&r.lock);
		s3_client_free(c);
	}
	relay_stop(&r);

	/* and against RGW itself, which tests/s3/rgw-up.sh starts with
	 * "rgw dns name = localhost": BUCKET.localhost:PORT */
	snprintf(ep, sizeof(ep), "http://localhost:%d", up_port());
	c = NULL;
	CHECK_INT(s3_client_new(&cfg, &c), 0);
	if (c) {
		char etag[S3_ETAG_MAX];
		CHECK_INT(s3_put(c, "vhost/a b+c", "virtual", 7, NULL, etag), 0);
		char b[16];
		size_t got = 0;
		CHECK_INT(s3_get_range(c, "vhost/a b+c", 0, sizeof(b), b, &got, NULL, NULL), 0);
		CHECK(got == 7 && memcmp(b, "virtual", 7) == 0);
		struct s3_list_req lr = {.prefix = "vhost/"};
		struct s3_list_page pg;
		CHECK_INT(s3_list(c, &lr, &pg), 0);
		CHECK(pg.nentries == 1 && strcmp(pg.entries[0].key, "vhost/a b+c") == 0);
		s3_list_page_release(&pg);
		CHECK_INT(s3_delete(c, "vhost/a b+c"), 0);
		CHECK_INT(s3_bucket_check(c), 0);
		s3_client_free(c);
	}
}

/* A server that accepts and never answers: -ETIMEDOUT after the retries,
 * each try cut by the low-speed timeout. */
static void test_silent_server(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 16) == 0 &&
	      getsockname(fd, (struct sockaddr *)&a, &al) == 0);
	char ep[64];
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", ntohs(a.sin_port));
	struct s3_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.bucket = g_bucket;
	cfg.region = g_region;
	cfg.endpoint = ep;
	cfg.path_style = 1;
	cfg.max_retries = 2;
	cfg.low_speed_time_s = 1;
	struct s3_client *c = NULL;
	CHECK_INT(s3_client_new(&cfg, &c), 0);
	if (c) {
		double t0 = now_s();
		int rc = s3_head(c, "obj.bin", NULL);
		double dt = now_s() - t0;
		fprintf(stdout, "silent server: rc %d after %.2f s\n", rc, dt);
		CHECK_INT(rc, -ETIMEDOUT);
		CHECK(dt >= 2.5 && dt < 3 * 3 + 2 * RETRY_CAP_S);
		struct s3_stats st;
		s3_client_stats(c, &st);
		CHECK_INT(st.requests, 3);
		s3_client_free(c);
	}
	close(fd);
}

/* UNSIGNED-PAYLOAD uploads (Content-MD5 still protects them), and
 * anonymous requests (no Authorization: RGW refuses them). */
static void test_unsigned_and_anonymous(void)
{
	struct s3_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.bucket = g_bucket;
	cfg.region = g_region;
	cfg.endpoint = g_endpoint;
	cfg.path_style = 1;
	cfg.unsigned_payload = 1;
	struct s3_client *c = NULL;
	CHECK_INT(s3_client_new(&cfg, &c), 0);
	char *d = make_data(300000, 9);
	char etag[S3_ETAG_MAX], want[S3_ETAG_MAX];
	md5_etag(d, 300000, want);
	if (c) {
		CHECK_INT(s3_put(c, "unsigned/obj", d, 300000, NULL, etag), 0);
		CHECK_STR(etag, want);
		char id[S3_UPLOAD_ID_MAX];
		struct s3_part p = {1, "", ""};
		CHECK_INT(s3_mpu_create(c, "unsigned/mp", NULL, id), 0);
		CHECK_INT(s3_mpu_upload_part(c, "unsigned/mp", id, 1, d, 300000, NULL, p.etag), 0);
		CHECK_INT(s3_mpu_complete(c, "unsigned/mp", id, &p, 1, NULL, NULL, etag), 0);
		int rc;
		char *got = get_all(c, "unsigned/mp", 300000, &rc);
		CHECK(rc == 0 && memcmp(got, d, 300000) == 0);
		free(got);
		CHECK_INT(s3_delete(c, "unsigned/mp"), 0);
		CHECK_INT(s3_delete(c, "unsigned/obj"), 0);
		s3_client_free(c);
	}
	cfg.unsigned_payload = 0;
	cfg.creds.anonymous = 1;
	c = NULL;
	CHECK_INT(s3_client_new(&cfg, &c), 0);
	if (c) {
		CHECK_INT(s3_head(c, "obj.bin", NULL), -EACCES);
		CHECK_INT(s3_put(c, "anon", d, 10, NULL, NULL), -EACCES);
		s3_client_free(c);
	}
	free(d);
}

/* A writable argv for execvp (string literals are const here). */
struct argv_buf {
	char store[4096];
	size_t used;
	char *v[32];
	int n;
};

static void av_add(struct argv_buf *a, const char *s)
{
	size_t n = strlen(s) + 1;
	if (a->used + n > sizeof(a->store) || a->n >= 31)
		abort();
	memcpy(a->store + a->used, s, n);
	a->v[a->n++] = a->store + a->used;
	a->v[a->n] = NULL;
	a->used += n;
}

static void av_list(struct argv_buf *a, const char *const *list)
{
	a->used = 0;
	a->n = 0;
	for (; *list; list++)
		av_add(a, *list);
}

static int open_devnull(void)
{
	FILE *f = fopen("/dev/null", "w");
	return f ? fileno(f) : -1;
}

/* Runs argv[0] with stdout and stderr to /dev/null; returns its pid. */
static pid_t spawn_quiet(char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		FILE *n = freopen("/dev/null", "w", stdout);
		(void)n;
		int fd = open_devnull();
		if (fd >= 0)
			dup2(fd, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int run_quiet(char *const argv[])
{
	int st;
	pid_t pid = spawn_quiet(argv);
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &al);
	close(fd);
	return ntohs(a.sin_port);
}

static int wait_port(int port)
{
	for (int i = 0; i < 100; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_port = htons((uint16_t)port),
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
		close(fd);
		if (ok)
			return 0;
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return -1;
}

/* TLS: a self-signed server is refused by default (not retried), accepted
 * with its certificate as the CA bundle, and with the explicit insecure
 * option (which is logged). The server is `openssl s_server -www`: not S3,
 * so an accepted connection shows as an answer that is not a listing. */
static void test_tls(void)
{
	char dir[] = "/tmp/it_s3_ops_tls.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char cert[128], key[128], acc[64], ep[64];
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	struct argv_buf av;
	const char *req[] = {"openssl",	 "req",
			     "-x509",	 "-newkey",
			     "rsa:2048", "-nodes",
			     "-keyout",	 key,
			     "-out",	 cert,
			     "-days",	 "1",
			     "-subj",	 "/CN=127.0.0.1",
			     "-addext",	 "subjectAltName=IP:127.0.0.1",
			     NULL};
	av_list(&av, req);
	CHECK_INT(run_quiet(av.v), 0);
	int port = free_port();
	snprintf(acc, sizeof(acc), "127.0.0.1:%d", port);
	const char *srv[] = {"openssl", "s_server", "-accept", acc,	 "-cert", cert,
			     "-key",	key,	    "-www",    "-quiet", NULL};
	av_list(&av, srv);
	pid_t pid = spawn_quiet(av.v);
	CHECK(pid > 0);
	CHECK_INT(wait_port(port), 0);
	snprintf(ep, sizeof(ep), "https://127.0.0.1:%d", port);

	struct s3_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.bucket = g_bucket;
	cfg.region = g_region;
	cfg.endpoint = ep;
	cfg.path_style = 1;
	struct s3_client *c = NULL;
	struct s3_list_req lr = {0};
	struct s3_list_page pg;
	struct s3_stats st;
	/* default: verified, refused, not retried */
	CHECK_INT(s3_client_new(&cfg, &c), 0);
	if (c) {
		CHECK_INT(s3_list(c, &lr, &pg), -EIO);
		s3_client_stats(c, &st);
		CHECK_INT(st.requests, 1);
		CHECK(log_contains("SSL certificate problem"));
		s3_client_free(c);
	}
	/* its certificate as the CA bundle: the handshake succeeds */
	cfg.ca_bundle = cert;
	CHECK_INT(s3_client_new(&cfg, &c), 0);
	if (c) {
		int rc = s3_list(c, &lr, &pg);
		CHECK(rc == -ENOMSG || rc == -EBADMSG); /* an HTML page */
		s3_client_free(c);
	}
	/* a bundle without it: refused again */
	cfg.ca_bundle = "/etc/ssl/certs/ca-certificates.crt";
	CHECK_INT(s3_client_new(&cfg, &c), 0);
	if (c) {
		CHECK_INT(s3_list(c, &lr, &pg), -EIO);
		s3_client_free(c);
	}
	/* insecure, by explicit option only, and said so in the log */
	cfg.ca_bundle = NULL;
	cfg.insecure_skip_verify = 1;
	CHECK_INT(s3_client_new(&cfg, &c), 0);
	if (c) {
		int rc = s3_list(c, &lr, &pg);
		CHECK(rc == -ENOMSG || rc == -EBADMSG);
		CHECK(log_contains("TLS certificate verification is DISABLED"));
		s3_client_free(c);
	}
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	unlink(cert);
	unlink(key);
	rmdir(dir);
}

/* Connections are kept alive and shared by threads: 8 threads x 40 GETs
 * open about 8 connections, not 320. */
struct par_get {
	struct s3_client *c;
	_Atomic int fails;
};

static void *par_get_worker(void *arg)
{
	struct par_get *p = arg;
	char b[4096];
	for (int i = 0; i < 40; i++) {
		size_t got;
		if (s3_get_range(p->c, "obj.bin", (uint64_t)i * 1000, sizeof(b), b, &got, NULL,
				 NULL) != 0)
			atomic_fetch_add(&p->fails, 1);
	}
	return NULL;
}

static void test_connection_reuse(void)
{
	struct par_get p = {new_client(g_endpoint, 0), 0};
	CHECK(p.c != NULL);
	if (!p.c)
		return;
	pthread_t th[8];
	double t0 = now_s();
	for (int i = 0; i < 8; i++)
		pthread_create(&th[i], NULL, par_get_worker, &p);
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	double dt = now_s() - t0;
	struct s3_stats st;
	s3_client_stats(p.c, &st);
	fprintf(stdout, "320 ranged GETs from 8 threads: %.2f s, %" PRIu64 " connections\n", dt,
		st.connects);
	CHECK_INT(atomic_load(&p.fails), 0);
	CHECK_INT(st.requests, 320);
	CHECK(st.connects >= 1 && st.connects <= 12);
	s3_client_free(p.c);
}

static void test_stats(void)
{
	struct s3_stats st;
	s3_client_stats(g_c, &st);
	fprintf(stdout,
		"main client: %" PRIu64 " requests, %" PRIu64 " retries, %" PRIu64
		" errors, %" PRIu64 " not found, %" PRIu64 " bytes down, %" PRIu64 " bytes up\n",
		st.requests, st.retries, st.errors, st.not_found, st.bytes_down, st.bytes_up);
	CHECK(st.requests > 1000);
	CHECK(st.bytes_up >= MP_SIZE);
	CHECK(st.bytes_down >= MP_SIZE);
}

/* Removes everything in the bucket, then the bucket. */
static int abort_all_fn(void *arg, const char *key, const char *upload_id, time_t initiated)
{
	(void)arg, (void)initiated;
	s3_mpu_abort(g_c, key, upload_id);
	return 0;
}

static void test_cleanup(void)
{
	CHECK_INT(s3_mpu_list(g_c, NULL, abort_all_fn, NULL), 0);
	for (int round = 0; round < 20; round++) {
		struct s3_list_req lr = {0};
		struct s3_list_page pg;
		if (s3_list(g_c, &lr, &pg) != 0)
			break;
		const char **keys = calloc(pg.nentries + 1, sizeof(*keys));
		for (size_t i = 0; i < pg.nentries; i++)
			keys[i] = pg.entries[i].key;
		size_t n = pg.nentries;
		if (n)
			CHECK_INT(s3_delete_many(g_c, keys, n), 0);
		free(keys);
		s3_list_page_release(&pg);
		if (!n)
			break;
	}
	CHECK_INT(s3_bucket_delete(g_c), 0);
	CHECK_INT(s3_bucket_check(g_c), -ENXIO);
}

static void test_no_secrets_in_log(void)
{
	char *s = read_log();
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK(strlen(s) > 10000); /* debug level really was on */
	CHECK(strstr(s, g_sk) == NULL);
	CHECK(strstr(s, "WRONGSECRETwrongsecret0000") == NULL);
	CHECK(strstr(s, "FQoGZXIvYXdzEXAMPLETOKENc2VjcmV0LXRva2Vu") == NULL);
	CHECK(strstr(s, "Signature=") == NULL);
	CHECK(strstr(s, "Credential=") == NULL);
	free(s);
}

int main(void)
{
	g_endpoint = getenv("S3M_ENDPOINT");
	g_ak = getenv("AWS_ACCESS_KEY_ID");
	g_sk = getenv("AWS_SECRET_ACCESS_KEY");
	g_region = getenv("AWS_REGION");
	if (!g_endpoint || !g_ak || !g_sk || !g_region) {
		printf("it_s3_ops: S3M_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and "
		       "AWS_REGION must be set (source the RGW env)\n0 passed, 1 failed\n");
		return 1;
	}
	unsetenv("AWS_SESSION_TOKEN");
	snprintf(g_bucket, sizeof(g_bucket), "it-s3ops-%d", (int)getpid());
	setvbuf(stdout, NULL, _IONBF, 0);

	/* The library's log (and failed checks) into a file we can grep. */
	int logfd = mkstemp(g_logpath);
	int saved_err = dup(2);
	if (logfd < 0 || saved_err < 0 || dup2(logfd, 2) < 0) {
		printf("cannot redirect the log\n0 passed, 1 failed\n");
		return 1;
	}
	close(logfd);
	setvbuf(stderr, NULL, _IONBF, 0);
	log_level_set(LOG_LVL_DEBUG);

	g_c = new_client(g_endpoint, 0);
	if (!g_c) {
		printf("0 passed, 1 failed\n");
		return 1;
	}
	T_RUN(test_bucket);
	T_RUN(test_put_head_get);
	T_RUN(test_get_stream);
	T_RUN(test_missing);
	T_RUN(test_odd_keys);
	T_RUN(test_list_pagination);
	T_RUN(test_copy_delete);
	T_RUN(test_multipart_100m);
	T_RUN(test_abort_and_list_uploads);
	T_RUN(test_list_uploads_pages);
	T_RUN(test_upload_part_copy);
	T_RUN(test_wrong_secret);
	T_RUN(test_session_token_not_logged);
	T_RUN(test_unreachable);
	T_RUN(test_resume_after_drop);
	T_RUN(test_injected_slowdown);
	T_RUN(test_injected_expired_token);
	T_RUN(test_injected_region);
	T_RUN(test_injected_complete_200_error);
	T_RUN(test_connection_reuse);
	T_RUN(test_virtual_host);
	T_RUN(test_silent_server);
	T_RUN(test_unsigned_and_anonymous);
	T_RUN(test_tls);
	T_RUN(test_stats);
	T_RUN(test_cleanup);
	s3_client_free(g_c);
	T_RUN(test_no_secrets_in_log);

	/* Back to the real stderr; show what went wrong, if anything. */
	dup2(saved_err, 2);
	close(saved_err);
	if (t_failed) {
		char *s = read_log();
		printf("---- failed checks and errors from the log ----\n");
		for (char *line = s; line && *line;) {
			char *nl = strchr(line, '\n');
			if (nl)
				*nl = '\0';
			if (!strstr(line, " debug: ") && !strstr(line, " info: "))
				printf("%s\n", line);
			line = nl ? nl + 1 : line + strlen(line);
		}
		free(s);
		printf("(full log kept in %s)\n", g_logpath);
	} else {
		unlink(g_logpath);
	}
	return T_DONE();
}
