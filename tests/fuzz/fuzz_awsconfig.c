/* fuzz-lib: s3shared */
/*
 * fuzz_awsconfig.c: the shared config/credentials parser on arbitrary text.
 * The first byte picks the file kind (even: config, odd: credentials); the
 * rest is the file. Every section and property found is then read back, so
 * a broken invariant in the stored strings shows up under ASan.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "awsconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct awsconfig *c = NULL;
	char err[AWSCONFIG_ERR_MAX];
	size_t total = 0;

	if (size == 0 || awsconfig_new(&c) != 0)
		return 0;
	enum awsconfig_file kind = (data[0] & 1) ? AWSCONFIG_CREDENTIALS : AWSCONFIG_CONFIG;
	(void)awsconfig_parse(c, kind, (const char *)data + 1, size - 1, err, sizeof(err));
	for (int t = AWSCONFIG_PROFILE; t <= AWSCONFIG_SSO_SESSION; t++) {
		const char *name;
		for (size_t i = 0; (name = awsconfig_section_name(c, t, i)) != NULL; i++) {
			const char *key, *value;
			for (size_t j = 0; (key = awsconfig_property(c, t, i, j, &value)) != NULL;
			     j++) {
				const char *v = awsconfig_get(c, t, name, key);
				if (!v || strcmp(v, value) != 0)
					__builtin_trap(); /* lookup must find what enumeration shows
							   */
				total += strlen(v);
			}
		}
	}
	(void)total;
	awsconfig_free(c);
	return 0;
}
