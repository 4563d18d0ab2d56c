/*
 * credjson.h: the credentials documents of the EC2 instance metadata service
 * and the ECS/EKS container endpoint, parsed with cJSON into a struct creds.
 * Pure functions over buffers (fuzzed by tests/fuzz/fuzz_credjson.c).
 *
 * Accepted: a JSON object with string AccessKeyId and SecretAccessKey
 * (non-empty), optional Token and Expiration (ISO 8601 UTC, e.g.
 * "2021-09-21T04:16:53Z", fractional seconds and a numeric offset allowed);
 * when the IMDS field Code is present it must be "Success". Unknown fields
 * (RoleArn, AccountId, LastUpdated, Type) are ignored.
 * Errors: -EINVAL for a malformed or incomplete document, -EACCES when the
 * document is an error report (Code != "Success", or ECS's {"code",
 * "message"}); the error code (never a credential) goes to code_out.
 * -E2BIG when the body exceeds CREDJSON_MAX or a field its slot in struct
 * creds. On error *out is wiped. Thread-safe (no state).
 */
#ifndef CREDJSON_H
#define CREDJSON_H
#include <stddef.h>
#include <time.h>

#include "creds.h"

#define CREDJSON_MAX (64 * 1024) /* bytes: cap on a credentials document */

int credjson_parse(const char *text, size_t len, struct creds *out, char *code_out,
		   size_t code_cap);

/* "YYYY-MM-DDTHH:MM:SS[.fff](Z|+hh:mm|-hh:mm)" -> UNIX time; -EINVAL otherwise. */
int credjson_parse_time(const char *s, time_t *out);

#endif
