// SPDX-License-Identifier: GPL-2.0
/*
 * gcheap_isolation_test: a heap belongs to the process that opened it, its
 * arena is one mapping that cannot be cut, and nothing a process does with
 * its arena or its ioctls corrupts the kernel's view of the heap.
 *
 *  - another process holding the fd (a forked child, or one that received
 *    it over an AF_UNIX socket) gets EPERM from every ioctl and from mmap;
 *  - a forked child has no mapping of the arena (SIGSEGV), and libgcheap in
 *    the child fails cleanly with EPERM;
 *  - partial munmap/mprotect fail, mremap cannot grow or move the arena;
 *  - arena memory of no allocated span raises SIGBUS;
 *  - a library that lies in REFILL (garbage bitmaps, bits past the span,
 *    frees of slots it never used) leaves the statistics consistent and the
 *    heap usable: a model of the documented protocol predicts every count.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "kselftest_harness.h"

#include "gcheap.h"
#include "gcheap_util.h"

GH_REQUIRE_DEVICE();
GH_NO_AUTO_GC();

#define MiB		(1024UL * 1024)
#define ARENA_SIZE	(64 * MiB)

FIXTURE(heap) {
	int fd;
	char *arena;
	struct gcheap_alloc obj;	/* a large object, written */
};

FIXTURE_SETUP(heap)
{
	void *base;

	self->fd = gh_open();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", GH_DEVICE,
				      strerror(errno));
	ASSERT_EQ(0, gh_map(self->fd, ARENA_SIZE, &base));
	self->arena = base;
	ASSERT_EQ(0, gh_alloc(self->fd, 3 * GCHEAP_PAGE_SIZE, 0, &self->obj));
	memset((void *)(uintptr_t)self->obj.addr, 0x5a, 3 * GCHEAP_PAGE_SIZE);
}

FIXTURE_TEARDOWN(heap)
{
	if (self->arena)
		munmap(self->arena, ARENA_SIZE);
	close(self->fd);
}

/* The heap still works, and its object kept its contents. */
static void heap_intact(struct __test_metadata *_metadata,
			FIXTURE_DATA(heap) *self)
{
	const unsigned char *p = (void *)(uintptr_t)self->obj.addr;
	struct gcheap_alloc a;
	struct gcheap_lookup l;
	long i;

	for (i = 0; i < 3 * (long)GCHEAP_PAGE_SIZE; i++) {
		ASSERT_EQ(0x5a, p[i]) TH_LOG("byte %ld", i);
	}
	ASSERT_EQ(0, gh_lookup(self->fd, self->obj.addr + 100, &l));
	EXPECT_EQ(self->obj.addr, l.base);
	ASSERT_EQ(0, gh_alloc(self->fd, 5 * GCHEAP_PAGE_SIZE, 0, &a));
	memset((void *)(uintptr_t)a.addr, 1, 5 * GCHEAP_PAGE_SIZE);
	ASSERT_EQ(0, gh_free(self->fd, a.addr));
}

/* ================ Foreign processes ================ */

struct foreign_arg {
	int fd;			/* the heap, mapped in the owner */
	int fresh_fd;		/* a heap with no arena yet */
	uint64_t obj;		/* an object of the heap */
};

/*
 * Every ioctl and mmap from a process that is not the heap's: EPERM. Returns
 * 0, or the number of the check that failed (the child's exit code).
 */
static int foreign_checks(const struct foreign_arg *arg)
{
	struct gcheap_size_class cls[GH_MAX_CLASSES];
	struct gcheap_api api;
	struct gcheap_refill r;
	struct gcheap_alloc a;
	struct gcheap_lookup l;
	struct gcheap_stats st;
	unsigned int n;
	void *base;

	if (gh_api(arg->fd, &api) != EPERM)
		return 1;
	if (gh_size_classes(arg->fd, cls, &n) != EPERM)
		return 2;
	if (gh_refill(arg->fd, GCHEAP_SPANCLASS(1, 0), 0, NULL, 0, &r) != EPERM)
		return 3;
	if (gh_alloc(arg->fd, 100000, 0, &a) != EPERM)
		return 4;
	if (gh_free(arg->fd, arg->obj) != EPERM)
		return 5;
	if (gh_lookup(arg->fd, arg->obj, &l) != EPERM)
		return 6;
	if (gh_stats(arg->fd, &st, NULL) != EPERM)
		return 7;
	if (gh_api(arg->fresh_fd, &api) != EPERM)
		return 8;
	if (gh_map(arg->fresh_fd, ARENA_SIZE, &base) != EPERM)
		return 9;
	return 0;
}

static int foreign_child(void *argp)
{
	return foreign_checks(argp);
}

TEST_F(heap, fork_child_gets_eperm)
{
	struct foreign_arg arg = { .fd = self->fd, .obj = self->obj.addr };
	int status;

	arg.fresh_fd = gh_open();
	ASSERT_LE(0, arg.fresh_fd);
	status = gh_in_child(foreign_child, &arg);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("check %d in the child failed", WEXITSTATUS(status));
	/* The child's attempts changed nothing; the fresh heap is usable. */
	heap_intact(_metadata, self);
	close(arg.fresh_fd);
}

static int send_fds(int sock, const int *fds, unsigned int n)
{
	char data = 'x';
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = CMSG_SPACE(n * sizeof(int)),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fds(int sock, int *fds, unsigned int n)
{
	char data;
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(n * sizeof(int)))
		return -1;
	memcpy(fds, CMSG_DATA(c), n * sizeof(int));
	return 0;
}

/*
 * The receiving process exists before the heap is opened, so it never shared
 * anything with the owner but the socket.
 */
TEST(scm_rights_receiver_gets_eperm)
{
	struct foreign_arg arg;
	struct gcheap_alloc a;
	int sv[2], fds[2], status;
	void *base;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(sv[0]);
		if (recv_fds(sv[1], fds, 2))
			_exit(100);
		arg.fd = fds[0];
		arg.fresh_fd = fds[1];
		if (read(sv[1], &arg.obj, sizeof(arg.obj)) != sizeof(arg.obj))
			_exit(101);
		_exit(foreign_checks(&arg));
	}
	close(sv[1]);
	fds[0] = gh_open();
	fds[1] = gh_open();
	ASSERT_LE(0, fds[0]);
	ASSERT_LE(0, fds[1]);
	ASSERT_EQ(0, gh_map(fds[0], ARENA_SIZE, &base));
	ASSERT_EQ(0, gh_alloc(fds[0], 100000, 0, &a));
	ASSERT_EQ(0, send_fds(sv[0], fds, 2));
	ASSERT_EQ(sizeof(a.addr), write(sv[0], &a.addr, sizeof(a.addr)));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("check %d in the receiver failed", WEXITSTATUS(status));
	/* The owner is unaffected. */
	ASSERT_EQ(0, gh_free(fds[0], a.addr));
	munmap(base, ARENA_SIZE);
	close(fds[0]);
	close(fds[1]);
	close(sv[0]);
}

static int touch_child(void *addr)
{
	return *(volatile unsigned char *)addr == 0x5a ? 0 : 1;
}

/* The arena is not inherited: the child's view of it is a hole. */
TEST_F(heap, fork_child_has_no_arena)
{
	int status = gh_in_child(touch_child, (void *)(uintptr_t)self->obj.addr);

	ASSERT_TRUE(WIFSIGNALED(status))
		TH_LOG("the child read the parent's arena (exit %d)",
		       WEXITSTATUS(status));
	EXPECT_EQ(SIGSEGV, WTERMSIG(status));
	heap_intact(_metadata, self);
}

/* libgcheap in a forked child: clean EPERM failures, no wild pointers. */
static int lib_child(void *obj)
{
	struct gcheap_options opts = { .size = sizeof(opts) };
	struct gcheap_heap_stats st;

	errno = 0;
	if (gcheap_malloc(16) || errno != EPERM)
		return 1;
	errno = 0;
	if (gcheap_malloc_atomic(100) || errno != EPERM)
		return 2;
	errno = 0;
	if (gcheap_malloc(1 * MiB) || errno != EPERM)
		return 3;
	errno = 0;
	gcheap_free(obj);
	if (errno != EPERM)
		return 4;
	errno = 0;
	if (gcheap_base(obj) || errno != EPERM)
		return 5;
	if (gcheap_size(obj) || errno != EPERM)
		return 6;
	if (gcheap_init() != -1 || errno != EPERM)
		return 7;
	if (gcheap_flush_cache() != -1 || errno != EPERM)
		return 8;
	if (gcheap_heap_stats(&st, NULL, 0) != -1 || errno != EPERM)
		return 9;
	if (gcheap_fd() != -1 || errno != EPERM)
		return 10;
	if (gcheap_init_opts(&opts) != -1 || errno != EPERM)
		return 11;
	return 0;
}

TEST(lib_fork_child)
{
	struct gcheap_heap_stats st;
	char *small, *big;
	int status;

	small = gcheap_malloc(24);
	ASSERT_NE(NULL, small) TH_LOG("%s", strerror(errno));
	big = gcheap_malloc(200000);
	ASSERT_NE(NULL, big);
	memset(small, 7, 24);
	/* The forking thread has spans cached: the child must not use them. */
	status = gh_in_child(lib_child, small);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("check %d in the child failed", WEXITSTATUS(status));
	/* The parent goes on as before. */
	EXPECT_EQ(7, small[23]);
	EXPECT_EQ(small, gcheap_base(small + 5));
	ASSERT_NE(NULL, gcheap_malloc(24));
	gcheap_free(big);
	ASSERT_LT(0, gcheap_heap_stats(&st, NULL, 0));
	EXPECT_EQ(2, st.heap_objects);
}

/* A child of a process that never used gcheap can have a heap of its own. */
static int fresh_child(void *unused)
{
	char *p = gcheap_malloc(100);

	if (!p)
		return 1;
	memset(p, 1, 100);
	if (gcheap_base(p + 50) != p)
		return 2;
	return 0;
}

TEST(lib_fork_before_setup)
{
	int status = gh_in_child(fresh_child, NULL);

	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* A grandchild: a heap of its own (forked before the set-up) or EPERM. */
static int setup_race_grandchild(void)
{
	char *p;

	/* A child stuck on a lock the fork copied held: killed, it fails. */
	alarm(30);
	errno = 0;
	p = gcheap_malloc(8);
	if (p)
		return gcheap_base(p) == p ? 0 : 2;
	return errno == EPERM ? 0 : 3;
}

static void *setup_race_init(void *unused)
{
	(void)unused;
	return (void *)(intptr_t)gcheap_init();
}

/* One process: a thread sets the heap up while the main thread forks. */
static int setup_race(void *unused)
{
	pid_t kids[4];
	unsigned int i;
	int status, ret = 0;
	pthread_t t;
	void *res;

	(void)unused;
	if (pthread_create(&t, NULL, setup_race_init, NULL))
		return 10;
	for (i = 0; i < 4; i++) {
		kids[i] = fork();
		if (kids[i] == 0)
			_exit(setup_race_grandchild());
	}
	for (i = 0; i < 4; i++) {
		if (kids[i] < 0 || waitpid(kids[i], &status, 0) != kids[i])
			return 11;
		if (!WIFEXITED(status))
			ret = 12;
		else if (WEXITSTATUS(status) && !ret)
			ret = WEXITSTATUS(status);
	}
	if (pthread_join(t, &res) || res)
		return 13;
	return ret;
}

/*
 * fork() while another thread sets the heap up: the child never inherits
 * a set-up half-made (a hang on a lock the fork copied held, EBADF from
 * the parent's fd): it gets EPERM, or, forked before, a heap of its own.
 */
TEST(lib_fork_during_setup)
{
	unsigned int round;
	int status;

	for (round = 0; round < 40; round++) {
		status = gh_in_child(setup_race, NULL);
		ASSERT_TRUE(WIFEXITED(status)) TH_LOG("round %u", round);
		ASSERT_EQ(0, WEXITSTATUS(status))
			TH_LOG("round %u: check %d failed", round,
			       WEXITSTATUS(status));
	}
}

/* ================ The arena mapping ================ */

TEST_F(heap, partial_munmap_fails)
{
	const size_t pg = GCHEAP_PAGE_SIZE;

	EXPECT_EQ(-1, munmap(self->arena, pg));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, munmap(self->arena + pg, pg));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, munmap(self->arena + ARENA_SIZE - pg, pg));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, munmap(self->arena + 4096, ARENA_SIZE - 4096));
	EXPECT_EQ(EINVAL, errno);
	heap_intact(_metadata, self);
}

TEST_F(heap, partial_mprotect_fails)
{
	const size_t pg = GCHEAP_PAGE_SIZE;

	EXPECT_EQ(-1, mprotect(self->arena, pg, PROT_READ));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, mprotect(self->arena + 16 * pg, pg, PROT_NONE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, mprotect(self->arena + pg, ARENA_SIZE - pg, PROT_READ));
	EXPECT_EQ(EINVAL, errno);
	/* Still writable everywhere. */
	heap_intact(_metadata, self);
}

TEST_F(heap, mremap_grow_fails)
{
	void *p;

	/* In place, or anywhere. */
	p = mremap(self->arena, ARENA_SIZE, ARENA_SIZE + GCHEAP_PAGE_SIZE, 0);
	EXPECT_EQ(MAP_FAILED, p);
	p = mremap(self->arena, ARENA_SIZE, 2 * ARENA_SIZE, MREMAP_MAYMOVE);
	EXPECT_EQ(MAP_FAILED, p);
	heap_intact(_metadata, self);
}

TEST_F(heap, mremap_move_fails)
{
	void *target, *p;

	/* The whole arena, same size, to another address. */
	target = mmap(NULL, ARENA_SIZE, PROT_NONE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, target);
	p = mremap(self->arena, ARENA_SIZE, ARENA_SIZE,
		   MREMAP_MAYMOVE | MREMAP_FIXED, target);
	EXPECT_EQ(MAP_FAILED, p);
	munmap(target, ARENA_SIZE);
	heap_intact(_metadata, self);
}

TEST_F(heap, mremap_shrink_fails)
{
	void *p;

	/* Shrinking would cut the arena. */
	p = mremap(self->arena, ARENA_SIZE, ARENA_SIZE / 2, 0);
	EXPECT_EQ(MAP_FAILED, p);
	heap_intact(_metadata, self);
}

/* Arena memory that no span holds. */
TEST_SIGNAL(sigbus_outside_spans, SIGBUS)
{
	struct gcheap_alloc a;
	void *base;
	int fd = gh_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, gh_map(fd, ARENA_SIZE, &base));
	ASSERT_EQ(0, gh_alloc(fd, 100000, 0, &a));
	*(volatile char *)(uintptr_t)a.addr = 1;
	/* Far past the heap's only span. */
	*(volatile char *)((char *)base + ARENA_SIZE - 1) = 1;
	TH_LOG("wrote arena memory of no span without a fault");
}

/* The pages of a freed object belong to no span any more. */
TEST_SIGNAL(sigbus_after_free, SIGBUS)
{
	struct gcheap_alloc a;
	void *base;
	int fd = gh_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, gh_map(fd, ARENA_SIZE, &base));
	ASSERT_EQ(0, gh_alloc(fd, 4 * GCHEAP_PAGE_SIZE, 0, &a));
	memset((void *)(uintptr_t)a.addr, 1, 4 * GCHEAP_PAGE_SIZE);
	ASSERT_EQ(0, gh_free(fd, a.addr));
	(void)*(volatile char *)(uintptr_t)(a.addr + GCHEAP_PAGE_SIZE);
	TH_LOG("read a freed object's page without a fault");
}

/* ================ A lying library ================ */

/* The test's model of one span, following the cached-span protocol. */
struct model_span {
	uint64_t base;
	unsigned int spc;
	unsigned int nelems;
	unsigned int elemsize;
	__u64 alloc[GCHEAP_SPAN_BITMAP_WORDS];
};

struct model {
	unsigned int nspans;
	struct model_span span[1024];
	uint64_t mallocs, frees, bad_frees;
};

static unsigned int model_nalloc(const struct model_span *m)
{
	return gh_popcount(m->alloc, GCHEAP_SPAN_BITMAP_WORDS);
}

/* The model of the span at @base: found, or started for a new span. */
static struct model_span *model_get(struct model *mo, uint64_t base,
				    unsigned int spc, unsigned int nelems,
				    unsigned int elemsize)
{
	struct model_span *m = NULL;
	unsigned int i;

	for (i = 0; i < mo->nspans; i++)
		if (mo->span[i].base == base)
			m = &mo->span[i];
	if (!m) {
		if (mo->nspans == 1024)
			return NULL;
		m = &mo->span[mo->nspans++];
	}
	/* A span emptied earlier went back to the page heap: it is new. */
	if (m->spc != spc || !model_nalloc(m)) {
		memset(m, 0, sizeof(*m));
		m->base = base;
		m->spc = spc;
		m->nelems = nelems;
		m->elemsize = elemsize;
	}
	return m;
}

static void mask_to(__u64 *bits, unsigned int nelems)
{
	unsigned int w;

	for (w = 0; w < GCHEAP_SPAN_BITMAP_WORDS; w++) {
		if (w * 64 >= nelems)
			bits[w] = 0;
		else if (nelems - w * 64 < 64)
			bits[w] &= (1ULL << (nelems - w * 64)) - 1;
	}
}

TEST_F(heap, lying_library)
{
	static struct model mo;
	struct gcheap_size_class cls[GH_MAX_CLASSES];
	struct gcheap_stats before, st;
	uint64_t rng = 12345, live;
	unsigned int it, n;
	__u64 lie[GCHEAP_SPAN_BITMAP_WORDS];
	struct gcheap_refill r;

	ASSERT_EQ(0, gh_size_classes(self->fd, cls, &n));
	ASSERT_EQ(0, gh_stats(self->fd, &before, NULL));

	/* A fresh span given back with every bit set, past nelems too. */
	ASSERT_EQ(0, gh_refill(self->fd, GCHEAP_SPANCLASS(4, 0), 0, NULL, 0,
			       &r));
	memset(lie, 0xff, sizeof(lie));
	ASSERT_EQ(0, gh_refill(self->fd, GCHEAP_SPANCLASS(4, 0), r.base, lie,
			       GCHEAP_REFILL_RELEASE_ONLY, &r));
	ASSERT_EQ(0, gh_stats(self->fd, &st, NULL));
	EXPECT_EQ(before.mallocs, st.mallocs);
	EXPECT_EQ(before.heap_objects, st.heap_objects);

	for (it = 0; it < 600; it++) {
		unsigned int c = 1 + gh_rand(&rng) % 8;
		unsigned int spc = GCHEAP_SPANCLASS(c, gh_rand(&rng) & 1);
		__u64 handed[GCHEAP_SPAN_BITMAP_WORDS];
		__u64 parked[GCHEAP_SPAN_BITMAP_WORDS] = { 0 };
		__u64 expect[GCHEAP_SPAN_BITMAP_WORDS];
		unsigned int i, w, k, nfree_ops;
		struct model_span *m;
		uint64_t base;

		ASSERT_EQ(0, gh_refill(self->fd, spc, 0, NULL, 0, &r))
			TH_LOG("iteration %u: %s", it, strerror(errno));
		ASSERT_EQ(cls[c].size, r.elemsize);
		m = model_get(&mo, r.base, spc, r.nelems, r.elemsize);
		ASSERT_NE(NULL, m);
		base = r.base;
		/* The kernel hands out exactly the slots not allocated. */
		for (w = 0; w < GCHEAP_SPAN_BITMAP_WORDS; w++)
			expect[w] = ~m->alloc[w];
		mask_to(expect, m->nelems);
		for (w = 0; w < GCHEAP_SPAN_BITMAP_WORDS; w++) {
			ASSERT_EQ(expect[w], r.free[w])
				TH_LOG("iteration %u, word %u", it, w);
		}
		EXPECT_EQ(gh_popcount(expect, GCHEAP_SPAN_BITMAP_WORDS),
			  r.nfree);
		memcpy(handed, r.free, sizeof(handed));

		/* Frees through the fd while the span is cached. */
		nfree_ops = gh_rand(&rng) % 12;
		for (k = 0; k < nfree_ops; k++) {
			uint64_t bit, addr;
			unsigned int flags;
			int want;

			i = gh_rand(&rng) % m->nelems;
			w = i / 64;
			bit = 1ULL << (i % 64);
			addr = base + (uint64_t)i * m->elemsize;
			if (gh_rand(&rng) % 5 == 0) {
				/* an interior address */
				EXPECT_EQ(EINVAL, gh_free(self->fd, addr + 4));
				continue;
			}
			/* As the span's cache, or as another thread. */
			flags = gh_rand(&rng) & 1 ? GCHEAP_FREE_CACHED : 0;
			if ((handed[w] & bit) && !flags) {
				want = 0;	/* left to the collector */
			} else if (handed[w] & bit) {
				want = parked[w] & bit ? EALREADY : 0;
				parked[w] |= bit;
			} else if (m->alloc[w] & bit) {
				want = 0;
				m->alloc[w] &= ~bit;
				mo.frees++;
			} else {
				want = EALREADY;
			}
			ASSERT_EQ(want, gh_free_flags(self->fd, addr, flags))
				TH_LOG("iteration %u, slot %u", it, i);
		}

		/* Give it back with a bitmap of lies. */
		for (w = 0; w < GCHEAP_SPAN_BITMAP_WORDS; w++) {
			switch (gh_rand(&rng) % 4) {
			case 0:
				lie[w] = 0;
				break;
			case 1:
				lie[w] = ~0ULL;
				break;
			default:
				lie[w] = gh_rand(&rng);
			}
		}
		ASSERT_EQ(0, gh_refill(self->fd, spc, base, lie,
				       GCHEAP_REFILL_RELEASE_ONLY, &r));
		for (w = 0; w < GCHEAP_SPAN_BITMAP_WORDS; w++) {
			__u64 used = handed[w] & ~lie[w];

			mo.mallocs += __builtin_popcountll(used);
			mo.frees += __builtin_popcountll(parked[w] & used);
			mo.bad_frees += __builtin_popcountll(parked[w] & ~used);
			m->alloc[w] |= used & ~parked[w];
		}
	}

	/* Every count is what the protocol says. */
	ASSERT_EQ(0, gh_stats(self->fd, &st, NULL));
	EXPECT_EQ(before.mallocs + mo.mallocs, st.mallocs);
	EXPECT_EQ(before.frees + mo.frees, st.frees);
	EXPECT_EQ(mo.bad_frees, st.bad_frees);
	EXPECT_EQ(st.mallocs - st.frees, st.heap_objects);
	EXPECT_EQ(0, st.cached_spans);
	live = before.heap_objects;
	for (n = 0; n < mo.nspans; n++)
		live += model_nalloc(&mo.span[n]);
	EXPECT_EQ(live, st.heap_objects);

	/* Every object the model holds can be freed once, and only once. */
	for (n = 0; n < mo.nspans; n++) {
		struct model_span *m = &mo.span[n];
		unsigned int i;

		for (i = 0; i < m->nelems; i++) {
			uint64_t addr = m->base + (uint64_t)i * m->elemsize;

			if (!(m->alloc[i / 64] & (1ULL << (i % 64))))
				continue;
			ASSERT_EQ(0, gh_free(self->fd, addr));
			ASSERT_NE(0, gh_free(self->fd, addr));
		}
	}
	ASSERT_EQ(0, gh_stats(self->fd, &st, NULL));
	EXPECT_EQ(before.heap_objects, st.heap_objects);
	heap_intact(_metadata, self);
}

TEST_HARNESS_MAIN
