/*
 * sigv4.c: see sigv4.h. The canonical request is built in four parts (URI,
 * query, headers, payload hash); every part is a pure transformation of the
 * caller's strings, so the AWS test suite can check each one in isolation.
 * Scratch space comes from capped buffers: a request is caller-built, but keys
 * and continuation tokens in it came from users and servers.
 */
#include "sigv4.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"

#define SIGV4_SCRATCH_MAX (1024 * 1024) /* bytes: cap on any intermediate string */
#define SIGV4_SECRET_MAX 512		/* bytes: longer secrets are malformed */
#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"

/* Secrets and derived keys are wiped from the stack; a volatile pointer keeps
 * the compiler from dropping the stores (explicit_bzero is not POSIX). */
static void wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;
	while (n--)
		*v++ = 0;
}

static int is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static int encode(const char *s, size_t n, int keep_slash, struct buf *out)
{
	static const char hx[] = "0123456789ABCDEF";
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_unreserved(c) || (keep_slash && c == '/')) {
			rc = buf_addch(out, (char)c);
		} else {
			char esc[3] = {'%', hx[c >> 4], hx[c & 15]};
			rc = buf_add(out, esc, 3);
		}
	}
	return rc;
}

int sigv4_uri_encode_path(const char *key, struct buf *out)
{
	if (!key)
		return -EINVAL;
	return encode(key, strlen(key), 1, out);
}

int sigv4_uri_encode_query(const char *s, struct buf *out)
{
	if (!s)
		return -EINVAL;
	return encode(s, strlen(s), 0, out);
}

/* %XX -> byte; a '%' not followed by two hex digits is kept literally (it is
 * then re-encoded as %25), and '+' stays '+': S3 clients send %20 for spaces. */
static int decode(const char *s, size_t n, struct buf *out)
{
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < n && (hi = crypto_hexval(s[i + 1])) >= 0 &&
		    (lo = crypto_hexval(s[i + 2])) >= 0) {
			rc = buf_addch(out, (char)(hi << 4 | lo));
			i += 2;
		} else {
			rc = buf_addch(out, s[i]);
		}
	}
	return rc;
}

/* RFC 3986 remove_dot_segments plus removal of empty segments ("//"), for
 * services other than S3. A path ending in '/', "/." or "/.." keeps a
 * trailing slash, as the test suite's get-slashes-normalized expects. */
static int normalize_path(const char *path, struct buf *out)
{
	int rc = 0;
	size_t plen = strlen(path);
	const char *p = path;
	/* "/a/", "/a/." and "/a/.." all name a directory */
	int trailing = (plen >= 1 && path[plen - 1] == '/') ||
		       (plen >= 2 && strcmp(path + plen - 2, "/.") == 0) ||
		       (plen >= 3 && strcmp(path + plen - 3, "/..") == 0);

	while (*p && rc == 0) {
		while (*p == '/')
			p++;
		const char *seg = p;
		while (*p && *p != '/')
			p++;
		size_t n = (size_t)(p - seg);
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			size_t k = out->len;
			while (k > 0 && out->ptr[k - 1] != '/')
				k--;
			if (k > 0)
				k--; /* drop the '/' that introduced the segment */
			out->len = k;
			if (out->ptr)
				out->ptr[k] = '\0';
			continue;
		}
		rc = buf_addch(out, '/');
		if (rc == 0)
			rc = buf_add(out, seg, n);
	}
	if (rc == 0 && (out->len == 0 || trailing))
		rc = buf_addch(out, '/');
	return rc;
}

static int add_canonical_uri(const struct sigv4_request *req, struct buf *out)
{
	const char *path = req->path && req->path[0] ? req->path : "/";
	struct buf norm;
	int rc;

	if (path[0] != '/')
		return -EINVAL;
	buf_init(&norm, SIGV4_SCRATCH_MAX);
	if (req->flags & SIGV4_NORMALIZE_PATH) {
		rc = normalize_path(path, &norm);
		if (rc)
			goto out;
		path = norm.ptr;
	}
	if (req->flags & SIGV4_DOUBLE_ENCODE)
		rc = encode(path, strlen(path), 1, out);
	else
		rc = buf_addstr(out, path);
out:
	buf_release(&norm);
	return rc;
}

struct qparam {
	size_t name;  /* offset of the encoded name in the scratch buffer */
	size_t value; /* offset of the encoded value */
};

struct qsort_ctx_param {
	struct qparam p;
	const char *base;
};

static int cmp_qparam(const void *a, const void *b)
{
	const struct qsort_ctx_param *x = a, *y = b;
	int c = strcmp(x->base + x->p.name, y->base + y->p.name);
	if (c)
		return c;
	return strcmp(x->base + x->p.value, y->base + y->p.value);
}

/* Appends the encoded form of s[0..n) and a NUL separator to scratch. */
static int add_encoded_field(const char *s, size_t n, struct buf *tmp, struct buf *scratch)
{
	int rc;
	buf_reset(tmp);
	rc = decode(s, n, tmp);
	if (rc == 0)
		rc = encode(tmp->ptr ? tmp->ptr : "", tmp->len, 0, scratch);
	if (rc == 0)
		rc = buf_addch(scratch, '\0');
	return rc;
}

/* Split on '&', decode, re-encode, sort by name then value; "a" is "a=". */
static int add_canonical_query(const char *query, struct buf *out)
{
	struct buf scratch, tmp;
	struct qsort_ctx_param *params = NULL;
	size_t n = 0, maxn = 1;
	int rc = 0;

	if (!query || !query[0])
		return 0;
	for (const char *q = query; *q; q++)
		maxn += *q == '&';
	params = calloc(maxn, sizeof(*params));
	if (!params)
		return -ENOMEM;
	buf_init(&scratch, SIGV4_SCRATCH_MAX);
	buf_init(&tmp, SIGV4_SCRATCH_MAX);

	const char *p = query;
	while (*p) {
		const char *end = strchr(p, '&');
		if (!end)
			end = p + strlen(p);
		if (end > p) {
			const char *eq = memchr(p, '=', (size_t)(end - p));
			const char *nend = eq ? eq : end;
			params[n].p.name = scratch.len;
			rc = add_encoded_field(p, (size_t)(nend - p), &tmp, &scratch);
			if (rc)
				goto out;
			params[n].p.value = scratch.len;
			rc = eq ? add_encoded_field(eq + 1, (size_t)(end - eq - 1), &tmp, &scratch)
				: buf_addch(&scratch, '\0');
			if (rc)
				goto out;
			n++;
		}
		p = *end ? end + 1 : end;
	}
	for (size_t i = 0; i < n; i++)
		params[i].base = scratch.ptr;
	qsort(params, n, sizeof(*params), cmp_qparam);
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = buf_addf(out, "%s%s=%s", i ? "&" : "", scratch.ptr + params[i].p.name,
			      scratch.ptr + params[i].p.value);
	}
out:
	free(params);
	buf_release(&scratch);
	buf_release(&tmp);
	return rc;
}

static int is_token_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static int cmp_lower(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = lower((unsigned char)*a), y = lower((unsigned char)*b);
		if (x != y || x == 0)
			return (int)x - (int)y;
	}
}

struct hdr_ref {
	const struct sigv4_header *h;
	size_t idx; /* original position: duplicates keep their order */
};

static int cmp_hdr(const void *a, const void *b)
{
	const struct hdr_ref *x = a, *y = b;
	int c = cmp_lower(x->h->name, y->h->name);
	if (c)
		return c;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Trimmed value with inner runs of blanks folded to one space. */
static int add_folded_value(const char *v, struct buf *out)
{
	int rc = 0, pending = 0, started = 0;
	for (; *v && rc == 0; v++) {
		if (*v == ' ' || *v == '\t') {
			pending = started;
			continue;
		}
		if (pending)
			rc = buf_addch(out, ' ');
		if (rc == 0)
			rc = buf_addch(out, *v);
		pending = 0;
		started = 1;
	}
	return rc;
}

static int add_canonical_headers(const struct sigv4_request *req, struct buf *out,
				 struct buf *signed_headers)
{
	struct hdr_ref *refs = NULL;
	int rc = 0;

	if (req->nheaders == 0 || !req->headers)
		return -EINVAL; /* host is always signed */
	for (size_t i = 0; i < req->nheaders; i++) {
		const struct sigv4_header *h = &req->headers[i];
		if (!h->name || !h->name[0] || !h->value)
			return -EINVAL;
		for (const char *c = h->name; *c; c++)
			if (!is_token_char((unsigned char)*c))
				return -EINVAL;
		if (strpbrk(h->value, "\r\n"))
			return -EINVAL;
	}
	refs = calloc(req->nheaders, sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	for (size_t i = 0; i < req->nheaders; i++) {
		refs[i].h = &req->headers[i];
		refs[i].idx = i;
	}
	qsort(refs, req->nheaders, sizeof(*refs), cmp_hdr);
	for (size_t i = 0; i < req->nheaders && rc == 0; i++) {
		int first = i == 0 || cmp_lower(refs[i - 1].h->name, refs[i].h->name) != 0;
		if (first) {
			if (i > 0)
				rc = buf_addch(out, '\n');
			if (i > 0 && rc == 0)
				rc = buf_addch(signed_headers, ';');
			for (const char *c = refs[i].h->name; *c && rc == 0; c++) {
				char lc = (char)lower((unsigned char)*c);
				rc = buf_addch(out, lc);
				if (rc == 0)
					rc = buf_addch(signed_headers, lc);
			}
			if (rc == 0)
				rc = buf_addch(out, ':');
		} else {
			rc = buf_addch(out, ',');
		}
		if (rc == 0)
			rc = add_folded_value(refs[i].h->value, out);
	}
	if (rc == 0)
		rc = buf_addch(out, '\n');
	free(refs);
	return rc;
}

static int valid_scope_part(const char *s)
{
	if (!s || !s[0])
		return 0;
	for (; *s; s++)
		if (*s == '/' || (unsigned char)*s <= ' ')
			return 0;
	return 1;
}

static int valid_request(const struct sigv4_request *req)
{
	if (!req || !req->method || !req->method[0] || !req->payload_hash ||
	    !req->payload_hash[0] || !valid_scope_part(req->region) ||
	    !valid_scope_part(req->service) || !req->amz_date)
		return 0;
	if (strlen(req->amz_date) != 16 || req->amz_date[8] != 'T' || req->amz_date[15] != 'Z')
		return 0;
	for (int i = 0; i < 15; i++)
		if (i != 8 && (req->amz_date[i] < '0' || req->amz_date[i] > '9'))
			return 0;
	for (const char *c = req->method; *c; c++)
		if (!is_token_char((unsigned char)*c))
			return 0;
	if (strpbrk(req->payload_hash, "\r\n"))
		return 0;
	return 1;
}

static int build_canonical(const struct sigv4_request *req, struct buf *out,
			   struct buf *signed_headers)
{
	int rc;

	buf_reset(out);
	buf_reset(signed_headers);
	if (!valid_request(req))
		return -EINVAL;
	rc = buf_addstr(out, req->method);
	if (rc == 0)
		rc = buf_addch(out, '\n');
	if (rc == 0)
		rc = add_canonical_uri(req, out);
	if (rc == 0)
		rc = buf_addch(out, '\n');
	if (rc == 0)
		rc = add_canonical_query(req->query, out);
	if (rc == 0)
		rc = buf_addch(out, '\n');
	if (rc == 0)
		rc = add_canonical_headers(req, out, signed_headers);
	if (rc == 0)
		rc = buf_addf(out, "\n%s\n%s", signed_headers->ptr, req->payload_hash);
	return rc;
}

int sigv4_canonical_request(const struct sigv4_request *req, struct buf *out)
{
	struct buf sh;
	int rc;

	buf_init(&sh, SIGV4_SCRATCH_MAX);
	rc = build_canonical(req, out, &sh);
	buf_release(&sh);
	return rc;
}

/* String to sign into out; the signed-header list into signed_headers. */
static int build_string_to_sign(const struct sigv4_request *req, struct buf *out,
				struct buf *signed_headers)
{
	struct buf canon;
	uint8_t digest[CRYPTO_SHA256_LEN];
	char hex[2 * CRYPTO_SHA256_LEN + 1];
	int rc;

	buf_init(&canon, SIGV4_SCRATCH_MAX);
	buf_reset(out);
	rc = build_canonical(req, &canon, signed_headers);
	if (rc)
		goto out;
	rc = crypto_sha256(canon.ptr, canon.len, digest);
	if (rc)
		goto out;
	crypto_hex(digest, sizeof(digest), hex);
	rc = buf_addf(out, SIGV4_ALGORITHM "\n%s\n%.8s/%s/%s/aws4_request\n%s", req->amz_date,
		      req->amz_date, req->region, req->service, hex);
out:
	buf_release(&canon);
	return rc;
}

int sigv4_string_to_sign(const struct sigv4_request *req, struct buf *out)
{
	struct buf sh;
	int rc;

	buf_init(&sh, SIGV4_SCRATCH_MAX);
	rc = build_string_to_sign(req, out, &sh);
	buf_release(&sh);
	return rc;
}

int sigv4_signing_key(const char *secret_key, const char *date8, const char *region,
		      const char *service, unsigned char out[32])
{
	char k[4 + SIGV4_SECRET_MAX];
	uint8_t a[CRYPTO_SHA256_LEN], b[CRYPTO_SHA256_LEN];
	size_t n;

	if (!secret_key || !date8 || !region || !service)
		return -EINVAL;
	n = strlen(secret_key);
	if (n > SIGV4_SECRET_MAX)
		return -EINVAL;
	memcpy(k, "AWS4", 4);
	memcpy(k + 4, secret_key, n);
	int rc = crypto_hmac_sha256(k, 4 + n, date8, strlen(date8), a);
	if (!rc)
		rc = crypto_hmac_sha256(a, sizeof(a), region, strlen(region), b);
	if (!rc)
		rc = crypto_hmac_sha256(b, sizeof(b), service, strlen(service), a);
	if (!rc)
		rc = crypto_hmac_sha256(a, sizeof(a), "aws4_request", 12, out);
	wipe(k, sizeof(k));
	wipe(a, sizeof(a));
	wipe(b, sizeof(b));
	return rc;
}

static int sign(const struct sigv4_request *req, const struct sigv4_creds *creds, char sig[65],
		struct buf *signed_headers)
{
	struct buf sts;
	unsigned char key[32];
	uint8_t mac[CRYPTO_SHA256_LEN];
	char date8[9];
	int rc;

	sig[0] = '\0';
	if (!creds || !creds->access_key || !creds->access_key[0] || !creds->secret_key)
		return -EINVAL;
	buf_init(&sts, SIGV4_SCRATCH_MAX);
	rc = build_string_to_sign(req, &sts, signed_headers);
	if (rc)
		goto out;
	memcpy(date8, req->amz_date, 8);
	date8[8] = '\0';
	rc = sigv4_signing_key(creds->secret_key, date8, req->region, req->service, key);
	if (rc)
		goto out;
	rc = crypto_hmac_sha256(key, sizeof(key), sts.ptr, sts.len, mac);
	if (rc)
		goto out;
	crypto_hex(mac, sizeof(mac), sig);
out:
	wipe(key, sizeof(key));
	buf_release(&sts);
	return rc;
}

int sigv4_signature(const struct sigv4_request *req, const struct sigv4_creds *creds, char out[65])
{
	struct buf sh;
	int rc;

	buf_init(&sh, SIGV4_SCRATCH_MAX);
	rc = sign(req, creds, out, &sh);
	buf_release(&sh);
	return rc;
}

int sigv4_authorization(const struct sigv4_request *req, const struct sigv4_creds *creds,
			struct buf *out)
{
	struct buf sh;
	char sig[65];
	int rc;

	buf_reset(out);
	buf_init(&sh, SIGV4_SCRATCH_MAX);
	rc = sign(req, creds, sig, &sh);
	if (rc)
		goto out;
	if (strpbrk(creds->access_key, "/, \r\n")) {
		rc = -EINVAL;
		goto out;
	}
	rc = buf_addf(out,
		      SIGV4_ALGORITHM " Credential=%s/%.8s/%s/%s/aws4_request, SignedHeaders=%s, "
				      "Signature=%s",
		      creds->access_key, req->amz_date, req->region, req->service, sh.ptr, sig);
out:
	buf_release(&sh);
	return rc;
}

void sigv4_amz_date(long long unix_time, char out[17])
{
	struct tm tm;
	time_t t = (time_t)unix_time;

	if (!gmtime_r(&t, &tm) || strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		memcpy(out, "19700101T000000Z", 17);
}
