/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hosted shim: the gcheap trace events (trace/gcheap_events.h) compile to
 * nothing in user space; the arguments are still evaluated for type checks.
 */
#ifndef _HOSTED_TRACE_GCHEAP_EVENTS_H
#define _HOSTED_TRACE_GCHEAP_EVENTS_H

#include <linux/types.h>

#define GCHEAP_TRACE_GC_FULL		1
#define GCHEAP_TRACE_GC_LAZY		2
#define GCHEAP_TRACE_GC_CONCURRENT	3
#define GCHEAP_TRACE_REASON_ASKED	1
#define GCHEAP_TRACE_REASON_GOAL	2
#define GCHEAP_TRACE_REASON_PRESSURE	3
#define GCHEAP_TRACE_LIMIT_HARD		1
#define GCHEAP_TRACE_LIMIT_MODULE	2
#define GCHEAP_TRACE_LIMIT_MEMCG	3
#define GCHEAP_TRACE_LIMIT_SOFT		4

static inline void trace_gcheap_gc_start(u32 heap, u64 cycle, u32 kind,
					 u32 reason, u64 heap_alloc,
					 u64 goal) {}
static inline void trace_gcheap_gc_end(u32 heap, u64 cycle, u64 before,
				       u64 after, u64 next_gc, u64 pause_ns) {}
static inline void trace_gcheap_mark_done(u32 heap, u64 cycle, u64 objects,
					  u64 bytes, u32 nroots,
					  u64 overflows) {}
static inline void trace_gcheap_sweep_span(u32 heap, u64 page, u32 spanclass,
					   u32 nelems, u32 freed) {}
static inline void trace_gcheap_span_alloc(u32 heap, u64 page, u64 npages) {}
static inline void trace_gcheap_span_free(u32 heap, u64 page, u64 npages) {}
static inline void trace_gcheap_large_alloc(u32 heap, u64 addr, u64 bytes) {}
static inline void trace_gcheap_refill(u32 heap, u32 spanclass, u64 base,
				       u32 nfree) {}
static inline void trace_gcheap_scavenge(u32 heap, u64 pages, u64 held) {}
static inline void trace_gcheap_final_queued(u32 heap, u64 addr, u32 kind) {}
static inline void trace_gcheap_limit(u32 heap, u32 kind, u64 held,
				      u64 want) {}

#endif /* _HOSTED_TRACE_GCHEAP_EVENTS_H */
