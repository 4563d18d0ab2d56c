/*
 * test_retry.c: full-jitter exponential backoff. Ceilings double from base up
 * to cap; a pinned random source gives exact delays; the default source stays
 * within the ceiling and actually spreads (mean near half the ceiling).
 */
#include <stdint.h>

#include "retry.h"
#include "t.h"

static uint64_t fixed_rand(void *state)
{
	return *(uint64_t *)state;
}

static void test_ceilings(void)
{
	struct retry_policy p = {100, 2000, 5};
	CHECK_INT(retry_ceiling_ms(&p, 0), 100);
	CHECK_INT(retry_ceiling_ms(&p, 1), 200);
	CHECK_INT(retry_ceiling_ms(&p, 4), 1600);
	CHECK_INT(retry_ceiling_ms(&p, 5), 2000);
	CHECK_INT(retry_ceiling_ms(&p, 31), 2000);
	CHECK_INT(retry_ceiling_ms(&p, 1000), 2000);
	CHECK_INT(retry_ceiling_ms(&p, -3), 100);
	struct retry_policy big = {UINT32_MAX, UINT32_MAX, 1};
	CHECK_INT(retry_ceiling_ms(&big, 40), UINT32_MAX);
	struct retry_policy def = {0, 0, 0};
	CHECK_INT(retry_ceiling_ms(&def, 0), RETRY_DEFAULT_BASE_MS);
	CHECK_INT(retry_ceiling_ms(&def, 30), RETRY_DEFAULT_CAP_MS);
}

static void test_pinned_random(void)
{
	struct retry_policy p = {100, 2000, 5};
	uint64_t r = 0;
	CHECK_INT(retry_delay_ms(&p, 3, fixed_rand, &r), 0);
	r = 800;
	CHECK_INT(retry_delay_ms(&p, 3, fixed_rand, &r), 800); /* ceiling 800 inclusive */
	r = 801;
	CHECK_INT(retry_delay_ms(&p, 3, fixed_rand, &r), 0);
	r = UINT64_MAX;
	CHECK(retry_delay_ms(&p, 10, fixed_rand, &r) <= 2000);
}

static void test_default_source(void)
{
	struct retry_policy p = {50, 5000, 6};
	uint64_t st = 42;
	for (int a = 0; a < 12; a++) {
		uint64_t ceil = retry_ceiling_ms(&p, a), sum = 0, max = 0;
		for (int i = 0; i < 4000; i++) {
			uint64_t d = retry_delay_ms(&p, a, retry_rand_splitmix, &st);
			CHECK(d <= ceil);
			sum += d;
			if (d > max)
				max = d;
		}
		double mean = (double)sum / 4000.0;
		CHECK(mean > ceil * 0.45 && mean < ceil * 0.55);
		CHECK(max >= ceil * 9 / 10);
	}
	/* Two seeds give different sequences (threads must not retry in step). */
	uint64_t s1 = 1, s2 = 2;
	int same = 0;
	for (int i = 0; i < 100; i++)
		same += retry_rand_splitmix(&s1) == retry_rand_splitmix(&s2);
	CHECK(same < 2);
}

static void test_allowed(void)
{
	struct retry_policy p = {50, 5000, 3};
	CHECK(retry_allowed(&p, 0));
	CHECK(retry_allowed(&p, 2));
	CHECK(!retry_allowed(&p, 3));
	struct retry_policy none = {50, 5000, -1};
	CHECK(!retry_allowed(&none, 0));
	struct retry_policy zero = {50, 5000, 0};
	CHECK(!retry_allowed(&zero, 0));
}

int main(void)
{
	T_RUN(test_ceilings);
	T_RUN(test_pinned_random);
	T_RUN(test_default_source);
	T_RUN(test_allowed);
	return T_DONE();
}
