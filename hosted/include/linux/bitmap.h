/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hosted shim: <linux/bitmap.h>, the operations mheap uses, with the
 * kernel's semantics for the bits past @nbits in the last word:
 *  - bitmap_zero() and bitmap_complement() work on whole words, so
 *    bitmap_complement() sets the tail bits of the last word;
 *  - bitmap_clear() touches exactly the bits asked for;
 *  - bitmap_weight() counts only the bits below @nbits.
 */
#ifndef _HOSTED_LINUX_BITMAP_H
#define _HOSTED_LINUX_BITMAP_H

#include <string.h>
#include <linux/types.h>
#include <linux/bitops.h>

/* The bits of the last word that are part of an @nbits-bit map. */
#define BITMAP_LAST_WORD_MASK(nbits)	(~0UL >> (-(nbits) & (BITS_PER_LONG - 1)))

static inline void bitmap_zero(unsigned long *dst, unsigned int nbits)
{
	memset(dst, 0, BITS_TO_LONGS(nbits) * sizeof(unsigned long));
}

static inline void bitmap_copy(unsigned long *dst, const unsigned long *src,
			       unsigned int nbits)
{
	memcpy(dst, src, BITS_TO_LONGS(nbits) * sizeof(unsigned long));
}

static inline void bitmap_complement(unsigned long *dst,
				     const unsigned long *src,
				     unsigned int nbits)
{
	unsigned int i;

	for (i = 0; i < BITS_TO_LONGS(nbits); i++)
		dst[i] = ~src[i];
}

/* Bits [start, start + nbits) of @map set (@set) or cleared. */
static inline void __hosted_bitmap_fill(unsigned long *map, unsigned int start,
					unsigned int nbits, bool set)
{
	while (nbits) {
		unsigned int bit = start % BITS_PER_LONG;
		unsigned int n = BITS_PER_LONG - bit;
		unsigned long mask;

		if (n > nbits)
			n = nbits;
		mask = (n == BITS_PER_LONG ? ~0UL : (1UL << n) - 1) << bit;
		if (set)
			map[BIT_WORD(start)] |= mask;
		else
			map[BIT_WORD(start)] &= ~mask;
		start += n;
		nbits -= n;
	}
}

static inline void bitmap_clear(unsigned long *map, unsigned int start,
				unsigned int nbits)
{
	__hosted_bitmap_fill(map, start, nbits, false);
}

static inline void bitmap_set(unsigned long *map, unsigned int start,
			      unsigned int nbits)
{
	__hosted_bitmap_fill(map, start, nbits, true);
}

static inline unsigned int bitmap_weight(const unsigned long *src,
					 unsigned int nbits)
{
	unsigned int i, w = 0;

	for (i = 0; i < nbits / BITS_PER_LONG; i++)
		w += hweight_long(src[i]);
	if (nbits % BITS_PER_LONG)
		w += hweight_long(src[i] & BITMAP_LAST_WORD_MASK(nbits));
	return w;
}

#endif /* _HOSTED_LINUX_BITMAP_H */
