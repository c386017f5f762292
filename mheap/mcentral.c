// SPDX-License-Identifier: GPL-2.0
/*
 * mcentral: per span class, the spans not held by a thread cache.
 *
 * A span is on exactly one list of its class: partial (free slots and live
 * objects), full, empty (no live object), or cached (handed to a library
 * thread cache by a refill). Empty spans stay with their class, mapped, so
 * that freeing and allocating again costs no page faults; they return to the
 * page heap only when it would otherwise have to grow. While a
 * span is cached, its free slots belong to the cache: the kernel records
 * which slots it handed out (cachefree), and learns which of them were used
 * only when the span comes back. Frees of handed-out slots that arrive
 * through the fd meanwhile are parked in cachefreed and settled then.
 */
#include <linux/kernel.h>
#include <linux/bitmap.h>
#include <linux/lockdep.h>
#include "mheap.h"
#include "../mgc/mgc.h"

/* Unswept spans a refill sweeps at most, looking for free slots. */
#define MCENTRAL_SWEEP_BUDGET	100

/**
 * mcentral_cache_span() - hand out a span of a class to a thread cache
 * @h: the heap, mheap.lock held
 * @spanclass: span class, size class 1 .. MHEAP_NUM_CLASSES - 1
 *
 * Prefers a partial span of the class (filling spans that hold objects
 * keeps the others free to be returned), then an empty one; else cuts a new
 * span from the page heap. On return the span is on the class's cached list and its free slots
 * are recorded in cachefree.
 *
 * Return: the span, or NULL if no memory is left.
 */
struct mspan *mcentral_cache_span(struct mheap *h, unsigned int spanclass)
{
	struct mcentral *c = &h->central[spanclass];
	struct mspan *s;
	u32 tail;

	lockdep_assert_held(&h->lock);
	/* Spans the last mark left unswept are swept before new memory. */
	if (list_empty(&c->partial) && !list_empty(&c->unswept))
		mgc_sweep_class(h, spanclass, MCENTRAL_SWEEP_BUDGET);
	s = list_first_entry_or_null(&c->partial, struct mspan, list);
	if (!s) {
		s = list_first_entry_or_null(&c->empty, struct mspan, list);
		if (s)
			h->empty_spans--;
	}
	if (s) {
		list_del(&s->list);
	} else {
		s = mheap_alloc_span(h, mheap_classes[spanclass >> 1].npages);
		if (!s)
			return NULL;
		if (mspan_init_small(s, spanclass)) {
			mheap_free_span(h, s);
			return NULL;
		}
		s->sweepgen = h->gc.sweepgen;
		c->nspans++;
	}

	bitmap_complement(s->cachefree, s->allocbits, s->nelems);
	/* bitmap_complement() leaves the tail of the last word set. */
	tail = BITS_TO_LONGS(s->nelems) * BITS_PER_LONG - s->nelems;
	if (tail)
		bitmap_clear(s->cachefree, s->nelems, tail);
	bitmap_zero(s->cachefreed, s->nelems);
	s->cached = true;
	s->cached_precleans = h->gc.precleans;
	list_add(&s->list, &c->cached);
	h->cached_spans++;
	h->cached_bytes += (u64)bitmap_weight(s->cachefree, s->nelems) * s->elemsize;
	h->gc.cache_peak = max(h->gc.cache_peak, h->cached_bytes);
	h->refills++;
	return s;
}

/**
 * mcentral_place() - file a span no cache holds by its fill level
 * @h: the heap, mheap.lock held
 * @s: a small span, off every list
 */
void mcentral_place(struct mheap *h, struct mspan *s)
{
	struct mcentral *c = &h->central[s->spanclass];

	if (!s->nalloc) {
		list_add(&s->list, &c->empty);
		h->empty_spans++;
	} else if (s->nalloc == s->nelems) {
		list_add(&s->list, &c->full);
	} else {
		list_add(&s->list, &c->partial);
	}
}

/**
 * mcentral_uncache_span() - take a span back from a thread cache
 * @h: the heap, mheap.lock held
 * @s: a cached span of @h
 * @left_free: the cache's free-slot bitmap as it left it (untrusted: only
 *	its bits for slots in cachefree count)
 *
 * Slots handed out and no longer free become allocated, except those freed
 * through the fd meanwhile. A span left empty goes to the empty list.
 */
void mcentral_uncache_span(struct mheap *h, struct mspan *s,
			   const unsigned long *left_free)
{
	struct mcentral *c = &h->central[s->spanclass];
	unsigned int w, words = BITS_TO_LONGS(s->nelems);
	u64 used = 0, freed = 0, bogus = 0, black = 0;

	lockdep_assert_held(&h->lock);
	if (s->specials || s->links_held)
		mgc_special_unused_slots(h, s, left_free);
	h->cached_bytes -= (u64)bitmap_weight(s->cachefree, s->nelems) * s->elemsize;
	for (w = 0; w < words; w++) {
		unsigned long u = s->cachefree[w] & ~left_free[w];
		unsigned long f = s->cachefreed[w] & u;

		bogus += hweight_long(s->cachefreed[w] & ~u);
		used += hweight_long(u);
		freed += hweight_long(f);
		s->allocbits[w] |= u & ~f;
		if (h->gc.phase == MGC_PHASE_MARK && (u & ~f)) {
			mgc_mark_black_word(h, s, w, u & ~f);
			black++;
		}
	}
	/*
	 * Handed out during the mark, these objects were white until now, so
	 * a preclean since the span was cached scanned past them and took
	 * what was written to them: their pages are scanned again.
	 */
	if (black && s->cached_precleans != h->gc.precleans)
		mgc_mark_rescan_span(h, s);
	s->nalloc += used - freed;
	c->nalloc += used - freed;
	c->mallocs += used;
	c->frees += freed;
	h->total_alloc += used * s->elemsize;
	h->gc.alloc_since += used * s->elemsize;
	h->bad_frees += bogus;

	s->cached = false;
	list_del(&s->list);
	h->cached_spans--;
	mcentral_place(h, s);
}

/**
 * mcentral_object_freed() - file a span after one of its objects was freed
 * @h: the heap, mheap.lock held
 * @s: a small span no cache holds, whose allocbits and counts were updated
 * @was_full: the span had no free slot before the free
 */
void mcentral_object_freed(struct mheap *h, struct mspan *s, bool was_full)
{
	lockdep_assert_held(&h->lock);
	if (!s->nalloc || was_full) {
		list_del(&s->list);
		mcentral_place(h, s);
	}
}

/**
 * mcentral_release_empty() - give every empty span back to the page heap
 * @h: the heap, mheap.lock held
 *
 * Called before the page heap grows, so memory kept for one class serves
 * another before the heap takes more of its arena. The spans' pages are
 * unmapped (mheap_free_span()).
 *
 * Return: true if any span was released.
 */
bool mcentral_release_empty(struct mheap *h)
{
	unsigned int i;
	bool any = false;

	lockdep_assert_held(&h->lock);
	/* During a mark they could only wait for its end: keep them in use. */
	if (!h->empty_spans || h->gc.mark)
		return false;
	mheap_unmap_batch_begin(h);
	for (i = 0; i < MHEAP_NUM_SPANCLASSES; i++) {
		struct mcentral *c = &h->central[i];
		struct mspan *s, *tmp;

		list_for_each_entry_safe(s, tmp, &c->empty, list) {
			list_del(&s->list);
			c->nspans--;
			h->empty_spans--;
			mheap_free_span(h, s);
			any = true;
		}
	}
	mheap_unmap_batch_end(h);
	return any;
}
