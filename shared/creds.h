/*
 * creds.h: the AWS credentials chain, in the AWS CLI's order:
 *   1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN;
 *   2. profile (opts->profile, else AWS_PROFILE, else "default") from the shared
 *      credentials and config files (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE,
 *      defaults ~/.aws/credentials and ~/.aws/config);
 *   3. ECS container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or
 *      _FULL_URI, with AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]);
 *   4. EC2 instance role through IMDSv2 (token PUT, role name, credentials JSON);
 *      AWS_EC2_METADATA_SERVICE_ENDPOINT overrides the address and
 *      AWS_EC2_METADATA_DISABLED=true turns it off; IMDSv1 fallback only when
 *      opts->imds_v1_fallback is set.
 * opts->anonymous skips the chain: requests go unsigned.
 *
 * Temporary credentials (ECS, IMDS, a profile session token with expiry) are
 * refreshed when fewer than 5 minutes remain; creds_get() is safe from any
 * thread and copies the current set out under a lock, so a refresh never tears
 * a set in half. Secrets are never logged.
 * Errors: -ENOENT when no source in the chain has credentials, -EACCES when a
 * source answered but refused, -EIO on transport failure; detail in the log.
 */
#ifndef CREDS_H
#define CREDS_H
#include <stddef.h>
#include <time.h>

#define CREDS_FIELD_MAX 2048 /* session tokens can be long */

struct creds_opts {
	const char *profile;      /* NULL: AWS_PROFILE or "default" */
	int anonymous;            /* sign nothing */
	int imds_v1_fallback;     /* allow IMDSv1 when the token PUT fails */
	long timeout_ms;          /* per metadata request; 0 = 1000 */
};

struct creds {
	char access_key[128];
	char secret_key[256];
	char session_token[CREDS_FIELD_MAX];
	time_t expiration;        /* 0 = does not expire */
	int anonymous;
	char source[32];          /* "env", "profile", "ecs", "imds", "anonymous" */
};

struct creds_provider;

/* Resolves the chain once (so a mount fails early without credentials). */
int creds_provider_new(const struct creds_opts *opts, struct creds_provider **out);
void creds_provider_free(struct creds_provider *p);
/* Copies the current credentials out, refreshing them first when they expire
 * within 5 minutes. */
int creds_get(struct creds_provider *p, struct creds *out);
/* Marks the current set as expired (after an ExpiredToken answer), so the next
 * creds_get() refreshes. */
void creds_invalidate(struct creds_provider *p);

/* The region named by the profile in the config file ("" when none), for
 * s3mount's region default; -ENOENT when none is set. */
int creds_profile_region(const char *profile, char *out, size_t cap);

#endif
