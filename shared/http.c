/*
 * http.c: see http.h. The only file that includes curl.
 *
 * Connection reuse across threads: every easy handle of a pool is attached to
 * one CURLSH sharing the connection cache, DNS cache and TLS sessions, guarded
 * by one mutex per curl_lock_data. A handle is borrowed for exactly one
 * request; curl_easy_reset() between requests clears options but keeps the
 * share, so a warm connection opened by one thread serves the next request of
 * any thread.
 */
#include "http.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

#define HTTP_RECV_BUFFER (256 * 1024) /* bytes per read from the socket */
#define HTTP_SEND_BUFFER (256 * 1024)

struct http_handle {
	CURL *easy;
	struct http_handle *next; /* idle list; protected by pool->lock */
	char errbuf[CURL_ERROR_SIZE];
};

struct http_pool {
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	pthread_mutex_t lock;
	pthread_cond_t cond;	  /* a handle came back */
	struct http_handle *idle; /* protected by lock */
	int created;		  /* protected by lock */
	int max;
	char *ca_bundle;
	int insecure;
	long connect_timeout_ms;
	long low_speed_time_s;
	long timeout_ms;
	_Atomic uint64_t connects; /* new connections opened (not reused) */
};

/* Per-request state for the callbacks. */
struct http_xfer {
	const struct http_request *req;
	struct http_response *resp;
	size_t upload_pos;
	int overflow; /* a capped buffer was full */
};

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static CURLcode http_global_rc;

static void http_global_init(void)
{
	http_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void http_share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ptr)
{
	struct http_pool *p = ptr;
	(void)h, (void)access;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&p->share_locks[data]);
}

static void http_share_unlock(CURL *h, curl_lock_data data, void *ptr)
{
	struct http_pool *p = ptr;
	(void)h;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&p->share_locks[data]);
}

int http_pool_new(const struct http_pool_opts *opts, struct http_pool **out)
{
	int rc = 0;
	*out = NULL;
	pthread_once(&http_once, http_global_init);
	if (http_global_rc != CURLE_OK)
		return -ENOMEM;
	struct http_pool *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&p->share_locks[i], NULL);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->max = opts && opts->max_handles > 0 ? opts->max_handles : 32;
	p->connect_timeout_ms =
	    opts && opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 5000;
	p->low_speed_time_s = opts && opts->low_speed_time_s > 0 ? opts->low_speed_time_s : 30;
	p->timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : 0;
	p->insecure = opts ? opts->insecure : 0;
	if (opts && opts->ca_bundle) {
		p->ca_bundle = strdup(opts->ca_bundle);
		if (!p->ca_bundle) {
			rc = -ENOMEM;
			goto out;
		}
	}
	if (p->insecure)
		log_warn("http: TLS certificate verification is DISABLED (insecure option)");
	p->share = curl_share_init();
	if (!p->share) {
		rc = -ENOMEM;
		goto out;
	}
	if (curl_share_setopt(p->share, CURLSHOPT_LOCKFUNC, http_share_lock) ||
	    curl_share_setopt(p->share, CURLSHOPT_UNLOCKFUNC, http_share_unlock) ||
	    curl_share_setopt(p->share, CURLSHOPT_USERDATA, p) ||
	    curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) ||
	    curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) ||
	    curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION)) {
		rc = -EINVAL;
		goto out;
	}
	*out = p;
	p = NULL;
out:
	http_pool_free(p);
	return rc;
}

void http_pool_free(struct http_pool *p)
{
	if (!p)
		return;
	/* Every handle must be back: the pool is freed after the last request. */
	while (p->idle) {
		struct http_handle *h = p->idle;
		p->idle = h->next;
		curl_easy_cleanup(h->easy);
		free(h);
	}
	if (p->share)
		curl_share_cleanup(p->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&p->share_locks[i]);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p->ca_bundle);
	free(p);
}

static struct http_handle *http_borrow(struct http_pool *p)
{
	pthread_mutex_lock(&p->lock);
	while (!p->idle && p->created >= p->max)
		pthread_cond_wait(&p->cond, &p->lock);
	struct http_handle *h = p->idle;
	if (h) {
		p->idle = h->next;
		pthread_mutex_unlock(&p->lock);
		return h;
	}
	p->created++;
	pthread_mutex_unlock(&p->lock);
	h = calloc(1, sizeof(*h));
	if (h)
		h->easy = curl_easy_init();
	if (!h || !h->easy) {
		free(h);
		pthread_mutex_lock(&p->lock);
		p->created--;
		pthread_cond_signal(&p->cond);
		pthread_mutex_unlock(&p->lock);
		return NULL;
	}
	return h;
}

static void http_give_back(struct http_pool *p, struct http_handle *h)
{
	pthread_mutex_lock(&p->lock);
	h->next = p->idle;
	p->idle = h;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void http_response_init(struct http_response *r)
{
	r->status = 0;
	buf_init(&r->headers, HTTP_HEADERS_MAX);
	buf_init(&r->body, HTTP_BODY_MAX);
	r->body_bytes = 0;
	r->sink_err = 0;
}

void http_response_release(struct http_response *r)
{
	buf_release(&r->headers);
	buf_release(&r->body);
	r->status = 0;
	r->body_bytes = 0;
	r->sink_err = 0;
}

int http_response_header(const struct http_response *r, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);
	const char *p = r->headers.ptr;
	const char *end = p ? p + r->headers.len : NULL;
	while (p && p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		if ((size_t)(eol - p) > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
			const char *v = p + nlen + 1;
			const char *ve = eol;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			size_t vlen = (size_t)(ve - v);
			if (vlen >= cap)
				return -E2BIG;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return 0;
		}
		p = eol + 1;
	}
	return -ENOENT;
}

static size_t http_on_header(char *data, size_t size, size_t n, void *arg)
{
	struct http_xfer *x = arg;
	size_t len = size * n;
	/* A new status line starts a new response (after 100 Continue, or an
	 * interim 1xx): keep only the final response's headers. */
	if (len > 5 && memcmp(data, "HTTP/", 5) == 0) {
		buf_reset(&x->resp->headers);
		const char *sp = memchr(data, ' ', len);
		long st = 0;
		for (const char *c = sp ? sp + 1 : data + len;
		     c < data + len && *c >= '0' && *c <= '9' && st < 1000; c++)
			st = st * 10 + (*c - '0');
		x->resp->status = st;
	}
	if (buf_add(&x->resp->headers, data, len)) {
		x->overflow = 1;
		return 0;
	}
	return len;
}

static size_t http_on_body(char *data, size_t size, size_t n, void *arg)
{
	struct http_xfer *x = arg;
	struct http_response *r = x->resp;
	size_t len = size * n;
	if (x->req->sink && r->status >= 200 && r->status < 300) {
		int rc = x->req->sink(x->req->sink_arg, data, len);
		if (rc) {
			r->sink_err = rc < 0 ? rc : -EIO;
			return 0;
		}
	} else if (buf_add(&r->body, data, len)) {
		x->overflow = 1;
		return 0;
	}
	r->body_bytes += len;
	return len;
}

static size_t http_on_read(char *out, size_t size, size_t n, void *arg)
{
	struct http_xfer *x = arg;
	size_t left = x->req->body_len - x->upload_pos;
	size_t len = size * n;
	if (len > left)
		len = left;
	if (len)
		memcpy(out, (const char *)x->req->body + x->upload_pos, len);
	x->upload_pos += len;
	return len;
}

/* curl rewinds the upload when it must resend it on a fresh connection. */
static int http_on_seek(void *arg, curl_off_t off, int origin)
{
	struct http_xfer *x = arg;
	if (origin != SEEK_SET || off < 0 || (uint64_t)off > x->req->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	x->upload_pos = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

static int http_map_error(CURLcode c, const struct http_xfer *x)
{
	switch (c) {
	case CURLE_OK:
		return 0;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2_STREAM:
		return -ECONNRESET;
	case CURLE_WRITE_ERROR:
		if (x->resp->sink_err)
			return -ECANCELED;
		return x->overflow ? -E2BIG : -EIO;
	case CURLE_ABORTED_BY_CALLBACK:
		return -ECANCELED;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EINVAL;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_HTTP2:
		return -EPROTO;
	default:
		return x->overflow ? -E2BIG : -EIO;
	}
}

#define HTTP_SET(e, opt, val)                                                                      \
	do {                                                                                       \
		if (curl_easy_setopt((e), (opt), (val)) != CURLE_OK) {                             \
			rc = -EINVAL;                                                              \
			goto out;                                                                  \
		}                                                                                  \
	} while (0)

int http_perform(struct http_pool *p, const struct http_request *req, struct http_response *resp)
{
	int rc = 0;
	struct curl_slist *hdrs = NULL;
	struct http_xfer x = {.req = req, .resp = resp};
	struct buf line;
	buf_init(&line, 16 * 1024);

	buf_reset(&resp->headers);
	buf_reset(&resp->body);
	resp->status = 0;
	resp->body_bytes = 0;
	resp->sink_err = 0;

	struct http_handle *h = http_borrow(p);
	if (!h)
		return -ENOMEM;
	CURL *e = h->easy;
	curl_easy_reset(e);
	h->errbuf[0] = '\0';

	int have_ctype = 0;
	for (size_t i = 0; i < req->nheaders; i++) {
		buf_reset(&line);
		/* "Name;" is curl's way to send a header with an empty value. */
		if (req->headers[i].value[0])
			rc = buf_addf(&line, "%s: %s", req->headers[i].name, req->headers[i].value);
		else
			rc = buf_addf(&line, "%s;", req->headers[i].name);
		if (rc)
			goto out;
		struct curl_slist *n = curl_slist_append(hdrs, line.ptr);
		if (!n) {
			rc = -ENOMEM;
			goto out;
		}
		hdrs = n;
		if (strcasecmp(req->headers[i].name, "Content-Type") == 0)
			have_ctype = 1;
	}
	/* No "Expect: 100-continue" round trip before each part upload, and
	 * no made-up form Content-Type on a POST. */
	static const char *const extra[] = {"Expect:", "Content-Type:"};
	for (size_t i = 0; i < (have_ctype ? 1u : 2u); i++) {
		struct curl_slist *n = curl_slist_append(hdrs, extra[i]);
		if (!n) {
			rc = -ENOMEM;
			goto out;
		}
		hdrs = n;
	}

	HTTP_SET(e, CURLOPT_URL, req->url);
	HTTP_SET(e, CURLOPT_SHARE, p->share);
	HTTP_SET(e, CURLOPT_NOSIGNAL, 1L);
	HTTP_SET(e, CURLOPT_PATH_AS_IS, 1L);
	HTTP_SET(e, CURLOPT_PROTOCOLS_STR, "http,https");
	HTTP_SET(e, CURLOPT_FOLLOWLOCATION, 0L);
	HTTP_SET(e, CURLOPT_NOPROXY, req->no_proxy ? "*" : NULL);
	HTTP_SET(e, CURLOPT_CONNECTTIMEOUT_MS, p->connect_timeout_ms);
	HTTP_SET(e, CURLOPT_LOW_SPEED_LIMIT, req->slow_ok ? 1L : 1024L);
	HTTP_SET(e, CURLOPT_LOW_SPEED_TIME,
		 req->slow_ok && p->low_speed_time_s < 300 ? 300L : p->low_speed_time_s);
	HTTP_SET(e, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : p->timeout_ms);
	HTTP_SET(e, CURLOPT_TCP_KEEPALIVE, 1L);
	/* HTTP/1.1 only: S3 speaks nothing else, and parallelism comes from
	 * several kept-alive connections, not from streams on one. */
	HTTP_SET(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	/* The cache of idle connections is shared, but each transfer trims it to
	 * its own MAXCONNECTS (default 5) when it finishes: size it for the
	 * whole pool, or parallel requests would keep closing warm ones. */
	HTTP_SET(e, CURLOPT_MAXCONNECTS, (long)p->max);
	HTTP_SET(e, CURLOPT_BUFFERSIZE, (long)HTTP_RECV_BUFFER);
	HTTP_SET(e, CURLOPT_UPLOAD_BUFFERSIZE, (long)HTTP_SEND_BUFFER);
	HTTP_SET(e, CURLOPT_SSL_VERIFYPEER, p->insecure ? 0L : 1L);
	HTTP_SET(e, CURLOPT_SSL_VERIFYHOST, p->insecure ? 0L : 2L);
	if (p->ca_bundle)
		HTTP_SET(e, CURLOPT_CAINFO, p->ca_bundle);
	HTTP_SET(e, CURLOPT_ERRORBUFFER, h->errbuf);
	HTTP_SET(e, CURLOPT_HEADERFUNCTION, http_on_header);
	HTTP_SET(e, CURLOPT_HEADERDATA, &x);
	HTTP_SET(e, CURLOPT_WRITEFUNCTION, http_on_body);
	HTTP_SET(e, CURLOPT_WRITEDATA, &x);
	HTTP_SET(e, CURLOPT_HTTPHEADER, hdrs);

	const char *m = req->method;
	if (strcmp(m, "GET") == 0) {
		HTTP_SET(e, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(m, "HEAD") == 0) {
		HTTP_SET(e, CURLOPT_NOBODY, 1L);
	} else if (strcmp(m, "PUT") == 0) {
		HTTP_SET(e, CURLOPT_UPLOAD, 1L);
		HTTP_SET(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
		HTTP_SET(e, CURLOPT_READFUNCTION, http_on_read);
		HTTP_SET(e, CURLOPT_READDATA, &x);
		HTTP_SET(e, CURLOPT_SEEKFUNCTION, http_on_seek);
		HTTP_SET(e, CURLOPT_SEEKDATA, &x);
	} else if (strcmp(m, "POST") == 0) {
		HTTP_SET(e, CURLOPT_POST, 1L);
		HTTP_SET(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		HTTP_SET(e, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
	} else {
		HTTP_SET(e, CURLOPT_CUSTOMREQUEST, m);
	}

	CURLcode cc = curl_easy_perform(e);
	rc = http_map_error(cc, &x);
	long nc = 0;
	if (curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &nc) == CURLE_OK && nc > 0)
		atomic_fetch_add_explicit(&p->connects, (uint64_t)nc, memory_order_relaxed);
	if (cc == CURLE_OK) {
		long st = 0;
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &st);
		resp->status = st;
	} else {
		/* The URL names bucket and key, never credentials; the error
		 * buffer holds curl's own message. */
		const char *why = h->errbuf[0] ? h->errbuf : curl_easy_strerror(cc);
		/* A TLS failure is a configuration problem (a private CA, a
		 * wrong host name), not a passing fault: say so at warn level
		 * with curl's text, which names the certificate problem. */
		if (rc == -EPROTO)
			log_warn("http: %s %s: TLS failed: %s", m, req->url, why);
		else
			log_debug("http: %s %s: curl %d (%s) -> %d", m, req->url, (int)cc, why, rc);
		/* resp->status keeps the status line seen, if any: the caller
		 * tells a broken 206 (resume it) from a broken error body. */
	}
out:
	/* Drop our pointers into this call's stack before the handle idles. */
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
	http_give_back(p, h);
	curl_slist_free_all(hdrs);
	buf_release(&line);
	return rc;
}

uint64_t http_pool_connects(struct http_pool *p)
{
	return atomic_load_explicit(&p->connects, memory_order_relaxed);
}

int http_parse_date(const char *s, time_t *out)
{
	time_t t = curl_getdate(s, NULL);
	if (t == (time_t)-1)
		return -EINVAL;
	*out = t;
	return 0;
}
