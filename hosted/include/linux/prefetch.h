/* SPDX-License-Identifier: GPL-2.0 */
/* hosted shim: <linux/prefetch.h> */
#ifndef _HOSTED_LINUX_PREFETCH_H
#define _HOSTED_LINUX_PREFETCH_H

#define prefetch(x)	__builtin_prefetch(x)

#endif /* _HOSTED_LINUX_PREFETCH_H */
