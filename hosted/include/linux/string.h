/* SPDX-License-Identifier: GPL-2.0 */
/* hosted shim: <linux/string.h>. */
#ifndef _HOSTED_LINUX_STRING_H
#define _HOSTED_LINUX_STRING_H

#include <string.h>

#endif /* _HOSTED_LINUX_STRING_H */
