// SPDX-License-Identifier: GPL-2.0
/*
 * The direct backend of libgcheap (the contract is lib/gcheap_sys.h): the
 * heap operations run in this process, by the module's own mheap code, on
 * one struct mheap whose arena is an anonymous mapping (MAP_NORESERVE, so a
 * large arena costs address space only).
 *
 * What main.c does around each operation is done here the same way, so the
 * library meets the errors the module gives: the struct size rules of
 * copy_struct_from_user() with each struct's first-version size, the flag
 * and reserved-field checks, the size-class table and per-class rows written
 * through the struct's pointer, -ENOSPC with the count needed. After each
 * operation the calling thread must hold no lock (lockdep's check on return
 * to user space).
 *
 * Differences from the module: there is no fd (gcheap_sys_fd() says
 * -ENODEV); arena pages outside allocated spans do not raise SIGBUS; and a
 * forked child gets -EPERM from every call as the module gives it, without a
 * device to tell.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <linux/kernel.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <hosted/hosted.h>
#include "mheap.h"
#include "gcheap_sys.h"

/* The module's default arena_max_mb (64 GiB). */
#define DIRECT_ARENA_MAX	(64ULL << 30)

/*
 * @direct_lock serialises open and map (they run once, in the library's
 * set-up); the heap operations take mheap.lock themselves. @direct_open is
 * written under the lock before the library makes any other call (its
 * set-up is ordered by pthread_once()), and read without it afterwards, as
 * the ioctl backend reads its fd.
 */
static pthread_mutex_t direct_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mheap direct_heap;
static bool direct_open;
static bool direct_classes_ready;
static bool direct_forked;
static void *direct_arena;
static size_t direct_arena_len;

struct mheap *hosted_direct_heap(void)
{
	return direct_open ? &direct_heap : NULL;
}

static void direct_atfork_child(void)
{
	direct_forked = true;
}

/* ---- around every call ---- */

static int direct_enter(void)
{
	if (unlikely(direct_forked))
		return -EPERM;
	if (unlikely(!direct_open))
		return -EBADF;	/* as an ioctl on fd -1 */
	return 0;
}

/* Like lockdep on return to user space: no lock may still be held. */
static int direct_leave(int ret, const char *op)
{
	if (unlikely(hosted_lockdep_depth()))
		hosted_lockdep_check_released(op);
	return ret;
}

/*
 * Copy a struct in as copy_struct_from_user() does: @usize (its first field)
 * at least @min_size; shorter than @ksize is zero-extended; longer must be
 * zero past @ksize.
 */
static int direct_copy_in(void *kdst, size_t ksize, size_t min_size,
			  const void *usrc)
{
	u32 usize;
	size_t i;

	if (!usrc)
		return -EFAULT;
	memcpy(&usize, usrc, sizeof(usize));
	if (usize < min_size)
		return -EINVAL;
	memset(kdst, 0, ksize);
	memcpy(kdst, usrc, min_t(size_t, usize, ksize));
	for (i = ksize; i < usize; i++)
		if (((const u8 *)usrc)[i])
			return -E2BIG;
	return 0;
}

/* Write a reply back, no further than the caller's struct reaches. */
static void direct_copy_out(void *udst, const void *ksrc, size_t ksize)
{
	u32 usize;

	memcpy(&usize, udst, sizeof(usize));
	memcpy(udst, ksrc, min_t(size_t, usize, ksize));
}

#define DIRECT_COPY_IN(k, u, last) \
	direct_copy_in(&(k), sizeof(k), offsetofend(typeof(k), last), u)

/* ---- the backend ---- */

int gcheap_sys_open(void)
{
	static bool atfork;
	int ret = 0;

	pthread_mutex_lock(&direct_lock);
	if (!atfork) {
		ret = -pthread_atfork(NULL, NULL, direct_atfork_child);
		if (ret)
			goto out;
		atfork = true;
	}
	if (!direct_classes_ready) {
		ret = mheap_sizeclass_init();
		if (ret)
			goto out;
		direct_classes_ready = true;
	}
	/* A second open gets a new heap, as a second open() of the device. */
	if (direct_open) {
		direct_open = false;
		mheap_destroy(&direct_heap);
		if (direct_arena)
			munmap(direct_arena, direct_arena_len);
		direct_arena = NULL;
		direct_arena_len = 0;
	}
	memset(&direct_heap, 0, sizeof(direct_heap));
	mheap_init(&direct_heap);
	direct_forked = false;
	direct_open = true;
out:
	pthread_mutex_unlock(&direct_lock);
	return ret;
}

int gcheap_sys_api(struct gcheap_api *api)
{
	struct gcheap_api a;
	int ret = direct_enter();

	if (!ret)
		ret = DIRECT_COPY_IN(a, api, span_max_elems);
	if (ret)
		return ret;
	if (a.flags || a.__reserved)
		return -EINVAL;
	mheap_op_api(&direct_heap, &a);
	a.arena_max = DIRECT_ARENA_MAX;
	direct_copy_out(api, &a, sizeof(a));
	return direct_leave(0, __func__);
}

int gcheap_sys_size_classes(struct gcheap_size_classes *usc)
{
	struct gcheap_size_class *table;
	struct gcheap_size_classes sc;
	unsigned int i;
	int ret = direct_enter();

	if (!ret)
		ret = DIRECT_COPY_IN(sc, usc, table);
	if (ret)
		return ret;
	if (sc.flags || sc.__reserved)
		return -EINVAL;
	if (sc.count < MHEAP_NUM_CLASSES) {
		sc.count = MHEAP_NUM_CLASSES;
		direct_copy_out(usc, &sc, sizeof(sc));
		return -ENOSPC;
	}
	table = (struct gcheap_size_class *)(uintptr_t)sc.table;
	if (!table)
		return -EFAULT;
	for (i = 0; i < MHEAP_NUM_CLASSES; i++) {
		table[i].size = mheap_classes[i].size;
		table[i].npages = mheap_classes[i].npages;
	}
	sc.count = MHEAP_NUM_CLASSES;
	direct_copy_out(usc, &sc, sizeof(sc));
	return 0;
}

int gcheap_sys_map(size_t len, void **base)
{
	void *p;
	int ret = direct_enter();

	if (ret)
		return ret;
	/* mmap()'s own checks, then gcheap_fops_mmap()'s. */
	if (!len || len & (GCHEAP_PAGE_SIZE - 1))
		return -EINVAL;
	if (len > DIRECT_ARENA_MAX)
		return -EFBIG;

	pthread_mutex_lock(&direct_lock);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		goto out;
	}
	ret = mheap_set_arena(&direct_heap, (uintptr_t)p, len);
	if (ret) {
		munmap(p, len);
		goto out;
	}
	hosted_arena_set_real(&direct_heap, true);
	direct_arena = p;
	direct_arena_len = len;
	*base = p;
out:
	pthread_mutex_unlock(&direct_lock);
	return direct_leave(ret, __func__);
}

int gcheap_sys_refill(struct gcheap_refill *ur)
{
	struct gcheap_refill r;
	int ret = direct_enter();

	if (!ret)
		ret = DIRECT_COPY_IN(r, ur, free);
	if (ret)
		return ret;
	ret = mheap_op_refill(&direct_heap, &r);
	if (!ret)
		direct_copy_out(ur, &r, sizeof(r));
	return direct_leave(ret, __func__);
}

int gcheap_sys_alloc(struct gcheap_alloc *ua)
{
	struct gcheap_alloc a;
	int ret = direct_enter();

	if (!ret)
		ret = DIRECT_COPY_IN(a, ua, usable);
	if (ret)
		return ret;
	ret = mheap_op_alloc(&direct_heap, &a);
	if (!ret)
		direct_copy_out(ua, &a, sizeof(a));
	return direct_leave(ret, __func__);
}

int gcheap_sys_free(struct gcheap_free *uf)
{
	struct gcheap_free f;
	int ret = direct_enter();

	if (!ret)
		ret = DIRECT_COPY_IN(f, uf, addr);
	if (ret)
		return ret;
	return direct_leave(mheap_op_free(&direct_heap, &f), __func__);
}

int gcheap_sys_lookup(struct gcheap_lookup *ul)
{
	struct gcheap_lookup l;
	int ret = direct_enter();

	if (!ret)
		ret = DIRECT_COPY_IN(l, ul, __reserved);
	if (ret)
		return ret;
	ret = mheap_op_lookup(&direct_heap, &l);
	if (!ret)
		direct_copy_out(ul, &l, sizeof(l));
	return direct_leave(ret, __func__);
}

int gcheap_sys_stats(struct gcheap_stats *ust)
{
	struct gcheap_class_stats rows[MHEAP_NUM_CLASSES];
	struct gcheap_class_stats *urows;
	struct gcheap_stats st;
	int ret = direct_enter();

	if (!ret)
		ret = DIRECT_COPY_IN(st, ust, bad_frees);
	if (ret)
		return ret;
	if (st.flags || st.__reserved)
		return -EINVAL;
	urows = (struct gcheap_class_stats *)(uintptr_t)st.by_class;
	if (urows && st.nclasses < MHEAP_NUM_CLASSES) {
		st.nclasses = MHEAP_NUM_CLASSES;
		direct_copy_out(ust, &st, sizeof(st));
		return -ENOSPC;
	}
	memset(rows, 0, sizeof(rows));
	ret = mheap_op_stats(&direct_heap, &st, urows ? rows : NULL,
			     urows ? MHEAP_NUM_CLASSES : 0,
			     (struct gcheap_pause *)(uintptr_t)st.pauses);
	if (!ret) {
		if (urows)
			memcpy(urows, rows, sizeof(rows));
		direct_copy_out(ust, &st, sizeof(st));
	}
	return direct_leave(ret, __func__);
}

int gcheap_sys_fd(void)
{
	return -ENODEV;
}
