// SPDX-License-Identifier: GPL-2.0
/*
 * memreturn: how much memory an allocator gives back, and how fast.
 *
 * A long-lived tree (the live set) is built first, then temporary trees
 * eight times its size in all; the temporary trees are dropped (freed node
 * by node with malloc allocators, unlinked and collected with collectors),
 * then the allocator is asked to give free memory back to the kernel:
 *   gcheap   gcheap_free_os_memory()       (Go's debug.FreeOSMemory)
 *   bdwgc    GC_gcollect_and_unmap()
 *   glibc    malloc_trim(0)
 *   jemalloc mallctl("arena.<all>.purge")
 *   mimalloc mi_collect(true)
 * Prints peak RSS, RSS after the drop and after the release, and the time
 * of both steps, in one line:
 *
 *   memreturn allocator=A live_depth=D temp_trees=N peak_rss_kb=..
 *     drop_ms=.. drop_rss_kb=.. release_ms=.. release_rss_kb=..
 *     checksum=..
 *
 * usage: memreturn [LIVE_DEPTH [TEMP_TREES]]  (defaults 20 and 7: a
 * 64 MiB live tree of 64-byte nodes and 448 MiB of temporary ones)
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(BENCH_GCHEAP)
#include "gcheap.h"
#define ALLOCATOR	"gcheap"
#define node_alloc(n)	gcheap_malloc(n)
#define node_free(p)	((void)(p))
#define COLLECTS	1
static void bench_init(void)
{
	gcheap_init();
}
static void bench_collect(void)
{
	gcheap_gc();
}
static void bench_release(void)
{
	gcheap_free_os_memory();
}
#elif defined(BENCH_BDWGC)
#include <gc/gc.h>
#define ALLOCATOR	"bdwgc"
#define node_alloc(n)	GC_MALLOC(n)
#define node_free(p)	((void)(p))
#define COLLECTS	1
static void bench_init(void)
{
	GC_INIT();
}
static void bench_collect(void)
{
	GC_gcollect();
}
static void bench_release(void)
{
	GC_gcollect_and_unmap();
}
#elif defined(BENCH_JEMALLOC)
#include <jemalloc/jemalloc.h>
#define ALLOCATOR	"jemalloc"
#define node_alloc(n)	malloc(n)
#define node_free(p)	free(p)
static void bench_release(void)
{
	char name[64];

	/* MALLCTL_ARENAS_ALL: every arena. */
	snprintf(name, sizeof(name), "arena.%u.purge", 4096u);
	mallctl(name, NULL, NULL, NULL, 0);
}
#elif defined(BENCH_MIMALLOC)
#include <mimalloc.h>
#define ALLOCATOR	"mimalloc"
#define node_alloc(n)	mi_malloc(n)
#define node_free(p)	mi_free(p)
static void bench_release(void)
{
	mi_collect(true);
}
#else
#include <malloc.h>
#define ALLOCATOR	"glibc"
#define node_alloc(n)	malloc(n)
#define node_free(p)	free(p)
static void bench_release(void)
{
	malloc_trim(0);
}
#endif

#ifndef COLLECTS
/* malloc() and free(): nothing to set up, nothing to collect. */
#define COLLECTS	0
static void bench_init(void)
{
}
static void bench_collect(void)
{
}
#endif

struct node {
	struct node *left, *right;
	uint64_t payload[6];
};

/* Roots, in the data segment, where the collectors look. */
struct node *bench_live;
struct node *bench_temp[64];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* VmRSS or VmHWM of /proc/self/status, in KiB. */
static unsigned long status_kb(const char *key)
{
	char line[256];
	unsigned long v = 0;
	size_t len = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ':')
			v = strtoul(line + len + 1, NULL, 10);
	fclose(f);
	return v;
}

static struct node *build(int depth, uint64_t seed)
{
	struct node *n;

	if (!depth)
		return NULL;
	n = node_alloc(sizeof(*n));
	if (!n) {
		fprintf(stderr, "memreturn: out of memory\n");
		exit(1);
	}
	n->payload[0] = seed;
	n->payload[5] = seed * 3;
	n->left = build(depth - 1, seed * 2);
	n->right = build(depth - 1, seed * 2 + 1);
	return n;
}

static uint64_t sum(const struct node *n)
{
	return n ? n->payload[0] + n->payload[5] + sum(n->left) + sum(n->right) : 0;
}

static void drop(struct node *n)
{
	if (!n)
		return;
	drop(n->left);
	drop(n->right);
	node_free(n);
}

int main(int argc, char **argv)
{
	int depth = argc > 1 ? atoi(argv[1]) : 20;
	int ntemp = argc > 2 ? atoi(argv[2]) : 7;
	unsigned long peak, drop_rss, release_rss;
	uint64_t t0, drop_ns, release_ns, check;
	int i;

	if (depth < 1 || depth > 26 || ntemp < 0 || ntemp > 64) {
		fprintf(stderr, "usage: memreturn [LIVE_DEPTH [TEMP_TREES]]\n");
		return 2;
	}
	bench_init();
	bench_live = build(depth, 1);
	for (i = 0; i < ntemp; i++)
		bench_temp[i] = build(depth, i + 2);
	peak = status_kb("VmHWM");

	t0 = now_ns();
	for (i = 0; i < ntemp; i++) {
		if (!COLLECTS)
			drop(bench_temp[i]);
		bench_temp[i] = NULL;
	}
	bench_collect();
	drop_ns = now_ns() - t0;
	drop_rss = status_kb("VmRSS");

	t0 = now_ns();
	bench_release();
	release_ns = now_ns() - t0;
	release_rss = status_kb("VmRSS");

	check = sum(bench_live);
	printf("memreturn allocator=%s live_depth=%d temp_trees=%d peak_rss_kb=%lu drop_ms=%.1f drop_rss_kb=%lu release_ms=%.1f release_rss_kb=%lu checksum=%llu\n",
	       ALLOCATOR, depth, ntemp, peak, drop_ns / 1e6, drop_rss,
	       release_ns / 1e6, release_rss, (unsigned long long)check);
	return 0;
}
