/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mgc: the collector: conservative mark from roots, sweep with Go's sweep
 * generations, pacing, statistics. Private to the module and the hosted
 * build; all state is in struct mgc inside struct mheap, under mheap.lock
 * (see mheap/mheap.h for the lock order).
 */
#ifndef _GCHEAP_MGC_H
#define _GCHEAP_MGC_H

#include "../mheap/mheap.h"

/* Mark work list entries (object addresses), 512 KiB of kernel memory. */
#define MGC_WORK_MAX		65536
/* Go's heap minimum: no automatic collection below 4 MiB. */
#define MGC_HEAP_MINIMUM	(4ULL << 20)
#define MGC_DEFAULT_PERCENT	100

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
u64 mgc_heap_alloc(struct mheap *h);
void mgc_stats(struct mheap *h, struct gcheap_stats *st,
	       struct gcheap_pause *pauses);
u64 mgc_now_ns(void);
u64 mgc_realtime_ns(void);
extern bool mgc_gctrace_default;

/* mark.c */
int mgc_mark(struct mheap *h, const struct mgc_root *roots,
	     unsigned int nroots, u64 *objects, u64 *bytes, u64 *overflows);
void mgc_clear_marks(struct mheap *h);

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
