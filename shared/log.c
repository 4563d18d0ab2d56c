/*
 * log.c: see log.h. Lines are formatted into a stack buffer and written with a
 * single write(2) so lines of concurrent threads never interleave.
 */
#define _GNU_SOURCE
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static _Atomic int log_cur_level = LOG_LVL_WARN;
static _Atomic int log_use_syslog;

static const char *const log_names[] = {"error", "warn", "info", "debug"};

int log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (s && strcmp(s, log_names[i]) == 0)
			return i;
	return -22; /* -EINVAL without pulling errno.h into the header users */
}

void log_level_set(enum log_level lvl)
{
	atomic_store(&log_cur_level, (int)lvl);
}

enum log_level log_level_get(void)
{
	return (enum log_level)atomic_load(&log_cur_level);
}

void log_to_syslog(const char *ident)
{
	if (ident) {
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		atomic_store(&log_use_syslog, 1);
	} else {
		atomic_store(&log_use_syslog, 0);
	}
}

int log_enabled(enum log_level lvl)
{
	return (int)lvl <= atomic_load(&log_cur_level);
}

static int log_is_ctl(unsigned char ch)
{
	return ch < 0x20 || ch == 0x7f;
}

const char *log_key(const char *key, char out[LOG_KEY_BUF])
{
	size_t i = 0;
	if (!key)
		key = "";
	for (; i < LOG_KEY_MAX && key[i]; i++)
		out[i] = log_is_ctl((unsigned char)key[i]) ? '?' : key[i];
	if (key[i]) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

/* The backstop behind log_key: whatever reached the text, one line. */
static void log_clean(char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (log_is_ctl((unsigned char)s[i]))
			s[i] = '?';
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	if (!log_enabled(lvl))
		return;
	char line[2048];
	va_list ap;
	if (atomic_load(&log_use_syslog)) {
		static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
		va_start(ap, fmt);
		vsnprintf(line, sizeof(line), fmt, ap);
		va_end(ap);
		log_clean(line, strlen(line));
		syslog(prio[lvl], "%s", line);
		return;
	}
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03ld %s: ", tm.tm_hour, tm.tm_min,
			 tm.tm_sec, ts.tv_nsec / 1000000, log_names[lvl]);
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	log_clean(line + n, len - (size_t)n);
	line[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}

const char *log_level_name(enum log_level lvl)
{
	return (unsigned)lvl < sizeof(log_names) / sizeof(log_names[0]) ? log_names[lvl] : "?";
}
