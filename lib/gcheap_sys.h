/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/*
 * The backend of libgcheap: one function per heap operation, each taking the
 * uapi struct of <linux/gcheap.h> and returning 0 or a negative errno.
 *
 * gcheap.c (the allocator, fast path and thread caches) reaches the heap only
 * through these. sys_ioctl.c implements them with open(), ioctl() and mmap()
 * on /dev/gcheap; the hosted build implements them by calling the module's
 * mheap code directly in the same process. A backend serves one heap per
 * process.
 *
 * Every function may be called from any thread once gcheap_sys_open() has
 * returned 0; the backend serialises what needs it (the kernel does, for the
 * ioctl backend). Structs are in and out exactly as for the ioctl of the same
 * name: @size set by the caller, output fields written on success.
 */
#ifndef _GCHEAP_SYS_H
#define _GCHEAP_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/gcheap.h>

/**
 * gcheap_sys_open() - create the process's heap (open the device)
 *
 * Return: 0, or -errno of the open (-ENOENT if there is no /dev/gcheap).
 */
int gcheap_sys_open(void);

/**
 * gcheap_sys_api() - GCHEAP_IOC_API
 * @api: in: @size and zeroed fields; out: the module's version and geometry
 *
 * Return: 0 or -errno.
 */
int gcheap_sys_api(struct gcheap_api *api);

/**
 * gcheap_sys_size_classes() - GCHEAP_IOC_SIZE_CLASSES
 * @sc: in: @size, @count and the @table pointer; out: the table and @count
 *
 * Return: 0 or -errno (-ENOSPC with @sc->count set if the table is short).
 */
int gcheap_sys_size_classes(struct gcheap_size_classes *sc);

/**
 * gcheap_sys_map() - map the heap's arena
 * @len: arena length, a multiple of GCHEAP_PAGE_SIZE
 * @base: out: the arena's address, aligned to GCHEAP_PAGE_SIZE (spans and
 *	large objects start on heap pages of the arena, and the library
 *	promises their alignment), with GCHEAP_ARENA_GUARD bytes mapped
 *	inaccessible right below it
 *
 * Return: 0 or -errno of mmap() (-EFBIG, -ENOMEM, ...).
 */
int gcheap_sys_map(size_t len, void **base);

/**
 * gcheap_sys_refill() - GCHEAP_IOC_REFILL
 * @r: the cached span given back and the new span, as the ioctl
 *
 * Return: 0 or -errno; on failure nothing changed.
 */
int gcheap_sys_refill(struct gcheap_refill *r);

/**
 * gcheap_sys_alloc() - GCHEAP_IOC_ALLOC
 * @a: the large object wanted and its address
 *
 * Return: 0 or -errno.
 */
int gcheap_sys_alloc(struct gcheap_alloc *a);

/**
 * gcheap_sys_free() - GCHEAP_IOC_FREE
 * @f: the object to free
 *
 * Return: 0 or -errno (-ENOENT, -EINVAL, -EALREADY for a bad address).
 */
int gcheap_sys_free(struct gcheap_free *f);

/**
 * gcheap_sys_lookup() - GCHEAP_IOC_LOOKUP
 * @l: the address and the object holding it
 *
 * Return: 0 or -errno (-ENOENT if no object holds the address).
 */
int gcheap_sys_lookup(struct gcheap_lookup *l);

/**
 * gcheap_sys_stats() - GCHEAP_IOC_STATS
 * @st: the totals and, through @st->by_class, the per-class table
 *
 * Return: 0 or -errno.
 */
int gcheap_sys_stats(struct gcheap_stats *st);

/**
 * gcheap_sys_roots() - GCHEAP_IOC_ROOTS
 * @r: the range to register or remove
 *
 * Return: 0 or -errno.
 */
int gcheap_sys_roots(struct gcheap_roots *r);

/**
 * gcheap_sys_gc() - GCHEAP_IOC_GC
 * @g: the collection asked for, its roots, and its results
 *
 * Return: 0 or -errno (-EBUSY if a span is still cached).
 */
int gcheap_sys_gc(struct gcheap_gc *g);

/**
 * gcheap_sys_gc_config() - GCHEAP_IOC_GC_CONFIG
 * @c: the settings to change; the old values come back in it
 *
 * Works before the arena is mapped.
 *
 * Return: 0 or -errno.
 */
int gcheap_sys_gc_config(struct gcheap_gc_config *c);

/**
 * gcheap_sys_finalizer() - GCHEAP_IOC_FINALIZER
 * @f: the object and its finalizer (0 to remove it)
 *
 * Return: 0 or -errno.
 */
int gcheap_sys_finalizer(struct gcheap_finalizer *f);

/**
 * gcheap_sys_link() - GCHEAP_IOC_LINK
 * @l: the link and its object, or the link to remove
 *
 * Return: 0 or -errno.
 */
int gcheap_sys_link(struct gcheap_link *l);

/*
 * Inaccessible memory kept below the arena. Without it, another mapping
 * may end where the arena starts, and a pointer to its end (a thread's
 * stack top, kept in many places) would read as a pointer to the arena's
 * first object and keep it alive for ever.
 */
#define GCHEAP_ARENA_GUARD	4096UL

/**
 * gcheap_sys_profile() - GCHEAP_IOC_PROFILE
 * @p: a record to attach, or the buckets to read (@p->count is updated)
 *
 * Return: 0 or -errno.
 */
int gcheap_sys_profile(struct gcheap_profile *p);

/**
 * gcheap_sys_dump() - GCHEAP_IOC_DUMP
 * @d: the buffer; @d->len is updated (the bytes needed, with -ENOSPC)
 *
 * Return: 0 or -errno.
 */
int gcheap_sys_dump(struct gcheap_dump *d);

/**
 * gcheap_sys_read_final() - read records of the finalizer queue
 * @recs: room for @n records
 * @n: at least 1
 * @wait: block until a record is queued; signals are not held up meanwhile
 *	(a collection can stop the waiting thread)
 *
 * Return: records read (at least 1), or -errno: -EAGAIN when none is queued
 * and !@wait, -EINTR.
 */
int gcheap_sys_read_final(struct gcheap_final *recs, unsigned int n,
			  bool wait);

/**
 * gcheap_sys_fd() - the heap's file descriptor
 *
 * Return: the descriptor, or -ENODEV if the backend has none (or the heap is
 * not open).
 */
int gcheap_sys_fd(void);

#endif /* _GCHEAP_SYS_H */
