// SPDX-License-Identifier: GPL-2.0
/*
 * The hosted runtime behind the shim headers: warnings, the slab
 * allocator, mutexes with lock debugging. Written for the hosted build; see
 * include/hosted/hosted.h for the interface.
 */
#define _GNU_SOURCE
#include <execinfo.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/mutex.h>
#include <hosted/hosted.h>

void (*hosted_resched_hook)(void);

/* ================ Warnings ================ */

static unsigned long hosted_warnings;
static unsigned long hosted_warnings_acked;
static bool hosted_warnings_expected;
/* Reports since the last hosted_warn_ratelimit_reset(). */
static unsigned long hosted_warnings_shown;

/* The first reports come with a stack trace, the next on one line. */
#define HOSTED_WARN_TRACES	10
#define HOSTED_WARN_LINES	100

/* Present when a sanitizer runtime is linked in. */
extern void __sanitizer_print_stack_trace(void) __attribute__((weak));

static void hosted_dump_stack(void)
{
	void *frames[64];
	int n;

	if (__sanitizer_print_stack_trace) {
		__sanitizer_print_stack_trace();
		return;
	}
	n = backtrace(frames, 64);
	backtrace_symbols_fd(frames, n, STDERR_FILENO);
}

/* Print a report; @bug: a BUG(), printed in full whatever the count. */
static void hosted_report(const char *what, bool bug, const char *file,
			  int line, const char *func, const char *fmt,
			  va_list ap)
{
	unsigned long shown = bug ? 1 :
		__atomic_add_fetch(&hosted_warnings_shown, 1, __ATOMIC_RELAXED);
	bool expected = !bug && __atomic_load_n(&hosted_warnings_expected,
						__ATOMIC_RELAXED);

	fflush(stdout);
	if (shown > HOSTED_WARN_LINES) {
		if (shown == HOSTED_WARN_LINES + 1)
			fprintf(stderr, "    # more warnings: counted, not shown\n");
		return;
	}
	if (expected || (!bug && shown > HOSTED_WARN_TRACES)) {
		fprintf(stderr, "    # %s%s at %s:%d %s(): ",
			expected ? "expected " : "", what, file, line, func);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		fflush(stderr);
		return;
	}
	fprintf(stderr, "------------[ cut here ]------------\n");
	fprintf(stderr, "%s: thread %lu at %s:%d %s(): ", what,
		hosted_thread_id(), file, line, func);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	hosted_dump_stack();
	fprintf(stderr, "---[ end trace ]---\n");
	fflush(stderr);
}

void hosted_warn(const char *file, int line, const char *func,
		 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hosted_report("WARNING", false, file, line, func, fmt, ap);
	va_end(ap);
	__atomic_add_fetch(&hosted_warnings, 1, __ATOMIC_RELAXED);
	if (getenv("HOSTED_WARN_FATAL"))
		abort();
}

void hosted_bug(const char *file, int line, const char *func,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hosted_report("BUG", true, file, line, func, fmt, ap);
	va_end(ap);
	abort();
}

unsigned long hosted_warn_total(void)
{
	return __atomic_load_n(&hosted_warnings, __ATOMIC_RELAXED) -
	       __atomic_load_n(&hosted_warnings_acked, __ATOMIC_RELAXED);
}

void hosted_warn_ack(unsigned long n)
{
	__atomic_add_fetch(&hosted_warnings_acked, n, __ATOMIC_RELAXED);
}

void hosted_warn_ratelimit_reset(void)
{
	__atomic_store_n(&hosted_warnings_shown, 0, __ATOMIC_RELAXED);
}

void hosted_warn_expected(bool on)
{
	__atomic_store_n(&hosted_warnings_expected, on, __ATOMIC_RELAXED);
}

/* ================ Slab ================ */

static __thread int hosted_held_depth;
static void hosted_lockdep_check_freed(const void *p, size_t size,
				       const char *file, int line,
				       const char *func);

/* kmalloc()'s limit on x86-64 6.1 (KMALLOC_MAX_SIZE) and kvmalloc()'s. */
#define HOSTED_KMALLOC_MAX	(4UL << 20)
#define HOSTED_KVMALLOC_MAX	((size_t)INT_MAX)

#define HOSTED_SLAB_MAGIC	0x5ab1a110U
#define HOSTED_SLAB_FREED	0xf7eedU

/*
 * Every object is preceded by this header. Objects of a cache line or more
 * start on a cache line, as in the kernel a struct that asks for it does
 * (it takes a kmalloc cache of a power-of-two size, whose objects are
 * aligned to it): struct mgc_mark puts the state each marker writes all the
 * time on lines of its own, and on malloc()'s 16-byte alignment the two
 * shared a line, or not, depending on what the process had allocated
 * before (native GCBench ran 11-15% slower when they did). Smaller objects
 * are 16-byte aligned.
 */
struct hosted_slab_hdr {
	u32 magic;
	u32 kind;
	size_t size;
	void *base;
	size_t pad;
};

#define HOSTED_SLAB_ALIGN	64

static long hosted_slab_objects;
static unsigned long hosted_fail_countdown;
static unsigned long hosted_faults;

static __attribute__((constructor)) void hosted_slab_env(void)
{
	const char *s = getenv("HOSTED_FAIL_NTH");

	if (s)
		hosted_fail_nth(strtoul(s, NULL, 0));
}

void hosted_fail_nth(unsigned long n)
{
	__atomic_store_n(&hosted_fail_countdown, n, __ATOMIC_RELAXED);
}

unsigned long hosted_fail_nth_pending(void)
{
	return __atomic_load_n(&hosted_fail_countdown, __ATOMIC_RELAXED);
}

unsigned long hosted_fail_injected(void)
{
	return __atomic_load_n(&hosted_faults, __ATOMIC_RELAXED);
}

/* Count one allocation down; true if this one is to fail. */
static bool hosted_should_fail(void)
{
	unsigned long n = __atomic_load_n(&hosted_fail_countdown, __ATOMIC_RELAXED);

	while (n) {
		if (__atomic_compare_exchange_n(&hosted_fail_countdown, &n, n - 1,
						false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED)) {
			if (n == 1) {
				__atomic_add_fetch(&hosted_faults, 1, __ATOMIC_RELAXED);
				return true;
			}
			return false;
		}
	}
	return false;
}

long hosted_slab_live(void)
{
	return __atomic_load_n(&hosted_slab_objects, __ATOMIC_RELAXED);
}

void *hosted_alloc(size_t n, size_t size, gfp_t flags,
		   enum hosted_alloc_kind kind)
{
	struct hosted_slab_hdr *hdr;
	size_t bytes;
	void *base;

	if (__builtin_mul_overflow(n, size, &bytes))
		return NULL;
	if (!bytes)
		return ZERO_SIZE_PTR;
	if (kind == HOSTED_KMALLOC && bytes > HOSTED_KMALLOC_MAX) {
		hosted_warn(__FILE__, __LINE__, __func__,
			    "kmalloc() of %zu bytes: larger than KMALLOC_MAX_SIZE",
			    bytes);
		return NULL;
	}
	if (kind == HOSTED_KVMALLOC && bytes > HOSTED_KVMALLOC_MAX) {
		hosted_warn(__FILE__, __LINE__, __func__,
			    "kvmalloc() of %zu bytes: larger than INT_MAX", bytes);
		return NULL;
	}
	if (hosted_should_fail())
		return NULL;
	if (bytes < HOSTED_SLAB_ALIGN) {
		base = malloc(sizeof(*hdr) + bytes);
		hdr = base;
	} else {
		if (posix_memalign(&base, HOSTED_SLAB_ALIGN,
				   HOSTED_SLAB_ALIGN + bytes))
			base = NULL;
		hdr = (struct hosted_slab_hdr *)((char *)base +
						 HOSTED_SLAB_ALIGN) - 1;
	}
	if (!base)
		return NULL;
	hdr->base = base;
	hdr->magic = HOSTED_SLAB_MAGIC;
	hdr->kind = kind;
	hdr->size = bytes;
	if (flags & __GFP_ZERO)
		memset(hdr + 1, 0, bytes);
	__atomic_add_fetch(&hosted_slab_objects, 1, __ATOMIC_RELAXED);
	return hdr + 1;
}

void hosted_free(const void *p, enum hosted_alloc_kind kind, const char *file,
		 int line, const char *func)
{
	struct hosted_slab_hdr *hdr;

	if (ZERO_OR_NULL_PTR(p))
		return;
	hdr = (struct hosted_slab_hdr *)p - 1;
	if (hdr->magic != HOSTED_SLAB_MAGIC)
		hosted_bug(file, line, func,
			   "%s(%p): not an object from the slab allocator (%s)",
			   kind == HOSTED_KMALLOC ? "kfree" : "kvfree", p,
			   hdr->magic == HOSTED_SLAB_FREED ? "freed already" :
			   "bad magic");
	if (kind == HOSTED_KMALLOC && hdr->kind == HOSTED_KVMALLOC)
		hosted_warn(file, line, func,
			    "kfree(%p) of kvmalloc() memory: it may be vmalloc()ed, use kvfree()",
			    p);
	if (unlikely(hosted_held_depth))
		hosted_lockdep_check_freed(p, hdr->size, file, line, func);
	hdr->magic = HOSTED_SLAB_FREED;
	__atomic_sub_fetch(&hosted_slab_objects, 1, __ATOMIC_RELAXED);
	free(hdr->base);
}

/* ================ Locks ================ */

/* As the kernel's MAX_LOCK_DEPTH. */
#define HOSTED_MAX_LOCK_DEPTH	48

static unsigned long hosted_next_thread_id;
static __thread unsigned long hosted_self_id;
/* The locks this thread holds; the name outlives a freed lock. */
static __thread struct hosted_held_lock {
	const struct lockdep_map *map;
	const char *name;
} hosted_held[HOSTED_MAX_LOCK_DEPTH];

unsigned long hosted_thread_id(void)
{
	if (!hosted_self_id)
		hosted_self_id = __atomic_add_fetch(&hosted_next_thread_id, 1,
						    __ATOMIC_RELAXED);
	return hosted_self_id;
}

static unsigned long hosted_owner(const struct lockdep_map *map)
{
	return __atomic_load_n(&map->owner, __ATOMIC_RELAXED);
}

void hosted_lockdep_acquired(struct lockdep_map *map)
{
	__atomic_store_n(&map->owner, hosted_thread_id(), __ATOMIC_RELAXED);
	if (hosted_held_depth < HOSTED_MAX_LOCK_DEPTH) {
		hosted_held[hosted_held_depth].map = map;
		hosted_held[hosted_held_depth].name = map->name;
	}
	hosted_held_depth++;
}

void hosted_lockdep_released(struct lockdep_map *map, const char *file,
			     int line, const char *func)
{
	int i;

	__atomic_store_n(&map->owner, 0, __ATOMIC_RELAXED);
	for (i = hosted_held_depth - 1; i >= 0; i--) {
		if (i < HOSTED_MAX_LOCK_DEPTH && hosted_held[i].map == map)
			break;
	}
	if (i < 0) {
		hosted_warn(file, line, func, "releasing %s, which this thread does not hold",
			    map->name);
		return;
	}
	for (; i < hosted_held_depth - 1 && i + 1 < HOSTED_MAX_LOCK_DEPTH; i++)
		hosted_held[i] = hosted_held[i + 1];
	hosted_held_depth--;
}

bool hosted_lockdep_held_by_me(const struct lockdep_map *map)
{
	return hosted_owner(map) == hosted_thread_id();
}

void hosted_lockdep_not_held(const struct lockdep_map *map, const char *file,
			     int line, const char *func)
{
	unsigned long owner = hosted_owner(map);

	if (owner)
		hosted_warn(file, line, func,
			    "lockdep_assert_held(%s) failed: the lock is held by thread %lu, not by this one",
			    map->name, owner);
	else
		hosted_warn(file, line, func,
			    "lockdep_assert_held(%s) failed: the lock is not held",
			    map->name);
}

/* Like lockdep's debug_check_no_locks_freed(): no held lock in [p, p+size). */
static void hosted_lockdep_check_freed(const void *p, size_t size,
				       const char *file, int line,
				       const char *func)
{
	int i;

	for (i = 0; i < hosted_held_depth && i < HOSTED_MAX_LOCK_DEPTH; i++) {
		const char *m = (const char *)hosted_held[i].map;

		if (m >= (const char *)p && m < (const char *)p + size)
			hosted_warn(file, line, func, "held lock freed: %s",
				    hosted_held[i].name);
	}
}

int hosted_lockdep_depth(void)
{
	return hosted_held_depth;
}

int hosted_lockdep_check_released(const char *where)
{
	int n = hosted_held_depth, i;

	if (!n)
		return 0;
	for (i = 0; i < n && i < HOSTED_MAX_LOCK_DEPTH; i++)
		hosted_warn(__FILE__, __LINE__, where,
			    "lock held when returning from %s: %s", where,
			    hosted_held[i].name);
	hosted_held_depth = 0;
	return n;
}

void hosted_mutex_init(struct mutex *lock, const char *name)
{
	pthread_mutexattr_t attr;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, HOSTED_LOCKDEP ?
				  PTHREAD_MUTEX_ERRORCHECK : PTHREAD_MUTEX_NORMAL);
	pthread_mutex_init(&lock->m, &attr);
	pthread_mutexattr_destroy(&attr);
	lock->dep_map.name = name;
	lock->dep_map.owner = 0;
}

void hosted_mutex_lock(struct mutex *lock, const char *file, int line,
		       const char *func)
{
	int ret;

	if (HOSTED_LOCKDEP && hosted_lockdep_held_by_me(&lock->dep_map))
		hosted_bug(file, line, func,
			   "possible recursive locking detected: %s is already held by this thread",
			   lock->dep_map.name);
	ret = pthread_mutex_lock(&lock->m);
	if (ret)
		hosted_bug(file, line, func, "mutex_lock(%s): error %d",
			   lock->dep_map.name, ret);
	hosted_lockdep_acquired(&lock->dep_map);
}

int hosted_mutex_trylock(struct mutex *lock)
{
	if (pthread_mutex_trylock(&lock->m))
		return 0;
	hosted_lockdep_acquired(&lock->dep_map);
	return 1;
}

void hosted_mutex_unlock(struct mutex *lock, const char *file, int line,
			 const char *func)
{
	int ret;

	if (HOSTED_LOCKDEP && !hosted_lockdep_held_by_me(&lock->dep_map)) {
		hosted_warn(file, line, func,
			    "mutex_unlock(%s) by a thread that does not hold it",
			    lock->dep_map.name);
		return;
	}
	hosted_lockdep_released(&lock->dep_map, file, line, func);
	ret = pthread_mutex_unlock(&lock->m);
	if (ret)
		hosted_bug(file, line, func, "mutex_unlock(%s): error %d",
			   lock->dep_map.name, ret);
}

void hosted_mutex_destroy(struct mutex *lock, const char *file, int line,
			  const char *func)
{
	if (mutex_is_locked(lock))
		hosted_warn(file, line, func, "mutex_destroy(%s) of a held mutex",
			    lock->dep_map.name);
	else
		pthread_mutex_destroy(&lock->m);
}
