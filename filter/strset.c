/*
 * strset.c: see strset.h. Strings: one arena of bytes plus an open-addressing
 * table of 8-byte slots packing (offset + 1) in the low 40 bits and the length
 * in the high 24 bits (0 = empty), so a million values cost ~16-32 MB of
 * table. Numbers: each value has one spelling, so that equal numbers meet in
 * one table: a whole number that fits an int64 (5, 5.0, 5e0) goes to the
 * integer table as that int64, exactly; any other number to the double table
 * as its bit pattern. A set of mathematical values then answers exactly what
 * value_num_cmp() == 0 answers, with no integer ever rounded to a double.
 */
#include "strset.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "value.h"

#define OFF_BITS 40
#define MAX_OFF ((1ULL << OFF_BITS) - 2)
#define MAX_LEN ((1U << 24) - 1)

/* An open-addressing set of 64-bit keys. One key value marks an empty slot;
 * that key itself, if added, is held by a flag beside the table. */
struct keytab {
	uint64_t *k;
	size_t nslots, n; /* n counts has_empty too */
	uint64_t empty;
	int has_empty;
};

struct strset {
	char *arena;
	size_t alen, aalloc;
	uint64_t *slots; /* string table */
	size_t nslots, nstr;
	struct keytab ints; /* int64 values (as uint64 bits) */
	struct keytab dbls; /* double bit patterns: non-integral or beyond int64 */
	int has_true, has_false, has_null;
};

struct strset *strset_new(void)
{
	struct strset *s = calloc(1, sizeof(struct strset));
	if (!s)
		return NULL;
	s->ints.empty = (uint64_t)1 << 63; /* INT64_MIN */
	s->dbls.empty = UINT64_MAX;	   /* an all-ones NaN: never a key */
	return s;
}

void strset_free(struct strset *s)
{
	if (!s)
		return;
	free(s->arena);
	free(s->slots);
	free(s->ints.k);
	free(s->dbls.k);
	free(s);
}

/* 64-bit hash over 8-byte words (multiply-xorshift mixing). */
static uint64_t hash_bytes(const char *p, size_t n)
{
	uint64_t h = 0x9E3779B97F4A7C15ULL ^ (n * 0xC2B2AE3D27D4EB4FULL);
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
		h ^= h >> 32;
		p += 8;
		n -= 8;
	}
	uint64_t w = 0;
	if (n)
		memcpy(&w, p, n);
	h = (h ^ w) * 0xC4CEB9FE1A85EC53ULL;
	h ^= h >> 29;
	h *= 0x9E3779B97F4A7C15ULL;
	return h ^ (h >> 32);
}

static inline size_t slot_off(uint64_t v)
{
	return (size_t)((v & ((1ULL << OFF_BITS) - 1)) - 1);
}

static inline size_t slot_len(uint64_t v)
{
	return (size_t)(v >> OFF_BITS);
}

static int str_grow(struct strset *s)
{
	size_t nn = s->nslots ? s->nslots * 2 : 64;
	uint64_t *t = calloc(nn, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < s->nslots; i++) {
		uint64_t v = s->slots[i];
		if (!v)
			continue;
		size_t h = (size_t)hash_bytes(s->arena + slot_off(v), slot_len(v)) & (nn - 1);
		while (t[h])
			h = (h + 1) & (nn - 1);
		t[h] = v;
	}
	free(s->slots);
	s->slots = t;
	s->nslots = nn;
	return 0;
}

static int add_str(struct strset *s, const char *v, size_t n)
{
	if (n > MAX_LEN)
		return -E2BIG;
	if (strset_has_str(s, v, n))
		return 0;
	if ((s->nstr + 1) * 2 > s->nslots) {
		int rc = str_grow(s);
		if (rc)
			return rc;
	}
	if (s->alen + n > MAX_OFF)
		return -E2BIG;
	if (s->alen + n > s->aalloc) {
		size_t na = s->aalloc ? s->aalloc : 4096;
		while (na < s->alen + n)
			na *= 2;
		char *a = realloc(s->arena, na);
		if (!a)
			return -ENOMEM;
		s->arena = a;
		s->aalloc = na;
	}
	if (n)
		memcpy(s->arena + s->alen, v, n);
	size_t h = (size_t)hash_bytes(v, n) & (s->nslots - 1);
	while (s->slots[h])
		h = (h + 1) & (s->nslots - 1);
	s->slots[h] = ((uint64_t)n << OFF_BITS) | (uint64_t)(s->alen + 1);
	s->alen += n;
	s->nstr++;
	return 0;
}

int strset_has_str(const struct strset *s, const char *v, size_t n)
{
	if (!s->nstr)
		return 0;
	size_t h = (size_t)hash_bytes(v, n) & (s->nslots - 1);
	for (;;) {
		uint64_t e = s->slots[h];
		if (!e)
			return 0;
		if (slot_len(e) == n && (n == 0 || memcmp(s->arena + slot_off(e), v, n) == 0))
			return 1;
		h = (h + 1) & (s->nslots - 1);
	}
}

static size_t key_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xFF51AFD7ED558CCDULL;
	k ^= k >> 33;
	return (size_t)k;
}

static int key_has(const struct keytab *t, uint64_t k)
{
	if (k == t->empty)
		return t->has_empty;
	if (!t->nslots)
		return 0;
	size_t h = key_hash(k) & (t->nslots - 1);
	for (;;) {
		uint64_t e = t->k[h];
		if (e == t->empty)
			return 0;
		if (e == k)
			return 1;
		h = (h + 1) & (t->nslots - 1);
	}
}

static int key_add(struct keytab *t, uint64_t k)
{
	if (key_has(t, k))
		return 0;
	if (k == t->empty) {
		t->has_empty = 1;
		t->n++;
		return 0;
	}
	if ((t->n + 1) * 2 > t->nslots) {
		size_t nn = t->nslots ? t->nslots * 2 : 64;
		uint64_t *nk = malloc(nn * sizeof(*nk));
		if (!nk)
			return -ENOMEM;
		for (size_t i = 0; i < nn; i++)
			nk[i] = t->empty;
		for (size_t i = 0; i < t->nslots; i++) {
			if (t->k[i] == t->empty)
				continue;
			size_t h = key_hash(t->k[i]) & (nn - 1);
			while (nk[h] != t->empty)
				h = (h + 1) & (nn - 1);
			nk[h] = t->k[i];
		}
		free(t->k);
		t->k = nk;
		t->nslots = nn;
	}
	size_t h = key_hash(k) & (t->nslots - 1);
	while (t->k[h] != t->empty)
		h = (h + 1) & (t->nslots - 1);
	t->k[h] = k;
	t->n++;
	return 0;
}

/* The one spelling of a number: *is_int picks the table, *key the slot
 * value. 0, or -1 for a nan (it equals nothing: neither stored nor found). */
static int num_key(const struct value_num *v, int *is_int, uint64_t *key)
{
	int64_t i;
	*is_int = value_num_int(v, &i);
	if (*is_int) {
		*key = (uint64_t)i;
		return 0;
	}
	if (isnan(v->d))
		return -1;
	memcpy(key, &v->d, sizeof(*key));
	return 0;
}

int strset_add_num(struct strset *s, const struct value_num *v)
{
	int is_int;
	uint64_t k;
	if (num_key(v, &is_int, &k))
		return 0;
	return key_add(is_int ? &s->ints : &s->dbls, k);
}

int strset_has_num(const struct strset *s, const struct value_num *v)
{
	int is_int;
	uint64_t k;
	if (num_key(v, &is_int, &k))
		return 0;
	return key_has(is_int ? &s->ints : &s->dbls, k);
}

int strset_has_bool(const struct strset *s, int b)
{
	return b ? s->has_true : s->has_false;
}

int strset_has_null(const struct strset *s)
{
	return s->has_null;
}

size_t strset_count(const struct strset *s)
{
	return s->nstr + s->ints.n + s->dbls.n + (size_t)s->has_true + (size_t)s->has_false +
	       (size_t)s->has_null;
}

int strset_add(struct strset *s, const char *v, size_t n)
{
	int rc = add_str(s, v, n);
	if (rc)
		return rc;
	struct value_num num;
	if (value_parse_number(v, n, &num) == 0)
		rc = strset_add_num(s, &num);
	return rc;
}

int strset_add_literal(struct strset *s, int kind, const char *v, size_t n)
{
	struct value_num num;
	switch (kind) {
	case 's':
		return add_str(s, v, n);
	case 'n':
		if (value_parse_number(v, n, &num))
			return -EINVAL;
		return strset_add_num(s, &num);
	case 't':
		s->has_true = 1;
		return 0;
	case 'f':
		s->has_false = 1;
		return 0;
	case 'z':
		s->has_null = 1;
		return 0;
	}
	return -EINVAL;
}

/* Adds complete lines of buf; returns bytes consumed (up to the last '\n' when
 * !final) or a negative errno. *lineno counts lines. */
static long add_lines(struct strset *s, const char *buf, size_t len, int final, size_t max_line,
		      size_t *lineno)
{
	size_t i = 0;
	for (;;) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t e;
		if (nl) {
			e = (size_t)(nl - buf);
		} else if (final && i < len) {
			e = len;
		} else {
			return (long)i;
		}
		size_t n = e - i;
		++*lineno;
		if (n && buf[i + n - 1] == '\r')
			n--;
		if (n > max_line)
			return -E2BIG;
		if (n) {
			int rc = strset_add(s, buf + i, n);
			if (rc)
				return rc;
		}
		i = nl ? e + 1 : e;
		if (i >= len)
			return (long)i;
	}
}

int strset_add_lines(struct strset *s, const char *buf, size_t len, size_t max_line,
		     size_t *bad_line)
{
	size_t lineno = 0;
	long rc = add_lines(s, buf, len, 1, max_line, &lineno);
	if (rc < 0) {
		*bad_line = lineno;
		return (int)rc;
	}
	return 0;
}

int strset_load_file(struct strset *s, const char *path, size_t max_line, size_t *bad_line)
{
	const size_t chunk = 1 << 20;
	size_t cap = chunk + max_line + 2, have = 0, lineno = 0;
	int rc = 0;
	*bad_line = 0;
	char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + have, cap - have);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		have += (size_t)r;
		long used = add_lines(s, buf, have, r == 0, max_line, &lineno);
		if (used < 0) {
			rc = (int)used;
			*bad_line = lineno;
			goto out;
		}
		memmove(buf, buf + used, have - (size_t)used);
		have -= (size_t)used;
		if (r == 0)
			break;
		if (have > max_line + 1) {
			/* A partial line already longer than the cap. */
			rc = -E2BIG;
			*bad_line = lineno + 1;
			goto out;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}
