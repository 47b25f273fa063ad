// SPDX-License-Identifier: GPL-2.0
/*
 * vcmdq-bench: throughput and doorbell-to-CONS latency of the engine on
 * the user-space harness, for realistic guest invalidation streams.
 *
 *   vcmdq-bench [--json FILE] [--iters N]   run the benchmark
 *   vcmdq-bench replay FILE                 replay a queue dump (replay.c)
 *
 * The host side is a null SMMU that takes commands and syncs at once, so
 * the figures are the cost of the software path itself: doorbell wake-up,
 * reading, validating and rewriting, publishing CONS.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

int replay_main(int argc, char **argv);

struct null_smmu {
	unsigned long cmds, syncs, batches;
};

static int null_issue(void *priv, const struct vcmdq_cmd *cmds, uint32_t n,
		      bool sync)
{
	struct null_smmu *s = priv;

	(void)cmds;
	s->cmds += n;
	s->syncs += sync;
	s->batches++;
	return 0;
}

struct stream {
	const char *name;
	const char *what;
	unsigned int (*unit)(struct vcmdq_cmd *c, unsigned int i);
};

#define VSID	0x42

static struct vcmdq_cmd cmd(uint64_t w0, uint64_t w1)
{
	return (struct vcmdq_cmd){ { w0, w1 } };
}

static struct vcmdq_cmd sync_none(void)
{
	return cmd(0x46 | 3ULL << 22 | 0xfULL << 24, 0);
}

/* munmap of 32 pages in a vSVA process: one TLBI_NH_VA per page + SYNC */
static unsigned int unit_munmap(struct vcmdq_cmd *c, unsigned int i)
{
	uint64_t asid = 1 + i % 7, va = 0x7f0000000000ULL + ((uint64_t)i << 17);
	unsigned int p;

	for (p = 0; p < 32; p++)
		c[p] = cmd(0x12 | asid << 48, (va + ((uint64_t)p << 12)) |
			   1ULL << 10 | 3ULL << 8 | 1);
	c[32] = sync_none();
	return 33;
}

/* process exit / ASID recycle: TLBI_NH_ASID + SYNC */
static unsigned int unit_asid(struct vcmdq_cmd *c, unsigned int i)
{
	c[0] = cmd(0x11 | (uint64_t)(1 + i % 255) << 48, 0);
	c[1] = sync_none();
	return 2;
}

/* ATS device: 4 ranges, each TLBI_NH_VA + ATC_INV, then SYNC */
static unsigned int unit_atc(struct vcmdq_cmd *c, unsigned int i)
{
	uint64_t va = 0x400000000ULL + ((uint64_t)i << 21);
	unsigned int r;

	for (r = 0; r < 4; r++) {
		c[2 * r] = cmd(0x12 | 3ULL << 48 | 7ULL << 12,
			       (va + ((uint64_t)r << 15)) | 1ULL << 10 | 1);
		c[2 * r + 1] = cmd(0x40 | (uint64_t)VSID << 32,
				   (va + ((uint64_t)r << 15)) | 3);
	}
	c[8] = sync_none();
	return 9;
}

static const struct stream streams[] = {
	{ "vsva-munmap-storm", "32x TLBI_NH_VA + CMD_SYNC", unit_munmap },
	{ "asid-flush", "TLBI_NH_ASID + CMD_SYNC", unit_asid },
	{ "atc-inv-heavy", "4x (TLBI_NH_VA + ATC_INV) + CMD_SYNC", unit_atc },
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct result {
	unsigned int per_unit;
	double mcmds, units, p50, p99, p999, wakeups_per_unit, cmds_per_batch;
};

static int run_stream(const struct stream *s, unsigned int iters,
		      struct result *r)
{
	struct vcmdq_config cfg = {
		.layout = VCMDQ_LAYOUT_SMMUV3, .log2size = 10, .vmid = 1,
		.batch = VCMDQ_BATCH_MAX,
	};
	struct null_smmu smmu = { 0 };
	struct vq_sink sink = { null_issue, &smmu };
	struct vcmdq_cmd unit[64];
	static struct vq_harness h;
	double t0, t, *lat;
	unsigned long total = 0, wake0;
	uint32_t prod = 0;
	unsigned int i, n = 0;
	int ret;

	lat = calloc(iters, sizeof(*lat));
	if (!lat)
		return -ENOMEM;
	ret = vq_harness_init(&h, &cfg, &sink, 4096);
	if (!ret)
		ret = vq_harness_add_sid(&h, VSID, 0x8);
	if (!ret)
		ret = vq_harness_start(&h);
	if (ret) {
		free(lat);
		return ret;
	}

	/* throughput: keep the queue full, a doorbell per unit */
	t0 = now_ns();
	for (i = 0; i < iters; i++) {
		n = s->unit(unit, i);
		while (vq_guest_space(&h, prod) < n)
			;
		prod = vq_guest_write(&h, prod, unit, n);
		vq_guest_doorbell(&h, prod);
		total += n;
	}
	vq_guest_wait_cons(&h, prod);
	t = now_ns() - t0;
	r->per_unit = n;
	r->mcmds = total / t * 1e3;
	r->units = iters / t * 1e9;

	/* latency: one unit at a time, doorbell to CONS covering its sync */
	wake0 = atomic_load(&h.wakeups);
	for (i = 0; i < iters; i++) {
		n = s->unit(unit, i);
		prod = vq_guest_write(&h, prod, unit, n);
		t0 = now_ns();
		vq_guest_doorbell(&h, prod);
		vq_guest_wait_cons(&h, prod);
		lat[i] = (now_ns() - t0) / 1e3;
	}
	r->wakeups_per_unit = (double)(atomic_load(&h.wakeups) - wake0) / iters;
	qsort(lat, iters, sizeof(*lat), cmp_double);
	r->p50 = lat[iters / 2];
	r->p99 = lat[(size_t)(iters * 0.99)];
	r->p999 = lat[(size_t)(iters * 0.999)];
	r->cmds_per_batch = smmu.batches ? (double)smmu.cmds / smmu.batches : 0;
	ret = h.error;
	if (!ret && (atomic_load(&h.regs.cons) & VCMDQ_CONS_ERR))
		ret = -EPROTO;
	vq_harness_destroy(&h);
	free(lat);
	return ret;
}

int main(int argc, char **argv)
{
	const char *json = "build/bench.json";
	unsigned int iters = 20000, i;
	struct result res[3];
	FILE *f;

	if (argc > 1 && !strcmp(argv[1], "replay"))
		return replay_main(argc - 1, argv + 1);
	for (i = 1; i < (unsigned int)argc; i++) {
		if (!strcmp(argv[i], "--json") && i + 1 < (unsigned int)argc) {
			json = argv[++i];
		} else if (!strcmp(argv[i], "--iters") && i + 1 < (unsigned int)argc) {
			iters = strtoul(argv[++i], NULL, 0);
		} else {
			fprintf(stderr, "usage: %s [--json FILE] [--iters N] | replay FILE\n",
				argv[0]);
			return 2;
		}
	}
	if (iters < 1000) {
		fprintf(stderr, "vcmdq-bench: --iters must be at least 1000\n");
		return 2;
	}

	printf("vcmdq-bench: user-space harness, null SMMU, %u units per stream\n",
	       iters);
	printf("%-18s %-38s %6s %8s %9s %8s %8s %8s %7s %7s\n", "stream", "unit",
	       "cmds", "Mcmd/s", "units/s", "p50 us", "p99 us", "p99.9 us",
	       "wake/u", "cmd/bt");
	for (i = 0; i < 3; i++) {
		int ret = run_stream(&streams[i], iters, &res[i]);

		if (ret) {
			fprintf(stderr, "vcmdq-bench: %s failed: %s\n",
				streams[i].name, strerror(-ret));
			return 1;
		}
		printf("%-18s %-38s %6u %8.2f %9.0f %8.2f %8.2f %8.2f %7.2f %7.1f\n",
		       streams[i].name, streams[i].what, res[i].per_unit,
		       res[i].mcmds, res[i].units, res[i].p50, res[i].p99,
		       res[i].p999, res[i].wakeups_per_unit,
		       res[i].cmds_per_batch);
	}

	f = fopen(json, "w");
	if (!f) {
		fprintf(stderr, "vcmdq-bench: %s: %s\n", json, strerror(errno));
		return 1;
	}
	fprintf(f, "{\n  \"harness\": \"user-space, null SMMU\",\n  \"iters\": %u,\n  \"streams\": [\n",
		iters);
	for (i = 0; i < 3; i++)
		fprintf(f, "    {\"name\": \"%s\", \"cmds_per_unit\": %u, \"mcmds_per_s\": %.3f, \"units_per_s\": %.0f, \"lat_us\": {\"p50\": %.3f, \"p99\": %.3f, \"p999\": %.3f}, \"wakeups_per_unit\": %.3f, \"cmds_per_host_batch\": %.2f}%s\n",
			streams[i].name, res[i].per_unit, res[i].mcmds,
			res[i].units, res[i].p50, res[i].p99, res[i].p999,
			res[i].wakeups_per_unit, res[i].cmds_per_batch,
			i < 2 ? "," : "");
	fprintf(f, "  ]\n}\n");
	fclose(f);
	printf("wrote %s\n", json);
	return 0;
}
