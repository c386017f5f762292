// SPDX-License-Identifier: GPL-2.0
/*
 * gcheap_memory_test: returning memory and living within limits.
 *
 * gcheap_free_os_memory() brings RSS and the memory cgroup's memory.current
 * back to within 10% of the live heap, and memory given back comes back
 * zeroed; the background scavenger gives idle memory back within its delay;
 * the soft limit keeps the heap under it for a live set that fits; the hard
 * limit and a cgroup's memory.max make allocations fail with ENOMEM, the
 * heap usable afterwards; a memory hog in another process makes the
 * shrinker take the heap's idle memory; the arena has a guard page below.
 *
 * Each test runs in a child process of its own (the harness forks), so each
 * has a fresh heap. Tests that need a cgroup v2 hierarchy mount one at
 * /sys/fs/cgroup if there is none, and skip when they cannot.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"

#include "gcheap.h"
#include "gcheap_gc_util.h"
#include "gcheap_util.h"

GH_REQUIRE_DEVICE();

#define MIB		((uint64_t)1 << 20)
#define CG_ROOT		"/sys/fs/cgroup"
#define LIVE_OBJS	65536	/* of 1 KiB: 64 MiB */

struct tnode {
	struct tnode *left, *right;
	uint64_t fill[126];	/* 1 KiB in all */
};

/* Roots: the data segment (not static: no store to them is left out). */
void *live[LIVE_OBJS];
struct tnode *garbage;
void *kept[65536];

static uint64_t rss_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (uint64_t)resident * sysconf(_SC_PAGESIZE);
}

static uint64_t read_u64(const char *path)
{
	unsigned long long v = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return UINT64_MAX;
	if (fscanf(f, "%llu", &v) != 1)
		v = UINT64_MAX;
	fclose(f);
	return v;
}

/*
 * Put the calling process in a new memory cgroup @dir (a path under
 * CG_ROOT); 0, or -1 when cgroup v2 with the memory controller is not to
 * be had.
 */
static int cg_enter(char *dir, size_t len, const char *name)
{
	char path[256];

	if (gh_mount_fs(CG_ROOT, "cgroup2", CG_ROOT "/cgroup.controllers"))
		return -1;
	gh_write_file(CG_ROOT "/cgroup.subtree_control", "+memory");
	snprintf(dir, len, CG_ROOT "/%s-%d", name, getpid());
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -1;
	snprintf(path, sizeof(path), "%s/memory.current", dir);
	if (access(path, F_OK))
		return -1;
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	return gh_write_file(path, "0");
}

static void cg_leave(const char *dir)
{
	gh_write_file(CG_ROOT "/cgroup.procs", "0");
	rmdir(dir);
}

static uint64_t cg_current(const char *dir)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/memory.current", dir);
	return read_u64(path);
}

static int stats(struct gcheap_memstats *ms)
{
	return gcheap_get_stats(ms);
}

/* Bytes the heap holds: spans in use and idle memory not given back. */
static uint64_t held(void)
{
	struct gcheap_memstats ms;

	if (stats(&ms))
		return 0;
	return ms.heap_sys - ms.heap_released;
}

/* A complete tree of 2^@depth - 1 nodes of 1 KiB, every word written. */
static GH_NOINLINE struct tnode *tree(int depth)
{
	struct tnode *n;
	unsigned int i;

	if (!depth)
		return NULL;
	n = gcheap_malloc(sizeof(*n));
	if (!n)
		return NULL;
	for (i = 0; i < 126; i++)
		n->fill[i] = 0xabababababababab;
	n->left = tree(depth - 1);
	n->right = tree(depth - 1);
	return n;
}

/* Drop the garbage tree, with no copy of its root left on the stack. */
static GH_NOINLINE int build_and_drop(int depth)
{
	garbage = tree(depth);
	if (!garbage)
		return -1;
	garbage = NULL;
	gh_clear_stack();
	return 0;
}

static GH_NOINLINE int make_live(unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		live[i] = gcheap_malloc_atomic(1024);
		if (!live[i])
			return -1;
		memset(live[i], 0x5a, 1024);
	}
	return 0;
}

TEST(arena_guard_below)
{
	unsigned long lo, hi, prev_hi = 0;
	char line[512], prev_perm[8] = "", perm[8];
	FILE *f;
	int found = 0;

	ASSERT_NE(NULL, gcheap_malloc(16));
	f = fopen("/proc/self/maps", "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perm) != 3)
			continue;
		if (strstr(line, GH_DEVICE)) {
			found = 1;
			/* Another mapping ending there would point at object 0. */
			EXPECT_EQ(lo, prev_hi);
			EXPECT_STREQ("---p", prev_perm);
			break;
		}
		prev_hi = hi;
		strcpy(prev_perm, perm);
	}
	fclose(f);
	EXPECT_TRUE(found);
}

TEST(free_os_memory_returns_it)
{
	uint64_t base_rss, base_cg = 0, rss, cg = 0, before_cg = 0;
	struct gcheap_memstats ms;
	char dir[128];
	int have_cg, i;

	have_cg = !cg_enter(dir, sizeof(dir), "gcheap-free");
	if (!have_cg)
		TH_LOG("no memory cgroup: RSS only");
	ASSERT_EQ(0, gcheap_init());
	gcheap_set_gc_percent(-1);
	base_rss = rss_bytes();
	if (have_cg)
		base_cg = cg_current(dir);
	ASSERT_EQ(0, make_live(LIVE_OBJS));
	/* 2^19 - 1 nodes of 1 KiB: 512 MiB. */
	ASSERT_EQ(0, build_and_drop(19));
	if (have_cg)
		before_cg = cg_current(dir);
	ASSERT_EQ(0, gcheap_free_os_memory());
	rss = rss_bytes();
	ASSERT_EQ(0, stats(&ms));
	if (have_cg)
		cg = cg_current(dir);
	TH_LOG("live 64 MiB; RSS %lu -> %lu MiB; memory.current %lu -> %lu -> %lu MiB; released %lu MiB, idle held %lu KiB",
	       base_rss / MIB, rss / MIB, base_cg / MIB, before_cg / MIB,
	       cg / MIB, ms.heap_released / MIB,
	       (ms.heap_idle - ms.heap_released) >> 10);
	EXPECT_LE(rss - base_rss, 64 * MIB + 64 * MIB / 10);
	EXPECT_GE(rss - base_rss, 64 * MIB - 64 * MIB / 10);
	EXPECT_GE(ms.heap_released, 400 * MIB);
	EXPECT_EQ(ms.heap_idle, ms.heap_released);
	if (have_cg) {
		EXPECT_GE(before_cg - base_cg, 512 * MIB);
		EXPECT_LE(cg - base_cg, 64 * MIB + 64 * MIB / 10);
	}
	/* The live set is intact. */
	for (i = 0; i < LIVE_OBJS; i += 97)
		ASSERT_EQ(0x5a, ((unsigned char *)live[i])[1023]);

	/* Given back, then used again: fresh zeroed pages, charged again. */
	for (i = 0; i < 262144; i++) {
		uint64_t *p = gcheap_malloc(1024);

		ASSERT_NE(NULL, p);
		ASSERT_EQ(1, gh_all_zero(p, 1024));
		p[5] = 1;
	}
	EXPECT_GE(rss_bytes(), rss + 200 * MIB);
	if (have_cg) {
		EXPECT_GE(cg_current(dir), cg + 200 * MIB);
		cg_leave(dir);
	}
}

TEST(background_scavenger)
{
	uint64_t delay = read_u64("/sys/module/gcheap/parameters/scavenge_delay_ms");
	uint64_t t0, waited_ms = 0, idle;

	ASSERT_NE(UINT64_MAX, delay);
	gcheap_set_gc_percent(-1);
	ASSERT_EQ(0, build_and_drop(17));	/* 128 MiB */
	ASSERT_EQ(0, gcheap_gc());
	/* Empty spans and free ones: all idle now, none given back yet. */
	idle = held();
	EXPECT_GE(idle, 100 * MIB);
	t0 = gh_now_ns();
	/* The documented delay, the scavenger's next look, and slack. */
	while (held() > 4 * MIB && waited_ms < 3 * delay + 2000) {
		usleep(50000);
		waited_ms = (gh_now_ns() - t0) / 1000000;
	}
	TH_LOG("%lu MiB held after the collection; %lu MiB after %lu ms (delay %lu ms)",
	       idle / MIB, held() / MIB, waited_ms, delay);
	EXPECT_GE(4 * MIB, held());
	EXPECT_LE(delay / 2, waited_ms);
}

static GH_NOINLINE int churn(uint64_t bytes, uint64_t *max_held)
{
	uint64_t done;

	for (done = 0; done < bytes; done += 1024) {
		if (!gcheap_malloc(1024))
			return -1;
		if (!(done % MIB)) {
			uint64_t h = held();

			if (h > *max_held)
				*max_held = h;
		}
	}
	return 0;
}

TEST(soft_limit_keeps_heap_under)
{
	struct gcheap_memstats ms;
	uint64_t max_held = 0;

	gcheap_set_gc_percent(-1);
	/* Rounded down to whole heap pages. */
	EXPECT_EQ(0, gcheap_set_memory_limit(64 * MIB + 100));
	EXPECT_EQ(64 * MIB, gcheap_set_memory_limit(-1));
	ASSERT_EQ(0, make_live(16384));		/* 16 MiB */
	ASSERT_EQ(0, churn(512 * MIB, &max_held));
	ASSERT_EQ(0, stats(&ms));
	TH_LOG("limit 64 MiB, live 16 MiB, 512 MiB allocated: held at most %lu MiB, %lu collections",
	       max_held / MIB, ms.num_gc);
	EXPECT_LE(max_held, 64 * MIB);
	EXPECT_LE(4, ms.num_gc);
}

TEST(hard_limit_enomem)
{
	unsigned int n = 0, i;
	void *p;

	gcheap_set_gc_percent(-1);
	/* One heap page at least: a byte is a limit, not none. */
	EXPECT_EQ(0, gcheap_set_hard_limit(1));
	EXPECT_EQ(GCHEAP_PAGE_SIZE, gcheap_set_hard_limit(32 * MIB));
	while (n < 65536 && (kept[n] = gcheap_malloc_atomic(1024)))
		n++;
	EXPECT_EQ(ENOMEM, errno);
	TH_LOG("%u KiB allocated under a 32 MiB hard limit", n);
	EXPECT_GE(n, 24 * 1024);
	EXPECT_LE(n, 32 * 1024);
	EXPECT_GE(32 * MIB, held());
	errno = 0;
	EXPECT_EQ(NULL, gcheap_malloc(64 * MIB));
	EXPECT_EQ(ENOMEM, errno);
	/* Usable: dropped objects make room through the collection. */
	for (i = 0; i < n; i++)
		kept[i] = NULL;
	p = gcheap_malloc(4 * MIB);
	EXPECT_NE(NULL, p);
	EXPECT_NE(NULL, gcheap_malloc(100));
	EXPECT_GE(32 * MIB, held());
}

/*
 * A limit set below what the heap holds gives its free memory back at once,
 * the empty spans its size classes keep included, not at the next
 * allocation.
 */
TEST(limit_lowered_releases_at_once)
{
	ASSERT_EQ(0, gcheap_init());
	gcheap_set_gc_percent(-1);
	ASSERT_EQ(0, make_live(16384));		/* 16 MiB */
	memset(live, 0, sizeof(live));
	ASSERT_EQ(0, gcheap_gc());
	EXPECT_LE(16 * MIB, held());
	EXPECT_EQ(0, gcheap_set_hard_limit(8 * MIB));
	EXPECT_GE(8 * MIB, held());
	EXPECT_EQ(8 * MIB, gcheap_set_hard_limit(0));
}

TEST(memcg_max_enomem)
{
	char dir[128], path[256], max[32];
	unsigned int n = 0, i;

	if (cg_enter(dir, sizeof(dir), "gcheap-max"))
		SKIP(return, "no memory cgroup");
	ASSERT_EQ(0, gcheap_init());
	gcheap_set_gc_percent(-1);
	snprintf(max, sizeof(max), "%lu", cg_current(dir) + 96 * MIB);
	snprintf(path, sizeof(path), "%s/memory.max", dir);
	ASSERT_EQ(0, gh_write_file(path, max));
	while (n < 8192 && (kept[n] = gcheap_malloc_atomic(16384)))
		memset(kept[n++], 1, 16384);
	EXPECT_EQ(ENOMEM, errno);
	TH_LOG("%u MiB allocated under memory.max = %s", n / 64, max);
	EXPECT_GE(n, 64 * 64);
	snprintf(path, sizeof(path), "%s/memory.events", dir);
	EXPECT_EQ(0, gh_read_key(path, "oom_kill"));
	/* Usable afterwards. */
	for (i = 0; i < n; i++)
		kept[i] = NULL;
	for (i = 0; i < 1024; i++)
		ASSERT_NE(NULL, gcheap_malloc(16384));
	EXPECT_EQ(0, gh_read_key(path, "oom_kill"));
	cg_leave(dir);
}

/*
 * At memory.max, with more root memory than the cgroup has left: the
 * collection's copy of the roots must not need a fresh charge (which would
 * wake the cgroup's OOM killer, or fail), since the collection is what
 * makes room.
 */
TEST(memcg_max_collects_big_roots)
{
	const size_t nslots = (4 * MIB) / sizeof(void *);
	char dir[128], path[256], max[32];
	size_t n = 0, i;
	void **table;

	if (cg_enter(dir, sizeof(dir), "gcheap-roots"))
		SKIP(return, "no memory cgroup");
	ASSERT_EQ(0, gcheap_init());
	gcheap_set_gc_percent(-1);
	table = calloc(nslots, sizeof(*table));
	ASSERT_NE(NULL, table);
	ASSERT_EQ(0, gcheap_add_roots(table, table + nslots));
	ASSERT_EQ(0, gcheap_gc());
	snprintf(max, sizeof(max), "%lu", cg_current(dir) + 48 * MIB);
	snprintf(path, sizeof(path), "%s/memory.max", dir);
	ASSERT_EQ(0, gh_write_file(path, max));
	while (n < nslots && (table[n] = gcheap_malloc(1000)))
		n++;
	EXPECT_EQ(ENOMEM, errno);
	TH_LOG("%zu objects of 1000 bytes under memory.max = %s", n, max);
	/* Dropped: the collection runs at the limit and makes room. */
	memset(table, 0, nslots * sizeof(*table));
	EXPECT_EQ(0, gcheap_gc());
	EXPECT_EQ(0, gcheap_free_os_memory());
	for (i = 0; i < n / 2; i++)
		ASSERT_NE(NULL, table[i] = gcheap_malloc(1000))
			TH_LOG("allocation %zu after the collection", i);
	snprintf(path, sizeof(path), "%s/memory.events", dir);
	EXPECT_EQ(0, gh_read_key(path, "oom_kill"));
	gcheap_remove_roots(table, table + nslots);
	cg_leave(dir);
	free(table);
}

/*
 * Another process takes more memory than is available: reclaim calls the
 * shrinker, which takes the heap's idle memory. The hog stops once the heap
 * gave enough back (or at its own bound).
 */
TEST(shrinker_under_pressure)
{
	const char *param = "/sys/module/gcheap/parameters/scavenge_delay_ms";
	uint64_t delay = read_u64(param), released = 0, idle;
	volatile int *stop;
	char buf[32];
	pid_t hog;
	int status;

	ASSERT_NE(UINT64_MAX, delay);
	/* The background scavenger must not do the shrinker's work. */
	ASSERT_EQ(0, gh_write_file(param, "3600000"));
	gcheap_set_gc_percent(-1);
	ASSERT_EQ(0, build_and_drop(19));	/* 512 MiB */
	ASSERT_EQ(0, gcheap_gc());
	idle = held();
	stop = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, stop);
	hog = fork();
	ASSERT_LE(0, hog);
	if (!hog) {
		uint64_t avail = gh_read_key("/proc/meminfo", "MemAvailable") << 10;
		uint64_t want = avail + 384 * MIB, got = 0;

		while (got < want && !*stop) {
			char *p = mmap(NULL, 16 * MIB, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p == MAP_FAILED)
				break;
			memset(p, 1, 16 * MIB);
			got += 16 * MIB;
		}
		_exit(0);
	}
	while (waitpid(hog, &status, WNOHANG) == 0) {
		struct gcheap_memstats ms;

		if (!stats(&ms) && idle - (ms.heap_sys - ms.heap_released) >=
				   256 * MIB)
			*stop = 1;
		usleep(10000);
	}
	snprintf(buf, sizeof(buf), "%lu", delay);
	gh_write_file(param, buf);
	released = idle - held();
	TH_LOG("idle %lu MiB, %lu MiB taken back under pressure", idle / MIB,
	       released / MIB);
	EXPECT_GE(idle, 400 * MIB);
	EXPECT_GE(released, 256 * MIB);
	/* The shrinker also asked for a collection at the next allocation. */
	EXPECT_NE(NULL, gcheap_malloc(100));
}

TEST_HARNESS_MAIN
