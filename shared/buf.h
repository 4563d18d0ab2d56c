/*
 * buf.h: a growable byte buffer with a hard size cap, the rail for untrusted
 * input (STYLE.md rule 6; after curl's dynbuf).
 *
 * Invariants: len <= cap_max; when ptr != NULL it is NUL-terminated at len, so
 * text can be used as a C string (binary data may contain NULs itself).
 * Lifecycle: buf_init() on an embedded struct, buf_release() frees the storage
 * and leaves an empty buffer; buf_detach() hands the storage to the caller.
 * Errors: -ENOMEM when allocation fails, -E2BIG when the cap would be passed;
 * on error the buffer keeps its previous contents.
 * Not thread-safe: one owner at a time.
 */
#ifndef BUF_H
#define BUF_H
#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *ptr;
	size_t len;	/* bytes used, excluding the terminating NUL */
	size_t alloc;	/* bytes allocated */
	size_t cap_max; /* hard limit on len */
};

void buf_init(struct buf *b, size_t cap_max);
void buf_release(struct buf *b);
/* Empties the buffer but keeps its allocation for reuse. */
void buf_reset(struct buf *b);
/* Makes room for at least n more bytes. */
int buf_reserve(struct buf *b, size_t n);
int buf_add(struct buf *b, const void *data, size_t n);
int buf_addstr(struct buf *b, const char *s);
int buf_addch(struct buf *b, char c);
int buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Returns the storage (NUL-terminated; "" for an empty buffer, or NULL on
 * allocation failure) and leaves the buffer empty. The caller frees it. */
char *buf_detach(struct buf *b, size_t *len);

/* Bounded copies into fixed-size arrays (the one implementation; no strncpy
 * and its unterminated results). str_copy_n copies n bytes of src and a NUL:
 * -E2BIG, dst untouched, when n >= cap. str_copy_trunc_n copies what fits
 * (cap > 0), always NUL-terminated: for values that may be cut, such as
 * error messages and request ids. The versions without _n take a C string. */
int str_copy_n(char *dst, size_t cap, const char *src, size_t n);
int str_copy(char *dst, size_t cap, const char *src);
void str_copy_trunc_n(char *dst, size_t cap, const char *src, size_t n);
void str_copy_trunc(char *dst, size_t cap, const char *src);

#endif
