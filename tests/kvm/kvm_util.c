// SPDX-License-Identifier: GPL-2.0
/*
 * Minimal KVM harness: see kvm_util.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_util.h"

static int fail(const char *what)
{
	int err = errno;

	fprintf(stdout, "# kvm_util: %s: %s\n", what, strerror(err));
	return -err;
}

int kvm_vm_create(struct kvm_vm *vm)
{
	int size;

	memset(vm, 0, sizeof(*vm));
	vm->vcpu_fd = -1;
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return fail("open /dev/kvm");
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return fail("KVM_CREATE_VM");
	size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size <= 0)
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	vm->run_size = size;
	return 0;
}

/* A memslot over caller-owned memory @mem (e.g. a shadow page). */
int kvm_vm_add_slot_mem(struct kvm_vm *vm, uint64_t gpa, size_t size,
			uint32_t flags, void *mem)
{
	struct kvm_userspace_memory_region r = {
		.slot = vm->nr_slots,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)mem,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r))
		return fail("KVM_SET_USER_MEMORY_REGION");
	vm->nr_slots++;
	return 0;
}

/*
 * Finish what the last exit left in flight without entering the guest
 * (KVM_RUN with immediate_exit). After an MMIO exit KVM steps over the
 * access at the next KVM_RUN, whatever PC was set meanwhile: a program
 * loaded after one would start at its second instruction.
 */
static int kvm_vcpu_complete_io(struct kvm_vm *vm)
{
	int ret = 0;

	if (!vm->run || vm->run->exit_reason != KVM_EXIT_MMIO)
		return 0;
	vm->run->immediate_exit = 1;
	if (!ioctl(vm->vcpu_fd, KVM_RUN, 0) || errno != EINTR)
		ret = fail("KVM_RUN to complete an MMIO exit");
	vm->run->immediate_exit = 0;
	return ret;
}

/* Copy a guest program to @ram (GPA 0), set PC 0 and x0..x(nregs-1). */
int kvm_vm_load(struct kvm_vm *vm, void *ram, const uint8_t *start,
		const uint8_t *end, const uint64_t *regs, unsigned int nregs)
{
	unsigned int i;
	int ret;

	ret = kvm_vcpu_complete_io(vm);
	if (ret)
		return ret;
	memcpy(ram, start, end - start);
	ret = kvm_vcpu_set_pc(vm, 0);
	for (i = 0; !ret && i < nregs; i++)
		ret = kvm_vcpu_set_reg(vm, i, regs[i]);
	return ret;
}

void *kvm_vm_add_slot(struct kvm_vm *vm, uint64_t gpa, size_t size,
		      uint32_t flags)
{
	void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (mem == MAP_FAILED) {
		fail("mmap guest memory");
		return NULL;
	}
	if (kvm_vm_add_slot_mem(vm, gpa, size, flags, mem)) {
		munmap(mem, size);
		return NULL;
	}
	return mem;
}

int kvm_vcpu_create(struct kvm_vm *vm)
{
	struct kvm_vcpu_init init;

	vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu_fd < 0)
		return fail("KVM_CREATE_VCPU");
	if (ioctl(vm->vm_fd, KVM_ARM_PREFERRED_TARGET, &init))
		return fail("KVM_ARM_PREFERRED_TARGET");
	if (ioctl(vm->vcpu_fd, KVM_ARM_VCPU_INIT, &init))
		return fail("KVM_ARM_VCPU_INIT");
	vm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vm->vcpu_fd, 0);
	if (vm->run == MAP_FAILED) {
		vm->run = NULL;
		return fail("mmap kvm_run");
	}
	return 0;
}

/* Set the core register at @off of struct kvm_regs of vCPU @fd: 0 or -errno */
static int core_reg_set(int fd, size_t off, uint64_t val)
{
	struct kvm_one_reg reg = {
		.id = KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |
		      (off / sizeof(uint32_t)),
		.addr = (uintptr_t)&val,
	};

	return ioctl(fd, KVM_SET_ONE_REG, &reg) ? -errno : 0;
}

static int set_core(struct kvm_vm *vm, size_t off, uint64_t val)
{
	return core_reg_set(vm->vcpu_fd, off, val) ?
	       fail("KVM_SET_ONE_REG") : 0;
}

/*
 * A further vCPU @id of @vm, starting at @pc with x0.. = @regs: its fd in
 * @fd and its kvm_run in @run, set as soon as they exist (the caller
 * closes and unmaps them, after a failure too). Returns 0 or -errno.
 */
int kvm_vcpu_add(struct kvm_vm *vm, unsigned int id, uint64_t pc,
		 const uint64_t *regs, unsigned int nregs, int *fd,
		 struct kvm_run **run)
{
	struct kvm_vcpu_init init;
	unsigned int i;
	int ret;

	*run = NULL;
	*fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
	if (*fd < 0)
		return -errno;
	if (ioctl(vm->vm_fd, KVM_ARM_PREFERRED_TARGET, &init) ||
	    ioctl(*fd, KVM_ARM_VCPU_INIT, &init))
		return -errno;
	*run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    *fd, 0);
	if (*run == MAP_FAILED) {
		*run = NULL;
		return -errno;
	}
	ret = core_reg_set(*fd, offsetof(struct kvm_regs, regs.pc), pc);
	for (i = 0; !ret && i < nregs; i++)
		ret = core_reg_set(*fd, offsetof(struct kvm_regs,
						 regs.regs[i]), regs[i]);
	return ret;
}

int kvm_vcpu_set_reg(struct kvm_vm *vm, unsigned int xn, uint64_t val)
{
	return set_core(vm, offsetof(struct kvm_regs, regs.regs[xn]), val);
}

int kvm_vcpu_set_pc(struct kvm_vm *vm, uint64_t pc)
{
	return set_core(vm, offsetof(struct kvm_regs, regs.pc), pc);
}

/* One KVM_RUN; the exit is counted. Returns the exit reason. */
int kvm_vcpu_run(struct kvm_vm *vm)
{
	unsigned int reason;

	if (ioctl(vm->vcpu_fd, KVM_RUN, 0) && errno != EINTR)
		return fail("KVM_RUN");
	reason = vm->run->exit_reason;
	vm->exits[reason < KVM_MAX_EXIT_REASON ? reason : 0]++;
	vm->nr_exits++;
	return (int)reason;
}

void kvm_vm_destroy(struct kvm_vm *vm)
{
	if (vm->run)
		munmap(vm->run, vm->run_size);
	if (vm->vcpu_fd >= 0)
		close(vm->vcpu_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	/* done once: a second call does nothing */
	vm->run = NULL;
	vm->vcpu_fd = vm->vm_fd = vm->kvm_fd = -1;
}

const char *kvm_exit_name(unsigned int reason)
{
	switch (reason) {
	case KVM_EXIT_MMIO: return "MMIO";
	case KVM_EXIT_HYPERCALL: return "HYPERCALL";
	case KVM_EXIT_SYSTEM_EVENT: return "SYSTEM_EVENT";
	case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
	case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
	case KVM_EXIT_UNKNOWN: return "UNKNOWN";
	default: return "other";
	}
}
