/*
 * scan_trie.h: PRIVATE to the record scanner (scan_fields.c builds the trie,
 * scan.c walks it). The compiled field set of scan.h is a trie of path
 * segments, one node per distinct prefix; the node index is the slot index,
 * node 0 is the record itself. Both files need the node layout and the key
 * hash, and the walker must inline sf_key_bit per key, hence a header rather
 * than accessor functions.
 *
 * Ownership and threads: as scan.h (built single-threaded, then read-only).
 */
#ifndef SCAN_TRIE_H
#define SCAN_TRIE_H
#include <stddef.h>
#include <stdint.h>

#include "scan.h"

#define SF_NONE UINT32_MAX /* no node (end of a child or sibling list) */

struct sf_node {
	char *name; /* key bytes (unescaped), NULL for an index node */
	uint32_t name_len;
	int32_t index; /* >= 0: list/tuple element; -1: key */
	uint32_t parent;
	uint32_t first_child;
	uint32_t next_sibling;
	uint16_t bit_head[64];	/* key children by sf_key_bit: first node + 1 (0: none);
				   an empty bucket rejects most keys with one load */
	uint16_t next_same_bit; /* next sibling key node with the same sf_key_bit, + 1 */
	uint8_t has_keys;	/* some child is a key node */
	uint8_t has_idx;	/* some child is an index node */
};

struct scan_fields {
	struct sf_node *nodes;
	size_t n, alloc;
	size_t max_name; /* longest key name: bounds unescaping of keys */
};

/* Hash bucket of a key: its length and first byte (two LEAs and a load; the
 * last byte as well cost more per key than it saved in chain walks). */
static inline unsigned sf_key_bit(const char *k, size_t n)
{
	if (n == 0)
		return 0;
	return (unsigned)(n * 5 + (unsigned char)k[0] * 9) & 63;
}

#endif
