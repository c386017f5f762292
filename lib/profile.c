// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libgcheap's heap profile: Go's MemProfileRate sampling, and the legacy
 * text heap profile that pprof reads.
 *
 * Allocations are sampled on average once per gch_prof_rate bytes, at
 * exponentially distributed intervals (as Go's nextSample draws them), so
 * that each byte has the same chance of being sampled whatever the size of
 * its object. The countdown is kept per thread and taken without a look
 * from the fast path (tc_window() in gcheap.c). A sampled allocation's call
 * stack selects a bucket, which counts the allocation; the kernel attaches
 * a profile record to the object (GCHEAP_PROFILE_ADD) and counts the
 * bucket's frees when the object goes, by sweep or explicit free. The
 * buckets live in libc's heap: they hold no pointer into the arena.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gcheap_int.h"
#include "gcheap_sys.h"

/* Frames kept of a sampled allocation's call stack. */
#define PROF_DEPTH		32
/* Frames of the library's own that may lie above them. */
#define PROF_SKIP		8
#define PROF_HASH_SIZE		4096

size_t gch_prof_rate = GCHEAP_PROFILE_RATE_DEFAULT;
unsigned int gch_prof_gen = 1;

extern const char __start_gcheap_allocpath[] __attribute__((visibility("hidden")));
extern const char __stop_gcheap_allocpath[] __attribute__((visibility("hidden")));

/**
 * struct prof_bucket - the sampled allocations of one call stack
 * @next: next bucket of the same hash chain
 * @hash: hash of @stack
 * @allocs: sampled allocations (atomic)
 * @alloc_bytes: their bytes (atomic)
 * @id: the bucket's number for the kernel's free counts
 * @depth: entries of @stack
 * @stack: return addresses, innermost first
 */
struct prof_bucket {
	struct prof_bucket *next;
	uint64_t hash;
	uint64_t allocs;
	uint64_t alloc_bytes;
	uint32_t id;
	uint32_t depth;
	uintptr_t stack[];
};

/*
 * @lock protects the table; a bucket, once in it, is never freed, so its
 * counts are updated without the lock. A thread stopped for a collection
 * may hold @lock: the collecting thread never takes it.
 */
static struct {
	pthread_mutex_t lock;
	struct prof_bucket *hash[PROF_HASH_SIZE];
	struct prof_bucket **byid;
	uint32_t n;
	uint32_t cap;
	uint64_t dropped;
} prof = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* ln(@u) for 0 < @u <= 1, to about 1e-7: frexp() and log() need libm. */
static double prof_ln(double u)
{
	double m, t, t2;
	uint64_t bits;
	int e;

	memcpy(&bits, &u, sizeof(bits));
	e = (int)((bits >> 52) & 0x7ff) - 1023;
	bits = (bits & ((1ULL << 52) - 1)) | (1023ULL << 52);
	memcpy(&m, &bits, sizeof(m));
	if (m > 1.4142135623730951) {
		m /= 2;
		e++;
	}
	/* ln(m) = 2 atanh(t); |t| < 0.172 makes four terms enough. */
	t = (m - 1) / (m + 1);
	t2 = t * t;
	return e * 0.6931471805599453 +
	       2 * t * (1 + t2 * (1.0 / 3 + t2 * (1.0 / 5 + t2 / 7)));
}

/**
 * gch_prof_interval() - bytes until the calling thread's next sample
 *
 * Return: 1 for a rate of 1 (every allocation); else a draw of an
 * exponential distribution whose mean is the rate.
 */
uint64_t gch_prof_interval(void)
{
	size_t rate = __atomic_load_n(&gch_prof_rate, __ATOMIC_RELAXED);
	uint64_t x = gch_tc.rng;
	double u;

	if (rate <= 1)
		return 1;
	if (!x) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		x = ((uint64_t)gettid() << 32) ^ (uint64_t)ts.tv_nsec ^
		    (uintptr_t)&x;
		x |= 1;
	}
	/* xorshift64* */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	gch_tc.rng = x;
	u = (double)(((x * 0x2545F4914F6CDD1DULL) >> 11) + 1) * 0x1p-53;
	return (uint64_t)(-prof_ln(u) * (double)rate) + 1;
}

static bool prof_in_library(uintptr_t pc)
{
	return gch_in_fast_path(pc) ||
	       (pc >= (uintptr_t)__start_gcheap_allocpath &&
		pc < (uintptr_t)__stop_gcheap_allocpath);
}

static uint64_t prof_hash(const uintptr_t *stack, unsigned int depth)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	unsigned int i;

	for (i = 0; i < depth; i++) {
		h ^= stack[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* The bucket of @stack, made if new; NULL when the table is full. */
static struct prof_bucket *prof_bucket(const uintptr_t *stack,
				       unsigned int depth)
{
	uint64_t h = prof_hash(stack, depth);
	struct prof_bucket **chain = &prof.hash[h % PROF_HASH_SIZE], *b;

	pthread_mutex_lock(&prof.lock);
	for (b = *chain; b; b = b->next)
		if (b->hash == h && b->depth == depth &&
		    !memcmp(b->stack, stack, depth * sizeof(*stack)))
			goto out;
	if (prof.n == GCHEAP_PROFILE_BUCKETS_MAX)
		goto out;
	if (prof.n == prof.cap) {
		uint32_t cap = prof.cap ? prof.cap * 2 : 256;
		struct prof_bucket **byid = realloc(prof.byid,
						    cap * sizeof(*byid));

		if (!byid)
			goto out;
		prof.byid = byid;
		prof.cap = cap;
	}
	b = malloc(sizeof(*b) + depth * sizeof(*stack));
	if (!b)
		goto out;
	memset(b, 0, sizeof(*b));
	memcpy(b->stack, stack, depth * sizeof(*stack));
	b->hash = h;
	b->depth = depth;
	b->id = prof.n;
	b->next = *chain;
	*chain = b;
	prof.byid[prof.n++] = b;
out:
	pthread_mutex_unlock(&prof.lock);
	return b;
}

/**
 * gch_prof_sample() - record a sampled allocation
 * @obj: the object, just allocated
 * @size: its size (slot or span bytes)
 *
 * Called outside the cache code; a failure loses the sample, counted in
 * the profile as dropped. errno is kept: the allocation succeeded.
 */
GCHEAP_ALLOC_PATH void gch_prof_sample(void *obj, size_t size)
{
	void *frames[PROF_SKIP + PROF_DEPTH];
	uintptr_t stack[PROF_DEPTH];
	struct gcheap_profile r = {
		.size = sizeof(r),
		.op = GCHEAP_PROFILE_ADD,
		.addr = (uintptr_t)obj,
	};
	int saved = errno, n, i, depth = 0;
	struct prof_bucket *b;

	n = backtrace(frames, PROF_SKIP + PROF_DEPTH);
	for (i = 0; i < n && prof_in_library((uintptr_t)frames[i]); i++)
		;
	for (; i < n && depth < PROF_DEPTH; i++)
		stack[depth++] = (uintptr_t)frames[i];
	b = prof_bucket(stack, depth);
	if (b) {
		/* Counted first, so a free is never seen before its allocation. */
		__atomic_fetch_add(&b->allocs, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&b->alloc_bytes, size, __ATOMIC_RELAXED);
		r.bucket = b->id;
		if (gcheap_sys_profile(&r)) {
			__atomic_fetch_sub(&b->allocs, 1, __ATOMIC_RELAXED);
			__atomic_fetch_sub(&b->alloc_bytes, size,
					   __ATOMIC_RELAXED);
			b = NULL;
		}
	}
	if (!b)
		__atomic_fetch_add(&prof.dropped, 1, __ATOMIC_RELAXED);
	errno = saved;
}

/* backtrace() loads its unwinder at its first call: not in an allocation. */
static void prof_warm_up(void)
{
	void *frame;

	backtrace(&frame, 1);
}

static void prof_set_rate(size_t rate)
{
	if (rate)
		prof_warm_up();
	__atomic_store_n(&gch_prof_rate, rate, __ATOMIC_RELAXED);
	__atomic_fetch_add(&gch_prof_gen, 1, __ATOMIC_RELEASE);
}

/**
 * gch_prof_init() - at the heap's set-up: GCHEAP_PROFILE_RATE, and no
 *	sampling if the module keeps no profile records
 */
void gch_prof_init(void)
{
	const char *env = getenv("GCHEAP_PROFILE_RATE");
	uint64_t rate;

	if (!(gch_heap.api.features & GCHEAP_FEATURE_PROFILE))
		prof_set_rate(0);
	else if (env && !gch_parse_size(env, &rate))
		prof_set_rate(rate);
	else if (__atomic_load_n(&gch_prof_rate, __ATOMIC_RELAXED))
		prof_warm_up();
}

GCHEAP_EXPORT size_t gcheap_set_profile_rate(size_t rate)
{
	size_t old = __atomic_load_n(&gch_prof_rate, __ATOMIC_RELAXED);

	if (gch_heap_ready() &&
	    !(gch_heap.api.features & GCHEAP_FEATURE_PROFILE))
		return old;
	prof_set_rate(rate);
	gch_tc_recut();
	return old;
}

GCHEAP_EXPORT size_t gcheap_get_profile_rate(void)
{
	return __atomic_load_n(&gch_prof_rate, __ATOMIC_RELAXED);
}

/**
 * struct prof_row - one line of the written profile
 * @b: its bucket
 * @inuse: sampled objects still allocated
 * @inuse_bytes: their bytes
 * @allocs: sampled allocations
 * @alloc_bytes: their bytes
 */
struct prof_row {
	const struct prof_bucket *b;
	uint64_t inuse;
	uint64_t inuse_bytes;
	uint64_t allocs;
	uint64_t alloc_bytes;
};

/* Most bytes in use first, then most allocated, then oldest bucket. */
static int prof_row_cmp(const void *a, const void *b)
{
	const struct prof_row *x = a, *y = b;

	if (x->inuse_bytes != y->inuse_bytes)
		return x->inuse_bytes > y->inuse_bytes ? -1 : 1;
	if (x->alloc_bytes != y->alloc_bytes)
		return x->alloc_bytes > y->alloc_bytes ? -1 : 1;
	return x->b->id < y->b->id ? -1 : 1;
}

/* The kernel's free counts of buckets [0, @n): 0 or a positive errno. */
static int prof_read_frees(struct gcheap_profile_count *counts, uint32_t n)
{
	uint32_t got = 0;

	memset(counts, 0, n * sizeof(*counts));
	while (got < n) {
		struct gcheap_profile r = {
			.size = sizeof(r),
			.op = GCHEAP_PROFILE_READ,
			.bucket = got,
			.count = n - got,
			.buf = (uintptr_t)(counts + got),
		};
		int err = -gcheap_sys_profile(&r);

		if (err)
			return err;
		if (!r.count)
			break;	/* buckets whose only record failed to attach */
		got += r.count;
	}
	return 0;
}

static void prof_write_symbol(FILE *f, uintptr_t pc)
{
	Dl_info info;

	/* A return address: the call is the instruction before it. */
	if (!dladdr((void *)(pc - 1), &info) || !info.dli_fname)
		return;
	if (info.dli_sname)
		fprintf(f, "#\t%#" PRIxPTR "\t%s+%#" PRIxPTR "\t%s\n", pc,
			info.dli_sname, pc - (uintptr_t)info.dli_saddr,
			info.dli_fname);
	else
		fprintf(f, "#\t%#" PRIxPTR "\t?\t%s\n", pc, info.dli_fname);
}

static void prof_write_maps(FILE *f)
{
	FILE *maps = fopen("/proc/self/maps", "re");
	char buf[4096];
	size_t n;

	fputs("\nMAPPED_LIBRARIES:\n", f);
	if (!maps)
		return;
	while ((n = fread(buf, 1, sizeof(buf), maps)))
		fwrite(buf, 1, n, f);
	fclose(maps);
}

static int prof_write(FILE *f, struct prof_row *rows, uint32_t n)
{
	struct prof_row total = { 0 };
	uint32_t i, j;

	for (i = 0; i < n; i++) {
		total.inuse += rows[i].inuse;
		total.inuse_bytes += rows[i].inuse_bytes;
		total.allocs += rows[i].allocs;
		total.alloc_bytes += rows[i].alloc_bytes;
	}
	qsort(rows, n, sizeof(*rows), prof_row_cmp);
	/*
	 * heap_v2/rate: sampled as a Poisson process of that rate, which
	 * both pprof (Go's) and gperftools' pprof scale by.
	 */
	fprintf(f, "heap profile: %" PRIu64 ": %" PRIu64 " [%" PRIu64 ": %"
		PRIu64 "] @ heap_v2/%zu\n", total.inuse, total.inuse_bytes,
		total.allocs, total.alloc_bytes, gcheap_get_profile_rate());
	for (i = 0; i < n; i++) {
		const struct prof_bucket *b = rows[i].b;

		if (!rows[i].allocs)
			continue;
		fprintf(f, "%" PRIu64 ": %" PRIu64 " [%" PRIu64 ": %" PRIu64
			"] @", rows[i].inuse, rows[i].inuse_bytes,
			rows[i].allocs, rows[i].alloc_bytes);
		for (j = 0; j < b->depth; j++)
			fprintf(f, " %#" PRIxPTR, b->stack[j]);
		fputc('\n', f);
		for (j = 0; j < b->depth; j++)
			prof_write_symbol(f, b->stack[j]);
		fputc('\n', f);
	}
	fprintf(f, "# samples dropped: %" PRIu64 "\n",
		__atomic_load_n(&prof.dropped, __ATOMIC_RELAXED));
	prof_write_maps(f);
	fflush(f);
	return ferror(f) ? EIO : 0;
}

GCHEAP_EXPORT int gcheap_write_heap_profile(FILE *f)
{
	struct gcheap_profile_count *counts = NULL;
	struct prof_bucket **byid = NULL;
	struct prof_row *rows = NULL;
	uint32_t n, i;
	int err;

	if (!f) {
		errno = EINVAL;
		return -1;
	}
	err = gch_heap_setup();
	if (err)
		goto out;
	pthread_mutex_lock(&prof.lock);
	n = prof.n;
	byid = malloc((n ? n : 1) * sizeof(*byid));
	if (byid)
		memcpy(byid, prof.byid, n * sizeof(*byid));
	pthread_mutex_unlock(&prof.lock);
	counts = malloc((n ? n : 1) * sizeof(*counts));
	rows = malloc((n ? n : 1) * sizeof(*rows));
	err = ENOMEM;
	if (!byid || !counts || !rows)
		goto out;
	err = n ? prof_read_frees(counts, n) : 0;
	if (err)
		goto out;
	for (i = 0; i < n; i++) {
		struct prof_row *r = &rows[i];

		r->b = byid[i];
		r->allocs = __atomic_load_n(&byid[i]->allocs, __ATOMIC_RELAXED);
		r->alloc_bytes = __atomic_load_n(&byid[i]->alloc_bytes,
						 __ATOMIC_RELAXED);
		/*
		 * An allocation is counted before its record is attached and
		 * the counts are read after the frees, so frees never exceed
		 * allocations; the bound is kept all the same.
		 */
		r->inuse = r->allocs > counts[i].frees ?
			   r->allocs - counts[i].frees : 0;
		r->inuse_bytes = r->alloc_bytes > counts[i].free_bytes ?
				 r->alloc_bytes - counts[i].free_bytes : 0;
	}
	err = prof_write(f, rows, n);
out:
	free(rows);
	free(counts);
	free(byid);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}
