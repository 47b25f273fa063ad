// SPDX-License-Identifier: GPL-2.0
/*
 * The vcmdq-sw fast path end to end: an L2 guest posts invalidation
 * streams the way the Linux SMMUv3 driver does, the kernel worker runs
 * them on the emulated SMMUv3, the reference VMM (vmm.c) only answers
 * what the fast path leaves to it. The same streams also run through the
 * trap path of today's VMMs, and one test compares the two.
 *
 * What the SMMU executed is checked on the host against QEMU's trace (see
 * tests/iommufd and scripts/trace-check.py): "# trace-expect", "#
 * trace-forbid" and "# trace-order" lines. The guest always writes VMID
 * 0x77 (119) and vSID 0x42; the SMMU must only ever see the vIOMMU's VMID
 * and the device's SID 0x8. Each test uses its own ASIDs (decimal in the
 * trace) so expectations cannot match another test's commands.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/iommufd.h>

#include "kselftest_harness.h"
#include "vmm.h"

#define VMID_RE		"vmid=(?P<vmid>\\d+)"

static void forbid_guest_ids(void)
{
	printf("# trace-forbid guest-vmid: vmid=119\\b\n");
	printf("# trace-forbid guest-vsid: sid=0x42\\b\n");
}

static int destroy(int iommufd, uint32_t id)
{
	struct iommu_destroy d = { .size = sizeof(d), .id = id };

	return ioctl(iommufd, IOMMU_DESTROY, &d) ? -errno : 0;
}

static uint8_t op_of(uint64_t w0)
{
	return w0 & 0xff;
}

/* Guest finished every batch without a fatal error. */
#define ASSERT_GUEST_OK(v, n) do {					\
	ASSERT_EQ(0ULL, vmm_result(v, 0))					\
		TH_LOG("guest stopped on CONS.ERR %llu",		\
		       (unsigned long long)vmm_result(v, 0) & 0xff);	\
	ASSERT_EQ((uint64_t)(n), vmm_result(v, 2));			\
} while (0)

TEST(streams)
{
	struct vmm_batch b[4] = {};
	struct vcmdq_sw_stats st;
	struct vmm v;
	int i;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	for (i = 0; i < 8; i++)
		batch_add(&b[0], cmd_tlbi_nh_va(0x701, 0x40000000 + i * 0x1000));
	batch_sync(&b[0], false);
	batch_add(&b[1], cmd_tlbi_nh_asid(0x702));
	batch_sync(&b[1], true);
	batch_add(&b[2], cmd_atc_inv(VSID, 0));
	batch_add(&b[2], cmd_cfgi_cd(VSID));
	batch_sync(&b[2], false);
	for (i = 0; i < 4; i++)
		batch_add(&b[3], cmd_tlbi_nh_va(0x703, 0x50000000 + i * 0x1000));
	batch_sync(&b[3], true);
	ASSERT_EQ(0, vmm_load(&v, b, 4, 4));
	ASSERT_EQ(0, vmm_run(&v, 20));

	ASSERT_GUEST_OK(&v, 4);
	EXPECT_EQ(0ULL, v.kvm_exits);
	ASSERT_EQ(0, vmm_stats(&v, &st));
	EXPECT_EQ(4ULL, st.doorbells);
	EXPECT_EQ(19ULL, st.cmds);
	EXPECT_EQ(4ULL, st.guest_syncs);
	EXPECT_EQ(15ULL, st.host_cmds);
	EXPECT_EQ(0ULL, st.exits);
	EXPECT_EQ(0ULL, st.errors);
	EXPECT_EQ(0ULL, st.faults);
	EXPECT_EQ(8ULL, st.max_batch);	/* the TLBI_NH_VA run; + host sync */
	EXPECT_EQ(19ULL, vmm_reg(&v, v.cons_off));
	printf("# streams: %llu doorbells, %llu wakes, %llu cmds, %llu host batches (%llu with sync), max batch %u\n",
	       (unsigned long long)st.doorbells, (unsigned long long)st.wakes,
	       (unsigned long long)st.cmds, (unsigned long long)st.batches,
	       (unsigned long long)st.host_syncs, st.max_batch);

	printf("# trace-expect fast-va: smmuv3_range_inval " VMID_RE " asid=1793 addr=0x40007000\n");
	printf("# trace-expect fast-asid: invalidate asid=1794 " VMID_RE "\n");
	printf("# trace-expect fast-cfgi-cd: smmuv3_cmdq_cfgi_cd sid=0x8\\b\n");
	printf("# trace-expect fast-va-msi: smmuv3_range_inval " VMID_RE " asid=1795 addr=0x50003000\n");
	forbid_guest_ids();
	vmm_teardown(&v);
}

/*
 * The VMM runs CFGI_STE itself: here, a marker TLBI through the trap path;
 * the fast path gets its answer on the event file.
 */
static void exit_handler(struct vmm *v, const struct vcmdq_sw_event *ev)
{
	struct vmm_cmd marker = cmd_tlbi_nh_asid(v->marker_asid);
	uint32_t done, cerror = 0;
	int ret;

	if (vmm_invalidate(v, &marker, 1, &done))
		cerror = 1;
	if (v->mode != VMM_FAST)
		return;
	ret = vmm_respond(v, ev->index, cerror);
	if (ret)
		fprintf(stderr, "# answering the EXIT: %s\n", strerror(-ret));
}

static void run_exit_in_order(struct __test_metadata *_metadata,
			      enum vmm_mode mode, uint16_t asid)
{
	struct vmm_batch b = {};
	struct vcmdq_sw_stats st;
	struct vmm v;

	ASSERT_EQ(0, vmm_setup(&v, mode, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	v.on_exit = exit_handler;
	v.marker_asid = asid + 1;
	if (mode == VMM_FAST) {
		ASSERT_EQ(0, vmm_alloc_queue(&v));
		ASSERT_EQ(0, vmm_start_events(&v));
	}
	batch_add(&b, cmd_tlbi_nh_asid(asid));
	batch_add(&b, cmd_cfgi_ste(VSID));
	batch_add(&b, cmd_tlbi_nh_asid(asid + 2));
	batch_sync(&b, false);
	ASSERT_EQ(0, vmm_load(&v, &b, 1, 1));
	ASSERT_EQ(0, vmm_run(&v, 20));
	ASSERT_GUEST_OK(&v, 1);
	if (mode == VMM_FAST) {
		vmm_stop_events(&v);
		EXPECT_EQ(0, v.events_error);
		EXPECT_EQ(0ULL, v.kvm_exits);
		ASSERT_EQ(1ULL, v.nr_exit_events);
		EXPECT_EQ(1ULL, v.exit_index[0]);
		EXPECT_EQ(1ULL, v.cons_at_exit[0])
			TH_LOG("CONS was 0x%x when the VMM got the exit",
			       v.cons_at_exit[0]);
		EXPECT_EQ(OP_CFGI_STE, op_of(v.exit_cmd[0][0]));
		EXPECT_EQ((uint64_t)VSID, v.exit_cmd[0][0] >> 32);
		ASSERT_EQ(0, vmm_stats(&v, &st));
		EXPECT_EQ(1ULL, st.exits);
		EXPECT_EQ(4ULL, st.cmds);
	}
	printf("# trace-order %s-exit-order: invalidate asid=%u\\b => invalidate asid=%u\\b => invalidate asid=%u\\b\n",
	       mode == VMM_FAST ? "fast" : "trap", asid, asid + 1, asid + 2);
	vmm_teardown(&v);
}

TEST(exit_in_order)
{
	run_exit_in_order(_metadata, VMM_FAST, 0x711);
}

TEST(trap_exit_in_order)
{
	run_exit_in_order(_metadata, VMM_TRAP, 0x741);
}

/*
 * A stream with an illegal command in the middle, on a fresh queue: the
 * guest sees CERROR_ILL at it, replaces it with a CMD_SYNC and
 * acknowledges GERROR.CMDQ_ERR, as the SMMUv3 driver does; the queue goes
 * on and the stream completes by its MSI. No exit to the VMM.
 */
static void run_illegal_recovers(struct __test_metadata *_metadata,
				 struct vmm *v, uint16_t asid)
{
	struct vmm_batch b = {};
	struct vcmdq_sw_stats st;
	uint64_t n = 0;

	batch_add(&b, cmd_tlbi_nh_asid(asid));
	batch_add(&b, cmd_tlbi_s2_ipa(0x80000000));
	batch_add(&b, cmd_tlbi_nh_asid(asid + 1));
	batch_sync(&b, true);
	ASSERT_EQ(0, vmm_load(v, &b, 1, 1));
	ASSERT_EQ(0, vmm_run(v, 20));
	ASSERT_GUEST_OK(v, 1);
	EXPECT_EQ(0x101ULL, vmm_result(v, 1))
		TH_LOG("guest saw 0x%llx (errors << 8 | CONS.ERR)",
		       (unsigned long long)vmm_result(v, 1));
	EXPECT_EQ(0ULL, v->kvm_exits);
	ASSERT_EQ(0, vmm_stats(v, &st));
	EXPECT_EQ(1ULL, st.errors);
	EXPECT_EQ(1ULL, vmm_reg(v, v->gerror_off) & 1);
	EXPECT_EQ(1ULL, vmm_reg(v, v->gerrorn_off) & 1);
	EXPECT_EQ(8, read(v->gerror_efd, &n, 8));
	EXPECT_EQ(1ULL, n);
}

TEST(illegal_command_recovers)
{
	struct vmm v;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	run_illegal_recovers(_metadata, &v, 0x721);
	printf("# trace-expect ill-before: invalidate asid=1825 " VMID_RE "\n");
	printf("# trace-expect ill-after: invalidate asid=1826 " VMID_RE "\n");
	printf("# trace-forbid ill-s2: smmuv3_range_inval .*addr=0x80000000 .*stage=2\n");
	forbid_guest_ids();
	vmm_teardown(&v);
}

TEST(vcmdq_layout_refuses_non_invalidations)
{
	struct vmm_batch b = {};
	struct vcmdq_sw_stats st;
	struct vmm v;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_TEGRA241, 8));
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	batch_add(&b, cmd_tlbi_nh_asid(0x731));
	batch_add(&b, cmd_cfgi_cd(VSID));
	batch_add(&b, cmd_tlbi_nh_all());
	batch_add(&b, cmd_cfgi_ste(VSID));
	batch_add(&b, cmd_tlbi_nh_va(0x732, 0x60000000));
	batch_sync(&b, false);
	ASSERT_EQ(0, vmm_load(&v, &b, 1, 1));
	ASSERT_EQ(0, vmm_run(&v, 20));
	ASSERT_GUEST_OK(&v, 1);
	EXPECT_EQ(0x301ULL, vmm_result(&v, 1));
	ASSERT_EQ(0, vmm_stats(&v, &st));
	EXPECT_EQ(3ULL, st.errors);
	EXPECT_EQ(0ULL, st.exits);
	EXPECT_EQ(2ULL, st.host_cmds);
	printf("# trace-expect vcmdq-asid: invalidate asid=1841 " VMID_RE "\n");
	printf("# trace-expect vcmdq-va: smmuv3_range_inval " VMID_RE " asid=1842 addr=0x60000000\n");
	vmm_teardown(&v);
}

/*
 * A queue allocated on a guest that already used its CMDQ (the fallback
 * on a migration destination): the queue starts at the CONS and PROD the
 * VMM passes in the alloc, wrap bit included, and they are in the register
 * page the guest reads.
 */
TEST(takes_over_at_cons)
{
	struct iommu_hw_queue_arm_smmuv3_cmdq_sw d;
	struct vmm_batch b = {};
	struct vmm v;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	vmm_fill_alloc(&v, &d);
	d.cons = 0x1fe;			/* wrap, index 254 */
	d.prod = 0x1fe;
	ASSERT_EQ(0, vmm_alloc_queue_data(&v, &d, 0));
	EXPECT_EQ(0x1feU, vmm_reg(&v, v.cons_off));
	EXPECT_EQ(0x1feU, vmm_reg(&v, v.prod_off));
	batch_add(&b, cmd_tlbi_nh_asid(0x7b1));
	batch_add(&b, cmd_tlbi_nh_asid(0x7b2));
	batch_sync(&b, true);
	ASSERT_EQ(0, vmm_load(&v, &b, 1, 1));
	ASSERT_EQ(0, vmm_run(&v, 20));
	ASSERT_GUEST_OK(&v, 1);
	/* three entries from 0x1fe: 0x1fe, 0x1ff, then index 0 without wrap */
	EXPECT_EQ(0x001U, vmm_reg(&v, v.cons_off));
	printf("# trace-expect takeover: invalidate asid=1970 " VMID_RE "\n");
	vmm_teardown(&v);
}

/*
 * The MSI write of a CMD_SYNC goes through KVM, so migration's dirty log
 * sees it: a page the guest never writes is dirty after it, and holds
 * MSIDATA.
 */
TEST(msi_write_is_dirty_logged)
{
	const uint64_t flag = RAM_SIZE - 0x1000;	/* never written by the guest */
	uint64_t bitmap[RAM_SIZE / 4096 / 64] = {};
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bitmap };
	struct kvm_userspace_memory_region r = {
		.slot = 0, .flags = KVM_MEM_LOG_DIRTY_PAGES,
		.memory_size = RAM_SIZE,
	};
	struct vmm_batch b = {};
	struct vmm_cmd sync = cmd_sync();
	uint32_t data;
	struct vmm v;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	r.userspace_addr = (uintptr_t)v.ram;
	ASSERT_EQ(0, ioctl(v.vm.vm_fd, KVM_SET_USER_MEMORY_REGION, &r));
	ASSERT_EQ(0, ioctl(v.vm.vm_fd, KVM_GET_DIRTY_LOG, &log));	/* clean */

	batch_add(&b, cmd_tlbi_nh_asid(0x7a1));
	/* CS=IRQ, MSIDATA 0x5a5a, MSIADDR = the flag page */
	sync.w[0] |= 1ULL << 12 | 3ULL << 22 | 0xfULL << 24 | 0x5a5aULL << 32;
	sync.w[1] = flag;
	batch_add(&b, sync);
	ASSERT_EQ(0, vmm_load(&v, &b, 1, 1));
	ASSERT_EQ(0, vmm_run(&v, 20));
	ASSERT_GUEST_OK(&v, 1);

	memcpy(&data, v.ram + flag, 4);
	EXPECT_EQ(0x5a5aU, data);
	memset(bitmap, 0, sizeof(bitmap));
	ASSERT_EQ(0, ioctl(v.vm.vm_fd, KVM_GET_DIRTY_LOG, &log));
	EXPECT_TRUE((int)(bitmap[flag / 4096 / 64] >> (flag / 4096 % 64) & 1))
		TH_LOG("the MSI target page is not in the dirty log");
	vmm_teardown(&v);
}

/*
 * A CMD_SYNC MSI to an address the guest cannot own (no guest memory
 * there): as an SMMU whose MSI write aborts, the main CMDQ activates
 * GERROR.MSI_CMDQ_ABT_ERR (toggles it unless already active) and raises the
 * GERROR interrupt; the CMD_SYNC completed all the same and the stream goes
 * on. The VMM is not involved.
 */
TEST(msi_abort)
{
	const uint32_t abt = 1U << 4;	/* GERROR.MSI_CMDQ_ABT_ERR */
	struct vmm_cmd sync = cmd_sync();
	struct vmm_batch b[2] = {};
	struct vcmdq_sw_stats st;
	uint64_t n = 0;
	struct vmm v;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	ASSERT_EQ(0, vmm_start_events(&v));
	sync.w[0] |= 1ULL << 12;		/* CS=IRQ */
	sync.w[1] = 0x20000000;			/* no memslot there */
	batch_add(&b[0], cmd_tlbi_nh_asid(0x7c1));
	batch_add(&b[0], sync);			/* CONS-polled */
	/* a second abort while the first is active changes nothing */
	batch_add(&b[1], cmd_tlbi_nh_asid(0x7c2));
	batch_add(&b[1], sync);
	batch_add(&b[1], cmd_tlbi_nh_asid(0x7c3));
	batch_sync(&b[1], true);		/* an MSI that works */
	ASSERT_EQ(0, vmm_load(&v, b, 2, 2));
	ASSERT_EQ(0, vmm_run(&v, 20));
	ASSERT_GUEST_OK(&v, 2);
	EXPECT_EQ(6U, vmm_reg(&v, v.cons_off));
	EXPECT_EQ(abt, vmm_reg(&v, v.gerror_off) & (abt | 1));
	EXPECT_EQ(0U, vmm_reg(&v, v.gerrorn_off));
	EXPECT_EQ(8, read(v.gerror_efd, &n, 8));
	EXPECT_EQ(1ULL, n);

	/*
	 * The guest acknowledges (its GERRORN store lands in the register
	 * page); the next abort activates the error again.
	 */
	*(volatile uint32_t *)(v.regs + v.gerrorn_off) =
		vmm_reg(&v, v.gerror_off);
	memset(b, 0, sizeof(b));
	batch_add(&b[0], sync);
	batch_add(&b[0], cmd_tlbi_nh_asid(0x7c4));
	batch_sync(&b[0], false);
	ASSERT_EQ(0, vmm_load(&v, b, 1, 1));
	ASSERT_EQ(0, vmm_run(&v, 20));
	ASSERT_GUEST_OK(&v, 1);
	EXPECT_EQ(9U, vmm_reg(&v, v.cons_off));
	EXPECT_EQ(abt, (vmm_reg(&v, v.gerror_off) ^
			vmm_reg(&v, v.gerrorn_off)) & (abt | 1));
	EXPECT_EQ(8, read(v.gerror_efd, &n, 8));
	EXPECT_EQ(1ULL, n);

	vmm_stop_events(&v);
	EXPECT_EQ(0U, v.nr_other_events) TH_LOG("the VMM got a FAULT");
	EXPECT_EQ(0, v.events_error);
	ASSERT_EQ(0, vmm_stats(&v, &st));
	EXPECT_EQ(3ULL, st.msi_aborts);
	EXPECT_EQ(0ULL, st.faults);
	EXPECT_EQ(0ULL, st.errors);
	EXPECT_EQ(5ULL, st.guest_syncs);
	printf("# trace-expect msi-abort-goes-on: invalidate asid=1987 " VMID_RE "\n");
	printf("# trace-expect msi-abort-again: invalidate asid=1988 " VMID_RE "\n");
	vmm_teardown(&v);
}

/*
 * A tegra241 VCMDQ has no MSI and its GERROR reports command errors only:
 * an MSI that cannot be delivered is dropped (counted, traced) and the
 * queue goes on; the guest completes by CONS as on the hardware.
 */
TEST(msi_abort_vcmdq_layout)
{
	struct vmm_cmd sync = cmd_sync();
	struct vmm_batch b[2] = {};
	struct vcmdq_sw_stats st;
	uint64_t n = 0;
	struct vmm v;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_TEGRA241, 8));
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	ASSERT_EQ(0, vmm_start_events(&v));
	sync.w[0] |= 1ULL << 12;		/* CS=IRQ */
	sync.w[1] = 0x20000000;			/* no memslot there */
	batch_add(&b[0], cmd_tlbi_nh_asid(0x7c5));
	batch_add(&b[0], sync);
	batch_add(&b[1], cmd_tlbi_nh_asid(0x7c6));
	batch_sync(&b[1], false);
	ASSERT_EQ(0, vmm_load(&v, b, 2, 2));
	ASSERT_EQ(0, vmm_run(&v, 20));
	ASSERT_GUEST_OK(&v, 2);
	EXPECT_EQ(4U, vmm_reg(&v, v.cons_off));
	EXPECT_EQ(0U, vmm_reg(&v, v.gerror_off));
	EXPECT_EQ(-1, read(v.gerror_efd, &n, 8));
	EXPECT_EQ(EAGAIN, errno);
	vmm_stop_events(&v);
	EXPECT_EQ(0U, v.nr_other_events) TH_LOG("the VMM got a FAULT");
	ASSERT_EQ(0, vmm_stats(&v, &st));
	EXPECT_EQ(1ULL, st.msi_aborts);
	EXPECT_EQ(0ULL, st.faults);
	printf("# trace-expect msi-abort-vcmdq: invalidate asid=1990 " VMID_RE "\n");
	vmm_teardown(&v);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct run_figures {
	double exits_per_batch, p50, p99;
	unsigned long batches;
};

/* Per batch kind: @kind of @nkinds in the cycled script. */
static struct run_figures figures(const struct vmm *v, unsigned int kind,
				  unsigned int nkinds, unsigned long exits)
{
	static uint64_t t[4096];
	struct run_figures f = {};
	unsigned int i, n = 0;

	for (i = kind; i < v->nbatches && i < 4096; i += nkinds)
		t[n++] = vmm_result(v, 3 + i);
	qsort(t, n, sizeof(t[0]), cmp_u64);
	f.batches = n;
	f.p50 = vmm_ticks_to_us(t[n / 2]);
	f.p99 = vmm_ticks_to_us(t[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1]);
	f.exits_per_batch = (double)exits / v->nbatches;
	return f;
}

#define BENCH_ROUNDS	300

static int pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

static void bench_streams(struct vmm_batch *b)
{
	int i;

	memset(b, 0, 3 * sizeof(*b));
	/* vSVA munmap storm: a TLBI_NH_VA run, MSI completion */
	for (i = 0; i < 31; i++)
		batch_add(&b[0], cmd_tlbi_nh_va(0x751, 0x70000000 + i * 0x1000));
	batch_sync(&b[0], true);
	/* ASID flush, CONS polled */
	batch_add(&b[1], cmd_tlbi_nh_asid(0x752));
	batch_sync(&b[1], false);
	/* ATS device: TLBI + ATC_INV pairs */
	for (i = 0; i < 4; i++) {
		batch_add(&b[2], cmd_tlbi_nh_va(0x753, 0x71000000 + i * 0x1000));
		batch_add(&b[2], cmd_atc_inv(VSID, 0x71000000 + i * 0x1000));
	}
	batch_sync(&b[2], true);
}

#define BENCH_POLL_US	300
#define BENCH_MODES	4

static const char *const bench_stream[] = { "storm", "asid", "atc" };

/* One machine-readable figure line; scripts/bench-vm.sh makes the JSON. */
static void bench_json(const char *section, const char *stream,
		       const char *mode, double p50, double p99, double exits)
{
	printf("# bench-json {\"section\": \"%s\", \"stream\": \"%s\", \"mode\": \"%s\", \"p50_us\": %.1f, \"p99_us\": %.1f",
	       section, stream, mode, p50, p99);
	if (exits >= 0)
		printf(", \"exits_per_batch\": %.2f", exits);
	printf("}\n");
}

/*
 * The L1 kernel's own time to issue a stream's batch to the SMMU and wait
 * for its sync: IOMMU_HWPT_INVALIDATE of the batch's commands (its
 * CMD_SYNCs dropped: the ioctl ends with one), timed around the ioctl.
 */
static int bench_host_issue(struct vmm *v, const struct vmm_batch *b,
			    double *p50, double *p99)
{
	static uint64_t t[BENCH_ROUNDS];
	struct vmm_cmd cmds[320];
	uint32_t n = 0, done, i;
	struct timespec t0, t1;

	for (i = 0; i < b->n; i++)
		if ((b->cmd[i].w[0] & 0xff) != OP_CMD_SYNC)
			cmds[n++] = b->cmd[i];
	for (i = 0; i < BENCH_ROUNDS; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (vmm_invalidate(v, cmds, n, &done) || done != n)
			return -EIO;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		t[i] = (t1.tv_sec - t0.tv_sec) * 1000000000ULL +
		       t1.tv_nsec - t0.tv_nsec;
	}
	qsort(t, BENCH_ROUNDS, sizeof(t[0]), cmp_u64);
	*p50 = t[BENCH_ROUNDS / 2] / 1e3;
	*p99 = t[BENCH_ROUNDS * 99 / 100] / 1e3;
	return 0;
}

/*
 * The fast path against the trap path, one VM run: per stream and per
 * consumer mode, guest-timed latency and user-space exits per batch; the
 * floor rows measured in the same run (an empty PROD store taken by the
 * kernel: the doorbell and an empty inline turn; the L1's own issue time
 * per stream). `make bench-vm` turns the bench-json lines into
 * build/bench-vm.json.
 */
TEST(trap_vs_fast)
{
	static const char *const kind[] = {
		"storm 31xTLBI_NH_VA+SYNC(MSI)", "asid TLBI_NH_ASID+SYNC",
		"atc 4x(TLBI_NH_VA+ATC_INV)+SYNC(MSI)",
	};
	static const char *const mode_name[BENCH_MODES] = {
		"trap", "worker", "worker+poll", "inline",
	};
	struct run_figures f[BENCH_MODES][3], floor;
	double hi50[3], hi99[3];
	struct vmm_batch b[3], empty = {};
	struct vcmdq_sw_stats st;
	unsigned long exits[BENCH_MODES];
	struct vmm v;
	int m, k;

	bench_streams(b);
	for (m = 0; m < BENCH_MODES; m++) {
		enum vmm_mode mode = m ? VMM_FAST : VMM_TRAP;

		printf("# bench: running %s, %u rounds\n", mode_name[m],
		       BENCH_ROUNDS);
		fflush(stdout);
		ASSERT_EQ(0, vmm_setup(&v, mode, VCMDQ_SW_LAYOUT_SMMUV3, 8));
		/*
		 * As a VMM would place them: the worker (created by, and
		 * inheriting the CPUs of, the IOMMU_HW_QUEUE_ALLOC caller) on
		 * CPU 1, the vCPU thread on CPU 0, so a guest spinning on
		 * CONS never sits on the worker's CPU.
		 */
		ASSERT_EQ(0, pin_to_cpu(1));
		v.poll_us = m == 2 ? BENCH_POLL_US : 0;
		if (mode == VMM_FAST)
			ASSERT_EQ(0, vmm_alloc_queue(&v));
		if (m == 1)
			ASSERT_EQ(0, vmm_set_consumer(&v, VCMDQ_SW_CONSUMER_WORKER, 0));
		ASSERT_EQ(0, pin_to_cpu(0));
		ASSERT_EQ(0, vmm_load(&v, b, 3, 3 * BENCH_ROUNDS));
		ASSERT_EQ(0, vmm_run(&v, 600));
		ASSERT_GUEST_OK(&v, 3 * BENCH_ROUNDS);
		exits[m] = v.kvm_exits;
		for (k = 0; k < 3; k++)
			f[m][k] = figures(&v, k, 3, v.kvm_exits);
		if (mode == VMM_FAST) {
			ASSERT_EQ(0, vmm_stats(&v, &st));
			EXPECT_EQ((uint64_t)(3 * BENCH_ROUNDS), st.doorbells);
			EXPECT_EQ(0ULL, st.exits);
			if (!v.poll_us)
				EXPECT_EQ(0ULL, st.polled);
			if (m == 3)
				EXPECT_LT(0ULL, st.inline_turns);
			printf("# bench: %s: %llu doorbells, %llu worker turns (%llu found it polling), %llu inline turns, %llu hand-overs, %llu host batches, in-kernel doorbell-to-CONS histogram (log2 us):",
			       mode_name[m], (unsigned long long)st.doorbells,
			       (unsigned long long)st.wakes,
			       (unsigned long long)st.polled,
			       (unsigned long long)st.inline_turns,
			       (unsigned long long)st.handovers,
			       (unsigned long long)st.batches);
			for (k = 0; k < VCMDQ_SW_LAT_BUCKETS; k++)
				printf(" %llu", (unsigned long long)st.latency[k]);
			printf("\n");
		} else {
			printf("# bench: trap: %lu IOMMU_HWPT_INVALIDATE calls\n",
			       v.trap_invalidates);
		}
		if (m == 3) {
			/* The floor rows, on the same vIOMMU and queue */
			for (k = 0; k < 3; k++)
				ASSERT_EQ(0, bench_host_issue(&v, &b[k], &hi50[k],
							      &hi99[k]));
			ASSERT_EQ(0, vmm_load(&v, &empty, 1, BENCH_ROUNDS));
			ASSERT_EQ(0, vmm_run(&v, 600));
			ASSERT_GUEST_OK(&v, BENCH_ROUNDS);
			floor = figures(&v, 0, 1, v.kvm_exits);
		}
		vmm_teardown(&v);
	}
	for (m = 1; m < BENCH_MODES; m++)
		EXPECT_EQ(0UL, exits[m]);
	EXPECT_LE((uint64_t)(3 * BENCH_ROUNDS), exits[0]);
	printf("# bench: %u rounds of 3 batches; exits = user-space exits (KVM_EXIT_MMIO) per batch; latency = guest PROD write to completion seen (CNTVCT); poll = worker polls %u us\n",
	       BENCH_ROUNDS, BENCH_POLL_US);
	for (k = 0; k < 3; k++) {
		printf("# bench: %-38s", kind[k]);
		for (m = 0; m < BENCH_MODES; m++) {
			printf(" | %s: %.2f exits/batch p50 %.1f us p99 %.1f us",
			       mode_name[m], f[m][k].exits_per_batch, f[m][k].p50,
			       f[m][k].p99);
		}
		printf(" | trap/inline p50 %.2fx p99 %.2fx, trap/worker p50 %.2fx p99 %.2fx | host_issue p50 %.1f us p99 %.1f us\n",
		       f[0][k].p50 / f[3][k].p50, f[0][k].p99 / f[3][k].p99,
		       f[0][k].p50 / f[1][k].p50, f[0][k].p99 / f[1][k].p99,
		       hi50[k], hi99[k]);
	}
	for (k = 0; k < 3; k++) {
		for (m = 0; m < BENCH_MODES; m++)
			bench_json("streams", bench_stream[k], mode_name[m],
				   f[m][k].p50, f[m][k].p99,
				   f[m][k].exits_per_batch);
		bench_json("host_issue", bench_stream[k], "ioctl", hi50[k],
			   hi99[k], -1);
	}
	printf("# bench: floor_store (an empty PROD store, doorbell and empty inline turn): p50 %.1f us p99 %.1f us\n",
	       floor.p50, floor.p99);
	bench_json("floor_store", "empty", "inline", floor.p50, floor.p99,
		   floor.exits_per_batch);
	forbid_guest_ids();
}

/* What QEMU's trap path does with a StreamID it has no vDEVICE for: skip it */
static void answer_unknown_sid(struct vmm *v, const struct vcmdq_sw_event *ev)
{
	int ret = vmm_respond(v, ev->index, 0);

	if (ret)
		fprintf(stderr, "# answering the EXIT: %s\n", strerror(-ret));
}

TEST(destroy_viommu_with_live_queue)
{
	static uint8_t saved[4096];
	struct pollfd p = {};
	struct vcmdq_sw_event ev;
	struct vmm_batch b = {};
	struct vmm v;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	/* Only the queue holds the vIOMMU now */
	ASSERT_EQ(0, destroy(v.st.iommufd, v.st.vdev_id));
	ASSERT_EQ(-EBUSY, destroy(v.st.iommufd, v.st.viommu_id));

	/*
	 * and the destroyed vDEVICE's vSID is unknown at once: on the main
	 * CMDQ its CFGI_CD goes to the VMM (as for a root port's StreamID),
	 * which answers it; the guest sees no error
	 */
	v.on_exit = answer_unknown_sid;
	ASSERT_EQ(0, vmm_start_events(&v));
	batch_add(&b, cmd_tlbi_nh_asid(0x761));
	batch_add(&b, cmd_cfgi_cd(VSID));
	batch_sync(&b, false);
	ASSERT_EQ(0, vmm_load(&v, &b, 1, 1));
	ASSERT_EQ(0, vmm_run(&v, 20));
	ASSERT_GUEST_OK(&v, 1);
	vmm_stop_events(&v);
	EXPECT_EQ(0, v.events_error);
	EXPECT_EQ(0ULL, vmm_result(&v, 1))
		TH_LOG("guest saw 0x%llx (errors << 8 | CONS.ERR)",
		       (unsigned long long)vmm_result(&v, 1));
	ASSERT_EQ(1ULL, v.nr_exit_events);
	EXPECT_EQ(1ULL, v.exit_index[0]);
	EXPECT_EQ(OP_CFGI_CD, op_of(v.exit_cmd[0][0]));
	EXPECT_EQ((uint64_t)VSID, v.exit_cmd[0][0] >> 32);

	/* nothing to read: poll says so, a non-blocking read too */
	p.fd = v.evfd;
	p.events = POLLIN;
	EXPECT_EQ(0, poll(&p, 1, 0));
	ASSERT_EQ(0, fcntl(v.evfd, F_SETFL, O_NONBLOCK));
	EXPECT_EQ(-1, read(v.evfd, &ev, sizeof(ev)));
	EXPECT_EQ(EAGAIN, errno);

	/* memslot and mapping first, keeping the registers, then the queue */
	ASSERT_EQ(0, vmm_unmap_regs(&v, saved));
	ASSERT_EQ(0, vmm_destroy_queue(&v));
	/* the event file hangs up and reads EOF */
	EXPECT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLHUP, p.revents & POLLHUP);
	EXPECT_EQ(0, read(v.evfd, &ev, sizeof(ev)));

	/*
	 * The doorbells are gone: the VMM's trap path takes over where the
	 * queue stopped and sees every PROD store (were one still taken by
	 * the kernel, the guest would wait for CONS for ever)
	 */
	ASSERT_EQ(0, vmm_trap_takeover(&v, saved));
	EXPECT_EQ(3U, v.cons);
	memset(&b, 0, sizeof(b));
	batch_add(&b, cmd_tlbi_nh_asid(0x762));
	batch_sync(&b, false);
	ASSERT_EQ(0, vmm_load(&v, &b, 1, 1));
	ASSERT_EQ(0, vmm_run(&v, 20));
	ASSERT_GUEST_OK(&v, 1);
	EXPECT_LT(0UL, v.kvm_exits);
	EXPECT_EQ(1UL, v.trap_invalidates);
	EXPECT_EQ(5U, vmm_reg(&v, v.cons_off));
	ASSERT_EQ(0, destroy(v.st.iommufd, v.st.viommu_id));
	printf("# trace-expect destroy-live: invalidate asid=1889 " VMID_RE "\n");
	printf("# trace-expect destroy-trap: invalidate asid=1890 " VMID_RE "\n");
	vmm_teardown(&v);
}

/*
 * The queue memory is pinned for the queue's life, as for a HW queue:
 * unmapping it from the IOAS is refused and the guest goes on; once the
 * queue is destroyed the unmap goes through.
 */
TEST(unmap_queue_memory)
{
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap) };
	struct vmm_batch b = {};
	struct vcmdq_sw_stats st;
	struct vmm v;
	int ret;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	ASSERT_EQ(0, vmm_start_events(&v));
	batch_add(&b, cmd_tlbi_nh_asid(0x771));
	batch_sync(&b, false);
	ASSERT_EQ(0, vmm_load(&v, &b, 1, 1));
	ASSERT_EQ(0, vmm_run(&v, 20));
	ASSERT_GUEST_OK(&v, 1);

	unmap.ioas_id = v.st.ioas_id;
	unmap.iova = QUEUE_GPA;
	unmap.length = QUEUE_MAP_LEN;
	ret = ioctl(v.st.iommufd, IOMMU_IOAS_UNMAP, &unmap) ? -errno : 0;
	printf("# unmap_queue_memory: IOAS_UNMAP of live queue memory: %s\n",
	       ret ? strerror(-ret) : "unmapped");
	EXPECT_EQ(-EBUSY, ret);

	/* the guest's queue is still there */
	memset(&b, 0, sizeof(b));
	batch_add(&b, cmd_tlbi_nh_asid(0x772));
	batch_sync(&b, true);
	ASSERT_EQ(0, vmm_load(&v, &b, 1, 1));
	ASSERT_EQ(0, vmm_run(&v, 20));
	ASSERT_GUEST_OK(&v, 1);
	EXPECT_EQ(0ULL, vmm_result(&v, 1));
	EXPECT_EQ(4U, vmm_reg(&v, v.cons_off));
	ASSERT_EQ(0, vmm_stats(&v, &st));
	EXPECT_EQ(0ULL, st.faults);
	EXPECT_EQ(0ULL, st.errors);
	vmm_stop_events(&v);
	EXPECT_EQ(0U, v.nr_other_events) TH_LOG("the VMM got a FAULT");
	EXPECT_EQ(0, v.events_error);

	ASSERT_EQ(0, vmm_destroy_queue(&v));
	unmap.length = QUEUE_MAP_LEN;
	EXPECT_EQ(0, ioctl(v.st.iommufd, IOMMU_IOAS_UNMAP, &unmap))
		TH_LOG("IOAS_UNMAP after destroy: %s", strerror(errno));
	EXPECT_EQ(QUEUE_MAP_LEN, unmap.length);
	printf("# trace-expect unmap-refused-goes-on: invalidate asid=1906 " VMID_RE "\n");
	vmm_teardown(&v);
}

static int busy_pipe = -1;

static void *tell_when_busy(void *arg)
{
	struct vcmdq_sw_stats st = {};
	struct vmm *v = arg;
	int i;

	for (i = 0; i < 6000 && st.cmds < 1000; i++) {
		usleep(10000);
		vmm_stats(v, &st);
	}
	if (write(busy_pipe, "r", 1) != 1)
		_exit(1);
	return NULL;
}

/* The VMM dies with SIGKILL while its guest hammers the queue. */
TEST(vmm_killed_mid_stream)
{
	struct vmm_batch b[2] = {};
	int pipefd[2], status, i;
	struct vmm v;
	pid_t pid;
	char c;

	for (i = 0; i < 16; i++)
		batch_add(&b[0], cmd_tlbi_nh_va(0x781, 0x72000000 + i * 0x1000));
	batch_sync(&b[0], true);
	batch_add(&b[1], cmd_cfgi_cd(VSID));
	batch_sync(&b[1], false);
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		pthread_t poller;

		close(pipefd[0]);
		busy_pipe = pipefd[1];
		if (vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8) ||
		    vmm_alloc_queue(&v) || vmm_load(&v, b, 2, 1UL << 40))
			_exit(1);
		/* run a while, tell the parent, keep running until killed */
		if (pthread_create(&poller, NULL, tell_when_busy, &v))
			_exit(1);
		vmm_run(&v, 600);
		_exit(2);
	}
	close(pipefd[1]);
	ASSERT_EQ(1, read(pipefd[0], &c, 1));
	usleep(50000);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	close(pipefd[0]);

	/* Everything was released: the device can serve a new VMM at once */
	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	ASSERT_EQ(0, vmm_load(&v, b, 2, 2));
	ASSERT_EQ(0, vmm_run(&v, 20));
	ASSERT_GUEST_OK(&v, 2);
	vmm_teardown(&v);
}

/* Tracepoints of the fast path, read back from tracefs. */
TEST(tracepoints)
{
	static const char *const events[] = {
		"vcmdq_sw_doorbell: q=", "vcmdq_sw_batch: q=",
		"vcmdq_sw_complete: q=", "vcmdq_sw_exit: q=",
		"vcmdq_sw_error: q=",
	};
	static char buf[1 << 16];
	struct vmm_batch b = {};
	struct vmm v;
	ssize_t n;
	int fd, i;

	fd = open("/sys/kernel/tracing/events/vcmdq_sw/enable", O_WRONLY);
	ASSERT_LE(0, fd) TH_LOG("tracefs: %s", strerror(errno));
	ASSERT_EQ(1, write(fd, "1", 1));
	close(fd);
	fd = open("/sys/kernel/tracing/trace", O_WRONLY | O_TRUNC);
	ASSERT_LE(0, fd);
	close(fd);

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	v.on_exit = exit_handler;
	v.marker_asid = 0x792;
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	ASSERT_EQ(0, vmm_start_events(&v));
	batch_add(&b, cmd_tlbi_nh_asid(0x791));
	batch_add(&b, cmd_cfgi_ste(VSID));
	batch_add(&b, cmd_tlbi_s2_ipa(0));
	batch_sync(&b, true);
	ASSERT_EQ(0, vmm_load(&v, &b, 1, 1));
	ASSERT_EQ(0, vmm_run(&v, 20));
	ASSERT_GUEST_OK(&v, 1);
	vmm_teardown(&v);

	fd = open("/sys/kernel/tracing/trace", O_RDONLY);
	ASSERT_LE(0, fd);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ASSERT_LT(0, n);
	buf[n] = 0;
	for (i = 0; i < 5; i++) {
		bool found = strstr(buf, events[i]);

		if (!found)
			printf("# no '%s' in the trace buffer\n", events[i]);
		EXPECT_TRUE(found);
	}
	for (i = 0; i < 5; i++) {
		char *l = strstr(buf, events[i]);
		int len = l ? (int)strcspn(l, "\n") : 0;

		if (l)
			printf("# tracepoint %.*s\n", len, l);
	}
	fd = open("/sys/kernel/tracing/events/vcmdq_sw/enable", O_WRONLY);
	if (fd >= 0) {
		EXPECT_EQ(1, write(fd, "0", 1));
		close(fd);
	}
}

static int try_alloc(struct vmm *v, struct iommu_hw_queue_arm_smmuv3_cmdq_sw *d,
		     uint64_t base, uint64_t len, uint32_t index,
		     uint32_t data_len)
{
	struct iommu_hw_queue_alloc alloc = {
		.size = sizeof(alloc),
		.viommu_id = v->st.viommu_id,
		.type = IOMMU_HW_QUEUE_TYPE_ARM_SMMUV3_CMDQ_SW,
		.index = index,
		.nesting_parent_iova = base,
		.length = len,
		.data_len = data_len,
		.data_uptr = (uintptr_t)d,
	};

	return ioctl(v->st.iommufd, IOMMU_HW_QUEUE_ALLOC, &alloc) ? -errno :
	       (int)alloc.out_hw_queue_id;
}

static int count_fds(void)
{
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the directory's own */
}

#define REFUSED		1	/* alloc_case(): with any errno */

/*
 * One allocation of bad_input, printed as its own line: refused with
 * @expect (a negative errno, or REFUSED), or (@expect 0) allocated, then
 * destroyed at once.
 */
static void alloc_case(struct __test_metadata *_metadata, struct vmm *v,
		       const char *what, int expect,
		       struct iommu_hw_queue_arm_smmuv3_cmdq_sw d, uint64_t base,
		       uint64_t len, uint32_t index, uint32_t data_len)
{
	int ret;

	d.out_event_fd = -1;
	ret = try_alloc(v, &d, base, len, index, data_len);
	printf("# bad_input: %s: %s\n", what,
	       ret < 0 ? strerror(-ret) : "allocated");
	if (expect == REFUSED) {
		EXPECT_GT(0, ret) TH_LOG("%s", what);
	} else if (expect) {
		EXPECT_EQ(expect, ret) TH_LOG("%s", what);
	} else {
		EXPECT_LT(0, ret) TH_LOG("%s", what);
	}
	if (ret > 0) {
		/* never mapped, so nothing holds it */
		EXPECT_EQ(0, destroy(v->st.iommufd, ret));
		if (d.out_event_fd >= 0)
			close(d.out_event_fd);
	}
}

#define BIG_IOVA	0x1000000UL	/* 16 MiB, for the largest queues */

#define ALLOC_AT(what, expect, d, base, len, index, data_len)		\
	alloc_case(_metadata, &v, what, expect, d, base, len, index, data_len)
/* at QUEUE_GPA, index 0, the whole struct */
#define ALLOC(what, expect, d)						\
	ALLOC_AT(what, expect, d, QUEUE_GPA, len, 0, sizeof(d))

TEST(bad_input)
{
	const size_t big = 16UL << 20;
	struct iommu_hw_queue_arm_smmuv3_cmdq_sw d, ok;
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
		.iova = BIG_IOVA,
		.length = big,
	};
	struct vcmdq_sw_consumer_mode cm = { .size = sizeof(cm) };
	struct vcmdq_sw_stats st = { .size = 8 };
	const uint64_t len = 16 << 8;
	int fds, closed_fd, ret;
	struct vcmdq_sw_event ev;
	struct vmm v;
	void *mem;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	vmm_fill_alloc(&v, &ok);
	/* a queue of 2^19 entries needs 8 MiB; map 16 MiB, 16 MiB aligned */
	mem = mmap(NULL, big, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	map.ioas_id = v.st.ioas_id;
	map.user_va = (uintptr_t)mem;
	ASSERT_EQ(0, ioctl(v.st.iommufd, IOMMU_IOAS_MAP, &map));
	fds = count_fds();

	/* the alloc data */
	ALLOC_AT("data_len 8", -EINVAL, ok, QUEUE_GPA, len, 0, 8);
	ALLOC_AT("data_len short of reg_gpa", -EINVAL, ok, QUEUE_GPA, len, 0,
		 offsetof(struct iommu_hw_queue_arm_smmuv3_cmdq_sw, reg_gpa));
	d = ok; d.flags = 2;
	ALLOC("flags 2 (only VCMDQ_SW_ALLOC_PAUSED is defined)", -EINVAL, d);
	d = ok; d.__reserved = 1;
	ALLOC("__reserved 1", -EINVAL, d);
	d = ok; d.__reserved2 = 1;
	ALLOC("__reserved2 1", -EINVAL, d);
	d = ok; d.layout = 2;
	ALLOC("layout 2", -EINVAL, d);
	d = ok; d.caps = 4;
	ALLOC("caps bit 2", -EINVAL, d);
	d = ok; d.irq_eventfd = -2;
	ALLOC("irq_eventfd -2", -EINVAL, d);
	d = ok; d.gerror_eventfd = -2;
	ALLOC("gerror_eventfd -2", -EINVAL, d);
	d = ok; d.gerror_eventfd = v.st.iommufd;
	ALLOC("gerror_eventfd not an eventfd", -EINVAL, d);
	closed_fd = dup(v.st.iommufd);
	ASSERT_LE(0, closed_fd);
	close(closed_fd);
	d = ok; d.vm_fd = closed_fd;
	ALLOC("vm_fd closed", -EBADF, d);
	d = ok; d.vm_fd = v.st.iommufd;
	ALLOC("vm_fd not a KVM VM", -EBADF, d);
	d = ok; d.reg_gpa += 4;
	ALLOC("reg_gpa + 4", -EINVAL, d);
	d = ok; d.prod = 0x200;
	ALLOC("prod 0x200 (log2size 8)", -EINVAL, d);
	d = ok; d.cons = 0x200;
	ALLOC("cons 0x200 (log2size 8)", -EINVAL, d);
	d = ok; d.cons = 4 << 24;
	ALLOC("cons ERR 4", -EINVAL, d);
	d = ok; d.cons = 3 << 24 | 0x1ff; d.prod = 0x1ff;
	ALLOC("cons ERR 3 at 0x1ff, prod 0x1ff", 0, d);

	/* the queue: size, length, alignment */
	d = ok; d.log2size = 20;
	ALLOC_AT("log2size 20", -EINVAL, d, BIG_IOVA, 16 << 20, 0, sizeof(d));
	d = ok; d.log2size = 19;
	ALLOC_AT("log2size 19", 0, d, BIG_IOVA, 16 << 19, 0, sizeof(d));
	ALLOC_AT("length twice 16 << log2size", -EINVAL, ok, QUEUE_GPA, len * 2,
		 0, sizeof(ok));
	ALLOC_AT("base + 16", -EINVAL, ok, QUEUE_GPA + 16, len, 0, sizeof(ok));
	ALLOC_AT("base + 0x800 (length 0x1000)", -EINVAL, ok, QUEUE_GPA + 0x800,
		 len, 0, sizeof(ok));
	d = ok; d.log2size = 0;
	ALLOC_AT("log2size 0 at base + 16", -EINVAL, d, QUEUE_GPA + 16, 16, 0,
		 sizeof(d));
	ALLOC_AT("log2size 0 at base + 32", 0, d, QUEUE_GPA + 32, 16, 0,
		 sizeof(d));
	ALLOC_AT("queue memory not in the IOAS", REFUSED, ok, 0x20000000, len,
		 0, sizeof(ok));

	/* the index */
	ALLOC_AT("SMMUv3 layout, index 1", -EINVAL, ok, QUEUE_GPA, len, 1,
		 sizeof(ok));
	d = ok; d.layout = VCMDQ_SW_LAYOUT_TEGRA241;
	ALLOC_AT("tegra241 layout, index 32", -EINVAL, d, QUEUE_GPA, len, 32,
		 sizeof(d));
	ALLOC_AT("tegra241 layout, index 31", 0, d, QUEUE_GPA, len, 31,
		 sizeof(d));

	/* All that left nothing behind: no file, no index taken */
	EXPECT_EQ(fds, count_fds());
	vmm_fill_alloc(&v, &d);
	ret = vmm_alloc_queue_data(&v, &d, 0);
	ASSERT_EQ(0, ret) TH_LOG("valid alloc: %s", strerror(-ret));
	EXPECT_EQ(FD_CLOEXEC, fcntl(v.evfd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ((uint64_t)sysconf(_SC_PAGESIZE), d.out_reg_mmap_length);
	ALLOC("index 0 taken", -EEXIST, ok);
	/* the queues of a vIOMMU share a page: one layout */
	d = ok; d.layout = VCMDQ_SW_LAYOUT_TEGRA241;
	ALLOC_AT("tegra241 layout beside it, index 1", -EINVAL, d, QUEUE_GPA,
		 len, 1, sizeof(d));

	/* the event file */
	EXPECT_EQ(-1, ioctl(v.evfd, VCMDQ_SW_GET_STATS, &st));
	EXPECT_EQ(EINVAL, errno) TH_LOG("GET_STATS of size 8");
	EXPECT_EQ(-1, ioctl(v.evfd, _IO(VCMDQ_SW_TYPE, 0x1f), 0));
	EXPECT_EQ(ENOTTY, errno);
	cm.mode = VCMDQ_SW_CONSUMER_INLINE + 1;
	EXPECT_EQ(-1, ioctl(v.evfd, VCMDQ_SW_SET_CONSUMER, &cm));
	EXPECT_EQ(EINVAL, errno) TH_LOG("consumer mode 3");
	cm.mode = VCMDQ_SW_CONSUMER_INLINE;
	cm.poll_us = 10;
	EXPECT_EQ(-1, ioctl(v.evfd, VCMDQ_SW_SET_CONSUMER, &cm));
	EXPECT_EQ(EINVAL, errno) TH_LOG("inline with polling");
	cm.poll_us = 0;
	cm.mode = VCMDQ_SW_CONSUMER_WORKER_POLL;
	EXPECT_EQ(-1, ioctl(v.evfd, VCMDQ_SW_SET_CONSUMER, &cm));
	EXPECT_EQ(EINVAL, errno) TH_LOG("polling 0 us");
	cm.poll_us = vmm_module_param("max_poll_us") + 1;
	EXPECT_EQ(-1, ioctl(v.evfd, VCMDQ_SW_SET_CONSUMER, &cm));
	EXPECT_EQ(EINVAL, errno) TH_LOG("polling 1001 us");
	cm.mode = VCMDQ_SW_CONSUMER_WORKER;
	cm.poll_us = 5;
	EXPECT_EQ(-1, ioctl(v.evfd, VCMDQ_SW_SET_CONSUMER, &cm));
	EXPECT_EQ(EINVAL, errno) TH_LOG("no polling for 5 us");
	cm.mode = VCMDQ_SW_CONSUMER_WORKER_POLL;
	cm.poll_us = vmm_module_param("max_poll_us");
	EXPECT_EQ(0, ioctl(v.evfd, VCMDQ_SW_SET_CONSUMER, &cm));
	cm.mode = VCMDQ_SW_CONSUMER_WORKER;
	cm.poll_us = 0;
	EXPECT_EQ(0, ioctl(v.evfd, VCMDQ_SW_SET_CONSUMER, &cm));
	EXPECT_EQ(-EINVAL, vmm_respond(&v, 0, 0))
		TH_LOG("an answer to a queue not stopped");
	EXPECT_EQ(-1, read(v.evfd, &ev, sizeof(ev) - 1));
	EXPECT_EQ(EINVAL, errno) TH_LOG("read() short of a record");

	/* the register page holds the queue */
	EXPECT_EQ(-EBUSY, destroy(v.st.iommufd, v.hwq_id))
		TH_LOG("IOMMU_DESTROY with the register page mapped");
	ASSERT_EQ(0, vmm_destroy_queue(&v));
	EXPECT_EQ(-ENODEV, vmm_respond(&v, 0, 0))
		TH_LOG("an answer to a destroyed queue");
	st.size = sizeof(st);
	EXPECT_EQ(-1, ioctl(v.evfd, VCMDQ_SW_GET_STATS, &st));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, ioctl(v.evfd, VCMDQ_SW_SET_CONSUMER, &cm));
	EXPECT_EQ(ENODEV, errno);

	/* the index is free again */
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	vmm_teardown(&v);
	munmap(mem, big);
}

/* ---- answering an exit wrongly ---- */

struct exit_answer {
	struct vmm *v;
	int pending;			/* poll() once the exit is there */
	ssize_t bad_ret[2];		/* the invalid answers */
	int bad_errno[2];
	uint32_t cons;			/* CONS after them */
	int still_pending;		/* poll() after them */
	ssize_t nread;			/* and what reading gives */
	struct vcmdq_sw_event ev;
	ssize_t good_ret;		/* the valid answer, one too many after */
};

/* The VMM's side: answer the EXIT it did not read yet, badly, then well. */
static void *answer_exit(void *arg)
{
	struct exit_answer *a = arg;
	int fd = a->v->evfd;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct vcmdq_sw_response r[2] = {
		{ .index = 1, .cerror = 0x7f },		/* no such CERROR */
		{ .index = 2, .cerror = 0 },		/* not where it stopped */
	};
	int i;

	a->pending = poll(&p, 1, 20000);
	if (a->pending != 1)
		return NULL;
	for (i = 0; i < 2; i++) {
		a->bad_ret[i] = write(fd, &r[i], sizeof(r[i]));
		a->bad_errno[i] = errno;
	}
	a->cons = vmm_reg(a->v, a->v->cons_off);
	a->still_pending = poll(&p, 1, 0);
	a->nread = read(fd, &a->ev, sizeof(a->ev));
	/* the right answer, then the same again: the write ends there */
	r[0] = (struct vcmdq_sw_response){ .index = 1 };
	r[1] = r[0];
	a->good_ret = write(fd, r, sizeof(r));
	return NULL;
}

/*
 * An answer the kernel refuses (a CERROR out of range, the wrong index)
 * leaves the queue exactly as it was: stopped at the exit, the EXIT event
 * still there to read; a valid answer then goes on, and a write of two
 * takes the first and stops at the second, refused.
 */
TEST(resume_invalid_keeps_exit)
{
	struct exit_answer a = {
		.nread = -1, .bad_ret = { 1, 1 }, .good_ret = 1,
	};
	struct vmm_batch b = {};
	pthread_t t;
	struct vmm v;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	ASSERT_EQ(0, fcntl(v.evfd, F_SETFL, O_NONBLOCK));
	a.v = &v;
	batch_add(&b, cmd_tlbi_nh_asid(0x7e1));
	batch_add(&b, cmd_cfgi_ste(VSID));
	batch_add(&b, cmd_tlbi_nh_asid(0x7e2));
	batch_sync(&b, false);
	ASSERT_EQ(0, vmm_load(&v, &b, 1, 1));
	ASSERT_EQ(0, pthread_create(&t, NULL, answer_exit, &a));
	EXPECT_EQ(0, vmm_run(&v, 20));
	pthread_join(t, NULL);

	ASSERT_EQ(1, a.pending) TH_LOG("no EXIT event to answer");
	EXPECT_EQ(-1, a.bad_ret[0]);
	EXPECT_EQ(EINVAL, a.bad_errno[0]) TH_LOG("CERROR 0x7f");
	EXPECT_EQ(-1, a.bad_ret[1]);
	EXPECT_EQ(EINVAL, a.bad_errno[1]) TH_LOG("index 2");
	EXPECT_EQ(1U, a.cons) TH_LOG("CONS 0x%x after the refused answers", a.cons);
	EXPECT_EQ(1, a.still_pending) TH_LOG("a refused answer took the EXIT");
	EXPECT_EQ((ssize_t)sizeof(a.ev), a.nread);
	EXPECT_EQ((uint32_t)VCMDQ_SW_EVENT_EXIT, a.ev.type);
	EXPECT_EQ(1U, a.ev.index);
	EXPECT_EQ((ssize_t)sizeof(struct vcmdq_sw_response), a.good_ret);
	ASSERT_GUEST_OK(&v, 1);
	EXPECT_EQ(4U, vmm_reg(&v, v.cons_off));
	vmm_teardown(&v);
}

/*
 * Only the VM's own process may allocate a queue on it: the worker writes
 * MSIs through its caller's mm, which must be the mm behind the VM's
 * memslots. A child that inherited every file descriptor is refused.
 */
TEST(foreign_mm)
{
	struct iommu_hw_queue_arm_smmuv3_cmdq_sw d;
	struct vmm_batch b = {};
	int pipefd[2], status, ret = 0;
	struct vmm v;
	pid_t pid;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		vmm_fill_alloc(&v, &d);
		ret = try_alloc(&v, &d, QUEUE_GPA, 16 << 8, 0, sizeof(d));
		if (ret > 0)
			destroy(v.st.iommufd, ret);
		_exit(write(pipefd[1], &ret, sizeof(ret)) != sizeof(ret));
	}
	close(pipefd[1]);
	ASSERT_EQ((ssize_t)sizeof(ret), read(pipefd[0], &ret, sizeof(ret)));
	close(pipefd[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(-EPERM, ret) TH_LOG("another process's alloc gave %d", ret);

	/* The VM's owner can, and its queue works */
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	batch_add(&b, cmd_tlbi_nh_asid(0x7e3));
	batch_sync(&b, true);
	ASSERT_EQ(0, vmm_load(&v, &b, 1, 1));
	ASSERT_EQ(0, vmm_run(&v, 20));
	ASSERT_GUEST_OK(&v, 1);
	vmm_teardown(&v);
}

/* ---- the event file does not wait for the engine ---- */

#define READ_SAMPLES	500

struct read_sampler {
	const struct vmm *v;
	int irq;			/* the queue's wired interrupt */
	uint32_t batch;			/* entries per guest batch */
	bool stop;			/* __atomic accesses */
	int err;
	uint64_t ns[READ_SAMPLES];	/* read() + poll() durations */
	unsigned int n;
	unsigned int waited;		/* calls that outlasted their turn */
	unsigned int bad;		/* neither an event nor EAGAIN */
};

/* Entries the worker has still to consume of the batch ending at @prod */
static uint32_t entries_left(const struct vmm *v, uint32_t prod)
{
	uint32_t mask = (2U << v->log2size) - 1;

	return (prod - vmm_reg(v, v->cons_off)) & mask;
}

/*
 * Woken by a CMD_SYNC's interrupt, which the worker signals in the middle
 * of its turn with the engine's lock held, a SCHED_FIFO thread on the
 * worker's CPU preempts the worker there and then. It times a
 * non-blocking read() and a poll() of the event file and sees whether
 * the turn was over when they returned: it can only be if they slept
 * (waiting for the lock), letting the worker run.
 */
static void *sample_reads(void *arg)
{
	struct read_sampler *s = arg;
	struct sched_param sp = { .sched_priority = 1 };
	struct pollfd p = { .fd = s->v->evfd, .events = POLLIN };
	struct vcmdq_sw_event ev;
	uint64_t cnt;

	if (sched_setscheduler(0, SCHED_FIFO, &sp)) {
		s->err = -errno;
		return NULL;
	}
	while (s->n < READ_SAMPLES &&
	       read(s->irq, &cnt, sizeof(cnt)) == sizeof(cnt) &&
	       !__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		uint32_t prod = vmm_reg(s->v, s->v->prod_off);
		uint32_t left = entries_left(s->v, prod);
		uint64_t t0;
		ssize_t r;

		if (!left || left >= s->batch)
			continue;	/* not in the middle of a turn */
		t0 = vmm_now_ns();
		r = read(s->v->evfd, &ev, sizeof(ev));
		if (r != sizeof(ev) && !(r < 0 && errno == EAGAIN))
			s->bad++;
		poll(&p, 1, 0);
		s->ns[s->n++] = vmm_now_ns() - t0;
		left = entries_left(s->v, prod);
		if (!left || left > s->batch)	/* done, or a new one */
			s->waited++;
	}
	return NULL;
}

/*
 * A non-blocking read() and a poll() of the event file return while
 * the worker is in the middle of a turn (35 host CMD_SYNCs on the
 * emulated SMMU, the engine's lock held throughout): they do not wait
 * for the engine. Structural: the reader runs only when it has
 * preempted the worker mid-turn (see sample_reads()), so the turn
 * cannot end during its calls unless they sleep. Their durations are
 * printed against the median turn for the record.
 */
TEST(event_read_does_not_wait)
{
	const unsigned int nbatches = 100;
	const uint64_t one = 1;
	struct iommu_hw_queue_arm_smmuv3_cmdq_sw d;
	struct vmm_cmd irq_sync = cmd_sync();
	struct read_sampler *s;
	struct vcmdq_sw_stats st;
	struct vmm_batch b = {};
	uint64_t total = 0, acc = 0, turn_ns;
	unsigned int i, bucket;
	pthread_t t;
	struct vmm v;

	s = calloc(1, sizeof(*s));
	ASSERT_NE(NULL, s);
	irq_sync.w[0] |= 1ULL << 12;		/* CS=IRQ */
	for (i = 0; i < 35; i++) {
		batch_add(&b, cmd_tlbi_nh_va(0x7f1, 0x73000000 + i * 0x1000));
		batch_add(&b, irq_sync);
	}
	batch_add(&b, cmd_tlbi_nh_va(0x7f1, 0x73800000));
	batch_sync(&b, false);			/* CONS-polled */

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	ASSERT_EQ(0, vmm_load(&v, &b, 1, nbatches));
	s->irq = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, s->irq);
	vmm_fill_alloc(&v, &d);
	d.caps = 0;				/* CS=IRQ: the wired interrupt */
	d.irq_eventfd = s->irq;
	/* The worker and the reader on CPU 1, the vCPU on CPU 0 */
	ASSERT_EQ(0, pin_to_cpu(1));
	ASSERT_EQ(0, vmm_alloc_queue_data(&v, &d, 0));
	/* The turns on the worker, which the reader can preempt */
	ASSERT_EQ(0, vmm_set_consumer(&v, VCMDQ_SW_CONSUMER_WORKER, 0));
	ASSERT_EQ(0, fcntl(v.evfd, F_SETFL, O_NONBLOCK));
	s->v = &v;
	s->batch = b.n;
	ASSERT_EQ(0, pthread_create(&t, NULL, sample_reads, s));
	ASSERT_EQ(0, pin_to_cpu(0));
	EXPECT_EQ(0, vmm_run(&v, 60));
	__atomic_store_n(&s->stop, true, __ATOMIC_RELEASE);
	EXPECT_EQ((ssize_t)sizeof(one), write(s->irq, &one, sizeof(one)));
	pthread_join(t, NULL);
	ASSERT_EQ(0, s->err) TH_LOG("SCHED_FIFO: %s", strerror(-s->err));
	ASSERT_GUEST_OK(&v, nbatches);
	ASSERT_EQ(0, vmm_stats(&v, &st));

	for (i = 0; i < VCMDQ_SW_LAT_BUCKETS; i++)
		total += st.latency[i];
	for (bucket = 0; bucket < VCMDQ_SW_LAT_BUCKETS; bucket++) {
		acc += st.latency[bucket];
		if (2 * acc >= total)
			break;
	}
	turn_ns = bucket ? 1000ULL << bucket : 0;
	ASSERT_LT(0U, s->n) TH_LOG("the reader never found the worker mid-turn");
	qsort(s->ns, s->n, sizeof(s->ns[0]), cmp_u64);
	printf("# event_read_does_not_wait: %u reads+polls in the middle of a turn, %u outlasted it; median %.1f us, p90 %.1f us, max %.1f us; median turn >= %.1f us\n",
	       s->n, s->waited, s->ns[s->n / 2] / 1e3,
	       s->ns[s->n * 9 / 10] / 1e3, s->ns[s->n - 1] / 1e3,
	       turn_ns / 1e3);
	EXPECT_EQ(0U, s->bad);
	EXPECT_LE(10U, s->n) TH_LOG("too few reads to tell");
	/* A tick may hand the CPU back to the worker during a call, rarely */
	EXPECT_LT(s->waited * 10, s->n)
		TH_LOG("a non-blocking read or poll waited for the worker");
	close(s->irq);
	vmm_teardown(&v);
	free(s);
}

/*
 * An IOAS unmap whose range ends at the last IOVA (length 0 - QUEUE_GPA)
 * and covers the live queue's memory: refused at once with -EBUSY, no
 * spinning, no warning, nothing unmapped; once the queue is destroyed the
 * same unmap takes everything from QUEUE_GPA up, the area mapped at the
 * very top of the IOVA space included: at the top of the last range the
 * IOAS allows (IOMMU_IOAS_IOVA_RANGES; the line says where that is), and
 * that MAP must succeed.
 */
TEST(unmap_at_end_of_space)
{
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap) };
	struct iommu_ioas_map top = {
		.size = sizeof(top),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
		.length = QUEUE_MAP_LEN,
	};
	struct iommu_iova_range range[16];
	struct iommu_ioas_iova_ranges ranges = {
		.size = sizeof(ranges),
		.num_iovas = 16,
		.allowed_iovas = (uintptr_t)range,
	};
	uint64_t t0, ns;
	struct vmm v;
	int ret, err;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	ASSERT_EQ(0, vmm_start_events(&v));

	/* the top of the space: the end of the last range allowed */
	ranges.ioas_id = v.st.ioas_id;
	ASSERT_EQ(0, ioctl(v.st.iommufd, IOMMU_IOAS_IOVA_RANGES, &ranges))
		TH_LOG("IOMMU_IOAS_IOVA_RANGES: %s", strerror(errno));
	ASSERT_LT(0U, ranges.num_iovas);
	ASSERT_GE(16U, ranges.num_iovas);
	ASSERT_LT(QUEUE_GPA + RAM_SIZE, range[ranges.num_iovas - 1].last)
		TH_LOG("the IOAS allows nothing above the guest's RAM");
	top.iova = range[ranges.num_iovas - 1].last - QUEUE_MAP_LEN + 1;
	top.ioas_id = v.st.ioas_id;
	top.user_va = (uintptr_t)v.ram + QUEUE_GPA;
	ret = ioctl(v.st.iommufd, IOMMU_IOAS_MAP, &top) ? -errno : 0;
	printf("# unmap_at_end_of_space: %u IOVA ranges, the last 0x%llx-0x%llx; IOAS_MAP of 0x%lx bytes at IOVA 0x%llx: %s\n",
	       ranges.num_iovas,
	       (unsigned long long)range[ranges.num_iovas - 1].start,
	       (unsigned long long)range[ranges.num_iovas - 1].last,
	       QUEUE_MAP_LEN, (unsigned long long)top.iova,
	       ret ? strerror(-ret) : "mapped");
	ASSERT_EQ(0, ret) TH_LOG("nothing mapped at the top of the space");

	unmap.ioas_id = v.st.ioas_id;
	unmap.iova = QUEUE_GPA;
	unmap.length = -(uint64_t)QUEUE_GPA;	/* up to and with ULONG_MAX */
	t0 = vmm_now_ns();
	err = ioctl(v.st.iommufd, IOMMU_IOAS_UNMAP, &unmap) ? -errno : 0;
	ns = vmm_now_ns() - t0;
	printf("# unmap_at_end_of_space: IOAS_UNMAP to the end with the queue live: %s in %.1f us\n",
	       err ? strerror(-err) : "unmapped", ns / 1e3);
	EXPECT_EQ(-EBUSY, err);
	EXPECT_GT(100000000ULL, ns) TH_LOG("the refusal took %.1f ms", ns / 1e6);

	vmm_stop_events(&v);
	EXPECT_EQ(0U, v.nr_other_events) TH_LOG("the VMM got a FAULT");
	EXPECT_EQ(0, v.events_error);
	ASSERT_EQ(0, vmm_destroy_queue(&v));
	unmap.length = -(uint64_t)QUEUE_GPA;
	ASSERT_EQ(0, ioctl(v.st.iommufd, IOMMU_IOAS_UNMAP, &unmap))
		TH_LOG("IOAS_UNMAP to the end after destroy: %s", strerror(errno));
	EXPECT_EQ(RAM_SIZE - QUEUE_GPA + QUEUE_MAP_LEN, unmap.length)
		TH_LOG("the mapping at the top was not unmapped");
	vmm_teardown(&v);
}

/* ---- racing for a queue ---- */

/* Lines of /proc/self/maps naming @what */
static int count_maps(const char *what)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		n += !!strstr(line, what);
	fclose(f);
	return n;
}

/* One stream on the VMM's queue: a TLBI, completed by its MSI. */
static void run_one_stream(struct __test_metadata *_metadata, struct vmm *v,
			   uint16_t asid)
{
	struct vmm_batch b = {};
	struct vcmdq_sw_stats st;

	batch_add(&b, cmd_tlbi_nh_asid(asid));
	batch_sync(&b, true);
	ASSERT_EQ(0, vmm_load(v, &b, 1, 1));
	ASSERT_EQ(0, vmm_run(v, 20));
	ASSERT_GUEST_OK(v, 1);
	EXPECT_EQ(0ULL, vmm_result(v, 1));
	ASSERT_EQ(0, vmm_stats(v, &st));
	EXPECT_EQ(2ULL, st.cmds);
	EXPECT_EQ(2U, vmm_reg(v, v->cons_off));
}

#define RACERS		8
#define ALLOC_ROUNDS	20

struct alloc_racer {
	struct vmm *v;
	pthread_barrier_t *go, *done;
	/* filled in before @go, read back after @done, by the main thread */
	struct iommu_hw_queue_arm_smmuv3_cmdq_sw d;
	int ret;			/* the queue's id, or -errno */
};

static void *race_alloc(void *arg)
{
	struct alloc_racer *r = arg;
	unsigned int i;

	for (i = 0; i < ALLOC_ROUNDS; i++) {
		pthread_barrier_wait(r->go);
		r->ret = try_alloc(r->v, &r->d, QUEUE_GPA, 16 << r->v->log2size,
				   0, sizeof(r->d));
		pthread_barrier_wait(r->done);
	}
	return NULL;
}

/*
 * RACERS threads allocate the queue of the same vIOMMU and index at the
 * same moment, ALLOC_ROUNDS times: each time exactly one gets it, the
 * others -EEXIST, and the queue won works (a stream every fifth round).
 * Between rounds the winner's queue is destroyed, and then its register
 * page can no longer be mapped. Nothing stays behind: no file, no mapping.
 *
 * What it covers: the allocation's success path and its -EEXIST
 * refusal under contention, and destroy against a later mmap. Every
 * allocation here succeeds or is refused before it makes anything, so it
 * cannot reach a bug in the error path of an allocation that fails half
 * way (an mmap of the queue's offset while the allocation unwinds):
 * alloc_fault_vs_mmap (defects_test) is the test for that.
 */
TEST(concurrent_alloc)
{
	struct alloc_racer r[RACERS];
	pthread_barrier_t go, done;
	pthread_t t[RACERS];
	unsigned int round, i, streams = 0, taken_total = 0;
	int fds, maps;
	struct vmm v;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	ASSERT_EQ(0, pthread_barrier_init(&go, NULL, RACERS + 1));
	ASSERT_EQ(0, pthread_barrier_init(&done, NULL, RACERS + 1));
	fds = count_fds();
	maps = count_maps("/dev/iommu");
	for (i = 0; i < RACERS; i++) {
		r[i] = (struct alloc_racer){ .v = &v, .go = &go, .done = &done };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, race_alloc, &r[i]));
	}
	for (round = 0; round < ALLOC_ROUNDS; round++) {
		unsigned int won = 0, taken = 0, winner = 0;
		uint64_t off;
		void *p;

		for (i = 0; i < RACERS; i++)
			vmm_fill_alloc(&v, &r[i].d);
		pthread_barrier_wait(&go);
		pthread_barrier_wait(&done);
		for (i = 0; i < RACERS; i++) {
			if (r[i].ret > 0 && !won++) {
				winner = i;
			} else if (r[i].ret > 0) {
				/* a second queue on the index: undo it */
				EXPECT_EQ(0, destroy(v.st.iommufd, r[i].ret));
				close(r[i].d.out_event_fd);
			} else if (r[i].ret == -EEXIST) {
				taken++;
			} else {
				TH_LOG("round %u: alloc %u: %s", round, i,
				       strerror(-r[i].ret));
			}
		}
		taken_total += taken;
		EXPECT_EQ(1U, won) TH_LOG("round %u: %u allocs succeeded", round, won);
		EXPECT_EQ(RACERS - 1U, taken) TH_LOG("round %u", round);
		if (!won)
			continue;
		ASSERT_EQ(0, vmm_attach_queue(&v, r[winner].ret, &r[winner].d));
		if (round % 5 == 0) {
			run_one_stream(_metadata, &v, 0x801);
			streams++;
		}
		off = r[winner].d.out_reg_mmap_offset;
		ASSERT_EQ(0, vmm_destroy_queue(&v));
		close(v.evfd);
		v.evfd = -1;
		/* the destroyed queue's page is gone from iommufd's mmap */
		p = mmap(NULL, r[winner].d.out_reg_mmap_length,
			 PROT_READ | PROT_WRITE, MAP_SHARED, v.st.iommufd, off);
		EXPECT_EQ(MAP_FAILED, p) TH_LOG("round %u: the page maps after destroy",
						round);
		if (p != MAP_FAILED)
			munmap(p, r[winner].d.out_reg_mmap_length);
		EXPECT_EQ(maps, count_maps("/dev/iommu"));
	}
	for (i = 0; i < RACERS; i++)
		pthread_join(t[i], NULL);
	EXPECT_EQ(fds, count_fds()) TH_LOG("files left behind");
	printf("# concurrent_alloc: %u rounds of %u allocs at once of index 0: %u -EEXIST in all, %u streams run on the queue won\n",
	       ALLOC_ROUNDS, RACERS, taken_total, streams);
	printf("# trace-expect concurrent-alloc: invalidate asid=2049 " VMID_RE "\n");
	pthread_barrier_destroy(&go);
	pthread_barrier_destroy(&done);
	vmm_teardown(&v);
}

/* ---- destroying a queue under a running stream ---- */

#define DESTROYERS	4
#define FLAG_GPA	(RES_GPA + 0x800)	/* guest_prod_loop's MSI flag */

struct destroyer {
	struct vmm *v;
	pthread_barrier_t *go;
	int ret;			/* of IOMMU_DESTROY */
	uint64_t start, end;		/* vmm_now_ns() around it */
	int stats_errno;		/* if it destroyed: GET_STATS right after */
	short revents;			/* and poll() */
};

static void *destroy_queue(void *arg)
{
	struct destroyer *d = arg;
	struct vcmdq_sw_stats st = { .size = sizeof(st) };
	struct pollfd p = { .fd = d->v->evfd, .events = POLLIN };

	pthread_barrier_wait(d->go);
	d->start = vmm_now_ns();
	d->ret = destroy(d->v->st.iommufd, d->v->hwq_id);
	d->end = vmm_now_ns();
	if (d->ret)
		return NULL;
	d->stats_errno = ioctl(d->v->evfd, VCMDQ_SW_GET_STATS, &st) ? errno : 0;
	if (poll(&p, 1, 0) == 1)
		d->revents = p.revents;
	return NULL;
}

struct vcpu_runner {
	struct vmm *v;
	int ret;
	uint64_t gpa;
	bool write;
	bool exited;			/* __atomic accesses */
};

static void *run_vcpu(void *arg)
{
	struct vcpu_runner *r = arg;

	r->ret = vmm_run_until_mmio(r->v, 20, &r->gpa, &r->write);
	__atomic_store_n(&r->exited, true, __ATOMIC_RELEASE);
	return NULL;
}

/* Wait up to @ms for the queue to have consumed @cmds commands. */
static int wait_cmds(const struct vmm *v, uint64_t cmds, unsigned int ms)
{
	struct vcmdq_sw_stats st;
	unsigned int i;

	for (i = 0; i <= ms / 10; i++) {
		if (vmm_stats(v, &st))
			return -EIO;
		if (st.cmds >= cmds)
			return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

/*
 * DESTROYERS threads call IOMMU_DESTROY on a queue at once while its
 * guest stores PROD in a loop (every store a doorbell, every pair of
 * commands completed by an MSI) and the VMM's event thread reads the
 * event file; the VMM deleted the memslot and unmapped the register page
 * first, as it must, and the stream went on without them. One destroy
 * succeeds; the others find the queue gone (-ENOENT), or busy (-EBUSY)
 * only while the winner was still at it. From the winner's return on the
 * event file is dead (-ENODEV, EPOLLHUP), the guest's next PROD store
 * exits to the VMM, and the vIOMMU takes a new queue that runs.
 */
TEST(destroy_race)
{
	struct vmm_cmd cmd = cmd_tlbi_nh_asid(0x811), sync = cmd_sync();
	unsigned int i, won = 0, gone = 0, busy = 0, winner = 0;
	struct destroyer d[DESTROYERS];
	struct vcpu_runner run = {};
	pthread_t t[DESTROYERS], vcpu;
	struct vcmdq_sw_stats st;
	pthread_barrier_t go;
	struct vmm v;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	ASSERT_EQ(0, vmm_start_events(&v));

	/* the queue: pairs of a TLBI and a CMD_SYNC whose MSI sets the flag */
	sync.w[0] |= 1ULL << 12 | 3ULL << 22 | 0xfULL << 24 | 1ULL << 32;
	sync.w[1] = FLAG_GPA;
	for (i = 0; i < 1U << v.log2size; i++) {
		const struct vmm_cmd *c = i & 1 ? &sync : &cmd;

		memcpy(v.ram + QUEUE_GPA + i * 16, c->w, 16);
	}
	{
		uint64_t regs[7] = {
			REG_GPA, 0, RES_GPA, FLAG_GPA, QUEUE_GPA, v.log2size,
			v.prod_off,
		};

		memset(v.ram + RES_GPA, 0, 16);
		ASSERT_EQ(0, kvm_vm_load(&v.vm, v.ram, guest_prod_loop_start,
					 guest_prod_loop_end, regs, 7));
	}
	run.v = &v;
	ASSERT_EQ(0, pthread_create(&vcpu, NULL, run_vcpu, &run));
	ASSERT_EQ(0, wait_cmds(&v, 200, 10000)) TH_LOG("the stream does not run");

	/* the VMM lets go of the register page; the stream goes on */
	ASSERT_EQ(0, vmm_unmap_regs(&v, NULL));
	ASSERT_EQ(0, vmm_stats(&v, &st));
	ASSERT_EQ(0, wait_cmds(&v, st.cmds + 20, 10000))
		TH_LOG("the stream stopped with the memslot");
	EXPECT_FALSE(__atomic_load_n(&run.exited, __ATOMIC_ACQUIRE))
		TH_LOG("the guest exited before the destroy: 0x%llx",
		       (unsigned long long)run.gpa);

	ASSERT_EQ(0, pthread_barrier_init(&go, NULL, DESTROYERS));
	for (i = 0; i < DESTROYERS; i++) {
		d[i] = (struct destroyer){ .v = &v, .go = &go, .ret = 1 };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, destroy_queue, &d[i]));
	}
	for (i = 0; i < DESTROYERS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&go);
	for (i = 0; i < DESTROYERS; i++)
		if (!d[i].ret && !won++)
			winner = i;
	ASSERT_EQ(1U, won) TH_LOG("%u destroys succeeded", won);
	v.hwq_live = false;
	for (i = 0; i < DESTROYERS; i++) {
		if (i == winner)
			continue;
		if (d[i].ret == -ENOENT) {
			gone++;
		} else if (d[i].ret == -EBUSY) {
			busy++;
			EXPECT_LT(d[i].start, d[winner].end)
				TH_LOG("-EBUSY from a destroy begun after the queue was gone");
		} else {
			EXPECT_EQ(-ENOENT, d[i].ret);
		}
	}
	EXPECT_EQ(ENODEV, d[winner].stats_errno)
		TH_LOG("GET_STATS right after the destroy: %s",
		       strerror(d[winner].stats_errno));
	EXPECT_EQ(POLLHUP, d[winner].revents & POLLHUP);
	EXPECT_EQ(-ENOENT, destroy(v.st.iommufd, v.hwq_id))
		TH_LOG("a destroy after the queue is gone");

	/* the guest's next PROD store has no doorbell: it exits */
	pthread_join(vcpu, NULL);
	ASSERT_EQ(0, run.ret);
	EXPECT_EQ(REG_GPA + v.prod_off, run.gpa);
	EXPECT_TRUE(run.write);
	vmm_stop_events(&v);
	EXPECT_EQ(0U, v.nr_exit_events);
	EXPECT_EQ(0U, v.nr_other_events) TH_LOG("the VMM got a FAULT");
	EXPECT_EQ(0, v.events_error);
	printf("# destroy_race: %u IOMMU_DESTROY at once under a stream (%llu of %llu guest turns completed by the MSI): 1 destroyed, %u -ENOENT, %u -EBUSY\n",
	       DESTROYERS, (unsigned long long)vmm_result(&v, 0),
	       (unsigned long long)vmm_result(&v, 1), gone, busy);

	/* the vIOMMU takes a new queue at once, and it runs */
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	run_one_stream(_metadata, &v, 0x812);
	printf("# trace-expect destroy-race-stream: invalidate asid=2065 " VMID_RE "\n");
	printf("# trace-expect destroy-race-new-queue: invalidate asid=2066 " VMID_RE "\n");
	vmm_teardown(&v);
}

/* ---- without FEAT_S2FWB ---- */

#define S2FWB_PARAM	"/sys/module/vcmdq_sw/parameters/test_without_s2fwb"

/*
 * Without FEAT_S2FWB the guest maps the register page as Device memory
 * and reads around the cache, so every CONS and GERROR update must be
 * cleaned to the point of coherency. QEMU's CPU has FEAT_S2FWB; the
 * test-only parameter test_without_s2fwb makes the queues allocated while
 * it is set clean as without it. Such a queue runs a stream with MSI
 * completions and a command error the guest recovers from, and counts
 * its cleans: exactly one per register update, so that a single update
 * left uncleaned shows. The updates are the four registers set up at
 * allocation (GERROR, GERRORN, PROD, CONS), each PROD and GERRORN store
 * (the doorbell writes it into the page), each CONS publish (each guest
 * CMD_SYNC, the stop at the error with CONS.ERR, the acknowledgment
 * that clears it) and each GERROR toggle (the error, an aborted MSI). A
 * queue allocated after the parameter is cleared counts none.
 *
 * The parameter is put back right after the allocation it is for, before
 * anything that may end the test (an ASSERT aborts the process);
 * tests/vm-init.sh reports a program that left it set anyway.
 */
TEST(nonfwb)
{
	/* registers set at allocation: GERROR, GERRORN, PROD, CONS */
	const unsigned long long setup = 4;
	unsigned long long gerrorn_stores, publishes, toggles, want;
	struct vcmdq_sw_stats st;
	int set, alloc, reset;
	struct vmm v;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	set = viommu_write_str(S2FWB_PARAM, "1");
	alloc = set ? set : vmm_alloc_queue(&v);
	reset = viommu_write_str(S2FWB_PARAM, "0");
	ASSERT_EQ(0, set) TH_LOG("%s: %s", S2FWB_PARAM, strerror(-set));
	ASSERT_EQ(0, reset) TH_LOG("%s: %s", S2FWB_PARAM, strerror(-reset));
	ASSERT_EQ(0, alloc);
	ASSERT_EQ(0, vmm_stats(&v, &st));
	EXPECT_EQ(setup, (unsigned long long)st.poc_cleans)
		TH_LOG("allocation: %llu cleans for %llu registers set",
		       (unsigned long long)st.poc_cleans, setup);

	run_illegal_recovers(_metadata, &v, 0x821);
	ASSERT_EQ(0, vmm_stats(&v, &st));
	/* the guest acknowledges each error it recovers from once */
	gerrorn_stores = vmm_result(&v, 1) >> 8;
	/* each guest CMD_SYNC; per error: the stop, the acknowledgment */
	publishes = st.guest_syncs + 2 * st.errors;
	toggles = st.errors + st.msi_aborts;
	want = setup + st.doorbells + gerrorn_stores + publishes + toggles;
	printf("# nonfwb: %llu register updates cleaned to the PoC, %llu expected: %llu set up, %llu PROD stores, %llu GERRORN stores, %llu CONS publishes, %llu GERROR toggles (%llu cmds, %llu guest syncs, %llu errors)\n",
	       (unsigned long long)st.poc_cleans, want, setup,
	       (unsigned long long)st.doorbells, gerrorn_stores, publishes,
	       toggles, (unsigned long long)st.cmds,
	       (unsigned long long)st.guest_syncs,
	       (unsigned long long)st.errors);
	EXPECT_EQ(1ULL, gerrorn_stores);
	EXPECT_LE(1ULL, st.doorbells);
	EXPECT_LE(1ULL, st.guest_syncs);
	EXPECT_EQ(want, (unsigned long long)st.poc_cleans)
		TH_LOG("a register update was not cleaned (or cleaned twice)");
	ASSERT_EQ(0, vmm_destroy_queue(&v));

	ASSERT_EQ(0, vmm_alloc_queue(&v));
	run_illegal_recovers(_metadata, &v, 0x823);
	ASSERT_EQ(0, vmm_stats(&v, &st));
	printf("# nonfwb: parameter cleared: %llu cleaned\n",
	       (unsigned long long)st.poc_cleans);
	EXPECT_EQ(0ULL, st.poc_cleans);
	printf("# trace-expect nonfwb-after-error: invalidate asid=2082 " VMID_RE "\n");
	printf("# trace-expect nonfwb-cleared: invalidate asid=2084 " VMID_RE "\n");
	vmm_teardown(&v);
}

/* ---- a queue handed over stopped at an error ---- */

/* The GERROR interrupt was not signalled since the last look. */
static bool gerror_quiet(const struct vmm *v)
{
	uint64_t n;

	return read(v->gerror_efd, &n, sizeof(n)) < 0 && errno == EAGAIN;
}

/*
 * Defect 4. A queue handed over stopped at a command error (CONS =
 * 5 | CERROR_ILL << 24, GERROR.CMDQ_ERR active and not acknowledged, PROD
 * ahead with entries pending, the illegal command at CONS in guest
 * memory) stays stopped: neither the allocation nor the guest's PROD
 * store runs anything, CONS keeps its ERR and GERROR is not toggled
 * again, until the guest puts a CMD_SYNC over the failing entry and
 * acknowledges in GERRORN. Then the pending entries and the guest's new
 * ones run, in order. The guest stops at REG_PAUSE between its fix and
 * its acknowledgment so the VMM can look.
 */
TEST(takeover_keeps_error_stop)
{
	const uint32_t at = 5, err_cons = at | 1U << 24;
	const struct vmm_cmd pending[3] = {
		cmd_tlbi_s2_ipa(0x90000000),	/* illegal: where it stopped */
		cmd_tlbi_nh_asid(0x7d1),
		cmd_sync(),
	};
	struct iommu_hw_queue_arm_smmuv3_cmdq_sw d;
	struct vcmdq_sw_stats st;
	struct vmm_batch b = {};
	unsigned int i;
	struct vmm v;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	for (i = 0; i < 3; i++)
		memcpy(v.ram + QUEUE_GPA + (at + i) * 16, pending[i].w, 16);
	vmm_fill_alloc(&v, &d);
	d.cons = err_cons;
	d.prod = at + 3;
	d.gerror = 1;			/* CMDQ_ERR active: GERROR ^ GERRORN */
	d.gerrorn = 0;
	ASSERT_EQ(0, vmm_alloc_queue_data(&v, &d, 0));
	ASSERT_EQ(0, vmm_start_events(&v));

	/* the allocation ran nothing (it may have tried at once) */
	usleep(100000);
	ASSERT_EQ(0, vmm_stats(&v, &st));
	EXPECT_EQ(0ULL, st.cmds);
	EXPECT_EQ(err_cons, vmm_reg(&v, v.cons_off));
	EXPECT_EQ(at + 3, vmm_reg(&v, v.prod_off));
	EXPECT_EQ(1U, vmm_reg(&v, v.gerror_off));
	EXPECT_EQ(0U, vmm_reg(&v, v.gerrorn_off));
	EXPECT_TRUE(gerror_quiet(&v));

	/*
	 * The guest posts a batch after the pending entries and stores PROD,
	 * sees CONS.ERR, puts a CMD_SYNC over the illegal entry and pauses
	 * before acknowledging: still nothing ran.
	 */
	batch_add(&b, cmd_tlbi_nh_asid(0x7d2));
	batch_sync(&b, false);
	b.pause_on_error = true;
	v.start_at_prod = true;
	ASSERT_EQ(0, vmm_load(&v, &b, 1, 1));
	ASSERT_EQ(VMM_PAUSED, vmm_run(&v, 20))
		TH_LOG("the guest never saw the error it was handed over with");
	ASSERT_EQ(0, vmm_stats(&v, &st));
	EXPECT_EQ(1ULL, st.doorbells);
	EXPECT_EQ(0ULL, st.cmds) TH_LOG("the stopped queue ran commands");
	EXPECT_EQ(err_cons, vmm_reg(&v, v.cons_off));
	EXPECT_EQ(at + 5, vmm_reg(&v, v.prod_off));
	EXPECT_EQ(1U, vmm_reg(&v, v.gerror_off));
	EXPECT_EQ(0U, vmm_reg(&v, v.gerrorn_off));
	EXPECT_TRUE(gerror_quiet(&v));

	/* the acknowledgment: all of it runs */
	ASSERT_EQ(0, vmm_run(&v, 20));
	ASSERT_GUEST_OK(&v, 1);
	EXPECT_EQ(0x101ULL, vmm_result(&v, 1))
		TH_LOG("guest saw 0x%llx (errors << 8 | CONS.ERR)",
		       (unsigned long long)vmm_result(&v, 1));
	EXPECT_EQ(at + 5, vmm_reg(&v, v.cons_off));
	EXPECT_EQ(1U, vmm_reg(&v, v.gerror_off));
	EXPECT_EQ(1U, vmm_reg(&v, v.gerrorn_off));
	EXPECT_TRUE(gerror_quiet(&v));
	ASSERT_EQ(0, vmm_stats(&v, &st));
	EXPECT_EQ(5ULL, st.cmds);		/* the fix, 2 pending, 2 new */
	EXPECT_EQ(3ULL, st.guest_syncs);
	EXPECT_EQ(0ULL, st.errors);
	vmm_stop_events(&v);
	EXPECT_EQ(0U, v.nr_exit_events);
	EXPECT_EQ(0U, v.nr_other_events) TH_LOG("the VMM got a FAULT");
	EXPECT_EQ(0, v.events_error);
	printf("# trace-order takeover-error-order: invalidate asid=2001\\b => invalidate asid=2002\\b\n");
	printf("# trace-forbid takeover-error-ill: smmuv3_range_inval .*addr=0x90000000 .*stage=2\n");
	vmm_teardown(&v);
}

/* ---- the queues of a vIOMMU ---- */

/*
 * The queues of a vIOMMU share one register page, as the logical VCMDQs
 * of a tegra241 VINTF do (queue i's registers at i * 0x80): each queue
 * offers it at an mmap offset of its own, the page holds every queue's
 * registers in its block, and the queues must agree on where the guest
 * sees it. A mapping holds only the queue whose offset it used: queue 1
 * is -EBUSY to destroy while its own offset is mapped and goes once that
 * is unmapped, though queue 0's mapping of the same page stays; queue 0
 * runs on.
 */
TEST(queues_share_register_page)
{
	struct iommu_hw_queue_arm_smmuv3_cmdq_sw d0, d1;
	const uint64_t q1 = QUEUE_GPA + 0x1000;
	struct vmm_batch b = {};
	uint8_t *p1;
	struct vmm v;
	int id;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_TEGRA241, 8));
	vmm_fill_alloc(&v, &d0);
	ASSERT_EQ(0, vmm_alloc_queue_data(&v, &d0, 0));

	vmm_fill_alloc(&v, &d1);
	d1.reg_gpa = REG_GPA + 0x1000;
	id = try_alloc(&v, &d1, q1, 16 << 8, 1, sizeof(d1));
	EXPECT_EQ(-EINVAL, id) TH_LOG("queue 1 with its page elsewhere");
	vmm_fill_alloc(&v, &d1);
	d1.cons = 5;			/* nothing pending */
	d1.prod = 5;
	id = try_alloc(&v, &d1, q1, 16 << 8, 1, sizeof(d1));
	ASSERT_LT(0, id) TH_LOG("queue 1: %s", strerror(-id));
	EXPECT_NE(d0.out_reg_mmap_offset, d1.out_reg_mmap_offset);

	/* queue 1's registers, in its block of the page queue 0 mapped */
	EXPECT_EQ(5U, vmm_reg(&v, 0x80 + 0x0));		/* CONS */
	EXPECT_EQ(5U, vmm_reg(&v, 0x80 + 0x4));		/* PROD */
	/* queue 1's offset maps the same page */
	p1 = mmap(NULL, d1.out_reg_mmap_length, PROT_READ | PROT_WRITE,
		  MAP_SHARED, v.st.iommufd, d1.out_reg_mmap_offset);
	ASSERT_NE(MAP_FAILED, p1);
	__atomic_store_n((uint32_t *)(v.regs + 0x108), 0xa5a5U,
			 __ATOMIC_RELEASE);	/* block 2: no queue there */
	EXPECT_EQ(0xa5a5U, __atomic_load_n((uint32_t *)(p1 + 0x108),
					   __ATOMIC_ACQUIRE));
	EXPECT_EQ(5U, __atomic_load_n((uint32_t *)(p1 + 0x84),
				      __ATOMIC_ACQUIRE));

	EXPECT_EQ(-EBUSY, destroy(v.st.iommufd, id))
		TH_LOG("queue 1 destroyed under a mapping of its offset");
	ASSERT_EQ(0, munmap(p1, d1.out_reg_mmap_length));
	EXPECT_EQ(0, destroy(v.st.iommufd, id))
		TH_LOG("queue 1 held by queue 0's mapping");
	close(d1.out_event_fd);

	batch_add(&b, cmd_tlbi_nh_asid(0x831));
	batch_sync(&b, false);
	ASSERT_EQ(0, vmm_load(&v, &b, 1, 1));
	ASSERT_EQ(0, vmm_run(&v, 20));
	ASSERT_GUEST_OK(&v, 1);
	EXPECT_EQ(2U, vmm_reg(&v, v.cons_off));
	printf("# trace-expect shared-page-queue-0: invalidate asid=2097 " VMID_RE "\n");
	vmm_teardown(&v);
}

/* ---- the inline consumer ---- */

#define VCPU1_CODE	0x8000UL	/* guest_gerrorn_loop */
#define VCPU1_STOP	0x9000UL	/* its stop flag */
#define VCPU1_COUNT	0x9008UL	/* its stores */

/* A further vCPU of the test VM, with its own thread. */
struct vcpu1 {
	struct vmm *v;
	int fd;
	int cpu;		/* the CPU its thread runs on */
	struct kvm_run *run;
	int err;		/* 0, or the negative errno that stopped it */
	bool done;		/* it reached its final store (__atomic) */
	bool stop;		/* vcpu1_join() gave up on it (__atomic) */
	uint64_t last_exit;	/* MMIO address of an unexpected exit */
};

/* vCPU @id of @v, run on CPU @cpu, starting at @pc with x0.. = @regs */
static int vcpu1_create(struct vcpu1 *c, struct vmm *v, unsigned int id,
			int cpu, uint64_t pc, const uint64_t *regs,
			unsigned int nregs)
{
	memset(c, 0, sizeof(*c));
	c->v = v;
	c->cpu = cpu;
	return kvm_vcpu_add(&v->vm, id, pc, regs, nregs, &c->fd, &c->run);
}

/* vCPU @id on CPU @cpu, storing GERRORN in a loop (guest_gerrorn_loop) */
static int vcpu1_create_gerrorn(struct vcpu1 *c, struct vmm *v,
				unsigned int id, int cpu)
{
	const uint64_t regs[10] = {
		REG_GPA, VCPU1_STOP, VCPU1_COUNT, 0, 0, 0, 0, 0, 0,
		v->gerrorn_off,
	};

	memcpy(v->ram + VCPU1_CODE, guest_gerrorn_loop_start,
	       guest_gerrorn_loop_end - guest_gerrorn_loop_start);
	memset(v->ram + VCPU1_STOP, 0, 16);
	return vcpu1_create(c, v, id, cpu, VCPU1_CODE, regs, 10);
}

static void *vcpu1_thread(void *arg)
{
	struct vcpu1 *c = arg;

	/* Mostly the other CPU than vCPU 0's: the doorbells really race */
	c->err = pin_to_cpu(c->cpu);
	if (c->err)
		return NULL;
	for (;;) {
		if (ioctl(c->fd, KVM_RUN, 0) && errno != EINTR) {
			c->err = -errno;
			return NULL;
		}
		if (__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
			c->err = -ETIMEDOUT;
			return NULL;
		}
		if (c->run->exit_reason != KVM_EXIT_MMIO)
			continue;
		if (c->run->mmio.phys_addr == REG_GPA + REG_PAUSE) {
			__atomic_store_n(&c->done, true, __ATOMIC_RELEASE);
			return NULL;
		}
		/* the trap path's register accesses; on the fast path, none */
		if (c->v->mode == VMM_TRAP &&
		    !vmm_trap_access(c->v, c->run))
			continue;
		c->last_exit = c->run->mmio.phys_addr;
		c->err = -EPROTO;
		return NULL;
	}
}

/* Wait up to @secs for vCPU 1 to finish, then stop it; its error or 0. */
static int vcpu1_join(struct vcpu1 *c, pthread_t t, unsigned int secs)
{
	unsigned int ms;

	for (ms = 0; ms < secs * 1000; ms += 10) {
		if (__atomic_load_n(&c->done, __ATOMIC_ACQUIRE))
			break;
		usleep(10000);
	}
	if (!__atomic_load_n(&c->done, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&c->stop, true, __ATOMIC_RELEASE);
		/* vmm_run() set SIGALRM's handler: KVM_RUN returns EINTR */
		pthread_kill(t, SIGALRM);
	}
	pthread_join(t, NULL);
	return c->err;
}

static void vcpu1_destroy(struct vcpu1 *c)
{
	if (c->run)
		munmap(c->run, c->v->vm.run_size);
	if (c->fd > 0)
		close(c->fd);
}

static void print_inline_stats(const char *name, const struct vcmdq_sw_stats *st)
{
	printf("# %s: %llu doorbells, %llu inline turns, %llu found a consumer running, %llu hand-overs, %llu worker turns, %llu commands, %llu host batches\n",
	       name, (unsigned long long)st->doorbells,
	       (unsigned long long)st->inline_turns,
	       (unsigned long long)st->inline_busy,
	       (unsigned long long)st->handovers,
	       (unsigned long long)st->wakes, (unsigned long long)st->cmds,
	       (unsigned long long)st->batches);
}

#define HANDOVER_EVENT	"/sys/kernel/tracing/events/vcmdq_sw/vcmdq_sw_handover/enable"

/*
 * One store posting more entries than an inline turn may take
 * (the module's inline_entries): the vCPU consumes its share, the worker
 * finishes the batch, and the guest sees every batch complete. The turn
 * must stop on its entry budget, not on its time bound
 * (inline_us): the batch is a TLBI_NH_VA, CMD_SYNCs (CS=NONE
 * with nothing to sync: consumed without a host command), a TLBI_NH_VA
 * and a CMD_SYNC by MSI, so the budget is used up in far less than the
 * time bound. Which bound fired shows in the handover tracepoint's CONS:
 * the entry budget stops a turn exactly inline_entries entries
 * after the start of its batch. A turn may still stop early on a pending
 * reschedule (then at a chunk boundary); at least one per run must stop
 * on the budget.
 */
TEST(inline_handover)
{
	const unsigned int entries = vmm_module_param("inline_entries");
	const unsigned int nrun = 4, nva = entries + 44;
	static char buf[1 << 16];
	unsigned int i, k, at_budget = 0, others = 0;
	struct vcmdq_sw_stats st;
	struct vmm_batch b = {};
	struct vmm v;
	char *l;
	ssize_t n;
	int fd;

	batch_add(&b, cmd_tlbi_nh_va(0x6e1, 0x78000000));
	for (i = 1; i < nva - 1; i++)
		batch_add(&b, cmd_sync());
	batch_add(&b, cmd_tlbi_nh_va(0x6e1, 0x78000000 + (nva - 1) * 0x1000));
	batch_sync(&b, true);
	ASSERT_EQ(nva + 1, b.n);
	ASSERT_EQ(0, vmm_write_file("/sys/kernel/tracing/trace", ""));
	ASSERT_EQ(0, vmm_write_file(HANDOVER_EVENT, "1"))
		TH_LOG("tracefs: %s", strerror(errno));
	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 9));
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	ASSERT_EQ(0, vmm_load(&v, &b, 1, nrun));
	ASSERT_EQ(0, vmm_run(&v, 60));
	ASSERT_GUEST_OK(&v, nrun);
	ASSERT_EQ(0, vmm_stats(&v, &st));
	EXPECT_EQ(0, vmm_write_file(HANDOVER_EVENT, "0"));
	fd = open("/sys/kernel/tracing/trace", O_RDONLY);
	ASSERT_LE(0, fd);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ASSERT_LE(0, n);
	buf[n] = 0;
	/* CONS of each hand-over against where each batch starts */
	for (l = strstr(buf, "vcmdq_sw_handover: "); l;
	     l = strstr(l + 1, "vcmdq_sw_handover: ")) {
		unsigned int q, cons;
		bool budget = false;

		if (sscanf(l, "vcmdq_sw_handover: q=%u cons=0x%x", &q, &cons) != 2)
			continue;
		for (k = 0; k < nrun; k++)
			budget |= cons == ((k * b.n + entries) &
					   0x3ff);
		at_budget += budget;
		others += !budget;
		printf("# inline_handover: hand-over at CONS 0x%x: %s\n", cons,
		       budget ? "entry budget" : "time bound or reschedule");
	}
	print_inline_stats("inline_handover", &st);
	EXPECT_EQ((unsigned long long)nrun * b.n, (unsigned long long)st.cmds);
	EXPECT_LE(1ULL, st.inline_turns);
	EXPECT_LE(1ULL, st.handovers) TH_LOG("no inline turn handed over");
	EXPECT_EQ(st.handovers, (unsigned long long)(at_budget + others))
		TH_LOG("the trace has %u hand-overs, the stats %llu",
		       at_budget + others, (unsigned long long)st.handovers);
	EXPECT_LE(1U, at_budget)
		TH_LOG("no inline turn stopped on its entry budget (%u entries)",
		       entries);
	EXPECT_LE(1ULL, st.wakes) TH_LOG("the worker never ran");
	EXPECT_EQ(0UL, v.kvm_exits);
	printf("# trace-count inline-handover-first: %u: smmuv3_range_inval " VMID_RE " asid=1761 addr=0x78000000\\b\n",
	       nrun);
	printf("# trace-count inline-handover-last: %u: smmuv3_range_inval " VMID_RE " asid=1761 addr=0x%x\\b\n",
	       nrun, 0x78000000 + (nva - 1) * 0x1000);
	vmm_teardown(&v);
}

/*
 * Two vCPUs ring the queue's doorbells at once: vCPU 0 runs a stream
 * (large batches the inline consumer hands over, and small ones), vCPU 1
 * stores GERRORN in a loop, each store a doorbell that takes the consumer
 * if it is free. Every batch completes, every command runs once and vCPU
 * 1 never exits. This does not show that a PROD store finding the
 * consumer taken is picked up by the holder's second look (vCPU 1's
 * next store, or the worker after a hand-over, picks it up within
 * microseconds; inline_busy counts GERRORN stores too):
 * inline_no_lost_doorbell does.
 */
TEST(inline_gerrorn_contender)
{
	const unsigned int nrun = 60,
			   nva = vmm_module_param("inline_entries") + 20;
	const uint32_t one = 1;
	struct vcmdq_sw_stats st;
	struct vmm_batch b[3] = {};
	uint64_t stores;
	unsigned int i, round, rounds;
	struct vcpu1 c;
	pthread_t t;
	struct vmm v;

	for (i = 0; i < nva; i++)
		batch_add(&b[0], cmd_tlbi_nh_va(0x6e2, 0x79000000 + i * 0x1000));
	batch_sync(&b[0], true);
	batch_add(&b[1], cmd_tlbi_nh_asid(0x6e3));
	batch_sync(&b[1], false);
	for (i = 0; i < 31; i++)
		batch_add(&b[2], cmd_tlbi_nh_va(0x6e4, 0x7a000000 + i * 0x1000));
	batch_sync(&b[2], true);

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 9));
	ASSERT_EQ(0, pin_to_cpu(0));
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	ASSERT_EQ(0, vcpu1_create_gerrorn(&c, &v, 1, 1)) TH_LOG("second vCPU");
	ASSERT_EQ(0, pthread_create(&t, NULL, vcpu1_thread, &c));
	/*
	 * Until a doorbell has found the consumer taken (a few rounds at
	 * most: the two vCPUs run on two CPUs); each round a whole stream.
	 */
	for (round = 0; round < 5; round++) {
		ASSERT_EQ(0, vmm_load(&v, b, 3, nrun));
		ASSERT_EQ(0, vmm_run(&v, 120))
			TH_LOG("vCPU 0's stream did not finish: a lost doorbell?");
		ASSERT_GUEST_OK(&v, nrun);
		ASSERT_EQ(0, vmm_stats(&v, &st));
		if (st.inline_busy)
			break;
	}
	rounds = round < 5 ? round + 1 : 5;
	memcpy(v.ram + VCPU1_STOP, &one, sizeof(one));
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	pthread_join(t, NULL);
	memcpy(&stores, v.ram + VCPU1_COUNT, sizeof(stores));
	EXPECT_EQ(0, c.err) TH_LOG("vCPU 1: %s (exit at 0x%llx)",
				   strerror(-c.err),
				   (unsigned long long)c.last_exit);
	EXPECT_TRUE(c.done);
	ASSERT_EQ(0, vmm_stats(&v, &st));
	print_inline_stats("inline_gerrorn_contender", &st);
	printf("# inline_gerrorn_contender: %u rounds of %u batches; vCPU 1 stored GERRORN %llu times\n",
	       rounds, nrun, (unsigned long long)stores);
	EXPECT_EQ((unsigned long long)rounds * nrun / 3 *
		  (b[0].n + b[1].n + b[2].n), (unsigned long long)st.cmds);
	EXPECT_LE(1ULL, st.handovers) TH_LOG("no hand-over happened");
	EXPECT_LE(1ULL, st.inline_busy)
		TH_LOG("no doorbell found the consumer taken: no contention");
	EXPECT_LT(0ULL, stores);
	printf("# trace-count inline-no-lost-last-va: %u: smmuv3_range_inval " VMID_RE " asid=1762 addr=0x%x\\b\n",
	       rounds * nrun / 3, 0x79000000 + (nva - 1) * 0x1000);
	printf("# trace-count inline-no-lost-asid: %u: invalidate asid=1763 " VMID_RE "\n",
	       rounds * nrun / 3);
	vcpu1_destroy(&c);
	vmm_teardown(&v);
}

/* guest_store_on_go's control block, in guest RAM (u32 words) */
enum { SOG_ROUND, SOG_VALUE, SOG_OFF, SOG_WAIT, SOG_FROM, SOG_ACK, SOG_SEEN,
       SOG_STOP, SOG_DIST, SOG_MASK, SOG_READY };
#define SOG_CODE	0xa000UL
#define SOG_CTL(i)	(0xb000UL + (i) * 0x100)

static uint32_t *sog_ctl(struct vmm *v, unsigned int i)
{
	return (uint32_t *)(v->ram + SOG_CTL(i));
}

/* vCPU @id on CPU @cpu running guest_store_on_go on control block @i */
static int sog_create(struct vcpu1 *c, struct vmm *v, unsigned int id,
		      int cpu, unsigned int i)
{
	const uint64_t regs[8] = {
		REG_GPA, SOG_CTL(i), 0, 0, 0, 0, 0, v->cons_off,
	};

	memcpy(v->ram + SOG_CODE, guest_store_on_go_start,
	       guest_store_on_go_end - guest_store_on_go_start);
	memset(sog_ctl(v, i), 0, 0x100);
	return vcpu1_create(c, v, id, cpu, SOG_CODE, regs, 8);
}

static void queue_put(struct vmm *v, uint32_t ptr, struct vmm_cmd c)
{
	uint32_t idx = ptr & ((1U << v->log2size) - 1);

	memcpy(v->ram + QUEUE_GPA + (size_t)idx * sizeof(c), &c, sizeof(c));
}

static bool stress(void);

/*
 * vCPU A's batch: NLD_CHEAP CMD_SYNCs with nothing to sync (three of the
 * inline turn's chunks, consumed in microseconds), then a last chunk of
 * nld_long - NLD_CHEAP - 1 TLBI_NH_ASIDs and a CMD_SYNC, one host batch
 * that takes the emulated SMMU a long while: B stores in that while.
 * nld_long is one under the module's inline_entries, so the turn never
 * hands over on its entry budget.
 */
#define NLD_CHEAP	(3 * 64)
#define NLD_ROUNDS	200
#define NLD_STRESS_ROUNDS	1000
/*
 * Few rounds catch B's store inside A's turn (1 to 8 in 200 rounds to 1 in
 * 1850 on this rig, TCG):
 * past NLD_ROUNDS the test goes on, in steps of NLD_STEP, until one has,
 * up to NLD_MAX_ROUNDS. The counters are read between rounds only, when
 * both vCPUs wait and nothing is left to consume.
 */
#define NLD_STEP	50
#define NLD_MAX_ROUNDS	3000

/*
 * A PROD store that finds the inline consumer taken leaves its PROD to
 * the holder, which looks at KICKED again after unlocking; without that
 * second look the store is lost. Nothing else may pick it up here, so
 * that a lost store shows: the only stores are PROD stores (no GERRORN,
 * so inline_busy counts only them), no hand-over wakes the worker (A's
 * batch is under the entry budget, its cheap part far under the time
 * bound), the VMM makes no call on the queue while the guest runs (an
 * ioctl's unlock would kick the worker), and neither vCPU stores again
 * until the round is complete.
 *
 * Each round vCPU A stores PROD over its batch (see NLD_CHEAP), its
 * doorbell consuming it inline; vCPU B, watching CONS before A stores,
 * waits until CONS has passed the cheap part (A has read PROD for its
 * last chunk and issues it), then stores PROD over two more entries
 * (TLBI_NH_ASID, CMD_SYNC). B's store
 * mostly finds A's turn running; then only A's second look completes the
 * round. A round that does not complete is a lost doorbell. At least one
 * store must have found the consumer taken (inline_busy), or nothing was
 * tested: the test then reports a skip, not a pass (see NLD_STEP).
 */
TEST(inline_no_lost_doorbell)
{
	const unsigned int nld_long = vmm_module_param("inline_entries") - 1;
	const unsigned int rounds = stress() ? NLD_STRESS_ROUNDS : NLD_ROUNDS;
	const uint32_t per = nld_long + 2;
	unsigned int r, i, ran = 0, done = 0, mid_turn = 0;
	uint32_t mask, p, cons = 0;
	struct vcmdq_sw_stats st = {};
	struct vcpu1 a, b;
	pthread_t ta, tb;
	uint64_t end;
	struct vmm v;
	bool ok;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 9));
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	mask = (2U << v.log2size) - 1;
	ASSERT_EQ(0, sog_create(&a, &v, 1, 0, 0)) TH_LOG("vCPU A");
	ASSERT_EQ(0, sog_create(&b, &v, 2, 1, 1)) TH_LOG("vCPU B");
	ASSERT_EQ(0, pthread_create(&ta, NULL, vcpu1_thread, &a));
	ASSERT_EQ(0, pthread_create(&tb, NULL, vcpu1_thread, &b));

	p = vmm_reg(&v, v.cons_off) & mask;
	for (r = 1; r <= NLD_MAX_ROUNDS; r++) {
		uint32_t *ca = sog_ctl(&v, 0), *cb = sog_ctl(&v, 1);

		if (r > rounds && !((r - 1) % NLD_STEP)) {
			/* between rounds: both vCPUs wait, the queue is empty */
			ASSERT_EQ(0, vmm_stats(&v, &st));
			if (st.inline_busy)
				break;
		}
		ran++;

		for (i = 0; i < NLD_CHEAP; i++)
			queue_put(&v, p + i, cmd_sync());
		for (; i < nld_long - 1; i++)
			queue_put(&v, p + i, cmd_tlbi_nh_asid(0x6e6));
		queue_put(&v, p + i, cmd_sync());
		queue_put(&v, p + nld_long, cmd_tlbi_nh_asid(0x6e5));
		queue_put(&v, p + nld_long + 1, cmd_sync());
		ca[SOG_VALUE] = (p + nld_long) & mask;
		ca[SOG_OFF] = v.prod_off;
		ca[SOG_WAIT] = 0;
		cb[SOG_VALUE] = (p + per) & mask;
		cb[SOG_OFF] = v.prod_off;
		cb[SOG_WAIT] = 1;
		cb[SOG_FROM] = p;
		cb[SOG_DIST] = NLD_CHEAP;
		cb[SOG_MASK] = mask;
		/* generous: a round takes a few milliseconds */
		end = vmm_now_ns() + 10000000000ULL;
		/* B watches CONS before A stores */
		__atomic_store_n(&cb[SOG_ROUND], r, __ATOMIC_RELEASE);
		while (__atomic_load_n(&cb[SOG_READY], __ATOMIC_ACQUIRE) != r &&
		       vmm_now_ns() < end && !b.err)
			usleep(20);
		__atomic_store_n(&ca[SOG_ROUND], r, __ATOMIC_RELEASE);
		do {
			cons = vmm_reg(&v, v.cons_off);
			ok = __atomic_load_n(&ca[SOG_ACK], __ATOMIC_ACQUIRE) == r &&
			     __atomic_load_n(&cb[SOG_ACK], __ATOMIC_ACQUIRE) == r &&
			     cons == ((p + per) & mask);
			if (!ok)
				usleep(50);
		} while (!ok && vmm_now_ns() < end && !a.err && !b.err);
		if (!ok)
			break;
		/* B stored before A's turn had published its last CONS */
		i = __atomic_load_n(&cb[SOG_SEEN], __ATOMIC_ACQUIRE);
		mid_turn += i != ((p + nld_long) & mask);
		p = (p + per) & mask;
		done++;
	}
	EXPECT_EQ(ran, done)
		TH_LOG("round %u: CONS 0x%x, PROD 0x%x, want 0x%x: B's store was lost (A acked %u, B acked %u)",
		       done + 1, cons, vmm_reg(&v, v.prod_off), (p + per) & mask,
		       sog_ctl(&v, 0)[SOG_ACK], sog_ctl(&v, 1)[SOG_ACK]);
	__atomic_store_n(&sog_ctl(&v, 0)[SOG_STOP], 1, __ATOMIC_RELEASE);
	__atomic_store_n(&sog_ctl(&v, 1)[SOG_STOP], 1, __ATOMIC_RELEASE);
	EXPECT_EQ(0, vcpu1_join(&a, ta, 10)) TH_LOG("vCPU A: exit at 0x%llx",
						  (unsigned long long)a.last_exit);
	EXPECT_EQ(0, vcpu1_join(&b, tb, 10)) TH_LOG("vCPU B: exit at 0x%llx",
						  (unsigned long long)b.last_exit);
	ASSERT_EQ(0, vmm_stats(&v, &st));
	print_inline_stats("inline_no_lost_doorbell", &st);
	printf("# inline_no_lost_doorbell: %u of %u rounds complete; in %u B stored while A's turn ran (CONS not yet at A's end)\n",
	       done, ran, mid_turn);
	EXPECT_EQ((unsigned long long)done * per, (unsigned long long)st.cmds);
	printf("# trace-count inline-no-lost-asid: %u: invalidate asid=1765 " VMID_RE "\n",
	       done);
	vcpu1_destroy(&a);
	vcpu1_destroy(&b);
	vmm_teardown(&v);
	/* without the race nothing was tested: a skip, never a pass */
	if (!st.inline_busy && _metadata->exit_code == KSFT_PASS)
		SKIP(return,
		     "no PROD store found the consumer taken in %u rounds: the race did not happen",
		     ran);
}

/* ---- several vCPUs posting to one queue ---- */

#define VCPU1_RES_GPA		0x20000UL	/* vCPU 1's results */
#define VCPU1_SCRIPT_GPA	0x200000UL	/* vCPU 1's script */
#define MP_ROUNDS		300
#define MP_STRESS_ROUNDS	4000

static bool stress(void)
{
	const char *e = getenv("VCMDQ_STRESS");

	return e && *e == '1';
}

/*
 * One VM whose vCPU 0 (and vCPU 1 with @nvcpus 2) run guest_cmdq_mp on the
 * same queue, vCPU i posting TLBI_NH_VA(@asid + i) + CMD_SYNC(MSI) per
 * batch, as a strict-mode DMA unmap does; with @gerrorn a further vCPU
 * stores GERRORN all along. Per-batch latency over every posting vCPU.
 */
struct mp_run {
	enum vmm_mode mode;
	int consumer;		/* VCMDQ_SW_CONSUMER_*, -1: the default */
	uint32_t poll_us;
	unsigned int nvcpus;
	bool gerrorn;
	unsigned int rounds;	/* batches per posting vCPU */
	uint16_t asid;
	/* results */
	double p50, p99, exits_per_batch;
	double owner_wait_us;	/* per batch: waiting for the last PROD store */
	double own_p50, own_p99;	/* of each batch's time less that wait */
	uint64_t gathered;	/* PROD stores publishing two vCPUs' batches */
	struct vcmdq_sw_stats st;
	uint64_t gerrorn_stores;
	double secs;
};

static void run_mp(struct __test_metadata *_metadata, struct mp_run *r)
{
	static uint64_t t[2 * 4096], own[2 * 1024];
	const uint32_t one = 1;
	struct vmm_batch b[2] = {};
	uint64_t regs[VMM_MP_NREGS], done1, n0, w1 = 0, g1 = 0;
	unsigned int i, n = 0, nown = 0, total;
	struct vcpu1 c[2] = {};
	struct timespec t0, t1;
	pthread_t th[2];
	struct vmm v;

	ASSERT_GE(4096U, r->rounds);
	for (i = 0; i < 2; i++) {
		batch_add(&b[i], cmd_tlbi_nh_va(r->asid + i,
						0x7c000000 + i * 0x100000));
		batch_sync(&b[i], true);
	}
	ASSERT_EQ(0, vmm_setup(&v, r->mode, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	/* the worker on CPU 1, vCPU 0 on CPU 0, as in trap_vs_fast */
	ASSERT_EQ(0, pin_to_cpu(1));
	v.poll_us = r->poll_us;
	if (r->mode == VMM_FAST) {
		ASSERT_EQ(0, vmm_alloc_queue(&v));
		if (r->consumer >= 0)
			ASSERT_EQ(0, vmm_set_consumer(&v, r->consumer,
						      r->poll_us));
	}
	ASSERT_EQ(0, pin_to_cpu(0));
	ASSERT_EQ(0, vmm_load_mp(&v, &b[0], 1, r->rounds));
	if (r->nvcpus > 1) {
		ASSERT_EQ(0, vmm_put_script(&v, VCPU1_SCRIPT_GPA, &b[1], 1));
		memset(v.ram + VCPU1_RES_GPA, 0, 24 + 4096 * 8);
		vmm_mp_regs(&v, VCPU1_SCRIPT_GPA, 1, VCPU1_RES_GPA, r->rounds,
			    REG_PAUSE, regs);
		ASSERT_EQ(0, vcpu1_create(&c[0], &v, 1, 1, 0, regs,
					  VMM_MP_NREGS));
	}
	if (r->gerrorn)
		ASSERT_EQ(0, vcpu1_create_gerrorn(&c[1], &v, 2, 1));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 2; i++)
		if (c[i].run)
			ASSERT_EQ(0, pthread_create(&th[i], NULL, vcpu1_thread,
						    &c[i]));
	EXPECT_EQ(0, vmm_run(&v, 600)) TH_LOG("vCPU 0 did not finish");
	if (c[0].run)
		EXPECT_EQ(0, vcpu1_join(&c[0], th[0], 120))
			TH_LOG("vCPU 1 did not finish (exit at 0x%llx)",
			       (unsigned long long)c[0].last_exit);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (c[1].run) {
		memcpy(v.ram + VCPU1_STOP, &one, sizeof(one));
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		EXPECT_EQ(0, vcpu1_join(&c[1], th[1], 60))
			TH_LOG("the GERRORN vCPU (exit at 0x%llx)",
			       (unsigned long long)c[1].last_exit);
		memcpy(&r->gerrorn_stores, v.ram + VCPU1_COUNT, 8);
	}
	r->secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	ASSERT_NE(KSFT_FAIL, _metadata->exit_code);

	n0 = vmm_result(&v, 2);
	memcpy(&done1, v.ram + VCPU1_RES_GPA + 16, 8);
	if (r->nvcpus > 1) {
		memcpy(&w1, v.ram + VCPU1_RES_GPA, 8);
		memcpy(&g1, v.ram + VCPU1_RES_GPA + 8, 8);
	}
	EXPECT_EQ((uint64_t)r->rounds, n0);
	if (r->nvcpus > 1)
		EXPECT_EQ((uint64_t)r->rounds, done1);
	for (i = 0; i < r->rounds; i++) {
		uint64_t lat, wait;

		t[n++] = vmm_result(&v, 3 + i);
		if (i < 1024) {
			memcpy(&wait, v.ram + RES_GPA + 0x8100 + 8 * i, 8);
			own[nown++] = t[n - 1] - wait;
		}
		if (r->nvcpus == 1)
			continue;
		memcpy(&lat, v.ram + VCPU1_RES_GPA + 24 + 8 * i, 8);
		t[n++] = lat;
		if (i < 1024) {
			memcpy(&wait, v.ram + VCPU1_RES_GPA + 0x8100 + 8 * i, 8);
			own[nown++] = lat - wait;
		}
	}
	qsort(own, nown, sizeof(own[0]), cmp_u64);
	r->own_p50 = vmm_ticks_to_us(own[nown / 2]);
	r->own_p99 = vmm_ticks_to_us(own[nown * 99 / 100]);
	qsort(t, n, sizeof(t[0]), cmp_u64);
	r->p50 = vmm_ticks_to_us(t[n / 2]);
	r->p99 = vmm_ticks_to_us(t[n * 99 / 100]);
	total = r->rounds * r->nvcpus;
	r->owner_wait_us = vmm_ticks_to_us(vmm_result(&v, 0) + w1) / total;
	r->gathered = vmm_result(&v, 1) + g1;
	r->exits_per_batch = (double)v.kvm_exits / total;
	if (r->mode == VMM_FAST) {
		ASSERT_EQ(0, vmm_stats(&v, &r->st));
		EXPECT_EQ(2ULL * total, (unsigned long long)r->st.cmds)
			TH_LOG("commands lost or run twice");
		EXPECT_EQ(0ULL, r->st.exits);
		EXPECT_EQ(0UL, v.kvm_exits);
	} else {
		EXPECT_LE(1UL, v.kvm_exits);
	}
	for (i = 0; i < r->nvcpus; i++)
		printf("# trace-count mp-%s-%u-vcpu%u: %u: smmuv3_range_inval " VMID_RE " asid=%u addr=0x%x\\b\n",
		       r->mode == VMM_FAST ? "fast" : "trap", r->asid, i,
		       r->rounds, r->asid + i, 0x7c000000 + i * 0x100000);
	vcpu1_destroy(&c[0]);
	vcpu1_destroy(&c[1]);
	vmm_teardown(&v);
}

/*
 * make bench-vm's vcpus2 section: per-batch latency of a strict-mode
 * unmap (TLBI_NH_VA + CMD_SYNC with MSI) with one and with two guest vCPUs
 * posting to the same queue at once, trap path against the inline
 * consumer, in one run.
 */
TEST(vcpus2)
{
	static const char *const name[3] = { "trap", "inline", "worker" };
	struct mp_run r[3][2];
	int m, n;

	for (m = 0; m < 3; m++) {
		for (n = 0; n < 2; n++) {
			r[m][n] = (struct mp_run){
				.mode = m ? VMM_FAST : VMM_TRAP,
				.consumer = m == 2 ? VCMDQ_SW_CONSUMER_WORKER : -1,
				.nvcpus = n + 1, .rounds = MP_ROUNDS,
				.asid = 0x7c0 + 4 * (2 * m + n),
			};
			printf("# bench: vcpus2: running %s with %u vCPU(s), %u batches each\n",
			       name[m], n + 1, MP_ROUNDS);
			fflush(stdout);
			run_mp(_metadata, &r[m][n]);
			if (m == 1)
				EXPECT_LT(0ULL, r[m][n].st.inline_turns);
		}
	}
	printf("# bench: vcpus2: per-batch latency of TLBI_NH_VA+SYNC(MSI), %u batches per vCPU; wait = per batch, an owner waiting for the previous owner's PROD store to return (Linux's protocol: one PROD store at a time); gathered = PROD stores that published the other vCPU's batch too\n",
	       MP_ROUNDS);
	for (m = 0; m < 3; m++) {
		printf("# bench: vcpus2 %-6s | 1 vCPU: p50 %.1f us p99 %.1f us, %.2f exits/batch | 2 vCPUs: p50 %.1f us p99 %.1f us, %.2f exits/batch, wait %.1f us, gathered %llu of %u | 2/1 p50 %.2fx p99 %.2fx | less the wait: 2 vCPUs p50 %.1f us p99 %.1f us, 2/1 p50 %.2fx\n",
		       name[m], r[m][0].p50, r[m][0].p99,
		       r[m][0].exits_per_batch, r[m][1].p50, r[m][1].p99,
		       r[m][1].exits_per_batch, r[m][1].owner_wait_us,
		       (unsigned long long)r[m][1].gathered, 2 * MP_ROUNDS,
		       r[m][1].p50 / r[m][0].p50, r[m][1].p99 / r[m][0].p99,
		       r[m][1].own_p50, r[m][1].own_p99,
		       r[m][1].own_p50 / r[m][0].p50);
		for (n = 0; n < 2; n++)
			printf("# bench-json {\"section\": \"vcpus2\", \"stream\": \"unmap\", \"mode\": \"%s\", \"vcpus\": %d, \"p50_us\": %.1f, \"p99_us\": %.1f, \"exits_per_batch\": %.2f, \"owner_wait_us\": %.1f, \"gathered\": %llu, \"less_wait_p50_us\": %.1f, \"less_wait_p99_us\": %.1f}\n",
			       name[m], n + 1, r[m][n].p50, r[m][n].p99,
			       r[m][n].exits_per_batch, r[m][n].owner_wait_us,
			       (unsigned long long)r[m][n].gathered,
			       r[m][n].own_p50, r[m][n].own_p99);
	}
	print_inline_stats("bench: vcpus2 inline, 2 vCPUs", &r[1][1].st);
	printf("# bench: vcpus2: trap/inline with 2 vCPUs p50 %.2fx p99 %.2fx\n",
	       r[0][1].p50 / r[1][1].p50, r[0][1].p99 / r[1][1].p99);
	forbid_guest_ids();
}

/*
 * Two vCPUs posting to one queue (the shared-queue protocol of Linux's
 * driver) and a third storing GERRORN all along, in each consumer mode:
 * every batch completes, every command runs once, nothing exits.
 */
static void run_concurrent(struct __test_metadata *_metadata,
			   const char *name, enum vmm_mode mode, int consumer,
			   uint32_t poll_us, uint16_t asid)
{
	struct mp_run r = {
		.mode = mode, .consumer = consumer, .poll_us = poll_us,
		.nvcpus = 2, .gerrorn = true,
		.rounds = stress() ? MP_STRESS_ROUNDS : MP_ROUNDS,
		.asid = asid,
	};
	unsigned int fails;

	run_mp(_metadata, &r);
	fails = _metadata->exit_code == KSFT_FAIL;
	if (mode == VMM_FAST)
		print_inline_stats(name, &r.st);
	printf("# %s: 2 vCPUs x %u batches, GERRORN stored %llu times, p50 %.1f us p99 %.1f us\n",
	       name, r.rounds, (unsigned long long)r.gerrorn_stores, r.p50,
	       r.p99);
	printf("# reliability {\"scenario\": \"%s\", \"iterations\": %u, \"failures\": %u, \"duration_s\": %.1f}\n",
	       name, 2 * r.rounds, fails, r.secs);
	EXPECT_LT(0ULL, r.gerrorn_stores) TH_LOG("the GERRORN vCPU never ran");
}

TEST(concurrent_vcpus_inline)
{
	run_concurrent(_metadata, "concurrent_vcpus_inline", VMM_FAST,
		       VCMDQ_SW_CONSUMER_INLINE, 0, 0xc10);
}

TEST(concurrent_vcpus_worker)
{
	run_concurrent(_metadata, "concurrent_vcpus_worker", VMM_FAST,
		       VCMDQ_SW_CONSUMER_WORKER, 0, 0xc12);
}

TEST(concurrent_vcpus_worker_poll)
{
	run_concurrent(_metadata, "concurrent_vcpus_worker_poll", VMM_FAST,
		       VCMDQ_SW_CONSUMER_WORKER_POLL, BENCH_POLL_US, 0xc14);
}

TEST(concurrent_vcpus_trap)
{
	run_concurrent(_metadata, "concurrent_vcpus_trap", VMM_TRAP, -1, 0,
		       0xc16);
}

/*
 * Issue 19 item 2: a StreamID the VMM emulates without a vDEVICE (a root
 * port, vSID 0x10 here). Linux sends CFGI_CD and ATC_INV for it; on the
 * main CMDQ each goes to the VMM, in order (the VMM's answer, here a
 * marker TLBI through the trap path, comes between the TLBIs around it),
 * the guest sees no error and the SMMU never sees the vSID.
 */
#define ROOT_PORT_VSID	0x10

TEST(unknown_sid_exits_main_cmdq)
{
	struct vmm_batch b = {};
	struct vcmdq_sw_stats st;
	struct vmm v;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	v.on_exit = exit_handler;
	v.marker_asid = 0x6a2;
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	ASSERT_EQ(0, vmm_start_events(&v));
	batch_add(&b, cmd_tlbi_nh_asid(0x6a1));
	batch_add(&b, cmd_cfgi_cd(ROOT_PORT_VSID));
	batch_add(&b, cmd_atc_inv(ROOT_PORT_VSID, 0));
	batch_add(&b, cmd_tlbi_nh_asid(0x6a3));
	batch_sync(&b, false);
	ASSERT_EQ(0, vmm_load(&v, &b, 1, 1));
	ASSERT_EQ(0, vmm_run(&v, 20));
	ASSERT_GUEST_OK(&v, 1);
	vmm_stop_events(&v);
	EXPECT_EQ(0, v.events_error);
	EXPECT_EQ(0ULL, vmm_result(&v, 1))
		TH_LOG("guest saw 0x%llx (errors << 8 | CONS.ERR)",
		       (unsigned long long)vmm_result(&v, 1));
	EXPECT_EQ(0ULL, v.kvm_exits);
	ASSERT_EQ(2ULL, v.nr_exit_events);
	EXPECT_EQ(1ULL, v.exit_index[0]);
	EXPECT_EQ(1ULL, v.cons_at_exit[0]);
	EXPECT_EQ(OP_CFGI_CD, op_of(v.exit_cmd[0][0]));
	EXPECT_EQ((uint64_t)ROOT_PORT_VSID, v.exit_cmd[0][0] >> 32);
	EXPECT_EQ(2ULL, v.exit_index[1]);
	EXPECT_EQ(OP_ATC_INV, op_of(v.exit_cmd[1][0]));
	EXPECT_EQ((uint64_t)ROOT_PORT_VSID, v.exit_cmd[1][0] >> 32);
	ASSERT_EQ(0, vmm_stats(&v, &st));
	EXPECT_EQ(2ULL, st.exits);
	EXPECT_EQ(0ULL, st.errors);
	EXPECT_EQ(2ULL, st.host_cmds);
	printf("# trace-order unknown-sid-order: invalidate asid=1697\\b => invalidate asid=1698\\b => invalidate asid=1699\\b\n");
	printf("# trace-forbid unknown-sid-issued: sid=0x10\\b\n");
	forbid_guest_ids();
	vmm_teardown(&v);
}

/* The same StreamID on a tegra241 VCMDQ: CERROR_ILL, as a HW VCMDQ has no exit */
TEST(unknown_sid_ill_tegra241)
{
	struct vmm_batch b = {};
	struct vcmdq_sw_stats st;
	struct vmm v;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_TEGRA241, 8));
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	batch_add(&b, cmd_tlbi_nh_asid(0x6a5));
	batch_add(&b, cmd_atc_inv(ROOT_PORT_VSID, 0));
	batch_add(&b, cmd_tlbi_nh_asid(0x6a6));
	batch_sync(&b, false);
	ASSERT_EQ(0, vmm_load(&v, &b, 1, 1));
	ASSERT_EQ(0, vmm_run(&v, 20));
	ASSERT_GUEST_OK(&v, 1);
	EXPECT_EQ(0x101ULL, vmm_result(&v, 1))
		TH_LOG("guest saw 0x%llx (errors << 8 | CONS.ERR)",
		       (unsigned long long)vmm_result(&v, 1));
	ASSERT_EQ(0, vmm_stats(&v, &st));
	EXPECT_EQ(1ULL, st.errors);
	EXPECT_EQ(0ULL, st.exits);
	EXPECT_EQ(2ULL, st.host_cmds);
	printf("# trace-expect unknown-sid-vcmdq: invalidate asid=1702\\b " VMID_RE "\n");
	forbid_guest_ids();
	vmm_teardown(&v);
}

/* The VmFlags line of /proc/self/smaps for the mapping that starts at @addr */
static int smaps_vmflags(const void *addr, char *buf, size_t len)
{
	char line[512], start[32];
	FILE *f = fopen("/proc/self/smaps", "r");
	bool in = false;

	if (!f)
		return -errno;
	snprintf(start, sizeof(start), "%lx-", (unsigned long)addr);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, start, strlen(start)))
			in = true;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			snprintf(buf, len, "%s", line + 8);
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	return -ENOENT;
}

/*
 * The register page's mapping (patch 0006: a kernel page inserted with
 * vm_insert_page()) has what io_remap_pfn_range() gives an MMIO one: it
 * cannot grow past its one page (VM_DONTEXPAND, "de" in smaps; mremap()
 * fails with EFAULT) and stays out of core dumps (VM_DONTDUMP, "dd").
 */
TEST(register_page_fixed_not_dumped)
{
	char flags[512] = "";
	struct vmm v;
	void *r;
	int err;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	ASSERT_EQ(4096UL, v.regs_len);
	ASSERT_EQ(0, smaps_vmflags(v.regs, flags, sizeof(flags)));
	EXPECT_TRUE(strstr(flags, " de") != NULL)
		TH_LOG("VmFlags:%s", flags);
	EXPECT_TRUE(strstr(flags, " dd") != NULL)
		TH_LOG("VmFlags:%s", flags);
	r = mremap(v.regs, 4096, 8192, 0);
	err = errno;
	EXPECT_TRUE(r == MAP_FAILED)
		TH_LOG("the register mapping grew to two pages");
	if (r != MAP_FAILED)
		mremap(r, 8192, 4096, 0);
	else
		EXPECT_EQ(EFAULT, err);
	vmm_teardown(&v);
}

/* ---- the event file's fdinfo ---- */

#define FDINFO_LINE	256

/* The value of "@key:\t..." in /proc/self/fdinfo/@fd: 0, or -errno */
static int fdinfo_word(int fd, const char *key, char buf[FDINFO_LINE])
{
	char path[64], line[FDINFO_LINE];
	size_t klen = strlen(key);
	int ret = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':' &&
		    line[klen + 1] == '\t') {
			line[strcspn(line, "\n")] = 0;
			memmove(buf, line + klen + 2, strlen(line + klen + 2) + 1);
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

/* The same, for a number */
static int fdinfo_get(int fd, const char *key, uint64_t *val)
{
	char buf[FDINFO_LINE], *end;
	int ret = fdinfo_word(fd, key, buf);

	if (ret)
		return ret;
	*val = strtoull(buf, &end, 0);
	return end == buf || *end ? -EINVAL : 0;
}

static const struct {
	const char *key;
	size_t off;
} fdinfo_counters[] = {
	{ "vcmdq_doorbells", offsetof(struct vcmdq_sw_stats, doorbells) },
	{ "vcmdq_cmds", offsetof(struct vcmdq_sw_stats, cmds) },
	{ "vcmdq_host_cmds", offsetof(struct vcmdq_sw_stats, host_cmds) },
	{ "vcmdq_batches", offsetof(struct vcmdq_sw_stats, batches) },
	{ "vcmdq_guest_syncs", offsetof(struct vcmdq_sw_stats, guest_syncs) },
	{ "vcmdq_exits", offsetof(struct vcmdq_sw_stats, exits) },
	{ "vcmdq_errors", offsetof(struct vcmdq_sw_stats, errors) },
	{ "vcmdq_faults", offsetof(struct vcmdq_sw_stats, faults) },
};

/*
 * The event file @evfd's fdinfo against VCMDQ_SW_GET_STATS on it, with
 * the queue idle (nothing can move between the two reads): the identity
 * lines are @id, @index, @layout, not dead, and every counter line equals
 * its field. Fills @st.
 */
static void check_fdinfo(struct __test_metadata *_metadata, int evfd,
			 uint32_t id, uint32_t index, const char *layout,
			 struct vcmdq_sw_stats *st)
{
	char word[FDINFO_LINE] = "";
	uint64_t val;
	unsigned int i;

	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	ASSERT_EQ(0, ioctl(evfd, VCMDQ_SW_GET_STATS, st));
	ASSERT_EQ(0, fdinfo_get(evfd, "vcmdq_id", &val));
	EXPECT_EQ((uint64_t)id, val);
	ASSERT_EQ(0, fdinfo_get(evfd, "vcmdq_index", &val));
	EXPECT_EQ((uint64_t)index, val);
	ASSERT_EQ(0, fdinfo_word(evfd, "vcmdq_layout", word));
	EXPECT_STREQ(layout, word);
	ASSERT_EQ(0, fdinfo_get(evfd, "vcmdq_dead", &val));
	EXPECT_EQ(0ULL, val);
	for (i = 0; i < ARRAY_SIZE(fdinfo_counters); i++) {
		uint64_t want;

		memcpy(&want, (char *)st + fdinfo_counters[i].off, 8);
		ASSERT_EQ(0, fdinfo_get(evfd, fdinfo_counters[i].key, &val))
			TH_LOG("no %s line", fdinfo_counters[i].key);
		EXPECT_EQ(want, val)
			TH_LOG("%s in fdinfo, GET_STATS has %llu",
			       fdinfo_counters[i].key,
			       (unsigned long long)want);
		printf("# event_fdinfo: queue %u: %s %llu\n", index,
		       fdinfo_counters[i].key, (unsigned long long)val);
	}
}

/*
 * /proc/PID/fdinfo of a queue's event file (how L1 reads the counters of
 * a running VMM's queues): which queue it is (object ID, index, layout),
 * whether it is paused, and the counters as VCMDQ_SW_GET_STATS has them.
 * Two tegra241 queues of one vIOMMU, the first carrying a stream with an
 * illegal command, the second idle; then a main-CMDQ queue with an exit.
 * A destroyed queue's file says so and shows no counters.
 */
TEST(event_fdinfo)
{
	struct iommu_hw_queue_arm_smmuv3_cmdq_sw d1;
	struct vmm_batch b[2] = {};
	struct vcmdq_sw_stats st;
	uint64_t val;
	struct vmm v;
	int id1;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_TEGRA241, 8));
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	vmm_fill_alloc(&v, &d1);
	id1 = try_alloc(&v, &d1, QUEUE_GPA + 0x1000, 16 << 8, 1, sizeof(d1));
	ASSERT_LT(0, id1) TH_LOG("queue 1: %s", strerror(-id1));

	batch_add(&b[0], cmd_tlbi_nh_asid(0x8a1));
	batch_add(&b[0], cmd_cfgi_cd(VSID));	/* CERROR_ILL on a VCMDQ */
	batch_add(&b[0], cmd_tlbi_nh_asid(0x8a2));
	batch_sync(&b[0], false);
	batch_add(&b[1], cmd_tlbi_nh_va(0x8a3, 0x61000000));
	batch_add(&b[1], cmd_tlbi_nh_asid(0x8a4));
	batch_sync(&b[1], true);
	ASSERT_EQ(0, vmm_load(&v, b, 2, 2));
	ASSERT_EQ(0, vmm_run(&v, 20));
	ASSERT_GUEST_OK(&v, 2);

	check_fdinfo(_metadata, v.evfd, v.hwq_id, 0, "tegra241", &st);
	EXPECT_EQ(1ULL, st.errors);
	EXPECT_EQ(0ULL, st.exits);
	EXPECT_LT(0ULL, st.doorbells);
	EXPECT_LT(5ULL, st.cmds);
	EXPECT_EQ(4ULL, st.host_cmds);
	EXPECT_LT(0ULL, st.batches);
	EXPECT_LT(0ULL, st.guest_syncs);
	ASSERT_EQ(0, fdinfo_get(v.evfd, "vcmdq_paused", &val));
	EXPECT_EQ(0ULL, val);
	ASSERT_EQ(0, ioctl(v.evfd, VCMDQ_SW_PAUSE));
	ASSERT_EQ(0, fdinfo_get(v.evfd, "vcmdq_paused", &val));
	EXPECT_EQ(1ULL, val);
	ASSERT_EQ(0, ioctl(v.evfd, VCMDQ_SW_UNPAUSE));
	ASSERT_EQ(0, fdinfo_get(v.evfd, "vcmdq_paused", &val));
	EXPECT_EQ(0ULL, val);

	check_fdinfo(_metadata, d1.out_event_fd, id1, 1, "tegra241", &st);
	EXPECT_EQ(0ULL, st.cmds);
	EXPECT_EQ(0ULL, st.doorbells);

	/* queue 1 destroyed: its file tells, and counts nothing more */
	ASSERT_EQ(0, destroy(v.st.iommufd, id1));
	ASSERT_EQ(0, fdinfo_get(d1.out_event_fd, "vcmdq_dead", &val));
	EXPECT_EQ(1ULL, val);
	ASSERT_EQ(0, fdinfo_get(d1.out_event_fd, "vcmdq_index", &val));
	EXPECT_EQ(1ULL, val);
	EXPECT_EQ(-ENOENT, fdinfo_get(d1.out_event_fd, "vcmdq_cmds", &val));
	close(d1.out_event_fd);
	vmm_teardown(&v);

	/* the main CMDQ, one command left to the VMM */
	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	v.on_exit = exit_handler;
	v.marker_asid = 0x8b2;
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	ASSERT_EQ(0, vmm_start_events(&v));
	memset(b, 0, sizeof(b));
	batch_add(&b[0], cmd_tlbi_nh_asid(0x8b1));
	batch_add(&b[0], cmd_cfgi_ste(VSID));
	batch_sync(&b[0], false);
	ASSERT_EQ(0, vmm_load(&v, b, 1, 1));
	ASSERT_EQ(0, vmm_run(&v, 20));
	ASSERT_GUEST_OK(&v, 1);
	vmm_stop_events(&v);
	check_fdinfo(_metadata, v.evfd, v.hwq_id, 0, "smmuv3", &st);
	EXPECT_EQ(1ULL, st.exits);
	EXPECT_EQ(0ULL, st.errors);
	EXPECT_EQ(3ULL, st.cmds);
	vmm_teardown(&v);
}

TEST_HARNESS_MAIN
