// SPDX-License-Identifier: GPL-2.0
/*
 * gcheap_gc_test: the collector through libgcheap, one thread.
 *
 * What a collection frees (unreachable objects, cycles, objects reachable
 * only through noscan objects or through removed roots) and reuses, what it
 * keeps (objects reachable from the data segment, the stack, a register,
 * registered roots, interior pointers) with their contents intact, lazy
 * sweeping, the statistics, pacing (GOGC on and off, GCHEAP_GOGC) and
 * gctrace in the kernel log.
 *
 * Each test runs in a child process of its own (the harness forks), so each
 * has a fresh heap.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "gcheap.h"
#include "gcheap_gc_util.h"
#include "gcheap_util.h"

GH_REQUIRE_DEVICE();

static struct gcheap_memstats ms0, ms1;

/* Roots in the data segment, registered by the library at set-up. */
static void *global_root;
static uintptr_t interior[100];
static uintptr_t hidden[20000];

static int cmp_uptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

/* @n objects of @size, stamped, their addresses hidden in @out. */
static GH_NOINLINE int make_garbage(size_t size, unsigned int n, uintptr_t *out)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		void *p = gcheap_malloc(size);

		if (!p)
			return -1;
		gh_fill(p, size, i);
		if (out)
			out[i] = gh_hide(p);
	}
	return 0;
}

/*
 * Allocate @n objects of @size; count those that landed on an address of
 * the sorted hidden table @old, and those that were not zeroed.
 */
static GH_NOINLINE unsigned int count_reuse(size_t size, unsigned int n,
					    const uintptr_t *old,
					    unsigned int *dirty)
{
	unsigned int i, reused = 0;

	*dirty = 0;
	for (i = 0; i < n; i++) {
		void *p = gcheap_malloc(size);
		uintptr_t h = gh_hide(p);

		if (!p)
			break;
		if (!gh_all_zero(p, size))
			(*dirty)++;
		if (bsearch(&h, old, n, sizeof(*old), cmp_uptr))
			reused++;
	}
	return reused;
}

TEST(reclaim_and_reuse)
{
	const unsigned int n = 20000;
	unsigned int reused, dirty;

	ASSERT_EQ(0, gh_memstats(&ms0));
	ASSERT_EQ(0, make_garbage(48, n, hidden));
	gh_clear_stack();
	ASSERT_EQ(0, gcheap_gc()) TH_LOG("gcheap_gc: %s", strerror(errno));
	ASSERT_EQ(0, gh_memstats(&ms1));
	EXPECT_EQ(n, ms1.mallocs - ms0.mallocs);
	EXPECT_GE(ms1.frees - ms0.frees, n - GH_SLACK);
	EXPECT_LE(ms1.heap_objects, ms0.heap_objects + GH_SLACK);
	EXPECT_EQ(1, ms1.num_gc - ms0.num_gc);
	/* The 48-byte class counted them. */
	EXPECT_EQ(48, ms1.by_size[5].size);
	EXPECT_EQ(n, ms1.by_size[5].mallocs - ms0.by_size[5].mallocs);
	EXPECT_GE(ms1.by_size[5].frees - ms0.by_size[5].frees, n - GH_SLACK);

	/* New objects take the freed slots, cleared. */
	qsort(hidden, n, sizeof(hidden[0]), cmp_uptr);
	reused = count_reuse(48, n, hidden, &dirty);
	EXPECT_GE(reused, n - GH_SLACK);
	EXPECT_EQ(0, dirty);
}

/* Objects of every kind, reachable from global_root, stamped. */
struct table {
	unsigned int n;
	void *obj[600];
	size_t size[600];
};

static const size_t table_sizes[] = {
	8, 16, 24, 48, 64, 112, 256, 1024, 4096, 20000, 32768,
	40000, 100000, 1 << 20,
};

static GH_NOINLINE int build_table(void)
{
	struct table *t = gcheap_malloc(sizeof(*t));
	unsigned int i;

	if (!t)
		return -1;
	for (i = 0; i < 600; i++) {
		size_t size = table_sizes[i % (sizeof(table_sizes) / sizeof(table_sizes[0]))];
		/* Odd ones hold no pointers; even ones are scanned. */
		void *p = i & 1 ? gcheap_malloc_atomic(size) : gcheap_malloc(size);

		if (!p)
			return -1;
		gh_fill(p, size, 1000 + i);
		t->obj[i] = p;
		t->size[i] = size;
		/* Garbage in between, to be freed around the survivors. */
		if (make_garbage(size < 4096 ? size : 64, 3, NULL))
			return -1;
	}
	t->n = 600;
	global_root = t;
	return 0;
}

static GH_NOINLINE unsigned int check_table(void)
{
	const struct table *t = global_root;
	unsigned int i, bad = 0;

	for (i = 0; i < t->n; i++)
		if (!gh_check(t->obj[i], t->size[i], 1000 + i))
			bad++;
	return bad;
}

TEST(reachable_survives)
{
	int round;

	ASSERT_EQ(0, build_table());
	gh_clear_stack();
	ASSERT_EQ(0, gh_memstats(&ms0));
	for (round = 0; round < 4; round++) {
		int ret = round & 1 ? gcheap_gc_lazy() : gcheap_gc();

		ASSERT_EQ(0, ret);
		EXPECT_EQ(0, check_table()) TH_LOG("round %d", round);
	}
	ASSERT_EQ(0, gcheap_gc());
	ASSERT_EQ(0, gh_memstats(&ms1));
	/* The table and its 600 objects, and nothing else of ours. */
	EXPECT_GE(ms1.heap_objects, 601);
	EXPECT_LE(ms1.heap_objects, 601 + GH_SLACK);
	EXPECT_EQ(0, check_table());

	/* Dropped, all of it goes. */
	global_root = NULL;
	gh_clear_stack();
	ASSERT_EQ(0, gcheap_gc());
	ASSERT_EQ(0, gh_memstats(&ms1));
	EXPECT_LE(ms1.heap_objects, GH_SLACK);
}

/* 100 objects of 64 bytes and 10 large ones, each held by an interior pointer only. */
static GH_NOINLINE int make_interior(void)
{
	unsigned int i;

	for (i = 0; i < 100; i++) {
		size_t size = i < 90 ? 64 : 200000;
		char *p = gcheap_malloc(size);

		if (!p)
			return -1;
		gh_fill(p, size, 5000 + i);
		/* Past the base, and for the large ones past the first page. */
		interior[i] = (uintptr_t)p + (i < 90 ? 40 : 150000);
	}
	return 0;
}

static GH_NOINLINE unsigned int check_interior(void)
{
	unsigned int i, bad = 0;

	for (i = 0; i < 100; i++) {
		size_t size = i < 90 ? 64 : 200000;
		char *p = gcheap_base((void *)interior[i]);

		if (!p || !gh_check(p, size, 5000 + i))
			bad++;
	}
	return bad;
}

TEST(interior_pointers)
{
	ASSERT_EQ(0, make_interior());
	gh_clear_stack();
	ASSERT_EQ(0, gcheap_gc());
	EXPECT_EQ(0, check_interior());
	ASSERT_EQ(0, gh_memstats(&ms0));

	memset(interior, 0, sizeof(interior));
	gh_clear_stack();
	ASSERT_EQ(0, gcheap_gc());
	ASSERT_EQ(0, gh_memstats(&ms1));
	EXPECT_GE(ms1.frees - ms0.frees, 100 - GH_SLACK);
	/* Class 0 counts the large ones. */
	EXPECT_GE(ms1.by_size[0].frees - ms0.by_size[0].frees, 10 - 2);
}

/* 100 objects; the 50th is returned, the others dropped. */
static GH_NOINLINE void *make_hundred(size_t size)
{
	void *keep = NULL;
	unsigned int i;

	for (i = 0; i < 100; i++) {
		void *p = gcheap_malloc(size);

		if (!p)
			return NULL;
		gh_fill(p, size, 7000 + i);
		if (i == 50)
			keep = p;
	}
	return keep;
}

TEST(stack_keeps)
{
	void *volatile on_stack;

	ASSERT_EQ(0, gh_memstats(&ms0));
	on_stack = make_hundred(128);
	ASSERT_NE(NULL, on_stack);
	gh_clear_stack();
	ASSERT_EQ(0, gcheap_gc());
	ASSERT_EQ(0, gh_memstats(&ms1));
	/* The 99 others went in the same collection. */
	EXPECT_GE(ms1.frees - ms0.frees, 99 - GH_SLACK);
	EXPECT_TRUE(gh_check(on_stack, 128, 7050));
	EXPECT_EQ(on_stack, gcheap_base(on_stack));
}

#if defined(__x86_64__)
/*
 * The only copy of the pointer lives in a callee-saved register across the
 * collection: the collector must take the caller's registers as roots.
 */
static GH_NOINLINE int hold_in_register(void)
{
	register uintptr_t held asm("r13") = gh_hide(make_hundred(256));
	int ret;

	asm volatile("xorq %[key], %[r]" : [r] "+r"(held) : [key] "r"(GH_HIDE_KEY));
	gh_clear_stack();
	ret = gcheap_gc();
	asm volatile("" : "+r"(held));
	if (ret)
		return -1;
	return gh_check((void *)held, 256, 7050) ? 0 : 1;
}

TEST(register_keeps)
{
	ASSERT_EQ(0, gh_memstats(&ms0));
	EXPECT_EQ(0, hold_in_register());
	ASSERT_EQ(0, gh_memstats(&ms1));
	EXPECT_GE(ms1.frees - ms0.frees, 99 - GH_SLACK);
}
#endif

/* @n objects referenced only from the malloc()ed table @tab. */
static GH_NOINLINE int fill_table(void **tab, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		tab[i] = gcheap_malloc(96);
		if (!tab[i])
			return -1;
		gh_fill(tab[i], 96, 9000 + i);
	}
	return 0;
}

TEST(registered_roots)
{
	void **tab = calloc(512, sizeof(void *));
	unsigned int i, bad = 0;

	ASSERT_NE(NULL, tab);
	ASSERT_EQ(0, gcheap_init());
	ASSERT_EQ(0, gcheap_add_roots(tab, tab + 512));
	ASSERT_EQ(0, fill_table(tab, 200));
	gh_clear_stack();
	ASSERT_EQ(0, gh_memstats(&ms0));
	ASSERT_EQ(0, gcheap_gc());
	ASSERT_EQ(0, gh_memstats(&ms1));
	EXPECT_EQ(0, ms1.frees - ms0.frees);
	for (i = 0; i < 200; i++)
		bad += !gh_check(tab[i], 96, 9000 + i);
	EXPECT_EQ(0, bad);

	/* Removed, the table keeps nothing: malloc() memory is not scanned. */
	ASSERT_EQ(0, gcheap_remove_roots(tab, tab + 512));
	gh_clear_stack();
	ASSERT_EQ(0, gcheap_gc());
	ASSERT_EQ(0, gh_memstats(&ms1));
	EXPECT_GE(ms1.frees - ms0.frees, 200 - GH_SLACK);

	/* Errors. */
	EXPECT_EQ(-1, gcheap_remove_roots(tab, tab + 512));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, gcheap_add_roots(tab + 1, tab));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, gcheap_add_roots(tab, tab));
	EXPECT_EQ(EINVAL, errno);
	free(tab);
}

/* A noscan object holding the only pointers to 100 scan objects. */
static GH_NOINLINE int make_noscan_holder(int noscan)
{
	void **holder = noscan ? gcheap_malloc_atomic(800) : gcheap_malloc(800);
	unsigned int i;

	if (!holder)
		return -1;
	for (i = 0; i < 100; i++) {
		holder[i] = gcheap_malloc(32);
		if (!holder[i])
			return -1;
		gh_fill(holder[i], 32, 11000 + i);
	}
	global_root = holder;
	return 0;
}

TEST(noscan_not_followed)
{
	void **holder;
	unsigned int i, bad = 0;

	/* A scanned holder keeps them. */
	ASSERT_EQ(0, make_noscan_holder(0));
	gh_clear_stack();
	ASSERT_EQ(0, gh_memstats(&ms0));
	ASSERT_EQ(0, gcheap_gc());
	ASSERT_EQ(0, gh_memstats(&ms1));
	EXPECT_EQ(0, ms1.frees - ms0.frees);
	holder = global_root;
	for (i = 0; i < 100; i++)
		bad += !gh_check(holder[i], 32, 11000 + i);
	EXPECT_EQ(0, bad);
	holder = NULL;

	/* A noscan one does not: its words are data. */
	ASSERT_EQ(0, make_noscan_holder(1));
	gh_clear_stack();
	ASSERT_EQ(0, gh_memstats(&ms0));
	ASSERT_EQ(0, gcheap_gc());
	ASSERT_EQ(0, gh_memstats(&ms1));
	/* The first holder and its 100, and the second holder's 100. */
	EXPECT_GE(ms1.frees - ms0.frees, 201 - GH_SLACK);
	/* The holder itself lives on, its contents untouched. */
	holder = global_root;
	EXPECT_EQ(holder, gcheap_base(holder));
	for (i = 0; i < 100; i++)
		EXPECT_NE(NULL, holder[i]);
}

struct node {
	struct node *next;
	uint64_t value;
};

/* 500 two-cycles and a ring of 1000, all unreachable. */
static GH_NOINLINE int make_cycles(void)
{
	struct node *first = NULL, *prev = NULL;
	unsigned int i;

	for (i = 0; i < 500; i++) {
		struct node *a = gcheap_malloc(sizeof(*a));
		struct node *b = gcheap_malloc(sizeof(*b));

		if (!a || !b)
			return -1;
		a->next = b;
		b->next = a;
	}
	for (i = 0; i < 1000; i++) {
		struct node *n = gcheap_malloc(sizeof(*n));

		if (!n)
			return -1;
		if (prev)
			prev->next = n;
		else
			first = n;
		prev = n;
	}
	prev->next = first;
	return 0;
}

TEST(cycles_collected)
{
	ASSERT_EQ(0, gh_memstats(&ms0));
	ASSERT_EQ(0, make_cycles());
	gh_clear_stack();
	ASSERT_EQ(0, gcheap_gc());
	ASSERT_EQ(0, gh_memstats(&ms1));
	EXPECT_GE(ms1.frees - ms0.frees, 2000 - GH_SLACK);
}

TEST(lazy_sweep)
{
	int i;

	ASSERT_EQ(0, gh_memstats(&ms0));
	ASSERT_EQ(0, make_garbage(200, 5000, NULL));
	gh_clear_stack();
	ASSERT_EQ(0, gcheap_gc_lazy());
	/* The kernel's worker sweeps soon after; no timing is assumed. */
	for (i = 0; i < 600; i++) {
		ASSERT_EQ(0, gh_memstats(&ms1));
		if (ms1.frees - ms0.frees >= 5000 - GH_SLACK)
			break;
		usleep(50000);
	}
	EXPECT_GE(ms1.frees - ms0.frees, 5000 - GH_SLACK);
	EXPECT_EQ(1, ms1.num_gc - ms0.num_gc);
}

TEST(large_objects_reclaimed)
{
	unsigned int i;

	ASSERT_EQ(0, gh_memstats(&ms0));
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, make_garbage(1 << 20, 8, NULL));
		gh_clear_stack();
		ASSERT_EQ(0, gcheap_gc());
	}
	ASSERT_EQ(0, gh_memstats(&ms1));
	EXPECT_GE(ms1.by_size[0].frees - ms0.by_size[0].frees, 40 - GH_SLACK);
	/* The pages of the dead ones served the next ones. */
	EXPECT_LE(ms1.heap_sys, (24ULL << 20));
}

/* Garbage: @mb MiB in 64-byte objects, dropped as it is made. */
static GH_NOINLINE int churn(unsigned int mb)
{
	unsigned int i, n = mb * (1024 * 1024 / 64);

	for (i = 0; i < n; i++) {
		uint64_t *p = gcheap_malloc(64);

		if (!p)
			return -1;
		p[0] = i;
	}
	return 0;
}

TEST(gogc_on)
{
	ASSERT_EQ(100, gcheap_set_gc_percent(100));
	ASSERT_EQ(0, gh_memstats(&ms0));
	ASSERT_EQ(0, churn(48));
	ASSERT_EQ(0, gh_memstats(&ms1));
	/* 48 MiB of garbage over a 4 MiB goal: several collections ran. */
	EXPECT_GE(ms1.num_gc - ms0.num_gc, 3);
	/* And the heap stayed small. */
	EXPECT_LE(ms1.heap_sys, (24ULL << 20));
	EXPECT_NE(UINT64_MAX, ms1.next_gc);
}

TEST(gogc_off)
{
	ASSERT_EQ(100, gcheap_set_gc_percent(-1));
	ASSERT_EQ(-1, gcheap_set_gc_percent(-1));
	ASSERT_EQ(0, gh_memstats(&ms0));
	EXPECT_EQ(UINT64_MAX, ms0.next_gc);
	ASSERT_EQ(0, churn(48));
	ASSERT_EQ(0, gh_memstats(&ms1));
	EXPECT_EQ(0, ms1.num_gc);
	EXPECT_GE(ms1.heap_alloc, (48ULL << 20));
	/* Explicit collections still run. */
	gh_clear_stack();
	ASSERT_EQ(0, gcheap_gc());
	ASSERT_EQ(0, gh_memstats(&ms1));
	EXPECT_EQ(1, ms1.num_gc);
	EXPECT_LE(ms1.heap_alloc, (1ULL << 20));
	/* And back on. */
	EXPECT_EQ(-1, gcheap_set_gc_percent(50));
	EXPECT_EQ(50, gcheap_set_gc_percent(100));
	EXPECT_EQ(-2, gcheap_set_gc_percent(-2));
	EXPECT_EQ(EINVAL, errno);
}

TEST(gogc_env)
{
	ASSERT_EQ(0, setenv("GCHEAP_GOGC", "off", 1));
	ASSERT_EQ(0, gcheap_init());
	EXPECT_EQ(-1, gcheap_set_gc_percent(200));
	EXPECT_EQ(200, gcheap_set_gc_percent(100));
}

TEST(gogc_env_invalid)
{
	ASSERT_EQ(0, setenv("GCHEAP_GOGC", "lots", 1));
	EXPECT_EQ(-1, gcheap_init());
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(NULL, gcheap_malloc(8));
	EXPECT_EQ(EINVAL, errno);
}

TEST(gctrace_in_kernel_log)
{
	char buf[1024], want[64], goal[48], procs[32];
	struct gcheap_memstats ms;
	int fd, found = 0;
	ssize_t n;

	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		SKIP(return, "no /dev/kmsg: %s", strerror(errno));
	lseek(fd, 0, SEEK_END);
	ASSERT_EQ(0, gcheap_set_gctrace(1));
	ASSERT_EQ(1, gcheap_set_gctrace(1));
	ASSERT_EQ(0, make_garbage(64, 1000, NULL));
	ASSERT_EQ(0, gcheap_gc());
	/* The second line shows the goal the first collection set, as Go's. */
	ASSERT_EQ(0, gcheap_get_stats(&ms));
	snprintf(goal, sizeof(goal), " %llu MB goal, ",
		 (unsigned long long)(ms.next_gc == UINT64_MAX ? 0 :
				      ms.next_gc >> 20));
	snprintf(procs, sizeof(procs), " MB globals, %ld P",
		 sysconf(_SC_NPROCESSORS_ONLN));
	ASSERT_EQ(0, gcheap_gc());
	EXPECT_EQ(1, gcheap_set_gctrace(0));
	EXPECT_EQ(-1, gcheap_set_gctrace(2));
	EXPECT_EQ(EINVAL, errno);
	/* One record per read(); the second collection's line is there. */
	snprintf(want, sizeof(want), "gcheap: gc 2 @");
	while ((n = read(fd, buf, sizeof(buf) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (strstr(buf, want) && strstr(buf, goal) &&
		    strstr(buf, procs))
			found = 1;
	}
	close(fd);
	EXPECT_TRUE(found) TH_LOG("no \"%s...%s...%s\" line in /dev/kmsg",
				  want, goal, procs);
}

TEST(memstats)
{
	uint64_t sum_mallocs = 0, sum_frees = 0, sum_pause = 0;
	unsigned int i, n = 5;

	ASSERT_EQ(-1, gcheap_get_stats(NULL));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, gh_memstats(&ms0));
	EXPECT_EQ(0, ms0.num_gc);
	EXPECT_EQ(0, ms0.last_gc);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, make_garbage(64 << (i % 4), 2000, NULL));
		ASSERT_EQ(0, make_garbage(50000, 4, NULL));
		gh_clear_stack();
		ASSERT_EQ(0, gcheap_gc());
	}
	ASSERT_EQ(0, gh_memstats(&ms1));
	EXPECT_EQ(n, ms1.num_gc);
	EXPECT_EQ(ms1.alloc, ms1.heap_alloc);
	EXPECT_EQ(ms1.sys, ms1.heap_sys);
	EXPECT_EQ(ms1.heap_sys, ms1.heap_idle + ms1.heap_inuse);
	EXPECT_LE(ms1.heap_released, ms1.heap_idle);
	EXPECT_LE(ms1.heap_alloc, ms1.heap_inuse);
	EXPECT_GE(ms1.total_alloc, (uint64_t)n * 2000 * 64 + n * 4 * 50000);
	EXPECT_GE(ms1.frees, (uint64_t)n * 2004 - GH_SLACK);
	for (i = 0; i < GCHEAP_MEMSTATS_NUM_SIZES; i++) {
		sum_mallocs += ms1.by_size[i].mallocs;
		sum_frees += ms1.by_size[i].frees;
	}
	EXPECT_EQ(ms1.mallocs, sum_mallocs);
	EXPECT_EQ(ms1.frees, sum_frees);
	EXPECT_EQ(0, ms1.by_size[0].size);
	EXPECT_EQ(8, ms1.by_size[1].size);
	EXPECT_EQ(32768, ms1.by_size[GCHEAP_MEMSTATS_NUM_SIZES - 1].size);
	/* The pause ring: n entries, the last one at (n + 255) % 256. */
	for (i = 0; i < n; i++) {
		EXPECT_LT(0, ms1.pause_ns[i]);
		EXPECT_LT(0, ms1.pause_end[i]);
		if (i)
			EXPECT_LE(ms1.pause_end[i - 1], ms1.pause_end[i]);
		sum_pause += ms1.pause_ns[i];
	}
	EXPECT_EQ(0, ms1.pause_ns[n]);
	EXPECT_EQ(sum_pause, ms1.pause_total_ns);
	EXPECT_EQ(ms1.last_gc, ms1.pause_end[(ms1.num_gc + 255) % 256]);
	EXPECT_GT(ms1.gc_cpu_fraction, 0.0);
	EXPECT_LE(ms1.gc_cpu_fraction, 1.0);
	EXPECT_GE(ms1.next_gc, (4ULL << 20));
}

TEST_HARNESS_MAIN
