/*
 * credsmeta.c: the links of the credentials chain (creds.h) that ask a
 * metadata service over HTTP: the ECS/EKS container endpoint and the EC2
 * instance metadata service (IMDSv2: session token, role name, credentials
 * document), the rules for their URLs (pure), and the one request helper
 * both use (retries on 5xx, a capped body). Network I/O goes through http.h;
 * parsing through credjson.h. The chain, refresh and locking are in creds.c;
 * credsint.h is what the two share. Nothing here logs a secret, a session
 * token, an IMDS token or an authorization token.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "credjson.h"
#include "credsint.h"
#include "http.h"
#include "log.h"
#include "monoclock.h"

#define IMDS_TOKEN_TTL_S 21600	   /* the TTL we ask for (6 h, the maximum) */
#define IMDS_TOKEN_MARGIN_S 60	   /* fetch a new token this long before its end */
#define META_ATTEMPTS 3		   /* tries per metadata request on 5xx */
#define TOKEN_FILE_MAX (16 * 1024) /* bytes: cap on an authorization token file */
#define ECS_DEFAULT_BASE "http://169.254.170.2"
#define IMDS_V4 "http://169.254.169.254"
#define IMDS_V6 "http://[fd00:ec2::254]"
#define URL_MAX 2048

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

static int env_true(const char *name)
{
	char b[16];
	const char *v = creds_env_value(name, b, sizeof(b));
	return v && strcasecmp(v, "true") == 0;
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
		return str_copy_n(out, cap, ep, n);
	}
	const char *mode = c->mode_override;
	if (!mode || !mode[0])
		mode = c->env_mode;
	if (!mode || !mode[0])
		mode = c->cfg_mode;
	if (!mode || !mode[0] || strcasecmp(mode, "IPv4") == 0)
		return str_copy(out, cap, IMDS_V4);
	if (strcasecmp(mode, "IPv6") == 0)
		return str_copy(out, cap, IMDS_V6);
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
		return a[0] == 127 ||
		       (a[0] == 169 && a[1] == 254 && a[2] == 170 && (a[3] == 2 || a[3] == 23));
	if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
		static const unsigned char eks[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0,
						      0,    0,	  0,	0,    0, 0, 0, 0x23};
		static const unsigned char lo[16] = {0, 0, 0, 0, 0, 0, 0, 0,
						     0, 0, 0, 0, 0, 0, 0, 1};
		host[n - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, a) != 1)
			return 0;
		return memcmp(a, eks, 16) == 0 || memcmp(a, lo, 16) == 0;
	}
	return 0;
}

int creds_ecs_uri(const char *relative, const char *full, const char *base, char *out, size_t cap,
		  char *err, size_t errcap)
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
	return str_copy(out, cap, full);
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
		creds_wipe(body->ptr, body->len);
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

int creds_fetch_ecs(struct creds_provider *p, struct creds *c)
{
	char url[URL_MAX], err[256], relb[URL_MAX], fullb[URL_MAX];
	char *token = NULL;
	struct buf body;
	long status = 0;
	int rc;

	const char *rel =
	    creds_env_value("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", relb, sizeof(relb));
	const char *full =
	    creds_env_value("AWS_CONTAINER_CREDENTIALS_FULL_URI", fullb, sizeof(fullb));
	rc = creds_ecs_uri(rel, full, p->ecs_base, url, sizeof(url), err, sizeof(err));
	if (rc == -ENOENT)
		return CREDS_NEXT;
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
	const char *tfile =
	    creds_env_value("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", pathb, sizeof(pathb));
	if (tfile) {
		rc = read_token_file(tfile, token, TOKEN_FILE_MAX);
		if (rc) {
			log_error("credentials: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: %s",
				  tfile, strerror(-rc));
			goto out;
		}
	} else {
		const char *t = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
		if (t && str_copy(token, TOKEN_FILE_MAX, t) != 0) {
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
		creds_wipe(token, TOKEN_FILE_MAX);
		free(token);
	}
	buf_release(&body);
	return rc;
}

/* ---- EC2 instance metadata (IMDSv2) ----------------------------------- */

/* Gets a session token into p->imds_token, or switches to IMDSv1 when that
 * was opted in. CREDS_NEXT when there is no metadata service here. */
static int imds_token(struct creds_provider *p, const char *base, struct buf *body, int force)
{
	char url[URL_MAX];
	long status = 0;
	int rc;

	if (!force &&
	    (p->imds_v1 || (p->imds_token[0] && (long long)mono_ms() < p->imds_token_until)))
		return 0;
	p->imds_v1 = 0;
	creds_wipe(p->imds_token, sizeof(p->imds_token));
	snprintf(url, sizeof(url), "%s/latest/api/token", base);
	struct http_header h = {"X-aws-ec2-metadata-token-ttl-seconds", "21600"};
	rc = meta_request(p, "PUT", url, &h, 1, body, &status);
	if (rc) {
		log_msg(gone_level(p), "credentials: no instance metadata service at %s (%s)", base,
			strerror(-rc));
		return CREDS_NEXT;
	}
	if (status == 200) {
		size_t n = body->len;
		while (n && (body->ptr[n - 1] == '\n' || body->ptr[n - 1] == '\r'))
			n--;
		if (n == 0 || memchr(body->ptr, '\n', n) || memchr(body->ptr, '\r', n) ||
		    str_copy_n(p->imds_token, sizeof(p->imds_token), body->ptr, n) != 0) {
			log_error("credentials: IMDS sent an unusable session token");
			creds_wipe(body->ptr, body->len);
			return -EPROTO;
		}
		creds_wipe(body->ptr, body->len);
		p->imds_token_until =
		    (long long)mono_ms() + (IMDS_TOKEN_TTL_S - IMDS_TOKEN_MARGIN_S) * 1000LL;
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
static int imds_get(struct creds_provider *p, const char *base, const char *path, struct buf *body,
		    long *status)
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
			return rc == CREDS_NEXT ? -EIO : rc;
	}
	return rc;
}

int creds_fetch_imds(struct creds_provider *p, struct creds *c)
{
	char base[URL_MAX], err[256], envep[URL_MAX], envmode[32], role[256], path[512];
	struct buf body;
	long status = 0;
	int rc;

	if (env_true("AWS_EC2_METADATA_DISABLED")) {
		log_debug("credentials: IMDS disabled by AWS_EC2_METADATA_DISABLED");
		return CREDS_NEXT;
	}
	struct creds_imds_cfg ic = {
	    .env_endpoint =
		creds_env_value("AWS_EC2_METADATA_SERVICE_ENDPOINT", envep, sizeof(envep)),
	    .env_mode =
		creds_env_value("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", envmode, sizeof(envmode)),
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
		rc = CREDS_NEXT;
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
	if (n == 0 || str_copy_n(role, sizeof(role), r, n) != 0 || strchr(role, '/') ||
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
		rc = CREDS_NEXT;
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
