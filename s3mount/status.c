/*
 * status.c: the status file (status.h): a snapshot of the mount's counters
 * in Prometheus text format, and the few FUSE operations it answers.
 */
#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "budget.h"
#include "itable.h"
#include "log.h"
#include "rcache.h"
#include "s3.h"
#include "s3hdr.h"
#include "upload.h"

int status_escape(struct buf *b, const char *v)
{
	int rc = 0;
	for (size_t i = 0; v[i] && i < STATUS_KEY_MAX && !rc; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c == '\\')
			rc = buf_addstr(b, "\\\\");
		else if (c == '"')
			rc = buf_addstr(b, "\\\"");
		else if (c == '\n')
			rc = buf_addstr(b, "\\n");
		else if (c < 0x20 || c == 0x7f)
			rc = buf_addch(b, '?');
		else
			rc = buf_addch(b, (char)c);
	}
	return rc;
}

/* # HELP and # TYPE of one metric family. */
static int fam(struct buf *b, const char *name, const char *type, const char *help)
{
	return buf_addf(b, "# HELP s3mount_%s %s\n# TYPE s3mount_%s %s\n", name, help, name, type);
}

static int one(struct buf *b, const char *name, const char *type, const char *help, uint64_t v)
{
	int rc = fam(b, name, type, help);
	return rc ? rc : buf_addf(b, "s3mount_%s %" PRIu64 "\n", name, v);
}

/* One family with a sample per request kind: tries (retries = 0) or retries. */
static int by_kind(struct buf *b, struct s3_client *c, const char *name, const char *help,
		   int retries)
{
	int rc = fam(b, name, "counter", help);
	for (int k = 0; k < S3HDR_NOPS && !rc; k++) {
		uint64_t v[2];
		s3_client_kind_stats(c, (enum s3hdr_op)k, &v[0], &v[1]);
		rc = buf_addf(b, "s3mount_%s{kind=\"%s\"} %" PRIu64 "\n", name,
			      s3hdr_op_name((enum s3hdr_op)k), v[retries]);
	}
	return rc;
}

#define LD(x) ((uint64_t)atomic_load_explicit(&(x), memory_order_relaxed))
#define LLU(x) ((unsigned long long)LD(x))

struct up_ctx {
	struct buf *b;
	int n;
	int rc;
};

static int up_line(void *arg, const char *key, uint64_t bytes, int parts)
{
	struct up_ctx *u = arg;
	struct buf *b = u->b;
	int rc = buf_addstr(b, "s3mount_upload_bytes_acknowledged{key=\"");
	if (!rc)
		rc = status_escape(b, key);
	if (!rc)
		rc = buf_addf(b, "\",parts=\"%d\"} %" PRIu64 "\n", parts, bytes);
	u->n++;
	u->rc = rc;
	return rc; /* -E2BIG at STATUS_MAX: the rest is left out */
}

int status_render(struct fs *fs, struct buf *b)
{
	struct s3_stats ss;
	struct rcache_stats rs;
	s3_client_stats(fs->s3, &ss);
	memset(&rs, 0, sizeof(rs));
	if (fs->rc)
		rcache_stats(fs->rc, &rs);
	buf_reset(b);
	int rc = 0;
#define ONE(n, t, h, v)                                                                            \
	do {                                                                                       \
		if (!rc)                                                                           \
			rc = one(b, n, t, h, (uint64_t)(v));                                       \
	} while (0)
	ONE("read_bytes_total", "counter", "Bytes read by applications.", LD(fs->bytes_read));
	ONE("written_bytes_total", "counter", "Bytes written by applications.",
	    LD(fs->bytes_written));
	ONE("opens_total", "counter", "Files opened.", LD(fs->n_open));
	ONE("commits_total", "counter", "Files committed to S3 (close, fsync).", LD(fs->n_commit));
	ONE("commit_failures_total", "counter", "Commits that failed (close() reported it).",
	    LD(fs->n_commit_err));
	ONE("s3_downloaded_bytes_total", "counter", "Bytes received from S3.", ss.bytes_down);
	ONE("s3_uploaded_bytes_total", "counter", "Bytes sent to S3 in request bodies.",
	    ss.bytes_up);
	if (!rc)
		rc = by_kind(b, fs->s3, "s3_requests_total", "S3 requests sent (tries), by kind.",
			     0);
	if (!rc)
		rc = by_kind(b, fs->s3, "s3_retries_total", "S3 requests retried, by kind.", 1);
	ONE("s3_errors_total", "counter", "S3 requests that failed after their retries.",
	    ss.errors);
	ONE("s3_throttled_total", "counter", "Answers 503 SlowDown / 429 (each retried).",
	    ss.throttled);
	ONE("s3_throttle_wait_seconds_total", "counter",
	    "Time requests waited for the throttling limits.", ss.gate_wait_ms / 1000);
	ONE("s3_connections_total", "counter", "Connections opened to S3.", ss.connects);
	pthread_mutex_lock(&fs->outage.lock);
	uint64_t outages = fs->outage.outages, stale = fs->outage.stale_total;
	int active = fs->outage.active;
	pthread_mutex_unlock(&fs->outage.lock);
	ONE("outages_total", "counter", "Times S3 went out of reach (outage.h).", outages);
	ONE("outage_active", "gauge", "1 while S3 is out of reach.", active);
	ONE("stale_answers_total", "counter",
	    "Lookups, stats and listings answered from the last known state.", stale);
	ONE("cache_hits_total", "counter", "Read blocks found in the cache.", rs.hits);
	ONE("cache_misses_total", "counter", "Read blocks fetched on demand.", rs.misses);
	ONE("cache_prefetched_bytes_total", "counter", "Bytes fetched ahead.", rs.prefetched_bytes);
	ONE("cache_bytes", "gauge", "Bytes the read cache holds.", rs.cached_bytes);
	ONE("memory_budget_bytes", "gauge", "The memory budget (memory_budget=).",
	    budget_limit(fs->budget));
	ONE("memory_used_bytes", "gauge", "Memory charged to the budget now.",
	    budget_used(fs->budget));
	ONE("memory_peak_bytes", "gauge", "Most memory charged to the budget so far.",
	    budget_peak(fs->budget));
	if (!rc)
		rc = fam(b, "upload_bytes_acknowledged", "gauge",
			 "Files being written, past their first part: bytes S3 has acknowledged.");
	struct up_ctx u = {.b = b};
	if (!rc && fs->up)
		(void)upload_pool_each(fs->up, up_line, &u);
	ONE("uploads_in_progress", "gauge", "Files being written with parts sent to S3.", u.n);
#undef ONE
	/* a snapshot cut at STATUS_MAX by too many uploads keeps what fit */
	return rc == -E2BIG || u.rc == -E2BIG ? 0 : rc;
}

/* ---- the summary line (SIGUSR1, unmount) ---- */

void fs_log_summary(struct fs *fs)
{
	struct s3_stats ss;
	struct rcache_stats rs;
	struct itable_stats is;
	s3_client_stats(fs->s3, &ss);
	memset(&rs, 0, sizeof(rs));
	if (fs->rc)
		rcache_stats(fs->rc, &rs);
	itable_stats(fs->it, &is);
	log_msg(
	    LOG_LVL_WARN,
	    "summary: s3 requests %llu retries %llu throttled %llu (waited %llu ms) errors %llu "
	    "not-found %llu down %llu "
	    "MiB up %llu MiB | "
	    "lookups %llu probes %llu list pages %llu | opens %llu reads %llu (%llu MiB) "
	    "writes %llu (%llu MiB) commits %llu failed %llu killed-writer aborts %llu | "
	    "cache hits %llu misses %llu prefetched %llu MiB evicted %llu MiB | memory "
	    "used %zu peak %zu of %zu MiB | inodes %llu (unused %llu)",
	    (unsigned long long)ss.requests, (unsigned long long)ss.retries,
	    (unsigned long long)ss.throttled, (unsigned long long)ss.gate_wait_ms,
	    (unsigned long long)ss.errors, (unsigned long long)ss.not_found,
	    (unsigned long long)(ss.bytes_down >> 20), (unsigned long long)(ss.bytes_up >> 20),
	    LLU(fs->n_lookup), LLU(fs->n_probe), LLU(fs->n_readdir_pages), LLU(fs->n_open),
	    LLU(fs->n_read), LLU(fs->bytes_read) >> 20, LLU(fs->n_write),
	    LLU(fs->bytes_written) >> 20, LLU(fs->n_commit), LLU(fs->n_commit_err),
	    LLU(fs->n_abort_killed), (unsigned long long)rs.hits, (unsigned long long)rs.misses,
	    (unsigned long long)(rs.prefetched_bytes >> 20),
	    (unsigned long long)(rs.evicted_bytes >> 20), budget_used(fs->budget) >> 20,
	    budget_peak(fs->budget) >> 20, budget_limit(fs->budget) >> 20,
	    (unsigned long long)is.inodes, (unsigned long long)is.unused);
}

/* ---- FUSE glue ---- */

struct status_snap {
	char *data;
	size_t len;
};

void status_stat(const struct fs *fs, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = STATUS_INO;
	st->st_mode = S_IFREG | 0444;
	st->st_nlink = 1;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_mtim.tv_sec = time(NULL);
	st->st_atim = st->st_mtim;
	st->st_ctim = st->st_mtim;
}

int status_lookup(struct fs *fs, fuse_ino_t parent, const char *name, struct fuse_entry_param *e)
{
	if (parent != FUSE_ROOT_ID || strcmp(name, STATUS_NAME) != 0)
		return 0;
	memset(e, 0, sizeof(*e));
	e->ino = STATUS_INO;
	e->generation = 1;
	status_stat(fs, &e->attr);
	return 1; /* timeouts 0: every stat sees a fresh time */
}

int status_open(struct fs *fs, struct fuse_file_info *fi)
{
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		return -EACCES;
	struct status_snap *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	struct buf b;
	buf_init(&b, STATUS_MAX);
	int rc = status_render(fs, &b);
	if (!rc) {
		s->data = buf_detach(&b, &s->len);
		rc = s->data ? 0 : -ENOMEM;
	}
	buf_release(&b);
	if (rc) {
		free(s);
		return rc;
	}
	fi->fh = (uint64_t)(uintptr_t)s;
	fi->direct_io = 1; /* size 0 in stat: reads must not be cut to it */
	fi->keep_cache = 0;
	return 0;
}

void status_read(fuse_req_t req, struct fuse_file_info *fi, size_t size, off_t off)
{
	const struct status_snap *s = (const struct status_snap *)(uintptr_t)fi->fh;
	if (off < 0 || (uint64_t)off >= s->len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	size_t n = s->len - (size_t)off;
	fuse_reply_buf(req, s->data + off, n < size ? n : size);
}

void status_release(struct fuse_file_info *fi)
{
	struct status_snap *s = (struct status_snap *)(uintptr_t)fi->fh;
	if (s)
		free(s->data);
	free(s);
}
