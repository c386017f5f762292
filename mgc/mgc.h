/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mgc: the collector: conservative mark from roots, sweep with Go's sweep
 * generations, pacing, statistics. Private to the module and the hosted
 * build; all state is in struct mgc inside struct mheap, under mheap.lock
 * (see mheap/mheap.h for the lock order).
 */
#ifndef _GCHEAP_MGC_H
#define _GCHEAP_MGC_H

#include <linux/cpumask.h>
#include "../mheap/mheap.h"

/* Mark work list entries (grey objects), 1 MiB of kernel memory. */
#define MGC_WORK_MAX		65536
/* Go's heap minimum: no automatic collection below 4 MiB. */
#define MGC_HEAP_MINIMUM	(4ULL << 20)
#define MGC_DEFAULT_PERCENT	100

/*
 * Go's GCCPUFraction, in 1/@scale (100: percent): the collector's CPU time
 * over the time of every online CPU since the heap was made (@age_ns).
 */
static inline u64 mgc_cpu_share(u64 gc_cpu_ns, u64 age_ns, u64 scale)
{
	u64 cpu_time = age_ns * num_online_cpus();

	return cpu_time ? gc_cpu_ns * scale / cpu_time : 0;
}

/* The flags GCHEAP_IOC_GC knows. */
#define MGC_GC_FLAGS		(GCHEAP_GC_NOSWEEP | GCHEAP_GC_CONCURRENT | \
				 GCHEAP_GC_RELEASE)

/* mgc.phase */
#define MGC_PHASE_OFF		0
#define MGC_PHASE_MARK		1	/* a concurrent mark runs */

/*
 * A concurrent mark starts when the heap has used this many eighths of its
 * runway to the goal (Go's trigger), so that it can end before the goal.
 */
#define MGC_TRIGGER_EIGHTHS	5
/*
 * A concurrent mark is near when the heap is within this many 64ths of the
 * runway of its trigger (mgc_mark_near()).
 */
#define MGC_NEAR_SIXTYFOURTHS	12
/* Words the background marker scans per hold of mheap.lock... */
#define MGC_MARK_BATCH		BIT(15)
/*
 * ...and per scan without it, between looks at the mark's state: the worker
 * mostly scans until its work runs out.
 */
#define MGC_MARK_BG_BATCH	BIT(20)
/* Words an allocation's assist scans at most, and at least. */
#define MGC_ASSIST_MAX		BIT(18)
#define MGC_ASSIST_MIN		BIT(10)
/* Precleaning rounds of a concurrent mark, and the fewest pages worth one. */
#define MGC_PRECLEAN_ROUNDS	4
#define MGC_PRECLEAN_MIN_PAGES	64
/*
 * Eighths of its runway by which a concurrent mark's tracing should end: all
 * of it, since assists that force an earlier end take mheap.lock from the
 * worker and mark in its place rather than beside it.
 */
#define MGC_ASSIST_LEAD_EIGHTHS	8

/**
 * struct mgc_mark_result - what a mark found
 * @objects: objects marked, allocate-black ones included
 * @bytes: their bytes
 * @overflows: work-list overflows recovered from
 * @scan_words: words scanned, by every marker, roots and rescans included
 * @nroots: root ranges scanned: registered ones and the caller's (for the
 *	mark_done trace event)
 */
struct mgc_mark_result {
	u64 objects;
	u64 bytes;
	u64 overflows;
	u64 scan_words;
	u32 nroots;
};

/**
 * struct mgc_root - memory to scan as roots, in the kernel's view
 * @words: the words (a kernel copy of user memory, or in the hosted build
 *	the memory itself); 8-byte aligned
 * @len: bytes
 */
struct mgc_root {
	const void *words;
	size_t len;
};

/**
 * struct mgc_times - clocks of one collection, for pacing and gctrace
 * @start_mono: CLOCK_MONOTONIC at its start
 * @wall_ns: wall-clock time per phase: finish sweep, mark, termination+sweep
 */
struct mgc_times {
	u64 start_mono;
	u64 wall_ns[3];
};

/* gc.c */
void mgc_init(struct mheap *h);
void mgc_destroy(struct mheap *h);
int mgc_op_gc(struct mheap *h, struct gcheap_gc *g,
	      const struct mgc_root *roots, unsigned int nroots);
int mgc_op_roots(struct mheap *h, const struct gcheap_roots *r);
int mgc_op_config(struct mheap *h, struct gcheap_gc_config *c);
bool mgc_due(struct mheap *h);
bool mgc_mark_near(struct mheap *h);
u64 mgc_heap_alloc(struct mheap *h);
void mgc_stats(struct mheap *h, struct gcheap_stats *st,
	       struct gcheap_pause *pauses);
u64 mgc_now_ns(void);
u64 mgc_realtime_ns(void);
extern bool mgc_gctrace_default;

/* mgc_mark_background() */
#define MGC_BG_IDLE		0
#define MGC_BG_MORE		1
#define MGC_BG_DRAINED		2
int mgc_mark_background(struct mheap *h, u64 *cycle);
long mgc_preclean(struct mheap *h, u64 cycle);
void mgc_mark_background_done(struct mheap *h, u64 cycle);
void mgc_mark_worker(struct mheap *h,
		     long (*preclean)(struct mheap *h, u64 cycle, void *ctx),
		     void (*yield)(struct mheap *h), void *ctx);
void mgc_abort(struct mheap *h);
void mgc_assist(struct mheap *h);

/* mark.c */
int mgc_mark(struct mheap *h, const struct mgc_root *roots,
	     unsigned int nroots, struct mgc_mark_result *res);
int mgc_mark_begin(struct mheap *h);
void mgc_mark_end(struct mheap *h, struct mgc_mark_result *res);
void mgc_mark_free_spare(struct mheap *h);
int mgc_mark_reserve(struct mheap *h);
int mgc_mark_roots(struct mheap *h, const struct mgc_root *roots,
		   unsigned int nroots, bool intr);
/* mgc_mark_step()'s @how */
#define MGC_MARK_INTR	BIT(0)
#define MGC_MARK_YIELD	BIT(1)
#define MGC_MARK_ASSIST	BIT(2)
int mgc_mark_step(struct mheap *h, u64 budget, unsigned int how);
void mgc_mark_share(struct mheap *h);
bool mgc_mark_bg_begin(struct mheap *h);
void mgc_mark_bg_run(struct mheap *h, u64 budget);
void mgc_mark_bg_stop(struct mheap *h);
int mgc_mark_dirty(struct mheap *h, const unsigned long *dirty, u64 nbits);
long mgc_mark_preclean(struct mheap *h);
void mgc_mark_rescan_span(struct mheap *h, struct mspan *s);
void mgc_mark_black(struct mheap *h, struct mspan *s, unsigned long idx);
void mgc_mark_unmark(struct mheap *h, struct mspan *s, unsigned long idx);
void mgc_mark_black_word(struct mheap *h, struct mspan *s, unsigned int w,
			 unsigned long bits);
u64 mgc_mark_progress(struct mheap *h);
int mgc_mark_finalizers(struct mheap *h, bool intr);
void mgc_clear_marks(struct mheap *h);

/* special.c */
#define MGC_SPECIAL_FINALIZER	1
#define MGC_SPECIAL_CLEANUP	2
#define MGC_SPECIAL_LINK	3
#define MGC_SPECIAL_PROFILE	4

/**
 * struct mgc_special - a record attached to an object (Go's special)
 * @next: the next of its span's list, sorted by offset then kind
 * @node: for a finalizer: on mgc.finalizers; for a link: on mgc.links
 * @span: the object's span
 * @offset: the object's offset in the span
 * @kind: MGC_SPECIAL_*
 * @fn: for a finalizer or cleanup: the function, opaque to the kernel; for
 *	a link: the link's address; for a profile record: its bucket
 * @arg: and its argument; for a link: 1 if it lies in root memory
 * @holder: for a link in the arena: the span of the object holding it
 * @hnext: for a link: the next in its chain of mgc.link_hash
 *
 * Under mheap.lock.
 */
struct mgc_special {
	struct mgc_special *next;
	struct list_head node;
	struct mspan *span;
	u32 offset;
	u8 kind;
	u64 fn;
	u64 arg;
	struct mspan *holder;
	struct mgc_special *hnext;
};

/**
 * struct mgc_final_rec - a queued record (mgc.finq)
 * @node: on mgc.finq
 * @rec: what read() copies out
 */
struct mgc_final_rec {
	struct list_head node;
	struct gcheap_final rec;
};

int mgc_special_add(struct mheap *h, struct mspan *s, u32 offset, u8 kind,
		    u64 fn, u64 arg, struct mspan *holder);
int mgc_special_remove(struct mheap *h, struct mspan *s, u32 offset, u8 kind);
int mgc_special_remove_one(struct mheap *h, struct mgc_special *sp);
void mgc_special_free_object(struct mheap *h, struct mspan *s, u32 offset);
void mgc_special_free_span(struct mheap *h, struct mspan *s);
void mgc_special_unused_slots(struct mheap *h, struct mspan *s,
			      const unsigned long *left_free);
void mgc_special_sweep(struct mheap *h, struct mspan *s);
unsigned int mgc_finq_take(struct mheap *h, struct list_head *taken,
			   struct gcheap_final *out, unsigned int max);
void mgc_finq_finish(struct mheap *h, struct list_head *taken,
		     unsigned int n, bool delivered);
bool mgc_finq_ready(struct mheap *h);
void mgc_finq_destroy(struct mheap *h);
int mgc_op_finalizer(struct mheap *h, const struct gcheap_finalizer *f);
int mgc_op_link(struct mheap *h, const struct gcheap_link *l);
int mgc_profile_check(const struct gcheap_profile *p);
int mgc_op_profile_add(struct mheap *h, const struct gcheap_profile *p);
u32 mgc_profile_read(struct mheap *h, u32 first, u32 max,
		     struct gcheap_profile_count *out);
void mgc_profile_destroy(struct mheap *h);
void mgc_links_free_holder(struct mheap *h, struct mspan *s, u64 addr,
			   u64 len);
void mgc_links_mark_end(struct mheap *h);
unsigned int mgc_links_pending(struct mheap *h, u64 **addrs);

/* dump.c */
int mgc_dump(struct mheap *h, void *buf, size_t cap, size_t *len);
int mgc_dump_alloc(struct mheap *h, size_t need, void **buf, size_t *len);

/* sweep.c */
void mgc_terminate_mark(struct mheap *h);
bool mgc_span_unswept(struct mheap *h, const struct mspan *s);
void mgc_sweep_span(struct mheap *h, struct mspan *s);
void mgc_ensure_swept(struct mheap *h, struct mspan *s);
unsigned long mgc_sweep_some(struct mheap *h, unsigned long budget);
int mgc_sweep_all(struct mheap *h);
bool mgc_sweep_class(struct mheap *h, unsigned int spanclass,
		     unsigned int budget);
void mgc_sweep_large(struct mheap *h);

#endif /* _GCHEAP_MGC_H */
