/*
 * progress.c: status line thread and summary (see progress.h).
 */
#include "progress.h"
#include "monoclock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* 1234567 -> "1,234,567" */
static void commas(uint64_t v, char *out, size_t cap)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
	size_t j = 0;

	for (int i = 0; i < n && j + 1 < cap; i++) {
		if (i > 0 && (n - i) % 3 == 0 && j + 2 < cap)
			out[j++] = ',';
		out[j++] = tmp[i];
	}
	out[j] = '\0';
}

static void human(uint64_t b, char *out, size_t cap)
{
	if (b >= 1000000000ull)
		snprintf(out, cap, "%.2f GB", (double)b / 1e9);
	else if (b >= 1000000ull)
		snprintf(out, cap, "%.1f MB", (double)b / 1e6);
	else
		snprintf(out, cap, "%.1f kB", (double)b / 1e3);
}

static uint64_t ld(const _Atomic uint64_t *a)
{
	return atomic_load_explicit(a, memory_order_relaxed);
}

static void draw(struct progress *p)
{
	const struct pipeline_stats *st = p->st;
	double dt = mono_s() - p->t0;
	uint64_t in = ld(&st->bytes_in), data = ld(&st->bytes_data);
	char rec[32], mat[32], hin[32], htot[32], eta[32], line[256];
	double mbps = dt > 0 ? (double)data / 1e6 / dt : 0;

	commas(ld(&st->records), rec, sizeof(rec));
	commas(ld(&st->matched), mat, sizeof(mat));
	human(in, hin, sizeof(hin));
	human(p->bytes_total, htot, sizeof(htot));
	eta[0] = '\0';
	if (p->bytes_total && in > 0 && in <= p->bytes_total) {
		double left = dt * (double)(p->bytes_total - in) / (double)in;
		unsigned s = (unsigned)left;

		snprintf(eta, sizeof(eta), ", ETA %u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
	}
	snprintf(line, sizeof(line),
		 "\rfiles %llu/%llu, %s/%s read, %s records, %s matched, %.0f MB/s%s\033[K",
		 (unsigned long long)ld(&st->files_done), (unsigned long long)p->files_total, hin,
		 p->bytes_total ? htot : "?", rec, mat, mbps, eta);
	if (write(STDERR_FILENO, line, strlen(line)) < 0) {
		/* a status line that cannot be shown is not an error */
	}
}

static void *progress_main(void *arg)
{
	struct progress *p = arg;

	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 500000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (pthread_cond_timedwait(&p->cv, &p->mu, &ts) == ETIMEDOUT && !p->stop) {
			pthread_mutex_unlock(&p->mu);
			draw(p);
			pthread_mutex_lock(&p->mu);
		}
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int progress_start(struct progress *p, const struct pipeline_stats *st, uint64_t files_total,
		   uint64_t bytes_total, double t0)
{
	int rc;

	memset(p, 0, sizeof(*p));
	p->st = st;
	p->files_total = files_total;
	p->bytes_total = bytes_total;
	p->t0 = t0;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	rc = pthread_create(&p->tid, NULL, progress_main, p);
	if (rc)
		return -rc;
	p->running = 1;
	return 0;
}

void progress_stop(struct progress *p)
{
	static const char clear[] = "\r\033[K";

	if (!p->running)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->tid, NULL);
	p->running = 0;
	if (write(STDERR_FILENO, clear, sizeof(clear) - 1) < 0) {
		/* nothing to do */
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
}

void progress_summary(const struct pipeline_stats *st, uint64_t files_total, double seconds,
		      char *out, size_t cap)
{
	char rec[32], mat[32], bad[32], hdata[32], hin[32], failed[48] = "", extra[224] = "";
	uint64_t data = ld(&st->bytes_data);
	uint64_t nfail = ld(&st->files_failed), nbad = ld(&st->bad), nlong = ld(&st->too_long);

	commas(ld(&st->records), rec, sizeof(rec));
	commas(ld(&st->matched), mat, sizeof(mat));
	commas(nbad, bad, sizeof(bad));
	human(data, hdata, sizeof(hdata));
	human(ld(&st->bytes_in), hin, sizeof(hin));
	if (nfail)
		snprintf(failed, sizeof(failed), " (%llu failed)", (unsigned long long)nfail);
	if (nlong)
		snprintf(extra, sizeof(extra), ", %llu over-long lines", (unsigned long long)nlong);
	if (ld(&st->skipped)) {
		char sk[32];
		size_t el = strlen(extra);

		commas(ld(&st->skipped), sk, sizeof(sk));
		snprintf(extra + el, sizeof(extra) - el,
			 ", %s lines skipped unvalidated (prefilter)", sk);
	}
	if (ld(&st->files_retried)) {
		size_t el = strlen(extra);

		snprintf(extra + el, sizeof(extra) - el, ", %llu inputs retried (%llu retries)",
			 (unsigned long long)ld(&st->files_retried),
			 (unsigned long long)ld(&st->retries));
	}
	snprintf(out, cap,
		 "filter: %llu/%llu files%s, %s scanned (%s read), %s records, %s rows, "
		 "%s bad records%s, %.2f s, %.0f MB/s%s",
		 (unsigned long long)ld(&st->files_done), (unsigned long long)files_total, failed,
		 hdata, hin, rec, mat, bad, extra, seconds,
		 seconds > 0 ? (double)data / 1e6 / seconds : 0.0,
		 st->stopped ? " (stopped by --strict)" : "");
}
