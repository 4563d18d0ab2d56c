/*
 * it_reader.c: the read cache and prefetcher (s3mount/reader.h) against RGW,
 * without FUSE. Objects of 0 B, 1 B, 8 MiB-1, 8 MiB, 8 MiB+1 and 100 MiB of
 * random data are uploaded, then read back and compared: sequentially in
 * 128 KiB and 1 MiB chunks, at random offsets (tail, middle, across block and
 * part boundaries), by 8 threads at once, through a 32 MiB budget (the peak
 * must stay within it), and after another client replaced the object
 * (-ESTALE through If-Match).
 * it-timeout: 600
 *
 * `it_reader --bench [MiB]` (not run by ctest) uploads one object (default
 * 1024 MiB) and prints the MB/s of reader_read with a 256 MiB budget next to
 * a raw curl GET of the same object.
 */
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "reader.h"
#include "s3.h"
#include "t.h"

extern char **environ;

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

struct obj {
	char key[64];
	size_t size;
	unsigned char *data;
	char etag[S3_ETAG_MAX];
};

static struct s3_client *cli;
static char bucket[64];

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fill(unsigned char *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(p + i, &x, 8);
	}
	for (; i < n; i++)
		p[i] = (unsigned char)(x >> (i % 8 * 8));
}

static int put_obj(struct obj *o, const char *key, size_t size, uint64_t seed)
{
	snprintf(o->key, sizeof(o->key), "%s", key);
	o->size = size;
	free(o->data);
	o->data = malloc(size ? size : 1);
	if (!o->data)
		return -ENOMEM;
	fill(o->data, size, seed);
	int rc = s3_put(cli, key, o->data, size, NULL, o->etag);
	if (rc == 0 && o->etag[0] == '\0') {
		struct s3_object_info info;
		rc = s3_head(cli, key, &info);
		if (rc == 0)
			snprintf(o->etag, sizeof(o->etag), "%s", info.etag);
	}
	if (rc)
		fprintf(stderr, "put %s (%zu bytes): %s\n", key, size, strerror(-rc));
	return rc;
}

/* Reads the whole object in chunks; 1 when every byte matches (verify) or
 * when it was read without error (!verify: the benchmark's timed pass). */
static int read_pass(struct rcache *rc, const struct obj *o, size_t chunk, double *mbps, int verify)
{
	struct reader *r;
	int err = reader_new(rc, o->key, o->size, o->etag, &r);
	if (err) {
		fprintf(stderr, "reader_new %s: %s\n", o->key, strerror(-err));
		return 0;
	}
	unsigned char *buf = malloc(chunk);
	int ok = buf != NULL;
	uint64_t off = 0;
	double t0 = now_s();
	while (ok) {
		ssize_t n = reader_read(r, buf, chunk, off);
		if (n < 0) {
			fprintf(stderr, "read %s at %llu: %s\n", o->key, (unsigned long long)off,
				strerror((int)-n));
			ok = 0;
		} else if (n == 0) {
			break;
		} else if (off + (size_t)n > o->size ||
			   (verify && memcmp(buf, o->data + off, (size_t)n) != 0)) {
			fprintf(stderr, "%s differs at %llu\n", o->key, (unsigned long long)off);
			ok = 0;
		} else {
			off += (size_t)n;
		}
	}
	double dt = now_s() - t0;
	if (ok && off != o->size) {
		fprintf(stderr, "%s: read %llu of %zu bytes\n", o->key, (unsigned long long)off,
			o->size);
		ok = 0;
	}
	if (mbps)
		*mbps = dt > 0 ? (double)o->size / 1e6 / dt : 0;
	free(buf);
	reader_free(r);
	return ok;
}

static int read_all(struct rcache *rc, const struct obj *o, size_t chunk, double *mbps)
{
	return read_pass(rc, o, chunk, mbps, 1);
}

static int read_at(struct reader *r, const struct obj *o, uint64_t off, size_t len)
{
	unsigned char *buf = malloc(len ? len : 1);
	ssize_t n = reader_read(r, buf, len, off);
	size_t want = off >= o->size ? 0 : (o->size - off < len ? o->size - off : len);
	int ok = n == (ssize_t)want && memcmp(buf, o->data + off, want) == 0;
	if (!ok)
		fprintf(stderr, "read %s [%llu, +%zu): got %zd, want %zu\n", o->key,
			(unsigned long long)off, len, n, want);
	free(buf);
	return ok;
}

static int new_cache(size_t budget, struct budget **b, struct rcache **rc)
{
	struct rcache_opts opts = {0};
	if (budget_new(budget, b))
		return -ENOMEM;
	int err = rcache_new(cli, *b, &opts, rc);
	if (err) {
		budget_free(*b);
		fprintf(stderr, "rcache_new: %s\n", strerror(-err));
	}
	return err;
}

static void free_cache(struct budget *b, struct rcache *rc)
{
	rcache_free(rc);
	CHECK_INT(budget_used(b), 0);
	budget_free(b);
}

/* ---- tests ---- */

static struct obj objs[6];
static const size_t sizes[6] = {0, 1, 8 * MiB - 1, 8 * MiB, 8 * MiB + 1, 100 * MiB};

static void test_sequential(void)
{
	struct budget *b;
	struct rcache *rc;
	if (new_cache(256 * MiB, &b, &rc)) {
		CHECK(0);
		return;
	}
	for (int i = 0; i < 6; i++) {
		double mbps;
		CHECK(read_all(rc, &objs[i], 128 * KiB, &mbps));
		if (i == 5)
			printf("  100 MiB in 128 KiB reads: %.0f MB/s\n", mbps);
		rcache_invalidate(rc, objs[i].key); /* the 1 MiB pass refetches */
		CHECK(read_all(rc, &objs[i], MiB, &mbps));
		if (i == 5)
			printf("  100 MiB in 1 MiB reads: %.0f MB/s\n", mbps);
	}
	struct rcache_stats s;
	rcache_stats(rc, &s);
	CHECK(s.prefetched_bytes > 150 * MiB);
	CHECK_INT(s.get_errors, 0);
	printf("  gets %llu, fetched %llu MiB, prefetched %llu MiB, hits %llu, misses %llu\n",
	       (unsigned long long)s.gets, (unsigned long long)(s.fetched_bytes / MiB),
	       (unsigned long long)(s.prefetched_bytes / MiB), (unsigned long long)s.hits,
	       (unsigned long long)s.misses);
	free_cache(b, rc);
}

static void test_random(void)
{
	struct budget *b;
	struct rcache *rc;
	if (new_cache(256 * MiB, &b, &rc)) {
		CHECK(0);
		return;
	}
	const struct obj *o = &objs[5];
	struct reader *r;
	CHECK_INT(reader_new(rc, o->key, o->size, o->etag, &r), 0);
	CHECK(read_at(r, o, o->size - 1000, 1000));   /* tail -c 1000 */
	CHECK(read_at(r, o, o->size - 1, 4096));      /* last byte */
	CHECK(read_at(r, o, o->size, 4096));	      /* at EOF: 0 */
	CHECK(read_at(r, o, o->size + 5, 4096));      /* past EOF: 0 */
	CHECK(read_at(r, o, 50 * MiB + 12345, 4096)); /* middle */
	CHECK(read_at(r, o, MiB - 1, 2));	      /* block boundary */
	CHECK(read_at(r, o, 8 * MiB - 1, 2));	      /* part boundary */
	CHECK(read_at(r, o, 33 * MiB - 100, MiB));    /* one FUSE read over a boundary */
	CHECK(read_at(r, o, 70 * MiB + 1, 5 * MiB));  /* a large read over 6 blocks */
	struct rcache_stats s;
	rcache_stats(rc, &s);
	/* Random reads fetch only the blocks they touch: no prefetch. */
	CHECK_INT(s.prefetched_bytes, 0);
	CHECK(s.fetched_bytes <= 16 * MiB);
	reader_free(r);

	/* The small objects at their edges. */
	CHECK_INT(reader_new(rc, objs[4].key, objs[4].size, objs[4].etag, &r), 0);
	CHECK(read_at(r, &objs[4], 8 * MiB, 10));
	CHECK(read_at(r, &objs[4], 8 * MiB - 1, 10));
	CHECK(read_at(r, &objs[4], 0, 1));
	reader_free(r);
	CHECK_INT(reader_new(rc, objs[1].key, objs[1].size, objs[1].etag, &r), 0);
	CHECK(read_at(r, &objs[1], 0, MiB));
	CHECK(read_at(r, &objs[1], 1, MiB));
	reader_free(r);
	CHECK_INT(reader_new(rc, objs[0].key, objs[0].size, objs[0].etag, &r), 0);
	CHECK(read_at(r, &objs[0], 0, MiB));
	reader_free(r);
	free_cache(b, rc);
}

struct worker {
	struct rcache *rc;
	const struct obj *o;
	size_t chunk;
	int ok;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	w->ok = read_all(w->rc, w->o, w->chunk, NULL);
	return NULL;
}

static void run_workers(size_t budget)
{
	struct budget *b;
	struct rcache *rc;
	if (new_cache(budget, &b, &rc)) {
		CHECK(0);
		return;
	}
	struct worker w[8] = {
	    {rc, &objs[5], 128 * KiB, 0}, {rc, &objs[5], MiB, 0},  {rc, &objs[5], 128 * KiB, 0},
	    {rc, &objs[4], 128 * KiB, 0}, {rc, &objs[3], MiB, 0},  {rc, &objs[2], 300 * KiB, 0},
	    {rc, &objs[5], 64 * KiB, 0},  {rc, &objs[1], 4096, 0},
	};
	pthread_t t[8];
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, worker_main, &w[i]);
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		CHECK(w[i].ok);
	}
	CHECK(budget_peak(b) <= budget);
	printf("  8 threads, budget %zu MiB: peak %zu MiB\n", budget / MiB, budget_peak(b) / MiB);
	free_cache(b, rc);
}

static void test_threads(void)
{
	run_workers(256 * MiB);
}

static void test_small_budget(void)
{
	struct budget *b;
	struct rcache *rc;
	if (new_cache(32 * MiB, &b, &rc)) {
		CHECK(0);
		return;
	}
	double mbps;
	CHECK(read_all(rc, &objs[5], MiB, &mbps));
	CHECK(read_all(rc, &objs[5], 128 * KiB, NULL));
	CHECK(budget_peak(b) <= 32 * MiB);
	struct rcache_stats s;
	rcache_stats(rc, &s);
	CHECK(s.evicted_bytes > 0);
	printf("  budget 32 MiB, 100 MiB object: peak %zu MiB, %.0f MB/s\n", budget_peak(b) / MiB,
	       mbps);
	free_cache(b, rc);
	/* 8 readers through the same small budget. */
	run_workers(32 * MiB);
}

static void test_replaced(void)
{
	struct budget *b;
	struct rcache *rc;
	if (new_cache(64 * MiB, &b, &rc)) {
		CHECK(0);
		return;
	}
	struct obj o = {0};
	CHECK_INT(put_obj(&o, "replaced", 8 * MiB + 1, 77), 0);
	struct reader *r;
	CHECK_INT(reader_new(rc, o.key, o.size, o.etag, &r), 0);
	CHECK(read_at(r, &o, 5 * MiB, 100)); /* random: only that block */
	struct obj o2 = {0};
	CHECK_INT(put_obj(&o2, "replaced", 8 * MiB + 1, 78), 0);
	CHECK(strcmp(o.etag, o2.etag) != 0);
	unsigned char buf[100];
	CHECK_INT(reader_read(r, buf, sizeof(buf), 0), -ESTALE);
	CHECK_INT(reader_read(r, buf, sizeof(buf), 0), -ESTALE); /* retried, still stale */
	reader_free(r);
	/* A reader of the new version reads the new bytes. */
	rcache_invalidate(rc, "replaced");
	CHECK(read_all(rc, &o2, MiB, NULL));
	free(o.data);
	free(o2.data);
	CHECK_INT(s3_delete(cli, "replaced"), 0);
	free_cache(b, rc);
}

/* ---- setup ---- */

/* Runs argv (a NULL-terminated list) and returns its exit status, or -1.
 * posix_spawnp wants mutable strings: the arguments are copied. */
static int spawn_wait(const char *const *args)
{
	char *argv[24] = {0};
	int n = 0, rc = -1;
	for (; args[n] && n < 23; n++)
		if (!(argv[n] = strdup(args[n])))
			goto out;
	pid_t pid;
	if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0)
		goto out;
	int st;
	if (waitpid(pid, &st, 0) < 0)
		goto out;
	rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
out:
	for (int i = 0; i < n; i++)
		free(argv[i]);
	return rc;
}

#define EMPTY_SHA256_HDR                                                                           \
	"x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void delete_bucket(void)
{
	int err = s3_bucket_delete(cli);
	if (err)
		fprintf(stderr, "warning: could not delete bucket %s: %s\n", bucket,
			strerror(-err));
}

static int setup_client(void)
{
	const char *need[] = {"S3M_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
			      "AWS_REGION"};
	for (int i = 0; i < 4; i++) {
		if (!getenv(need[i]) || !*getenv(need[i])) {
			fprintf(stderr, "it_reader: %s is not set (source /tmp/s3m-dev-rgw.env)\n",
				need[i]);
			return -EINVAL;
		}
	}
	snprintf(bucket, sizeof(bucket), "it-reader-%ld", (long)getpid());
	struct s3_config cfg = {0};
	cfg.bucket = bucket;
	cfg.region = getenv("AWS_REGION");
	cfg.endpoint = getenv("S3M_ENDPOINT");
	cfg.path_style = 1;
	int err = s3_client_new(&cfg, &cli);
	if (err) {
		fprintf(stderr, "s3_client_new: %s\n", strerror(-err));
		return err;
	}
	err = s3_bucket_create(cli);
	if (err) {
		fprintf(stderr, "create bucket %s: %s\n", bucket, strerror(-err));
		s3_client_free(cli);
		cli = NULL;
	}
	return err;
}

/* The raw baseline: curl GET of the object to /dev/null; MB/s or -1. */
static double curl_mbps(const char *key, size_t size)
{
	char url[512], user[512], sigv4[128];
	snprintf(url, sizeof(url), "%s/%s/%s", getenv("S3M_ENDPOINT"), bucket, key);
	snprintf(user, sizeof(user), "%s:%s", getenv("AWS_ACCESS_KEY_ID"),
		 getenv("AWS_SECRET_ACCESS_KEY"));
	snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:s3", getenv("AWS_REGION"));
	const char *argv[] = {"curl",		"-s",  "-f",	 "-o", "/dev/null",
			      "--aws-sigv4",	sigv4, "--user", user, "-H",
			      EMPTY_SHA256_HDR, url,   NULL};
	double t0 = now_s();
	if (spawn_wait(argv) != 0)
		return -1;
	return (double)size / 1e6 / (now_s() - t0);
}

static int bench(size_t mib)
{
	struct obj o = {0};
	int rc = 1;
	if (put_obj(&o, "bench", mib * MiB, 5) != 0)
		goto out;
	printf("object %zu MiB, budget 256 MiB, default options\n", mib);
	for (int round = 0; round < 3; round++) {
		struct budget *b;
		struct rcache *c;
		if (new_cache(256 * MiB, &b, &c))
			goto out;
		double r1 = 0, r128 = 0;
		double raw1 = curl_mbps("bench", o.size);
		int ok = read_pass(c, &o, MiB, &r1, 0);
		rcache_invalidate(c, "bench");
		double raw2 = curl_mbps("bench", o.size);
		ok &= read_pass(c, &o, 128 * KiB, &r128, 0);
		size_t peak = budget_peak(b);
		free_cache(b, c);
		printf("round %d: reader_read 1 MiB reads %.0f MB/s, 128 KiB reads %.0f MB/s; "
		       "curl %.0f, %.0f MB/s; peak %zu MiB%s\n",
		       round, r1, r128, raw1, raw2, peak / MiB, ok ? "" : " READ FAILED");
		if (!ok)
			goto out;
	}
	/* And the bytes are right. */
	{
		struct budget *b;
		struct rcache *c;
		if (new_cache(256 * MiB, &b, &c))
			goto out;
		int ok = read_all(c, &o, MiB, NULL);
		free_cache(b, c);
		printf("verify pass: %s\n", ok ? "data ok" : "DATA MISMATCH");
		if (!ok)
			goto out;
	}
	rc = 0;
out:
	s3_delete(cli, "bench");
	free(o.data);
	return rc;
}

int main(int argc, char **argv)
{
	if (setup_client() != 0) {
		printf("0 passed, 1 failed\n");
		return 1;
	}
	if (argc > 1 && strcmp(argv[1], "--bench") == 0) {
		int rc = bench(argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 1024);
		delete_bucket();
		s3_client_free(cli);
		return rc;
	}
	int ok = 1;
	for (int i = 0; i < 6 && ok; i++) {
		char key[32];
		snprintf(key, sizeof(key), "obj-%zu", sizes[i]);
		ok = put_obj(&objs[i], key, sizes[i], (uint64_t)i + 1) == 0;
	}
	T_CASE("upload objects", ok);
	if (ok) {
		T_RUN(test_sequential);
		T_RUN(test_random);
		T_RUN(test_threads);
		T_RUN(test_small_budget);
		T_RUN(test_replaced);
	}
	for (int i = 0; i < 6; i++) {
		if (objs[i].key[0])
			s3_delete(cli, objs[i].key);
		free(objs[i].data);
	}
	delete_bucket();
	s3_client_free(cli);
	return T_DONE();
}
