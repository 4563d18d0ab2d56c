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
 * The chain is walked once, by creds_provider_new(); later refreshes ask the
 * source that answered (as the SDKs do). A source that is not configured (no
 * variables, no such profile keys, IMDS disabled or unreachable, no instance
 * role) passes to the next; a configured source that fails (a malformed
 * file, a profile named explicitly that does not exist, partial keys, an ECS
 * endpoint that is not allowed or refuses) stops the chain with its error.
 * Profiles that need assume-role, SSO or credential_process are not supported:
 * they are skipped with a warning. A credentials file readable by group or
 * others is loaded with a warning.
 *
 * Temporary credentials (ECS, IMDS) are refreshed when fewer than 5 minutes
 * remain, at most once a second (CREDS_RETRY_MS: a source that keeps serving
 * nearly expired sets, or that is down, is not hammered); while one thread
 * refreshes, the others keep using the current set if it has not expired,
 * else wait for the refresh and share its outcome. If a refresh fails, the
 * current set is kept until it really expires; after that, creds_get() fails
 * with the refresh's error (an expired set is never handed out) and the next
 * call at least CREDS_RETRY_MS later asks the source again. creds_get()
 * is safe from any thread and copies the current set out under a lock, so a
 * refresh never tears a set in half. The IMDSv2 session token is cached for
 * its TTL and fetched again on a 401. Secrets and tokens are never logged.
 * Errors of creds_provider_new(): -ENOENT when no source in the chain has
 * credentials, -EACCES when a source answered but refused, -EIO when one did
 * not answer (transport failure, 5xx, throttling), -EINVAL for bad
 * configuration. Errors of creds_get(), where a failure must not read as an
 * answer about the bucket: -EACCES when the source refused, -EIO when it did
 * not answer as it did before (unreachable, 5xx, throttled, the role or
 * profile gone, an unusable document), which is transient and worth
 * retrying; never -ENOENT. The source and the reason go to the log.
 */
#ifndef CREDS_H
#define CREDS_H
#include <stddef.h>
#include <time.h>

#define CREDS_FIELD_MAX 2048 /* session tokens can be long */
#define CREDS_RETRY_MS 1000  /* ms between two refresh attempts, at least */

struct creds_opts {
	const char *profile;	  /* NULL: AWS_PROFILE or "default" */
	int anonymous;		  /* sign nothing */
	int imds_v1_fallback;	  /* allow IMDSv1 when the token PUT fails */
	long timeout_ms;	  /* per metadata request; 0 = 1000 */
	const char *ecs_base_url; /* NULL: "http://169.254.170.2", the base of
				   * AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
				   * (tests point it at a loopback server) */
};

struct creds {
	char access_key[128];
	char secret_key[256];
	char session_token[CREDS_FIELD_MAX];
	time_t expiration; /* 0 = does not expire */
	int anonymous;
	char source[32]; /* "env", "profile", "ecs", "imds", "anonymous" */
};

struct creds_provider;

/* Resolves the chain once (so a mount fails early without credentials). */
int creds_provider_new(const struct creds_opts *opts, struct creds_provider **out);
void creds_provider_free(struct creds_provider *p);
/* Copies the current credentials out, refreshing them first when they expire
 * within 5 minutes. -EIO or -EACCES when the set has expired and could not
 * be refreshed (see Errors above). */
int creds_get(struct creds_provider *p, struct creds *out);
/* "env", "profile", "ecs", "imds" or "anonymous": the source of the current
 * set, fixed once creds_provider_new() succeeded (for log lines). */
const char *creds_source_name(const struct creds_provider *p);
/* Marks the current set as expired (after an ExpiredToken answer), so the next
 * creds_get() refreshes from the same source. Calls within a second of the
 * last refresh are ignored: requests signed before it may still fail. */
void creds_invalidate(struct creds_provider *p);

/* The region named by the profile in the config file ("" when none), for
 * s3mount's region default; -ENOENT when none is set. */
int creds_profile_region(const char *profile, char *out, size_t cap);

/* Pure helpers, exported for tests. */

/* The IMDS base URL (no trailing '/'): endpoint_override, else
 * AWS_EC2_METADATA_SERVICE_ENDPOINT (env_endpoint), else the profile's
 * ec2_metadata_service_endpoint; otherwise by mode (mode_override, env
 * AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE, profile
 * ec2_metadata_service_endpoint_mode; "IPv4" (default) or "IPv6", any case).
 * -EINVAL with a message in err for a bad URL or mode. */
struct creds_imds_cfg {
	const char *endpoint_override, *mode_override;
	const char *env_endpoint, *env_mode;
	const char *cfg_endpoint, *cfg_mode;
};
int creds_imds_endpoint(const struct creds_imds_cfg *c, char *out, size_t cap, char *err,
			size_t errcap);

/* The container credentials URL: base (NULL: http://169.254.170.2) +
 * relative when relative is set (it wins), else full, which must be https or
 * name a loopback host (localhost, 127.0.0.0/8, ::1) or the ECS / EKS Pod
 * Identity addresses (169.254.170.2, 169.254.170.23, fd00:ec2::23). Host names
 * other than localhost over http are refused (they would need a DNS check).
 * -ENOENT when neither is set, -EINVAL with a message in err otherwise. */
int creds_ecs_uri(const char *relative, const char *full, const char *base, char *out, size_t cap,
		  char *err, size_t errcap);

#endif
