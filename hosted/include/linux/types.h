/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hosted shim: <linux/types.h>. The system's uapi header supplies the
 * __u32 / __aligned_u64 family that the ABI header uses; the kernel-internal
 * names are added on top, with the widths the kernel uses on x86-64 (u64 is
 * unsigned long long, as in the kernel, so format strings and the min() type
 * check behave the same).
 */
#ifndef _HOSTED_LINUX_TYPES_H
#define _HOSTED_LINUX_TYPES_H

#include_next <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s8 s8;
typedef __s16 s16;
typedef __s32 s32;
typedef __s64 s64;

typedef unsigned int gfp_t;

/* As in the kernel, BITS_TO_LONGS() comes from <linux/bitops.h>. */
#define DECLARE_BITMAP(name, bits)	unsigned long name[BITS_TO_LONGS(bits)]

/* The kernel defines the list node here, not in <linux/list.h>. */
struct list_head {
	struct list_head *next, *prev;
};

#endif /* _HOSTED_LINUX_TYPES_H */
