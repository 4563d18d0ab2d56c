/* crypto.c: see crypto.h. EVP interfaces only (OpenSSL 3 deprecates the rest). */
#include "crypto.h"

#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct crypto_md5_ctx {
	EVP_MD_CTX *md;
	int failed; /* an update failed: the digest would be wrong */
};

/* Logs OpenSSL's reason for a failed step, zeroes the digest: -EIO. */
static int crypto_failed(const char *what, uint8_t *out, size_t n)
{
	char reason[256];
	ERR_error_string_n(ERR_get_error(), reason, sizeof(reason));
	log_error("crypto: %s failed: %s", what, reason);
	ERR_clear_error();
	if (out)
		memset(out, 0, n);
	return -EIO;
}

int crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN])
{
	unsigned int n = CRYPTO_SHA256_LEN;
	if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL))
		return crypto_failed("SHA-256", out, CRYPTO_SHA256_LEN);
	return 0;
}

int crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
		       uint8_t out[CRYPTO_SHA256_LEN])
{
	unsigned int n = CRYPTO_SHA256_LEN;
	if (keylen > INT_MAX || !HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &n))
		return crypto_failed("HMAC-SHA-256", out, CRYPTO_SHA256_LEN);
	return 0;
}

int crypto_md5(const void *data, size_t len, uint8_t out[CRYPTO_MD5_LEN])
{
	unsigned int n = CRYPTO_MD5_LEN;
	if (!EVP_Digest(data, len, out, &n, EVP_md5(), NULL))
		return crypto_failed("MD5", out, CRYPTO_MD5_LEN);
	return 0;
}

struct crypto_md5_ctx *crypto_md5_new(void)
{
	struct crypto_md5_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->md = EVP_MD_CTX_new();
	if (!c->md || !EVP_DigestInit_ex(c->md, EVP_md5(), NULL)) {
		crypto_failed("MD5 init", NULL, 0);
		EVP_MD_CTX_free(c->md);
		free(c);
		return NULL;
	}
	return c;
}

int crypto_md5_update(struct crypto_md5_ctx *c, const void *data, size_t len)
{
	if (c->failed)
		return -EIO;
	if (!EVP_DigestUpdate(c->md, data, len)) {
		c->failed = 1;
		return crypto_failed("MD5 update", NULL, 0);
	}
	return 0;
}

int crypto_md5_final(struct crypto_md5_ctx *c, uint8_t out[CRYPTO_MD5_LEN])
{
	unsigned int n = CRYPTO_MD5_LEN;
	int rc = 0;
	if (c->failed) {
		memset(out, 0, CRYPTO_MD5_LEN);
		rc = -EIO;
	} else if (!EVP_DigestFinal_ex(c->md, out, &n)) {
		rc = crypto_failed("MD5 final", out, CRYPTO_MD5_LEN);
	}
	crypto_md5_free(c);
	return rc;
}

void crypto_md5_free(struct crypto_md5_ctx *c)
{
	if (!c)
		return;
	EVP_MD_CTX_free(c->md);
	free(c);
}

int crypto_b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

int crypto_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void crypto_hex(const uint8_t *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void crypto_base64(const uint8_t *in, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}
