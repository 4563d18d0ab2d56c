/*
 * s3hdr.h: what an S3 answer's encryption headers say about its ETag.
 *
 * S3's ETag is the MD5 of an object's bytes (or, multipart, the MD5 of the
 * parts' MD5s with "-N") only when the object is unencrypted or stored with
 * SSE-S3 (x-amz-server-side-encryption: AES256, what S3 now applies to almost
 * every object). Under SSE-KMS ("aws:kms"), DSSE-KMS ("aws:kms:dsse") or
 * SSE-C (x-amz-server-side-encryption-customer-algorithm present) it is some
 * other value of the same shape, so a client that hashed the bytes would
 * call every such read corrupt. HEAD and GET answers carry those headers.
 *
 * Pure: no I/O, no state; thread-safe. See docs/encryption.md.
 */
#ifndef S3HDR_H
#define S3HDR_H

/* 1 when an answer with these header values (NULL or "" when absent) names
 * an encryption under which the ETag is not an MD5 of the bytes: sse is an
 * "aws:kms..." value (any case), or ssec_algorithm is present. 0 otherwise:
 * no header, AES256, or a value this code does not know (the ETag is then
 * still checked: a wrong guess costs a failed read, never a missed one). */
int s3hdr_etag_not_md5(const char *sse, const char *ssec_algorithm);

#endif
