/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hosted shim: <linux/overflow.h>. The check_*_overflow() helpers keep the
 * 6.1 kernel's type check: the operands and the result must have one type,
 * else the comparison of distinct pointer types warns.
 */
#ifndef _HOSTED_LINUX_OVERFLOW_H
#define _HOSTED_LINUX_OVERFLOW_H

#include <stdint.h>
#include <linux/types.h>

#define __hosted_check_overflow(op, a, b, d) ({				\
	typeof(a) __hosted_a = (a);					\
	typeof(b) __hosted_b = (b);					\
	typeof(d) __hosted_d = (d);					\
	(void)(&__hosted_a == &__hosted_b);				\
	(void)(&__hosted_a == __hosted_d);				\
	op(__hosted_a, __hosted_b, __hosted_d); })

/* True if @a + @b overflowed the type of *@d; *@d gets the wrapped sum. */
#define check_add_overflow(a, b, d) \
	__hosted_check_overflow(__builtin_add_overflow, a, b, d)
#define check_sub_overflow(a, b, d) \
	__hosted_check_overflow(__builtin_sub_overflow, a, b, d)
#define check_mul_overflow(a, b, d) \
	__hosted_check_overflow(__builtin_mul_overflow, a, b, d)

/* @a * @b, or SIZE_MAX if it overflows (so an allocation of it fails). */
static inline size_t array_size(size_t a, size_t b)
{
	size_t bytes;

	if (check_mul_overflow(a, b, &bytes))
		return SIZE_MAX;
	return bytes;
}

#endif /* _HOSTED_LINUX_OVERFLOW_H */
