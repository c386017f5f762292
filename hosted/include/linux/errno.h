/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hosted shim: <linux/errno.h>. The system's uapi header has the values
 * (the C library's <errno.h> reaches them through this very name, hence
 * include_next).
 */
#ifndef _HOSTED_LINUX_ERRNO_H
#define _HOSTED_LINUX_ERRNO_H

#include_next <linux/errno.h>

#endif /* _HOSTED_LINUX_ERRNO_H */
