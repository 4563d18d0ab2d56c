/* fuzz-lib: s3mountcore */
/*
 * fuzz_memfit.c: the parsers of /proc/self/cgroup, /proc/self/mountinfo
 * lines, cgroup limit values, memory.stat and /proc/meminfo (memfit.h). The
 * kernel writes them, but a cgroup path and a mount point are names anyone
 * may choose (spaces, colons, escapes), so they are parsed as hostile text;
 * every output must be a NUL-terminated string within MEMFIT_PATH_MAX.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "memfit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *t = (const char *)data;
	char a[MEMFIT_PATH_MAX], b[MEMFIT_PATH_MAX];
	uint64_t v;
	int kind = -1;
	if (memfit_parse_cgroup(t, size, a, b) == 0 &&
	    (strnlen(a, sizeof(a)) == sizeof(a) || strnlen(b, sizeof(b)) == sizeof(b)))
		abort();
	if (memfit_parse_mount(t, size, &kind, a, b) == 0 &&
	    (kind < 0 || kind > 2 || strnlen(a, sizeof(a)) == sizeof(a) ||
	     strnlen(b, sizeof(b)) == sizeof(b)))
		abort();
	if (memfit_parse_value(t, size, &v) == 0 && v >= MEMFIT_UNLIMITED_V1 && v != UINT64_MAX)
		abort();
	(void)memfit_parse_stat_limit(t, size, &v);
	(void)memfit_parse_meminfo(t, size, &v);
	return 0;
}
