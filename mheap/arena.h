/* SPDX-License-Identifier: GPL-2.0 */
/* Kernel-only view of the arena's backing pages (arena.c). */
#ifndef _GCHEAP_MHEAP_ARENA_H
#define _GCHEAP_MHEAP_ARENA_H

#include "mheap.h"

struct page;
struct address_space;
struct mm_struct;

struct page *mheap_arena_page(struct mheap *h, unsigned long pgoff, bool alloc);
void mheap_arena_set_mapping(struct mheap *h, struct address_space *mapping,
			     struct mm_struct *mm);

#endif /* _GCHEAP_MHEAP_ARENA_H */
