// SPDX-License-Identifier: GPL-2.0
/*
 * Sweep, with the Go runtime's sweep generations (mgcsweep.go): the heap's
 * sweepgen advances by 2 when a mark terminates; a span whose sweepgen is
 * h - 2 needs sweeping, h - 1 is being swept, h is swept. New spans start
 * swept. Sweeping a span makes its mark bits its allocation bits (the two
 * bitmaps swap), marks the span as needing its reused slots cleared if an
 * object died, and files the span again; a dead large object's span goes back to the page heap.
 *
 * Spans waiting for sweeping sit on their class's unswept list (large ones
 * on mheap.large_unswept), so no list mixes swept and unswept spans. They
 * are swept lazily, before a refill of their class or a large allocation
 * takes memory, by the background sweeper, or all at once on request.
 */
#include <linux/kernel.h>
#include <linux/bitmap.h>
#include <linux/errno.h>
#include <linux/lockdep.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <trace/gcheap_events.h>
#include "mgc.h"

/* Spans swept between checks for rescheduling and fatal signals. */
#define SWEEP_CHECK_SPANS	64

/**
 * mgc_span_unswept() - whether a span waits for sweeping
 * @h: the heap, mheap.lock held
 * @s: a span in use
 *
 * Return: true if @s->sweepgen is h - 2.
 */
bool mgc_span_unswept(struct mheap *h, const struct mspan *s)
{
	return s->sweepgen == h->gc.sweepgen - 2;
}

static void sweep_move_list(struct mheap *h, struct list_head *from,
			    struct list_head *to)
{
	struct mspan *s;

	list_for_each_entry(s, from, list)
		h->gc.unswept++;
	list_splice_tail_init(from, to);
}

/**
 * mgc_terminate_mark() - end a mark: every span in use now needs sweeping
 * @h: the heap, mheap.lock held, no span cached, every span swept
 */
void mgc_terminate_mark(struct mheap *h)
{
	unsigned int i;

	lockdep_assert_held(&h->lock);
	h->gc.sweepgen += 2;
	for (i = 0; i < MHEAP_NUM_SPANCLASSES; i++) {
		struct mcentral *c = &h->central[i];

		sweep_move_list(h, &c->partial, &c->unswept);
		sweep_move_list(h, &c->full, &c->unswept);
		sweep_move_list(h, &c->empty, &c->unswept);
	}
	h->empty_spans = 0;
	sweep_move_list(h, &h->large, &h->large_unswept);
}

/**
 * mgc_sweep_span() - sweep one span that needs it
 * @h: the heap, mheap.lock held
 * @s: a span on an unswept list
 *
 * A dead large object's span is freed: @s must not be used afterwards.
 */
void mgc_sweep_span(struct mheap *h, struct mspan *s)
{
	struct mcentral *c = &h->central[s->spanclass];
	unsigned int w, words = BITS_TO_LONGS(s->nelems);
	unsigned long *t;
	u64 dead = 0;

	lockdep_assert_held(&h->lock);
	if (WARN_ON_ONCE(!mgc_span_unswept(h, s)))
		return;
	s->sweepgen = h->gc.sweepgen - 1;
	list_del(&s->list);
	h->gc.unswept--;
	/* Finalizers of dead objects are queued, and the objects kept. */
	if (s->specials)
		mgc_special_sweep(h, s);

	if (mspan_is_large(s)) {
		trace_gcheap_sweep_span(h->id, s->start, s->spanclass, 1,
					!test_bit(0, s->gcmarkbits));
		if (!test_bit(0, s->gcmarkbits)) {
			h->large_frees++;
			h->large_bytes -= mspan_bytes(s);
			s->sweepgen = h->gc.sweepgen;
			mheap_free_span(h, s);
			return;
		}
		__clear_bit(0, s->gcmarkbits);
		s->sweepgen = h->gc.sweepgen;
		list_add(&s->list, &h->large);
		return;
	}

	for (w = 0; w < words; w++) {
		/* An object freed during the mark may have been marked after. */
		s->gcmarkbits[w] &= s->allocbits[w];
		dead += hweight_long(s->allocbits[w] & ~s->gcmarkbits[w]);
	}
	/*
	 * Dead objects keep their contents: the library clears a slot when it
	 * hands it out again (GCHEAP_SPAN_NEEDZERO), as Go's mallocgc does,
	 * so a collection never pays for memory nobody takes.
	 */
	trace_gcheap_sweep_span(h->id, s->start, s->spanclass, s->nelems, dead);
	if (dead)
		s->needzero = true;
	t = s->allocbits;
	s->allocbits = s->gcmarkbits;
	s->gcmarkbits = t;
	bitmap_zero(s->gcmarkbits, s->nelems);
	s->nalloc -= dead;
	c->nalloc -= dead;
	c->frees += dead;
	s->sweepgen = h->gc.sweepgen;
	mcentral_place(h, s);
}

/**
 * mgc_ensure_swept() - sweep a span before looking at its allocation bits
 * @h: the heap, mheap.lock held
 * @s: a span in use
 *
 * The caller must look the span up again: a dead large span is freed.
 */
void mgc_ensure_swept(struct mheap *h, struct mspan *s)
{
	if (s->state == MSPAN_INUSE && mgc_span_unswept(h, s))
		mgc_sweep_span(h, s);
}

/**
 * mgc_sweep_class() - lazy sweeping before a refill of a span class
 * @h: the heap, mheap.lock held
 * @spanclass: the class
 * @budget: most spans to sweep
 *
 * Return: true once the class has a partial or empty span to hand out.
 */
bool mgc_sweep_class(struct mheap *h, unsigned int spanclass,
		     unsigned int budget)
{
	struct mcentral *c = &h->central[spanclass];

	lockdep_assert_held(&h->lock);
	while (budget-- && !list_empty(&c->unswept)) {
		mgc_sweep_span(h, list_first_entry(&c->unswept, struct mspan, list));
		if (!list_empty(&c->partial) || !list_empty(&c->empty))
			return true;
	}
	return !list_empty(&c->partial) || !list_empty(&c->empty);
}

/**
 * mgc_sweep_large() - sweep every large span that needs it
 * @h: the heap, mheap.lock held
 *
 * Run before a large allocation takes pages, so dead large objects' pages
 * serve it.
 */
void mgc_sweep_large(struct mheap *h)
{
	lockdep_assert_held(&h->lock);
	while (!list_empty(&h->large_unswept))
		mgc_sweep_span(h, list_first_entry(&h->large_unswept,
						   struct mspan, list));
}

/**
 * mgc_sweep_some() - sweep up to @budget spans, whichever need it
 * @h: the heap, mheap.lock held
 * @budget: most spans to sweep
 *
 * Return: spans swept; 0 when nothing needs sweeping.
 */
unsigned long mgc_sweep_some(struct mheap *h, unsigned long budget)
{
	unsigned long done = 0;
	unsigned int i;

	lockdep_assert_held(&h->lock);
	for (i = 0; i < MHEAP_NUM_SPANCLASSES && done < budget; i++) {
		struct list_head *u = &h->central[i].unswept;

		while (done < budget && !list_empty(u)) {
			mgc_sweep_span(h, list_first_entry(u, struct mspan, list));
			done++;
		}
	}
	while (done < budget && !list_empty(&h->large_unswept)) {
		mgc_sweep_span(h, list_first_entry(&h->large_unswept,
						   struct mspan, list));
		done++;
	}
	return done;
}

/**
 * mgc_sweep_all() - sweep every span that needs it
 * @h: the heap, mheap.lock held
 *
 * Return: 0, or -EINTR if a fatal signal stopped it (the rest stays for
 * lazy sweeping: the heap is consistent either way).
 */
int mgc_sweep_all(struct mheap *h)
{
	lockdep_assert_held(&h->lock);
	while (mgc_sweep_some(h, SWEEP_CHECK_SPANS)) {
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}
