/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/*
 * libgcheap: the user-space side of gcheap, a garbage-collected heap served
 * by the kernel through /dev/gcheap.
 *
 * A program links libgcheap and calls gcheap_malloc() and friends; the heap
 * is set up on the first call (or explicitly with gcheap_init() or
 * gcheap_init_opts()). Small objects (up to 32 KiB) are handed out from a
 * per-thread cache of spans with no system call; larger objects, explicit
 * frees and lookups go to the kernel.
 *
 * Rules of use:
 *  - Every function is thread-safe. None is async-signal-safe: do not call
 *    them from a signal handler that may interrupt another gcheap call.
 *  - The heap belongs to the process that created it. After fork() the child
 *    cannot use it (the arena is not inherited): in the child every call
 *    fails with EPERM, and objects of the parent's heap are not mapped.
 *  - The per-thread cache lives in initial-exec TLS, so the shared library
 *    must be loaded at program start (linked, or LD_PRELOAD), not dlopen()ed.
 *  - A thread's cached spans go back to the kernel when the thread exits;
 *    allocations from a span still cached are counted in the statistics
 *    once the span goes back (gcheap_flush_cache()).
 *
 * This header is self-contained: it does not need the kernel's uapi headers.
 */
#ifndef _GCHEAP_H
#define _GCHEAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct gcheap_options - how gcheap_init_opts() sets the heap up
 * @size: sizeof(struct gcheap_options) as the caller was compiled with. A
 *	newer library accepts an older, shorter struct; an older library
 *	accepts a longer one only if the fields it does not know are zero.
 * @arena_size: bytes of address space to reserve for the heap, rounded up to
 *	the heap page size (8 KiB). 0 picks the default: the environment
 *	variable GCHEAP_ARENA_SIZE if set (bytes, with an optional K, M, G or T
 *	binary suffix), else the module's largest arena capped at 64 GiB. The
 *	heap can never grow beyond its arena; pages are backed only when used.
 */
struct gcheap_options {
	size_t size;
	size_t arena_size;
};

/**
 * struct gcheap_heap_stats - what the heap holds, as gcheap_heap_stats()
 *	reports it
 * @arena_size: bytes of address space reserved for the heap
 * @heap_sys: bytes of the arena the heap has grown into (spans, free or not)
 * @heap_inuse: bytes in spans in use (objects, free slots of partly used
 *	spans, and the tails spans cannot use)
 * @heap_idle: bytes in free spans
 * @heap_alloc: bytes in allocated objects (slot sizes, pages of large
 *	objects)
 * @heap_objects: live objects (@mallocs - @frees)
 * @mallocs: objects allocated in all
 * @frees: objects freed in all
 * @resident: bytes of the arena backed by memory
 * @cached_spans: spans held by thread caches (of any thread)
 * @refills: spans handed to thread caches in all
 * @bad_frees: frees of cached slots that turned out never allocated
 */
struct gcheap_heap_stats {
	uint64_t arena_size;
	uint64_t heap_sys;
	uint64_t heap_inuse;
	uint64_t heap_idle;
	uint64_t heap_alloc;
	uint64_t heap_objects;
	uint64_t mallocs;
	uint64_t frees;
	uint64_t resident;
	uint64_t cached_spans;
	uint64_t refills;
	uint64_t bad_frees;
};

/**
 * struct gcheap_size_class_stats - one size class, as gcheap_heap_stats()
 *	reports it
 * @size_class: the class number; 0 is the class of large objects (over
 *	32 KiB), each on a span of its own
 * @elemsize: slot size in bytes (0 for class 0)
 * @span_pages: heap pages (8 KiB) per span of the class (0 for class 0)
 * @mallocs: objects of the class allocated in all
 * @frees: objects of the class freed
 * @spans: spans of the class in use (for class 0: live large objects)
 * @bytes_inuse: bytes in live objects (@elemsize x live objects; for class 0
 *	the pages of large objects)
 *
 * Scan and noscan objects of one class are counted together. Live objects
 * are @mallocs - @frees.
 */
struct gcheap_size_class_stats {
	uint32_t size_class;
	uint32_t elemsize;
	uint32_t span_pages;
	uint64_t mallocs;
	uint64_t frees;
	uint64_t spans;
	uint64_t bytes_inuse;
};

/**
 * gcheap_init() - set the heap up with the default options
 *
 * Opens /dev/gcheap, checks the module's API version, reads the size-class
 * table and maps the arena. Calling it is optional: the first allocation does
 * it. Calling it again after success does nothing. A failed setup is final
 * for the process: every later call fails with the same errno.
 *
 * Return: 0 on success, -1 with errno set on failure: the errno of open() of
 * /dev/gcheap (ENOENT when the module is not loaded), EOPNOTSUPP if the
 * module's API or geometry is not one this library knows, EPROTO if the
 * module's size-class table is malformed, EINVAL if GCHEAP_ARENA_SIZE is not
 * a size, EFBIG if the arena asked for is larger than the module allows,
 * ENOMEM if the address space for the arena cannot be had, EPERM in a child
 * forked after the parent set its heap up.
 */
int gcheap_init(void);

/**
 * gcheap_init_opts() - set the heap up with options
 * @opts: the options; NULL makes it gcheap_init()
 *
 * Must be called before the heap is set up (before the first allocation),
 * typically first thing in main().
 *
 * Return: 0 on success, -1 with errno set: EBUSY if the heap was already set
 * up (by an allocation, or another gcheap_init*() call), EINVAL if
 * @opts->size is smaller than the first version of the struct, E2BIG if it
 * is larger than this library's struct and the extra bytes are not zero,
 * otherwise as gcheap_init().
 */
int gcheap_init_opts(const struct gcheap_options *opts);

/**
 * gcheap_malloc() - allocate an object that may hold pointers
 * @size: bytes wanted; 0 gives a unique object of the smallest size
 *
 * The object is zeroed and aligned to 8 bytes (objects over 32 KiB to 8 KiB),
 * and the collector scans it for pointers into the heap. Sets the heap up if
 * needed.
 *
 * Return: the object, or NULL with errno set: ENOMEM if the arena or the
 * kernel has no room, EOVERFLOW if @size cannot be rounded up to heap pages,
 * EPERM in a forked child, or the errno of a failed setup (see
 * gcheap_init()).
 */
void *gcheap_malloc(size_t size);

/**
 * gcheap_malloc_atomic() - allocate an object that holds no pointers
 * @size: bytes wanted; 0 gives a unique object of the smallest size
 *
 * As gcheap_malloc(), but the collector never scans the object: use it for
 * strings, numbers and other pointer-free data.
 *
 * Return: as gcheap_malloc().
 */
void *gcheap_malloc_atomic(size_t size);

/**
 * gcheap_calloc() - allocate a zeroed array that may hold pointers
 * @nmemb: number of elements
 * @size: bytes per element
 *
 * As gcheap_malloc(@nmemb * @size), with the product checked for overflow.
 *
 * Return: as gcheap_malloc(); NULL with errno ENOMEM if the product
 * overflows.
 */
void *gcheap_calloc(size_t nmemb, size_t size);

/**
 * gcheap_realloc() - change the size of an object
 * @ptr: base of a live object of the heap, or NULL
 * @size: bytes wanted; 0 is taken as 1, as for gcheap_malloc()
 *
 * If a fresh object of @size bytes would have the same usable size as @ptr,
 * returns @ptr unchanged. Otherwise allocates a new object of the same kind
 * (scan or noscan), copies the contents that fit, frees @ptr and returns the
 * new object; bytes past the old contents are zero. With @ptr NULL it is
 * gcheap_malloc(@size).
 *
 * Return: the object, or NULL with errno set and @ptr left untouched: as
 * gcheap_malloc(), or ENOENT if @ptr is not in a live object, EINVAL if
 * @ptr points inside an object rather than at its base.
 */
void *gcheap_realloc(void *ptr, size_t size);

/**
 * gcheap_free() - free an object explicitly
 * @ptr: base of the object, or NULL (then nothing happens)
 *
 * Freeing is optional: the collector reclaims unreachable objects. An
 * invalid @ptr changes nothing and is reported through errno, which is left
 * untouched on success (set errno to 0 before the call to check): ENOENT if
 * no object holds @ptr (not a heap address, or memory in no span in use),
 * EINVAL if @ptr points inside an object but not at its base, EALREADY if
 * the object at @ptr is already free (double free) or was never handed out,
 * EPERM in a forked child.
 */
void gcheap_free(void *ptr);

/**
 * gcheap_base() - find the object holding an address
 * @ptr: any address; pointers into the middle of an object are fine
 *
 * Return: the base of the live object that holds @ptr, or NULL with errno
 * set: ENOENT if no live object holds it (freed, never allocated, or not a
 * heap address), EPERM in a forked child.
 */
void *gcheap_base(void *ptr);

/**
 * gcheap_size() - usable size of the object holding an address
 * @ptr: any address; pointers into the middle of an object are fine
 *
 * The usable size is the size of the object's slot (for objects over 32 KiB,
 * the size rounded up to 8 KiB): every byte of it may be used.
 *
 * Return: the usable size counted from the object's base, or 0 with errno
 * set as gcheap_base().
 */
size_t gcheap_size(const void *ptr);

/**
 * gcheap_flush_cache() - give the calling thread's cached spans back
 *
 * Objects allocated from a cached span are counted (in the statistics) when
 * the span goes back to the kernel; this makes the calling thread's
 * allocations visible now. It also lets other threads allocate from the
 * spans' remaining free slots. The thread's next allocations refill the
 * cache. Other threads' caches are not touched; a thread's cache is flushed
 * when it exits.
 *
 * Return: 0 on success (also when the heap is not set up yet), -1 with errno
 * set: EPERM in a forked child, or the kernel's errno for a span it refused
 * (that span stays cached).
 */
int gcheap_flush_cache(void);

/**
 * gcheap_heap_stats() - what the heap holds
 * @stats: filled with the heap's totals
 * @classes: filled with one row per size class, class 0 first; may be NULL
 *	if @nclasses is 0
 * @nclasses: rows @classes has room for; the first @nclasses rows are
 *	filled if the heap has more
 *
 * Flushes the calling thread's cache first (gcheap_flush_cache()), so its
 * allocations are counted; spans cached by other threads are counted as
 * @stats->cached_spans, their allocations when they go back. Sets the heap
 * up if needed.
 *
 * Return: the number of size classes of the heap (class 0 included), which
 * may be more than @nclasses; -1 with errno set: EINVAL if @stats is NULL or
 * @classes is NULL with @nclasses not 0, EPERM in a forked child, the errno
 * of a failed setup or of the kernel.
 */
int gcheap_heap_stats(struct gcheap_heap_stats *stats,
		      struct gcheap_size_class_stats *classes,
		      unsigned int nclasses);

/**
 * gcheap_fd() - the file descriptor of the heap's device
 *
 * For raw ioctls of <linux/gcheap.h> on the library's heap (its statistics,
 * for instance). The descriptor belongs to the library: do not close it.
 * Sets the heap up if needed.
 *
 * Return: the descriptor, or -1 with errno set: EPERM in a forked child,
 * the errno of a failed setup, ENODEV if the library's backend has no
 * descriptor (the hosted build).
 */
int gcheap_fd(void);

#ifdef __cplusplus
}
#endif

#endif /* _GCHEAP_H */
