/* partprobe.c: see partprobe.h. */
#include "partprobe.h"

#include <errno.h>
#include <string.h>

/* HEAD part k and check it is [off, off + len) of the object version etag
 * with nparts parts (off is checked only when the server gives it). */
static int probe_part(struct s3_client *c, const char *key, const char *etag, int nparts, int k,
		      uint64_t off, uint64_t len)
{
	struct s3_part_info pi;
	int rc = s3_head_part(c, key, k, &pi);
	if (rc < 0)
		return rc;
	if (pi.parts_count != nparts || strcmp(pi.etag, etag) != 0 || pi.len != len ||
	    (pi.have_off && pi.off != off))
		return -EINVAL;
	return 0;
}

int partprobe_uniform(struct s3_client *c, const char *key, const char *etag, uint64_t size,
		      struct mpu_layout *out)
{
	int n = mpu_etag_parts(etag);
	if (n < 1 || size == 0)
		return -EINVAL;
	struct s3_part_info pi;
	int rc = s3_head_part(c, key, 1, &pi);
	if (rc < 0)
		return rc;
	if (pi.parts_count == 0)
		return -ENOTSUP;
	struct mpu_layout l;
	if (pi.parts_count != n || strcmp(pi.etag, etag) != 0 || (pi.have_off && pi.off != 0) ||
	    mpu_layout_uniform(size, n, pi.len, &l) != 0)
		return -EINVAL;
	uint64_t p = pi.len;
	if (n >= 3 && (rc = probe_part(c, key, etag, n, n - 1, p * (uint64_t)(n - 2), p)) < 0)
		return rc;
	if (n >= 2 && (rc = probe_part(c, key, etag, n, n, p * (uint64_t)(n - 1),
				       size - p * (uint64_t)(n - 1))) < 0)
		return rc;
	*out = l;
	return 0;
}
