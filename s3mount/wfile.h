/*
 * wfile.h: a file open for writing: the write-handle state machine (struct
 * fh of kind FH_WRITE, fh.h) over one upload (upload.h).
 *
 * States: FH_LAZY (an existing object opened without O_TRUNC: nothing
 * happens unless ftruncate(0) turns it into FH_OPEN, or a first write at the
 * object's end continues it: an append), FH_OPEN (an upload is
 * pending; the inode counts a writer), FH_COMMITTED, FH_FAILED (err says
 * why; later writes and flushes return it), FH_DISCARDED. A commit happens
 * in flush (only the opener's), fsync and release; a release after a flush
 * from a writer killed by a signal discards instead. wfile.c says why.
 * Every commit is conditioned (upload.h) on what the handle saw at open (no
 * object: If-None-Match: *; else If-Match on its ETag) or on its own last
 * commit; another writer's object makes the commit fail with EEXIST or
 * ESTALE (docs/semantics.md).
 *
 * Thread-safety: every call takes h->lock (then the table lock), so writes,
 * flushes, fsyncs and a rename on one handle are serialised.
 * Errors: negative errno; a failed commit is remembered and returned by
 * every later flush, fsync and write of the handle.
 */
#ifndef WFILE_H
#define WFILE_H
#include <sys/types.h>

#include "fh.h"
#include "fs.h"

/* OPEN for writing (fs not read-only): a new handle into fi->fh; O_TRUNC or
 * an empty file starts an upload, else the handle is FH_LAZY. -EBUSY when
 * the file is already open for writing. Blocks (a HEAD) only when the file's
 * ETag is not known here. */
int wfile_open(struct fs *fs, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
/* CREATE: the inode of (parent, name), made if new, and a handle writing it
 * into fi->fh; the entry into e (its nlookup counted). */
int wfile_create(struct fs *fs, fuse_req_t req, fuse_ino_t parent, const char *name,
		 struct fuse_file_info *fi, struct fuse_entry_param *e);
/* ftruncate on a write handle: to the current size is a no-op, to 0 turns
 * an FH_LAZY handle into a replacement; anything else is -EPERM. */
int wfile_truncate(struct fs *fs, struct fh *h, uint64_t want);
/* WRITE: the bytes written or a negative errno (-EBADF: not a write handle). */
ssize_t wfile_write(struct fs *fs, struct fh *h, const char *buf, size_t size, off_t off);
/* FLUSH (any kind of handle; 0 for a reader): commits when the caller is the
 * opener or cannot be seen, marks the handle when the caller is dying. */
int wfile_flush(struct fs *fs, fuse_req_t req, struct fh *h);
/* FSYNC: commits what was written (durable means committed). */
int wfile_fsync(struct fs *fs, struct fh *h);
/* RELEASE of a write handle: the last close decides: commits what is left,
 * or discards it when the last flush came from a killed writer. The result
 * only goes to the log. Does not free h (fh_released). */
void wfile_release(struct fs *fs, struct fh *h);
/* A rename is replacing the file h is writing (h pinned): h's upload is
 * dropped and its writer gets EIO from then on. key: the name, for the log. */
void wfile_displace(struct fs *fs, struct fh *h, const char *key);
/* A rename of the file h is writing (h pinned), src -> dst (size: src's):
 * a pending upload is retargeted (no copy); else the object is copied. */
int wfile_rename(struct fs *fs, struct fh *h, const char *src, const char *dst, uint64_t size);
/* Logs once per cause that a writer cannot be seen (pid 0, or pid -1 for a
 * /proc of another pid namespace), and what to change. */
void wfile_note_invisible(struct fs *fs, pid_t pid);

#endif
