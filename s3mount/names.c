/*
 * names.c: see names.h.
 */
#define _GNU_SOURCE
#include "names.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fh.h"
#include "log.h"
#include "monoclock.h"
#include "nsops.h"
#include "wfile.h"

int names_mkdir(struct fs *fs, fuse_ino_t parent, const char *name, struct fuse_entry_param *e)
{
	char key[S3_KEY_MAX + 2];
	if (fs->o->read_only)
		return -EROFS;
	int rc = fs_child_key(fs, parent, name, 1, key, sizeof(key));
	if (rc)
		return rc;
	rc = nsops_mkdir(fs->s3, key);
	if (rc)
		return rc;
	lookup_neg_remove(fs->neg, parent, name);
	itable_lock(fs->it);
	struct inode *p = itable_find_locked(fs->it, parent);
	struct inode *c =
	    p ? itable_upsert_locked(fs->it, p, name, 1, 0, time(NULL), NULL, mono_s()) : NULL;
	if (c)
		fs_fill_entry_locked(fs, c, e);
	itable_unlock(fs->it);
	return c ? 0 : -ENOMEM;
}

/* (parent, name) was deleted on S3 (unlink, rmdir): its cached inode is no
 * longer reachable by name (a file still being written here discards its
 * upload at close) and the name is remembered missing for negative_ttl. */
static void name_gone(struct fs *fs, fuse_ino_t parent, const char *name)
{
	itable_lock(fs->it);
	struct inode *p = itable_find_locked(fs->it, parent);
	struct inode *c = p ? itable_child_locked(fs->it, p, name) : NULL;
	if (c) {
		if (c->writers)
			c->unlinked = 1;
		inode_unhash_locked(fs->it, c);
	}
	itable_unlock(fs->it);
	if (fs->o->negative_ttl > 0)
		lookup_neg_add(fs->neg, parent, name, mono_s() + fs->o->negative_ttl);
}

int names_unlink(struct fs *fs, fuse_ino_t parent, const char *name)
{
	char key[S3_KEY_MAX + 2];
	if (fs->o->read_only)
		return -EROFS;
	int rc = fs_child_key(fs, parent, name, 0, key, sizeof(key));
	if (rc)
		return rc;
	rc = s3_delete(fs->s3, key);
	if (rc) {
		log_error("unlink '%s': DeleteObject failed: %s", LOG_KEY(key), strerror(-rc));
		return rc;
	}
	rcache_invalidate(fs->rc, key);
	name_gone(fs, parent, name);
	return 0;
}

int names_rmdir(struct fs *fs, fuse_ino_t parent, const char *name)
{
	char key[S3_KEY_MAX + 2];
	if (fs->o->read_only)
		return -EROFS;
	int rc = fs_child_key(fs, parent, name, 1, key, sizeof(key));
	if (rc)
		return rc;
	rc = nsops_rmdir(fs->s3, key);
	if (rc)
		return rc;
	name_gone(fs, parent, name);
	return 0;
}

/* The open write handle of an inode, if any (linked from the inode). */
static struct fh *inode_writer(struct inode *in)
{
	return in->wctx;
}

int names_rename(struct fs *fs, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		 const char *newname, unsigned int flags)
{
	char src[S3_KEY_MAX + 2], dst[S3_KEY_MAX + 2];
	if (fs->o->read_only)
		return -EROFS;
	if (flags & ~(unsigned)RENAME_NOREPLACE)
		return -EINVAL; /* RENAME_EXCHANGE / WHITEOUT: no way to do it on S3 */
	if (strlen(newname) > LOOKUP_NAME_MAX)
		return -ENAMETOOLONG;

	itable_lock(fs->it);
	struct inode *p = itable_find_locked(fs->it, parent);
	struct inode *np = itable_find_locked(fs->it, newparent);
	struct inode *c = p ? itable_child_locked(fs->it, p, name) : NULL;
	if (!p || !np || !c) {
		itable_unlock(fs->it);
		return -ENOENT;
	}
	int is_dir = c->is_dir;
	uint64_t size = c->size;
	char src_etag[S3_ETAG_MAX]; /* the version to move: the one seen (nsops.h) */
	snprintf(src_etag, sizeof(src_etag), "%s", fs->o->conditional_writes ? c->etag : "");
	uint64_t ino = c->ino;
	int rc = inode_key_locked(fs->it, c, src, sizeof(src));
	if (!rc)
		rc = inode_child_key_locked(fs->it, np, newname, is_dir, dst, sizeof(dst));
	struct fh *w = c->writers ? inode_writer(c) : NULL;
	if (w)
		w->pins++; /* a release meanwhile must not free it */
	itable_unlock(fs->it);
	if (rc) {
		fh_unpin(fs, w);
		return rc;
	}

	if (flags & RENAME_NOREPLACE) {
		struct fuse_entry_param e;
		int lr = fs_lookup(fs, newparent, newname, &e);
		if (lr == 0) {
			itable_forget(fs->it, e.ino, 1);
			lr = -EEXIST;
		}
		if (lr != -ENOENT) {
			fh_unpin(fs, w);
			return lr;
		}
	}
	if (!is_dir) {
		struct fh *dw = NULL;
		itable_lock(fs->it);
		np = itable_find_locked(fs->it, newparent);
		struct inode *d = np ? itable_child_locked(fs->it, np, newname) : NULL;
		if (d && d->ino != ino && d->writers && inode_writer(d)) {
			dw = inode_writer(d);
			dw->pins++;
		}
		itable_unlock(fs->it);
		if (dw) {
			wfile_displace(fs, dw, dst);
			fh_unpin(fs, dw);
		}
	}

	if (is_dir) {
		rc = nsops_rename_dir(fs->s3, src, dst, (size_t)fs->o->max_rename_objects, 0);
		if (rc == -ENOENT)
			rc = 0; /* an implicit directory known only here: nothing to move */
	} else if (w) {
		rc = wfile_rename(fs, w, src, dst, size);
	} else {
		rc = nsops_rename_file_if(fs->s3, src, dst, size, src_etag);
	}
	fh_unpin(fs, w);
	if (rc) {
		log_warn("rename '%s' -> '%s' failed: %s", LOG_KEY(src), LOG_KEY(dst),
			 strerror(-rc));
		return rc;
	}
	rcache_invalidate(fs->rc, src);
	rcache_invalidate(fs->rc, dst);
	lookup_neg_remove(fs->neg, newparent, newname);
	itable_lock(fs->it);
	c = itable_find_locked(fs->it, ino);
	np = itable_find_locked(fs->it, newparent);
	if (c && np)
		rc = inode_move_locked(fs->it, c, np, newname);
	itable_unlock(fs->it);
	if (fs->o->negative_ttl > 0)
		lookup_neg_add(fs->neg, parent, name, mono_s() + fs->o->negative_ttl);
	return rc;
}
