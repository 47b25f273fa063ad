// SPDX-License-Identifier: GPL-2.0
/*
 * Proves the KVM harness inside the test VM: an L2 guest stores to MMIO
 * (exits with the right address and data), loads from a read-only memslot
 * (no exit), stores into it (exits as MMIO, memory unchanged). Every exit is
 * counted by reason.
 */
#include <stdio.h>
#include <string.h>

#include "kvm_util.h"
#include "lib/tap.h"

#define MMIO	0x20000000ULL
#define ROM	0x30000000ULL
#define ITERS	100
#define VAL0	0x1000u
#define ROVAL	0xfeedf00du

int main(void)
{
	unsigned long want = 0, mmio = 0, bad = 0, rom_stores = 0;
	bool failed = false, done = false;
	struct kvm_vm vm;
	uint32_t *ram, *rom;
	unsigned int i;

	if (kvm_vm_create(&vm) || kvm_vcpu_create(&vm)) {
		tap_result(false, "KVM VM and vCPU");
		return tap_done();
	}
	ram = kvm_vm_add_slot(&vm, 0, 0x10000, 0);
	rom = kvm_vm_add_slot(&vm, ROM, 0x10000, KVM_MEM_READONLY);
	if (!ram || !rom) {
		tap_result(false, "memslots (normal and read-only)");
		return tap_done();
	}
	memcpy(ram, guest_mmio_start, guest_mmio_end - guest_mmio_start);
	rom[0] = ROVAL;
	if (kvm_vcpu_set_pc(&vm, 0) || kvm_vcpu_set_reg(&vm, 0, MMIO) ||
	    kvm_vcpu_set_reg(&vm, 1, ROM) || kvm_vcpu_set_reg(&vm, 2, VAL0) ||
	    kvm_vcpu_set_reg(&vm, 3, ITERS)) {
		tap_result(false, "vCPU registers");
		return tap_done();
	}
	tap_result(true, "KVM VM, vCPU, normal and read-only memslots");

	for (i = 0; i < 10 * ITERS && !done; i++) {
		struct kvm_run *r = vm.run;
		uint32_t data = 0;
		uint64_t a;

		if (kvm_vcpu_run(&vm) != KVM_EXIT_MMIO) {
			tap_diag("unexpected exit %s (%u)",
				 kvm_exit_name(r->exit_reason), r->exit_reason);
			failed = true;
			break;
		}
		mmio++;
		a = r->mmio.phys_addr;
		memcpy(&data, r->mmio.data, 4);
		if (a == MMIO + 0xff0) {
			done = true;
			break;
		}
		/* iteration want/3: store, store of the loaded value, RO store */
		switch (want % 3) {
		case 0:
			if (a != MMIO || data != VAL0 + want / 3)
				bad++;
			break;
		case 1:
			if (a != MMIO + 4 || data != ROVAL)
				bad++;
			break;
		case 2:
			if (a != ROM || data != VAL0 + want / 3)
				bad++;
			rom_stores++;
			break;
		}
		if (!r->mmio.is_write || r->mmio.len != 4)
			bad++;
		want++;
	}
	CHECK(done && !failed, "guest did not finish (%lu exits)", vm.nr_exits);
	CHECK(!bad, "%lu MMIO exits with wrong address/data/size", bad);
	CHECK(mmio == 3 * ITERS + 1, "%lu MMIO exits, want %u", mmio,
	      3 * ITERS + 1);
	tap_result(!failed, "guest stores exit as MMIO with the right address and data (%lu exits)",
		   mmio);

	failed = !(done && vm.nr_exits == vm.exits[KVM_EXIT_MMIO]);
	tap_result(!failed, "loads from the read-only memslot never exit (%u loads, %lu non-MMIO exits)",
		   ITERS, vm.nr_exits - vm.exits[KVM_EXIT_MMIO]);

	failed = !(rom_stores == ITERS && rom[0] == ROVAL);
	tap_result(!failed, "stores into the read-only memslot exit and leave it unchanged (%lu stores, value 0x%x)",
		   rom_stores, rom[0]);

	for (i = 0; i < KVM_MAX_EXIT_REASON; i++)
		if (vm.exits[i])
			tap_diag("exits %s: %lu", kvm_exit_name(i), vm.exits[i]);
	kvm_vm_destroy(&vm);
	return tap_done();
}
