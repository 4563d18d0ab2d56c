/*
 * dir.c: see dir.h. Entries come out in S3 key order (objects and prefixes
 * merged by their full key), which is the order of the listing itself.
 */
#include "dir.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "meta.h"

#define DIR_PAGE_KEYS 1000

struct dir_stream {
	struct s3_client *c;
	char *key;
	size_t key_len;
	struct s3_list_page page;
	int have_page;
	struct dir_entry *ents; /* entries of the current page */
	size_t nents;
	size_t ents_cap;
	uint64_t base;	  /* stream index of ents[0] */
	char *next_token; /* NULL before the first page and after the last */
	int started, eof;
	uint64_t pages;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* 1 when the page lists the prefix name + '/' (a directory shadows the file). */
static int page_has_prefix(const struct s3_list_page *pg, const char *key)
{
	size_t n = strlen(key);
	char tmp[S3_KEY_MAX + 2];
	if (pg->nprefixes == 0 || n + 2 > sizeof(tmp))
		return 0;
	memcpy(tmp, key, n);
	tmp[n] = '/';
	tmp[n + 1] = '\0';
	const char *want = tmp;
	return bsearch(&want, pg->prefixes, pg->nprefixes, sizeof(char *), cmp_str) != NULL;
}

size_t dir_page_entries(const char *dir_key, struct s3_list_page *pg, struct dir_entry *out)
{
	size_t dl = strlen(dir_key), n = 0, i = 0, j = 0;
	/* shadowing is decided before the prefix strings are rewritten */
	unsigned char *shadow = pg->nentries ? calloc(pg->nentries, 1) : NULL;
	for (size_t k = 0; shadow && k < pg->nentries; k++)
		shadow[k] = (unsigned char)page_has_prefix(pg, pg->entries[k].key);

	while (i < pg->nentries || j < pg->nprefixes) {
		int take_file;
		if (i >= pg->nentries)
			take_file = 0;
		else if (j >= pg->nprefixes)
			take_file = 1;
		else
			take_file = strcmp(pg->entries[i].key, pg->prefixes[j]) < 0;

		if (take_file) {
			struct s3_list_entry *e = &pg->entries[i];
			int shadowed = shadow && shadow[i];
			i++;
			if (strncmp(e->key, dir_key, dl) != 0)
				continue; /* not ours (server quirk) */
			const char *name = e->key + dl;
			size_t len = strlen(name);
			if (len == 0) {
				/* the directory's own marker */
				if (e->size > 0)
					log_warn(
					    "key '%s' ends in '/' but holds %llu bytes: shown as a "
					    "directory, its data is not reachable",
					    e->key, (unsigned long long)e->size);
				continue;
			}
			if (len && name[len - 1] == '/')
				continue; /* a marker of a subdirectory (listed as a prefix too) */
			enum meta_name_verdict v = meta_name_check(name, len);
			if (v != META_NAME_OK) {
				log_warn("skipping key '%s': %s", e->key, meta_name_reason(v));
				continue;
			}
			if (shadowed) {
				log_info("key '%s' is hidden by the directory of the same name",
					 e->key);
				continue;
			}
			out[n++] = (struct dir_entry){.name = name,
						      .is_dir = 0,
						      .size = e->size,
						      .mtime = e->mtime,
						      .etag = e->etag};
		} else {
			char *p = pg->prefixes[j++];
			if (strncmp(p, dir_key, dl) != 0)
				continue;
			char *name = p + dl;
			size_t len = strlen(name);
			if (len && name[len - 1] == '/')
				len--;
			enum meta_name_verdict v = meta_name_check(name, len);
			if (v != META_NAME_OK) {
				log_warn("skipping prefix '%s': %s", p, meta_name_reason(v));
				continue;
			}
			name[len] = '\0';
			out[n++] = (struct dir_entry){.name = name, .is_dir = 1, .etag = ""};
		}
	}
	free(shadow);
	return n;
}

int dir_stream_new(struct s3_client *c, const char *dir_key, struct dir_stream **out)
{
	struct dir_stream *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->c = c;
	d->key = strdup(dir_key);
	if (!d->key) {
		free(d);
		return -ENOMEM;
	}
	d->key_len = strlen(dir_key);
	*out = d;
	return 0;
}

static void dir_drop_page(struct dir_stream *d)
{
	if (d->have_page)
		s3_list_page_release(&d->page);
	d->have_page = 0;
	d->nents = 0;
}

void dir_stream_free(struct dir_stream *d)
{
	if (!d)
		return;
	dir_drop_page(d);
	free(d->ents);
	free(d->next_token);
	free(d->key);
	free(d);
}

/* Fetches the page after the current one (or the first). */
static int dir_fetch(struct dir_stream *d)
{
	struct s3_list_req req = {.prefix = d->key,
				  .delimiter = "/",
				  .continuation = d->next_token,
				  .max_keys = DIR_PAGE_KEYS};
	struct s3_list_page pg;
	memset(&pg, 0, sizeof(pg));
	int rc = s3_list(d->c, &req, &pg);
	if (rc)
		return rc;
	d->pages++;
	d->base += d->nents;
	dir_drop_page(d);
	d->page = pg;
	d->have_page = 1;
	size_t need = pg.nentries + pg.nprefixes;
	if (need > d->ents_cap) {
		struct dir_entry *ne = realloc(d->ents, need * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		d->ents = ne;
		d->ents_cap = need;
	}
	d->nents = dir_page_entries(d->key, &d->page, d->ents);
	free(d->next_token);
	d->next_token = NULL;
	if (pg.truncated && pg.next_continuation) {
		d->next_token = strdup(pg.next_continuation);
		if (!d->next_token)
			return -ENOMEM;
	} else {
		d->eof = 1;
	}
	d->started = 1;
	return 0;
}

int dir_stream_get(struct dir_stream *d, uint64_t idx, struct dir_entry *e)
{
	if (!d->started || idx < d->base) {
		dir_drop_page(d);
		free(d->next_token);
		d->next_token = NULL;
		d->base = 0;
		d->eof = 0;
		int rc = dir_fetch(d);
		if (rc)
			return rc;
	}
	while (idx >= d->base + d->nents) {
		if (d->eof)
			return 0;
		int rc = dir_fetch(d);
		if (rc)
			return rc;
	}
	*e = d->ents[idx - d->base];
	return 1;
}

uint64_t dir_stream_pages(const struct dir_stream *d)
{
	return d->pages;
}
