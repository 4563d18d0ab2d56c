/* Whole: one provider chain; each link (env, profile, ECS, IMDS) is short and shares helpers. */
/*
 * creds.c: see creds.h. Each link of the chain is a fetch function that
 * returns 0 with a set, NEXT when it is not configured here, or a negative
 * errno that stops the chain. The provider remembers which link answered and
 * refreshes from it. Network I/O goes through http.h; parsing through
 * credjson.h and awsconfig.h. No function here logs a secret, a session
 * token, an IMDS token or an authorization token: only source names, hosts,
 * statuses, and error codes.
 */
#include "creds.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "awsconfig.h"
#include "buf.h"
#include "credjson.h"
#include "http.h"
#include "log.h"

#define NEXT 1                     /* a link is not configured: try the next */
#define REFRESH_BEFORE_S 300       /* refresh temporary sets 5 minutes early */
#define REFRESH_MIN_INTERVAL_MS CREDS_RETRY_MS /* at most one refresh attempt a second */
#define IMDS_TOKEN_TTL_S 21600     /* the TTL we ask for (6 h, the maximum) */
#define IMDS_TOKEN_MARGIN_S 60     /* fetch a new token this long before its end */
#define META_ATTEMPTS 3            /* tries per metadata request on 5xx */
#define TOKEN_FILE_MAX (16 * 1024) /* bytes: cap on an authorization token file */
#define ECS_DEFAULT_BASE "http://169.254.170.2"
#define IMDS_V4 "http://169.254.169.254"
#define IMDS_V6 "http://[fd00:ec2::254]"
#define URL_MAX 2048

enum source { SRC_NONE, SRC_ENV, SRC_PROFILE, SRC_ECS, SRC_IMDS };

static const char *const source_names[] = {"none", "env", "profile", "ecs", "imds"};

struct creds_provider {
	pthread_mutex_t lock;
	pthread_cond_t cond;      /* signalled when a refresh ends */
	struct creds cur;         /* protected by lock */
	int refreshing;           /* a thread is fetching; protected by lock */
	int invalid;              /* creds_invalidate() was called; protected by lock */
	long long last_attempt;   /* monotonic ms of the last fetch; protected by lock */
	int last_err;		  /* what the last refresh ended with (0, -EIO,
				   * -EACCES), for the calls that come before the
				   * next may start; protected by lock */
	enum source src;          /* the link that answered; fixed after _new */
	int anonymous;
	int imds_v1_fallback;
	long timeout_ms;
	char *profile;            /* explicit profile name or NULL */
	char *ecs_base;
	char cfg_imds_endpoint[512]; /* from the config file, read once */
	char cfg_imds_mode[16];
	struct http_pool *http;   /* created on first metadata request */
	/* IMDSv2 session: used only by the thread that refreshes (one at a
	 * time, see refreshing) or by _new before other threads exist. */
	char imds_token[1024];
	long long imds_token_until; /* monotonic ms */
	int imds_v1;              /* fell back to IMDSv1 (opted in) */
};

static void wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;
	while (n--)
		*v++ = 0;
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A link that is "not configured here" is news while the chain is walked
 * (the next link may answer), but an error when it is the source the current
 * set came from: then it is why a refresh failed. p->src is SRC_NONE until
 * creds_provider_new() has found a source. */
static enum log_level gone_level(const struct creds_provider *p)
{
	return p->src == SRC_NONE ? LOG_LVL_INFO : LOG_LVL_ERROR;
}

/* The errno of a metadata answer that is not 200 (and not a "not here"
 * 404): a busy or failing service (5xx, 429 throttling, 408) did not answer
 * and may next time (-EIO); any other status refused us (-EACCES). */
static int status_err(long status)
{
	return status >= 500 || status == 429 || status == 408 ? -EIO : -EACCES;
}

static int copy_str(char *dst, size_t cap, const char *src, size_t n)
{
	if (n >= cap)
		return -E2BIG;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

static int set_str(char *dst, size_t cap, const char *src)
{
	return copy_str(dst, cap, src, strlen(src));
}

/* Blank (unset, empty or only whitespace) variables count as unset, as the
 * SDKs treat them. Returns the value trimmed in place into buf, or NULL. */
static const char *env_value(const char *name, char *buf, size_t cap)
{
	const char *v = getenv(name);
	size_t n;
	if (!v)
		return NULL;
	while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r')
		v++;
	n = strlen(v);
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\n' || v[n - 1] == '\r'))
		n--;
	if (n == 0 || copy_str(buf, cap, v, n) != 0)
		return NULL;
	return buf;
}

static int env_true(const char *name)
{
	char b[16];
	const char *v = env_value(name, b, sizeof(b));
	return v && strcasecmp(v, "true") == 0;
}

/* ---- environment ---------------------------------------------------- */

static int fetch_env(struct creds *c)
{
	const char *ak, *sk;
	char akb[sizeof(c->access_key)], skb[sizeof(c->secret_key)], tb[sizeof(c->session_token)];
	int rc = 0;

	ak = env_value("AWS_ACCESS_KEY_ID", akb, sizeof(akb));
	sk = env_value("AWS_SECRET_ACCESS_KEY", skb, sizeof(skb));
	if (!ak && !sk)
		return NEXT;
	if (!ak || !sk) {
		log_error("credentials: only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
			  "is set (or one is too long)");
		rc = -EINVAL;
		goto out;
	}
	const char *tok = env_value("AWS_SESSION_TOKEN", tb, sizeof(tb));
	if (!tok && getenv("AWS_SESSION_TOKEN") && strlen(getenv("AWS_SESSION_TOKEN")) >= sizeof(tb)) {
		log_error("credentials: AWS_SESSION_TOKEN is over %zu bytes", sizeof(tb) - 1);
		rc = -E2BIG;
		goto out;
	}
	set_str(c->access_key, sizeof(c->access_key), ak);
	set_str(c->secret_key, sizeof(c->secret_key), sk);
	if (tok)
		set_str(c->session_token, sizeof(c->session_token), tok);
out:
	wipe(skb, sizeof(skb));
	wipe(tb, sizeof(tb));
	return rc;
}

/* ---- profile ---------------------------------------------------------- */

/* Loads both files for profile resolution. *explicit_out is set when the
 * profile was named (option or AWS_PROFILE) rather than defaulted. */
static int load_profile_files(const char *profile_opt, struct awsconfig **cfg_out, char *profile,
			      size_t pcap, int *explicit_out, int warn_perms)
{
	struct awsconfig_env env;
	struct awsconfig *cfg = NULL;
	char cpath[1024], kpath[1024], err[AWSCONFIG_ERR_MAX];
	unsigned mode = 0;
	int rc;

	awsconfig_env_from_process(&env);
	if (profile_opt && profile_opt[0])
		env.profile = profile_opt;
	if (explicit_out)
		*explicit_out = env.profile && env.profile[0];
	rc = awsconfig_locate(&env, cpath, sizeof(cpath), kpath, sizeof(kpath), profile, pcap);
	if (rc == -ENOENT) {
		cpath[0] = kpath[0] = '\0';
		log_debug("credentials: no home directory, no shared config files");
		/* still resolve the profile name */
		snprintf(profile, pcap, "%s", env.profile && env.profile[0] ? env.profile : "default");
	} else if (rc) {
		log_error("credentials: config file path too long");
		return rc;
	}
	rc = awsconfig_new(&cfg);
	if (rc)
		return rc;
	if (cpath[0]) {
		rc = awsconfig_load_file(cfg, AWSCONFIG_CONFIG, cpath, NULL, err, sizeof(err));
		if (rc == -ENOENT)
			rc = 0;
		else if (rc)
			log_error("credentials: %s: %s", cpath, err[0] ? err : strerror(-rc));
	}
	if (rc == 0 && kpath[0]) {
		rc = awsconfig_load_file(cfg, AWSCONFIG_CREDENTIALS, kpath, &mode, err, sizeof(err));
		if (rc == -ENOENT)
			rc = 0;
		else if (rc)
			log_error("credentials: %s: %s", kpath, err[0] ? err : strerror(-rc));
		else if (warn_perms && (mode & (S_IRGRP | S_IROTH)))
			log_warn("credentials: %s is readable by %s (mode %03o); chmod 600 it",
				 kpath, (mode & S_IROTH) ? "others" : "its group", mode & 0777);
	}
	if (rc) {
		awsconfig_free(cfg);
		return rc;
	}
	*cfg_out = cfg;
	return 0;
}

static int fetch_profile(struct creds_provider *p, struct creds *c, int first)
{
	struct awsconfig *cfg = NULL;
	char profile[256];
	int explicit_profile = 0, rc;

	profile[0] = '\0';
	rc = load_profile_files(p->profile, &cfg, profile, sizeof(profile), &explicit_profile, first);
	if (rc)
		return rc;
	if (first) {
		/* IMDS settings live in the same profile; keep them for the IMDS link. */
		const char *e = awsconfig_get(cfg, AWSCONFIG_PROFILE, profile,
					      "ec2_metadata_service_endpoint");
		const char *m = awsconfig_get(cfg, AWSCONFIG_PROFILE, profile,
					      "ec2_metadata_service_endpoint_mode");
		if (e)
			snprintf(p->cfg_imds_endpoint, sizeof(p->cfg_imds_endpoint), "%s", e);
		if (m)
			snprintf(p->cfg_imds_mode, sizeof(p->cfg_imds_mode), "%s", m);
	}
	if (!awsconfig_has(cfg, AWSCONFIG_PROFILE, profile)) {
		if (explicit_profile) {
			log_error("credentials: profile '%s' not found in the shared config "
				  "or credentials file",
				  profile);
			rc = -ENOENT;
		} else {
			rc = NEXT;
		}
		goto out;
	}
	const char *ak = awsconfig_get(cfg, AWSCONFIG_PROFILE, profile, "aws_access_key_id");
	const char *sk = awsconfig_get(cfg, AWSCONFIG_PROFILE, profile, "aws_secret_access_key");
	const char *tok = awsconfig_get(cfg, AWSCONFIG_PROFILE, profile, "aws_session_token");
	if (ak && !ak[0])
		ak = NULL;
	if (sk && !sk[0])
		sk = NULL;
	if (!ak && !sk) {
		static const char *const unsupported[] = {"role_arn", "credential_process",
							  "sso_session", "sso_start_url",
							  "web_identity_token_file"};
		for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
			if (awsconfig_get(cfg, AWSCONFIG_PROFILE, profile, unsupported[i])) {
				log_warn("credentials: profile '%s' uses %s, which s3mount does "
					 "not support; trying the next source",
					 profile, unsupported[i]);
				break;
			}
		}
		rc = NEXT;
		goto out;
	}
	if (!ak || !sk) {
		log_error("credentials: profile '%s' has only one of aws_access_key_id and "
			  "aws_secret_access_key",
			  profile);
		rc = -EINVAL;
		goto out;
	}
	rc = set_str(c->access_key, sizeof(c->access_key), ak);
	if (rc == 0)
		rc = set_str(c->secret_key, sizeof(c->secret_key), sk);
	if (rc == 0 && tok && tok[0])
		rc = set_str(c->session_token, sizeof(c->session_token), tok);
	if (rc)
		log_error("credentials: a key in profile '%s' is too long", profile);
	else
		log_debug("credentials: from profile '%s'", profile);
out:
	awsconfig_free(cfg);
	return rc;
}

int creds_profile_region(const char *profile, char *out, size_t cap)
{
	struct awsconfig *cfg = NULL;
	char name[256];
	int rc;

	if (cap)
		out[0] = '\0';
	rc = load_profile_files(profile, &cfg, name, sizeof(name), NULL, 0);
	if (rc)
		return rc;
	const char *r = awsconfig_get(cfg, AWSCONFIG_PROFILE, name, "region");
	if (!r || !r[0])
		rc = -ENOENT;
	else
		rc = set_str(out, cap, r);
	awsconfig_free(cfg);
	return rc;
}

/* ---- URLs (pure) --------------------------------------------------------- */

static int fail(char *err, size_t cap, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t cap, int rc, const char *fmt, ...)
{
	if (err && cap) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, cap, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Splits "scheme://authority/rest": host and hlen give the host (with brackets
 * for IPv6), the port is skipped. Characters outside the URI set fail. */
static int split_url(const char *url, int *https, const char **host, size_t *hlen, char *err,
		     size_t errcap)
{
	for (const char *c = url; *c; c++) {
		unsigned char ch = (unsigned char)*c;
		if (ch <= ' ' || ch >= 0x7f || strchr("\"<>\\^`{|}", ch))
			return fail(err, errcap, -EINVAL, "invalid uri character in '%s'", url);
	}
	const char *rest;
	if (strncmp(url, "http://", 7) == 0) {
		*https = 0;
		rest = url + 7;
	} else if (strncmp(url, "https://", 8) == 0) {
		*https = 1;
		rest = url + 8;
	} else {
		if (!strstr(url, "://"))
			return fail(err, errcap, -EINVAL, "URI did not specify a host: '%s'", url);
		return fail(err, errcap, -EINVAL, "URI scheme must be http or https: '%s'", url);
	}
	const char *end = rest + strcspn(rest, "/?#");
	const char *h = rest, *he;
	if (*h == '[') {
		he = memchr(h, ']', (size_t)(end - h));
		if (!he)
			return fail(err, errcap, -EINVAL, "invalid IPv6 host in '%s'", url);
		he++;
	} else {
		he = memchr(h, ':', (size_t)(end - h));
		if (!he)
			he = end;
	}
	if (he == h)
		return fail(err, errcap, -EINVAL, "URI did not specify a host: '%s'", url);
	if (memchr(h, '@', (size_t)(end - h)))
		return fail(err, errcap, -EINVAL, "URI must not carry user info: '%s'", url);
	*host = h;
	*hlen = (size_t)(he - h);
	return 0;
}

int creds_imds_endpoint(const struct creds_imds_cfg *c, char *out, size_t cap, char *err,
			size_t errcap)
{
	const char *ep = c->endpoint_override;
	if (!ep || !ep[0])
		ep = c->env_endpoint;
	if (!ep || !ep[0])
		ep = c->cfg_endpoint;
	if (err && errcap)
		err[0] = '\0';
	if (ep && ep[0]) {
		int https;
		const char *h;
		size_t hl, n = strlen(ep);
		int rc = split_url(ep, &https, &h, &hl, err, errcap);
		if (rc)
			return rc;
		while (n && ep[n - 1] == '/')
			n--;
		return copy_str(out, cap, ep, n);
	}
	const char *mode = c->mode_override;
	if (!mode || !mode[0])
		mode = c->env_mode;
	if (!mode || !mode[0])
		mode = c->cfg_mode;
	if (!mode || !mode[0] || strcasecmp(mode, "IPv4") == 0)
		return set_str(out, cap, IMDS_V4);
	if (strcasecmp(mode, "IPv6") == 0)
		return set_str(out, cap, IMDS_V6);
	return fail(err, errcap, -EINVAL, "`%s` is not a valid endpoint mode (IPv4 or IPv6)", mode);
}

/* Hosts a plain-http container endpoint may name. */
static int ecs_host_allowed(const char *h, size_t n)
{
	char host[64];
	unsigned char a[16];

	if (n >= sizeof(host))
		return 0;
	memcpy(host, h, n);
	host[n] = '\0';
	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127 || (a[0] == 169 && a[1] == 254 && a[2] == 170 &&
				       (a[3] == 2 || a[3] == 23));
	if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
		static const unsigned char eks[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0,
						      0,    0,    0,    0,    0, 0, 0, 0x23};
		static const unsigned char lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
		host[n - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, a) != 1)
			return 0;
		return memcmp(a, eks, 16) == 0 || memcmp(a, lo, 16) == 0;
	}
	return 0;
}

int creds_ecs_uri(const char *relative, const char *full, const char *base, char *out,
		  size_t cap, char *err, size_t errcap)
{
	if (err && errcap)
		err[0] = '\0';
	if (relative && relative[0]) {
		int k = snprintf(out, cap, "%s%s%s", base ? base : ECS_DEFAULT_BASE,
				 relative[0] == '/' ? "" : "/", relative);
		if (k < 0 || (size_t)k >= cap)
			return -E2BIG;
		for (const char *c = relative; *c; c++)
			if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
				return fail(err, errcap, -EINVAL,
					    "invalid uri character in the relative URI");
		return 0;
	}
	if (!full || !full[0])
		return fail(err, errcap, -ENOENT,
			    "No environment variables were set to configure ECS provider");
	int https;
	const char *h;
	size_t hl;
	int rc = split_url(full, &https, &h, &hl, err, errcap);
	if (rc)
		return rc;
	if (!https && !ecs_host_allowed(h, hl))
		return fail(err, errcap, -EINVAL,
			    "AWS_CONTAINER_CREDENTIALS_FULL_URI must use https or name a loopback "
			    "host or the ECS/EKS address, not '%.*s'",
			    (int)hl, h);
	return set_str(out, cap, full);
}

/* ---- metadata HTTP ---------------------------------------------------- */

static int sink_buf(void *arg, const void *data, size_t n)
{
	return buf_add(arg, data, n);
}

/* One metadata request, retried on 5xx. The body (capped at CREDJSON_MAX,
 * also for error statuses) goes into body. Returns 0 when a response
 * arrived (status in *status) or the transport errno. */
static int meta_request(struct creds_provider *p, const char *method, const char *url,
			const struct http_header *hdrs, size_t nh, struct buf *body, long *status)
{
	struct http_response resp;
	int rc = 0;

	*status = 0;
	if (!p->http) {
		struct http_pool_opts po = {.connect_timeout_ms = p->timeout_ms,
					    .timeout_ms = p->timeout_ms * 2,
					    .max_handles = 2};
		rc = http_pool_new(&po, &p->http);
		if (rc)
			return rc;
	}
	http_response_init(&resp);
	for (int attempt = 0; attempt < META_ATTEMPTS; attempt++) {
		struct http_request req = {.method = method,
					   .url = url,
					   .headers = hdrs,
					   .nheaders = nh,
					   .sink = sink_buf,
					   .sink_arg = body,
					   .timeout_ms = p->timeout_ms * 2,
					   .no_proxy = 1};
		buf_reset(body);
		rc = http_perform(p->http, &req, &resp);
		*status = resp.status;
		if (rc == 0 && resp.status >= 500 && attempt + 1 < META_ATTEMPTS) {
			struct timespec ts = {0, (long)(100000000L << attempt)}; /* 0.1, 0.2 s */
			log_debug("credentials: %s answered %ld, retrying", method, resp.status);
			nanosleep(&ts, NULL);
			continue;
		}
		break;
	}
	if (rc == 0 && (resp.status < 200 || resp.status > 299)) {
		size_t n = resp.body.len < CREDJSON_MAX ? resp.body.len : CREDJSON_MAX;
		buf_reset(body);
		if (n && buf_add(body, resp.body.ptr, n) != 0)
			buf_reset(body);
	}
	http_response_release(&resp);
	return rc;
}

/* Parses a credentials document and logs (without values) why it failed. */
static int parse_doc(const char *what, struct buf *body, struct creds *c)
{
	char code[64];
	int rc = credjson_parse(body->ptr ? body->ptr : "", body->len, c, code, sizeof(code));
	if (rc == -EACCES)
		log_error("credentials: %s refused: %s", what, code);
	else if (rc)
		log_error("credentials: %s sent an unusable credentials document (%s)", what,
			  strerror(-rc));
	if (body->ptr)
		wipe(body->ptr, body->len);
	return rc;
}

/* ---- ECS / EKS container endpoint ------------------------------------ */

static int read_token_file(const char *path, char *out, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	int rc = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t r = read(fd, out + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			break;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len == cap - 1) {
			char extra;
			if (read(fd, &extra, 1) > 0)
				rc = -EFBIG;
			break;
		}
	}
	close(fd);
	while (len && (out[len - 1] == '\n' || out[len - 1] == '\r' || out[len - 1] == ' '))
		len--;
	out[len] = '\0';
	return rc;
}

static int fetch_ecs(struct creds_provider *p, struct creds *c)
{
	char url[URL_MAX], err[256], relb[URL_MAX], fullb[URL_MAX];
	char *token = NULL;
	struct buf body;
	long status = 0;
	int rc;

	const char *rel = env_value("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", relb, sizeof(relb));
	const char *full = env_value("AWS_CONTAINER_CREDENTIALS_FULL_URI", fullb, sizeof(fullb));
	rc = creds_ecs_uri(rel, full, p->ecs_base, url, sizeof(url), err, sizeof(err));
	if (rc == -ENOENT)
		return NEXT;
	if (rc) {
		log_error("credentials: container endpoint: %s", err[0] ? err : "URL too long");
		return rc;
	}
	buf_init(&body, CREDJSON_MAX);
	token = calloc(1, TOKEN_FILE_MAX);
	if (!token) {
		rc = -ENOMEM;
		goto out;
	}
	char pathb[1024];
	const char *tfile = env_value("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", pathb, sizeof(pathb));
	if (tfile) {
		rc = read_token_file(tfile, token, TOKEN_FILE_MAX);
		if (rc) {
			log_error("credentials: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: %s", tfile,
				  strerror(-rc));
			goto out;
		}
	} else {
		const char *t = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
		if (t && set_str(token, TOKEN_FILE_MAX, t) != 0) {
			rc = -E2BIG;
			goto out;
		}
	}
	if (strpbrk(token, "\r\n")) {
		log_error("credentials: the container authorization token contains a line break");
		rc = -EINVAL;
		goto out;
	}
	struct http_header hdrs[2] = {{"Accept", "application/json"}, {"Authorization", token}};
	rc = meta_request(p, "GET", url, hdrs, token[0] ? 2 : 1, &body, &status);
	if (rc) {
		log_error("credentials: container endpoint unreachable: %s", strerror(-rc));
		/* the detail is in the log; callers need only "no answer" */
		rc = rc == -ENOMEM ? rc : -EIO;
		goto out;
	}
	if (status != 200) {
		char code[64] = "";
		struct creds scratch;
		credjson_parse(body.ptr ? body.ptr : "", body.len, &scratch, code, sizeof(code));
		log_error("credentials: container endpoint answered HTTP %ld%s%s", status,
			  code[0] ? ": " : "", code);
		rc = status_err(status);
		goto out;
	}
	rc = parse_doc("container endpoint", &body, c);
out:
	if (token) {
		wipe(token, TOKEN_FILE_MAX);
		free(token);
	}
	buf_release(&body);
	return rc;
}

/* ---- EC2 instance metadata (IMDSv2) ----------------------------------- */

/* Gets a session token into p->imds_token, or switches to IMDSv1 when that
 * was opted in. NEXT when there is no metadata service here. */
static int imds_token(struct creds_provider *p, const char *base, struct buf *body, int force)
{
	char url[URL_MAX];
	long status = 0;
	int rc;

	if (!force && (p->imds_v1 || (p->imds_token[0] && mono_ms() < p->imds_token_until)))
		return 0;
	p->imds_v1 = 0;
	wipe(p->imds_token, sizeof(p->imds_token));
	snprintf(url, sizeof(url), "%s/latest/api/token", base);
	struct http_header h = {"X-aws-ec2-metadata-token-ttl-seconds", "21600"};
	rc = meta_request(p, "PUT", url, &h, 1, body, &status);
	if (rc) {
		log_msg(gone_level(p), "credentials: no instance metadata service at %s (%s)", base,
			strerror(-rc));
		return NEXT;
	}
	if (status == 200) {
		size_t n = body->len;
		while (n && (body->ptr[n - 1] == '\n' || body->ptr[n - 1] == '\r'))
			n--;
		if (n == 0 || memchr(body->ptr, '\n', n) || memchr(body->ptr, '\r', n) ||
		    copy_str(p->imds_token, sizeof(p->imds_token), body->ptr, n) != 0) {
			log_error("credentials: IMDS sent an unusable session token");
			wipe(body->ptr, body->len);
			return -EPROTO;
		}
		wipe(body->ptr, body->len);
		p->imds_token_until = mono_ms() + (IMDS_TOKEN_TTL_S - IMDS_TOKEN_MARGIN_S) * 1000LL;
		return 0;
	}
	if (p->imds_v1_fallback && (status == 403 || status == 404 || status == 405)) {
		log_warn("credentials: IMDSv2 token request answered %ld; using IMDSv1 as "
			 "configured",
			 status);
		p->imds_v1 = 1;
		return 0;
	}
	if (status == 403) {
		log_error("credentials: IMDS token request forbidden (403): IMDS is disabled "
			  "for this instance");
		return -EACCES;
	}
	log_error("credentials: IMDS token request answered HTTP %ld", status);
	return status_err(status);
}

/* GET base+path with the session token; one new token on a 401. */
static int imds_get(struct creds_provider *p, const char *base, const char *path,
		    struct buf *body, long *status)
{
	char url[URL_MAX];
	int rc;

	snprintf(url, sizeof(url), "%s%s", base, path);
	for (int round = 0; round < 2; round++) {
		struct http_header h = {"X-aws-ec2-metadata-token", p->imds_token};
		rc = meta_request(p, "GET", url, &h, p->imds_v1 ? 0 : 1, body, status);
		if (rc || *status != 401 || round == 1)
			return rc;
		/* the token expired or the service moved to IMDSv2-only */
		log_info("credentials: IMDS answered 401; fetching a new session token");
		rc = imds_token(p, base, body, 1);
		if (rc)
			return rc == NEXT ? -EIO : rc;
	}
	return rc;
}

static int fetch_imds(struct creds_provider *p, struct creds *c)
{
	char base[URL_MAX], err[256], envep[URL_MAX], envmode[32], role[256], path[512];
	struct buf body;
	long status = 0;
	int rc;

	if (env_true("AWS_EC2_METADATA_DISABLED")) {
		log_debug("credentials: IMDS disabled by AWS_EC2_METADATA_DISABLED");
		return NEXT;
	}
	struct creds_imds_cfg ic = {
		.env_endpoint = env_value("AWS_EC2_METADATA_SERVICE_ENDPOINT", envep, sizeof(envep)),
		.env_mode = env_value("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", envmode,
				      sizeof(envmode)),
		.cfg_endpoint = p->cfg_imds_endpoint,
		.cfg_mode = p->cfg_imds_mode,
	};
	rc = creds_imds_endpoint(&ic, base, sizeof(base), err, sizeof(err));
	if (rc) {
		log_error("credentials: IMDS endpoint: %s", err[0] ? err : "too long");
		return rc;
	}
	buf_init(&body, CREDJSON_MAX);
	rc = imds_token(p, base, &body, 0);
	if (rc)
		goto out;
	rc = imds_get(p, base, "/latest/meta-data/iam/security-credentials/", &body, &status);
	if (rc)
		goto transport;
	if (status == 404) {
		log_msg(gone_level(p), "credentials: this instance has no IAM role");
		rc = NEXT;
		goto out;
	}
	if (status != 200) {
		log_error("credentials: IMDS role listing answered HTTP %ld", status);
		rc = status_err(status);
		goto out;
	}
	size_t n = strcspn(body.ptr ? body.ptr : "", "\r\n");
	const char *r = body.ptr ? body.ptr : "";
	while (n && (r[0] == ' ' || r[0] == '\t')) {
		r++;
		n--;
	}
	while (n && (r[n - 1] == ' ' || r[n - 1] == '\t'))
		n--;
	if (n == 0 || copy_str(role, sizeof(role), r, n) != 0 || strchr(role, '/') ||
	    strchr(role, '?') || strchr(role, '#') || strchr(role, '%')) {
		log_error("credentials: IMDS sent an unusable role name");
		rc = -EPROTO;
		goto out;
	}
	log_debug("credentials: IMDS role %s", role);
	snprintf(path, sizeof(path), "/latest/meta-data/iam/security-credentials/%s", role);
	rc = imds_get(p, base, path, &body, &status);
	if (rc)
		goto transport;
	if (status == 404) {
		log_msg(gone_level(p), "credentials: IMDS role %s has no credentials", role);
		rc = NEXT;
		goto out;
	}
	if (status != 200) {
		log_error("credentials: IMDS credentials answered HTTP %ld", status);
		rc = status_err(status);
		goto out;
	}
	rc = parse_doc("IMDS", &body, c);
	goto out;
transport:
	log_error("credentials: IMDS request failed: %s", strerror(-rc));
	if (rc != -EACCES && rc != -ENOMEM)
		rc = -EIO; /* as for the container endpoint */
out:
	buf_release(&body);
	return rc;
}

/* ---- the provider ----------------------------------------------------- */

static int fetch(struct creds_provider *p, enum source src, struct creds *c, int first)
{
	int rc;

	memset(c, 0, sizeof(*c));
	switch (src) {
	case SRC_ENV:
		rc = fetch_env(c);
		break;
	case SRC_PROFILE:
		rc = fetch_profile(p, c, first);
		break;
	case SRC_ECS:
		rc = fetch_ecs(p, c);
		break;
	case SRC_IMDS:
		rc = fetch_imds(p, c);
		break;
	default:
		rc = -EINVAL;
	}
	if (rc == 0) {
		set_str(c->source, sizeof(c->source), source_names[src]);
		time_t now = time(NULL);
		if (c->expiration && c->expiration <= now)
			log_warn("credentials: %s sent credentials that expired %lld s ago",
				 source_names[src], (long long)(now - c->expiration));
	} else {
		wipe(c, sizeof(*c));
	}
	return rc;
}

int creds_provider_new(const struct creds_opts *opts, struct creds_provider **out)
{
	static const struct creds_opts defaults = {0};
	struct creds_provider *p;
	int rc = 0;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->anonymous = opts->anonymous;
	p->imds_v1_fallback = opts->imds_v1_fallback;
	p->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 1000;
	if ((opts->profile && !(p->profile = strdup(opts->profile))) ||
	    (opts->ecs_base_url && !(p->ecs_base = strdup(opts->ecs_base_url)))) {
		rc = -ENOMEM;
		goto out;
	}
	if (p->anonymous) {
		p->cur.anonymous = 1;
		set_str(p->cur.source, sizeof(p->cur.source), "anonymous");
		log_info("credentials: anonymous (requests are not signed)");
		goto out;
	}
	rc = NEXT;
	for (enum source s = SRC_ENV; s <= SRC_IMDS && rc == NEXT; s++) {
		rc = fetch(p, s, &p->cur, 1);
		if (rc == 0)
			p->src = s;
	}
	if (rc == NEXT) {
		log_error("credentials: none found (environment, profile '%s', container "
			  "endpoint, instance metadata)",
			  p->profile ? p->profile : (getenv("AWS_PROFILE") ? getenv("AWS_PROFILE")
									   : "default"));
		rc = -ENOENT;
	}
	if (rc == 0) {
		p->last_attempt = mono_ms();
		log_info("credentials: from %s%s", source_names[p->src],
			 p->cur.session_token[0] ? " (temporary)" : "");
	}
out:
	if (rc) {
		creds_provider_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void creds_provider_free(struct creds_provider *p)
{
	if (!p)
		return;
	http_pool_free(p->http);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p->profile);
	free(p->ecs_base);
	wipe(p, sizeof(*p));
	free(p);
}

static int usable(const struct creds *c, time_t now)
{
	return c->expiration == 0 || now < c->expiration;
}

/* What a failed refresh means to the caller. The source gave us the current
 * set, so it should answer: "not configured here" (IMDS unreachable, the role
 * gone, a profile removed), a transport failure, a 5xx, throttling or an
 * unusable document all mean it did not, and may next time: -EIO, which the
 * S3 client retries. Only a refusal stays -EACCES. Never -ENOENT: the S3
 * client would pass it on as NoSuchKey and the mount answer "no such file"
 * for every name (issue 11). */
static int refresh_err(int rc)
{
	return rc == -EACCES || rc == -ENOMEM ? rc : -EIO;
}

const char *creds_source_name(const struct creds_provider *p)
{
	return p->anonymous ? "anonymous" : source_names[p->src];
}

int creds_get(struct creds_provider *p, struct creds *out)
{
	struct creds fresh;
	int rc = 0;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		time_t now = time(NULL);
		int due = p->invalid ||
			  (p->cur.expiration && now >= p->cur.expiration - REFRESH_BEFORE_S);
		if (p->anonymous || !due)
			break;
		if (p->refreshing) {
			if (usable(&p->cur, now) && !p->invalid)
				break; /* the refresher will replace it soon */
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		long long mono = mono_ms();
		if (!p->invalid && mono - p->last_attempt < REFRESH_MIN_INTERVAL_MS) {
			/* Tried a moment ago: use what we have, unless it has
			 * expired and that try failed; then its error (an
			 * expired set would only earn an ExpiredToken). */
			if (!usable(&p->cur, now))
				rc = p->last_err;
			break;
		}
		p->refreshing = 1;
		p->invalid = 0;
		p->last_attempt = mono;
		pthread_mutex_unlock(&p->lock);

		int raw = fetch(p, p->src, &fresh, 0);

		pthread_mutex_lock(&p->lock);
		p->refreshing = 0;
		pthread_cond_broadcast(&p->cond);
		if (raw == 0) {
			p->cur = fresh;
			wipe(&fresh, sizeof(fresh));
			p->last_err = 0;
			log_debug("credentials: refreshed from %s", source_names[p->src]);
			break;
		}
		p->last_err = refresh_err(raw);
		const char *why =
		    raw == NEXT ? "it has no credentials for us any more" : strerror(-raw);
		now = time(NULL);
		if (usable(&p->cur, now)) {
			log_warn("credentials: refresh from %s failed (%s); keeping the current "
				 "set, which expires in %lld s",
				 source_names[p->src], why, (long long)(p->cur.expiration - now));
		} else {
			log_error("credentials: refresh from %s failed (%s) and the current set "
				  "expired %lld s ago: S3 requests fail with %s until it answers",
				  source_names[p->src], why, (long long)(now - p->cur.expiration),
				  strerror(-p->last_err));
			rc = p->last_err;
		}
		break;
	}
	if (rc == 0)
		*out = p->cur;
	pthread_mutex_unlock(&p->lock);
	return rc;
}

void creds_invalidate(struct creds_provider *p)
{
	pthread_mutex_lock(&p->lock);
	if (!p->anonymous && mono_ms() - p->last_attempt >= REFRESH_MIN_INTERVAL_MS)
		p->invalid = 1;
	pthread_mutex_unlock(&p->lock);
}
