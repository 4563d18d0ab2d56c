/*
 * test_s3err.c: the one errno table. The mapping promised in s3.h, the
 * retryable set of the issue (500/502/503/504, SlowDown, 429, RequestTimeout,
 * resets, timeouts; other 4xx not), the credential-refresh and region cases,
 * and mountpoint-s3's recorded error cases (status + body + header) from
 * ../shared/testdata/s3-xml/mountpoint-s3-errors/cases.json.
 */
#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3err.h"
#include "s3xml.h"
#include "t.h"

#define DIR_MP S3M_SHARED_DIR "/testdata/s3-xml/mountpoint-s3-errors"

struct want {
	long status;
	const char *code;
	int transport;
	int err;
	enum s3err_action action;
};

static const struct want table[] = {
    /* s3.h's promised mapping */
    {404, "NoSuchKey", 0, -ENOENT, S3ERR_FAIL},
    {404, NULL, 0, -ENOENT, S3ERR_FAIL},
    {403, "AccessDenied", 0, -EACCES, S3ERR_FAIL},
    {403, NULL, 0, -EACCES, S3ERR_FAIL},
    {403, "SignatureDoesNotMatch", 0, -EACCES, S3ERR_FAIL},
    {403, "InvalidAccessKeyId", 0, -EACCES, S3ERR_FAIL},
    {404, "NoSuchBucket", 0, -ENXIO, S3ERR_FAIL},
    {412, "PreconditionFailed", 0, -ESTALE, S3ERR_FAIL},
    {412, NULL, 0, -ESTALE, S3ERR_FAIL},
    {416, "InvalidRange", 0, -ERANGE, S3ERR_FAIL},
    {416, NULL, 0, -ERANGE, S3ERR_FAIL},
    {400, "EntityTooLarge", 0, -EFBIG, S3ERR_FAIL},
    {404, "NoSuchUpload", 0, -ENOENT, S3ERR_FAIL},
    {409, "BucketAlreadyOwnedByYou", 0, -EEXIST, S3ERR_FAIL},
    {409, "BucketNotEmpty", 0, -ENOTEMPTY, S3ERR_FAIL},
    {400, "InvalidPart", 0, -EINVAL, S3ERR_FAIL},
    {400, "KeyTooLongError", 0, -ENAMETOOLONG, S3ERR_FAIL},
    /* retryable */
    {500, NULL, 0, -EIO, S3ERR_RETRY},
    {500, "InternalError", 0, -EIO, S3ERR_RETRY},
    {502, NULL, 0, -EIO, S3ERR_RETRY},
    {503, NULL, 0, -EIO, S3ERR_RETRY},
    {503, "SlowDown", 0, -EIO, S3ERR_RETRY},
    {504, NULL, 0, -EIO, S3ERR_RETRY},
    {429, NULL, 0, -EIO, S3ERR_RETRY},
    {400, "RequestTimeout", 0, -ETIMEDOUT, S3ERR_RETRY},
    {200, "InternalError", 0, -EIO, S3ERR_RETRY}, /* Complete's 200 + <Error> */
    {400, "BadDigest", 0, -EIO, S3ERR_RETRY},
    {0, NULL, -ECONNRESET, -EIO, S3ERR_RETRY},
    {0, NULL, -ECONNREFUSED, -EIO, S3ERR_RETRY},
    {0, NULL, -EHOSTUNREACH, -EIO, S3ERR_RETRY},
    {0, NULL, -ETIMEDOUT, -ETIMEDOUT, S3ERR_RETRY},
    /* not retryable transport failures */
    {0, NULL, -EPROTO, -EIO, S3ERR_FAIL},
    {0, NULL, -ECANCELED, -ECANCELED, S3ERR_FAIL},
    {0, NULL, -ENOMEM, -ENOMEM, S3ERR_FAIL},
    {0, NULL, -E2BIG, -E2BIG, S3ERR_FAIL},
    /* other 4xx: not retried */
    {400, NULL, 0, -EINVAL, S3ERR_FAIL},
    {400, "InvalidArgument", 0, -EINVAL, S3ERR_FAIL},
    {405, NULL, 0, -EOPNOTSUPP, S3ERR_FAIL},
    {409, NULL, 0, -EBUSY, S3ERR_FAIL},
    {418, NULL, 0, -EIO, S3ERR_FAIL},
    /* credentials */
    {400, "ExpiredToken", 0, -EACCES, S3ERR_REFRESH},
    {403, "TokenRefreshRequired", 0, -EACCES, S3ERR_REFRESH},
    {400, "InvalidToken", 0, -EACCES, S3ERR_FAIL},
    /* region */
    {301, "PermanentRedirect", 0, -EIO, S3ERR_REGION},
    {301, NULL, 0, -EIO, S3ERR_REGION}, /* HEAD: no body */
    {400, "AuthorizationHeaderMalformed", 0, -EIO, S3ERR_REGION},
    /* unknown codes fall back to the status class */
    {403, "NotARealError", 0, -EACCES, S3ERR_FAIL},
    {503, "SomethingNew", 0, -EIO, S3ERR_RETRY},
    {404, "", 0, -ENOENT, S3ERR_FAIL},
};

static void test_table(void)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct want *w = &table[i];
		struct s3err_class c = s3err_classify(w->status, w->code, w->transport);
		char name[128];
		snprintf(name, sizeof(name), "%ld/%s/%d -> %d %s", w->status,
			 w->code ? w->code : "-", w->transport, w->err,
			 s3err_action_name(w->action));
		if (c.err != w->err || c.action != w->action)
			fprintf(stderr, "  got %d %s\n", c.err, s3err_action_name(c.action));
		T_CASE(name, c.err == w->err && c.action == w->action);
	}
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct buf b;
	buf_init(&b, 1 << 20);
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_add(&b, tmp, n);
	fclose(f);
	return buf_detach(&b, len);
}

/* mountpoint's classification, restated in our terms. */
static void test_mountpoint_cases(void)
{
	size_t len;
	char *s = slurp(DIR_MP "/cases.json", &len);
	cJSON *j = s ? cJSON_ParseWithLength(s, len) : NULL;
	free(s);
	CHECK(j != NULL);
	if (!j)
		return;
	const cJSON *c;
	int n = 0;
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "cases"))
	{
		const char *file = cJSON_GetObjectItemCaseSensitive(c, "file")->valuestring;
		long status = (long)cJSON_GetObjectItemCaseSensitive(c, "status")->valuedouble;
		const char *cls =
		    cJSON_GetObjectItemCaseSensitive(c, "mountpoint_classification")->valuestring;
		const cJSON *hdr = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(c, "headers"), "x-amz-bucket-region");
		char path[1024];
		snprintf(path, sizeof(path), DIR_MP "/%s", file);
		char *body = slurp(path, &len);
		struct s3xml_error e;
		int ok = body && s3xml_parse_error(body, len, &e) == 0;
		free(body);
		struct s3err_class k = s3err_classify(status, ok ? e.code : NULL, 0);
		if (ok && strncmp(cls, "IncorrectRegion(", 16) == 0) {
			/* The region comes from the header, or from <Region>. */
			const char *want = cls + 16;
			const char *got = cJSON_IsString(hdr) ? hdr->valuestring : e.region;
			ok = k.action == S3ERR_REGION && strncmp(got, want, strlen(got)) == 0 &&
			     want[strlen(got)] == ')';
			if (strcmp(e.code, "AuthorizationHeaderMalformed") == 0)
				ok &= strcmp(e.region, "us-west-2") == 0;
		} else if (ok && strncmp(cls, "Forbidden", 9) == 0) {
			ok = k.err == -EACCES;
			if (strcmp(e.code, "ExpiredToken") == 0)
				ok &= k.action == S3ERR_REFRESH;
			else
				ok &= k.action == S3ERR_FAIL;
		} else if (ok && strcmp(cls, "NoSuchBucket") == 0) {
			ok = k.err == -ENXIO && k.action == S3ERR_FAIL;
		} else if (ok && strstr(cls, "retried")) {
			ok = k.action == S3ERR_RETRY;
		} else {
			ok = 0;
		}
		T_CASE(file, ok);
		n++;
	}
	cJSON_Delete(j);
	CHECK_INT(n, 9);
}

/* Which answers are throttling (ratelimit.h): the SlowDown family and bare
 * 503 / 429; not other 5xx, not transport failures, not a 503 whose code
 * says the server is in trouble rather than busy. */
static void test_throttle(void)
{
	CHECK_INT(s3err_classify(503, "SlowDown", 0).throttle, 1);
	CHECK_INT(s3err_classify(503, NULL, 0).throttle, 1); /* HEAD: no body */
	CHECK_INT(s3err_classify(429, NULL, 0).throttle, 1);
	CHECK_INT(s3err_classify(400, "Throttling", 0).throttle, 1);
	CHECK_INT(s3err_classify(400, "RequestLimitExceeded", 0).throttle, 1);
	CHECK_INT(s3err_classify(503, "SlowDownWrite", 0).throttle, 1);
	CHECK_INT(s3err_classify(503, "SomethingNew", 0).throttle, 1);
	CHECK_INT(s3err_classify(500, "InternalError", 0).throttle, 0);
	CHECK_INT(s3err_classify(503, "ServiceUnavailable", 0).throttle, 0);
	CHECK_INT(s3err_classify(502, NULL, 0).throttle, 0);
	CHECK_INT(s3err_classify(0, NULL, -ECONNRESET).throttle, 0);
	CHECK_INT(s3err_classify(404, "NoSuchKey", 0).throttle, 0);
}

int main(void)
{
	test_table();
	T_RUN(test_throttle);
	T_RUN(test_mountpoint_cases);
	return T_DONE();
}
