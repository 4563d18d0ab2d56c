/* test_buf.c: the capped buffer keeps its cap and its contents on error. */
#include <errno.h>
#include <stdlib.h>

#include "buf.h"
#include "t.h"

static void test_add_and_cap(void)
{
	struct buf b;
	buf_init(&b, 10);
	CHECK_INT(buf_addstr(&b, "hello"), 0);
	CHECK_INT(buf_addf(&b, "%d", 1234), 0);
	CHECK_STR(b.ptr, "hello1234");
	CHECK_INT(buf_addstr(&b, "xy"), -E2BIG);
	CHECK_STR(b.ptr, "hello1234");
	CHECK_INT(buf_addch(&b, '!'), 0);
	CHECK_INT(b.len, 10);
	CHECK_INT(buf_addch(&b, '!'), -E2BIG);
	size_t len;
	char *p = buf_detach(&b, &len);
	CHECK_STR(p, "hello1234!");
	CHECK_INT(len, 10);
	CHECK(b.ptr == NULL && b.len == 0);
	free(p);
	buf_release(&b);
}

static void test_reset_keeps_alloc(void)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	for (int i = 0; i < 1000; i++)
		CHECK_INT(buf_addstr(&b, "abcdefgh"), 0);
	CHECK_INT(b.len, 8000);
	size_t alloc = b.alloc;
	buf_reset(&b);
	CHECK_INT(b.len, 0);
	CHECK_STR(b.ptr, "");
	CHECK_INT(b.alloc, alloc);
	buf_release(&b);
}

int main(void)
{
	T_RUN(test_add_and_cap);
	T_RUN(test_reset_keeps_alloc);
	return T_DONE();
}
