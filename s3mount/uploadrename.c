/*
 * uploadrename.c: rename of a file open for writing (upload_retarget) and
 * what follows at its commit: the object moves to the new name and the names
 * left behind go. Part of the upload module (upload.h; uploadint.h).
 *
 * upload_retarget() after a multipart upload is open (the cost, honestly):
 * S3 binds an upload id to its key, and UploadPartCopy can only copy from a
 * committed object, never from the uncommitted parts of another upload, so
 * parts already sent cannot move to a new key. The cheapest correct strategy
 * is: keep uploading under the old key, complete there at commit, then
 * CopyObject old -> new (server-side; s3_copy switches to parallel
 * UploadPartCopy above 5 GiB: no byte goes through this host again) and
 * DeleteObject old. Cost: one server-side copy of the object, and the
 * complete object is visible under the OLD name between Complete and Delete
 * (milliseconds to seconds). A hazard stated plainly: if another writer
 * commits a new file under the old name in that window, this commit
 * overwrites it and then deletes it. The alternatives are worse: completing
 * at rename time and switching to a new upload under the new key that starts
 * with UploadPartCopy of that object costs the same copy, exposes the old
 * name for the whole rest of the write, and needs the copied prefix split into
 * >= 5 MiB parts; re-reading the parts is impossible (their buffers are gone).
 * A rename before the first part is queued costs nothing (the key changes);
 * the usual editor pattern (write tmp, close, rename) renames a committed
 * object and is not a retarget at all.
 *
 * What stays under the name left by a retarget: the object there (a version
 * this file committed by fsync, or the object an O_TRUNC open is replacing)
 * is NOT deleted at the rename but only after the commit under the new name
 * (upload_finish_renames). Deleting it at once broke two things: a resumed upload
 * whose first parts are UploadPartCopy of that very object (queued or in
 * flight) failed, and a writer killed after the rename left neither name,
 * losing what fsync had made durable. It goes then only if it is still the
 * version seen at the rename (same ETag): another writer may have put a new
 * object there meanwhile, and that one is not ours to delete.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "uploadint.h"

int upload_retarget(struct upload *u, const char *new_key)
{
	size_t klen = strlen(new_key);
	if (klen == 0 || klen >= S3_KEY_MAX)
		return -ENAMETOOLONG;
	if (u->state != UP_OPEN)
		return -EINVAL;
	if (strcmp(new_key, u->final_key) == 0)
		return 0;
	/* What is under the name being left is kept until the commit under the
	 * new one (file head); remember which version it is. */
	struct s3_object_info hi;
	int rc = s3_head(u->p->c, u->final_key, &hi);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if (rc == 0 && u->nleft == LEFT_MAX) {
		log_warn("rename of %s while open: renamed %d times already; refused (EBUSY)",
			 LOG_KEY(u->final_key), LEFT_MAX);
		return -EBUSY;
	}
	for (int i = 0; i < u->nleft; i++) {
		if (strcmp(u->left[i].key, new_key) == 0) {
			/* back to a name left before: the commit replaces it anyway */
			u->left[i] = u->left[--u->nleft];
			break;
		}
	}
	if (rc == 0) {
		memcpy(u->left[u->nleft].key, u->final_key, sizeof(u->final_key));
		memcpy(u->left[u->nleft].etag, hi.etag, sizeof(hi.etag));
		u->nleft++;
	}
	/* final_key under u->lock: upload_pool_each reads it from another
	 * thread (the status file) */
	pthread_mutex_lock(&u->lock);
	memcpy(u->final_key, new_key, klen + 1);
	pthread_mutex_unlock(&u->lock);
	if (!u->upload_id[0]) {
		/* Nothing of this upload under the old key yet: free. Its
		 * condition was about the old key; at the new one the commit
		 * replaces whatever is there, as any rename replaces its target. */
		upload_set_cond(u, NULL);
		memcpy(u->key, new_key, klen + 1);
		return 0;
	}
	log_info("rename of %s while open: its multipart upload is under way; it will be "
		 "completed there and copied server-side to %s at close",
		 LOG_KEY(u->key), LOG_KEY(new_key));
	return 0;
}

/* After the commit under the final name: the names left by renames go, each
 * only if it still holds the version seen at the rename (file head). A
 * failure here loses nothing (the file is committed): it is logged. */
void upload_finish_renames(struct upload *u)
{
	for (int i = 0; i < u->nleft; i++) {
		const char *k = u->left[i].key;
		struct s3_object_info hi;
		int rc = s3_head(u->p->c, k, &hi);
		if (rc == -ENOENT)
			continue;
		if (rc == 0 && strcmp(hi.etag, u->left[i].etag) != 0) {
			log_info("upload of %s: its old name %s now holds another object: kept",
				 LOG_KEY(u->final_key), LOG_KEY(k));
			continue;
		}
		if (rc == 0)
			rc = s3_delete(u->p->c, k);
		if (rc < 0 && rc != -ENOENT)
			log_error("upload of %s: deleting its old name %s failed: %s (both names "
				  "exist now)",
				  LOG_KEY(u->final_key), LOG_KEY(k), strerror(-rc));
	}
	u->nleft = 0;
}

/* Moves the committed object from key to final_key (see the file head). */
int upload_move_to_final(struct upload *u)
{
	struct upload_pool *p = u->p;
	char etag[S3_ETAG_MAX] = "";
	int rc = s3_copy(p->c, u->key, u->final_key, u->info.size, etag);
	if (rc < 0) {
		/* The object under the old name is the whole file, committed: it
		 * stays, so nothing is lost (close fails and the log says where
		 * the data is). Deleting it lost the file, fsynced data included. */
		log_error("upload of %s: copy to its new name %s failed: %s; the file is "
			  "committed under its old name %s",
			  LOG_KEY(u->key), LOG_KEY(u->final_key), strerror(-rc), LOG_KEY(u->key));
		return rc;
	}
	rc = s3_delete(p->c, u->key);
	if (rc < 0 && rc != -ENOENT)
		log_error("upload of %s (renamed to %s): deleting the old name failed: %s",
			  LOG_KEY(u->key), LOG_KEY(u->final_key), strerror(-rc));
	if (etag[0])
		memcpy(u->info.etag, etag, sizeof(etag));
	else if (s3_head(p->c, u->final_key, &u->info) < 0)
		u->info.etag[0] = '\0';
	u->info.mtime = time(NULL);
	memcpy(u->key, u->final_key, sizeof(u->key));
	return 0;
}
