/*
 * isotime.h: ISO 8601 / RFC 3339 timestamps as S3 and the credential
 * endpoints write them ("2009-10-12T17:50:30.000Z"), parsed to UNIX time
 * without timegm() or the TZ environment. Pure; thread-safe.
 *
 * Accepted: YYYY-MM-DDTHH:MM:SS, optional fraction of a second (ignored),
 * then 'Z' (either case). The flags widen or narrow that for each caller.
 * Errors: -EINVAL for anything else (a bad calendar date included).
 */
#ifndef ISOTIME_H
#define ISOTIME_H
#include <time.h>

enum isotime_flags {
	ISOTIME_ZONE_OPTIONAL = 1 << 0, /* no zone designator means UTC */
	ISOTIME_OFFSETS = 1 << 1,	/* accept +HH:MM / -HH:MM */
	ISOTIME_SPACE_SEP = 1 << 2	/* accept ' ' between date and time */
};

int isotime_parse(const char *s, int flags, time_t *out);

#endif
