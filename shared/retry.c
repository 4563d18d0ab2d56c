/* retry.c: see retry.h. */
#include "retry.h"

uint64_t retry_rand_splitmix(void *state)
{
	uint64_t *s = state;
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t retry_ceiling_ms(const struct retry_policy *p, int attempt)
{
	uint64_t base = p->base_ms ? p->base_ms : RETRY_DEFAULT_BASE_MS;
	uint64_t cap = p->cap_ms ? p->cap_ms : RETRY_DEFAULT_CAP_MS;
	if (attempt < 0)
		attempt = 0;
	/* base < 2^32, so shifting by up to 31 cannot overflow 64 bits; past
	 * that the ceiling is the cap anyway. */
	if (attempt > 31)
		return cap;
	uint64_t c = base << attempt;
	return c < cap ? c : cap;
}

uint64_t retry_delay_ms(const struct retry_policy *p, int attempt, retry_rand_fn rnd,
			void *rnd_state)
{
	uint64_t ceil = retry_ceiling_ms(p, attempt);
	/* Uniform in [0, ceil]; the modulo bias over 2^64 is negligible. */
	return rnd(rnd_state) % (ceil + 1);
}

int retry_allowed(const struct retry_policy *p, int attempt)
{
	return p->max_retries >= 0 && attempt < p->max_retries;
}
