/* procstat.c: see procstat.h. */
#include "procstat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* /proc/PID/stat is about 300 bytes; the comm is at most 64. */
#define PROCSTAT_MAX 4096

/* Field numbers as in proc(5). */
#define FIELD_FLAGS 9
#define FIELD_EXIT_CODE 52

/* Parses a decimal integer (optional '-') in [*p, end); advances *p. */
static int parse_num(const char **p, const char *end, int64_t *out)
{
	const char *s = *p;
	int neg = 0;
	uint64_t v = 0;
	if (s < end && *s == '-') {
		neg = 1;
		s++;
	}
	if (s >= end || *s < '0' || *s > '9')
		return -EINVAL;
	while (s < end && *s >= '0' && *s <= '9') {
		uint64_t d = (uint64_t)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
		s++;
	}
	/* flags are unsigned and may use all 64 bits in theory; the caller
	 * casts back. exit_code is small. */
	*out = neg ? -(int64_t)v : (int64_t)v;
	*p = s;
	return 0;
}

int procstat_parse(const char *text, size_t len, struct procstat *out)
{
	const char *end = text + len;
	const char *rp = NULL;
	/* The comm may contain ')' itself: the real end of field 2 is the last
	 * ')' in the line. */
	for (const char *s = text; s < end; s++)
		if (*s == ')')
			rp = s;
	if (!rp)
		return -EINVAL;
	const char *p = rp + 1;
	int field = 3;
	int have_flags = 0, have_exit = 0;
	memset(out, 0, sizeof(*out));
	while (p < end && field <= FIELD_EXIT_CODE) {
		while (p < end && *p == ' ')
			p++;
		if (p >= end || *p == '\n')
			break;
		if (field == 3) {
			out->state = *p;
			p++;
			if (p < end && *p != ' ' && *p != '\n')
				return -EINVAL;
		} else {
			int64_t v;
			if (parse_num(&p, end, &v) < 0)
				return -EINVAL;
			if (p < end && *p != ' ' && *p != '\n')
				return -EINVAL;
			if (field == FIELD_FLAGS) {
				out->flags = (uint64_t)v;
				have_flags = 1;
			} else if (field == FIELD_EXIT_CODE) {
				out->exit_code = v;
				have_exit = 1;
			}
		}
		field++;
	}
	return have_flags && have_exit ? 0 : -EINVAL;
}

int procstat_dying(const struct procstat *st, int *sig)
{
	int s = (int)(st->exit_code & 0x7f);
	if (!(st->flags & PROCSTAT_PF_EXITING) || s == 0)
		return 0;
	if (sig)
		*sig = s;
	return 1;
}

int procstat_caller_dying(pid_t pid, int *sig)
{
	char path[64];
	char text[PROCSTAT_MAX];
	struct procstat st;
	size_t len = 0;
	int fd;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_debug("procstat: %s: %s", path, strerror(errno));
		return 0;
	}
	while (len < sizeof(text)) {
		ssize_t n = read(fd, text + len, sizeof(text) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (procstat_parse(text, len, &st) < 0) {
		log_debug("procstat: %s: cannot parse", path);
		return 0;
	}
	return procstat_dying(&st, sig);
}
