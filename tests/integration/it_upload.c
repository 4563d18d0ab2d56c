/* it_upload.c: the write path (upload.c) and the namespace operations
 * (nsops.c) against the real S3 server (Ceph RGW), without FUSE.
 * it-timeout: 600
 *
 * Environment (fails without it): S3M_ENDPOINT, AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_REGION. Creates bucket it-upload-<pid> and
 * removes it (with what is left in it) at the end.
 * Every upload is compared with a GET of the object (md5); ETags checked.
 * Prints the MB/s of 1 GiB through upload_write with a 256 MiB budget.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "crypto.h"
#include "log.h"
#include "nsops.h"
#include "s3.h"
#include "t.h"
#include "upload.h"

#define MiB (1ull << 20)
#define PART (8 * MiB)
#define GEN_BLOCK (16 * MiB)

static struct s3_client *C;
/* Same bucket, but s3_copy goes multipart (parallel UploadPartCopy of 5 MiB
 * parts) above 5 MiB, so the > 5 GiB code path runs on small objects. */
static struct s3_client *CM;
static char BUCKET[64];

/* ---- deterministic data: block k of the stream is G rotated by k*4099 ---- */

static unsigned char *G2; /* G twice, so any range of <= GEN_BLOCK is contiguous */

static void gen_init(void)
{
	G2 = malloc(2 * GEN_BLOCK);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < GEN_BLOCK; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(G2 + i, &x, 8);
	}
	memcpy(G2 + GEN_BLOCK, G2, GEN_BLOCK);
}

/* Pointer to stream bytes [pos, pos+n) for stream `seed`; n is cut so the
 * range stays inside one block. */
static const unsigned char *gen_at(unsigned seed, uint64_t pos, size_t *n)
{
	uint64_t k = pos / GEN_BLOCK, in = pos % GEN_BLOCK;
	size_t rot = (size_t)((k * 4099 + seed * 7919ull) % GEN_BLOCK);
	if (*n > GEN_BLOCK - in)
		*n = (size_t)(GEN_BLOCK - in);
	return G2 + rot + in;
}

static void gen_md5(unsigned seed, uint64_t size, char hex[33])
{
	struct crypto_md5_ctx *ctx = crypto_md5_new();
	uint64_t pos = 0;
	while (pos < size) {
		size_t n = size - pos < GEN_BLOCK ? (size_t)(size - pos) : GEN_BLOCK;
		const unsigned char *p = gen_at(seed, pos, &n);
		crypto_md5_update(ctx, p, n);
		pos += n;
	}
	uint8_t md[CRYPTO_MD5_LEN];
	crypto_md5_final(ctx, md);
	crypto_hex(md, sizeof(md), hex);
}

/* Writes `size` bytes of stream `seed` in odd-sized chunks. */
static int write_stream(struct upload *u, unsigned seed, uint64_t size)
{
	static const size_t chunks[] = {131071, 1, 65537, 1048573, 4093, 262147, 131072};
	uint64_t pos = 0;
	size_t ci = seed;
	while (pos < size) {
		size_t n = chunks[ci++ % (sizeof(chunks) / sizeof(chunks[0]))];
		if (n > size - pos)
			n = (size_t)(size - pos);
		const unsigned char *p = gen_at(seed, pos, &n);
		ssize_t w = upload_write(u, p, n, pos);
		if (w < 0)
			return (int)w;
		if ((size_t)w != n)
			return -EIO;
		pos += n;
	}
	return 0;
}

static int md5_sink(void *arg, const void *data, size_t n)
{
	crypto_md5_update(arg, data, n);
	return 0;
}

/* GETs key and returns its md5 (hex) and size. */
static int get_md5(const char *key, char hex[33], uint64_t *size)
{
	struct crypto_md5_ctx *ctx = crypto_md5_new();
	struct s3_object_info info = {0};
	int rc = s3_get_stream(C, key, 0, UINT64_MAX, md5_sink, ctx, &info);
	uint8_t md[CRYPTO_MD5_LEN];
	crypto_md5_final(ctx, md);
	crypto_hex(md, sizeof(md), hex);
	if (rc == 0 && size) {
		struct s3_object_info hi;
		rc = s3_head(C, key, &hi);
		*size = hi.size;
	}
	return rc;
}

static int count_uploads_cb(void *arg, const char *key, const char *id, time_t t)
{
	(*(int *)arg)++;
	return 0;
}

static int listed_uploads(const char *prefix)
{
	int n = 0;
	if (s3_mpu_list(C, prefix, count_uploads_cb, &n) < 0)
		return -1;
	return n;
}

static int exists(const char *key)
{
	struct s3_object_info hi;
	int rc = s3_head(C, key, &hi);
	return rc == 0 ? 1 : rc == -ENOENT ? 0 : rc;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Uploads size bytes of stream seed under key and checks the object. */
static int upload_and_check(struct upload_pool *p, const char *key, unsigned seed, uint64_t size,
			    double *secs)
{
	struct upload *u = NULL;
	struct s3_object_info info;
	char want[33], got[33];
	uint64_t gsize = 0;
	int ok = 0;

	gen_md5(seed, size, want);
	double t0 = now_s();
	int rc = upload_new(p, key, &u);
	if (rc == 0)
		rc = write_stream(u, seed, size);
	if (rc == 0)
		rc = upload_commit(u, &info);
	double t1 = now_s();
	upload_free(u);
	if (secs)
		*secs = t1 - t0;
	if (rc < 0) {
		fprintf(stderr, "%s: upload failed: %s\n", key, strerror(-rc));
		return 0;
	}
	if (get_md5(key, got, &gsize) < 0) {
		fprintf(stderr, "%s: GET failed\n", key);
		return 0;
	}
	int multi = size > PART;
	char nsuffix[32];
	snprintf(nsuffix, sizeof(nsuffix), "-%llu\"",
		 (unsigned long long)((size + PART - 1) / PART));
	ok = strcmp(want, got) == 0 && gsize == size && info.size == size;
	ok = ok && (multi ? strstr(info.etag, nsuffix) != NULL : strstr(info.etag, want) != NULL);
	if (!ok)
		fprintf(stderr, "%s: size %llu/%llu md5 %s/%s etag %s\n", key,
			(unsigned long long)gsize, (unsigned long long)size, got, want, info.etag);
	return ok;
}

/* ---- tests ---- */

static struct budget *B;
static struct upload_pool *P;

static void test_sizes(void)
{
	static const uint64_t sizes[] = {0, 1, PART - 1, PART, PART + 1, 100 * MiB};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char key[64];
		snprintf(key, sizeof(key), "sizes/f-%llu", (unsigned long long)sizes[i]);
		T_CASE(key, upload_and_check(P, key, (unsigned)i + 1, sizes[i], NULL));
	}
	CHECK_INT(listed_uploads("sizes/"), 0);
}

static void test_1gib(void)
{
	double secs = 0;
	T_CASE("1 GiB in odd chunks", upload_and_check(P, "big/1G.bin", 42, 1024 * MiB, &secs));
	printf("upload_write of 1 GiB (budget %zu MiB, part 8 MiB): %.2f s, %.1f MB/s, budget "
	       "peak %zu MiB\n",
	       budget_limit(B) >> 20, secs, 1073.741824 / secs, budget_peak(B) >> 20);
	CHECK(budget_peak(B) <= budget_limit(B));
	s3_delete(C, "big/1G.bin");
}

struct writer {
	struct upload_pool *p;
	int idx;
	int ok;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	char key[64];
	snprintf(key, sizeof(key), "conc/w%d", w->idx);
	w->ok = upload_and_check(w->p, key, 100 + (unsigned)w->idx,
				 100 * MiB + 977 * (unsigned)w->idx, NULL);
	return NULL;
}

static void test_concurrent_small_budget(void)
{
	struct budget *b;
	struct upload_pool *p;
	struct upload_pool_opts o = {.part_size = PART, .workers = 8};
	CHECK_INT(budget_new(64 * MiB, &b), 0);
	CHECK_INT(upload_pool_new(C, b, &o, &p), 0);
	struct writer w[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct writer){.p = p, .idx = i};
		pthread_create(&t[i], NULL, writer_main, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		T_CASE("concurrent writer", w[i].ok);
	}
	printf("4 writers x 100 MiB, budget 64 MiB: peak %zu MiB\n", budget_peak(b) >> 20);
	CHECK(budget_peak(b) <= budget_limit(b));
	upload_pool_free(p);
	CHECK_INT(budget_used(b), 0);
	budget_free(b);
	CHECK_INT(listed_uploads("conc/"), 0);
}

static void test_nonsequential(void)
{
	struct upload *u;
	char d[10] = "0123456789";
	CHECK_INT(upload_new(P, "ns/f", &u), 0);
	CHECK_INT(upload_write(u, d, 10, 0), 10);
	CHECK_INT(upload_write(u, d, 10, 5), -ESPIPE);
	CHECK_INT(upload_write(u, d, 10, 11), -ESPIPE);
	upload_free(u);
	CHECK_INT(exists("ns/f"), 0);
}

static void test_abort(void)
{
	struct upload *u;
	CHECK_INT(upload_new(P, "abort/f", &u), 0);
	CHECK_INT(write_stream(u, 5, 3 * PART + 5), 0);
	CHECK_INT(listed_uploads("abort/"), 1);
	upload_abort(u);
	upload_free(u);
	CHECK_INT(exists("abort/f"), 0);
	CHECK_INT(listed_uploads("abort/"), 0);
}

static int find_id_cb(void *arg, const char *key, const char *id, time_t t)
{
	snprintf(arg, S3_UPLOAD_ID_MAX, "%s", id);
	return 1;
}

/* The multipart upload is aborted behind the writer's back (as a lifecycle
 * rule or another client would): the next parts fail on the server, and the
 * commit must fail with nothing published and nothing left listed. */
static void test_injected_part_failure(void)
{
	struct upload *u;
	struct s3_object_info info;
	char id[S3_UPLOAD_ID_MAX] = "";
	CHECK_INT(upload_new(P, "inject/f", &u), 0);
	CHECK_INT(write_stream(u, 6, PART + 1), 0); /* part 1 goes out, upload exists */
	s3_mpu_list(C, "inject/", find_id_cb, id);
	CHECK(id[0] != '\0');
	CHECK_INT(s3_mpu_abort(C, "inject/f", id), 0);
	uint64_t pos = upload_size(u);
	int wrc = 0;
	while (pos < 5 * PART && wrc == 0) {
		size_t n = 1 << 20;
		const unsigned char *p = gen_at(6, pos, &n);
		ssize_t w = upload_write(u, p, n, pos);
		if (w < 0)
			wrc = (int)w;
		else
			pos += n;
	}
	printf("injected failure: a write reported it: %s\n", wrc ? "yes (early)" : "no");
	CHECK(wrc == 0 || wrc == -EIO);
	CHECK_INT(upload_commit(u, &info), -EIO);
	upload_free(u);
	CHECK_INT(exists("inject/f"), 0);
	CHECK_INT(listed_uploads("inject/"), 0);
}

static void test_retarget(void)
{
	struct upload *u;
	struct s3_object_info info;
	char want[33], got[33];
	uint64_t size;

	/* Before the first part: only the key changes. */
	CHECK_INT(upload_new(P, "rt/tmp1", &u), 0);
	CHECK_INT(write_stream(u, 7, PART / 2), 0);
	CHECK_INT(upload_retarget(u, "rt/final1"), 0);
	CHECK_INT(upload_commit(u, &info), 0);
	upload_free(u);
	gen_md5(7, PART / 2, want);
	CHECK_INT(get_md5("rt/final1", got, &size), 0);
	CHECK_STR(got, want);
	CHECK_INT(exists("rt/tmp1"), 0);

	/* After parts went out under the old key: completed there, copied,
	 * the old name deleted. */
	CHECK_INT(upload_new(P, "rt/tmp2", &u), 0);
	CHECK_INT(write_stream(u, 8, 2 * PART + 3), 0);
	CHECK_INT(upload_retarget(u, "rt/final2"), 0);
	CHECK_STR(upload_key(u), "rt/final2");
	CHECK_INT(upload_commit(u, &info), 0);
	upload_free(u);
	gen_md5(8, 2 * PART + 3, want);
	CHECK_INT(get_md5("rt/final2", got, &size), 0);
	CHECK_STR(got, want);
	CHECK_INT(size, 2 * PART + 3);
	CHECK_INT(info.size, 2 * PART + 3);
	CHECK(info.etag[0] != '\0');
	CHECK_INT(exists("rt/tmp2"), 0);
	CHECK_INT(listed_uploads("rt/"), 0);
}

static void test_fsync_then_write(void)
{
	struct upload *u;
	struct s3_object_info a, b;
	CHECK_INT(upload_new(P, "fsync/f", &u), 0);
	CHECK_INT(upload_write(u, "abc", 3, 0), 3);
	CHECK_INT(upload_commit(u, &a), 0);
	CHECK_INT(exists("fsync/f"), 1);
	CHECK_INT(upload_write(u, "d", 1, 3), -EPERM);
	CHECK_INT(upload_commit(u, &b), 0);
	CHECK_STR(a.etag, b.etag);
	upload_free(u);
}

static int put_small(const char *key, const char *s)
{
	char etag[S3_ETAG_MAX];
	return s3_put(C, key, s, strlen(s), NULL, etag);
}

static void test_nsops(void)
{
	char want[33], got[33];
	uint64_t size;

	/* file rename */
	T_CASE("upload for rename", upload_and_check(P, "nso/a.bin", 9, PART + 12345, NULL));
	CHECK_INT(nsops_rename_file(C, "nso/a.bin", "nso/b.bin", PART + 12345), 0);
	gen_md5(9, PART + 12345, want);
	CHECK_INT(get_md5("nso/b.bin", got, &size), 0);
	CHECK_STR(got, want);
	CHECK_INT(exists("nso/a.bin"), 0);
	CHECK(nsops_rename_file(C, "nso/missing", "nso/x", 0) < 0);

	/* directory rename, markers included */
	CHECK_INT(nsops_mkdir(C, "nso/d1/"), 0);
	CHECK_INT(nsops_mkdir(C, "nso/d1/sub/"), 0);
	CHECK_INT(put_small("nso/d1/x", "x"), 0);
	CHECK_INT(put_small("nso/d1/z", "zz"), 0);
	CHECK_INT(put_small("nso/d1/sub/y", "yyy"), 0);
	CHECK_INT(nsops_rename_dir(C, "nso/d1/", "nso/d2/", 100, 3), 0);
	static const char *moved[] = {"nso/d2/", "nso/d2/sub/", "nso/d2/x", "nso/d2/z",
				      "nso/d2/sub/y"};
	for (size_t i = 0; i < 5; i++)
		T_CASE(moved[i], exists(moved[i]) == 1);
	static const char *gone[] = {"nso/d1/", "nso/d1/sub/", "nso/d1/x", "nso/d1/z",
				     "nso/d1/sub/y"};
	for (size_t i = 0; i < 5; i++)
		T_CASE(gone[i], exists(gone[i]) == 0);
	CHECK_INT(get_md5("nso/d2/sub/y", got, &size), 0);
	CHECK_INT(size, 3);

	/* refused above the limit; the source stays whole */
	CHECK_INT(nsops_rename_dir(C, "nso/d2/", "nso/d3/", 4, 2), -EMLINK);
	CHECK_INT(exists("nso/d2/sub/y"), 1);
	CHECK_INT(exists("nso/d3/x"), 0);
	/* a non-empty target, a target inside the source, a missing source */
	CHECK_INT(put_small("nso/d4/q", "q"), 0);
	CHECK_INT(nsops_rename_dir(C, "nso/d2/", "nso/d4/", 100, 2), -ENOTEMPTY);
	CHECK_INT(nsops_rename_dir(C, "nso/d2/", "nso/d2/in/", 100, 2), -EINVAL);
	CHECK_INT(nsops_rename_dir(C, "nso/none/", "nso/d5/", 100, 2), -ENOENT);
	CHECK_INT(nsops_rename_dir(C, "nso/d2", "nso/d5/", 100, 2), -EINVAL);

	/* mkdir / rmdir */
	CHECK_INT(nsops_rmdir(C, "nso/d2/"), -ENOTEMPTY);
	CHECK_INT(nsops_mkdir(C, "nso/e/"), 0);
	CHECK_INT(exists("nso/e/"), 1);
	CHECK_INT(nsops_dir_empty(C, "nso/e/"), 1);
	CHECK_INT(nsops_dir_empty(C, "nso/d2/sub/"), 0);
	CHECK_INT(nsops_dir_empty(C, "nso/nothing/"), 1);
	CHECK_INT(nsops_rmdir(C, "nso/e/"), 0);
	CHECK_INT(exists("nso/e/"), 0);
}

#define BIGDIR_N 1100

struct putter {
	int first, step;
	int rc;
};

static void *putter_main(void *arg)
{
	struct putter *pt = arg;
	for (int i = pt->first; i < BIGDIR_N && !pt->rc; i += pt->step) {
		char key[64], body[32];
		snprintf(key, sizeof(key), "bigdir/src/f%04d", i);
		snprintf(body, sizeof(body), "%d", i);
		pt->rc = put_small(key, body);
	}
	return NULL;
}

static int count_keys(const char *prefix)
{
	int n = 0;
	char *cont = NULL;
	for (;;) {
		struct s3_list_req req = {.prefix = prefix, .continuation = cont};
		struct s3_list_page pg;
		memset(&pg, 0, sizeof(pg));
		if (s3_list(C, &req, &pg) < 0) {
			free(cont);
			return -1;
		}
		n += (int)pg.nentries;
		free(cont);
		cont = pg.truncated && pg.next_continuation ? strdup(pg.next_continuation) : NULL;
		s3_list_page_release(&pg);
		if (!cont)
			return n;
	}
}

/* More objects than one listing page and one DeleteObjects batch hold. */
static void test_rename_big_dir(void)
{
	struct putter pt[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		pt[i] = (struct putter){.first = i, .step = 4};
		pthread_create(&t[i], NULL, putter_main, &pt[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK_INT(pt[i].rc, 0);
	}
	CHECK_INT(nsops_mkdir(C, "bigdir/src/"), 0);
	CHECK_INT(count_keys("bigdir/src/"), BIGDIR_N + 1);
	CHECK_INT(nsops_rename_dir(C, "bigdir/src/", "bigdir/dst/", BIGDIR_N, 4), -EMLINK);
	CHECK_INT(nsops_rename_dir(C, "bigdir/src/", "bigdir/dst/", BIGDIR_N + 1, 4), 0);
	CHECK_INT(count_keys("bigdir/src/"), 0);
	CHECK_INT(count_keys("bigdir/dst/"), BIGDIR_N + 1);
	char got[33], want[33];
	uint64_t size;
	CHECK_INT(get_md5("bigdir/dst/f1099", got, &size), 0);
	uint8_t md[CRYPTO_MD5_LEN];
	crypto_md5("1099", 4, md);
	crypto_hex(md, sizeof(md), want);
	CHECK_STR(got, want);
	CHECK_INT(exists("bigdir/dst/"), 1);
}

/* Rename-while-open and file rename through multipart copies (the path
 * objects above 5 GiB take). */
static void test_multipart_copy_paths(void)
{
	struct budget *b;
	struct upload_pool *p;
	struct upload_pool_opts o = {.part_size = PART};
	struct upload *u;
	struct s3_object_info info;
	char want[33], got[33];
	uint64_t size, n = 2 * PART + 4321;

	CHECK_INT(budget_new(64 * MiB, &b), 0);
	CHECK_INT(upload_pool_new(CM, b, &o, &p), 0);
	CHECK_INT(upload_new(p, "mpc/tmp", &u), 0);
	CHECK_INT(write_stream(u, 11, n), 0);
	CHECK_INT(upload_retarget(u, "mpc/final"), 0);
	CHECK_INT(upload_commit(u, &info), 0);
	upload_free(u);
	upload_pool_free(p);
	budget_free(b);
	gen_md5(11, n, want);
	CHECK_INT(get_md5("mpc/final", got, &size), 0);
	CHECK_STR(got, want);
	CHECK_INT(size, n);
	CHECK_INT(info.size, n);
	CHECK(strstr(info.etag, "-") != NULL); /* a multipart copy: "-N" ETag */
	CHECK_INT(exists("mpc/tmp"), 0);

	CHECK_INT(nsops_rename_file(CM, "mpc/final", "mpc/renamed", n), 0);
	CHECK_INT(get_md5("mpc/renamed", got, &size), 0);
	CHECK_STR(got, want);
	CHECK_INT(exists("mpc/final"), 0);
	CHECK_INT(listed_uploads("mpc/"), 0);
}

static void test_stale_uploads(void)
{
	char old_id[S3_UPLOAD_ID_MAX], new_id[S3_UPLOAD_ID_MAX];
	CHECK_INT(s3_mpu_create(C, "stale/old", NULL, old_id), 0);
	sleep(3);
	CHECK_INT(s3_mpu_create(C, "stale/new", NULL, new_id), 0);
	CHECK_INT(listed_uploads("stale/"), 2);
	/* older than 3600 s: none */
	CHECK_INT(nsops_abort_stale_uploads(C, "stale/", 3600), 0);
	CHECK_INT(listed_uploads("stale/"), 2);
	/* older than 2 s: only the first */
	CHECK_INT(nsops_abort_stale_uploads(C, "stale/", 2), 1);
	CHECK_INT(listed_uploads("stale/"), 1);
	char id[S3_UPLOAD_ID_MAX] = "";
	s3_mpu_list(C, "stale/", find_id_cb, id);
	CHECK_STR(id, new_id);
	s3_mpu_abort(C, "stale/new", new_id);
}

/* ---- set-up and clean-up ---- */

struct abort_ctx {
	int n;
};

static int abort_cb(void *arg, const char *key, const char *id, time_t t)
{
	((struct abort_ctx *)arg)->n++;
	s3_mpu_abort(C, key, id);
	return 0;
}

static void cleanup_bucket(void)
{
	struct abort_ctx a = {0};
	s3_mpu_list(C, "", abort_cb, &a);
	for (int round = 0; round < 100; round++) {
		struct s3_list_req req = {0};
		struct s3_list_page pg;
		memset(&pg, 0, sizeof(pg));
		if (s3_list(C, &req, &pg) < 0 || pg.nentries == 0) {
			s3_list_page_release(&pg);
			break;
		}
		const char **keys = calloc(pg.nentries, sizeof(*keys));
		for (size_t i = 0; i < pg.nentries; i++)
			keys[i] = pg.entries[i].key;
		s3_delete_many(C, keys, pg.nentries);
		free(keys);
		s3_list_page_release(&pg);
	}
	int rc = s3_bucket_delete(C);
	if (rc < 0)
		fprintf(stderr, "warning: cannot remove bucket %s: %s\n", BUCKET, strerror(-rc));
}

int main(void)
{
	static const char *need[] = {"S3M_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
				     "AWS_REGION"};
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (!getenv(need[i]) || !*getenv(need[i])) {
			fprintf(stderr, "it_upload: %s is not set (source /tmp/s3m-dev-rgw.env)\n",
				need[i]);
			printf("0 passed, 1 failed\n");
			return 1;
		}
	}
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	log_level_set(LOG_LVL_WARN);
	snprintf(BUCKET, sizeof(BUCKET), "it-upload-%ld", (long)getpid());
	struct s3_config cfg = {
	    .bucket = BUCKET,
	    .region = getenv("AWS_REGION"),
	    .endpoint = getenv("S3M_ENDPOINT"),
	    .path_style = 1,
	};
	struct s3_config cfgm = cfg;
	cfgm.copy_multipart_threshold = 5 * MiB;
	cfgm.copy_part_size = 5 * MiB;
	int rc = s3_client_new(&cfg, &C);
	if (rc == 0)
		rc = s3_client_new(&cfgm, &CM);
	if (rc == 0)
		rc = s3_bucket_create(C);
	if (rc < 0) {
		fprintf(stderr, "it_upload: cannot create bucket %s: %s\n", BUCKET, strerror(-rc));
		s3_client_free(C);
		s3_client_free(CM);
		printf("0 passed, 1 failed\n");
		return 1;
	}
	gen_init();
	struct upload_pool_opts o = {.part_size = PART};
	budget_new(256 * MiB, &B);
	upload_pool_new(C, B, &o, &P);

	T_RUN(test_sizes);
	T_RUN(test_1gib);
	T_RUN(test_concurrent_small_budget);
	T_RUN(test_nonsequential);
	T_RUN(test_abort);
	T_RUN(test_injected_part_failure);
	T_RUN(test_retarget);
	T_RUN(test_fsync_then_write);
	T_RUN(test_nsops);
	T_RUN(test_multipart_copy_paths);
	T_RUN(test_rename_big_dir);
	T_RUN(test_stale_uploads);

	upload_pool_free(P);
	CHECK_INT(budget_used(B), 0);
	budget_free(B);
	cleanup_bucket();
	s3_client_free(CM);
	s3_client_free(C);
	free(G2);
	return T_DONE();
}
