/*
 * test_awsconfig.c: the shared config/credentials parser against every case
 * of the cross-SDK suite (profile-parser-tests.json, 65 cases) and every
 * file-location case (file-location-tests.json, 9 cases), each one T_CASE;
 * plus the file wrapper's caps and errors and "~" expansion.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "awsconfig.h"
#include "t.h"

#define DATA_DIR S3M_SHARED_DIR "/testdata/aws-config-files"

/* Our sections of one type equal the expected JSON map (both directions). */
static int same_sections(const struct awsconfig *c, enum awsconfig_section type, const cJSON *want,
			 const char *label)
{
	size_t n = 0;
	const cJSON *prof, *prop;

	while (awsconfig_section_name(c, type, n))
		n++;
	if (n != (size_t)cJSON_GetArraySize(want)) {
		fprintf(stderr, "%s: %zu sections, want %d\n", label, n, cJSON_GetArraySize(want));
		return 0;
	}
	cJSON_ArrayForEach(prof, want)
	{
		size_t idx = 0, nprops = 0;
		const char *name;
		while ((name = awsconfig_section_name(c, type, idx)) && strcmp(name, prof->string))
			idx++;
		if (!name) {
			fprintf(stderr, "%s: no section [%s]\n", label, prof->string);
			return 0;
		}
		while (awsconfig_property(c, type, idx, nprops, NULL))
			nprops++;
		if (nprops != (size_t)cJSON_GetArraySize(prof)) {
			fprintf(stderr, "%s: [%s] has %zu properties, want %d\n", label,
				prof->string, nprops, cJSON_GetArraySize(prof));
			return 0;
		}
		cJSON_ArrayForEach(prop, prof)
		{
			const char *v = awsconfig_get(c, type, prof->string, prop->string);
			if (!v || !cJSON_IsString(prop) || strcmp(v, prop->valuestring) != 0) {
				fprintf(stderr, "%s: [%s] %s = [%s], want [%s]\n", label,
					prof->string, prop->string, v ? v : "(none)",
					cJSON_IsString(prop) ? prop->valuestring : "?");
				return 0;
			}
		}
	}
	return 1;
}

static int run_parser_case(const cJSON *tc)
{
	const char *name = cJSON_GetObjectItemCaseSensitive(tc, "name")->valuestring;
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(tc, "input");
	const cJSON *out = cJSON_GetObjectItemCaseSensitive(tc, "output");
	const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(in, "configFile");
	const cJSON *cred = cJSON_GetObjectItemCaseSensitive(in, "credentialsFile");
	const cJSON *errc = cJSON_GetObjectItemCaseSensitive(out, "errorContaining");
	struct awsconfig *c = NULL;
	char err[AWSCONFIG_ERR_MAX] = "";
	int rc = 0, ok = 0;

	if (awsconfig_new(&c) != 0)
		return 0;
	if (cJSON_IsString(cfg))
		rc = awsconfig_parse(c, AWSCONFIG_CONFIG, cfg->valuestring,
				     strlen(cfg->valuestring), err, sizeof(err));
	if (rc == 0 && cJSON_IsString(cred))
		rc = awsconfig_parse(c, AWSCONFIG_CREDENTIALS, cred->valuestring,
				     strlen(cred->valuestring), err, sizeof(err));
	if (cJSON_IsString(errc)) {
		ok = rc == -EINVAL && strstr(err, errc->valuestring) != NULL;
		if (!ok)
			fprintf(stderr, "%s: rc %d err [%s], want error [%s]\n", name, rc, err,
				errc->valuestring);
		goto out;
	}
	if (rc != 0) {
		fprintf(stderr, "%s: unexpected error %d [%s]\n", name, rc, err);
		goto out;
	}
	const cJSON *conf = cJSON_GetObjectItemCaseSensitive(out, "config");
	const cJSON *sso = cJSON_GetObjectItemCaseSensitive(conf, "sso_sessions");
	cJSON *empty = cJSON_CreateObject();
	ok = same_sections(c, AWSCONFIG_PROFILE, cJSON_GetObjectItemCaseSensitive(conf, "profiles"),
			   name) &&
	     same_sections(c, AWSCONFIG_SSO_SESSION, sso ? sso : empty, name);
	cJSON_Delete(empty);
out:
	awsconfig_free(c);
	return ok;
}

static void test_parser_suite(void)
{
	char *text = t_read_file(DATA_DIR "/profile-parser-tests.json");
	cJSON *doc = text ? cJSON_Parse(text) : NULL;
	const cJSON *tc;
	int n = 0;

	cJSON_ArrayForEach(tc, cJSON_GetObjectItemCaseSensitive(doc, "tests"))
	{
		char label[300];
		snprintf(label, sizeof(label), "parser/%d %s", n,
			 cJSON_GetObjectItemCaseSensitive(tc, "name")->valuestring);
		T_CASE(label, run_parser_case(tc));
		n++;
	}
	if (n != 65)
		T_CASE("profile-parser-tests.json has 65 cases", 0);
	cJSON_Delete(doc);
	free(text);
}

static const char *env_str(const cJSON *env, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(env, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_location_suite(void)
{
	char *text = t_read_file(DATA_DIR "/file-location-tests.json");
	cJSON *doc = text ? cJSON_Parse(text) : NULL;
	const cJSON *tc;
	int n = 0;

	cJSON_ArrayForEach(tc, cJSON_GetObjectItemCaseSensitive(doc, "tests"))
	{
		const cJSON *env = cJSON_GetObjectItemCaseSensitive(tc, "environment");
		const char *plat = cJSON_GetObjectItemCaseSensitive(tc, "platform")->valuestring;
		const cJSON *prof = cJSON_GetObjectItemCaseSensitive(tc, "profile");
		struct awsconfig_env e;
		char cfg[512], cred[512], profile[128], label[300];

		memset(&e, 0, sizeof(e));
		e.home = env_str(env, "HOME");
		e.userprofile = env_str(env, "USERPROFILE");
		e.homedrive = env_str(env, "HOMEDRIVE");
		e.homepath = env_str(env, "HOMEPATH");
		e.config_file = env_str(env, "AWS_CONFIG_FILE");
		e.credentials_file = env_str(env, "AWS_SHARED_CREDENTIALS_FILE");
		e.profile = env_str(env, "AWS_PROFILE");
		e.windows = strcmp(plat, "windows") == 0;
		int rc = awsconfig_locate(&e, cfg, sizeof(cfg), cred, sizeof(cred), profile,
					  sizeof(profile));
		int ok =
		    rc == 0 &&
		    !strcmp(cfg,
			    cJSON_GetObjectItemCaseSensitive(tc, "configLocation")->valuestring) &&
		    !strcmp(
			cred,
			cJSON_GetObjectItemCaseSensitive(tc, "credentialsLocation")->valuestring) &&
		    (!cJSON_IsString(prof) || !strcmp(profile, prof->valuestring));
		if (!ok)
			fprintf(stderr, "rc %d: %s | %s | %s\n", rc, cfg, cred, profile);
		snprintf(label, sizeof(label), "location/%d %s", n,
			 cJSON_GetObjectItemCaseSensitive(tc, "name")->valuestring);
		T_CASE(label, ok);
		n++;
	}
	if (n != 9)
		T_CASE("file-location-tests.json has 9 cases", 0);
	cJSON_Delete(doc);
	free(text);
}

static void test_tilde_and_missing_home(void)
{
	struct awsconfig_env e;
	char cfg[256], cred[256], profile[64];

	memset(&e, 0, sizeof(e));
	e.home = "/home/u";
	e.config_file = "~/cfg/config";
	e.credentials_file = "~";
	CHECK_INT(
	    awsconfig_locate(&e, cfg, sizeof(cfg), cred, sizeof(cred), profile, sizeof(profile)),
	    0);
	CHECK_STR(cfg, "/home/u/cfg/config");
	CHECK_STR(cred, "/home/u");
	CHECK_STR(profile, "default");
	e.config_file = "~user/config"; /* only "~" and "~/" expand */
	CHECK_INT(
	    awsconfig_locate(&e, cfg, sizeof(cfg), cred, sizeof(cred), profile, sizeof(profile)),
	    0);
	CHECK_STR(cfg, "~user/config");
	e.home = NULL;
	e.config_file = "/etc/aws/config";
	e.credentials_file = NULL;
	CHECK_INT(
	    awsconfig_locate(&e, cfg, sizeof(cfg), cred, sizeof(cred), profile, sizeof(profile)),
	    -ENOENT);
	e.home = "/home/u";
	CHECK_INT(awsconfig_locate(&e, cfg, 8, cred, sizeof(cred), profile, sizeof(profile)),
		  -E2BIG);
}

static void test_load_file(void)
{
	char dir[] = "/tmp/test_awsconfig.XXXXXX";
	char path[128], err[AWSCONFIG_ERR_MAX];
	struct awsconfig *c = NULL;
	unsigned mode = 0;

	CHECK(mkdtemp(dir) != NULL);
	CHECK_INT(awsconfig_new(&c), 0);
	snprintf(path, sizeof(path), "%s/credentials", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		goto out;
	fputs("[default]\r\nAWS_Access_Key_ID = AKID\r\naws_secret_access_key=SECRET ; c\r\n"
	      "[other]\naws_access_key_id = OTHER\n",
	      f);
	fclose(f);
	chmod(path, 0640);
	CHECK_INT(awsconfig_load_file(c, AWSCONFIG_CREDENTIALS, path, &mode, err, sizeof(err)), 0);
	CHECK_INT(mode & 0777, 0640);
	CHECK_STR(awsconfig_get(c, AWSCONFIG_PROFILE, "default", "aws_access_key_id"), "AKID");
	CHECK_STR(awsconfig_get(c, AWSCONFIG_PROFILE, "default", "AWS_SECRET_ACCESS_KEY"),
		  "SECRET");
	CHECK_STR(awsconfig_get(c, AWSCONFIG_PROFILE, "other", "aws_access_key_id"), "OTHER");
	CHECK(awsconfig_get(c, AWSCONFIG_PROFILE, "nope", "aws_access_key_id") == NULL);
	CHECK(awsconfig_has(c, AWSCONFIG_PROFILE, "other"));

	snprintf(path, sizeof(path), "%s/missing", dir);
	CHECK_INT(awsconfig_load_file(c, AWSCONFIG_CONFIG, path, NULL, err, sizeof(err)), -ENOENT);
	CHECK_INT(awsconfig_load_file(c, AWSCONFIG_CONFIG, dir, NULL, err, sizeof(err)), -EISDIR);
	CHECK_INT(awsconfig_load_file(c, AWSCONFIG_CONFIG, "/dev/null", NULL, err, sizeof(err)), 0);

	/* over the cap: an error, not an unbounded read */
	snprintf(path, sizeof(path), "%s/big", dir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("[profile big]\n", f);
		for (int i = 0; i < AWSCONFIG_FILE_MAX / 16 + 1; i++)
			fputs("k = 01234567890\n", f); /* 16 bytes */
		fclose(f);
	}
	CHECK_INT(awsconfig_load_file(c, AWSCONFIG_CONFIG, path, NULL, err, sizeof(err)), -EFBIG);
	CHECK(strstr(err, "over") != NULL);
	unlink(path);

	/* a parse error names the line */
	snprintf(path, sizeof(path), "%s/bad", dir);
	f = fopen(path, "w");
	if (f) {
		fputs("[profile a]\nx = 1\n[profile b\n", f);
		fclose(f);
	}
	CHECK_INT(awsconfig_load_file(c, AWSCONFIG_CONFIG, path, NULL, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "line 3") != NULL);
	unlink(path);
	snprintf(path, sizeof(path), "%s/credentials", dir);
	unlink(path);

	/* a NUL byte would silently cut a key or value: refused (found by fuzzing) */
	CHECK_INT(
	    awsconfig_parse(c, AWSCONFIG_CONFIG, "[profile n]\nk\0x = v\n", 17, err, sizeof(err)),
	    -EINVAL);
	CHECK(strstr(err, "line 2: NUL byte") != NULL);
out:
	awsconfig_free(c);
	rmdir(dir);
}

int main(void)
{
	test_parser_suite();
	test_location_suite();
	T_RUN(test_tilde_and_missing_home);
	T_RUN(test_load_file);
	return T_DONE();
}
