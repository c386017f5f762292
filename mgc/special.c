// SPDX-License-Identifier: GPL-2.0
/*
 * Specials: records attached to an object, kept per span sorted by offset,
 * as Go's mheap.go keeps them (addspecial, removespecial, freespecial).
 * Kinds, in list order at one offset: finalizers, cleanups, disappearing
 * links, heap-profile records.
 *
 * A finalizer keeps what its object references alive: the mark scans the
 * words of every object with a finalizer as roots, without marking the
 * object itself (mgc_mark_finalizers(), Go's markrootSpans). When sweeping
 * finds the object unmarked, the finalizer is queued for the program
 * (mgc.finq, read from the fd) and the object is marked, so it survives
 * this cycle with everything it reaches; while its record waits in the
 * queue, the record is a root (mgc_mark_finalizers()), as Go's finq is;
 * once read, the reader's copy is one. The special goes, so the next cycle
 * that finds it unreachable after that frees it. Cleanups keep nothing alive:
 * when sweeping frees an object, its cleanups are queued. A finalizer comes
 * first on the list (kinds are ordered), so an object being finalized keeps
 * its cleanups for the sweep that frees it. A link is attached to the
 * object it points at and settled when the mark ends, before any sweep
 * (mgc_links_mark_end()). A profile record comes last, so it sees whether
 * the object survives its sweep; when the object goes, however it goes, the
 * record counts a free for its bucket (Go's mProf_Free).
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
#include <linux/mm.h>
#include <linux/slab.h>
#include <trace/gcheap_events.h>
#include "mgc.h"

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

static struct mgc_special **link_chain(struct mheap *h, u64 link)
{
	return &h->gc.link_hash[((link >> 3) * 0x9e3779b97f4a7c15ULL) >>
				(64 - h->gc.link_hash_bits)];
}

/* Double mgc.link_hash once it holds more links than chains, if memory allows. */
static void link_hash_grow(struct mheap *h)
{
	u32 bits = h->gc.link_hash_bits ? h->gc.link_hash_bits + 1 : 6;
	struct mgc_special **old = h->gc.link_hash, **t, *sp;
	u32 i, oldn = h->gc.link_hash_bits ? 1U << h->gc.link_hash_bits : 0;

	if (h->gc.nlinks < oldn || bits > 30)
		return;
	t = kvcalloc(1U << bits, sizeof(*t), MHEAP_GFP);
	if (!t)
		return;
	h->gc.link_hash = t;
	h->gc.link_hash_bits = bits;
	for (i = 0; i < oldn; i++) {
		while ((sp = old[i])) {
			struct mgc_special **c = link_chain(h, sp->fn);

			old[i] = sp->hnext;
			sp->hnext = *c;
			*c = sp;
		}
	}
	kvfree(old);
}

static void link_hash_remove(struct mheap *h, struct mgc_special *sp)
{
	struct mgc_special **c = link_chain(h, sp->fn);

	while (*c != sp)
		c = &(*c)->hnext;
	*c = sp->hnext;
}

static void special_unlink(struct mheap *h, struct mgc_special **p)
{
	struct mgc_special *sp = *p;

	*p = sp->next;
	if (sp->kind == MGC_SPECIAL_FINALIZER) {
		list_del(&sp->node);
		h->gc.nfinalizers--;
	} else if (sp->kind == MGC_SPECIAL_LINK) {
		list_del(&sp->node);
		link_hash_remove(h, sp);
		h->gc.nlinks--;
		h->gc.nroot_links -= sp->arg;
		if (sp->holder)
			sp->holder->links_held--;
	} else if (sp->kind == MGC_SPECIAL_PROFILE) {
		struct gcheap_profile_count *c = &h->gc.prof[sp->fn];
		struct mspan *s = sp->span;

		c->frees++;
		c->free_bytes += mspan_is_large(s) ? mspan_bytes(s) : s->elemsize;
	}
	kfree(sp);
}

/**
 * mgc_special_add() - attach a special to an object
 * @h: the heap, mheap.lock held
 * @s: the object's span, in use
 * @offset: the object's offset in the span
 * @kind: MGC_SPECIAL_*
 * @fn: for a finalizer or cleanup: the function; for a link: its address;
 *	for a profile record: its bucket, below mgc.prof_len
 * @arg: and its argument; for a link: 1 if it lies in root memory
 * @holder: for a link in the arena: the span of the object holding it,
 *	which counts it (mspan.links_held); else NULL
 *
 * A finalizer, or a profile record, is one per object; cleanups and links
 * go after those of their kind the object has.
 *
 * Return: 0, -EEXIST if the object has a special of @kind already and may
 * have one only, -ENOMEM.
 */
int mgc_special_add(struct mheap *h, struct mspan *s, u32 offset, u8 kind,
		    u64 fn, u64 arg, struct mspan *holder)
{
	struct mgc_special **p, *sp;

	lockdep_assert_held(&h->lock);
	if (kind != MGC_SPECIAL_FINALIZER && kind != MGC_SPECIAL_PROFILE) {
		p = special_link(s, offset, kind + 1);
	} else {
		p = special_link(s, offset, kind);
		if (*p && (*p)->offset == offset && (*p)->kind == kind)
			return -EEXIST;
	}
	if (kind == MGC_SPECIAL_LINK) {
		link_hash_grow(h);
		if (!h->gc.link_hash)
			return -ENOMEM;
	}
	sp = kzalloc(sizeof(*sp), MHEAP_GFP);
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
	} else if (kind == MGC_SPECIAL_LINK) {
		struct mgc_special **c = link_chain(h, fn);

		list_add_tail(&sp->node, &h->gc.links);
		sp->hnext = *c;
		*c = sp;
		h->gc.nlinks++;
		h->gc.nroot_links += arg;
		sp->holder = holder;
		if (holder)
			holder->links_held++;
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
 * mgc_special_remove_one() - detach a special found by other means
 * @h: the heap, mheap.lock held
 * @sp: the special
 *
 * Return: 0.
 */
int mgc_special_remove_one(struct mheap *h, struct mgc_special *sp)
{
	struct mgc_special **p = &sp->span->specials;

	lockdep_assert_held(&h->lock);
	while (*p != sp)
		p = &(*p)->next;
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
 * mgc_special_unused_slots() - a thread cache gave a span back: what was
 *	attached to slots it was handed and did not use goes
 * @h: the heap, mheap.lock held
 * @s: the span, still cached, its allocation bits not updated yet
 * @left_free: the cache's free-slot bitmap as it gave the span back
 *	(untrusted: only its bits for slots in mspan.cachefree count)
 *
 * The kernel takes a finalizer, cleanup, link or profile record on any
 * slot a cache was handed, as it cannot tell which ones the cache used.
 * Those of a slot that comes back unused go now: the next object there
 * would inherit them, and a link held there would be cleared over its data.
 */
void mgc_special_unused_slots(struct mheap *h, struct mspan *s,
			      const unsigned long *left_free)
{
	struct mgc_special **p = &s->specials, *sp, *tmp;
	u64 base = mheap_span_base(h, s);
	u32 idx;

	lockdep_assert_held(&h->lock);
	while (*p) {
		idx = (*p)->offset / s->elemsize;
		if (test_bit(idx, s->cachefree) && test_bit(idx, left_free))
			special_unlink(h, p);
		else
			p = &(*p)->next;
	}
	if (!s->links_held)
		return;
	list_for_each_entry_safe(sp, tmp, &h->gc.links, node) {
		if (sp->holder != s)
			continue;
		idx = (sp->fn - base) / s->elemsize;
		if (test_bit(idx, s->cachefree) && test_bit(idx, left_free))
			mgc_special_remove_one(h, sp);
	}
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
		r = kzalloc(sizeof(*r), MHEAP_GFP);
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
		trace_gcheap_final_queued(h->id, r->rec.addr, r->rec.kind);
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
		/* Links were settled when the mark ended. */
		if (kind == MGC_SPECIAL_LINK) {
			p = &sp->next;
			continue;
		}
		/* Last at its offset: the object's fate is settled. */
		if (kind == MGC_SPECIAL_PROFILE) {
			if (test_bit(idx, s->gcmarkbits))
				p = &sp->next;
			else
				special_unlink(h, p);
			continue;
		}
		if (kind == MGC_SPECIAL_CLEANUP)
			for (q = sp->next; q && q->offset == sp->offset &&
			     q->kind == MGC_SPECIAL_CLEANUP; q = q->next)
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

/*
 * The allocated object holding @addr, a handed-out slot of a cached span
 * included: its span (swept) and offset. Return: 0, -ENOENT (no allocated
 * object there), -EINVAL (inside one, and @base says @addr must start it).
 */
static int special_slot(struct mheap *h, u64 addr, bool base,
			struct mspan **sp, u32 *offset)
{
	struct mspan *s = mheap_span_of_addr(h, addr);
	u64 off, idx;

	if (s) {
		mgc_ensure_swept(h, s);
		s = mheap_span_of_addr(h, addr);
	}
	if (!s || s->state != MSPAN_INUSE)
		return -ENOENT;
	off = addr - mheap_span_base(h, s);
	idx = mspan_is_large(s) ? 0 : off / s->elemsize;
	if (idx >= s->nelems ||
	    !(test_bit(idx, s->allocbits) ||
	      (s->cached && test_bit(idx, s->cachefree) &&
	       !test_bit(idx, s->cachefreed))))
		return -ENOENT;
	if (base && off != idx * s->elemsize)
		return -EINVAL;
	*sp = s;
	*offset = off;
	return 0;
}

static int special_object(struct mheap *h, u64 addr, struct mspan **sp,
			  u32 *offset)
{
	return special_slot(h, addr, true, sp, offset);
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
	u32 off;
	int ret;

	if (f->flags & ~GCHEAP_FINALIZER_CLEANUP ||
	    (f->flags & GCHEAP_FINALIZER_CLEANUP && !f->fn))
		return -EINVAL;
	mheap_lock(h);
	ret = -ENXIO;
	if (!h->arena_base)
		goto out;
	ret = special_object(h, f->addr, &s, &off);
	if (ret)
		goto out;
	if (f->flags & GCHEAP_FINALIZER_CLEANUP)
		ret = mgc_special_add(h, s, off, MGC_SPECIAL_CLEANUP, f->fn,
				      f->arg, NULL);
	else if (f->fn)
		ret = mgc_special_add(h, s, off, MGC_SPECIAL_FINALIZER, f->fn,
				      f->arg, NULL);
	else
		ret = mgc_special_remove(h, s, off, MGC_SPECIAL_FINALIZER);
out:
	mutex_unlock(&h->lock);
	return ret;
}

/* ================ disappearing links ================ */

static struct mgc_special *link_find(struct mheap *h, u64 link)
{
	struct mgc_special *sp;

	if (!h->gc.link_hash)
		return NULL;
	for (sp = *link_chain(h, link); sp; sp = sp->hnext)
		if (sp->fn == link)
			return sp;
	return NULL;
}

/* Whether [@addr, @addr + 8) lies in registered root memory. */
static bool link_in_roots(struct mheap *h, u64 addr)
{
	u32 i;

	for (i = 0; i < h->gc.nroots; i++)
		if (addr >= h->gc.roots[i].lo && addr + 8 <= h->gc.roots[i].hi)
			return true;
	return false;
}

/* Whether @addr is in the arena, in an allocated object (its slot: @hs, @hidx). */
static bool link_holder(struct mheap *h, u64 addr, struct mspan **hs, u32 *hidx)
{
	struct mspan *s = mheap_span_of_addr(h, addr);
	u64 off;

	if (!s || s->state != MSPAN_INUSE)
		return false;
	off = addr - mheap_span_base(h, s);
	*hidx = mspan_is_large(s) ? 0 : off / s->elemsize;
	*hs = s;
	return *hidx < s->nelems && test_bit(*hidx, s->allocbits);
}

static bool link_in_arena(struct mheap *h, u64 addr)
{
	return addr >= h->arena_base &&
	       addr - h->arena_base < (h->arena_pages << MHEAP_PAGE_SHIFT);
}

/**
 * mgc_op_link() - GCHEAP_IOC_LINK
 * @h: the heap
 * @l: the request
 *
 * Return: 0 or the errors documented with struct gcheap_link.
 */
int mgc_op_link(struct mheap *h, const struct gcheap_link *l)
{
	struct mgc_special *old;
	struct mspan *s, *hs;
	u32 off, hoff;
	bool in_roots;
	int ret;

	if (l->flags & ~GCHEAP_LINK_REMOVE || l->link & 7)
		return -EINVAL;
	mheap_lock(h);
	ret = -ENXIO;
	if (!h->arena_base)
		goto out;
	old = link_find(h, l->link);
	if (l->flags & GCHEAP_LINK_REMOVE) {
		ret = -ENOENT;
		if (old)
			ret = mgc_special_remove_one(h, old);
		goto out;
	}
	ret = special_object(h, l->obj, &s, &off);
	if (ret)
		goto out;
	ret = -EINVAL;
	in_roots = !link_in_arena(h, l->link) && link_in_roots(h, l->link);
	if (!in_roots && (!link_in_arena(h, l->link) ||
			  special_slot(h, l->link, false, &hs, &hoff)))
		goto out;
	ret = -EEXIST;
	if (old)
		goto out;
	ret = mgc_special_add(h, s, off, MGC_SPECIAL_LINK, l->link, in_roots,
			      in_roots ? NULL : hs);
out:
	mutex_unlock(&h->lock);
	return ret;
}

/**
 * mgc_links_free_holder() - an object was freed: links inside it are
 *	forgotten, as its slot may hold another object soon
 * @h: the heap, mheap.lock held
 * @s: its span
 * @addr: the object
 * @len: its size
 */
void mgc_links_free_holder(struct mheap *h, struct mspan *s, u64 addr,
			   u64 len)
{
	struct mgc_special *sp, *tmp;

	lockdep_assert_held(&h->lock);
	if (!s->links_held)
		return;
	/* Look up each word of a small object; walk the list for a big one. */
	if (len / 8 <= h->gc.nlinks) {
		u64 a;

		for (a = addr; a < addr + len; a += 8) {
			sp = link_find(h, a);
			if (sp)
				mgc_special_remove_one(h, sp);
		}
		return;
	}
	list_for_each_entry_safe(sp, tmp, &h->gc.links, node)
		if (sp->fn >= addr && sp->fn - addr < len)
			mgc_special_remove_one(h, sp);
}

/**
 * mgc_links_mark_end() - clear the links of objects the mark found
 *	unreachable (bdwgc's GC_clear_disappearing_links)
 * @h: the heap, mheap.lock held, the mark bits final, nothing swept yet
 *
 * A link in the arena is written at once, through the kernel's view; one in
 * root memory is left in mgc.link_clears for the front end to write, since
 * user memory is not touched under mheap.lock. Registrations whose link
 * lies in an object about to be freed, or in root memory no longer
 * registered, are forgotten. Should there be no memory for the list, a
 * target whose root link could not be cleared is kept for this cycle.
 */
void mgc_links_mark_end(struct mheap *h)
{
	struct mgc_special *sp, *tmp;
	struct mspan *hs;
	u32 hidx;

	lockdep_assert_held(&h->lock);
	kvfree(h->gc.link_clears);
	h->gc.link_clears = NULL;
	h->gc.nlink_clears = 0;
	if (list_empty(&h->gc.links))
		return;
	if (h->gc.nroot_links)
		h->gc.link_clears = kvmalloc_array(h->gc.nroot_links, sizeof(u64),
						   MHEAP_GFP);
	list_for_each_entry_safe(sp, tmp, &h->gc.links, node) {
		struct mspan *s = sp->span;
		u32 idx = mspan_is_large(s) ? 0 : sp->offset / s->elemsize;
		u64 link = sp->fn;

		if (sp->arg) {
			if (!link_in_roots(h, link)) {
				mgc_special_remove_one(h, sp);
				continue;
			}
		} else if (!link_holder(h, link, &hs, &hidx) ||
			   !test_bit(hidx, hs->gcmarkbits)) {
			mgc_special_remove_one(h, sp);
			continue;
		}
		if (test_bit(idx, s->gcmarkbits))
			continue;
		if (!sp->arg) {
			u64 off = link - h->arena_base;

			/* An unbacked page reads as 0 already. */
			if (mheap_arena_peek(h, off >> PAGE_SHIFT))
				mheap_arena_poke(h, off, 0);
		} else if (h->gc.link_clears) {
			h->gc.link_clears[h->gc.nlink_clears++] = link;
		} else {
			__set_bit(idx, s->gcmarkbits);
			continue;
		}
		mgc_special_remove_one(h, sp);
	}
}

/**
 * mgc_links_pending() - the root-memory links the last mark's end left to
 *	clear
 * @h: the heap, mheap.lock held
 * @addrs: out: their addresses, for the caller to kvfree()
 *
 * Return: how many.
 */
unsigned int mgc_links_pending(struct mheap *h, u64 **addrs)
{
	unsigned int n = h->gc.nlink_clears;

	lockdep_assert_held(&h->lock);
	*addrs = h->gc.link_clears;
	h->gc.link_clears = NULL;
	h->gc.nlink_clears = 0;
	return n;
}

/* ================ heap-profile records ================ */

/* Room in mgc.prof for bucket @id; mheap.lock held. */
static int profile_reserve(struct mheap *h, u32 id)
{
	struct gcheap_profile_count *n;
	u32 cap;

	if (id < h->gc.prof_cap)
		return 0;
	cap = max_t(u32, h->gc.prof_cap * 2, 64);
	while (cap <= id)
		cap *= 2;
	n = kvcalloc(cap, sizeof(*n), MHEAP_GFP);
	if (!n)
		return -ENOMEM;
	if (h->gc.prof_len)
		memcpy(n, h->gc.prof, h->gc.prof_len * sizeof(*n));
	kvfree(h->gc.prof);
	h->gc.prof = n;
	h->gc.prof_cap = cap;
	return 0;
}

/**
 * mgc_profile_check() - the checks of a GCHEAP_IOC_PROFILE request that need
 *	no heap, for the front ends to make before they allocate for a read
 * @p: the request
 *
 * Return: 0 or -EINVAL.
 */
int mgc_profile_check(const struct gcheap_profile *p)
{
	if (p->op == GCHEAP_PROFILE_ADD)
		return p->bucket < GCHEAP_PROFILE_BUCKETS_MAX && !p->count &&
		       !p->buf ? 0 : -EINVAL;
	if (p->op == GCHEAP_PROFILE_READ)
		return !p->addr && p->count <= GCHEAP_PROFILE_BUCKETS_MAX ?
		       0 : -EINVAL;
	return -EINVAL;
}

/**
 * mgc_op_profile_add() - GCHEAP_IOC_PROFILE, GCHEAP_PROFILE_ADD
 * @h: the heap
 * @p: the request, checked (mgc_profile_check())
 *
 * Return: 0 or the errors documented with struct gcheap_profile.
 */
int mgc_op_profile_add(struct mheap *h, const struct gcheap_profile *p)
{
	struct mspan *s;
	u32 off;
	int ret;

	mheap_lock(h);
	ret = -ENXIO;
	if (!h->arena_base)
		goto out;
	ret = special_object(h, p->addr, &s, &off);
	if (!ret)
		ret = profile_reserve(h, p->bucket);
	if (!ret)
		ret = mgc_special_add(h, s, off, MGC_SPECIAL_PROFILE, p->bucket,
				      0, NULL);
	if (!ret && p->bucket >= h->gc.prof_len)
		h->gc.prof_len = p->bucket + 1;
out:
	mutex_unlock(&h->lock);
	return ret;
}

/**
 * mgc_profile_read() - the frees counted per heap-profile bucket
 * @h: the heap
 * @first: the first bucket
 * @max: room at @out
 * @out: out: the counts of buckets @first, @first + 1, ...
 *
 * Return: entries written: up to the highest bucket added so far.
 */
u32 mgc_profile_read(struct mheap *h, u32 first, u32 max,
		     struct gcheap_profile_count *out)
{
	u32 n = 0;

	mheap_lock(h);
	if (first < h->gc.prof_len) {
		n = min(max, h->gc.prof_len - first);
		memcpy(out, h->gc.prof + first, n * sizeof(*out));
	}
	mutex_unlock(&h->lock);
	return n;
}

/**
 * mgc_profile_destroy() - free the counts
 * @h: the heap, no longer used by anyone, its spans freed
 */
void mgc_profile_destroy(struct mheap *h)
{
	kvfree(h->gc.prof);
	h->gc.prof = NULL;
	h->gc.prof_len = 0;
	h->gc.prof_cap = 0;
}
