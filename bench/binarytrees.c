// SPDX-License-Identifier: GPL-2.0
/*
 * binary-trees: the Computer Language Benchmarks Game program, written here
 * from its published description, single-threaded.
 *
 *  1. Build a "stretch" tree of depth max_depth + 1 bottom up, check it
 *     (count its nodes) and drop it.
 *  2. Build a long-lived tree of depth max_depth, kept to the end.
 *  3. For depths d = 4, 6, ... max_depth: build 2^(max_depth - d + 4) trees
 *     of depth d, check each and drop it; print the sum of their checks.
 *  4. Check the long-lived tree.
 *
 * A node is two pointers. A tree's check is its number of nodes. With
 * malloc, each tree is freed node by node after its check.
 *
 * Usage: binarytrees [-v] [MAX_DEPTH]   (default 21, the standard size;
 *   at least 6). -v prints the program's usual output on stderr.
 *
 * checksum: the sum of every check the program prints (the stretch tree,
 * every depth's total, the long-lived tree); allocator-independent.
 */
#include "gc_bench.h"

#define MIN_DEPTH	4

struct node {
	struct node *left;
	struct node *right;
};

static struct node *bottom_up_tree(int d)
{
	struct node *n = bench_new(sizeof(*n));

	if (!n)
		bench_die("out of memory");
	if (d > 0) {
		n->left = bottom_up_tree(d - 1);
		n->right = bottom_up_tree(d - 1);
	} else {
		n->left = NULL;
		n->right = NULL;
	}
	return n;
}

static long item_check(const struct node *n)
{
	if (!n->left)
		return 1;
	return 1 + item_check(n->left) + item_check(n->right);
}

static void drop_tree(struct node *n)
{
#ifdef BENCH_EXPLICIT_FREE
	if (n->left) {
		drop_tree(n->left);
		drop_tree(n->right);
	}
	free(n);
#else
	(void)n;
#endif
}

int main(int argc, char **argv)
{
	int max_depth = 21, verbose = 0, a = 1, d;
	struct node *long_lived, *t;
	uint64_t checksum = 0;
	double t0, total;
	char params[32];
	long check;

	if (a < argc && !strcmp(argv[a], "-v")) {
		verbose = 1;
		a++;
	}
	if (a < argc)
		max_depth = bench_depth_arg(argv[a++], MIN_DEPTH + 2, 26);
	if (a < argc)
		bench_die("usage: binarytrees [-v] [MAX_DEPTH]");

	bench_init();
	t0 = bench_now_ms();

	t = bottom_up_tree(max_depth + 1);
	check = item_check(t);
	drop_tree(t);
	t = NULL;
	checksum += check;
	if (verbose)
		fprintf(stderr, "stretch tree of depth %d\t check: %ld\n",
			max_depth + 1, check);
	bench_phase();

	long_lived = bottom_up_tree(max_depth);

	for (d = MIN_DEPTH; d <= max_depth; d += 2) {
		long iterations = 1L << (max_depth - d + MIN_DEPTH), i;

		check = 0;
		for (i = 0; i < iterations; i++) {
			t = bottom_up_tree(d);
			check += item_check(t);
			drop_tree(t);
		}
		checksum += check;
		if (verbose)
			fprintf(stderr, "%ld\t trees of depth %d\t check: %ld\n",
				iterations, d, check);
		bench_phase();
	}

	check = item_check(long_lived);
	checksum += check;
	if (verbose)
		fprintf(stderr, "long lived tree of depth %d\t check: %ld\n",
			max_depth, check);
	total = bench_now_ms() - t0;

	snprintf(params, sizeof(params), "max_depth=%d", max_depth);
	bench_report("binarytrees", params, total, checksum);
	drop_tree(long_lived);
	return 0;
}
