// SPDX-License-Identifier: GPL-2.0
/*
 * gcheap_debugfs_test: the debugfs files and tools/gcheap-top.
 *
 * A heap's memstats and classes files agree with what the process reads
 * through the library, the summary has its line, the files are root's
 * only, a heap's directory goes with the heap, and gcheap-top (copied into
 * the guest; the case skips without it) shows the heap. A heap dump of a
 * known graph, through the library and through the dump file, has its
 * objects and edges; a short buffer learns the size needed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"

#include "gcheap.h"
#include "gcheap_gc_util.h"
#include "gcheap_util.h"

GH_REQUIRE_DEVICE();

#define DEBUGFS		"/sys/kernel/debug"
#define GCHEAP_DIR	DEBUGFS "/gcheap"

/* Roots: the data segment. */
void *dbg_keep[4096];

static int debugfs_ready(void)
{
	return gh_mount_fs(DEBUGFS, "debugfs", GCHEAP_DIR);
}

/* The directory of @pid's heap into @dir; 0 or -1. */
static int heap_dir(pid_t pid, char *dir, size_t len)
{
	DIR *d = opendir(GCHEAP_DIR);
	struct dirent *e;
	char prefix[32];
	int ret = -1;

	if (!d)
		return -1;
	snprintf(prefix, sizeof(prefix), "%d-", pid);
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, prefix, strlen(prefix))) {
			snprintf(dir, len, GCHEAP_DIR "/%.32s", e->d_name);
			ret = 0;
			break;
		}
	closedir(d);
	return ret;
}

static GH_NOINLINE int populate(void)
{
	unsigned int i;

	for (i = 0; i < 4096; i++) {
		dbg_keep[i] = gcheap_malloc(i % 2 ? 64 : 1024);
		if (!dbg_keep[i])
			return -1;
	}
	return 0;
}

TEST(files_agree_with_the_library)
{
	char dir[256], path[300], line[256];
	struct gcheap_memstats ms;
	unsigned long long sum = 0, rows = 0, v[6];
	unsigned int cls, size;
	int found = 0;
	FILE *f;

	if (debugfs_ready())
		SKIP(return, "no debugfs");
	gcheap_set_gc_percent(-1);
	ASSERT_EQ(0, populate());
	ASSERT_EQ(0, gcheap_gc());
	ASSERT_EQ(0, gcheap_flush_cache());
	ASSERT_EQ(0, gcheap_get_stats(&ms));
	ASSERT_EQ(0, heap_dir(getpid(), dir, sizeof(dir)));

	snprintf(path, sizeof(path), "%s/memstats", dir);
	EXPECT_EQ(getpid(), gh_read_key(path, "Pid"));
	EXPECT_EQ(ms.num_gc, gh_read_key(path, "NumGC"));
	EXPECT_EQ(ms.heap_sys, gh_read_key(path, "HeapSys"));
	EXPECT_EQ(ms.heap_alloc, gh_read_key(path, "HeapAlloc"));
	EXPECT_EQ(ms.heap_objects, gh_read_key(path, "HeapObjects"));
	EXPECT_EQ(ms.heap_released, gh_read_key(path, "HeapReleased"));
	EXPECT_EQ(ms.mallocs, gh_read_key(path, "Mallocs"));
	EXPECT_NE(UINT64_MAX, gh_read_key(path, "LastPauseNs"));

	/* The class table sums to what is allocated. */
	snprintf(path, sizeof(path), "%s/classes", dir);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(line, sizeof(line), f));
	EXPECT_EQ(0, strncmp(line, "class size mallocs", 18));
	while (fgets(line, sizeof(line), f)) {
		ASSERT_EQ(6, sscanf(line, "%u %u %llu %llu %llu %llu", &cls, &size,
				    &v[0], &v[1], &v[2], &v[3]));
		EXPECT_EQ(rows, cls);
		EXPECT_GE(v[0], v[1]);
		sum += v[3];
		rows++;
	}
	fclose(f);
	EXPECT_LE(60, rows);
	EXPECT_EQ(ms.heap_alloc, sum);

	/* The summary has our line: pid heap held alloc live num_gc ... */
	f = fopen(GCHEAP_DIR "/summary", "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(line, sizeof(line), f));
	EXPECT_EQ(0, strncmp(line, "pid heap held", 13));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long pid, heap;

		if (sscanf(line, "%llu %llu %llu %llu %llu %llu", &pid, &heap,
			   &v[0], &v[1], &v[2], &v[3]) != 6 || pid != getpid())
			continue;
		found = 1;
		EXPECT_EQ(ms.heap_sys - ms.heap_released, v[0]);
		EXPECT_EQ(ms.heap_alloc, v[1]);
		EXPECT_GE(v[1], v[2]);
		EXPECT_EQ(ms.num_gc, v[3]);
	}
	fclose(f);
	EXPECT_TRUE(found);
}

TEST(root_only)
{
	char dir[256], path[300];
	pid_t pid;
	int status;

	if (debugfs_ready())
		SKIP(return, "no debugfs");
	ASSERT_NE(NULL, gcheap_malloc(16));
	ASSERT_EQ(0, heap_dir(getpid(), dir, sizeof(dir)));
	snprintf(path, sizeof(path), "%s/memstats", dir);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd;

		if (setgid(65534) || setuid(65534))
			_exit(2);
		fd = open(path, O_RDONLY);
		_exit(fd < 0 && errno == EACCES ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST(directory_goes_with_the_heap)
{
	int up[2], down[2], status;
	char dir[256], c;
	pid_t pid;

	if (debugfs_ready())
		SKIP(return, "no debugfs");
	ASSERT_EQ(0, pipe(up));
	ASSERT_EQ(0, pipe(down));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* A heap, kept until the parent has seen its directory. */
		if (!gcheap_malloc(16) || write(up[1], "x", 1) != 1 ||
		    read(down[0], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	ASSERT_EQ(1, read(up[0], &c, 1));
	EXPECT_EQ(0, heap_dir(pid, dir, sizeof(dir)));
	ASSERT_EQ(1, write(down[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(-1, heap_dir(pid, dir, sizeof(dir)));
	EXPECT_NE(0, access(dir, F_OK));
}

TEST(gcheap_top_shows_the_heap)
{
	char cmd[128], line[512], pid[16];
	int header = 0, ours = 0;
	FILE *p;

	if (debugfs_ready())
		SKIP(return, "no debugfs");
	if (access("./gcheap-top", X_OK))
		SKIP(return, "no ./gcheap-top");
	ASSERT_EQ(0, populate());
	ASSERT_EQ(0, gcheap_gc());
	snprintf(cmd, sizeof(cmd), "./gcheap-top -n 1");
	snprintf(pid, sizeof(pid), "%d ", getpid());
	p = popen(cmd, "r");
	ASSERT_NE(NULL, p);
	while (fgets(line, sizeof(line), p)) {
		char *s = line + strspn(line, " ");

		header |= !!strstr(line, "HELD MB");
		if (!strncmp(s, pid, strlen(pid))) {
			ours = 1;
			EXPECT_NE(NULL, strstr(line, "gcheap_debugfs"));
		}
	}
	EXPECT_EQ(0, pclose(p));
	EXPECT_TRUE(header);
	EXPECT_TRUE(ours);
}

struct dnode {
	struct dnode *next;
	void *blob;
	uint64_t pad[2];
};

/* The graph: a -> b -> c (through an interior pointer), c noscan -> a. */
struct dnode *dump_a;

static GH_NOINLINE int dump_graph(void)
{
	struct dnode *b, *c;

	dump_a = gcheap_malloc(sizeof(*dump_a));
	b = gcheap_malloc(sizeof(*b));
	c = gcheap_malloc_atomic(sizeof(*c));
	if (!dump_a || !b || !c)
		return -1;
	dump_a->next = b;
	b->blob = (char *)c + 8;
	c->next = dump_a;	/* noscan: not an edge */
	return 0;
}

/* The object record of @addr in a dump, or NULL. */
static const struct gcheap_dump_object *dump_find(const uint8_t *buf,
						  size_t len, uint64_t addr)
{
	size_t off = sizeof(struct gcheap_dump_header);

	while (off + sizeof(struct gcheap_dump_record) <= len) {
		const struct gcheap_dump_record *r = (const void *)(buf + off);
		const struct gcheap_dump_object *o = (const void *)(r + 1);

		if (r->len < 8 || r->len % 8 || r->kind == GCHEAP_DUMP_END)
			return NULL;
		if (r->kind == GCHEAP_DUMP_OBJECT && o->addr == addr)
			return o;
		off += r->len;
	}
	return NULL;
}

TEST(dump_has_the_graph)
{
	const struct gcheap_dump_object *o;
	struct dnode *b, *c;
	size_t len = 0, small;
	uint8_t *buf;

	gcheap_set_gc_percent(-1);
	ASSERT_EQ(0, dump_graph());
	b = dump_a->next;
	c = (struct dnode *)((char *)b->blob - 8);
	errno = 0;
	EXPECT_EQ(-1, gcheap_dump_heap(NULL, &len));
	EXPECT_EQ(ENOSPC, errno);
	ASSERT_LT(sizeof(struct gcheap_dump_header), len);
	buf = malloc(len + 4096);
	ASSERT_NE(NULL, buf);
	small = 16;
	EXPECT_EQ(-1, gcheap_dump_heap(buf, &small));
	EXPECT_EQ(ENOSPC, errno);
	EXPECT_EQ(len, small);
	len += 4096;
	ASSERT_EQ(0, gcheap_dump_heap(buf, &len));
	EXPECT_EQ(0, memcmp(buf, GCHEAP_DUMP_MAGIC, 8));

	o = dump_find(buf, len, (uintptr_t)dump_a);
	ASSERT_NE(NULL, o);
	ASSERT_EQ(1, o->nptrs);
	EXPECT_EQ((uintptr_t)b, ((const uint64_t *)(o + 1))[0]);
	o = dump_find(buf, len, (uintptr_t)b);
	ASSERT_NE(NULL, o);
	ASSERT_EQ(1, o->nptrs);
	EXPECT_EQ((uintptr_t)c, ((const uint64_t *)(o + 1))[0]);
	o = dump_find(buf, len, (uintptr_t)c);
	ASSERT_NE(NULL, o);
	EXPECT_EQ(0, o->nptrs);
	EXPECT_EQ(1, o->spanclass & 1);
	free(buf);

	/* The same through debugfs, for root, from outside the program. */
	if (!debugfs_ready()) {
		char dir[256], path[300];
		ssize_t n;
		int fd;

		ASSERT_EQ(0, heap_dir(getpid(), dir, sizeof(dir)));
		snprintf(path, sizeof(path), "%s/dump", dir);
		fd = open(path, O_RDONLY);
		ASSERT_LE(0, fd);
		buf = malloc(1 << 20);
		ASSERT_NE(NULL, buf);
		len = 0;
		while ((n = read(fd, buf + len, (1 << 20) - len)) > 0)
			len += n;
		close(fd);
		EXPECT_EQ(0, memcmp(buf, GCHEAP_DUMP_MAGIC, 8));
		o = dump_find(buf, len, (uintptr_t)dump_a);
		ASSERT_NE(NULL, o);
		EXPECT_EQ(1, o->nptrs);
		free(buf);
	}
}

TEST_HARNESS_MAIN
