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
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/errno.h>
#include <linux/lockdep.h>
#include "mheap.h"

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
 */
struct mheap_arena {
	bool real;
	struct arena_fake_page *fake;
};

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
	h->backing = a;
	return 0;
}

void mheap_arena_destroy(struct mheap *h)
{
	while (h->backing && h->backing->fake) {
		struct arena_fake_page *p = h->backing->fake;

		h->backing->fake = p->next;
		kfree(p);
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

/*
 * The kernel reads the CPU's dirty bits of the arena's page-table entries;
 * user space cannot, so here every page counts as written and a concurrent
 * mark's end rescans every marked object.
 */
bool mheap_arena_dirty_reset(struct mheap *h)
{
	(void)h;
	return false;
}

int mheap_arena_dirty_collect(struct mheap *h, unsigned long *bits, u64 nbits)
{
	(void)h;
	(void)bits;
	(void)nbits;
	return -EOPNOTSUPP;
}

int mheap_arena_dirty_take(struct mheap *h, unsigned long *bits, u64 nbits)
{
	(void)h;
	(void)bits;
	(void)nbits;
	return -EOPNOTSUPP;
}
