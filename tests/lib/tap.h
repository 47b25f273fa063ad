/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal TAP output for the user-space tests: "ok N - name" and
 * "not ok N - name" lines, diagnostics as "# ..." lines, and an exit
 * status that is non-zero when anything failed. scripts/run-tests.sh
 * counts these lines, together with the KTAP the VM streams back.
 */
#ifndef VCMDQ_TAP_H
#define VCMDQ_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static unsigned int tap_n, tap_failed, tap_skipped;

static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

static inline bool tap_result(bool ok, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	if (!ok)
		tap_failed++;
	printf("%sok %u - ", ok ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	return ok;
}

static inline void tap_skip(const char *why, const char *name)
{
	tap_n++;
	tap_skipped++;
	printf("ok %u - %s # SKIP %s\n", tap_n, name, why);
}

static inline int tap_done(void)
{
	printf("1..%u\n", tap_n);
	return tap_failed ? 1 : 0;
}

/* Inside a test function: record the first failure and keep going. */
#define CHECK(ok, ...)						\
	do {							\
		if (!(ok)) {					\
			tap_diag("%s:%d: %s", __FILE__, __LINE__, #ok); \
			tap_diag(__VA_ARGS__);			\
			failed = true;				\
		}						\
	} while (0)

#endif /* VCMDQ_TAP_H */
