/*
 * meta.h: what a name is on S3: which object names are usable as file names,
 * the lookup probe (HEAD key and LIST key/ at the same time), and the cache
 * of names known to be missing (negative cache).
 *
 * Names: a component of a key is shown only when it can be a Linux file name:
 * not empty (the "a//b" case), not "." or "..", at most 255 bytes, no '/'.
 * Anything else is skipped with a log line by the caller (dir.c, fs.c).
 *
 * Probe: a directory shadows a file of the same name (as in Mountpoint): when
 * LIST "key/" finds anything, the name is a directory whatever HEAD says.
 *
 * The negative cache maps (parent inode, name) to an expiry time; it holds
 * at most META_NEG_MAX names and is cleared wholesale past that (cheap and
 * bounded; a cleared entry only costs one more probe).
 * Thread-safety: meta_neg_* lock internally; meta_probe is reentrant.
 * Errors: negative errno.
 */
#ifndef META_H
#define META_H
#include <stddef.h>
#include <stdint.h>

#include "s3.h"

#define META_NAME_MAX 255
#define META_NEG_MAX 16384

enum meta_name_verdict {
	META_NAME_OK = 0,
	META_NAME_EMPTY, /* "a//b": an empty component */
	META_NAME_DOT,	 /* "." or ".." */
	META_NAME_LONG,	 /* over 255 bytes */
	META_NAME_SLASH, /* holds '/' */
};

/* Checks name[0..len). Pure. */
enum meta_name_verdict meta_name_check(const char *name, size_t len);
const char *meta_name_reason(enum meta_name_verdict v);

struct meta_probe {
	int is_dir;
	struct s3_object_info info; /* for a file */
};

/* HEAD file_key and LIST dir_key (max-keys 1) in parallel. 0 and *out, or
 * -ENOENT when neither exists, or the error of the failing request when
 * nothing was found (-EACCES, -EIO, ...). */
int meta_probe(struct s3_client *c, const char *file_key, const char *dir_key,
	       struct meta_probe *out);

/* Negative cache. */
struct meta_neg;
int meta_neg_new(struct meta_neg **out);
void meta_neg_free(struct meta_neg *n);
/* Remembers that (parent, name) is missing until expiry (monotonic s). */
void meta_neg_add(struct meta_neg *n, uint64_t parent, const char *name, double expiry);
/* 1 when (parent, name) is known missing at time now. */
int meta_neg_check(struct meta_neg *n, uint64_t parent, const char *name, double now);
void meta_neg_remove(struct meta_neg *n, uint64_t parent, const char *name);

#endif
