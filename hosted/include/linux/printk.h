/* SPDX-License-Identifier: GPL-2.0 */
/* Hosted shim: kernel log lines go to standard error. */
#ifndef _HOSTED_LINUX_PRINTK_H
#define _HOSTED_LINUX_PRINTK_H

#include <stdio.h>

#define pr_info(fmt, ...)	fprintf(stderr, fmt, ##__VA_ARGS__)

#endif /* _HOSTED_LINUX_PRINTK_H */
