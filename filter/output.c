/*
 * output.c: staged sequential writer (see output.h).
 */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int set_err(struct output *o, int err, const char *what)
{
	if (!o->err) {
		o->err = err;
		snprintf(o->msg, sizeof(o->msg), "%s: %s: %s", o->name, what, strerror(-err));
	}
	return o->err;
}

int output_open(struct output *o, const char *path, size_t stage_cap)
{
	memset(o, 0, sizeof(*o));
	o->fd = -1;
	o->stage_cap = stage_cap ? stage_cap : OUTPUT_DEFAULT_STAGE;
	o->stage = malloc(o->stage_cap);
	if (!o->stage)
		return -ENOMEM;
	if (!path || strcmp(path, "-") == 0) {
		o->fd = STDOUT_FILENO;
		o->is_stdout = 1;
		o->name = "<stdout>";
		return 0;
	}
	o->name = path;
	o->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (o->fd < 0) {
		int e = -errno;

		set_err(o, e, "open");
		free(o->stage);
		o->stage = NULL;
		return e;
	}
	return 0;
}

static int write_all(struct output *o, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(o->fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return set_err(o, -errno, "write");
		}
		if (w == 0)
			return set_err(o, -EIO, "write returned 0");
		p += w;
		n -= (size_t)w;
		o->written += (uint64_t)w;
	}
	return 0;
}

int output_flush(struct output *o)
{
	int rc;

	if (o->err)
		return o->err;
	if (!o->stage_len)
		return 0;
	rc = write_all(o, o->stage, o->stage_len);
	o->stage_len = 0;
	return rc;
}

int output_write(struct output *o, const void *p, size_t n)
{
	const char *s = p;

	if (o->err)
		return o->err;
	while (n > 0) {
		size_t room = o->stage_cap - o->stage_len;

		/* A full stage's worth and nothing staged: no copy needed. */
		if (o->stage_len == 0 && n >= o->stage_cap) {
			size_t k = n - n % o->stage_cap;
			int rc = write_all(o, s, k);

			if (rc)
				return rc;
			s += k;
			n -= k;
			continue;
		}
		if (room > n)
			room = n;
		memcpy(o->stage + o->stage_len, s, room);
		o->stage_len += room;
		s += room;
		n -= room;
		if (o->stage_len == o->stage_cap) {
			int rc = output_flush(o);

			if (rc)
				return rc;
		}
	}
	return 0;
}

int output_close(struct output *o)
{
	int rc;

	if (o->fd < 0)
		return o->err;
	rc = output_flush(o);
	(void)rc;
	if (close(o->fd) != 0)
		set_err(o, -errno, "close");
	o->fd = -1;
	free(o->stage);
	o->stage = NULL;
	return o->err;
}

const char *output_errmsg(const struct output *o)
{
	return o->msg[0] ? o->msg : "no error";
}
