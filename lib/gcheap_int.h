/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/*
 * libgcheap internals shared by the allocator (gcheap.c), the collector's
 * user-space half (gc.c) and the pthread_create() wrapper (pthread_wrap.c).
 * Nothing here is API.
 *
 * Locks, in the order they nest:
 *
 *   gc_world.gc_lock       one collection at a time
 *     gc_world.threads_lock  the thread registry; held by a collection from
 *                            before it stops the world until the world runs
 *                            again, so no thread joins or leaves meanwhile
 *
 * A thread's own cache (struct tc) is touched only by that thread, except
 * while the thread is stopped for a collection: then the collecting thread
 * gives its spans back. The signal handler that stops a thread refuses to
 * stop it while the thread is in the middle of changing its cache (tc.busy,
 * or inside the inlined fast path, whose code lies in one section), so the
 * collector never sees a half-updated cache and the thread never resumes
 * with stale copies of one; the collector asks again a moment later.
 */
#ifndef _GCHEAP_INT_H
#define _GCHEAP_INT_H

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <ucontext.h>

#include <linux/gcheap.h>

#include "gcheap.h"

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

/* The library is built with -fvisibility=hidden; this is its API. */
#define GCHEAP_EXPORT	__attribute__((visibility("default")))

/*
 * Size classes the thread cache has room for. Go's table, which the module
 * uses, has 68; the slack lets a module with a few more classes work with
 * this library. Each span class costs a thread 312 bytes of TLS.
 */
#define TC_MAX_CLASSES		80
#define TC_MAX_SPANCLASSES	(2 * TC_MAX_CLASSES)
#define TC_ACTIVE_WORDS		((TC_MAX_SPANCLASSES + 63) / 64)
#define TC_WORDS		GCHEAP_SPAN_BITMAP_WORDS

/* TLS blocks of a thread that lie outside its stack, scanned as roots. */
#define TC_MAX_TLS		4

/**
 * struct gcheap_state - the process's heap, as the library sees it
 * @once: runs heap_init_once() once per process
 * @opts_lock: protects @opts_state and @opts
 * @opts_state: enum heap_opts_state
 * @opts: options gcheap_init_opts() left for set-up
 * @ready: set (release) when set-up succeeded; read with acquire by calls
 *	that must not start a set-up themselves
 * @init_error: errno of a failed set-up, 0 otherwise
 * @dead: EPERM in a child forked after set-up: the heap is the parent's
 * @key: thread-exit hook giving a dying thread's cached spans back
 * @arena_base: start of the arena
 * @arena_end: end of the arena
 * @api: the module's GCHEAP_IOC_API answer
 * @nclasses: size classes of the heap, class 0 included
 * @classes: the module's size-class table
 *
 * @arena_base points at the arena's first object, so this struct is left
 * out of the data segment the collector scans (gc_register_static_roots() in gc.c):
 * it would keep that object alive for ever.
 */
struct gcheap_state {
	pthread_once_t once;
	pthread_mutex_t opts_lock;
	int opts_state;
	struct gcheap_options opts;
	int ready;
	int init_error;
	int dead;
	pthread_key_t key;
	uintptr_t arena_base;
	uintptr_t arena_end;
	struct gcheap_api api;
	unsigned int nclasses;
	struct gcheap_size_class classes[TC_MAX_CLASSES];
};

extern struct gcheap_state gch_heap;

/**
 * struct tc_span - the span a thread caches for one span class
 * @base: address of slot 0; 0 when nothing is cached
 * @elemsize: slot size
 * @cursor: index of the first word of @free that may have a bit set; the
 *	words before it are zero, so the fast path never rescans them
 * @nwords: words of @free covering the span's slots; 0 when nothing is
 *	cached, which makes the fast path of an empty entry fail at once
 * @needzero: the kernel said the free slots may hold old data
 * @nelems: slots in the span
 * @free: slot i not handed out yet (bit i % 64 of word i / 64)
 * @handed: @free as the kernel handed the span out. A slot set here and
 *	clear in @free was handed out by this thread; the bitmap given back is
 *	masked with it, so a corrupted cache cannot claim slots the kernel never
 *	offered.
 * @held: free slots of word @cursor kept from the fast path, because the
 *	heap profile's next sample lies among them (tc_window())
 * @sample_pending: the lowest slot of @held is that sample
 *
 * The fields the fast path reads come first, with the start of @free, so a
 * typical allocation touches one cache line of the entry.
 */
struct tc_span {
	uintptr_t base;
	uint32_t elemsize;
	uint16_t cursor;
	uint16_t nwords;
	uint32_t needzero;
	uint32_t nelems;
	uint64_t free[TC_WORDS];
	uint64_t handed[TC_WORDS];
	uint64_t held;
	uint32_t sample_pending;
};

/**
 * struct tc_hot - what the fast path reads for one span class
 * @bits: the free slots of word @cursor of the span's bitmap (Go's
 *	allocCache). While a span is cached this copy is the authoritative one
 *	for that word: tc_sync() writes it back before the bitmap is read.
 * @wbase: address of slot @cursor * 64 of the span
 * @elemsize: slot size
 * @needzero: the span's free slots may hold old data
 *
 * 32 bytes, so the entry of a span class is found with a shift and one
 * allocation reads and writes one cache line.
 */
struct tc_hot {
	uint64_t bits;
	uintptr_t wbase;
	uint64_t elemsize;
	uint64_t needzero;
};

/* tc.ack: a stopped thread's answer to the collector */
enum {
	TC_ACK_NONE,
	TC_ACK_STOPPED,		/* stopped, registers and stack pointer saved */
	TC_ACK_REFUSED,		/* in the middle of a cache update: ask again */
};

/**
 * struct tc - a thread's cache, and its entry in the thread registry
 * @hot: per span class, the fast path's window on the span's bitmap
 * @span: indexed by span class (entries 0 and 1, class 0, stay empty)
 * @active: bit set for every span class with a span cached, so lookups and
 *	flushes visit only those
 * @busy: nesting depth of the library's code that changes this cache
 *	outside the fast path; the stop signal is refused while it is not 0.
 *	Written only by the thread itself, read by its own signal handler.
 * @gc_due: a reply of the kernel said a collection is due; the thread
 *	runs it when it leaves the library's code (gch_gc_due())
 * @gc_due_cycle: gc_world.cycles when @gc_due was set: a collection since
 *	makes it moot
 * @registered: the thread is in the registry (gc_world.threads_lock)
 * @exited: the thread-exit hook has run; the thread caches nothing more
 * @next: the next thread of the registry (gc_world.threads_lock)
 * @prev: the previous one
 * @tid: kernel thread id, for tgkill()
 * @stack_lo: lowest address of the thread's stack
 * @stack_hi: one past its highest address (the stack grows down from it)
 * @ntls: entries of @tls
 * @tls: the thread's TLS blocks that are not inside its stack (glibc puts
 *	the main thread's static TLS on the heap)
 * @stop_req: set by the collector before it sends the stop signal; the
 *	handler clears it (a stop signal without it is someone else's)
 * @resume_req: the same for the resume signal
 * @ack: TC_ACK_*, written by the handler before it posts gc_world.ack
 * @sp: stack pointer of the stopped thread, in its signal handler: the
 *	saved context of the interrupted code lies above it
 * @alt_lo: when the thread was stopped on its sigaltstack: that stack,
 *	[@alt_lo, @alt_hi); both 0 otherwise
 * @alt_hi: see @alt_lo
 * @regs: the registers of the interrupted code, copied from the signal's
 *	context
 * @sample_left: bytes the thread allocates before the heap profile's next
 *	sample (Go's mcache.nextSample)
 * @sample_gen: gch_prof_gen when @sample_left was drawn
 * @rng: state of the generator the sample intervals are drawn from
 */
struct tc {
	struct tc_hot hot[TC_MAX_SPANCLASSES];
	struct tc_span span[TC_MAX_SPANCLASSES];
	uint64_t active[TC_ACTIVE_WORDS];
	unsigned int busy;
	bool gc_due;
	uint64_t gc_due_cycle;
	bool registered;
	bool exited;
	struct tc *next;
	struct tc *prev;
	pid_t tid;
	uintptr_t stack_lo;
	uintptr_t stack_hi;
	unsigned int ntls;
	struct gcheap_range tls[TC_MAX_TLS];
	int stop_req;
	int resume_req;
	int ack;
	uintptr_t sp;
	uintptr_t alt_lo;
	uintptr_t alt_hi;
	mcontext_t regs;
	uint64_t sample_left;
	unsigned int sample_gen;
	uint64_t rng;
};

/*
 * Initial-exec TLS: the fast path finds its cache at a fixed offset from the
 * thread pointer, with no call to __tls_get_addr, and the stop signal's
 * handler may read it. The price is that the shared library cannot be
 * dlopen()ed (see gcheap.h).
 */
extern __thread struct tc gch_tc __attribute__((tls_model("initial-exec")));

/*
 * Mark the calling thread as changing its cache. The signal fences keep the
 * compiler from moving cache accesses across them; the only other reader of
 * @busy is the thread's own signal handler.
 */
static inline void tc_enter(void)
{
	gch_tc.busy++;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static inline void tc_leave(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	gch_tc.busy--;
}

/*
 * Names shared between the library's files carry the gch_ prefix: in a
 * static link they share the program's namespace.
 */

/* gcheap.c */
int gch_heap_setup(void);
int gch_tc_flush(struct tc *c, bool force);
int gch_read_stats(struct gcheap_stats *st);
bool gch_in_fast_path(uintptr_t pc);
void *gch_alloc_exiting(size_t size, unsigned int noscan);
void gch_tc_recut(void);
int gch_parse_size(const char *str, uint64_t *out);

/*
 * Functions on the way from an allocation entry point to the profile's
 * sampling lie in this section, so that the recorded call stack starts at
 * the program's own caller.
 */
#define GCHEAP_ALLOC_PATH \
	__attribute__((section("gcheap_allocpath"), noinline))

/* profile.c */
extern size_t gch_prof_rate;
extern unsigned int gch_prof_gen;
uint64_t gch_prof_interval(void);
void gch_prof_sample(void *obj, size_t size);
void gch_prof_init(void);

/*
 * Whether allocations are sampled; the calling thread's countdown is drawn
 * afresh after the rate changed.
 */
static inline bool gch_prof_active(void)
{
	unsigned int gen = __atomic_load_n(&gch_prof_gen, __ATOMIC_ACQUIRE);

	if (likely(gch_tc.sample_gen == gen))
		return __atomic_load_n(&gch_prof_rate, __ATOMIC_RELAXED);
	gch_tc.sample_gen = gen;
	if (!__atomic_load_n(&gch_prof_rate, __ATOMIC_RELAXED))
		return false;
	gch_tc.sample_left = gch_prof_interval();
	return true;
}

/* Count @bytes allocated; true if the allocation is a sample. */
static inline bool gch_prof_take(uint64_t bytes)
{
	if (!gch_prof_active())
		return false;
	if (gch_tc.sample_left > bytes) {
		gch_tc.sample_left -= bytes;
		return false;
	}
	gch_tc.sample_left = gch_prof_interval();
	return true;
}

/*
 * Zero the registers a thread may hold a stale pointer in, but the stack and
 * frame pointers: a thread created now starts with its creator's registers,
 * SIMD ones too, and one about to block keeps its registers until it runs
 * again; every collection reads them as roots (the general ones saved by the
 * stop signal's handler, the others in the signal frame on the stack it
 * scans). The compiler keeps nothing it still needs in a register the
 * statements clear.
 */
#if defined(__x86_64__)
static inline __attribute__((always_inline)) void gch_scrub_simd(void)
{
	/* The compiler uses no register above xmm15 unless built for AVX-512. */
	if (__builtin_cpu_supports("avx512f"))
		__asm__ volatile("vpxord %%zmm16, %%zmm16, %%zmm16\n\t"
				 "vmovdqa64 %%zmm16, %%zmm17\n\t"
				 "vmovdqa64 %%zmm16, %%zmm18\n\t"
				 "vmovdqa64 %%zmm16, %%zmm19\n\t"
				 "vmovdqa64 %%zmm16, %%zmm20\n\t"
				 "vmovdqa64 %%zmm16, %%zmm21\n\t"
				 "vmovdqa64 %%zmm16, %%zmm22\n\t"
				 "vmovdqa64 %%zmm16, %%zmm23\n\t"
				 "vmovdqa64 %%zmm16, %%zmm24\n\t"
				 "vmovdqa64 %%zmm16, %%zmm25\n\t"
				 "vmovdqa64 %%zmm16, %%zmm26\n\t"
				 "vmovdqa64 %%zmm16, %%zmm27\n\t"
				 "vmovdqa64 %%zmm16, %%zmm28\n\t"
				 "vmovdqa64 %%zmm16, %%zmm29\n\t"
				 "vmovdqa64 %%zmm16, %%zmm30\n\t"
				 "vmovdqa64 %%zmm16, %%zmm31" ::: "memory");
	/* vzeroall clears all of zmm0-15 too; pxor only the low 128 bits. */
	if (__builtin_cpu_supports("avx"))
		__asm__ volatile("vzeroall" ::: "xmm0", "xmm1", "xmm2", "xmm3",
				 "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
				 "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
				 "xmm15");
	else
		__asm__ volatile("pxor %%xmm0, %%xmm0\n\tpxor %%xmm1, %%xmm1\n\t"
				 "pxor %%xmm2, %%xmm2\n\tpxor %%xmm3, %%xmm3\n\t"
				 "pxor %%xmm4, %%xmm4\n\tpxor %%xmm5, %%xmm5\n\t"
				 "pxor %%xmm6, %%xmm6\n\tpxor %%xmm7, %%xmm7\n\t"
				 "pxor %%xmm8, %%xmm8\n\tpxor %%xmm9, %%xmm9\n\t"
				 "pxor %%xmm10, %%xmm10\n\tpxor %%xmm11, %%xmm11\n\t"
				 "pxor %%xmm12, %%xmm12\n\tpxor %%xmm13, %%xmm13\n\t"
				 "pxor %%xmm14, %%xmm14\n\tpxor %%xmm15, %%xmm15"
				 ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
				 "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
				 "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

#define GCH_SCRUB_REGISTERS()						\
	do {								\
		gch_scrub_simd();					\
		__asm__ volatile("xor %%eax, %%eax\n\txor %%ebx, %%ebx\n\t"	\
				 "xor %%ecx, %%ecx\n\txor %%edx, %%edx\n\t"	\
				 "xor %%esi, %%esi\n\txor %%edi, %%edi\n\t"	\
				 "xor %%r8d, %%r8d\n\txor %%r9d, %%r9d\n\t"	\
				 "xor %%r10d, %%r10d\n\txor %%r11d, %%r11d\n\t" \
				 "xor %%r12d, %%r12d\n\txor %%r13d, %%r13d\n\t" \
				 "xor %%r14d, %%r14d\n\txor %%r15d, %%r15d"	\
				 ::: "rax", "rbx", "rcx", "rdx", "rsi", "rdi",	\
				     "r8", "r9", "r10", "r11", "r12", "r13",	\
				     "r14", "r15");				\
	} while (0)
#elif defined(__aarch64__)
#define GCH_SCRUB_REGISTERS()						\
	__asm__ volatile("mov x0, xzr\n\tmov x1, xzr\n\tmov x2, xzr\n\t"	\
			 "mov x3, xzr\n\tmov x4, xzr\n\tmov x5, xzr\n\t"	\
			 "mov x6, xzr\n\tmov x7, xzr\n\tmov x8, xzr\n\t"	\
			 "mov x9, xzr\n\tmov x10, xzr\n\tmov x11, xzr\n\t"	\
			 "mov x12, xzr\n\tmov x13, xzr\n\tmov x14, xzr\n\t"	\
			 "mov x15, xzr\n\tmov x16, xzr\n\tmov x17, xzr\n\t"	\
			 "mov x19, xzr\n\tmov x20, xzr\n\tmov x21, xzr\n\t"	\
			 "mov x22, xzr\n\tmov x23, xzr\n\tmov x24, xzr\n\t"	\
			 "mov x25, xzr\n\tmov x26, xzr\n\tmov x27, xzr\n\t"	\
			 "mov x28, xzr\n\t"					\
			 "movi v0.16b, #0\n\tmovi v1.16b, #0\n\t"		\
			 "movi v2.16b, #0\n\tmovi v3.16b, #0\n\t"		\
			 "movi v4.16b, #0\n\tmovi v5.16b, #0\n\t"		\
			 "movi v6.16b, #0\n\tmovi v7.16b, #0\n\t"		\
			 "movi v16.16b, #0\n\tmovi v17.16b, #0\n\t"		\
			 "movi v18.16b, #0\n\tmovi v19.16b, #0\n\t"		\
			 "movi v20.16b, #0\n\tmovi v21.16b, #0\n\t"		\
			 "movi v22.16b, #0\n\tmovi v23.16b, #0\n\t"		\
			 "movi v24.16b, #0\n\tmovi v25.16b, #0\n\t"		\
			 "movi v26.16b, #0\n\tmovi v27.16b, #0\n\t"		\
			 "movi v28.16b, #0\n\tmovi v29.16b, #0\n\t"		\
			 "movi v30.16b, #0\n\tmovi v31.16b, #0"		\
			 ::: "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7",	\
			     "x8", "x9", "x10", "x11", "x12", "x13", "x14",	\
			     "x15", "x16", "x17", "x19", "x20", "x21", "x22",	\
			     "x23", "x24", "x25", "x26", "x27", "x28", "v0",	\
			     "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v16",	\
			     "v17", "v18", "v19", "v20", "v21", "v22", "v23",	\
			     "v24", "v25", "v26", "v27", "v28", "v29", "v30",	\
			     "v31")
#else
#define GCH_SCRUB_REGISTERS()	do { } while (0)
#endif

/* gc.c; the thread type for gch_spawn() */
typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *,
				 void *(*)(void *), void *);
int gch_spawn(pthread_create_fn real, pthread_t *thread,
	      const pthread_attr_t *attr, void *(*fn)(void *), void *arg);

/* gc.c */
void gch_clear_stack(void);
int gch_gc_init(const struct gcheap_options *opts);
int gch_thread_register(void);
void gch_thread_exit(void);
void gch_threads_lock(void);
void gch_threads_unlock(void);
void gch_note_gc_due(void);
void gch_gc_due(void *keep);
bool gch_heap_ready(void);

/* A public call's result from a positive errno or 0: -1 with errno set, or 0. */
static inline int gch_status(int err)
{
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

/* Register the calling thread if it is not; 0 or a positive errno. */
static inline int gch_thread_ensure(void)
{
	if (likely(gch_tc.registered || gch_tc.exited))
		return 0;
	return gch_thread_register();
}

#endif /* _GCHEAP_INT_H */
