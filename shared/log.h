/*
 * log.h: leveled logging to stderr or syslog, shared by both programs.
 *
 * The level and destination are set once by main() before any thread starts
 * (the one allowed global besides const tables, STYLE.md rule 4); log_level_set
 * may also be called later from a signal-driven thread: the level is atomic.
 * Callers never log secrets, session tokens or signatures: pass key names and
 * S3 codes, not header values. Thread-safe: one write(2)/syslog call per line.
 */
#ifndef LOG_H
#define LOG_H

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* "error", "warn", "info", "debug" -> level; -EINVAL for anything else. */
int log_level_parse(const char *s);
void log_level_set(enum log_level lvl);
enum log_level log_level_get(void);
/* "error", "warn", "info" or "debug": the names log lines and log_level= use. */
const char *log_level_name(enum log_level lvl);
/* ident != NULL sends lines to syslog (LOG_DAEMON) under that name from now on. */
void log_to_syslog(const char *ident);
int log_enabled(enum log_level lvl);

/*
 * Writes one line. A control byte anywhere in the formatted text (a newline in
 * a key, an S3 error message, a metadata value) is written as '?', as
 * log_key() does: one call is one line, whatever its arguments hold.
 */
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * The one sanitiser for object keys (and prefixes, paths, names from S3) in
 * log lines: control bytes (0x00-0x1f, 0x7f) become '?', so a key holding a
 * newline cannot forge a line of its own, and a key longer than LOG_KEY_MAX
 * bytes is cut and ends in "...", so it cannot crowd the reason out of the
 * line. Fills out and returns it; key NULL gives "".
 */
#define LOG_KEY_MAX 200
#define LOG_KEY_BUF (LOG_KEY_MAX + 4)
const char *log_key(const char *key, char out[LOG_KEY_BUF]);
/* log_key into a buffer that lives until the end of the enclosing block: for
 * a log argument, log_warn("skipping '%s'", LOG_KEY(key)). */
#define LOG_KEY(k) log_key((k), (char[LOG_KEY_BUF]){0})

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_enabled(LOG_LVL_DEBUG))                                                    \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__);                                       \
	} while (0)

#endif
