/* test_s3hdr.c: which answers' encryption headers mean the ETag is no MD5. */
#include "s3hdr.h"
#include "t.h"

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
	T_RUN(test_etag_not_md5);
	return T_DONE();
}
