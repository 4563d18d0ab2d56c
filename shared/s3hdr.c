/* s3hdr.c: see s3hdr.h. */
#include "s3hdr.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "crypto.h"

#define S3HDR_KMS_KEY_MAX 2048 /* an ARN or alias; S3 takes far less */

struct s3hdr {
	char sse[16]; /* "" when not set */
	char kms_key_id[S3HDR_KMS_KEY_MAX];
	char storage_class[64];
	char expected_owner[16];
	int requester_pays;
	int ssec;	       /* 1: the two values below are set */
	char ssec_key_b64[48]; /* secret: scrubbed by s3hdr_free */
	char ssec_key_md5_b64[32];
};

/* Which requests take which header group (s3hdr.h says why). */
enum {
	G_SSE = 1,	/* x-amz-server-side-encryption (+ KMS key id), storage class */
	G_SSEC = 2,	/* the object's SSE-C key */
	G_SSEC_SRC = 4, /* the copy source's SSE-C key */
	G_BUCKET = 8,	/* request payer, expected owner */
};

static const unsigned s3hdr_groups[S3HDR_NOPS] = {
    [S3HDR_HEAD_BUCKET] = G_BUCKET,
    [S3HDR_CREATE_BUCKET] = 0,
    [S3HDR_DELETE_BUCKET] = G_BUCKET,
    [S3HDR_LIST_OBJECTS] = G_BUCKET,
    [S3HDR_HEAD_OBJECT] = G_BUCKET | G_SSEC,
    [S3HDR_GET_OBJECT] = G_BUCKET | G_SSEC,
    [S3HDR_PUT_OBJECT] = G_BUCKET | G_SSE | G_SSEC,
    [S3HDR_COPY_OBJECT] = G_BUCKET | G_SSE | G_SSEC | G_SSEC_SRC,
    [S3HDR_DELETE_OBJECT] = G_BUCKET,
    [S3HDR_DELETE_OBJECTS] = G_BUCKET,
    [S3HDR_MPU_CREATE] = G_BUCKET | G_SSE | G_SSEC,
    [S3HDR_UPLOAD_PART] = G_BUCKET | G_SSEC,
    [S3HDR_UPLOAD_PART_COPY] = G_BUCKET | G_SSEC | G_SSEC_SRC,
    [S3HDR_MPU_COMPLETE] = G_BUCKET | G_SSEC,
    [S3HDR_MPU_ABORT] = G_BUCKET,
    [S3HDR_LIST_UPLOADS] = G_BUCKET,
};

static const char *const s3hdr_names[S3HDR_NOPS] = {
    [S3HDR_HEAD_BUCKET] = "HeadBucket",
    [S3HDR_CREATE_BUCKET] = "CreateBucket",
    [S3HDR_DELETE_BUCKET] = "DeleteBucket",
    [S3HDR_LIST_OBJECTS] = "ListObjectsV2",
    [S3HDR_HEAD_OBJECT] = "HeadObject",
    [S3HDR_GET_OBJECT] = "GetObject",
    [S3HDR_PUT_OBJECT] = "PutObject",
    [S3HDR_COPY_OBJECT] = "CopyObject",
    [S3HDR_DELETE_OBJECT] = "DeleteObject",
    [S3HDR_DELETE_OBJECTS] = "DeleteObjects",
    [S3HDR_MPU_CREATE] = "CreateMultipartUpload",
    [S3HDR_UPLOAD_PART] = "UploadPart",
    [S3HDR_UPLOAD_PART_COPY] = "UploadPartCopy",
    [S3HDR_MPU_COMPLETE] = "CompleteMultipartUpload",
    [S3HDR_MPU_ABORT] = "AbortMultipartUpload",
    [S3HDR_LIST_UPLOADS] = "ListMultipartUploads",
};

const char *s3hdr_op_name(enum s3hdr_op op)
{
	return (unsigned)op < S3HDR_NOPS && s3hdr_names[op] ? s3hdr_names[op] : "Other";
}

int s3hdr_sse_valid(const char *sse)
{
	return sse && (strcmp(sse, "AES256") == 0 || strcmp(sse, "aws:kms") == 0 ||
		       strcmp(sse, "aws:kms:dsse") == 0);
}

/* Upper-case letters, digits and '_': S3's classes (STANDARD_IA, GLACIER_IR,
 * ...) and the ones a compatible store defines, without a list to age. */
int s3hdr_storage_class_valid(const char *cls)
{
	size_t n = cls ? strlen(cls) : 0;
	if (n == 0 || n >= sizeof(((struct s3hdr *)0)->storage_class))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isupper((unsigned char)cls[i]) && !isdigit((unsigned char)cls[i]) &&
		    cls[i] != '_')
			return 0;
	return 1;
}

int s3hdr_account_id_valid(const char *id)
{
	if (!id || strlen(id) != 12)
		return 0;
	for (int i = 0; i < 12; i++)
		if (!isdigit((unsigned char)id[i]))
			return 0;
	return 1;
}

int s3hdr_ssec_key_parse(const void *data, size_t len, uint8_t out[S3HDR_SSEC_KEY_LEN])
{
	const unsigned char *p = data;
	if (len == S3HDR_SSEC_KEY_LEN) {
		memcpy(out, p, S3HDR_SSEC_KEY_LEN);
		return 0;
	}
	while (len && isspace(p[0])) {
		p++;
		len--;
	}
	while (len && isspace(p[len - 1]))
		len--;
	/* base64 of 32 bytes: 43 digits and one '=' */
	if (len != 44 || p[43] != '=')
		return -EINVAL;
	uint8_t k[S3HDR_SSEC_KEY_LEN + 1];
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < 43; i++) {
		int v = crypto_b64val(p[i]);
		if (v < 0)
			return -EINVAL;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			k[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* 43 digits carry 258 bits: the 2 left over must be zero (canonical) */
	int rc = o == S3HDR_SSEC_KEY_LEN && (acc & ((1u << bits) - 1)) == 0 ? 0 : -EINVAL;
	if (!rc)
		memcpy(out, k, S3HDR_SSEC_KEY_LEN);
	memset(k, 0, sizeof(k));
	return rc;
}

int s3hdr_new(const struct s3hdr_config *cfg, struct s3hdr **out)
{
	*out = NULL;
	struct s3hdr *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	int rc = 0;
	if (!cfg)
		goto done;
	if (cfg->sse && (!s3hdr_sse_valid(cfg->sse) || cfg->ssec_key))
		rc = -EINVAL;
	if (!rc && cfg->sse)
		rc = str_copy(h->sse, sizeof(h->sse), cfg->sse) ? -EINVAL : 0;
	/* a KMS key only names the key of aws:kms or aws:kms:dsse */
	if (!rc && cfg->kms_key_id && (!cfg->kms_key_id[0] || strncmp(h->sse, "aws:kms", 7) != 0))
		rc = -EINVAL;
	if (!rc && cfg->kms_key_id)
		rc = str_copy(h->kms_key_id, sizeof(h->kms_key_id), cfg->kms_key_id) ? -EINVAL : 0;
	if (!rc && cfg->storage_class && !s3hdr_storage_class_valid(cfg->storage_class))
		rc = -EINVAL;
	if (!rc && cfg->storage_class)
		rc = str_copy(h->storage_class, sizeof(h->storage_class), cfg->storage_class)
			 ? -EINVAL
			 : 0;
	if (!rc && cfg->expected_owner && !s3hdr_account_id_valid(cfg->expected_owner))
		rc = -EINVAL;
	if (!rc && cfg->expected_owner)
		rc = str_copy(h->expected_owner, sizeof(h->expected_owner), cfg->expected_owner)
			 ? -EINVAL
			 : 0;
	h->requester_pays = cfg->requester_pays;
	if (!rc && cfg->ssec_key) {
		uint8_t md5[CRYPTO_MD5_LEN];
		crypto_base64(cfg->ssec_key, S3HDR_SSEC_KEY_LEN, h->ssec_key_b64);
		rc = crypto_md5(cfg->ssec_key, S3HDR_SSEC_KEY_LEN, md5);
		crypto_base64(md5, sizeof(md5), h->ssec_key_md5_b64);
		h->ssec = !rc;
	}
done:
	if (rc) {
		s3hdr_free(h);
		return rc;
	}
	*out = h;
	return 0;
}

void s3hdr_free(struct s3hdr *h)
{
	if (!h)
		return;
	/* the SSE-C key is a secret: the compiler must not drop the wipe */
	volatile char *v = (volatile char *)h;
	for (size_t i = 0; i < sizeof(*h); i++)
		v[i] = 0;
	free(h);
}

size_t s3hdr_for(const struct s3hdr *h, enum s3hdr_op op, struct http_header *out)
{
	size_t n = 0;
	if (!h || (unsigned)op >= S3HDR_NOPS)
		return 0;
	unsigned g = s3hdr_groups[op];
	if (g & G_BUCKET) {
		if (h->requester_pays)
			out[n++] = (struct http_header){"x-amz-request-payer", "requester"};
		if (h->expected_owner[0])
			out[n++] =
			    (struct http_header){"x-amz-expected-bucket-owner", h->expected_owner};
	}
	if (g & G_SSE) {
		if (h->sse[0])
			out[n++] = (struct http_header){"x-amz-server-side-encryption", h->sse};
		if (h->kms_key_id[0])
			out[n++] = (struct http_header){
			    "x-amz-server-side-encryption-aws-kms-key-id", h->kms_key_id};
		if (h->storage_class[0])
			out[n++] = (struct http_header){"x-amz-storage-class", h->storage_class};
	}
	if ((g & G_SSEC) && h->ssec) {
		out[n++] = (struct http_header){"x-amz-server-side-encryption-customer-algorithm",
						"AES256"};
		out[n++] = (struct http_header){"x-amz-server-side-encryption-customer-key",
						h->ssec_key_b64};
		out[n++] = (struct http_header){"x-amz-server-side-encryption-customer-key-MD5",
						h->ssec_key_md5_b64};
	}
	if ((g & G_SSEC_SRC) && h->ssec) {
		out[n++] = (struct http_header){
		    "x-amz-copy-source-server-side-encryption-customer-algorithm", "AES256"};
		out[n++] = (struct http_header){
		    "x-amz-copy-source-server-side-encryption-customer-key", h->ssec_key_b64};
		out[n++] = (struct http_header){
		    "x-amz-copy-source-server-side-encryption-customer-key-MD5",
		    h->ssec_key_md5_b64};
	}
	return n;
}

int s3hdr_etag_not_md5(const char *sse, const char *ssec_algorithm)
{
	if (ssec_algorithm && ssec_algorithm[0])
		return 1;
	/* "aws:kms" and "aws:kms:dsse" (the prefix also covers any later KMS
	 * variant: all of them encrypt with a data key S3 does not hash) */
	return sse && strncasecmp(sse, "aws:kms", 7) == 0;
}
