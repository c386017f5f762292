// SPDX-License-Identifier: GPL-2.0
/*
 * gcheap: the /dev/gcheap front end.
 *
 * Each open() of the misc device creates one heap bound to the opener's mm;
 * one mmap() gives it its arena; the ioctls below run the heap operations of
 * mheap/ops.c on kernel copies of their arguments. The ioctl table follows
 * iommufd: one entry per command with the struct's size and the end of its
 * first version, and copy_struct_from_user() for extension.
 */
#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/pagemap.h>
#include <linux/poll.h>
#include <linux/uio.h>
#include <linux/sched/clock.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <linux/vmalloc.h>
#include "compat.h"
#include "gcheap_debugfs.h"
#include "mheap/mheap.h"
#include "mheap/arena.h"
#include "mgc/mgc.h"

#define CREATE_TRACE_POINTS
#include <trace/gcheap_events.h>

static unsigned long arena_max_mb = 64 * 1024;
module_param(arena_max_mb, ulong, 0644);
MODULE_PARM_DESC(arena_max_mb, "Longest arena one heap may map, in MiB (default 65536)");

module_param_named(gctrace, mgc_gctrace_default, bool, 0644);
MODULE_PARM_DESC(gctrace, "New heaps print a gctrace line per collection (default off)");

static unsigned int scavenge_delay_ms = 1000;
module_param(scavenge_delay_ms, uint, 0644);
MODULE_PARM_DESC(scavenge_delay_ms, "The background scavenger gives back the memory of spans free this long (default 1000 ms)");

/* limit_mb sets mheap_limit_total, in heap pages. */
static int gcheap_limit_set(const char *val, const struct kernel_param *kp)
{
	unsigned long mb;
	int ret = kstrtoul(val, 0, &mb);

	if (ret)
		return ret;
	if (mb > (ULONG_MAX >> 20))
		return -EINVAL;
	*(unsigned long *)kp->arg = mb;
	WRITE_ONCE(mheap_limit_total, (mb << 20) >> MHEAP_PAGE_SHIFT);
	return 0;
}

static const struct kernel_param_ops gcheap_limit_ops = {
	.set = gcheap_limit_set,
	.get = param_get_ulong,
};

static unsigned long limit_mb;
module_param_cb(limit_mb, &gcheap_limit_ops, &limit_mb, 0644);
MODULE_PARM_DESC(limit_mb, "Memory all heaps together may hold, in MiB (default 0: no limit)");

/* Spans the background sweeper sweeps per hold of mheap.lock. */
#define GCHEAP_SWEEP_BATCH	32
/* Heap pages the background scavenger releases per hold of mheap.lock. */
#define GCHEAP_SCAVENGE_BATCH	512
/* Longest a background worker waits for the program to take mheap.lock. */
#define GCHEAP_YIELD_NS		(200 * NSEC_PER_USEC)

/**
 * struct gcheap_heap - one open of /dev/gcheap
 * @mh: the heap
 * @mm: the mm that opened it; the only one allowed to use it (mmgrab()ed)
 * @mapping: the heap's own address_space (the file's f_mapping), so that
 *	zapping a freed span's pages reaches this heap's VMA and no other
 * @nmaps: VMAs of the arena alive (mremap's temporary copy counts); the
 *	arena is gone when it drops to zero
 * @sweeper: the background sweeper, queued after a lazy collection
 * @marker: the concurrent mark's worker, queued when a mark starts
 * @finq_wait: readers of the finalizer queue (read(), poll())
 * @scavenger: the background scavenger, queued while the heap holds idle
 *	memory
 * @node: on gcheap_heaps, for the shrinker and debugfs
 * @info: what debugfs shows of it
 * @roots_lock: held by a collection while it uses @roots_buf
 * @roots_buf: where collections copy the roots; kept from one to the next
 *	(gcheap_gc_read_roots())
 * @roots_cap: bytes at @roots_buf
 */
struct gcheap_heap {
	struct mheap mh;
	struct mm_struct *mm;
	struct address_space mapping;
	atomic_t nmaps;
	struct work_struct sweeper;
	struct work_struct marker;
	wait_queue_head_t finq_wait;
	struct delayed_work scavenger;
	struct list_head node;
	struct gcheap_heap_info info;
	struct mutex roots_lock;	/* @roots_buf, @roots_cap */
	void *roots_buf;
	size_t roots_cap;
};

/* The number of the next heap opened (mheap.id), from 1. */
static atomic_t gcheap_next_id = ATOMIC_INIT(0);

/*
 * Every heap, for the shrinker and debugfs. Nothing allocates memory while
 * holding the lock but debugfs readers, which the shrinker never waits for
 * (it only tries the lock).
 */
static LIST_HEAD(gcheap_heaps);
static DEFINE_MUTEX(gcheap_heaps_lock);

void gcheap_heaps_each(void (*fn)(struct gcheap_heap_info *hi, void *arg),
		       void *arg)
{
	struct gcheap_heap *heap;

	mutex_lock(&gcheap_heaps_lock);
	list_for_each_entry(heap, &gcheap_heaps, node)
		fn(&heap->info, arg);
	mutex_unlock(&gcheap_heaps_lock);
}

/*
 * Sweeping queues finalizer records (mgc.finq_added) under mheap.lock, in
 * any call or worker that sweeps; each of them wakes the fd's readers after
 * it dropped the lock, so none is woken while the records are out of reach.
 */
static void gcheap_finq_wake(struct gcheap_heap *heap)
{
	if (!READ_ONCE(heap->mh.gc.finq_added))
		return;
	WRITE_ONCE(heap->mh.gc.finq_added, false);
	wake_up_interruptible_poll(&heap->finq_wait, EPOLLIN | EPOLLRDNORM);
}

static void gcheap_scavenger_arm(struct gcheap_heap *heap);

static u64 gcheap_arena_max(void)
{
	unsigned long mb = READ_ONCE(arena_max_mb);

	return mb > (U64_MAX >> 20) ? U64_MAX : (u64)mb << 20;
}

/* ================ ioctls ================ */

struct gcheap_ucmd {
	struct gcheap_heap *heap;
	void __user *ubuffer;
	u32 user_size;
	void *cmd;
};

/* Write a reply back, no further than the caller's struct reaches. */
static int gcheap_ucmd_respond(struct gcheap_ucmd *ucmd, size_t len)
{
	if (copy_to_user(ucmd->ubuffer, ucmd->cmd, min_t(size_t, ucmd->user_size, len)))
		return -EFAULT;
	return 0;
}

/* Heap operations need the arena; mheap reports ENXIO before mmap(). */
static int gcheap_arena_ready(struct gcheap_heap *heap)
{
	bool mapped_once = READ_ONCE(heap->mh.arena_base);

	return mapped_once && !atomic_read(&heap->nmaps) ? -ENXIO : 0;
}

/* For operations that do not reach mheap's own check: ENXIO before mmap(). */
static int gcheap_arena_mapped(struct gcheap_heap *heap)
{
	return READ_ONCE(heap->mh.arena_base) ? gcheap_arena_ready(heap) : -ENXIO;
}

static int gcheap_ioctl_api(struct gcheap_ucmd *ucmd)
{
	struct gcheap_api *a = ucmd->cmd;

	if (a->flags || a->__reserved)
		return -EINVAL;
	mheap_op_api(&ucmd->heap->mh, a);
	/* Unmapped since: the heap has no arena any more. */
	if (gcheap_arena_ready(ucmd->heap)) {
		a->arena_base = 0;
		a->arena_size = 0;
	}
	a->arena_max = gcheap_arena_max();
	return gcheap_ucmd_respond(ucmd, sizeof(*a));
}

static int gcheap_ioctl_size_classes(struct gcheap_ucmd *ucmd)
{
	struct gcheap_size_classes *sc = ucmd->cmd;
	struct gcheap_size_class table[MHEAP_NUM_CLASSES];
	unsigned int i;
	int ret;

	if (sc->flags || sc->__reserved)
		return -EINVAL;
	if (sc->count < MHEAP_NUM_CLASSES) {
		sc->count = MHEAP_NUM_CLASSES;
		ret = gcheap_ucmd_respond(ucmd, sizeof(*sc));
		return ret ?: -ENOSPC;
	}
	for (i = 0; i < MHEAP_NUM_CLASSES; i++) {
		table[i].size = mheap_classes[i].size;
		table[i].npages = mheap_classes[i].npages;
	}
	if (copy_to_user(u64_to_user_ptr(sc->table), table, sizeof(table)))
		return -EFAULT;
	sc->count = MHEAP_NUM_CLASSES;
	return gcheap_ucmd_respond(ucmd, sizeof(*sc));
}

static int gcheap_ioctl_refill(struct gcheap_ucmd *ucmd)
{
	struct gcheap_refill *r = ucmd->cmd;
	int ret = gcheap_arena_ready(ucmd->heap);

	if (!ret)
		ret = mheap_op_refill(&ucmd->heap->mh, r);
	return ret ?: gcheap_ucmd_respond(ucmd, sizeof(*r));
}

static int gcheap_ioctl_alloc(struct gcheap_ucmd *ucmd)
{
	struct gcheap_alloc *a = ucmd->cmd;
	int ret = gcheap_arena_ready(ucmd->heap);

	if (!ret)
		ret = mheap_op_alloc(&ucmd->heap->mh, a);
	return ret ?: gcheap_ucmd_respond(ucmd, sizeof(*a));
}

static int gcheap_ioctl_free(struct gcheap_ucmd *ucmd)
{
	int ret = gcheap_arena_ready(ucmd->heap);

	return ret ?: mheap_op_free(&ucmd->heap->mh, ucmd->cmd);
}

static int gcheap_ioctl_lookup(struct gcheap_ucmd *ucmd)
{
	struct gcheap_lookup *l = ucmd->cmd;
	int ret = gcheap_arena_ready(ucmd->heap);

	if (!ret)
		ret = mheap_op_lookup(&ucmd->heap->mh, l);
	return ret ?: gcheap_ucmd_respond(ucmd, sizeof(*l));
}

static int gcheap_ioctl_stats(struct gcheap_ucmd *ucmd)
{
	struct gcheap_stats *st = ucmd->cmd;
	struct gcheap_class_stats *rows = NULL;
	struct gcheap_pause *pauses = NULL;
	int ret;

	if (st->flags || st->__reserved)
		return -EINVAL;
	ret = gcheap_arena_mapped(ucmd->heap);
	if (ret)
		return ret;
	if (st->by_class && st->nclasses < MHEAP_NUM_CLASSES) {
		st->nclasses = MHEAP_NUM_CLASSES;
		ret = gcheap_ucmd_respond(ucmd, sizeof(*st));
		return ret ?: -ENOSPC;
	}
	if (st->by_class) {
		rows = kcalloc(MHEAP_NUM_CLASSES, sizeof(*rows), GFP_KERNEL);
		if (!rows)
			return -ENOMEM;
	}
	if (st->pauses) {
		pauses = kcalloc(GCHEAP_NUM_PAUSES, sizeof(*pauses), GFP_KERNEL);
		if (!pauses) {
			kfree(rows);
			return -ENOMEM;
		}
	}
	ret = mheap_op_stats(&ucmd->heap->mh, st, rows,
			     rows ? MHEAP_NUM_CLASSES : 0, pauses);
	if (!ret && rows &&
	    copy_to_user(u64_to_user_ptr(st->by_class), rows,
			 MHEAP_NUM_CLASSES * sizeof(*rows)))
		ret = -EFAULT;
	if (!ret && pauses &&
	    copy_to_user(u64_to_user_ptr(st->pauses), pauses,
			 GCHEAP_NUM_PAUSES * sizeof(*pauses)))
		ret = -EFAULT;
	kfree(pauses);
	kfree(rows);
	return ret ?: gcheap_ucmd_respond(ucmd, sizeof(*st));
}

/* Copy what can be read of a root range, page by page; the rest is zero. */
static void gcheap_read_partly(void *dst, u64 src, u64 len)
{
	u64 done = 0;

	while (done < len) {
		u64 n = min_t(u64, len - done, PAGE_SIZE - ((src + done) & ~PAGE_MASK));

		if (copy_from_user(dst + done, u64_to_user_ptr(src + done), n))
			memset(dst + done, 0, n);
		done += n;
	}
}

static int gcheap_ioctl_roots(struct gcheap_ucmd *ucmd)
{
	struct gcheap_roots *r = ucmd->cmd;
	int ret = gcheap_arena_ready(ucmd->heap);

	if (ret)
		return ret;
	if (r->hi > TASK_SIZE_MAX || r->lo >= r->hi)
		return -EINVAL;
	return mgc_op_roots(&ucmd->heap->mh, r);
}

/*
 * Read the roots of a collection into kernel memory before the heap is
 * locked: reading user memory may fault, and the fault handler takes
 * mheap.lock. Unreadable parts of a range are scanned as zeros.
 *
 * The copy goes to a buffer the heap keeps (gcheap_heap.roots_buf, under
 * roots_lock, which the caller holds), charged to the memory cgroup like
 * the rest of the heap's memory and grown with room to spare: a cgroup at
 * memory.max cannot pay for a fresh copy, and the collection is what would
 * make room.
 */
static int gcheap_gc_read_roots(struct gcheap_heap *heap,
				const struct gcheap_gc *g,
				struct gcheap_range **rangesp, u32 *nrangesp,
				struct mgc_root **rootsp, void **bufp)
{
	struct mheap *h = &heap->mh;
	struct gcheap_range *ranges;
	struct mgc_root *roots;
	u64 total = 0, off = 0;
	u32 i, n, nreg;
	void *buf;

	if (g->nroots > GCHEAP_MAX_ROOTS)
		return -E2BIG;
	mheap_lock(h);
	nreg = h->gc.nroots;
	n = nreg + g->nroots;
	ranges = kvcalloc(n ?: 1, sizeof(*ranges), GFP_KERNEL);
	if (ranges && nreg)
		memcpy(ranges, h->gc.roots, nreg * sizeof(*ranges));
	mutex_unlock(&h->lock);
	if (!ranges)
		return -ENOMEM;
	if (g->nroots && copy_from_user(ranges + nreg, u64_to_user_ptr(g->roots),
					 g->nroots * sizeof(*ranges))) {
		kvfree(ranges);
		return -EFAULT;
	}
	for (i = 0; i < n; i++) {
		u64 lo = ALIGN(ranges[i].lo, 8), hi = ALIGN_DOWN(ranges[i].hi, 8);

		if (hi <= lo || hi > TASK_SIZE_MAX) {
			ranges[i].lo = ranges[i].hi = 0;
			continue;
		}
		ranges[i].lo = lo;
		ranges[i].hi = hi;
		total += hi - lo;
	}
	if (total > GCHEAP_MAX_ROOT_BYTES) {
		kvfree(ranges);
		return -E2BIG;
	}
	roots = kvcalloc(n ?: 1, sizeof(*roots), GFP_KERNEL);
	if (roots && total > heap->roots_cap) {
		size_t cap = round_up(total + total / 8, SZ_64K);

		buf = kvmalloc(cap, MHEAP_GFP);
		if (buf) {
			kvfree(heap->roots_buf);
			heap->roots_buf = buf;
			heap->roots_cap = cap;
		}
	}
	buf = heap->roots_buf;
	if (!roots || total > heap->roots_cap) {
		kvfree(roots);
		kvfree(ranges);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		u64 len = ranges[i].hi - ranges[i].lo;

		roots[i].words = buf + off;
		roots[i].len = len;
		if (len && copy_from_user(buf + off, u64_to_user_ptr(ranges[i].lo), len))
			gcheap_read_partly(buf + off, ranges[i].lo, len);
		off += len;
		cond_resched();
	}
	*rangesp = ranges;
	*nrangesp = n;
	*rootsp = roots;
	*bufp = buf;
	return 0;
}

/*
 * Links in root memory whose objects the collection found unreachable are
 * cleared here, in the heap's own process, outside mheap.lock (the
 * collector leaves them in mgc.link_clears). Returns how many could not
 * be written: their page is gone, which is the program's business.
 */
static unsigned int gcheap_clear_root_links(struct gcheap_heap *heap)
{
	unsigned int i, n, bad = 0;
	u64 *addrs;

	mheap_lock(&heap->mh);
	n = mgc_links_pending(&heap->mh, &addrs);
	mutex_unlock(&heap->mh.lock);
	for (i = 0; i < n; i++)
		bad += !!put_user(0ULL, (u64 __user *)(uintptr_t)addrs[i]);
	kvfree(addrs);
	return bad;
}

static int gcheap_ioctl_gc(struct gcheap_ucmd *ucmd)
{
	struct gcheap_heap *heap = ucmd->heap;
	struct gcheap_gc *g = ucmd->cmd;
	struct gcheap_range *ranges;
	struct mgc_root *roots;
	void *buf;
	u32 n;
	int ret = gcheap_arena_ready(heap);

	if (ret)
		return ret;
	if (g->flags & ~MGC_GC_FLAGS || g->__reserved || g->__reserved2)
		return -EINVAL;
	mutex_lock(&heap->roots_lock);
	ret = gcheap_gc_read_roots(heap, g, &ranges, &n, &roots, &buf);
	if (ret) {
		mutex_unlock(&heap->roots_lock);
		return ret;
	}
	/* The dirty-bit walks of a concurrent collection need mmap_lock. */
	mmap_read_lock(heap->mm);
	ret = mgc_op_gc(&heap->mh, g, roots, n);
	mmap_read_unlock(heap->mm);
	mutex_unlock(&heap->roots_lock);
	gcheap_clear_root_links(heap);
	kvfree(roots);
	kvfree(ranges);
	if (!ret && (g->out_flags & GCHEAP_GC_MARKING))
		queue_work(system_unbound_wq, &heap->marker);
	else if (!ret && (g->flags & GCHEAP_GC_NOSWEEP))
		queue_work(system_unbound_wq, &heap->sweeper);
	return ret ?: gcheap_ucmd_respond(ucmd, sizeof(*g));
}

static int gcheap_ioctl_gc_config(struct gcheap_ucmd *ucmd)
{
	struct gcheap_gc_config *c = ucmd->cmd;
	int ret = mgc_op_config(&ucmd->heap->mh, c);

	return ret ?: gcheap_ucmd_respond(ucmd, sizeof(*c));
}

static int gcheap_ioctl_finalizer(struct gcheap_ucmd *ucmd)
{
	return gcheap_arena_mapped(ucmd->heap) ?:
	       mgc_op_finalizer(&ucmd->heap->mh, ucmd->cmd);
}

static int gcheap_ioctl_link(struct gcheap_ucmd *ucmd)
{
	return gcheap_arena_mapped(ucmd->heap) ?:
	       mgc_op_link(&ucmd->heap->mh, ucmd->cmd);
}

static int gcheap_ioctl_profile(struct gcheap_ucmd *ucmd)
{
	struct gcheap_profile *p = ucmd->cmd;
	struct gcheap_profile_count *counts;
	int ret = mgc_profile_check(p) ?: gcheap_arena_mapped(ucmd->heap);

	if (ret)
		return ret;
	if (p->op == GCHEAP_PROFILE_ADD)
		return mgc_op_profile_add(&ucmd->heap->mh, p);
	counts = kvmalloc_array(max(p->count, 1U), sizeof(*counts),
				MHEAP_GFP);
	if (!counts)
		return -ENOMEM;
	p->count = mgc_profile_read(&ucmd->heap->mh, p->bucket, p->count,
				    counts);
	if (copy_to_user(u64_to_user_ptr(p->buf), counts,
			 p->count * sizeof(*counts)))
		ret = -EFAULT;
	kvfree(counts);
	return ret ?: gcheap_ucmd_respond(ucmd, sizeof(*p));
}

/*
 * The dump is made in kernel memory first: user memory is not written
 * under mheap.lock (a fault on the arena would take it).
 */
static int gcheap_ioctl_dump(struct gcheap_ucmd *ucmd)
{
	struct gcheap_dump *d = ucmd->cmd;
	size_t need = 0, len;
	void *buf;
	int ret;

	if (d->flags)
		return -EINVAL;
	ret = gcheap_arena_mapped(ucmd->heap);
	if (ret)
		return ret;
	ret = mgc_dump(&ucmd->heap->mh, NULL, 0, &need);
	if (ret != -ENOSPC)
		return ret;
	if (d->len < need) {
		d->len = need;
		return gcheap_ucmd_respond(ucmd, sizeof(*d)) ?: -ENOSPC;
	}
	ret = mgc_dump_alloc(&ucmd->heap->mh, need, &buf, &len);
	if (ret)
		return ret;
	if (len > d->len) {
		/* The heap grew meanwhile. */
		d->len = len;
		ret = gcheap_ucmd_respond(ucmd, sizeof(*d)) ?: -ENOSPC;
	} else if (copy_to_user(u64_to_user_ptr(d->buf), buf, len)) {
		ret = -EFAULT;
	} else {
		d->len = len;
		ret = gcheap_ucmd_respond(ucmd, sizeof(*d));
	}
	kvfree(buf);
	return ret;
}

union gcheap_ucmd_buffer {
	struct gcheap_api api;
	struct gcheap_size_classes size_classes;
	struct gcheap_refill refill;
	struct gcheap_alloc alloc;
	struct gcheap_free free;
	struct gcheap_lookup lookup;
	struct gcheap_stats stats;
	struct gcheap_roots roots;
	struct gcheap_gc gc;
	struct gcheap_gc_config gc_config;
	struct gcheap_finalizer finalizer;
	struct gcheap_link link;
	struct gcheap_profile profile;
	struct gcheap_dump dump;
};

struct gcheap_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	unsigned int ioctl_num;
	int (*execute)(struct gcheap_ucmd *ucmd);
};

#define GCHEAP_IOCTL_OP(_ioctl, _fn, _struct, _last)                          \
	[_IOC_NR(_ioctl) - GCHEAP_CMD_API] = {                                 \
		.size = sizeof(_struct) +                                      \
			BUILD_BUG_ON_ZERO(sizeof(union gcheap_ucmd_buffer) <   \
					  sizeof(_struct)),                    \
		.min_size = offsetofend(_struct, _last),                       \
		.ioctl_num = _ioctl,                                           \
		.execute = _fn,                                                \
	}

/* min_size: the end of each struct's first version; never lower it. */
static const struct gcheap_ioctl_op gcheap_ioctl_ops[] = {
	GCHEAP_IOCTL_OP(GCHEAP_IOC_API, gcheap_ioctl_api, struct gcheap_api,
			span_max_elems),
	GCHEAP_IOCTL_OP(GCHEAP_IOC_SIZE_CLASSES, gcheap_ioctl_size_classes,
			struct gcheap_size_classes, table),
	GCHEAP_IOCTL_OP(GCHEAP_IOC_REFILL, gcheap_ioctl_refill,
			struct gcheap_refill, free),
	GCHEAP_IOCTL_OP(GCHEAP_IOC_ALLOC, gcheap_ioctl_alloc,
			struct gcheap_alloc, usable),
	GCHEAP_IOCTL_OP(GCHEAP_IOC_FREE, gcheap_ioctl_free, struct gcheap_free,
			addr),
	GCHEAP_IOCTL_OP(GCHEAP_IOC_LOOKUP, gcheap_ioctl_lookup,
			struct gcheap_lookup, __reserved),
	GCHEAP_IOCTL_OP(GCHEAP_IOC_STATS, gcheap_ioctl_stats,
			struct gcheap_stats, bad_frees),
	GCHEAP_IOCTL_OP(GCHEAP_IOC_ROOTS, gcheap_ioctl_roots,
			struct gcheap_roots, hi),
	GCHEAP_IOCTL_OP(GCHEAP_IOC_GC, gcheap_ioctl_gc, struct gcheap_gc,
			overflows),
	GCHEAP_IOCTL_OP(GCHEAP_IOC_GC_CONFIG, gcheap_ioctl_gc_config,
			struct gcheap_gc_config, gctrace),
	GCHEAP_IOCTL_OP(GCHEAP_IOC_FINALIZER, gcheap_ioctl_finalizer,
			struct gcheap_finalizer, arg),
	GCHEAP_IOCTL_OP(GCHEAP_IOC_LINK, gcheap_ioctl_link, struct gcheap_link,
			obj),
	GCHEAP_IOCTL_OP(GCHEAP_IOC_PROFILE, gcheap_ioctl_profile,
			struct gcheap_profile, buf),
	GCHEAP_IOCTL_OP(GCHEAP_IOC_DUMP, gcheap_ioctl_dump, struct gcheap_dump,
			len),
};

static long gcheap_fops_ioctl(struct file *filp, unsigned int cmd,
			      unsigned long arg)
{
	struct gcheap_heap *heap = filp->private_data;
	const struct gcheap_ioctl_op *op;
	union gcheap_ucmd_buffer buf;
	struct gcheap_ucmd ucmd = {
		.heap = heap,
		.ubuffer = (void __user *)arg,
		.cmd = &buf,
	};
	unsigned int nr = _IOC_NR(cmd);
	int ret;

	if (nr < GCHEAP_CMD_API || nr - GCHEAP_CMD_API >= ARRAY_SIZE(gcheap_ioctl_ops))
		return -ENOTTY;
	op = &gcheap_ioctl_ops[nr - GCHEAP_CMD_API];
	if (op->ioctl_num != cmd)
		return -ENOTTY;
	if (current->mm != heap->mm)
		return -EPERM;

	ret = get_user(ucmd.user_size, (u32 __user *)ucmd.ubuffer);
	if (ret)
		return ret;
	if (ucmd.user_size < op->min_size)
		return -EINVAL;
	ret = copy_struct_from_user(ucmd.cmd, op->size, ucmd.ubuffer,
				    ucmd.user_size);
	if (ret)
		return ret;
	ret = op->execute(&ucmd);
	gcheap_finq_wake(heap);
	gcheap_scavenger_arm(heap);
	return ret;
}

/* ================ the finalizer queue: read, poll ================ */

/* Records one read() takes at most. */
#define GCHEAP_READ_BATCH	64

static ssize_t gcheap_fops_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct gcheap_heap *heap = iocb->ki_filp->private_data;
	struct gcheap_final *recs;
	size_t max = iov_iter_count(to) / sizeof(*recs);
	LIST_HEAD(taken);
	unsigned int n;
	ssize_t ret;

	if (current->mm != heap->mm)
		return -EPERM;
	if (!max)
		return -EINVAL;
	max = min_t(size_t, max, GCHEAP_READ_BATCH);
	recs = kmalloc_array(max, sizeof(*recs), GFP_KERNEL);
	if (!recs)
		return -ENOMEM;
	for (;;) {
		n = mgc_finq_take(&heap->mh, &taken, recs, max);
		if (n)
			break;
		ret = -EAGAIN;
		if ((iocb->ki_filp->f_flags & O_NONBLOCK) ||
		    (iocb->ki_flags & IOCB_NOWAIT))
			goto out;
		ret = wait_event_interruptible(heap->finq_wait,
					       mgc_finq_ready(&heap->mh));
		if (ret)
			goto out;
	}
	ret = n * sizeof(*recs);
	/* A record not copied out goes back to the queue: none is lost. */
	if (copy_to_iter(recs, ret, to) != ret)
		ret = -EFAULT;
	mgc_finq_finish(&heap->mh, &taken, n, ret > 0);
	if (ret < 0)
		gcheap_finq_wake(heap);
out:
	kfree(recs);
	return ret;
}

static __poll_t gcheap_fops_poll(struct file *filp, poll_table *wait)
{
	struct gcheap_heap *heap = filp->private_data;

	poll_wait(filp, &heap->finq_wait, wait);
	return mgc_finq_ready(&heap->mh) ? EPOLLIN | EPOLLRDNORM : 0;
}

/* ================ mmap ================ */

/*
 * The page is inserted with mheap.lock held, so a span freed concurrently
 * (which zaps its pages under the same lock) cannot leave a page of a free
 * span mapped.
 */
static vm_fault_t gcheap_vm_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct gcheap_heap *heap = vma->vm_private_data;
	unsigned long off = vmf->address - vma->vm_start;
	vm_fault_t ret = VM_FAULT_NOPAGE;
	struct page *page;
	int err;

	mheap_lock(&heap->mh);
	if (!mheap_page_inuse(&heap->mh, off >> MHEAP_PAGE_SHIFT)) {
		ret = VM_FAULT_SIGBUS;
		goto out;
	}
	page = mheap_arena_page(&heap->mh, off >> PAGE_SHIFT, true);
	if (!page) {
		ret = VM_FAULT_OOM;
		goto out;
	}
	err = vm_insert_page(vma, vmf->address & PAGE_MASK, page);
	/* -EBUSY: another thread mapped it first. */
	if (err && err != -EBUSY)
		ret = vmf_error(err);
out:
	mutex_unlock(&heap->mh.lock);
	return ret;
}

/*
 * The heap's metadata describes the arena at one address and one length, so
 * the mapping may not be split, moved or grown (VM_DONTEXPAND).
 */
static int gcheap_vm_may_split(struct vm_area_struct *vma, unsigned long addr)
{
	return -EINVAL;
}

static int gcheap_vm_mremap(struct vm_area_struct *vma)
{
	return -EINVAL;
}

/* Only a refused mremap() copies the VMA (and closes the copy again). */
static void gcheap_vm_open(struct vm_area_struct *vma)
{
	struct gcheap_heap *heap = vma->vm_private_data;

	atomic_inc(&heap->nmaps);
}

static void gcheap_vm_close(struct vm_area_struct *vma)
{
	struct gcheap_heap *heap = vma->vm_private_data;

	atomic_dec(&heap->nmaps);
}

static const struct vm_operations_struct gcheap_vm_ops = {
	.fault = gcheap_vm_fault,
	.may_split = gcheap_vm_may_split,
	.mremap = gcheap_vm_mremap,
	.open = gcheap_vm_open,
	.close = gcheap_vm_close,
};

/*
 * Heap pages are 8 KiB: place the arena on an 8 KiB boundary by asking for
 * one heap page more and rounding up, as thp_get_unmapped_area() does for
 * huge pages.
 */
static unsigned long gcheap_fops_get_unmapped_area(struct file *filp,
						   unsigned long addr,
						   unsigned long len,
						   unsigned long pgoff,
						   unsigned long flags)
{
	unsigned long ret;

	if (flags & MAP_FIXED)
		return addr;	/* gcheap_fops_mmap() checks its alignment */
	if (len > TASK_SIZE - MHEAP_PAGE_SIZE)
		return -ENOMEM;
	if (addr && IS_ALIGNED(addr, MHEAP_PAGE_SIZE)) {
		ret = gcheap_mm_get_unmapped_area(filp, addr, len, pgoff, flags);
		if (ret == addr)
			return ret;
	}
	ret = gcheap_mm_get_unmapped_area(filp, 0, len + MHEAP_PAGE_SIZE, pgoff,
					  flags);
	if (IS_ERR_VALUE(ret))
		return ret;
	return ALIGN(ret, MHEAP_PAGE_SIZE);
}

static int gcheap_fops_mmap(struct file *filp, struct vm_area_struct *vma)
{
	struct gcheap_heap *heap = filp->private_data;
	unsigned long len = vma->vm_end - vma->vm_start;
	int ret;

	if (current->mm != heap->mm || vma->vm_mm != heap->mm)
		return -EPERM;
	if (!(vma->vm_flags & VM_SHARED) || vma->vm_pgoff ||
	    !IS_ALIGNED(len, MHEAP_PAGE_SIZE) ||
	    !IS_ALIGNED(vma->vm_start, MHEAP_PAGE_SIZE))
		return -EINVAL;
	if (len > gcheap_arena_max())
		return -EFBIG;
	ret = mheap_set_arena(&heap->mh, vma->vm_start, len);
	if (ret)
		return ret;
	mheap_arena_set_mapping(&heap->mh, &heap->mapping, heap->mm);
	/*
	 * A forked child gets no view of the heap's pages (DONTCOPY); pages
	 * are inserted by the fault handler (MIXEDMAP), refcounted and
	 * counted in the process's RSS.
	 */
	gcheap_vm_flags_set(vma, VM_DONTCOPY | VM_DONTEXPAND | VM_MIXEDMAP);
	vma->vm_ops = &gcheap_vm_ops;
	vma->vm_private_data = heap;
	atomic_set(&heap->nmaps, 1);
	return 0;
}

/* ================ background workers ================ */

/*
 * Between two batches of a background worker: let the program's calls that
 * wait for mheap.lock have it first. A mutex is not fair; a worker that took
 * it again at once could keep an allocation waiting batch after batch.
 */
static void gcheap_lock_yield(struct mheap *h)
{
	u64 until = local_clock() + GCHEAP_YIELD_NS;

	while (mheap_lock_wanted(h) && !need_resched() &&
	       local_clock() < until)
		cpu_relax();
	cond_resched();
}

/*
 * After a lazy collection, sweep in batches, dropping the lock between them
 * so refills and faults of the heap's threads are not held up.
 */
static void gcheap_sweeper(struct work_struct *work)
{
	struct gcheap_heap *heap = container_of(work, struct gcheap_heap, sweeper);
	struct mheap *h = &heap->mh;
	unsigned long done;

	do {
		u64 t0 = mgc_now_ns();

		mutex_lock(&h->lock);
		done = mgc_sweep_some(h, GCHEAP_SWEEP_BATCH);
		h->gc.gc_cpu_ns += mgc_now_ns() - t0;
		mutex_unlock(&h->lock);
		gcheap_finq_wake(heap);
		gcheap_lock_yield(h);
	} while (done);
	gcheap_scavenger_arm(heap);
}

/*
 * Precleaning: take the pages the program wrote so far (their dirty bits
 * start anew). The mm's page tables must stay while they are walked; the
 * last reference, if the program is exiting, is dropped asynchronously,
 * since its teardown may wait for this worker.
 */
static long gcheap_preclean(struct gcheap_heap *heap, u64 cycle)
{
	long taken;

	if (!mmget_not_zero(heap->mm))
		return -ESRCH;
	mmap_read_lock(heap->mm);
	taken = mgc_preclean(&heap->mh, cycle);
	mmap_read_unlock(heap->mm);
	mmput_async(heap->mm);
	return taken;
}

/* The concurrent mark's worker (mgc_mark_worker()), queued when it starts. */
static long gcheap_marker_preclean(struct mheap *h, u64 cycle, void *ctx)
{
	return gcheap_preclean(ctx, cycle);
}

static void gcheap_marker(struct work_struct *work)
{
	struct gcheap_heap *heap = container_of(work, struct gcheap_heap, marker);

	mgc_mark_worker(&heap->mh, gcheap_marker_preclean, gcheap_lock_yield,
			heap);
}

/*
 * The background scavenger gives back the memory of spans free for
 * scavenge_delay_ms or longer, in batches, and comes back for the spans
 * freed since, until the heap holds no idle memory. Go's scavenger also
 * paces itself to about 1% of a CPU; here releasing is a list walk and
 * freeing pages, and a batch of 4 MiB takes well under a millisecond.
 */
static void gcheap_scavenger(struct work_struct *work)
{
	struct gcheap_heap *heap = container_of(to_delayed_work(work),
						struct gcheap_heap, scavenger);
	u64 delay = (u64)READ_ONCE(scavenge_delay_ms) * NSEC_PER_MSEC;
	struct mheap *h = &heap->mh;
	u64 done, idle;

	do {
		u64 now = mgc_now_ns();

		mutex_lock(&h->lock);
		/* Empty spans go to the page heap, to be given back next time. */
		mcentral_release_empty(h);
		done = mheap_scavenge(h, now > delay ? now - delay : 0,
				      GCHEAP_SCAVENGE_BATCH);
		idle = mheap_idle_held(h) + h->empty_spans;
		mutex_unlock(&h->lock);
		gcheap_lock_yield(h);
	} while (done >= GCHEAP_SCAVENGE_BATCH);
	if (idle)
		queue_delayed_work(system_unbound_wq, &heap->scavenger,
				   msecs_to_jiffies(READ_ONCE(scavenge_delay_ms) / 2 + 1));
}

/* After a call or worker that may have freed spans. */
static void gcheap_scavenger_arm(struct gcheap_heap *heap)
{
	struct mheap *h = &heap->mh;

	/* Unlocked reads: a stale answer only delays the scavenger. */
	if ((READ_ONCE(h->pages_free) == READ_ONCE(h->pages_released) &&
	     !READ_ONCE(h->empty_spans)) ||
	    delayed_work_pending(&heap->scavenger))
		return;
	queue_delayed_work(system_unbound_wq, &heap->scavenger,
			   msecs_to_jiffies(READ_ONCE(scavenge_delay_ms)));
}

/*
 * The shrinker: under memory pressure, the idle memory of every heap goes
 * back, and each heap's next refill asks its library for a collection
 * (mgc.requested), which frees more for the scavenger. Heaps whose lock is
 * taken are passed over: reclaim must not wait for a collection.
 */
static unsigned long gcheap_shrink_count(struct shrinker *shrink,
					 struct shrink_control *sc)
{
	struct gcheap_heap *heap;
	unsigned long n = 0;

	if (!mutex_trylock(&gcheap_heaps_lock))
		return 0;
	/* An empty span is one heap page at least. */
	list_for_each_entry(heap, &gcheap_heaps, node)
		n += READ_ONCE(heap->mh.pages_free) -
		     READ_ONCE(heap->mh.pages_released) +
		     READ_ONCE(heap->mh.empty_spans);
	mutex_unlock(&gcheap_heaps_lock);
	n *= MHEAP_PAGE_SIZE / PAGE_SIZE;
	return n ?: SHRINK_EMPTY;
}

static unsigned long gcheap_shrink_scan(struct shrinker *shrink,
					struct shrink_control *sc)
{
	const unsigned long per = MHEAP_PAGE_SIZE / PAGE_SIZE;
	struct gcheap_heap *heap;
	unsigned long freed = 0;

	if (!mutex_trylock(&gcheap_heaps_lock))
		return SHRINK_STOP;
	list_for_each_entry(heap, &gcheap_heaps, node) {
		struct mheap *h = &heap->mh;

		if (!mutex_trylock(&h->lock))
			continue;
		if (freed < sc->nr_to_scan) {
			mcentral_release_empty(h);
			freed += per * mheap_scavenge(h, U64_MAX,
					DIV_ROUND_UP(sc->nr_to_scan - freed, per));
		}
		h->gc.requested = true;
		mutex_unlock(&h->lock);
	}
	mutex_unlock(&gcheap_heaps_lock);
	return freed ?: SHRINK_STOP;
}

/* ================ open / release ================ */

static int gcheap_fops_open(struct inode *inode, struct file *filp)
{
	struct gcheap_heap *heap;

	if (!current->mm)
		return -EPERM;
	heap = kzalloc(sizeof(*heap), MHEAP_GFP);
	if (!heap)
		return -ENOMEM;
	mheap_init(&heap->mh);
	heap->mh.id = atomic_inc_return(&gcheap_next_id);
	heap->mm = current->mm;
	mmgrab(heap->mm);
	/*
	 * All heaps share the device inode; each gets an address_space of its
	 * own so that unmap_mapping_range() on it reaches only its arena.
	 */
	address_space_init_once(&heap->mapping);
	heap->mapping.host = inode;
	heap->mapping.a_ops = &empty_aops;
	filp->f_mapping = &heap->mapping;
	mutex_init(&heap->roots_lock);
	INIT_WORK(&heap->sweeper, gcheap_sweeper);
	INIT_WORK(&heap->marker, gcheap_marker);
	INIT_DELAYED_WORK(&heap->scavenger, gcheap_scavenger);
	init_waitqueue_head(&heap->finq_wait);
	heap->info.mh = &heap->mh;
	heap->info.pid = task_tgid_vnr(current);
	gcheap_debugfs_heap_add(&heap->info);
	mutex_lock(&gcheap_heaps_lock);
	list_add(&heap->node, &gcheap_heaps);
	mutex_unlock(&gcheap_heaps_lock);
	filp->private_data = heap;
	/* read() honours RWF_NOWAIT (preadv2()) as it does O_NONBLOCK. */
	filp->f_mode |= FMODE_NOWAIT;
	return nonseekable_open(inode, filp);
}

static int gcheap_fops_release(struct inode *inode, struct file *filp)
{
	struct gcheap_heap *heap = filp->private_data;

	/* The mapping holds the file, so no page is mapped any more. */
	cancel_work_sync(&heap->sweeper);
	/* A mark in progress ends here, so the worker stops at its next batch. */
	mutex_lock(&heap->mh.lock);
	mgc_abort(&heap->mh);
	mutex_unlock(&heap->mh.lock);
	cancel_work_sync(&heap->marker);
	mutex_lock(&gcheap_heaps_lock);
	list_del(&heap->node);
	mutex_unlock(&gcheap_heaps_lock);
	gcheap_debugfs_heap_remove(&heap->info);
	cancel_delayed_work_sync(&heap->scavenger);
	mheap_destroy(&heap->mh);
	mmdrop(heap->mm);
	kvfree(heap->roots_buf);
	kfree(heap);
	return 0;
}

static const struct file_operations gcheap_fops = {
	.owner = THIS_MODULE,
	.open = gcheap_fops_open,
	.release = gcheap_fops_release,
	.unlocked_ioctl = gcheap_fops_ioctl,
	.read_iter = gcheap_fops_read_iter,
	.poll = gcheap_fops_poll,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = gcheap_fops_mmap,
	.get_unmapped_area = gcheap_fops_get_unmapped_area,
	.llseek = no_llseek,
};

static struct miscdevice gcheap_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "gcheap",
	.fops = &gcheap_fops,
	.mode = 0666,
};

static struct shrinker *gcheap_shrinker;

static int __init gcheap_init(void)
{
	int ret = mheap_sizeclass_init();

	if (WARN_ON(ret))
		return ret;
	gcheap_shrinker = gcheap_shrinker_register("gcheap", gcheap_shrink_count,
						   gcheap_shrink_scan);
	if (!gcheap_shrinker)
		return -ENOMEM;
	gcheap_debugfs_init();
	ret = misc_register(&gcheap_misc);
	if (ret) {
		gcheap_debugfs_exit();
		gcheap_shrinker_unregister(gcheap_shrinker);
	}
	return ret;
}

static void __exit gcheap_exit(void)
{
	misc_deregister(&gcheap_misc);
	gcheap_debugfs_exit();
	gcheap_shrinker_unregister(gcheap_shrinker);
}

module_init(gcheap_init);
module_exit(gcheap_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("gcheap: a garbage-collected heap for user processes");
MODULE_AUTHOR("The gcheap developers");
