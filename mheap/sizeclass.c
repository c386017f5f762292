// SPDX-License-Identifier: GPL-2.0
/*
 * Size classes.
 *
 * The table is computed at load time with the rules the Go runtime uses to
 * generate its own (src/runtime/mksizeclasses.go): slot sizes step by 8, 16,
 * then size/8, then 256 bytes as they grow; each class gets the fewest 8 KiB
 * pages that waste at most 1/8 of the span on the tail; a class that would
 * fit the same number of objects in the same pages as the one below it
 * replaces it; and sizes are then raised as far as the same object count
 * allows. Computing it, rather than pasting Go's table, keeps the rules
 * testable: the KUnit suite checks the result against figures published in
 * Go's sizeclasses.go.
 *
 * One departure: Go refills a thread cache with a function call, gcheap with
 * a system call. So a span is made of as many copies of Go's page run as it
 * takes to hold MHEAP_SPAN_MIN_ELEMS objects, up to MHEAP_SPAN_MAX_PAGES
 * pages: a 1 KiB class gets 128 slots per refill instead of Go's 8, and the
 * tail waste stays under 1/8 since each copy wastes under 1/8.
 */
#include <linux/kernel.h>
#include <linux/errno.h>
#include <linux/log2.h>
#include <linux/math64.h>
#include <linux/slab.h>
#include <linux/string.h>
#include "mheap.h"

struct mheap_sizeclass mheap_classes[MHEAP_NUM_CLASSES];

/* Objects from 2 KiB up are kept 256-byte aligned, as in Go. */
#define SIZECLASS_LARGE_ALIGN	256
/* Final sizes are rounded down to this when raised (Go's largeSizeDiv). */
#define SIZECLASS_RAISE_ROUND	128

static u32 sizeclass_align_for(u32 size, u32 align)
{
	if (!is_power_of_2(size))
		return align;
	if (size >= 2048)
		return SIZECLASS_LARGE_ALIGN;
	if (size >= 128)
		return size / 8;
	if (size >= 32)
		return 16;
	return align;
}

/**
 * mheap_sizeclass_init() - compute the size-class table
 *
 * The table is built aside and then copied, so calling this again (the
 * KUnit suite does) rewrites the live table with identical bytes only.
 *
 * Return: 0, -ENOMEM, or -EINVAL if the rules did not produce exactly
 * MHEAP_NUM_CLASSES classes (the table size the ABI reports).
 */
int mheap_sizeclass_init(void)
{
	struct mheap_sizeclass *t;
	unsigned int n = 1;	/* class 0 is the large-object class */
	u32 align = 8;
	u32 size;
	unsigned int i;
	int ret = -EINVAL;

	t = kcalloc(MHEAP_NUM_CLASSES, sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	for (size = align; size <= MHEAP_MAX_SMALL; size += align) {
		u32 span = MHEAP_PAGE_SIZE;
		u32 npages;

		align = sizeclass_align_for(size, align);
		while (span % size > span / 8)
			span += MHEAP_PAGE_SIZE;
		npages = span / MHEAP_PAGE_SIZE;

		if (n > 1 && t[n - 1].npages == npages &&
		    span / t[n - 1].size == span / size) {
			t[n - 1].size = size;
			continue;
		}
		if (n == MHEAP_NUM_CLASSES)
			goto out;
		t[n].size = size;
		t[n].npages = npages;
		n++;
	}
	if (n != MHEAP_NUM_CLASSES)
		goto out;

	for (i = 1; i < n; i++) {
		struct mheap_sizeclass *c = &t[i];
		u32 span = c->npages * MHEAP_PAGE_SIZE;
		u32 raised = (span / (span / c->size)) &
			     ~(SIZECLASS_RAISE_ROUND - 1);

		if (raised > c->size)
			c->size = raised;
		c->base_npages = c->npages;
		while (c->npages + c->base_npages <= MHEAP_SPAN_MAX_PAGES &&
		       c->npages * MHEAP_PAGE_SIZE / c->size < MHEAP_SPAN_MIN_ELEMS)
			c->npages += c->base_npages;
		c->nelems = c->npages * MHEAP_PAGE_SIZE / c->size;
		c->divmul = div_u64(BIT_ULL(MHEAP_DIVMUL_SHIFT) + c->size - 1,
				    c->size);
	}
	memcpy(mheap_classes, t, sizeof(mheap_classes));
	ret = 0;
out:
	kfree(t);
	return ret;
}

/**
 * mheap_size_to_class() - the smallest size class that holds @size bytes
 * @size: object size, 0 .. MHEAP_MAX_SMALL
 *
 * Return: the class (1 .. MHEAP_NUM_CLASSES - 1); size 0 gets class 1.
 * Sizes above MHEAP_MAX_SMALL get 0, the large-object class.
 */
unsigned int mheap_size_to_class(size_t size)
{
	unsigned int lo = 1, hi = MHEAP_NUM_CLASSES - 1;

	if (size > MHEAP_MAX_SMALL)
		return 0;
	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (mheap_classes[mid].size >= size)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}
