/*
 * pipeline.c: workers + inflater threads + ordered writer (see pipeline.h).
 * stays whole: ring, inflater, scanners and writer share one lock protocol (below).
 *
 * Locks: each worker's ring has its own mutex (inflater <-> worker); the
 * ordered output queue has one mutex (workers <-> writer). No thread holds
 * both, and no lock is held across read(2), inflate, scanning or write(2).
 */
#define _GNU_SOURCE /* syscall(SYS_gettid): per-thread nice */
#include "pipeline.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lines.h"
#include "log.h"
#include "prefilter.h"

#define CHUNK_TARGET (1u << 20) /* rows are handed to the writer in ~1 MiB chunks */
#define POOL_MAX 4		/* idle chunks kept for reuse */

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
	struct slotq *q;	  /* one per file */
	size_t n;
	size_t head;	 /* file being written */
	size_t buffered; /* bytes in all queues */
	size_t cap;
	struct chunk *pool;
	size_t pool_n;
	size_t chunk_cap; /* cap_max of a chunk's buf */
};

struct pipe {
	const struct pipeline_cfg *cfg;
	struct pipeline_stats *st;
	struct outq oq;
	atomic_size_t next_file;
	atomic_size_t stop_idx; /* files with a larger index are not processed */
	atomic_int abort_all;	/* output failed: everyone stops */
	pthread_mutex_t err_mu; /* first internal error */
};

/* ---- per-worker ring: inflater -> scanners -> in-order commit ---- */

struct rslot {
	char *data;
	size_t cap;	     /* bytes allocated at data */
	size_t start, end;   /* the complete lines to scan: data[start, end) */
	uint64_t first_line; /* number of the line at start */
	uint64_t nlines;     /* lines in [start, end) */
	uint64_t n_visit;    /* lines handed to the scanner or found too long */
	int status;	     /* 0 more follows; else the last slot: GZIN_EOF, a
				negative errno, or -ECANCELED (stopped) */
	int scanned;	     /* scanned, waiting for its turn to be committed */
	int stopped;	     /* --strict stopped inside it: later slots are dropped */
	struct buf out;	     /* its rows */
	uint64_t n_rec, n_match;

	/* --strict: the line that stopped it, reported only when the slot is
	 * committed (in input order): the other scanner may meanwhile have hit
	 * a later bad line in a later slot, which must not be reported.
	 * stop_rc: -EINVAL bad record, -EMSGSIZE too long, else row not formatted */
	int stop_rc;
	uint64_t stop_lineno;
	const char *stop_reason; /* static string (scan.h) */
	size_t stop_off;	 /* err_off, or --max-line for -EMSGSIZE */
};

/* Slots cycle: the inflater fills slot wr and publishes it; a scanner claims
 * slot cl (any scanner, any order of finishing); slots are committed (rows
 * handed on, then released to the inflater) strictly in order from rd. */
struct ring {
	pthread_mutex_t mu;
	pthread_cond_t cv_full;	 /* published / claimed-final / cancel: for scanners */
	pthread_cond_t cv_empty; /* released: for the inflater */
	struct rslot *s;
	size_t n, size; /* slots; nominal bytes per slot */
	size_t rd, cl, wr;
	size_t count;	  /* published, not yet released */
	size_t unclaimed; /* published, not yet claimed */
	int final_claimed;
	int committing; /* a scanner is committing: the others leave it to it */
	int cancel;
};

struct worker;

struct scanner {
	struct worker *w;
	pthread_t tid;
	struct record_worker rw;
	struct lines lines;
	struct rslot *slot; /* being scanned */
	/* prefiltered slots number lines only when a report needs it: ln_no is
	 * the number of the line starting at ln_pos */
	int lazy;
	const char *ln_pos;
	uint64_t ln_no;
};

struct worker {
	struct pipe *p;
	pthread_t tid;
	struct ring ring;
	struct lines_align align; /* used by the inflater thread */
	struct scanner sc[2];
	size_t nsc;	 /* scanner threads per file: 1 or 2 */
	struct gzin *gz; /* the current file's stream (inflater thread uses it) */
	size_t idx;	 /* current file */
	const char *path;
	struct chunk *cur;	    /* rows being gathered (by the committing scanner) */
	atomic_int stop;	    /* strict stop or abort seen in this file */
	_Atomic uint64_t stop_line; /* --strict stopped at this line: later slots
				       need no scanning (UINT64_MAX: none) */
	int committed_stop;	    /* a stopped slot was committed: drop the rest */
	int gz_err;		    /* the stream's final error, 0 if none */
	size_t dropped;		    /* bytes of the partial line cut by that error */
	uint64_t err_line;	    /* its line number */
	uint64_t long_line;	    /* --strict: the inflater's over-long line */
	size_t long_max;	    /* and --max-line, reported at commit */
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
		int rc = 0;

		if (c) {
			s->first = c->next;
			if (!s->first)
				s->last = NULL;
			pthread_mutex_unlock(&oq->mu);
			rc = output_write(p->cfg->out, c->b.ptr, c->b.len);
			pthread_mutex_lock(&oq->mu);
			s->bytes -= c->b.len;
			oq->buffered -= c->b.len;
			chunk_put_locked(oq, c);
		} else if (s->done) {
			size_t idx = oq->head++;

			pthread_mutex_unlock(&oq->mu);
			if (p->cfg->file_written && !atomic_load(&p->abort_all))
				rc = p->cfg->file_written(p->cfg->file_written_ctx, idx);
			pthread_mutex_lock(&oq->mu);
		} else {
			pthread_cond_wait(&oq->cv_writer, &oq->mu);
			continue;
		}
		if (rc < 0) {
			p->st->out_err = rc;
			atomic_store(&p->abort_all, 1);
		}
		pthread_cond_broadcast(&oq->cv_space);
	}
	/* Wake workers blocked on space: nothing more will be written. */
	atomic_store(&p->abort_all, atomic_load(&p->abort_all) || oq->head < oq->n);
	pthread_cond_broadcast(&oq->cv_space);
	pthread_mutex_unlock(&oq->mu);
	return NULL;
}

/* ---- ring ---- */

static int ring_init(struct ring *r, size_t n, size_t size, size_t out_cap)
{
	memset(r, 0, sizeof(*r));
	r->s = calloc(n, sizeof(*r->s));
	if (!r->s)
		return -ENOMEM;
	r->n = n;
	r->size = size;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv_full, NULL);
	pthread_cond_init(&r->cv_empty, NULL);
	for (size_t i = 0; i < n; i++) {
		buf_init(&r->s[i].out, out_cap);
		r->s[i].data = malloc(size);
		if (!r->s[i].data)
			return -ENOMEM;
		r->s[i].cap = size;
	}
	return 0;
}

static void ring_release(struct ring *r)
{
	if (!r->s)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->s[i].data);
		buf_release(&r->s[i].out);
	}
	free(r->s);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv_full);
	pthread_cond_destroy(&r->cv_empty);
	r->s = NULL;
}

static void ring_reset(struct ring *r)
{
	r->rd = r->cl = r->wr = 0;
	r->count = r->unclaimed = 0;
	r->final_claimed = r->committing = r->cancel = 0;
	for (size_t i = 0; i < r->n; i++)
		r->s[i].scanned = 0;
}

/* ---- error reporting ---- */

static int report_budget(struct worker *w)
{
	return atomic_fetch_add(&w->p->st->reported, 1) < w->p->cfg->max_errors;
}

static void stop_file(struct worker *w)
{
	strict_stop(w->p, w->idx);
	atomic_store(&w->stop, 1);
}

/* An over-long line, seen by the inflater (straddling) or a scanner. */
static int too_long(struct worker *w, uint64_t lineno, size_t max_line)
{
	atomic_fetch_add_explicit(&w->p->st->too_long, 1, memory_order_relaxed);
	if (report_budget(w))
		log_error("%s:%llu: line longer than --max-line (%zu bytes): skipped", w->path,
			  (unsigned long long)lineno, max_line);
	if (w->p->cfg->strict) {
		stop_file(w);
		return 1;
	}
	return 0;
}

static int on_too_long_inflater(void *ctx, uint64_t lineno, size_t max_line)
{
	struct worker *w = ctx;

	if (w->p->cfg->strict) {
		/* reported when its slot is committed: an earlier bad line in a
		 * slot not scanned yet comes first */
		w->long_line = lineno;
		w->long_max = max_line;
		return 1;
	}
	return too_long(w, lineno, max_line);
}

/* ---- inflater thread ---- */

static void publish(struct ring *r, struct rslot *s, int status)
{
	s->status = status;
	s->scanned = 0;
	s->n_rec = s->n_match = s->n_visit = 0;
	/* rows of an unusual slot (huge values) do not pin their memory */
	if (s->out.alloc > 4 * r->size)
		buf_release(&s->out);
	buf_reset(&s->out);
	pthread_mutex_lock(&r->mu);
	r->wr = (r->wr + 1) % r->n;
	r->count++;
	r->unclaimed++;
	pthread_cond_broadcast(&r->cv_full);
	pthread_mutex_unlock(&r->mu);
}

static void *inflater_main(void *arg)
{
	struct worker *w = arg;
	struct ring *r = &w->ring;
	struct pipeline_stats *st = w->p->st;
	const struct lines_sink sink = {NULL, on_too_long_inflater, w};
	struct rslot *s = NULL;
	uint64_t seen = 0;

	for (;;) {
		struct gzin_out o;
		size_t need;
		int rc = 0, arc;
		uint64_t in;

		if (!s) {
			pthread_mutex_lock(&r->mu);
			while (r->count == r->n && !r->cancel)
				pthread_cond_wait(&r->cv_empty, &r->mu);
			if (r->cancel) {
				pthread_mutex_unlock(&r->mu);
				break;
			}
			s = &r->s[r->wr];
			pthread_mutex_unlock(&r->mu);
			s->stopped = 0;
		}
		/* Room for the carried partial line plus a nominal slot of new
		 * data; a slot grown by a long line shrinks back afterwards. */
		need = lines_align_pending(&w->align) + r->size;
		if (s->cap < need || s->cap > 2 * need) {
			char *d = realloc(s->data, need);

			if (!d) {
				set_internal(w->p, -ENOMEM);
				s->start = s->end = 0;
				publish(r, s, -ECANCELED);
				break;
			}
			s->data = d;
			s->cap = need;
		}
		o.dst = s->data;
		o.size = s->cap;
		o.pos = lines_align_take(&w->align, s->data);
		while (o.pos < o.size && rc == 0)
			rc = gzin_read(w->gz, &o);
		in = gzin_bytes_in(w->gz);
		atomic_fetch_add_explicit(&st->bytes_in, in - seen, memory_order_relaxed);
		seen = in;
		arc = lines_align_cut(&w->align, s->data, o.pos, rc == GZIN_EOF, &s->start, &s->end,
				      &s->first_line, &sink);
		s->nlines = w->align.lineno - s->first_line;
		if (rc < 0) {
			/* the cut partial line is not a record: never scanned */
			w->dropped = lines_align_pending(&w->align);
			w->err_line = w->align.lineno;
			lines_align_reset(&w->align);
		}
		if (arc == -ENOMEM)
			set_internal(w->p, arc);
		if (arc == 1 && w->p->cfg->strict) {
			/* a scanner finding an earlier bad line in it overrides */
			s->stopped = 1;
			s->stop_rc = -EMSGSIZE;
			s->stop_lineno = w->long_line;
			s->stop_off = w->long_max;
		}
		if (arc) {
			publish(r, s, -ECANCELED);
			break;
		}
		if (rc == 0 && s->start == s->end)
			continue; /* no line ended yet: keep filling the same slot */
		publish(r, s, rc);
		if (rc != 0)
			break;
		s = NULL;
	}
	return NULL;
}

/* ---- scanners ---- */

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

/* The number of the line at `line` in a prefiltered slot: newlines are
 * counted from the last numbered position (lines are visited in order). */
static uint64_t lineno_at(struct scanner *sc, const char *line, uint64_t given)
{
	if (!sc->lazy)
		return given;
	sc->ln_no += lines_count(sc->ln_pos, (size_t)(line - sc->ln_pos));
	sc->ln_pos = line;
	return sc->ln_no;
}

static int on_line(void *ctx, const char *line, size_t len, uint64_t lineno)
{
	struct scanner *sc = ctx;
	struct worker *w = sc->w;
	struct rslot *s = sc->slot;
	struct scan_result res;
	int rc;

	memset(&res, 0, sizeof(res));
	rc = record_process(&sc->rw, line, len, &s->out, &res);
	if (rc == 1) {
		s->n_rec++;
		s->n_match++;
		return 0;
	}
	if (rc == 0) {
		if (len && !record_is_blank(line, len))
			s->n_rec++;
		return 0;
	}
	s->n_rec++;
	lineno = lineno_at(sc, line, lineno);
	if (w->p->cfg->strict) {
		uint64_t cur = atomic_load(&w->stop_line);

		while (lineno < cur && !atomic_compare_exchange_weak(&w->stop_line, &cur, lineno))
			;
		s->stopped = 1;
		s->stop_rc = rc;
		s->stop_lineno = lineno;
		s->stop_reason = res.err_reason;
		s->stop_off = res.err_off;
		return 1; /* reported and counted at commit, stop there */
	}
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
	return 0;
}

static int on_too_long_scanner(void *ctx, uint64_t lineno, size_t max_line)
{
	struct scanner *sc = ctx;
	struct worker *w = sc->w;
	struct rslot *s = sc->slot;

	if (w->p->cfg->strict) {
		uint64_t cur = atomic_load(&w->stop_line);

		while (lineno < cur && !atomic_compare_exchange_weak(&w->stop_line, &cur, lineno))
			;
		s->stopped = 1;
		s->stop_rc = -EMSGSIZE;
		s->stop_lineno = lineno;
		s->stop_off = max_line;
		return 1; /* reported and counted at commit, stop there */
	}
	return too_long(w, lineno, max_line);
}

/* One line of a prefiltered slot (no '\n'), as lines_feed would emit it. */
static void pf_emit(struct scanner *sc, const char *l, size_t n)
{
	struct worker *w = sc->w;

	sc->slot->n_visit++;
	if (n > 0 && l[n - 1] == '\r')
		n--;
	if (n > w->p->cfg->max_line) {
		too_long(w, lineno_at(sc, l, 0), w->p->cfg->max_line);
		return;
	}
	on_line(sc, l, n, 0);
}

/*
 * A slot through the prefilter (prefilter.h): only the candidate lines are
 * scanned, the others are passed over unparsed (they cannot match: the rows
 * are the same), except that a line over max_line is still reported.
 */
static void scan_slot_pf(struct scanner *sc, struct rslot *s, const struct prefilter *pf)
{
	const char *base = s->data + s->start, *end = s->data + s->end, *p = base;
	const char *ls = NULL, *le = NULL, *gs, *ge;
	size_t max = sc->w->p->cfg->max_line;

	sc->lazy = 1;
	sc->ln_pos = base;
	sc->ln_no = s->first_line;
	while (p < end) {
		int more = prefilter_next_line(pf, base, p, end, &ls, &le);

		while ((ge = lines_find_long(p, more ? ls : end, max, &gs)) != NULL) {
			s->n_visit++;
			too_long(sc->w, lineno_at(sc, gs, 0), max);
			p = ge + 1;
		}
		if (!more)
			break;
		pf_emit(sc, ls, (size_t)(le - ls));
		p = le + 1;
	}
	sc->lazy = 0;
}

static void scan_slot(struct scanner *sc, struct rslot *s)
{
	const struct lines_sink sink = {on_line, on_too_long_scanner, sc};
	const struct pipeline_cfg *cfg = sc->w->p->cfg;

	sc->slot = s;
	if (cfg->plan->pf && !cfg->validate && !cfg->strict) {
		scan_slot_pf(sc, s, cfg->plan->pf);
		return;
	}
	s->n_visit = s->nlines;
	lines_discard(&sc->lines);
	sc->lines.lineno = s->first_line;
	/* slots hold whole lines; only the last one may end without "\n" */
	if (lines_feed(&sc->lines, s->data + s->start, s->end - s->start, &sink) == 0)
		lines_finish(&sc->lines, &sink);
}

/* Hands a scanned slot's rows on, in order (one committer at a time). */
static void commit(struct worker *w, struct rslot *s)
{
	struct pipeline_stats *st = w->p->st;
	int rc = 0;

	if (w->committed_stop || cancelled(w->p, w->idx))
		return;
	atomic_fetch_add_explicit(&st->bytes_data, s->end - s->start, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->records, s->n_rec, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->matched, s->n_match, memory_order_relaxed);
	if (s->nlines > s->n_visit)
		atomic_fetch_add_explicit(&st->skipped, s->nlines - s->n_visit,
					  memory_order_relaxed);
	if (s->out.len) {
		if (w->cur && w->cur->b.len + s->out.len > w->cur->b.cap_max)
			rc = push_cur(w);
		if (rc == 0 && w->cur)
			rc = buf_add(&w->cur->b, s->out.ptr, s->out.len);
		if (rc == 0 && w->cur && w->cur->b.len >= CHUNK_TARGET)
			rc = push_cur(w);
		if (rc == -ENOMEM || rc == -E2BIG)
			set_internal(w->p, rc);
		if (rc < 0)
			atomic_store(&w->stop, 1);
	}
	if (s->stopped) {
		/* the first stop in input order: report it now, stop the file */
		w->committed_stop = 1;
		if (s->stop_rc == -EMSGSIZE) {
			too_long(w, s->stop_lineno, s->stop_off);
		} else {
			atomic_fetch_add_explicit(&st->bad, 1, memory_order_relaxed);
			int shown = report_budget(w);

			if (shown && s->stop_rc == -EINVAL)
				log_error("%s:%llu: bad record: %s at column %zu", w->path,
					  (unsigned long long)s->stop_lineno,
					  s->stop_reason ? s->stop_reason : "invalid",
					  s->stop_off + 1);
			else if (shown)
				log_error("%s:%llu: record skipped: its row cannot be formatted "
					  "(%s)",
					  w->path, (unsigned long long)s->stop_lineno,
					  strerror(-s->stop_rc));
			stop_file(w);
		}
	}
	if (s->status != 0 && s->status != GZIN_EOF && s->status != -ECANCELED) {
		w->gz_err = s->status;
	}
}

static void *scanner_main(void *arg)
{
	struct scanner *sc = arg;
	struct worker *w = sc->w;
	struct ring *r = &w->ring;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		struct rslot *s;
		int skip;

		while (r->unclaimed == 0 && !r->final_claimed && !r->cancel)
			pthread_cond_wait(&r->cv_full, &r->mu);
		if (r->cancel || r->unclaimed == 0)
			break;
		s = &r->s[r->cl];
		r->cl = (r->cl + 1) % r->n;
		r->unclaimed--;
		if (s->status != 0) {
			r->final_claimed = 1;
			pthread_cond_broadcast(&r->cv_full);
		}
		pthread_mutex_unlock(&r->mu);

		/* After a stop, slots already claimed may be skipped: a stopped
		 * slot's successors are dropped at commit anyway. */
		skip = cancelled(w->p, w->idx) ||
		       (atomic_load(&w->stop) && w->p->cfg->strict == 0) ||
		       s->first_line > atomic_load(&w->stop_line);
		if (!skip)
			scan_slot(sc, s);

		pthread_mutex_lock(&r->mu);
		s->scanned = 1;
		if (r->committing)
			continue;
		r->committing = 1;
		while (r->count > 0 && r->s[r->rd].scanned) {
			struct rslot *c = &r->s[r->rd];

			pthread_mutex_unlock(&r->mu);
			commit(w, c);
			pthread_mutex_lock(&r->mu);
			c->scanned = 0;
			r->rd = (r->rd + 1) % r->n;
			r->count--;
			if (w->committed_stop || atomic_load(&w->stop) || cancelled(w->p, w->idx))
				r->cancel = 1;
			pthread_cond_signal(&r->cv_empty);
			pthread_cond_broadcast(&r->cv_full);
		}
		r->committing = 0;
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/*
 * The second scanner of a file runs at the lowest priority (nice 19, this
 * thread only: Linux keeps nice per thread). It only soaks up CPU that the
 * inflater and the first scanner leave idle: with the three threads at equal
 * priority on two cores the inflater got ~2/3 of a core and became the
 * bottleneck (measured here: 1.19 s -> 0.94 s per GB of JSON). Failure to
 * renice is harmless.
 */
static void *helper_main(void *arg)
{
	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
	return scanner_main(arg);
}

static void file_failed(struct worker *w)
{
	atomic_fetch_add_explicit(&w->p->st->files_failed, 1, memory_order_relaxed);
	if (w->p->cfg->strict)
		strict_stop(w->p, w->idx);
}

static void process_file(struct worker *w, size_t idx)
{
	struct pipe *p = w->p;
	const struct walk_file *f = &p->cfg->files->v[idx];
	pthread_t inf;
	int rc, helper = 0;
	uint64_t nretry;

	w->idx = idx;
	w->path = strcmp(f->path, "-") == 0 ? "<stdin>" : f->path;
	atomic_store(&w->stop, 0);
	atomic_store(&w->stop_line, UINT64_MAX);
	w->committed_stop = 0;
	w->gz_err = 0;
	w->dropped = 0;
	rc = gzin_open(&w->gz, f->path, &p->cfg->gz);
	if (rc < 0) {
		log_error("%s: cannot open: %s (skipped)", w->path, strerror(-rc));
		file_failed(w);
		goto done;
	}
	ring_reset(&w->ring);
	lines_align_reset(&w->align);
	rc = pthread_create(&inf, NULL, inflater_main, w);
	if (rc) {
		set_internal(p, -rc);
		goto done;
	}
	if (w->nsc > 1 && pthread_create(&w->sc[1].tid, NULL, helper_main, &w->sc[1]) == 0)
		helper = 1;
	scanner_main(&w->sc[0]);
	if (helper)
		pthread_join(w->sc[1].tid, NULL);
	/* the scanners may have stopped early: release the inflater */
	pthread_mutex_lock(&w->ring.mu);
	w->ring.cancel = 1;
	pthread_cond_broadcast(&w->ring.cv_empty);
	pthread_mutex_unlock(&w->ring.mu);
	pthread_join(inf, NULL);
	if (w->gz_err && !w->committed_stop) {
		if (w->dropped)
			log_error("%s:%llu: %s; the incomplete last line (%zu bytes) was discarded",
				  w->path, (unsigned long long)w->err_line, gzin_errmsg(w->gz),
				  w->dropped);
		else
			log_error("%s:%llu: %s (after %llu complete lines)", w->path,
				  (unsigned long long)w->err_line, gzin_errmsg(w->gz),
				  (unsigned long long)(w->err_line - 1));
		file_failed(w);
	}
done:
	nretry = w->gz ? gzin_retries(w->gz) : 0;
	atomic_fetch_add_explicit(&p->st->files_retried, nretry > 0, memory_order_relaxed);
	atomic_fetch_add_explicit(&p->st->retries, nretry, memory_order_relaxed);
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

void pipeline_stats_init(struct pipeline_stats *s)
{
	memset(s, 0, sizeof(*s));
}

static int worker_init(struct worker *w, struct pipe *p)
{
	const struct pipeline_cfg *c = p->cfg;
	int rc;

	memset(w, 0, sizeof(*w));
	w->p = p;
	atomic_init(&w->stop, 0);
	atomic_init(&w->stop_line, UINT64_MAX);
	rc = ring_init(&w->ring, c->ring_n ? c->ring_n : 4, c->ring_size ? c->ring_size : 1u << 20,
		       p->oq.chunk_cap);
	if (rc < 0)
		return rc;
	lines_align_init(&w->align, c->max_line);
	w->nsc = c->scan_threads > 1 ? 2 : 1;
	for (size_t i = 0; i < w->nsc; i++) {
		w->sc[i].w = w;
		lines_init(&w->sc[i].lines, c->max_line);
		rc = record_worker_init(&w->sc[i].rw, c->plan);
		if (rc < 0)
			return rc;
	}
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
	for (size_t i = 0; i < w->nsc; i++) {
		record_worker_release(&w->sc[i].rw);
		lines_release(&w->sc[i].lines);
	}
	lines_align_release(&w->align);
	ring_release(&w->ring);
}

int pipeline_run(const struct pipeline_cfg *cfg, struct pipeline_stats *st)
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
	p.oq.cap = cfg->out_cap ? cfg->out_cap : 4u << 20;
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
