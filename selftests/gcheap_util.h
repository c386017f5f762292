/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the gcheap selftests: raw access to /dev/gcheap (for the
 * tests that check the ABI itself, below the library) and small utilities.
 *
 * Every helper returns 0 or a positive errno, so a test reads as
 * ASSERT_EQ(EINVAL, gh_ioctl(...)).
 */
#ifndef _GCHEAP_SELFTEST_UTIL_H
#define _GCHEAP_SELFTEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <linux/gcheap.h>

#define GH_DEVICE		"/dev/gcheap"
/* The module's size-class table has this many classes (Go's table). */
#define GH_NUM_CLASSES		68
/* Room for a table larger than expected, so a wrong count is seen. */
#define GH_MAX_CLASSES		256

#define GH_ROUND_UP(x, a)	(((x) + (a) - 1) / (a) * (a))

/*
 * Skip the whole binary (kselftest's exit code 4) when the module is not
 * loaded: every test of it needs the device.
 */
#define GH_REQUIRE_DEVICE()						\
static void __attribute__((constructor)) gh_require_device(void)	\
{									\
	if (access(GH_DEVICE, F_OK)) {					\
		ksft_print_header();					\
		ksft_exit_skip("no " GH_DEVICE ": is gcheap.ko loaded?\n"); \
	}								\
}

/*
 * For tests of the allocator that keep objects where the collector does not
 * look (malloc()ed arrays) and count them exactly: no automatic collection
 * (the library reads GCHEAP_GOGC when it sets the heap up).
 */
#define GH_NO_AUTO_GC()							\
static void __attribute__((constructor)) gh_no_auto_gc(void)		\
{									\
	setenv("GCHEAP_GOGC", "off", 0);				\
}

static inline int gh_open(void)
{
	return open(GH_DEVICE, O_RDWR | O_CLOEXEC);
}

static inline int gh_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? errno : 0;
}

static inline int gh_api(int fd, struct gcheap_api *api)
{
	memset(api, 0, sizeof(*api));
	api->size = sizeof(*api);
	return gh_ioctl(fd, GCHEAP_IOC_API, api);
}

/* Read the size-class table into @table (GH_MAX_CLASSES rows); *@n classes. */
static inline int gh_size_classes(int fd, struct gcheap_size_class *table,
				  unsigned int *n)
{
	struct gcheap_size_classes sc = {
		.size = sizeof(sc),
		.count = GH_MAX_CLASSES,
		.table = (uintptr_t)table,
	};
	int err = gh_ioctl(fd, GCHEAP_IOC_SIZE_CLASSES, &sc);

	*n = sc.count;
	return err;
}

static inline int gh_map(int fd, size_t len, void **base)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	*base = p == MAP_FAILED ? NULL : p;
	return p == MAP_FAILED ? errno : 0;
}

/* GCHEAP_IOC_STATS with the per-class table (@rows: GH_MAX_CLASSES rows). */
static inline int gh_stats(int fd, struct gcheap_stats *st,
			   struct gcheap_class_stats *rows)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	if (rows) {
		st->nclasses = GH_MAX_CLASSES;
		st->by_class = (uintptr_t)rows;
	}
	return gh_ioctl(fd, GCHEAP_IOC_STATS, st);
}

/*
 * GCHEAP_IOC_REFILL of span class @spc, giving back @old_base (0: none) with
 * the free bitmap @left (NULL: all zero, every handed-out slot used).
 */
static inline int gh_refill(int fd, unsigned int spc, uint64_t old_base,
			    const __u64 *left, unsigned int flags,
			    struct gcheap_refill *r)
{
	__u64 give[GCHEAP_SPAN_BITMAP_WORDS] = { 0 };

	/* @left may be @r->free of the reply that handed the span out. */
	if (left)
		memcpy(give, left, sizeof(give));
	memset(r, 0, sizeof(*r));
	r->size = sizeof(*r);
	r->flags = flags;
	r->spanclass = spc;
	r->old_base = old_base;
	memcpy(r->free, give, sizeof(r->free));
	return gh_ioctl(fd, GCHEAP_IOC_REFILL, r);
}

static inline int gh_alloc(int fd, uint64_t bytes, unsigned int flags,
			   struct gcheap_alloc *a)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->flags = flags;
	a->bytes = bytes;
	return gh_ioctl(fd, GCHEAP_IOC_ALLOC, a);
}

static inline int gh_free_flags(int fd, uint64_t addr, unsigned int flags)
{
	struct gcheap_free f = {
		.size = sizeof(f), .flags = flags, .addr = addr,
	};

	return gh_ioctl(fd, GCHEAP_IOC_FREE, &f);
}

static inline int gh_free(int fd, uint64_t addr)
{
	return gh_free_flags(fd, addr, 0);
}

static inline int gh_lookup(int fd, uint64_t addr, struct gcheap_lookup *l)
{
	memset(l, 0, sizeof(*l));
	l->size = sizeof(*l);
	l->addr = addr;
	return gh_ioctl(fd, GCHEAP_IOC_LOOKUP, l);
}

static inline unsigned int gh_popcount(const __u64 *bits, unsigned int words)
{
	unsigned int i, n = 0;

	for (i = 0; i < words; i++)
		n += __builtin_popcountll(bits[i]);
	return n;
}

/*
 * Run @fn(@arg) in a forked child and return its wait status. The child's
 * exit code is what @fn returns (0: all checks passed, else the number of
 * the failed check), so a test can tell which check of the child failed.
 */
static inline int gh_in_child(int (*fn)(void *arg), void *arg)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(fn(arg));
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

/* A small, fast, seedable PRNG (xorshift64*), one state per thread. */
static inline uint64_t gh_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Write @text to a sysfs, cgroup or tracefs file, as `echo >` does. */
static inline int gh_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return errno;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		ret = errno ? errno : EIO;
	close(fd);
	return ret;
}

/*
 * The value of @key in a file of "key value" lines (/proc/meminfo's
 * "key: value" too); UINT64_MAX if it has none.
 */
static inline uint64_t gh_read_key(const char *path, const char *key)
{
	size_t n = strlen(key);
	unsigned long long v;
	char line[256], k[64];
	FILE *f = fopen(path, "r");

	if (!f)
		return UINT64_MAX;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %llu", k, &v) == 2 && !strncmp(k, key, n) &&
		    (k[n] == 0 || (k[n] == ':' && k[n + 1] == 0))) {
			fclose(f);
			return v;
		}
	}
	fclose(f);
	return UINT64_MAX;
}

/*
 * A pseudo file system at @dir, mounted there unless @probe (a file it
 * has) already exists: 0, or a positive errno.
 */
static inline int gh_mount_fs(const char *dir, const char *fstype,
			      const char *probe)
{
	if (!access(probe, F_OK))
		return 0;
	mkdir(dir, 0755);
	if (mount(fstype, dir, fstype, 0, NULL) && errno != EBUSY)
		return errno;
	return access(probe, F_OK) ? errno : 0;
}

#endif /* _GCHEAP_SELFTEST_UTIL_H */
