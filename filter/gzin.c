/*
 * gzin.c: open + sniff + inflate (ISA-L or zlib) + plain pass-through.
 * See gzin.h for the contract. The state machine per stream:
 *   ST_MEMBER  inside a gzip member (the inflater holds its state)
 *   ST_BETWEEN a member ended: what follows is another member, zero padding,
 *              or the end of the file
 *   ST_DONE    clean end; ST_FAILED  sticky error (g->err, g->msg)
 */
#include "gzin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#ifdef HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

#include "log.h"

enum { MODE_PLAIN, MODE_ZLIB, MODE_ISAL };
enum { ST_MEMBER, ST_BETWEEN, ST_DONE, ST_FAILED };

#define GZIN_DEFAULT_READ (512u * 1024u)
#define GZIN_DEFAULT_BACKOFF_MS 1000u

/*
 * ISA-L inflates raw deflate here (ISAL_GZIP_NO_HDR_VER: it still checks the
 * CRC-32 and length trailer); the gzip member header (RFC 1952) is parsed by
 * this small restartable state machine. Why not ISA-L's own ISAL_GZIP mode:
 * ISA-L 2.30 cannot resume a header split across isal_inflate calls (a
 * header longer than the bytes at hand: small reads, a pipe, a multi-member
 * file whose next header straddles a read): isal_inflate parses it into a
 * struct isal_gzip_header that is LOCAL to each call, and on resuming takes
 * the FLG byte from that fresh struct, not from the header it read. What it
 * then does depends on memory it never set: it skipped the deflate data as
 * an FCOMMENT in one build and failed an FHCRC that was not there in another
 * (test_gzin under TSan, 7-byte reads: -EBADMSG). test_header_fields fails
 * deterministically on the old code (FEXTRA/FCOMMENT/FHCRC headers read in
 * 2..12-byte pieces).
 */
enum { H_FIXED, H_XLEN, H_EXTRA, H_NAME, H_COMMENT, H_HCRC, H_DONE };
#define GZ_FHCRC 0x02
#define GZ_FEXTRA 0x04
#define GZ_FNAME 0x08
#define GZ_FCOMMENT 0x10

struct gzhdr {
	int st;	       /* H_* */
	unsigned flg;  /* FLG byte */
	unsigned cnt;  /* bytes of the current field seen */
	unsigned xlen; /* FEXTRA length */
	unsigned hcrc; /* FHCRC value as read */
	uLong crc;     /* CRC-32 of the header bytes so far (for FHCRC) */
};

struct gzin {
	int fd;
	int own_fd; /* 0 for stdin */
	/* Retry (see gzin.h): the file is reopened by path and read on from
	 * `off`, the offset of the first byte not yet read: every byte before
	 * it is in `in` or already went through the inflater, so the inflater
	 * state carries on unchanged. */
	char *path;	       /* NULL for stdin: never reopened */
	uint64_t off;	       /* file offset of the next read(2) */
	int regular;	       /* S_ISREG at open: size and mtime are meaningful */
	off_t size;	       /* st_size at open */
	struct timespec mtime; /* st_mtim at open */
	unsigned max_retries;
	unsigned backoff_ms;
	unsigned retries; /* retries done on this file */
	gzin_read_fn read_fn;
	void *read_ctx;
	int mode;
	int state;
	int err;       /* sticky negative errno once ST_FAILED */
	char msg[160]; /* detail of err */
	unsigned char *in;
	size_t in_size; /* allocated bytes of in */
	size_t in_pos;	/* next unconsumed byte */
	size_t in_len;	/* valid bytes in in */
	int in_eof;	/* read(2) returned 0 */
	int padding;	/* ST_BETWEEN saw zero bytes: only zeros may follow */
	_Atomic uint64_t bytes_in;
	uint64_t members;
	z_stream zs;
	int zs_ready;
#ifdef HAVE_ISAL
	struct inflate_state *isal;
	struct gzhdr hdr; /* ISA-L mode: the member header, parsed here */
#endif
};

int gzin_have_isal(void)
{
#ifdef HAVE_ISAL
	return 1;
#else
	return 0;
#endif
}

static int fail(struct gzin *g, int err, const char *msg)
{
	g->state = ST_FAILED;
	g->err = err;
	snprintf(g->msg, sizeof(g->msg), "%s", msg);
	return err;
}

/* ---- input reads, with the retry of transient errors ---- */

/* Errors the mount (or a network file system) may clear by itself: EIO after
 * its own retries ran out, a timeout, a reset, and a short read (-ENODATA
 * here: end of file before st_size). EBADMSG (the mount's checksum
 * mismatch), ENOENT, EACCES, ENOTCONN (the mount is gone) and the rest are
 * final: reading again would not make the data right. */
static int transient(int e)
{
	return e == -EIO || e == -ETIMEDOUT || e == -ECONNRESET || e == -EAGAIN || e == -ENODATA;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Reopens the file and positions it at g->off. 0, or a negative errno
 * (-ESTALE when the file changed: its rest is not the same stream). */
static int reopen_at(struct gzin *g)
{
	struct stat sb;
	int fd;

	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
	fd = open(g->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	if (sb.st_size != g->size || sb.st_mtim.tv_sec != g->mtime.tv_sec ||
	    sb.st_mtim.tv_nsec != g->mtime.tv_nsec) {
		close(fd);
		return -ESTALE;
	}
	if (lseek(fd, (off_t)g->off, SEEK_SET) != (off_t)g->off) {
		int e = errno ? -errno : -EIO;

		close(fd);
		return e;
	}
	g->fd = fd;
	return 0;
}

/*
 * One read(2) of up to n bytes at g->off (the file position). A transient
 * error on a regular file opened by path is retried: wait (backoff_ms,
 * doubling, at most 16 x), reopen, seek to g->off, read again; up to
 * max_retries times in a row (the count starts again after a good read).
 * Returns the bytes read (0 = end of file at st_size), or a negative errno
 * with g->msg set.
 */
static ssize_t input_read(struct gzin *g, void *buf, size_t n)
{
	unsigned attempt = 0, wait = g->backoff_ms;
	int open_err = 0; /* the last reopen failed with it (the file is closed) */

	for (;;) {
		ssize_t r = open_err;
		int e;

		if (g->fd >= 0) {
			do
				r = g->read_fn ? g->read_fn(g->read_ctx, g->fd, buf, n)
					       : read(g->fd, buf, n);
			while (r < 0 && errno == EINTR);
			if (r < 0)
				r = errno ? -errno : -EIO;
		}
		if (r > 0 || (r == 0 && (!g->regular || g->off >= (uint64_t)g->size))) {
			g->off += (uint64_t)r;
			atomic_fetch_add_explicit(&g->bytes_in, (uint64_t)r, memory_order_relaxed);
			return r;
		}
		e = r == 0 ? -ENODATA : (int)r; /* 0 before st_size: a short read */
		if (e == -ENODATA)
			snprintf(g->msg, sizeof(g->msg),
				 "short read: end of data at byte %llu of %lld",
				 (unsigned long long)g->off, (long long)g->size);
		else
			snprintf(g->msg, sizeof(g->msg), "read at byte %llu: %s",
				 (unsigned long long)g->off, strerror(-e));
		if (!g->path || !transient(e) || attempt >= g->max_retries) {
			if (attempt > 0 && transient(e)) {
				size_t l = strlen(g->msg);

				snprintf(g->msg + l, sizeof(g->msg) - l, " (after %u retries)",
					 attempt);
			}
			return e == -ENODATA ? -EIO : e;
		}
		attempt++;
		g->retries++;
		log_warn("%s: %s; retry %u/%u in %.1f s from byte %llu", g->path, g->msg, attempt,
			 g->max_retries, wait / 1000.0, (unsigned long long)g->off);
		sleep_ms(wait);
		if (wait < 16 * g->backoff_ms)
			wait *= 2;
		open_err = reopen_at(g);
		if (open_err == -ESTALE || (open_err < 0 && !transient(open_err))) {
			if (open_err == -ESTALE)
				snprintf(g->msg, sizeof(g->msg),
					 "the file changed (size or mtime) while it was retried");
			else
				snprintf(g->msg, sizeof(g->msg), "reopening for retry %u: %s",
					 attempt, strerror(-open_err));
			return open_err;
		}
	}
}

/* A read error: the stream fails with the message input_read left. */
static int fail_read(struct gzin *g, int err)
{
	g->state = ST_FAILED;
	g->err = err;
	return err;
}

/* Refills the input buffer when it is empty. 0, or a negative errno. */
static int fill(struct gzin *g)
{
	ssize_t n;

	if (g->in_pos < g->in_len || g->in_eof)
		return 0;
	g->in_pos = 0;
	g->in_len = 0;
	n = input_read(g, g->in, g->in_size);
	if (n < 0)
		return fail_read(g, (int)n);
	if (n == 0)
		g->in_eof = 1;
	g->in_len = (size_t)n;
	return 0;
}

/* Keeps the unconsumed tail and appends a read(2) after it. */
static int fill_more(struct gzin *g)
{
	ssize_t n;

	if (g->in_pos > 0) {
		memmove(g->in, g->in + g->in_pos, g->in_len - g->in_pos);
		g->in_len -= g->in_pos;
		g->in_pos = 0;
	}
	if (g->in_len == g->in_size)
		return fail(g, -EBADMSG, "inflater made no progress (corrupt data)");
	n = input_read(g, g->in + g->in_len, g->in_size - g->in_len);
	if (n < 0)
		return fail_read(g, (int)n);
	if (n == 0)
		g->in_eof = 1;
	g->in_len += (size_t)n;
	return 0;
}

static int member_reset(struct gzin *g)
{
#ifdef HAVE_ISAL
	if (g->mode == MODE_ISAL) {
		isal_inflate_reset(g->isal);
		g->isal->crc_flag = ISAL_GZIP_NO_HDR_VER;
		memset(&g->hdr, 0, sizeof(g->hdr));
		return 0;
	}
#endif
	if (inflateReset(&g->zs) != Z_OK)
		return fail(g, -EBADMSG, "zlib: inflateReset failed");
	return 0;
}

/* ST_BETWEEN: decides what follows a finished member. 0 to go on (state
 * changed to ST_MEMBER or ST_DONE), or a negative errno. */
static int between(struct gzin *g)
{
	for (;;) {
		int rc = fill(g);

		if (rc < 0)
			return rc;
		if (g->in_pos == g->in_len) { /* end of file */
			g->state = ST_DONE;
			return 0;
		}
		while (g->in_pos < g->in_len && g->in[g->in_pos] == 0) {
			g->in_pos++;
			g->padding = 1;
		}
		if (g->in_pos == g->in_len)
			continue;
		if (g->padding || g->in[g->in_pos] != 0x1f)
			return fail(g, -EBADMSG, "trailing garbage after gzip data");
		rc = member_reset(g);
		if (rc < 0)
			return rc;
		g->state = ST_MEMBER;
		return 0;
	}
}

static int read_plain(struct gzin *g, struct gzin_out *o)
{
	size_t want = o->size - o->pos;
	ssize_t n;

	if (g->in_pos < g->in_len) { /* bytes kept from the magic sniff */
		size_t k = g->in_len - g->in_pos;

		if (k > want)
			k = want;
		memcpy((char *)o->dst + o->pos, g->in + g->in_pos, k);
		g->in_pos += k;
		o->pos += k;
		return 0;
	}
	if (g->in_eof) {
		g->state = ST_DONE;
		return GZIN_EOF;
	}
	/* Straight into the caller's window: no copy for plain text. */
	n = input_read(g, (char *)o->dst + o->pos, want);
	if (n < 0)
		return fail_read(g, (int)n);
	if (n == 0) {
		g->in_eof = 1;
		g->state = ST_DONE;
		return GZIN_EOF;
	}
	o->pos += (size_t)n;
	return 0;
}

#ifdef HAVE_ISAL
static const char *isal_err(int ret)
{
	switch (ret) {
	case ISAL_INVALID_BLOCK:
		return "invalid deflate block (corrupt data)";
	case ISAL_INVALID_SYMBOL:
		return "invalid deflate symbol (corrupt data)";
	case ISAL_INVALID_LOOKBACK:
		return "invalid deflate distance (corrupt data)";
	case ISAL_INVALID_WRAPPER:
		return "invalid gzip header (corrupt data)";
	case ISAL_UNSUPPORTED_METHOD:
		return "unsupported gzip compression method";
	case ISAL_INCORRECT_CHECKSUM:
		return "CRC mismatch (corrupt data)";
	case ISAL_NEED_DICT:
		return "stream needs a preset dictionary";
	default:
		return "inflate error";
	}
}

/* Consumes header bytes from the input buffer. 1 = header complete,
 * 0 = needs more input, < 0 = corrupt header. */
static int hdr_step(struct gzin *g)
{
	struct gzhdr *h = &g->hdr;
	while (h->st != H_DONE) {
		if (g->in_pos >= g->in_len)
			return 0;
		const unsigned char c = g->in[g->in_pos++];
		if (h->st != H_HCRC)
			h->crc = crc32(h->crc, &c, 1);
		switch (h->st) {
		case H_FIXED:
			if ((h->cnt == 0 && c != 0x1f) || (h->cnt == 1 && c != 0x8b))
				return fail(g, -EBADMSG, "invalid gzip header (corrupt data)");
			if (h->cnt == 2 && c != 8)
				return fail(g, -EBADMSG, "unsupported gzip compression method");
			if (h->cnt == 3) {
				if (c & 0xe0)
					return fail(g, -EBADMSG,
						    "invalid gzip header (corrupt data)");
				h->flg = c;
			}
			if (++h->cnt == 10) {
				h->cnt = 0;
				h->st = H_XLEN;
			}
			break;
		case H_XLEN:
			h->xlen |= (unsigned)c << (8 * h->cnt);
			if (++h->cnt == 2) {
				h->cnt = 0;
				h->st = H_EXTRA;
			}
			break;
		case H_EXTRA:
			h->cnt++;
			break;
		case H_NAME:
		case H_COMMENT:
			if (c == 0)
				h->st++;
			break;
		case H_HCRC:
			h->hcrc |= (unsigned)c << (8 * h->cnt);
			if (++h->cnt == 2) {
				if (h->hcrc != (h->crc & 0xffff))
					return fail(g, -EBADMSG, "gzip header CRC mismatch");
				h->st = H_DONE;
			}
			break;
		}
		/* skip the optional fields that are absent (or done) */
		if (h->st == H_XLEN && !(h->flg & GZ_FEXTRA))
			h->st = H_NAME;
		if (h->st == H_EXTRA && h->cnt == h->xlen) {
			h->cnt = 0;
			h->st = H_NAME;
		}
		if (h->st == H_NAME && !(h->flg & GZ_FNAME))
			h->st = H_COMMENT;
		if (h->st == H_COMMENT && !(h->flg & GZ_FCOMMENT))
			h->st = H_HCRC;
		if (h->st == H_HCRC && !(h->flg & GZ_FHCRC))
			h->st = H_DONE;
	}
	return 1;
}

/* One header step or one isal_inflate call. 1 = member finished, 0 = ok,
 * <0 = error. */
static int step_isal(struct gzin *g, struct gzin_out *o, size_t *consumed)
{
	struct inflate_state *s = g->isal;
	size_t room = o->size - o->pos;
	size_t avail = g->in_len - g->in_pos;
	int ret;

	if (g->hdr.st != H_DONE) {
		ret = hdr_step(g);
		*consumed = avail - (g->in_len - g->in_pos);
		return ret < 0 ? ret : 0;
	}

	if (room > UINT32_MAX)
		room = UINT32_MAX;
	s->next_in = g->in + g->in_pos;
	s->avail_in = (uint32_t)avail;
	s->next_out = (uint8_t *)o->dst + o->pos;
	s->avail_out = (uint32_t)room;
	ret = isal_inflate(s);
	*consumed = avail - s->avail_in;
	g->in_pos += *consumed;
	o->pos += room - s->avail_out;
	if (ret < 0)
		return fail(g, -EBADMSG, isal_err(ret));
	if (ret == ISAL_NEED_DICT)
		return fail(g, -EBADMSG, isal_err(ret));
	return s->block_state == ISAL_BLOCK_FINISH ? 1 : 0;
}
#endif

static int step_zlib(struct gzin *g, struct gzin_out *o, size_t *consumed)
{
	size_t room = o->size - o->pos;
	size_t avail = g->in_len - g->in_pos;
	char m[140];
	int ret;

	if (room > UINT32_MAX)
		room = UINT32_MAX;
	g->zs.next_in = g->in + g->in_pos;
	g->zs.avail_in = (uInt)avail;
	g->zs.next_out = (Bytef *)o->dst + o->pos;
	g->zs.avail_out = (uInt)room;
	ret = inflate(&g->zs, Z_NO_FLUSH);
	*consumed = avail - g->zs.avail_in;
	g->in_pos += *consumed;
	o->pos += room - g->zs.avail_out;
	switch (ret) {
	case Z_OK:
	case Z_BUF_ERROR: /* no progress possible: the caller decides */
		return 0;
	case Z_STREAM_END:
		return 1;
	case Z_MEM_ERROR:
		return fail(g, -ENOMEM, "zlib: out of memory");
	default:
		snprintf(m, sizeof(m), "%s (corrupt data)",
			 g->zs.msg ? g->zs.msg : "zlib inflate error");
		return fail(g, -EBADMSG, m);
	}
}

int gzin_read(struct gzin *g, struct gzin_out *o)
{
	size_t start = o->pos;

	if (g->state == ST_FAILED)
		return g->err;
	if (g->state == ST_DONE)
		return GZIN_EOF;
	if (o->pos >= o->size)
		return 0;
	if (g->mode == MODE_PLAIN)
		return read_plain(g, o);
	for (;;) {
		size_t before = o->pos, consumed = 0;
		int rc;

		if (g->state == ST_BETWEEN) {
			rc = between(g);
			if (rc < 0)
				return rc;
			if (g->state == ST_DONE)
				return o->pos > start ? 0 : GZIN_EOF;
		}
		rc = fill(g);
		if (rc < 0)
			return rc;
#ifdef HAVE_ISAL
		if (g->mode == MODE_ISAL)
			rc = step_isal(g, o, &consumed);
		else
#endif
			rc = step_zlib(g, o, &consumed);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			g->members++;
			g->state = ST_BETWEEN;
			g->padding = 0;
		}
		if (o->pos >= o->size)
			return 0;
		if (rc == 1 || o->pos != before || consumed != 0)
			continue;
		/* No progress: the inflater needs more input than is buffered. */
		if (!g->in_eof) {
			rc = fill_more(g);
			if (rc < 0)
				return rc;
			continue;
		}
		/* Out of input inside a member: give what we have first. */
		if (o->pos > start)
			return 0;
		return fail(g, -ENODATA, "unexpected end of file (truncated gzip stream)");
	}
}

int gzin_open(struct gzin **out, const char *path, const struct gzin_opts *opts)
{
	struct gzin *g;
	int rc;

	*out = NULL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->fd = -1;
	if (opts) {
		g->max_retries = opts->retries;
		g->backoff_ms = opts->backoff_ms ? opts->backoff_ms : GZIN_DEFAULT_BACKOFF_MS;
		g->read_fn = opts->read_fn;
		g->read_ctx = opts->read_ctx;
	}
	g->in_size = opts && opts->read_size ? opts->read_size : GZIN_DEFAULT_READ;
	if (g->in_size < 2)
		g->in_size = 2; /* the sniff needs the two magic bytes in the buffer */
	g->in = malloc(g->in_size);
	if (!g->in) {
		rc = -ENOMEM;
		goto fail_out;
	}
	if (strcmp(path, "-") == 0) {
		g->fd = STDIN_FILENO;
	} else {
		struct stat sb;

		g->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (g->fd < 0) {
			rc = -errno;
			goto fail_out;
		}
		g->own_fd = 1;
		/* Sequential hint: larger read-ahead on local disks. */
		(void)posix_fadvise(g->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
		if (fstat(g->fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
			g->regular = 1;
			g->size = sb.st_size;
			g->mtime = sb.st_mtim;
			g->path = strdup(path);
			if (!g->path) {
				rc = -ENOMEM;
				goto fail_out;
			}
		}
	}
	/* Sniff: gather at least two bytes (a pipe may deliver one). */
	while (g->in_len < 2 && !g->in_eof) {
		ssize_t n = input_read(g, g->in + g->in_len, g->in_size - g->in_len);

		if (n < 0) {
			rc = (int)n;
			goto fail_out;
		}
		if (n == 0)
			g->in_eof = 1;
		g->in_len += (size_t)n;
	}
	if (g->in_len >= 2 && g->in[0] == 0x1f && g->in[1] == 0x8b) {
		g->state = ST_MEMBER;
#ifdef HAVE_ISAL
		if (!(opts && opts->force_zlib)) {
			g->isal = malloc(sizeof(*g->isal));
			if (!g->isal) {
				rc = -ENOMEM;
				goto fail_out;
			}
			isal_inflate_init(g->isal);
			g->isal->crc_flag = ISAL_GZIP_NO_HDR_VER;
			memset(&g->hdr, 0, sizeof(g->hdr)); /* H_FIXED, crc 0 */
			g->mode = MODE_ISAL;
		} else
#endif
		{
			if (inflateInit2(&g->zs, 15 + 16) != Z_OK) {
				rc = -ENOMEM;
				goto fail_out;
			}
			g->zs_ready = 1;
			g->mode = MODE_ZLIB;
		}
	} else {
		g->mode = MODE_PLAIN;
		g->state = ST_MEMBER;
	}
	*out = g;
	return 0;
fail_out:
	gzin_free(g);
	return rc;
}

int gzin_is_gzip(const struct gzin *g)
{
	return g->mode != MODE_PLAIN;
}

const char *gzin_decoder(const struct gzin *g)
{
	return g->mode == MODE_ISAL ? "isa-l" : g->mode == MODE_ZLIB ? "zlib" : "plain";
}

uint64_t gzin_bytes_in(const struct gzin *g)
{
	return atomic_load_explicit(&g->bytes_in, memory_order_relaxed);
}

unsigned gzin_retries(const struct gzin *g)
{
	return g->retries;
}

uint64_t gzin_members(const struct gzin *g)
{
	return g->members;
}

const char *gzin_errmsg(const struct gzin *g)
{
	if (g->msg[0])
		return g->msg;
	return g->err ? strerror(-g->err) : "no error";
}

void gzin_free(struct gzin *g)
{
	if (!g)
		return;
	if (g->zs_ready)
		inflateEnd(&g->zs);
#ifdef HAVE_ISAL
	free(g->isal);
#endif
	if (g->own_fd && g->fd >= 0)
		close(g->fd);
	free(g->path);
	free(g->in);
	free(g);
}
