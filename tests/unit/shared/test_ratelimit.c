/*
 * test_ratelimit.c: the throttling limits as a simulation with a pinned
 * clock. 16 workers send as fast as the limiter lets them to a server that
 * answers in 20 ms; for 20 s every answer is throttled (a SlowDown storm),
 * then none is. Checked: nothing is limited before the first throttle; the
 * storm cuts the sending rate to a small fraction and the window to one;
 * after it, the rate and the window come back and the limiter switches
 * itself off within seconds; and the CUBIC curve's own figures (BETA cut,
 * back at W_max after K seconds, never above twice the measured rate).
 */
#include <math.h>

#include "ratelimit.h"
#include "t.h"

#define WORKERS 16
#define LAT 0.02
#define STEP 0.001

struct sim {
	struct ratelimit rl;
	double busy_until[WORKERS]; /* 0: idle */
	double wait_until[WORKERS];
	int inflight;
	unsigned sent_per_s[200];
	int max_inflight_per_s[200];
};

/* Runs [t0, t1); throttled(t) says whether an answer at t is throttled. */
static void run(struct sim *s, double t0, double t1, int storm_from, int storm_to)
{
	/* integer milliseconds: a sum of float steps drifts off the 20 ms grid */
	for (long ms = (long)(t0 * 1000); ms < (long)(t1 * 1000); ms++) {
		double t = ms * STEP;
		int sec = (int)(ms / 1000);
		for (int w = 0; w < WORKERS; w++) {
			if (s->busy_until[w] > 0 && t >= s->busy_until[w] - STEP / 2) {
				int thr = sec >= storm_from && sec < storm_to;
				ratelimit_answer(&s->rl, thr, s->inflight, t);
				s->inflight--;
				s->busy_until[w] = 0;
			}
		}
		for (int w = 0; w < WORKERS; w++) {
			if (s->busy_until[w] > 0 || t < s->wait_until[w])
				continue;
			double d = ratelimit_acquire(&s->rl, s->inflight, t);
			if (d > 0) {
				s->wait_until[w] = t + d;
				continue;
			}
			s->busy_until[w] = t + LAT;
			s->inflight++;
			s->sent_per_s[sec]++;
			if (s->inflight > s->max_inflight_per_s[sec])
				s->max_inflight_per_s[sec] = s->inflight;
		}
	}
}

static void test_storm(void)
{
	static struct sim s;
	memset(&s, 0, sizeof(s));
	ratelimit_init(&s.rl, WORKERS, 0);
	run(&s, 0, 60, 10, 30);
	/* before: 16 workers x 50 answers/s, unlimited */
	CHECK(s.sent_per_s[5] >= 780);
	CHECK_INT(s.max_inflight_per_s[5], WORKERS);
	/* the storm: after a few seconds, a trickle, one at a time */
	for (int sec = 15; sec < 30; sec++) {
		CHECK(s.sent_per_s[sec] <= 5);
		CHECK(s.max_inflight_per_s[sec] <= 1);
	}
	CHECK(s.rl.throttles > 0);
	/* after: back to the full rate and window within 15 s, limiter off */
	CHECK(s.sent_per_s[45] >= 780);
	CHECK_INT(s.max_inflight_per_s[45], WORKERS);
	CHECK_INT(s.rl.enabled, 0);
	unsigned total_storm = 0;
	for (int sec = 10; sec < 30; sec++)
		total_storm += s.sent_per_s[sec];
	for (int sec = 28; sec < 50; sec++)
		printf("%d:%u/%d ", sec, s.sent_per_s[sec], s.max_inflight_per_s[sec]);
	printf("\n");
	printf("storm: %u requests in 20 s (%u/s before); back to %u/s at t=45\n", total_storm,
	       s.sent_per_s[5], s.sent_per_s[45]);
}

static void test_off_until_throttled(void)
{
	struct ratelimit r;
	ratelimit_init(&r, 4, 100);
	for (int i = 0; i < 10000; i++)
		CHECK(ratelimit_acquire(&r, 1000, 100 + i * 1e-6) == 0);
	for (int i = 0; i < 100; i++)
		ratelimit_answer(&r, 0, 4, 101);
	CHECK_INT(r.enabled, 0);
	CHECK_INT(r.window, 4);
}

static void test_cubic(void)
{
	struct ratelimit r;
	ratelimit_init(&r, 8, 0);
	/* send 100/s for 3 s: measured ~100 */
	for (int i = 0; i < 300; i++)
		CHECK(ratelimit_acquire(&r, 0, i * 0.01) == 0);
	double m = r.measured;
	CHECK(m > 90 && m < 110);
	ratelimit_answer(&r, 1, 8, 3.0);
	CHECK_INT(r.enabled, 1);
	CHECK(fabs(r.fill_rate - m * RATELIMIT_BETA) < 1e-9);
	CHECK(fabs(r.w_max - m) < 1e-9);
	CHECK(fabs(r.k - cbrt(m * (1 - RATELIMIT_BETA) / RATELIMIT_C)) < 1e-9);
	CHECK_INT(r.window, 4); /* 8 in flight, halved */
	/* a second throttle within RATELIMIT_CUT_S does not cut the window again */
	ratelimit_answer(&r, 1, 4, 3.1);
	CHECK_INT(r.window, 4);
	/* back at w_max after K seconds (the measured rate allows it) */
	double w = r.w_max, t_back = 3.1 + r.k;
	ratelimit_answer(&r, 0, 1, t_back);
	CHECK(fabs(r.fill_rate - (w < 2 * r.measured ? w : 2 * r.measured)) < 1e-6);
	/* never above twice the measured rate */
	ratelimit_answer(&r, 0, 1, t_back + 100);
	CHECK(r.fill_rate <= 2 * r.measured + 1e-9);
	/* never below the floor */
	struct ratelimit z;
	ratelimit_init(&z, 1, 0);
	ratelimit_answer(&z, 1, 1, 0.1);
	CHECK(z.fill_rate >= RATELIMIT_MIN_RATE);
	/* the token bucket: with no token, the wait is what the rate needs */
	double d = ratelimit_acquire(&z, 0, 0.1);
	CHECK(fabs(d - 1 / RATELIMIT_MIN_RATE) < 1e-9);
	CHECK(ratelimit_acquire(&z, 0, 0.1 + d) == 0);
	/* a full window waits for an answer */
	CHECK(ratelimit_acquire(&z, 1, 100) > 0);
}

int main(void)
{
	T_RUN(test_off_until_throttled);
	T_RUN(test_cubic);
	T_RUN(test_storm);
	return T_DONE();
}
