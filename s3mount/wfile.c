/*
 * wfile.c: see wfile.h.
 *
 * Why commit happens in flush, and only for the opener: close() must return
 * the upload's error, and only FLUSH is synchronous with close() (RELEASE is
 * not). But every process holding a copy of the descriptor flushes when it
 * closes it: in `{ ls; date; } > out` the shell opened out and ls, date
 * flush it when they exit, between writes. So a flush commits only when it
 * comes from the process (thread group) that opened the file; other flushes
 * are no-ops and the release of the last descriptor commits what is left
 * (its error then only goes to the log).
 *
 * Killed writers: a flush from a process dying from a signal (procstat.h)
 * commits nothing and marks the handle; the last close decides. If the
 * release comes right after such a flush (no other holder closed normally
 * since), the upload is discarded; if a child that inherited the descriptor
 * exits normally after its killed parent, its flush clears the mark and the
 * release commits.
 *
 * Callers the daemon cannot see: a process in a pid namespace the daemon's
 * does not contain comes with pid 0, and a daemon whose /proc belongs to
 * another pid namespace cannot look up any pid. Nothing then tells a kill
 * from a close, so every flush from such a caller commits what has been
 * written (like fsync; later writes continue the file) and close() reports
 * the commit. The first such flush logs why and what to change.
 *
 * Why an empty commit may be reopened: shells (`cmd > f`) and dd open the
 * file, dup2() it onto fd 1 and close the original before the first write,
 * so the opener's first flush comes with no data. That flush commits an empty
 * object (touch must leave one), and a later write at offset 0 on the same
 * handle starts a fresh upload that replaces it at the next commit. A write
 * at the end of a committed file (after fsync) continues it (upload_resume);
 * elsewhere it fails with EBADF (documented).
 *
 * Why each commit is conditioned on the handle's own last one: S3 keeps the
 * last writer's object, so without a condition a close silently replaced an
 * object another client wrote after our open. The first commit names what
 * the open saw, every later one what this handle committed before (the
 * empty object of `cmd > f`, each close of `exec 3>f`, fsync): the handle's
 * own commits always match, another writer's never do. An append is the
 * same machinery as writing on after fsync, starting from the object the
 * open saw instead of one this handle committed.
 */
#define _GNU_SOURCE
#include "wfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "monoclock.h"
#include "nsops.h"
#include "procstat.h"

/* Thread group of the caller of req (FUSE gives the thread's id), or 0 when
 * the daemon cannot see it (procstat.h). */
static pid_t caller_tgid(const struct fs *fs, fuse_req_t req)
{
	struct procstat_caller c;
	if (!fs->proc_ours || procstat_caller(fuse_req_ctx(req)->pid, &c) < 0)
		return 0;
	return c.tgid;
}

/* Starts a write handle on an inode (table lock held by the caller). */
static int start_write_locked(struct fs *fs, struct inode *in, struct fh *h, const char *key)
{
	int rc = upload_new(fs->up, key, &h->u);
	if (rc)
		return rc;
	h->in = in;
	inode_ref_locked(fs->it, in);
	in->writers++;
	in->wctx = h;
	in->unlinked = 0;
	in->size = 0;
	in->mtime = time(NULL);
	in->etag[0] = '\0';
	in->attr_time = mono_s();
	return 0;
}

/* An open of a file whose ETag is not known here (an inode with no object
 * yet, or one a failed write left): HEAD says whether an object is there,
 * so that the commit's condition is right. A HEAD that fails otherwise than
 * 404 fails the open (a commit could not be conditioned). */
static int open_seen_head(struct fs *fs, struct fh *h, const char *key)
{
	struct s3_object_info hi;
	int rc = s3_head(fs->s3, key, &hi);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0) {
		log_warn("open of '%s' for writing: HEAD failed: %s", LOG_KEY(key), strerror(-rc));
		return rc;
	}
	snprintf(h->open_etag, sizeof(h->open_etag), "%s", hi.etag);
	if (h->state == FH_LAZY)
		h->open_size = hi.size;
	return 0;
}

int wfile_open(struct fs *fs, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	char key[S3_KEY_MAX + 2];
	struct fh *h = fh_new(fs, FH_WRITE);
	if (!h)
		return -ENOMEM;
	h->opener_tgid = caller_tgid(fs, req);
	itable_lock(fs->it);
	struct inode *in = itable_find_locked(fs->it, ino);
	int rc = in ? inode_key_locked(fs->it, in, key, sizeof(key)) : -ENOENT;
	if (!rc && in->is_dir)
		rc = -EISDIR;
	if (!rc && in->writers) {
		log_warn("open of '%s' for writing refused: it is already open for "
			 "writing",
			 LOG_KEY(key));
		rc = -EBUSY;
	}
	if (!rc) {
		/* what this open saw: the commit's condition (wfile.h) */
		snprintf(h->open_etag, sizeof(h->open_etag), "%s", in->etag);
		h->open_size = in->size;
	}
	if (!rc && !(fi->flags & O_TRUNC) && in->size > 0) {
		h->state = FH_LAZY;
		h->in = in;
		inode_ref_locked(fs->it, in);
	} else if (!rc) {
		h->state = FH_OPEN;
		rc = start_write_locked(fs, in, h, key);
	}
	itable_unlock(fs->it);
	if (!rc && !h->open_etag[0]) {
		rc = open_seen_head(fs, h, key);
		if (rc) {
			itable_lock(fs->it);
			in->attr_time = 0; /* start_write zeroed it: ask S3 again */
			itable_unlock(fs->it);
		}
	}
	if (!rc && h->state == FH_OPEN)
		upload_set_cond(h->u, h->open_etag);
	if (rc) {
		fh_free(fs, h);
		return rc;
	}
	fi->fh = (uintptr_t)h;
	fi->keep_cache = 0;
	return 0;
}

int wfile_create(struct fs *fs, fuse_req_t req, fuse_ino_t parent, const char *name,
		 struct fuse_file_info *fi, struct fuse_entry_param *e)
{
	char key[S3_KEY_MAX + 2];
	if (fs->o->read_only)
		return -EROFS;
	int rc = fs_child_key(fs, parent, name, 0, key, sizeof(key));
	if (rc)
		return rc;
	struct fh *h = fh_new(fs, FH_WRITE);
	if (!h)
		return -ENOMEM;
	h->opener_tgid = caller_tgid(fs, req);
	lookup_neg_remove(fs->neg, parent, name);
	itable_lock(fs->it);
	struct inode *p = itable_find_locked(fs->it, parent);
	struct inode *c = p ? itable_child_locked(fs->it, p, name) : NULL;
	if (!p)
		rc = -ENOENT;
	else if (c && c->is_dir)
		rc = -EISDIR;
	else if (c && c->writers)
		rc = -EBUSY;
	if (!rc && !c) {
		c = itable_upsert_locked(fs->it, p, name, 0, 0, time(NULL), NULL, mono_s());
		if (!c)
			rc = -ENOMEM;
	}
	if (!rc) {
		/* an object known here is replaced only as it was seen; a name
		 * known as missing is created only if still missing */
		snprintf(h->open_etag, sizeof(h->open_etag), "%s", c->etag);
		h->state = FH_OPEN;
		rc = start_write_locked(fs, c, h, key);
	}
	if (!rc)
		fs_fill_entry_locked(fs, c, e);
	itable_unlock(fs->it);
	if (!rc)
		upload_set_cond(h->u, h->open_etag);
	if (rc) {
		fh_free(fs, h);
		return rc;
	}
	fi->fh = (uintptr_t)h;
	return 0;
}

int wfile_truncate(struct fs *fs, struct fh *h, uint64_t want)
{
	char key[S3_KEY_MAX + 2];
	int rc = 0;
	pthread_mutex_lock(&h->lock);
	itable_lock(fs->it);
	uint64_t have = h->in->size;
	rc = inode_key_locked(fs->it, h->in, key, sizeof(key));
	if (!rc && want != have) {
		if (h->state == FH_LAZY && want == 0) {
			/* truncate(1): now it is a replacement of the object */
			rc = start_write_locked(fs, h->in, h, key);
			if (!rc) {
				h->state = FH_OPEN;
				inode_unref_locked(fs->it, h->in); /* start_write took one more */
				upload_set_cond(h->u, h->open_etag);
			}
		} else {
			log_warn("ftruncate of '%s' to %" PRIu64 " bytes refused (size %" PRIu64
				 "): EPERM",
				 LOG_KEY(key), want, have);
			rc = -EPERM;
		}
	}
	itable_unlock(fs->it);
	pthread_mutex_unlock(&h->lock);
	return rc;
}

/* The first write of an FH_LAZY handle is at the end of the object it
 * opened (`>>`): continue that object as after fsync (upload_resume: a
 * server-side copy or a GET of it, then the new bytes), committed only over
 * the version the open saw. h->lock held. A second writer meanwhile: EBUSY;
 * the object changed since the open, or cannot be copied: EIO for good. */
static int start_append(struct fs *fs, struct fh *h)
{
	char key[S3_KEY_MAX + 2];
	itable_lock(fs->it);
	int rc = h->in->writers ? -EBUSY : inode_key_locked(fs->it, h->in, key, sizeof(key));
	if (!rc) {
		h->in->writers++; /* claimed now: no second writer while we copy */
		h->in->wctx = h;
	}
	itable_unlock(fs->it);
	if (rc)
		return rc;
	struct upload *u = NULL;
	rc = upload_new(fs->up, key, &u);
	if (!rc)
		rc = upload_adopt(u, h->open_size, h->open_etag);
	if (!rc)
		rc = upload_resume(u, key);
	if (rc) {
		log_warn("append to '%s' failed (%s): the object stays as it was", LOG_KEY(key),
			 strerror(-rc));
		upload_free(u);
		itable_lock(fs->it);
		h->in->writers--;
		if (h->in->wctx == h)
			h->in->wctx = NULL;
		h->in->attr_time = 0;
		itable_unlock(fs->it);
		h->state = FH_FAILED;
		h->err = -EIO;
		return -EIO;
	}
	h->u = u;
	h->state = FH_OPEN;
	log_debug("append to '%s' at %" PRIu64, LOG_KEY(key), h->open_size);
	return 0;
}

ssize_t wfile_write(struct fs *fs, struct fh *h, const char *buf, size_t size, off_t off)
{
	if (h->kind != FH_WRITE)
		return -EBADF;
	pthread_mutex_lock(&h->lock);
	ssize_t n;
	if (h->state == FH_COMMITTED && h->committed_size == 0 && off == 0) {
		/* an empty commit after dup2+close: start over (see the top) */
		char key[S3_KEY_MAX + 2];
		itable_lock(fs->it);
		int rc = inode_key_locked(fs->it, h->in, key, sizeof(key));
		itable_unlock(fs->it);
		struct upload *u = NULL;
		if (!rc)
			rc = upload_new(fs->up, key, &u);
		if (!rc) {
			upload_free(h->u);
			h->u = u;
			/* replaces only the empty object this handle committed */
			upload_set_cond(u, h->last_etag[0] ? h->last_etag : NULL);
			h->state = FH_OPEN;
			h->empty_committed = 1;
			itable_lock(fs->it);
			h->in->writers++;
			h->in->wctx = h;
			itable_unlock(fs->it);
		} else {
			pthread_mutex_unlock(&h->lock);
			return rc;
		}
	}
	if (h->state == FH_COMMITTED && h->committed_size > 0 &&
	    (uint64_t)off == h->committed_size) {
		/* after fsync (or a close of a dup): the file goes on (upload.h) */
		char key[S3_KEY_MAX + 2];
		itable_lock(fs->it);
		int rc =
		    h->in->unlinked ? -ENOENT : inode_key_locked(fs->it, h->in, key, sizeof(key));
		itable_unlock(fs->it);
		if (!rc)
			rc = upload_resume(h->u, key);
		if (rc) {
			log_warn("write after a commit could not continue the file (%s)",
				 strerror(-rc));
			h->state = FH_FAILED;
			h->err = -EIO;
			pthread_mutex_unlock(&h->lock);
			return -EIO;
		}
		h->state = FH_OPEN;
		itable_lock(fs->it);
		h->in->writers++;
		h->in->wctx = h;
		itable_unlock(fs->it);
	}
	if (h->state == FH_LAZY && (uint64_t)off == h->open_size) {
		int rc = start_append(fs, h);
		if (rc) {
			pthread_mutex_unlock(&h->lock);
			return rc;
		}
	}
	if (h->state == FH_LAZY) {
		log_warn("write into an existing object opened without O_TRUNC at offset %lld "
			 "refused (EPERM): objects can only be replaced whole or continued at "
			 "their end (%" PRIu64 "); see docs/semantics.md",
			 (long long)off, h->open_size);
		n = -EPERM;
	} else if (h->state == FH_FAILED) {
		n = h->err; /* EIO: its upload failed or a rename replaced it */
	} else if (h->state != FH_OPEN) {
		log_warn("write after the file was committed or discarded refused (EBADF); "
			 "see docs/semantics.md");
		n = -EBADF;
	} else {
		n = upload_write(h->u, buf, size, (uint64_t)off);
		if (n == -ESPIPE)
			log_warn("non-sequential write at offset %lld (file size %" PRIu64
				 ") refused (ESPIPE): files are written front to back",
				 (long long)off, upload_size(h->u));
	}
	if (n > 0) {
		uint64_t end = upload_size(h->u);
		itable_lock(fs->it);
		h->in->size = end;
		h->in->mtime = time(NULL);
		itable_unlock(fs->it);
		fs_count(&fs->n_write, 1);
		fs_count(&fs->bytes_written, (uint64_t)n);
	}
	pthread_mutex_unlock(&h->lock);
	return n;
}

/* Commits or discards a write handle; h->lock held. Returns the result,
 * remembered for later flushes. */
static int finish_write_locked(struct fs *fs, struct fh *h, int discard, const char *why)
{
	if (h->state != FH_OPEN)
		return h->state == FH_FAILED ? h->err : 0;
	char key[S3_KEY_MAX + 2];
	itable_lock(fs->it);
	int unlinked = h->in->unlinked;
	int krc = inode_key_locked(fs->it, h->in, key, sizeof(key));
	itable_unlock(fs->it);
	if (krc)
		snprintf(key, sizeof(key), "?");
	int rc = 0;
	struct s3_object_info info;
	memset(&info, 0, sizeof(info));
	if (discard || unlinked) {
		upload_abort(h->u);
		h->state = FH_DISCARDED;
		if (discard)
			log_warn("upload of '%s' discarded: %s", LOG_KEY(key), why);
		/* the empty object committed before the first write goes too */
		if (discard && h->empty_committed && !krc && s3_delete(fs->s3, key) == 0)
			rcache_invalidate(fs->rc, key);
	} else {
		rc = upload_commit(h->u, &info);
		fs_count(&fs->n_commit, 1);
		if (rc) {
			fs_count(&fs->n_commit_err, 1);
			if (rc != -EEXIST && rc != -ESTALE) /* else upload.c said why */
				log_error("upload of '%s' failed: %s; nothing was published",
					  LOG_KEY(key), strerror(-rc));
			h->state = FH_FAILED;
			h->err = rc;
		} else {
			h->state = FH_COMMITTED;
			h->committed_size = info.size;
			snprintf(h->last_etag, sizeof(h->last_etag), "%s", info.etag);
			log_debug("committed '%s' (%" PRIu64 " bytes)", LOG_KEY(key), info.size);
			rcache_invalidate(fs->rc, key);
		}
	}
	itable_lock(fs->it);
	struct inode *in = h->in;
	if (in->writers)
		in->writers--;
	if (in->wctx == h)
		in->wctx = NULL;
	if (h->state == FH_COMMITTED) {
		/* read your writes: the new version is what stat and open see */
		in->size = info.size;
		in->mtime = info.mtime ? info.mtime : time(NULL);
		snprintf(in->etag, sizeof(in->etag), "%s", info.etag);
		in->attr_time = mono_s();
	} else {
		in->attr_time = 0; /* ask S3 again */
	}
	itable_unlock(fs->it);
	return rc;
}

/* Logs once per cause that a caller could not be seen, and what to do. */
void wfile_note_invisible(struct fs *fs, pid_t pid)
{
	int cause = pid == 0 ? 1 : !fs->proc_ours ? 2 : 0;
	if (cause == 0 || atomic_fetch_or(&fs->invisible_noted, cause) & cause)
		return;
	log_warn("%s: close() now commits what it wrote, so a writer killed by a "
		 "signal publishes its partial file. Run s3mount in the writers' pid "
		 "namespace with its own /proc (Kubernetes: shareProcessNamespace: true) "
		 "or in the host's; see docs/deployment.md",
		 cause == 1 ? "a writer in a pid namespace this daemon cannot see (pid 0) "
			      "closed a file"
			    : "this daemon's /proc belongs to another pid namespace");
}

int wfile_flush(struct fs *fs, fuse_req_t req, struct fh *h)
{
	if (h->kind != FH_WRITE)
		return 0;
	pid_t pid = fuse_req_ctx(req)->pid;
	struct procstat_caller c;
	int seen = fs->proc_ours && procstat_caller(pid, &c) == 0;
	int rc;
	if (!seen)
		wfile_note_invisible(fs, pid);
	pthread_mutex_lock(&h->lock);
	if (!seen) {
		/* a kill cannot be told from a close: commit so close() says */
		h->killed_pid = 0;
		rc = finish_write_locked(fs, h, 0, NULL);
	} else if (c.dying) {
		/* the last close decides (op_release) */
		h->killed_pid = pid;
		h->killed_sig = c.sig;
		rc = h->state == FH_FAILED ? h->err : 0;
	} else {
		h->killed_pid = 0;
		if (c.tgid == h->opener_tgid)
			rc = finish_write_locked(fs, h, 0, NULL);
		else
			rc = h->state == FH_FAILED ? h->err : 0;
	}
	pthread_mutex_unlock(&h->lock);
	return rc;
}

void wfile_release(struct fs *fs, struct fh *h)
{
	/* the last descriptor is gone; a flush by the opener usually came
	 * first. The last close decides: a killed one discards. */
	pthread_mutex_lock(&h->lock);
	if (h->killed_pid && h->state == FH_OPEN) {
		char why[96];
		if (h->killed_sig)
			snprintf(why, sizeof(why), "the writer (pid %d) was killed by signal %d",
				 (int)h->killed_pid, h->killed_sig);
		else
			snprintf(why, sizeof(why), "the writer (pid %d) crashed",
				 (int)h->killed_pid);
		finish_write_locked(fs, h, 1, why);
		fs_count(&fs->n_abort_killed, 1);
	} else {
		finish_write_locked(fs, h, 0, NULL);
	}
	pthread_mutex_unlock(&h->lock);
}

int wfile_fsync(struct fs *fs, struct fh *h)
{
	/* durable means committed: the object exists when fsync returns */
	pthread_mutex_lock(&h->lock);
	int rc = finish_write_locked(fs, h, 0, NULL);
	pthread_mutex_unlock(&h->lock);
	return rc;
}
/*
 * A rename is replacing the file that h is still writing: whatever h writes
 * can never be published under that name again without destroying the
 * renamed-in object, so its upload is dropped now, before the rename copies
 * anything (its commit cannot race the copy), and the writer gets EIO from
 * its next write and from close (docs/semantics.md). h is pinned.
 */
void wfile_displace(struct fs *fs, struct fh *h, const char *key)
{
	pthread_mutex_lock(&h->lock);
	if (h->state == FH_OPEN) {
		upload_abort(h->u);
		h->state = FH_FAILED;
		h->err = -EIO;
		log_warn("'%s' was replaced by a rename while open for writing: its writer's data "
			 "is discarded and its close fails with EIO",
			 LOG_KEY(key));
		itable_lock(fs->it);
		if (h->in->writers)
			h->in->writers--;
		if (h->in->wctx == h)
			h->in->wctx = NULL;
		h->in->attr_time = 0;
		itable_unlock(fs->it);
	}
	pthread_mutex_unlock(&h->lock);
}

int wfile_rename(struct fs *fs, struct fh *h, const char *src, const char *dst, uint64_t size)
{
	/* open for writing: the pending upload moves, no copy (uploadrename.c) */
	pthread_mutex_lock(&h->lock);
	if (h->state == FH_OPEN) {
		/* what is under the old name goes after the commit under
		 * the new one, never now (uploadrename.c says why) */
		int rc = upload_retarget(h->u, dst);
		pthread_mutex_unlock(&h->lock);
		return rc;
	}
	pthread_mutex_unlock(&h->lock);
	return nsops_rename_file(fs->s3, src, dst, size);
}
