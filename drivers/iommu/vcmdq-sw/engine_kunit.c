// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite of the engine: every vector of tests/vectors, the table the
 * user-space unit tests run, and the policy of every opcode.
 */
#include <kunit/test.h>
#include <linux/module.h>

#include "tests/vectors/vectors.h"

static void vcmdq_vectors_test(struct kunit *test)
{
	struct vcmdq_vector_fail f;
	unsigned int i;

	for (i = 0; i < vcmdq_nr_vectors; i++) {
		if (!vcmdq_vector_run(&vcmdq_vectors[i], &f))
			KUNIT_FAIL(test, "%s: %s #%u: want 0x%llx got 0x%llx",
				   vcmdq_vectors[i].name, f.what, f.i, f.want,
				   f.got);
	}
}

static void vcmdq_policy_test(struct kunit *test)
{
	struct vcmdq_vector_fail f;

	if (!vcmdq_policy_selftest(&f))
		KUNIT_FAIL(test, "%s: layout %u opcode 0x%02x: want 0x%llx got 0x%llx",
			   f.what, f.i >> 8, f.i & 0xff, f.want, f.got);
}

static struct kunit_case vcmdq_engine_cases[] = {
	KUNIT_CASE(vcmdq_vectors_test),
	KUNIT_CASE(vcmdq_policy_test),
	{}
};

static struct kunit_suite vcmdq_engine_suite = {
	.name = "vcmdq_engine",
	.test_cases = vcmdq_engine_cases,
};

kunit_test_suite(vcmdq_engine_suite);

MODULE_IMPORT_NS("VCMDQ_SW");
MODULE_DESCRIPTION("KUnit tests of the vcmdq-sw engine");
MODULE_LICENSE("GPL");
