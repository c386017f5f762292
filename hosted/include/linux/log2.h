/* SPDX-License-Identifier: GPL-2.0 */
/* hosted shim: <linux/log2.h>. */
#ifndef _HOSTED_LINUX_LOG2_H
#define _HOSTED_LINUX_LOG2_H

#include <linux/types.h>

static inline bool is_power_of_2(unsigned long n)
{
	return n != 0 && (n & (n - 1)) == 0;
}

#endif /* _HOSTED_LINUX_LOG2_H */
