/*
 * crc.h: the CRCs S3 checks uploads and downloads with (issue 13): CRC32C
 * and CRC64NVME, as S3 defines them (reflected, initial value and final xor
 * all ones; check values of "123456789": 0xE3069283 and 0xAE8B14860A799888).
 *
 * Both are streaming: start from 0, feed the bytes in any number of calls,
 * and the value after each call is the CRC of everything fed so far (the
 * zlib crc32() convention). crc32c_b64() and crc64nvme_b64() give the header value S3
 * wants: base64 of the big-endian digest.
 *
 * Speed: CRC32C is ISA-L's crc32_iscsi (PCLMULQDQ folding), which matches
 * the check value once its initial value and final xor are applied. No
 * ISA-L function computes CRC64NVME (Debian 12's ISA-L predates it: its
 * ECMA, ISO and Jones CRC64s give other check values), so crc64nvme folds
 * 64-byte blocks with PCLMULQDQ where the CPU has it, using constants
 * derived at first use from the polynomial (x^e mod P), and finishes with a
 * byte table; without PCLMULQDQ the table does everything (slower, same
 * result). Thread-safe: the tables are built once (pthread_once).
 */
#ifndef CRC_H
#define CRC_H
#include <stddef.h>
#include <stdint.h>

uint32_t crc32c(uint32_t crc, const void *buf, size_t len);
uint64_t crc64nvme(uint64_t crc, const void *buf, size_t len);

/* The same CRC64NVME with the byte table only (the reference the folding is
 * tested against, and the path of CPUs without PCLMULQDQ). */
uint64_t crc64nvme_table(uint64_t crc, const void *buf, size_t len);

/* 1 when crc64nvme() uses PCLMULQDQ on this CPU. */
int crc64nvme_folds(void);

/* The CRC of A followed by B, from crc_a = CRC(A), crc_b = CRC(B) and the
 * length of B (zlib's crc32_combine): CRC(A||B) = crc_a * x^(8 len_b) ^
 * crc_b over GF(2) mod P (the initial value and the final xor cancel). For
 * a whole object from the CRCs of its parts, computed in parallel by
 * different threads, and for the copied head of an appended object.
 * O(log len_b) multiplications of 32 or 64 bits; no table per call. */
uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);
uint64_t crc64nvme_combine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b);

/* Header values: base64 of the big-endian 4 or 8 bytes, NUL-terminated.
 * out needs 9 bytes for CRC32C, 13 for CRC64NVME. */
#define CRC32C_B64_LEN 9
#define CRC64NVME_B64_LEN 13
void crc32c_b64(uint32_t crc, char out[CRC32C_B64_LEN]);
void crc64nvme_b64(uint64_t crc, char out[CRC64NVME_B64_LEN]);

#endif
