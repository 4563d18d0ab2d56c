/*
 * test_creds_chain.c: the HTTP links of the credentials chain (ECS/EKS
 * container endpoint, EC2 IMDSv2) against fake_imds.py, a Python stdlib
 * server this test starts on 127.0.0.1 (a free port) and stops by PID.
 *
 * Replayed smithy-rs scenarios (../shared/testdata/imds/smithy-rs-credential-
 * chain, recorded traffic served in order, every request checked against the
 * recording): imds_default_chain_success, imds_default_chain_retries,
 * imds_default_chain_error, imds_no_iam_role, imds_token_fail,
 * imds_config_with_no_creds, ecs_credentials, ecs_credentials_invalid_profile,
 * eks_pod_identity_credentials, eks_pod_identity_no_token_file.
 * Dynamic cases: the IMDSv2 token flow and its cache, a new token after the
 * server expires it (401), refresh of credentials 5 minutes before
 * Expiration, creds_invalidate, 5xx retries, no role, an unreachable service,
 * IMDS disabled (no request at all), IMDSv1 only when opted in, the v1 -> v2
 * switch on 401, an error document; ECS with an authorization token from the
 * environment and from a file (the file wins), a refused token, a refused
 * FULL_URI host; precedence env > profile > ECS > IMDS; 8 threads calling
 * creds_get across two refreshes; a refresh that fails after the set expired
 * (-EIO or -EACCES, never -ENOENT nor the expired set; issue 11); and a
 * debug log free of every secret.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "creds.h"
#include "http.h"
#include "log.h"
#include "t.h"

#define CHAIN_DIR S3M_SHARED_DIR "/testdata/imds/smithy-rs-credential-chain"
#define SERVER_SCRIPT S3M_SRC_ROOT "/tests/unit/shared/fake_imds.py"

static pid_t srv_pid = -1;
static char base_url[64];
static char tmpdir[64];
static struct http_pool *ctl;

static const char *jstr(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void msleep(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int start_server(void)
{
	char portfile[128];
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_creds_chain.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(portfile, sizeof(portfile), "%s/port", tmpdir);
	srv_pid = fork();
	if (srv_pid < 0)
		return -1;
	if (srv_pid == 0) {
		execlp("python3", "python3", SERVER_SCRIPT, portfile, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		char *t = t_read_file(portfile);
		if (t) {
			snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%ld",
				 strtol(t, NULL, 10));
			free(t);
			unlink(portfile);
			struct http_pool_opts po = {.connect_timeout_ms = 2000, .timeout_ms = 5000};
			return http_pool_new(&po, &ctl);
		}
		if (waitpid(srv_pid, NULL, WNOHANG) == srv_pid) {
			srv_pid = -1;
			return -1;
		}
		msleep(50);
	}
	return -1;
}

static void stop_server(void)
{
	if (srv_pid > 0) {
		kill(srv_pid, SIGTERM);
		waitpid(srv_pid, NULL, 0);
		srv_pid = -1;
	}
	http_pool_free(ctl);
	ctl = NULL;
	rmdir(tmpdir);
}

static int ctl_config(const char *json)
{
	char url[128];
	struct http_response r;
	snprintf(url, sizeof(url), "%s/_ctl/config", base_url);
	struct http_header h = {"Content-Type", "application/json"};
	struct http_request req = {.method = "POST",
				   .url = url,
				   .headers = &h,
				   .nheaders = 1,
				   .body = json,
				   .body_len = strlen(json),
				   .no_proxy = 1};
	http_response_init(&r);
	int rc = http_perform(ctl, &req, &r);
	int ok = rc == 0 && r.status == 200;
	http_response_release(&r);
	return ok ? 0 : -1;
}

static cJSON *ctl_log(void)
{
	char url[128];
	struct http_response r;
	cJSON *j = NULL;
	snprintf(url, sizeof(url), "%s/_ctl/log", base_url);
	struct http_request req = {.method = "GET", .url = url, .no_proxy = 1};
	http_response_init(&r);
	if (http_perform(ctl, &req, &r) == 0 && r.status == 200)
		j = cJSON_Parse(r.body.ptr);
	http_response_release(&r);
	return j;
}

/* Requests in the server log matching method and path prefix. */
static int count_log(const cJSON *log, const char *method, const char *path_prefix)
{
	const cJSON *e;
	int n = 0;
	cJSON_ArrayForEach(e, log)
	{
		if ((!method || !strcmp(jstr(e, "method"), method)) &&
		    !strncmp(jstr(e, "path"), path_prefix, strlen(path_prefix)))
			n++;
	}
	return n;
}

static void clean_env(void)
{
	static const char *const vars[] = {"AWS_ACCESS_KEY_ID",
					   "AWS_SECRET_ACCESS_KEY",
					   "AWS_SESSION_TOKEN",
					   "AWS_PROFILE",
					   "AWS_CONFIG_FILE",
					   "AWS_SHARED_CREDENTIALS_FILE",
					   "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
					   "AWS_CONTAINER_CREDENTIALS_FULL_URI",
					   "AWS_CONTAINER_AUTHORIZATION_TOKEN",
					   "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
					   "AWS_EC2_METADATA_DISABLED",
					   "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
					   "AWS_REGION",
					   "AWS_ACCOUNT_ID"};
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	/* all metadata traffic goes to the fake server, never off the machine */
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", base_url, 1);
	setenv("HOME", "/nonexistent-s3m-test-home", 1);
}

static int keynum(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(s, prefix, n) == 0 ? (int)strtol(s + n, NULL, 10) : -1;
}

/* The set is one of the server's: key, secret and token share a number. */
static int coherent(const struct creds *c)
{
	int n = keynum(c->access_key, "ASIAFAKE");
	return n > 0 && keynum(c->secret_key, "secret") == n &&
	       keynum(c->session_token, "token") == n;
}

/* ---- replayed smithy-rs scenarios ------------------------------------- */

static int run_replay(const char *name, int want_rc)
{
	char path[1024], cfg[1200];
	struct creds_opts o = {.ecs_base_url = base_url};
	struct creds_provider *p = NULL;
	struct creds c;
	cJSON *tc = NULL, *env = NULL, *log = NULL, *traffic = NULL;
	int ok = 0;

	clean_env();
	snprintf(path, sizeof(path), "%s/%s/test-case.json", CHAIN_DIR, name);
	char *t = t_read_file(path);
	tc = t ? cJSON_Parse(t) : NULL;
	free(t);
	snprintf(path, sizeof(path), "%s/%s/env.json", CHAIN_DIR, name);
	t = t_read_file(path);
	env = t ? cJSON_Parse(t) : NULL;
	free(t);
	snprintf(path, sizeof(path), "%s/%s/http-traffic.json", CHAIN_DIR, name);
	t = t_read_file(path);
	traffic = t ? cJSON_Parse(t) : NULL;
	free(t);
	if (!tc || !env || !traffic)
		goto out;
	const cJSON *v;
	cJSON_ArrayForEach(v, env)
	{
		char val[1024];
		snprintf(val, sizeof(val), "%s", v->valuestring);
		if (!strcmp(v->string, "AWS_CONTAINER_CREDENTIALS_FULL_URI") &&
		    !strncmp(val, "http://169.254.170.23", 21))
			snprintf(val, sizeof(val), "%s%s", base_url, v->valuestring + 21);
		if (!strcmp(v->string, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"))
			snprintf(val, sizeof(val), "%s/%s/fs%s", CHAIN_DIR, name, v->valuestring);
		if (!strcmp(v->string, "HOME"))
			continue;
		setenv(v->string, val, 1);
	}
	snprintf(path, sizeof(path), "%s/%s/fs/home", CHAIN_DIR, name);
	if (access(path, F_OK) == 0)
		setenv("HOME", path, 1);
	snprintf(path, sizeof(path), "%s/%s/http-traffic.json", CHAIN_DIR, name);
	snprintf(cfg, sizeof(cfg), "{\"mode\":\"replay\",\"file\":\"%s\"}", path);
	if (ctl_config(cfg) != 0)
		goto out;

	int rc = creds_provider_new(&o, &p);
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(tc, "result");
	const cJSON *okv = cJSON_GetObjectItemCaseSensitive(res, "Ok");
	if (okv) {
		const cJSON *exp = cJSON_GetObjectItemCaseSensitive(okv, "expiry");
		ok = rc == 0 && creds_get(p, &c) == 0 &&
		     !strcmp(c.access_key, jstr(okv, "access_key_id")) &&
		     !strcmp(c.secret_key, jstr(okv, "secret_access_key")) &&
		     !strcmp(c.session_token, jstr(okv, "session_token")) &&
		     c.expiration == (time_t)exp->valuedouble;
	} else {
		ok = rc == want_rc && p == NULL;
	}
	/* exactly the recorded requests, each as recorded */
	log = ctl_log();
	int nreq = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(traffic, "events")) nreq +=
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(e, "action"),
					     "Request") != NULL;
	const cJSON *le;
	int seen = 0;
	cJSON_ArrayForEach(le, log)
	{
		seen++;
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(le, "mismatch")))
			ok = 0;
		if (strncmp(jstr(le, "path"), "/latest/", 8) != 0 &&
		    (!jstr(le, "accept") || strcmp(jstr(le, "accept"), "application/json") != 0))
			ok = 0; /* the container endpoint is asked for JSON */
		if (!strcmp(name, "eks_pod_identity_credentials") &&
		    (!jstr(le, "auth") || strcmp(jstr(le, "auth"), "sometoken") != 0))
			ok = 0;
	}
	int want_req = !strcmp(name, "eks_pod_identity_no_token_file") ? 0 : nreq;
	if (seen != want_req)
		ok = 0;
	if (!ok)
		fprintf(stderr, "replay %s: rc %d, %d requests (want %d)\n", name, rc, seen,
			want_req);
out:
	creds_provider_free(p);
	cJSON_Delete(tc);
	cJSON_Delete(env);
	cJSON_Delete(log);
	cJSON_Delete(traffic);
	return ok;
}

static void test_replays(void)
{
	static const struct {
		const char *name;
		int rc; /* for the error scenarios */
	} sc[] = {
	    {"imds_default_chain_success", 0},
	    {"imds_default_chain_retries", 0},
	    {"imds_config_with_no_creds", 0},
	    {"imds_default_chain_error", -ENOENT}, /* no role: "not enabled" */
	    {"imds_no_iam_role", -ENOENT},
	    {"imds_token_fail", -EACCES}, /* 403: IMDS is disabled */
	    {"ecs_credentials", 0},
	    {"ecs_credentials_invalid_profile", 0},
	    {"eks_pod_identity_credentials", 0},
	    {"eks_pod_identity_no_token_file", -ENOENT},
	};
	for (size_t i = 0; i < sizeof(sc) / sizeof(sc[0]); i++) {
		char label[128];
		snprintf(label, sizeof(label), "smithy-replay/%s", sc[i].name);
		T_CASE(label, run_replay(sc[i].name, sc[i].rc));
	}
}

/* ---- IMDS, dynamic ----------------------------------------------------- */

static void test_imds_token_flow_and_cache(void)
{
	struct creds_provider *p = NULL;
	struct creds c;
	clean_env();
	CHECK_INT(ctl_config("{\"mode\":\"dynamic\"}"), 0);
	CHECK_INT(creds_provider_new(NULL, &p), 0);
	CHECK_INT(creds_get(p, &c), 0);
	CHECK_STR(c.source, "imds");
	CHECK_STR(c.access_key, "ASIAFAKE0001");
	CHECK_STR(c.secret_key, "secret0001");
	CHECK_STR(c.session_token, "token0001");
	CHECK(c.expiration > time(NULL) + 21000);
	CHECK_INT(creds_get(p, &c), 0); /* not due: no request */
	cJSON *log = ctl_log();
	CHECK_INT(cJSON_GetArraySize(log), 3);
	const cJSON *put = cJSON_GetArrayItem(log, 0);
	CHECK_STR(jstr(put, "method"), "PUT");
	CHECK_STR(jstr(put, "path"), "/latest/api/token");
	CHECK_STR(jstr(put, "ttl"), "21600");
	const cJSON *list = cJSON_GetArrayItem(log, 1), *doc = cJSON_GetArrayItem(log, 2);
	CHECK_STR(jstr(list, "path"), "/latest/meta-data/iam/security-credentials/");
	CHECK_STR(jstr(list, "token"), "AQAE-fake-token-1==");
	CHECK_STR(jstr(doc, "path"), "/latest/meta-data/iam/security-credentials/test-role");
	CHECK_STR(jstr(doc, "token"), "AQAE-fake-token-1==");
	cJSON_Delete(log);
	creds_provider_free(p);
}

/* Credentials expiring in 302 s are due 2 s later; the token is reused. */
static void test_imds_refresh_near_expiry_and_invalidate(void)
{
	struct creds_provider *p = NULL;
	struct creds c;
	clean_env();
	CHECK_INT(ctl_config("{\"mode\":\"dynamic\",\"expires_in\":302}"), 0);
	CHECK_INT(creds_provider_new(NULL, &p), 0);
	CHECK_INT(creds_get(p, &c), 0);
	CHECK_STR(c.access_key, "ASIAFAKE0001");
	msleep(2500);
	CHECK_INT(creds_get(p, &c), 0);
	CHECK_STR(c.access_key, "ASIAFAKE0002");
	CHECK(coherent(&c));
	cJSON *log = ctl_log();
	CHECK_INT(count_log(log, "PUT", "/latest/api/token"), 1); /* token cached */
	CHECK_INT(count_log(log, "GET", "/latest/meta-data/iam/security-credentials/test-role"), 2);
	cJSON_Delete(log);
	CHECK_INT(ctl_config("{\"mode\":\"dynamic\"}"), 0); /* long-lived from now on */
	/* the server's tokens were reset: the cached one gets a 401, a new one
	 * is fetched and the GET repeated */
	msleep(1100);
	creds_invalidate(p);
	CHECK_INT(creds_get(p, &c), 0);
	CHECK_STR(c.access_key, "ASIAFAKE0001"); /* the server's counter restarted */
	CHECK(c.expiration > time(NULL) + 21000);
	log = ctl_log();
	CHECK_INT(count_log(log, "PUT", "/latest/api/token"), 1);
	CHECK_INT(cJSON_GetArraySize(log), 4); /* GET 401, PUT, GET list, GET doc */
	CHECK(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(log, 0), "status")->valueint ==
	      401);
	cJSON_Delete(log);
	/* invalidate within a second of a refresh is ignored */
	creds_invalidate(p);
	CHECK_INT(creds_get(p, &c), 0);
	CHECK_STR(c.access_key, "ASIAFAKE0001");
	creds_provider_free(p);
}

/* The server lets tokens live 1 s: the next refresh meets a 401 and gets a
 * new token. */
static void test_imds_token_expiry(void)
{
	struct creds_provider *p = NULL;
	struct creds c;
	clean_env();
	CHECK_INT(ctl_config("{\"mode\":\"dynamic\",\"token_valid_s\":1,\"expires_in\":301}"), 0);
	CHECK_INT(creds_provider_new(NULL, &p), 0);
	msleep(1600);
	CHECK_INT(creds_get(p, &c), 0);
	CHECK_STR(c.access_key, "ASIAFAKE0002");
	cJSON *log = ctl_log();
	CHECK_INT(count_log(log, "PUT", "/latest/api/token"), 2);
	const cJSON *e;
	int unauthorized = 0;
	cJSON_ArrayForEach(e, log) unauthorized +=
	    cJSON_GetObjectItemCaseSensitive(e, "status")->valueint == 401;
	CHECK_INT(unauthorized, 1);
	CHECK_STR(jstr(cJSON_GetArrayItem(log, cJSON_GetArraySize(log) - 1), "token"),
		  "AQAE-fake-token-2==");
	cJSON_Delete(log);
	creds_provider_free(p);
}

static void test_imds_errors(void)
{
	struct creds_provider *p = NULL;
	struct creds c;
	struct creds_opts v1 = {.imds_v1_fallback = 1};
	cJSON *log;

	clean_env();
	/* 5xx on the document: retried */
	CHECK_INT(ctl_config("{\"mode\":\"dynamic\",\"fail_next\":[503,500]}"), 0);
	CHECK_INT(creds_provider_new(NULL, &p), 0);
	CHECK_INT(creds_get(p, &c), 0);
	CHECK_STR(c.access_key, "ASIAFAKE0001");
	creds_provider_free(p);
	p = NULL;
	/* 3 x 503: a transport-class failure, not credentials */
	CHECK_INT(ctl_config("{\"mode\":\"dynamic\",\"fail_next\":[503,503,503]}"), 0);
	CHECK_INT(creds_provider_new(NULL, &p), -EIO);
	/* no role */
	CHECK_INT(ctl_config("{\"mode\":\"dynamic\",\"role\":null}"), 0);
	CHECK_INT(creds_provider_new(NULL, &p), -ENOENT);
	/* an error document */
	CHECK_INT(ctl_config("{\"mode\":\"dynamic\",\"code\":\"AssumeRoleUnauthorizedAccess\"}"),
		  0);
	CHECK_INT(creds_provider_new(NULL, &p), -EACCES);
	/* IMDSv2 disabled (token PUT 403): an error unless IMDSv1 is opted in */
	CHECK_INT(ctl_config("{\"mode\":\"dynamic\",\"token_put_status\":403,"
			     "\"require_token\":false}"),
		  0);
	CHECK_INT(creds_provider_new(NULL, &p), -EACCES);
	CHECK_INT(creds_provider_new(&v1, &p), 0);
	CHECK_INT(creds_get(p, &c), 0);
	CHECK_STR(c.access_key, "ASIAFAKE0001");
	log = ctl_log();
	CHECK_INT(count_log(log, "GET", "/latest/"), 2);
	const cJSON *e;
	cJSON_ArrayForEach(e, log) if (!strcmp(jstr(e, "method"), "GET"))
	    CHECK(jstr(e, "token") == NULL); /* v1: no token header */
	cJSON_Delete(log);
	creds_provider_free(p);
	p = NULL;
	/* v1 mode, then the service wants tokens (401): switch to v2 */
	CHECK_INT(ctl_config("{\"mode\":\"dynamic\",\"token_put_status\":403,"
			     "\"token_put_fail_count\":1}"),
		  0);
	CHECK_INT(creds_provider_new(&v1, &p), 0);
	CHECK_INT(creds_get(p, &c), 0);
	CHECK_STR(c.access_key, "ASIAFAKE0001");
	log = ctl_log();
	CHECK_INT(count_log(log, "PUT", "/latest/api/token"), 2);
	CHECK_STR(jstr(cJSON_GetArrayItem(log, cJSON_GetArraySize(log) - 1), "token"),
		  "AQAE-fake-token-2==");
	cJSON_Delete(log);
	creds_provider_free(p);
	p = NULL;
	/* nothing listening: no IMDS here */
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9", 1);
	CHECK_INT(creds_provider_new(NULL, &p), -ENOENT);
	/* disabled: not a single request */
	clean_env();
	CHECK_INT(ctl_config("{\"mode\":\"dynamic\"}"), 0);
	setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
	CHECK_INT(creds_provider_new(NULL, &p), -ENOENT);
	log = ctl_log();
	CHECK_INT(cJSON_GetArraySize(log), 0);
	cJSON_Delete(log);
	/* a bad endpoint mode is a configuration error */
	clean_env();
	unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv7", 1);
	CHECK_INT(creds_provider_new(NULL, &p), -EINVAL);
	clean_env();
}

/* ---- ECS / EKS, dynamic ------------------------------------------------ */

static void test_ecs(void)
{
	struct creds_opts o = {.ecs_base_url = base_url};
	struct creds_provider *p = NULL;
	struct creds c;
	char url[128], tokfile[128];
	cJSON *log;

	clean_env();
	CHECK_INT(ctl_config("{\"mode\":\"dynamic\",\"ecs_auth\":\"Bearer env-token\"}"), 0);
	setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/ecs/creds", 1);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer env-token", 1);
	CHECK_INT(creds_provider_new(&o, &p), 0);
	CHECK_INT(creds_get(p, &c), 0);
	CHECK_STR(c.source, "ecs");
	CHECK_STR(c.access_key, "ASIAFAKE0001");
	CHECK_STR(c.session_token, "token0001");
	creds_provider_free(p);
	p = NULL;
	log = ctl_log();
	CHECK_INT(cJSON_GetArraySize(log), 1); /* ECS wins over IMDS */
	CHECK_STR(jstr(cJSON_GetArrayItem(log, 0), "auth"), "Bearer env-token");
	cJSON_Delete(log);

	/* FULL_URI on loopback; the token file wins over the variable */
	unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	snprintf(url, sizeof(url), "%s/ecs/creds", base_url);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
	snprintf(tokfile, sizeof(tokfile), "%s/token", tmpdir);
	FILE *f = fopen(tokfile, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("file-token\n", f);
		fclose(f);
	}
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tokfile, 1);
	CHECK_INT(ctl_config("{\"mode\":\"dynamic\",\"ecs_auth\":\"file-token\","
			     "\"expires_in\":302}"),
		  0);
	CHECK_INT(creds_provider_new(&o, &p), 0);
	CHECK_INT(creds_get(p, &c), 0);
	CHECK_STR(c.access_key, "ASIAFAKE0001");
	msleep(2500); /* near expiry: refreshed from the same endpoint */
	CHECK_INT(creds_get(p, &c), 0);
	CHECK_STR(c.access_key, "ASIAFAKE0002");
	creds_provider_free(p);
	p = NULL;

	/* a refused token */
	unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	CHECK_INT(ctl_config("{\"mode\":\"dynamic\",\"ecs_auth\":\"right\"}"), 0);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong", 1);
	CHECK_INT(creds_provider_new(&o, &p), -EACCES);
	/* header injection through the token */
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "x\r\nX-Evil: 1", 1);
	CHECK_INT(creds_provider_new(&o, &p), -EINVAL);
	unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	/* the endpoint refuses */
	CHECK_INT(ctl_config("{\"mode\":\"dynamic\",\"ecs_status\":403}"), 0);
	CHECK_INT(creds_provider_new(&o, &p), -EACCES);
	/* a FULL_URI host that is neither loopback nor ECS/EKS: no request */
	CHECK_INT(ctl_config("{\"mode\":\"dynamic\"}"), 0);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://169.254.169.254/latest/x", 1);
	CHECK_INT(creds_provider_new(&o, &p), -EINVAL);
	log = ctl_log();
	CHECK_INT(cJSON_GetArraySize(log), 0);
	cJSON_Delete(log);
	unlink(tokfile);
	clean_env();
}

/* ---- precedence ------------------------------------------------------------ */

static void test_precedence(void)
{
	struct creds_opts o = {.ecs_base_url = base_url};
	struct creds_provider *p = NULL;
	struct creds c;
	char home[128], path[192];
	cJSON *log;

	clean_env();
	CHECK_INT(ctl_config("{\"mode\":\"dynamic\"}"), 0);
	setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/ecs/creds", 1);
	snprintf(home, sizeof(home), "%s/home", tmpdir);
	snprintf(path, sizeof(path), "%s/.aws", home);
	mkdir(home, 0700);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/.aws/credentials", home);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("[default]\naws_access_key_id = AKIDPROFILE\n"
		      "aws_secret_access_key = profilesecret\n",
		      f);
		fclose(f);
	}
	chmod(path, 0600);
	setenv("HOME", home, 1);
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	/* env > profile > ECS > IMDS */
	CHECK_INT(creds_provider_new(&o, &p), 0);
	CHECK_INT(creds_get(p, &c), 0);
	CHECK_STR(c.source, "env");
	creds_provider_free(p);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	CHECK_INT(creds_provider_new(&o, &p), 0);
	CHECK_INT(creds_get(p, &c), 0);
	CHECK_STR(c.source, "profile");
	CHECK_STR(c.access_key, "AKIDPROFILE");
	creds_provider_free(p);
	log = ctl_log();
	CHECK_INT(cJSON_GetArraySize(log), 0); /* neither asked ECS nor IMDS */
	cJSON_Delete(log);
	unlink(path);
	CHECK_INT(creds_provider_new(&o, &p), 0);
	CHECK_INT(creds_get(p, &c), 0);
	CHECK_STR(c.source, "ecs");
	creds_provider_free(p);
	unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	CHECK_INT(creds_provider_new(&o, &p), 0);
	CHECK_INT(creds_get(p, &c), 0);
	CHECK_STR(c.source, "imds");
	creds_provider_free(p);
	log = ctl_log();
	CHECK_INT(count_log(log, "GET", "/ecs/creds"), 1);
	CHECK_INT(count_log(log, "PUT", "/latest/api/token"), 1);
	cJSON_Delete(log);
	snprintf(path, sizeof(path), "%s/.aws", home);
	rmdir(path);
	rmdir(home);
	clean_env();
}

/* ---- threads across refreshes ----------------------------------------------- */

struct worker {
	struct creds_provider *p;
	double until;
	int calls, errors, torn, expired, max_key;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	while (now_s() < w->until) {
		struct creds c;
		if (creds_get(w->p, &c) != 0) {
			w->errors++;
			continue;
		}
		w->calls++;
		if (!coherent(&c))
			w->torn++;
		if (c.expiration <= time(NULL))
			w->expired++;
		int k = keynum(c.access_key, "ASIAFAKE");
		if (k > w->max_key)
			w->max_key = k;
		msleep(2);
	}
	return NULL;
}

static void test_threads_across_refresh(void)
{
	struct creds_provider *p = NULL;
	struct worker w[8];
	pthread_t th[8];

	clean_env();
	/* a fresh set is due 2 s after it is fetched: two refreshes in 4.5 s */
	CHECK_INT(ctl_config("{\"mode\":\"dynamic\",\"expires_in\":302}"), 0);
	CHECK_INT(creds_provider_new(NULL, &p), 0);
	if (!p)
		return;
	double until = now_s() + 4.5;
	for (int i = 0; i < 8; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].p = p;
		w[i].until = until;
		CHECK_INT(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	int calls = 0, max_key = 0;
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT(w[i].errors, 0);
		CHECK_INT(w[i].torn, 0);
		CHECK_INT(w[i].expired, 0);
		calls += w[i].calls;
		if (w[i].max_key > max_key)
			max_key = w[i].max_key;
	}
	cJSON *log = ctl_log();
	int docs = count_log(log, "GET", "/latest/meta-data/iam/security-credentials/test-role");
	fprintf(stderr, "threads: %d creds_get calls, %d credential fetches, last set %d\n", calls,
		docs, max_key);
	CHECK(calls > 200);
	CHECK(docs >= 3 && docs <= 4); /* the first + one per 2 s, never one per thread */
	CHECK_INT(max_key, docs);
	CHECK_INT(count_log(log, "PUT", "/latest/api/token"), 1);
	cJSON_Delete(log);
	creds_provider_free(p);
}

/* ---- a refresh that fails after the set expired (issue 11) ---------------- */

/* Waits until the set in c has expired by the clock creds.c uses. */
static void wait_expired(const struct creds *c)
{
	for (int i = 0; i < 100 && time(NULL) < c->expiration; i++)
		msleep(100);
}

/* The current set expires while its source fails in each of the ways below.
 * creds_get must answer -EIO (the source that gave the set did not answer as
 * before: worth retrying) or -EACCES (it answered and refused), never -ENOENT
 * (which the S3 client would pass on as "no such key": issue 11) nor any other
 * errno, and never hand out the expired set, not even to a call within the
 * second after the failed refresh. The error log names the source and the
 * reason. Once the source answers again, the next call gets a fresh set. */
static void test_refresh_failure_after_expiry(void)
{
	static const struct {
		const char *what, *cfg, *log;
		int want;
	} cases[] = {
	    {"role detached (the chain's 'try the next source')",
	     "{\"mode\":\"dynamic\",\"expires_in\":2,\"role\":null}", "no IAM role", -EIO},
	    {"service not answering", "{\"mode\":\"dynamic\",\"expires_in\":2,\"down\":true}",
	     "IMDS request failed", -EIO},
	    {"throttled (429)", "{\"mode\":\"dynamic\",\"expires_in\":2,\"fail_next\":[429]}",
	     "HTTP 429", -EIO},
	    {"5xx after its retries",
	     "{\"mode\":\"dynamic\",\"expires_in\":2,\"fail_next\":[503,503,503]}", "HTTP 503",
	     -EIO},
	    {"refused by an error document",
	     "{\"mode\":\"dynamic\",\"expires_in\":2,\"code\":\"AssumeRoleUnauthorizedAccess\"}",
	     "AssumeRoleUnauthorizedAccess", -EACCES},
	};
	struct creds_provider *p = NULL;
	struct creds c;
	char path[128];

	clean_env();
	CHECK_INT(ctl_config("{\"mode\":\"dynamic\",\"expires_in\":2}"), 0);
	CHECK_INT(creds_provider_new(NULL, &p), 0);
	if (!p)
		return;
	CHECK_INT(creds_get(p, &c), 0);
	wait_expired(&c);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(path, sizeof(path), "%s/refresh.log", tmpdir);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int saved = dup(2);
		dup2(fd, 2);
		close(fd);
		CHECK_INT(ctl_config(cases[i].cfg), 0);
		msleep(1100); /* past the one-refresh-a-second limit */
		memset(&c, 0, sizeof(c));
		int rc = creds_get(p, &c);
		int again = creds_get(p, &c); /* within the second: no new fetch */
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
		char *text = t_read_file(path);
		unlink(path);
		if (rc != cases[i].want || again != cases[i].want)
			fprintf(stderr, "refresh failure, %s: creds_get %d then %d, want %d\n",
				cases[i].what, rc, again, cases[i].want);
		CHECK_INT(rc, cases[i].want);
		CHECK_INT(again, cases[i].want);
		if (!text || !strstr(text, "refresh from imds failed") ||
		    !strstr(text, cases[i].log)) {
			fprintf(stderr,
				"refresh failure, %s: the log does not say imds and '%s':\n%s",
				cases[i].what, cases[i].log, text ? text : "(none)\n");
			CHECK(0);
		}
		free(text);
	}
	/* the source answers again: the same provider recovers */
	CHECK_INT(ctl_config("{\"mode\":\"dynamic\"}"), 0);
	msleep(1100);
	CHECK_INT(creds_get(p, &c), 0);
	CHECK_STR(c.access_key, "ASIAFAKE0001");
	CHECK(c.expiration > time(NULL) + 21000);
	creds_provider_free(p);
}

/* ---- no secrets in the debug log ------------------------------------------------ */

static void test_no_secrets_logged(void)
{
	char path[128], tokfile[128];
	struct creds_opts o = {.ecs_base_url = base_url};
	struct creds_provider *p = NULL;
	struct creds c;

	clean_env();
	snprintf(path, sizeof(path), "%s/stderr.log", tmpdir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int saved = dup(2);
	dup2(fd, 2);
	close(fd);
	log_level_set(LOG_LVL_DEBUG);

	CHECK_INT(ctl_config("{\"mode\":\"dynamic\",\"expires_in\":301,\"token_valid_s\":1,"
			     "\"ecs_auth\":\"SeCrEtAuThToKeN\"}"),
		  0);
	CHECK_INT(creds_provider_new(NULL, &p), 0); /* IMDS: set 1 */
	msleep(1300);
	CHECK_INT(creds_get(p, &c), 0); /* 401, new token, set 2 */
	creds_provider_free(p);
	p = NULL;
	snprintf(tokfile, sizeof(tokfile), "%s/token", tmpdir);
	FILE *f = fopen(tokfile, "w");
	if (f) {
		fputs("SeCrEtAuThToKeN", f);
		fclose(f);
	}
	setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/ecs/creds", 1);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tokfile, 1);
	CHECK_INT(creds_provider_new(&o, &p), 0); /* ECS: set 3 */
	creds_provider_free(p);
	p = NULL;
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/nonexistent/token", 1);
	CHECK_INT(creds_provider_new(&o, &p), -ENOENT);
	unlink(tokfile);

	log_level_set(LOG_LVL_WARN);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char *text = t_read_file(path);
	unlink(path);
	CHECK(text != NULL && strstr(text, "debug:") != NULL); /* debug lines were written */
	static const char *const secrets[] = {"secret0001",	 "secret0002",	   "secret0003",
					      "token0001",	 "token0002",	   "token0003",
					      "AQAE-fake-token", "SeCrEtAuThToKeN"};
	for (size_t i = 0; text && i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		if (strstr(text, secrets[i])) {
			fprintf(stderr, "secret in the log: %s\n", secrets[i]);
			CHECK(0);
		}
	}
	free(text);
	clean_env();
}

int main(void)
{
	log_level_set(LOG_LVL_WARN);
	if (start_server() != 0) {
		fprintf(stderr, "cannot start %s\n", SERVER_SCRIPT);
		T_CASE("fake_imds.py started", 0);
		stop_server();
		return T_DONE();
	}
	/* A proxy in the environment that answers nothing: every metadata request
	 * must bypass it, as the SDKs do (a proxied IMDS request would leak the
	 * instance's credentials to the proxy). */
	setenv("http_proxy", "http://127.0.0.1:9", 1);
	setenv("HTTP_PROXY", "http://127.0.0.1:9", 1);
	setenv("https_proxy", "http://127.0.0.1:9", 1);
	test_replays();
	T_RUN(test_imds_token_flow_and_cache);
	T_RUN(test_imds_refresh_near_expiry_and_invalidate);
	T_RUN(test_imds_token_expiry);
	T_RUN(test_imds_errors);
	T_RUN(test_ecs);
	T_RUN(test_precedence);
	T_RUN(test_threads_across_refresh);
	T_RUN(test_refresh_failure_after_expiry);
	T_RUN(test_no_secrets_logged);
	stop_server();
	return T_DONE();
}
