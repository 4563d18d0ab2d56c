/* blockmap.c: see blockmap.h. */
#include "blockmap.h"

uint64_t blockmap_count(uint64_t size, size_t bs)
{
	return size / bs + (size % bs != 0);
}

size_t blockmap_len(uint64_t size, size_t bs, uint64_t idx)
{
	if (idx >= blockmap_count(size, bs))
		return 0;
	uint64_t start = idx * bs;
	uint64_t left = size - start;
	return left < bs ? (size_t)left : bs;
}

uint64_t blockmap_span(uint64_t size, size_t bs, uint64_t off, uint64_t len, uint64_t *first)
{
	*first = 0;
	if (off >= size || len == 0)
		return 0;
	/* Clip without overflowing: off + len may pass UINT64_MAX. */
	uint64_t end = len > size - off ? size : off + len;
	*first = off / bs;
	return (end - 1) / bs - *first + 1;
}

size_t blockmap_round(size_t n, size_t align)
{
	return (n + align - 1) & ~(align - 1);
}
