// SPDX-License-Identifier: GPL-2.0
/*
 * gcheap_gc_threads_test: collections in a process with several threads.
 *
 * The library stops every registered thread with a signal, takes their
 * stacks and registers as roots and gives their cached spans back. Checked
 * here: 4 threads building and dropping trees while collections run (from
 * the main thread and automatic ones), checksums verified; a thread blocked
 * in read() on a pipe neither holds a collection up nor sees its read()
 * fail; a pointer held only in another thread's register, or on the stack
 * of a thread that never allocates, keeps its object; threads that exit
 * leave the registry; the program's own signal handlers keep working, and
 * the stop and resume signals can be changed.
 *
 * Linked with -Wl,--wrap=pthread_create (see the Makefile), so threads are
 * registered when they start, as with the shared library.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"

#include "gcheap.h"
#include "gcheap_gc_util.h"
#include "gcheap_util.h"

GH_REQUIRE_DEVICE();

static struct gcheap_memstats ms0, ms1;

/* ---------------- trees ---------------- */

static uint64_t tree_sum(const struct tree *t)
{
	return t ? t->value + tree_sum(t->left) + tree_sum(t->right) : 0;
}

#define WORKERS		4
#define WORKER_ROUNDS	60
#define TREE_DEPTH	10

struct worker {
	pthread_t tid;
	unsigned int id;
	uint64_t rounds;
	uint64_t bad;
	uint64_t failed;
};

static volatile int workers_done;

/*
 * Build a tree, keep it on the stack while building another (garbage),
 * check the first one's checksum, drop both, again.
 */
static void *tree_worker(void *arg)
{
	struct worker *w = arg;
	uint64_t seed = 0x1234567ULL * (w->id + 1);
	unsigned int r;

	for (r = 0; r < WORKER_ROUNDS; r++) {
		uint64_t sum = 0, junk = 0;
		struct tree *volatile keep = gh_tree_build(TREE_DEPTH, &seed, &sum);

		if (!keep || !gh_tree_build(TREE_DEPTH - 2, &seed, &junk)) {
			w->failed++;
			break;
		}
		if (tree_sum(keep) != sum)
			w->bad++;
		w->rounds++;
	}
	__atomic_add_fetch(&workers_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

TEST(trees_while_collecting)
{
	static struct worker w[WORKERS];
	unsigned int i, collections = 0;

	ASSERT_EQ(0, gcheap_init());
	ASSERT_EQ(0, gh_memstats(&ms0));
	for (i = 0; i < WORKERS; i++) {
		w[i].id = i;
		ASSERT_EQ(0, pthread_create(&w[i].tid, NULL, tree_worker, &w[i]));
	}
	/* Collect from this thread while they work, full and lazy in turn. */
	while (__atomic_load_n(&workers_done, __ATOMIC_ACQUIRE) < WORKERS) {
		ASSERT_EQ(0, collections & 1 ? gcheap_gc_lazy() : gcheap_gc())
			TH_LOG("collection %u: %s", collections, strerror(errno));
		collections++;
		usleep(2000);
	}
	for (i = 0; i < WORKERS; i++) {
		ASSERT_EQ(0, pthread_join(w[i].tid, NULL));
		EXPECT_EQ(0, w[i].failed) TH_LOG("worker %u: allocation failed", i);
		EXPECT_EQ(0, w[i].bad) TH_LOG("worker %u: %llu bad checksums", i,
					      (unsigned long long)w[i].bad);
		EXPECT_EQ(WORKER_ROUNDS, w[i].rounds);
	}
	ASSERT_EQ(0, gh_memstats(&ms1));
	TH_LOG("%u collections from the main thread, %llu in all", collections,
	       (unsigned long long)(ms1.num_gc - ms0.num_gc));
	EXPECT_GE(ms1.num_gc - ms0.num_gc, collections);
	EXPECT_GE(collections, 2);
	/* Every tree was dropped: the exited threads' spans came back too. */
	gh_clear_stack();
	ASSERT_EQ(0, gcheap_gc());
	ASSERT_EQ(0, gh_memstats(&ms1));
	EXPECT_LE(ms1.heap_objects, GH_SLACK);
}

/* ---------------- a thread blocked in read() ---------------- */

struct reader {
	int fd;
	uintptr_t obj;		/* hidden until the thread holds it */
	volatile int ready;
	ssize_t got;
	int err;
	char byte;
	int intact;
};

static void *reader_thread(void *arg)
{
	struct reader *r = arg;
	void *volatile obj = gh_unhide(r->obj);

	r->obj = 0;
	__atomic_store_n(&r->ready, 1, __ATOMIC_RELEASE);
	r->got = read(r->fd, &r->byte, 1);
	r->err = r->got < 0 ? errno : 0;
	r->intact = gh_check(obj, 512, 42);
	return NULL;
}

static GH_NOINLINE uintptr_t make_obj(size_t size, uint64_t id)
{
	void *p = gcheap_malloc(size);

	if (p)
		gh_fill(p, size, id);
	return gh_hide(p);
}

TEST(blocked_in_read)
{
	struct reader r = { 0 };
	uint64_t t0, t1;
	pthread_t tid;
	int pfd[2], i;

	ASSERT_EQ(0, pipe(pfd));
	r.fd = pfd[0];
	r.obj = make_obj(512, 42);
	ASSERT_EQ(0, pthread_create(&tid, NULL, reader_thread, &r));
	while (!__atomic_load_n(&r.ready, __ATOMIC_ACQUIRE))
		usleep(1000);
	/* Let it block in read(). */
	usleep(100000);
	gh_clear_stack();
	t0 = gh_now_ns();
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, gcheap_gc());
	t1 = gh_now_ns();
	/* Generous for a TCG guest; a thread that held it up would hang. */
	EXPECT_LT(t1 - t0, 20ULL * 1000000000);
	ASSERT_EQ(1, write(pfd[1], "x", 1));
	ASSERT_EQ(0, pthread_join(tid, NULL));
	/* SA_RESTART: the read() went on after each stop, and got the byte. */
	EXPECT_EQ(1, r.got) TH_LOG("read: %s", strerror(r.err));
	EXPECT_EQ('x', r.byte);
	EXPECT_TRUE(r.intact);
	close(pfd[0]);
	close(pfd[1]);
}

/* ---------------- a pointer only in another thread's register ---------------- */

#if defined(__x86_64__)
struct spinner {
	uintptr_t obj;		/* hidden */
	volatile int ready;
	volatile int done;
	int intact;
};

/*
 * Spin with the only copy of the pointer in r14 (its hidden form is gone):
 * stopped, the thread's registers are in its signal frame and in the copy
 * its handler makes.
 */
static void *spinner_thread(void *arg)
{
	struct spinner *s = arg;
	register uintptr_t held asm("r14") = s->obj;

	s->obj = 0;
	asm volatile("xorq %[key], %[r]" : [r] "+r"(held) : [key] "r"(GH_HIDE_KEY));
	__atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
	asm volatile("1: pause\n\t"
		     "cmpl $0, %[done]\n\t"
		     "je 1b"
		     : "+r"(held) : [done] "m"(s->done) : "memory");
	s->intact = gh_check((void *)held, 256, 77);
	return NULL;
}

TEST(pointer_in_a_register)
{
	struct spinner s = { 0 };
	pthread_t tid;

	ASSERT_EQ(0, gcheap_init());
	s.obj = make_obj(256, 77);
	ASSERT_EQ(0, pthread_create(&tid, NULL, spinner_thread, &s));
	while (!__atomic_load_n(&s.ready, __ATOMIC_ACQUIRE))
		usleep(1000);
	gh_clear_stack();
	ASSERT_EQ(0, gh_memstats(&ms0));
	ASSERT_EQ(0, gcheap_gc());
	ASSERT_EQ(0, gcheap_gc());
	ASSERT_EQ(0, gh_memstats(&ms1));
	EXPECT_EQ(0, ms1.frees - ms0.frees);
	s.done = 1;
	ASSERT_EQ(0, pthread_join(tid, NULL));
	EXPECT_TRUE(s.intact);
	/* Let go, it is collected. */
	gh_clear_stack();
	ASSERT_EQ(0, gcheap_gc());
	ASSERT_EQ(0, gh_memstats(&ms1));
	EXPECT_EQ(1, ms1.frees - ms0.frees);
}
#endif

/* ---------------- threads that never allocate ---------------- */

struct holder {
	void *obj;
	volatile int ready;
	volatile int done;
	int intact;
	int explicit;
};

/* The object is the thread's argument: the creator keeps no copy. */
static void *holder_thread(void *arg)
{
	struct holder *h = arg;
	void *volatile obj = h->obj;

	h->obj = NULL;
	if (h->explicit && gcheap_register_thread())
		return NULL;
	__atomic_store_n(&h->ready, 1, __ATOMIC_RELEASE);
	while (!h->done)
		usleep(1000);
	h->intact = gh_check(obj, 1024, 99);
	return NULL;
}

/* pthread_create() itself, not the library's wrapper (--wrap). */
int __real_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg);

static GH_NOINLINE int start_holder(struct holder *h, pthread_t *tid)
{
	h->obj = gh_unhide(make_obj(1024, 99));
	if (h->explicit)
		return __real_pthread_create(tid, NULL, holder_thread, h);
	return pthread_create(tid, NULL, holder_thread, h);
}

static void holder_case(struct __test_metadata *_metadata, int explicit)
{
	struct holder h = { .explicit = explicit };
	pthread_t tid;

	ASSERT_EQ(0, gcheap_init());
	ASSERT_EQ(0, start_holder(&h, &tid));
	while (!__atomic_load_n(&h.ready, __ATOMIC_ACQUIRE))
		usleep(1000);
	gh_clear_stack();
	ASSERT_EQ(0, gh_memstats(&ms0));
	ASSERT_EQ(0, gcheap_gc());
	ASSERT_EQ(0, gh_memstats(&ms1));
	EXPECT_EQ(0, ms1.frees - ms0.frees);
	h.done = 1;
	ASSERT_EQ(0, pthread_join(tid, NULL));
	EXPECT_TRUE(h.intact);
}

/* Registered by the pthread_create() wrapper as it starts. */
TEST(thread_registered_at_start)
{
	holder_case(_metadata, 0);
}

/* Made without the wrapper, it registers itself. */
TEST(thread_registered_explicitly)
{
	holder_case(_metadata, 1);
}

/* ---------------- registry ---------------- */

static void *exiting_thread(void *arg)
{
	unsigned int i;

	(void)arg;
	for (i = 0; i < 1000; i++)
		if (!gcheap_malloc(64 + i % 200))
			return (void *)1;
	return NULL;
}

TEST(threads_leave_when_they_exit)
{
	pthread_t tid[16];
	unsigned int i;
	void *ret;

	ASSERT_EQ(0, gcheap_init());
	ASSERT_EQ(0, gh_memstats(&ms0));
	for (i = 0; i < 16; i++)
		ASSERT_EQ(0, pthread_create(&tid[i], NULL, exiting_thread, NULL));
	for (i = 0; i < 16; i++) {
		ASSERT_EQ(0, pthread_join(tid[i], &ret));
		EXPECT_EQ(NULL, ret);
	}
	/* Their spans came back: nothing is cached, and nobody to stop. */
	gh_clear_stack();
	ASSERT_EQ(0, gcheap_gc());
	ASSERT_EQ(0, gh_memstats(&ms1));
	EXPECT_EQ(16000, ms1.mallocs - ms0.mallocs);
	EXPECT_GE(ms1.frees - ms0.frees, 16000 - GH_SLACK);
	/* Unregistering, and registering again. */
	EXPECT_EQ(0, gcheap_unregister_thread());
	EXPECT_EQ(0, gcheap_unregister_thread());
	EXPECT_EQ(0, gcheap_register_thread());
	EXPECT_EQ(0, gcheap_register_thread());
	EXPECT_EQ(0, gcheap_gc());
}

/* ---------------- signals ---------------- */

static volatile int usr1_count, pwr_count, xcpu_count;

static void on_xcpu(int sig)
{
	(void)sig;
	xcpu_count++;
}

static void on_usr1(int sig)
{
	(void)sig;
	usr1_count++;
}

static void on_pwr(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)si;
	(void)ctx;
	pwr_count++;
}

struct pinger {
	pid_t main_tid;
	volatile int stop;
	unsigned int sent;
};

static void *pinger_thread(void *arg)
{
	struct pinger *p = arg;

	while (!p->stop) {
		if (!syscall(SYS_tgkill, getpid(), p->main_tid, SIGUSR1))
			p->sent++;
		usleep(500);
	}
	return NULL;
}

TEST(program_signal_handlers)
{
	struct sigaction sa = { .sa_sigaction = on_pwr, .sa_flags = SA_SIGINFO };
	struct pinger p = { .main_tid = gettid() };
	unsigned int i;
	pthread_t tid;

	/* SIGPWR and SIGXCPU handlers of the program's own, installed first. */
	ASSERT_EQ(0, sigaction(SIGPWR, &sa, NULL));
	signal(SIGXCPU, on_xcpu);
	signal(SIGUSR1, on_usr1);
	ASSERT_EQ(0, gcheap_init());

	/*
	 * Stop and resume signals that are not the library's still reach
	 * them, however sent: from this process too, as the library's are.
	 */
	ASSERT_EQ(0, syscall(SYS_tgkill, getpid(), gettid(), SIGPWR));
	ASSERT_EQ(0, raise(SIGPWR));
	EXPECT_EQ(2, pwr_count);
	ASSERT_EQ(0, raise(SIGXCPU));
	ASSERT_EQ(0, pthread_kill(pthread_self(), SIGXCPU));
	ASSERT_EQ(0, kill(getpid(), SIGXCPU));
	EXPECT_EQ(3, xcpu_count);

	/* SIGUSR1 keeps arriving at its handler while collections run. */
	ASSERT_EQ(0, pthread_create(&tid, NULL, pinger_thread, &p));
	for (i = 0; i < 20; i++) {
		ASSERT_NE(gh_hide(NULL), make_obj(64, i));
		ASSERT_EQ(0, gcheap_gc());
	}
	p.stop = 1;
	ASSERT_EQ(0, pthread_join(tid, NULL));
	/* Signals of one kind may merge while pending, never vanish all. */
	EXPECT_LT(0, usr1_count);
	EXPECT_LE(usr1_count, p.sent);
	/* The library's own, to the pinger, went to no handler of ours. */
	EXPECT_EQ(2, pwr_count);
	EXPECT_EQ(3, xcpu_count);
	ASSERT_EQ(0, raise(SIGXCPU));
	EXPECT_EQ(4, xcpu_count);
}

/* What a handler on the sigaltstack found: objects freed or overwritten. */
static volatile int alt_bad, alt_ran;

/*
 * Its 32 objects are held only in this frame, on the sigaltstack (memory
 * no collection scans otherwise), through a collection it runs itself and
 * the allocations that reuse what the collection freed.
 */
static void on_usr2_alt(int sig)
{
	uint64_t *volatile keep[32];
	unsigned int i;

	(void)sig;
	for (i = 0; i < 32; i++) {
		keep[i] = gcheap_malloc(64);
		if (!keep[i])
			return;
		gh_fill(keep[i], 64, 500 + i);
	}
	if (gcheap_gc())
		return;
	for (i = 0; i < 4096; i++) {
		uint64_t *q = gcheap_malloc(64);

		if (q)
			memset(q, 0xee, 64);
	}
	for (i = 0; i < 32; i++)
		if (gcheap_base(keep[i]) != keep[i] ||
		    !gh_check(keep[i], 64, 500 + i))
			alt_bad++;
	alt_ran = 1;
}

TEST(collect_on_sigaltstack)
{
	struct sigaction sa = { .sa_handler = on_usr2_alt,
				.sa_flags = SA_ONSTACK };
	stack_t ss = { .ss_size = 1 << 20 };

	ss.ss_sp = mmap(NULL, ss.ss_size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ss.ss_sp);
	ASSERT_EQ(0, sigaltstack(&ss, NULL));
	ASSERT_EQ(0, sigaction(SIGUSR2, &sa, NULL));
	ASSERT_EQ(0, gcheap_init());
	ASSERT_EQ(0, raise(SIGUSR2));
	EXPECT_EQ(1, alt_ran);
	EXPECT_EQ(0, alt_bad);
}

TEST(other_signals)
{
	static struct worker w[2];
	unsigned int i;

	ASSERT_EQ(0, setenv("GCHEAP_SIG_SUSPEND", "SIGUSR2", 1));
	ASSERT_EQ(0, setenv("GCHEAP_SIG_RESUME", "SIGRTMIN+3", 1));
	ASSERT_EQ(0, gcheap_init()) TH_LOG("%s", strerror(errno));
	for (i = 0; i < 2; i++) {
		w[i].id = i;
		ASSERT_EQ(0, pthread_create(&w[i].tid, NULL, tree_worker, &w[i]));
	}
	/* Not back to back: a stopped world makes no progress. */
	while (__atomic_load_n(&workers_done, __ATOMIC_ACQUIRE) < 2) {
		ASSERT_EQ(0, gcheap_gc());
		usleep(2000);
	}
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, pthread_join(w[i].tid, NULL));
		EXPECT_EQ(0, w[i].bad);
		EXPECT_EQ(0, w[i].failed);
	}
}

TEST(bad_signals)
{
	ASSERT_EQ(0, setenv("GCHEAP_SIG_SUSPEND", "SIGSEGV", 1));
	EXPECT_EQ(-1, gcheap_init());
	EXPECT_EQ(EINVAL, errno);
}

TEST(same_signals)
{
	struct gcheap_options o = {
		.size = sizeof(o),
		.sig_suspend = SIGUSR1,
		.sig_resume = SIGUSR1,
	};
	struct gcheap_options valid = { .size = sizeof(valid) };

	EXPECT_EQ(-1, gcheap_init_opts(&o));
	EXPECT_EQ(EINVAL, errno);
	/* The failed set-up is final: a later call says why, not EBUSY. */
	errno = 0;
	EXPECT_EQ(-1, gcheap_init_opts(&valid));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(NULL, gcheap_malloc(16));
	EXPECT_EQ(EINVAL, errno);
}

TEST_HARNESS_MAIN
