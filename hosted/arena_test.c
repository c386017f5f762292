// SPDX-License-Identifier: GPL-2.0
/*
 * Hosted KUnit suite: a real arena's write tracking (hosted/arena.c), the
 * stand-in for the CPU's dirty bits that a concurrent mark reads in the
 * kernel. Skipped where the kernel has no asynchronous userfaultfd write
 * protection (before Linux 6.7).
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <hosted/hosted.h>
#include "mheap.h"
#include "mheap_test.h"
#include "../mgc/mgc.h"

/* Base pages of the arena: 8 heap pages grown into. */
#define ARENA_TEST_BYTES	(64 * MHEAP_PAGE_SIZE)
#define ARENA_TEST_GROWN	8
#define ARENA_TEST_BITS		(ARENA_TEST_GROWN * MHEAP_PAGE_SIZE / PAGE_SIZE)

struct arena_test {
	struct mheap h;
	void *mem;
};

static void arena_test_exit(struct kunit *test)
{
	struct arena_test *t = test->priv;

	if (!t)
		return;
	mheap_destroy(&t->h);
	munmap(t->mem, ARENA_TEST_BYTES);
	kfree(t);
	test->priv = NULL;
}

static struct mheap *arena_test_heap_grown(struct kunit *test, u64 grown)
{
	struct arena_test *t = kzalloc(sizeof(*t), GFP_KERNEL);
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, t);
	t->mem = mmap(NULL, ARENA_TEST_BYTES, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	KUNIT_ASSERT_TRUE(test, t->mem != MAP_FAILED);
	KUNIT_ASSERT_EQ(test, mheap_sizeclass_init(), 0);
	mheap_init(&t->h);
	test->priv = t;
	KUNIT_ASSERT_EQ(test, mheap_set_arena(&t->h, (uintptr_t)t->mem,
					      ARENA_TEST_BYTES), 0);
	hosted_arena_set_real(&t->h, true);
	t->h.grown = grown;
	ret = hosted_arena_track_writes(&t->h);
	if (ret)
		kunit_skip(test, "no asynchronous write protection here (%d)", ret);
	return &t->h;
}

static struct mheap *arena_test_heap(struct kunit *test)
{
	return arena_test_heap_grown(test, ARENA_TEST_GROWN);
}

static void arena_test_poke(struct mheap *h, unsigned long pg, u64 val)
{
	((volatile u64 *)(uintptr_t)h->arena_base)[pg * PAGE_SIZE / 8 + 3] = val;
}

static unsigned long arena_test_written(struct kunit *test, struct mheap *h,
					unsigned long *bits, bool take)
{
	bitmap_zero(bits, ARENA_TEST_BITS);
	if (take)
		KUNIT_EXPECT_EQ(test, mheap_arena_dirty_take(h, bits, ARENA_TEST_BITS), 0);
	else
		KUNIT_EXPECT_EQ(test, mheap_arena_dirty_collect(h, bits, ARENA_TEST_BITS), 0);
	return bitmap_weight(bits, ARENA_TEST_BITS);
}

/* Written pages are found, whether they were backed before the reset or not. */
static void arena_test_collect(struct kunit *test)
{
	struct mheap *h = arena_test_heap(test);
	DECLARE_BITMAP(bits, ARENA_TEST_BITS);

	arena_test_poke(h, 2, 1);	/* backed before the reset */
	KUNIT_ASSERT_TRUE(test, mheap_arena_dirty_reset(h));
	KUNIT_EXPECT_EQ(test, arena_test_written(test, h, bits, false), 0UL);
	arena_test_poke(h, 2, 2);
	arena_test_poke(h, 5, 3);	/* backed by this write */
	arena_test_poke(h, ARENA_TEST_BITS - 1, 4);
	KUNIT_EXPECT_EQ(test, arena_test_written(test, h, bits, false), 3UL);
	KUNIT_EXPECT_TRUE(test, test_bit(2, bits));
	KUNIT_EXPECT_TRUE(test, test_bit(5, bits));
	KUNIT_EXPECT_TRUE(test, test_bit(ARENA_TEST_BITS - 1, bits));
	/*
	 * Reading leaves them written; so does a reset while the protection
	 * stands (arena_test_arm()). Lifted, a reset starts anew.
	 */
	KUNIT_EXPECT_EQ(test, arena_test_written(test, h, bits, false), 3UL);
	KUNIT_ASSERT_TRUE(test, mheap_arena_dirty_reset(h));
	KUNIT_EXPECT_EQ(test, arena_test_written(test, h, bits, false), 3UL);
	hosted_arena_untrack_writes(h);
	KUNIT_ASSERT_TRUE(test, mheap_arena_dirty_reset(h));
	KUNIT_EXPECT_EQ(test, arena_test_written(test, h, bits, false), 0UL);
	/* A read is not a write. */
	KUNIT_EXPECT_EQ(test, ((volatile u64 *)(uintptr_t)h->arena_base)[3], 0ULL);
	KUNIT_EXPECT_EQ(test, arena_test_written(test, h, bits, false), 0UL);
}

/* Taking protects again at once: the next write is seen, none is lost. */
static void arena_test_take(struct kunit *test)
{
	struct mheap *h = arena_test_heap(test);
	DECLARE_BITMAP(bits, ARENA_TEST_BITS);

	KUNIT_ASSERT_TRUE(test, mheap_arena_dirty_reset(h));
	arena_test_poke(h, 7, 1);
	KUNIT_EXPECT_EQ(test, arena_test_written(test, h, bits, true), 1UL);
	KUNIT_EXPECT_TRUE(test, test_bit(7, bits));
	KUNIT_EXPECT_EQ(test, arena_test_written(test, h, bits, true), 0UL);
	arena_test_poke(h, 7, 2);
	arena_test_poke(h, 9, 2);
	KUNIT_EXPECT_EQ(test, arena_test_written(test, h, bits, false), 2UL);
	KUNIT_EXPECT_TRUE(test, test_bit(7, bits));
	KUNIT_EXPECT_TRUE(test, test_bit(9, bits));
	/* Bits past @nbits are never written. */
	bitmap_zero(bits, ARENA_TEST_BITS);
	KUNIT_EXPECT_EQ(test, mheap_arena_dirty_take(h, bits, 8), 0);
	KUNIT_EXPECT_EQ(test, bitmap_weight(bits, ARENA_TEST_BITS), 1U);
	KUNIT_EXPECT_TRUE(test, test_bit(7, bits));
}

/*
 * Protection set up ahead of a mark (hosted_arena_arm_writes(), once the
 * mark is near) serves the mark's start, which then keeps what was written
 * since; after a mark, it is lifted unless the next mark is near already,
 * and the next start without it protects anew.
 */
static void arena_test_arm(struct kunit *test)
{
	struct mheap *h = arena_test_heap(test);
	DECLARE_BITMAP(bits, ARENA_TEST_BITS);

	/* Never protected: every page reads as written. */
	arena_test_poke(h, 2, 1);
	KUNIT_EXPECT_EQ(test, arena_test_written(test, h, bits, false),
			(unsigned long)ARENA_TEST_BITS);
	/* Far from a concurrent mark's trigger, nothing is done. */
	h->gc.concurrent = true;
	h->gc.heap_live = 8ULL << 20;
	h->gc.next_gc = 16ULL << 20;
	hosted_arena_arm_writes(h);
	KUNIT_EXPECT_FALSE(test, hosted_arena_writes_armed(h));
	/* Near it (mgc_mark_near()), the arena is protected. */
	h->gc.alloc_since = 5ULL << 20;
	hosted_arena_arm_writes(h);
	KUNIT_EXPECT_TRUE(test, hosted_arena_writes_armed(h));
	KUNIT_EXPECT_EQ(test, arena_test_written(test, h, bits, false), 0UL);
	arena_test_poke(h, 5, 1);
	KUNIT_ASSERT_TRUE(test, mheap_arena_dirty_reset(h));
	KUNIT_EXPECT_EQ(test, arena_test_written(test, h, bits, false), 1UL);
	KUNIT_EXPECT_TRUE(test, test_bit(5, bits));
	arena_test_poke(h, 7, 1);
	KUNIT_EXPECT_EQ(test, arena_test_written(test, h, bits, false), 2UL);

	/* While a mark runs, neither lifting nor arming touches it. */
	h->gc.phase = MGC_PHASE_MARK;
	hosted_arena_untrack_writes(h);
	hosted_arena_arm_writes(h);
	KUNIT_EXPECT_TRUE(test, hosted_arena_writes_armed(h));
	KUNIT_EXPECT_EQ(test, arena_test_written(test, h, bits, false), 2UL);
	h->gc.phase = MGC_PHASE_OFF;

	/*
	 * The next mark is near already: the protection stays for it, and
	 * its start keeps what was written since.
	 */
	hosted_arena_untrack_writes(h);
	KUNIT_EXPECT_TRUE(test, hosted_arena_writes_armed(h));
	arena_test_poke(h, 3, 1);
	KUNIT_ASSERT_TRUE(test, mheap_arena_dirty_reset(h));
	KUNIT_EXPECT_EQ(test, arena_test_written(test, h, bits, false), 3UL);
	KUNIT_EXPECT_TRUE(test, test_bit(3, bits));

	/* Far from it, lifted: every page reads as written again. */
	h->gc.alloc_since = 0;
	hosted_arena_untrack_writes(h);
	KUNIT_EXPECT_FALSE(test, hosted_arena_writes_armed(h));
	KUNIT_EXPECT_EQ(test, arena_test_written(test, h, bits, false),
			(unsigned long)ARENA_TEST_BITS);
	KUNIT_ASSERT_TRUE(test, mheap_arena_dirty_reset(h));
	KUNIT_EXPECT_EQ(test, arena_test_written(test, h, bits, false), 0UL);
}

/*
 * Free spans are left unprotected, by the reset and by taking: they hold
 * nothing to scan, and the program allocates there without faults. Taking
 * passes them by; to a plain read their pages are written.
 */
static void arena_test_holes(struct kunit *test)
{
	struct mheap *h = arena_test_heap_grown(test, 0);
	DECLARE_BITMAP(bits, ARENA_TEST_BITS);
	u64 pages = MHEAP_PAGE_SIZE / PAGE_SIZE, half = ARENA_TEST_GROWN / 2;
	struct mspan *used, *freed;

	mutex_lock(&h->lock);
	used = mheap_alloc_span(h, half);
	freed = mheap_alloc_span(h, half);
	KUNIT_ASSERT_NOT_NULL(test, used);
	KUNIT_ASSERT_NOT_NULL(test, freed);
	KUNIT_ASSERT_EQ(test, used->start, 0ULL);
	KUNIT_ASSERT_EQ(test, freed->start, half);
	mheap_free_span(h, freed);
	KUNIT_ASSERT_TRUE(test, mheap_arena_dirty_reset(h));
	mutex_unlock(&h->lock);

	arena_test_poke(h, 1, 1);
	arena_test_poke(h, half * pages, 1);
	mutex_lock(&h->lock);
	KUNIT_EXPECT_EQ(test, arena_test_written(test, h, bits, true), 1UL);
	KUNIT_EXPECT_TRUE(test, test_bit(1, bits));
	KUNIT_EXPECT_EQ(test, arena_test_written(test, h, bits, true), 0UL);
	KUNIT_EXPECT_EQ(test, arena_test_written(test, h, bits, false),
			half * pages);
	KUNIT_EXPECT_TRUE(test, test_bit(half * pages, bits));
	KUNIT_EXPECT_FALSE(test, test_bit(1, bits));
	mheap_free_span(h, used);
	mutex_unlock(&h->lock);
}

/* 64-byte objects that are scanned */
#define ARENA_TEST_SC		GCHEAP_SPANCLASS(6, 0)

static int arena_test_gc(struct mheap *h, u64 *root, u32 flags)
{
	struct mgc_root r = { .words = root, .len = sizeof(*root) };
	struct gcheap_gc g = { .size = sizeof(g), .flags = flags };

	return mgc_op_gc(h, &g, &r, 1);
}

static bool arena_test_marked(struct mheap *h, u64 addr)
{
	struct mspan *s;
	bool marked;

	mutex_lock(&h->lock);
	s = mheap_span_of_addr(h, addr);
	marked = s && test_bit((addr - mheap_span_base(h, s)) / s->elemsize,
			       s->gcmarkbits);
	mutex_unlock(&h->lock);
	return marked;
}

static bool arena_test_live(struct mheap *h, u64 addr)
{
	struct gcheap_lookup l = { .size = sizeof(l), .addr = addr };

	return !mheap_op_lookup(h, &l) && l.base == addr;
}

/*
 * Precleaning's pages are scanned by the concurrent mark's worker without
 * mheap.lock: a pointer written into a scanned (black) object during the
 * mark is found there, and pages the worker took but was stopped before
 * scanning go back to the mark's end, which scans them.
 */
static void arena_test_preclean_worker(struct kunit *test)
{
	struct mheap *h = arena_test_heap_grown(test, 0);
	u64 obj[4], root;

	mheap_test_alloc(test, h, ARENA_TEST_SC, 4, obj);
	root = obj[0];
	KUNIT_ASSERT_EQ(test, arena_test_gc(h, &root, GCHEAP_GC_CONCURRENT), 0);
	KUNIT_ASSERT_TRUE(test, h->gc.dirty_armed);
	/* The worker scans obj0, the only grey object. */
	mutex_lock(&h->lock);
	KUNIT_ASSERT_TRUE(test, mgc_mark_bg_begin(h));
	mutex_unlock(&h->lock);
	mgc_mark_bg_run(h, U64_MAX);
	KUNIT_EXPECT_TRUE(test, arena_test_marked(h, obj[0]));

	/* The program stores obj2, white, into black obj0. */
	((u64 *)(uintptr_t)obj[0])[1] = obj[2];
	KUNIT_EXPECT_GT(test, mgc_preclean(h, h->gc.num_gc), 0L);
	mutex_lock(&h->lock);
	KUNIT_ASSERT_TRUE(test, mgc_mark_bg_begin(h));	/* the page, no grey */
	mutex_unlock(&h->lock);
	mgc_mark_bg_run(h, U64_MAX);
	KUNIT_EXPECT_TRUE(test, arena_test_marked(h, obj[2]));
	mutex_lock(&h->lock);
	KUNIT_EXPECT_FALSE(test, mgc_mark_bg_begin(h));	/* nothing left */
	mutex_unlock(&h->lock);

	/* Then obj3; the worker takes the page and is stopped at once. */
	((u64 *)(uintptr_t)obj[0])[2] = obj[3];
	KUNIT_EXPECT_GT(test, mgc_preclean(h, h->gc.num_gc), 0L);
	mutex_lock(&h->lock);
	KUNIT_ASSERT_TRUE(test, mgc_mark_bg_begin(h));
	WRITE_ONCE(h->gc.bg_stop, true);
	mutex_unlock(&h->lock);
	mgc_mark_bg_run(h, U64_MAX);
	KUNIT_EXPECT_FALSE(test, arena_test_marked(h, obj[3]));

	/* The end scans that page; obj1 was never referenced. */
	KUNIT_ASSERT_EQ(test, arena_test_gc(h, &root, GCHEAP_GC_CONCURRENT), 0);
	KUNIT_EXPECT_EQ(test, h->gc.phase, (u32)MGC_PHASE_OFF);
	KUNIT_EXPECT_TRUE(test, arena_test_live(h, obj[0]));
	KUNIT_EXPECT_FALSE(test, arena_test_live(h, obj[1]));
	KUNIT_EXPECT_TRUE(test, arena_test_live(h, obj[2]));
	KUNIT_EXPECT_TRUE(test, arena_test_live(h, obj[3]));
}

/*
 * An object a thread cache hands out during a mark is white until its span
 * goes back (then black), so a scan of its page before that skips it: what
 * the program wrote into it must be scanned once it is black, though
 * precleaning took the page's written state already.
 */
static void arena_test_preclean_cached(struct kunit *test)
{
	struct mheap *h = arena_test_heap_grown(test, 0);
	struct gcheap_refill *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	unsigned long idx;
	u64 w, x, root = 0;

	KUNIT_ASSERT_NOT_NULL(test, r);
	mheap_test_alloc(test, h, ARENA_TEST_SC, 1, &w);
	KUNIT_ASSERT_EQ(test, arena_test_gc(h, &root, GCHEAP_GC_CONCURRENT), 0);
	KUNIT_ASSERT_TRUE(test, h->gc.dirty_armed);

	/* A thread caches a span and hands out x, which gets w, white. */
	r->size = sizeof(*r);
	r->spanclass = ARENA_TEST_SC;
	KUNIT_ASSERT_EQ(test, mheap_op_refill(h, r), 0);
	idx = find_next_bit((unsigned long *)r->free, r->nelems, 0);
	KUNIT_ASSERT_LT(test, idx, (unsigned long)r->nelems);
	__clear_bit(idx, (unsigned long *)r->free);
	x = r->base + idx * r->elemsize;
	((u64 *)(uintptr_t)x)[1] = w;

	/* Precleaning takes x's page; the worker finds x unallocated. */
	KUNIT_EXPECT_GT(test, mgc_preclean(h, h->gc.num_gc), 0L);
	mutex_lock(&h->lock);
	if (mgc_mark_bg_begin(h)) {
		mutex_unlock(&h->lock);
		mgc_mark_bg_run(h, U64_MAX);
	} else {
		mutex_unlock(&h->lock);
	}
	KUNIT_EXPECT_FALSE(test, arena_test_marked(h, w));

	/* The span goes back: x is black. Only x is a root at the end. */
	r->flags = GCHEAP_REFILL_RELEASE_ONLY;
	r->old_base = r->base;
	KUNIT_ASSERT_EQ(test, mheap_op_refill(h, r), 0);
	KUNIT_EXPECT_TRUE(test, arena_test_marked(h, x));
	root = x;
	KUNIT_ASSERT_EQ(test, arena_test_gc(h, &root, GCHEAP_GC_CONCURRENT), 0);
	KUNIT_EXPECT_EQ(test, h->gc.phase, (u32)MGC_PHASE_OFF);
	KUNIT_EXPECT_TRUE(test, arena_test_live(h, x));
	KUNIT_EXPECT_TRUE(test, arena_test_live(h, w));
}

static struct mheap *arena_test_stop_heap;

/* The mark's end asks the worker to stop while it is at work. */
static void arena_test_stop_worker(void)
{
	WRITE_ONCE(arena_test_stop_heap->gc.bg_stop, true);
}

/*
 * The worker, asked to stop part-way through a large object, leaves the
 * rest of it to the mark's end: a pointer in its last words is found.
 */
static void arena_test_worker_stopped_in_object(struct kunit *test)
{
	struct mheap *h = arena_test_heap_grown(test, 0);
	/* Past the worker's first look (MARK_CHECK_WORDS) and the next. */
	struct gcheap_alloc a = { .size = sizeof(a), .bytes = 16 * MHEAP_PAGE_SIZE };
	u64 w, root;

	mheap_test_alloc(test, h, ARENA_TEST_SC, 1, &w);
	KUNIT_ASSERT_EQ(test, mheap_op_alloc(h, &a), 0);
	((u64 *)(uintptr_t)a.addr)[a.bytes / 8 - 1] = w;
	root = a.addr;
	KUNIT_ASSERT_EQ(test, arena_test_gc(h, &root, GCHEAP_GC_CONCURRENT), 0);
	root = 0;	/* the large object was marked; now only it holds w */

	mutex_lock(&h->lock);
	KUNIT_ASSERT_TRUE(test, mgc_mark_bg_begin(h));
	mutex_unlock(&h->lock);
	arena_test_stop_heap = h;
	hosted_resched_hook = arena_test_stop_worker;
	mgc_mark_bg_run(h, U64_MAX);
	hosted_resched_hook = NULL;
	KUNIT_EXPECT_TRUE(test, READ_ONCE(h->gc.bg_stop));
	KUNIT_EXPECT_FALSE(test, arena_test_marked(h, w));

	KUNIT_ASSERT_EQ(test, arena_test_gc(h, &root, GCHEAP_GC_CONCURRENT), 0);
	KUNIT_EXPECT_EQ(test, h->gc.phase, (u32)MGC_PHASE_OFF);
	KUNIT_EXPECT_TRUE(test, arena_test_live(h, a.addr));
	KUNIT_EXPECT_TRUE(test, arena_test_live(h, w));
}

static struct kunit_case arena_test_cases[] = {
	KUNIT_CASE(arena_test_collect),
	KUNIT_CASE(arena_test_take),
	KUNIT_CASE(arena_test_arm),
	KUNIT_CASE(arena_test_holes),
	KUNIT_CASE(arena_test_preclean_worker),
	KUNIT_CASE(arena_test_preclean_cached),
	KUNIT_CASE(arena_test_worker_stopped_in_object),
	{}
};

static struct kunit_suite arena_test_suite = {
	.name = "hosted_arena_writes",
	.exit = arena_test_exit,
	.test_cases = arena_test_cases,
};

kunit_test_suites(&arena_test_suite);
