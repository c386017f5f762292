// SPDX-License-Identifier: GPL-2.0
/*
 * hosted_mheap_check(): walk a heap's metadata and check every invariant
 * the mheap code keeps, for the hosted tests (after each injected fault,
 * after the library's threads are done). The invariants:
 *
 *  - the spans, free and in use, tile the pages [0, grown) exactly, and no
 *    two free spans are neighbours (freeing coalesces);
 *  - a free span is on the free list of its length (the exact lists below
 *    MHEAP_FREE_LISTS pages, whose freemask bit is set iff the list is not
 *    empty, free_large above), and the span map holds it at its first and
 *    last page and nothing in between;
 *  - an in-use span is mapped at every page; a large one is on the large
 *    list with one object; a small one is on a list of its span class's
 *    mcentral that matches its fill (partial, full, empty) or cached state, has its
 *    class's geometry, and nalloc is the weight of its allocbits;
 *  - while cached, the slots handed out are not allocated, the slots freed
 *    meanwhile were handed out, and no bit past nelems is set;
 *  - the counters: pages in use and free, large bytes and objects, cached
 *    spans, per class spans and live objects (= mallocs - frees).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/kernel.h>
#include <linux/bitmap.h>
#include <linux/list.h>
#include "mheap.h"
#include <hosted/mheap_check.h>

struct check_ctx {
	struct mheap *h;
	char *why;
	size_t len;
	int errors;
	struct mspan **spans;
	size_t nspans, cap;
};

static void __attribute__((format(printf, 2, 3)))
check_fail(struct check_ctx *x, const char *fmt, ...)
{
	va_list ap;

	if (!x->errors++ && x->len) {
		va_start(ap, fmt);
		vsnprintf(x->why, x->len, fmt, ap);
		va_end(ap);
	}
}

static void check_collect(struct check_ctx *x, struct mspan *s)
{
	if (x->nspans == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 256;
		x->spans = realloc(x->spans, x->cap * sizeof(*x->spans));
		if (!x->spans)
			abort();
	}
	x->spans[x->nspans++] = s;
}

static struct mspan *check_map(struct mheap *h, u64 page)
{
	struct mspan **chunk = h->spanmap[page / MHEAP_CHUNK_PAGES];

	return chunk ? chunk[page % MHEAP_CHUNK_PAGES] : NULL;
}

static void check_free_span(struct check_ctx *x, struct mspan *s,
			    u64 list_pages)
{
	struct mheap *h = x->h;
	u64 p;

	if (s->state != MSPAN_FREE)
		check_fail(x, "free span %llu+%llu in state %u", s->start,
			   s->npages, s->state);
	if (list_pages ? s->npages != list_pages : s->npages < MHEAP_FREE_LISTS)
		check_fail(x, "free span %llu+%llu on the list of %llu pages",
			   s->start, s->npages, list_pages);
	if (s->start + s->npages > h->grown)
		return;
	if (check_map(h, s->start) != s ||
	    check_map(h, s->start + s->npages - 1) != s)
		check_fail(x, "free span %llu+%llu: span map misses its ends",
			   s->start, s->npages);
	for (p = s->start + 1; p + 1 < s->start + s->npages; p++) {
		if (check_map(h, p)) {
			check_fail(x, "free span %llu+%llu: page %llu is mapped",
				   s->start, s->npages, p);
			break;
		}
	}
	check_collect(x, s);
}

/* The bits at and past @nelems in the last word of a span bitmap. */
static bool check_tail_clear(const unsigned long *bits, u32 nelems)
{
	return !(nelems % BITS_PER_LONG) ||
	       !(bits[BIT_WORD(nelems)] & ~BITMAP_LAST_WORD_MASK(nelems));
}

static void check_inuse_span(struct check_ctx *x, struct mspan *s)
{
	struct mheap *h = x->h;
	u64 p;

	if (s->state != MSPAN_INUSE)
		check_fail(x, "span %llu+%llu in use in state %u", s->start,
			   s->npages, s->state);
	if (!s->allocbits) {
		check_fail(x, "span %llu+%llu in use has no bitmaps", s->start,
			   s->npages);
		return;
	}
	if (!check_tail_clear(s->allocbits, s->nelems))
		check_fail(x, "span %llu+%llu: allocbits set past nelems",
			   s->start, s->npages);
	if (s->nalloc != bitmap_weight(s->allocbits, s->nelems))
		check_fail(x, "span %llu+%llu: nalloc %u, allocbits say %u",
			   s->start, s->npages, s->nalloc,
			   bitmap_weight(s->allocbits, s->nelems));
	if (s->start + s->npages > h->grown)
		return;
	for (p = s->start; p < s->start + s->npages; p++) {
		if (check_map(h, p) != s) {
			check_fail(x, "span %llu+%llu: page %llu maps to %p",
				   s->start, s->npages, p, (void *)check_map(h, p));
			break;
		}
	}
	check_collect(x, s);
}

static void check_small_span(struct check_ctx *x, unsigned int sc,
			     struct mspan *s, int list, u64 *nalloc)
{
	const struct mheap_sizeclass *c = &mheap_classes[sc >> 1];
	unsigned int w;

	check_inuse_span(x, s);
	if (s->spanclass != sc || s->elemsize != c->size ||
	    s->nelems != c->nelems || s->npages != c->npages)
		check_fail(x, "span %llu+%llu on span class %u's lists is of span class %u, %u x %u bytes, %llu pages",
			   s->start, s->npages, sc, s->spanclass, s->nelems,
			   s->elemsize, s->npages);
	*nalloc += s->nalloc;
	if (!s->allocbits)
		return;
	switch (list) {
	case 0:	/* partial */
		if (s->cached || !s->nalloc || s->nalloc >= s->nelems)
			check_fail(x, "partial span %llu+%llu: cached %d, %u of %u",
				   s->start, s->npages, s->cached, s->nalloc,
				   s->nelems);
		break;
	case 1:	/* full */
		if (s->cached || s->nalloc != s->nelems)
			check_fail(x, "full span %llu+%llu: cached %d, %u of %u",
				   s->start, s->npages, s->cached, s->nalloc,
				   s->nelems);
		break;
	case 4: /* unswept: any fill, waiting for its sweep */
		if (s->cached || s->sweepgen != x->h->gc.sweepgen - 2)
			check_fail(x, "unswept span %llu+%llu: cached %d, sweepgen %u of %u",
				   s->start, s->npages, s->cached, s->sweepgen,
				   x->h->gc.sweepgen);
		break;
	case 2: /* empty */
		if (s->cached || s->nalloc)
			check_fail(x, "empty span %llu+%llu: cached %d, %u of %u",
				   s->start, s->npages, s->cached, s->nalloc,
				   s->nelems);
		break;
	default: /* cached */
		if (!s->cached)
			check_fail(x, "span %llu+%llu on a cached list is not cached",
				   s->start, s->npages);
		for (w = 0; w < BITS_TO_LONGS(s->nelems); w++) {
			if (s->cachefree[w] & s->allocbits[w])
				check_fail(x, "cached span %llu+%llu: slots handed out are allocated",
					   s->start, s->npages);
			if (s->cachefreed[w] & ~s->cachefree[w])
				check_fail(x, "cached span %llu+%llu: slots freed were not handed out",
					   s->start, s->npages);
		}
		if (!check_tail_clear(s->cachefree, s->nelems) ||
		    !check_tail_clear(s->cachefreed, s->nelems))
			check_fail(x, "cached span %llu+%llu: bits set past nelems",
				   s->start, s->npages);
		break;
	}
}

static int check_cmp(const void *a, const void *b)
{
	const struct mspan *s = *(struct mspan *const *)a;
	const struct mspan *t = *(struct mspan *const *)b;

	return s->start < t->start ? -1 : s->start > t->start;
}

static void check_tiling(struct check_ctx *x)
{
	struct mheap *h = x->h;
	u64 next = 0, inuse = 0, free = 0;
	size_t i;

	if (x->nspans)
		qsort(x->spans, x->nspans, sizeof(*x->spans), check_cmp);
	for (i = 0; i < x->nspans; i++) {
		struct mspan *s = x->spans[i];

		if (s->start != next) {
			check_fail(x, "span %llu+%llu: pages %llu..%llu %s",
				   s->start, s->npages, next, s->start,
				   s->start > next ? "belong to no span" :
				   "belong to two spans");
			return;
		}
		if (i && s->state == MSPAN_FREE &&
		    x->spans[i - 1]->state == MSPAN_FREE)
			check_fail(x, "free spans %llu+%llu and %llu+%llu not coalesced",
				   x->spans[i - 1]->start, x->spans[i - 1]->npages,
				   s->start, s->npages);
		if (s->state == MSPAN_FREE)
			free += s->npages;
		else
			inuse += s->npages;
		next = s->start + s->npages;
	}
	if (next != h->grown)
		check_fail(x, "spans end at page %llu, the heap has grown to %llu",
			   next, h->grown);
	if (inuse != h->pages_inuse || free != h->pages_free)
		check_fail(x, "pages in use %llu (counted %llu), free %llu (counted %llu)",
			   inuse, h->pages_inuse, free, h->pages_free);
}

static void check_locked(struct check_ctx *x)
{
	struct mheap *h = x->h;
	u64 large_bytes = 0, nlarge = 0, cached = 0, empty = 0;
	struct mspan *s;
	unsigned int i;

	if (!list_empty(&h->free[0]))
		check_fail(x, "free list 0 is not empty");
	for (i = 0; i < MHEAP_FREE_LISTS; i++) {
		if (test_bit(i, h->freemask) == list_empty(&h->free[i]))
			check_fail(x, "freemask bit %u is %d, list empty %d", i,
				   test_bit(i, h->freemask),
				   list_empty(&h->free[i]));
		list_for_each_entry(s, &h->free[i], list)
			check_free_span(x, s, i);
	}
	list_for_each_entry(s, &h->free_large, list)
		check_free_span(x, s, 0);

	for (i = 0; i < 2; i++) {
		struct list_head *head = i ? &h->large_unswept : &h->large;

		list_for_each_entry(s, head, list) {
			check_inuse_span(x, s);
			if (!mspan_is_large(s) || s->nelems != 1 || s->nalloc != 1 ||
			    s->elemsize)
				check_fail(x, "large span %llu+%llu: class %u, %u of %u",
					   s->start, s->npages, mspan_sizeclass(s),
					   s->nalloc, s->nelems);
			large_bytes += mspan_bytes(s);
			nlarge++;
		}
	}
	if (large_bytes != h->large_bytes ||
	    nlarge != h->large_mallocs - h->large_frees)
		check_fail(x, "large: %llu objects of %llu bytes, counted %llu of %llu",
			   nlarge, large_bytes, h->large_mallocs - h->large_frees,
			   h->large_bytes);

	for (i = 0; i < MHEAP_NUM_SPANCLASSES; i++) {
		struct mcentral *c = &h->central[i];
		struct list_head *lists[] = { &c->partial, &c->full, &c->empty,
					      &c->cached, &c->unswept };
		u64 nspans = 0, nalloc = 0;
		int l;

		for (l = 0; l < 5; l++) {
			list_for_each_entry(s, lists[l], list) {
				if (i < 2) {
					check_fail(x, "span on span class %u's lists", i);
					break;
				}
				check_small_span(x, i, s, l, &nalloc);
				nspans++;
				empty += l == 2;
				cached += l == 3;
			}
		}
		if (nspans != c->nspans || nalloc != c->nalloc ||
		    c->nalloc != c->mallocs - c->frees)
			check_fail(x, "span class %u: %llu spans (counted %llu), %llu live (counted %llu, mallocs - frees %llu)",
				   i, nspans, c->nspans, nalloc, c->nalloc,
				   c->mallocs - c->frees);
	}
	if (empty != h->empty_spans)
		check_fail(x, "%llu spans empty, counted %llu", empty,
			   h->empty_spans);
	if (cached != h->cached_spans)
		check_fail(x, "%llu spans cached, counted %llu", cached,
			   h->cached_spans);
	check_tiling(x);
}

int hosted_mheap_check(struct mheap *h, char *why, size_t len)
{
	struct check_ctx x = { .h = h, .why = why, .len = len };

	if (len)
		*why = '\0';
	mutex_lock(&h->lock);
	if (h->arena_base)
		check_locked(&x);
	mutex_unlock(&h->lock);
	free(x.spans);
	return x.errors;
}
