/* SPDX-License-Identifier: GPL-2.0 */
/* hosted shim: <linux/container_of.h>. */
#ifndef _HOSTED_LINUX_CONTAINER_OF_H
#define _HOSTED_LINUX_CONTAINER_OF_H

#include <stddef.h>

/* The struct of type @type whose member @member is at @ptr. */
#define container_of(ptr, type, member) ({				\
	void *__hosted_mptr = (void *)(ptr);				\
	_Static_assert(__builtin_types_compatible_p(typeof(*(ptr)),	\
			typeof(((type *)0)->member)) ||			\
		       __builtin_types_compatible_p(typeof(*(ptr)), void), \
		       "container_of(): pointer type mismatch");		\
	((type *)((char *)__hosted_mptr - offsetof(type, member))); })

#endif /* _HOSTED_LINUX_CONTAINER_OF_H */
