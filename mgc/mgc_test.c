// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: mark bits, the work list and its overflow, sweep state transitions
 * and sweep generations, pacing arithmetic, roots, the concurrent mark and
 * its worker. Object graphs are written into the fake arena with
 * mheap_arena_poke(), which backs the pages as a first touch would. Also
 * built in user space by hosted/ under ASan.
 */
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/mm.h>
#include <linux/string.h>
#include "../mheap/mheap_test.h"
#include "mgc.h"

/* 64-byte slots (class 6), scan and noscan. */
#define MGC_TEST_SC		GCHEAP_SPANCLASS(6, 0)
#define MGC_TEST_SC_NOSCAN	GCHEAP_SPANCLASS(6, 1)

/* Allocate @n objects of @spanclass through a refill; their addresses. */
static void mgc_test_poke(struct kunit *test, struct mheap *h, u64 addr,
			  u64 val)
{
	KUNIT_ASSERT_EQ(test, mheap_arena_poke(h, addr - h->arena_base, val), 0);
}

static int mgc_test_gc(struct mheap *h, const u64 *words, unsigned int n,
		       u32 flags, struct gcheap_gc *g)
{
	struct mgc_root root = { .words = words, .len = n * sizeof(u64) };

	memset(g, 0, sizeof(*g));
	g->size = sizeof(*g);
	g->flags = flags;
	return mgc_op_gc(h, g, &root, n ? 1 : 0);
}

static u64 mgc_test_objects(struct kunit *test, struct mheap *h)
{
	struct gcheap_stats st = {};

	KUNIT_EXPECT_EQ(test, mheap_op_stats(h, &st, NULL, 0, NULL), 0);
	KUNIT_EXPECT_EQ(test, st.heap_objects, st.mallocs - st.frees);
	return st.heap_objects;
}

static bool mgc_test_live(struct mheap *h, u64 addr)
{
	struct gcheap_lookup l = { .size = sizeof(l), .addr = addr };

	return !mheap_op_lookup(h, &l) && l.base == addr;
}

static void mgc_test_roots_and_interior(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	u64 obj[10], roots[3];
	struct gcheap_gc g;
	unsigned int i;

	mheap_test_alloc(test, h, MGC_TEST_SC, 10, obj);
	KUNIT_EXPECT_EQ(test, mgc_test_objects(test, h), 10ULL);
	roots[0] = obj[0];
	roots[1] = obj[3] + 5;		/* interior pointer */
	roots[2] = 0xdead0000beefULL;	/* not into the heap */
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, roots, 3, 0, &g), 0);
	KUNIT_EXPECT_EQ(test, g.cycle, 1ULL);
	KUNIT_EXPECT_EQ(test, g.objects_marked, 2ULL);
	KUNIT_EXPECT_EQ(test, g.heap_marked, 128ULL);
	KUNIT_EXPECT_EQ(test, g.heap_before, 640ULL);
	KUNIT_EXPECT_EQ(test, mgc_test_objects(test, h), 2ULL);
	for (i = 0; i < 10; i++)
		KUNIT_EXPECT_EQ(test, mgc_test_live(h, obj[i]), i == 0 || i == 3);
	/* With no roots, everything goes. */
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, NULL, 0, 0, &g), 0);
	KUNIT_EXPECT_EQ(test, g.objects_marked, 0ULL);
	KUNIT_EXPECT_EQ(test, mgc_test_objects(test, h), 0ULL);
}

static void mgc_test_graph(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	u64 a[4], n[2], root;
	struct gcheap_gc g;

	mheap_test_alloc(test, h, MGC_TEST_SC, 4, a);
	mheap_test_alloc(test, h, MGC_TEST_SC_NOSCAN, 2, n);
	/* a0 -> a1 -> a2 (interior), a0 -> n0 (noscan) -> a3, n1 unreferenced */
	mgc_test_poke(test, h, a[0], a[1]);
	mgc_test_poke(test, h, a[0] + 56, n[0]);
	mgc_test_poke(test, h, a[1] + 8, a[2] + 63);
	mgc_test_poke(test, h, n[0], a[3]);
	root = a[0];
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, &root, 1, 0, &g), 0);
	KUNIT_EXPECT_EQ(test, g.objects_marked, 4ULL);
	KUNIT_EXPECT_TRUE(test, mgc_test_live(h, a[2]));
	KUNIT_EXPECT_TRUE(test, mgc_test_live(h, n[0]));
	/* A noscan object's words are not followed. */
	KUNIT_EXPECT_FALSE(test, mgc_test_live(h, a[3]));
	KUNIT_EXPECT_FALSE(test, mgc_test_live(h, n[1]));

	/* A cycle with no way in is collected. */
	mgc_test_poke(test, h, a[2], a[1]);
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, NULL, 0, 0, &g), 0);
	KUNIT_EXPECT_EQ(test, mgc_test_objects(test, h), 0ULL);
}

static void mgc_test_overflow(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	u64 *obj = kunit_kcalloc(test, 73, sizeof(*obj), GFP_KERNEL);
	struct gcheap_gc g;
	unsigned int i, j;
	u64 root;

	KUNIT_ASSERT_NOT_NULL(test, obj);
	/* A tree: obj0 -> obj1..8, each objK -> 8 more: 73 objects. */
	mheap_test_alloc(test, h, MGC_TEST_SC, 73, obj);
	for (i = 0; i < 9; i++)
		for (j = 0; j < 8; j++)
			mgc_test_poke(test, h, obj[i] + 8 * j, obj[1 + i * 8 + j]);
	h->gc.work_cap = 2;
	root = obj[0];
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, &root, 1, 0, &g), 0);
	KUNIT_EXPECT_EQ(test, g.objects_marked, 73ULL);
	KUNIT_EXPECT_GT(test, g.overflows, 0ULL);
	KUNIT_EXPECT_EQ(test, mgc_test_objects(test, h), 73ULL);
}

static void mgc_test_sweepgen(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	u64 obj[3], big[2], root[2];
	struct gcheap_alloc a = { .size = sizeof(a), .bytes = 100000 };
	struct gcheap_refill *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	struct gcheap_gc g;
	struct mspan *s;
	u32 gen0 = h->gc.sweepgen;

	KUNIT_ASSERT_NOT_NULL(test, r);
	mheap_test_alloc(test, h, MGC_TEST_SC, 3, obj);
	KUNIT_ASSERT_EQ(test, mheap_op_alloc(h, &a), 0);
	big[0] = a.addr;
	KUNIT_ASSERT_EQ(test, mheap_op_alloc(h, &a), 0);
	big[1] = a.addr;
	root[0] = obj[1];
	root[1] = big[1] + 4096;

	mutex_lock(&h->lock);
	s = mheap_span_of_addr(h, obj[0]);
	KUNIT_EXPECT_EQ(test, s->sweepgen, gen0);
	KUNIT_EXPECT_FALSE(test, mgc_span_unswept(h, s));
	mutex_unlock(&h->lock);

	/* Mark only: every span in use now needs sweeping (h - 2). */
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, root, 2, GCHEAP_GC_NOSWEEP, &g), 0);
	KUNIT_EXPECT_EQ(test, h->gc.sweepgen, gen0 + 2);
	KUNIT_EXPECT_EQ(test, h->gc.unswept, 3ULL);
	mutex_lock(&h->lock);
	s = mheap_span_of_addr(h, obj[0]);
	KUNIT_EXPECT_EQ(test, s->sweepgen, gen0);
	KUNIT_EXPECT_TRUE(test, mgc_span_unswept(h, s));
	mutex_unlock(&h->lock);
	/* Until swept, the dead still count, as in Go. */
	KUNIT_EXPECT_EQ(test, mgc_test_objects(test, h), 5ULL);

	/* A lookup sweeps the span first. */
	KUNIT_EXPECT_FALSE(test, mgc_test_live(h, obj[0]));
	KUNIT_EXPECT_TRUE(test, mgc_test_live(h, obj[1]));
	mutex_lock(&h->lock);
	s = mheap_span_of_addr(h, obj[0]);
	KUNIT_EXPECT_EQ(test, s->sweepgen, gen0 + 2);
	KUNIT_EXPECT_EQ(test, h->gc.unswept, 2ULL);
	mutex_unlock(&h->lock);

	/*
	 * A large allocation sweeps the large spans first: big[0] is dead and
	 * its pages serve the new object.
	 */
	a.bytes = 8192;
	KUNIT_ASSERT_EQ(test, mheap_op_alloc(h, &a), 0);
	KUNIT_EXPECT_EQ(test, h->gc.unswept, 0ULL);
	KUNIT_EXPECT_EQ(test, a.addr, big[0]);
	KUNIT_EXPECT_TRUE(test, mgc_test_live(h, big[1]));
	KUNIT_EXPECT_EQ(test, mgc_test_objects(test, h), 3ULL);

	/* A refill of a class whose spans are unswept sweeps them first. */
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, root, 2, GCHEAP_GC_NOSWEEP, &g), 0);
	r->size = sizeof(*r);
	r->spanclass = MGC_TEST_SC;
	KUNIT_ASSERT_EQ(test, mheap_op_refill(h, r), 0);
	KUNIT_EXPECT_EQ(test, r->base, obj[0] & ~(MHEAP_PAGE_SIZE - 1));
	KUNIT_EXPECT_EQ(test, r->nfree, mheap_classes[6].nelems - 1);
	/* A collection refuses to run with a span cached. */
	KUNIT_EXPECT_EQ(test, mgc_test_gc(h, root, 2, 0, &g), -EBUSY);
	r->flags = GCHEAP_REFILL_RELEASE_ONLY;
	r->old_base = r->base;
	KUNIT_ASSERT_EQ(test, mheap_op_refill(h, r), 0);
	mutex_lock(&h->lock);
	KUNIT_EXPECT_EQ(test, mgc_sweep_all(h), 0);
	KUNIT_EXPECT_EQ(test, h->gc.unswept, 0ULL);
	mutex_unlock(&h->lock);
	KUNIT_EXPECT_EQ(test, mgc_test_objects(test, h), 2ULL);
}

static void mgc_test_pacing(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	struct gcheap_gc_config c = { .size = sizeof(c) };
	u64 obj[1];
	struct gcheap_gc g;

	KUNIT_EXPECT_EQ(test, h->gc.gc_percent, 100);
	KUNIT_EXPECT_EQ(test, h->gc.next_gc, MGC_HEAP_MINIMUM);
	/* Live 10 MiB: GOGC=100 gives 20 MiB, 50 gives 15, off never. */
	h->gc.heap_live = 10ULL << 20;
	c.flags = GCHEAP_GC_SET_PERCENT;
	c.gc_percent = 50;
	KUNIT_ASSERT_EQ(test, mgc_op_config(h, &c), 0);
	KUNIT_EXPECT_EQ(test, c.gc_percent, 100);
	KUNIT_EXPECT_EQ(test, h->gc.next_gc, 15ULL << 20);
	c.gc_percent = GCHEAP_GC_OFF;
	KUNIT_ASSERT_EQ(test, mgc_op_config(h, &c), 0);
	KUNIT_EXPECT_EQ(test, h->gc.next_gc, U64_MAX);
	mutex_lock(&h->lock);
	h->gc.alloc_since = U64_MAX / 2;
	KUNIT_EXPECT_FALSE(test, mgc_due(h));
	mutex_unlock(&h->lock);
	c.gc_percent = 100;
	KUNIT_ASSERT_EQ(test, mgc_op_config(h, &c), 0);
	KUNIT_EXPECT_EQ(test, h->gc.next_gc, 20ULL << 20);
	mutex_lock(&h->lock);
	h->gc.alloc_since = (10ULL << 20) - 1;
	KUNIT_EXPECT_FALSE(test, mgc_due(h));
	h->gc.alloc_since++;
	KUNIT_EXPECT_TRUE(test, mgc_due(h));
	mutex_unlock(&h->lock);
	c.gc_percent = -2;
	KUNIT_EXPECT_EQ(test, mgc_op_config(h, &c), -EINVAL);
	c.flags = GCHEAP_GC_SET_TRACE;
	c.gctrace = 2;
	KUNIT_EXPECT_EQ(test, mgc_op_config(h, &c), -EINVAL);
	c.flags = 1U << 5;
	KUNIT_EXPECT_EQ(test, mgc_op_config(h, &c), -EINVAL);

	/* A small live heap keeps the 4 MiB minimum goal. */
	h->gc.heap_live = 0;
	h->gc.alloc_since = 0;
	mheap_test_alloc(test, h, MGC_TEST_SC, 1, obj);
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, obj, 1, 0, &g), 0);
	KUNIT_EXPECT_EQ(test, g.next_gc, MGC_HEAP_MINIMUM);
	KUNIT_EXPECT_EQ(test, h->gc.alloc_since, 0ULL);

	/*
	 * Caches that held 3 MiB of free slots since the last collection:
	 * the goal leaves them room twice over, and the count starts anew.
	 */
	KUNIT_EXPECT_EQ(test, h->gc.cache_peak, 0ULL);
	mheap_test_alloc(test, h, MGC_TEST_SC, 1, obj);
	KUNIT_EXPECT_GE(test, h->gc.cache_peak, 64ULL);
	h->gc.cache_peak = 3ULL << 20;
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, obj, 1, 0, &g), 0);
	KUNIT_EXPECT_EQ(test, g.heap_marked, 64ULL);
	KUNIT_EXPECT_EQ(test, g.next_gc, 64 + (6ULL << 20));
	KUNIT_EXPECT_EQ(test, h->gc.cache_peak, 0ULL);
}

static void mgc_test_roots_registry(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	struct gcheap_roots r = { .size = sizeof(r) };
	unsigned int i;

	r.lo = 0x1000;
	r.hi = 0x1000;
	KUNIT_EXPECT_EQ(test, mgc_op_roots(h, &r), -EINVAL);
	r.hi = 0x2000;
	r.flags = 1U << 3;
	KUNIT_EXPECT_EQ(test, mgc_op_roots(h, &r), -EINVAL);
	r.flags = 0;
	for (i = 0; i < GCHEAP_MAX_ROOTS; i++) {
		r.lo = 0x10000 + i * 0x100;
		r.hi = r.lo + 0x80;
		KUNIT_ASSERT_EQ(test, mgc_op_roots(h, &r), 0);
	}
	KUNIT_EXPECT_EQ(test, mgc_op_roots(h, &r), -ENOSPC);
	/* Removing takes every range within the bounds. */
	r.flags = GCHEAP_ROOTS_REMOVE;
	r.lo = 0x10000;
	r.hi = 0x10000 + 10 * 0x100;
	KUNIT_EXPECT_EQ(test, mgc_op_roots(h, &r), 0);
	KUNIT_EXPECT_EQ(test, h->gc.nroots, (u32)GCHEAP_MAX_ROOTS - 10);
	KUNIT_EXPECT_EQ(test, mgc_op_roots(h, &r), -ENOENT);
}

static void mgc_test_errors(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, 0);
	struct gcheap_roots r = { .size = sizeof(r), .lo = 8, .hi = 16 };
	struct gcheap_gc g;

	KUNIT_EXPECT_EQ(test, mgc_test_gc(h, NULL, 0, 0, &g), -ENXIO);
	KUNIT_EXPECT_EQ(test, mgc_op_roots(h, &r), -ENXIO);
	KUNIT_EXPECT_EQ(test, mgc_test_gc(h, NULL, 0, 1U << 4, &g), -EINVAL);
}

/*
 * A concurrent collection: a pointer moved from a grey object into a black
 * one during the mark, an object allocated during it, one freed during it.
 * The fake arena has no dirty bits, so the end rescans every marked object:
 * the path any arena takes when its dirty bits are not known.
 */
static void mgc_test_concurrent(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	struct gcheap_free f = { .size = sizeof(f) };
	u64 a[6], fresh[1], root, cycle = U64_MAX;
	struct gcheap_gc g;
	unsigned int i;
	int ret;

	mheap_test_alloc(test, h, MGC_TEST_SC, 6, a);
	/* a0 -> a1 -> a2, a0 -> a3; a4 and a5 unreferenced */
	mgc_test_poke(test, h, a[0], a[1]);
	mgc_test_poke(test, h, a[0] + 16, a[3]);
	mgc_test_poke(test, h, a[1], a[2]);
	root = a[0];
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, &root, 1, GCHEAP_GC_CONCURRENT, &g), 0);
	KUNIT_EXPECT_EQ(test, g.out_flags, (u32)GCHEAP_GC_MARKING);
	KUNIT_EXPECT_EQ(test, h->gc.num_gc, 0ULL);
	KUNIT_EXPECT_EQ(test, h->gc.phase, (u32)MGC_PHASE_MARK);

	/* Scan a0 alone (the list is LIFO, an object is scanned whole). */
	mutex_lock(&h->lock);
	KUNIT_EXPECT_EQ(test, mgc_mark_step(h, 1, 0), 0);
	KUNIT_EXPECT_FALSE(test, mgc_due(h));
	mutex_unlock(&h->lock);
	/* The program moves a2 from grey a1 into black a0. */
	mgc_test_poke(test, h, a[1], 0);
	mgc_test_poke(test, h, a[0] + 8, a[2]);
	/* Allocated during the mark, referenced by nothing: survives it. */
	mheap_test_alloc(test, h, MGC_TEST_SC, 1, fresh);
	/* Marked, then freed: free means free. */
	f.addr = a[3];
	KUNIT_EXPECT_EQ(test, mheap_op_free(h, &f), 0);

	/* The worker's batches finish the heap; then the end is due. */
	for (i = 0; i < 100 && mgc_mark_background(h, &cycle) == MGC_BG_MORE; i++)
		;
	/* No dirty bits in this arena, so nothing to clean: the end is due. */
	KUNIT_EXPECT_EQ(test, mgc_mark_background(h, &cycle), MGC_BG_IDLE);
	mutex_lock(&h->lock);
	KUNIT_EXPECT_TRUE(test, h->gc.mark_done);
	KUNIT_EXPECT_TRUE(test, mgc_due(h));
	mutex_unlock(&h->lock);

	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, &root, 1, GCHEAP_GC_CONCURRENT, &g), 0);
	KUNIT_EXPECT_EQ(test, g.out_flags, 0U);
	KUNIT_EXPECT_EQ(test, g.cycle, 1ULL);
	KUNIT_EXPECT_EQ(test, h->gc.phase, (u32)MGC_PHASE_OFF);
	/* a0, a1, a2 traced; the fresh object black, live as Go counts it. */
	KUNIT_EXPECT_EQ(test, g.objects_marked, 4ULL);
	KUNIT_EXPECT_EQ(test, h->gc.heap_live, 4 * 64ULL);
	/* The next mark expects the words this one scanned: 3 objects' at least. */
	KUNIT_EXPECT_GE(test, h->gc.scan_words, 3 * 64ULL / 8);
	for (i = 0; i < 6; i++)
		KUNIT_EXPECT_EQ_MSG(test, mgc_test_live(h, a[i]), i < 3, "a%u", i);
	KUNIT_EXPECT_TRUE(test, mgc_test_live(h, fresh[0]));
	KUNIT_EXPECT_EQ(test, mgc_test_objects(test, h), 4ULL);

	/* A whole collection asked for during a mark drops it and runs. */
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, &root, 1, GCHEAP_GC_CONCURRENT, &g), 0);
	KUNIT_EXPECT_EQ(test, g.out_flags, (u32)GCHEAP_GC_MARKING);
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, &root, 1, 0, &g), 0);
	KUNIT_EXPECT_EQ(test, g.cycle, 2ULL);
	KUNIT_EXPECT_EQ(test, h->gc.phase, (u32)MGC_PHASE_OFF);
	KUNIT_EXPECT_EQ(test, g.objects_marked, 3ULL);
	KUNIT_EXPECT_FALSE(test, mgc_test_live(h, fresh[0]));

	/* A mark dropped (the heap's release does it) leaves no mark bits. */
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, NULL, 0, GCHEAP_GC_CONCURRENT, &g), 0);
	mutex_lock(&h->lock);
	mgc_abort(h);
	KUNIT_EXPECT_EQ(test, h->gc.phase, (u32)MGC_PHASE_OFF);
	KUNIT_EXPECT_NULL(test, h->gc.mark);
	mutex_unlock(&h->lock);
	ret = mgc_test_gc(h, &root, 1, 0, &g);
	KUNIT_ASSERT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, g.objects_marked, 3ULL);
	/* Reserved fields of the new version are checked. */
	memset(&g, 0, sizeof(g));
	g.size = sizeof(g);
	g.__reserved2 = 1;
	KUNIT_EXPECT_EQ(test, mgc_op_gc(h, &g, NULL, 0), -EINVAL);
}

/*
 * While a mark runs, a freed large object's span is only marked dead, so
 * that the worker, which reads spans without mheap.lock, never finds its
 * descriptor or bitmaps freed; the mark's end frees it. A worker stopped
 * with grey objects on its list loses none of them.
 */
static void mgc_test_concurrent_defer(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	struct gcheap_alloc a = { .size = sizeof(a), .bytes = 3 * MHEAP_PAGE_SIZE };
	struct gcheap_free f = { .size = sizeof(f) };
	u64 obj[8], root, big, free_before;
	struct gcheap_gc g;
	struct mspan *s;
	unsigned int i;

	/* A chain obj0 -> obj1 -> ... -> obj7 and a large object. */
	mheap_test_alloc(test, h, MGC_TEST_SC, 8, obj);
	for (i = 0; i < 7; i++)
		mgc_test_poke(test, h, obj[i], obj[i + 1]);
	KUNIT_ASSERT_EQ(test, mheap_op_alloc(h, &a), 0);
	big = a.addr;
	root = obj[0];
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, &root, 1, GCHEAP_GC_CONCURRENT, &g), 0);

	mutex_lock(&h->lock);
	s = mheap_span_of_addr(h, big);
	free_before = h->pages_free;
	mutex_unlock(&h->lock);
	f.addr = big;
	KUNIT_EXPECT_EQ(test, mheap_op_free(h, &f), 0);
	mutex_lock(&h->lock);
	/* Dead to every lookup, but the descriptor and its pages are kept. */
	KUNIT_EXPECT_PTR_EQ(test, mheap_span_of_addr(h, big), s);
	KUNIT_EXPECT_EQ(test, s->state, (u8)MSPAN_DEAD);
	KUNIT_EXPECT_NOT_NULL(test, s->gcmarkbits);
	KUNIT_EXPECT_EQ(test, h->pages_free, free_before);
	KUNIT_EXPECT_FALSE(test, mheap_page_inuse(h, s->start));
	KUNIT_EXPECT_FALSE(test, list_empty(&h->deferred));
	mutex_unlock(&h->lock);
	KUNIT_EXPECT_FALSE(test, mgc_test_live(h, big));
	/* A second free of it is an error, as after any free. */
	KUNIT_EXPECT_NE(test, mheap_op_free(h, &f), 0);

	/* The worker starts, and is stopped before it scanned anything. */
	mutex_lock(&h->lock);
	KUNIT_ASSERT_TRUE(test, mgc_mark_bg_begin(h));
	WRITE_ONCE(h->gc.bg_stop, true);
	mutex_unlock(&h->lock);
	mgc_mark_bg_run(h, U64_MAX);
	mutex_lock(&h->lock);
	KUNIT_EXPECT_FALSE(test, h->gc.bg_active);
	/* It scans no more: the end finishes its list. */
	KUNIT_EXPECT_FALSE(test, mgc_mark_bg_begin(h));
	mutex_unlock(&h->lock);

	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, &root, 1, GCHEAP_GC_CONCURRENT, &g), 0);
	KUNIT_EXPECT_EQ(test, g.out_flags, 0U);
	KUNIT_EXPECT_EQ(test, g.objects_marked, 8ULL);
	for (i = 0; i < 8; i++)
		KUNIT_EXPECT_TRUE_MSG(test, mgc_test_live(h, obj[i]), "obj%u", i);
	mutex_lock(&h->lock);
	KUNIT_EXPECT_TRUE(test, list_empty(&h->deferred));
	KUNIT_EXPECT_TRUE(test, list_empty(&h->retired));
	KUNIT_EXPECT_EQ(test, h->pages_free, free_before + 3);
	KUNIT_EXPECT_FALSE(test, h->gc.bg_stop && h->gc.bg_active);
	mutex_unlock(&h->lock);
	KUNIT_EXPECT_EQ(test, mgc_test_objects(test, h), 8ULL);
}

/*
 * Start a concurrent mark with one object, @obj[0], as its root; return
 * with mheap.lock held and no cached slot counted.
 */
static void mgc_test_start_mark(struct kunit *test, struct mheap *h,
				u64 *obj)
{
	struct gcheap_gc g;

	mheap_test_alloc(test, h, MGC_TEST_SC, 1, obj);
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, obj, 1, GCHEAP_GC_CONCURRENT, &g), 0);
	mutex_lock(&h->lock);
	KUNIT_ASSERT_EQ(test, h->gc.phase, (u32)MGC_PHASE_MARK);
	KUNIT_ASSERT_EQ(test, h->cached_bytes, 0ULL);
}

/* Whether the current mark has marked the object at @addr. */
static bool mgc_test_marked(struct mheap *h, u64 addr)
{
	struct mspan *s = mheap_span_of_addr(h, addr);

	return test_bit((addr - mheap_span_base(h, s)) / s->elemsize,
			s->gcmarkbits);
}

/*
 * A written page is scanned again where its objects are marked, and only
 * there: the part of a marked object that straddles the page's start or end
 * that lies on the page, nothing of an unmarked one, nothing of a page that
 * was not written. 48-byte slots, so that objects straddle base pages.
 */
static void mgc_test_dirty_page(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	u64 *obj, roots[4], page, nbits;
	unsigned long *dirty;
	struct gcheap_gc g;
	unsigned int i;

	obj = kunit_kcalloc(test, 170, sizeof(*obj), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, obj);
	KUNIT_ASSERT_EQ(test, mheap_classes[5].size, 48U);
	mheap_test_alloc(test, h, GCHEAP_SPANCLASS(5, 0), 170, obj);
	for (i = 1; i < 170; i++)
		KUNIT_ASSERT_EQ(test, obj[i], obj[0] + 48 * i);
	KUNIT_ASSERT_EQ(test, (obj[0] - h->arena_base) % PAGE_SIZE, 0ULL);
	/* Object 85 holds the base page's end: 4080 to 4128 from obj[0]. */
	page = (obj[0] - h->arena_base) / PAGE_SIZE + 1;
	roots[0] = obj[84];
	roots[1] = obj[85];
	roots[2] = obj[86];
	roots[3] = obj[100];
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, roots, 4, GCHEAP_GC_CONCURRENT, &g),
			0);
	mutex_lock(&h->lock);
	KUNIT_ASSERT_EQ(test, mgc_mark_step(h, U64_MAX, 0), 1);
	mutex_unlock(&h->lock);

	/* The program writes after the scan: in page - 1, then in page. */
	mgc_test_poke(test, h, obj[84], obj[150]);
	mgc_test_poke(test, h, obj[85] + 8, obj[151]);
	mgc_test_poke(test, h, obj[85] + 40, obj[152]);
	mgc_test_poke(test, h, obj[86] + 16, obj[153]);
	mgc_test_poke(test, h, obj[90], obj[154]);
	mgc_test_poke(test, h, obj[100] + 40, obj[155]);

	nbits = h->grown * (MHEAP_PAGE_SIZE / PAGE_SIZE);
	dirty = kunit_kcalloc(test, BITS_TO_LONGS(nbits), sizeof(*dirty),
			      GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, dirty);
	__set_bit(page, dirty);
	mutex_lock(&h->lock);
	KUNIT_EXPECT_EQ(test, mgc_mark_dirty(h, dirty, nbits), 0);
	KUNIT_EXPECT_EQ(test, mgc_mark_step(h, U64_MAX, 0), 1);
	/* obj[85]'s word at 4088 is on the page before: not scanned. */
	KUNIT_EXPECT_FALSE(test, mgc_test_marked(h, obj[150]));
	KUNIT_EXPECT_FALSE(test, mgc_test_marked(h, obj[151]));
	KUNIT_EXPECT_TRUE(test, mgc_test_marked(h, obj[152]));
	KUNIT_EXPECT_TRUE(test, mgc_test_marked(h, obj[153]));
	/* Unmarked, obj[90] is garbage: what it holds is not followed. */
	KUNIT_EXPECT_FALSE(test, mgc_test_marked(h, obj[154]));
	KUNIT_EXPECT_TRUE(test, mgc_test_marked(h, obj[155]));
	mgc_abort(h);
	mutex_unlock(&h->lock);
}

/*
 * A concurrent mark is near from 12/64 of the runway before its trigger,
 * and only when the next collection will be concurrent: never during a
 * mark, after a stop-the-world collection or with GOGC off.
 */
static void mgc_test_mark_near(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	u64 obj[1];
	struct gcheap_gc g;

	mgc_test_start_mark(test, h, obj);
	KUNIT_EXPECT_FALSE(test, mgc_mark_near(h));
	mutex_unlock(&h->lock);
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, obj, 1, GCHEAP_GC_CONCURRENT, &g), 0);
	mutex_lock(&h->lock);
	KUNIT_ASSERT_EQ(test, h->gc.phase, (u32)MGC_PHASE_OFF);
	KUNIT_ASSERT_EQ(test, h->cached_bytes, 0ULL);
	/* Live 8 MiB, goal 16: the trigger is at 13, the mark near from 11.5. */
	h->gc.heap_live = 8ULL << 20;
	h->gc.next_gc = 16ULL << 20;
	h->gc.alloc_since = (7ULL << 19) - 1;
	KUNIT_EXPECT_FALSE(test, mgc_mark_near(h));
	h->gc.alloc_since++;
	KUNIT_EXPECT_TRUE(test, mgc_mark_near(h));
	KUNIT_EXPECT_FALSE(test, mgc_due(h));
	h->gc.alloc_since = 5ULL << 20;
	KUNIT_EXPECT_TRUE(test, mgc_mark_near(h));
	KUNIT_EXPECT_TRUE(test, mgc_due(h));
	h->gc.concurrent = false;
	KUNIT_EXPECT_FALSE(test, mgc_mark_near(h));
	h->gc.concurrent = true;
	h->gc.next_gc = U64_MAX;
	KUNIT_EXPECT_FALSE(test, mgc_mark_near(h));
	mutex_unlock(&h->lock);
}

/*
 * During a concurrent mark the goal is soft: the end is due past it only
 * at the hard goal, a quarter of the growth and at least 4 MiB further.
 */
static void mgc_test_hard_goal(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	u64 obj[1];

	mgc_test_start_mark(test, h, obj);
	h->gc.mark_done = false;
	/* Live 8 MiB, goal 16: a quarter of 8 is under 4 MiB, so 20. */
	h->gc.heap_live = 8ULL << 20;
	h->gc.next_gc = 16ULL << 20;
	h->gc.alloc_since = 8ULL << 20;
	KUNIT_EXPECT_FALSE(test, mgc_due(h));
	h->gc.alloc_since = (12ULL << 20) - 1;
	KUNIT_EXPECT_FALSE(test, mgc_due(h));
	h->gc.alloc_since++;
	KUNIT_EXPECT_TRUE(test, mgc_due(h));
	/* Live 40 MiB, goal 80: a quarter of 40 is 10, so 90. */
	h->gc.heap_live = 40ULL << 20;
	h->gc.next_gc = 80ULL << 20;
	h->gc.alloc_since = (50ULL << 20) - 1;
	KUNIT_EXPECT_FALSE(test, mgc_due(h));
	h->gc.alloc_since++;
	KUNIT_EXPECT_TRUE(test, mgc_due(h));
	/* A soft limit of 84 MiB caps the hard goal there. */
	h->soft_limit = 84ULL << 20;
	h->gc.alloc_since = (44ULL << 20) - 1;
	KUNIT_EXPECT_FALSE(test, mgc_due(h));
	h->gc.alloc_since++;
	KUNIT_EXPECT_TRUE(test, mgc_due(h));
	h->soft_limit = 0;
	/* Done work makes the end due at once. */
	h->gc.alloc_since = 0;
	KUNIT_EXPECT_FALSE(test, mgc_due(h));
	h->gc.mark_done = true;
	KUNIT_EXPECT_TRUE(test, mgc_due(h));
	mgc_abort(h);
	mutex_unlock(&h->lock);
}

/*
 * An allocation's assist stops marking while the worker waits for
 * mheap.lock (it takes its work under the lock); other markers do not.
 */
static void mgc_test_assist_yields(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	u64 *obj, done;
	struct gcheap_gc g;

	obj = kunit_kcalloc(test, 128, sizeof(*obj), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, obj);
	mheap_test_alloc(test, h, MGC_TEST_SC, 128, obj);
	/* Every object a root: 128 grey objects of 8 words after the start. */
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, obj, 128, GCHEAP_GC_CONCURRENT, &g),
			0);
	mutex_lock(&h->lock);
	done = mgc_mark_progress(h);
	WRITE_ONCE(h->gc.bg_waiting, true);
	KUNIT_EXPECT_EQ(test, mgc_mark_step(h, U64_MAX, MGC_MARK_ASSIST), 0);
	KUNIT_EXPECT_LT(test, mgc_mark_progress(h) - done, 128 * 8ULL);
	KUNIT_EXPECT_EQ(test, mgc_mark_step(h, U64_MAX, 0), 1);
	KUNIT_EXPECT_EQ(test, mgc_mark_progress(h) - done, 128 * 8ULL);
	WRITE_ONCE(h->gc.bg_waiting, false);
	mgc_abort(h);
	mutex_unlock(&h->lock);
}

/*
 * The marker takes grey objects off its list a batch at a time, to fetch
 * them from memory together. A budget still ends it after the object that
 * reached it, and what the batch held beyond goes back on the list: each
 * object is scanned once, none is lost.
 */
static void mgc_test_mark_batch(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	u64 parent[16], child[16], done;
	struct gcheap_gc g;
	unsigned int i;

	mheap_test_alloc(test, h, MGC_TEST_SC, 16, parent);
	mheap_test_alloc(test, h, MGC_TEST_SC, 16, child);
	/* Each child is reachable only through its parent. */
	for (i = 0; i < 16; i++)
		mgc_test_poke(test, h, parent[i] + 8 * (i % 8), child[i]);
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, parent, 16, GCHEAP_GC_CONCURRENT,
					  &g), 0);
	mutex_lock(&h->lock);
	done = mgc_mark_progress(h);
	KUNIT_EXPECT_EQ(test, mgc_mark_step(h, 1, 0), 0);
	KUNIT_EXPECT_EQ(test, mgc_mark_progress(h) - done, 8ULL);
	KUNIT_EXPECT_EQ(test, mgc_mark_step(h, 3 * 8, 0), 0);
	KUNIT_EXPECT_EQ(test, mgc_mark_progress(h) - done, 4 * 8ULL);
	KUNIT_EXPECT_EQ(test, mgc_mark_step(h, U64_MAX, 0), 1);
	KUNIT_EXPECT_EQ(test, mgc_mark_progress(h) - done, 32 * 8ULL);
	mutex_unlock(&h->lock);
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, parent, 16, GCHEAP_GC_CONCURRENT,
					  &g), 0);
	KUNIT_EXPECT_EQ(test, h->gc.phase, (u32)MGC_PHASE_OFF);
	KUNIT_EXPECT_EQ(test, g.objects_marked, 32ULL);
	for (i = 0; i < 16; i++)
		KUNIT_EXPECT_TRUE_MSG(test, mgc_test_live(h, child[i]), "c%u", i);
}

static int mgc_test_finalizer(struct mheap *h, u64 addr, u64 fn, u64 arg)
{
	struct gcheap_finalizer f = {
		.size = sizeof(f), .addr = addr, .fn = fn, .arg = arg,
	};

	return mgc_op_finalizer(h, &f);
}

static unsigned int mgc_test_take(struct mheap *h, struct gcheap_final *recs,
				  unsigned int max)
{
	LIST_HEAD(taken);
	unsigned int n = mgc_finq_take(h, &taken, recs, max);

	mgc_finq_finish(h, &taken, n, true);
	return n;
}

/* The specials list: sorted by offset, one finalizer per object, errors. */
static void mgc_test_specials(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	struct gcheap_free fr = { .size = sizeof(fr) };
	struct mgc_special *sp;
	u64 obj[4], prev = 0;
	struct mspan *s;
	unsigned int i;

	mheap_test_alloc(test, h, MGC_TEST_SC, 4, obj);
	/* Out of order; the list keeps them by offset. */
	KUNIT_EXPECT_EQ(test, mgc_test_finalizer(h, obj[2], 0x100, 2), 0);
	KUNIT_EXPECT_EQ(test, mgc_test_finalizer(h, obj[0], 0x100, 0), 0);
	KUNIT_EXPECT_EQ(test, mgc_test_finalizer(h, obj[3], 0x100, 3), 0);
	KUNIT_EXPECT_EQ(test, mgc_test_finalizer(h, obj[1], 0x100, 1), 0);
	KUNIT_EXPECT_EQ(test, mgc_test_finalizer(h, obj[1], 0x200, 1), -EEXIST);
	mutex_lock(&h->lock);
	s = mheap_span_of_addr(h, obj[0]);
	for (i = 0, sp = s->specials; sp; sp = sp->next, i++) {
		KUNIT_EXPECT_TRUE(test, i == 0 || sp->offset > prev);
		KUNIT_EXPECT_EQ(test, sp->arg, (u64)i);
		prev = sp->offset;
	}
	KUNIT_EXPECT_EQ(test, i, 4u);
	KUNIT_EXPECT_EQ(test, h->gc.nfinalizers, 4ULL);
	mutex_unlock(&h->lock);

	/* Removing, and freeing the object, take it off. */
	KUNIT_EXPECT_EQ(test, mgc_test_finalizer(h, obj[2], 0, 0), 0);
	KUNIT_EXPECT_EQ(test, mgc_test_finalizer(h, obj[2], 0, 0), -ENOENT);
	fr.addr = obj[3];
	KUNIT_EXPECT_EQ(test, mheap_op_free(h, &fr), 0);
	mutex_lock(&h->lock);
	KUNIT_EXPECT_EQ(test, h->gc.nfinalizers, 2ULL);
	mutex_unlock(&h->lock);

	/* Bad input. */
	KUNIT_EXPECT_EQ(test, mgc_test_finalizer(h, obj[0] + 8, 0x100, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, mgc_test_finalizer(h, obj[3], 0x100, 0), -ENOENT);
	KUNIT_EXPECT_EQ(test, mgc_test_finalizer(h, h->arena_base - 64, 0x100, 0),
			-ENOENT);
	KUNIT_EXPECT_EQ(test, mgc_test_finalizer(h, h->arena_base +
						 (MHEAP_TEST_ARENA - 64), 0x100, 0),
			-ENOENT);
	{
		struct gcheap_finalizer f = {
			.size = sizeof(f), .flags = 2, .addr = obj[0], .fn = 1,
		};

		KUNIT_EXPECT_EQ(test, mgc_op_finalizer(h, &f), -EINVAL);
	}
}

/*
 * Go's finalizer semantics: an unreachable object with a finalizer is
 * queued once and survives, with what it references, one more cycle; a
 * finalizer that stores the object resurrects it; a cycle of finalizers is
 * never finalized.
 */
static void mgc_test_finalizers(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	struct gcheap_final recs[4];
	u64 a[6], root = 0;
	struct gcheap_gc g;
	LIST_HEAD(taken);

	mheap_test_alloc(test, h, MGC_TEST_SC, 6, a);
	/* a0 (finalizer) -> a1; a2 <-> a3, both with finalizers; a4 -> a4. */
	mgc_test_poke(test, h, a[0], a[1]);
	mgc_test_poke(test, h, a[2], a[3]);
	mgc_test_poke(test, h, a[3], a[2]);
	mgc_test_poke(test, h, a[4] + 8, a[4]);
	KUNIT_ASSERT_EQ(test, mgc_test_finalizer(h, a[0], 0xf0, 0xa0), 0);
	KUNIT_ASSERT_EQ(test, mgc_test_finalizer(h, a[2], 0xf2, 0xa2), 0);
	KUNIT_ASSERT_EQ(test, mgc_test_finalizer(h, a[3], 0xf3, 0xa3), 0);
	KUNIT_ASSERT_EQ(test, mgc_test_finalizer(h, a[4], 0xf4, 0xa4), 0);

	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, &root, 1, 0, &g), 0);
	/*
	 * Only a0 is queued; a0 and a1 live on; a5 (no finalizer) is gone.
	 * A record not read yet keeps its object and what that references
	 * through the cycles that follow, and is not queued twice.
	 */
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, &root, 1, 0, &g), 0);
	KUNIT_EXPECT_TRUE(test, mgc_test_live(h, a[0]));
	KUNIT_EXPECT_TRUE(test, mgc_test_live(h, a[1]));
	KUNIT_EXPECT_TRUE(test, mgc_finq_ready(h));
	KUNIT_ASSERT_EQ(test, mgc_test_take(h, recs, 4), 1u);
	KUNIT_EXPECT_EQ(test, recs[0].addr, a[0]);
	KUNIT_EXPECT_EQ(test, recs[0].fn, 0xf0ULL);
	KUNIT_EXPECT_EQ(test, recs[0].arg, 0xa0ULL);
	KUNIT_EXPECT_EQ(test, recs[0].kind, (u32)GCHEAP_FINAL_FINALIZER);
	KUNIT_EXPECT_FALSE(test, mgc_finq_ready(h));
	KUNIT_EXPECT_TRUE(test, mgc_test_live(h, a[0]));
	KUNIT_EXPECT_TRUE(test, mgc_test_live(h, a[1]));
	KUNIT_EXPECT_FALSE(test, mgc_test_live(h, a[5]));

	/* The finalizer stores a0 in a root: resurrected, not queued again. */
	root = a[0];
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, &root, 1, 0, &g), 0);
	KUNIT_EXPECT_FALSE(test, mgc_finq_ready(h));
	KUNIT_EXPECT_TRUE(test, mgc_test_live(h, a[0]));
	KUNIT_EXPECT_TRUE(test, mgc_test_live(h, a[1]));
	/* Dropped again: freed, with no finalizer left to run. */
	root = 0;
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, &root, 1, 0, &g), 0);
	KUNIT_EXPECT_FALSE(test, mgc_finq_ready(h));
	KUNIT_EXPECT_FALSE(test, mgc_test_live(h, a[0]));
	KUNIT_EXPECT_FALSE(test, mgc_test_live(h, a[1]));
	/* The cycle and the self-reference: kept, never finalized (Go). */
	KUNIT_EXPECT_TRUE(test, mgc_test_live(h, a[2]));
	KUNIT_EXPECT_TRUE(test, mgc_test_live(h, a[3]));
	KUNIT_EXPECT_TRUE(test, mgc_test_live(h, a[4]));

	/* Breaking the self-reference lets a4 be finalized. */
	mgc_test_poke(test, h, a[4] + 8, 0);
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, &root, 1, 0, &g), 0);
	KUNIT_ASSERT_EQ(test, mgc_test_take(h, recs, 4), 1u);
	KUNIT_EXPECT_EQ(test, recs[0].addr, a[4]);

	/* Records not delivered go back first, in order. */
	KUNIT_ASSERT_EQ(test, mgc_test_finalizer(h, a[2], 0, 0), 0);
	KUNIT_ASSERT_EQ(test, mgc_test_finalizer(h, a[3], 0, 0), 0);
	KUNIT_ASSERT_EQ(test, mgc_test_finalizer(h, a[2], 0xf2, 2), 0);
	KUNIT_ASSERT_EQ(test, mgc_test_finalizer(h, a[3], 0xf3, 3), 0);
	mgc_test_poke(test, h, a[3], 0);
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, &root, 1, 0, &g), 0);
	/* a2 -> a3 only: a2 queued, a3 reached from it; then a3. */
	KUNIT_ASSERT_EQ(test, mgc_finq_take(h, &taken, recs, 4), 1u);
	KUNIT_EXPECT_EQ(test, recs[0].addr, a[2]);
	mgc_finq_finish(h, &taken, 1, false);
	KUNIT_EXPECT_TRUE(test, list_empty(&taken));
	KUNIT_ASSERT_EQ(test, mgc_test_take(h, recs, 4), 1u);
	KUNIT_EXPECT_EQ(test, recs[0].addr, a[2]);
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, &root, 1, 0, &g), 0);
	KUNIT_ASSERT_EQ(test, mgc_test_take(h, recs, 4), 1u);
	KUNIT_EXPECT_EQ(test, recs[0].addr, a[3]);
	KUNIT_EXPECT_EQ(test, recs[0].arg, 3ULL);
}

static int mgc_test_cleanup(struct mheap *h, u64 addr, u64 fn, u64 arg)
{
	struct gcheap_finalizer f = {
		.size = sizeof(f), .flags = GCHEAP_FINALIZER_CLEANUP,
		.addr = addr, .fn = fn, .arg = arg,
	};

	return mgc_op_finalizer(h, &f);
}

/*
 * Cleanups: any number, in order, queued when the object is freed, keeping
 * nothing alive; after the finalizer, if there is one.
 */
static void mgc_test_cleanups(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	struct gcheap_final recs[8];
	u64 a[3], root = 0;
	struct gcheap_gc g;
	unsigned int i;

	mheap_test_alloc(test, h, MGC_TEST_SC, 3, a);
	/* a0 -> a1; cleanups on a0 (three) and a1 (one); a2 has both kinds. */
	mgc_test_poke(test, h, a[0], a[1]);
	for (i = 0; i < 3; i++)
		KUNIT_ASSERT_EQ(test, mgc_test_cleanup(h, a[0], 0xc0, i), 0);
	KUNIT_ASSERT_EQ(test, mgc_test_cleanup(h, a[1], 0xc1, 10), 0);
	KUNIT_ASSERT_EQ(test, mgc_test_cleanup(h, a[2], 0xc2, 20), 0);
	KUNIT_ASSERT_EQ(test, mgc_test_finalizer(h, a[2], 0xf2, 21), 0);
	KUNIT_EXPECT_EQ(test, mgc_test_cleanup(h, a[0], 0, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, mgc_test_cleanup(h, a[0] + 8, 0xc0, 0), -EINVAL);

	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, &root, 1, 0, &g), 0);
	/* a0 and a1 are freed, their cleanups queued; a2 is finalized first. */
	KUNIT_EXPECT_FALSE(test, mgc_test_live(h, a[0]));
	KUNIT_EXPECT_FALSE(test, mgc_test_live(h, a[1]));
	KUNIT_EXPECT_TRUE(test, mgc_test_live(h, a[2]));
	KUNIT_ASSERT_EQ(test, mgc_test_take(h, recs, 8), 5u);
	for (i = 0; i < 3; i++) {
		KUNIT_EXPECT_EQ(test, recs[i].kind, (u32)GCHEAP_FINAL_CLEANUP);
		KUNIT_EXPECT_EQ(test, recs[i].arg, (u64)i);
		KUNIT_EXPECT_EQ(test, recs[i].addr, a[0]);
	}
	KUNIT_EXPECT_EQ(test, recs[3].arg, 10ULL);
	KUNIT_EXPECT_EQ(test, recs[4].kind, (u32)GCHEAP_FINAL_FINALIZER);
	KUNIT_EXPECT_EQ(test, recs[4].arg, 21ULL);
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, &root, 1, 0, &g), 0);
	KUNIT_EXPECT_FALSE(test, mgc_test_live(h, a[2]));
	KUNIT_ASSERT_EQ(test, mgc_test_take(h, recs, 8), 1u);
	KUNIT_EXPECT_EQ(test, recs[0].kind, (u32)GCHEAP_FINAL_CLEANUP);
	KUNIT_EXPECT_EQ(test, recs[0].arg, 20ULL);
	mutex_lock(&h->lock);
	KUNIT_EXPECT_EQ(test, h->gc.nfinalizers, 0ULL);
	mutex_unlock(&h->lock);
}

static int mgc_test_link(struct mheap *h, u64 link, u64 obj, u32 flags)
{
	struct gcheap_link l = {
		.size = sizeof(l), .flags = flags, .link = link, .obj = obj,
	};

	return mgc_op_link(h, &l);
}

/*
 * Specials taken on slots a cache was handed go when the span comes back
 * with those slots unused: the objects later put there inherit none.
 */
static void mgc_test_specials_unused_slots(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	struct gcheap_refill *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	u64 a, base, size;
	struct mspan *s;

	KUNIT_ASSERT_NOT_NULL(test, r);
	mheap_test_alloc(test, h, MGC_TEST_SC, 1, &a);
	r->size = sizeof(*r);
	r->spanclass = GCHEAP_SPANCLASS(2, 0);
	KUNIT_ASSERT_EQ(test, mheap_op_refill(h, r), 0);
	base = r->base;
	size = r->elemsize;
	/* Slot 1 is used; 5, 6 and 7 were handed out and come back free. */
	__clear_bit(1, (unsigned long *)r->free);
	KUNIT_ASSERT_EQ(test, mgc_test_finalizer(h, base + size, 0xf1, 1), 0);
	KUNIT_ASSERT_EQ(test, mgc_test_finalizer(h, base + 5 * size, 0xf5, 5), 0);
	KUNIT_ASSERT_EQ(test, mgc_test_link(h, base + 6 * size, a, 0), 0);
	KUNIT_ASSERT_EQ(test, mgc_test_cleanup(h, base + 7 * size, 0xc7, 7), 0);
	r->flags = GCHEAP_REFILL_RELEASE_ONLY;
	r->old_base = base;
	KUNIT_ASSERT_EQ(test, mheap_op_refill(h, r), 0);

	mutex_lock(&h->lock);
	KUNIT_EXPECT_EQ(test, h->gc.nfinalizers, 1ULL);
	KUNIT_EXPECT_EQ(test, h->gc.nlinks, 0ULL);
	s = mheap_span_of_addr(h, base);
	KUNIT_ASSERT_NOT_NULL(test, s);
	KUNIT_ASSERT_NOT_NULL(test, s->specials);
	KUNIT_EXPECT_EQ(test, s->specials->offset, (u32)size);
	KUNIT_EXPECT_NULL(test, s->specials->next);
	KUNIT_EXPECT_EQ(test, s->links_held, 0U);
	mutex_unlock(&h->lock);
}

static u64 mgc_test_word(struct mheap *h, u64 addr)
{
	const u64 *p = mheap_arena_peek(h, (addr - h->arena_base) >> PAGE_SHIFT);

	return p ? p[(addr & ~PAGE_MASK) / 8] : 0;
}

static unsigned int mgc_test_nlinks(struct mheap *h)
{
	struct mgc_special *sp;
	unsigned int n = 0;

	mutex_lock(&h->lock);
	list_for_each_entry(sp, &h->gc.links, node)
		n++;
	/* The count kept must agree. */
	if (n != h->gc.nlinks)
		n = UINT_MAX;
	mutex_unlock(&h->lock);
	return n;
}

/*
 * Disappearing links: cleared when their object dies, in the arena at once
 * and in root memory by the front end; forgotten with the object holding
 * them; cleared before a finalizer is queued; errors.
 */
static void mgc_test_links(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	struct gcheap_roots r = { .size = sizeof(r), .lo = 0x1000, .hi = 0x2000 };
	struct gcheap_free fr = { .size = sizeof(fr) };
	struct gcheap_final recs[2];
	u64 a[8], b[3], root[2];
	struct gcheap_gc g;
	unsigned int n;
	u64 *addrs;

	mheap_test_alloc(test, h, MGC_TEST_SC, 8, a);
	/* Links in noscan objects: their words keep nothing alive. */
	mheap_test_alloc(test, h, MGC_TEST_SC_NOSCAN, 3, b);
	KUNIT_ASSERT_EQ(test, mgc_op_roots(h, &r), 0);
	/* b1 holds a link to a0; b2 (dying) holds one to a3; a root one to a4. */
	mgc_test_poke(test, h, b[1], a[0]);
	mgc_test_poke(test, h, b[2] + 8, a[3]);
	KUNIT_EXPECT_EQ(test, mgc_test_link(h, b[1], a[0], 0), 0);
	KUNIT_EXPECT_EQ(test, mgc_test_link(h, b[2] + 8, a[3], 0), 0);
	KUNIT_EXPECT_EQ(test, mgc_test_link(h, 0x1008, a[4], 0), 0);
	/* a5 has a finalizer and a link from a root. */
	KUNIT_EXPECT_EQ(test, mgc_test_finalizer(h, a[5], 0xf5, 5), 0);
	KUNIT_EXPECT_EQ(test, mgc_test_link(h, 0x1010, a[5], 0), 0);

	/* Errors. */
	KUNIT_EXPECT_EQ(test, mgc_test_link(h, b[1], a[0], 0), -EEXIST);
	KUNIT_EXPECT_EQ(test, mgc_test_link(h, a[6] + 4, a[0], 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, mgc_test_link(h, 0x3000, a[0], 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, mgc_test_link(h, a[6], a[0] + 8, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, mgc_test_link(h, a[6], 0x3000, 0), -ENOENT);
	KUNIT_EXPECT_EQ(test, mgc_test_link(h, a[6], a[0], 2), -EINVAL);
	KUNIT_EXPECT_EQ(test, mgc_test_link(h, a[6], 0, GCHEAP_LINK_REMOVE),
			-ENOENT);
	KUNIT_EXPECT_EQ(test, mgc_test_link(h, a[6], a[0], 0), 0);
	KUNIT_EXPECT_EQ(test, mgc_test_link(h, a[6], 0, GCHEAP_LINK_REMOVE), 0);
	/* Freeing the object holding a link forgets it. */
	KUNIT_EXPECT_EQ(test, mgc_test_link(h, a[7], a[0], 0), 0);
	fr.addr = a[7];
	KUNIT_EXPECT_EQ(test, mheap_op_free(h, &fr), 0);
	KUNIT_EXPECT_EQ(test, mgc_test_nlinks(h), 4u);

	/* Roots: b1 and a3. */
	root[0] = b[1];
	root[1] = a[3];
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, root, 2, 0, &g), 0);
	/* a0 died: its link in b1 was cleared; b2 died: its link forgotten. */
	KUNIT_EXPECT_FALSE(test, mgc_test_live(h, a[0]));
	KUNIT_EXPECT_EQ(test, mgc_test_word(h, b[1]), 0ULL);
	KUNIT_EXPECT_FALSE(test, mgc_test_live(h, b[2]));
	KUNIT_EXPECT_EQ(test, mgc_test_word(h, b[2] + 8), a[3]);
	KUNIT_EXPECT_TRUE(test, mgc_test_live(h, a[3]));
	/* a4 and a5 died: their root links are the front end's to clear. */
	mutex_lock(&h->lock);
	n = mgc_links_pending(h, &addrs);
	mutex_unlock(&h->lock);
	KUNIT_ASSERT_EQ(test, n, 2u);
	KUNIT_EXPECT_EQ(test, addrs[0] + addrs[1], 0x1008ULL + 0x1010ULL);
	kvfree(addrs);
	/* Cleared before the finalizer was queued; a5 lives on for it. */
	KUNIT_ASSERT_EQ(test, mgc_test_take(h, recs, 2), 1u);
	KUNIT_EXPECT_EQ(test, recs[0].addr, a[5]);
	KUNIT_EXPECT_TRUE(test, mgc_test_live(h, a[5]));
	KUNIT_EXPECT_EQ(test, mgc_test_nlinks(h), 0u);
}

/*
 * A heap torn down with links in place (the process exits): a link held in
 * an object of a span torn down before its target's is forgotten without
 * touching the holder's span again (KASAN, or the hosted build's ASan,
 * would see it).
 */
static void mgc_test_links_at_destroy(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	u64 holder[2], target;

	/* Spans of a smaller class are torn down first. */
	mheap_test_alloc(test, h, GCHEAP_SPANCLASS(2, 0), 2, holder);
	mheap_test_alloc(test, h, MGC_TEST_SC, 1, &target);
	KUNIT_ASSERT_EQ(test, mgc_test_link(h, holder[0], target, 0), 0);
	KUNIT_ASSERT_EQ(test, mgc_test_link(h, holder[1], target, 0), 0);
	/* The case's exit tears the heap down. */
	KUNIT_EXPECT_EQ(test, mgc_test_nlinks(h), 2U);
}

/*
 * Many links: the index by address grows, freeing a holder forgets exactly
 * its links, and removal finds each.
 */
static void mgc_test_links_many(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	struct gcheap_free fr = { .size = sizeof(fr) };
	u64 *holder = kunit_kcalloc(test, 100, sizeof(u64), GFP_KERNEL);
	unsigned int i, w;
	u64 target[4];

	KUNIT_ASSERT_NOT_NULL(test, holder);
	mheap_test_alloc(test, h, MGC_TEST_SC_NOSCAN, 100, holder);
	mheap_test_alloc(test, h, MGC_TEST_SC, 4, target);
	for (i = 0; i < 100; i++)
		for (w = 0; w < 8; w++)
			KUNIT_ASSERT_EQ(test, mgc_test_link(h, holder[i] + 8 * w,
							    target[w % 4], 0), 0);
	KUNIT_EXPECT_EQ(test, mgc_test_nlinks(h), 800u);
	mutex_lock(&h->lock);
	KUNIT_EXPECT_GE(test, 1ULL << h->gc.link_hash_bits, 800ULL);
	mutex_unlock(&h->lock);
	KUNIT_EXPECT_EQ(test, mgc_test_link(h, holder[5] + 16, target[0], 0),
			-EEXIST);

	fr.addr = holder[3];
	KUNIT_ASSERT_EQ(test, mheap_op_free(h, &fr), 0);
	KUNIT_EXPECT_EQ(test, mgc_test_nlinks(h), 792u);
	for (w = 0; w < 8; w++)
		KUNIT_EXPECT_EQ(test, mgc_test_link(h, holder[4] + 8 * w, 0,
						    GCHEAP_LINK_REMOVE), 0);
	KUNIT_EXPECT_EQ(test, mgc_test_link(h, holder[4], 0, GCHEAP_LINK_REMOVE),
			-ENOENT);
	KUNIT_EXPECT_EQ(test, mgc_test_nlinks(h), 784u);
	/* The other holders' links are all still found. */
	for (i = 5; i < 100; i++)
		KUNIT_EXPECT_EQ(test, mgc_test_link(h, holder[i] + 8 * (i % 8),
						    target[0], 0), -EEXIST);
}

static u64 mgc_test_soft(struct kunit *test, struct mheap *h, u32 flags,
			 s32 percent, u64 soft)
{
	struct gcheap_gc_config c = {
		.size = sizeof(c), .flags = flags, .gc_percent = percent,
		.soft_limit = soft,
	};
	u64 next;

	KUNIT_EXPECT_EQ(test, mgc_op_config(h, &c), 0);
	mutex_lock(&h->lock);
	next = h->gc.next_gc;
	mutex_unlock(&h->lock);
	return next;
}

/*
 * The soft limit's goal: 15/16 of the limit when it comes before GOGC's,
 * whatever the percent, but 1/16 of the live heap (1 MiB at least) above
 * the live heap; a shrinker's request makes a collection due unless they
 * are off.
 */
static void mgc_test_soft_limit(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	const u32 soft = GCHEAP_GC_SET_SOFT_LIMIT, pct = GCHEAP_GC_SET_PERCENT;

	KUNIT_EXPECT_EQ(test, mgc_test_soft(test, h, soft, 0, 64 << 20),
			MGC_HEAP_MINIMUM);
	KUNIT_EXPECT_EQ(test, mgc_test_soft(test, h, pct, GCHEAP_GC_OFF, 0),
			60ULL << 20);
	KUNIT_EXPECT_EQ(test, mgc_test_soft(test, h, soft, 0, 512 << 10),
			1ULL << 20);
	mutex_lock(&h->lock);
	h->gc.heap_live = 32 << 20;
	mutex_unlock(&h->lock);
	KUNIT_EXPECT_EQ(test, mgc_test_soft(test, h, soft, 0, 16 << 20),
			34ULL << 20);
	KUNIT_EXPECT_EQ(test, mgc_test_soft(test, h, soft, 0, 0), U64_MAX);

	mutex_lock(&h->lock);
	h->gc.heap_live = 0;
	h->gc.requested = true;
	KUNIT_EXPECT_FALSE(test, mgc_due(h));
	mutex_unlock(&h->lock);
	mgc_test_soft(test, h, pct, 100, 0);
	mutex_lock(&h->lock);
	KUNIT_EXPECT_TRUE(test, mgc_due(h));
	mutex_unlock(&h->lock);
}

/* The object record of @addr in dump @buf of @len bytes, or NULL. */
static const struct gcheap_dump_object *mgc_test_dump_find(const u8 *buf,
							  size_t len, u64 addr,
							  u32 *counts)
{
	const struct gcheap_dump_object *found = NULL;
	size_t off = sizeof(struct gcheap_dump_header);

	while (off + sizeof(struct gcheap_dump_record) <= len) {
		const struct gcheap_dump_record *r = (const void *)(buf + off);

		if (r->len < sizeof(*r) || r->len % 8 || off + r->len > len)
			return NULL;
		if (r->kind < 8)
			counts[r->kind]++;
		if (r->kind == GCHEAP_DUMP_OBJECT &&
		    ((const struct gcheap_dump_object *)(r + 1))->addr == addr)
			found = (const void *)(r + 1);
		off += r->len;
	}
	return found;
}

/*
 * A dump of a known graph: objects, the edges between them (interior
 * pointers reduced to bases, none out of noscan objects), a special, a
 * root, the statistics; a short buffer is told the size needed.
 */
static void mgc_test_dump(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	struct gcheap_roots r = { .size = sizeof(r), .lo = 0x1000, .hi = 0x2000 };
	const struct gcheap_dump_header *hd;
	const struct gcheap_dump_object *o;
	u32 counts[8] = { 0 };
	size_t need = 0, len = 0;
	u64 a[4], b[2];
	const u64 *p;
	u8 *buf;

	mheap_test_alloc(test, h, MGC_TEST_SC, 4, a);
	mheap_test_alloc(test, h, MGC_TEST_SC_NOSCAN, 2, b);
	mgc_test_poke(test, h, a[0], a[1]);
	mgc_test_poke(test, h, a[0] + 8, a[2] + 24);
	mgc_test_poke(test, h, a[1] + 16, b[0]);
	mgc_test_poke(test, h, b[0], a[3]);
	KUNIT_ASSERT_EQ(test, mgc_op_roots(h, &r), 0);
	KUNIT_ASSERT_EQ(test, mgc_test_finalizer(h, a[2], 0xf2, 2), 0);

	KUNIT_ASSERT_EQ(test, mgc_dump(h, NULL, 0, &need), -ENOSPC);
	KUNIT_ASSERT_GT(test, need, sizeof(*hd));
	buf = kunit_kzalloc(test, need, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_EXPECT_EQ(test, mgc_dump(h, buf, need - 8, &len), -ENOSPC);
	KUNIT_EXPECT_EQ(test, len, need);
	KUNIT_ASSERT_EQ(test, mgc_dump(h, buf, need, &len), 0);
	KUNIT_EXPECT_EQ(test, len, need);

	hd = (const void *)buf;
	KUNIT_EXPECT_EQ(test, memcmp(hd->magic, GCHEAP_DUMP_MAGIC, 8), 0);
	KUNIT_EXPECT_EQ(test, hd->version, (u32)GCHEAP_DUMP_VERSION);
	KUNIT_EXPECT_EQ(test, hd->arena_base, h->arena_base);
	o = mgc_test_dump_find(buf, len, a[0], counts);
	KUNIT_ASSERT_NOT_NULL(test, o);
	KUNIT_EXPECT_EQ(test, counts[GCHEAP_DUMP_OBJECT], 6u);
	KUNIT_EXPECT_EQ(test, counts[GCHEAP_DUMP_SPAN], 2u);
	KUNIT_EXPECT_EQ(test, counts[GCHEAP_DUMP_SPECIAL], 1u);
	KUNIT_EXPECT_EQ(test, counts[GCHEAP_DUMP_ROOT], 1u);
	KUNIT_EXPECT_EQ(test, counts[GCHEAP_DUMP_MEMSTATS], 1u);
	KUNIT_EXPECT_EQ(test, counts[GCHEAP_DUMP_END], 1u);
	KUNIT_EXPECT_EQ(test, hd->nrecords, 12ULL);
	KUNIT_EXPECT_EQ(test, o->size, 64ULL);
	KUNIT_ASSERT_EQ(test, o->nptrs, 2u);
	p = (const u64 *)(o + 1);
	KUNIT_EXPECT_EQ(test, p[0], a[1]);
	KUNIT_EXPECT_EQ(test, p[1], a[2]);
	memset(counts, 0, sizeof(counts));
	o = mgc_test_dump_find(buf, len, a[1], counts);
	KUNIT_ASSERT_NOT_NULL(test, o);
	KUNIT_ASSERT_EQ(test, o->nptrs, 1u);
	KUNIT_EXPECT_EQ(test, ((const u64 *)(o + 1))[0], b[0]);
	o = mgc_test_dump_find(buf, len, b[0], counts);
	KUNIT_ASSERT_NOT_NULL(test, o);
	KUNIT_EXPECT_EQ(test, o->nptrs, 0u);
	KUNIT_EXPECT_EQ(test, o->spanclass & 1, 1u);
}

static int mgc_test_profile_add(struct mheap *h, u64 addr, u32 bucket)
{
	struct gcheap_profile p = {
		.size = sizeof(p), .op = GCHEAP_PROFILE_ADD, .addr = addr,
		.bucket = bucket,
	};

	return mgc_profile_check(&p) ?: mgc_op_profile_add(h, &p);
}

/*
 * Profile records count their bucket's frees when their object goes, by
 * sweep or explicit free, whatever else is attached to it; a finalized
 * object is not freed yet.
 */
static void mgc_test_profile(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	struct gcheap_free fr = { .size = sizeof(fr) };
	struct gcheap_profile_count c[8];
	struct gcheap_profile rd = {
		.size = sizeof(rd), .op = GCHEAP_PROFILE_READ,
	};
	struct gcheap_final recs[1];
	u64 a[6], root;
	struct gcheap_gc g;
	u32 elemsize;

	mheap_test_alloc(test, h, MGC_TEST_SC, 6, a);
	elemsize = 64;	/* MGC_TEST_SC's */
	/* Buckets 0 and 2 (1 is never used); a5 has a finalizer too. */
	KUNIT_ASSERT_EQ(test, mgc_test_profile_add(h, a[0], 0), 0);
	KUNIT_ASSERT_EQ(test, mgc_test_profile_add(h, a[1], 0), 0);
	KUNIT_ASSERT_EQ(test, mgc_test_profile_add(h, a[2], 2), 0);
	KUNIT_ASSERT_EQ(test, mgc_test_profile_add(h, a[3], 2), 0);
	KUNIT_ASSERT_EQ(test, mgc_test_profile_add(h, a[5], 2), 0);
	KUNIT_ASSERT_EQ(test, mgc_test_finalizer(h, a[5], 0xf5, 5), 0);
	KUNIT_EXPECT_EQ(test, mgc_test_cleanup(h, a[5], 0xc5, 6), 0);

	/* Bad input. */
	KUNIT_EXPECT_EQ(test, mgc_test_profile_add(h, a[0], 3), -EEXIST);
	KUNIT_EXPECT_EQ(test, mgc_test_profile_add(h, a[4] + 8, 3), -EINVAL);
	KUNIT_EXPECT_EQ(test, mgc_test_profile_add(h, h->arena_base - 64, 3),
			-ENOENT);
	KUNIT_EXPECT_EQ(test, mgc_test_profile_add(h, a[4],
						   GCHEAP_PROFILE_BUCKETS_MAX),
			-EINVAL);
	rd.op = 3;
	KUNIT_EXPECT_EQ(test, mgc_profile_check(&rd), -EINVAL);
	rd.op = GCHEAP_PROFILE_READ;
	rd.count = GCHEAP_PROFILE_BUCKETS_MAX + 1;
	KUNIT_EXPECT_EQ(test, mgc_profile_check(&rd), -EINVAL);
	rd.count = 8;
	KUNIT_EXPECT_EQ(test, mgc_profile_check(&rd), 0);

	fr.addr = a[1];
	KUNIT_ASSERT_EQ(test, mheap_op_free(h, &fr), 0);
	KUNIT_ASSERT_EQ(test, mgc_profile_read(h, 0, 8, c), 3u);
	KUNIT_EXPECT_EQ(test, c[0].frees, 1ULL);
	KUNIT_EXPECT_EQ(test, c[0].free_bytes, (u64)elemsize);
	KUNIT_EXPECT_EQ(test, c[2].frees, 0ULL);
	KUNIT_EXPECT_EQ(test, mgc_profile_read(h, 2, 8, c), 1u);
	KUNIT_EXPECT_EQ(test, mgc_profile_read(h, 3, 8, c), 0u);

	/* a2 stays reachable; a0, a3 die; a5 is finalized and kept. */
	root = a[2];
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, &root, 1, 0, &g), 0);
	KUNIT_ASSERT_EQ(test, mgc_profile_read(h, 0, 8, c), 3u);
	KUNIT_EXPECT_EQ(test, c[0].frees, 2ULL);
	KUNIT_EXPECT_EQ(test, c[1].frees, 0ULL);
	KUNIT_EXPECT_EQ(test, c[2].frees, 1ULL);
	KUNIT_EXPECT_EQ(test, c[2].free_bytes, (u64)elemsize);
	KUNIT_EXPECT_TRUE(test, mgc_test_live(h, a[5]));
	/* Its finalizer read (and run), the next cycle frees it. */
	KUNIT_ASSERT_EQ(test, mgc_test_take(h, recs, 1), 1u);
	KUNIT_ASSERT_EQ(test, mgc_test_gc(h, &root, 1, 0, &g), 0);
	KUNIT_ASSERT_EQ(test, mgc_profile_read(h, 0, 8, c), 3u);
	KUNIT_EXPECT_EQ(test, c[2].frees, 2ULL);
	KUNIT_EXPECT_FALSE(test, mgc_test_live(h, a[5]));
	/* The record of a2 stays while it lives. */
	KUNIT_EXPECT_EQ(test, mgc_test_profile_add(h, a[2], 0), -EEXIST);
}

static struct kunit_case mgc_test_cases[] = {
	KUNIT_CASE(mgc_test_roots_and_interior),
	KUNIT_CASE(mgc_test_graph),
	KUNIT_CASE(mgc_test_overflow),
	KUNIT_CASE(mgc_test_sweepgen),
	KUNIT_CASE(mgc_test_pacing),
	KUNIT_CASE(mgc_test_roots_registry),
	KUNIT_CASE(mgc_test_errors),
	KUNIT_CASE(mgc_test_concurrent),
	KUNIT_CASE(mgc_test_concurrent_defer),
	KUNIT_CASE(mgc_test_dirty_page),
	KUNIT_CASE(mgc_test_hard_goal),
	KUNIT_CASE(mgc_test_assist_yields),
	KUNIT_CASE(mgc_test_mark_batch),
	KUNIT_CASE(mgc_test_mark_near),
	KUNIT_CASE(mgc_test_specials),
	KUNIT_CASE(mgc_test_finalizers),
	KUNIT_CASE(mgc_test_cleanups),
	KUNIT_CASE(mgc_test_links),
	KUNIT_CASE(mgc_test_links_many),
	KUNIT_CASE(mgc_test_links_at_destroy),
	KUNIT_CASE(mgc_test_specials_unused_slots),
	KUNIT_CASE(mgc_test_profile),
	KUNIT_CASE(mgc_test_soft_limit),
	KUNIT_CASE(mgc_test_dump),
	{}
};

static struct kunit_suite mgc_test_suite = {
	.name = "gcheap_mgc",
	.exit = mheap_test_exit,
	.test_cases = mgc_test_cases,
};

kunit_test_suites(&mgc_test_suite);
