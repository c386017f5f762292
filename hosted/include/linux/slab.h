/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hosted shim: <linux/slab.h> (kmalloc and kvmalloc families) over the C
 * heap. GFP flags are accepted and ignored, but __GFP_ZERO.
 *
 * What the hosted build checks beyond ASan:
 *  - kfree() of memory from the kvmalloc() family is reported: in the
 *    kernel such memory may come from vmalloc, which kfree() cannot free
 *    (kvfree() takes either kind);
 *  - a zero-sized request returns ZERO_SIZE_PTR, which faults when used;
 *  - objects alive are counted (hosted_slab_live()), so the runner reports
 *    a KUnit case that leaks, as kmemleak would;
 *  - hosted_fail_nth() (or HOSTED_FAIL_NTH=n) makes the n-th allocation
 *    fail, to drive -ENOMEM paths.
 */
#ifndef _HOSTED_LINUX_SLAB_H
#define _HOSTED_LINUX_SLAB_H

#include <stdint.h>
#include <linux/types.h>
#include <hosted/hosted.h>

#define __GFP_ZERO		0x100u
#define __GFP_NOWARN		0x2000u
#define __GFP_RETRY_MAYFAIL	0x4000u
#define __GFP_ACCOUNT		0x400000u
#define GFP_KERNEL		0xcc0u
#define GFP_KERNEL_ACCOUNT	(GFP_KERNEL | __GFP_ACCOUNT)

#define ZERO_SIZE_PTR		((void *)16)
#define ZERO_OR_NULL_PTR(x)	((unsigned long)(x) <= (unsigned long)ZERO_SIZE_PTR)

enum hosted_alloc_kind {
	HOSTED_KMALLOC = 1,
	HOSTED_KVMALLOC,
};

void *hosted_alloc(size_t n, size_t size, gfp_t flags,
		   enum hosted_alloc_kind kind);
void hosted_free(const void *p, enum hosted_alloc_kind kind, const char *file,
		 int line, const char *func);

static inline void *kmalloc(size_t size, gfp_t flags)
{
	return hosted_alloc(1, size, flags, HOSTED_KMALLOC);
}

static inline void *kzalloc(size_t size, gfp_t flags)
{
	return hosted_alloc(1, size, flags | __GFP_ZERO, HOSTED_KMALLOC);
}

static inline void *kmalloc_array(size_t n, size_t size, gfp_t flags)
{
	return hosted_alloc(n, size, flags, HOSTED_KMALLOC);
}

static inline void *kcalloc(size_t n, size_t size, gfp_t flags)
{
	return hosted_alloc(n, size, flags | __GFP_ZERO, HOSTED_KMALLOC);
}

static inline void *kvmalloc(size_t size, gfp_t flags)
{
	return hosted_alloc(1, size, flags, HOSTED_KVMALLOC);
}

static inline void *kvmalloc_array(size_t n, size_t size, gfp_t flags)
{
	return hosted_alloc(n, size, flags, HOSTED_KVMALLOC);
}

static inline void *kvzalloc(size_t size, gfp_t flags)
{
	return hosted_alloc(1, size, flags | __GFP_ZERO, HOSTED_KVMALLOC);
}

static inline void *kvcalloc(size_t n, size_t size, gfp_t flags)
{
	return hosted_alloc(n, size, flags | __GFP_ZERO, HOSTED_KVMALLOC);
}

#define kfree(p)	hosted_free(p, HOSTED_KMALLOC, __FILE__, __LINE__, __func__)
#define kvfree(p)	hosted_free(p, HOSTED_KVMALLOC, __FILE__, __LINE__, __func__)

#endif /* _HOSTED_LINUX_SLAB_H */
