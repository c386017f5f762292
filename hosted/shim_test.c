// SPDX-License-Identifier: GPL-2.0
/*
 * Hosted KUnit suite: the shims themselves. The other suites trust them to
 * behave as the kernel does, so what matters is checked here: the bitmap
 * semantics mheap depends on, the list, the lock checks (a missing lock must
 * be reported), the slab checks and fault injection, and the metadata
 * checker used by the fault and library tests.
 */
#include <pthread.h>
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <hosted/hosted.h>
#include <hosted/mheap_check.h>
#include "mheap_test.h"

/* Run @expr, expect it to report @n warnings (op ==, >=), accept them. */
#define __SHIM_EXPECT_WARNINGS(test, op, n, expr) do {			\
	unsigned long __w = hosted_warn_total();			\
	hosted_warn_expected(true);					\
	expr;								\
	hosted_warn_expected(false);					\
	__w = hosted_warn_total() - __w;				\
	__KUNIT_INT_ASSERTION(test, KUNIT_EXPECTATION, __w, op,		\
			      (unsigned long)(n), "warnings from %s", #expr); \
	hosted_warn_ack(__w);						\
} while (0)
#define SHIM_EXPECT_WARNINGS(test, n, expr) \
	__SHIM_EXPECT_WARNINGS(test, ==, n, expr)
#define SHIM_EXPECT_SOME_WARNINGS(test, expr) \
	__SHIM_EXPECT_WARNINGS(test, >=, 1, expr)

static void shim_test_bitmap(struct kunit *test)
{
	unsigned long a[3], b[3];

	/* bitmap_complement() works on whole words: the tail gets set. */
	memset(a, 0, sizeof(a));
	bitmap_complement(b, a, 130);
	KUNIT_EXPECT_EQ(test, b[2], ~0UL);
	KUNIT_EXPECT_EQ(test, bitmap_weight(b, 130), 130u);

	/* bitmap_clear() clears exactly the range, across words. */
	bitmap_clear(b, 60, 10);
	KUNIT_EXPECT_EQ(test, b[0], (1UL << 60) - 1);
	KUNIT_EXPECT_EQ(test, b[1], ~0UL << 6);
	bitmap_clear(b, 130, 62);
	KUNIT_EXPECT_EQ(test, b[2], 3UL);
	bitmap_clear(b, 64, 64);
	KUNIT_EXPECT_EQ(test, b[1], 0UL);
	KUNIT_EXPECT_EQ(test, bitmap_weight(b, 130), 60u + 2);
	/* bitmap_weight() ignores bits at and past nbits. */
	KUNIT_EXPECT_EQ(test, bitmap_weight(b, 129), 60u + 1);
	KUNIT_EXPECT_EQ(test, bitmap_weight(b, 0), 0u);

	/* bitmap_zero() clears whole words. */
	memset(a, 0xff, sizeof(a));
	bitmap_zero(a, 65);
	KUNIT_EXPECT_EQ(test, a[0] | a[1], 0UL);
	KUNIT_EXPECT_EQ(test, a[2], ~0UL);

	/* find_next_bit(): next set bit, else size; bits past size unseen. */
	memset(a, 0, sizeof(a));
	__set_bit(3, a);
	__set_bit(64, a);
	__set_bit(150, a);
	KUNIT_EXPECT_EQ(test, find_next_bit(a, 192, 0), 3UL);
	KUNIT_EXPECT_EQ(test, find_next_bit(a, 192, 3), 3UL);
	KUNIT_EXPECT_EQ(test, find_next_bit(a, 192, 4), 64UL);
	KUNIT_EXPECT_EQ(test, find_next_bit(a, 192, 65), 150UL);
	KUNIT_EXPECT_EQ(test, find_next_bit(a, 150, 65), 150UL);
	KUNIT_EXPECT_EQ(test, find_next_bit(a, 140, 65), 140UL);
	KUNIT_EXPECT_EQ(test, find_next_bit(a, 192, 151), 192UL);
	KUNIT_EXPECT_EQ(test, find_next_bit(a, 192, 500), 192UL);

	KUNIT_EXPECT_FALSE(test, __test_and_set_bit(5, a));
	KUNIT_EXPECT_TRUE(test, __test_and_set_bit(5, a));
	KUNIT_EXPECT_TRUE(test, test_bit(150, a));
	__clear_bit(150, a);
	KUNIT_EXPECT_FALSE(test, test_bit(150, a));
	KUNIT_EXPECT_EQ(test, hweight_long(0xf0f0UL), 8UL);
	KUNIT_EXPECT_EQ(test, BITS_TO_LONGS(65), 2);
}

struct shim_item {
	int v;
	struct list_head node;
};

static void shim_test_list(struct kunit *test)
{
	struct shim_item items[5], *it, *tmp;
	LIST_HEAD(head);
	LIST_HEAD(other);
	int i, sum = 0;

	KUNIT_EXPECT_TRUE(test, list_empty(&head));
	KUNIT_EXPECT_NULL(test, list_first_entry_or_null(&head, struct shim_item, node));
	for (i = 0; i < 5; i++) {
		items[i].v = i;
		list_add_tail(&items[i].node, &head);
	}
	KUNIT_EXPECT_EQ(test, list_count_nodes(&head), 5UL);
	KUNIT_EXPECT_PTR_EQ(test, list_first_entry(&head, struct shim_item, node), &items[0]);
	KUNIT_EXPECT_PTR_EQ(test, list_last_entry(&head, struct shim_item, node), &items[4]);
	list_for_each_entry(it, &head, node)
		sum = sum * 10 + it->v;
	KUNIT_EXPECT_EQ(test, sum, 1234);

	list_for_each_entry_safe(it, tmp, &head, node)
		if (it->v % 2)
			list_move(&it->node, &other);
	KUNIT_EXPECT_EQ(test, list_count_nodes(&head), 3UL);
	KUNIT_EXPECT_PTR_EQ(test, list_first_entry(&other, struct shim_item, node), &items[3]);
	list_splice_tail_init(&other, &head);
	KUNIT_EXPECT_TRUE(test, list_empty(&other));
	sum = 0;
	list_for_each_entry_reverse(it, &head, node)
		sum = sum * 10 + it->v;
	KUNIT_EXPECT_EQ(test, sum, 13420);

	list_del(&items[2].node);
	KUNIT_EXPECT_PTR_EQ(test, items[2].node.next, LIST_POISON1);
	/* CONFIG_DEBUG_LIST: a second delete and a double add are caught. */
	SHIM_EXPECT_WARNINGS(test, 1, list_del(&items[2].node));
	SHIM_EXPECT_WARNINGS(test, 1, list_add(&items[0].node, &items[0].node));
	list_del_init(&items[0].node);
	KUNIT_EXPECT_TRUE(test, list_empty(&items[0].node));
	KUNIT_EXPECT_EQ(test, list_count_nodes(&head), 3UL);
	KUNIT_EXPECT_TRUE(test, list_is_singular(&items[0].node) == false);
}

struct shim_lock_arg {
	struct mutex *lock;
	bool held;
};

static void *shim_lock_thread(void *p)
{
	struct shim_lock_arg *a = p;

	a->held = lockdep_is_held(a->lock);
	lockdep_assert_held(a->lock);
	return NULL;
}

static void shim_test_lockdep(struct kunit *test)
{
	struct shim_lock_arg arg;
	struct mutex m;
	pthread_t t;

	mutex_init(&m);
	KUNIT_EXPECT_FALSE(test, lockdep_is_held(&m));
	SHIM_EXPECT_WARNINGS(test, 1, lockdep_assert_held(&m));
	mutex_lock(&m);
	KUNIT_EXPECT_TRUE(test, mutex_is_locked(&m));
	KUNIT_EXPECT_EQ(test, hosted_lockdep_depth(), 1);
	SHIM_EXPECT_WARNINGS(test, 0, lockdep_assert_held(&m));

	/* Held by this thread is not held by another. */
	arg.lock = &m;
	SHIM_EXPECT_WARNINGS(test, 1, ({
		KUNIT_ASSERT_EQ(test, pthread_create(&t, NULL, shim_lock_thread, &arg), 0);
		pthread_join(t, NULL);
	}));
	KUNIT_EXPECT_FALSE(test, arg.held);

	SHIM_EXPECT_WARNINGS(test, 1, mutex_destroy(&m));
	mutex_unlock(&m);
	KUNIT_EXPECT_EQ(test, hosted_lockdep_depth(), 0);
	SHIM_EXPECT_WARNINGS(test, 1, mutex_unlock(&m));
	mutex_destroy(&m);

	/* Freeing a held lock, and returning with one held, are reported. */
	{
		struct mutex *hm = kzalloc(sizeof(*hm), GFP_KERNEL);

		KUNIT_ASSERT_NOT_NULL(test, hm);
		mutex_init(hm);
		mutex_lock(hm);
		SHIM_EXPECT_WARNINGS(test, 1, kfree(hm));
		SHIM_EXPECT_WARNINGS(test, 1, hosted_lockdep_check_released(__func__));
		KUNIT_EXPECT_EQ(test, hosted_lockdep_depth(), 0);
	}
}

/* mheap's own lockdep_assert_held() calls fire when the lock is missing. */
static void shim_test_mheap_lockdep(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	struct mspan *s;

	mutex_lock(&h->lock);
	s = mheap_alloc_span(h, 1);
	mutex_unlock(&h->lock);
	KUNIT_ASSERT_NOT_NULL(test, s);
	/* Each helper asserts, and so do the helpers it calls. */
	SHIM_EXPECT_WARNINGS(test, 1, mheap_span_of_page(h, 0));
	SHIM_EXPECT_SOME_WARNINGS(test, mheap_span_of_addr(h, MHEAP_TEST_BASE));
	SHIM_EXPECT_SOME_WARNINGS(test, mheap_free_span(h, s));
	SHIM_EXPECT_SOME_WARNINGS(test, s = mheap_alloc_span(h, 2));
	KUNIT_ASSERT_NOT_NULL(test, s);
	mutex_lock(&h->lock);
	mheap_free_span(h, s);
	mutex_unlock(&h->lock);
	SHIM_EXPECT_SOME_WARNINGS(test, mcentral_cache_span(h, GCHEAP_SPANCLASS(3, 0)));
}

static void shim_test_slab(struct kunit *test)
{
	long live = hosted_slab_live();
	unsigned long fired = hosted_fail_injected();
	void *p, *q;

	p = kzalloc(100, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_EQ(test, hosted_slab_live(), live + 1);
	/* A cache line or more: on a line of its own; less: 16-byte aligned. */
	KUNIT_EXPECT_EQ(test, ((unsigned long)p) % 64, 0UL);
	KUNIT_EXPECT_EQ(test, ((char *)p)[99], 0);
	q = kmalloc(24, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, q);
	KUNIT_EXPECT_EQ(test, ((unsigned long)q) % 16, 0UL);
	kfree(q);
	kfree(p);
	p = kvcalloc(3, 64, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_EQ(test, ((unsigned long)p) % 64, 0UL);
	kvfree(p);
	KUNIT_EXPECT_EQ(test, hosted_slab_live(), live);

	KUNIT_EXPECT_PTR_EQ(test, kcalloc(0, 8, GFP_KERNEL), ZERO_SIZE_PTR);
	kfree(ZERO_SIZE_PTR);
	kfree(NULL);
	KUNIT_EXPECT_NULL(test, kcalloc(SIZE_MAX / 2, 4, GFP_KERNEL));
	KUNIT_EXPECT_NULL(test, kvcalloc(SIZE_MAX / 2, 4, GFP_KERNEL));
	/* Over KMALLOC_MAX_SIZE: NULL and a warning, as in the kernel. */
	SHIM_EXPECT_WARNINGS(test, 1, p = kmalloc(8UL << 20, GFP_KERNEL));
	KUNIT_EXPECT_NULL(test, p);

	/* kvmalloc() memory must go to kvfree(); kmalloc() memory may. */
	p = kvcalloc(4, 8, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	SHIM_EXPECT_WARNINGS(test, 1, kfree(p));
	p = kmalloc(8, GFP_KERNEL);
	SHIM_EXPECT_WARNINGS(test, 0, kvfree(p));

	/* fail-nth: the 2nd allocation from now fails, once. */
	hosted_fail_nth(2);
	p = kmalloc(8, GFP_KERNEL);
	q = kmalloc(8, GFP_KERNEL);
	KUNIT_EXPECT_NOT_NULL(test, p);
	KUNIT_EXPECT_NULL(test, q);
	KUNIT_EXPECT_EQ(test, hosted_fail_nth_pending(), 0UL);
	KUNIT_EXPECT_EQ(test, hosted_fail_injected(), fired + 1);
	q = kmalloc(8, GFP_KERNEL);
	KUNIT_EXPECT_NOT_NULL(test, q);
	kfree(p);
	kfree(q);
	KUNIT_EXPECT_EQ(test, hosted_slab_live(), live);
}

static void shim_test_helpers(struct kunit *test)
{
	u64 d;
	u32 small;
	int arr[7];

	KUNIT_EXPECT_FALSE(test, check_add_overflow(1ULL, 2ULL, &d));
	KUNIT_EXPECT_EQ(test, d, 3ULL);
	KUNIT_EXPECT_TRUE(test, check_add_overflow(U64_MAX, 1ULL, &d));
	KUNIT_EXPECT_TRUE(test, check_mul_overflow(1U << 20, 1U << 12, &small));
	KUNIT_EXPECT_FALSE(test, check_sub_overflow(5U, 3U, &small));
	KUNIT_EXPECT_EQ(test, array_size(SIZE_MAX / 2, 3), SIZE_MAX);
	KUNIT_EXPECT_EQ(test, min(3ULL, 4ULL), 3ULL);
	KUNIT_EXPECT_EQ(test, max_t(u32, 3, -1), U32_MAX);
	KUNIT_EXPECT_EQ(test, DIV_ROUND_UP(9, 4), 3);
	KUNIT_EXPECT_EQ(test, ARRAY_SIZE(arr), 7UL);
	KUNIT_EXPECT_EQ(test, BUILD_BUG_ON_ZERO(0), 0);
	SHIM_EXPECT_WARNINGS(test, 1, KUNIT_EXPECT_TRUE(test, WARN_ON(arr != NULL)));
	SHIM_EXPECT_WARNINGS(test, 0, KUNIT_EXPECT_FALSE(test, WARN_ON_ONCE(0)));
}

/* The metadata checker finds damage (else its silence means nothing). */
static void shim_test_mheap_check(struct kunit *test)
{
	struct mheap *h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	struct gcheap_alloc a = { .size = sizeof(a), .bytes = 100000 };
	struct mspan *s;
	char why[256];

	KUNIT_EXPECT_EQ(test, hosted_mheap_check(h, why, sizeof(why)), 0);
	KUNIT_ASSERT_EQ(test, mheap_op_alloc(h, &a), 0);
	KUNIT_EXPECT_EQ_MSG(test, hosted_mheap_check(h, why, sizeof(why)), 0, "%s", why);

	h->pages_inuse++;
	KUNIT_EXPECT_GT(test, hosted_mheap_check(h, why, sizeof(why)), 0);
	h->pages_inuse--;

	s = list_first_entry(&h->large, struct mspan, list);
	__set_bit(1, s->allocbits);
	KUNIT_EXPECT_GT(test, hosted_mheap_check(h, why, sizeof(why)), 0);
	__clear_bit(1, s->allocbits);

	__clear_bit(s->npages + 1 < MHEAP_FREE_LISTS ? s->npages + 1 : 1, h->freemask);
	KUNIT_EXPECT_EQ_MSG(test, hosted_mheap_check(h, why, sizeof(why)), 0, "%s", why);
	KUNIT_EXPECT_EQ(test, hosted_mheap_check(h, why, sizeof(why)), 0);
}

static struct kunit_case shim_test_cases[] = {
	KUNIT_CASE(shim_test_bitmap),
	KUNIT_CASE(shim_test_list),
	KUNIT_CASE(shim_test_lockdep),
	KUNIT_CASE(shim_test_mheap_lockdep),
	KUNIT_CASE(shim_test_slab),
	KUNIT_CASE(shim_test_helpers),
	KUNIT_CASE(shim_test_mheap_check),
	{}
};

static struct kunit_suite shim_test_suite = {
	.name = "hosted_shims",
	.exit = mheap_test_exit,
	.test_cases = shim_test_cases,
};

kunit_test_suites(&shim_test_suite);
