/*
 * opts.c: see opts.h. One table (opts_table) drives parsing and --help, so
 * the help text cannot drift from what is accepted.
 */
#include "opts.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "s3hdr.h"

enum opt_kind {
	OK_STR,	      /* char * field */
	OK_BOOL,      /* int field set to 1 (flag) */
	OK_BOOL0,     /* int field set to 0 */
	OK_ID,	      /* long uid/gid */
	OK_MODE,      /* octal permission bits */
	OK_SIZE,      /* uint64_t bytes with K/M/G/T suffix */
	OK_SECONDS,   /* double >= 0 */
	OK_LONG,      /* long >= 0 */
	OK_LOGLEVEL,  /* int log level */
	OK_MOUNTFLAG, /* passed on to the kernel mount */
	OK_IGNORE,    /* fstab noise */
};

struct opt_def {
	const char *name; /* -o name; long option --name */
	enum opt_kind kind;
	size_t off;	  /* offsetof(struct opts, field) */
	const char *arg;  /* value placeholder for help, NULL for flags */
	const char *help; /* NULL: not listed separately (see the noise line) */
	int prefix_match; /* 1: name is a prefix ("x-systemd.") */
};

#define F(field) offsetof(struct opts, field)

static const struct opt_def opts_table[] = {
    {"endpoint", OK_STR, F(endpoint), "URL",
     "S3 endpoint, e.g. http://127.0.0.1:7480 (default: AWS for the region)", 0},
    {"region", OK_STR, F(region), "NAME",
     "region for signing (default: the profile's, else us-east-1)", 0},
    {"profile", OK_STR, F(profile), "NAME",
     "credentials/config profile (default: $AWS_PROFILE or \"default\")", 0},
    {"path_style", OK_BOOL, F(path_style), NULL,
     "path-style URLs (endpoint/bucket/key); default is virtual-hosted", 0},
    {"virtual_hosted", OK_BOOL0, F(path_style), NULL,
     "virtual-hosted URLs (bucket.endpoint/key), the default", 0},
    {"ca_bundle", OK_STR, F(ca_bundle), "FILE", "CA certificates for TLS (PEM)", 0},
    {"anonymous", OK_BOOL, F(anonymous), NULL, "send unsigned requests (public buckets)", 0},
    {"insecure", OK_BOOL, F(insecure), NULL,
     "DO NOT VERIFY TLS certificates (testing only; logged at every mount)", 0},
    {"ro", OK_BOOL, F(read_only), NULL, "read-only mount", 0},
    {"uid", OK_ID, F(uid), "N", "owner of every file (default: the mounting user)", 0},
    {"gid", OK_ID, F(gid), "N", "group of every file (default: the mounting user's)", 0},
    {"file_mode", OK_MODE, F(file_mode), "OCTAL", "permission bits of files (default 0644)", 0},
    {"dir_mode", OK_MODE, F(dir_mode), "OCTAL", "permission bits of directories (default 0755)", 0},
    {"allow_other", OK_BOOL, F(allow_other), NULL,
     "let other users in (implies default_permissions)", 0},
    {"default_permissions", OK_BOOL, F(default_permissions), NULL,
     "the kernel checks permissions against uid/gid/modes", 0},
    {"no_default_permissions", OK_BOOL0, F(default_permissions), NULL,
     "with allow_other: no kernel permission checks", 0},
    {"foreground", OK_BOOL, F(foreground), NULL, "stay in the foreground (also -f)", 0},
    {"log_level", OK_LOGLEVEL, F(log_level), "LEVEL",
     "error, warn (default), info or debug; SIGUSR2/SIGHUP cycle it", 0},
    {"max_threads", OK_LONG, F(max_threads), "N", "FUSE worker threads (default 16)", 0},
    {"memory_budget", OK_SIZE, F(memory_budget), "SIZE",
     "hard cap on cache, prefetch and upload buffers (default: a quarter of the "
     "cgroup's memory limit or RAM, 32M-256M)",
     0},
    {"part_size", OK_SIZE, F(part_size), "SIZE",
     "first multipart part size, >= 5M (default 8M); doubles every 1000 parts", 0},
    {"stat_ttl", OK_SECONDS, F(stat_ttl), "SEC",
     "attributes are trusted this long, then asked again; kernel TTL of files (default 1)", 0},
    {"negative_ttl", OK_SECONDS, F(negative_ttl), "SEC",
     "a missing name is remembered this long, here and by the kernel (default 1)", 0},
    {"dir_ttl", OK_SECONDS, F(dir_ttl), "SEC",
     "kernel TTL of a directory's name and attributes (default 1); listings are not cached", 0},
    {"abort_stale_uploads", OK_LONG, F(abort_stale_hours), "HOURS",
     "at mount, abort this prefix's multipart uploads older than HOURS", 0},
    {"max_rename_objects", OK_LONG, F(max_rename_objects), "N",
     "refuse renaming a directory holding more objects (default 1000)", 0},
    {"retries", OK_LONG, F(retries), "N",
     "retries of a failed S3 request, 50 ms-5 s apart (default 6); throttled answers "
     "(SlowDown) are retried until op_timeout or 120 s and slow the mount down",
     0},
    {"connect_timeout", OK_SECONDS, F(connect_timeout), "SEC",
     "connect to S3 within SEC, else retry (default 5)", 0},
    {"request_timeout", OK_SECONDS, F(request_timeout), "SEC",
     "retry a transfer stalled below 1 KB/s for SEC (default 30)", 0},
    {"op_timeout", OK_SECONDS, F(op_timeout), "SEC",
     "deadline of an S3 request and its retries, then EIO (default 0 = none)", 0},
    {"verify_etag", OK_BOOL, F(verify_etag), NULL,
     "a whole sequential read fails EIO if it differs from the object's stored CRC"
     " or, without one, its ETag (MD5; multipart: recorded, probed or guessed part"
     " sizes) (default; docs/integrity.md)",
     0},
    {"no_verify_etag", OK_BOOL0, F(verify_etag), NULL,
     "do not check reads (saves CPU, a HEAD per open of a multipart or 8 MiB+ object"
     " and second downloads)",
     0},
    {"checksum", OK_STR, F(checksum), "ALG",
     "upload checksums: auto (default), crc64nvme, crc32c, md5 or off (see below)", 0},
    {"conditional_writes", OK_BOOL, F(conditional_writes), NULL,
     "a close never replaces another writer's object: commits carry If-None-Match /"
     " If-Match, renames copy only the version seen (default)",
     0},
    {"no_conditional_writes", OK_BOOL0, F(conditional_writes), NULL,
     "send no conditions (servers that reject them); the last writer wins", 0},
    {"readahead_kb", OK_LONG, F(readahead_kb), "N",
     "kernel readahead in KiB, set when run as root (default 4096; 0 = kernel's)", 0},
    {"sse", OK_STR, F(sse), "ALG",
     "encrypt written objects: AES256 (SSE-S3), aws:kms or aws:kms:dsse (default: the"
     " bucket's default encryption)",
     0},
    {"sse_kms_key_id", OK_STR, F(sse_kms_key_id), "KEY",
     "with sse=aws:kms or aws:kms:dsse: the KMS key id, ARN or alias (default: the"
     " account's S3 key)",
     0},
    {"sse_c_key_file", OK_STR, F(sse_c_key_file), "FILE",
     "SSE-C: read and write with this customer key: 32 bytes, or their base64; mode"
     " 0600 or stricter",
     0},
    {"storage_class", OK_STR, F(storage_class), "CLASS",
     "storage class of written objects, e.g. STANDARD_IA (default: STANDARD)", 0},
    {"requester_pays", OK_BOOL, F(requester_pays), NULL,
     "accept the charges of a Requester Pays bucket (x-amz-request-payer)", 0},
    {"expected_bucket_owner", OK_STR, F(expected_bucket_owner), "ACCOUNT",
     "every request fails (403) unless the bucket belongs to this 12-digit account", 0},
    /* generic kernel mount flags, passed on */
    {"nodev", OK_MOUNTFLAG, 0, NULL, NULL, 0},
    /* dev and suid (which mount.fuse3 adds) are ignored: a bucket's files
     * never act as devices or set-user-ID programs here */
    {"dev", OK_IGNORE, 0, NULL, NULL, 0},
    {"nosuid", OK_MOUNTFLAG, 0, NULL, NULL, 0},
    {"suid", OK_IGNORE, 0, NULL, NULL, 0},
    {"noexec", OK_MOUNTFLAG, 0, NULL, NULL, 0},
    {"exec", OK_MOUNTFLAG, 0, NULL, NULL, 0},
    {"noatime", OK_MOUNTFLAG, 0, NULL, NULL, 0},
    {"atime", OK_MOUNTFLAG, 0, NULL, NULL, 0},
    {"relatime", OK_MOUNTFLAG, 0, NULL, NULL, 0},
    {"nodiratime", OK_MOUNTFLAG, 0, NULL, NULL, 0},
    {"async", OK_MOUNTFLAG, 0, NULL, NULL, 0},
    /* fstab / mount(8) noise */
    {"rw", OK_IGNORE, 0, NULL, NULL, 0},
    {"defaults", OK_IGNORE, 0, NULL, NULL, 0},
    {"_netdev", OK_IGNORE, 0, NULL, NULL, 0},
    {"auto", OK_IGNORE, 0, NULL, NULL, 0},
    {"noauto", OK_IGNORE, 0, NULL, NULL, 0},
    {"user", OK_IGNORE, 0, NULL, NULL, 0},
    {"users", OK_IGNORE, 0, NULL, NULL, 0},
    {"nouser", OK_IGNORE, 0, NULL, NULL, 0},
    {"nofail", OK_IGNORE, 0, NULL, NULL, 0},
    {"x-systemd.", OK_IGNORE, 0, NULL, NULL, 1},
    {"comment=", OK_IGNORE, 0, NULL, NULL, 1},
};

#define OPTS_N (sizeof(opts_table) / sizeof(opts_table[0]))

static int opts_err(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int opts_err(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && cap)
		vsnprintf(err, cap, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int opts_parse_size(const char *s, uint64_t *out)
{
	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	unsigned shift = 0;
	switch (toupper((unsigned char)*end)) {
	case '\0':
		break;
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	case 'T':
		shift = 40;
		break;
	case 'B':
		if (end[1] != '\0')
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (shift) {
		end++;
		if (*end == 'i' || *end == 'I')
			end++;
		if (*end == 'B' || *end == 'b')
			end++;
		if (*end != '\0')
			return -EINVAL;
		if (v > (UINT64_MAX >> shift))
			return -EINVAL;
		v <<= shift;
	}
	*out = v;
	return 0;
}

static int opts_parse_long(const char *s, long min, long max, long *out)
{
	if (!s || !*s)
		return -EINVAL;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int opts_set_str(char **field, const char *v)
{
	char *copy = strdup(v);
	if (!copy)
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

static int opts_add_mountflag(struct opts *o, const char *name)
{
	size_t have = strlen(o->mountflags), n = strlen(name);
	if (have + n + 2 > sizeof(o->mountflags))
		return -E2BIG;
	if (have)
		o->mountflags[have++] = ',';
	memcpy(o->mountflags + have, name, n + 1);
	return 0;
}

/* Compares a user-given option name with a table name, '-' == '_'. */
static int opts_name_eq(const char *user, size_t ulen, const char *name)
{
	size_t n = strlen(name);
	if (ulen != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char a = user[i] == '-' ? '_' : user[i];
		char b = name[i] == '-' ? '_' : name[i];
		if (a != b)
			return 0;
	}
	return 1;
}

static const struct opt_def *opts_find(const char *name, size_t len, const char *full)
{
	for (size_t i = 0; i < OPTS_N; i++) {
		const struct opt_def *d = &opts_table[i];
		if (d->prefix_match) {
			if (strncmp(full, d->name, strlen(d->name)) == 0)
				return d;
		} else if (opts_name_eq(name, len, d->name)) {
			return d;
		}
	}
	return NULL;
}

/* Applies one option "name" or "name=value"; val_next is the next argv word
 * for "--name value" (NULL when not available); *used_next tells the caller
 * it was consumed. */
static int opts_apply(struct opts *o, const char *item, const char *val_next, int *used_next,
		      char *err, size_t cap)
{
	const char *eq = strchr(item, '=');
	size_t nlen = eq ? (size_t)(eq - item) : strlen(item);
	const char *val = eq ? eq + 1 : NULL;
	const struct opt_def *d = opts_find(item, nlen, item);
	if (!d)
		return opts_err(err, cap, "unknown option '%.*s' (see --help)", (int)nlen, item);
	if (d->kind == OK_IGNORE) {
		log_debug("ignoring mount option '%s'", item);
		return 0;
	}
	int needs_val = d->arg != NULL;
	if (!needs_val) {
		if (val)
			return opts_err(err, cap, "option '%s' takes no value", d->name);
	} else if (!val) {
		if (val_next && used_next) {
			val = val_next;
			*used_next = 1;
		} else {
			return opts_err(err, cap, "option '%s' needs a value: %s=%s", d->name,
					d->name, d->arg);
		}
	}
	char *base = (char *)o;
	int rc = 0;
	switch (d->kind) {
	case OK_STR:
		if (!*val)
			return opts_err(err, cap, "option '%s' needs a non-empty value", d->name);
		rc = opts_set_str((char **)(void *)(base + d->off), val);
		break;
	case OK_BOOL:
		*(int *)(void *)(base + d->off) = 1;
		break;
	case OK_BOOL0:
		*(int *)(void *)(base + d->off) = 0;
		break;
	case OK_ID: {
		long v;
		if (opts_parse_long(val, 0, (long)UINT32_MAX - 1, &v))
			return opts_err(err, cap, "bad value for %s: '%s' (a number)", d->name,
					val);
		*(long *)(void *)(base + d->off) = v;
		break;
	}
	case OK_MODE: {
		char *end;
		errno = 0;
		unsigned long v = strtoul(val, &end, 8);
		if (!*val || errno || *end || v > 07777)
			return opts_err(err, cap, "bad value for %s: '%s' (octal, e.g. 0644)",
					d->name, val);
		*(unsigned *)(void *)(base + d->off) = (unsigned)v;
		break;
	}
	case OK_SIZE: {
		uint64_t v;
		if (opts_parse_size(val, &v))
			return opts_err(err, cap,
					"bad value for %s: '%s' (a size such as 256M, 1G, 8388608)",
					d->name, val);
		*(uint64_t *)(void *)(base + d->off) = v;
		break;
	}
	case OK_SECONDS: {
		char *end;
		errno = 0;
		double v = strtod(val, &end);
		if (!*val || errno || *end || !(v >= 0) || v > 86400.0 * 365)
			return opts_err(err, cap, "bad value for %s: '%s' (seconds, e.g. 1 or 0.5)",
					d->name, val);
		*(double *)(void *)(base + d->off) = v;
		break;
	}
	case OK_LONG: {
		long v;
		if (opts_parse_long(val, 0, INT_MAX, &v))
			return opts_err(err, cap, "bad value for %s: '%s' (a whole number)",
					d->name, val);
		if (d->off == F(max_threads))
			o->max_threads = (int)v;
		else
			*(long *)(void *)(base + d->off) = v;
		break;
	}
	case OK_LOGLEVEL: {
		int lvl = log_level_parse(val);
		if (lvl < 0)
			return opts_err(err, cap,
					"bad value for %s: '%s' (error, warn, info or debug)",
					d->name, val);
		o->log_level = lvl;
		break;
	}
	case OK_MOUNTFLAG:
		rc = opts_add_mountflag(o, d->name);
		break;
	case OK_IGNORE:
		break;
	}
	if (rc)
		return opts_err(err, cap, "option '%s': %s", d->name, strerror(-rc));
	return 0;
}

/* Applies a comma-separated -o list. */
static int opts_apply_list(struct opts *o, const char *list, char *err, size_t cap)
{
	char item[1024];
	const char *p = list;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (n >= sizeof(item))
			return opts_err(err, cap, "option too long: '%.40s...'", p);
		if (n) {
			memcpy(item, p, n);
			item[n] = '\0';
			int rc = opts_apply(o, item, NULL, NULL, err, cap);
			if (rc)
				return rc;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int opts_bucket_char_ok(char c)
{
	return islower((unsigned char)c) || isupper((unsigned char)c) ||
	       isdigit((unsigned char)c) || c == '.' || c == '-' || c == '_';
}

/* "BUCKET", "BUCKET:", "BUCKET:/PRE/FIX", "BUCKET:PREFIX", "s3://BUCKET/PREFIX". */
static int opts_parse_source(struct opts *o, const char *src, char *err, size_t cap)
{
	const char *b = src, *sep;
	if (strncmp(src, "s3://", 5) == 0) {
		b = src + 5;
		sep = strchr(b, '/');
	} else {
		sep = strchr(b, ':');
	}
	size_t blen = sep ? (size_t)(sep - b) : strlen(b);
	if (blen < 3 || blen > 63)
		return opts_err(err, cap, "bad bucket name in '%s' (3 to 63 characters)", src);
	for (size_t i = 0; i < blen; i++)
		if (!opts_bucket_char_ok(b[i]))
			return opts_err(err, cap,
					"bad bucket name in '%s' (letters, digits, '.', '-')", src);
	free(o->bucket);
	o->bucket = strndup(b, blen);
	if (!o->bucket)
		return -ENOMEM;

	const char *p = sep ? sep + 1 : "";
	while (*p == '/')
		p++;
	size_t plen = strlen(p);
	while (plen && p[plen - 1] == '/')
		plen--;
	if (plen > 900)
		return opts_err(err, cap, "prefix too long in '%s'", src);
	/* Each component must be a usable name: no "a//b", ".", "..". */
	size_t start = 0;
	for (size_t i = 0; i <= plen; i++) {
		if (i == plen || p[i] == '/') {
			size_t clen = i - start;
			if (plen && (clen == 0 || (clen == 1 && p[start] == '.') ||
				     (clen == 2 && p[start] == '.' && p[start + 1] == '.')))
				return opts_err(err, cap,
						"bad prefix in '%s' (empty, '.' or '..' component)",
						src);
			start = i + 1;
		}
	}
	free(o->prefix);
	o->prefix = malloc(plen + 2);
	if (!o->prefix)
		return -ENOMEM;
	memcpy(o->prefix, p, plen);
	if (plen)
		o->prefix[plen++] = '/';
	o->prefix[plen] = '\0';
	return 0;
}

static void opts_defaults(struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->uid = -1;
	o->gid = -1;
	o->file_mode = 0644;
	o->dir_mode = 0755;
	o->default_permissions = -1;
	o->log_level = LOG_LVL_WARN;
	o->max_threads = 16;
	o->memory_budget = 0; /* from the box (memfit.h), after parsing */
	o->part_size = 8ull << 20;
	o->stat_ttl = 1.0;
	o->negative_ttl = 1.0;
	o->dir_ttl = 1.0;
	o->abort_stale_hours = -1;
	o->max_rename_objects = 1000;
	o->retries = 6;
	o->verify_etag = 1;
	o->conditional_writes = 1;
	o->connect_timeout = 5.0;
	o->request_timeout = 30.0;
	o->readahead_kb = 4096;
}

static int opts_validate(struct opts *o, char *err, size_t cap)
{
	if (o->part_size < (5ull << 20) || o->part_size > (5ull << 30))
		return opts_err(err, cap, "part_size must be between 5M and 5G");
	if (o->memory_budget && o->memory_budget < 32ull << 20)
		return opts_err(err, cap, "memory_budget must be at least 32M");
	if (o->memory_budget && o->memory_budget < 3 * o->part_size)
		return opts_err(
		    err, cap, "memory_budget must hold at least 3 parts (3 x part_size = %llu MiB)",
		    (unsigned long long)(3 * o->part_size >> 20));
	if (o->max_threads < 1 || o->max_threads > 256)
		return opts_err(err, cap, "max_threads must be between 1 and 256");
	if (o->retries > 1000)
		return opts_err(err, cap,
				"retries must be at most 1000 (op_timeout bounds the time)");
	if (o->connect_timeout < 0.001 || o->connect_timeout > 3600)
		return opts_err(err, cap, "connect_timeout must be between 0.001 and 3600 s");
	if (o->request_timeout < 1 || o->request_timeout > 3600)
		return opts_err(err, cap, "request_timeout must be between 1 and 3600 s");
	if (o->op_timeout != 0 && o->op_timeout < 0.1)
		return opts_err(err, cap, "op_timeout must be 0 (none) or at least 0.1 s");
	if (o->checksum) {
		static const char *const names[] = {"auto", "crc64nvme", "crc32c", "md5", "off"};
		o->checksum_mode = -1;
		for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
			if (strcmp(o->checksum, names[i]) == 0)
				o->checksum_mode = i;
		if (o->checksum_mode < 0)
			return opts_err(
			    err, cap,
			    "bad value for checksum: '%s' (auto, crc64nvme, crc32c, md5 "
			    "or off)",
			    o->checksum);
	}
	if (o->readahead_kb > 1048576)
		return opts_err(err, cap, "readahead_kb must be at most 1048576 (1 GiB)");
	if (o->default_permissions < 0)
		o->default_permissions = o->allow_other;
	if (o->anonymous && o->profile)
		return opts_err(err, cap, "anonymous and profile= exclude each other");
	if (o->sse && !s3hdr_sse_valid(o->sse))
		return opts_err(
		    err, cap, "bad value for sse: '%s' (AES256, aws:kms or aws:kms:dsse)", o->sse);
	if (o->sse_kms_key_id && (!o->sse || strncmp(o->sse, "aws:kms", 7) != 0))
		return opts_err(err, cap, "sse_kms_key_id needs sse=aws:kms or sse=aws:kms:dsse");
	if (o->sse && o->sse_c_key_file)
		return opts_err(err, cap,
				"sse= and sse_c_key_file= exclude each other (an object has one "
				"encryption)");
	if (o->storage_class && !s3hdr_storage_class_valid(o->storage_class))
		return opts_err(err, cap,
				"bad value for storage_class: '%s' (upper-case letters, digits, "
				"'_', e.g. STANDARD_IA)",
				o->storage_class);
	if (o->expected_bucket_owner && !s3hdr_account_id_valid(o->expected_bucket_owner))
		return opts_err(err, cap,
				"bad value for expected_bucket_owner: '%s' (a 12-digit account id)",
				o->expected_bucket_owner);
	return 0;
}

int opts_parse(int argc, const char *const argv[], struct opts *o, char *err, size_t cap)
{
	opts_defaults(o);
	const char *pos[2] = {NULL, NULL};
	int npos = 0, only_pos = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = 0, used = 0;
		if (only_pos || a[0] != '-' || a[1] == '\0') {
			if (npos == 2)
				return opts_err(err, cap, "unexpected argument '%s' (usage: %s)", a,
						"s3mount [options] BUCKET[:/PREFIX] MOUNTPOINT");
			pos[npos++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = 1;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			o->show_help = 1;
		} else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			o->show_version = 1;
		} else if (strcmp(a, "-f") == 0) {
			o->foreground = 1;
		} else if (strcmp(a, "-d") == 0) {
			o->foreground = 1;
			o->log_level = LOG_LVL_DEBUG;
		} else if (strcmp(a, "-s") == 0) {
			o->single_thread = 1;
		} else if (strcmp(a, "-o") == 0) {
			if (!next)
				return opts_err(err, cap, "-o needs a list of options");
			rc = opts_apply_list(o, next, err, cap);
			i++;
		} else if (strncmp(a, "-o", 2) == 0) {
			rc = opts_apply_list(o, a + 2, err, cap);
		} else if (strncmp(a, "--", 2) == 0) {
			/* the value may be the next word unless it looks like an option */
			const char *v = next && next[0] != '-' ? next : NULL;
			rc = opts_apply(o, a + 2, v, &used, err, cap);
			if (used)
				i++;
		} else {
			return opts_err(err, cap, "unknown option '%s' (see --help)", a);
		}
		if (rc)
			return rc;
	}
	if (o->show_help || o->show_version)
		return 0;
	if (npos < 2)
		return opts_err(err, cap, "missing %s (usage: %s)",
				npos == 0 ? "BUCKET and MOUNTPOINT" : "MOUNTPOINT",
				"s3mount [options] BUCKET[:/PREFIX] MOUNTPOINT");
	int rc = opts_parse_source(o, pos[0], err, cap);
	if (rc)
		return rc;
	o->mountpoint = strdup(pos[1]);
	if (!o->mountpoint)
		return -ENOMEM;
	return opts_validate(o, err, cap);
}

void opts_release(struct opts *o)
{
	free(o->bucket);
	free(o->prefix);
	free(o->mountpoint);
	free(o->endpoint);
	free(o->region);
	free(o->profile);
	free(o->ca_bundle);
	free(o->sse);
	free(o->sse_kms_key_id);
	free(o->sse_c_key_file);
	free(o->storage_class);
	free(o->expected_bucket_owner);
	free(o->checksum);
	memset(o, 0, sizeof(*o));
}

void opts_usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: %s [options] BUCKET[:/PREFIX] MOUNTPOINT\n"
		"       mount -t fuse.s3mount BUCKET[:/PREFIX] MOUNTPOINT -o OPTIONS\n"
		"       fstab: BUCKET:/PREFIX /mnt/s3 fuse.s3mount _netdev,OPTIONS 0 0\n"
		"\n"
		"Presents an S3 bucket (or a prefix of it) as a filesystem. Credentials come\n"
		"from the AWS chain: environment, profile files, ECS, EC2 instance metadata.\n"
		"\n"
		"General:\n"
		"  -h, --help               this text\n"
		"  -V, --version            version\n"
		"  -f                       foreground (log to stderr; else syslog)\n"
		"  -d                       foreground with log_level=debug\n"
		"  -s                       single-threaded session loop\n"
		"  -o OPT[,OPT...]          options below; each also works as --OPT[=VALUE]\n"
		"\n"
		"Options (-o NAME[=VALUE] or --NAME[=VALUE], '-' and '_' are the same):\n",
		prog);
	for (size_t i = 0; i < OPTS_N; i++) {
		const struct opt_def *d = &opts_table[i];
		if (!d->help)
			continue;
		char left[64];
		snprintf(left, sizeof(left), "%s%s%s", d->name, d->arg ? "=" : "",
			 d->arg ? d->arg : "");
		fprintf(f, "  %-24s %s\n", left, d->help);
	}
	fprintf(f, "\nPassed on to the kernel mount:");
	for (size_t i = 0; i < OPTS_N; i++)
		if (opts_table[i].kind == OK_MOUNTFLAG)
			fprintf(f, " %s", opts_table[i].name);
	fprintf(f, "\nAccepted and ignored (fstab/mount noise):");
	for (size_t i = 0; i < OPTS_N; i++)
		if (opts_table[i].kind == OK_IGNORE)
			fprintf(f, " %s%s", opts_table[i].name,
				opts_table[i].prefix_match ? "*" : "");
	fprintf(f,
		"\n\nSizes take K, M, G, T suffixes (powers of 1024). Part size policy: parts\n"
		"1-1000 use part_size, then the size doubles every 1000 parts (capped at\n"
		"5G), so 10,000 parts reach the 5 TiB S3 maximum. A part is buffered whole\n"
		"in memory, so parts are also capped at half of memory_budget: with a\n"
		"256M budget a file can reach 867 GiB (64M: 273 GiB; 32M: 1000 x 8M +\n"
		"9000 x 16M = 148 GiB); 5 TiB needs memory_budget=4G. Without memory_budget= the\n"
		"budget is a quarter of the memory limit of the daemon's cgroup (or of the\n"
		"RAM), between 32M and 256M, logged at mount; a budget that cannot fit the\n"
		"limit with the daemon's 32M of fixed overhead is refused.\n"
		"A write past the largest reachable size fails with EFBIG.\n"
		"Memory: every read-cache block, prefetch buffer and upload part is charged\n"
		"to memory_budget; at the limit prefetch shrinks and writers wait.\n"
		"Listings: every page of ListObjectsV2 on each opendir; a directory\n"
		"hides a file of the same name; files being written here are listed.\n"
		"Signals: SIGUSR1 logs a summary of requests, errors, bytes and cache hits;\n"
		"SIGUSR2 or SIGHUP cycle the log level. See docs/semantics.md.\n"
		"Encryption: objects encrypted with SSE-KMS, DSSE-KMS or SSE-C are read\n"
		"without the ETag check (their ETag is no MD5). An SSE-C key is never given\n"
		"on the command line; with it, objects not encrypted with that key cannot\n"
		"be read. See docs/encryption.md.\n"
		"Checksums: with checksum=auto every upload carries its CRC64NVME (the whole\n"
		"object's at Complete) and Content-MD5 until the server echoes the CRC\n"
		"header; from then on, no MD5. A forced crc64nvme or crc32c never sends MD5:\n"
		"use it only with a server that checks CRCs. See docs/checksums.md.\n");
}
