/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hosted shim: <kunit/test.h>. Suites written for the kernel's KUnit build
 * and run unchanged in user space; hosted/kunit_main.c is the runner and
 * prints KTAP as the kernel does.
 *
 * An expectation that fails marks the case failed and the case goes on; an
 * assertion that fails also ends the case (a longjmp() back to the runner;
 * from another thread, that thread exits, as a kthread would), and the
 * suite's exit still runs. Memory from kunit_kzalloc() and friends is freed
 * when the case ends, after the suite's exit.
 *
 * Beyond the kernel's KUnit, the runner fails a case during which a kernel
 * warning was reported (WARN_ON(), lockdep, list corruption), that ends with
 * a lock still held, or that leaks slab objects (unless its suite sets
 * .hosted_keeps_memory).
 */
#ifndef _HOSTED_KUNIT_TEST_H
#define _HOSTED_KUNIT_TEST_H

#include <setjmp.h>
#include <linux/errno.h>	/* via <linux/err.h> in the kernel */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/types.h>

enum kunit_status {
	KUNIT_SUCCESS,
	KUNIT_FAILURE,
	KUNIT_SKIPPED,
};

struct kunit_resource_node;

/**
 * struct kunit - the context of the running case
 * @priv: for the suite's init, case and exit to share
 * @name: the case's name
 * @status: enum kunit_status (atomic accesses: other threads may fail it)
 * @status_comment: the reason a case was skipped
 * @hosted_abort: where a failed assertion jumps to
 * @hosted_thread: the thread running the case
 * @hosted_resources: memory to free when the case ends
 */
struct kunit {
	void *priv;
	const char *name;
	int status;
	char status_comment[256];
	jmp_buf hosted_abort;
	unsigned long hosted_thread;
	struct kunit_resource_node *hosted_resources;
};

struct kunit_case {
	void (*run_case)(struct kunit *test);
	const char *name;
};

#define KUNIT_CASE(test_name)	{ .run_case = test_name, .name = #test_name }

struct kunit_suite {
	const char name[256];
	int (*suite_init)(struct kunit_suite *suite);
	void (*suite_exit)(struct kunit_suite *suite);
	int (*init)(struct kunit *test);
	void (*exit)(struct kunit *test);
	struct kunit_case *test_cases;
	/* hosted only: cases may leave slab objects behind on purpose */
	bool hosted_keeps_memory;
};

void __kunit_register_suites(struct kunit_suite *const *suites);

#define __kunit_cat2(a, b)	a##b
#define __kunit_cat(a, b)	__kunit_cat2(a, b)

/* Register suites with the runner (the kernel puts them in a section). */
#define kunit_test_suites(...)						\
	static void __attribute__((constructor))			\
	__kunit_cat(__kunit_register_, __COUNTER__)(void)		\
	{								\
		static struct kunit_suite *const __suites[] = {		\
			__VA_ARGS__, NULL				\
		};							\
		__kunit_register_suites(__suites);			\
	}

#define kunit_test_suite(suite)	kunit_test_suites(&(suite))

/* ---- memory freed when the case ends ---- */

void *kunit_kmalloc_array(struct kunit *test, size_t n, size_t size, gfp_t gfp);
void kunit_kfree(struct kunit *test, const void *ptr);

static inline void *kunit_kmalloc(struct kunit *test, size_t size, gfp_t gfp)
{
	return kunit_kmalloc_array(test, 1, size, gfp);
}

static inline void *kunit_kzalloc(struct kunit *test, size_t size, gfp_t gfp)
{
	return kunit_kmalloc(test, size, gfp | __GFP_ZERO);
}

static inline void *kunit_kcalloc(struct kunit *test, size_t n, size_t size,
				  gfp_t gfp)
{
	return kunit_kmalloc_array(test, n, size, gfp | __GFP_ZERO);
}

/* ---- messages ---- */

void kunit_log_msg(struct kunit *test, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define kunit_info(test, fmt, ...)	kunit_log_msg(test, fmt, ##__VA_ARGS__)
#define kunit_warn(test, fmt, ...)	kunit_log_msg(test, fmt, ##__VA_ARGS__)
#define kunit_err(test, fmt, ...)	kunit_log_msg(test, fmt, ##__VA_ARGS__)

/* ---- failures ---- */

enum kunit_assert_type {
	KUNIT_ASSERTION,
	KUNIT_EXPECTATION,
};

void kunit_set_failure(struct kunit *test);
void __kunit_abort(struct kunit *test) __attribute__((noreturn));
void __kunit_fail_begin(struct kunit *test, enum kunit_assert_type type,
			const char *file, int line);
/* One line of a failure report, indented; nothing if it formats to "". */
void __kunit_fail_msg(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
void __kunit_fail_end(struct kunit *test, enum kunit_assert_type type);

void kunit_mark_skipped(struct kunit *test, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define kunit_skip(test, fmt, ...) do {					\
	kunit_mark_skipped(test, fmt, ##__VA_ARGS__);			\
	__kunit_abort(test);						\
} while (0)

#define KUNIT_FAIL(test, fmt, ...) do {					\
	__kunit_fail_begin(test, KUNIT_EXPECTATION, __FILE__, __LINE__); \
	__kunit_fail_msg(fmt, ##__VA_ARGS__);				\
	__kunit_fail_end(test, KUNIT_EXPECTATION);			\
} while (0)

/* The message of the _MSG variants; the others pass "%s", "". */
#define __kunit_user_msg(fmt, ...)	__kunit_fail_msg(fmt, ##__VA_ARGS__)

#define __KUNIT_INT_ASSERTION(test, type, left, op, right, fmt, ...) do { \
	typeof(left) __kunit_l = (left);				\
	typeof(right) __kunit_r = (right);				\
	if (!(__kunit_l op __kunit_r)) {				\
		__kunit_fail_begin(test, type, __FILE__, __LINE__);	\
		__kunit_fail_msg("Expected %s %s %s, but\n"		\
				 "        %s == %lld (0x%llx)\n"	\
				 "        %s == %lld (0x%llx)",	\
				 #left, #op, #right,			\
				 #left, (long long)__kunit_l,		\
				 (unsigned long long)__kunit_l,		\
				 #right, (long long)__kunit_r,		\
				 (unsigned long long)__kunit_r);	\
		__kunit_user_msg(fmt, ##__VA_ARGS__);			\
		__kunit_fail_end(test, type);				\
	}								\
} while (0)

#define __KUNIT_PTR_ASSERTION(test, type, left, op, right, fmt, ...) do { \
	const void *__kunit_l = (left);					\
	const void *__kunit_r = (right);				\
	if (!(__kunit_l op __kunit_r)) {				\
		__kunit_fail_begin(test, type, __FILE__, __LINE__);	\
		__kunit_fail_msg("Expected %s %s %s, but\n"		\
				 "        %s == %p\n"			\
				 "        %s == %p",			\
				 #left, #op, #right,			\
				 #left, __kunit_l, #right, __kunit_r);	\
		__kunit_user_msg(fmt, ##__VA_ARGS__);			\
		__kunit_fail_end(test, type);				\
	}								\
} while (0)

#define __KUNIT_BOOL_ASSERTION(test, type, cond, expect, fmt, ...) do {	\
	bool __kunit_c = (cond);					\
	if (__kunit_c != (expect)) {					\
		__kunit_fail_begin(test, type, __FILE__, __LINE__);	\
		__kunit_fail_msg("Expected %s to be %s, but is %s",	\
				 #cond, (expect) ? "true" : "false",	\
				 (expect) ? "false" : "true");		\
		__kunit_user_msg(fmt, ##__VA_ARGS__);			\
		__kunit_fail_end(test, type);				\
	}								\
} while (0)

#define __KUNIT_STR_ASSERTION(test, type, left, op, right, fmt, ...) do { \
	const char *__kunit_l = (left);					\
	const char *__kunit_r = (right);				\
	if (!(strcmp(__kunit_l, __kunit_r) op 0)) {			\
		__kunit_fail_begin(test, type, __FILE__, __LINE__);	\
		__kunit_fail_msg("Expected %s %s %s, but\n"		\
				 "        %s == \"%s\"\n"		\
				 "        %s == \"%s\"",		\
				 #left, #op, #right,			\
				 #left, __kunit_l, #right, __kunit_r);	\
		__kunit_user_msg(fmt, ##__VA_ARGS__);			\
		__kunit_fail_end(test, type);				\
	}								\
} while (0)

#define __KUNIT_E	KUNIT_EXPECTATION
#define __KUNIT_A	KUNIT_ASSERTION

#define KUNIT_EXPECT_EQ_MSG(t, l, r, fmt, ...) __KUNIT_INT_ASSERTION(t, __KUNIT_E, l, ==, r, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_NE_MSG(t, l, r, fmt, ...) __KUNIT_INT_ASSERTION(t, __KUNIT_E, l, !=, r, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_LT_MSG(t, l, r, fmt, ...) __KUNIT_INT_ASSERTION(t, __KUNIT_E, l, <, r, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_LE_MSG(t, l, r, fmt, ...) __KUNIT_INT_ASSERTION(t, __KUNIT_E, l, <=, r, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_GT_MSG(t, l, r, fmt, ...) __KUNIT_INT_ASSERTION(t, __KUNIT_E, l, >, r, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_GE_MSG(t, l, r, fmt, ...) __KUNIT_INT_ASSERTION(t, __KUNIT_E, l, >=, r, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_TRUE_MSG(t, c, fmt, ...) __KUNIT_BOOL_ASSERTION(t, __KUNIT_E, c, true, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_FALSE_MSG(t, c, fmt, ...) __KUNIT_BOOL_ASSERTION(t, __KUNIT_E, c, false, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_PTR_EQ_MSG(t, l, r, fmt, ...) __KUNIT_PTR_ASSERTION(t, __KUNIT_E, l, ==, r, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_PTR_NE_MSG(t, l, r, fmt, ...) __KUNIT_PTR_ASSERTION(t, __KUNIT_E, l, !=, r, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_NULL_MSG(t, p, fmt, ...) __KUNIT_PTR_ASSERTION(t, __KUNIT_E, p, ==, NULL, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_NOT_NULL_MSG(t, p, fmt, ...) __KUNIT_PTR_ASSERTION(t, __KUNIT_E, p, !=, NULL, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_STREQ_MSG(t, l, r, fmt, ...) __KUNIT_STR_ASSERTION(t, __KUNIT_E, l, ==, r, fmt, ##__VA_ARGS__)
#define KUNIT_EXPECT_STRNEQ_MSG(t, l, r, fmt, ...) __KUNIT_STR_ASSERTION(t, __KUNIT_E, l, !=, r, fmt, ##__VA_ARGS__)

#define KUNIT_ASSERT_EQ_MSG(t, l, r, fmt, ...) __KUNIT_INT_ASSERTION(t, __KUNIT_A, l, ==, r, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_NE_MSG(t, l, r, fmt, ...) __KUNIT_INT_ASSERTION(t, __KUNIT_A, l, !=, r, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_LT_MSG(t, l, r, fmt, ...) __KUNIT_INT_ASSERTION(t, __KUNIT_A, l, <, r, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_LE_MSG(t, l, r, fmt, ...) __KUNIT_INT_ASSERTION(t, __KUNIT_A, l, <=, r, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_GT_MSG(t, l, r, fmt, ...) __KUNIT_INT_ASSERTION(t, __KUNIT_A, l, >, r, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_GE_MSG(t, l, r, fmt, ...) __KUNIT_INT_ASSERTION(t, __KUNIT_A, l, >=, r, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_TRUE_MSG(t, c, fmt, ...) __KUNIT_BOOL_ASSERTION(t, __KUNIT_A, c, true, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_FALSE_MSG(t, c, fmt, ...) __KUNIT_BOOL_ASSERTION(t, __KUNIT_A, c, false, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_PTR_EQ_MSG(t, l, r, fmt, ...) __KUNIT_PTR_ASSERTION(t, __KUNIT_A, l, ==, r, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_PTR_NE_MSG(t, l, r, fmt, ...) __KUNIT_PTR_ASSERTION(t, __KUNIT_A, l, !=, r, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_NULL_MSG(t, p, fmt, ...) __KUNIT_PTR_ASSERTION(t, __KUNIT_A, p, ==, NULL, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_NOT_NULL_MSG(t, p, fmt, ...) __KUNIT_PTR_ASSERTION(t, __KUNIT_A, p, !=, NULL, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_STREQ_MSG(t, l, r, fmt, ...) __KUNIT_STR_ASSERTION(t, __KUNIT_A, l, ==, r, fmt, ##__VA_ARGS__)
#define KUNIT_ASSERT_STRNEQ_MSG(t, l, r, fmt, ...) __KUNIT_STR_ASSERTION(t, __KUNIT_A, l, !=, r, fmt, ##__VA_ARGS__)

#define KUNIT_EXPECT_EQ(t, l, r)	KUNIT_EXPECT_EQ_MSG(t, l, r, "%s", "")
#define KUNIT_EXPECT_NE(t, l, r)	KUNIT_EXPECT_NE_MSG(t, l, r, "%s", "")
#define KUNIT_EXPECT_LT(t, l, r)	KUNIT_EXPECT_LT_MSG(t, l, r, "%s", "")
#define KUNIT_EXPECT_LE(t, l, r)	KUNIT_EXPECT_LE_MSG(t, l, r, "%s", "")
#define KUNIT_EXPECT_GT(t, l, r)	KUNIT_EXPECT_GT_MSG(t, l, r, "%s", "")
#define KUNIT_EXPECT_GE(t, l, r)	KUNIT_EXPECT_GE_MSG(t, l, r, "%s", "")
#define KUNIT_EXPECT_TRUE(t, c)		KUNIT_EXPECT_TRUE_MSG(t, c, "%s", "")
#define KUNIT_EXPECT_FALSE(t, c)	KUNIT_EXPECT_FALSE_MSG(t, c, "%s", "")
#define KUNIT_EXPECT_PTR_EQ(t, l, r)	KUNIT_EXPECT_PTR_EQ_MSG(t, l, r, "%s", "")
#define KUNIT_EXPECT_PTR_NE(t, l, r)	KUNIT_EXPECT_PTR_NE_MSG(t, l, r, "%s", "")
#define KUNIT_EXPECT_NULL(t, p)		KUNIT_EXPECT_NULL_MSG(t, p, "%s", "")
#define KUNIT_EXPECT_NOT_NULL(t, p)	KUNIT_EXPECT_NOT_NULL_MSG(t, p, "%s", "")
#define KUNIT_EXPECT_STREQ(t, l, r)	KUNIT_EXPECT_STREQ_MSG(t, l, r, "%s", "")
#define KUNIT_EXPECT_STRNEQ(t, l, r)	KUNIT_EXPECT_STRNEQ_MSG(t, l, r, "%s", "")

#define KUNIT_ASSERT_EQ(t, l, r)	KUNIT_ASSERT_EQ_MSG(t, l, r, "%s", "")
#define KUNIT_ASSERT_NE(t, l, r)	KUNIT_ASSERT_NE_MSG(t, l, r, "%s", "")
#define KUNIT_ASSERT_LT(t, l, r)	KUNIT_ASSERT_LT_MSG(t, l, r, "%s", "")
#define KUNIT_ASSERT_LE(t, l, r)	KUNIT_ASSERT_LE_MSG(t, l, r, "%s", "")
#define KUNIT_ASSERT_GT(t, l, r)	KUNIT_ASSERT_GT_MSG(t, l, r, "%s", "")
#define KUNIT_ASSERT_GE(t, l, r)	KUNIT_ASSERT_GE_MSG(t, l, r, "%s", "")
#define KUNIT_ASSERT_TRUE(t, c)		KUNIT_ASSERT_TRUE_MSG(t, c, "%s", "")
#define KUNIT_ASSERT_FALSE(t, c)	KUNIT_ASSERT_FALSE_MSG(t, c, "%s", "")
#define KUNIT_ASSERT_PTR_EQ(t, l, r)	KUNIT_ASSERT_PTR_EQ_MSG(t, l, r, "%s", "")
#define KUNIT_ASSERT_PTR_NE(t, l, r)	KUNIT_ASSERT_PTR_NE_MSG(t, l, r, "%s", "")
#define KUNIT_ASSERT_NULL(t, p)		KUNIT_ASSERT_NULL_MSG(t, p, "%s", "")
#define KUNIT_ASSERT_NOT_NULL(t, p)	KUNIT_ASSERT_NOT_NULL_MSG(t, p, "%s", "")
#define KUNIT_ASSERT_STREQ(t, l, r)	KUNIT_ASSERT_STREQ_MSG(t, l, r, "%s", "")
#define KUNIT_ASSERT_STRNEQ(t, l, r)	KUNIT_ASSERT_STRNEQ_MSG(t, l, r, "%s", "")

#endif /* _HOSTED_KUNIT_TEST_H */
