/*
 * crypto.h: the hashes S3 needs, the only module that touches OpenSSL
 * (STYLE.md rule 7). Pure functions over buffers; thread-safe.
 */
#ifndef CRYPTO_H
#define CRYPTO_H
#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_LEN 32
#define CRYPTO_MD5_LEN 16

void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN]);
void crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
			uint8_t out[CRYPTO_SHA256_LEN]);
void crypto_md5(const void *data, size_t len, uint8_t out[CRYPTO_MD5_LEN]);

/* Incremental MD5 (for ETag checks of streamed data). */
struct crypto_md5_ctx;
struct crypto_md5_ctx *crypto_md5_new(void);
void crypto_md5_update(struct crypto_md5_ctx *c, const void *data, size_t len);
/* Writes the digest and frees the context. */
void crypto_md5_final(struct crypto_md5_ctx *c, uint8_t out[CRYPTO_MD5_LEN]);

/* Lower-case hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void crypto_hex(const uint8_t *in, size_t n, char *out);
/* Value of one hex digit (either case), or -1 when c is not one. */
int crypto_hexval(char c);
/* Standard base64 with padding of n bytes into out (4*ceil(n/3)+1 bytes). */
void crypto_base64(const uint8_t *in, size_t n, char *out);

#endif
