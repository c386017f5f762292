/* SPDX-License-Identifier: GPL-2.0 */
/* hosted shim: <linux/compiler.h>: branch hints and single-copy accesses. */
#ifndef _HOSTED_LINUX_COMPILER_H
#define _HOSTED_LINUX_COMPILER_H

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

#define READ_ONCE(x)		(*(const volatile typeof(x) *)&(x))
#define WRITE_ONCE(x, val)	do { *(volatile typeof(x) *)&(x) = (val); } while (0)

#endif /* _HOSTED_LINUX_COMPILER_H */
