// SPDX-License-Identifier: GPL-2.0
/*
 * The reference VMM of tests/fastpath (see vmm.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>
#include <liburing.h>

#include "vmm.h"

static int fail(const char *what)
{
	int err = errno ? errno : EINVAL;

	fprintf(stderr, "# vmm: %s: %s\n", what, strerror(err));
	return -err;
}

/* ---- commands ---- */

static uint64_t tlbi0(uint64_t op, uint16_t asid)
{
	return op | GUEST_VMID << 32 | (uint64_t)asid << 48;
}

struct vmm_cmd cmd_tlbi_nh_asid(uint16_t asid)
{
	return (struct vmm_cmd){ { tlbi0(OP_TLBI_NH_ASID, asid), 0 } };
}

struct vmm_cmd cmd_tlbi_nh_va(uint16_t asid, uint64_t va)
{
	/* leaf, no range (NUM = SCALE = TG = 0) */
	return (struct vmm_cmd){ { tlbi0(OP_TLBI_NH_VA, asid), va | 1 } };
}

struct vmm_cmd cmd_tlbi_nh_all(void)
{
	return (struct vmm_cmd){ { OP_TLBI_NH_ALL | GUEST_VMID << 32, 0 } };
}

struct vmm_cmd cmd_tlbi_s2_ipa(uint64_t ipa)
{
	return (struct vmm_cmd){ { OP_TLBI_S2_IPA | GUEST_VMID << 32, ipa } };
}

struct vmm_cmd cmd_atc_inv(uint32_t sid, uint64_t addr)
{
	return (struct vmm_cmd){ { OP_ATC_INV | (uint64_t)sid << 32, addr } };
}

struct vmm_cmd cmd_cfgi_cd(uint32_t sid)
{
	return (struct vmm_cmd){ { OP_CFGI_CD | (uint64_t)sid << 32, 1 } };
}

struct vmm_cmd cmd_cfgi_ste(uint32_t sid)
{
	return (struct vmm_cmd){ { OP_CFGI_STE | (uint64_t)sid << 32, 1 } };
}

struct vmm_cmd cmd_sync(void)
{
	return (struct vmm_cmd){ { OP_CMD_SYNC, 0 } };
}

void batch_add(struct vmm_batch *b, struct vmm_cmd c)
{
	if (b->n < sizeof(b->cmd) / sizeof(b->cmd[0]))
		b->cmd[b->n++] = c;
}

/*
 * As arm_smmu_cmdq_build_sync_cmd(): CS=IRQ, MSH=ISH, MSIATTR=OIWB and
 * MSIDATA 0; MSIADDR (the entry itself) is filled in by the guest, which
 * alone knows where in the queue the entry lands.
 */
void batch_sync(struct vmm_batch *b, bool msi)
{
	struct vmm_cmd c = cmd_sync();

	if (msi)
		c.w[0] |= 1ULL << 12 | 3ULL << 22 | 0xfULL << 24;
	batch_add(b, c);
	b->msi = msi;
}

/* ---- iommufd ---- */

static int ioas_map(struct vmm *v, uint64_t iova, void *va, uint64_t len)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = v->st.ioas_id,
		.user_va = (uintptr_t)va,
		.length = len,
		.iova = iova,
	};

	return ioctl(v->st.iommufd, IOMMU_IOAS_MAP, &map) ? fail("IOAS_MAP") : 0;
}

/* vfio device, IOAS, nest-parent HWPT, ARM SMMUv3 vIOMMU, vDEVICE */
int vmm_iommufd_setup(struct vmm *v)
{
	return viommu_stack_setup(&v->st, VSID);
}

static void set_layout(struct vmm *v, uint32_t layout)
{
	v->layout = layout;
	if (layout == VCMDQ_SW_LAYOUT_SMMUV3) {
		v->prod_off = 0x98;
		v->cons_off = 0x9c;
		v->gerror_off = 0x60;
		v->gerrorn_off = 0x64;
	} else {	/* tegra241 VCMDQ 0 */
		v->prod_off = 0x04;
		v->cons_off = 0x00;
		v->gerror_off = 0x10;
		v->gerrorn_off = 0x14;
	}
}

/*
 * Everything but the queue: iommufd objects, a VM with RAM at GPA 0 that
 * is also the IOAS (IOVA = GPA, the queue's range mapped on its own so a
 * test can unmap it), and for the trap path the VMM's own register page
 * (no memslot, so every access exits). The fast path's register page is
 * the queue's, mapped when it is allocated.
 */
/* The trap path's register page: the VMM's own memory, emulated. */
static int trap_regs_map(struct vmm *v)
{
	v->regs = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (v->regs == MAP_FAILED) {
		v->regs = NULL;
		return fail("mmap register page");
	}
	v->regs_len = 4096;
	return 0;
}

int vmm_setup(struct vmm *v, enum vmm_mode mode, uint32_t layout,
	      uint32_t log2size)
{
	return vmm_setup_caps(v, mode, layout, log2size, NULL);
}

int vmm_setup_caps(struct vmm *v, enum vmm_mode mode, uint32_t layout,
		   uint32_t log2size, int (*vm_caps)(struct kvm_vm *vm))
{
	int ret;

	memset(v, 0, sizeof(*v));
	pthread_mutex_init(&v->trap_lock, NULL);
	v->st.iommufd = v->st.devfd = v->evfd = v->gerror_efd = -1;
	v->vm.kvm_fd = v->vm.vm_fd = v->vm.vcpu_fd = -1;
	v->mode = mode;
	v->log2size = log2size;
	set_layout(v, layout);

	ret = vmm_iommufd_setup(v);
	if (ret)
		return ret;
	ret = kvm_vm_create(&v->vm);
	if (!ret && vm_caps)
		ret = vm_caps(&v->vm);
	if (ret)
		return ret;
	v->ram = kvm_vm_add_slot(&v->vm, 0, RAM_SIZE, 0);
	if (!v->ram)
		return -ENOMEM;
	ret = ioas_map(v, 0, v->ram, QUEUE_GPA);
	if (!ret)
		ret = ioas_map(v, QUEUE_GPA, v->ram + QUEUE_GPA, QUEUE_MAP_LEN);
	if (!ret)
		ret = ioas_map(v, QUEUE_GPA + QUEUE_MAP_LEN,
			       v->ram + QUEUE_GPA + QUEUE_MAP_LEN,
			       RAM_SIZE - QUEUE_GPA - QUEUE_MAP_LEN);
	if (ret)
		return ret;
	if (mode == VMM_TRAP) {
		ret = trap_regs_map(v);
		if (ret)
			return ret;
	} else {
		v->gerror_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (v->gerror_efd < 0)
			return fail("eventfd");
	}
	return kvm_vcpu_create(&v->vm);
}

void vmm_fill_alloc(struct vmm *v, struct iommu_hw_queue_arm_smmuv3_cmdq_sw *d)
{
	*d = (struct iommu_hw_queue_arm_smmuv3_cmdq_sw){
		.layout = v->layout,
		.vm_fd = v->vm.vm_fd,
		.log2size = v->log2size,
		.caps = VCMDQ_SW_CAP_MSI,
		.irq_eventfd = -1,
		.gerror_eventfd = v->gerror_efd,
		.reg_gpa = REG_GPA,
		.out_event_fd = -1,
	};
}

void vmm_fill_hw_queue_alloc(struct vmm *v, struct iommu_hw_queue_alloc *alloc,
			     struct iommu_hw_queue_arm_smmuv3_cmdq_sw *d)
{
	*alloc = (struct iommu_hw_queue_alloc){
		.size = sizeof(*alloc),
		.viommu_id = v->st.viommu_id,
		.type = IOMMU_HW_QUEUE_TYPE_ARM_SMMUV3_CMDQ_SW,
		.nesting_parent_iova = QUEUE_GPA,
		.length = 16ULL << d->log2size,
		.data_len = sizeof(*d),
		.data_uptr = (uintptr_t)d,
	};
}

static int reg_slot(struct vmm *v, void *mem, uint64_t size)
{
	struct kvm_userspace_memory_region r = {
		.slot = REG_SLOT,
		.flags = size ? KVM_MEM_READONLY : 0,
		.guest_phys_addr = REG_GPA,
		.memory_size = size,
		.userspace_addr = (uintptr_t)mem,
	};

	return ioctl(v->vm.vm_fd, KVM_SET_USER_MEMORY_REGION, &r) ?
	       fail(size ? "register memslot" : "delete register memslot") : 0;
}

int vmm_attach_queue(struct vmm *v, uint32_t hwq_id,
		     const struct iommu_hw_queue_arm_smmuv3_cmdq_sw *d)
{
	void *regs;
	int ret;

	/* a new queue's event file replaces a destroyed one's */
	if (v->evfd >= 0)
		close(v->evfd);
	v->evfd = d->out_event_fd;
	v->hwq_id = hwq_id;
	v->hwq_live = true;
	regs = mmap(NULL, d->out_reg_mmap_length, PROT_READ | PROT_WRITE,
		    MAP_SHARED, v->st.iommufd, d->out_reg_mmap_offset);
	if (regs == MAP_FAILED)
		return fail("mmap the queue's register page");
	v->regs = regs;
	v->regs_len = d->out_reg_mmap_length;
	ret = reg_slot(v, v->regs, v->regs_len);
	if (ret) {
		/* no memslot to delete later: only the mapping */
		munmap(v->regs, v->regs_len);
		v->regs = NULL;
	}
	return ret;
}

int vmm_alloc_queue_data(struct vmm *v,
			 struct iommu_hw_queue_arm_smmuv3_cmdq_sw *d,
			 uint32_t index)
{
	struct iommu_hw_queue_alloc alloc;

	vmm_fill_hw_queue_alloc(v, &alloc, d);
	alloc.index = index;
	if (ioctl(v->st.iommufd, IOMMU_HW_QUEUE_ALLOC, &alloc))
		return fail("IOMMU_HW_QUEUE_ALLOC ARM_SMMUV3_CMDQ_SW");
	return vmm_attach_queue(v, alloc.out_hw_queue_id, d);
}

int vmm_set_consumer(struct vmm *v, uint32_t mode, uint32_t poll_us)
{
	struct vcmdq_sw_consumer_mode m = {
		.size = sizeof(m), .mode = mode, .poll_us = poll_us,
	};

	return ioctl(v->evfd, VCMDQ_SW_SET_CONSUMER, &m) ?
	       fail("VCMDQ_SW_SET_CONSUMER") : 0;
}

/* The fast path: IOMMU_HW_QUEUE_ALLOC, map the registers, the consumer */
int vmm_alloc_queue(struct vmm *v)
{
	struct iommu_hw_queue_arm_smmuv3_cmdq_sw data;
	int ret;

	vmm_fill_alloc(v, &data);
	ret = vmm_alloc_queue_data(v, &data, 0);
	if (!ret && v->poll_us)
		ret = vmm_set_consumer(v, VCMDQ_SW_CONSUMER_WORKER_POLL,
				       v->poll_us);
	return ret;
}

int vmm_unmap_regs(struct vmm *v, uint8_t *save)
{
	int ret = 0;

	if (!v->regs)
		return 0;
	if (v->mode == VMM_FAST)
		ret = reg_slot(v, NULL, 0);
	if (save)
		memcpy(save, v->regs, 4096);
	if (munmap(v->regs, v->regs_len) && !ret)
		ret = fail("munmap register page");
	v->regs = NULL;
	return ret;
}

int vmm_destroy_queue(struct vmm *v)
{
	struct iommu_destroy d = { .size = sizeof(d), .id = v->hwq_id };
	int ret = vmm_unmap_regs(v, NULL);

	if (ret)
		return ret;
	if (ioctl(v->st.iommufd, IOMMU_DESTROY, &d))
		return fail("IOMMU_DESTROY of the queue");
	v->hwq_live = false;
	return 0;
}

int vmm_trap_takeover(struct vmm *v, const uint8_t *saved_regs)
{
	int ret = trap_regs_map(v);

	if (ret)
		return ret;
	memcpy(v->regs, saved_regs, 4096);
	v->mode = VMM_TRAP;
	v->cons = vmm_reg(v, v->cons_off);
	v->gerror = vmm_reg(v, v->gerror_off);
	v->gerrorn = vmm_reg(v, v->gerrorn_off);
	return 0;
}

int vmm_respond(struct vmm *v, uint32_t index, uint32_t cerror)
{
	struct vcmdq_sw_response r = { .index = index, .cerror = cerror };
	ssize_t n = write(v->evfd, &r, sizeof(r));

	if (n == sizeof(r))
		return 0;
	return n < 0 ? -errno : -EIO;
}

/* ---- the VMM's event loop for the fast path (exits, faults) ---- */

static void handle_event(struct vmm *v, const struct vcmdq_sw_event *ev)
{
	if (ev->type == VCMDQ_SW_EVENT_EXIT) {
		unsigned int i = v->nr_exit_events++ % 8;

		v->exit_index[i] = ev->index;
		/* what the guest reads, if the registers are mapped */
		v->cons_at_exit[i] = v->regs ? vmm_reg(v, v->cons_off) : ~0U;
		v->exit_cmd[i][0] = ev->cmd[0];
		v->exit_cmd[i][1] = ev->cmd[1];
		if (v->on_exit)
			v->on_exit(v, ev);
	} else if (ev->type == VCMDQ_SW_EVENT_FAULT) {
		v->fault_err = ev->err;
		v->fault_index = ev->index;
		v->nr_other_events++;
	} else {
		v->nr_other_events++;
	}
}

/*
 * The event file read through io_uring, as a VMM's event loop would:
 * one read in flight; the kernel parks it on the file's poll until an
 * event comes. A 20 ms wait timeout lets the loop see events_stop.
 */
static void *event_loop(void *arg)
{
	struct __kernel_timespec ts = { .tv_nsec = 20 * 1000 * 1000 };
	struct vmm *v = arg;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	struct vcmdq_sw_event ev;
	struct io_uring ring;
	bool in_flight = false;
	int res;

	res = io_uring_queue_init(4, &ring, 0);
	if (res) {
		v->events_error = res;
		return NULL;
	}
	while (!__atomic_load_n(&v->events_stop, __ATOMIC_ACQUIRE)) {
		if (!in_flight) {
			sqe = io_uring_get_sqe(&ring);
			io_uring_prep_read(sqe, v->evfd, &ev, sizeof(ev), 0);
			res = io_uring_submit(&ring);
			if (res != 1) {
				v->events_error = res < 0 ? res : -EIO;
				break;
			}
			in_flight = true;
		}
		if (io_uring_wait_cqe_timeout(&ring, &cqe, &ts))
			continue;
		res = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
		in_flight = false;
		if (res == sizeof(ev)) {
			handle_event(v, &ev);
		} else {
			if (res)	/* 0: EOF, the queue is gone */
				v->events_error = res < 0 ? res : -EIO;
			break;
		}
	}
	io_uring_queue_exit(&ring);
	return NULL;
}

int vmm_start_events(struct vmm *v)
{
	__atomic_store_n(&v->events_stop, false, __ATOMIC_RELEASE);
	if (pthread_create(&v->events, NULL, event_loop, v))
		return fail("pthread_create");
	v->events_running = true;
	return 0;
}

void vmm_stop_events(struct vmm *v)
{
	if (!v->events_running)
		return;
	__atomic_store_n(&v->events_stop, true, __ATOMIC_RELEASE);
	pthread_join(v->events, NULL);
	v->events_running = false;
}

/* ---- guest ---- */

int vmm_put_script(struct vmm *v, uint64_t gpa, const struct vmm_batch *b,
		   unsigned int nb)
{
	uint8_t *s = v->ram + gpa;
	unsigned int i, j;

	for (i = 0; i < nb; i++) {
		uint32_t hdr[4] = {
			b[i].n, b[i].msi,
			b[i].pause_on_error | b[i].pause_before_fix << 1, 0,
		};

		if (s + sizeof(hdr) + b[i].n * 16 > v->ram + RAM_SIZE) {
			errno = E2BIG;
			return fail("script larger than guest RAM");
		}
		memcpy(s, hdr, sizeof(hdr));
		s += sizeof(hdr);
		for (j = 0; j < b[i].n; j++, s += 16)
			memcpy(s, b[i].cmd[j].w, 16);
	}
	return 0;
}

int vmm_load(struct vmm *v, const struct vmm_batch *b, unsigned int nb,
	     unsigned long nrun)
{
	uint64_t regs[12] = {
		REG_GPA, nrun, RES_GPA, SCRIPT_GPA, QUEUE_GPA, v->log2size,
		v->prod_off, v->cons_off, v->gerror_off, v->gerrorn_off, nb,
		v->start_at_prod ? v->prod_off : v->cons_off,
	};
	int ret = vmm_put_script(v, SCRIPT_GPA, b, nb);

	if (ret)
		return ret;
	memset(v->ram + RES_GPA, 0, 24 + 4096 * 8);
	v->nbatches = nrun;
	v->kvm_exits = 0;
	return kvm_vm_load(&v->vm, v->ram, guest_cmdq_start, guest_cmdq_end,
			   regs, 12);
}

void vmm_mp_regs(const struct vmm *v, uint64_t script, unsigned int nb,
		 uint64_t res, unsigned long nrun, uint32_t done_off,
		 uint64_t regs[VMM_MP_NREGS])
{
	const uint64_t r[VMM_MP_NREGS] = {
		REG_GPA, nrun, res, script, QUEUE_GPA, v->log2size,
		v->prod_off, MP_STATE_GPA, done_off, 0, nb,
	};

	memcpy(regs, r, sizeof(r));
}

int vmm_load_mp(struct vmm *v, const struct vmm_batch *b, unsigned int nb,
		unsigned long nrun)
{
	uint64_t regs[VMM_MP_NREGS];
	unsigned int i;
	int ret;

	for (i = 0; i < nb; i++) {
		if (!b[i].msi || b[i].n > 255 ||
		    (b[i].cmd[b[i].n - 1].w[0] & 0xff) != OP_CMD_SYNC) {
			errno = EINVAL;
			return fail("a shared-queue batch ends with an MSI CMD_SYNC, 255 entries at most");
		}
	}
	ret = vmm_put_script(v, SCRIPT_GPA, b, nb);
	if (ret)
		return ret;
	memset(v->ram + RES_GPA, 0, 24 + 4096 * 8);
	memset(v->ram + MP_STATE_GPA, 0, MP_STATE_LEN);
	v->nbatches = nrun;
	v->kvm_exits = 0;
	vmm_mp_regs(v, SCRIPT_GPA, nb, RES_GPA, nrun, REG_DONE, regs);
	return kvm_vm_load(&v->vm, v->ram, guest_cmdq_mp_start,
			   guest_cmdq_mp_end, regs, VMM_MP_NREGS);
}

uint64_t vmm_result(const struct vmm *v, unsigned int idx)
{
	uint64_t r;

	memcpy(&r, v->ram + RES_GPA + idx * 8, 8);
	return r;
}

uint32_t vmm_reg(const struct vmm *v, uint32_t off)
{
	return __atomic_load_n((const uint32_t *)(v->regs + off),
			       __ATOMIC_ACQUIRE);
}

static void reg_write(struct vmm *v, uint32_t off, uint32_t val)
{
	__atomic_store_n((uint32_t *)(v->regs + off), val, __ATOMIC_RELEASE);
}

int vmm_stats(const struct vmm *v, struct vcmdq_sw_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	return ioctl(v->evfd, VCMDQ_SW_GET_STATS, st) ? fail("GET_STATS") : 0;
}

int vmm_invalidate(struct vmm *v, const struct vmm_cmd *cmds, uint32_t n,
		   uint32_t *done)
{
	v->trap_invalidates++;
	return viommu_invalidate(&v->st, cmds, n, done);
}

/* ---- the trap path: today's VMM ---- */

static uint32_t qmask(const struct vmm *v)
{
	return (2U << v->log2size) - 1;
}

static struct vmm_cmd *q_entry(struct vmm *v, uint32_t ptr)
{
	return (struct vmm_cmd *)(v->ram + QUEUE_GPA) +
	       (ptr & ((1U << v->log2size) - 1));
}

/* What a VMM hands to IOMMU_HWPT_INVALIDATE, and what it runs itself. */
static bool trap_kernel_cmd(uint8_t op)
{
	return op != OP_CMD_SYNC && op != OP_CFGI_STE;
}

static void trap_error(struct vmm *v, uint32_t at, uint32_t cerror)
{
	v->cons = (at & qmask(v)) | cerror << 24;
	reg_write(v, v->cons_off, v->cons);
	v->gerror ^= 1;
	reg_write(v, v->gerror_off, v->gerror);
}

/* Consume [CONS, PROD) as a VMM does at the PROD exit. */
static void trap_process(struct vmm *v)
{
	uint32_t prod = vmm_reg(v, v->prod_off) & qmask(v);
	uint32_t cons = v->cons & qmask(v);
	struct vmm_cmd batch[64];
	uint32_t nb = 0, first = cons, done;

	if (v->cons >> 24)
		return;		/* stopped at an error until GERRORN */
	while (cons != prod) {
		struct vmm_cmd c = *q_entry(v, cons);
		uint8_t op = c.w[0] & 0xff;

		if (trap_kernel_cmd(op)) {
			if (!nb)
				first = cons;
			batch[nb++] = c;
		}
		if (!trap_kernel_cmd(op) || nb == 64) {
			if (nb && vmm_invalidate(v, batch, nb, &done)) {
				trap_error(v, first + done, 1);
				return;
			}
			nb = 0;
		}
		if (op == OP_CFGI_STE && v->on_exit) {
			struct vcmdq_sw_event ev = {
				.type = VCMDQ_SW_EVENT_EXIT, .index = cons,
				.cmd = { c.w[0], c.w[1] },
			};

			v->on_exit(v, &ev);
		}
		if (op == OP_CMD_SYNC && ((c.w[0] >> 12) & 3) == 1) {
			uint64_t addr = c.w[1] & 0xffffffffffffcULL;

			if (addr + 4 <= RAM_SIZE)
				memset(v->ram + addr, 0, 4);	/* MSIDATA 0 */
		}
		cons = (cons + 1) & qmask(v);
		v->cons = cons;
		reg_write(v, v->cons_off, cons);
	}
	if (nb && vmm_invalidate(v, batch, nb, &done))
		trap_error(v, first + done, 1);
}

static int trap_mmio(struct vmm *v, struct kvm_run *run)
{
	uint32_t off = run->mmio.phys_addr - REG_GPA, val = 0;

	if (run->mmio.phys_addr < REG_GPA || off >= 4096 || run->mmio.len != 4)
		return -EINVAL;
	if (!run->mmio.is_write) {
		val = vmm_reg(v, off);
		memcpy(run->mmio.data, &val, 4);
		return 0;
	}
	memcpy(&val, run->mmio.data, 4);
	if (off == REG_DONE)
		return 1;
	if (off == v->gerror_off || off == v->cons_off)
		return 0;	/* read-only to the guest */
	reg_write(v, off, val);
	if (off == v->gerrorn_off) {
		v->gerrorn = val;
		if (!((v->gerror ^ v->gerrorn) & 1) && v->cons >> 24) {
			v->cons &= qmask(v);
			reg_write(v, v->cons_off, v->cons);
		}
	}
	if (off == v->prod_off || off == v->gerrorn_off)
		trap_process(v);
	return 0;
}

int vmm_trap_access(struct vmm *v, struct kvm_run *run)
{
	int ret;

	pthread_mutex_lock(&v->trap_lock);
	v->kvm_exits++;
	if (v->mode != VMM_TRAP) {
		fprintf(stderr, "# vmm: fast path exit at 0x%llx len %u %s\n",
			(unsigned long long)run->mmio.phys_addr,
			run->mmio.len, run->mmio.is_write ? "write" : "read");
		ret = -EIO;
	} else {
		ret = trap_mmio(v, run);
		if (ret < 0)
			fprintf(stderr, "# vmm: bad register access at 0x%llx\n",
				(unsigned long long)run->mmio.phys_addr);
	}
	pthread_mutex_unlock(&v->trap_lock);
	return ret;
}

static int __vmm_run(struct vmm *v, unsigned int secs);

/* Where a guest that does not finish is stuck. */
static void vmm_dump(const struct vmm *v)
{
	struct vcmdq_sw_stats st;

	if (!v->regs)
		return;
	fprintf(stderr, "# vmm: PROD 0x%x CONS 0x%x GERROR 0x%x GERRORN 0x%x; guest status 0x%llx errors 0x%llx batches %llu\n",
		vmm_reg(v, v->prod_off), vmm_reg(v, v->cons_off),
		vmm_reg(v, v->gerror_off), vmm_reg(v, v->gerrorn_off),
		(unsigned long long)vmm_result(v, 0),
		(unsigned long long)vmm_result(v, 1),
		(unsigned long long)vmm_result(v, 2));
	if (v->mode == VMM_FAST && v->evfd >= 0 && !vmm_stats(v, &st))
		fprintf(stderr, "# vmm: stats: doorbells %llu wakes %llu cmds %llu host %llu batches %llu syncs %llu/%llu exits %llu errors %llu faults %llu\n",
			(unsigned long long)st.doorbells,
			(unsigned long long)st.wakes,
			(unsigned long long)st.cmds,
			(unsigned long long)st.host_cmds,
			(unsigned long long)st.batches,
			(unsigned long long)st.host_syncs,
			(unsigned long long)st.guest_syncs,
			(unsigned long long)st.exits,
			(unsigned long long)st.errors,
			(unsigned long long)st.faults);
}

static void tick(int sig)
{
	(void)sig;
}

/*
 * A guest spinning on memory never exits by itself: interrupt KVM_RUN of
 * the calling thread every @period_ns (KVM_EXIT_INTR) so that it can look
 * at a deadline or a stop request. Return: 0, or -errno.
 */
static int vmm_timer_start(timer_t *t, long period_ns)
{
	struct sigevent sev = {
		.sigev_notify = SIGEV_THREAD_ID,
		.sigev_signo = SIGALRM,
	};
	struct itimerspec its = {
		.it_value.tv_nsec = period_ns,
		.it_interval.tv_nsec = period_ns,
	};
	struct sigaction sa = { .sa_handler = tick };
	int err;

	sev._sigev_un._tid = gettid();
	if (sigaction(SIGALRM, &sa, NULL) ||
	    timer_create(CLOCK_MONOTONIC, &sev, t))
		return -errno;
	if (timer_settime(*t, 0, &its, NULL)) {
		err = -errno;
		timer_delete(*t);
		return err;
	}
	return 0;
}

/* vmm_run()'s: a deadline checked every 100 ms */
static int watchdog_start(timer_t *t)
{
	int err = vmm_timer_start(t, 100000000);

	if (err) {
		errno = -err;
		return fail("watchdog timer");
	}
	return 0;
}

int vmm_run(struct vmm *v, unsigned int secs)
{
	timer_t t;
	int ret = watchdog_start(&t);

	if (ret)
		return ret;
	ret = __vmm_run(v, secs);
	timer_delete(t);
	return ret;
}

static int __vmm_run(struct vmm *v, unsigned int secs)
{
	time_t end = time(NULL) + secs;
	struct kvm_run *run;
	int reason, ret;

	for (;;) {
		if (time(NULL) > end) {
			vmm_dump(v);
			errno = ETIMEDOUT;
			return fail("guest did not finish");
		}
		reason = kvm_vcpu_run(&v->vm);
		if (reason < 0)
			return reason;
		run = v->vm.run;
		if (reason == KVM_EXIT_INTR)
			continue;
		if (reason != KVM_EXIT_MMIO) {
			fprintf(stderr, "# vmm: unexpected exit %s\n",
				kvm_exit_name(reason));
			return -EIO;
		}
		if (run->mmio.is_write &&
		    run->mmio.phys_addr == REG_GPA + REG_DONE)
			return 0;
		if (run->mmio.is_write &&
		    run->mmio.phys_addr == REG_GPA + REG_PAUSE)
			return VMM_PAUSED;
		ret = vmm_trap_access(v, run);
		if (ret < 0)
			return ret;
	}
}

int vmm_run_until_mmio(struct vmm *v, unsigned int secs, uint64_t *gpa,
		       bool *write)
{
	time_t end = time(NULL) + secs;
	int reason, ret;
	timer_t t;

	ret = watchdog_start(&t);
	if (ret)
		return ret;
	do {
		reason = kvm_vcpu_run(&v->vm);
	} while (reason == KVM_EXIT_INTR && time(NULL) <= end);
	timer_delete(t);
	if (reason == KVM_EXIT_INTR) {
		errno = ETIMEDOUT;
		return fail("no exit");
	}
	if (reason != KVM_EXIT_MMIO)
		return reason < 0 ? reason : -EIO;
	*gpa = v->vm.run->mmio.phys_addr;
	*write = v->vm.run->mmio.is_write;
	return 0;
}

/*
 * A live queue goes first, in the order the kernel requires (its mapping
 * holds it: closing iommufd alone would leave it to the last munmap).
 */
void vmm_teardown(struct vmm *v)
{
	vmm_stop_events(v);
	if (v->hwq_live)
		vmm_destroy_queue(v);
	vmm_unmap_regs(v, NULL);
	if (v->evfd >= 0)
		close(v->evfd);
	if (v->gerror_efd >= 0)
		close(v->gerror_efd);
	kvm_vm_destroy(&v->vm);
	if (v->ram)
		munmap(v->ram, RAM_SIZE);
	if (v->st.devfd >= 0)
		close(v->st.devfd);
	if (v->st.iommufd >= 0)
		close(v->st.iommufd);
	v->evfd = v->gerror_efd = v->st.devfd = v->st.iommufd = -1;
	v->ram = NULL;
}

double vmm_ticks_to_us(uint64_t ticks)
{
	uint64_t frq;

	asm volatile("mrs %0, cntfrq_el0" : "=r"(frq));
	return frq ? ticks * 1e6 / frq : 0;
}

unsigned int vmm_module_param(const char *name)
{
	char path[128], buf[32];
	unsigned int val;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/module/vcmdq_sw/parameters/%s",
		 name);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		fail(path);
		return 0;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || sscanf((buf[n] = 0, buf), "%u", &val) != 1) {
		errno = EINVAL;
		fail(path);
		return 0;
	}
	return val;
}

/* ---- vCPU 0 on a thread of its own, until the VMM stops it ---- */

/*
 * KVM_RUN until the guest stores to REG_DONE or REG_PAUSE or the VMM asks
 * the thread to stop: a 10 ms timer interrupts KVM_RUN (KVM_EXIT_INTR) to
 * look. Stopped there, the vCPU has no access in flight: its registers are
 * all its state.
 */
static void *vmm_vcpu_main(void *arg)
{
	struct vmm_vcpu_thread *c = arg;
	struct kvm_run *run = c->v->vm.run;
	int reason, ret;
	timer_t t;

	ret = vmm_timer_start(&t, 10000000);
	if (ret) {
		__atomic_store_n(&c->ret, ret, __ATOMIC_RELEASE);
		return NULL;
	}
	for (;;) {
		if (__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
			ret = VMM_VCPU_STOPPED;
			break;
		}
		reason = kvm_vcpu_run(&c->v->vm);
		if (reason < 0) {
			ret = reason;
			break;
		}
		if (reason == KVM_EXIT_INTR)
			continue;
		if (reason == KVM_EXIT_MMIO && run->mmio.is_write &&
		    run->mmio.phys_addr == REG_GPA + REG_DONE) {
			ret = 0;
			break;
		}
		if (reason == KVM_EXIT_MMIO && run->mmio.is_write &&
		    run->mmio.phys_addr == REG_GPA + REG_PAUSE) {
			ret = VMM_PAUSED;
			break;
		}
		printf("# vcpu: unexpected exit %s at 0x%llx\n",
		       kvm_exit_name(reason),
		       (unsigned long long)run->mmio.phys_addr);
		ret = -EIO;
		break;
	}
	timer_delete(t);
	__atomic_store_n(&c->ret, ret, __ATOMIC_RELEASE);
	return NULL;
}

int vmm_vcpu_start(struct vmm_vcpu_thread *c, struct vmm *v)
{
	*c = (struct vmm_vcpu_thread){ .v = v, .ret = VMM_VCPU_RUNNING };
	return pthread_create(&c->t, NULL, vmm_vcpu_main, c) ? -EAGAIN : 0;
}

int vmm_vcpu_state(struct vmm_vcpu_thread *c)
{
	return __atomic_load_n(&c->ret, __ATOMIC_ACQUIRE);
}

int vmm_vcpu_stop(struct vmm_vcpu_thread *c)
{
	__atomic_store_n(&c->stop, true, __ATOMIC_RELEASE);
	pthread_join(c->t, NULL);
	return vmm_vcpu_state(c);
}

uint64_t vmm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int vmm_write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -EIO;
}
