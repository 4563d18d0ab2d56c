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
 * Output is written into caller buffers; -E2BIG when a buffer is too small,
 * -EINVAL on malformed input. Thread-safe (no state).
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
	SIGV4_S3 = 0,                /* S3: no double encoding, no normalisation */
	SIGV4_DOUBLE_ENCODE = 1 << 0, /* other services: encode the path twice */
	SIGV4_NORMALIZE_PATH = 1 << 1 /* other services: remove dot segments and // */
};

struct sigv4_request {
	const char *method;          /* "GET" */
	const char *path;            /* path as sent on the wire, e.g. "/bucket/a%20b" */
	const char *query;           /* raw query without '?', or NULL */
	const struct sigv4_header *headers; /* all headers to sign, incl. host and x-amz-* */
	size_t nheaders;
	const char *payload_hash;    /* hex SHA-256 of the body or SIGV4_UNSIGNED_PAYLOAD */
	const char *region;          /* "us-east-1" */
	const char *service;         /* "s3" */
	const char *amz_date;        /* "20150830T123600Z", also sent as x-amz-date */
	int flags;                   /* enum sigv4_flags */
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

/* Percent-encodes an S3 object key for use in a URL path: unreserved characters
 * and '/' stay, everything else becomes %XX (upper-case hex). */
int sigv4_uri_encode_path(const char *key, struct buf *out);
/* Percent-encodes a query parameter name or value (also encodes '/'). */
int sigv4_uri_encode_query(const char *s, struct buf *out);
/* "YYYYMMDDTHHMMSSZ" of a UNIX time, into out[17]. */
void sigv4_amz_date(long long unix_time, char out[17]);

#endif
