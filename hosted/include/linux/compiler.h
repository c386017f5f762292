/* SPDX-License-Identifier: GPL-2.0 */
/* hosted shim: <linux/compiler.h>: branch hints and single-copy accesses. */
#ifndef _HOSTED_LINUX_COMPILER_H
#define _HOSTED_LINUX_COMPILER_H

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#define noinline	__attribute__((__noinline__))

#define READ_ONCE(x)		(*(const volatile typeof(x) *)&(x))
#define WRITE_ONCE(x, val)	do { *(volatile typeof(x) *)&(x) = (val); } while (0)

/* The kernel's <asm/barrier.h> ordered accesses, over the C11 builtins. */
#define smp_load_acquire(p)	__atomic_load_n(p, __ATOMIC_ACQUIRE)
#define smp_store_release(p, v)	__atomic_store_n(p, v, __ATOMIC_RELEASE)

#endif /* _HOSTED_LINUX_COMPILER_H */
