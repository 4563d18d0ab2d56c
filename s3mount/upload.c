/* Whole: part buffers, the worker pool and the MPU commit share the pool and upload locks. */
/*
 * upload.c: see upload.h.
 *
 * Shape: the writer thread fills one part buffer per file; a full part is
 * queued (FIFO, shared by all files) for the pool's workers, which upload it
 * with UploadPart (Content-MD5 sent by the S3 client), record its ETag and
 * give the buffer back to the budget. Part buffers are anonymous mmaps, not
 * malloc: multi-MiB blocks freed by other threads would otherwise stay in
 * glibc arenas and RSS would drift above the budget; munmap returns them at
 * once. The first part grows by mremap (no copy) so small files stay cheap
 * (see ensure_room for why it grows in one step).
 *
 * Why a full part is queued only when the next byte arrives: a file of
 * exactly one part then becomes a PutObject instead of a one-part multipart
 * upload, and the last part is never empty.
 *
 * Failures: the first failing part stores its errno in u->err; queued parts
 * of that file are then skipped (no point uploading data that will be
 * discarded), the next write reports -EIO, and commit/abort/free abort the
 * multipart upload. A CompleteMultipartUpload that fails with NoSuchUpload
 * may be a retry after a lost response of a Complete that did succeed: the
 * key is then HEADed and its ETag compared with the multipart ETag computed
 * from the part ETags (md5 of the part md5s, "-N") before calling it failed.
 *
 * upload_retarget() after a multipart upload is open (the cost, honestly):
 * S3 binds an upload id to its key, and UploadPartCopy can only copy from a
 * committed object, never from the uncommitted parts of another upload, so
 * parts already sent cannot move to a new key. The cheapest correct strategy
 * is: keep uploading under the old key, complete there at commit, then
 * CopyObject old -> new (server-side; s3_copy switches to parallel
 * UploadPartCopy above 5 GiB: no byte goes through this host again) and
 * DeleteObject old. Cost: one server-side copy of the object, and the
 * complete object is visible under the OLD name between Complete and Delete
 * (milliseconds to seconds). A hazard stated plainly: if another writer
 * commits a new file under the old name in that window, this commit
 * overwrites it and then deletes it. The alternatives are worse: completing
 * at rename time and switching to a new upload under the new key that starts
 * with UploadPartCopy of that object costs the same copy, exposes the old
 * name for the whole rest of the write, and needs the copied prefix split into
 * >= 5 MiB parts; re-reading the parts is impossible (their buffers are gone).
 * A rename before the first part is queued costs nothing (the key changes);
 * the usual editor pattern (write tmp, close, rename) renames a committed
 * object and is not a retarget at all.
 *
 * What stays under the name left by a retarget: the object there (a version
 * this file committed by fsync, or the object an O_TRUNC open is replacing)
 * is NOT deleted at the rename but only after the commit under the new name
 * (finish_renames). Deleting it at once broke two things: a resumed upload
 * whose first parts are UploadPartCopy of that very object (queued or in
 * flight) failed, and a writer killed after the rename left neither name,
 * losing what fsync had made durable. It goes then only if it is still the
 * version seen at the rename (same ETag): another writer may have put a new
 * object there meanwhile, and that one is not ours to delete.
 */
#define _GNU_SOURCE /* mremap */
#include "upload.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "log.h"
#include "mpulayout.h"
#include "partsize.h"

#define FIRST_BUF_MIN (64u * 1024) /* initial first-part buffer, bytes */
#define WORKERS_DEFAULT 8
#define WORKERS_MAX 64
#define SPARE_MAX 2 /* whole part buffers kept for reuse (see recycle) */
#define LEFT_MAX 4  /* names an open file can be renamed away from (see left) */

enum upload_state {
	UP_OPEN,      /* accepting writes */
	UP_COMMITTED, /* the object exists; info is valid */
	UP_FAILED,    /* commit failed: everything was aborted */
	UP_ABORTED,   /* upload_abort() was called */
};

struct part_job {
	struct upload *u;
	int number;            /* 1-based part number */
	char *data;            /* mmapped part buffer, owned by the job */
	size_t len;            /* bytes of data */
	size_t mapped;         /* bytes mapped and charged to the budget */
	uint64_t copy_off;     /* copy_len > 0: no data; UploadPartCopy of these */
	uint64_t copy_len;     /* bytes of the committed object (upload_resume) */
	struct part_job *next; /* queue link; protected by pool->lock */
};

struct upload_pool {
	struct s3_client *c;
	struct budget *b;
	uint64_t part_size;         /* first part size, bytes */
	uint64_t part_cap;          /* no part above this: half the budget, bytes */
	uint64_t max_object;        /* largest file under the capped policy, bytes */
	int nworkers;
	int max_inflight;           /* per file */
	pthread_t *threads;
	pthread_mutex_t lock;       /* protects the queue, stopping and the open list */
	pthread_cond_t work;        /* signalled when a job is queued or on stop */
	struct part_job *head, *tail;
	int stopping;
	struct upload *open;        /* uploads not yet freed (doubly linked) */
	int busy;                   /* jobs queued or running, all files */
	int waiters;                /* writers blocked in budget_acquire */
	char *spare[SPARE_MAX];     /* part_size buffers, mapped and charged */
	int nspare;
};

struct upload {
	struct upload_pool *p;
	struct upload *prev, *next;           /* pool->open list; protected by p->lock */
	char key[S3_KEY_MAX];                 /* key the upload is created under */
	char final_key[S3_KEY_MAX];           /* key the object ends up under */
	char upload_id[S3_UPLOAD_ID_MAX];     /* "" until CreateMultipartUpload */
	char nonce[S3_NONCE_MAX];	      /* this upload's, recorded at Create (s3.h) */
	int mpu_done;                         /* Complete succeeded: nothing to abort */
	char src_etag[S3_ETAG_MAX];           /* version copy parts come from (resume) */
	uint64_t size;                        /* bytes accepted so far */
	enum upload_state state;              /* writer only */
	int fail_rc;                          /* what commit returns once UP_FAILED */
	struct s3_object_info info;           /* valid in UP_COMMITTED */
	struct {
		char key[S3_KEY_MAX];
		char etag[S3_ETAG_MAX]; /* the version there at the rename */
	} left[LEFT_MAX];		/* names renamed away from: they go
					   after the commit (file head) */
	int nleft;

	/* The part being filled: writer only. */
	char *buf;                            /* NULL until the first byte of the part */
	size_t buf_len;                       /* bytes in buf */
	size_t buf_map;                       /* bytes mapped and charged */
	uint64_t part_cap;                    /* size of this part */
	int part_no;                          /* its number, 1-based */

	pthread_mutex_t lock;                 /* protects the fields below */
	pthread_cond_t cond;                  /* signalled when a part finishes */
	int inflight;                         /* parts queued or uploading */
	int err;                              /* first part failure (or -ECANCELED) */
	struct s3_part *parts;                /* parts[i] is part i+1 */
	size_t parts_alloc;                   /* entries allocated */
};

/* Size of part n: the policy of partsize.h, capped at half the budget so
 * that one part can upload while the next fills (see upload_pool_new). */
static uint64_t part_size_of(const struct upload_pool *p, int n)
{
	return partsize_for_capped(p->part_size, p->part_cap, n);
}

/* ---- part buffers ---- */

static char *map_bytes(size_t n)
{
	void *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return m == MAP_FAILED ? NULL : m;
}

static void unmap_charged(struct budget *b, char *m, size_t n)
{
	if (m)
		munmap(m, n);
	if (n)
		budget_release(b, n);
}

/* Reuse of part buffers, measured: a fresh mmap costs a page fault and a
 * zeroed page per 4 KiB written, 16% of the daemon's CPU for a 1 GiB dd
 * (2.8 -> 2.35 CPU s/GB with reuse). So a worker that has sent a part keeps
 * its buffer (still charged to the budget) for the writer's next part
 * instead of unmapping it, under three rules that keep the budget honest:
 * only whole base-size parts, at most SPARE_MAX of them; never while a
 * writer waits in the budget (it gets the bytes as before); and only while
 * the pool is busy: when the last queued or running part is done, every
 * spare is released, so idle files hold nothing beyond their own part. */
static void recycle(struct upload_pool *p, char *m, size_t n)
{
	pthread_mutex_lock(&p->lock);
	int keep = m && n == p->part_size && p->nspare < SPARE_MAX && p->waiters == 0 &&
		   !p->stopping;
	if (keep)
		p->spare[p->nspare++] = m;
	pthread_mutex_unlock(&p->lock);
	if (!keep)
		unmap_charged(p->b, m, n);
}

/* Ends one job for the pool's busy count; at zero, releases the spares. */
static void job_done(struct upload_pool *p, int n)
{
	char *drop[SPARE_MAX];
	int nd = 0;
	pthread_mutex_lock(&p->lock);
	p->busy -= n;
	if (p->busy == 0)
		while (p->nspare > 0)
			drop[nd++] = p->spare[--p->nspare];
	pthread_mutex_unlock(&p->lock);
	while (nd > 0)
		unmap_charged(p->b, drop[--nd], p->part_size);
}

static char *take_spare(struct upload_pool *p)
{
	char *m = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->nspare > 0)
		m = p->spare[--p->nspare];
	pthread_mutex_unlock(&p->lock);
	return m;
}

/* Makes room in the current part buffer: maps the first bytes of a part or
 * grows the first part's buffer. Blocks in the budget (the backpressure).
 * The first part starts at 64 KiB (a small file charges only that) and then
 * jumps to the whole part in ONE step. Why not doubling: a writer that waits
 * in the budget while holding a half-grown buffer is hold-and-wait; with
 * many files growing at once their partial buffers could fill the budget and
 * wait for each other forever. With one step, a waiting writer holds at most
 * 64 KiB, and a writer holding a whole part never waits before handing it to
 * the workers, whose uploads always end and give memory back. */
static int ensure_room(struct upload *u)
{
	struct upload_pool *p = u->p;
	if (u->buf && u->buf_len < u->buf_map)
		return 0;
	size_t want;
	if (!u->buf)
		want = u->part_no == 1 && u->part_cap > FIRST_BUF_MIN ? FIRST_BUF_MIN
								     : (size_t)u->part_cap;
	else
		want = (size_t)u->part_cap;
	if (want > budget_limit(p->b)) {
		log_error("upload of %s: a %zu-byte part does not fit the %zu-byte memory budget "
			  "(file too large for this budget at %llu bytes)",
			  LOG_KEY(u->final_key), want, budget_limit(p->b),
			  (unsigned long long)u->size);
		return -EFBIG;
	}
	char *sp = want == p->part_size ? take_spare(p) : NULL;
	if (sp) {
		/* already charged; the first part's 64 KiB move over */
		if (u->buf_len)
			memcpy(sp, u->buf, u->buf_len);
		unmap_charged(p->b, u->buf, u->buf_map);
		u->buf = sp;
		u->buf_map = want;
		return 0;
	}
	/* Charge only the growth: charging the whole new size while holding the
	 * old buffer could wait forever on a budget of about one part. */
	pthread_mutex_lock(&p->lock);
	p->waiters++;
	pthread_mutex_unlock(&p->lock);
	int rc = budget_acquire(p->b, want - u->buf_map);
	pthread_mutex_lock(&p->lock);
	p->waiters--;
	pthread_mutex_unlock(&p->lock);
	if (rc < 0)
		return rc;
	char *m = u->buf ? mremap(u->buf, u->buf_map, want, MREMAP_MAYMOVE) : map_bytes(want);
	if (m == MAP_FAILED || !m) {
		budget_release(p->b, want - u->buf_map);
		log_error("upload of %s: cannot map a %zu-byte part buffer", LOG_KEY(u->final_key),
			  want);
		return -ENOMEM;
	}
	u->buf = m;
	u->buf_map = want;
	return 0;
}

static void drop_buffer(struct upload *u)
{
	unmap_charged(u->p->b, u->buf, u->buf_map);
	u->buf = NULL;
	u->buf_len = 0;
	u->buf_map = 0;
}

/* ---- the worker pool ---- */

static void run_job(struct upload_pool *p, struct part_job *job)
{
	struct upload *u = job->u;
	char etag[S3_ETAG_MAX] = "";
	int rc = 0;

	pthread_mutex_lock(&u->lock);
	int skip = u->err != 0;
	pthread_mutex_unlock(&u->lock);
	/* key and upload_id do not change while parts are in flight: retarget
	 * only touches final_key once the upload is open. */
	if (!skip && job->copy_len)
		rc = s3_mpu_upload_part_copy(p->c, u->key, u->upload_id, job->number, u->key,
					     job->copy_off, job->copy_len, u->src_etag, etag);
	else if (!skip)
		rc = s3_mpu_upload_part(p->c, u->key, u->upload_id, job->number, job->data,
					job->len, etag);
	recycle(p, job->data, job->mapped);
	job_done(p, 1); /* before u learns of it: a commit then finds spares released */

	pthread_mutex_lock(&u->lock);
	if (!skip) {
		if (rc < 0) {
			if (!u->err) {
				u->err = rc;
				log_error(
				    "upload of %s: part %d (%llu bytes%s) failed: %s",
				    LOG_KEY(u->key), job->number,
				    (unsigned long long)(job->copy_len ? job->copy_len : job->len),
				    job->copy_len ? ", copied" : "", strerror(-rc));
			}
		} else {
			struct s3_part *sp = &u->parts[job->number - 1];
			sp->number = job->number;
			memcpy(sp->etag, etag, sizeof(sp->etag));
		}
	}
	u->inflight--;
	pthread_cond_broadcast(&u->cond);
	/* Nothing may touch u after this unlock: upload_free may run now. */
	pthread_mutex_unlock(&u->lock);
	free(job);
}

static void *worker_main(void *arg)
{
	struct upload_pool *p = arg;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->head && !p->stopping)
			pthread_cond_wait(&p->work, &p->lock);
		struct part_job *job = p->head;
		if (!job)
			break;
		p->head = job->next;
		if (!p->head)
			p->tail = NULL;
		pthread_mutex_unlock(&p->lock);
		run_job(p, job);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int upload_pool_new(struct s3_client *c, struct budget *b, const struct upload_pool_opts *o,
		    struct upload_pool **out)
{
	struct upload_pool *p = NULL;
	uint64_t part = o && o->part_size ? o->part_size : PARTSIZE_DEFAULT;
	int workers = o && o->workers > 0 ? o->workers : WORKERS_DEFAULT;
	int rc = 0;

	if (partsize_check_base(part) < 0) {
		log_error("upload: part size %llu is outside S3's 5 MiB .. 5 GiB",
			  (unsigned long long)part);
		return -EINVAL;
	}
	if (workers > WORKERS_MAX)
		workers = WORKERS_MAX;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->c = c;
	p->b = b;
	p->part_size = part;
	p->max_inflight = o && o->max_inflight > 0 ? o->max_inflight : workers;
	/* Late parts of a huge file would outgrow any budget (the policy reaches
	 * 4 GiB parts): cap them at half the budget, rounded down to MiB, so a
	 * file keeps streaming with smaller parts instead of failing. The price
	 * is a lower maximum file size, logged here. */
	p->part_cap = (budget_limit(b) / 2) & ~((uint64_t)(1u << 20) - 1);
	if (p->part_cap < S3_MIN_PART_SIZE)
		p->part_cap = S3_MIN_PART_SIZE;
	if (p->part_cap > S3_MAX_PART_SIZE)
		p->part_cap = S3_MAX_PART_SIZE;
	if (part > p->part_cap)
		log_warn("upload: part size %llu is more than half the memory budget; parts "
			 "are %llu bytes",
			 (unsigned long long)part, (unsigned long long)p->part_cap);
	p->max_object = partsize_max_object_capped(part, p->part_cap);
	if (p->max_object < S3_MAX_OBJECT_SIZE)
		log_info("upload: with this budget the largest file is %llu MiB (5 TiB needs "
			 "parts of 2 GiB: a budget of 4 GiB)",
			 (unsigned long long)(p->max_object >> 20));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	p->threads = calloc((size_t)workers, sizeof(*p->threads));
	if (!p->threads) {
		rc = -ENOMEM;
		goto out;
	}
	for (; p->nworkers < workers; p->nworkers++) {
		int e = pthread_create(&p->threads[p->nworkers], NULL, worker_main, p);
		if (e) {
			rc = -e;
			goto out;
		}
	}
	*out = p;
	p = NULL;
out:
	upload_pool_free(p);
	return rc;
}

size_t upload_part_size(const struct upload_pool *p, int part_number)
{
	return (size_t)part_size_of(p, part_number);
}

/* ---- one upload ---- */

int upload_new(struct upload_pool *p, const char *key, struct upload **out)
{
	size_t klen = strlen(key);
	if (klen == 0 || klen >= S3_KEY_MAX)
		return -ENAMETOOLONG;
	struct upload *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->p = p;
	memcpy(u->key, key, klen + 1);
	memcpy(u->final_key, key, klen + 1);
	u->part_no = 1;
	u->part_cap = part_size_of(p, 1);
	u->state = UP_OPEN;
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->cond, NULL);
	pthread_mutex_lock(&p->lock);
	u->next = p->open;
	if (p->open)
		p->open->prev = u;
	p->open = u;
	pthread_mutex_unlock(&p->lock);
	*out = u;
	return 0;
}

uint64_t upload_size(const struct upload *u)
{
	return u->size;
}

const char *upload_key(const struct upload *u)
{
	return u->final_key;
}

static int get_err(struct upload *u)
{
	pthread_mutex_lock(&u->lock);
	int e = u->err;
	pthread_mutex_unlock(&u->lock);
	return e;
}

static int set_err(struct upload *u, int rc)
{
	pthread_mutex_lock(&u->lock);
	if (!u->err)
		u->err = rc;
	pthread_mutex_unlock(&u->lock);
	return rc;
}

/* Makes parts[] hold part numbers up to n; u->lock held. */
static int reserve_parts_locked(struct upload *u, int n)
{
	if ((size_t)n <= u->parts_alloc)
		return 0;
	size_t na = u->parts_alloc ? u->parts_alloc * 2 : 64;
	while (na < (size_t)n)
		na *= 2;
	if (na > S3_MAX_PARTS)
		na = S3_MAX_PARTS;
	struct s3_part *np = realloc(u->parts, na * sizeof(*np));
	if (!np)
		return -ENOMEM;
	memset(np + u->parts_alloc, 0, (na - u->parts_alloc) * sizeof(*np));
	u->parts = np;
	u->parts_alloc = na;
	return 0;
}

/* Queues a job for the workers. */
static void enqueue(struct upload_pool *p, struct part_job *job)
{
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = job;
	else
		p->head = job;
	p->tail = job;
	p->busy++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
}

/* CreateMultipartUpload of u->key, recording in x-amz-meta-s3mount-parts
 * how this upload cuts its parts (mpulayout.h), so that a reader can check
 * the object against its multipart ETag: head_parts > 0 when the first
 * head_parts parts are copies of a committed prefix of head_bytes
 * (upload_resume), then the pool's policy by part number. */
static int mpu_create(struct upload *u, uint64_t head_bytes, int head_parts)
{
	struct upload_pool *p = u->p;
	uint64_t cap = p->part_cap < S3_MAX_PART_SIZE ? p->part_cap : S3_MAX_PART_SIZE;
	struct mpu_layout l = {.base = p->part_size < cap ? p->part_size : cap,
			       .cap = cap,
			       .grow = PARTSIZE_GROUP,
			       .head_parts = (uint32_t)head_parts,
			       .head_bytes = head_bytes};
	int rc = s3_nonce_new(u->nonce);
	if (rc) {
		log_error("upload of %s: no random nonce: %s", LOG_KEY(u->key), strerror(-rc));
		return rc;
	}
	return s3_mpu_create_layout(p->c, u->key, &l, u->nonce, u->upload_id);
}

/* Hands the current (full, or at commit the last) part to the workers. */
static int submit_current(struct upload *u)
{
	struct upload_pool *p = u->p;
	int rc;

	if (u->part_no > S3_MAX_PARTS) {
		/* only reachable after a resume shifted the part numbers */
		log_error("upload of %s: more than %d parts", LOG_KEY(u->final_key), S3_MAX_PARTS);
		return set_err(u, -EFBIG);
	}
	if (!u->upload_id[0]) {
		rc = mpu_create(u, 0, 0);
		if (rc < 0) {
			u->upload_id[0] = '\0';
			log_error("upload of %s: CreateMultipartUpload failed: %s", LOG_KEY(u->key),
				  strerror(-rc));
			return set_err(u, rc);
		}
		log_debug("upload of %s: multipart upload %s", LOG_KEY(u->key), u->upload_id);
	}
	struct part_job *job = calloc(1, sizeof(*job));
	if (!job)
		return set_err(u, -ENOMEM);

	pthread_mutex_lock(&u->lock);
	if (reserve_parts_locked(u, u->part_no) < 0) {
		pthread_mutex_unlock(&u->lock);
		free(job);
		return set_err(u, -ENOMEM);
	}
	/* The per-file bound keeps one fast writer from filling the whole queue
	 * (and budget) ahead of the other files. */
	while (u->inflight >= p->max_inflight && !u->err)
		pthread_cond_wait(&u->cond, &u->lock);
	rc = u->err;
	if (!rc)
		u->inflight++;
	pthread_mutex_unlock(&u->lock);
	if (rc) {
		free(job);
		return rc;
	}

	job->u = u;
	job->number = u->part_no;
	job->data = u->buf;
	job->len = u->buf_len;
	job->mapped = u->buf_map;
	u->buf = NULL;
	u->buf_len = 0;
	u->buf_map = 0;
	u->part_no++;
	u->part_cap = part_size_of(p, u->part_no);
	enqueue(p, job);
	return 0;
}

ssize_t upload_write(struct upload *u, const void *data, size_t len, uint64_t off)
{
	const char *src = data;
	size_t done = 0;
	int rc;

	if (u->state == UP_COMMITTED) {
		log_warn("write to %s after it was committed without upload_resume() (a bug)",
			 LOG_KEY(u->final_key));
		return -EPERM;
	}
	if (u->state != UP_OPEN)
		return -EIO;
	rc = get_err(u);
	if (rc)
		return rc == -EFBIG ? -EFBIG : -EIO;
	if (off != u->size) {
		log_warn("write to %s at offset %llu refused: the file is %llu bytes and s3mount "
			 "writes only sequentially (ESPIPE)",
			 LOG_KEY(u->final_key), (unsigned long long)off,
			 (unsigned long long)u->size);
		return -ESPIPE;
	}
	if (len == 0)
		return 0;
	uint64_t max = u->p->max_object;
	if (len > max || u->size > max - len) {
		log_error("write to %s refused: %llu bytes would pass the largest object the "
			  "part-size policy allows (%llu)",
			  LOG_KEY(u->final_key), (unsigned long long)(u->size + len),
			  (unsigned long long)max);
		return -EFBIG;
	}
	while (done < len) {
		if (u->buf_len == u->part_cap) {
			rc = submit_current(u);
			if (rc < 0)
				goto fail;
		}
		rc = ensure_room(u);
		if (rc < 0)
			goto fail;
		size_t n = u->buf_map - u->buf_len;
		if (n > len - done)
			n = len - done;
		memcpy(u->buf + u->buf_len, src + done, n);
		u->buf_len += n;
		u->size += n;
		done += n;
	}
	return (ssize_t)len;
fail:
	/* Part of this write may be buffered already: the file can no longer
	 * be completed correctly, so the upload is failed for good. */
	set_err(u, rc);
	return rc == -EFBIG ? -EFBIG : -EIO;
}

int upload_retarget(struct upload *u, const char *new_key)
{
	size_t klen = strlen(new_key);
	if (klen == 0 || klen >= S3_KEY_MAX)
		return -ENAMETOOLONG;
	if (u->state != UP_OPEN)
		return -EINVAL;
	if (strcmp(new_key, u->final_key) == 0)
		return 0;
	/* What is under the name being left is kept until the commit under the
	 * new one (file head); remember which version it is. */
	struct s3_object_info hi;
	int rc = s3_head(u->p->c, u->final_key, &hi);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if (rc == 0 && u->nleft == LEFT_MAX) {
		log_warn("rename of %s while open: renamed %d times already; refused (EBUSY)",
			 LOG_KEY(u->final_key), LEFT_MAX);
		return -EBUSY;
	}
	for (int i = 0; i < u->nleft; i++) {
		if (strcmp(u->left[i].key, new_key) == 0) {
			/* back to a name left before: the commit replaces it anyway */
			u->left[i] = u->left[--u->nleft];
			break;
		}
	}
	if (rc == 0) {
		memcpy(u->left[u->nleft].key, u->final_key, sizeof(u->final_key));
		memcpy(u->left[u->nleft].etag, hi.etag, sizeof(hi.etag));
		u->nleft++;
	}
	if (!u->upload_id[0]) {
		/* Nothing of this upload under the old key yet: free. */
		memcpy(u->key, new_key, klen + 1);
		memcpy(u->final_key, new_key, klen + 1);
		return 0;
	}
	memcpy(u->final_key, new_key, klen + 1);
	log_info("rename of %s while open: its multipart upload is under way; it will be "
		 "completed there and copied server-side to %s at close",
		 LOG_KEY(u->key), LOG_KEY(new_key));
	return 0;
}

/* After the commit under the final name: the names left by renames go, each
 * only if it still holds the version seen at the rename (file head). A
 * failure here loses nothing (the file is committed): it is logged. */
static void finish_renames(struct upload *u)
{
	for (int i = 0; i < u->nleft; i++) {
		const char *k = u->left[i].key;
		struct s3_object_info hi;
		int rc = s3_head(u->p->c, k, &hi);
		if (rc == -ENOENT)
			continue;
		if (rc == 0 && strcmp(hi.etag, u->left[i].etag) != 0) {
			log_info("upload of %s: its old name %s now holds another object: kept",
				 LOG_KEY(u->final_key), LOG_KEY(k));
			continue;
		}
		if (rc == 0)
			rc = s3_delete(u->p->c, k);
		if (rc < 0 && rc != -ENOENT)
			log_error("upload of %s: deleting its old name %s failed: %s (both names "
				  "exist now)",
				  LOG_KEY(u->final_key), LOG_KEY(k), strerror(-rc));
	}
	u->nleft = 0;
}

/* Drops this upload's parts still waiting in the queue (their data would be
 * discarded anyway) and waits for those being uploaded. */
static void cancel_parts(struct upload *u)
{
	struct upload_pool *p = u->p;
	struct part_job **pp, *dropped = NULL;
	int n = 0;

	set_err(u, -ECANCELED);
	pthread_mutex_lock(&p->lock);
	struct part_job *prev = NULL;
	for (pp = &p->head; *pp;) {
		struct part_job *j = *pp;
		if (j->u == u) {
			*pp = j->next;
			j->next = dropped;
			dropped = j;
			n++;
			continue;
		}
		prev = j;
		pp = &j->next;
	}
	p->tail = prev;
	pthread_mutex_unlock(&p->lock);
	while (dropped) {
		struct part_job *j = dropped;
		dropped = j->next;
		unmap_charged(p->b, j->data, j->mapped);
		free(j);
	}
	if (n)
		job_done(p, n);
	pthread_mutex_lock(&u->lock);
	u->inflight -= n;
	while (u->inflight > 0)
		pthread_cond_wait(&u->cond, &u->lock);
	pthread_mutex_unlock(&u->lock);
}

static void abort_mpu(struct upload *u)
{
	if (!u->upload_id[0] || u->mpu_done)
		return;
	int rc = s3_mpu_abort(u->p->c, u->key, u->upload_id);
	if (rc < 0 && rc != -ENOENT)
		log_error("upload of %s: AbortMultipartUpload %s failed: %s (parts may remain; "
			  "option abort_stale_uploads removes them)",
			  LOG_KEY(u->key), u->upload_id, strerror(-rc));
	else
		log_info("upload of %s: multipart upload aborted", LOG_KEY(u->key));
	u->upload_id[0] = '\0';
}

static int complete_mpu(struct upload *u)
{
	struct upload_pool *p = u->p;
	int nparts = u->part_no - 1;
	char etag[S3_ETAG_MAX] = "";
	char want[S3_ETAG_MAX] = "";
	int rc;

	for (int i = 0; i < nparts; i++) {
		if (u->parts[i].number != i + 1 || !u->parts[i].etag[0]) {
			log_error("upload of %s: part %d has no ETag", LOG_KEY(u->key), i + 1);
			return -EIO;
		}
	}
	/* want stays "" when the part ETags are not MD5s (SSE-KMS) */
	mpu_etag_of_parts(u->parts, (size_t)nparts, want, sizeof(want));
	rc = s3_mpu_complete(p->c, u->key, u->upload_id, u->parts, (size_t)nparts, u->nonce, etag);
	if (rc == -ENOENT) {
		/* NoSuchUpload: maybe our retry of a Complete that went through.
		 * Ours only if proven: our multipart ETag, or our nonce where the
		 * ETag cannot be computed (SSE-KMS, SSE-C), and our size. */
		struct s3_object_info hi;
		if (s3_head(p->c, u->key, &hi) == 0 && hi.size == u->size &&
		    ((want[0] && strcmp(hi.etag, want) == 0) ||
		     (u->nonce[0] && strcmp(hi.upload_nonce, u->nonce) == 0))) {
			log_warn("upload of %s: Complete answered NoSuchUpload but the object "
				 "is ours (ETag %s): committed",
				 LOG_KEY(u->key), hi.etag);
			u->mpu_done = 1;
			u->info = hi;
			return 0;
		}
	}
	if (rc < 0) {
		log_error("upload of %s: CompleteMultipartUpload of %d parts failed: %s",
			  LOG_KEY(u->key), nparts, strerror(-rc));
		return rc;
	}
	u->mpu_done = 1;
	u->info.size = u->size;
	u->info.mtime = time(NULL);
	memcpy(u->info.etag, etag, sizeof(etag));
	memcpy(u->info.upload_nonce, u->nonce, sizeof(u->nonce));
	if (!etag[0]) {
		/* Ceph RGW answers Complete with an empty <ETag>: ask the object. */
		rc = s3_head(p->c, u->key, &u->info);
		if (rc < 0) {
			log_error("upload of %s: HEAD after Complete failed: %s", LOG_KEY(u->key),
				  strerror(-rc));
			return rc;
		}
	}
	if (u->info.size != u->size ||
	    (u->info.upload_nonce[0] && strcmp(u->info.upload_nonce, u->nonce) != 0)) {
		/* Not deleted: the object HEAD found may be another writer's,
		 * newer than ours, and nothing proves it is ours. */
		log_error("upload of %s: the object there (%llu bytes, nonce '%s') is not this "
			  "upload's (%llu bytes, nonce %s): another writer's, or not whole; left "
			  "as it is, close fails",
			  LOG_KEY(u->key), (unsigned long long)u->info.size,
			  LOG_KEY(u->info.upload_nonce), (unsigned long long)u->size, u->nonce);
		return -EIO;
	}
	/* (under SSE-KMS/SSE-C no ETag is an MD5: nothing to compare) */
	if (want[0] && !u->info.etag_not_md5 && strcmp(u->info.etag, want) != 0)
		log_warn("upload of %s: ETag %s, expected %s", LOG_KEY(u->key), u->info.etag, want);
	return 0;
}

/* Moves the committed object from key to final_key (see the file head). */
static int move_to_final(struct upload *u)
{
	struct upload_pool *p = u->p;
	char etag[S3_ETAG_MAX] = "";
	int rc = s3_copy(p->c, u->key, u->final_key, u->info.size, etag);
	if (rc < 0) {
		log_error("upload of %s: copy to its new name %s failed: %s", LOG_KEY(u->key),
			  LOG_KEY(u->final_key), strerror(-rc));
		s3_delete(p->c, u->key);
		return rc;
	}
	rc = s3_delete(p->c, u->key);
	if (rc < 0 && rc != -ENOENT)
		log_error("upload of %s (renamed to %s): deleting the old name failed: %s",
			  LOG_KEY(u->key), LOG_KEY(u->final_key), strerror(-rc));
	if (etag[0])
		memcpy(u->info.etag, etag, sizeof(etag));
	else if (s3_head(p->c, u->final_key, &u->info) < 0)
		u->info.etag[0] = '\0';
	u->info.mtime = time(NULL);
	memcpy(u->key, u->final_key, sizeof(u->key));
	return 0;
}

int upload_commit(struct upload *u, struct s3_object_info *info)
{
	struct upload_pool *p = u->p;
	int rc;

	if (u->state == UP_COMMITTED)
		goto done;
	if (u->state != UP_OPEN)
		return u->state == UP_FAILED ? u->fail_rc : -EIO;
	rc = get_err(u);
	if (rc)
		goto fail;
	if (!u->upload_id[0]) {
		char etag[S3_ETAG_MAX] = "";
		rc = s3_put(p->c, u->key, u->buf ? u->buf : "", u->buf_len, NULL, etag);
		if (rc < 0) {
			log_error("upload of %s: PutObject of %zu bytes failed: %s",
				  LOG_KEY(u->key), u->buf_len, strerror(-rc));
			goto fail;
		}
		drop_buffer(u);
		u->info.size = u->size;
		u->info.mtime = time(NULL);
		memcpy(u->info.etag, etag, sizeof(etag));
		u->info.upload_nonce[0] = '\0';
	} else {
		rc = submit_current(u);
		if (rc < 0)
			goto fail;
		pthread_mutex_lock(&u->lock);
		while (u->inflight > 0)
			pthread_cond_wait(&u->cond, &u->lock);
		rc = u->err;
		pthread_mutex_unlock(&u->lock);
		if (rc)
			goto fail;
		rc = complete_mpu(u);
		if (rc < 0)
			goto fail;
	}
	if (strcmp(u->key, u->final_key) != 0) {
		rc = move_to_final(u);
		if (rc < 0)
			goto fail;
	}
	finish_renames(u);
	u->state = UP_COMMITTED;
	log_debug("upload of %s committed: %llu bytes, ETag %s", LOG_KEY(u->final_key),
		  (unsigned long long)u->info.size, u->info.etag);
done:
	if (info)
		*info = u->info;
	return 0;
fail:
	cancel_parts(u);
	abort_mpu(u);
	drop_buffer(u);
	u->state = UP_FAILED;
	u->fail_rc = rc == -EFBIG ? -EFBIG : -EIO;
	log_error("upload of %s failed (%s): nothing was published", LOG_KEY(u->final_key),
		  strerror(-rc));
	return u->fail_rc;
}

/* The committed object goes first: UploadPartCopy parts of at most 5 GiB
 * (server-side: no byte comes back through this host) when it is >= 5 MiB,
 * the smallest a non-last part may be; else a GET into the first part buffer.
 * Copies and the GET name the version just HEADed (If-Match), so the new
 * object's prefix is exactly that version, never a mix. */
int upload_resume(struct upload *u, const char *key)
{
	struct upload_pool *p = u->p;
	struct s3_object_info hi;
	size_t klen = strlen(key);
	uint64_t size = u->size;
	int rc;

	if (u->state != UP_COMMITTED)
		return -EINVAL;
	if (klen == 0 || klen >= S3_KEY_MAX)
		return -ENAMETOOLONG;
	rc = s3_head(p->c, key, &hi);
	if (rc == 0 && (hi.size != size || (strcmp(key, u->key) == 0 && u->info.etag[0] &&
					    strcmp(hi.etag, u->info.etag) != 0)))
		rc = -ESTALE;
	if (rc < 0) {
		log_error("write to %s after its commit: the committed object %s (%s); "
			  "nothing more is written",
			  LOG_KEY(key),
			  rc == -ESTALE ? "was replaced by another writer" : "cannot be read",
			  strerror(-rc));
		goto fail;
	}
	memcpy(u->key, key, klen + 1);
	memcpy(u->final_key, key, klen + 1);
	memcpy(u->src_etag, hi.etag, sizeof(u->src_etag));
	u->upload_id[0] = '\0';
	u->mpu_done = 0;
	u->part_no = 1;
	u->part_cap = part_size_of(p, 1);
	pthread_mutex_lock(&u->lock);
	u->err = 0;
	if (u->parts)
		memset(u->parts, 0, u->parts_alloc * sizeof(*u->parts));
	pthread_mutex_unlock(&u->lock);
	u->state = UP_OPEN;
	if (size == 0)
		return 0;
	if (size < S3_MIN_PART_SIZE) {
		size_t got = 0;
		while (u->buf_map < size) {
			u->buf_len = u->buf_map; /* ensure_room grows a full buffer only */
			rc = ensure_room(u);
			if (rc < 0)
				goto fail_open;
		}
		u->buf_len = 0;
		rc = s3_get_range(p->c, key, 0, (size_t)size, u->buf, &got, hi.etag, NULL);
		if (rc == 0 && got != size)
			rc = -EIO;
		if (rc < 0) {
			log_error("write to %s after its commit: reading back its %llu bytes "
				  "failed: %s",
				  LOG_KEY(key), (unsigned long long)size, strerror(-rc));
			goto fail_open;
		}
		u->buf_len = (size_t)size;
		return 0;
	}
	int n = (int)((size + S3_MAX_PART_SIZE - 1) / S3_MAX_PART_SIZE);
	rc = mpu_create(u, size, n);
	if (rc < 0) {
		u->upload_id[0] = '\0';
		log_error("upload of %s: CreateMultipartUpload failed: %s", LOG_KEY(u->key),
			  strerror(-rc));
		goto fail_open;
	}
	pthread_mutex_lock(&u->lock);
	rc = reserve_parts_locked(u, n + 1);
	pthread_mutex_unlock(&u->lock);
	if (rc < 0)
		goto fail_open;
	for (int i = 0; i < n; i++) {
		/* n equal pieces: each > 2.5 GiB when n > 1, never below 5 MiB */
		uint64_t off = size / (uint64_t)n * (uint64_t)i;
		uint64_t end = i == n - 1 ? size : size / (uint64_t)n * (uint64_t)(i + 1);
		struct part_job *job = calloc(1, sizeof(*job));
		if (!job) {
			rc = -ENOMEM;
			goto fail_open;
		}
		job->u = u;
		job->number = u->part_no++;
		job->copy_off = off;
		job->copy_len = end - off;
		pthread_mutex_lock(&u->lock);
		u->inflight++;
		pthread_mutex_unlock(&u->lock);
		enqueue(p, job);
	}
	u->part_cap = part_size_of(p, u->part_no);
	log_debug("upload of %s: resumed after a commit: %d copied part(s), upload %s",
		  LOG_KEY(u->key), n, u->upload_id);
	return 0;
fail_open:
	cancel_parts(u);
	abort_mpu(u);
	drop_buffer(u);
fail:
	/* The committed version stays as it is; this handle can write no more. */
	u->state = UP_FAILED;
	u->fail_rc = -EIO;
	return -EIO;
}

void upload_abort(struct upload *u)
{
	if (u->state == UP_COMMITTED || u->state == UP_ABORTED)
		return;
	cancel_parts(u);
	abort_mpu(u);
	drop_buffer(u);
	u->state = UP_ABORTED;
}

void upload_free(struct upload *u)
{
	if (!u)
		return;
	struct upload_pool *p = u->p;
	upload_abort(u);
	pthread_mutex_lock(&p->lock);
	if (u->prev)
		u->prev->next = u->next;
	else
		p->open = u->next;
	if (u->next)
		u->next->prev = u->prev;
	pthread_mutex_unlock(&p->lock);
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->lock);
	free(u->parts);
	free(u);
}

void upload_pool_free(struct upload_pool *p)
{
	if (!p)
		return;
	for (;;) {
		pthread_mutex_lock(&p->lock);
		struct upload *u = p->open;
		pthread_mutex_unlock(&p->lock);
		if (!u)
			break;
		if (u->state == UP_OPEN)
			log_warn("upload of %s still open at shutdown: aborted",
				 LOG_KEY(u->final_key));
		upload_free(u);
	}
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->nworkers; i++)
		pthread_join(p->threads[i], NULL);
	while (p->nspare > 0)
		unmap_charged(p->b, p->spare[--p->nspare], p->part_size);
	free(p->threads);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
