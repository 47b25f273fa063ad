// SPDX-License-Identifier: GPL-2.0
/*
 * IOMMU_HW_QUEUE_TYPE_VCMDQ_SW: binding a vcmdq-sw queue to a vIOMMU, and
 * stopping it.
 */
#include <linux/arm-smmu-v3-vsmmu.h>
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/iommufd.h>
#include <linux/kvm_host.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/vhost_task.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "virt/kvm-hooks/shadow_doorbell.h"
#include "sw_queue.h"
#include "vcmdq_sw_trace.h"

/**
 * struct vcmdq_sw_hw_queue - the iommufd object of a vcmdq-sw queue
 * @core: iommufd's part; must come first
 * @q: the queue; a reference, held from a successful init to destroy
 */
struct vcmdq_sw_hw_queue {
	struct iommufd_hw_queue core;
	struct vcmdq_sw_queue *q;
};

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

static int vcmdq_sw_set_regs(struct vcmdq_sw_queue *q, u32 layout, u32 index)
{
	u32 base;

	switch (layout) {
	case VCMDQ_SW_LAYOUT_SMMUV3:
		if (index)
			return -EINVAL;
		q->prod_off = SMMU_CMDQ_PROD;
		q->cons_off = SMMU_CMDQ_CONS;
		q->gerror_off = SMMU_GERROR;
		q->gerrorn_off = SMMU_GERRORN;
		return 0;
	case VCMDQ_SW_LAYOUT_TEGRA241:
		if (index >= PAGE_SIZE / VCMDQ_BLOCK)
			return -EINVAL;
		base = index * VCMDQ_BLOCK;
		q->prod_off = base + VCMDQ_PROD;
		q->cons_off = base + VCMDQ_CONS;
		q->gerror_off = base + VCMDQ_GERROR;
		q->gerrorn_off = base + VCMDQ_GERRORN;
		return 0;
	default:
		return -EINVAL;
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
 * An IOAS unmap touching the queue memory: give the pages back now, as
 * the access contract demands. The guest sees CERROR_ABT at its next
 * command, as an SMMU would on a fetch abort, and the VMM an event.
 */
static void vcmdq_sw_unmap(void *data, unsigned long iova,
			   unsigned long length)
{
	struct vcmdq_sw_queue *q = data;
	struct vcmdq_sw_event ev = { .type = VCMDQ_SW_EVENT_UNMAPPED };
	unsigned long pin_len;

	mutex_lock(&q->lock);
	pin_len = q->npages << PAGE_SHIFT;
	if (q->pinned &&
	    vcmdq_sw_unmap_hits(q->pin_iova, pin_len, iova, length)) {
		iommufd_access_unpin_pages(q->access, q->pin_iova, pin_len);
		q->pinned = false;
		q->faults++;
		ev.index = q->e.cons;
		ev.err = -EFAULT;
		trace_vcmdq_sw_fault(q->id, ev.index, ev.type, ev.err);
		vcmdq_sw_push_event(q, &ev);
	}
	mutex_unlock(&q->lock);
}

static const struct iommufd_access_ops vcmdq_sw_access_ops = {
	.needs_pin_pages = 1,
	.unmap = vcmdq_sw_unmap,
};

static int vcmdq_sw_pin_queue(struct vcmdq_sw_queue *q,
			      struct iommufd_viommu *viommu, u32 ioas_id,
			      u64 base, u64 length)
{
	unsigned long last = PAGE_ALIGN(base + length);
	struct iommufd_access *access;
	u32 access_id;
	int ret;

	q->pin_iova = PAGE_ALIGN_DOWN(base);
	q->pin_off = base - q->pin_iova;
	q->npages = (last - q->pin_iova) >> PAGE_SHIFT;
	q->pages = kvcalloc(q->npages, sizeof(*q->pages), GFP_KERNEL_ACCOUNT);
	if (!q->pages)
		return -ENOMEM;

	access = iommufd_access_create(viommu->ictx, &vcmdq_sw_access_ops, q,
				       &access_id);
	if (IS_ERR(access))
		return PTR_ERR(access);
	q->access = access;
	ret = iommufd_access_attach(access, ioas_id);
	if (ret)
		return ret;
	mutex_lock(&q->lock);
	ret = iommufd_access_pin_pages(access, q->pin_iova,
				       q->npages << PAGE_SHIFT, q->pages, 0);
	q->pinned = !ret;
	mutex_unlock(&q->lock);
	return ret;
}

static int vcmdq_sw_map_regs(struct vcmdq_sw_queue *q, u64 uaddr)
{
	struct page *page;
	int ret;

	ret = pin_user_pages_fast(uaddr, 1, FOLL_WRITE | FOLL_LONGTERM, &page);
	if (ret != 1)
		return ret < 0 ? ret : -EFAULT;
	q->regs = vmap(&page, 1, VM_MAP, PAGE_KERNEL);
	if (!q->regs) {
		unpin_user_page(page);
		return -ENOMEM;
	}
	q->reg_page = page;
	return 0;
}

static void vcmdq_sw_unmap_regs(struct vcmdq_sw_queue *q)
{
	vunmap(q->regs);
	unpin_user_page(q->reg_page);
	q->regs = NULL;
	q->reg_page = NULL;
}

/*
 * Undo what vcmdq_sw_bind() set up, in reverse order; anything not set up
 * is NULL. The caller has made sure the worker and the control ioctls
 * leave the engine alone (!@q->bound).
 */
static void vcmdq_sw_unbind(struct vcmdq_sw_queue *q)
{
	/* No vCPU is in a doorbell once these return: no more kicks */
	if (q->db_gerrorn)
		ksdb_unregister(q->db_gerrorn);
	if (q->db_prod)
		ksdb_unregister(q->db_prod);
	if (q->worker)
		vhost_task_stop(q->worker);
	q->db_gerrorn = NULL;
	q->db_prod = NULL;
	q->worker = NULL;

	if (q->access) {
		mutex_lock(&q->lock);
		if (q->pinned)
			iommufd_access_unpin_pages(q->access, q->pin_iova,
						   q->npages << PAGE_SHIFT);
		q->pinned = false;
		mutex_unlock(&q->lock);
		/*
		 * Outside the lock: an unmap notification holding the access
		 * may be waiting for it, and destroying the access waits for
		 * that notification.
		 */
		iommufd_access_destroy(q->access);
		q->access = NULL;
	}
	kvfree(q->pages);
	q->pages = NULL;
	if (q->regs)
		vcmdq_sw_unmap_regs(q);
	if (q->gerror)
		eventfd_ctx_put(q->gerror);
	if (q->irq)
		eventfd_ctx_put(q->irq);
	if (q->kvm)
		kvm_put_kvm(q->kvm);
	q->gerror = NULL;
	q->irq = NULL;
	q->kvm = NULL;
	q->viommu = NULL;
}

static int vcmdq_sw_setup(struct vcmdq_sw_queue *q,
			  struct iommufd_viommu *viommu, u32 ioas_id,
			  u64 base, u64 length,
			  const struct iommu_hw_queue_vcmdq_sw *data)
{
	char name[TASK_COMM_LEN];
	struct vhost_task *worker;
	struct eventfd_ctx *efd;
	struct ksdb *db;
	struct kvm *kvm;
	__le32 *cons;
	int ret;

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
	ret = vcmdq_sw_map_regs(q, data->reg_uaddr);
	if (ret)
		return ret;
	ret = vcmdq_sw_pin_queue(q, viommu, ioas_id, base, length);
	if (ret)
		return ret;

	/* Take over where the VMM left the queue (a migrated guest) */
	cons = q->regs + q->cons_off;
	mutex_lock(&q->lock);
	vcmdq_reset(&q->e, le32_to_cpu(READ_ONCE(*cons)));
	WRITE_ONCE(*cons, cpu_to_le32(vcmdq_cons_value(&q->e)));
	mutex_unlock(&q->lock);

	snprintf(name, sizeof(name), "vcmdq-sw-%d", current->pid);
	worker = vhost_task_create(vcmdq_sw_work, vcmdq_sw_worker_killed, q,
				   name);
	if (IS_ERR(worker))
		return PTR_ERR(worker);
	q->worker = worker;
	/* It idles until kicked, and does nothing until the queue is bound */
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

/**
 * vcmdq_sw_bind - start a queue
 * @q: the queue of a control file
 * @viommu: an ARM SMMUv3 vIOMMU
 * @id: the HW queue object ID
 * @index: the queue index user space gave
 * @ioas_id: the IOAS of the vIOMMU's nesting parent
 * @base: the guest queue's IOVA
 * @length: its length in bytes
 * @data: the checked parameters
 *
 * Return: 0, or a negative errno with nothing left behind: -EBUSY if @q is
 * bound already or its control file is being closed.
 */
int vcmdq_sw_bind(struct vcmdq_sw_queue *q, struct iommufd_viommu *viommu,
		  u32 id, u32 index, u32 ioas_id, u64 base, u64 length,
		  const struct iommu_hw_queue_vcmdq_sw *data)
{
	struct vcmdq_config cfg = {
		.layout = data->layout == VCMDQ_SW_LAYOUT_SMMUV3 ?
			  VCMDQ_LAYOUT_SMMUV3 : VCMDQ_LAYOUT_TEGRA241,
		.log2size = data->log2size,
		.batch = data->batch ?: VCMDQ_BATCH_MAX,
		.caps = (data->caps & VCMDQ_SW_CAP_MSI ? VCMDQ_CAP_MSI : 0) |
			(data->caps & VCMDQ_SW_CAP_SEV ? VCMDQ_CAP_SEV : 0),
	};
	int ret;

	ret = arm_vsmmu_get_vmid(viommu, &cfg.vmid);
	if (ret)
		return ret;

	mutex_lock(&q->lock);
	if (q->bound || q->dead || q->binding) {
		mutex_unlock(&q->lock);
		return -EBUSY;
	}
	ret = vcmdq_sw_set_regs(q, data->layout, index);
	if (!ret)
		ret = vcmdq_engine_init(&q->e, &cfg, &vcmdq_sw_engine_ops, q,
					NULL);
	if (ret) {
		mutex_unlock(&q->lock);
		return ret;
	}
	q->binding = true;
	q->id = id;
	q->viommu = viommu;
	q->budget = data->budget ?: VCMDQ_SW_DEF_BUDGET;
	q->poll_ns = (u64)data->poll_us * NSEC_PER_USEC;
	mutex_unlock(&q->lock);

	ret = vcmdq_sw_setup(q, viommu, ioas_id, base, length, data);

	mutex_lock(&q->lock);
	q->binding = false;
	if (!ret && q->dead)
		ret = -EBUSY;	/* the control file was closed meanwhile */
	q->bound = !ret;
	/* Whatever the guest queued before the doorbells existed */
	vcmdq_sw_kick(q);
	mutex_unlock(&q->lock);

	if (ret)
		vcmdq_sw_unbind(q);
	return ret;
}

/**
 * vcmdq_sw_stop - stop a queue for good and release what its binding holds
 * @q: the queue
 *
 * Called when the control file is released and when the HW queue object
 * is destroyed, whichever is first; the second finds nothing to do. Sleeps.
 */
void vcmdq_sw_stop(struct vcmdq_sw_queue *q)
{
	bool was_bound;

	/*
	 * Once this section is done the worker and the control ioctls leave
	 * the engine alone, so nothing touches the vIOMMU any more.
	 */
	mutex_lock(&q->lock);
	was_bound = q->bound;
	q->bound = false;
	spin_lock(&q->ev_lock);
	q->dead = true;
	spin_unlock(&q->ev_lock);
	mutex_unlock(&q->lock);
	wake_up_interruptible_poll(&q->wait, EPOLLHUP);
	if (was_bound)
		vcmdq_sw_unbind(q);
}

static void vcmdq_sw_hw_queue_destroy(struct iommufd_hw_queue *hw_queue)
{
	struct vcmdq_sw_hw_queue *hwq =
		container_of(hw_queue, struct vcmdq_sw_hw_queue, core);

	vcmdq_sw_stop(hwq->q);
	vcmdq_sw_queue_put(hwq->q);
}

static int vcmdq_sw_check(const struct iommu_hw_queue_vcmdq_sw *d,
			  u64 base, u64 length)
{
	if (d->flags || d->layout > VCMDQ_SW_LAYOUT_TEGRA241 ||
	    d->log2size > VCMDQ_MAX_LOG2SIZE || d->batch > VCMDQ_BATCH_MAX ||
	    (d->caps & ~(VCMDQ_SW_CAP_MSI | VCMDQ_SW_CAP_SEV)) ||
	    d->irq_eventfd < -1 || d->gerror_eventfd < -1)
		return -EINVAL;
	/* The architecture's rules for CMDQ_BASE: size, aligned to it */
	if (length != 16ULL << d->log2size ||
	    !IS_ALIGNED(base, max_t(u64, length, 32)))
		return -EINVAL;
	if (!PAGE_ALIGNED(d->reg_gpa) || !PAGE_ALIGNED(d->reg_uaddr))
		return -EINVAL;
	if (d->poll_us > VCMDQ_SW_MAX_POLL_US || d->__reserved)
		return -EINVAL;
	return 0;
}

static int vcmdq_sw_hw_queue_init(struct iommufd_hw_queue *hw_queue,
				  u32 index, u32 ioas_id,
				  const struct iommu_user_data *user_data)
{
	struct vcmdq_sw_hw_queue *hwq =
		container_of(hw_queue, struct vcmdq_sw_hw_queue, core);
	struct iommu_hw_queue_vcmdq_sw data;
	struct vcmdq_sw_queue *q;
	int ret;

	if (user_data->len < offsetofend(struct iommu_hw_queue_vcmdq_sw,
					 reg_uaddr))
		return -EINVAL;
	ret = copy_struct_from_user(&data, sizeof(data), user_data->uptr,
				    user_data->len);
	if (ret)
		return ret;
	ret = vcmdq_sw_check(&data, hw_queue->base_addr, hw_queue->length);
	if (ret)
		return ret;

	q = vcmdq_sw_queue_get_from_fd(data.ctl_fd);
	if (IS_ERR(q))
		return PTR_ERR(q);
	ret = vcmdq_sw_bind(q, hw_queue->viommu, hw_queue->obj.id, index,
			    ioas_id, hw_queue->base_addr, hw_queue->length,
			    &data);
	if (ret) {
		vcmdq_sw_queue_put(q);
		return ret;
	}
	hwq->q = q;
	hw_queue->destroy = vcmdq_sw_hw_queue_destroy;
	return 0;
}

const struct iommufd_sw_queue_ops vcmdq_sw_hw_queue_ops = {
	.owner = THIS_MODULE,
	.size = sizeof(struct vcmdq_sw_hw_queue),
	.init = vcmdq_sw_hw_queue_init,
};
