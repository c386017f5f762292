/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hosted shim: <linux/spinlock.h> over a POSIX spinlock. Only short
 * critical sections without sleeping use it, as in the kernel.
 */
#ifndef _HOSTED_LINUX_SPINLOCK_H
#define _HOSTED_LINUX_SPINLOCK_H

#include <pthread.h>

typedef struct {
	pthread_spinlock_t l;
} spinlock_t;

#define spin_lock_init(lock)	pthread_spin_init(&(lock)->l, PTHREAD_PROCESS_PRIVATE)
#define spin_lock(lock)		pthread_spin_lock(&(lock)->l)
#define spin_unlock(lock)	pthread_spin_unlock(&(lock)->l)

#endif /* _HOSTED_LINUX_SPINLOCK_H */
