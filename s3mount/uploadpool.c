/*
 * uploadpool.c: the part buffers and the worker pool of the upload module
 * (upload.h is the contract; uploadint.h what its files share). upload.c
 * fills a file's parts and hands them over here; the workers upload them.
 *
 * Shape: the writer thread fills one part buffer per file; a full part is
 * queued (FIFO, shared by all files) for the pool's workers, which compute
 * its CRC (upload_cksum_prepare: in parallel, off the writer's thread),
 * upload it with UploadPart, record its ETag and CRC and give the buffer
 * back to the budget. Part buffers are anonymous mmaps, not
 * malloc: multi-MiB blocks freed by other threads would otherwise stay in
 * glibc arenas and RSS would drift above the budget; munmap returns them at
 * once. The first part grows by mremap (no copy) so small files stay cheap
 * (see upload_ensure_room for why it grows in one step).
 */
#define _GNU_SOURCE /* mremap */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "crc.h"
#include "log.h"
#include "partsize.h"
#include "uploadint.h"

#define FIRST_BUF_MIN (64u * 1024) /* initial first-part buffer, bytes */
#define WORKERS_DEFAULT 8
#define WORKERS_MAX 64

/* Size of part n: the policy of partsize.h, capped at half the budget so
 * that one part can upload while the next fills (see upload_pool_new). */
uint64_t upload_part_size_of(const struct upload_pool *p, int n)
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
	int keep =
	    m && n == p->part_size && p->nspare < SPARE_MAX && p->waiters == 0 && !p->stopping;
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
int upload_ensure_room(struct upload *u)
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

void upload_drop_buffer(struct upload *u)
{
	unmap_charged(u->p->b, u->buf, u->buf_map);
	u->buf = NULL;
	u->buf_len = 0;
	u->buf_map = 0;
}

/* ---- checksums ---- */

/* Decisions logged once per mount (pool->ck_logged). */
#define CK_LOG_ECHO 1	 /* the server echoed: it validates */
#define CK_LOG_NO_ECHO 2 /* it did not */
#define CK_LOG_LOST 4	 /* AUTO: it echoed, then stopped */

static int ck_log_once(struct upload_pool *p, int bit)
{
	return !(atomic_fetch_or(&p->ck_logged, bit) & bit);
}

void upload_cksum_prepare(struct upload *u, const void *data, size_t len, struct s3_cksum *ck)
{
	struct upload_pool *p = u->p;
	memset(ck, 0, sizeof(*ck));
	ck->alg = u->ck_alg;
	if (ck->alg == S3_CKSUM_CRC32C)
		ck->crc = crc32c(0, data, len);
	else if (ck->alg == S3_CKSUM_CRC64NVME)
		ck->crc = crc64nvme(0, data, len);
	if (p->ck_mode == UPLOAD_CKSUM_OFF)
		ck->no_md5 = 1;
	else if (ck->alg == S3_CKSUM_NONE) /* MD5, or an upload with no CRC */
		ck->no_md5 = 0;
	else if (p->ck_mode == UPLOAD_CKSUM_AUTO)
		ck->no_md5 = atomic_load(&p->ck_validated);
	else /* a forced CRC: the user says the server validates it */
		ck->no_md5 = 1;
}

void upload_cksum_learn(struct upload_pool *p, const struct s3_cksum *ck, const char *op)
{
	const char *alg = ck->alg == S3_CKSUM_CRC32C	  ? "crc32c"
			  : ck->alg == S3_CKSUM_CRC64NVME ? "crc64nvme"
							  : NULL;
	if (!alg)
		return;
	int forced = p->ck_mode != UPLOAD_CKSUM_AUTO;
	if (ck->echoed) {
		if (!forced)
			atomic_store(&p->ck_validated, 1);
		if (ck_log_once(p, CK_LOG_ECHO))
			log_info(
			    "checksum: the server validates %s (it echoed x-amz-checksum-%s on "
			    "%s): %s",
			    alg, alg, op,
			    forced ? "as checksum= asserts"
				   : "Content-MD5 is no longer computed nor sent");
		return;
	}
	if (!forced && ck->no_md5) {
		/* sent without MD5 and not echoed: this body was not checked
		 * by anyone we know of; send MD5 again from now on */
		atomic_store(&p->ck_validated, 0);
		if (ck_log_once(p, CK_LOG_LOST))
			log_warn("checksum: the server echoed %s before and did not on %s: "
				 "Content-MD5 is sent again",
				 alg, op);
		return;
	}
	if (ck_log_once(p, CK_LOG_NO_ECHO)) {
		if (forced)
			log_warn(
			    "checksum: the server did not echo x-amz-checksum-%s on %s: it may "
			    "not validate checksums, and checksum=%s sends no Content-MD5 "
			    "(checksum=auto would)",
			    alg, op, alg);
		else
			log_info(
			    "checksum: the server does not echo x-amz-checksum-%s (it does not "
			    "validate checksums): Content-MD5 is sent with every upload as well",
			    alg);
	}
}

/* ---- the worker pool ---- */

static void run_job(struct upload_pool *p, struct part_job *job)
{
	struct upload *u = job->u;
	char etag[S3_ETAG_MAX] = "";
	struct s3_cksum ck = {.alg = S3_CKSUM_NONE};
	int rc = 0;

	pthread_mutex_lock(&u->lock);
	int skip = u->err != 0;
	pthread_mutex_unlock(&u->lock);
	/* key and upload_id do not change while parts are in flight: retarget
	 * only touches final_key once the upload is open. */
	if (!skip && job->copy_len) {
		rc = s3_mpu_upload_part_copy(p->c, u->key, u->upload_id, job->number, u->key,
					     job->copy_off, job->copy_len, u->src_etag, etag);
	} else if (!skip) {
		/* here, in parallel over the workers, not in the writer */
		upload_cksum_prepare(u, job->data, job->len, &ck);
		rc = s3_mpu_upload_part(p->c, u->key, u->upload_id, job->number, job->data,
					job->len, &ck, etag);
		if (rc == 0)
			upload_cksum_learn(p, &ck, "UploadPart");
	}
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
			u->parts_done++;
			u->bytes_done += job->copy_len ? job->copy_len : job->len;
			if (!job->copy_len) { /* a copy's CRC was set by upload_resume */
				s3_cksum_b64(ck.alg, ck.crc, sp->cksum);
				u->psum[job->number - 1] =
				    (struct upload_psum){.crc = ck.crc, .len = job->len};
			}
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
	p->no_conditions = o ? o->no_conditions : 0;
	p->ck_mode = o ? o->checksum : UPLOAD_CKSUM_AUTO;
	p->ck_alg = p->ck_mode == UPLOAD_CKSUM_CRC32C ? S3_CKSUM_CRC32C
		    : p->ck_mode == UPLOAD_CKSUM_MD5 || p->ck_mode == UPLOAD_CKSUM_OFF
			? S3_CKSUM_NONE
			: S3_CKSUM_CRC64NVME;
	if (p->ck_mode == UPLOAD_CKSUM_MD5)
		log_info("checksum: uploads carry Content-MD5 only (checksum=md5)");
	else if (p->ck_mode == UPLOAD_CKSUM_OFF)
		log_warn("checksum: uploads carry no checksum (checksum=off): only the SigV4 "
			 "payload hash guards them");
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
	return (size_t)upload_part_size_of(p, part_number);
}

/* ---- the queue ---- */

/* Queues a job for the workers. */
void upload_enqueue(struct upload_pool *p, struct part_job *job)
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

/* Drops this upload's parts still waiting in the queue (their data would be
 * discarded anyway) and waits for those being uploaded. */
void upload_cancel_parts(struct upload *u)
{
	struct upload_pool *p = u->p;
	struct part_job **pp, *dropped = NULL;
	int n = 0;

	upload_set_err(u, -ECANCELED);
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

int upload_pool_each(struct upload_pool *p, upload_each_fn fn, void *arg)
{
	int rc = 0;
	char key[S3_KEY_MAX];
	pthread_mutex_lock(&p->lock);
	for (struct upload *u = p->open; u && !rc; u = u->next) {
		pthread_mutex_lock(&u->lock);
		memcpy(key, u->final_key, sizeof(key));
		uint64_t bytes = u->bytes_done;
		int parts = u->parts_done;
		int busy = u->inflight;
		pthread_mutex_unlock(&u->lock);
		if (parts || busy)
			rc = fn(arg, key, bytes, parts);
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}
