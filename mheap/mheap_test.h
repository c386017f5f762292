/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the mheap KUnit suites: a heap over a fake arena. No
 * memory lies behind the arena's addresses; mheap never touches arena memory
 * except to clear reused large spans, and only where pages were backed, which
 * never happens without a fault.
 */
#ifndef _GCHEAP_MHEAP_TEST_H
#define _GCHEAP_MHEAP_TEST_H

#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/slab.h>
#include "mheap.h"

#define MHEAP_TEST_BASE		0x7e0000000000ULL
#define MHEAP_TEST_ARENA	(256ULL << 20)

/* Suite exit: destroy the case's heap, if it made one. */
static inline void mheap_test_exit(struct kunit *test)
{
	struct mheap *h = test->priv;

	if (!h)
		return;
	mheap_destroy(h);
	kfree(h);
	test->priv = NULL;
}

/* A heap with a @bytes-long fake arena, destroyed when the case ends. */
static inline struct mheap *mheap_test_heap(struct kunit *test, u64 bytes)
{
	struct mheap *h = kzalloc(sizeof(*h), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, h);
	KUNIT_ASSERT_EQ(test, mheap_sizeclass_init(), 0);
	mheap_init(h);
	if (bytes)
		KUNIT_ASSERT_EQ(test, mheap_set_arena(h, MHEAP_TEST_BASE, bytes), 0);
	test->priv = h;
	return h;
}

/*
 * Allocate @n objects of @spanclass as a thread cache would: take a span,
 * use its first free slots, give it back. Their addresses go to @addrs.
 */
static inline void mheap_test_alloc(struct kunit *test, struct mheap *h,
				    u32 spanclass, unsigned int n, u64 *addrs)
{
	struct gcheap_refill *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, r);
	r->size = sizeof(*r);
	r->spanclass = spanclass;
	KUNIT_ASSERT_EQ(test, mheap_op_refill(h, r), 0);
	KUNIT_ASSERT_GE(test, r->nfree, n);
	for (i = 0; i < n; i++) {
		unsigned long idx = find_next_bit((unsigned long *)r->free,
						  r->nelems, 0);

		__clear_bit(idx, (unsigned long *)r->free);
		addrs[i] = r->base + idx * r->elemsize;
	}
	r->flags = GCHEAP_REFILL_RELEASE_ONLY;
	r->old_base = r->base;
	KUNIT_ASSERT_EQ(test, mheap_op_refill(h, r), 0);
	kunit_kfree(test, r);
}

#endif /* _GCHEAP_MHEAP_TEST_H */
