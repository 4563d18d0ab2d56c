/*
 * test_creds.c: the credentials chain without a network:
 *  - credjson on every response case of ../shared/testdata/imds/aws-c-auth
 *    that carries a body, and on the AWS doc examples;
 *  - container URL rules: every case of ecs-uri-tests.smithy-rs.json and the
 *    URI cases of aws-c-auth's ECS tests;
 *  - IMDS endpoint rules: every case of imds-endpoint-tests.smithy-rs.json;
 *  - env and profile links: the smithy-rs chain scenarios that need no HTTP
 *    (environment_variables, environment_variables_blank, prefer_environment,
 *    profile_name, profile_static_keys, profile_static_keys_case_insensitive,
 *    imds_disabled), explicit/missing profiles, partial keys, the
 *    permissions warning, creds_profile_region, and a debug log that must not
 *    contain a secret.
 * The metadata endpoints are pointed at a closed loopback port throughout, so
 * a bug cannot send a request off the machine. The HTTP links are tested by
 * test_creds_chain.c against fake_imds.py.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "awsconfig.h"
#include "credjson.h"
#include "creds.h"
#include "log.h"
#include "t.h"

#define IMDS_DIR S3M_SHARED_DIR "/testdata/imds"
#define CHAIN_DIR IMDS_DIR "/smithy-rs-credential-chain"
#define CLOSED_PORT_URL "http://127.0.0.1:9" /* discard port: nothing listens */

static cJSON *read_json(const char *path)
{
	char *t = t_read_file(path);
	cJSON *j = t ? cJSON_Parse(t) : NULL;
	free(t);
	return j;
}

static const char *jstr(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *jlabel(const cJSON *o, const char *name)
{
	const char *s = jstr(o, name);
	return s ? s : "?";
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
	/* never the real metadata address, whatever the test does */
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", CLOSED_PORT_URL, 1);
	setenv("HOME", "/nonexistent-s3m-test-home", 1);
}

/* ---- credjson --------------------------------------------------------- */

static void test_credjson_cases(void)
{
	cJSON *doc = read_json(IMDS_DIR "/aws-c-auth/imds-ecs-response-cases.json");
	const cJSON *c;
	int n = 0;

	if (!doc) {
		T_CASE("aws-c-auth/imds-ecs-response-cases.json", 0);
		return;
	}
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "cases"))
	{
		const char *name = jstr(c, "name");
		const char *body = jstr(c, "body");
		const cJSON *chunks = cJSON_GetObjectItemCaseSensitive(c, "body_chunks");
		const cJSON *expect = cJSON_GetObjectItemCaseSensitive(c, "expect");
		char joined[4096] = "", label[128];
		struct creds cr;
		int ok;

		if (chunks) {
			const cJSON *ch;
			size_t used = 0;
			cJSON_ArrayForEach(ch, chunks)
			{
				int k = snprintf(joined + used, sizeof(joined) - used, "%s",
						 ch->valuestring);
				if (k > 0 && (size_t)k < sizeof(joined) - used)
					used += (size_t)k;
			}
			body = joined;
		}
		if (!body)
			continue; /* chain behaviour (token 403, 401): test_creds_chain.c */
		int rc = credjson_parse(body, strlen(body), &cr, NULL, 0);
		if (cJSON_IsObject(expect)) {
			time_t want_exp = 0;
			const char *e = jstr(expect, "expiration");
			ok = rc == 0 && !strcmp(cr.access_key, jstr(expect, "access_key_id")) &&
			     !strcmp(cr.secret_key, jstr(expect, "secret_access_key")) &&
			     !strcmp(cr.session_token, jstr(expect, "session_token"));
			if (e)
				ok = ok && credjson_parse_time(e, &want_exp) == 0 &&
				     cr.expiration == want_exp && want_exp == 1582610611;
		} else {
			/* bad documents, a role name, a token, iam/info: not credentials */
			ok = rc != 0 && cr.access_key[0] == '\0';
		}
		snprintf(label, sizeof(label), "credjson/%s", name);
		T_CASE(label, ok);
		n++;
	}
	if (n != 10)
		T_CASE("credjson: 10 body cases", 0);
	cJSON_Delete(doc);
}

static void test_credjson_docs_and_errors(void)
{
	struct creds c;
	char code[64];
	char *t = t_read_file(IMDS_DIR "/aws-docs/ec2-imds-iam-security-credentials-role.json");
	CHECK(t != NULL);
	if (t) {
		CHECK_INT(credjson_parse(t, strlen(t), &c, code, sizeof(code)), 0);
		CHECK_STR(c.access_key, "ASIAIOSFODNN7EXAMPLE");
		CHECK_STR(c.session_token, "token");
		CHECK_INT(c.expiration, 1495033794); /* 2017-05-17T15:09:54Z */
		free(t);
	}
	t = t_read_file(IMDS_DIR "/aws-docs/ecs-task-role-credentials.json");
	CHECK(t != NULL);
	if (t) {
		CHECK_INT(credjson_parse(t, strlen(t), &c, code, sizeof(code)), 0);
		CHECK_STR(c.secret_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
		CHECK_INT(c.expiration, 1610758313); /* 2021-01-16T00:51:53Z */
		free(t);
	}
	const char *err1 = "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"AccessKeyId\":\"A\","
			   "\"SecretAccessKey\":\"S\"}";
	CHECK_INT(credjson_parse(err1, strlen(err1), &c, code, sizeof(code)), -EACCES);
	CHECK_STR(code, "AssumeRoleUnauthorizedAccess");
	CHECK_STR(c.access_key, "");
	const char *err2 = "{\"code\":\"ErrorCode\",\"message\":\"Helpful error message.\"}";
	CHECK_INT(credjson_parse(err2, strlen(err2), &c, code, sizeof(code)), -EACCES);
	CHECK_STR(code, "ErrorCode");
	const char *bad_exp =
	    "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Expiration\":\"soon\"}";
	CHECK_INT(credjson_parse(bad_exp, strlen(bad_exp), &c, NULL, 0), -EINVAL);
	const char *num_tok = "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Token\":5}";
	CHECK_INT(credjson_parse(num_tok, strlen(num_tok), &c, NULL, 0), -EINVAL);
	CHECK_INT(credjson_parse("[1]", 3, &c, NULL, 0), -EINVAL);
	CHECK_INT(credjson_parse("{\"AccessKeyId\":\"A\"}\0junk", 24, &c, NULL, 0), -EINVAL);
	/* a key longer than its slot, a body over the cap */
	char big[600];
	int k = snprintf(big, sizeof(big), "{\"AccessKeyId\":\"");
	memset(big + k, 'K', 300);
	snprintf(big + k + 300, sizeof(big) - (size_t)k - 300, "\",\"SecretAccessKey\":\"S\"}");
	CHECK_INT(credjson_parse(big, strlen(big), &c, NULL, 0), -E2BIG);
	CHECK_INT(credjson_parse("{}", CREDJSON_MAX + 1, &c, NULL, 0), -E2BIG);

	time_t tt;
	CHECK_INT(credjson_parse_time("2021-09-21T04:16:53Z", &tt), 0);
	CHECK_INT(tt, 1632197813);
	CHECK_INT(credjson_parse_time("2009-02-13T23:31:30Z", &tt), 0);
	CHECK_INT(tt, 1234567890);
	CHECK_INT(credjson_parse_time("2021-09-21T06:16:53.5+02:00", &tt), 0);
	CHECK_INT(tt, 1632197813);
	CHECK_INT(credjson_parse_time("2024-02-29T00:00:00Z", &tt), 0);
	CHECK_INT(tt, 1709164800);
	CHECK_INT(credjson_parse_time("2021-13-01T00:00:00Z", &tt), -EINVAL);
	CHECK_INT(credjson_parse_time("2021-09-21 04:16:53Z", &tt), -EINVAL);
	CHECK_INT(credjson_parse_time("2021-09-21T04:16:53", &tt), -EINVAL);
	CHECK_INT(credjson_parse_time("2021-09-21T04:16:53Zjunk", &tt), -EINVAL);
}

/* ---- URL rules ----------------------------------------------------------- */

static void test_ecs_uri_smithy(void)
{
	cJSON *doc = read_json(IMDS_DIR "/ecs-uri-tests.smithy-rs.json");
	const cJSON *tc;
	int n = 0;

	cJSON_ArrayForEach(tc, cJSON_GetObjectItemCaseSensitive(doc, "tests"))
	{
		const cJSON *env = cJSON_GetObjectItemCaseSensitive(tc, "env");
		const cJSON *res = cJSON_GetObjectItemCaseSensitive(tc, "result");
		char url[1024], err[256], label[200];
		int rc = creds_ecs_uri(jstr(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
				       jstr(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI"), NULL, url,
				       sizeof(url), err, sizeof(err));
		int ok;
		if (jstr(res, "Ok"))
			ok = rc == 0 && strcmp(url, jstr(res, "Ok")) == 0;
		else
			ok = rc != 0 && strstr(err, jstr(res, "ErrorContains")) != NULL;
		if (!ok)
			fprintf(stderr, "ecs uri: rc %d url %s err %s\n", rc, url, err);
		snprintf(label, sizeof(label), "ecs-uri/%s", jlabel(tc, "docs"));
		T_CASE(label, ok);
		n++;
	}
	if (n != 11)
		T_CASE("ecs-uri-tests: 11 cases", 0);
	cJSON_Delete(doc);
}

/* aws-c-auth writes the default port; compare with it removed. */
static void strip_default_port(const char *in, char *out, size_t cap)
{
	const char *p80 = strncmp(in, "http://", 7) == 0 ? ":80/" : ":443/";
	const char *hit = strstr(in, p80);
	if (!hit) {
		snprintf(out, cap, "%s", in);
		return;
	}
	snprintf(out, cap, "%.*s%s", (int)(hit - in), in, hit + strlen(p80) - 1);
}

static void test_ecs_uri_aws_c_auth(void)
{
	cJSON *doc = read_json(IMDS_DIR "/aws-c-auth/imds-ecs-response-cases.json");
	const cJSON *tc;
	int n = 0;

	cJSON_ArrayForEach(tc, cJSON_GetObjectItemCaseSensitive(doc, "ecs_uri_resolution"))
	{
		char url[1024], err[256], want[1024], label[64];
		strip_default_port(jstr(tc, "expected_uri"), want, sizeof(want));
		int rc = creds_ecs_uri(jstr(tc, "relative_uri"), jstr(tc, "full_uri"), NULL, url,
				       sizeof(url), err, sizeof(err));
		int ok = rc == 0 && strcmp(url, want) == 0;
		if (!ok)
			fprintf(stderr, "ecs uri: rc %d url %s want %s err %s\n", rc, url, want,
				err);
		snprintf(label, sizeof(label), "ecs-uri-aws-c-auth/%d", n);
		T_CASE(label, ok);
		n++;
	}
	if (n == 0)
		T_CASE("aws-c-auth ecs_uri_resolution cases", 0);
	cJSON_Delete(doc);
}

static void test_ecs_uri_refusals(void)
{
	char url[256], err[256];
	const char *refused[] = {"http://169.254.169.254/latest/meta-data/",
				 "http://example.com/c",
				 "http://10.0.0.1/c",
				 "http://[fd00:ec2::254]/c",
				 "http://user@127.0.0.1/c",
				 "ftp://127.0.0.1/c"};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		CHECK(creds_ecs_uri(NULL, refused[i], NULL, url, sizeof(url), err, sizeof(err)) ==
		      -EINVAL);
	CHECK_INT(
	    creds_ecs_uri(NULL, "http://[::1]:99/x", NULL, url, sizeof(url), err, sizeof(err)), 0);
	CHECK_INT(
	    creds_ecs_uri("/v2/c", NULL, "http://127.0.0.1:5", url, sizeof(url), err, sizeof(err)),
	    0);
	CHECK_STR(url, "http://127.0.0.1:5/v2/c");
	CHECK_INT(creds_ecs_uri("/v2/c\r\nX: y", NULL, NULL, url, sizeof(url), err, sizeof(err)),
		  -EINVAL);
}

static void test_imds_endpoint_smithy(void)
{
	cJSON *doc = read_json(IMDS_DIR "/imds-endpoint-tests.smithy-rs.json");
	const cJSON *tc;
	int n = 0;

	cJSON_ArrayForEach(tc, cJSON_GetObjectItemCaseSensitive(doc, "tests"))
	{
		const cJSON *env = cJSON_GetObjectItemCaseSensitive(tc, "env");
		const cJSON *fs = cJSON_GetObjectItemCaseSensitive(tc, "fs");
		const cJSON *res = cJSON_GetObjectItemCaseSensitive(tc, "result");
		struct awsconfig *cfg = NULL;
		char base[512], err[256], got[600], label[200];
		int ok = awsconfig_new(&cfg) == 0;

		/* AWS_CONFIG_FILE names a file of the test's in-memory fs */
		const char *cfname = jstr(env, "AWS_CONFIG_FILE");
		const char *ctext = cfname ? jstr(fs, cfname) : NULL;
		if (ok && ctext)
			ok = awsconfig_parse(cfg, AWSCONFIG_CONFIG, ctext, strlen(ctext), err,
					     sizeof(err)) == 0;
		struct creds_imds_cfg ic = {
		    .endpoint_override = jstr(tc, "endpoint_override"),
		    .mode_override = jstr(tc, "mode_override"),
		    .env_endpoint = jstr(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT"),
		    .env_mode = jstr(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"),
		    .cfg_endpoint = awsconfig_get(cfg, AWSCONFIG_PROFILE, "default",
						  "ec2_metadata_service_endpoint"),
		    .cfg_mode = awsconfig_get(cfg, AWSCONFIG_PROFILE, "default",
					      "ec2_metadata_service_endpoint_mode"),
		};
		int rc = creds_imds_endpoint(&ic, base, sizeof(base), err, sizeof(err));
		snprintf(got, sizeof(got), "%s/latest/api/token", base);
		if (jstr(res, "Ok"))
			ok = ok && rc == 0 && strcmp(got, jstr(res, "Ok")) == 0;
		else
			ok = ok && rc == -EINVAL && strstr(err, jstr(res, "Err")) != NULL;
		if (!ok)
			fprintf(stderr, "imds endpoint: rc %d %s err %s\n", rc, got, err);
		snprintf(label, sizeof(label), "imds-endpoint/%s", jlabel(tc, "docs"));
		T_CASE(label, ok);
		awsconfig_free(cfg);
		n++;
	}
	if (n != 14)
		T_CASE("imds-endpoint-tests: 14 cases", 0);
	cJSON_Delete(doc);
}

/* ---- env and profile links --------------------------------------------- */

/* Sets the scenario's env.json, HOME = its fs/home (if any). */
static void apply_scenario_env(const char *name)
{
	char path[1024];
	clean_env();
	snprintf(path, sizeof(path), "%s/%s/env.json", CHAIN_DIR, name);
	cJSON *env = read_json(path);
	const cJSON *v;
	cJSON_ArrayForEach(v, env)
	{
		if (cJSON_IsString(v))
			setenv(v->string, v->valuestring, 1);
	}
	cJSON_Delete(env);
	snprintf(path, sizeof(path), "%s/%s/fs/home", CHAIN_DIR, name);
	setenv("HOME", access(path, F_OK) == 0 ? path : "/nonexistent-s3m-test-home", 1);
}

/* Runs a scenario whose answer comes from env or profile (or nowhere). */
static int run_static_scenario(const char *name)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s/test-case.json", CHAIN_DIR, name);
	cJSON *tc = read_json(path);
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(tc, "result");
	const cJSON *okv = cJSON_GetObjectItemCaseSensitive(res, "Ok");
	struct creds_provider *p = NULL;
	struct creds c;
	int ok;

	apply_scenario_env(name);
	int rc = creds_provider_new(NULL, &p);
	if (okv) {
		ok = rc == 0 && creds_get(p, &c) == 0 &&
		     !strcmp(c.access_key, jstr(okv, "access_key_id")) &&
		     !strcmp(c.secret_key, jstr(okv, "secret_access_key")) &&
		     !strcmp(c.session_token, "") && c.expiration == 0;
	} else {
		/* imds_disabled: "the credential provider was not enabled" */
		ok = rc == -ENOENT && p == NULL;
	}
	if (!ok)
		fprintf(stderr, "scenario %s: rc %d\n", name, rc);
	creds_provider_free(p);
	cJSON_Delete(tc);
	return ok;
}

static void test_static_scenarios(void)
{
	static const char *const names[] = {
	    "environment_variables", "environment_variables_blank",
	    "prefer_environment",    "profile_name",
	    "profile_static_keys",   "profile_static_keys_case_insensitive",
	    "imds_disabled"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char label[128];
		snprintf(label, sizeof(label), "smithy-chain/%s", names[i]);
		T_CASE(label, run_static_scenario(names[i]));
	}
	clean_env();
}

static char tmp_home[64];

static void write_file(const char *rel, const char *text, mode_t mode)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmp_home, rel);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

/* Runs fn with stderr captured into a file; returns the captured text. */
static char *capture_stderr(void (*fn)(void *), void *arg)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/stderr.log", tmp_home);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int saved = dup(2);
	fflush(stderr);
	dup2(fd, 2);
	close(fd);
	fn(arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char *t = t_read_file(path);
	unlink(path);
	return t;
}

struct chain_run {
	const char *profile;
	int rc;
	struct creds c;
};

static void run_chain(void *arg)
{
	struct chain_run *r = arg;
	struct creds_opts o = {.profile = r->profile};
	struct creds_provider *p = NULL;
	memset(&r->c, 0, sizeof(r->c));
	r->rc = creds_provider_new(&o, &p);
	if (r->rc == 0)
		r->rc = creds_get(p, &r->c);
	creds_provider_free(p);
}

static void test_env_link(void)
{
	struct chain_run r = {0};
	clean_env();
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	setenv("AWS_SESSION_TOKEN", "envtoken", 1);
	run_chain(&r);
	CHECK_INT(r.rc, 0);
	CHECK_STR(r.c.source, "env");
	CHECK_STR(r.c.access_key, "AKIDENV");
	CHECK_STR(r.c.secret_key, "envsecret");
	CHECK_STR(r.c.session_token, "envtoken");
	CHECK_INT(r.c.expiration, 0);
	CHECK_INT(r.c.anonymous, 0);
	/* partial keys are an error, not a fall-through to the next link */
	unsetenv("AWS_SECRET_ACCESS_KEY");
	run_chain(&r);
	CHECK_INT(r.rc, -EINVAL);
	/* nothing anywhere */
	unsetenv("AWS_ACCESS_KEY_ID");
	run_chain(&r);
	CHECK_INT(r.rc, -ENOENT);
	/* anonymous skips the chain */
	struct creds_opts o = {.anonymous = 1};
	struct creds_provider *p = NULL;
	struct creds c;
	CHECK_INT(creds_provider_new(&o, &p), 0);
	CHECK_INT(creds_get(p, &c), 0);
	CHECK_INT(c.anonymous, 1);
	CHECK_STR(c.source, "anonymous");
	creds_provider_free(p);
	creds_provider_free(NULL);
}

static void test_profile_link(void)
{
	struct chain_run r = {0};
	char path[128];

	clean_env();
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	snprintf(tmp_home, sizeof(tmp_home), "/tmp/test_creds.XXXXXX");
	CHECK(mkdtemp(tmp_home) != NULL);
	snprintf(path, sizeof(path), "%s/.aws", tmp_home);
	CHECK_INT(mkdir(path, 0700), 0);
	setenv("HOME", tmp_home, 1);
	write_file(".aws/credentials",
		   "[default]\naws_access_key_id = AKIDDEFAULT\n"
		   "aws_secret_access_key = SECRETDEFAULT0123\n"
		   "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = SECRETDEV0123\n"
		   "aws_session_token = TOKENDEV0123\n"
		   "[half]\naws_access_key_id = AKIDHALF\n",
		   0600);
	write_file(".aws/config",
		   "[default]\nregion = eu-central-1\n[profile dev]\nregion = ap-south-1\n"
		   "[profile cfgonly]\naws_access_key_id = AKIDCFG\n"
		   "aws_secret_access_key = SECRETCFG0123\n"
		   "[profile assume]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = dev\n",
		   0600);

	run_chain(&r);
	CHECK_INT(r.rc, 0);
	CHECK_STR(r.c.source, "profile");
	CHECK_STR(r.c.access_key, "AKIDDEFAULT");
	CHECK_STR(r.c.session_token, "");

	setenv("AWS_PROFILE", "dev", 1);
	run_chain(&r);
	CHECK_INT(r.rc, 0);
	CHECK_STR(r.c.access_key, "AKIDDEV");
	CHECK_STR(r.c.session_token, "TOKENDEV0123");

	r.profile = "cfgonly"; /* the option wins over AWS_PROFILE */
	run_chain(&r);
	CHECK_INT(r.rc, 0);
	CHECK_STR(r.c.access_key, "AKIDCFG");

	r.profile = "missing"; /* named explicitly: an error, not the next link */
	run_chain(&r);
	CHECK_INT(r.rc, -ENOENT);
	r.profile = "half";
	run_chain(&r);
	CHECK_INT(r.rc, -EINVAL);
	r.profile = "assume"; /* unsupported: skipped, and IMDS is disabled */
	run_chain(&r);
	CHECK_INT(r.rc, -ENOENT);
	r.profile = NULL;

	/* env wins over the profile */
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	run_chain(&r);
	CHECK_STR(r.c.source, "env");
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");

	/* AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE move the files */
	unsetenv("AWS_PROFILE");
	write_file("other-creds",
		   "[default]\naws_access_key_id = AKIDOTHER\n"
		   "aws_secret_access_key = SECRETOTHER0123\n",
		   0600);
	snprintf(path, sizeof(path), "%s/other-creds", tmp_home);
	setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
	run_chain(&r);
	CHECK_STR(r.c.access_key, "AKIDOTHER");
	setenv("AWS_SHARED_CREDENTIALS_FILE", "~/other-creds", 1);
	run_chain(&r);
	CHECK_STR(r.c.access_key, "AKIDOTHER");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");

	/* a malformed file stops the chain */
	write_file("bad-config", "[profile x\n", 0600);
	snprintf(path, sizeof(path), "%s/bad-config", tmp_home);
	setenv("AWS_CONFIG_FILE", path, 1);
	run_chain(&r);
	CHECK_INT(r.rc, -EINVAL);
	unsetenv("AWS_CONFIG_FILE");

	/* region for s3mount's default */
	char region[64];
	CHECK_INT(creds_profile_region(NULL, region, sizeof(region)), 0);
	CHECK_STR(region, "eu-central-1");
	CHECK_INT(creds_profile_region("dev", region, sizeof(region)), 0);
	CHECK_STR(region, "ap-south-1");
	CHECK_INT(creds_profile_region("cfgonly", region, sizeof(region)), -ENOENT);
	setenv("AWS_PROFILE", "dev", 1);
	CHECK_INT(creds_profile_region(NULL, region, sizeof(region)), 0);
	CHECK_STR(region, "ap-south-1");
	unsetenv("AWS_PROFILE");
}

static void test_permissions_warning_and_no_secrets_in_log(void)
{
	struct chain_run r = {0};
	char *log;

	log_level_set(LOG_LVL_DEBUG);
	/* 0600: no warning */
	log = capture_stderr(run_chain, &r);
	CHECK_INT(r.rc, 0);
	CHECK(log && strstr(log, "readable by") == NULL);
	free(log);
	/* 0644: warned, still loaded */
	char path[128];
	snprintf(path, sizeof(path), "%s/.aws/credentials", tmp_home);
	chmod(path, 0644);
	log = capture_stderr(run_chain, &r);
	CHECK_INT(r.rc, 0);
	CHECK_STR(r.c.access_key, "AKIDDEFAULT");
	CHECK(log && strstr(log, "readable by others") != NULL);
	CHECK(log && strstr(log, "SECRETDEFAULT0123") == NULL);
	free(log);
	chmod(path, 0640);
	log = capture_stderr(run_chain, &r);
	CHECK(log && strstr(log, "readable by its group") != NULL);
	free(log);
	chmod(path, 0600);

	/* the whole debug log of every link: no secret, no token */
	setenv("AWS_PROFILE", "dev", 1);
	log = capture_stderr(run_chain, &r);
	CHECK_INT(r.rc, 0);
	CHECK(log != NULL && strstr(log, "credentials") != NULL); /* it did log */
	CHECK(log && strstr(log, "SECRETDEV0123") == NULL);
	CHECK(log && strstr(log, "TOKENDEV0123") == NULL);
	free(log);
	unsetenv("AWS_PROFILE");
	log_level_set(LOG_LVL_WARN);
}

static void cleanup_home(void)
{
	static const char *const files[] = {".aws/credentials", ".aws/config", "other-creds",
					    "bad-config"};
	char path[128];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmp_home, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/.aws", tmp_home);
	rmdir(path);
	rmdir(tmp_home);
}

int main(void)
{
	log_level_set(LOG_LVL_WARN);
	clean_env();
	test_credjson_cases();
	T_RUN(test_credjson_docs_and_errors);
	test_ecs_uri_smithy();
	test_ecs_uri_aws_c_auth();
	T_RUN(test_ecs_uri_refusals);
	test_imds_endpoint_smithy();
	test_static_scenarios();
	T_RUN(test_env_link);
	T_RUN(test_profile_link);
	T_RUN(test_permissions_warning_and_no_secrets_in_log);
	cleanup_home();
	return T_DONE();
}
