/*
 * verify.h: end-to-end check of a whole sequential download, against the
 * object's stored CRC where the server keeps one, else against its ETag.
 *
 * What a read is checked against, best first (verify_new_spec):
 *  1. CRC: a FULL_OBJECT checksum from HEAD with x-amz-checksum-mode
 *     (s3cksum.h): CRC64NVME (crc.h, PCLMULQDQ folding), CRC32C (ISA-L's
 *     crc32_iscsi) or CRC32 (zlib). It is the CRC of the object's bytes
 *     whatever the encryption and however it was uploaded, multipart
 *     included, and costs a fraction of MD5's CPU. A COMPOSITE checksum
 *     ("value-N", a CRC of the parts' CRCs) is not used: it cannot be
 *     recomputed without the part layout.
 *  2. MD5, plain: an ETag of 32 hex digits is the MD5 of the bytes of an
 *     object uploaded in one PUT (unencrypted or SSE-S3; not under SSE-KMS,
 *     DSSE-KMS or SSE-C: the caller then calls verify_stop).
 *  3. MD5, multipart with a known layout: the ETag "hex-N" is
 *     MD5(MD5(part 1) || ... || MD5(part N)); checked part by part when the
 *     caller knows where the parts end (x-amz-meta-s3mount-parts, mpu.h, or
 *     HEAD ?partNumber, partprobe.h) and that layout gives exactly N parts.
 *  4. MD5, multipart with the layout guessed (spec.infer): a server that
 *     ignores ?partNumber (RGW 16.2) and an object no s3mount wrote. The
 *     part sizes of common uploaders (verify_candidates) that give exactly N
 *     parts for the object's size are all hashed at once (one MD5 stream per
 *     candidate), and a CRC64NVME of the whole delivered stream is kept. At
 *     the end a candidate whose ETag matches proves the bytes good. When
 *     none does (no candidate fitted, or all were wrong guesses, or a byte
 *     was corrupted), a mismatch cannot be told from a wrong guess: the
 *     state becomes VERIFY_DECIDE and the caller downloads the object a
 *     second time, hashed and not stored, before the last read returns
 *     (verify_decide): the same CRC64NVME again means the guess was wrong
 *     and the bytes are delivered; another means one of the downloads was
 *     corrupted and the read fails. A clean read therefore never fails on a
 *     wrong guess; it costs a second download when no candidate matches.
 *
 * A mismatch fails the read that would deliver the object's end, and every
 * later read of the handle, with -EIO. The data read before that has already
 * reached the application: the check turns a silent corruption into a failed
 * read at the end of the file (cp, md5sum and the filter then fail), it
 * cannot prevent the bad bytes from being seen.
 *
 * Only sequential reading is checked. The kernel may send the reads of one
 * handle slightly out of order (parallel readahead on several FUSE threads),
 * so a read at most 32 MiB beyond the hashed prefix waits up to wait_ms for
 * the reads before it, longer while one of them is known to be fetching
 * (verify_read_begin); past that, or further ahead (random access, a hole
 * served from the kernel's page cache), the handle stops checking
 * (verify_state() says VERIFY_OFF, verify_gave_up() says why) and never
 * reports an error.
 *
 * Ownership: verify_new/verify_free. Thread-safety: one struct verify may be
 * fed by several threads at once (it has its own lock).
 */
#ifndef VERIFY_H
#define VERIFY_H
#include <stdint.h>
#include <sys/uio.h>

#include "mpu.h"
#include "s3types.h"

enum verify_state {
	VERIFY_ACTIVE, /* hashing a sequential read */
	VERIFY_OFF,    /* gave up: the handle did not read in order */
	VERIFY_GOOD,   /* every byte read, the digest matches */
	VERIFY_BAD,    /* every byte read, it differs: reads fail with -EIO */
	VERIFY_DECIDE, /* every byte read, no guessed layout matched: waits for
			* verify_decide (a second download) */
};

enum verify_mode {
	VERIFY_MODE_CRC,     /* the server's FULL_OBJECT CRC */
	VERIFY_MODE_MD5,     /* the ETag, plain or with a known layout */
	VERIFY_MODE_GUESSED, /* the ETag under guessed layouts, then a 2nd download */
};

struct verify;

/* What verify_new_spec is given. */
struct verify_spec {
	const char *etag;		    /* as S3 sends it (quoted or not) */
	uint64_t size;			    /* bytes */
	const struct mpu_layout *layout;    /* a multipart ETag's known layout, or NULL */
	const struct s3_checksum *checksum; /* from HEAD, or NULL */
	int infer;   /* 1: a multipart ETag without layout may be checked with
		      * guessed layouts and a second download */
	int wait_ms; /* how long a read past the hashed prefix waits for the
		      * reads before it */
};

/* The part sizes common tools cut an object of size bytes into, as each
 * scales its default past 10,000 parts, keeping those that give exactly
 * nparts parts (one entry per distinct size). Returns how many (0..max). */
#define VERIFY_GUESSES_MAX 8
struct verify_guess {
	uint64_t part_size;
	const char *tool; /* "aws-cli/boto3 8 MiB" ...: for logs */
};
int verify_guesses(uint64_t size, int nparts, struct verify_guess out[VERIFY_GUESSES_MAX]);

/* 1 when etag (quoted or not) is a plain MD5 that verify can check. */
int verify_etag_is_md5(const char *etag);

/* A checker for spec (copied). *out is NULL (and 0 returned) when there is
 * nothing to check: an empty object, no usable CRC and an ETag that is
 * neither a plain MD5 nor multipart with a fitting layout (or infer). -ENOMEM. */
int verify_new_spec(const struct verify_spec *spec, struct verify **out);
/* The ETag alone (modes 2 and 3 above): verify_new_spec without a
 * checksum and without infer. */
int verify_new(const char *etag, uint64_t size, const struct mpu_layout *layout, int wait_ms,
	       struct verify **out);
void verify_free(struct verify *v);

enum verify_mode verify_mode(struct verify *v);
/* "CRC64NVME", "CRC32C", "CRC32", "ETag (MD5)", "ETag (MD5, guessed part
 * layout)": for logs. */
const char *verify_what(struct verify *v);

/* The bytes [off, off + sum of iov lengths) are about to be delivered.
 * Returns 0, or -EIO when the object's digest did not match (now or before):
 * the read must fail instead of delivering them. Bytes already hashed (a
 * re-read) are skipped. v may be NULL (returns 0).
 * VERIFY_FEED_DECIDE (> 0): these bytes completed the object and no guessed
 * layout matched: this caller (only this one) must download the object
 * again and call verify_decide before delivering them. Meanwhile other
 * reads that reach the object's end wait for that decision. */
#define VERIFY_FEED_DECIDE 1
int verify_feed(struct verify *v, uint64_t off, const struct iovec *iov, int niov);

/* VERIFY_MODE_GUESSED: the ETag of the version read, which the second
 * download must be of ("" in the other modes). */
const char *verify_etag(struct verify *v);

/* Readers of one handle announce each read before fetching its bytes and
 * close it after verify_feed (or on failure), so that a read that arrives
 * ahead of the hashed prefix waits for a read still fetching the gap (up to
 * 10 s) instead of giving the check up after wait_ms: on a loaded
 * machine a GET can take longer than that. Returns a slot for
 * verify_read_end (-1: not tracked; v may be NULL). */
#define VERIFY_INFLIGHT_MAX 64
int verify_read_begin(struct verify *v, uint64_t off, size_t len);
void verify_read_end(struct verify *v, int slot);

/* The second download's verdict: rc its result (0: it completed), crc the
 * CRC64NVME (crc.h) of its bytes and len their count. Same bytes as the
 * first delivery: VERIFY_GOOD and 0. Different bytes: VERIFY_BAD and -EIO.
 * rc < 0 (no verdict possible): VERIFY_BAD and rc. */
int verify_decide(struct verify *v, int rc, uint64_t crc, uint64_t len);

/* Stops an ETag check for good (VERIFY_OFF unless the check already ended):
 * the caller learnt that the ETag is no MD5 (an SSE-KMS or SSE-C object,
 * whose GETs say so). A CRC check goes on (a CRC holds whatever the
 * encryption). Returns 1 when the check was stopped by this call. */
int verify_stop(struct verify *v);

/* Once, after the check turned off because the reads did not come in
 * order, why: VERIFY_GAVE_UP_JUMP (a read more than 32 MiB past the hashed
 * prefix: random access) or VERIFY_GAVE_UP_WAIT (a read waited wait_ms for
 * the reads before it: a loaded machine, or a hole the kernel's page cache
 * served); else 0. For the log, so that a sequential read left unchecked is
 * not silent. v may be NULL. */
#define VERIFY_GAVE_UP_JUMP 1
#define VERIFY_GAVE_UP_WAIT 2
int verify_gave_up(struct verify *v);

enum verify_state verify_state(struct verify *v);

#endif
