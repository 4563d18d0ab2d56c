/* procstat.c: see procstat.h. */
#include "procstat.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* /proc/PID/stat is about 300 bytes (the comm is at most 64); status about
 * 1.5 KiB. */
#define PROCSTAT_MAX 8192

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

/* Parses hex digits in [*p, end) up to the end of the line (at most 16). */
static int parse_hex(const char *p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	int n = 0;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	for (; p < end && *p != '\n'; p++, n++) {
		int d;
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			return -EINVAL;
		if (n >= 16)
			return -EINVAL;
		v = v << 4 | (uint64_t)d;
	}
	if (n == 0)
		return -EINVAL;
	*out = v;
	return 0;
}

int procstatus_parse(const char *text, size_t len, struct procstatus *out)
{
	static const struct {
		const char *name;
		size_t off;
	} masks[] = {
	    {"SigPnd:", offsetof(struct procstatus, sig_pnd)},
	    {"ShdPnd:", offsetof(struct procstatus, shd_pnd)},
	    {"SigBlk:", offsetof(struct procstatus, sig_blk)},
	    {"SigIgn:", offsetof(struct procstatus, sig_ign)},
	    {"SigCgt:", offsetof(struct procstatus, sig_cgt)},
	    {"CapEff:", offsetof(struct procstatus, cap_eff)},
	};
	const char *end = text + len;
	unsigned seen = 0;
	memset(out, 0, sizeof(*out));
	for (const char *line = text; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *le = nl ? nl : end;
		size_t ll = (size_t)(le - line);
		if (ll > 5 && memcmp(line, "Tgid:", 5) == 0) {
			const char *p = line + 5;
			int64_t v;
			while (p < le && (*p == ' ' || *p == '\t'))
				p++;
			if (parse_num(&p, le, &v) < 0 || p != le || v < 0 || v > INT32_MAX)
				return -EINVAL;
			out->tgid = (pid_t)v;
			seen |= 1u;
		}
		for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
			size_t nl_ = strlen(masks[i].name);
			if (ll > nl_ && memcmp(line, masks[i].name, nl_) == 0) {
				uint64_t v;
				if (parse_hex(line + nl_, le, &v) < 0)
					return -EINVAL;
				memcpy((char *)out + masks[i].off, &v, sizeof(v));
				seen |= 2u << i;
			}
		}
		line = nl ? nl + 1 : end;
	}
	/* Tgid and the five signal lines; CapEff (bit 6) is optional */
	return (seen & 0x3fu) == 0x3fu ? 0 : -EINVAL;
}

/* Signals whose default action ends the process (Term or Core): all but
 * SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGWINCH.
 * Bit n-1 is signal n; real-time signals (32..64) default to Term. */
#define SIGBIT(n) (1ull << ((n)-1))
#define NOT_FATAL                                                                                  \
	(SIGBIT(17) | SIGBIT(18) | SIGBIT(19) | SIGBIT(20) | SIGBIT(21) | SIGBIT(22) |             \
	 SIGBIT(23) | SIGBIT(28))

int procstat_dying(const struct procstat *st, const struct procstatus *ss, int *sig)
{
	int s = (int)(st->exit_code & 0x7f);
	if (!(st->flags & PROCSTAT_PF_EXITING))
		return 0;
	if (s == 0 && ss) {
		uint64_t fatal = (ss->sig_pnd | ss->shd_pnd) & ~ss->sig_blk & ~ss->sig_ign &
				 ~ss->sig_cgt & ~NOT_FATAL;
		if (st->flags & PROCSTAT_PF_SIGNALED && fatal) {
			/* SIGKILL when it is there, else the lowest */
			s = fatal & SIGBIT(9) ? 9 : __builtin_ctzll(fatal) + 1;
		} else if (!(st->flags & PROCSTAT_PF_DUMPCORE)) {
			return 0;
		}
	} else if (s == 0) {
		return 0;
	}
	if (sig)
		*sig = s;
	return 1;
}

/* Reads a small /proc file into buf; returns its length or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len < cap) {
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	return (ssize_t)len;
}

int procstat_caller(pid_t tid, struct procstat_caller *out)
{
	char path[64];
	char text[PROCSTAT_MAX];
	struct procstat st;
	struct procstatus ss;
	ssize_t n;

	memset(out, 0, sizeof(*out));
	if (tid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)tid);
	n = read_small(path, text, sizeof(text));
	if (n < 0 || procstat_parse(text, (size_t)n, &st) < 0) {
		log_debug("procstat: %s: %s", path, n < 0 ? strerror((int)-n) : "cannot parse");
		return -ESRCH;
	}
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)tid);
	n = read_small(path, text, sizeof(text));
	if (n < 0 || procstatus_parse(text, (size_t)n, &ss) < 0) {
		log_debug("procstat: %s: %s", path, n < 0 ? strerror((int)-n) : "cannot parse");
		return -ESRCH;
	}
	out->tgid = ss.tgid;
	out->dying = procstat_dying(&st, &ss, &out->sig);
	return 0;
}

int procstat_proc_is_ours(void)
{
	char buf[32];
	ssize_t n = readlink("/proc/self", buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10) == (long)getpid();
}

int procstat_self_can_ptrace(void)
{
	char text[PROCSTAT_MAX];
	struct procstatus ss;
	ssize_t n = read_small("/proc/self/status", text, sizeof(text));
	if (n < 0 || procstatus_parse(text, (size_t)n, &ss) < 0)
		return 0;
	return (ss.cap_eff >> PROCSTAT_CAP_SYS_PTRACE) & 1;
}
