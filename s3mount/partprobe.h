/*
 * partprobe.h: how a multipart object that another tool uploaded was cut
 * into parts, asked of the server, so that verify.h can check a download
 * against the multipart ETag (s3mount's own uploads carry the answer in
 * their metadata instead: mpu.h).
 *
 * S3 answers HEAD ?partNumber=K with part K's byte range and the object's
 * part count. Nearly every uploader cuts equal parts with a shorter last one,
 * so part 1 gives the candidate size P; parts N-1 and N (the last) are then
 * asked too and must be P bytes and the rest, at the offsets that implies,
 * all of the same ETag. A layout that passes is what the tool used short of
 * parts in the middle that differ yet add up, which no uploader we know does.
 * Cost: up to three HEADs when a multipart object is opened.
 *
 * Returns 0 and *out; -ENOTSUP when the server ignores partNumber (no
 * x-amz-mp-parts-count in its answer: RGW before 18.x), so the caller can
 * stop asking; -EINVAL when the parts are not equal-sized (or the object
 * changed meanwhile: another ETag); another negative errno from S3.
 * Thread-safe (no state).
 */
#ifndef PARTPROBE_H
#define PARTPROBE_H
#include <stdint.h>

#include "mpu.h"
#include "s3.h"

int partprobe_uniform(struct s3_client *c, const char *key, const char *etag, uint64_t size,
		      struct mpu_layout *out);

#endif
