/*
 * rfile.c: see rfile.h.
 */
#define _GNU_SOURCE
#include "rfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc.h"
#include "log.h"
#include "partprobe.h"
#include "verify.h"

/* ms a read past the hashed prefix waits for the reads before it (verify.h):
 * parallel readahead on several FUSE threads is reordered by milliseconds */
#define RFILE_VERIFY_WAIT_MS 200
/* Objects from this size are HEADed at open for their stored CRC even when
 * their ETag is a plain MD5: a CRC costs about a twentieth of MD5's CPU
 * (7.7 against 0.45 GB/s here, docs/integrity.md), so from a few MiB the
 * request pays for itself; a HEAD adds one round trip to the open, small
 * beside reading 8 MiB. */
#define RFILE_CRC_HEAD_MIN ((uint64_t)8 << 20)
/* HEAD answers in a row without a checksum after which single-part opens
 * stop asking (a server that keeps none) */
#define RFILE_CKSUM_MISSES 16

/* The part layout of a multipart object another tool uploaded (no s3mount
 * record), asked of the server (partprobe.h); NULL when it cannot tell. The
 * first answer showing that the server ignores partNumber stops the asking
 * for the rest of this mount. */
static struct mpu_layout *probe_layout(struct fs *fs, const char *key, const char *etag,
				       uint64_t size, struct mpu_layout *l)
{
	if (atomic_load_explicit(&fs->no_part_probe, memory_order_relaxed))
		return NULL;
	int rc = partprobe_uniform(fs->s3, key, etag, size, l);
	if (rc == -ENOTSUP) {
		if (!atomic_exchange(&fs->no_part_probe, 1))
			log_info("the server ignores HEAD ?partNumber: multipart objects that "
				 "s3mount did not write are checked against the part sizes of "
				 "common uploaders, and downloaded twice when none fits");
		return NULL;
	}
	if (rc < 0) {
		log_debug("open of '%s': part layout not known (%s): it is guessed", LOG_KEY(key),
			  strerror(-rc));
		return NULL;
	}
	log_debug("open of '%s': parts of %llu bytes (from HEAD ?partNumber)", LOG_KEY(key),
		  (unsigned long long)l->base);
	return l;
}

/* Whether an open of an object of size bytes whose ETag needs no HEAD (a
 * plain MD5) should HEAD it anyway for its stored CRC: only for objects
 * where a CRC saves more CPU than a request costs, and not once HEAD
 * answers have shown, many in a row, that this server keeps no checksums
 * (RGW 16.2): then the ETag's MD5 is used as before. */
static int crc_worth_asking(struct fs *fs, uint64_t size)
{
	return size >= RFILE_CRC_HEAD_MIN &&
	       atomic_load_explicit(&fs->cksum_misses, memory_order_relaxed) < RFILE_CKSUM_MISSES;
}

/* Counts a HEAD answer with or without a usable checksum (crc_worth_asking). */
static void note_checksum(struct fs *fs, const struct s3_checksum *ck)
{
	if (ck->alg != S3_CKSUM_NONE && ck->full_object) {
		atomic_store_explicit(&fs->cksum_misses, 0, memory_order_relaxed);
		return;
	}
	if (atomic_fetch_add_explicit(&fs->cksum_misses, 1, memory_order_relaxed) + 1 ==
	    RFILE_CKSUM_MISSES)
		log_info("%d HEAD answers in a row without a full-object checksum: reads of "
			 "single-part objects are checked against their ETag (MD5) without "
			 "asking",
			 RFILE_CKSUM_MISSES);
}

int rfile_open(struct fs *fs, fuse_ino_t ino, struct fuse_file_info *fi)
{
	char key[S3_KEY_MAX + 2];
	int rc = fs_revalidate(fs, ino);
	if (rc)
		return rc;
	struct fh *h = fh_new(fs, FH_READ);
	if (!h)
		return -ENOMEM;
	char etag[S3_ETAG_MAX];
	uint64_t size = 0;
	itable_lock(fs->it);
	struct inode *in = itable_find_locked(fs->it, ino);
	rc = in ? inode_key_locked(fs->it, in, key, sizeof(key)) : -ENOENT;
	if (!rc && in->writers) {
		log_warn("open of '%s' for reading refused: it is being written and not "
			 "committed yet",
			 LOG_KEY(key));
		rc = -EBUSY;
	}
	if (!rc) {
		snprintf(etag, sizeof(etag), "%s", in->etag);
		size = in->size;
		/* the kernel keeps its page cache only for the same object version */
		fi->keep_cache = etag[0] && strcmp(in->open_etag, etag) == 0;
		snprintf(in->open_etag, sizeof(in->open_etag), "%s", etag);
		h->in = in;
		inode_ref_locked(fs->it, in);
	}
	itable_unlock(fs->it);
	/* Not with keep_cache: the kernel may serve a prefix from its page
	 * cache, and a check needs every byte from 0. */
	int check = fs->o->verify_etag && !fi->keep_cache;
	struct mpu_layout layout, *lp = NULL;
	struct s3_checksum ck = {.alg = S3_CKSUM_NONE};
	int infer = 0;
	int multipart = etag[0] && mpu_etag_parts(etag) > 0;
	if (!rc && (!etag[0] || (check && (multipart || crc_worth_asking(fs, size))))) {
		/* ETag unknown (e.g. just written): ask once, reads need it. A
		 * multipart ETag can be checked only with the part layout its
		 * writer recorded in the metadata, which only HEAD returns; and
		 * HEAD gives the object's stored CRC where the server keeps one. */
		struct s3_object_info info;
		int hrc = s3_head(fs->s3, key, &info);
		if (hrc == 0 && !etag[0]) {
			snprintf(etag, sizeof(etag), "%s", info.etag);
			size = info.size;
			multipart = mpu_etag_parts(etag) > 0;
		} else if (!etag[0]) {
			rc = hrc;
		}
		/* what HEAD says is about this very version only (else the
		 * reads fail with ESTALE anyway) */
		int same = hrc == 0 && strcmp(info.etag, etag) == 0 && info.size == size;
		if (same) {
			note_checksum(fs, &info.checksum);
			ck = info.checksum;
		}
		int crc = same && ck.alg != S3_CKSUM_NONE && ck.full_object;
		/* SSE-KMS/SSE-C: the ETag is no MD5, nothing to check (or probe)
		 * but a CRC, which holds whatever the encryption */
		if (same && check && info.etag_not_md5 && !crc) {
			log_debug("open of '%s': encrypted with SSE-KMS or SSE-C: its ETag is "
				  "not checked",
				  key);
			check = 0;
		}
		if (same && info.parts_layout[0]) {
			if (mpu_layout_parse(info.parts_layout, &layout) == 0)
				lp = &layout;
			else
				log_info("open of '%s': unreadable x-amz-meta-" MPU_LAYOUT_META
					 " '%s': its part layout is guessed",
					 LOG_KEY(key), LOG_KEY(info.parts_layout));
		}
		if (same && check && !crc && !lp && multipart && !info.etag_not_md5) {
			lp = probe_layout(fs, key, etag, size, &layout);
			infer = !lp;
		}
	}
	if (!rc)
		rc = reader_new(fs->rc, key, size, etag, &h->r);
	if (!rc)
		atomic_fetch_add(&fs->open_readers, 1);
	if (!rc && check) {
		struct verify_spec vs = {.etag = etag,
					 .size = size,
					 .layout = lp,
					 .checksum = &ck,
					 .infer = infer,
					 .wait_ms = RFILE_VERIFY_WAIT_MS};
		rc = verify_new_spec(&vs, &h->v);
		if (!rc && h->v)
			log_debug("open of '%s': a whole read is checked against its %s",
				  LOG_KEY(key), verify_what(h->v));
	}
	if (rc) {
		fh_free(fs, h);
		return rc;
	}
	fi->fh = (uintptr_t)h;
	return 0;
}

/* Hands the bytes about to go out to the ETag check: 0 or -EIO. The check
 * stops for good once a GET of the object said SSE-KMS or SSE-C (its ETag
 * is no MD5): the GETs that fetched these bytes have answered by now, so a
 * read that ends the object always sees that first. */
static int fh_verify(struct fh *h, uint64_t off, const struct iovec *iov, int niov)
{
	if (!h->v)
		return 0;
	if (reader_etag_not_md5(h->r) && verify_stop(h->v))
		log_debug("read: the object is encrypted with SSE-KMS or SSE-C (its GET said "
			  "so): its ETag is not checked");
	return verify_feed(h->v, off, iov, niov);
}

/* The handle's key now (a rename may have moved it; the second download
 * is pinned to the ETag anyway). */
static void handle_key(struct fs *fs, struct fh *h, char key[S3_KEY_MAX + 2])
{
	itable_lock(fs->it);
	if (inode_key_locked(fs->it, h->in, key, S3_KEY_MAX + 2) != 0)
		snprintf(key, S3_KEY_MAX + 2, "?");
	itable_unlock(fs->it);
}

/* A whole-object read did not match its CRC or ETag: say which object,
 * drop its cached blocks and make the next open drop the kernel's pages. */
static void verify_failed(struct fs *fs, struct fh *h, const char *why)
{
	char key[S3_KEY_MAX + 2] = "?";
	itable_lock(fs->it);
	if (inode_key_locked(fs->it, h->in, key, sizeof(key)) != 0)
		snprintf(key, sizeof(key), "?");
	h->in->open_etag[0] = '\0';
	itable_unlock(fs->it);
	if (why)
		log_error("read of '%s': %s: EIO; its cached blocks are dropped", LOG_KEY(key),
			  why);
	else if (verify_mode(h->v) == VERIFY_MODE_CRC)
		log_error("read of '%s': the %s of the bytes downloaded does not match its stored "
			  "checksum (corrupted in transit?): EIO; its cached blocks are dropped",
			  LOG_KEY(key), verify_what(h->v));
	else
		log_error("read of '%s': the MD5 of the bytes downloaded does not match its ETag "
			  "(corrupted in transit?): EIO; its cached blocks are dropped",
			  LOG_KEY(key));
	rcache_invalidate(fs->rc, key);
}

struct second_dl {
	uint64_t crc, len;
};

static int second_sink(void *arg, const void *data, size_t n)
{
	struct second_dl *d = arg;
	d->crc = crc64nvme(d->crc, data, n);
	d->len += n;
	return 0;
}

/* No guessed part layout matched the ETag (verify.h): download the object
 * again, hashed and not stored, and compare with what was delivered. Same
 * bytes: the guess was wrong, 0. Other bytes, or no second download: -EIO
 * (logged by the caller through verify_failed). */
static int decide_by_second_download(struct fs *fs, struct fh *h, const char **why)
{
	char key[S3_KEY_MAX + 2];
	handle_key(fs, h, key);
	struct second_dl d = {0, 0};
	struct s3_object_info info;
	int rc = s3_get_stream(fs->s3, key, 0, UINT64_MAX, second_sink, &d, &info);
	if (rc == 0 && strcmp(info.etag, verify_etag(h->v)) != 0)
		rc = -ESTALE; /* replaced meanwhile: its bytes prove nothing */
	int vr = verify_decide(h->v, rc, d.crc, d.len);
	if (vr == 0) {
		log_info("read of '%s': no part size of the common uploaders gives its ETag; "
			 "a second download gave the same bytes: delivered",
			 LOG_KEY(key));
		return 0;
	}
	*why = rc < 0 ? "no guessed part layout matches its ETag and the second download "
			"that would decide failed"
		      : "no guessed part layout matches its ETag and a second download gave "
			"other bytes (corrupted in transit)";
	if (rc < 0)
		log_warn("read of '%s': second download: %s", LOG_KEY(key), strerror(-rc));
	return -EIO;
}

void rfile_data_release(struct rfile_data *d)
{
	if (d->pin)
		reader_unpin(d->pin);
	d->pin = NULL;
	free(d->buf);
	d->buf = NULL;
}

/* op_read's do_x: one path for both ways of replying, so that the check is
 * fed in one place. */
ssize_t rfile_read(struct fs *fs, struct fh *h, size_t size, uint64_t off, struct rfile_data *d)
{
	memset(d, 0, sizeof(*d));
	if (h->kind != FH_READ) {
		log_warn("read of a file open for writing refused (EPERM)");
		return -EPERM;
	}
	/* Announced to the check, so that a later read waits for this one
	 * while it fetches (verify.h). */
	int slot = verify_read_begin(h->v, off, size);
	/* Zero copy first: the kernel copies straight from the cached blocks. */
	ssize_t n = reader_read_iov(h->r, off, size, d->iov, &d->niov, &d->pin);
	if (n == -EAGAIN) {
		/* It would wait for memory (or spans too many blocks): copy instead. */
		d->pin = NULL;
		d->buf = malloc(size ? size : 1);
		if (!d->buf) {
			verify_read_end(h->v, slot);
			return -ENOMEM;
		}
		n = reader_read(h->r, d->buf, size, off);
		d->iov[0] = (struct iovec){d->buf, n > 0 ? (size_t)n : 0};
		d->niov = 1;
	}
	if (n < 0) {
		d->pin = NULL; /* a failed read pins nothing */
		verify_read_end(h->v, slot);
		return n;
	}
	int vrc = fh_verify(h, off, d->iov, d->niov);
	verify_read_end(h->v, slot);
	int gave_up = verify_gave_up(h->v);
	if (gave_up) {
		char key[S3_KEY_MAX + 2];
		handle_key(fs, h, key);
		if (gave_up == VERIFY_GAVE_UP_WAIT)
			log_info("read of '%s': a read waited too long for the ones before it "
				 "(%d ms, 10 s while one was fetching): this handle's read is not "
				 "checked",
				 LOG_KEY(key), RFILE_VERIFY_WAIT_MS);
		else
			log_debug("read of '%s': random access: not checked", LOG_KEY(key));
	}
	const char *why = NULL;
	if (vrc == VERIFY_FEED_DECIDE)
		vrc = decide_by_second_download(fs, h, &why);
	if (vrc != 0) {
		rfile_data_release(d);
		verify_failed(fs, h, why);
		return -EIO;
	}
	fs_count(&fs->n_read, 1);
	fs_count(&fs->bytes_read, (uint64_t)n);
	return n;
}
