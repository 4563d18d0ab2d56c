/* test_gzin.c: gzin on the real datasets (../shared/datasets), with ISA-L and
 * with zlib, large and tiny buffers: line counts from the datasets' README,
 * multi-member and zero-padded streams, truncated files (every complete byte
 * first, then -ENODATA), corrupt data and CRC errors (-EBADMSG), plain text,
 * a missing file; the retry of transient read errors (test_retry: injected
 * through gzin_opts.read_fn, the only difference from a real read). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gzin.h"
#include "t.h"

#define DS S3M_SHARED_DIR "/datasets/"

struct res {
	int rc;		   /* final gzin_read status */
	uint64_t bytes;	   /* decompressed bytes */
	uint64_t newlines; /* '\n' seen */
	uint64_t members;
	uint32_t sum; /* a cheap order-sensitive checksum of the bytes */
};

static struct res run_opts(const char *path, const struct gzin_opts *o, size_t window);

static struct res run(const char *path, int force_zlib, size_t read_size, size_t window)
{
	struct gzin_opts o = {force_zlib, read_size, 0, 0, NULL, NULL};

	return run_opts(path, &o, window);
}

static unsigned last_retries; /* gzin_retries() of the last run_opts */

static struct res run_opts(const char *path, const struct gzin_opts *o, size_t window)
{
	struct res r = {0, 0, 0, 0, 0};
	struct gzin *g = NULL;
	char *buf = malloc(window);

	last_retries = 0;
	r.rc = gzin_open(&g, path, o);
	if (r.rc < 0) {
		free(buf);
		return r;
	}
	for (;;) {
		struct gzin_out out = {buf, window, 0};

		r.rc = gzin_read(g, &out);
		for (size_t i = 0; i < out.pos; i++) {
			r.newlines += buf[i] == '\n';
			r.sum = r.sum * 31u + (unsigned char)buf[i];
		}
		r.bytes += out.pos;
		if (r.rc != 0)
			break;
	}
	r.members = gzin_members(g);
	last_retries = gzin_retries(g);
	gzin_free(g);
	free(buf);
	return r;
}

/* Every combination of decoder and buffer sizes must agree. */
static void check_file(const char *path, int want_rc, uint64_t want_lines, uint64_t want_members)
{
	static const size_t reads[] = {0, 4096, 7};
	static const size_t windows[] = {1 << 20, 333};
	struct res ref = run(path, 1, 0, 1 << 20);

	CHECK_INT(ref.rc, want_rc);
	CHECK_INT(ref.newlines, want_lines);
	CHECK_INT(ref.members, want_members);
	for (int z = 0; z < 2; z++) {
		for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
			for (size_t j = 0; j < sizeof(windows) / sizeof(windows[0]); j++) {
				struct res r;

				if (reads[i] == 7 && ref.bytes > 5000000)
					continue; /* 7-byte reads over many MB: slow, adds nothing
						   */
				r = run(path, z, reads[i], windows[j]);
				if (r.rc != ref.rc || r.bytes != ref.bytes || r.sum != ref.sum ||
				    r.members != ref.members) {
					fprintf(stderr,
						"%s zlib=%d read=%zu window=%zu: rc %d bytes %llu "
						"members %llu (want %d %llu %llu)\n",
						path, z, reads[i], windows[j], r.rc,
						(unsigned long long)r.bytes,
						(unsigned long long)r.members, ref.rc,
						(unsigned long long)ref.bytes,
						(unsigned long long)ref.members);
					t_cur_failed = 1;
				}
			}
		}
	}
}

static void test_datasets(void)
{
	check_file(DS "amazon-mcauley/qa_Appliances.json.gz", GZIN_EOF, 9011, 1);
	check_file(DS "gharchive/2015-01-01-0.json.gz", GZIN_EOF, 7702, 1);
	check_file(DS "gharchive/2015-01-01-1.json.gz", GZIN_EOF, 7427, 1);
	check_file(DS "humaneval/HumanEval.jsonl.gz", GZIN_EOF, 164, 1);
	check_file(DS "derived/reviews_Digital_Music_5.complete-lines.json.gz", GZIN_EOF, 6908, 1);
}

static void test_truncated(void)
{
	/* README: 7,419 complete lines + a cut one; 6,908 + a cut one */
	check_file(DS "amazon-mcauley/meta_Digital_Music.json.gz", -ENODATA, 7419, 0);
	check_file(DS "amazon-mcauley/reviews_Digital_Music_5.json.gz", -ENODATA, 6908, 0);
}

static char tmpdir[64];

static void write_file(const char *name, const void *p, size_t n, int append)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0644);
	CHECK(fd >= 0);
	CHECK(write(fd, p, n) == (ssize_t)n);
	close(fd);
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long sz;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)sz);
	*n = fread(p, 1, (size_t)sz, f);
	fclose(f);
	return p;
}

static const char *tp(const char *name)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

static void test_made_streams(void)
{
	size_t n0, n1;
	char *g0 = slurp(DS "gharchive/2015-01-01-0.json.gz", &n0);
	char *g1 = slurp(DS "gharchive/2015-01-01-1.json.gz", &n1);
	char zeros[1000] = {0};
	char *bad;

	CHECK(g0 && g1);
	if (!g0 || !g1)
		return;
	/* cat a.gz b.gz: two members, every line of both */
	write_file("mm.gz", g0, n0, 0);
	write_file("mm.gz", g1, n1, 1);
	check_file(tp("mm.gz"), GZIN_EOF, 7702 + 7427, 2);
	/* zero padding after the last member is ignored (gzip does the same) */
	write_file("pad.gz", g0, n0, 0);
	write_file("pad.gz", zeros, sizeof(zeros), 1);
	check_file(tp("pad.gz"), GZIN_EOF, 7702, 1);
	/* other trailing bytes are corrupt data */
	write_file("garbage.gz", g0, n0, 0);
	write_file("garbage.gz", "garbage\n", 8, 1);
	check_file(tp("garbage.gz"), -EBADMSG, 7702, 1);
	/* a flipped byte inside the deflate data */
	bad = malloc(n0);
	memcpy(bad, g0, n0);
	bad[n0 / 2] ^= 0x55;
	write_file("flip.gz", bad, n0, 0);
	CHECK_INT(run(tp("flip.gz"), 0, 0, 1 << 20).rc, -EBADMSG);
	CHECK_INT(run(tp("flip.gz"), 1, 0, 1 << 20).rc, -EBADMSG);
	/* a wrong CRC in the trailer: all data, then the error */
	memcpy(bad, g0, n0);
	bad[n0 - 6] ^= 0x01;
	write_file("crc.gz", bad, n0, 0);
	check_file(tp("crc.gz"), -EBADMSG, 7702, 0);
	free(bad);
	free(g0);
	free(g1);
}

/* Bitwise CRC-32 (gzip's): the FHCRC of the headers made below. */
static uint32_t crc32_bits(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
	}
	return ~c;
}

/* gz (one member, FLG = FNAME only) re-headed with FEXTRA, FNAME, FCOMMENT and
 * FHCRC (flags taken from `flg`); appended to name. 0 when gz is not such a file. */
static size_t reheader(const char *name, const unsigned char *gz, size_t n, unsigned flg,
		       int bad_hcrc)
{
	unsigned char h[256];
	size_t hl = 0, body;
	const char *comment = "a comment long enough to straddle several small reads";

	if (n < 11 || gz[3] != 0x08)
		return 0;
	for (body = 10; body < n && gz[body]; body++)
		;
	body++; /* past the name's NUL: the deflate data */
	memcpy(h, gz, 10);
	h[3] = (unsigned char)flg;
	hl = 10;
	if (flg & 0x04) {
		static const unsigned char x[] = {8, 0, 'X', 'Y', 4, 0, 'a', 'b', 'c', 'd'};
		memcpy(h + hl, x, sizeof(x));
		hl += sizeof(x);
	}
	if (flg & 0x08) {
		memcpy(h + hl, "events.json", 12);
		hl += 12;
	}
	if (flg & 0x10) {
		memcpy(h + hl, comment, strlen(comment) + 1);
		hl += strlen(comment) + 1;
	}
	if (flg & 0x02) {
		uint32_t c = crc32_bits(h, hl) ^ (bad_hcrc ? 1u : 0u);
		h[hl++] = (unsigned char)(c & 0xff);
		h[hl++] = (unsigned char)((c >> 8) & 0xff);
	}
	write_file(name, h, hl, 1);
	write_file(name, gz + body, n - body, 1);
	return hl + n - body;
}

/*
 * Optional header fields split over many reads. ISA-L's own gzip-header mode
 * lost the FLG byte when a header was resumed in a later isal_inflate call
 * (its header struct is local to each call): with 7-byte reads this file gave
 * -EBADMSG "CRC mismatch" before gzin parsed the header itself.
 */
static void test_header_fields(void)
{
	size_t n0;
	unsigned char *g0 = (unsigned char *)slurp(DS "humaneval/HumanEval.jsonl.gz", &n0);

	CHECK(g0 != NULL);
	if (!g0)
		return;
	write_file("hdr.gz", "", 0, 0);
	CHECK(reheader("hdr.gz", g0, n0, 0x1e, 0) > 0); /* EXTRA NAME COMMENT HCRC */
	CHECK(reheader("hdr.gz", g0, n0, 0x12, 0) > 0); /* COMMENT HCRC */
	CHECK(reheader("hdr.gz", g0, n0, 0x04, 0) > 0); /* EXTRA only */
	check_file(tp("hdr.gz"), GZIN_EOF, 3 * 164, 3);
	for (size_t rs = 1; rs <= 12; rs++) { /* every split of the headers */
		struct res r = run(tp("hdr.gz"), 0, rs, 1 << 20);

		if (r.rc != GZIN_EOF || r.newlines != 3 * 164)
			fprintf(stderr, "read size %zu:\n", rs);
		CHECK_INT(r.rc, GZIN_EOF);
		CHECK_INT(r.newlines, 3 * 164);
	}
	/* a wrong header CRC is corrupt data, before any byte of the member */
	write_file("hcrc.gz", "", 0, 0);
	CHECK(reheader("hcrc.gz", g0, n0, 0x1a, 1) > 0);
	check_file(tp("hcrc.gz"), -EBADMSG, 0, 0);
	free(g0);
}

static void test_plain_and_errors(void)
{
	struct res r;
	struct gzin *g = NULL;
	struct gzin_opts o = {0, 0, 0, 0, NULL, NULL};

	write_file("plain.json", "{\"a\":1}\r\n{\"a\":2}", 16, 0);
	r = run(tp("plain.json"), 0, 0, 1 << 20);
	CHECK_INT(r.rc, GZIN_EOF);
	CHECK_INT(r.bytes, 16);
	CHECK_INT(r.newlines, 1);
	r = run(tp("plain.json"), 0, 3, 5);
	CHECK_INT(r.bytes, 16);
	/* one byte that happens to be the first magic byte: plain */
	write_file("one", "\x1f", 1, 0);
	r = run(tp("one"), 0, 0, 64);
	CHECK_INT(r.rc, GZIN_EOF);
	CHECK_INT(r.bytes, 1);
	write_file("empty", "", 0, 0);
	r = run(tp("empty"), 0, 0, 64);
	CHECK_INT(r.rc, GZIN_EOF);
	CHECK_INT(r.bytes, 0);
	CHECK_INT(gzin_open(&g, tp("does-not-exist"), &o), -ENOENT);
	CHECK(g == NULL);
	/* a directory opens but read(2) fails: EISDIR */
	r = run(tmpdir, 0, 0, 64);
	CHECK_INT(r.rc, -EISDIR);
}

/*
 * Fault injection for test_retry: every `every`-th read call starts a burst
 * of `burst` failed calls. A failed call first consumes half of what was
 * asked from the real descriptor (the file position moves, the bytes are
 * lost, as when a read dies half-way), then fails with `err`, or returns 0
 * (a short read) when err is 0. Resuming at the file position instead of the
 * offset consumed would thus lose bytes and change the checksum.
 */
struct fault {
	unsigned calls, every, burst, left, injected;
	int err;
	const char *touch; /* utimensat() this path at the first fault */
};

static ssize_t faulty_read(void *ctx, int fd, void *buf, size_t n)
{
	struct fault *f = ctx;
	char junk[4096];
	struct stat sb;

	f->calls++;
	/* at the end of the file a read of 0 is the end, not a fault */
	if (fstat(fd, &sb) == 0 && lseek(fd, 0, SEEK_CUR) >= sb.st_size)
		return read(fd, buf, n);
	if (f->left == 0 && f->every && f->calls % f->every == 0)
		f->left = f->burst;
	if (f->left == 0)
		return read(fd, buf, n);
	f->left--;
	f->injected++;
	if (f->touch && f->injected == 1) {
		struct timespec ts[2] = {{1, 0}, {1, 0}};

		CHECK(utimensat(AT_FDCWD, f->touch, ts, 0) == 0);
	}
	if (read(fd, junk, n / 2 < sizeof(junk) ? n / 2 : sizeof(junk)) < 0)
		return -1;
	if (f->err == 0)
		return 0;
	errno = f->err;
	return -1;
}

static int same(struct res a, struct res b)
{
	return a.rc == b.rc && a.bytes == b.bytes && a.sum == b.sum && a.members == b.members &&
	       a.newlines == b.newlines;
}

static void test_retry(void)
{
	static const char *files[] = {
	    DS "gharchive/2015-01-01-0.json.gz",
	    DS "humaneval/HumanEval.jsonl.gz",
	};
	static const size_t reads[] = {4096, 7, 65536};
	static const int errs[] = {EIO, 0, ETIMEDOUT};
	size_t n;
	char *raw;

	for (size_t fi = 0; fi < sizeof(files) / sizeof(files[0]); fi++) {
		struct res ref = run(files[fi], 1, 0, 1 << 20);

		CHECK_INT(ref.rc, GZIN_EOF);
		for (int z = 0; z < 2; z++) {
			for (size_t ri = 0; ri < sizeof(reads) / sizeof(reads[0]); ri++) {
				for (size_t ei = 0; ei < sizeof(errs) / sizeof(errs[0]); ei++) {
					struct fault f = {0, 5, 2, 0, 0, errs[ei], NULL};
					struct gzin_opts o = {z, reads[ri], 3, 1, faulty_read, &f};
					struct res r;

					if (reads[ri] == 7)
						f.every =
						    3001; /* a few hundred faults are plenty */
					if (fi == 1 && reads[ri] > 4096)
						continue; /* 44 KB: one read, nothing to fault */
					r = run_opts(files[fi], &o, 333 + 1000 * ri);
					if (!same(r, ref) || f.injected == 0 ||
					    last_retries != f.injected) {
						fprintf(
						    stderr,
						    "%s zlib=%d read=%zu err=%d: rc %d bytes %llu "
						    "(want %d %llu), %u faults, %u retries\n",
						    files[fi], z, reads[ri], errs[ei], r.rc,
						    (unsigned long long)r.bytes, ref.rc,
						    (unsigned long long)ref.bytes, f.injected,
						    last_retries);
						t_cur_failed = 1;
					}
				}
			}
		}
	}

	/* plain text: the same resume at the offset */
	raw = slurp(DS "humaneval/HumanEval.jsonl.gz", &n);
	CHECK(raw != NULL);
	{
		struct res ref, r;
		struct fault f = {0, 3, 1, 0, 0, EIO, NULL};
		struct gzin_opts o = {0, 1000, 2, 1, faulty_read, &f};
		struct gzin_opts plain = {0, 0, 0, 0, NULL, NULL};
		struct gzin *g = NULL;
		char *dec = malloc(1 << 20);
		struct gzin_out out = {dec, 1 << 20, 0};

		CHECK_INT(gzin_open(&g, DS "humaneval/HumanEval.jsonl.gz", &plain), 0);
		while (gzin_read(g, &out) == 0 && out.pos < out.size)
			;
		gzin_free(g);
		write_file("plain.jsonl", dec, out.pos, 0);
		ref = run(tp("plain.jsonl"), 0, 0, 1 << 20);
		r = run_opts(tp("plain.jsonl"), &o, 777);
		CHECK(same(r, ref));
		CHECK(f.injected > 10);
		CHECK_INT(last_retries, f.injected);
		free(dec);
	}

	/* retries run out: the error stays, after exactly `retries` retries */
	{
		struct fault f = {0, 4, 100, 0, 0, EIO, NULL};
		struct gzin_opts o = {0, 4096, 3, 1, faulty_read, &f};
		struct res r = run_opts(DS "humaneval/HumanEval.jsonl.gz", &o, 1 << 20);

		CHECK_INT(r.rc, -EIO);
		CHECK_INT(last_retries, 3);
		CHECK_INT(f.injected, 4);
		f = (struct fault){0, 4, 100, 0, 0, 0, NULL}; /* short reads */
		r = run_opts(DS "humaneval/HumanEval.jsonl.gz", &o, 1 << 20);
		CHECK_INT(r.rc, -EIO);
		CHECK_INT(last_retries, 3);
	}
	/* EBADMSG (the mount's checksum mismatch) and EACCES are never retried */
	{
		struct fault f = {0, 4, 1, 0, 0, EBADMSG, NULL};
		struct gzin_opts o = {0, 4096, 5, 1, faulty_read, &f};
		struct res r = run_opts(DS "humaneval/HumanEval.jsonl.gz", &o, 1 << 20);

		CHECK_INT(r.rc, -EBADMSG);
		CHECK_INT(last_retries, 0);
		f = (struct fault){0, 4, 1, 0, 0, EACCES, NULL};
		r = run_opts(DS "humaneval/HumanEval.jsonl.gz", &o, 1 << 20);
		CHECK_INT(r.rc, -EACCES);
		CHECK_INT(last_retries, 0);
	}
	/* the file changed meanwhile (mtime): -ESTALE, never a mixed stream */
	{
		struct fault f = {0, 4, 1, 0, 0, EIO, NULL};
		struct gzin_opts o = {0, 4096, 5, 1, faulty_read, &f};
		struct res r;

		write_file("changing.gz", raw, n, 0);
		f.touch = tp("changing.gz");
		r = run_opts(tp("changing.gz"), &o, 1 << 20);
		CHECK_INT(r.rc, -ESTALE);
		CHECK_INT(last_retries, 1);
	}
	/* no retry by default (retries 0), as before */
	{
		struct fault f = {0, 4, 1, 0, 0, EIO, NULL};
		struct gzin_opts o = {0, 4096, 0, 1, faulty_read, &f};
		struct res r = run_opts(DS "humaneval/HumanEval.jsonl.gz", &o, 1 << 20);

		CHECK_INT(r.rc, -EIO);
		CHECK_INT(last_retries, 0);
	}
	free(raw);
}

int main(void)
{
	char cmd[128];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_gzin.XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	T_RUN(test_datasets);
	T_RUN(test_truncated);
	T_RUN(test_made_streams);
	T_RUN(test_header_fields);
	T_RUN(test_plain_and_errors);
	T_RUN(test_retry);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		return 1;
	return T_DONE();
}
