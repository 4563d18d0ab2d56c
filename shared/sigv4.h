/*
 * sigv4.h: AWS Signature Version 4 for HTTP header authorization, as pure
 * functions over strings (no I/O, no clock: the caller passes the time).
 *
 * S3 rules: the canonical URI is the request path as sent, URI-encoded once by
 * sigv4_uri_encode_path() and never normalised ("a//b", "." and ".." stay);
 * other services would double-encode and normalise, selected by the flags.
 * The query string is canonicalised here (split, decoded, re-encoded, sorted).
 * Header names are lower-cased and values trimmed and their inner runs of
 * spaces folded, as the AWS test suite requires.
 *
 * The signed headers are exactly req->headers: the caller includes host,
 * x-amz-date, x-amz-content-sha256 and, with temporary credentials,
 * x-amz-security-token (S3 wants it signed); the signer adds nothing.
 * Duplicate header names are joined with ',' in the order given. A header name
 * must be an HTTP token and a value must not contain CR or LF (-EINVAL).
 * Query values should be encoded by sigv4_uri_encode_query(): '+' is taken
 * literally (not as a space), %XX sequences are decoded and re-encoded.
 *
 * Output is written into caller buffers; -E2BIG when a buffer is too small,
 * -EINVAL on malformed input. Thread-safe (no state). Nothing is logged: the
 * secret, the signing key and the signature never leave the out-params.
 */
#ifndef SIGV4_H
#define SIGV4_H
#include <stddef.h>

#include "buf.h"

#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct sigv4_header {
	const char *name;
	const char *value;
};

struct sigv4_creds {
	const char *access_key;
	const char *secret_key;
	const char *session_token; /* NULL or "" when none */
};

enum sigv4_flags {
	SIGV4_S3 = 0,		      /* S3: no double encoding, no normalisation */
	SIGV4_DOUBLE_ENCODE = 1 << 0, /* other services: encode the path as sent once more */
	SIGV4_NORMALIZE_PATH = 1 << 1 /* other services: remove dot segments and empty ones */
};

struct sigv4_request {
	const char *method;		    /* "GET" */
	const char *path;		    /* path as sent on the wire, e.g. "/bucket/a%20b" */
	const char *query;		    /* raw query without '?', or NULL */
	const struct sigv4_header *headers; /* all headers to sign, incl. host and x-amz-* */
	size_t nheaders;
	const char *payload_hash; /* hex SHA-256 of the body or SIGV4_UNSIGNED_PAYLOAD */
	const char *region;	  /* "us-east-1" */
	const char *service;	  /* "s3" */
	const char *amz_date;	  /* "20150830T123600Z", also sent as x-amz-date */
	int flags;		  /* enum sigv4_flags */
};

/* Builds the canonical request into out (reset first). */
int sigv4_canonical_request(const struct sigv4_request *req, struct buf *out);
/* Builds the string to sign into out (reset first). */
int sigv4_string_to_sign(const struct sigv4_request *req, struct buf *out);
/* Writes the full Authorization header value into out (reset first):
 * "AWS4-HMAC-SHA256 Credential=AK/date/region/service/aws4_request,
 *  SignedHeaders=..., Signature=...". */
int sigv4_authorization(const struct sigv4_request *req, const struct sigv4_creds *creds,
			struct buf *out);

/* The lower-case hex signature alone (65 bytes with NUL), for presigned URLs
 * and tests. */
int sigv4_signature(const struct sigv4_request *req, const struct sigv4_creds *creds, char out[65]);
/* The derived signing key: the HMAC chain over date8 ("YYYYMMDD"), region,
 * service (for aws-chunked signatures and tests); -EINVAL for a secret over
 * 512 bytes. */
int sigv4_signing_key(const char *secret_key, const char *date8, const char *region,
		      const char *service, unsigned char out[32]);

/* Percent-encodes an S3 object key for use in a URL path: unreserved characters
 * (A-Z a-z 0-9 - . _ ~) and '/' stay, every other byte becomes %XX (upper-case
 * hex). APPENDS to out (so a path can be built piecewise: "/bucket/" + key). */
int sigv4_uri_encode_path(const char *key, struct buf *out);
/* Percent-encodes a query parameter name or value (also encodes '/');
 * APPENDS to out. */
int sigv4_uri_encode_query(const char *s, struct buf *out);
/* "YYYYMMDDTHHMMSSZ" of a UNIX time, into out[17]. */
void sigv4_amz_date(long long unix_time, char out[17]);

#endif
