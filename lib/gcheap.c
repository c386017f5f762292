// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libgcheap: the allocation fast path, the per-thread span caches and the
 * public API of gcheap.h.
 *
 * The kernel owns the heap: its pages, spans and every piece of metadata.
 * What the library owns is a per-thread cache (Go's mcache) holding, per span
 * class, one span the kernel handed out with GCHEAP_IOC_REFILL together with
 * the bitmap of its free slots. A small allocation takes the next set bit of
 * that bitmap (Go's nextFreeFast) with no system call, no lock and no atomic
 * operation: the cache is thread-local and the kernel never looks at it until
 * the span is given back. One REFILL per exhausted span gives the old span
 * back (with its bitmap: the slots whose bits were cleared are then counted as
 * allocated) and fetches the next. Large objects, explicit frees and lookups
 * are one system call each.
 *
 * Every kernel call goes through gcheap_sys.h, so the hosted build runs this
 * file unchanged over a backend that calls the heap code in-process.
 *
 * For a collection, another thread (gc.c) gives this thread's spans back
 * while this one is stopped by a signal. So that it never finds the cache
 * half-updated, every function here that changes the cache outside the fast
 * path does so inside tc_enter()/tc_leave(), and the fast path itself lies
 * in a section of its own; the stop signal's handler refuses to stop the
 * thread in either, and the collector asks again a moment later. Code that
 * may wait for a collection (registering the thread, running a collection
 * the kernel said is due) runs outside both.
 *
 * Sections: geometry and state; the thread cache; set-up; allocation; free
 * and lookup; statistics.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/gcheap.h>

#include "gcheap.h"
#include "gcheap_int.h"
#include "gcheap_sys.h"

/* ================ Geometry and state ================ */

/*
 * size -> size class, in two tables as Go's size_to_class8 and
 * size_to_class128: 8-byte steps up to 1024 bytes, 128-byte steps above.
 */
#define SMALL_STEP8_MAX		1024
#define CLASS8_LEN		(SMALL_STEP8_MAX / 8 + 1)
#define CLASS128_LEN		((GCHEAP_MAX_SMALL_SIZE - SMALL_STEP8_MAX) / 128 + 1)

/* The default arena is the module's largest, capped at this. */
#define ARENA_DEFAULT_MAX	(64ULL << 30)
/* When the address space is short, the default arena halves down to this. */
#define ARENA_DEFAULT_MIN	(64ULL << 20)

/*
 * Written during set-up, before any reader can get past pthread_once();
 * read-only afterwards, except that the fast path reads the class tables
 * without waiting for set-up: a zero entry (class 0) sends it to the slow
 * path, which waits. The tables are accessed with relaxed atomics so that
 * early read is well defined; on x86-64 they are plain byte moves.
 */
static uint8_t size_to_class8[CLASS8_LEN];
static uint8_t size_to_class128[CLASS128_LEN];

enum heap_opts_state {
	HEAP_OPTS_NONE,		/* set-up will use the defaults */
	HEAP_OPTS_SET,		/* gcheap_init_opts() left options for set-up */
	HEAP_OPTS_TAKEN,	/* set-up has started: too late for options */
};

struct gcheap_state gch_heap = {
	.once = PTHREAD_ONCE_INIT,
	.opts_lock = PTHREAD_MUTEX_INITIALIZER,
};

/* ================ The thread cache ================ */

__thread struct tc gch_tc __attribute__((tls_model("initial-exec")));

/*
 * The code of the inlined fast path (gcheap_malloc() and friends) lies in
 * this section, so that the stop signal's handler can tell from the
 * interrupted instruction whether the thread is between reading its cache
 * and writing it back (gch_in_fast_path()). GCC does not split functions
 * with a section of their own into hot and cold parts, so no piece of them
 * lands elsewhere; noinline keeps copies of them out of other functions.
 */
#define GCHEAP_FAST_SECTION \
	__attribute__((section("gcheap_fastpath"), noinline))
extern const char __start_gcheap_fastpath[] __attribute__((visibility("hidden")));
extern const char __stop_gcheap_fastpath[] __attribute__((visibility("hidden")));

bool gch_in_fast_path(uintptr_t pc)
{
	return pc >= (uintptr_t)__start_gcheap_fastpath &&
	       pc < (uintptr_t)__stop_gcheap_fastpath;
}

static inline unsigned int size_to_class(size_t size)
{
	const uint8_t *entry;

	if (size <= SMALL_STEP8_MAX)
		entry = &size_to_class8[(size + 7) >> 3];
	else
		entry = &size_to_class128[(size - SMALL_STEP8_MAX + 127) >> 7];
	return __atomic_load_n(entry, __ATOMIC_RELAXED);
}

static inline bool tc_slot_free(const struct tc_span *s, unsigned int idx)
{
	return s->free[idx / 64] & (1ULL << (idx % 64));
}

/*
 * Write the fast path's copy of the current word back into the bitmap of
 * cache @c: the calling thread's own, or a stopped thread's.
 */
static inline void tc_sync(struct tc *c, unsigned int spc)
{
	struct tc_span *s = &c->span[spc];

	if (s->cursor < s->nwords)
		s->free[s->cursor] = c->hot[spc].bits | s->held;
}

/*
 * Hand @bits, the free slots left in the current word of @s, to the fast
 * path's window @h. The heap profile samples an allocation every
 * gch_prof_rate bytes on average without a look from the fast path: a
 * word's bytes are counted when it is handed over, and a word holding the
 * next sample is handed over only up to the slot before it, so that the
 * fast path stops there and tc_next() takes the sampled slot.
 */
static void tc_window(struct tc_span *s, struct tc_hot *h, uint64_t bits)
{
	uint64_t n, k, win = 0;

	s->held = 0;
	h->bits = bits;
	if (!bits || !gch_prof_active())
		return;
	n = __builtin_popcountll(bits);
	k = (gch_tc.sample_left - 1) / s->elemsize;
	if (k >= n) {
		gch_tc.sample_left -= n * s->elemsize;
		return;
	}
	while (k--) {
		win |= bits & -bits;
		bits &= bits - 1;
	}
	h->bits = win;
	s->held = bits;
	s->sample_pending = 1;
	gch_tc.sample_left = gch_prof_interval();
}

/* Whether the slot tc_next() takes from @s is a heap-profile sample. */
static bool tc_sampled(struct tc_span *s)
{
	if (s->sample_pending) {
		s->sample_pending = 0;
		return gch_prof_active();
	}
	return gch_prof_take(s->elemsize);
}

/*
 * tc_next() - take the next free slot of the span cached for @spc, moving
 * the cursor past empty words and the fast path's window with it. Returns
 * NULL when the span is exhausted (or nothing is cached); *@sampled says
 * whether the heap profile samples the slot. gcheap_alloc() inlines the
 * common case of it.
 */
static void *tc_next(unsigned int spc, bool *sampled)
{
	struct tc_span *s = &gch_tc.span[spc];
	struct tc_hot *h = &gch_tc.hot[spc];
	unsigned int w;

	tc_sync(&gch_tc, spc);
	for (w = s->cursor; w < s->nwords; s->cursor = ++w) {
		uint64_t bits = s->free[w];

		if (likely(bits)) {
			unsigned int idx = w * 64 + __builtin_ctzll(bits);

			s->free[w] = bits & (bits - 1);
			*sampled = tc_sampled(s);
			tc_window(s, h, s->free[w]);
			h->wbase = s->base + (uintptr_t)w * 64 * s->elemsize;
			return (void *)(s->base + (uintptr_t)idx * s->elemsize);
		}
	}
	s->held = 0;
	h->bits = 0;
	return NULL;
}

static void tc_clear(struct tc *c, unsigned int spc)
{
	memset(&c->hot[spc], 0, sizeof(c->hot[spc]));
	memset(&c->span[spc], 0, sizeof(c->span[spc]));
	c->active[spc / 64] &= ~(1ULL << (spc % 64));
}

/* The bitmap to give back: the slots still free, of those handed out. */
static void tc_left_free(const struct tc_span *s, __u64 *out)
{
	unsigned int w;

	for (w = 0; w < TC_WORDS; w++)
		out[w] = s->free[w] & s->handed[w];
}

/*
 * tc_install() - take a span the kernel handed out into the cache, after
 * checking the reply: a pointer the library hands out must lie in the arena
 * and in a slot of the class asked for, whatever the backend said.
 */
static int tc_install(unsigned int spc, const struct gcheap_refill *r)
{
	const struct gcheap_size_class *c = &gch_heap.classes[spc >> 1];
	uint64_t span_bytes = (uint64_t)c->npages << GCHEAP_PAGE_SHIFT;
	struct tc_span *s = &gch_tc.span[spc];
	uint64_t any = 0;
	unsigned int w, nwords;

	if (r->elemsize != c->size || !r->nelems ||
	    r->nelems > gch_heap.api.span_max_elems ||
	    (uint64_t)r->nelems * r->elemsize > span_bytes ||
	    r->base % GCHEAP_PAGE_SIZE || r->base < gch_heap.arena_base ||
	    r->base > gch_heap.arena_end || gch_heap.arena_end - r->base < span_bytes)
		return EPROTO;

	nwords = (r->nelems + 63) / 64;
	for (w = 0; w < nwords; w++) {
		uint64_t bits = r->free[w];

		/* Bits past the span's end are meaningless: drop them. */
		if (w == nwords - 1 && r->nelems % 64)
			bits &= (1ULL << (r->nelems % 64)) - 1;
		s->free[w] = bits;
		s->handed[w] = bits;
		any |= bits;
	}
	if (!any)
		return EPROTO;

	s->base = r->base;
	s->elemsize = r->elemsize;
	s->nelems = r->nelems;
	s->cursor = 0;
	s->nwords = nwords;
	s->needzero = r->out_flags & GCHEAP_SPAN_NEEDZERO;
	/* tc_next() opens the fast path's window, after its first slot. */
	s->held = s->free[0];
	s->sample_pending = 0;
	gch_tc.hot[spc].bits = 0;
	gch_tc.hot[spc].wbase = s->base;
	gch_tc.hot[spc].elemsize = s->elemsize;
	gch_tc.hot[spc].needzero = s->needzero;
	gch_tc.active[spc / 64] |= 1ULL << (spc % 64);
	return 0;
}

/*
 * tc_refill() - give the exhausted span of @spc back and cache the next one.
 * Returns 0 or a positive errno. The kernel changes nothing when REFILL
 * fails, so on failure the old span stays cached (and exhausted), and the
 * next allocation of the class tries again. The caller is inside
 * tc_enter(); a reply saying a collection is due sets tc.gc_due, which the
 * allocation acts on once it has left the cache code.
 */
static int tc_refill(unsigned int spc)
{
	struct tc_span *s = &gch_tc.span[spc];
	struct gcheap_refill r = {
		.size = sizeof(r),
		.spanclass = spc,
	};
	int err;

	if (s->base) {
		r.old_base = s->base;
		tc_sync(&gch_tc, spc);
		tc_left_free(s, r.free);
	}
	err = -gcheap_sys_refill(&r);
	if (err)
		return err;
	tc_clear(&gch_tc, spc);
	if (!r.base)
		return EPROTO;
	err = tc_install(spc, &r);
	if (err) {
		/*
		 * Give the malformed span back as it came, so the kernel
		 * counts no allocation from it.
		 */
		struct gcheap_refill back = {
			.size = sizeof(back),
			.flags = GCHEAP_REFILL_RELEASE_ONLY,
			.spanclass = spc,
			.old_base = r.base,
		};

		memcpy(back.free, r.free, sizeof(back.free));
		gcheap_sys_refill(&back);
		tc_clear(&gch_tc, spc);
		return err;
	}
	if (unlikely(r.out_flags & GCHEAP_GC_DUE))
		gch_note_gc_due();
	return 0;
}

/*
 * tc_release() - give the span of @spc of cache @c back (RELEASE_ONLY). On
 * failure the span stays cached unless @force (a dying thread cannot keep
 * it). @c is the calling thread's cache, inside tc_enter(), or a thread's
 * that is stopped for a collection.
 */
static int tc_release(struct tc *c, unsigned int spc, bool force)
{
	struct tc_span *s = &c->span[spc];
	struct gcheap_refill r = {
		.size = sizeof(r),
		.flags = GCHEAP_REFILL_RELEASE_ONLY,
		.spanclass = spc,
		.old_base = s->base,
	};
	int err;

	tc_sync(c, spc);
	tc_left_free(s, r.free);
	err = -gcheap_sys_refill(&r);
	if (!err || force)
		tc_clear(c, spc);
	return err;
}

/**
 * gch_tc_flush() - give back every span a thread caches
 * @c: the calling thread's cache (inside tc_enter()), or the cache of a
 *	thread stopped for a collection
 * @force: forget the spans the kernel refuses (a dying thread's)
 *
 * Return: 0 or the first positive errno.
 */
int gch_tc_flush(struct tc *c, bool force)
{
	unsigned int w;
	int first = 0;

	for (w = 0; w < TC_ACTIVE_WORDS; w++) {
		uint64_t m = c->active[w];

		while (m) {
			unsigned int spc = w * 64 + __builtin_ctzll(m);
			int err;

			m &= m - 1;
			err = tc_release(c, spc, force);
			if (err && !first)
				first = err;
		}
	}
	return first;
}

/**
 * gch_tc_recut() - the heap-profile rate changed: the calling thread's
 *	windows are cut again at their next allocation
 *
 * Other threads' windows keep the old rate's cut until they run out.
 */
void gch_tc_recut(void)
{
	unsigned int w;

	tc_enter();
	for (w = 0; w < TC_ACTIVE_WORDS; w++) {
		uint64_t m = gch_tc.active[w];

		while (m) {
			unsigned int spc = w * 64 + __builtin_ctzll(m);

			m &= m - 1;
			gch_tc.span[spc].held |= gch_tc.hot[spc].bits;
			gch_tc.span[spc].sample_pending = 0;
			gch_tc.hot[spc].bits = 0;
		}
	}
	tc_leave();
}

/*
 * The pthread key destructor, run in a thread that exits: its spans go back
 * and it leaves the thread registry (gc.c).
 */
static void tc_thread_exit(void *unused)
{
	(void)unused;
	if (!gch_heap.dead)
		gch_thread_exit();
}

/*
 * tc_find() - the cached span of the calling thread whose slots cover @addr,
 * or NULL; *@idx is then the slot's index.
 */
static struct tc_span *tc_find(uintptr_t addr, unsigned int *idx)
{
	unsigned int w;

	for (w = 0; w < TC_ACTIVE_WORDS; w++) {
		uint64_t m = gch_tc.active[w];

		while (m) {
			unsigned int spc = w * 64 + __builtin_ctzll(m);
			struct tc_span *s = &gch_tc.span[spc];

			m &= m - 1;
			if (addr >= s->base &&
			    addr - s->base < (uintptr_t)s->nelems * s->elemsize) {
				*idx = (addr - s->base) / s->elemsize;
				/* The caller reads the bitmap. */
				tc_sync(&gch_tc, spc);
				return s;
			}
		}
	}
	return NULL;
}

/* ================ Set-up ================ */

/*
 * Held by the set-up for its whole length, and by fork() (the atfork
 * handlers below): a child is never forked half-way through a set-up,
 * which it would inherit in pieces, with locks of libc that the setting-up
 * thread held (backtrace()'s) and that nobody releases in the child.
 */
static pthread_mutex_t heap_setup_lock = PTHREAD_MUTEX_INITIALIZER;

static void heap_atfork_prepare(void)
{
	pthread_mutex_lock(&heap_setup_lock);
}

static void heap_atfork_parent(void)
{
	pthread_mutex_unlock(&heap_setup_lock);
}

/*
 * A child forked after set-up has no arena (the mapping is not inherited)
 * and the kernel refuses its ioctls: once a set-up has started, the child
 * gets EPERM, and never runs one of its own (glibc runs a pthread_once()
 * that the fork found unfinished again in the child). Its copy of the
 * forking thread's cache still points into the parent's arena: wipe it, so
 * the fast path goes to the slow path, which reports EPERM, instead of
 * handing out unmapped memory.
 */
static void heap_atfork_child(void)
{
	pthread_mutex_init(&heap_setup_lock, NULL);
	if (gch_heap.opts_state == HEAP_OPTS_TAKEN)
		gch_heap.dead = EPERM;
	memset(&gch_tc, 0, sizeof(gch_tc));
}

/* Before main(), so that no fork() can come before the handlers. */
__attribute__((constructor)) static void heap_atfork_register(void)
{
	/* Without them, a fork() during the set-up is the program's risk. */
	pthread_atfork(heap_atfork_prepare, heap_atfork_parent,
		       heap_atfork_child);
}

/* Parse a size of the environment: bytes with an optional K, M, G or T suffix. */
int gch_parse_size(const char *str, uint64_t *out)
{
	unsigned int shift = 0;
	unsigned long long v;
	char *end;

	if (*str < '0' || *str > '9')
		return EINVAL;
	errno = 0;
	v = strtoull(str, &end, 10);
	if (errno)
		return EINVAL;
	switch (*end) {
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	case 't': case 'T':
		shift = 40;
		break;
	case '\0':
		break;
	default:
		return EINVAL;
	}
	if (shift && *++end)
		return EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

/* Read and check the size-class table; build the size -> class tables. */
static int heap_load_classes(void)
{
	unsigned int n = gch_heap.api.num_size_classes, i, c;
	struct gcheap_size_classes sc = {
		.size = sizeof(sc),
		.count = n,
		.table = (uintptr_t)gch_heap.classes,
	};
	int err;

	err = -gcheap_sys_size_classes(&sc);
	if (err)
		return err;
	if (sc.count != n || gch_heap.classes[0].size != 0)
		return EPROTO;
	for (i = 1; i < n; i++) {
		const struct gcheap_size_class *cl = &gch_heap.classes[i];
		uint64_t span_bytes = (uint64_t)cl->npages << GCHEAP_PAGE_SHIFT;

		if (cl->size <= gch_heap.classes[i - 1].size || cl->size % 8 ||
		    !cl->npages || cl->size > span_bytes ||
		    span_bytes / cl->size > gch_heap.api.span_max_elems)
			return EPROTO;
	}
	if (gch_heap.classes[n - 1].size != GCHEAP_MAX_SMALL_SIZE)
		return EPROTO;
	gch_heap.nclasses = n;

	/*
	 * Entry i serves sizes up to i * step: the smallest class at least
	 * that big. Size 0 shares class 1's entry (a unique smallest object).
	 */
	for (i = 0, c = 1; i < CLASS8_LEN; i++) {
		while (gch_heap.classes[c].size < i * 8)
			c++;
		__atomic_store_n(&size_to_class8[i], c, __ATOMIC_RELAXED);
	}
	for (i = 0; i < CLASS128_LEN; i++) {
		while (gch_heap.classes[c].size < SMALL_STEP8_MAX + i * 128)
			c++;
		__atomic_store_n(&size_to_class128[i], c, __ATOMIC_RELAXED);
	}
	return 0;
}

/* Pick the arena's size and map it. */
static int heap_map_arena(size_t asked)
{
	uint64_t size = asked, max;
	bool fixed = true;
	void *base;
	int err;

	if (!size) {
		const char *env = getenv("GCHEAP_ARENA_SIZE");

		if (env && *env) {
			err = gch_parse_size(env, &size);
			if (err)
				return err;
		}
	}
	if (size) {
		if (size > SIZE_MAX - (GCHEAP_PAGE_SIZE - 1))
			return EFBIG;
		size = (size + GCHEAP_PAGE_SIZE - 1) & ~(GCHEAP_PAGE_SIZE - 1);
	} else {
		max = gch_heap.api.arena_max & ~(GCHEAP_PAGE_SIZE - 1);
		size = max < ARENA_DEFAULT_MAX ? max : ARENA_DEFAULT_MAX;
		if (size > SIZE_MAX)
			size = SIZE_MAX & ~(GCHEAP_PAGE_SIZE - 1);
		if (!size)
			return EOPNOTSUPP;
		fixed = false;
	}

	for (;;) {
		err = -gcheap_sys_map(size, &base);
		/*
		 * A default arena is only a guess at what the program needs:
		 * under an address-space limit, settle for less.
		 */
		if (err != ENOMEM || fixed || size / 2 < ARENA_DEFAULT_MIN)
			break;
		size = (size / 2) & ~(GCHEAP_PAGE_SIZE - 1);
	}
	if (err)
		return err;
	gch_heap.arena_base = (uintptr_t)base;
	gch_heap.arena_end = (uintptr_t)base + size;
	return 0;
}

static int heap_init(const struct gcheap_options *opts)
{
	const uint64_t needed = GCHEAP_FEATURE_CACHED_SPANS |
				GCHEAP_FEATURE_FREE_LOOKUP;
	struct gcheap_api *api = &gch_heap.api;
	int err;

	err = -gcheap_sys_open();
	if (err)
		return err;
	memset(api, 0, sizeof(*api));
	api->size = sizeof(*api);
	err = -gcheap_sys_api(api);
	if (err)
		return err;
	/*
	 * Versions are backward compatible (structs only grow); what this
	 * library relies on is checked as features and geometry.
	 */
	if (api->api_version < GCHEAP_API_VERSION ||
	    (api->features & needed) != needed ||
	    api->page_size != GCHEAP_PAGE_SIZE ||
	    api->max_small_size != GCHEAP_MAX_SMALL_SIZE ||
	    !api->span_max_elems ||
	    api->span_max_elems > GCHEAP_SPAN_MAX_ELEMS ||
	    api->num_size_classes < 2 ||
	    api->num_size_classes > TC_MAX_CLASSES)
		return EOPNOTSUPP;

	err = heap_load_classes();
	if (err)
		return err;
	err = heap_map_arena(opts->arena_size);
	if (err)
		return err;
	err = pthread_key_create(&gch_heap.key, tc_thread_exit);
	if (err)
		return err;
	gch_prof_init();
	return gch_gc_init(opts);
}

static void heap_init_once(void)
{
	struct gcheap_options opts = { .size = sizeof(opts) };
	int err;

	/* A child whose parent had started one: see heap_atfork_child(). */
	if (gch_heap.dead)
		return;
	pthread_mutex_lock(&heap_setup_lock);
	pthread_mutex_lock(&gch_heap.opts_lock);
	if (gch_heap.opts_state == HEAP_OPTS_SET)
		opts = gch_heap.opts;
	gch_heap.opts_state = HEAP_OPTS_TAKEN;
	pthread_mutex_unlock(&gch_heap.opts_lock);

	err = heap_init(&opts);
	if (err)
		gch_heap.init_error = err;
	else
		__atomic_store_n(&gch_heap.ready, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&heap_setup_lock);
}

/* Set the heap up if needed. Returns 0 or the errno every call reports. */
int gch_heap_setup(void)
{
	pthread_once(&gch_heap.once, heap_init_once);
	if (unlikely(gch_heap.init_error))
		return gch_heap.init_error;
	return gch_heap.dead;
}

/*
 * For the calls that need an existing heap and must not create one (free,
 * lookup): ENOENT if there is none, as no object can exist in it.
 */
static int heap_check(void)
{
	if (unlikely(gch_heap.dead))
		return gch_heap.dead;
	if (!__atomic_load_n(&gch_heap.ready, __ATOMIC_ACQUIRE))
		return ENOENT;
	return 0;
}

GCHEAP_EXPORT int gcheap_init(void)
{
	int err = gch_heap_setup();

	return gch_status(err);
}

GCHEAP_EXPORT int gcheap_init_opts(const struct gcheap_options *opts)
{
	struct gcheap_options o = { .size = sizeof(o) };
	int err = 0;

	if (!opts || gch_heap.dead)
		return gcheap_init();
	if (opts->size < offsetof(struct gcheap_options, arena_size) +
			 sizeof(opts->arena_size)) {
		errno = EINVAL;
		return -1;
	}
	if (opts->size > sizeof(o)) {
		const unsigned char *tail = (const unsigned char *)opts + sizeof(o);
		size_t i;

		for (i = 0; i < opts->size - sizeof(o); i++) {
			if (tail[i]) {
				errno = E2BIG;
				return -1;
			}
		}
	}
	memcpy(&o, opts, opts->size < sizeof(o) ? opts->size : sizeof(o));
	o.size = sizeof(o);

	pthread_mutex_lock(&gch_heap.opts_lock);
	if (gch_heap.opts_state == HEAP_OPTS_NONE) {
		gch_heap.opts = o;
		gch_heap.opts_state = HEAP_OPTS_SET;
	} else {
		err = EBUSY;
	}
	pthread_mutex_unlock(&gch_heap.opts_lock);
	/* A set-up that failed says why, as every call does after it. */
	if (err)
		err = gch_heap_setup() ?: EBUSY;
	if (err) {
		errno = err;
		return -1;
	}
	return gcheap_init();
}

GCHEAP_EXPORT int gcheap_fd(void)
{
	int err = gch_heap_setup();
	int fd;

	if (err) {
		errno = err;
		return -1;
	}
	fd = gcheap_sys_fd();
	if (fd < 0) {
		errno = -fd;
		return -1;
	}
	return fd;
}

/* ================ Allocation ================ */

static void *alloc_fail(int err)
{
	errno = err;
	return NULL;
}

static GCHEAP_ALLOC_PATH void *alloc_large(size_t size, unsigned int noscan)
{
	struct gcheap_alloc a = {
		.size = sizeof(a),
		.flags = noscan ? GCHEAP_ALLOC_NOSCAN : 0,
		.bytes = size,
	};
	void *p;
	int err;

	err = gch_heap_setup();
	if (!err)
		err = gch_thread_ensure();
	if (err)
		return alloc_fail(err);
	err = -gcheap_sys_alloc(&a);
	/* Over a limit, or out of memory: one collection may make room. */
	if (err == ENOMEM) {
		gcheap_gc();
		err = -gcheap_sys_alloc(&a);
	}
	if (err)
		return alloc_fail(err);
	if (a.addr < gch_heap.arena_base || a.addr >= gch_heap.arena_end ||
	    a.usable < size || gch_heap.arena_end - a.addr < a.usable)
		return alloc_fail(EPROTO);
	p = (void *)(uintptr_t)a.addr;
	if (unlikely(gch_prof_take(a.usable)))
		gch_prof_sample(p, a.usable);
	if (unlikely(a.out_flags & GCHEAP_GC_DUE)) {
		gch_note_gc_due();
		gch_gc_due(p);
	}
	return p;
}

/*
 * The fast path found the current bitmap word empty: move on to the next
 * word with a free slot, or set the heap up and refill. Still no system call
 * until the span is exhausted.
 */
static GCHEAP_ALLOC_PATH void *alloc_small_slow(size_t size,
					       unsigned int noscan)
{
	bool sampled = false, retried;
	unsigned int spc;
	struct tc_span *s;
	size_t elemsize;
	void *p;
	int err = 0;

	/*
	 * Before set-up the size tables are zero, which selects the never
	 * filled entry of class 0, so nothing is found until gch_heap_setup().
	 */
	tc_enter();
	spc = GCHEAP_SPANCLASS(size_to_class(size), noscan);
	p = tc_next(spc, &sampled);
	if (likely(p))
		goto out;
	tc_leave();

	/*
	 * Registration may wait for a collection to end, and that collection
	 * must be able to stop this thread: it happens outside tc_enter().
	 */
	err = gch_heap_setup();
	if (!err)
		err = gch_thread_ensure();
	if (err)
		return alloc_fail(err);
	if (unlikely(gch_tc.exited))
		return gch_alloc_exiting(size, noscan);

	for (retried = false;; retried = true) {
		tc_enter();
		spc = GCHEAP_SPANCLASS(size_to_class(size), noscan);
		p = tc_next(spc, &sampled);
		if (!p) {
			err = tc_refill(spc);
			/* tc_install() checked the new span has a free slot. */
			if (!err)
				p = tc_next(spc, &sampled);
		}
		if (p || err != ENOMEM || retried)
			break;
		/* Over a limit, or out of memory: one collection may make room. */
		tc_leave();
		gcheap_gc();
	}
out:
	s = &gch_tc.span[spc];
	elemsize = s->elemsize;
	if (p && s->needzero)
		memset(p, 0, elemsize);
	tc_leave();
	if (!p)
		return alloc_fail(err);
	if (unlikely(sampled))
		gch_prof_sample(p, elemsize);
	if (unlikely(gch_tc.gc_due))
		gch_gc_due(p);
	return p;
}

/**
 * gch_alloc_exiting() - a small object for a thread whose exit hook has run
 * @size: bytes wanted
 * @noscan: the object holds no pointers
 *
 * The thread has left the registry for good (a destructor of another
 * pthread key that runs after ours allocates), so it may cache nothing: it
 * takes a span, one slot of it, and gives the span back at once, with the
 * registry locked so that no collection finds the span cached.
 *
 * Return: the object, or NULL with errno set.
 */
void *gch_alloc_exiting(size_t size, unsigned int noscan)
{
	unsigned int spc = GCHEAP_SPANCLASS(size_to_class(size), noscan);
	struct tc_span *s = &gch_tc.span[spc];
	bool sampled;
	void *p = NULL;
	int err;

	/* Not sampled: the profile's bucket table is no place for a dying thread. */
	gch_threads_lock();
	tc_enter();
	err = tc_refill(spc);
	if (!err) {
		p = tc_next(spc, &sampled);
		if (s->needzero)
			memset(p, 0, s->elemsize);
		tc_release(&gch_tc, spc, true);
	}
	tc_leave();
	/* A thread outside the registry leaves collecting to the others. */
	gch_tc.gc_due = false;
	gch_threads_unlock();
	return p ? p : alloc_fail(err);
}

/*
 * Clear a reused slot. Slots are multiples of 8 bytes; small ones are
 * cleared with plain stores, which beats a call to memset() for the sizes
 * most programs allocate. The attribute keeps GCC from turning the loop back
 * into that call.
 */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
static inline void alloc_clear(void *p, uint64_t size)
{
	uint64_t *w = p, *end = (uint64_t *)((char *)p + size);

	if (size > 64) {
		memset(p, 0, size);
		return;
	}
	while (w < end)
		*w++ = 0;
}

/*
 * The fast path (Go's nextFreeFast): the lowest set bit of the span's current
 * bitmap word is the slot. Everything else goes to alloc_small_slow().
 */
static inline __attribute__((always_inline)) void *
gcheap_alloc(size_t size, unsigned int noscan)
{
	if (likely(size <= GCHEAP_MAX_SMALL_SIZE)) {
		struct tc_hot *h =
			&gch_tc.hot[GCHEAP_SPANCLASS(size_to_class(size), noscan)];
		uint64_t bits = h->bits;

		if (likely(bits)) {
			void *p = (void *)(h->wbase +
					   __builtin_ctzll(bits) * h->elemsize);

			h->bits = bits & (bits - 1);
			if (unlikely(h->needzero))
				alloc_clear(p, h->elemsize);
			return p;
		}
		return alloc_small_slow(size, noscan);
	}
	return alloc_large(size, noscan);
}

GCHEAP_EXPORT GCHEAP_FAST_SECTION void *gcheap_malloc(size_t size)
{
	return gcheap_alloc(size, 0);
}

GCHEAP_EXPORT GCHEAP_FAST_SECTION void *gcheap_malloc_atomic(size_t size)
{
	return gcheap_alloc(size, 1);
}

GCHEAP_EXPORT GCHEAP_FAST_SECTION void *gcheap_calloc(size_t nmemb,
							 size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(nmemb, size, &bytes))
		return alloc_fail(ENOMEM);
	return gcheap_alloc(bytes, 0);
}

/* The usable size a fresh allocation of @size gets; 0 if it cannot. */
static size_t alloc_usable(size_t size)
{
	if (size <= GCHEAP_MAX_SMALL_SIZE)
		return gch_heap.classes[size_to_class(size)].size;
	if (size > SIZE_MAX - (GCHEAP_PAGE_SIZE - 1))
		return 0;
	return (size + GCHEAP_PAGE_SIZE - 1) & ~(GCHEAP_PAGE_SIZE - 1);
}

/* ================ Free and lookup ================ */

GCHEAP_EXPORT void gcheap_free(void *ptr)
{
	uintptr_t addr = (uintptr_t)ptr;
	struct gcheap_free f = {
		.size = sizeof(f),
		.addr = addr,
	};
	struct tc_span *s;
	unsigned int idx;
	bool never_handed;
	int err;

	if (!ptr)
		return;
	err = heap_check();
	if (err)
		goto fail;
	if (addr < gch_heap.arena_base || addr >= gch_heap.arena_end) {
		err = ENOENT;
		goto fail;
	}
	/*
	 * A slot of our own cached span whose bit is still set was never
	 * handed out: freeing it is a double free (or a wild pointer). The
	 * kernel cannot tell, as it learns which cached slots were used only
	 * when the span goes back. One whose bit is clear we did hand out,
	 * which the kernel takes our word for (GCHEAP_FREE_CACHED).
	 */
	tc_enter();
	s = tc_find(addr, &idx);
	never_handed = s && addr == s->base + (uintptr_t)idx * s->elemsize &&
		       tc_slot_free(s, idx);
	tc_leave();
	if (never_handed) {
		err = EALREADY;
		goto fail;
	}
	if (s)
		f.flags = GCHEAP_FREE_CACHED;
	err = -gcheap_sys_free(&f);
	if (!err)
		return;
fail:
	errno = err;
}

/*
 * Before the kernel is asked about an object at @addr: 0, or a positive
 * errno (ENOENT: outside the arena, or a slot of our own cached span still
 * free).
 */
static int heap_object_check(uintptr_t addr)
{
	struct tc_span *s;
	unsigned int idx;
	bool still_free;
	int err;

	err = heap_check();
	if (err)
		return err;
	if (addr < gch_heap.arena_base || addr >= gch_heap.arena_end)
		return ENOENT;
	/*
	 * The kernel counts every handed-out slot of a cached span as live;
	 * only the caching thread knows which are still free.
	 */
	tc_enter();
	s = tc_find(addr, &idx);
	still_free = s && tc_slot_free(s, idx);
	tc_leave();
	return still_free ? ENOENT : 0;
}

/* The live object holding @ptr: 0 and *@l filled, or a positive errno. */
static int heap_lookup(const void *ptr, struct gcheap_lookup *l)
{
	uintptr_t addr = (uintptr_t)ptr;
	int err = heap_object_check(addr);

	if (err)
		return err;
	memset(l, 0, sizeof(*l));
	l->size = sizeof(*l);
	l->addr = addr;
	return -gcheap_sys_lookup(l);
}

/* ================ Finalizers ================ */

/* Records read from the queue at a time. */
#define FINAL_BATCH	16

/*
 * Run what one read of the queue gave. The records stay on the stack, a
 * root, while they run; then they are cleared, or a reader that waits for
 * more would keep the last ones' objects for ever.
 */
static void final_run(struct gcheap_final *recs, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (recs[i].kind == GCHEAP_FINAL_FINALIZER)
			((gcheap_finalizer_fn)(uintptr_t)recs[i].fn)(
				(void *)(uintptr_t)recs[i].addr,
				(void *)(uintptr_t)recs[i].arg);
		else if (recs[i].kind == GCHEAP_FINAL_CLEANUP)
			((gcheap_cleanup_fn)(uintptr_t)recs[i].fn)(
				(void *)(uintptr_t)recs[i].arg);
	}
	explicit_bzero(recs, n * sizeof(*recs));
}

/*
 * The finalizer thread: registered like any thread of the program (its
 * finalizers allocate, and the records it holds are roots), blocked in
 * read() while nothing is queued; a collection stops it there as any
 * thread blocked in a system call.
 */
static void *final_thread(void *unused)
{
	struct gcheap_final recs[FINAL_BATCH];
	int n;

	(void)unused;
	gch_thread_register();
	for (;;) {
		/*
		 * Nothing of what ran, or of what the thread started with,
		 * stays as a root while it waits: a scratch register (an SIMD
		 * one, which no code here touches) keeps its value for as
		 * long as the thread is blocked, and every collection reads
		 * it in the stop signal's frame.
		 */
		gch_clear_stack();
		GCH_SCRUB_REGISTERS();
		n = gcheap_sys_read_final(recs, FINAL_BATCH, true);
		if (n == -EINTR)
			continue;
		if (n < 0)
			return NULL;
		final_run(recs, n);
	}
}

/* Start the finalizer thread once, unless GCHEAP_FINALIZER_THREAD=0. */
static void final_thread_once(void)
{
	const char *env = getenv("GCHEAP_FINALIZER_THREAD");
	pthread_attr_t attr;
	pthread_t t;

	if (env && !strcmp(env, "0"))
		return;
	if (pthread_attr_init(&attr))
		return;
	/* A failure leaves the finalizers to gcheap_run_finalizers(). */
	if (!pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED))
		gch_spawn(pthread_create, &t, &attr, final_thread, NULL);
	pthread_attr_destroy(&attr);
}

/* GCHEAP_IOC_FINALIZER for an object; then the thread, if one was set. */
static int special_set(void *obj, uint32_t flags, uintptr_t fn, void *arg)
{
	static pthread_once_t thread_once = PTHREAD_ONCE_INIT;
	struct gcheap_finalizer f = {
		.size = sizeof(f),
		.flags = flags,
		.addr = (uintptr_t)obj,
		.fn = fn,
		.arg = (uintptr_t)arg,
	};
	int err;

	err = heap_object_check(f.addr);
	if (err)
		goto fail;
	err = -gcheap_sys_finalizer(&f);
	if (err)
		goto fail;
	if (fn)
		pthread_once(&thread_once, final_thread_once);
	return 0;
fail:
	errno = err;
	return -1;
}

GCHEAP_EXPORT int gcheap_register_finalizer(void *obj, gcheap_finalizer_fn fn,
					     void *arg)
{
	return special_set(obj, 0, (uintptr_t)fn, arg);
}

GCHEAP_EXPORT int gcheap_add_cleanup(void *obj, gcheap_cleanup_fn fn, void *arg)
{
	if (!fn) {
		errno = EINVAL;
		return -1;
	}
	return special_set(obj, GCHEAP_FINALIZER_CLEANUP, (uintptr_t)fn, arg);
}

/* ================ Weak references ================ */

struct gcheap_weak {
	void *obj;
};

static int link_set(void **link, void *obj, uint32_t flags)
{
	struct gcheap_link l = {
		.size = sizeof(l),
		.flags = flags,
		.link = (uintptr_t)link,
		.obj = (uintptr_t)obj,
	};
	/* The object must be one: the kernel takes a slot handed out for one. */
	int err = flags & GCHEAP_LINK_REMOVE ? heap_check() :
		  heap_object_check(l.obj);

	if (!err)
		err = -gcheap_sys_link(&l);
	return gch_status(err);
}

GCHEAP_EXPORT int gcheap_register_disappearing_link(void **link, void *obj)
{
	return link_set(link, obj, 0);
}

GCHEAP_EXPORT int gcheap_unregister_disappearing_link(void **link)
{
	return link_set(link, NULL, GCHEAP_LINK_REMOVE);
}

GCHEAP_EXPORT gcheap_weak_t *gcheap_weak_make(void *obj)
{
	/* Noscan: its word must not keep the object. */
	struct gcheap_weak *w = gcheap_malloc_atomic(sizeof(*w));

	if (!w)
		return NULL;
	w->obj = obj;
	if (gcheap_register_disappearing_link(&w->obj, obj)) {
		int err = errno;

		gcheap_free(w);
		errno = err;
		return NULL;
	}
	return w;
}

GCHEAP_EXPORT void *gcheap_weak_get(gcheap_weak_t *w)
{
	/* Read once: the collector clears it with the world stopped. */
	return __atomic_load_n(&w->obj, __ATOMIC_RELAXED);
}

GCHEAP_EXPORT int gcheap_run_finalizers(void)
{
	struct gcheap_final recs[FINAL_BATCH];
	int n, total = 0, err = heap_check();

	if (err == ENOENT)
		return 0;	/* no heap, so nothing to finalize */
	if (err) {
		errno = err;
		return -1;
	}
	for (;;) {
		n = gcheap_sys_read_final(recs, FINAL_BATCH, false);
		if (n == -EAGAIN)
			return total;
		if (n < 0) {
			errno = -n;
			return -1;
		}
		final_run(recs, n);
		total += n;
	}
}

GCHEAP_EXPORT void *gcheap_base(void *ptr)
{
	struct gcheap_lookup l;
	int err = heap_lookup(ptr, &l);

	if (err) {
		errno = err;
		return NULL;
	}
	return (void *)(uintptr_t)l.base;
}

GCHEAP_EXPORT size_t gcheap_size(const void *ptr)
{
	struct gcheap_lookup l;
	int err = heap_lookup(ptr, &l);

	if (err) {
		errno = err;
		return 0;
	}
	return l.objsize;
}

GCHEAP_EXPORT GCHEAP_ALLOC_PATH void *gcheap_realloc(void *ptr, size_t size)
{
	uintptr_t addr = (uintptr_t)ptr;
	struct gcheap_lookup l;
	unsigned int noscan;
	size_t usable;
	void *p;
	int err, saved;

	if (!ptr)
		return gcheap_malloc(size);
	/*
	 * Always the kernel: even for a slot of this thread's own cached span,
	 * only the kernel knows whether it was freed since it was handed out.
	 */
	err = heap_lookup(ptr, &l);
	if (err)
		return alloc_fail(err);
	if (l.base != addr)
		return alloc_fail(EINVAL);
	usable = l.objsize;
	noscan = l.spanclass & 1;
	if (alloc_usable(size) == usable)
		return ptr;

	/* Through the entry points, whose fast path a stop signal recognises. */
	p = noscan ? gcheap_malloc_atomic(size) : gcheap_malloc(size);
	if (!p)
		return NULL;
	memcpy(p, ptr, size < usable ? size : usable);
	saved = errno;
	gcheap_free(ptr);
	errno = saved;
	return p;
}

/* ================ Statistics ================ */

GCHEAP_EXPORT int gcheap_flush_cache(void)
{
	int err;

	if (gch_heap.dead) {
		errno = gch_heap.dead;
		return -1;
	}
	if (!__atomic_load_n(&gch_heap.ready, __ATOMIC_ACQUIRE))
		return 0;
	tc_enter();
	err = gch_tc_flush(&gch_tc, false);
	tc_leave();
	return gch_status(err);
}

/*
 * gch_read_stats() - set the heap up if needed, give the calling thread's
 * cache back so its allocations count, and read GCHEAP_IOC_STATS into @st
 * (whose by_class must have room for the heap's classes). A span the kernel
 * refuses stays cached and is counted in cached_spans; the statistics are
 * still worth having. Returns 0 or a positive errno.
 */
int gch_read_stats(struct gcheap_stats *st)
{
	int err = gch_heap_setup();

	if (err)
		return err;
	tc_enter();
	gch_tc_flush(&gch_tc, false);
	tc_leave();
	st->nclasses = gch_heap.nclasses;
	err = -gcheap_sys_stats(st);
	if (err)
		return err;
	return st->nclasses == gch_heap.nclasses ? 0 : EPROTO;
}

GCHEAP_EXPORT int gcheap_heap_stats(struct gcheap_heap_stats *stats,
				    struct gcheap_size_class_stats *classes,
				    unsigned int nclasses)
{
	struct gcheap_class_stats rows[TC_MAX_CLASSES];
	struct gcheap_stats st = {
		.size = sizeof(st),
		.by_class = (uintptr_t)rows,
	};
	unsigned int i;
	int err;

	if (!stats || (!classes && nclasses)) {
		errno = EINVAL;
		return -1;
	}
	err = gch_read_stats(&st);
	if (err)
		goto fail;

	*stats = (struct gcheap_heap_stats) {
		.arena_size = gch_heap.arena_end - gch_heap.arena_base,
		.heap_sys = st.heap_sys,
		.heap_inuse = st.heap_inuse,
		.heap_idle = st.heap_idle,
		.heap_alloc = st.heap_alloc,
		.heap_objects = st.heap_objects,
		.mallocs = st.mallocs,
		.frees = st.frees,
		.resident = st.resident,
		.cached_spans = st.cached_spans,
		.refills = st.refills,
		.bad_frees = st.bad_frees,
	};
	for (i = 0; i < nclasses && i < gch_heap.nclasses; i++) {
		classes[i] = (struct gcheap_size_class_stats) {
			.size_class = i,
			.elemsize = gch_heap.classes[i].size,
			.span_pages = i ? gch_heap.classes[i].npages : 0,
			.mallocs = rows[i].mallocs,
			.frees = rows[i].frees,
			.spans = rows[i].spans,
			.bytes_inuse = rows[i].bytes_inuse,
		};
	}
	return gch_heap.nclasses;
fail:
	errno = err;
	return -1;
}

/* ================ Heap dumps ================ */

GCHEAP_EXPORT int gcheap_dump_heap(void *buf, size_t *len)
{
	struct gcheap_dump d = { .size = sizeof(d) };
	int err;

	if (!len) {
		errno = EINVAL;
		return -1;
	}
	err = heap_check();
	if (!err && gcheap_flush_cache())
		err = errno;
	if (!err) {
		d.buf = (uintptr_t)buf;
		d.len = buf ? *len : 0;
		err = -gcheap_sys_dump(&d);
		if (!err || err == ENOSPC)
			*len = d.len;
	}
	return gch_status(err);
}

GCHEAP_EXPORT int gcheap_write_heap_dump(FILE *f)
{
	size_t len = 0, cap;
	void *buf = NULL;
	int tries, err = 0;

	if (!f) {
		errno = EINVAL;
		return -1;
	}
	if (!gcheap_dump_heap(NULL, &len) || errno != ENOSPC)
		return -1;
	/* The heap may grow between asking and dumping: a little slack. */
	for (tries = 0; tries < 4; tries++) {
		cap = len + len / 8 + 4096;
		free(buf);
		buf = malloc(cap);
		if (!buf) {
			err = ENOMEM;
			break;
		}
		len = cap;
		if (!gcheap_dump_heap(buf, &len))
			break;
		err = errno;
		if (err != ENOSPC)
			break;
	}
	if (!err && fwrite(buf, 1, len, f) != len)
		err = EIO;
	if (!err && fflush(f))
		err = EIO;
	free(buf);
	return gch_status(err);
}
