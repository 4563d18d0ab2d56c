/* mpu.c: see mpu.h. */
#include "mpu.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "s3types.h"

#define ML_MAX_PARTS 10000
#define ML_MAX_PART (5ull << 30) /* S3's largest part */

static int ml_valid(const struct mpu_layout *l)
{
	if (l->base == 0 || l->cap == 0 || l->cap > ML_MAX_PART || l->base > l->cap)
		return -EINVAL;
	if (l->head_parts > ML_MAX_PARTS || (l->head_parts == 0) != (l->head_bytes == 0))
		return -EINVAL;
	/* every head piece must be a real part: at least one byte, at most 5 GiB */
	if (l->head_parts &&
	    (l->head_bytes < l->head_parts || l->head_bytes / l->head_parts > ML_MAX_PART ||
	     l->head_bytes - l->head_bytes / l->head_parts * (l->head_parts - 1) > ML_MAX_PART))
		return -EINVAL;
	return 0;
}

int mpu_layout_format(const struct mpu_layout *l, char *out, size_t n)
{
	if (ml_valid(l) != 0)
		return -EINVAL;
	int w;
	if (l->head_parts)
		w = snprintf(out, n, "v=1 base=%llu cap=%llu grow=%u head=%llu/%u",
			     (unsigned long long)l->base, (unsigned long long)l->cap, l->grow,
			     (unsigned long long)l->head_bytes, l->head_parts);
	else
		w = snprintf(out, n, "v=1 base=%llu cap=%llu grow=%u", (unsigned long long)l->base,
			     (unsigned long long)l->cap, l->grow);
	return w < 0 || (size_t)w >= n ? -ENOSPC : 0;
}

/* A decimal without sign, leading zeros (but "0") or overflow past max;
 * advances *s past it. */
static int ml_num(const char **s, uint64_t max, uint64_t *out)
{
	const char *p = *s;
	uint64_t v = 0;
	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (max - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*s = p;
	*out = v;
	return 0;
}

/* "key=" at *s: advances past it. */
static int ml_key(const char **s, const char *key)
{
	size_t k = strlen(key);
	if (strncmp(*s, key, k) != 0 || (*s)[k] != '=')
		return -EINVAL;
	*s += k + 1;
	return 0;
}

int mpu_layout_parse(const char *s, struct mpu_layout *l)
{
	struct mpu_layout t = {0};
	uint64_t v, g;
	if (!s || strnlen(s, MPU_LAYOUT_MAX) >= MPU_LAYOUT_MAX)
		return -EINVAL;
	if (ml_key(&s, "v") || ml_num(&s, 1, &v) || v != 1 || *s++ != ' ')
		return -EINVAL;
	if (ml_key(&s, "base") || ml_num(&s, ML_MAX_PART, &t.base) || *s++ != ' ')
		return -EINVAL;
	if (ml_key(&s, "cap") || ml_num(&s, ML_MAX_PART, &t.cap) || *s++ != ' ')
		return -EINVAL;
	if (ml_key(&s, "grow") || ml_num(&s, ML_MAX_PARTS, &g))
		return -EINVAL;
	t.grow = (uint32_t)g;
	if (*s == ' ') {
		s++;
		if (ml_key(&s, "head") ||
		    ml_num(&s, (uint64_t)ML_MAX_PARTS * ML_MAX_PART, &t.head_bytes) ||
		    *s++ != '/' || ml_num(&s, ML_MAX_PARTS, &v))
			return -EINVAL;
		t.head_parts = (uint32_t)v;
		if (t.head_parts == 0) /* written only when there is a head */
			return -EINVAL;
	}
	if (*s != '\0' || ml_valid(&t) != 0)
		return -EINVAL;
	*l = t;
	return 0;
}

uint64_t mpu_layout_part_size(const struct mpu_layout *l, int k)
{
	if (k < 1 || k > ML_MAX_PARTS)
		return 0;
	if ((uint32_t)k <= l->head_parts) {
		uint64_t piece = l->head_bytes / l->head_parts;
		return (uint32_t)k < l->head_parts ? piece
						   : l->head_bytes - piece * (l->head_parts - 1);
	}
	unsigned shift = l->grow ? (unsigned)(k - 1) / l->grow : 0;
	/* base <= cap <= 5 GiB < 2^33: past 30 doublings it is surely capped */
	if (shift > 30)
		return l->cap;
	uint64_t sz = l->base << shift;
	return sz < l->cap ? sz : l->cap;
}

int mpu_layout_parts(const struct mpu_layout *l, uint64_t size)
{
	if (size == 0 || ml_valid(l) != 0 || l->head_bytes > size)
		return -EINVAL;
	uint64_t off = 0;
	int k = 0;
	while (off < size) {
		if (++k > ML_MAX_PARTS)
			return -EINVAL;
		off += mpu_layout_part_size(l, k);
	}
	/* a head that ends exactly at the object's end leaves no policy part */
	return k;
}

int mpu_layout_uniform(uint64_t size, int nparts, uint64_t p1, struct mpu_layout *out)
{
	struct mpu_layout l = {.base = p1, .cap = p1};
	if (p1 == 0 || p1 > ML_MAX_PART || mpu_layout_parts(&l, size) != nparts)
		return -EINVAL;
	*out = l;
	return 0;
}

int mpu_etag_parts(const char *etag)
{
	if (!etag)
		return -EINVAL;
	const char *p = etag;
	if (*p == '"')
		p++;
	for (int i = 0; i < 32; i++)
		if (crypto_hexval(p[i]) < 0)
			return -EINVAL;
	p += 32;
	if (*p++ != '-')
		return -EINVAL;
	uint64_t n;
	if (ml_num(&p, ML_MAX_PARTS, &n) != 0 || n == 0)
		return -EINVAL;
	if (etag[0] == '"' && *p++ != '"') /* quoted: closed too */
		return -EINVAL;
	return *p == '\0' ? (int)n : -EINVAL;
}

int mpu_etag_of_parts(const struct s3_part *parts, size_t nparts, char *out, size_t cap)
{
	if (cap)
		out[0] = '\0';
	struct crypto_md5_ctx *ctx = crypto_md5_new();
	if (!ctx)
		return -ENOMEM;
	int rc = 0;
	for (size_t i = 0; i < nparts && !rc; i++) {
		const char *e = parts[i].etag;
		uint8_t bin[CRYPTO_MD5_LEN];
		if (*e == '"')
			e++;
		for (int k = 0; k < CRYPTO_MD5_LEN && !rc; k++) {
			int hi = crypto_hexval(e[2 * k]);
			int lo = hi < 0 ? -1 : crypto_hexval(e[2 * k + 1]);
			if (lo < 0)
				rc = -EINVAL; /* not an MD5 (SSE-KMS, SSE-C): cannot tell */
			else
				bin[k] = (uint8_t)(hi * 16 + lo);
		}
		if (!rc)
			rc = crypto_md5_update(ctx, bin, sizeof(bin));
	}
	uint8_t md[CRYPTO_MD5_LEN];
	int frc = crypto_md5_final(ctx, md);
	if (rc || frc)
		return rc ? rc : frc;
	char hex[2 * CRYPTO_MD5_LEN + 1];
	crypto_hex(md, sizeof(md), hex);
	snprintf(out, cap, "\"%s-%zu\"", hex, nparts);
	return 0;
}
