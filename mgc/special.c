// SPDX-License-Identifier: GPL-2.0
/*
 * Specials: records attached to an object, kept per span sorted by offset,
 * as Go's mheap.go keeps them (addspecial, removespecial, freespecial).
 * Finalizers and cleanups are the kinds so far.
 *
 * A finalizer keeps what its object references alive: the mark scans the
 * words of every object with a finalizer as roots, without marking the
 * object itself (mgc_mark_finalizers(), Go's markrootSpans). When sweeping
 * finds the object unmarked, the finalizer is queued for the program
 * (mgc.finq, read from the fd) and the object is marked, so it survives
 * this cycle with everything it reaches; the special goes, so the next
 * cycle that finds it unreachable frees it. Cleanups keep nothing alive:
 * when sweeping frees an object, its cleanups are queued. A finalizer comes
 * first on the list (kinds are ordered), so an object being finalized keeps
 * its cleanups for the sweep that frees it.
 *
 * All of it is under mheap.lock. The concurrent mark's worker, which runs
 * without the lock, never looks at specials: the scans of finalizer objects
 * happen in the mark's stop-the-world steps.
 */
#include <linux/kernel.h>
#include <linux/bitmap.h>
#include <linux/errno.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/slab.h>
#include "mgc.h"

/**
 * struct mgc_final_rec - a queued record (mgc.finq)
 * @node: on mgc.finq
 * @rec: what read() copies out
 */
struct mgc_final_rec {
	struct list_head node;
	struct gcheap_final rec;
};

/*
 * Where a special of @kind at @offset is, or would go: the link that points
 * at it. The list is sorted by offset, then kind.
 */
static struct mgc_special **special_link(struct mspan *s, u32 offset, u8 kind)
{
	struct mgc_special **p = &s->specials;

	while (*p && ((*p)->offset < offset ||
		      ((*p)->offset == offset && (*p)->kind < kind)))
		p = &(*p)->next;
	return p;
}

static void special_unlink(struct mheap *h, struct mgc_special **p)
{
	struct mgc_special *sp = *p;

	*p = sp->next;
	if (sp->kind == MGC_SPECIAL_FINALIZER) {
		list_del(&sp->node);
		h->gc.nfinalizers--;
	}
	kfree(sp);
}

/**
 * mgc_special_add() - attach a special to an object
 * @h: the heap, mheap.lock held
 * @s: the object's span, in use
 * @offset: the object's offset in the span
 * @kind: MGC_SPECIAL_*
 * @fn: for a finalizer: the function
 * @arg: and its argument
 *
 * A finalizer is one per object; cleanups go after those the object has.
 *
 * Return: 0, -EEXIST if the object has a finalizer and @kind is one, -ENOMEM.
 */
int mgc_special_add(struct mheap *h, struct mspan *s, u32 offset, u8 kind,
		    u64 fn, u64 arg)
{
	struct mgc_special **p, *sp;

	lockdep_assert_held(&h->lock);
	if (kind == MGC_SPECIAL_CLEANUP) {
		p = special_link(s, offset, kind + 1);
	} else {
		p = special_link(s, offset, kind);
		if (*p && (*p)->offset == offset && (*p)->kind == kind)
			return -EEXIST;
	}
	sp = kzalloc(sizeof(*sp), GFP_KERNEL_ACCOUNT);
	if (!sp)
		return -ENOMEM;
	sp->span = s;
	sp->offset = offset;
	sp->kind = kind;
	sp->fn = fn;
	sp->arg = arg;
	sp->next = *p;
	*p = sp;
	if (kind == MGC_SPECIAL_FINALIZER) {
		list_add_tail(&sp->node, &h->gc.finalizers);
		h->gc.nfinalizers++;
	}
	return 0;
}

/**
 * mgc_special_remove() - detach an object's special of one kind
 * @h: the heap, mheap.lock held
 * @s: the object's span
 * @offset: the object's offset in the span
 * @kind: MGC_SPECIAL_*
 *
 * Return: 0, or -ENOENT if the object has none.
 */
int mgc_special_remove(struct mheap *h, struct mspan *s, u32 offset, u8 kind)
{
	struct mgc_special **p = special_link(s, offset, kind);

	lockdep_assert_held(&h->lock);
	if (!*p || (*p)->offset != offset || (*p)->kind != kind)
		return -ENOENT;
	special_unlink(h, p);
	return 0;
}

/**
 * mgc_special_free_object() - an object was freed: its specials go
 * @h: the heap, mheap.lock held
 * @s: its span
 * @offset: its offset in the span
 */
void mgc_special_free_object(struct mheap *h, struct mspan *s, u32 offset)
{
	struct mgc_special **p = special_link(s, offset, 0);

	lockdep_assert_held(&h->lock);
	while (*p && (*p)->offset == offset)
		special_unlink(h, p);
}

/**
 * mgc_special_free_span() - a span leaves use: all its specials go
 * @h: the heap (mheap.lock held, or the heap no longer used by anyone)
 * @s: the span
 */
void mgc_special_free_span(struct mheap *h, struct mspan *s)
{
	while (s->specials)
		special_unlink(h, &s->specials);
}

/*
 * Queue the records of @n specials from *@p on, all of one object, and
 * unlink them; all or none, so that an object's cleanups never run while it
 * is kept. Return: false if the queue has no room or memory ran out.
 */
static bool special_queue(struct mheap *h, struct mspan *s,
			  struct mgc_special **p, unsigned int n)
{
	struct mgc_final_rec *r, *tmp;
	struct mgc_special *sp = *p;
	LIST_HEAD(recs);
	unsigned int i;

	if (h->gc.finq_len + n > GCHEAP_FINAL_QUEUE_MAX)
		return false;
	for (i = 0; i < n; i++, sp = sp->next) {
		r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
		if (!r) {
			list_for_each_entry_safe(r, tmp, &recs, node)
				kfree(r);
			return false;
		}
		r->rec.addr = mheap_span_base(h, s) + sp->offset;
		r->rec.fn = sp->fn;
		r->rec.arg = sp->arg;
		r->rec.kind = sp->kind == MGC_SPECIAL_CLEANUP ?
			      GCHEAP_FINAL_CLEANUP : GCHEAP_FINAL_FINALIZER;
		list_add_tail(&r->node, &recs);
	}
	list_splice_tail(&recs, &h->gc.finq);
	WRITE_ONCE(h->gc.finq_len, h->gc.finq_len + n);
	h->gc.finq_added = true;
	while (n--)
		special_unlink(h, p);
	return true;
}

/**
 * mgc_special_sweep() - the specials of a span being swept
 * @h: the heap, mheap.lock held
 * @s: the span, its mark bits those of the mark that ended
 *
 * A finalizer of an unmarked object is queued and the object marked, so
 * that it and what it references survive this sweep; the cleanups of an
 * object still unmarked then are queued, all together, and it is freed.
 * Should the queue be full, the specials stay and the object survives until
 * a sweep finds room. Specials of slots not allocated (an object given up
 * in a cached span) go.
 */
void mgc_special_sweep(struct mheap *h, struct mspan *s)
{
	struct mgc_special **p = &s->specials;

	lockdep_assert_held(&h->lock);
	while (*p) {
		struct mgc_special *sp = *p, *q;
		u32 idx = mspan_is_large(s) ? 0 : sp->offset / s->elemsize;
		u8 kind = sp->kind;	/* queueing frees sp */
		unsigned int n = 1;

		if (!test_bit(idx, s->allocbits)) {
			special_unlink(h, p);
			continue;
		}
		if (kind == MGC_SPECIAL_CLEANUP)
			for (q = sp->next; q && q->offset == sp->offset; q = q->next)
				n++;
		if (!test_bit(idx, s->gcmarkbits) && special_queue(h, s, p, n)) {
			/* A finalized object lives on; one cleaned up is freed. */
			if (kind == MGC_SPECIAL_FINALIZER)
				__set_bit(idx, s->gcmarkbits);
			continue;
		}
		/* Live, or kept until the queue has room. */
		__set_bit(idx, s->gcmarkbits);
		while (n--)
			p = &(*p)->next;
	}
}

/**
 * mgc_finq_take() - take queued records for delivery
 * @h: the heap
 * @taken: out: an empty list the records are moved to, for
 *	mgc_finq_finish()
 * @out: out: room for @max records
 * @max: at least 1
 *
 * Return: records taken, 0 if none is queued.
 */
unsigned int mgc_finq_take(struct mheap *h, struct list_head *taken,
			   struct gcheap_final *out, unsigned int max)
{
	struct mgc_final_rec *r, *tmp;
	unsigned int n = 0;

	mheap_lock(h);
	list_for_each_entry_safe(r, tmp, &h->gc.finq, node) {
		if (n == max)
			break;
		out[n++] = r->rec;
		list_move_tail(&r->node, taken);
	}
	WRITE_ONCE(h->gc.finq_len, h->gc.finq_len - n);
	mutex_unlock(&h->lock);
	return n;
}

/**
 * mgc_finq_finish() - after a delivery: free the records, or queue them again
 * @h: the heap
 * @taken: the list mgc_finq_take() filled
 * @n: how many it took
 * @delivered: false if they could not be copied out: they go back to the
 *	front of the queue, in order, so none is lost
 */
void mgc_finq_finish(struct mheap *h, struct list_head *taken,
		     unsigned int n, bool delivered)
{
	struct mgc_final_rec *r, *tmp;

	if (delivered) {
		list_for_each_entry_safe(r, tmp, taken, node) {
			list_del(&r->node);
			kfree(r);
		}
		return;
	}
	mheap_lock(h);
	list_splice(taken, &h->gc.finq);
	INIT_LIST_HEAD(taken);
	WRITE_ONCE(h->gc.finq_len, h->gc.finq_len + n);
	h->gc.finq_added = true;
	mutex_unlock(&h->lock);
}

/**
 * mgc_finq_ready() - whether records are queued (for poll)
 * @h: the heap
 *
 * Return: true if a read() would not block.
 */
bool mgc_finq_ready(struct mheap *h)
{
	return READ_ONCE(h->gc.finq_len) != 0;
}

/**
 * mgc_finq_destroy() - free what is still queued
 * @h: the heap, no longer used by anyone
 */
void mgc_finq_destroy(struct mheap *h)
{
	struct mgc_final_rec *r, *tmp;

	list_for_each_entry_safe(r, tmp, &h->gc.finq, node) {
		list_del(&r->node);
		kfree(r);
	}
	h->gc.finq_len = 0;
}

/**
 * mgc_op_finalizer() - GCHEAP_IOC_FINALIZER
 * @h: the heap
 * @f: the request
 *
 * Return: 0 or the errors documented with struct gcheap_finalizer.
 */
int mgc_op_finalizer(struct mheap *h, const struct gcheap_finalizer *f)
{
	struct mspan *s;
	u64 off, idx;
	int ret;

	if (f->flags & ~GCHEAP_FINALIZER_CLEANUP ||
	    (f->flags & GCHEAP_FINALIZER_CLEANUP && !f->fn))
		return -EINVAL;
	mheap_lock(h);
	ret = -ENXIO;
	if (!h->arena_base)
		goto out;
	s = mheap_span_of_addr(h, f->addr);
	if (s) {
		mgc_ensure_swept(h, s);
		s = mheap_span_of_addr(h, f->addr);
	}
	ret = -ENOENT;
	if (!s || s->state != MSPAN_INUSE)
		goto out;
	off = f->addr - mheap_span_base(h, s);
	idx = mspan_is_large(s) ? 0 : off / s->elemsize;
	if (idx >= s->nelems ||
	    !(test_bit(idx, s->allocbits) ||
	      (s->cached && test_bit(idx, s->cachefree) &&
	       !test_bit(idx, s->cachefreed))))
		goto out;
	ret = -EINVAL;
	if (off != idx * s->elemsize)
		goto out;
	if (f->flags & GCHEAP_FINALIZER_CLEANUP)
		ret = mgc_special_add(h, s, off, MGC_SPECIAL_CLEANUP, f->fn,
				      f->arg);
	else if (f->fn)
		ret = mgc_special_add(h, s, off, MGC_SPECIAL_FINALIZER, f->fn,
				      f->arg);
	else
		ret = mgc_special_remove(h, s, off, MGC_SPECIAL_FINALIZER);
out:
	mutex_unlock(&h->lock);
	return ret;
}
