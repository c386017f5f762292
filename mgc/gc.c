// SPDX-License-Identifier: GPL-2.0
/*
 * A collection, pacing, the root registry, statistics and gctrace.
 *
 * A collection runs inside one GCHEAP_IOC_GC call, with the program's other
 * threads stopped by the library and every cached span given back, as Go
 * stops the world around mark termination:
 *
 *   1. finish sweeping the previous cycle (Go's sweep termination),
 *   2. mark from the roots (mark.c),
 *   3. terminate the mark: sweepgen += 2, every span needs sweeping,
 *   4. sweep everything, unless the caller asked for lazy sweeping.
 *
 * Pacing is Go's GOGC: the next collection is due when the heap has grown by
 * gc_percent over what the last mark found live, and never below 4 MiB.
 */
#include <linux/kernel.h>
#include <linux/errno.h>
#include <linux/ktime.h>
#include <linux/lockdep.h>
#include <linux/overflow.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include <linux/string.h>
#include "mgc.h"

bool mgc_gctrace_default;

u64 mgc_now_ns(void)
{
	return ktime_get_ns();
}

u64 mgc_realtime_ns(void)
{
	return ktime_get_real_ns();
}

/**
 * mgc_init() - initialise the collector's part of a new heap
 * @h: the heap
 */
void mgc_init(struct mheap *h)
{
	h->gc.sweepgen = 2;	/* so that h - 2 never wraps below a new span's */
	h->gc.gc_percent = MGC_DEFAULT_PERCENT;
	h->gc.gctrace = mgc_gctrace_default;
	h->gc.next_gc = MGC_HEAP_MINIMUM;
	h->gc.created_ns = mgc_now_ns();
}

/**
 * mgc_destroy() - free the collector's part of a heap
 * @h: the heap, no longer used by anyone
 */
void mgc_destroy(struct mheap *h)
{
	kfree(h->gc.roots);
	h->gc.roots = NULL;
	h->gc.nroots = 0;
}

/**
 * mgc_heap_alloc() - bytes in allocated objects (Go's HeapAlloc)
 * @h: the heap, mheap.lock held
 *
 * Return: the bytes; objects of spans not swept since the last mark count
 * until their span is swept, as in Go.
 */
u64 mgc_heap_alloc(struct mheap *h)
{
	u64 bytes = h->large_bytes;
	unsigned int i;

	lockdep_assert_held(&h->lock);
	for (i = 2; i < MHEAP_NUM_SPANCLASSES; i++)
		bytes += h->central[i].nalloc * mheap_classes[i >> 1].size;
	return bytes;
}

/**
 * mgc_due() - whether the heap has reached its goal
 * @h: the heap, mheap.lock held
 *
 * The heap counts what the last mark found live, plus what was allocated
 * since, plus the free slots handed out with cached spans (Go counts a
 * cached span as allocated too).
 *
 * Return: true if a collection is due.
 */
bool mgc_due(struct mheap *h)
{
	lockdep_assert_held(&h->lock);
	if (h->gc.gc_percent < 0)
		return false;
	return h->gc.heap_marked + h->gc.alloc_since + h->cached_bytes >=
	       h->gc.next_gc;
}

static u64 mgc_goal(s32 percent, u64 live)
{
	u64 grow, goal;

	if (percent < 0)
		return U64_MAX;
	if (check_mul_overflow(live, (u64)percent, &grow) ||
	    check_add_overflow(live, grow / 100, &goal))
		return U64_MAX;
	return max(goal, MGC_HEAP_MINIMUM);
}

/* "1.234" for @ns in ms, Go's gctrace precision. */
static void mgc_fmt_ms(char *buf, size_t len, u64 ns)
{
	snprintf(buf, len, "%llu.%03llu", ns / 1000000, ns / 1000 % 1000);
}

static void mgc_trace(struct mheap *h, const struct mgc_times *t,
		      u64 before, u64 after, u64 marked)
{
	u64 since = t->start_mono - h->gc.created_ns;
	u64 total = t->wall_ns[0] + t->wall_ns[1] + t->wall_ns[2];
	u64 age = mgc_now_ns() - h->gc.created_ns;
	char a[24], b[24], c[24];

	mgc_fmt_ms(a, sizeof(a), t->wall_ns[0]);
	mgc_fmt_ms(b, sizeof(b), t->wall_ns[1]);
	mgc_fmt_ms(c, sizeof(c), t->wall_ns[2]);
	/*
	 * Go's GODEBUG=gctrace=1 line. The kernel collects on one CPU with the
	 * world stopped, so CPU time is wall time and the assist, background
	 * and idle parts of Go's mark CPU are 0.
	 */
	pr_info("gcheap: gc %llu @%llu.%03llus %llu%%: %s+%s+%s ms clock, %s+0/%s/0+%s ms cpu, %llu->%llu->%llu MB, %llu MB goal, 0 MB stacks, 0 MB globals, 1 P\n",
		h->gc.num_gc, since / 1000000000, since / 1000000 % 1000,
		age ? h->gc.gc_cpu_ns * 100 / age : 0, a, b, c, a, b, c,
		before >> 20, after >> 20, marked >> 20,
		h->gc.next_gc == U64_MAX ? 0 : h->gc.next_gc >> 20);
	(void)total;
}

/**
 * mgc_op_gc() - GCHEAP_IOC_GC on kernel copies of the roots
 * @h: the heap
 * @g: the request and the reply
 * @roots: the registered roots and those of @g, read into kernel memory
 * @nroots: entries of @roots
 *
 * Return: 0; -EINVAL, -ENXIO, -EBUSY, -ENOMEM, -EINTR as documented.
 */
int mgc_op_gc(struct mheap *h, struct gcheap_gc *g,
	      const struct mgc_root *roots, unsigned int nroots)
{
	struct mgc_times t = { .start_mono = mgc_now_ns() };
	u64 before, objects, bytes, overflows, t1, t2, t3, pause;
	unsigned int slot;
	int ret;

	if (g->flags & ~GCHEAP_GC_NOSWEEP || g->__reserved)
		return -EINVAL;

	mutex_lock(&h->lock);
	ret = -ENXIO;
	if (!h->arena_base)
		goto out;
	ret = -EBUSY;
	if (h->cached_spans)
		goto out;

	before = mgc_heap_alloc(h);
	ret = mgc_sweep_all(h);
	if (ret)
		goto out;
	t1 = mgc_now_ns();
	mgc_clear_marks(h);
	ret = mgc_mark(h, roots, nroots, &objects, &bytes, &overflows);
	if (ret) {
		/* Nothing was decided: the heap is as it was. */
		mgc_clear_marks(h);
		goto out;
	}
	t2 = mgc_now_ns();
	mgc_terminate_mark(h);
	h->gc.heap_marked = bytes;
	h->gc.alloc_since = 0;
	h->gc.next_gc = mgc_goal(h->gc.gc_percent, bytes);
	h->gc.num_gc++;
	/* A fatal signal leaves the rest to lazy sweeping. */
	if (!(g->flags & GCHEAP_GC_NOSWEEP))
		mgc_sweep_all(h);
	t3 = mgc_now_ns();

	t.wall_ns[0] = t1 - t.start_mono;
	t.wall_ns[1] = t2 - t1;
	t.wall_ns[2] = t3 - t2;
	pause = t3 - t.start_mono;
	if (check_add_overflow(pause, g->stw_ns, &pause))
		pause = U64_MAX;
	slot = (h->gc.num_gc - 1) % GCHEAP_NUM_PAUSES;
	h->gc.pause_ns[slot] = pause;
	h->gc.last_gc = mgc_realtime_ns();
	h->gc.pause_end[slot] = h->gc.last_gc;
	h->gc.pause_total_ns += pause;
	h->gc.gc_cpu_ns += t3 - t.start_mono;

	g->cycle = h->gc.num_gc;
	g->heap_before = before;
	g->heap_marked = bytes;
	g->objects_marked = objects;
	g->next_gc = h->gc.next_gc;
	g->pause_ns = t3 - t.start_mono;
	g->overflows = overflows;
	if (h->gc.gctrace)
		mgc_trace(h, &t, before, mgc_heap_alloc(h), bytes);
	ret = 0;
out:
	mutex_unlock(&h->lock);
	return ret;
}

/**
 * mgc_op_roots() - GCHEAP_IOC_ROOTS (the caller checked the range is user
 *	memory)
 * @h: the heap
 * @r: the request
 *
 * Return: 0; -EINVAL, -ENXIO, -ENOSPC, -ENOENT, -ENOMEM as documented.
 */
int mgc_op_roots(struct mheap *h, const struct gcheap_roots *r)
{
	struct mgc *gc = &h->gc;
	u32 i, kept = 0;
	int ret = 0;

	if (r->flags & ~GCHEAP_ROOTS_REMOVE || r->lo >= r->hi)
		return -EINVAL;

	mutex_lock(&h->lock);
	if (!h->arena_base) {
		ret = -ENXIO;
		goto out;
	}
	if (r->flags & GCHEAP_ROOTS_REMOVE) {
		for (i = 0; i < gc->nroots; i++) {
			if (gc->roots[i].lo >= r->lo && gc->roots[i].hi <= r->hi)
				continue;
			gc->roots[kept++] = gc->roots[i];
		}
		if (kept == gc->nroots)
			ret = -ENOENT;
		gc->nroots = kept;
		goto out;
	}
	if (gc->nroots == GCHEAP_MAX_ROOTS) {
		ret = -ENOSPC;
		goto out;
	}
	if (!gc->roots) {
		/* 16 KiB at most, made on the first registration. */
		gc->roots = kcalloc(GCHEAP_MAX_ROOTS, sizeof(*gc->roots),
				    GFP_KERNEL_ACCOUNT);
		if (!gc->roots) {
			ret = -ENOMEM;
			goto out;
		}
	}
	gc->roots[gc->nroots].lo = r->lo;
	gc->roots[gc->nroots].hi = r->hi;
	gc->nroots++;
out:
	mutex_unlock(&h->lock);
	return ret;
}

/**
 * mgc_op_config() - GCHEAP_IOC_GC_CONFIG
 * @h: the heap
 * @c: the request; the old values come back in it
 *
 * Return: 0 or -EINVAL.
 */
int mgc_op_config(struct mheap *h, struct gcheap_gc_config *c)
{
	s32 percent = c->gc_percent;
	u32 trace = c->gctrace;

	if (c->flags & ~(GCHEAP_GC_SET_PERCENT | GCHEAP_GC_SET_TRACE))
		return -EINVAL;
	if ((c->flags & GCHEAP_GC_SET_PERCENT) && percent < GCHEAP_GC_OFF)
		return -EINVAL;
	if ((c->flags & GCHEAP_GC_SET_TRACE) && trace > 1)
		return -EINVAL;

	mutex_lock(&h->lock);
	c->gc_percent = h->gc.gc_percent;
	c->gctrace = h->gc.gctrace;
	if (c->flags & GCHEAP_GC_SET_PERCENT) {
		h->gc.gc_percent = percent;
		/* As Go's SetGCPercent: the goal follows at once. */
		h->gc.next_gc = mgc_goal(percent, h->gc.heap_marked);
	}
	if (c->flags & GCHEAP_GC_SET_TRACE)
		h->gc.gctrace = trace;
	mutex_unlock(&h->lock);
	return 0;
}

/**
 * mgc_stats() - the collector's part of GCHEAP_IOC_STATS
 * @h: the heap, mheap.lock held
 * @st: the reply
 * @pauses: GCHEAP_NUM_PAUSES entries to fill, or NULL
 */
void mgc_stats(struct mheap *h, struct gcheap_stats *st,
	       struct gcheap_pause *pauses)
{
	unsigned int i;

	lockdep_assert_held(&h->lock);
	st->total_alloc = h->total_alloc;
	st->next_gc = h->gc.next_gc;
	st->last_gc = h->gc.last_gc;
	st->pause_total_ns = h->gc.pause_total_ns;
	st->num_gc = h->gc.num_gc;
	st->gc_cpu_ns = h->gc.gc_cpu_ns;
	st->age_ns = mgc_now_ns() - h->gc.created_ns;
	for (i = 0; pauses && i < GCHEAP_NUM_PAUSES; i++) {
		pauses[i].ns = h->gc.pause_ns[i];
		pauses[i].end = h->gc.pause_end[i];
	}
}
