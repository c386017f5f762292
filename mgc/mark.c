// SPDX-License-Identifier: GPL-2.0
/*
 * Mark: find every object reachable from the roots.
 *
 * Conservative, as bdwgc: every aligned word of the roots and of the objects
 * being scanned that points into an allocated object of the arena, interior
 * pointers included, marks that object. Words are untrusted data: each is
 * read once and used only as a number to look up in the span map; arena
 * memory is read through the kernel's view of the heap's own pages
 * (mheap_arena_peek()), never through a pointer the program supplied.
 *
 * The grey set is a bounded work list in kernel memory. When it is full, a
 * newly marked object is left unscanned and the overflow noted; after the
 * list drains, every marked object of the heap is scanned again (bdwgc
 * recovers from mark-stack overflow the same way), until a pass overflows no
 * more. No recursion, no unbounded allocation.
 */
#include <linux/kernel.h>
#include <linux/bitmap.h>
#include <linux/errno.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include "mgc.h"

/* Words scanned between checks for rescheduling and fatal signals. */
#define MARK_CHECK_WORDS	4096

struct mark_state {
	struct mheap *h;
	u64 *work;
	u32 cap;
	u32 n;
	bool overflow;
	u64 lo, hi;
	u64 objects, bytes, overflows;
	unsigned long words;
	int error;
};

static bool mark_check(struct mark_state *m)
{
	if (++m->words % MARK_CHECK_WORDS)
		return !m->error;
	if (fatal_signal_pending(current))
		m->error = -EINTR;
	else
		cond_resched();
	return !m->error;
}

static void mark_word(struct mark_state *m, u64 w)
{
	struct mheap *h = m->h;
	struct mspan *s;
	u64 base, idx = 0;

	if (w < m->lo || w >= m->hi)
		return;
	s = mheap_span_of_addr(h, w);
	if (!s || s->state != MSPAN_INUSE)
		return;
	base = mheap_span_base(h, s);
	if (!mspan_is_large(s)) {
		idx = (w - base) / s->elemsize;
		if (idx >= s->nelems)
			return;
	}
	if (!test_bit(idx, s->allocbits) || __test_and_set_bit(idx, s->gcmarkbits))
		return;
	m->objects++;
	m->bytes += mspan_is_large(s) ? mspan_bytes(s) : s->elemsize;
	if (s->spanclass & 1)	/* noscan */
		return;
	if (m->n == m->cap) {
		m->overflow = true;
		return;
	}
	m->work[m->n++] = base + idx * s->elemsize;
}

/* Scan @len bytes of the arena at offset @off for pointers. */
static void mark_scan_arena(struct mark_state *m, u64 off, u64 len)
{
	u64 end = off + len;

	while (off < end && !m->error) {
		unsigned long in = off & ~PAGE_MASK;
		u64 n = min_t(u64, end - off, PAGE_SIZE - in);
		const u64 *p = mheap_arena_peek(m->h, off >> PAGE_SHIFT);
		unsigned long i;

		/* A page never touched holds only zeros. */
		for (i = 0; p && i < n / 8; i++) {
			mark_word(m, READ_ONCE(p[in / 8 + i]));
			if (!mark_check(m))
				return;
		}
		off += n;
	}
}

static void mark_scan_object(struct mark_state *m, u64 addr)
{
	struct mspan *s = mheap_span_of_addr(m->h, addr);

	/* Only objects this mark pushed are on the list. */
	if (WARN_ON_ONCE(!s || s->state != MSPAN_INUSE))
		return;
	mark_scan_arena(m, addr - m->h->arena_base,
			mspan_is_large(s) ? mspan_bytes(s) : s->elemsize);
}

static void mark_drain(struct mark_state *m)
{
	while (m->n && !m->error)
		mark_scan_object(m, m->work[--m->n]);
}

/* Scan every marked object of a span again (overflow recovery). */
static void mark_rescan_span(struct mark_state *m, struct mspan *s)
{
	u64 base = mheap_span_base(m->h, s);
	unsigned long idx;

	if (s->spanclass & 1)
		return;
	for_each_set_bit(idx, s->gcmarkbits, s->nelems) {
		mark_scan_arena(m, base - m->h->arena_base + idx * s->elemsize,
				mspan_is_large(s) ? mspan_bytes(s) : s->elemsize);
		mark_drain(m);
		if (m->error)
			return;
	}
}

static void mark_rescan_list(struct mark_state *m, struct list_head *head)
{
	struct mspan *s;

	list_for_each_entry(s, head, list) {
		mark_rescan_span(m, s);
		if (m->error)
			return;
	}
}

static void mark_rescan(struct mark_state *m)
{
	struct mheap *h = m->h;
	unsigned int i;

	for (i = 0; i < MHEAP_NUM_SPANCLASSES && !m->error; i++) {
		mark_rescan_list(m, &h->central[i].partial);
		mark_rescan_list(m, &h->central[i].full);
		mark_rescan_list(m, &h->central[i].empty);
	}
	if (!m->error)
		mark_rescan_list(m, &h->large);
}

/**
 * mgc_mark() - mark everything reachable from @roots
 * @h: the heap, mheap.lock held, every span swept and none cached, mark
 *	bits clear
 * @roots: memory to scan as roots
 * @nroots: entries of @roots
 * @objects: out: objects marked
 * @bytes: out: bytes of objects marked
 * @overflows: out: work-list overflows recovered from
 *
 * Return: 0; -ENOMEM for the work list; -EINTR on a fatal signal (the mark
 * bits are then partial: the caller clears them).
 */
int mgc_mark(struct mheap *h, const struct mgc_root *roots,
	     unsigned int nroots, u64 *objects, u64 *bytes, u64 *overflows)
{
	struct mark_state m = {
		.h = h,
		.cap = h->gc.work_cap ?: MGC_WORK_MAX,
		.lo = h->arena_base,
		.hi = h->arena_base + (h->arena_pages << MHEAP_PAGE_SHIFT),
	};
	unsigned int r;

	lockdep_assert_held(&h->lock);
	m.work = kvmalloc_array(m.cap, sizeof(*m.work), GFP_KERNEL);
	if (!m.work)
		return -ENOMEM;

	for (r = 0; r < nroots && !m.error; r++) {
		const u64 *w = roots[r].words;
		size_t i;

		for (i = 0; i < roots[r].len / 8; i++) {
			mark_word(&m, w[i]);
			if (!mark_check(&m))
				break;
			/* Keep the list short while roots are read. */
			if (m.n > m.cap / 2)
				mark_drain(&m);
		}
		mark_drain(&m);
	}
	while (!m.error && m.overflow) {
		m.overflow = false;
		m.overflows++;
		mark_rescan(&m);
	}
	kvfree(m.work);
	*objects = m.objects;
	*bytes = m.bytes;
	*overflows = m.overflows;
	return m.error;
}

static void mark_clear_list(struct list_head *head)
{
	struct mspan *s;

	list_for_each_entry(s, head, list)
		bitmap_zero(s->gcmarkbits, s->nelems);
}

/**
 * mgc_clear_marks() - clear the mark bits of every span in use
 * @h: the heap, mheap.lock held, no span unswept
 */
void mgc_clear_marks(struct mheap *h)
{
	unsigned int i;

	lockdep_assert_held(&h->lock);
	for (i = 0; i < MHEAP_NUM_SPANCLASSES; i++) {
		mark_clear_list(&h->central[i].partial);
		mark_clear_list(&h->central[i].full);
		mark_clear_list(&h->central[i].empty);
		mark_clear_list(&h->central[i].cached);
	}
	mark_clear_list(&h->large);
}
