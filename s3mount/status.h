/*
 * status.h: the mount's state as a read-only file, `.s3mount-status` in the
 * mount root, in Prometheus' text exposition format (version 0.0.4): bytes
 * read and written, S3 requests and retries by kind, throttled answers,
 * outages ridden out and stale answers, uploads in progress with the bytes
 * S3 has acknowledged per key, the memory budget, cache hits.
 *
 * The file is reachable by name only: it is absent from listings (ls, find)
 * and hides an object of the same name in the root (docs/reliability.md).
 * Each open takes a snapshot that its reads return (direct I/O, so its size
 * of 0 does not cut them short); writes, truncation and attribute changes
 * are refused with EACCES.
 *
 * The pure part (status_escape, status_render_*) works on a buffer; the rest
 * is the FUSE glue fs.c dispatches to by inode number (STATUS_INO: a number
 * the inode table never hands out).
 * Thread-safety: the snapshot is built from the modules' own thread-safe
 * readers; a handle is used by one reader at a time (as the kernel does).
 */
#ifndef STATUS_H
#define STATUS_H
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "fs.h"

#define STATUS_NAME ".s3mount-status"
#define STATUS_INO ((fuse_ino_t)0xfffffffffffff000ull)
#define STATUS_MAX (4u << 20) /* cap of one snapshot; keys beyond are left out */
#define STATUS_KEY_MAX 512    /* bytes of a key shown as a label */

/* Appends v as a Prometheus label value: \\, \" and \n escaped, other
 * control bytes as '?', at most STATUS_KEY_MAX bytes of v. Pure. */
int status_escape(struct buf *b, const char *v);

/* Renders the whole state of fs into out (reset first). */
int status_render(struct fs *fs, struct buf *out);

/* FUSE glue. status_lookup: 1 and *e when (parent, name) is the status file. */
int status_lookup(struct fs *fs, fuse_ino_t parent, const char *name, struct fuse_entry_param *e);
void status_stat(const struct fs *fs, struct stat *st);
/* An open of the status file: 0 (fi->fh is the snapshot) or -errno. */
int status_open(struct fs *fs, struct fuse_file_info *fi);
void status_read(fuse_req_t req, struct fuse_file_info *fi, size_t size, off_t off);
void status_release(struct fuse_file_info *fi);

#endif
