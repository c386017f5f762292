// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the page heap: allocation, splitting, coalescing, growth and the
 * span map. Also built in user space by hosted/ under ASan and UBSan.
 */
#include <kunit/test.h>
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

static struct kunit_case pageheap_test_cases[] = {
	KUNIT_CASE(pageheap_test_alloc_free_coalesce),
	KUNIT_CASE(pageheap_test_span_map),
	KUNIT_CASE(pageheap_test_grow_to_limit),
	KUNIT_CASE(pageheap_test_many_spans),
	{}
};

static struct kunit_suite pageheap_test_suite = {
	.name = "gcheap_pageheap",
	.exit = mheap_test_exit,
	.test_cases = pageheap_test_cases,
};

kunit_test_suites(&pageheap_test_suite);
