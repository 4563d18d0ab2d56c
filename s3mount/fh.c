/*
 * fh.c: see fh.h. The lifetime of a handle of either kind; what a write
 * handle does in each state is wfile.c's.
 */
#include "fh.h"

#include <stdlib.h>

#include "verify.h"

void fh_free(struct fs *fs, struct fh *h)
{
	if (!h)
		return;
	if (h->r) {
		reader_free(h->r);
		atomic_fetch_sub(&fs->open_readers, 1);
	}
	verify_free(h->v);
	if (h->u)
		upload_free(h->u);
	if (h->in) {
		itable_lock(fs->it);
		if (h->kind == FH_WRITE) {
			if (h->in->wctx == h)
				h->in->wctx = NULL;
			if (h->state == FH_OPEN && h->in->writers)
				h->in->writers--;
		}
		inode_unref_locked(fs->it, h->in);
		h->in = NULL; /* dir.c may still meet h on fs->fhs */
		itable_unlock(fs->it);
	}
	pthread_mutex_lock(&fs->hlock);
	if (h->prev)
		h->prev->next = h->next;
	else
		fs->fhs = h->next;
	if (h->next)
		h->next->prev = h->prev;
	pthread_mutex_unlock(&fs->hlock);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/* Drops a pin taken by rename; frees the handle if RELEASE came meanwhile. */
void fh_unpin(struct fs *fs, struct fh *h)
{
	if (!h)
		return;
	itable_lock(fs->it);
	int free_it = --h->pins == 0 && h->released;
	itable_unlock(fs->it);
	if (free_it)
		fh_free(fs, h);
}

struct fh *fh_new(struct fs *fs, enum fh_kind kind)
{
	struct fh *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->kind = kind;
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_lock(&fs->hlock);
	h->next = fs->fhs;
	if (h->next)
		h->next->prev = h;
	fs->fhs = h;
	pthread_mutex_unlock(&fs->hlock);
	return h;
}

void fh_released(struct fs *fs, struct fh *h)
{
	itable_lock(fs->it);
	h->released = 1;
	int free_it = h->pins == 0;
	itable_unlock(fs->it);
	if (free_it)
		fh_free(fs, h);
}
