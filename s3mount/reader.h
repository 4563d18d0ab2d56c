/*
 * reader.h: one open file handle's reads, on the shared block cache
 * (rcache.h) inside the one memory budget.
 *
 * reader_read() detects sequential access (the next offset equals the end
 * of the previous read, as sshfs's cache.c does): on sequential hits it
 * keeps a window of parallel ranged GETs ahead of the reader, starting small
 * so the first byte comes fast and doubling on each sequential hit up to a
 * cap; random reads fetch only the blocks they need. At the budget,
 * prefetch shrinks or waits; it never allocates past it. Window sizes and
 * why: rcache.c and reader.c.
 *
 * Thread-safety: one reader may be used by several FUSE threads at once
 * (reads on one handle may overlap). Errors: negative errno from s3.h (an
 * object replaced under an open handle fails with -ESTALE, because every
 * GET carries If-Match: etag).
 */
#ifndef READER_H
#define READER_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "rcache.h"

struct reader;

/* Opens a reader over a known object version (size and ETag from the lookup). */
int reader_new(struct rcache *rc, const char *key, uint64_t size, const char *etag,
	       struct reader **out);
/* 1 once a GET of the reader's object version answered with SSE-KMS,
 * DSSE-KMS or SSE-C headers (s3_object_info.etag_not_md5): its ETag is then
 * no MD5, and an ETag check must stop. Set before the GET's blocks become
 * readable, so it is set by the time a read has returned any fetched byte. */
int reader_etag_not_md5(struct reader *r);
/* Reads up to len bytes at off into buf; returns the count (0 at EOF) or a
 * negative errno. */
ssize_t reader_read(struct reader *r, void *buf, size_t len, uint64_t off);
void reader_free(struct reader *r);

/* Zero-copy read for the FUSE layer: pins the cached blocks covering
 * [off, off+len) (clipped at EOF) and describes the bytes in iov[0..*niov),
 * so fuse_reply_iov()/fuse_reply_data() copies them to the kernel straight
 * from the cache; the caller then calls reader_unpin(), which must follow
 * every call that returned > 0. Returns the byte count (0 at EOF, *pin set
 * to NULL), a negative errno, or -EAGAIN when the read would need to wait
 * for memory (the pins would then risk a deadlock at a tiny budget) or
 * spans more than READER_IOV_MAX blocks: use reader_read() for that one. */
#define READER_IOV_MAX 16
struct reader_pin;
ssize_t reader_read_iov(struct reader *r, uint64_t off, size_t len, struct iovec *iov, int *niov,
			struct reader_pin **pin);
void reader_unpin(struct reader_pin *pin);

#endif
