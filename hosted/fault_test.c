// SPDX-License-Identifier: GPL-2.0
/*
 * Hosted KUnit suite: the -ENOMEM paths of mheap, by fault injection.
 *
 * Each sweep runs a fixed scenario of heap operations again and again,
 * making the 1st, 2nd, 3rd ... allocation fail (hosted_fail_nth()), until a
 * run completes with no allocation left to fail. In every run, each
 * operation must succeed or fail with -ENOMEM; one that fails must leave the
 * heap as it was (the counters the statistics show), and at the end the
 * heap's metadata must pass hosted_mheap_check(). The runner checks that
 * nothing leaked.
 */
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <linux/string.h>
#include <hosted/hosted.h>
#include <hosted/mheap_check.h>
#include "mheap_test.h"

/* Runs stop after this many injected faults: the scenarios need far fewer. */
#define FAULT_MAX_RUNS	500

struct fault_run {
	struct kunit *test;
	struct mheap *h;
	struct gcheap_refill *r;
	int nomem;		/* operations that failed with -ENOMEM */
};

static void fault_stats(struct fault_run *f, struct gcheap_stats *st)
{
	memset(st, 0, sizeof(*st));
	KUNIT_ASSERT_EQ(f->test, mheap_op_stats(f->h, st, NULL, 0, NULL), 0);
}

/* The counters an operation that failed must not have changed. */
static void fault_expect_unchanged(struct fault_run *f, const char *op,
				   const struct gcheap_stats *a,
				   const struct gcheap_stats *b)
{
	struct kunit *test = f->test;

	KUNIT_EXPECT_EQ_MSG(test, a->heap_inuse, b->heap_inuse, "after %s", op);
	KUNIT_EXPECT_EQ_MSG(test, a->heap_alloc, b->heap_alloc, "after %s", op);
	KUNIT_EXPECT_EQ_MSG(test, a->heap_objects, b->heap_objects, "after %s", op);
	KUNIT_EXPECT_EQ_MSG(test, a->mallocs, b->mallocs, "after %s", op);
	KUNIT_EXPECT_EQ_MSG(test, a->frees, b->frees, "after %s", op);
	KUNIT_EXPECT_EQ_MSG(test, a->cached_spans, b->cached_spans, "after %s", op);
	KUNIT_EXPECT_EQ_MSG(test, a->refills, b->refills, "after %s", op);
}

/* Check one operation's result; true if it succeeded. */
static bool fault_op_done(struct fault_run *f, const char *op, int ret,
			  const struct gcheap_stats *before)
{
	struct gcheap_stats after;

	if (ret == -ENOMEM) {
		f->nomem++;
		fault_stats(f, &after);
		fault_expect_unchanged(f, op, before, &after);
		return false;
	}
	KUNIT_EXPECT_EQ_MSG(f->test, ret, 0, "%s", op);
	return !ret;
}

static bool fault_refill(struct fault_run *f, u32 spanclass, u64 old_base,
			 u32 flags, unsigned int use)
{
	struct gcheap_stats before;
	int ret;

	fault_stats(f, &before);
	f->r->size = sizeof(*f->r);
	f->r->flags = flags;
	f->r->spanclass = spanclass;
	f->r->old_base = old_base;
	ret = mheap_op_refill(f->h, f->r);
	if (!fault_op_done(f, "refill", ret, &before))
		return false;
	/* Use the first @use free slots of the new span. */
	while (use-- && f->r->nelems) {
		unsigned long i = find_next_bit((unsigned long *)f->r->free,
						f->r->nelems, 0);

		if (i >= f->r->nelems)
			break;
		__clear_bit(i, (unsigned long *)f->r->free);
	}
	return true;
}

static u64 fault_alloc(struct fault_run *f, u64 bytes)
{
	struct gcheap_alloc a = { .size = sizeof(a), .bytes = bytes };
	struct gcheap_stats before;

	fault_stats(f, &before);
	if (!fault_op_done(f, "alloc", mheap_op_alloc(f->h, &a), &before))
		return 0;
	return a.addr;
}

static void fault_free(struct fault_run *f, u64 addr)
{
	struct gcheap_free fr = { .size = sizeof(fr), .addr = addr };

	if (addr)
		KUNIT_EXPECT_EQ(f->test, mheap_op_free(f->h, &fr), 0);
}

/*
 * Refills of several classes, giving spans back and taking them again,
 * large objects that make the heap grow into a second span-map chunk,
 * frees that empty spans, and the release of everything cached.
 */
static void fault_scenario(struct fault_run *f)
{
	const u32 sc5 = GCHEAP_SPANCLASS(5, 0);
	const u32 sc67 = GCHEAP_SPANCLASS(MHEAP_NUM_CLASSES - 1, 1);
	const u32 sc1 = GCHEAP_SPANCLASS(1, 1);
	u64 base5 = 0, base67 = 0, base1 = 0, big, huge, first;

	if (fault_refill(f, sc5, 0, 0, 10))
		base5 = f->r->base;
	first = base5;
	if (base5 && fault_refill(f, sc5, base5, 0, 20))
		base5 = f->r->base;
	big = fault_alloc(f, 100000);
	huge = fault_alloc(f, 70ULL << 20);	/* past the first 64 MiB chunk */
	if (fault_refill(f, sc67, 0, 0, 3))
		base67 = f->r->base;
	if (fault_refill(f, sc1, 0, 0, 1000))
		base1 = f->r->base;
	fault_free(f, big);
	if (first && first != base5)
		fault_free(f, first);	/* the first slot of the first span */
	fault_free(f, huge);
	big = fault_alloc(f, 3 * MHEAP_PAGE_SIZE);
	if (base1)
		fault_refill(f, sc1, base1, GCHEAP_REFILL_RELEASE_ONLY, 0);
	if (base67)
		fault_refill(f, sc67, base67, GCHEAP_REFILL_RELEASE_ONLY, 0);
	if (base5)
		fault_refill(f, sc5, base5, GCHEAP_REFILL_RELEASE_ONLY, 0);
	fault_free(f, big);
}

/* One run with the @n-th allocation failing; false once none failed. */
static bool fault_run_once(struct kunit *test, unsigned long n,
			   void (*scenario)(struct fault_run *))
{
	struct fault_run f = { .test = test };
	unsigned long injected;
	char why[256];

	f.h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	f.r = kunit_kzalloc(test, sizeof(*f.r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f.r);

	injected = hosted_fail_injected();
	hosted_fail_nth(n);
	scenario(&f);
	hosted_fail_nth(0);
	injected = hosted_fail_injected() - injected;

	/* A fault must show as an -ENOMEM, never be swallowed. */
	KUNIT_EXPECT_EQ_MSG(test, (unsigned long)f.nomem, injected,
			    "run %lu: operations failed with -ENOMEM", n);
	KUNIT_EXPECT_EQ_MSG(test, hosted_mheap_check(f.h, why, sizeof(why)), 0,
			    "run %lu: %s", n, why);
	mheap_test_exit(test);
	kunit_kfree(test, f.r);
	return injected;
}

static void fault_sweep(struct kunit *test,
			void (*scenario)(struct fault_run *))
{
	unsigned long n;

	for (n = 1; n <= FAULT_MAX_RUNS; n++) {
		if (!fault_run_once(test, n, scenario))
			break;
	}
	KUNIT_EXPECT_GT_MSG(test, n, 1UL, "no allocation to fail");
	KUNIT_EXPECT_LE(test, n, (unsigned long)FAULT_MAX_RUNS);
	kunit_info(test, "%lu allocation sites failed in turn", n - 1);
}

static void fault_test_operations(struct kunit *test)
{
	fault_sweep(test, fault_scenario);
}

/* mheap_set_arena() and mheap_sizeclass_init() under memory pressure. */
static void fault_test_setup(struct kunit *test)
{
	struct mheap_sizeclass saved[MHEAP_NUM_CLASSES];
	unsigned long n;
	int ret;

	KUNIT_ASSERT_EQ(test, mheap_sizeclass_init(), 0);
	memcpy(saved, mheap_classes, sizeof(saved));
	hosted_fail_nth(1);
	KUNIT_EXPECT_EQ(test, mheap_sizeclass_init(), -ENOMEM);
	hosted_fail_nth(0);
	KUNIT_EXPECT_EQ(test, memcmp(saved, mheap_classes, sizeof(saved)), 0);

	for (n = 1; n < 10; n++) {
		struct mheap *h = mheap_test_heap(test, 0);

		hosted_fail_nth(n);
		ret = mheap_set_arena(h, MHEAP_TEST_BASE, MHEAP_TEST_ARENA);
		hosted_fail_nth(0);
		if (!ret) {
			mheap_test_exit(test);
			break;
		}
		KUNIT_EXPECT_EQ(test, ret, -ENOMEM);
		/* A failed set-up leaves no arena; a second try works. */
		KUNIT_EXPECT_EQ(test, h->arena_base, 0ULL);
		KUNIT_EXPECT_EQ(test, mheap_set_arena(h, MHEAP_TEST_BASE,
						      MHEAP_TEST_ARENA), 0);
		mheap_test_exit(test);
	}
	KUNIT_EXPECT_GT(test, n, 1UL);
	KUNIT_EXPECT_LT(test, n, 10UL);
}

static struct kunit_case fault_test_cases[] = {
	KUNIT_CASE(fault_test_setup),
	KUNIT_CASE(fault_test_operations),
	{}
};

static struct kunit_suite fault_test_suite = {
	.name = "hosted_fault_injection",
	.exit = mheap_test_exit,
	.test_cases = fault_test_cases,
};

kunit_test_suites(&fault_test_suite);
