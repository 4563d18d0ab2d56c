/*
 * ratelimit.h: how fast and how wide the S3 client sends to one bucket while
 * S3 throttles it (503 SlowDown, 429), as pure logic: the caller passes the
 * time (seconds, any monotonic origin), holds the lock and does the waiting.
 *
 * Two limits, both off until the first throttled answer, so a quiet network
 * never pays for them:
 *  - a request rate: a token bucket whose fill rate follows CUBIC, the
 *    congestion control the AWS SDKs' "adaptive" retry mode uses. A throttled
 *    answer cuts the rate to BETA (0.7) of what the client was measured
 *    sending; clean answers then grow it along a cubic curve that comes back
 *    to the rate of the last throttle after K = cbrt(W_max (1-BETA) / C)
 *    seconds and probes above it after that. The rate never exceeds twice the
 *    measured sending rate (so it cannot run far ahead of the traffic) and
 *    never drops below RATELIMIT_MIN_RATE requests a second.
 *  - a window of requests in flight (parallel GETs, part uploads, ...):
 *    AIMD, halved (down to 1) at most once per RATELIMIT_CUT_S on throttled
 *    answers, and grown by one after `window` clean answers in a row, up to
 *    the configured maximum. When the window is back at its maximum and no
 *    answer has been throttled for RATELIMIT_IDLE_S, both limits are off
 *    again: the client is as fast as before the storm.
 * The rate alone would let a burst of already-waiting threads through at
 * once; the window alone would not slow a single thread that retries. The
 * AWS SDKs have only the rate; S3's own guidance is to reduce both.
 *
 * Lifecycle: ratelimit_init (embedded struct, nothing to release).
 * Thread-safety: none; the caller serialises every call on one struct.
 */
#ifndef RATELIMIT_H
#define RATELIMIT_H

#define RATELIMIT_BETA 0.7     /* rate kept at a throttle */
#define RATELIMIT_C 0.4	       /* cubic scale (requests/s per s^3) */
#define RATELIMIT_MIN_RATE 0.5 /* requests a second, at least */
#define RATELIMIT_CUT_S 0.5    /* the window is cut at most this often */
#define RATELIMIT_IDLE_S 10.0  /* clean seconds before the limits are off */

struct ratelimit {
	int enabled;	  /* 1 after a throttle, until RATELIMIT_IDLE_S clean */
	int window;	  /* requests in flight allowed */
	int window_max;	  /* the configured maximum */
	int clean;	  /* clean answers since the window last grew */
	double fill_rate; /* tokens a second */
	double tokens;	  /* in the bucket now */
	double capacity;  /* most tokens the bucket holds */
	double last_fill; /* time of the last refill */
	double w_max;	  /* the rate at the last throttle */
	double k;	  /* the cubic's time to reach w_max again */
	double last_throttle;
	double last_cut; /* time the window was last cut */
	double measured; /* smoothed sending rate, requests a second */
	double bucket_t; /* start of the current measuring interval */
	unsigned bucket_n;
	unsigned long long throttles; /* throttled answers seen */
};

/* window_max: requests in flight allowed when not throttled (>= 1). */
void ratelimit_init(struct ratelimit *r, int window_max, double now);

/* May one more request be sent now, with `inflight` already in flight? 0
 * when it may (a token was taken and the send counted), else the seconds to
 * wait before asking again (> 0). */
double ratelimit_acquire(struct ratelimit *r, int inflight, double now);

/* The answer to a request sent after ratelimit_acquire: throttled (503
 * SlowDown, 429, ...) or not. `inflight` counts the requests in flight
 * before this one ended. */
void ratelimit_answer(struct ratelimit *r, int throttled, int inflight, double now);

#endif
