/*
 * outage.c: when S3 is out of reach, and the one log line at each end of it
 * (outage.h).
 */
#include "outage.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "monoclock.h"

void outage_init(struct outage *o, struct s3_client *s3)
{
	memset(o, 0, sizeof(*o));
	o->s3 = s3;
	pthread_mutex_init(&o->lock, NULL);
	mono_cond_init(&o->cond);
}

void outage_release(struct outage *o)
{
	pthread_mutex_lock(&o->lock);
	o->stopping = 1;
	pthread_cond_broadcast(&o->cond);
	int started = o->prober_started;
	o->prober_started = 0;
	pthread_mutex_unlock(&o->lock);
	if (started)
		pthread_join(o->prober, NULL);
	pthread_cond_destroy(&o->cond);
	pthread_mutex_destroy(&o->lock);
}

/* Ends the outage (logged) if one is on. Called with the lock held. */
static void outage_end_locked(struct outage *o, double now)
{
	if (!o->active)
		return;
	o->active = 0;
	log_warn("S3 answers again after %.1f s out of reach (%s); %" PRIu64
		 " metadata answers came from the last known state meanwhile",
		 now - o->since, o->cause, o->stale);
}

/* Asks S3 every OUTAGE_PROBE_S until it answers (or the mount ends). */
static void *outage_prober(void *arg)
{
	struct outage *o = arg;
	pthread_mutex_lock(&o->lock);
	while (o->active && !o->stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)OUTAGE_PROBE_S;
		(void)pthread_cond_timedwait(&o->cond, &o->lock, &ts);
		if (!o->active || o->stopping)
			break;
		pthread_mutex_unlock(&o->lock);
		int rc = s3_bucket_check(o->s3);
		pthread_mutex_lock(&o->lock);
		if (!rc)
			outage_end_locked(o, mono_s());
	}
	o->prober_alive = 0;
	pthread_mutex_unlock(&o->lock);
	return NULL;
}

int outage_unreachable(int err)
{
	return err == -EIO || err == -ETIMEDOUT || err == -ECONNREFUSED || err == -EHOSTUNREACH ||
	       err == -ENETUNREACH || err == -ECONNRESET;
}

int outage_skip(struct outage *o)
{
	pthread_mutex_lock(&o->lock);
	int skip = o->active;
	pthread_mutex_unlock(&o->lock);
	return skip;
}

void outage_result(struct outage *o, int err, const char *what, const char *key, double now)
{
	pthread_mutex_lock(&o->lock);
	if (!err) {
		outage_end_locked(o, now);
	} else if (!o->active && !o->stopping && outage_unreachable(err)) {
		o->active = 1;
		o->since = now;
		o->stale = 0;
		o->outages++;
		snprintf(o->cause, sizeof(o->cause), "%s of %s: %s", what, LOG_KEY(key),
			 strerror(-err));
		log_warn("S3 out of reach (%s): lookups, stat and listings answer from the last "
			 "known state until it answers again; names never seen get EIO",
			 o->cause);
		/* A prober still alive (the last outage ended by another
		 * request while it waited) probes for this one too; one that
		 * has returned (or only has its return left: it cleared
		 * prober_alive under the lock) is joined at once. */
		if (!o->prober_alive) {
			if (o->prober_started)
				pthread_join(o->prober, NULL);
			o->prober_started = 0;
			if (pthread_create(&o->prober, NULL, outage_prober, o) == 0)
				o->prober_started = o->prober_alive = 1;
		}
	}
	pthread_mutex_unlock(&o->lock);
}

void outage_stale(struct outage *o)
{
	pthread_mutex_lock(&o->lock);
	o->stale++;
	o->stale_total++;
	pthread_mutex_unlock(&o->lock);
}
