// SPDX-License-Identifier: GPL-2.0
/*
 * Spans: the span descriptor and its slot bitmaps.
 *
 * Descriptors and bitmaps are charged to the memory cgroup of the process
 * that makes the heap grow (__GFP_ACCOUNT): they are part of its heap's cost.
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/bitmap.h>
#include <linux/errno.h>
#include "mheap.h"

/**
 * mspan_new() - allocate a span descriptor for a run of pages
 * @start: first heap page
 * @npages: length in pages
 *
 * Return: the span, state MSPAN_DEAD and no bitmaps, or NULL.
 */
struct mspan *mspan_new(u64 start, u64 npages)
{
	struct mspan *s = kzalloc(sizeof(*s), MHEAP_GFP);

	if (!s)
		return NULL;
	INIT_LIST_HEAD(&s->list);
	s->start = start;
	s->npages = npages;
	return s;
}

/**
 * mspan_release_bits() - drop the slot bitmaps of a span leaving use
 * @s: the span
 */
void mspan_release_bits(struct mspan *s)
{
	/* One allocation holds the four bitmaps (sweeping swaps two). */
	kfree(s->bits);
	s->bits = NULL;
	s->allocbits = NULL;
	s->gcmarkbits = NULL;
	s->cachefree = NULL;
	s->cachefreed = NULL;
}

/**
 * mspan_destroy() - free a span descriptor and its bitmaps
 * @s: the span, off every list
 */
void mspan_destroy(struct mspan *s)
{
	mspan_release_bits(s);
	kfree(s);
}

static int mspan_alloc_bits(struct mspan *s, u32 nelems)
{
	size_t words = BITS_TO_LONGS(nelems);
	unsigned long *bits;

	bits = kcalloc(4 * words, sizeof(unsigned long), MHEAP_GFP);
	if (!bits)
		return -ENOMEM;
	s->bits = bits;
	s->allocbits = bits;
	s->gcmarkbits = bits + words;
	s->cachefree = bits + 2 * words;
	s->cachefreed = bits + 3 * words;
	s->nelems = nelems;
	s->nalloc = 0;
	return 0;
}

/**
 * mspan_init_small() - cut a span into slots of a size class
 * @s: a span of mheap_classes[sizeclass].npages pages
 * @spanclass: the span class, size class 1 .. MHEAP_NUM_CLASSES - 1
 *
 * Return: 0 or -ENOMEM; on error @s is unchanged.
 */
int mspan_init_small(struct mspan *s, unsigned int spanclass)
{
	const struct mheap_sizeclass *c = &mheap_classes[spanclass >> 1];
	int ret;

	ret = mspan_alloc_bits(s, c->nelems);
	if (ret)
		return ret;
	s->spanclass = spanclass;
	s->elemsize = c->size;
	s->divmul = c->divmul;
	s->cached = false;
	/* Last: a mark reading the span map without mheap.lock sees the rest. */
	smp_store_release(&s->state, MSPAN_INUSE);
	return 0;
}

/**
 * mspan_init_large() - make a span hold one large object, allocated
 * @s: the span
 * @noscan: the object holds no pointers
 *
 * Return: 0 or -ENOMEM; on error @s is unchanged.
 */
int mspan_init_large(struct mspan *s, bool noscan)
{
	int ret;

	ret = mspan_alloc_bits(s, 1);
	if (ret)
		return ret;
	s->spanclass = GCHEAP_SPANCLASS(0, noscan);
	s->elemsize = 0;
	s->divmul = 0;
	s->cached = false;
	__set_bit(0, s->allocbits);
	s->nalloc = 1;
	/* Last, as in mspan_init_small(). */
	smp_store_release(&s->state, MSPAN_INUSE);
	return 0;
}

/**
 * mspan_bytes() - length of a span in bytes
 * @s: the span
 *
 * Return: @s->npages heap pages, in bytes.
 */
u64 mspan_bytes(const struct mspan *s)
{
	return s->npages << MHEAP_PAGE_SHIFT;
}
