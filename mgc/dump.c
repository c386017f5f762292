// SPDX-License-Identifier: GPL-2.0
/*
 * Heap dumps: the spans in use, their objects and the pointers between
 * them, the registered roots, the specials and the statistics, in the
 * format uapi/linux/gcheap.h documents with struct gcheap_dump (Go's
 * runtime/heapdump.go is the model of the record kinds).
 *
 * A dump is made in two passes under mheap.lock: one measures it, the
 * other writes it into a buffer of that size, so the caller learns what a
 * short buffer lacks and never gets half a dump. The lock keeps the spans
 * still, not the words of the objects, which the program may write
 * meanwhile: the writing pass counts an object's pointers again, fills no
 * more than it counted, and never writes past the buffer (a dump that
 * grew past it is -ENOSPC, to be taken again).
 */
#include <linux/kernel.h>
#include <linux/bitmap.h>
#include <linux/errno.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include "mgc.h"

/*
 * Where the dump goes; @buf NULL: only measure. @overflow: a record did
 * not fit in @cap bytes; @len goes on counting what the dump needs.
 */
struct dump_out {
	u8 *buf;
	size_t cap;
	size_t len;
	u64 nrecords;
	bool overflow;
};

/* Room for a record of @payload bytes: its payload, zeroed, or NULL. */
static void *dump_record(struct dump_out *o, u32 kind, size_t payload)
{
	size_t len = (sizeof(struct gcheap_dump_record) + payload + 7) & ~(size_t)7;
	struct gcheap_dump_record *r;

	o->nrecords++;
	if (!o->buf || len > o->cap - min(o->len, o->cap)) {
		o->overflow |= !!o->buf;
		o->len += len;
		return NULL;
	}
	r = (struct gcheap_dump_record *)(o->buf + o->len);
	memset(r, 0, len);
	r->kind = kind;
	r->len = len;
	o->len += len;
	return r + 1;
}

/* The base of the allocated object holding @addr, or 0. */
static u64 dump_target(struct mheap *h, u64 addr)
{
	struct mspan *s = mheap_span_of_addr(h, addr);
	u64 off, idx;

	if (!s || s->state != MSPAN_INUSE)
		return 0;
	off = addr - mheap_span_base(h, s);
	idx = mspan_is_large(s) ? 0 : off / s->elemsize;
	if (idx >= s->nelems || !test_bit(idx, s->allocbits))
		return 0;
	return mheap_span_base(h, s) + idx * (mspan_is_large(s) ? 0 : s->elemsize);
}

/*
 * The targets of the words of [@addr, @addr + @size) into @out, at most
 * @max of them (@out NULL: only count them). Return: how many.
 */
static u32 dump_pointers(struct mheap *h, u64 addr, u64 size, u64 *out,
			 u32 max)
{
	u64 off = addr - h->arena_base, end = off + size;
	u32 n = 0;

	while (off < end) {
		const u64 *page = mheap_arena_peek(h, off >> PAGE_SHIFT);
		u64 stop = min_t(u64, end, (off & PAGE_MASK) + PAGE_SIZE);

		/* A page never touched holds zeros. */
		for (; page && off < stop; off += 8) {
			u64 t = dump_target(h, page[(off & ~PAGE_MASK) / 8]);

			if (!t)
				continue;
			if (out) {
				if (n == max)
					return n;
				out[n] = t;
			}
			n++;
		}
		off = stop;
	}
	return n;
}

static void dump_span(struct dump_out *o, struct mheap *h, struct mspan *s)
{
	bool noscan = s->spanclass & 1;
	u64 base = mheap_span_base(h, s), size;
	struct gcheap_dump_span *sp;
	struct mgc_special *x;
	u32 i;

	size = mspan_is_large(s) ? mspan_bytes(s) : s->elemsize;
	sp = dump_record(o, GCHEAP_DUMP_SPAN, sizeof(*sp));
	if (sp) {
		sp->base = base;
		sp->npages = s->npages;
		sp->spanclass = s->spanclass;
		sp->elemsize = size;
		sp->nelems = s->nelems;
		sp->nalloc = mspan_is_large(s) ? 1 : s->nalloc;
	}
	for (i = 0; i < s->nelems; i++) {
		struct gcheap_dump_object *ob;
		u64 addr = base + (u64)i * (mspan_is_large(s) ? 0 : size);
		u32 n;

		if (!test_bit(i, s->allocbits))
			continue;
		n = noscan ? 0 : dump_pointers(h, addr, size, NULL, 0);
		ob = dump_record(o, GCHEAP_DUMP_OBJECT, sizeof(*ob) + n * 8ULL);
		if (!ob)
			continue;
		ob->addr = addr;
		ob->size = size;
		ob->spanclass = s->spanclass;
		/* Words the program cleared since leave zeroed slots. */
		if (n)
			n = dump_pointers(h, addr, size, (u64 *)(ob + 1), n);
		ob->nptrs = n;
	}
	for (x = s->specials; x; x = x->next) {
		struct gcheap_dump_special *d;

		d = dump_record(o, GCHEAP_DUMP_SPECIAL, sizeof(*d));
		if (!d)
			continue;
		d->addr = base + x->offset;
		d->kind = x->kind;
		d->fn = x->fn;
		d->arg = x->arg;
	}
}

static void dump_list(struct dump_out *o, struct mheap *h,
		      struct list_head *head)
{
	struct mspan *s;

	list_for_each_entry(s, head, list)
		dump_span(o, h, s);
}

static void dump_all(struct dump_out *o, struct mheap *h,
		     const struct gcheap_stats *st)
{
	struct gcheap_dump_memstats *ms;
	struct gcheap_dump_header *hd;
	unsigned int i;

	hd = o->buf && o->cap >= sizeof(*hd) ?
	     (struct gcheap_dump_header *)o->buf : NULL;
	o->len = sizeof(*hd);
	o->nrecords = 0;
	o->overflow = o->buf && !hd;
	if (hd)
		memset(hd, 0, sizeof(*hd));
	for (i = 0; i < MHEAP_NUM_SPANCLASSES; i++) {
		struct mcentral *c = &h->central[i];

		dump_list(o, h, &c->partial);
		dump_list(o, h, &c->full);
		dump_list(o, h, &c->empty);
		dump_list(o, h, &c->cached);
		dump_list(o, h, &c->unswept);
	}
	dump_list(o, h, &h->large);
	dump_list(o, h, &h->large_unswept);
	for (i = 0; i < h->gc.nroots; i++) {
		struct gcheap_range *r = dump_record(o, GCHEAP_DUMP_ROOT,
						     sizeof(*r));

		if (r)
			*r = h->gc.roots[i];
	}
	ms = dump_record(o, GCHEAP_DUMP_MEMSTATS, sizeof(*ms));
	if (ms) {
		ms->heap_alloc = st->heap_alloc;
		ms->heap_sys = st->heap_sys;
		ms->heap_idle = st->heap_idle;
		ms->heap_inuse = st->heap_inuse;
		ms->heap_released = st->heap_released;
		ms->heap_objects = st->heap_objects;
		ms->mallocs = st->mallocs;
		ms->frees = st->frees;
		ms->num_gc = st->num_gc;
		ms->pause_total_ns = st->pause_total_ns;
	}
	dump_record(o, GCHEAP_DUMP_END, 0);
	if (!hd || o->overflow)
		return;
	memcpy(hd->magic, GCHEAP_DUMP_MAGIC, sizeof(hd->magic));
	hd->version = GCHEAP_DUMP_VERSION;
	hd->page_size = MHEAP_PAGE_SIZE;
	hd->arena_base = h->arena_base;
	hd->arena_bytes = h->arena_pages << MHEAP_PAGE_SHIFT;
	hd->nrecords = o->nrecords;
}

/**
 * mgc_dump() - write a dump of the heap
 * @h: the heap
 * @buf: where to, or NULL to measure
 * @cap: bytes at @buf
 * @len: out: bytes written, or those needed
 *
 * Return: 0; -ENOSPC if @buf is NULL or short, also if the dump grew past
 * @cap while it was written (@len says what is needed); -ENXIO without an
 * arena.
 */
int mgc_dump(struct mheap *h, void *buf, size_t cap, size_t *len)
{
	struct dump_out o = { 0 };
	struct gcheap_stats st = { .size = sizeof(st) };
	int ret;

	ret = mheap_op_stats(h, &st, NULL, 0, NULL);
	if (ret)
		return ret;
	mheap_lock(h);
	ret = -ENXIO;
	if (!h->arena_base)
		goto out;
	dump_all(&o, h, &st);
	*len = o.len;
	ret = -ENOSPC;
	if (!buf || cap < o.len)
		goto out;
	o.buf = buf;
	o.cap = cap;
	dump_all(&o, h, &st);
	*len = o.len;
	ret = o.overflow ? -ENOSPC : 0;
out:
	mutex_unlock(&h->lock);
	return ret;
}

/* Tries at a dump whose heap grows between measuring and writing. */
#define MGC_DUMP_TRIES	4

/**
 * mgc_dump_alloc() - a dump of the heap in a buffer of its own
 * @h: the heap
 * @need: the size mgc_dump() just measured, or 0 to measure it here
 * @buf: out: the dump, for the caller to kvfree()
 * @len: out: its bytes
 *
 * Return: 0, -ENOMEM, -ENXIO, or -EBUSY if the heap kept growing.
 */
int mgc_dump_alloc(struct mheap *h, size_t need, void **buf, size_t *len)
{
	int tries, ret = -ENOSPC;

	if (!need)
		ret = mgc_dump(h, NULL, 0, &need);
	for (tries = 0; ret == -ENOSPC && tries < MGC_DUMP_TRIES; tries++) {
		/* Room for the pointers the program writes meanwhile. */
		need += need / 8;
		*buf = kvmalloc(need, MHEAP_GFP | __GFP_ZERO);
		if (!*buf)
			return -ENOMEM;
		ret = mgc_dump(h, *buf, need, len);
		if (!ret)
			return 0;
		kvfree(*buf);
		*buf = NULL;
		/* The heap grew since it was measured: what it needs now. */
		need = *len;
	}
	return ret == -ENOSPC ? -EBUSY : ret;
}
