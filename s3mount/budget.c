/* budget.c: see budget.h. */
#include "budget.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "monoclock.h"

/* A blocked acquire re-runs the reclaim callback this often: memory can
 * become droppable without any budget_release (a cache block a reader has
 * just finished copying from), and nothing would wake the waiter then. */
#define BUDGET_RECHECK_NS (20 * 1000 * 1000)

struct budget {
	pthread_mutex_t lock;
	pthread_cond_t freed;
	size_t limit;	/* bytes */
	size_t used;	/* bytes; protected by lock */
	size_t peak;	/* bytes; protected by lock */
	size_t waiters; /* threads blocked in budget_acquire; protected by lock */
	budget_reclaim_fn reclaim;
	void *reclaim_arg;
};

int budget_new(size_t limit, struct budget **out)
{
	struct budget *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	pthread_mutex_init(&b->lock, NULL);
	mono_cond_init(&b->freed);
	b->limit = limit;
	*out = b;
	return 0;
}

void budget_free(struct budget *b)
{
	if (!b)
		return;
	pthread_cond_destroy(&b->freed);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

void budget_set_reclaim(struct budget *b, budget_reclaim_fn fn, void *arg)
{
	pthread_mutex_lock(&b->lock);
	b->reclaim = fn;
	b->reclaim_arg = arg;
	pthread_mutex_unlock(&b->lock);
}

static void charge_locked(struct budget *b, size_t n)
{
	b->used += n;
	if (b->used > b->peak)
		b->peak = b->used;
}

int budget_try_acquire(struct budget *b, size_t n)
{
	int rc = -ENOMEM;
	pthread_mutex_lock(&b->lock);
	/* While a blocking acquirer waits, opportunistic users (prefetch) get
	 * nothing: otherwise they could take every byte freed and starve it. */
	if (b->waiters == 0 && n <= b->limit - b->used) {
		charge_locked(b, n);
		rc = 0;
	}
	pthread_mutex_unlock(&b->lock);
	return rc;
}

int budget_acquire(struct budget *b, size_t n)
{
	if (n > b->limit)
		return -EFBIG;
	pthread_mutex_lock(&b->lock);
	if (n > b->limit - b->used) {
		/* Counted for the whole wait, reclaim calls included, so that
		 * budget_try_acquire() leaves freed bytes to us. */
		b->waiters++;
		while (n > b->limit - b->used) {
			budget_reclaim_fn fn = b->reclaim;
			void *arg = b->reclaim_arg;
			size_t want = n - (b->limit - b->used);
			if (fn) {
				/* The callback releases through budget_release,
				 * which takes the lock: call it unlocked. */
				pthread_mutex_unlock(&b->lock);
				size_t got = fn(arg, want);
				pthread_mutex_lock(&b->lock);
				if (got > 0)
					continue;
			}
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_nsec += BUDGET_RECHECK_NS;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&b->freed, &b->lock, &ts);
		}
		b->waiters--;
	}
	charge_locked(b, n);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

void budget_release(struct budget *b, size_t n)
{
	pthread_mutex_lock(&b->lock);
	b->used = n > b->used ? 0 : b->used - n;
	pthread_cond_broadcast(&b->freed);
	pthread_mutex_unlock(&b->lock);
}

size_t budget_limit(const struct budget *b)
{
	return b->limit;
}

size_t budget_used(struct budget *b)
{
	pthread_mutex_lock(&b->lock);
	size_t u = b->used;
	pthread_mutex_unlock(&b->lock);
	return u;
}

size_t budget_peak(struct budget *b)
{
	pthread_mutex_lock(&b->lock);
	size_t p = b->peak;
	pthread_mutex_unlock(&b->lock);
	return p;
}
