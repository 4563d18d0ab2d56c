/*
 * lookup.h: what a name is on S3: which object names are usable as file names,
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
 * at most LOOKUP_NEG_MAX names and is cleared wholesale past that (cheap and
 * bounded; a cleared entry only costs one more probe).
 * Thread-safety: lookup_neg_* lock internally; lookup_probe is reentrant.
 * Errors: negative errno.
 */
#ifndef LOOKUP_H
#define LOOKUP_H
#include <stddef.h>
#include <stdint.h>

#include "s3.h"

#define LOOKUP_NAME_MAX 255
#define LOOKUP_NEG_MAX 16384

enum lookup_name_verdict {
	LOOKUP_NAME_OK = 0,
	LOOKUP_NAME_EMPTY, /* "a//b": an empty component */
	LOOKUP_NAME_DOT,   /* "." or ".." */
	LOOKUP_NAME_LONG,  /* over 255 bytes */
	LOOKUP_NAME_SLASH, /* holds '/' */
};

/* Checks name[0..len). Pure. */
enum lookup_name_verdict lookup_name_check(const char *name, size_t len);
const char *lookup_name_reason(enum lookup_name_verdict v);

struct lookup_probe {
	int is_dir;
	struct s3_object_info info; /* for a file */
};

/* HEAD file_key and LIST dir_key (max-keys 1) in parallel. 0 and *out, or
 * -ENOENT when neither exists, or the error of the failing request when
 * nothing was found (-EACCES, -EIO, ...). */
int lookup_probe(struct s3_client *c, const char *file_key, const char *dir_key,
		 struct lookup_probe *out);

/* Negative cache. */
struct lookup_neg;
int lookup_neg_new(struct lookup_neg **out);
void lookup_neg_free(struct lookup_neg *n);
/* Remembers that (parent, name) is missing until expiry (monotonic s). */
void lookup_neg_add(struct lookup_neg *n, uint64_t parent, const char *name, double expiry);
/* 1 when (parent, name) is known missing at time now. */
int lookup_neg_check(struct lookup_neg *n, uint64_t parent, const char *name, double now);
void lookup_neg_remove(struct lookup_neg *n, uint64_t parent, const char *name);

#endif
