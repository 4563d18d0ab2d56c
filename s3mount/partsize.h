/*
 * partsize.h: the part-size policy of a multipart upload, pure arithmetic.
 *
 * Parts 1-1000 have the base size (the configured part size, default 8 MiB);
 * the size then doubles every 1000 parts and is capped at S3's 5 GiB per
 * part. S3 allows 10,000 parts, so a file can reach
 *   base * 1000 * (1 + 2 + ... + 512) = base * 1,023,000 bytes
 * (capped by the 5 GiB parts and S3's 5 TiB object maximum): 7.8 TiB for the
 * 8 MiB default, so every base >= 6 MiB reaches the 5 TiB object maximum;
 * a 5 MiB base stops at 4.87 TiB. Because every part is filled completely
 * before the next starts, part n always begins at partsize_offset(base, n).
 *
 * Thread-safe (no state). Sizes in bytes.
 */
#ifndef PARTSIZE_H
#define PARTSIZE_H
#include <stddef.h>
#include <stdint.h>

#define PARTSIZE_DEFAULT (8ull << 20)
#define PARTSIZE_GROUP 1000 /* parts per size step */

/* 0 when base is a usable first part size (5 MiB .. 5 GiB), else -EINVAL. */
int partsize_check_base(uint64_t base);
/* Size of part n (1-based) under the policy; 0 when n is outside 1..10000. */
uint64_t partsize_for(uint64_t base, int part_number);
/* Offset in the file of the first byte of part n (1 <= n <= 10001; for n =
 * 10001 this is the total of all 10,000 parts). */
uint64_t partsize_offset(uint64_t base, int part_number);
/* Largest file the policy can upload: min(sum of the 10,000 parts, 5 TiB). */
uint64_t partsize_max_object(uint64_t base);

/* The same policy with every part capped at cap bytes (the upload pool caps
 * parts at half the memory budget so a part always fits beside another):
 * part n is min(partsize_for(base, n), cap). */
uint64_t partsize_for_capped(uint64_t base, uint64_t cap, int part_number);
/* Largest file under the capped policy: min(sum of the 10,000 capped parts,
 * 5 TiB). E.g. base 8 MiB: cap 128 MiB -> 888,000 MiB; cap 2 GiB -> 5 TiB. */
uint64_t partsize_max_object_capped(uint64_t base, uint64_t cap);

#endif
