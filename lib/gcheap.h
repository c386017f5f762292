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
 * Garbage collection: objects no longer reachable are reclaimed by the
 * kernel's collector, automatically when the heap has grown by GOGC percent
 * (gcheap_set_gc_percent(), default 100) over what the last collection found
 * live, or on request (gcheap_gc()). The collector is conservative: any
 * word that looks like a pointer into an object (its base or its interior)
 * keeps it. What it reads as roots:
 *  - the program's data and bss, and those of every shared object loaded at
 *    gcheap_init() (registered then; add later ones with gcheap_add_roots());
 *  - the stacks, registers and static TLS of every thread registered with
 *    the heap. A thread registers itself when it first allocates, or with
 *    gcheap_register_thread(); with the shared library, threads made with
 *    pthread_create() register when they start (in a static program, link
 *    with -Wl,--wrap=pthread_create for the same);
 *  - ranges registered with gcheap_add_roots().
 * Memory of malloc(), mmap() and other allocators is NOT scanned: a pointer
 * kept only there does not keep its object alive.
 *
 * To stop the world for a collection, the library sends its registered
 * threads a signal (SIGPWR to stop, SIGXCPU to resume by default; see
 * struct gcheap_options). A registered thread must not block these signals
 * for long; a thread blocked in a system call does not hold a collection
 * up: the handler runs and the call is restarted (SA_RESTART), except for
 * the calls the kernel never restarts after a handler (poll(), select(),
 * epoll_wait(), nanosleep() and others, see signal(7)), which may then fail
 * with EINTR, as with any signal handler.
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
#include <stdio.h>

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
 * @sig_suspend: the signal that stops a thread for a collection. 0 picks
 *	the environment variable GCHEAP_SIG_SUSPEND if set (a number, or a
 *	name such as SIGUSR1), else SIGPWR.
 * @sig_resume: the signal that lets it go on. 0 picks GCHEAP_SIG_RESUME if
 *	set, else SIGXCPU. The two must differ, and be neither SIGKILL,
 *	SIGSTOP, nor a signal the kernel raises for a faulting instruction
 *	(SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP).
 *
 * The library takes the two signals over when the heap is set up. A stop
 * signal that does not come from the library goes to the handler that was
 * installed before, or gets the signal's default action; so does a resume
 * signal that finds no thread stopped. The program must not install
 * handlers of its own for them afterwards.
 *
 * Other environment variables read at set-up: GCHEAP_GOGC (as
 * gcheap_set_gc_percent(): a percent, or "off"), GCHEAP_GCTRACE (1 for
 * gcheap_set_gctrace(1)), GCHEAP_GC_MODE ("concurrent", the default:
 * automatic collections mark beside the program, with two short pauses
 * that stop the world, one to start and one to finish; "stw": each stops
 * the world for its whole mark).
 */
struct gcheap_options {
	size_t size;
	size_t arena_size;
	int sig_suspend;
	int sig_resume;
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
 * module's size-class table is malformed, EINVAL if GCHEAP_ARENA_SIZE,
 * GCHEAP_GOGC, GCHEAP_GCTRACE, GCHEAP_GC_MODE, GCHEAP_MEMLIMIT,
 * GCHEAP_HARDLIMIT or a signal (option or environment) is not valid, EFBIG if the arena asked for is larger than the module allows,
 * ENOMEM if the address space for the arena cannot be had, ENOSPC if the
 * program has more data segments than the kernel registers as roots, EPERM
 * in a child forked after the parent set its heap up.
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
 * up (by an allocation, or another gcheap_init*() call), the errno of that
 * set-up if it failed (a failed set-up is final, see gcheap_init()), EINVAL
 * if @opts->size is smaller than the first version of the struct, E2BIG if
 * it is larger than this library's struct and the extra bytes are not zero
 * (these two are found before any set-up, and are not final), otherwise as
 * gcheap_init().
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
 *
 * An object freed by another thread than the one that allocated it, while
 * that thread still allocates from the object's span, loses its finalizer,
 * cleanups and the disappearing links it holds at once, but its memory is
 * freed by the first collection that finds it unreachable: the kernel cannot
 * tell it from a slot that thread has not handed out yet, and freeing such
 * a slot (a double free) must not free the object put there next.
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

/* ================ Finalizers ================ */

/**
 * typedef gcheap_finalizer_fn - a finalizer: called with the object it was
 *	set on and the argument given with it
 */
typedef void (*gcheap_finalizer_fn)(void *obj, void *arg);

/**
 * gcheap_register_finalizer() - set or remove an object's finalizer
 * @obj: the start of an object of the heap
 * @fn: its finalizer; NULL removes the one it has
 * @arg: passed to @fn
 *
 * Go's runtime.SetFinalizer. When a collection finds @obj unreachable, it
 * queues @fn, and @obj, with everything it references, stays allocated
 * until @fn has run and a later collection finds @obj unreachable again:
 * @fn may use it, and may make it reachable again (resurrection). @fn runs
 * once; to run again, it sets a finalizer anew. Objects in a cycle that
 * passes through an object with a finalizer (an object referencing itself,
 * too) are never finalized nor freed, as in Go (bdwgc instead finalizes
 * them in no defined order). gcheap_free() of the object removes its
 * finalizer.
 *
 * Finalizers run on a thread of the library's, started with the first
 * finalizer set, unless the environment variable GCHEAP_FINALIZER_THREAD is
 * 0: then only gcheap_run_finalizers() runs them. The heap's fd
 * (gcheap_fd()) is readable, for poll() and epoll, while finalizers are
 * queued.
 *
 * Return: 0, or -1 with errno set: EINVAL (@obj inside an object, not at
 * its start), ENOENT (@obj is not an allocated object of the heap, or @fn
 * is NULL and @obj has no finalizer), EEXIST (@obj has a finalizer; remove
 * it first), ENOMEM, EPERM (a forked child), the errno of a failed set-up.
 */
int gcheap_register_finalizer(void *obj, gcheap_finalizer_fn fn, void *arg);

/**
 * typedef gcheap_cleanup_fn - a cleanup: called with the argument given
 *	with it, after its object was freed
 */
typedef void (*gcheap_cleanup_fn)(void *arg);

/**
 * gcheap_add_cleanup() - run a function once an object has been freed
 * @obj: the start of an object of the heap
 * @fn: the cleanup; not NULL
 * @arg: passed to @fn; it must not be @obj or reach it, or the object
 *	never becomes unreachable
 *
 * Go 1.24's runtime.AddCleanup: an object has any number of cleanups; they
 * keep nothing alive and never see the object, which is freed by the time
 * they run, each once, in the order they were added, on the same thread as
 * finalizers (see gcheap_register_finalizer()). An object with a finalizer
 * is finalized first. gcheap_free() of the object drops its cleanups.
 *
 * Return: 0, or -1 with errno set: EINVAL (@fn NULL, or @obj inside an
 * object), ENOENT (@obj is not an allocated object of the heap), ENOMEM,
 * EPERM (a forked child), the errno of a failed set-up.
 */
int gcheap_add_cleanup(void *obj, gcheap_cleanup_fn fn, void *arg);

/**
 * gcheap_run_finalizers() - run the finalizers and cleanups queued so far,
 *	in the calling thread
 *
 * For programs that run finalizers themselves (GCHEAP_FINALIZER_THREAD=0),
 * when they like, or when gcheap_fd() polls readable. Safe beside the
 * library's thread: each queued finalizer runs once, in one thread.
 *
 * Return: finalizers and cleanups run (0 if none was queued), or -1 with
 * errno set.
 */
int gcheap_run_finalizers(void);

/* ================ Weak references ================ */

/**
 * gcheap_register_disappearing_link() - clear a pointer once its object dies
 * @link: a pointer-sized word, in an object of the heap or in registered
 *	root memory (the data and bss, or gcheap_add_roots()); not on a stack
 * @obj: the start of an object of the heap
 *
 * bdwgc's GC_general_register_disappearing_link(): once a collection finds
 * @obj unreachable, the kernel writes NULL to @link. The word at @link is
 * scanned as any other, so a weak link lies in memory from
 * gcheap_malloc_atomic() or holds the pointer disguised (a root's word
 * always is scanned); gcheap_weak_make() does the former. Links are cleared before finalizers are queued, so a
 * finalizer that resurrects @obj finds its links cleared (as Go's weak
 * pointers). The registration is dropped with the object holding @link,
 * and with @obj if it is freed explicitly (@link is then left as it is).
 *
 * Return: 0, or -1 with errno set: EINVAL (@link misaligned, or neither in
 * an object of the heap nor in root memory; @obj inside an object), ENOENT
 * (@obj is not an allocated object), EEXIST (@link is registered already),
 * ENOMEM, EPERM (a forked child).
 */
int gcheap_register_disappearing_link(void **link, void *obj);

/**
 * gcheap_unregister_disappearing_link() - forget a link's registration
 * @link: as registered
 *
 * Return: 0, or -1 with errno set: ENOENT (@link is not registered),
 * EINVAL, EPERM.
 */
int gcheap_unregister_disappearing_link(void **link);

/**
 * typedef gcheap_weak_t - a weak pointer (Go's weak.Pointer): an object of
 *	the heap the program holds like any other
 */
typedef struct gcheap_weak gcheap_weak_t;

/**
 * gcheap_weak_make() - make a weak pointer to an object
 * @obj: the start of an object of the heap
 *
 * Return: the weak pointer, a small object of the heap (collected when the
 * program drops it), or NULL with errno set as
 * gcheap_register_disappearing_link() does, or ENOMEM.
 */
gcheap_weak_t *gcheap_weak_make(void *obj);

/**
 * gcheap_weak_get() - the object of a weak pointer
 * @w: from gcheap_weak_make()
 *
 * Return: the object, now held strongly by the caller, or NULL once a
 * collection found it unreachable. An object freed explicitly with
 * gcheap_free() is not cleared (its link goes with it, see
 * gcheap_register_disappearing_link()): its address stays, and may name
 * whatever is allocated there next; do not free what weak pointers name.
 */
void *gcheap_weak_get(gcheap_weak_t *w);

/* ================ Heap profile ================ */

/* The default sampling rate: one sample per 512 KiB allocated, as in Go. */
#define GCHEAP_PROFILE_RATE_DEFAULT	(512 * 1024)

/**
 * gcheap_set_profile_rate() - set the heap profile's sampling rate (Go's
 *	runtime.MemProfileRate)
 * @rate: bytes allocated per sample, on average; 0 turns sampling off, 1
 *	samples every allocation
 *
 * Allocations are sampled at random, exponentially distributed intervals of
 * @rate bytes on average, per thread; the countdown costs the allocation
 * fast path nothing. A sampled allocation's call stack (32 frames at most,
 * the library's own left out) is recorded, and the kernel attaches a profile
 * record to the object, which counts the object's free when a collection's
 * sweep or gcheap_free() frees it. The environment variable
 * GCHEAP_PROFILE_RATE (bytes, with an optional K, M, G or T suffix) sets the
 * rate at the heap's set-up; a value that does not parse is ignored. The calling thread samples at the new rate
 * from its next allocation, other threads within 64 allocations of each
 * size they allocate. Set it early: objects allocated before sampling was
 * on are missing from the profile. With a module that keeps no profile
 * records, the rate stays 0.
 *
 * Return: the previous rate.
 */
size_t gcheap_set_profile_rate(size_t rate);

/**
 * gcheap_get_profile_rate() - the heap profile's sampling rate
 *
 * Return: bytes per sample; 0 when sampling is off.
 */
size_t gcheap_get_profile_rate(void);

/**
 * gcheap_write_heap_profile() - write the heap profile
 * @f: where to
 *
 * Writes the sampled allocations per call stack, in the legacy text heap
 * profile format (gperftools' heap profiler's, and Go's runtime/pprof's with
 * debug=1), which pprof reads (go tool pprof -text program profile, or
 * gperftools' google-pprof --text program profile), followed by the
 * process's memory map:
 *
 *   heap profile: I: IB [A: AB] @ heap_v2/R
 *   i: ib [a: ab] @ 0xpc1 0xpc2 ...
 *   #	0xpc1	function+0xoff	object file
 *   ...
 *   MAPPED_LIBRARIES:
 *   (the contents of /proc/self/maps)
 *
 * For each call stack: i and ib, sampled objects and bytes still allocated;
 * a and ab, sampled objects and bytes allocated since sampling began. The
 * first line has their totals and R, the rate. Counts are of samples, not
 * scaled: pprof scales them by the rate. Stacks are return addresses,
 * innermost first, most bytes in use first; symbols are those dladdr()
 * finds (link with -rdynamic to name the program's own functions). An
 * object is counted as freed once a collection has swept it (or it was
 * freed), so objects unreachable but not swept yet count as in use.
 * Sets the heap up if needed.
 *
 * Return: 0, or -1 with errno set: EINVAL (@f is NULL), EIO (writing to @f
 * failed), ENOMEM, EPERM in a forked child, the errno of a failed setup.
 */
int gcheap_write_heap_profile(FILE *f);

/* ================ Heap dumps ================ */

/**
 * gcheap_dump_heap() - a dump of the heap (GCHEAP_IOC_DUMP's format, in
 *	uapi/linux/gcheap.h: spans, objects and the pointers between them,
 *	roots, specials, statistics)
 * @buf: where to, or NULL to learn the size
 * @len: in: bytes at @buf; out: bytes written, or with ENOSPC the bytes a
 *	dump needs now
 *
 * The calling thread's cache is given back first, so its objects are in
 * the dump; other threads' cached spans show the objects the heap counted.
 * tools/gcheap-dump reads dumps. Sets the heap up if needed.
 *
 * Return: 0, or -1 with errno set: ENOSPC (@buf NULL or short: *@len says
 * what is needed), EFAULT, EINVAL (@len NULL), ENOMEM, EBUSY (other threads
 * wrote pointers faster than a dump could be taken: try again), EPERM in a
 * forked child, the errno of a failed setup.
 */
int gcheap_dump_heap(void *buf, size_t *len);

/**
 * gcheap_write_heap_dump() - write a dump of the heap to a stream
 * @f: where to
 *
 * Return: 0, or -1 with errno set: EINVAL (@f NULL), EIO (writing failed),
 * and those of gcheap_dump_heap().
 */
int gcheap_write_heap_dump(FILE *f);

/* ================ Garbage collection ================ */

/**
 * gcheap_gc() - run a full collection now
 *
 * Stops every other registered thread, gives every thread's cached spans
 * back to the kernel, has the kernel mark what is reachable from the roots
 * (see the top of this header) and sweep the rest, and lets the threads go
 * on. Unreachable objects are freed and their memory reused. One collection
 * runs at a time: a second caller waits for the first to finish, then
 * collects again. Registers the calling thread if it is not. Sets the heap
 * up if needed.
 *
 * Return: 0 on success, -1 with errno set: EPERM in a forked child, the
 * errno of a failed setup, E2BIG if the threads' stacks and TLS make more
 * root ranges (GCHEAP_MAX_ROOTS) or bytes (GCHEAP_MAX_ROOT_BYTES) than a
 * collection reads, EBUSY if a span is still cached by a thread the
 * library cannot reach (an unregistered thread that allocated through the
 * raw ioctls), ENOMEM, or the errno of pthread_getattr_np() when the
 * calling thread's stack cannot be found.
 */
int gcheap_gc(void);

/**
 * gcheap_gc_lazy() - run a collection, leaving the sweep for later
 *
 * As gcheap_gc(), but the kernel only marks: the pause is shorter, and the
 * unreachable objects are swept by a kernel worker in the background and by
 * the allocations that need their memory (Go's lazy sweeping). The
 * statistics count them as allocated until then.
 *
 * Return: as gcheap_gc().
 */
int gcheap_gc_lazy(void);

/* ================ Returning memory and limits ================ */

/*
 * Memory the heap holds is its spans in use and its free spans whose memory
 * was not given back yet. The kernel gives free spans' memory back (their
 * pages freed, so RSS and the memory cgroup's memory.current drop; a later
 * allocation there gets fresh zeroed pages):
 *  - in the background: a scavenger looks scavenge_delay_ms (a module
 *    parameter, 1000 by default) after a call that left the heap holding
 *    idle memory, and every half of that while it still does; each look
 *    returns the empty spans of the size classes to the page heap and
 *    gives back the memory of the spans free for scavenge_delay_ms or
 *    longer, so idle memory goes within about 2.5 times the delay, and a
 *    program that frees and allocates again at once keeps its memory;
 *  - at once, past 15/16 of the soft limit, and to make room under the hard
 *    limits;
 *  - under memory pressure (the kernel's shrinker), which also asks for a
 *    collection at the next allocation, unless automatic collections are
 *    off (gcheap_set_gc_percent(-1) with no soft limit: none runs, as
 *    with Go's GOGC=off);
 *  - on request, gcheap_free_os_memory().
 * A span's memory is allocated when the span is taken, charged to the
 * process's memory cgroup: at the cgroup's memory.max, or past a hard limit,
 * the allocation returns NULL (errno ENOMEM) after one collection tried to
 * make room, and the heap stays usable.
 */

/**
 * gcheap_free_os_memory() - collect, and give back all free memory (Go's
 *	debug.FreeOSMemory)
 *
 * A full collection (gcheap_gc()), then the memory of every free span goes
 * back to the kernel.
 *
 * Return: as gcheap_gc().
 */
int gcheap_free_os_memory(void);

/**
 * gcheap_set_memory_limit() - set the heap's soft memory limit (Go's
 *	debug.SetMemoryLimit and GOMEMLIMIT)
 * @bytes: the limit, rounded down to whole heap pages of 8 KiB (one page
 *	at least); 0 for none (the default); negative: only read it
 *
 * Past 15/16 of the limit, free memory is given back at once, and
 * collections come when the heap's objects reach 15/16 of it, whatever the
 * GOGC percent (off included), though never before the heap has grown by
 * 1/16 of its live heap (at least 1 MiB) since the last collection: a live
 * heap larger than the limit makes the heap exceed it, as in Go. The
 * environment variable GCHEAP_MEMLIMIT (bytes, with an optional K, M, G or
 * T suffix) sets it at set-up. Sets the heap up if needed.
 *
 * Return: the previous limit, or -1 with errno set: EPERM in a forked
 * child, the errno of a failed setup.
 */
int64_t gcheap_set_memory_limit(int64_t bytes);

/**
 * gcheap_set_hard_limit() - set the heap's hard memory limit
 * @bytes: the limit, rounded as for gcheap_set_memory_limit(); 0 for none
 *	(the default); negative: only read it
 *
 * An allocation that would take the heap's memory past the limit, once
 * free memory was given back and one collection made what room it could,
 * returns NULL with errno ENOMEM; nothing else fails, and allocations that
 * fit still succeed. Lowering the limit below what the heap holds gives
 * free memory back and fails further growth; it frees no object. The
 * environment variable GCHEAP_HARDLIMIT sets it at set-up; the module
 * parameter limit_mb bounds all heaps together. Sets the heap up if needed.
 *
 * Return: the previous limit, or -1 with errno set, as
 * gcheap_set_memory_limit().
 */
int64_t gcheap_set_hard_limit(int64_t bytes);

/**
 * gcheap_add_roots() - scan a range of memory for pointers at collections
 * @lo: first byte
 * @hi: one past the last byte
 *
 * For memory the collector does not read by itself: malloc()ed or mmap()ed
 * tables holding pointers to heap objects, data of a library dlopen()ed
 * after gcheap_init(). Every aligned 8-byte word of the range is read at
 * each collection (parts that are not readable then read as zero). Sets the
 * heap up if needed.
 *
 * Return: 0 on success, -1 with errno set: EINVAL if @lo >= @hi or the range
 * is not user memory, ENOSPC if the kernel registers no more ranges
 * (GCHEAP_MAX_ROOTS, the program's data segments included), EPERM in a
 * forked child, the errno of a failed setup.
 */
int gcheap_add_roots(void *lo, void *hi);

/**
 * gcheap_remove_roots() - stop scanning registered ranges
 * @lo: first byte
 * @hi: one past the last byte
 *
 * Removes every range registered with gcheap_add_roots() (or by the library
 * at set-up) that lies entirely within [@lo, @hi), as bdwgc's
 * GC_remove_roots() does. Do it before freeing or unmapping the memory.
 *
 * Return: 0 on success, -1 with errno set: ENOENT if no registered range
 * lies within [@lo, @hi), EINVAL if @lo >= @hi, EPERM in a forked child, the
 * errno of a failed setup.
 */
int gcheap_remove_roots(void *lo, void *hi);

/**
 * gcheap_register_thread() - make the calling thread's stack a root
 *
 * A thread is registered automatically when it first allocates from the
 * heap (and, with the shared library, when it starts); a thread that holds
 * pointers to heap objects without ever allocating must register itself,
 * or the collector does not see its stack and registers. Registered threads
 * are stopped by collections (see the top of this header). A thread leaves
 * the registry when it exits. Calling it again does nothing. Sets the heap
 * up if needed.
 *
 * Return: 0 on success, -1 with errno set: EPERM in a forked child, the
 * errno of a failed setup, ENOMEM, or the errno of pthread_getattr_np().
 */
int gcheap_register_thread(void);

/**
 * gcheap_unregister_thread() - leave the thread registry
 *
 * Gives the calling thread's cached spans back and stops scanning its
 * stack: for a thread that will hold no heap pointers for a while and wants
 * no stop signals (before blocking them, for instance). Its next allocation
 * registers it again. Does nothing if the thread is not registered.
 *
 * Return: 0 on success, -1 with errno set: EPERM in a forked child, the
 * kernel's errno for a span it refused (the thread stays registered).
 */
int gcheap_unregister_thread(void);

/**
 * gcheap_set_gc_percent() - set GOGC, the pace of automatic collections
 * @percent: a collection is due when the heap has grown by @percent over
 *	what the last collection found live (and is at least 4 MiB, and above
 *	what it found live by twice the most the threads' caches held since
 *	the collection before); -1 turns automatic collections off (Go's
 *	GOGC=off). At set-up the value is the environment variable
 *	GCHEAP_GOGC if set, else 100.
 *
 * As Go's debug.SetGCPercent(). The thread whose allocation finds a
 * collection due runs it before the allocation returns.
 *
 * Return: the previous value (-1 for off); -2 with errno set on failure:
 * EINVAL if @percent < -1, EPERM in a forked child, the errno of a failed
 * setup.
 */
int gcheap_set_gc_percent(int percent);

/**
 * gcheap_set_gctrace() - print a line per collection in the kernel log
 * @on: 1 to print, 0 not to
 *
 * The line has the format of Go's GODEBUG=gctrace=1 and goes to the kernel
 * log (dmesg), prefixed with "gcheap: ".
 *
 * Return: the previous value (0 or 1), or -1 with errno set: EINVAL if @on
 * is neither 0 nor 1, EPERM in a forked child, the errno of a failed setup.
 */
int gcheap_set_gctrace(int on);

/* Entries of gcheap_memstats.by_size: one per size class of the module. */
#define GCHEAP_MEMSTATS_NUM_SIZES	68
/* Entries of the pause rings of gcheap_memstats. */
#define GCHEAP_MEMSTATS_NUM_PAUSES	256

/**
 * struct gcheap_memstats - the heap's statistics, as Go's runtime.MemStats
 * @alloc: bytes of allocated objects (= @heap_alloc)
 * @total_alloc: bytes allocated in all, freed or not
 * @sys: bytes of the arena the heap has grown into (= @heap_sys; the
 *	kernel's metadata is not counted)
 * @mallocs: objects allocated in all
 * @frees: objects freed in all, explicitly or by the collector
 * @heap_alloc: bytes of allocated objects: reachable ones and those no
 *	collection has freed yet
 * @heap_sys: bytes of the arena the heap has grown into
 * @heap_idle: bytes in free spans (back in the page heap)
 * @heap_inuse: bytes in spans in use: holding objects, or empty but kept by
 *	their size class for reuse until the scavenger or a release takes them
 * @heap_released: bytes of idle spans no memory backs: never used, or
 *	given back by the scavenger (@heap_idle - @heap_released is idle
 *	memory the heap still holds)
 * @heap_objects: allocated objects, always @mallocs - @frees
 * @next_gc: @heap_alloc at which the next automatic collection is due
 *	(UINT64_MAX when automatic collections are off)
 * @last_gc: end of the last collection, ns since the Epoch (0: none yet)
 * @pause_total_ns: stop-the-world time of all collections
 * @pause_ns: stop-the-world time of the most recent collections, a ring:
 *	the last one is at [(@num_gc + 255) % 256]
 * @pause_end: when each of those pauses ended, ns since the Epoch
 * @num_gc: collections completed
 * @gc_cpu_fraction: share of the CPU time available since the heap was
 *	set up (wall time x online CPUs) that the collector used
 * @by_size: per size class: its slot size (0 for entry 0, which counts the
 *	objects over 32 KiB), objects allocated and freed
 *
 * Objects a thread allocates from its cached spans are counted when the
 * span goes back to the kernel: gcheap_get_stats() gives the calling
 * thread's back first; other threads' go back at their next refill, at a
 * collection, or when they exit.
 */
struct gcheap_memstats {
	uint64_t alloc;
	uint64_t total_alloc;
	uint64_t sys;
	uint64_t mallocs;
	uint64_t frees;
	uint64_t heap_alloc;
	uint64_t heap_sys;
	uint64_t heap_idle;
	uint64_t heap_inuse;
	uint64_t heap_released;
	uint64_t heap_objects;
	uint64_t next_gc;
	uint64_t last_gc;
	uint64_t pause_total_ns;
	uint64_t pause_ns[GCHEAP_MEMSTATS_NUM_PAUSES];
	uint64_t pause_end[GCHEAP_MEMSTATS_NUM_PAUSES];
	uint64_t num_gc;
	double gc_cpu_fraction;
	struct {
		uint32_t size;
		uint64_t mallocs;
		uint64_t frees;
	} by_size[GCHEAP_MEMSTATS_NUM_SIZES];
};

/**
 * gcheap_get_stats() - read the heap's statistics
 * @ms: filled in
 *
 * As Go's runtime.ReadMemStats(), without stopping the world. Flushes the
 * calling thread's cache first (gcheap_flush_cache()). Sets the heap up if
 * needed.
 *
 * Return: 0 on success, -1 with errno set: EINVAL if @ms is NULL, EPERM in a
 * forked child, the errno of a failed setup or of the kernel.
 */
int gcheap_get_stats(struct gcheap_memstats *ms);

#ifdef __cplusplus
}
#endif

#endif /* _GCHEAP_H */
