/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hosted shim: <linux/kernel.h> with the pieces of <linux/bug.h>,
 * <linux/minmax.h> and <linux/build_bug.h> that mheap uses.
 *
 * min() and max() keep the 6.1 kernel's strict type check (a comparison of
 * distinct pointer types warns), so a mix of types that would break the
 * module's build on Debian 12 breaks the hosted build as well.
 */
#ifndef _HOSTED_LINUX_KERNEL_H
#define _HOSTED_LINUX_KERNEL_H

#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <linux/types.h>
#include <linux/compiler.h>
#include <linux/container_of.h>
#include <linux/bitops.h>
#include <hosted/hosted.h>

/* ---- limits ---- */

#define U8_MAX		((u8)~0U)
#define U16_MAX		((u16)~0U)
#define U32_MAX		((u32)~0U)
#define U64_MAX		((u64)~0ULL)
#define S64_MAX		((s64)(U64_MAX >> 1))

/* ---- build_bug.h ---- */

/* 0, or a compile error (a negative bit-field width) if @e is true. */
#define BUILD_BUG_ON_ZERO(e)	((int)(sizeof(struct { int:(-!!(e)); })))
#define BUILD_BUG_ON(e)		((void)BUILD_BUG_ON_ZERO(e))

/* static_assert(expr) or static_assert(expr, "message"), as the kernel has it. */
#define static_assert(expr, ...)	__hosted_static_assert(expr, ##__VA_ARGS__, #expr)
#define __hosted_static_assert(expr, msg, ...)	_Static_assert(expr, msg)

/* ---- bug.h ---- */

#define WARN(cond, fmt, ...) ({						\
	bool __hosted_c = !!(cond);					\
	if (unlikely(__hosted_c))					\
		hosted_warn(__FILE__, __LINE__, __func__, fmt, ##__VA_ARGS__); \
	unlikely(__hosted_c);						\
})

#define WARN_ON(cond)	WARN(cond, "WARN_ON(%s)", #cond)

#define WARN_ONCE(cond, fmt, ...) ({					\
	static bool __hosted_warned;					\
	bool __hosted_c = !!(cond);					\
	if (unlikely(__hosted_c) &&					\
	    !__atomic_exchange_n(&__hosted_warned, true, __ATOMIC_RELAXED)) \
		hosted_warn(__FILE__, __LINE__, __func__, fmt, ##__VA_ARGS__); \
	unlikely(__hosted_c);						\
})

#define WARN_ON_ONCE(cond)	WARN_ONCE(cond, "WARN_ON_ONCE(%s)", #cond)

#define BUG()		hosted_bug(__FILE__, __LINE__, __func__, "BUG()")
#define BUG_ON(cond)	do {						\
	if (unlikely(cond))						\
		hosted_bug(__FILE__, __LINE__, __func__, "BUG_ON(%s)", #cond); \
} while (0)

/* ---- minmax.h ---- */

#define __hosted_minmax(x, y, op) ({					\
	typeof(x) __hosted_x = (x);					\
	typeof(y) __hosted_y = (y);					\
	(void)(&__hosted_x == &__hosted_y);				\
	__hosted_x op __hosted_y ? __hosted_x : __hosted_y; })

#define min(x, y)	__hosted_minmax(x, y, <)
#define max(x, y)	__hosted_minmax(x, y, >)
#define min_t(type, x, y)	__hosted_minmax((type)(x), (type)(y), <)
#define max_t(type, x, y)	__hosted_minmax((type)(x), (type)(y), >)
#define min3(x, y, z)	min(min(x, y), z)
#define clamp_t(type, v, lo, hi)	min_t(type, max_t(type, v, lo), hi)

/* ---- the rest of kernel.h ---- */

#define __hosted_must_be_array(a)					\
	BUILD_BUG_ON_ZERO(__builtin_types_compatible_p(typeof(a), typeof(&(a)[0])))
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]) + __hosted_must_be_array(a))

#define DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))

#define offsetofend(type, member) \
	(offsetof(type, member) + sizeof(((type *)0)->member))

#endif /* _HOSTED_LINUX_KERNEL_H */
