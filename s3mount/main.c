/*
 * main.c: s3mount's entry point: parse -> validate (credentials, bucket) ->
 * session_new -> mount -> daemonize -> loop_mt -> unwind, each step undone
 * through the labels at the end, as in libfuse's passthrough_ll.c.
 *
 * Every check that can fail (bad option, no credentials, unreachable or
 * missing bucket, bad mountpoint) runs BEFORE the mount, so a failed
 * `mount -t fuse.s3mount` leaves nothing behind and exits non-zero with a
 * message naming the problem.
 *
 * Signals: SIGINT/SIGTERM end the session (libfuse's handlers). SIGUSR1 logs
 * a summary; SIGUSR2 and SIGHUP cycle the log level (warn -> info -> debug ->
 * error -> warn). Handlers only write a byte into a pipe; a small thread does
 * the work outside signal context.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"
#include "memfit.h"
#include "nsops.h"
#include "opts.h"
#include "s3.h"

#define S3MOUNT_VERSION "0.1.0"

static int sig_pipe[2] = {-1, -1}; /* write end used by the handlers only */

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char c = (unsigned char)sig;
	if (write(sig_pipe[1], &c, 1) < 0) {
		/* nothing to do in a handler */
	}
	errno = saved;
}

static void *sig_thread(void *arg)
{
	struct fs *fs = arg;
	unsigned char c;
	while (read(sig_pipe[0], &c, 1) == 1) {
		if (c == 0)
			break; /* quit */
		if (c == SIGUSR1) {
			fs_log_summary(fs);
		} else if (c == SIGUSR2 || c == SIGHUP) {
			enum log_level l = log_level_get();
			l = l == LOG_LVL_DEBUG ? LOG_LVL_ERROR : (enum log_level)(l + 1);
			log_level_set(l);
			log_msg(LOG_LVL_ERROR, "log level is now %s", log_level_name(l));
		}
	}
	return NULL;
}

static int install_handlers(void)
{
	if (pipe2(sig_pipe, O_CLOEXEC) != 0)
		return -errno;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	/* SIGHUP replaces libfuse's exit handler: a HUP must not unmount. */
	if (sigaction(SIGUSR1, &sa, NULL) || sigaction(SIGUSR2, &sa, NULL) ||
	    sigaction(SIGHUP, &sa, NULL))
		return -errno;
	return 0;
}

/* A message for a failure of client setup (bucket == 0) or the bucket check. */
static const char *errno_hint(int rc, int bucket)
{
	switch (-rc) {
	case ENXIO:
		return "the bucket does not exist";
	case EACCES:
		return "access denied (check credentials and bucket policy)";
	case ENOENT:
		if (bucket)
			return "the bucket does not exist";
		return "no credentials found (environment, profile files, ECS or instance "
		       "metadata); use -o anonymous for public buckets";
	case EIO:
	case ETIMEDOUT:
	case ECONNREFUSED:
		return "the endpoint cannot be reached";
	case EPROTO:
		return "TLS failed: the server's certificate could not be verified (see the "
		       "log line above; for a private CA use -o ca_bundle=FILE)";
	default:
		return strerror(-rc);
	}
}

/* The SSE-C key in sse_c_key_file (s3hdr_ssec_key_parse says what it may
 * hold). A key that others can read is no secret: like ssh with a private
 * key, refuse a file with any group or other permission bit. 0, or 1 with a
 * message on stderr naming the option. */
static int load_ssec_key(const char *path, uint8_t key[S3HDR_SSEC_KEY_LEN])
{
	char data[256];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		fprintf(stderr, "s3mount: sse_c_key_file '%s': %s\n", path, strerror(errno));
		return 1;
	}
	int bad = 0;
	ssize_t n = 0;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "s3mount: sse_c_key_file '%s': not a regular file\n", path);
		bad = 1;
	} else if (st.st_mode & 077) {
		fprintf(stderr,
			"s3mount: sse_c_key_file '%s': mode %04o lets others read or change the "
			"key; chmod 600 it\n",
			path, (unsigned)(st.st_mode & 07777));
		bad = 1;
	} else if ((n = read(fd, data, sizeof(data))) < 0) {
		fprintf(stderr, "s3mount: sse_c_key_file '%s': %s\n", path, strerror(errno));
		bad = 1;
	} else if (s3hdr_ssec_key_parse(data, (size_t)n, key) != 0) {
		fprintf(stderr,
			"s3mount: sse_c_key_file '%s': want the 32-byte key itself, or its base64 "
			"(44 characters); got %zd bytes\n",
			path, n);
		bad = 1;
	}
	close(fd);
	memset(data, 0, sizeof(data));
	return bad;
}

/* memory_budget from the box, or an explicit one checked against it
 * (memfit.h): before anything is mounted, so a misfit is a clear refusal,
 * not an OOM kill later. */
static int fit_budget(struct opts *o)
{
	struct memfit m;
	char why[MEMFIT_PATH_MAX + 512];
	if (memfit_find("", &m) != 0)
		memset(&m, 0, sizeof(m)); /* no /proc: no limit known */
	if (o->memory_budget) {
		if (memfit_check(&m, o->memory_budget, why, sizeof(why)) == 0)
			return 0;
		fprintf(stderr, "s3mount: %s\n", why);
		return -1;
	}
	if (memfit_budget(&m, &o->memory_budget, why, sizeof(why)) != 0) {
		fprintf(stderr, "s3mount: %s\n", why);
		return -1;
	}
	if (o->memory_budget < 3 * o->part_size) {
		/* a larger part_size= needs three parts of room */
		o->memory_budget = 3 * o->part_size;
		if (memfit_check(&m, o->memory_budget, why, sizeof(why)) != 0) {
			fprintf(stderr, "s3mount: part_size=%lluM needs %lluM of budget: %s\n",
				(unsigned long long)(o->part_size >> 20),
				(unsigned long long)(o->memory_budget >> 20), why);
			return -1;
		}
	}
	/* a budget below the old fixed default is news: say it at warn */
	log_msg(o->memory_budget < MEMFIT_DEFAULT ? LOG_LVL_WARN : LOG_LVL_INFO, "%s", why);
	return 0;
}

int main(int argc, char *argv[])
{
	struct opts o;
	char err[512];
	int ret = 1, rc;
	struct s3_client *s3 = NULL;
	struct fuse_session *se = NULL;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fs fs;
	int fs_ready = 0, handlers = 0, mounted = 0;
	pthread_t sig_th;
	int sig_th_started = 0;
	memset(&fs, 0, sizeof(fs));

	if (opts_parse(argc, (const char *const *)argv, &o, err, sizeof(err))) {
		fprintf(stderr, "s3mount: %s\n", err);
		opts_release(&o);
		return 2;
	}
	if (o.show_help) {
		opts_usage(stdout, "s3mount");
		opts_release(&o);
		return 0;
	}
	if (o.show_version) {
		printf("s3mount %s (libfuse %d)\n", S3MOUNT_VERSION, fuse_version());
		opts_release(&o);
		return 0;
	}
	log_level_set((enum log_level)o.log_level);
	if (fit_budget(&o) != 0)
		goto out;

	struct stat mst;
	if (stat(o.mountpoint, &mst) != 0 || !S_ISDIR(mst.st_mode)) {
		fprintf(stderr, "s3mount: mountpoint '%s' is not a directory\n", o.mountpoint);
		goto out;
	}
	/* Absolute from here: op_init finds the mount in mountinfo by this
	 * path, and fuse_daemonize() changes to / anyway. */
	char *absmnt = realpath(o.mountpoint, NULL);
	if (absmnt) {
		free(o.mountpoint);
		o.mountpoint = absmnt;
	}
	if (o.insecure)
		log_error("WARNING: TLS certificate verification is OFF (-o insecure): anyone "
			  "on the path can read and change your data");

	uint8_t ssec_key[S3HDR_SSEC_KEY_LEN];
	if (o.sse_c_key_file && load_ssec_key(o.sse_c_key_file, ssec_key) != 0)
		goto out;
	struct s3_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.bucket = o.bucket;
	cfg.region = o.region;
	cfg.endpoint = o.endpoint;
	cfg.path_style = o.path_style;
	cfg.ca_bundle = o.ca_bundle;
	cfg.insecure_skip_verify = o.insecure;
	cfg.creds.profile = o.profile;
	cfg.creds.anonymous = o.anonymous;
	cfg.max_retries = o.retries ? (int)o.retries : -1;
	cfg.connect_timeout_ms = (long)(o.connect_timeout * 1000.0 + 0.5);
	/* curl counts a stall in whole seconds: round up, never below asked */
	cfg.low_speed_time_s = (long)o.request_timeout;
	if ((double)cfg.low_speed_time_s < o.request_timeout)
		cfg.low_speed_time_s++;
	cfg.op_timeout_ms = (long)(o.op_timeout * 1000.0 + 0.5);
	/* Parts and PutObjects are protected by their signed Content-MD5 (S3
	 * answers BadDigest to a changed byte); hashing them with SHA-256 as
	 * well cost a quarter of the daemon's CPU when writing (docs/performance.md). */
	cfg.unsigned_payload = 1;
	cfg.hdr.sse = o.sse;
	cfg.hdr.kms_key_id = o.sse_kms_key_id;
	cfg.hdr.ssec_key = o.sse_c_key_file ? ssec_key : NULL;
	cfg.hdr.storage_class = o.storage_class;
	cfg.hdr.requester_pays = o.requester_pays;
	cfg.hdr.expected_owner = o.expected_bucket_owner;
	rc = s3_client_new(&cfg, &s3);
	/* the client keeps its own copy (base64) */
	explicit_bzero(ssec_key, sizeof(ssec_key));
	if (rc) {
		fprintf(stderr, "s3mount: cannot set up the S3 client for bucket '%s': %s\n",
			o.bucket, errno_hint(rc, 0));
		goto out;
	}
	rc = s3_bucket_check(s3);
	if (rc) {
		fprintf(stderr, "s3mount: bucket '%s' at %s: %s\n", o.bucket,
			o.endpoint ? o.endpoint : "AWS", errno_hint(rc, 1));
		goto out;
	}
	if (o.abort_stale_hours >= 0 && !o.read_only) {
		rc = nsops_abort_stale_uploads(s3, o.prefix, o.abort_stale_hours * 3600L);
		if (rc < 0)
			log_warn("abort_stale_uploads: listing uploads failed: %s", strerror(-rc));
		else
			log_info("abort_stale_uploads: %d upload(s) older than %ld h aborted", rc,
				 o.abort_stale_hours);
	}

	/* Options for the kernel mount. */
	/* the prefix may hold ',' or '\\', which separate and escape -o options */
	char pfx[2 * 1024 + 1];
	size_t pl = 0;
	for (const char *q = o.prefix; *q && pl + 2 < sizeof(pfx); q++) {
		if (*q == ',' || *q == '\\')
			pfx[pl++] = '\\';
		pfx[pl++] = *q;
	}
	pfx[pl] = '\0';
	char mo[4096];
	snprintf(mo, sizeof(mo), "fsname=s3mount:%s%s%s,subtype=s3mount%s%s%s%s%s", o.bucket,
		 o.prefix[0] ? ":/" : "", pfx, o.allow_other ? ",allow_other" : "",
		 o.default_permissions ? ",default_permissions" : "", o.read_only ? ",ro" : "",
		 o.mountflags[0] ? "," : "", o.mountflags);
	if (fuse_opt_add_arg(&args, argv[0]) || fuse_opt_add_arg(&args, "-o") ||
	    fuse_opt_add_arg(&args, mo)) {
		fprintf(stderr, "s3mount: out of memory\n");
		goto out;
	}

	struct fuse_lowlevel_ops ops;
	fs_ops(&ops);
	se = fuse_session_new(&args, &ops, sizeof(ops), &fs);
	if (!se) {
		fprintf(stderr, "s3mount: cannot create the FUSE session\n");
		goto out;
	}
	if (fuse_set_signal_handlers(se) != 0)
		goto out;
	handlers = 1;
	if (install_handlers()) {
		fprintf(stderr, "s3mount: cannot install signal handlers\n");
		goto out;
	}
	if (fuse_session_mount(se, o.mountpoint) != 0) {
		fprintf(stderr, "s3mount: cannot mount on '%s'\n", o.mountpoint);
		goto out;
	}
	mounted = 1;

	if (!o.foreground)
		log_to_syslog("s3mount");
	if (fuse_daemonize(o.foreground) != 0)
		goto out;

	/* Worker threads start only now: fuse_daemonize() forks. */
	rc = fs_init(&fs, &o, s3, o.uid >= 0 ? (uid_t)o.uid : getuid(),
		     o.gid >= 0 ? (gid_t)o.gid : getgid());
	if (rc) {
		log_error("cannot set up the filesystem: %s", strerror(-rc));
		goto out;
	}
	fs_ready = 1;
	if (pthread_create(&sig_th, NULL, sig_thread, &fs) == 0)
		sig_th_started = 1;
	log_info("s3mount %s: bucket '%s' prefix '%s' on %s, memory budget %llu MiB",
		 S3MOUNT_VERSION, o.bucket, o.prefix, o.mountpoint,
		 (unsigned long long)(o.memory_budget >> 20));

	if (o.single_thread) {
		rc = fuse_session_loop(se);
	} else {
		struct fuse_loop_config *lc = fuse_loop_cfg_create();
		if (!lc) {
			log_error("out of memory");
			goto out;
		}
		fuse_loop_cfg_set_clone_fd(lc, 1);
		fuse_loop_cfg_set_max_threads(lc, (unsigned)o.max_threads);
		fuse_loop_cfg_set_idle_threads(lc, 8);
		rc = fuse_session_loop_mt(se, lc);
		fuse_loop_cfg_destroy(lc);
	}
	/* > 0: the signal that ended the session (SIGINT/SIGTERM): a normal stop */
	ret = rc < 0 ? 1 : 0;

out:
	if (fs_ready)
		fs_log_summary(&fs);
	if (sig_th_started) {
		unsigned char quit = 0;
		if (write(sig_pipe[1], &quit, 1) == 1)
			pthread_join(sig_th, NULL);
	}
	if (se) {
		if (handlers)
			fuse_remove_signal_handlers(se);
		if (mounted)
			fuse_session_unmount(se);
		fuse_session_destroy(se);
	}
	if (fs_ready)
		fs_release(&fs);
	s3_client_free(s3);
	fuse_opt_free_args(&args);
	opts_release(&o);
	return ret;
}
