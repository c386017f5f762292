// SPDX-License-Identifier: GPL-2.0
/*
 * gcheap_gc_big_test: collections of big heaps.
 *
 * A complete binary tree of 2^22 - 1 nodes, built while automatic
 * collections run, survives a collection intact and is collected once
 * dropped; a process killed in the middle of the collection of a 1 GiB
 * heap dies at once (the kernel log of the run, checked by the rig, must
 * stay clean). The 10-million-node list is gcheap_gc_list_test, so each
 * binary stays within a minute in the debug guest.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "kselftest_harness.h"

#include "gcheap.h"
#include "gcheap_gc_util.h"
#include "gcheap_util.h"

GH_REQUIRE_DEVICE();

static struct gcheap_memstats ms0, ms1;

#define TREE_DEPTH	21	/* 2^22 - 1 nodes */

/* The roots: the data segment. */
static void *kill_head;
static struct tree *tree_root;

FIXTURE(big)
{
	int unused;
};

/* No set-up: the kill test forks before its child sets a heap up. */
FIXTURE_SETUP(big)
{
}

FIXTURE_TEARDOWN(big)
{
}

static GH_NOINLINE uint64_t tree_sum(const struct tree *t, uint64_t *nodes)
{
	uint64_t sum = 0;

	while (t) {
		(*nodes)++;
		sum += t->value + tree_sum(t->left, nodes);
		t = t->right;
	}
	return sum;
}

TEST_F_TIMEOUT(big, tree_4m, 240)
{
	const uint64_t want_nodes = (1ULL << (TREE_DEPTH + 1)) - 1;
	uint64_t seed = 42, sum = 0, nodes = 0;

	/* Built with automatic collections on (GOGC=100). */
	ASSERT_EQ(0, gcheap_init());
	ASSERT_EQ(0, gh_memstats(&ms0));
	tree_root = gh_tree_build(TREE_DEPTH, &seed, &sum);
	ASSERT_NE(NULL, tree_root);
	gh_clear_stack();
	ASSERT_EQ(0, gcheap_gc());
	ASSERT_EQ(0, gh_memstats(&ms1));
	TH_LOG("%llu collections while building",
	       (unsigned long long)(ms1.num_gc - ms0.num_gc - 1));
	EXPECT_LT(1, ms1.num_gc - ms0.num_gc);
	EXPECT_EQ(sum, tree_sum(tree_root, &nodes));
	EXPECT_EQ(want_nodes, nodes);
	EXPECT_EQ(0, ms1.frees - ms0.frees);

	tree_root = NULL;
	gh_clear_stack();
	ASSERT_EQ(0, gcheap_gc());
	ASSERT_EQ(0, gh_memstats(&ms1));
	EXPECT_GE(ms1.frees - ms0.frees, want_nodes - GH_SLACK);
}

/* ---------------- a kill during a collection ---------------- */

#define KILL_HEAP	(1UL << 30)
#define KILL_OBJ	8192

/*
 * The child: a heap of KILL_HEAP bytes in scanned objects chained from a
 * global, every word of them to be read by the mark; then collections, one
 * after another, with a byte on @fd before the first ("s") and after each
 * ("e").
 */
static void kill_child(int fd)
{
	unsigned long i, n = KILL_HEAP / KILL_OBJ;
	uint64_t *prev = NULL;

	if (gcheap_set_gc_percent(-1) == -2)
		_exit(2);
	for (i = 0; i < n; i++) {
		uint64_t *p = gcheap_malloc(KILL_OBJ);

		if (!p)
			_exit(3);
		gh_fill(p, KILL_OBJ, i);
		p[0] = (uintptr_t)prev;
		prev = p;
	}
	kill_head = prev;
	if (write(fd, "s", 1) != 1)
		_exit(4);
	for (;;) {
		if (gcheap_gc())
			_exit(5);
		if (write(fd, "e", 1) != 1)
			_exit(6);
	}
}

TEST_F_TIMEOUT(big, kill_during_collection, 240)
{
	uint64_t t_start, t_kill, t_dead;
	int pfd[2], status, flags;
	char c = 0;
	ssize_t n;
	pid_t pid;

	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(pfd[0]);
		kill_child(pfd[1]);
	}
	close(pfd[1]);
	n = read(pfd[0], &c, 1);
	ASSERT_EQ(1, n) TH_LOG("the child died building its heap");
	ASSERT_EQ('s', c);
	t_start = gh_now_ns();
	/* Into the first collection, which reads 1 GiB. */
	usleep(300000);
	flags = fcntl(pfd[0], F_GETFL);
	fcntl(pfd[0], F_SETFL, flags | O_NONBLOCK);
	n = read(pfd[0], &c, 1);
	t_kill = gh_now_ns();
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	t_dead = gh_now_ns();
	TH_LOG("killed %llu ms into the collection; dead %llu ms later",
	       (unsigned long long)(t_kill - t_start) / 1000000,
	       (unsigned long long)(t_dead - t_kill) / 1000000);
	/* The first collection had not finished: the kill came during it. */
	EXPECT_EQ(-1, n);
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGKILL, WTERMSIG(status));
	/* Prompt: the mark stops on the fatal signal, the heap is torn down. */
	EXPECT_LT(t_dead - t_kill, 5ULL * 1000000000);
	close(pfd[0]);
}

TEST_HARNESS_MAIN
