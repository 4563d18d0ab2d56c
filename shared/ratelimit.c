/*
 * ratelimit.c: CUBIC request rate and AIMD window for a throttled bucket
 * (ratelimit.h says what and why).
 */
#include "ratelimit.h"

#include <math.h>

#define SMOOTH 0.8     /* weight of the newest interval in the measured rate */
#define INTERVAL 0.5   /* seconds of one measuring interval */
#define WAIT_POLL 0.05 /* seconds a caller waits for a free window slot */

void ratelimit_init(struct ratelimit *r, int window_max, double now)
{
	*r = (struct ratelimit){0};
	r->window_max = window_max < 1 ? 1 : window_max;
	r->window = r->window_max;
	r->fill_rate = RATELIMIT_MIN_RATE;
	r->capacity = 1;
	r->last_fill = now;
	r->bucket_t = floor(now / INTERVAL) * INTERVAL;
	r->last_cut = now - RATELIMIT_CUT_S;
}

/* Count one request sent now into the smoothed sending rate. */
static void measure(struct ratelimit *r, double now)
{
	double t = floor(now / INTERVAL) * INTERVAL;
	r->bucket_n++;
	if (t > r->bucket_t) {
		double cur = r->bucket_n / (t - r->bucket_t);
		r->measured = cur * SMOOTH + r->measured * (1 - SMOOTH);
		r->bucket_n = 0;
		r->bucket_t = t;
	}
}

static void refill(struct ratelimit *r, double now)
{
	if (now > r->last_fill) {
		r->tokens += (now - r->last_fill) * r->fill_rate;
		if (r->tokens > r->capacity)
			r->tokens = r->capacity;
	}
	r->last_fill = now;
}

static void set_rate(struct ratelimit *r, double rate, double now)
{
	refill(r, now);
	if (rate > 2 * r->measured)
		rate = 2 * r->measured;
	if (rate < RATELIMIT_MIN_RATE)
		rate = RATELIMIT_MIN_RATE;
	r->fill_rate = rate;
	/* A bucket of one second's tokens: a burst after a quiet spell is
	 * at most what the rate allows in a second. */
	r->capacity = rate < 1 ? 1 : rate;
	if (r->tokens > r->capacity)
		r->tokens = r->capacity;
}

double ratelimit_acquire(struct ratelimit *r, int inflight, double now)
{
	if (!r->enabled) {
		measure(r, now);
		return 0;
	}
	if (inflight >= r->window)
		return WAIT_POLL; /* an answer frees a slot: the caller is woken */
	refill(r, now);
	if (r->tokens >= 1) {
		r->tokens -= 1;
		measure(r, now);
		return 0;
	}
	double s = (1 - r->tokens) / r->fill_rate;
	return s > 0 ? s : WAIT_POLL;
}

static void throttled(struct ratelimit *r, int inflight, double now)
{
	r->throttles++;
	double rate = r->measured;
	if (r->enabled && r->fill_rate < rate)
		rate = r->fill_rate;
	if (rate < RATELIMIT_MIN_RATE)
		rate = RATELIMIT_MIN_RATE;
	r->w_max = rate;
	r->k = cbrt(r->w_max * (1 - RATELIMIT_BETA) / RATELIMIT_C);
	r->last_throttle = now;
	if (!r->enabled) {
		r->enabled = 1;
		r->tokens = 0;
		r->last_fill = now;
	}
	set_rate(r, rate * RATELIMIT_BETA, now);
	/* Many requests in flight come back throttled together: one cut per
	 * RATELIMIT_CUT_S, from what was really in flight (a window of 64
	 * with 8 in flight halved to 32 would slow nothing). */
	if (now - r->last_cut >= RATELIMIT_CUT_S) {
		int w = inflight < r->window ? inflight : r->window;
		r->window = w / 2 < 1 ? 1 : w / 2;
		r->last_cut = now;
		r->clean = 0;
	}
}

void ratelimit_answer(struct ratelimit *r, int is_throttled, int inflight, double now)
{
	if (is_throttled) {
		throttled(r, inflight, now);
		return;
	}
	if (!r->enabled)
		return;
	double t = now - r->last_throttle - r->k;
	set_rate(r, RATELIMIT_C * t * t * t + r->w_max, now);
	if (r->window < r->window_max && ++r->clean >= r->window) {
		r->window++;
		r->clean = 0;
	}
	if (r->window >= r->window_max && now - r->last_throttle >= RATELIMIT_IDLE_S)
		r->enabled = 0;
}
