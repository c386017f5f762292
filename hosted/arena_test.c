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

static struct mheap *arena_test_heap(struct kunit *test)
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
	t->h.grown = ARENA_TEST_GROWN;
	ret = hosted_arena_track_writes(&t->h);
	if (ret)
		kunit_skip(test, "no asynchronous write protection here (%d)", ret);
	return &t->h;
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
	/* Reading leaves them written; a reset starts anew. */
	KUNIT_EXPECT_EQ(test, arena_test_written(test, h, bits, false), 3UL);
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

static struct kunit_case arena_test_cases[] = {
	KUNIT_CASE(arena_test_collect),
	KUNIT_CASE(arena_test_take),
	{}
};

static struct kunit_suite arena_test_suite = {
	.name = "hosted_arena_writes",
	.exit = arena_test_exit,
	.test_cases = arena_test_cases,
};

kunit_test_suites(&arena_test_suite);
