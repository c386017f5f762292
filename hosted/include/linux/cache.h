/* SPDX-License-Identifier: GPL-2.0 */
/* hosted shim: <linux/cache.h>, for x86-64's 64-byte cache lines. */
#ifndef _HOSTED_LINUX_CACHE_H
#define _HOSTED_LINUX_CACHE_H

#define L1_CACHE_BYTES			64
#define SMP_CACHE_BYTES			L1_CACHE_BYTES
#define ____cacheline_aligned		__attribute__((__aligned__(SMP_CACHE_BYTES)))
#define ____cacheline_aligned_in_smp	____cacheline_aligned

#endif /* _HOSTED_LINUX_CACHE_H */
