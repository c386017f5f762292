// SPDX-License-Identifier: GPL-2.0
/*
 * gcheap_final_test: finalizers through libgcheap and the fd's queue.
 *
 * A finalizer runs exactly once, after its object became unreachable, with
 * the object and what it references intact, however many collections
 * come before the program reads its record; a finalizer that stores its
 * object resurrects it; a cycle of finalizers is never finalized; freeing an
 * object removes its finalizer, from any thread; the library's thread
 * runs them by itself, and the objects it finalized are freed by the
 * collections that follow; the fd is readable (poll, epoll) while records
 * are queued, a reader blocked in read() is woken by a collection, several
 * readers share the records with none delivered twice, a process killed
 * while it reads and collects leaves nothing behind; weak pointers and
 * disappearing links in the arena and in root memory are cleared when
 * their object dies, before its finalizer is queued; bad input gets its
 * documented errno.
 *
 * Each test runs in a child process of its own (the harness forks), so each
 * has a fresh heap.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <signal.h>

#include "kselftest_harness.h"

#include "gcheap.h"
#include "gcheap_gc_util.h"
#include "gcheap_util.h"

GH_REQUIRE_DEVICE();

#define PATTERN		0x5eed0000f1a1ULL

struct node {
	struct node *child;
	uint64_t stamp;
	uint64_t pad[2];
};

/* In the data segment: a root the library registers. */
static void *global_root;
static uintptr_t hidden[128];
static volatile int ran, bad_contents;
static uintptr_t ran_on[128];

/* Checks its object and its child, and counts itself. */
static void finalizer(void *obj, void *arg)
{
	struct node *n = obj;
	int i = __atomic_fetch_add(&ran, 1, __ATOMIC_SEQ_CST);

	if (n->stamp != (uintptr_t)arg || !n->child ||
	    n->child->stamp != (uintptr_t)arg + 1)
		bad_contents++;
	/* Hidden, so that the record keeps nothing alive. */
	if (i < 128)
		ran_on[i] = gh_hide(obj);
}

static void resurrect(void *obj, void *arg)
{
	(void)arg;
	global_root = obj;
	__atomic_fetch_add(&ran, 1, __ATOMIC_SEQ_CST);
}

/* @n objects, each with a child, a finalizer each; only hidden pointers kept. */
static GH_NOINLINE int make_finalizable(unsigned int n, gcheap_finalizer_fn fn)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct node *p = gcheap_malloc(sizeof(*p));
		struct node *c = gcheap_malloc(sizeof(*c));

		if (!p || !c)
			return -1;
		p->stamp = PATTERN + 2 * i;
		c->stamp = PATTERN + 2 * i + 1;
		p->child = c;
		if (gcheap_register_finalizer(p, fn, (void *)(uintptr_t)p->stamp))
			return -1;
		hidden[i] = gh_hide(p);
	}
	return 0;
}

static void manual(void)
{
	setenv("GCHEAP_FINALIZER_THREAD", "0", 1);
}

static GH_NOINLINE int collect(void)
{
	gh_clear_stack();
	return gcheap_gc();
}

static int readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

TEST(runs_once)
{
	int fd;

	manual();
	ASSERT_EQ(0, make_finalizable(1, finalizer));
	fd = gcheap_fd();
	ASSERT_LE(0, fd);
	EXPECT_FALSE(readable(fd));
	ASSERT_EQ(0, collect());
	EXPECT_TRUE(readable(fd));
	EXPECT_EQ(1, gcheap_run_finalizers());
	EXPECT_EQ(1, ran);
	EXPECT_EQ(0, bad_contents);
	EXPECT_EQ(hidden[0], ran_on[0]);
	EXPECT_FALSE(readable(fd));
	/* Still allocated until the next collection; then gone, never again. */
	ASSERT_EQ(0, collect());
	ASSERT_EQ(0, collect());
	EXPECT_EQ(0, gcheap_run_finalizers());
	EXPECT_EQ(1, ran);
	EXPECT_EQ(NULL, gcheap_base(gh_unhide(hidden[0])));
}

TEST(resurrection)
{
	struct node *n;

	manual();
	ASSERT_EQ(0, make_finalizable(1, resurrect));
	ASSERT_EQ(0, collect());
	EXPECT_EQ(1, gcheap_run_finalizers());
	n = global_root;
	ASSERT_EQ(gh_unhide(hidden[0]), n);
	ASSERT_EQ(0, collect());
	ASSERT_EQ(0, collect());
	/* Alive, contents and child intact, and not finalized again. */
	EXPECT_EQ((void *)n, gcheap_base(n));
	EXPECT_EQ(PATTERN, n->stamp);
	EXPECT_EQ(PATTERN + 1, n->child->stamp);
	EXPECT_EQ(0, gcheap_run_finalizers());
	EXPECT_EQ(1, ran);
}

/* Fills of freed memory, as a program would make between collections. */
static GH_NOINLINE void churn(unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint64_t *w = gcheap_malloc(sizeof(struct node));

		if (w)
			memset(w, 0x5a, sizeof(struct node));
	}
}

/*
 * A queued record, not read yet, is the only reference to its object: the
 * collections before the program reads it keep the object and its child.
 */
TEST(queued_kept_until_read)
{
	int i, live = 0;

	manual();
	ASSERT_EQ(0, make_finalizable(100, finalizer));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, collect());
		churn(400);
	}
	for (i = 0; i < 100; i++)
		live += gcheap_base(gh_unhide(hidden[i])) != NULL;
	EXPECT_EQ(100, live);
	EXPECT_LE(100 - GH_SLACK, gcheap_run_finalizers());
	EXPECT_EQ(0, bad_contents);
}

TEST(cycle_never_finalized)
{
	struct node *a, *b;

	manual();
	a = gcheap_malloc(sizeof(*a));
	b = gcheap_malloc(sizeof(*b));
	ASSERT_TRUE(a && b);
	a->child = b;
	b->child = a;
	ASSERT_EQ(0, gcheap_register_finalizer(a, finalizer, NULL));
	ASSERT_EQ(0, gcheap_register_finalizer(b, finalizer, NULL));
	hidden[0] = gh_hide(a);
	a = b = NULL;
	ASSERT_EQ(0, collect());
	ASSERT_EQ(0, collect());
	EXPECT_EQ(0, gcheap_run_finalizers());
	EXPECT_EQ(0, ran);
	EXPECT_NE(NULL, gcheap_base(gh_unhide(hidden[0])));
}

TEST(free_removes)
{
	manual();
	ASSERT_EQ(0, make_finalizable(1, finalizer));
	gcheap_free(gh_unhide(hidden[0]));
	ASSERT_EQ(0, collect());
	EXPECT_EQ(0, gcheap_run_finalizers());
	EXPECT_EQ(0, ran);
}

static void *free_hidden(void *arg)
{
	errno = 0;
	gcheap_free(gh_unhide(*(uintptr_t *)arg));
	return (void *)(intptr_t)errno;
}

/*
 * Freed by another thread while the allocating thread's cache still holds
 * the span: the memory waits for a collection, the finalizer goes at once.
 */
TEST(free_from_other_thread_removes)
{
	pthread_t t;
	void *err;

	manual();
	ASSERT_EQ(0, make_finalizable(1, finalizer));
	ASSERT_EQ(0, pthread_create(&t, NULL, free_hidden, &hidden[0]));
	ASSERT_EQ(0, pthread_join(t, &err));
	EXPECT_EQ(0, (intptr_t)err);
	ASSERT_EQ(0, collect());
	ASSERT_EQ(0, collect());
	EXPECT_EQ(0, gcheap_run_finalizers());
	EXPECT_EQ(0, ran);
}

/*
 * Collections until @n finalizers ran (at most @rounds, each followed by
 * up to 2 s for the library's thread). Return: collections made.
 */
static int collect_until_ran(int n, int rounds)
{
	int round, waited;

	for (round = 0; round < rounds && ran < n; round++) {
		if (collect())
			return -1;
		for (waited = 0; ran < n && waited < 2000; waited += 10)
			usleep(10000);
	}
	return round;
}

TEST(library_thread_runs_them)
{
	ASSERT_EQ(0, make_finalizable(20, finalizer));
	/*
	 * A stale word may keep one for a cycle or two. Bounded below the
	 * harness's limit, so that a thread that never runs them fails here.
	 */
	ASSERT_LE(0, collect_until_ran(20, 10));
	EXPECT_EQ(20, ran);
	EXPECT_EQ(0, bad_contents);
	EXPECT_EQ(0, gcheap_run_finalizers());
}

/*
 * The library's thread lets go of what it finalized: neither the records it
 * read last nor the registers it started with (the creator's, at the
 * registration that started it) keep an object once its finalizer ran.
 */
TEST(library_thread_frees_them)
{
	int i, round;

	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, make_finalizable(1, finalizer));
		ASSERT_LE(0, collect_until_ran(i + 1, 3));
		ASSERT_EQ(i + 1, ran);
		/*
		 * The thread may still be in the finalizer's caller, the
		 * records in hand, at the next collection or two: a few,
		 * with pauses between them. Kept for ever is what fails.
		 */
		for (round = 0; round < 5; round++) {
			ASSERT_EQ(0, collect());
			if (!gcheap_base(gh_unhide(hidden[0])))
				break;
			usleep(20000);
		}
		errno = 0;
		EXPECT_EQ(NULL, gcheap_base(gh_unhide(hidden[0])))
			TH_LOG("object %d kept by %d collections", i, round);
		EXPECT_EQ(ENOENT, errno);
	}
	EXPECT_EQ(0, bad_contents);
}

TEST(epoll_ready)
{
	struct epoll_event ev = { .events = EPOLLIN }, out;
	int fd, ep;

	manual();
	fd = gcheap_fd();
	ASSERT_LE(0, fd);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 0));
	ASSERT_EQ(0, make_finalizable(3, finalizer));
	ASSERT_EQ(0, collect());
	ASSERT_EQ(1, epoll_wait(ep, &out, 1, 0));
	EXPECT_TRUE(out.events & EPOLLIN);
	EXPECT_EQ(3, gcheap_run_finalizers());
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 0));
	close(ep);
}

static int reader_fd;

static void *blocked_reader(void *arg)
{
	struct gcheap_final *rec = arg;

	return (void *)(intptr_t)read(reader_fd, rec, sizeof(*rec));
}

TEST(blocked_reader_woken)
{
	struct gcheap_final rec = { 0 };
	pthread_t t;
	void *got;

	manual();
	reader_fd = gcheap_fd();
	ASSERT_LE(0, reader_fd);
	ASSERT_EQ(0, pthread_create(&t, NULL, blocked_reader, &rec));
	usleep(100000);	/* likely blocked by now; the test holds either way */
	ASSERT_EQ(0, make_finalizable(1, finalizer));
	ASSERT_EQ(0, collect());
	ASSERT_EQ(0, pthread_join(t, &got));
	EXPECT_EQ(sizeof(rec), (size_t)(intptr_t)got);
	EXPECT_EQ(gh_unhide(hidden[0]), (void *)(uintptr_t)rec.addr);
	EXPECT_EQ((uintptr_t)finalizer, rec.fn);
	EXPECT_EQ(PATTERN, rec.arg);
	EXPECT_EQ(GCHEAP_FINAL_FINALIZER, rec.kind);
}

#define READERS		4
#define RECORDS		100

static uintptr_t seen[READERS][RECORDS];
static unsigned int nseen[READERS];
static volatile int readers_done;

/* Non-blocking reads after poll, one record at a time, until told to stop. */
static void *shared_reader(void *arg)
{
	unsigned int me = (uintptr_t)arg;
	struct gcheap_final rec;
	struct iovec iov = { .iov_base = &rec, .iov_len = sizeof(rec) };
	struct pollfd p = { .fd = reader_fd, .events = POLLIN };

	while (!readers_done) {
		if (poll(&p, 1, 20) <= 0)
			continue;
		if (preadv2(reader_fd, &iov, 1, -1, RWF_NOWAIT) == sizeof(rec) &&
		    nseen[me] < RECORDS) {
			seen[me][nseen[me]] = rec.addr;
			__atomic_store_n(&nseen[me], nseen[me] + 1,
					 __ATOMIC_RELEASE);
		}
	}
	return NULL;
}

TEST(several_readers)
{
	pthread_t t[READERS];
	unsigned int i, r, j, total = 0, waited, dups = 0, missing = 0;

	manual();
	reader_fd = gcheap_fd();
	ASSERT_LE(0, reader_fd);
	for (i = 0; i < READERS; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, shared_reader,
					    (void *)(uintptr_t)i));
	ASSERT_EQ(0, make_finalizable(RECORDS, finalizer));
	/*
	 * A stale word may keep an object for a collection or two: collect
	 * until all are queued, within the harness's time limit.
	 */
	for (waited = 0; waited < 100; waited++) {
		ASSERT_EQ(0, collect());
		usleep(50000);
		for (total = 0, r = 0; r < READERS; r++)
			total += __atomic_load_n(&nseen[r], __ATOMIC_ACQUIRE);
		if (total >= RECORDS)
			break;
	}
	readers_done = 1;
	for (i = 0; i < READERS; i++)
		pthread_join(t[i], NULL);
	/* Every object once, none twice. */
	for (i = 0; i < RECORDS; i++) {
		unsigned int times = 0;

		for (r = 0; r < READERS; r++)
			for (j = 0; j < nseen[r]; j++)
				times += seen[r][j] == (uintptr_t)gh_unhide(hidden[i]);
		missing += !times;
		dups += times > 1;
	}
	EXPECT_EQ(0, missing);
	EXPECT_EQ(0, dups);
}

TEST(bad_input)
{
	struct gcheap_final rec;
	struct iovec iov = { .iov_base = &rec, .iov_len = sizeof(rec) };
	static uint64_t not_heap;
	struct node *n;
	int fd;

	manual();
	n = gcheap_malloc(sizeof(*n));
	ASSERT_NE(NULL, n);
	errno = 0;
	EXPECT_EQ(-1, gcheap_register_finalizer(&not_heap, finalizer, NULL));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, gcheap_register_finalizer((char *)n + 8, finalizer, NULL));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, gcheap_register_finalizer(n, NULL, NULL));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(0, gcheap_register_finalizer(n, finalizer, NULL));
	EXPECT_EQ(-1, gcheap_register_finalizer(n, resurrect, NULL));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_EQ(0, gcheap_register_finalizer(n, NULL, NULL));
	fd = gcheap_fd();
	ASSERT_LE(0, fd);
	/* A buffer shorter than a record; an empty queue without waiting. */
	EXPECT_EQ(-1, read(fd, &rec, sizeof(rec) - 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, preadv2(fd, &iov, 1, -1, RWF_NOWAIT));
	EXPECT_EQ(EAGAIN, errno);
	global_root = n;
}

static volatile int cleaned, cleaned_alive;
static uintptr_t cleaned_obj;

/* Runs after its object was freed: the heap no longer knows it. */
static void cleanup(void *arg)
{
	if (gcheap_base(gh_unhide(cleaned_obj)))
		cleaned_alive++;
	__atomic_fetch_add(&cleaned, (int)(uintptr_t)arg, __ATOMIC_SEQ_CST);
}

TEST(cleanups_after_free)
{
	struct node *n;
	int i;

	manual();
	n = gcheap_malloc(sizeof(*n));
	ASSERT_NE(NULL, n);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, gcheap_add_cleanup(n, cleanup, (void *)(uintptr_t)(1 << i)));
	cleaned_obj = gh_hide(n);
	n = NULL;
	errno = 0;
	EXPECT_EQ(-1, gcheap_add_cleanup(&cleaned_obj, cleanup, NULL));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, gcheap_add_cleanup(gh_unhide(cleaned_obj), NULL, NULL));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, collect());
	EXPECT_EQ(3, gcheap_run_finalizers());
	EXPECT_EQ(7, cleaned);
	EXPECT_EQ(0, cleaned_alive);
	ASSERT_EQ(0, collect());
	EXPECT_EQ(0, gcheap_run_finalizers());
}

static void *endless_reader(void *arg)
{
	struct gcheap_final rec;

	(void)arg;
	for (;;)
		if (read(reader_fd, &rec, sizeof(rec)) < 0 && errno != EINTR)
			return NULL;
}

/*
 * A process killed while its threads read the queue and its collections
 * fill it: the kernel frees what is queued and in flight (the kernel log
 * gates, kmemleak and KASAN on the debug kernel, check the rest).
 */
TEST(killed_mid_read)
{
	int status, i;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		pthread_t t;

		manual();
		reader_fd = gcheap_fd();
		if (reader_fd < 0)
			_exit(2);
		for (i = 0; i < 4; i++)
			if (pthread_create(&t, NULL, endless_reader, NULL))
				_exit(3);
		for (;;) {
			if (make_finalizable(RECORDS, finalizer) || collect())
				_exit(4);
		}
	}
	usleep(300000);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status)) TH_LOG("status %#x", status);
	if (WIFSIGNALED(status))
		EXPECT_EQ(SIGKILL, WTERMSIG(status));
}

static gcheap_weak_t *weak_global;
static void *root_link;
static volatile int weak_seen_in_finalizer = -1;

static void finalizer_checks_weak(void *obj, void *arg)
{
	(void)obj;
	(void)arg;
	weak_seen_in_finalizer = gcheap_weak_get(weak_global) != NULL;
}

static GH_NOINLINE int make_weak(gcheap_finalizer_fn fn)
{
	struct node *n = gcheap_malloc(sizeof(*n));

	if (!n)
		return -1;
	if (fn && gcheap_register_finalizer(n, fn, NULL))
		return -1;
	weak_global = gcheap_weak_make(n);
	if (!weak_global || gcheap_weak_get(weak_global) != n)
		return -1;
	hidden[0] = gh_hide(n);
	return 0;
}

/* Out of line, so that no register of the test keeps the object. */
static GH_NOINLINE void hold_strongly(bool hold)
{
	global_root = hold ? gh_unhide(hidden[0]) : NULL;
}

static GH_NOINLINE bool weak_answers(void)
{
	return gcheap_weak_get(weak_global) == gh_unhide(hidden[0]);
}

TEST(weak_pointers)
{
	manual();
	ASSERT_EQ(0, make_weak(NULL));
	/* Held strongly: the weak pointer answers. */
	hold_strongly(true);
	ASSERT_EQ(0, collect());
	EXPECT_TRUE(weak_answers());
	/* Dropped: the weak pointer alone does not keep it. */
	hold_strongly(false);
	ASSERT_EQ(0, collect());
	EXPECT_EQ(NULL, gcheap_weak_get(weak_global));
	EXPECT_EQ(NULL, gcheap_base(gh_unhide(hidden[0])));
}

TEST(weak_cleared_before_finalizer)
{
	manual();
	ASSERT_EQ(0, make_weak(finalizer_checks_weak));
	ASSERT_EQ(0, collect());
	EXPECT_EQ(NULL, gcheap_weak_get(weak_global));
	EXPECT_EQ(1, gcheap_run_finalizers());
	EXPECT_EQ(0, weak_seen_in_finalizer);
}

/* A root's word is scanned: it holds the pointer disguised. */
static GH_NOINLINE int make_root_link(void)
{
	struct node *n = gcheap_malloc(sizeof(*n));

	if (!n)
		return -1;
	root_link = (void *)gh_hide(n);
	hidden[0] = gh_hide(n);
	return gcheap_register_disappearing_link(&root_link, n);
}

/* The errors, out of line, so that no register of the test keeps @n. */
static GH_NOINLINE void link_errors(struct __test_metadata *_metadata)
{
	struct node *n = gh_unhide(hidden[0]);
	void *on_stack = NULL;

	errno = 0;
	EXPECT_EQ(-1, gcheap_register_disappearing_link(&root_link, n));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_EQ(-1, gcheap_register_disappearing_link(&on_stack, n));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, gcheap_register_disappearing_link(
			(void **)((char *)&global_root + 1), n));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, gcheap_register_disappearing_link((void **)&global_root,
							(char *)n + 8));
	EXPECT_EQ(EINVAL, errno);
	/* The next slot of the thread's cached span, not allocated yet. */
	EXPECT_EQ(-1, gcheap_register_disappearing_link((void **)&global_root,
							n + 1));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, gcheap_unregister_disappearing_link((void **)&global_root));
	EXPECT_EQ(ENOENT, errno);
}

TEST(links_in_roots_and_errors)
{
	manual();
	ASSERT_EQ(0, make_root_link());
	link_errors(_metadata);
	ASSERT_EQ(0, collect());
	EXPECT_EQ(NULL, root_link);
	EXPECT_EQ(NULL, gcheap_base(gh_unhide(hidden[0])));
	EXPECT_EQ(-1, gcheap_unregister_disappearing_link(&root_link));
	EXPECT_EQ(ENOENT, errno);
}

TEST_HARNESS_MAIN
