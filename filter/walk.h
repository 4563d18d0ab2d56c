/*
 * walk.h: turns the command line's PATH arguments into the ordered list of
 * input files (directories walked recursively), with include/exclude globs
 * and --shard K/N.
 *
 * Order: the arguments in the order given; inside a directory, its entries in
 * byte order of their names (strcmp, locale-free), a subdirectory's files in
 * the place of its name (depth first). So `filter ... DIR` lists the same
 * sequence on every machine that sees the same tree.
 *
 * Relative path ("rel"): for a file found under a directory argument DIR, its
 * path below DIR ("2015/01/a.json.gz"); for a file argument, its base name.
 * Globs (fnmatch(3)): a pattern containing '/' is matched against rel with
 * FNM_PATHNAME, otherwise against the base name. With include patterns, a
 * file must match one of them; a file or directory matching an exclude
 * pattern is skipped (an excluded directory is not entered).
 *
 * Sharding: file f belongs to shard  mix64(fnv1a64(rel)) mod N  (mix64 = the
 * splitmix64 finaliser). It depends only on rel, not on the listing, the
 * mount point or the file's position, so N machines split one job into
 * disjoint parts that together cover every file, and a file added or removed
 * later moves no other file between shards. "-" (stdin) is never filtered or
 * sharded.
 *
 * Symbolic links are followed; a directory already on the current path
 * (a link loop) is reported and not entered. The file whose (dev, inode) is
 * walk_opts.skip_dev/skip_ino (the output file) is never listed.
 * Errors: a path that cannot be stat'ed or a directory that cannot be read is
 * reported (log_error) and counted in walk_list.n_errors; the walk goes on.
 * Only -ENOMEM stops it. Not thread-safe; the list is read-only afterwards.
 */
#ifndef WALK_H
#define WALK_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct walk_file {
	char *path;    /* to open(2); "-" for stdin */
	char *rel;     /* relative path used for globs and sharding */
	uint64_t size; /* bytes from stat (0 for stdin/pipes) */
};

struct walk_opts {
	const char *const *include; /* NULL-terminated globs, or NULL */
	const char *const *exclude; /* NULL-terminated globs, or NULL */
	unsigned shard_k, shard_n;  /* take shard k of n; n = 0 or 1: all */
	int skip_valid;		    /* skip_dev/skip_ino are set */
	dev_t skip_dev;
	ino_t skip_ino;
};

struct walk_list {
	struct walk_file *v;
	size_t n, alloc;
	uint64_t total_size;  /* sum of v[].size */
	unsigned n_errors;    /* paths reported and skipped */
	size_t n_sharded_out; /* files left to other shards */
};

void walk_list_init(struct walk_list *l);
void walk_list_release(struct walk_list *l);

/* Appends the files of paths[0..n) to l. 0 or -ENOMEM. */
int walk_collect(struct walk_list *l, char *const *paths, size_t n, const struct walk_opts *o);

/* The shard hash of a relative path (see above). */
uint64_t walk_shard_hash(const char *rel);

/* Parses "K/N" (0 <= K < N, N <= 1000000). 0 or -EINVAL. */
int walk_shard_parse(const char *s, unsigned *k, unsigned *n);

#endif
