// SPDX-License-Identifier: GPL-2.0
/*
 * cmdqv_test: what the L2 guest of the real-guest rig checks of the tegra241
 * CMDQV its VMM offers (ACPI NVDA200C, backed by vcmdq-sw queues), from
 * inside the guest, beside the guest's own driver
 * (drivers/iommu/arm/arm-smmu-v3/tegra241-cmdqv.c). One action per load:
 *
 *   action=status   the CMDQV and VINTF0 are enabled, VINTF0 is not
 *                   hypervisor-owned, and every logical VCMDQ of VINTF0 is
 *                   allocated to it and enabled with a queue base
 *   action=inject lidx=L
 *                   an illegal command (CFGI_STE) and a CMD_SYNC on LVCMDQ
 *                   L, one the driver does not use: the queue must stop at
 *                   it, the driver's error path (its CMDQV interrupt,
 *                   __arm_smmu_cmdq_skip_err) must turn it into a CMD_SYNC
 *                   and acknowledge it, and the queue must go on, then run
 *                   a further TLBI_NH_ASID + CMD_SYNC without an error
 *
 * Every line it prints starts with "cmdqv_test: ", the first of each load
 * "cmdqv_test: action=". Loading returns 0 if the checks passed (unload it
 * before the next action), or a negative errno:
 * -ENODEV without an NVDA200C platform device, -EINVAL for a bad
 * parameter, -EBUSY for an LVCMDQ the driver may use or that is not idle,
 * -EIO for a failed check, -ETIMEDOUT if the queue did not get past the
 * commands within 10 s.
 *
 * Test only: it writes to a queue the guest's driver owns, which is safe
 * only because that driver never issues on it (it picks the LVCMDQ of
 * smp_processor_id() % N).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/acpi.h>
#include <linux/bitfield.h>
#include <linux/cpumask.h>
#include <linux/io.h>
#include <linux/iopoll.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/string.h>

/* The CMDQV's global registers */
#define CMDQV_CONFIG			0x0
#define  CMDQV_EN			BIT(0)
#define CMDQV_PARAM			0x4
#define  CMDQV_PARAM_SIDS_LOG2		GENMASK(15, 12)
#define  CMDQV_PARAM_VINTFS_LOG2	GENMASK(11, 8)
#define  CMDQV_PARAM_VCMDQS_LOG2	GENMASK(7, 4)
#define  CMDQV_PARAM_VER		GENMASK(3, 0)
#define CMDQV_STATUS			0x8
#define  CMDQV_ENABLED			BIT(0)
#define CMDQV_VINTF_ERR_MAP		0x14
#define CMDQV_VINTF_INT_MASK		0x1c
#define CMDQV_CMDQ_ERR_MAP(m)		(0x24 + 4 * (m))
#define CMDQV_CMDQ_ALLOC(q)		(0x200 + 4 * (q))
#define  CMDQ_ALLOC_VINTF		GENMASK(20, 15)
#define  CMDQ_ALLOC_LVCMDQ		GENMASK(7, 1)
#define  CMDQ_ALLOCATED			BIT(0)

/* VINTF0 */
#define VINTF0				0x1000
#define VINTF_CONFIG			0x0
#define  VINTF_HYP_OWN			BIT(17)
#define  VINTF_VMID			GENMASK(16, 1)
#define  VINTF_EN			BIT(0)
#define VINTF_STATUS			0x4
#define  VINTF_ENABLED			BIT(0)
#define VINTF_LVCMDQ_ERR_MAP_64(m)	(0xc0 + 8 * (m))

/* VINTF0's logical VCMDQs: page 0 and page 1 blocks of 0x80 bytes */
#define LVCMDQ_PAGE0(q)			(0x30000 + 0x80 * (q))
#define LVCMDQ_PAGE1(q)			(0x40000 + 0x80 * (q))
#define CMDQV_MIN_SIZE			0x50000
#define LVCMDQ_CONS			0x0
#define  LVCMDQ_CONS_ERR		GENMASK(30, 24)
#define LVCMDQ_PROD			0x4
#define LVCMDQ_CONFIG			0x8
#define  LVCMDQ_EN			BIT(0)
#define LVCMDQ_STATUS			0xc
#define  LVCMDQ_ENABLED			BIT(0)
#define LVCMDQ_GERROR			0x10
#define LVCMDQ_GERRORN			0x14
#define  LVCMDQ_GERROR_CMDQ_ERR		BIT(0)
#define LVCMDQ_BASE			0x0
#define  LVCMDQ_BASE_ADDR		GENMASK_ULL(47, 5)
#define  LVCMDQ_BASE_LOG2SIZE		GENMASK_ULL(4, 0)
#define LVCMDQ_CONS_INDX_BASE		0x8
/* The largest queue the SMMUv3 architecture allows (CMDQS) */
#define LVCMDQ_MAX_LOG2SIZE		19

/* Commands, from the SMMUv3 architecture */
#define CMD_OP				GENMASK_ULL(7, 0)
#define CMD_OP_CFGI_STE			0x03
#define CMD_OP_TLBI_NH_ASID		0x11
#define CMD_OP_SYNC			0x46
#define CMD_SID				GENMASK_ULL(63, 32)
#define CMD_ASID			GENMASK_ULL(63, 48)
#define CMD_VMID			GENMASK_ULL(47, 32)
#define CMD_SYNC_CS			GENMASK_ULL(13, 12)
#define CMD_SYNC_CS_NONE		0
#define CMD_CFGI_LEAF			BIT_ULL(0)
/* An ASID no guest mapping uses */
#define CMDQV_TEST_ASID			0xfffe

#define CMDQV_TEST_POLL_US		1000
#define CMDQV_TEST_TIMEOUT_US		(10 * USEC_PER_SEC)

static char *action = "status";
module_param(action, charp, 0444);
MODULE_PARM_DESC(action, "status or inject");

static int lidx = -1;
module_param(lidx, int, 0444);
MODULE_PARM_DESC(lidx, "inject: the logical VCMDQ of VINTF0 to use");

/**
 * struct cmdqv_test - the CMDQV under test
 * @dev: its platform device (a reference)
 * @base: its registers
 * @size: their size
 * @n: the logical VCMDQs of each VINTF, so VINTF0's
 */
struct cmdqv_test {
	struct device *dev;
	void __iomem *base;
	resource_size_t size;
	unsigned int n;
};

static u32 cmdqv_test_rd(struct cmdqv_test *t, u32 off)
{
	return readl(t->base + off);
}

static u32 cmdqv_test_q_rd(struct cmdqv_test *t, unsigned int q, u32 off)
{
	return readl(t->base + LVCMDQ_PAGE0(q) + off);
}

static u64 cmdqv_test_q_base(struct cmdqv_test *t, unsigned int q)
{
	return readq(t->base + LVCMDQ_PAGE1(q) + LVCMDQ_BASE);
}

/* The platform device of the first NVDA200C, as arm-smmu-v3 finds it */
static struct device *cmdqv_test_find(void)
{
	struct acpi_device *adev;
	struct device *dev;

	adev = acpi_dev_get_first_match_dev("NVDA200C", NULL, -1);
	if (!adev)
		return NULL;
	dev = get_device(acpi_get_first_physical_node(adev));
	acpi_dev_put(adev);
	if (dev && !dev_is_platform(dev)) {
		put_device(dev);
		return NULL;
	}
	return dev;
}

/* The status action; also the checks inject makes first. */
static int cmdqv_test_status(struct cmdqv_test *t, bool print)
{
	u32 config = cmdqv_test_rd(t, CMDQV_CONFIG);
	u32 param = cmdqv_test_rd(t, CMDQV_PARAM);
	u32 status = cmdqv_test_rd(t, CMDQV_STATUS);
	u32 vconfig = cmdqv_test_rd(t, VINTF0 + VINTF_CONFIG);
	u32 vstatus = cmdqv_test_rd(t, VINTF0 + VINTF_STATUS);
	unsigned int nvcmdqs = 1U << FIELD_GET(CMDQV_PARAM_VCMDQS_LOG2, param);
	unsigned int nvintfs = 1U << FIELD_GET(CMDQV_PARAM_VINTFS_LOG2, param);
	unsigned int q, bad = 0;

	t->n = nvcmdqs / nvintfs;
	if (print) {
		pr_info("CMDQV CONFIG 0x%08x STATUS 0x%08x PARAM 0x%08x: version %lu, %u VINTFs, %u VCMDQs, %u SIDs per VM\n",
			config, status, param,
			FIELD_GET(CMDQV_PARAM_VER, param), nvintfs, nvcmdqs,
			1U << FIELD_GET(CMDQV_PARAM_SIDS_LOG2, param));
		pr_info("VINTF0 CONFIG 0x%08x (EN %lu, VMID %lu, HYP_OWN %lu) STATUS 0x%08x\n",
			vconfig, FIELD_GET(VINTF_EN, vconfig),
			FIELD_GET(VINTF_VMID, vconfig),
			FIELD_GET(VINTF_HYP_OWN, vconfig), vstatus);
	}
	if (!(config & CMDQV_EN) || !(status & CMDQV_ENABLED)) {
		pr_err("the CMDQV is not enabled\n");
		bad++;
	}
	if (!(vconfig & VINTF_EN) || !(vstatus & VINTF_ENABLED)) {
		pr_err("VINTF0 is not enabled\n");
		bad++;
	}
	if (vconfig & VINTF_HYP_OWN) {
		pr_err("VINTF0 reads HYP_OWN: the guest may send it any command\n");
		bad++;
	}
	if (!t->n || t->n > 128) {
		pr_err("%u VCMDQs over %u VINTFs: no LVCMDQ for VINTF0\n",
		       nvcmdqs, nvintfs);
		return -EIO;
	}

	for (q = 0; q < t->n; q++) {
		u32 alloc = cmdqv_test_rd(t, CMDQV_CMDQ_ALLOC(q));
		u32 qconfig = cmdqv_test_q_rd(t, q, LVCMDQ_CONFIG);
		u32 qstatus = cmdqv_test_q_rd(t, q, LVCMDQ_STATUS);
		u64 base = cmdqv_test_q_base(t, q);

		if (print)
			pr_info("LVCMDQ %u: ALLOC 0x%08x CONFIG 0x%08x STATUS 0x%08x BASE 0x%016llx CONS 0x%08x PROD 0x%08x GERROR 0x%08x GERRORN 0x%08x\n",
				q, alloc, qconfig, qstatus, base,
				cmdqv_test_q_rd(t, q, LVCMDQ_CONS),
				cmdqv_test_q_rd(t, q, LVCMDQ_PROD),
				cmdqv_test_q_rd(t, q, LVCMDQ_GERROR),
				cmdqv_test_q_rd(t, q, LVCMDQ_GERRORN));
		/* VINTF0's queues come first: VCMDQ q is its LVCMDQ q */
		if (!(alloc & CMDQ_ALLOCATED) ||
		    FIELD_GET(CMDQ_ALLOC_VINTF, alloc) != 0 ||
		    FIELD_GET(CMDQ_ALLOC_LVCMDQ, alloc) != q) {
			pr_err("LVCMDQ %u: VCMDQ %u is not allocated to it (ALLOC 0x%08x)\n",
			       q, q, alloc);
			bad++;
		}
		if (!(qconfig & LVCMDQ_EN) || !(qstatus & LVCMDQ_ENABLED)) {
			pr_err("LVCMDQ %u is not enabled\n", q);
			bad++;
		}
		if (!FIELD_GET(LVCMDQ_BASE_ADDR, base)) {
			pr_err("LVCMDQ %u has no queue base\n", q);
			bad++;
		}
	}
	if (print)
		pr_info("status %s: N=%u LVCMDQs on VINTF0, %u problems\n",
			bad ? "failed" : "ok", t->n, bad);
	return bad ? -EIO : 0;
}

/* Poll LVCMDQ @q until CONS reaches @prod with no error; CONS in @cons */
static int cmdqv_test_wait(struct cmdqv_test *t, unsigned int q, u32 prod,
			   u32 ptr_mask, u32 *cons)
{
	return readl_poll_timeout(t->base + LVCMDQ_PAGE0(q) + LVCMDQ_CONS,
				  *cons, (*cons & ptr_mask) == prod &&
				  !FIELD_GET(LVCMDQ_CONS_ERR, *cons),
				  CMDQV_TEST_POLL_US, CMDQV_TEST_TIMEOUT_US);
}

/* Write @w0, @w1 at entry @prod of the queue @ents, return the next PROD */
static u32 cmdqv_test_put(u64 *ents, u32 prod, u32 ptr_mask, u32 idx_mask,
			  u64 w0, u64 w1)
{
	u64 *e = ents + 2 * (prod & idx_mask);

	WRITE_ONCE(e[0], cpu_to_le64(w0));
	WRITE_ONCE(e[1], cpu_to_le64(w1));
	return (prod + 1) & ptr_mask;
}

static u8 cmdqv_test_op(const u64 *ents, u32 ptr, u32 idx_mask)
{
	return FIELD_GET(CMD_OP, le64_to_cpu(READ_ONCE(ents[2 * (ptr & idx_mask)])));
}

static void cmdqv_test_print_errs(struct cmdqv_test *t, const char *when)
{
	pr_info("%s: VINTF_ERR_MAP 0x%08x%08x CMDQ_ERR_MAP0 0x%08x VINTF0 LVCMDQ_ERR_MAP0 0x%016llx VINTF_INT_MASK 0x%08x\n",
		when, cmdqv_test_rd(t, CMDQV_VINTF_ERR_MAP + 4),
		cmdqv_test_rd(t, CMDQV_VINTF_ERR_MAP),
		cmdqv_test_rd(t, CMDQV_CMDQ_ERR_MAP(0)),
		readq(t->base + VINTF0 + VINTF_LVCMDQ_ERR_MAP_64(0)),
		cmdqv_test_rd(t, CMDQV_VINTF_INT_MASK));
}

static int cmdqv_test_inject(struct cmdqv_test *t, unsigned int q)
{
	const u64 sync = FIELD_PREP(CMD_OP, CMD_OP_SYNC) |
			 FIELD_PREP(CMD_SYNC_CS, CMD_SYNC_CS_NONE);
	u32 prod, cons, gerror, gerrorn, gerror0, ptr_mask, idx_mask;
	u32 bad_ptr, next;
	unsigned int log2size, cpu, bad = 0;
	u8 op_before, op_after;
	u64 base, addr, *ents;
	int ret;

	ret = cmdqv_test_status(t, false);
	if (ret) {
		pr_err("inject: the status checks fail (load with action=status)\n");
		return ret;
	}
	if (q >= t->n) {
		pr_err("inject: lidx=%u, VINTF0 has LVCMDQs 0..%u\n", q, t->n - 1);
		return -EINVAL;
	}
	for_each_possible_cpu(cpu) {
		if (cpu % t->n == q) {
			pr_err("inject: CPU %u's commands go to LVCMDQ %u\n",
			       cpu, q);
			return -EBUSY;
		}
	}

	base = cmdqv_test_q_base(t, q);
	log2size = FIELD_GET(LVCMDQ_BASE_LOG2SIZE, base);
	if (log2size > LVCMDQ_MAX_LOG2SIZE) {
		pr_err("inject: LVCMDQ %u: BASE 0x%016llx, log2size %u\n",
		       q, base, log2size);
		return -EIO;
	}
	idx_mask = (1U << log2size) - 1;
	ptr_mask = (2U << log2size) - 1;
	prod = cmdqv_test_q_rd(t, q, LVCMDQ_PROD);
	cons = cmdqv_test_q_rd(t, q, LVCMDQ_CONS);
	gerror = cmdqv_test_q_rd(t, q, LVCMDQ_GERROR);
	gerrorn = cmdqv_test_q_rd(t, q, LVCMDQ_GERRORN);
	pr_info("inject: LVCMDQ %u: BASE 0x%016llx (%u entries) CONS 0x%08x PROD 0x%08x GERROR 0x%08x GERRORN 0x%08x\n",
		q, base, 1U << log2size, cons, prod, gerror, gerrorn);
	if ((prod & ~ptr_mask) || (cons & ptr_mask) != prod ||
	    FIELD_GET(LVCMDQ_CONS_ERR, cons) || gerror != gerrorn) {
		pr_err("inject: LVCMDQ %u is not idle and error-free\n", q);
		return -EBUSY;
	}
	gerror0 = gerror;

	/* The queue is guest RAM, and the vSMMU is coherent */
	addr = base & LVCMDQ_BASE_ADDR;
	ents = memremap(addr, 16UL << log2size, MEMREMAP_WB);
	if (!ents) {
		pr_err("inject: cannot map the queue at 0x%llx\n", addr);
		return -EIO;
	}

	/* An illegal command for a guest VCMDQ, then a CMD_SYNC */
	bad_ptr = prod;
	next = cmdqv_test_put(ents, prod, ptr_mask, idx_mask,
			      FIELD_PREP(CMD_OP, CMD_OP_CFGI_STE) |
			      FIELD_PREP(CMD_SID, 0), CMD_CFGI_LEAF);
	next = cmdqv_test_put(ents, next, ptr_mask, idx_mask, sync, 0);
	op_before = cmdqv_test_op(ents, bad_ptr, idx_mask);
	wmb();	/* the entries before the PROD that publishes them */
	writel_relaxed(next, t->base + LVCMDQ_PAGE0(q) + LVCMDQ_PROD);
	ret = cmdqv_test_wait(t, q, next, ptr_mask, &cons);
	op_after = cmdqv_test_op(ents, bad_ptr, idx_mask);
	gerror = cmdqv_test_q_rd(t, q, LVCMDQ_GERROR);
	gerrorn = cmdqv_test_q_rd(t, q, LVCMDQ_GERRORN);
	pr_info("inject: CFGI_STE at 0x%x, CMD_SYNC after it, PROD 0x%x: CONS 0x%08x%s; slot opcode 0x%02x before, 0x%02x after; GERROR 0x%08x GERRORN 0x%08x\n",
		bad_ptr, next, cons, ret ? " (timed out)" : "", op_before,
		op_after, gerror, gerrorn);
	cmdqv_test_print_errs(t, "inject: after the error");
	if (ret) {
		pr_err("inject: CONS did not reach PROD 0x%x without an error in 10 s\n",
		       next);
		goto out;
	}
	if (op_after != CMD_OP_SYNC) {
		pr_err("inject: the bad entry is still opcode 0x%02x: the driver's error path did not run\n",
		       op_after);
		bad++;
	}
	if (gerror != gerrorn) {
		pr_err("inject: GERROR 0x%08x unacknowledged (GERRORN 0x%08x)\n",
		       gerror, gerrorn);
		bad++;
	}
	if (!((gerror ^ gerror0) & LVCMDQ_GERROR_CMDQ_ERR)) {
		pr_err("inject: GERROR.CMDQ_ERR did not toggle: no error was signalled\n");
		bad++;
	}

	/* The queue goes on: an invalidation no mapping needs, a CMD_SYNC */
	prod = next;
	next = cmdqv_test_put(ents, prod, ptr_mask, idx_mask,
			      FIELD_PREP(CMD_OP, CMD_OP_TLBI_NH_ASID) |
			      FIELD_PREP(CMD_ASID, CMDQV_TEST_ASID) |
			      FIELD_PREP(CMD_VMID, 0), 0);
	next = cmdqv_test_put(ents, next, ptr_mask, idx_mask, sync, 0);
	wmb();	/* as above */
	writel_relaxed(next, t->base + LVCMDQ_PAGE0(q) + LVCMDQ_PROD);
	ret = cmdqv_test_wait(t, q, next, ptr_mask, &cons);
	pr_info("inject: TLBI_NH_ASID 0x%x + CMD_SYNC, PROD 0x%x: CONS 0x%08x%s, GERROR 0x%08x GERRORN 0x%08x\n",
		CMDQV_TEST_ASID, next, cons, ret ? " (timed out)" : "",
		cmdqv_test_q_rd(t, q, LVCMDQ_GERROR),
		cmdqv_test_q_rd(t, q, LVCMDQ_GERRORN));
	if (ret)
		pr_err("inject: the queue did not go on after the error\n");
out:
	memunmap(ents);
	if (!ret && bad)
		ret = -EIO;
	pr_info("inject %s: LVCMDQ %u, error path %s, queue %s\n",
		ret ? "failed" : "ok", q,
		op_after == CMD_OP_SYNC ? "ran" : "did not run",
		ret == -ETIMEDOUT ? "stuck" : "went on");
	return ret;
}

static int __init cmdqv_test_init(void)
{
	struct cmdqv_test t = {};
	struct resource *res;
	int ret;

	/*
	 * The first line of each load: busybox's insmod loads the module a
	 * second time (init_module() after finit_module()) when it fails
	 */
	pr_info("action=%s lidx=%d\n", action, lidx);
	if (strcmp(action, "status") && strcmp(action, "inject")) {
		pr_err("action=%s: status or inject\n", action);
		return -EINVAL;
	}
	if (!strcmp(action, "inject") && lidx < 0) {
		pr_err("action=inject needs lidx=\n");
		return -EINVAL;
	}

	t.dev = cmdqv_test_find();
	if (!t.dev) {
		pr_err("%s: no NVDA200C platform device (no tegra241 CMDQV in ACPI)\n",
		       action);
		return -ENODEV;
	}
	res = platform_get_resource(to_platform_device(t.dev), IORESOURCE_MEM,
				    0);
	if (!res || resource_size(res) < CMDQV_MIN_SIZE) {
		pr_err("%s: %s: no MMIO resource of at least 0x%x bytes\n",
		       action, dev_name(t.dev), CMDQV_MIN_SIZE);
		ret = -ENODEV;
		goto put;
	}
	t.size = resource_size(res);
	t.base = ioremap(res->start, t.size);
	if (!t.base) {
		ret = -ENOMEM;
		goto put;
	}
	pr_info("%s: %s at %pR\n", action, dev_name(t.dev), res);

	if (!strcmp(action, "status"))
		ret = cmdqv_test_status(&t, true);
	else
		ret = cmdqv_test_inject(&t, lidx);

	iounmap(t.base);
put:
	put_device(t.dev);
	return ret;
}

static void __exit cmdqv_test_exit(void)
{
}

module_init(cmdqv_test_init);
module_exit(cmdqv_test_exit);
MODULE_DESCRIPTION("Checks of a tegra241 CMDQV from its guest, for the vcmdq-sw rig");
MODULE_LICENSE("GPL");
