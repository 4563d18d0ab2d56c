/*
 * rchunk.c: see rchunk.h. The read cache's chunks of memory and their
 * pool, kept apart from the block table so the budget accounting (charge
 * before mapping, credit after unmapping) sits in one place.
 */
#define _GNU_SOURCE /* MAP_ANONYMOUS, MAP_POPULATE */
#include "rchunk.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

void rchunk_pool_init(struct rchunk_pool *p, struct budget *b, size_t part_bytes, size_t max)
{
	p->budget = b;
	p->part_bytes = part_bytes;
	p->max = max;
	p->head = NULL;
	p->bytes = 0;
	p->pooling = 1;
	p->charged = 0;
}

/* Moves the first pooled chunk to the grave. */
static void pool_bury_one(struct rchunk_pool *p, struct rchunk_grave *g)
{
	struct rchunk *ch = p->head;
	p->head = ch->next;
	p->bytes -= ch->size;
	ch->next = g->chunks;
	g->chunks = ch;
	g->bytes += ch->size;
	p->charged -= ch->size;
}

int rchunk_take(struct rchunk_pool *p, size_t maplen, struct rchunk **chunk, struct rchunk_grave *g)
{
	*chunk = NULL;
	if (p->head && maplen > p->part_bytes / 2) {
		*chunk = p->head;
		p->head = p->head->next;
		p->bytes -= (*chunk)->size;
		(*chunk)->next = NULL;
		return 0;
	}
	if (budget_try_acquire(p->budget, maplen) == 0) {
		p->charged += maplen;
		return 0;
	}
	if (!p->head)
		return -ENOMEM;
	pool_bury_one(p, g);
	return -EAGAIN;
}

void rchunk_untake(struct rchunk_pool *p, size_t maplen, struct rchunk *chunk,
		   struct rchunk_grave *g)
{
	if (chunk) {
		chunk->live = 0;
		rchunk_put(p, chunk, g);
	} else {
		g->bytes += maplen;
		p->charged -= maplen;
	}
}

void rchunk_put(struct rchunk_pool *p, struct rchunk *ch, struct rchunk_grave *g)
{
	if (ch->live > 0 && --ch->live > 0)
		return;
	if (p->pooling && ch->size == p->part_bytes && p->bytes + ch->size <= p->max) {
		ch->next = p->head;
		p->head = ch;
		p->bytes += ch->size;
		return;
	}
	ch->next = g->chunks;
	g->chunks = ch;
	g->bytes += ch->size;
	p->charged -= ch->size;
}

void rchunk_pool_drain(struct rchunk_pool *p, struct rchunk_grave *g)
{
	while (p->head)
		pool_bury_one(p, g);
}

int rchunk_map(size_t len, struct rchunk **out)
{
	/* MAP_POPULATE faults the pages in with one call instead of one trap
	 * per page in curl's copy. */
	*out = NULL;
	struct rchunk *ch = calloc(1, sizeof(*ch));
	void *map = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (!ch || map == MAP_FAILED) {
		if (map != MAP_FAILED)
			munmap(map, len);
		free(ch);
		return -ENOMEM;
	}
	ch->base = map;
	ch->size = len;
	*out = ch;
	return 0;
}

size_t rchunk_grave_free(struct budget *b, struct rchunk_grave *g)
{
	size_t bytes = g->bytes;
	while (g->chunks) {
		struct rchunk *ch = g->chunks;
		g->chunks = ch->next;
		if (ch->base)
			munmap(ch->base, ch->size);
		free(ch);
	}
	if (bytes)
		budget_release(b, bytes);
	g->bytes = 0;
	return bytes;
}
