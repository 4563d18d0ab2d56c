/*
 * awsconfig.h: the AWS shared config and credentials files (~/.aws/config,
 * ~/.aws/credentials), parsed exactly as the cross-SDK test suite
 * (profile-parser-tests.json) defines, and their locations as
 * file-location-tests.json defines.
 *
 * Format, in short: "[profile name]" sections in the config file ("[default]"
 * too, but "[profile default]" wins over it), "[name]" sections in the
 * credentials file; "[sso-session name]" sections in the config file;
 * "key = value" properties (keys case-insensitive, stored lower-case; the last
 * definition wins; the credentials file wins over the config file); '#' and ';'
 * start a comment on a section line, a whole line, or in a value after a
 * blank; an indented line continues the previous value ("\n" + the trimmed
 * line) or, when that value was empty, adds a sub-property ("name = value").
 * Sections with invalid names and properties with invalid keys are ignored;
 * malformed lines are errors (-EINVAL with a message naming the line).
 *
 * Parsing is pure (buffers in, a struct awsconfig out); awsconfig_load_file()
 * is the only I/O and caps a file at AWSCONFIG_FILE_MAX bytes. Secrets held in
 * the struct are wiped on free; nothing here logs a value.
 * Ownership: awsconfig_new/_free; strings returned by lookups live until the
 * next parse into or free of the struct. Not thread-safe: one owner.
 */
#ifndef AWSCONFIG_H
#define AWSCONFIG_H
#include <stddef.h>

#define AWSCONFIG_FILE_MAX (1024 * 1024) /* bytes: cap on a config/credentials file */
#define AWSCONFIG_ERR_MAX 160		 /* bytes: room for a parse error message */

enum awsconfig_file { AWSCONFIG_CONFIG, AWSCONFIG_CREDENTIALS };
enum awsconfig_section { AWSCONFIG_PROFILE, AWSCONFIG_SSO_SESSION };

struct awsconfig;

int awsconfig_new(struct awsconfig **out);
void awsconfig_free(struct awsconfig *c);

/* Parses one file's text and merges its sections into c (parse the config file
 * first, then the credentials file, so credentials win). On -EINVAL the
 * message goes into err (if err != NULL) and c may hold part of the file. */
int awsconfig_parse(struct awsconfig *c, enum awsconfig_file kind, const char *text, size_t len,
		    char *err, size_t errcap);

/* Reads path (capped) and parses it. -ENOENT when it does not exist, -EFBIG
 * when it is over the cap, -EINVAL on a parse error (message in err), other
 * negative errno from open/read. *mode_out (if not NULL) gets st_mode, so the
 * caller can warn about a credentials file readable by others. */
int awsconfig_load_file(struct awsconfig *c, enum awsconfig_file kind, const char *path,
			unsigned *mode_out, char *err, size_t errcap);

/* Value of key (case-insensitive) in a profile or sso-session, or NULL. */
const char *awsconfig_get(const struct awsconfig *c, enum awsconfig_section type, const char *name,
			  const char *key);
/* 1 when the profile (or sso-session) exists, even without properties. */
int awsconfig_has(const struct awsconfig *c, enum awsconfig_section type, const char *name);

/* Enumeration (tests, diagnostics): sections in first-seen order, their
 * properties in first-seen order. Returns NULL past the end. */
const char *awsconfig_section_name(const struct awsconfig *c, enum awsconfig_section type,
				   size_t i);
const char *awsconfig_property(const struct awsconfig *c, enum awsconfig_section type,
			       size_t section, size_t j, const char **value);

/* The environment that decides where the files are (file-location-tests). */
struct awsconfig_env {
	const char *home;	      /* HOME */
	const char *userprofile;      /* USERPROFILE (windows rules only) */
	const char *homedrive;	      /* HOMEDRIVE (windows rules only) */
	const char *homepath;	      /* HOMEPATH (windows rules only) */
	const char *config_file;      /* AWS_CONFIG_FILE */
	const char *credentials_file; /* AWS_SHARED_CREDENTIALS_FILE */
	const char *profile;	      /* AWS_PROFILE */
	int windows;		      /* apply the windows home rules and '\\' */
	char pw_home[512];	      /* storage for the passwd fallback */
};

/* Fills env from the process environment; HOME falls back to the passwd
 * entry of the real uid. Reads the environment: call before threads start
 * or while nothing calls setenv. */
void awsconfig_env_from_process(struct awsconfig_env *env);

/* The config and credentials paths and the profile name: AWS_CONFIG_FILE /
 * AWS_SHARED_CREDENTIALS_FILE when set (a leading "~/" expands to the home
 * directory), else <home>/.aws/config and <home>/.aws/credentials; profile =
 * AWS_PROFILE or "default". -ENOENT when a path needs a home directory and
 * none is known, -E2BIG when a buffer is too small. */
int awsconfig_locate(const struct awsconfig_env *env, char *config, size_t config_cap,
		     char *credentials, size_t credentials_cap, char *profile, size_t profile_cap);

#endif
