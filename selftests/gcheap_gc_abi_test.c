// SPDX-License-Identifier: GPL-2.0
/*
 * The collector's ABI, with raw ioctls: GCHEAP_IOC_ROOTS, GCHEAP_IOC_GC and
 * GCHEAP_IOC_GC_CONFIG, what a collection keeps and frees, lazy sweeping by
 * the background sweeper, what a concurrent mark finds written while it
 * ran, gctrace in the kernel log, and every documented errno of the three.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/uio.h>
#include "kselftest_harness.h"
#include "gcheap_util.h"

GH_REQUIRE_DEVICE();

#define ARENA_SIZE	(64UL << 20)
/* 64-byte slots, scan and noscan. */
#define SC		GCHEAP_SPANCLASS(6, 0)
#define SC_NOSCAN	GCHEAP_SPANCLASS(6, 1)

/* A registered root, in the data segment. */
static uint64_t global_root[4];

static int gh_gc(int fd, const struct gcheap_range *roots, unsigned int n,
		 unsigned int flags, struct gcheap_gc *g)
{
	memset(g, 0, sizeof(*g));
	g->size = sizeof(*g);
	g->flags = flags;
	g->nroots = n;
	g->roots = (uintptr_t)roots;
	return gh_ioctl(fd, GCHEAP_IOC_GC, g);
}

static int gh_roots(int fd, void *lo, void *hi, unsigned int flags)
{
	struct gcheap_roots r = {
		.size = sizeof(r),
		.flags = flags,
		.lo = (uintptr_t)lo,
		.hi = (uintptr_t)hi,
	};

	return gh_ioctl(fd, GCHEAP_IOC_ROOTS, &r);
}

FIXTURE(gc)
{
	int fd;
	void *arena;
	uint64_t *obj[100];
	uint64_t *nos[2];
};

/* 100 objects of a scan span and 2 of a noscan span, stamped. */
FIXTURE_SETUP(gc)
{
	struct gcheap_refill r;
	unsigned int i;

	self->fd = gh_open();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, gh_map(self->fd, ARENA_SIZE, &self->arena));
	ASSERT_EQ(0, gh_refill(self->fd, SC, 0, NULL, 0, &r));
	ASSERT_LE(100, r.nfree);
	for (i = 0; i < 100; i++) {
		self->obj[i] = (uint64_t *)(uintptr_t)(r.base + i * r.elemsize);
		r.free[i / 64] &= ~(1ULL << (i % 64));
		self->obj[i][7] = 0x5eed0000 + i;
	}
	ASSERT_EQ(0, gh_refill(self->fd, SC, r.base, r.free,
			       GCHEAP_REFILL_RELEASE_ONLY, &r));
	ASSERT_EQ(0, gh_refill(self->fd, SC_NOSCAN, 0, NULL, 0, &r));
	for (i = 0; i < 2; i++) {
		self->nos[i] = (uint64_t *)(uintptr_t)(r.base + i * r.elemsize);
		r.free[0] &= ~(1ULL << i);
	}
	ASSERT_EQ(0, gh_refill(self->fd, SC_NOSCAN, r.base, r.free,
			       GCHEAP_REFILL_RELEASE_ONLY, &r));
	memset(global_root, 0, sizeof(global_root));
}

FIXTURE_TEARDOWN(gc)
{
	close(self->fd);
}

static uint64_t live(struct __test_metadata *_metadata, int fd)
{
	struct gcheap_stats st;

	EXPECT_EQ(0, gh_stats(fd, &st, NULL));
	EXPECT_EQ(st.mallocs - st.frees, st.heap_objects);
	return st.heap_objects;
}

TEST_F(gc, keeps_reachable_frees_the_rest)
{
	uint64_t **o = self->obj;
	uint64_t passed[2];
	struct gcheap_range r = { (uintptr_t)passed, (uintptr_t)(passed + 2) };
	struct gcheap_refill rr;
	struct gcheap_gc g;

	/* global -> o0 -> o1 -> o2 (interior); passed -> o50 (interior) */
	o[0][0] = (uintptr_t)o[1];
	o[1][3] = (uintptr_t)o[2] + 40;
	/* o3 only from a noscan object: not followed. */
	self->nos[0][0] = (uintptr_t)o[3];
	global_root[1] = (uintptr_t)o[0];
	global_root[2] = (uintptr_t)self->nos[0];
	passed[0] = (uintptr_t)o[50] + 9;
	passed[1] = 0xfeedfacecafe;
	ASSERT_EQ(0, gh_roots(self->fd, global_root, global_root + 4, 0));
	ASSERT_EQ(0, gh_gc(self->fd, &r, 1, 0, &g));
	EXPECT_EQ(1, g.cycle);
	EXPECT_EQ(5, g.objects_marked);
	EXPECT_EQ(5 * 64, g.heap_marked);
	EXPECT_EQ(102 * 64, g.heap_before);
	EXPECT_EQ(5, live(_metadata, self->fd));
	/* Survivors intact. */
	EXPECT_EQ(0x5eed0000, o[0][7]);
	EXPECT_EQ(0x5eed0002, o[2][7]);
	EXPECT_EQ(0x5eed0000 + 50, o[50][7]);
	/*
	 * The dead keep their bytes until reused: the span comes back with
	 * NEEDZERO, and the freed slots among its free ones.
	 */
	ASSERT_EQ(0, gh_refill(self->fd, SC, 0, NULL, 0, &rr));
	EXPECT_EQ((uintptr_t)o[0], rr.base);
	EXPECT_EQ(GCHEAP_SPAN_NEEDZERO, rr.out_flags & GCHEAP_SPAN_NEEDZERO);
	EXPECT_TRUE(rr.free[0] & (1ULL << 3));
	EXPECT_TRUE(rr.free[99 / 64] & (1ULL << (99 % 64)));
	EXPECT_FALSE(rr.free[0] & (1ULL << 2));
	ASSERT_EQ(0, gh_refill(self->fd, SC, rr.base, rr.free,
			       GCHEAP_REFILL_RELEASE_ONLY, &rr));

	/* A removed root keeps nothing. */
	ASSERT_EQ(0, gh_roots(self->fd, global_root, global_root + 4,
			      GCHEAP_ROOTS_REMOVE));
	ASSERT_EQ(0, gh_gc(self->fd, NULL, 0, 0, &g));
	EXPECT_EQ(2, g.cycle);
	EXPECT_EQ(0, live(_metadata, self->fd));
}

TEST_F(gc, cycles_and_lazy_sweep)
{
	uint64_t **o = self->obj;
	struct gcheap_stats st;
	struct gcheap_gc g;
	int i;

	o[10][0] = (uintptr_t)o[11];
	o[11][0] = (uintptr_t)o[10];
	ASSERT_EQ(0, gh_gc(self->fd, NULL, 0, GCHEAP_GC_NOSWEEP, &g));
	EXPECT_EQ(0, g.objects_marked);
	/* The background sweeper gets to it soon; poll, no timing assumed. */
	for (i = 0; i < 600 && live(_metadata, self->fd); i++)
		usleep(50000);
	EXPECT_EQ(0, live(_metadata, self->fd));
	ASSERT_EQ(0, gh_stats(self->fd, &st, NULL));
	EXPECT_EQ(1, st.num_gc);
	EXPECT_LT(0, st.pause_total_ns);
	EXPECT_LT(0, st.last_gc);
	EXPECT_EQ(4ULL << 20, st.next_gc);
	EXPECT_EQ(102 * 64, st.total_alloc);
}

TEST_F(gc, busy_with_a_cached_span)
{
	struct gcheap_refill r;
	struct gcheap_gc g;

	ASSERT_EQ(0, gh_refill(self->fd, SC, 0, NULL, 0, &r));
	EXPECT_EQ(EBUSY, gh_gc(self->fd, NULL, 0, 0, &g));
	ASSERT_EQ(0, gh_refill(self->fd, SC, r.base, r.free,
			       GCHEAP_REFILL_RELEASE_ONLY, &r));
	EXPECT_EQ(0, gh_gc(self->fd, NULL, 0, 0, &g));
}

TEST_F(gc, pauses_and_config)
{
	struct gcheap_pause pauses[GCHEAP_NUM_PAUSES];
	struct gcheap_gc_config c = { .size = sizeof(c) };
	struct gcheap_stats st;
	struct gcheap_gc g;
	int i;

	/* Reading the config changes nothing. */
	ASSERT_EQ(0, gh_ioctl(self->fd, GCHEAP_IOC_GC_CONFIG, &c));
	EXPECT_EQ(100, c.gc_percent);
	c.flags = GCHEAP_GC_SET_PERCENT | GCHEAP_GC_SET_TRACE;
	c.gc_percent = GCHEAP_GC_OFF;
	c.gctrace = 1;
	ASSERT_EQ(0, gh_ioctl(self->fd, GCHEAP_IOC_GC_CONFIG, &c));
	EXPECT_EQ(100, c.gc_percent);
	c.flags = 0;
	ASSERT_EQ(0, gh_ioctl(self->fd, GCHEAP_IOC_GC_CONFIG, &c));
	EXPECT_EQ(GCHEAP_GC_OFF, c.gc_percent);
	EXPECT_EQ(1, c.gctrace);

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, gh_gc(self->fd, NULL, 0, 0, &g));
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	st.pauses = (uintptr_t)pauses;
	ASSERT_EQ(0, gh_ioctl(self->fd, GCHEAP_IOC_STATS, &st));
	EXPECT_EQ(3, st.num_gc);
	EXPECT_EQ(UINT64_MAX, st.next_gc);
	EXPECT_LT(0, pauses[2].ns);
	EXPECT_LE(pauses[0].end, pauses[2].end);
	EXPECT_EQ(0, pauses[3].ns);
	EXPECT_EQ(pauses[0].ns + pauses[1].ns + pauses[2].ns, st.pause_total_ns);
}

/* How a test writes a word of the arena. */
enum gh_write_how { GH_STORE, GH_VM_WRITEV, GH_PROC_MEM };

static int gh_write_word(enum gh_write_how how, uint64_t *dst, uint64_t val)
{
	struct iovec local = { &val, sizeof(val) };
	struct iovec remote = { dst, sizeof(val) };
	ssize_t n;
	int fd;

	switch (how) {
	case GH_STORE:
		*(volatile uint64_t *)dst = val;
		return 0;
	case GH_VM_WRITEV:
		n = process_vm_writev(getpid(), &local, 1, &remote, 1, 0);
		return n == sizeof(val) ? 0 : -1;
	case GH_PROC_MEM:
		fd = open("/proc/self/mem", O_RDWR);
		if (fd < 0)
			return -1;
		n = pwrite(fd, &val, sizeof(val), (off_t)(uintptr_t)dst);
		close(fd);
		return n == sizeof(val) ? 0 : -1;
	}
	return -1;
}

/*
 * A pointer written, during a concurrent mark, into an object the mark has
 * scanned already is found when the mark ends, however it was written: by
 * the program's own store (the page-table dirty bit), or by the kernel on
 * the program's behalf (process_vm_writev(), /proc/self/mem), which sets
 * no dirty bit in the program's page tables.
 */
static void written_during_mark(struct __test_metadata *_metadata,
				FIXTURE_DATA(gc) *self, enum gh_write_how how)
{
	uint64_t **o = self->obj;
	struct gcheap_lookup l;
	struct gcheap_gc g;

	global_root[0] = (uintptr_t)o[0];
	ASSERT_EQ(0, gh_roots(self->fd, global_root, global_root + 4, 0));
	ASSERT_EQ(0, gh_gc(self->fd, NULL, 0, GCHEAP_GC_CONCURRENT, &g));
	ASSERT_EQ(GCHEAP_GC_MARKING, g.out_flags & GCHEAP_GC_MARKING);
	/* The worker scans o0, the only grey object, meanwhile. */
	usleep(300000);
	/* o1, white, goes into o0, black: the end must look at it again. */
	ASSERT_EQ(0, gh_write_word(how, &o[0][2], (uintptr_t)o[1]));
	ASSERT_EQ(0, gh_gc(self->fd, NULL, 0, GCHEAP_GC_CONCURRENT, &g));
	ASSERT_EQ(0, g.out_flags & GCHEAP_GC_MARKING);
	EXPECT_EQ(0, gh_lookup(self->fd, (uintptr_t)o[1], &l));
	EXPECT_EQ(0x5eed0001, o[1][7]);
	/* The collection did free what nothing reaches. */
	EXPECT_EQ(ENOENT, gh_lookup(self->fd, (uintptr_t)o[2], &l));
}

TEST_F(gc, concurrent_sees_stores)
{
	written_during_mark(_metadata, self, GH_STORE);
}

TEST_F(gc, concurrent_sees_process_vm_writev)
{
	written_during_mark(_metadata, self, GH_VM_WRITEV);
}

TEST_F(gc, concurrent_sees_proc_mem_writes)
{
	written_during_mark(_metadata, self, GH_PROC_MEM);
}

TEST_F(gc, errors)
{
	struct gcheap_gc_config c = { .size = sizeof(c) };
	struct gcheap_range big = { 0, 0 };
	struct gcheap_gc g;
	int i;

	/* ROOTS */
	EXPECT_EQ(EINVAL, gh_roots(self->fd, global_root + 1, global_root, 0));
	EXPECT_EQ(EINVAL, gh_roots(self->fd, global_root, global_root + 1, 1U << 5));
	EXPECT_EQ(EINVAL, gh_roots(self->fd, (void *)0x1000,
				   (void *)0xffff800000000000UL, 0));
	EXPECT_EQ(ENOENT, gh_roots(self->fd, global_root, global_root + 4,
				   GCHEAP_ROOTS_REMOVE));
	for (i = 0; i < GCHEAP_MAX_ROOTS; i++)
		ASSERT_EQ(0, gh_roots(self->fd, global_root, global_root + 1, 0));
	EXPECT_EQ(ENOSPC, gh_roots(self->fd, global_root, global_root + 1, 0));
	EXPECT_EQ(0, gh_roots(self->fd, global_root, global_root + 1,
			      GCHEAP_ROOTS_REMOVE));

	/* GC */
	EXPECT_EQ(EINVAL, gh_gc(self->fd, NULL, 0, 1U << 6, &g));
	EXPECT_EQ(EFAULT, gh_gc(self->fd, (void *)8, 1, 0, &g));
	EXPECT_EQ(E2BIG, gh_gc(self->fd, NULL, GCHEAP_MAX_ROOTS + 1, 0, &g));
	/* More root memory than a collection reads. */
	big.lo = (uintptr_t)self->arena;
	big.hi = big.lo + GCHEAP_MAX_ROOT_BYTES + 8;
	EXPECT_EQ(E2BIG, gh_gc(self->fd, &big, 1, 0, &g));

	/* GC_CONFIG */
	c.flags = GCHEAP_GC_SET_PERCENT;
	c.gc_percent = -2;
	EXPECT_EQ(EINVAL, gh_ioctl(self->fd, GCHEAP_IOC_GC_CONFIG, &c));
	c.flags = GCHEAP_GC_SET_TRACE;
	c.gctrace = 2;
	EXPECT_EQ(EINVAL, gh_ioctl(self->fd, GCHEAP_IOC_GC_CONFIG, &c));
	c.flags = 1U << 7;
	EXPECT_EQ(EINVAL, gh_ioctl(self->fd, GCHEAP_IOC_GC_CONFIG, &c));
	/* Limits count whole heap pages; a failed call sets neither. */
	c.flags = GCHEAP_GC_SET_SOFT_LIMIT | GCHEAP_GC_SET_HARD_LIMIT;
	c.soft_limit = 4 * GCHEAP_PAGE_SIZE;
	c.hard_limit = 12345;
	EXPECT_EQ(EINVAL, gh_ioctl(self->fd, GCHEAP_IOC_GC_CONFIG, &c));
	c.soft_limit = GCHEAP_PAGE_SIZE + 8;
	c.hard_limit = 0;
	EXPECT_EQ(EINVAL, gh_ioctl(self->fd, GCHEAP_IOC_GC_CONFIG, &c));
	c.flags = 0;
	ASSERT_EQ(0, gh_ioctl(self->fd, GCHEAP_IOC_GC_CONFIG, &c));
	EXPECT_EQ(0, c.soft_limit);
	EXPECT_EQ(0, c.hard_limit);
}

TEST(gc_before_mmap)
{
	struct gcheap_gc g = { .size = sizeof(g) };
	struct gcheap_roots r = { .size = sizeof(r), .lo = 8, .hi = 16 };
	int fd = gh_open();

	ASSERT_LE(0, fd);
	EXPECT_EQ(ENXIO, gh_ioctl(fd, GCHEAP_IOC_GC, &g));
	EXPECT_EQ(ENXIO, gh_ioctl(fd, GCHEAP_IOC_ROOTS, &r));
	close(fd);
}

TEST_HARNESS_MAIN
