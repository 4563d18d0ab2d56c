/* test_s3hdr.c: the option headers each kind of S3 request carries, present
 * where S3 documents them and absent everywhere else (s3hdr.h has the
 * table); the SSE-C key file forms; which answers' encryption headers mean
 * the ETag is no MD5. */
#include <errno.h>
#include <string.h>

#include "s3hdr.h"
#include "t.h"

static const char *const op_names[S3HDR_NOPS] = {
    "HeadBucket",     "CreateBucket", "DeleteBucket", "ListObjectsV2", "HeadObject", "GetObject",
    "PutObject",      "CopyObject",   "DeleteObject", "DeleteObjects", "CreateMPU",  "UploadPart",
    "UploadPartCopy", "CompleteMPU",  "AbortMPU",     "ListMPUploads",
};

/* The value of header name on op, or NULL when absent. */
static const char *hdr(const struct s3hdr *h, enum s3hdr_op op, const char *name)
{
	struct http_header out[S3HDR_MAX];
	size_t n = s3hdr_for(h, op, out);
	for (size_t i = 0; i < n; i++)
		if (strcmp(out[i].name, name) == 0)
			return out[i].value;
	return NULL;
}

/* Checks that name is on exactly the ops in `on` (a bit per op), with value. */
static void expect(const struct s3hdr *h, const char *name, const char *value, unsigned on)
{
	for (int op = 0; op < S3HDR_NOPS; op++) {
		const char *v = hdr(h, (enum s3hdr_op)op, name);
		int want = (on >> op) & 1;
		int good = want ? v && strcmp(v, value) == 0 : v == NULL;
		if (!good)
			fprintf(stderr, "%s on %s: got [%s], want %s\n", name, op_names[op],
				v ? v : "(absent)", want ? value : "(absent)");
		CHECK(good);
	}
}

#define B(op) (1u << (op))
#define ALL_BUT_CREATE_BUCKET (((1u << S3HDR_NOPS) - 1) & ~B(S3HDR_CREATE_BUCKET))
#define CREATING (B(S3HDR_PUT_OBJECT) | B(S3HDR_COPY_OBJECT) | B(S3HDR_MPU_CREATE))
#define SSEC_OPS                                                                                   \
	(CREATING | B(S3HDR_UPLOAD_PART) | B(S3HDR_UPLOAD_PART_COPY) | B(S3HDR_MPU_COMPLETE) |     \
	 B(S3HDR_GET_OBJECT) | B(S3HDR_HEAD_OBJECT))
#define COPIES (B(S3HDR_COPY_OBJECT) | B(S3HDR_UPLOAD_PART_COPY))

static void test_none(void)
{
	struct s3hdr *h;
	CHECK_INT(s3hdr_new(NULL, &h), 0);
	struct http_header out[S3HDR_MAX];
	for (int op = 0; op < S3HDR_NOPS; op++)
		CHECK_INT(s3hdr_for(h, (enum s3hdr_op)op, out), 0);
	CHECK_INT(s3hdr_for(NULL, S3HDR_PUT_OBJECT, out), 0);
	CHECK_INT(s3hdr_for(h, S3HDR_NOPS, out), 0);
	s3hdr_free(h);
	s3hdr_free(NULL);
}

static void test_kms(void)
{
	struct s3hdr_config cfg = {.sse = "aws:kms",
				   .kms_key_id = "alias/data",
				   .storage_class = "STANDARD_IA",
				   .requester_pays = 1,
				   .expected_owner = "111122223333"};
	struct s3hdr *h;
	CHECK_INT(s3hdr_new(&cfg, &h), 0);
	/* KMS headers on the requests that create an object; never on GET/HEAD
	 * (400), UploadPart or Complete */
	expect(h, "x-amz-server-side-encryption", "aws:kms", CREATING);
	expect(h, "x-amz-server-side-encryption-aws-kms-key-id", "alias/data", CREATING);
	expect(h, "x-amz-storage-class", "STANDARD_IA", CREATING);
	expect(h, "x-amz-request-payer", "requester", ALL_BUT_CREATE_BUCKET);
	expect(h, "x-amz-expected-bucket-owner", "111122223333", ALL_BUT_CREATE_BUCKET);
	expect(h, "x-amz-server-side-encryption-customer-algorithm", "", 0);
	expect(h, "x-amz-copy-source-server-side-encryption-customer-key", "", 0);
	s3hdr_free(h);

	struct s3hdr_config d = {.sse = "aws:kms:dsse"};
	CHECK_INT(s3hdr_new(&d, &h), 0);
	expect(h, "x-amz-server-side-encryption", "aws:kms:dsse", CREATING);
	expect(h, "x-amz-server-side-encryption-aws-kms-key-id", "", 0);
	expect(h, "x-amz-request-payer", "", 0);
	expect(h, "x-amz-expected-bucket-owner", "", 0);
	expect(h, "x-amz-storage-class", "", 0);
	s3hdr_free(h);

	struct s3hdr_config a = {.sse = "AES256"};
	CHECK_INT(s3hdr_new(&a, &h), 0);
	expect(h, "x-amz-server-side-encryption", "AES256", CREATING);
	s3hdr_free(h);
}

static void test_ssec(void)
{
	uint8_t key[S3HDR_SSEC_KEY_LEN];
	for (int i = 0; i < S3HDR_SSEC_KEY_LEN; i++)
		key[i] = (uint8_t)i;
	/* base64 of bytes 0..31, and of their MD5 (python: hashlib.md5(bytes(range(32)))) */
	static const char kb64[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
	static const char mb64[] = "tP/LI3N87DFaSk0aoqYgzg==";
	struct s3hdr_config cfg = {.ssec_key = key, .storage_class = "STANDARD"};
	struct s3hdr *h;
	CHECK_INT(s3hdr_new(&cfg, &h), 0);
	expect(h, "x-amz-server-side-encryption-customer-algorithm", "AES256", SSEC_OPS);
	expect(h, "x-amz-server-side-encryption-customer-key", kb64, SSEC_OPS);
	expect(h, "x-amz-server-side-encryption-customer-key-MD5", mb64, SSEC_OPS);
	expect(h, "x-amz-copy-source-server-side-encryption-customer-algorithm", "AES256", COPIES);
	expect(h, "x-amz-copy-source-server-side-encryption-customer-key", kb64, COPIES);
	expect(h, "x-amz-copy-source-server-side-encryption-customer-key-MD5", mb64, COPIES);
	expect(h, "x-amz-server-side-encryption", "", 0);
	expect(h, "x-amz-storage-class", "STANDARD", CREATING);
	s3hdr_free(h);
}

static void test_bad_config(void)
{
	uint8_t key[S3HDR_SSEC_KEY_LEN] = {0};
	struct s3hdr *h = (struct s3hdr *)1;
	const struct s3hdr_config bad[] = {
	    {.sse = "aws:kms2"},
	    {.sse = "aes256"},
	    {.sse = "AES256", .ssec_key = key}, /* one encryption per object */
	    {.kms_key_id = "k"},		/* a KMS key without KMS */
	    {.sse = "AES256", .kms_key_id = "k"},
	    {.sse = "aws:kms", .kms_key_id = ""},
	    {.storage_class = "standard"},
	    {.storage_class = ""},
	    {.expected_owner = "12345"},
	    {.expected_owner = "11112222333a"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(s3hdr_new(&bad[i], &h), -EINVAL);
		CHECK(h == NULL);
	}
	CHECK(s3hdr_storage_class_valid("GLACIER_IR"));
	CHECK(s3hdr_account_id_valid("000000000000"));
}

static void test_key_parse(void)
{
	uint8_t k[S3HDR_SSEC_KEY_LEN], want[S3HDR_SSEC_KEY_LEN];
	for (int i = 0; i < S3HDR_SSEC_KEY_LEN; i++)
		want[i] = (uint8_t)i;
	CHECK_INT(s3hdr_ssec_key_parse(want, sizeof(want), k), 0); /* raw */
	CHECK(memcmp(k, want, sizeof(k)) == 0);
	const char *b64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
	memset(k, 0xee, sizeof(k));
	CHECK_INT(s3hdr_ssec_key_parse(b64, strlen(b64), k), 0);
	CHECK(memcmp(k, want, sizeof(k)) == 0);
	const char *b64nl = "  AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";
	CHECK_INT(s3hdr_ssec_key_parse(b64nl, strlen(b64nl), k), 0);
	CHECK(memcmp(k, want, sizeof(k)) == 0);
	const char *bad[] = {
	    "",
	    "short",
	    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",	/* no padding */
	    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh==",	/* 31 bytes */
	    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=",	/* not canonical */
	    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd*h8=",	/* not base64 */
	    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8AAAA=", /* 35 bytes */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(s3hdr_ssec_key_parse(bad[i], strlen(bad[i]), k), -EINVAL);
	CHECK_INT(s3hdr_ssec_key_parse(want, 31, k), -EINVAL);
	uint8_t longer[S3HDR_SSEC_KEY_LEN + 1]; /* 33 raw bytes: neither form */
	memcpy(longer, want, sizeof(want));
	longer[S3HDR_SSEC_KEY_LEN] = 0x20;
	CHECK_INT(s3hdr_ssec_key_parse(longer, sizeof(longer), k), -EINVAL);
}

static void test_etag_not_md5(void)
{
	CHECK_INT(s3hdr_etag_not_md5(NULL, NULL), 0);
	CHECK_INT(s3hdr_etag_not_md5("", ""), 0);
	CHECK_INT(s3hdr_etag_not_md5("AES256", NULL), 0); /* SSE-S3: an MD5 */
	CHECK_INT(s3hdr_etag_not_md5("aws:kms", NULL), 1);
	CHECK_INT(s3hdr_etag_not_md5("aws:kms:dsse", NULL), 1);
	CHECK_INT(s3hdr_etag_not_md5("AWS:KMS", ""), 1);
	CHECK_INT(s3hdr_etag_not_md5(NULL, "AES256"), 1); /* SSE-C */
	CHECK_INT(s3hdr_etag_not_md5("AES256", "AES256"), 1);
	CHECK_INT(s3hdr_etag_not_md5("aws:km", NULL), 0);
	CHECK_INT(s3hdr_etag_not_md5("something-new", NULL), 0); /* unknown: still checked */
}

int main(void)
{
	T_RUN(test_none);
	T_RUN(test_kms);
	T_RUN(test_ssec);
	T_RUN(test_bad_config);
	T_RUN(test_key_parse);
	T_RUN(test_etag_not_md5);
	return T_DONE();
}
