/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-version differences, in one place. gcheap builds on Debian 12's 6.1
 * and on current kernels.
 */
#ifndef _GCHEAP_COMPAT_H
#define _GCHEAP_COMPAT_H

#include <linux/version.h>
#include <linux/mm.h>

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

#endif /* _GCHEAP_COMPAT_H */
