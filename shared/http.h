/*
 * http.h: HTTP requests through libcurl, the only module that touches libcurl.
 *
 * A struct http_pool owns a set of curl easy handles that share one connection
 * cache (CURLSH), so connections are kept alive and reused across requests and
 * threads; http_perform() borrows a handle, runs one request synchronously and
 * gives it back. Thread-safe.
 *
 * TLS peer and host verification are always on unless the pool was made with
 * insecure=1 (an explicit option, logged at WARN); ca_bundle overrides the CA
 * file. Response headers and error bodies go into capped buffers (untrusted
 * input); a response body goes either into a capped buffer or, when sink is
 * set, straight to the caller in the order received.
 *
 * Errors: http_perform() returns 0 when an HTTP response arrived (whatever its
 * status), or a negative errno for transport failures: -ETIMEDOUT (connect or
 * low-speed timeout), -ECONNRESET (connection dropped mid-transfer, incl. a
 * short body), -ECONNREFUSED, -EHOSTUNREACH (DNS or route), -EPROTO (TLS or
 * protocol error), -ECANCELED (the sink returned an error; its errno is in
 * resp->sink_err), -E2BIG (headers or a buffered body passed their cap),
 * -EINVAL (bad URL), -ENOMEM. Retrying is the caller's business (retry.h).
 *
 * The sink only ever sees the body of a 2xx response; resp->status is already
 * set when it is called. Any other response's body goes to resp->body, so
 * the caller can parse the S3 <Error>. No redirect is followed (S3 redirects
 * mean "wrong region", which the S3 layer handles), and the URL path is sent
 * as is (no dot-segment removal: "a/../b" is a valid S3 key).
 */
#ifndef HTTP_H
#define HTTP_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"

#define HTTP_HEADERS_MAX (64 * 1024)	 /* cap on all response headers */
#define HTTP_BODY_MAX (16 * 1024 * 1024) /* cap on a buffered response body */

struct http_pool_opts {
	const char *ca_bundle;	 /* NULL: system default */
	int insecure;		 /* disable TLS verification (explicit option only) */
	long connect_timeout_ms; /* 0 = 5000 */
	long low_speed_time_s;	 /* abort below 1 KB/s for this long; 0 = 30 */
	long timeout_ms;	 /* whole-request limit; 0 = none */
	int max_handles;	 /* 0 = 32 */
};

struct http_pool;

int http_pool_new(const struct http_pool_opts *opts, struct http_pool **out);
void http_pool_free(struct http_pool *p);

struct http_header {
	const char *name;
	const char *value;
};

typedef int (*http_sink_fn)(void *arg, const void *data, size_t n);

struct http_request {
	const char *method; /* "GET", "PUT", "HEAD", "POST", "DELETE" */
	const char *url;    /* full URL, already percent-encoded */
	const struct http_header *headers;
	size_t nheaders;
	const void *body; /* request body or NULL */
	size_t body_len;
	http_sink_fn sink; /* NULL: body into resp->body (capped) */
	void *sink_arg;
	long timeout_ms; /* 0: the pool's */
	int slow_ok;	 /* the server may think for minutes before or while
			  * answering (CompleteMultipartUpload, CopyObject:
			  * S3 trickles whitespace meanwhile): the low-speed
			  * limit becomes 1 byte/s over 5 minutes */
	int no_proxy;	 /* never go through a proxy from http_proxy and
			  * friends: the instance-metadata and container
			  * credential endpoints are link-local or loopback,
			  * and the SDKs never proxy them */
};

struct http_response {
	long status;	     /* 0 when no response arrived; when the transfer
			      * broke mid-body (http_perform < 0), the status
			      * line of the broken response */
	struct buf headers;  /* raw header block of the final response */
	struct buf body;     /* when no sink, or for non-2xx responses */
	uint64_t body_bytes; /* bytes delivered to the sink or to body */
	int sink_err;	     /* the sink's negative errno, if it stopped us */
};

void http_response_init(struct http_response *r);
void http_response_release(struct http_response *r);
/* Value of a response header (case-insensitive name), copied into out;
 * -ENOENT when absent, -E2BIG when it does not fit. */
int http_response_header(const struct http_response *r, const char *name, char *out, size_t cap);

/* Runs one request. resp must have been initialised; it is reset first, so
 * one response struct can serve every attempt of a retry loop. */
int http_perform(struct http_pool *p, const struct http_request *req, struct http_response *resp);

/* New connections the pool has opened so far (the rest were reused). */
uint64_t http_pool_connects(struct http_pool *p);

/* An HTTP date (RFC 7231: "Sun, 06 Nov 1994 08:49:37 GMT", and the obsolete
 * forms) into *out; -EINVAL when it cannot be parsed. */
int http_parse_date(const char *s, time_t *out);

#endif
