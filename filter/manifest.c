/*
 * manifest.c: load, extend and save the manifest of a resumable run (see
 * manifest.h). Inputs are few (thousands): linear search is enough.
 */
#include "manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MANIFEST_MAGIC "s3mount-filter-manifest 1"

void manifest_init(struct manifest *m, const char *path)
{
	memset(m, 0, sizeof(*m));
	m->path = path;
}

int manifest_add(struct manifest *m, unsigned part, const char *path, uint64_t size,
		 int64_t mtime_s, long mtime_ns)
{
	struct manifest_input *in;

	if (strchr(path, '\n'))
		return -EINVAL;
	if (m->n == m->alloc) {
		size_t na = m->alloc ? 2 * m->alloc : 64;
		struct manifest_input *v = realloc(m->in, na * sizeof(*v));

		if (!v)
			return -ENOMEM;
		m->in = v;
		m->alloc = na;
	}
	in = &m->in[m->n];
	in->path = strdup(path);
	if (!in->path)
		return -ENOMEM;
	in->size = size;
	in->mtime_s = mtime_s;
	in->mtime_ns = mtime_ns;
	in->part = part;
	m->n++;
	if (part > m->last_part)
		m->last_part = part;
	return 0;
}

int manifest_load(struct manifest *m)
{
	FILE *f = fopen(m->path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned part = 0;
	int rc = 0, first = 1;

	if (!f)
		return -errno;
	while ((len = getline(&line, &cap, f)) > 0) {
		unsigned long long size;
		long long ms;
		long mns;
		int off = 0;

		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (first) {
			first = 0;
			if (strcmp(line, MANIFEST_MAGIC) != 0) {
				rc = -EBADMSG;
				break;
			}
			continue;
		}
		if (sscanf(line, "part %u", &part) == 1 && part > 0)
			continue;
		if (part == 0 ||
		    sscanf(line, "input %llu %lld %ld %n", &size, &ms, &mns, &off) != 3 ||
		    off == 0 || line[off] == '\0') {
			rc = -EBADMSG;
			break;
		}
		rc = manifest_add(m, part, line + off, size, ms, mns);
		if (rc < 0)
			break;
	}
	if (rc == 0 && (first || ferror(f)))
		rc = first ? -EBADMSG : -EIO;
	free(line);
	fclose(f);
	return rc;
}

int manifest_save(const struct manifest *m)
{
	int fd = open(m->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	FILE *f;
	unsigned part = 0;
	int rc = 0;

	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		rc = -errno;
		close(fd);
		return rc;
	}
	fputs(MANIFEST_MAGIC "\n", f);
	for (size_t i = 0; i < m->n; i++) {
		const struct manifest_input *in = &m->in[i];

		if (in->part != part) {
			part = in->part;
			fprintf(f, "part %u\n", part);
		}
		fprintf(f, "input %" PRIu64 " %" PRId64 " %ld %s\n", in->size, in->mtime_s,
			in->mtime_ns, in->path);
	}
	if (ferror(f))
		rc = -EIO;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno; /* s3mount: the upload of the manifest failed */
	return rc;
}

int manifest_done(const struct manifest *m, const char *path, uint64_t size, int64_t mtime_s,
		  long mtime_ns)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct manifest_input *in = &m->in[i];

		if (in->size == size && in->mtime_s == mtime_s && in->mtime_ns == mtime_ns &&
		    strcmp(in->path, path) == 0)
			return 1;
	}
	return 0;
}

void manifest_release(struct manifest *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->in[i].path);
	free(m->in);
	m->in = NULL;
	m->n = m->alloc = 0;
}
