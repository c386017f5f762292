/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hosted shim: <linux/mutex.h> over a POSIX mutex. With HOSTED_LOCKDEP the
 * mutex is an error-checking one and every misuse the kernel's
 * CONFIG_DEBUG_MUTEXES and lockdep report is reported here too: locking a
 * mutex the thread already holds (a self-deadlock), unlocking one it does
 * not hold, destroying a held one.
 */
#ifndef _HOSTED_LINUX_MUTEX_H
#define _HOSTED_LINUX_MUTEX_H

#include <pthread.h>
#include <linux/types.h>
#include <linux/bitops.h>	/* the kernel's mutex.h pulls it in too */
#include <linux/lockdep.h>

struct mutex {
	pthread_mutex_t m;
	struct lockdep_map dep_map;
};

void hosted_mutex_init(struct mutex *lock, const char *name);
void hosted_mutex_lock(struct mutex *lock, const char *file, int line,
		       const char *func);
int hosted_mutex_trylock(struct mutex *lock);
void hosted_mutex_unlock(struct mutex *lock, const char *file, int line,
			 const char *func);
void hosted_mutex_destroy(struct mutex *lock, const char *file, int line,
			  const char *func);

#define mutex_init(lock)	hosted_mutex_init(lock, #lock)
#define mutex_lock(lock)	hosted_mutex_lock(lock, __FILE__, __LINE__, __func__)
#define mutex_trylock(lock)	hosted_mutex_trylock(lock)
#define mutex_unlock(lock)	hosted_mutex_unlock(lock, __FILE__, __LINE__, __func__)
#define mutex_destroy(lock)	hosted_mutex_destroy(lock, __FILE__, __LINE__, __func__)

static inline bool mutex_is_locked(struct mutex *lock)
{
	return __atomic_load_n(&lock->dep_map.owner, __ATOMIC_RELAXED) != 0;
}

#endif /* _HOSTED_LINUX_MUTEX_H */
