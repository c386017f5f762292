/* SPDX-License-Identifier: GPL-2.0 */
/* Hosted shim: scheduling points and the current task. */
#ifndef _HOSTED_LINUX_SCHED_H
#define _HOSTED_LINUX_SCHED_H

#include <stdbool.h>

/* There is no task to signal in user space: never a fatal signal. */
#define current			((void *)0)
#define fatal_signal_pending(t)	((void)(t), false)
/* Where the kernel may schedule: a hook for tests (hosted/hosted.h). */
extern void (*hosted_resched_hook)(void);
#define cond_resched()					\
	do {						\
		if (hosted_resched_hook)		\
			hosted_resched_hook();		\
	} while (0)
/* Threads here are the OS's to schedule: never a reason to stop spinning. */
#define need_resched()		false
#define cpu_relax()		__builtin_ia32_pause()

#endif /* _HOSTED_LINUX_SCHED_H */
