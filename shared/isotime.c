/* isotime.c: see isotime.h. One parser for the S3 XML and credentials JSON
 * timestamps, which had grown two copies with slightly different rules. */
#include "isotime.h"

#include <errno.h>
#include <string.h>

static int isotime_digits(const char *s, int n, int *out)
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

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil algorithm). */
static long long isotime_days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	long long yoe = y - era * 400;
	long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int isotime_parse(const char *s, int flags, time_t *out)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;

	if (!s || strlen(s) < 19)
		return -EINVAL;
	int sep_ok = s[10] == 'T' || s[10] == 't' || (s[10] == ' ' && (flags & ISOTIME_SPACE_SEP));
	if (isotime_digits(s, 4, &y) || s[4] != '-' || isotime_digits(s + 5, 2, &mo) ||
	    s[7] != '-' || isotime_digits(s + 8, 2, &d) || !sep_ok ||
	    isotime_digits(s + 11, 2, &h) || s[13] != ':' || isotime_digits(s + 14, 2, &mi) ||
	    s[16] != ':' || isotime_digits(s + 17, 2, &se))
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
	} else if ((*p == '+' || *p == '-') && (flags & ISOTIME_OFFSETS)) {
		sign = *p == '+' ? 1 : -1;
		if (isotime_digits(p + 1, 2, &oh) || p[3] != ':' || isotime_digits(p + 4, 2, &om) ||
		    oh > 23 || om > 59)
			return -EINVAL;
		p += 6;
	} else if (!(*p == '\0' && (flags & ISOTIME_ZONE_OPTIONAL))) {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	long long t = isotime_days_from_civil(y, mo, d) * 86400LL + h * 3600LL + mi * 60LL + se -
		      sign * (oh * 3600LL + om * 60LL);
	if (sizeof(time_t) < 8 && (t > 0x7fffffffLL || t < -0x7fffffffLL - 1))
		return -EINVAL;
	*out = (time_t)t;
	return 0;
}
