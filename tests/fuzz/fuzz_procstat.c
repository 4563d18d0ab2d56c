/* fuzz-lib: s3mountcore */
/*
 * fuzz_procstat.c: the /proc/PID/stat and /proc/PID/status parsers. The
 * kernel writes those files, but a process chooses its own command name (any
 * bytes but NUL, ')' and newlines included), so the stat parser sees hostile
 * text; the status parser gets the same bytes. A parse that succeeds must
 * give a verdict the rule allows (a signal number in 0..127).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "procstat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct procstat st;
	struct procstatus ss;
	int sig = -1;
	int a = procstat_parse((const char *)data, size, &st);
	int b = procstatus_parse((const char *)data, size, &ss);
	if (a == 0) {
		int d = procstat_dying(&st, b == 0 ? &ss : NULL, &sig);
		if (d != 0 && d != 1)
			abort();
		if (d && (sig < 0 || sig > 127))
			abort();
		if (!(st.flags & PROCSTAT_PF_EXITING) && d)
			abort();
	}
	if (b == 0 && ss.tgid < 0)
		abort();
	return 0;
}
