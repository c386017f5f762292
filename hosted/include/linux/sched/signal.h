/* SPDX-License-Identifier: GPL-2.0 */
/* Hosted shim: see linux/sched.h. */
#include <linux/sched.h>
