/*
 * monoclock.h: the one monotonic clock every timeout, TTL, deadline and rate
 * in the project reads (CLOCK_MONOTONIC: a wall-clock step must neither
 * stretch nor cut them). Two shapes of the same reading: whole milliseconds
 * for deadlines and expiries, seconds as a double for TTL comparisons and
 * rates. Thread-safe (no state).
 */
#ifndef MONOCLOCK_H
#define MONOCLOCK_H
#include <stdint.h>

uint64_t mono_ms(void);
double mono_s(void);

#endif
