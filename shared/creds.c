/*
 * creds.c: see creds.h. Each link of the chain is a fetch function that
 * returns 0 with a set, CREDS_NEXT when it is not configured here, or a
 * negative errno that stops the chain. The provider remembers which link
 * answered and refreshes from it. This file holds the chain, its refresh and
 * locking, and the environment and profile links (parsing through
 * awsconfig.h); the metadata-service links (container endpoint, IMDSv2) are
 * in credsmeta.c, and credsint.h is what the two share. No function here
 * logs a secret, a session token, an IMDS token or an authorization token:
 * only source names, hosts, statuses, and error codes.
 */
#include "creds.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "awsconfig.h"
#include "buf.h"
#include "credsint.h"
#include "http.h"
#include "log.h"
#include "monoclock.h"

#define REFRESH_BEFORE_S 300		       /* refresh temporary sets 5 minutes early */
#define REFRESH_MIN_INTERVAL_MS CREDS_RETRY_MS /* at most one refresh attempt a second */

static const char *const source_names[] = {"none", "env", "profile", "ecs", "imds"};

void creds_wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;
	while (n--)
		*v++ = 0;
}

/* Blank (unset, empty or only whitespace) variables count as unset, as the
 * SDKs treat them. Returns the value trimmed in place into buf, or NULL. */
const char *creds_env_value(const char *name, char *buf, size_t cap)
{
	const char *v = getenv(name);
	size_t n;
	if (!v)
		return NULL;
	while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r')
		v++;
	n = strlen(v);
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\n' || v[n - 1] == '\r'))
		n--;
	if (n == 0 || str_copy_n(buf, cap, v, n) != 0)
		return NULL;
	return buf;
}

/* ---- environment ---------------------------------------------------- */

static int fetch_env(struct creds *c)
{
	const char *ak, *sk;
	char akb[sizeof(c->access_key)], skb[sizeof(c->secret_key)], tb[sizeof(c->session_token)];
	int rc = 0;

	ak = creds_env_value("AWS_ACCESS_KEY_ID", akb, sizeof(akb));
	sk = creds_env_value("AWS_SECRET_ACCESS_KEY", skb, sizeof(skb));
	if (!ak && !sk)
		return CREDS_NEXT;
	if (!ak || !sk) {
		log_error("credentials: only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
			  "is set (or one is too long)");
		rc = -EINVAL;
		goto out;
	}
	const char *tok = creds_env_value("AWS_SESSION_TOKEN", tb, sizeof(tb));
	if (!tok && getenv("AWS_SESSION_TOKEN") &&
	    strlen(getenv("AWS_SESSION_TOKEN")) >= sizeof(tb)) {
		log_error("credentials: AWS_SESSION_TOKEN is over %zu bytes", sizeof(tb) - 1);
		rc = -E2BIG;
		goto out;
	}
	str_copy(c->access_key, sizeof(c->access_key), ak);
	str_copy(c->secret_key, sizeof(c->secret_key), sk);
	if (tok)
		str_copy(c->session_token, sizeof(c->session_token), tok);
out:
	creds_wipe(skb, sizeof(skb));
	creds_wipe(tb, sizeof(tb));
	return rc;
}

/* ---- profile ---------------------------------------------------------- */

/* Loads both files for profile resolution. *explicit_out is set when the
 * profile was named (option or AWS_PROFILE) rather than defaulted. */
static int load_profile_files(const char *profile_opt, struct awsconfig **cfg_out, char *profile,
			      size_t pcap, int *explicit_out, int warn_perms)
{
	struct awsconfig_env env;
	struct awsconfig *cfg = NULL;
	char cpath[1024], kpath[1024], err[AWSCONFIG_ERR_MAX];
	unsigned mode = 0;
	int rc;

	awsconfig_env_from_process(&env);
	if (profile_opt && profile_opt[0])
		env.profile = profile_opt;
	if (explicit_out)
		*explicit_out = env.profile && env.profile[0];
	rc = awsconfig_locate(&env, cpath, sizeof(cpath), kpath, sizeof(kpath), profile, pcap);
	if (rc == -ENOENT) {
		cpath[0] = kpath[0] = '\0';
		log_debug("credentials: no home directory, no shared config files");
		/* still resolve the profile name */
		snprintf(profile, pcap, "%s",
			 env.profile && env.profile[0] ? env.profile : "default");
	} else if (rc) {
		log_error("credentials: config file path too long");
		return rc;
	}
	rc = awsconfig_new(&cfg);
	if (rc)
		return rc;
	if (cpath[0]) {
		rc = awsconfig_load_file(cfg, AWSCONFIG_CONFIG, cpath, NULL, err, sizeof(err));
		if (rc == -ENOENT)
			rc = 0;
		else if (rc)
			log_error("credentials: %s: %s", cpath, err[0] ? err : strerror(-rc));
	}
	if (rc == 0 && kpath[0]) {
		rc =
		    awsconfig_load_file(cfg, AWSCONFIG_CREDENTIALS, kpath, &mode, err, sizeof(err));
		if (rc == -ENOENT)
			rc = 0;
		else if (rc)
			log_error("credentials: %s: %s", kpath, err[0] ? err : strerror(-rc));
		else if (warn_perms && (mode & (S_IRGRP | S_IROTH)))
			log_warn("credentials: %s is readable by %s (mode %03o); chmod 600 it",
				 kpath, (mode & S_IROTH) ? "others" : "its group", mode & 0777);
	}
	if (rc) {
		awsconfig_free(cfg);
		return rc;
	}
	*cfg_out = cfg;
	return 0;
}

static int fetch_profile(struct creds_provider *p, struct creds *c, int first)
{
	struct awsconfig *cfg = NULL;
	char profile[256];
	int explicit_profile = 0, rc;

	profile[0] = '\0';
	rc = load_profile_files(p->profile, &cfg, profile, sizeof(profile), &explicit_profile,
				first);
	if (rc)
		return rc;
	if (first) {
		/* IMDS settings live in the same profile; keep them for the IMDS link. */
		const char *e =
		    awsconfig_get(cfg, AWSCONFIG_PROFILE, profile, "ec2_metadata_service_endpoint");
		const char *m = awsconfig_get(cfg, AWSCONFIG_PROFILE, profile,
					      "ec2_metadata_service_endpoint_mode");
		if (e)
			snprintf(p->cfg_imds_endpoint, sizeof(p->cfg_imds_endpoint), "%s", e);
		if (m)
			snprintf(p->cfg_imds_mode, sizeof(p->cfg_imds_mode), "%s", m);
	}
	if (!awsconfig_has(cfg, AWSCONFIG_PROFILE, profile)) {
		if (explicit_profile) {
			log_error("credentials: profile '%s' not found in the shared config "
				  "or credentials file",
				  profile);
			rc = -ENOENT;
		} else {
			rc = CREDS_NEXT;
		}
		goto out;
	}
	const char *ak = awsconfig_get(cfg, AWSCONFIG_PROFILE, profile, "aws_access_key_id");
	const char *sk = awsconfig_get(cfg, AWSCONFIG_PROFILE, profile, "aws_secret_access_key");
	const char *tok = awsconfig_get(cfg, AWSCONFIG_PROFILE, profile, "aws_session_token");
	if (ak && !ak[0])
		ak = NULL;
	if (sk && !sk[0])
		sk = NULL;
	if (!ak && !sk) {
		static const char *const unsupported[] = {"role_arn", "credential_process",
							  "sso_session", "sso_start_url",
							  "web_identity_token_file"};
		for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
			if (awsconfig_get(cfg, AWSCONFIG_PROFILE, profile, unsupported[i])) {
				log_warn("credentials: profile '%s' uses %s, which s3mount does "
					 "not support; trying the next source",
					 profile, unsupported[i]);
				break;
			}
		}
		rc = CREDS_NEXT;
		goto out;
	}
	if (!ak || !sk) {
		log_error("credentials: profile '%s' has only one of aws_access_key_id and "
			  "aws_secret_access_key",
			  profile);
		rc = -EINVAL;
		goto out;
	}
	rc = str_copy(c->access_key, sizeof(c->access_key), ak);
	if (rc == 0)
		rc = str_copy(c->secret_key, sizeof(c->secret_key), sk);
	if (rc == 0 && tok && tok[0])
		rc = str_copy(c->session_token, sizeof(c->session_token), tok);
	if (rc)
		log_error("credentials: a key in profile '%s' is too long", profile);
	else
		log_debug("credentials: from profile '%s'", profile);
out:
	awsconfig_free(cfg);
	return rc;
}

int creds_profile_region(const char *profile, char *out, size_t cap)
{
	struct awsconfig *cfg = NULL;
	char name[256];
	int rc;

	if (cap)
		out[0] = '\0';
	rc = load_profile_files(profile, &cfg, name, sizeof(name), NULL, 0);
	if (rc)
		return rc;
	const char *r = awsconfig_get(cfg, AWSCONFIG_PROFILE, name, "region");
	if (!r || !r[0])
		rc = -ENOENT;
	else
		rc = str_copy(out, cap, r);
	awsconfig_free(cfg);
	return rc;
}

/* ---- the provider ----------------------------------------------------- */

static int fetch(struct creds_provider *p, enum source src, struct creds *c, int first)
{
	int rc;

	memset(c, 0, sizeof(*c));
	switch (src) {
	case SRC_ENV:
		rc = fetch_env(c);
		break;
	case SRC_PROFILE:
		rc = fetch_profile(p, c, first);
		break;
	case SRC_ECS:
		rc = creds_fetch_ecs(p, c);
		break;
	case SRC_IMDS:
		rc = creds_fetch_imds(p, c);
		break;
	default:
		rc = -EINVAL;
	}
	if (rc == 0) {
		str_copy(c->source, sizeof(c->source), source_names[src]);
		time_t now = time(NULL);
		if (c->expiration && c->expiration <= now)
			log_warn("credentials: %s sent credentials that expired %lld s ago",
				 source_names[src], (long long)(now - c->expiration));
	} else {
		creds_wipe(c, sizeof(*c));
	}
	return rc;
}

int creds_provider_new(const struct creds_opts *opts, struct creds_provider **out)
{
	static const struct creds_opts defaults = {0};
	struct creds_provider *p;
	int rc = 0;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->anonymous = opts->anonymous;
	p->imds_v1_fallback = opts->imds_v1_fallback;
	p->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 1000;
	if ((opts->profile && !(p->profile = strdup(opts->profile))) ||
	    (opts->ecs_base_url && !(p->ecs_base = strdup(opts->ecs_base_url)))) {
		rc = -ENOMEM;
		goto out;
	}
	if (p->anonymous) {
		p->cur.anonymous = 1;
		str_copy(p->cur.source, sizeof(p->cur.source), "anonymous");
		log_info("credentials: anonymous (requests are not signed)");
		goto out;
	}
	rc = CREDS_NEXT;
	for (enum source s = SRC_ENV; s <= SRC_IMDS && rc == CREDS_NEXT; s++) {
		rc = fetch(p, s, &p->cur, 1);
		if (rc == 0)
			p->src = s;
	}
	if (rc == CREDS_NEXT) {
		log_error("credentials: none found (environment, profile '%s', container "
			  "endpoint, instance metadata)",
			  p->profile ? p->profile
				     : (getenv("AWS_PROFILE") ? getenv("AWS_PROFILE") : "default"));
		rc = -ENOENT;
	}
	if (rc == 0) {
		p->last_attempt = (long long)mono_ms();
		log_info("credentials: from %s%s", source_names[p->src],
			 p->cur.session_token[0] ? " (temporary)" : "");
	}
out:
	if (rc) {
		creds_provider_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void creds_provider_free(struct creds_provider *p)
{
	if (!p)
		return;
	http_pool_free(p->http);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p->profile);
	free(p->ecs_base);
	creds_wipe(p, sizeof(*p));
	free(p);
}

static int usable(const struct creds *c, time_t now)
{
	return c->expiration == 0 || now < c->expiration;
}

/* What a failed refresh means to the caller. The source gave us the current
 * set, so it should answer: "not configured here" (IMDS unreachable, the role
 * gone, a profile removed), a transport failure, a 5xx, throttling or an
 * unusable document all mean it did not, and may next time: -EIO, which the
 * S3 client retries. Only a refusal stays -EACCES. Never -ENOENT: the S3
 * client would pass it on as NoSuchKey and the mount answer "no such file"
 * for every name (issue 11). */
static int refresh_err(int rc)
{
	return rc == -EACCES || rc == -ENOMEM ? rc : -EIO;
}

const char *creds_source_name(const struct creds_provider *p)
{
	return p->anonymous ? "anonymous" : source_names[p->src];
}

int creds_get(struct creds_provider *p, struct creds *out)
{
	struct creds fresh;
	int rc = 0;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		time_t now = time(NULL);
		int due = p->invalid ||
			  (p->cur.expiration && now >= p->cur.expiration - REFRESH_BEFORE_S);
		if (p->anonymous || !due)
			break;
		if (p->refreshing) {
			if (usable(&p->cur, now) && !p->invalid)
				break; /* the refresher will replace it soon */
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		long long mono = (long long)mono_ms();
		if (!p->invalid && mono - p->last_attempt < REFRESH_MIN_INTERVAL_MS) {
			/* Tried a moment ago: use what we have, unless it has
			 * expired and that try failed; then its error (an
			 * expired set would only earn an ExpiredToken). */
			if (!usable(&p->cur, now))
				rc = p->last_err;
			break;
		}
		p->refreshing = 1;
		p->invalid = 0;
		p->last_attempt = mono;
		pthread_mutex_unlock(&p->lock);

		int raw = fetch(p, p->src, &fresh, 0);

		pthread_mutex_lock(&p->lock);
		p->refreshing = 0;
		pthread_cond_broadcast(&p->cond);
		if (raw == 0) {
			p->cur = fresh;
			creds_wipe(&fresh, sizeof(fresh));
			p->last_err = 0;
			log_debug("credentials: refreshed from %s", source_names[p->src]);
			break;
		}
		p->last_err = refresh_err(raw);
		const char *why =
		    raw == CREDS_NEXT ? "it has no credentials for us any more" : strerror(-raw);
		now = time(NULL);
		if (usable(&p->cur, now)) {
			log_warn("credentials: refresh from %s failed (%s); keeping the current "
				 "set, which expires in %lld s",
				 source_names[p->src], why, (long long)(p->cur.expiration - now));
		} else {
			log_error("credentials: refresh from %s failed (%s) and the current set "
				  "expired %lld s ago: S3 requests fail with %s until it answers",
				  source_names[p->src], why, (long long)(now - p->cur.expiration),
				  strerror(-p->last_err));
			rc = p->last_err;
		}
		break;
	}
	if (rc == 0)
		*out = p->cur;
	pthread_mutex_unlock(&p->lock);
	return rc;
}

void creds_invalidate(struct creds_provider *p)
{
	pthread_mutex_lock(&p->lock);
	if (!p->anonymous && (long long)mono_ms() - p->last_attempt >= REFRESH_MIN_INTERVAL_MS)
		p->invalid = 1;
	pthread_mutex_unlock(&p->lock);
}
