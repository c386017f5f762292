// SPDX-License-Identifier: GPL-2.0
/*
 * gcheap_gc_list_test: a linked list of 10 million 16-byte nodes (160 MB)
 * survives a collection intact and is collected once dropped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kselftest_harness.h"

#include "gcheap.h"
#include "gcheap_gc_util.h"
#include "gcheap_util.h"

GH_REQUIRE_DEVICE();

static struct gcheap_memstats ms0, ms1;

#define LIST_NODES	10000000UL

struct node {
	struct node *next;
	uint64_t value;
};

/* The root: the data segment. */
static struct node *list_head;

FIXTURE(list)
{
	int unused;
};

FIXTURE_SETUP(list)
{
	ASSERT_EQ(0, gcheap_init());
}

FIXTURE_TEARDOWN(list)
{
}

static GH_NOINLINE int build_list(unsigned long n)
{
	struct node *next = NULL;
	unsigned long i;

	for (i = n; i-- > 0;) {
		struct node *nd = gcheap_malloc(sizeof(*nd));

		if (!nd)
			return -1;
		nd->next = next;
		nd->value = gh_pattern(i, 1);
		next = nd;
	}
	list_head = next;
	return 0;
}

/* Nodes in the list; *@bad counts those whose value is wrong. */
static GH_NOINLINE unsigned long check_list(unsigned long *bad)
{
	const struct node *nd;
	unsigned long i = 0;

	*bad = 0;
	for (nd = list_head; nd; nd = nd->next, i++)
		if (nd->value != gh_pattern(i, 1))
			(*bad)++;
	return i;
}

TEST_F_TIMEOUT(list, list_10m, 240)
{
	unsigned long n, bad;
	uint64_t t0, t1;

	/* One collection, on the whole list, not one per doubling. */
	ASSERT_EQ(100, gcheap_set_gc_percent(-1));
	ASSERT_EQ(0, gh_memstats(&ms0));
	ASSERT_EQ(0, build_list(LIST_NODES));
	gh_clear_stack();
	t0 = gh_now_ns();
	ASSERT_EQ(0, gcheap_gc()) TH_LOG("gcheap_gc: %s", strerror(errno));
	t1 = gh_now_ns();
	ASSERT_EQ(0, gh_memstats(&ms1));
	TH_LOG("collection of %lu live nodes: %llu ms", LIST_NODES,
	       (unsigned long long)(t1 - t0) / 1000000);
	EXPECT_EQ(LIST_NODES, ms1.mallocs - ms0.mallocs);
	EXPECT_EQ(0, ms1.frees - ms0.frees);
	EXPECT_GE(ms1.heap_alloc, LIST_NODES * sizeof(struct node));
	n = check_list(&bad);
	EXPECT_EQ(LIST_NODES, n);
	EXPECT_EQ(0, bad);

	list_head = NULL;
	gh_clear_stack();
	t0 = gh_now_ns();
	ASSERT_EQ(0, gcheap_gc());
	t1 = gh_now_ns();
	ASSERT_EQ(0, gh_memstats(&ms1));
	TH_LOG("collection of %lu dead nodes: %llu ms", LIST_NODES,
	       (unsigned long long)(t1 - t0) / 1000000);
	EXPECT_GE(ms1.frees - ms0.frees, LIST_NODES - GH_SLACK);
	EXPECT_LE(ms1.heap_objects, GH_SLACK);
}

TEST_HARNESS_MAIN
