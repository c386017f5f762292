/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mheap: the page heap, spans, size classes and central span lists of a
 * gcheap heap. Private to the module (and to the hosted build, which compiles
 * these files unchanged in user space).
 *
 * The design follows the Go runtime's allocator: heap pages of 8 KiB, spans
 * (runs of pages) that are either free, hold one large object, or are cut into
 * slots of one size class; per span class (size class x scan/noscan) an
 * mcentral keeps the spans that still have free slots.
 *
 * Locking
 * -------
 * Lock order, outermost first:
 *
 *   mmap_lock (fault path; read-held around a concurrent collection's
 *              start and finish, for the arena's dirty bits)
 *     mheap.lock               (mutex) every field of struct mheap, its spans,
 *                              mcentrals, free lists and span map
 *       mheap_arena.lock       (spinlock) the backing-page arrays
 *       i_mmap_rwsem, page table locks (zapping a freed span's pages, the
 *                              fault handler inserting one, and the dirty-bit
 *                              walks)
 *
 * The program's own calls take mheap.lock with mheap_lock(), which counts
 * them while they wait (mheap.lock_wanted). The collector's background
 * workers hold the lock for batches of work and end a batch early as soon
 * as a call is waiting (mheap_lock_wanted()), then let it go first: an
 * allocation waits for the object being scanned at most, not for a whole
 * batch.
 *
 * No user memory is touched with mheap.lock held: the ioctl layer copies
 * arguments in before calling the mheap_op_*() functions and copies results
 * out after they return, so a page fault never nests inside mheap.lock.
 */
#ifndef _GCHEAP_MHEAP_H
#define _GCHEAP_MHEAP_H

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/types.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/gcheap.h>

/*
 * Kernel memory a heap takes for its program is charged to the program's
 * memory cgroup, as the arena's pages are; at the cgroup's memory.max the
 * allocation fails (ENOMEM) instead of waking the cgroup's OOM killer.
 * (Files using it include <linux/slab.h>.)
 */
#define MHEAP_GFP	(GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

/* ================ Geometry ================ */

#define MHEAP_PAGE_SHIFT	GCHEAP_PAGE_SHIFT
#define MHEAP_PAGE_SIZE		BIT_ULL(MHEAP_PAGE_SHIFT)
#define MHEAP_MAX_SMALL		GCHEAP_MAX_SMALL_SIZE
#define MHEAP_NUM_CLASSES	68
#define MHEAP_NUM_SPANCLASSES	(MHEAP_NUM_CLASSES * 2)
#define MHEAP_MAX_ELEMS		GCHEAP_SPAN_MAX_ELEMS

/*
 * The span map is kept per 64 MiB chunk of arena (Go's heapArena size on
 * 64-bit Linux), allocated when the heap first grows into the chunk, so a
 * 64 GiB reservation costs only a small top-level array until it is used.
 */
#define MHEAP_CHUNK_SHIFT	26
#define MHEAP_CHUNK_PAGES	(1UL << (MHEAP_CHUNK_SHIFT - MHEAP_PAGE_SHIFT))

/* Free spans shorter than this many pages sit on exact-size lists. */
#define MHEAP_FREE_LISTS	128
/* Least the heap grows by, in pages (8 MiB): growth costs only metadata. */
#define MHEAP_GROW_PAGES	1024

/* ================ Size classes (sizeclass.c) ================ */

/* Spans of small classes hold at least this many slots... */
#define MHEAP_SPAN_MIN_ELEMS	128
/* ...as long as they stay within this many pages (128 KiB). */
#define MHEAP_SPAN_MAX_PAGES	16

/**
 * struct mheap_sizeclass - one size class
 * @size: slot size in bytes
 * @npages: heap pages per span
 * @nelems: slots per span
 * @base_npages: the fewest pages that waste at most 1/8 (Go's span size);
 *	@npages is a multiple of it
 * @divmul: multiplier turning an offset into a slot index (mspan_slot_of)
 */
struct mheap_sizeclass {
	u32 size;
	u32 npages;
	u32 nelems;
	u32 base_npages;
	u64 divmul;
};

/*
 * An offset in a span is turned into a slot index by multiplying with
 * mheap_sizeclass.divmul, ceil(2^MHEAP_DIVMUL_SHIFT / size), and shifting,
 * as Go's divMagic does: the collector does this for every word it scans,
 * and a division costs far more. With spans of at most 128 KiB and slots of
 * at most 32 KiB the rounding error stays below one slot's worth by a factor
 * of 256 (sizeclass_test_divmul checks every slot boundary).
 */
#define MHEAP_DIVMUL_SHIFT	40

extern struct mheap_sizeclass mheap_classes[MHEAP_NUM_CLASSES];

int mheap_sizeclass_init(void);
unsigned int mheap_size_to_class(size_t size);

/* ================ Spans (mspan.c) ================ */

enum mspan_state {
	MSPAN_DEAD = 0,
	MSPAN_FREE,
	MSPAN_INUSE,
};

/**
 * struct mspan - a run of heap pages
 * @list: on one list: a free list, an mcentral's partial/full/cached list,
 *	or the heap's large list (mheap.lock)
 * @start: first heap page, counted from the arena base
 * @npages: length in heap pages
 * @state: enum mspan_state
 * @spanclass: GCHEAP_SPANCLASS(); size class 0 for a large object
 * @cached: handed out by a refill and not given back yet
 * @needzero: its memory may hold old data
 * @sweepgen: as Go's mspan.sweepgen, against mheap.sweepgen (h): h - 2 the
 *	span needs sweeping, h - 1 it is being swept, h it is swept
 * @divmul: its class's mheap_sizeclass.divmul (0 for large spans)
 * @elemsize: slot size (0 for large spans: the whole span is the object)
 * @nelems: number of slots (1 for large spans)
 * @nalloc: number of bits set in @allocbits
 * @bits: the one allocation holding the four bitmaps below
 * @allocbits: slot i allocated (as far as the kernel has been told)
 * @gcmarkbits: slot i found reachable by the current mark; sweeping makes
 *	it the new @allocbits (the two pointers swap, as in Go)
 * @cachefree: while @cached: the slots handed out free
 * @cachefreed: while @cached: handed-out slots freed through the fd before
 *	the span came back
 * @free_since: while free: when it became free (mgc_now_ns()), the latest
 *	of its parts' once merged; 0 for pages never used
 * @specials: records attached to its objects, sorted by offset (mgc/special.c)
 * @links_held: disappearing links lying in its objects (so that freeing an
 *	object of a span with none need not look for them)
 * @cached_precleans: while @cached: mgc.precleans when it was cached
 *
 * All fields are protected by mheap.lock; a concurrent mark's worker reads
 * them without it (see mgc/mark.c for why that is safe).
 */
struct mspan {
	struct list_head list;
	u64 start;
	u64 npages;
	u8 state;
	u8 spanclass;
	bool cached;
	bool needzero;
	u32 elemsize;
	u32 nelems;
	u32 nalloc;
	u32 sweepgen;
	u64 divmul;
	u64 free_since;
	unsigned long *bits;
	unsigned long *allocbits;
	unsigned long *gcmarkbits;
	unsigned long *cachefree;
	unsigned long *cachefreed;
	struct mgc_special *specials;
	u32 links_held;
	u32 cached_precleans;
};

static inline unsigned int mspan_sizeclass(const struct mspan *s)
{
	return s->spanclass >> 1;
}

static inline bool mspan_is_large(const struct mspan *s)
{
	return mspan_sizeclass(s) == 0;
}

/* The slot of a small span holding byte @off of the span (@off < 2^20). */
static inline u32 mspan_slot_of(const struct mspan *s, u64 off)
{
	return (off * s->divmul) >> MHEAP_DIVMUL_SHIFT;
}

struct mspan *mspan_new(u64 start, u64 npages);
void mspan_destroy(struct mspan *s);
int mspan_init_small(struct mspan *s, unsigned int spanclass);
int mspan_init_large(struct mspan *s, bool noscan);
void mspan_release_bits(struct mspan *s);
u64 mspan_bytes(const struct mspan *s);

/* ================ The heap ================ */

/**
 * struct mcentral - spans of one span class not held by a cache
 * @partial: spans with free slots and live objects
 * @full: spans with no free slot
 * @empty: spans with no live object, kept for reuse: their pages stay
 *	mapped, so a refill of the class does not fault them in again. They go
 *	back to the page heap before the heap grows (mcentral_release_empty()).
 * @cached: spans handed out by refill
 * @unswept: spans that need sweeping (sweepgen == h - 2) since the last mark
 *	terminated; refills sweep them first, the background sweeper the rest
 * @nspans: spans of this class in use, on any of the lists
 * @mallocs: objects allocated (counted when a cached span comes back)
 * @frees: objects freed
 * @nalloc: live objects in spans of this class
 *
 * Protected by mheap.lock.
 */
struct mcentral {
	struct list_head partial;
	struct list_head full;
	struct list_head empty;
	struct list_head cached;
	struct list_head unswept;
	u64 nspans;
	u64 mallocs;
	u64 frees;
	u64 nalloc;
};

struct mheap_arena;
struct mgc_mark;
struct mgc_special;

/**
 * struct mgc - the collector's state of one heap, protected by mheap.lock
 * @sweepgen: Go's mheap.sweepgen: advances by 2 when a mark terminates
 * @unswept: spans (small and large) waiting to be swept
 * @gc_percent: GOGC; GCHEAP_GC_OFF for no automatic collection
 * @gctrace: print a gctrace line per collection
 * @next_gc: heap_alloc at which the next collection is due
 * @alloc_since: bytes allocated since the last mark terminated
 * @num_gc: collections completed
 * @pause_total_ns: stop-the-world time of all collections
 * @last_gc: end of the last collection (CLOCK_REALTIME ns)
 * @gc_cpu_ns: CPU time used by collections and sweeping
 * @created_ns: when the heap was created (CLOCK_MONOTONIC ns)
 * @pause_ns: ring of the last GCHEAP_NUM_PAUSES pauses
 * @pause_end: their ends (CLOCK_REALTIME ns)
 * @roots: registered root ranges
 * @nroots: entries of @roots in use
 * @work_cap: mark work list entries (0: the default); KUnit shrinks it
 * @phase: MGC_PHASE_OFF, or MGC_PHASE_MARK while a concurrent mark runs
 * @mark: the concurrent mark's state (work list, counts), in @phase MARK
 * @mark_spare: the last mark's state, its lists to serve the next one
 * @mark_done: the concurrent mark's work list has drained
 * @concurrent: the last collection was concurrent (pacing starts the next
 *	before the goal)
 * @dirty_armed: the arena's dirty bits were cleared when the mark began
 * @precleans: times precleaning took written pages (mgc_mark_preclean())
 * @heap_live: bytes the last mark found live, allocate-black objects
 *	included (Go's heapMarked): the base of the goal and of pacing
 *	(mgc_heap_paced())
 * @scan_words: words the last mark scanned: the work the next one expects
 *	(Go's heapScan), which noscan objects are not part of
 * @cycle_start_ns: CLOCK_MONOTONIC when the concurrent mark began
 * @cycle_before: heap_alloc when it began
 * @cycle_paced: the heap as pacing counts it (mgc_heap_paced()) then
 * @start_pause_ns: the kernel's time in its start
 * @start_stw_ns: the library's time stopping the world for its start
 * @bg_active: the worker scans without mheap.lock (set under the lock,
 *	cleared by the worker without it)
 * @bg_stop: the mark's end wants the worker to stop scanning
 * @bg_waiting: the worker waits for mheap.lock: an allocation's assist
 *	stops marking for it (mgc_mark_step() with MGC_MARK_ASSIST)
 * @finalizers: every finalizer special (struct mgc_special.node)
 * @nfinalizers: entries of @finalizers
 * @finq: finalizer records queued for the program to read
 * @finq_len: entries of @finq (read without the lock by poll)
 * @finq_added: records were queued since the front end last woke readers
 * @links: every disappearing link (struct mgc_special.node)
 * @nlinks: entries of @links
 * @link_hash: @links by the link's address, 1 << @link_hash_bits chains
 *	(struct mgc_special.hnext), so registration and frees do not walk
 *	every link
 * @link_hash_bits: see @link_hash; 0 while it is not allocated
 * @nroot_links: entries of @links in root memory
 * @link_clears: after a mark's end, the root-memory links to clear, for the
 *	front end to write outside mheap.lock (mgc_links_pending())
 * @nlink_clears: entries of @link_clears
 * @requested: the shrinker asked for a collection; the next completed one
 *	clears it
 * @trigger_reached: mgc_due() found the heap at its trigger; the next
 *	completed collection clears it
 * @trace_stacks: bytes of the roots the last collection call was passed
 *	(the threads' stacks and registers), for gctrace
 * @trace_globals: bytes of its registered roots, for gctrace
 * @prof: per heap-profile bucket, the frees of its sampled objects
 * @prof_len: buckets in @prof: one past the highest id added
 * @prof_cap: entries allocated at @prof
 * @cache_peak: the most bytes of free cached slots (mheap.cached_bytes)
 *	since the last collection: room the next goal leaves for the caches
 */
struct mgc {
	u32 sweepgen;
	u64 unswept;
	s32 gc_percent;
	u32 gctrace;
	u64 next_gc;
	u64 alloc_since;
	u64 num_gc;
	u64 pause_total_ns;
	u64 last_gc;
	u64 gc_cpu_ns;
	u64 created_ns;
	u64 pause_ns[GCHEAP_NUM_PAUSES];
	u64 pause_end[GCHEAP_NUM_PAUSES];
	struct gcheap_range *roots;
	u32 nroots;
	u32 work_cap;
	u32 phase;
	struct mgc_mark *mark;
	struct mgc_mark *mark_spare;
	bool mark_done;
	bool concurrent;
	bool dirty_armed;
	u32 precleans;
	u64 heap_live;
	u64 scan_words;
	u64 cycle_start_ns;
	u64 cycle_before;
	u64 cycle_paced;
	u64 start_pause_ns;
	u64 start_stw_ns;
	bool bg_active;
	bool bg_stop;
	bool bg_waiting;
	struct list_head finalizers;
	u64 nfinalizers;
	struct list_head finq;
	u32 finq_len;
	bool finq_added;
	struct list_head links;
	u64 nlinks;
	struct mgc_special **link_hash;
	u32 link_hash_bits;
	u64 nroot_links;
	u64 *link_clears;
	u32 nlink_clears;
	bool requested;
	bool trigger_reached;
	u64 trace_stacks;
	u64 trace_globals;
	struct gcheap_profile_count *prof;
	u32 prof_len;
	u32 prof_cap;
	u64 cache_peak;
};

/**
 * struct mheap - one heap: page heap, span map and mcentrals
 * @lock: protects everything below (see the lock order at the top)
 * @lock_wanted: calls waiting in mheap_lock()
 * @id: the heap's number, in trace events and debugfs (0 in the KUnit
 *	suites and the hosted build)
 * @arena_base: user address of the arena, 0 until mapped
 * @arena_pages: length of the arena in heap pages
 * @grown: pages of the arena handed to the page heap so far
 * @nchunks: entries of @spanmap
 * @spanmap: per chunk, per page: the span holding the page. In-use spans
 *	have every page mapped; free spans only their first and last page,
 *	their interior is NULL, so a stale pointer is never found.
 * @free: free spans of exactly i pages, 1 <= i < MHEAP_FREE_LISTS
 * @freemask: bit i set when @free[i] is not empty
 * @free_large: free spans of MHEAP_FREE_LISTS pages or more
 * @large: in-use large spans, swept
 * @large_unswept: in-use large spans that need sweeping
 * @deferred: spans freed while a mark ran, kept until its end
 *	(mheap_free_span())
 * @retired: free span descriptors merged away while a mark ran, kept until
 *	its end
 * @central: per span class
 * @pages_inuse: pages in in-use spans
 * @pages_free: pages in free spans
 * @released: per span-map chunk, bit per page: no memory backs the page
 *	(mheap/scavenge.c); only free pages are
 * @pages_released: bits set in @released
 * @soft_limit: bytes held above which idle pages are released and
 *	collections come earlier (Go's GOMEMLIMIT); 0: none
 * @hard_limit: bytes held beyond which spans are not backed (ENOMEM); 0:
 *	none
 * @unmap_batch: freed spans' zaps wait for mheap_unmap_batch_end()
 * @unmap_lo: first page of the spans freed in the batch
 * @unmap_hi: one past their last page
 * @large_bytes: bytes in in-use large spans
 * @large_mallocs: large objects allocated
 * @large_frees: large objects freed
 * @empty_spans: spans on the mcentrals' empty lists
 * @cached_spans: spans currently cached
 * @refills: refills that handed out a span
 * @bad_frees: frees of cached slots found never allocated
 * @cached_bytes: bytes of the free slots handed out with cached spans
 * @total_alloc: bytes allocated in all (counted as mallocs are)
 * @backing: the arena's backing pages (arena.c)
 * @gc: the collector's state (mgc/)
 */
struct mheap {
	struct mutex lock;	/* see the lock order at the top */
	atomic_t lock_wanted;
	u32 id;
	u64 arena_base;
	u64 arena_pages;
	u64 grown;
	unsigned long nchunks;
	struct mspan ***spanmap;
	struct list_head free[MHEAP_FREE_LISTS];
	DECLARE_BITMAP(freemask, MHEAP_FREE_LISTS);
	struct list_head free_large;
	struct list_head large;
	struct list_head large_unswept;
	struct list_head deferred;
	struct list_head retired;
	struct mcentral central[MHEAP_NUM_SPANCLASSES];
	u64 pages_inuse;
	u64 pages_free;
	unsigned long **released;
	u64 pages_released;
	u64 soft_limit;
	u64 hard_limit;
	bool unmap_batch;
	u64 unmap_lo;
	u64 unmap_hi;
	u64 large_bytes;
	u64 large_mallocs;
	u64 large_frees;
	u64 empty_spans;
	u64 cached_spans;
	u64 refills;
	u64 bad_frees;
	u64 cached_bytes;
	u64 total_alloc;
	struct mheap_arena *backing;
	struct mgc gc;
};

/* pageheap.c */
void mheap_init(struct mheap *h);
int mheap_set_arena(struct mheap *h, u64 base, u64 bytes);
void mheap_destroy(struct mheap *h);
struct mspan *mheap_alloc_span(struct mheap *h, u64 npages);
void mheap_free_span(struct mheap *h, struct mspan *s);
void mheap_unmap_batch_begin(struct mheap *h);
void mheap_unmap_batch_end(struct mheap *h);
void mheap_free_deferred(struct mheap *h);
struct mspan *mheap_span_of_page(struct mheap *h, u64 page);
struct mspan *mheap_span_of_addr(struct mheap *h, u64 addr);
bool mheap_page_inuse(struct mheap *h, u64 page);

/* scavenge.c */
extern atomic_long_t mheap_held_total;
extern unsigned long mheap_limit_total;
int mheap_released_chunk(struct mheap *h, unsigned long c);
void mheap_released_grow(struct mheap *h, u64 start, u64 n);
u64 mheap_scavenge(struct mheap *h, u64 idle_since, u64 want);
u64 mheap_idle_held(const struct mheap *h);
void mheap_limits_release(struct mheap *h);
u64 mheap_soft_limit_pages(const struct mheap *h);
int mheap_back_span(struct mheap *h, struct mspan *s);
void mheap_released_destroy(struct mheap *h);

/* mheap.lock for a call of the program (see Locking at the top). */
static inline void mheap_lock(struct mheap *h)
{
	if (mutex_trylock(&h->lock))
		return;
	atomic_inc(&h->lock_wanted);
	mutex_lock(&h->lock);
	atomic_dec(&h->lock_wanted);
}

/* Whether a call of the program waits for mheap.lock. */
static inline bool mheap_lock_wanted(struct mheap *h)
{
	return atomic_read(&h->lock_wanted) != 0;
}

static inline u64 mheap_span_base(const struct mheap *h, const struct mspan *s)
{
	return h->arena_base + (s->start << MHEAP_PAGE_SHIFT);
}

/* mcentral.c */
struct mspan *mcentral_cache_span(struct mheap *h, unsigned int spanclass);
void mcentral_uncache_span(struct mheap *h, struct mspan *s,
			   const unsigned long *left_free);
void mcentral_object_freed(struct mheap *h, struct mspan *s, bool was_full);
void mcentral_place(struct mheap *h, struct mspan *s);
bool mcentral_release_empty(struct mheap *h);

/* arena.c (kernel) or the hosted shim: the memory behind the arena */
int mheap_arena_init(struct mheap *h);
void mheap_arena_destroy(struct mheap *h);
int mheap_arena_zero(struct mheap *h, u64 page, u64 npages);
void mheap_arena_clear(struct mheap *h, u64 off, u64 len);
const void *mheap_arena_peek(struct mheap *h, unsigned long pgoff);
int mheap_arena_poke(struct mheap *h, u64 off, u64 val);
void mheap_arena_unmap(struct mheap *h, u64 page, u64 npages);
int mheap_arena_populate(struct mheap *h, u64 page, u64 npages);
void mheap_arena_release(struct mheap *h, u64 page, u64 npages);
u64 mheap_arena_resident(struct mheap *h);
bool mheap_arena_dirty_reset(struct mheap *h);
int mheap_arena_dirty_collect(struct mheap *h, unsigned long *bits,
			      u64 nbits);
int mheap_arena_dirty_take(struct mheap *h, unsigned long *bits, u64 nbits);

/* ops.c: the operations behind the ioctls, on kernel copies of their args */
void mheap_op_api(struct mheap *h, struct gcheap_api *a);
int mheap_op_refill(struct mheap *h, struct gcheap_refill *r);
int mheap_op_alloc(struct mheap *h, struct gcheap_alloc *a);
int mheap_op_free(struct mheap *h, const struct gcheap_free *f);
int mheap_op_lookup(struct mheap *h, struct gcheap_lookup *l);
int mheap_op_stats(struct mheap *h, struct gcheap_stats *st,
		   struct gcheap_class_stats *by_class, u32 nclasses,
		   struct gcheap_pause *pauses);

#endif /* _GCHEAP_MHEAP_H */
