/*
 * blockmap.h: block index arithmetic of the read cache, kept apart from the
 * cache so the boundary cases (empty object, last partial block, reads past
 * the end) are tested without a server.
 *
 * An object of `size` bytes is cut into blocks of `bs` bytes (bs > 0); block
 * i covers [i*bs, min((i+1)*bs, size)). Pure functions, thread-safe, no
 * errors: out-of-range input yields empty results (0 blocks, 0 bytes).
 */
#ifndef BLOCKMAP_H
#define BLOCKMAP_H
#include <stddef.h>
#include <stdint.h>

/* Number of blocks of an object (0 for an empty one). */
uint64_t blockmap_count(uint64_t size, size_t bs);
/* Bytes of object data in block idx (bs except for the last one; 0 past the end). */
size_t blockmap_len(uint64_t size, size_t bs, uint64_t idx);
/* Blocks touched by [off, off+len) clipped to the object: returns how many
 * (0 when nothing is left to read) and stores the first index in *first. */
uint64_t blockmap_span(uint64_t size, size_t bs, uint64_t off, uint64_t len, uint64_t *first);
/* Rounds n up to a multiple of align (a power of two): the bytes mapped, and
 * so charged to the budget, for n bytes of data. */
size_t blockmap_round(size_t n, size_t align);

#endif
