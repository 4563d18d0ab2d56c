/*
 * uploadint.h: what the three files of the upload module share, private to
 * them (everyone else includes upload.h): upload.c (one file's upload: write,
 * commit, resume, abort), uploadpool.c (part buffers within the budget and the
 * worker threads that upload them) and uploadrename.c (rename of a file open
 * for writing). It holds the pool and upload structs and the few functions
 * one file calls in another. Locking is stated per field; errors are negative
 * errno.
 */
#ifndef UPLOADINT_H
#define UPLOADINT_H
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "upload.h"

#define SPARE_MAX 2 /* whole part buffers kept for reuse (uploadpool.c: recycle) */
#define LEFT_MAX 4  /* names an open file can be renamed away from (see left) */

enum upload_state {
	UP_OPEN,      /* accepting writes */
	UP_COMMITTED, /* the object exists; info is valid */
	UP_FAILED,    /* commit failed: everything was aborted */
	UP_ABORTED,   /* upload_abort() was called */
};

struct part_job {
	struct upload *u;
	int number;	       /* 1-based part number */
	char *data;	       /* mmapped part buffer, owned by the job */
	size_t len;	       /* bytes of data */
	size_t mapped;	       /* bytes mapped and charged to the budget */
	uint64_t copy_off;     /* copy_len > 0: no data; UploadPartCopy of these */
	uint64_t copy_len;     /* bytes of the committed object (upload_resume) */
	struct part_job *next; /* queue link; protected by pool->lock */
};

struct upload_pool {
	struct s3_client *c;
	int no_conditions; /* upload_pool_opts */
	struct budget *b;
	uint64_t part_size;  /* first part size, bytes */
	uint64_t part_cap;   /* no part above this: half the budget, bytes */
	uint64_t max_object; /* largest file under the capped policy, bytes */
	int nworkers;
	int max_inflight; /* per file */
	pthread_t *threads;
	pthread_mutex_t lock; /* protects the queue, stopping and the open list */
	pthread_cond_t work;  /* signalled when a job is queued or on stop */
	struct part_job *head, *tail;
	int stopping;
	struct upload *open;	/* uploads not yet freed (doubly linked) */
	int busy;		/* jobs queued or running, all files */
	int waiters;		/* writers blocked in budget_acquire */
	char *spare[SPARE_MAX]; /* part_size buffers, mapped and charged */
	int nspare;
	/* checksums (upload.h: enum upload_cksum_mode) */
	enum upload_cksum_mode ck_mode;
	enum s3_cksum_alg ck_alg; /* the CRC uploads carry; NONE for MD5/OFF */
	_Atomic int ck_validated; /* AUTO: an echo was seen, MD5 no longer sent */
	_Atomic int ck_logged;	  /* CK_LOG_* bits: each decision logged once */
};

/* A part's CRC and length: the whole object's CRC is combined from them. */
struct upload_psum {
	uint64_t crc;
	uint64_t len;
};

struct upload {
	struct upload_pool *p;
	struct upload *prev, *next;	  /* pool->open list; protected by p->lock */
	char key[S3_KEY_MAX];		  /* key the upload is created under */
	char final_key[S3_KEY_MAX];	  /* key the object ends up under;
					   * written under lock (below) */
	char upload_id[S3_UPLOAD_ID_MAX]; /* "" until CreateMultipartUpload */
	char nonce[S3_NONCE_MAX];	  /* this upload's, recorded at Create (s3.h) */
	int mpu_done;			  /* Complete succeeded: nothing to abort */
	char src_etag[S3_ETAG_MAX];	  /* version copy parts come from (resume) */
	enum { COND_NONE, COND_ABSENT, COND_MATCH } ccond; /* of the next commit */
	char cond_etag[S3_ETAG_MAX];			   /* COND_MATCH: that version */
	int cond_lost;		    /* -EEXIST/-ESTALE: another writer's object won (commit) */
	uint64_t size;		    /* bytes accepted so far */
	enum upload_state state;    /* writer only */
	int fail_rc;		    /* what commit returns once UP_FAILED */
	struct s3_object_info info; /* valid in UP_COMMITTED */
	struct {
		char key[S3_KEY_MAX];
		char etag[S3_ETAG_MAX]; /* the version there at the rename */
	} left[LEFT_MAX];		/* names renamed away from: they go
					   after the commit (uploadrename.c) */
	int nleft;
	enum s3_cksum_alg ck_alg; /* this upload's CRC (declared at Create) */
	uint64_t obj_crc;	  /* UP_COMMITTED: the object's CRC under ck_alg */
	int obj_crc_ok;		  /* ... when it is known */

	/* The part being filled: writer only. */
	char *buf;	   /* NULL until the first byte of the part */
	size_t buf_len;	   /* bytes in buf */
	size_t buf_map;	   /* bytes mapped and charged */
	uint64_t part_cap; /* size of this part */
	int part_no;	   /* its number, 1-based */

	pthread_mutex_t lock;	  /* protects the fields below */
	pthread_cond_t cond;	  /* signalled when a part finishes */
	int inflight;		  /* parts queued or uploading */
	int err;		  /* first part failure (or -ECANCELED) */
	struct s3_part *parts;	  /* parts[i] is part i+1 */
	struct upload_psum *psum; /* psum[i]: part i+1's CRC and length */
	int parts_done;		  /* parts S3 has acknowledged */
	uint64_t bytes_done;	  /* their bytes (upload_pool_each) */
	size_t parts_alloc;	  /* entries allocated (both arrays) */
};

/* ---- uploadpool.c ---- */

/* Size of part n (1-based), bytes: the policy of partsize.h, capped at half
 * the budget so that one part can upload while the next fills. */
uint64_t upload_part_size_of(const struct upload_pool *p, int n);
/* Makes room in u's current part buffer (maps it or grows the first part's
 * buffer); blocks in the budget. -EFBIG when the part cannot fit the budget,
 * -ENOMEM when it cannot be mapped. Writer only. */
int upload_ensure_room(struct upload *u);
/* Unmaps u's current part buffer and gives its bytes back to the budget. */
void upload_drop_buffer(struct upload *u);
/* Queues job for the workers; the pool owns it from here. */
void upload_enqueue(struct upload_pool *p, struct part_job *job);
/* Sets u->err to -ECANCELED, drops u's queued parts and waits for those
 * being uploaded: afterwards no worker touches u. */
void upload_cancel_parts(struct upload *u);

/* The checksum of a body of u (PutObject or UploadPart) into ck: u's CRC
 * over data and whether Content-MD5 goes with it, as the mount's decision
 * stands now. */
void upload_cksum_prepare(struct upload *u, const void *data, size_t len, struct s3_cksum *ck);
/* After a successful request carrying ck: learns from its echo (AUTO stops
 * MD5 at the first one) and logs each decision once. op: "PutObject"... */
void upload_cksum_learn(struct upload_pool *p, const struct s3_cksum *ck, const char *op);

/* ---- upload.c ---- */

/* Records rc as u's failure unless one is recorded already; returns rc. */
int upload_set_err(struct upload *u, int rc);

/* ---- uploadrename.c ---- */

/* After the commit under the final name: deletes the names left by renames
 * that still hold the version seen at the rename; failures are logged only. */
void upload_finish_renames(struct upload *u);
/* Moves the committed object from u->key to u->final_key (copy, then delete
 * the old name). On failure the object stays under the old name (logged). */
int upload_move_to_final(struct upload *u);

#endif
