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
#include <linux/debugfs.h>
#include <linux/fault-inject.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "sw_queue.h"

module_param_named(test_without_s2fwb, vcmdq_sw_test_without_s2fwb, bool,
		   0644);
MODULE_PARM_DESC(test_without_s2fwb,
		 "TEST ONLY: clean register updates to the point of coherency as on a CPU without FEAT_S2FWB");

/*
 * Host policy, not ABI: how long a vCPU may stay in its doorbell
 * consuming the queue (entries, microseconds) before the worker takes
 * over, and the longest busy-poll a VMM may ask of the worker. Fixed at
 * load: the queues read them at each stay and each SET_CONSUMER.
 */
module_param_named(inline_entries, vcmdq_sw_inline_entries, uint, 0444);
MODULE_PARM_DESC(inline_entries,
		 "Guest entries a vCPU consumes in one doorbell before the worker takes over (default 256)");
module_param_named(inline_us, vcmdq_sw_inline_us, uint, 0444);
MODULE_PARM_DESC(inline_us,
		 "Microseconds a vCPU consumes in one doorbell before the worker takes over (default 1000)");
module_param_named(max_poll_us, vcmdq_sw_max_poll_us, uint, 0444);
MODULE_PARM_DESC(max_poll_us,
		 "Longest worker poll VCMDQ_SW_SET_CONSUMER accepts, in microseconds (default 1000)");

/*
 * Windows the tests widen to hit races they could not otherwise reach:
 * each holds the queue where a production kernel would not wait.
 */
module_param_named(test_unlock_delay_ms, vcmdq_sw_test_unlock_delay_ms, uint,
		   0644);
MODULE_PARM_DESC(test_unlock_delay_ms,
		 "TEST ONLY: wait this long holding the queue lock in vcmdq_sw_unlock(), and as long again after releasing it");
module_param_named(test_turn_delay_us, vcmdq_sw_test_turn_delay_us, uint,
		   0644);
MODULE_PARM_DESC(test_turn_delay_us,
		 "TEST ONLY: each consumer turn waits this long first, as behind a slow SMMU");

static struct dentry *vcmdq_sw_debugfs;

static int __init vcmdq_sw_init(void)
{
	int ret;

	vcmdq_sw_debugfs = debugfs_create_dir("vcmdq_sw", NULL);
	/* Fault injection is optional: nothing to undo if it is missing */
	fault_create_debugfs_attr("fail_issue", vcmdq_sw_debugfs,
				  &vcmdq_sw_fail_issue);
	ret = arm_vsmmu_register_sw_cmdq(&vcmdq_sw_cmdq_ops);
	if (ret)
		debugfs_remove_recursive(vcmdq_sw_debugfs);
	return ret;
}

static void __exit vcmdq_sw_exit(void)
{
	arm_vsmmu_unregister_sw_cmdq(&vcmdq_sw_cmdq_ops);
	debugfs_remove_recursive(vcmdq_sw_debugfs);
}

module_init(vcmdq_sw_init);
module_exit(vcmdq_sw_exit);

MODULE_DESCRIPTION("vcmdq-sw: SMMUv3 guest command queue fast path");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS("IOMMUFD");
MODULE_IMPORT_NS("KVM_SHADOW_DOORBELL");
