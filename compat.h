/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-version differences, in one place. gcheap builds on Debian 12's 6.1
 * and on current kernels.
 */
#ifndef _GCHEAP_COMPAT_H
#define _GCHEAP_COMPAT_H

#include <linux/version.h>
#include <linux/mm.h>
#include <linux/sched.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
/* 6.3 made vm_flags read-only and added the setter. */
static inline void gcheap_vm_flags_set(struct vm_area_struct *vma,
				       unsigned long flags)
{
	vma->vm_flags |= flags;
}
#else
static inline void gcheap_vm_flags_set(struct vm_area_struct *vma,
				       vm_flags_t flags)
{
	vm_flags_set(vma, flags);
}
#endif

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 10, 0)
static inline unsigned long
gcheap_mm_get_unmapped_area(struct file *filp, unsigned long addr,
			    unsigned long len, unsigned long pgoff,
			    unsigned long flags)
{
	return current->mm->get_unmapped_area(filp, addr, len, pgoff, flags);
}
#else
/* 6.10 replaced mm->get_unmapped_area with mm_get_unmapped_area(). */
static inline unsigned long
gcheap_mm_get_unmapped_area(struct file *filp, unsigned long addr,
			    unsigned long len, unsigned long pgoff,
			    unsigned long flags)
{
	return mm_get_unmapped_area(current->mm, filp, addr, len, pgoff, flags);
}
#endif

#endif /* _GCHEAP_COMPAT_H */
