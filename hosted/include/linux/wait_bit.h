/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hosted shim: <linux/wait_bit.h>'s waiting on a variable. The waiter
 * yields the CPU until the condition holds; waking is then implicit.
 */
#ifndef _HOSTED_LINUX_WAIT_BIT_H
#define _HOSTED_LINUX_WAIT_BIT_H

#include <sched.h>

#define wait_var_event(var, cond)		\
	do {					\
		(void)(var);			\
		while (!(cond))			\
			sched_yield();		\
	} while (0)
#define wake_up_var(var)	((void)(var))

#endif /* _HOSTED_LINUX_WAIT_BIT_H */
