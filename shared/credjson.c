/*
 * credjson.c: see credjson.h. cJSON parses a private copy of the body (cJSON
 * wants a NUL-terminated string and the body is not); the copy and the tree
 * hold secrets, so both are wiped before they are freed.
 */
#include "credjson.h"
#include "buf.h"
#include "isotime.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;
	while (n--)
		*v++ = 0;
}

/* Wipes every string value in the tree (cJSON_Delete frees without wiping). */
static void wipe_tree(cJSON *j)
{
	for (; j; j = j->next) {
		if (j->valuestring)
			wipe(j->valuestring, strlen(j->valuestring));
		wipe_tree(j->child);
	}
}

int credjson_parse_time(const char *s, time_t *out)
{
	/* The endpoints write RFC 3339 with a zone; offsets appear in the wild. */
	return isotime_parse(s, ISOTIME_OFFSETS, out);
}

static const char *str_item(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int credjson_parse(const char *text, size_t len, struct creds *out, char *code_out, size_t code_cap)
{
	char *copy = NULL;
	cJSON *j = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (code_out && code_cap)
		code_out[0] = '\0';
	if (len > CREDJSON_MAX)
		return -E2BIG;
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (strlen(copy) != len) { /* an embedded NUL: not a JSON text */
		rc = -EINVAL;
		goto out;
	}
	j = cJSON_ParseWithLength(copy, len);
	if (!cJSON_IsObject(j)) {
		rc = -EINVAL;
		goto out;
	}
	const char *code = str_item(j, "Code");
	const char *ecs_code = str_item(j, "code");
	if ((code && strcmp(code, "Success") != 0) || (!code && ecs_code)) {
		const char *c = code ? code : ecs_code;
		if (code_out && code_cap) {
			size_t n = strlen(c) < code_cap - 1 ? strlen(c) : code_cap - 1;
			memcpy(code_out, c, n);
			code_out[n] = '\0';
		}
		rc = -EACCES;
		goto out;
	}
	const char *ak = str_item(j, "AccessKeyId");
	const char *sk = str_item(j, "SecretAccessKey");
	const char *tok = str_item(j, "Token");
	const char *exp = str_item(j, "Expiration");
	const cJSON *tokv = cJSON_GetObjectItemCaseSensitive(j, "Token");
	const cJSON *expv = cJSON_GetObjectItemCaseSensitive(j, "Expiration");
	if (!ak || !ak[0] || !sk || !sk[0] || (tokv && !tok && !cJSON_IsNull(tokv)) ||
	    (expv && !exp && !cJSON_IsNull(expv))) {
		rc = -EINVAL;
		goto out;
	}
	rc = str_copy(out->access_key, sizeof(out->access_key), ak);
	if (rc == 0)
		rc = str_copy(out->secret_key, sizeof(out->secret_key), sk);
	if (rc == 0 && tok)
		rc = str_copy(out->session_token, sizeof(out->session_token), tok);
	if (rc == 0 && exp)
		rc = credjson_parse_time(exp, &out->expiration);
out:
	if (rc)
		wipe(out, sizeof(*out));
	wipe_tree(j);
	cJSON_Delete(j);
	wipe(copy, len);
	free(copy);
	return rc;
}
