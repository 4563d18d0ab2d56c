/*
 * s3.c: see s3.h; the client and the one request loop. Every operation
 * (s3obj.c, s3mpu.c, and the bucket calls here) is a struct s3_op (method,
 * key, query, extra headers, body) handed to s3_exec(), the one place that
 * addresses, signs, sends, classifies (s3err.h) and retries (retry.h). The
 * operations themselves only build their request and parse their answer
 * (s3xml.h). s3int.h is the contract between these files.
 *
 * s3_exec runs tries (s3_try) until one is final; a try gets credentials
 * (s3_call_creds), builds its headers (s3_build_headers), signs them
 * (s3_sign), sends, and classifies the answer (s3_classify): done, follow a
 * region, refresh credentials, or back off and try again.
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
#include <time.h>

#include "buf.h"
#include "crypto.h"
#include "http.h"
#include "log.h"
#include "monoclock.h"
#include "retry.h"
#include "s3err.h"
#include "s3hdr.h"
#include "s3int.h"
#include "s3xml.h"
#include "sigv4.h"

#define S3_MAX_REDIRECTS 2 /* region changes followed per request */
#define S3_COPY_LIMIT (5ull << 30)
/* The request s3_exec builds: URL (host, encoded path and query), Host,
 * path as signed, Authorization value; bytes. */
#define S3_URL_MAX (16 * 1024)
#define S3_HOST_MAX 1024
#define S3_PATH_MAX (12 * 1024)
#define S3_AUTH_MAX 4096
#define S3_AWS_HOST_MAX 128 /* "s3.<region>.amazonaws.com" */
/* Headers of one try: the op's own, the option headers (s3hdr.h), and ours:
 * Host, x-amz-content-sha256, x-amz-date, x-amz-security-token, Content-MD5,
 * Authorization (6; 8 leaves room). */
#define S3_EXEC_HDRS (S3_OP_HDRS + S3HDR_MAX + 8)
#define S3_MD5_B64_MAX 32  /* base64 of an MD5 (24) and NUL */
#define S3_AMZ_DATE_MAX 17 /* "YYYYMMDDTHHMMSSZ" and NUL (sigv4_amz_date) */
#define S3_CREATE_BUCKET_BODY_MAX 4096

int s3_op_header(struct s3_op *op, const char *name, const char *value)
{
	if (op->nhdrs >= S3_OP_HDRS)
		return -E2BIG;
	op->hdrs[op->nhdrs].name = name;
	op->hdrs[op->nhdrs].value = value;
	op->nhdrs++;
	return 0;
}

/* ---- client ---- */

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
	pthread_mutex_init(&c->rl_lock, NULL);
	mono_cond_init(&c->rl_cond);
	ratelimit_init(&c->rl, cfg->max_connections > 0 ? cfg->max_connections : S3_MAX_CONNECTIONS,
		       mono_s());
	c->throttle_deadline_ms = cfg->throttle_deadline_ms > 0
				      ? (uint64_t)cfg->throttle_deadline_ms
				      : S3_THROTTLE_DEADLINE_MS;
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
	str_copy_trunc(c->region, sizeof(c->region), region);
	atomic_store(&c->seed, (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)c);

	struct http_pool_opts ho = {
	    .ca_bundle = cfg->ca_bundle,
	    .insecure = cfg->insecure_skip_verify,
	    .connect_timeout_ms = cfg->connect_timeout_ms,
	    .low_speed_time_s = cfg->low_speed_time_s,
	    .max_handles = cfg->max_connections > 0 ? cfg->max_connections : S3_MAX_CONNECTIONS,
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
	pthread_mutex_destroy(&c->rl_lock);
	pthread_cond_destroy(&c->rl_cond);
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
	out->throttled = atomic_load_explicit(&c->n_throttled, memory_order_relaxed);
	out->gate_wait_ms = atomic_load_explicit(&c->n_gate_wait_ms, memory_order_relaxed);
}

void s3_client_kind_stats(struct s3_client *c, enum s3hdr_op kind, uint64_t *requests,
			  uint64_t *retries)
{
	*requests = *retries = 0;
	if ((unsigned)kind >= S3HDR_NOPS)
		return;
	*requests = atomic_load_explicit(&c->n_req_kind[kind], memory_order_relaxed);
	*retries = atomic_load_explicit(&c->n_retry_kind[kind], memory_order_relaxed);
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
	char aws_host[S3_AWS_HOST_MAX];
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

int s3_query_add(struct buf *q, const char *name, const char *value)
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

int s3_copy_source(const struct s3_client *c, const char *src_key, struct buf *out)
{
	int rc = buf_addf(out, "/%s/", c->bucket);
	if (!rc)
		rc = sigv4_uri_encode_path(src_key, out);
	return rc;
}

/* ---- the one request loop ---- */

static void s3_sleep_ms(uint64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

uint64_t s3_deadline(const struct s3_client *c)
{
	return c->op_timeout_ms ? mono_ms() + c->op_timeout_ms : 0;
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
	uint64_t now = mono_ms();
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

/* One call's state across its tries: what is computed once (the body's
 * digests), what each try rebuilds (URL, date, signature) and the retry
 * bookkeeping. cr and auth hold secrets: s3_call_release scrubs them. */
struct s3_call {
	struct buf url, host, path, auth;
	struct creds cr;
	char payload_hash[2 * CRYPTO_SHA256_LEN + 1];
	char md5_b64[S3_MD5_B64_MAX]; /* when op->content_md5 */
	char region[S3_REGION_MAX];   /* this try's */
	char amz_date[S3_AMZ_DATE_MAX];
	int attempt;		  /* backoffs taken: the backoff ceiling's count */
	int throttled;		  /* of which after throttled answers (not max_retries') */
	uint64_t throttle_end_ms; /* throttled answers are retried until then */
	int refreshed;		  /* credentials already refreshed once */
	int redirects;		  /* region changes followed */
	uint64_t rnd;		  /* jitter state */
	char lkey_buf[LOG_KEY_BUF];
	const char *lkey; /* the key as logs show it */
};

/* x-amz-content-sha256 and Content-MD5 of op's body, once for every try. */
static int s3_call_digests(const struct s3_client *c, const struct s3_op *op, struct s3_call *k)
{
	if (!op->body_len)
		str_copy_trunc(k->payload_hash, sizeof(k->payload_hash), SIGV4_EMPTY_SHA256);
	else if (c->unsigned_payload && (op->content_md5 || op->body_cksum))
		/* Only a body that carries Content-MD5 or a CRC checksum
		 * (signed below) goes unhashed: S3 still checks every byte,
		 * with one pass less here and on the server (SHA-256 was ~1/4
		 * of the mount's CPU when writing). */
		str_copy_trunc(k->payload_hash, sizeof(k->payload_hash), SIGV4_UNSIGNED_PAYLOAD);
	else {
		uint8_t d[CRYPTO_SHA256_LEN];
		if (crypto_sha256(op->body, op->body_len, d))
			return -EIO;
		crypto_hex(d, sizeof(d), k->payload_hash);
	}
	if (op->content_md5) {
		uint8_t m[CRYPTO_MD5_LEN];
		if (crypto_md5(op->body ? op->body : "", op->body_len, m))
			return -EIO;
		crypto_base64(m, sizeof(m), k->md5_b64);
	}
	return 0;
}

static int s3_call_init(struct s3_client *c, struct s3_op *op, struct s3_call *k)
{
	memset(k, 0, sizeof(*k));
	buf_init(&k->url, S3_URL_MAX);
	buf_init(&k->host, S3_HOST_MAX);
	buf_init(&k->path, S3_PATH_MAX);
	buf_init(&k->auth, S3_AUTH_MAX);
	k->rnd = atomic_fetch_add(&c->seed, 0x9e3779b97f4a7c15ull);
	k->lkey = log_key(op->key, k->lkey_buf);
	op->attempts = 0;
	/* Operations S3 may legitimately think about for minutes keep only
	 * their low-speed limit: a deadline would fail a commit that works. */
	if (!op->deadline_ms && !op->slow_ok)
		op->deadline_ms = s3_deadline(c);
	k->throttle_end_ms =
	    op->deadline_ms ? op->deadline_ms : mono_ms() + c->throttle_deadline_ms;
	return s3_call_digests(c, op, k);
}

static void s3_call_release(struct s3_call *k)
{
	/* Scrub the secrets this call copied; the compiler must not drop it. */
	volatile char *v = (volatile char *)&k->cr;
	for (size_t i = 0; i < sizeof(k->cr); i++)
		v[i] = 0;
	if (k->auth.ptr)
		memset(k->auth.ptr, 0, k->auth.len);
	buf_release(&k->url);
	buf_release(&k->host);
	buf_release(&k->path);
	buf_release(&k->auth);
}

/* The next backoff (retry.h), at least min_ms, and never past op's
 * deadline: the next try then fails at once (-ETIMEDOUT), so the caller
 * hears at the deadline. */
static uint64_t s3_backoff_ms(const struct s3_client *c, const struct s3_op *op, struct s3_call *k,
			      uint64_t min_ms)
{
	uint64_t ms = retry_delay_ms(&c->retry, k->attempt, retry_rand_splitmix, &k->rnd);
	if (ms < min_ms)
		ms = min_ms;
	if (op->deadline_ms) {
		uint64_t now = mono_ms();
		uint64_t left = op->deadline_ms > now ? op->deadline_ms - now : 0;
		if (ms > left)
			ms = left;
	}
	return ms;
}

/* Takes the backoff s3_backoff_ms chose (and the caller logged). */
static void s3_backoff(struct s3_client *c, const struct s3_op *op, struct s3_call *k, uint64_t ms)
{
	atomic_fetch_add_explicit(&c->n_retries, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->n_retry_kind[op->kind], 1, memory_order_relaxed);
	s3_sleep_ms(ms);
	k->attempt++;
}

/* The credentials for this try into k->cr. A source that did not answer is
 * transient, like a 503: *again after a backoff, while retries remain. */
static int s3_call_creds(struct s3_client *c, struct s3_op *op, struct s3_call *k, int *again)
{
	int rc = creds_get(c->creds, &k->cr);
	if (rc == -EIO && retry_allowed(&c->retry, k->attempt)) {
		/* The delay is at least CREDS_RETRY_MS, the least time before
		 * creds_get() asks the source again; a shorter one would retry
		 * on the same failure. */
		uint64_t ms = s3_backoff_ms(c, op, k, CREDS_RETRY_MS);
		log_info("s3: %s %s/%s: no credentials from %s (%s): retry %d in %" PRIu64 " ms",
			 op->name, c->bucket, k->lkey, creds_source_name(c->creds), strerror(-rc),
			 k->attempt + 1, ms);
		s3_backoff(c, op, k, ms);
		*again = 1;
		return 0;
	}
	if (rc) {
		/* -EIO or -EACCES (creds.h), never -ENOENT: no answer
		 * about the object may be made up from it */
		atomic_fetch_add_explicit(&c->n_errors, 1, memory_order_relaxed);
		log_error("s3: %s %s/%s: no credentials from %s after %d tries -> %s", op->name,
			  c->bucket, k->lkey, creds_source_name(c->creds), op->attempts + 1,
			  strerror(-rc));
	}
	return rc;
}

/* The headers of this try into hv (S3_EXEC_HDRS): ours, the op's, the option
 * headers of its kind; Authorization comes after (s3_sign). Returns how many. */
static size_t s3_build_headers(const struct s3_client *c, const struct s3_op *op,
			       const struct s3_call *k, struct http_header *hv)
{
	size_t n = 0;
	hv[n++] = (struct http_header){"Host", k->host.ptr};
	if (!k->cr.anonymous) {
		hv[n++] = (struct http_header){"x-amz-content-sha256", k->payload_hash};
		hv[n++] = (struct http_header){"x-amz-date", k->amz_date};
		if (k->cr.session_token[0])
			hv[n++] = (struct http_header){"x-amz-security-token", k->cr.session_token};
	}
	if (op->content_md5)
		hv[n++] = (struct http_header){"Content-MD5", k->md5_b64};
	for (size_t i = 0; i < op->nhdrs; i++)
		hv[n++] = op->hdrs[i];
	n += s3hdr_for(c->hdr, op->kind, hv + n);
	return n;
}

/* Signs every header in hv[0..*n) (SigV4) and appends Authorization. */
static int s3_sign(const struct s3_client *c, const struct s3_op *op, struct s3_call *k,
		   struct http_header *hv, size_t *n)
{
	struct sigv4_header sh[S3_EXEC_HDRS];
	for (size_t i = 0; i < *n; i++)
		sh[i] = (struct sigv4_header){hv[i].name, hv[i].value};
	const char *q = op->query && op->query[0] ? op->query : NULL;
	struct sigv4_request sr = {
	    .method = op->method,
	    .path = k->path.ptr,
	    .query = q,
	    .headers = sh,
	    .nheaders = *n,
	    .payload_hash = k->payload_hash,
	    .region = k->region,
	    .service = "s3",
	    .amz_date = k->amz_date,
	    .flags = SIGV4_S3,
	};
	struct sigv4_creds sc = {k->cr.access_key, k->cr.secret_key, k->cr.session_token};
	int rc = sigv4_authorization(&sr, &sc, &k->auth);
	if (rc) {
		log_error("s3: %s %s/%s: signing failed (%s)", op->name, c->bucket, k->lkey,
			  strerror(-rc));
		return rc;
	}
	hv[(*n)++] = (struct http_header){"Authorization", k->auth.ptr};
	return 0;
}

/* A 301 or 400 that names the bucket's region: switch the client to it.
 * 1 when it did (try again there), 0 when there is nothing to follow. */
static int s3_follow_region(struct s3_client *c, struct s3_call *k,
			    const struct http_response *resp, const struct s3xml_error *e)
{
	char nr[S3_REGION_MAX] = "";
	if (http_response_header(resp, "x-amz-bucket-region", nr, sizeof(nr)) != 0)
		str_copy_trunc(nr, sizeof(nr), e->region[0] ? e->region : e->bucket_region);
	if (!nr[0] || !s3_region_valid(nr) || strcmp(nr, k->region) == 0)
		return 0;
	pthread_mutex_lock(&c->region_lock);
	str_copy_trunc(c->region, sizeof(c->region), nr);
	pthread_mutex_unlock(&c->region_lock);
	log_info("s3: bucket %s is in region %s (not %s): retrying there", c->bucket, nr,
		 k->region);
	k->redirects++;
	return 1;
}

/* What the answer of a try means (s3err.h): 0 when it succeeded; *again when
 * it is worth another try (a region switch, a credentials refresh, a
 * backoff taken); else the error, logged and counted. trc: http_perform's.
 * Every path through it leaves the send gate once (s3_gate_leave) before
 * anything that sleeps. */
static int s3_classify(struct s3_client *c, struct s3_op *op, struct s3_call *k, int trc,
		       struct http_response *resp, int *again)
{
	struct s3xml_error e;
	memset(&e, 0, sizeof(e));
	if (trc == 0 && resp->status >= 200 && resp->status < 300) {
		if (!op->error_in_200 || !resp->body.len ||
		    s3xml_parse_error(resp->body.ptr, resp->body.len, &e) != 0) {
			s3_gate_leave(c, 0);
			log_debug("s3: %s %s/%s: HTTP %ld", op->name, c->bucket, k->lkey,
				  resp->status);
			return 0;
		}
		/* A 200 whose body is <Error>: a failure like any other. */
	} else if (trc == 0 && resp->body.len) {
		(void)s3xml_parse_error(resp->body.ptr, resp->body.len, &e);
	}
	if (trc == -ECANCELED && resp->sink_err) {
		s3_gate_leave(c, -1);
		return resp->sink_err; /* the caller's sink stopped us */
	}
	if (trc && op->no_retry_after_data && resp->body_bytes && resp->status >= 200 &&
	    resp->status < 300) {
		s3_gate_leave(c, -1);
		return trc; /* the streaming caller resumes from where it got */
	}
	if (!e.request_id[0])
		(void)http_response_header(resp, "x-amz-request-id", e.request_id,
					   sizeof(e.request_id));
	struct s3err_class cl = s3err_classify(trc ? 0 : resp->status, e.code, trc);
	const char *what = trc ? strerror(-trc) : e.code[0] ? e.code : "(no S3 code)";
	s3_gate_leave(c, trc ? -1 : cl.throttle);

	if (cl.action == S3ERR_REGION && k->redirects < S3_MAX_REDIRECTS &&
	    s3_follow_region(c, k, resp, &e)) {
		*again = 1;
		return 0;
	}
	if (cl.action == S3ERR_REFRESH && !k->refreshed) {
		log_info("s3: %s %s/%s: %s (rid %s): refreshing credentials", op->name, c->bucket,
			 k->lkey, what, e.request_id);
		creds_invalidate(c->creds);
		k->refreshed = 1;
		*again = 1;
		return 0;
	}
	/* Throttling is S3 asking for less, not failing: it is retried until
	 * the deadline whatever max_retries says, and counts apart so that a
	 * fault after a storm still gets every retry the policy allows. */
	if (cl.action == S3ERR_RETRY &&
	    (cl.throttle ? mono_ms() < k->throttle_end_ms
			 : retry_allowed(&c->retry, k->attempt - k->throttled))) {
		uint64_t ms = s3_backoff_ms(c, op, k, 0);
		if (cl.throttle) {
			uint64_t now = mono_ms();
			if (!op->deadline_ms && now + ms > k->throttle_end_ms)
				ms = k->throttle_end_ms > now ? k->throttle_end_ms - now : 0;
			k->throttled++;
		}
		log_info("s3: %s %s/%s: HTTP %ld %s (rid %s): retry %d in %" PRIu64 " ms", op->name,
			 c->bucket, k->lkey, resp->status, what, e.request_id, k->attempt + 1, ms);
		s3_backoff(c, op, k, ms);
		*again = 1;
		return 0;
	}
	int rc = cl.err;
	/* a 404 is an answer (the existence probe of every new file gets
	 * one), not a failure: counted apart */
	atomic_fetch_add_explicit(rc == -ENOENT ? &c->n_not_found : &c->n_errors, 1,
				  memory_order_relaxed);
	log_msg((enum log_level)s3_log_level_for(op, rc),
		"s3: %s %s/%s: HTTP %ld %s%s%s (rid %s) after %d tries -> %s", op->name, c->bucket,
		k->lkey, resp->status, what, e.message[0] ? ": " : "", e.message,
		e.request_id[0] ? e.request_id : "-", op->attempts + 1, strerror(-rc));
	return rc;
}

/* One try: address, credentials, headers, signature, send, classify. */
static int s3_try(struct s3_client *c, struct s3_op *op, struct s3_call *k,
		  struct http_response *resp, int *again)
{
	struct http_header hv[S3_EXEC_HDRS];
	long left_ms = 0; /* of the deadline; 0 = none */
	s3_region_get(c, k->region);
	int rc = s3_build_url(c, k->region, op->key, op->query, &k->url, &k->host, &k->path);
	if (!rc)
		rc = s3_deadline_left(c, op, k->lkey, &left_ms);
	if (!rc)
		rc = s3_call_creds(c, op, k, again);
	if (rc || *again)
		return rc;
	/* again: a refresh of the credentials may have taken a while */
	rc = s3_deadline_left(c, op, k->lkey, &left_ms);
	if (rc)
		return rc;
	sigv4_amz_date((long long)time(NULL), k->amz_date);
	size_t n = s3_build_headers(c, op, k, hv);
	if (!k->cr.anonymous) {
		rc = s3_sign(c, op, k, hv, &n);
		if (rc)
			return rc;
	}
	struct http_request hr = {
	    .method = op->method,
	    .url = k->url.ptr,
	    .headers = hv,
	    .nheaders = n,
	    .body = op->body,
	    .body_len = op->body_len,
	    .sink = op->sink,
	    .sink_arg = op->sink_arg,
	    .slow_ok = op->slow_ok,
	    .timeout_ms = left_ms, /* the try ends at the deadline */
	};
	s3_gate_enter(c, k->throttle_end_ms);
	int trc = http_perform(c->http, &hr, resp);
	atomic_fetch_add_explicit(&c->n_requests, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->n_req_kind[op->kind], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->n_down, resp->body_bytes, memory_order_relaxed);
	if (trc == 0 && op->body_len)
		atomic_fetch_add_explicit(&c->n_up, op->body_len, memory_order_relaxed);
	return s3_classify(c, op, k, trc, resp, again);
}

int s3_exec(struct s3_client *c, struct s3_op *op, struct http_response *resp)
{
	struct s3_call k;
	int rc, again;
	rc = s3_call_init(c, op, &k);
	if (rc)
		log_error("s3: %s %s/%s: cannot hash the request body", op->name, c->bucket,
			  k.lkey);
	while (!rc) {
		again = 0;
		rc = s3_try(c, op, &k, resp, &again);
		if (!again)
			break;
		op->attempts++;
	}
	s3_call_release(&k);
	return rc;
}

int s3_exec_parse(struct s3_client *c, struct s3_op *op, const char *detail, s3_parse_fn parse,
		  void *out)
{
	struct http_response r;
	http_response_init(&r);
	int rc = s3_exec(c, op, &r);
	if (!rc && parse) {
		rc = parse(r.body.ptr, r.body.len, out);
		if (rc)
			log_error("s3: %s %s%s%s%s: unreadable answer (%s)", op->name, c->bucket,
				  op->key ? "/" : "", LOG_KEY(op->key), detail ? detail : "",
				  strerror(-rc));
	}
	http_response_release(&r);
	return rc;
}

/* ---- response helpers ---- */

/* ETags are kept quoted, as S3 sends them in headers; RGW's copy results
 * carry them bare in the XML, and so does its answer to a retried
 * CompleteMultipartUpload. */
void s3_etag_quote(char etag[S3_ETAG_MAX])
{
	size_t n = strlen(etag);
	if (n == 0 || etag[0] == '"' || n + 3 > S3_ETAG_MAX)
		return;
	memmove(etag + 1, etag, n);
	etag[0] = '"';
	etag[n + 1] = '"';
	etag[n + 2] = '\0';
}

int s3_parse_copy_etag(const char *body, size_t len, void *out)
{
	int rc = s3xml_parse_copy(body, len, out, NULL);
	if (!rc)
		s3_etag_quote(out);
	return rc;
}

void s3_etag_header(const struct http_response *r, char etag[S3_ETAG_MAX])
{
	if (http_response_header(r, "ETag", etag, S3_ETAG_MAX) != 0)
		etag[0] = '\0';
}

/* ---- bucket ---- */

int s3_bucket_check(struct s3_client *c)
{
	struct s3_op op = {.name = "HeadBucket", .kind = S3HDR_HEAD_BUCKET, .method = "HEAD"};
	int rc = s3_exec_parse(c, &op, NULL, NULL, NULL);
	/* A HEAD has no body to say NoSuchBucket; its 404 can mean nothing else. */
	return rc == -ENOENT ? -ENXIO : rc;
}

int s3_bucket_create(struct s3_client *c)
{
	struct s3_op op = {.name = "CreateBucket", .kind = S3HDR_CREATE_BUCKET, .method = "PUT"};
	struct buf body;
	char region[S3_REGION_MAX];
	buf_init(&body, S3_CREATE_BUCKET_BODY_MAX);
	s3_region_get(c, region);
	int rc = s3xml_build_create_bucket(region, &body);
	if (rc)
		goto out;
	op.body = body.ptr;
	op.body_len = body.len;
	rc = s3_exec_parse(c, &op, NULL, NULL, NULL);
out:
	buf_release(&body);
	return rc;
}

int s3_bucket_delete(struct s3_client *c)
{
	struct s3_op op = {.name = "DeleteBucket", .kind = S3HDR_DELETE_BUCKET, .method = "DELETE"};
	return s3_exec_parse(c, &op, NULL, NULL, NULL);
}
