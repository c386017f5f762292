/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hosted stand-in for <linux/cpumask.h>: the CPUs online, as the process
 * sees them.
 */
#ifndef _HOSTED_LINUX_CPUMASK_H
#define _HOSTED_LINUX_CPUMASK_H

#include <unistd.h>

static inline unsigned int num_online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? n : 1;
}

#endif /* _HOSTED_LINUX_CPUMASK_H */
