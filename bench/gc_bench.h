/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gc_bench.h: what the collector benchmarks (gcbench.c, binarytrees.c) share:
 * the allocator each is built against, the pause record, and the report line.
 *
 * One source per benchmark, built three ways (bench/Makefile):
 *
 *   BENCH_GCHEAP  libgcheap: gcheap_malloc(), never freed; the library
 *                 collects when the kernel says a collection is due (a
 *                 lazy one: the pause is the mark, the sweep is left to the
 *                 kernel's worker and to allocation), and bench_collect()
 *                 is gcheap_gc(). Pauses come from gcheap_get_stats() (the
 *                 kernel's ring of the last 256, read at each phase of the
 *                 program so that none falls out of it; any that did are
 *                 reported as pauses_lost=). Linked against
 *                 lib/libgcheap.a for the guest, against
 *                 hosted/out/libgcheap-hosted.a natively.
 *   BENCH_BDWGC   Debian's libgc (bdwgc): GC_MALLOC(), never freed; pauses
 *                 timed from GC_EVENT_START to GC_EVENT_END with
 *                 CLOCK_MONOTONIC (single-threaded program: the whole
 *                 collection is a pause; lazy sweeping during allocation is
 *                 not counted, as for gcheap).
 *   BENCH_MALLOC  the C library's malloc(): the program frees what it drops
 *                 (BENCH_EXPLICIT_FREE), there is no collection.
 *
 * Every run prints one line:
 *
 *   NAME allocator=A PARAMS total_ms=T gcs=N pause_p50_us=.. pause_p99_us=..
 *        pause_max_us=.. pause_total_ms=.. peak_rss_kb=.. checksum=C
 *
 * and fields of the allocator's own after it (bdwgc: markers=, the marking
 * threads; gcheap: heap_sys_kb=, the arena the heap grew into, which the
 * kernel's metadata is not part of). Percentiles are nearest-rank.
 *
 * The checksum depends only on the program and its parameters: it must be
 * the same for the three allocators (scripts/bench checks it). Neither
 * program collects explicitly: bench_collect() is there for one that does.
 */
#ifndef GC_BENCH_H
#define GC_BENCH_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/resource.h>

#if defined(BENCH_BDWGC) + defined(BENCH_MALLOC) + defined(BENCH_GCHEAP) != 1
#error "build with exactly one of -DBENCH_GCHEAP, -DBENCH_BDWGC, -DBENCH_MALLOC"
#endif

/* ---------------------------------------------------------------------- */
/* The allocators                                                         */
/* ---------------------------------------------------------------------- */

#if defined(BENCH_GCHEAP)
#include "gcheap.h"
#define BENCH_ALLOCATOR		"gcheap"
#define bench_new(n)		gcheap_malloc(n)
#define bench_new_atomic(n)	gcheap_malloc_atomic(n)
#elif defined(BENCH_BDWGC)
#define GC_THREADS	/* declares GC_get_parallel() */
#include <gc/gc.h>
#define BENCH_ALLOCATOR		"bdwgc"
#define bench_new(n)		GC_MALLOC(n)
#define bench_new_atomic(n)	GC_MALLOC_ATOMIC(n)
#else
#define BENCH_ALLOCATOR		"glibc"
#define BENCH_EXPLICIT_FREE	1
#define bench_new(n)		malloc(n)
#define bench_new_atomic(n)	malloc(n)
#endif

static inline double bench_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static inline __attribute__((noreturn, format(printf, 1, 2)))
void bench_die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* ---------------------------------------------------------------------- */
/* The pause record                                                       */
/* ---------------------------------------------------------------------- */

#define BENCH_MAX_PAUSES	65536

/*
 * bench_pauses: every collection's pause seen so far, in ns.
 * @ns: the pauses (the first BENCH_MAX_PAUSES of them), mapped on first
 *	use: in bss, half a megabyte of it would be scanned as roots by every
 *	collection of every collector measured, a cost of the harness and not
 *	of the program
 * @n: pauses stored in @ns
 * @gcs: collections counted (may exceed @n)
 * @lost: collections whose pause could not be read (gcheap: more than the
 *	kernel's ring of 256 between two reads)
 * @total_ns: sum of every pause read
 */
static struct {
	uint64_t *ns;
	size_t n;
	uint64_t gcs;
	uint64_t lost;
	uint64_t total_ns;
} bench_pauses;

static inline void bench_add_pause(uint64_t ns)
{
	if (!bench_pauses.ns) {
		void *p = mmap(NULL, BENCH_MAX_PAUSES * sizeof(uint64_t),
			       PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			bench_die("mmap of the pause record: %s", strerror(errno));
		bench_pauses.ns = p;
	}
	if (bench_pauses.n < BENCH_MAX_PAUSES)
		bench_pauses.ns[bench_pauses.n++] = ns;
	else
		bench_pauses.lost++;
	bench_pauses.total_ns += ns;
}

#if defined(BENCH_BDWGC)

static uint64_t bench_gc_start_ns;

static void GC_CALLBACK bench_gc_event(GC_EventType ev)
{
	switch (ev) {
	case GC_EVENT_START:
		bench_gc_start_ns = bench_now_ns();
		break;
	case GC_EVENT_END:
		if (bench_gc_start_ns) {
			bench_add_pause(bench_now_ns() - bench_gc_start_ns);
			bench_pauses.gcs++;
			bench_gc_start_ns = 0;
		}
		break;
	default:
		break;
	}
}

static inline void bench_init(void)
{
	GC_INIT();
	GC_set_on_collection_event(bench_gc_event);
}

static inline void bench_collect(void)
{
	GC_gcollect();
}

static inline void bench_phase(void)
{
}

/* Extra fields of the report line. */
static inline void bench_report_extra(void)
{
	printf(" markers=%d", GC_get_parallel() + 1);
}

#elif defined(BENCH_GCHEAP) && defined(BENCH_GCHEAP_GC_API)

/* Collections whose pause we have read from the kernel's ring. */
static uint64_t bench_seen_gc;

static inline void bench_init(void)
{
	if (gcheap_init())
		bench_die("gcheap_init: %s", strerror(errno));
	bench_seen_gc = 0;
}

static inline void bench_collect(void)
{
	if (gcheap_gc())
		bench_die("gcheap_gc: %s", strerror(errno));
}

/*
 * Read the pauses of the collections since the last read. Go's ring: the
 * pause of collection k (counted from 1) is pause_ns[(k + 255) % 256], so
 * only the last 256 are there; older ones are counted as lost.
 */
static inline void bench_phase(void)
{
	static struct gcheap_memstats ms;
	uint64_t k;

	if (gcheap_get_stats(&ms))
		bench_die("gcheap_get_stats: %s", strerror(errno));
	if (ms.num_gc <= bench_seen_gc)
		return;
	k = bench_seen_gc + 1;
	if (ms.num_gc - bench_seen_gc > 256) {
		bench_pauses.lost += ms.num_gc - 256 - bench_seen_gc;
		k = ms.num_gc - 255;
	}
	for (; k <= ms.num_gc; k++)
		bench_add_pause(ms.pause_ns[(k + 255) % 256]);
	bench_pauses.gcs = ms.num_gc;
	bench_seen_gc = ms.num_gc;
}

static inline void bench_report_extra(void)
{
	static struct gcheap_memstats ms;

	if (gcheap_get_stats(&ms))
		bench_die("gcheap_get_stats: %s", strerror(errno));
	printf(" heap_sys_kb=%llu", (unsigned long long)ms.heap_sys >> 10);
}

#elif defined(BENCH_GCHEAP)
/*
 * libgcheap without its collector's API (gcheap_gc(), gcheap_get_stats()):
 * the programs build, but nothing is ever collected. bench/Makefile builds
 * the gcheap variants with BENCH_GCHEAP_GC_API once lib/gcheap.h has it.
 */
#warning "libgcheap has no collector API yet: nothing will be collected"

static inline void bench_init(void)
{
	if (gcheap_init())
		bench_die("gcheap_init: %s", strerror(errno));
}

static inline void bench_collect(void)
{
}

static inline void bench_phase(void)
{
}

static inline void bench_report_extra(void)
{
	printf(" no_gc_api=1");
}

#else /* BENCH_MALLOC */

static inline void bench_init(void)
{
}

static inline void bench_collect(void)
{
}

static inline void bench_phase(void)
{
}

static inline void bench_report_extra(void)
{
}

#endif

/* ---------------------------------------------------------------------- */
/* The report                                                             */
/* ---------------------------------------------------------------------- */

static inline int bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile @p (0-100] of the sorted pauses, in us. */
static inline double bench_percentile_us(double p)
{
	size_t rank;

	if (!bench_pauses.n)
		return 0;
	rank = (size_t)(p / 100 * bench_pauses.n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > bench_pauses.n)
		rank = bench_pauses.n;
	return bench_pauses.ns[rank - 1] / 1e3;
}

/* Peak resident set of the process in KiB (VmHWM). */
static inline long bench_peak_rss_kb(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return -1;
	return ru.ru_maxrss;
}

/*
 * bench_report() - print the run's line
 * @name: the benchmark
 * @params: its parameters, as "key=value ..." fields
 * @total_ms: the run's time
 * @checksum: what the program computed (allocator-independent)
 */
static inline void bench_report(const char *name, const char *params,
			 double total_ms, uint64_t checksum)
{
	bench_phase();
	qsort(bench_pauses.ns, bench_pauses.n, sizeof(bench_pauses.ns[0]),
	      bench_cmp_u64);
	printf("%s allocator=%s %s total_ms=%.1f gcs=%llu pause_p50_us=%.1f pause_p99_us=%.1f pause_max_us=%.1f pause_total_ms=%.1f peak_rss_kb=%ld checksum=%llu",
	       name, BENCH_ALLOCATOR, params, total_ms,
	       (unsigned long long)bench_pauses.gcs,
	       bench_percentile_us(50), bench_percentile_us(99),
	       bench_percentile_us(100), bench_pauses.total_ns / 1e6,
	       bench_peak_rss_kb(), (unsigned long long)checksum);
	if (bench_pauses.lost)
		printf(" pauses_lost=%llu", (unsigned long long)bench_pauses.lost);
	bench_report_extra();
	putchar('\n');
	fflush(stdout);
#ifdef BENCH_GCHEAP
	if (!bench_pauses.gcs)
		fprintf(stderr, "warning: gcheap ran no collection (no collector in this backend?)\n");
#endif
}

/* Parse a depth argument. */
static inline int bench_depth_arg(const char *s, int lo, int hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi)
		bench_die("bad depth %s (%d..%d)", s, lo, hi);
	return (int)v;
}

#endif /* GC_BENCH_H */
