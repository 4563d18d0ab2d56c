/*
 * s3xml.h: parsers for the XML bodies S3 answers with, and builders for the
 * two XML bodies we send; the only module that touches expat (STYLE.md 7).
 * Pure functions over buffers: no I/O, no globals; thread-safe.
 *
 * Untrusted input: a body larger than S3XML_INPUT_MAX, a text field larger
 * than S3XML_FIELD_MAX, more than S3XML_DEPTH_MAX nested elements or any
 * DOCTYPE (so no entity expansion at all) is refused.
 *
 * Errors (all parsers): 0 on success; -ENOMSG when the root element is not the
 * expected one (e.g. a 200 whose body is <Error>: check s3xml_parse_error
 * first, or look for -ENOMSG); -EBADMSG on malformed XML or a malformed value
 * (a non-numeric <Size>); -E2BIG when a cap is passed; -ENOMEM. On failure
 * nothing is left allocated in the outputs.
 *
 * encoding-type=url: the list parsers decode Key, Prefix, StartAfter,
 * Delimiter, NextKeyMarker etc. exactly when the response itself says
 * <EncodingType>url</EncodingType> (a server that ignores the parameter sends
 * raw keys and no EncodingType). Decoding is form decoding ("%XX" and '+' =
 * space), as AWS encodes; RGW also encodes '/' as %2F, which this handles.
 */
#ifndef S3XML_H
#define S3XML_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "s3types.h"

#define S3XML_INPUT_MAX (16u * 1024 * 1024) /* whole body */
#define S3XML_FIELD_MAX (64u * 1024)	    /* one element's text */
#define S3XML_DEPTH_MAX 16

/* <Error> documents (any status, including a 200 from Complete or Copy). */
struct s3xml_error {
	char code[128];
	char message[512]; /* truncated; RGW sends it empty */
	char request_id[128];
	char region[64];	/* <Region> (AuthorizationHeaderMalformed) */
	char bucket_region[64]; /* <BucketRegion> */
	char endpoint[256];	/* <Endpoint> (PermanentRedirect) */
};
/* 0 when the body is an <Error> document (fields truncated to fit, never
 * failing on length), -ENOMSG when its root is something else. */
int s3xml_parse_error(const char *body, size_t len, struct s3xml_error *out);

/* The name of the root element into out; for logs and tests. */
int s3xml_root(const char *body, size_t len, char *out, size_t cap);

/* ListObjectsV2 (a v1 body parses too; its NextMarker is ignored). page is
 * filled from scratch (release it with s3xml_list_page_release); *key_count gets
 * <KeyCount> (-1 when absent). */
int s3xml_parse_list_v2(const char *body, size_t len, struct s3_list_page *page, long *key_count);

/* Frees what s3xml_parse_list_v2 allocated (s3_list_page_release calls it). */
void s3xml_list_page_release(struct s3_list_page *page);

/* InitiateMultipartUploadResult: UploadId. */
int s3xml_parse_initiate(const char *body, size_t len, char upload_id[S3_UPLOAD_ID_MAX]);

/* CompleteMultipartUploadResult: ETag (may be "": RGW sends it empty). */
int s3xml_parse_complete(const char *body, size_t len, char etag[S3_ETAG_MAX]);

/* CopyObjectResult or CopyPartResult: ETag and LastModified (mtime may be NULL). */
int s3xml_parse_copy(const char *body, size_t len, char etag[S3_ETAG_MAX], time_t *mtime);

/* ListMultipartUploadsResult: one page. */
struct s3xml_upload {
	char *key;
	char *upload_id;
	time_t initiated;
};
struct s3xml_uploads {
	struct s3xml_upload *v;
	size_t n;
	int truncated;
	char *next_key_marker;	     /* NULL when absent */
	char *next_upload_id_marker; /* NULL when absent */
};
int s3xml_parse_list_uploads(const char *body, size_t len, struct s3xml_uploads *out);
void s3xml_uploads_release(struct s3xml_uploads *u);

/* ListPartsResult: one page. */
struct s3xml_part {
	int number;
	uint64_t size;
	char etag[S3_ETAG_MAX];
};
struct s3xml_parts {
	struct s3xml_part *v;
	size_t n;
	int truncated;
	int next_part_marker; /* 0 when absent */
};
int s3xml_parse_list_parts(const char *body, size_t len, struct s3xml_parts *out);
void s3xml_parts_release(struct s3xml_parts *p);

/* DeleteResult: counts of <Deleted>, and each <Error> (key, code, message). */
struct s3xml_delete_error {
	char *key;
	char code[128];
	char message[256];
};
struct s3xml_delete_result {
	size_t ndeleted;
	struct s3xml_delete_error *errors;
	size_t nerrors;
};
int s3xml_parse_delete_result(const char *body, size_t len, struct s3xml_delete_result *out);
void s3xml_delete_result_release(struct s3xml_delete_result *r);

/* Request bodies, appended to out (XML-escaped). cksum_elem: NULL, or the
 * element each part's cksum goes in ("ChecksumCRC64NVME"; parts with an
 * empty cksum get none). */
int s3xml_build_complete(const struct s3_part *parts, size_t nparts, const char *cksum_elem,
			 struct buf *out);
int s3xml_build_delete(const char *const *keys, size_t n, int quiet, struct buf *out);
int s3xml_build_create_bucket(const char *region, struct buf *out);

/* Helpers, exposed for tests. */
/* Form-decodes s in place ("%XX", '+' -> ' '); -EBADMSG on a bad escape or an
 * embedded NUL. */
int s3xml_url_decode(char *s);
/* ISO-8601 "2009-10-12T17:50:30.000Z" (fraction and 'Z' optional) -> UTC time. */
int s3xml_parse_time(const char *s, time_t *out);

#endif
