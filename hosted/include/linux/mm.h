/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hosted shim: <linux/mm.h>. pageheap.c takes kvcalloc()/kvfree() from it;
 * the base page geometry is x86-64's.
 */
#ifndef _HOSTED_LINUX_MM_H
#define _HOSTED_LINUX_MM_H

#include <linux/types.h>
#include <linux/slab.h>

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)
#define PAGE_MASK	(~(PAGE_SIZE - 1))

#endif /* _HOSTED_LINUX_MM_H */
