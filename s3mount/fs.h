/*
 * fs.h: the filesystem: the context every FUSE operation reaches through
 * fuse_req_userdata(), and the table of low-level operations.
 *
 * The context (struct fs) lives in main() and owns the memory budget, the read
 * cache, the upload pool, the inode table and the negative cache; the S3
 * client and the options are lent by main() and outlive it. Each operation is
 * a thin replier around a do_x() that returns 0 or a negative errno; no lock
 * is held across a fuse_reply_*() call or an S3 request.
 *
 * The semantics users see (what is cached how long, which writes work, what
 * close() and rename() do, the errnos) are in docs/semantics.md.
 *
 * Thread-safety: every operation may run on any FUSE worker thread at once;
 * shared state is behind the inode table's lock, per-handle locks, or atomics.
 * fs_init() and fs_release() run with no session loop running.
 */
#ifndef FS_H
#define FS_H
#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312
#endif
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "budget.h"
#include "itable.h"
#include "lookup.h"
#include "opts.h"
#include "outage.h"
#include "reader.h"
#include "s3.h"
#include "upload.h"

struct fs {
	const struct opts *o; /* lent by main() */
	struct s3_client *s3; /* lent by main() */
	struct budget *budget;
	struct rcache *rc;
	struct upload_pool *up;
	struct itable *it;
	struct lookup_neg *neg;
	struct outage outage; /* S3 out of reach: stale metadata answers */
	uid_t uid;
	gid_t gid;
	time_t mount_time; /* shown as the date of implicit directories */

	/* counters for the summary (relaxed atomics) */
	atomic_uint_least64_t n_lookup, n_probe, n_readdir_pages, n_open, n_read, bytes_read,
	    n_write, bytes_written, n_commit, n_commit_err, n_abort_killed;
	atomic_int open_readers;    /* reader handles alive (rcache_free needs none) */
	atomic_int no_part_probe;   /* the server ignores HEAD ?partNumber: stop asking */
	atomic_int cksum_misses;    /* HEAD answers in a row without a checksum (rfile.c) */
	int proc_ours;		    /* /proc is of our pid namespace (procstat.h) */
	atomic_int invisible_noted; /* bits: causes of unseen callers already logged */

	/* Every file and directory handle alive, so fs_release() can free those
	 * the kernel never released (the session ended with files open). */
	pthread_mutex_t hlock;
	struct fh *fhs;
	struct dir_handle *dhs;
};

/* Makes the budget, read cache, upload pool, inode table and negative cache.
 * Starts worker threads: call after fuse_daemonize(). */
int fs_init(struct fs *fs, const struct opts *o, struct s3_client *s3, uid_t uid, gid_t gid);
/* Frees everything, first the handles still open when the session ended:
 * uploads of files being written are aborted (nothing is published). */
void fs_release(struct fs *fs);

/* Fills the low-level operation table. */
void fs_ops(struct fuse_lowlevel_ops *ops);

/* Logs one summary line of requests, bytes, retries, cache hits, memory
 * (status.c, with the status file that shows the same and more). */
void fs_log_summary(struct fs *fs);

/* For the modules that carry out the operations (dir.c, fh.c, rfile.c,
 * wfile.c, names.c): the attribute helpers every one of them shares. */

/* Adds n to a summary counter (relaxed). */
void fs_count(atomic_uint_least64_t *c, uint64_t n);
/* Fills an entry for in and counts the kernel's new reference (nlookup);
 * call with the table lock held. */
void fs_fill_entry_locked(struct fs *fs, struct inode *in, struct fuse_entry_param *e);
/* Key of (parent, name) as a file (dir 0) or directory (dir 1) into out;
 * -ENOENT for an unknown parent, -ENAMETOOLONG for a long name. */
int fs_child_key(struct fs *fs, fuse_ino_t parent, const char *name, int dir, char *out,
		 size_t cap);
/* Refreshes a file's attributes from S3 when they are older than stat_ttl. */
int fs_revalidate(struct fs *fs, fuse_ino_t ino);
/* LOOKUP: the entry of (parent, name), its nlookup counted, or an errno. */
int fs_lookup(struct fs *fs, fuse_ino_t parent, const char *name, struct fuse_entry_param *e);

#endif
