/*
 * s3gate.c: the send gate every try of the S3 client passes (s3int.h): the
 * throttling limits of ratelimit.h applied to real threads and a real clock.
 * A try waits here, not in the backoff, when S3 has asked the whole client
 * to send less; the gate is open (one lock, no wait) while it has not.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "monoclock.h"
#include "ratelimit.h"
#include "s3int.h"

/* Waits until the throttling limits let one more try go (at once while S3
 * has not throttled), but never past end_ms (0 = none): a try that waited
 * that long goes anyway and meets the deadline's own check. */
void s3_gate_enter(struct s3_client *c, uint64_t end_ms)
{
	uint64_t t0 = 0;
	pthread_mutex_lock(&c->rl_lock);
	for (;;) {
		double d = ratelimit_acquire(&c->rl, c->inflight, mono_s());
		if (d <= 0)
			break;
		uint64_t now = mono_ms();
		if (!t0)
			t0 = now;
		uint64_t until = now + (uint64_t)(d * 1000) + 1;
		if (end_ms && until > end_ms)
			until = end_ms;
		if (end_ms && now >= end_ms)
			break;
		struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000L};
		c->rl_waiters++;
		(void)pthread_cond_timedwait(&c->rl_cond, &c->rl_lock, &ts);
		c->rl_waiters--;
	}
	c->inflight++;
	pthread_mutex_unlock(&c->rl_lock);
	if (t0)
		atomic_fetch_add_explicit(&c->n_gate_wait_ms, mono_ms() - t0, memory_order_relaxed);
}

/* The try s3_gate_enter let go has its answer: throttled (1), clean (0) or
 * none (-1: the transport failed, which says nothing about the rate). */
void s3_gate_leave(struct s3_client *c, int throttled)
{
	pthread_mutex_lock(&c->rl_lock);
	if (throttled >= 0)
		ratelimit_answer(&c->rl, throttled, c->inflight, mono_s());
	c->inflight--;
	if (c->rl_waiters)
		pthread_cond_broadcast(&c->rl_cond);
	pthread_mutex_unlock(&c->rl_lock);
	if (throttled > 0)
		atomic_fetch_add_explicit(&c->n_throttled, 1, memory_order_relaxed);
}
