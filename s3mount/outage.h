/*
 * outage.h: stale-if-error for metadata. While S3 cannot be reached, lookup,
 * getattr and readdir answer from what the mount last knew (the inode table's
 * attributes and the last complete listing of a directory) instead of failing
 * every `ls` of a long job; a name never seen still gets EIO, never ENOENT.
 *
 * An outage starts at the first metadata request that fails with an error
 * meaning "S3 did not answer" (outage_unreachable: -EIO, -ETIMEDOUT, after
 * the client's own retries) and ends at the next one that succeeds: one log
 * line each, the end line with the outage's length and how many answers were
 * stale. During an outage a request that can be answered from what is known
 * does not ask S3 at all (every stat of an `ls -l` would wait out its
 * retries); a prober thread asks instead (HEAD of the bucket, every
 * OUTAGE_PROBE_S seconds) and ends the outage when S3 answers. Requests
 * with no stale answer (a name never seen, data) still ask S3 themselves.
 *
 * Ownership: embedded in struct fs (outage_init/outage_release).
 * Thread-safety: all calls lock internally.
 */
#ifndef OUTAGE_H
#define OUTAGE_H
#include <pthread.h>
#include <stdint.h>

#include "log.h"

#include "s3.h"

#define OUTAGE_PROBE_S 1.0 /* the prober asks S3 this often */

struct outage {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* wakes the prober early: stopping */
	struct s3_client *s3;
	pthread_t prober;
	int prober_started; /* joinable */
	int prober_alive;   /* still looping (it clears this as it returns) */
	int stopping;
	int active;
	double since;	/* monotonic s the outage began */
	uint64_t stale; /* answers from the last known state, this outage */
	uint64_t stale_total, outages;
	char cause[LOG_KEY_BUF + 64]; /* what failed first, for the log */
};

/* s3: lent, for the prober's requests. */
void outage_init(struct outage *o, struct s3_client *s3);
/* Stops the prober (waits for its request in flight, if any). */
void outage_release(struct outage *o);

/* 1 when err means S3 did not answer (not: it answered no). Pure. */
int outage_unreachable(int err);

/* 1 when a request that has a stale answer should not ask S3: an outage is
 * on. */
int outage_skip(struct outage *o);

/* The request asked S3 and got err (0 = an answer). Starts or ends the
 * outage (logged once each); what/key name the request for the log. */
void outage_result(struct outage *o, int err, const char *what, const char *key, double now);

/* An answer was served from the last known state. */
void outage_stale(struct outage *o);

#endif
