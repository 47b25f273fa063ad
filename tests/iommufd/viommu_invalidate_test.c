// SPDX-License-Identifier: GPL-2.0
/*
 * The trap path's kernel half, end to end on the emulated SMMUv3: the PCIe
 * device is bound to vfio-pci and opened through its cdev; IOAS, a
 * nest-parent HWPT, an ARM_SMMUV3 vIOMMU and a vDEVICE (vSID 0x42) are
 * set up; then IOMMU_HWPT_INVALIDATE on the vIOMMU with stage-1 commands.
 *
 * The ioctl results are checked here. What the SMMU executed is checked on
 * the host against QEMU's trace: every "# trace-expect NAME: REGEX" line
 * this test prints must match a trace line, every "# trace-forbid" must
 * not, and a named group (?P<vmid>...) must capture the same value in
 * every expectation (scripts/trace-check.py). The guest always writes VMID
 * 0x77 (119); the host VMID must replace it.
 *
 * Needs the kernel booted with arm_smmu_v3.test_viommu_without_s2fwb=1 (see
 * patches/): QEMU's SMMU has no S2FWB.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "lib/viommu.h"

#define VSID		0x42
#define GUEST_VMID	0x77ULL

FIXTURE(viommu) {
	struct viommu_stack s;
};

FIXTURE_SETUP(viommu)
{
	ASSERT_EQ(0, viommu_stack_setup(&self->s, VSID));
}

FIXTURE_TEARDOWN(viommu)
{
	close(self->s.devfd);
	close(self->s.iommufd);
}

TEST_F(viommu, tlbi_nh_asid_gets_host_vmid)
{
	const __u64 cmd[][2] = { { 0x11 | GUEST_VMID << 32 | 0x5a5ULL << 48, 0 } };
	__u32 done;

	ASSERT_EQ(0, viommu_invalidate(&self->s, cmd, 1, &done));
	ASSERT_EQ(1U, done);
	printf("# trace-expect nh_asid: smmuv3_cmdq_tlbi_nh_asid asid=1445\\b\n");
	printf("# trace-expect nh_asid_vmid: smmu_iotlb_inv_asid_vmid IOTLB invalidate asid=1445 vmid=(?P<vmid>\\d+)\\b\n");
	printf("# trace-forbid nh_asid_guest_vmid: smmu_iotlb_inv_asid_vmid IOTLB invalidate asid=1445 vmid=119\\b\n");
}

TEST_F(viommu, tlbi_nh_va_range_intact)
{
	/* ASID 0x5a6, 4K granule, NUM 3 SCALE 0: 4 pages at 0x12340000, TTL 3 */
	const __u64 cmd[][2] = { {
		0x12 | 3ULL << 12 | GUEST_VMID << 32 | 0x5a6ULL << 48,
		0x12340000ULL | 1ULL << 10 | 3ULL << 8 | 1,
	} };
	__u32 done;

	ASSERT_EQ(0, viommu_invalidate(&self->s, cmd, 1, &done));
	ASSERT_EQ(1U, done);
	printf("# trace-expect nh_va: smmuv3_range_inval vmid=(?P<vmid>\\d+) asid=1446 addr=0x12340000 tg=1 num_pages=0x4 ttl=3 leaf=1 stage=1\n");
}

TEST_F(viommu, tlbi_nh_all_stays_in_vmid)
{
	const __u64 cmd[][2] = { { 0x10 | GUEST_VMID << 32, 0 } };
	__u32 done;

	ASSERT_EQ(0, viommu_invalidate(&self->s, cmd, 1, &done));
	printf("# trace-expect nh_all: smmuv3_cmdq_tlbi_nh vmid=(?P<vmid>\\d+)\\b\n");
	printf("# trace-forbid nh_all_guest_vmid: smmuv3_cmdq_tlbi_nh vmid=119\\b\n");
}

TEST_F(viommu, cfgi_cd_gets_psid)
{
	/* vSID 0x42, SSID 0, leaf: pSID of 00:01.0 behind the SMMU is 0x8 */
	const __u64 cmd[][2] = { { 0x05 | (__u64)VSID << 32, 1 } };
	__u32 done;

	ASSERT_EQ(0, viommu_invalidate(&self->s, cmd, 1, &done));
	ASSERT_EQ(1U, done);
	printf("# trace-expect cfgi_cd: smmuv3_cmdq_cfgi_cd sid=0x8\\b\n");
	printf("# trace-forbid cfgi_cd_vsid: smmuv3_cmdq_cfgi_cd sid=0x42\\b\n");
}

TEST_F(viommu, atc_inv_reaches_smmu)
{
	const __u64 cmd[][2] = { { 0x40 | (__u64)VSID << 32, 0x7000 } };
	__u32 done;

	ASSERT_EQ(0, viommu_invalidate(&self->s, cmd, 1, &done));
	ASSERT_EQ(1U, done);
	printf("# trace-expect atc_inv: smmuv3_cmdq_opcode <--- SMMU_CMD_ATC_INV\n");
}

TEST_F(viommu, stage2_tlbi_refused)
{
	/* TLBI_S2_IPA after a good TLBI: the good one runs, then EIO */
	const __u64 cmd[][2] = {
		{ 0x11 | 0x5a7ULL << 48, 0 },
		{ 0x2a | GUEST_VMID << 32, 0x5a5a000 },
	};
	__u32 done;

	ASSERT_EQ(-EIO, viommu_invalidate(&self->s, cmd, 2, &done));
	ASSERT_EQ(1U, done);
	printf("# trace-expect before_s2: smmu_iotlb_inv_asid_vmid IOTLB invalidate asid=1447 vmid=(?P<vmid>\\d+)\\b\n");
	/* the host's own stage-2 invalidations (IOAS unmaps) are legitimate */
	printf("# trace-forbid s2_ipa: smmuv3_range_inval .*addr=0x5a5a000 .*stage=2\n");
}

TEST_F(viommu, unknown_vsid_refused)
{
	const __u64 cmd[][2] = { { 0x40 | 0x99ULL << 32, 0 } };
	__u32 done;

	ASSERT_EQ(-EIO, viommu_invalidate(&self->s, cmd, 1, &done));
	ASSERT_EQ(0U, done);
}

TEST_F(viommu, guest_cmd_sync_refused)
{
	const __u64 cmd[][2] = { { 0x46, 0 } };
	__u32 done;

	ASSERT_EQ(-EIO, viommu_invalidate(&self->s, cmd, 1, &done));
	ASSERT_EQ(0U, done);
}

TEST_HARNESS_MAIN
