/*
 * rfile.h: a file open for reading: a handle (struct fh of kind FH_READ,
 * fh.h) over one object version through the read cache (reader.h), whose
 * bytes are checked against the object's stored CRC or its ETag on the way
 * out when the mount verifies (verify.h; a guessed part layout that does
 * not match makes the read that ends the object download it a second time
 * before it returns).
 *
 * A read replies zero-copy from the cached blocks, pinned until the reply
 * is sent, or, when that would wait for memory or span too many blocks,
 * from a copy; either way the bytes are fed to the ETag check once, before
 * they go out. A mismatch fails the read with EIO, drops the object's
 * cached blocks and makes the next open drop the kernel's pages. An open
 * HEADs multipart objects and single-part ones of 8 MiB or more (for the
 * CRC) when it verifies.
 *
 * Thread-safety: reads on one handle may run at once (reader.h, verify.h).
 * Errors: negative errno.
 */
#ifndef RFILE_H
#define RFILE_H
#include <sys/types.h>
#include <sys/uio.h>

#include "fh.h"
#include "fs.h"

/* OPEN for reading: a new handle into fi->fh, fi->keep_cache set when the
 * kernel's pages are of this very version. -EBUSY while the file is being
 * written here. */
int rfile_open(struct fs *fs, fuse_ino_t ino, struct fuse_file_info *fi);

/* The bytes of one read, for fuse_reply_iov(): iov[0..niov) point into the
 * pinned cache blocks or into buf. Released by rfile_data_release(). */
struct rfile_data {
	struct iovec iov[READER_IOV_MAX];
	int niov;
	struct reader_pin *pin; /* the zero-copy path's pin, or NULL */
	char *buf;		/* the copy path's buffer, or NULL */
};

/* READ of size bytes at off into *d: the byte count (0 at EOF) or a negative
 * errno (-EPERM on a write handle, -EIO when the check failed).
 * Call rfile_data_release(d) after the reply, whatever the result. */
ssize_t rfile_read(struct fs *fs, struct fh *h, size_t size, uint64_t off, struct rfile_data *d);
/* Unpins and frees what d holds; may be called again. */
void rfile_data_release(struct rfile_data *d);

#endif
