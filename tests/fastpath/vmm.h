/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A reference VMM for vcmdq-sw tests: one L2 guest with a vSMMU command
 * queue, backed either by the kernel fast path (an
 * IOMMU_HW_QUEUE_TYPE_ARM_SMMUV3_CMDQ_SW HW queue: its register page,
 * mmap()ed from iommufd, is the guest's read-only memslot at REG_GPA; the
 * VMM hears exits and faults on the queue's event file) or by the trap path
 * of today's VMMs (every register access exits; the VMM reads the queue at
 * the PROD exit and calls IOMMU_HWPT_INVALIDATE).
 */
#ifndef VCMDQ_TESTS_VMM_H
#define VCMDQ_TESTS_VMM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/vcmdq_sw.h>

#include "kvm/kvm_util.h"
#include "lib/viommu.h"

#define VSID		0x42	/* the guest's SID of the device */
#define GUEST_VMID	0x77ULL	/* what the guest writes; never reaches HW */

/* Guest physical layout */
#define RAM_SIZE	(4UL << 20)
#define RES_GPA		0x10000UL	/* guest results */
#define QUEUE_GPA	0x40000UL	/* the command queue, up to 64 KiB */
#define QUEUE_MAP_LEN	0x10000UL	/* mapped in the IOAS on its own */
#define SCRIPT_GPA	0x80000UL	/* batches the guest posts */
#define MP_STATE_GPA	0x30000UL	/* guest_cmdq_mp's shared words */
#define MP_STATE_LEN	0x2000UL
#define REG_GPA		0x30000000UL	/* the queue's register page */
#define REG_DONE	0xff0		/* guest's "finished" store */
#define REG_PAUSE	0xff8		/* guest's "stopped at an error" store */
#define REG_SLOT	1		/* its memslot (RAM is slot 0) */

/* vmm_run(): the guest stored to REG_PAUSE; vmm_run() again goes on */
#define VMM_PAUSED	1

/* Opcodes and fields, from the SMMUv3 architecture */
#define OP_CFGI_STE	0x03ULL
#define OP_CFGI_CD	0x05ULL
#define OP_TLBI_NH_ALL	0x10ULL
#define OP_TLBI_NH_ASID	0x11ULL
#define OP_TLBI_NH_VA	0x12ULL
#define OP_TLBI_S2_IPA	0x2aULL
#define OP_ATC_INV	0x40ULL
#define OP_CMD_SYNC	0x46ULL

enum vmm_mode { VMM_FAST, VMM_TRAP };

struct vmm_cmd {
	uint64_t w[2];
};

/*
 * A batch the guest posts: entries, then wait for CONS or for the MSI.
 * With @pause_on_error the guest, stopped at a command error, stores to
 * REG_PAUSE (an exit) after fixing the entry and before acknowledging it;
 * with @pause_before_fix it does so before fixing the entry as well.
 */
struct vmm_batch {
	unsigned int n;
	bool msi;
	bool pause_on_error;
	bool pause_before_fix;
	struct vmm_cmd cmd[320];
};

struct vmm {
	enum vmm_mode mode;
	uint32_t layout;		/* VCMDQ_SW_LAYOUT_* */
	uint32_t log2size;
	uint32_t prod_off, cons_off, gerror_off, gerrorn_off;

	/* iommufd + vfio */
	struct viommu_stack st;

	/* KVM */
	struct kvm_vm vm;
	uint8_t *ram;
	/*
	 * The register page: the queue's, mmap()ed from iommufd and the
	 * guest's read-only memslot REG_SLOT (fast; NULL while there is no
	 * queue), or the VMM's own, every access trapped (trap)
	 */
	uint8_t *regs;
	size_t regs_len;

	/* fast path */
	int evfd, gerror_efd;		/* the queue's event file, GERROR irq */
	uint32_t poll_us;		/* for vmm_alloc_queue(); 0: no polling */
	uint32_t hwq_id;
	bool hwq_live;			/* allocated, not yet destroyed */
	pthread_t events;
	bool events_running;
	bool events_stop;		/* __atomic accesses */
	/* what the event thread saw */
	unsigned int nr_exit_events, nr_other_events;
	uint32_t exit_index[8], cons_at_exit[8];
	uint64_t exit_cmd[8][2];
	int events_error;		/* the loop's last error, or 0 */
	int fault_err;			/* err of the last FAULT event */
	uint32_t fault_index;
	void (*on_exit)(struct vmm *v, const struct vcmdq_sw_event *ev);
	uint16_t marker_asid;		/* what on_exit invalidates */

	/*
	 * trap path emulation: @trap_lock, the VMM's big lock, serialises
	 * every vCPU thread's register accesses and what they run, and
	 * protects the fields below it and @kvm_exits
	 */
	pthread_mutex_t trap_lock;
	uint32_t cons;			/* pointer | ERR << 24 */
	uint32_t gerror, gerrorn;
	unsigned long trap_invalidates;	/* IOMMU_HWPT_INVALIDATE calls */

	/* per run */
	bool start_at_prod;		/* guest's first entry at PROD, not CONS */
	unsigned long kvm_exits;	/* user-space exits during the batches */
	unsigned int nbatches;
};

/* The guest programs (guest_cmdq.S), copied to GPA 0 */
extern const uint8_t guest_cmdq_start[], guest_cmdq_end[];
extern const uint8_t guest_prod_loop_start[], guest_prod_loop_end[];
extern const uint8_t guest_gerrorn_loop_start[], guest_gerrorn_loop_end[];
extern const uint8_t guest_store_on_go_start[], guest_store_on_go_end[];
extern const uint8_t guest_cmdq_mp_start[], guest_cmdq_mp_end[];
extern const uint8_t guest_hostile_start[], guest_hostile_end[];

/* builders */
struct vmm_cmd cmd_tlbi_nh_asid(uint16_t asid);
struct vmm_cmd cmd_tlbi_nh_va(uint16_t asid, uint64_t va);
struct vmm_cmd cmd_tlbi_nh_all(void);
struct vmm_cmd cmd_tlbi_s2_ipa(uint64_t ipa);
struct vmm_cmd cmd_atc_inv(uint32_t sid, uint64_t addr);
struct vmm_cmd cmd_cfgi_cd(uint32_t sid);
struct vmm_cmd cmd_cfgi_ste(uint32_t sid);
struct vmm_cmd cmd_sync(void);
void batch_add(struct vmm_batch *b, struct vmm_cmd c);
/* close the batch with a CMD_SYNC: CS=NONE, or CS=IRQ as an MSI */
void batch_sync(struct vmm_batch *b, bool msi);

/* All return 0 or a negative errno and print what failed. */
int vmm_iommufd_setup(struct vmm *v);
int vmm_setup(struct vmm *v, enum vmm_mode mode, uint32_t layout,
	      uint32_t log2size);
/*
 * vmm_setup(), calling @vm_caps (if not NULL) between KVM_CREATE_VM and
 * the first memslot, for what KVM takes only then (a dirty ring, and the
 * dirty bitmap beside it).
 */
int vmm_setup_caps(struct vmm *v, enum vmm_mode mode, uint32_t layout,
		   uint32_t log2size, int (*vm_caps)(struct kvm_vm *vm));
/* The alloc data of a fresh queue (CONS = PROD = GERROR = GERRORN = 0) */
void vmm_fill_alloc(struct vmm *v, struct iommu_hw_queue_arm_smmuv3_cmdq_sw *d);
/* The IOMMU_HW_QUEUE_ALLOC of @d at index 0 */
void vmm_fill_hw_queue_alloc(struct vmm *v, struct iommu_hw_queue_alloc *alloc,
			     struct iommu_hw_queue_arm_smmuv3_cmdq_sw *d);
/*
 * Take on a queue just allocated with @d: its event file, its register
 * page mapped and made the guest's memslot at REG_GPA.
 */
int vmm_attach_queue(struct vmm *v, uint32_t hwq_id,
		     const struct iommu_hw_queue_arm_smmuv3_cmdq_sw *d);
/* Allocate a queue of @d at @index and attach it. */
int vmm_alloc_queue_data(struct vmm *v,
			 struct iommu_hw_queue_arm_smmuv3_cmdq_sw *d,
			 uint32_t index);
/* A fresh queue at index 0, polling for @poll_us if set. */
int vmm_alloc_queue(struct vmm *v);
int vmm_set_consumer(struct vmm *v, uint32_t mode, uint32_t poll_us);
/* The guest's register memslot deleted, the page unmapped (copy in @save) */
int vmm_unmap_regs(struct vmm *v, uint8_t *save);
/*
 * The teardown order the kernel requires: memslot, mapping, then
 * IOMMU_DESTROY. The event file stays open.
 */
int vmm_destroy_queue(struct vmm *v);
/* After vmm_destroy_queue(): the trap path goes on from where it stopped */
int vmm_trap_takeover(struct vmm *v, const uint8_t *saved_regs);
/* Answer an EXIT: 0, or the write's negative errno */
int vmm_respond(struct vmm *v, uint32_t index, uint32_t cerror);
int vmm_start_events(struct vmm *v);
void vmm_stop_events(struct vmm *v);
/* Write @nb batches as a guest script at @gpa */
int vmm_put_script(struct vmm *v, uint64_t gpa, const struct vmm_batch *b,
		   unsigned int nb);
int vmm_load(struct vmm *v, const struct vmm_batch *b, unsigned int nb,
	     unsigned long nrun);
/*
 * Load guest_cmdq_mp for vCPU 0 (script at SCRIPT_GPA, results at
 * RES_GPA, ends at REG_DONE) with its shared state reset; each batch ends
 * with an MSI CMD_SYNC. Other vCPUs start at GPA 0 with vmm_mp_regs() of
 * their own script and results.
 */
int vmm_load_mp(struct vmm *v, const struct vmm_batch *b, unsigned int nb,
		unsigned long nrun);
#define VMM_MP_NREGS	11
void vmm_mp_regs(const struct vmm *v, uint64_t script, unsigned int nb,
		 uint64_t res, unsigned long nrun, uint32_t done_off,
		 uint64_t regs[VMM_MP_NREGS]);
/*
 * A vCPU thread's exit at the register page: the trap path's emulation
 * under the VMM's lock (0, or a negative errno: on the fast path every
 * such exit is an error).
 */
int vmm_trap_access(struct vmm *v, struct kvm_run *run);
/*
 * Run the guest until it stores to REG_DONE (0) or REG_PAUSE (VMM_PAUSED);
 * -ETIMEDOUT after @secs.
 */
int vmm_run(struct vmm *v, unsigned int secs);
/* The vCPU's first exit, within @secs; for tests expecting one. */
int vmm_run_until_mmio(struct vmm *v, unsigned int secs, uint64_t *gpa,
		       bool *write);
/* Destroys a live queue the right way, then everything else. */
void vmm_teardown(struct vmm *v);

uint64_t vmm_result(const struct vmm *v, unsigned int idx);
uint32_t vmm_reg(const struct vmm *v, uint32_t off);
int vmm_stats(const struct vmm *v, struct vcmdq_sw_stats *st);
int vmm_invalidate(struct vmm *v, const struct vmm_cmd *cmds, uint32_t n,
		   uint32_t *done);
double vmm_ticks_to_us(uint64_t ticks);
/*
 * A parameter of the vcmdq_sw module
 * (/sys/module/vcmdq_sw/parameters/@name); 0 if it cannot be read, which
 * is printed
 */
unsigned int vmm_module_param(const char *name);

/*
 * vCPU 0 run on a thread of its own (vmm_vcpu_start()) until the guest is
 * done or pauses, or the VMM stops it (vmm_vcpu_stop()). vmm_vcpu_state()
 * and vmm_vcpu_stop() return VMM_VCPU_RUNNING while it runs, then
 * VMM_VCPU_STOPPED (the VMM stopped it), 0 (REG_DONE), VMM_PAUSED or
 * -errno.
 */
#define VMM_VCPU_STOPPED	2
#define VMM_VCPU_RUNNING	3

struct vmm_vcpu_thread {
	struct vmm *v;
	pthread_t t;
	bool stop;	/* __atomic */
	int ret;	/* __atomic: VMM_VCPU_RUNNING, then how it ended */
};

int vmm_vcpu_start(struct vmm_vcpu_thread *c, struct vmm *v);
int vmm_vcpu_state(struct vmm_vcpu_thread *c);
int vmm_vcpu_stop(struct vmm_vcpu_thread *c);

/* CLOCK_MONOTONIC in ns */
uint64_t vmm_now_ns(void);
/* Write @val to the sysfs, debugfs or tracefs file @path: 0 or -errno */
int vmm_write_file(const char *path, const char *val);

#endif /* VCMDQ_TESTS_VMM_H */
