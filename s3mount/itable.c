/*
 * itable.c: see itable.h. Two chained hash tables (by number, by parent+name)
 * that double when their load passes 1, and an LRU list of unused cached
 * inodes trimmed to ITABLE_MAX_UNUSED.
 */
#include "itable.h"
#include "monoclock.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROOT_INO 1 /* FUSE_ROOT_ID */

struct itable {
	pthread_mutex_t lock;
	char *prefix;
	size_t prefix_len;
	struct inode *root;
	uint64_t next_ino;
	struct inode **by_ino;		   /* nbuckets chains via next_ino */
	struct inode **by_name;		   /* nbuckets chains via next_name */
	size_t nbuckets;		   /* power of two */
	size_t count;			   /* inodes in by_ino */
	struct inode *lru_head, *lru_tail; /* oldest at head */
	size_t nunused;
	uint64_t evictions; /* cached entries dropped by itable_trim */
};

static size_t ino_hash(uint64_t ino)
{
	ino ^= ino >> 33;
	ino *= 0xff51afd7ed558ccdull;
	ino ^= ino >> 33;
	return (size_t)ino;
}

static size_t name_hash(uint64_t parent, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull ^ parent;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ull;
	}
	return (size_t)(h ^ (h >> 29));
}

static void lru_remove(struct itable *it, struct inode *in)
{
	if (!in->on_lru)
		return;
	if (in->lru_prev)
		in->lru_prev->lru_next = in->lru_next;
	else
		it->lru_head = in->lru_next;
	if (in->lru_next)
		in->lru_next->lru_prev = in->lru_prev;
	else
		it->lru_tail = in->lru_prev;
	in->lru_prev = in->lru_next = NULL;
	in->on_lru = 0;
	it->nunused--;
}

static void lru_append(struct itable *it, struct inode *in)
{
	in->lru_next = NULL;
	in->lru_prev = it->lru_tail;
	if (it->lru_tail)
		it->lru_tail->lru_next = in;
	else
		it->lru_head = in;
	it->lru_tail = in;
	in->on_lru = 1;
	it->nunused++;
}

static void hash_remove_name(struct itable *it, struct inode *in)
{
	if (!in->hashed)
		return;
	struct inode **pp = &it->by_name[name_hash(in->parent->ino, in->name) & (it->nbuckets - 1)];
	while (*pp && *pp != in)
		pp = &(*pp)->next_name;
	if (*pp)
		*pp = in->next_name;
	in->next_name = NULL;
	in->hashed = 0;
}

static void hash_insert_name(struct itable *it, struct inode *in)
{
	size_t b = name_hash(in->parent->ino, in->name) & (it->nbuckets - 1);
	in->next_name = it->by_name[b];
	it->by_name[b] = in;
	in->hashed = 1;
}

static void hash_remove_ino(struct itable *it, struct inode *in)
{
	struct inode **pp = &it->by_ino[ino_hash(in->ino) & (it->nbuckets - 1)];
	while (*pp && *pp != in)
		pp = &(*pp)->next_ino;
	if (*pp)
		*pp = in->next_ino;
	in->next_ino = NULL;
	it->count--;
}

/* Doubles both tables; on allocation failure the tables just stay longer. */
static void itable_grow(struct itable *it)
{
	size_t nb = it->nbuckets * 2;
	struct inode **bi = calloc(nb, sizeof(*bi));
	struct inode **bn = calloc(nb, sizeof(*bn));
	if (!bi || !bn) {
		free(bi);
		free(bn);
		return;
	}
	for (size_t i = 0; i < it->nbuckets; i++) {
		struct inode *in = it->by_ino[i], *next;
		for (; in; in = next) {
			next = in->next_ino;
			size_t b = ino_hash(in->ino) & (nb - 1);
			in->next_ino = bi[b];
			bi[b] = in;
		}
		in = it->by_name[i];
		for (; in; in = next) {
			next = in->next_name;
			size_t b = name_hash(in->parent->ino, in->name) & (nb - 1);
			in->next_name = bn[b];
			bn[b] = in;
		}
	}
	free(it->by_ino);
	free(it->by_name);
	it->by_ino = bi;
	it->by_name = bn;
	it->nbuckets = nb;
}

static void inode_destroy(struct itable *it, struct inode *in);

/* Frees in when nothing refers to it, or parks it on the LRU list when it is
 * still a useful cached entry. */
static void inode_settle(struct itable *it, struct inode *in)
{
	if (in->ino == ROOT_INO || in->nlookup || in->refs)
		return;
	if (in->hashed) {
		if (!in->on_lru)
			lru_append(it, in);
		return;
	}
	inode_destroy(it, in);
}

static void inode_destroy(struct itable *it, struct inode *in)
{
	struct inode *parent = in->parent;
	lru_remove(it, in);
	hash_remove_name(it, in);
	hash_remove_ino(it, in);
	free(in->name);
	free(in);
	if (parent) {
		parent->refs--;
		inode_settle(it, parent);
	}
}

/* Trims the unused list to its cap, oldest first. */
static void itable_trim(struct itable *it)
{
	while (it->nunused > ITABLE_MAX_UNUSED && it->lru_head) {
		struct inode *in = it->lru_head;
		lru_remove(it, in);
		hash_remove_name(it, in);
		/* its directory's last listing is no longer whole here */
		if (in->parent)
			in->parent->listed_full = 0;
		it->evictions++;
		inode_destroy(it, in);
	}
}

int itable_new(const char *prefix, struct itable **out)
{
	struct itable *it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	pthread_mutex_init(&it->lock, NULL);
	it->nbuckets = 1024;
	it->by_ino = calloc(it->nbuckets, sizeof(*it->by_ino));
	it->by_name = calloc(it->nbuckets, sizeof(*it->by_name));
	it->prefix = strdup(prefix ? prefix : "");
	it->root = calloc(1, sizeof(*it->root));
	if (!it->by_ino || !it->by_name || !it->prefix || !it->root) {
		free(it->root);
		it->root = NULL;
		itable_free(it);
		return -ENOMEM;
	}
	it->prefix_len = strlen(it->prefix);
	it->root->ino = ROOT_INO;
	it->root->is_dir = 1;
	it->root->name = strdup("");
	if (!it->root->name) {
		itable_free(it);
		return -ENOMEM;
	}
	it->root->mtime = time(NULL);
	it->root->nlookup = 1;
	it->by_ino[ino_hash(ROOT_INO) & (it->nbuckets - 1)] = it->root;
	it->count = 1;
	it->next_ino = ROOT_INO + 1;
	*out = it;
	return 0;
}

void itable_free(struct itable *it)
{
	if (!it)
		return;
	for (size_t i = 0; it->by_ino && i < it->nbuckets; i++) {
		struct inode *in = it->by_ino[i], *next;
		for (; in; in = next) {
			next = in->next_ino;
			free(in->name);
			free(in);
		}
	}
	free(it->by_ino);
	free(it->by_name);
	free(it->prefix);
	pthread_mutex_destroy(&it->lock);
	free(it);
}

void itable_lock(struct itable *it)
{
	pthread_mutex_lock(&it->lock);
}

void itable_unlock(struct itable *it)
{
	pthread_mutex_unlock(&it->lock);
}

struct inode *itable_root_locked(struct itable *it)
{
	return it->root;
}

int itable_children_locked(struct itable *it, const struct inode *dir,
			   int (*fn)(void *arg, const struct inode *child), void *arg)
{
	for (size_t b = 0; b < it->nbuckets; b++)
		for (struct inode *in = it->by_ino[b]; in; in = in->next_ino)
			if (in->parent == dir && in->hashed) {
				int rc = fn(arg, in);
				if (rc)
					return rc;
			}
	return 0;
}

uint64_t itable_evictions_locked(const struct itable *it)
{
	return it->evictions;
}

struct inode *itable_find_locked(struct itable *it, uint64_t ino)
{
	struct inode *in = it->by_ino[ino_hash(ino) & (it->nbuckets - 1)];
	while (in && in->ino != ino)
		in = in->next_ino;
	return in;
}

struct inode *itable_child_locked(struct itable *it, struct inode *parent, const char *name)
{
	struct inode *in = it->by_name[name_hash(parent->ino, name) & (it->nbuckets - 1)];
	while (in && !(in->parent == parent && strcmp(in->name, name) == 0))
		in = in->next_name;
	return in;
}

static void inode_set_attrs(struct inode *in, uint64_t size, time_t mtime, const char *etag,
			    double now)
{
	in->size = size;
	in->mtime = mtime;
	if (etag)
		snprintf(in->etag, sizeof(in->etag), "%s", etag);
	else
		in->etag[0] = '\0';
	in->attr_time = now;
}

struct inode *itable_upsert_locked(struct itable *it, struct inode *parent, const char *name,
				   int is_dir, uint64_t size, time_t mtime, const char *etag,
				   double now)
{
	struct inode *in = itable_child_locked(it, parent, name);
	if (in && !in->is_dir == !is_dir) {
		/* A file being written here is authoritative over what S3 says,
		 * and so are attributes confirmed after `now` (when the caller's
		 * HEAD or LIST was sent): a listing that was in flight while this
		 * mount committed a new version must not put the old ETag back,
		 * or the next open pins it and its GET fails If-Match (ESTALE). */
		if (!in->writers && now >= in->attr_time)
			inode_set_attrs(in, size, mtime, etag, now);
		if (in->on_lru) { /* refresh its place: recently confirmed */
			lru_remove(it, in);
			lru_append(it, in);
		}
		return in;
	}
	if (in) {
		hash_remove_name(it, in);
		lru_remove(it, in);
		inode_settle(it, in);
	}
	in = calloc(1, sizeof(*in));
	if (!in)
		return NULL;
	in->name = strdup(name);
	if (!in->name) {
		free(in);
		return NULL;
	}
	if (it->count >= it->nbuckets)
		itable_grow(it);
	in->ino = it->next_ino++;
	in->is_dir = is_dir;
	inode_set_attrs(in, size, mtime, etag, now);
	in->parent = parent;
	parent->refs++;
	lru_remove(it, parent);
	size_t b = ino_hash(in->ino) & (it->nbuckets - 1);
	in->next_ino = it->by_ino[b];
	it->by_ino[b] = in;
	it->count++;
	hash_insert_name(it, in);
	lru_append(it, in); /* unused until someone looks it up */
	itable_trim(it);
	return in;
}

void inode_lookup_locked(struct itable *it, struct inode *in)
{
	in->nlookup++;
	lru_remove(it, in);
}

void itable_forget(struct itable *it, uint64_t ino, uint64_t n)
{
	itable_lock(it);
	struct inode *in = itable_find_locked(it, ino);
	if (in && in->ino != ROOT_INO) {
		in->nlookup = n >= in->nlookup ? 0 : in->nlookup - n;
		inode_settle(it, in);
		itable_trim(it);
	}
	itable_unlock(it);
}

void inode_ref_locked(struct itable *it, struct inode *in)
{
	in->refs++;
	lru_remove(it, in);
}

void inode_unref_locked(struct itable *it, struct inode *in)
{
	if (in->refs)
		in->refs--;
	inode_settle(it, in);
	itable_trim(it);
}

void inode_unhash_locked(struct itable *it, struct inode *in)
{
	if (in->ino == ROOT_INO)
		return;
	hash_remove_name(it, in);
	lru_remove(it, in);
	inode_settle(it, in);
}

int inode_move_locked(struct itable *it, struct inode *in, struct inode *new_parent,
		      const char *new_name)
{
	char *name = strdup(new_name);
	if (!name)
		return -ENOMEM;
	struct inode *old = itable_child_locked(it, new_parent, new_name);
	if (old && old != in)
		inode_unhash_locked(it, old);
	hash_remove_name(it, in);
	free(in->name);
	in->name = name;
	if (in->parent != new_parent) {
		struct inode *op = in->parent;
		new_parent->refs++;
		lru_remove(it, new_parent);
		in->parent = new_parent;
		op->refs--;
		inode_settle(it, op);
	}
	hash_insert_name(it, in);
	return 0;
}

static int key_build(struct itable *it, const struct inode *in, char *out, size_t cap, size_t *len)
{
	/* the length first, then the names from the leaf backwards */
	size_t need = it->prefix_len;
	for (const struct inode *p = in; p && p->parent; p = p->parent)
		need += strlen(p->name) + 1;
	if (need + 1 > cap || need > S3_KEY_MAX - 1)
		return -ENAMETOOLONG;
	out[need] = '\0';
	size_t pos = need;
	for (const struct inode *p = in; p && p->parent; p = p->parent) {
		size_t n = strlen(p->name);
		pos -= n + 1;
		memcpy(out + pos, p->name, n);
		out[pos + n] = '/';
	}
	memcpy(out, it->prefix, it->prefix_len);
	*len = need;
	return 0;
}

int inode_key_locked(struct itable *it, const struct inode *in, char *out, size_t cap)
{
	size_t len;
	int rc = key_build(it, in, out, cap, &len);
	if (rc)
		return rc;
	/* key_build leaves a '/' after every name: right for a directory */
	if (!in->is_dir && len)
		out[len - 1] = '\0';
	return 0;
}

int inode_child_key_locked(struct itable *it, const struct inode *parent, const char *name, int dir,
			   char *out, size_t cap)
{
	size_t len, n = strlen(name);
	int rc = key_build(it, parent, out, cap, &len);
	if (rc)
		return rc;
	if (len + n + 2 > cap || len + n + (dir ? 1 : 0) > S3_KEY_MAX - 1)
		return -ENAMETOOLONG;
	memcpy(out + len, name, n);
	len += n;
	if (dir)
		out[len++] = '/';
	out[len] = '\0';
	return 0;
}

void itable_stats(struct itable *it, struct itable_stats *out)
{
	itable_lock(it);
	out->inodes = it->count;
	out->unused = it->nunused;
	itable_unlock(it);
}
