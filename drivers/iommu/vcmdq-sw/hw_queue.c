// SPDX-License-Identifier: GPL-2.0
/*
 * IOMMU_HW_QUEUE_TYPE_ARM_SMMUV3_CMDQ_SW: setting up a vcmdq-sw queue on an
 * ARM SMMUv3 vIOMMU, and tearing it down.
 */
#include <linux/arm-smmu-v3-vsmmu.h>
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/iommufd.h>
#include <linux/kvm_host.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/vhost_task.h>
#include <linux/slab.h>

#include "virt/kvm-hooks/shadow_doorbell.h"
#include "sw_queue.h"
#include "vcmdq_sw_trace.h"

/* tegra241 layout: blocks of 0x80 bytes in one page */
#define VCMDQ_SW_MAX_QUEUES	32

/**
 * struct vcmdq_sw_regs - the register page of a vIOMMU's queues
 * @node: in vcmdq_sw_regs_list
 * @viommu: the vIOMMU
 * @page: the page (a reference)
 * @layout: enum vcmdq_sw_layout of its queues
 * @gpa: where the guest sees it
 * @used: the queue indexes taken
 *
 * The queues of a vIOMMU share one page, as the logical VCMDQs of a
 * tegra241 VINTF do (queue i's registers at i * 0x80); each offers it to
 * the VMM with an mmap offset of its own. Created by the vIOMMU's first
 * queue, freed with its last; mappings keep the page. All of it is
 * protected by vcmdq_sw_regs_lock.
 */
struct vcmdq_sw_regs {
	struct list_head node;
	struct iommufd_viommu *viommu;
	struct page *page;
	u32 layout;
	u64 gpa;
	DECLARE_BITMAP(used, VCMDQ_SW_MAX_QUEUES);
};

static DEFINE_MUTEX(vcmdq_sw_regs_lock);
static LIST_HEAD(vcmdq_sw_regs_list);

/**
 * struct vcmdq_sw_hw_queue - the iommufd object of a vcmdq-sw queue
 * @core: the SMMUv3 driver's and iommufd's part; must come first
 * @q: the queue; a reference, held from a successful init to destroy
 * @index: the queue index on its vIOMMU
 * @regs: the register page it shares with its vIOMMU's other queues
 * @reg_mmap_offset: this queue's iommufd mmap offset of that page
 */
struct vcmdq_sw_hw_queue {
	struct arm_vsmmu_sw_cmdq core;
	struct vcmdq_sw_queue *q;
	u32 index;
	struct vcmdq_sw_regs *regs;
	unsigned long reg_mmap_offset;
	struct file *event_file;
	int event_fd;
};

/*
 * vcmdq_sw_test_without_s2fwb - TEST ONLY: clean register updates to the
 * point of coherency even on a CPU with FEAT_S2FWB, as on one without, so
 * the tests exercise that path (QEMU's emulated CPUs have FEAT_S2FWB).
 * Read at each queue's allocation.
 */
bool vcmdq_sw_test_without_s2fwb;

/* Where the guest sees the queue's registers, per layout. */
#define SMMU_GERROR		0x60
#define SMMU_GERRORN		0x64
#define SMMU_CMDQ_PROD		0x98
#define SMMU_CMDQ_CONS		0x9c
#define VCMDQ_BLOCK		0x80
#define VCMDQ_CONS		0x00
#define VCMDQ_PROD		0x04
#define VCMDQ_GERROR		0x10
#define VCMDQ_GERRORN		0x14

/* @layout and @index are checked */
static void vcmdq_sw_set_offsets(struct vcmdq_sw_queue *q, u32 layout,
				 u32 index)
{
	u32 base = index * VCMDQ_BLOCK;

	if (layout == VCMDQ_SW_LAYOUT_SMMUV3) {
		q->prod_off = SMMU_CMDQ_PROD;
		q->cons_off = SMMU_CMDQ_CONS;
		q->gerror_off = SMMU_GERROR;
		q->gerrorn_off = SMMU_GERRORN;
	} else {
		q->prod_off = base + VCMDQ_PROD;
		q->cons_off = base + VCMDQ_CONS;
		q->gerror_off = base + VCMDQ_GERROR;
		q->gerrorn_off = base + VCMDQ_GERRORN;
	}
}

static struct eventfd_ctx *vcmdq_sw_eventfd(int fd)
{
	return fd == -1 ? NULL : eventfd_ctx_fdget(fd);
}

static struct kvm *vcmdq_sw_get_kvm(int fd)
{
	CLASS(fd, f)(fd);

	if (fd_empty(f))
		return ERR_PTR(-EBADF);
	return kvm_get_kvm_from_file(fd_file(f));
}

/*
 * Take @hwq's index on its vIOMMU and the vIOMMU's register page, created
 * if this is its first queue. Its other queues fix the layout and where
 * the guest sees the page.
 */
static int vcmdq_sw_regs_get(struct vcmdq_sw_hw_queue *hwq, u32 layout,
			     u64 gpa)
{
	struct iommufd_viommu *viommu = hwq->core.core.viommu;
	struct vcmdq_sw_regs *regs;
	int ret = 0;

	mutex_lock(&vcmdq_sw_regs_lock);
	list_for_each_entry(regs, &vcmdq_sw_regs_list, node) {
		if (regs->viommu != viommu)
			continue;
		if (regs->layout != layout || regs->gpa != gpa)
			ret = -EINVAL;
		else if (test_bit(hwq->index, regs->used))
			ret = -EEXIST;	/* as for a tegra241 VCMDQ */
		goto out;
	}
	regs = kzalloc_obj(*regs, GFP_KERNEL_ACCOUNT);
	if (!regs) {
		ret = -ENOMEM;
		goto out_unlock;
	}
	regs->page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!regs->page) {
		kfree(regs);
		ret = -ENOMEM;
		goto out_unlock;
	}
	regs->viommu = viommu;
	regs->layout = layout;
	regs->gpa = gpa;
	list_add(&regs->node, &vcmdq_sw_regs_list);
out:
	if (!ret) {
		set_bit(hwq->index, regs->used);
		hwq->regs = regs;
	}
out_unlock:
	mutex_unlock(&vcmdq_sw_regs_lock);
	return ret;
}

static void vcmdq_sw_regs_put(struct vcmdq_sw_hw_queue *hwq)
{
	struct vcmdq_sw_regs *regs = hwq->regs;

	mutex_lock(&vcmdq_sw_regs_lock);
	clear_bit(hwq->index, regs->used);
	if (bitmap_empty(regs->used, VCMDQ_SW_MAX_QUEUES)) {
		list_del(&regs->node);
		put_page(regs->page);
		kfree(regs);
	}
	mutex_unlock(&vcmdq_sw_regs_lock);
	hwq->regs = NULL;
}

/*
 * Undo vcmdq_sw_setup(), in reverse order; anything not set up is NULL.
 * Once it returns no vCPU is in a doorbell, the worker is gone and nothing
 * touches the vIOMMU or the queue pages any more.
 */
static void vcmdq_sw_teardown(struct vcmdq_sw_hw_queue *hwq)
{
	struct vcmdq_sw_queue *q = hwq->q;
	struct vhost_task *worker;

	mutex_lock(&q->lock);
	spin_lock(&q->ev_lock);
	q->dead = true;
	spin_unlock(&q->ev_lock);
	mutex_unlock(&q->lock);
	wake_up_interruptible_poll(&q->wait, EPOLLHUP);

	/* No vCPU is in a doorbell once these return: no more kicks */
	if (q->db_gerrorn)
		ksdb_unregister(q->db_gerrorn);
	if (q->db_prod)
		ksdb_unregister(q->db_prod);
	/*
	 * Whoever released q->lock before @dead was set may still wake the
	 * worker (vcmdq_sw_unlock()): it does so under RCU, so the worker
	 * goes only after a grace period. vhost_task_stop() waits for a turn
	 * in progress; later turns find the queue dead.
	 */
	worker = rcu_replace_pointer(q->worker, NULL, true);
	if (worker) {
		synchronize_rcu();
		vhost_task_stop(worker);
	}
	q->db_gerrorn = NULL;
	q->db_prod = NULL;

	if (hwq->reg_mmap_offset)
		iommufd_hw_queue_destroy_mmap(&hwq->core.core,
					      hwq->reg_mmap_offset);
	hwq->reg_mmap_offset = 0;
	if (q->gerror)
		eventfd_ctx_put(q->gerror);
	if (q->irq)
		eventfd_ctx_put(q->irq);
	if (q->kvm)
		kvm_put_kvm(q->kvm);
	q->reg_page = NULL;
	q->regs = NULL;
	q->gerror = NULL;
	q->irq = NULL;
	q->kvm = NULL;
	q->pages = NULL;
	q->viommu = NULL;
}

static int vcmdq_sw_setup(struct vcmdq_sw_hw_queue *hwq,
			  const struct iommu_hw_queue_arm_smmuv3_cmdq_sw *data)
{
	struct vcmdq_sw_queue *q = hwq->q;
	char name[TASK_COMM_LEN];
	struct vhost_task *worker;
	struct eventfd_ctx *efd;
	struct ksdb *db;
	struct kvm *kvm;

	kvm = vcmdq_sw_get_kvm(data->vm_fd);
	if (IS_ERR(kvm))
		return PTR_ERR(kvm);
	q->kvm = kvm;
	/*
	 * The worker, a thread of the caller, writes MSIs through its own mm
	 * at the addresses of the VM's memslots: they must be the same
	 * process's, as KVM's ioctls demand.
	 */
	if (kvm->mm != current->mm)
		return -EPERM;
	efd = vcmdq_sw_eventfd(data->irq_eventfd);
	if (IS_ERR(efd))
		return PTR_ERR(efd);
	q->irq = efd;
	efd = vcmdq_sw_eventfd(data->gerror_eventfd);
	if (IS_ERR(efd))
		return PTR_ERR(efd);
	q->gerror = efd;

	q->reg_page = hwq->regs->page;
	q->regs = page_address(q->reg_page);
	q->clean_poc = READ_ONCE(vcmdq_sw_test_without_s2fwb) ||
		       !cpus_have_final_cap(ARM64_HAS_STAGE2_FWB);
	/*
	 * Where the VMM left the queue (its own trap path, a migration).
	 * CONS.ERR is taken too: the queue starts stopped at that error,
	 * waiting for the guest's GERRORN as the stopped queue was.
	 */
	vcmdq_sw_set_reg(q, q->gerror_off, data->gerror);
	vcmdq_sw_set_reg(q, q->gerrorn_off, data->gerrorn);
	vcmdq_sw_set_reg(q, q->prod_off, data->prod);
	mutex_lock(&q->lock);
	vcmdq_restore(&q->e, data->cons);
	vcmdq_sw_set_reg(q, q->cons_off, vcmdq_cons_value(&q->e));
	mutex_unlock(&q->lock);

	snprintf(name, sizeof(name), "vcmdq-sw-%d", current->pid);
	worker = vhost_task_create(vcmdq_sw_work, vcmdq_sw_worker_killed, q,
				   name);
	if (IS_ERR(worker))
		return PTR_ERR(worker);
	rcu_assign_pointer(q->worker, worker);
	/* It idles until kicked */
	vhost_task_start(worker);

	db = ksdb_register(kvm, data->reg_gpa + q->prod_off, 4, q->reg_page,
			   q->prod_off, vcmdq_sw_doorbell_prod, q);
	if (IS_ERR(db))
		return PTR_ERR(db);
	q->db_prod = db;
	db = ksdb_register(kvm, data->reg_gpa + q->gerrorn_off, 4, q->reg_page,
			   q->gerrorn_off, vcmdq_sw_doorbell_gerrorn, q);
	if (IS_ERR(db))
		return PTR_ERR(db);
	q->db_gerrorn = db;
	return 0;
}

static int vcmdq_sw_check(const struct iommu_hw_queue_arm_smmuv3_cmdq_sw *d,
			  u32 index, u64 base, u64 length)
{
	u32 ptr_mask;

	if ((d->flags & ~VCMDQ_SW_ALLOC_PAUSED) || d->__reserved ||
	    d->__reserved2 ||
	    d->layout > VCMDQ_SW_LAYOUT_TEGRA241 ||
	    d->log2size > VCMDQ_MAX_LOG2SIZE ||
	    (d->caps & ~(VCMDQ_SW_CAP_MSI | VCMDQ_SW_CAP_SEV)) ||
	    d->irq_eventfd < -1 || d->gerror_eventfd < -1)
		return -EINVAL;
	if (d->layout == VCMDQ_SW_LAYOUT_SMMUV3 ? index :
	    index >= VCMDQ_SW_MAX_QUEUES)
		return -EINVAL;
	/* The architecture's rules for CMDQ_BASE: size, aligned to it */
	if (length != 16ULL << d->log2size ||
	    !IS_ALIGNED(base, max_t(u64, length, 32)))
		return -EINVAL;
	if (!PAGE_ALIGNED(d->reg_gpa))
		return -EINVAL;
	/* Pointers: index and wrap bit; CONS may carry an ERR code */
	ptr_mask = (2U << d->log2size) - 1;
	if ((d->prod & ~ptr_mask) || (d->cons & ~(ptr_mask | VCMDQ_CONS_ERR)) ||
	    vcmdq_field_get(VCMDQ_CONS_ERR, d->cons) > VCMDQ_CERROR_ATC_INV_SYNC)
		return -EINVAL;
	return 0;
}

static void vcmdq_sw_cmdq_destroy(struct arm_vsmmu_sw_cmdq *core)
{
	struct vcmdq_sw_hw_queue *hwq =
		container_of(core, struct vcmdq_sw_hw_queue, core);

	/* Reserved by init, never installed: the allocation failed */
	if (hwq->event_file) {
		fput(hwq->event_file);
		put_unused_fd(hwq->event_fd);
		hwq->event_file = NULL;
	}
	vcmdq_sw_teardown(hwq);
	vcmdq_sw_regs_put(hwq);
	vcmdq_sw_queue_put(hwq->q);
	hwq->q = NULL;
}

static int vcmdq_sw_cmdq_init(struct arm_vsmmu_sw_cmdq *core, u32 index,
			      const struct iommu_user_data *user_data)
{
	struct vcmdq_sw_hw_queue *hwq =
		container_of(core, struct vcmdq_sw_hw_queue, core);
	struct iommufd_hw_queue *hw_queue = &core->core;
	struct iommu_hw_queue_arm_smmuv3_cmdq_sw data;
	struct vcmdq_config cfg = {};
	struct vcmdq_sw_queue *q;
	struct file *file;
	int fd, ret;

	hwq->event_file = NULL;

	ret = iommu_copy_struct_from_user(&data, user_data,
					  IOMMU_HW_QUEUE_TYPE_ARM_SMMUV3_CMDQ_SW,
					  out_reg_mmap_length);
	if (ret)
		return ret;
	ret = vcmdq_sw_check(&data, index, hw_queue->base_addr,
			     hw_queue->length);
	if (ret)
		return ret;

	cfg.layout = data.layout == VCMDQ_SW_LAYOUT_SMMUV3 ?
		     VCMDQ_LAYOUT_SMMUV3 : VCMDQ_LAYOUT_TEGRA241;
	cfg.log2size = data.log2size;
	cfg.batch = VCMDQ_BATCH_MAX;
	cfg.caps = (data.caps & VCMDQ_SW_CAP_MSI ? VCMDQ_CAP_MSI : 0) |
		   (data.caps & VCMDQ_SW_CAP_SEV ? VCMDQ_CAP_SEV : 0);
	ret = arm_vsmmu_get_vmid(hw_queue->viommu, &cfg.vmid);
	if (ret)
		return ret;

	hwq->index = index;
	ret = vcmdq_sw_regs_get(hwq, data.layout, data.reg_gpa);
	if (ret)
		return ret;

	q = kzalloc_obj(*q, GFP_KERNEL_ACCOUNT);
	if (!q) {
		vcmdq_sw_regs_put(hwq);
		return -ENOMEM;
	}
	kref_init(&q->ref);
	mutex_init(&q->lock);
	spin_lock_init(&q->ev_lock);
	init_waitqueue_head(&q->wait);
	q->id = hw_queue->obj.id;
	q->index = index;
	q->viommu = hw_queue->viommu;
	q->pages = hw_queue->pages;
	q->pin_off = offset_in_page(hw_queue->base_addr);
	q->consumer = VCMDQ_SW_CONSUMER_INLINE;
	q->paused = data.flags & VCMDQ_SW_ALLOC_PAUSED;
	vcmdq_sw_set_offsets(q, data.layout, index);
	ret = vcmdq_engine_init(&q->e, &cfg, &vcmdq_sw_engine_ops, q, NULL);
	hwq->q = q;
	if (!ret)
		ret = vcmdq_sw_setup(hwq, &data);
	if (ret)
		goto err_destroy;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err_destroy;
	}
	file = vcmdq_sw_event_file(q);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		ret = PTR_ERR(file);
		goto err_destroy;
	}
	/* From here on destroy puts both; commit installs them instead */
	hwq->event_fd = fd;
	hwq->event_file = file;
	/*
	 * The mmap offset of the register page is predictable, and a mapping
	 * takes a reference on the HW queue object: offered before the last
	 * step that can fail, it lets user space map an object the core then
	 * aborts (its refcount no longer one) and frees under the mapping. So
	 * the answer is first written without it, which is what fails for a
	 * read-only buffer, and the offset is taken only then. It cannot wait
	 * for commit, where nothing may fail: the core's own answer, after
	 * this returns, is the one step left that can still fail with the
	 * offset allocated.
	 */
	data.out_event_fd = fd;
	data.out_reg_mmap_offset = 0;
	data.out_reg_mmap_length = PAGE_SIZE;
	ret = iommu_copy_struct_to_user(user_data, &data,
					IOMMU_HW_QUEUE_TYPE_ARM_SMMUV3_CMDQ_SW,
					out_reg_mmap_length);
	if (ret)
		goto err_destroy;
	ret = iommufd_hw_queue_alloc_mmap_page(hw_queue, q->reg_page,
					       &hwq->reg_mmap_offset);
	if (ret)
		goto err_destroy;
	data.out_reg_mmap_offset = hwq->reg_mmap_offset;
	ret = iommu_copy_struct_to_user(user_data, &data,
					IOMMU_HW_QUEUE_TYPE_ARM_SMMUV3_CMDQ_SW,
					out_reg_mmap_length);
	if (ret)
		goto err_destroy;
	return 0;

err_destroy:
	vcmdq_sw_cmdq_destroy(core);
	return ret;
}

/*
 * The core has answered IOMMU_HW_QUEUE_ALLOC: the event fd becomes the
 * caller's (as IOMMU_VEVENTQ_ALLOC installs its fd only after answering),
 * and the queue runs what the guest queued before the doorbells existed.
 */
static void vcmdq_sw_cmdq_commit(struct arm_vsmmu_sw_cmdq *core)
{
	struct vcmdq_sw_hw_queue *hwq =
		container_of(core, struct vcmdq_sw_hw_queue, core);
	struct vcmdq_sw_queue *q = hwq->q;

	fd_install(hwq->event_fd, hwq->event_file);
	hwq->event_file = NULL;

	mutex_lock(&q->lock);
	vcmdq_sw_kick(q);
	vcmdq_sw_unlock(q);
}

const struct arm_vsmmu_sw_cmdq_ops vcmdq_sw_cmdq_ops = {
	.owner = THIS_MODULE,
	.size = sizeof(struct vcmdq_sw_hw_queue),
	.init = vcmdq_sw_cmdq_init,
	.commit = vcmdq_sw_cmdq_commit,
	.destroy = vcmdq_sw_cmdq_destroy,
};
