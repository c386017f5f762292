// SPDX-License-Identifier: GPL-2.0
/*
 * Hosted KUnit suite: libgcheap's real fast path (lib/gcheap.c, unchanged)
 * over the direct backend (sys_direct.c), i.e. the library and the module's
 * heap code in one process, under ASan and UBSan. One heap serves the whole
 * process, so the cases share it and compare statistics by difference.
 * After every case the heap's metadata is checked (hosted_mheap_check()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <stdlib.h>
#include <kunit/test.h>
#include <hosted/hosted.h>
#include <hosted/mheap_check.h>
#include "gcheap.h"
#include "gcheap_sys.h"
#include "mheap.h"
#include "../mgc/mgc.h"

#define LIB_TEST_MAX_CLASSES	128
#define LIB_TEST_THREADS	4
#define LIB_TEST_PER_THREAD	20000

static struct gcheap_size_class_stats lib_rows[LIB_TEST_MAX_CLASSES];

/* Flush the calling thread's cache and read the statistics. */
static int lib_stats(struct kunit *test, struct gcheap_heap_stats *st)
{
	int n;

	KUNIT_ASSERT_EQ(test, gcheap_flush_cache(), 0);
	n = gcheap_heap_stats(st, lib_rows, LIB_TEST_MAX_CLASSES);
	KUNIT_ASSERT_GT(test, n, 1);
	KUNIT_ASSERT_LE(test, n, LIB_TEST_MAX_CLASSES);
	return n;
}

static bool lib_all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (c[i])
			return false;
	return true;
}

static void lib_fill(void *p, size_t n, unsigned int seed)
{
	unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		c[i] = (unsigned char)(seed * 31 + i);
}

static bool lib_check_fill(const void *p, size_t n, unsigned int seed)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (c[i] != (unsigned char)(seed * 31 + i))
			return false;
	return true;
}

static int lib_test_init(struct kunit *test)
{
	KUNIT_ASSERT_EQ(test, gcheap_init(), 0);
	return 0;
}

/* After each case: give the cache back, and the heap must be sound. */
static void lib_test_exit(struct kunit *test)
{
	struct mheap *h = hosted_direct_heap();
	char why[256];

	KUNIT_EXPECT_EQ(test, gcheap_flush_cache(), 0);
	KUNIT_ASSERT_NOT_NULL(test, h);
	KUNIT_EXPECT_EQ_MSG(test, hosted_mheap_check(h, why, sizeof(why)), 0,
			    "%s", why);
}

static void lib_test_setup(struct kunit *test)
{
	struct gcheap_options o = { .size = sizeof(o) };
	struct gcheap_heap_stats st;

	KUNIT_EXPECT_EQ(test, gcheap_init(), 0);
	errno = 0;
	KUNIT_EXPECT_EQ(test, gcheap_init_opts(&o), -1);
	KUNIT_EXPECT_EQ(test, errno, EBUSY);
	errno = 0;
	KUNIT_EXPECT_EQ(test, gcheap_fd(), -1);
	KUNIT_EXPECT_EQ(test, errno, ENODEV);
	KUNIT_EXPECT_NOT_NULL(test, hosted_direct_heap());

	KUNIT_EXPECT_EQ(test, lib_stats(test, &st), 68);
	KUNIT_EXPECT_GT(test, st.arena_size, 0ULL);
	KUNIT_EXPECT_EQ(test, st.arena_size % 8192, 0ULL);
	KUNIT_EXPECT_EQ(test, lib_rows[0].elemsize, 0u);
	KUNIT_EXPECT_EQ(test, lib_rows[67].elemsize, 32768u);
}

/* Allocate @n objects of @size, check, fill, check again, free. */
static void lib_one_class(struct kunit *test, unsigned int c, size_t size,
			  unsigned int n, bool noscan, void **objs)
{
	unsigned int i, bad_zero = 0, bad_lookup = 0, bad_fill = 0;

	for (i = 0; i < n; i++) {
		char *p = noscan ? gcheap_malloc_atomic(size) : gcheap_malloc(size);

		KUNIT_ASSERT_NOT_NULL_MSG(test, p, "class %u object %u: errno %d",
					  c, i, errno);
		KUNIT_ASSERT_EQ(test, (uintptr_t)p % 8, 0UL);
		objs[i] = p;
		bad_zero += !lib_all_zero(p, size);
		bad_lookup += gcheap_base(p + size - 1) != p ||
			      gcheap_size(p + size / 2) != size;
		lib_fill(p, size, i + c);
	}
	for (i = 0; i < n; i++)
		bad_fill += !lib_check_fill(objs[i], size, i + c);
	KUNIT_EXPECT_EQ_MSG(test, bad_zero, 0u, "class %u: objects not zeroed", c);
	KUNIT_EXPECT_EQ_MSG(test, bad_lookup, 0u, "class %u: wrong base or size", c);
	KUNIT_EXPECT_EQ_MSG(test, bad_fill, 0u, "class %u: objects overlap", c);

	errno = 0;
	for (i = 0; i < n; i++)
		gcheap_free(objs[i]);
	KUNIT_EXPECT_EQ_MSG(test, errno, 0, "class %u: free failed", c);
}

static void lib_test_every_class(struct kunit *test)
{
	struct gcheap_heap_stats st;
	unsigned int c, n, noscan;
	void **objs;

	n = lib_stats(test, &st);
	for (c = 1; c < n; c++) {
		size_t size = lib_rows[c].elemsize;
		unsigned int per_span = lib_rows[c].span_pages * 8192 / size;
		/* Past one span, to cross a refill. */
		unsigned int count = per_span + 3;
		char *p;

		objs = kunit_kcalloc(test, count, sizeof(*objs), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, objs);
		for (noscan = 0; noscan < 2; noscan++) {
			lib_one_class(test, c, size, count, noscan, objs);
			/* Reused slots come back zeroed too. */
			lib_one_class(test, c, size, count, noscan, objs);
		}
		kunit_kfree(test, objs);

		/* The smallest size that maps to the class gets its slot. */
		p = gcheap_malloc(lib_rows[c - 1].elemsize + 1);
		KUNIT_ASSERT_NOT_NULL(test, p);
		KUNIT_EXPECT_EQ_MSG(test, gcheap_size(p), size, "class %u", c);
		gcheap_free(p);
	}
}

/*
 * Clearing a reused slot must stop at its end: free every other object of a
 * span, take the freed slots again, and the live neighbours keep their
 * contents while the reused slots come back zeroed.
 */
static void lib_test_reuse_neighbours(struct kunit *test)
{
	struct gcheap_heap_stats st;
	unsigned int c, i, n;
	void **objs;

	n = lib_stats(test, &st);
	for (c = 1; c < n; c++) {
		size_t size = lib_rows[c].elemsize;
		unsigned int count = lib_rows[c].span_pages * 8192 / size;
		unsigned int bad_fill = 0, bad_zero = 0;

		objs = kunit_kcalloc(test, count, sizeof(*objs), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, objs);
		for (i = 0; i < count; i++) {
			objs[i] = gcheap_malloc(size);
			KUNIT_ASSERT_NOT_NULL(test, objs[i]);
			lib_fill(objs[i], size, i + c);
		}
		for (i = 0; i < count; i += 2)
			gcheap_free(objs[i]);
		/* The span goes back partly used, marked for clearing. */
		KUNIT_ASSERT_EQ(test, gcheap_flush_cache(), 0);
		for (i = 0; i < count; i += 2) {
			objs[i] = gcheap_malloc(size);
			KUNIT_ASSERT_NOT_NULL(test, objs[i]);
			bad_zero += !lib_all_zero(objs[i], size);
		}
		for (i = 1; i < count; i += 2)
			bad_fill += !lib_check_fill(objs[i], size, i + c);
		KUNIT_EXPECT_EQ_MSG(test, bad_zero, 0u, "class %u: reused slot not zeroed", c);
		KUNIT_EXPECT_EQ_MSG(test, bad_fill, 0u, "class %u: neighbour clobbered", c);
		for (i = 0; i < count; i++)
			gcheap_free(objs[i]);
		kunit_kfree(test, objs);
	}
}

static void lib_test_large(struct kunit *test)
{
	static const size_t sizes[] = {
		32769, 100000, 1 << 20, (5 << 20) + 3,
	};
	unsigned int i, round;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t usable = (sizes[i] + 8191) & ~8191UL;

		for (round = 0; round < 2; round++) {
			char *p = gcheap_malloc(sizes[i]);

			KUNIT_ASSERT_NOT_NULL(test, p);
			KUNIT_EXPECT_EQ(test, (uintptr_t)p % 8192, 0UL);
			KUNIT_EXPECT_EQ(test, gcheap_size(p + sizes[i] - 1), usable);
			KUNIT_EXPECT_PTR_EQ(test, gcheap_base(p + usable - 1), p);
			/* The second round reuses the first one's dirty pages. */
			KUNIT_EXPECT_TRUE_MSG(test, lib_all_zero(p, usable),
					      "%zu bytes, round %u", sizes[i], round);
			memset(p, 0xa5, usable);
			errno = 0;
			gcheap_free(p);
			KUNIT_EXPECT_EQ(test, errno, 0);
			gcheap_free(p);
			KUNIT_EXPECT_EQ(test, errno, ENOENT);
		}
	}
}

static void lib_test_errors(struct kunit *test)
{
	char *p, *q;
	int local;

	p = gcheap_malloc(48);
	KUNIT_ASSERT_NOT_NULL(test, p);
	errno = 0;
	gcheap_free(&local);
	KUNIT_EXPECT_EQ(test, errno, ENOENT);
	errno = 0;
	gcheap_free(p + 8);
	KUNIT_EXPECT_EQ(test, errno, EINVAL);
	errno = 0;
	gcheap_free(p);
	KUNIT_EXPECT_EQ(test, errno, 0);
	gcheap_free(p);
	KUNIT_EXPECT_EQ(test, errno, EALREADY);
	errno = 0;
	KUNIT_EXPECT_NULL(test, gcheap_base(p));
	KUNIT_EXPECT_EQ(test, errno, ENOENT);

	errno = 0;
	KUNIT_EXPECT_NULL(test, gcheap_calloc(SIZE_MAX / 2, 4));
	KUNIT_EXPECT_EQ(test, errno, ENOMEM);
	errno = 0;
	KUNIT_EXPECT_NULL(test, gcheap_malloc(SIZE_MAX));
	KUNIT_EXPECT_EQ(test, errno, EOVERFLOW);
	errno = 0;
	KUNIT_EXPECT_NULL(test, gcheap_malloc(1ULL << 40));
	KUNIT_EXPECT_EQ(test, errno, ENOMEM);

	/* realloc keeps the contents and zero-fills the rest. */
	p = gcheap_malloc(100);
	KUNIT_ASSERT_NOT_NULL(test, p);
	lib_fill(p, 100, 7);
	q = gcheap_realloc(p, 5000);
	KUNIT_ASSERT_NOT_NULL(test, q);
	KUNIT_EXPECT_TRUE(test, lib_check_fill(q, 100, 7));
	KUNIT_EXPECT_TRUE(test, lib_all_zero(q + 100, 5000 - 100));
	errno = 0;
	KUNIT_EXPECT_NULL(test, gcheap_base(p));
	KUNIT_EXPECT_EQ(test, errno, ENOENT);
	p = gcheap_realloc(q, 100000);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_TRUE(test, lib_check_fill(p, 100, 7));
	gcheap_free(p);
}

struct lib_thread {
	pthread_t tid;
	unsigned int id;
	unsigned int errors;
	void **objs;
	unsigned int nobjs;
};

static const size_t lib_thread_sizes[] = {
	8, 24, 48, 100, 256, 1000, 3000, 8192, 20000, 32768, 40000,
};

static size_t lib_thread_size(unsigned int i)
{
	return lib_thread_sizes[i % ARRAY_SIZE(lib_thread_sizes)];
}

/* Tag an object with its thread and index, at both ends. */
static void lib_tag(void *p, size_t size, unsigned int tag)
{
	memcpy(p, &tag, sizeof(tag));
	memcpy((char *)p + size - sizeof(tag), &tag, sizeof(tag));
}

static bool lib_tagged(const void *p, size_t size, unsigned int tag)
{
	unsigned int a, b;

	memcpy(&a, p, sizeof(a));
	memcpy(&b, (const char *)p + size - sizeof(b), sizeof(b));
	return a == tag && b == tag;
}

static void *lib_thread_main(void *arg)
{
	struct lib_thread *t = arg;
	unsigned int i, tag;

	for (i = 0; i < LIB_TEST_PER_THREAD; i++) {
		size_t size = lib_thread_size(i);
		void *p = (i & 1) ? gcheap_malloc_atomic(size) : gcheap_malloc(size);

		if (!p || !lib_all_zero(p, size < 64 ? size : 64)) {
			t->errors++;
			continue;
		}
		lib_tag(p, size, t->id << 24 | i);
		t->objs[i] = p;
	}
	/* Nothing was overwritten by another thread; free every other one. */
	for (i = 0; i < LIB_TEST_PER_THREAD; i++) {
		tag = t->id << 24 | i;
		if (!t->objs[i])
			continue;
		if (!lib_tagged(t->objs[i], lib_thread_size(i), tag))
			t->errors++;
		if (gcheap_base((char *)t->objs[i] + lib_thread_size(i) / 2) !=
		    t->objs[i])
			t->errors++;
		if (i % 2) {
			errno = 0;
			gcheap_free(t->objs[i]);
			t->errors += errno != 0;
			t->objs[i] = NULL;
		}
	}
	t->nobjs = LIB_TEST_PER_THREAD;
	/* The thread's cache goes back when it exits. */
	return NULL;
}

static void lib_test_threads(struct kunit *test)
{
	struct lib_thread threads[LIB_TEST_THREADS];
	struct gcheap_heap_stats before, after;
	unsigned long live = 0;
	unsigned int i, j, n, bad = 0;
	u64 mallocs = 0, frees = 0, bytes = 0;

	lib_stats(test, &before);
	for (i = 0; i < LIB_TEST_THREADS; i++) {
		threads[i] = (struct lib_thread){ .id = i + 1 };
		threads[i].objs = kunit_kcalloc(test, LIB_TEST_PER_THREAD,
						sizeof(void *), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, threads[i].objs);
	}
	for (i = 0; i < LIB_TEST_THREADS; i++)
		KUNIT_ASSERT_EQ(test, pthread_create(&threads[i].tid, NULL,
						     lib_thread_main, &threads[i]), 0);
	for (i = 0; i < LIB_TEST_THREADS; i++) {
		KUNIT_ASSERT_EQ(test, pthread_join(threads[i].tid, NULL), 0);
		KUNIT_EXPECT_EQ_MSG(test, threads[i].errors, 0u, "thread %u", i + 1);
	}

	/* What the threads kept is intact; the statistics add up. */
	for (i = 0; i < LIB_TEST_THREADS; i++)
		for (j = 0; j < threads[i].nobjs; j++)
			if (threads[i].objs[j]) {
				live++;
				bad += !lib_tagged(threads[i].objs[j],
						   lib_thread_size(j),
						   (i + 1) << 24 | j);
			}
	KUNIT_EXPECT_EQ(test, bad, 0u);
	KUNIT_EXPECT_EQ(test, live, (unsigned long)LIB_TEST_THREADS * LIB_TEST_PER_THREAD / 2);

	n = lib_stats(test, &after);
	KUNIT_EXPECT_EQ(test, after.cached_spans, 0ULL);
	KUNIT_EXPECT_EQ(test, after.heap_objects, after.mallocs - after.frees);
	KUNIT_EXPECT_EQ(test, after.heap_objects - before.heap_objects, (u64)live);
	KUNIT_EXPECT_EQ(test, after.mallocs - before.mallocs,
			(u64)LIB_TEST_THREADS * LIB_TEST_PER_THREAD);
	KUNIT_EXPECT_EQ(test, after.heap_inuse + after.heap_idle, after.heap_sys);
	KUNIT_EXPECT_LE(test, after.heap_alloc, after.heap_inuse);
	KUNIT_EXPECT_GT(test, after.resident, 0ULL);
	KUNIT_EXPECT_LE(test, after.resident, after.heap_sys);
	KUNIT_EXPECT_EQ(test, after.bad_frees, 0ULL);
	for (i = 0; i < n; i++) {
		mallocs += lib_rows[i].mallocs;
		frees += lib_rows[i].frees;
		bytes += lib_rows[i].bytes_inuse;
	}
	KUNIT_EXPECT_EQ(test, mallocs, after.mallocs);
	KUNIT_EXPECT_EQ(test, frees, after.frees);
	KUNIT_EXPECT_EQ(test, bytes, after.heap_alloc);

	/* Objects of other threads' spans are freed from this one. */
	errno = 0;
	for (i = 0; i < LIB_TEST_THREADS; i++)
		for (j = 0; j < threads[i].nobjs; j++)
			gcheap_free(threads[i].objs[j]);
	KUNIT_EXPECT_EQ(test, errno, 0);
	lib_stats(test, &after);
	KUNIT_EXPECT_EQ(test, after.heap_objects, before.heap_objects);
}

static void lib_test_stats(struct kunit *test)
{
	struct gcheap_heap_stats s0, s1;
	u64 mallocs0, frees0;
	void *objs[1000];
	unsigned int i, c = 0;

	lib_stats(test, &s0);
	for (i = 1; i < LIB_TEST_MAX_CLASSES && !c; i++)
		if (lib_rows[i].elemsize == 48)
			c = i;
	KUNIT_ASSERT_NE(test, c, 0u);
	mallocs0 = lib_rows[c].mallocs;
	frees0 = lib_rows[c].frees;

	for (i = 0; i < ARRAY_SIZE(objs); i++) {
		objs[i] = gcheap_malloc(41);
		KUNIT_ASSERT_NOT_NULL(test, objs[i]);
	}
	/* Counted once the span goes back: lib_stats() flushes. */
	lib_stats(test, &s1);
	KUNIT_EXPECT_EQ(test, s1.mallocs - s0.mallocs, 1000ULL);
	KUNIT_EXPECT_EQ(test, s1.heap_objects - s0.heap_objects, 1000ULL);
	KUNIT_EXPECT_EQ(test, s1.heap_alloc - s0.heap_alloc, 48000ULL);
	KUNIT_EXPECT_EQ(test, lib_rows[c].mallocs - mallocs0, 1000ULL);
	KUNIT_EXPECT_EQ(test, s1.heap_objects, s1.mallocs - s1.frees);

	for (i = 0; i < ARRAY_SIZE(objs); i++)
		gcheap_free(objs[i]);
	lib_stats(test, &s1);
	KUNIT_EXPECT_EQ(test, s1.frees - s0.frees, 1000ULL);
	KUNIT_EXPECT_EQ(test, lib_rows[c].frees - frees0, 1000ULL);
	KUNIT_EXPECT_EQ(test, s1.heap_objects, s0.heap_objects);
	KUNIT_EXPECT_EQ(test, s1.heap_alloc, s0.heap_alloc);
}

/*
 * After a collection that leaves sweeping lazy, the backend's worker sweeps
 * in the background, as the module's sweeper does: the spans get swept
 * while the program allocates nothing.
 */
static void lib_test_background_sweep(struct kunit *test)
{
	struct mheap *h = hosted_direct_heap();
	unsigned int i;
	u64 unswept;

	KUNIT_ASSERT_NOT_NULL(test, h);
	for (i = 0; i < 2000; i++)
		KUNIT_ASSERT_NOT_NULL(test, gcheap_malloc(3000));
	KUNIT_ASSERT_EQ(test, gcheap_gc_lazy(), 0);
	for (i = 0; i < 10000; i++) {
		mutex_lock(&h->lock);
		unswept = h->gc.unswept;
		mutex_unlock(&h->lock);
		if (!unswept)
			break;
		usleep(1000);
	}
	KUNIT_EXPECT_EQ(test, unswept, 0ULL);
}

static sem_t lib_exit_ready;

/* A registered thread that blocks every signal, then exits. */
static void *lib_exit_blocked(void *arg)
{
	sigset_t all;

	if (!gcheap_malloc(16))
		return NULL;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	sem_post(&lib_exit_ready);
	usleep(50000);	/* a collection is waiting for it meanwhile */
	return arg;
}

static void *lib_exit_collect(void *arg)
{
	return (void *)(intptr_t)gcheap_gc();
}

/*
 * A thread leaving with every signal blocked (as a thread-exit destructor
 * of another library may leave it) while a collection waits for it to
 * stop: it takes the stop signal while it waits for the registry, and the
 * collection ends. Before, both waited for good.
 */
static void lib_test_exit_signals_blocked(struct kunit *test)
{
	struct timespec until;
	pthread_t t, gc;
	void *got;

	KUNIT_ASSERT_EQ(test, sem_init(&lib_exit_ready, 0, 0), 0);
	KUNIT_ASSERT_EQ(test, pthread_create(&t, NULL, lib_exit_blocked, test), 0);
	KUNIT_ASSERT_EQ(test, sem_wait(&lib_exit_ready), 0);
	KUNIT_ASSERT_EQ(test, pthread_create(&gc, NULL, lib_exit_collect, NULL), 0);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 60;
	KUNIT_ASSERT_EQ(test, pthread_timedjoin_np(gc, &got, &until), 0);
	KUNIT_EXPECT_EQ(test, (intptr_t)got, 0);
	KUNIT_ASSERT_EQ(test, pthread_timedjoin_np(t, &got, &until), 0);
	KUNIT_EXPECT_PTR_EQ(test, got, (void *)test);
	sem_destroy(&lib_exit_ready);
}

/* The direct backend answers as the module's ioctls do (main.c). */
static void lib_test_backend(struct kunit *test)
{
	struct {
		struct gcheap_api api;
		u64 tail;
	} big = { .api = { .size = sizeof(big) } };
	struct gcheap_size_class table[MHEAP_NUM_CLASSES];
	struct gcheap_class_stats rows[MHEAP_NUM_CLASSES];
	struct gcheap_size_classes sc = { .size = sizeof(sc) };
	struct gcheap_refill r = { .size = sizeof(r) };
	struct gcheap_stats st = { .size = sizeof(st) };
	struct gcheap_api api = { .size = 8 };
	void *base;

	/* Struct sizes: too short, longer with a zero tail, non-zero tail. */
	KUNIT_EXPECT_EQ(test, gcheap_sys_api(&api), -EINVAL);
	KUNIT_EXPECT_EQ(test, gcheap_sys_api(&big.api), 0);
	KUNIT_EXPECT_EQ(test, big.api.api_version, (u32)GCHEAP_API_VERSION);
	KUNIT_EXPECT_EQ(test, big.api.arena_max, 64ULL << 30);
	KUNIT_EXPECT_NE(test, big.api.arena_base, 0ULL);
	big.tail = 1;
	KUNIT_EXPECT_EQ(test, gcheap_sys_api(&big.api), -E2BIG);
	api.size = sizeof(api);
	api.flags = 1;
	KUNIT_EXPECT_EQ(test, gcheap_sys_api(&api), -EINVAL);

	/* Tables too short: -ENOSPC and the count needed. */
	sc.table = (uintptr_t)table;
	KUNIT_EXPECT_EQ(test, gcheap_sys_size_classes(&sc), -ENOSPC);
	KUNIT_EXPECT_EQ(test, sc.count, (u32)MHEAP_NUM_CLASSES);
	KUNIT_EXPECT_EQ(test, gcheap_sys_size_classes(&sc), 0);
	KUNIT_EXPECT_EQ(test, table[1].size, 8u);
	st.by_class = (uintptr_t)rows;
	st.nclasses = 2;
	KUNIT_EXPECT_EQ(test, gcheap_sys_stats(&st), -ENOSPC);
	KUNIT_EXPECT_EQ(test, st.nclasses, (u32)MHEAP_NUM_CLASSES);
	KUNIT_EXPECT_EQ(test, gcheap_sys_stats(&st), 0);
	KUNIT_EXPECT_EQ(test, rows[1].elemsize, 8u);

	/* One arena per heap; the operations check their arguments. */
	KUNIT_EXPECT_EQ(test, gcheap_sys_map(1 << 20, &base), -EBUSY);
	KUNIT_EXPECT_EQ(test, gcheap_sys_map(4096, &base), -EINVAL);
	KUNIT_EXPECT_EQ(test, gcheap_sys_map((64ULL << 30) + 8192, &base), -EFBIG);
	r.spanclass = 1;
	KUNIT_EXPECT_EQ(test, gcheap_sys_refill(&r), -EINVAL);
	KUNIT_EXPECT_EQ(test, gcheap_sys_fd(), -ENODEV);
}

/*
 * Automatic collections, concurrent as by default: the backend's worker
 * thread marks beside the program, with the arena's writes tracked by
 * userfaultfd (stop-the-world where the kernel cannot). Lists hang from a
 * global, since the data and bss are roots and ASan's fake stacks are not;
 * each is replaced again and again, and the others must read back intact.
 */
#define LIB_CONC_LISTS		4
#define LIB_CONC_LEN		4000
#define LIB_CONC_ROUNDS		400

struct lib_conc_node {
	struct lib_conc_node *next;
	u64 val;
	u64 pad[2];
};

static struct lib_conc_node *lib_conc_lists[LIB_CONC_LISTS];
static unsigned int lib_conc_round[LIB_CONC_LISTS];

static bool lib_conc_intact(unsigned int l)
{
	const struct lib_conc_node *n = lib_conc_lists[l];
	u64 base = (u64)lib_conc_round[l] * LIB_CONC_LEN;
	unsigned int i;

	for (i = LIB_CONC_LEN; i-- > 0; n = n->next)
		if (!n || n->val != base + i || n->pad[0] != ~n->val)
			return false;
	return !n;
}

static void lib_test_concurrent(struct kunit *test)
{
	struct gcheap_memstats ms0, ms1;
	unsigned int round, l, i, bad = 0;
	int old;

	KUNIT_ASSERT_EQ(test, gcheap_get_stats(&ms0), 0);
	old = gcheap_set_gc_percent(100);
	KUNIT_ASSERT_GE(test, old, -1);
	for (round = 0; round < LIB_CONC_ROUNDS; round++) {
		l = round % LIB_CONC_LISTS;
		lib_conc_lists[l] = NULL;
		lib_conc_round[l] = round;
		for (i = 0; i < LIB_CONC_LEN; i++) {
			struct lib_conc_node *n = gcheap_malloc(sizeof(*n));

			KUNIT_ASSERT_NOT_NULL(test, n);
			n->val = (u64)round * LIB_CONC_LEN + i;
			n->pad[0] = ~n->val;
			n->next = lib_conc_lists[l];
			lib_conc_lists[l] = n;
		}
		for (l = 0; l < LIB_CONC_LISTS && l <= round; l++)
			bad += !lib_conc_intact(l);
	}
	gcheap_set_gc_percent(old);
	KUNIT_EXPECT_EQ(test, bad, 0u);
	KUNIT_ASSERT_EQ(test, gcheap_get_stats(&ms1), 0);
	/* 51 MB allocated, 0.5 MB live: a collection every few MB. */
	KUNIT_EXPECT_GE(test, ms1.num_gc - ms0.num_gc, 5ULL);
	KUNIT_EXPECT_EQ(test, ms1.heap_objects, ms1.mallocs - ms1.frees);
	for (l = 0; l < LIB_CONC_LISTS; l++)
		lib_conc_lists[l] = NULL;
}

/*
 * Finalizers over the direct backend: queued by a collection, read by a
 * thread blocked in gcheap_sys_read_final() (woken through the backend's
 * eventfd) and by gcheap_run_finalizers(), each once.
 */
/* Pointers kept XORed with this are no references. */
#define LIB_FINAL_KEY	0xa5a5000000000000ULL

static uintptr_t lib_final_hidden[8];
static int lib_final_ran;

static void lib_final_fn(void *obj, void *arg)
{
	if ((uintptr_t)obj == ((uintptr_t)arg ^ LIB_FINAL_KEY))
		__atomic_fetch_add(&lib_final_ran, 1, __ATOMIC_SEQ_CST);
}

static void *lib_final_reader(void *p)
{
	struct gcheap_final *rec = p;

	return (void *)(intptr_t)gcheap_sys_read_final(rec, 1, true);
}

static __attribute__((__noinline__)) void lib_final_make(struct kunit *test,
						     unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		void *o = gcheap_malloc(64);

		KUNIT_ASSERT_NOT_NULL(test, o);
		KUNIT_ASSERT_EQ(test, gcheap_register_finalizer(o, lib_final_fn,
				(void *)((uintptr_t)o ^ LIB_FINAL_KEY)), 0);
		lib_final_hidden[i] = (uintptr_t)o ^ LIB_FINAL_KEY;
	}
}

/*
 * Overwrite the stack below the caller, where dead frames kept pointers.
 * Not instrumented: ASan would move the buffer to its fake stack, and the
 * frames left on the real one (special_set()'s request, the object's
 * address in it, was one) would keep their stale words.
 */
static __attribute__((__noinline__, no_sanitize_address)) int lib_final_gc(void)
{
	volatile char buf[32 << 10];

	memset((char *)buf, 0, sizeof(buf));
	return gcheap_gc();
}

static void lib_test_finalizers(struct kunit *test)
{
	struct gcheap_final rec = { 0 };
	struct timespec until;
	unsigned int round;
	pthread_t t;
	void *got;
	int ran = 0;

	setenv("GCHEAP_FINALIZER_THREAD", "0", 1);
	KUNIT_ASSERT_EQ(test, pthread_create(&t, NULL, lib_final_reader, &rec), 0);
	lib_final_make(test, 1);
	/* A stale word may keep it a cycle or two. */
	for (round = 0; round < 10 && !__atomic_load_n(&rec.addr, __ATOMIC_ACQUIRE);
	     round++) {
		KUNIT_ASSERT_EQ(test, lib_final_gc(), 0);
		usleep(10000);
	}
	/* A reader never woken fails the case instead of hanging it. */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	KUNIT_ASSERT_EQ(test, pthread_timedjoin_np(t, &got, &until), 0);
	KUNIT_EXPECT_EQ(test, (intptr_t)got, 1);
	KUNIT_EXPECT_EQ(test, rec.addr, (u64)(lib_final_hidden[0] ^ LIB_FINAL_KEY));
	KUNIT_EXPECT_EQ(test, rec.fn, (u64)(uintptr_t)lib_final_fn);

	lib_final_make(test, 8);
	for (round = 0; round < 10 && ran < 8; round++) {
		KUNIT_ASSERT_EQ(test, lib_final_gc(), 0);
		ran += gcheap_run_finalizers();
	}
	/* A stale word in a register may keep one; each that ran, ran once. */
	KUNIT_EXPECT_GE(test, ran, 6);
	KUNIT_EXPECT_EQ(test, lib_final_ran, ran);
	KUNIT_EXPECT_EQ(test, gcheap_run_finalizers(), 0);
}

static void *lib_prof_keep[100];

static __attribute__((__noinline__)) int lib_prof_alloc(void)
{
	unsigned int i;

	for (i = 0; i < 100; i++)
		if (!(lib_prof_keep[i] = gcheap_malloc(64)))
			return -1;
	return 0;
}

/* The totals of the profile, written to @path: 0 or -1. */
static int lib_prof_totals(const char *path, unsigned long *v, size_t *rate)
{
	FILE *f = fopen(path, "w+");
	int ret = -1;

	if (!f)
		return -1;
	if (!gcheap_write_heap_profile(f)) {
		rewind(f);
		if (fscanf(f, "heap profile: %lu: %lu [%lu: %lu] @ heap_v2/%zu",
			   &v[0], &v[1], &v[2], &v[3], rate) == 5)
			ret = 0;
	}
	fclose(f);
	return ret;
}

/*
 * At a rate of 1 every allocation is in the profile (the earlier cases'
 * samples at the default rate are in it too); gperftools' pprof, when
 * installed, reads it and names the function that allocated.
 */
static void lib_test_profile(struct kunit *test)
{
	char path[] = "/tmp/gcheap-profile-XXXXXX", cmd[256], out[4096];
	unsigned long before[4], after[4];
	size_t rate, old, n;
	FILE *f;
	int fd;

	fd = mkstemp(path);
	KUNIT_ASSERT_GE(test, fd, 0);
	close(fd);
	KUNIT_ASSERT_EQ(test, lib_prof_totals(path, before, &rate), 0);
	old = gcheap_set_profile_rate(1);
	KUNIT_ASSERT_EQ(test, lib_prof_alloc(), 0);
	gcheap_set_profile_rate(old);
	KUNIT_ASSERT_EQ(test, lib_prof_totals(path, after, &rate), 0);
	KUNIT_EXPECT_EQ(test, after[0] - before[0], 100UL);
	KUNIT_EXPECT_EQ(test, after[1] - before[1], 6400UL);
	KUNIT_EXPECT_EQ(test, after[2] - before[2], 100UL);
	KUNIT_EXPECT_EQ(test, after[3] - before[3], 6400UL);
	KUNIT_EXPECT_EQ(test, rate, old);
	memset(lib_prof_keep, 0, sizeof(lib_prof_keep));

	if (system("command -v google-pprof >/dev/null 2>&1")) {
		unlink(path);
		kunit_skip(test, "google-pprof (google-perftools) not installed");
	}
	snprintf(cmd, sizeof(cmd),
		 "google-pprof --text /proc/%d/exe %s 2>/dev/null", getpid(),
		 path);
	f = popen(cmd, "r");
	KUNIT_ASSERT_NOT_NULL(test, f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = 0;
	pclose(f);
	unlink(path);
	KUNIT_EXPECT_NOT_NULL(test, strstr(out, "lib_prof_alloc"));
}

/* A known graph: a chain of 100 nodes, and a 1 MiB object held by node 50. */
struct lib_dump_node {
	struct lib_dump_node *next;
	void *blob;
	uint64_t pad[6];
};

static struct lib_dump_node *lib_dump_head;

static __attribute__((__noinline__)) int lib_dump_build(void **blob)
{
	struct lib_dump_node *n;
	unsigned int i;

	for (i = 0; i < 100; i++) {
		n = gcheap_malloc(sizeof(*n));
		if (!n)
			return -1;
		n->next = lib_dump_head;
		lib_dump_head = n;
		if (i == 49) {
			n->blob = gcheap_malloc_atomic(1 << 20);
			if (!n->blob)
				return -1;
			*blob = n->blob;
		}
	}
	return 0;
}

/* Run tools/gcheap-dump; its output in @out. 0 or -1. */
static int lib_dump_tool(const char *args, char *out, size_t len)
{
	char cmd[512];
	size_t n;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "python3 ../tools/gcheap-dump %s 2>&1", args);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	n = fread(out, 1, len - 1, f);
	out[n] = 0;
	return pclose(f) ? -1 : 0;
}

/*
 * A dump read back by tools/gcheap-dump: the summary counts the chain and
 * finds the 1 MiB object retained by the chain's head; the graph of its
 * retainers runs back along the chain.
 */
static void lib_test_dump(struct kunit *test)
{
	char path[] = "/tmp/gcheap-dump-XXXXXX", args[256];
	static char out[65536];
	void *blob = NULL;
	size_t len = 0;
	FILE *f;
	int fd;

	KUNIT_ASSERT_EQ(test, lib_dump_build(&blob), 0);
	errno = 0;
	KUNIT_EXPECT_EQ(test, gcheap_dump_heap(NULL, &len), -1);
	KUNIT_EXPECT_EQ(test, errno, ENOSPC);
	KUNIT_EXPECT_GT(test, len, (size_t)100 * 24);
	fd = mkstemp(path);
	KUNIT_ASSERT_GE(test, fd, 0);
	f = fdopen(fd, "w");
	KUNIT_ASSERT_NOT_NULL(test, f);
	KUNIT_ASSERT_EQ(test, gcheap_write_heap_dump(f), 0);
	fclose(f);

	KUNIT_ASSERT_EQ(test, lib_dump_tool(path, out, sizeof(out)), 0);
	KUNIT_EXPECT_NOT_NULL(test, strstr(out, "retaining the most bytes:"));
	snprintf(args, sizeof(args), "0x%lx 1048576 bytes, noscan, 0 pointers",
		 (unsigned long)(uintptr_t)blob);
	KUNIT_EXPECT_NOT_NULL(test, strstr(out, args));
	/* The head retains the whole chain and the blob. */
	snprintf(args, sizeof(args), "0x%lx retains %lu bytes",
		 (unsigned long)(uintptr_t)lib_dump_head,
		 (unsigned long)(100 * sizeof(struct lib_dump_node) + (1 << 20)));
	KUNIT_EXPECT_NOT_NULL(test, strstr(out, args));

	snprintf(args, sizeof(args), "%s --retainers 0x%lx --depth 3", path,
		 (unsigned long)(uintptr_t)blob + 100);
	KUNIT_ASSERT_EQ(test, lib_dump_tool(args, out, sizeof(out)), 0);
	KUNIT_EXPECT_NOT_NULL(test, strstr(out, "digraph retainers"));
	/* blob <- node 50 <- node 51 <- node 52: three edges. */
	{
		unsigned int edges = 0;
		const char *p;

		for (p = strstr(out, " -> "); p; p = strstr(p + 1, " -> "))
			edges++;
		KUNIT_EXPECT_EQ(test, edges, 3u);
	}
	unlink(path);
	lib_dump_head = NULL;
}

/*
 * gcheap_free_os_memory() over the direct backend: 64 MiB in 64 KiB blocks
 * hung from a global, dropped, then given back. The blocks are many so that
 * a stale pointer on the stack keeps at most a few of them.
 */
#define LIB_MEM_BLOCKS		1024
#define LIB_MEM_BLOCK		(64 << 10)

static char *lib_mem_blocks[LIB_MEM_BLOCKS];

static long lib_rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void lib_test_free_os_memory(struct kunit *test)
{
	struct gcheap_memstats ms;
	long full, after;
	unsigned int i;

	for (i = 0; i < LIB_MEM_BLOCKS; i++) {
		lib_mem_blocks[i] = gcheap_malloc(LIB_MEM_BLOCK);
		KUNIT_ASSERT_NOT_NULL(test, lib_mem_blocks[i]);
		memset(lib_mem_blocks[i], 0x5a, LIB_MEM_BLOCK);
	}
	full = lib_rss_kb();
	KUNIT_ASSERT_GT(test, full, 64L << 10);
	for (i = 0; i < LIB_MEM_BLOCKS; i++)
		lib_mem_blocks[i] = NULL;
	KUNIT_ASSERT_EQ(test, gcheap_free_os_memory(), 0);
	after = lib_rss_kb();
	KUNIT_ASSERT_EQ(test, gcheap_get_stats(&ms), 0);
	/* All but a few blocks are given back, and counted so. */
	KUNIT_EXPECT_GE(test, ms.heap_released, 56ULL << 20);
	KUNIT_EXPECT_LE(test, after, full - (48L << 10));
	/* Memory given back comes again zeroed. */
	lib_mem_blocks[0] = gcheap_malloc(LIB_MEM_BLOCK);
	KUNIT_ASSERT_NOT_NULL(test, lib_mem_blocks[0]);
	KUNIT_EXPECT_TRUE(test, lib_all_zero(lib_mem_blocks[0], LIB_MEM_BLOCK));
	lib_mem_blocks[0] = NULL;
}

static struct kunit_case lib_test_cases[] = {
	KUNIT_CASE(lib_test_setup),
	KUNIT_CASE(lib_test_backend),
	KUNIT_CASE(lib_test_every_class),
	KUNIT_CASE(lib_test_reuse_neighbours),
	KUNIT_CASE(lib_test_large),
	KUNIT_CASE(lib_test_errors),
	KUNIT_CASE(lib_test_threads),
	KUNIT_CASE(lib_test_exit_signals_blocked),
	KUNIT_CASE(lib_test_stats),
	KUNIT_CASE(lib_test_background_sweep),
	KUNIT_CASE(lib_test_concurrent),
	KUNIT_CASE(lib_test_finalizers),
	KUNIT_CASE(lib_test_profile),
	KUNIT_CASE(lib_test_dump),
	KUNIT_CASE(lib_test_free_os_memory),
	{}
};

static struct kunit_suite lib_test_suite = {
	.name = "hosted_libgcheap",
	.init = lib_test_init,
	.exit = lib_test_exit,
	.test_cases = lib_test_cases,
	/* The heap and its metadata live as long as the process. */
	.hosted_keeps_memory = true,
};

kunit_test_suites(&lib_test_suite);
