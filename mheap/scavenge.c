// SPDX-License-Identifier: GPL-2.0
/*
 * Returning memory: which heap pages are released, the scavenger that
 * releases free ones, and the limits on what a heap holds.
 *
 * A heap page is released when no memory backs it: the arena the heap has
 * grown into but never used, and free pages whose memory the scavenger gave
 * back (Go's scavenged pages). One bit per heap page says so (mheap.released,
 * an array per span-map chunk), and mheap.pages_released counts them, so
 * Go's HeapReleased is exact: the heap holds (grown - released) pages, the
 * spans in use and the idle pages not released yet.
 *
 * A span in use has no released page: taking a span from the page heap backs
 * its released pages at once (mheap_back_span()), charged to the calling
 * task's memory cgroup, without the OOM killer (__GFP_RETRY_MAYFAIL), so
 * that a cgroup at memory.max, or a heap at its hard limit, fails the
 * allocation with ENOMEM instead. The heap's idle pages are released first
 * to make room. Releasing (mheap_scavenge()) zaps any user mapping and frees
 * the pages of free spans; a later span there is backed afresh, zeroed.
 *
 * What a concurrent mark's worker reads without mheap.lock lies in spans in
 * use, which stay in use until the mark's end (mheap_free_span()); the
 * scavenger only touches free spans, so it may run during a mark.
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

/* Heap pages held by every heap, and the module-wide limit (0: none). */
atomic_long_t mheap_held_total;
unsigned long mheap_limit_total;

/**
 * mheap_released_chunk() - the released bits of a new span-map chunk
 * @h: the heap, mheap.lock held
 * @c: the chunk
 *
 * Return: 0 or -ENOMEM.
 */
int mheap_released_chunk(struct mheap *h, unsigned long c)
{
	if (h->released[c])
		return 0;
	h->released[c] = kvcalloc(BITS_TO_LONGS(MHEAP_CHUNK_PAGES),
				  sizeof(unsigned long), MHEAP_GFP);
	return h->released[c] ? 0 : -ENOMEM;
}

/*
 * Set (@set) or clear the released bits of [@start, @start + @n), or only
 * count the set ones (@count_only). Return: bits set before, in the range.
 */
static u64 released_apply(struct mheap *h, u64 start, u64 n, bool set,
			  bool count_only)
{
	u64 had = 0;

	while (n) {
		unsigned long *b = h->released[start / MHEAP_CHUNK_PAGES];
		unsigned long i = start % MHEAP_CHUNK_PAGES;
		unsigned long k = min_t(u64, n, MHEAP_CHUNK_PAGES - i);
		unsigned long j;

		for (j = i; j < i + k; j++)
			had += test_bit(j, b);
		if (!count_only) {
			if (set)
				bitmap_set(b, i, k);
			else
				bitmap_clear(b, i, k);
		}
		start += k;
		n -= k;
	}
	return had;
}

/**
 * mheap_released_grow() - the heap grew into pages it never used
 * @h: the heap, mheap.lock held
 * @start: first new page
 * @n: pages
 */
void mheap_released_grow(struct mheap *h, u64 start, u64 n)
{
	h->pages_released += n - released_apply(h, start, n, true, false);
}

/* Heap pages the heap holds: spans in use and idle pages not released. */
static u64 mheap_held(const struct mheap *h)
{
	return h->grown - h->pages_released;
}

/* Release the pages of free span @s; return heap pages newly released. */
static u64 scavenge_span(struct mheap *h, struct mspan *s)
{
	u64 had = released_apply(h, s->start, s->npages, false, true);

	if (had == s->npages)
		return 0;
	mheap_arena_release(h, s->start, s->npages);
	released_apply(h, s->start, s->npages, true, false);
	/* Nothing backs it now: it reads as zero. */
	s->needzero = false;
	h->pages_released += s->npages - had;
	atomic_long_sub(s->npages - had, &mheap_held_total);
	return s->npages - had;
}

/*
 * mheap_scavenge(), and if that is not enough, again after the mcentrals'
 * empty spans went back to the page heap (they hold memory as well).
 */
static u64 scavenge_all_kinds(struct mheap *h, u64 want)
{
	u64 done = mheap_scavenge(h, U64_MAX, want);

	if (done < want && mcentral_release_empty(h))
		done += mheap_scavenge(h, U64_MAX, want - done);
	return done;
}

/**
 * mheap_scavenge() - release the memory of free spans
 * @h: the heap, mheap.lock held
 * @idle_since: only spans free since this time (mgc_now_ns()) or before;
 *	U64_MAX for any
 * @want: stop once this many heap pages are released; U64_MAX for all
 *
 * Large free spans go first, then the lists from the longest spans down:
 * releasing few big runs keeps the work and the page-table walks short.
 *
 * Return: heap pages released.
 */
u64 mheap_scavenge(struct mheap *h, u64 idle_since, u64 want)
{
	struct mspan *s;
	u64 done = 0;
	int i;

	lockdep_assert_held(&h->lock);
	list_for_each_entry(s, &h->free_large, list) {
		if (done >= want)
			goto out;
		if (s->free_since <= idle_since)
			done += scavenge_span(h, s);
	}
	for (i = MHEAP_FREE_LISTS - 1; i > 0; i--) {
		list_for_each_entry(s, &h->free[i], list) {
			if (done >= want)
				goto out;
			if (s->free_since <= idle_since)
				done += scavenge_span(h, s);
		}
	}
out:
	if (done)
		trace_gcheap_scavenge(h->id, done, mheap_held(h));
	return done;
}

/**
 * mheap_limits_release() - over a limit, give free memory back at once
 * @h: the heap, mheap.lock held
 *
 * Down to the lower of the soft limit's 15/16 and the hard limit, as far as
 * free memory goes: free spans, and the empty ones size classes keep. For a
 * limit just set, and after a collection's sweep freed what it could.
 */
void mheap_limits_release(struct mheap *h)
{
	u64 limit = mheap_soft_limit_pages(h);

	lockdep_assert_held(&h->lock);
	if (h->hard_limit && (!limit || h->hard_limit >> MHEAP_PAGE_SHIFT < limit))
		limit = h->hard_limit >> MHEAP_PAGE_SHIFT;
	if (limit && mheap_held(h) > limit)
		scavenge_all_kinds(h, mheap_held(h) - limit);
}

/**
 * mheap_idle_held() - idle heap pages not released (what the scavenger
 *	could give back now)
 * @h: the heap, mheap.lock held
 *
 * Return: heap pages.
 */
u64 mheap_idle_held(const struct mheap *h)
{
	/* Every released page is free. */
	return h->pages_free - h->pages_released;
}

/*
 * Room for @more heap pages under the heap's hard limit and the module's:
 * idle pages are released as needed. Return: 0 or -ENOMEM.
 */
static int limit_make_room(struct mheap *h, u64 more)
{
	u64 over = 0, limit = h->hard_limit >> MHEAP_PAGE_SHIFT;
	unsigned long total = READ_ONCE(mheap_limit_total);
	u32 kind = GCHEAP_TRACE_LIMIT_HARD;

	if (limit && mheap_held(h) + more > limit)
		over = mheap_held(h) + more - limit;
	if (total) {
		long held = atomic_long_read(&mheap_held_total);

		if (held + more > total && held + more - total > over) {
			over = held + more - total;
			kind = GCHEAP_TRACE_LIMIT_MODULE;
		}
	}
	if (over && scavenge_all_kinds(h, over) < over) {
		trace_gcheap_limit(h->id, kind, mheap_held(h), more);
		return -ENOMEM;
	}
	return 0;
}

/**
 * mheap_soft_limit_pages() - heap pages the soft limit lets the heap hold
 *	before its idle pages are released
 * @h: the heap
 *
 * Go's scavenger keeps what the runtime holds at 95% of its memory limit;
 * this keeps 15/16.
 *
 * Return: pages, or 0 without a soft limit.
 */
u64 mheap_soft_limit_pages(const struct mheap *h)
{
	return (h->soft_limit - h->soft_limit / 16) >> MHEAP_PAGE_SHIFT;
}

/**
 * mheap_back_span() - back a span just taken from the page heap
 * @h: the heap, mheap.lock held
 * @s: the span, off the free lists, MSPAN_DEAD (spans freed meanwhile, to
 *	make room, must not merge with it)
 *
 * Its released pages get memory, within the limits; then, above the soft
 * limit, idle pages are released.
 *
 * Return: 0, or -ENOMEM (a limit, the memory cgroup, or no memory): @s
 * is left free, released wholly if backing it failed half-way.
 */
int mheap_back_span(struct mheap *h, struct mspan *s)
{
	u64 soft, nrel = released_apply(h, s->start, s->npages, false, true);
	int ret;

	lockdep_assert_held(&h->lock);
	if (nrel) {
		ret = limit_make_room(h, nrel);
		if (ret)
			return ret;
		ret = mheap_arena_populate(h, s->start, s->npages);
		/*
		 * The memory cgroup is at its limit: the heap's own idle
		 * memory makes room, as for the limits above.
		 */
		if (ret == -ENOMEM && scavenge_all_kinds(h, nrel))
			ret = mheap_arena_populate(h, s->start, s->npages);
		if (ret == -ENOMEM)
			trace_gcheap_limit(h->id, GCHEAP_TRACE_LIMIT_MEMCG,
					   mheap_held(h), nrel);
		if (ret) {
			/* What got memory goes again: the span is released. */
			mheap_arena_release(h, s->start, s->npages);
			released_apply(h, s->start, s->npages, true, false);
			h->pages_released += s->npages - nrel;
			atomic_long_sub(s->npages - nrel, &mheap_held_total);
			s->needzero = false;
			return ret;
		}
		released_apply(h, s->start, s->npages, false, false);
		h->pages_released -= nrel;
		atomic_long_add(nrel, &mheap_held_total);
		if (nrel == s->npages)
			s->needzero = false;
	}
	soft = mheap_soft_limit_pages(h);
	if (soft && mheap_held(h) > soft) {
		trace_gcheap_limit(h->id, GCHEAP_TRACE_LIMIT_SOFT, mheap_held(h),
				   mheap_held(h) - soft);
		scavenge_all_kinds(h, mheap_held(h) - soft);
	}
	return 0;
}

/**
 * mheap_released_destroy() - the heap goes: what it held is held no more
 * @h: the heap, no longer used by anyone
 */
void mheap_released_destroy(struct mheap *h)
{
	unsigned long c;

	if (!h->released)
		return;
	atomic_long_sub(mheap_held(h), &mheap_held_total);
	for (c = 0; c < h->nchunks; c++)
		kvfree(h->released[c]);
	kvfree(h->released);
	h->released = NULL;
}
