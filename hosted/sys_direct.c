// SPDX-License-Identifier: GPL-2.0
/*
 * The direct backend of libgcheap (the contract is lib/gcheap_sys.h): the
 * heap operations run in this process, by the module's own mheap code, on
 * one struct mheap whose arena is an anonymous mapping (MAP_NORESERVE, so a
 * large arena costs address space only).
 *
 * What main.c does around each operation is done here the same way, so the
 * library meets the errors the module gives: the struct size rules of
 * copy_struct_from_user() with each struct's first-version size, the flag
 * and reserved-field checks, the size-class table and per-class rows written
 * through the struct's pointer, -ENOSPC with the count needed. After each
 * operation the calling thread must hold no lock (lockdep's check on return
 * to user space).
 *
 * The collector's roots are copied before the heap is locked, as main.c
 * copies them from user memory: with process_vm_readv() on this process,
 * so that a range that is not readable reads as zeros instead of faulting,
 * and so that the sanitizers do not take the scan of another thread's stack
 * (its redzones included) for a bad access.
 *
 * The collector's worker is a thread of this backend (the module's marker
 * and sweeper are kernel work items), started once the heap's arena is
 * mapped: it marks beside the program and sweeps after. The arena's
 * written pages come from userfaultfd's write protection (hosted/arena.c);
 * where the kernel lacks it, a concurrent collection asked for is run
 * stopping the world instead, as the module's end would otherwise scan
 * every marked object again.
 *
 * Differences from the module: there is no fd (gcheap_sys_fd() says
 * -ENODEV); arena pages outside allocated spans do not raise SIGBUS; and a
 * forked child gets -EPERM from every call as the module gives it, without a
 * device to tell.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <malloc.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/kernel.h>
#include <linux/errno.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <hosted/hosted.h>
#include "mheap.h"
#include "../mgc/mgc.h"
#include "gcheap_sys.h"

/* The module's default arena_max_mb (64 GiB). */
#define DIRECT_ARENA_MAX	(64ULL << 30)

/*
 * @direct_lock serialises open and map (they run once, in the library's
 * set-up); the heap operations take mheap.lock themselves. @direct_open is
 * written under the lock before the library makes any other call (its
 * set-up is ordered by pthread_once()), and read without it afterwards, as
 * the ioctl backend reads its fd.
 */
static pthread_mutex_t direct_lock = PTHREAD_MUTEX_INITIALIZER;
static bool direct_open;
static bool direct_classes_ready;
static bool direct_forked;

/*
 * What the kernel keeps in its own memory. It lives in the C heap, not in
 * this file's bss: the library registers the program's data and bss as
 * roots, and the arena pointers in here would keep the arena's first
 * objects alive, as no kernel structure can.
 */
static struct direct_state {
	struct mheap heap;
	void *arena;
	size_t arena_len;
	void *map;
	size_t map_len;
	bool tracks_writes;
} *direct;

/*
 * The collector's worker thread, as the module's work items: it serves a
 * concurrent mark (DIRECT_WANT_MARK); after a mark or a collection that
 * left sweeping lazy, it lifts the arena's write protection and sweeps in
 * the background (DIRECT_WANT_END); when a mark is near, it protects the
 * arena ahead of it (DIRECT_WANT_ARM). @lock and @cond guard @started,
 * @want, @running (it is at work) and @stop; it is made with every signal
 * blocked and never registers with the library, so no collection ever
 * stops it.
 */
#define DIRECT_WANT_MARK	1U
#define DIRECT_WANT_END		2U
#define DIRECT_WANT_ARM		4U

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool started;
	unsigned int want;
	bool running;
	bool stop;
} direct_marker = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

struct mheap *hosted_direct_heap(void)
{
	return direct_open ? &direct->heap : NULL;
}

static void direct_atfork_child(void)
{
	direct_forked = true;
}

/* ---- around every call ---- */

static int direct_enter(void)
{
	if (unlikely(direct_forked))
		return -EPERM;
	if (unlikely(!direct_open))
		return -EBADF;	/* as an ioctl on fd -1 */
	return 0;
}

/* Like lockdep on return to user space: no lock may still be held. */
static int direct_leave(int ret, const char *op)
{
	if (unlikely(hosted_lockdep_depth()))
		hosted_lockdep_check_released(op);
	return ret;
}

/*
 * Copy a struct in as copy_struct_from_user() does: @usize (its first field)
 * at least @min_size; shorter than @ksize is zero-extended; longer must be
 * zero past @ksize.
 */
static int direct_copy_in(void *kdst, size_t ksize, size_t min_size,
			  const void *usrc)
{
	u32 usize;
	size_t i;

	if (!usrc)
		return -EFAULT;
	memcpy(&usize, usrc, sizeof(usize));
	if (usize < min_size)
		return -EINVAL;
	memset(kdst, 0, ksize);
	memcpy(kdst, usrc, min_t(size_t, usize, ksize));
	for (i = ksize; i < usize; i++)
		if (((const u8 *)usrc)[i])
			return -E2BIG;
	return 0;
}

/* Write a reply back, no further than the caller's struct reaches. */
static void direct_copy_out(void *udst, const void *ksrc, size_t ksize)
{
	u32 usize;

	memcpy(&usize, udst, sizeof(usize));
	memcpy(udst, ksrc, min_t(size_t, usize, ksize));
}

#define DIRECT_COPY_IN(k, u, last) \
	direct_copy_in(&(k), sizeof(k), offsetofend(typeof(k), last), u)

/* ---- the finalizer queue ---- */

/*
 * The module wakes the fd's readers after a call that queued records; here
 * readers wait in read() of an eventfd, written the same way. No lock: a
 * reader the library stops for a collection must hold none the collecting
 * thread needs. A wake-up is a count, so none is lost between a reader's
 * look at the queue and its wait.
 */
static int direct_finq_efd = -1;

static void direct_finq_kick(void)
{
	u64 one = 1;

	if (write(direct_finq_efd, &one, sizeof(one)) < 0)
		return;	/* the count is saturated: readers are awake */
}

static void direct_finq_wake(void)
{
	if (!direct_open || !READ_ONCE(direct->heap.gc.finq_added))
		return;
	WRITE_ONCE(direct->heap.gc.finq_added, false);
	direct_finq_kick();
}

/* ---- the concurrent mark's worker ---- */

/* Longest the worker waits for a call of the program to take the lock. */
#define DIRECT_YIELD_SPINS	20000

static void direct_marker_yield(struct mheap *h)
{
	unsigned int i;

	for (i = 0; i < DIRECT_YIELD_SPINS && mheap_lock_wanted(h); i++)
		__builtin_ia32_pause();
	sched_yield();
}

static long direct_marker_preclean(struct mheap *h, u64 cycle, void *ctx)
{
	return mgc_preclean(h, cycle);
}

/* Spans swept per hold of mheap.lock, as the module's sweeper. */
#define DIRECT_SWEEP_BATCH	32

/*
 * Sweep in batches, dropping the lock between them, until nothing is left
 * or a mark wants the worker (its start sweeps the rest anyway). The lock
 * is only tried: a pthread mutex hands nothing off to a waiter, and a
 * worker blocked here behind the program's calls would start the mark's
 * work late.
 */
static void direct_marker_sweep(struct mheap *h)
{
	unsigned long done = 1;
	u64 t0;

	while (done && !(READ_ONCE(direct_marker.want) & DIRECT_WANT_MARK)) {
		if (!mutex_trylock(&h->lock)) {
			direct_marker_yield(h);
			continue;
		}
		t0 = mgc_now_ns();
		done = mgc_sweep_some(h, DIRECT_SWEEP_BATCH);
		h->gc.gc_cpu_ns += mgc_now_ns() - t0;
		mutex_unlock(&h->lock);
		direct_finq_wake();
		direct_marker_yield(h);
	}
}

static void *direct_marker_main(void *arg)
{
	struct mheap *h = &direct->heap;
	unsigned int want;

	pthread_mutex_lock(&direct_marker.lock);
	for (;;) {
		while (!direct_marker.want && !direct_marker.stop)
			pthread_cond_wait(&direct_marker.cond, &direct_marker.lock);
		if (direct_marker.stop)
			break;
		want = direct_marker.want;
		direct_marker.want = 0;
		direct_marker.running = true;
		pthread_mutex_unlock(&direct_marker.lock);
		/* Each does nothing unless its time is still right. */
		if (want & DIRECT_WANT_MARK)
			mgc_mark_worker(h, direct_marker_preclean,
					direct_marker_yield, NULL);
		if (want & DIRECT_WANT_END) {
			hosted_arena_untrack_writes(h);
			direct_marker_sweep(h);
		}
		/* After the sweep: empty spans need no protection. */
		if (want & DIRECT_WANT_ARM)
			hosted_arena_arm_writes(h);
		pthread_mutex_lock(&direct_marker.lock);
		direct_marker.running = false;
		pthread_cond_broadcast(&direct_marker.cond);
	}
	pthread_mutex_unlock(&direct_marker.lock);
	return NULL;
}

/*
 * A program linked with -Wl,--wrap=pthread_create has this object's call
 * wrapped too, and the wrapper registers the new thread for collections to
 * stop: the real one is called then.
 */
extern int __real_pthread_create(pthread_t *, const pthread_attr_t *,
				 void *(*)(void *), void *) __attribute__((weak));

/*
 * Start the worker, once the heap has its arena: during the heap's set-up,
 * when no collection can run yet. A collection runs with the world stopped,
 * and a stopped thread may hold a lock that creating a thread takes, so the
 * worker is not made on demand. (Made before the arena is mapped, it made
 * native GCBench 15% slower, for reasons not found.) Without a worker,
 * allocations' assists do all of the marking, refills the sweeping.
 */
static void direct_marker_start(void)
{
	sigset_t all, old;

	pthread_mutex_lock(&direct_marker.lock);
	if (!direct_marker.started) {
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		direct_marker.started =
			!(__real_pthread_create ?: pthread_create)(&direct_marker.thread,
					NULL, direct_marker_main, NULL);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	pthread_mutex_unlock(&direct_marker.lock);
}

/* Ask the worker for @what. */
static void direct_marker_want(unsigned int what)
{
	pthread_mutex_lock(&direct_marker.lock);
	if ((direct_marker.want & what) != what) {
		direct_marker.want |= what;
		pthread_cond_broadcast(&direct_marker.cond);
	}
	pthread_mutex_unlock(&direct_marker.lock);
}

/*
 * After an allocation: if a concurrent mark is near and the arena is not
 * protected yet, the worker protects it now, beside the program, rather
 * than the mark's start with the world stopped.
 */
static void direct_marker_arm(void)
{
	struct mheap *h = &direct->heap;
	bool near;

	if (!direct->tracks_writes || hosted_arena_writes_armed(h))
		return;
	mutex_lock(&h->lock);
	near = mgc_mark_near(h);
	mutex_unlock(&h->lock);
	if (near)
		direct_marker_want(DIRECT_WANT_ARM);
}

/* Before the heap goes: end its mark and wait for the worker to leave it. */
static void direct_marker_quiesce(void)
{
	mutex_lock(&direct->heap.lock);
	mgc_abort(&direct->heap);
	mutex_unlock(&direct->heap.lock);
	pthread_mutex_lock(&direct_marker.lock);
	direct_marker.want = 0;
	while (direct_marker.running)
		pthread_cond_wait(&direct_marker.cond, &direct_marker.lock);
	pthread_mutex_unlock(&direct_marker.lock);
}

/* ---- the backend ---- */

static int direct_op_open(void)
{
	static bool atfork;
	int ret = 0;

	pthread_mutex_lock(&direct_lock);
	if (!atfork) {
		ret = -pthread_atfork(NULL, NULL, direct_atfork_child);
		if (ret)
			goto out;
		atfork = true;
	}
	if (!direct) {
		direct = calloc(1, sizeof(*direct));
		if (!direct) {
			ret = -ENOMEM;
			goto out;
		}
	}
	if (!direct_classes_ready) {
		ret = mheap_sizeclass_init();
		if (ret)
			goto out;
		direct_classes_ready = true;
	}
	/* A second open gets a new heap, as a second open() of the device. */
	if (direct_open) {
		direct_open = false;
		direct_marker_quiesce();
		mheap_destroy(&direct->heap);
		if (direct->arena)
			munmap(direct->map, direct->map_len);
		direct->arena = NULL;
		direct->arena_len = 0;
	}
	if (direct_finq_efd < 0) {
		direct_finq_efd = eventfd(0, EFD_CLOEXEC);
		if (direct_finq_efd < 0) {
			ret = -errno;
			goto out;
		}
	}
	memset(&direct->heap, 0, sizeof(direct->heap));
	mheap_init(&direct->heap);
	direct_forked = false;
	direct_open = true;
out:
	pthread_mutex_unlock(&direct_lock);
	return ret;
}

static int direct_op_api(struct gcheap_api *api)
{
	struct gcheap_api a;
	int ret = direct_enter();

	if (!ret)
		ret = DIRECT_COPY_IN(a, api, span_max_elems);
	if (ret)
		return ret;
	if (a.flags || a.__reserved)
		return -EINVAL;
	mheap_op_api(&direct->heap, &a);
	a.arena_max = DIRECT_ARENA_MAX;
	direct_copy_out(api, &a, sizeof(a));
	return direct_leave(0, __func__);
}

static int direct_op_size_classes(struct gcheap_size_classes *usc)
{
	struct gcheap_size_class *table;
	struct gcheap_size_classes sc;
	unsigned int i;
	int ret = direct_enter();

	if (!ret)
		ret = DIRECT_COPY_IN(sc, usc, table);
	if (ret)
		return ret;
	if (sc.flags || sc.__reserved)
		return -EINVAL;
	if (sc.count < MHEAP_NUM_CLASSES) {
		sc.count = MHEAP_NUM_CLASSES;
		direct_copy_out(usc, &sc, sizeof(sc));
		return -ENOSPC;
	}
	table = (struct gcheap_size_class *)(uintptr_t)sc.table;
	if (!table)
		return -EFAULT;
	for (i = 0; i < MHEAP_NUM_CLASSES; i++) {
		table[i].size = mheap_classes[i].size;
		table[i].npages = mheap_classes[i].npages;
	}
	sc.count = MHEAP_NUM_CLASSES;
	direct_copy_out(usc, &sc, sizeof(sc));
	return 0;
}

static int direct_op_map(size_t len, void **base)
{
	size_t map_len;
	void *p, *map;
	int ret = direct_enter();

	if (ret)
		return ret;
	/* mmap()'s own checks, then gcheap_fops_mmap()'s. */
	if (!len || len & (GCHEAP_PAGE_SIZE - 1))
		return -EINVAL;
	if (len > DIRECT_ARENA_MAX)
		return -EFBIG;

	pthread_mutex_lock(&direct_lock);
	/*
	 * Aligned to a heap page, with a guard below, as sys_ioctl.c's
	 * gcheap_sys_map() maps it; what lies below the arena is made
	 * inaccessible, the tail past it is left unused.
	 */
	map_len = len + GCHEAP_ARENA_GUARD + GCHEAP_PAGE_SIZE;
	map = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED) {
		ret = -errno;
		goto out;
	}
	p = (void *)(((uintptr_t)map + GCHEAP_ARENA_GUARD + GCHEAP_PAGE_SIZE - 1) &
		     ~(uintptr_t)(GCHEAP_PAGE_SIZE - 1));
	mprotect(map, (char *)p - (char *)map, PROT_NONE);
	ret = mheap_set_arena(&direct->heap, (uintptr_t)p, len);
	if (ret) {
		munmap(map, map_len);
		goto out;
	}
	direct->map = map;
	direct->map_len = map_len;
	hosted_arena_set_real(&direct->heap, true);
	direct->tracks_writes = !hosted_arena_track_writes(&direct->heap);
	direct->arena = p;
	direct->arena_len = len;
	*base = p;
out:
	pthread_mutex_unlock(&direct_lock);
	if (!ret)
		direct_marker_start();
	return direct_leave(ret, __func__);
}

static int direct_op_refill(struct gcheap_refill *ur)
{
	struct gcheap_refill r;
	int ret = direct_enter();

	if (!ret)
		ret = DIRECT_COPY_IN(r, ur, free);
	if (ret)
		return ret;
	ret = mheap_op_refill(&direct->heap, &r);
	if (!ret)
		direct_copy_out(ur, &r, sizeof(r));
	if (!ret)
		direct_marker_arm();
	return direct_leave(ret, __func__);
}

static int direct_op_alloc(struct gcheap_alloc *ua)
{
	struct gcheap_alloc a;
	int ret = direct_enter();

	if (!ret)
		ret = DIRECT_COPY_IN(a, ua, usable);
	if (ret)
		return ret;
	ret = mheap_op_alloc(&direct->heap, &a);
	if (!ret)
		direct_copy_out(ua, &a, sizeof(a));
	if (!ret)
		direct_marker_arm();
	return direct_leave(ret, __func__);
}

static int direct_op_free(struct gcheap_free *uf)
{
	struct gcheap_free f;
	int ret = direct_enter();

	if (!ret)
		ret = DIRECT_COPY_IN(f, uf, addr);
	if (ret)
		return ret;
	return direct_leave(mheap_op_free(&direct->heap, &f), __func__);
}

static int direct_op_lookup(struct gcheap_lookup *ul)
{
	struct gcheap_lookup l;
	int ret = direct_enter();

	if (!ret)
		ret = DIRECT_COPY_IN(l, ul, __reserved);
	if (ret)
		return ret;
	ret = mheap_op_lookup(&direct->heap, &l);
	if (!ret)
		direct_copy_out(ul, &l, sizeof(l));
	return direct_leave(ret, __func__);
}

static int direct_op_stats(struct gcheap_stats *ust)
{
	struct gcheap_class_stats rows[MHEAP_NUM_CLASSES];
	struct gcheap_class_stats *urows;
	struct gcheap_stats st;
	int ret = direct_enter();

	if (!ret)
		ret = DIRECT_COPY_IN(st, ust, bad_frees);
	if (ret)
		return ret;
	if (st.flags || st.__reserved)
		return -EINVAL;
	urows = (struct gcheap_class_stats *)(uintptr_t)st.by_class;
	if (urows && st.nclasses < MHEAP_NUM_CLASSES) {
		st.nclasses = MHEAP_NUM_CLASSES;
		direct_copy_out(ust, &st, sizeof(st));
		return -ENOSPC;
	}
	memset(rows, 0, sizeof(rows));
	ret = mheap_op_stats(&direct->heap, &st, urows ? rows : NULL,
			     urows ? MHEAP_NUM_CLASSES : 0,
			     (struct gcheap_pause *)(uintptr_t)st.pauses);
	if (!ret) {
		if (urows)
			memcpy(urows, rows, sizeof(rows));
		direct_copy_out(ust, &st, sizeof(st));
	}
	return direct_leave(ret, __func__);
}

static int direct_op_roots(struct gcheap_roots *ur)
{
	struct gcheap_roots r;
	int ret = direct_enter();

	if (!ret)
		ret = DIRECT_COPY_IN(r, ur, hi);
	if (ret)
		return ret;
	if (!direct->arena)
		return -ENXIO;
	/* main.c's check that the range is user memory. */
	if (r.hi > (1ULL << 47) || r.lo >= r.hi)
		return -EINVAL;
	return direct_leave(mgc_op_roots(&direct->heap, &r), __func__);
}

/*
 * Copy [@src, @src + @len) of this process into @dst as copy_from_user()
 * and gcheap_read_partly() do: what cannot be read, page by page, is zero.
 */
static void direct_read_root(void *dst, u64 src, u64 len)
{
	long page = sysconf(_SC_PAGESIZE);
	struct iovec all_local = { dst, len };
	struct iovec all_remote = { (void *)(uintptr_t)src, len };
	u64 done = 0;

	/* Mostly all of it can be read: one call, not one per page. */
	if (process_vm_readv(getpid(), &all_local, 1, &all_remote, 1, 0) ==
	    (ssize_t)len)
		return;
	while (done < len) {
		u64 n = min_t(u64, len - done, page - ((src + done) % page));
		struct iovec local = { (char *)dst + done, n };
		struct iovec remote = { (void *)(uintptr_t)(src + done), n };

		if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != (ssize_t)n)
			memset((char *)dst + done, 0, n);
		done += n;
	}
}

/* main.c's gcheap_clear_root_links(): a word that cannot be written stays. */
static void direct_clear_root_links(void)
{
	unsigned int i, n;
	u64 *addrs, zero = 0;

	mutex_lock(&direct->heap.lock);
	n = mgc_links_pending(&direct->heap, &addrs);
	mutex_unlock(&direct->heap.lock);
	for (i = 0; i < n; i++) {
		struct iovec local = { &zero, sizeof(zero) };
		struct iovec remote = { (void *)(uintptr_t)addrs[i], sizeof(zero) };

		process_vm_writev(getpid(), &local, 1, &remote, 1, 0);
	}
	kvfree(addrs);
}

/*
 * Memory for a collection's roots. The library calls GC with the world
 * stopped, and a stopped thread may hold a lock of malloc(): mmap() takes
 * none. (mgc's own kvmalloc() of the work list still goes to malloc() in
 * this build; the kernel has no such hazard.)
 *
 * Every collection needs the same few buffers again, and a munmap() costs
 * a TLB shootdown on the other CPUs: a few mappings of up to
 * DIRECT_BUF_KEEP bytes are kept for the next call. The lock is only
 * tried, since a thread stopped here by a collection would hold it.
 */
#define DIRECT_BUF_SLOTS	4
#define DIRECT_BUF_KEEP		(4UL << 20)

static struct {
	void *p;
	size_t len;
} direct_bufs[DIRECT_BUF_SLOTS];
static pthread_mutex_t direct_bufs_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * The length of the mapping made for @len bytes: a power of two, so that
 * the roots' buffer, whose size moves with the stack's depth, finds the
 * last one again.
 */
static size_t direct_buf_len(size_t len)
{
	size_t n = sysconf(_SC_PAGESIZE);

	while (n < len && n <= SIZE_MAX / 2)
		n *= 2;
	return n < len ? len : n;
}

static void *direct_map_buf(size_t len)
{
	size_t want = direct_buf_len(len);
	void *p = NULL;
	unsigned int i;

	if (!pthread_mutex_trylock(&direct_bufs_lock)) {
		for (i = 0; i < DIRECT_BUF_SLOTS && !p; i++) {
			if (direct_bufs[i].p && direct_bufs[i].len == want) {
				p = direct_bufs[i].p;
				direct_bufs[i].p = NULL;
			}
		}
		pthread_mutex_unlock(&direct_bufs_lock);
		if (p)
			return p;
	}
	p = mmap(NULL, want, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void direct_unmap_buf(void *p, size_t len)
{
	size_t have = direct_buf_len(len);
	unsigned int i;

	if (!p)
		return;
	if (have <= DIRECT_BUF_KEEP && !pthread_mutex_trylock(&direct_bufs_lock)) {
		for (i = 0; i < DIRECT_BUF_SLOTS && p; i++) {
			if (!direct_bufs[i].p) {
				direct_bufs[i].p = p;
				direct_bufs[i].len = have;
				p = NULL;
			}
		}
		pthread_mutex_unlock(&direct_bufs_lock);
	}
	if (p)
		munmap(p, have);
}

static int direct_op_gc(struct gcheap_gc *ug)
{
	struct gcheap_range *ranges;
	struct mgc_root *roots;
	struct gcheap_gc g;
	u64 total = 0, off = 0;
	u32 i, n, nreg;
	char *buf;
	int ret = direct_enter();

	if (!ret)
		ret = DIRECT_COPY_IN(g, ug, overflows);
	if (ret)
		return ret;
	if (!direct->arena)
		return -ENXIO;
	if (g.flags & ~MGC_GC_FLAGS || g.__reserved || g.__reserved2)
		return -EINVAL;
	if (g.nroots > GCHEAP_MAX_ROOTS)
		return -E2BIG;
	if (g.nroots && !g.roots)
		return -EFAULT;
	if (!direct->tracks_writes)
		g.flags &= ~GCHEAP_GC_CONCURRENT;

	/* The registered ranges and the passed ones, as main.c reads them. */
	mutex_lock(&direct->heap.lock);
	nreg = direct->heap.gc.nroots;
	n = nreg + g.nroots;
	ranges = direct_map_buf((n ?: 1) * sizeof(*ranges));
	if (ranges && nreg)
		memcpy(ranges, direct->heap.gc.roots, nreg * sizeof(*ranges));
	mutex_unlock(&direct->heap.lock);
	if (!ranges)
		return -ENOMEM;
	if (g.nroots)
		memcpy(ranges + nreg, (void *)(uintptr_t)g.roots,
		       g.nroots * sizeof(*ranges));
	for (i = 0; i < n; i++) {
		u64 lo = (ranges[i].lo + 7) & ~7ULL, hi = ranges[i].hi & ~7ULL;

		if (hi <= lo || hi > (1ULL << 47)) {
			ranges[i].lo = ranges[i].hi = 0;
			continue;
		}
		ranges[i].lo = lo;
		ranges[i].hi = hi;
		total += hi - lo;
	}
	if (total > GCHEAP_MAX_ROOT_BYTES) {
		direct_unmap_buf(ranges, (n ?: 1) * sizeof(*ranges));
		return -E2BIG;
	}
	roots = direct_map_buf((n ?: 1) * sizeof(*roots));
	buf = direct_map_buf(total ?: 8);
	if (!roots || !buf) {
		direct_unmap_buf(roots, (n ?: 1) * sizeof(*roots));
		direct_unmap_buf(buf, total ?: 8);
		direct_unmap_buf(ranges, (n ?: 1) * sizeof(*ranges));
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		u64 len = ranges[i].hi - ranges[i].lo;

		roots[i].words = buf + off;
		roots[i].len = len;
		direct_read_root(buf + off, ranges[i].lo, len);
		off += len;
	}
	ret = mgc_op_gc(&direct->heap, &g, roots, n);
	if (!ret && (g.out_flags & GCHEAP_GC_MARKING))
		direct_marker_want(DIRECT_WANT_MARK);
	else if (!ret && ((g.flags & GCHEAP_GC_NOSWEEP) ||
			  hosted_arena_writes_armed(&direct->heap)))
		direct_marker_want(DIRECT_WANT_END);
	direct_clear_root_links();
	direct_unmap_buf(buf, total ?: 8);
	direct_unmap_buf(roots, (n ?: 1) * sizeof(*roots));
	direct_unmap_buf(ranges, (n ?: 1) * sizeof(*ranges));
	/*
	 * In the kernel the heap's metadata is kernel memory; here it is this
	 * process's malloc heap, which a release gives back too.
	 */
	if (!ret && (g.flags & GCHEAP_GC_RELEASE))
		malloc_trim(0);
	if (!ret)
		direct_copy_out(ug, &g, sizeof(g));
	return direct_leave(ret, __func__);
}

static int direct_op_gc_config(struct gcheap_gc_config *uc)
{
	struct gcheap_gc_config c;
	int ret = direct_enter();

	if (!ret)
		ret = DIRECT_COPY_IN(c, uc, gctrace);
	if (ret)
		return ret;
	ret = mgc_op_config(&direct->heap, &c);
	if (!ret)
		direct_copy_out(uc, &c, sizeof(c));
	return direct_leave(ret, __func__);
}

/*
 * The entry points. A system call runs to its end before the caller's
 * signal handlers do; here the heap code runs in the calling thread and
 * takes mheap.lock, so signals are blocked for the length of each
 * operation, as the kernel defers them: a thread that the library stops for
 * a collection never holds the heap's lock.
 */
#define DIRECT_SYSCALL_QUIET(call)					\
({									\
	sigset_t __all, __old;						\
	int __ret;							\
									\
	sigfillset(&__all);						\
	pthread_sigmask(SIG_BLOCK, &__all, &__old);			\
	__ret = (call);							\
	pthread_sigmask(SIG_SETMASK, &__old, NULL);			\
	__ret;								\
})

/* ...and the finalizer queue's readers are woken if records were queued. */
#define DIRECT_SYSCALL(call)						\
({									\
	int __r = DIRECT_SYSCALL_QUIET(call);				\
									\
	direct_finq_wake();						\
	__r;								\
})

int gcheap_sys_open(void)
{
	return DIRECT_SYSCALL(direct_op_open());
}

int gcheap_sys_api(struct gcheap_api *a)
{
	return DIRECT_SYSCALL(direct_op_api(a));
}

int gcheap_sys_size_classes(struct gcheap_size_classes *sc)
{
	return DIRECT_SYSCALL(direct_op_size_classes(sc));
}

int gcheap_sys_map(size_t len, void **base)
{
	return DIRECT_SYSCALL(direct_op_map(len, base));
}

/*
 * The one call made for every span an allocation fills, so the two
 * sigprocmask() calls cost more here than anywhere (7% of a native
 * GCBench). The library refills only inside tc_enter() or for a thread
 * stopped by the collector (lib/gcheap.c), and refuses the collector's
 * stop signal while in there (lib/gc.c); no handler may call the library
 * while it interrupts a call of it (gcheap.h). A thread stopped for a
 * collection thus never holds the heap's lock here either.
 */
int gcheap_sys_refill(struct gcheap_refill *r)
{
	int ret = direct_op_refill(r);

	direct_finq_wake();
	return ret;
}

int gcheap_sys_alloc(struct gcheap_alloc *a)
{
	return DIRECT_SYSCALL(direct_op_alloc(a));
}

int gcheap_sys_free(struct gcheap_free *f)
{
	return DIRECT_SYSCALL(direct_op_free(f));
}

int gcheap_sys_lookup(struct gcheap_lookup *l)
{
	return DIRECT_SYSCALL(direct_op_lookup(l));
}

int gcheap_sys_stats(struct gcheap_stats *st)
{
	return DIRECT_SYSCALL(direct_op_stats(st));
}

int gcheap_sys_roots(struct gcheap_roots *r)
{
	return DIRECT_SYSCALL(direct_op_roots(r));
}

int gcheap_sys_gc(struct gcheap_gc *g)
{
	return DIRECT_SYSCALL(direct_op_gc(g));
}

int gcheap_sys_gc_config(struct gcheap_gc_config *c)
{
	return DIRECT_SYSCALL(direct_op_gc_config(c));
}

static int direct_op_finalizer(struct gcheap_finalizer *uf)
{
	struct gcheap_finalizer f;
	int ret = direct_enter();

	if (!ret)
		ret = DIRECT_COPY_IN(f, uf, arg);
	if (ret)
		return ret;
	return direct_leave(mgc_op_finalizer(&direct->heap, &f), __func__);
}

int gcheap_sys_finalizer(struct gcheap_finalizer *f)
{
	return DIRECT_SYSCALL(direct_op_finalizer(f));
}

static int direct_op_link(struct gcheap_link *ul)
{
	struct gcheap_link l;
	int ret = direct_enter();

	if (!ret)
		ret = DIRECT_COPY_IN(l, ul, obj);
	if (ret)
		return ret;
	return direct_leave(mgc_op_link(&direct->heap, &l), __func__);
}

int gcheap_sys_link(struct gcheap_link *l)
{
	return DIRECT_SYSCALL(direct_op_link(l));
}

/* main.c's gcheap_ioctl_profile() */
static int direct_op_profile(struct gcheap_profile *up)
{
	struct gcheap_profile_count *counts;
	struct gcheap_profile p;
	int ret = direct_enter();

	if (!ret)
		ret = DIRECT_COPY_IN(p, up, buf);
	if (!ret)
		ret = mgc_profile_check(&p);
	if (ret)
		return ret;
	if (p.op == GCHEAP_PROFILE_ADD)
		return direct_leave(mgc_op_profile_add(&direct->heap, &p),
				    __func__);
	counts = kvmalloc_array(max(p.count, 1U), sizeof(*counts), GFP_KERNEL);
	if (!counts)
		return -ENOMEM;
	p.count = mgc_profile_read(&direct->heap, p.bucket, p.count, counts);
	memcpy((void *)(uintptr_t)p.buf, counts, p.count * sizeof(*counts));
	kvfree(counts);
	direct_copy_out(up, &p, sizeof(p));
	return 0;
}

int gcheap_sys_profile(struct gcheap_profile *p)
{
	return DIRECT_SYSCALL(direct_op_profile(p));
}

/* main.c's gcheap_ioctl_dump() */
static int direct_op_dump(struct gcheap_dump *ud)
{
	struct gcheap_dump d;
	size_t need = 0, len;
	void *buf;
	int ret = direct_enter();

	if (!ret)
		ret = DIRECT_COPY_IN(d, ud, len);
	if (ret)
		return ret;
	if (d.flags)
		return -EINVAL;
	ret = mgc_dump(&direct->heap, NULL, 0, &need);
	if (ret != -ENOSPC)
		return direct_leave(ret, __func__);
	if (d.len < need) {
		d.len = need;
		direct_copy_out(ud, &d, sizeof(d));
		return -ENOSPC;
	}
	ret = mgc_dump_alloc(&direct->heap, need, &buf, &len);
	if (ret)
		return direct_leave(ret, __func__);
	if (len > d.len) {
		d.len = len;
		ret = -ENOSPC;
	} else {
		memcpy((void *)(uintptr_t)d.buf, buf, len);
		d.len = len;
	}
	kvfree(buf);
	direct_copy_out(ud, &d, sizeof(d));
	return direct_leave(ret, __func__);
}

int gcheap_sys_dump(struct gcheap_dump *d)
{
	return DIRECT_SYSCALL(direct_op_dump(d));
}

/* One non-blocking read of the queue, as main.c's read_iter. */
static int direct_op_read_final(struct gcheap_final *recs, unsigned int n)
{
	LIST_HEAD(taken);
	unsigned int got;
	int ret = direct_enter();

	if (ret)
		return ret;
	if (!n)
		return -EINVAL;
	got = mgc_finq_take(&direct->heap, &taken, recs, min(n, 64U));
	mgc_finq_finish(&direct->heap, &taken, got, true);
	return direct_leave(got ? (int)got : -EAGAIN, __func__);
}

/*
 * Waiting is done with signals let through, as in the kernel's
 * interruptible wait, so that a collection can stop the waiting thread.
 */
int gcheap_sys_read_final(struct gcheap_final *recs, unsigned int n,
			  bool wait)
{
	u64 count;
	int ret;

	for (;;) {
		ret = DIRECT_SYSCALL(direct_op_read_final(recs, n));
		if (ret > 0 && mgc_finq_ready(&direct->heap))
			direct_finq_kick();	/* more for the next reader */
		if (ret != -EAGAIN || !wait)
			return ret;
		if (read(direct_finq_efd, &count, sizeof(count)) < 0 &&
		    errno != EINTR)
			return -errno;
	}
}

int gcheap_sys_fd(void)
{
	return -ENODEV;
}
