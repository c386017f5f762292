/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The debugfs files (debugfs.c) and what they need of the device (main.c).
 */
#ifndef _GCHEAP_DEBUGFS_H
#define _GCHEAP_DEBUGFS_H

#include <linux/types.h>

struct dentry;
struct mheap;

/**
 * struct gcheap_heap_info - what debugfs shows of a heap
 * @mh: the heap
 * @pid: the process that opened it (its thread-group id)
 * @dir: its debugfs directory
 */
struct gcheap_heap_info {
	struct mheap *mh;
	pid_t pid;
	struct dentry *dir;
};

/* main.c: call @fn for every open heap, with the heap list locked. */
void gcheap_heaps_each(void (*fn)(struct gcheap_heap_info *hi, void *arg),
		       void *arg);

void gcheap_debugfs_init(void);
void gcheap_debugfs_exit(void);
void gcheap_debugfs_heap_add(struct gcheap_heap_info *hi);
void gcheap_debugfs_heap_remove(struct gcheap_heap_info *hi);

#endif /* _GCHEAP_DEBUGFS_H */
