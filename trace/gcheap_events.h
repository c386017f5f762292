/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The gcheap trace system: collections, marks, sweeps, spans, refills,
 * large objects, the scavenger, finalizer records and limits. Fields are
 * scalars only, so the events build alike on 6.1 and current kernels;
 * @heap is the heap's number (mheap.id), as in its debugfs directory.
 *
 * Out-of-tree trace events, as the kernel's samples/trace_events: main.c
 * defines CREATE_TRACE_POINTS, and this header is found again through the
 * module's source directory on the include path.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM gcheap

#if !defined(_GCHEAP_EVENTS_H) || defined(TRACE_HEADER_MULTI_READ)
#define _GCHEAP_EVENTS_H

#include <linux/tracepoint.h>

/* gcheap_gc_start.kind */
#define GCHEAP_TRACE_GC_FULL		1	/* the world stopped throughout */
#define GCHEAP_TRACE_GC_LAZY		2	/* the same, sweeping left lazy */
#define GCHEAP_TRACE_GC_CONCURRENT	3	/* a concurrent mark's start */

/* gcheap_gc_start.reason */
#define GCHEAP_TRACE_REASON_ASKED	1	/* the heap was not due */
#define GCHEAP_TRACE_REASON_GOAL	2	/* the heap reached its trigger */
#define GCHEAP_TRACE_REASON_PRESSURE	3	/* the shrinker asked */

/* gcheap_limit.kind */
#define GCHEAP_TRACE_LIMIT_HARD		1
#define GCHEAP_TRACE_LIMIT_MODULE	2
#define GCHEAP_TRACE_LIMIT_MEMCG	3
#define GCHEAP_TRACE_LIMIT_SOFT		4

TRACE_EVENT(gcheap_gc_start,
	TP_PROTO(u32 heap, u64 cycle, u32 kind, u32 reason, u64 heap_alloc,
		 u64 goal),
	TP_ARGS(heap, cycle, kind, reason, heap_alloc, goal),
	TP_STRUCT__entry(
		__field(u32, heap)
		__field(u32, kind)
		__field(u32, reason)
		__field(u64, cycle)
		__field(u64, heap_alloc)
		__field(u64, goal)
	),
	TP_fast_assign(
		__entry->heap = heap;
		__entry->kind = kind;
		__entry->reason = reason;
		__entry->cycle = cycle;
		__entry->heap_alloc = heap_alloc;
		__entry->goal = goal;
	),
	TP_printk("heap=%u cycle=%llu kind=%s reason=%s heap_alloc=%llu goal=%llu",
		  __entry->heap, __entry->cycle,
		  __print_symbolic(__entry->kind,
				   { GCHEAP_TRACE_GC_FULL, "full" },
				   { GCHEAP_TRACE_GC_LAZY, "lazy" },
				   { GCHEAP_TRACE_GC_CONCURRENT, "concurrent" }),
		  __print_symbolic(__entry->reason,
				   { GCHEAP_TRACE_REASON_ASKED, "asked" },
				   { GCHEAP_TRACE_REASON_GOAL, "goal" },
				   { GCHEAP_TRACE_REASON_PRESSURE, "pressure" }),
		  __entry->heap_alloc, __entry->goal)
);

TRACE_EVENT(gcheap_gc_end,
	TP_PROTO(u32 heap, u64 cycle, u64 heap_before, u64 heap_after,
		 u64 next_gc, u64 pause_ns),
	TP_ARGS(heap, cycle, heap_before, heap_after, next_gc, pause_ns),
	TP_STRUCT__entry(
		__field(u32, heap)
		__field(u64, cycle)
		__field(u64, heap_before)
		__field(u64, heap_after)
		__field(u64, next_gc)
		__field(u64, pause_ns)
	),
	TP_fast_assign(
		__entry->heap = heap;
		__entry->cycle = cycle;
		__entry->heap_before = heap_before;
		__entry->heap_after = heap_after;
		__entry->next_gc = next_gc;
		__entry->pause_ns = pause_ns;
	),
	TP_printk("heap=%u cycle=%llu heap_before=%llu heap_after=%llu next_gc=%llu pause_ns=%llu",
		  __entry->heap, __entry->cycle, __entry->heap_before,
		  __entry->heap_after, __entry->next_gc, __entry->pause_ns)
);

TRACE_EVENT(gcheap_mark_done,
	TP_PROTO(u32 heap, u64 cycle, u64 objects, u64 bytes, u32 nroots,
		 u64 overflows),
	TP_ARGS(heap, cycle, objects, bytes, nroots, overflows),
	TP_STRUCT__entry(
		__field(u32, heap)
		__field(u32, nroots)
		__field(u64, cycle)
		__field(u64, objects)
		__field(u64, bytes)
		__field(u64, overflows)
	),
	TP_fast_assign(
		__entry->heap = heap;
		__entry->nroots = nroots;
		__entry->cycle = cycle;
		__entry->objects = objects;
		__entry->bytes = bytes;
		__entry->overflows = overflows;
	),
	TP_printk("heap=%u cycle=%llu objects=%llu bytes=%llu roots=%u overflows=%llu",
		  __entry->heap, __entry->cycle, __entry->objects,
		  __entry->bytes, __entry->nroots, __entry->overflows)
);

TRACE_EVENT(gcheap_sweep_span,
	TP_PROTO(u32 heap, u64 page, u32 spanclass, u32 nelems, u32 freed),
	TP_ARGS(heap, page, spanclass, nelems, freed),
	TP_STRUCT__entry(
		__field(u32, heap)
		__field(u32, spanclass)
		__field(u64, page)
		__field(u32, nelems)
		__field(u32, freed)
	),
	TP_fast_assign(
		__entry->heap = heap;
		__entry->spanclass = spanclass;
		__entry->page = page;
		__entry->nelems = nelems;
		__entry->freed = freed;
	),
	TP_printk("heap=%u page=%llu spanclass=%u nelems=%u freed=%u",
		  __entry->heap, __entry->page, __entry->spanclass,
		  __entry->nelems, __entry->freed)
);

DECLARE_EVENT_CLASS(gcheap_span,
	TP_PROTO(u32 heap, u64 page, u64 npages),
	TP_ARGS(heap, page, npages),
	TP_STRUCT__entry(
		__field(u32, heap)
		__field(u64, page)
		__field(u64, npages)
	),
	TP_fast_assign(
		__entry->heap = heap;
		__entry->page = page;
		__entry->npages = npages;
	),
	TP_printk("heap=%u page=%llu npages=%llu", __entry->heap,
		  __entry->page, __entry->npages)
);

DEFINE_EVENT(gcheap_span, gcheap_span_alloc,
	TP_PROTO(u32 heap, u64 page, u64 npages),
	TP_ARGS(heap, page, npages)
);

DEFINE_EVENT(gcheap_span, gcheap_span_free,
	TP_PROTO(u32 heap, u64 page, u64 npages),
	TP_ARGS(heap, page, npages)
);

TRACE_EVENT(gcheap_large_alloc,
	TP_PROTO(u32 heap, u64 addr, u64 bytes),
	TP_ARGS(heap, addr, bytes),
	TP_STRUCT__entry(
		__field(u32, heap)
		__field(u64, addr)
		__field(u64, bytes)
	),
	TP_fast_assign(
		__entry->heap = heap;
		__entry->addr = addr;
		__entry->bytes = bytes;
	),
	TP_printk("heap=%u addr=0x%llx bytes=%llu", __entry->heap,
		  __entry->addr, __entry->bytes)
);

TRACE_EVENT(gcheap_refill,
	TP_PROTO(u32 heap, u32 spanclass, u64 base, u32 nfree),
	TP_ARGS(heap, spanclass, base, nfree),
	TP_STRUCT__entry(
		__field(u32, heap)
		__field(u32, spanclass)
		__field(u64, base)
		__field(u32, nfree)
	),
	TP_fast_assign(
		__entry->heap = heap;
		__entry->spanclass = spanclass;
		__entry->base = base;
		__entry->nfree = nfree;
	),
	TP_printk("heap=%u spanclass=%u base=0x%llx nfree=%u", __entry->heap,
		  __entry->spanclass, __entry->base, __entry->nfree)
);

TRACE_EVENT(gcheap_scavenge,
	TP_PROTO(u32 heap, u64 pages, u64 held),
	TP_ARGS(heap, pages, held),
	TP_STRUCT__entry(
		__field(u32, heap)
		__field(u64, pages)
		__field(u64, held)
	),
	TP_fast_assign(
		__entry->heap = heap;
		__entry->pages = pages;
		__entry->held = held;
	),
	TP_printk("heap=%u released=%llu held=%llu (heap pages)",
		  __entry->heap, __entry->pages, __entry->held)
);

TRACE_EVENT(gcheap_final_queued,
	TP_PROTO(u32 heap, u64 addr, u32 kind),
	TP_ARGS(heap, addr, kind),
	TP_STRUCT__entry(
		__field(u32, heap)
		__field(u32, kind)
		__field(u64, addr)
	),
	TP_fast_assign(
		__entry->heap = heap;
		__entry->kind = kind;
		__entry->addr = addr;
	),
	TP_printk("heap=%u addr=0x%llx kind=%s", __entry->heap, __entry->addr,
		  __entry->kind == 2 ? "cleanup" : "finalizer")
);

TRACE_EVENT(gcheap_limit,
	TP_PROTO(u32 heap, u32 kind, u64 held, u64 want),
	TP_ARGS(heap, kind, held, want),
	TP_STRUCT__entry(
		__field(u32, heap)
		__field(u32, kind)
		__field(u64, held)
		__field(u64, want)
	),
	TP_fast_assign(
		__entry->heap = heap;
		__entry->kind = kind;
		__entry->held = held;
		__entry->want = want;
	),
	TP_printk("heap=%u limit=%s held=%llu want=%llu (heap pages)",
		  __entry->heap,
		  __print_symbolic(__entry->kind,
				   { GCHEAP_TRACE_LIMIT_HARD, "hard" },
				   { GCHEAP_TRACE_LIMIT_MODULE, "module" },
				   { GCHEAP_TRACE_LIMIT_MEMCG, "memcg" },
				   { GCHEAP_TRACE_LIMIT_SOFT, "soft" }),
		  __entry->held, __entry->want)
);

#endif /* _GCHEAP_EVENTS_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH trace
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE gcheap_events
#include <trace/define_trace.h>
