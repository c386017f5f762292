// SPDX-License-Identifier: GPL-2.0
/*
 * The heap operations behind the ioctls. They work on kernel copies of the
 * uapi structs (main.c copies them in and out), so the same code runs in the
 * module, under KUnit, and in the hosted build. Every field is validated
 * here: a value from user space can at worst fail the call.
 */
#include <linux/kernel.h>
#include <linux/bitmap.h>
#include <linux/overflow.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <trace/gcheap_events.h>
#include "mheap.h"
#include "../mgc/mgc.h"

/* The uapi bitmaps are arrays of u64; the kernel's are unsigned long. */
static_assert(BITS_PER_LONG == 64, "gcheap needs a 64-bit kernel");
static_assert(MHEAP_NUM_CLASSES <= 256 / 2, "span class must fit a u8");

/**
 * mheap_op_api() - fill the geometry part of a GCHEAP_IOC_API reply
 * @h: the heap
 * @a: the reply; the caller fills @a->arena_max
 */
void mheap_op_api(struct mheap *h, struct gcheap_api *a)
{
	a->api_version = GCHEAP_API_VERSION;
	a->features = GCHEAP_FEATURE_CACHED_SPANS | GCHEAP_FEATURE_FREE_LOOKUP |
		      GCHEAP_FEATURE_FINALIZERS | GCHEAP_FEATURE_LINKS |
		      GCHEAP_FEATURE_PROFILE | GCHEAP_FEATURE_DUMP;
	mheap_lock(h);
	a->arena_base = h->arena_base;
	a->arena_size = h->arena_pages << MHEAP_PAGE_SHIFT;
	mutex_unlock(&h->lock);
	a->page_size = MHEAP_PAGE_SIZE;
	a->max_small_size = MHEAP_MAX_SMALL;
	a->num_size_classes = MHEAP_NUM_CLASSES;
	a->span_max_elems = MHEAP_MAX_ELEMS;
}

static void refill_fill(struct mheap *h, struct gcheap_refill *r,
			struct mspan *s)
{
	memset(r->free, 0, sizeof(r->free));
	if (!s) {
		r->base = 0;
		r->elemsize = 0;
		r->nelems = 0;
		r->nfree = 0;
		r->out_flags = 0;
		return;
	}
	r->base = mheap_span_base(h, s);
	r->elemsize = s->elemsize;
	r->nelems = s->nelems;
	r->nfree = bitmap_weight(s->cachefree, s->nelems);
	trace_gcheap_refill(h->id, s->spanclass, r->base, r->nfree);
	r->out_flags = s->needzero ? GCHEAP_SPAN_NEEDZERO : 0;
	mgc_assist(h);
	if (mgc_due(h))
		r->out_flags |= GCHEAP_GC_DUE;
	memcpy(r->free, s->cachefree,
	       BITS_TO_LONGS(s->nelems) * sizeof(unsigned long));
}

/**
 * mheap_op_refill() - GCHEAP_IOC_REFILL
 * @h: the heap
 * @r: the request and the reply
 *
 * The new span is taken before the old one is given back, so a failure
 * leaves everything as it was.
 *
 * Return: 0; -EINVAL, -ENXIO, -ENOMEM as the uapi header documents.
 */
int mheap_op_refill(struct mheap *h, struct gcheap_refill *r)
{
	bool release_only = r->flags & GCHEAP_REFILL_RELEASE_ONLY;
	unsigned int sizeclass = r->spanclass >> 1;
	struct mspan *old = NULL, *s = NULL;
	int ret = 0;

	if (r->flags & ~GCHEAP_REFILL_RELEASE_ONLY || r->__reserved)
		return -EINVAL;
	if (r->spanclass >= MHEAP_NUM_SPANCLASSES || !sizeclass)
		return -EINVAL;
	if (release_only && !r->old_base)
		return -EINVAL;

	mheap_lock(h);
	if (!h->arena_base) {
		ret = -ENXIO;
		goto out;
	}
	if (r->old_base) {
		old = mheap_span_of_addr(h, r->old_base);
		if (!old || old->state != MSPAN_INUSE || !old->cached ||
		    old->spanclass != r->spanclass ||
		    mheap_span_base(h, old) != r->old_base) {
			ret = -EINVAL;
			goto out;
		}
	}
	if (!release_only) {
		s = mcentral_cache_span(h, r->spanclass);
		if (!s) {
			ret = -ENOMEM;
			goto out;
		}
	}
	if (old)
		mcentral_uncache_span(h, old, (const unsigned long *)r->free);
	refill_fill(h, r, s);
out:
	mutex_unlock(&h->lock);
	return ret;
}

/**
 * mheap_op_alloc() - GCHEAP_IOC_ALLOC: an object on a span of its own
 * @h: the heap
 * @a: the request and the reply
 *
 * Return: 0; -EINVAL, -EOVERFLOW, -ENXIO, -ENOMEM; -EINTR if a fatal signal
 * arrived while old contents were being cleared (the object then stays
 * allocated until the heap is closed, which the dying process is about to do).
 */
int mheap_op_alloc(struct mheap *h, struct gcheap_alloc *a)
{
	u64 rounded, npages, start = 0;
	bool needzero = false;
	struct mspan *s;
	int ret = 0;

	if (a->flags & ~GCHEAP_ALLOC_NOSCAN || !a->bytes || a->__reserved)
		return -EINVAL;
	if (check_add_overflow(a->bytes, MHEAP_PAGE_SIZE - 1, &rounded))
		return -EOVERFLOW;
	npages = rounded >> MHEAP_PAGE_SHIFT;

	mheap_lock(h);
	if (!h->arena_base) {
		ret = -ENXIO;
		goto unlock;
	}
	/* Dead large objects' pages come first. */
	mgc_sweep_large(h);
	s = mheap_alloc_span(h, npages);
	if (!s) {
		ret = -ENOMEM;
		goto unlock;
	}
	if (mspan_init_large(s, a->flags & GCHEAP_ALLOC_NOSCAN)) {
		mheap_free_span(h, s);
		ret = -ENOMEM;
		goto unlock;
	}
	s->sweepgen = h->gc.sweepgen;
	list_add(&s->list, &h->large);
	h->large_mallocs++;
	h->large_bytes += mspan_bytes(s);
	h->total_alloc += mspan_bytes(s);
	h->gc.alloc_since += mspan_bytes(s);
	if (h->gc.phase == MGC_PHASE_MARK)
		mgc_mark_black(h, s, 0);
	mgc_assist(h);
	a->out_flags = mgc_due(h) ? GCHEAP_GC_DUE : 0;
	needzero = s->needzero;
	s->needzero = false;
	start = s->start;
	a->addr = mheap_span_base(h, s);
	a->usable = mspan_bytes(s);
	trace_gcheap_large_alloc(h->id, a->addr, a->usable);
unlock:
	mutex_unlock(&h->lock);
	/*
	 * Clearing can take long for a big object, so it runs unlocked; the
	 * span is allocated and its address not yet returned, so no one else
	 * has a claim on its pages but a program guessing addresses.
	 */
	if (!ret && needzero)
		ret = mheap_arena_zero(h, start, npages);
	return ret;
}

/*
 * What a free takes with the object at @off of @s (@addr, @size bytes):
 * what was set on it, and the links it holds.
 */
static void mheap_free_attached(struct mheap *h, struct mspan *s, u64 off,
				u64 addr, u64 size)
{
	mgc_special_free_object(h, s, off);
	mgc_links_free_holder(h, s, addr, size);
}

/**
 * mheap_op_free() - GCHEAP_IOC_FREE
 * @h: the heap
 * @f: the request
 *
 * Return: 0; -EINVAL, -ENXIO, -ENOENT, -EALREADY as documented.
 */
int mheap_op_free(struct mheap *h, const struct gcheap_free *f)
{
	struct mcentral *c;
	struct mspan *s;
	u64 off, idx;
	int ret = 0;

	if (f->flags & ~GCHEAP_FREE_CACHED)
		return -EINVAL;

	mheap_lock(h);
	if (!h->arena_base) {
		ret = -ENXIO;
		goto out;
	}
	s = mheap_span_of_addr(h, f->addr);
	if (s) {
		/* Allocation bits are only exact once the span is swept. */
		mgc_ensure_swept(h, s);
		s = mheap_span_of_addr(h, f->addr);
	}
	if (!s || s->state != MSPAN_INUSE) {
		ret = -ENOENT;
		goto out;
	}
	off = f->addr - mheap_span_base(h, s);
	if (mspan_is_large(s)) {
		if (off) {
			ret = -EINVAL;
			goto out;
		}
		list_del(&s->list);
		h->large_frees++;
		h->large_bytes -= mspan_bytes(s);
		mheap_free_attached(h, s, 0, f->addr, mspan_bytes(s));
		mheap_free_span(h, s);
		goto out;
	}

	idx = off / s->elemsize;
	if (idx >= s->nelems) {
		ret = -ENOENT;	/* the tail no slot covers */
		goto out;
	}
	if (off % s->elemsize) {
		ret = -EINVAL;
		goto out;
	}
	c = &h->central[s->spanclass];
	if (test_bit(idx, s->allocbits)) {
		bool was_full = s->nalloc == s->nelems;

		mheap_arena_clear(h, f->addr - h->arena_base, s->elemsize);
		__clear_bit(idx, s->allocbits);
		mheap_free_attached(h, s, off, f->addr, s->elemsize);
		/* A concurrent mark may have marked it. */
		if (h->gc.phase == MGC_PHASE_MARK)
			mgc_mark_unmark(h, s, idx);
		s->nalloc--;
		c->nalloc--;
		c->frees++;
		if (!s->cached)
			mcentral_object_freed(h, s, was_full);
	} else if (s->cached && test_bit(idx, s->cachefree)) {
		/*
		 * Handed out to a cache; only the cache knows if it used it.
		 * From the cache, settled at uncache; from anyone else, left
		 * to the collector (see struct gcheap_free), but what was set
		 * on the object goes now, as a free's would: a finalizer set
		 * after this free, on whatever the cache puts there, stays.
		 */
		if (!(f->flags & GCHEAP_FREE_CACHED)) {
			mheap_free_attached(h, s, off, f->addr, s->elemsize);
			goto out;
		}
		if (__test_and_set_bit(idx, s->cachefreed)) {
			ret = -EALREADY;
		} else {
			mheap_free_attached(h, s, off, f->addr, s->elemsize);
			mheap_arena_clear(h, f->addr - h->arena_base,
					  s->elemsize);
		}
	} else {
		ret = -EALREADY;
	}
out:
	mutex_unlock(&h->lock);
	return ret;
}

/**
 * mheap_op_lookup() - GCHEAP_IOC_LOOKUP
 * @h: the heap
 * @l: the request and the reply
 *
 * Return: 0; -EINVAL, -ENXIO, -ENOENT as documented.
 */
int mheap_op_lookup(struct mheap *h, struct gcheap_lookup *l)
{
	struct mspan *s;
	u64 base, off, idx;
	int ret = 0;

	if (l->flags || l->__reserved)
		return -EINVAL;

	mheap_lock(h);
	if (!h->arena_base) {
		ret = -ENXIO;
		goto out;
	}
	s = mheap_span_of_addr(h, l->addr);
	if (s) {
		mgc_ensure_swept(h, s);
		s = mheap_span_of_addr(h, l->addr);
	}
	if (!s || s->state != MSPAN_INUSE) {
		ret = -ENOENT;
		goto out;
	}
	base = mheap_span_base(h, s);
	if (mspan_is_large(s)) {
		l->base = base;
		l->objsize = mspan_bytes(s);
		l->spanclass = s->spanclass;
		goto out;
	}
	off = l->addr - base;
	idx = off / s->elemsize;
	if (idx >= s->nelems ||
	    !(test_bit(idx, s->allocbits) ||
	      (s->cached && test_bit(idx, s->cachefree) &&
	       !test_bit(idx, s->cachefreed)))) {
		ret = -ENOENT;
		goto out;
	}
	l->base = base + idx * s->elemsize;
	l->objsize = s->elemsize;
	l->spanclass = s->spanclass;
out:
	mutex_unlock(&h->lock);
	return ret;
}

/**
 * mheap_op_stats() - GCHEAP_IOC_STATS
 * @h: the heap
 * @st: the reply (flags and reserved fields checked by the caller)
 * @by_class: MHEAP_NUM_CLASSES rows to fill, or NULL
 * @nclasses: rows in @by_class (0 if NULL)
 * @pauses: GCHEAP_NUM_PAUSES entries for the pause ring, or NULL
 *
 * Return: 0, or -ENOSPC if @by_class has fewer than MHEAP_NUM_CLASSES rows.
 */
int mheap_op_stats(struct mheap *h, struct gcheap_stats *st,
		   struct gcheap_class_stats *by_class, u32 nclasses,
		   struct gcheap_pause *pauses)
{
	u64 alloc = 0, objects = 0, mallocs = 0, frees = 0;
	unsigned int i;

	if (by_class && nclasses < MHEAP_NUM_CLASSES)
		return -ENOSPC;

	mheap_lock(h);
	for (i = 1; i < MHEAP_NUM_CLASSES; i++) {
		const struct mcentral *scan = &h->central[GCHEAP_SPANCLASS(i, 0)];
		const struct mcentral *noscan = &h->central[GCHEAP_SPANCLASS(i, 1)];
		u64 live = scan->nalloc + noscan->nalloc;

		alloc += live * mheap_classes[i].size;
		objects += live;
		mallocs += scan->mallocs + noscan->mallocs;
		frees += scan->frees + noscan->frees;
		if (!by_class)
			continue;
		by_class[i].elemsize = mheap_classes[i].size;
		by_class[i].mallocs = scan->mallocs + noscan->mallocs;
		by_class[i].frees = scan->frees + noscan->frees;
		by_class[i].spans = scan->nspans + noscan->nspans;
		by_class[i].bytes_inuse = live * mheap_classes[i].size;
	}
	if (by_class) {
		by_class[0].elemsize = 0;
		by_class[0].mallocs = h->large_mallocs;
		by_class[0].frees = h->large_frees;
		by_class[0].spans = h->large_mallocs - h->large_frees;
		by_class[0].bytes_inuse = h->large_bytes;
	}
	st->heap_sys = h->grown << MHEAP_PAGE_SHIFT;
	st->heap_inuse = h->pages_inuse << MHEAP_PAGE_SHIFT;
	st->heap_idle = h->pages_free << MHEAP_PAGE_SHIFT;
	st->heap_released = h->pages_released << MHEAP_PAGE_SHIFT;
	st->soft_limit = h->soft_limit;
	st->hard_limit = h->hard_limit;
	st->heap_alloc = alloc + h->large_bytes;
	st->heap_objects = objects + h->large_mallocs - h->large_frees;
	st->mallocs = mallocs + h->large_mallocs;
	st->frees = frees + h->large_frees;
	st->cached_spans = h->cached_spans;
	st->refills = h->refills;
	st->bad_frees = h->bad_frees;
	st->nclasses = MHEAP_NUM_CLASSES;
	mgc_stats(h, st, pauses);
	mutex_unlock(&h->lock);
	st->resident = mheap_arena_resident(h);
	return 0;
}
