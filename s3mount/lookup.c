/*
 * lookup.c: see lookup.h. The probe runs HEAD in a short-lived thread while the
 * calling FUSE thread runs the LIST, so a lookup costs one round trip, not
 * two.
 */
#include "lookup.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

enum lookup_name_verdict lookup_name_check(const char *name, size_t len)
{
	if (len == 0)
		return LOOKUP_NAME_EMPTY;
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return LOOKUP_NAME_DOT;
	if (len > LOOKUP_NAME_MAX)
		return LOOKUP_NAME_LONG;
	if (memchr(name, '/', len))
		return LOOKUP_NAME_SLASH;
	return LOOKUP_NAME_OK;
}

const char *lookup_name_reason(enum lookup_name_verdict v)
{
	switch (v) {
	case LOOKUP_NAME_OK:
		return "ok";
	case LOOKUP_NAME_EMPTY:
		return "empty path component (\"a//b\")";
	case LOOKUP_NAME_DOT:
		return "'.' or '..' component";
	case LOOKUP_NAME_LONG:
		return "name over 255 bytes";
	case LOOKUP_NAME_SLASH:
		return "name holds '/'";
	}
	return "?";
}

struct head_job {
	struct s3_client *c;
	const char *key;
	struct s3_object_info info;
	int rc;
};

static void *head_thread(void *arg)
{
	struct head_job *j = arg;
	j->rc = s3_head(j->c, j->key, &j->info);
	return NULL;
}

int lookup_probe(struct s3_client *c, const char *file_key, const char *dir_key,
		 struct lookup_probe *out)
{
	struct head_job job = {.c = c, .key = file_key, .rc = -ENOENT};
	pthread_t th;
	int threaded = pthread_create(&th, NULL, head_thread, &job) == 0;

	struct s3_list_req req = {.prefix = dir_key, .delimiter = "/", .max_keys = 1};
	struct s3_list_page page;
	memset(&page, 0, sizeof(page));
	int lrc = s3_list(c, &req, &page);
	int is_dir = lrc == 0 && (page.nentries > 0 || page.nprefixes > 0);
	if (lrc == 0)
		s3_list_page_release(&page);

	if (threaded)
		pthread_join(th, NULL);
	else
		head_thread(&job);

	memset(out, 0, sizeof(*out));
	if (is_dir) {
		out->is_dir = 1;
		return 0;
	}
	if (job.rc == 0) {
		out->info = job.info;
		return 0;
	}
	if (job.rc == -EACCES) {
		/* A HEAD answer has no body, so its log line cannot say why (no S3
		 * code). Only on this error path: one byte of GET, whose error
		 * body names the code (AccessDenied, SignatureDoesNotMatch ...)
		 * in the log. Its result does not change the answer. */
		char b;
		size_t got;
		(void)s3_get_range(c, file_key, 0, 1, &b, &got, NULL, NULL);
	}
	if (job.rc != -ENOENT)
		return job.rc;
	if (lrc != 0 && lrc != -ENOENT)
		return lrc;
	return -ENOENT;
}

/* ---- negative cache ---------------------------------------------------- */

#define NEG_BUCKETS 4096

struct neg_entry {
	struct neg_entry *next;
	uint64_t parent;
	double expiry;
	char name[]; /* NUL-terminated */
};

struct lookup_neg {
	pthread_mutex_t lock;
	struct neg_entry *b[NEG_BUCKETS];
	size_t count;
};

static size_t neg_hash(uint64_t parent, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull ^ (parent * 0x9e3779b97f4a7c15ull);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ull;
	}
	return (size_t)(h % NEG_BUCKETS);
}

int lookup_neg_new(struct lookup_neg **out)
{
	struct lookup_neg *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	pthread_mutex_init(&n->lock, NULL);
	*out = n;
	return 0;
}

static void neg_clear_locked(struct lookup_neg *n)
{
	for (size_t i = 0; i < NEG_BUCKETS; i++) {
		struct neg_entry *e = n->b[i], *next;
		for (; e; e = next) {
			next = e->next;
			free(e);
		}
		n->b[i] = NULL;
	}
	n->count = 0;
}

void lookup_neg_free(struct lookup_neg *n)
{
	if (!n)
		return;
	neg_clear_locked(n);
	pthread_mutex_destroy(&n->lock);
	free(n);
}

/* Unlinks and returns the entry for (parent, name), or NULL. */
static struct neg_entry *neg_take_locked(struct lookup_neg *n, uint64_t parent, const char *name)
{
	struct neg_entry **pp = &n->b[neg_hash(parent, name)];
	for (; *pp; pp = &(*pp)->next) {
		struct neg_entry *e = *pp;
		if (e->parent == parent && strcmp(e->name, name) == 0) {
			*pp = e->next;
			n->count--;
			return e;
		}
	}
	return NULL;
}

void lookup_neg_add(struct lookup_neg *n, uint64_t parent, const char *name, double expiry)
{
	size_t len = strlen(name);
	pthread_mutex_lock(&n->lock);
	struct neg_entry *e = neg_take_locked(n, parent, name);
	if (!e) {
		if (n->count >= LOOKUP_NEG_MAX)
			neg_clear_locked(n);
		e = malloc(sizeof(*e) + len + 1);
	}
	if (e) {
		e->parent = parent;
		e->expiry = expiry;
		memcpy(e->name, name, len + 1);
		size_t h = neg_hash(parent, name);
		e->next = n->b[h];
		n->b[h] = e;
		n->count++;
	}
	pthread_mutex_unlock(&n->lock);
}

int lookup_neg_check(struct lookup_neg *n, uint64_t parent, const char *name, double now)
{
	int hit = 0;
	pthread_mutex_lock(&n->lock);
	struct neg_entry *e = neg_take_locked(n, parent, name);
	if (e) {
		if (e->expiry > now) {
			hit = 1;
			size_t h = neg_hash(parent, name);
			e->next = n->b[h];
			n->b[h] = e;
			n->count++;
		} else {
			free(e);
		}
	}
	pthread_mutex_unlock(&n->lock);
	return hit;
}

void lookup_neg_remove(struct lookup_neg *n, uint64_t parent, const char *name)
{
	pthread_mutex_lock(&n->lock);
	free(neg_take_locked(n, parent, name));
	pthread_mutex_unlock(&n->lock);
}
