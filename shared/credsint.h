/*
 * credsint.h: what creds.c (the chain, the environment and profile links,
 * refresh and locking) and credsmeta.c (the metadata-service links: the
 * ECS/EKS container endpoint and IMDSv2) share, private to them: everyone
 * else includes creds.h. Locking is stated per field of the provider; errors
 * are negative errno, and a link that is not configured returns CREDS_NEXT.
 */
#ifndef CREDSINT_H
#define CREDSINT_H
#include <pthread.h>
#include <stddef.h>

#include "creds.h"

struct http_pool;

#define CREDS_NEXT 1 /* a link is not configured: try the next */

enum source { SRC_NONE, SRC_ENV, SRC_PROFILE, SRC_ECS, SRC_IMDS };

struct creds_provider {
	pthread_mutex_t lock;
	pthread_cond_t cond;	/* signalled when a refresh ends */
	struct creds cur;	/* protected by lock */
	int refreshing;		/* a thread is fetching; protected by lock */
	int invalid;		/* creds_invalidate() was called; protected by lock */
	long long last_attempt; /* monotonic ms of the last fetch; protected by lock */
	int last_err;		/* what the last refresh ended with (0, -EIO,
				 * -EACCES), for the calls that come before the
				 * next may start; protected by lock */
	enum source src;	/* the link that answered; fixed after _new */
	int anonymous;
	int imds_v1_fallback;
	long timeout_ms;
	char *profile; /* explicit profile name or NULL */
	char *ecs_base;
	char cfg_imds_endpoint[512]; /* from the config file, read once */
	char cfg_imds_mode[16];
	struct http_pool *http; /* created on first metadata request */
	/* IMDSv2 session: used only by the thread that refreshes (one at a
	 * time, see refreshing) or by _new before other threads exist. */
	char imds_token[1024];
	long long imds_token_until; /* monotonic ms */
	int imds_v1;		    /* fell back to IMDSv1 (opted in) */
};

/* ---- creds.c ---- */

/* Zeroes n bytes in a way the compiler keeps (secrets, tokens). */
void creds_wipe(void *p, size_t n);
/* The variable name trimmed into buf (cap bytes), or NULL when it is unset,
 * blank or too long. */
const char *creds_env_value(const char *name, char *buf, size_t cap);

/* ---- credsmeta.c ---- */

/* The container endpoint link (AWS_CONTAINER_CREDENTIALS_*): 0 with a set
 * in c, CREDS_NEXT when not configured, else a negative errno (logged). */
int creds_fetch_ecs(struct creds_provider *p, struct creds *c);
/* The IMDSv2 link (token, role, credentials document), as creds_fetch_ecs. */
int creds_fetch_imds(struct creds_provider *p, struct creds *c);

#endif
