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
#include <linux/shrinker.h>
#include <linux/slab.h>

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

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 7, 0)
/* 6.7 made shrinkers dynamically allocated (shrinker_alloc()). */
static inline struct shrinker *
gcheap_shrinker_register(const char *name,
			 unsigned long (*count)(struct shrinker *,
						struct shrink_control *),
			 unsigned long (*scan)(struct shrinker *,
					       struct shrink_control *))
{
	struct shrinker *s = kzalloc(sizeof(*s), GFP_KERNEL);

	if (!s)
		return NULL;
	s->count_objects = count;
	s->scan_objects = scan;
	s->seeks = DEFAULT_SEEKS;
	if (register_shrinker(s, "%s", name)) {
		kfree(s);
		return NULL;
	}
	return s;
}

static inline void gcheap_shrinker_unregister(struct shrinker *s)
{
	unregister_shrinker(s);
	kfree(s);
}
#else
static inline struct shrinker *
gcheap_shrinker_register(const char *name,
			 unsigned long (*count)(struct shrinker *,
						struct shrink_control *),
			 unsigned long (*scan)(struct shrinker *,
					       struct shrink_control *))
{
	struct shrinker *s = shrinker_alloc(0, "%s", name);

	if (!s)
		return NULL;
	s->count_objects = count;
	s->scan_objects = scan;
	shrinker_register(s);
	return s;
}

static inline void gcheap_shrinker_unregister(struct shrinker *s)
{
	shrinker_free(s);
}
#endif

#endif /* _GCHEAP_COMPAT_H */
