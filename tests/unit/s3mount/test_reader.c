/* test_reader.c: the read cache and prefetcher over an in-memory object
 * store (rcache_opts.fetch), so every path is exercised without a server:
 * block boundaries, sequential and random reads, large reads, 8 threads,
 * a budget smaller than the object (peak stays within it), a fetch error
 * (waiters get it, the next read retries), a replaced object (-ESTALE),
 * invalidation, reclaim by another budget user, and the prefetch shape
 * (window growth, 8 MiB GETs, no prefetch for random reads), and that one
 * sequential reader of 4x the budget (also out of order, as the kernel
 * sends it) downloads each byte about once. The same
 * reads against RGW are in tests/integration/it_reader.c. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include "reader.h"
#include "t.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

struct fobj {
	const char *key;
	char etag[S3_ETAG_MAX];
	unsigned char *data;
	size_t size;
	int kms; /* its GETs answer as for SSE-KMS (etag_not_md5) */
};

struct store {
	pthread_mutex_t lock;
	struct fobj objs[16];
	int nobjs;
	atomic_int calls;
	atomic_int fail_next;  /* fail this many fetches with -EIO */
	atomic_size_t max_len; /* largest range asked */
	atomic_size_t bytes;
	long delay_us; /* per fetch, to let waiters pile up */
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void fill_random(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(rnd() >> 24);
}

static struct fobj *store_put(struct store *s, const char *key, size_t size, const char *etag)
{
	pthread_mutex_lock(&s->lock);
	struct fobj *o = NULL;
	for (int i = 0; i < s->nobjs; i++)
		if (strcmp(s->objs[i].key, key) == 0)
			o = &s->objs[i];
	if (!o)
		o = &s->objs[s->nobjs++];
	free(o->data);
	o->key = key;
	o->size = size;
	o->kms = 0;
	o->data = malloc(size ? size : 1);
	fill_random(o->data, size);
	snprintf(o->etag, sizeof(o->etag), "\"%s\"", etag);
	pthread_mutex_unlock(&s->lock);
	return o;
}

static int store_fetch(void *arg, const char *key, uint64_t off, size_t len, void *buf, size_t *got,
		       const char *if_match, struct s3_object_info *info)
{
	memset(info, 0, sizeof(*info));
	struct store *s = arg;
	atomic_fetch_add(&s->calls, 1);
	size_t m = atomic_load(&s->max_len);
	while (len > m && !atomic_compare_exchange_weak(&s->max_len, &m, len))
		;
	if (s->delay_us) {
		struct timespec ts = {0, s->delay_us * 1000};
		nanosleep(&ts, NULL);
	}
	if (atomic_load(&s->fail_next) > 0) {
		atomic_fetch_sub(&s->fail_next, 1);
		return -EIO;
	}
	int rc = -ENOENT;
	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < s->nobjs; i++) {
		struct fobj *o = &s->objs[i];
		if (strcmp(o->key, key) != 0)
			continue;
		if (if_match && strcmp(if_match, o->etag) != 0) {
			rc = -ESTALE;
			break;
		}
		if (off >= o->size) {
			rc = -ERANGE;
			break;
		}
		size_t n = o->size - off < len ? o->size - off : len;
		memcpy(buf, o->data + off, n);
		*got = n;
		info->etag_not_md5 = o->kms;
		atomic_fetch_add(&s->bytes, n);
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static struct store st;

static void store_reset(void)
{
	for (int i = 0; i < st.nobjs; i++) {
		free(st.objs[i].data);
		st.objs[i].data = NULL;
	}
	st.nobjs = 0;
	st.calls = 0;
	st.fail_next = 0;
	st.max_len = 0;
	st.bytes = 0;
	st.delay_us = 0;
}

struct env {
	struct budget *b;
	struct rcache *rc;
};

static int env_open(struct env *e, size_t budget, int threads)
{
	struct rcache_opts o = {0};
	o.fetch = store_fetch;
	o.fetch_arg = &st;
	o.fetch_threads = threads;
	if (budget_new(budget, &e->b))
		return -1;
	return rcache_new(NULL, e->b, &o, &e->rc);
}

static void env_close(struct env *e)
{
	rcache_free(e->rc);
	CHECK_INT(budget_used(e->b), 0); /* every block credited back */
	budget_free(e->b);
}

/* Reads the whole object in chunks of `chunk` bytes; 1 when it matches. */
static int read_all(struct rcache *rc, const struct fobj *o, size_t chunk)
{
	struct reader *r;
	if (reader_new(rc, o->key, o->size, o->etag, &r))
		return 0;
	unsigned char *buf = malloc(chunk);
	int ok = 1;
	uint64_t off = 0;
	for (;;) {
		ssize_t n = reader_read(r, buf, chunk, off);
		if (n < 0) {
			fprintf(stderr, "read %s at %llu: %zd\n", o->key, (unsigned long long)off,
				n);
			ok = 0;
			break;
		}
		if (n == 0)
			break;
		if (off + (size_t)n > o->size || memcmp(buf, o->data + off, (size_t)n) != 0) {
			fprintf(stderr, "mismatch %s at %llu\n", o->key, (unsigned long long)off);
			ok = 0;
			break;
		}
		off += (size_t)n;
	}
	if (ok && off != o->size)
		ok = 0;
	free(buf);
	reader_free(r);
	return ok;
}

static void test_sizes_sequential(void)
{
	struct env e;
	CHECK_INT(env_open(&e, 64 * MiB, 4), 0);
	size_t sizes[] = {0,	   1,		MiB - 1,	 MiB, MiB + 1, 8 * MiB - 1,
			  8 * MiB, 8 * MiB + 1, 20 * MiB + 12345};
	char names[9][16];
	for (int i = 0; i < 9; i++) {
		snprintf(names[i], sizeof(names[i]), "obj%d", i);
		store_put(&st, names[i], sizes[i], names[i]);
	}
	size_t chunks[] = {128 * KiB, MiB, 100000, 3 * MiB + 7};
	for (int i = 0; i < 9; i++)
		for (int c = 0; c < 4; c++) {
			char name[64];
			snprintf(name, sizeof(name), "size %zu chunk %zu", sizes[i], chunks[c]);
			T_CASE(name, read_all(e.rc, &st.objs[i], chunks[c]));
		}
	struct rcache_stats s;
	rcache_stats(e.rc, &s);
	CHECK(s.hits > 0);
	CHECK(s.prefetched_bytes > 0);
	CHECK(budget_peak(e.b) <= 64 * MiB);
	env_close(&e);
	store_reset();
}

static void test_reads_at_eof_and_beyond(void)
{
	struct env e;
	CHECK_INT(env_open(&e, 16 * MiB, 2), 0);
	struct fobj *o = store_put(&st, "k", MiB + 1, "e1");
	struct reader *r;
	CHECK_INT(reader_new(e.rc, "k", o->size, o->etag, &r), 0);
	unsigned char buf[16];
	CHECK_INT(reader_read(r, buf, sizeof(buf), MiB + 1), 0);
	CHECK_INT(reader_read(r, buf, sizeof(buf), 5ull << 40), 0);
	CHECK_INT(reader_read(r, buf, 0, 0), 0);
	CHECK_INT(reader_read(r, buf, sizeof(buf), MiB), 1);
	CHECK_INT(buf[0], o->data[MiB]);
	CHECK_INT(reader_read(r, buf, 2, MiB - 1), 2);
	CHECK(memcmp(buf, o->data + MiB - 1, 2) == 0);
	reader_free(r);
	env_close(&e);
	store_reset();
}

static void test_random_reads_no_prefetch(void)
{
	struct env e;
	CHECK_INT(env_open(&e, 64 * MiB, 4), 0);
	struct fobj *o = store_put(&st, "big", 40 * MiB + 3, "e1");
	struct reader *r;
	CHECK_INT(reader_new(e.rc, "big", o->size, o->etag, &r), 0);
	unsigned char *buf = malloc(2 * MiB);
	/* tail -c 1000 */
	CHECK_INT(reader_read(r, buf, 1000, o->size - 1000), 1000);
	CHECK(memcmp(buf, o->data + o->size - 1000, 1000) == 0);
	struct rcache_stats s;
	rcache_stats(e.rc, &s);
	CHECK_INT(s.prefetched_bytes, 0);
	CHECK_INT(s.gets, 1);
	/* Middle offsets, crossing block boundaries. */
	uint64_t offs[] = {17 * MiB - 1, 5 * MiB + 77, 30 * MiB - 100, 1, 33 * MiB};
	size_t lens[] = {2, MiB, 200, MiB + 5, 2 * MiB};
	for (int i = 0; i < 5; i++) {
		ssize_t n = reader_read(r, buf, lens[i], offs[i]);
		CHECK_INT(n, lens[i]);
		CHECK(memcmp(buf, o->data + offs[i], lens[i]) == 0);
	}
	rcache_stats(e.rc, &s);
	CHECK_INT(s.prefetched_bytes, 0);
	/* Only the blocks touched were fetched: 2 for the tail (the last
	 * holds 3 bytes), then 2 for each of the five reads. */
	CHECK_INT(s.fetched_bytes, 11 * MiB + 3);
	/* Reading them again is served from the cache. */
	int calls = atomic_load(&st.calls);
	CHECK_INT(reader_read(r, buf, lens[1], offs[1]), lens[1]);
	CHECK_INT(atomic_load(&st.calls), calls);
	free(buf);
	reader_free(r);
	env_close(&e);
	store_reset();
}

static void test_prefetch_shape(void)
{
	struct env e;
	CHECK_INT(env_open(&e, 256 * MiB, 8), 0);
	struct fobj *o = store_put(&st, "seq", 100 * MiB, "e1");
	CHECK(read_all(e.rc, o, 128 * KiB));
	struct rcache_stats s;
	rcache_stats(e.rc, &s);
	/* Most bytes came from prefetch, in GETs of up to 8 MiB, and nothing
	 * was fetched twice. */
	CHECK(s.prefetched_bytes >= 90 * MiB);
	CHECK_INT(atomic_load(&st.max_len), 8 * MiB);
	CHECK_INT(s.fetched_bytes, 100 * MiB);
	if (s.gets > 24)
		fprintf(stderr, "gets %llu\n", (unsigned long long)s.gets);
	CHECK(s.gets <= 24);
	CHECK_INT(s.get_errors, 0);
	/* The first GET was small (first byte fast): one block on demand. */
	CHECK(budget_peak(e.b) <= 256 * MiB);
	env_close(&e);
	store_reset();
}

static void test_small_budget(void)
{
	struct env e;
	/* 8 MiB budget, 40 MiB object, 4 readers at once. */
	CHECK_INT(env_open(&e, 8 * MiB, 4), 0);
	struct fobj *o = store_put(&st, "b", 40 * MiB + 1, "e1");
	CHECK(read_all(e.rc, o, MiB));
	CHECK(read_all(e.rc, o, 128 * KiB));
	CHECK(budget_peak(e.b) <= 8 * MiB);
	CHECK_INT(atomic_load(&st.max_len) <= 2 * MiB, 1); /* GETs cut to budget/4 */
	struct rcache_stats s;
	rcache_stats(e.rc, &s);
	CHECK(s.evicted_bytes > 0);
	CHECK(s.cached_bytes <= 8 * MiB);
	env_close(&e);
	store_reset();
}

struct job {
	struct rcache *rc;
	const struct fobj *o;
	size_t chunk;
	int ok;
	int random;
};

static void *reader_thread(void *arg)
{
	struct job *j = arg;
	if (!j->random) {
		j->ok = read_all(j->rc, j->o, j->chunk);
		return NULL;
	}
	struct reader *r;
	j->ok = reader_new(j->rc, j->o->key, j->o->size, j->o->etag, &r) == 0;
	unsigned char *buf = malloc(j->chunk);
	uint64_t seed = (uint64_t)(uintptr_t)j;
	for (int i = 0; i < 200 && j->ok; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t off = (seed >> 11) % j->o->size;
		ssize_t n = reader_read(r, buf, j->chunk, off);
		size_t want = j->o->size - off < j->chunk ? j->o->size - off : j->chunk;
		if (n != (ssize_t)want || memcmp(buf, j->o->data + off, want) != 0)
			j->ok = 0;
	}
	free(buf);
	reader_free(r);
	return NULL;
}

static void run_threads(size_t budget)
{
	struct env e;
	CHECK_INT(env_open(&e, budget, 8), 0);
	st.delay_us = 200;
	struct fobj *a = store_put(&st, "a", 30 * MiB + 5, "ea");
	struct fobj *b = store_put(&st, "b", 17 * MiB - 3, "eb");
	struct fobj *c = store_put(&st, "c", 9 * MiB, "ec");
	struct job jobs[8] = {
	    {e.rc, a, 128 * KiB, 0, 0}, {e.rc, a, MiB, 0, 0},	   {e.rc, a, 128 * KiB, 0, 0},
	    {e.rc, b, MiB, 0, 0},	{e.rc, b, 64 * KiB, 0, 1}, {e.rc, c, 128 * KiB, 0, 0},
	    {e.rc, a, 300 * KiB, 0, 1}, {e.rc, c, MiB, 0, 1},
	};
	pthread_t t[8];
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, reader_thread, &jobs[i]);
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		CHECK(jobs[i].ok);
	}
	CHECK(budget_peak(e.b) <= budget);
	env_close(&e);
	store_reset();
}

static void test_threads(void)
{
	run_threads(256 * MiB);
}

static void test_threads_tight_budget(void)
{
	run_threads(6 * MiB);
}

static void test_fetch_error_then_retry(void)
{
	struct env e;
	CHECK_INT(env_open(&e, 32 * MiB, 2), 0);
	struct fobj *o = store_put(&st, "f", 3 * MiB, "e1");
	struct reader *r;
	CHECK_INT(reader_new(e.rc, "f", o->size, o->etag, &r), 0);
	unsigned char buf[4096];
	atomic_store(&st.fail_next, 100);
	CHECK_INT(reader_read(r, buf, sizeof(buf), MiB + 5), -EIO);
	atomic_store(&st.fail_next, 0);
	CHECK_INT(reader_read(r, buf, sizeof(buf), MiB + 5), sizeof(buf));
	CHECK(memcmp(buf, o->data + MiB + 5, sizeof(buf)) == 0);
	struct rcache_stats s;
	rcache_stats(e.rc, &s);
	CHECK(s.get_errors >= 1);
	reader_free(r);
	env_close(&e);
	store_reset();
}

static void test_stale_and_invalidate(void)
{
	struct env e;
	CHECK_INT(env_open(&e, 32 * MiB, 2), 0);
	store_put(&st, "s", 4 * MiB, "v1");
	char etag1[S3_ETAG_MAX];
	snprintf(etag1, sizeof(etag1), "%s", st.objs[0].etag);
	struct reader *r;
	CHECK_INT(reader_new(e.rc, "s", 4 * MiB, etag1, &r), 0);
	unsigned char buf[100];
	CHECK_INT(reader_read(r, buf, sizeof(buf), 3 * MiB), 100);
	/* Another client replaces the object: uncached blocks fail -ESTALE. */
	struct fobj *o2 = store_put(&st, "s", 4 * MiB, "v2");
	CHECK_INT(reader_read(r, buf, sizeof(buf), 0), -ESTALE);
	/* The cached block of the old version still reads (same handle). */
	CHECK_INT(reader_read(r, buf, sizeof(buf), 3 * MiB), 100);
	reader_free(r);
	/* After invalidate, a reader of the new version sees new data. */
	rcache_invalidate(e.rc, "s");
	CHECK(read_all(e.rc, o2, MiB));
	/* Invalidating drops cached blocks: the reread fetches again. */
	int calls = atomic_load(&st.calls);
	rcache_invalidate(e.rc, "s");
	CHECK(read_all(e.rc, o2, MiB));
	CHECK(atomic_load(&st.calls) > calls);
	env_close(&e);
	store_reset();
}

/* An upload-like user takes memory with budget_acquire while the cache is
 * full: the reclaim callback gives clean blocks back. */
static void test_reclaim_by_other_user(void)
{
	struct env e;
	CHECK_INT(env_open(&e, 16 * MiB, 4), 0);
	struct fobj *o = store_put(&st, "r", 30 * MiB, "e1");
	CHECK(read_all(e.rc, o, MiB));
	struct rcache_stats s;
	rcache_stats(e.rc, &s);
	CHECK(s.cached_bytes > 0);
	CHECK_INT(budget_acquire(e.b, 16 * MiB), 0); /* everything */
	rcache_stats(e.rc, &s);
	CHECK_INT(s.cached_bytes, 0);
	budget_release(e.b, 16 * MiB);
	CHECK(budget_peak(e.b) <= 16 * MiB);
	env_close(&e);
	store_reset();
}

/* While a demand read waits for its block, nothing is fetched twice: two
 * threads wanting the same block share one GET. */
struct same {
	struct rcache *rc;
	const struct fobj *o;
	int ok;
};

static void *same_thread(void *arg)
{
	struct same *s = arg;
	struct reader *r;
	unsigned char buf[512];
	s->ok = 0;
	if (reader_new(s->rc, s->o->key, s->o->size, s->o->etag, &r))
		return NULL;
	ssize_t n = reader_read(r, buf, sizeof(buf), 5 * MiB + 100);
	s->ok = n == (ssize_t)sizeof(buf) && memcmp(buf, s->o->data + 5 * MiB + 100, 512) == 0;
	reader_free(r);
	return NULL;
}

static void test_one_fetch_for_waiters(void)
{
	struct env e;
	CHECK_INT(env_open(&e, 32 * MiB, 4), 0);
	st.delay_us = 100000; /* 100 ms: both readers arrive during the GET */
	struct fobj *o = store_put(&st, "w", 10 * MiB, "e1");
	struct same s[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		s[i] = (struct same){e.rc, o, 0};
		pthread_create(&t[i], NULL, same_thread, &s[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK(s[i].ok);
	}
	CHECK_INT(atomic_load(&st.calls), 1);
	env_close(&e);
	store_reset();
}

/* One read larger than the whole budget (reader_read has no size limit of
 * its own): it pins, copies and drops blocks as it goes. */
static void test_read_larger_than_budget(void)
{
	struct env e;
	CHECK_INT(env_open(&e, 8 * MiB, 4), 0);
	struct fobj *o = store_put(&st, "huge-read", 40 * MiB + 3, "e1");
	unsigned char *buf = malloc(o->size);
	struct reader *r;
	CHECK_INT(reader_new(e.rc, o->key, o->size, o->etag, &r), 0);
	CHECK_INT(reader_read(r, buf, o->size, 0), o->size);
	CHECK(memcmp(buf, o->data, o->size) == 0);
	CHECK_INT(reader_read(r, buf, 30 * MiB, 7 * MiB + 1), 30 * MiB);
	CHECK(memcmp(buf, o->data + 7 * MiB + 1, 30 * MiB) == 0);
	CHECK(budget_peak(e.b) <= 8 * MiB);
	reader_free(r);
	free(buf);
	env_close(&e);
	store_reset();
}

/* Another budget user holds nearly everything and gives nothing back (an
 * upload's part buffers): reads still progress in what is left, without
 * ever passing the budget. */
static void test_budget_mostly_taken(void)
{
	struct env e;
	CHECK_INT(env_open(&e, 32 * MiB, 4), 0);
	CHECK_INT(budget_acquire(e.b, 29 * MiB), 0);
	struct fobj *o = store_put(&st, "squeezed", 20 * MiB + 1, "e1");
	CHECK(read_all(e.rc, o, 128 * KiB));
	CHECK(read_all(e.rc, o, 3 * MiB));
	CHECK(budget_peak(e.b) <= 32 * MiB);
	budget_release(e.b, 29 * MiB);
	env_close(&e);
	store_reset();
}

/* The zero-copy path: iovecs point into the cache; a read that would wait
 * for memory says -EAGAIN and reader_read() serves it. */
static int read_all_iov(struct rcache *rc, const struct fobj *o, size_t chunk, uint64_t start,
			int *eagain)
{
	struct reader *r;
	if (reader_new(rc, o->key, o->size, o->etag, &r))
		return 0;
	unsigned char *buf = malloc(chunk);
	int ok = 1;
	uint64_t off = start;
	while (ok) {
		struct iovec iov[READER_IOV_MAX];
		int niov = -1;
		struct reader_pin *pin = (struct reader_pin *)1;
		ssize_t n = reader_read_iov(r, off, chunk, iov, &niov, &pin);
		if (n == -EAGAIN) {
			(*eagain)++;
			n = reader_read(r, buf, chunk, off);
			if (n <= 0 || memcmp(buf, o->data + off, (size_t)n) != 0)
				ok = 0;
			off += n > 0 ? (uint64_t)n : 0;
			continue;
		}
		if (n == 0) {
			ok = pin == NULL && niov == 0 && off == o->size;
			break;
		}
		if (n < 0 || pin == NULL) {
			ok = 0;
			break;
		}
		size_t pos = 0;
		for (int i = 0; i < niov; i++) {
			if (memcmp(iov[i].iov_base, o->data + off + pos, iov[i].iov_len) != 0)
				ok = 0;
			pos += iov[i].iov_len;
		}
		if (pos != (size_t)n)
			ok = 0;
		reader_unpin(pin);
		off += (uint64_t)n;
	}
	free(buf);
	reader_free(r);
	return ok;
}

static void test_read_iov(void)
{
	struct env e;
	CHECK_INT(env_open(&e, 64 * MiB, 4), 0);
	struct fobj *o = store_put(&st, "iov", 20 * MiB + 77, "e1");
	int eagain = 0;
	CHECK(read_all_iov(e.rc, o, 128 * KiB, 0, &eagain));
	CHECK(read_all_iov(e.rc, o, MiB, 5, &eagain));
	CHECK(read_all_iov(e.rc, o, 3 * MiB + 1, 1000, &eagain));
	CHECK_INT(eagain, 0);
	/* More blocks than READER_IOV_MAX: -EAGAIN, then the copy path. */
	CHECK(read_all_iov(e.rc, o, 17 * MiB, 0, &eagain));
	CHECK(eagain > 0);
	/* Nearly all the budget taken by someone else: the copy path does the
	 * reads that would wait for memory. */
	eagain = 0;
	rcache_invalidate(e.rc, "iov");
	CHECK_INT(budget_acquire(e.b, 62 * MiB), 0);
	CHECK(read_all_iov(e.rc, o, MiB, 3, &eagain));
	CHECK(eagain > 0);
	budget_release(e.b, 62 * MiB);
	CHECK(budget_peak(e.b) <= 64 * MiB);
	env_close(&e);
	store_reset();
}

static void test_bad_opts(void)
{
	struct budget *b;
	struct rcache *rc;
	CHECK_INT(budget_new(MiB, &b), 0);
	struct rcache_opts o = {0};
	o.fetch = store_fetch;
	o.fetch_arg = &st;
	CHECK_INT(rcache_new(NULL, b, &o, &rc), -EINVAL); /* budget < 2 blocks */
	o.block_size = 4096 + 1;
	CHECK_INT(rcache_new(NULL, b, &o, &rc), -EINVAL);
	CHECK_INT(rcache_new(NULL, b, NULL, &rc), -EINVAL); /* no client, no fetch */
	o.block_size = 64 * KiB;
	CHECK_INT(rcache_new(NULL, b, &o, &rc), 0);
	rcache_free(rc);
	budget_free(b);
}

/* Kernel-like readers of one handle: threads take the next piece from a
 * shared offset and sleep a random jitter first, so pieces arrive out of
 * order as the kernel's readahead does over parallel FUSE threads; the
 * zero-copy path (copy path on -EAGAIN), or the copy path only. */
struct seqpar {
	struct reader *r;
	const struct fobj *o;
	atomic_ullong next;
	atomic_int bad;
	size_t piece;
	int copy;    /* 1: reader_read only (the copy path) */
	long jitter; /* microseconds, at most */
};

static void *seqpar_thread(void *arg)
{
	struct seqpar *p = arg;
	unsigned char *buf = malloc(p->piece);
	unsigned seed = (unsigned)(uintptr_t)&buf;
	for (;;) {
		uint64_t off = atomic_fetch_add(&p->next, p->piece);
		if (off >= p->o->size)
			break;
		/* Jitter: the kernel's parallel requests arrive out of order. */
		seed = seed * 1103515245u + 12345u;
		struct timespec ts = {0, (long)((seed >> 16) % (unsigned)p->jitter) * 1000};
		nanosleep(&ts, NULL);
		struct iovec iov[READER_IOV_MAX];
		int niov = 0;
		struct reader_pin *pin = NULL;
		ssize_t n =
		    p->copy ? -EAGAIN : reader_read_iov(p->r, off, p->piece, iov, &niov, &pin);
		if (n == -EAGAIN) {
			n = reader_read(p->r, buf, p->piece, off);
			if (n <= 0 || memcmp(buf, p->o->data + off, (size_t)n) != 0)
				atomic_fetch_add(&p->bad, 1);
			continue;
		}
		if (n <= 0) {
			atomic_fetch_add(&p->bad, 1);
			continue;
		}
		size_t pos = 0;
		for (int i = 0; i < niov; i++) {
			if (memcmp(iov[i].iov_base, p->o->data + off + pos, iov[i].iov_len) != 0)
				atomic_fetch_add(&p->bad, 1);
			pos += iov[i].iov_len;
		}
		reader_unpin(pin);
	}
	free(buf);
	return NULL;
}

/* One sequential reader of an object 4x the budget downloads each byte about
 * once: blocks it has read are dropped first, and its own prefetch never
 * evicts blocks it fetched ahead and has not read yet. */
static void test_sequential_fetches_once(void)
{
	size_t sizes[] = {32 * MiB, 64 * MiB};
	for (int k = 0; k < 2; k++) {
		size_t budget = sizes[k];
		struct env e;
		CHECK_INT(env_open(&e, budget, 8), 0);
		struct fobj *o = store_put(&st, "seq4x", 4 * budget + 5, "e1");
		CHECK(read_all(e.rc, o, 128 * KiB));
		size_t got = atomic_load(&st.bytes);
		struct rcache_stats s;
		rcache_stats(e.rc, &s);
		fprintf(stderr, "budget %zu MiB, 1 reader: fetched %zu of %zu MiB, misses %llu\n",
			budget / MiB, got / MiB, o->size / MiB, (unsigned long long)s.misses);
		CHECK(got <= o->size + o->size / 10);
		rcache_invalidate(e.rc, "seq4x");

		for (int v = 0; v < 4; v++) {
			int nthr = v == 0 ? 1 : v == 1 ? 4 : 16;
			atomic_store(&st.bytes, 0);
			struct seqpar p = {0};
			p.o = o;
			p.piece = nthr == 16 ? MiB : 128 * KiB;
			p.copy = v == 3;
			p.jitter = v >= 2 ? 3000 : 200;
			CHECK_INT(reader_new(e.rc, o->key, o->size, o->etag, &p.r), 0);
			pthread_t t[16];
			for (int i = 0; i < nthr; i++)
				pthread_create(&t[i], NULL, seqpar_thread, &p);
			for (int i = 0; i < nthr; i++)
				pthread_join(t[i], NULL);
			reader_free(p.r);
			got = atomic_load(&st.bytes);
			rcache_stats(e.rc, &s);
			fprintf(stderr,
				"budget %zu MiB, %d threads (copy %d): fetched %zu of %zu MiB\n",
				budget / MiB, nthr, p.copy, got / MiB, o->size / MiB);
			CHECK_INT(atomic_load(&p.bad), 0);
			CHECK(got <= o->size + o->size / 10);
			rcache_invalidate(e.rc, "seq4x");
		}
		CHECK(budget_peak(e.b) <= budget);
		env_close(&e);
		store_reset();
	}
}

/* The kernel's parallel requests arrive out of order, so a block's last
 * piece is often read before its first: blocks already read then sit warmer
 * in the LRU than the blocks prefetched ahead of the reader. Memory taken
 * back from the cache (another budget user here; a demand read that misses
 * in the mount) must come from blocks already read while there are any,
 * never from the window of a live sequential reader, or it downloads it twice. */
static void test_reclaim_spares_unread_prefetch(void)
{
	struct env e;
	size_t budget = 32 * MiB;
	CHECK_INT(env_open(&e, budget, 4), 0);
	struct fobj *o = store_put(&st, "ooo", 48 * MiB, "e1");
	struct reader *r;
	CHECK_INT(reader_new(e.rc, o->key, o->size, o->etag, &r), 0);
	unsigned char *buf = malloc(MiB);
	int ok = 1;
	for (uint64_t off = 0; off < o->size && ok; off += MiB) {
		size_t h = MiB / 2;
		/* second half, then first half of each block */
		if (reader_read(r, buf + h, h, off + h) != (ssize_t)h ||
		    reader_read(r, buf, h, off) != (ssize_t)h ||
		    memcmp(buf, o->data + off, MiB) != 0)
			ok = 0;
		if (off == 23 * MiB) {
			/* Let the window's GETs land; a second handle then reads
			 * the 24 MiB already read, backwards (random reads: no
			 * prefetch), so those blocks are warmer than the 8 MiB
			 * window; then take 23 MiB of the 32. */
			struct timespec ts = {0, 50 * 1000 * 1000};
			nanosleep(&ts, NULL);
			struct reader *r2;
			CHECK_INT(reader_new(e.rc, o->key, o->size, o->etag, &r2), 0);
			for (int blk = 23; blk >= 0; blk--)
				CHECK_INT(reader_read(r2, buf, MiB, (uint64_t)blk * MiB), MiB);
			reader_free(r2);
			CHECK_INT(budget_acquire(e.b, 23 * MiB), 0);
			budget_release(e.b, 23 * MiB);
		}
	}
	CHECK(ok);
	reader_free(r);
	size_t got = atomic_load(&st.bytes);
	struct rcache_stats s;
	rcache_stats(e.rc, &s);
	fprintf(stderr, "out of order + reclaim: fetched %zu MiB of %zu, misses %llu\n", got / MiB,
		o->size / MiB, (unsigned long long)s.misses);
	CHECK_INT(got, o->size); /* no byte downloaded twice */
	CHECK(budget_peak(e.b) <= budget);
	free(buf);
	env_close(&e);
	store_reset();
}

/* A GET that answered as for SSE-KMS marks the object version (so the ETag
 * check stops) before its bytes can be read; other objects stay unmarked,
 * and a new version of the same key starts unmarked. */
static void test_etag_not_md5(void)
{
	struct env e;
	CHECK_INT(env_open(&e, 64 * MiB, 2), 0);
	struct fobj *k = store_put(&st, "kms", 3 * MiB + 5, "ek");
	k->kms = 1;
	struct fobj *p = store_put(&st, "plain", 2 * MiB, "ep");
	struct reader *rk, *rp;
	CHECK_INT(reader_new(e.rc, "kms", k->size, k->etag, &rk), 0);
	CHECK_INT(reader_new(e.rc, "plain", p->size, p->etag, &rp), 0);
	CHECK_INT(reader_etag_not_md5(rk), 0); /* nothing fetched yet */
	unsigned char buf[4096];
	CHECK_INT(reader_read(rk, buf, sizeof(buf), 0), (long)sizeof(buf));
	CHECK_INT(reader_etag_not_md5(rk), 1);
	CHECK_INT(reader_read(rp, buf, sizeof(buf), p->size - 10), 10);
	CHECK_INT(reader_etag_not_md5(rp), 0);
	reader_free(rk);
	reader_free(rp);
	/* replaced by an unencrypted version: a new object, unmarked */
	pthread_mutex_lock(&st.lock);
	k->kms = 0;
	snprintf(k->etag, sizeof(k->etag), "\"ek2\"");
	pthread_mutex_unlock(&st.lock);
	CHECK_INT(reader_new(e.rc, "kms", k->size, k->etag, &rk), 0);
	CHECK_INT(reader_read(rk, buf, sizeof(buf), MiB), (long)sizeof(buf));
	CHECK_INT(reader_etag_not_md5(rk), 0);
	reader_free(rk);
	env_close(&e);
	store_reset();
}

int main(void)
{
	pthread_mutex_init(&st.lock, NULL);
	T_RUN(test_sizes_sequential);
	T_RUN(test_reads_at_eof_and_beyond);
	T_RUN(test_random_reads_no_prefetch);
	T_RUN(test_prefetch_shape);
	T_RUN(test_small_budget);
	T_RUN(test_threads);
	T_RUN(test_threads_tight_budget);
	T_RUN(test_fetch_error_then_retry);
	T_RUN(test_stale_and_invalidate);
	T_RUN(test_reclaim_by_other_user);
	T_RUN(test_one_fetch_for_waiters);
	T_RUN(test_read_larger_than_budget);
	T_RUN(test_budget_mostly_taken);
	T_RUN(test_read_iov);
	T_RUN(test_bad_opts);
	T_RUN(test_sequential_fetches_once);
	T_RUN(test_reclaim_spares_unread_prefetch);
	T_RUN(test_etag_not_md5);
	store_reset();
	return T_DONE();
}
