/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hosted shim: <linux/bitops.h> and <linux/find.h>: the non-atomic bit
 * operations, population count and find_next_bit(), with the kernel's
 * signatures and results.
 */
#ifndef _HOSTED_LINUX_BITOPS_H
#define _HOSTED_LINUX_BITOPS_H

#include <linux/types.h>

#define BITS_PER_LONG		(__SIZEOF_LONG__ * 8)
#define BIT(nr)			(1UL << (nr))
#define BIT_MASK(nr)		(1UL << ((nr) % BITS_PER_LONG))
#define BIT_WORD(nr)		((nr) / BITS_PER_LONG)
#define BITS_TO_LONGS(nr)	(((nr) + BITS_PER_LONG - 1) / BITS_PER_LONG)

static inline void __set_bit(unsigned long nr, volatile unsigned long *addr)
{
	addr[BIT_WORD(nr)] |= BIT_MASK(nr);
}

static inline void __clear_bit(unsigned long nr, volatile unsigned long *addr)
{
	addr[BIT_WORD(nr)] &= ~BIT_MASK(nr);
}

static inline bool test_bit(unsigned long nr, const volatile unsigned long *addr)
{
	return (addr[BIT_WORD(nr)] >> (nr % BITS_PER_LONG)) & 1;
}

static inline bool __test_and_set_bit(unsigned long nr,
				      volatile unsigned long *addr)
{
	bool old = test_bit(nr, addr);

	__set_bit(nr, addr);
	return old;
}

static inline bool __test_and_clear_bit(unsigned long nr,
					volatile unsigned long *addr)
{
	bool old = test_bit(nr, addr);

	__clear_bit(nr, addr);
	return old;
}

/* The atomic ones, fully ordered as the kernel's are. */
static inline bool test_and_set_bit(unsigned long nr,
				    volatile unsigned long *addr)
{
	unsigned long m = BIT_MASK(nr);

	return __atomic_fetch_or(&addr[BIT_WORD(nr)], m, __ATOMIC_SEQ_CST) & m;
}

static inline bool test_and_clear_bit(unsigned long nr,
				      volatile unsigned long *addr)
{
	unsigned long m = BIT_MASK(nr);

	return __atomic_fetch_and(&addr[BIT_WORD(nr)], ~m, __ATOMIC_SEQ_CST) & m;
}

static inline unsigned long hweight_long(unsigned long w)
{
	return __builtin_popcountl(w);
}

/**
 * find_next_bit() - the next set bit at or after @offset
 * @addr: the bitmap
 * @size: bits in the bitmap
 * @offset: where to start
 *
 * Return: the bit number, or @size if there is none (also for
 * @offset >= @size).
 */
static inline unsigned long __hosted_find_next(const unsigned long *addr,
					       unsigned long size,
					       unsigned long offset,
					       unsigned long invert)
{
	unsigned long word, bit;

	if (offset >= size)
		return size;
	word = (addr[BIT_WORD(offset)] ^ invert) &
	       (~0UL << (offset % BITS_PER_LONG));
	offset -= offset % BITS_PER_LONG;
	while (!word) {
		offset += BITS_PER_LONG;
		if (offset >= size)
			return size;
		word = addr[BIT_WORD(offset)] ^ invert;
	}
	bit = offset + __builtin_ctzl(word);
	return bit < size ? bit : size;
}

static inline unsigned long find_next_bit(const unsigned long *addr,
					  unsigned long size,
					  unsigned long offset)
{
	return __hosted_find_next(addr, size, offset, 0);
}

/* find_next_bit() for a clear bit. */
static inline unsigned long find_next_zero_bit(const unsigned long *addr,
					       unsigned long size,
					       unsigned long offset)
{
	return __hosted_find_next(addr, size, offset, ~0UL);
}

#define for_each_set_bit(bit, addr, size)				\
	for ((bit) = find_next_bit((addr), (size), 0); (bit) < (size);	\
	     (bit) = find_next_bit((addr), (size), (bit) + 1))

/* Index of the lowest set bit; @word must not be 0. */
static inline unsigned long __ffs(unsigned long word)
{
	return __builtin_ctzl(word);
}

#endif /* _HOSTED_LINUX_BITOPS_H */
