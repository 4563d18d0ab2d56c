/*
 * itable.h: the inode table, which is also the metadata (attribute) cache.
 *
 * Each inode is one name under a parent directory: {parent, name, type, size,
 * mtime, etag, attr_time}. It is reachable by number (the kernel's nodeid) and
 * by (parent, name). Lifetime follows libfuse's passthrough_ll: nlookup
 * counts the kernel's references (lookup, create, mkdir, readdirplus add one;
 * forget drops n), and refs counts ours (open handles, children holding their
 * parent). An inode with nlookup == 0 and refs == 0 is not freed at once when
 * it is still reachable by name: it stays as a cached entry (attributes from a
 * listing or a HEAD) on an LRU list of at most ITABLE_MAX_UNUSED entries, so
 * `ls -l` after `ls` and lookups after a listing cost no request. An inode
 * number is stable while the kernel or a handle refers to it.
 *
 * Keys: the object key of an inode is mount prefix + the names from the root
 * down, joined by '/'; a directory's key ends in '/'. Rename moves an inode
 * (parent, name) in O(1); its children follow because keys are built on
 * demand.
 *
 * Thread-safety: one mutex per table. Functions named *_locked must be called
 * with itable_lock() held; the others take it themselves. Pointers to inodes
 * are valid while the lock is held, or while the caller holds an nlookup (the
 * kernel does, during a request about that inode) or a ref.
 * Errors: negative errno (-ENOMEM, -ENAMETOOLONG for a key past 1024 bytes).
 */
#ifndef ITABLE_H
#define ITABLE_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "s3.h"

#define ITABLE_MAX_UNUSED 65536 /* cached, unreferenced inodes kept */

struct inode {
	uint64_t ino;
	struct inode *parent; /* NULL for the root; holds a ref on it */
	char *name;	      /* "" for the root */
	int is_dir;
	uint64_t size;		     /* bytes */
	time_t mtime;		     /* seconds since the epoch */
	char etag[S3_ETAG_MAX];	     /* "" when unknown (directories, pending files) */
	double attr_time;	     /* monotonic s when attrs were confirmed; 0 = stale */
	char open_etag[S3_ETAG_MAX]; /* ETag seen at the last open for read (keep_cache) */
	double listed_full;	     /* a directory: monotonic s a complete listing of it
				      * began, while every child it listed is still in
				      * the table; 0 = none (outage.h) */
	int writers;		     /* open write handles (the file is being written here) */
	int unlinked;		     /* removed while open: abort its upload at close */
	void *wctx;		     /* the write handle (fh.h) while writers > 0 (rename) */

	/* table bookkeeping: all under the table lock */
	uint64_t nlookup; /* kernel references */
	unsigned refs;	  /* our references */
	int hashed;	  /* reachable by (parent, name) */
	struct inode *next_ino, *next_name;
	struct inode *lru_prev, *lru_next; /* on the unused list when nlookup == refs == 0 */
	int on_lru;
};

struct itable;

/* prefix: the mount's key prefix ("" or "dir/"), copied. */
int itable_new(const char *prefix, struct itable **out);
void itable_free(struct itable *it);

void itable_lock(struct itable *it);
void itable_unlock(struct itable *it);

struct inode *itable_root_locked(struct itable *it);
/* Calls fn for every child of dir still reachable by name, until fn returns
 * non-zero (which is returned). O(table size): for the rare stale listing. */
int itable_children_locked(struct itable *it, const struct inode *dir,
			   int (*fn)(void *arg, const struct inode *child), void *arg);
/* Cached entries dropped to keep the table within ITABLE_MAX_UNUSED so far:
 * a listing during which this changed may have lost entries. */
uint64_t itable_evictions_locked(const struct itable *it);
/* By number; NULL when unknown. */
struct inode *itable_find_locked(struct itable *it, uint64_t ino);
/* Child by name; NULL when not cached. */
struct inode *itable_child_locked(struct itable *it, struct inode *parent, const char *name);

/* Finds or makes the child (parent, name) of the given type and stores the
 * attributes (etag may be NULL), stamping attr_time = now: the time the
 * HEAD or LIST that observed them was SENT; a cached child whose attributes
 * were confirmed after that (attr_time > now) keeps them. When a cached
 * child has the other type (a file became a directory), the old inode is
 * unhashed (the kernel may still hold it by number) and a new one made.
 * NULL on allocation failure. */
struct inode *itable_upsert_locked(struct itable *it, struct inode *parent, const char *name,
				   int is_dir, uint64_t size, time_t mtime, const char *etag,
				   double now);

/* Kernel reference counting. */
void inode_lookup_locked(struct itable *it, struct inode *in);
/* Drops n kernel references by number (FORGET). */
void itable_forget(struct itable *it, uint64_t ino, uint64_t n);

/* Our references (open handles). */
void inode_ref_locked(struct itable *it, struct inode *in);
void inode_unref_locked(struct itable *it, struct inode *in);

/* Makes (parent, name) unreachable by name (unlink, rmdir, replaced). */
void inode_unhash_locked(struct itable *it, struct inode *in);
/* Moves in to (new_parent, new_name) (rename); a cached inode already at the
 * target is unhashed first. -ENOMEM leaves in where it was. */
int inode_move_locked(struct itable *it, struct inode *in, struct inode *new_parent,
		      const char *new_name);

/* Writes the object key of in into out (cap bytes incl. NUL). A directory's
 * key ends in '/', the root's is the prefix. -ENAMETOOLONG past cap or past
 * the S3 limit. */
int inode_key_locked(struct itable *it, const struct inode *in, char *out, size_t cap);
/* Same for a child name of parent, as a file ("dir/name") or, with dir set,
 * as a directory ("dir/name/"). */
int inode_child_key_locked(struct itable *it, const struct inode *parent, const char *name, int dir,
			   char *out, size_t cap);

struct itable_stats {
	uint64_t inodes, unused;
};
void itable_stats(struct itable *it, struct itable_stats *out);

#endif
