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
#include <sys/stat.h>
#include <unistd.h>

#define MANIFEST_MAGIC "s3mount-filter-manifest 1"
#define MANIFEST_MAX (256 << 20) /* a manifest is read whole: cap it */

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

/* "input SIZE MTIME_S MTIME_NS PATH" (line without its '\n', NUL-terminated):
 * 0 or -EBADMSG. */
static int parse_input(struct manifest *m, unsigned part, char *line)
{
	unsigned long long size;
	long long ms;
	long mns;
	int off = 0;

	if (part == 0 || sscanf(line, "input %llu %lld %ld %n", &size, &ms, &mns, &off) != 3 ||
	    off == 0 || line[off] == '\0' || mns < 0 || mns > 999999999)
		return -EBADMSG;
	return manifest_add(m, part, line + off, size, ms, mns);
}

int manifest_parse(struct manifest *m, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	char *line = NULL;
	size_t cap = 0;
	unsigned part = 0;
	int rc = 0, first = 1;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);

		if (n + 1 > cap) { /* a line: at most the whole (capped) file */
			char *l = realloc(line, n + 1);

			if (!l) {
				rc = -ENOMEM;
				break;
			}
			line = l;
			cap = n + 1;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl ? nl + 1 : end;
		if (memchr(line, '\0', n)) {
			rc = -EBADMSG;
			break;
		}
		if (first) {
			first = 0;
			if (strcmp(line, MANIFEST_MAGIC) != 0) {
				rc = -EBADMSG;
				break;
			}
			continue;
		}
		if (strncmp(line, "part ", 5) == 0) {
			unsigned long v;
			char *e;

			errno = 0;
			v = strtoul(line + 5, &e, 10);
			if (errno || *e || e == line + 5 || v == 0 || v > 999999 || v < part) {
				rc = -EBADMSG;
				break;
			}
			part = (unsigned)v;
			continue;
		}
		rc = parse_input(m, part, line);
		if (rc < 0)
			break;
	}
	if (rc == 0 && first)
		rc = -EBADMSG;
	free(line);
	return rc;
}

int manifest_load(struct manifest *m)
{
	int fd = open(m->path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	char *buf;
	size_t got = 0;
	int rc;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0 || sb.st_size < 0 || sb.st_size > MANIFEST_MAX) {
		rc = sb.st_size > MANIFEST_MAX ? -EFBIG : -errno;
		close(fd);
		return rc;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			free(buf);
			close(fd);
			return rc;
		}
		got += (size_t)n;
	}
	close(fd);
	rc = manifest_parse(m, buf, got);
	free(buf);
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
