// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the page heap: allocation, splitting, coalescing, growth and the
 * span map; released pages, the scavenger's bookkeeping and the limits.
 * Also built in user space by hosted/ under ASan and UBSan.
 */
#include <kunit/test.h>
#include <linux/mm.h>
#include "mheap_test.h"

static struct mspan *pageheap_test_alloc(struct kunit *test, struct mheap *h,
					 u64 npages)
{
	struct mspan *s;

	mutex_lock(&h->lock);
	s = mheap_alloc_span(h, npages);
	if (s) {
		KUNIT_EXPECT_EQ(test, mspan_init_large(s, false), 0);
		/* On a list, so that mheap_destroy() finds it. */
		list_add(&s->list, &h->large);
	}
	mutex_unlock(&h->lock);
	return s;
}

static void pageheap_test_free(struct mheap *h, struct mspan *s)
{
	mutex_lock(&h->lock);
	list_del(&s->list);
	mheap_free_span(h, s);
	mutex_unlock(&h->lock);
}

static unsigned int pageheap_test_free_spans(struct mheap *h)
{
	unsigned int n = 0, i;
	struct mspan *s;

	for (i = 0; i < MHEAP_FREE_LISTS; i++)
		list_for_each_entry(s, &h->free[i], list)
			n++;
	list_for_each_entry(s, &h->free_large, list)
		n++;
	return n;
}

static void pageheap_test_alloc_free_coalesce(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	struct mspan *a, *b, *c;
	u64 a_start, b_start, c_start;

	a = pageheap_test_alloc(test, h, 1);
	b = pageheap_test_alloc(test, h, 3);
	c = pageheap_test_alloc(test, h, 5);
	KUNIT_ASSERT_NOT_NULL(test, a);
	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_ASSERT_NOT_NULL(test, c);
	a_start = a->start;
	b_start = b->start;
	c_start = c->start;
	/* First growth step, cut from the bottom up. */
	KUNIT_EXPECT_EQ(test, a_start, 0ULL);
	KUNIT_EXPECT_EQ(test, b_start, 1ULL);
	KUNIT_EXPECT_EQ(test, c_start, 4ULL);
	KUNIT_EXPECT_EQ(test, h->grown, (u64)MHEAP_GROW_PAGES);
	KUNIT_EXPECT_EQ(test, h->pages_inuse, 9ULL);
	KUNIT_EXPECT_EQ(test, h->pages_free, (u64)MHEAP_GROW_PAGES - 9);
	KUNIT_EXPECT_EQ(test, pageheap_test_free_spans(h), 1u);

	/* A hole in the middle stays its own free span... */
	pageheap_test_free(h, b);
	KUNIT_EXPECT_EQ(test, pageheap_test_free_spans(h), 2u);
	/* ...a 2-page request fits it, best fit... */
	b = pageheap_test_alloc(test, h, 2);
	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_EXPECT_EQ(test, b->start, b_start);
	pageheap_test_free(h, b);
	/* ...and merges with both neighbours once they are free too. */
	pageheap_test_free(h, a);
	KUNIT_EXPECT_EQ(test, pageheap_test_free_spans(h), 2u);
	pageheap_test_free(h, c);
	KUNIT_EXPECT_EQ(test, pageheap_test_free_spans(h), 1u);
	KUNIT_EXPECT_EQ(test, h->pages_inuse, 0ULL);
	KUNIT_EXPECT_EQ(test, h->pages_free, h->grown);

	mutex_lock(&h->lock);
	a = mheap_span_of_page(h, 0);
	KUNIT_ASSERT_NOT_NULL(test, a);
	KUNIT_EXPECT_EQ(test, a->state, (u8)MSPAN_FREE);
	KUNIT_EXPECT_EQ(test, a->npages, h->grown);
	KUNIT_EXPECT_TRUE(test, a->needzero);
	KUNIT_EXPECT_PTR_EQ(test, mheap_span_of_page(h, h->grown - 1), a);
	/* The interior of a free span maps to nothing. */
	KUNIT_EXPECT_NULL(test, mheap_span_of_page(h, 5));
	mutex_unlock(&h->lock);
}

static void pageheap_test_span_map(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	struct mspan *s;
	u64 base, p;

	KUNIT_ASSERT_NOT_NULL(test, pageheap_test_alloc(test, h, 2));
	s = pageheap_test_alloc(test, h, 300);
	KUNIT_ASSERT_NOT_NULL(test, s);
	base = mheap_span_base(h, s);

	mutex_lock(&h->lock);
	for (p = 0; p < s->npages; p++) {
		KUNIT_EXPECT_PTR_EQ(test, mheap_span_of_page(h, s->start + p), s);
		KUNIT_EXPECT_TRUE(test, mheap_page_inuse(h, s->start + p));
	}
	KUNIT_EXPECT_PTR_EQ(test, mheap_span_of_addr(h, base), s);
	KUNIT_EXPECT_PTR_EQ(test, mheap_span_of_addr(h, base + mspan_bytes(s) - 1), s);
	KUNIT_EXPECT_PTR_NE(test, mheap_span_of_addr(h, base + mspan_bytes(s)), s);
	KUNIT_EXPECT_NULL(test, mheap_span_of_addr(h, MHEAP_TEST_BASE - 1));
	KUNIT_EXPECT_NULL(test, mheap_span_of_addr(h, MHEAP_TEST_BASE + MHEAP_TEST_ARENA));
	KUNIT_EXPECT_NULL(test, mheap_span_of_addr(h, 0));
	/* Pages the heap never grew into belong to no span. */
	KUNIT_EXPECT_FALSE(test, mheap_page_inuse(h, h->grown));
	KUNIT_EXPECT_FALSE(test, mheap_page_inuse(h, h->arena_pages - 1));
	mutex_unlock(&h->lock);
}

static void pageheap_test_grow_to_limit(struct kunit *test)
{
	/* 3 chunks of span map and a partial fourth. */
	u64 bytes = 3 * (1ULL << MHEAP_CHUNK_SHIFT) + 40 * MHEAP_PAGE_SIZE;
	struct mheap *h = mheap_test_heap(test, bytes);
	u64 pages = bytes >> MHEAP_PAGE_SHIFT;
	struct mspan *s, *t;

	KUNIT_EXPECT_EQ(test, h->nchunks, 4UL);
	KUNIT_EXPECT_NULL(test, pageheap_test_alloc(test, h, pages + 1));
	s = pageheap_test_alloc(test, h, pages - 10);
	KUNIT_ASSERT_NOT_NULL(test, s);
	KUNIT_EXPECT_EQ(test, h->grown, pages - 10);
	KUNIT_EXPECT_NULL(test, pageheap_test_alloc(test, h, 11));
	t = pageheap_test_alloc(test, h, 10);
	KUNIT_ASSERT_NOT_NULL(test, t);
	KUNIT_EXPECT_EQ(test, t->start, pages - 10);
	KUNIT_EXPECT_NULL(test, pageheap_test_alloc(test, h, 1));
	pageheap_test_free(h, s);
	pageheap_test_free(h, t);
	KUNIT_EXPECT_EQ(test, pageheap_test_free_spans(h), 1u);
	s = pageheap_test_alloc(test, h, pages);
	KUNIT_ASSERT_NOT_NULL(test, s);
	KUNIT_EXPECT_EQ(test, s->start, 0ULL);
}

static void pageheap_test_many_spans(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	const unsigned int nspans = 200;
	struct mspan **spans;
	unsigned int i;

	spans = kunit_kcalloc(test, nspans, sizeof(*spans), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, spans);
	for (i = 0; i < nspans; i++) {
		spans[i] = pageheap_test_alloc(test, h, 1 + i % 150);
		KUNIT_ASSERT_NOT_NULL(test, spans[i]);
	}
	/* Free every other span, then the rest: all merges back into one. */
	for (i = 0; i < nspans; i += 2)
		pageheap_test_free(h, spans[i]);
	for (i = 1; i < nspans; i += 2)
		pageheap_test_free(h, spans[i]);
	KUNIT_EXPECT_EQ(test, pageheap_test_free_spans(h), 1u);
	KUNIT_EXPECT_EQ(test, h->pages_inuse, 0ULL);
}

/*
 * Grown pages start released; a span taken is not; freed, its pages are
 * idle and held until the scavenger gives them back, and only those free
 * long enough.
 */
static void pageheap_test_scavenge(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	struct mspan *a;
	u64 start, off;

	a = pageheap_test_alloc(test, h, 4);
	KUNIT_ASSERT_NOT_NULL(test, a);
	start = a->start;
	off = start << MHEAP_PAGE_SHIFT;
	mutex_lock(&h->lock);
	KUNIT_EXPECT_EQ(test, h->pages_released, h->grown - 4);
	KUNIT_EXPECT_EQ(test, mheap_idle_held(h), 0ULL);
	mutex_unlock(&h->lock);
	KUNIT_ASSERT_EQ(test, mheap_arena_poke(h, off + 8, 0x1234), 0);
	pageheap_test_free(h, a);

	mutex_lock(&h->lock);
	KUNIT_EXPECT_EQ(test, mheap_idle_held(h), 4ULL);
	/* Freed just now: not free since time 0. */
	KUNIT_EXPECT_EQ(test, mheap_scavenge(h, 0, U64_MAX), 0ULL);
	KUNIT_EXPECT_NOT_NULL(test, mheap_arena_peek(h, off >> PAGE_SHIFT));
	KUNIT_EXPECT_EQ(test, mheap_scavenge(h, U64_MAX, U64_MAX), 4ULL);
	KUNIT_EXPECT_EQ(test, h->pages_released, h->grown);
	KUNIT_EXPECT_EQ(test, mheap_idle_held(h), 0ULL);
	KUNIT_EXPECT_NULL(test, mheap_arena_peek(h, off >> PAGE_SHIFT));
	KUNIT_EXPECT_EQ(test, mheap_scavenge(h, U64_MAX, U64_MAX), 0ULL);
	mutex_unlock(&h->lock);

	/* Taken again: backed (zeroed), needing no clearing. */
	a = pageheap_test_alloc(test, h, 4);
	KUNIT_ASSERT_NOT_NULL(test, a);
	KUNIT_EXPECT_EQ(test, a->start, start);
	KUNIT_EXPECT_FALSE(test, a->needzero);
	KUNIT_EXPECT_EQ(test, h->pages_released, h->grown - 4);
}

/*
 * The hard limit bounds what the heap holds: idle pages are given back to
 * make room, and a span that does not fit even then is refused; so is one
 * past the module-wide limit.
 */
static void pageheap_test_limits(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	unsigned long total = mheap_limit_total;
	struct mspan *a, *b, *c;
	u64 released;

	h->hard_limit = 16ULL << MHEAP_PAGE_SHIFT;
	a = pageheap_test_alloc(test, h, 8);
	b = pageheap_test_alloc(test, h, 8);
	KUNIT_ASSERT_NOT_NULL(test, a);
	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_EXPECT_NULL(test, pageheap_test_alloc(test, h, 1));
	pageheap_test_free(h, a);
	/* 8 idle pages given back are not enough for 12. */
	released = h->pages_released;
	KUNIT_EXPECT_NULL(test, pageheap_test_alloc(test, h, 12));
	KUNIT_EXPECT_EQ(test, h->pages_released, released + 8);
	c = pageheap_test_alloc(test, h, 8);
	KUNIT_ASSERT_NOT_NULL(test, c);
	KUNIT_EXPECT_EQ(test, h->grown - h->pages_released, 16ULL);
	pageheap_test_free(h, c);
	pageheap_test_free(h, b);

	/* The module-wide limit: what every heap holds, this one's 16 idle. */
	h->hard_limit = 0;
	mheap_limit_total = atomic_long_read(&mheap_held_total) + 4;
	a = pageheap_test_alloc(test, h, 20);
	KUNIT_EXPECT_NOT_NULL(test, a);
	KUNIT_EXPECT_NULL(test, pageheap_test_alloc(test, h, 20));
	mheap_limit_total = total;
}

static struct kunit_case pageheap_test_cases[] = {
	KUNIT_CASE(pageheap_test_alloc_free_coalesce),
	KUNIT_CASE(pageheap_test_span_map),
	KUNIT_CASE(pageheap_test_grow_to_limit),
	KUNIT_CASE(pageheap_test_many_spans),
	KUNIT_CASE(pageheap_test_scavenge),
	KUNIT_CASE(pageheap_test_limits),
	{}
};

static struct kunit_suite pageheap_test_suite = {
	.name = "gcheap_pageheap",
	.exit = mheap_test_exit,
	.test_cases = pageheap_test_cases,
};

kunit_test_suites(&pageheap_test_suite);
