/* fuzz-lib: s3shared */
/*
 * fuzz_credjson.c: the IMDS / container credentials document parser and the
 * ISO 8601 time parser on arbitrary bytes. A success must leave
 * NUL-terminated, non-empty keys; a failure must leave the struct wiped.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "credjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct creds c;
	char code[64];
	int rc = credjson_parse((const char *)data, size, &c, code, sizeof(code));
	if (rc == 0) {
		if (!c.access_key[0] || !c.secret_key[0] ||
		    memchr(c.access_key, 0, sizeof(c.access_key)) == NULL ||
		    memchr(c.session_token, 0, sizeof(c.session_token)) == NULL)
			__builtin_trap();
	} else {
		static const struct creds zero;
		if (memcmp(&c, &zero, sizeof(c)) != 0 || memchr(code, 0, sizeof(code)) == NULL)
			__builtin_trap();
	}
	/* the same bytes as a time string */
	char t[64];
	size_t n = size < sizeof(t) - 1 ? size : sizeof(t) - 1;
	memcpy(t, data, n);
	t[n] = '\0';
	time_t when;
	(void)credjson_parse_time(t, &when);
	return 0;
}
