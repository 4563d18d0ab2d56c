/* test_verify.c: the ETag (MD5) check of whole-object reads: a clean read
 * verifies, one flipped byte fails the last read and every later one,
 * re-reads and reordered reads (two threads) are tolerated, random access
 * and multipart ETags turn the check off. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "t.h"
#include "verify.h"

#define SIZE (3u << 20) /* bytes of the test object (not a multiple of CHUNK) */
#define CHUNK (128u << 10)

static unsigned char *obj;
static char etag[40]; /* quoted, as S3 sends it */

static void make_object(void)
{
	obj = malloc(SIZE + 77);
	uint64_t x = 42;
	for (size_t i = 0; i < SIZE + 77; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		obj[i] = (unsigned char)(x >> 56);
	}
	uint8_t d[CRYPTO_MD5_LEN];
	crypto_md5(obj, SIZE + 77, d);
	etag[0] = '"';
	crypto_hex(d, sizeof(d), etag + 1);
	etag[33] = '"';
	etag[34] = '\0';
}

static int feed(struct verify *v, unsigned char *data, uint64_t off, size_t n)
{
	/* two iovecs, as the zero-copy path hands blocks */
	struct iovec iov[2] = {{data + off, n / 3}, {data + off + n / 3, n - n / 3}};
	return verify_feed(v, off, iov, 2);
}

static void test_etag_forms(void)
{
	CHECK(verify_etag_is_md5(etag));
	CHECK(verify_etag_is_md5(etag + 1) == 0); /* unbalanced quote */
	CHECK(verify_etag_is_md5("d41d8cd98f00b204e9800998ecf8427e"));
	CHECK(verify_etag_is_md5("D41D8CD98F00B204E9800998ECF8427E"));
	CHECK(!verify_etag_is_md5("\"d41d8cd98f00b204e9800998ecf8427e-2\""));
	CHECK(!verify_etag_is_md5("\"d41d8cd98f00b204e9800998ecf8427g\""));
	CHECK(!verify_etag_is_md5(""));
	CHECK(!verify_etag_is_md5(NULL));
	struct verify *v = (struct verify *)1;
	CHECK_INT(verify_new("\"0123456789abcdef0123456789abcdef-12\"", SIZE, 10, &v), 0);
	CHECK(v == NULL); /* multipart: nothing to check */
	v = (struct verify *)1;
	CHECK_INT(verify_new(etag, 0, 10, &v), 0);
	CHECK(v == NULL); /* empty object */
	CHECK_INT(verify_feed(NULL, 0, NULL, 0), 0);
}

static void test_clean_sequential(void)
{
	struct verify *v;
	CHECK_INT(verify_new(etag, SIZE + 77, 10, &v), 0);
	CHECK(v != NULL);
	uint64_t off = 0;
	while (off < SIZE + 77) {
		size_t n = SIZE + 77 - off < CHUNK ? SIZE + 77 - off : CHUNK;
		CHECK_INT(feed(v, obj, off, n), 0);
		/* the kernel re-reads a page now and then */
		if (off >= 4096)
			CHECK_INT(feed(v, obj, off - 4096, 8192), 0);
		off += n;
	}
	CHECK_INT(verify_state(v), VERIFY_GOOD);
	CHECK_INT(feed(v, obj, 0, 4096), 0); /* later reads are fine */
	verify_free(v);
}

static void test_flipped_byte(void)
{
	unsigned char *bad = malloc(SIZE + 77);
	memcpy(bad, obj, SIZE + 77);
	bad[SIZE / 2] ^= 0x20;
	struct verify *v;
	CHECK_INT(verify_new(etag, SIZE + 77, 10, &v), 0);
	uint64_t off = 0;
	int rc = 0;
	while (off < SIZE + 77) {
		size_t n = SIZE + 77 - off < CHUNK ? SIZE + 77 - off : CHUNK;
		rc = feed(v, bad, off, n);
		off += n;
		if (off < SIZE + 77)
			CHECK_INT(rc, 0); /* only the last read can know */
	}
	CHECK_INT(rc, -EIO);
	CHECK_INT(verify_state(v), VERIFY_BAD);
	CHECK_INT(feed(v, bad, 0, 4096), -EIO);         /* every later read */
	CHECK_INT(feed(v, obj, SIZE, 77), -EIO);
	verify_free(v);
	free(bad);
}

static void test_random_access_turns_off(void)
{
	struct verify *v;
	/* near but never filled: waits wait_ms, then off */
	CHECK_INT(verify_new(etag, SIZE + 77, 50, &v), 0);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(feed(v, obj, 2 * CHUNK, CHUNK), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	CHECK(ms >= 45 && ms < 5000);
	CHECK_INT(verify_state(v), VERIFY_OFF);
	/* a corrupt tail is then not reported: the check is off */
	CHECK_INT(feed(v, obj, 0, SIZE + 77), 0);
	verify_free(v);
}

static void test_far_ahead_no_wait(void)
{
	unsigned char *big = calloc(1, (size_t)64 << 20);
	struct verify *v;
	CHECK_INT(verify_new("\"d41d8cd98f00b204e9800998ecf8427e\"", (size_t)64 << 20, 60000, &v), 0);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(feed(v, big, (size_t)40 << 20, CHUNK), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(t1.tv_sec - t0.tv_sec < 5); /* did not wait the 60 s */
	CHECK_INT(verify_state(v), VERIFY_OFF);
	verify_free(v);
	free(big);
}

/* Two threads feed alternate chunks, as two FUSE threads serve one handle's
 * readahead: the odd chunks may arrive before the even ones. */
struct half {
	struct verify *v;
	int parity;
	int errors;
};

static void *feeder(void *arg)
{
	struct half *h = arg;
	unsigned i = 0;
	for (uint64_t off = 0; off < SIZE + 77; off += CHUNK, i++) {
		if ((int)(i & 1) != h->parity)
			continue;
		size_t n = SIZE + 77 - off < CHUNK ? SIZE + 77 - off : CHUNK;
		if (feed(h->v, obj, off, n) != 0)
			h->errors++;
	}
	return NULL;
}

static void test_reordered_threads(void)
{
	for (int round = 0; round < 20; round++) {
		struct verify *v;
		CHECK_INT(verify_new(etag, SIZE + 77, 2000, &v), 0);
		struct half a = {v, 0, 0}, b = {v, 1, 0};
		pthread_t ta, tb;
		pthread_create(&tb, NULL, feeder, &b); /* the odd half starts first */
		pthread_create(&ta, NULL, feeder, &a);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		CHECK_INT(a.errors + b.errors, 0);
		CHECK_INT(verify_state(v), VERIFY_GOOD);
		verify_free(v);
	}
}

int main(void)
{
	make_object();
	T_RUN(test_etag_forms);
	T_RUN(test_clean_sequential);
	T_RUN(test_flipped_byte);
	T_RUN(test_random_access_turns_off);
	T_RUN(test_far_ahead_no_wait);
	T_RUN(test_reordered_threads);
	free(obj);
	return T_DONE();
}
