// SPDX-License-Identifier: GPL-2.0
/*
 * vcmdq-sw: a guest's SMMUv3 command queue run in the host kernel, the
 * software twin of a tegra241 VCMDQ. The module provides
 * IOMMU_HW_QUEUE_TYPE_VCMDQ_SW to iommufd and the /dev/vcmdq-sw control
 * files of its queues; it also carries the portable command engine
 * (engine.c, policy.c, sidmap.c; exported in the VCMDQ_SW namespace for
 * its KUnit suite).
 */
#include <linux/iommufd.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

#include "sw_queue.h"

static struct miscdevice vcmdq_sw_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vcmdq-sw",
	.fops = &vcmdq_sw_ctl_fops,
};

static int __init vcmdq_sw_init(void)
{
	int ret;

	ret = misc_register(&vcmdq_sw_misc);
	if (ret)
		return ret;
	ret = iommufd_sw_queue_register(IOMMU_HW_QUEUE_TYPE_VCMDQ_SW,
					&vcmdq_sw_hw_queue_ops);
	if (ret)
		misc_deregister(&vcmdq_sw_misc);
	return ret;
}

static void __exit vcmdq_sw_exit(void)
{
	iommufd_sw_queue_unregister(IOMMU_HW_QUEUE_TYPE_VCMDQ_SW,
				    &vcmdq_sw_hw_queue_ops);
	misc_deregister(&vcmdq_sw_misc);
}

module_init(vcmdq_sw_init);
module_exit(vcmdq_sw_exit);

MODULE_DESCRIPTION("vcmdq-sw: SMMUv3 guest command queue fast path");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS("IOMMUFD");
MODULE_IMPORT_NS("KVM_SHADOW_DOORBELL");
