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
 * more. No recursion, no unbounded allocation. A marker takes its grey
 * objects off the list a few at a time and prefetches them before scanning
 * the first (mark_drain()), so that their cache misses overlap.
 *
 * Two markers may run at once: the program's calls (a collection, an
 * allocation's assist), which hold mheap.lock, and the concurrent mark's
 * background worker, which scans without it (mgc_mark_bg_run()), so that the
 * two CPUs mark in parallel instead of taking turns. Each has a work list of
 * its own; grey objects pass between them through a shared list under a
 * spinlock. What makes marking without mheap.lock safe:
 *  - mark bits are set and cleared with atomic bit operations by everyone;
 *  - a span becomes MSPAN_INUSE by a release store once every field the mark
 *    reads is set (mspan_init_small(), mspan_init_large()), and the mark
 *    reads the state with an acquire load;
 *  - while a mark runs, no span in use is freed or changes its size class,
 *    and no span descriptor is freed (mheap_free_span() and the page heap
 *    defer them to the mark's end), so a descriptor read from the span map
 *    stays what it was;
 *  - arena pages, once there, stay for the heap's life (arena.c);
 *  - a span allocated during the mark holds only objects allocated black,
 *    so a pointer the worker misses because it read the span map before the
 *    span was there loses nothing;
 *  - the mark's end stops the worker (mgc.bg_stop) and waits for it to leave
 *    (mgc.bg_active) before it takes the worker's list and frees anything;
 *  - written pages that precleaning found are taken for the worker to scan
 *    and given back if it stopped first, both under mheap.lock while it is
 *    not scanning (mark_bg_claim_pages(), mark_take_bg()), so none is lost.
 */
#include <linux/kernel.h>
#include <linux/bitmap.h>
#include <linux/cache.h>
#include <linux/errno.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/prefetch.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/wait_bit.h>
#include "mgc.h"

/* Words scanned between checks for rescheduling and fatal signals. */
#define MARK_CHECK_WORDS	4096
/* Words scanned between looks at the other marker's needs. */
#define MARK_LOOK_WORDS		256
/* Pending pages the worker takes at a time, to scan without mheap.lock. */
#define MARK_BG_PAGES		256
/* Entries of a marker's own work list at most. */
#define MARK_LOCAL_MAX		8192

/*
 * A grey object: where it is and how long it is, so that scanning it needs
 * no span lookup. Should the program free it meanwhile, its bytes are still
 * arena memory, scanned as untrusted words like any other.
 */
struct mgc_grey {
	u64 off;
	u64 len;
};

/**
 * struct mgc_gcw - one marker's state (Go's gcWork)
 * @m: the mark
 * @work: its grey objects
 * @cap: entries of @work
 * @n: entries in use
 * @lo: first address of the arena
 * @limit: bytes of the arena the heap had grown into when this marker last
 *	started (later spans hold only objects allocated black)
 * @spanmap: mheap.spanmap
 * @peek_pg: the base page @peek_p shows, U64_MAX for none
 * @peek_p: the kernel's view of the last page scanned
 * @objects: objects marked by tracing
 * @bytes: their bytes
 * @words: words scanned
 * @next_check: @words at the next check for rescheduling and signals
 * @next_look: @words at the next look at the other marker and mgc.bg_stop
 * @intr: this call may stop on a fatal signal (a collection's ioctl)
 * @yield: stop between objects when a call of the program waits for
 *	mheap.lock (the worker's batches under the lock)
 * @bg: the background worker without mheap.lock: stop on mgc.bg_stop
 * @assist: an allocation's assist: stop while the worker waits for
 *	mheap.lock (mgc.bg_waiting)
 * @atomic: another marker may run at once (a concurrent mark): mark bits
 *	are set atomically and span states read with acquire
 * @error: -EINTR once a fatal signal stopped it, -EAGAIN once mgc.bg_stop
 */
struct mgc_gcw {
	struct mgc_mark *m;
	struct mgc_grey *work;
	u32 cap;
	u32 n;
	u64 lo;
	u64 limit;
	struct mspan ***spanmap;
	u64 peek_pg;
	const u64 *peek_p;
	u64 objects, bytes;
	u64 words;
	u64 next_check;
	u64 next_look;
	bool intr;
	bool yield;
	bool bg;
	bool assist;
	bool atomic;
	int error;
};

/**
 * struct mgc_mark - the state of one mark, kept across calls while a
 *	concurrent mark runs (mgc.mark)
 * @h: the heap
 * @held: the marker of calls holding mheap.lock
 * @bg: the background worker's, used without mheap.lock while
 *	mgc.bg_active, else under it
 * @share_lock: protects @share and @share_n
 * @share: grey objects either marker may take
 * @share_cap: entries of @share
 * @share_n: entries in use
 * @hungry: a marker ran out of work: the other should share some
 * @held_active: a call holding mheap.lock is marking (mgc_mark_step()), so
 *	the worker, out of work, waits for what it shares instead of leaving
 * @overflow: an object was marked but not pushed: rescan marked objects
 * @black_objects: objects allocated while the mark ran, marked at once
 *	(mheap.lock)
 * @black_bytes: their bytes
 * @unmarked_objects: marked objects the program freed during the mark
 *	(mheap.lock)
 * @unmarked_bytes: their bytes
 * @overflows: rescans that overflow cost (mheap.lock)
 * @pending: written pages taken by precleaning (mgc_mark_preclean()), to be
 *	scanned again; bit i for base page i of the arena (mheap.lock)
 * @pending_bits: bits of @pending
 * @pending_next: no bit of @pending below this one is set
 * @bg_pages: pending pages the worker took to scan without mheap.lock
 *	(taken and given back under it, while the worker is not scanning)
 * @bg_npages: entries of @bg_pages
 * @bg_pages_done: entries of @bg_pages the worker has scanned
 */
struct mgc_mark {
	struct mheap *h;
	/*
	 * Each on cache lines of its own: the two markers write their state
	 * all the time, from two CPUs, and what both touch (from @share_lock
	 * on) is apart from either.
	 */
	struct mgc_gcw held ____cacheline_aligned_in_smp;
	struct mgc_gcw bg ____cacheline_aligned_in_smp;
	spinlock_t share_lock ____cacheline_aligned_in_smp; /* @share, @share_n */
	struct mgc_grey *share;
	u32 share_cap;
	u32 share_n;
	bool hungry;
	bool held_active;
	bool overflow;
	u64 black_objects, black_bytes;
	u64 unmarked_objects, unmarked_bytes;
	u64 overflows;
	unsigned long *pending;
	u64 pending_bits;
	u64 pending_next;
	u64 bg_pages[MARK_BG_PAGES];
	u32 bg_npages;
	u32 bg_pages_done;
};

/* Called with @g->words advanced: false once the marker must stop. */
static bool mark_check_slow(struct mgc_gcw *g)
{
	g->next_check = g->words + MARK_CHECK_WORDS;
	if (g->intr && fatal_signal_pending(current))
		g->error = -EINTR;
	else if (g->bg && READ_ONCE(g->m->h->gc.bg_stop))
		g->error = -EAGAIN;
	else
		cond_resched();
	return !g->error;
}

static __always_inline bool mark_check(struct mgc_gcw *g)
{
	if (likely(g->words < g->next_check))
		return !g->error;
	return mark_check_slow(g);
}

/* Whether a marker should stop between two objects. */
static bool mark_should_stop(struct mgc_gcw *g)
{
	struct mheap *h = g->m->h;

	if (g->yield && mheap_lock_wanted(h))
		return true;
	if (g->assist && READ_ONCE(h->gc.bg_waiting))
		return true;
	if (g->bg && READ_ONCE(h->gc.bg_stop)) {
		g->error = -EAGAIN;
		return true;
	}
	return false;
}

/*
 * At the start of each call that marks: how this call may stop, and the
 * heap's extent, which may have grown since the last one (read under
 * mheap.lock).
 */
static void mark_enter(struct mgc_gcw *g, bool intr, bool yield)
{
	g->intr = intr;
	g->yield = yield;
	g->assist = false;
	g->error = 0;
	g->limit = g->m->h->grown << MHEAP_PAGE_SHIFT;
	g->atomic = g->m->h->gc.phase == MGC_PHASE_MARK || g->bg;
}

/*
 * Move up to @k of @g's newest grey objects to the shared list.
 * Return: how many moved.
 */
static u32 mark_share_put(struct mgc_gcw *g, u32 k)
{
	struct mgc_mark *m = g->m;

	spin_lock(&m->share_lock);
	k = min3(k, g->n, m->share_cap - m->share_n);
	memcpy(m->share + m->share_n, g->work + g->n - k, k * sizeof(*g->work));
	WRITE_ONCE(m->share_n, m->share_n + k);
	spin_unlock(&m->share_lock);
	g->n -= k;
	return k;
}

/* Take up to half a list's worth from the shared list into an empty @g. */
static u32 mark_share_get(struct mgc_gcw *g)
{
	struct mgc_mark *m = g->m;
	u32 k;

	if (!READ_ONCE(m->share_n))
		return 0;
	spin_lock(&m->share_lock);
	k = min_t(u32, m->share_n, max_t(u32, g->cap / 2, 1));
	memcpy(g->work, m->share + m->share_n - k, k * sizeof(*g->work));
	WRITE_ONCE(m->share_n, m->share_n - k);
	spin_unlock(&m->share_lock);
	g->n = k;
	return k;
}

/*
 * The worker ran out while an allocation's assist or a collection marks
 * under mheap.lock: ask it to share, and wait a little for that, since
 * leaving would have the worker queue for mheap.lock behind that very call
 * while it marks alone. Return: true if there is shared work to take.
 */
static noinline bool mark_bg_wait(struct mgc_gcw *g)
{
	struct mgc_mark *m = g->m;

	WRITE_ONCE(m->hungry, true);
	while (!READ_ONCE(m->share_n)) {
		if (!READ_ONCE(m->held_active) || need_resched() ||
		    READ_ONCE(m->h->gc.bg_stop))
			return false;
		cpu_relax();
	}
	return true;
}

/* @g's list is full: make room on the shared list, or note the overflow. */
static noinline bool mark_make_room(struct mgc_gcw *g)
{
	if (mark_share_put(g, max_t(u32, g->cap / 2, 1)))
		return true;
	WRITE_ONCE(g->m->overflow, true);
	return false;
}

/* Put [@off, @off + @len) of the arena on @g's list of grey work. */
static __always_inline void mark_push(struct mgc_gcw *g, u64 off, u64 len)
{
	if (unlikely(g->n == g->cap) && !mark_make_room(g))
		return;
	g->work[g->n].off = off;
	g->work[g->n].len = len;
	g->n++;
}

/*
 * The span the last pointer looked up fell in. Neighbouring objects point
 * into the same span far more often than not (a tree's nodes are allocated
 * together), and a hit saves the span-map walk. A span in use stays so
 * while a mark runs, so the cache holds for a whole scan.
 * @lo: arena offset of the span's first byte
 * @len: its bytes; 0 for none
 * @s: the span
 */
struct mark_cache {
	u64 lo;
	u64 len;
	struct mspan *s;
};

/*
 * The collector's inner loop: a word that may point into the arena. Every
 * word of the heap goes through here, so it is one bound check, the span
 * (cached, or two loads) and a multiply for the slot. @lo, @limit and
 * @spanmap are @g's, passed in registers: the acquire below is a compiler
 * barrier, and under emulation (TCG) every load counts.
 */
static __always_inline void mark_word(struct mgc_gcw *g, u64 lo, u64 limit,
				      struct mspan ***spanmap, bool atomic,
				      struct mark_cache *c, u64 w)
{
	u64 off = w - lo, page = off >> MHEAP_PAGE_SHIFT;
	struct mspan *s;
	u32 idx;

	if (off - c->lo < c->len) {
		s = c->s;
		goto found;
	}
	if (off >= limit)	/* also for w below the arena */
		return;
	/* Span-map chunks exist for every page the heap has grown into. */
	s = READ_ONCE(spanmap[page / MHEAP_CHUNK_PAGES][page % MHEAP_CHUNK_PAGES]);
	/*
	 * The fields below were set before the state said so; with the world
	 * stopped nothing changes them, and the acquire, a compiler barrier,
	 * is not paid.
	 */
	if (!s || (atomic ? smp_load_acquire(&s->state) : s->state) !=
		  MSPAN_INUSE)
		return;
	c->s = s;
	c->lo = s->start << MHEAP_PAGE_SHIFT;
	c->len = s->npages << MHEAP_PAGE_SHIFT;
found:
	/* divmul is 0 for a large span: its only object is slot 0. */
	idx = mspan_slot_of(s, off - c->lo);
	if (idx >= s->nelems || !test_bit(idx, s->allocbits))
		return;
	/* Two markers only while a concurrent mark runs. */
	if (atomic) {
		if (test_bit(idx, s->gcmarkbits) ||
		    test_and_set_bit(idx, s->gcmarkbits))
			return;
	} else if (__test_and_set_bit(idx, s->gcmarkbits)) {
		return;
	}
	g->objects++;
	g->bytes += mspan_is_large(s) ? mspan_bytes(s) : s->elemsize;
	if (s->spanclass & 1)	/* noscan */
		return;
	mark_push(g, c->lo + (u64)idx * s->elemsize,
		  mspan_is_large(s) ? mspan_bytes(s) : s->elemsize);
}

/*
 * A scan told to stop part-way through an object (the worker at the mark's
 * end, most often in a large object): what is left goes back on the list
 * for whoever marks next, since the object is already marked and nothing
 * else would scan the rest. A full list is an overflow: the rescan of
 * every marked object that recovers it covers the rest too.
 */
static noinline void mark_scan_rest(struct mgc_gcw *g, u64 off, u64 len)
{
	mark_push(g, off, len);
}

/*
 * Scan @len bytes of the arena at offset @off for pointers. Inlined into
 * mark_drain(), which calls it once per grey object, most of them a few
 * words long: a call and return per object cost as much as scanning it,
 * and more under emulation, where each return is a lookup.
 */
static __always_inline void mark_scan(struct mgc_gcw *g, u64 off, u64 len,
				      struct mark_cache *c)
{
	u64 lo = g->lo, limit = g->limit;
	struct mspan ***spanmap = g->spanmap;
	bool atomic = g->atomic;

	while (len) {
		u64 pg = off >> PAGE_SHIFT;
		unsigned long in = off & ~PAGE_MASK;
		unsigned long n = min_t(u64, len, PAGE_SIZE - in);
		const u64 *p = g->peek_p;
		unsigned long i;

		/* Grey objects come off the list mostly page by page. */
		if (pg != g->peek_pg) {
			p = mheap_arena_peek(g->m->h, pg);
			/* Pages, once there, stay for the heap's life. */
			if (p) {
				g->peek_pg = pg;
				g->peek_p = p;
			}
		}
		/* A page never touched holds only zeros. */
		if (p) {
			p += in / 8;
			for (i = 0; i < n / 8; i++)
				mark_word(g, lo, limit, spanmap, atomic, c,
					  READ_ONCE(p[i]));
		}
		g->words += n / 8;
		off += n;
		len -= n;
		if (unlikely(!mark_check(g)) && len) {
			mark_scan_rest(g, off, len);
			return;
		}
	}
}

static noinline void mark_scan_arena(struct mgc_gcw *g, u64 off, u64 len)
{
	struct mark_cache c = { };

	mark_scan(g, off, len, &c);
}

/*
 * Grey objects taken off the list at a time, all prefetched before the
 * first is scanned. Almost every grey object of a heap larger than the
 * cache is a miss, and the next one's address is only known once the list
 * gives it: scanning each as it comes waits for one miss at a time, a batch
 * for several at once (the idea of Cher, Hosking and Vijaykumar's prefetch
 * FIFO, ASPLOS 2004; a batch costs less per object than a FIFO, which made
 * marks of heaps that fit in the cache a third slower). A 64 MiB tree of
 * 64-byte nodes marks in 22 ms instead of 79.
 */
#define MARK_AHEAD	8

/* @p: the kernel's view of the page @off starts in, NULL for a zero page */
struct mark_ahead_obj {
	u64 off;
	u64 len;
	const u64 *p;
};

/*
 * Take up to MARK_AHEAD of @g's newest grey objects into @b, newest first,
 * and prefetch the first line of each. Return: how many.
 */
static __always_inline u32 mark_ahead_take(struct mgc_gcw *g,
					   struct mark_ahead_obj *b)
{
	u32 k = min_t(u32, g->n, MARK_AHEAD), top = g->n, i;
	u64 pg = U64_MAX;
	const u64 *p = NULL;

	g->n -= k;
	for (i = 0; i < k; i++) {
		b[i].off = g->work[top - 1 - i].off;
		b[i].len = g->work[top - 1 - i].len;
		if (b[i].off >> PAGE_SHIFT != pg) {
			pg = b[i].off >> PAGE_SHIFT;
			p = mheap_arena_peek(g->m->h, pg);
		}
		b[i].p = p;
		if (p)
			prefetch((const char *)p + (b[i].off & ~PAGE_MASK));
	}
	return k;
}

/*
 * Objects taken ahead but not scanned go back on the list when a drain
 * stops: they are marked, and only the list would have them scanned.
 */
static noinline void mark_ahead_return(struct mgc_gcw *g,
				       const struct mark_ahead_obj *b, u32 k)
{
	while (k--)
		mark_push(g, b[k].off, b[k].len);
}

/*
 * Scan grey objects, taking more from the shared list when @g's own run
 * out, until none is left or @stop words were scanned, or the marker should
 * stop. It stops between objects, or, told to, part-way through one, whose
 * rest goes back on the list: none is lost. A hungry other marker gets
 * half of what is left.
 */
static void mark_drain(struct mgc_gcw *g, u64 stop)
{
	struct mgc_mark *m = g->m;
	struct mark_cache c = { };
	struct mark_ahead_obj b[MARK_AHEAD];
	u32 i, k;

	while (!g->error && g->words < stop) {
		if (!g->n && !mark_share_get(g)) {
			if (!g->bg || !mark_bg_wait(g))
				return;
			continue;
		}
		k = mark_ahead_take(g, b);
		for (i = 0; i < k; i++) {
			/* Pages, once there, stay for the heap's life. */
			if (b[i].p) {
				g->peek_pg = b[i].off >> PAGE_SHIFT;
				g->peek_p = b[i].p;
			}
			mark_scan(g, b[i].off, b[i].len, &c);
			if (g->error || g->words >= stop ||
			    (g->yield && mheap_lock_wanted(m->h)))
				goto out;
			/* The rest is looked at every so many words. */
			if (g->words < g->next_look)
				continue;
			g->next_look = g->words + MARK_LOOK_WORDS;
			if (mark_should_stop(g))
				goto out;
			if (unlikely(READ_ONCE(m->hungry)) && g->n > 1 &&
			    mark_share_put(g, g->n / 2))
				WRITE_ONCE(m->hungry, false);
		}
		continue;
out:
		mark_ahead_return(g, b + i + 1, k - i - 1);
		return;
	}
}

/* Scan every marked object of a span again (overflow recovery). */
static void mark_rescan_span(struct mgc_gcw *g, struct mspan *s)
{
	struct mheap *h = g->m->h;
	u64 base = mheap_span_base(h, s);
	unsigned long idx;

	if (s->spanclass & 1)
		return;
	for_each_set_bit(idx, s->gcmarkbits, s->nelems) {
		mark_scan_arena(g, base - h->arena_base + idx * s->elemsize,
				mspan_is_large(s) ? mspan_bytes(s) : s->elemsize);
		mark_drain(g, U64_MAX);
		if (g->error)
			return;
	}
}

static void mark_rescan_list(struct mgc_gcw *g, struct list_head *head)
{
	struct mspan *s;

	list_for_each_entry(s, head, list) {
		mark_rescan_span(g, s);
		if (g->error)
			return;
	}
}

/* Scan every marked object of the heap again, under mheap.lock. */
static void mark_rescan(struct mgc_gcw *g)
{
	struct mheap *h = g->m->h;
	unsigned int i;

	for (i = 0; i < MHEAP_NUM_SPANCLASSES && !g->error; i++) {
		mark_rescan_list(g, &h->central[i].partial);
		mark_rescan_list(g, &h->central[i].full);
		mark_rescan_list(g, &h->central[i].empty);
		mark_rescan_list(g, &h->central[i].cached);
	}
	if (!g->error)
		mark_rescan_list(g, &h->large);
}

/*
 * Scan the marked objects' words on one written page of the arena. Most
 * such pages are full of objects allocated black since the mark began: a
 * run of marked neighbours is scanned as one range, with one span cache,
 * rather than object by object.
 */
static void mark_dirty_page(struct mgc_gcw *g, u64 addr)
{
	struct mheap *h = g->m->h;
	u64 end = addr + PAGE_SIZE, base, first, last, idx, stop, lo, hi;
	u64 page = (addr - g->lo) >> MHEAP_PAGE_SHIFT;
	struct mark_cache c = { };
	struct mspan *s;

	/* As mark_word(): the worker may be here without mheap.lock. */
	if (addr - g->lo >= g->limit)
		return;
	s = READ_ONCE(g->spanmap[page / MHEAP_CHUNK_PAGES][page % MHEAP_CHUNK_PAGES]);
	/* Acquire: pairs with the release that made the span MSPAN_INUSE. */
	if (!s || (g->atomic ? smp_load_acquire(&s->state) : s->state) !=
		  MSPAN_INUSE || (s->spanclass & 1))
		return;
	base = mheap_span_base(h, s);
	if (mspan_is_large(s)) {
		if (test_bit(0, s->gcmarkbits))
			mark_scan_arena(g, addr - h->arena_base, PAGE_SIZE);
		return;
	}
	first = (addr - base) / s->elemsize;
	last = min_t(u64, (end - 1 - base) / s->elemsize + 1, s->nelems);
	/*
	 * Unmarked slots are passed a word of bits at a time: a written page
	 * of an empty span, or of dead objects, costs next to nothing.
	 */
	for (idx = find_next_bit(s->gcmarkbits, last, first);
	     idx < last && !g->error;
	     idx = find_next_bit(s->gcmarkbits, last, stop)) {
		stop = find_next_zero_bit(s->gcmarkbits, last, idx);
		lo = max(base + idx * s->elemsize, addr);
		hi = min(base + stop * s->elemsize, end);
		mark_scan(g, lo - h->arena_base, hi - lo, &c);
	}
}

/* Scan the pending pages (precleaning's) until none is left or @stop. */
static void mark_pending(struct mgc_gcw *g, u64 stop)
{
	struct mgc_mark *m = g->m;

	while (!g->error && g->words < stop) {
		u64 i = find_next_bit(m->pending, m->pending_bits, m->pending_next);

		m->pending_next = i + 1;
		if (i >= m->pending_bits)
			return;
		__clear_bit(i, m->pending);
		mark_dirty_page(g, g->lo + (i << PAGE_SHIFT));
		if (g->n > g->cap / 2)
			mark_drain(g, stop);
		if (mark_should_stop(g))
			return;
	}
}

static bool mark_pending_left(const struct mgc_mark *m)
{
	return m->pending && m->pending_next < m->pending_bits;
}

/* Whether the worker scans without mheap.lock now. */
static bool mark_bg_active(struct mheap *h)
{
	/* Acquire: pairs with mgc_mark_bg_run()'s release of its list. */
	return smp_load_acquire(&h->gc.bg_active);
}

/*
 * Under mheap.lock with the worker not scanning: take its grey objects,
 * so that what it left is not left undone.
 */
static bool mark_take_bg(struct mgc_gcw *g)
{
	struct mgc_mark *m = g->m;
	struct mgc_gcw *bg = &m->bg;
	u32 k;

	/* Pages it took and did not scan are pending again. */
	for (k = m->bg_pages_done; k < m->bg_npages; k++) {
		__set_bit(m->bg_pages[k], m->pending);
		m->pending_next = min(m->pending_next, m->bg_pages[k]);
	}
	m->bg_npages = 0;
	m->bg_pages_done = 0;

	k = min(bg->n, g->cap - g->n);
	memcpy(g->work + g->n, bg->work + bg->n - k, k * sizeof(*g->work));
	bg->n -= k;
	g->n += k;
	return k;
}

static void mark_gcw_reset(struct mgc_gcw *g)
{
	g->n = 0;
	g->lo = g->m->h->arena_base;
	g->spanmap = g->m->h->spanmap;
	g->peek_pg = U64_MAX;
	g->peek_p = NULL;
	g->objects = 0;
	g->bytes = 0;
	g->words = 0;
	g->next_check = MARK_CHECK_WORDS;
	g->next_look = 0;
	g->error = 0;
}

static int mark_gcw_init(struct mgc_mark *m, struct mgc_gcw *g, u32 cap)
{
	g->m = m;
	g->cap = cap;
	mark_gcw_reset(g);
	g->work = kvmalloc_array(cap, sizeof(*g->work), MHEAP_GFP);
	return g->work ? 0 : -ENOMEM;
}

/* A mark's state, kept from the last one, made new. */
static void mark_reset(struct mgc_mark *m)
{
	mark_gcw_reset(&m->held);
	mark_gcw_reset(&m->bg);
	m->share_n = 0;
	m->hungry = false;
	m->held_active = false;
	m->overflow = false;
	m->black_objects = 0;
	m->black_bytes = 0;
	m->unmarked_objects = 0;
	m->unmarked_bytes = 0;
	m->overflows = 0;
	if (m->pending)
		bitmap_zero(m->pending, m->pending_bits);
	m->pending_next = 0;
	m->bg_npages = 0;
	m->bg_pages_done = 0;
}

static void mark_free(struct mgc_mark *m)
{
	kvfree(m->pending);
	kvfree(m->share);
	kvfree(m->bg.work);
	kvfree(m->held.work);
	kfree(m);
}

/*
 * A mark's state with lists for the heap's work_cap: the last mark's (or
 * the one reserved with the arena) if it fits, else new. Over a megabyte
 * of lists, which kvmalloc() may spend milliseconds compacting memory for:
 * not something to do in a collection's pause.
 */
static struct mgc_mark *mark_get(struct mheap *h)
{
	u32 cap = h->gc.work_cap ?: MGC_WORK_MAX;
	u32 local = min_t(u32, cap, MARK_LOCAL_MAX);
	struct mgc_mark *m = h->gc.mark_spare;

	h->gc.mark_spare = NULL;
	if (m && m->share_cap == cap)
		return m;
	if (m)
		mark_free(m);
	m = kzalloc(sizeof(*m), MHEAP_GFP);
	if (!m)
		return NULL;
	m->h = h;
	spin_lock_init(&m->share_lock);
	m->share_cap = cap;
	m->share = kvmalloc_array(cap, sizeof(*m->share), MHEAP_GFP);
	if (!m->share || mark_gcw_init(m, &m->held, local) ||
	    mark_gcw_init(m, &m->bg, local)) {
		mark_free(m);
		return NULL;
	}
	m->bg.bg = true;
	return m;
}

/**
 * mgc_mark_begin() - set up a mark
 * @h: the heap, mheap.lock held, every span swept and none cached, mark
 *	bits clear, the worker not scanning
 *
 * Return: 0 or -ENOMEM (for the work lists).
 */
int mgc_mark_begin(struct mheap *h)
{
	struct mgc_mark *m;

	lockdep_assert_held(&h->lock);
	m = mark_get(h);
	if (!m)
		return -ENOMEM;
	mark_reset(m);
	WRITE_ONCE(h->gc.bg_stop, false);
	h->gc.mark = m;
	return 0;
}

/**
 * mgc_mark_reserve() - allocate the first mark's state ahead of it
 * @h: the heap, mheap.lock held, its arena being set up
 *
 * Return: 0 or -ENOMEM.
 */
int mgc_mark_reserve(struct mheap *h)
{
	lockdep_assert_held(&h->lock);
	h->gc.mark_spare = mark_get(h);
	return h->gc.mark_spare ? 0 : -ENOMEM;
}

/**
 * mgc_mark_free_spare() - free the lists kept from the last mark
 * @h: the heap, no mark running
 */
void mgc_mark_free_spare(struct mheap *h)
{
	if (h->gc.mark_spare)
		mark_free(h->gc.mark_spare);
	h->gc.mark_spare = NULL;
}

/**
 * mgc_mark_bg_stop() - make the worker stop scanning, and wait until it has
 * @h: the heap, mheap.lock held
 *
 * The worker takes no lock while it scans, so it leaves within a page of
 * words; it cannot start again before the mark is set up anew.
 */
void mgc_mark_bg_stop(struct mheap *h)
{
	lockdep_assert_held(&h->lock);
	WRITE_ONCE(h->gc.bg_stop, true);
	wait_var_event(&h->gc.bg_active, !mark_bg_active(h));
}

/**
 * mgc_mark_end() - free a mark's state
 * @h: the heap, mheap.lock held
 * @res: out, may be NULL: what the mark found
 *
 * Spans freed during the mark are freed now (mheap_free_deferred()).
 */
void mgc_mark_end(struct mheap *h, struct mgc_mark_result *res)
{
	struct mgc_mark *m = h->gc.mark;
	u64 objects, bytes, black_objects, black_bytes, gone;

	lockdep_assert_held(&h->lock);
	if (!m)
		return;
	mgc_mark_bg_stop(h);
	if (res) {
		/* Freed marked objects leave the traced counts, else black. */
		objects = m->held.objects + m->bg.objects;
		bytes = m->held.bytes + m->bg.bytes;
		black_objects = m->black_objects;
		black_bytes = m->black_bytes;
		gone = min(m->unmarked_objects, objects);
		objects -= gone;
		black_objects -= min(m->unmarked_objects - gone, black_objects);
		gone = min(m->unmarked_bytes, bytes);
		bytes -= gone;
		black_bytes -= min(m->unmarked_bytes - gone, black_bytes);
		res->objects = objects + black_objects;
		res->bytes = bytes + black_bytes;
		res->overflows = m->overflows;
		res->scan_words = m->held.words + m->bg.words;
	}
	h->gc.mark = NULL;
	if (h->gc.mark_spare)
		mark_free(m);
	else
		h->gc.mark_spare = m;
	mheap_free_deferred(h);
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
	struct mgc_gcw *g = &h->gc.mark->held;
	struct mark_cache c = { };
	unsigned int r;

	lockdep_assert_held(&h->lock);
	mark_enter(g, intr, false);
	for (r = 0; r < nroots && !g->error; r++) {
		const u64 *w = roots[r].words;
		size_t i;

		for (i = 0; i < roots[r].len / 8; i++) {
			mark_word(g, g->lo, g->limit, g->spanmap, g->atomic,
				  &c, w[i]);
			g->words++;
			if (!mark_check(g))
				break;
			if (g->n > g->cap / 2)
				mark_drain(g, g->words + MARK_CHECK_WORDS * 16);
		}
	}
	return g->error;
}

/* mgc_mark_step()'s work, with mgc_mark.held_active set around it. */
static int mark_step(struct mheap *h, u64 budget, unsigned int how)
{
	struct mgc_mark *m = h->gc.mark;
	struct mgc_gcw *g = &m->held;
	u64 stop;

	mark_enter(g, how & MGC_MARK_INTR, how & MGC_MARK_YIELD);
	g->assist = how & MGC_MARK_ASSIST;
	stop = budget == U64_MAX ? U64_MAX : g->words + budget;
	for (;;) {
		mark_drain(g, stop);
		if (g->error)
			return g->error;
		if (g->n)
			return 0;
		if (!mark_bg_active(h) && mark_take_bg(g))
			continue;
		if (mark_pending_left(m)) {
			if (g->words >= stop || mark_should_stop(g))
				return 0;
			mark_pending(g, stop);
			continue;
		}
		if (mark_bg_active(h)) {
			WRITE_ONCE(m->hungry, true);
			return 0;
		}
		if (!READ_ONCE(m->overflow))
			return 1;
		if (g->words >= stop || mark_should_stop(g))
			return 0;
		WRITE_ONCE(m->overflow, false);
		m->overflows++;
		mark_rescan(g);
	}
}

/**
 * mgc_mark_step() - scan grey objects, holding mheap.lock
 * @h: the heap, mheap.lock held, a mark begun
 * @budget: words to scan at most (roughly: an object is scanned whole);
 *	U64_MAX for all
 * @how: MGC_MARK_INTR: stop on a fatal signal; MGC_MARK_YIELD: stop
 *	between objects when a call of the program waits for mheap.lock;
 *	MGC_MARK_ASSIST: when the worker does
 *
 * An overflowed list is recovered here, by a rescan of every marked object
 * once the lists have drained. Pages precleaning took are scanned here too.
 * While the worker scans, its own list is its to finish.
 *
 * Return: 1 if no grey object or pending page is left, 0 if some are (or
 * the worker is still scanning), -EINTR.
 */
int mgc_mark_step(struct mheap *h, u64 budget, unsigned int how)
{
	struct mgc_mark *m = h->gc.mark;
	int ret;

	lockdep_assert_held(&h->lock);
	WRITE_ONCE(m->held_active, true);
	ret = mark_step(h, budget, how);
	WRITE_ONCE(m->held_active, false);
	return ret;
}

/**
 * mgc_mark_share() - offer the grey objects of mheap.lock's marker to the
 *	worker
 * @h: the heap, mheap.lock held, a mark begun
 *
 * Called when a call that marked is done, so that what it leaves grey is
 * scanned by the worker rather than by the next call.
 */
void mgc_mark_share(struct mheap *h)
{
	struct mgc_gcw *g = &h->gc.mark->held;

	lockdep_assert_held(&h->lock);
	if (g->n)
		mark_share_put(g, g->n);
}

/*
 * Under mheap.lock, the worker not scanning: take pending pages for it to
 * scan without the lock, so that precleaning's pages are not scanned by
 * allocations holding it. Return: how many it took.
 */
static u32 mark_bg_claim_pages(struct mgc_mark *m)
{
	u32 n = 0;

	while (n < MARK_BG_PAGES && mark_pending_left(m)) {
		u64 i = find_next_bit(m->pending, m->pending_bits,
				      m->pending_next);

		m->pending_next = i + 1;
		if (i >= m->pending_bits)
			break;
		__clear_bit(i, m->pending);
		m->bg_pages[n++] = i;
	}
	m->bg_npages = n;
	m->bg_pages_done = 0;
	return n;
}

/**
 * mgc_mark_bg_begin() - let the worker scan without mheap.lock
 * @h: the heap, mheap.lock held, a concurrent mark running
 *
 * Return: true if there is grey work for it: mgc.bg_active is then set and
 * the caller must call mgc_mark_bg_run() after dropping the lock.
 */
bool mgc_mark_bg_begin(struct mheap *h)
{
	struct mgc_mark *m = h->gc.mark;

	lockdep_assert_held(&h->lock);
	if (!m || READ_ONCE(h->gc.bg_stop))
		return false;
	mgc_mark_share(h);
	if (!m->bg.n && !READ_ONCE(m->share_n) &&
	    m->bg_pages_done == m->bg_npages && !mark_bg_claim_pages(m))
		return false;
	mark_enter(&m->bg, false, false);
	WRITE_ONCE(h->gc.bg_active, true);
	return true;
}

/**
 * mgc_mark_bg_run() - the worker's scan without mheap.lock
 * @h: the heap, mheap.lock not held, after mgc_mark_bg_begin() said true
 * @budget: words to scan at most
 *
 * Ends when the lists are empty, after @budget words, or when the mark's
 * end asks it to (mgc_mark_bg_stop()). The mark's state may be freed as
 * soon as mgc.bg_active is clear: nothing of it is touched after that.
 */
void mgc_mark_bg_run(struct mheap *h, u64 budget)
{
	/* mgc.mark stays while mgc.bg_active: mgc_mark_end() waits. */
	struct mgc_mark *m = h->gc.mark;
	struct mgc_gcw *g = &m->bg;
	u64 stop = budget == U64_MAX ? U64_MAX : g->words + budget;

	while (m->bg_pages_done < m->bg_npages && g->words < stop &&
	       !mark_should_stop(g)) {
		mark_dirty_page(g, g->lo + (m->bg_pages[m->bg_pages_done] <<
					    PAGE_SHIFT));
		/* Stopped half-way, the page is given back whole. */
		if (g->error)
			break;
		m->bg_pages_done++;
		if (g->n > g->cap / 2)
			mark_drain(g, stop);
	}
	mark_drain(g, stop);
	g->error = 0;
	/* Release: the list and the marks are the next holder's to see. */
	smp_store_release(&h->gc.bg_active, false);
	wake_up_var(&h->gc.bg_active);
}

/**
 * mgc_mark_dirty() - scan again what the program wrote during the mark
 * @h: the heap, mheap.lock held, a mark begun, the worker stopped
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
	struct mgc_gcw *g = &h->gc.mark->held;
	unsigned long i;

	lockdep_assert_held(&h->lock);
	mark_enter(g, true, false);
	if (!dirty) {
		mark_rescan(g);
		return g->error;
	}
	for_each_set_bit(i, dirty, nbits) {
		mark_dirty_page(g, g->lo + ((u64)i << PAGE_SHIFT));
		if (g->error)
			break;
		if (g->n > g->cap / 2)
			mark_drain(g, U64_MAX);
	}
	return g->error;
}

/* Room in @m->pending for @nbits base pages. Return: 0 or -ENOMEM. */
static int mark_pending_grow(struct mgc_mark *m, u64 nbits)
{
	unsigned long *bits;

	if (nbits <= m->pending_bits)
		return 0;
	bits = kvcalloc(BITS_TO_LONGS(nbits), sizeof(*bits), MHEAP_GFP);
	if (!bits)
		return -ENOMEM;
	if (m->pending)
		bitmap_copy(bits, m->pending, m->pending_bits);
	kvfree(m->pending);
	m->pending = bits;
	m->pending_bits = nbits;
	return 0;
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
	if (mark_pending_grow(m, nbits))
		return -ENOMEM;
	before = bitmap_weight(m->pending, m->pending_bits);
	ret = mheap_arena_dirty_take(h, m->pending, nbits);
	h->gc.precleans++;
	m->pending_next = 0;
	if (ret)
		return ret;
	return bitmap_weight(m->pending, m->pending_bits) - before;
}

/**
 * mgc_mark_rescan_span() - scan a span's pages again before the mark ends
 * @h: the heap, mheap.lock held, in MGC_PHASE_MARK
 * @s: a small span back from a thread cache, whose slots handed out were
 *	just marked black (mcentral_uncache_span())
 *
 * While cached, those objects were white: a scan of their pages by
 * precleaning passed them by, and took what the program had written to
 * them. As pending pages, they are scanned now that they are black.
 */
void mgc_mark_rescan_span(struct mheap *h, struct mspan *s)
{
	u64 per = MHEAP_PAGE_SIZE / PAGE_SIZE, first = s->start * per;
	struct mgc_mark *m = h->gc.mark;

	lockdep_assert_held(&h->lock);
	/* Without dirty bits, the end scans every marked object anyway. */
	if (!h->gc.dirty_armed)
		return;
	if (mark_pending_grow(m, h->grown * per)) {
		h->gc.dirty_armed = false;
		return;
	}
	bitmap_set(m->pending, first, s->npages * per);
	m->pending_next = min(m->pending_next, first);
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
	if (test_and_set_bit(idx, s->gcmarkbits))
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
 * (those of tracing, or if they are short, of allocate-black). Should the
 * worker mark it again, having read the allocation bit before the free,
 * sweeping drops the mark (mgc_sweep_span()).
 */
void mgc_mark_unmark(struct mheap *h, struct mspan *s, unsigned long idx)
{
	struct mgc_mark *m = h->gc.mark;

	lockdep_assert_held(&h->lock);
	if (!test_and_clear_bit(idx, s->gcmarkbits) || !m)
		return;
	m->unmarked_objects++;
	m->unmarked_bytes += s->elemsize;
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
	unsigned long fresh;

	lockdep_assert_held(&h->lock);
	/* The worker may be setting bits of the same word. */
	fresh = bits & ~atomic_long_fetch_or(bits,
					     (atomic_long_t *)&s->gcmarkbits[w]);
	m->black_objects += hweight_long(fresh);
	m->black_bytes += (u64)hweight_long(fresh) * s->elemsize;
}

/**
 * mgc_mark_finalizers() - mark what objects with a finalizer reference
 * @h: the heap, mheap.lock held, a mark begun
 * @intr: stop on a fatal signal
 *
 * The objects themselves are not marked: if nothing else reaches one,
 * sweeping queues its finalizer (mgc_special_sweep()). What they reference
 * must survive for the finalizer to use (Go's markrootSpans). An object
 * whose finalizer is queued and not read yet is marked: the queue, in
 * kernel memory, is its only root until the program reads the record
 * (Go's markroot of finq), and a sweep must not free what the finalizer
 * will be handed.
 *
 * Return: 0 or -EINTR.
 */
int mgc_mark_finalizers(struct mheap *h, bool intr)
{
	struct mgc_gcw *g = &h->gc.mark->held;
	struct mgc_final_rec *r;
	struct mark_cache c = { };
	struct mgc_special *sp;

	lockdep_assert_held(&h->lock);
	mark_enter(g, intr, false);
	list_for_each_entry(r, &h->gc.finq, node) {
		if (r->rec.kind != GCHEAP_FINAL_FINALIZER)
			continue;
		mark_word(g, g->lo, g->limit, g->spanmap, g->atomic, &c,
			  r->rec.addr);
		if (g->n > g->cap / 2)
			mark_drain(g, U64_MAX);
		if (g->error)
			return g->error;
	}
	list_for_each_entry(sp, &h->gc.finalizers, node) {
		struct mspan *s = sp->span;

		if (s->state != MSPAN_INUSE || (s->spanclass & 1))
			continue;
		mark_scan_arena(g, (s->start << MHEAP_PAGE_SHIFT) + sp->offset,
				mspan_is_large(s) ? mspan_bytes(s) : s->elemsize);
		if (g->error)
			break;
		if (g->n > g->cap / 2)
			mark_drain(g, U64_MAX);
	}
	return g->error;
}

/**
 * mgc_mark_progress() - words scanned so far by the current mark
 * @h: the heap, mheap.lock held, a mark begun
 *
 * Return: the count, the worker's included.
 */
u64 mgc_mark_progress(struct mheap *h)
{
	struct mgc_mark *m = h->gc.mark;

	return m->held.words + READ_ONCE(m->bg.words);
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
		ret = mgc_mark_finalizers(h, true);
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
 * @h: the heap, mheap.lock held, no span unswept, no mark running
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
