/*
 * s3.c: see s3.h. Every operation is a struct s3_op (method, key, query,
 * extra headers, body) handed to s3_exec(), the one place that addresses,
 * signs, sends, classifies (s3err.h) and retries (retry.h). The operations
 * themselves only build their request and parse their answer (s3xml.h).
 *
 * Secrets: the credentials copy, the Authorization value and the session
 * token live in s3_exec()'s locals only and are never passed to the log; what
 * is logged is the operation, bucket, key, HTTP status, S3 code and request id.
 */
#include "s3.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "crypto.h"
#include "http.h"
#include "log.h"
#include "mpulayout.h"
#include "retry.h"
#include "s3err.h"
#include "s3hdr.h"
#include "s3xml.h"
#include "sigv4.h"

#define S3_OP_HDRS 24	 /* extra headers of one request */
#define S3_HNAME_MAX 160 /* an x-amz-meta-* header name we build */
#define S3_REGION_MAX 64
#define S3_MAX_REDIRECTS 2 /* region changes followed per request */
#define S3_MAX_RESUMES 64  /* stream resumes that made progress, per call */
#define S3_COPY_LIMIT (5ull << 30)
#define S3_COPY_THREADS 4
#define S3_DELETE_BATCH 1000

struct s3_client {
	char *bucket;
	char *endpoint; /* "scheme://authority[/base]" without trailing
			 * '/', or NULL for AWS */
	int path_style;
	int unsigned_payload;
	struct retry_policy retry;
	uint64_t op_timeout_ms;	 /* 0 = no deadline per call */
	uint64_t copy_threshold; /* bytes */
	uint64_t copy_part_size; /* bytes; 0 = auto */
	struct http_pool *http;
	struct creds_provider *creds;
	struct s3hdr *hdr; /* the option headers of each request kind */
	pthread_mutex_t region_lock;
	char region[S3_REGION_MAX]; /* protected by region_lock */
	_Atomic uint64_t seed;	    /* per-call jitter seeds */
	_Atomic uint64_t n_requests, n_retries, n_errors, n_not_found, n_down, n_up;
};

struct s3_op {
	const char *name;   /* "GetObject": for logs */
	enum s3hdr_op kind; /* which option headers it carries (s3hdr.h) */
	const char *method;
	const char *key;   /* NULL: the bucket itself */
	const char *query; /* raw query, values already encoded; or NULL */
	struct http_header hdrs[S3_OP_HDRS];
	size_t nhdrs;
	char hname[S3_OP_HDRS][S3_HNAME_MAX]; /* storage for built header names */
	const void *body;
	size_t body_len;
	int content_md5; /* send Content-MD5 of the body */
	http_sink_fn sink;
	void *sink_arg;
	int error_in_200;	 /* a 200 may carry <Error> (Complete, Copy) */
	int quiet_enoent;	 /* -ENOENT is an expected answer: log at debug */
	int no_retry_after_data; /* failure after the sink saw bytes: return it raw */
	int attempts;		 /* out: tries made */
	int slow_ok;		 /* the server may take minutes (http.h) */
	uint64_t deadline_ms;	 /* CLOCK_MONOTONIC ms the call must end by; 0 =
				  * none. s3_exec sets it from op_timeout_ms unless
				  * the caller did (a GET's resumes share one) */
};

static int s3_part_copy(struct s3_client *c, const char *key, const char *upload_id,
			int part_number, const char *src_key, uint64_t off, uint64_t len,
			const char *src_etag, char etag[S3_ETAG_MAX]);

static int s3_op_header(struct s3_op *op, const char *name, const char *value)
{
	if (op->nhdrs >= S3_OP_HDRS)
		return -E2BIG;
	op->hdrs[op->nhdrs].name = name;
	op->hdrs[op->nhdrs].value = value;
	op->nhdrs++;
	return 0;
}

/* ---- client ---- */

static void s3_copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void s3_region_get(struct s3_client *c, char out[S3_REGION_MAX])
{
	pthread_mutex_lock(&c->region_lock);
	memcpy(out, c->region, S3_REGION_MAX);
	pthread_mutex_unlock(&c->region_lock);
}

static int s3_region_valid(const char *r)
{
	size_t n = strlen(r);
	if (n == 0 || n >= S3_REGION_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= '0' && r[i] <= '9') || r[i] == '-'))
			return 0;
	return 1;
}

int s3_client_new(const struct s3_config *cfg, struct s3_client **out)
{
	int rc = 0;
	*out = NULL;
	if (!cfg->bucket || !cfg->bucket[0] || strchr(cfg->bucket, '/'))
		return -EINVAL;
	struct s3_client *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->region_lock, NULL);
	c->bucket = strdup(cfg->bucket);
	if (!c->bucket) {
		rc = -ENOMEM;
		goto out;
	}
	if (cfg->endpoint && cfg->endpoint[0]) {
		if (!strstr(cfg->endpoint, "://")) {
			log_error("s3: endpoint %s: needs a scheme (http:// or https://)",
				  cfg->endpoint);
			rc = -EINVAL;
			goto out;
		}
		c->endpoint = strdup(cfg->endpoint);
		if (!c->endpoint) {
			rc = -ENOMEM;
			goto out;
		}
		size_t n = strlen(c->endpoint);
		while (n && c->endpoint[n - 1] == '/')
			c->endpoint[--n] = '\0';
	}
	c->path_style = cfg->path_style;
	/* A dotted bucket name cannot be a TLS host label under a wildcard
	 * certificate: address it path-style. */
	if (!c->path_style && strchr(c->bucket, '.') &&
	    (!c->endpoint || strncmp(c->endpoint, "https://", 8) == 0)) {
		log_info("s3: bucket %s has dots: using path-style addressing", c->bucket);
		c->path_style = 1;
	}
	c->unsigned_payload = cfg->unsigned_payload;
	c->retry.base_ms = RETRY_DEFAULT_BASE_MS;
	c->retry.cap_ms = RETRY_DEFAULT_CAP_MS;
	c->retry.max_retries = cfg->max_retries == 0  ? RETRY_DEFAULT_MAX
			       : cfg->max_retries < 0 ? -1
						      : cfg->max_retries;
	c->op_timeout_ms = cfg->op_timeout_ms > 0 ? (uint64_t)cfg->op_timeout_ms : 0;
	c->copy_threshold =
	    cfg->copy_multipart_threshold && cfg->copy_multipart_threshold < S3_COPY_LIMIT
		? cfg->copy_multipart_threshold
		: S3_COPY_LIMIT;
	c->copy_part_size = cfg->copy_part_size;

	const char *region = cfg->region;
	char prof_region[S3_REGION_MAX];
	if (!region || !region[0])
		region = getenv("AWS_REGION");
	if (!region || !region[0])
		region = getenv("AWS_DEFAULT_REGION");
	if ((!region || !region[0]) &&
	    creds_profile_region(cfg->creds.profile, prof_region, sizeof(prof_region)) == 0)
		region = prof_region;
	if (!region || !region[0])
		region = "us-east-1";
	if (!s3_region_valid(region)) {
		log_error("s3: invalid region '%s'", region);
		rc = -EINVAL;
		goto out;
	}
	s3_copy_str(c->region, sizeof(c->region), region);
	atomic_store(&c->seed, (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)c);

	struct http_pool_opts ho = {
	    .ca_bundle = cfg->ca_bundle,
	    .insecure = cfg->insecure_skip_verify,
	    .connect_timeout_ms = cfg->connect_timeout_ms,
	    .low_speed_time_s = cfg->low_speed_time_s,
	    .max_handles = cfg->max_connections,
	};
	rc = http_pool_new(&ho, &c->http);
	if (rc)
		goto out;
	rc = s3hdr_new(&cfg->hdr, &c->hdr);
	if (rc) {
		log_error("s3: invalid encryption, storage class or owner settings");
		goto out;
	}
	rc = creds_provider_new(&cfg->creds, &c->creds);
	if (rc) {
		log_error("s3: no usable credentials (%s)", strerror(-rc));
		goto out;
	}
	log_debug("s3: bucket %s region %s endpoint %s %s", c->bucket, c->region,
		  c->endpoint ? c->endpoint : "(aws)",
		  c->path_style ? "path-style" : "virtual-host");
	*out = c;
	c = NULL;
out:
	s3_client_free(c);
	return rc;
}

void s3_client_free(struct s3_client *c)
{
	if (!c)
		return;
	creds_provider_free(c->creds);
	s3hdr_free(c->hdr);
	http_pool_free(c->http);
	pthread_mutex_destroy(&c->region_lock);
	free(c->endpoint);
	free(c->bucket);
	free(c);
}

void s3_client_stats(struct s3_client *c, struct s3_stats *out)
{
	out->requests = atomic_load_explicit(&c->n_requests, memory_order_relaxed);
	out->retries = atomic_load_explicit(&c->n_retries, memory_order_relaxed);
	out->errors = atomic_load_explicit(&c->n_errors, memory_order_relaxed);
	out->not_found = atomic_load_explicit(&c->n_not_found, memory_order_relaxed);
	out->bytes_down = atomic_load_explicit(&c->n_down, memory_order_relaxed);
	out->bytes_up = atomic_load_explicit(&c->n_up, memory_order_relaxed);
	out->connects = http_pool_connects(c->http);
}

/* ---- addressing ---- */

/* url = scheme://authority + path [+ ? query]; host = authority; path = the
 * encoded path as sent (and signed). */
static int s3_build_url(const struct s3_client *c, const char *region, const char *key,
			const char *query, struct buf *url, struct buf *host, struct buf *path)
{
	int rc;
	const char *scheme = "https", *auth = NULL, *base = "";
	size_t scheme_len = 5, auth_len = 0;
	char aws_host[128];
	buf_reset(url);
	buf_reset(host);
	buf_reset(path);
	if (c->endpoint) {
		const char *sep = strstr(c->endpoint, "://");
		scheme = c->endpoint;
		scheme_len = (size_t)(sep - c->endpoint);
		auth = sep + 3;
		const char *slash = strchr(auth, '/');
		auth_len = slash ? (size_t)(slash - auth) : strlen(auth);
		base = slash ? slash : "";
	} else {
		snprintf(aws_host, sizeof(aws_host), "s3.%s.amazonaws.com", region);
		auth = aws_host;
		auth_len = strlen(aws_host);
	}
	if (!c->path_style) {
		rc = buf_addstr(host, c->bucket);
		if (!rc)
			rc = buf_addch(host, '.');
		if (rc)
			return rc;
	}
	rc = buf_add(host, auth, auth_len);
	if (!rc)
		rc = buf_addstr(path, base);
	if (!rc && c->path_style)
		rc = buf_addf(path, "/%s", c->bucket);
	if (!rc && (key || !c->path_style))
		rc = buf_addch(path, '/');
	if (!rc && key)
		rc = sigv4_uri_encode_path(key, path);
	if (!rc)
		rc = buf_add(url, scheme, scheme_len);
	if (!rc)
		rc = buf_addf(url, "://%s%s", host->ptr, path->ptr);
	if (!rc && query && query[0])
		rc = buf_addf(url, "?%s", query);
	return rc;
}

/* Appends "&name=encoded(value)" (or without '&' at the start). */
static int s3_query_add(struct buf *q, const char *name, const char *value)
{
	int rc = 0;
	if (q->len)
		rc = buf_addch(q, '&');
	if (!rc)
		rc = buf_addstr(q, name);
	if (!rc && value) {
		rc = buf_addch(q, '=');
		if (!rc)
			rc = sigv4_uri_encode_query(value, q);
	}
	return rc;
}

/* ---- the one request loop ---- */

static void s3_sleep_ms(uint64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static uint64_t s3_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The deadline of a call starting now, or 0 when the client has none. */
static uint64_t s3_deadline(const struct s3_client *c)
{
	return c->op_timeout_ms ? s3_now_ms() + c->op_timeout_ms : 0;
}

static int s3_log_level_for(const struct s3_op *op, int err)
{
	if (err == -ENOENT && op->quiet_enoent)
		return LOG_LVL_DEBUG;
	if (err == -ESTALE || err == -ERANGE || err == -EEXIST)
		return LOG_LVL_INFO;
	return LOG_LVL_ERROR;
}

/* The ms left before op's deadline into *left_ms (0 when it has none), or
 * -ETIMEDOUT, logged and counted, when it has passed. */
static int s3_deadline_left(struct s3_client *c, const struct s3_op *op, const char *lkey,
			    long *left_ms)
{
	*left_ms = 0;
	if (!op->deadline_ms)
		return 0;
	uint64_t now = s3_now_ms();
	if (now >= op->deadline_ms) {
		atomic_fetch_add_explicit(&c->n_errors, 1, memory_order_relaxed);
		log_error("s3: %s %s/%s: deadline (op_timeout %" PRIu64
			  " ms) passed after %d tries -> %s",
			  op->name, c->bucket, lkey, c->op_timeout_ms, op->attempts,
			  strerror(ETIMEDOUT));
		return -ETIMEDOUT;
	}
	*left_ms = (long)(op->deadline_ms - now);
	return 0;
}

static int s3_exec(struct s3_client *c, struct s3_op *op, struct http_response *resp)
{
	int rc;
	char payload_hash[2 * CRYPTO_SHA256_LEN + 1];
	char md5_b64[32];
	char region[S3_REGION_MAX], amz_date[17];
	struct buf url, host, path, auth;
	struct creds cr;
	struct http_header hv[S3_OP_HDRS + S3HDR_MAX + 8];
	struct sigv4_header sh[S3_OP_HDRS + S3HDR_MAX + 8];
	int refreshed = 0, redirects = 0;
	uint64_t rnd = atomic_fetch_add(&c->seed, 0x9e3779b97f4a7c15ull);
	char lkey_buf[LOG_KEY_BUF];
	const char *lkey = log_key(op->key, lkey_buf);

	buf_init(&url, 16 * 1024);
	buf_init(&host, 1024);
	buf_init(&path, 12 * 1024);
	buf_init(&auth, 4096);
	memset(&cr, 0, sizeof(cr));
	op->attempts = 0;
	/* Operations S3 may legitimately think about for minutes keep only
	 * their low-speed limit: a deadline would fail a commit that works. */
	if (!op->deadline_ms && !op->slow_ok)
		op->deadline_ms = s3_deadline(c);

	if (!op->body_len)
		s3_copy_str(payload_hash, sizeof(payload_hash), SIGV4_EMPTY_SHA256);
	else if (c->unsigned_payload && op->content_md5)
		/* Only a body that carries Content-MD5 (signed below) goes
		 * unhashed: S3 still checks every byte, with one pass less
		 * here and on the server (SHA-256 was ~1/4 of the mount's
		 * CPU when writing). */
		s3_copy_str(payload_hash, sizeof(payload_hash), SIGV4_UNSIGNED_PAYLOAD);
	else {
		uint8_t d[CRYPTO_SHA256_LEN];
		crypto_sha256(op->body, op->body_len, d);
		crypto_hex(d, sizeof(d), payload_hash);
	}
	if (op->content_md5) {
		uint8_t m[CRYPTO_MD5_LEN];
		crypto_md5(op->body ? op->body : "", op->body_len, m);
		crypto_base64(m, sizeof(m), md5_b64);
	}

	for (int attempt = 0;; op->attempts++) {
		s3_region_get(c, region);
		rc = s3_build_url(c, region, op->key, op->query, &url, &host, &path);
		if (rc)
			goto out;
		long left_ms = 0; /* of the deadline; 0 = none */
		rc = s3_deadline_left(c, op, lkey, &left_ms);
		if (rc)
			goto out;
		rc = creds_get(c->creds, &cr);
		if (rc == -EIO && retry_allowed(&c->retry, attempt)) {
			/* The source of our credentials did not answer: transient,
			 * like a 503. The delay is at least CREDS_RETRY_MS, the
			 * least time before creds_get() asks the source again;
			 * a shorter one would retry on the same failure. */
			uint64_t ms = retry_delay_ms(&c->retry, attempt, retry_rand_splitmix, &rnd);
			if (ms < CREDS_RETRY_MS)
				ms = CREDS_RETRY_MS;
			if (op->deadline_ms) {
				uint64_t now = s3_now_ms();
				uint64_t left = op->deadline_ms > now ? op->deadline_ms - now : 0;
				if (ms > left)
					ms = left;
			}
			log_info("s3: %s %s/%s: no credentials from %s (%s): retry %d in %" PRIu64
				 " ms",
				 op->name, c->bucket, lkey, creds_source_name(c->creds),
				 strerror(-rc), attempt + 1, ms);
			atomic_fetch_add_explicit(&c->n_retries, 1, memory_order_relaxed);
			s3_sleep_ms(ms);
			attempt++;
			continue;
		}
		if (rc) {
			/* -EIO or -EACCES (creds.h), never -ENOENT: no answer
			 * about the object may be made up from it */
			atomic_fetch_add_explicit(&c->n_errors, 1, memory_order_relaxed);
			log_error("s3: %s %s/%s: no credentials from %s after %d tries -> %s",
				  op->name, c->bucket, lkey, creds_source_name(c->creds),
				  op->attempts + 1, strerror(-rc));
			goto out;
		}
		/* again: a refresh of the credentials may have taken a while */
		rc = s3_deadline_left(c, op, lkey, &left_ms);
		if (rc)
			goto out;
		sigv4_amz_date((long long)time(NULL), amz_date);

		size_t n = 0;
		hv[n++] = (struct http_header){"Host", host.ptr};
		if (!cr.anonymous) {
			hv[n++] = (struct http_header){"x-amz-content-sha256", payload_hash};
			hv[n++] = (struct http_header){"x-amz-date", amz_date};
			if (cr.session_token[0])
				hv[n++] =
				    (struct http_header){"x-amz-security-token", cr.session_token};
		}
		if (op->content_md5)
			hv[n++] = (struct http_header){"Content-MD5", md5_b64};
		for (size_t i = 0; i < op->nhdrs; i++)
			hv[n++] = op->hdrs[i];
		n += s3hdr_for(c->hdr, op->kind, hv + n);
		if (!cr.anonymous) {
			/* Sign every header we send. */
			for (size_t i = 0; i < n; i++)
				sh[i] = (struct sigv4_header){hv[i].name, hv[i].value};
			const char *q = op->query && op->query[0] ? op->query : NULL;
			struct sigv4_request sr = {
			    .method = op->method,
			    .path = path.ptr,
			    .query = q,
			    .headers = sh,
			    .nheaders = n,
			    .payload_hash = payload_hash,
			    .region = region,
			    .service = "s3",
			    .amz_date = amz_date,
			    .flags = SIGV4_S3,
			};
			struct sigv4_creds sc = {cr.access_key, cr.secret_key, cr.session_token};
			rc = sigv4_authorization(&sr, &sc, &auth);
			if (rc) {
				log_error("s3: %s %s/%s: signing failed (%s)", op->name, c->bucket,
					  lkey, strerror(-rc));
				goto out;
			}
			hv[n++] = (struct http_header){"Authorization", auth.ptr};
		}
		struct http_request hr = {
		    .method = op->method,
		    .url = url.ptr,
		    .headers = hv,
		    .nheaders = n,
		    .body = op->body,
		    .body_len = op->body_len,
		    .sink = op->sink,
		    .sink_arg = op->sink_arg,
		    .slow_ok = op->slow_ok,
		    .timeout_ms = left_ms, /* the try ends at the deadline */
		};
		int trc = http_perform(c->http, &hr, resp);
		atomic_fetch_add_explicit(&c->n_requests, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&c->n_down, resp->body_bytes, memory_order_relaxed);
		if (trc == 0 && op->body_len)
			atomic_fetch_add_explicit(&c->n_up, op->body_len, memory_order_relaxed);

		struct s3xml_error e;
		memset(&e, 0, sizeof(e));
		if (trc == 0 && resp->status >= 200 && resp->status < 300) {
			if (!op->error_in_200 || !resp->body.len ||
			    s3xml_parse_error(resp->body.ptr, resp->body.len, &e) != 0) {
				log_debug("s3: %s %s/%s: HTTP %ld", op->name, c->bucket, lkey,
					  resp->status);
				rc = 0;
				goto out;
			}
			/* A 200 whose body is <Error>: a failure like any other. */
		} else if (trc == 0 && resp->body.len) {
			(void)s3xml_parse_error(resp->body.ptr, resp->body.len, &e);
		}
		if (trc == -ECANCELED && resp->sink_err) {
			rc = resp->sink_err; /* the caller's sink stopped us */
			goto out;
		}
		if (trc && op->no_retry_after_data && resp->body_bytes && resp->status >= 200 &&
		    resp->status < 300) {
			rc = trc; /* the streaming caller resumes from where it got */
			goto out;
		}
		if (!e.request_id[0])
			(void)http_response_header(resp, "x-amz-request-id", e.request_id,
						   sizeof(e.request_id));
		struct s3err_class k = s3err_classify(trc ? 0 : resp->status, e.code, trc);
		const char *what = trc ? strerror(-trc) : e.code[0] ? e.code : "(no S3 code)";

		if (k.action == S3ERR_REGION && redirects < S3_MAX_REDIRECTS) {
			char nr[S3_REGION_MAX] = "";
			if (http_response_header(resp, "x-amz-bucket-region", nr, sizeof(nr)) != 0)
				s3_copy_str(nr, sizeof(nr),
					    e.region[0] ? e.region : e.bucket_region);
			if (nr[0] && s3_region_valid(nr) && strcmp(nr, region) != 0) {
				pthread_mutex_lock(&c->region_lock);
				s3_copy_str(c->region, sizeof(c->region), nr);
				pthread_mutex_unlock(&c->region_lock);
				log_info("s3: bucket %s is in region %s (not %s): retrying there",
					 c->bucket, nr, region);
				redirects++;
				continue;
			}
		}
		if (k.action == S3ERR_REFRESH && !refreshed) {
			log_info("s3: %s %s/%s: %s (rid %s): refreshing credentials", op->name,
				 c->bucket, lkey, what, e.request_id);
			creds_invalidate(c->creds);
			refreshed = 1;
			continue;
		}
		if (k.action == S3ERR_RETRY && retry_allowed(&c->retry, attempt)) {
			uint64_t ms = retry_delay_ms(&c->retry, attempt, retry_rand_splitmix, &rnd);
			/* No sleep past the deadline: the next loop fails at once
			 * (-ETIMEDOUT), so the caller hears at the deadline. */
			if (op->deadline_ms) {
				uint64_t now = s3_now_ms();
				uint64_t left = op->deadline_ms > now ? op->deadline_ms - now : 0;
				if (ms > left)
					ms = left;
			}
			log_info("s3: %s %s/%s: HTTP %ld %s (rid %s): retry %d in %" PRIu64 " ms",
				 op->name, c->bucket, lkey, resp->status, what, e.request_id,
				 attempt + 1, ms);
			atomic_fetch_add_explicit(&c->n_retries, 1, memory_order_relaxed);
			s3_sleep_ms(ms);
			attempt++;
			continue;
		}
		rc = k.err;
		/* a 404 is an answer (the existence probe of every new file gets
		 * one), not a failure: counted apart */
		atomic_fetch_add_explicit(rc == -ENOENT ? &c->n_not_found : &c->n_errors, 1,
					  memory_order_relaxed);
		log_msg((enum log_level)s3_log_level_for(op, rc),
			"s3: %s %s/%s: HTTP %ld %s%s%s (rid %s) after %d tries -> %s", op->name,
			c->bucket, lkey, resp->status, what, e.message[0] ? ": " : "", e.message,
			e.request_id[0] ? e.request_id : "-", op->attempts + 1, strerror(-rc));
		goto out;
	}
out:
	/* Scrub the secrets this call copied; the compiler must not drop it. */
	{
		volatile char *v = (volatile char *)&cr;
		for (size_t i = 0; i < sizeof(cr); i++)
			v[i] = 0;
	}
	if (auth.ptr)
		memset(auth.ptr, 0, auth.len);
	buf_release(&url);
	buf_release(&host);
	buf_release(&path);
	buf_release(&auth);
	return rc;
}

/* ---- response helpers ---- */

/* ETags are kept quoted, as S3 sends them in headers; RGW's copy results
 * carry them bare in the XML, and so does its answer to a retried
 * CompleteMultipartUpload. */
static void s3_etag_quote(char etag[S3_ETAG_MAX])
{
	size_t n = strlen(etag);
	if (n == 0 || etag[0] == '"' || n + 3 > S3_ETAG_MAX)
		return;
	memmove(etag + 1, etag, n);
	etag[0] = '"';
	etag[n + 1] = '"';
	etag[n + 2] = '\0';
}

static int s3_etag_header(const struct http_response *r, char etag[S3_ETAG_MAX])
{
	if (http_response_header(r, "ETag", etag, S3_ETAG_MAX) != 0)
		etag[0] = '\0';
	return 0;
}

static int s3_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* "bytes A-B/TOTAL" with A <= B < TOTAL (a Content-Range of a 206). */
static int s3_parse_content_range(const char *v, uint64_t *a, uint64_t *b, uint64_t *total)
{
	char t[128];
	if (strncmp(v, "bytes ", 6) != 0 || strlen(v) >= sizeof(t))
		return -EINVAL;
	memcpy(t, v + 6, strlen(v + 6) + 1);
	char *dash = strchr(t, '-'), *slash = strchr(t, '/');
	if (!dash || !slash || slash < dash)
		return -EINVAL;
	*dash = *slash = '\0';
	if (s3_parse_u64(t, a) || s3_parse_u64(dash + 1, b) || s3_parse_u64(slash + 1, total) ||
	    *a > *b || *b >= *total)
		return -EINVAL;
	return 0;
}

/* size from Content-Range "bytes a-b/total" when present, else Content-Length. */
static void s3_fill_info(const struct http_response *r, struct s3_object_info *info)
{
	char v[128];
	memset(info, 0, sizeof(*info));
	int have = 0;
	if (http_response_header(r, "Content-Range", v, sizeof(v)) == 0) {
		const char *slash = strchr(v, '/');
		have = slash && s3_parse_u64(slash + 1, &info->size) == 0;
	}
	if (!have && http_response_header(r, "Content-Length", v, sizeof(v)) == 0)
		(void)s3_parse_u64(v, &info->size);
	s3_etag_header(r, info->etag);
	if (http_response_header(r, "Last-Modified", v, sizeof(v)) == 0)
		(void)http_parse_date(v, &info->mtime);
	if (http_response_header(r, "x-amz-meta-" MPU_LAYOUT_META, info->parts_layout,
				 sizeof(info->parts_layout)) != 0)
		info->parts_layout[0] = '\0';
	if (http_response_header(r, "x-amz-meta-" S3_NONCE_META, info->upload_nonce,
				 sizeof(info->upload_nonce)) != 0)
		info->upload_nonce[0] = '\0';
	char sse[64] = "", ssec[64] = "";
	if (http_response_header(r, "x-amz-server-side-encryption", sse, sizeof(sse)) != 0)
		sse[0] = '\0';
	if (http_response_header(r, "x-amz-server-side-encryption-customer-algorithm", ssec,
				 sizeof(ssec)) != 0)
		ssec[0] = '\0';
	info->etag_not_md5 = s3hdr_etag_not_md5(sse, ssec);
}

/* ---- bucket ---- */

int s3_bucket_check(struct s3_client *c)
{
	struct s3_op op = {.name = "HeadBucket", .kind = S3HDR_HEAD_BUCKET, .method = "HEAD"};
	struct http_response r;
	http_response_init(&r);
	int rc = s3_exec(c, &op, &r);
	http_response_release(&r);
	/* A HEAD has no body to say NoSuchBucket; its 404 can mean nothing else. */
	return rc == -ENOENT ? -ENXIO : rc;
}

int s3_bucket_create(struct s3_client *c)
{
	struct s3_op op = {.name = "CreateBucket", .kind = S3HDR_CREATE_BUCKET, .method = "PUT"};
	struct buf body;
	char region[S3_REGION_MAX];
	buf_init(&body, 4096);
	s3_region_get(c, region);
	int rc = s3xml_build_create_bucket(region, &body);
	if (rc)
		goto out;
	op.body = body.ptr;
	op.body_len = body.len;
	struct http_response r;
	http_response_init(&r);
	rc = s3_exec(c, &op, &r);
	http_response_release(&r);
out:
	buf_release(&body);
	return rc;
}

int s3_bucket_delete(struct s3_client *c)
{
	struct s3_op op = {.name = "DeleteBucket", .kind = S3HDR_DELETE_BUCKET, .method = "DELETE"};
	struct http_response r;
	http_response_init(&r);
	int rc = s3_exec(c, &op, &r);
	http_response_release(&r);
	return rc;
}

/* ---- HEAD / GET ---- */

int s3_head(struct s3_client *c, const char *key, struct s3_object_info *info)
{
	struct s3_op op = {.name = "HeadObject",
			   .kind = S3HDR_HEAD_OBJECT,
			   .method = "HEAD",
			   .key = key,
			   .quiet_enoent = 1};
	struct http_response r;
	http_response_init(&r);
	int rc = s3_exec(c, &op, &r);
	if (!rc && info)
		s3_fill_info(&r, info);
	http_response_release(&r);
	return rc;
}

int s3_head_part(struct s3_client *c, const char *key, int part_number, struct s3_part_info *pi)
{
	memset(pi, 0, sizeof(*pi));
	if (part_number < 1 || part_number > S3_MAX_PARTS)
		return -EINVAL;
	char q[32];
	snprintf(q, sizeof(q), "partNumber=%d", part_number);
	struct s3_op op = {.name = "HeadObject",
			   .kind = S3HDR_HEAD_OBJECT,
			   .method = "HEAD",
			   .key = key,
			   .query = q,
			   .quiet_enoent = 1};
	struct http_response r;
	http_response_init(&r);
	int rc = s3_exec(c, &op, &r);
	if (!rc) {
		char v[128];
		uint64_t a, b, n;
		s3_etag_header(&r, pi->etag);
		if (http_response_header(&r, "x-amz-mp-parts-count", v, sizeof(v)) == 0 &&
		    s3_parse_u64(v, &n) == 0 && n >= 1 && n <= S3_MAX_PARTS)
			pi->parts_count = (int)n;
		/* "bytes A-B/TOTAL" locates the part; else only its length is known */
		if (http_response_header(&r, "Content-Range", v, sizeof(v)) == 0 &&
		    s3_parse_content_range(v, &a, &b, &n) == 0) {
			pi->off = a;
			pi->len = b - a + 1;
			pi->size = n;
			pi->have_off = 1;
		} else if (http_response_header(&r, "Content-Length", v, sizeof(v)) == 0) {
			(void)s3_parse_u64(v, &pi->len);
		}
	}
	http_response_release(&r);
	return rc;
}

struct s3_get_ctx {
	s3_sink_fn sink;
	void *arg;
	struct http_response *resp;
	uint64_t delivered; /* bytes passed to sink by this request */
	uint64_t skip;	    /* bytes to drop first (a 200 to a ranged GET) */
	uint64_t want;	    /* bytes still wanted overall; UINT64_MAX = all */
	int got_headers;
	int full_ok;		     /* stopped on purpose: we had all we wanted */
	struct s3_object_info first; /* from the first response that had a body */
};

static int s3_get_sink(void *arg, const void *data, size_t n)
{
	struct s3_get_ctx *g = arg;
	const char *p = data;
	if (!g->got_headers) {
		/* The headers are complete once the body starts: keep them now,
		 * since a transfer that breaks later reports no status. */
		g->got_headers = 1;
		s3_fill_info(g->resp, &g->first);
		/* A server that ignores Range answers 200 with the whole object;
		 * then we skip to our offset (the caller set skip) ourselves. */
		if (g->resp->status == 206)
			g->skip = 0;
	}
	if (g->skip) {
		size_t s = g->skip < n ? (size_t)g->skip : n;
		g->skip -= s;
		p += s;
		n -= s;
	}
	/* More than we asked for (only when the server ignored Range): take
	 * what we want and stop the transfer. An exact end is not cut short,
	 * so the connection stays reusable. */
	int enough = g->want != UINT64_MAX && n > g->want;
	if (enough)
		n = (size_t)g->want;
	if (n) {
		int rc = g->sink(g->arg, p, n);
		if (rc)
			return rc;
		g->delivered += n;
		if (g->want != UINT64_MAX)
			g->want -= n;
	}
	if (enough) {
		g->full_ok = 1;
		return -ECANCELED;
	}
	return 0;
}

static int s3_is_resumable(int rc)
{
	return rc == -ECONNRESET || rc == -ETIMEDOUT || rc == -EIO || rc == -EPROTO;
}

static int s3_get_common(struct s3_client *c, const char *key, uint64_t off, uint64_t len,
			 s3_sink_fn sink, void *arg, const char *if_match,
			 struct s3_object_info *info)
{
	int rc = 0, resumes = 0;
	uint64_t pos = off;
	uint64_t end = len == UINT64_MAX || off + len < off ? UINT64_MAX : off + len;
	char range[64], etag_pin[S3_ETAG_MAX] = "";
	struct s3_object_info first;
	int have_first = 0;
	memset(&first, 0, sizeof(first));
	if (len == 0) {
		if (info)
			memset(info, 0, sizeof(*info));
		return 0;
	}
	if (if_match)
		s3_copy_str(etag_pin, sizeof(etag_pin), if_match);
	uint64_t deadline = s3_deadline(c); /* one for every resume */
	struct http_response r;
	http_response_init(&r);
	for (;;) {
		struct s3_op op = {.name = "GetObject",
				   .kind = S3HDR_GET_OBJECT,
				   .method = "GET",
				   .key = key,
				   .quiet_enoent = 1,
				   .no_retry_after_data = 1,
				   .deadline_ms = deadline};
		struct s3_get_ctx g = {.sink = sink,
				       .arg = arg,
				       .resp = &r,
				       .want = end == UINT64_MAX ? UINT64_MAX : end - pos};
		/* The whole object from 0 is a plain GET: "bytes=0-" on an empty
		 * object would be a 416. */
		if (pos == 0 && end == UINT64_MAX) {
			g.skip = 0;
		} else {
			if (end == UINT64_MAX)
				snprintf(range, sizeof(range), "bytes=%" PRIu64 "-", pos);
			else
				snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, pos,
					 end - 1);
			s3_op_header(&op, "Range", range);
			g.skip = pos; /* used only if the server ignores Range */
		}
		if (etag_pin[0])
			s3_op_header(&op, "If-Match", etag_pin);
		op.sink = s3_get_sink;
		op.sink_arg = &g;
		rc = s3_exec(c, &op, &r);
		if (rc == -ECANCELED && g.full_ok)
			rc = 0;
		if (!have_first && (g.got_headers || rc == 0)) {
			if (g.got_headers)
				first = g.first;
			else
				s3_fill_info(&r, &first); /* a body-less 2xx */
			have_first = 1;
			/* Pin every resume to this version of the object. */
			if (!etag_pin[0] && first.etag[0])
				s3_copy_str(etag_pin, sizeof(etag_pin), first.etag);
		}
		pos += g.delivered;
		if (rc == 0)
			break;
		if (g.delivered && s3_is_resumable(rc) && resumes < S3_MAX_RESUMES &&
		    (end == UINT64_MAX || pos < end) && !(have_first && pos >= first.size)) {
			resumes++;
			atomic_fetch_add_explicit(&c->n_retries, 1, memory_order_relaxed);
			log_info("s3: GetObject %s/%s: connection lost (%s) after %" PRIu64
				 " bytes; resuming at %" PRIu64,
				 c->bucket, LOG_KEY(key), strerror(-rc), g.delivered, pos);
			continue;
		}
		if (g.delivered && s3_is_resumable(rc) && have_first && pos >= first.size) {
			rc = 0; /* dropped right after the last byte */
			break;
		}
		break;
	}
	http_response_release(&r);
	if (!rc && info)
		*info = first;
	return rc;
}

int s3_get_stream(struct s3_client *c, const char *key, uint64_t off, uint64_t len, s3_sink_fn sink,
		  void *arg, struct s3_object_info *info)
{
	return s3_get_common(c, key, off, len, sink, arg, NULL, info);
}

struct s3_buf_sink {
	char *buf;
	size_t cap, got;
};

static int s3_buf_sink_fn(void *arg, const void *data, size_t n)
{
	struct s3_buf_sink *b = arg;
	if (n > b->cap - b->got)
		return -EOVERFLOW; /* the server sent more than we asked for */
	memcpy(b->buf + b->got, data, n);
	b->got += n;
	return 0;
}

int s3_get_range(struct s3_client *c, const char *key, uint64_t off, size_t len, void *buf,
		 size_t *got, const char *if_match, struct s3_object_info *info)
{
	struct s3_buf_sink b = {buf, len, 0};
	*got = 0;
	int rc = s3_get_common(c, key, off, len, s3_buf_sink_fn, &b, if_match, info);
	if (!rc)
		*got = b.got;
	return rc;
}

/* ---- LIST ---- */

void s3_list_page_release(struct s3_list_page *page)
{
	s3xml_list_page_release(page);
}

int s3_list(struct s3_client *c, const struct s3_list_req *req, struct s3_list_page *page)
{
	struct buf q;
	char num[16];
	int rc;
	memset(page, 0, sizeof(*page));
	buf_init(&q, 16 * 1024);
	/* In canonical (sorted) order, though sigv4 sorts anyway. */
	rc = 0;
	if (req->continuation && req->continuation[0])
		rc = s3_query_add(&q, "continuation-token", req->continuation);
	if (!rc && req->delimiter && req->delimiter[0])
		rc = s3_query_add(&q, "delimiter", req->delimiter);
	if (!rc)
		rc = s3_query_add(&q, "encoding-type", "url");
	if (!rc)
		rc = s3_query_add(&q, "list-type", "2");
	if (!rc && req->max_keys > 0) {
		snprintf(num, sizeof(num), "%d", req->max_keys);
		rc = s3_query_add(&q, "max-keys", num);
	}
	if (!rc)
		rc = s3_query_add(&q, "prefix", req->prefix ? req->prefix : "");
	if (!rc && req->start_after && req->start_after[0])
		rc = s3_query_add(&q, "start-after", req->start_after);
	if (rc)
		goto out;
	struct s3_op op = {
	    .name = "ListObjectsV2", .kind = S3HDR_LIST_OBJECTS, .method = "GET", .query = q.ptr};
	struct http_response r;
	http_response_init(&r);
	rc = s3_exec(c, &op, &r);
	if (!rc) {
		long kc;
		rc = s3xml_parse_list_v2(r.body.ptr, r.body.len, page, &kc);
		if (rc)
			log_error("s3: ListObjectsV2 %s prefix=%s: unreadable answer (%s)",
				  c->bucket, LOG_KEY(req->prefix), strerror(-rc));
		else if (kc >= 0 && (size_t)kc != page->nentries + page->nprefixes)
			log_debug("s3: ListObjectsV2 %s: KeyCount %ld, got %zu", c->bucket, kc,
				  page->nentries + page->nprefixes);
	}
	http_response_release(&r);
out:
	buf_release(&q);
	return rc;
}

/* ---- PUT ---- */

/* Adds Content-Type, x-amz-meta-* and If-None-Match from opts. */
static int s3_put_headers(struct s3_op *op, const struct s3_put_opts *opts)
{
	int rc = 0;
	if (!opts)
		return 0;
	if (opts->content_type)
		rc = s3_op_header(op, "Content-Type", opts->content_type);
	if (!rc && opts->if_none_match)
		rc = s3_op_header(op, "If-None-Match", opts->if_none_match);
	for (size_t i = 0; !rc && opts->meta && opts->meta[i]; i += 2) {
		if (!opts->meta[i + 1])
			return -EINVAL;
		if (op->nhdrs >= S3_OP_HDRS)
			return -E2BIG;
		char *hn = op->hname[op->nhdrs];
		int n = snprintf(hn, S3_HNAME_MAX, "x-amz-meta-%s", opts->meta[i]);
		if (n < 0 || n >= S3_HNAME_MAX)
			return -E2BIG;
		rc = s3_op_header(op, hn, opts->meta[i + 1]);
	}
	return rc;
}

int s3_put(struct s3_client *c, const char *key, const void *data, size_t len,
	   const struct s3_put_opts *opts, char etag[S3_ETAG_MAX])
{
	struct s3_op op = {.name = "PutObject",
			   .kind = S3HDR_PUT_OBJECT,
			   .method = "PUT",
			   .key = key,
			   .body = data,
			   .body_len = len,
			   .content_md5 = 1};
	if (etag)
		etag[0] = '\0';
	int rc = s3_put_headers(&op, opts);
	if (rc)
		return rc;
	struct http_response r;
	http_response_init(&r);
	rc = s3_exec(c, &op, &r);
	if (!rc && etag)
		s3_etag_header(&r, etag);
	/* If-None-Match: * failing means "it already exists". */
	if (rc == -ESTALE && opts && opts->if_none_match)
		rc = -EEXIST;
	http_response_release(&r);
	return rc;
}

/* ---- COPY ---- */

/* x-amz-copy-source: "/bucket/" + the key URL-encoded ('/' kept). */
static int s3_copy_source(const struct s3_client *c, const char *src_key, struct buf *out)
{
	int rc = buf_addf(out, "/%s/", c->bucket);
	if (!rc)
		rc = sigv4_uri_encode_path(src_key, out);
	return rc;
}

static int s3_copy_single(struct s3_client *c, const char *src_key, const char *dst_key,
			  char etag[S3_ETAG_MAX])
{
	struct buf src;
	buf_init(&src, 8 * 1024);
	int rc = s3_copy_source(c, src_key, &src);
	if (rc)
		goto out;
	struct s3_op op = {.name = "CopyObject",
			   .kind = S3HDR_COPY_OBJECT,
			   .method = "PUT",
			   .key = dst_key,
			   .error_in_200 = 1,
			   .slow_ok = 1};
	s3_op_header(&op, "x-amz-copy-source", src.ptr);
	struct http_response r;
	http_response_init(&r);
	rc = s3_exec(c, &op, &r);
	if (!rc) {
		char tag[S3_ETAG_MAX];
		rc = s3xml_parse_copy(r.body.ptr, r.body.len, tag, NULL);
		if (rc)
			log_error("s3: CopyObject %s/%s: unreadable answer (%s)", c->bucket,
				  LOG_KEY(dst_key), strerror(-rc));
		else if (etag) {
			s3_etag_quote(tag);
			s3_copy_str(etag, S3_ETAG_MAX, tag);
		}
	}
	http_response_release(&r);
out:
	buf_release(&src);
	return rc;
}

struct s3_mcopy {
	struct s3_client *c;
	const char *src_key, *dst_key, *upload_id;
	const char *src_etag; /* every part from this version */
	uint64_t size, part_size;
	int nparts;
	struct s3_part *parts;
	_Atomic int next;   /* next part index to copy */
	_Atomic int failed; /* first error, 0 while all is well */
};

static void *s3_mcopy_worker(void *arg)
{
	struct s3_mcopy *m = arg;
	for (;;) {
		if (atomic_load(&m->failed))
			break;
		int i = atomic_fetch_add(&m->next, 1);
		if (i >= m->nparts)
			break;
		uint64_t off = (uint64_t)i * m->part_size;
		uint64_t len = m->size - off < m->part_size ? m->size - off : m->part_size;
		m->parts[i].number = i + 1;
		int rc = s3_part_copy(m->c, m->dst_key, m->upload_id, i + 1, m->src_key, off, len,
				      m->src_etag, m->parts[i].etag);
		if (rc) {
			int zero = 0;
			atomic_compare_exchange_strong(&m->failed, &zero, rc);
			break;
		}
	}
	return NULL;
}

static int s3_copy_multipart(struct s3_client *c, const char *src_key, const char *dst_key,
			     uint64_t size, const char *src_etag, char etag[S3_ETAG_MAX])
{
	int rc;
	char upload_id[S3_UPLOAD_ID_MAX];
	uint64_t ps = c->copy_part_size;
	if (!ps) {
		ps = 512ull << 20;
		uint64_t min = (size + S3_MAX_PARTS - 1) / S3_MAX_PARTS;
		if (ps < min)
			ps = (min + (1u << 20) - 1) & ~((1ull << 20) - 1);
	}
	if (ps < S3_MIN_PART_SIZE)
		ps = S3_MIN_PART_SIZE;
	if (ps > S3_MAX_PART_SIZE)
		ps = S3_MAX_PART_SIZE;
	uint64_t np = (size + ps - 1) / ps;
	if (np == 0 || np > S3_MAX_PARTS)
		return -EFBIG;
	struct s3_mcopy m = {.c = c,
			     .src_key = src_key,
			     .dst_key = dst_key,
			     .src_etag = src_etag,
			     .size = size,
			     .part_size = ps,
			     .nparts = (int)np};
	m.parts = calloc((size_t)np, sizeof(*m.parts));
	if (!m.parts)
		return -ENOMEM;
	/* uniform parts of ps bytes, the last one shorter: say so for readers */
	struct mpu_layout l = {.base = ps, .cap = ps};
	char nonce[S3_NONCE_MAX];
	rc = s3_nonce_new(nonce);
	if (!rc)
		rc = s3_mpu_create_layout(c, dst_key, &l, nonce, upload_id);
	if (rc)
		goto out;
	m.upload_id = upload_id;
	log_info("s3: copy %s/%s -> %s: %" PRIu64 " bytes in %d parts of %" PRIu64, c->bucket,
		 LOG_KEY(src_key), LOG_KEY(dst_key), size, m.nparts, ps);
	pthread_t th[S3_COPY_THREADS];
	int started = 0;
	for (int i = 0; i < S3_COPY_THREADS && i < m.nparts; i++) {
		if (pthread_create(&th[i], NULL, s3_mcopy_worker, &m) != 0)
			break;
		started++;
	}
	if (!started)
		s3_mcopy_worker(&m); /* no thread to spare: do it here */
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	rc = atomic_load(&m.failed);
	if (!rc)
		rc = s3_mpu_complete(c, dst_key, upload_id, m.parts, (size_t)m.nparts, nonce, etag);
	if (rc)
		(void)s3_mpu_abort(c, dst_key, upload_id);
out:
	free(m.parts);
	return rc;
}

int s3_copy(struct s3_client *c, const char *src_key, const char *dst_key, uint64_t src_size,
	    char etag[S3_ETAG_MAX])
{
	int rc;
	struct s3_object_info info;
	int have_info = 0;
	if (etag)
		etag[0] = '\0';
	if (!src_size) {
		rc = s3_head(c, src_key, &info);
		if (rc)
			return rc;
		src_size = info.size;
		have_info = 1;
	}
	if (src_size > c->copy_threshold) {
		/* Many requests over a while: pin them all to one version. */
		if (!have_info) {
			rc = s3_head(c, src_key, &info);
			if (rc)
				return rc;
			if (info.size != src_size)
				return -ESTALE;
		}
		char tag[S3_ETAG_MAX];
		return s3_copy_multipart(c, src_key, dst_key, src_size, info.etag,
					 etag ? etag : tag);
	}
	return s3_copy_single(c, src_key, dst_key, etag);
}

/* ---- DELETE ---- */

int s3_delete(struct s3_client *c, const char *key)
{
	struct s3_op op = {
	    .name = "DeleteObject", .kind = S3HDR_DELETE_OBJECT, .method = "DELETE", .key = key};
	struct http_response r;
	http_response_init(&r);
	int rc = s3_exec(c, &op, &r);
	http_response_release(&r);
	return rc;
}

int s3_delete_many(struct s3_client *c, const char *const *keys, size_t n)
{
	int rc = 0, failed = 0;
	struct buf body;
	buf_init(&body, 16u << 20);
	for (size_t at = 0; at < n && !rc; at += S3_DELETE_BATCH) {
		size_t cnt = n - at < S3_DELETE_BATCH ? n - at : S3_DELETE_BATCH;
		buf_reset(&body);
		rc = s3xml_build_delete(keys + at, cnt, 1, &body);
		if (rc)
			break;
		struct s3_op op = {.name = "DeleteObjects",
				   .kind = S3HDR_DELETE_OBJECTS,
				   .method = "POST",
				   .query = "delete",
				   .body = body.ptr,
				   .body_len = body.len,
				   .content_md5 = 1,
				   .error_in_200 = 1};
		s3_op_header(&op, "Content-Type", "application/xml");
		struct http_response r;
		http_response_init(&r);
		rc = s3_exec(c, &op, &r);
		if (!rc) {
			struct s3xml_delete_result res;
			rc = s3xml_parse_delete_result(r.body.ptr, r.body.len, &res);
			if (rc) {
				log_error("s3: DeleteObjects %s: unreadable answer (%s)", c->bucket,
					  strerror(-rc));
			} else {
				for (size_t i = 0; i < res.nerrors; i++)
					log_error("s3: DeleteObjects %s/%s: %s %s", c->bucket,
						  LOG_KEY(res.errors[i].key), res.errors[i].code,
						  res.errors[i].message);
				failed += (int)res.nerrors;
				s3xml_delete_result_release(&res);
			}
		}
		http_response_release(&r);
	}
	buf_release(&body);
	if (!rc && failed)
		rc = -EIO;
	return rc;
}

/* ---- multipart ---- */

static int s3_upload_query(struct buf *q, int part_number, const char *upload_id)
{
	int rc = 0;
	if (part_number > 0) {
		char num[16];
		snprintf(num, sizeof(num), "%d", part_number);
		rc = s3_query_add(q, "partNumber", num);
	}
	if (!rc)
		rc = s3_query_add(q, "uploadId", upload_id);
	return rc;
}

int s3_mpu_create(struct s3_client *c, const char *key, const struct s3_put_opts *opts,
		  char upload_id[S3_UPLOAD_ID_MAX])
{
	struct s3_op op = {.name = "CreateMultipartUpload",
			   .kind = S3HDR_MPU_CREATE,
			   .method = "POST",
			   .key = key,
			   .query = "uploads"};
	upload_id[0] = '\0';
	int rc = s3_put_headers(&op, opts);
	if (rc)
		return rc;
	struct http_response r;
	http_response_init(&r);
	rc = s3_exec(c, &op, &r);
	if (!rc) {
		rc = s3xml_parse_initiate(r.body.ptr, r.body.len, upload_id);
		if (rc)
			log_error("s3: CreateMultipartUpload %s/%s: unreadable answer (%s)",
				  c->bucket, LOG_KEY(key), strerror(-rc));
	}
	http_response_release(&r);
	return rc;
}

int s3_nonce_new(char nonce[S3_NONCE_MAX])
{
	unsigned char b[(S3_NONCE_MAX - 1) / 2];
	size_t got = 0;
	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		got += (size_t)n;
	}
	crypto_hex(b, sizeof(b), nonce);
	return 0;
}

int s3_mpu_create_layout(struct s3_client *c, const char *key, const struct mpu_layout *l,
			 const char *nonce, char upload_id[S3_UPLOAD_ID_MAX])
{
	char val[MPU_LAYOUT_MAX];
	const char *meta[5];
	int n = 0;
	/* A layout that cannot be stated (never expected) only costs readers the check. */
	if (mpu_layout_format(l, val, sizeof(val)) == 0) {
		meta[n++] = MPU_LAYOUT_META;
		meta[n++] = val;
	}
	if (nonce && nonce[0]) {
		meta[n++] = S3_NONCE_META;
		meta[n++] = nonce;
	}
	meta[n] = NULL;
	struct s3_put_opts o = {.meta = meta};
	return s3_mpu_create(c, key, n ? &o : NULL, upload_id);
}

int s3_mpu_upload_part(struct s3_client *c, const char *key, const char *upload_id, int part_number,
		       const void *data, size_t len, char etag[S3_ETAG_MAX])
{
	if (part_number < 1 || part_number > S3_MAX_PARTS || len > S3_MAX_PART_SIZE)
		return -EINVAL;
	struct buf q;
	buf_init(&q, 4096);
	int rc = s3_upload_query(&q, part_number, upload_id);
	if (rc)
		goto out;
	struct s3_op op = {.name = "UploadPart",
			   .kind = S3HDR_UPLOAD_PART,
			   .method = "PUT",
			   .key = key,
			   .query = q.ptr,
			   .body = data,
			   .body_len = len,
			   .content_md5 = 1};
	struct http_response r;
	http_response_init(&r);
	rc = s3_exec(c, &op, &r);
	if (!rc) {
		s3_etag_header(&r, etag);
		if (!etag[0]) {
			log_error("s3: UploadPart %s/%s #%d: no ETag in the answer", c->bucket,
				  LOG_KEY(key), part_number);
			rc = -EIO;
		}
	}
	http_response_release(&r);
out:
	buf_release(&q);
	return rc;
}

int s3_mpu_upload_part_copy(struct s3_client *c, const char *key, const char *upload_id,
			    int part_number, const char *src_key, uint64_t off, uint64_t len,
			    const char *src_etag, char etag[S3_ETAG_MAX])
{
	return s3_part_copy(c, key, upload_id, part_number, src_key, off, len, src_etag, etag);
}

/* src_etag (or NULL): the source must still be that version (-ESTALE if not),
 * so the parts of one copy all come from the same object. */
static int s3_part_copy(struct s3_client *c, const char *key, const char *upload_id,
			int part_number, const char *src_key, uint64_t off, uint64_t len,
			const char *src_etag, char etag[S3_ETAG_MAX])
{
	if (part_number < 1 || part_number > S3_MAX_PARTS || len == 0 || len > S3_MAX_PART_SIZE)
		return -EINVAL;
	struct buf q, src;
	char range[64];
	buf_init(&q, 4096);
	buf_init(&src, 8 * 1024);
	int rc = s3_upload_query(&q, part_number, upload_id);
	if (!rc)
		rc = s3_copy_source(c, src_key, &src);
	if (rc)
		goto out;
	snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, off, off + len - 1);
	struct s3_op op = {.name = "UploadPartCopy",
			   .kind = S3HDR_UPLOAD_PART_COPY,
			   .method = "PUT",
			   .key = key,
			   .query = q.ptr,
			   .error_in_200 = 1,
			   .slow_ok = 1};
	s3_op_header(&op, "x-amz-copy-source", src.ptr);
	s3_op_header(&op, "x-amz-copy-source-range", range);
	if (src_etag && src_etag[0])
		s3_op_header(&op, "x-amz-copy-source-if-match", src_etag);
	struct http_response r;
	http_response_init(&r);
	rc = s3_exec(c, &op, &r);
	if (!rc) {
		rc = s3xml_parse_copy(r.body.ptr, r.body.len, etag, NULL);
		if (rc)
			log_error("s3: UploadPartCopy %s/%s #%d: unreadable answer (%s)", c->bucket,
				  LOG_KEY(key), part_number, strerror(-rc));
		else
			s3_etag_quote(etag);
	}
	http_response_release(&r);
out:
	buf_release(&q);
	buf_release(&src);
	return rc;
}

int s3_mpu_complete(struct s3_client *c, const char *key, const char *upload_id,
		    const struct s3_part *parts, size_t nparts, const char *nonce,
		    char etag[S3_ETAG_MAX])
{
	struct buf q, body;
	char tag[S3_ETAG_MAX] = "";
	buf_init(&q, 4096);
	buf_init(&body, 2u << 20);
	if (etag)
		etag[0] = '\0';
	int rc = s3_upload_query(&q, 0, upload_id);
	if (!rc)
		rc = s3xml_build_complete(parts, nparts, &body);
	if (rc)
		goto out;
	struct s3_op op = {.name = "CompleteMultipartUpload",
			   .kind = S3HDR_MPU_COMPLETE,
			   .method = "POST",
			   .key = key,
			   .query = q.ptr,
			   .body = body.ptr,
			   .body_len = body.len,
			   .error_in_200 = 1,
			   .slow_ok = 1};
	s3_op_header(&op, "Content-Type", "application/xml");
	struct http_response r;
	http_response_init(&r);
	rc = s3_exec(c, &op, &r);
	if (!rc) {
		rc = s3xml_parse_complete(r.body.ptr, r.body.len, tag);
		if (rc)
			log_error("s3: CompleteMultipartUpload %s/%s: unreadable answer (%s)",
				  c->bucket, LOG_KEY(key), strerror(-rc));
	} else if (rc == -ENOENT && op.attempts > 0) {
		/* An earlier try may have completed it and lost the answer. Only
		 * the ETag computed from our own parts, or our nonce where the
		 * ETag cannot be computed, proves the object there is ours: any
		 * "-N" could be another writer's upload of N parts. */
		struct s3_object_info info;
		char want[S3_ETAG_MAX] = "";
		if (mpu_etag_of_parts(parts, nparts, want, sizeof(want)) != 0)
			want[0] = '\0';
		if (s3_head(c, key, &info) == 0 &&
		    ((want[0] && strcmp(info.etag, want) == 0) ||
		     (nonce && nonce[0] && strcmp(info.upload_nonce, nonce) == 0))) {
			log_info("s3: CompleteMultipartUpload %s/%s: done by an earlier try",
				 c->bucket, LOG_KEY(key));
			s3_copy_str(tag, sizeof(tag), info.etag);
			rc = 0;
		}
	}
	http_response_release(&r);
	s3_etag_quote(tag);
	if (!rc && etag)
		s3_copy_str(etag, S3_ETAG_MAX, tag);
out:
	buf_release(&q);
	buf_release(&body);
	return rc;
}

int s3_mpu_abort(struct s3_client *c, const char *key, const char *upload_id)
{
	struct buf q;
	buf_init(&q, 4096);
	int rc = s3_upload_query(&q, 0, upload_id);
	if (rc)
		goto out;
	struct s3_op op = {.name = "AbortMultipartUpload",
			   .kind = S3HDR_MPU_ABORT,
			   .method = "DELETE",
			   .key = key,
			   .query = q.ptr};
	struct http_response r;
	http_response_init(&r);
	rc = s3_exec(c, &op, &r);
	http_response_release(&r);
out:
	buf_release(&q);
	return rc;
}

int s3_mpu_list(struct s3_client *c, const char *prefix, s3_upload_fn fn, void *arg)
{
	int rc = 0;
	char *key_marker = NULL, *id_marker = NULL;
	struct buf q;
	buf_init(&q, 16 * 1024);
	for (int page = 0;; page++) {
		buf_reset(&q);
		/* No encoding-type=url here: RGW then encodes <Key> but sends no
		 * <EncodingType> and a raw NextKeyMarker, so we could not tell
		 * encoded from raw keys. Raw keys are fine in XML. */
		if (key_marker)
			rc = s3_query_add(&q, "key-marker", key_marker);
		if (!rc && prefix && prefix[0])
			rc = s3_query_add(&q, "prefix", prefix);
		if (!rc && id_marker)
			rc = s3_query_add(&q, "upload-id-marker", id_marker);
		if (!rc)
			rc = s3_query_add(&q, "uploads", NULL);
		if (rc)
			break;
		struct s3_op op = {.name = "ListMultipartUploads",
				   .kind = S3HDR_LIST_UPLOADS,
				   .method = "GET",
				   .query = q.ptr};
		struct http_response r;
		http_response_init(&r);
		rc = s3_exec(c, &op, &r);
		struct s3xml_uploads u = {0};
		if (!rc) {
			rc = s3xml_parse_list_uploads(r.body.ptr, r.body.len, &u);
			if (rc)
				log_error("s3: ListMultipartUploads %s: unreadable answer (%s)",
					  c->bucket, strerror(-rc));
		}
		http_response_release(&r);
		if (rc)
			break;
		int stop = 0;
		for (size_t i = 0; i < u.n && !stop; i++)
			stop = fn(arg, u.v[i].key, u.v[i].upload_id, u.v[i].initiated);
		int more = u.truncated && u.next_key_marker && !stop;
		if (more && key_marker && strcmp(key_marker, u.next_key_marker) == 0 && id_marker &&
		    u.next_upload_id_marker && strcmp(id_marker, u.next_upload_id_marker) == 0) {
			log_error("s3: ListMultipartUploads %s: markers did not advance",
				  c->bucket);
			rc = -EIO;
			more = 0;
		}
		if (more) {
			free(key_marker);
			free(id_marker);
			key_marker = u.next_key_marker;
			id_marker = u.next_upload_id_marker;
			u.next_key_marker = NULL;
			u.next_upload_id_marker = NULL;
		}
		s3xml_uploads_release(&u);
		if (!more)
			break;
	}
	free(key_marker);
	free(id_marker);
	buf_release(&q);
	return rc;
}
