// SPDX-License-Identifier: GPL-2.0
/*
 * The memory behind an arena: one array of struct page pointers per 64 MiB
 * chunk, filled on first touch (the fault handler) with zeroed pages charged
 * to the faulting task's memory cgroup. The collector and the zeroing below
 * reach the pages through the kernel's direct map, never through the user
 * mapping.
 *
 * Pages are added here, under mheap_arena.lock, and freed when the heap is
 * destroyed, after its mapping is gone, or when the scavenger releases the
 * pages of free spans (mheap_arena_release()), which no lockless reader
 * looks at: so a page pointer read for a span in use stays valid while the
 * span is. Lookups therefore take no lock: the collector makes one for
 * every object it scans. Chunk arrays and pages
 * are published with a release store after they are zeroed, and read with
 * READ_ONCE(), whose address dependency orders the reads of their contents.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/highmem.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/sched/signal.h>
#include <linux/lockdep.h>
#include <linux/mmap_lock.h>
#include <linux/smp.h>
#include <linux/memcontrol.h>
#include <asm/barrier.h>
#ifdef CONFIG_X86
#include <asm/tlbflush.h>
#endif
#include "mheap.h"
#include "arena.h"

#define ARENA_CHUNK_PAGES	(1UL << (MHEAP_CHUNK_SHIFT - PAGE_SHIFT))

/**
 * struct mheap_arena - backing pages of one arena
 * @lock: serializes additions to the page arrays (lock order: inside
 *	mheap.lock); lookups take no lock (see the top of the file)
 * @nchunks: entries of @pages
 * @pages: per chunk, per base page: the page, or NULL if never touched
 * @resident: pages in @pages
 * @mapping: the heap's own address_space, whose only VMA is the arena
 *	mapped at file offset 0; NULL in the KUnit suites' fake arenas
 * @mm: the address space that maps it (the heap holds a reference)
 */
struct mheap_arena {
	spinlock_t lock;	/* additions to the page arrays */
	unsigned long nchunks;
	struct page ***pages;
	atomic_long_t resident;
	struct address_space *mapping;
	struct mm_struct *mm;
};

int mheap_arena_init(struct mheap *h)
{
	struct mheap_arena *a;

	a = kzalloc(sizeof(*a), MHEAP_GFP);
	if (!a)
		return -ENOMEM;
	a->pages = kvcalloc(h->nchunks, sizeof(*a->pages), MHEAP_GFP);
	if (!a->pages) {
		kfree(a);
		return -ENOMEM;
	}
	spin_lock_init(&a->lock);
	a->nchunks = h->nchunks;
	h->backing = a;
	return 0;
}

void mheap_arena_destroy(struct mheap *h)
{
	struct mheap_arena *a = h->backing;
	unsigned long c, i;

	if (!a)
		return;
	for (c = 0; c < a->nchunks; c++) {
		if (!a->pages[c])
			continue;
		for (i = 0; i < ARENA_CHUNK_PAGES; i++)
			if (a->pages[c][i])
				put_page(a->pages[c][i]);
		kvfree(a->pages[c]);
	}
	kvfree(a->pages);
	kfree(a);
	h->backing = NULL;
}

static struct page *arena_page_get(struct mheap *h, unsigned long pgoff,
				   gfp_t gfp);

/**
 * mheap_arena_page() - the page behind a base page of the arena
 * @h: the heap, with an arena
 * @pgoff: base page (PAGE_SIZE) counted from the arena start
 * @alloc: allocate a zeroed page if there is none yet
 *
 * May sleep when @alloc is set. Takes no reference for the caller.
 *
 * Return: the page; NULL if there is none and @alloc is false, or if
 * memory ran out.
 */
struct page *mheap_arena_page(struct mheap *h, unsigned long pgoff, bool alloc)
{
	return arena_page_get(h, pgoff, alloc ? GFP_KERNEL_ACCOUNT | __GFP_ZERO : 0);
}

/*
 * mheap_arena_page(), allocating a missing page with @gfp (0: none). Pages
 * are added under mheap.lock, or, in the KUnit suites, by one thread.
 */
static struct page *arena_page_get(struct mheap *h, unsigned long pgoff,
				   gfp_t gfp)
{
	struct mheap_arena *a = h->backing;
	unsigned long c = pgoff / ARENA_CHUNK_PAGES;
	unsigned long i = pgoff % ARENA_CHUNK_PAGES;
	struct page **have, **chunk = NULL, *page = NULL, *fresh = NULL;

	if (c >= a->nchunks)
		return NULL;
	have = READ_ONCE(a->pages[c]);
	if (have)
		page = READ_ONCE(have[i]);
	if (page || !gfp)
		return page;

	/* The chunk's array (128 KiB) is made once, by its first fault. */
	if (!have)
		chunk = kvcalloc(ARENA_CHUNK_PAGES, sizeof(*chunk),
				 MHEAP_GFP);
	fresh = alloc_page(gfp);
	spin_lock(&a->lock);
	if (!a->pages[c] && chunk) {
		/* Pairs with the lockless READ_ONCE() above: zeroed first. */
		smp_store_release(&a->pages[c], chunk);
		chunk = NULL;
	}
	if (a->pages[c]) {
		page = a->pages[c][i];
		if (!page && fresh) {
			/* The same, for the page's zeroed contents. */
			smp_store_release(&a->pages[c][i], fresh);
			page = fresh;
			fresh = NULL;
			atomic_long_inc(&a->resident);
		}
	}
	spin_unlock(&a->lock);
	kvfree(chunk);
	if (fresh)
		__free_page(fresh);
	return page;
}

/* What a heap leaves of its memory cgroup's memory.max, at least. */
#define ARENA_MEMCG_RESERVE	((4UL << 20) >> PAGE_SHIFT)

/*
 * Whether @pages more leave the calling task's memory cgroup, and each of
 * its ancestors, a reserve below memory.max: 1/32 of it, at least 4 MiB.
 * At the limit itself, anything the process then needs (a page of stack,
 * the kernel's memory for a collection) would call the cgroup's OOM killer;
 * a heap that stops short of it lets its allocation fail instead.
 */
static bool arena_memcg_room(unsigned long pages)
{
#ifdef CONFIG_MEMCG
	struct mem_cgroup *memcg = get_mem_cgroup_from_mm(current->mm), *m;
	bool room = true;

	for (m = memcg; m && room; m = parent_mem_cgroup(m)) {
		unsigned long max = READ_ONCE(m->memory.max);
		unsigned long reserve = max_t(unsigned long, max / 32,
					      ARENA_MEMCG_RESERVE);

		if (max == PAGE_COUNTER_MAX)
			continue;
		room = page_counter_read(&m->memory) + pages + reserve <= max;
	}
	mem_cgroup_put(memcg);
	return room;
#else
	return true;
#endif
}

/**
 * mheap_arena_populate() - back every base page of a run of heap pages
 * @h: the heap, mheap.lock held
 * @page: first heap page
 * @npages: heap pages
 *
 * Pages are charged to the calling task's memory cgroup; near its limit
 * (arena_memcg_room()), or at it, the allocation fails instead of calling
 * the OOM killer (__GFP_RETRY_MAYFAIL).
 * The KUnit suites' heaps, which no user mapping backs, keep getting pages
 * on first touch.
 *
 * Return: 0, -ENOMEM, or -EINTR (a fatal signal): the pages backed so far
 * stay.
 */
int mheap_arena_populate(struct mheap *h, u64 page, u64 npages)
{
	const gfp_t gfp = GFP_KERNEL_ACCOUNT | __GFP_ZERO | __GFP_RETRY_MAYFAIL |
			  __GFP_NOWARN;
	unsigned long per = MHEAP_PAGE_SIZE / PAGE_SIZE;
	unsigned long p, first = page * per, end = (page + npages) * per;

	lockdep_assert_held(&h->lock);
	if (!h->backing || !h->backing->mapping)
		return 0;
	if (!arena_memcg_room(end - first))
		return -ENOMEM;
	for (p = first; p < end; p++) {
		if (!arena_page_get(h, p, gfp))
			return -ENOMEM;
		if (!((p - first + 1) % 64)) {
			if (fatal_signal_pending(current))
				return -EINTR;
			cond_resched();
		}
	}
	return 0;
}

/* Pages freed per batch by mheap_arena_release(). */
#define ARENA_RELEASE_BATCH	64

/**
 * mheap_arena_release() - free the pages behind a run of free heap pages
 * @h: the heap, mheap.lock held
 * @page: first heap page
 * @npages: heap pages, of free spans
 *
 * Free spans have no user mapping (mheap_free_span() zapped it, and the
 * fault handler maps in-use spans only), and the lockless readers read
 * in-use spans only (see the top of the file and mheap/scavenge.c), so
 * the pages go at once. A later touch, once a span is there again, gets
 * a fresh zeroed page.
 */
void mheap_arena_release(struct mheap *h, u64 page, u64 npages)
{
	unsigned long per = MHEAP_PAGE_SIZE / PAGE_SIZE;
	unsigned long p = page * per, end = (page + npages) * per;
	struct page *batch[ARENA_RELEASE_BATCH];
	struct mheap_arena *a = h->backing;
	unsigned int n = 0;

	lockdep_assert_held(&h->lock);
	if (!a)
		return;
	while (p < end) {
		unsigned long c = p / ARENA_CHUNK_PAGES;
		struct page **chunk = a->pages[c];

		if (!chunk) {
			p = (c + 1) * ARENA_CHUNK_PAGES;
			continue;
		}
		for (; p < end && p / ARENA_CHUNK_PAGES == c; p++) {
			struct page *pg = chunk[p % ARENA_CHUNK_PAGES];

			if (!pg)
				continue;
			spin_lock(&a->lock);
			WRITE_ONCE(chunk[p % ARENA_CHUNK_PAGES], NULL);
			spin_unlock(&a->lock);
			batch[n++] = pg;
			if (n < ARENA_RELEASE_BATCH)
				continue;
			/* One memcg uncharge and one free per batch. */
			release_pages(batch, n);
			atomic_long_sub(n, &a->resident);
			n = 0;
			cond_resched();
		}
	}
	release_pages(batch, n);
	atomic_long_sub(n, &a->resident);
}

/**
 * mheap_arena_zero() - clear the backed pages of a run of heap pages
 * @h: the heap
 * @page: first heap page
 * @npages: heap pages
 *
 * Pages never touched are zero already and stay unbacked.
 *
 * Return: 0, or -EINTR if a fatal signal cut the work short.
 */
int mheap_arena_zero(struct mheap *h, u64 page, u64 npages)
{
	unsigned long per = MHEAP_PAGE_SIZE / PAGE_SIZE;
	unsigned long p, first = page * per, end = (page + npages) * per;

	for (p = first; p < end; p++) {
		struct page *pg = mheap_arena_page(h, p, false);

		if (pg)
			clear_highpage(pg);
		if (!((p - first + 1) % 64)) {
			if (fatal_signal_pending(current))
				return -EINTR;
			cond_resched();
		}
	}
	return 0;
}

/**
 * mheap_arena_clear() - clear a freed object
 * @h: the heap, mheap.lock held
 * @off: the object's offset in the arena
 * @len: its size, at most MHEAP_MAX_SMALL
 *
 * Clearing at free time, through the direct map, costs the free system call
 * a few stores and spares the next allocation of the slot the clearing a
 * needzero span asks of it.
 */
void mheap_arena_clear(struct mheap *h, u64 off, u64 len)
{
	lockdep_assert_held(&h->lock);
	while (len) {
		unsigned long in = off & ~PAGE_MASK;
		u64 n = min_t(u64, len, PAGE_SIZE - in);
		struct page *pg = mheap_arena_page(h, off >> PAGE_SHIFT, false);

		/* A page never touched is zero already. */
		if (pg)
			memset(page_address(pg) + in, 0, n);
		off += n;
		len -= n;
	}
}

/**
 * mheap_arena_peek() - the kernel's view of a base page of the arena
 * @h: the heap
 * @pgoff: base page counted from the arena start
 *
 * For the collector, which reads arena memory as untrusted words.
 *
 * Return: the page's contents through the direct map, or NULL if the page
 * was never touched (it reads as zeros).
 */
const void *mheap_arena_peek(struct mheap *h, unsigned long pgoff)
{
	struct page *pg = mheap_arena_page(h, pgoff, false);

	return pg ? page_address(pg) : NULL;
}

/**
 * mheap_arena_poke() - write a word of the arena, backing its page
 * @h: the heap
 * @off: byte offset in the arena, 8-byte aligned
 * @val: the word
 *
 * For the KUnit suites, which build object graphs without a user mapping.
 *
 * Return: 0 or -ENOMEM.
 */
int mheap_arena_poke(struct mheap *h, u64 off, u64 val)
{
	struct page *pg = mheap_arena_page(h, off >> PAGE_SHIFT, true);

	if (!pg)
		return -ENOMEM;
	*(u64 *)(page_address(pg) + (off & ~PAGE_MASK)) = val;
	return 0;
}

/**
 * mheap_arena_set_mapping() - say where the arena is mapped, for zapping
 * @h: the heap, with an arena
 * @mapping: the heap's own address_space
 * @mm: the address space the arena is mapped in
 */
void mheap_arena_set_mapping(struct mheap *h, struct address_space *mapping,
			     struct mm_struct *mm)
{
	h->backing->mapping = mapping;
	h->backing->mm = mm;
}

/**
 * mheap_arena_unmap() - remove the user mappings of a run of heap pages
 * @h: the heap, mheap.lock held
 * @page: first heap page
 * @npages: heap pages
 *
 * The pages themselves stay with the heap; a later span there maps them
 * again on first touch. The heap's address_space holds only this heap's
 * VMA, so no other process's mapping is touched.
 */
void mheap_arena_unmap(struct mheap *h, u64 page, u64 npages)
{
	struct mheap_arena *a = h->backing;

	lockdep_assert_held(&h->lock);
	if (a && a->mapping)
		unmap_mapping_range(a->mapping, page << MHEAP_PAGE_SHIFT,
				    npages << MHEAP_PAGE_SHIFT, 1);
}

u64 mheap_arena_resident(struct mheap *h)
{
	struct mheap_arena *a = h->backing;

	return a ? (u64)atomic_long_read(&a->resident) << PAGE_SHIFT : 0;
}

/* ---- Dirty tracking for the concurrent mark ---- */

/*
 * A concurrent mark has to find the arena words the program wrote while it
 * ran. The CPU already records that: it sets a page-table entry's dirty bit
 * on the first write through it. So the start of a mark clears the dirty
 * bits of the arena's entries and flushes the TLBs (a cached translation
 * with the bit set would let writes go unrecorded), and its end reads which
 * bits came back: no write protection, no fault, no signal. On
 * architectures other than x86 the bits are not used and every page counts
 * as written.
 *
 * The arena's pages are the heap's own (inserted by the fault handler, never
 * written back anywhere), so the kernel needs their dirty bits for nothing
 * else. The walks only touch the heap's own VMA, checked under mmap_lock:
 * a program that unmapped the arena and mapped something else there keeps
 * that memory's bits.
 */
#ifdef CONFIG_X86
static struct vm_area_struct *arena_vma(struct mheap *h)
{
	struct mheap_arena *a = h->backing;
	struct vm_area_struct *vma;

	if (!a || !a->mapping || !a->mm)
		return NULL;
	lockdep_assert_held(&a->mm->mmap_lock);
	vma = vma_lookup(a->mm, h->arena_base);
	if (!vma || !vma->vm_file || vma->vm_file->f_mapping != a->mapping)
		return NULL;
	return vma;
}

/*
 * A write through the kernel's own mapping of the page, by another task's
 * get_user_pages() (process_vm_writev(), /proc/pid/mem, a pinned buffer
 * given back), sets no entry's bit: it marks the page dirty instead
 * (set_page_dirty_lock() when the pages are let go). The page flag means
 * nothing else for the heap's pages either, so it counts as a write too.
 */
static bool arena_page_written(pte_t v, bool clear)
{
	struct page *page = pte_page(v);

	return clear ? TestClearPageDirty(page) : PageDirty(page);
}

static int arena_pte_clean(pte_t *pte, unsigned long addr, void *data)
{
	pte_t v = READ_ONCE(*pte);

	/* Only a present entry's bit 6 is the dirty bit. */
	if (pte_present(v)) {
		clear_bit(_PAGE_BIT_DIRTY, (unsigned long *)&pte->pte);
		arena_page_written(v, true);
	}
	return 0;
}

struct arena_dirty_walk {
	unsigned long *bits;
	unsigned long base;
	u64 nbits;
};

static int arena_pte_dirty(pte_t *pte, unsigned long addr, void *data)
{
	struct arena_dirty_walk *w = data;
	u64 i = (addr - w->base) >> PAGE_SHIFT;
	pte_t v = READ_ONCE(*pte);

	if (i < w->nbits && pte_present(v) &&
	    (pte_dirty(v) || arena_page_written(v, false)))
		__set_bit(i, w->bits);
	return 0;
}

static int arena_pte_take(pte_t *pte, unsigned long addr, void *data)
{
	struct arena_dirty_walk *w = data;
	u64 i = (addr - w->base) >> PAGE_SHIFT;
	pte_t v = READ_ONCE(*pte);
	bool written;

	if (i >= w->nbits || !pte_present(v))
		return 0;
	/* Both, each read and cleared at once: neither may stay set. */
	written = test_and_clear_bit(_PAGE_BIT_DIRTY,
				     (unsigned long *)&pte->pte);
	if (arena_page_written(v, true) || written)
		__set_bit(i, w->bits);
	return 0;
}

static void arena_flush_tlb_local(void *unused)
{
	__flush_tlb_all();
}

/*
 * Apply @fn to the present entries of the first @nbits base pages of the
 * arena, with @bits for it to set.
 *
 * Return: 0; -ENOENT if the arena is no longer mapped or the walk failed.
 */
static int arena_walk(struct mheap *h, pte_fn_t fn, unsigned long *bits,
		      u64 nbits)
{
	struct arena_dirty_walk w = {
		.bits = bits,
		.base = h->arena_base,
		.nbits = nbits,
	};
	struct vm_area_struct *vma;
	unsigned long len;

	lockdep_assert_held(&h->lock);
	vma = arena_vma(h);
	if (!vma)
		return -ENOENT;
	len = min_t(u64, vma->vm_end - h->arena_base, nbits << PAGE_SHIFT);
	if (len && apply_to_existing_page_range(vma->vm_mm, h->arena_base, len,
						fn, &w))
		return -ENOENT;
	return 0;
}

/**
 * mheap_arena_dirty_reset() - clear the arena's dirty bits
 * @h: the heap, mheap.lock held, and the owner's mmap_lock
 *
 * Return: true if the arena's writes are tracked from now on.
 */
bool mheap_arena_dirty_reset(struct mheap *h)
{
	if (arena_walk(h, arena_pte_clean, NULL,
		       h->grown << (MHEAP_PAGE_SHIFT - PAGE_SHIFT)))
		return false;
	on_each_cpu(arena_flush_tlb_local, NULL, 1);
	return true;
}

/**
 * mheap_arena_dirty_collect() - which pages were written since the reset
 * @h: the heap, mheap.lock held, and the owner's mmap_lock
 * @bits: out: bit i set if base page i of the arena was written
 * @nbits: bits of @bits (zeroed by the caller)
 *
 * Return: 0; -ENOENT if the arena is no longer mapped (a write may have
 * gone with the mapping: count every page as written).
 */
int mheap_arena_dirty_collect(struct mheap *h, unsigned long *bits, u64 nbits)
{
	return arena_walk(h, arena_pte_dirty, bits, nbits);
}

/**
 * mheap_arena_dirty_take() - which pages were written, and track anew
 * @h: the heap, mheap.lock held, and the owner's mmap_lock
 * @bits: in/out: bit i is set if base page i of the arena was written
 *	since the last reset or take (bits already set stay set)
 * @nbits: bits of @bits
 *
 * Each entry's dirty bit is read and cleared in one atomic step, then the
 * TLBs are flushed: a write through a stale translation before the flush
 * is not seen again, but it happened before this returns, so a scan of the
 * pages set in @bits that starts afterwards sees it.
 *
 * Return: 0; -ENOENT if the arena is no longer mapped, or the walk failed
 * part way (some bits may be lost: count every page as written).
 */
int mheap_arena_dirty_take(struct mheap *h, unsigned long *bits, u64 nbits)
{
	int ret = arena_walk(h, arena_pte_take, bits, nbits);

	/* A failed walk may have cleared bits too. */
	on_each_cpu(arena_flush_tlb_local, NULL, 1);
	return ret;
}
#else
bool mheap_arena_dirty_reset(struct mheap *h)
{
	return false;
}

int mheap_arena_dirty_take(struct mheap *h, unsigned long *bits, u64 nbits)
{
	return -EOPNOTSUPP;
}

int mheap_arena_dirty_collect(struct mheap *h, unsigned long *bits, u64 nbits)
{
	return -EOPNOTSUPP;
}
#endif
