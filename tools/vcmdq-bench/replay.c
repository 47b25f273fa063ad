// SPDX-License-Identifier: GPL-2.0
/*
 * vcmdq-bench replay FILE: run one queue dump through the engine and print
 * exactly what it did. Format: Documentation/replay-format.rst.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/iommu/vcmdq-sw/engine.h"

#define MAX_LOG2SIZE	12

struct replay {
	struct vcmdq_config cfg;
	uint32_t cons, prod, budget;
	struct vcmdq_sidmap map;
	struct vcmdq_sid_slot slots[1 << 10];
	struct vcmdq_cmd q[1 << MAX_LOG2SIZE];
	uint32_t next;		/* where the next "cmd" line goes */
	bool have_prod;
};

static int rp_read(void *priv, uint32_t idx, struct vcmdq_cmd *dst, uint32_t n)
{
	struct replay *r = priv;

	memcpy(dst, &r->q[idx], n * sizeof(*dst));
	return 0;
}

static int rp_issue(void *priv, const struct vcmdq_cmd *cmds, uint32_t n,
		    bool sync)
{
	uint32_t i;

	(void)priv;
	for (i = 0; i < n; i++)
		printf("issue 0x%016llx 0x%016llx %s\n",
		       (unsigned long long)cmds[i].w[0],
		       (unsigned long long)cmds[i].w[1],
		       vcmdq_op_name(vcmdq_cmd_op(&cmds[i])));
	if (sync)
		printf("host-sync\n");
	return 0;
}

static void rp_publish(void *priv, uint32_t cons)
{
	(void)priv;
	printf("cons 0x%x\n", cons);
}

static int rp_complete(void *priv, const struct vcmdq_sync_done *d)
{
	(void)priv;
	if (d->kind == VCMDQ_DONE_MSI)
		printf("sync-done 0x%x msi addr=0x%llx data=0x%x\n", d->index,
		       (unsigned long long)d->addr, d->data);
	else
		printf("sync-done 0x%x %s\n", d->index,
		       d->kind == VCMDQ_DONE_IRQ ? "irq" : "sev");
	return 0;
}

static const char *const cerrors[] = {
	"CERROR_NONE", "CERROR_ILL", "CERROR_ABT", "CERROR_ATC_INV_SYNC",
};

static void rp_stopped(void *priv, const struct vcmdq_stop_info *s)
{
	(void)priv;
	switch (s->status) {
	case VCMDQ_EXIT:
		printf("exit 0x%x 0x%016llx 0x%016llx %s\n", s->index,
		       (unsigned long long)s->cmd.w[0],
		       (unsigned long long)s->cmd.w[1],
		       vcmdq_op_name(vcmdq_cmd_op(&s->cmd)));
		break;
	case VCMDQ_CERROR:
		printf("error 0x%x %s 0x%016llx 0x%016llx %s\n", s->index,
		       cerrors[s->cerror & 3], (unsigned long long)s->cmd.w[0],
		       (unsigned long long)s->cmd.w[1],
		       vcmdq_op_name(vcmdq_cmd_op(&s->cmd)));
		break;
	case VCMDQ_BAD_PROD:
		printf("bad-prod 0x%x\n", s->index);
		break;
	default:
		printf("fault 0x%x %d\n", s->index, s->err);
	}
}

static const struct vcmdq_ops rp_ops = {
	.read = rp_read,
	.issue = rp_issue,
	.publish = rp_publish,
	.complete = rp_complete,
	.stopped = rp_stopped,
};

static int bad(const char *file, unsigned int line, const char *msg)
{
	fprintf(stderr, "%s:%u: %s\n", file, line, msg);
	return -EINVAL;
}

static int parse(struct replay *r, const char *file)
{
	char buf[512], key[32], a[64], b[64], c[64];
	unsigned int line = 0;
	bool have_size = false;
	FILE *f = fopen(file, "r");
	int n;

	if (!f) {
		fprintf(stderr, "%s: %s\n", file, strerror(errno));
		return -errno;
	}
	while (fgets(buf, sizeof(buf), f)) {
		char *hash = strchr(buf, '#');
		unsigned long long x, y, z;

		line++;
		if (hash)
			*hash = 0;
		n = sscanf(buf, "%31s %63s %63s %63s", key, a, b, c);
		if (n <= 0)
			continue;
		x = n > 1 ? strtoull(a, NULL, 0) : 0;
		y = n > 2 ? strtoull(b, NULL, 0) : 0;
		z = n > 3 ? strtoull(c, NULL, 0) : 0;
		if (!strcmp(key, "layout") && n == 2) {
			if (!strcmp(a, "smmuv3"))
				r->cfg.layout = VCMDQ_LAYOUT_SMMUV3;
			else if (!strcmp(a, "tegra241"))
				r->cfg.layout = VCMDQ_LAYOUT_TEGRA241;
			else
				return bad(file, line, "layout is smmuv3 or tegra241");
		} else if (!strcmp(key, "vmid") && n == 2 && x <= 0xffff) {
			r->cfg.vmid = (uint16_t)x;
		} else if (!strcmp(key, "log2size") && n == 2) {
			if (x > MAX_LOG2SIZE)
				return bad(file, line, "log2size above 12 is not supported by replay");
			r->cfg.log2size = (uint32_t)x;
			have_size = true;
		} else if (!strcmp(key, "batch") && n == 2) {
			r->cfg.batch = (uint32_t)x;
		} else if (!strcmp(key, "budget") && n == 2) {
			r->budget = (uint32_t)x;
		} else if (!strcmp(key, "caps")) {
			r->cfg.caps = (strstr(buf, "msi") ? VCMDQ_CAP_MSI : 0) |
				      (strstr(buf, "sev") ? VCMDQ_CAP_SEV : 0);
		} else if (!strcmp(key, "sid") && n == 3) {
			if (vcmdq_sidmap_insert(&r->map, (uint32_t)x, (uint32_t)y))
				return bad(file, line, "duplicate vSID or too many");
		} else if (!strcmp(key, "cons") && n == 2) {
			r->cons = r->next = (uint32_t)x;
		} else if (!strcmp(key, "prod") && n == 2) {
			r->prod = (uint32_t)x;
			r->have_prod = true;
		} else if (!strcmp(key, "cmd") && n == 3) {
			if (!have_size)
				return bad(file, line, "log2size must come before entries");
			r->q[r->next & ((1u << r->cfg.log2size) - 1)] =
				(struct vcmdq_cmd){ { x, y } };
			r->next++;
		} else if (!strcmp(key, "at") && n == 4) {
			if (!have_size)
				return bad(file, line, "log2size must come before entries");
			r->q[x & ((1u << r->cfg.log2size) - 1)] =
				(struct vcmdq_cmd){ { y, z } };
		} else {
			fclose(f);
			return bad(file, line, "unknown or malformed line");
		}
	}
	fclose(f);
	if (!r->have_prod)
		r->prod = r->next & vcmdq_q_ptr_mask(r->cfg.log2size);
	return 0;
}

int replay_main(int argc, char **argv)
{
	static struct replay r;
	static struct vcmdq_engine e;
	enum vcmdq_status st;
	unsigned int exits = 0;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: vcmdq-bench replay FILE\n");
		return 2;
	}
	r.cfg.batch = VCMDQ_BATCH_MAX;
	r.budget = ~0u;
	vcmdq_sidmap_init(&r.map, r.slots, 10);
	if (parse(&r, argv[1]))
		return 2;
	ret = vcmdq_engine_init(&e, &r.cfg, &rp_ops, &r, &r.map);
	if (ret) {
		fprintf(stderr, "%s: bad queue parameters (log2size, batch 1..64)\n",
			argv[1]);
		return 2;
	}
	vcmdq_reset(&e, r.cons);
	/* exits are shown and answered, so the rest of the dump runs too */
	for (;;) {
		st = vcmdq_process(&e, r.prod, r.budget);
		if (st == VCMDQ_EXIT && exits++ < (1u << r.cfg.log2size)) {
			vcmdq_exit_done(&e, VCMDQ_CERROR_NONE);
			continue;
		}
		if (st != VCMDQ_MORE)
			break;
	}
	printf("final cons=0x%x err=%s status=%s\n", e.cons,
	       cerrors[e.cerror & 3], vcmdq_status_name(st));
	return 0;
}
