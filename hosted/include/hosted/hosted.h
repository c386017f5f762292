/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The hosted runtime (hosted/shim.c): what the shim headers call into, and
 * the hooks only hosted tests use. Nothing here exists in the kernel; code
 * under mheap/ must never include this header.
 */
#ifndef _HOSTED_HOSTED_H
#define _HOSTED_HOSTED_H

#include <stdbool.h>
#include <stddef.h>

/*
 * HOSTED_LOCKDEP (default 1): lock debugging. Mutexes record their owner,
 * lockdep_assert_held() checks that the calling thread is the owner, and
 * recursive locking, unlocking a lock not held and destroying a held lock are
 * reported. The benchmark build sets it to 0, as a production kernel has no
 * lockdep.
 */
#ifndef HOSTED_LOCKDEP
#define HOSTED_LOCKDEP 1
#endif

struct mheap;

/* ---- Warnings: WARN_ON() and friends, lockdep, list debugging ---- */

/**
 * hosted_warn() - report a kernel warning
 * @file: source file
 * @line: source line
 * @func: function
 * @fmt: what went wrong (printf format)
 *
 * Prints a "WARNING:" line and a stack trace to stdout and counts it. The
 * KUnit runner fails a case during which the count grew (unless the case
 * acknowledged the warnings with hosted_warn_ack()); hosted_warn_total()
 * lets other programs do the same.
 */
void hosted_warn(const char *file, int line, const char *func,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A BUG(): report like hosted_warn(), then abort(). */
void hosted_bug(const char *file, int line, const char *func,
		const char *fmt, ...)
	__attribute__((format(printf, 4, 5), noreturn));

/*
 * Only the first warnings are printed in full, then on one line, then only
 * counted; the runner starts the count again for each case.
 */
void hosted_warn_ratelimit_reset(void);

/* Warnings reported so far, minus those acknowledged. */
unsigned long hosted_warn_total(void);

/* A test that provokes @n warnings on purpose acknowledges them. */
void hosted_warn_ack(unsigned long n);

/*
 * While a test provokes warnings on purpose (@on), they are printed on one
 * line each, without a stack trace. They are still counted.
 */
void hosted_warn_expected(bool on);

/* ---- Slab: kmalloc() and friends ---- */

/* Objects from kmalloc()/kvmalloc() and friends not freed yet. */
long hosted_slab_live(void);

/**
 * hosted_fail_nth() - make the @n-th allocation from now fail
 * @n: 1 makes the next kmalloc()-family call return NULL; 0 disarms
 *
 * Like the kernel's /proc/self/task/<tid>/fail-nth: the fault fires once.
 * The environment variable HOSTED_FAIL_NTH=n arms it at program start.
 * The counter is process-wide.
 */
void hosted_fail_nth(unsigned long n);

/* Allocations still to go before the armed fault fires; 0 once it fired. */
unsigned long hosted_fail_nth_pending(void);

/* Faults injected so far. */
unsigned long hosted_fail_injected(void);

/* ---- Locks ---- */

/* A non-zero id for the calling thread, never reused in the process. */
unsigned long hosted_thread_id(void);

/* Locks the calling thread holds (lockdep's held-lock depth). */
int hosted_lockdep_depth(void);

/*
 * Report (as a warning) and forget the locks the calling thread still holds:
 * the runner calls it when a case ends, as lockdep reports a lock held on
 * return to user space.
 */
int hosted_lockdep_check_released(const char *where);

/* ---- Scheduling points ---- */

/*
 * Called at each cond_resched(), where the kernel may run other work for a
 * while: a test sets it to make something happen there (a flag another
 * thread would set, say). NULL: nothing happens.
 */
extern void (*hosted_resched_hook)(void);

/* ---- Arena (hosted/arena.c) ---- */

/**
 * hosted_arena_set_real() - say whether memory lies behind a heap's arena
 * @h: a heap with an arena (after mheap_set_arena())
 * @real: true if the arena is a real mapping of this process
 *
 * Heaps over a fake arena (the KUnit suites) have no memory behind their
 * addresses: clearing is a no-op and nothing is resident. The direct backend
 * maps a real arena and sets @real, so clearing writes zeroes.
 */
void hosted_arena_set_real(struct mheap *h, bool real);
int hosted_arena_track_writes(struct mheap *h);
void hosted_arena_untrack_writes(struct mheap *h);
void hosted_arena_arm_writes(struct mheap *h);
bool hosted_arena_writes_armed(struct mheap *h);

/* ---- The direct backend of libgcheap (sys_direct.c) ---- */

/* The backend's heap, for tests that check its metadata; NULL before open. */
struct mheap *hosted_direct_heap(void);

#endif /* _HOSTED_HOSTED_H */
