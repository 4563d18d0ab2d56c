/*
 * awsconfig.c: see awsconfig.h. A line-oriented state machine: the state is
 * the current section (or "an ignored section") and the current property (for
 * continuation lines). Sections and properties are small arrays; files are a
 * few KiB and parsed once per credentials resolution, so lookups are linear.
 */
#include "awsconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct prop {
	char *key; /* lower-case */
	char *value;
};

struct section {
	char *name;
	enum awsconfig_section type;
	struct prop *props;
	size_t n, cap;
};

struct awsconfig {
	struct section *secs;
	size_t n, cap;
};

/* Values may be secrets: wipe before free (volatile so the stores stay). */
static void wipe_free(char *s)
{
	if (!s)
		return;
	for (volatile char *p = s; *p; p++)
		*p = 0;
	free(s);
}

static void section_release(struct section *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->props[i].key);
		wipe_free(s->props[i].value);
	}
	free(s->props);
	free(s->name);
	memset(s, 0, sizeof(*s));
}

int awsconfig_new(struct awsconfig **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void awsconfig_free(struct awsconfig *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		section_release(&c->secs[i]);
	free(c->secs);
	free(c);
}

static int is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static int lower(int ch)
{
	return (ch >= 'A' && ch <= 'Z') ? ch + 32 : ch;
}

static int ieq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (lower((unsigned char)*a) != lower((unsigned char)*b))
			return 0;
	return *a == *b;
}

/* Profile, sso-session and property names: the SDKs' identifier set. */
static int valid_name(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || (ch != 0 && strchr("_-/.%@:+", ch))))
			return 0;
	}
	return 1;
}

/* Trims blanks on both sides of [*s, *s + *n). */
static void trim(const char **s, size_t *n)
{
	while (*n && is_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_blank((*s)[*n - 1]))
		(*n)--;
}

static struct section *find_section(const struct awsconfig *c, enum awsconfig_section type,
				    const char *name, size_t n)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->secs[i].type == type && strlen(c->secs[i].name) == n &&
		    memcmp(c->secs[i].name, name, n) == 0)
			return &c->secs[i];
	return NULL;
}

static int get_section(struct awsconfig *c, enum awsconfig_section type, const char *name, size_t n,
		       struct section **out)
{
	struct section *s = find_section(c, type, name, n);
	if (s) {
		*out = s;
		return 0;
	}
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 8;
		struct section *ns = realloc(c->secs, ncap * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		c->secs = ns;
		c->cap = ncap;
	}
	s = &c->secs[c->n];
	memset(s, 0, sizeof(*s));
	s->type = type;
	s->name = strndup(name, n);
	if (!s->name)
		return -ENOMEM;
	c->n++;
	*out = s;
	return 0;
}

/* Sets key (lower-cased) to value; an existing key keeps its position. The
 * index of the property goes to *idx for continuation lines. */
static int set_prop(struct section *s, const char *key, size_t kn, const char *value, size_t vn,
		    size_t *idx)
{
	char *v = strndup(value, vn);
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		if (strlen(s->props[i].key) != kn)
			continue;
		size_t k = 0;
		while (k < kn && s->props[i].key[k] == lower((unsigned char)key[k]))
			k++;
		if (k == kn) {
			wipe_free(s->props[i].value);
			s->props[i].value = v;
			*idx = i;
			return 0;
		}
	}
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 8;
		struct prop *np = realloc(s->props, ncap * sizeof(*np));
		if (!np) {
			wipe_free(v);
			return -ENOMEM;
		}
		s->props = np;
		s->cap = ncap;
	}
	char *k = strndup(key, kn);
	if (!k) {
		wipe_free(v);
		return -ENOMEM;
	}
	for (char *p = k; *p; p++)
		*p = (char)lower((unsigned char)*p);
	s->props[s->n].key = k;
	s->props[s->n].value = v;
	*idx = s->n++;
	return 0;
}

static int append_line(struct prop *p, const char *t, size_t n)
{
	size_t old = strlen(p->value);
	char *v = malloc(old + 1 + n + 1);
	if (!v)
		return -ENOMEM;
	memcpy(v, p->value, old);
	v[old] = '\n';
	memcpy(v + old + 1, t, n);
	v[old + 1 + n] = '\0';
	wipe_free(p->value);
	p->value = v;
	return 0;
}

static int fail(char *err, size_t cap, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t cap, size_t line, const char *fmt, ...)
{
	if (err && cap) {
		va_list ap;
		int k = snprintf(err, cap, "line %zu: ", line);
		if (k >= 0 && (size_t)k < cap) {
			va_start(ap, fmt);
			vsnprintf(err + k, cap - (size_t)k, fmt, ap);
			va_end(ap);
		}
	}
	return -EINVAL;
}

/* "prefix" followed by at least one blank, then the rest. */
static int take_prefix(const char **s, size_t *n, const char *prefix)
{
	size_t pl = strlen(prefix);
	if (*n <= pl || memcmp(*s, prefix, pl) != 0 || !is_blank((*s)[pl]))
		return 0;
	*s += pl;
	*n -= pl;
	trim(s, n);
	return 1;
}

struct parse_state {
	struct awsconfig *c;
	enum awsconfig_file kind;
	int in_section;		/* a section line was seen (maybe ignored) */
	struct section *target; /* NULL: the section is ignored */
	int prop_state;		/* 0 none, 1 property in target, 2 ignored property */
	size_t prop_idx;
	int sub;		     /* the property's value was empty: sub-properties */
	struct section bare_default; /* "[default]" in the config file */
	int bare_seen, prefixed_default_seen;
};

static int section_line(struct parse_state *st, const char *line, size_t n, size_t lineno,
			char *err, size_t errcap)
{
	/* A comment may follow the closing bracket; names cannot hold '#' or ';'. */
	size_t k = 0;
	while (k < n && line[k] != '#' && line[k] != ';')
		k++;
	n = k;
	while (n && is_blank(line[n - 1]))
		n--;
	if (n < 2 || line[n - 1] != ']')
		return fail(err, errcap, lineno, "Profile definition must end with ']'");
	const char *s = line + 1;
	size_t sn = n - 2;
	trim(&s, &sn);

	st->in_section = 1;
	st->target = NULL;
	st->prop_state = 0;
	if (st->kind == AWSCONFIG_CREDENTIALS) {
		if (valid_name(s, sn))
			return get_section(st->c, AWSCONFIG_PROFILE, s, sn, &st->target);
		return 0;
	}
	if (sn == 7 && memcmp(s, "default", 7) == 0) {
		st->bare_seen = 1;
		st->target = &st->bare_default;
		return 0;
	}
	if (take_prefix(&s, &sn, "profile")) {
		if (!valid_name(s, sn))
			return 0;
		if (sn == 7 && memcmp(s, "default", 7) == 0)
			st->prefixed_default_seen = 1;
		return get_section(st->c, AWSCONFIG_PROFILE, s, sn, &st->target);
	}
	if (take_prefix(&s, &sn, "sso-session") && valid_name(s, sn))
		return get_section(st->c, AWSCONFIG_SSO_SESSION, s, sn, &st->target);
	return 0; /* "[foo]" in the config file, typos: ignored */
}

static int continuation_line(struct parse_state *st, const char *line, size_t n, size_t lineno,
			     char *err, size_t errcap)
{
	if (!st->in_section)
		return fail(err, errcap, lineno,
			    "Expected a profile definition, found continuation");
	if (st->prop_state == 0)
		return fail(err, errcap, lineno,
			    "Expected a property definition, found continuation");
	trim(&line, &n);
	if (st->sub) {
		const char *eq = memchr(line, '=', n);
		if (!eq)
			return fail(err, errcap, lineno,
				    "Expected an '=' sign defining a sub-property");
		const char *name = line;
		size_t nn = (size_t)(eq - line);
		trim(&name, &nn);
		if (nn == 0)
			return fail(err, errcap, lineno, "Sub-property did not have a name");
	}
	if (st->prop_state == 1)
		return append_line(&st->target->props[st->prop_idx], line, n);
	return 0;
}

static int property_line(struct parse_state *st, const char *line, size_t n, size_t lineno,
			 char *err, size_t errcap)
{
	if (!st->in_section)
		return fail(err, errcap, lineno, "Expected a profile definition");
	const char *eq = memchr(line, '=', n);
	if (!eq)
		return fail(err, errcap, lineno, "Expected an '=' sign defining a property");
	const char *key = line, *val = eq + 1;
	size_t kn = (size_t)(eq - line), vn = n - kn - 1;
	trim(&key, &kn);
	if (kn == 0)
		return fail(err, errcap, lineno, "Property did not have a name");
	/* A comment in a value starts at '#' or ';' after a blank. */
	for (size_t i = 1; i < vn; i++) {
		if ((val[i] == '#' || val[i] == ';') && is_blank(val[i - 1])) {
			vn = i;
			break;
		}
	}
	trim(&val, &vn);
	st->sub = vn == 0;
	if (!st->target || !valid_name(key, kn)) {
		st->prop_state = 2;
		return 0;
	}
	st->prop_state = 1;
	return set_prop(st->target, key, kn, val, vn, &st->prop_idx);
}

int awsconfig_parse(struct awsconfig *c, enum awsconfig_file kind, const char *text, size_t len,
		    char *err, size_t errcap)
{
	struct parse_state st;
	size_t lineno = 0;
	int rc = 0;

	if (err && errcap)
		err[0] = '\0';
	if (len > AWSCONFIG_FILE_MAX)
		return fail(err, errcap, 0, "file over %d bytes", AWSCONFIG_FILE_MAX);
	/* Values are C strings: a NUL byte would cut one silently. */
	const char *nul = memchr(text, '\0', len);
	if (nul) {
		size_t ln = 1;
		for (const char *q = text; q < nul; q++)
			ln += *q == '\n';
		return fail(err, errcap, ln, "NUL byte in the file");
	}
	memset(&st, 0, sizeof(st));
	st.c = c;
	st.kind = kind;
	st.bare_default.type = AWSCONFIG_PROFILE;

	const char *p = text, *end = text + len;
	while (p < end && rc == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *line = p;
		size_t n = (size_t)(le - p);
		p = nl ? nl + 1 : end;
		lineno++;
		if (n && line[n - 1] == '\r')
			n--;
		size_t k = 0;
		while (k < n && (is_blank(line[k]) || line[k] == '\r'))
			k++;
		if (k == n)
			continue; /* blank, also inside sub-properties */
		if (line[0] == '#' || line[0] == ';')
			continue;
		if (line[0] == '[')
			rc = section_line(&st, line, n, lineno, err, errcap);
		else if (is_blank(line[0]))
			rc = continuation_line(&st, line, n, lineno, err, errcap);
		else
			rc = property_line(&st, line, n, lineno, err, errcap);
	}
	/* "[profile default]" anywhere in the file wins over "[default]". */
	if (rc == 0 && st.bare_seen && !st.prefixed_default_seen) {
		struct section *d;
		rc = get_section(c, AWSCONFIG_PROFILE, "default", 7, &d);
		for (size_t i = 0; rc == 0 && i < st.bare_default.n; i++) {
			size_t idx;
			const struct prop *pr = &st.bare_default.props[i];
			rc = set_prop(d, pr->key, strlen(pr->key), pr->value, strlen(pr->value),
				      &idx);
		}
	}
	section_release(&st.bare_default);
	return rc;
}

int awsconfig_load_file(struct awsconfig *c, enum awsconfig_file kind, const char *path,
			unsigned *mode_out, char *err, size_t errcap)
{
	struct stat sb;
	char *text = NULL;
	size_t len = 0;
	int fd, rc = 0;

	if (err && errcap)
		err[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) != 0) {
		rc = -errno;
		goto out;
	}
	if (mode_out)
		*mode_out = (unsigned)sb.st_mode;
	if (S_ISDIR(sb.st_mode)) {
		rc = -EISDIR;
		goto out;
	}
	/* Read up to the cap plus one byte: st_size is not trusted (/dev/null,
	 * a FIFO, a file that grows while we read). */
	text = malloc(AWSCONFIG_FILE_MAX + 1);
	if (!text) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, text + len, AWSCONFIG_FILE_MAX + 1 - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > AWSCONFIG_FILE_MAX) {
			rc = -EFBIG;
			if (err && errcap)
				snprintf(err, errcap, "%s: over %d bytes", path,
					 AWSCONFIG_FILE_MAX);
			goto out;
		}
	}
	rc = awsconfig_parse(c, kind, text, len, err, errcap);
out:
	if (text) {
		for (volatile char *q = text; q < text + len; q++)
			*q = 0;
		free(text);
	}
	close(fd);
	return rc;
}

const char *awsconfig_get(const struct awsconfig *c, enum awsconfig_section type, const char *name,
			  const char *key)
{
	const struct section *s = find_section(c, type, name, strlen(name));
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		if (ieq(s->props[i].key, key))
			return s->props[i].value;
	return NULL;
}

int awsconfig_has(const struct awsconfig *c, enum awsconfig_section type, const char *name)
{
	return find_section(c, type, name, strlen(name)) != NULL;
}

static const struct section *nth_section(const struct awsconfig *c, enum awsconfig_section type,
					 size_t i)
{
	for (size_t k = 0; k < c->n; k++)
		if (c->secs[k].type == type && i-- == 0)
			return &c->secs[k];
	return NULL;
}

const char *awsconfig_section_name(const struct awsconfig *c, enum awsconfig_section type, size_t i)
{
	const struct section *s = nth_section(c, type, i);
	return s ? s->name : NULL;
}

const char *awsconfig_property(const struct awsconfig *c, enum awsconfig_section type,
			       size_t section, size_t j, const char **value)
{
	const struct section *s = nth_section(c, type, section);
	if (!s || j >= s->n)
		return NULL;
	if (value)
		*value = s->props[j].value;
	return s->props[j].key;
}

void awsconfig_env_from_process(struct awsconfig_env *env)
{
	memset(env, 0, sizeof(*env));
	env->home = getenv("HOME");
	env->config_file = getenv("AWS_CONFIG_FILE");
	env->credentials_file = getenv("AWS_SHARED_CREDENTIALS_FILE");
	env->profile = getenv("AWS_PROFILE");
	if (!env->home || !env->home[0]) {
		/* daemons started by systemd may have no HOME */
		struct passwd pw, *res = NULL;
		char pwbuf[4096];
		if (getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res &&
		    res->pw_dir && strlen(res->pw_dir) < sizeof(env->pw_home)) {
			memcpy(env->pw_home, res->pw_dir, strlen(res->pw_dir) + 1);
			env->home = env->pw_home;
		}
	}
}

static int put(char *out, size_t cap, const char *a, const char *b, const char *c2)
{
	int k = snprintf(out, cap, "%s%s%s", a, b, c2);
	return (k < 0 || (size_t)k >= cap) ? -E2BIG : 0;
}

/* "~" or "~/rest" (also "~\\rest" on windows) -> home + rest */
static int expand(const char *path, const char *home, int windows, char *out, size_t cap)
{
	if (path[0] == '~' && (path[1] == '\0' || path[1] == '/' || (windows && path[1] == '\\'))) {
		if (!home)
			return -ENOENT;
		return put(out, cap, home, path + 1, "");
	}
	return put(out, cap, path, "", "");
}

int awsconfig_locate(const struct awsconfig_env *env, char *config, size_t config_cap,
		     char *credentials, size_t credentials_cap, char *profile, size_t profile_cap)
{
	char homebuf[1024];
	const char *home = env->home && env->home[0] ? env->home : NULL;
	const char *sep = env->windows ? "\\" : "/";
	int rc;

	if (!home && env->windows) {
		if (env->userprofile && env->userprofile[0]) {
			home = env->userprofile;
		} else if (env->homedrive && env->homepath) {
			if (put(homebuf, sizeof(homebuf), env->homedrive, env->homepath, "") != 0)
				return -E2BIG;
			home = homebuf;
		}
	}
	if (env->config_file && env->config_file[0]) {
		rc = expand(env->config_file, home, env->windows, config, config_cap);
	} else {
		char tail[32];
		snprintf(tail, sizeof(tail), "%s.aws%sconfig", sep, sep);
		rc = home ? put(config, config_cap, home, tail, "") : -ENOENT;
	}
	if (rc)
		return rc;
	if (env->credentials_file && env->credentials_file[0]) {
		rc =
		    expand(env->credentials_file, home, env->windows, credentials, credentials_cap);
	} else {
		char tail[32];
		snprintf(tail, sizeof(tail), "%s.aws%scredentials", sep, sep);
		rc = home ? put(credentials, credentials_cap, home, tail, "") : -ENOENT;
	}
	if (rc)
		return rc;
	return put(profile, profile_cap, env->profile && env->profile[0] ? env->profile : "default",
		   "", "");
}
