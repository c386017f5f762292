// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the size-class table and size lookup. Also built in user space by
 * hosted/ under ASan and UBSan.
 */
#include <kunit/test.h>
#include <linux/math64.h>
#include "mheap.h"

static int sizeclass_test_init(struct kunit *test)
{
	KUNIT_ASSERT_EQ(test, mheap_sizeclass_init(), 0);
	return 0;
}

/* Rows of Go's table (src/runtime/sizeclasses.go): class, bytes, pages. */
static const struct {
	unsigned int class, size, npages;
} sizeclass_go_rows[] = {
	{ 1, 8, 1 }, { 2, 16, 1 }, { 3, 24, 1 }, { 5, 48, 1 },
	{ 18, 256, 1 }, { 32, 1024, 1 }, { 35, 1408, 2 }, { 41, 3072, 3 },
	{ 48, 6528, 4 }, { 51, 8192, 1 }, { 52, 9472, 7 }, { 60, 18432, 9 },
	{ 65, 27264, 10 }, { 67, 32768, 4 },
};

static void sizeclass_test_go_table(struct kunit *test)
{
	unsigned int i;

	KUNIT_EXPECT_EQ(test, mheap_classes[0].size, 0u);
	for (i = 0; i < ARRAY_SIZE(sizeclass_go_rows); i++) {
		unsigned int c = sizeclass_go_rows[i].class;

		KUNIT_EXPECT_EQ(test, mheap_classes[c].size, sizeclass_go_rows[i].size);
		KUNIT_EXPECT_EQ(test, mheap_classes[c].base_npages,
				sizeclass_go_rows[i].npages);
	}
}

static void sizeclass_test_invariants(struct kunit *test)
{
	unsigned int i;

	for (i = 1; i < MHEAP_NUM_CLASSES; i++) {
		const struct mheap_sizeclass *c = &mheap_classes[i];
		u32 span = c->npages * MHEAP_PAGE_SIZE;

		if (i > 1)
			KUNIT_EXPECT_GT(test, c->size, mheap_classes[i - 1].size);
		KUNIT_EXPECT_EQ(test, c->size % 8, 0u);
		if (c->size >= 32)
			KUNIT_EXPECT_EQ(test, c->size % 16, 0u);
		KUNIT_EXPECT_EQ(test, c->nelems, span / c->size);
		KUNIT_EXPECT_EQ(test, c->npages % c->base_npages, 0u);
		KUNIT_EXPECT_LE(test, c->npages, (u32)MHEAP_SPAN_MAX_PAGES);
		/* Fewer slots than the minimum only when the span is at its cap. */
		if (c->nelems < MHEAP_SPAN_MIN_ELEMS)
			KUNIT_EXPECT_GT(test, c->npages + c->base_npages,
					(u32)MHEAP_SPAN_MAX_PAGES);
		KUNIT_EXPECT_GE(test, c->nelems, 1u);
		KUNIT_EXPECT_LE(test, c->nelems, (u32)MHEAP_MAX_ELEMS);
		/* The tail no slot covers stays under 1/8 of the span. */
		KUNIT_EXPECT_LE(test, span - c->nelems * c->size, span / 8);
	}
	KUNIT_EXPECT_EQ(test, mheap_classes[MHEAP_NUM_CLASSES - 1].size,
			(u32)MHEAP_MAX_SMALL);
}

/*
 * mspan_slot_of() is monotonic in the offset, so it is exact everywhere in
 * a span if it is exact on both sides of every slot boundary, the tail past
 * the last slot included.
 */
static void sizeclass_test_divmul(struct kunit *test)
{
	unsigned int i, k;

	for (i = 1; i < MHEAP_NUM_CLASSES; i++) {
		const struct mheap_sizeclass *c = &mheap_classes[i];
		struct mspan s = { .divmul = c->divmul };
		u64 span = (u64)c->npages * MHEAP_PAGE_SIZE;

		KUNIT_EXPECT_EQ(test, mspan_slot_of(&s, 0), 0u);
		for (k = 1; k <= c->nelems; k++) {
			KUNIT_ASSERT_EQ_MSG(test, mspan_slot_of(&s, (u64)k * c->size - 1),
					    k - 1, "class %u slot %u", i, k);
			KUNIT_ASSERT_EQ_MSG(test, mspan_slot_of(&s, (u64)k * c->size),
					    k, "class %u slot %u", i, k);
		}
		KUNIT_EXPECT_EQ(test, mspan_slot_of(&s, span - 1),
				(u32)div_u64(span - 1, c->size));
	}
}

static void sizeclass_test_lookup(struct kunit *test)
{
	size_t size;

	KUNIT_EXPECT_EQ(test, mheap_size_to_class(0), 1u);
	KUNIT_EXPECT_EQ(test, mheap_size_to_class(MHEAP_MAX_SMALL + 1), 0u);
	for (size = 1; size <= MHEAP_MAX_SMALL; size++) {
		unsigned int c = mheap_size_to_class(size);

		KUNIT_ASSERT_GE(test, c, 1u);
		KUNIT_ASSERT_LT(test, c, (unsigned int)MHEAP_NUM_CLASSES);
		KUNIT_ASSERT_GE(test, (size_t)mheap_classes[c].size, size);
		if (c > 1)
			KUNIT_ASSERT_LT(test, (size_t)mheap_classes[c - 1].size, size);
	}
}

static struct kunit_case sizeclass_test_cases[] = {
	KUNIT_CASE(sizeclass_test_go_table),
	KUNIT_CASE(sizeclass_test_invariants),
	KUNIT_CASE(sizeclass_test_divmul),
	KUNIT_CASE(sizeclass_test_lookup),
	{}
};

static struct kunit_suite sizeclass_test_suite = {
	.name = "gcheap_sizeclass",
	.init = sizeclass_test_init,
	.test_cases = sizeclass_test_cases,
};

kunit_test_suites(&sizeclass_test_suite);
