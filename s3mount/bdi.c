/* bdi.c: see bdi.h. */
#include "bdi.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* mountinfo is small (one line per mount); a host with thousands of mounts
 * still fits, and a longer file is cut, not grown without bound. */
#define MOUNTINFO_MAX ((size_t)4 << 20)

/* Copies one space-separated field of [p, end) into out (cap bytes), decoding
 * \ooo escapes; returns the position after the field, or NULL when it does
 * not fit. */
static const char *field(const char *p, const char *end, char *out, size_t cap)
{
	size_t n = 0;
	while (p < end && *p != ' ') {
		char c = *p++;
		if (c == '\\' && end - p >= 3 && p[0] >= '0' && p[0] <= '3' && p[1] >= '0' &&
		    p[1] <= '7' && p[2] >= '0' && p[2] <= '7') {
			c = (char)((p[0] - '0') * 64 + (p[1] - '0') * 8 + (p[2] - '0'));
			p += 3;
		}
		if (n + 1 >= cap)
			return NULL;
		out[n++] = c;
	}
	out[n] = '\0';
	return p < end ? p + 1 : p;
}

int bdi_find_dev(const char *text, size_t len, const char *path, unsigned *major, unsigned *minor)
{
	const char *p = text, *end = text + len;
	int found = 0;
	char buf[4096];
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		/* mount-id parent-id major:minor root mount-point ... */
		const char *q = p;
		unsigned maj = 0, min = 0;
		int ok = 1;
		for (int f = 0; f < 5 && ok; f++) {
			q = field(q, eol, buf, sizeof(buf));
			if (!q) {
				ok = 0;
			} else if (f == 2) {
				char *colon;
				unsigned long a = strtoul(buf, &colon, 10);
				if (*colon != ':')
					ok = 0;
				else {
					char *e;
					unsigned long b = strtoul(colon + 1, &e, 10);
					ok = *e == '\0' && a <= 0xfff && b <= 0xfffff;
					maj = (unsigned)a;
					min = (unsigned)b;
				}
			}
		}
		/* buf holds the mount point (field 5) when all five parsed */
		if (ok && strcmp(buf, path) == 0) {
			*major = maj;
			*minor = min;
			found = 1; /* keep going: the last (topmost) mount wins */
		}
		p = eol + 1;
	}
	return found ? 0 : -ENOENT;
}

int bdi_set_readahead(const char *path, unsigned kb)
{
	int err = 0;
	char *text = malloc(MOUNTINFO_MAX);
	if (!text)
		return -ENOMEM;
	int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, text + len, MOUNTINFO_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0 || (len += (size_t)n) == MOUNTINFO_MAX)
			break;
	}
	close(fd);
	if (err)
		goto out;
	unsigned maj, min;
	err = bdi_find_dev(text, len, path, &maj, &min);
	if (err)
		goto out;
	char sys[64];
	snprintf(sys, sizeof(sys), "/sys/class/bdi/%u:%u/read_ahead_kb", maj, min);
	fd = open(sys, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	char val[16];
	int vlen = snprintf(val, sizeof(val), "%u\n", kb);
	errno = 0;
	if (write(fd, val, (size_t)vlen) != vlen)
		err = errno ? -errno : -EIO;
	close(fd);
out:
	free(text);
	return err;
}
