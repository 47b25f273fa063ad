// SPDX-License-Identifier: GPL-2.0
/*
 * Live migration of a software queue (issue 11): a running guest queue is
 * paused (VCMDQ_SW_PAUSE), its state read (VCMDQ_SW_GET_STATE) and handed,
 * with the guest's memory and vCPU, to a second VMM process that builds a
 * VM, an iommufd stack and a vIOMMU of its own, allocates the queue paused
 * (VCMDQ_SW_ALLOC_PAUSED), restores the state (VCMDQ_SW_SET_STATE) and
 * unpauses it; the guest's stream goes on there. Documentation/migration.rst
 * gives the sequence these tests follow.
 *
 * The source (A) is the test process and the reference VMM of vmm.c. The
 * destination (B) is a child forked before A opens anything, so it
 * inherits no file of A's: everything it has comes over a pipe, as a
 * migration stream would (guest pages, the vCPU's registers, the queue's
 * struct vcmdq_sw_state and register page). The VM has one assignable
 * device, and a VFIO cdev binds to one iommufd at a time, so A releases it
 * (closes its VFIO device file) before B binds it: a real destination has
 * its own device.
 *
 * What the SMMU executed is checked in QEMU's trace as in fastpath_test.c
 * ("# trace-..." lines, scripts/trace-check.py), with "trace-once" (each
 * of a range of ASIDs invalidated exactly once) and "trace-count" for
 * what must not run twice. Each test uses its own ASIDs, 0x9000 and up
 * (fastpath_test's are below 0x900).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/iommufd.h>

#include "kselftest_harness.h"
#include "vmm.h"

#define PAGE		4096UL
#define RAM_PAGES	(RAM_SIZE / PAGE)
#define ASID_RE		"IOTLB invalidate asid=%u vmid=(?P<vmid>\\d+)"
#define EACH_ASID_RE	"IOTLB invalidate asid=(?P<n>\\d+) vmid="

static uint64_t ram_hash(const uint8_t *ram)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a */
	size_t i;

	for (i = 0; i < RAM_SIZE; i++)
		h = (h ^ ram[i]) * 0x100000001b3ULL;
	return h;
}

static void reg_store(struct vmm *v, uint32_t off, uint32_t val)
{
	__atomic_store_n((uint32_t *)(v->regs + off), val, __ATOMIC_RELEASE);
}

static int get_state(int evfd, struct vcmdq_sw_state *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	return ioctl(evfd, VCMDQ_SW_GET_STATE, st) ? -errno : 0;
}

static int set_state(int evfd, const struct vcmdq_sw_state *st)
{
	struct vcmdq_sw_state s = *st;

	s.size = sizeof(s);
	return ioctl(evfd, VCMDQ_SW_SET_STATE, &s) ? -errno : 0;
}

static int queue_ioctl(int evfd, unsigned long cmd)
{
	return ioctl(evfd, cmd, 0) ? -errno : 0;
}

/* The GERROR interrupt was signalled since the last look (and is read). */
static bool gerror_irq(const struct vmm *v)
{
	uint64_t n;

	return read(v->gerror_efd, &n, sizeof(n)) == sizeof(n);
}

/*
 * After an MMIO exit KVM steps over the access at the next KVM_RUN: do
 * that now (KVM_RUN with immediate_exit), so that PC is past it before the
 * registers are saved, as a VMM completes what a vCPU has in flight before
 * it saves the vCPU.
 */
static int vcpu_complete_io(struct vmm *v)
{
	int ret = 0;

	if (v->vm.run->exit_reason != KVM_EXIT_MMIO)
		return 0;
	v->vm.run->immediate_exit = 1;
	if (!ioctl(v->vm.vcpu_fd, KVM_RUN, 0) || errno != EINTR)
		ret = -EIO;
	v->vm.run->immediate_exit = 0;
	return ret;
}

/* x0..x30, SP, PC, PSTATE: all the state the test guests have */
#define NR_CORE		34

static uint64_t core_reg_id(unsigned int i)
{
	size_t off = i < 31 ? offsetof(struct kvm_regs, regs.regs) + 8 * i :
		     i == 31 ? offsetof(struct kvm_regs, regs.sp) :
		     i == 32 ? offsetof(struct kvm_regs, regs.pc) :
			       offsetof(struct kvm_regs, regs.pstate);

	return KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |
	       off / sizeof(uint32_t);
}

static int vcpu_regs(struct vmm *v, uint64_t *regs, bool set)
{
	unsigned int i;

	for (i = 0; i < NR_CORE; i++) {
		struct kvm_one_reg r = {
			.id = core_reg_id(i), .addr = (uintptr_t)&regs[i],
		};

		if (ioctl(v->vm.vcpu_fd, set ? KVM_SET_ONE_REG : KVM_GET_ONE_REG,
			  &r))
			return -errno;
	}
	return 0;
}

/* ---- dirty logging of the RAM slot (slot 0) ---- */

static int ram_log_dirty(struct vmm *v, bool on)
{
	struct kvm_userspace_memory_region r = {
		.slot = 0,
		.flags = on ? KVM_MEM_LOG_DIRTY_PAGES : 0,
		.memory_size = RAM_SIZE,
		.userspace_addr = (uintptr_t)v->ram,
	};

	return ioctl(v->vm.vm_fd, KVM_SET_USER_MEMORY_REGION, &r) ? -errno : 0;
}

/* KVM_GET_DIRTY_LOG: the pages written since the last call, into @bm */
static int ram_dirty_log(struct vmm *v, uint64_t *bm)
{
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bm };

	memset(bm, 0, RAM_PAGES / 8);
	return ioctl(v->vm.vm_fd, KVM_GET_DIRTY_LOG, &log) ? -errno : 0;
}

static bool page_set(const uint64_t *bm, uint64_t gpa)
{
	return bm[gpa / PAGE / 64] >> (gpa / PAGE % 64) & 1;
}

/* ---- the migration stream: A -> B, one report back ---- */

enum mig_type {
	MIG_PAGE = 1,	/* arg: GPA; a page of guest memory */
	MIG_VCPU,	/* uint64_t[NR_CORE] */
	MIG_QUEUE,	/* struct mig_queue */
	MIG_HASH,	/* arg: hash of the source's RAM once paused */
	MIG_GO,		/* the source let go of the device: B may start */
	MIG_REPORT,	/* B -> A: struct mig_report */
};

struct mig_hdr {
	uint32_t type, len;
	uint64_t arg;
};

/* The queue's device state: what the VMM's vmstate section would hold */
struct mig_queue {
	uint32_t layout, log2size, index, __pad;
	struct vcmdq_sw_state state;
	uint8_t regs[PAGE];	/* the register page as the source left it */
};

static int xfer(int fd, void *buf, size_t n, bool out)
{
	uint8_t *p = buf;

	while (n) {
		ssize_t r = out ? write(fd, p, n) : read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r ? -errno : -EPIPE;
		p += r;
		n -= r;
	}
	return 0;
}

static int mig_send(int fd, uint32_t type, uint64_t arg, const void *p,
		    uint32_t len)
{
	struct mig_hdr h = { .type = type, .len = len, .arg = arg };
	int ret = xfer(fd, &h, sizeof(h), true);

	return ret || !len ? ret : xfer(fd, (void *)p, len, true);
}

static int mig_recv(int fd, struct mig_hdr *h, void *p, uint32_t max)
{
	int ret = xfer(fd, h, sizeof(*h), false);

	if (ret)
		return ret;
	if (h->len > max)
		return -EMSGSIZE;
	return h->len ? xfer(fd, p, h->len, false) : 0;
}

/* The pages set in @bm (every page if NULL). Returns how many, or -errno. */
static int send_pages(int fd, const struct vmm *v, const uint64_t *bm)
{
	uint64_t gpa;
	int n = 0, ret;

	for (gpa = 0; gpa < RAM_SIZE; gpa += PAGE) {
		if (bm && !page_set(bm, gpa))
			continue;
		ret = mig_send(fd, MIG_PAGE, gpa, v->ram + gpa, PAGE);
		if (ret)
			return ret;
		n++;
	}
	return n;
}

static int send_vcpu(int fd, struct vmm *v)
{
	uint64_t regs[NR_CORE];
	int ret = vcpu_regs(v, regs, false);

	return ret ? ret : mig_send(fd, MIG_VCPU, 0, regs, sizeof(regs));
}

/* The paused queue's state and its register page, after GET_STATE. */
static int send_queue(int fd, const struct vmm *v,
		      const struct vcmdq_sw_state *st)
{
	static struct mig_queue q;

	q = (struct mig_queue){
		.layout = v->layout, .log2size = v->log2size, .state = *st,
	};
	memcpy(q.regs, v->regs, PAGE);
	return mig_send(fd, MIG_QUEUE, 0, &q, sizeof(q));
}

/*
 * The end of the stream: the source's RAM hash, then it lets go of the
 * device (its VFIO file; its queue, paused, and vIOMMU stay) and says so.
 */
static int send_go(int fd, struct vmm *v)
{
	int ret = mig_send(fd, MIG_HASH, ram_hash(v->ram), NULL, 0);

	if (ret)
		return ret;
	close(v->st.devfd);
	v->st.devfd = -1;
	return mig_send(fd, MIG_GO, 0, NULL, 0);
}

/* ---- the destination (B) ---- */

/* What B saw at one moment */
struct look {
	struct vcmdq_sw_stats st;
	uint32_t cons, prod, gerror, gerrorn;
	bool gerror_irq;		/* GERROR interrupt since the last look */
};

/* What B reports back to A, which checks it */
struct mig_report {
	int32_t err;			/* first failure in B, -errno, or 0 */
	char what[120];			/* and where */
	uint32_t pages;			/* MIG_PAGE messages received */
	uint32_t __pad;
	uint64_t hash, src_hash;	/* of the RAM B got, of A's */
	struct vcmdq_sw_state state;	/* GET_STATE after SET_STATE */
	uint32_t emulated;		/* register 0 of the page after the move */
	int32_t run[3];			/* vmm_run() results */
	struct look look[4];		/* test specific moments */
	struct look end;		/* after the guest finished */
	uint64_t res[3];		/* the guest's results */
	uint32_t nexit;			/* EXIT events read by B */
	uint32_t exit_index;
	uint64_t exit_cmd[2];
	uint32_t nother;		/* other events */
	int32_t events_error;
};

struct incoming {
	uint8_t ram[RAM_SIZE];
	uint64_t vcpu[NR_CORE];
	struct mig_queue q;
	bool have_vcpu, have_queue;
	uint32_t pages;
	uint64_t src_hash;
};

typedef void (*dest_fn)(struct vmm *v, struct incoming *in,
			struct mig_report *r);

/* Record the first failure: B carries on where it can, A reports it. */
static int dest_fail(struct mig_report *r, int err, const char *what)
{
	if (err < 0 && !r->err) {
		r->err = err;
		snprintf(r->what, sizeof(r->what), "%s", what);
		printf("# destination: %s: %s\n", what, strerror(-err));
	}
	return err;
}

#define DEST_TRY(r, expr)	dest_fail(r, (expr), #expr)

static void look_at(struct vmm *v, struct look *l)
{
	vmm_stats(v, &l->st);
	l->cons = vmm_reg(v, v->cons_off);
	l->prod = vmm_reg(v, v->prod_off);
	l->gerror = vmm_reg(v, v->gerror_off);
	l->gerrorn = vmm_reg(v, v->gerrorn_off);
	l->gerror_irq = gerror_irq(v);
}

static int dest_receive(int fd, struct incoming *in, struct mig_report *r)
{
	static uint8_t buf[sizeof(struct mig_queue)];
	struct mig_hdr h;
	int ret;

	for (;;) {
		ret = mig_recv(fd, &h, buf, sizeof(buf));
		if (ret)
			return dest_fail(r, ret, "receiving the stream");
		switch (h.type) {
		case MIG_PAGE:
			if (h.len != PAGE || h.arg >= RAM_SIZE)
				return dest_fail(r, -EPROTO, "a bad page");
			memcpy(in->ram + h.arg, buf, PAGE);
			in->pages++;
			break;
		case MIG_VCPU:
			memcpy(in->vcpu, buf, sizeof(in->vcpu));
			in->have_vcpu = true;
			break;
		case MIG_QUEUE:
			memcpy(&in->q, buf, sizeof(in->q));
			in->have_queue = true;
			break;
		case MIG_HASH:
			in->src_hash = h.arg;
			break;
		case MIG_GO:
			if (!in->have_vcpu || !in->have_queue)
				return dest_fail(r, -EPROTO, "GO before the state");
			return 0;
		default:
			return dest_fail(r, -EPROTO, "unknown message");
		}
	}
}

/*
 * A queue restored in place of one saved (or of a HW VCMDQ): allocated
 * paused with the registers of @st, @st restored (VCMDQ_SW_SET_STATE),
 * the register page mapped and made the guest's memslot. It stays paused.
 * Returns 0 or -errno, and in @step what failed.
 */
static int restore_queue(struct vmm *v, uint32_t index,
			 const struct vcmdq_sw_state *st, const char **step)
{
	struct iommu_hw_queue_arm_smmuv3_cmdq_sw d;
	struct iommu_hw_queue_alloc alloc;
	struct iommu_destroy destroy = { .size = sizeof(destroy) };
	int ret;

	vmm_fill_alloc(v, &d);
	d.flags = VCMDQ_SW_ALLOC_PAUSED;
	d.cons = st->cons;
	d.prod = st->prod;
	d.gerror = st->gerror;
	d.gerrorn = st->gerrorn;
	vmm_fill_hw_queue_alloc(v, &alloc, &d);
	alloc.index = index;
	*step = "IOMMU_HW_QUEUE_ALLOC with VCMDQ_SW_ALLOC_PAUSED";
	if (ioctl(v->st.iommufd, IOMMU_HW_QUEUE_ALLOC, &alloc))
		return -errno;
	*step = "VCMDQ_SW_SET_STATE";
	ret = set_state(d.out_event_fd, st);
	if (ret) {
		close(d.out_event_fd);
		destroy.id = alloc.out_hw_queue_id;
		ioctl(v->st.iommufd, IOMMU_DESTROY, &destroy);
		return ret;
	}
	*step = "mapping the register page";
	return vmm_attach_queue(v, alloc.out_hw_queue_id, &d);
}

/*
 * The destination's side of the queue: restored, then the registers the
 * VMM emulates written back into the page (everything but the queue's own
 * four, which the state carries). It stays paused.
 */
static int dest_queue(struct vmm *v, const struct mig_queue *q,
		      struct mig_report *r)
{
	const char *step;
	uint32_t off;
	int ret;

	ret = restore_queue(v, q->index, &q->state, &step);
	if (ret)
		return dest_fail(r, ret, step);
	ret = DEST_TRY(r, get_state(v->evfd, &r->state));
	if (ret)
		return ret;
	for (off = 0; off < PAGE; off += 4) {
		uint32_t val;

		if (off == v->cons_off || off == v->prod_off ||
		    off == v->gerror_off || off == v->gerrorn_off)
			continue;
		memcpy(&val, q->regs + off, 4);
		if (val)
			reg_store(v, off, val);
	}
	r->emulated = vmm_reg(v, 0);
	return 0;
}

/* A VM, RAM and vCPU from the stream, a new iommufd stack, the queue. */
static int dest_build(struct vmm *v, struct incoming *in, struct mig_report *r)
{
	int ret;

	ret = DEST_TRY(r, vmm_setup(v, VMM_FAST, in->q.layout, in->q.log2size));
	if (ret)
		return ret;
	memcpy(v->ram, in->ram, RAM_SIZE);
	r->pages = in->pages;
	r->hash = ram_hash(v->ram);
	r->src_hash = in->src_hash;
	ret = DEST_TRY(r, vcpu_regs(v, in->vcpu, true));
	if (ret)
		return ret;
	return dest_queue(v, &in->q, r);
}

static int dest_main(int fd, int report_fd, dest_fn fn)
{
	struct mig_report r = {};
	struct incoming *in;
	bool built = false;
	struct vmm v;
	unsigned int i;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	in = calloc(1, sizeof(*in));
	if (!in)
		dest_fail(&r, -ENOMEM, "calloc");
	else if (!dest_receive(fd, in, &r)) {
		built = true;
		if (!dest_build(&v, in, &r))
			fn(&v, in, &r);
	}
	if (built) {
		if (v.hwq_live) {
			look_at(&v, &r.end);
			for (i = 0; i < 3; i++)
				r.res[i] = vmm_result(&v, i);
		}
		vmm_teardown(&v);
	}
	free(in);
	mig_send(report_fd, MIG_REPORT, 0, &r, sizeof(r));
	fflush(stdout);
	return 0;
}

/*
 * Fork B before A has opened anything, so that it inherits nothing. The
 * stream is a pipe each way (AF_UNIX may not be built in): @ch[0] is A's
 * end to B, @ch[1] A's end from B.
 */
static pid_t start_dest(int ch[2], dest_fn fn)
{
	int down[2], up[2];
	pid_t pid;

	if (pipe2(down, O_CLOEXEC))
		return -1;
	if (pipe2(up, O_CLOEXEC)) {
		close(down[0]);
		close(down[1]);
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);	/* a dead B is an error, not a signal */
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid) {
		close(down[0]);
		close(up[1]);
		ch[0] = down[1];
		ch[1] = up[0];
		return pid;
	}
	close(down[1]);
	close(up[0]);
	_exit(dest_main(down[0], up[1], fn));
}

/* A: B's report, and B's exit. */
static int finish_dest(int ch[2], pid_t pid, struct mig_report *r)
{
	struct mig_hdr h;
	int status, ret;

	close(ch[0]);
	ret = mig_recv(ch[1], &h, r, sizeof(*r));
	if (!ret && (h.type != MIG_REPORT || h.len != sizeof(*r)))
		ret = -EPROTO;
	close(ch[1]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		ret = ret ? ret : -ECHILD;
	return ret;
}

/*
 * The stop-and-copy of a paused source in one go: all of guest memory,
 * the vCPU, the queue's state, then the destination runs and reports.
 */
static int move_all(int ch[2], pid_t pid, struct vmm *v,
		    const struct vcmdq_sw_state *st, struct mig_report *r)
{
	int ret = send_pages(ch[0], v, NULL);

	if (ret <= 0)
		return ret ? ret : -EIO;
	ret = send_vcpu(ch[0], v);
	if (!ret)
		ret = send_queue(ch[0], v, st);
	if (!ret)
		ret = send_go(ch[0], v);
	if (!ret)
		ret = finish_dest(ch, pid, r);
	return ret;
}

#define ASSERT_DEST_OK(r) \
	ASSERT_EQ(0, (r)->err) TH_LOG("destination: %s: %s", (r)->what, \
				     strerror(-(r)->err))

#define EXPECT_SAME_STATE(a, b) do {					\
	EXPECT_EQ((a)->cons, (b)->cons);				\
	EXPECT_EQ((a)->prod, (b)->prod);				\
	EXPECT_EQ((a)->gerror, (b)->gerror);				\
	EXPECT_EQ((a)->gerrorn, (b)->gerrorn);				\
	EXPECT_EQ((a)->halt, (b)->halt);				\
	EXPECT_EQ((a)->exit_cmd[0], (b)->exit_cmd[0]);			\
	EXPECT_EQ((a)->exit_cmd[1], (b)->exit_cmd[1]);			\
} while (0)

static void print_state(const char *test, const char *what,
			const struct vcmdq_sw_state *st)
{
	static const char *const halt[] = { "none", "exit", "cerror", "fault" };

	printf("# %s: %s: CONS 0x%x PROD 0x%x GERROR 0x%x GERRORN 0x%x halt %s\n",
	       test, what, st->cons, st->prod, st->gerror, st->gerrorn,
	       st->halt < 4 ? halt[st->halt] : "?");
}

/* Wait up to @ms for the guest to have finished @n batches. */
static int wait_batches(const struct vmm *v, uint64_t n, unsigned int ms)
{
	uint64_t end = vmm_now_ns() + ms * 1000000ULL;

	while (vmm_result(v, 2) < n) {
		if (vmm_result(v, 0) || vmm_now_ns() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

/* ---- migrate_sw_to_sw ---- */

#define SW_NB		8000		/* batches, each with an ASID of its own */
#define SW_ASID		0x9000
#define EMUL_IDR0	0x0c0f5a1bU	/* a register only the VMM writes */

static void dest_sw_to_sw(struct vmm *v, struct incoming *in,
			  struct mig_report *r)
{
	(void)in;
	/* the pending entries wait for UNPAUSE, not for a doorbell */
	usleep(50000);
	look_at(v, &r->look[0]);
	if (DEST_TRY(r, queue_ioctl(v->evfd, VCMDQ_SW_UNPAUSE)))
		return;
	r->run[0] = vmm_run(v, 20);
	DEST_TRY(r, r->run[0]);
}

/*
 * A stream of SW_NB batches (TLBI_NH_ASID of its own ASID, CMD_SYNC; every
 * other one completed by its MSI) runs on A with the inline consumer. While
 * it runs, A enables dirty logging on the RAM slot and sends every page
 * (pre-copy), then the pages dirtied meanwhile (KVM_GET_DIRTY_LOG).
 * Mid-stream A pauses the queue, waits for the guest to post its next
 * batch into the paused queue (so that entries are pending, unconsumed),
 * stops the vCPU, reads the state and sends the pages dirtied since, the
 * vCPU, the state and the register page (with a register only the VMM
 * writes). B rebuilds all of it, restores the queue paused, unpauses, and
 * the guest runs to the end of the stream. The stream is long enough
 * (SW_NB) for the pre-copy to end before it does, on the debug kernel too.
 *
 * A's queue is destroyed after B ran: A keeps it, paused, until B
 * reports, as a source keeps its VM until the destination runs.
 *
 * Nothing runs twice and nothing is lost: B's RAM is A's once paused (a
 * hash), A's and B's consumed entries add up to the stream, and QEMU's
 * trace has each ASID invalidated once, the last of A with A's VMID and
 * the first of B with B's, and those two VMIDs differ.
 */
TEST(migrate_sw_to_sw)
{
	static uint64_t bm[RAM_PAGES / 64];
	struct vcmdq_sw_stats st;
	struct vcmdq_sw_state state;
	struct vmm_vcpu_thread vc;
	struct mig_report rep;
	struct vmm_batch *b;
	uint64_t end, k, t0, tp, at[3];
	int sk[2], n[3], i;
	struct vmm v;
	pid_t pid;

	pid = start_dest(sk, dest_sw_to_sw);
	ASSERT_LT(0, pid);
	b = calloc(SW_NB, sizeof(*b));
	ASSERT_NE(NULL, b);
	for (i = 0; i < SW_NB; i++) {
		batch_add(&b[i], cmd_tlbi_nh_asid(SW_ASID + i));
		batch_sync(&b[i], i & 1);
	}
	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	reg_store(&v, 0, EMUL_IDR0);
	ASSERT_EQ(0, vmm_load(&v, b, SW_NB, SW_NB));
	free(b);
	ASSERT_EQ(0, vmm_vcpu_start(&vc, &v));

	/* pre-copy: everything, then what was dirtied meanwhile */
	ASSERT_EQ(0, wait_batches(&v, 50, 10000));
	t0 = vmm_now_ns();
	at[0] = vmm_result(&v, 2);
	ASSERT_EQ(0, ram_log_dirty(&v, true));
	n[0] = send_pages(sk[0], &v, NULL);
	ASSERT_LT(0, n[0]);
	at[1] = vmm_result(&v, 2);
	ASSERT_EQ(0, ram_dirty_log(&v, bm));
	n[1] = send_pages(sk[0], &v, bm);
	ASSERT_LE(0, n[1]);

	/* stop: the queue, the guest's next batch left in it, the vCPU */
	at[2] = vmm_result(&v, 2);
	tp = vmm_now_ns();
	ASSERT_EQ(0, queue_ioctl(v.evfd, VCMDQ_SW_PAUSE));
	end = vmm_now_ns() + 2000000000ULL;
	while (vmm_reg(&v, v.prod_off) == vmm_reg(&v, v.cons_off) &&
	       vmm_now_ns() < end)
		usleep(1000);
	ASSERT_EQ(VMM_VCPU_STOPPED, vmm_vcpu_stop(&vc));
	k = vmm_result(&v, 2);		/* the batch left pending */
	ASSERT_GT((uint64_t)SW_NB, k) TH_LOG("the stream ended before the pause");
	ASSERT_EQ(0, get_state(v.evfd, &state));
	print_state("migrate_sw_to_sw", "source, paused", &state);
	EXPECT_EQ((uint32_t)VCMDQ_SW_HALT_NONE, state.halt);
	EXPECT_EQ(vmm_reg(&v, v.cons_off), state.cons);
	EXPECT_EQ(vmm_reg(&v, v.prod_off), state.prod);
	EXPECT_EQ(2U, (state.prod - state.cons) & 0x1ff)
		TH_LOG("the guest's next batch is not pending in the paused queue");
	ASSERT_EQ(0, vmm_stats(&v, &st));

	/* the final round: what was dirtied until the pause, then the rest */
	ASSERT_EQ(0, ram_dirty_log(&v, bm));
	n[2] = send_pages(sk[0], &v, bm);
	ASSERT_LE(0, n[2]);
	ASSERT_EQ(0, send_vcpu(sk[0], &v));
	ASSERT_EQ(0, send_queue(sk[0], &v, &state));
	ASSERT_EQ(0, send_go(sk[0], &v));
	ASSERT_EQ(0, finish_dest(sk, pid, &rep));
	printf("# migrate_sw_to_sw: batches done at pre-copy %llu, second round %llu, pause %llu (%.1f ms after the first); paused at batch %llu of %u; pages sent: %d pre-copy, %d dirty while running, %d dirty at the pause; source ran %llu entries, destination %llu\n",
	       (unsigned long long)at[0], (unsigned long long)at[1],
	       (unsigned long long)at[2], (tp - t0) / 1e6,
	       (unsigned long long)k, SW_NB, n[0], n[1], n[2],
	       (unsigned long long)st.cmds,
	       (unsigned long long)rep.end.st.cmds);

	ASSERT_DEST_OK(&rep);
	EXPECT_EQ(rep.src_hash, rep.hash)
		TH_LOG("the destination's RAM differs from the paused source's");
	EXPECT_SAME_STATE(&state, &rep.state);
	EXPECT_EQ(EMUL_IDR0, rep.emulated);
	EXPECT_EQ(0ULL, rep.look[0].st.cmds)
		TH_LOG("a queue allocated paused consumed its pending entries");
	EXPECT_EQ(state.cons, rep.look[0].cons);
	EXPECT_EQ(0, rep.run[0]);
	EXPECT_EQ(0ULL, rep.res[0]);
	EXPECT_EQ((uint64_t)SW_NB, rep.res[2]);
	EXPECT_EQ(2ULL * SW_NB, st.cmds + rep.end.st.cmds);
	EXPECT_EQ((uint64_t)SW_NB, st.guest_syncs + rep.end.st.guest_syncs);
	EXPECT_EQ(rep.end.prod, rep.end.cons);
	EXPECT_EQ(0ULL, rep.end.st.errors + rep.end.st.faults + rep.end.st.exits);

	vmm_teardown(&v);
	printf("# trace-once sw-to-sw-each-once: %u-%u: " EACH_ASID_RE "\n",
	       SW_ASID, SW_ASID + SW_NB - 1);
	printf("# trace-order sw-to-sw-order: asid=%u\\b => asid=%u\\b => asid=%u\\b\n",
	       SW_ASID, (unsigned int)(SW_ASID + k), SW_ASID + SW_NB - 1);
	/*
	 * The destination has a vIOMMU of its own, allocated while the
	 * source's still exists: its VMID differs (trace-check compares
	 * the two checks of the sw-to-sw-vmid family).
	 */
	printf("# trace-same sw-to-sw-vmid#last-on-source: 1: " ASID_RE "\n",
	       (unsigned int)(SW_ASID + k - 1));
	printf("# trace-same sw-to-sw-vmid#first-on-destination: 1: " ASID_RE "\n",
	       (unsigned int)(SW_ASID + k));
}

/* ---- migrate_pending_exit ---- */

/* TLBI before the CFGI_STE, the VMM's marker for it (+1), TLBI after (+2) */
#define PE_ASID		0xc000

/* The VMM's part of CFGI_STE: a marker TLBI through its own vIOMMU. */
static int run_cfgi(struct vmm *v)
{
	struct vmm_cmd marker = cmd_tlbi_nh_asid(PE_ASID + 1);
	uint32_t done;

	return vmm_invalidate(v, &marker, 1, &done);
}

static void answer_cfgi(struct vmm *v, const struct vcmdq_sw_event *ev)
{
	int ret = vmm_respond(v, ev->index, run_cfgi(v) ? 1 : 0);

	if (ret)
		printf("# destination: answering the EXIT: %s\n", strerror(-ret));
}

static void dest_pending_exit(struct vmm *v, struct incoming *in,
			      struct mig_report *r)
{
	(void)in;
	look_at(v, &r->look[0]);
	v->on_exit = answer_cfgi;
	if (DEST_TRY(r, queue_ioctl(v->evfd, VCMDQ_SW_UNPAUSE)) ||
	    DEST_TRY(r, vmm_start_events(v)))
		return;
	r->run[0] = vmm_run(v, 20);
	DEST_TRY(r, r->run[0]);
	vmm_stop_events(v);
	r->nexit = v->nr_exit_events;
	r->exit_index = v->exit_index[0];
	r->exit_cmd[0] = v->exit_cmd[0][0];
	r->exit_cmd[1] = v->exit_cmd[0][1];
	r->nother = v->nr_other_events;
	r->events_error = v->events_error;
}

/*
 * The queue stops at a CFGI_STE (main-CMDQ layout): A's VMM reads the
 * EXIT and runs the command (a marker TLBI through its vIOMMU), but the
 * migration starts before it answers. GET_STATE says so (halt EXIT, the
 * entry as read); B's queue delivers the EXIT again on its event file, at
 * the same index with the same entry, B runs the command again and
 * answers, and the stream goes on. The command that exits is the one
 * thing that may run twice (uapi: CFGI and the other commands that exit
 * are idempotent); the trace has its marker twice, every other command
 * once. A's queue is destroyed after B ran.
 */
TEST(migrate_pending_exit)
{
	struct vcmdq_sw_state state;
	struct vcmdq_sw_event ev;
	struct vcmdq_sw_stats st;
	struct pollfd p = {};
	struct vmm_vcpu_thread vc;
	struct mig_report rep;
	struct vmm_batch b = {};
	struct vmm v;
	int sk[2];
	pid_t pid;

	pid = start_dest(sk, dest_pending_exit);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	batch_add(&b, cmd_tlbi_nh_asid(PE_ASID));
	batch_add(&b, cmd_cfgi_ste(VSID));
	batch_add(&b, cmd_tlbi_nh_asid(PE_ASID + 2));
	batch_sync(&b, true);
	ASSERT_EQ(0, vmm_load(&v, &b, 1, 1));
	ASSERT_EQ(0, vmm_vcpu_start(&vc, &v));

	p.fd = v.evfd;
	p.events = POLLIN;
	ASSERT_EQ(1, poll(&p, 1, 10000)) TH_LOG("no EXIT");
	ASSERT_EQ((ssize_t)sizeof(ev), read(v.evfd, &ev, sizeof(ev)));
	ASSERT_EQ((uint32_t)VCMDQ_SW_EVENT_EXIT, ev.type);
	EXPECT_EQ(1U, ev.index);
	EXPECT_EQ(OP_CFGI_STE, ev.cmd[0] & 0xff);
	/* A runs the command; the migration starts before it answers */
	ASSERT_EQ(0, run_cfgi(&v));

	ASSERT_EQ(VMM_VCPU_STOPPED, vmm_vcpu_stop(&vc));
	ASSERT_EQ(0, queue_ioctl(v.evfd, VCMDQ_SW_PAUSE));
	ASSERT_EQ(0, get_state(v.evfd, &state));
	print_state("migrate_pending_exit", "source, paused", &state);
	EXPECT_EQ((uint32_t)VCMDQ_SW_HALT_EXIT, state.halt);
	EXPECT_EQ(ev.index, state.cons);
	EXPECT_EQ(4U, state.prod);
	EXPECT_EQ(ev.cmd[0], state.exit_cmd[0]);
	EXPECT_EQ(ev.cmd[1], state.exit_cmd[1]);
	ASSERT_EQ(0, vmm_stats(&v, &st));
	EXPECT_EQ(1ULL, st.cmds);
	EXPECT_EQ(1ULL, st.exits);

	ASSERT_EQ(0, move_all(sk, pid, &v, &state, &rep));
	ASSERT_DEST_OK(&rep);
	EXPECT_EQ(rep.src_hash, rep.hash);
	EXPECT_SAME_STATE(&state, &rep.state);
	EXPECT_EQ(1U, rep.look[0].cons);
	EXPECT_EQ(0ULL, rep.look[0].st.cmds);
	EXPECT_EQ(1U, rep.nexit) TH_LOG("the EXIT was not delivered again");
	EXPECT_EQ(ev.index, rep.exit_index);
	EXPECT_EQ(ev.cmd[0], rep.exit_cmd[0]);
	EXPECT_EQ(ev.cmd[1], rep.exit_cmd[1]);
	EXPECT_EQ(0U, rep.nother);
	EXPECT_EQ(0, rep.events_error);
	EXPECT_EQ(0, rep.run[0]);
	EXPECT_EQ(0ULL, rep.res[0]);
	EXPECT_EQ(1ULL, rep.res[2]);
	EXPECT_EQ(4U, rep.end.cons);
	EXPECT_EQ(3ULL, rep.end.st.cmds);	/* the CFGI_STE, TLBI, SYNC */
	printf("# migrate_pending_exit: EXIT at %u read by the source, run, not answered; the destination got it again at %u (%s entry) and answered it\n",
	       ev.index, rep.exit_index,
	       rep.exit_cmd[0] == ev.cmd[0] && rep.exit_cmd[1] == ev.cmd[1] ?
	       "the same" : "another");

	vmm_teardown(&v);
	printf("# trace-count pending-exit-before: 1: " ASID_RE "\n", PE_ASID);
	printf("# trace-count pending-exit-after: 1: " ASID_RE "\n", PE_ASID + 2);
	printf("# trace-count pending-exit-cfgi-twice: 2: " ASID_RE "\n",
	       PE_ASID + 1);
	printf("# trace-order pending-exit-order: asid=%u\\b => asid=%u\\b => asid=%u\\b => asid=%u\\b\n",
	       PE_ASID, PE_ASID + 1, PE_ASID + 1, PE_ASID + 2);
}

/* ---- migrate_pending_cerror ---- */

#define PC_ASID		0xc010

static void dest_pending_cerror(struct vmm *v, struct incoming *in,
				struct mig_report *r)
{
	(void)in;
	if (DEST_TRY(r, queue_ioctl(v->evfd, VCMDQ_SW_UNPAUSE)))
		return;
	/* unpaused, it stays stopped at the error */
	usleep(100000);
	look_at(v, &r->look[0]);
	/* the guest fixes the entry and stops before acknowledging */
	r->run[0] = vmm_run(v, 20);
	look_at(v, &r->look[1]);
	if (r->run[0] != VMM_PAUSED) {
		dest_fail(r, r->run[0] < 0 ? r->run[0] : -EPROTO,
			  "the guest did not stop before acknowledging");
		return;
	}
	/* the acknowledgment: the stream goes on */
	r->run[1] = vmm_run(v, 20);
	DEST_TRY(r, r->run[1]);
}

/*
 * The queue stops at an illegal command (CONS.ERR = CERROR_ILL,
 * GERROR.CMDQ_ERR active); the guest sees it and stops (REG_PAUSE) before
 * it fixes the entry; A moves the queue. On B nothing runs until the
 * guest, there, has fixed the entry and acknowledged through GERRORN: not
 * at UNPAUSE, not at the fix (B looks again when the guest stops between
 * its fix and its acknowledgment); then the rest of the stream runs.
 * GERROR is not toggled again and the GERROR interrupt not raised again.
 * A's queue is destroyed after B ran.
 */
TEST(migrate_pending_cerror)
{
	const uint32_t err_cons = 1 | 1U << 24;	/* CERROR_ILL at entry 1 */
	struct vcmdq_sw_state state;
	struct vcmdq_sw_stats st;
	struct mig_report rep;
	struct vmm_batch b = {};
	struct vmm v;
	int sk[2], i;
	pid_t pid;

	pid = start_dest(sk, dest_pending_cerror);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	batch_add(&b, cmd_tlbi_nh_asid(PC_ASID));
	batch_add(&b, cmd_tlbi_s2_ipa(0x91000000));	/* illegal */
	batch_add(&b, cmd_tlbi_nh_asid(PC_ASID + 1));
	batch_sync(&b, true);
	b.pause_before_fix = true;
	b.pause_on_error = true;
	ASSERT_EQ(0, vmm_load(&v, &b, 1, 1));
	ASSERT_EQ(VMM_PAUSED, vmm_run(&v, 20))
		TH_LOG("the guest never saw the command error");
	EXPECT_EQ(err_cons, vmm_reg(&v, v.cons_off));
	EXPECT_EQ(1U, vmm_reg(&v, v.gerror_off));
	EXPECT_EQ(0U, vmm_reg(&v, v.gerrorn_off));
	EXPECT_TRUE(gerror_irq(&v));
	ASSERT_EQ(0, vcpu_complete_io(&v));

	ASSERT_EQ(0, queue_ioctl(v.evfd, VCMDQ_SW_PAUSE));
	ASSERT_EQ(0, get_state(v.evfd, &state));
	print_state("migrate_pending_cerror", "source, paused", &state);
	EXPECT_EQ((uint32_t)VCMDQ_SW_HALT_CERROR, state.halt);
	EXPECT_EQ(err_cons, state.cons);
	EXPECT_EQ(4U, state.prod);
	EXPECT_EQ(1U, state.gerror);
	EXPECT_EQ(0U, state.gerrorn);
	ASSERT_EQ(0, vmm_stats(&v, &st));
	EXPECT_EQ(1ULL, st.cmds);
	EXPECT_EQ(1ULL, st.errors);

	ASSERT_EQ(0, move_all(sk, pid, &v, &state, &rep));
	ASSERT_DEST_OK(&rep);
	EXPECT_EQ(rep.src_hash, rep.hash);
	EXPECT_SAME_STATE(&state, &rep.state);
	for (i = 0; i < 2; i++) {
		const struct look *l = &rep.look[i];

		EXPECT_EQ(0ULL, l->st.cmds)
			TH_LOG("%s: the stopped queue ran commands",
			       i ? "after the fix" : "after UNPAUSE");
		EXPECT_EQ(err_cons, l->cons);
		EXPECT_EQ(1U, l->gerror);
		EXPECT_EQ(0U, l->gerrorn);
		EXPECT_FALSE(l->gerror_irq);
	}
	EXPECT_EQ(VMM_PAUSED, rep.run[0]);
	EXPECT_EQ(0, rep.run[1]);
	EXPECT_EQ(0ULL, rep.res[0]);
	EXPECT_EQ(1ULL, rep.res[2]);
	EXPECT_EQ(0x101ULL, rep.res[1])
		TH_LOG("guest saw 0x%llx (errors << 8 | CONS.ERR)",
		       (unsigned long long)rep.res[1]);
	EXPECT_EQ(4U, rep.end.cons);
	EXPECT_EQ(1U, rep.end.gerror);
	EXPECT_EQ(1U, rep.end.gerrorn);
	EXPECT_FALSE(rep.end.gerror_irq) TH_LOG("GERROR raised again");
	EXPECT_EQ(0ULL, rep.end.st.errors);
	EXPECT_EQ(3ULL, rep.end.st.cmds);	/* the fix, TLBI, SYNC */
	EXPECT_EQ(2ULL, rep.end.st.guest_syncs);
	printf("# migrate_pending_cerror: destination: CONS 0x%x after UNPAUSE, 0x%x after the guest's fix, 0x%x after its acknowledgment; commands run %llu, %llu, %llu\n",
	       rep.look[0].cons, rep.look[1].cons, rep.end.cons,
	       (unsigned long long)rep.look[0].st.cmds,
	       (unsigned long long)rep.look[1].st.cmds,
	       (unsigned long long)rep.end.st.cmds);

	vmm_teardown(&v);
	printf("# trace-once pending-cerror-each-once: %u-%u: " EACH_ASID_RE "\n",
	       PC_ASID, PC_ASID + 1);
	printf("# trace-forbid pending-cerror-ill: smmuv3_range_inval .*addr=0x91000000 .*stage=2\n");
}

/* ---- migrate_hw_to_sw ---- */

#define HW_ASID		0xc020

/*
 * The state of a tegra241 HW VCMDQ, from its registers (uapi): CONS with
 * its ERR code, PROD, GERROR, GERRORN; stopped at an error if CONS.ERR is
 * set, else not stopped (a HW VCMDQ has no exits).
 */
static struct vcmdq_sw_state state_from_hw(uint32_t cons, uint32_t prod,
					   uint32_t gerror, uint32_t gerrorn)
{
	return (struct vcmdq_sw_state){
		.size = sizeof(struct vcmdq_sw_state),
		.version = VCMDQ_SW_STATE_VERSION,
		.cons = cons, .prod = prod,
		.gerror = gerror, .gerrorn = gerrorn,
		.halt = (cons >> 24 & 0x7f) ? VCMDQ_SW_HALT_CERROR :
					       VCMDQ_SW_HALT_NONE,
	};
}

static void put_entry(struct vmm *v, uint32_t idx, struct vmm_cmd c)
{
	memcpy(v->ram + QUEUE_GPA + (idx & ((1U << v->log2size) - 1)) * 16,
	       c.w, 16);
}

static int wait_cons(const struct vmm *v, uint32_t cons, unsigned int ms)
{
	uint64_t end = vmm_now_ns() + ms * 1000000ULL;

	while (vmm_reg(v, v->cons_off) != cons) {
		if (vmm_now_ns() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

/*
 * A tegra241 HW VCMDQ's registers, as the VMM reads them from the VINTF
 * page when it gives the HW queue up (this VM has none: the values are
 * made up, the guest queue's entries written where they would be): the
 * state built from them per the header, a SW queue allocated paused in
 * its place (same index, layout VCMDQ_SW_LAYOUT_TEGRA241), SET_STATE,
 * UNPAUSE.
 * 1. Entries pending (CONS 5, PROD 8), an earlier error acknowledged
 *    (GERROR = GERRORN = 1): they run at UNPAUSE; the guest goes on.
 * 2. Stopped at a command error (CONS 0x11e with CERROR_ILL, wrap bit set,
 *    PROD 0x121, GERROR.CMDQ_ERR active): nothing runs, not at UNPAUSE,
 *    not at the guest's next PROD store, until the guest fixes the entry
 *    and acknowledges; GERROR is not toggled again.
 */
TEST(migrate_hw_to_sw)
{
	const uint32_t err_cons = 0x11e | 1U << 24;
	struct vcmdq_sw_state st, got;
	struct vmm_batch b = {};
	const char *step = "";
	struct look l;
	struct vmm v;
	int ret;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_TEGRA241, 8));

	/* 1 */
	put_entry(&v, 5, cmd_tlbi_nh_asid(HW_ASID));
	put_entry(&v, 6, cmd_tlbi_nh_va(HW_ASID + 8, 0x74000000));
	put_entry(&v, 7, cmd_sync());
	st = state_from_hw(5, 8, 1, 1);
	print_state("migrate_hw_to_sw", "HW VCMDQ with entries pending", &st);
	ret = restore_queue(&v, 0, &st, &step);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", step, strerror(-ret));
	ASSERT_EQ(0, get_state(v.evfd, &got));
	EXPECT_SAME_STATE(&st, &got);
	usleep(50000);
	look_at(&v, &l);
	EXPECT_EQ(0ULL, l.st.cmds) TH_LOG("a paused queue ran its entries");
	EXPECT_EQ(5U, l.cons);
	EXPECT_EQ(8U, l.prod);
	ASSERT_EQ(0, queue_ioctl(v.evfd, VCMDQ_SW_UNPAUSE));
	EXPECT_EQ(0, wait_cons(&v, 8, 5000))
		TH_LOG("CONS 0x%x: the pending entries did not run",
		       vmm_reg(&v, v.cons_off));
	look_at(&v, &l);
	EXPECT_EQ(3ULL, l.st.cmds);
	EXPECT_EQ(1ULL, l.st.guest_syncs);
	EXPECT_EQ(0ULL, l.st.errors);
	EXPECT_EQ(1U, l.gerror);
	EXPECT_EQ(1U, l.gerrorn);
	batch_add(&b, cmd_tlbi_nh_asid(HW_ASID + 1));
	batch_sync(&b, false);
	v.start_at_prod = true;
	ASSERT_EQ(0, vmm_load(&v, &b, 1, 1));
	ASSERT_EQ(0, vmm_run(&v, 20));
	EXPECT_EQ(0ULL, vmm_result(&v, 0));
	EXPECT_EQ(1ULL, vmm_result(&v, 2));
	EXPECT_EQ(10U, vmm_reg(&v, v.cons_off));
	ASSERT_EQ(0, vmm_destroy_queue(&v));

	/* 2 */
	put_entry(&v, 0x11e, cmd_cfgi_cd(VSID));	/* illegal on a VCMDQ */
	put_entry(&v, 0x11f, cmd_tlbi_nh_asid(HW_ASID + 2));
	put_entry(&v, 0x120, cmd_sync());
	st = state_from_hw(err_cons, 0x121, 1, 0);
	print_state("migrate_hw_to_sw", "HW VCMDQ stopped at an error", &st);
	ret = restore_queue(&v, 0, &st, &step);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", step, strerror(-ret));
	ASSERT_EQ(0, get_state(v.evfd, &got));
	EXPECT_SAME_STATE(&st, &got);
	EXPECT_FALSE(gerror_irq(&v)) TH_LOG("the restore raised GERROR");
	ASSERT_EQ(0, queue_ioctl(v.evfd, VCMDQ_SW_UNPAUSE));
	usleep(100000);
	look_at(&v, &l);
	EXPECT_EQ(0ULL, l.st.cmds) TH_LOG("ran at UNPAUSE, stopped at an error");
	EXPECT_EQ(err_cons, l.cons);
	EXPECT_EQ(1U, l.gerror);
	EXPECT_EQ(0U, l.gerrorn);
	EXPECT_FALSE(l.gerror_irq);

	memset(&b, 0, sizeof(b));
	batch_add(&b, cmd_tlbi_nh_asid(HW_ASID + 3));
	batch_sync(&b, false);
	b.pause_on_error = true;
	ASSERT_EQ(0, vmm_load(&v, &b, 1, 1));
	ASSERT_EQ(VMM_PAUSED, vmm_run(&v, 20))
		TH_LOG("the guest never saw the error the queue was restored with");
	look_at(&v, &l);
	EXPECT_EQ(1ULL, l.st.doorbells);
	EXPECT_EQ(0ULL, l.st.cmds) TH_LOG("the stopped queue ran commands");
	EXPECT_EQ(err_cons, l.cons);
	EXPECT_EQ(0x123U, l.prod);
	EXPECT_EQ(1U, l.gerror);
	EXPECT_FALSE(l.gerror_irq);
	ASSERT_EQ(0, vmm_run(&v, 20));
	EXPECT_EQ(0ULL, vmm_result(&v, 0));
	EXPECT_EQ(1ULL, vmm_result(&v, 2));
	EXPECT_EQ(0x101ULL, vmm_result(&v, 1));
	look_at(&v, &l);
	EXPECT_EQ(0x123U, l.cons);
	EXPECT_EQ(1U, l.gerror);
	EXPECT_EQ(1U, l.gerrorn);
	EXPECT_FALSE(l.gerror_irq) TH_LOG("GERROR raised again");
	EXPECT_EQ(5ULL, l.st.cmds);	/* the fix, TLBI, SYNC, TLBI, SYNC */
	EXPECT_EQ(0ULL, l.st.errors);
	vmm_teardown(&v);
	printf("# trace-once hw-to-sw-each-once: %u-%u: " EACH_ASID_RE "\n",
	       HW_ASID, HW_ASID + 3);
	printf("# trace-count hw-to-sw-va-once: 1: smmuv3_range_inval vmid=\\d+ asid=%u addr=0x74000000\n",
	       HW_ASID + 8);
}

/* ---- migrate_pause_idle ---- */

#define PI_ASID		0xc030
#define FLAG_GPA	(RES_GPA + 0x800)	/* guest_prod_loop's MSI flag */

static int wait_cmds(const struct vmm *v, uint64_t cmds, unsigned int ms)
{
	uint64_t end = vmm_now_ns() + ms * 1000000ULL;
	struct vcmdq_sw_stats st;

	for (;;) {
		if (vmm_stats(v, &st))
			return -EIO;
		if (st.cmds >= cmds)
			return 0;
		if (vmm_now_ns() > end)
			return -ETIMEDOUT;
		usleep(2000);
	}
}

/*
 * The guest stores PROD in a loop (guest_prod_loop: two entries a turn,
 * a TLBI and a CMD_SYNC whose MSI sets a flag it waits for a while). In
 * each consumer mode, in turn: VCMDQ_SW_PAUSE mid-stream; once it returned
 * nothing moves but the doorbells (the guest goes on storing PROD): no
 * command, no host batch or sync, no worker turn, CONS stays; GET_STATE
 * works. After VCMDQ_SW_UNPAUSE the entries the doorbells left in the
 * paused queue run and the guest's turns complete again. GET_STATE and
 * SET_STATE of a running queue are -EBUSY.
 */
TEST(migrate_pause_idle)
{
	static const struct {
		uint32_t mode, poll_us;
		const char *name;
	} modes[] = {
		{ VCMDQ_SW_CONSUMER_INLINE, 0, "inline" },
		{ VCMDQ_SW_CONSUMER_WORKER, 0, "worker" },
		{ VCMDQ_SW_CONSUMER_WORKER_POLL, 300, "worker-poll" },
	};
	struct vmm_cmd cmd = cmd_tlbi_nh_asid(PI_ASID), sync = cmd_sync();
	uint64_t regs[7] = {
		REG_GPA, 0, RES_GPA, FLAG_GPA, QUEUE_GPA, 8, 0,
	};
	const uint32_t mask = 0x1ff;
	struct vcmdq_sw_state state;
	struct vcmdq_sw_stats s;
	struct vmm_vcpu_thread vc;
	struct look l0, l1;
	uint64_t t0, pause_ns, end, turns;
	uint32_t pending;
	unsigned int i, m;
	struct vmm v;

	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	EXPECT_EQ(-EBUSY, get_state(v.evfd, &state));
	state = (struct vcmdq_sw_state){
		.size = sizeof(state), .version = VCMDQ_SW_STATE_VERSION,
	};
	EXPECT_EQ(-EBUSY, set_state(v.evfd, &state));

	sync.w[0] |= 1ULL << 12 | 3ULL << 22 | 0xfULL << 24 | 1ULL << 32;
	sync.w[1] = FLAG_GPA;
	for (i = 0; i < 1U << v.log2size; i++)
		put_entry(&v, i, i & 1 ? sync : cmd);
	regs[6] = v.prod_off;
	memset(v.ram + RES_GPA, 0, 16);
	ASSERT_EQ(0, kvm_vm_load(&v.vm, v.ram, guest_prod_loop_start,
				 guest_prod_loop_end, regs, 7));
	ASSERT_EQ(0, vmm_vcpu_start(&vc, &v));

	for (m = 0; m < 3; m++) {
		ASSERT_EQ(0, vmm_set_consumer(&v, modes[m].mode,
					      modes[m].poll_us));
		ASSERT_EQ(0, vmm_stats(&v, &s));
		ASSERT_EQ(0, wait_cmds(&v, s.cmds + 40, 10000))
			TH_LOG("%s: the stream does not run", modes[m].name);

		t0 = vmm_now_ns();
		ASSERT_EQ(0, queue_ioctl(v.evfd, VCMDQ_SW_PAUSE));
		pause_ns = vmm_now_ns() - t0;
		look_at(&v, &l0);
		/* a while, with a few doorbells */
		end = vmm_now_ns() + 5000000000ULL;
		do {
			usleep(10000);
			look_at(&v, &l1);
		} while ((l1.st.doorbells < l0.st.doorbells + 3 ||
			  vmm_now_ns() < t0 + 50000000) && vmm_now_ns() < end);
		EXPECT_LE(l0.st.doorbells + 3, l1.st.doorbells)
			TH_LOG("%s: the guest stopped storing PROD", modes[m].name);
		EXPECT_NE(l0.prod, l1.prod);
		EXPECT_EQ(l0.cons, l1.cons)
			TH_LOG("%s: CONS moved while paused", modes[m].name);
		EXPECT_EQ(l0.st.cmds, l1.st.cmds);
		EXPECT_EQ(l0.st.host_cmds, l1.st.host_cmds);
		EXPECT_EQ(l0.st.batches, l1.st.batches);
		EXPECT_EQ(l0.st.host_syncs, l1.st.host_syncs);
		EXPECT_EQ(l0.st.guest_syncs, l1.st.guest_syncs);
		EXPECT_EQ(l0.st.wakes, l1.st.wakes);
		EXPECT_EQ(l0.st.inline_turns, l1.st.inline_turns);
		ASSERT_EQ(0, get_state(v.evfd, &state));
		EXPECT_EQ((uint32_t)VCMDQ_SW_HALT_NONE, state.halt);
		EXPECT_EQ(l1.cons, state.cons);
		pending = (state.prod - state.cons) & mask;
		EXPECT_GT(256U, pending);

		turns = vmm_result(&v, 0);
		ASSERT_EQ(0, queue_ioctl(v.evfd, VCMDQ_SW_UNPAUSE));
		EXPECT_EQ(0, wait_cmds(&v, l1.st.cmds + pending, 5000))
			TH_LOG("%s: the %u entries left in the paused queue did not run",
			       modes[m].name, pending);
		end = vmm_now_ns() + 5000000000ULL;
		while (vmm_result(&v, 0) <= turns && vmm_now_ns() < end)
			usleep(2000);
		EXPECT_LT(turns, vmm_result(&v, 0))
			TH_LOG("%s: no guest turn completed after UNPAUSE",
			       modes[m].name);
		EXPECT_EQ(-EBUSY, get_state(v.evfd, &state));
		printf("# migrate_pause_idle: %s: PAUSE returned in %.1f us; paused %.0f ms: %llu doorbells, %llu commands, %llu host batches; after UNPAUSE the %u entries left pending ran\n",
		       modes[m].name, pause_ns / 1e3,
		       (vmm_now_ns() - t0) / 1e6,
		       (unsigned long long)(l1.st.doorbells - l0.st.doorbells),
		       (unsigned long long)(l1.st.cmds - l0.st.cmds),
		       (unsigned long long)(l1.st.batches - l0.st.batches),
		       pending);
	}
	EXPECT_EQ(VMM_VCPU_STOPPED, vmm_vcpu_stop(&vc));
	vmm_teardown(&v);
}

/* ---- dirty_ring ---- */

#define RING_BYTES	(1024 * sizeof(struct kvm_dirty_gfn))
#define DR_ASID		0xc040

static int dirty_ring_cap;

/* A dirty ring, and the dirty bitmap beside it: before any vCPU, memslot */
static int enable_dirty_ring(struct kvm_vm *vm)
{
	struct kvm_enable_cap ec = { .args[0] = RING_BYTES };
	int caps[2] = { KVM_CAP_DIRTY_LOG_RING_ACQ_REL, KVM_CAP_DIRTY_LOG_RING };
	int i;

	for (i = 0; i < 2; i++)
		if (ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, caps[i]) > 0)
			break;
	if (i == 2)
		return -EOPNOTSUPP;
	dirty_ring_cap = caps[i];
	ec.cap = caps[i];
	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &ec))
		return -errno;
	if (ioctl(vm->vm_fd, KVM_CHECK_EXTENSION,
		  KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP) <= 0)
		return -EOPNOTSUPP;
	ec = (struct kvm_enable_cap){ .cap = KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP };
	return ioctl(vm->vm_fd, KVM_ENABLE_CAP, &ec) ? -errno : 0;
}

struct ring {
	struct kvm_dirty_gfn *gfns;
	uint32_t n, fetch;
};

/* Collect the vCPU's ring; true if @gpa of slot 0 was in it. Resets it. */
static bool ring_harvest(struct vmm *v, struct ring *r, uint64_t gpa,
			 unsigned int *entries)
{
	bool found = false;

	*entries = 0;
	for (;;) {
		struct kvm_dirty_gfn *e = &r->gfns[r->fetch % r->n];

		if (!(__atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) &
		      KVM_DIRTY_GFN_F_DIRTY))
			break;
		if (e->slot == 0 && e->offset == gpa / PAGE)
			found = true;
		__atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET,
				 __ATOMIC_RELEASE);
		r->fetch++;
		(*entries)++;
	}
	ioctl(v->vm.vm_fd, KVM_RESET_DIRTY_RINGS, 0);
	return found;
}

/* One batch: a TLBI, a CMD_SYNC whose MSI writes 0x5a5a to @flag */
static void msi_batch(struct vmm_batch *b, uint16_t asid, uint64_t flag)
{
	struct vmm_cmd sync = cmd_sync();

	memset(b, 0, sizeof(*b));
	batch_add(b, cmd_tlbi_nh_asid(asid));
	sync.w[0] |= 1ULL << 12 | 3ULL << 22 | 0xfULL << 24 | 0x5a5aULL << 32;
	sync.w[1] = flag;
	batch_add(b, sync);
}

/*
 * A VM with a dirty ring and the dirty bitmap beside it
 * (KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP, which arm64 VMMs enable for the
 * vgic-its tables anyway) and dirty logging on its RAM. A CMD_SYNC MSI to
 * a page the guest never writes: with the inline consumer the vCPU writes
 * it, and the page is in that vCPU's dirty ring; with the worker consumer
 * the worker writes it, and the page is in the dirty bitmap
 * (KVM_GET_DIRTY_LOG). Either way the migration sees it, and the queue
 * does not fault.
 */
TEST(dirty_ring)
{
	static const struct {
		uint32_t mode;
		const char *name;
		uint64_t flag;
		bool in_ring;		/* where it must be */
	} rounds[] = {
		{ VCMDQ_SW_CONSUMER_INLINE, "inline", RAM_SIZE - 0x1000, true },
		{ VCMDQ_SW_CONSUMER_WORKER, "worker", RAM_SIZE - 0x2000, false },
	};
	static uint64_t bm[RAM_PAGES / 64];
	struct ring ring = { .n = RING_BYTES / sizeof(struct kvm_dirty_gfn) };
	struct vcmdq_sw_stats st;
	struct vmm_batch b;
	unsigned int i, entries;
	bool in_ring, in_bitmap;
	uint32_t data;
	struct vmm v;
	int ret;

	ret = vmm_setup_caps(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8,
			     enable_dirty_ring);
	ASSERT_EQ(0, ret) TH_LOG("a VM with a dirty ring and its bitmap: %s",
				strerror(-ret));
	ring.gfns = mmap(NULL, RING_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED,
			 v.vm.vcpu_fd, KVM_DIRTY_LOG_PAGE_OFFSET * PAGE);
	ASSERT_NE(MAP_FAILED, ring.gfns);
	ASSERT_EQ(0, vmm_alloc_queue(&v));
	ASSERT_EQ(0, ram_log_dirty(&v, true));
	ASSERT_EQ(0, ram_dirty_log(&v, bm));

	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, vmm_set_consumer(&v, rounds[i].mode, 0));
		msi_batch(&b, DR_ASID + i, rounds[i].flag);
		ASSERT_EQ(0, vmm_load(&v, &b, 1, 1));
		ASSERT_EQ(0, vmm_run(&v, 20));
		EXPECT_EQ(0ULL, vmm_result(&v, 0));
		EXPECT_EQ(1ULL, vmm_result(&v, 2));
		memcpy(&data, v.ram + rounds[i].flag, 4);
		EXPECT_EQ(0x5a5aU, data) TH_LOG("%s: no MSI", rounds[i].name);
		in_ring = ring_harvest(&v, &ring, rounds[i].flag, &entries);
		ASSERT_EQ(0, ram_dirty_log(&v, bm));
		in_bitmap = page_set(bm, rounds[i].flag);
		printf("# dirty_ring: %s consumer: the MSI page (GPA 0x%llx) is %s the vCPU's dirty ring (%u entries) and %s the dirty bitmap\n",
		       rounds[i].name, (unsigned long long)rounds[i].flag,
		       in_ring ? "in" : "not in", entries,
		       in_bitmap ? "in" : "not in");
		if (rounds[i].in_ring) {
			EXPECT_TRUE(in_ring) TH_LOG("%s: not in the ring",
						    rounds[i].name);
		} else {
			EXPECT_TRUE(in_bitmap) TH_LOG("%s: not in the bitmap",
						      rounds[i].name);
		}
		EXPECT_TRUE(in_ring || in_bitmap)
			TH_LOG("%s: the MSI write escaped dirty logging",
			       rounds[i].name);
	}
	ASSERT_EQ(0, vmm_stats(&v, &st));
	EXPECT_EQ(0ULL, st.faults);
	EXPECT_LT(0ULL, st.inline_turns);
	EXPECT_LT(0ULL, st.wakes);
	printf("# dirty_ring: %s with KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP; %llu faults\n",
	       dirty_ring_cap == KVM_CAP_DIRTY_LOG_RING_ACQ_REL ?
	       "KVM_CAP_DIRTY_LOG_RING_ACQ_REL" : "KVM_CAP_DIRTY_LOG_RING",
	       (unsigned long long)st.faults);
	munmap(ring.gfns, RING_BYTES);
	vmm_teardown(&v);
}

TEST_HARNESS_MAIN
