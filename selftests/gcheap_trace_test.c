// SPDX-License-Identifier: GPL-2.0
/*
 * gcheap_trace_test: the gcheap trace events, through tracefs and perf.
 *
 * Every event is in tracefs (events/gcheap/); enabled, a workload's
 * collections, marks, sweeps, spans, refills, large objects, scavenging
 * and finalizer records arrive with values that agree with what the
 * workload did. Then Debian's perf (copied into the guest as ./perf, or on
 * the PATH; the cases skip without it) lists the events, counts them
 * (perf stat), records them (perf record, perf script) and shows them
 * (perf trace), for the same workload, run by this binary when
 * GCHEAP_TRACE_WORKLOAD is set (the harness of 6.1 runs every case; it
 * takes no arguments to pick one).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "kselftest_harness.h"

#include "gcheap.h"
#include "gcheap_gc_util.h"
#include "gcheap_util.h"

GH_REQUIRE_DEVICE();

#define TRACEFS		"/sys/kernel/tracing"

static const char *const events[] = {
	"gcheap_gc_start", "gcheap_gc_end", "gcheap_mark_done",
	"gcheap_sweep_span", "gcheap_span_alloc", "gcheap_span_free",
	"gcheap_large_alloc", "gcheap_refill", "gcheap_scavenge",
	"gcheap_final_queued", "gcheap_limit",
};

struct lnode {
	struct lnode *next;
	uint64_t pad[7];
};

/* Roots: the data segment. */
struct lnode *trace_list;
void *trace_big;
static volatile int finalized;

static void on_final(void *obj, void *arg)
{
	(void)obj;
	(void)arg;
	finalized++;
}

static GH_NOINLINE void make_garbage(void)
{
	void *o = gcheap_malloc(64);

	if (o)
		gcheap_register_finalizer(o, on_final, NULL);
}

/*
 * What the events should show: an 8 MiB list kept, garbage, a 1 MiB
 * object, an object with a finalizer dropped, two collections and memory
 * given back. Return: 0, or -1 if an allocation failed.
 */
static GH_NOINLINE int run_workload(void)
{
	int i;

	for (i = 0; i < 131072; i++) {
		struct lnode *n = gcheap_malloc(sizeof(*n));

		if (!n)
			return -1;
		n->next = trace_list;
		trace_list = n;
		if (!gcheap_malloc(48))
			return -1;
	}
	trace_big = gcheap_malloc(1 << 20);
	if (!trace_big)
		return -1;
	make_garbage();
	gh_clear_stack();
	if (gcheap_gc() || gcheap_free_os_memory())
		return -1;
	gcheap_run_finalizers();
	return 0;
}

/* tracefs mounted where perf and these cases look: 0 or an errno. */
static int tracefs_ready(void)
{
	return gh_mount_fs(TRACEFS, "tracefs", TRACEFS "/events");
}

/* The whole trace buffer, NUL-terminated; free() it. */
static char *read_all(const char *path, size_t *len)
{
	size_t cap = 1 << 20, n = 0;
	char *buf = malloc(cap);
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((got = read(fd, buf + n, cap - n - 1)) > 0) {
		n += got;
		if (cap - n < 4096) {
			char *more = realloc(buf, cap * 2);

			if (!more)
				break;
			buf = more;
			cap *= 2;
		}
	}
	close(fd);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

/* The value of " @key=" on the first line holding @event, after @from. */
static int field_of(const char *text, const char *event, const char *key,
		    unsigned long long *val, const char **from)
{
	const char *p = strstr(*from, event), *eol, *k;
	char pat[64];

	if (!p)
		return -1;
	eol = strchr(p, '\n');
	snprintf(pat, sizeof(pat), " %s=", key);
	k = strstr(p, pat);
	if (!k || (eol && k > eol))
		return -1;
	*val = strtoull(k + strlen(pat), NULL, 0);
	*from = eol ? eol : p + strlen(p);
	(void)text;
	return 0;
}

static unsigned int count_of(const char *text, const char *event)
{
	unsigned int n = 0;
	const char *p;

	for (p = strstr(text, event); p; p = strstr(p + 1, event))
		n++;
	return n;
}

TEST(tracefs_has_every_event)
{
	char path[256];
	unsigned int i;

	if (tracefs_ready())
		SKIP(return, "no tracefs");
	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		snprintf(path, sizeof(path), TRACEFS "/events/gcheap/%s/format",
			 events[i]);
		EXPECT_EQ(0, access(path, R_OK)) TH_LOG("%s", path);
	}
}

TEST(tracefs_events_arrive)
{
	unsigned long long cycle, before, after, objects, bytes, heap, big,
			   released, heap2;
	const char *from;
	char *text;

	if (tracefs_ready())
		SKIP(return, "no tracefs");
	ASSERT_EQ(0, gcheap_init());
	gcheap_set_gc_percent(-1);
	ASSERT_EQ(0, gh_write_file(TRACEFS "/buffer_size_kb", "8192"));
	ASSERT_EQ(0, gh_write_file(TRACEFS "/trace", ""));
	ASSERT_EQ(0, gh_write_file(TRACEFS "/events/gcheap/enable", "1"));
	ASSERT_EQ(0, run_workload());
	ASSERT_EQ(0, gh_write_file(TRACEFS "/events/gcheap/enable", "0"));
	text = read_all(TRACEFS "/trace", NULL);
	ASSERT_NE(NULL, text);

	from = text;
	ASSERT_EQ(0, field_of(text, "gcheap_gc_start:", "heap", &heap, &from));
	EXPECT_LE(1, heap);
	/* Collections asked for, automatic ones being off. */
	EXPECT_NE(NULL, strstr(text, "kind=full reason=asked"));
	from = text;
	ASSERT_EQ(0, field_of(text, "gcheap_gc_end:", "cycle", &cycle, &from));
	from = text;
	ASSERT_EQ(0, field_of(text, "gcheap_gc_end:", "heap_before", &before,
			      &from));
	from = text;
	ASSERT_EQ(0, field_of(text, "gcheap_gc_end:", "heap_after", &after,
			      &from));
	EXPECT_EQ(1, cycle);
	/* 8 MiB of list, 6 MiB of garbage and 1 MiB, then 9 MiB live. */
	EXPECT_LE(14ULL << 20, before);
	EXPECT_LE(9ULL << 20, after);
	EXPECT_GT(before, after);
	from = text;
	ASSERT_EQ(0, field_of(text, "gcheap_mark_done:", "objects", &objects,
			      &from));
	from = text;
	ASSERT_EQ(0, field_of(text, "gcheap_mark_done:", "bytes", &bytes, &from));
	EXPECT_LE(131072, objects);
	EXPECT_LE(8ULL << 20, bytes);
	from = text;
	ASSERT_EQ(0, field_of(text, "gcheap_large_alloc:", "bytes", &big, &from));
	EXPECT_EQ(1 << 20, big);
	from = text;
	ASSERT_EQ(0, field_of(text, "gcheap_scavenge:", "released", &released,
			      &from));
	EXPECT_LT(0, released);
	from = text;
	ASSERT_EQ(0, field_of(text, "gcheap_refill:", "heap", &heap2, &from));
	EXPECT_EQ(heap, heap2);
	EXPECT_LE(100, count_of(text, "gcheap_refill:"));
	EXPECT_LE(10, count_of(text, "gcheap_sweep_span:"));
	EXPECT_LE(1, count_of(text, "gcheap_span_alloc:"));
	EXPECT_LE(1, count_of(text, "gcheap_span_free:"));
	EXPECT_LE(1, count_of(text, "gcheap_final_queued:"));
	EXPECT_EQ(2, count_of(text, "gcheap_gc_end:"));
	free(text);
}

/* What perf runs below: the workload alone, before the harness starts. */
static void __attribute__((constructor)) workload_mode(void)
{
	if (!getenv("GCHEAP_TRACE_WORKLOAD"))
		return;
	/* Its two collections only. */
	gcheap_set_gc_percent(-1);
	_exit(run_workload() ? 1 : 0);
}

TEST(workload_alone)
{
	ASSERT_EQ(0, run_workload());
	EXPECT_EQ(1, finalized);
}

/* perf's path, or NULL. */
static const char *perf_path(void)
{
	if (!access("./perf", X_OK))
		return "./perf";
	if (!system("command -v perf >/dev/null 2>&1"))
		return "perf";
	return NULL;
}

/* Run @cmd, its stdout and stderr in a malloc()ed string (NULL on failure). */
static char *run(const char *cmd)
{
	char *full, *out;

	if (asprintf(&full, "%s > /tmp/gcheap-perf.out 2>&1", cmd) < 0)
		return NULL;
	if (system(full)) {
		free(full);
		return NULL;
	}
	free(full);
	out = read_all("/tmp/gcheap-perf.out", NULL);
	unlink("/tmp/gcheap-perf.out");
	return out;
}

FIXTURE(perf) {
	int unused;
};

FIXTURE_SETUP(perf)
{
}

FIXTURE_TEARDOWN(perf)
{
}

/* perf in a TCG guest takes its time: each command is bounded by timeout. */
TEST_F_TIMEOUT(perf, list_stat_record_trace, 600)
{
	const char *perf = perf_path();
	char cmd[512], exe[256], *out;
	ssize_t n;

	if (!perf)
		SKIP(return, "no perf");
	if (tracefs_ready())
		SKIP(return, "no tracefs");
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ASSERT_LT(0, n);
	exe[n] = 0;

	snprintf(cmd, sizeof(cmd), "timeout 120 %s list 'gcheap:*'", perf);
	out = run(cmd);
	ASSERT_NE(NULL, out);
	EXPECT_NE(NULL, strstr(out, "gcheap:gcheap_gc_end"));
	EXPECT_NE(NULL, strstr(out, "gcheap:gcheap_refill"));
	free(out);

	snprintf(cmd, sizeof(cmd),
		 "GCHEAP_TRACE_WORKLOAD=1 timeout 120 %s stat -x, -e 'gcheap:*' %s",
		 perf, exe);
	out = run(cmd);
	ASSERT_NE(NULL, out);
	/* CSV: count,unit,event,... ; two collections, many refills. */
	EXPECT_NE(NULL, strstr(out, "2,,gcheap:gcheap_gc_end"));
	EXPECT_NE(NULL, strstr(out, "2,,gcheap:gcheap_gc_start"));
	EXPECT_NE(NULL, strstr(out, ",,gcheap:gcheap_refill"));
	if (!strstr(out, "2,,gcheap:gcheap_gc_end"))
		TH_LOG("perf stat said:\n%s", out);
	free(out);

	snprintf(cmd, sizeof(cmd),
		 "GCHEAP_TRACE_WORKLOAD=1 timeout 120 %s record -q -o /tmp/gcheap-perf.data -e 'gcheap:*' %s && timeout 120 %s script -i /tmp/gcheap-perf.data",
		 perf, exe, perf);
	out = run(cmd);
	ASSERT_NE(NULL, out);
	EXPECT_NE(NULL, strstr(out, "gcheap:gcheap_gc_end"));
	EXPECT_NE(NULL, strstr(out, "heap_before="));
	EXPECT_NE(NULL, strstr(out, "gcheap:gcheap_large_alloc"));
	free(out);
	unlink("/tmp/gcheap-perf.data");

	snprintf(cmd, sizeof(cmd),
		 "GCHEAP_TRACE_WORKLOAD=1 timeout 120 %s trace --no-syscalls -e 'gcheap:gcheap_gc_*' %s",
		 perf, exe);
	out = run(cmd);
	ASSERT_NE(NULL, out);
	EXPECT_NE(NULL, strstr(out, "gcheap:gcheap_gc_end"));
	free(out);
}

TEST_HARNESS_MAIN
