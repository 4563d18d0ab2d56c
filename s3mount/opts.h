/*
 * opts.h: s3mount's command line, parsed into a struct opts. Pure: no I/O,
 * no exit; main() prints the message and decides.
 *
 * Accepted forms (so that mount(8), mount.fuse3 and fstab work):
 *   s3mount [options] BUCKET[:/PREFIX] MOUNTPOINT
 *   s3mount BUCKET:/PREFIX MOUNTPOINT -o opt1,opt2=val     (what mount.fuse3 runs)
 * BUCKET may also be written s3://BUCKET/PREFIX. Every -o option also has a
 * long form: --name, --name=value or --name value (e.g. --log-level=debug;
 * '-' and '_' are the same in long names). fstab noise (_netdev, auto, noauto,
 * user, users, nofail, rw, defaults, x-systemd.*, comment=*) is accepted and
 * ignored; generic mount flags (nodev, nosuid, noexec, noatime, ...) are passed
 * on to the kernel mount.
 *
 * Ownership: opts_parse() fills a caller-owned struct; its strings are heap
 * copies released by opts_release(). Not thread-safe (called once, early).
 * Errors: opts_parse() returns 0 or -EINVAL with a message naming the bad
 * option or value in err.
 */
#ifndef OPTS_H
#define OPTS_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define OPTS_MOUNTFLAGS_MAX 512

struct opts {
	char *bucket;	  /* required */
	char *prefix;	  /* "" or "dir/sub/" (always ends in '/') */
	char *mountpoint; /* required */

	char *endpoint;	 /* NULL: AWS default for the region */
	char *region;	 /* NULL: profile's region, else us-east-1 */
	char *profile;	 /* NULL: AWS_PROFILE or "default" */
	char *ca_bundle; /* NULL: system default */
	int path_style;	 /* 1: path-style URLs; 0: virtual-hosted (default) */
	int anonymous;	 /* unsigned requests (public buckets) */
	int insecure;	 /* skip TLS verification (logged loudly) */

	int read_only;
	long uid, gid;	    /* -1: the mounting user's */
	unsigned file_mode; /* permission bits of files; default 0644 */
	unsigned dir_mode;  /* permission bits of directories; default 0755 */
	int allow_other;
	int default_permissions; /* -1: as allow_other; 0/1 explicit */
	int foreground;
	int single_thread; /* -s */
	int log_level;	   /* enum log_level; default warn */
	int max_threads;   /* FUSE worker threads; default 16 */

	uint64_t memory_budget;	 /* bytes; 0 = from the box (memfit.h) */
	uint64_t part_size;	 /* bytes; default 8 MiB, >= 5 MiB */
	double stat_ttl;	 /* seconds; default 1 */
	double negative_ttl;	 /* seconds; default 1 */
	double dir_ttl;		 /* seconds, kernel TTL of directory entries; default 1 */
	long abort_stale_hours;	 /* -1: off; else abort this prefix's uploads older than N h */
	long max_rename_objects; /* directory rename refused above this; default 1000 */
	long retries;		 /* S3 retries after a failed try; default 6, 0 = none */
	double connect_timeout;	 /* seconds to connect; default 5 */
	double request_timeout;	 /* seconds a transfer may stall (< 1 KB/s); default 30 */
	int verify_etag;	 /* check whole-object reads against a plain-MD5 ETag */
	int conditional_writes;	 /* commits carry If-None-Match / If-Match (default) */
	double op_timeout;	 /* seconds an S3 request may take, retries included;
				  * 0 (default) = no deadline */
	long readahead_kb;	 /* kernel readahead of the mount, KiB (set when root);
				  * 0 = the kernel's default; default 4096 */
	char *checksum;		 /* checksum=: NULL or "auto" (default), "crc64nvme",
				  * "crc32c", "md5", "off" */
	int checksum_mode;	 /* the same as an index: auto 0, crc64nvme 1, crc32c 2,
				  * md5 3, off 4 (enum upload_cksum_mode's order) */

	/* Encryption and the other per-bucket request options (shared/s3hdr.h,
	 * docs/encryption.md); NULL/0 when not given. */
	char *sse;		     /* "AES256", "aws:kms" or "aws:kms:dsse" */
	char *sse_kms_key_id;	     /* only with sse=aws:kms or aws:kms:dsse */
	char *sse_c_key_file;	     /* SSE-C key (main.c reads it); not with sse */
	char *storage_class;	     /* of the objects written */
	int requester_pays;	     /* x-amz-request-payer: requester */
	char *expected_bucket_owner; /* 12-digit account id */

	/* generic kernel mount flags to pass on ("nodev,noexec"), "" when none */
	char mountflags[OPTS_MOUNTFLAGS_MAX];

	int show_help;
	int show_version;
};

/* Fills o from argv (argv[0] is the program name). On -EINVAL, err holds a
 * one-line message; o must still be released. --help/--version set
 * show_help/show_version and skip the check for BUCKET and MOUNTPOINT. */
int opts_parse(int argc, const char *const argv[], struct opts *o, char *err, size_t errcap);
void opts_release(struct opts *o);

/* Writes the full --help text. */
void opts_usage(FILE *f, const char *prog);

/* "256M", "1G", "4096", "512KiB" -> bytes. 0 or -EINVAL. */
int opts_parse_size(const char *s, uint64_t *out);

#endif
