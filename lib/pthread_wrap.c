// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * Register threads with the collector as they start.
 *
 * A thread that holds heap pointers without allocating (one handed an
 * object as its argument, say) is invisible to the collector until it
 * registers: its stack is not scanned. So pthread_create() is wrapped: the
 * new thread registers before it runs its start routine, and the creator
 * waits for that, keeping the argument on its own (scanned) stack meanwhile,
 * as bdwgc's GC_pthread_create() does.
 *
 * The shared library interposes pthread_create() itself (it is loaded
 * before libc, so the program's calls come here) and finds the real one
 * with dlsym(RTLD_NEXT). The static library offers __wrap_pthread_create()
 * for programs linked with -Wl,--wrap=pthread_create; this object is pulled
 * from the archive only then.
 *
 * Before the heap is set up no collection can run, so nothing is waited for.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>

#include "gcheap_int.h"

/**
 * struct wrap_start - what the new thread needs to start
 * @fn: the program's start routine
 * @arg: its argument
 * @registered: posted by the new thread once it is registered (or failed)
 * @wait: the heap was set up: the creator waits for @registered
 *
 * On the creator's stack, which the creator keeps until @registered.
 */
struct wrap_start {
	void *(*fn)(void *);
	void *arg;
	sem_t registered;
	bool wait;
};

static void *wrap_thread_start(void *p)
{
	struct wrap_start *ws = p;
	void *(*fn)(void *) = ws->fn;
	void *arg = ws->arg;

	if (ws->wait) {
		/*
		 * A failure leaves the thread to register itself when it
		 * allocates, as a thread made without the wrapper does.
		 */
		gch_thread_register();
		/* @ws is gone once this is posted. */
		sem_post(&ws->registered);
	}
	return fn(arg);
}

static int wrap_create(pthread_create_fn real, pthread_t *thread,
		       const pthread_attr_t *attr, void *(*fn)(void *),
		       void *arg)
{
	struct wrap_start ws = {
		.fn = fn,
		.arg = arg,
		.wait = gch_heap_ready(),
	};
	int ret;

	if (!ws.wait)
		return gch_spawn(real, thread, attr, fn, arg);
	if (sem_init(&ws.registered, 0, 0))
		return errno;
	ret = gch_spawn(real, thread, attr, wrap_thread_start, &ws);
	if (!ret)
		while (sem_wait(&ws.registered) && errno == EINTR)
			;
	sem_destroy(&ws.registered);
	return ret;
}

#ifdef GCHEAP_SHARED

static pthread_create_fn wrap_real;
static pthread_once_t wrap_once = PTHREAD_ONCE_INIT;

static void wrap_find_real(void)
{
	wrap_real = (pthread_create_fn)dlsym(RTLD_NEXT, "pthread_create");
}

GCHEAP_EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
				 void *(*fn)(void *), void *arg)
{
	pthread_once(&wrap_once, wrap_find_real);
	if (!wrap_real)
		return EAGAIN;
	return wrap_create(wrap_real, thread, attr, fn, arg);
}

#else

int __real_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg);

GCHEAP_EXPORT int __wrap_pthread_create(pthread_t *thread,
					const pthread_attr_t *attr,
					void *(*fn)(void *), void *arg)
{
	return wrap_create(__real_pthread_create, thread, attr, fn, arg);
}

#endif
