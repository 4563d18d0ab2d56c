/*
 * s3xml.c: see s3xml.h. One small engine drives expat for every document: it
 * keeps the stack of open element names and the text of the innermost element
 * (in a capped buffer), and hands each closed element to the document's own
 * on_end callback with its depth, so every parser is a short switch on
 * (depth, parent, name). Namespace prefixes are ignored; S3 uses a default
 * namespace.
 * stays whole: each parser is a few callbacks on the engine's private struct sx.
 */
#include "s3xml.h"
#include "buf.h"
#include "crypto.h"
#include "isotime.h"

#include <errno.h>
#include <expat.h>
#include <stdlib.h>
#include <string.h>

#define SX_NAME_MAX 64

struct sx;
typedef int (*sx_start_fn)(struct sx *x, const char *name);
typedef int (*sx_end_fn)(struct sx *x, const char *name, char *text, size_t len);

struct sx {
	XML_Parser p;
	const char *root1; /* accepted root names (NULL: any) */
	const char *root2;
	int depth; /* open elements; the root is depth 1 */
	char stack[S3XML_DEPTH_MAX][SX_NAME_MAX];
	struct buf text; /* text of the innermost open element */
	int err;
	int done;	      /* stopped on purpose: success */
	sx_start_fn on_start; /* after the element is pushed; may be NULL */
	sx_end_fn on_end;     /* before it is popped */
	void *ctx;
};

static void sx_fail(struct sx *x, int err)
{
	if (!x->err)
		x->err = err;
	XML_StopParser(x->p, XML_FALSE);
}

static const char *sx_local(const char *name)
{
	const char *c = strrchr(name, ':');
	return c ? c + 1 : name;
}

/* Name of the parent of the element being closed (or just opened). */
static const char *sx_parent(const struct sx *x)
{
	return x->depth >= 2 ? x->stack[x->depth - 2] : "";
}

static void XMLCALL sx_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct sx *x = ud;
	(void)atts;
	if (x->err || x->done)
		return;
	if (x->depth >= S3XML_DEPTH_MAX) {
		sx_fail(x, -E2BIG);
		return;
	}
	const char *local = sx_local(name);
	size_t n = strlen(local);
	if (n >= SX_NAME_MAX)
		n = SX_NAME_MAX - 1; /* such a name matches nothing we look for */
	memcpy(x->stack[x->depth], local, n);
	x->stack[x->depth][n] = '\0';
	x->depth++;
	if (x->depth == 1 && x->root1 && strcmp(local, x->root1) != 0 &&
	    !(x->root2 && strcmp(local, x->root2) == 0)) {
		sx_fail(x, -ENOMSG);
		return;
	}
	buf_reset(&x->text);
	if (x->on_start) {
		int rc = x->on_start(x, x->stack[x->depth - 1]);
		if (rc)
			sx_fail(x, rc);
	}
}

static void XMLCALL sx_end(void *ud, const XML_Char *name)
{
	struct sx *x = ud;
	(void)name;
	if (x->err || x->done)
		return;
	int rc = 0;
	if (x->on_end) {
		if (!x->text.ptr)
			rc = buf_reserve(&x->text, 0); /* so text is never NULL */
		if (!rc)
			rc = x->on_end(x, x->stack[x->depth - 1], x->text.ptr, x->text.len);
	}
	buf_reset(&x->text);
	x->depth--;
	if (rc)
		sx_fail(x, rc);
}

static void XMLCALL sx_chars(void *ud, const XML_Char *s, int len)
{
	struct sx *x = ud;
	if (x->err || x->done || len <= 0)
		return;
	int rc = buf_add(&x->text, s, (size_t)len);
	if (rc)
		sx_fail(x, rc);
}

/* S3 never sends a DTD; refusing any DOCTYPE rules out entity expansion. */
static void XMLCALL sx_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
			       const XML_Char *pubid, int has_internal)
{
	struct sx *x = ud;
	(void)name, (void)sysid, (void)pubid, (void)has_internal;
	sx_fail(x, -EBADMSG);
}

static int sx_run(struct sx *x, const char *body, size_t len)
{
	int rc;
	if (len > S3XML_INPUT_MAX)
		return -E2BIG;
	if (!body)
		return -EBADMSG;
	buf_init(&x->text, S3XML_FIELD_MAX);
	x->depth = 0;
	x->err = 0;
	x->done = 0;
	x->p = XML_ParserCreate(NULL);
	if (!x->p) {
		rc = -ENOMEM;
		goto out;
	}
	XML_SetUserData(x->p, x);
	XML_SetElementHandler(x->p, sx_start, sx_end);
	XML_SetCharacterDataHandler(x->p, sx_chars);
	XML_SetStartDoctypeDeclHandler(x->p, sx_doctype);
	enum XML_Status st = XML_Parse(x->p, body, (int)len, XML_TRUE);
	if (x->done)
		rc = 0;
	else if (x->err)
		rc = x->err;
	else if (st != XML_STATUS_OK)
		rc = XML_GetErrorCode(x->p) == XML_ERROR_NO_MEMORY ? -ENOMEM : -EBADMSG;
	else
		rc = 0;
out:
	if (x->p)
		XML_ParserFree(x->p);
	x->p = NULL;
	buf_release(&x->text);
	return rc;
}

/* ---- small value helpers ---- */

static int sx_dup(char **dst, const char *text, size_t len)
{
	if (memchr(text, '\0', len))
		return -EBADMSG;
	char *p = malloc(len + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p, text, len);
	p[len] = '\0';
	free(*dst);
	*dst = p;
	return 0;
}

static int sx_u64(const char *text, size_t len, uint64_t *out)
{
	/* Tolerate surrounding whitespace, nothing else. */
	while (len && (*text == ' ' || *text == '\n' || *text == '\t' || *text == '\r'))
		text++, len--;
	while (len && (text[len - 1] == ' ' || text[len - 1] == '\n' || text[len - 1] == '\t' ||
		       text[len - 1] == '\r'))
		len--;
	if (!len)
		return -EBADMSG;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -EBADMSG;
		unsigned d = (unsigned)(text[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EBADMSG;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int sx_bool(const char *text, size_t len)
{
	return len == 4 && memcmp(text, "true", 4) == 0;
}

static int sx_is(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* Grows an array of elem-sized items to hold n+1, zeroing the new one. */
static int sx_grow(void **arr, size_t *alloc, size_t n, size_t elem)
{
	if (n >= *alloc) {
		size_t na = *alloc ? *alloc * 2 : 16;
		void *p = realloc(*arr, na * elem);
		if (!p)
			return -ENOMEM;
		*arr = p;
		*alloc = na;
	}
	memset((char *)*arr + n * elem, 0, elem);
	return 0;
}

/* sx_grow, then counts the new element: *n grows by one. */
static int sx_push(void **arr, size_t *alloc, size_t *n, size_t elem)
{
	int rc = sx_grow(arr, alloc, *n, elem);
	if (!rc)
		(*n)++;
	return rc;
}

int s3xml_url_decode(char *s)
{
	char *w = s;
	for (const char *r = s; *r; r++) {
		if (*r == '+') {
			*w++ = ' ';
		} else if (*r == '%') {
			int hi = crypto_hexval(r[1]);
			int lo = hi < 0 ? -1 : crypto_hexval(r[2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -EBADMSG;
			*w++ = (char)(hi * 16 + lo);
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return 0;
}

int s3xml_parse_time(const char *s, time_t *out)
{
	/* S3 writes "2009-10-12T17:50:30.000Z"; some S3-compatible stores leave
	 * out the zone (UTC is meant). An offset is not S3's and is refused. */
	return isotime_parse(s, ISOTIME_ZONE_OPTIONAL | ISOTIME_SPACE_SEP, out) ? -EBADMSG : 0;
}

static int sx_time(const char *text, size_t len, time_t *out)
{
	char tmp[64];
	if (len >= sizeof(tmp))
		return -EBADMSG;
	memcpy(tmp, text, len);
	tmp[len] = '\0';
	return s3xml_parse_time(tmp, out);
}

/* ---- <Error> ---- */

static int err_end(struct sx *x, const char *name, char *text, size_t len)
{
	struct s3xml_error *e = x->ctx;
	if (x->depth != 2)
		return 0;
	if (sx_is(name, "Code"))
		str_copy_trunc_n(e->code, sizeof(e->code), text, len);
	else if (sx_is(name, "Message"))
		str_copy_trunc_n(e->message, sizeof(e->message), text, len);
	else if (sx_is(name, "RequestId"))
		str_copy_trunc_n(e->request_id, sizeof(e->request_id), text, len);
	else if (sx_is(name, "Region"))
		str_copy_trunc_n(e->region, sizeof(e->region), text, len);
	else if (sx_is(name, "BucketRegion"))
		str_copy_trunc_n(e->bucket_region, sizeof(e->bucket_region), text, len);
	else if (sx_is(name, "Endpoint"))
		str_copy_trunc_n(e->endpoint, sizeof(e->endpoint), text, len);
	return 0;
}

int s3xml_parse_error(const char *body, size_t len, struct s3xml_error *out)
{
	struct sx x = {.root1 = "Error", .on_end = err_end, .ctx = out};
	memset(out, 0, sizeof(*out));
	int rc = sx_run(&x, body, len);
	if (rc)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* ---- root name ---- */

struct root_ctx {
	char *out;
	size_t cap;
	int rc;
};

static int root_start(struct sx *x, const char *name)
{
	struct root_ctx *r = x->ctx;
	r->rc = str_copy_n(r->out, r->cap, name, strlen(name));
	x->done = 1;
	XML_StopParser(x->p, XML_FALSE);
	return 0;
}

int s3xml_root(const char *body, size_t len, char *out, size_t cap)
{
	struct root_ctx r = {out, cap, -EBADMSG};
	struct sx x = {.on_start = root_start, .ctx = &r};
	int rc = sx_run(&x, body, len);
	return rc ? rc : r.rc;
}

/* ---- ListBucketResult ---- */

struct list_ctx {
	struct s3_list_page *pg;
	size_t ealloc, palloc;
	long key_count;
	int encoded;
	int have_key; /* current <Contents> had a <Key> */
};

static int list_start(struct sx *x, const char *name)
{
	struct list_ctx *l = x->ctx;
	if (x->depth == 2 && sx_is(name, "Contents")) {
		if (l->pg->nentries && !l->have_key)
			return -EBADMSG;
		int rc = sx_grow((void **)&l->pg->entries, &l->ealloc, l->pg->nentries,
				 sizeof(*l->pg->entries));
		if (rc)
			return rc;
		l->pg->nentries++;
		l->have_key = 0;
	}
	return 0;
}

static int list_end(struct sx *x, const char *name, char *text, size_t len)
{
	struct list_ctx *l = x->ctx;
	struct s3_list_page *pg = l->pg;
	const char *parent = sx_parent(x);
	if (x->depth == 3 && sx_is(parent, "Contents")) {
		struct s3_list_entry *e = &pg->entries[pg->nentries - 1];
		if (sx_is(name, "Key")) {
			l->have_key = 1;
			return sx_dup(&e->key, text, len);
		}
		if (sx_is(name, "Size"))
			return sx_u64(text, len, &e->size);
		if (sx_is(name, "LastModified"))
			return sx_time(text, len, &e->mtime);
		if (sx_is(name, "ETag"))
			return str_copy_n(e->etag, sizeof(e->etag), text, len);
		return 0;
	}
	if (x->depth == 3 && sx_is(parent, "CommonPrefixes") && sx_is(name, "Prefix")) {
		int rc = sx_grow((void **)&pg->prefixes, &l->palloc, pg->nprefixes,
				 sizeof(*pg->prefixes));
		if (rc)
			return rc;
		rc = sx_dup(&pg->prefixes[pg->nprefixes], text, len);
		if (rc)
			return rc;
		pg->nprefixes++;
		return 0;
	}
	if (x->depth != 2)
		return 0;
	if (sx_is(name, "IsTruncated")) {
		pg->truncated = sx_bool(text, len);
	} else if (sx_is(name, "NextContinuationToken")) {
		return sx_dup(&pg->next_continuation, text, len);
	} else if (sx_is(name, "KeyCount")) {
		uint64_t v;
		if (sx_u64(text, len, &v) || v > 1000000)
			return -EBADMSG;
		l->key_count = (long)v;
	} else if (sx_is(name, "EncodingType")) {
		l->encoded = len == 3 && memcmp(text, "url", 3) == 0;
	} else if (sx_is(name, "Contents")) {
		if (!l->have_key)
			return -EBADMSG;
	}
	return 0;
}

void s3xml_list_page_release(struct s3_list_page *pg)
{
	for (size_t i = 0; i < pg->nentries; i++)
		free(pg->entries[i].key);
	for (size_t i = 0; i < pg->nprefixes; i++)
		free(pg->prefixes[i]);
	free(pg->entries);
	free(pg->prefixes);
	free(pg->next_continuation);
	memset(pg, 0, sizeof(*pg));
}

int s3xml_parse_list_v2(const char *body, size_t len, struct s3_list_page *page, long *key_count)
{
	struct list_ctx l = {.pg = page, .key_count = -1};
	struct sx x = {
	    .root1 = "ListBucketResult", .on_start = list_start, .on_end = list_end, .ctx = &l};
	memset(page, 0, sizeof(*page));
	int rc = sx_run(&x, body, len);
	if (rc)
		goto out;
	if (l.encoded) {
		/* Decoding only shrinks, so in place is safe. The continuation
		 * token is opaque and never encoded. */
		for (size_t i = 0; i < page->nentries && !rc; i++)
			rc = s3xml_url_decode(page->entries[i].key);
		for (size_t i = 0; i < page->nprefixes && !rc; i++)
			rc = s3xml_url_decode(page->prefixes[i]);
		if (rc)
			goto out;
	}
	if (page->truncated && !page->next_continuation) {
		/* A v2 truncated page must carry a token, or we would loop. */
		rc = -EBADMSG;
		goto out;
	}
	if (key_count)
		*key_count = l.key_count;
out:
	if (rc)
		s3xml_list_page_release(page);
	return rc;
}

/* ---- InitiateMultipartUploadResult ---- */

struct one_ctx {
	const char *field;
	char *out;
	size_t cap;
	int found;
	time_t *mtime;
};

static int one_end(struct sx *x, const char *name, char *text, size_t len)
{
	struct one_ctx *o = x->ctx;
	if (x->depth != 2)
		return 0;
	if (sx_is(name, o->field)) {
		o->found = 1;
		return str_copy_n(o->out, o->cap, text, len);
	}
	if (o->mtime && sx_is(name, "LastModified"))
		return sx_time(text, len, o->mtime);
	return 0;
}

int s3xml_parse_initiate(const char *body, size_t len, char upload_id[S3_UPLOAD_ID_MAX])
{
	struct one_ctx o = {"UploadId", upload_id, S3_UPLOAD_ID_MAX, 0, NULL};
	struct sx x = {.root1 = "InitiateMultipartUploadResult", .on_end = one_end, .ctx = &o};
	upload_id[0] = '\0';
	int rc = sx_run(&x, body, len);
	if (!rc && (!o.found || !upload_id[0]))
		rc = -EBADMSG;
	if (rc)
		upload_id[0] = '\0';
	return rc;
}

int s3xml_parse_complete(const char *body, size_t len, char etag[S3_ETAG_MAX])
{
	struct one_ctx o = {"ETag", etag, S3_ETAG_MAX, 0, NULL};
	struct sx x = {.root1 = "CompleteMultipartUploadResult", .on_end = one_end, .ctx = &o};
	etag[0] = '\0';
	int rc = sx_run(&x, body, len);
	if (rc)
		etag[0] = '\0';
	return rc;
}

int s3xml_parse_copy(const char *body, size_t len, char etag[S3_ETAG_MAX], time_t *mtime)
{
	struct one_ctx o = {"ETag", etag, S3_ETAG_MAX, 0, mtime};
	struct sx x = {
	    .root1 = "CopyObjectResult", .root2 = "CopyPartResult", .on_end = one_end, .ctx = &o};
	etag[0] = '\0';
	int rc = sx_run(&x, body, len);
	if (!rc && !o.found)
		rc = -EBADMSG;
	if (rc)
		etag[0] = '\0';
	return rc;
}

/* ---- ListMultipartUploadsResult ---- */

struct up_ctx {
	struct s3xml_uploads *u;
	size_t alloc;
	int encoded;
};

static int up_start(struct sx *x, const char *name)
{
	struct up_ctx *c = x->ctx;
	if (x->depth == 2 && sx_is(name, "Upload"))
		return sx_push((void **)&c->u->v, &c->alloc, &c->u->n, sizeof(*c->u->v));
	return 0;
}

static int up_end(struct sx *x, const char *name, char *text, size_t len)
{
	struct up_ctx *c = x->ctx;
	struct s3xml_uploads *u = c->u;
	if (x->depth == 3 && sx_is(sx_parent(x), "Upload")) {
		struct s3xml_upload *e = &u->v[u->n - 1];
		if (sx_is(name, "Key"))
			return sx_dup(&e->key, text, len);
		if (sx_is(name, "UploadId"))
			return sx_dup(&e->upload_id, text, len);
		if (sx_is(name, "Initiated"))
			return sx_time(text, len, &e->initiated);
		return 0;
	}
	if (x->depth != 2)
		return 0;
	if (sx_is(name, "IsTruncated"))
		u->truncated = sx_bool(text, len);
	else if (sx_is(name, "NextKeyMarker"))
		return sx_dup(&u->next_key_marker, text, len);
	else if (sx_is(name, "NextUploadIdMarker"))
		return sx_dup(&u->next_upload_id_marker, text, len);
	else if (sx_is(name, "EncodingType"))
		c->encoded = len == 3 && memcmp(text, "url", 3) == 0;
	else if (sx_is(name, "Upload")) {
		struct s3xml_upload *e = &u->v[u->n - 1];
		if (!e->key || !e->upload_id)
			return -EBADMSG;
	}
	return 0;
}

void s3xml_uploads_release(struct s3xml_uploads *u)
{
	for (size_t i = 0; i < u->n; i++) {
		free(u->v[i].key);
		free(u->v[i].upload_id);
	}
	free(u->v);
	free(u->next_key_marker);
	free(u->next_upload_id_marker);
	memset(u, 0, sizeof(*u));
}

int s3xml_parse_list_uploads(const char *body, size_t len, struct s3xml_uploads *out)
{
	struct up_ctx c = {.u = out};
	struct sx x = {.root1 = "ListMultipartUploadsResult",
		       .on_start = up_start,
		       .on_end = up_end,
		       .ctx = &c};
	memset(out, 0, sizeof(*out));
	int rc = sx_run(&x, body, len);
	if (!rc && c.encoded) {
		for (size_t i = 0; i < out->n && !rc; i++)
			rc = s3xml_url_decode(out->v[i].key);
		if (!rc && out->next_key_marker)
			rc = s3xml_url_decode(out->next_key_marker);
	}
	if (rc)
		s3xml_uploads_release(out);
	return rc;
}

/* ---- ListPartsResult ---- */

struct parts_ctx {
	struct s3xml_parts *p;
	size_t alloc;
};

static int parts_start(struct sx *x, const char *name)
{
	struct parts_ctx *c = x->ctx;
	if (x->depth == 2 && sx_is(name, "Part"))
		return sx_push((void **)&c->p->v, &c->alloc, &c->p->n, sizeof(*c->p->v));
	return 0;
}

static int parts_end(struct sx *x, const char *name, char *text, size_t len)
{
	struct parts_ctx *c = x->ctx;
	struct s3xml_parts *p = c->p;
	uint64_t v;
	if (x->depth == 3 && sx_is(sx_parent(x), "Part")) {
		struct s3xml_part *e = &p->v[p->n - 1];
		if (sx_is(name, "PartNumber")) {
			if (sx_u64(text, len, &v) || v < 1 || v > S3_MAX_PARTS)
				return -EBADMSG;
			e->number = (int)v;
		} else if (sx_is(name, "Size")) {
			return sx_u64(text, len, &e->size);
		} else if (sx_is(name, "ETag")) {
			return str_copy_n(e->etag, sizeof(e->etag), text, len);
		}
		return 0;
	}
	if (x->depth != 2)
		return 0;
	if (sx_is(name, "IsTruncated")) {
		p->truncated = sx_bool(text, len);
	} else if (sx_is(name, "NextPartNumberMarker")) {
		if (sx_u64(text, len, &v) || v > S3_MAX_PARTS)
			return -EBADMSG;
		p->next_part_marker = (int)v;
	} else if (sx_is(name, "Part")) {
		if (!p->v[p->n - 1].number)
			return -EBADMSG;
	}
	return 0;
}

void s3xml_parts_release(struct s3xml_parts *p)
{
	free(p->v);
	memset(p, 0, sizeof(*p));
}

int s3xml_parse_list_parts(const char *body, size_t len, struct s3xml_parts *out)
{
	struct parts_ctx c = {.p = out};
	struct sx x = {
	    .root1 = "ListPartsResult", .on_start = parts_start, .on_end = parts_end, .ctx = &c};
	memset(out, 0, sizeof(*out));
	int rc = sx_run(&x, body, len);
	if (rc)
		s3xml_parts_release(out);
	return rc;
}

/* ---- DeleteResult ---- */

struct del_ctx {
	struct s3xml_delete_result *r;
	size_t alloc;
};

static int del_start(struct sx *x, const char *name)
{
	struct del_ctx *c = x->ctx;
	if (x->depth == 2 && sx_is(name, "Error")) {
		int rc = sx_grow((void **)&c->r->errors, &c->alloc, c->r->nerrors,
				 sizeof(*c->r->errors));
		if (rc)
			return rc;
		c->r->nerrors++;
	}
	return 0;
}

static int del_end(struct sx *x, const char *name, char *text, size_t len)
{
	struct del_ctx *c = x->ctx;
	struct s3xml_delete_result *r = c->r;
	if (x->depth == 3 && sx_is(sx_parent(x), "Error")) {
		struct s3xml_delete_error *e = &r->errors[r->nerrors - 1];
		if (sx_is(name, "Key"))
			return sx_dup(&e->key, text, len);
		if (sx_is(name, "Code"))
			str_copy_trunc_n(e->code, sizeof(e->code), text, len);
		else if (sx_is(name, "Message"))
			str_copy_trunc_n(e->message, sizeof(e->message), text, len);
		return 0;
	}
	if (x->depth == 2 && sx_is(name, "Deleted"))
		r->ndeleted++;
	return 0;
}

void s3xml_delete_result_release(struct s3xml_delete_result *r)
{
	for (size_t i = 0; i < r->nerrors; i++)
		free(r->errors[i].key);
	free(r->errors);
	memset(r, 0, sizeof(*r));
}

int s3xml_parse_delete_result(const char *body, size_t len, struct s3xml_delete_result *out)
{
	struct del_ctx c = {.r = out};
	struct sx x = {
	    .root1 = "DeleteResult", .on_start = del_start, .on_end = del_end, .ctx = &c};
	memset(out, 0, sizeof(*out));
	int rc = sx_run(&x, body, len);
	if (rc)
		s3xml_delete_result_release(out);
	return rc;
}

/* ---- builders ---- */

#define S3XML_NS "http://s3.amazonaws.com/doc/2006-03-01/"

/* Escapes markup characters, and writes CR, LF, TAB and other control
 * characters as character references so the server's XML parser cannot
 * normalise them away (a key "a\r\nb" must stay that key). */
static int sx_escape(struct buf *out, const char *s)
{
	int rc = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++) {
		switch (*p) {
		case '&':
			rc = buf_addstr(out, "&amp;");
			break;
		case '<':
			rc = buf_addstr(out, "&lt;");
			break;
		case '>':
			rc = buf_addstr(out, "&gt;");
			break;
		case '"':
			rc = buf_addstr(out, "&quot;");
			break;
		case '\'':
			rc = buf_addstr(out, "&apos;");
			break;
		default:
			if (*p < 0x20)
				rc = buf_addf(out, "&#x%X;", *p);
			else
				rc = buf_addch(out, (char)*p);
		}
	}
	return rc;
}

int s3xml_build_complete(const struct s3_part *parts, size_t nparts, const char *cksum_elem,
			 struct buf *out)
{
	int rc = buf_addstr(out, "<CompleteMultipartUpload xmlns=\"" S3XML_NS "\">");
	for (size_t i = 0; i < nparts && !rc; i++) {
		rc = buf_addf(out, "<Part><PartNumber>%d</PartNumber><ETag>", parts[i].number);
		if (!rc)
			rc = sx_escape(out, parts[i].etag);
		if (!rc)
			rc = buf_addstr(out, "</ETag>");
		if (!rc && cksum_elem && parts[i].cksum[0]) {
			rc = buf_addf(out, "<%s>", cksum_elem);
			if (!rc)
				rc = sx_escape(out, parts[i].cksum);
			if (!rc)
				rc = buf_addf(out, "</%s>", cksum_elem);
		}
		if (!rc)
			rc = buf_addstr(out, "</Part>");
	}
	if (!rc)
		rc = buf_addstr(out, "</CompleteMultipartUpload>");
	return rc;
}

int s3xml_build_delete(const char *const *keys, size_t n, int quiet, struct buf *out)
{
	int rc = buf_addstr(out, "<Delete xmlns=\"" S3XML_NS "\">");
	if (!rc && quiet)
		rc = buf_addstr(out, "<Quiet>true</Quiet>");
	for (size_t i = 0; i < n && !rc; i++) {
		rc = buf_addstr(out, "<Object><Key>");
		if (!rc)
			rc = sx_escape(out, keys[i]);
		if (!rc)
			rc = buf_addstr(out, "</Key></Object>");
	}
	if (!rc)
		rc = buf_addstr(out, "</Delete>");
	return rc;
}

int s3xml_build_create_bucket(const char *region, struct buf *out)
{
	/* us-east-1 is the default location and must NOT be named: S3 answers
	 * InvalidLocationConstraint when it is. */
	if (!region || !region[0] || strcmp(region, "us-east-1") == 0)
		return 0;
	int rc = buf_addstr(out, "<CreateBucketConfiguration xmlns=\"" S3XML_NS
				 "\"><LocationConstraint>");
	if (!rc)
		rc = sx_escape(out, region);
	if (!rc)
		rc = buf_addstr(out, "</LocationConstraint></CreateBucketConfiguration>");
	return rc;
}
