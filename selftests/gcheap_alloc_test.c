// SPDX-License-Identifier: GPL-2.0
/*
 * gcheap_alloc_test: allocation, free and lookup through libgcheap.
 *
 * Every size class is allocated (scan and noscan), written and read back;
 * large objects up to several MiB are written in full; explicit free, the
 * lookups on base and interior pointers, memory reuse (objects must come back
 * zeroed), the statistics, threads and the set-up options are checked.
 *
 * Each test runs in a fresh child process of the harness, so each gets a
 * fresh heap: the library sets it up on the test's first call.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"

#include "gcheap.h"
#include "gcheap_util.h"

GH_NO_AUTO_GC();

#define KiB	1024UL
#define MiB	(1024UL * 1024)

/* The size-class table as the library reports it. */
struct classes {
	int n;
	struct gcheap_size_class_stats row[GH_MAX_CLASSES];
};

/*
 * Set the heap up and read the size-class table, or skip the test when the
 * module is not loaded. A macro, as SKIP() and ASSERT_*() must run in the
 * test function itself.
 */
#define GH_SETUP(cl) do {						\
	struct gcheap_heap_stats __st;					\
									\
	if (gcheap_init()) {						\
		if (errno == ENOENT)					\
			SKIP(return, "no " GH_DEVICE ": is gcheap.ko loaded?"); \
		ASSERT_EQ(0, errno) TH_LOG("gcheap_init: %s",		\
					   strerror(errno));		\
	}								\
	(cl)->n = gcheap_heap_stats(&__st, (cl)->row, GH_MAX_CLASSES);	\
	ASSERT_EQ(GH_NUM_CLASSES, (cl)->n);				\
} while (0)

static unsigned int class_nelems(const struct gcheap_size_class_stats *c)
{
	return c->span_pages * GCHEAP_PAGE_SIZE / c->elemsize;
}

/* The smallest class holding @size bytes (size 0 is served by class 1). */
static unsigned int class_of(const struct classes *cl, size_t size)
{
	int c;

	for (c = 1; c < cl->n; c++)
		if (cl->row[c].elemsize >= size)
			return c;
	return 0;
}

/* Word i of an object stamped with @tag. */
static inline uint64_t stamp_word(uint64_t tag, size_t i)
{
	return tag ^ (i * 0x9E3779B97F4A7C15ULL);
}

static void stamp(void *p, size_t bytes, uint64_t tag)
{
	uint64_t *w = p;
	size_t i;

	for (i = 0; i < bytes / 8; i++)
		w[i] = stamp_word(tag, i);
}

/* Byte offset of the first word that does not carry @tag, or -1. */
static long stamp_bad(const void *p, size_t bytes, uint64_t tag)
{
	const uint64_t *w = p;
	size_t i;

	for (i = 0; i < bytes / 8; i++)
		if (w[i] != stamp_word(tag, i))
			return i * 8;
	return -1;
}

/* Byte offset of the first non-zero byte, or -1. */
static long nonzero_at(const void *p, size_t bytes)
{
	const uint64_t *w = p;
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < bytes / 8; i++)
		if (w[i])
			return i * 8;
	for (i = bytes / 8 * 8; i < bytes; i++)
		if (b[i])
			return i;
	return -1;
}

static int stats(struct gcheap_heap_stats *st, struct classes *cl)
{
	return gcheap_heap_stats(st, cl ? cl->row : NULL,
				 cl ? GH_MAX_CLASSES : 0);
}

TEST(size_class_table)
{
	struct classes cl;
	int c;

	GH_SETUP(&cl);
	ASSERT_EQ(0, cl.row[0].elemsize);
	ASSERT_EQ(8, cl.row[1].elemsize);
	ASSERT_EQ(GCHEAP_MAX_SMALL_SIZE, cl.row[cl.n - 1].elemsize);
	for (c = 1; c < cl.n; c++) {
		const struct gcheap_size_class_stats *r = &cl.row[c];

		ASSERT_EQ(c, r->size_class);
		EXPECT_EQ(0, r->elemsize % 8) TH_LOG("class %d", c);
		if (c > 1) {
			EXPECT_GT(r->elemsize, cl.row[c - 1].elemsize)
				TH_LOG("class %d not above class %d", c, c - 1);
		}
		ASSERT_GE(r->span_pages, 1);
		EXPECT_GE(class_nelems(r), 1) TH_LOG("class %d", c);
		EXPECT_LE(class_nelems(r), GCHEAP_SPAN_MAX_ELEMS)
			TH_LOG("class %d", c);
	}
	/* A fresh heap holds nothing. */
	for (c = 0; c < cl.n; c++) {
		EXPECT_EQ(0, cl.row[c].mallocs);
		EXPECT_EQ(0, cl.row[c].spans);
	}
}

TEST(zero_size)
{
	struct classes cl;
	void *a, *b, *c;

	GH_SETUP(&cl);
	a = gcheap_malloc(0);
	b = gcheap_malloc(0);
	c = gcheap_malloc_atomic(0);
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ASSERT_NE(NULL, c);
	/* Unique objects of the smallest class, as malloc(0) in bdwgc. */
	EXPECT_NE(a, b);
	EXPECT_EQ(cl.row[1].elemsize, gcheap_size(a));
	EXPECT_EQ(cl.row[1].elemsize, gcheap_size(c));
	EXPECT_EQ(a, gcheap_base(a));
	EXPECT_EQ(-1, nonzero_at(a, gcheap_size(a)));
	errno = 0;
	gcheap_free(a);
	EXPECT_EQ(0, errno);
}

/*
 * Allocate a span's worth plus one of every class (so every class refills at
 * least once), with requests that all round to the class, check each object
 * (zero, usable size, base of interior pointers), stamp it, and verify all
 * stamps at the end: an overlap of two objects would break one of them.
 */
static void every_class(struct __test_metadata *_metadata, bool noscan)
{
	struct gcheap_heap_stats st;
	struct classes cl, after;
	uint64_t total = 0;
	void **objs[GH_MAX_CLASSES] = { NULL };
	unsigned int count[GH_MAX_CLASSES] = { 0 };
	int c;

	GH_SETUP(&cl);
	for (c = 1; c < cl.n; c++) {
		size_t size = cl.row[c].elemsize;
		size_t below = cl.row[c - 1].elemsize;
		size_t reqs[3] = { size, below + 1, (size + below + 1) / 2 };
		unsigned int i, n = class_nelems(&cl.row[c]) + 1;

		objs[c] = calloc(n, sizeof(void *));
		ASSERT_NE(NULL, objs[c]);
		count[c] = n;
		for (i = 0; i < n; i++) {
			size_t req = reqs[i % 3];
			uint64_t tag = (uint64_t)c << 40 | (uint64_t)i << 8 |
				       noscan;
			char *p = noscan ? gcheap_malloc_atomic(req) :
					   gcheap_malloc(req);

			ASSERT_NE(NULL, p) TH_LOG("class %d (%zu bytes) #%u: %s",
						  c, size, i, strerror(errno));
			ASSERT_EQ(0, (uintptr_t)p % 8);
			ASSERT_EQ(-1, nonzero_at(p, size))
				TH_LOG("class %d #%u not zeroed", c, i);
			ASSERT_EQ(size, gcheap_size(p))
				TH_LOG("class %d #%u: request %zu", c, i, req);
			if (i % 5 == 0) {
				ASSERT_EQ(p, gcheap_base(p + size - 1));
				ASSERT_EQ(p, gcheap_base(p + size / 2));
				ASSERT_EQ(size, gcheap_size(p + size - 8));
			}
			stamp(p, size, tag);
			objs[c][i] = p;
		}
		total += n;
	}
	for (c = 1; c < cl.n; c++) {
		unsigned int i;

		for (i = 0; i < count[c]; i++) {
			uint64_t tag = (uint64_t)c << 40 | (uint64_t)i << 8 |
				       noscan;

			ASSERT_EQ(-1, stamp_bad(objs[c][i], cl.row[c].elemsize,
						tag))
				TH_LOG("class %d #%u at %p overwritten", c, i,
				       objs[c][i]);
		}
	}

	/* The statistics count exactly what was allocated. */
	ASSERT_EQ(cl.n, stats(&st, &after));
	EXPECT_EQ(total, st.mallocs);
	EXPECT_EQ(0, st.frees);
	EXPECT_EQ(total, st.heap_objects);
	EXPECT_EQ(0, st.cached_spans);
	for (c = 1; c < cl.n; c++) {
		EXPECT_EQ(count[c], after.row[c].mallocs) TH_LOG("class %d", c);
		EXPECT_EQ((uint64_t)count[c] * cl.row[c].elemsize,
			  after.row[c].bytes_inuse) TH_LOG("class %d", c);
		EXPECT_GE(after.row[c].spans, 2) TH_LOG("class %d", c);
		free(objs[c]);
	}
}

TEST(every_class_scan)
{
	every_class(_metadata, false);
}

TEST(every_class_noscan)
{
	every_class(_metadata, true);
}

/* Every request size maps to the smallest class that holds it. */
TEST(size_to_class)
{
	struct classes cl;
	size_t n;
	int c;

	GH_SETUP(&cl);
	for (n = 1; n <= GCHEAP_MAX_SMALL_SIZE; n += n < 1024 ? 1 : 37) {
		void *p = gcheap_malloc_atomic(n);
		size_t want = cl.row[class_of(&cl, n)].elemsize;

		ASSERT_NE(NULL, p) TH_LOG("%zu bytes: %s", n, strerror(errno));
		ASSERT_EQ(want, gcheap_size(p)) TH_LOG("request %zu", n);
		errno = 0;
		gcheap_free(p);
		ASSERT_EQ(0, errno) TH_LOG("free of a %zu-byte object", n);
	}
	/* Both sides of every class boundary. */
	for (c = 1; c < cl.n; c++) {
		size_t size = cl.row[c].elemsize;
		void *p = gcheap_malloc(size);
		void *q = size < GCHEAP_MAX_SMALL_SIZE ?
			  gcheap_malloc(size + 1) : NULL;

		ASSERT_NE(NULL, p);
		ASSERT_EQ(size, gcheap_size(p));
		if (q) {
			ASSERT_EQ(cl.row[c + 1].elemsize, gcheap_size(q));
		}
		gcheap_free(p);
		gcheap_free(q);
	}
}

TEST(large_objects)
{
	static const size_t sizes[] = {
		GCHEAP_MAX_SMALL_SIZE + 1, 40000, 64 * KiB, 100000, 1 * MiB,
		1 * MiB + 1, 3 * MiB + 12345, 8 * MiB,
	};
	const unsigned int n = ARRAY_SIZE(sizes);
	struct gcheap_heap_stats st;
	struct classes cl;
	char *objs[16];
	unsigned int i, round;

	GH_SETUP(&cl);
	for (round = 0; round < 2; round++) {
		for (i = 0; i < n; i++) {
			size_t usable = GH_ROUND_UP(sizes[i], GCHEAP_PAGE_SIZE);
			bool noscan = (i + round) & 1;
			char *p = noscan ? gcheap_malloc_atomic(sizes[i]) :
					   gcheap_malloc(sizes[i]);

			ASSERT_NE(NULL, p) TH_LOG("%zu bytes: %s", sizes[i],
						  strerror(errno));
			ASSERT_EQ(0, (uintptr_t)p % GCHEAP_PAGE_SIZE);
			ASSERT_EQ(usable, gcheap_size(p));
			ASSERT_EQ(usable, gcheap_size(p + sizes[i] - 1));
			ASSERT_EQ(p, gcheap_base(p + sizes[i] - 1));
			ASSERT_EQ(p, gcheap_base(p + usable / 2));
			/*
			 * In the second round the pages are those the first
			 * round wrote and freed: they must come back zeroed.
			 */
			ASSERT_EQ(-1, nonzero_at(p, usable))
				TH_LOG("round %u: %zu-byte object not zeroed",
				       round, sizes[i]);
			stamp(p, usable, (uint64_t)i << 32 | round);
			objs[i] = p;
		}
		for (i = 0; i < n; i++) {
			size_t usable = GH_ROUND_UP(sizes[i], GCHEAP_PAGE_SIZE);

			ASSERT_EQ(-1, stamp_bad(objs[i], usable,
						(uint64_t)i << 32 | round))
				TH_LOG("%zu-byte object overwritten", sizes[i]);
		}
		ASSERT_EQ(cl.n, stats(&st, NULL));
		EXPECT_EQ(n, st.heap_objects);
		for (i = 0; i < n; i++) {
			errno = 0;
			gcheap_free(objs[i]);
			ASSERT_EQ(0, errno) TH_LOG("free: %s", strerror(errno));
		}
		for (i = 0; i < n; i++) {
			errno = 0;
			EXPECT_EQ(NULL, gcheap_base(objs[i]));
			EXPECT_EQ(ENOENT, errno);
			EXPECT_EQ(0, gcheap_size(objs[i] + 100));
			errno = 0;
			gcheap_free(objs[i]);
			EXPECT_EQ(ENOENT, errno) TH_LOG("double free of a large object");
		}
		ASSERT_EQ(cl.n, stats(&st, NULL));
		EXPECT_EQ(0, st.heap_objects);
		EXPECT_EQ(0, st.heap_alloc);
	}
}

TEST(free_and_lookup)
{
	struct gcheap_heap_stats st;
	struct classes cl;
	int on_stack = 1;
	static int global;
	char *p, *q, *big, *next;
	size_t size;

	GH_SETUP(&cl);
	p = gcheap_malloc(100);
	ASSERT_NE(NULL, p);
	size = gcheap_size(p);
	ASSERT_EQ(cl.row[class_of(&cl, 100)].elemsize, size);
	EXPECT_EQ(p, gcheap_base(p));
	EXPECT_EQ(p, gcheap_base(p + 1));
	EXPECT_EQ(p, gcheap_base(p + size - 1));
	EXPECT_EQ(size, gcheap_size(p + 57));

	/* An interior pointer cannot be freed, and nothing changes. */
	errno = 0;
	gcheap_free(p + 8);
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(p, gcheap_base(p + 8));

	/* Free: errno untouched; then the object is gone. */
	errno = 0;
	gcheap_free(p);
	EXPECT_EQ(0, errno);
	errno = 0;
	EXPECT_EQ(NULL, gcheap_base(p));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(NULL, gcheap_base(p + size / 2));
	EXPECT_EQ(0, gcheap_size(p));
	errno = 0;
	gcheap_free(p);
	EXPECT_EQ(EALREADY, errno) TH_LOG("double free not reported");

	/*
	 * The slot after the first object of a fresh class was never handed
	 * out: not an object, and freeing it is refused.
	 */
	q = gcheap_malloc(4000);
	ASSERT_NE(NULL, q);
	next = q + gcheap_size(q);
	errno = 0;
	EXPECT_EQ(NULL, gcheap_base(next));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(0, gcheap_size(next + 5));
	errno = 0;
	gcheap_free(next);
	EXPECT_EQ(EALREADY, errno);
	EXPECT_EQ(q, gcheap_base(q + 3999));

	/* Large objects: interior free refused, lookups from inside. */
	big = gcheap_malloc(200000);
	ASSERT_NE(NULL, big);
	EXPECT_EQ(big, gcheap_base(big + 199999));
	errno = 0;
	gcheap_free(big + GCHEAP_PAGE_SIZE);
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	gcheap_free(big);
	EXPECT_EQ(0, errno);
	errno = 0;
	EXPECT_EQ(NULL, gcheap_base(big + 10));
	EXPECT_EQ(ENOENT, errno);

	/* Addresses outside the heap. */
	errno = 0;
	EXPECT_EQ(NULL, gcheap_base(&on_stack));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(0, gcheap_size(&global));
	EXPECT_EQ(NULL, gcheap_base(NULL));
	errno = 0;
	gcheap_free(&on_stack);
	EXPECT_EQ(ENOENT, errno);
	errno = 0;
	gcheap_free(&global);
	EXPECT_EQ(ENOENT, errno);
	errno = 0;
	gcheap_free(NULL);
	EXPECT_EQ(0, errno);

	/* The refused frees counted nothing; the real ones were counted. */
	ASSERT_EQ(cl.n, stats(&st, NULL));
	EXPECT_EQ(0, st.bad_frees);
	EXPECT_EQ(3, st.mallocs);
	EXPECT_EQ(2, st.frees);
	EXPECT_EQ(1, st.heap_objects);
}

/* gcheap_free() of @arg from a thread of its own; its errno. */
static void *free_elsewhere(void *arg)
{
	errno = 0;
	gcheap_free(arg);
	return (void *)(intptr_t)errno;
}

/*
 * Another thread's free of a slot this thread's cache holds but has not
 * handed out yet (a double free, say) must not free the object the cache
 * puts there next: it stays live, and is never handed out again.
 */
TEST(cross_thread_free_of_cached_slot)
{
	char *p, *next, *q;
	pthread_t t;
	void *err;
	int i;

	p = gcheap_malloc(64);
	ASSERT_NE(NULL, p);
	next = p + gcheap_size(p);
	errno = 0;
	ASSERT_EQ(NULL, gcheap_base(next));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(0, pthread_create(&t, NULL, free_elsewhere, next));
	ASSERT_EQ(0, pthread_join(t, &err));
	EXPECT_EQ(0, (intptr_t)err);

	q = gcheap_malloc(64);
	ASSERT_EQ(next, q);
	memset(q, 0x5a, 64);
	ASSERT_EQ(0, gcheap_flush_cache());
	EXPECT_EQ(q, gcheap_base(q));
	for (i = 0; i < 4096; i++)
		ASSERT_NE(q, gcheap_malloc(64)) TH_LOG("allocation %d", i);
	for (i = 0; i < 64; i++)
		ASSERT_EQ(0x5a, (unsigned char)q[i]);

	/* From the same thread, the free is answered at once. */
	errno = 0;
	gcheap_free(q);
	EXPECT_EQ(0, errno);
	errno = 0;
	EXPECT_EQ(NULL, gcheap_base(q));
	EXPECT_EQ(ENOENT, errno);
}

TEST(calloc_realloc)
{
	struct classes cl;
	char *p, *q, *r;
	size_t i;

	GH_SETUP(&cl);
	errno = 0;
	EXPECT_EQ(NULL, gcheap_calloc(SIZE_MAX / 2, 3));
	EXPECT_EQ(ENOMEM, errno);
	p = gcheap_calloc(100, 7);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(-1, nonzero_at(p, 700));
	EXPECT_GE(gcheap_size(p), 700);

	/* realloc(NULL) allocates. */
	p = gcheap_realloc(NULL, 50);
	ASSERT_NE(NULL, p);
	for (i = 0; i < 50; i++)
		p[i] = (char)i;
	/* Within the same class: the same object. */
	q = gcheap_realloc(p, gcheap_size(p));
	EXPECT_EQ(p, q);
	/* Growing: moved, contents kept, the rest zero, the old one freed. */
	q = gcheap_realloc(p, 5000);
	ASSERT_NE(NULL, q);
	ASSERT_NE(p, q);
	for (i = 0; i < 50; i++) {
		ASSERT_EQ((char)i, q[i]);
	}
	EXPECT_EQ(-1, nonzero_at(q + 50, gcheap_size(q) - 50));
	EXPECT_EQ(NULL, gcheap_base(p));
	/* Into a large object and back. */
	r = gcheap_realloc(q, 300000);
	ASSERT_NE(NULL, r);
	for (i = 0; i < 50; i++) {
		ASSERT_EQ((char)i, r[i]);
	}
	EXPECT_EQ(GH_ROUND_UP(300000, GCHEAP_PAGE_SIZE), gcheap_size(r));
	memset(r + 50, 0x5a, 300000 - 50);
	q = gcheap_realloc(r, 20);
	ASSERT_NE(NULL, q);
	for (i = 0; i < 20; i++) {
		ASSERT_EQ((char)i, q[i]);
	}
	EXPECT_EQ(cl.row[class_of(&cl, 20)].elemsize, gcheap_size(q));
	EXPECT_EQ(NULL, gcheap_base(r));

	/* Bad pointers: NULL, errno, and the object left alone. */
	errno = 0;
	EXPECT_EQ(NULL, gcheap_realloc(q + 8, 100));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(NULL, gcheap_realloc(r, 100));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(q, gcheap_base(q));
	for (i = 0; i < 20; i++) {
		ASSERT_EQ((char)i, q[i]);
	}
	/*
	 * A small object freed while its span is still this thread's cached
	 * one: the same usable size or another, it is not live.
	 */
	p = gcheap_malloc(20);
	ASSERT_NE(NULL, p);
	gcheap_free(p);
	errno = 0;
	EXPECT_EQ(NULL, gcheap_realloc(p, 24));
	EXPECT_EQ(ENOENT, errno);
	errno = 0;
	EXPECT_EQ(NULL, gcheap_realloc(p, 100));
	EXPECT_EQ(ENOENT, errno);
}

/*
 * Objects written and freed leave old data in their slots and pages; the
 * objects handed out from them later must be zero all the same (the span's
 * NEEDZERO flag for slots, the kernel for pages).
 */
TEST(zeroed_when_reused)
{
	static const size_t sizes[] = { 8, 48, 256, 1024, 4096, 32768 };
	struct classes cl;
	unsigned int s;

	GH_SETUP(&cl);
	for (s = 0; s < ARRAY_SIZE(sizes); s++) {
		const struct gcheap_size_class_stats *c =
			&cl.row[class_of(&cl, sizes[s])];
		unsigned int i, n = 2 * class_nelems(c) + 3, reused = 0;
		bool noscan = s & 1;
		char **objs = calloc(n, sizeof(char *));

		ASSERT_NE(NULL, objs);
		for (i = 0; i < n; i++) {
			objs[i] = noscan ? gcheap_malloc_atomic(sizes[s]) :
					   gcheap_malloc(sizes[s]);
			ASSERT_NE(NULL, objs[i]);
			memset(objs[i], 0xa5, c->elemsize);
		}
		for (i = 0; i < n; i++) {
			errno = 0;
			gcheap_free(objs[i]);
			ASSERT_EQ(0, errno);
		}
		ASSERT_EQ(0, gcheap_flush_cache());
		for (i = 0; i < n; i++) {
			char *p = noscan ? gcheap_malloc_atomic(sizes[s]) :
					   gcheap_malloc(sizes[s]);
			unsigned int j;

			ASSERT_NE(NULL, p);
			ASSERT_EQ(-1, nonzero_at(p, c->elemsize))
				TH_LOG("%zu-byte object #%u reused unzeroed",
				       sizes[s], i);
			for (j = 0; j < n && !reused; j++)
				reused = objs[j] == p;
		}
		/* Otherwise this test would have checked nothing. */
		EXPECT_TRUE(reused) TH_LOG("%zu: no memory reused", sizes[s]);
		free(objs);
	}
}

TEST(stats_counts)
{
	struct gcheap_heap_stats a, b;
	struct classes cl, ca, cb;
	unsigned int c48, i;
	void *objs[1000], *big[3];

	GH_SETUP(&cl);
	c48 = class_of(&cl, 48);
	ASSERT_EQ(cl.n, stats(&a, &ca));
	for (i = 0; i < 1000; i++) {
		objs[i] = gcheap_malloc(48);
		ASSERT_NE(NULL, objs[i]);
		memset(objs[i], 0x11, 48);
	}
	for (i = 0; i < 3; i++) {
		big[i] = gcheap_malloc_atomic(100 * KiB);
		ASSERT_NE(NULL, big[i]);
	}
	/* Cached allocations are counted once the span goes back. */
	ASSERT_EQ(cl.n, stats(&b, &cb));
	EXPECT_EQ(0, b.cached_spans);
	EXPECT_EQ(1003, b.mallocs - a.mallocs);
	EXPECT_EQ(1003, b.heap_objects - a.heap_objects);
	EXPECT_EQ(1000, cb.row[c48].mallocs - ca.row[c48].mallocs);
	EXPECT_EQ(1000ULL * cl.row[c48].elemsize, cb.row[c48].bytes_inuse);
	EXPECT_EQ(3, cb.row[0].mallocs);
	EXPECT_EQ(3, cb.row[0].spans);
	EXPECT_EQ(3 * GH_ROUND_UP(100 * KiB, GCHEAP_PAGE_SIZE),
		  cb.row[0].bytes_inuse);
	EXPECT_EQ(b.heap_alloc, 1000ULL * cl.row[c48].elemsize +
				3 * GH_ROUND_UP(100 * KiB, GCHEAP_PAGE_SIZE));
	EXPECT_GE(b.refills, 1);

	for (i = 0; i < 500; i++)
		gcheap_free(objs[i * 2]);
	gcheap_free(big[1]);
	ASSERT_EQ(cl.n, stats(&b, &cb));
	EXPECT_EQ(500, cb.row[c48].frees);
	EXPECT_EQ(1, cb.row[0].frees);
	EXPECT_EQ(501, b.frees);
	EXPECT_EQ(502, b.heap_objects);
	EXPECT_EQ(b.mallocs - b.frees, b.heap_objects);
	EXPECT_EQ(500ULL * cl.row[c48].elemsize, cb.row[c48].bytes_inuse);

	/* The heap's byte counts hold together. */
	EXPECT_EQ(b.heap_sys, b.heap_inuse + b.heap_idle);
	EXPECT_GE(b.heap_inuse, b.heap_alloc);
	EXPECT_LE(b.heap_sys, b.arena_size);
	EXPECT_GT(b.resident, 0);
	EXPECT_LE(b.resident, b.heap_sys);
	EXPECT_EQ(0, b.bad_frees);
}

#define THREADS		4
#define PER_THREAD	20000

struct thread_arg {
	unsigned int id;
	char *objs[PER_THREAD];
	size_t sizes[PER_THREAD];
	pthread_barrier_t *allocated;	/* this thread's objects exist */
	pthread_barrier_t *freed;	/* the main thread freed some */
	unsigned int failures;
};

static void *thread_alloc(void *argp)
{
	struct thread_arg *arg = argp;
	uint64_t rng = arg->id * 7919 + 1;
	unsigned int i;

	for (i = 0; i < PER_THREAD; i++) {
		size_t size = 1 + gh_rand(&rng) % (i % 50 ? 512 : 20000);
		char *p = i & 1 ? gcheap_malloc(size) :
				  gcheap_malloc_atomic(size);

		if (!p || nonzero_at(p, size) != -1) {
			arg->failures++;
			continue;
		}
		stamp(p, size & ~7UL, (uint64_t)arg->id << 32 | i);
		arg->objs[i] = p;
		arg->sizes[i] = size;
	}
	/* Let the main thread free objects of spans this thread caches. */
	pthread_barrier_wait(arg->allocated);
	pthread_barrier_wait(arg->freed);
	/* Allocate more after those frees, then exit with spans cached. */
	for (i = 0; i < 1000; i++)
		if (!gcheap_malloc(24))
			arg->failures++;
	return NULL;
}

TEST(threads)
{
	static struct thread_arg args[THREADS];
	pthread_barrier_t allocated, freed;
	struct gcheap_heap_stats st;
	pthread_t tids[THREADS];
	struct classes cl;
	uint64_t live = 0, xfreed = 0;
	unsigned int t, i;

	GH_SETUP(&cl);
	pthread_barrier_init(&allocated, NULL, THREADS + 1);
	pthread_barrier_init(&freed, NULL, THREADS + 1);
	for (t = 0; t < THREADS; t++) {
		args[t].id = t;
		args[t].allocated = &allocated;
		args[t].freed = &freed;
		ASSERT_EQ(0, pthread_create(&tids[t], NULL, thread_alloc,
					    &args[t]));
	}
	pthread_barrier_wait(&allocated);
	/*
	 * The threads are alive with spans cached: free every third object
	 * of theirs from this thread, and check every stamp.
	 */
	for (t = 0; t < THREADS; t++) {
		ASSERT_EQ(0, args[t].failures);
		for (i = 0; i < PER_THREAD; i++) {
			char *p = args[t].objs[i];

			ASSERT_EQ(-1, stamp_bad(p, args[t].sizes[i] & ~7UL,
						(uint64_t)t << 32 | i))
				TH_LOG("thread %u object %u overwritten", t, i);
			if (i % 3)
				continue;
			errno = 0;
			gcheap_free(p);
			ASSERT_EQ(0, errno) TH_LOG("cross-thread free: %s",
						   strerror(errno));
			xfreed++;
			/*
			 * Again: a double free. If that emptied the span, the
			 * span is gone and the address lies in none; if its
			 * thread still allocates from the span, the first free
			 * was left to the collector, and so is this one.
			 */
			errno = 0;
			gcheap_free(p);
			ASSERT_TRUE(errno == EALREADY || errno == ENOENT ||
				    errno == 0)
				TH_LOG("double free: %s", strerror(errno));
			args[t].objs[i] = NULL;
		}
	}
	pthread_barrier_wait(&freed);
	for (t = 0; t < THREADS; t++) {
		ASSERT_EQ(0, pthread_join(tids[t], NULL));
		ASSERT_EQ(0, args[t].failures);
		for (i = 0; i < PER_THREAD; i++) {
			if (!args[t].objs[i])
				continue;
			live++;
			ASSERT_EQ(-1, stamp_bad(args[t].objs[i],
						args[t].sizes[i] & ~7UL,
						(uint64_t)t << 32 | i));
		}
		live += 1000;
	}
	/* Exited threads gave their spans back; all was counted. */
	ASSERT_EQ(cl.n, stats(&st, NULL));
	EXPECT_EQ(0, st.cached_spans);
	EXPECT_EQ(THREADS * (PER_THREAD + 1000), st.mallocs);
	/* Frees of objects in spans still cached wait for a collection. */
	EXPECT_LE(live, st.heap_objects);
	EXPECT_GE(live + xfreed, st.heap_objects);
	EXPECT_EQ(st.mallocs - st.frees, st.heap_objects);
	EXPECT_EQ(0, st.bad_frees);
}

/* ================ Set-up options ================ */

/* A set-up is visible in how much one object may take. */
static void check_arena(struct __test_metadata *_metadata, size_t arena)
{
	struct gcheap_heap_stats st;
	void *p;

	ASSERT_LT(0, gcheap_heap_stats(&st, NULL, 0));
	EXPECT_EQ(arena, st.arena_size);
	errno = 0;
	EXPECT_EQ(NULL, gcheap_malloc_atomic(arena + GCHEAP_PAGE_SIZE));
	EXPECT_EQ(ENOMEM, errno);
	p = gcheap_malloc_atomic(arena / 2);
	ASSERT_NE(NULL, p);
	gcheap_free(p);
}

TEST(init_opts)
{
	struct {
		struct gcheap_options o;
		uint64_t newer_field;
	} big = { { .size = sizeof(big), .arena_size = 32 * MiB }, 1 };
	/* Shorter than the struct's first version (up to arena_size). */
	struct gcheap_options o = {
		.size = offsetof(struct gcheap_options, arena_size) +
			sizeof(o.arena_size) - 1,
	};

	if (access(GH_DEVICE, F_OK))
		SKIP(return, "no " GH_DEVICE ": is gcheap.ko loaded?");
	errno = 0;
	EXPECT_EQ(-1, gcheap_init_opts(&o));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, gcheap_init_opts(&big.o));
	EXPECT_EQ(E2BIG, errno);
	/* A longer struct whose extra fields are zero is fine. */
	big.newer_field = 0;
	big.o.arena_size = 32 * MiB - 100;
	ASSERT_EQ(0, gcheap_init_opts(&big.o)) TH_LOG("%s", strerror(errno));
	/* Too late for options now; a plain init is a no-op. */
	o.size = sizeof(o);
	errno = 0;
	EXPECT_EQ(-1, gcheap_init_opts(&o));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(0, gcheap_init());
	check_arena(_metadata, 32 * MiB);
}

TEST(init_env_arena_size)
{
	if (access(GH_DEVICE, F_OK))
		SKIP(return, "no " GH_DEVICE ": is gcheap.ko loaded?");
	ASSERT_EQ(0, setenv("GCHEAP_ARENA_SIZE", "24M", 1));
	/* The first allocation sets the heap up. */
	ASSERT_NE(NULL, gcheap_malloc(10));
	check_arena(_metadata, 24 * MiB);
}

TEST(init_env_invalid)
{
	if (access(GH_DEVICE, F_OK))
		SKIP(return, "no " GH_DEVICE ": is gcheap.ko loaded?");
	ASSERT_EQ(0, setenv("GCHEAP_ARENA_SIZE", "12Q", 1));
	errno = 0;
	EXPECT_EQ(-1, gcheap_init());
	EXPECT_EQ(EINVAL, errno);
	/* A failed set-up is final, and every call reports it. */
	errno = 0;
	EXPECT_EQ(NULL, gcheap_malloc(8));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(NULL, gcheap_malloc(1 * MiB));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, gcheap_fd());
}

TEST_HARNESS_MAIN
