/*
 * s3err.c: see s3err.h. Codes from the S3 API reference "List of error codes",
 * plus the throttling spellings other AWS front ends use, plus RGW's own
 * (QuotaExceeded). Retryable: what the AWS SDKs retry for S3 (throttling,
 * transient server faults, RequestTimeout) and BadDigest /
 * XAmzContentSHA256Mismatch / IncompleteBody, which mean the bytes were
 * damaged on the wire and a resend of the same body is the right answer.
 */
#include "s3err.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

struct s3err_entry {
	const char *code;
	int err;
	enum s3err_action action;
	int throttle; /* "send less": the client's rate limits apply */
};

static const struct s3err_entry s3err_table[] = {
    /* not found */
    {"NoSuchKey", -ENOENT, S3ERR_FAIL, 0},
    {"NoSuchUpload", -ENOENT, S3ERR_FAIL, 0},
    {"NoSuchVersion", -ENOENT, S3ERR_FAIL, 0},
    {"NoSuchBucket", -ENXIO, S3ERR_FAIL, 0},
    /* permission */
    {"AccessDenied", -EACCES, S3ERR_FAIL, 0},
    {"AllAccessDisabled", -EACCES, S3ERR_FAIL, 0},
    {"AccountProblem", -EACCES, S3ERR_FAIL, 0},
    {"InvalidAccessKeyId", -EACCES, S3ERR_FAIL, 0},
    {"SignatureDoesNotMatch", -EACCES, S3ERR_FAIL, 0},
    {"InvalidToken", -EACCES, S3ERR_FAIL, 0},
    {"InvalidSecurity", -EACCES, S3ERR_FAIL, 0},
    {"RequestTimeTooSkewed", -EACCES, S3ERR_FAIL, 0},
    {"InvalidObjectState", -EACCES, S3ERR_FAIL, 0},
    {"UnauthorizedAccess", -EACCES, S3ERR_FAIL, 0},
    /* credentials to refresh */
    {"ExpiredToken", -EACCES, S3ERR_REFRESH, 0},
    {"TokenRefreshRequired", -EACCES, S3ERR_REFRESH, 0},
    /* wrong region */
    {"PermanentRedirect", -EIO, S3ERR_REGION, 0},
    {"TemporaryRedirect", -EIO, S3ERR_REGION, 0},
    {"AuthorizationHeaderMalformed", -EIO, S3ERR_REGION, 0},
    {"IllegalLocationConstraintException", -EIO, S3ERR_REGION, 0},
    /* conditions and ranges */
    {"PreconditionFailed", -ESTALE, S3ERR_FAIL, 0},
    /* two conditional writes of one key at once: the loser starts again */
    {"ConditionalRequestConflict", -EBUSY, S3ERR_FAIL, 0},
    {"InvalidRange", -ERANGE, S3ERR_FAIL, 0},
    /* sizes and names */
    {"EntityTooLarge", -EFBIG, S3ERR_FAIL, 0},
    {"EntityTooSmall", -EINVAL, S3ERR_FAIL, 0},
    {"KeyTooLongError", -ENAMETOOLONG, S3ERR_FAIL, 0},
    {"MetadataTooLarge", -E2BIG, S3ERR_FAIL, 0},
    {"QuotaExceeded", -EDQUOT, S3ERR_FAIL, 0},
    /* malformed requests: our bug or an unsupported request */
    {"InvalidArgument", -EINVAL, S3ERR_FAIL, 0},
    {"InvalidRequest", -EINVAL, S3ERR_FAIL, 0},
    {"InvalidPart", -EINVAL, S3ERR_FAIL, 0},
    {"InvalidPartOrder", -EINVAL, S3ERR_FAIL, 0},
    {"MalformedXML", -EINVAL, S3ERR_FAIL, 0},
    {"InvalidDigest", -EINVAL, S3ERR_FAIL, 0},
    {"InvalidBucketName", -EINVAL, S3ERR_FAIL, 0},
    {"MissingContentLength", -EINVAL, S3ERR_FAIL, 0},
    {"NotImplemented", -EOPNOTSUPP, S3ERR_FAIL, 0},
    {"MethodNotAllowed", -EOPNOTSUPP, S3ERR_FAIL, 0},
    /* buckets */
    {"BucketAlreadyOwnedByYou", -EEXIST, S3ERR_FAIL, 0},
    {"BucketAlreadyExists", -EEXIST, S3ERR_FAIL, 0},
    {"BucketNotEmpty", -ENOTEMPTY, S3ERR_FAIL, 0},
    /* transient: back off and retry */
    {"SlowDown", -EIO, S3ERR_RETRY, 1},
    {"SlowDownRead", -EIO, S3ERR_RETRY, 1},
    {"SlowDownWrite", -EIO, S3ERR_RETRY, 1},
    {"Throttling", -EIO, S3ERR_RETRY, 1},
    {"ThrottlingException", -EIO, S3ERR_RETRY, 1},
    {"ThrottledException", -EIO, S3ERR_RETRY, 1},
    {"RequestThrottled", -EIO, S3ERR_RETRY, 1},
    {"RequestLimitExceeded", -EIO, S3ERR_RETRY, 1},
    {"TooManyRequestsException", -EIO, S3ERR_RETRY, 1},
    {"InternalError", -EIO, S3ERR_RETRY, 0},
    {"ServiceUnavailable", -EIO, S3ERR_RETRY, 0},
    {"RequestTimeout", -ETIMEDOUT, S3ERR_RETRY, 0},
    {"RequestTimeoutException", -ETIMEDOUT, S3ERR_RETRY, 0},
    {"OperationAborted", -EIO, S3ERR_RETRY, 0},
    {"BadDigest", -EIO, S3ERR_RETRY, 0},
    {"XAmzContentSHA256Mismatch", -EIO, S3ERR_RETRY, 0},
    {"IncompleteBody", -EIO, S3ERR_RETRY, 0},
};

static struct s3err_class s3err_by_status(long status)
{
	struct s3err_class c = {-EIO, S3ERR_FAIL, 0};
	switch (status) {
	case 301:
	case 307:
		c.action = S3ERR_REGION;
		break;
	case 400:
		c.err = -EINVAL;
		break;
	case 401:
	case 403:
		c.err = -EACCES;
		break;
	case 404:
		c.err = -ENOENT;
		break;
	case 405:
	case 501:
		c.err = -EOPNOTSUPP;
		break;
	case 409:
		c.err = -EBUSY;
		break;
	case 411:
		c.err = -EINVAL;
		break;
	case 412:
		c.err = -ESTALE;
		break;
	case 413:
		c.err = -EFBIG;
		break;
	case 416:
		c.err = -ERANGE;
		break;
	case 429:
		c.action = S3ERR_RETRY;
		break;
	default:
		/* Any other 5xx (500, 502, 503, 504, ...) is the server's
		 * trouble and worth another try; other codes are not. */
		if (status >= 500 && status <= 599)
			c.action = S3ERR_RETRY;
		break;
	}
	return c;
}

static struct s3err_class s3err_by_transport(int err)
{
	struct s3err_class c = {-EIO, S3ERR_FAIL, 0};
	switch (err) {
	case -ETIMEDOUT:
		c.err = -ETIMEDOUT;
		c.action = S3ERR_RETRY;
		break;
	case -ECONNRESET:
	case -ECONNREFUSED:
	case -EHOSTUNREACH:
	case -ECONNABORTED:
	case -EPIPE:
		c.action = S3ERR_RETRY;
		break;
	case -ENOMEM:
	case -ECANCELED:
	case -EINVAL:
	case -E2BIG:
		/* Our own limits or the caller's sink: a retry would fail the
		 * same way. */
		c.err = err;
		break;
	default:
		/* TLS verification and protocol errors: not transient. */
		break;
	}
	return c;
}

struct s3err_class s3err_classify(long status, const char *code, int transport_err)
{
	if (transport_err)
		return s3err_by_transport(transport_err);
	if (code && code[0]) {
		for (size_t i = 0; i < sizeof(s3err_table) / sizeof(s3err_table[0]); i++)
			if (strcmp(s3err_table[i].code, code) == 0) {
				struct s3err_class c = {s3err_table[i].err, s3err_table[i].action,
							s3err_table[i].throttle};
				return c;
			}
	}
	struct s3err_class c = s3err_by_status(status);
	/* S3 throttles with 503 (SlowDown, also without a body: HEAD) and
	 * other front ends with 429. */
	c.throttle = status == 429 || status == 503;
	return c;
}

const char *s3err_action_name(enum s3err_action a)
{
	switch (a) {
	case S3ERR_RETRY:
		return "retry";
	case S3ERR_REFRESH:
		return "refresh";
	case S3ERR_REGION:
		return "region";
	case S3ERR_FAIL:
	default:
		return "fail";
	}
}
