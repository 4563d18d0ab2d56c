/*
 * upload.h: a file written sequentially into the mount, streamed to S3.
 *
 * An upload buffers at most one part of its file; when the part is full and
 * more data arrives, the part is handed to the pool's worker threads and
 * uploaded in the background while the writer goes on (the multipart upload
 * is created, synchronously, when the first part is handed over). A file of
 * at most one part becomes one PutObject at commit (0 bytes included). Part
 * buffers come from the shared memory budget (budget.h): when it is used up,
 * upload_write() blocks until a part finishes uploading: never -ENOMEM, never
 * unbounded growth. The first part's buffer starts at 64 KiB, so a file of
 * up to 64 KiB charges the budget only that much; past it (and for every
 * later part) a whole part is charged. At most max_inflight parts of one file
 * are queued or uploading at once (the writer waits beyond that).
 * Limit, stated plainly: open files that are being written each hold up to
 * one part; a program that keeps more files growing at once than the budget
 * has parts for (e.g. 33+ files round-robin with 256 MiB and 8 MiB parts)
 * waits in write() until one of them is closed.
 * Part size policy (partsize.h; stated in --help): parts 1-1000
 * use the configured part size (default 8 MiB), then it doubles every 1000
 * parts, capped at 5 GiB, so 10,000 parts reach past 5 TiB. A part must fit
 * the memory budget, so parts are also capped at half the budget (rounded
 * down to MiB, at least 5 MiB): a huge file goes on with smaller parts and
 * its maximum size is lower: with 256 MiB, parts stop growing at 128 MiB and
 * a file can reach 1000 x (8+16+32+64+128 x 6) MiB = 888,000 MiB (867 GiB);
 * 5 TiB needs a 4 GiB budget. A write past that maximum fails with -EFBIG
 * (logged); so does one on a budget smaller than a 5 MiB part.
 *
 * upload_commit() waits for every part, completes the upload (a 200 whose
 * body is <Error> is a failure) and returns only once the object exists; on
 * any failure it aborts the multipart upload (no orphaned parts), logs the
 * key and S3 error, and returns -EIO (-EFBIG when the file outgrew the
 * limits above; -EEXIST / -ESTALE when its condition failed, below). A part that fails is reported
 * early: the next upload_write() returns -EIO. upload_abort() discards everything: no object, no
 * upload. fsync: the caller commits (upload_commit); the object then exists. A later commit returns
 * 0 and the same info again (close after fsync) and upload_abort() does nothing. To write on (a
 * logger that fsyncs and goes on writing), call upload_resume(): it starts a new upload of the same
 * key whose first bytes are the committed object (UploadPartCopy, server-side, if it is >= 5 MiB; a
 * GET into the first part buffer if smaller), then appends as before; the next commit replaces the
 * object with the longer one. Until then the committed version stays as it was, so S3 always holds
 * a committed prefix of the file; an abort (killed writer) or a failure after
 * a resume leaves that version in place. upload_write() right after a commit
 * without upload_resume() fails with -EPERM.
 * upload_retarget() renames a file still open for writing: before anything
 * went to S3 it only changes the key; once a multipart upload is open under
 * the old key, the object is completed there at commit and then copied
 * server-side to the new key and the old key deleted (uploadrename.c says why).
 * Whatever is under the old name at the rename (a version committed by
 * fsync, an object being replaced) stays there until the commit under the
 * new name, and goes then only if it is still that version: an abort (a
 * killed writer) leaves it in place.
 *
 * Conditional commits (docs/semantics.md): a commit carries the condition
 * upload_set_cond() gave (If-None-Match: * for a file that did not exist,
 * If-Match: <ETag> for one that did), and every commit after the first
 * If-Match on the ETag the last one made (upload_resume: on the version it
 * continues). A failed condition (412, or 409 ConditionalRequestConflict) is
 * first checked against the key: an object with this upload's nonce (sent
 * as x-amz-meta-s3mount-upload on the PutObject too, when a condition is
 * sent) and size, and its computed ETag where one is computed, is this
 * upload's own, committed by a try whose answer was lost: success. Anything
 * else is another writer's object: it is kept, the multipart upload is
 * aborted, one line names the key, and the commit fails with -EEXIST (the
 * file was new) or -ESTALE (it replaced a version). A multipart commit's
 * condition is also checked by a HEAD just before the Complete (a server may
 * ignore it there: Ceph RGW 16 does). A pool made with no_conditions never
 * sends them.
 *
 * Thread-safety: all calls on one struct upload must be serialised by the
 * caller (FUSE: writes, flush, fsync, rename and release of a handle under
 * the handle's lock); the pool and its worker threads are shared and
 * thread-safe. upload_write() and upload_commit() block (budget, in-flight
 * bound, network).
 * Errors: negative errno; -ESPIPE for a write that is not at the current end
 * of the file (non-sequential writes are refused, see docs/semantics.md).
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

/* What uploads carry to let the server reject a changed byte (option
 * checksum=, issue 13; docs/checksums.md says why):
 *   AUTO       x-amz-checksum-crc64nvme on every PutObject and UploadPart
 *              (multipart: FULL_OBJECT declared at Create, the whole
 *              object's CRC64NVME at Complete) and Content-MD5 as well
 *              until the server echoes the checksum header (it validated
 *              it); from then on, for the mount, no MD5 is computed at all.
 *              A server that never echoes (Ceph RGW 16) keeps getting both.
 *   CRC64NVME, CRC32C  that CRC only, never Content-MD5: the user asserts
 *              that the server validates it (a server that does not echo
 *              is warned about once, and then nothing but TCP guards the
 *              bytes).
 *   MD5        Content-MD5 only (s3mount before issue 13).
 *   OFF        neither (the SigV4 payload hash is then computed instead).
 * The decision is logged once per mount. */
enum upload_cksum_mode {
	UPLOAD_CKSUM_AUTO = 0,
	UPLOAD_CKSUM_CRC64NVME,
	UPLOAD_CKSUM_CRC32C,
	UPLOAD_CKSUM_MD5,
	UPLOAD_CKSUM_OFF,
};

struct upload_pool_opts {
	size_t part_size; /* first part size in bytes; 5 MiB .. 5 GiB; 0 = 8 MiB */
	int workers;	  /* parallel part uploads for all files; 0 = 8 */
	int max_inflight; /* parts of one file queued or uploading; 0 = workers */
	enum upload_cksum_mode checksum;
	int no_conditions; /* never send commit conditions (servers that refuse them) */
};

int upload_pool_new(struct s3_client *c, struct budget *b, const struct upload_pool_opts *o,
		    struct upload_pool **out);
/* Aborts and frees every upload of the pool still not freed (their handles
 * must not be used afterwards), then stops the workers. Free the pool last. */
void upload_pool_free(struct upload_pool *p);

/* Part size used for part number n (1-based) under the policy above
 * (capped at half the budget). */
size_t upload_part_size(const struct upload_pool *p, int part_number);

int upload_new(struct upload_pool *p, const char *key, struct upload **out);
/* The condition of the upload's next commit (see above): NULL none; "" the
 * key must not exist (If-None-Match: *); else If-Match on that ETag. */
void upload_set_cond(struct upload *u, const char *etag);
/* Makes a new upload the continuation of the existing object under its key,
 * of size bytes and version etag (append): as if this upload had committed
 * it, so that upload_resume() continues it next. -EINVAL unless new. */
int upload_adopt(struct upload *u, uint64_t size, const char *etag);
/* Appends len bytes at off, which must equal upload_size(); returns len or a
 * negative errno (a background part failure is reported here, early). */
ssize_t upload_write(struct upload *u, const void *data, size_t len, uint64_t off);
uint64_t upload_size(const struct upload *u);
/* The key the object will be committed under (after any retarget). */
const char *upload_key(const struct upload *u);
/* Moves the pending upload to new_key (rename of a file open for writing).
 * -EINVAL after a commit (the object exists: rename it as an object); -EBUSY
 * when renamed away from LEFT_MAX (4) existing objects already; a HEAD error
 * of the old name. Blocks (one HEAD of the old name). */
int upload_retarget(struct upload *u, const char *new_key);
/* Completes: waits for every part, then Complete (or PutObject); info gets
 * the new object's size, mtime and ETag. After a commit, the upload is done:
 * free it. */
int upload_commit(struct upload *u, struct s3_object_info *info);
/* After a commit: continue the file (see above) under key (its current name:
 * the object may have been renamed since). The committed object must still
 * be the one this upload made (same size; same ETag if the key did not
 * change): if another writer replaced it, -EIO and a log line. Any failure
 * leaves the upload failed (commit returns -EIO) and the object untouched.
 * -EINVAL if the upload is not committed. Blocks (HEAD, GET or Create). */
int upload_resume(struct upload *u, const char *key);
/* Discards: no object, no listed upload. */
void upload_abort(struct upload *u);
/* Frees; an upload neither committed nor aborted is aborted first. NULL ok. */
void upload_free(struct upload *u);

/* Calls fn for every upload of a file still open that has parts queued,
 * uploading or acknowledged (a file past its first part, until it is
 * closed), with the key its object will have, the bytes and parts S3 has
 * acknowledged so far; stops at fn's first non-zero return
 * (returned). For the status file: fn runs under the pool's lock and must
 * not call into the pool. */
typedef int (*upload_each_fn)(void *arg, const char *key, uint64_t bytes_done, int parts_done);
int upload_pool_each(struct upload_pool *p, upload_each_fn fn, void *arg);

#endif
