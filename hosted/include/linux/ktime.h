/* SPDX-License-Identifier: GPL-2.0 */
/* Hosted shim: the kernel's clocks over clock_gettime(). */
#ifndef _HOSTED_LINUX_KTIME_H
#define _HOSTED_LINUX_KTIME_H

#include <time.h>
#include <linux/types.h>

static inline u64 hosted_clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

#define ktime_get_ns()		hosted_clock_ns(CLOCK_MONOTONIC)
#define ktime_get_real_ns()	hosted_clock_ns(CLOCK_REALTIME)

#endif /* _HOSTED_LINUX_KTIME_H */
