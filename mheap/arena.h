/* SPDX-License-Identifier: GPL-2.0 */
/* Kernel-only view of the arena's backing pages (arena.c). */
#ifndef _GCHEAP_MHEAP_ARENA_H
#define _GCHEAP_MHEAP_ARENA_H

#include "mheap.h"

struct page;

struct page *mheap_arena_page(struct mheap *h, unsigned long pgoff, bool alloc);

#endif /* _GCHEAP_MHEAP_ARENA_H */
