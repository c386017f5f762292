// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation micro-benchmark: ns per allocation for objects of 16 to 1024
 * bytes, and for gcheap the refill system calls per 1,000 allocations.
 *
 * One source, three builds: against libgcheap (static, run in the guest),
 * against the hosted libgcheap (native: the same fast path over the kernel
 * code compiled in user space), and against the C library's malloc
 * (-DBENCH_MALLOC), the peer run side by side with each.
 *
 * Each object's first word is written, as a program would. Per size, a cold
 * round allocates on fresh memory (first touches, page faults included);
 * then, ROUNDS times, everything is freed (not timed) and allocated again on
 * memory the process already has: the warm figure, the median of those
 * rounds, is the allocator's own cost. gcheap clears reused slots, as it
 * must; malloc does not.
 *
 * Usage: alloc_bench [SIZE]...  (default: every size below, in one process).
 * scripts/bench runs one size per process, so each cold round really starts
 * on memory the process never had, for both allocators.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdint.h>

#ifdef BENCH_MALLOC
#define BENCH_NAME	"glibc"
#define bench_alloc(n)	malloc(n)
#define bench_free(p)	free(p)
#else
#include "gcheap.h"
#define BENCH_NAME	"gcheap"
#define bench_alloc(n)	gcheap_malloc(n)
#define bench_free(p)	gcheap_free(p)
#endif

#define ROUNDS		5
#ifndef BYTES_PER_ROUND
#define BYTES_PER_ROUND	(16UL << 20)
#endif
#define MAX_OBJECTS	(1UL << 20)

static const size_t bench_sizes[] = { 16, 32, 64, 128, 256, 512, 1024 };

static double bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static uint64_t bench_refills(void)
{
#ifdef BENCH_MALLOC
	return 0;
#else
	struct gcheap_heap_stats st;

	if (gcheap_heap_stats(&st, NULL, 0) < 0) {
		perror("gcheap_heap_stats");
		exit(1);
	}
	return st.refills;
#endif
}

static int bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void *keep[MAX_OBJECTS];

/* Allocate @n objects of @size; return ns per allocation. */
static double bench_round(size_t size, size_t n)
{
	double t0 = bench_now_ns();
	size_t i;

	for (i = 0; i < n; i++) {
		void **p = bench_alloc(size);

		if (!p) {
			perror("allocation");
			exit(1);
		}
		*p = p;
		keep[i] = p;
	}
	return (bench_now_ns() - t0) / n;
}

static void bench_free_all(size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		bench_free(keep[i]);
}

static void bench_size(size_t size)
{
	size_t n = BYTES_PER_ROUND / size;
	unsigned int r;

	double cold, warm[ROUNDS], refills[ROUNDS];

	if (n > MAX_OBJECTS)
		n = MAX_OBJECTS;
	cold = bench_round(size, n);
	for (r = 0; r < ROUNDS; r++) {
		uint64_t r0;

		bench_free_all(n);
		r0 = bench_refills();
		warm[r] = bench_round(size, n);
		refills[r] = 1000.0 * (bench_refills() - r0) / n;
	}
	bench_free_all(n);
	qsort(warm, ROUNDS, sizeof(warm[0]), bench_cmp);
	qsort(refills, ROUNDS, sizeof(refills[0]), bench_cmp);
	printf("alloc allocator=%s size=%zu objects=%zu cold_ns=%.2f warm_ns=%.2f refills_per_1000=%.2f\n",
	       BENCH_NAME, size, n, cold, warm[ROUNDS / 2], refills[ROUNDS / 2]);
}

int main(int argc, char **argv)
{
	unsigned int s;
	int i;

	for (i = 1; i < argc; i++) {
		char *end;
		unsigned long size = strtoul(argv[i], &end, 0);

		if (*end || !size || size > BYTES_PER_ROUND) {
			fprintf(stderr, "alloc_bench: bad size %s\n", argv[i]);
			return 2;
		}
		bench_size(size);
	}
	if (argc > 1)
		return 0;
	for (s = 0; s < sizeof(bench_sizes) / sizeof(bench_sizes[0]); s++)
		bench_size(bench_sizes[s]);
	return 0;
}
