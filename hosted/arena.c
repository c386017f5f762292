// SPDX-License-Identifier: GPL-2.0
/*
 * The hosted replacement for mheap/arena.c: the memory behind an arena.
 *
 * In the kernel the arena's pages are allocated on first touch and reached
 * through the direct map. Here an arena is either fake (the KUnit suites put
 * heaps at an address with nothing behind it, and never touch it) or real:
 * an anonymous mapping of this process, made by the direct backend
 * (sys_direct.c), which says so with hosted_arena_set_real().
 *
 * The kernel clears only the pages that are backed, and leaves the others
 * unbacked (they read as zero). The real arena does the same: mincore()
 * tells which base pages are resident; those are cleared with memset(), the
 * rest are dropped with MADV_DONTNEED (which also covers a page that was
 * swapped out), so they read as zero and stay unbacked.
 *
 * The kernel finds the pages a concurrent mark must scan again in the CPU's
 * dirty bits. A real arena here registers with userfaultfd for asynchronous
 * write protection (Linux 6.7: the first write to a protected page only
 * unprotects it, no fault is delivered) and reads the written pages with
 * the PAGEMAP_SCAN ioctl of /proc/self/pagemap, which can also protect them
 * again in the same step, as the kernel's test-and-clear of a dirty bit.
 * On an older kernel none of it exists and writes are not tracked.
 *
 * Unlike a dirty bit, a protected page costs a fault at its first write.
 * Once a mark has ended nothing needs the protection until the next one
 * starts, so the concurrent mark's worker lifts it then
 * (hosted_arena_untrack_writes()), unless the next mark is near already;
 * left in place, it would cost a fault on every page the program writes
 * between two marks (in GCBench, 57k of its 99k faults).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/kernel.h>
#include <linux/bitmap.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/errno.h>
#include <linux/lockdep.h>
#include "mheap.h"
#include "../mgc/mgc.h"

/* A base page written by mheap_arena_poke() in a fake arena. */
struct arena_fake_page {
	struct arena_fake_page *next;
	unsigned long pgoff;
	u64 words[PAGE_SIZE / 8];
};

/**
 * struct mheap_arena - hosted view of an arena
 * @real: memory of this process lies behind the arena's addresses
 * @fake: in a fake arena, the pages the KUnit suites wrote (as the kernel
 *	backs a page on first touch); few, so a list does
 * @uffd: the userfaultfd that write-protects a real arena, or -1
 * @pagemap: /proc/self/pagemap, read for the written pages, or -1
 * @wp_lock: held around a change of the protection, so that lifting it
 *	without mheap.lock never overlaps with the next mark protecting it
 * @armed: the arena is protected (for a mark, ahead of one, or left so by
 *	the last one) and nobody has lifted it since: every page written
 *	since reads as written; under @wp_lock
 * @holes: per heap page, set where no protection is needed this time
 *	(arena_find_holes()); under @wp_lock
 */
struct mheap_arena {
	bool real;
	struct arena_fake_page *fake;
	int uffd;
	int pagemap;
	pthread_mutex_t wp_lock;
	bool armed;
	unsigned long *holes;
};

/*
 * The userfaultfd and PAGEMAP_SCAN ABI (include/uapi/linux/userfaultfd.h
 * and fs.h of Linux 6.7), declared here: Debian 12's headers predate it.
 */
#define ARENA_UFFD_API			0xAAULL
#define ARENA_UFFD_FEATURE_WP_UNPOPULATED	(1ULL << 13)
#define ARENA_UFFD_FEATURE_WP_ASYNC	(1ULL << 15)
#define ARENA_UFFD_REGISTER_MODE_WP	(1ULL << 1)
#define ARENA_UFFD_WRITEPROTECT_MODE_WP	(1ULL << 0)
#define ARENA_PM_SCAN_WP_MATCHING	(1ULL << 0)
#define ARENA_PM_SCAN_CHECK_WPASYNC	(1ULL << 1)
#define ARENA_PAGE_IS_WRITTEN		(1ULL << 1)

struct arena_uffd_api {
	u64 api;
	u64 features;
	u64 ioctls;
};

struct arena_uffd_range {
	u64 start;
	u64 len;
};

struct arena_uffd_register {
	struct arena_uffd_range range;
	u64 mode;
	u64 ioctls;
};

struct arena_uffd_writeprotect {
	struct arena_uffd_range range;
	u64 mode;
};

struct arena_page_region {
	u64 start;
	u64 end;
	u64 categories;
};

struct arena_pm_scan_arg {
	u64 size;
	u64 flags;
	u64 start;
	u64 end;
	u64 walk_end;
	u64 vec;
	u64 vec_len;
	u64 max_pages;
	u64 category_inverted;
	u64 category_mask;
	u64 category_anyof_mask;
	u64 return_mask;
};

#define ARENA_UFFDIO_API	_IOWR(0xAA, 0x3F, struct arena_uffd_api)
#define ARENA_UFFDIO_REGISTER	_IOWR(0xAA, 0x00, struct arena_uffd_register)
#define ARENA_UFFDIO_WRITEPROTECT _IOWR(0xAA, 0x06, struct arena_uffd_writeprotect)
#define ARENA_PAGEMAP_SCAN	_IOWR('f', 16, struct arena_pm_scan_arg)

static struct arena_fake_page *arena_fake_find(struct mheap *h,
					       unsigned long pgoff)
{
	struct arena_fake_page *p;

	for (p = h->backing ? h->backing->fake : NULL; p; p = p->next)
		if (p->pgoff == pgoff)
			return p;
	return NULL;
}

int mheap_arena_init(struct mheap *h)
{
	struct mheap_arena *a = kzalloc(sizeof(*a), GFP_KERNEL_ACCOUNT);

	if (!a)
		return -ENOMEM;
	a->uffd = -1;
	a->pagemap = -1;
	pthread_mutex_init(&a->wp_lock, NULL);
	h->backing = a;
	return 0;
}

void mheap_arena_destroy(struct mheap *h)
{
	if (h->backing && h->backing->uffd >= 0)
		close(h->backing->uffd);
	if (h->backing && h->backing->pagemap >= 0)
		close(h->backing->pagemap);
	while (h->backing && h->backing->fake) {
		struct arena_fake_page *p = h->backing->fake;

		h->backing->fake = p->next;
		kfree(p);
	}
	if (h->backing) {
		kfree(h->backing->holes);
		pthread_mutex_destroy(&h->backing->wp_lock);
	}
	kfree(h->backing);
	h->backing = NULL;
}

void hosted_arena_set_real(struct mheap *h, bool real)
{
	if (WARN_ON(!h->backing))
		return;
	h->backing->real = real;
}

static bool arena_is_real(struct mheap *h)
{
	return h->backing && h->backing->real;
}

/* Base pages looked at per mincore() call. */
#define ARENA_MINCORE_BATCH	4096UL

/*
 * Clear [addr, addr + npages base pages): resident pages with memset(),
 * runs of others with MADV_DONTNEED. Returns false if mincore() failed.
 */
static bool arena_clear_backed(unsigned long addr, unsigned long npages)
{
	unsigned char vec[ARENA_MINCORE_BATCH];

	while (npages) {
		unsigned long n = min(npages, ARENA_MINCORE_BATCH), i = 0;

		if (mincore((void *)addr, n * PAGE_SIZE, vec))
			return false;
		while (i < n) {
			bool resident = vec[i] & 1;
			unsigned long j = i + 1;

			while (j < n && (vec[j] & 1) == resident)
				j++;
			if (resident)
				memset((void *)(addr + i * PAGE_SIZE), 0,
				       (j - i) * PAGE_SIZE);
			else if (madvise((void *)(addr + i * PAGE_SIZE),
					 (j - i) * PAGE_SIZE, MADV_DONTNEED))
				return false;
			i = j;
		}
		addr += n * PAGE_SIZE;
		npages -= n;
	}
	return true;
}

/**
 * mheap_arena_zero() - clear a run of heap pages
 * @h: the heap
 * @page: first heap page
 * @npages: heap pages
 *
 * Return: 0. A fake arena has nothing to clear.
 */
int mheap_arena_zero(struct mheap *h, u64 page, u64 npages)
{
	unsigned long addr, per = MHEAP_PAGE_SIZE / PAGE_SIZE;

	if (!npages)
		return 0;
	if (!arena_is_real(h)) {
		struct arena_fake_page *p;

		for (p = h->backing ? h->backing->fake : NULL; p; p = p->next)
			if (p->pgoff >= page * per && p->pgoff < (page + npages) * per)
				memset(p->words, 0, sizeof(p->words));
		return 0;
	}
	addr = h->arena_base + (page << MHEAP_PAGE_SHIFT);
	if (!arena_clear_backed(addr, npages * per))
		memset((void *)addr, 0, npages << MHEAP_PAGE_SHIFT);
	return 0;
}

/**
 * mheap_arena_clear() - clear a freed object
 * @h: the heap, mheap.lock held
 * @off: the object's offset in the arena
 * @len: its size
 */
void mheap_arena_clear(struct mheap *h, u64 off, u64 len)
{
	lockdep_assert_held(&h->lock);
	if (arena_is_real(h)) {
		memset((void *)(uintptr_t)(h->arena_base + off), 0, len);
		return;
	}
	while (len) {
		unsigned long in = off % PAGE_SIZE;
		u64 n = min_t(u64, len, PAGE_SIZE - in);
		struct arena_fake_page *p = arena_fake_find(h, off / PAGE_SIZE);

		if (p)
			memset((char *)p->words + in, 0, n);
		off += n;
		len -= n;
	}
}

/**
 * mheap_arena_peek() - read access to a base page of the arena
 * @h: the heap
 * @pgoff: base page counted from the arena start
 *
 * Return: the page, or NULL where nothing was ever written (reads as zero).
 */
const void *mheap_arena_peek(struct mheap *h, unsigned long pgoff)
{
	struct arena_fake_page *p;

	if (arena_is_real(h))
		return (const void *)(uintptr_t)(h->arena_base + pgoff * PAGE_SIZE);
	p = arena_fake_find(h, pgoff);
	return p ? p->words : NULL;
}

/**
 * mheap_arena_poke() - write a word of the arena
 * @h: the heap
 * @off: byte offset, 8-byte aligned
 * @val: the word
 *
 * Return: 0 or -ENOMEM.
 */
int mheap_arena_poke(struct mheap *h, u64 off, u64 val)
{
	struct arena_fake_page *p;

	if (arena_is_real(h)) {
		*(u64 *)(uintptr_t)(h->arena_base + off) = val;
		return 0;
	}
	p = arena_fake_find(h, off / PAGE_SIZE);
	if (!p) {
		p = kzalloc(sizeof(*p), GFP_KERNEL);
		if (!p)
			return -ENOMEM;
		p->pgoff = off / PAGE_SIZE;
		p->next = h->backing->fake;
		h->backing->fake = p;
	}
	p->words[off % PAGE_SIZE / 8] = val;
	return 0;
}

/**
 * mheap_arena_unmap() - the kernel zaps a freed span's user mappings
 * @h: the heap, mheap.lock held
 * @page: first heap page
 * @npages: heap pages
 *
 * In user space the arena is the process's own memory with no per-page
 * protection to withdraw, so only the locking rule is checked.
 */
void mheap_arena_unmap(struct mheap *h, u64 page, u64 npages)
{
	lockdep_assert_held(&h->lock);
}

/**
 * mheap_arena_populate() - the kernel backs a span's pages when it is taken
 * @h: the heap, mheap.lock held
 * @page: first heap page
 * @npages: heap pages
 *
 * Here memory arrives on first touch, as any memory of the process, and no
 * memory cgroup is charged by the library: nothing to do.
 *
 * Return: 0.
 */
int mheap_arena_populate(struct mheap *h, u64 page, u64 npages)
{
	lockdep_assert_held(&h->lock);
	return 0;
}

/**
 * mheap_arena_release() - give back the memory of a run of free heap pages
 * @h: the heap, mheap.lock held
 * @page: first heap page
 * @npages: heap pages
 *
 * A real arena's pages are dropped (MADV_DONTNEED: they read as zero and
 * are unbacked again); a fake arena's written pages are forgotten.
 */
void mheap_arena_release(struct mheap *h, u64 page, u64 npages)
{
	unsigned long per = MHEAP_PAGE_SIZE / PAGE_SIZE;
	struct arena_fake_page **pp;

	lockdep_assert_held(&h->lock);
	if (!h->backing || !npages)
		return;
	if (arena_is_real(h)) {
		madvise((void *)(uintptr_t)(h->arena_base +
					    (page << MHEAP_PAGE_SHIFT)),
			npages << MHEAP_PAGE_SHIFT, MADV_DONTNEED);
		return;
	}
	for (pp = &h->backing->fake; *pp;) {
		struct arena_fake_page *p = *pp;

		if (p->pgoff >= page * per && p->pgoff < (page + npages) * per) {
			*pp = p->next;
			kfree(p);
		} else {
			pp = &p->next;
		}
	}
}

/**
 * mheap_arena_resident() - bytes of the arena backed by memory
 * @h: the heap
 *
 * Counts the resident base pages of the part of the arena the heap has
 * grown into (the heap touches no page above it).
 *
 * Return: bytes; 0 for a fake arena.
 */
u64 mheap_arena_resident(struct mheap *h)
{
	unsigned char vec[ARENA_MINCORE_BATCH];
	unsigned long addr, npages;
	u64 resident = 0;

	if (!arena_is_real(h))
		return 0;
	/* h->grown only grows; a value a little stale is fine for a count. */
	addr = h->arena_base;
	npages = READ_ONCE(h->grown) * (MHEAP_PAGE_SIZE / PAGE_SIZE);
	while (npages) {
		unsigned long n = min(npages, ARENA_MINCORE_BATCH), i;

		if (mincore((void *)addr, n * PAGE_SIZE, vec))
			break;
		for (i = 0; i < n; i++)
			resident += vec[i] & 1;
		addr += n * PAGE_SIZE;
		npages -= n;
	}
	return resident * PAGE_SIZE;
}

/**
 * hosted_arena_track_writes() - write-protect a real arena, so that a
 *	concurrent mark learns which pages were written
 * @h: the heap, its real arena set up
 *
 * Return: 0, or a negative errno (the kernel lacks the means, or refuses):
 * writes are then not tracked and a concurrent mark's end scans every
 * marked object again.
 */
int hosted_arena_track_writes(struct mheap *h)
{
	struct mheap_arena *a = h->backing;
	struct arena_uffd_api api = {
		.api = ARENA_UFFD_API,
		.features = ARENA_UFFD_FEATURE_WP_UNPOPULATED |
			    ARENA_UFFD_FEATURE_WP_ASYNC,
	};
	struct arena_uffd_register reg = {
		.range = { h->arena_base, h->arena_pages << MHEAP_PAGE_SHIFT },
		.mode = ARENA_UFFD_REGISTER_MODE_WP,
	};
	int ret;

	if (!arena_is_real(h) || a->uffd >= 0)
		return -EINVAL;
	a->holes = kcalloc(BITS_TO_LONGS(h->arena_pages), sizeof(long),
			   GFP_KERNEL);
	if (!a->holes)
		return -ENOMEM;
	a->uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	a->pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (a->uffd < 0 || a->pagemap < 0 ||
	    ioctl(a->uffd, ARENA_UFFDIO_API, &api) ||
	    ioctl(a->uffd, ARENA_UFFDIO_REGISTER, &reg)) {
		ret = -errno;
		if (a->uffd >= 0)
			close(a->uffd);
		if (a->pagemap >= 0)
			close(a->pagemap);
		a->uffd = -1;
		a->pagemap = -1;
		kfree(a->holes);
		a->holes = NULL;
		return ret;
	}
	return 0;
}

static bool arena_tracks_writes(struct mheap *h)
{
	return h->backing && h->backing->uffd >= 0;
}

/* The part of the arena the heap has grown into, in bytes. */
static u64 arena_grown_bytes(struct mheap *h)
{
	return READ_ONCE(h->grown) << MHEAP_PAGE_SHIFT;
}

/*
 * Runs of heap pages that need no protection ("holes"): free spans and
 * empty ones (no object: what is allocated there during the mark reads as
 * written anyway, since an unprotected page does), and large noscan
 * objects, never scanned. Leaving them out shortens the world's stop at
 * the mark's start, and the program allocates there without faults;
 * precleaning protects what was allocated there since, outside the stop.
 * A hole costs a call more: only holes of ARENA_HOLE_MIN_PAGES count, and
 * at most ARENA_RUNS_MAX runs are made, the last one taking the rest.
 */
#define ARENA_HOLE_MIN_PAGES	2
#define ARENA_RUNS_MAX		256

static void arena_set_holes(unsigned long *bits, struct list_head *head,
			    bool noscan)
{
	struct mspan *s;

	list_for_each_entry(s, head, list)
		if (!noscan || (s->spanclass & 1))
			bitmap_set(bits, s->start, s->npages);
}

/*
 * Find @h's holes below @grown heap pages: bits of a->holes. mheap.lock
 * and a->wp_lock held; the bits are used under a->wp_lock.
 */
static void arena_find_holes(struct mheap *h, u64 grown)
{
	unsigned long *bits = h->backing->holes;
	unsigned int i;

	bitmap_zero(bits, grown);
	for (i = 1; i < MHEAP_FREE_LISTS; i++)
		arena_set_holes(bits, &h->free[i], false);
	arena_set_holes(bits, &h->free_large, false);
	arena_set_holes(bits, &h->large, true);
	arena_set_holes(bits, &h->large_unswept, true);
	for (i = 0; i < MHEAP_NUM_SPANCLASSES; i++)
		arena_set_holes(bits, &h->central[i].empty, false);
}

/*
 * Call @fn on each run of heap pages below @grown between the holes
 * a->holes found; a->wp_lock held. Return: 0, or @fn's first error.
 */
static int arena_for_each_run(struct mheap *h, u64 grown,
			      int (*fn)(struct mheap *h, u64 lo, u64 hi,
					void *ctx),
			      void *ctx)
{
	unsigned long *bits = h->backing->holes;
	unsigned int runs = 0;
	u64 at = 0, lo, hi;
	int err = 0;

	while (at < grown && !err) {
		/* The next hole worth a run's end; none once runs are used up. */
		lo = hi = grown;
		if (runs < ARENA_RUNS_MAX - 1) {
			for (lo = find_next_bit(bits, grown, at); lo < grown;
			     lo = find_next_bit(bits, grown, hi)) {
				hi = find_next_zero_bit(bits, grown, lo);
				if (hi - lo >= ARENA_HOLE_MIN_PAGES)
					break;
			}
			if (lo >= grown)
				hi = grown;
		}
		if (at < lo)
			err = fn(h, at, lo, ctx);
		runs++;
		at = hi;
	}
	return err;
}

/* Protect heap pages [@lo, @hi) against writes. Return: 0 or -1. */
static int arena_protect(struct mheap *h, u64 lo, u64 hi, void *ctx)
{
	struct arena_uffd_writeprotect wp = {
		.range = { h->arena_base + (lo << MHEAP_PAGE_SHIFT),
			   (hi - lo) << MHEAP_PAGE_SHIFT },
		.mode = ARENA_UFFD_WRITEPROTECT_MODE_WP,
	};

	return ioctl(h->backing->uffd, ARENA_UFFDIO_WRITEPROTECT, &wp) ? -1 : 0;
}

/**
 * mheap_arena_dirty_reset() - start tracking writes anew
 * @h: the heap, the world stopped, mheap.lock held
 *
 * Unlike the kernel's, it keeps the pages written since the arena was last
 * protected, if it still is: more pages read as written than were, which
 * costs a look at each, and no walk of the arena with the world stopped.
 *
 * Return: true if writes from now on will be known, as in the kernel.
 */
bool mheap_arena_dirty_reset(struct mheap *h)
{
	struct mheap_arena *a = h->backing;
	bool armed;

	if (!arena_tracks_writes(h))
		return false;
	pthread_mutex_lock(&a->wp_lock);
	/*
	 * Protected ahead of this mark (hosted_arena_arm_writes()), or still
	 * by the last one: a write since then reads as one made during this
	 * mark, which costs a look, no more.
	 */
	if (!a->armed) {
		arena_find_holes(h, h->grown);
		a->armed = !arena_for_each_run(h, h->grown, arena_protect, NULL);
	}
	armed = a->armed;
	pthread_mutex_unlock(&a->wp_lock);
	return armed;
}

/**
 * hosted_arena_arm_writes() - write-protect the arena ahead of a mark
 * @h: the heap, mheap.lock not held
 *
 * The concurrent mark's worker calls it once mgc_mark_near() says a mark
 * is near; the mark's start then finds the arena protected. Does nothing
 * unless a mark is still near, or if the arena is protected already.
 */
void hosted_arena_arm_writes(struct mheap *h)
{
	struct mheap_arena *a = h->backing;
	u64 grown;

	mutex_lock(&h->lock);
	/* Asked for a while ago, by now it may be a mark's end. */
	if (!arena_tracks_writes(h) || !mgc_mark_near(h)) {
		mutex_unlock(&h->lock);
		return;
	}
	pthread_mutex_lock(&a->wp_lock);
	grown = h->grown;
	if (!a->armed)
		arena_find_holes(h, grown);
	mutex_unlock(&h->lock);
	if (!a->armed)
		a->armed = !arena_for_each_run(h, grown, arena_protect, NULL);
	pthread_mutex_unlock(&a->wp_lock);
}

/**
 * hosted_arena_untrack_writes() - lift a finished mark's write protection
 * @h: the heap, mheap.lock not held
 *
 * Does nothing while a mark runs or if nothing is protected; nor when the
 * next mark is near already (mgc_mark_near()), as when the heap grows fast:
 * lifting the protection and setting it again would cost two walks of the
 * arena, the second one maybe with the world stopped, to spare faults on
 * the few pages written until then. The ioctl runs without mheap.lock, so
 * the program's calls go on meanwhile.
 */
void hosted_arena_untrack_writes(struct mheap *h)
{
	struct mheap_arena *a = h->backing;
	struct arena_uffd_writeprotect wp = { .mode = 0 };

	mutex_lock(&h->lock);
	if (!arena_tracks_writes(h) || h->gc.phase != MGC_PHASE_OFF ||
	    mgc_mark_near(h)) {
		mutex_unlock(&h->lock);
		return;
	}
	wp.range.start = h->arena_base;
	wp.range.len = arena_grown_bytes(h);
	/* Taken before mheap.lock goes, so that no mark starts in between. */
	pthread_mutex_lock(&a->wp_lock);
	mutex_unlock(&h->lock);
	/* A failure leaves pages protected: more faults, nothing lost. */
	if (a->armed && wp.range.len)
		ioctl(a->uffd, ARENA_UFFDIO_WRITEPROTECT, &wp);
	a->armed = false;
	pthread_mutex_unlock(&a->wp_lock);
}

/**
 * hosted_arena_writes_armed() - whether the arena is write-protected
 * @h: the heap
 *
 * Read without a lock: a hint for whom to wake.
 */
bool hosted_arena_writes_armed(struct mheap *h)
{
	return arena_tracks_writes(h) && READ_ONCE(h->backing->armed);
}

/* Regions read per PAGEMAP_SCAN call. */
#define ARENA_SCAN_REGIONS	64

/* arena_scan_written() for the addresses [@start, @end). */
static int arena_scan_range(struct mheap *h, unsigned long *bits,
			    u64 nbits, bool protect, u64 start, u64 end)
{
	struct arena_page_region vec[ARENA_SCAN_REGIONS];
	u64 base = h->arena_base;
	struct arena_pm_scan_arg arg = {
		.size = sizeof(arg),
		.flags = ARENA_PM_SCAN_CHECK_WPASYNC |
			 (protect ? ARENA_PM_SCAN_WP_MATCHING : 0),
		.start = start,
		.end = end,
		.vec = (uintptr_t)vec,
		.vec_len = ARENA_SCAN_REGIONS,
		.category_mask = ARENA_PAGE_IS_WRITTEN,
		.return_mask = ARENA_PAGE_IS_WRITTEN,
	};

	while (arg.start < end) {
		long n = ioctl(h->backing->pagemap, ARENA_PAGEMAP_SCAN, &arg), i;

		if (n < 0)
			return -errno;
		for (i = 0; i < n; i++) {
			u64 first = (vec[i].start - base) >> PAGE_SHIFT;
			u64 last = min((vec[i].end - base) >> PAGE_SHIFT, nbits);

			if (first < last)
				bitmap_set(bits, first, last - first);
		}
		/* The kernel says how far it got: on from there. */
		if (arg.walk_end <= arg.start)
			break;
		arg.start = arg.walk_end;
	}
	return 0;
}

struct arena_scan_ctx {
	unsigned long *bits;
	u64 nbits;
};

/* arena_scan_range() with protection, for heap pages [@lo, @hi). */
static int arena_take_run(struct mheap *h, u64 lo, u64 hi, void *ctx)
{
	struct arena_scan_ctx *c = ctx;

	return arena_scan_range(h, c->bits, c->nbits, true,
				h->arena_base + (lo << MHEAP_PAGE_SHIFT),
				h->arena_base + (hi << MHEAP_PAGE_SHIFT));
}

/*
 * Set the bit of each written base page below @nbits; with @protect, the
 * pages are protected again in the same step, all but the holes (they hold
 * no object to scan, and stay unprotected for the program to allocate in
 * without a fault; their pages still read as written at the mark's end).
 * Return: 0 or -errno.
 */
static int arena_scan_written(struct mheap *h, unsigned long *bits,
			      u64 nbits, bool protect)
{
	struct arena_scan_ctx c = { bits, nbits };
	struct mheap_arena *a = h->backing;
	u64 grown = nbits >> (MHEAP_PAGE_SHIFT - PAGE_SHIFT);
	int err;

	if (!arena_tracks_writes(h))
		return -EOPNOTSUPP;
	if (!protect)
		return arena_scan_range(h, bits, nbits, false, h->arena_base,
					h->arena_base + (nbits << PAGE_SHIFT));
	pthread_mutex_lock(&a->wp_lock);
	arena_find_holes(h, grown);
	err = arena_for_each_run(h, grown, arena_take_run, &c);
	pthread_mutex_unlock(&a->wp_lock);
	return err;
}

/**
 * mheap_arena_dirty_collect() - the pages written since the reset
 * @h: the heap, the world stopped
 * @bits: out: bit i set for each written base page i
 * @nbits: bits of @bits
 *
 * Return: 0 or a negative errno (then nothing is known).
 */
int mheap_arena_dirty_collect(struct mheap *h, unsigned long *bits, u64 nbits)
{
	return arena_scan_written(h, bits, nbits, false);
}

/**
 * mheap_arena_dirty_take() - the pages written so far, tracked anew
 * @h: the heap, mheap.lock held
 * @bits: in/out: bit i set for each written base page i
 * @nbits: bits of @bits
 *
 * Return: 0 or a negative errno (then writes must count as unknown).
 */
int mheap_arena_dirty_take(struct mheap *h, unsigned long *bits, u64 nbits)
{
	return arena_scan_written(h, bits, nbits, true);
}
