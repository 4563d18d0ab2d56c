/* s3hdr.c: see s3hdr.h. */
#include "s3hdr.h"

#include <strings.h>

int s3hdr_etag_not_md5(const char *sse, const char *ssec_algorithm)
{
	if (ssec_algorithm && ssec_algorithm[0])
		return 1;
	/* "aws:kms" and "aws:kms:dsse" (the prefix also covers any later KMS
	 * variant: all of them encrypt with a data key S3 does not hash) */
	return sse && strncasecmp(sse, "aws:kms", 7) == 0;
}
