// SPDX-License-Identifier: GPL-2.0
/*
 * KVM shadow doorbell: a device on a VM's MMIO bus that takes guest stores
 * to one doorbell register, writes the value into a shadow page and wakes
 * a consumer, so the vCPU resumes at once instead of exiting to the VMM.
 *
 * Unlike an ioeventfd the written value is kept; unlike an MMIO exit nothing
 * leaves the kernel. The register page is installed in the guest as a
 * read-only memslot backed by the shadow page, so guest loads never exit:
 * only stores fault into KVM (kvm_handle_guest_abort -> io_mem_abort ->
 * kvm_io_bus_write), and only stores of the register's exact width and
 * address are taken here; anything else returns -EOPNOTSUPP and exits to
 * the VMM as if there were no doorbell.
 *
 * Consumers: user space through /dev/kvm-shadow-doorbell and an eventfd
 * (include/uapi/linux/kvm_shadow_doorbell.h), or a kernel callback
 * (shadow_doorbell.h, for vcmdq-sw's worker).
 *
 * Lifetime: a doorbell holds a reference on the VM, on the shadow page (a
 * long-term pin, for user-space doorbells) and on the eventfd, so none of
 * them can go away under it. It is on the bus from registration until
 * ksdb_unregister(); kvm_io_bus_unregister_dev() waits for vCPUs inside
 * ksdb_write() (SRCU) before dropping the bus reference, so the doorbell is
 * freed only when no vCPU can reach it.
 */
#include <linux/anon_inodes.h>
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/kvm_host.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/refcount.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <kvm/iodev.h>

#include "include/uapi/linux/kvm_shadow_doorbell.h"
#include "shadow_doorbell.h"

/**
 * struct ksdb - one shadow doorbell
 * @dev: the device on the VM's MMIO bus
 * @kvm: the VM; referenced for the doorbell's whole life
 * @gpa: guest physical address of the register
 * @len: register width, 4 or 8
 * @offset: offset of the register in the shadow page
 * @shadow: kernel address of the register in the shadow page
 * @page: the shadow page
 * @pinned: @page was pinned here and is unpinned when the doorbell is freed
 * @eventfd: the eventfd of a user-space doorbell (its reference), or NULL
 * @kick: wakes the consumer; for user-space doorbells, signals @eventfd
 * @kick_data: argument of @kick
 * @stores: stores taken
 * @ignored: accesses routed here but left to user space
 * @on_bus: on the MMIO bus; protected by kvm->slots_lock
 * @ref: one for the owner, one while on the bus
 * @node: in the VM's struct ksdb_vm; protected by kvm->slots_lock
 */
struct ksdb {
	struct kvm_io_device dev;
	struct kvm *kvm;
	gpa_t gpa;
	unsigned int len;
	unsigned int offset;
	void *shadow;
	struct page *page;
	bool pinned;
	struct eventfd_ctx *eventfd;
	void (*kick)(void *data);
	void *kick_data;
	atomic64_t stores;
	atomic64_t ignored;
	bool on_bus;
	refcount_t ref;
	struct list_head node;
};

/**
 * struct ksdb_vm - the doorbells of one VM, to refuse overlapping ones (as
 *	KVM keeps a VM's ioeventfds)
 * @dbs: its doorbells; protected by the VM's slots_lock
 *
 * In ksdb_vms, keyed by the VM, while the VM has doorbells.
 */
struct ksdb_vm {
	struct list_head dbs;
};

/* struct ksdb_vm of each VM with doorbells; changed under its slots_lock */
static DEFINE_XARRAY(ksdb_vms);

static struct ksdb *to_ksdb(struct kvm_io_device *dev)
{
	return container_of(dev, struct ksdb, dev);
}

static void ksdb_free(struct ksdb *db)
{
	if (db->eventfd)
		eventfd_ctx_put(db->eventfd);
	if (db->pinned)
		unpin_user_page(db->page);
	kvm_put_kvm(db->kvm);
	kfree(db);
}

static void ksdb_put(struct ksdb *db)
{
	if (refcount_dec_and_test(&db->ref))
		ksdb_free(db);
}

/*
 * vCPU context: the vCPU thread (on arm64 preemptible, under kvm->srcu and
 * vcpu->mutex), so the kick may sleep, though the vCPU waits for it. No
 * locks of ours.
 */
static int ksdb_write(struct kvm_vcpu *vcpu, struct kvm_io_device *this,
		      gpa_t addr, int len, const void *val)
{
	struct ksdb *db = to_ksdb(this);

	if (addr != db->gpa || len != db->len) {
		atomic64_inc(&db->ignored);
		return -EOPNOTSUPP;
	}
	if (len == 4) {
		u32 v;

		memcpy(&v, val, sizeof(v));
		WRITE_ONCE(*(__le32 *)db->shadow, cpu_to_le32(v));
	} else {
		u64 v;

		memcpy(&v, val, sizeof(v));
		WRITE_ONCE(*(__le64 *)db->shadow, cpu_to_le64(v));
	}
	/* The value is visible before the wake-up; pairs with the consumer. */
	smp_wmb();
	atomic64_inc(&db->stores);
	db->kick(db->kick_data);
	return 0;
}

/* Called by KVM when the device leaves the bus, with slots_lock held. */
static void ksdb_destructor(struct kvm_io_device *this)
{
	struct ksdb *db = to_ksdb(this);

	db->on_bus = false;
	/* The owner still holds its reference: this is never the last. */
	refcount_dec(&db->ref);
}

static const struct kvm_io_device_ops ksdb_ops = {
	.write = ksdb_write,
	.destructor = ksdb_destructor,
};

/* The doorbell list of @kvm, created if it has none; slots_lock held. */
static struct ksdb_vm *ksdb_vm_get(struct kvm *kvm)
{
	struct ksdb_vm *vm;
	int ret;

	lockdep_assert_held(&kvm->slots_lock);
	vm = xa_load(&ksdb_vms, (unsigned long)kvm);
	if (vm)
		return vm;
	vm = kzalloc_obj(*vm, GFP_KERNEL_ACCOUNT);
	if (!vm)
		return ERR_PTR(-ENOMEM);
	INIT_LIST_HEAD(&vm->dbs);
	ret = xa_err(xa_store(&ksdb_vms, (unsigned long)kvm, vm,
			      GFP_KERNEL_ACCOUNT));
	if (ret) {
		kfree(vm);
		return ERR_PTR(ret);
	}
	return vm;
}

/* Drop the doorbell list of @kvm if it is empty; slots_lock held. */
static void ksdb_vm_put(struct kvm *kvm, struct ksdb_vm *vm)
{
	lockdep_assert_held(&kvm->slots_lock);
	if (!list_empty(&vm->dbs))
		return;
	xa_erase(&ksdb_vms, (unsigned long)kvm);
	kfree(vm);
}

static bool ksdb_params_ok(gpa_t gpa, unsigned int len, unsigned int offset)
{
	return (len == 4 || len == 8) && !(gpa & (len - 1)) &&
	       !(offset & (len - 1)) && offset <= PAGE_SIZE - len;
}

/*
 * Put @db on the bus. Takes ownership of what @db references: on failure
 * they are released and @db is freed.
 */
static int ksdb_add(struct ksdb *db)
{
	struct kvm *kvm = db->kvm;
	struct ksdb_vm *vm;
	struct ksdb *other;
	int ret = 0;

	if (PageHighMem(db->page)) {
		ksdb_free(db);
		return -EOPNOTSUPP;
	}
	db->shadow = page_address(db->page) + db->offset;
	kvm_iodevice_init(&db->dev, &ksdb_ops);
	refcount_set(&db->ref, 1);

	mutex_lock(&kvm->slots_lock);
	vm = ksdb_vm_get(kvm);
	if (IS_ERR(vm)) {
		ret = PTR_ERR(vm);
		goto out_unlock;
	}
	list_for_each_entry(other, &vm->dbs, node) {
		if (db->gpa < other->gpa + other->len &&
		    other->gpa < db->gpa + db->len) {
			ret = -EEXIST;
			break;
		}
	}
	if (!ret)
		ret = kvm_io_bus_register_dev(kvm, KVM_MMIO_BUS, db->gpa,
					      db->len, &db->dev);
	if (!ret) {
		db->on_bus = true;
		refcount_inc(&db->ref);
		list_add(&db->node, &vm->dbs);
	}
	ksdb_vm_put(kvm, vm);
out_unlock:
	mutex_unlock(&kvm->slots_lock);
	if (ret)
		ksdb_free(db);
	return ret;
}

/**
 * ksdb_register() - register a doorbell with an in-kernel consumer
 * @kvm: the VM; a reference is taken
 * @gpa: guest physical address of the register, aligned to @len
 * @len: register width, 4 or 8
 * @shadow: the shadow page; the caller keeps it pinned until
 *	ksdb_unregister() returns
 * @offset: offset of the register in @shadow, aligned to @len
 * @kick: called in vCPU context after each store, once the value is
 *	visible in @shadow: the vCPU thread, under kvm->srcu (and on arm64
 *	vcpu->mutex, preemptible); it may sleep, but the vCPU waits for it
 * @data: argument of @kick
 *
 * Return: the doorbell, or an ERR_PTR: -EINVAL for bad parameters, -EEXIST
 * if another doorbell of @kvm overlaps, -ENOENT if @kvm is being destroyed,
 * -ENOMEM, -ENOSPC (MMIO bus full).
 */
struct ksdb *ksdb_register(struct kvm *kvm, gpa_t gpa, unsigned int len,
			   struct page *shadow, unsigned int offset,
			   void (*kick)(void *data), void *data)
{
	struct ksdb *db;
	int ret;

	if (!ksdb_params_ok(gpa, len, offset) || !kick || !shadow)
		return ERR_PTR(-EINVAL);
	if (!kvm_get_kvm_safe(kvm))
		return ERR_PTR(-ENOENT);
	db = kzalloc_obj(*db, GFP_KERNEL_ACCOUNT);
	if (!db) {
		kvm_put_kvm(kvm);
		return ERR_PTR(-ENOMEM);
	}
	db->kvm = kvm;
	db->gpa = gpa;
	db->len = len;
	db->page = shadow;
	db->offset = offset;
	db->kick = kick;
	db->kick_data = data;
	ret = ksdb_add(db);
	return ret ? ERR_PTR(ret) : db;
}
EXPORT_SYMBOL_NS_GPL(ksdb_register, "KVM_SHADOW_DOORBELL");

/**
 * ksdb_unregister() - take a doorbell off the bus and drop it
 * @db: the doorbell
 *
 * When this returns no vCPU is inside the doorbell and none will enter it;
 * later stores to the register exit to user space. Sleeps.
 */
void ksdb_unregister(struct ksdb *db)
{
	struct kvm *kvm = db->kvm;

	mutex_lock(&kvm->slots_lock);
	list_del(&db->node);
	ksdb_vm_put(kvm, xa_load(&ksdb_vms, (unsigned long)kvm));
	if (db->on_bus)
		kvm_io_bus_unregister_dev(kvm, KVM_MMIO_BUS, &db->dev);
	mutex_unlock(&kvm->slots_lock);
	ksdb_put(db);
}
EXPORT_SYMBOL_NS_GPL(ksdb_unregister, "KVM_SHADOW_DOORBELL");

/* ---- user-space doorbells: /dev/kvm-shadow-doorbell and doorbell fds ---- */

/* The user-space consumer is one more kick: the same path as the kernel's. */
static void ksdb_kick_eventfd(void *data)
{
	eventfd_signal(data);
}

static int ksdb_fd_release(struct inode *inode, struct file *file)
{
	ksdb_unregister(file->private_data);
	return 0;
}

static long ksdb_fd_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	struct kvm_shadow_doorbell_stats __user *ustats = (void __user *)arg;
	struct ksdb *db = file->private_data;
	struct kvm_shadow_doorbell_stats stats;
	u32 size;
	int ret;

	if (cmd != KVM_SHADOW_DOORBELL_GET_STATS)
		return -ENOTTY;
	if (get_user(size, &ustats->size))
		return -EFAULT;
	ret = copy_struct_from_user(&stats, sizeof(stats), ustats, size);
	if (ret)
		return ret;
	if (size < offsetofend(struct kvm_shadow_doorbell_stats, ignored) ||
	    stats.__reserved)
		return -EINVAL;
	stats.stores = atomic64_read(&db->stores);
	stats.ignored = atomic64_read(&db->ignored);
	return copy_to_user(ustats, &stats, min_t(u32, size, sizeof(stats))) ?
	       -EFAULT : 0;
}

static const struct file_operations ksdb_fd_fops = {
	.owner = THIS_MODULE,
	.release = ksdb_fd_release,
	.unlocked_ioctl = ksdb_fd_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static long ksdb_assign(struct kvm_shadow_doorbell_assign __user *uarg)
{
	struct kvm_shadow_doorbell_assign a;
	struct eventfd_ctx *eventfd;
	struct page *page;
	struct file *vm;
	struct ksdb *db;
	struct kvm *kvm;
	u32 size;
	int ret, fd;

	if (get_user(size, &uarg->size))
		return -EFAULT;
	ret = copy_struct_from_user(&a, sizeof(a), uarg, size);
	if (ret)
		return ret;
	if (size < offsetofend(struct kvm_shadow_doorbell_assign,
			       shadow_uaddr) || a.flags ||
	    !ksdb_params_ok(a.gpa, a.len, a.shadow_offset) ||
	    !PAGE_ALIGNED(a.shadow_uaddr))
		return -EINVAL;

	vm = fget(a.vm_fd);
	if (!vm)
		return -EBADF;
	kvm = kvm_get_kvm_from_file(vm);
	fput(vm);
	if (IS_ERR(kvm))
		return PTR_ERR(kvm);
	eventfd = eventfd_ctx_fdget(a.eventfd);
	if (IS_ERR(eventfd)) {
		ret = PTR_ERR(eventfd);
		goto err_kvm;
	}
	ret = pin_user_pages_fast(a.shadow_uaddr, 1,
				  FOLL_WRITE | FOLL_LONGTERM, &page);
	if (ret != 1) {
		ret = ret < 0 ? ret : -EFAULT;
		goto err_eventfd;
	}
	db = kzalloc_obj(*db, GFP_KERNEL_ACCOUNT);
	if (!db) {
		ret = -ENOMEM;
		goto err_page;
	}
	db->kvm = kvm;
	db->gpa = a.gpa;
	db->len = a.len;
	db->page = page;
	db->pinned = true;
	db->offset = a.shadow_offset;
	db->eventfd = eventfd;
	db->kick = ksdb_kick_eventfd;
	db->kick_data = eventfd;
	ret = ksdb_add(db);
	if (ret)
		return ret;

	fd = anon_inode_getfd("[kvm-shadow-doorbell]", &ksdb_fd_fops, db,
			      O_RDWR | O_CLOEXEC);
	if (fd < 0)
		ksdb_unregister(db);
	return fd;

err_page:
	unpin_user_page(page);
err_eventfd:
	eventfd_ctx_put(eventfd);
err_kvm:
	kvm_put_kvm(kvm);
	return ret;
}

static long ksdb_dev_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	if (cmd != KVM_SHADOW_DOORBELL_ASSIGN)
		return -ENOTTY;
	return ksdb_assign((void __user *)arg);
}

static const struct file_operations ksdb_dev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = ksdb_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice ksdb_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "kvm-shadow-doorbell",
	.fops = &ksdb_dev_fops,
};

module_misc_device(ksdb_misc);

MODULE_DESCRIPTION("KVM shadow doorbells: guest register stores kept in a shadow page, no exit");
MODULE_LICENSE("GPL");
