/*
 * crypto.h: the hashes S3 needs, the only module that touches OpenSSL
 * (STYLE.md rule 7). Pure functions over buffers; thread-safe.
 *
 * Errors: OpenSSL can fail (no memory, a provider that refuses MD5 in FIPS
 * mode). Every hash returns 0 or -EIO, logs OpenSSL's reason once per
 * failure, and leaves a zeroed digest, so a caller never signs or compares
 * with garbage. An incremental MD5 remembers a failed update: its final
 * reports it.
 */
#ifndef CRYPTO_H
#define CRYPTO_H
#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_LEN 32
#define CRYPTO_MD5_LEN 16

int crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN]);
int crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
		       uint8_t out[CRYPTO_SHA256_LEN]);
int crypto_md5(const void *data, size_t len, uint8_t out[CRYPTO_MD5_LEN]);

/* Incremental MD5 (for ETag checks of streamed data). */
struct crypto_md5_ctx;
struct crypto_md5_ctx *crypto_md5_new(void);
int crypto_md5_update(struct crypto_md5_ctx *c, const void *data, size_t len);
/* Writes the digest and frees the context; -EIO when any step failed. */
int crypto_md5_final(struct crypto_md5_ctx *c, uint8_t out[CRYPTO_MD5_LEN]);
/* Frees a context whose digest is not wanted (NULL is fine). */
void crypto_md5_free(struct crypto_md5_ctx *c);

/* Lower-case hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void crypto_hex(const uint8_t *in, size_t n, char *out);
/* Value of one hex digit (either case), or -1 when c is not one. */
int crypto_hexval(char c);
/* The value of one base64 character (standard alphabet), or -1. */
int crypto_b64val(unsigned char c);
/* Standard base64 with padding of n bytes into out (4*ceil(n/3)+1 bytes). */
void crypto_base64(const uint8_t *in, size_t n, char *out);

#endif
