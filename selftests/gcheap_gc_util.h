/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the collector's selftests, which go through libgcheap.
 *
 * The collector is conservative: a stale copy of a pointer left in a dead
 * stack frame or a scratch register keeps its object alive. The tests make
 * objects unreachable the way a program would, and then some: the objects
 * are allocated in noinline functions whose frames are gone, the stack
 * below the test is overwritten (gh_clear_stack()), and addresses the tests
 * must remember are stored hidden (gh_hide()), as numbers no scan takes for
 * pointers. Counts of freed objects allow GH_SLACK objects kept by chance.
 */
#ifndef _GCHEAP_GC_SELFTEST_UTIL_H
#define _GCHEAP_GC_SELFTEST_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gcheap.h"
#include "gcheap_util.h"

/* Objects a collection may keep by chance in a count of freed ones. */
#define GH_SLACK	8

#define GH_NOINLINE	__attribute__((noinline))

/*
 * A hidden address: the top bits set make it non-canonical on x86-64 and
 * arm64, so it never points into the arena.
 */
#define GH_HIDE_KEY	0xa5a5000000000000ULL

static inline uintptr_t gh_hide(const void *p)
{
	return (uintptr_t)p ^ GH_HIDE_KEY;
}

static inline void *gh_unhide(uintptr_t h)
{
	return (void *)(h ^ GH_HIDE_KEY);
}

/* Overwrite the stack below the caller, where dead frames kept pointers. */
static GH_NOINLINE __attribute__((unused)) void gh_clear_stack(void)
{
	char buf[64 << 10];

	explicit_bzero(buf, sizeof(buf));
}

static inline uint64_t gh_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A pattern word for object @id, word @i: never 0, never a heap address. */
static inline uint64_t gh_pattern(uint64_t id, uint64_t i)
{
	return ((id * 0x9E3779B97F4A7C15ULL) ^ (i * 0xC2B2AE3D27D4EB4FULL)) |
	       0x8000000000000001ULL;
}

static inline void gh_fill(void *p, size_t bytes, uint64_t id)
{
	uint64_t *w = p;
	size_t i;

	for (i = 0; i < bytes / 8; i++)
		w[i] = gh_pattern(id, i);
}

static inline int gh_check(const void *p, size_t bytes, uint64_t id)
{
	const uint64_t *w = p;
	size_t i;

	for (i = 0; i < bytes / 8; i++)
		if (w[i] != gh_pattern(id, i))
			return 0;
	return 1;
}

static inline int gh_all_zero(const void *p, size_t bytes)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < bytes; i++)
		if (c[i])
			return 0;
	return 1;
}

/*
 * The statistics, in storage of their own (the struct is 6 KiB); the
 * collector scans it with the bss, and it holds no heap pointer.
 */
static inline int gh_memstats(struct gcheap_memstats *ms)
{
	int ret = gcheap_get_stats(ms);

	if (!ret && ms->heap_objects != ms->mallocs - ms->frees)
		return -2;
	return ret;
}

/* A binary tree of heap nodes, each with a random value summed as it is built. */
struct tree {
	struct tree *left;
	struct tree *right;
	uint64_t value;
};

/* Build a tree of @depth below the root; NULL if an allocation failed. */
static GH_NOINLINE __attribute__((unused)) struct tree *
gh_tree_build(unsigned int depth, uint64_t *seed, uint64_t *sum)
{
	struct tree *t = gcheap_malloc(sizeof(*t));

	if (!t)
		return NULL;
	t->value = gh_rand(seed);
	*sum += t->value;
	if (depth) {
		t->left = gh_tree_build(depth - 1, seed, sum);
		t->right = gh_tree_build(depth - 1, seed, sum);
		if (!t->left || !t->right)
			return NULL;
	}
	return t;
}

#endif /* _GCHEAP_GC_SELFTEST_UTIL_H */
