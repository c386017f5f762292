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
 * (hosted_arena_untrack_writes()); left in place, it would cost a fault on
 * every page the program writes between two marks (in GCBench, 57k of its
 * 99k faults).
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
 * @armed: a mark protected the arena and nobody has lifted it since;
 *	under mheap.lock
 */
struct mheap_arena {
	bool real;
	struct arena_fake_page *fake;
	int uffd;
	int pagemap;
	pthread_mutex_t wp_lock;
	bool armed;
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
	if (h->backing)
		pthread_mutex_destroy(&h->backing->wp_lock);
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
 * Runs of heap pages that need no protection: free spans, whose objects
 * allocated during the mark are seen as written anyway (an unprotected page
 * reads as written), and large noscan objects, never scanned. Leaving them
 * out shortens the world's stop at the mark's start, and the program's
 * first allocations there fault no more; precleaning protects them later,
 * outside the stop. Only runs this long count, and only this many: with
 * more, the whole arena is protected at once.
 */
#define ARENA_HOLE_MIN_PAGES	4
#define ARENA_HOLES_MAX		32

struct arena_hole {
	u64 lo;
	u64 hi;
};

/* Add @head's spans as holes; return the new count, or above the maximum. */
static unsigned int arena_add_holes(struct list_head *head, bool noscan,
				    struct arena_hole *holes, unsigned int n)
{
	struct mspan *s;
	unsigned int i;

	list_for_each_entry(s, head, list) {
		if (s->npages < ARENA_HOLE_MIN_PAGES ||
		    (noscan && !(s->spanclass & 1)))
			continue;
		if (n >= ARENA_HOLES_MAX)
			return ARENA_HOLES_MAX + 1;
		/* Kept sorted by start. */
		for (i = n; i && holes[i - 1].lo > s->start; i--)
			holes[i] = holes[i - 1];
		holes[i].lo = s->start;
		holes[i].hi = s->start + s->npages;
		n++;
	}
	return n;
}

/*
 * The holes of @h's arena, sorted, mheap.lock held. Return: how many; 0
 * for none worth the calls.
 */
static unsigned int arena_holes(struct mheap *h, struct arena_hole *holes)
{
	unsigned int i, n = 0;

	for (i = ARENA_HOLE_MIN_PAGES; i < MHEAP_FREE_LISTS; i++)
		n = arena_add_holes(&h->free[i], false, holes, n);
	n = arena_add_holes(&h->free_large, false, holes, n);
	n = arena_add_holes(&h->large, true, holes, n);
	n = arena_add_holes(&h->large_unswept, true, holes, n);
	return n > ARENA_HOLES_MAX ? 0 : n;
}

/* Protect heap pages [@lo, @hi) against writes. Return: 0 or -1. */
static int arena_protect(struct mheap *h, u64 lo, u64 hi)
{
	struct arena_uffd_writeprotect wp = {
		.range = { h->arena_base + (lo << MHEAP_PAGE_SHIFT),
			   (hi - lo) << MHEAP_PAGE_SHIFT },
		.mode = ARENA_UFFD_WRITEPROTECT_MODE_WP,
	};

	if (lo >= hi)
		return 0;
	return ioctl(h->backing->uffd, ARENA_UFFDIO_WRITEPROTECT, &wp) ? -1 : 0;
}

/**
 * mheap_arena_dirty_reset() - start tracking writes anew
 * @h: the heap, the world stopped, mheap.lock held
 *
 * Return: true if writes from now on will be known, as in the kernel.
 */
bool mheap_arena_dirty_reset(struct mheap *h)
{
	struct arena_hole holes[ARENA_HOLES_MAX];
	struct mheap_arena *a = h->backing;
	u64 grown = READ_ONCE(h->grown), at = 0;
	unsigned int i, n;
	int err = 0;

	if (!arena_tracks_writes(h))
		return false;
	n = arena_holes(h, holes);
	/* Above what was grown into, pages are unpopulated: protected. */
	pthread_mutex_lock(&a->wp_lock);
	for (i = 0; i < n && !err; i++) {
		err = arena_protect(h, at, min(holes[i].lo, grown));
		at = max(at, holes[i].hi);
	}
	if (!err)
		err = arena_protect(h, at, grown);
	a->armed = !err;
	pthread_mutex_unlock(&a->wp_lock);
	return a->armed;
}

/**
 * hosted_arena_untrack_writes() - lift a finished mark's write protection
 * @h: the heap, mheap.lock not held
 *
 * Does nothing while a mark runs or if nothing is protected. The ioctl runs
 * without mheap.lock, so the program's calls go on meanwhile.
 */
void hosted_arena_untrack_writes(struct mheap *h)
{
	struct mheap_arena *a = h->backing;
	struct arena_uffd_writeprotect wp = { .mode = 0 };

	mutex_lock(&h->lock);
	if (!arena_tracks_writes(h) || !a->armed ||
	    h->gc.phase != MGC_PHASE_OFF) {
		mutex_unlock(&h->lock);
		return;
	}
	a->armed = false;
	wp.range.start = h->arena_base;
	wp.range.len = arena_grown_bytes(h);
	pthread_mutex_lock(&a->wp_lock);
	mutex_unlock(&h->lock);
	/* A failure leaves pages protected: more faults, nothing lost. */
	if (wp.range.len)
		ioctl(a->uffd, ARENA_UFFDIO_WRITEPROTECT, &wp);
	pthread_mutex_unlock(&a->wp_lock);
}

/**
 * hosted_arena_writes_armed() - whether a mark left the arena protected
 * @h: the heap
 *
 * Read without mheap.lock: a hint for whom to wake.
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

/*
 * Set the bit of each written base page below @nbits; with @protect, the
 * pages are protected again in the same step, all but the holes (free
 * spans hold no object to scan, and stay unprotected for the program to
 * allocate in without a fault). Return: 0 or -errno.
 */
static int arena_scan_written(struct mheap *h, unsigned long *bits,
			      u64 nbits, bool protect)
{
	struct arena_hole holes[ARENA_HOLES_MAX];
	u64 base = h->arena_base, end = base + (nbits << PAGE_SHIFT), at = base;
	unsigned int i, n = protect ? arena_holes(h, holes) : 0;
	int err = 0;

	if (!arena_tracks_writes(h))
		return -EOPNOTSUPP;
	for (i = 0; i < n && !err; i++) {
		u64 lo = base + (holes[i].lo << MHEAP_PAGE_SHIFT);

		if (at < min(lo, end))
			err = arena_scan_range(h, bits, nbits, true, at,
					       min(lo, end));
		at = max(at, base + (holes[i].hi << MHEAP_PAGE_SHIFT));
	}
	if (!err && at < end)
		err = arena_scan_range(h, bits, nbits, protect, at, end);
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
