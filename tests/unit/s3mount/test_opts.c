/* test_opts.c: s3mount's command line (opts.c), incl. the forms mount.fuse3
 * and fstab produce, and every kind of bad input. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "opts.h"
#include "t.h"

static char err[256];

static int parse(struct opts *o, int argc, const char *const *argv)
{
	err[0] = '\0';
	return opts_parse(argc, argv, o, err, sizeof(err));
}

static void test_defaults(void)
{
	struct opts o;
	const char *argv[] = {"s3mount", "mybucket", "/mnt/s3"};
	CHECK_INT(parse(&o, 3, argv), 0);
	CHECK_STR(o.bucket, "mybucket");
	CHECK_STR(o.prefix, "");
	CHECK_STR(o.mountpoint, "/mnt/s3");
	CHECK_INT(o.memory_budget, 0); /* from the box at mount (memfit.h) */
	CHECK_INT(o.part_size, 8ull << 20);
	CHECK(o.stat_ttl == 1.0 && o.negative_ttl == 1.0);
	CHECK_INT(o.file_mode, 0644);
	CHECK_INT(o.dir_mode, 0755);
	CHECK_INT(o.uid, -1);
	CHECK_INT(o.path_style, 0);
	CHECK_INT(o.read_only, 0);
	CHECK_INT(o.default_permissions, 0);
	CHECK_INT(o.abort_stale_hours, -1);
	CHECK_INT(o.log_level, LOG_LVL_WARN);
	CHECK_INT(o.readahead_kb, 4096);
	CHECK_STR(o.mountflags, "");
	CHECK_INT(o.retries, 6);
	CHECK(o.connect_timeout == 5.0 && o.request_timeout == 30.0 && o.op_timeout == 0.0);
	CHECK_INT(o.verify_etag, 1);
	CHECK_INT(o.checksum_mode, 0); /* auto */
	opts_release(&o);
}

static void test_mount_fuse3_form(void)
{
	/* what `mount -t fuse.s3mount b:/data/in /mnt -o ...` runs */
	struct opts o;
	const char *argv[] = {"s3mount", "bucket-1:/data/in/", "/mnt", "-o",
			      "rw,_netdev,endpoint=http://127.0.0.1:7480,path_style,allow_other,"
			      "memory_budget=64M,nofail,x-systemd.automount,comment=foo,noauto,"
			      "user,users,auto,defaults,uid=1000,gid=100,file_mode=0600,"
			      "dir_mode=700,nodev,nosuid,ro"};
	CHECK_INT(parse(&o, 5, argv), 0);
	CHECK_STR(err, "");
	CHECK_STR(o.bucket, "bucket-1");
	CHECK_STR(o.prefix, "data/in/");
	CHECK_STR(o.endpoint, "http://127.0.0.1:7480");
	CHECK_INT(o.path_style, 1);
	CHECK_INT(o.allow_other, 1);
	CHECK_INT(o.default_permissions, 1); /* implied by allow_other */
	CHECK_INT(o.memory_budget, 64ull << 20);
	CHECK_INT(o.uid, 1000);
	CHECK_INT(o.gid, 100);
	CHECK_INT(o.file_mode, 0600);
	CHECK_INT(o.dir_mode, 0700);
	CHECK_INT(o.read_only, 1);
	CHECK_STR(o.mountflags, "nodev,nosuid");
	opts_release(&o);
}

static void test_long_options(void)
{
	struct opts o;
	const char *argv[] = {"s3mount",
			      "--endpoint",
			      "http://h:1",
			      "--log-level=debug",
			      "--region=eu-west-1",
			      "-f",
			      "--stat-ttl",
			      "0.5",
			      "--negative_ttl=0",
			      "--part-size=16MiB",
			      "--abort-stale-uploads=24",
			      "--ro",
			      "--max-rename-objects",
			      "50",
			      "b12",
			      "/m",
			      "--profile",
			      "p1",
			      "--ca-bundle=/etc/ca.pem",
			      "--insecure",
			      "--no-default-permissions",
			      "--allow-other"};
	CHECK_INT(parse(&o, 22, argv), 0);
	CHECK_STR(err, "");
	CHECK_STR(o.endpoint, "http://h:1");
	CHECK_INT(o.log_level, LOG_LVL_DEBUG);
	CHECK_STR(o.region, "eu-west-1");
	CHECK_INT(o.foreground, 1);
	CHECK(o.stat_ttl == 0.5);
	CHECK(o.negative_ttl == 0.0);
	CHECK_INT(o.part_size, 16ull << 20);
	CHECK_INT(o.abort_stale_hours, 24);
	CHECK_INT(o.read_only, 1);
	CHECK_INT(o.max_rename_objects, 50);
	CHECK_STR(o.profile, "p1");
	CHECK_STR(o.ca_bundle, "/etc/ca.pem");
	CHECK_INT(o.insecure, 1);
	CHECK_INT(o.allow_other, 1);
	CHECK_INT(o.default_permissions, 0);
	CHECK_STR(o.bucket, "b12");
	CHECK_STR(o.prefix, "");
	opts_release(&o);
}

static void test_sources(void)
{
	static const struct {
		const char *src, *bucket, *prefix;
	} v[] = {
	    {"bkt", "bkt", ""},
	    {"bkt:", "bkt", ""},
	    {"bkt:/", "bkt", ""},
	    {"bkt:/a", "bkt", "a/"},
	    {"bkt:a/b", "bkt", "a/b/"},
	    {"bkt:/a/b//", "bkt", "a/b/"},
	    {"s3://bkt/x/y", "bkt", "x/y/"},
	    {"s3://my.bucket", "my.bucket", ""},
	    {"bkt:/d\xc3\xa9j\xc3\xa0 vu", "bkt", "d\xc3\xa9j\xc3\xa0 vu/"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct opts o;
		const char *argv[] = {"s3mount", v[i].src, "/mnt"};
		int rc = parse(&o, 3, argv);
		int ok = rc == 0 && o.bucket && strcmp(o.bucket, v[i].bucket) == 0 && o.prefix &&
			 strcmp(o.prefix, v[i].prefix) == 0;
		T_CASE(v[i].src, ok);
		opts_release(&o);
	}
}

/* Each must fail with -EINVAL and a message naming the culprit. */
static void test_bad(void)
{
	static const struct {
		const char *a1, *a2, *a3, *a4, *needle;
	} v[] = {
	    {"-o", "bogus", "b12", "/m", "bogus"},
	    {"-o", "memory_budget=lots", "b12", "/m", "memory_budget"},
	    {"-o", "memory_budget=16M", "b12", "/m", "memory_budget"},
	    {"-o", "part_size=4M", "b12", "/m", "part_size"},
	    {"-o", "part_size=6G", "b12", "/m", "part_size"},
	    {"-o", "uid=abc", "b12", "/m", "uid"},
	    {"-o", "file_mode=0999", "b12", "/m", "file_mode"},
	    {"-o", "stat_ttl=-1", "b12", "/m", "stat_ttl"},
	    {"-o", "stat_ttl=1x", "b12", "/m", "stat_ttl"},
	    {"-o", "log_level=loud", "b12", "/m", "log_level"},
	    {"-o", "endpoint", "b12", "/m", "endpoint"},
	    {"-o", "endpoint=", "b12", "/m", "endpoint"},
	    {"-o", "ro=1", "b12", "/m", "ro"},
	    {"-o", "max_threads=0", "b12", "/m", "max_threads"},
	    {"-o", "readahead_kb=2000000", "b12", "/m", "readahead_kb"},
	    {"-o", "readahead_kb=-1", "b12", "/m", "readahead_kb"},
	    {"-o", "memory_budget=32M,part_size=16M", "b12", "/m", "3 parts"},
	    {"--frobnicate", "b12", "/m", NULL, "frobnicate"},
	    {"-x", "b12", "/m", NULL, "-x"},
	    {"b12", "/m", "extra", NULL, "extra"},
	    {"b12", NULL, NULL, NULL, "MOUNTPOINT"},
	    {"ab", "/m", NULL, NULL, "bucket"},
	    {"bad/bucket:/x", "/m", NULL, NULL, "bucket"},
	    {"b12:/a/../c", "/m", NULL, NULL, "prefix"},
	    {"b12:/a/./c", "/m", NULL, NULL, "prefix"},
	    {"--anonymous", "--profile=x", "b12", "/m", "anonymous"},
	    {"-o", "sse=aws:kms2", "b12", "/m", "sse"},
	    {"-o", "sse=", "b12", "/m", "sse"},
	    {"-o", "sse_kms_key_id=k", "b12", "/m", "sse_kms_key_id needs sse=aws:kms"},
	    {"-o", "sse=AES256,sse_kms_key_id=k", "b12", "/m", "sse_kms_key_id"},
	    {"-o", "sse=AES256,sse_c_key_file=/k", "b12", "/m", "sse_c_key_file"},
	    {"-o", "storage_class=standard_ia", "b12", "/m", "storage_class"},
	    {"-o", "expected_bucket_owner=1234", "b12", "/m", "expected_bucket_owner"},
	    {"-o", "requester_pays=1", "b12", "/m", "requester_pays"},
	    {"-o", "checksum=sha256", "b12", "/m", "checksum"},
	    {"-o", "checksum=CRC32C", "b12", "/m", "checksum"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct opts o;
		const char *argv[6] = {"s3mount"};
		int argc = 1;
		const char *const *as[] = {&v[i].a1, &v[i].a2, &v[i].a3, &v[i].a4};
		for (int k = 0; k < 4 && *as[k]; k++)
			argv[argc++] = *as[k];
		int rc = parse(&o, argc, argv);
		int ok = rc == -EINVAL && strstr(err, v[i].needle) != NULL;
		if (!ok)
			fprintf(stderr, "case %zu: rc %d err [%s]\n", i, rc, err);
		T_CASE(v[i].needle, ok);
		opts_release(&o);
	}
}

/* The timeout options, incl. their boundaries and 0 = none for op_timeout. */
static void test_timeouts(void)
{
	struct opts o;
	const char *argv[] = {"s3mount", "-o",
			      "retries=0,connect_timeout=0.25,request_timeout=1,op_timeout=7.5",
			      "b12", "/m"};
	CHECK_INT(parse(&o, 5, argv), 0);
	CHECK_STR(err, "");
	CHECK_INT(o.retries, 0);
	CHECK(o.connect_timeout == 0.25);
	CHECK(o.request_timeout == 1.0);
	CHECK(o.op_timeout == 7.5);
	opts_release(&o);
	const char *argv2[] = {"s3mount", "--retries=1000", "--op-timeout", "0", "b12", "/m"};
	CHECK_INT(parse(&o, 6, argv2), 0);
	CHECK_INT(o.retries, 1000);
	CHECK(o.op_timeout == 0.0);
	opts_release(&o);
	const char *argv3[] = {"s3mount", "-o", "no_verify_etag", "b12", "/m"};
	CHECK_INT(parse(&o, 5, argv3), 0);
	CHECK_INT(o.verify_etag, 0);
	opts_release(&o);
}

static void test_sizes(void)
{
	static const struct {
		const char *s;
		unsigned long long v;
		int rc;
	} v[] = {
	    {"4096", 4096, 0},	       {"1K", 1024, 0},
	    {"256M", 256ull << 20, 0}, {"1G", 1ull << 30, 0},
	    {"2T", 2ull << 40, 0},     {"8MiB", 8ull << 20, 0},
	    {"8mb", 8ull << 20, 0},    {"12B", 12, 0},
	    {"", 0, -EINVAL},	       {"M", 0, -EINVAL},
	    {"1Q", 0, -EINVAL},	       {"1MX", 0, -EINVAL},
	    {"-1M", 0, -EINVAL},       {"99999999999999999999", 0, -EINVAL},
	    {"16777216T", 0, -EINVAL},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint64_t out = 0;
		int rc = opts_parse_size(v[i].s, &out);
		T_CASE(v[i].s, rc == v[i].rc && (rc || out == v[i].v));
	}
}

/* checksum= names its mode by enum upload_cksum_mode's order. */
static void test_checksum(void)
{
	static const char *const names[] = {"auto", "crc64nvme", "crc32c", "md5", "off"};
	for (int i = 0; i < 5; i++) {
		struct opts o;
		char opt[32];
		snprintf(opt, sizeof(opt), "checksum=%s", names[i]);
		const char *argv[] = {"s3mount", "-o", opt, "b12", "/m"};
		T_CASE(names[i], parse(&o, 5, argv) == 0 && o.checksum_mode == i);
		opts_release(&o);
	}
}

/* The encryption and request options parse into their fields (main.c
 * reads the key file; s3hdr.h turns them into headers). */
static void test_encryption(void)
{
	struct opts o;
	const char *argv[] = {"s3mount", "-o",
			      "sse=aws:kms,sse_kms_key_id=alias/x,storage_class=STANDARD_IA,"
			      "requester_pays,expected_bucket_owner=111122223333",
			      "b12", "/m"};
	CHECK_INT(parse(&o, 5, argv), 0);
	CHECK_STR(o.sse, "aws:kms");
	CHECK_STR(o.sse_kms_key_id, "alias/x");
	CHECK_STR(o.storage_class, "STANDARD_IA");
	CHECK_INT(o.requester_pays, 1);
	CHECK_STR(o.expected_bucket_owner, "111122223333");
	CHECK(o.sse_c_key_file == NULL);
	opts_release(&o);
	const char *argv2[] = {"s3mount", "--sse-c-key-file", "/etc/s3m/key", "b12", "/m"};
	CHECK_INT(parse(&o, 5, argv2), 0);
	CHECK_STR(o.sse_c_key_file, "/etc/s3m/key");
	CHECK(o.sse == NULL);
	CHECK_INT(o.requester_pays, 0);
	opts_release(&o);
	const char *argv3[] = {"s3mount", "-o", "sse=aws:kms:dsse", "b12", "/m"};
	CHECK_INT(parse(&o, 5, argv3), 0);
	CHECK_STR(o.sse, "aws:kms:dsse");
	opts_release(&o);
}

static void test_help_lists_everything(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	CHECK(f != NULL);
	if (!f)
		return;
	opts_usage(f, "s3mount");
	fclose(f);
	static const char *const names[] = {"endpoint=URL",
					    "region=",
					    "profile=",
					    "path_style",
					    "ro",
					    "uid=",
					    "gid=",
					    "file_mode=",
					    "dir_mode=",
					    "allow_other",
					    "default_permissions",
					    "-f",
					    "log_level=",
					    "memory_budget=",
					    "stat_ttl=",
					    "negative_ttl=",
					    "dir_ttl=",
					    "part_size=",
					    "abort_stale_uploads=",
					    "max_rename_objects=",
					    "retries=N",
					    "connect_timeout=SEC",
					    "request_timeout=SEC",
					    "op_timeout=SEC",
					    "verify_etag",
					    "no_verify_etag",
					    "readahead_kb=N",
					    "ca_bundle=",
					    "anonymous",
					    "insecure",
					    "_netdev",
					    "noauto",
					    "nofail",
					    "x-systemd.*",
					    "comment=*",
					    "sse=ALG",
					    "aws:kms:dsse",
					    "sse_kms_key_id=KEY",
					    "sse_c_key_file=FILE",
					    "storage_class=CLASS",
					    "requester_pays",
					    "expected_bucket_owner=ACCOUNT",
					    "docs/encryption.md",
					    "checksum=ALG",
					    "docs/checksums.md",
					    "--version",
					    "doubles every 1000 parts"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		T_CASE(names[i], strstr(text, names[i]) != NULL);
	free(text);
}

static void test_help_version(void)
{
	struct opts o;
	const char *argv[] = {"s3mount", "--help"};
	CHECK_INT(parse(&o, 2, argv), 0);
	CHECK_INT(o.show_help, 1);
	opts_release(&o);
	const char *argv2[] = {"s3mount", "-V"};
	CHECK_INT(parse(&o, 2, argv2), 0);
	CHECK_INT(o.show_version, 1);
	opts_release(&o);
}

int main(void)
{
	log_level_set(LOG_LVL_ERROR);
	T_RUN(test_defaults);
	T_RUN(test_mount_fuse3_form);
	T_RUN(test_long_options);
	test_sources();
	test_bad();
	test_timeouts();
	test_sizes();
	test_help_lists_everything();
	T_RUN(test_encryption);
	T_RUN(test_checksum);
	T_RUN(test_help_version);
	return T_DONE();
}
