// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * The ioctl backend of libgcheap: the heap is /dev/gcheap, reached with
 * open(), ioctl() and mmap(). See gcheap_sys.h for the contract.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* preadv2() */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "gcheap_sys.h"

#define GCHEAP_DEVICE	"/dev/gcheap"

/*
 * Written once by gcheap_sys_open() during the library's set-up, which
 * pthread_once() orders before every other call; read-only afterwards.
 */
static int gcheap_devfd = -1;

int gcheap_sys_open(void)
{
	int fd = open(GCHEAP_DEVICE, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	/*
	 * A second open happens only when a forked child redoes a set-up its
	 * parent had not finished; the old descriptor is the parent's heap,
	 * which the child cannot use.
	 */
	if (gcheap_devfd >= 0)
		close(gcheap_devfd);
	gcheap_devfd = fd;
	return 0;
}

static int gcheap_sys_ioctl(unsigned long cmd, void *arg)
{
	if (ioctl(gcheap_devfd, cmd, arg) < 0)
		return -errno;
	return 0;
}

int gcheap_sys_api(struct gcheap_api *api)
{
	return gcheap_sys_ioctl(GCHEAP_IOC_API, api);
}

int gcheap_sys_size_classes(struct gcheap_size_classes *sc)
{
	return gcheap_sys_ioctl(GCHEAP_IOC_SIZE_CLASSES, sc);
}

/*
 * The arena must start on a heap page (8 KiB) so that spans and large
 * objects do; mmap() only promises the CPU's page size. So reserve 8 KiB
 * more address space than needed, map the arena over the aligned part of the
 * reservation (MAP_FIXED only replaces our own reservation), and give back
 * the slop on either side.
 */
int gcheap_sys_map(size_t len, void **base)
{
	size_t slop = GCHEAP_PAGE_SIZE + GCHEAP_ARENA_GUARD;
	uintptr_t start, aligned;
	void *resv, *p;

	if (len > SIZE_MAX - slop)
		return -ENOMEM;
	resv = mmap(NULL, len + slop, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (resv == MAP_FAILED)
		return -errno;
	start = (uintptr_t)resv;
	aligned = (start + GCHEAP_ARENA_GUARD + GCHEAP_PAGE_SIZE - 1) &
		  ~(GCHEAP_PAGE_SIZE - 1);

	p = mmap((void *)aligned, len, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, gcheap_devfd, 0);
	if (p == MAP_FAILED) {
		int err = -errno;

		munmap(resv, len + slop);
		return err;
	}
	/* The guard stays: see GCHEAP_ARENA_GUARD. */
	if (aligned - GCHEAP_ARENA_GUARD > start)
		munmap(resv, aligned - GCHEAP_ARENA_GUARD - start);
	if (start + slop > aligned)
		munmap((void *)(aligned + len), start + slop - aligned);
	*base = p;
	return 0;
}

int gcheap_sys_refill(struct gcheap_refill *r)
{
	return gcheap_sys_ioctl(GCHEAP_IOC_REFILL, r);
}

int gcheap_sys_alloc(struct gcheap_alloc *a)
{
	return gcheap_sys_ioctl(GCHEAP_IOC_ALLOC, a);
}

int gcheap_sys_free(struct gcheap_free *f)
{
	return gcheap_sys_ioctl(GCHEAP_IOC_FREE, f);
}

int gcheap_sys_lookup(struct gcheap_lookup *l)
{
	return gcheap_sys_ioctl(GCHEAP_IOC_LOOKUP, l);
}

int gcheap_sys_stats(struct gcheap_stats *st)
{
	return gcheap_sys_ioctl(GCHEAP_IOC_STATS, st);
}

int gcheap_sys_roots(struct gcheap_roots *r)
{
	return gcheap_sys_ioctl(GCHEAP_IOC_ROOTS, r);
}

int gcheap_sys_gc(struct gcheap_gc *g)
{
	return gcheap_sys_ioctl(GCHEAP_IOC_GC, g);
}

int gcheap_sys_gc_config(struct gcheap_gc_config *c)
{
	return gcheap_sys_ioctl(GCHEAP_IOC_GC_CONFIG, c);
}

int gcheap_sys_finalizer(struct gcheap_finalizer *f)
{
	return gcheap_sys_ioctl(GCHEAP_IOC_FINALIZER, f);
}

int gcheap_sys_link(struct gcheap_link *l)
{
	return gcheap_sys_ioctl(GCHEAP_IOC_LINK, l);
}

int gcheap_sys_profile(struct gcheap_profile *p)
{
	return gcheap_sys_ioctl(GCHEAP_IOC_PROFILE, p);
}

int gcheap_sys_dump(struct gcheap_dump *d)
{
	return gcheap_sys_ioctl(GCHEAP_IOC_DUMP, d);
}

int gcheap_sys_read_final(struct gcheap_final *recs, unsigned int n,
			  bool wait)
{
	struct iovec iov = { .iov_base = recs, .iov_len = n * sizeof(*recs) };
	ssize_t got;

	/* RWF_NOWAIT: this read only, other threads may block on the fd. */
	got = wait ? readv(gcheap_devfd, &iov, 1) :
		     preadv2(gcheap_devfd, &iov, 1, -1, RWF_NOWAIT);
	if (got < 0)
		return -errno;
	return got / sizeof(*recs);
}

int gcheap_sys_fd(void)
{
	return gcheap_devfd >= 0 ? gcheap_devfd : -ENODEV;
}
