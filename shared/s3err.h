/*
 * s3err.h: the ONE table that maps an S3/HTTP failure to an errno and to what
 * the client should do about it (STYLE.md rule 2). Pure; thread-safe.
 *
 * Input: the HTTP status (0 when no response arrived), the S3 error <Code>
 * (NULL or "" when there was no body, e.g. HEAD), and the transport errno from
 * http_perform() (0 when a response arrived). The S3 code wins over the
 * status when both are known; an unknown code falls back to its status class
 * (an unknown 403 code is still -EACCES).
 *
 * Actions:
 *   S3ERR_FAIL     give up now with err;
 *   S3ERR_RETRY    transient (5xx, SlowDown, 429, RequestTimeout, resets,
 *                  timeouts): back off (retry.h) and retry; err after the last;
 *   S3ERR_REFRESH  expired credentials (ExpiredToken, TokenRefreshRequired):
 *                  creds_invalidate() and retry once;
 *   S3ERR_REGION   wrong region (301 PermanentRedirect, 400
 *                  AuthorizationHeaderMalformed, ...): retry against the region
 *                  from x-amz-bucket-region or <Region>, when one is given.
 */
#ifndef S3ERR_H
#define S3ERR_H

enum s3err_action { S3ERR_FAIL = 0, S3ERR_RETRY, S3ERR_REFRESH, S3ERR_REGION };

struct s3err_class {
	int err; /* negative errno to return if we give up */
	enum s3err_action action;
	int throttle; /* 1: a throttling answer (SlowDown & co., or HTTP 503 / 429
		       * without a known code): retried, and the client sends
		       * less for a while (ratelimit.h) */
};

struct s3err_class s3err_classify(long status, const char *code, int transport_err);

/* Short name of an action for logs ("fail", "retry", "refresh", "region"). */
const char *s3err_action_name(enum s3err_action a);

#endif
