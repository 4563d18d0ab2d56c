/*
 * fs.c: see fs.h. The op table and its thin repliers, the context's
 * lifetime (fs_init, fs_release, the summary) and the attribute helpers
 * the other modules share. Layout: helpers (attributes, keys), then the
 * operations in the order of struct fuse_lowlevel_ops, each a thin op_x()
 * that replies around a do_x() returning an errno, here (lookup, getattr,
 * setattr) or in a module. The shapes follow libfuse's passthrough_ll.c:
 * nlookup counted on every entry handed to the kernel, dropped by forget.
 *
 * The modules: fh.c (a file handle's lifetime), wfile.c
 * (the write-handle state machine, and why a commit happens in flush),
 * rfile.c (reads and their ETag check); directory handles are dir.c's;
 * mkdir, unlink, rmdir and rename are names.c's.
 */
#define _GNU_SOURCE
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "bdi.h"
#include "dir.h"
#include "fh.h"
#include "log.h"
#include "monoclock.h"
#include "names.h"
#include "procstat.h"
#include "rfile.h"
#include "status.h"
#include "wfile.h"

#define FS_BLKSIZE (1u << 20) /* st_blksize: makes cp/cat use 1 MiB I/O */
#define FS_MAX_WRITE (1u << 20)

static struct fs *FS(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct fh *FH(const struct fuse_file_info *fi)
{
	return (struct fh *)(uintptr_t)fi->fh;
}

void fs_count(atomic_uint_least64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static int attr_fresh(const struct fs *fs, const struct inode *in, double now)
{
	return in->writers || in->ino == FUSE_ROOT_ID ||
	       (in->attr_time > 0 && now - in->attr_time < fs->o->stat_ttl);
}

/* Fills st from in; call with the table lock held. */
static void fill_stat_locked(const struct fs *fs, const struct inode *in, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = in->ino;
	if (in->is_dir) {
		st->st_mode = S_IFDIR | (fs->o->dir_mode & 07777);
		st->st_nlink = 2;
		st->st_size = 4096;
	} else {
		st->st_mode = S_IFREG | (fs->o->file_mode & 07777);
		st->st_nlink = 1;
		st->st_size = (off_t)in->size;
	}
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_blksize = FS_BLKSIZE;
	st->st_blocks = (blkcnt_t)((in->size + 511) / 512);
	/* implicit directories have no date: show the mount time */
	st->st_mtim.tv_sec = in->is_dir && !in->mtime ? fs->mount_time : in->mtime;
	st->st_atim = st->st_mtim;
	st->st_ctim = st->st_mtim;
}

static double fs_ttl(const struct fs *fs, const struct inode *in)
{
	return in->is_dir ? fs->o->dir_ttl : fs->o->stat_ttl;
}

/* Fills an entry for in and counts the kernel's new reference. */
void fs_fill_entry_locked(struct fs *fs, struct inode *in, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	inode_lookup_locked(fs->it, in);
	e->ino = in->ino;
	e->generation = 1;
	fill_stat_locked(fs, in, &e->attr);
	e->attr_timeout = fs_ttl(fs, in);
	e->entry_timeout = fs_ttl(fs, in);
}

static void reply_err(fuse_req_t req, int rc)
{
	if (rc < 0)
		rc = -rc;
	/* A timed-out S3 request (request_timeout, op_timeout) is an I/O
	 * error to the application: read(2) has no ETIMEDOUT (docs/semantics.md). */
	if (rc == ETIMEDOUT)
		rc = EIO;
	fuse_reply_err(req, rc);
}

/* ---- init / destroy ---------------------------------------------------- */

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fs *fs = userdata;
	/* Big requests: 1 MiB writes (libfuse derives max_pages from it, so
	 * reads are as large) and the largest readahead the kernel offers. */
	if (conn->max_write < FS_MAX_WRITE || conn->max_write > FS_MAX_WRITE)
		conn->max_write = FS_MAX_WRITE;
	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	/* O_TRUNC arrives with open(), not as a setattr before it: truncating an
	 * object then replacing it needs no empty PutObject in between. */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* Attributes come with every listing page: always send them. */
	if (conn->capable & FUSE_CAP_READDIRPLUS) {
		conn->want |= FUSE_CAP_READDIRPLUS;
		conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	}
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	conn->max_background = 64;
	conn->congestion_threshold = 48;
	/* The kernel reads ahead min(bdi read_ahead_kb, our max_readahead),
	 * and the bdi starts at 128 KiB: raise the bdi now, before INIT is
	 * answered, so that the kernel's min() keeps our value. */
	if (fs->o->readahead_kb > 0) {
		unsigned kb = (unsigned)fs->o->readahead_kb;
		int rc = bdi_set_readahead(fs->o->mountpoint, kb);
		if (rc == 0)
			conn->max_readahead = kb * 1024u;
		else
			log_info("readahead_kb=%u not applied (%s): the kernel's default stays", kb,
				 strerror(-rc));
	}
	log_info("mounted: max_write %u, max_readahead %u, capable 0x%x", conn->max_write,
		 conn->max_readahead, conn->capable);
}

static void op_destroy(void *userdata)
{
	(void)userdata;
}

/* ---- lookup / forget / getattr ----------------------------------------- */

int fs_lookup(struct fs *fs, fuse_ino_t parent, const char *name, struct fuse_entry_param *e)
{
	size_t len = strlen(name);
	if (len > LOOKUP_NAME_MAX)
		return -ENAMETOOLONG;
	if (status_lookup(fs, parent, name, e))
		return 0;
	char fkey[S3_KEY_MAX + 2], dkey[S3_KEY_MAX + 2];
	double now = mono_s();
	fs_count(&fs->n_lookup, 1);

	itable_lock(fs->it);
	struct inode *p = itable_find_locked(fs->it, parent);
	if (!p || !p->is_dir) {
		itable_unlock(fs->it);
		return p ? -ENOTDIR : -ENOENT;
	}
	struct inode *c = itable_child_locked(fs->it, p, name);
	if (c && (attr_fresh(fs, c, now) || outage_skip(&fs->outage))) {
		if (!attr_fresh(fs, c, now))
			outage_stale(&fs->outage);
		fs_fill_entry_locked(fs, c, e);
		itable_unlock(fs->it);
		return 0;
	}
	int rc = inode_child_key_locked(fs->it, p, name, 0, fkey, sizeof(fkey));
	if (!rc)
		rc = inode_child_key_locked(fs->it, p, name, 1, dkey, sizeof(dkey));
	itable_unlock(fs->it);
	if (rc)
		return rc;

	if (lookup_neg_check(fs->neg, parent, name, now))
		return -ENOENT;
	struct lookup_probe pr;
	fs_count(&fs->n_probe, 1);
	rc = lookup_probe(fs->s3, fkey, dkey, &pr);
	outage_result(&fs->outage, rc == -ENOENT ? 0 : rc, "lookup", fkey, mono_s());
	if (rc && outage_unreachable(rc)) {
		/* S3 out of reach: what this mount last knew of the name, if
		 * anything; a name never seen stays an error, never ENOENT */
		itable_lock(fs->it);
		p = itable_find_locked(fs->it, parent);
		c = p ? itable_child_locked(fs->it, p, name) : NULL;
		if (c)
			fs_fill_entry_locked(fs, c, e);
		itable_unlock(fs->it);
		if (!c)
			return rc;
		outage_stale(&fs->outage);
		return 0;
	}
	if (rc == -ENOENT) {
		itable_lock(fs->it);
		p = itable_find_locked(fs->it, parent);
		c = p ? itable_child_locked(fs->it, p, name) : NULL;
		if (c && (c->writers || c->attr_time > now)) {
			/* created or committed here while the probe was in
			 * flight: the miss is older than what this mount knows */
			fs_fill_entry_locked(fs, c, e);
			itable_unlock(fs->it);
			return 0;
		}
		/* deleted by another client: forget the cached name */
		if (c)
			inode_unhash_locked(fs->it, c);
		itable_unlock(fs->it);
		if (fs->o->negative_ttl > 0)
			lookup_neg_add(fs->neg, parent, name, mono_s() + fs->o->negative_ttl);
		return rc;
	}
	if (rc)
		return rc;

	itable_lock(fs->it);
	p = itable_find_locked(fs->it, parent);
	if (!p) {
		itable_unlock(fs->it);
		return -ENOENT;
	}
	c = itable_upsert_locked(fs->it, p, name, pr.is_dir, pr.info.size, pr.info.mtime,
				 pr.is_dir ? NULL : pr.info.etag, now);
	if (!c) {
		itable_unlock(fs->it);
		return -ENOMEM;
	}
	fs_fill_entry_locked(fs, c, e);
	itable_unlock(fs->it);
	return 0;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = FS(req);
	struct fuse_entry_param e;
	int rc = fs_lookup(fs, parent, name, &e);
	if (rc == -ENOENT && fs->o->negative_ttl > 0) {
		/* a negative entry: the kernel caches the miss too */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = fs->o->negative_ttl;
		fuse_reply_entry(req, &e);
		return;
	}
	if (rc)
		reply_err(req, rc);
	else
		fuse_reply_entry(req, &e);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	itable_forget(FS(req)->it, ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct fs *fs = FS(req);
	for (size_t i = 0; i < count; i++)
		itable_forget(fs->it, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

/* Refreshes a file's attributes from S3 when they are older than stat_ttl. */
int fs_revalidate(struct fs *fs, fuse_ino_t ino)
{
	char key[S3_KEY_MAX + 2];
	double now = mono_s();
	itable_lock(fs->it);
	struct inode *in = itable_find_locked(fs->it, ino);
	if (!in) {
		itable_unlock(fs->it);
		return -ENOENT;
	}
	if (in->is_dir || attr_fresh(fs, in, now)) {
		itable_unlock(fs->it);
		return 0;
	}
	int rc = inode_key_locked(fs->it, in, key, sizeof(key));
	itable_unlock(fs->it);
	if (rc)
		return rc;
	if (outage_skip(&fs->outage)) {
		outage_stale(&fs->outage);
		return 0; /* the attributes last known (outage.h) */
	}
	struct s3_object_info info;
	fs_count(&fs->n_probe, 1);
	rc = s3_head(fs->s3, key, &info);
	/* A failure that finds S3 out of reach starts an outage (getattrs
	 * after it answer stale, above) but is itself an error: the kernel
	 * asks getattr in the middle of reads, and answering it stale would
	 * make such a read wait op_timeout twice, here and in its GET. */
	outage_result(&fs->outage, rc == -ENOENT ? 0 : rc, "HEAD", key, mono_s());
	if (rc)
		return rc;
	itable_lock(fs->it);
	in = itable_find_locked(fs->it, ino);
	if (in && !in->writers && now >= in->attr_time) { /* not older than a commit here */
		in->size = info.size;
		in->mtime = info.mtime;
		snprintf(in->etag, sizeof(in->etag), "%s", info.etag);
		in->attr_time = now;
	}
	itable_unlock(fs->it);
	return 0;
}

static int do_getattr(struct fs *fs, fuse_ino_t ino, struct stat *st, double *ttl)
{
	int rc = fs_revalidate(fs, ino);
	if (rc)
		return rc;
	itable_lock(fs->it);
	struct inode *in = itable_find_locked(fs->it, ino);
	if (in) {
		fill_stat_locked(fs, in, st);
		*ttl = fs_ttl(fs, in);
	}
	itable_unlock(fs->it);
	return in ? 0 : -ENOENT;
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	double ttl = 0;
	if (ino == STATUS_INO) {
		status_stat(FS(req), &st);
		fuse_reply_attr(req, &st, 0);
		return;
	}
	int rc = do_getattr(FS(req), ino, &st, &ttl);
	if (rc)
		reply_err(req, rc);
	else
		fuse_reply_attr(req, &st, ttl);
}

/* chmod, chown and utimens are accepted and not stored (docs/semantics.md):
 * cp -p, rsync and tar x must not fail on them. Size changes: only to the
 * current size, or to 0 (an empty object / a file being written that has
 * no data yet). */
static int do_setattr(struct fs *fs, fuse_ino_t ino, struct stat *attr, int to_set,
		      struct fuse_file_info *fi, struct stat *out, double *ttl)
{
	if (ino == STATUS_INO)
		return -EACCES;
	if ((to_set & FUSE_SET_ATTR_SIZE) && fi && FH(fi)->kind == FH_WRITE) {
		/* ftruncate on a write handle */
		int rc = wfile_truncate(fs, FH(fi), (uint64_t)attr->st_size);
		if (rc)
			return rc;
		to_set &= ~FUSE_SET_ATTR_SIZE;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		char key[S3_KEY_MAX + 2];
		uint64_t want = (uint64_t)attr->st_size;
		itable_lock(fs->it);
		struct inode *in = itable_find_locked(fs->it, ino);
		if (!in) {
			itable_unlock(fs->it);
			return -ENOENT;
		}
		if (in->is_dir) {
			itable_unlock(fs->it);
			return -EISDIR;
		}
		uint64_t have = in->size;
		int writing = in->writers > 0;
		int rc = inode_key_locked(fs->it, in, key, sizeof(key));
		itable_unlock(fs->it);
		if (rc)
			return rc;
		if (want != have) {
			if (fs->o->read_only)
				return -EROFS;
			if (want != 0 || writing) {
				log_warn("truncate of '%s' to %" PRIu64
					 " bytes refused (size %" PRIu64
					 "): only truncation to 0 of a closed file is supported",
					 LOG_KEY(key), want, have);
				return -EPERM;
			}
			char etag[S3_ETAG_MAX];
			rc = s3_put(fs->s3, key, "", 0, NULL, etag);
			if (rc) {
				log_error("truncate of '%s': PutObject failed: %s", LOG_KEY(key),
					  strerror(-rc));
				return rc;
			}
			rcache_invalidate(fs->rc, key);
			itable_lock(fs->it);
			in = itable_find_locked(fs->it, ino);
			if (in) {
				in->size = 0;
				in->mtime = time(NULL);
				snprintf(in->etag, sizeof(in->etag), "%s", etag);
				in->attr_time = mono_s();
			}
			itable_unlock(fs->it);
		}
	}
	(void)fi;
	return do_getattr(fs, ino, out, ttl);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct stat st;
	double ttl = 0;
	int rc = do_setattr(FS(req), ino, attr, to_set, fi, &st, &ttl);
	if (rc)
		reply_err(req, rc);
	else
		fuse_reply_attr(req, &st, ttl);
}

/* ---- namespace ----------------------------------------------------------- */

/* Key of (parent, name) as a file or directory; -ENOENT for an unknown parent. */
int fs_child_key(struct fs *fs, fuse_ino_t parent, const char *name, int dir, char *out, size_t cap)
{
	if (strlen(name) > LOOKUP_NAME_MAX)
		return -ENAMETOOLONG;
	itable_lock(fs->it);
	struct inode *p = itable_find_locked(fs->it, parent);
	int rc = p ? inode_child_key_locked(fs->it, p, name, dir, out, cap) : -ENOENT;
	itable_unlock(fs->it);
	return rc;
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct fuse_entry_param e;
	int rc = names_mkdir(FS(req), parent, name, &e);
	if (rc)
		reply_err(req, rc);
	else
		fuse_reply_entry(req, &e);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	reply_err(req, names_unlink(FS(req), parent, name));
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	reply_err(req, names_rmdir(FS(req), parent, name));
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	reply_err(req, names_rename(FS(req), parent, name, newparent, newname, flags));
}

/* ---- files --------------------------------------------------------------- */

static int do_open(struct fs *fs, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino == STATUS_INO)
		return status_open(fs, fi);
	fs_count(&fs->n_open, 1);
	if ((fi->flags & O_ACCMODE) == O_RDONLY)
		return rfile_open(fs, ino, fi);
	if (fs->o->read_only)
		return -EROFS;
	return wfile_open(fs, req, ino, fi);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	int rc = do_open(fs, req, ino, fi);
	if (rc)
		reply_err(req, rc);
	else if (fuse_reply_open(req, fi) == -ENOENT)
		ino == STATUS_INO ? status_release(fi) : fh_free(fs, FH(fi)); /* interrupted */
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct fuse_entry_param e;
	int rc = wfile_create(fs, req, parent, name, fi, &e);
	if (rc) {
		reply_err(req, rc);
	} else if (fuse_reply_create(req, &e, fi) == -ENOENT) {
		itable_forget(fs->it, e.ino, 1);
		fh_free(fs, FH(fi));
	}
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	if (ino == STATUS_INO) {
		status_read(req, fi, size, off);
		return;
	}
	struct rfile_data d;
	ssize_t n = rfile_read(FS(req), FH(fi), size, (uint64_t)off, &d);
	if (n < 0)
		reply_err(req, (int)n);
	else if (n == 0)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_iov(req, d.iov, d.niov);
	rfile_data_release(&d);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	ssize_t n = wfile_write(FS(req), FH(fi), buf, size, off);
	if (n < 0)
		reply_err(req, (int)n);
	else
		fuse_reply_write(req, (size_t)n);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	reply_err(req, ino == STATUS_INO ? 0 : wfile_flush(FS(req), req, FH(fi)));
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct fh *h = FH(fi);
	if (ino == STATUS_INO) {
		status_release(fi);
		fuse_reply_err(req, 0);
		return;
	}
	if (h->kind == FH_WRITE)
		wfile_release(fs, h);
	fh_released(fs, h);
	fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct fh *h = FH(fi);
	reply_err(req, ino != STATUS_INO && h->kind == FH_WRITE ? wfile_fsync(fs, h) : 0);
}

/* ---- directories --------------------------------------------------------- */

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dir_handle *d = NULL;
	int rc = dir_handle_open(FS(req), ino, &d);
	if (rc) {
		reply_err(req, rc);
		return;
	}
	fi->fh = (uintptr_t)d;
	fuse_reply_open(req, fi);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	dir_handle_free(fs, (struct dir_handle *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, int plus)
{
	char *buf = malloc(size);
	if (!buf) {
		reply_err(req, -ENOMEM);
		return;
	}
	ssize_t n = dir_handle_read(FS(req), req, (struct dir_handle *)(uintptr_t)fi->fh, ino, buf,
				    size, off, plus);
	if (n < 0)
		reply_err(req, (int)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 0);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 1);
}

/* ---- misc ------------------------------------------------------------------ */

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	/* S3 has no capacity: large round numbers so df and free-space checks pass */
	struct statvfs st;
	memset(&st, 0, sizeof(st));
	st.f_bsize = 4096;
	st.f_frsize = 4096;
	st.f_blocks = 1ull << 40; /* 4 PiB */
	st.f_bfree = 1ull << 40;
	st.f_bavail = 1ull << 40;
	st.f_files = 1ull << 32;
	st.f_ffree = 1ull << 32;
	st.f_favail = 1ull << 32;
	st.f_namemax = LOOKUP_NAME_MAX;
	fuse_reply_statfs(req, &st);
}

/* Extended attributes are not stored. ENOSYS makes the kernel answer
 * EOPNOTSUPP (== ENOTSUP) itself from now on, never EIO, so cp -p / cp -a /
 * rsync -X go on, and no further xattr request reaches us. */
static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	fuse_reply_err(req, ENOSYS);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	fuse_reply_err(req, ENOSYS);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	fuse_reply_err(req, ENOSYS);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	fuse_reply_err(req, ENOSYS);
}

void fs_ops(struct fuse_lowlevel_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
	ops->init = op_init;
	ops->destroy = op_destroy;
	ops->lookup = op_lookup;
	ops->forget = op_forget;
	ops->forget_multi = op_forget_multi;
	ops->getattr = op_getattr;
	ops->setattr = op_setattr;
	ops->mkdir = op_mkdir;
	ops->unlink = op_unlink;
	ops->rmdir = op_rmdir;
	ops->rename = op_rename;
	ops->open = op_open;
	ops->create = op_create;
	ops->read = op_read;
	ops->write = op_write;
	ops->flush = op_flush;
	ops->release = op_release;
	ops->fsync = op_fsync;
	ops->opendir = op_opendir;
	ops->readdir = op_readdir;
	ops->readdirplus = op_readdirplus;
	ops->releasedir = op_releasedir;
	ops->statfs = op_statfs;
	ops->getxattr = op_getxattr;
	ops->listxattr = op_listxattr;
	ops->setxattr = op_setxattr;
	ops->removexattr = op_removexattr;
}

/* ---- context --------------------------------------------------------------- */

int fs_init(struct fs *fs, const struct opts *o, struct s3_client *s3, uid_t uid, gid_t gid)
{
	memset(fs, 0, sizeof(*fs));
	fs->o = o;
	fs->s3 = s3;
	fs->uid = uid;
	fs->gid = gid;
	fs->mount_time = time(NULL);
	pthread_mutex_init(&fs->hlock, NULL);
	outage_init(&fs->outage, s3);
	int rc = budget_new((size_t)o->memory_budget, &fs->budget);
	if (!rc) {
		struct rcache_opts ro;
		memset(&ro, 0, sizeof(ro));
		rc = rcache_new(s3, fs->budget, &ro, &fs->rc);
	}
	if (!rc) {
		struct upload_pool_opts uo = {.part_size = (size_t)o->part_size,
					      .checksum = (enum upload_cksum_mode)o->checksum_mode,

					      .no_conditions = !o->conditional_writes};
		rc = upload_pool_new(s3, fs->budget, &uo, &fs->up);
	}
	if (!rc)
		rc = itable_new(o->prefix, &fs->it);
	if (!rc)
		rc = lookup_neg_new(&fs->neg);
	if (rc) {
		fs_release(fs);
		return rc;
	}
	/* Killed-writer detection needs to see the writers (procstat.h): say at
	 * mount when it cannot, not after a partial file was published. */
	fs->proc_ours = procstat_proc_is_ours();
	if (!fs->proc_ours)
		wfile_note_invisible(fs, -1);
	else if (!procstat_self_can_ptrace() && (o->allow_other || geteuid() == 0))
		log_warn("no CAP_SYS_PTRACE: the exit status of writers of other users (and of "
			 "root with more capabilities) is hidden from this daemon, so a killed "
			 "writer is told from a normal exit by its signal flags and pending "
			 "signals; that misses a kill sent to each thread separately "
			 "(cgroup.kill). Grant CAP_SYS_PTRACE (the shipped systemd unit does); "
			 "see docs/deployment.md");
	return 0;
}

void fs_release(struct fs *fs)
{
	/* The session can end with files still open (SIGTERM): the kernel never
	 * sent RELEASE for them. No worker runs any more, so free them here,
	 * before the pool, cache and table they use: a file being written is
	 * aborted (half a file is never published), a reader is dropped. */
	int n_open = 0;
	while (fs->fhs) {
		fs->fhs->pins = 0;
		fh_free(fs, fs->fhs);
		n_open++;
	}
	while (fs->dhs)
		dir_handle_free(fs, fs->dhs);
	if (n_open)
		log_warn("unmounted with %d file(s) open: files being written were "
			 "discarded",
			 n_open);
	if (fs->up)
		upload_pool_free(fs->up);
	if (fs->rc)
		rcache_free(fs->rc);
	itable_free(fs->it);
	lookup_neg_free(fs->neg);
	if (fs->budget)
		budget_free(fs->budget);
	fs->up = NULL;
	fs->rc = NULL;
	fs->it = NULL;
	fs->neg = NULL;
	fs->budget = NULL;
	outage_release(&fs->outage);
	pthread_mutex_destroy(&fs->hlock);
}
