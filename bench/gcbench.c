// SPDX-License-Identifier: GPL-2.0
/*
 * GCBench: John Ellis and Pete Kovac's collector benchmark, in the shape of
 * Hans Boehm's C translation, written here from its published description.
 *
 *  1. Stretch the heap: build a binary tree of depth kStretchTreeDepth
 *     bottom up and drop it.
 *  2. Build a long-lived binary tree of depth kLongLivedTreeDepth top down,
 *     and a long-lived array of kArraySize doubles (pointer-free), half of
 *     it filled with 1/i. Both stay reachable to the end.
 *  3. For depths kMinTreeDepth to kMaxTreeDepth by 2: build NumIters(depth)
 *     short-lived trees top down (Populate) and as many bottom up
 *     (MakeTree), dropping each at once; NumIters(d) is chosen so that
 *     every depth allocates about twice the nodes of the stretch tree.
 *  4. Check that the long-lived tree and array survived.
 *
 * A node is two pointers and two ints, as in the original. The program
 * never collects explicitly. With malloc, each dropped tree is freed node by
 * node, as the C translation does when built without a collector.
 *
 * Usage: gcbench [-v] [STRETCH_DEPTH [LONG_LIVED_DEPTH]]
 *   defaults 18 and 16 (the standard sizes); kMaxTreeDepth is the
 *   long-lived depth, kMinTreeDepth 4, kArraySize 500000.
 *   -v prints the original's progress lines on stderr.
 *
 * checksum: the nodes allocated in all, plus the sum of i + j over the
 * long-lived tree walked at the end, plus 1 if the array kept its values
 * (allocator-independent; a collector that freed live memory changes it).
 */
#include "gc_bench.h"

#define MIN_TREE_DEPTH	4
#define ARRAY_SIZE	500000

struct node {
	struct node *left;
	struct node *right;
	int i, j;
};

static int stretch_depth = 18, long_lived_depth = 16, max_tree_depth;
static int verbose;
static uint64_t nodes_allocated;

static struct node *new_node(struct node *l, struct node *r)
{
	struct node *n = bench_new(sizeof(*n));

	if (!n)
		bench_die("out of memory after %llu nodes",
			  (unsigned long long)nodes_allocated);
	n->left = l;
	n->right = r;
	n->i = 0;
	n->j = 0;
	nodes_allocated++;
	return n;
}

static void drop_tree(struct node *n)
{
#ifdef BENCH_EXPLICIT_FREE
	if (!n)
		return;
	drop_tree(n->left);
	drop_tree(n->right);
	free(n);
#else
	(void)n;
#endif
}

/* Nodes in a complete binary tree of depth @d. */
static long tree_size(int d)
{
	return (1L << (d + 1)) - 1;
}

static long num_iters(int d)
{
	return 2 * tree_size(stretch_depth) / tree_size(d);
}

/* Top down: give @n two children, and each of them theirs, @d levels. */
static void populate(int d, struct node *n)
{
	if (d <= 0)
		return;
	d--;
	n->left = new_node(NULL, NULL);
	n->right = new_node(NULL, NULL);
	n->i = d;
	n->j = d + 1;
	populate(d, n->left);
	populate(d, n->right);
}

/* Bottom up: the children first, then their parent. */
static struct node *make_tree(int d)
{
	struct node *l, *r;

	if (d <= 0)
		return new_node(NULL, NULL);
	l = make_tree(d - 1);
	r = make_tree(d - 1);
	return new_node(l, r);
}

static void time_construction(int d)
{
	long iters = num_iters(d), k;
	double t0, t1;

	if (verbose)
		fprintf(stderr, "Creating %ld trees of depth %d\n", iters, d);
	t0 = bench_now_ms();
	for (k = 0; k < iters; k++) {
		struct node *t = new_node(NULL, NULL);

		populate(d, t);
		drop_tree(t);
	}
	t1 = bench_now_ms();
	if (verbose)
		fprintf(stderr, "\tTop down construction took %.0f msec\n", t1 - t0);
	bench_phase();
	for (k = 0; k < iters; k++)
		drop_tree(make_tree(d));
	if (verbose)
		fprintf(stderr, "\tBottom up construction took %.0f msec\n",
			bench_now_ms() - t1);
	bench_phase();
}

/* Sum of i + j over a tree, checking it is complete to depth @d. */
static uint64_t walk(const struct node *n, int d)
{
	if (!n)
		bench_die("long-lived tree lost a node at depth %d", d);
	if (d <= 0)
		return (uint64_t)(n->i + n->j);
	return (uint64_t)(n->i + n->j) + walk(n->left, d - 1) + walk(n->right, d - 1);
}

int main(int argc, char **argv)
{
	struct node *long_lived, *t;
	double *array, t0, total;
	uint64_t checksum;
	char params[96];
	int a = 1, k;

	if (a < argc && !strcmp(argv[a], "-v")) {
		verbose = 1;
		a++;
	}
	if (a < argc)
		stretch_depth = bench_depth_arg(argv[a++], MIN_TREE_DEPTH, 26);
	if (a < argc)
		long_lived_depth = bench_depth_arg(argv[a++], MIN_TREE_DEPTH, 26);
	if (a < argc)
		bench_die("usage: gcbench [-v] [STRETCH_DEPTH [LONG_LIVED_DEPTH]]");
	max_tree_depth = long_lived_depth;

	bench_init();
	if (verbose) {
		fprintf(stderr, "Garbage Collector Test\n");
		fprintf(stderr, " Live storage will peak at %ld bytes.\n\n",
			(long)(2 * sizeof(struct node) * tree_size(long_lived_depth) +
			       sizeof(double) * ARRAY_SIZE));
		fprintf(stderr, " Stretching memory with a binary tree of depth %d\n",
			stretch_depth);
	}
	t0 = bench_now_ms();

	/* Stretch the memory space quickly. */
	t = make_tree(stretch_depth);
	drop_tree(t);
	t = NULL;
	bench_phase();

	/* A long-lived tree and a long-lived array, half filled. */
	if (verbose)
		fprintf(stderr, " Creating a long-lived binary tree of depth %d\n",
			long_lived_depth);
	long_lived = new_node(NULL, NULL);
	populate(long_lived_depth, long_lived);
	if (verbose)
		fprintf(stderr, " Creating a long-lived array of %d doubles\n",
			ARRAY_SIZE);
	array = bench_new_atomic(sizeof(double) * ARRAY_SIZE);
	if (!array)
		bench_die("out of memory for the array");
	for (k = 0; k < ARRAY_SIZE / 2; k++)
		array[k] = 1.0 / k;
	bench_phase();

	for (k = MIN_TREE_DEPTH; k <= max_tree_depth; k += 2)
		time_construction(k);

	if (array[1000] != 1.0 / 1000)
		bench_die("Failed: the long-lived array lost its values");
	checksum = nodes_allocated + walk(long_lived, long_lived_depth) + 1;
	total = bench_now_ms() - t0;
	if (verbose)
		fprintf(stderr, "Completed in %.0f msec\n", total);

	snprintf(params, sizeof(params), "stretch_depth=%d long_lived_depth=%d",
		 stretch_depth, long_lived_depth);
	bench_report("gcbench", params, total, checksum);
	/* Keep both alive to the end (the checks above use them too). */
	drop_tree(long_lived);
#ifdef BENCH_EXPLICIT_FREE
	free(array);
#endif
	return 0;
}
