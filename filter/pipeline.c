/*
 * pipeline.c: workers + inflater threads + ordered writer (see pipeline.h).
 *
 * Locks: each worker's ring has its own mutex (inflater <-> worker); the
 * ordered output queue has one mutex (workers <-> writer). No thread holds
 * both, and no lock is held across read(2), inflate, scanning or write(2).
 */
#include "pipeline.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lines.h"
#include "log.h"

#define CHUNK_TARGET (1u << 20) /* rows are handed to the writer in ~1 MiB chunks */
#define POOL_MAX 8              /* idle chunks kept for reuse */

/* ---- ordered output queue ---- */

struct chunk {
	struct chunk *next;
	struct buf b;
};

struct slotq { /* rows of one file waiting for the writer */
	struct chunk *first, *last;
	size_t bytes;
	int done; /* the file's worker will push nothing more */
};

struct outq {
	pthread_mutex_t mu;
	pthread_cond_t cv_writer; /* something to write / head advanced */
	pthread_cond_t cv_space;  /* buffered bytes dropped / head moved */
	struct slotq *q;          /* one per file */
	size_t n;
	size_t head;     /* file being written */
	size_t buffered; /* bytes in all queues */
	size_t cap;
	struct chunk *pool;
	size_t pool_n;
	size_t chunk_cap; /* cap_max of a chunk's buf */
};

struct pipe {
	const struct pipe_cfg *cfg;
	struct pipe_stats *st;
	struct outq oq;
	atomic_size_t next_file;
	atomic_size_t stop_idx; /* files with a larger index are not processed */
	atomic_int abort_all;   /* output failed: everyone stops */
	pthread_mutex_t err_mu; /* first internal error */
};

/* ---- per-worker ring between inflater and scanner ---- */

struct rslot {
	char *data;
	size_t len;
	int status; /* 0 more follows, GZIN_EOF, or negative errno: last slot */
};

struct ring {
	pthread_mutex_t mu;
	pthread_cond_t cv_full;  /* a slot was published */
	pthread_cond_t cv_empty; /* a slot was released */
	struct rslot *s;
	size_t n, size;
	size_t rd, wr, count; /* consumer index, producer index, published slots */
	int cancel;
};

struct worker {
	struct pipe *p;
	pthread_t tid;
	struct ring ring;
	struct lines lines;
	struct job_worker jw;
	struct gzin *gz; /* the current file's stream (inflater thread uses it) */
	size_t idx;      /* current file */
	const char *path;
	struct chunk *cur; /* rows being gathered */
	uint64_t n_rec, n_match; /* since the last flush into st */
	int stop;                /* strict stop or output abort seen */
	int gz_err;              /* the stream's final status */
};

static void set_internal(struct pipe *p, int err)
{
	pthread_mutex_lock(&p->err_mu);
	if (!p->st->internal_err)
		p->st->internal_err = err;
	pthread_mutex_unlock(&p->err_mu);
	atomic_store(&p->abort_all, 1);
}

/* --strict: stop everything after file idx. */
static void strict_stop(struct pipe *p, size_t idx)
{
	size_t cur = atomic_load(&p->stop_idx);

	while (idx < cur && !atomic_compare_exchange_weak(&p->stop_idx, &cur, idx))
		;
	pthread_mutex_lock(&p->err_mu);
	p->st->stopped = 1;
	pthread_mutex_unlock(&p->err_mu);
	pthread_mutex_lock(&p->oq.mu);
	pthread_cond_broadcast(&p->oq.cv_writer);
	pthread_cond_broadcast(&p->oq.cv_space);
	pthread_mutex_unlock(&p->oq.mu);
}

static int cancelled(struct pipe *p, size_t idx)
{
	return atomic_load_explicit(&p->abort_all, memory_order_relaxed) ||
	       idx > atomic_load_explicit(&p->stop_idx, memory_order_relaxed);
}

static struct chunk *chunk_get(struct outq *oq)
{
	struct chunk *c;

	pthread_mutex_lock(&oq->mu);
	c = oq->pool;
	if (c) {
		oq->pool = c->next;
		oq->pool_n--;
	}
	pthread_mutex_unlock(&oq->mu);
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
		buf_init(&c->b, oq->chunk_cap);
	}
	c->next = NULL;
	buf_reset(&c->b);
	return c;
}

/* Under oq->mu. Keeps a few chunks of normal size for reuse. */
static void chunk_put_locked(struct outq *oq, struct chunk *c)
{
	if (oq->pool_n < POOL_MAX && c->b.alloc <= 4 * CHUNK_TARGET) {
		c->next = oq->pool;
		oq->pool = c;
		oq->pool_n++;
		return;
	}
	buf_release(&c->b);
	free(c);
}

/* Hands a worker's chunk to the queue of file idx; may block (bounded
 * buffering). -ECANCELED when the run stopped meanwhile. */
static int outq_push(struct pipe *p, size_t idx, struct chunk *c)
{
	struct outq *oq = &p->oq;
	struct slotq *s = &oq->q[idx];
	int rc = 0;

	pthread_mutex_lock(&oq->mu);
	for (;;) {
		if (cancelled(p, idx)) {
			rc = -ECANCELED;
			break;
		}
		if (idx == oq->head ? s->bytes <= oq->cap / 2 : oq->buffered <= oq->cap)
			break;
		pthread_cond_wait(&oq->cv_space, &oq->mu);
	}
	if (rc == 0) {
		c->next = NULL;
		if (s->last)
			s->last->next = c;
		else
			s->first = c;
		s->last = c;
		s->bytes += c->b.len;
		oq->buffered += c->b.len;
		if (idx == oq->head)
			pthread_cond_signal(&oq->cv_writer);
	} else {
		chunk_put_locked(oq, c);
	}
	pthread_mutex_unlock(&oq->mu);
	return rc;
}

static void outq_done(struct pipe *p, size_t idx)
{
	struct outq *oq = &p->oq;

	pthread_mutex_lock(&oq->mu);
	oq->q[idx].done = 1;
	if (idx == oq->head)
		pthread_cond_signal(&oq->cv_writer);
	pthread_mutex_unlock(&oq->mu);
}

static void *writer_main(void *arg)
{
	struct pipe *p = arg;
	struct outq *oq = &p->oq;

	pthread_mutex_lock(&oq->mu);
	while (oq->head < oq->n && !atomic_load(&p->abort_all) &&
	       oq->head <= atomic_load(&p->stop_idx)) {
		struct slotq *s = &oq->q[oq->head];
		struct chunk *c = s->first;

		if (c) {
			int rc;

			s->first = c->next;
			if (!s->first)
				s->last = NULL;
			pthread_mutex_unlock(&oq->mu);
			rc = output_write(p->cfg->out, c->b.ptr, c->b.len);
			pthread_mutex_lock(&oq->mu);
			s->bytes -= c->b.len;
			oq->buffered -= c->b.len;
			chunk_put_locked(oq, c);
			if (rc < 0) {
				p->st->out_err = rc;
				atomic_store(&p->abort_all, 1);
			}
			pthread_cond_broadcast(&oq->cv_space);
		} else if (s->done) {
			oq->head++;
			pthread_cond_broadcast(&oq->cv_space);
		} else {
			pthread_cond_wait(&oq->cv_writer, &oq->mu);
		}
	}
	/* Wake workers blocked on space: nothing more will be written. */
	atomic_store(&p->abort_all, atomic_load(&p->abort_all) || oq->head < oq->n);
	pthread_cond_broadcast(&oq->cv_space);
	pthread_mutex_unlock(&oq->mu);
	return NULL;
}

/* ---- ring ---- */

static int ring_init(struct ring *r, size_t n, size_t size)
{
	memset(r, 0, sizeof(*r));
	r->s = calloc(n, sizeof(*r->s));
	if (!r->s)
		return -ENOMEM;
	r->n = n;
	r->size = size;
	for (size_t i = 0; i < n; i++) {
		r->s[i].data = malloc(size);
		if (!r->s[i].data)
			return -ENOMEM;
	}
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv_full, NULL);
	pthread_cond_init(&r->cv_empty, NULL);
	return 0;
}

static void ring_release(struct ring *r)
{
	if (!r->s)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->s[i].data);
	free(r->s);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv_full);
	pthread_cond_destroy(&r->cv_empty);
	r->s = NULL;
}

static void ring_reset(struct ring *r)
{
	r->rd = r->wr = r->count = 0;
	r->cancel = 0;
}

/* ---- inflater thread ---- */

static void *inflater_main(void *arg)
{
	struct worker *w = arg;
	struct ring *r = &w->ring;
	struct pipe_stats *st = w->p->st;
	uint64_t seen = 0;

	for (;;) {
		struct rslot *s;
		struct gzin_out o;
		int rc = 0;
		uint64_t in;

		pthread_mutex_lock(&r->mu);
		while (r->count == r->n && !r->cancel)
			pthread_cond_wait(&r->cv_empty, &r->mu);
		if (r->cancel) {
			pthread_mutex_unlock(&r->mu);
			break;
		}
		s = &r->s[r->wr];
		pthread_mutex_unlock(&r->mu);

		o.dst = s->data;
		o.size = r->size;
		o.pos = 0;
		while (o.pos < o.size && rc == 0)
			rc = gzin_read(w->gz, &o);
		in = gzin_bytes_in(w->gz);
		atomic_fetch_add_explicit(&st->bytes_in, in - seen, memory_order_relaxed);
		seen = in;
		s->len = o.pos;
		s->status = rc;

		pthread_mutex_lock(&r->mu);
		r->wr = (r->wr + 1) % r->n;
		r->count++;
		pthread_cond_signal(&r->cv_full);
		pthread_mutex_unlock(&r->mu);
		if (rc != 0)
			break;
	}
	return NULL;
}

/* ---- the worker's scanning side ---- */

static int report_budget(struct worker *w)
{
	return atomic_fetch_add(&w->p->st->reported, 1) < w->p->cfg->max_errors;
}

static int push_cur(struct worker *w)
{
	int rc;

	if (!w->cur || w->cur->b.len == 0)
		return 0;
	rc = outq_push(w->p, w->idx, w->cur); /* consumes the chunk */
	w->cur = chunk_get(&w->p->oq);
	if (!w->cur)
		return -ENOMEM;
	return rc;
}

static int on_line(void *ctx, const char *line, size_t len, uint64_t lineno)
{
	struct worker *w = ctx;
	struct scan_result res;
	int rc;

	memset(&res, 0, sizeof(res));
	rc = job_record(&w->jw, line, len, &w->cur->b, &res);
	if (rc == 1) {
		w->n_rec++;
		w->n_match++;
		if (w->cur->b.len >= CHUNK_TARGET) {
			rc = push_cur(w);
			if (rc == -ENOMEM)
				set_internal(w->p, rc);
			if (rc < 0) {
				w->stop = 1;
				return 1;
			}
		}
		return 0;
	}
	if (rc == 0) {
		if (len && !job_is_blank(line, len))
			w->n_rec++;
		return 0;
	}
	w->n_rec++;
	atomic_fetch_add_explicit(&w->p->st->bad, 1, memory_order_relaxed);
	if (report_budget(w)) {
		if (rc == -EINVAL)
			log_error("%s:%llu: bad record: %s at column %zu", w->path,
				  (unsigned long long)lineno,
				  res.err_reason ? res.err_reason : "invalid", res.err_off + 1);
		else
			log_error("%s:%llu: record skipped: its row cannot be formatted (%s)",
				  w->path, (unsigned long long)lineno, strerror(-rc));
	}
	if (w->p->cfg->strict) {
		strict_stop(w->p, w->idx);
		w->stop = 1;
		return 1;
	}
	return 0;
}

static int on_too_long(void *ctx, uint64_t lineno, size_t max_line)
{
	struct worker *w = ctx;

	atomic_fetch_add_explicit(&w->p->st->too_long, 1, memory_order_relaxed);
	if (report_budget(w))
		log_error("%s:%llu: line longer than --max-line (%zu bytes): skipped", w->path,
			  (unsigned long long)lineno, max_line);
	if (w->p->cfg->strict) {
		strict_stop(w->p, w->idx);
		w->stop = 1;
		return 1;
	}
	return 0;
}

static void flush_counts(struct worker *w)
{
	struct pipe_stats *st = w->p->st;

	atomic_fetch_add_explicit(&st->records, w->n_rec, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->matched, w->n_match, memory_order_relaxed);
	w->n_rec = w->n_match = 0;
}

static void file_failed(struct worker *w)
{
	atomic_fetch_add_explicit(&w->p->st->files_failed, 1, memory_order_relaxed);
	if (w->p->cfg->strict)
		strict_stop(w->p, w->idx);
}

/* Consumes the ring until the inflater's last slot. */
static void consume(struct worker *w)
{
	struct ring *r = &w->ring;
	const struct lines_sink sink = {on_line, on_too_long, w};
	struct pipe_stats *st = w->p->st;

	for (;;) {
		struct rslot *s;
		int status;

		pthread_mutex_lock(&r->mu);
		while (r->count == 0)
			pthread_cond_wait(&r->cv_full, &r->mu);
		s = &r->s[r->rd];
		pthread_mutex_unlock(&r->mu);

		status = s->status;
		if (!w->stop && s->len) {
			atomic_fetch_add_explicit(&st->bytes_data, s->len, memory_order_relaxed);
			lines_feed(&w->lines, s->data, s->len, &sink);
			flush_counts(w);
		}
		pthread_mutex_lock(&r->mu);
		r->rd = (r->rd + 1) % r->n;
		r->count--;
		if (!w->stop && cancelled(w->p, w->idx))
			w->stop = 1;
		if (w->stop)
			r->cancel = 1; /* the inflater stops at its next slot */
		pthread_cond_signal(&r->cv_empty);
		pthread_mutex_unlock(&r->mu);
		if (status != 0) {
			w->gz_err = status == GZIN_EOF ? 0 : status;
			return;
		}
		if (w->stop) {
			w->gz_err = 0;
			return;
		}
	}
}

static void process_file(struct worker *w, size_t idx)
{
	struct pipe *p = w->p;
	const struct walk_file *f = &p->cfg->files->v[idx];
	pthread_t inf;
	int rc;

	w->idx = idx;
	w->path = strcmp(f->path, "-") == 0 ? "<stdin>" : f->path;
	w->stop = 0;
	w->gz_err = 0;
	rc = gzin_open(&w->gz, f->path, &p->cfg->gz);
	if (rc < 0) {
		log_error("%s: cannot open: %s (skipped)", w->path, strerror(-rc));
		file_failed(w);
		goto done;
	}
	ring_reset(&w->ring);
	lines_discard(&w->lines);
	w->lines.lineno = 1;
	rc = pthread_create(&inf, NULL, inflater_main, w);
	if (rc) {
		set_internal(p, -rc);
		goto done;
	}
	consume(w);
	pthread_join(inf, NULL);
	if (w->stop) {
		/* strict stop or abort: the partial line is not a record */
		lines_discard(&w->lines);
	} else if (w->gz_err == 0) {
		const struct lines_sink sink = {on_line, on_too_long, w};

		lines_finish(&w->lines, &sink);
		flush_counts(w);
	} else {
		size_t pending = lines_pending(&w->lines);

		lines_discard(&w->lines);
		if (pending)
			log_error("%s:%llu: %s; the incomplete last line (%zu bytes) was discarded",
				  w->path, (unsigned long long)w->lines.lineno,
				  gzin_errmsg(w->gz), pending);
		else
			log_error("%s:%llu: %s (after %llu complete lines)", w->path,
				  (unsigned long long)w->lines.lineno, gzin_errmsg(w->gz),
				  (unsigned long long)(w->lines.lineno - 1));
		file_failed(w);
	}
done:
	gzin_free(w->gz);
	w->gz = NULL;
	if (push_cur(w) == -ENOMEM)
		set_internal(p, -ENOMEM);
	outq_done(p, idx);
	atomic_fetch_add_explicit(&p->st->files_done, 1, memory_order_relaxed);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct pipe *p = w->p;

	for (;;) {
		size_t idx = atomic_fetch_add(&p->next_file, 1);

		if (idx >= p->oq.n)
			break;
		if (cancelled(p, idx)) {
			outq_done(p, idx);
			continue;
		}
		process_file(w, idx);
	}
	return NULL;
}

void pipe_stats_init(struct pipe_stats *s)
{
	memset(s, 0, sizeof(*s));
}

static int worker_init(struct worker *w, struct pipe *p)
{
	const struct pipe_cfg *c = p->cfg;
	int rc;

	memset(w, 0, sizeof(*w));
	w->p = p;
	rc = ring_init(&w->ring, c->ring_n ? c->ring_n : 4, c->ring_size ? c->ring_size : 1u << 20);
	if (rc < 0)
		return rc;
	lines_init(&w->lines, c->max_line);
	rc = job_worker_init(&w->jw, c->job);
	if (rc < 0)
		return rc;
	w->cur = chunk_get(&p->oq);
	return w->cur ? 0 : -ENOMEM;
}

static void worker_release(struct worker *w)
{
	struct outq *oq = &w->p->oq;

	if (w->cur) {
		pthread_mutex_lock(&oq->mu);
		chunk_put_locked(oq, w->cur);
		pthread_mutex_unlock(&oq->mu);
		w->cur = NULL;
	}
	job_worker_release(&w->jw);
	lines_release(&w->lines);
	ring_release(&w->ring);
}

int pipe_run(const struct pipe_cfg *cfg, struct pipe_stats *st)
{
	struct pipe p;
	struct worker *ws = NULL;
	pthread_t writer;
	size_t nw = cfg->jobs ? cfg->jobs : 1, started = 0;
	int rc = 0, writer_up = 0;

	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.st = st;
	atomic_init(&p.next_file, 0);
	atomic_init(&p.stop_idx, SIZE_MAX);
	atomic_init(&p.abort_all, 0);
	pthread_mutex_init(&p.err_mu, NULL);
	pthread_mutex_init(&p.oq.mu, NULL);
	pthread_cond_init(&p.oq.cv_writer, NULL);
	pthread_cond_init(&p.oq.cv_space, NULL);
	p.oq.n = cfg->files->n;
	p.oq.cap = cfg->out_cap ? cfg->out_cap : 8u << 20;
	p.oq.chunk_cap = CHUNK_TARGET + 8 * cfg->max_line + 4096;
	p.oq.q = calloc(p.oq.n ? p.oq.n : 1, sizeof(*p.oq.q));
	if (nw > p.oq.n)
		nw = p.oq.n ? p.oq.n : 1;
	ws = calloc(nw, sizeof(*ws));
	if (!p.oq.q || !ws) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nw; i++) {
		rc = worker_init(&ws[i], &p);
		if (rc < 0)
			goto out;
	}
	rc = pthread_create(&writer, NULL, writer_main, &p);
	if (rc) {
		rc = -rc;
		goto out;
	}
	writer_up = 1;
	for (; started < nw; started++) {
		rc = pthread_create(&ws[started].tid, NULL, worker_main, &ws[started]);
		if (rc) {
			rc = -rc;
			set_internal(&p, rc);
			break;
		}
	}
	for (size_t i = 0; i < started; i++)
		pthread_join(ws[i].tid, NULL);
out:
	if (rc < 0 && !st->internal_err)
		st->internal_err = rc;
	if (writer_up) {
		if (started < nw || rc < 0) {
			atomic_store(&p.abort_all, 1);
			pthread_mutex_lock(&p.oq.mu);
			pthread_cond_broadcast(&p.oq.cv_writer);
			pthread_mutex_unlock(&p.oq.mu);
		}
		pthread_join(writer, NULL);
	}
	for (size_t i = 0; ws && i < nw; i++)
		if (ws[i].p)
			worker_release(&ws[i]);
	free(ws);
	for (size_t i = 0; p.oq.q && i < p.oq.n; i++) {
		struct chunk *c = p.oq.q[i].first;

		while (c) {
			struct chunk *nx = c->next;

			buf_release(&c->b);
			free(c);
			c = nx;
		}
	}
	while (p.oq.pool) {
		struct chunk *nx = p.oq.pool->next;

		buf_release(&p.oq.pool->b);
		free(p.oq.pool);
		p.oq.pool = nx;
	}
	free(p.oq.q);
	pthread_mutex_destroy(&p.oq.mu);
	pthread_cond_destroy(&p.oq.cv_writer);
	pthread_cond_destroy(&p.oq.cv_space);
	pthread_mutex_destroy(&p.err_mu);
	return rc < 0 ? rc : 0;
}
