/* crc.c: see crc.h.
 *
 * CRC64NVME folding, stated once so the constants can be checked. In the
 * reflected bit order a little-endian 64-bit word w stands for the
 * polynomial sum w_i x^(63-i), and a 16-byte block (lo, hi) for
 * LO x^64 + HI. The carry-less product of two such words is the 128-bit
 * reflected form of A*B*x (the product has degree <= 126; reflection shifts
 * it up by one). Folding a 128-bit state S a distance of d bits ahead must
 * keep S*x^d mod P; since S*x^d = LO x^(d+64) + HI x^d, it is
 *   clmul(lo, rev(x^(d+63) mod P)) ^ clmul(hi, rev(x^(d-1) mod P)),
 * the -1 paying for the reflection's extra x. When the data is folded down
 * to one 16-byte state S congruent to the message mod P, the CRC register
 * (before the final xor) is S*x^64 mod P: the byte table run over S's 16
 * bytes from a zero register gives exactly that, then the tail bytes follow.
 * The initial value is applied by xoring the register into the first 8
 * bytes, as a reflected CRC does.
 */
#include "crc.h"

#include <pthread.h>
#include <string.h>

#include "crypto.h"

#ifdef HAVE_ISAL
#include <isa-l/crc.h>
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CRC_X86 1
#include <immintrin.h>
#endif

#define CRC64NVME_POLY 0xAD93D23594C93659ull /* normal form, x^64 implied */
#define CRC32C_POLY 0x1EDC6F41u
/* fold distances: 4 blocks of 16 bytes, and one block */
#define FOLD4_BITS 512
#define FOLD1_BITS 128
#define CRC32C_ISAL_CHUNK (1u << 30)
/* x^(2^k) mod P for k = 0..66: combine shifts by 8 * len_b < 2^67 bits */
#define CRC_X2N 67

static struct {
	uint64_t t64[256];
	uint32_t t32[256];
	uint64_t k4_lo, k4_hi, k1_lo, k1_hi; /* fold constants (see the top) */
	uint64_t x2n64[CRC_X2N];	     /* reflected: x^0 is bit 63 */
	uint64_t x2n32[CRC_X2N];	     /* reflected: x^0 is bit 31 */
	int folds;
} g_crc; /* built once by crc_init: read-only afterwards */
static pthread_once_t g_crc_once = PTHREAD_ONCE_INIT;

static uint64_t reflect64(uint64_t v)
{
	uint64_t r = 0;
	for (int i = 0; i < 64; i++, v >>= 1)
		r = r << 1 | (v & 1);
	return r;
}

static uint32_t reflect32(uint32_t v)
{
	uint32_t r = 0;
	for (int i = 0; i < 32; i++, v >>= 1)
		r = r << 1 | (v & 1);
	return r;
}

/* x^e mod P in normal form (bit i is the coefficient of x^i). */
static uint64_t xpow_mod(unsigned e)
{
	uint64_t v = 1;
	while (e--) {
		uint64_t carry = v >> 63;
		v <<= 1;
		if (carry)
			v ^= CRC64NVME_POLY;
	}
	return v;
}

/* The reflected 64-bit word of x^e mod P (bit j stands for x^(63-j)). */
static uint64_t fold_const(unsigned e)
{
	return reflect64(xpow_mod(e));
}

/* a * b mod P of two reflected polynomials of width bits (bit width-1 is
 * x^0; zlib's multmodp), for both CRCs: 32-bit ones sit in the low bits. */
static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t poly_r, int width)
{
	uint64_t m = 1ull << (width - 1), p = 0;
	if (!a)
		return 0;
	for (;;) {
		if (a & m) {
			p ^= b;
			if (!(a & (m - 1)))
				break;
		}
		m >>= 1;
		b = b & 1 ? b >> 1 ^ poly_r : b >> 1;
	}
	return p;
}

static void crc_init(void)
{
	uint64_t p64 = reflect64(CRC64NVME_POLY);
	uint32_t p32 = reflect32(CRC32C_POLY);
	for (unsigned b = 0; b < 256; b++) {
		uint64_t c = b;
		uint32_t d = b;
		for (int k = 0; k < 8; k++) {
			c = c & 1 ? c >> 1 ^ p64 : c >> 1;
			d = d & 1 ? d >> 1 ^ p32 : d >> 1;
		}
		g_crc.t64[b] = c;
		g_crc.t32[b] = d;
	}
	g_crc.k4_lo = fold_const(FOLD4_BITS + 63);
	g_crc.k4_hi = fold_const(FOLD4_BITS - 1);
	g_crc.k1_lo = fold_const(FOLD1_BITS + 63);
	g_crc.k1_hi = fold_const(FOLD1_BITS - 1);
	g_crc.x2n64[0] = 1ull << 62; /* x^1 */
	g_crc.x2n32[0] = 1u << 30;
	for (int k = 1; k < CRC_X2N; k++) {
		g_crc.x2n64[k] = mulmod(g_crc.x2n64[k - 1], g_crc.x2n64[k - 1], p64, 64);
		g_crc.x2n32[k] = mulmod(g_crc.x2n32[k - 1], g_crc.x2n32[k - 1], p32, 32);
	}
#ifdef CRC_X86
	__builtin_cpu_init();
	g_crc.folds = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
#endif
}

/* The register (not inverted) through len bytes, one byte at a time. */
static uint64_t reg64_bytes(uint64_t reg, const unsigned char *p, size_t len)
{
	while (len--)
		reg = reg >> 8 ^ g_crc.t64[(reg ^ *p++) & 0xff];
	return reg;
}

uint64_t crc64nvme_table(uint64_t crc, const void *buf, size_t len)
{
	pthread_once(&g_crc_once, crc_init);
	return ~reg64_bytes(~crc, buf, len);
}

#ifdef CRC_X86
__attribute__((target("pclmul,sse4.1"))) static __m128i fold(__m128i s, __m128i k)
{
	return _mm_xor_si128(_mm_clmulepi64_si128(s, k, 0x00), _mm_clmulepi64_si128(s, k, 0x11));
}

/* len >= 64. Returns the register after every byte. */
__attribute__((target("pclmul,sse4.1"))) static uint64_t
reg64_fold(uint64_t reg, const unsigned char *p, size_t len)
{
	const __m128i k4 = _mm_set_epi64x((long long)g_crc.k4_hi, (long long)g_crc.k4_lo);
	const __m128i k1 = _mm_set_epi64x((long long)g_crc.k1_hi, (long long)g_crc.k1_lo);
	__m128i x0 = _mm_loadu_si128((const __m128i *)p);
	__m128i x1 = _mm_loadu_si128((const __m128i *)(p + 16));
	__m128i x2 = _mm_loadu_si128((const __m128i *)(p + 32));
	__m128i x3 = _mm_loadu_si128((const __m128i *)(p + 48));
	x0 = _mm_xor_si128(x0, _mm_set_epi64x(0, (long long)reg));
	p += 64;
	len -= 64;
	while (len >= 64) {
		x0 = _mm_xor_si128(fold(x0, k4), _mm_loadu_si128((const __m128i *)p));
		x1 = _mm_xor_si128(fold(x1, k4), _mm_loadu_si128((const __m128i *)(p + 16)));
		x2 = _mm_xor_si128(fold(x2, k4), _mm_loadu_si128((const __m128i *)(p + 32)));
		x3 = _mm_xor_si128(fold(x3, k4), _mm_loadu_si128((const __m128i *)(p + 48)));
		p += 64;
		len -= 64;
	}
	__m128i s = _mm_xor_si128(fold(x0, k1), x1);
	s = _mm_xor_si128(fold(s, k1), x2);
	s = _mm_xor_si128(fold(s, k1), x3);
	while (len >= 16) {
		s = _mm_xor_si128(fold(s, k1), _mm_loadu_si128((const __m128i *)p));
		p += 16;
		len -= 16;
	}
	unsigned char st[16];
	_mm_storeu_si128((__m128i *)st, s);
	return reg64_bytes(reg64_bytes(0, st, sizeof(st)), p, len);
}
#endif

uint64_t crc64nvme(uint64_t crc, const void *buf, size_t len)
{
	pthread_once(&g_crc_once, crc_init);
	uint64_t reg = ~crc;
#ifdef CRC_X86
	if (g_crc.folds && len >= 64)
		return ~reg64_fold(reg, buf, len);
#endif
	return ~reg64_bytes(reg, buf, len);
}

int crc64nvme_folds(void)
{
	pthread_once(&g_crc_once, crc_init);
	return g_crc.folds;
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
#ifdef HAVE_ISAL
	/* ISA-L's crc32_iscsi applies neither the initial value nor the final
	 * xor: give it the register and invert the result (check value tested). */
	const unsigned char *p = buf;
	uint32_t reg = ~crc;
	while (len > 0) { /* its length is an int */
		size_t n = len > CRC32C_ISAL_CHUNK ? CRC32C_ISAL_CHUNK : len;
		reg = crc32_iscsi((unsigned char *)(uintptr_t)p, (int)n, reg);
		p += n;
		len -= n;
	}
	return ~reg;
#else
	pthread_once(&g_crc_once, crc_init);
	uint32_t reg = ~crc;
	const unsigned char *p = buf;
	while (len--)
		reg = reg >> 8 ^ g_crc.t32[(reg ^ *p++) & 0xff];
	return ~reg;
#endif
}

/* crc_a * x^(8 len_b) mod P ^ crc_b: x^(8 len_b) is the product of the
 * x^(2^k) for the bits of len_b, shifted by 3 (8 = 2^3). */
static uint64_t combine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b, const uint64_t *x2n,
			uint64_t poly_r, int width)
{
	uint64_t xp = 1ull << (width - 1);
	for (int k = 3; len_b; len_b >>= 1, k++)
		if (len_b & 1)
			xp = mulmod(x2n[k], xp, poly_r, width);
	return mulmod(xp, crc_a, poly_r, width) ^ crc_b;
}

uint64_t crc64nvme_combine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b)
{
	pthread_once(&g_crc_once, crc_init);
	return combine(crc_a, crc_b, len_b, g_crc.x2n64, reflect64(CRC64NVME_POLY), 64);
}

uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
	pthread_once(&g_crc_once, crc_init);
	return (uint32_t)combine(crc_a, crc_b, len_b, g_crc.x2n32, reflect32(CRC32C_POLY), 32);
}

void crc32c_b64(uint32_t crc, char out[CRC32C_B64_LEN])
{
	uint8_t be[4];
	for (int i = 0; i < 4; i++)
		be[i] = (uint8_t)(crc >> (24 - 8 * i));
	crypto_base64(be, sizeof(be), out);
}

void crc64nvme_b64(uint64_t crc, char out[CRC64NVME_B64_LEN])
{
	uint8_t be[8];
	for (int i = 0; i < 8; i++)
		be[i] = (uint8_t)(crc >> (56 - 8 * i));
	crypto_base64(be, sizeof(be), out);
}
