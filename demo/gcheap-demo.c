// SPDX-License-Identifier: GPL-2.0
/*
 * gcheap-demo: a tour of gcheap for a new user.
 *
 * Sets up a heap served by the kernel, allocates a few hundred MB in objects
 * of every size class (pointer-holding and pointer-free) and some large ones,
 * writes into all of them, frees a third explicitly, checks what survived,
 * and prints what the heap holds: per size class, and in total.
 *
 * Then the collector: the demo makes garbage (trees it builds and drops)
 * while automatic collections run, drops a third of the objects it still
 * holds and collects them with gcheap_gc(), checks again that everything it
 * holds is intact, and prints the statistics before and after, the number
 * of collections and their pauses.
 *
 * The demo's own tables of objects live where the collector looks: the
 * per-batch pointer arrays are heap objects themselves, and the array of
 * batches (malloc()ed) is registered with gcheap_add_roots().
 *
 * Exit status: 0 if every object held what was written into it, 1 if not,
 * 2 if the heap could not be set up.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gcheap.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define MAX_CLASSES	256
/* Bytes of objects per size class and kind (scan, noscan). */
#define CLASS_BUDGET	(2UL << 20)
/* But no fewer, and no more objects than this per class and kind. */
#define CLASS_MIN_OBJS	16
#define CLASS_MAX_OBJS	16384

/* One allocation request: a size class, or a large size, of one kind. */
struct batch {
	size_t size;
	bool noscan;
	unsigned int count;
	unsigned int freed;
	void **objs;
};

/*
 * The large objects: a few of each size, pointer-holding and pointer-free,
 * about 32 MiB in all.
 */
static const struct {
	size_t size;
	unsigned int count;
} large[] = {
	{ 40 << 10, 24 },
	{ 100 << 10, 12 },
	{ 256 << 10, 8 },
	{ 1 << 20, 6 },
	{ 4 << 20, 4 },
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* 1234567 -> "1,234,567" */
static const char *count_str(uint64_t v, char *buf)
{
	char tmp[32];
	int len = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
	int i, o = 0;

	for (i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}

/* 3221225472 -> "3.0 GiB" */
static const char *bytes_str(uint64_t v, char *buf)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double d = v;
	unsigned int u = 0;

	while (d >= 1000 && u < 4) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		sprintf(buf, "%llu B", (unsigned long long)v);
	else
		sprintf(buf, "%.1f %s", d, unit[u]);
	return buf;
}

/*
 * What object @i of a batch holds: pointer-holding objects start with a
 * pointer to the object allocated before them (a linked list through the
 * heap, the kind of data the collector will scan) and are filled with a
 * byte pattern after it; pointer-free objects hold the pattern only.
 */
static unsigned char pattern(const struct batch *b, unsigned int i)
{
	return (unsigned char)(b->size * 31 + i * 7 + b->noscan);
}

static void fill(const struct batch *b, unsigned int i)
{
	unsigned char *p = b->objs[i];
	size_t off = 0;

	if (!b->noscan && b->size >= sizeof(void *)) {
		void *prev = i ? b->objs[i - 1] : NULL;

		memcpy(p, &prev, sizeof(prev));
		off = sizeof(prev);
	}
	memset(p + off, pattern(b, i), b->size - off);
}

/* Check the first and last bytes and one per 4 KiB in between. */
static bool intact(const struct batch *b, unsigned int i)
{
	const unsigned char *p = b->objs[i];
	unsigned char want = pattern(b, i);
	size_t off = 0, at;

	if (!b->noscan && b->size >= sizeof(void *)) {
		void *prev;

		memcpy(&prev, p, sizeof(prev));
		if (prev != (i ? b->objs[i - 1] : NULL))
			return false;
		off = sizeof(prev);
	}
	if (off == b->size)
		return true;
	for (at = off; at < b->size; at += 4096)
		if (p[at] != want)
			return false;
	return p[b->size - 1] == want;
}

/* ---- garbage for the collector: binary trees, built and dropped ---- */

struct tree {
	struct tree *left;
	struct tree *right;
	uint64_t value;
};

#define GARBAGE_TREES	40
#define GARBAGE_DEPTH	16	/* 131,071 nodes, 3 MiB each */

static struct tree *make_tree(unsigned int depth, uint64_t value)
{
	struct tree *t = gcheap_malloc(sizeof(*t));

	if (!t)
		return NULL;
	t->value = value;
	if (depth) {
		t->left = make_tree(depth - 1, 2 * value);
		t->right = make_tree(depth - 1, 2 * value + 1);
		if (!t->left || !t->right)
			return NULL;
	}
	return t;
}

/* Nodes of a tree whose values are what make_tree() wrote. */
static uint64_t check_tree(const struct tree *t, uint64_t value, bool *ok)
{
	if (!t)
		return 0;
	if (t->value != value)
		*ok = false;
	return 1 + check_tree(t->left, 2 * value, ok) +
	       check_tree(t->right, 2 * value + 1, ok);
}

static void print_gc_totals(const struct gcheap_memstats *before,
			    const struct gcheap_memstats *after)
{
	char a[32], b[32];

	printf("                     before        after\n");
	printf("  heap_alloc    %11s  %11s  in allocated objects\n",
	       bytes_str(before->heap_alloc, a), bytes_str(after->heap_alloc, b));
	printf("  heap_objects  %11s  %11s  allocated objects\n",
	       count_str(before->heap_objects, a),
	       count_str(after->heap_objects, b));
	printf("  frees         %11s  %11s  objects freed, explicitly or collected\n",
	       count_str(before->frees, a), count_str(after->frees, b));
	printf("  heap_inuse    %11s  %11s  in spans holding objects\n",
	       bytes_str(before->heap_inuse, a), bytes_str(after->heap_inuse, b));
	printf("  heap_idle     %11s  %11s  in free spans\n",
	       bytes_str(before->heap_idle, a), bytes_str(after->heap_idle, b));
	printf("  num_gc        %11llu  %11llu  collections\n",
	       (unsigned long long)before->num_gc,
	       (unsigned long long)after->num_gc);
}

static void print_pauses(const struct gcheap_memstats *ms)
{
	uint64_t k, first = ms->num_gc > 8 ? ms->num_gc - 7 : 1;
	char a[32];

	printf("\nCollections: %llu, stop-the-world pauses %.3f ms in all; the last ones:\n\n",
	       (unsigned long long)ms->num_gc, ms->pause_total_ns / 1e6);
	/* Go's ring: collection k's pause is at (k + 255) % 256. */
	for (k = first; k <= ms->num_gc; k++)
		printf("  gc %-4llu  pause %8.3f ms\n", (unsigned long long)k,
		       ms->pause_ns[(k + 255) % GCHEAP_MEMSTATS_NUM_PAUSES] / 1e6);
	printf("\n  the collector used %.2f%% of the CPU time since the heap was set up;\n"
	       "  the next automatic collection is due at heap_alloc = %s (GOGC=100)\n",
	       ms->gc_cpu_fraction * 100, bytes_str(ms->next_gc, a));
}

static int setup_failed(void)
{
	int err = errno;

	fprintf(stderr, "gcheap-demo: cannot set up the heap: %s\n",
		strerror(err));
	if (err == ENOENT)
		fprintf(stderr,
			"gcheap-demo: there is no /dev/gcheap: load the module first (modprobe gcheap)\n");
	return 2;
}

static void print_classes(const struct gcheap_size_class_stats *cl,
			  unsigned int n)
{
	char a[32], b[32], c[32], d[32], e[32];
	unsigned int i;

	printf("\nWhat the heap holds, per size class (pointer-holding and pointer-free together):\n\n");
	printf("  class     size      mallocs        frees         live   live bytes   spans\n");
	printf("  -----  -------  -----------  -----------  -----------  -----------  ------\n");
	for (i = 1; i <= n; i++) {
		/* Large objects (class 0) last, after the small classes. */
		const struct gcheap_size_class_stats *r = &cl[i % n];
		char size[16];

		if (!r->mallocs)
			continue;
		if (r->size_class)
			snprintf(size, sizeof(size), "%u", r->elemsize);
		else
			snprintf(size, sizeof(size), "large");
		printf("  %5u  %7s  %11s  %11s  %11s  %11s  %6s\n",
		       r->size_class, size, count_str(r->mallocs, a),
		       count_str(r->frees, b),
		       count_str(r->mallocs - r->frees, c),
		       bytes_str(r->bytes_inuse, d), count_str(r->spans, e));
	}
	printf("\n  size: slot size in bytes; class 0 holds large objects (over 32 KiB),\n"
	       "  each on a span of its own pages, so its \"spans\" are its live objects.\n");
}

static void print_totals(const struct gcheap_heap_stats *st)
{
	char a[32], b[32];

	printf("\nHeap totals:\n\n");
	printf("  arena         %11s  address space reserved for the heap\n",
	       bytes_str(st->arena_size, a));
	printf("  heap_sys      %11s  arena the heap has grown into\n",
	       bytes_str(st->heap_sys, a));
	printf("  heap_inuse    %11s  in spans holding objects\n",
	       bytes_str(st->heap_inuse, a));
	printf("  heap_idle     %11s  in free spans, ready for reuse\n",
	       bytes_str(st->heap_idle, a));
	printf("  heap_alloc    %11s  in live objects\n",
	       bytes_str(st->heap_alloc, a));
	printf("  objects       %11s  live objects (%s allocated",
	       count_str(st->heap_objects, a), count_str(st->mallocs, b));
	printf(", %s freed)\n", count_str(st->frees, a));
	printf("  resident      %11s  of the arena backed by memory\n",
	       bytes_str(st->resident, a));
}

/*
 * The collector's part of the tour: garbage made and collected, objects
 * dropped and collected, survivors checked. Returns the number of problems.
 */
static unsigned int collect(struct batch *batches, unsigned int nb)
{
	static struct gcheap_memstats m0, m1, m2;
	uint64_t held = 0, dropped = 0, nodes;
	unsigned int i, j, bad = 0;
	struct tree *volatile keep;
	bool ok = true;
	char a[32], b[32], b2[32], b3[32];
	double t0, t;

	printf("\n---------------------------------------------------------------------\n");
	printf("\nGarbage collection: the kernel frees what the program cannot reach.\n");
	if (gcheap_get_stats(&m0)) {
		fprintf(stderr, "gcheap-demo: gcheap_get_stats: %s\n", strerror(errno));
		return 1;
	}

	/* Collections are due sooner with GOGC=50 than with the default 100. */
	gcheap_set_gc_percent(50);
	printf("\nBuilding %d binary trees of %s nodes and dropping each but the last\n"
	       "(garbage), with automatic collections at GOGC=50...\n", GARBAGE_TREES,
	       count_str((1 << (GARBAGE_DEPTH + 1)) - 1, a));
	t0 = now();
	for (i = 0; i < GARBAGE_TREES; i++) {
		keep = make_tree(GARBAGE_DEPTH, 1);
		if (!keep) {
			fprintf(stderr, "gcheap-demo: building a tree failed: %s\n",
				strerror(errno));
			return 1;
		}
	}
	t = now() - t0;
	gcheap_set_gc_percent(100);
	gcheap_get_stats(&m1);
	printf("  %s allocated in %.2f s; %llu automatic collections ran meanwhile\n"
	       "  and freed %s objects; the heap holds %s (%s before the trees).\n",
	       bytes_str(m1.total_alloc - m0.total_alloc, a), t,
	       (unsigned long long)(m1.num_gc - m0.num_gc),
	       count_str(m1.frees - m0.frees, b), bytes_str(m1.heap_alloc, b2),
	       bytes_str(m0.heap_alloc, b3));
	nodes = check_tree(keep, 1, &ok);
	if (!ok || nodes != (1ULL << (GARBAGE_DEPTH + 1)) - 1) {
		printf("  the tree still held is NOT intact!\n");
		bad++;
	}
	keep = NULL;

	/* Drop every third batch: its pointer array and its objects. */
	for (i = 0; i < nb; i++) {
		struct batch *bt = &batches[i];

		if (i % 3 == 0) {
			dropped += bt->count - bt->freed;
			bt->objs = NULL;
			bt->count = 0;
			bt->freed = 0;
		} else {
			held += bt->count - bt->freed + 1;
		}
	}
	printf("\nDropping every third batch of objects (%s objects), then gcheap_gc()...\n",
	       count_str(dropped, a));
	gcheap_get_stats(&m1);
	t0 = now();
	if (gcheap_gc()) {
		fprintf(stderr, "gcheap-demo: gcheap_gc: %s\n", strerror(errno));
		return bad + 1;
	}
	t = now() - t0;
	gcheap_get_stats(&m2);
	printf("  collected in %.3f s: %s objects freed, %s of heap given back to use.\n\n",
	       t, count_str(m2.frees - m1.frees, a),
	       bytes_str(m1.heap_alloc - m2.heap_alloc, b));
	print_gc_totals(&m1, &m2);
	/*
	 * The collector is conservative: a stale copy of a pointer may keep
	 * an object or two, but it must never free one the demo holds.
	 */
	if (m2.heap_objects < held) {
		printf("\nThe heap has %s objects, fewer than the %s the demo holds!\n",
		       count_str(m2.heap_objects, a), count_str(held, b));
		bad++;
	}

	printf("\nChecking the objects still held after %llu collections...\n",
	       (unsigned long long)m2.num_gc);
	for (i = 0; i < nb; i++) {
		struct batch *bt = &batches[i];

		for (j = 0; j < bt->count; j++)
			if (j % 3 && !intact(bt, j))
				bad++;
	}
	printf(bad ? "  %u objects did NOT hold what was written into them!\n" :
		     "  all intact.\n", bad);
	print_pauses(&m2);
	return bad;
}

int main(void)
{
	static struct gcheap_size_class_stats cl[MAX_CLASSES];
	struct gcheap_heap_stats st;
	struct batch *batches;
	unsigned int nb = 0, i, j, nlarge = ARRAY_SIZE(large);
	uint64_t objs = 0, bytes = 0, freed = 0, freed_bytes = 0;
	uint64_t bad = 0, large_objs = 0, large_bytes = 0;
	char a[32], b[32];
	double t0, t;
	int n;

	printf("gcheap-demo: a garbage-collected heap served by the kernel\n\n");
	if (gcheap_init())
		return setup_failed();
	n = gcheap_heap_stats(&st, cl, MAX_CLASSES);
	if (n < 2 || n > MAX_CLASSES) {
		fprintf(stderr, "gcheap-demo: cannot read the heap's statistics: %s\n",
			strerror(errno));
		return 2;
	}
	printf("Set up a heap: %s of address space, %d size classes from %u bytes to %s.\n",
	       bytes_str(st.arena_size, a), n - 1, cl[1].elemsize,
	       bytes_str(cl[n - 1].elemsize, b));

	batches = calloc(2 * n + 2 * nlarge, sizeof(*batches));
	if (!batches)
		return 2;
	/* malloc()ed memory is not scanned: tell the collector about it. */
	if (gcheap_add_roots(batches, batches + 2 * n + 2 * nlarge)) {
		fprintf(stderr, "gcheap-demo: gcheap_add_roots: %s\n",
			strerror(errno));
		return 2;
	}
	for (i = 1; i < (unsigned int)n; i++) {
		for (j = 0; j < 2; j++) {
			struct batch *bt = &batches[nb++];
			size_t count = CLASS_BUDGET / cl[i].elemsize;

			if (count < CLASS_MIN_OBJS)
				count = CLASS_MIN_OBJS;
			if (count > CLASS_MAX_OBJS)
				count = CLASS_MAX_OBJS;
			bt->size = cl[i].elemsize;
			bt->noscan = j;
			bt->count = count;
		}
	}
	for (i = 0; i < nlarge; i++) {
		for (j = 0; j < 2; j++) {
			struct batch *bt = &batches[nb++];

			bt->size = large[i].size;
			bt->noscan = j;
			bt->count = large[i].count / 2;
		}
	}

	/* Allocate and write. */
	printf("\nAllocating objects of every size class, and large ones, and writing into them...\n");
	t0 = now();
	for (i = 0; i < nb; i++) {
		struct batch *bt = &batches[i];

		/* A heap object holding pointers: the collector scans it. */
		bt->objs = gcheap_calloc(bt->count, sizeof(void *));
		if (!bt->objs)
			return 2;
		for (j = 0; j < bt->count; j++) {
			bt->objs[j] = bt->noscan ? gcheap_malloc_atomic(bt->size) :
						   gcheap_malloc(bt->size);
			if (!bt->objs[j]) {
				fprintf(stderr, "gcheap-demo: allocating %zu bytes failed: %s\n",
					bt->size, strerror(errno));
				return 1;
			}
			fill(bt, j);
		}
		objs += bt->count;
		bytes += (uint64_t)bt->count * bt->size;
		if (bt->size > (size_t)cl[n - 1].elemsize) {
			large_objs += bt->count;
			large_bytes += (uint64_t)bt->count * bt->size;
		}
	}
	t = now() - t0;
	printf("  %s objects, %s", count_str(objs, a), bytes_str(bytes, b));
	printf(" (%s of them in %s large objects), in %.2f s\n",
	       bytes_str(large_bytes, a), count_str(large_objs, b), t);

	/* Free a third explicitly: every third object of every batch. */
	printf("\nFreeing every third object explicitly...\n");
	t0 = now();
	for (i = 0; i < nb; i++) {
		struct batch *bt = &batches[i];

		for (j = 0; j < bt->count; j += 3) {
			errno = 0;
			gcheap_free(bt->objs[j]);
			if (errno) {
				fprintf(stderr, "gcheap-demo: free of %p failed: %s\n",
					bt->objs[j], strerror(errno));
				return 1;
			}
			/*
			 * No dangling pointers: a conservative collector
			 * would keep whatever takes the slot next. The next
			 * object's link to this one goes too.
			 */
			bt->objs[j] = NULL;
			if (!bt->noscan && bt->size >= sizeof(void *) &&
			    j + 1 < bt->count)
				memset(bt->objs[j + 1], 0, sizeof(void *));
			bt->freed++;
			freed_bytes += bt->size;
		}
		freed += bt->freed;
	}
	t = now() - t0;
	printf("  %s objects, %s, in %.2f s\n", count_str(freed, a),
	       bytes_str(freed_bytes, b), t);

	/* The survivors hold what was written. */
	printf("\nChecking the %s objects still live...\n",
	       count_str(objs - freed, a));
	for (i = 0; i < nb; i++) {
		struct batch *bt = &batches[i];

		for (j = 0; j < bt->count; j++)
			if (j % 3 && !intact(bt, j))
				bad++;
	}
	if (bad)
		printf("  %s objects did NOT hold what was written into them!\n",
		       count_str(bad, a));
	else
		printf("  all intact.\n");

	n = gcheap_heap_stats(&st, cl, MAX_CLASSES);
	if (n < 0) {
		fprintf(stderr, "gcheap-demo: cannot read the heap's statistics: %s\n",
			strerror(errno));
		return 1;
	}
	print_classes(cl, n);
	print_totals(&st);

	/* The objects, and the batches' pointer arrays. */
	if (st.heap_objects != objs - freed + nb) {
		printf("\nThe kernel counts %s live objects; the demo holds %s!\n",
		       count_str(st.heap_objects, a),
		       count_str(objs - freed + nb, b));
		bad++;
	}

	bad += collect(batches, nb);
	return bad ? 1 : 0;
}
