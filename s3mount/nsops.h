/*
 * nsops.h: namespace operations that are pure S3 request sequences (no inode
 * table, no FUSE): rename of a file or a directory, mkdir/rmdir markers, and
 * the mount-time cleanup of abandoned multipart uploads.
 *
 * Keys are full object keys (the mount's prefix included). A directory is
 * named by its key prefix WITH the trailing '/' ("a/b/"), which is also the
 * key of its marker object; -EINVAL otherwise.
 * Nothing here is atomic: S3 has no rename. A file rename is CopyObject then
 * DeleteObject (s3_copy does parallel UploadPartCopy above 5 GiB, server-side:
 * no data passes through this host); a directory rename copies every object
 * under it with a few threads, then deletes the sources with DeleteObjects.
 *
 * Thread-safe (no state; the client is thread-safe). Errors: negative errno;
 * every failure is logged with the key(s) involved.
 */
#ifndef NSOPS_H
#define NSOPS_H
#include <stddef.h>
#include <stdint.h>

#include "s3.h"

#define NSOPS_RENAME_DIR_MAX_DEFAULT 10000 /* objects; above: -EMLINK */
#define NSOPS_COPY_THREADS_DEFAULT 4

/* CopyObject src -> dst, then DeleteObject src. size: src's size if known
 * (0 lets s3_copy HEAD it). If the copy fails nothing changed; if the delete
 * fails, both names exist and -EIO is returned (logged). */
int nsops_rename_file(struct s3_client *c, const char *src, const char *dst, uint64_t size);
/* The same, copying only the version src_etag of src (NULL or "": any): a
 * source replaced since it was seen fails with -ESTALE and nothing changes. */
int nsops_rename_file_if(struct s3_client *c, const char *src, const char *dst, uint64_t size,
			 const char *src_etag);

/* Renames directory src_dir to dst_dir (both end in '/'): lists every object
 * under src_dir (its marker and subdirectories' markers included), refuses
 * with -EMLINK ("Too many links", logged with the count and the limit) when
 * there are more than max_objects (0 = NSOPS_RENAME_DIR_MAX_DEFAULT), copies
 * each to dst_dir + rest with `threads` parallel copies (0 = default), then
 * deletes the sources in DeleteObjects batches. On a copy failure the copies
 * already made are deleted again and -EIO is returned: the source is intact.
 * -ENOTEMPTY when dst_dir holds objects other than its own marker; -EINVAL
 * when dst_dir is inside src_dir; -ENOENT when src_dir holds no object. */
int nsops_rename_dir(struct s3_client *c, const char *src_dir, const char *dst_dir,
		     size_t max_objects, int threads);

/* 1 when nothing is under dir except its own marker (or nothing at all),
 * 0 when something is, negative errno on failure. */
int nsops_dir_empty(struct s3_client *c, const char *dir);

/* rmdir: -ENOTEMPTY unless nsops_dir_empty, then deletes the marker (a
 * directory that only existed implicitly has none: that is fine). */
int nsops_rmdir(struct s3_client *c, const char *dir);

/* mkdir: PutObject of the empty marker "dir/" (Content-Type
 * application/x-directory, as s3fs does), so empty directories persist. */
int nsops_mkdir(struct s3_client *c, const char *dir);

/* Aborts every incomplete multipart upload under prefix ("" = the bucket)
 * initiated more than older_than_seconds ago (ListMultipartUploads +
 * AbortMultipartUpload). Returns how many were aborted (>= 0) or a negative
 * errno when listing fails; an abort that fails is logged and skipped. */
int nsops_abort_stale_uploads(struct s3_client *c, const char *prefix, long older_than_seconds);

#endif
