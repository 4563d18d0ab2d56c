/* fuzz-lib: s3shared */
/*
 * fuzz_s3xml.c: every S3 XML parser over the same input. Whatever the bytes,
 * a parser returns 0 or a negative errno, leaves nothing allocated on failure
 * and gives back NUL-terminated fields within their caps.
 */
#include <stdint.h>
#include <string.h>

#include "s3xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct s3xml_error e;
	if (s3xml_parse_error(body, size, &e) == 0 &&
	    (strlen(e.code) >= sizeof(e.code) || strlen(e.message) >= sizeof(e.message)))
		__builtin_trap();
	char root[64];
	(void)s3xml_root(body, size, root, sizeof(root));

	struct s3_list_page pg;
	long kc;
	if (s3xml_parse_list_v2(body, size, &pg, &kc) == 0) {
		for (size_t i = 0; i < pg.nentries; i++)
			if (!pg.entries[i].key || strlen(pg.entries[i].etag) >= S3_ETAG_MAX)
				__builtin_trap();
		if (pg.truncated && !pg.next_continuation)
			__builtin_trap();
		s3xml_list_page_release(&pg);
	}
	char id[S3_UPLOAD_ID_MAX], etag[S3_ETAG_MAX];
	time_t t;
	(void)s3xml_parse_initiate(body, size, id);
	(void)s3xml_parse_complete(body, size, etag);
	(void)s3xml_parse_copy(body, size, etag, &t);

	struct s3xml_uploads u;
	if (s3xml_parse_list_uploads(body, size, &u) == 0)
		s3xml_uploads_release(&u);
	struct s3xml_parts p;
	if (s3xml_parse_list_parts(body, size, &p) == 0)
		s3xml_parts_release(&p);
	struct s3xml_delete_result r;
	if (s3xml_parse_delete_result(body, size, &r) == 0)
		s3xml_delete_result_release(&r);

	/* The in-place decoder and the time parser on a NUL-terminated copy. */
	if (size < 4096) {
		char s[4096];
		memcpy(s, data, size);
		s[size] = '\0';
		(void)s3xml_url_decode(s);
		memcpy(s, data, size);
		(void)s3xml_parse_time(s, &t);
	}
	return 0;
}
