// SPDX-License-Identifier: GPL-2.0
/*
 * Hosted KUnit suite: random sequences of heap operations (refills that use
 * random slots, large allocations, frees, double frees, lookups, releases)
 * on a fake arena, as a library would issue them, with the heap's metadata
 * checked (hosted_mheap_check()) as it goes. The seed is fixed, so a
 * failure reproduces; HOSTED_RANDOM_SEED picks another.
 */
#include <stdlib.h>
#include <kunit/test.h>
#include <linux/bitmap.h>
#include <hosted/hosted.h>
#include <hosted/mheap_check.h>
#include "mheap_test.h"

#define RANDOM_OPS		20000
#define RANDOM_CHECK_EVERY	100
#define RANDOM_MAX_CACHED	24
#define RANDOM_MAX_LIVE		65536

struct random_span {
	u64 base;
	u32 spanclass;
	u32 elemsize;
	u32 nelems;
	unsigned long free[GCHEAP_SPAN_BITMAP_WORDS];
};

struct random_state {
	struct kunit *test;
	struct mheap *h;
	u64 seed;
	struct random_span cached[RANDOM_MAX_CACHED];
	unsigned int ncached;
	u64 live[RANDOM_MAX_LIVE];
	unsigned int nlive;
	unsigned int nomem;
};

/* xorshift64*: small, and the same sequence on every machine. */
static u64 random_next(struct random_state *st)
{
	st->seed ^= st->seed >> 12;
	st->seed ^= st->seed << 25;
	st->seed ^= st->seed >> 27;
	return st->seed * 2685821657736338717ULL;
}

static u64 random_below(struct random_state *st, u64 n)
{
	return random_next(st) % n;
}

static void random_add_live(struct random_state *st, u64 addr)
{
	if (st->nlive < RANDOM_MAX_LIVE)
		st->live[st->nlive++] = addr;
}

/* Hand out up to @n of a cached span's free slots. */
static void random_use(struct random_state *st, struct random_span *s,
		       unsigned int n)
{
	while (n--) {
		unsigned long i = find_next_bit(s->free, s->nelems,
						random_below(st, s->nelems));

		if (i >= s->nelems)
			i = find_next_bit(s->free, s->nelems, 0);
		if (i >= s->nelems)
			return;
		__clear_bit(i, s->free);
		random_add_live(st, s->base + i * s->elemsize);
	}
}

static void random_refill(struct random_state *st)
{
	struct gcheap_refill r = { .size = sizeof(r) };
	struct random_span *old = NULL, *s;
	unsigned int i;
	int ret;

	if (st->ncached && random_below(st, 2)) {
		old = &st->cached[random_below(st, st->ncached)];
		r.spanclass = old->spanclass;
		r.old_base = old->base;
		memcpy(r.free, old->free, sizeof(r.free));
		if (!random_below(st, 4))
			r.flags = GCHEAP_REFILL_RELEASE_ONLY;
	} else {
		/* Mostly small classes, whose spans are cheap. */
		unsigned int c = 1 + random_below(st, random_below(st, 4) ?
						  20 : MHEAP_NUM_CLASSES - 1);

		if (st->ncached == RANDOM_MAX_CACHED)
			return;
		r.spanclass = GCHEAP_SPANCLASS(c, random_below(st, 2));
		/* One span per class at a time, as one thread cache. */
		for (i = 0; i < st->ncached; i++)
			if (st->cached[i].spanclass == r.spanclass)
				return;
	}
	ret = mheap_op_refill(st->h, &r);
	if (ret == -ENOMEM && !(r.flags & GCHEAP_REFILL_RELEASE_ONLY)) {
		st->nomem++;	/* the arena is full: the old span stays */
		return;
	}
	KUNIT_ASSERT_EQ(st->test, ret, 0);
	if (old) {
		*old = st->cached[--st->ncached];
		if (r.flags & GCHEAP_REFILL_RELEASE_ONLY) {
			KUNIT_EXPECT_EQ(st->test, r.base, 0ULL);
			return;
		}
	}
	KUNIT_ASSERT_NE(st->test, r.base, 0ULL);
	KUNIT_ASSERT_GT(st->test, r.nfree, 0u);
	KUNIT_EXPECT_EQ(st->test, r.nfree,
			bitmap_weight((unsigned long *)r.free, GCHEAP_SPAN_MAX_ELEMS));
	s = &st->cached[st->ncached++];
	s->base = r.base;
	s->spanclass = r.spanclass;
	s->elemsize = r.elemsize;
	s->nelems = r.nelems;
	memcpy(s->free, r.free, sizeof(s->free));
	random_use(st, s, random_below(st, min(s->nelems / 2, 16U) + 1));
}

static void random_alloc(struct random_state *st)
{
	struct gcheap_alloc a = { .size = sizeof(a) };
	int ret;

	a.bytes = 1 + random_below(st, random_below(st, 16) ? 100000 : 4 << 20);
	a.flags = random_below(st, 2) ? GCHEAP_ALLOC_NOSCAN : 0;
	ret = mheap_op_alloc(st->h, &a);
	if (ret == -ENOMEM) {
		st->nomem++;	/* the arena may fill up */
		return;
	}
	KUNIT_ASSERT_EQ(st->test, ret, 0);
	random_add_live(st, a.addr);
}

static void random_free(struct random_state *st)
{
	/* The test is the cache of every span it holds. */
	struct gcheap_free f = {
		.size = sizeof(f), .flags = GCHEAP_FREE_CACHED,
	};
	struct gcheap_lookup l = { .size = sizeof(l) };
	unsigned int i;
	int ret;

	if (!st->nlive)
		return;
	i = random_below(st, st->nlive);
	f.addr = st->live[i];
	st->live[i] = st->live[--st->nlive];

	l.addr = f.addr + random_below(st, 8);
	KUNIT_EXPECT_EQ(st->test, mheap_op_lookup(st->h, &l), 0);
	KUNIT_EXPECT_EQ(st->test, l.base, f.addr);
	if (!random_below(st, 50))
		return;	/* leaked: the heap keeps it */
	KUNIT_EXPECT_EQ(st->test, mheap_op_free(st->h, &f), 0);
	/* A second free: gone with its span, or a free slot. */
	if (!random_below(st, 4)) {
		ret = mheap_op_free(st->h, &f);
		KUNIT_EXPECT_TRUE_MSG(st->test, ret == -EALREADY || ret == -ENOENT,
				      "double free: %d", ret);
	}
}

static void random_check(struct random_state *st, unsigned int op)
{
	struct gcheap_stats stats = { .size = sizeof(stats) };
	char why[256];

	KUNIT_ASSERT_EQ_MSG(st->test, hosted_mheap_check(st->h, why, sizeof(why)), 0,
			    "after op %u (seed %llu): %s", op, st->seed, why);
	KUNIT_ASSERT_EQ(st->test, mheap_op_stats(st->h, &stats, NULL, 0, NULL), 0);
	KUNIT_ASSERT_EQ(st->test, stats.heap_objects, stats.mallocs - stats.frees);
	KUNIT_ASSERT_EQ(st->test, stats.heap_inuse + stats.heap_idle, stats.heap_sys);
	KUNIT_ASSERT_EQ(st->test, stats.cached_spans, (u64)st->ncached);
	KUNIT_ASSERT_EQ(st->test, stats.bad_frees, 0ULL);
}

static void random_test_ops(struct kunit *test)
{
	struct random_state *st = kunit_kzalloc(test, sizeof(*st), GFP_KERNEL);
	const char *env = getenv("HOSTED_RANDOM_SEED");
	unsigned int op, n;

	KUNIT_ASSERT_NOT_NULL(test, st);
	st->test = test;
	st->h = mheap_test_heap(test, MHEAP_TEST_ARENA);
	st->seed = env ? strtoull(env, NULL, 0) : 0x9e3779b97f4a7c15ULL;
	if (!st->seed)
		st->seed = 1;
	kunit_info(test, "seed %llu", st->seed);
	for (op = 0; op < RANDOM_OPS; op++) {
		switch (random_below(st, 10)) {
		case 0: case 1:
			random_refill(st);
			break;
		case 2:
			random_alloc(st);
			break;
		default:
			for (n = 1 + random_below(st, 3); n; n--)
				random_free(st);
			break;
		}
		if (!(op % RANDOM_CHECK_EVERY))
			random_check(st, op);
	}
	/* Give every span back: what stays is what was used and not freed. */
	while (st->ncached) {
		struct random_span *s = &st->cached[0];
		struct gcheap_refill r = {
			.size = sizeof(r), .flags = GCHEAP_REFILL_RELEASE_ONLY,
			.spanclass = s->spanclass, .old_base = s->base,
		};

		memcpy(r.free, s->free, sizeof(r.free));
		KUNIT_ASSERT_EQ(test, mheap_op_refill(st->h, &r), 0);
		*s = st->cached[--st->ncached];
	}
	random_check(st, op);
	{
		struct gcheap_stats stats = { .size = sizeof(stats) };

		mheap_op_stats(st->h, &stats, NULL, 0, NULL);
		kunit_info(test, "refills %llu, objects allocated %llu, freed %llu, heap %llu KiB, in use %llu KiB, %u times out of memory",
			   stats.refills, stats.mallocs, stats.frees,
			   stats.heap_sys >> 10, stats.heap_inuse >> 10, st->nomem);
	}
}

static struct kunit_case random_test_cases[] = {
	KUNIT_CASE(random_test_ops),
	{}
};

static struct kunit_suite random_test_suite = {
	.name = "hosted_random_ops",
	.exit = mheap_test_exit,
	.test_cases = random_test_cases,
};

kunit_test_suites(&random_test_suite);
