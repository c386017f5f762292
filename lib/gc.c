// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libgcheap: the collector's user-space half.
 *
 * The kernel marks and sweeps (GCHEAP_IOC_GC). What only the process can do
 * is done here:
 *
 *  - keep a registry of the threads that use the heap: their caches,
 *    stacks and TLS blocks;
 *  - stop those threads for a collection with a signal, as bdwgc's
 *    pthread_stop_world does: each one saves its registers and stack
 *    pointer in its signal handler, says so, and waits in sigsuspend() for
 *    the signal that lets it go on;
 *  - give every thread's cached spans back while the world is stopped (the
 *    kernel refuses to collect while a span is cached), and hand the kernel
 *    the stopped threads' stacks and registers, and the collecting thread's
 *    own, as roots;
 *  - register the program's data and bss as roots at set-up;
 *  - run a collection when the kernel says one is due, and read the
 *    statistics.
 *
 * The stop protocol, for one thread T, with the collector C holding
 * gc_world.threads_lock:
 *
 *   C: T.ack = NONE; T.stop_req = 1 (release); tgkill(T, sig_suspend)
 *   T (handler): stop_req was 1? No: not ours, chain to the old handler.
 *      In the middle of a cache update (tc.busy, or the interrupted
 *      instruction is in the fast path's section)? ack = REFUSED, post.
 *      Else save registers and sp, seq = resume_seq, ack = STOPPED, post,
 *      sigsuspend() until resume_seq != seq.
 *   C: wait for one post per signal sent; send again, a moment later, to
 *      the threads that refused; then flush caches, collect,
 *      resume_seq++ (release), T.resume_req = 1, tgkill(T, sig_resume) for
 *      each stopped T.
 *   T (resume handler): resume_req was 1? No: not ours, chain.
 *
 * sem_post() and sem_wait() order the handler's writes (the saved context,
 * the cache as the thread left it) before the collector's reads, and the
 * release of resume_seq orders the collector's changes to the cache before
 * the thread goes on. The resume signal is blocked in the handler except
 * inside sigsuspend(), so it cannot be lost between the check and the wait.
 *
 * Sections: state; signals; the thread registry; stopping the world; roots;
 * collections; pacing; statistics.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <linux/gcheap.h>

#include "gcheap.h"
#include "gcheap_int.h"
#include "gcheap_sys.h"

/* ================ State ================ */

#define GC_SIG_SUSPEND_DEFAULT	SIGPWR
#define GC_SIG_RESUME_DEFAULT	SIGXCPU

/* Root ranges one thread may need: stack, sigaltstack, registers, TLS. */
#define GC_ROOTS_PER_THREAD	(3 + TC_MAX_TLS)

/* Wait this long for threads to stop before saying so on stderr. */
#define GC_STOP_WARN_SEC	10

/* Stack the collecting thread clears below itself (gch_clear_stack()). */
#define GC_CLEAR_STACK_BYTES	8192

/* Automatic collections skipped after a failed one, at most. */
#define GC_AUTO_BACKOFF_MAX	1024

/**
 * struct gc_world - the collector's side of the library
 * @gc_lock: one collection at a time (see the lock order in gcheap_int.h)
 * @threads_lock: protects @threads, @nthreads and each thread's @next,
 *	@prev and @registered; held by a collection for the whole time the
 *	world is stopped
 * @threads: the registered threads' caches
 * @nthreads: entries of @threads
 * @ack: posted once by a thread's handler per stop signal it answers
 * @resume_seq: bumped (release) to let the stopped threads go on
 * @cycles: collections this library completed (atomic)
 * @sig_suspend: the stop signal
 * @sig_resume: the resume signal
 * @old_suspend: the handler @sig_suspend had before, for signals not ours
 * @old_resume: the same for @sig_resume
 * @wait_mask: the mask a stopped thread waits with: all but @sig_resume
 * @roots: the roots of a collection, under @gc_lock
 * @stopped: the threads a collection stopped, under @gc_lock
 * @pending: the threads it still has to stop, under @gc_lock
 * @cap: entries @stopped and @pending have room for; @roots has
 *	GC_ROOTS_PER_THREAD times as many
 * @auto_skip: automatic collections still to skip after a failure (atomic)
 * @auto_backoff: the next failure's @auto_skip, under @gc_lock
 * @auto_warned: the first failure of an automatic collection was reported
 * @ncpu: online CPUs, for gc_cpu_fraction
 * @auto_flags: GCHEAP_GC_* of automatic collections (GCHEAP_GC_MODE)
 *
 * Holds no pointer into the arena, so its place in the scanned bss keeps
 * nothing alive.
 */
struct gc_world {
	pthread_mutex_t gc_lock;
	pthread_mutex_t threads_lock;
	struct tc *threads;
	unsigned int nthreads;
	sem_t ack;
	uint64_t resume_seq;
	uint64_t cycles;
	int sig_suspend;
	int sig_resume;
	struct sigaction old_suspend;
	struct sigaction old_resume;
	sigset_t wait_mask;
	struct gcheap_range *roots;
	struct tc **stopped;
	struct tc **pending;
	unsigned int cap;
	int auto_skip;
	int auto_backoff;
	bool auto_warned;
	long ncpu;
	unsigned int auto_flags;
};

static struct gc_world world = {
	.gc_lock = PTHREAD_MUTEX_INITIALIZER,
	.threads_lock = PTHREAD_MUTEX_INITIALIZER,
};

/* glibc's record of the top of the main thread's stack. */
extern void *__libc_stack_end;

static uint64_t gc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A message on stderr without stdio, whose locks a stopped thread may hold. */
static void gc_say(const char *msg, int len)
{
	ssize_t ret;

	if (len <= 0)
		return;
	ret = write(STDERR_FILENO, msg, len);
	(void)ret;
}

static int gc_tgkill(pid_t tid, int sig)
{
	return syscall(SYS_tgkill, getpid(), tid, sig) ? errno : 0;
}

bool gch_heap_ready(void)
{
	return __atomic_load_n(&gch_heap.ready, __ATOMIC_ACQUIRE) &&
	       !gch_heap.dead;
}

void gch_threads_lock(void)
{
	pthread_mutex_lock(&world.threads_lock);
}

void gch_threads_unlock(void)
{
	pthread_mutex_unlock(&world.threads_lock);
}

/**
 * gch_spawn() - pthread_create() with the registers cleared
 * @real: the pthread_create() to call
 * @thread: as pthread_create()
 * @attr: as pthread_create()
 * @fn: as pthread_create()
 * @arg: as pthread_create()
 *
 * A new thread starts with the registers its creator had at the clone()
 * call, and a register that no function of the new thread uses keeps that
 * value for the thread's whole life, where every collection reads it as a
 * root. The registers, callee-saved ones carrying the creator's pointers
 * across calls and scratch ones left by its last calls, are cleared first
 * (GCH_SCRUB_REGISTERS()), so that a thread does not keep an object of its
 * creator alive for ever. The call is not a tail call: the epilogue that
 * restores the callee-saved ones comes after it.
 *
 * Return: as pthread_create().
 */
__attribute__((noinline)) int gch_spawn(pthread_create_fn real,
					pthread_t *thread,
					const pthread_attr_t *attr,
					void *(*fn)(void *), void *arg)
{
	int ret;

	GCH_SCRUB_REGISTERS();
	ret = real(thread, attr, fn, arg);
	__asm__ volatile("" ::: "memory");
	return ret;
}

/* ================ Signals ================ */

static uintptr_t gc_context_pc(const ucontext_t *uc)
{
#if defined(__x86_64__)
	return uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
	return uc->uc_mcontext.pc;
#else
#error "libgcheap: no program counter in ucontext_t known for this architecture"
#endif
}

/* Signals whose default action is to do nothing. */
static bool gc_default_ignores(int sig)
{
	return sig == SIGCHLD || sig == SIGCONT || sig == SIGURG ||
	       sig == SIGWINCH;
}

/*
 * A stop or resume signal that is not the library's: give it to the handler
 * that was there before, or have it take its default action.
 */
static void gc_chain(int sig, siginfo_t *si, void *ctx,
		     const struct sigaction *old)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	if (old->sa_flags & SA_SIGINFO) {
		old->sa_sigaction(sig, si, ctx);
		return;
	}
	if (old->sa_handler == SIG_IGN)
		return;
	if (old->sa_handler != SIG_DFL) {
		old->sa_handler(sig);
		return;
	}
	if (gc_default_ignores(sig))
		return;
	/*
	 * The default action ends the process. The signal is blocked while
	 * its handler runs: raised again with the default disposition back, it
	 * is delivered, with that action, as the handler returns.
	 */
	sigaction(sig, &dfl, NULL);
	gc_tgkill(gettid(), sig);
}

/*
 * Where a thread whose stack pointer @sp lies outside its stack [@lo, @hi)
 * runs: its sigaltstack, if a handler on it runs now ([*@alt_lo,
 * *@alt_hi), scanned from @sp), else 0, 0. Async-signal-safe.
 */
static void gc_alt_stack(uintptr_t sp, uintptr_t lo, uintptr_t hi,
			 uintptr_t *alt_lo, uintptr_t *alt_hi)
{
	stack_t ss;

	*alt_lo = 0;
	*alt_hi = 0;
	if ((sp < lo || sp >= hi) && !sigaltstack(NULL, &ss) &&
	    (ss.ss_flags & SS_ONSTACK)) {
		*alt_lo = (uintptr_t)ss.ss_sp;
		*alt_hi = (uintptr_t)ss.ss_sp + ss.ss_size;
	}
}

/*
 * The stop signal's handler; see the protocol at the top of the file. Only
 * async-signal-safe calls (sem_post(), sigsuspend(), sigaltstack()).
 */
static void gc_suspend_handler(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	struct tc *c = &gch_tc;
	int saved_errno = errno;
	uint64_t seq;
	/* Below the signal frame, which holds the interrupted context. */
	uintptr_t sp = (uintptr_t)&seq;

	if (!__atomic_exchange_n(&c->stop_req, 0, __ATOMIC_ACQ_REL)) {
		gc_chain(sig, si, ctx, &world.old_suspend);
		goto out;
	}
	if (c->busy || gch_in_fast_path(gc_context_pc(uc))) {
		__atomic_store_n(&c->ack, TC_ACK_REFUSED, __ATOMIC_RELEASE);
		sem_post(&world.ack);
		goto out;
	}
	c->regs = uc->uc_mcontext;
	c->sp = sp;
	gc_alt_stack(sp, c->stack_lo, c->stack_hi, &c->alt_lo, &c->alt_hi);
	/* Read before the ack: the collector may resume right after it. */
	seq = __atomic_load_n(&world.resume_seq, __ATOMIC_ACQUIRE);
	__atomic_store_n(&c->ack, TC_ACK_STOPPED, __ATOMIC_RELEASE);
	sem_post(&world.ack);
	while (__atomic_load_n(&world.resume_seq, __ATOMIC_ACQUIRE) == seq)
		sigsuspend(&world.wait_mask);
out:
	errno = saved_errno;
}

/*
 * The resume signal's handler. Ours only end the sigsuspend() above (or,
 * if the thread saw resume_seq move first, arrive after it and need
 * nothing); anyone else's goes on to the old handler. Ours are told by
 * tc.resume_req, not by the sender: the program's own raise() or
 * pthread_kill() comes from this process with SI_TKILL too.
 */
static void gc_resume_handler(int sig, siginfo_t *si, void *ctx)
{
	int saved_errno = errno;

	if (!__atomic_exchange_n(&gch_tc.resume_req, 0, __ATOMIC_ACQ_REL))
		gc_chain(sig, si, ctx, &world.old_resume);
	errno = saved_errno;
}

static const struct {
	const char *name;
	int sig;
} gc_signal_names[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
	{ "ABRT", SIGABRT }, { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM },
	{ "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT },
	{ "TSTP", SIGTSTP }, { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },
	{ "URG", SIGURG }, { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH },
	{ "IO", SIGIO }, { "PWR", SIGPWR }, { "SYS", SIGSYS },
};

/* "SIGUSR1", "USR1", "10", "SIGRTMIN+3", "RTMAX-1" -> the signal, or 0. */
static int gc_parse_signal(const char *str)
{
	unsigned int i;
	char *end;
	long v;

	if (!strncmp(str, "SIG", 3))
		str += 3;
	if (!strncmp(str, "RTMIN", 5) || !strncmp(str, "RTMAX", 5)) {
		bool max = str[4] == 'X';

		str += 5;
		if (!*str)
			return max ? SIGRTMAX : SIGRTMIN;
		if (*str != (max ? '-' : '+'))
			return 0;
		v = strtol(str + 1, &end, 10);
		if (*end || end == str + 1 || v < 0 || v > SIGRTMAX - SIGRTMIN)
			return 0;
		return max ? SIGRTMAX - v : SIGRTMIN + v;
	}
	if (*str >= '0' && *str <= '9') {
		v = strtol(str, &end, 10);
		return *end || v > SIGRTMAX ? 0 : v;
	}
	for (i = 0; i < sizeof(gc_signal_names) / sizeof(gc_signal_names[0]); i++)
		if (!strcmp(str, gc_signal_names[i].name))
			return gc_signal_names[i].sig;
	return 0;
}

/*
 * A signal the library can take over: not one that cannot be caught, nor
 * one the kernel raises for a faulting instruction, nor one glibc keeps for
 * itself (between the classic signals and SIGRTMIN).
 */
static bool gc_signal_ok(int sig)
{
	if (sig < 1 || sig > SIGRTMAX || (sig > SIGSYS && sig < SIGRTMIN))
		return false;
	return sig != SIGKILL && sig != SIGSTOP && sig != SIGSEGV &&
	       sig != SIGBUS && sig != SIGILL && sig != SIGFPE &&
	       sig != SIGTRAP;
}

static int gc_pick_signal(int asked, const char *env, int dflt, int *out)
{
	const char *s = getenv(env);

	if (!asked && s && *s)
		asked = gc_parse_signal(s);
	else if (!asked)
		asked = dflt;
	if (!gc_signal_ok(asked))
		return EINVAL;
	*out = asked;
	return 0;
}

static int gc_install_handlers(void)
{
	struct sigaction sa = { .sa_flags = SA_SIGINFO | SA_RESTART };

	/*
	 * Nothing else runs on the thread while it is stopped: a handler of
	 * the program touching the heap then could hide a pointer from the
	 * mark. Signals that come in meanwhile wait until it goes on.
	 */
	sigfillset(&sa.sa_mask);
	sigfillset(&world.wait_mask);
	sigdelset(&world.wait_mask, world.sig_resume);

	sa.sa_sigaction = gc_suspend_handler;
	if (sigaction(world.sig_suspend, &sa, &world.old_suspend))
		return errno;
	sa.sa_sigaction = gc_resume_handler;
	if (sigaction(world.sig_resume, &sa, &world.old_resume)) {
		int err = errno;

		sigaction(world.sig_suspend, &world.old_suspend, NULL);
		return err;
	}
	return 0;
}

/* ================ The thread registry ================ */

/* The calling thread's stack: [*lo, *hi). 0 or a positive errno. */
static int gc_stack_bounds(uintptr_t *lo, uintptr_t *hi)
{
	pthread_attr_t attr;
	struct rlimit rl;
	size_t size;
	void *addr;
	int err;

	err = pthread_getattr_np(pthread_self(), &attr);
	if (!err) {
		err = pthread_attr_getstack(&attr, &addr, &size);
		pthread_attr_destroy(&attr);
	}
	if (!err) {
		*lo = (uintptr_t)addr;
		*hi = (uintptr_t)addr + size;
		return 0;
	}
	/*
	 * glibc finds the main thread's stack in /proc/self/maps; without
	 * /proc, its own record of the stack's top still is there.
	 */
	if (gettid() != getpid() || !__libc_stack_end)
		return err;
	*hi = (uintptr_t)__libc_stack_end;
	if (getrlimit(RLIMIT_STACK, &rl) || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > *hi)
		*lo = 0;
	else
		*lo = *hi - rl.rlim_cur;
	return 0;
}

/*
 * dl_iterate_phdr() callback: note the calling thread's TLS block of each
 * loaded object, unless it lies in the thread's stack (glibc puts the
 * static TLS of threads it creates at the top of their stack, but the main
 * thread's elsewhere).
 */
static int gc_tls_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct tc *c = data;
	uintptr_t lo, hi;
	unsigned int i;

	if (size < offsetof(struct dl_phdr_info, dlpi_tls_data) +
		   sizeof(info->dlpi_tls_data) || !info->dlpi_tls_data)
		return 0;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_TLS || !ph->p_memsz)
			continue;
		lo = (uintptr_t)info->dlpi_tls_data;
		hi = lo + ph->p_memsz;
		if (lo >= c->stack_lo && hi <= c->stack_hi)
			continue;
		if (c->ntls < TC_MAX_TLS) {
			c->tls[c->ntls].lo = lo;
			c->tls[c->ntls].hi = hi;
			c->ntls++;
		}
	}
	return 0;
}

/**
 * gch_thread_register() - add the calling thread to the registry
 *
 * Finds its stack and TLS (before taking the lock: pthread_getattr_np()
 * allocates), arms the thread-exit hook, and waits for a collection in
 * progress to end before joining.
 *
 * Return: 0 or a positive errno.
 */
int gch_thread_register(void)
{
	struct tc *c = &gch_tc;
	uintptr_t lo, hi;
	int err;

	if (c->registered)
		return 0;
	err = gc_stack_bounds(&lo, &hi);
	if (err)
		return err;
	c->tid = gettid();
	c->stack_lo = lo;
	c->stack_hi = hi;
	c->ntls = 0;
	dl_iterate_phdr(gc_tls_cb, c);
	err = pthread_setspecific(gch_heap.key, c);
	if (err)
		return err;

	pthread_mutex_lock(&world.threads_lock);
	c->prev = NULL;
	c->next = world.threads;
	if (world.threads)
		world.threads->prev = c;
	world.threads = c;
	world.nthreads++;
	c->registered = true;
	c->exited = false;
	pthread_mutex_unlock(&world.threads_lock);
	return 0;
}

/* Take @c out of the registry; threads_lock held. */
static void gc_thread_unlink(struct tc *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		world.threads = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = NULL;
	c->prev = NULL;
	c->registered = false;
	world.nthreads--;
}

/*
 * threads_lock for a thread about to leave the registry. A collection holds
 * the lock while it waits for every registered thread to stop, so this one
 * must take the stop signal while it waits for the lock, even if it blocked
 * every signal (a thread-exit destructor of another library may have): the
 * stop signal is unblocked until gc_leave_unlock() restores @old.
 */
static void gc_leave_lock(struct tc *c, sigset_t *old)
{
	sigset_t stop;

	sigemptyset(&stop);
	if (c->registered)
		sigaddset(&stop, world.sig_suspend);
	pthread_sigmask(SIG_UNBLOCK, &stop, old);
	pthread_mutex_lock(&world.threads_lock);
}

static void gc_leave_unlock(const sigset_t *old)
{
	pthread_mutex_unlock(&world.threads_lock);
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

/**
 * gch_thread_exit() - the thread-exit hook: give the spans back, leave
 *
 * Both under threads_lock, so no collection finds the thread gone but its
 * spans still cached. Afterwards the thread caches nothing (tc.exited).
 */
void gch_thread_exit(void)
{
	struct tc *c = &gch_tc;
	sigset_t old;

	gc_leave_lock(c, &old);
	tc_enter();
	gch_tc_flush(c, true);
	tc_leave();
	if (c->registered)
		gc_thread_unlink(c);
	c->exited = true;
	c->gc_due = false;
	gc_leave_unlock(&old);
}

GCHEAP_EXPORT int gcheap_register_thread(void)
{
	int err = gch_heap_setup();

	if (!err)
		err = gch_thread_register();
	return gch_status(err);
}

GCHEAP_EXPORT int gcheap_unregister_thread(void)
{
	struct tc *c = &gch_tc;
	sigset_t old;
	int err = 0;

	if (gch_heap.dead) {
		errno = gch_heap.dead;
		return -1;
	}
	if (!c->registered)
		return 0;
	gc_leave_lock(c, &old);
	tc_enter();
	err = gch_tc_flush(c, false);
	tc_leave();
	if (!err)
		gc_thread_unlink(c);
	gc_leave_unlock(&old);
	return gch_status(err);
}

/* ================ Stopping the world ================ */

/* Room for @n threads in the collection's arrays; before the world stops. */
static int gc_reserve(unsigned int n)
{
	struct gcheap_range *roots;
	struct tc **stopped, **pending;

	if (n <= world.cap)
		return 0;
	n = n < 16 ? 16 : n * 2;
	roots = realloc(world.roots, (size_t)n * GC_ROOTS_PER_THREAD *
				     sizeof(*roots));
	if (roots)
		world.roots = roots;
	stopped = realloc(world.stopped, n * sizeof(*stopped));
	if (stopped)
		world.stopped = stopped;
	pending = realloc(world.pending, n * sizeof(*pending));
	if (pending)
		world.pending = pending;
	if (!roots || !stopped || !pending)
		return ENOMEM;
	world.cap = n;
	return 0;
}

/* Wait for @n answers to stop signals. */
static void gc_wait_acks(unsigned int n)
{
	bool warned = false;
	struct timespec until;
	char msg[160];
	int len;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += GC_STOP_WARN_SEC;
	while (n) {
		if (!sem_timedwait(&world.ack, &until)) {
			n--;
			continue;
		}
		if (errno != ETIMEDOUT || warned)
			continue;
		/*
		 * No stdio: a stopped thread may hold its locks. The thread
		 * that does not answer has the stop signal blocked, or is
		 * stopped itself (by a debugger, SIGSTOP).
		 */
		len = snprintf(msg, sizeof(msg),
			       "libgcheap: %u thread(s) do not answer signal %d after %d s; is it blocked?\n",
			       n, world.sig_suspend, GC_STOP_WARN_SEC);
		gc_say(msg, len);
		warned = true;
	}
}

/* A thread in the middle of a cache update is asked again after this. */
static void gc_backoff(unsigned int round)
{
	struct timespec ts = { 0, 0 };

	if (round < 4) {
		sched_yield();
		return;
	}
	ts.tv_nsec = round < 100 ? round * 10000L : 1000000L;
	nanosleep(&ts, NULL);
}

/* Let the @n threads of world.stopped go on. */
static void gc_start_world(unsigned int n)
{
	unsigned int i;

	__atomic_add_fetch(&world.resume_seq, 1, __ATOMIC_RELEASE);
	/* A thread cannot vanish while stopped: nothing to do on failure. */
	for (i = 0; i < n; i++) {
		__atomic_store_n(&world.stopped[i]->resume_req, 1,
				 __ATOMIC_RELEASE);
		gc_tgkill(world.stopped[i]->tid, world.sig_resume);
	}
}

/*
 * gc_stop_world() - stop every registered thread but @self
 * @self: the collecting thread's cache
 * @nstopped: out: threads stopped, in world.stopped
 *
 * threads_lock held, so the registry does not change. Threads that refuse
 * (in the middle of a cache update) are asked again until they stop. On
 * failure the threads stopped so far are let go.
 *
 * Return: 0 or a positive errno (of tgkill(): a registered thread is gone).
 */
static int gc_stop_world(struct tc *self, unsigned int *nstopped)
{
	unsigned int npending = 0, nsent, i, left, n = 0, round;
	struct tc *c;
	int err = 0;

	for (c = world.threads; c; c = c->next)
		if (c != self)
			world.pending[npending++] = c;

	for (round = 0; npending; round++) {
		for (nsent = 0; nsent < npending; nsent++) {
			c = world.pending[nsent];
			__atomic_store_n(&c->ack, TC_ACK_NONE, __ATOMIC_RELAXED);
			__atomic_store_n(&c->stop_req, 1, __ATOMIC_RELEASE);
			err = gc_tgkill(c->tid, world.sig_suspend);
			if (err) {
				__atomic_store_n(&c->stop_req, 0, __ATOMIC_RELAXED);
				break;
			}
		}
		gc_wait_acks(nsent);
		for (i = 0, left = 0; i < npending; i++) {
			c = world.pending[i];
			if (i < nsent && __atomic_load_n(&c->ack, __ATOMIC_ACQUIRE) ==
					 TC_ACK_STOPPED)
				world.stopped[n++] = c;
			else
				world.pending[left++] = c;
		}
		npending = left;
		if (err) {
			gc_start_world(n);
			return err;
		}
		if (npending)
			gc_backoff(round);
	}
	*nstopped = n;
	return 0;
}

/* Give back the spans of the caller and of the @n stopped threads. */
static int gc_flush_all(unsigned int n)
{
	unsigned int i;
	int err, first;

	tc_enter();
	first = gch_tc_flush(&gch_tc, false);
	tc_leave();
	for (i = 0; i < n; i++) {
		err = gch_tc_flush(world.stopped[i], false);
		if (err && !first)
			first = err;
	}
	return first;
}

/* ================ Roots ================ */

static bool gc_range_within(const struct gcheap_range *r, unsigned int n,
			    uintptr_t lo, uintptr_t hi)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (lo >= r[i].lo && hi <= r[i].hi)
			return true;
	return false;
}

/**
 * struct gc_thread_view - what the roots of one thread are made of
 * @stack_lo: lowest address of its stack
 * @stack_hi: one past the highest
 * @sp: its stack pointer, stopped
 * @regs: its saved registers
 * @regs_len: bytes at @regs
 * @alt_lo: the sigaltstack it was stopped on, or 0
 * @alt_hi: its end, or 0
 * @tls: its TLS blocks outside the stack
 * @ntls: entries of @tls
 */
struct gc_thread_view {
	uintptr_t stack_lo;
	uintptr_t stack_hi;
	uintptr_t sp;
	const void *regs;
	size_t regs_len;
	uintptr_t alt_lo;
	uintptr_t alt_hi;
	const struct gcheap_range *tls;
	unsigned int ntls;
};

/* The roots of one thread into @out (GC_ROOTS_PER_THREAD); how many. */
static unsigned int gc_thread_roots(const struct gc_thread_view *v,
				    struct gcheap_range *out)
{
	uintptr_t rlo = (uintptr_t)v->regs, rhi = rlo + v->regs_len;
	unsigned int n = 0, i;

	if (v->alt_hi && v->sp >= v->alt_lo && v->sp < v->alt_hi) {
		/* Where the interrupted code's stack pointer is, is unknown. */
		out[n++] = (struct gcheap_range){ v->sp, v->alt_hi };
		out[n++] = (struct gcheap_range){ v->stack_lo, v->stack_hi };
	} else if (v->sp >= v->stack_lo && v->sp < v->stack_hi) {
		out[n++] = (struct gcheap_range){ v->sp, v->stack_hi };
	} else {
		/*
		 * On a stack the library does not know (a coroutine's): its
		 * own stack may still hold pointers; the other one must be
		 * registered by the program (gcheap_add_roots()).
		 */
		out[n++] = (struct gcheap_range){ v->stack_lo, v->stack_hi };
	}
	if (!gc_range_within(out, n, rlo, rhi))
		out[n++] = (struct gcheap_range){ rlo, rhi };
	for (i = 0; i < v->ntls && i < TC_MAX_TLS; i++)
		if (!gc_range_within(out, n, v->tls[i].lo, v->tls[i].hi))
			out[n++] = v->tls[i];
	return n;
}

/* dl_iterate_phdr() callback data of gc_register_static_roots() */
struct gc_phdr_ctx {
	int err;
};

static int gc_add_root(uintptr_t lo, uintptr_t hi)
{
	struct gcheap_roots r = {
		.size = sizeof(r),
		.lo = lo,
		.hi = hi,
	};

	return -gcheap_sys_roots(&r);
}

/*
 * Register [lo, hi) of a data segment, minus the library's struct
 * gcheap_state, which points at the arena's first object.
 */
static int gc_add_static(uintptr_t lo, uintptr_t hi)
{
	uintptr_t xlo = (uintptr_t)&gch_heap, xhi = xlo + sizeof(gch_heap);
	int err = 0;

	lo = (lo + 7) & ~(uintptr_t)7;
	hi &= ~(uintptr_t)7;
	if (lo >= hi)
		return 0;
	if (xlo >= hi || xhi <= lo)
		return gc_add_root(lo, hi);
	if (lo < xlo)
		err = gc_add_root(lo, xlo);
	if (!err && xhi < hi)
		err = gc_add_root(xhi, hi);
	return err;
}

static int gc_phdr_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct gc_phdr_ctx *ctx = data;
	unsigned int i;

	(void)size;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
			continue;
		ctx->err = gc_add_static(lo, lo + ph->p_memsz);
		if (ctx->err)
			return 1;
	}
	return 0;
}

/*
 * The writable segments (data, bss) of the program and of every object
 * loaded now, as bdwgc registers them; dl_iterate_phdr() reports the
 * program itself in a static binary too.
 */
static int gc_register_static_roots(void)
{
	struct gc_phdr_ctx ctx = { 0 };

	dl_iterate_phdr(gc_phdr_cb, &ctx);
	return ctx.err;
}

static int gc_roots_op(void *lo, void *hi, unsigned int flags)
{
	struct gcheap_roots r = {
		.size = sizeof(r),
		.flags = flags,
		.lo = (uintptr_t)lo,
		.hi = (uintptr_t)hi,
	};
	int err = gch_heap_setup();

	if (!err)
		err = -gcheap_sys_roots(&r);
	return gch_status(err);
}

GCHEAP_EXPORT int gcheap_add_roots(void *lo, void *hi)
{
	return gc_roots_op(lo, hi, 0);
}

GCHEAP_EXPORT int gcheap_remove_roots(void *lo, void *hi)
{
	return gc_roots_op(lo, hi, GCHEAP_ROOTS_REMOVE);
}

/* ================ Collections ================ */

/* The caller's stack pointer, below every frame of the caller. */
static __attribute__((noinline)) uintptr_t gc_current_sp(void)
{
	volatile uintptr_t here = 0;

	return (uintptr_t)&here;
}

/*
 * The caller's registers into @uc. getcontext() returns twice in principle;
 * kept apart so the caller's locals need no protection from that. The
 * callee-saved registers are the caller's here, untouched by this frame.
 */
static __attribute__((noinline)) void gc_save_context(ucontext_t *uc)
{
	getcontext(uc);
}

/*
 * Clear the stack below the caller, where the collection's frames will lie:
 * stale pointers left there by earlier calls would otherwise be scanned in
 * their padding and unwritten slots, and keep dead objects (bdwgc's
 * GC_clear_stack()). Not instrumented by ASan, which would move the buffer
 * off the stack it is meant to clear.
 */
__attribute__((noinline, no_sanitize_address)) void gch_clear_stack(void)
{
	char buf[GC_CLEAR_STACK_BYTES];

	explicit_bzero(buf, sizeof(buf));
}

/*
 * gc_collect() - one collection
 * @flags: GCHEAP_GC_* for the kernel
 * @due_cycle: for an automatic collection, world.cycles when it was found
 *	due (a collection completed since makes it moot); UINT64_MAX for one
 *	asked for
 *
 * Return: 0 or a positive errno.
 */
static __attribute__((noinline)) int gc_collect(unsigned int flags,
						uint64_t due_cycle)
{
	struct tc *self = &gch_tc;
	struct gcheap_gc g = {
		.size = sizeof(g),
		.flags = flags,
	};
	struct gc_thread_view v = { 0 };
	unsigned int nstopped = 0, nroots, i;
	struct gcheap_range *r;
	uint64_t t0;
	ucontext_t uc;
	int err;

	err = gch_heap_setup();
	if (!err)
		err = gch_thread_ensure();
	if (err)
		return err;
	if (self->registered) {
		v.stack_lo = self->stack_lo;
		v.stack_hi = self->stack_hi;
		v.tls = self->tls;
		v.ntls = self->ntls;
	} else {
		/* A thread past its exit hook, collecting from a destructor. */
		err = gc_stack_bounds(&v.stack_lo, &v.stack_hi);
		if (err)
			return err;
	}

	pthread_mutex_lock(&world.gc_lock);
	if (due_cycle != UINT64_MAX &&
	    __atomic_load_n(&world.cycles, __ATOMIC_RELAXED) != due_cycle)
		goto out_unlock_gc;
	pthread_mutex_lock(&world.threads_lock);
	/* No malloc() once the world is stopped: a thread may hold its lock. */
	err = gc_reserve(world.nthreads + 1);
	if (err)
		goto out_unlock;

	t0 = gc_now_ns();
	err = gc_stop_world(self, &nstopped);
	if (err)
		goto out_unlock;
	err = gc_flush_all(nstopped);
	if (err)
		goto out_start;

	/*
	 * The caller's registers, in this frame, which is scanned with the
	 * rest of its stack: callee-saved registers may hold the only copy of
	 * a pointer of a caller.
	 */
	memset(&uc, 0, sizeof(uc));
	gc_save_context(&uc);
	v.sp = gc_current_sp();
	/* Collecting from a handler on its sigaltstack: that is scanned too. */
	gc_alt_stack(v.sp, v.stack_lo, v.stack_hi, &v.alt_lo, &v.alt_hi);
	v.regs = &uc.uc_mcontext;
	v.regs_len = sizeof(uc.uc_mcontext);
	r = world.roots;
	nroots = gc_thread_roots(&v, r);
	for (i = 0; i < nstopped; i++) {
		const struct tc *c = world.stopped[i];
		struct gc_thread_view cv = {
			.stack_lo = c->stack_lo,
			.stack_hi = c->stack_hi,
			.sp = c->sp,
			.regs = &c->regs,
			.regs_len = sizeof(c->regs),
			.alt_lo = c->alt_lo,
			.alt_hi = c->alt_hi,
			.tls = c->tls,
			.ntls = c->ntls,
		};

		nroots += gc_thread_roots(&cv, r + nroots);
	}
	g.nroots = nroots;
	g.roots = (uintptr_t)r;
	g.stw_ns = gc_now_ns() - t0;
	err = -gcheap_sys_gc(&g);
	if (!err)
		__atomic_add_fetch(&world.cycles, 1, __ATOMIC_RELAXED);
out_start:
	gc_start_world(nstopped);
out_unlock:
	pthread_mutex_unlock(&world.threads_lock);
out_unlock_gc:
	pthread_mutex_unlock(&world.gc_lock);
	return err;
}

static int gc_run(unsigned int flags)
{
	int err;

	gch_clear_stack();
	err = gc_collect(flags, UINT64_MAX);
	return gch_status(err);
}

GCHEAP_EXPORT int gcheap_gc(void)
{
	return gc_run(0);
}

GCHEAP_EXPORT int gcheap_gc_lazy(void)
{
	return gc_run(GCHEAP_GC_NOSWEEP);
}

GCHEAP_EXPORT int gcheap_free_os_memory(void)
{
	return gc_run(GCHEAP_GC_RELEASE);
}

/**
 * gch_note_gc_due() - a reply of the kernel said a collection is due
 *
 * Remembers it in the thread's cache; gch_gc_due() acts on it once the
 * thread is out of the cache code.
 */
void gch_note_gc_due(void)
{
	if (!gch_tc.gc_due) {
		gch_tc.gc_due = true;
		gch_tc.gc_due_cycle = __atomic_load_n(&world.cycles,
						      __ATOMIC_RELAXED);
	}
}

/**
 * gch_gc_due() - run the collection the kernel said is due
 * @keep: the object the allocation is about to return, kept on this stack
 *	frame so the collection sees it
 *
 * A lazy collection, as Go's background one: the sweep is left to the
 * kernel's worker and to the allocations that need the memory. Unless
 * GCHEAP_GC_MODE=stw, it is concurrent: this call starts a mark or ends
 * the one running. Skipped if another thread collected since the kernel said so. After a failure, the
 * next few due collections are skipped, more each time, so a collection
 * that cannot succeed (too many threads for the roots, say) does not stop
 * the world at every refill. errno is left as it was.
 */
void gch_gc_due(void *keep)
{
	void *volatile hold = keep;
	int saved_errno = errno;
	char msg[128];
	int err, len;

	if (gch_tc.busy || !gch_tc.gc_due)
		return;
	gch_tc.gc_due = false;
	if (__atomic_load_n(&world.auto_skip, __ATOMIC_RELAXED) > 0) {
		__atomic_sub_fetch(&world.auto_skip, 1, __ATOMIC_RELAXED);
		return;
	}
	gch_clear_stack();
	err = gc_collect(world.auto_flags, gch_tc.gc_due_cycle);
	pthread_mutex_lock(&world.gc_lock);
	if (!err) {
		world.auto_backoff = 0;
	} else {
		world.auto_backoff = world.auto_backoff ?
			world.auto_backoff * 2 : 8;
		if (world.auto_backoff > GC_AUTO_BACKOFF_MAX)
			world.auto_backoff = GC_AUTO_BACKOFF_MAX;
		__atomic_store_n(&world.auto_skip, world.auto_backoff,
				 __ATOMIC_RELAXED);
		if (!world.auto_warned) {
			world.auto_warned = true;
			len = snprintf(msg, sizeof(msg),
				       "libgcheap: automatic collection failed: %s\n",
				       strerror(err));
			gc_say(msg, len);
		}
	}
	pthread_mutex_unlock(&world.gc_lock);
	(void)hold;
	errno = saved_errno;
}

/* ================ Pacing ================ */

static int gc_config(unsigned int flags, int percent, unsigned int trace,
		     struct gcheap_gc_config *c)
{
	int err = gch_heap_setup();

	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	c->flags = flags;
	c->gc_percent = percent;
	c->gctrace = trace;
	if (!err)
		err = -gcheap_sys_gc_config(c);
	return err;
}

/* The kernel counts limits in whole heap pages: down to one, not to none. */
static uint64_t gc_limit_round(uint64_t bytes)
{
	if (bytes && bytes < GCHEAP_PAGE_SIZE)
		return GCHEAP_PAGE_SIZE;
	return bytes & ~(uint64_t)(GCHEAP_PAGE_SIZE - 1);
}

/* Set (@bytes >= 0) or read a limit; the previous one, or -1 and errno. */
static int64_t gc_limit(unsigned int flag, int64_t bytes)
{
	struct gcheap_gc_config c;
	int err = gch_heap_setup();

	if (bytes > 0)
		bytes = gc_limit_round(bytes);
	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.flags = bytes >= 0 ? flag : 0;
	c.soft_limit = bytes >= 0 ? bytes : 0;
	c.hard_limit = bytes >= 0 ? bytes : 0;
	if (!err)
		err = -gcheap_sys_gc_config(&c);
	if (err) {
		errno = err;
		return -1;
	}
	return flag == GCHEAP_GC_SET_SOFT_LIMIT ? c.soft_limit : c.hard_limit;
}

GCHEAP_EXPORT int64_t gcheap_set_memory_limit(int64_t bytes)
{
	return gc_limit(GCHEAP_GC_SET_SOFT_LIMIT, bytes);
}

GCHEAP_EXPORT int64_t gcheap_set_hard_limit(int64_t bytes)
{
	return gc_limit(GCHEAP_GC_SET_HARD_LIMIT, bytes);
}

GCHEAP_EXPORT int gcheap_set_gc_percent(int percent)
{
	struct gcheap_gc_config c;
	int err;

	if (percent < GCHEAP_GC_OFF) {
		errno = EINVAL;
		return -2;
	}
	err = gc_config(GCHEAP_GC_SET_PERCENT, percent, 0, &c);
	if (err) {
		errno = err;
		return -2;
	}
	return c.gc_percent;
}

GCHEAP_EXPORT int gcheap_set_gctrace(int on)
{
	struct gcheap_gc_config c;
	int err;

	if (on != 0 && on != 1) {
		errno = EINVAL;
		return -1;
	}
	err = gc_config(GCHEAP_GC_SET_TRACE, 0, on, &c);
	if (err) {
		errno = err;
		return -1;
	}
	return c.gctrace;
}

/*
 * GCHEAP_GOGC ("off" or a percent >= -1), GCHEAP_GCTRACE (0 or 1),
 * GCHEAP_MEMLIMIT and GCHEAP_HARDLIMIT (bytes, with a K, M, G or T suffix)
 * into a GCHEAP_IOC_GC_CONFIG request. 0 or EINVAL.
 */
static int gc_env_config(struct gcheap_gc_config *c)
{
	const char *gogc = getenv("GCHEAP_GOGC");
	const char *trace = getenv("GCHEAP_GCTRACE");
	const char *soft = getenv("GCHEAP_MEMLIMIT");
	const char *hard = getenv("GCHEAP_HARDLIMIT");
	uint64_t bytes;
	char *end;
	long v;

	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	if (gogc && *gogc) {
		if (!strcmp(gogc, "off")) {
			v = GCHEAP_GC_OFF;
		} else {
			errno = 0;
			v = strtol(gogc, &end, 10);
			if (errno || *end || v < GCHEAP_GC_OFF || v > INT_MAX)
				return EINVAL;
		}
		c->flags |= GCHEAP_GC_SET_PERCENT;
		c->gc_percent = v;
	}
	if (trace && *trace) {
		if (strcmp(trace, "0") && strcmp(trace, "1"))
			return EINVAL;
		c->flags |= GCHEAP_GC_SET_TRACE;
		c->gctrace = *trace == '1';
	}
	if (soft && *soft) {
		if (gch_parse_size(soft, &bytes))
			return EINVAL;
		c->flags |= GCHEAP_GC_SET_SOFT_LIMIT;
		c->soft_limit = gc_limit_round(bytes);
	}
	if (hard && *hard) {
		if (gch_parse_size(hard, &bytes))
			return EINVAL;
		c->flags |= GCHEAP_GC_SET_HARD_LIMIT;
		c->hard_limit = gc_limit_round(bytes);
	}
	return 0;
}

/*
 * GCHEAP_GC_MODE: "concurrent" (the default: automatic collections mark
 * beside the program, two short pauses) or "stw" (each one stops the world
 * for the whole mark). 0 or EINVAL.
 */
static int gc_env_mode(void)
{
	const char *mode = getenv("GCHEAP_GC_MODE");

	world.auto_flags = GCHEAP_GC_NOSWEEP | GCHEAP_GC_CONCURRENT;
	if (!mode || !*mode || !strcmp(mode, "concurrent"))
		return 0;
	if (strcmp(mode, "stw"))
		return EINVAL;
	world.auto_flags = GCHEAP_GC_NOSWEEP;
	return 0;
}

/**
 * gch_gc_init() - the collector's part of the heap's set-up
 * @opts: the options of gcheap_init_opts()
 *
 * Runs once, from gcheap.c's set-up, after the arena is mapped.
 *
 * Return: 0 or a positive errno.
 */
int gch_gc_init(const struct gcheap_options *opts)
{
	struct gcheap_gc_config c;
	int err;

	err = gc_pick_signal(opts->sig_suspend, "GCHEAP_SIG_SUSPEND",
			     GC_SIG_SUSPEND_DEFAULT, &world.sig_suspend);
	if (!err)
		err = gc_pick_signal(opts->sig_resume, "GCHEAP_SIG_RESUME",
				     GC_SIG_RESUME_DEFAULT, &world.sig_resume);
	if (!err && world.sig_suspend == world.sig_resume)
		err = EINVAL;
	if (!err)
		err = gc_env_config(&c);
	if (!err)
		err = gc_env_mode();
	if (err)
		return err;
	if (c.flags) {
		err = -gcheap_sys_gc_config(&c);
		if (err)
			return err;
	}
	world.ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (world.ncpu < 1)
		world.ncpu = 1;
	if (sem_init(&world.ack, 0, 0))
		return errno;
	err = gc_register_static_roots();
	if (err)
		return err;
	return gc_install_handlers();
}

/* ================ Statistics ================ */

GCHEAP_EXPORT int gcheap_get_stats(struct gcheap_memstats *ms)
{
	struct gcheap_class_stats rows[TC_MAX_CLASSES];
	struct gcheap_pause pauses[GCHEAP_NUM_PAUSES];
	struct gcheap_stats st = {
		.size = sizeof(st),
		.by_class = (uintptr_t)rows,
		.pauses = (uintptr_t)pauses,
	};
	unsigned int i;
	int err;

	if (!ms) {
		errno = EINVAL;
		return -1;
	}
	err = gch_read_stats(&st);
	if (err)
		goto fail;

	memset(ms, 0, sizeof(*ms));
	ms->alloc = st.heap_alloc;
	ms->total_alloc = st.total_alloc;
	ms->sys = st.heap_sys;
	ms->mallocs = st.mallocs;
	ms->frees = st.frees;
	ms->heap_alloc = st.heap_alloc;
	ms->heap_sys = st.heap_sys;
	ms->heap_idle = st.heap_idle;
	ms->heap_inuse = st.heap_inuse;
	ms->heap_released = st.heap_released;
	ms->heap_objects = st.heap_objects;
	ms->next_gc = st.next_gc;
	ms->last_gc = st.last_gc;
	ms->pause_total_ns = st.pause_total_ns;
	for (i = 0; i < GCHEAP_MEMSTATS_NUM_PAUSES && i < GCHEAP_NUM_PAUSES; i++) {
		ms->pause_ns[i] = pauses[i].ns;
		ms->pause_end[i] = pauses[i].end;
	}
	ms->num_gc = st.num_gc;
	if (st.age_ns)
		ms->gc_cpu_fraction = (double)st.gc_cpu_ns /
				      ((double)st.age_ns * world.ncpu);
	for (i = 0; i < GCHEAP_MEMSTATS_NUM_SIZES && i < gch_heap.nclasses; i++) {
		ms->by_size[i].size = gch_heap.classes[i].size;
		ms->by_size[i].mallocs = rows[i].mallocs;
		ms->by_size[i].frees = rows[i].frees;
	}
	return 0;
fail:
	errno = err;
	return -1;
}
