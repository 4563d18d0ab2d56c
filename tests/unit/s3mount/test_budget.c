/* test_budget.c: the global memory budget: acquire/try/release, peak,
 * -EFBIG, blocking with threads, the reclaim callback (also for memory that
 * becomes droppable without any release), and writer priority over
 * opportunistic try_acquire. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "budget.h"
#include "t.h"

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void test_basic(void)
{
	struct budget *b;
	CHECK_INT(budget_new(100, &b), 0);
	CHECK_INT(budget_limit(b), 100);
	CHECK_INT(budget_used(b), 0);
	CHECK_INT(budget_try_acquire(b, 60), 0);
	CHECK_INT(budget_try_acquire(b, 41), -ENOMEM);
	CHECK_INT(budget_try_acquire(b, 40), 0);
	CHECK_INT(budget_used(b), 100);
	CHECK_INT(budget_try_acquire(b, 1), -ENOMEM);
	CHECK_INT(budget_try_acquire(b, 0), 0);
	budget_release(b, 70);
	CHECK_INT(budget_used(b), 30);
	CHECK_INT(budget_peak(b), 100);
	CHECK_INT(budget_acquire(b, 70), 0);
	CHECK_INT(budget_used(b), 100);
	CHECK_INT(budget_acquire(b, 101), -EFBIG);
	budget_release(b, 100);
	CHECK_INT(budget_used(b), 0);
	CHECK_INT(budget_peak(b), 100);
	budget_free(b);
	budget_free(NULL);
}

struct holder {
	struct budget *b;
	size_t n;
	atomic_int done;
};

static void *acquire_thread(void *arg)
{
	struct holder *h = arg;
	if (budget_acquire(h->b, h->n) == 0)
		atomic_store(&h->done, 1);
	return NULL;
}

static void test_blocking(void)
{
	struct budget *b;
	CHECK_INT(budget_new(100, &b), 0);
	CHECK_INT(budget_acquire(b, 80), 0);
	struct holder h = {b, 50, 0};
	pthread_t t;
	pthread_create(&t, NULL, acquire_thread, &h);
	sleep_ms(100);
	CHECK_INT(atomic_load(&h.done), 0); /* blocked: 80 + 50 > 100 */
	/* A writer waits: try_acquire must not take what it waits for. */
	CHECK_INT(budget_try_acquire(b, 10), -ENOMEM);
	budget_release(b, 40);
	pthread_join(t, NULL);
	CHECK_INT(atomic_load(&h.done), 1);
	CHECK_INT(budget_used(b), 90);
	CHECK_INT(budget_peak(b), 90);
	/* No waiter any more: try_acquire works again. */
	CHECK_INT(budget_try_acquire(b, 10), 0);
	budget_release(b, 100);
	budget_free(b);
}

/* A fake cache: `droppable` bytes can be given back on request. */
struct fake_cache {
	struct budget *b;
	pthread_mutex_t lock;
	size_t droppable;
	int calls;
};

static size_t fake_reclaim(void *arg, size_t want)
{
	struct fake_cache *fc = arg;
	pthread_mutex_lock(&fc->lock);
	fc->calls++;
	size_t n = fc->droppable < want ? fc->droppable : want;
	fc->droppable -= n;
	pthread_mutex_unlock(&fc->lock);
	if (n)
		budget_release(fc->b, n);
	return n;
}

static void test_reclaim(void)
{
	struct fake_cache fc = {0};
	pthread_mutex_init(&fc.lock, NULL);
	CHECK_INT(budget_new(100, &fc.b), 0);
	budget_set_reclaim(fc.b, fake_reclaim, &fc);
	CHECK_INT(budget_acquire(fc.b, 100), 0);
	fc.droppable = 100; /* the "cache" holds it all, clean */
	/* Non-blocking acquire never reclaims. */
	CHECK_INT(budget_try_acquire(fc.b, 10), -ENOMEM);
	CHECK_INT(fc.calls, 0);
	/* A blocking one takes just what it needs. */
	CHECK_INT(budget_acquire(fc.b, 30), 0);
	CHECK(fc.calls >= 1);
	CHECK_INT(fc.droppable, 70);
	CHECK_INT(budget_used(fc.b), 100);
	CHECK_INT(budget_peak(fc.b), 100);
	budget_set_reclaim(fc.b, NULL, NULL);
	budget_release(fc.b, 100);
	budget_free(fc.b);
	pthread_mutex_destroy(&fc.lock);
}

/* Memory becomes droppable later, with no release: the waiter must notice
 * by calling reclaim again (the bug fixed in budget.c: it slept forever). */
static void test_reclaim_later(void)
{
	struct fake_cache fc = {0};
	pthread_mutex_init(&fc.lock, NULL);
	CHECK_INT(budget_new(100, &fc.b), 0);
	budget_set_reclaim(fc.b, fake_reclaim, &fc);
	CHECK_INT(budget_acquire(fc.b, 100), 0);
	struct holder h = {fc.b, 40, 0};
	pthread_t t;
	pthread_create(&t, NULL, acquire_thread, &h);
	sleep_ms(100);
	CHECK_INT(atomic_load(&h.done), 0);
	pthread_mutex_lock(&fc.lock);
	fc.droppable = 60; /* a reader finished with its blocks */
	pthread_mutex_unlock(&fc.lock);
	for (int i = 0; i < 100 && !atomic_load(&h.done); i++)
		sleep_ms(10);
	CHECK_INT(atomic_load(&h.done), 1);
	pthread_join(t, NULL);
	CHECK_INT(budget_used(fc.b), 100);
	CHECK_INT(fc.droppable, 20);
	budget_set_reclaim(fc.b, NULL, NULL);
	budget_release(fc.b, 100);
	budget_free(fc.b);
	pthread_mutex_destroy(&fc.lock);
}

/* Many threads hammering acquire/release: used never passes the limit. */
struct churn {
	struct budget *b;
	int iters;
};

static void *churn_thread(void *arg)
{
	struct churn *c = arg;
	for (int i = 0; i < c->iters; i++) {
		size_t n = (size_t)(i % 7 + 1) * 5;
		if (i % 2) {
			if (budget_try_acquire(c->b, n) == 0)
				budget_release(c->b, n);
		} else if (budget_acquire(c->b, n) == 0) {
			budget_release(c->b, n);
		}
	}
	return NULL;
}

static void test_threads(void)
{
	struct budget *b;
	CHECK_INT(budget_new(64, &b), 0);
	struct churn c = {b, 20000};
	pthread_t t[8];
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, churn_thread, &c);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	CHECK_INT(budget_used(b), 0);
	CHECK(budget_peak(b) <= 64);
	CHECK(budget_peak(b) >= 35);
	budget_free(b);
}

int main(void)
{
	T_RUN(test_basic);
	T_RUN(test_blocking);
	T_RUN(test_reclaim);
	T_RUN(test_reclaim_later);
	T_RUN(test_threads);
	return T_DONE();
}
