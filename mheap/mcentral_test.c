// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: mcentral refill and return, large objects, explicit free and lookup,
 * through the same operations the ioctls run, with their documented errors.
 * Also built in user space by hosted/ under ASan and UBSan.
 */
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/string.h>
#include "mheap_test.h"

/* 48-byte slots: 170 per one-page span, so the bitmap spans three words. */
#define MCENTRAL_TEST_CLASS	5
#define MCENTRAL_TEST_SC	GCHEAP_SPANCLASS(MCENTRAL_TEST_CLASS, 0)

static int mcentral_test_refill(struct mheap *h, struct gcheap_refill *r,
				u32 spanclass, u64 old_base)
{
	r->size = sizeof(*r);
	r->flags = 0;
	r->spanclass = spanclass;
	r->old_base = old_base;
	return mheap_op_refill(h, r);
}

static void mcentral_test_stats(struct kunit *test, struct mheap *h,
				struct gcheap_stats *st)
{
	memset(st, 0, sizeof(*st));
	KUNIT_ASSERT_EQ(test, mheap_op_stats(h, st, NULL, 0, NULL), 0);
	KUNIT_EXPECT_EQ(test, st->heap_objects, st->mallocs - st->frees);
}

/* A free from the cache that holds the span, if it holds it. */
static int mcentral_test_free(struct mheap *h, u64 addr)
{
	struct gcheap_free f = {
		.size = sizeof(f), .flags = GCHEAP_FREE_CACHED, .addr = addr,
	};

	return mheap_op_free(h, &f);
}

static int mcentral_test_lookup(struct mheap *h, u64 addr,
				struct gcheap_lookup *l)
{
	memset(l, 0, sizeof(*l));
	l->size = sizeof(*l);
	l->addr = addr;
	return mheap_op_lookup(h, l);
}

static void mcentral_test_refill_and_return(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	const struct mheap_sizeclass *c = &mheap_classes[MCENTRAL_TEST_CLASS];
	struct gcheap_refill *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	struct gcheap_stats st;
	u64 base;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, r);
	KUNIT_ASSERT_EQ(test, mcentral_test_refill(h, r, MCENTRAL_TEST_SC, 0), 0);
	KUNIT_EXPECT_EQ(test, r->base, MHEAP_TEST_BASE);
	KUNIT_EXPECT_EQ(test, r->elemsize, c->size);
	KUNIT_EXPECT_EQ(test, r->nelems, c->nelems);
	KUNIT_EXPECT_EQ(test, r->nfree, c->nelems);
	KUNIT_EXPECT_EQ(test, r->out_flags, 0u);
	KUNIT_EXPECT_EQ(test, bitmap_weight((unsigned long *)r->free,
					    GCHEAP_SPAN_MAX_ELEMS), c->nelems);
	base = r->base;

	/* Use 100 slots, give the span back, take the next one. */
	bitmap_clear((unsigned long *)r->free, 0, 100);
	KUNIT_ASSERT_EQ(test, mcentral_test_refill(h, r, MCENTRAL_TEST_SC, base), 0);
	KUNIT_EXPECT_NE(test, r->base, base);
	mcentral_test_stats(test, h, &st);
	KUNIT_EXPECT_EQ(test, st.mallocs, 100ULL);
	KUNIT_EXPECT_EQ(test, st.heap_objects, 100ULL);
	KUNIT_EXPECT_EQ(test, st.heap_alloc, 100ULL * c->size);
	KUNIT_EXPECT_EQ(test, st.cached_spans, 1ULL);

	/* Give the second span back unused: it stays with its class, empty. */
	r->flags = GCHEAP_REFILL_RELEASE_ONLY;
	r->old_base = r->base;
	KUNIT_ASSERT_EQ(test, mheap_op_refill(h, r), 0);
	KUNIT_EXPECT_EQ(test, r->base, 0ULL);
	mcentral_test_stats(test, h, &st);
	KUNIT_EXPECT_EQ(test, st.cached_spans, 0ULL);
	KUNIT_EXPECT_EQ(test, st.heap_inuse, 2 * MHEAP_PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, h->empty_spans, 1ULL);

	/* The partial first span comes back next, its used slots not free. */
	KUNIT_ASSERT_EQ(test, mcentral_test_refill(h, r, MCENTRAL_TEST_SC, 0), 0);
	KUNIT_EXPECT_EQ(test, r->base, base);
	KUNIT_EXPECT_EQ(test, r->nfree, c->nelems - 100);
	for (i = 0; i < 100; i++)
		KUNIT_EXPECT_FALSE(test, test_bit(i, (unsigned long *)r->free));
	KUNIT_EXPECT_TRUE(test, test_bit(100, (unsigned long *)r->free));
}

static void mcentral_test_refill_errors(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, 0);
	struct gcheap_refill *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	u64 base;

	KUNIT_ASSERT_NOT_NULL(test, r);
	KUNIT_EXPECT_EQ(test, mcentral_test_refill(h, r, MCENTRAL_TEST_SC, 0), -ENXIO);
	KUNIT_ASSERT_EQ(test, mheap_set_arena(h, MHEAP_TEST_BASE, MHEAP_TEST_ARENA), 0);
	KUNIT_EXPECT_EQ(test, mheap_set_arena(h, MHEAP_TEST_BASE, MHEAP_TEST_ARENA), -EBUSY);

	KUNIT_EXPECT_EQ(test, mcentral_test_refill(h, r, 0, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, mcentral_test_refill(h, r, 1, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, mcentral_test_refill(h, r, MHEAP_NUM_SPANCLASSES, 0), -EINVAL);
	r->__reserved = 1;
	KUNIT_EXPECT_EQ(test, mcentral_test_refill(h, r, MCENTRAL_TEST_SC, 0), -EINVAL);
	r->__reserved = 0;
	r->flags = 1U << 7;
	r->spanclass = MCENTRAL_TEST_SC;
	KUNIT_EXPECT_EQ(test, mheap_op_refill(h, r), -EINVAL);
	r->flags = GCHEAP_REFILL_RELEASE_ONLY;
	r->old_base = 0;
	KUNIT_EXPECT_EQ(test, mheap_op_refill(h, r), -EINVAL);

	KUNIT_ASSERT_EQ(test, mcentral_test_refill(h, r, MCENTRAL_TEST_SC, 0), 0);
	base = r->base;
	/* Not a cached span's base, another class, or not cached at all. */
	KUNIT_EXPECT_EQ(test, mcentral_test_refill(h, r, MCENTRAL_TEST_SC, base + 48), -EINVAL);
	KUNIT_EXPECT_EQ(test, mcentral_test_refill(h, r, MCENTRAL_TEST_SC, 12345), -EINVAL);
	KUNIT_EXPECT_EQ(test, mcentral_test_refill(h, r, MCENTRAL_TEST_SC + 2, base), -EINVAL);
	KUNIT_EXPECT_EQ(test, mcentral_test_refill(h, r, MCENTRAL_TEST_SC,
						   base + MHEAP_PAGE_SIZE), -EINVAL);
	memset(r->free, 0, sizeof(r->free));
	KUNIT_ASSERT_EQ(test, mcentral_test_refill(h, r, MCENTRAL_TEST_SC, base), 0);
	/* The span is full and no longer cached: giving it back again fails. */
	KUNIT_EXPECT_EQ(test, mcentral_test_refill(h, r, MCENTRAL_TEST_SC, base), -EINVAL);
}

static void mcentral_test_lying_bitmap(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	struct gcheap_refill *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	const u32 nelems = mheap_classes[MCENTRAL_TEST_CLASS].nelems;
	struct gcheap_stats st;
	u64 base;

	KUNIT_ASSERT_NOT_NULL(test, r);
	KUNIT_ASSERT_EQ(test, mcentral_test_refill(h, r, MCENTRAL_TEST_SC, 0), 0);
	base = r->base;
	/* Use slots 0..9 honestly. */
	bitmap_clear((unsigned long *)r->free, 0, 10);
	KUNIT_ASSERT_EQ(test, mcentral_test_refill(h, r, MCENTRAL_TEST_SC, base), 0);
	/*
	 * Take the span back (the second one is given back first) and claim
	 * slots 0..9 free again, and bits past the span's end: the kernel keeps
	 * its own record.
	 */
	r->flags = GCHEAP_REFILL_RELEASE_ONLY;
	r->old_base = r->base;
	KUNIT_ASSERT_EQ(test, mheap_op_refill(h, r), 0);
	KUNIT_ASSERT_EQ(test, mcentral_test_refill(h, r, MCENTRAL_TEST_SC, 0), 0);
	KUNIT_ASSERT_EQ(test, r->base, base);
	memset(r->free, 0xff, sizeof(r->free));
	bitmap_clear((unsigned long *)r->free, 20, 5);
	KUNIT_ASSERT_EQ(test, mcentral_test_refill(h, r, MCENTRAL_TEST_SC, base), 0);
	mcentral_test_stats(test, h, &st);
	KUNIT_EXPECT_EQ(test, st.mallocs, 15ULL);
	KUNIT_EXPECT_EQ(test, st.heap_objects, 15ULL);
	KUNIT_EXPECT_LE(test, st.heap_objects, (u64)nelems);
}

static void mcentral_test_free_and_lookup(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	struct gcheap_refill *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	const u32 size = mheap_classes[MCENTRAL_TEST_CLASS].size;
	struct gcheap_free f = { .size = sizeof(f) };
	struct gcheap_lookup l;
	struct gcheap_stats st;
	u64 base;

	KUNIT_ASSERT_NOT_NULL(test, r);
	KUNIT_EXPECT_EQ(test, mcentral_test_free(h, MHEAP_TEST_BASE), -ENOENT);
	KUNIT_ASSERT_EQ(test, mcentral_test_refill(h, r, MCENTRAL_TEST_SC, 0), 0);
	base = r->base;

	/* A cached, handed-out slot looks allocated until the span returns. */
	KUNIT_EXPECT_EQ(test, mcentral_test_lookup(h, base + 5, &l), 0);
	KUNIT_EXPECT_EQ(test, l.base, base);
	KUNIT_EXPECT_EQ(test, l.objsize, (u64)size);
	KUNIT_EXPECT_EQ(test, l.spanclass, (u32)MCENTRAL_TEST_SC);

	/* Slots 0..3 used; slot 2 freed while the span is still cached. */
	bitmap_clear((unsigned long *)r->free, 0, 4);
	KUNIT_EXPECT_EQ(test, mcentral_test_free(h, base + 2 * size), 0);
	KUNIT_EXPECT_EQ(test, mcentral_test_free(h, base + 2 * size), -EALREADY);
	KUNIT_EXPECT_EQ(test, mcentral_test_lookup(h, base + 2 * size, &l), -ENOENT);
	/* Slot 9 was never used: freeing it is only found out at return. */
	KUNIT_EXPECT_EQ(test, mcentral_test_free(h, base + 9 * size), 0);
	/*
	 * From another thread (no GCHEAP_FREE_CACHED), nothing changes: slot
	 * 3, used, stays allocated; slot 12, not handed out yet, is not
	 * freed when the cache uses it later (here: before the return).
	 */
	f.flags = 0;
	f.addr = base + 3 * size;
	KUNIT_EXPECT_EQ(test, mheap_op_free(h, &f), 0);
	f.addr = base + 12 * size;
	KUNIT_EXPECT_EQ(test, mheap_op_free(h, &f), 0);
	KUNIT_EXPECT_EQ(test, mheap_op_free(h, &f), 0);
	KUNIT_EXPECT_EQ(test, mcentral_test_lookup(h, base + 3 * size, &l), 0);
	__clear_bit(12, (unsigned long *)r->free);
	f.flags = 1U << 1;
	KUNIT_EXPECT_EQ(test, mheap_op_free(h, &f), -EINVAL);
	KUNIT_ASSERT_EQ(test, mcentral_test_refill(h, r, MCENTRAL_TEST_SC, base), 0);
	mcentral_test_stats(test, h, &st);
	KUNIT_EXPECT_EQ(test, st.mallocs, 5ULL);
	KUNIT_EXPECT_EQ(test, st.frees, 1ULL);
	KUNIT_EXPECT_EQ(test, st.bad_frees, 1ULL);
	KUNIT_EXPECT_EQ(test, st.heap_objects, 4ULL);
	KUNIT_EXPECT_EQ(test, mcentral_test_lookup(h, base + 3 * size, &l), 0);
	KUNIT_EXPECT_EQ(test, mcentral_test_lookup(h, base + 12 * size, &l), 0);

	/* Now the span is not cached: lookups and frees see allocbits. */
	KUNIT_EXPECT_EQ(test, mcentral_test_lookup(h, base + size + 7, &l), 0);
	KUNIT_EXPECT_EQ(test, l.base, base + size);
	KUNIT_EXPECT_EQ(test, mcentral_test_lookup(h, base + 2 * size, &l), -ENOENT);
	KUNIT_EXPECT_EQ(test, mcentral_test_lookup(h, base + 9 * size, &l), -ENOENT);
	KUNIT_EXPECT_EQ(test, mcentral_test_free(h, base + size + 8), -EINVAL);
	KUNIT_EXPECT_EQ(test, mcentral_test_free(h, base + 9 * size), -EALREADY);
	/* The tail of the page that no slot covers. */
	KUNIT_EXPECT_EQ(test, mcentral_test_free(h, base + MHEAP_PAGE_SIZE - 8), -ENOENT);
	KUNIT_EXPECT_EQ(test, mcentral_test_free(h, base), 0);
	KUNIT_EXPECT_EQ(test, mcentral_test_free(h, base), -EALREADY);
	KUNIT_EXPECT_EQ(test, mcentral_test_free(h, base + 3 * size), 0);
	KUNIT_EXPECT_EQ(test, mcentral_test_free(h, base + 12 * size), 0);
	mcentral_test_stats(test, h, &st);
	KUNIT_EXPECT_EQ(test, st.heap_objects, 1ULL);

	/* The last object's free empties the span: it stays with its class. */
	KUNIT_EXPECT_EQ(test, st.heap_inuse, 2 * MHEAP_PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, mcentral_test_free(h, base + size), 0);
	mcentral_test_stats(test, h, &st);
	KUNIT_EXPECT_EQ(test, st.heap_objects, 0ULL);
	KUNIT_EXPECT_EQ(test, st.heap_inuse, 2 * MHEAP_PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, h->empty_spans, 1ULL);
	KUNIT_EXPECT_EQ(test, mcentral_test_lookup(h, base, &l), -ENOENT);
	KUNIT_EXPECT_EQ(test, mcentral_test_free(h, base), -EALREADY);

	/*
	 * The empty span is the class's next refill. Frees clear their slots,
	 * and the span came fresh from the arena: nothing to clear.
	 */
	KUNIT_ASSERT_EQ(test, mcentral_test_refill(h, r, MCENTRAL_TEST_SC, 0), 0);
	KUNIT_EXPECT_EQ(test, r->base, base);
	KUNIT_EXPECT_EQ(test, r->nfree, mheap_classes[MCENTRAL_TEST_CLASS].nelems);
	KUNIT_EXPECT_EQ(test, r->out_flags, 0u);
	KUNIT_EXPECT_EQ(test, h->empty_spans, 0ULL);
}

static void mcentral_test_release_empty(struct kunit *test)
{
	/* Room for two one-page spans and nothing else. */
	struct mheap *h = mheap_test_heap(test, 2 * MHEAP_PAGE_SIZE);
	struct gcheap_refill *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	struct gcheap_alloc a = { .size = sizeof(a), .bytes = 100 };
	struct gcheap_stats st;
	u64 first;

	KUNIT_ASSERT_NOT_NULL(test, r);
	KUNIT_ASSERT_EQ(test, mcentral_test_refill(h, r, MCENTRAL_TEST_SC, 0), 0);
	first = r->base;
	/* Give the first span back unused (empty), keep the second cached. */
	KUNIT_ASSERT_EQ(test, mcentral_test_refill(h, r, MCENTRAL_TEST_SC, first), 0);
	KUNIT_EXPECT_NE(test, r->base, first);
	KUNIT_EXPECT_EQ(test, h->empty_spans, 1ULL);
	/* The arena is full: the empty span goes back to make room. */
	KUNIT_ASSERT_EQ(test, mheap_op_alloc(h, &a), 0);
	KUNIT_EXPECT_EQ(test, a.addr, first);
	KUNIT_EXPECT_EQ(test, h->empty_spans, 0ULL);
	mcentral_test_stats(test, h, &st);
	KUNIT_EXPECT_EQ(test, st.heap_idle, 0ULL);
	KUNIT_EXPECT_EQ(test, st.heap_objects, 1ULL);
	/* Nothing left to release: the next request fails. */
	KUNIT_EXPECT_EQ(test, mheap_op_alloc(h, &a), -ENOMEM);

	/* Pages that held a span come back from the page heap to be cleared. */
	KUNIT_ASSERT_EQ(test, mcentral_test_free(h, first), 0);
	KUNIT_ASSERT_EQ(test, mcentral_test_refill(h, r, MCENTRAL_TEST_SC, r->base), 0);
	KUNIT_EXPECT_EQ(test, r->base, first);
	KUNIT_EXPECT_EQ(test, r->out_flags, (u32)GCHEAP_SPAN_NEEDZERO);
}

static void mcentral_test_large(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	struct gcheap_alloc a = { .size = sizeof(a) };
	struct gcheap_lookup l;
	struct gcheap_stats st;
	u64 addr;

	a.bytes = 0;
	KUNIT_EXPECT_EQ(test, mheap_op_alloc(h, &a), -EINVAL);
	a.bytes = U64_MAX - 5;
	KUNIT_EXPECT_EQ(test, mheap_op_alloc(h, &a), -EOVERFLOW);
	a.bytes = MHEAP_TEST_ARENA + 1;
	KUNIT_EXPECT_EQ(test, mheap_op_alloc(h, &a), -ENOMEM);
	a.bytes = 100000;
	a.flags = 1U << 9;
	KUNIT_EXPECT_EQ(test, mheap_op_alloc(h, &a), -EINVAL);
	a.flags = GCHEAP_ALLOC_NOSCAN;
	KUNIT_ASSERT_EQ(test, mheap_op_alloc(h, &a), 0);
	addr = a.addr;
	KUNIT_EXPECT_EQ(test, addr, MHEAP_TEST_BASE);
	KUNIT_EXPECT_EQ(test, a.usable, 13 * MHEAP_PAGE_SIZE);

	KUNIT_EXPECT_EQ(test, mcentral_test_lookup(h, addr + 99999, &l), 0);
	KUNIT_EXPECT_EQ(test, l.base, addr);
	KUNIT_EXPECT_EQ(test, l.objsize, a.usable);
	KUNIT_EXPECT_EQ(test, l.spanclass, (u32)GCHEAP_SPANCLASS(0, 1));
	KUNIT_EXPECT_EQ(test, mcentral_test_lookup(h, addr + a.usable, &l), -ENOENT);

	mcentral_test_stats(test, h, &st);
	KUNIT_EXPECT_EQ(test, st.heap_alloc, a.usable);
	KUNIT_EXPECT_EQ(test, st.heap_objects, 1ULL);
	KUNIT_EXPECT_EQ(test, mcentral_test_free(h, addr + 8), -EINVAL);
	KUNIT_EXPECT_EQ(test, mcentral_test_free(h, addr), 0);
	KUNIT_EXPECT_EQ(test, mcentral_test_free(h, addr), -ENOENT);
	mcentral_test_stats(test, h, &st);
	KUNIT_EXPECT_EQ(test, st.heap_objects, 0ULL);
	KUNIT_EXPECT_EQ(test, st.heap_alloc, 0ULL);
	KUNIT_EXPECT_EQ(test, st.heap_inuse, 0ULL);

	/* The whole arena in one object, and nothing after it. */
	a.bytes = MHEAP_TEST_ARENA;
	KUNIT_ASSERT_EQ(test, mheap_op_alloc(h, &a), 0);
	a.bytes = 1;
	KUNIT_EXPECT_EQ(test, mheap_op_alloc(h, &a), -ENOMEM);
}

static void mcentral_test_by_class(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	struct gcheap_refill *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	struct gcheap_class_stats *rows;
	struct gcheap_stats st = {};
	unsigned int c;

	rows = kunit_kcalloc(test, MHEAP_NUM_CLASSES, sizeof(*rows), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r);
	KUNIT_ASSERT_NOT_NULL(test, rows);
	KUNIT_EXPECT_EQ(test, mheap_op_stats(h, &st, rows, MHEAP_NUM_CLASSES - 1, NULL), -ENOSPC);
	/* One object of every class, scan and noscan. */
	for (c = 1; c < MHEAP_NUM_CLASSES; c++) {
		unsigned int noscan;

		for (noscan = 0; noscan < 2; noscan++) {
			u32 sc = GCHEAP_SPANCLASS(c, noscan);

			KUNIT_ASSERT_EQ(test, mcentral_test_refill(h, r, sc, 0), 0);
			__clear_bit(0, (unsigned long *)r->free);
			r->flags = GCHEAP_REFILL_RELEASE_ONLY;
			r->old_base = r->base;
			KUNIT_ASSERT_EQ(test, mheap_op_refill(h, r), 0);
		}
	}
	KUNIT_ASSERT_EQ(test, mheap_op_stats(h, &st, rows, MHEAP_NUM_CLASSES, NULL), 0);
	KUNIT_EXPECT_EQ(test, st.nclasses, (u32)MHEAP_NUM_CLASSES);
	for (c = 1; c < MHEAP_NUM_CLASSES; c++) {
		KUNIT_EXPECT_EQ(test, rows[c].elemsize, mheap_classes[c].size);
		KUNIT_EXPECT_EQ(test, rows[c].mallocs, 2ULL);
		KUNIT_EXPECT_EQ(test, rows[c].frees, 0ULL);
		KUNIT_EXPECT_EQ(test, rows[c].spans, 2ULL);
		KUNIT_EXPECT_EQ(test, rows[c].bytes_inuse, 2ULL * mheap_classes[c].size);
	}
	KUNIT_EXPECT_EQ(test, st.heap_objects, 2ULL * (MHEAP_NUM_CLASSES - 1));
}

static struct kunit_case mcentral_test_cases[] = {
	KUNIT_CASE(mcentral_test_refill_and_return),
	KUNIT_CASE(mcentral_test_refill_errors),
	KUNIT_CASE(mcentral_test_lying_bitmap),
	KUNIT_CASE(mcentral_test_free_and_lookup),
	KUNIT_CASE(mcentral_test_large),
	KUNIT_CASE(mcentral_test_release_empty),
	KUNIT_CASE(mcentral_test_by_class),
	{}
};

static struct kunit_suite mcentral_test_suite = {
	.name = "gcheap_mcentral",
	.exit = mheap_test_exit,
	.test_cases = mcentral_test_cases,
};

kunit_test_suites(&mcentral_test_suite);
