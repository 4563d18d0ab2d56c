/* test_verify.c: the ETag (MD5) check of whole-object reads: a clean read
 * verifies, one flipped byte fails the last read and every later one,
 * re-reads and reordered reads (two threads) are tolerated, random access
 * turns the check off; multipart ETags are checked part by part when a part
 * layout that fits the ETag's part count is given, and not otherwise. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crc.h"
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
	CHECK_INT(verify_new("\"0123456789abcdef0123456789abcdef-12\"", SIZE, NULL, 10, &v), 0);
	CHECK(v == NULL); /* multipart: nothing to check */
	v = (struct verify *)1;
	CHECK_INT(verify_new(etag, 0, NULL, 10, &v), 0);
	CHECK(v == NULL); /* empty object */
	CHECK_INT(verify_feed(NULL, 0, NULL, 0), 0);
}

static void test_clean_sequential(void)
{
	struct verify *v;
	CHECK_INT(verify_new(etag, SIZE + 77, NULL, 10, &v), 0);
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
	CHECK_INT(verify_new(etag, SIZE + 77, NULL, 10, &v), 0);
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
	CHECK_INT(feed(v, bad, 0, 4096), -EIO); /* every later read */
	CHECK_INT(feed(v, obj, SIZE, 77), -EIO);
	verify_free(v);
	free(bad);
}

/* An SSE-KMS/SSE-C object: the ETag is no MD5 (here: the bytes do not hash
 * to it). verify_stop mid-read turns the check off, and the read of the end
 * then succeeds; once the check has ended, stop changes nothing. */
static void test_stop(void)
{
	static const char not_md5[] = "\"0123456789abcdef0123456789abcdef\"";
	struct verify *v;
	CHECK_INT(verify_new(not_md5, SIZE + 77, NULL, 10, &v), 0);
	CHECK(v != NULL);
	CHECK_INT(feed(v, obj, 0, CHUNK), 0);
	CHECK_INT(verify_stop(v), 1);
	CHECK_INT(verify_state(v), VERIFY_OFF);
	CHECK_INT(verify_stop(v), 0);
	uint64_t off = CHUNK;
	while (off < SIZE + 77) {
		size_t n = SIZE + 77 - off < CHUNK ? SIZE + 77 - off : CHUNK;
		CHECK_INT(feed(v, obj, off, n), 0);
		off += n;
	}
	CHECK_INT(verify_state(v), VERIFY_OFF);
	verify_free(v);
	/* a check that already failed stays failed */
	CHECK_INT(verify_new(not_md5, SIZE + 77, NULL, 10, &v), 0);
	CHECK_INT(feed(v, obj, 0, SIZE + 77), -EIO);
	CHECK_INT(verify_stop(v), 0);
	CHECK_INT(verify_state(v), VERIFY_BAD);
	verify_free(v);
}

static void test_random_access_turns_off(void)
{
	struct verify *v;
	/* near but never filled: waits wait_ms, then off */
	CHECK_INT(verify_new(etag, SIZE + 77, NULL, 50, &v), 0);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(feed(v, obj, 2 * CHUNK, CHUNK), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	CHECK(ms >= 45 && ms < 5000);
	CHECK_INT(verify_state(v), VERIFY_OFF);
	CHECK_INT(verify_gave_up(v), VERIFY_GAVE_UP_WAIT); /* said once */
	CHECK_INT(verify_gave_up(v), 0);
	/* a corrupt tail is then not reported: the check is off */
	CHECK_INT(feed(v, obj, 0, SIZE + 77), 0);
	verify_free(v);
}

static void test_far_ahead_no_wait(void)
{
	unsigned char *big = calloc(1, (size_t)64 << 20);
	struct verify *v;
	CHECK_INT(
	    verify_new("\"d41d8cd98f00b204e9800998ecf8427e\"", (size_t)64 << 20, NULL, 60000, &v),
	    0);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(feed(v, big, (size_t)40 << 20, CHUNK), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(t1.tv_sec - t0.tv_sec < 5); /* did not wait the 60 s */
	CHECK_INT(verify_state(v), VERIFY_OFF);
	CHECK_INT(verify_gave_up(v), VERIFY_GAVE_UP_JUMP);
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
		CHECK_INT(verify_new(etag, SIZE + 77, NULL, 2000, &v), 0);
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

/* The multipart ETag of obj[0, total) cut into parts of the given sizes,
 * computed here from the definition (MD5 of the parts' MD5s, "-N"). */
static void mp_etag(const uint64_t *sizes, int n, char out[64])
{
	uint8_t *cat = malloc((size_t)n * CRYPTO_MD5_LEN), d[CRYPTO_MD5_LEN];
	uint64_t off = 0;
	for (int i = 0; i < n; i++) {
		crypto_md5(obj + off, sizes[i], cat + (size_t)i * CRYPTO_MD5_LEN);
		off += sizes[i];
	}
	crypto_md5(cat, (size_t)n * CRYPTO_MD5_LEN, d);
	free(cat);
	out[0] = '"';
	crypto_hex(d, sizeof(d), out + 1);
	snprintf(out + 33, 30, "-%d\"", n);
}

/* Reads [0, total) in chunks of step bytes (not aligned to the parts) with
 * a re-read now and then; returns the last feed's result. */
static int read_all(struct verify *v, unsigned char *data, uint64_t total, size_t step)
{
	int rc = 0;
	for (uint64_t off = 0; off < total; off += step) {
		size_t n = total - off < step ? (size_t)(total - off) : step;
		rc = feed(v, data, off, n);
		if (rc == 0 && off >= 1000) /* re-read the previous 1000 bytes and more */
			rc = feed(v, data, off - 1000, 1000 + n / 2);
		if (rc != 0 && off + n < total)
			return 99; /* an error before the end: wrong */
	}
	return rc;
}

static void test_multipart(void)
{
	const uint64_t total = SIZE + 77;
	/* base 512 KiB doubling every 2 parts, capped at 1 MiB:
	 * 512K 512K 1M 1M, then the last 77 bytes */
	struct mpu_layout l = {.base = 512 << 10, .cap = 1 << 20, .grow = 2};
	uint64_t sizes[] = {512 << 10, 512 << 10, 1 << 20, 1 << 20, 77};
	char et[64];
	mp_etag(sizes, 5, et);
	struct verify *v;
	CHECK_INT(verify_new(et, total, &l, 10, &v), 0);
	CHECK(v != NULL);
	CHECK_INT(read_all(v, obj, total, 100000), 0);
	CHECK_INT(verify_state(v), VERIFY_GOOD);
	verify_free(v);

	/* one flipped byte in part 3: only the last read fails, then all */
	unsigned char *bad = malloc(total);
	memcpy(bad, obj, total);
	bad[(1 << 20) + 12345] ^= 1;
	CHECK_INT(verify_new(et, total, &l, 10, &v), 0);
	CHECK_INT(read_all(v, bad, total, CHUNK), -EIO);
	CHECK_INT(verify_state(v), VERIFY_BAD);
	CHECK_INT(feed(v, obj, 0, 10), -EIO);
	verify_free(v);
	free(bad);

	/* no layout, a layout that predicts another part count, an ETag whose
	 * count differs: nothing to check */
	v = (struct verify *)1;
	CHECK_INT(verify_new(et, total, NULL, 10, &v), 0);
	CHECK(v == NULL);
	struct mpu_layout l4 = {.base = 1 << 20, .cap = 1 << 20};
	v = (struct verify *)1;
	CHECK_INT(verify_new(et, total, &l4, 10, &v), 0); /* 4 parts, not 5 */
	CHECK(v == NULL);

	/* the same count with other boundaries is trusted and fails: the
	 * metadata is a claim (mpu.h); say so here */
	struct mpu_layout l5 = {.base = 768 << 10, .cap = 768 << 10};
	CHECK_INT(mpu_layout_parts(&l5, total), 5);
	CHECK_INT(verify_new(et, total, &l5, 10, &v), 0);
	CHECK(v != NULL);
	CHECK_INT(read_all(v, obj, total, CHUNK), -EIO);
	verify_free(v);

	/* a head of copied pieces (upload_resume): 1,000,003 bytes in 3 pieces
	 * (333,334 + 333,334 + 333,335), then policy parts 4.. of 1 MiB (base
	 * 256 KiB doubling every part, capped): 1M 1M, and the rest */
	struct mpu_layout lh = {
	    .base = 256 << 10, .cap = 1 << 20, .grow = 1, .head_parts = 3, .head_bytes = 1000003};
	uint64_t hs[] = {333334, 333334, 333335, 1 << 20, 1 << 20, 0};
	hs[5] = total - 1000003 - (2u << 20);
	char eh[64];
	mp_etag(hs, 6, eh);
	CHECK_INT(verify_new(eh, total, &lh, 10, &v), 0);
	CHECK(v != NULL);
	CHECK_INT(read_all(v, obj, total, 65536), 0);
	CHECK_INT(verify_state(v), VERIFY_GOOD);
	verify_free(v);

	/* a single read covering every part boundary at once */
	CHECK_INT(verify_new(et, total, &l, 10, &v), 0);
	CHECK_INT(feed(v, obj, 0, total), 0);
	CHECK_INT(verify_state(v), VERIFY_GOOD);
	verify_free(v);

	/* an object that ends exactly at a part boundary (no short last part) */
	uint64_t even[] = {1 << 20, 1 << 20, 1 << 20};
	char ee[64];
	mp_etag(even, 3, ee);
	CHECK_INT(verify_new(ee, 3u << 20, &l4, 10, &v), 0);
	CHECK(v != NULL);
	CHECK_INT(read_all(v, obj, 3u << 20, CHUNK), 0);
	CHECK_INT(verify_state(v), VERIFY_GOOD);
	verify_free(v);
}

struct slow_read {
	struct verify *v;
	int slot;
	int ms;	  /* sleep this long "fetching", then feed [0, CHUNK) */
	int feed; /* 0: fail instead (the slot ends without feeding) */
};

static void *slow_read_fn(void *arg)
{
	struct slow_read *s = arg;
	struct timespec ts = {s->ms / 1000, (long)(s->ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
	if (s->feed)
		(void)feed(s->v, obj, 0, CHUNK);
	verify_read_end(s->v, s->slot);
	return NULL;
}

/* A read ahead of the prefix waits past wait_ms while the read that covers
 * the gap is still fetching (a slow GET on a loaded machine), and gives up
 * soon after that read ends without delivering. */
static void test_waits_for_inflight(void)
{
	struct verify *v;
	CHECK_INT(verify_new(etag, SIZE + 77, NULL, 50, &v), 0);
	struct slow_read s = {v, verify_read_begin(v, 0, CHUNK), 300, 1};
	CHECK(s.slot >= 0);
	pthread_t th;
	pthread_create(&th, NULL, slow_read_fn, &s);
	int slot = verify_read_begin(v, CHUNK, CHUNK);
	CHECK_INT(feed(v, obj, CHUNK, CHUNK), 0); /* waits ~300 ms, not 50 */
	verify_read_end(v, slot);
	pthread_join(th, NULL);
	CHECK_INT(verify_state(v), VERIFY_ACTIVE);
	CHECK_INT(verify_gave_up(v), 0);
	CHECK_INT(feed(v, obj, 2 * CHUNK, SIZE + 77 - 2 * CHUNK), 0);
	CHECK_INT(verify_state(v), VERIFY_GOOD);
	verify_free(v);

	/* the read it waits for fails: the check gives up, without waiting 10 s */
	CHECK_INT(verify_new(etag, SIZE + 77, NULL, 50, &v), 0);
	struct slow_read f = {v, verify_read_begin(v, 0, CHUNK), 200, 0};
	pthread_create(&th, NULL, slow_read_fn, &f);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(feed(v, obj, CHUNK, CHUNK), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_join(th, NULL);
	CHECK(t1.tv_sec - t0.tv_sec < 5);
	CHECK_INT(verify_state(v), VERIFY_OFF);
	CHECK_INT(verify_gave_up(v), VERIFY_GAVE_UP_WAIT);
	verify_free(v);
	/* untracked: NULL verify, more slots than VERIFY_INFLIGHT_MAX */
	CHECK_INT(verify_read_begin(NULL, 0, 1), -1);
	verify_read_end(NULL, 3);
	CHECK_INT(verify_new(etag, SIZE + 77, NULL, 50, &v), 0);
	int last = 0;
	for (int i = 0; i <= VERIFY_INFLIGHT_MAX; i++)
		last = verify_read_begin(v, 0, 1);
	CHECK_INT(last, -1);
	verify_free(v);
}

/* A FULL_OBJECT CRC from HEAD is what a read is checked against, whatever
 * the ETag (multipart, none, or no MD5); a flipped byte fails the last read. */
static void test_crc(void)
{
	const uint64_t total = SIZE + 77;
	enum s3_cksum_alg algs[] = {S3_CKSUM_CRC64NVME, S3_CKSUM_CRC32C, S3_CKSUM_CRC32};
	uint64_t want[] = {crc64nvme(0, obj, total), crc32c(0, obj, total), 0};
	/* CRC32 (IEEE) from its definition: reflected 0xEDB88320, bitwise */
	uint32_t c = 0xFFFFFFFFu;
	for (uint64_t i = 0; i < total; i++) {
		c ^= obj[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? c >> 1 ^ 0xEDB88320u : c >> 1;
	}
	want[2] = c ^ 0xFFFFFFFFu;
	const char *names[] = {"CRC64NVME", "CRC32C", "CRC32"};
	unsigned char *bad = malloc(total);
	memcpy(bad, obj, total);
	bad[SIZE / 2] ^= 0x20;
	for (int a = 0; a < 3; a++) {
		struct s3_checksum ck = {.alg = algs[a], .full_object = 1, .value = want[a]};
		struct verify_spec s = {.etag = "\"0123456789abcdef0123456789abcdef-7\"",
					.size = total,
					.checksum = &ck,
					.wait_ms = 10};
		struct verify *v;
		CHECK_INT(verify_new_spec(&s, &v), 0);
		CHECK(v && verify_mode(v) == VERIFY_MODE_CRC);
		CHECK_STR(verify_what(v), names[a]);
		CHECK_INT(read_all(v, obj, total, 100000), 0);
		CHECK_INT(verify_state(v), VERIFY_GOOD);
		verify_free(v);
		CHECK_INT(verify_new_spec(&s, &v), 0);
		CHECK_INT(read_all(v, bad, total, CHUNK), -EIO);
		CHECK_INT(verify_state(v), VERIFY_BAD);
		verify_free(v);
		/* SSE-KMS said by a GET: an ETag check stops, a CRC one goes on */
		CHECK_INT(verify_new_spec(&s, &v), 0);
		CHECK_INT(feed(v, obj, 0, 1000), 0);
		CHECK_INT(verify_stop(v), 0);
		CHECK_INT(feed(v, bad, 1000, total - 1000), -EIO);
		verify_free(v);
	}
	/* COMPOSITE is not usable: the plain MD5 ETag is checked instead */
	struct s3_checksum comp = {
	    .alg = S3_CKSUM_CRC32C, .full_object = 0, .parts = 3, .value = want[1]};
	struct verify_spec s = {.etag = etag, .size = total, .checksum = &comp, .wait_ms = 10};
	struct verify *v;
	CHECK_INT(verify_new_spec(&s, &v), 0);
	CHECK(v && verify_mode(v) == VERIFY_MODE_MD5);
	CHECK_INT(read_all(v, obj, total, CHUNK), 0);
	CHECK_INT(verify_state(v), VERIFY_GOOD);
	verify_free(v);
	free(bad);
}

static void test_guesses(void)
{
	struct verify_guess g[VERIFY_GUESSES_MAX];
	const uint64_t M = 1 << 20;
	/* 64 MiB in 8 parts: aws-cli's 8 MiB only */
	CHECK_INT(verify_guesses(64 * M, 8, g), 1);
	CHECK(g[0].part_size == 8 * M);
	/* 100 MiB in 7 parts: s3cmd's 15 MiB and the MinIO client's 16 MiB */
	CHECK_INT(verify_guesses(100 * M, 7, g), 2);
	CHECK(g[0].part_size == 15 * M && g[1].part_size == 16 * M);
	/* 20 MiB in 4: rclone/Go SDK 5 MiB (one entry for one size) */
	CHECK_INT(verify_guesses(20 * M, 4, g), 1);
	CHECK(g[0].part_size == 5 * M);
	CHECK_INT(verify_guesses(20 * M, 5, g), 0);
	/* past 10,000 parts: 100 GiB with aws-cli doubles 8 MiB to 16 MiB
	 * (6,400 parts); the Go SDK takes size / 10000 + 1 */
	uint64_t big = 100ull << 30;
	int n = verify_guesses(big, 6400, g);
	int aws = 0;
	for (int i = 0; i < n; i++)
		aws |= g[i].part_size == 16 * M;
	CHECK(aws);
	n = verify_guesses(big, 10000, g);
	int go = 0, rclone = 0;
	for (int i = 0; i < n; i++)
		go |= g[i].part_size == big / 10000 + 1;
	/* rclone rounds size / 10000 up to 11 MiB: 9,310 parts */
	n = verify_guesses(big, 9310, g);
	for (int i = 0; i < n; i++)
		rclone |= g[i].part_size == 11 * M;
	CHECK(go && rclone);
	CHECK_INT(verify_guesses(0, 1, g), 0);
	CHECK_INT(verify_guesses(M, 10001, g), 0);
}

static unsigned char *big_obj(uint64_t n)
{
	unsigned char *b = malloc(n);
	uint64_t x = 7;
	for (uint64_t i = 0; i < n; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		b[i] = (unsigned char)(x >> 56);
	}
	return b;
}

static void mp_etag_of(unsigned char *data, const uint64_t *sizes, int n, char out[64])
{
	unsigned char *save = obj;
	obj = data;
	mp_etag(sizes, n, out);
	obj = save;
}

struct end_reader {
	struct verify *v;
	unsigned char *data;
	uint64_t total;
	int rc;
};

static void *end_reader_fn(void *arg)
{
	struct end_reader *e = arg;
	e->rc = feed(e->v, e->data, e->total - 4096, 4096);
	return NULL;
}

/* A multipart ETag without layout, guessed: a fitting tool's part size
 * matches; otherwise the state asks for a second download, and its verdict
 * decides (same bytes: good; other bytes or no download: bad). */
static void test_guessed(void)
{
	const uint64_t M = 1 << 20, total = 20 * M + 12345; /* 3 parts of 8 MiB */
	unsigned char *b = big_obj(total);
	uint64_t aws[] = {8 * M, 8 * M, 4 * M + 12345};
	char et[64];
	mp_etag_of(b, aws, 3, et);
	struct verify_spec s = {.etag = et, .size = total, .infer = 1, .wait_ms = 10};
	struct verify *v;
	CHECK_INT(verify_new_spec(&s, &v), 0);
	CHECK(v && verify_mode(v) == VERIFY_MODE_GUESSED);
	CHECK_STR(verify_etag(v), et);
	CHECK_INT(read_all(v, b, total, 1 << 20), 0);
	CHECK_INT(verify_state(v), VERIFY_GOOD);
	verify_free(v);
	/* without infer: nothing to check, as before */
	s.infer = 0;
	v = (struct verify *)1;
	CHECK_INT(verify_new_spec(&s, &v), 0);
	CHECK(v == NULL);
	s.infer = 1;

	/* flipped: no guess matches, the second download decides */
	unsigned char *bad = malloc(total);
	memcpy(bad, b, total);
	bad[9 * M] ^= 0x20;
	CHECK_INT(verify_new_spec(&s, &v), 0);
	CHECK_INT(read_all(v, bad, total, 1 << 20), VERIFY_FEED_DECIDE);
	CHECK_INT(verify_state(v), VERIFY_DECIDE);
	CHECK_INT(verify_decide(v, 0, crc64nvme(0, b, total), total), -EIO);
	CHECK_INT(verify_state(v), VERIFY_BAD);
	CHECK_INT(feed(v, b, 0, 10), -EIO);
	verify_free(v);

	/* uneven parts (6, 9, then the rest): aws-cli's 8 MiB fits the count
	 * and is wrong; the same bytes again prove the read good */
	uint64_t odd[] = {6 * M, 9 * M, total - 15 * M};
	char eo[64];
	mp_etag_of(b, odd, 3, eo);
	s.etag = eo;
	CHECK_INT(verify_new_spec(&s, &v), 0);
	CHECK_INT(read_all(v, b, total, 1 << 20), VERIFY_FEED_DECIDE);
	/* another read of the end waits for the decision */
	struct end_reader er = {v, b, total, 99};
	pthread_t th;
	pthread_create(&th, NULL, end_reader_fn, &er);
	struct timespec ts = {0, 50 * 1000 * 1000};
	nanosleep(&ts, NULL);
	CHECK_INT(er.rc, 99);
	CHECK_INT(verify_decide(v, 0, crc64nvme(0, b, total), total), 0);
	pthread_join(th, NULL);
	CHECK_INT(er.rc, 0);
	CHECK_INT(verify_state(v), VERIFY_GOOD);
	verify_free(v);
	/* the second download failed or was short: no verdict, EIO */
	CHECK_INT(verify_new_spec(&s, &v), 0);
	CHECK_INT(read_all(v, b, total, 1 << 20), VERIFY_FEED_DECIDE);
	CHECK_INT(verify_decide(v, -ESTALE, 0, 0), -ESTALE);
	CHECK_INT(verify_state(v), VERIFY_BAD);
	verify_free(v);
	CHECK_INT(verify_new_spec(&s, &v), 0);
	CHECK_INT(read_all(v, b, total, 1 << 20), VERIFY_FEED_DECIDE);
	CHECK_INT(verify_decide(v, 0, crc64nvme(0, b, total - 1), total - 1), -EIO);
	verify_free(v);

	/* no tool's size fits 7 parts of 20 MiB: every read is decided by
	 * the second download */
	uint64_t seven[7];
	for (int i = 0; i < 6; i++)
		seven[i] = 3 * M;
	seven[6] = total - 18 * M;
	char e7[64];
	mp_etag_of(b, seven, 7, e7);
	struct verify_guess g[VERIFY_GUESSES_MAX];
	CHECK_INT(verify_guesses(total, 7, g), 0);
	s.etag = e7;
	CHECK_INT(verify_new_spec(&s, &v), 0);
	CHECK(v != NULL);
	CHECK_INT(read_all(v, b, total, 1 << 20), VERIFY_FEED_DECIDE);
	CHECK_INT(verify_decide(v, 0, crc64nvme(0, b, total), total), 0);
	verify_free(v);
	free(bad);
	free(b);
}

int main(void)
{
	make_object();
	T_RUN(test_etag_forms);
	T_RUN(test_clean_sequential);
	T_RUN(test_flipped_byte);
	T_RUN(test_stop);
	T_RUN(test_random_access_turns_off);
	T_RUN(test_far_ahead_no_wait);
	T_RUN(test_reordered_threads);
	T_RUN(test_multipart);
	T_RUN(test_waits_for_inflight);
	T_RUN(test_crc);
	T_RUN(test_guesses);
	T_RUN(test_guessed);
	free(obj);
	return T_DONE();
}
