/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hosted shim: <linux/lockdep.h>. Each lock embeds a struct lockdep_map, as
 * in the kernel, that records which thread holds it; lockdep_assert_held()
 * checks that the calling thread is that holder and warns (a counted
 * warning, which fails the KUnit case) if it is not. With HOSTED_LOCKDEP 0
 * the checks compile to nothing, as in a kernel without lockdep.
 */
#ifndef _HOSTED_LINUX_LOCKDEP_H
#define _HOSTED_LINUX_LOCKDEP_H

#include <linux/types.h>
#include <hosted/hosted.h>

/**
 * struct lockdep_map - the lock-debugging state of one lock
 * @name: the lock's name as written at its init
 * @owner: hosted thread id of the holder, 0 if free (atomic accesses)
 */
struct lockdep_map {
	const char *name;
	unsigned long owner;
};

void hosted_lockdep_acquired(struct lockdep_map *map);
void hosted_lockdep_released(struct lockdep_map *map, const char *file,
			     int line, const char *func);
bool hosted_lockdep_held_by_me(const struct lockdep_map *map);
void hosted_lockdep_not_held(const struct lockdep_map *map, const char *file,
			     int line, const char *func);

#if HOSTED_LOCKDEP
#define lockdep_is_held(l)	hosted_lockdep_held_by_me(&(l)->dep_map)
#define lockdep_assert_held(l) do {					\
	if (!lockdep_is_held(l))					\
		hosted_lockdep_not_held(&(l)->dep_map, __FILE__, __LINE__, \
					__func__);			\
} while (0)
#else
#define lockdep_is_held(l)	((void)(l), true)
#define lockdep_assert_held(l)	do { (void)(l); } while (0)
#endif

#endif /* _HOSTED_LINUX_LOCKDEP_H */
