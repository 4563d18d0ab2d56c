/* nsops.c: see nsops.h. */
#include "nsops.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define COPY_THREADS_MAX 16

static int is_dir_key(const char *d)
{
	size_t n = strlen(d);
	return n > 0 && n < S3_KEY_MAX && d[n - 1] == '/';
}

int nsops_rename_file(struct s3_client *c, const char *src, const char *dst, uint64_t size)
{
	return nsops_rename_file_if(c, src, dst, size, NULL);
}

int nsops_rename_file_if(struct s3_client *c, const char *src, const char *dst, uint64_t size,
			 const char *src_etag)
{
	char etag[S3_ETAG_MAX];
	int rc = s3_copy_if(c, src, dst, size, src_etag, etag);
	if (rc < 0) {
		if (rc == -ESTALE)
			log_error("rename %s -> %s: the source was replaced by another writer "
				  "since it was seen (ESTALE); nothing changed",
				  LOG_KEY(src), LOG_KEY(dst));
		else
			log_error("rename %s -> %s: copy failed: %s", LOG_KEY(src), LOG_KEY(dst),
				  strerror(-rc));
		return rc;
	}
	rc = s3_delete(c, src);
	if (rc < 0 && rc != -ENOENT) {
		log_error("rename %s -> %s: copied, but deleting the source failed: %s (both "
			  "names exist now)",
			  LOG_KEY(src), LOG_KEY(dst), strerror(-rc));
		return -EIO;
	}
	return 0;
}

/* ---- directory rename ---- */

struct rn_entry {
	char *key;     /* source key */
	uint64_t size; /* bytes */
	int copied;    /* the copy under dst exists */
};

struct rn_job {
	struct s3_client *c;
	const char *src_dir, *dst_dir;
	size_t src_len;
	struct rn_entry *e;
	size_t n;
	pthread_mutex_t lock; /* protects next and failed */
	size_t next;	      /* next entry to copy */
	int failed;	      /* first copy error; stops the others */
};

static int dst_key(const struct rn_job *j, const char *src, char out[S3_KEY_MAX])
{
	int w = snprintf(out, S3_KEY_MAX, "%s%s", j->dst_dir, src + j->src_len);
	return w < 0 || w >= S3_KEY_MAX ? -ENAMETOOLONG : 0;
}

static void *rn_worker(void *arg)
{
	struct rn_job *j = arg;
	for (;;) {
		pthread_mutex_lock(&j->lock);
		size_t i = j->next;
		int stop = j->failed || i >= j->n;
		if (!stop)
			j->next++;
		pthread_mutex_unlock(&j->lock);
		if (stop)
			break;
		char dst[S3_KEY_MAX], etag[S3_ETAG_MAX];
		int rc = dst_key(j, j->e[i].key, dst);
		if (rc == 0)
			rc = s3_copy(j->c, j->e[i].key, dst, j->e[i].size, etag);
		if (rc == 0) {
			j->e[i].copied = 1;
			continue;
		}
		log_error("rename of directory %s: copy %s -> %s failed: %s", LOG_KEY(j->src_dir),
			  LOG_KEY(j->e[i].key), LOG_KEY(dst), strerror(-rc));
		pthread_mutex_lock(&j->lock);
		if (!j->failed)
			j->failed = rc;
		pthread_mutex_unlock(&j->lock);
	}
	return NULL;
}

/* Lists every key under dir into *ents (at most max+1 of them, so a huge
 * directory is refused without listing it whole). */
static int list_all(struct s3_client *c, const char *dir, size_t max, struct rn_entry **ents,
		    size_t *n)
{
	struct s3_list_page pg;
	struct rn_entry *e = NULL;
	size_t cnt = 0, alloc = 0;
	char *cont = NULL;
	int rc = 0;

	for (;;) {
		struct s3_list_req req = {.prefix = dir, .continuation = cont};
		memset(&pg, 0, sizeof(pg));
		rc = s3_list(c, &req, &pg);
		if (rc < 0)
			goto out;
		for (size_t i = 0; i < pg.nentries && cnt <= max; i++) {
			if (cnt == alloc) {
				size_t na = alloc ? alloc * 2 : 64;
				struct rn_entry *ne = realloc(e, na * sizeof(*ne));
				if (!ne) {
					rc = -ENOMEM;
					s3_list_page_release(&pg);
					goto out;
				}
				e = ne;
				alloc = na;
			}
			e[cnt].key = strdup(pg.entries[i].key);
			if (!e[cnt].key) {
				rc = -ENOMEM;
				s3_list_page_release(&pg);
				goto out;
			}
			e[cnt].size = pg.entries[i].size;
			e[cnt].copied = 0;
			cnt++;
		}
		free(cont);
		cont = NULL;
		if (pg.truncated && pg.next_continuation && cnt <= max) {
			cont = strdup(pg.next_continuation);
			if (!cont)
				rc = -ENOMEM;
		}
		s3_list_page_release(&pg);
		if (rc < 0 || !cont)
			break;
	}
out:
	free(cont);
	*ents = e;
	*n = cnt;
	return rc;
}

static void free_entries(struct rn_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].key);
	free(e);
}

/* Deletes in DeleteObjects batches either every source key (dst_side 0) or
 * the copies already made under dst_dir (dst_side 1, the rollback). */
static int delete_keys(struct s3_client *c, const struct rn_job *j, int dst_side)
{
	const char **keys = calloc(j->n ? j->n : 1, sizeof(*keys));
	char **owned = calloc(j->n ? j->n : 1, sizeof(*owned));
	size_t k = 0;
	int rc = 0;
	if (!keys || !owned) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < j->n; i++) {
		if (!dst_side) {
			keys[k++] = j->e[i].key;
			continue;
		}
		if (!j->e[i].copied)
			continue;
		char d[S3_KEY_MAX];
		if (dst_key(j, j->e[i].key, d) < 0)
			continue;
		owned[k] = strdup(d);
		if (!owned[k]) {
			rc = -ENOMEM;
			goto out;
		}
		keys[k] = owned[k];
		k++;
	}
	if (k)
		rc = s3_delete_many(c, keys, k);
out:
	if (owned)
		for (size_t i = 0; i < k; i++)
			free(owned[i]);
	free(owned);
	free(keys);
	return rc;
}

int nsops_rename_dir(struct s3_client *c, const char *src_dir, const char *dst_dir,
		     size_t max_objects, int threads)
{
	struct rn_job j = {.c = c, .src_dir = src_dir, .dst_dir = dst_dir};
	pthread_t tid[COPY_THREADS_MAX];
	int started = 0;
	int rc;

	if (!is_dir_key(src_dir) || !is_dir_key(dst_dir))
		return -EINVAL;
	j.src_len = strlen(src_dir);
	if (strncmp(dst_dir, src_dir, j.src_len) == 0) {
		log_warn("rename of directory %s into itself (%s) refused", LOG_KEY(src_dir),
			 LOG_KEY(dst_dir));
		return -EINVAL;
	}
	if (!max_objects)
		max_objects = NSOPS_RENAME_DIR_MAX_DEFAULT;
	if (threads <= 0)
		threads = NSOPS_COPY_THREADS_DEFAULT;
	if (threads > COPY_THREADS_MAX)
		threads = COPY_THREADS_MAX;

	rc = nsops_dir_empty(c, dst_dir);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		log_warn("rename of directory %s -> %s refused: the target is not empty",
			 LOG_KEY(src_dir), LOG_KEY(dst_dir));
		return -ENOTEMPTY;
	}
	rc = list_all(c, src_dir, max_objects, &j.e, &j.n);
	if (rc < 0) {
		log_error("rename of directory %s: listing failed: %s", LOG_KEY(src_dir),
			  strerror(-rc));
		goto out;
	}
	if (j.n == 0) {
		rc = -ENOENT;
		goto out;
	}
	if (j.n > max_objects) {
		log_error("rename of directory %s -> %s refused: it holds more than %zu objects "
			  "(option max_rename_objects); each would be copied and deleted one "
			  "by one",
			  LOG_KEY(src_dir), LOG_KEY(dst_dir), max_objects);
		rc = -EMLINK;
		goto out;
	}
	pthread_mutex_init(&j.lock, NULL);
	if ((size_t)threads > j.n)
		threads = (int)j.n;
	for (; started < threads; started++)
		if (pthread_create(&tid[started], NULL, rn_worker, &j) != 0)
			break;
	if (started == 0)
		rn_worker(&j);
	for (int i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&j.lock);
	if (j.failed) {
		/* Roll back so the source stays the one true copy. */
		if (delete_keys(c, &j, 1) < 0)
			log_error("rename of directory %s: removing the partial copy under %s "
				  "failed",
				  LOG_KEY(src_dir), LOG_KEY(dst_dir));
		rc = -EIO;
		goto out;
	}
	rc = delete_keys(c, &j, 0);
	if (rc < 0) {
		log_error("rename of directory %s -> %s: copied, but deleting the sources "
			  "failed: %s (some objects exist under both names)",
			  LOG_KEY(src_dir), LOG_KEY(dst_dir), strerror(-rc));
		rc = -EIO;
		goto out;
	}
	log_info("renamed directory %s -> %s (%zu objects)", LOG_KEY(src_dir), LOG_KEY(dst_dir),
		 j.n);
out:
	free_entries(j.e, j.n);
	return rc;
}

/* ---- mkdir, rmdir ---- */

int nsops_dir_empty(struct s3_client *c, const char *dir)
{
	struct s3_list_req req = {.prefix = dir, .max_keys = 2};
	struct s3_list_page pg;
	int rc;

	if (!is_dir_key(dir))
		return -EINVAL;
	memset(&pg, 0, sizeof(pg));
	rc = s3_list(c, &req, &pg);
	if (rc < 0)
		return rc;
	/* "dir/" sorts before every other key under it, so two keys tell. */
	rc = 1;
	for (size_t i = 0; i < pg.nentries; i++)
		if (strcmp(pg.entries[i].key, dir) != 0)
			rc = 0;
	if (pg.nprefixes)
		rc = 0;
	s3_list_page_release(&pg);
	return rc;
}

int nsops_rmdir(struct s3_client *c, const char *dir)
{
	int rc = nsops_dir_empty(c, dir);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return -ENOTEMPTY;
	rc = s3_delete(c, dir);
	if (rc == -ENOENT)
		rc = 0;
	if (rc < 0)
		log_error("rmdir %s: deleting the marker failed: %s", LOG_KEY(dir), strerror(-rc));
	return rc;
}

int nsops_mkdir(struct s3_client *c, const char *dir)
{
	struct s3_put_opts o = {.content_type = "application/x-directory"};
	char etag[S3_ETAG_MAX];
	if (!is_dir_key(dir))
		return -EINVAL;
	int rc = s3_put(c, dir, "", 0, &o, etag);
	if (rc < 0)
		log_error("mkdir %s: PutObject of the marker failed: %s", LOG_KEY(dir),
			  strerror(-rc));
	return rc;
}

/* ---- abandoned uploads ---- */

struct stale {
	char *key;
	char *id;
};

struct stale_list {
	struct stale *v;
	size_t n, alloc;
	time_t cutoff;
	int err;
};

static int collect_stale(void *arg, const char *key, const char *upload_id, time_t initiated)
{
	struct stale_list *l = arg;
	if (initiated >= l->cutoff)
		return 0;
	if (l->n == l->alloc) {
		size_t na = l->alloc ? l->alloc * 2 : 32;
		struct stale *nv = realloc(l->v, na * sizeof(*nv));
		if (!nv) {
			l->err = -ENOMEM;
			return 1;
		}
		l->v = nv;
		l->alloc = na;
	}
	l->v[l->n].key = strdup(key);
	l->v[l->n].id = strdup(upload_id);
	if (!l->v[l->n].key || !l->v[l->n].id) {
		free(l->v[l->n].key);
		free(l->v[l->n].id);
		l->err = -ENOMEM;
		return 1;
	}
	l->n++;
	return 0;
}

int nsops_abort_stale_uploads(struct s3_client *c, const char *prefix, long older_than_seconds)
{
	struct stale_list l = {.cutoff = time(NULL) - older_than_seconds};
	int aborted = 0;
	/* Collect first, abort after: no request nested in a listing callback. */
	int rc = s3_mpu_list(c, prefix ? prefix : "", collect_stale, &l);
	if (rc == 0)
		rc = l.err;
	if (rc < 0) {
		log_error("abandoned uploads under '%s': listing failed: %s",
			  LOG_KEY(prefix ? prefix : ""), strerror(-rc));
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		int e = s3_mpu_abort(c, l.v[i].key, l.v[i].id);
		if (e < 0 && e != -ENOENT) {
			log_error("abandoned upload of %s (%s): abort failed: %s",
				  LOG_KEY(l.v[i].key), l.v[i].id, strerror(-e));
			continue;
		}
		log_info("aborted abandoned multipart upload of %s (%s)", LOG_KEY(l.v[i].key),
			 l.v[i].id);
		aborted++;
	}
	rc = aborted;
out:
	for (size_t i = 0; i < l.n; i++) {
		free(l.v[i].key);
		free(l.v[i].id);
	}
	free(l.v);
	return rc;
}
