/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * gcheap: a garbage-collected heap for user processes, provided by the
 * kernel through /dev/gcheap.
 *
 * This header is the whole contract between the module and user space.
 *
 * Usage
 * -----
 * A process opens /dev/gcheap; each open() creates one heap, bound to the
 * opener's mm. It then maps the heap's arena with one mmap() of the fd
 * (MAP_SHARED, offset 0, length a multiple of GCHEAP_PAGE_SIZE and at most
 * gcheap_api.arena_max). Objects live in the arena; all heap metadata (spans,
 * bitmaps, statistics) stays in kernel memory, out of the program's reach.
 *
 * Ioctls
 * ------
 * Every ioctl takes one struct whose first field, @size, is the size of the
 * struct as the caller knows it. The kernel accepts any size from the
 * struct's first version up: a shorter struct than the kernel's is
 * zero-extended, a longer one must be zero past the kernel's end
 * (copy_struct_from_user() semantics). Output fields are written back only
 * up to the caller's @size. Flags the kernel does not know and reserved
 * fields that are not zero are rejected.
 *
 * Errors (the same meaning for every ioctl)
 * ------
 * ENOTTY     unknown ioctl number.
 * EFAULT     the argument, or a buffer it points to, is not accessible.
 * EINVAL     @size smaller than the struct's first version, unknown flags,
 *            non-zero reserved fields, or a field out of its documented range.
 * E2BIG      @size larger than the kernel's struct with non-zero bytes past
 *            the kernel's end.
 * EPERM      the caller's mm is not the mm that opened the heap (a forked
 *            child, or a process that received the fd over a socket).
 * ENXIO      the heap has no arena: not mmap()ed yet, or unmapped since
 *            (munmap() of the whole arena, or exit). Every ioctl but API,
 *            SIZE_CLASSES and GC_CONFIG needs the arena.
 * ENOMEM     the arena has no room for the request, or the kernel is out of
 *            memory for metadata or backing pages.
 * EOVERFLOW  a size that overflows when rounded up to heap pages.
 * ENOSPC     an output buffer is too small; the count needed is written back.
 * ENOENT     (FREE, LOOKUP) no allocated object holds the address (also a
 *            second free of a large object: its span went back to the page
 *            heap with the first).
 * EALREADY   (FREE) the address is the base of a free slot: a double free,
 *            or a slot never handed out.
 *
 * mmap() errors: EPERM (foreign mm), EBUSY (the heap has an arena, or had
 * one: a heap gets one arena in its life; after munmap() of it, open
 * /dev/gcheap again for a new heap),
 * EINVAL (not MAP_SHARED, non-zero offset, a length that is not a multiple
 * of GCHEAP_PAGE_SIZE, or a MAP_FIXED address not aligned to it),
 * EFBIG (longer than gcheap_api.arena_max). Without MAP_FIXED the kernel
 * places the arena on a GCHEAP_PAGE_SIZE boundary.
 * The arena mapping cannot be split (munmap or mprotect of part of it fail
 * with EINVAL), grown (mremap fails with EFAULT) or moved (EINVAL), and is
 * not inherited across fork(). Touching arena pages that belong to no
 * allocated span (never handed out, or freed since) raises SIGBUS. (A
 * small-object span whose objects were all freed stays allocated to its size
 * class, mapped, until the page heap needs its pages: reusing it costs no
 * page faults.) Arena
 * pages are charged to the memory cgroup of the task that first touches
 * them and count in the process's RSS.
 *
 * Cached spans (the protocol between the library and the kernel)
 * ------------
 * Small objects (at most GCHEAP_MAX_SMALL_SIZE bytes) are carved out of spans:
 * runs of heap pages cut into slots of one size class. GCHEAP_IOC_REFILL hands
 * the caller a span of the requested span class together with a bitmap of its
 * free slots; the span is then "cached": the caller may hand out any slot
 * whose bit was set, with no system call, until the bitmap runs dry. When the
 * caller gives the span back (the next REFILL of that class, or a
 * GCHEAP_REFILL_RELEASE_ONLY call), it passes the bitmap as it left it: slots
 * whose bits it cleared are counted as allocated from then on.
 *
 * The kernel trusts nothing in that bitmap beyond its own record: it keeps
 * the set of slots it handed out, so a bitmap that claims slots that were not
 * handed out, or bits past the span's end, changes nothing of the kernel's
 * metadata. A library that lies can only break its own objects.
 *
 * Memory is zero when handed out: fresh pages are zero-filled by the kernel,
 * and GCHEAP_IOC_FREE clears the object it frees; a span cut from pages that
 * held other spans before, or one in which the collector freed objects,
 * comes with GCHEAP_SPAN_NEEDZERO, and the caller must clear each of its
 * slots before handing it out. (The collector leaves the slots it frees as
 * they were: clearing them at reuse costs the program only for the slots it
 * takes, and costs the collection's pause nothing, as in Go.)
 *
 * There is no memory shared between the kernel and the library other than the
 * arena itself, whose contents the kernel treats as untrusted user data, so
 * no barriers pair across the boundary: every exchange is a system call.
 */
#ifndef _UAPI_LINUX_GCHEAP_H
#define _UAPI_LINUX_GCHEAP_H

#include <linux/const.h>
#include <linux/types.h>
#include <linux/ioctl.h>

/** GCHEAP_API_VERSION - the version GCHEAP_IOC_API reports */
#define GCHEAP_API_VERSION	1

#define GCHEAP_TYPE		0xC6

/* Heap page: the unit of spans, 8 KiB as in the Go runtime. */
#define GCHEAP_PAGE_SHIFT	13
#define GCHEAP_PAGE_SIZE	_BITUL(GCHEAP_PAGE_SHIFT)
/* Objects up to this size come from size-classed spans. */
#define GCHEAP_MAX_SMALL_SIZE	32768
/* Most slots any small span has (8-byte class in one page). */
#define GCHEAP_SPAN_MAX_ELEMS	1024
#define GCHEAP_SPAN_BITMAP_WORDS (GCHEAP_SPAN_MAX_ELEMS / 64)

/*
 * A span class is a size class combined with whether its objects may hold
 * pointers: spanclass = sizeclass << 1 | noscan. Size class 0 is reserved for
 * large objects and cannot be refilled.
 */
#define GCHEAP_SPANCLASS(sizeclass, noscan) \
	(((sizeclass) << 1) | ((noscan) ? 1 : 0))

enum {
	GCHEAP_CMD_API = 0x80,
	GCHEAP_CMD_SIZE_CLASSES,
	GCHEAP_CMD_REFILL,
	GCHEAP_CMD_ALLOC,
	GCHEAP_CMD_FREE,
	GCHEAP_CMD_LOOKUP,
	GCHEAP_CMD_STATS,
	GCHEAP_CMD_ROOTS,
	GCHEAP_CMD_GC,
	GCHEAP_CMD_GC_CONFIG,
	GCHEAP_CMD_FINALIZER,
	GCHEAP_CMD_LINK,
	GCHEAP_CMD_PROFILE,
	GCHEAP_CMD_DUMP,
};

/**
 * struct gcheap_api - GCHEAP_IOC_API: the version and the heap's geometry
 * @size: sizeof(struct gcheap_api)
 * @flags: must be 0
 * @api_version: out: GCHEAP_API_VERSION of the running module
 * @__reserved: must be 0
 * @features: out: GCHEAP_FEATURE_* bits the module supports
 * @arena_max: out: the longest arena mmap() accepts, in bytes
 * @arena_base: out: start of this heap's arena, 0 if not mapped yet or
 *	unmapped since
 * @arena_size: out: length of this heap's arena, 0 if not mapped yet or
 *	unmapped since
 * @page_size: out: heap page size (GCHEAP_PAGE_SIZE)
 * @max_small_size: out: largest size served by size classes
 * @num_size_classes: out: number of size classes, class 0 included
 * @span_max_elems: out: most slots a small span has
 *
 * Works before mmap(). Call it first, as UFFDIO_API is called first.
 */
struct gcheap_api {
	__u32 size;
	__u32 flags;
	__u32 api_version;
	__u32 __reserved;
	__aligned_u64 features;
	__aligned_u64 arena_max;
	__aligned_u64 arena_base;
	__aligned_u64 arena_size;
	__u32 page_size;
	__u32 max_small_size;
	__u32 num_size_classes;
	__u32 span_max_elems;
};

#define GCHEAP_IOC_API _IO(GCHEAP_TYPE, GCHEAP_CMD_API)

/* The module hands out cached spans (GCHEAP_IOC_REFILL). */
#define GCHEAP_FEATURE_CACHED_SPANS	_BITULL(0)
/* Explicit free and object lookup (GCHEAP_IOC_FREE, GCHEAP_IOC_LOOKUP). */
#define GCHEAP_FEATURE_FREE_LOOKUP	_BITULL(1)
/* Finalizers (GCHEAP_IOC_FINALIZER) and their queue, read() from the fd. */
#define GCHEAP_FEATURE_FINALIZERS	_BITULL(2)
/* Disappearing links (GCHEAP_IOC_LINK). */
#define GCHEAP_FEATURE_LINKS		_BITULL(3)
/* Heap-profile records (GCHEAP_IOC_PROFILE). */
#define GCHEAP_FEATURE_PROFILE		_BITULL(4)
/* Heap dumps (GCHEAP_IOC_DUMP). */
#define GCHEAP_FEATURE_DUMP		_BITULL(5)

/**
 * struct gcheap_size_class - one row of the size-class table
 * @size: slot size in bytes (0 for class 0, the large-object class)
 * @npages: heap pages per span of this class
 */
struct gcheap_size_class {
	__u32 size;
	__u32 npages;
};

/**
 * struct gcheap_size_classes - GCHEAP_IOC_SIZE_CLASSES: the size-class table
 * @size: sizeof(struct gcheap_size_classes)
 * @flags: must be 0
 * @count: in: entries @table has room for; out: number of size classes.
 *	If @table is too small, ENOSPC and @count says how many are needed.
 * @__reserved: must be 0
 * @table: user pointer to @count struct gcheap_size_class, indexed by class
 *
 * Works before mmap().
 */
struct gcheap_size_classes {
	__u32 size;
	__u32 flags;
	__u32 count;
	__u32 __reserved;
	__aligned_u64 table;
};

#define GCHEAP_IOC_SIZE_CLASSES _IO(GCHEAP_TYPE, GCHEAP_CMD_SIZE_CLASSES)

/* Give the old span back and take no new one. */
#define GCHEAP_REFILL_RELEASE_ONLY	_BITUL(0)

/* out_flags: the span's free slots may hold old data; clear before use. */
#define GCHEAP_SPAN_NEEDZERO		_BITUL(0)
/*
 * out_flags of REFILL and ALLOC: the heap has reached its goal (next_gc):
 * the library should run a collection (GCHEAP_IOC_GC) soon.
 */
#define GCHEAP_GC_DUE			_BITUL(1)

/**
 * struct gcheap_refill - GCHEAP_IOC_REFILL: give back a cached span, take one
 * @size: sizeof(struct gcheap_refill)
 * @flags: in: GCHEAP_REFILL_* flags
 * @spanclass: in: the span class wanted (GCHEAP_SPANCLASS()); size class
 *	must be 1 .. num_size_classes - 1. The span given back, if any, must be
 *	of this class.
 * @out_flags: out: GCHEAP_SPAN_* flags of the new span (ignored on input)
 * @old_base: in: base address of the cached span given back, or 0. It must
 *	be a span this heap handed out by REFILL and not yet given back, else
 *	EINVAL. On any error nothing changes: the old span stays cached.
 * @base: out: base address of the new span (0 with RELEASE_ONLY)
 * @elemsize: out: slot size of the new span
 * @nelems: out: number of slots of the new span
 * @nfree: out: number of free slots in @free
 * @__reserved: must be 0
 * @free: in: free-slot bitmap of the span given back, as the caller left it
 *	(bit i of word i / 64 set: slot i still free). out: free-slot bitmap of
 *	the new span; bits at and past @nelems are 0.
 */
struct gcheap_refill {
	__u32 size;
	__u32 flags;
	__u32 spanclass;
	__u32 out_flags;
	__aligned_u64 old_base;
	__aligned_u64 base;
	__u32 elemsize;
	__u32 nelems;
	__u32 nfree;
	__u32 __reserved;
	__aligned_u64 free[GCHEAP_SPAN_BITMAP_WORDS];
};

#define GCHEAP_IOC_REFILL _IO(GCHEAP_TYPE, GCHEAP_CMD_REFILL)

/* The object holds no pointers: the collector never scans it. */
#define GCHEAP_ALLOC_NOSCAN		_BITUL(0)

/**
 * struct gcheap_alloc - GCHEAP_IOC_ALLOC: allocate an object on its own span
 * @size: sizeof(struct gcheap_alloc)
 * @flags: in: GCHEAP_ALLOC_* flags
 * @bytes: in: object size, at least 1 (EINVAL for 0, EOVERFLOW if rounding
 *	it up to heap pages overflows, ENOMEM if the arena has no room)
 * @addr: out: the object's address, aligned to GCHEAP_PAGE_SIZE; zeroed
 * @usable: out: usable size (@bytes rounded up to heap pages)
 * @out_flags: out: GCHEAP_GC_DUE (added in API 1's second revision; older
 *	callers pass a shorter struct and do not get it)
 * @__reserved: must be 0
 *
 * The library uses it for objects larger than GCHEAP_MAX_SMALL_SIZE.
 */
struct gcheap_alloc {
	__u32 size;
	__u32 flags;
	__aligned_u64 bytes;
	__aligned_u64 addr;
	__aligned_u64 usable;
	__u32 out_flags;
	__u32 __reserved;
};

#define GCHEAP_IOC_ALLOC _IO(GCHEAP_TYPE, GCHEAP_CMD_ALLOC)

/**
 * struct gcheap_free - GCHEAP_IOC_FREE: free an object explicitly
 * @size: sizeof(struct gcheap_free)
 * @flags: in: GCHEAP_FREE_CACHED or 0
 * @addr: in: the object's base address
 *
 * Errors: EINVAL (unknown flags, or @addr inside an object but not its
 * base), ENOENT if @addr lies in no span in use, EALREADY if the slot at
 * @addr is already free (double free).
 *
 * A slot of a cached span that the kernel handed out free may be a fresh
 * object or a slot the cache has not handed out yet; only the cache knows.
 * With GCHEAP_FREE_CACHED, the caller is that cache and says the slot was
 * handed out: the free is accepted once and settled when the span is
 * given back (a second free gets EALREADY; a slot that turns out never
 * used is counted in gcheap_stats.bad_frees), and the slot is reusable
 * from then on. Without it (another thread freeing an object the
 * allocating thread's cache still holds the span of), 0 is returned and
 * the object's finalizer, cleanups, profile record and the links it holds
 * go, as with any free, but the slot stays: the object is freed by the
 * first collection that finds it unreachable. Settling such a free at the
 * span's return instead would let a double free of a slot not handed out
 * yet free the object the cache puts there next, while it is in use.
 */
struct gcheap_free {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
};

#define GCHEAP_IOC_FREE _IO(GCHEAP_TYPE, GCHEAP_CMD_FREE)

/* gcheap_free.flags: the caller's cache holds the span, slot handed out. */
#define GCHEAP_FREE_CACHED		_BITUL(0)

/**
 * struct gcheap_lookup - GCHEAP_IOC_LOOKUP: find the object holding an address
 * @size: sizeof(struct gcheap_lookup)
 * @flags: must be 0
 * @addr: in: any address, interior pointers included
 * @base: out: base of the object holding @addr
 * @objsize: out: the object's usable size (its slot or span size)
 * @spanclass: out: span class of the object's span (0 or 1 for large)
 * @__reserved: must be 0
 *
 * ENOENT if no allocated object holds @addr. A slot of a span cached by the
 * caller counts as allocated (the kernel cannot see which cached slots were
 * handed out until the span is given back); the library checks its own
 * thread's caches first.
 */
struct gcheap_lookup {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 base;
	__aligned_u64 objsize;
	__u32 spanclass;
	__u32 __reserved;
};

#define GCHEAP_IOC_LOOKUP _IO(GCHEAP_TYPE, GCHEAP_CMD_LOOKUP)

/**
 * struct gcheap_class_stats - per size class counts
 * @elemsize: slot size of the class (0 for class 0, large objects)
 * @__reserved: always 0
 * @mallocs: objects allocated, counted when their span is given back
 * @frees: objects freed
 * @spans: spans of this class in use (cached or not)
 * @bytes_inuse: bytes in allocated objects (@elemsize x live objects; for
 *	class 0 the pages of large objects)
 */
struct gcheap_class_stats {
	__u32 elemsize;
	__u32 __reserved;
	__aligned_u64 mallocs;
	__aligned_u64 frees;
	__aligned_u64 spans;
	__aligned_u64 bytes_inuse;
};

/**
 * struct gcheap_stats - GCHEAP_IOC_STATS: what the heap holds
 * @size: sizeof(struct gcheap_stats)
 * @flags: must be 0
 * @nclasses: in: entries @by_class has room for (0: none wanted); out:
 *	number of size classes. ENOSPC if @by_class is too small.
 * @__reserved: must be 0
 * @by_class: user pointer to @nclasses struct gcheap_class_stats, or 0
 * @heap_sys: out: bytes of arena the heap has grown into (spans, free or not)
 * @heap_inuse: out: bytes in spans in use
 * @heap_idle: out: bytes in free spans
 * @heap_alloc: out: bytes in allocated objects
 * @heap_objects: out: live objects
 * @mallocs: out: objects allocated in all
 * @frees: out: objects freed in all
 * @resident: out: bytes of arena backed by pages
 * @cached_spans: out: spans handed out by REFILL and not given back yet
 * @refills: out: REFILL calls that handed out a span
 * @bad_frees: out: frees of cached slots that turned out never allocated
 * @total_alloc: out: bytes allocated in all (Go's TotalAlloc)
 * @next_gc: out: heap_alloc at which the next collection is due
 * @last_gc: out: end of the last collection, ns of CLOCK_REALTIME (0: none)
 * @pause_total_ns: out: stop-the-world time of all collections
 * @num_gc: out: collections completed
 * @gc_cpu_ns: out: CPU time the collector used (mark and sweep)
 * @age_ns: out: time since the heap was created (GCCPUFraction is
 *	@gc_cpu_ns / (@age_ns x CPUs))
 * @pauses: in: user pointer to GCHEAP_NUM_PAUSES struct gcheap_pause, or
 *	0; filled like Go's PauseNs and PauseEnd: entry (num_gc + 255) % 256
 *	is the most recent
 * @heap_released: out: bytes of free spans no memory backs (Go's
 *	HeapReleased): never used, or given back by the scavenger
 * @soft_limit: out: the heap's soft memory limit (0: none)
 * @hard_limit: out: the heap's hard memory limit (0: none)
 *
 * Allocations from cached spans are counted when the span is given back.
 */
struct gcheap_stats {
	__u32 size;
	__u32 flags;
	__u32 nclasses;
	__u32 __reserved;
	__aligned_u64 by_class;
	__aligned_u64 heap_sys;
	__aligned_u64 heap_inuse;
	__aligned_u64 heap_idle;
	__aligned_u64 heap_alloc;
	__aligned_u64 heap_objects;
	__aligned_u64 mallocs;
	__aligned_u64 frees;
	__aligned_u64 resident;
	__aligned_u64 cached_spans;
	__aligned_u64 refills;
	__aligned_u64 bad_frees;
	__aligned_u64 total_alloc;
	__aligned_u64 next_gc;
	__aligned_u64 last_gc;
	__aligned_u64 pause_total_ns;
	__aligned_u64 num_gc;
	__aligned_u64 gc_cpu_ns;
	__aligned_u64 age_ns;
	__aligned_u64 pauses;
	__aligned_u64 heap_released;
	__aligned_u64 soft_limit;
	__aligned_u64 hard_limit;
};

#define GCHEAP_IOC_STATS _IO(GCHEAP_TYPE, GCHEAP_CMD_STATS)

#define GCHEAP_NUM_PAUSES	256

/**
 * struct gcheap_pause - one collection's pause, for GCHEAP_IOC_STATS
 * @ns: stop-the-world time of the collection (the GC ioctl's duration plus
 *	what the library reports of its own stop-the-world)
 * @end: end of the pause, ns of CLOCK_REALTIME
 */
struct gcheap_pause {
	__aligned_u64 ns;
	__aligned_u64 end;
};

/**
 * struct gcheap_range - a range of user memory, [@lo, @hi)
 * @lo: first byte
 * @hi: one past the last byte
 */
struct gcheap_range {
	__aligned_u64 lo;
	__aligned_u64 hi;
};

/* Remove roots instead of adding them. */
#define GCHEAP_ROOTS_REMOVE		_BITUL(0)
/* Most root ranges a heap registers. */
#define GCHEAP_MAX_ROOTS		1024

/**
 * struct gcheap_roots - GCHEAP_IOC_ROOTS: register or remove root memory
 * @size: sizeof(struct gcheap_roots)
 * @flags: 0 to add [@lo, @hi), GCHEAP_ROOTS_REMOVE to remove every
 *	registered range that lies within [@lo, @hi) (bdwgc's GC_remove_roots)
 * @lo: first byte
 * @hi: one past the last byte
 *
 * Every aligned word of a root range is read at each collection, as user
 * memory (a range that is not readable then is skipped). Errors: EINVAL if
 * @lo >= @hi or the range is not user memory, ENOSPC past GCHEAP_MAX_ROOTS
 * ranges, ENOENT if a removal found no range.
 */
struct gcheap_roots {
	__u32 size;
	__u32 flags;
	__aligned_u64 lo;
	__aligned_u64 hi;
};

#define GCHEAP_IOC_ROOTS _IO(GCHEAP_TYPE, GCHEAP_CMD_ROOTS)

/* Mark only: leave sweeping to refills and the background sweeper. */
#define GCHEAP_GC_NOSWEEP		_BITUL(0)
/*
 * One step of a concurrent collection: start a mark that runs beside the
 * program, or, if one runs, finish it.
 */
#define GCHEAP_GC_CONCURRENT		_BITUL(1)
/*
 * After the sweep, give the memory of every free span back (Go's
 * debug.FreeOSMemory); not with GCHEAP_GC_NOSWEEP nor GCHEAP_GC_CONCURRENT.
 */
#define GCHEAP_GC_RELEASE		_BITUL(2)
/* gcheap_gc.out_flags: the call started a concurrent mark. */
#define GCHEAP_GC_MARKING		_BITUL(0)
/* Most bytes of roots one collection reads (registered and passed). */
#define GCHEAP_MAX_ROOT_BYTES		(256ULL << 20)

/**
 * struct gcheap_gc - GCHEAP_IOC_GC: a collection
 * @size: sizeof(struct gcheap_gc)
 * @flags: in: GCHEAP_GC_* flags
 * @nroots: in: entries of @roots
 * @stw_ns: in: time the library spent stopping and restarting the world for
 *	this collection, added to the pause it records
 * @roots: in: user pointer to @nroots struct gcheap_range: the stacks and
 *	saved registers of the program's threads, scanned once with the
 *	registered roots
 * @cycle: out: number of this collection (1 for the first)
 * @heap_before: out: heap_alloc when the collection started
 * @heap_marked: out: bytes of objects found reachable
 * @objects_marked: out: objects found reachable
 * @next_gc: out: heap_alloc at which the next collection is due
 * @pause_ns: out: the collection's duration in the kernel
 * @overflows: out: times the mark work list overflowed (each costs a rescan)
 * @out_flags: out: GCHEAP_GC_MARKING if the call started a concurrent mark
 *	(the fields above then describe no completed collection)
 * @__reserved2: must be 0
 * @released: out: with GCHEAP_GC_RELEASE, bytes whose memory was given back
 *
 * The caller must have stopped every other thread that uses the heap and
 * given back every cached span (REFILL with GCHEAP_REFILL_RELEASE_ONLY):
 * EBUSY otherwise, and nothing is collected. The collector marks every
 * object reachable from the roots, conservatively (any aligned word that
 * points into an allocated object, interior pointers included, keeps it;
 * objects allocated with GCHEAP_ALLOC_NOSCAN or of a noscan span class are
 * not scanned), then sweeps (unless GCHEAP_GC_NOSWEEP): unreachable objects
 * are freed (their spans' next refills say GCHEAP_SPAN_NEEDZERO).
 * Errors: EINVAL, EFAULT (@roots not readable), E2BIG (more than
 * GCHEAP_MAX_ROOT_BYTES of roots), EBUSY, ENXIO, ENOMEM, EINTR (a fatal
 * signal stopped it; the heap is unchanged).
 *
 * With GCHEAP_GC_CONCURRENT, a collection takes two calls, each with the
 * world stopped as above, and the program runs between them (the "mostly
 * parallel" collector of Boehm, Demers and Shenker, with Go's pacing and
 * allocate-black). The first call marks from the roots and returns with
 * GCHEAP_GC_MARKING; a kernel worker and the program's refills (assists
 * in proportion to what they allocate) then mark the heap, and the kernel
 * records which arena pages the program writes (the CPU's dirty bits, and
 * the pages' dirty flags, which writes through get_user_pages() set:
 * process_vm_writev(), /proc/pid/mem).
 * Past the heap's goal, refills mark more, as Go's assists do; when the
 * work is done, or the heap passes the goal by a quarter of its growth
 * and at least 4 MiB (Go's hard goal), refills say GCHEAP_GC_DUE again;
 * the second call scans the roots again and the marked objects on written
 * pages, ends the mark and sweeps as without the flag. Objects allocated
 * between the calls survive the collection. A call without the flag while
 * a concurrent mark runs drops that mark (its marks would all be made
 * again) and runs a whole collection of its own.
 */
struct gcheap_gc {
	__u32 size;
	__u32 flags;
	__u32 nroots;
	__u32 __reserved;
	__aligned_u64 stw_ns;
	__aligned_u64 roots;
	__aligned_u64 cycle;
	__aligned_u64 heap_before;
	__aligned_u64 heap_marked;
	__aligned_u64 objects_marked;
	__aligned_u64 next_gc;
	__aligned_u64 pause_ns;
	__aligned_u64 overflows;
	__u32 out_flags;
	__u32 __reserved2;
	__aligned_u64 released;
};

#define GCHEAP_IOC_GC _IO(GCHEAP_TYPE, GCHEAP_CMD_GC)

/* gcheap_gc_config.flags: which fields to set (the old values come back). */
#define GCHEAP_GC_SET_PERCENT		_BITUL(0)
#define GCHEAP_GC_SET_TRACE		_BITUL(1)
#define GCHEAP_GC_SET_SOFT_LIMIT	_BITUL(2)
#define GCHEAP_GC_SET_HARD_LIMIT	_BITUL(3)
/* gc_percent that turns automatic collection off (Go's GOGC=off). */
#define GCHEAP_GC_OFF			(-1)

/**
 * struct gcheap_gc_config - GCHEAP_IOC_GC_CONFIG: pacing and tracing
 * @size: sizeof(struct gcheap_gc_config)
 * @flags: GCHEAP_GC_SET_* for the fields to set
 * @gc_percent: in/out: Go's GOGC: the next collection is due when the heap
 *	has grown by this percent over the live heap of the last one (at least
 *	to 4 MiB); GCHEAP_GC_OFF (-1) for never; 100 by default. EINVAL below -1.
 * @gctrace: in/out: 1 to print one line per collection in the kernel log,
 *	in the format of Go's GODEBUG=gctrace=1; default: module parameter
 *	gctrace. EINVAL above 1.
 * @soft_limit: in/out: bytes (Go's GOMEMLIMIT, a multiple of
 *	GCHEAP_PAGE_SIZE, else EINVAL; 0 for none, the default). The heap's memory is its
 *	spans in use and its free pages not given back. Past 15/16 of the
 *	limit, the memory of free spans is given back at once; collections
 *	are due when the heap's objects reach 15/16 of the limit, whatever
 *	the GOGC percent, even off, but never before the heap has grown by
 *	1/16 of its live heap since the last collection (a live heap over the
 *	limit does not make collections run back to back).
 * @hard_limit: in/out: bytes (a multiple of GCHEAP_PAGE_SIZE, else EINVAL;
 *	0 for none, the default): a span that would take the heap's memory past it is
 *	refused (REFILL and ALLOC fail with ENOMEM) once free memory was given
 *	back; the library then collects once and tries again. The module
 *	parameter limit_mb bounds the memory of all heaps together the same
 *	way.
 */
struct gcheap_gc_config {
	__u32 size;
	__u32 flags;
	__s32 gc_percent;
	__u32 gctrace;
	__aligned_u64 soft_limit;
	__aligned_u64 hard_limit;
};

#define GCHEAP_IOC_GC_CONFIG _IO(GCHEAP_TYPE, GCHEAP_CMD_GC_CONFIG)

/**
 * struct gcheap_finalizer - GCHEAP_IOC_FINALIZER: set or remove an object's
 *	finalizer, or add a cleanup
 * @size: sizeof(struct gcheap_finalizer)
 * @flags: 0, or GCHEAP_FINALIZER_CLEANUP
 * @addr: the object's base address (as gcheap_lookup() gives it)
 * @fn: the finalizer, opaque to the kernel; 0 removes the object's one
 * @arg: its argument, opaque to the kernel
 *
 * With GCHEAP_FINALIZER_CLEANUP, a cleanup is added instead (Go 1.24's
 * runtime.AddCleanup): an object has any number, @fn may not be 0, and
 * they neither keep the object nor what it references alive. Once a
 * collection frees the object, a record of each (kind
 * GCHEAP_FINAL_CLEANUP, in the order they were added) is queued; the
 * object is gone by then, so it cannot be resurrected. An object that also
 * has a finalizer is finalized first; its cleanups are queued when it is
 * freed after that. Should the queue be full, the object stays allocated
 * until a collection finds room for its cleanups.
 *
 * Go's runtime.SetFinalizer: an object has one finalizer at most. Once a
 * collection finds the object unreachable, it queues a record of it
 * (struct gcheap_final) for the program to read from the heap's fd, and
 * removes the finalizer. The object, and everything it references, survive
 * that collection: they stay allocated until a later collection finds them
 * unreachable again, so a finalizer that stores the object somewhere
 * reachable resurrects it. Everything reachable from an object with a
 * finalizer is kept while the finalizer is set, so objects in a cycle of
 * finalizers (an object that reaches itself, too) are never finalized nor
 * collected, as in Go. Freeing an object (GCHEAP_IOC_FREE) removes its
 * finalizer.
 *
 * A slot of a cached span that the kernel handed out free counts as an
 * object, since only the cache knows whether it used it; if the span comes
 * back with the slot unused, what was set on it goes (finalizers,
 * cleanups, links held in it or to it, profile records).
 *
 * The queue holds GCHEAP_FINAL_QUEUE_MAX records. When it is full, an
 * unreachable object keeps its finalizer and stays allocated until a
 * collection finds room: nothing is dropped.
 *
 * Errors: EINVAL (unknown flags, @fn 0 with GCHEAP_FINALIZER_CLEANUP, or
 * @addr inside an object but not its start), ENOENT (@addr is in no
 * allocated object; or @fn is 0 and the object has no finalizer), EEXIST
 * (the object has a finalizer already), ENOMEM, ENXIO (no arena yet).
 */
struct gcheap_finalizer {
	__u32 size;
	__u32 flags;
	__aligned_u64 addr;
	__aligned_u64 fn;
	__aligned_u64 arg;
};

#define GCHEAP_IOC_FINALIZER _IO(GCHEAP_TYPE, GCHEAP_CMD_FINALIZER)

/* gcheap_finalizer.flags: add a cleanup, not a finalizer */
#define GCHEAP_FINALIZER_CLEANUP	_BITUL(0)

/**
 * struct gcheap_link - GCHEAP_IOC_LINK: register or remove a disappearing
 *	link (bdwgc's GC_general_register_disappearing_link)
 * @size: sizeof(struct gcheap_link)
 * @flags: 0, or GCHEAP_LINK_REMOVE
 * @link: address of a pointer-sized word, 8-byte aligned: inside an
 *	allocated object of the heap, or inside registered root memory
 *	(GCHEAP_IOC_ROOTS; the library registers the data and bss)
 * @obj: the start of an allocated object of the heap; ignored with
 *	GCHEAP_LINK_REMOVE
 *
 * When a collection finds @obj unreachable, the kernel writes 0 to @link
 * and forgets the registration. The registration keeps nothing alive, but
 * the word at @link is scanned like any other: a link meant to be weak
 * lies in a noscan object (GCHEAP_ALLOC_NOSCAN, a noscan span class), or
 * holds the pointer disguised, as bdwgc's HIDE_POINTER does. Links are
 * cleared when the mark ends, before sweeping queues finalizers, so an
 * object with a finalizer that resurrects it has its links cleared all the
 * same (Go clears weak pointers before finalizers run). A registration
 * whose link lies in an object that is freed (by a collection, or
 * GCHEAP_IOC_FREE) is forgotten with it; so is one whose root memory was
 * removed. Freeing @obj explicitly forgets its links without clearing them.
 *
 * Errors: EINVAL (flags or reserved bits, @link misaligned or neither in an
 * allocated object nor in root memory, @obj inside an object but not its
 * start), ENOENT (@obj is no allocated object; or, removing, @link is not
 * registered), EEXIST (@link is registered already), ENOMEM, ENXIO.
 */
struct gcheap_link {
	__u32 size;
	__u32 flags;
	__aligned_u64 link;
	__aligned_u64 obj;
};

#define GCHEAP_IOC_LINK _IO(GCHEAP_TYPE, GCHEAP_CMD_LINK)

/* gcheap_link.flags: remove the link's registration */
#define GCHEAP_LINK_REMOVE	_BITUL(0)

/* Heap-profile buckets a heap counts frees for: ids 0 to this - 1. */
#define GCHEAP_PROFILE_BUCKETS_MAX	65536

/**
 * struct gcheap_profile - GCHEAP_IOC_PROFILE: attach a heap-profile record to
 *	a sampled object, or read the frees counted per bucket
 * @size: sizeof(struct gcheap_profile)
 * @op: GCHEAP_PROFILE_ADD or GCHEAP_PROFILE_READ
 * @addr: ADD: the object's base address
 * @bucket: ADD: the bucket the program files the object's allocation
 *	under (its call stack); READ: the first bucket to read
 * @count: READ: in: entries of @buf; out: entries written, the buckets
 *	from @bucket up to the highest one ever added
 * @buf: READ: user address of @count struct gcheap_profile_count
 *
 * The kernel does not sample nor keep call stacks: the program (the
 * library) samples allocations, as Go's MemProfileRate does, counts them
 * per call stack and attaches a record to each sampled object (Go's
 * special profile record). When the object is freed, by a collection's
 * sweep or GCHEAP_IOC_FREE, the record goes and its bucket's frees are
 * counted. An object has one record at most. The frees of an object not
 * swept yet since it became unreachable are not counted yet.
 *
 * Errors: EINVAL (unknown @op, @bucket not below GCHEAP_PROFILE_BUCKETS_MAX,
 * @addr inside an object but not its start, @count above
 * GCHEAP_PROFILE_BUCKETS_MAX), ENOENT (@addr is in no allocated object),
 * EEXIST (the object has a record already), EFAULT (@buf), ENOMEM, ENXIO
 * (no arena yet).
 */
struct gcheap_profile {
	__u32 size;
	__u32 op;
	__aligned_u64 addr;
	__u32 bucket;
	__u32 count;
	__aligned_u64 buf;
};

#define GCHEAP_IOC_PROFILE _IO(GCHEAP_TYPE, GCHEAP_CMD_PROFILE)

/* gcheap_profile.op */
#define GCHEAP_PROFILE_ADD	1
#define GCHEAP_PROFILE_READ	2

/**
 * struct gcheap_profile_count - the frees of one bucket (GCHEAP_PROFILE_READ)
 * @frees: sampled objects of the bucket freed
 * @free_bytes: their bytes (slot or span sizes)
 */
struct gcheap_profile_count {
	__aligned_u64 frees;
	__aligned_u64 free_bytes;
};

/**
 * struct gcheap_dump - GCHEAP_IOC_DUMP: write a dump of the heap
 * @size: sizeof(struct gcheap_dump)
 * @flags: must be 0
 * @buf: user address of @len bytes
 * @len: in: bytes at @buf; out: bytes written, or with ENOSPC the bytes a
 *	dump of the heap as it is now needs
 *
 * The dump is a snapshot taken under the heap's lock, in the format below
 * (version GCHEAP_DUMP_VERSION; Go's runtime/heapdump.go is the model of
 * its record kinds). It starts with struct gcheap_dump_header; records
 * follow, each a struct gcheap_dump_record and its payload, 8-byte
 * aligned, little-endian, and the last is GCHEAP_DUMP_END:
 *
 *   GCHEAP_DUMP_SPAN     struct gcheap_dump_span: a span in use
 *   GCHEAP_DUMP_OBJECT   struct gcheap_dump_object, then @nptrs __u64: an
 *                        allocated object and the base address of every
 *                        allocated object its words point into (interior
 *                        pointers included; noscan objects have none), in
 *                        the order of the words, repeats included
 *   GCHEAP_DUMP_ROOT     struct gcheap_range: root memory registered with
 *                        GCHEAP_IOC_ROOTS (threads' stacks are given only
 *                        to collections, so they are not in a dump)
 *   GCHEAP_DUMP_SPECIAL  struct gcheap_dump_special: a finalizer, cleanup,
 *                        disappearing link or profile record
 *   GCHEAP_DUMP_MEMSTATS struct gcheap_dump_memstats
 *   GCHEAP_DUMP_END      no payload
 *
 * Objects of spans cached by threads are those the heap counted when the
 * span was handed out (the library gives its thread's cache back first).
 * The lock keeps the spans still, not the objects' words: an object whose
 * pointers the program cleared while the dump was taken may have fewer
 * than its record has room for (the slots after @nptrs are zero; step by
 * gcheap_dump_record.len).
 *
 * Errors: EINVAL (flags), ENOSPC (@len too small: @len says what is
 * needed), EFAULT (@buf), ENOMEM, ENXIO (no arena yet), EBUSY (the program
 * wrote pointers faster than a dump could be taken, four times over: try
 * again).
 */
struct gcheap_dump {
	__u32 size;
	__u32 flags;
	__aligned_u64 buf;
	__aligned_u64 len;
};

#define GCHEAP_IOC_DUMP _IO(GCHEAP_TYPE, GCHEAP_CMD_DUMP)

#define GCHEAP_DUMP_MAGIC	"GCHEAPDM"
#define GCHEAP_DUMP_VERSION	1

/* struct gcheap_dump_record.kind */
#define GCHEAP_DUMP_SPAN	1
#define GCHEAP_DUMP_OBJECT	2
#define GCHEAP_DUMP_ROOT	3
#define GCHEAP_DUMP_SPECIAL	4
#define GCHEAP_DUMP_MEMSTATS	5
#define GCHEAP_DUMP_END		6

/**
 * struct gcheap_dump_header - the start of a dump
 * @magic: GCHEAP_DUMP_MAGIC, not NUL-terminated
 * @version: GCHEAP_DUMP_VERSION
 * @page_size: GCHEAP_PAGE_SIZE
 * @arena_base: the arena's address
 * @arena_bytes: its length
 * @nrecords: records that follow, GCHEAP_DUMP_END included
 */
struct gcheap_dump_header {
	char magic[8];
	__u32 version;
	__u32 page_size;
	__aligned_u64 arena_base;
	__aligned_u64 arena_bytes;
	__aligned_u64 nrecords;
};

/**
 * struct gcheap_dump_record - what each record starts with
 * @kind: GCHEAP_DUMP_*
 * @len: bytes of the record, this header included, a multiple of 8
 */
struct gcheap_dump_record {
	__u32 kind;
	__u32 len;
};

/**
 * struct gcheap_dump_span - GCHEAP_DUMP_SPAN
 * @base: its first byte
 * @npages: its length in heap pages
 * @spanclass: GCHEAP_SPANCLASS(); size class 0 for a large object
 * @elemsize: slot size (the span's length for a large object)
 * @nelems: slots
 * @nalloc: slots allocated
 */
struct gcheap_dump_span {
	__aligned_u64 base;
	__aligned_u64 npages;
	__u32 spanclass;
	__u32 elemsize;
	__u32 nelems;
	__u32 nalloc;
};

/**
 * struct gcheap_dump_object - GCHEAP_DUMP_OBJECT
 * @addr: the object
 * @size: its slot size
 * @spanclass: its span's class (bit 0: noscan)
 * @nptrs: __u64 that follow: the objects it points to
 */
struct gcheap_dump_object {
	__aligned_u64 addr;
	__aligned_u64 size;
	__u32 spanclass;
	__u32 nptrs;
};

/**
 * struct gcheap_dump_special - GCHEAP_DUMP_SPECIAL
 * @addr: the object it is attached to
 * @kind: 1 finalizer, 2 cleanup, 3 disappearing link, 4 profile record
 * @__reserved: 0
 * @fn: the function (finalizer, cleanup), the link's address, or the
 *	profile bucket
 * @arg: the argument (finalizer, cleanup); 1 for a link in root memory
 */
struct gcheap_dump_special {
	__aligned_u64 addr;
	__u32 kind;
	__u32 __reserved;
	__aligned_u64 fn;
	__aligned_u64 arg;
};

/**
 * struct gcheap_dump_memstats - GCHEAP_DUMP_MEMSTATS: as GCHEAP_IOC_STATS
 *	reports them
 */
struct gcheap_dump_memstats {
	__aligned_u64 heap_alloc;
	__aligned_u64 heap_sys;
	__aligned_u64 heap_idle;
	__aligned_u64 heap_inuse;
	__aligned_u64 heap_released;
	__aligned_u64 heap_objects;
	__aligned_u64 mallocs;
	__aligned_u64 frees;
	__aligned_u64 num_gc;
	__aligned_u64 pause_total_ns;
};

/* Records queued at most per heap. */
#define GCHEAP_FINAL_QUEUE_MAX	65536

/* struct gcheap_final's kind */
#define GCHEAP_FINAL_FINALIZER	1
#define GCHEAP_FINAL_CLEANUP	2

/**
 * struct gcheap_final - a record read() from the heap's fd
 * @addr: the object (for a cleanup: where it was; it is freed)
 * @fn: its finalizer or cleanup, as set
 * @arg: its argument
 * @kind: GCHEAP_FINAL_FINALIZER or GCHEAP_FINAL_CLEANUP
 * @__reserved: 0
 *
 * read() returns as many whole records as fit in the buffer and are
 * queued, at least one: it blocks while none is, unless the fd is
 * O_NONBLOCK or the read is RWF_NOWAIT (EAGAIN then). poll() and epoll
 * report EPOLLIN while records are queued. Each record is read once, by one
 * reader; one that cannot be copied out is queued again (EFAULT). Errors:
 * EINVAL (a buffer shorter than one record), EAGAIN, EINTR, EFAULT, EPERM
 * (another process).
 */
struct gcheap_final {
	__aligned_u64 addr;
	__aligned_u64 fn;
	__aligned_u64 arg;
	__u32 kind;
	__u32 __reserved;
};

#endif /* _UAPI_LINUX_GCHEAP_H */
