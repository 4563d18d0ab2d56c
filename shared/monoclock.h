/*
 * monoclock.h: the one monotonic clock every timeout, TTL, deadline and rate
 * in the project reads (CLOCK_MONOTONIC: a wall-clock step must neither
 * stretch nor cut them). Two shapes of the same reading: whole milliseconds
 * for deadlines and expiries, seconds as a double for TTL comparisons and
 * rates; and condition variables whose timed waits use it. Thread-safe (no
 * state).
 */
#ifndef MONOCLOCK_H
#define MONOCLOCK_H
#include <pthread.h>
#include <stdint.h>

uint64_t mono_ms(void);
double mono_s(void);
/* A condition variable whose timed waits read this clock (their deadlines
 * are mono_ms() based): pthread_cond_init with CLOCK_MONOTONIC. */
void mono_cond_init(pthread_cond_t *c);

#endif
