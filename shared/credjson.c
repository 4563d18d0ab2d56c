/*
 * credjson.c: see credjson.h. cJSON parses a private copy of the body (cJSON
 * wants a NUL-terminated string and the body is not); the copy and the tree
 * hold secrets, so both are wiped before they are freed.
 */
#include "credjson.h"

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

static int digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (timegm is not POSIX). */
static long long days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	long long yoe = y - era * 400;
	long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int credjson_parse_time(const char *s, time_t *out)
{
	int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (!s || strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
	    s[7] != '-' || digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
	    digits(s + 17, 2, &se))
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60)
		return -EINVAL;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 ||
		    om > 59)
			return -EINVAL;
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	long long t = days_from_civil(y, mo, d) * 86400LL + h * 3600LL + mi * 60LL + se -
		      sign * (oh * 3600LL + om * 60LL);
	if (sizeof(time_t) < 8 && (t > 0x7fffffffLL || t < -0x7fffffffLL - 1))
		return -EINVAL;
	*out = (time_t)t;
	return 0;
}

static int copy_field(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap)
		return -E2BIG;
	memcpy(dst, src, n + 1);
	return 0;
}

static const char *str_item(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int credjson_parse(const char *text, size_t len, struct creds *out, char *code_out,
		   size_t code_cap)
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
	rc = copy_field(out->access_key, sizeof(out->access_key), ak);
	if (rc == 0)
		rc = copy_field(out->secret_key, sizeof(out->secret_key), sk);
	if (rc == 0 && tok)
		rc = copy_field(out->session_token, sizeof(out->session_token), tok);
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
