/* buf.c: see buf.h. Growth doubles, bounded by cap_max + 1 for the NUL. */
#include "buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t cap_max)
{
	b->ptr = NULL;
	b->len = 0;
	b->alloc = 0;
	b->cap_max = cap_max;
}

void buf_release(struct buf *b)
{
	free(b->ptr);
	b->ptr = NULL;
	b->len = 0;
	b->alloc = 0;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

int buf_reserve(struct buf *b, size_t n)
{
	if (n > b->cap_max - b->len)
		return -E2BIG;
	size_t need = b->len + n + 1;
	if (need <= b->alloc)
		return 0;
	size_t na = b->alloc ? b->alloc : 64;
	while (na < need)
		na = na > (b->cap_max + 1) / 2 ? b->cap_max + 1 : na * 2;
	if (na < need)
		na = need;
	char *p = realloc(b->ptr, na);
	if (!p)
		return -ENOMEM;
	if (!b->ptr)
		p[0] = '\0';
	b->ptr = p;
	b->alloc = na;
	return 0;
}

int buf_add(struct buf *b, const void *data, size_t n)
{
	int rc = buf_reserve(b, n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->ptr + b->len, data, n);
	b->len += n;
	b->ptr[b->len] = '\0';
	return 0;
}

int buf_addstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int buf_addch(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return -EINVAL;
	int rc = buf_reserve(b, (size_t)n);
	if (rc)
		return rc;
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = buf_vaddf(b, fmt, ap);
	va_end(ap);
	return rc;
}

char *buf_detach(struct buf *b, size_t *len)
{
	char *p = b->ptr;
	if (!p)
		p = calloc(1, 1);
	if (len)
		*len = p ? b->len : 0;
	b->ptr = NULL;
	b->len = 0;
	b->alloc = 0;
	return p;
}

int str_copy_n(char *dst, size_t cap, const char *src, size_t n)
{
	if (n >= cap)
		return -E2BIG;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

int str_copy(char *dst, size_t cap, const char *src)
{
	return str_copy_n(dst, cap, src, strlen(src));
}

void str_copy_trunc_n(char *dst, size_t cap, const char *src, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void str_copy_trunc(char *dst, size_t cap, const char *src)
{
	str_copy_trunc_n(dst, cap, src, strlen(src));
}
