/*
 * retry.h: the retry policy of the S3 client, as pure functions (no clock, no
 * sleeping, no global random state): "full jitter" exponential backoff, i.e.
 * the delay before retry number `attempt` (0-based) is uniform in
 * [0, min(cap, base * 2^attempt)]. Full jitter spreads the retries of many
 * threads hitting the same throttled prefix (SlowDown/503), which is why AWS
 * recommends it over equal or no jitter.
 *
 * The random source is injected (a function plus its state) so tests can pin
 * it; retry_rand_splitmix() is a small default whose state the caller owns.
 * Thread-safety: no shared state; each caller owns its own random state.
 */
#ifndef RETRY_H
#define RETRY_H
#include <stdint.h>

#define RETRY_DEFAULT_BASE_MS 50
#define RETRY_DEFAULT_CAP_MS 5000
#define RETRY_DEFAULT_MAX 6

struct retry_policy {
	uint32_t base_ms; /* first backoff ceiling; 0 = RETRY_DEFAULT_BASE_MS */
	uint32_t cap_ms;  /* largest backoff ceiling; 0 = RETRY_DEFAULT_CAP_MS */
	int max_retries;  /* retries after the first try; < 0 = none */
};

/* Returns a uniformly distributed 64-bit value and advances *state. */
typedef uint64_t (*retry_rand_fn)(void *state);

/* splitmix64 over a caller-owned uint64_t state (seed it with anything). */
uint64_t retry_rand_splitmix(void *state);

/* The ceiling min(cap, base * 2^attempt) in ms, without overflow. */
uint64_t retry_ceiling_ms(const struct retry_policy *p, int attempt);

/* The delay in ms before retry number attempt (0 = the first retry). */
uint64_t retry_delay_ms(const struct retry_policy *p, int attempt, retry_rand_fn rnd,
			void *rnd_state);

/* 1 when retry number attempt (0-based) is still allowed by the policy. */
int retry_allowed(const struct retry_policy *p, int attempt);

#endif
