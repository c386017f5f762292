/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _HOSTED_MHEAP_CHECK_H
#define _HOSTED_MHEAP_CHECK_H

#include <stddef.h>

struct mheap;

/**
 * hosted_mheap_check() - check a heap's metadata (mheap_check.c)
 * @h: the heap; takes mheap.lock
 * @why: where the first violation found is described
 * @len: size of @why
 *
 * Return: the number of violations found, 0 for a sound heap.
 */
int hosted_mheap_check(struct mheap *h, char *why, size_t len);

#endif /* _HOSTED_MHEAP_CHECK_H */
