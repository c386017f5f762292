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

/**
 * struct mgc_mark - the state of one mark, kept across calls while a
 *	concurrent mark runs (mgc.mark), under mheap.lock
 * @h: the heap
 * @work: the grey objects
 * @cap: entries of @work
 * @n: entries in use
 * @overflow: an object was marked but not pushed: rescan marked objects
 * @lo: first address of the arena
 * @limit: bytes of the arena the heap has grown into, as of this call
 * @spanmap: mheap.spanmap
 * @peek_pg: the base page @peek_p shows, U64_MAX for none
 * @peek_p: the kernel's view of the last page scanned
 * @objects: objects marked by tracing
 * @bytes: their bytes
 * @black_objects: objects allocated while the mark ran, marked at once
 * @black_bytes: their bytes
 * @overflows: rescans that overflow cost
 * @words: words scanned
 * @next_check: @words at the next check for rescheduling and signals
 * @intr: this call may stop on a fatal signal (a collection's ioctl; not
 *	the background worker, nor an allocation's assist)
 * @yield: this call stops between objects when a call of the program waits
 *	for mheap.lock (the background worker)
 * @error: -EINTR once a fatal signal stopped it
 * @pending: written pages taken by precleaning (mgc_mark_preclean()), to be
 *	scanned again; bit i for base page i of the arena
 * @pending_bits: bits of @pending
 * @pending_next: no bit of @pending below this one is set
 */
struct mgc_mark {
	struct mheap *h;
	struct mgc_grey *work;
	u32 cap;
	u32 n;
	bool overflow;
	u64 lo;
	u64 limit;
	struct mspan ***spanmap;
	u64 peek_pg;
	const u64 *peek_p;
	u64 objects, bytes;
	u64 black_objects, black_bytes;
	u64 overflows;
	u64 words;
	u64 next_check;
	bool intr;
	bool yield;
	int error;
	unsigned long *pending;
	u64 pending_bits;
	u64 pending_next;
};

/*
 * A grey object: where it is and how long it is, so that scanning it needs
 * no span lookup. Should the program free it meanwhile, its bytes are still
 * arena memory, scanned as untrusted words like any other.
 */
struct mgc_grey {
	u64 off;
	u64 len;
};

/* Called with @m->words advanced: false once the mark must stop. */
static bool mark_check_slow(struct mgc_mark *m)
{
	m->next_check = m->words + MARK_CHECK_WORDS;
	if (m->intr && fatal_signal_pending(current))
		m->error = -EINTR;
	else
		cond_resched();
	return !m->error;
}

static __always_inline bool mark_check(struct mgc_mark *m)
{
	if (likely(m->words < m->next_check))
		return !m->error;
	return mark_check_slow(m);
}

/*
 * At the start of each call that marks, under mheap.lock: how this call may
 * stop, and the heap's extent, which may have grown since the last one.
 */
static void mark_enter(struct mgc_mark *m, bool intr, bool yield)
{
	m->intr = intr;
	m->yield = yield;
	m->limit = m->h->grown << MHEAP_PAGE_SHIFT;
}

/*
 * The collector's inner loop: a word that may point into the arena. Every
 * word of the heap goes through here, so it is one bound check, two loads
 * for the span and a multiply for the slot.
 */
static __always_inline void mark_word(struct mgc_mark *m, u64 w)
{
	u64 off = w - m->lo, page = off >> MHEAP_PAGE_SHIFT;
	struct mspan *s;
	u32 idx;

	if (off >= m->limit)	/* also for w below the arena */
		return;
	/* Span-map chunks exist for every page the heap has grown into. */
	s = m->spanmap[page / MHEAP_CHUNK_PAGES][page % MHEAP_CHUNK_PAGES];
	if (!s || s->state != MSPAN_INUSE)
		return;
	/* divmul is 0 for a large span: its only object is slot 0. */
	idx = mspan_slot_of(s, off - (s->start << MHEAP_PAGE_SHIFT));
	if (idx >= s->nelems || !test_bit(idx, s->allocbits) ||
	    __test_and_set_bit(idx, s->gcmarkbits))
		return;
	m->objects++;
	m->bytes += mspan_is_large(s) ? mspan_bytes(s) : s->elemsize;
	if (s->spanclass & 1)	/* noscan */
		return;
	if (unlikely(m->n == m->cap)) {
		m->overflow = true;
		return;
	}
	m->work[m->n].off = (s->start << MHEAP_PAGE_SHIFT) + (u64)idx * s->elemsize;
	m->work[m->n].len = mspan_is_large(s) ? mspan_bytes(s) : s->elemsize;
	m->n++;
}

/* Scan @len bytes of the arena at offset @off for pointers. */
static void mark_scan_arena(struct mgc_mark *m, u64 off, u64 len)
{
	while (len) {
		u64 pg = off >> PAGE_SHIFT;
		unsigned long in = off & ~PAGE_MASK;
		unsigned long n = min_t(u64, len, PAGE_SIZE - in);
		const u64 *p = m->peek_p;
		unsigned long i;

		/* Grey objects come off the list mostly page by page. */
		if (pg != m->peek_pg) {
			p = mheap_arena_peek(m->h, pg);
			/* Pages, once there, stay for the heap's life. */
			if (p) {
				m->peek_pg = pg;
				m->peek_p = p;
			}
		}
		/* A page never touched holds only zeros. */
		if (p) {
			p += in / 8;
			for (i = 0; i < n / 8; i++)
				mark_word(m, READ_ONCE(p[i]));
		}
		m->words += n / 8;
		off += n;
		len -= n;
		if (!mark_check(m))
			return;
	}
}

/*
 * Scan grey objects until none is left or @stop words were scanned, or,
 * for the background worker, until a call of the program waits for the
 * lock. Objects are scanned whole, so stopping never loses one.
 */
static void mark_drain(struct mgc_mark *m, u64 stop)
{
	while (m->n && !m->error && m->words < stop) {
		m->n--;
		mark_scan_arena(m, m->work[m->n].off, m->work[m->n].len);
		if (m->yield && mheap_lock_wanted(m->h))
			break;
	}
}

/* Scan every marked object of a span again (overflow recovery). */
static void mark_rescan_span(struct mgc_mark *m, struct mspan *s)
{
	u64 base = mheap_span_base(m->h, s);
	unsigned long idx;

	if (s->spanclass & 1)
		return;
	for_each_set_bit(idx, s->gcmarkbits, s->nelems) {
		mark_scan_arena(m, base - m->h->arena_base + idx * s->elemsize,
				mspan_is_large(s) ? mspan_bytes(s) : s->elemsize);
		mark_drain(m, U64_MAX);
		if (m->error)
			return;
	}
}

static void mark_rescan_list(struct mgc_mark *m, struct list_head *head)
{
	struct mspan *s;

	list_for_each_entry(s, head, list) {
		mark_rescan_span(m, s);
		if (m->error)
			return;
	}
}

/* Scan every marked object of the heap again. */
static void mark_rescan(struct mgc_mark *m)
{
	struct mheap *h = m->h;
	unsigned int i;

	for (i = 0; i < MHEAP_NUM_SPANCLASSES && !m->error; i++) {
		mark_rescan_list(m, &h->central[i].partial);
		mark_rescan_list(m, &h->central[i].full);
		mark_rescan_list(m, &h->central[i].empty);
		mark_rescan_list(m, &h->central[i].cached);
	}
	if (!m->error)
		mark_rescan_list(m, &h->large);
}

/* Scan the marked objects' words on one written page of the arena. */
static void mark_dirty_page(struct mgc_mark *m, u64 addr)
{
	struct mheap *h = m->h;
	u64 end = addr + PAGE_SIZE, base, first, last, idx;
	struct mspan *s = mheap_span_of_addr(h, addr);

	if (!s || s->state != MSPAN_INUSE || (s->spanclass & 1))
		return;
	base = mheap_span_base(h, s);
	if (mspan_is_large(s)) {
		if (test_bit(0, s->gcmarkbits))
			mark_scan_arena(m, addr - h->arena_base, PAGE_SIZE);
		return;
	}
	first = (addr - base) / s->elemsize;
	last = min_t(u64, (end - 1 - base) / s->elemsize + 1, s->nelems);
	for (idx = first; idx < last && !m->error; idx++) {
		u64 lo = base + idx * s->elemsize, hi = lo + s->elemsize;

		if (!test_bit(idx, s->gcmarkbits))
			continue;
		lo = max(lo, addr);
		hi = min(hi, end);
		mark_scan_arena(m, lo - h->arena_base, hi - lo);
	}
}

/* Scan the pending pages (precleaning's) until none is left or @stop. */
static void mark_pending(struct mgc_mark *m, u64 stop)
{
	while (!m->error && m->words < stop) {
		u64 i = find_next_bit(m->pending, m->pending_bits, m->pending_next);

		m->pending_next = i + 1;
		if (i >= m->pending_bits)
			return;
		__clear_bit(i, m->pending);
		mark_dirty_page(m, m->lo + (i << PAGE_SHIFT));
		if (m->n > m->cap / 2)
			mark_drain(m, stop);
		if (m->yield && mheap_lock_wanted(m->h))
			return;
	}
}

static bool mark_pending_left(const struct mgc_mark *m)
{
	return m->pending && m->pending_next < m->pending_bits;
}

/**
 * mgc_mark_begin() - set up a mark
 * @h: the heap, mheap.lock held, every span swept and none cached, mark
 *	bits clear
 *
 * Return: 0 or -ENOMEM (for the work list).
 */
int mgc_mark_begin(struct mheap *h)
{
	struct mgc_mark *m;

	lockdep_assert_held(&h->lock);
	m = kzalloc(sizeof(*m), GFP_KERNEL_ACCOUNT);
	if (!m)
		return -ENOMEM;
	m->h = h;
	m->cap = h->gc.work_cap ?: MGC_WORK_MAX;
	m->lo = h->arena_base;
	m->spanmap = h->spanmap;
	m->peek_pg = U64_MAX;
	m->next_check = MARK_CHECK_WORDS;
	m->work = kvmalloc_array(m->cap, sizeof(*m->work), GFP_KERNEL_ACCOUNT);
	if (!m->work) {
		kfree(m);
		return -ENOMEM;
	}
	h->gc.mark = m;
	return 0;
}

/**
 * mgc_mark_end() - free a mark's state
 * @h: the heap, mheap.lock held
 * @res: out, may be NULL: what the mark found
 */
void mgc_mark_end(struct mheap *h, struct mgc_mark_result *res)
{
	struct mgc_mark *m = h->gc.mark;

	lockdep_assert_held(&h->lock);
	if (!m)
		return;
	if (res) {
		res->objects = m->objects + m->black_objects;
		res->bytes = m->bytes + m->black_bytes;
		res->traced_bytes = m->bytes;
		res->overflows = m->overflows;
	}
	kvfree(m->pending);
	kvfree(m->work);
	kfree(m);
	h->gc.mark = NULL;
}

/**
 * mgc_mark_roots() - mark what @roots point at
 * @h: the heap, mheap.lock held, a mark begun
 * @roots: memory to scan as roots
 * @nroots: entries of @roots
 * @intr: stop on a fatal signal
 *
 * Grey objects are scanned only as far as needed to keep room on the list.
 *
 * Return: 0 or -EINTR.
 */
int mgc_mark_roots(struct mheap *h, const struct mgc_root *roots,
		   unsigned int nroots, bool intr)
{
	struct mgc_mark *m = h->gc.mark;
	unsigned int r;

	lockdep_assert_held(&h->lock);
	mark_enter(m, intr, false);
	for (r = 0; r < nroots && !m->error; r++) {
		const u64 *w = roots[r].words;
		size_t i;

		for (i = 0; i < roots[r].len / 8; i++) {
			mark_word(m, w[i]);
			m->words++;
			if (!mark_check(m))
				break;
			if (m->n > m->cap / 2)
				mark_drain(m, m->words + MARK_CHECK_WORDS * 16);
		}
	}
	return m->error;
}

/**
 * mgc_mark_step() - scan grey objects
 * @h: the heap, mheap.lock held, a mark begun
 * @budget: words to scan at most (roughly: an object is scanned whole);
 *	U64_MAX for all
 * @how: MGC_MARK_INTR: stop on a fatal signal; MGC_MARK_YIELD: stop
 *	between objects when a call of the program waits for mheap.lock
 *
 * An overflowed list is recovered here, by a rescan of every marked object
 * once the list has drained.
 *
 * Pages precleaning took are scanned here too.
 *
 * Return: 1 if no grey object or pending page is left, 0 if some are,
 * -EINTR.
 */
int mgc_mark_step(struct mheap *h, u64 budget, unsigned int how)
{
	struct mgc_mark *m = h->gc.mark;
	u64 stop;

	lockdep_assert_held(&h->lock);
	mark_enter(m, how & MGC_MARK_INTR, how & MGC_MARK_YIELD);
	stop = budget == U64_MAX ? U64_MAX : m->words + budget;
	for (;;) {
		mark_drain(m, stop);
		if (m->error)
			return m->error;
		if (m->n)
			return 0;
		if (mark_pending_left(m)) {
			if (m->words >= stop || (m->yield && mheap_lock_wanted(h)))
				return 0;
			mark_pending(m, stop);
			continue;
		}
		if (!m->overflow)
			return 1;
		if (m->words >= stop || (m->yield && mheap_lock_wanted(h)))
			return 0;
		m->overflow = false;
		m->overflows++;
		mark_rescan(m);
	}
}

/**
 * mgc_mark_dirty() - scan again what the program wrote during the mark
 * @h: the heap, mheap.lock held, a mark begun
 * @dirty: bit i set for each base page i of the arena written since the
 *	mark began; NULL if not known (every marked object is scanned again)
 * @nbits: bits of @dirty
 *
 * Only marked objects need it: a marked object was scanned, or is grey and
 * will be scanned whole; the words written to it since are scanned here.
 * Pages are scanned, not whole objects: the rest of a big object was
 * scanned when it had to be.
 *
 * Return: 0 or -EINTR.
 */
int mgc_mark_dirty(struct mheap *h, const unsigned long *dirty, u64 nbits)
{
	struct mgc_mark *m = h->gc.mark;
	unsigned long i;

	lockdep_assert_held(&h->lock);
	mark_enter(m, true, false);
	if (!dirty) {
		mark_rescan(m);
		return m->error;
	}
	for_each_set_bit(i, dirty, nbits) {
		mark_dirty_page(m, m->lo + ((u64)i << PAGE_SHIFT));
		if (m->error)
			break;
		if (m->n > m->cap / 2)
			mark_drain(m, U64_MAX);
	}
	return m->error;
}

/**
 * mgc_mark_preclean() - take the pages written so far, to scan them again
 *	before the mark's end (the "mostly parallel" collector's cleaning)
 * @h: the heap, mheap.lock held, and the owner's mmap_lock; a concurrent
 *	mark with the arena's dirty bits armed
 *
 * The pages' dirty bits start anew, so the end sees only what is written
 * from now on; the pages taken are scanned by the following steps, or by
 * the end if they are not done by then.
 *
 * Return: pages newly taken; -ENOMEM (nothing was taken); or an error of
 * mheap_arena_dirty_take(), after which writes must count as unknown.
 */
long mgc_mark_preclean(struct mheap *h)
{
	struct mgc_mark *m = h->gc.mark;
	u64 nbits = h->grown << (MHEAP_PAGE_SHIFT - PAGE_SHIFT);
	u64 before;
	int ret;

	lockdep_assert_held(&h->lock);
	if (nbits > m->pending_bits) {
		unsigned long *bits = kvcalloc(BITS_TO_LONGS(nbits),
					       sizeof(*bits),
					       GFP_KERNEL_ACCOUNT);

		if (!bits)
			return -ENOMEM;
		if (m->pending)
			bitmap_copy(bits, m->pending, m->pending_bits);
		kvfree(m->pending);
		m->pending = bits;
		m->pending_bits = nbits;
	}
	before = bitmap_weight(m->pending, m->pending_bits);
	ret = mheap_arena_dirty_take(h, m->pending, nbits);
	m->pending_next = 0;
	if (ret)
		return ret;
	return bitmap_weight(m->pending, m->pending_bits) - before;
}

/**
 * mgc_mark_black() - mark an object allocated while a concurrent mark runs
 * @h: the heap, mheap.lock held, in MGC_PHASE_MARK
 * @s: its span
 * @idx: its slot (0 for a large object)
 *
 * Go allocates black during a mark: the object survives this cycle. What the
 * program writes into it is on written pages, scanned at the mark's end.
 */
void mgc_mark_black(struct mheap *h, struct mspan *s, unsigned long idx)
{
	struct mgc_mark *m = h->gc.mark;

	lockdep_assert_held(&h->lock);
	if (__test_and_set_bit(idx, s->gcmarkbits))
		return;
	m->black_objects++;
	m->black_bytes += mspan_is_large(s) ? mspan_bytes(s) : s->elemsize;
}

/**
 * mgc_mark_unmark() - an object freed while a concurrent mark runs
 * @h: the heap, mheap.lock held
 * @s: its small span
 * @idx: its slot
 *
 * Free means free: the mark bit goes, and the object leaves the counts
 * (those of tracing, or if they are short, of allocate-black).
 */
void mgc_mark_unmark(struct mheap *h, struct mspan *s, unsigned long idx)
{
	struct mgc_mark *m = h->gc.mark;

	lockdep_assert_held(&h->lock);
	if (!__test_and_clear_bit(idx, s->gcmarkbits) || !m)
		return;
	if (m->objects && m->bytes >= s->elemsize) {
		m->objects--;
		m->bytes -= s->elemsize;
	} else if (m->black_objects && m->black_bytes >= s->elemsize) {
		m->black_objects--;
		m->black_bytes -= s->elemsize;
	}
}

/**
 * mgc_mark_black_word() - mgc_mark_black() for a word of slots
 * @h: the heap, mheap.lock held, in MGC_PHASE_MARK
 * @s: a small span
 * @w: the word of its bitmaps
 * @bits: the slots of that word allocated
 */
void mgc_mark_black_word(struct mheap *h, struct mspan *s, unsigned int w,
			 unsigned long bits)
{
	struct mgc_mark *m = h->gc.mark;
	unsigned long fresh = bits & ~s->gcmarkbits[w];

	lockdep_assert_held(&h->lock);
	s->gcmarkbits[w] |= bits;
	m->black_objects += hweight_long(fresh);
	m->black_bytes += (u64)hweight_long(fresh) * s->elemsize;
}

/**
 * mgc_mark_progress() - words scanned so far by the current mark
 * @h: the heap, mheap.lock held, a mark begun
 *
 * Return: the count.
 */
u64 mgc_mark_progress(struct mheap *h)
{
	return h->gc.mark->words;
}

/**
 * mgc_mark() - mark everything reachable from @roots, all at once
 * @h: the heap, mheap.lock held, every span swept and none cached, mark
 *	bits clear
 * @roots: memory to scan as roots
 * @nroots: entries of @roots
 * @res: out: what it found
 *
 * Return: 0; -ENOMEM for the work list; -EINTR on a fatal signal (the mark
 * bits are then partial: the caller clears them).
 */
int mgc_mark(struct mheap *h, const struct mgc_root *roots,
	     unsigned int nroots, struct mgc_mark_result *res)
{
	int ret = mgc_mark_begin(h);

	if (ret)
		return ret;
	ret = mgc_mark_roots(h, roots, nroots, true);
	if (!ret)
		ret = mgc_mark_step(h, U64_MAX, MGC_MARK_INTR);
	mgc_mark_end(h, res);
	return ret < 0 ? ret : 0;
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
