/* SPDX-License-Identifier: GPL-2.0 */
/* Hosted shim: single-bit masks. */
#ifndef _HOSTED_LINUX_BITS_H
#define _HOSTED_LINUX_BITS_H

#ifndef BIT
#define BIT(nr)		(1UL << (nr))
#endif
#define BIT_ULL(nr)	(1ULL << (nr))

#endif /* _HOSTED_LINUX_BITS_H */
