/*
 * budget.h: the one global memory budget of the daemon. Every read-cache
 * block, prefetch buffer and upload part buffer is charged here before it is
 * allocated and credited after it is freed, so the sum of those buffers never
 * passes the budget: at the limit, prefetch shrinks (budget_try_acquire fails)
 * and writers wait (budget_acquire blocks) instead of allocating.
 *
 * Thread-safe (one mutex and condition variable). Sizes in bytes.
 * budget_acquire() blocks until the bytes are free; it returns -EFBIG at once
 * for a request larger than the whole budget, which could never be served.
 * A reclaim callback, if set, is called (without the lock held) when a
 * blocking acquire cannot be served, so the read cache can drop clean blocks;
 * a blocked acquire calls it again every 20 ms, because memory may become
 * droppable without any release (a block nobody is copying from any more).
 * While a blocking acquire waits, budget_try_acquire() fails, so prefetch
 * cannot take the freed bytes first and starve a writer.
 */
#ifndef BUDGET_H
#define BUDGET_H
#include <stddef.h>
#include <stdint.h>

struct budget;

/* reclaim(arg, want) frees up to want bytes of droppable memory (calling
 * budget_release for them) and returns how many bytes it released. */
typedef size_t (*budget_reclaim_fn)(void *arg, size_t want);

int budget_new(size_t limit, struct budget **out);
void budget_free(struct budget *b);
void budget_set_reclaim(struct budget *b, budget_reclaim_fn fn, void *arg);

/* Non-blocking: 0 and the bytes are charged, or -ENOMEM when they would not fit. */
int budget_try_acquire(struct budget *b, size_t n);
/* Blocking: waits (calling the reclaim callback first) until n bytes fit. */
int budget_acquire(struct budget *b, size_t n);
void budget_release(struct budget *b, size_t n);

size_t budget_limit(const struct budget *b);
size_t budget_used(struct budget *b);
/* Highest value budget_used() has had (for the tests and the summary). */
size_t budget_peak(struct budget *b);

#endif
