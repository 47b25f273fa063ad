/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal KVM harness for arm64 tests, in the spirit of the KVM
 * selftests' kvm_util but small: one VM, one vCPU, memslots (normal and
 * read-only), a freestanding guest program copied to GPA 0, and a count of
 * every exit by reason.
 */
#ifndef VCMDQ_KVM_UTIL_H
#define VCMDQ_KVM_UTIL_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#define KVM_MAX_EXIT_REASON	64

struct kvm_vm {
	int kvm_fd, vm_fd, vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	unsigned int nr_slots;
	unsigned long exits[KVM_MAX_EXIT_REASON];
	unsigned long nr_exits;
};

/* All return 0 or a negative errno and print what failed. */
int kvm_vm_create(struct kvm_vm *vm);
void *kvm_vm_add_slot(struct kvm_vm *vm, uint64_t gpa, size_t size,
		      uint32_t flags);
int kvm_vm_add_slot_mem(struct kvm_vm *vm, uint64_t gpa, size_t size,
			uint32_t flags, void *mem);
int kvm_vm_load(struct kvm_vm *vm, void *ram, const uint8_t *start,
		const uint8_t *end, const uint64_t *regs, unsigned int nregs);
int kvm_vcpu_create(struct kvm_vm *vm);
int kvm_vcpu_add(struct kvm_vm *vm, unsigned int id, uint64_t pc,
		 const uint64_t *regs, unsigned int nregs, int *fd,
		 struct kvm_run **run);
int kvm_vcpu_set_reg(struct kvm_vm *vm, unsigned int xn, uint64_t val);
int kvm_vcpu_set_pc(struct kvm_vm *vm, uint64_t pc);
int kvm_vcpu_run(struct kvm_vm *vm);
void kvm_vm_destroy(struct kvm_vm *vm);
const char *kvm_exit_name(unsigned int reason);

/* Guest programs (guest_*.S), position independent, copied to GPA 0. */
extern const uint8_t guest_mmio_start[], guest_mmio_end[];
extern const uint8_t guest_db_handshake_start[], guest_db_handshake_end[];
extern const uint8_t guest_db_storm_start[], guest_db_storm_end[];
extern const uint8_t guest_db_odd_start[], guest_db_odd_end[];
extern const uint8_t guest_db_forever_start[], guest_db_forever_end[];

#endif /* VCMDQ_KVM_UTIL_H */
