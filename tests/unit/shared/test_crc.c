/* test_crc.c: CRC32C and CRC64NVME against the published check values (the
 * bytes "123456789", ../shared/notes/s3-protocol-2026.md), against a
 * bit-at-a-time reference written here from the definition (reflected,
 * initial value and final xor all ones), over random data of every length
 * from 0 to 1,100 bytes at every alignment 0..15, split into arbitrary
 * pieces (streaming), and a 64 MiB buffer: the PCLMULQDQ folding must agree
 * with the table. The header encodings are base64 of the big-endian digest.
 * Prints the speed of each path (never gates). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crc.h"
#include "t.h"

/* One bit at a time, from the definition: the oracle. */
static uint64_t ref64(const unsigned char *p, size_t n)
{
	const uint64_t poly = 0x9A6C9329AC4BC9B5ull; /* 0xAD93D23594C93659 reflected */
	uint64_t r = ~0ull;
	for (size_t i = 0; i < n; i++) {
		r ^= p[i];
		for (int k = 0; k < 8; k++)
			r = (r & 1) ? (r >> 1) ^ poly : r >> 1;
	}
	return ~r;
}

static uint32_t ref32c(const unsigned char *p, size_t n)
{
	const uint32_t poly = 0x82F63B78u; /* 0x1EDC6F41 reflected */
	uint32_t r = ~0u;
	for (size_t i = 0; i < n; i++) {
		r ^= p[i];
		for (int k = 0; k < 8; k++)
			r = (r & 1) ? (r >> 1) ^ poly : r >> 1;
	}
	return ~r;
}

static uint64_t rnd_state = 0x243F6A8885A308D3ull;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static void test_check_values(void)
{
	const char *s = "123456789";
	CHECK(crc64nvme(0, s, 9) == 0xAE8B14860A799888ull);
	CHECK(crc64nvme_table(0, s, 9) == 0xAE8B14860A799888ull);
	CHECK(crc32c(0, s, 9) == 0xE3069283u);
	CHECK(ref64((const unsigned char *)s, 9) == 0xAE8B14860A799888ull);
	CHECK(ref32c((const unsigned char *)s, 9) == 0xE3069283u);
	CHECK(crc64nvme(0, "", 0) == 0);
	CHECK(crc32c(0, "", 0) == 0);
	char b64[CRC64NVME_B64_LEN];
	crc64nvme_b64(0xAE8B14860A799888ull, b64);
	CHECK_STR(b64, "rosUhgp5mIg=");
	char b32[CRC32C_B64_LEN];
	crc32c_b64(0xE3069283u, b32);
	CHECK_STR(b32, "4waSgw==");
	fprintf(stderr, "crc64nvme folds with PCLMULQDQ: %s\n", crc64nvme_folds() ? "yes" : "no");
}

static void test_every_length_and_alignment(void)
{
	enum { MAXN = 1100, ALIGN = 16 };
	unsigned char *buf = malloc(MAXN + ALIGN);
	for (size_t i = 0; i < MAXN + ALIGN; i++)
		buf[i] = (unsigned char)rnd();
	int bad64 = 0, bad32 = 0, badsplit = 0;
	for (size_t a = 0; a < ALIGN; a++) {
		for (size_t n = 0; n <= MAXN; n++) {
			const unsigned char *p = buf + a;
			uint64_t want = ref64(p, n);
			if (crc64nvme(0, p, n) != want || crc64nvme_table(0, p, n) != want)
				bad64++;
			if (crc32c(0, p, n) != ref32c(p, n))
				bad32++;
			/* streamed in two pieces cut anywhere */
			size_t cut = n ? (size_t)(rnd() % (n + 1)) : 0;
			if (crc64nvme(crc64nvme(0, p, cut), p + cut, n - cut) != want)
				badsplit++;
		}
	}
	CHECK_INT(bad64, 0);
	CHECK_INT(bad32, 0);
	CHECK_INT(badsplit, 0);
	free(buf);
}

static double secs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_large(void)
{
	size_t n = 64u << 20;
	unsigned char *buf = malloc(n);
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = rnd();
		memcpy(buf + i, &v, 8);
	}
	double t0 = secs();
	uint64_t f = crc64nvme(0, buf, n);
	double t1 = secs();
	uint64_t t = crc64nvme_table(0, buf, n);
	double t2 = secs();
	uint32_t c = crc32c(0, buf, n);
	double t3 = secs();
	CHECK(f == t);
	/* many uneven pieces, as the upload engine feeds them */
	uint64_t s = 0;
	uint32_t s32 = 0;
	for (size_t off = 0; off < n;) {
		size_t k = 1 + (size_t)(rnd() % (3u << 20));
		if (k > n - off)
			k = n - off;
		s = crc64nvme(s, buf + off, k);
		s32 = crc32c(s32, buf + off, k);
		off += k;
	}
	CHECK(s == f);
	CHECK(s32 == c);
	fprintf(stderr, "64 MiB: crc64nvme %.2f GB/s (table %.2f GB/s), crc32c %.2f GB/s\n",
		n / (t1 - t0) / 1e9, n / (t2 - t1) / 1e9, n / (t3 - t2) / 1e9);
	free(buf);
}

/* combine(CRC(A), CRC(B), |B|) == CRC(A||B) by the bitwise oracle, for
 * every split of random buffers (empty A and B included), for the check
 * string cut in two, and for 1 GiB of zeros after a prefix: lengths whose
 * high bits are set (shifts past 2^32 bits) without a 1 GiB buffer, since
 * CRC(A||0^n) = combine(CRC(A), CRC(0^n), n) and CRC(0^n) is computed by
 * feeding a zero block n/len times (the streaming form is tested above). */
static void test_combine(void)
{
	enum { MAXN = 300 };
	unsigned char buf[MAXN];
	for (size_t i = 0; i < MAXN; i++)
		buf[i] = (unsigned char)rnd();
	int bad64 = 0, bad32 = 0;
	for (size_t n = 0; n <= MAXN; n += (n < 40 ? 1 : 37)) {
		uint64_t w64 = ref64(buf, n);
		uint32_t w32 = ref32c(buf, n);
		for (size_t a = 0; a <= n; a++) {
			uint64_t c64 =
			    crc64nvme_combine(ref64(buf, a), ref64(buf + a, n - a), n - a);
			uint32_t c32 =
			    crc32c_combine(ref32c(buf, a), ref32c(buf + a, n - a), n - a);
			bad64 += c64 != w64;
			bad32 += c32 != w32;
		}
	}
	CHECK(bad64 == 0);
	CHECK(bad32 == 0);
	const char *s = "123456789";
	CHECK(crc64nvme_combine(crc64nvme(0, s, 4), crc64nvme(0, s + 4, 5), 5) ==
	      0xAE8B14860A799888ull);
	CHECK(crc32c_combine(crc32c(0, s, 4), crc32c(0, s + 4, 5), 5) == 0xE3069283u);
	/* 3 parts combined in order, as the upload does */
	uint64_t acc = crc64nvme(0, buf, 100);
	acc = crc64nvme_combine(acc, crc64nvme(0, buf + 100, 150), 150);
	acc = crc64nvme_combine(acc, crc64nvme(0, buf + 250, 50), 50);
	CHECK(acc == ref64(buf, 300));

	size_t zlen = 1u << 20;
	unsigned char *z = calloc(1, zlen);
	uint64_t n = 1ull << 30; /* 1 GiB of zeros, streamed */
	uint64_t z64 = 0;
	uint32_t z32 = 0;
	for (uint64_t done = 0; done < n; done += zlen) {
		z64 = crc64nvme(z64, z, zlen);
		z32 = crc32c(z32, z, zlen);
	}
	uint64_t s64 = crc64nvme(crc64nvme(0, buf, 77), z, 0);
	uint32_t s32 = crc32c(0, buf, 77);
	uint64_t want64 = s64;
	uint32_t want32 = s32;
	for (uint64_t done = 0; done < n; done += zlen) {
		want64 = crc64nvme(want64, z, zlen);
		want32 = crc32c(want32, z, zlen);
	}
	CHECK(crc64nvme_combine(s64, z64, n) == want64);
	CHECK(crc32c_combine(s32, z32, n) == want32);
	/* a length with bit 40 set: combine twice must equal combine once */
	uint64_t big = (1ull << 40) + 12345;
	CHECK(crc64nvme_combine(crc64nvme_combine(s64, 0, big), 0, 7) ==
	      crc64nvme_combine(s64, 0, big + 7));
	CHECK(crc32c_combine(crc32c_combine(s32, 0, big), 0, 7) == crc32c_combine(s32, 0, big + 7));
	free(z);
}

int main(void)
{
	T_RUN(test_check_values);
	T_RUN(test_every_length_and_alignment);
	T_RUN(test_large);
	T_RUN(test_combine);
	return T_DONE();
}
