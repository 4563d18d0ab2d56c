/*
 * dir.h: one open directory: its entries as a stream over ListObjectsV2
 * pages (delimiter '/', every page), so memory stays at one page (1000 keys)
 * however large the directory, and the first entries come after one request.
 *
 * Entries: CommonPrefixes are directories (implicit dirs); objects are files,
 * except the directory's own marker object ("dir/"), which is skipped (a
 * marker holding data is logged: its bytes are not reachable). A file that
 * has a directory of the same name is hidden (the directory shadows it, as
 * lookup does), also when the two fall on different pages: key "a" sorts
 * before "a/", and keys such as "a-1" or "a.txt" sort between them, so a
 * file whose "name/" could still come on a later page is held back until
 * that page is seen (a few entries per page: the page's last file and those
 * followed only by keys between "name" and "name/"). Held-back entries come
 * out at the start of the next page, so the order is key order except for
 * them. Names that cannot be file names (lookup.h) are skipped with a log line.
 *
 * A directory handle (what opendir gives the kernel) holds one stream and a
 * ref on the directory's inode, and is linked on fs->dhs; readdir pages the
 * stream into the kernel's buffer, adding the files being written in the
 * directory (dir_stream_add_local) and upserting every entry into the inode
 * table.
 *
 * Ownership: entry names and ETags point into the current page and stay
 * valid until the next dir_stream_get() that moves to another page.
 * Thread-safety: none for a stream, the caller serialises calls on it; a
 * handle serialises its reads with its own lock.
 * Errors: negative errno from s3_list.
 */
#ifndef DIR_H
#define DIR_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "fs.h"
#include "s3.h"

struct dir_entry {
	const char *name;
	int is_dir;
	int local; /* from dir_stream_add_local: size, mtime, etag are not set */
	uint64_t size;
	time_t mtime;
	const char *etag; /* "" for directories */
	/* Monotonic time (mono_s's clock) when the LIST request that
	 * produced this entry was sent: attributes observed then must not
	 * overwrite ones this mount confirmed later (a commit that finished
	 * while the page was in flight). */
	double listed_at;
};

/* Pure: turns one page listed under dir_key into entries (out must hold
 * nentries + nprefixes). Rewrites the page's prefix strings in place (drops
 * their trailing '/'). Returns the count. */
size_t dir_page_entries(const char *dir_key, struct s3_list_page *pg, struct dir_entry *out);

struct dir_stream;

/* The page source: s3_list for a mount, a fake in the unit tests. Returns 0,
 * a negative errno, or DIR_LIST_STALE for a page of what was known before
 * (S3 out of reach, outage.h): its entries do not refresh any attributes. */
#define DIR_LIST_STALE 1
typedef int (*dir_list_fn)(void *arg, const struct s3_list_req *req, struct s3_list_page *out);

/* dir_key: the listed prefix ("" for the bucket root, else ends in '/');
 * copied. No request is made until the first get. */
int dir_stream_new(struct s3_client *c, const char *dir_key, struct dir_stream **out);
/* Same over another page source (arg is passed to fn). */
int dir_stream_new_fn(dir_list_fn fn, void *arg, const char *dir_key, struct dir_stream **out);
/* A name known to this mount that the listing may not show yet: a file being
 * written here (its object does not exist before the commit). Unless the
 * listing has the name, it comes as an extra entry (local = 1) after the
 * listed ones; the caller fills in its attributes. Copied. Call before the
 * first get. */
int dir_stream_add_local(struct dir_stream *d, const char *name);
void dir_stream_free(struct dir_stream *d);
/* Entry number idx (0-based) into *e: 1, or 0 past the end, or a negative
 * errno. Going back to an earlier page restarts the listing. */
int dir_stream_get(struct dir_stream *d, uint64_t idx, struct dir_entry *e);
/* LIST requests made so far (for tests and the summary). */
uint64_t dir_stream_pages(const struct dir_stream *d);

struct dir_handle;

/* OPENDIR of directory ino: a new handle into *out. -ENOTDIR for a file. */
int dir_handle_open(struct fs *fs, fuse_ino_t ino, struct dir_handle **out);
/* READDIR (plus: READDIRPLUS) of directory ino at offset off: fills buf
 * (size bytes) with entries and returns the bytes filled, or a negative
 * errno when not even one entry could be given. Entry k of the stream has
 * offset k + 3; "." is 1, ".." is 2. Each entry READDIRPLUS gives counts a
 * lookup. */
ssize_t dir_handle_read(struct fs *fs, fuse_req_t req, struct dir_handle *d, fuse_ino_t ino,
			char *buf, size_t size, off_t off, int plus);
/* RELEASEDIR, or fs_release() for one the kernel never released. */
void dir_handle_free(struct fs *fs, struct dir_handle *d);

#endif
