/* fuzz-lib: s3shared */
/*
 * fuzz_sigv4.c: the canonicaliser on arbitrary paths, queries and header
 * values (S3 keys come from users, continuation tokens from servers). The
 * input is split at the first two '\n' into path, query and a header value;
 * the first byte picks the path flags. A success must yield a canonical
 * request that ends with the payload hash, and signing must agree with it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	char *query = strchr(s, '\n'), *value = NULL;
	if (query) {
		*query++ = '\0';
		value = strchr(query, '\n');
		if (value)
			*value++ = '\0';
	}
	struct buf enc, out;
	buf_init(&enc, 1 << 20);
	buf_init(&out, 1 << 22);
	/* the key as the S3 client would send it, and the raw bytes too */
	buf_addch(&enc, '/');
	sigv4_uri_encode_path(s, &enc);
	struct sigv4_header h[3] = {{"Host", "b.s3.amazonaws.com"},
				    {"x-amz-date", "20150830T123600Z"},
				    {"X-Amz-Meta-Fuzz", value ? value : ""}};
	for (int raw = 0; raw < 2; raw++) {
		struct sigv4_request req = {"GET",
					    raw ? s : enc.ptr,
					    query,
					    h,
					    3,
					    SIGV4_UNSIGNED_PAYLOAD,
					    "us-east-1",
					    "s3",
					    "20150830T123600Z",
					    data[0] & 3};
		if (sigv4_canonical_request(&req, &out) == 0) {
			size_t n = strlen(SIGV4_UNSIGNED_PAYLOAD);
			if (out.len < n || memcmp(out.ptr + out.len - n, SIGV4_UNSIGNED_PAYLOAD, n))
				__builtin_trap();
			struct sigv4_creds c = {"AKID", "secret", NULL};
			char sig[65];
			if (sigv4_signature(&req, &c, sig) != 0 || strlen(sig) != 64)
				__builtin_trap();
		}
	}
	buf_release(&enc);
	buf_release(&out);
	free(s);
	return 0;
}
