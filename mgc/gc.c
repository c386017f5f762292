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
 * A concurrent collection (GCHEAP_GC_CONCURRENT) splits this over two calls
 * with the program running between them: the first does 1, clears the
 * arena's dirty bits and marks from the roots; a kernel worker
 * (mgc_mark_background()) and the program's allocations (mgc_assist())
 * mark the heap meanwhile, objects allocated meanwhile are marked at once
 * (allocate-black, as Go); the second scans the roots again and every
 * marked object's words on pages written since the first (the dirty bits),
 * then does 3 and 4. A pointer the program moved during the mark is found
 * there: into a root, rescanned; into a heap object, on a written page.
 *
 * Pacing is Go's GOGC: the goal is reached when the heap has grown by
 * gc_percent over what the last mark traced live, and never below 4 MiB. A
 * concurrent mark starts earlier (MGC_TRIGGER_EIGHTHS of the way), so that
 * it ends near the goal; allocation assists keep it from ending later.
 */
#include <linux/kernel.h>
#include <linux/cpumask.h>
#include <linux/errno.h>
#include <linux/ktime.h>
#include <linux/lockdep.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <trace/gcheap_events.h>
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
	INIT_LIST_HEAD(&h->gc.finalizers);
	INIT_LIST_HEAD(&h->gc.finq);
	INIT_LIST_HEAD(&h->gc.links);
}

/**
 * mgc_destroy() - free the collector's part of a heap
 * @h: the heap, no longer used by anyone
 */
void mgc_destroy(struct mheap *h)
{
	/* The spans are gone: only the mark's own state is left to free. */
	mutex_lock(&h->lock);
	mgc_mark_end(h, NULL);
	mgc_mark_free_spare(h);
	mgc_finq_destroy(h);
	mgc_profile_destroy(h);
	kvfree(h->gc.link_hash);
	h->gc.link_hash = NULL;
	h->gc.link_hash_bits = 0;
	kvfree(h->gc.link_clears);
	h->gc.link_clears = NULL;
	h->gc.phase = MGC_PHASE_OFF;
	mutex_unlock(&h->lock);
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

/*
 * The heap as pacing counts it: what the last mark found live (objects
 * allocated black during it included, as Go's heapMarked), plus what was
 * allocated since.
 */
static u64 mgc_heap_paced(struct mheap *h)
{
	return h->gc.heap_live + h->gc.alloc_since + h->cached_bytes;
}

/*
 * Where a concurrent mark starts: part of the way from the last mark's heap
 * to the goal, so that it can end before the goal (Go's trigger). After a
 * stop-the-world collection the trigger is the goal itself.
 */
static u64 mgc_trigger(struct mheap *h)
{
	u64 goal = h->gc.next_gc, base = h->gc.heap_live;

	if (!h->gc.concurrent || goal == U64_MAX || base >= goal)
		return goal;
	return base + (goal - base) / 8 * MGC_TRIGGER_EIGHTHS;
}

static u64 mgc_sat_add(u64 a, u64 b)
{
	u64 sum;

	return check_add_overflow(a, b, &sum) ? U64_MAX : sum;
}

/*
 * Go's goal is soft: past it, allocations mark more instead of stopping the
 * world (mgc_assist()), so that the mark's end is short. A concurrent mark
 * ends with whatever is left only when the heap has passed the goal by a
 * quarter of its growth, and at least by the heap minimum, since a small
 * heap's one large allocation may pass a quarter at once (Go's hard goal
 * is 10% over the goal). A soft limit caps it.
 */
static u64 mgc_hard_goal(struct mheap *h)
{
	u64 goal = h->gc.next_gc, base = min(h->gc.heap_live, goal), hard;

	if (goal == U64_MAX)
		return goal;
	hard = mgc_sat_add(goal, max((goal - base) / 4, MGC_HEAP_MINIMUM));
	/* Under a soft limit, the mark ends before the heap passes it. */
	if (h->soft_limit)
		hard = min(hard, max(h->soft_limit, goal));
	return hard;
}

/**
 * mgc_due() - whether the library should run a collection (or its next step)
 * @h: the heap, mheap.lock held
 *
 * The heap counts what the last mark found live, plus what was allocated
 * since, plus the free slots handed out with cached spans (Go counts a
 * cached span as allocated too). While a concurrent mark runs, its end is
 * due once its work is done or the heap has reached the hard goal. The
 * shrinker asks for a collection (mgc.requested) under memory pressure.
 *
 * Return: true if a collection is due.
 */
bool mgc_due(struct mheap *h)
{
	lockdep_assert_held(&h->lock);
	if (h->gc.phase == MGC_PHASE_MARK)
		return h->gc.mark_done || mgc_heap_paced(h) >= mgc_hard_goal(h);
	if (h->gc.next_gc == U64_MAX)
		return false;
	if (h->gc.requested)
		return true;
	if (mgc_heap_paced(h) < mgc_trigger(h))
		return false;
	/*
	 * For mgc_reason(): the caches' free slots count now, not once the
	 * collection took them back.
	 */
	h->gc.trigger_reached = true;
	return true;
}

/**
 * mgc_mark_near() - whether a concurrent mark should start soon
 * @h: the heap, mheap.lock held
 *
 * True from MGC_NEAR_SIXTYFOURTHS of the runway before the trigger, while
 * no mark runs and the last collection was concurrent: the hosted build
 * write-protects its arena then, beside the program, so that the mark's
 * start does not do it with the world stopped.
 *
 * Return: true if a mark is near.
 */
bool mgc_mark_near(struct mheap *h)
{
	u64 goal = h->gc.next_gc, base = h->gc.heap_live, trigger;

	lockdep_assert_held(&h->lock);
	if (h->gc.phase != MGC_PHASE_OFF || !h->gc.concurrent ||
	    goal == U64_MAX || base >= goal)
		return false;
	trigger = mgc_trigger(h);
	return mgc_heap_paced(h) + (goal - base) / 64 * MGC_NEAR_SIXTYFOURTHS >=
	       trigger;
}

static u64 mgc_percent_goal(s32 percent, u64 live)
{
	u64 grow, goal;

	if (percent < 0)
		return U64_MAX;
	if (check_mul_overflow(live, (u64)percent, &grow) ||
	    check_add_overflow(live, grow / 100, &goal))
		return U64_MAX;
	return max(goal, MGC_HEAP_MINIMUM);
}

/**
 * mgc_goal() - the heap size at which the next collection is due
 * @h: the heap, mheap.lock held
 * @live: what the last mark traced
 *
 * The GOGC goal, raised to leave the threads' caches room; or, under a soft
 * limit, 15/16 of the limit if that comes first (Go's memory-limit goal),
 * whatever the percent; but at least 1/16 of the live heap (and 1 MiB)
 * above it, so that a live heap at the limit does not run collections back
 * to back (Go caps their CPU share instead).
 *
 * Return: bytes; U64_MAX when automatic collections are off.
 */
static u64 mgc_goal(struct mheap *h, u64 live)
{
	u64 goal = mgc_percent_goal(h->gc.gc_percent, live), floor;

	/*
	 * Pacing counts the caches' free slots as allocated, and the threads
	 * fill their caches again right after a collection: a goal with less
	 * room than twice what they held (many threads, many size classes,
	 * a small GOGC) had the next collection due after a few refills.
	 */
	if (goal != U64_MAX)
		goal = max(goal, mgc_sat_add(live, 2 * h->gc.cache_peak));

	if (!h->soft_limit)
		return goal;
	floor = mgc_sat_add(live, max(live / 16, MGC_HEAP_MINIMUM / 4));
	return min(goal, max(h->soft_limit - h->soft_limit / 16, floor));
}

/* "1.234" for @ns in ms, Go's gctrace precision. */
static void mgc_fmt_ms(char *buf, size_t len, u64 ns)
{
	snprintf(buf, len, "%llu.%03llu", ns / 1000000, ns / 1000 % 1000);
}

static void mgc_trace(struct mheap *h, const struct mgc_times *t,
		      u64 before, u64 after, u64 marked, u64 goal)
{
	u64 since = t->start_mono - h->gc.created_ns;
	u64 age = mgc_now_ns() - h->gc.created_ns;
	char a[24], b[24], c[24];

	mgc_fmt_ms(a, sizeof(a), t->wall_ns[0]);
	mgc_fmt_ms(b, sizeof(b), t->wall_ns[1]);
	mgc_fmt_ms(c, sizeof(c), t->wall_ns[2]);
	/*
	 * Go's GODEBUG=gctrace=1 line. The CPU figures repeat the clock ones:
	 * a stop-the-world mark runs on one CPU, and a concurrent mark's
	 * worker and assists are not timed apart (gc_cpu_ns sums them), so
	 * its middle figure is the mark's wall time beside the program.
	 */
	pr_info("gcheap: gc %llu @%llu.%03llus %llu%%: %s+%s+%s ms clock, %s+0/%s/0+%s ms cpu, %llu->%llu->%llu MB, %llu MB goal, %llu MB stacks, %llu MB globals, %u P\n",
		h->gc.num_gc, since / 1000000000, since / 1000000 % 1000,
		mgc_cpu_share(h->gc.gc_cpu_ns, age, 100), a, b, c, a, b, c,
		before >> 20, after >> 20, marked >> 20,
		goal == U64_MAX ? 0 : goal >> 20, h->gc.trace_stacks >> 20,
		h->gc.trace_globals >> 20, num_online_cpus());
}

/*
 * A mark has ended: pace the next cycle, sweep unless asked not to, record
 * the cycle, reply. @t's phases run up to now; @kernel_ns is the cycle's
 * stop-the-world time in the kernel so far, @stw_ns the library's for it.
 * The sweep adds to the last phase and to the pause, as the world is
 * still stopped.
 */
static void mgc_complete(struct mheap *h, struct gcheap_gc *g,
			 struct mgc_times *t, u64 before,
			 const struct mgc_mark_result *res, u64 kernel_ns,
			 u64 stw_ns)
{
	u64 t0 = mgc_now_ns(), pause, goal = h->gc.next_gc;
	unsigned int slot;

	trace_gcheap_mark_done(h->id, h->gc.num_gc + 1, res->objects, res->bytes,
			       res->nroots, res->overflows);
	/* With the mark bits final, before sweeping queues finalizers. */
	mgc_links_mark_end(h);
	mgc_terminate_mark(h);
	h->gc.heap_live = res->bytes;
	h->gc.scan_words = res->scan_words;
	h->gc.alloc_since = 0;
	h->gc.next_gc = mgc_goal(h, res->bytes);
	h->gc.cache_peak = h->cached_bytes;
	h->gc.requested = false;
	h->gc.trigger_reached = false;
	h->gc.num_gc++;
	/* A fatal signal leaves the rest to lazy sweeping. */
	if (!(g->flags & GCHEAP_GC_NOSWEEP)) {
		mgc_sweep_all(h);
		/* What the sweep freed counts against the limits now. */
		mheap_limits_release(h);
	}
	t0 = mgc_now_ns() - t0;
	t->wall_ns[2] += t0;
	kernel_ns += t0;
	pause = mgc_sat_add(kernel_ns, stw_ns);

	slot = (h->gc.num_gc - 1) % GCHEAP_NUM_PAUSES;
	h->gc.pause_ns[slot] = pause;
	h->gc.last_gc = mgc_realtime_ns();
	h->gc.pause_end[slot] = h->gc.last_gc;
	h->gc.pause_total_ns = mgc_sat_add(h->gc.pause_total_ns, pause);

	g->cycle = h->gc.num_gc;
	g->heap_before = before;
	g->heap_marked = res->bytes;
	g->objects_marked = res->objects;
	g->next_gc = h->gc.next_gc;
	g->pause_ns = kernel_ns;
	g->overflows = res->overflows;
	trace_gcheap_gc_end(h->id, h->gc.num_gc, before, mgc_heap_alloc(h),
			    h->gc.next_gc, pause);
	if (h->gc.gctrace)
		mgc_trace(h, t, before, mgc_heap_alloc(h), res->bytes, goal);
}

/* Why a collection starts, for the gc_start trace event. */
static u32 mgc_reason(struct mheap *h)
{
	if (h->gc.next_gc != U64_MAX && h->gc.requested)
		return GCHEAP_TRACE_REASON_PRESSURE;
	if (h->gc.next_gc != U64_MAX &&
	    (h->gc.trigger_reached || mgc_heap_paced(h) >= mgc_trigger(h)))
		return GCHEAP_TRACE_REASON_GOAL;
	return GCHEAP_TRACE_REASON_ASKED;
}

/* A whole collection with the world stopped. */
static int mgc_stw(struct mheap *h, struct gcheap_gc *g,
		   const struct mgc_root *roots, unsigned int nroots, u64 stw)
{
	struct mgc_times t = { .start_mono = mgc_now_ns() };
	struct mgc_mark_result res;
	u64 before, t1, t2;
	int ret;

	before = mgc_heap_alloc(h);
	trace_gcheap_gc_start(h->id, h->gc.num_gc + 1,
			      g->flags & GCHEAP_GC_NOSWEEP ? GCHEAP_TRACE_GC_LAZY :
			      GCHEAP_TRACE_GC_FULL, mgc_reason(h), before,
			      h->gc.next_gc);
	ret = mgc_sweep_all(h);
	if (ret)
		return ret;
	t1 = mgc_now_ns();
	mgc_clear_marks(h);
	ret = mgc_mark(h, roots, nroots, &res);
	res.nroots = nroots + h->gc.nroots;
	if (ret) {
		/* Nothing was decided: the heap is as it was. */
		mgc_clear_marks(h);
		return ret;
	}
	t2 = mgc_now_ns();
	h->gc.concurrent = false;
	t.wall_ns[0] = t1 - t.start_mono;
	t.wall_ns[1] = t2 - t1;
	mgc_complete(h, g, &t, before, &res, t2 - t.start_mono, stw);
	h->gc.gc_cpu_ns += mgc_now_ns() - t.start_mono;
	return 0;
}

/* The first step of a concurrent collection: mark the roots, arm. */
static int mgc_start(struct mheap *h, struct gcheap_gc *g,
		     const struct mgc_root *roots, unsigned int nroots, u64 t0)
{
	u64 now;
	int ret;

	h->gc.cycle_before = mgc_heap_alloc(h);
	h->gc.cycle_paced = mgc_heap_paced(h);
	trace_gcheap_gc_start(h->id, h->gc.num_gc + 1, GCHEAP_TRACE_GC_CONCURRENT,
			      mgc_reason(h), h->gc.cycle_before, h->gc.next_gc);
	ret = mgc_sweep_all(h);
	if (ret)
		return ret;
	mgc_clear_marks(h);
	ret = mgc_mark_begin(h);
	if (ret)
		return ret;
	/* Before the roots: a write from here on is seen at the end. */
	h->gc.dirty_armed = mheap_arena_dirty_reset(h);
	ret = mgc_mark_roots(h, roots, nroots, true);
	if (!ret)
		ret = mgc_mark_finalizers(h, true);
	if (ret) {
		mgc_mark_end(h, NULL);
		mgc_clear_marks(h);
		return ret;
	}
	mgc_mark_share(h);
	h->gc.phase = MGC_PHASE_MARK;
	h->gc.mark_done = false;
	h->gc.concurrent = true;
	h->gc.cycle_start_ns = t0;
	now = mgc_now_ns();
	h->gc.start_pause_ns = now - t0;
	h->gc.start_stw_ns = g->stw_ns;
	h->gc.gc_cpu_ns += now - t0;
	g->out_flags = GCHEAP_GC_MARKING;
	g->heap_before = h->gc.cycle_before;
	g->next_gc = h->gc.next_gc;
	g->pause_ns = now - t0;
	return 0;
}

/* The last step: roots and written pages again, then end the mark. */
static int mgc_finish(struct mheap *h, struct gcheap_gc *g,
		      const struct mgc_root *roots, unsigned int nroots,
		      u64 t0, u64 stw)
{
	u64 nbits = h->grown << (MHEAP_PAGE_SHIFT - PAGE_SHIFT), t2, start_end;
	struct mgc_times t = { .start_mono = h->gc.cycle_start_ns };
	struct mgc_mark_result res;
	unsigned long *dirty = NULL;
	int ret;

	/* The rest is done here: the worker's list too. */
	mgc_mark_bg_stop(h);
	if (h->gc.dirty_armed && nbits) {
		/* Without memory for the bitmap, every marked object counts. */
		dirty = kvcalloc(BITS_TO_LONGS(nbits), sizeof(*dirty),
				 MHEAP_GFP);
		if (dirty && mheap_arena_dirty_collect(h, dirty, nbits)) {
			kvfree(dirty);
			dirty = NULL;
		}
	}
	ret = mgc_mark_roots(h, roots, nroots, true);
	if (!ret)
		ret = mgc_mark_dirty(h, dirty, dirty ? nbits : 0);
	/* Written during the mark, an unmarked finalizer object is not rescanned. */
	if (!ret)
		ret = mgc_mark_finalizers(h, true);
	if (!ret)
		ret = mgc_mark_step(h, U64_MAX, MGC_MARK_INTR);
	kvfree(dirty);
	if (ret < 0) {
		mgc_abort(h);
		return ret;
	}
	mgc_mark_end(h, &res);
	res.nroots = nroots + h->gc.nroots;
	h->gc.phase = MGC_PHASE_OFF;
	h->gc.mark_done = false;
	t2 = mgc_now_ns();
	start_end = h->gc.cycle_start_ns + h->gc.start_pause_ns;
	t.wall_ns[0] = h->gc.start_pause_ns;
	t.wall_ns[1] = t0 > start_end ? t0 - start_end : 0;
	t.wall_ns[2] = t2 - t0;
	mgc_complete(h, g, &t, h->gc.cycle_before, &res,
		     h->gc.start_pause_ns + (t2 - t0),
		     mgc_sat_add(h->gc.start_stw_ns, stw));
	h->gc.gc_cpu_ns += mgc_now_ns() - t0;
	return 0;
}

/**
 * mgc_abort() - drop a concurrent mark that will not finish
 * @h: the heap, mheap.lock held
 *
 * Objects allocated during it are allocated already; the mark bits go.
 */
void mgc_abort(struct mheap *h)
{
	lockdep_assert_held(&h->lock);
	if (h->gc.phase != MGC_PHASE_MARK)
		return;
	mgc_mark_end(h, NULL);
	mgc_clear_marks(h);
	h->gc.phase = MGC_PHASE_OFF;
	h->gc.mark_done = false;
}

/*
 * The worker's mutex_lock(&h->lock). While it waits, allocations' assists
 * stop marking (MGC_MARK_ASSIST): an assist marks its whole budget under
 * the lock, milliseconds on a cold heap, and the worker, which marks
 * without the lock but takes its work under it, stood idle behind it.
 */
static void mgc_worker_lock(struct mheap *h)
{
	if (mutex_trylock(&h->lock))
		return;
	WRITE_ONCE(h->gc.bg_waiting, true);
	mutex_lock(&h->lock);
	WRITE_ONCE(h->gc.bg_waiting, false);
}

/* Whether the worker of mark @cycle still has a mark to serve. */
static bool mgc_worker_serves(struct mheap *h, u64 cycle)
{
	return h->gc.phase == MGC_PHASE_MARK && !h->gc.mark_done &&
	       (cycle == U64_MAX || cycle == h->gc.num_gc);
}

/**
 * mgc_mark_background() - one batch of the concurrent mark's worker
 * @h: the heap, mheap.lock not held
 * @cycle: in/out: the mark the worker serves, h.num_gc while it runs;
 *	U64_MAX before the worker's first batch
 *
 * A worker queued for one mark may still run when the next one starts: it
 * serves only the one it found first.
 *
 * Return: MGC_BG_MORE if there is more to do; MGC_BG_DRAINED if nothing is
 * grey but the mark has not ended (precleaning is the worker's to do, then
 * mgc_mark_background_done()); MGC_BG_IDLE if the mark needs the worker no
 * more.
 */
int mgc_mark_background(struct mheap *h, u64 *cycle)
{
	int ret = MGC_BG_IDLE;
	u64 t0 = mgc_now_ns();

	mgc_worker_lock(h);
	if (mgc_worker_serves(h, *cycle)) {
		*cycle = h->gc.num_gc;
		/* Grey objects are scanned without the lock, beside the program. */
		if (mgc_mark_bg_begin(h)) {
			mutex_unlock(&h->lock);
			mgc_mark_bg_run(h, MGC_MARK_BG_BATCH);
			mgc_worker_lock(h);
			h->gc.gc_cpu_ns += mgc_now_ns() - t0;
			mutex_unlock(&h->lock);
			return MGC_BG_MORE;
		}
		/* Pages to clean and overflow recovery need the lock. */
		if (mgc_mark_step(h, MGC_MARK_BATCH, MGC_MARK_YIELD) != 1)
			ret = MGC_BG_MORE;
		else if (h->gc.dirty_armed)
			ret = MGC_BG_DRAINED;
		else
			h->gc.mark_done = true;	/* no dirty bits to clean by */
		h->gc.gc_cpu_ns += mgc_now_ns() - t0;
	}
	mutex_unlock(&h->lock);
	return ret;
}

/**
 * mgc_preclean() - precleaning for the worker: take the pages written so far
 * @h: the heap, mheap.lock not held; the caller holds the owner's mmap_lock
 *	for reading
 * @cycle: the worker's mark
 *
 * Return: pages taken, for mgc_mark_background() to scan; 0 or an error if
 * there is nothing to take (the mark's end then does the rest).
 */
long mgc_preclean(struct mheap *h, u64 cycle)
{
	long ret = -ENOENT;
	u64 t0 = mgc_now_ns();

	mgc_worker_lock(h);
	if (mgc_worker_serves(h, cycle) && h->gc.dirty_armed) {
		ret = mgc_mark_preclean(h);
		/* Bits were lost with a failed walk: rescan everything. */
		if (ret < 0 && ret != -ENOMEM)
			h->gc.dirty_armed = false;
		h->gc.gc_cpu_ns += mgc_now_ns() - t0;
	}
	mutex_unlock(&h->lock);
	return ret;
}

/**
 * mgc_mark_background_done() - the worker has done its part of mark @cycle
 * @h: the heap, mheap.lock not held
 * @cycle: its mark
 *
 * The mark's end is due from now on.
 */
void mgc_mark_background_done(struct mheap *h, u64 cycle)
{
	mgc_worker_lock(h);
	if (cycle != U64_MAX && mgc_worker_serves(h, cycle))
		h->gc.mark_done = true;
	mutex_unlock(&h->lock);
}

/**
 * mgc_mark_worker() - the concurrent mark's background worker, until its
 *	part of the mark is done
 * @h: the heap, mheap.lock not held
 * @preclean: mgc_preclean() with what the caller must hold around it (the
 *	owner's mmap_lock in the kernel)
 * @yield: between two batches: let the program's calls have mheap.lock
 * @ctx: for @preclean
 *
 * The share of the mark that no allocation assists with: batches until the
 * grey objects are gone; then rounds of precleaning, each scanning again
 * the pages written during the last, so that the mark's end, with the
 * world stopped, only has the pages written during the last round to scan.
 * Rounds stop when one takes few pages (the program writes little) or
 * after MGC_PRECLEAN_ROUNDS (it writes as fast as they scan).
 */
void mgc_mark_worker(struct mheap *h,
		     long (*preclean)(struct mheap *h, u64 cycle, void *ctx),
		     void (*yield)(struct mheap *h), void *ctx)
{
	u64 cycle = U64_MAX;
	unsigned int round;
	int st;

	for (round = 0;; round++) {
		while ((st = mgc_mark_background(h, &cycle)) == MGC_BG_MORE)
			yield(h);
		if (st == MGC_BG_IDLE)
			return;
		if (round == MGC_PRECLEAN_ROUNDS ||
		    preclean(h, cycle, ctx) < MGC_PRECLEAN_MIN_PAGES)
			break;
	}
	mgc_mark_background_done(h, cycle);
}

static u64 mgc_assist_budget(struct mheap *h)
{
	u64 heap = mgc_heap_paced(h), start, runway, expect, done, want;

	if (heap >= mgc_hard_goal(h))
		return 0;	/* the end is due: it does the rest */
	if (heap >= h->gc.next_gc)
		return MGC_ASSIST_MAX;
	start = min(h->gc.cycle_paced, heap);
	runway = max_t(u64, (h->gc.next_gc - start) / 8 * MGC_ASSIST_LEAD_EIGHTHS, 1);
	/*
	 * The work is what the last mark scanned (noscan objects, such as
	 * big arrays of numbers, cost it nothing); before any mark, all of
	 * the heap may be.
	 */
	expect = h->gc.num_gc ? h->gc.scan_words : h->gc.cycle_paced / 8;
	/* In 1/1024ths of the work, so that nothing overflows. */
	want = (expect >> 10) * min_t(u64, div64_u64((heap - start) << 10, runway),
				      1024);
	done = mgc_mark_progress(h);
	if (want <= done)
		return 0;
	return clamp_t(u64, want - done, MGC_ASSIST_MIN, MGC_ASSIST_MAX);
}

/**
 * mgc_assist() - mark as an allocation requires (Go's mark assist)
 * @h: the heap, mheap.lock held, after an allocation counted in it
 *
 * The mark's work is expected to be what the last mark scanned. It should be
 * done by the time the heap has used MGC_ASSIST_LEAD_EIGHTHS of the runway
 * from where the mark started to the goal; an allocation that finds the
 * mark behind that line does the difference. While the worker keeps up,
 * allocations do no marking; past the goal, every allocation marks as much
 * as an assist may, until the work is done or the hard goal makes the end
 * due.
 */
void mgc_assist(struct mheap *h)
{
	u64 budget, t0;

	lockdep_assert_held(&h->lock);
	if (h->gc.phase != MGC_PHASE_MARK || h->gc.mark_done)
		return;
	budget = mgc_assist_budget(h);
	if (!budget)
		return;
	t0 = mgc_now_ns();
	/* With dirty bits, the worker cleans before the end is due. */
	if (mgc_mark_step(h, budget, MGC_MARK_ASSIST) == 1 &&
	    !h->gc.dirty_armed)
		h->gc.mark_done = true;
	else
		mgc_mark_share(h);
	h->gc.gc_cpu_ns += mgc_now_ns() - t0;
}

/**
 * mgc_op_gc() - GCHEAP_IOC_GC on kernel copies of the roots
 * @h: the heap; the caller holds the owner's mmap_lock for reading
 * @g: the request and the reply
 * @roots: the registered roots and those of @g, read into kernel memory
 * @nroots: entries of @roots
 *
 * Return: 0; -EINVAL, -ENXIO, -EBUSY, -ENOMEM, -EINTR as documented.
 */
int mgc_op_gc(struct mheap *h, struct gcheap_gc *g,
	      const struct mgc_root *roots, unsigned int nroots)
{
	u64 t0 = mgc_now_ns(), stw = g->stw_ns;
	unsigned int i;
	int ret;

	if (g->flags & ~MGC_GC_FLAGS || g->__reserved || g->__reserved2)
		return -EINVAL;
	if (g->flags & GCHEAP_GC_RELEASE &&
	    g->flags & (GCHEAP_GC_NOSWEEP | GCHEAP_GC_CONCURRENT))
		return -EINVAL;

	mheap_lock(h);
	ret = -ENXIO;
	if (!h->arena_base)
		goto out;
	ret = -EBUSY;
	if (h->cached_spans)
		goto out;
	g->out_flags = 0;
	/* For gctrace: the registered ranges come first. */
	h->gc.trace_stacks = 0;
	h->gc.trace_globals = 0;
	for (i = 0; i < nroots; i++) {
		if (i < h->gc.nroots)
			h->gc.trace_globals += roots[i].len;
		else
			h->gc.trace_stacks += roots[i].len;
	}
	if (h->gc.phase == MGC_PHASE_MARK &&
	    (g->flags & GCHEAP_GC_CONCURRENT)) {
		ret = mgc_finish(h, g, roots, nroots, t0, stw);
		goto out;
	} else if (h->gc.phase == MGC_PHASE_MARK) {
		/*
		 * Asked for a whole collection: it marks everything again, so
		 * the concurrent mark is dropped rather than finished; its end
		 * would rescan every page written since it began.
		 */
		mgc_abort(h);
	} else if (g->flags & GCHEAP_GC_CONCURRENT) {
		ret = mgc_start(h, g, roots, nroots, t0);
		goto out;
	}
	ret = mgc_stw(h, g, roots, nroots, stw);
	if (!ret && (g->flags & GCHEAP_GC_RELEASE)) {
		/* Go's FreeOSMemory: every free page goes, empty spans too. */
		mcentral_release_empty(h);
		g->released = mheap_scavenge(h, U64_MAX, U64_MAX) <<
			      MHEAP_PAGE_SHIFT;
	}
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

	mheap_lock(h);
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
				    MHEAP_GFP);
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
	u64 soft = c->soft_limit, hard = c->hard_limit;
	s32 percent = c->gc_percent;
	u32 trace = c->gctrace;

	if (c->flags & ~(GCHEAP_GC_SET_PERCENT | GCHEAP_GC_SET_TRACE |
			 GCHEAP_GC_SET_SOFT_LIMIT | GCHEAP_GC_SET_HARD_LIMIT))
		return -EINVAL;
	if ((c->flags & GCHEAP_GC_SET_PERCENT) && percent < GCHEAP_GC_OFF)
		return -EINVAL;
	if ((c->flags & GCHEAP_GC_SET_TRACE) && trace > 1)
		return -EINVAL;
	/* Limits count whole heap pages. */
	if (((c->flags & GCHEAP_GC_SET_SOFT_LIMIT) &&
	     soft % MHEAP_PAGE_SIZE) ||
	    ((c->flags & GCHEAP_GC_SET_HARD_LIMIT) && hard % MHEAP_PAGE_SIZE))
		return -EINVAL;

	mheap_lock(h);
	c->gc_percent = h->gc.gc_percent;
	c->gctrace = h->gc.gctrace;
	c->soft_limit = h->soft_limit;
	c->hard_limit = h->hard_limit;
	if (c->flags & GCHEAP_GC_SET_PERCENT)
		h->gc.gc_percent = percent;
	if (c->flags & GCHEAP_GC_SET_SOFT_LIMIT)
		h->soft_limit = soft;
	if (c->flags & GCHEAP_GC_SET_HARD_LIMIT)
		h->hard_limit = hard;
	/* As Go's SetGCPercent and SetMemoryLimit: the goal follows at once. */
	if (c->flags & ~GCHEAP_GC_SET_TRACE)
		h->gc.next_gc = mgc_goal(h, h->gc.heap_live);
	mheap_limits_release(h);
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
