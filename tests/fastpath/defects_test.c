// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel defects of issue 20, each a case that fails on the code
 * before its fix (Documentation/uapi.rst, "Defects of the review"):
 *
 * worker_unlock_vs_destroy  an event-file ioctl releases the queue lock
 *                           and the queue is destroyed before it wakes
 *                           the worker: it must not touch the stopped
 *                           worker (the module's test_unlock_delay_ms
 *                           widens that window)
 * inline_bounded_stay       one PROD store keeps its vCPU in the kernel
 *                           for a bounded stay, however many doorbells
 *                           other vCPUs ring meanwhile (test_turn_delay_us
 *                           makes each turn outlast the time bound)
 * alloc_fault_vs_mmap       an IOMMU_HW_QUEUE_ALLOC that fails at its
 *                           copy-out (read-only data) never offers its
 *                           register page to a concurrent mmap()
 * alloc_respond_fault_no_fd an IOMMU_HW_QUEUE_ALLOC whose own answer
 *                           fails (the ioctl argument read-only) leaves no
 *                           event fd open and nothing holding the vIOMMU
 * dirty_ring_handover       a VM with a dirty ring and no bitmap: the
 *                           worker, given the rest of an inline turn, does
 *                           not fault on the CMD_SYNC MSI it cannot write;
 *                           the next vCPU doorbell completes it
 * set_state_after_eio       SET_STATE keeps the host sync a PAUSE owes
 *                           after -EIO, and does not revive a queue the
 *                           host failed (fault injection: debugfs
 *                           vcmdq_sw/fail_issue)
 *
 * ASIDs 0xd000 and up.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/iommufd.h>

#include "kselftest_harness.h"
#include "vmm.h"

#define PAGE		4096UL
#define FLAG_GPA	(RES_GPA + 0x800)	/* guest_prod_loop's MSI flag */
#define VCPU1_CODE	0x8000UL	/* guest_gerrorn_loop */
#define VCPU1_STOP	0x9000UL	/* its stop flag */
#define VCPU1_COUNT	0x9008UL	/* its stores */
#define PARAMS		"/sys/module/vcmdq_sw/parameters/"
#define FAIL_ISSUE	"/sys/kernel/debug/vcmdq_sw/fail_issue/"


static int set_param(const char *name, unsigned int val)
{
	char path[128], buf[16];

	snprintf(path, sizeof(path), PARAMS "%s", name);
	snprintf(buf, sizeof(buf), "%u", val);
	return vmm_write_file(path, buf);
}

/* The next @times host issues fail with -EIO (0: none) */
static int fail_issue(unsigned int times)
{
	char buf[16];
	int ret;

	snprintf(buf, sizeof(buf), "%u", times);
	ret = vmm_write_file(FAIL_ISSUE "verbose", "0");
	if (!ret)
		ret = vmm_write_file(FAIL_ISSUE "interval", "1");
	if (!ret)
		ret = vmm_write_file(FAIL_ISSUE "times", buf);
	if (!ret)
		ret = vmm_write_file(FAIL_ISSUE "probability", times ? "100" : "0");
	return ret;
}

static int queue_ioctl(int evfd, unsigned long cmd)
{
	return ioctl(evfd, cmd, 0) ? -errno : 0;
}

static int get_state(int evfd, struct vcmdq_sw_state *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	return ioctl(evfd, VCMDQ_SW_GET_STATE, st) ? -errno : 0;
}

static int set_state(int evfd, const struct vcmdq_sw_state *st)
{
	return ioctl(evfd, VCMDQ_SW_SET_STATE, st) ? -errno : 0;
}

static void put_entry(struct vmm *v, uint32_t idx, struct vmm_cmd c)
{
	memcpy(v->ram + QUEUE_GPA + (idx & ((1U << v->log2size) - 1)) * 16,
	       c.w, 16);
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* ---- vCPU 1: GERRORN stores in a loop (guest_gerrorn_loop) ---- */

struct vcpu1 {
	struct vmm *v;
	int fd;
	struct kvm_run *run;
	pthread_t t;
	bool started;
	int err;	/* 0, or the negative errno that stopped it */
};

static int vcpu1_create(struct vcpu1 *c, struct vmm *v)
{
	const uint64_t regs[10] = {
		REG_GPA, VCPU1_STOP, VCPU1_COUNT, 0, 0, 0, 0, 0, 0,
		v->gerrorn_off,
	};

	memset(c, 0, sizeof(*c));
	c->v = v;
	memcpy(v->ram + VCPU1_CODE, guest_gerrorn_loop_start,
	       guest_gerrorn_loop_end - guest_gerrorn_loop_start);
	memset(v->ram + VCPU1_STOP, 0, 16);
	return kvm_vcpu_add(&v->vm, 1, VCPU1_CODE, regs, 10, &c->fd, &c->run);
}

static void *vcpu1_main(void *arg)
{
	struct vcpu1 *c = arg;

	for (;;) {
		if (ioctl(c->fd, KVM_RUN, 0) && errno != EINTR) {
			c->err = -errno;
			return NULL;
		}
		if (c->run->exit_reason != KVM_EXIT_MMIO)
			continue;
		/* its final store, after the stop flag */
		if (c->run->mmio.phys_addr == REG_GPA + REG_PAUSE)
			return NULL;
		c->err = -EPROTO;
		return NULL;
	}
}

static int vcpu1_start(struct vcpu1 *c)
{
	if (pthread_create(&c->t, NULL, vcpu1_main, c))
		return -EAGAIN;
	c->started = true;
	return 0;
}

static uint64_t vcpu1_stores(const struct vcpu1 *c)
{
	return __atomic_load_n((uint64_t *)(c->v->ram + VCPU1_COUNT),
			       __ATOMIC_ACQUIRE);
}

/* The guest sees its stop flag and ends with a store that exits */
static int vcpu1_stop(struct vcpu1 *c)
{
	if (c->started) {
		__atomic_store_n((uint32_t *)(c->v->ram + VCPU1_STOP), 1,
				 __ATOMIC_RELEASE);
		pthread_join(c->t, NULL);
		c->started = false;
	}
	if (c->run)
		munmap(c->run, c->v->vm.run_size);
	if (c->fd > 0)
		close(c->fd);
	c->run = NULL;
	c->fd = -1;
	return c->err;
}

/* Poll the queue's counters until @done says so, at most @ms */
static int wait_stats(const struct vmm *v, struct vcmdq_sw_stats *st,
		      bool (*done)(const struct vcmdq_sw_stats *st),
		      unsigned int ms)
{
	uint64_t end = vmm_now_ns() + ms * 1000000ULL;

	for (;;) {
		if (vmm_stats(v, st))
			return -EIO;
		if (done(st))
			return 0;
		if (vmm_now_ns() > end)
			return -ETIMEDOUT;
		usleep(2000);
	}
}

/*
 * Each case runs in its own child with a timeout of its own; the fixture
 * leaves the test knobs as it found them, whatever the case did.
 */
FIXTURE(defects) {
	int unused;
};

FIXTURE_SETUP(defects)
{
	self->unused = 0;
}

FIXTURE_TEARDOWN(defects)
{
	set_param("test_unlock_delay_ms", 0);
	set_param("test_turn_delay_us", 0);
	fail_issue(0);
}

/* ---- worker_unlock_vs_destroy ---- */

static bool some_doorbells(const struct vcmdq_sw_stats *st)
{
	return st->doorbells >= 5;
}

struct stats_call {
	int evfd;
	int ret;	/* __atomic: 1 until the ioctl returned */
	struct vcmdq_sw_stats st;
};

static void *stats_main(void *arg)
{
	struct stats_call *c = arg;
	int ret;

	c->st.size = sizeof(c->st);
	ret = ioctl(c->evfd, VCMDQ_SW_GET_STATS, &c->st) ? -errno : 0;
	__atomic_store_n(&c->ret, ret, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * The guest stores PROD in a loop (guest_prod_loop, inline consumer). A
 * thread calls VCMDQ_SW_GET_STATS, which holds the queue lock for
 * test_unlock_delay_ms: the guest's doorbells meanwhile find it taken and
 * leave their PROD (KICKED) to the holder. The vCPU is stopped and the
 * queue destroyed; that destroy waits for the lock, then runs while the
 * ioctl sits between releasing the lock and looking at KICKED. Its look
 * must not wake a worker the destroy stopped (the code before the fix read
 * q->worker there: NULL, or freed). The ioctl returns 0, the destroy 0,
 * and the event file reports the queue gone.
 */
TEST_F_TIMEOUT(defects, worker_unlock_vs_destroy, 60)
{
	struct vmm_cmd cmd = cmd_tlbi_nh_asid(0xd000), sync = cmd_sync();
	uint64_t regs[7] = { REG_GPA, 0, RES_GPA, FLAG_GPA, QUEUE_GPA, 8, 0 };
	struct stats_call call = { .ret = 1 };
	struct vcmdq_sw_stats st;
	struct vmm_vcpu_thread vc;
	pthread_t t;
	unsigned int i;
	struct vmm v;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	sync.w[0] |= 1ULL << 12 | 3ULL << 22 | 0xfULL << 24 | 1ULL << 32;
	sync.w[1] = FLAG_GPA;
	for (i = 0; i < 1U << v.log2size; i++)
		put_entry(&v, i, i & 1 ? sync : cmd);
	regs[6] = v.prod_off;
	ASSERT_EQ(0, kvm_vm_load(&v.vm, v.ram, guest_prod_loop_start,
				 guest_prod_loop_end, regs, 7));
	ASSERT_EQ(0, vmm_vcpu_start(&vc, &v));
	ASSERT_EQ(0, wait_stats(&v, &st, some_doorbells, 10000))
		TH_LOG("the guest's stream does not run");

	ASSERT_EQ(0, set_param("test_unlock_delay_ms", 500));
	call.evfd = v.evfd;
	ASSERT_EQ(0, pthread_create(&t, NULL, stats_main, &call));
	/* the ioctl holds the lock; the guest's doorbells find it taken */
	usleep(150000);
	EXPECT_EQ(VMM_VCPU_STOPPED, vmm_vcpu_stop(&vc));
	/* waits for the lock, then runs in the ioctl's window */
	EXPECT_EQ(0, vmm_destroy_queue(&v));
	pthread_join(t, NULL);
	EXPECT_EQ(0, set_param("test_unlock_delay_ms", 0));
	/*
	 * A thread that oopsed in the kernel is gone without a return value;
	 * the kernel log has the report.
	 */
	ASSERT_EQ(0, __atomic_load_n(&call.ret, __ATOMIC_ACQUIRE))
		TH_LOG("GET_STATS did not return: it died in the kernel after the queue was destroyed under it");
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	EXPECT_EQ(-1, ioctl(v.evfd, VCMDQ_SW_GET_STATS, &st));
	EXPECT_EQ(ENODEV, errno);
	printf("# worker_unlock_vs_destroy: GET_STATS held the lock 500 ms and released it; the queue was destroyed in the next 500 ms, before it looked at the doorbells' kick\n");
	vmm_teardown(&v);
}

/* ---- inline_bounded_stay ---- */

#define STAY_DELAY_US	200000U	/* each consumer turn: far past its time bound */
#define STAY_STORES	50000	/* vCPU 1's stores vCPU 0 may take to return */

/*
 * vCPU 0 posts one batch with one PROD store and then waits for CONS;
 * vCPU 1 stores GERRORN in a loop, each store a doorbell. Every consumer
 * turn first waits test_turn_delay_us (a slow SMMU), far beyond the inline
 * time bound, so vCPU 1's doorbells all find vCPU 0's turn running and
 * leave it their kick. vCPU 0's stay in its doorbell must still end at its
 * bound and hand the queue to the worker: vCPU 0 finishes while vCPU 1 is
 * still storing (before it made STAY_STORES more stores; the code before
 * the fix took one more turn for every kick and kept vCPU 0 until vCPU 1
 * stopped).
 */
TEST_F_TIMEOUT(defects, inline_bounded_stay, 120)
{
	struct vcmdq_sw_stats st;
	struct vmm_vcpu_thread vc;
	uint64_t s0, s1;
	struct vmm_batch b;
	struct vcpu1 c1;
	unsigned int i;
	struct vmm v;
	int done;

	/* every turn outlasts the stay's time bound */
	ASSERT_LT(vmm_module_param("inline_us"), STAY_DELAY_US);
	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	memset(&b, 0, sizeof(b));
	for (i = 0; i < 8; i++)
		batch_add(&b, cmd_tlbi_nh_asid(0xd100 + i));
	batch_sync(&b, false);
	ASSERT_EQ(0, vmm_load(&v, &b, 1, 1));
	ASSERT_EQ(0, vcpu1_create(&c1, &v));

	ASSERT_EQ(0, set_param("test_turn_delay_us", STAY_DELAY_US));
	ASSERT_EQ(0, vmm_vcpu_start(&vc, &v));
	/* vCPU 0 stored PROD: its turn has begun */
	for (i = 0; i < 10000 && !vmm_reg(&v, v.prod_off); i++)
		usleep(1000);
	ASSERT_NE(0U, vmm_reg(&v, v.prod_off));
	ASSERT_EQ(0, vcpu1_start(&c1));
	s0 = vcpu1_stores(&c1);
	for (;;) {
		done = vmm_vcpu_state(&vc);
		s1 = vcpu1_stores(&c1);
		if (done != VMM_VCPU_RUNNING || s1 - s0 >= STAY_STORES)
			break;
		usleep(1000);
	}
	EXPECT_EQ(0, set_param("test_turn_delay_us", 0));
	EXPECT_EQ(0, vcpu1_stop(&c1));
	EXPECT_EQ(0, vmm_vcpu_stop(&vc));
	ASSERT_EQ(0, vmm_stats(&v, &st));
	printf("# inline_bounded_stay: vCPU 0 %s after %llu GERRORN stores of vCPU 1; %llu inline turns, %llu handovers, %llu doorbells left to a running consumer, %llu worker turns\n",
	       done == VMM_VCPU_RUNNING ? "still in its doorbell" : "finished",
	       (unsigned long long)(s1 - s0),
	       (unsigned long long)st.inline_turns,
	       (unsigned long long)st.handovers,
	       (unsigned long long)st.inline_busy,
	       (unsigned long long)st.wakes);
	ASSERT_EQ(0, done)
		TH_LOG("vCPU 0's one PROD store kept it in the kernel for %llu doorbells of vCPU 1",
		       (unsigned long long)(s1 - s0));
	EXPECT_LE(1ULL, st.handovers);
	EXPECT_LE(1ULL, st.inline_busy);
	EXPECT_EQ(0ULL, vmm_result(&v, 0));
	EXPECT_EQ(1ULL, vmm_result(&v, 2));
	EXPECT_EQ(0ULL, st.faults);
	vmm_teardown(&v);
}

/* ---- alloc_fault_vs_mmap ---- */

struct racer {
	int iommufd;
	uint64_t offset;
	bool stop;		/* __atomic */
	unsigned long tries, mapped;
};

static void *racer_main(void *arg)
{
	struct racer *r = arg;
	void *p;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 r->iommufd, r->offset);
		r->tries++;
		if (p != MAP_FAILED) {
			r->mapped++;
			munmap(p, PAGE);
		}
	}
	return NULL;
}

#define ALLOC_FAULTS	200

/*
 * IOMMU_HW_QUEUE_ALLOC with its driver data in a read-only page: the copy
 * in works, the copy-out of the answer fails, the allocation returns
 * -EFAULT. Meanwhile a thread maps the offset the register page would get
 * (the lowest free one, learnt from a queue allocated and destroyed
 * before) as fast as it can. It must never succeed: the offset is offered
 * only after every step that can fail. No fd stays behind, and a queue can
 * be allocated at the same index after.
 */
TEST_F_TIMEOUT(defects, alloc_fault_vs_mmap, 120)
{
	struct iommu_hw_queue_arm_smmuv3_cmdq_sw *ro;
	struct iommu_hw_queue_alloc alloc;
	struct racer r = {};
	int fds0, fails = 0, other = 0;
	pthread_t t;
	unsigned int i;
	struct vmm v;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	/* where the register page goes: a queue's offset, freed again */
	vmm_fill_alloc(&v, ro);
	ASSERT_EQ(0, vmm_alloc_queue_data(&v, ro, 0));
	r.offset = ro->out_reg_mmap_offset;
	ASSERT_EQ(0, vmm_destroy_queue(&v));
	close(v.evfd);
	v.evfd = -1;

	vmm_fill_alloc(&v, ro);
	ASSERT_EQ(0, mprotect(ro, PAGE, PROT_READ));
	fds0 = open_fds();
	r.iommufd = v.st.iommufd;
	ASSERT_EQ(0, pthread_create(&t, NULL, racer_main, &r));
	for (i = 0; i < ALLOC_FAULTS; i++) {
		vmm_fill_hw_queue_alloc(&v, &alloc, ro);
		if (!ioctl(v.st.iommufd, IOMMU_HW_QUEUE_ALLOC, &alloc))
			break;
		if (errno == EFAULT)
			fails++;
		else
			other = errno;
	}
	__atomic_store_n(&r.stop, true, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	printf("# alloc_fault_vs_mmap: %d allocations failed at their copy-out; %lu mmap() of offset 0x%llx raced with them, %lu succeeded\n",
	       fails, r.tries, (unsigned long long)r.offset, r.mapped);
	ASSERT_EQ(ALLOC_FAULTS, fails)
		TH_LOG("an allocation with read-only data returned %s",
		       i < ALLOC_FAULTS ? "0" : strerror(other));
	EXPECT_EQ(0UL, r.mapped)
		TH_LOG("mmap() mapped the register page of %lu queues whose allocation failed",
		       r.mapped);
	EXPECT_LT(0UL, r.tries);
	EXPECT_EQ(fds0, open_fds()) TH_LOG("a failed allocation left an fd");

	/* nothing of them left: index 0 and the register page are free */
	ASSERT_EQ(0, mprotect(ro, PAGE, PROT_READ | PROT_WRITE));
	vmm_fill_alloc(&v, ro);
	ASSERT_EQ(0, vmm_alloc_queue_data(&v, ro, 0));
	EXPECT_EQ(r.offset, ro->out_reg_mmap_offset);
	munmap(ro, PAGE);
	vmm_teardown(&v);
}

/* ---- alloc_respond_fault_no_fd ---- */

/*
 * IOMMU_HW_QUEUE_ALLOC with the ioctl argument itself in a read-only page
 * and the driver data writable: the driver's part works, its copy-out
 * included, and the core's answer (out_hw_queue_id) fails with -EFAULT. The
 * event fd the driver returned must not be open: it is installed only after
 * the answer. Nothing is left: the same index can be allocated again, with
 * the same fd number, and the vDEVICE and vIOMMU destroyed.
 */
TEST_F(defects, alloc_respond_fault_no_fd)
{
	struct iommu_hw_queue_arm_smmuv3_cmdq_sw d;
	struct iommu_destroy destroy = { .size = sizeof(destroy) };
	struct iommu_hw_queue_alloc *ro;
	int fds0, ret, err, fd;
	struct vmm v;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	vmm_fill_alloc(&v, &d);
	d.out_event_fd = -1;
	vmm_fill_hw_queue_alloc(&v, ro, &d);
	ASSERT_EQ(0, mprotect(ro, PAGE, PROT_READ));

	fds0 = open_fds();
	ASSERT_LT(0, fds0);
	ret = ioctl(v.st.iommufd, IOMMU_HW_QUEUE_ALLOC, ro);
	err = errno;
	printf("# alloc_respond_fault_no_fd: IOMMU_HW_QUEUE_ALLOC with a read-only argument: %d (%s), out_event_fd %d, fds %d -> %d\n",
	       ret, ret ? strerror(err) : "ok", d.out_event_fd, fds0,
	       open_fds());
	ASSERT_EQ(-1, ret);
	ASSERT_EQ(EFAULT, err);
	/* the driver's copy-out worked: the fd it named is not open */
	ASSERT_LE(0, d.out_event_fd);
	EXPECT_EQ(-1, fcntl(d.out_event_fd, F_GETFD))
		TH_LOG("fd %d of the failed allocation is open",
		       d.out_event_fd);
	EXPECT_EQ(fds0, open_fds())
		TH_LOG("the failed allocation left an fd");
	fd = d.out_event_fd;

	/*
	 * Nothing of it left: index 0 is free, the fd number was given back
	 * (the next queue gets it: the lowest free one), the vIOMMU has no
	 * users
	 */
	vmm_fill_alloc(&v, &d);
	ASSERT_EQ(0, vmm_alloc_queue_data(&v, &d, 0));
	EXPECT_EQ(fd, d.out_event_fd)
		TH_LOG("fd %d was not given back", fd);
	ASSERT_EQ(0, vmm_destroy_queue(&v));
	close(v.evfd);
	v.evfd = -1;
	destroy.id = v.st.vdev_id;
	ASSERT_EQ(0, ioctl(v.st.iommufd, IOMMU_DESTROY, &destroy));
	destroy.id = v.st.viommu_id;
	EXPECT_EQ(0, ioctl(v.st.iommufd, IOMMU_DESTROY, &destroy))
		TH_LOG("IOMMU_DESTROY of the vIOMMU: %s", strerror(errno));
	munmap(ro, PAGE);
	vmm_teardown(&v);
}

/* ---- dirty_ring_handover ---- */

#define RING_BYTES	(1024 * sizeof(struct kvm_dirty_gfn))
#define DRH_TLBIS	300U	/* more than an inline stay's entries */

/* A dirty ring without the bitmap beside it: before any vCPU, memslot */
static int enable_ring_only(struct kvm_vm *vm)
{
	int caps[2] = { KVM_CAP_DIRTY_LOG_RING_ACQ_REL, KVM_CAP_DIRTY_LOG_RING };
	struct kvm_enable_cap ec = { .args[0] = RING_BYTES };
	int i;

	for (i = 0; i < 2; i++)
		if (ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, caps[i]) > 0)
			break;
	if (i == 2)
		return -EOPNOTSUPP;
	ec.cap = caps[i];
	return ioctl(vm->vm_fd, KVM_ENABLE_CAP, &ec) ? -errno : 0;
}

static bool handed_over(const struct vcmdq_sw_stats *st)
{
	return st->faults || st->msi_defers ||
	       (st->cmds >= DRH_TLBIS + 1 && st->handovers);
}

/*
 * A VM whose dirty pages go to a dirty ring and nowhere else: only its
 * vCPUs can write its memory (KVM logs the page in the writer's ring).
 * vCPU 0 posts more TLBIs than an inline stay takes, then an MSI CMD_SYNC,
 * with one PROD store: its stay ends at the entry bound and the worker
 * gets the rest, MSI included. The worker cannot write it; that is no
 * host failure: the queue does not fault, CONS stays before the CMD_SYNC
 * (msi_defers) and the next doorbell, a GERRORN store of vCPU 1, writes
 * the MSI from that vCPU; vCPU 0 sees it and finishes.
 */
TEST_F_TIMEOUT(defects, dirty_ring_handover, 60)
{
	struct vcmdq_sw_stats st;
	struct vmm_vcpu_thread vc;
	struct vmm_batch b;
	struct vcpu1 c1;
	unsigned int i;
	struct vmm v;
	int ret;

	ASSERT_GT(DRH_TLBIS, vmm_module_param("inline_entries"));
	ret = vmm_setup_caps(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 9,
			     enable_ring_only);
	ASSERT_EQ(0, ret) TH_LOG("a VM with a dirty ring: %s", strerror(-ret));
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	memset(&b, 0, sizeof(b));
	for (i = 0; i < DRH_TLBIS; i++)
		batch_add(&b, cmd_tlbi_nh_asid(0xd200 + i % 16));
	batch_sync(&b, true);
	ASSERT_EQ(DRH_TLBIS + 1U, b.n);
	ASSERT_EQ(0, vmm_load(&v, &b, 1, 1));
	ASSERT_EQ(0, vcpu1_create(&c1, &v));

	ASSERT_EQ(0, vmm_vcpu_start(&vc, &v));
	ASSERT_EQ(0, wait_stats(&v, &st, handed_over, 20000))
		TH_LOG("the inline stay did not hand over");
	printf("# dirty_ring_handover: before vCPU 1: %llu commands, %llu inline turns, %llu handovers, %llu worker turns, %llu MSIs deferred, %llu faults\n",
	       (unsigned long long)st.cmds,
	       (unsigned long long)st.inline_turns,
	       (unsigned long long)st.handovers,
	       (unsigned long long)st.wakes,
	       (unsigned long long)st.msi_defers,
	       (unsigned long long)st.faults);
	ASSERT_EQ(0ULL, st.faults)
		TH_LOG("the worker's MSI write faulted the queue");
	EXPECT_LE(1ULL, st.handovers);
	EXPECT_LE(1ULL, st.msi_defers);
	/* CONS waits at the CMD_SYNC: vCPU 0 has not seen its MSI */
	EXPECT_EQ((uint32_t)DRH_TLBIS, vmm_reg(&v, v.cons_off));
	EXPECT_EQ(VMM_VCPU_RUNNING, vmm_vcpu_state(&vc));

	ASSERT_EQ(0, vcpu1_start(&c1));
	for (i = 0; i < 20000 && vmm_vcpu_state(&vc) == VMM_VCPU_RUNNING; i++)
		usleep(1000);
	EXPECT_EQ(0, vmm_vcpu_stop(&vc)) TH_LOG("vCPU 0 never saw its MSI");
	EXPECT_EQ(0, vcpu1_stop(&c1));
	EXPECT_EQ(0ULL, vmm_result(&v, 0));
	EXPECT_EQ(1ULL, vmm_result(&v, 2));
	ASSERT_EQ(0, vmm_stats(&v, &st));
	EXPECT_EQ(0ULL, st.faults);
	EXPECT_EQ((uint32_t)DRH_TLBIS + 1, vmm_reg(&v, v.cons_off));
	EXPECT_EQ(1ULL, st.guest_syncs);
	printf("# dirty_ring_handover: after vCPU 1's doorbells: CONS 0x%x, %llu guest syncs, %llu faults\n",
	       vmm_reg(&v, v.cons_off), (unsigned long long)st.guest_syncs,
	       (unsigned long long)st.faults);
	vmm_teardown(&v);
}

/* ---- set_state_after_eio ---- */

/* TLBIs and no CMD_SYNC: CONS moves, the host sync stays owed */
static void unsynced_batch(struct vmm_batch *b, uint16_t asid)
{
	unsigned int i;

	memset(b, 0, sizeof(*b));
	for (i = 0; i < 4; i++)
		batch_add(b, cmd_tlbi_nh_asid(asid + i));
}

static int read_event(int evfd, struct vcmdq_sw_event *ev)
{
	int fl = fcntl(evfd, F_GETFL);
	ssize_t n;

	fcntl(evfd, F_SETFL, fl | O_NONBLOCK);
	n = read(evfd, ev, sizeof(*ev));
	fcntl(evfd, F_SETFL, fl);
	return n == sizeof(*ev) ? 0 : n < 0 ? -errno : -EIO;
}

/*
 * 1. A PAUSE whose host sync fails returns -EIO and owes that sync. A
 *    SET_STATE then must not drop it: it retries it (host_syncs + 1)
 *    before it takes the state, and fails with -EIO, taking nothing, if
 *    the retry fails too; a PAUSE after that retries again.
 * 2. A queue the host failed (FAULT) is halted for good: SET_STATE
 *    refuses to revive it (-EIO), and nothing runs it into another FAULT
 *    (the code before the fix took the state: each revival could fault
 *    again, until the event ring overflowed into its WARN).
 */
TEST_F_TIMEOUT(defects, set_state_after_eio, 60)
{
	struct vcmdq_sw_state state, st2;
	struct vcmdq_sw_stats s0, s1;
	struct vcmdq_sw_event ev;
	struct vmm_batch b;
	struct vmm v;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	ASSERT_EQ(0, fail_issue(0)) TH_LOG("no " FAIL_ISSUE);

	/* 1: the owed sync survives SET_STATE */
	unsynced_batch(&b, 0xd300);
	ASSERT_EQ(0, vmm_load(&v, &b, 1, 1));
	ASSERT_EQ(0, vmm_run(&v, 20));
	ASSERT_EQ(0, vmm_stats(&v, &s0));
	ASSERT_EQ(0, fail_issue(1));
	EXPECT_EQ(-EIO, queue_ioctl(v.evfd, VCMDQ_SW_PAUSE));
	ASSERT_EQ(0, fail_issue(0));
	ASSERT_EQ(0, get_state(v.evfd, &state));
	EXPECT_EQ(0, set_state(v.evfd, &state));
	ASSERT_EQ(0, vmm_stats(&v, &s1));
	EXPECT_EQ(s0.host_syncs + 1, s1.host_syncs)
		TH_LOG("SET_STATE dropped the host sync the failed PAUSE owed");
	EXPECT_EQ(0, queue_ioctl(v.evfd, VCMDQ_SW_PAUSE));
	ASSERT_EQ(0, vmm_stats(&v, &s0));
	EXPECT_EQ(s1.host_syncs, s0.host_syncs);

	/* ... and a retry that fails again leaves the state alone */
	ASSERT_EQ(0, queue_ioctl(v.evfd, VCMDQ_SW_UNPAUSE));
	unsynced_batch(&b, 0xd310);
	ASSERT_EQ(0, vmm_load(&v, &b, 1, 1));
	ASSERT_EQ(0, vmm_run(&v, 20));
	ASSERT_EQ(0, fail_issue(1));
	EXPECT_EQ(-EIO, queue_ioctl(v.evfd, VCMDQ_SW_PAUSE));
	ASSERT_EQ(0, get_state(v.evfd, &state));
	st2 = state;
	st2.cons = 0;
	st2.prod = 0;
	ASSERT_EQ(0, fail_issue(1));
	EXPECT_EQ(-EIO, set_state(v.evfd, &st2))
		TH_LOG("SET_STATE took a state with the host sync still owed");
	ASSERT_EQ(0, fail_issue(0));
	ASSERT_EQ(0, get_state(v.evfd, &st2));
	EXPECT_EQ(state.cons, st2.cons);
	ASSERT_EQ(0, vmm_stats(&v, &s0));
	EXPECT_EQ(0, queue_ioctl(v.evfd, VCMDQ_SW_PAUSE));
	ASSERT_EQ(0, vmm_stats(&v, &s1));
	EXPECT_EQ(s0.host_syncs + 1, s1.host_syncs);

	/* 2: a FAULTed queue stays halted */
	ASSERT_EQ(0, queue_ioctl(v.evfd, VCMDQ_SW_UNPAUSE));
	unsynced_batch(&b, 0xd320);
	ASSERT_EQ(0, vmm_load(&v, &b, 1, 1));
	ASSERT_EQ(0, fail_issue(1));
	/* the guest waits for a CONS that never comes */
	EXPECT_EQ(-ETIMEDOUT, vmm_run(&v, 2));
	ASSERT_EQ(0, fail_issue(0));
	ASSERT_EQ(0, vmm_stats(&v, &s0));
	EXPECT_EQ(1ULL, s0.faults);
	ASSERT_EQ(0, read_event(v.evfd, &ev));
	EXPECT_EQ((uint32_t)VCMDQ_SW_EVENT_FAULT, ev.type);
	EXPECT_EQ(-EIO, ev.err);
	EXPECT_EQ(0, queue_ioctl(v.evfd, VCMDQ_SW_PAUSE));
	ASSERT_EQ(0, get_state(v.evfd, &state));
	EXPECT_EQ((uint32_t)VCMDQ_SW_HALT_FAULT, state.halt);
	state.halt = VCMDQ_SW_HALT_NONE;
	EXPECT_EQ(-EIO, set_state(v.evfd, &state))
		TH_LOG("SET_STATE revived a queue the host failed");
	ASSERT_EQ(0, queue_ioctl(v.evfd, VCMDQ_SW_UNPAUSE));
	/* the guest posts again: nothing runs, no second FAULT */
	unsynced_batch(&b, 0xd330);
	ASSERT_EQ(0, vmm_load(&v, &b, 1, 1));
	EXPECT_EQ(-ETIMEDOUT, vmm_run(&v, 1));
	ASSERT_EQ(0, vmm_stats(&v, &s1));
	EXPECT_EQ(1ULL, s1.faults);
	EXPECT_EQ(s0.cmds, s1.cmds);
	EXPECT_EQ(-EAGAIN, read_event(v.evfd, &ev));
	vmm_teardown(&v);
}

TEST_HARNESS_MAIN
