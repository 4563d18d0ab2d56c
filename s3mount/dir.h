/*
 * dir.h: one open directory: its entries as a stream over ListObjectsV2
 * pages (delimiter '/', every page), so memory stays at one page (1000 keys)
 * however large the directory, and the first entries come after one request.
 *
 * Entries: CommonPrefixes are directories (implicit dirs); objects are files,
 * except the directory's own marker object ("dir/"), which is skipped (a
 * marker holding data is logged: its bytes are not reachable). A file that
 * has a directory of the same name on the same page is hidden (the directory
 * shadows it, as lookup does). Names that cannot be file names (meta.h) are
 * skipped with a log line.
 *
 * Ownership: entry names and ETags point into the current page and stay
 * valid until the next dir_stream_get() that moves to another page.
 * Thread-safety: none; the caller serialises calls on one stream.
 * Errors: negative errno from s3_list.
 */
#ifndef DIR_H
#define DIR_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "s3.h"

struct dir_entry {
	const char *name;
	int is_dir;
	uint64_t size;
	time_t mtime;
	const char *etag; /* "" for directories */
};

/* Pure: turns one page listed under dir_key into entries (out must hold
 * nentries + nprefixes). Rewrites the page's prefix strings in place (drops
 * their trailing '/'). Returns the count. */
size_t dir_page_entries(const char *dir_key, struct s3_list_page *pg, struct dir_entry *out);

struct dir_stream;

/* dir_key: the listed prefix ("" for the bucket root, else ends in '/');
 * copied. No request is made until the first get. */
int dir_stream_new(struct s3_client *c, const char *dir_key, struct dir_stream **out);
void dir_stream_free(struct dir_stream *d);
/* Entry number idx (0-based) into *e: 1, or 0 past the end, or a negative
 * errno. Going back to an earlier page restarts the listing. */
int dir_stream_get(struct dir_stream *d, uint64_t idx, struct dir_entry *e);
/* LIST requests made so far (for tests and the summary). */
uint64_t dir_stream_pages(const struct dir_stream *d);

#endif
