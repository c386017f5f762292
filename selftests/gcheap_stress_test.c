// SPDX-License-Identifier: GPL-2.0
/*
 * gcheap_stress_test: 4 threads x 1,000,000 allocations of mixed sizes
 * through libgcheap.
 *
 * Every object must come back zeroed and must not overlap any other live
 * object. Each thread keeps a ring of live objects; every new object replaces
 * a random one, which is verified and then freed (or, for small objects,
 * sometimes left allocated: explicit frees are system calls, and leaving some
 * keeps the run short while the live set stays bounded, about 100 MB). Each
 * object carries a stamp of its owner and sequence number in its first 64
 * bytes, every 64th byte after and its last word: two live objects that
 * overlapped by a single word would overwrite one of the stamps (see
 * stamp_obj()). At the end, every object still live is checked against all
 * others with a sorted interval check, and the kernel's statistics must count
 * exactly the objects the test holds.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"

#include "gcheap.h"
#include "gcheap_util.h"

GH_REQUIRE_DEVICE();
GH_NO_AUTO_GC();

#define NTHREADS	4
#define NALLOCS		1000000
#define RING		2048
/* How often a thread checks gcheap_base()/gcheap_size() of a new object. */
#define LOOKUP_EVERY	4096

struct obj {
	uint64_t *p;
	uint32_t words;		/* requested size rounded up to 8, in words */
	uint32_t seq;
};

struct worker {
	unsigned int id;
	pthread_t tid;
	struct obj ring[RING];
	struct obj *kept;	/* small objects left allocated */
	size_t nkept, kept_cap;
	uint64_t freed;
	uint64_t errors;
	char first_error[200];
};

static inline uint64_t obj_tag(unsigned int thread, uint32_t seq)
{
	return (uint64_t)(thread + 1) << 48 | seq;
}

static inline uint64_t stamp_at(uint64_t tag, size_t k)
{
	return tag ^ (k * 0x9E3779B97F4A7C15ULL);
}

/*
 * Stamp the first 8 words, every 8th word after, and the last word. If two
 * live objects A < B overlapped, B's start lies inside A: if the overlap is
 * 64 bytes or more, B's first 8 words cover one of A's every-8th words; if it
 * is shorter, A's last word lies among B's first 8. Either way one stamp is
 * overwritten by the other object's, which verification catches.
 */
static void stamp_obj(const struct obj *o, uint64_t tag)
{
	size_t k;

	for (k = 0; k < o->words && k < 8; k++)
		o->p[k] = stamp_at(tag, k);
	for (k = 8; k < o->words; k += 8)
		o->p[k] = stamp_at(tag, k);
	o->p[o->words - 1] = stamp_at(tag, o->words - 1);
}

static bool stamp_ok(const struct obj *o, uint64_t tag)
{
	size_t k;

	for (k = 0; k < o->words && k < 8; k++)
		if (o->p[k] != stamp_at(tag, k))
			return false;
	for (k = 8; k < o->words; k += 8)
		if (o->p[k] != stamp_at(tag, k))
			return false;
	return o->p[o->words - 1] == stamp_at(tag, o->words - 1);
}

static void fail(struct worker *w, const char *what, const void *p,
		 size_t size)
{
	if (!w->errors++)
		snprintf(w->first_error, sizeof(w->first_error),
			 "thread %u: %s (object %p, %zu bytes, errno %d)",
			 w->id, what, p, size, errno);
}

/*
 * Mostly small objects, as real programs allocate: 80% up to 64 bytes,
 * 15% up to 1 KiB, 4.9% up to 32 KiB (every small class), 0.1% large
 * objects up to 256 KiB.
 */
static size_t pick_size(uint64_t *rng)
{
	uint64_t r = gh_rand(rng);
	unsigned int bucket = r % 1000;

	r >>= 10;
	if (bucket < 800)
		return 1 + r % 64;
	if (bucket < 950)
		return 65 + r % (1024 - 64);
	if (bucket < 999)
		return 1025 + r % (GCHEAP_MAX_SMALL_SIZE - 1024);
	return GCHEAP_MAX_SMALL_SIZE + 1 + r % (256 * 1024);
}

static void keep(struct worker *w, const struct obj *o)
{
	if (w->nkept == w->kept_cap) {
		size_t cap = w->kept_cap ? 2 * w->kept_cap : 65536;
		struct obj *k = realloc(w->kept, cap * sizeof(*k));

		if (!k) {
			fail(w, "out of test memory", NULL, 0);
			return;
		}
		w->kept = k;
		w->kept_cap = cap;
	}
	w->kept[w->nkept++] = *o;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	uint64_t rng = 0x1234567ULL * (w->id + 1);
	uint32_t seq;

	for (seq = 0; seq < NALLOCS; seq++) {
		size_t size = pick_size(&rng);
		bool noscan = gh_rand(&rng) & 1;
		struct obj o = { .words = (size + 7) / 8, .seq = seq };
		struct obj *slot = &w->ring[gh_rand(&rng) % RING];
		size_t k;

		o.p = noscan ? gcheap_malloc_atomic(size) : gcheap_malloc(size);
		if (!o.p) {
			fail(w, "allocation failed", NULL, size);
			continue;
		}
		if ((uintptr_t)o.p % 8)
			fail(w, "misaligned", o.p, size);
		for (k = 0; k < o.words; k++) {
			if (o.p[k]) {
				fail(w, "not zeroed", o.p, size);
				break;
			}
		}
		stamp_obj(&o, obj_tag(w->id, seq));
		if (seq % LOOKUP_EVERY == 0) {
			if (gcheap_base((char *)o.p + size - 1) != o.p)
				fail(w, "gcheap_base of the last byte", o.p, size);
			if (gcheap_size(o.p) < size)
				fail(w, "gcheap_size too small", o.p, size);
		}

		if (slot->p) {
			if (!stamp_ok(slot, obj_tag(w->id, slot->seq)))
				fail(w, "stamp overwritten", slot->p,
				     slot->words * 8);
			if (slot->words <= 8 && gh_rand(&rng) % 4) {
				keep(w, slot);
			} else {
				errno = 0;
				gcheap_free(slot->p);
				if (errno)
					fail(w, "free failed", slot->p,
					     slot->words * 8);
				w->freed++;
			}
		}
		*slot = o;
	}
	return NULL;
}

static int cmp_obj(const void *a, const void *b)
{
	const struct obj *x = a, *y = b;

	return x->p < y->p ? -1 : x->p > y->p;
}

FIXTURE(stress) {
	struct worker w[NTHREADS];
};

FIXTURE_SETUP(stress)
{
}

FIXTURE_TEARDOWN(stress)
{
	unsigned int t;

	for (t = 0; t < NTHREADS; t++)
		free(self->w[t].kept);
}

/* Generous for a slow guest; the test takes seconds natively. */
TEST_F_TIMEOUT(stress, four_threads_mixed_sizes, 600)
{
	struct gcheap_heap_stats st;
	struct obj *all;
	uint64_t live = 0, freed = 0;
	size_t n = 0, i;
	unsigned int t;

	ASSERT_EQ(0, gcheap_init()) TH_LOG("gcheap_init: %s", strerror(errno));
	for (t = 0; t < NTHREADS; t++) {
		self->w[t].id = t;
		ASSERT_EQ(0, pthread_create(&self->w[t].tid, NULL, worker_run,
					    &self->w[t]));
	}
	for (t = 0; t < NTHREADS; t++)
		ASSERT_EQ(0, pthread_join(self->w[t].tid, NULL));
	for (t = 0; t < NTHREADS; t++) {
		EXPECT_EQ(0, self->w[t].errors)
			TH_LOG("%llu errors, first: %s",
			       (unsigned long long)self->w[t].errors,
			       self->w[t].first_error);
	}
	ASSERT_TRUE(_metadata->passed);

	/* Everything still live: its stamp intact, no two overlapping. */
	for (t = 0; t < NTHREADS; t++)
		live += self->w[t].nkept + RING;
	all = malloc(live * sizeof(*all));
	ASSERT_NE(NULL, all);
	for (t = 0; t < NTHREADS; t++) {
		struct worker *w = &self->w[t];

		for (i = 0; i < RING; i++) {
			ASSERT_NE(NULL, w->ring[i].p);
			all[n++] = w->ring[i];
			ASSERT_TRUE(stamp_ok(&w->ring[i],
					     obj_tag(t, w->ring[i].seq)));
		}
		for (i = 0; i < w->nkept; i++) {
			all[n++] = w->kept[i];
			ASSERT_TRUE(stamp_ok(&w->kept[i],
					     obj_tag(t, w->kept[i].seq)));
		}
		freed += w->freed;
	}
	qsort(all, n, sizeof(*all), cmp_obj);
	for (i = 1; i < n; i++) {
		ASSERT_LE((uintptr_t)(all[i - 1].p + all[i - 1].words),
			  (uintptr_t)all[i].p)
			TH_LOG("objects %p (%u bytes) and %p overlap",
			       all[i - 1].p, all[i - 1].words * 8, all[i].p);
	}
	free(all);

	/*
	 * The threads exited, so their spans went back: the kernel counts
	 * exactly the test's objects.
	 */
	ASSERT_LT(0, gcheap_heap_stats(&st, NULL, 0));
	EXPECT_EQ(0, st.cached_spans);
	EXPECT_EQ((uint64_t)NTHREADS * NALLOCS, st.mallocs);
	EXPECT_EQ(freed, st.frees);
	EXPECT_EQ(live, st.heap_objects);
	EXPECT_EQ(0, st.bad_frees);
	TH_LOG("%llu objects live, %llu freed; heap %llu MiB in use, %llu MiB resident",
	       (unsigned long long)live, (unsigned long long)freed,
	       (unsigned long long)(st.heap_inuse >> 20),
	       (unsigned long long)(st.resident >> 20));
}

TEST_HARNESS_MAIN
