/*
 * dir.c: see dir.h. Entries come out in S3 key order (objects and prefixes
 * merged by their full key), which is the order of the listing itself,
 * except files held back at a page's end (they lead the next page).
 *
 * Below the stream, the directory handles: what opendir gives the kernel,
 * and readdir's paging of a stream into the kernel's buffer.
 */
#include "dir.h"

#include <pthread.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fh.h"
#include "log.h"
#include "lookup.h"
#include "monoclock.h"
#include "status.h"

#define DIR_PAGE_KEYS 1000

/* A file entry kept across a page change (its page is released). */
struct dir_held {
	char *name;
	uint64_t size;
	time_t mtime;
	char etag[S3_ETAG_MAX];
};

struct dir_heldv {
	struct dir_held *v;
	size_t n, cap;
};

/* A name from dir_stream_add_local. */
struct dir_local {
	char *name;
	int seen; /* listed in this pass over the directory */
};

struct dir_stream {
	dir_list_fn list;
	void *list_arg;
	char *key;
	size_t key_len;
	struct s3_list_page page;
	int have_page;
	struct dir_entry *ents; /* entries of the current page */
	size_t nents;
	size_t ents_cap;
	struct dir_heldv held; /* held back from the current page for the next */
	struct dir_heldv live; /* held back before, now in ents (owns their names) */
	struct dir_local *locals;
	size_t nlocals;
	uint64_t base;	  /* stream index of ents[0] */
	char *next_token; /* NULL before the first page and after the last */
	int started, eof;
	uint64_t pages;
	double t_cur;  /* when the current page's request was sent */
	double t_ents; /* listed_at of ents: the older of this page and the one
			* before it, since held-back files come from that one */
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* 1 when the page lists the prefix name + '/' (a directory shadows the file). */
static int page_has_prefix(const struct s3_list_page *pg, const char *key)
{
	size_t n = strlen(key);
	char tmp[S3_KEY_MAX + 2];
	if (pg->nprefixes == 0 || n + 2 > sizeof(tmp))
		return 0;
	memcpy(tmp, key, n);
	tmp[n] = '/';
	tmp[n + 1] = '\0';
	const char *want = tmp;
	return bsearch(&want, pg->prefixes, pg->nprefixes, sizeof(char *), cmp_str) != NULL;
}

size_t dir_page_entries(const char *dir_key, struct s3_list_page *pg, struct dir_entry *out)
{
	size_t dl = strlen(dir_key), n = 0, i = 0, j = 0;
	/* shadowing is decided before the prefix strings are rewritten */
	unsigned char *shadow = pg->nentries ? calloc(pg->nentries, 1) : NULL;
	for (size_t k = 0; shadow && k < pg->nentries; k++)
		shadow[k] = (unsigned char)page_has_prefix(pg, pg->entries[k].key);

	while (i < pg->nentries || j < pg->nprefixes) {
		int take_file;
		if (i >= pg->nentries)
			take_file = 0;
		else if (j >= pg->nprefixes)
			take_file = 1;
		else
			take_file = strcmp(pg->entries[i].key, pg->prefixes[j]) < 0;

		if (take_file) {
			struct s3_list_entry *e = &pg->entries[i];
			int shadowed = shadow && shadow[i];
			i++;
			if (strncmp(e->key, dir_key, dl) != 0)
				continue; /* not ours (server quirk) */
			const char *name = e->key + dl;
			size_t len = strlen(name);
			if (len == 0) {
				/* the directory's own marker */
				if (e->size > 0)
					log_warn(
					    "key '%s' ends in '/' but holds %llu bytes: shown as a "
					    "directory, its data is not reachable",
					    LOG_KEY(e->key), (unsigned long long)e->size);
				continue;
			}
			if (len && name[len - 1] == '/')
				continue; /* a marker of a subdirectory (listed as a prefix too) */
			enum lookup_name_verdict v = lookup_name_check(name, len);
			if (v != LOOKUP_NAME_OK) {
				log_warn("skipping key '%s': %s", LOG_KEY(e->key),
					 lookup_name_reason(v));
				continue;
			}
			if (shadowed) {
				log_info("key '%s' is hidden by the directory of the same name",
					 LOG_KEY(e->key));
				continue;
			}
			out[n++] = (struct dir_entry){.name = name,
						      .is_dir = 0,
						      .size = e->size,
						      .mtime = e->mtime,
						      .etag = e->etag};
		} else {
			char *p = pg->prefixes[j++];
			if (strncmp(p, dir_key, dl) != 0)
				continue;
			char *name = p + dl;
			size_t len = strlen(name);
			if (len && name[len - 1] == '/')
				len--;
			enum lookup_name_verdict v = lookup_name_check(name, len);
			if (v != LOOKUP_NAME_OK) {
				log_warn("skipping prefix '%s': %s", LOG_KEY(p),
					 lookup_name_reason(v));
				continue;
			}
			name[len] = '\0';
			out[n++] = (struct dir_entry){.name = name, .is_dir = 1, .etag = ""};
		}
	}
	free(shadow);
	return n;
}

static int dir_list_s3(void *arg, const struct s3_list_req *req, struct s3_list_page *out)
{
	return s3_list(arg, req, out);
}

int dir_stream_new(struct s3_client *c, const char *dir_key, struct dir_stream **out)
{
	return dir_stream_new_fn(dir_list_s3, c, dir_key, out);
}

int dir_stream_new_fn(dir_list_fn fn, void *arg, const char *dir_key, struct dir_stream **out)
{
	struct dir_stream *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->list = fn;
	d->list_arg = arg;
	d->key = strdup(dir_key);
	if (!d->key) {
		free(d);
		return -ENOMEM;
	}
	d->key_len = strlen(dir_key);
	*out = d;
	return 0;
}

int dir_stream_add_local(struct dir_stream *d, const char *name)
{
	for (size_t i = 0; i < d->nlocals; i++)
		if (strcmp(d->locals[i].name, name) == 0)
			return 0;
	struct dir_local *nl = realloc(d->locals, (d->nlocals + 1) * sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	d->locals = nl;
	char *copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	d->locals[d->nlocals++] = (struct dir_local){.name = copy};
	return 0;
}

static void heldv_clear(struct dir_heldv *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i].name);
	h->n = 0;
}

static void heldv_free(struct dir_heldv *h)
{
	heldv_clear(h);
	free(h->v);
	h->v = NULL;
	h->cap = 0;
}

/* Copies e into h (its page is about to go). */
static int heldv_push(struct dir_heldv *h, const struct dir_entry *e)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 8;
		struct dir_held *nv = realloc(h->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		h->v = nv;
		h->cap = cap;
	}
	char *name = strdup(e->name);
	if (!name)
		return -ENOMEM;
	struct dir_held *x = &h->v[h->n++];
	x->name = name;
	x->size = e->size;
	x->mtime = e->mtime;
	snprintf(x->etag, sizeof(x->etag), "%s", e->etag);
	return 0;
}

static void dir_drop_page(struct dir_stream *d)
{
	if (d->have_page)
		s3_list_page_release(&d->page);
	d->have_page = 0;
	d->nents = 0;
}

/* Back to before the first page (a restart, or the end of the stream). */
static void dir_reset(struct dir_stream *d)
{
	dir_drop_page(d);
	heldv_clear(&d->held);
	heldv_clear(&d->live);
	free(d->next_token);
	d->next_token = NULL;
	d->base = 0;
	d->eof = 0;
	d->started = 0;
	for (size_t i = 0; i < d->nlocals; i++)
		d->locals[i].seen = 0;
}

void dir_stream_free(struct dir_stream *d)
{
	if (!d)
		return;
	dir_reset(d);
	heldv_free(&d->held);
	heldv_free(&d->live);
	for (size_t i = 0; i < d->nlocals; i++)
		free(d->locals[i].name);
	free(d->locals);
	free(d->ents);
	free(d->key);
	free(d);
}

/* The greatest key of a page (entries and prefixes are each sorted), before
 * dir_page_entries rewrites the prefixes; NULL for an empty page. */
static const char *page_last_key(const struct s3_list_page *pg)
{
	const char *a = pg->nentries ? pg->entries[pg->nentries - 1].key : NULL;
	const char *b = pg->nprefixes ? pg->prefixes[pg->nprefixes - 1] : NULL;
	if (!a || !b)
		return a ? a : b;
	return strcmp(a, b) > 0 ? a : b;
}

/* 1 when dir_key + name + "/" sorts after last: a later page may still list
 * the directory "name/" that hides the file "name". Byte order, as S3's. */
static int may_be_shadowed_later(const char *dir_key, const char *name, const char *last)
{
	const unsigned char *l = (const unsigned char *)last;
	const unsigned char *parts[3] = {(const unsigned char *)dir_key,
					 (const unsigned char *)name, (const unsigned char *)"/"};
	for (int i = 0; i < 3; i++) {
		for (const unsigned char *p = parts[i]; *p; p++, l++) {
			if (*l != *p)
				return *p > *l; /* also when last ends here (*l == 0) */
		}
	}
	return 0; /* equal, or last is longer: last is past "name/" */
}

/* Marks the local names that ents[from..) lists. */
static void locals_mark(struct dir_stream *d, size_t from)
{
	for (size_t k = from; k < d->nents && d->nlocals; k++)
		for (size_t i = 0; i < d->nlocals; i++)
			if (!d->locals[i].seen && strcmp(d->locals[i].name, d->ents[k].name) == 0)
				d->locals[i].seen = 1;
}

/* Fetches the page after the current one (or the first) and builds its
 * entries: the files held back from the page before (unless this page has
 * their directory), then this page's; files that a later page may still
 * shadow are moved to d->held. On the last page, the local names not listed
 * are appended. */
static int dir_fetch(struct dir_stream *d)
{
	struct s3_list_req req = {.prefix = d->key,
				  .delimiter = "/",
				  .continuation = d->next_token,
				  .max_keys = DIR_PAGE_KEYS};
	struct s3_list_page pg;
	memset(&pg, 0, sizeof(pg));
	double sent = mono_s();
	int rc = d->list(d->list_arg, &req, &pg);
	if (rc < 0)
		return rc;
	if (rc == DIR_LIST_STALE)
		sent = 0; /* known before: must not refresh any attributes */
	d->t_ents = d->base + d->nents > 0 && d->t_cur < sent ? d->t_cur : sent;
	d->t_cur = sent;
	d->pages++;
	d->base += d->nents;
	dir_drop_page(d);
	d->page = pg;
	d->have_page = 1;
	/* the entries held back from the page before are now this page's */
	struct dir_heldv t = d->live;
	heldv_clear(&t);
	d->live = d->held;
	d->held = t;
	size_t need = d->live.n + pg.nentries + pg.nprefixes + d->nlocals;
	if (need > d->ents_cap) {
		struct dir_entry *ne = realloc(d->ents, need * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		d->ents = ne;
		d->ents_cap = need;
	}
	size_t n = 0;
	char fkey[S3_KEY_MAX + 2];
	for (size_t i = 0; i < d->live.n; i++) {
		const struct dir_held *h = &d->live.v[i];
		int len = snprintf(fkey, sizeof(fkey), "%s%s", d->key, h->name);
		if (len > 0 && (size_t)len < sizeof(fkey) && page_has_prefix(&pg, fkey)) {
			log_info("key '%s' is hidden by the directory of the same name",
				 LOG_KEY(fkey));
			continue;
		}
		d->ents[n++] = (struct dir_entry){
		    .name = h->name, .size = h->size, .mtime = h->mtime, .etag = h->etag};
	}
	const char *last = pg.truncated ? page_last_key(&d->page) : NULL;
	/* decided before dir_page_entries rewrites the prefix strings */
	char last_copy[S3_KEY_MAX + 2];
	if (last)
		snprintf(last_copy, sizeof(last_copy), "%s", last);
	n += dir_page_entries(d->key, &d->page, d->ents + n);
	if (last) {
		size_t kept = 0;
		for (size_t k = 0; k < n; k++) {
			const struct dir_entry *e = &d->ents[k];
			if (!e->is_dir && may_be_shadowed_later(d->key, e->name, last_copy)) {
				rc = heldv_push(&d->held, e);
				if (rc)
					return rc;
				continue;
			}
			d->ents[kept++] = *e;
		}
		n = kept;
	}
	d->nents = n;
	locals_mark(d, 0);
	free(d->next_token);
	d->next_token = NULL;
	if (pg.truncated && pg.next_continuation) {
		d->next_token = strdup(pg.next_continuation);
		if (!d->next_token)
			return -ENOMEM;
	} else {
		d->eof = 1;
		/* a truncated page without a token ends the listing too: nothing
		 * can shadow what was held back */
		for (size_t i = 0; i < d->held.n; i++) {
			const struct dir_held *h = &d->held.v[i];
			d->ents[d->nents++] = (struct dir_entry){
			    .name = h->name, .size = h->size, .mtime = h->mtime, .etag = h->etag};
		}
		locals_mark(d, n);
		for (size_t i = 0; i < d->nlocals; i++)
			if (!d->locals[i].seen)
				d->ents[d->nents++] = (struct dir_entry){
				    .name = d->locals[i].name, .local = 1, .etag = ""};
	}
	d->started = 1;
	return 0;
}

int dir_stream_get(struct dir_stream *d, uint64_t idx, struct dir_entry *e)
{
	int rc = 0;
	if (!d->started || idx < d->base) {
		dir_reset(d);
		rc = dir_fetch(d);
	}
	while (!rc && idx >= d->base + d->nents) {
		if (d->eof)
			return 0;
		rc = dir_fetch(d);
	}
	if (rc) {
		dir_reset(d); /* a half-built page: the next get starts over */
		return rc;
	}
	*e = d->ents[idx - d->base];
	e->listed_at = d->t_ents;
	return 1;
}

uint64_t dir_stream_pages(const struct dir_stream *d)
{
	return d->pages;
}

/* ---- directory handles --------------------------------------------------- */

struct dir_handle {
	pthread_mutex_t lock;
	struct dir_stream *ds;
	struct inode *in;		/* holds a ref */
	struct dir_handle *prev, *next; /* fs->dhs; protected by fs->hlock */
	struct fs *fs;
	/* the listing in progress (dir_list_fs): */
	int stale;	 /* it is the last known one, S3 being out of reach */
	double t0;	 /* monotonic s its first page was asked for */
	uint64_t evict0; /* itable evictions then */
};

/* What dir_stale_page builds a page with. */
struct stale_page {
	struct s3_list_page *pg;
	const char *dir_key;
	size_t cap_e, cap_p;
	int err;
};

static int stale_add(void *arg, const struct inode *c)
{
	struct stale_page *sp = arg;
	struct s3_list_page *pg = sp->pg;
	char key[S3_KEY_MAX + 2];
	int n = snprintf(key, sizeof(key), "%s%s%s", sp->dir_key, c->name, c->is_dir ? "/" : "");
	if (n < 0 || (size_t)n >= sizeof(key))
		return 0; /* cannot have been listed under this name */
	char *k = strdup(key);
	if (!k)
		goto nomem;
	if (c->is_dir) {
		if (pg->nprefixes == sp->cap_p) {
			size_t nc = sp->cap_p ? 2 * sp->cap_p : 64;
			char **np = realloc(pg->prefixes, nc * sizeof(*np));
			if (!np)
				goto nomem_k;
			pg->prefixes = np;
			sp->cap_p = nc;
		}
		pg->prefixes[pg->nprefixes++] = k;
		return 0;
	}
	if (pg->nentries == sp->cap_e) {
		size_t nc = sp->cap_e ? 2 * sp->cap_e : 64;
		struct s3_list_entry *ne = realloc(pg->entries, nc * sizeof(*ne));
		if (!ne)
			goto nomem_k;
		pg->entries = ne;
		sp->cap_e = nc;
	}
	struct s3_list_entry *e = &pg->entries[pg->nentries++];
	memset(e, 0, sizeof(*e));
	e->key = k;
	e->size = c->size;
	e->mtime = c->mtime;
	snprintf(e->etag, sizeof(e->etag), "%s", c->etag);
	return 0;
nomem_k:
	free(k);
nomem:
	sp->err = -ENOMEM;
	return 1;
}

/* The directory's last complete listing, as one page rebuilt from the inode
 * table (outage.h): DIR_LIST_STALE, or -ENOENT when no complete listing is
 * known (never listed to its end, or an entry of it was evicted since). */
static int dir_stale_page(struct dir_handle *d, const char *dir_key, struct s3_list_page *out)
{
	struct stale_page sp = {.pg = out, .dir_key = dir_key};
	memset(out, 0, sizeof(*out));
	itable_lock(d->fs->it);
	int known = d->in->listed_full > 0;
	if (known)
		(void)itable_children_locked(d->fs->it, d->in, stale_add, &sp);
	itable_unlock(d->fs->it);
	if (!known || sp.err) {
		s3_list_page_release(out);
		return known ? sp.err : -ENOENT;
	}
	d->stale = 1;
	outage_stale(&d->fs->outage);
	return DIR_LIST_STALE;
}

/* The page source of a mount's directory handle: ListObjectsV2, or while S3
 * is out of reach the last complete listing (outage.h). A listing that fails
 * after its first page fails: half a listing from S3 and half from memory
 * could show a name twice. */
static int dir_list_fs(void *arg, const struct s3_list_req *req, struct s3_list_page *out)
{
	struct dir_handle *d = arg;
	struct fs *fs = d->fs;
	double now = mono_s();
	if (!req->continuation) {
		d->stale = 0;
		d->t0 = now;
		itable_lock(fs->it);
		d->evict0 = itable_evictions_locked(fs->it);
		itable_unlock(fs->it);
		if (outage_skip(&fs->outage) && dir_stale_page(d, req->prefix, out) > 0)
			return DIR_LIST_STALE;
	}
	int rc = s3_list(fs->s3, req, out);
	outage_result(&fs->outage, rc, "LIST", req->prefix, mono_s());
	if (rc && outage_unreachable(rc) && !req->continuation) {
		int src = dir_stale_page(d, req->prefix, out);
		if (src > 0)
			return src;
	}
	return rc;
}

/* The listing reached its end: remember it as complete (stale answers may
 * use it) unless it was the stale one or the table dropped entries meanwhile. */
static void dir_listed_whole(struct fs *fs, struct dir_handle *d)
{
	if (d->stale)
		return;
	itable_lock(fs->it);
	if (itable_evictions_locked(fs->it) == d->evict0)
		d->in->listed_full = d->t0 > 0 ? d->t0 : 1e-9;
	itable_unlock(fs->it);
}

/* Hands the stream the names of the files being written in its directory:
 * their objects do not exist before the commit, so the listing alone would
 * not show them while stat and lookup do (dir.h). Lock order: hlock, then
 * the table lock. */
static int dir_add_writing(struct fs *fs, struct dir_handle *d)
{
	int rc = 0;
	pthread_mutex_lock(&fs->hlock);
	itable_lock(fs->it);
	for (struct fh *h = fs->fhs; h && !rc; h = h->next) {
		const struct inode *c = h->kind == FH_WRITE ? h->in : NULL;
		if (c && c->writers && c->hashed && !c->is_dir && c->parent == d->in)
			rc = dir_stream_add_local(d->ds, c->name);
	}
	itable_unlock(fs->it);
	pthread_mutex_unlock(&fs->hlock);
	return rc;
}

int dir_handle_open(struct fs *fs, fuse_ino_t ino, struct dir_handle **out)
{
	char key[S3_KEY_MAX + 2];
	struct dir_handle *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	pthread_mutex_init(&d->lock, NULL);
	itable_lock(fs->it);
	struct inode *in = itable_find_locked(fs->it, ino);
	int rc = in ? inode_key_locked(fs->it, in, key, sizeof(key)) : -ENOENT;
	if (!rc && !in->is_dir)
		rc = -ENOTDIR;
	if (!rc) {
		d->in = in;
		inode_ref_locked(fs->it, in);
	}
	itable_unlock(fs->it);
	d->fs = fs;
	if (!rc)
		rc = dir_stream_new_fn(dir_list_fs, d, key, &d->ds);
	if (!rc)
		rc = dir_add_writing(fs, d);
	if (rc) {
		dir_stream_free(d->ds);
		if (d->in) {
			itable_lock(fs->it);
			inode_unref_locked(fs->it, d->in);
			itable_unlock(fs->it);
		}
		pthread_mutex_destroy(&d->lock);
		free(d);
		return rc;
	}
	pthread_mutex_lock(&fs->hlock);
	d->next = fs->dhs;
	if (d->next)
		d->next->prev = d;
	fs->dhs = d;
	pthread_mutex_unlock(&fs->hlock);
	*out = d;
	return 0;
}

void dir_handle_free(struct fs *fs, struct dir_handle *d)
{
	pthread_mutex_lock(&fs->hlock);
	if (d->prev)
		d->prev->next = d->next;
	else
		fs->dhs = d->next;
	if (d->next)
		d->next->prev = d->prev;
	pthread_mutex_unlock(&fs->hlock);
	dir_stream_free(d->ds);
	itable_lock(fs->it);
	inode_unref_locked(fs->it, d->in);
	itable_unlock(fs->it);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* Offsets: entry k of the stream has offset k + 3; "." is 1, ".." is 2. */
ssize_t dir_handle_read(struct fs *fs, fuse_req_t req, struct dir_handle *d, fuse_ino_t ino,
			char *buf, size_t size, off_t off, int plus)
{
	size_t pos = 0;
	int rc = 0;
	pthread_mutex_lock(&d->lock);
	uint64_t pages0 = dir_stream_pages(d->ds);
	for (uint64_t k = (uint64_t)off;; k++) {
		struct fuse_entry_param e;
		memset(&e, 0, sizeof(e));
		const char *name;
		struct inode *counted = NULL;
		if (k < 2) {
			name = k == 0 ? "." : "..";
			e.attr.st_ino = k == 0 ? ino : FUSE_ROOT_ID;
			e.attr.st_mode = S_IFDIR;
		} else {
			struct dir_entry de;
			rc = dir_stream_get(d->ds, k - 2, &de);
			if (rc == 0)
				dir_listed_whole(fs, d);
			if (rc <= 0)
				break;
			name = de.name;
			if (ino == FUSE_ROOT_ID && strcmp(name, STATUS_NAME) == 0)
				continue; /* hidden by the status file (status.h) */
			itable_lock(fs->it);
			struct inode *c;
			if (de.local) {
				/* being written here: the inode has the attributes;
				 * gone (unlinked, renamed) means no entry */
				c = itable_child_locked(fs->it, d->in, de.name);
				if (!c || c->is_dir) {
					itable_unlock(fs->it);
					continue;
				}
			} else {
				c = itable_upsert_locked(fs->it, d->in, de.name, de.is_dir, de.size,
							 de.mtime, de.is_dir ? NULL : de.etag,
							 de.listed_at);
			}
			if (c) {
				if (plus) {
					fs_fill_entry_locked(fs, c, &e);
					counted = c;
				} else {
					e.attr.st_ino = c->ino;
					e.attr.st_mode = c->is_dir ? S_IFDIR : S_IFREG;
				}
			}
			itable_unlock(fs->it);
			if (!c) {
				rc = -ENOMEM;
				break;
			}
		}
		size_t room = size - pos, need;
		if (plus)
			need =
			    fuse_add_direntry_plus(req, buf + pos, room, name, &e, (off_t)(k + 1));
		else
			need =
			    fuse_add_direntry(req, buf + pos, room, name, &e.attr, (off_t)(k + 1));
		if (need > room) {
			if (counted)
				itable_forget(fs->it, counted->ino, 1);
			rc = 0;
			break;
		}
		pos += need;
	}
	fs_count(&fs->n_readdir_pages, dir_stream_pages(d->ds) - pages0);
	pthread_mutex_unlock(&d->lock);
	return rc < 0 && pos == 0 ? rc : (ssize_t)pos;
}
