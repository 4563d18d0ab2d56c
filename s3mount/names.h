/*
 * names.h: the operations that change the namespace of the mount: mkdir,
 * unlink, rmdir, rename. Each is the S3 request sequence (nsops.h) plus
 * what it means for this mount: the inode table, the negative cache, the
 * read cache, and files open for writing under the names involved (a
 * rename moves a pending upload, or displaces the writer of the file it
 * replaces: wfile.h).
 *
 * Thread-safety: as every operation (fs.h). Errors: negative errno; -EROFS
 * on a read-only mount. The semantics (what rename replaces, RENAME_NOREPLACE,
 * what happens to an open writer) are in docs/semantics.md.
 */
#ifndef NAMES_H
#define NAMES_H
#include "fs.h"

/* MKDIR: the marker object, and the new directory's entry into e. */
int names_mkdir(struct fs *fs, fuse_ino_t parent, const char *name, struct fuse_entry_param *e);
/* UNLINK: deletes the object; a file being written here discards its
 * upload at close. */
int names_unlink(struct fs *fs, fuse_ino_t parent, const char *name);
/* RMDIR: -ENOTEMPTY unless the directory is empty. */
int names_rmdir(struct fs *fs, fuse_ino_t parent, const char *name);
/* RENAME (flags: 0 or RENAME_NOREPLACE). */
int names_rename(struct fs *fs, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		 const char *newname, unsigned int flags);

#endif
