/*
 * test_status.c: label values of the status file (status.h) follow the
 * Prometheus text format: backslash, double quote and newline escaped, other
 * control bytes replaced, long keys cut; UTF-8 passes as it is.
 */
#include "buf.h"
#include "status.h"
#include "t.h"

static const char *esc(struct buf *b, const char *v)
{
	buf_reset(b);
	CHECK_INT(status_escape(b, v), 0);
	return b->ptr ? b->ptr : "";
}

static void test_escape(void)
{
	struct buf b;
	buf_init(&b, 1 << 16);
	CHECK_STR(esc(&b, "plain/key.gz"), "plain/key.gz");
	CHECK_STR(esc(&b, "a\"b"), "a\\\"b");
	CHECK_STR(esc(&b, "a\\b"), "a\\\\b");
	CHECK_STR(esc(&b, "a\nb"), "a\\nb");
	CHECK_STR(esc(&b, "a\tb\rc\x7f"), "a?b?c?");
	CHECK_STR(esc(&b, "caf\xc3\xa9"), "caf\xc3\xa9");
	CHECK_STR(esc(&b, ""), "");
	char longk[STATUS_KEY_MAX + 100];
	memset(longk, 'k', sizeof(longk) - 1);
	longk[sizeof(longk) - 1] = '\0';
	CHECK_INT(strlen(esc(&b, longk)), STATUS_KEY_MAX);
	/* the cap of the buffer holds: -E2BIG, never past it */
	struct buf small;
	buf_init(&small, 4);
	CHECK(status_escape(&small, "abcdefgh") != 0);
	CHECK(small.len <= 4);
	buf_release(&small);
	buf_release(&b);
}

int main(void)
{
	T_RUN(test_escape);
	return T_DONE();
}
