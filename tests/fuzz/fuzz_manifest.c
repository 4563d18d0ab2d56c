/* fuzz-lib: filtercore */
/*
 * fuzz_manifest.c: the filter's --manifest parser (filter/manifest.h) on
 * arbitrary text. Every input it accepts must then be found by
 * manifest_done with its own path, size and mtime, and lie in a part no
 * higher than last_part.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest m;

	manifest_init(&m, "/nonexistent");
	if (manifest_parse(&m, (const char *)data, size) == 0) {
		for (size_t i = 0; i < m.n; i++) {
			const struct manifest_input *in = &m.in[i];

			if (!manifest_done(&m, in->path, in->size, in->mtime_s, in->mtime_ns) ||
			    in->part == 0 || in->part > m.last_part)
				abort();
		}
	}
	manifest_release(&m);
	return 0;
}
