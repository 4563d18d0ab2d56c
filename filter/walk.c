/*
 * walk.c: recursive sorted directory walk, globs and sharding (see walk.h).
 */
#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "log.h"

#define WALK_PATH_MAX 65536

/* The directories on the current path, for link-loop detection. */
struct ancestor {
	dev_t dev;
	ino_t ino;
	const struct ancestor *up;
};

void walk_list_init(struct walk_list *l)
{
	memset(l, 0, sizeof(*l));
}

void walk_list_release(struct walk_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].rel);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

uint64_t walk_shard_hash(const char *rel)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 */

	for (const unsigned char *p = (const unsigned char *)rel; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ull;
	}
	/* splitmix64 finaliser: FNV's low bits alone split unevenly mod N. */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}

int walk_shard_parse(const char *s, unsigned *k, unsigned *n)
{
	unsigned long a, b;
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	a = strtoul(s, &end, 10);
	if (errno || *end != '/' || end[1] < '0' || end[1] > '9')
		return -EINVAL;
	b = strtoul(end + 1, &end, 10);
	if (errno || *end || b == 0 || b > 1000000 || a >= b)
		return -EINVAL;
	*k = (unsigned)a;
	*n = (unsigned)b;
	return 0;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static int glob_match(const char *pat, const char *rel)
{
	if (strchr(pat, '/'))
		return fnmatch(pat, rel, FNM_PATHNAME) == 0;
	return fnmatch(pat, base_name(rel), 0) == 0;
}

static int any_match(const char *const *pats, const char *rel)
{
	for (; pats && *pats; pats++)
		if (glob_match(*pats, rel))
			return 1;
	return 0;
}

static int add_file(struct walk_list *l, const char *path, const char *rel, const struct stat *st,
		    const struct walk_opts *o)
{
	struct walk_file *f;

	if (o->include && o->include[0] && !any_match(o->include, rel))
		return 0;
	if (any_match(o->exclude, rel))
		return 0;
	if (o->skip_valid && st->st_dev == o->skip_dev && st->st_ino == o->skip_ino)
		return 0;
	if (o->shard_n > 1 && walk_shard_hash(rel) % o->shard_n != o->shard_k) {
		l->n_sharded_out++;
		return 0;
	}
	if (l->n == l->alloc) {
		size_t na = l->alloc ? l->alloc * 2 : 64;
		struct walk_file *v = realloc(l->v, na * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->alloc = na;
	}
	f = &l->v[l->n];
	f->path = strdup(path);
	f->rel = strdup(rel);
	if (!f->path || !f->rel) {
		free(f->path);
		free(f->rel);
		return -ENOMEM;
	}
	f->size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
	l->total_size += f->size;
	l->n++;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk_dir(struct walk_list *l, const char *dir, size_t rel_off, const struct ancestor *up,
		    const struct walk_opts *o);

/* One entry found in a directory: path is dir/name, rel starts at rel_off. */
static int walk_entry(struct walk_list *l, const char *path, size_t rel_off,
		      const struct ancestor *up, const struct walk_opts *o)
{
	struct stat st;
	const char *rel = path + rel_off;

	if (stat(path, &st) != 0) {
		log_error("%s: %s (skipped)", path, strerror(errno));
		l->n_errors++;
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		struct ancestor me = {st.st_dev, st.st_ino, up};

		if (any_match(o->exclude, rel))
			return 0;
		for (const struct ancestor *a = up; a; a = a->up) {
			if (a->dev == st.st_dev && a->ino == st.st_ino) {
				log_error("%s: directory loop (skipped)", path);
				l->n_errors++;
				return 0;
			}
		}
		return walk_dir(l, path, rel_off, &me, o);
	}
	if (!S_ISREG(st.st_mode))
		return 0; /* sockets, devices, fifos inside a tree: not input */
	return add_file(l, path, rel, &st, o);
}

static int walk_dir(struct walk_list *l, const char *dir, size_t rel_off, const struct ancestor *up,
		    const struct walk_opts *o)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t n = 0, alloc = 0;
	struct buf path;
	struct dirent *e;
	int rc = 0;

	buf_init(&path, WALK_PATH_MAX);
	if (!d) {
		log_error("%s: %s (skipped)", dir, strerror(errno));
		l->n_errors++;
		return 0;
	}
	errno = 0;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (n == alloc) {
			size_t na = alloc ? alloc * 2 : 32;
			char **v = realloc(names, na * sizeof(*v));

			if (!v) {
				rc = -ENOMEM;
				goto out;
			}
			names = v;
			alloc = na;
		}
		names[n] = strdup(e->d_name);
		if (!names[n]) {
			rc = -ENOMEM;
			goto out;
		}
		n++;
		errno = 0;
	}
	if (errno) {
		log_error("%s: readdir: %s (listing incomplete)", dir, strerror(errno));
		l->n_errors++;
	}
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		size_t dl = strlen(dir);
		size_t child_off;

		buf_reset(&path);
		rc = buf_add(&path, dir, dl);
		if (!rc && (dl == 0 || dir[dl - 1] != '/'))
			rc = buf_addch(&path, '/');
		child_off = path.len;
		if (!rc)
			rc = buf_addstr(&path, names[i]);
		if (rc == -E2BIG) {
			log_error("%s/%s: path too long (skipped)", dir, names[i]);
			l->n_errors++;
			rc = 0;
			continue;
		}
		if (rc)
			goto out;
		/* rel of a top-level child starts right after "DIR/" */
		rc = walk_entry(l, path.ptr, rel_off ? rel_off : child_off, up, o);
		if (rc)
			goto out;
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	buf_release(&path);
	closedir(d);
	return rc;
}

int walk_collect(struct walk_list *l, char *const *paths, size_t n, const struct walk_opts *o)
{
	for (size_t i = 0; i < n; i++) {
		const char *p = paths[i];
		struct stat st;
		int rc;

		if (strcmp(p, "-") == 0) {
			memset(&st, 0, sizeof(st));
			struct walk_opts plain = {0};

			rc = add_file(l, "-", "-", &st, &plain);
			if (rc)
				return rc;
			continue;
		}
		if (stat(p, &st) != 0) {
			log_error("%s: %s (skipped)", p, strerror(errno));
			l->n_errors++;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			struct ancestor me = {st.st_dev, st.st_ino, NULL};

			rc = walk_dir(l, p, 0, &me, o);
		} else {
			rc = add_file(l, p, base_name(p), &st, o);
		}
		if (rc)
			return rc;
	}
	return 0;
}
