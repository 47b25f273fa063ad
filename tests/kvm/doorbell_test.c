// SPDX-License-Identifier: GPL-2.0
/*
 * The KVM shadow doorbell (virt/kvm-hooks) driven by tiny L2 guests:
 * PROD stores reach the consumer with no exit, CONS reads never exit, every
 * other access still exits with the right address and data, teardown in
 * every order is clean, a store storm is coalesced, and the cost of a
 * doorbell in guest cycles against the exit-to-VMM path.
 *
 * The register page (main-CMDQ layout: PROD 0x98, CONS 0x9c) is a read-only
 * memslot over the shadow page, exactly as the fast path uses it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm_shadow_doorbell.h>

#include "kvm_util.h"
#include "lib/tap.h"

#define REG		0x30000000ULL	/* register page GPA */
#define PROD		0x98
#define CONS		0x9c
#define DONE		0xff0
#define SCRATCH		0x8000		/* results, in RAM */

struct rig {
	struct kvm_vm vm;
	uint8_t *ram;
	uint8_t *shadow;
	int dbdev, efd, db;
	_Atomic int stop;
	unsigned long mmio_prod;	/* exits at PROD handled by the "VMM" */
	bool vmm_emulates;		/* exits at PROD: do what the hook does */
	bool stop_at_prod_exit;		/* teardown: the first PROD exit ends it */
	struct { uint64_t addr; uint32_t len; uint64_t data; } exits[16];
	unsigned int nr_exits;
};

static uint32_t rd32(const uint8_t *p)
{
	return __atomic_load_n((const uint32_t *)p, __ATOMIC_ACQUIRE);
}

static void wr32(uint8_t *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)p, v, __ATOMIC_RELEASE);
}

static int rig_setup(struct rig *r, const uint8_t *start, const uint8_t *end,
		     uint64_t count)
{
	const uint64_t regs[] = { REG, count, SCRATCH };

	memset(r, 0, sizeof(*r));
	r->dbdev = r->efd = r->db = -1;
	if (kvm_vm_create(&r->vm) || kvm_vcpu_create(&r->vm))
		return -1;
	r->ram = kvm_vm_add_slot(&r->vm, 0, 0x10000, 0);
	r->shadow = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!r->ram || r->shadow == MAP_FAILED)
		return -1;
	memset(r->shadow, 0, 4096);
	if (kvm_vm_add_slot_mem(&r->vm, REG, 4096, KVM_MEM_READONLY,
				r->shadow))
		return -1;
	return kvm_vm_load(&r->vm, r->ram, start, end, regs, 3);
}

static int assign(struct rig *r, int vm_fd, int efd, uint64_t gpa,
		  uint32_t len, uint32_t off, void *page)
{
	struct kvm_shadow_doorbell_assign a = {
		.size = sizeof(a), .vm_fd = vm_fd, .eventfd = efd, .gpa = gpa,
		.len = len, .shadow_offset = off,
		.shadow_uaddr = (uintptr_t)page,
	};
	int fd = ioctl(r->dbdev, KVM_SHADOW_DOORBELL_ASSIGN, &a);

	return fd < 0 ? -errno : fd;
}

static int rig_doorbell(struct rig *r)
{
	r->dbdev = open("/dev/kvm-shadow-doorbell", O_RDWR | O_CLOEXEC);
	r->efd = eventfd(0, EFD_CLOEXEC);
	if (r->dbdev < 0 || r->efd < 0)
		return -1;
	r->db = assign(r, r->vm.vm_fd, r->efd, REG + PROD, 4, PROD, r->shadow);
	return r->db < 0 ? r->db : 0;
}

static struct kvm_shadow_doorbell_stats stats(struct rig *r)
{
	struct kvm_shadow_doorbell_stats s = { .size = sizeof(s) };

	if (ioctl(r->db, KVM_SHADOW_DOORBELL_GET_STATS, &s))
		s.stores = s.ignored = ~0ULL;
	return s;
}

static void rig_destroy(struct rig *r)
{
	kvm_vm_destroy(&r->vm);
	if (r->db >= 0)
		close(r->db);
	if (r->efd >= 0)
		close(r->efd);
	if (r->dbdev >= 0)
		close(r->dbdev);
	if (r->shadow && r->shadow != MAP_FAILED)
		munmap(r->shadow, 4096);
}

/* Set up a VM for one test (with a doorbell if asked); reports failures. */
static bool rig_start(struct rig *r, const uint8_t *start, const uint8_t *end,
		      uint64_t count, bool doorbell, const char *test)
{
	if (!rig_setup(r, start, end, count) && (!doorbell || !rig_doorbell(r)))
		return true;
	tap_result(false, "%s: setup failed", test);
	rig_destroy(r);
	return false;
}

/*
 * Run the vCPU until the guest stores to DONE. Exits at PROD are handled
 * as the VMM would without a hook (store PROD, publish CONS = PROD); other
 * MMIO exits are recorded. Returns 0, or -1 on an unexpected exit.
 */
static int run_guest(struct rig *r)
{
	while (!atomic_load(&r->stop)) {
		struct kvm_run *run = r->vm.run;
		uint64_t data = 0;

		if (kvm_vcpu_run(&r->vm) != KVM_EXIT_MMIO) {
			tap_diag("exit %s (%u)", kvm_exit_name(run->exit_reason),
				 run->exit_reason);
			return -1;
		}
		memcpy(&data, run->mmio.data, run->mmio.len);
		if (run->mmio.phys_addr == REG + DONE)
			return 0;
		if (r->vmm_emulates && run->mmio.phys_addr == REG + PROD &&
		    run->mmio.len == 4) {
			wr32(r->shadow + PROD, (uint32_t)data);
			wr32(r->shadow + CONS, (uint32_t)data);
			r->mmio_prod++;
			continue;
		}
		if (r->nr_exits < 16) {
			r->exits[r->nr_exits].addr = run->mmio.phys_addr;
			r->exits[r->nr_exits].len = run->mmio.len;
			r->exits[r->nr_exits].data = data;
		}
		r->nr_exits++;
		if (r->stop_at_prod_exit && run->mmio.phys_addr == REG + PROD)
			return 0;
	}
	return 0;
}

static void *vcpu_thread(void *arg)
{
	return (void *)(intptr_t)run_guest(arg);
}

/* The consumer vcmdq-sw's worker will be: wake, read PROD, publish CONS. */
struct consumer {
	struct rig *r;
	uint32_t target;	/* stop after seeing this PROD */
	bool strict;		/* every value must be seen (handshake) */
	uint32_t last, gaps, backwards;
	unsigned long wakes;
};

static void *consumer_thread(void *arg)
{
	struct consumer *c = arg;
	eventfd_t n;

	while (c->last < c->target && !atomic_load(&c->r->stop)) {
		uint32_t prod;

		if (eventfd_read(c->r->efd, &n))
			break;
		c->wakes++;
		prod = rd32(c->r->shadow + PROD);
		if (prod < c->last)
			c->backwards++;
		else if (c->strict && prod > c->last + 1)
			c->gaps++;
		c->last = prod;
		wr32(c->r->shadow + CONS, prod);
	}
	return NULL;
}

static void test_handshake(unsigned int n)
{
	struct rig r;
	struct consumer c = { .r = &r, .target = n, .strict = true };
	pthread_t vt, ct;
	bool failed = false;
	void *vret;

	if (!rig_start(&r, guest_db_handshake_start, guest_db_handshake_end,
		       n, true, "doorbell: PROD stores reach the consumer without exits"))
		return;
	pthread_create(&ct, NULL, consumer_thread, &c);
	pthread_create(&vt, NULL, vcpu_thread, &r);
	pthread_join(vt, &vret);
	atomic_store(&r.stop, 1);
	eventfd_write(r.efd, 1);	/* release the consumer */
	pthread_join(ct, NULL);

	CHECK(!vret, "vCPU failed");
	CHECK(c.last == n && !c.gaps && !c.backwards,
	      "consumer saw last %u (want %u), %u gaps, %u backwards", c.last,
	      n, c.gaps, c.backwards);
	CHECK(stats(&r).stores == n, "doorbell took %llu stores",
	      (unsigned long long)stats(&r).stores);
	CHECK(r.vm.nr_exits == 1 && r.nr_exits == 0,
	      "%lu exits (want only the final one)", r.vm.nr_exits);
	tap_result(!failed, "doorbell: %u PROD stores reach the consumer in order, 0 exits to the VMM (%lu wakes)",
		   n, c.wakes);
	tap_result(!failed, "doorbell: guest polls of CONS (read-only memslot) never exit");
	rig_destroy(&r);

	/* the same guest with no hook: every PROD store is an exit */
	failed = false;
	if (!rig_start(&r, guest_db_handshake_start, guest_db_handshake_end,
		       n, false, "no doorbell"))
		return;
	r.vmm_emulates = true;
	CHECK(run_guest(&r) == 0, "vCPU failed");
	CHECK(r.mmio_prod == n && r.vm.exits[KVM_EXIT_MMIO] == n + 1UL,
	      "%lu PROD exits, %lu MMIO exits", r.mmio_prod,
	      r.vm.exits[KVM_EXIT_MMIO]);
	tap_result(!failed, "no doorbell: the same %u stores are %lu exits to the VMM",
		   n, r.mmio_prod);
	rig_destroy(&r);
}

static void test_odd_accesses(void)
{
	static const struct { uint64_t off; uint32_t len; uint64_t data; } want[] = {
		{ 0xa0, 4, 0x11 }, { 0x9a, 2, 0x22 }, { 0x98, 1, 0x33 },
		{ 0x98, 2, 0x44 }, { 0x98, 8, 0x55 }, { 0x100, 4, 0x77 },
	};
	struct kvm_shadow_doorbell_stats s;
	bool failed = false;
	struct rig r;
	unsigned int i;
	uint64_t v64;
	int db8;

	if (!rig_start(&r, guest_db_odd_start, guest_db_odd_end,
		       0, true, "doorbell: other accesses exit"))
		return;
	db8 = assign(&r, r.vm.vm_fd, r.efd, REG + 0x100, 8, 0x100, r.shadow);
	CHECK(run_guest(&r) == 0, "vCPU failed");
	CHECK(r.nr_exits == 6, "%u exits, want 6", r.nr_exits);
	for (i = 0; i < 5 && i < r.nr_exits; i++)
		CHECK(r.exits[i].addr == REG + want[i].off &&
		      r.exits[i].len == want[i].len &&
		      r.exits[i].data == want[i].data,
		      "exit %u: 0x%llx len %u data 0x%llx", i,
		      (unsigned long long)r.exits[i].addr, r.exits[i].len,
		      (unsigned long long)r.exits[i].data);
	s = stats(&r);
	CHECK(s.stores == 1 && rd32(r.shadow + PROD) == 0x66,
	      "the one exact store was taken: %llu stores, PROD 0x%x",
	      (unsigned long long)s.stores, rd32(r.shadow + PROD));
	CHECK(s.ignored == 3, "%llu accesses routed but left to the VMM",
	      (unsigned long long)s.ignored);
	tap_result(!failed, "doorbell: other registers, 1/2/8-byte and misplaced stores exit with the right address and data");

	failed = false;
	memcpy(&v64, r.shadow + 0x100, 8);
	CHECK(db8 >= 0, "8-byte doorbell: %d", db8);
	CHECK(v64 == 0x1122334455667788ULL,
	      "8-byte doorbell stored 0x%llx", (unsigned long long)v64);
	CHECK(r.nr_exits == 6 && r.exits[5].addr == REG + want[5].off &&
	      r.exits[5].len == want[5].len && r.exits[5].data == want[5].data,
	      "4-byte store at the 8-byte doorbell did not exit");
	if (db8 >= 0)
		close(db8);
	tap_result(!failed, "doorbell: an 8-byte doorbell takes an 8-byte store (0x%llx), a 4-byte store there exits",
		   (unsigned long long)v64);
	rig_destroy(&r);
}

static void test_bad_assign(void)
{
	bool failed = false;
	struct rig r;
	void *unaligned;

	if (!rig_start(&r, guest_db_odd_start, guest_db_odd_end,
		       0, true, "doorbell: bad assignments"))
		return;
	unaligned = r.shadow + 8;
	CHECK(assign(&r, r.vm.vm_fd, r.efd, REG + PROD, 4, PROD, r.shadow) ==
	      -EEXIST, "same register twice");
	CHECK(assign(&r, r.vm.vm_fd, r.efd, REG + 0x9a, 2, 0x9a, r.shadow) ==
	      -EINVAL, "len 2");
	CHECK(assign(&r, r.vm.vm_fd, r.efd, REG + 0x9a, 4, 0x9a, r.shadow) ==
	      -EINVAL, "misaligned gpa");
	CHECK(assign(&r, r.vm.vm_fd, r.efd, REG + 0x100, 8, 4096, r.shadow) ==
	      -EINVAL, "offset past the page");
	CHECK(assign(&r, r.vm.vm_fd, r.efd, REG + 0x100, 4, 0x100, unaligned) ==
	      -EINVAL, "unaligned shadow address");
	CHECK(assign(&r, r.efd, r.efd, REG + 0x100, 4, 0x100, r.shadow) ==
	      -EBADF, "not a VM fd");
	CHECK(assign(&r, r.vm.vm_fd, r.vm.vm_fd, REG + 0x100, 4, 0x100,
		     r.shadow) == -EINVAL, "not an eventfd");
	CHECK(assign(&r, r.vm.vm_fd, r.efd, REG + 0x100, 4, 0x100, NULL) ==
	      -EFAULT, "unmapped shadow page");
	{
		int fd = assign(&r, r.vm.vm_fd, r.efd, REG + 0x40, 4, 0x40,
				r.shadow);

		CHECK(fd >= 0, "second doorbell on the same page: %d", fd);
		if (fd >= 0)
			close(fd);
	}
	tap_result(!failed, "doorbell: overlapping, misaligned, oversized and foreign-fd assignments are refused; several per page work");
	rig_destroy(&r);
}

static void test_storm(unsigned int n)
{
	struct rig r;
	struct consumer c = { .r = &r, .target = n };
	pthread_t ct;
	bool failed = false;

	if (!rig_start(&r, guest_db_storm_start, guest_db_storm_end,
		       n, true, "doorbell: store storm"))
		return;
	pthread_create(&ct, NULL, consumer_thread, &c);
	CHECK(run_guest(&r) == 0, "vCPU failed");
	pthread_join(ct, NULL);
	CHECK(c.last == n && !c.backwards, "consumer ended at %u of %u, %u backwards",
	      c.last, n, c.backwards);
	CHECK(stats(&r).stores == n && r.vm.nr_exits == 1,
	      "%llu stores, %lu exits", (unsigned long long)stats(&r).stores,
	      r.vm.nr_exits);
	CHECK(c.wakes <= n, "%lu wakes for %u stores", c.wakes, n);
	tap_result(!failed, "doorbell: a %u-store storm is coalesced into %lu consumer wakes, last value seen, no exits",
		   n, c.wakes);
	rig_destroy(&r);
}

static void test_teardown(void)
{
	struct kvm_shadow_doorbell_stats s;
	bool failed = false;
	pthread_t vt;
	struct rig r;
	void *vret;

	/* unregister while the guest stores in a loop */
	if (!rig_start(&r, guest_db_forever_start, guest_db_forever_end,
		       0, true, "teardown"))
		return;
	r.stop_at_prod_exit = true;
	pthread_create(&vt, NULL, vcpu_thread, &r);
	while (stats(&r).stores < 1000)
		usleep(1000);
	close(r.db);
	r.db = -1;
	pthread_join(vt, &vret);
	CHECK(!vret && r.nr_exits == 1 && r.exits[0].addr == REG + PROD,
	      "after unregister the next PROD store exits (%u exits)",
	      r.nr_exits);
	CHECK(r.exits[0].data > 1000, "value 0x%llx", (unsigned long long)r.exits[0].data);
	tap_result(!failed, "teardown: doorbell unregistered while a vCPU stores in a loop; stores exit again");
	rig_destroy(&r);

	/* VM destroyed with the doorbell live, consumer gone */
	failed = false;
	if (!rig_start(&r, guest_db_storm_start, guest_db_storm_end,
		       100, true, "teardown 2"))
		return;
	close(r.efd);		/* the consumer goes away first */
	r.efd = -1;
	CHECK(run_guest(&r) == 0 && r.vm.nr_exits == 1,
	      "stores with the consumer gone: %lu exits", r.vm.nr_exits);
	kvm_vm_destroy(&r.vm);	/* VM and vCPU fds closed, doorbell live */
	memset(&r.vm, 0, sizeof(r.vm));
	r.vm.vcpu_fd = r.vm.vm_fd = r.vm.kvm_fd = -1;
	s = stats(&r);
	CHECK(s.stores == 100, "doorbell still answers after VM close: %llu",
	      (unsigned long long)s.stores);
	rig_destroy(&r);	/* last reference: the VM goes now */
	tap_result(!failed, "teardown: consumer closed first, then the VM with the doorbell live, then the doorbell");
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Guest-measured cost of a store: with the doorbell, and exiting to us. */
static void bench(unsigned int n, unsigned int reps)
{
	double hook[8], exitp[8], h, x;
	unsigned int i, k;

	for (k = 0; k < reps; k++) {
		struct rig r;

		for (i = 0; i < 2; i++) {
			if (rig_setup(&r, guest_db_storm_start, guest_db_storm_end, n) ||
			    (i == 0 && rig_doorbell(&r))) {
				tap_result(false, "bench setup");
				rig_destroy(&r);
				return;
			}
			r.vmm_emulates = i == 1;
			if (run_guest(&r) || rd32(r.shadow + PROD) != n) {
				tap_result(false, "bench run");
				rig_destroy(&r);
				return;
			}
			/* guest CNTVCT ticks (1 GHz here: ns) per store */
			(i ? exitp : hook)[k] = *(uint64_t *)(r.ram + SCRATCH) /
						(double)n / 1000.0;
			rig_destroy(&r);
		}
	}
	qsort(hook, reps, sizeof(hook[0]), cmp_double);
	qsort(exitp, reps, sizeof(exitp[0]), cmp_double);
	h = hook[reps / 2];
	x = exitp[reps / 2];
	tap_diag("bench: %u stores x %u runs; guest CNTVCT per store (median): shadow doorbell %.1f us, exit to VMM %.1f us, ratio %.2fx",
		 n, reps, h, x, x / h);
	tap_result(h > 0 && x > 0, "bench: doorbell %.1f us/store vs exit-to-VMM %.1f us/store (%.2fx)",
		   h, x, x / h);
}

int main(void)
{
	test_handshake(1000);
	test_odd_accesses();
	test_bad_assign();
	test_storm(20000);
	test_teardown();
	bench(2000, 5);
	return tap_done();
}
