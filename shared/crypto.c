/* crypto.c: see crypto.h. EVP interfaces only (OpenSSL 3 deprecates the rest). */
#include "crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>

struct crypto_md5_ctx {
	EVP_MD_CTX *md;
};

void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN])
{
	unsigned int n = CRYPTO_SHA256_LEN;
	EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

void crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
			uint8_t out[CRYPTO_SHA256_LEN])
{
	unsigned int n = CRYPTO_SHA256_LEN;
	HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &n);
}

void crypto_md5(const void *data, size_t len, uint8_t out[CRYPTO_MD5_LEN])
{
	unsigned int n = CRYPTO_MD5_LEN;
	EVP_Digest(data, len, out, &n, EVP_md5(), NULL);
}

struct crypto_md5_ctx *crypto_md5_new(void)
{
	struct crypto_md5_ctx *c = malloc(sizeof(*c));
	if (!c)
		return NULL;
	c->md = EVP_MD_CTX_new();
	if (!c->md || !EVP_DigestInit_ex(c->md, EVP_md5(), NULL)) {
		EVP_MD_CTX_free(c->md);
		free(c);
		return NULL;
	}
	return c;
}

void crypto_md5_update(struct crypto_md5_ctx *c, const void *data, size_t len)
{
	EVP_DigestUpdate(c->md, data, len);
}

void crypto_md5_final(struct crypto_md5_ctx *c, uint8_t out[CRYPTO_MD5_LEN])
{
	unsigned int n = CRYPTO_MD5_LEN;
	EVP_DigestFinal_ex(c->md, out, &n);
	EVP_MD_CTX_free(c->md);
	free(c);
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
