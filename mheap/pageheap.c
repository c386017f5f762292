// SPDX-License-Identifier: GPL-2.0
/*
 * The page heap: hands out runs of heap pages as spans and takes them back,
 * coalescing free neighbours, and keeps the page-to-span map.
 *
 * Free spans sit on exact-size lists below MHEAP_FREE_LISTS pages (found
 * through a bitmap of non-empty lists) and on one best-fit list above, the
 * layout the Go runtime's page heap had before its radix-tree allocator.
 * The heap grows into its arena in steps of at least MHEAP_GROW_PAGES; growth
 * only adds span-map chunks, since backing pages arrive on first touch.
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/bitmap.h>
#include <linux/lockdep.h>
#include <linux/errno.h>
#include <trace/gcheap_events.h>
#include "mheap.h"
#include "../mgc/mgc.h"

/* ================ Span map ================ */

static struct mspan **spanmap_entry(struct mheap *h, u64 page)
{
	struct mspan **chunk = h->spanmap[page / MHEAP_CHUNK_PAGES];

	return chunk ? &chunk[page % MHEAP_CHUNK_PAGES] : NULL;
}

static void spanmap_set(struct mheap *h, u64 page, struct mspan *s)
{
	struct mspan **e = spanmap_entry(h, page);

	/* Chunks exist for every page below h->grown (mheap_grow). */
	/* A concurrent mark's worker reads the map without mheap.lock. */
	if (!WARN_ON_ONCE(!e))
		WRITE_ONCE(*e, s);
}

static void spanmap_set_range(struct mheap *h, u64 start, u64 npages,
			      struct mspan *s)
{
	u64 p;

	for (p = start; p < start + npages; p++)
		spanmap_set(h, p, s);
}

static int spanmap_populate(struct mheap *h, u64 start, u64 npages)
{
	unsigned long c;

	for (c = start / MHEAP_CHUNK_PAGES;
	     c <= (start + npages - 1) / MHEAP_CHUNK_PAGES; c++) {
		if (mheap_released_chunk(h, c))
			return -ENOMEM;
		if (h->spanmap[c])
			continue;
		h->spanmap[c] = kvcalloc(MHEAP_CHUNK_PAGES, sizeof(struct mspan *),
					 MHEAP_GFP);
		if (!h->spanmap[c])
			return -ENOMEM;
	}
	return 0;
}

/**
 * mheap_span_of_page() - the span holding a heap page
 * @h: the heap, mheap.lock held
 * @page: heap page, counted from the arena base
 *
 * Return: the in-use span holding @page, or a free span if @page is the
 * first or last page of one; NULL for the interior of free spans and for
 * pages the heap has not grown into.
 */
struct mspan *mheap_span_of_page(struct mheap *h, u64 page)
{
	struct mspan **e;

	lockdep_assert_held(&h->lock);
	if (page >= h->grown)
		return NULL;
	e = spanmap_entry(h, page);
	return e ? *e : NULL;
}

/**
 * mheap_span_of_addr() - the span holding an arena address
 * @h: the heap, mheap.lock held
 * @addr: any user address
 *
 * Return: as mheap_span_of_page(); NULL outside the arena.
 */
struct mspan *mheap_span_of_addr(struct mheap *h, u64 addr)
{
	lockdep_assert_held(&h->lock);
	if (!h->arena_base || addr < h->arena_base ||
	    addr - h->arena_base >= (h->arena_pages << MHEAP_PAGE_SHIFT))
		return NULL;
	return mheap_span_of_page(h, (addr - h->arena_base) >> MHEAP_PAGE_SHIFT);
}

/**
 * mheap_page_inuse() - whether a heap page belongs to an allocated span
 * @h: the heap, mheap.lock held
 * @page: heap page
 *
 * Return: true if user space may touch @page.
 */
bool mheap_page_inuse(struct mheap *h, u64 page)
{
	struct mspan *s = mheap_span_of_page(h, page);

	return s && s->state == MSPAN_INUSE;
}

/* ================ Free lists ================ */

static void freelist_insert(struct mheap *h, struct mspan *s)
{
	s->state = MSPAN_FREE;
	if (s->npages < MHEAP_FREE_LISTS) {
		list_add(&s->list, &h->free[s->npages]);
		__set_bit(s->npages, h->freemask);
	} else {
		list_add(&s->list, &h->free_large);
	}
}

static void freelist_remove(struct mheap *h, struct mspan *s)
{
	list_del_init(&s->list);
	if (s->npages < MHEAP_FREE_LISTS && list_empty(&h->free[s->npages]))
		__clear_bit(s->npages, h->freemask);
}

static struct mspan *freelist_find(struct mheap *h, u64 npages)
{
	struct mspan *s, *best = NULL;

	if (npages < MHEAP_FREE_LISTS) {
		unsigned long i = find_next_bit(h->freemask, MHEAP_FREE_LISTS,
						npages);

		if (i < MHEAP_FREE_LISTS)
			return list_first_entry(&h->free[i], struct mspan, list);
	}
	/* Best fit, lowest address on ties, to keep the arena compact. */
	list_for_each_entry(s, &h->free_large, list) {
		if (s->npages < npages)
			continue;
		if (!best || s->npages < best->npages ||
		    (s->npages == best->npages && s->start < best->start))
			best = s;
	}
	return best;
}

/*
 * Put a free span on the lists, merged with free neighbours. The span map
 * keeps only the first and last page of a free span, so merging clears the
 * two entries that become interior.
 */
/*
 * Free a span descriptor no list holds, or while a mark runs, keep it until
 * the mark's end: the worker may still be reading it (see mgc/mark.c).
 */
static void mheap_retire(struct mheap *h, struct mspan *s)
{
	if (h->gc.mark)
		list_add(&s->list, &h->retired);
	else
		mspan_destroy(s);
}

static struct mspan *mheap_coalesce(struct mheap *h, struct mspan *s)
{
	struct mspan *n;

	if (s->start > 0) {
		n = mheap_span_of_page(h, s->start - 1);
		if (n && n->state == MSPAN_FREE) {
			freelist_remove(h, n);
			spanmap_set(h, n->start + n->npages - 1, NULL);
			spanmap_set(h, s->start, NULL);
			s->start = n->start;
			s->npages += n->npages;
			s->needzero |= n->needzero;
			s->free_since = max(s->free_since, n->free_since);
			mheap_retire(h, n);
		}
	}
	n = mheap_span_of_page(h, s->start + s->npages);
	if (n && n->state == MSPAN_FREE) {
		freelist_remove(h, n);
		spanmap_set(h, n->start, NULL);
		spanmap_set(h, s->start + s->npages - 1, NULL);
		s->npages += n->npages;
		s->needzero |= n->needzero;
		s->free_since = max(s->free_since, n->free_since);
		mheap_retire(h, n);
	}
	spanmap_set(h, s->start, s);
	spanmap_set(h, s->start + s->npages - 1, s);
	freelist_insert(h, s);
	return s;
}

static int mheap_grow(struct mheap *h, u64 npages)
{
	u64 room = h->arena_pages - h->grown;
	struct mspan *s;
	int ret;

	/* A free span at the top merges with the growth: count it in. */
	if (h->grown) {
		s = mheap_span_of_page(h, h->grown - 1);
		if (s && s->state == MSPAN_FREE && s->npages < npages)
			npages -= s->npages;
	}
	if (npages > room)
		return -ENOMEM;
	npages = min(room, max_t(u64, npages, MHEAP_GROW_PAGES));
	ret = spanmap_populate(h, h->grown, npages);
	if (ret)
		return ret;
	s = mspan_new(h->grown, npages);
	if (!s)
		return -ENOMEM;
	mheap_released_grow(h, h->grown, npages);
	h->grown += npages;
	h->pages_free += npages;
	mheap_coalesce(h, s);
	return 0;
}

/* ================ Allocation ================ */

/**
 * mheap_alloc_span() - take a run of pages from the page heap
 * @h: the heap, mheap.lock held
 * @npages: pages wanted, at least 1
 *
 * The span comes back in state MSPAN_DEAD with the span map pointing every
 * page at it; the caller makes it a small or large span (mspan_init_*()) or
 * gives it back with mheap_free_span().
 *
 * Its pages are backed by memory (mheap_back_span()).
 *
 * Return: the span, or NULL if the arena is full, a limit is reached or
 * memory ran out.
 */
struct mspan *mheap_alloc_span(struct mheap *h, u64 npages)
{
	struct mspan *s, *rest;

	lockdep_assert_held(&h->lock);
	if (!npages || npages > h->arena_pages)
		return NULL;
	s = freelist_find(h, npages);
	/*
	 * Before the heap grows: sweep what the last mark left (its dead
	 * objects may free whole spans) and return the empty spans.
	 */
	if (!s) {
		u64 unswept = h->gc.unswept;

		/* A fatal signal cuts the sweep short: take what it freed. */
		mgc_sweep_all(h);
		if ((h->gc.unswept != unswept) | mcentral_release_empty(h))
			s = freelist_find(h, npages);
	}
	if (!s) {
		if (mheap_grow(h, npages))
			return NULL;
		s = freelist_find(h, npages);
		if (WARN_ON_ONCE(!s))
			return NULL;
	}
	if (s->npages > npages) {
		rest = mspan_new(s->start + npages, s->npages - npages);
		if (!rest)
			return NULL;
		freelist_remove(h, s);
		rest->needzero = s->needzero;
		rest->free_since = s->free_since;
		spanmap_set(h, rest->start, rest);
		spanmap_set(h, rest->start + rest->npages - 1, rest);
		freelist_insert(h, rest);
		s->npages = npages;
	} else {
		freelist_remove(h, s);
	}
	WRITE_ONCE(s->state, MSPAN_DEAD);
	if (mheap_back_span(h, s)) {
		/* Over a limit, or no memory: back on the lists as it was. */
		mheap_coalesce(h, s);
		return NULL;
	}
	spanmap_set_range(h, s->start, s->npages, s);
	h->pages_free -= npages;
	h->pages_inuse += npages;
	trace_gcheap_span_alloc(h->id, s->start, npages);
	return s;
}

static void mheap_free_span_now(struct mheap *h, struct mspan *s, bool touched)
{
	trace_gcheap_span_free(h->id, s->start, s->npages);
	mgc_special_free_span(h, s);
	mspan_release_bits(s);
	s->cached = false;
	s->spanclass = 0;
	s->elemsize = 0;
	s->divmul = 0;
	s->nelems = 0;
	s->nalloc = 0;
	/* Whatever the span held is still in its pages. */
	if (touched)
		s->needzero = true;
	s->free_since = mgc_now_ns();
	spanmap_set_range(h, s->start, s->npages, NULL);
	/*
	 * Free pages are out of bounds for the program: next touch is SIGBUS.
	 * In a batch (mheap_unmap_batch_end()) the zap waits for its end.
	 */
	if (touched && h->unmap_batch) {
		h->unmap_lo = min(h->unmap_lo, s->start);
		h->unmap_hi = max(h->unmap_hi, s->start + s->npages);
	} else if (touched) {
		mheap_arena_unmap(h, s->start, s->npages);
	}
	h->pages_inuse -= s->npages;
	h->pages_free += s->npages;
	mheap_coalesce(h, s);
}

/**
 * mheap_unmap_batch_begin() - many spans are about to be freed: zap their
 *	user mappings once, at mheap_unmap_batch_end(), not one by one
 * @h: the heap, mheap.lock held until the batch ends
 */
void mheap_unmap_batch_begin(struct mheap *h)
{
	lockdep_assert_held(&h->lock);
	h->unmap_batch = true;
	h->unmap_lo = U64_MAX;
	h->unmap_hi = 0;
}

static void unmap_free_list(struct mheap *h, struct list_head *head)
{
	struct mspan *s;

	list_for_each_entry(s, head, list)
		if (s->start < h->unmap_hi && s->start + s->npages > h->unmap_lo)
			mheap_arena_unmap(h, s->start, s->npages);
}

/**
 * mheap_unmap_batch_end() - zap the free spans the batch touched, each
 *	once: the freed spans have merged into them, and spans in use in
 *	between keep their mappings
 * @h: the heap, mheap.lock held since mheap_unmap_batch_begin()
 */
void mheap_unmap_batch_end(struct mheap *h)
{
	unsigned int i;

	lockdep_assert_held(&h->lock);
	h->unmap_batch = false;
	if (h->unmap_lo >= h->unmap_hi)
		return;
	for (i = 1; i < MHEAP_FREE_LISTS; i++)
		unmap_free_list(h, &h->free[i]);
	unmap_free_list(h, &h->free_large);
}

/**
 * mheap_free_span() - give a span's pages back to the page heap
 * @h: the heap, mheap.lock held
 * @s: a span from mheap_alloc_span(), off every list
 *
 * While a mark runs, a span in use only stops being in use (MSPAN_DEAD, so
 * no lookup finds an object in it): its descriptor, bitmaps and pages stay
 * until the mark's end (mheap_free_deferred()), as the mark's worker may be
 * reading them without mheap.lock.
 *
 * @s may be merged into a neighbour and freed: the caller must not use it.
 */
void mheap_free_span(struct mheap *h, struct mspan *s)
{
	lockdep_assert_held(&h->lock);
	if (h->gc.mark && s->state == MSPAN_INUSE) {
		WRITE_ONCE(s->state, MSPAN_DEAD);
		list_add(&s->list, &h->deferred);
		return;
	}
	/* A span that never reached user space has nothing to clear. */
	mheap_free_span_now(h, s, s->state == MSPAN_INUSE);
}

/**
 * mheap_free_deferred() - free what mheap_free_span() and the page heap
 *	kept for a mark that has ended
 * @h: the heap, mheap.lock held, no mark running (mgc.mark NULL)
 */
void mheap_free_deferred(struct mheap *h)
{
	struct mspan *s, *tmp;

	lockdep_assert_held(&h->lock);
	list_for_each_entry_safe(s, tmp, &h->deferred, list) {
		list_del(&s->list);
		/* Only spans in use were deferred: they reached user space. */
		mheap_free_span_now(h, s, true);
	}
	list_for_each_entry_safe(s, tmp, &h->retired, list) {
		list_del(&s->list);
		mspan_destroy(s);
	}
}

/* ================ Life cycle ================ */

/**
 * mheap_init() - initialise a zeroed struct mheap, with no arena yet
 * @h: the heap
 */
void mheap_init(struct mheap *h)
{
	unsigned int i;

	mutex_init(&h->lock);
	atomic_set(&h->lock_wanted, 0);
	for (i = 0; i < MHEAP_FREE_LISTS; i++)
		INIT_LIST_HEAD(&h->free[i]);
	INIT_LIST_HEAD(&h->free_large);
	INIT_LIST_HEAD(&h->large);
	INIT_LIST_HEAD(&h->large_unswept);
	INIT_LIST_HEAD(&h->deferred);
	INIT_LIST_HEAD(&h->retired);
	for (i = 0; i < MHEAP_NUM_SPANCLASSES; i++) {
		INIT_LIST_HEAD(&h->central[i].partial);
		INIT_LIST_HEAD(&h->central[i].full);
		INIT_LIST_HEAD(&h->central[i].empty);
		INIT_LIST_HEAD(&h->central[i].cached);
		INIT_LIST_HEAD(&h->central[i].unswept);
	}
	mgc_init(h);
}

/**
 * mheap_set_arena() - give the heap its arena
 * @h: the heap
 * @base: user address of the arena, heap-page aligned relative offsets
 * @bytes: length, a non-zero multiple of MHEAP_PAGE_SIZE
 *
 * Return: 0; -EBUSY if the heap already has an arena; -EINVAL for a bad
 * length; -ENOMEM.
 */
int mheap_set_arena(struct mheap *h, u64 base, u64 bytes)
{
	unsigned long nchunks;
	int ret;

	if (!base || !bytes || bytes & (MHEAP_PAGE_SIZE - 1))
		return -EINVAL;
	nchunks = DIV_ROUND_UP(bytes >> MHEAP_PAGE_SHIFT, MHEAP_CHUNK_PAGES);

	mutex_lock(&h->lock);
	ret = -EBUSY;
	if (h->arena_base)
		goto out;
	ret = -ENOMEM;
	h->spanmap = kvcalloc(nchunks, sizeof(*h->spanmap), MHEAP_GFP);
	h->released = kvcalloc(nchunks, sizeof(*h->released),
			       MHEAP_GFP);
	if (!h->spanmap || !h->released) {
		kvfree(h->spanmap);
		kvfree(h->released);
		h->spanmap = NULL;
		h->released = NULL;
		goto out;
	}
	h->nchunks = nchunks;
	h->arena_pages = bytes >> MHEAP_PAGE_SHIFT;
	ret = mheap_arena_init(h);
	/* The collector's lists now, not in the first collection's pause. */
	if (!ret) {
		ret = mgc_mark_reserve(h);
		if (ret)
			mheap_arena_destroy(h);
	}
	if (ret) {
		kvfree(h->spanmap);
		kvfree(h->released);
		h->spanmap = NULL;
		h->released = NULL;
		h->nchunks = 0;
		h->arena_pages = 0;
		goto out;
	}
	h->arena_base = base;
out:
	mutex_unlock(&h->lock);
	return ret;
}

/* Free the spans of @head, or only their specials if !@spans. */
static void mheap_destroy_list(struct mheap *h, struct list_head *head,
			       bool spans)
{
	struct mspan *s, *tmp;

	list_for_each_entry_safe(s, tmp, head, list) {
		mgc_special_free_span(h, s);
		if (!spans)
			continue;
		list_del(&s->list);
		mspan_destroy(s);
	}
}

/* Every span that may carry specials: those in use, and those retired. */
static void mheap_destroy_used(struct mheap *h, bool spans)
{
	unsigned int i;

	for (i = 0; i < MHEAP_NUM_SPANCLASSES; i++) {
		mheap_destroy_list(h, &h->central[i].partial, spans);
		mheap_destroy_list(h, &h->central[i].full, spans);
		mheap_destroy_list(h, &h->central[i].empty, spans);
		mheap_destroy_list(h, &h->central[i].cached, spans);
		mheap_destroy_list(h, &h->central[i].unswept, spans);
	}
	mheap_destroy_list(h, &h->large, spans);
	mheap_destroy_list(h, &h->large_unswept, spans);
	mheap_destroy_list(h, &h->deferred, spans);
	mheap_destroy_list(h, &h->retired, spans);
}

/**
 * mheap_destroy() - free every span, the span map and the arena's pages
 * @h: the heap, no longer reachable by anyone else
 *
 * All specials go before any span: a link names the span of the object
 * holding it (mgc_special.holder), which may be on another list.
 */
void mheap_destroy(struct mheap *h)
{
	unsigned long c;
	unsigned int i;

	mheap_destroy_used(h, false);
	mheap_destroy_used(h, true);
	mgc_destroy(h);
	for (i = 0; i < MHEAP_FREE_LISTS; i++)
		mheap_destroy_list(h, &h->free[i], true);
	mheap_destroy_list(h, &h->free_large, true);
	mheap_released_destroy(h);
	if (h->spanmap) {
		for (c = 0; c < h->nchunks; c++)
			kvfree(h->spanmap[c]);
		kvfree(h->spanmap);
		h->spanmap = NULL;
		mheap_arena_destroy(h);
	}
	mutex_destroy(&h->lock);
}
