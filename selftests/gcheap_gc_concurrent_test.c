// SPDX-License-Identifier: GPL-2.0
/*
 * The concurrent collector: objects survive pointers moved while a mark
 * runs beside the program, objects allocated during a mark survive it, and
 * a whole collection asked for during one finishes it first.
 *
 * The mark misses nothing only if the kernel sees every page the program
 * wrote during it (the CPU's dirty bits) and rescans the roots at its end.
 * These tests move pointers between heap objects all the time: one that a
 * mark missed is freed and its slot reused, which the checks see as a node
 * whose self pointer or pattern is wrong, or as a node held twice. (Taking
 * the pages precleaning takes without scanning them again fails
 * moved_pointers_survive, as ignoring the dirty bits at the end does.)
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "kselftest_harness.h"
#include "gcheap_gc_util.h"

#define HOLDERS		64
#define SLOTS		64

/* A node: its own address and a pattern derived from its id. */
struct node {
	struct node *self;
	uint64_t id;
	uint64_t pattern[2];
};

/* A holder: pointers to nodes, an object of the 512-byte class. */
struct holder {
	struct node *slot[SLOTS];
};

/* In the program's bss, registered as a root by the library. */
static struct holder *holders[HOLDERS];
static uint64_t next_id;

static GH_NOINLINE struct node *node_new(void)
{
	struct node *n = gcheap_malloc(sizeof(*n));

	if (!n)
		return NULL;
	n->self = n;
	n->id = ++next_id;
	n->pattern[0] = gh_pattern(n->id, 0);
	n->pattern[1] = gh_pattern(n->id, 1);
	return n;
}

static int node_ok(const struct node *n)
{
	return n && n->self == n && n->pattern[0] == gh_pattern(n->id, 0) &&
	       n->pattern[1] == gh_pattern(n->id, 1);
}

static GH_NOINLINE int fill_holders(void)
{
	unsigned int h, s;

	for (h = 0; h < HOLDERS; h++) {
		holders[h] = gcheap_malloc(sizeof(struct holder));
		if (!holders[h])
			return -1;
		for (s = 0; s < SLOTS; s++) {
			holders[h]->slot[s] = node_new();
			if (!holders[h]->slot[s])
				return -1;
		}
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Every slot holds a sound node, and no node is held twice. */
static GH_NOINLINE int check_holders(uint64_t *ids)
{
	unsigned int h, s, n = 0;

	for (h = 0; h < HOLDERS; h++)
		for (s = 0; s < SLOTS; s++) {
			if (!node_ok(holders[h]->slot[s]))
				return -1;
			ids[n++] = holders[h]->slot[s]->id;
		}
	qsort(ids, n, sizeof(*ids), cmp_u64);
	for (h = 1; h < n; h++)
		if (ids[h] == ids[h - 1])
			return -2;
	return 0;
}

/*
 * Move pointers between holders and replace nodes, while garbage keeps
 * collections coming. Every move goes heap to heap: the pointer leaves a
 * holder the mark may not have scanned for one it may have scanned.
 */
static GH_NOINLINE int churn(uint64_t *seed, unsigned int rounds,
			     unsigned int gc_every)
{
	unsigned int r, i;

	for (r = 0; r < rounds; r++) {
		for (i = 0; i < 256; i++) {
			uint64_t x = gh_rand(seed);
			struct holder *a = holders[x % HOLDERS];
			struct holder *b = holders[(x >> 8) % HOLDERS];
			unsigned int sa = (x >> 16) % SLOTS, sb = (x >> 24) % SLOTS;
			struct node *t = a->slot[sa];

			a->slot[sa] = b->slot[sb];
			b->slot[sb] = t;
			if (!((x >> 32) & 15)) {
				a->slot[sa] = node_new();
				if (!a->slot[sa])
					return -1;
			}
		}
		/* Garbage: 64 KiB per round. */
		for (i = 0; i < 1024; i++)
			if (!gcheap_malloc(64))
				return -1;
		if (gc_every && !(r % gc_every) && gcheap_gc())
			return -1;
	}
	return 0;
}

FIXTURE(conc) {
	uint64_t ids[HOLDERS * SLOTS];
};

FIXTURE_SETUP(conc)
{
	ASSERT_EQ(0, gcheap_init());
	/* Collections often: about one per 60 rounds of churn. */
	gcheap_set_gc_percent(25);
	next_id = 0;
	ASSERT_EQ(0, fill_holders());
}

FIXTURE_TEARDOWN(conc)
{
}

/* Pointers moved during marks: every node survives, none twice. */
TEST_F(conc, moved_pointers_survive)
{
	struct gcheap_memstats ms0, ms1;
	uint64_t seed = 42;
	unsigned int k;

	ASSERT_EQ(0, gh_memstats(&ms0));
	for (k = 0; k < 40; k++) {
		ASSERT_EQ(0, churn(&seed, 100, 0));
		ASSERT_EQ(0, check_holders(self->ids)) TH_LOG("after %u", k);
	}
	ASSERT_EQ(0, gh_memstats(&ms1));
	/* Enough collections ran for the test to mean something. */
	EXPECT_GE(ms1.num_gc - ms0.num_gc, 20);
	/* And the garbage went. */
	EXPECT_LT(ms1.heap_alloc, 64ULL << 20);
}

/* Whole collections asked for in between, during marks or not. */
TEST_F(conc, explicit_collections_between)
{
	uint64_t seed = 7;
	unsigned int k;

	for (k = 0; k < 20; k++) {
		ASSERT_EQ(0, churn(&seed, 50, 17));
		ASSERT_EQ(0, check_holders(self->ids)) TH_LOG("after %u", k);
	}
}

/* The stop-the-world mode is kept: the same churn, marks not concurrent. */
TEST(stw_mode_env)
{
	/* GCHEAP_GC_MODE is read once, at set-up: a child sets up anew. */
	pid_t pid = fork();
	int status;

	ASSERT_GE(pid, 0);
	if (!pid) {
		static uint64_t ids[HOLDERS * SLOTS];
		uint64_t seed = 3;

		setenv("GCHEAP_GC_MODE", "stw", 1);
		if (gcheap_init())
			_exit(10);
		gcheap_set_gc_percent(25);
		if (fill_holders() || churn(&seed, 400, 0))
			_exit(11);
		_exit(check_holders(ids) ? 12 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* A mode that is not one is refused at set-up. */
TEST(bad_mode_env)
{
	pid_t pid = fork();
	int status;

	ASSERT_GE(pid, 0);
	if (!pid) {
		setenv("GCHEAP_GC_MODE", "sometimes", 1);
		_exit(gcheap_init() == -1 && errno == EINVAL ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
