/*
 * fh.h: a file handle, what open() and create() give the kernel (fi->fh):
 * a reader of one object version (rfile.h) or a writer of one upload, whose
 * state machine is in wfile.h. Both kinds share this struct so that the
 * operations can tell them apart by kind and fs_release() can sweep them.
 *
 * Lifetime: fh_new() links the handle on fs->fhs; RELEASE calls
 * fh_released(), which frees it unless a rename holds a pin (fh_unpin()
 * frees it then). fh_free() frees at once (an open that failed, and
 * fs_release() for the handles the kernel never released).
 *
 * Thread-safety: each field says which lock protects it. Lock order:
 * h->lock, then the table lock; fs->hlock, then the table lock.
 * Errors: fh_new() returns NULL when out of memory.
 */
#ifndef FH_H
#define FH_H
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "fs.h"

enum fh_kind { FH_READ, FH_WRITE };

/* FH_LAZY: an existing object opened for writing without O_TRUNC: nothing
 * happens unless ftruncate(0) turns it into FH_OPEN (truncate(1) does
 * open + ftruncate) or the first write is at its end (an append, `>>`:
 * the object is continued); any other write fails with EPERM. */
enum fh_state { FH_LAZY, FH_OPEN, FH_COMMITTED, FH_FAILED, FH_DISCARDED };

struct fh {
	enum fh_kind kind;
	struct inode *in;	 /* holds a ref */
	struct reader *r;	 /* FH_READ */
	struct verify *v;	 /* FH_READ: MD5 check against the ETag, or NULL */
	struct upload *u;	 /* FH_WRITE */
	pthread_mutex_t lock;	 /* FH_WRITE: serialises write/flush/fsync/rename */
	enum fh_state state;	 /* protected by lock */
	int err;		 /* result of the commit; protected by lock */
	uint64_t committed_size; /* bytes of the last commit; protected by lock */
	int empty_committed;	 /* an empty object was committed and reopened */
	/* What the open saw (protected by lock): the object's ETag, "" when
	 * there was none, and its size (FH_LAZY: where an append starts). */
	char open_etag[S3_ETAG_MAX];
	uint64_t open_size;
	char last_etag[S3_ETAG_MAX]; /* of this handle's last commit */
	pid_t opener_tgid;	     /* 0: the opener could not be seen */
	pid_t killed_pid;	     /* the last flush came from this dying task */
	int killed_sig;		     /* ... killed by this signal (0: crashed) */
	int pins;		     /* rename using it; protected by the table lock */
	int released;		     /* RELEASE came; protected by the table lock */
	struct fh *prev, *next;	     /* fs->fhs; protected by fs->hlock */
};

/* A handle of that kind, linked on fs->fhs, with no inode yet. */
struct fh *fh_new(struct fs *fs, enum fh_kind kind);
/* Frees h now (NULL is a no-op): its reader, check and upload (an upload
 * still open is aborted), its inode ref and writer count, its link. */
void fh_free(struct fs *fs, struct fh *h);
/* RELEASE came: frees h unless a rename holds a pin. */
void fh_released(struct fs *fs, struct fh *h);
/* Drops a pin taken by rename (NULL is a no-op); frees the handle if
 * RELEASE came meanwhile. */
void fh_unpin(struct fs *fs, struct fh *h);

#endif
