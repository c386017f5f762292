// SPDX-License-Identifier: GPL-2.0
/*
 * gcheap_errno_test: every documented error of <linux/gcheap.h>, asserted
 * with raw ioctls and mmaps on fresh descriptors (no library in between):
 * bad sizes, flags, reserved fields, pointers, ioctl numbers, the order of
 * mmap and ioctls, mmap arguments, and the errors of each operation.
 */
#include <stddef.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"

#include "gcheap_util.h"

GH_REQUIRE_DEVICE();

#define MiB		(1024UL * 1024)
#define ARENA_SIZE	(64 * MiB)

/* An fd with no arena yet. */
FIXTURE(unmapped) {
	int fd;
	struct gcheap_api api;
};

FIXTURE_SETUP(unmapped)
{
	self->fd = gh_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", GH_DEVICE,
				      strerror(errno));
	ASSERT_EQ(0, gh_api(self->fd, &self->api));
}

FIXTURE_TEARDOWN(unmapped)
{
	close(self->fd);
}

/* An fd with a 64 MiB arena mapped, and the size-class table. */
FIXTURE(heap) {
	int fd;
	struct gcheap_api api;
	char *arena;
	unsigned int nclasses;
	struct gcheap_size_class cls[GH_MAX_CLASSES];
};

FIXTURE_SETUP(heap)
{
	void *base;

	self->fd = gh_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", GH_DEVICE,
				      strerror(errno));
	ASSERT_EQ(0, gh_api(self->fd, &self->api));
	ASSERT_EQ(0, gh_size_classes(self->fd, self->cls, &self->nclasses));
	ASSERT_EQ(GH_NUM_CLASSES, self->nclasses);
	ASSERT_EQ(0, gh_map(self->fd, ARENA_SIZE, &base));
	self->arena = base;
}

FIXTURE_TEARDOWN(heap)
{
	if (self->arena)
		munmap(self->arena, ARENA_SIZE);
	close(self->fd);
}

/*
 * Two pages, the second PROT_NONE: a struct placed at the end of the first
 * is readable up to the boundary and faults past it.
 */
static char *guarded_page(struct __test_metadata *_metadata)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, mprotect(p + pg, pg, PROT_NONE));
	return p + pg;	/* the guard; the usable page is below it */
}

static void stats_now(struct __test_metadata *_metadata, int fd,
		      struct gcheap_stats *st)
{
	ASSERT_EQ(0, gh_stats(fd, st, NULL));
}

/* ================ Before mmap ================ */

TEST_F(unmapped, api_before_mmap)
{
	const struct gcheap_api *a = &self->api;
	struct gcheap_api after;
	void *base = NULL;

	EXPECT_EQ(GCHEAP_API_VERSION, a->api_version);
	EXPECT_EQ(GCHEAP_FEATURE_CACHED_SPANS | GCHEAP_FEATURE_FREE_LOOKUP |
		  GCHEAP_FEATURE_FINALIZERS | GCHEAP_FEATURE_LINKS |
		  GCHEAP_FEATURE_PROFILE | GCHEAP_FEATURE_DUMP, a->features);
	EXPECT_EQ(0, a->arena_base);
	EXPECT_EQ(0, a->arena_size);
	EXPECT_EQ(GCHEAP_PAGE_SIZE, a->page_size);
	EXPECT_EQ(GCHEAP_MAX_SMALL_SIZE, a->max_small_size);
	EXPECT_EQ(GH_NUM_CLASSES, a->num_size_classes);
	EXPECT_EQ(GCHEAP_SPAN_MAX_ELEMS, a->span_max_elems);
	EXPECT_GE(a->arena_max, ARENA_SIZE);
	EXPECT_EQ(0, a->arena_max % GCHEAP_PAGE_SIZE);

	ASSERT_EQ(0, gh_map(self->fd, ARENA_SIZE, &base));
	ASSERT_EQ(0, gh_api(self->fd, &after));
	EXPECT_EQ((uintptr_t)base, after.arena_base);
	EXPECT_EQ(ARENA_SIZE, after.arena_size);
	munmap(base, ARENA_SIZE);
}

/* The size-class table: Go's 68 classes, 8 bytes to 32 KiB. */
TEST_F(unmapped, size_class_table)
{
	struct gcheap_size_class cls[GH_MAX_CLASSES];
	unsigned int n, c;

	memset(cls, 0xff, sizeof(cls));
	ASSERT_EQ(0, gh_size_classes(self->fd, cls, &n));
	ASSERT_EQ(GH_NUM_CLASSES, n);
	EXPECT_EQ(0, cls[0].size);
	EXPECT_EQ(8, cls[1].size);
	EXPECT_EQ(16, cls[2].size);
	EXPECT_EQ(GCHEAP_MAX_SMALL_SIZE, cls[n - 1].size);
	for (c = 1; c < n; c++) {
		uint64_t span = (uint64_t)cls[c].npages * GCHEAP_PAGE_SIZE;

		EXPECT_LT(cls[c - 1].size, cls[c].size) TH_LOG("class %u", c);
		EXPECT_EQ(0, cls[c].size % 8) TH_LOG("class %u", c);
		ASSERT_GE(cls[c].npages, 1) TH_LOG("class %u", c);
		EXPECT_LE(span / cls[c].size, GCHEAP_SPAN_MAX_ELEMS);
		/* A span's tail no slot covers is under 1/8 of it. */
		EXPECT_LE(span % cls[c].size, span / 8) TH_LOG("class %u", c);
	}
	/* The rows past the count were not written. */
	EXPECT_EQ(0xffffffff, cls[n].size);
}

/*
 * The ioctls that need an arena and reach no object: each gives ENXIO
 * (@where says when, for the log).
 */
static void expect_enxio_specials(struct __test_metadata *_metadata, int fd,
				  const char *where)
{
	struct gcheap_profile_count counts[4];
	struct gcheap_finalizer f = {
		.size = sizeof(f), .addr = 0x10000, .fn = 1,
	};
	struct gcheap_link l = {
		.size = sizeof(l), .link = 0x10000, .obj = 0x10000,
	};
	struct gcheap_profile add = {
		.size = sizeof(add), .op = GCHEAP_PROFILE_ADD, .addr = 0x10000,
	};
	struct gcheap_profile rd = {
		.size = sizeof(rd), .op = GCHEAP_PROFILE_READ,
		.count = 4, .buf = (uintptr_t)counts,
	};
	struct gcheap_dump d = { .size = sizeof(d) };

	EXPECT_EQ(ENXIO, gh_ioctl(fd, GCHEAP_IOC_FINALIZER, &f)) TH_LOG("%s", where);
	EXPECT_EQ(ENXIO, gh_ioctl(fd, GCHEAP_IOC_LINK, &l)) TH_LOG("%s", where);
	l.flags = GCHEAP_LINK_REMOVE;
	EXPECT_EQ(ENXIO, gh_ioctl(fd, GCHEAP_IOC_LINK, &l)) TH_LOG("%s", where);
	EXPECT_EQ(ENXIO, gh_ioctl(fd, GCHEAP_IOC_PROFILE, &add)) TH_LOG("%s", where);
	EXPECT_EQ(ENXIO, gh_ioctl(fd, GCHEAP_IOC_PROFILE, &rd)) TH_LOG("%s", where);
	EXPECT_EQ(ENXIO, gh_ioctl(fd, GCHEAP_IOC_DUMP, &d)) TH_LOG("%s", where);
}

TEST_F(unmapped, enxio_before_mmap)
{
	struct gcheap_refill r;
	struct gcheap_alloc a;
	struct gcheap_lookup l;
	struct gcheap_stats st;

	EXPECT_EQ(ENXIO, gh_refill(self->fd, GCHEAP_SPANCLASS(1, 0), 0, NULL,
				   0, &r));
	EXPECT_EQ(ENXIO, gh_alloc(self->fd, 100000, 0, &a));
	EXPECT_EQ(ENXIO, gh_free(self->fd, 0x10000));
	EXPECT_EQ(ENXIO, gh_lookup(self->fd, 0x10000, &l));
	EXPECT_EQ(ENXIO, gh_stats(self->fd, &st, NULL));
	expect_enxio_specials(_metadata, self->fd, "before mmap");
}

TEST_F(unmapped, mmap_errors)
{
	struct gcheap_api a;
	void *base, *p;

	/* Not MAP_SHARED, an offset, a length not a multiple of 8 KiB. */
	p = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		 self->fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->fd, GCHEAP_PAGE_SIZE);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(EINVAL, gh_map(self->fd, 4096, &base));
	EXPECT_EQ(EINVAL, gh_map(self->fd, GCHEAP_PAGE_SIZE + 4096, &base));

	/* Longer than the module allows (if the address space can say so). */
	if (self->api.arena_max < (1ULL << 45)) {
		EXPECT_EQ(EFBIG, gh_map(self->fd,
					self->api.arena_max + GCHEAP_PAGE_SIZE,
					&base));
	}

	/* None of that gave the heap an arena. */
	ASSERT_EQ(0, gh_api(self->fd, &a));
	EXPECT_EQ(0, a.arena_base);

	ASSERT_EQ(0, gh_map(self->fd, ARENA_SIZE, &base));
	/* One arena per heap. */
	EXPECT_EQ(EBUSY, gh_map(self->fd, ARENA_SIZE, &p));
	EXPECT_EQ(EBUSY, gh_map(self->fd, GCHEAP_PAGE_SIZE, &p));
	munmap(base, ARENA_SIZE);
}

/* A heap at the largest size allowed maps (its pages come on demand). */
TEST_F(unmapped, mmap_arena_max)
{
	void *base;
	size_t len = self->api.arena_max;

	if (len > (1ULL << 40))
		len = 1ULL << 40;
	len &= ~(GCHEAP_PAGE_SIZE - 1);
	ASSERT_EQ(0, gh_map(self->fd, len, &base));
	munmap(base, len);
}

/* ================ Struct sizes, flags, reserved fields ================ */

/*
 * One valid request per ioctl, in a buffer with room past the struct, to try
 * it with every @size.
 */
struct any_req {
	union {
		struct gcheap_api api;
		struct gcheap_size_classes sc;
		struct gcheap_refill refill;
		struct gcheap_alloc alloc;
		struct gcheap_free free;
		struct gcheap_lookup lookup;
		struct gcheap_stats stats;
		unsigned char bytes[512];
	};
	unsigned char tail[64];
};

/*
 * @size: the struct as this test knows it; @min: the end of the struct's
 * first version, below which the kernel refuses it (EINVAL).
 */
struct req_kind {
	const char *name;
	unsigned long cmd;
	size_t size;
	size_t min;
};

#define REQ_KIND(name, cmd, type, last)					\
	{ name, cmd, sizeof(type),					\
	  offsetof(type, last) + sizeof(((type *)0)->last) }

static const struct req_kind kinds[] = {
	REQ_KIND("API", GCHEAP_IOC_API, struct gcheap_api, span_max_elems),
	REQ_KIND("SIZE_CLASSES", GCHEAP_IOC_SIZE_CLASSES,
		 struct gcheap_size_classes, table),
	REQ_KIND("REFILL", GCHEAP_IOC_REFILL, struct gcheap_refill, free),
	REQ_KIND("ALLOC", GCHEAP_IOC_ALLOC, struct gcheap_alloc, usable),
	REQ_KIND("FREE", GCHEAP_IOC_FREE, struct gcheap_free, addr),
	REQ_KIND("LOOKUP", GCHEAP_IOC_LOOKUP, struct gcheap_lookup, __reserved),
	REQ_KIND("STATS", GCHEAP_IOC_STATS, struct gcheap_stats, bad_frees),
};

#define NKINDS ARRAY_SIZE(kinds)

/*
 * Fill @q with a request of kind @k that succeeds. FREE needs an object:
 * a large one is allocated for it.
 */
static void make_req(struct __test_metadata *_metadata, int fd,
		     struct gcheap_size_class *table, unsigned int k,
		     struct any_req *q, uint32_t size)
{
	struct gcheap_alloc a;

	memset(q, 0, sizeof(*q));
	q->api.size = size;
	switch (kinds[k].cmd) {
	case GCHEAP_IOC_SIZE_CLASSES:
		q->sc.count = GH_MAX_CLASSES;
		q->sc.table = (uintptr_t)table;
		break;
	case GCHEAP_IOC_REFILL:
		q->refill.spanclass = GCHEAP_SPANCLASS(3, 0);
		break;
	case GCHEAP_IOC_ALLOC:
		q->alloc.bytes = 50000;
		break;
	case GCHEAP_IOC_FREE:
		ASSERT_EQ(0, gh_alloc(fd, 50000, 0, &a));
		q->free.addr = a.addr;
		break;
	case GCHEAP_IOC_LOOKUP:
		ASSERT_EQ(0, gh_alloc(fd, 50000, 0, &a));
		q->lookup.addr = a.addr + 100;
		break;
	}
}

TEST_F(heap, struct_size_too_small)
{
	struct any_req q;
	unsigned int k;

	for (k = 0; k < NKINDS; k++) {
		uint32_t sizes[] = { 0, 4, 8, kinds[k].min - 4,
				     kinds[k].min - 1 };
		unsigned int i;

		for (i = 0; i < ARRAY_SIZE(sizes); i++) {
			make_req(_metadata, self->fd, self->cls, k, &q,
				 sizes[i]);
			EXPECT_EQ(EINVAL, gh_ioctl(self->fd, kinds[k].cmd, &q))
				TH_LOG("%s with size %u", kinds[k].name,
				       sizes[i]);
		}
	}
}

TEST_F(heap, struct_size_larger)
{
	struct gcheap_stats before, after;
	struct any_req q;
	unsigned int k, i;

	for (k = 0; k < NKINDS; k++) {
		uint32_t size = kinds[k].size + sizeof(q.tail);

		/* A longer struct with a non-zero byte past the kernel's. */
		for (i = 0; i < sizeof(q.tail); i += 13) {
			make_req(_metadata, self->fd, self->cls, k, &q, size);
			stats_now(_metadata, self->fd, &before);
			q.bytes[kinds[k].size + i] = 1;
			EXPECT_EQ(E2BIG, gh_ioctl(self->fd, kinds[k].cmd, &q))
				TH_LOG("%s, tail byte %u set", kinds[k].name, i);
			/* ... is refused before anything happens. */
			stats_now(_metadata, self->fd, &after);
			EXPECT_EQ(before.heap_objects, after.heap_objects);
			EXPECT_EQ(before.cached_spans, after.cached_spans);
		}
		/* With the tail zero it works, and the tail is left alone. */
		make_req(_metadata, self->fd, self->cls, k, &q, size);
		EXPECT_EQ(0, gh_ioctl(self->fd, kinds[k].cmd, &q))
			TH_LOG("%s with a zero tail", kinds[k].name);
		for (i = kinds[k].size; i < size; i++) {
			ASSERT_EQ(0, q.bytes[i]) TH_LOG("%s wrote byte %u",
							kinds[k].name, i);
		}
		/* Far longer, all zero: still fine. */
		if (kinds[k].cmd != GCHEAP_IOC_FREE) {
			static unsigned char big[8192];

			memset(big, 0, sizeof(big));
			make_req(_metadata, self->fd, self->cls, k,
				 (struct any_req *)big, sizeof(big));
			EXPECT_EQ(0, gh_ioctl(self->fd, kinds[k].cmd, big))
				TH_LOG("%s with size 8192", kinds[k].name);
		}
	}
}

TEST_F(heap, unknown_flags)
{
	static const uint32_t bad[] = { 1U << 1, 1U << 7, 1U << 31 };
	struct any_req q;
	unsigned int k, i;

	for (k = 0; k < NKINDS; k++) {
		for (i = 0; i < ARRAY_SIZE(bad); i++) {
			make_req(_metadata, self->fd, self->cls, k, &q,
				 kinds[k].size);
			/* flags is the second u32 of every struct */
			q.api.flags = bad[i];
			EXPECT_EQ(EINVAL, gh_ioctl(self->fd, kinds[k].cmd, &q))
				TH_LOG("%s with flags %#x", kinds[k].name,
				       bad[i]);
		}
		/* Bit 0 is no flag of these either. */
		if (kinds[k].cmd == GCHEAP_IOC_REFILL ||
		    kinds[k].cmd == GCHEAP_IOC_ALLOC ||
		    kinds[k].cmd == GCHEAP_IOC_FREE)
			continue;
		make_req(_metadata, self->fd, self->cls, k, &q, kinds[k].size);
		q.api.flags = 1;
		EXPECT_EQ(EINVAL, gh_ioctl(self->fd, kinds[k].cmd, &q))
			TH_LOG("%s with flags 1", kinds[k].name);
	}
}

TEST_F(heap, reserved_fields)
{
	struct gcheap_size_classes sc = {
		.size = sizeof(sc), .count = GH_MAX_CLASSES,
		.table = (uintptr_t)self->cls, .__reserved = 1,
	};
	struct gcheap_api api = { .size = sizeof(api), .__reserved = 1 };
	struct gcheap_refill r;
	struct gcheap_lookup l;
	struct gcheap_stats st = { .size = sizeof(st), .__reserved = 1 };
	struct gcheap_alloc a;

	EXPECT_EQ(EINVAL, gh_ioctl(self->fd, GCHEAP_IOC_API, &api));
	EXPECT_EQ(EINVAL, gh_ioctl(self->fd, GCHEAP_IOC_SIZE_CLASSES, &sc));
	EXPECT_EQ(EINVAL, gh_ioctl(self->fd, GCHEAP_IOC_STATS, &st));
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.spanclass = GCHEAP_SPANCLASS(2, 0);
	r.__reserved = 0x100;
	EXPECT_EQ(EINVAL, gh_ioctl(self->fd, GCHEAP_IOC_REFILL, &r));
	ASSERT_EQ(0, gh_alloc(self->fd, 40000, 0, &a));
	memset(&l, 0, sizeof(l));
	l.size = sizeof(l);
	l.addr = a.addr;
	l.__reserved = 1;
	EXPECT_EQ(EINVAL, gh_ioctl(self->fd, GCHEAP_IOC_LOOKUP, &l));
	/* REFILL's out_flags is output only: ignored on input. */
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.spanclass = GCHEAP_SPANCLASS(2, 0);
	r.out_flags = 0xffffffff;
	EXPECT_EQ(0, gh_ioctl(self->fd, GCHEAP_IOC_REFILL, &r));
	EXPECT_EQ(0, r.out_flags & ~GCHEAP_SPAN_NEEDZERO);
}

TEST_F(heap, unknown_ioctl)
{
	const unsigned long cmds[] = {
		_IO(GCHEAP_TYPE, 0),
		_IO(GCHEAP_TYPE, GCHEAP_CMD_API - 1),
		_IO(GCHEAP_TYPE, GCHEAP_CMD_DUMP + 1),
		_IO(GCHEAP_TYPE, 0xff),
		_IO(GCHEAP_TYPE + 1, GCHEAP_CMD_API),
		_IO('x', GCHEAP_CMD_STATS),
		/* A known number with a direction and size encoded. */
		_IOWR(GCHEAP_TYPE, GCHEAP_CMD_API, struct gcheap_api),
		_IOR(GCHEAP_TYPE, GCHEAP_CMD_STATS, struct gcheap_stats),
	};
	struct any_req q;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		make_req(_metadata, self->fd, self->cls, 0, &q,
			 sizeof(struct gcheap_api));
		EXPECT_EQ(ENOTTY, gh_ioctl(self->fd, cmds[i], &q))
			TH_LOG("ioctl %#lx", cmds[i]);
	}
}

TEST_F(heap, bad_pointers)
{
	char *guard = guarded_page(_metadata);
	struct gcheap_size_classes sc;
	struct gcheap_stats st;
	const struct gcheap_size_class *ro;
	unsigned int k;

	for (k = 0; k < NKINDS; k++) {
		uint32_t *size_at_edge = (uint32_t *)(guard - 4);

		EXPECT_EQ(EFAULT, gh_ioctl(self->fd, kinds[k].cmd, NULL))
			TH_LOG("%s with NULL", kinds[k].name);
		EXPECT_EQ(EFAULT, gh_ioctl(self->fd, kinds[k].cmd, guard))
			TH_LOG("%s with an unmapped struct", kinds[k].name);
		/* @size readable, the rest of the struct not. */
		*size_at_edge = kinds[k].size;
		EXPECT_EQ(EFAULT, gh_ioctl(self->fd, kinds[k].cmd,
					   size_at_edge))
			TH_LOG("%s cut by the guard page", kinds[k].name);
		/* Arena memory of no span: faulting it in fails. */
		EXPECT_EQ(EFAULT, gh_ioctl(self->fd, kinds[k].cmd,
					   self->arena + ARENA_SIZE - 4096))
			TH_LOG("%s in free arena memory", kinds[k].name);
	}

	/* A zero tail that runs into the guard page cannot be checked. */
	memset(guard - 2 * sizeof(struct gcheap_api), 0,
	       2 * sizeof(struct gcheap_api));
	((struct gcheap_api *)(guard - sizeof(struct gcheap_api)))->size =
		sizeof(struct gcheap_api) + 64;
	EXPECT_EQ(EFAULT, gh_ioctl(self->fd, GCHEAP_IOC_API,
				   guard - sizeof(struct gcheap_api)));

	/* Buffers the structs point to. */
	memset(&sc, 0, sizeof(sc));
	sc.size = sizeof(sc);
	sc.count = GH_MAX_CLASSES;
	sc.table = 8;
	EXPECT_EQ(EFAULT, gh_ioctl(self->fd, GCHEAP_IOC_SIZE_CLASSES, &sc));
	sc.table = (uintptr_t)guard;
	EXPECT_EQ(EFAULT, gh_ioctl(self->fd, GCHEAP_IOC_SIZE_CLASSES, &sc));
	/* Read-only memory cannot take the table. */
	ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	sc.table = (uintptr_t)ro;
	EXPECT_EQ(EFAULT, gh_ioctl(self->fd, GCHEAP_IOC_SIZE_CLASSES, &sc));
	EXPECT_EQ(0, ro[0].size);

	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	st.nclasses = GH_MAX_CLASSES;
	st.by_class = (uintptr_t)guard - 64;
	EXPECT_EQ(EFAULT, gh_ioctl(self->fd, GCHEAP_IOC_STATS, &st));
	st.by_class = (uintptr_t)ro;
	EXPECT_EQ(EFAULT, gh_ioctl(self->fd, GCHEAP_IOC_STATS, &st));
	munmap((void *)ro, 4096);
}

/* ================ The operations' own errors ================ */

TEST_F(heap, size_classes_enospc)
{
	struct gcheap_size_class cls[GH_MAX_CLASSES];
	static const uint32_t counts[] = { 0, 1, GH_NUM_CLASSES - 1 };
	struct gcheap_size_classes sc;
	struct gcheap_stats st;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(counts); i++) {
		memset(&sc, 0, sizeof(sc));
		memset(cls, 0xee, sizeof(cls));
		sc.size = sizeof(sc);
		sc.count = counts[i];
		sc.table = (uintptr_t)cls;
		EXPECT_EQ(ENOSPC, gh_ioctl(self->fd, GCHEAP_IOC_SIZE_CLASSES,
					   &sc)) TH_LOG("count %u", counts[i]);
		EXPECT_EQ(GH_NUM_CLASSES, sc.count);
		/* Nothing written to a table too small. */
		EXPECT_EQ(0xeeeeeeee, cls[0].npages);
	}

	/* STATS the same way; no table wanted is fine. */
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	st.nclasses = 10;
	st.by_class = (uintptr_t)cls;
	EXPECT_EQ(ENOSPC, gh_ioctl(self->fd, GCHEAP_IOC_STATS, &st));
	EXPECT_EQ(GH_NUM_CLASSES, st.nclasses);
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	st.nclasses = 10;
	EXPECT_EQ(0, gh_ioctl(self->fd, GCHEAP_IOC_STATS, &st));
	EXPECT_EQ(GH_NUM_CLASSES, st.nclasses);
}

TEST_F(heap, alloc_errors)
{
	struct gcheap_lookup l;
	struct gcheap_alloc a;
	const uint64_t limit = UINT64_MAX - (GCHEAP_PAGE_SIZE - 1);
	uint64_t first;
	long i;

	EXPECT_EQ(EINVAL, gh_alloc(self->fd, 0, 0, &a));
	EXPECT_EQ(EINVAL, gh_alloc(self->fd, 0, GCHEAP_ALLOC_NOSCAN, &a));
	/* More than the arena holds. */
	EXPECT_EQ(ENOMEM, gh_alloc(self->fd, ARENA_SIZE + 1, 0, &a));
	EXPECT_EQ(ENOMEM, gh_alloc(self->fd, 1ULL << 62, 0, &a));
	/* The largest size that rounds up without overflow, and past it. */
	EXPECT_EQ(ENOMEM, gh_alloc(self->fd, limit, 0, &a));
	EXPECT_EQ(EOVERFLOW, gh_alloc(self->fd, limit + 1, 0, &a));
	EXPECT_EQ(EOVERFLOW, gh_alloc(self->fd, UINT64_MAX, 0, &a));

	/* What a good one returns. */
	ASSERT_EQ(0, gh_alloc(self->fd, 100001, GCHEAP_ALLOC_NOSCAN, &a));
	EXPECT_EQ(0, a.addr % GCHEAP_PAGE_SIZE);
	EXPECT_LE((uintptr_t)self->arena, a.addr);
	EXPECT_LE(a.addr + a.usable, (uintptr_t)self->arena + ARENA_SIZE);
	EXPECT_EQ(GH_ROUND_UP(100001, GCHEAP_PAGE_SIZE), a.usable);
	for (i = 0; i < (long)a.usable; i += 512) {
		ASSERT_EQ(0, ((char *)(uintptr_t)a.addr)[i]);
	}
	ASSERT_EQ(0, gh_lookup(self->fd, a.addr + 100000, &l));
	EXPECT_EQ(a.addr, l.base);
	EXPECT_EQ(a.usable, l.objsize);
	EXPECT_EQ(GCHEAP_SPANCLASS(0, 1), l.spanclass);
	first = a.addr;
	ASSERT_EQ(0, gh_alloc(self->fd, GCHEAP_MAX_SMALL_SIZE + 1, 0, &a));
	ASSERT_EQ(0, gh_lookup(self->fd, a.addr, &l));
	EXPECT_EQ(GCHEAP_SPANCLASS(0, 0), l.spanclass);
	EXPECT_NE(first, a.addr);

	/* Once both are freed, their pages join the rest: one arena-long object. */
	ASSERT_EQ(0, gh_free(self->fd, first));
	ASSERT_EQ(0, gh_free(self->fd, a.addr));
	ASSERT_EQ(0, gh_alloc(self->fd, ARENA_SIZE, 0, &a));
	EXPECT_EQ((uintptr_t)self->arena, a.addr);
	EXPECT_EQ(ENOMEM, gh_alloc(self->fd, 1, 0, &a));
}

TEST_F(heap, refill_errors)
{
	const unsigned int spc = GCHEAP_SPANCLASS(1, 0);
	__u64 left[GCHEAP_SPAN_BITMAP_WORDS] = { 0 };
	struct gcheap_stats st;
	struct gcheap_refill r, r2;
	struct gcheap_alloc a;
	uint64_t base;

	/* Size class 0 (large objects) and classes past the table. */
	EXPECT_EQ(EINVAL, gh_refill(self->fd, 0, 0, NULL, 0, &r));
	EXPECT_EQ(EINVAL, gh_refill(self->fd, 1, 0, NULL, 0, &r));
	EXPECT_EQ(EINVAL, gh_refill(self->fd, 2 * self->nclasses, 0, NULL, 0,
				    &r));
	EXPECT_EQ(EINVAL, gh_refill(self->fd, 2 * self->nclasses + 1, 0, NULL,
				    0, &r));
	EXPECT_EQ(EINVAL, gh_refill(self->fd, 0xffffffff, 0, NULL, 0, &r));
	/* RELEASE_ONLY with nothing to release. */
	EXPECT_EQ(EINVAL, gh_refill(self->fd, spc, 0, NULL,
				    GCHEAP_REFILL_RELEASE_ONLY, &r));

	/* A fresh span of 8-byte slots: all free, on fresh pages. */
	ASSERT_EQ(0, gh_refill(self->fd, spc, 0, NULL, 0, &r));
	base = r.base;
	EXPECT_EQ(0, base % GCHEAP_PAGE_SIZE);
	EXPECT_EQ(8, r.elemsize);
	EXPECT_EQ(self->cls[1].npages * GCHEAP_PAGE_SIZE / 8, r.nelems);
	EXPECT_EQ(r.nelems, r.nfree);
	EXPECT_EQ(r.nfree, gh_popcount(r.free, GCHEAP_SPAN_BITMAP_WORDS));
	EXPECT_EQ(0, r.out_flags);

	/* The highest span class works. */
	ASSERT_EQ(0, gh_refill(self->fd, 2 * self->nclasses - 1, 0, NULL, 0,
			       &r2));
	EXPECT_EQ(GCHEAP_MAX_SMALL_SIZE, r2.elemsize);
	/* Given back untouched: nothing allocated from it. */
	ASSERT_EQ(0, gh_refill(self->fd, 2 * self->nclasses - 1, r2.base,
			       r2.free, GCHEAP_REFILL_RELEASE_ONLY, &r2));

	ASSERT_EQ(0, gh_alloc(self->fd, 50000, 0, &a));
	stats_now(_metadata, self->fd, &st);
	EXPECT_EQ(1, st.cached_spans);

	/* Giving back what is not a cached span of the class: EINVAL. */
	EXPECT_EQ(EINVAL, gh_refill(self->fd, GCHEAP_SPANCLASS(2, 0), base,
				    NULL, 0, &r2)) TH_LOG("wrong class");
	EXPECT_EQ(EINVAL, gh_refill(self->fd, GCHEAP_SPANCLASS(1, 1), base,
				    NULL, 0, &r2)) TH_LOG("noscan of the class");
	EXPECT_EQ(EINVAL, gh_refill(self->fd, spc, base + 8, NULL, 0, &r2))
		TH_LOG("not the span's base");
	EXPECT_EQ(EINVAL, gh_refill(self->fd, spc, a.addr, NULL, 0, &r2))
		TH_LOG("a large object");
	EXPECT_EQ(EINVAL, gh_refill(self->fd, spc,
				    (uintptr_t)self->arena + ARENA_SIZE -
				    GCHEAP_PAGE_SIZE, NULL, 0, &r2))
		TH_LOG("arena memory of no span");
	EXPECT_EQ(EINVAL, gh_refill(self->fd, spc, 0x10000, NULL, 0, &r2))
		TH_LOG("outside the arena");
	/* ... and nothing changed. */
	stats_now(_metadata, self->fd, &st);
	EXPECT_EQ(1, st.cached_spans);
	EXPECT_EQ(2, st.refills);
	EXPECT_EQ(1, st.mallocs);

	/* Give it back with slots 0..9 used, then again: not cached now. */
	memcpy(left, r.free, sizeof(left));
	left[0] &= ~0x3ffULL;
	ASSERT_EQ(0, gh_refill(self->fd, spc, base, left,
			       GCHEAP_REFILL_RELEASE_ONLY, &r2));
	EXPECT_EQ(0, r2.base);
	EXPECT_EQ(0, r2.nelems);
	EXPECT_EQ(EINVAL, gh_refill(self->fd, spc, base, left,
				    GCHEAP_REFILL_RELEASE_ONLY, &r2));
	stats_now(_metadata, self->fd, &st);
	EXPECT_EQ(0, st.cached_spans);
	EXPECT_EQ(11, st.mallocs);
	EXPECT_EQ(11, st.heap_objects);
}

TEST_F(heap, free_errors)
{
	const unsigned int spc = GCHEAP_SPANCLASS(2, 0);	/* 16 bytes */
	__u64 left[GCHEAP_SPAN_BITMAP_WORDS];
	uint64_t arena = (uintptr_t)self->arena, base;
	struct gcheap_stats st;
	struct gcheap_refill r;
	struct gcheap_alloc a;
	static int global;

	/* Not in a span: outside the arena, or arena memory of no span. */
	EXPECT_EQ(ENOENT, gh_free(self->fd, 0));
	EXPECT_EQ(ENOENT, gh_free(self->fd, (uintptr_t)&global));
	EXPECT_EQ(ENOENT, gh_free(self->fd, arena - 8));
	EXPECT_EQ(ENOENT, gh_free(self->fd, arena + ARENA_SIZE));
	EXPECT_EQ(ENOENT, gh_free(self->fd, arena + ARENA_SIZE - 16));
	EXPECT_EQ(ENOENT, gh_free(self->fd, arena));

	/* Slots 0 and 1 allocated through a cached span given back. */
	ASSERT_EQ(0, gh_refill(self->fd, spc, 0, NULL, 0, &r));
	base = r.base;
	memcpy(left, r.free, sizeof(left));
	left[0] &= ~3ULL;
	ASSERT_EQ(0, gh_refill(self->fd, spc, base, left,
			       GCHEAP_REFILL_RELEASE_ONLY, &r));
	EXPECT_EQ(EINVAL, gh_free(self->fd, base + 8)) TH_LOG("interior");
	EXPECT_EQ(EINVAL, gh_free(self->fd, base + 16 + 1)) TH_LOG("interior");
	EXPECT_EQ(EALREADY, gh_free(self->fd, base + 32)) TH_LOG("never used");
	EXPECT_EQ(0, gh_free(self->fd, base));
	EXPECT_EQ(EALREADY, gh_free(self->fd, base)) TH_LOG("double free");

	/*
	 * A cached span: a handed-out slot freed twice by its cache; from
	 * anyone else, a free of one changes nothing (left to the collector).
	 */
	ASSERT_EQ(0, gh_refill(self->fd, GCHEAP_SPANCLASS(3, 1), 0, NULL, 0,
			       &r));
	EXPECT_EQ(0, gh_free_flags(self->fd, r.base + r.elemsize,
				   GCHEAP_FREE_CACHED));
	EXPECT_EQ(EALREADY, gh_free_flags(self->fd, r.base + r.elemsize,
					  GCHEAP_FREE_CACHED));
	EXPECT_EQ(0, gh_free(self->fd, r.base + 2 * r.elemsize));
	EXPECT_EQ(0, gh_free(self->fd, r.base + 2 * r.elemsize));
	EXPECT_EQ(EINVAL, gh_free(self->fd, r.base + 4));
	EXPECT_EQ(EINVAL, gh_free_flags(self->fd, r.base + 3 * r.elemsize, 2));

	/* Large objects. */
	ASSERT_EQ(0, gh_alloc(self->fd, 3 * GCHEAP_PAGE_SIZE, 0, &a));
	EXPECT_EQ(EINVAL, gh_free(self->fd, a.addr + 8));
	EXPECT_EQ(EINVAL, gh_free(self->fd, a.addr + GCHEAP_PAGE_SIZE));
	EXPECT_EQ(0, gh_free(self->fd, a.addr));
	/* Its span is free now: no span in use holds the address. */
	EXPECT_EQ(ENOENT, gh_free(self->fd, a.addr));

	/* Only the good frees counted. */
	stats_now(_metadata, self->fd, &st);
	EXPECT_EQ(2, st.frees);
	EXPECT_EQ(0, st.bad_frees);
	EXPECT_EQ(1, st.heap_objects);
}

/* The end of a span no slot covers is no object. */
TEST_F(heap, free_and_lookup_span_tail)
{
	__u64 left[GCHEAP_SPAN_BITMAP_WORDS] = { 0 };
	struct gcheap_lookup l;
	struct gcheap_refill r;
	unsigned int c;
	uint64_t base, tail;

	for (c = 1; c < self->nclasses; c++)
		if ((self->cls[c].npages * GCHEAP_PAGE_SIZE) % self->cls[c].size)
			break;
	ASSERT_LT(c, self->nclasses) TH_LOG("no class has a tail");
	/* Every slot used, so the span stays in use. */
	ASSERT_EQ(0, gh_refill(self->fd, GCHEAP_SPANCLASS(c, 0), 0, NULL, 0,
			       &r));
	base = r.base;
	ASSERT_EQ(0, gh_refill(self->fd, GCHEAP_SPANCLASS(c, 0), base, left,
			       GCHEAP_REFILL_RELEASE_ONLY, &r));
	ASSERT_EQ(0, gh_lookup(self->fd, base, &l));
	tail = base + (uint64_t)(self->cls[c].npages * GCHEAP_PAGE_SIZE /
				 self->cls[c].size) * self->cls[c].size;
	ASSERT_EQ(0, gh_lookup(self->fd, tail - 1, &l));
	EXPECT_EQ(tail - self->cls[c].size, l.base);
	EXPECT_EQ(ENOENT, gh_free(self->fd, tail));
	EXPECT_EQ(ENOENT, gh_lookup(self->fd, tail, &l));
}

TEST_F(heap, lookup_errors)
{
	__u64 left[GCHEAP_SPAN_BITMAP_WORDS];
	uint64_t arena = (uintptr_t)self->arena;
	struct gcheap_lookup l;
	struct gcheap_refill r;
	struct gcheap_alloc a;
	uint64_t base;

	EXPECT_EQ(ENOENT, gh_lookup(self->fd, 0, &l));
	EXPECT_EQ(ENOENT, gh_lookup(self->fd, arena - 1, &l));
	EXPECT_EQ(ENOENT, gh_lookup(self->fd, arena, &l));
	EXPECT_EQ(ENOENT, gh_lookup(self->fd, arena + ARENA_SIZE - 1, &l));
	EXPECT_EQ(ENOENT, gh_lookup(self->fd, arena + ARENA_SIZE, &l));

	/* Slot 5 of a 48-byte span allocated, the rest not. */
	ASSERT_EQ(0, gh_refill(self->fd, GCHEAP_SPANCLASS(5, 1), 0, NULL, 0,
			       &r));
	ASSERT_EQ(48, r.elemsize);
	base = r.base;
	memcpy(left, r.free, sizeof(left));
	left[0] &= ~(1ULL << 5);
	ASSERT_EQ(0, gh_refill(self->fd, GCHEAP_SPANCLASS(5, 1), base, left,
			       GCHEAP_REFILL_RELEASE_ONLY, &r));
	ASSERT_EQ(0, gh_lookup(self->fd, base + 5 * 48 + 47, &l));
	EXPECT_EQ(base + 5 * 48, l.base);
	EXPECT_EQ(48, l.objsize);
	EXPECT_EQ(GCHEAP_SPANCLASS(5, 1), l.spanclass);
	EXPECT_EQ(ENOENT, gh_lookup(self->fd, base + 4 * 48, &l));
	EXPECT_EQ(ENOENT, gh_lookup(self->fd, base + 6 * 48 + 3, &l));
	ASSERT_EQ(0, gh_free(self->fd, base + 5 * 48));
	EXPECT_EQ(ENOENT, gh_lookup(self->fd, base + 5 * 48, &l));

	/* A freed large object. */
	ASSERT_EQ(0, gh_alloc(self->fd, 5 * GCHEAP_PAGE_SIZE, 0, &a));
	ASSERT_EQ(0, gh_lookup(self->fd, a.addr + 4 * GCHEAP_PAGE_SIZE, &l));
	EXPECT_EQ(a.addr, l.base);
	ASSERT_EQ(0, gh_free(self->fd, a.addr));
	EXPECT_EQ(ENOENT, gh_lookup(self->fd, a.addr, &l));
	EXPECT_EQ(ENOENT, gh_lookup(self->fd, a.addr + 4 * GCHEAP_PAGE_SIZE,
				    &l));
}

/*
 * After munmap the heap has no arena any more, and API says so; it gets no
 * other (EBUSY): a new heap is a new open().
 */
TEST_F(heap, ioctls_after_munmap)
{
	struct gcheap_alloc a;
	struct gcheap_refill r;
	struct gcheap_api api;
	void *again = NULL;

	ASSERT_EQ(0, munmap(self->arena, ARENA_SIZE));
	self->arena = NULL;
	EXPECT_EQ(ENXIO, gh_alloc(self->fd, 100000, 0, &a));
	EXPECT_EQ(ENXIO, gh_refill(self->fd, GCHEAP_SPANCLASS(1, 0), 0, NULL,
				   0, &r));
	expect_enxio_specials(_metadata, self->fd, "after munmap");
	ASSERT_EQ(0, gh_api(self->fd, &api));
	EXPECT_EQ(0, api.arena_base);
	EXPECT_EQ(0, api.arena_size);
	EXPECT_EQ(EBUSY, gh_map(self->fd, ARENA_SIZE, &again));
}

TEST_HARNESS_MAIN
