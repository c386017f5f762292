// SPDX-License-Identifier: GPL-2.0
/*
 * gcheap_profile_test: the heap profile (gcheap_set_profile_rate(),
 * gcheap_write_heap_profile()) against known allocation patterns.
 *
 * At a rate of 1 every allocation is sampled, so the profile's counts are
 * exact: objects kept, dropped (freed by a collection), freed explicitly and
 * large ones, each under its own call stack, from one thread and from four.
 * At the default rate the number of samples of small and of large objects
 * follows the bytes allocated; a rate of 0 samples nothing; the environment
 * sets the rate; bad input gets its documented errno. A heap dump taken
 * while another thread rewrites pointers is whole and exact.
 *
 * The harness forks each test, so each has a fresh heap.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
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

#define PROF_MAX_LINES	256
#define PROF_MAX_DEPTH	32

/* One stack's line: in use objects, bytes; allocated objects, bytes. */
struct prof_line {
	uint64_t v[4];
	unsigned int depth;
	uintptr_t stack[PROF_MAX_DEPTH];
};

struct prof {
	uint64_t total[4];
	size_t rate;
	unsigned int n;
	struct prof_line line[PROF_MAX_LINES];
};

/* Parse what gcheap_write_heap_profile() wrote; 0 or -1. */
static int prof_parse(const char *s, struct prof *p)
{
	memset(p, 0, sizeof(*p));
	if (sscanf(s, "heap profile: %lu: %lu [%lu: %lu] @ heap_v2/%zu",
		   &p->total[0], &p->total[1], &p->total[2], &p->total[3],
		   &p->rate) != 5)
		return -1;
	for (s = strchr(s, '\n'); s && *++s; s = strchr(s, '\n')) {
		struct prof_line *l = &p->line[p->n];
		char *end;
		int off;

		if (!strncmp(s, "MAPPED_LIBRARIES:", 17))
			return 0;
		if (*s == '#' || *s == '\n')
			continue;
		if (p->n == PROF_MAX_LINES ||
		    sscanf(s, "%lu: %lu [%lu: %lu] @%n", &l->v[0], &l->v[1],
			   &l->v[2], &l->v[3], &off) != 4)
			return -1;
		for (s += off; *s == ' ' && l->depth < PROF_MAX_DEPTH; s = end) {
			l->stack[l->depth++] = strtoull(s, &end, 16);
			if (end == s)
				return -1;
		}
		if (*s != '\n')
			return -1;
		p->n++;
		s--;
	}
	return -1;	/* no memory map: truncated */
}

static int prof_read(struct prof *p)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int ret;

	if (!f)
		return -1;
	ret = gcheap_write_heap_profile(f);
	if (fclose(f) || ret) {
		free(text);
		return -1;
	}
	ret = prof_parse(text, p);
	free(text);
	return ret;
}

/* The line whose allocations were made in a function returning to @ra. */
static const struct prof_line *prof_find(const struct prof *p, uintptr_t ra)
{
	unsigned int i;

	for (i = 0; i < p->n; i++)
		if (p->line[i].depth > 1 && p->line[i].stack[1] == ra)
			return &p->line[i];
	return NULL;
}

/* Roots: the data segment. */
void *keep_small[1000];
void *keep_big[3];
void *keep_thread[4][1000];
static uintptr_t ra_keep, ra_drop, ra_free, ra_big, ra_thread;

static GH_NOINLINE int alloc_keep(void)
{
	int i;

	ra_keep = (uintptr_t)__builtin_return_address(0);
	for (i = 0; i < 1000; i++)
		if (!(keep_small[i] = gcheap_malloc(64)))
			return -1;
	return 0;
}

static GH_NOINLINE int alloc_drop(void)
{
	int i;

	ra_drop = (uintptr_t)__builtin_return_address(0);
	for (i = 0; i < 2000; i++)
		if (!gcheap_malloc(128))
			return -1;
	return 0;
}

static GH_NOINLINE int alloc_free(void)
{
	int i;

	ra_free = (uintptr_t)__builtin_return_address(0);
	for (i = 0; i < 500; i++) {
		void *p = gcheap_malloc_atomic(32);

		if (!p)
			return -1;
		gcheap_free(p);
	}
	return 0;
}

static GH_NOINLINE int alloc_big(void)
{
	int i;

	ra_big = (uintptr_t)__builtin_return_address(0);
	for (i = 0; i < 3; i++)
		if (!(keep_big[i] = gcheap_malloc(100000)))
			return -1;
	return 0;
}

static GH_NOINLINE int collect(void)
{
	gh_clear_stack();
	return gcheap_gc();
}

TEST(exact_counts_at_rate_one)
{
	const struct prof_line *l;
	uint64_t sum[4] = { 0 };
	struct prof *p = malloc(sizeof(*p));
	unsigned int i, j;
	size_t big;

	ASSERT_NE(NULL, p);
	EXPECT_EQ(GCHEAP_PROFILE_RATE_DEFAULT, gcheap_set_profile_rate(1));
	ASSERT_EQ(0, alloc_keep());
	ASSERT_EQ(0, alloc_drop());
	ASSERT_EQ(0, alloc_free());
	ASSERT_EQ(0, alloc_big());
	ASSERT_EQ(0, collect());
	ASSERT_EQ(0, prof_read(p));
	EXPECT_EQ(1, p->rate);

	l = prof_find(p, ra_keep);
	ASSERT_NE(NULL, l);
	EXPECT_EQ(1000, l->v[0]);
	EXPECT_EQ(64000, l->v[1]);
	EXPECT_EQ(1000, l->v[2]);
	EXPECT_EQ(64000, l->v[3]);

	/* A stale word may keep a few of the dropped ones. */
	l = prof_find(p, ra_drop);
	ASSERT_NE(NULL, l);
	EXPECT_GE(100, l->v[0]);
	EXPECT_EQ(l->v[0] * 128, l->v[1]);
	EXPECT_EQ(2000, l->v[2]);
	EXPECT_EQ(256000, l->v[3]);

	l = prof_find(p, ra_free);
	ASSERT_NE(NULL, l);
	EXPECT_EQ(0, l->v[0]);
	EXPECT_EQ(0, l->v[1]);
	EXPECT_EQ(500, l->v[2]);
	EXPECT_EQ(16000, l->v[3]);

	big = gcheap_size(keep_big[0]);
	EXPECT_LE(100000, big);
	l = prof_find(p, ra_big);
	ASSERT_NE(NULL, l);
	EXPECT_EQ(3, l->v[0]);
	EXPECT_EQ(3 * big, l->v[1]);
	EXPECT_EQ(3, l->v[2]);
	EXPECT_EQ(3 * big, l->v[3]);

	/* The totals are the lines' sums; no line without allocations. */
	for (i = 0; i < p->n; i++) {
		EXPECT_NE(0, p->line[i].v[2]);
		for (j = 0; j < 4; j++)
			sum[j] += p->line[i].v[j];
	}
	for (j = 0; j < 4; j++)
		EXPECT_EQ(sum[j], p->total[j]);
	free(p);
}

static GH_NOINLINE void *stream_small(void)
{
	void *p = NULL;
	int i;

	for (i = 0; i < 64; i++)
		p = gcheap_malloc(64);
	return p;
}

static GH_NOINLINE void *stream_big(void)
{
	return gcheap_malloc(4096);
}

/*
 * 32 MiB in 64-byte objects and 32 MiB in 4 KiB ones, interleaved: each
 * gets about 64 samples at 512 KiB (a Poisson count; the bounds are five
 * standard deviations away).
 */
TEST(default_rate_follows_bytes)
{
	uint64_t samples[2] = { 0 };
	struct prof *p = malloc(sizeof(*p));
	unsigned int i;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, gcheap_init());
	EXPECT_EQ(GCHEAP_PROFILE_RATE_DEFAULT, gcheap_get_profile_rate());
	for (i = 0; i < 8192; i++) {
		ASSERT_NE(NULL, stream_small());
		ASSERT_NE(NULL, stream_big());
	}
	ASSERT_EQ(0, prof_read(p));
	EXPECT_EQ(GCHEAP_PROFILE_RATE_DEFAULT, p->rate);
	for (i = 0; i < p->n; i++) {
		const struct prof_line *l = &p->line[i];

		ASSERT_TRUE(l->v[3] == l->v[2] * 64 || l->v[3] == l->v[2] * 4096);
		samples[l->v[3] == l->v[2] * 4096] += l->v[2];
	}
	TH_LOG("samples: %lu of 64-byte objects, %lu of 4 KiB ones",
	       samples[0], samples[1]);
	EXPECT_LE(24, samples[0]);
	EXPECT_GE(128, samples[0]);
	EXPECT_LE(24, samples[1]);
	EXPECT_GE(128, samples[1]);
	free(p);
}

TEST(rate_off_and_on)
{
	struct prof *p = malloc(sizeof(*p));
	unsigned int i;

	ASSERT_NE(NULL, p);
	EXPECT_EQ(GCHEAP_PROFILE_RATE_DEFAULT, gcheap_set_profile_rate(0));
	for (i = 0; i < 4096; i++)
		ASSERT_NE(NULL, stream_small());
	ASSERT_EQ(0, prof_read(p));
	EXPECT_EQ(0, p->total[2]);
	EXPECT_EQ(0, p->n);
	EXPECT_EQ(0, gcheap_set_profile_rate(1));
	for (i = 0; i < 10; i++)
		ASSERT_NE(NULL, stream_small());
	ASSERT_EQ(0, prof_read(p));
	EXPECT_EQ(640, p->total[2]);
	EXPECT_EQ(640 * 64, p->total[3]);
	free(p);
}

TEST(rate_from_environment)
{
	ASSERT_EQ(0, setenv("GCHEAP_PROFILE_RATE", "64K", 1));
	ASSERT_EQ(0, gcheap_init());
	EXPECT_EQ(65536, gcheap_get_profile_rate());
}

static GH_NOINLINE int thread_alloc(void **keep)
{
	int i;

	ra_thread = (uintptr_t)__builtin_return_address(0);
	for (i = 0; i < 1000; i++)
		if (!(keep[i] = gcheap_malloc(48)))
			return -1;
	return 0;
}

static void *thread_main(void *arg)
{
	return (void *)(intptr_t)thread_alloc(arg);
}

TEST(four_threads)
{
	struct prof *p = malloc(sizeof(*p));
	const struct prof_line *l;
	pthread_t t[4];
	void *ret;
	int i;

	ASSERT_NE(NULL, p);
	gcheap_set_profile_rate(1);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, thread_main,
					    keep_thread[i]));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, pthread_join(t[i], &ret));
		EXPECT_EQ(NULL, ret);
	}
	ASSERT_EQ(0, collect());
	ASSERT_EQ(0, prof_read(p));
	l = prof_find(p, ra_thread);
	ASSERT_NE(NULL, l);
	EXPECT_EQ(4000, l->v[0]);
	EXPECT_EQ(4000 * 48, l->v[1]);
	EXPECT_EQ(4000, l->v[2]);
	EXPECT_EQ(4000 * 48, l->v[3]);
	free(p);
}

static int profile_ioctl(int fd, uint32_t op, uint64_t addr, uint32_t bucket,
			 uint32_t count, uint64_t buf)
{
	struct gcheap_profile r = {
		.size = sizeof(r), .op = op, .addr = addr, .bucket = bucket,
		.count = count, .buf = buf,
	};

	return gh_ioctl(fd, GCHEAP_IOC_PROFILE, &r);
}

TEST(bad_input)
{
	struct gcheap_profile_count c[4];
	struct gcheap_profile r = {
		.size = sizeof(r), .op = GCHEAP_PROFILE_READ, .count = 4,
		.buf = (uintptr_t)c,
	};
	uint64_t obj, other;
	FILE *ro;
	int fd;

	gcheap_set_profile_rate(1);
	obj = (uintptr_t)gcheap_malloc(64);
	other = (uintptr_t)gcheap_malloc_atomic(256);
	ASSERT_NE(0, obj);
	ASSERT_NE(0, other);
	fd = gcheap_fd();
	ASSERT_LE(0, fd);

	/* The library attached a record to each already. */
	EXPECT_EQ(EEXIST, profile_ioctl(fd, GCHEAP_PROFILE_ADD, obj, 0, 0, 0));
	EXPECT_EQ(EINVAL, profile_ioctl(fd, 0, obj, 0, 0, 0));
	EXPECT_EQ(EINVAL, profile_ioctl(fd, 3, obj, 0, 0, 0));
	EXPECT_EQ(EINVAL, profile_ioctl(fd, GCHEAP_PROFILE_ADD, other, 0, 1, 0));
	EXPECT_EQ(EINVAL, profile_ioctl(fd, GCHEAP_PROFILE_ADD, other,
					GCHEAP_PROFILE_BUCKETS_MAX, 0, 0));
	EXPECT_EQ(EINVAL, profile_ioctl(fd, GCHEAP_PROFILE_ADD, other + 8, 0,
					0, 0));
	EXPECT_EQ(ENOENT, profile_ioctl(fd, GCHEAP_PROFILE_ADD,
					(uintptr_t)&fd, 0, 0, 0));
	EXPECT_EQ(EINVAL, profile_ioctl(fd, GCHEAP_PROFILE_READ, obj, 0, 1,
					(uintptr_t)c));
	EXPECT_EQ(EINVAL, profile_ioctl(fd, GCHEAP_PROFILE_READ, 0, 0,
					GCHEAP_PROFILE_BUCKETS_MAX + 1,
					(uintptr_t)c));
	EXPECT_EQ(EFAULT, profile_ioctl(fd, GCHEAP_PROFILE_READ, 0, 0, 4, 16));

	/* A read past the buckets writes nothing; one within, what there is. */
	r.bucket = 1000;
	EXPECT_EQ(0, gh_ioctl(fd, GCHEAP_IOC_PROFILE, &r));
	EXPECT_EQ(0, r.count);
	r.bucket = 0;
	r.count = 4;
	EXPECT_EQ(0, gh_ioctl(fd, GCHEAP_IOC_PROFILE, &r));
	EXPECT_LE(1, r.count);
	EXPECT_GE(4, r.count);

	errno = 0;
	EXPECT_EQ(-1, gcheap_write_heap_profile(NULL));
	EXPECT_EQ(EINVAL, errno);
	ro = fopen("/dev/null", "r");
	ASSERT_NE(NULL, ro);
	errno = 0;
	EXPECT_EQ(-1, gcheap_write_heap_profile(ro));
	EXPECT_EQ(EIO, errno);
	fclose(ro);
}

#define DUMP_OBJS	512
#define DUMP_OBJ_SIZE	1024

static void **dump_objs[DUMP_OBJS];
static volatile int dump_stop;

/* Fills the objects with pointers to each other, then with zeros, again. */
static void *dump_mutator(void *unused)
{
	unsigned long round;
	unsigned int i, k;

	(void)unused;
	for (round = 0; !dump_stop; round++)
		for (i = 0; i < DUMP_OBJS; i++)
			for (k = 0; k < DUMP_OBJ_SIZE / 8; k++)
				dump_objs[i][k] = round & 1 ?
					dump_objs[(i + k) % DUMP_OBJS] : NULL;
	return NULL;
}

/*
 * The kernel reads the objects' words, which the program may be writing,
 * twice (to size a record, then to fill it): every dump must still end
 * with its END record at exactly the length returned, hold the records
 * its header counts, and nothing after them.
 */
TEST(dump_while_pointers_change)
{
	const size_t cap = 16 << 20;
	unsigned int i, round, busy = 0;
	char *buf = calloc(1, cap);
	pthread_t t;

	ASSERT_NE(NULL, buf);
	for (i = 0; i < DUMP_OBJS; i++) {
		dump_objs[i] = gcheap_malloc(DUMP_OBJ_SIZE);
		ASSERT_NE(NULL, dump_objs[i]);
	}
	ASSERT_EQ(0, pthread_create(&t, NULL, dump_mutator, NULL));
	for (round = 0; round < 60; round++) {
		const struct gcheap_dump_header *hd = (void *)buf;
		struct gcheap_dump_record rec;
		uint64_t nrec = 0;
		size_t len = cap, off = sizeof(*hd);

		if (gcheap_dump_heap(buf, &len)) {
			/* The program out-wrote every try: said, not wrong. */
			ASSERT_EQ(EBUSY, errno);
			busy++;
			continue;
		}
		ASSERT_LE(sizeof(*hd), len);
		ASSERT_EQ(0, memcmp(hd->magic, GCHEAP_DUMP_MAGIC, 8));
		for (;;) {
			ASSERT_LE(off + sizeof(rec), len) TH_LOG("round %u", round);
			memcpy(&rec, buf + off, sizeof(rec));
			ASSERT_LE(sizeof(rec), rec.len);
			ASSERT_EQ(0, rec.len % 8);
			ASSERT_LE(off + rec.len, len);
			nrec++;
			off += rec.len;
			if (rec.kind == GCHEAP_DUMP_END)
				break;
		}
		EXPECT_EQ(len, off) TH_LOG("round %u", round);
		EXPECT_EQ(hd->nrecords, nrec) TH_LOG("round %u", round);
		/* The caller's buffer past the dump is as it was. */
		for (i = len; i < len + 4096 && i < cap; i++)
			ASSERT_EQ(0, buf[i]) TH_LOG("round %u byte %u", round, i);
		memset(buf, 0, len);
	}
	dump_stop = 1;
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_GT(30, busy);
	free(buf);
}

TEST_HARNESS_MAIN
