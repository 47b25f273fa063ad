// SPDX-License-Identifier: GPL-2.0
/*
 * vcmdq-sw: a guest's SMMUv3 command queue run in the host kernel, the
 * software twin of a tegra241 VCMDQ. The module provides
 * IOMMU_HW_QUEUE_TYPE_ARM_SMMUV3_CMDQ_SW to the ARM SMMUv3 driver's
 * vIOMMUs; it also carries the portable command engine (engine.c,
 * policy.c, sidmap.c; exported in the VCMDQ_SW namespace for its KUnit
 * suite).
 */
#include <linux/arm-smmu-v3-vsmmu.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "sw_queue.h"

module_param_named(test_without_s2fwb, vcmdq_sw_test_without_s2fwb, bool,
		   0644);
MODULE_PARM_DESC(test_without_s2fwb,
		 "TEST ONLY: clean register updates to the point of coherency as on a CPU without FEAT_S2FWB");

static int __init vcmdq_sw_init(void)
{
	return arm_vsmmu_register_sw_cmdq(&vcmdq_sw_cmdq_ops);
}

static void __exit vcmdq_sw_exit(void)
{
	arm_vsmmu_unregister_sw_cmdq(&vcmdq_sw_cmdq_ops);
}

module_init(vcmdq_sw_init);
module_exit(vcmdq_sw_exit);

MODULE_DESCRIPTION("vcmdq-sw: SMMUv3 guest command queue fast path");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS("IOMMUFD");
MODULE_IMPORT_NS("KVM_SHADOW_DOORBELL");
