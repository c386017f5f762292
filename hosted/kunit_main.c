// SPDX-License-Identifier: GPL-2.0
/*
 * The hosted KUnit runner: runs every suite registered with
 * kunit_test_suites() (see include/kunit/test.h) and prints KTAP as the
 * kernel's KUnit does. Exits 1 if any case failed.
 *
 *   out/kunit [GLOB...]     run the suites or cases matching a glob:
 *                           "gcheap_pageheap" or "gcheap_mcentral.*large*"
 */
#define _GNU_SOURCE
#include <fnmatch.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kunit/test.h>
#include <hosted/hosted.h>

#define KUNIT_INDENT	"    "

/* ================ Registration ================ */

static struct kunit_suite **kunit_suites;
static size_t kunit_nsuites;

void __kunit_register_suites(struct kunit_suite *const *suites)
{
	for (; *suites; suites++) {
		kunit_suites = realloc(kunit_suites,
				       (kunit_nsuites + 1) * sizeof(*kunit_suites));
		if (!kunit_suites)
			abort();
		kunit_suites[kunit_nsuites++] = *suites;
	}
}

/* ================ Memory freed at the end of the case ================ */

struct kunit_resource_node {
	struct kunit_resource_node *next;
	void *ptr;
};

static pthread_mutex_t kunit_lock = PTHREAD_MUTEX_INITIALIZER;

void *kunit_kmalloc_array(struct kunit *test, size_t n, size_t size, gfp_t gfp)
{
	struct kunit_resource_node *node;
	void *p = kmalloc_array(n, size, gfp);

	if (ZERO_OR_NULL_PTR(p))
		return p;
	node = malloc(sizeof(*node));
	if (!node) {
		kfree(p);
		return NULL;
	}
	node->ptr = p;
	pthread_mutex_lock(&kunit_lock);
	node->next = test->hosted_resources;
	test->hosted_resources = node;
	pthread_mutex_unlock(&kunit_lock);
	return p;
}

void kunit_kfree(struct kunit *test, const void *ptr)
{
	struct kunit_resource_node **pp, *node = NULL;

	pthread_mutex_lock(&kunit_lock);
	for (pp = &test->hosted_resources; *pp; pp = &(*pp)->next) {
		if ((*pp)->ptr == ptr) {
			node = *pp;
			*pp = node->next;
			break;
		}
	}
	pthread_mutex_unlock(&kunit_lock);
	if (!node) {
		KUNIT_FAIL(test, "kunit_kfree(%p): not allocated by this case", ptr);
		return;
	}
	kfree(node->ptr);
	free(node);
}

static void kunit_free_resources(struct kunit *test)
{
	struct kunit_resource_node *node, *next;

	for (node = test->hosted_resources; node; node = next) {
		next = node->next;
		kfree(node->ptr);
		free(node);
	}
	test->hosted_resources = NULL;
}

/* ================ Reporting ================ */

/* Held from the first to the last line of a failure report. */
static pthread_mutex_t kunit_print_lock = PTHREAD_MUTEX_INITIALIZER;

void kunit_log_msg(struct kunit *test, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&kunit_print_lock);
	printf(KUNIT_INDENT "# %s: ", test->name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (!*fmt || fmt[strlen(fmt) - 1] != '\n')
		putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&kunit_print_lock);
}

void kunit_set_failure(struct kunit *test)
{
	__atomic_store_n(&test->status, KUNIT_FAILURE, __ATOMIC_RELAXED);
}

void kunit_mark_skipped(struct kunit *test, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(test->status_comment, sizeof(test->status_comment), fmt, ap);
	va_end(ap);
	if (__atomic_load_n(&test->status, __ATOMIC_RELAXED) == KUNIT_SUCCESS)
		__atomic_store_n(&test->status, KUNIT_SKIPPED, __ATOMIC_RELAXED);
}

void __kunit_abort(struct kunit *test)
{
	if (hosted_thread_id() != test->hosted_thread)
		pthread_exit(NULL);	/* as a kthread that fails an assertion */
	longjmp(test->hosted_abort, 1);
}

void __kunit_fail_begin(struct kunit *test, enum kunit_assert_type type,
			const char *file, int line)
{
	pthread_mutex_lock(&kunit_print_lock);
	printf(KUNIT_INDENT "# %s: %s FAILED at %s:%d\n", test->name,
	       type == KUNIT_ASSERTION ? "ASSERTION" : "EXPECTATION", file, line);
}

void __kunit_fail_msg(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (*buf)
		printf(KUNIT_INDENT "%s\n", buf);
}

void __kunit_fail_end(struct kunit *test, enum kunit_assert_type type)
{
	fflush(stdout);
	pthread_mutex_unlock(&kunit_print_lock);
	kunit_set_failure(test);
	if (type == KUNIT_ASSERTION)
		__kunit_abort(test);
}

/* ================ Running ================ */

struct kunit_counts {
	unsigned int pass, fail, skip;
};

static int kunit_case_status(struct kunit *test)
{
	return __atomic_load_n(&test->status, __ATOMIC_RELAXED);
}

/* The hosted checks at the end of a case; a failure fails the case. */
static void kunit_case_checks(struct kunit *test, const struct kunit_suite *suite,
			      unsigned long warnings, long objects)
{
	long leaked;

	hosted_lockdep_check_released(test->name);
	warnings = hosted_warn_total() - warnings;
	if (warnings) {
		kunit_err(test, "%lu kernel warning(s) during the case", warnings);
		kunit_set_failure(test);
	}
	leaked = hosted_slab_live() - objects;
	if (leaked && !suite->hosted_keeps_memory) {
		kunit_err(test, "%ld slab object(s) leaked by the case", leaked);
		kunit_set_failure(test);
	}
}

/*
 * The running case's context. Not on the stack of kunit_run_case(): that
 * function calls setjmp(), after which its modified locals are unreliable
 * once longjmp() returns there.
 */
static struct kunit kunit_current;

static int kunit_run_case(struct kunit_suite *suite, struct kunit_case *c)
{
	struct kunit *test = &kunit_current;
	const unsigned long warnings = hosted_warn_total();
	const long objects = hosted_slab_live();

	memset(test, 0, sizeof(*test));
	test->name = c->name;
	test->hosted_thread = hosted_thread_id();
	hosted_warn_ratelimit_reset();
	if (!setjmp(test->hosted_abort)) {
		int ret = suite->init ? suite->init(test) : 0;

		if (ret) {
			kunit_err(test, "failed to initialize: %d", ret);
			kunit_set_failure(test);
		} else {
			c->run_case(test);
		}
	}
	if (suite->exit && !setjmp(test->hosted_abort))
		suite->exit(test);
	kunit_free_resources(test);
	kunit_case_checks(test, suite, warnings, objects);
	return kunit_case_status(test);
}

/* A glob "suite" selects a suite's cases; "suite.case" single cases. */
static bool kunit_selected(const char *suite, const char *name, int nglobs,
			   char **globs)
{
	int i;

	if (!nglobs)
		return true;
	for (i = 0; i < nglobs; i++) {
		const char *dot = strchr(globs[i], '.');
		char sglob[256];

		if (!dot) {
			if (!fnmatch(globs[i], suite, 0))
				return true;
			continue;
		}
		snprintf(sglob, sizeof(sglob), "%.*s", (int)(dot - globs[i]),
			 globs[i]);
		if (!fnmatch(sglob, suite, 0) && !fnmatch(dot + 1, name, 0))
			return true;
	}
	return false;
}

static unsigned int kunit_ncases(struct kunit_suite *suite, int nglobs,
				 char **globs)
{
	struct kunit_case *c;
	unsigned int n = 0;

	for (c = suite->test_cases; c->run_case; c++)
		n += kunit_selected(suite->name, c->name, nglobs, globs);
	return n;
}

static const char *kunit_ok(int status)
{
	return status == KUNIT_FAILURE ? "not ok" : "ok";
}

/* Runs one suite; returns its status. */
static int kunit_run_suite(struct kunit_suite *suite, unsigned int number,
			   int nglobs, char **globs, struct kunit_counts *total)
{
	struct kunit_counts counts = { 0 };
	unsigned int n = 0, ncases = kunit_ncases(suite, nglobs, globs);
	int status = KUNIT_SKIPPED;
	struct kunit_case *c;

	printf(KUNIT_INDENT "KTAP version 1\n");
	printf(KUNIT_INDENT "# Subtest: %s\n", suite->name);
	printf(KUNIT_INDENT "1..%u\n", ncases);
	fflush(stdout);
	if (suite->suite_init && suite->suite_init(suite)) {
		printf("not ok %u %s # suite_init failed\n", number, suite->name);
		total->fail += ncases;
		return KUNIT_FAILURE;
	}
	for (c = suite->test_cases; c->run_case; c++) {
		int st;

		if (!kunit_selected(suite->name, c->name, nglobs, globs))
			continue;
		st = kunit_run_case(suite, c);
		n++;
		if (st == KUNIT_SKIPPED) {
			counts.skip++;
			printf(KUNIT_INDENT "ok %u %s # SKIP\n", n, c->name);
		} else {
			printf(KUNIT_INDENT "%s %u %s\n", kunit_ok(st), n, c->name);
			if (st == KUNIT_FAILURE) {
				counts.fail++;
				status = KUNIT_FAILURE;
			} else {
				counts.pass++;
				if (status == KUNIT_SKIPPED)
					status = KUNIT_SUCCESS;
			}
		}
		fflush(stdout);
	}
	if (suite->suite_exit)
		suite->suite_exit(suite);
	printf("# %s: pass:%u fail:%u skip:%u total:%u\n", suite->name,
	       counts.pass, counts.fail, counts.skip, n);
	printf("%s %u %s%s\n", kunit_ok(status), number, suite->name,
	       status == KUNIT_SKIPPED ? " # SKIP" : "");
	fflush(stdout);
	total->pass += counts.pass;
	total->fail += counts.fail;
	total->skip += counts.skip;
	return status;
}

int main(int argc, char **argv)
{
	struct kunit_counts total = { 0 };
	unsigned int nsel = 0, number = 0;
	bool failed = false;
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < kunit_nsuites; i++)
		nsel += kunit_ncases(kunit_suites[i], argc - 1, argv + 1) > 0;
	printf("KTAP version 1\n1..%u\n", nsel);
	for (i = 0; i < kunit_nsuites; i++) {
		struct kunit_suite *suite = kunit_suites[i];

		if (!kunit_ncases(suite, argc - 1, argv + 1))
			continue;
		if (kunit_run_suite(suite, ++number, argc - 1, argv + 1,
				    &total) == KUNIT_FAILURE)
			failed = true;
	}
	printf("# Totals: pass:%u fail:%u skip:%u total:%u\n", total.pass,
	       total.fail, total.skip, total.pass + total.fail + total.skip);
	printf("kunit: %u passed, %u failed, %u skipped\n", total.pass,
	       total.fail, total.skip);
	free(kunit_suites);
	return failed || hosted_warn_total() ? 1 : 0;
}
