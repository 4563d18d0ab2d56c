/*
 * upload.h: a file written sequentially into the mount, streamed to S3.
 *
 * An upload buffers at most one part of its file; when the part is full it is
 * handed to the pool's worker threads and uploaded in the background while
 * the writer goes on (a multipart upload is created when the first part
 * fills). A file that never fills a part becomes one PutObject at commit.
 * Part buffers come from the shared memory budget (budget.h): when it is used
 * up, upload_write() blocks until a part finishes uploading: never -ENOMEM,
 * never unbounded growth. Part size policy (stated in --help and README):
 * parts 1-1000 use the configured part size (default 8 MiB), then it doubles
 * every 1000 parts (capped at 5 GiB), so 10,000 parts reach past 5 TiB.
 *
 * upload_commit() waits for every part, completes the upload and returns
 * only once the object exists; on any failure it aborts the multipart upload
 * (no orphaned parts), logs the key and S3 error, and returns -EIO (or the
 * mapped errno). upload_abort() discards everything: no object, no upload.
 * upload_retarget() renames a file still open for writing: the pending
 * upload is moved to the new key (how, and what it costs once parts have gone
 * out under the old key, is documented in upload.c).
 *
 * Thread-safety: one struct upload is used by one writer at a time (FUSE
 * serialises writes on a handle through the fs lock); the pool is shared.
 * Errors: negative errno; -ESPIPE for a write that is not at the current end
 * of the file (non-sequential writes are refused, see README).
 */
#ifndef UPLOAD_H
#define UPLOAD_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "budget.h"
#include "s3.h"

struct upload_pool;
struct upload;

struct upload_pool_opts {
	size_t part_size;   /* first part size in bytes; >= 5 MiB; 0 = 8 MiB */
	int workers;        /* parallel part uploads for all files; 0 = 4 */
};

int upload_pool_new(struct s3_client *c, struct budget *b, const struct upload_pool_opts *o,
		    struct upload_pool **out);
/* Waits for running part uploads; uploads still open are aborted. */
void upload_pool_free(struct upload_pool *p);

/* Part size used for part number n (1-based) under the policy above. */
size_t upload_part_size(const struct upload_pool *p, int part_number);

int upload_new(struct upload_pool *p, const char *key, struct upload **out);
/* Appends len bytes at off, which must equal upload_size(); returns len or a
 * negative errno (a background part failure is reported here, early). */
ssize_t upload_write(struct upload *u, const void *data, size_t len, uint64_t off);
uint64_t upload_size(const struct upload *u);
/* Moves the pending upload to new_key (rename of a file open for writing). */
int upload_retarget(struct upload *u, const char *new_key);
/* Completes: waits for every part, then Complete (or PutObject); info gets
 * the new object's size, mtime and ETag. After a commit, the upload is done:
 * free it. */
int upload_commit(struct upload *u, struct s3_object_info *info);
/* Discards: no object, no listed upload. */
void upload_abort(struct upload *u);
void upload_free(struct upload *u);

#endif
