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
};

static const struct s3err_entry s3err_table[] = {
    /* not found */
    {"NoSuchKey", -ENOENT, S3ERR_FAIL},
    {"NoSuchUpload", -ENOENT, S3ERR_FAIL},
    {"NoSuchVersion", -ENOENT, S3ERR_FAIL},
    {"NoSuchBucket", -ENXIO, S3ERR_FAIL},
    /* permission */
    {"AccessDenied", -EACCES, S3ERR_FAIL},
    {"AllAccessDisabled", -EACCES, S3ERR_FAIL},
    {"AccountProblem", -EACCES, S3ERR_FAIL},
    {"InvalidAccessKeyId", -EACCES, S3ERR_FAIL},
    {"SignatureDoesNotMatch", -EACCES, S3ERR_FAIL},
    {"InvalidToken", -EACCES, S3ERR_FAIL},
    {"InvalidSecurity", -EACCES, S3ERR_FAIL},
    {"RequestTimeTooSkewed", -EACCES, S3ERR_FAIL},
    {"InvalidObjectState", -EACCES, S3ERR_FAIL},
    {"UnauthorizedAccess", -EACCES, S3ERR_FAIL},
    /* credentials to refresh */
    {"ExpiredToken", -EACCES, S3ERR_REFRESH},
    {"TokenRefreshRequired", -EACCES, S3ERR_REFRESH},
    /* wrong region */
    {"PermanentRedirect", -EIO, S3ERR_REGION},
    {"TemporaryRedirect", -EIO, S3ERR_REGION},
    {"AuthorizationHeaderMalformed", -EIO, S3ERR_REGION},
    {"IllegalLocationConstraintException", -EIO, S3ERR_REGION},
    /* conditions and ranges */
    {"PreconditionFailed", -ESTALE, S3ERR_FAIL},
    {"InvalidRange", -ERANGE, S3ERR_FAIL},
    /* sizes and names */
    {"EntityTooLarge", -EFBIG, S3ERR_FAIL},
    {"EntityTooSmall", -EINVAL, S3ERR_FAIL},
    {"KeyTooLongError", -ENAMETOOLONG, S3ERR_FAIL},
    {"MetadataTooLarge", -E2BIG, S3ERR_FAIL},
    {"QuotaExceeded", -EDQUOT, S3ERR_FAIL},
    /* malformed requests: our bug or an unsupported request */
    {"InvalidArgument", -EINVAL, S3ERR_FAIL},
    {"InvalidRequest", -EINVAL, S3ERR_FAIL},
    {"InvalidPart", -EINVAL, S3ERR_FAIL},
    {"InvalidPartOrder", -EINVAL, S3ERR_FAIL},
    {"MalformedXML", -EINVAL, S3ERR_FAIL},
    {"InvalidDigest", -EINVAL, S3ERR_FAIL},
    {"InvalidBucketName", -EINVAL, S3ERR_FAIL},
    {"MissingContentLength", -EINVAL, S3ERR_FAIL},
    {"NotImplemented", -EOPNOTSUPP, S3ERR_FAIL},
    {"MethodNotAllowed", -EOPNOTSUPP, S3ERR_FAIL},
    /* buckets */
    {"BucketAlreadyOwnedByYou", -EEXIST, S3ERR_FAIL},
    {"BucketAlreadyExists", -EEXIST, S3ERR_FAIL},
    {"BucketNotEmpty", -ENOTEMPTY, S3ERR_FAIL},
    /* transient: back off and retry */
    {"SlowDown", -EIO, S3ERR_RETRY},
    {"SlowDownRead", -EIO, S3ERR_RETRY},
    {"SlowDownWrite", -EIO, S3ERR_RETRY},
    {"Throttling", -EIO, S3ERR_RETRY},
    {"ThrottlingException", -EIO, S3ERR_RETRY},
    {"ThrottledException", -EIO, S3ERR_RETRY},
    {"RequestThrottled", -EIO, S3ERR_RETRY},
    {"RequestLimitExceeded", -EIO, S3ERR_RETRY},
    {"TooManyRequestsException", -EIO, S3ERR_RETRY},
    {"InternalError", -EIO, S3ERR_RETRY},
    {"ServiceUnavailable", -EIO, S3ERR_RETRY},
    {"RequestTimeout", -ETIMEDOUT, S3ERR_RETRY},
    {"RequestTimeoutException", -ETIMEDOUT, S3ERR_RETRY},
    {"OperationAborted", -EIO, S3ERR_RETRY},
    {"BadDigest", -EIO, S3ERR_RETRY},
    {"XAmzContentSHA256Mismatch", -EIO, S3ERR_RETRY},
    {"IncompleteBody", -EIO, S3ERR_RETRY},
};

static struct s3err_class s3err_by_status(long status)
{
	struct s3err_class c = {-EIO, S3ERR_FAIL};
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
	struct s3err_class c = {-EIO, S3ERR_FAIL};
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
				struct s3err_class c = {s3err_table[i].err, s3err_table[i].action};
				return c;
			}
	}
	return s3err_by_status(status);
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
