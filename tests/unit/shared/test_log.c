/*
 * test_log.c: shared/log.h's key sanitiser and the one-line rule of log_msg.
 * A key may hold any byte but '\0' (S3 allows a newline), so a key printed
 * raw could forge a log line of its own; log_key() and log_msg()'s own
 * cleaning must give exactly one line per call, whatever the arguments hold.
 * stderr is redirected to a temporary file to read back what was written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "t.h"

static void test_log_key(void)
{
	char out[LOG_KEY_BUF];
	CHECK_STR(log_key("plain/key.txt", out), "plain/key.txt");
	CHECK_STR(log_key("a\nb\rc\td\x1b[31me\x7f", out), "a?b?c?d?[31me?");
	CHECK_STR(log_key(NULL, out), "");
	CHECK_STR(log_key("caf\xc3\xa9", out), "caf\xc3\xa9"); /* UTF-8 passes */
	char long_key[LOG_KEY_MAX + 50];
	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	CHECK_INT(strlen(log_key(long_key, out)), LOG_KEY_MAX + 3);
	CHECK(strcmp(out + LOG_KEY_MAX, "...") == 0);
	long_key[LOG_KEY_MAX] = '\0'; /* exactly the maximum: not cut */
	CHECK_INT(strlen(log_key(long_key, out)), LOG_KEY_MAX);
	/* the macro's buffer lives through the call it is an argument of */
	char both[2 * LOG_KEY_BUF];
	snprintf(both, sizeof(both), "%s|%s", LOG_KEY("x\ny"), LOG_KEY("z\n"));
	CHECK_STR(both, "x?y|z?");
}

/* Runs one log_msg with stderr sent to a file; returns what was written. */
static char *capture(const char *fmt_key)
{
	static char got[4096];
	char path[] = "/tmp/test_log_XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	log_warn("skipping key '%s': %s", fmt_key, "reason\nwith a newline too");
	dup2(saved, STDERR_FILENO);
	close(saved);
	ssize_t n = pread(fd, got, sizeof(got) - 1, 0);
	close(fd);
	unlink(path);
	got[n > 0 ? n : 0] = '\0';
	return got;
}

static void test_one_line(void)
{
	log_level_set(LOG_LVL_WARN);
	const char *forged = "evil\n12:00:00.000 error: FORGED\r\x1b[2K";
	char *s = capture(forged);
	CHECK(s != NULL);
	if (!s)
		return;
	char *nl = strchr(s, '\n');
	CHECK(nl != NULL && nl[1] == '\0'); /* exactly one line, ended by its '\n' */
	CHECK(strchr(s, '\r') == NULL && strchr(s, '\x1b') == NULL);
	CHECK(strstr(s, "warn: skipping key 'evil?12:00:00.000 error: FORGED??[2K': "
			"reason?with a newline too\n") != NULL);
	/* through the sanitiser the same text comes out the same way */
	s = capture(LOG_KEY(forged));
	CHECK(strstr(s, "'evil?12:00:00.000 error: FORGED??[2K'") != NULL);
	/* a line over the 2 KiB buffer is cut, still one line */
	char big[3000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[100] = '\n';
	s = capture(big);
	nl = strchr(s, '\n');
	CHECK(nl != NULL && nl[1] == '\0');
}

int main(void)
{
	T_RUN(test_log_key);
	T_RUN(test_one_line);
	return T_DONE();
}
