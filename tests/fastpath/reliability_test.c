// SPDX-License-Identifier: GPL-2.0
/*
 * The reliability matrix's teardown, fault-injection and uAPI cases, on
 * the reference VMM (vmm.h):
 *
 * chaos_teardown      at a random moment of a running stream, one of:
 *                     SIGKILL of the VMM, IOMMU_DESTROY of the queue,
 *                     IOAS unmap of its pages, vDEVICE destroy, close of
 *                     the iommufd, VM destroy, pause and restore; after
 *                     each, a new queue on a new VM runs.
 * fail_nth_*          every allocation the kernel makes in the alloc,
 *                     restore and consumer paths (and iommufd's own
 *                     fail_iommufd test points) failed in turn
 *                     (upstream's iommufd_fail_nth.c method): a clean
 *                     error, nothing left behind, the next alloc works.
 * scale_vms_queues    4 VMs (8 in the long form), each its own vIOMMU
 *                     (so VMID) with 4 queues
 *                     driven by 4 vCPUs at once; the trace shows each
 *                     VM's commands under one VMID, a VMID per VM.
 * uapi_fuzz_threads   random allocs, destroys and event-file calls from
 *                     several threads for a bounded time.
 *
 * VCMDQ_STRESS=1 runs the long forms; VCMDQ_SEED replays a run.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/iommufd.h>

#include "kselftest_harness.h"
#include "vmm.h"

#define FLAG_GPA	(RES_GPA + 0x800)	/* guest_prod_loop's MSI flag */

static bool stress(void)
{
	const char *e = getenv("VCMDQ_STRESS");

	return e && *e == '1';
}

static uint32_t pick_seed(void)
{
	const char *e = getenv("VCMDQ_SEED");
	struct timespec ts;

	if (e)
		return strtoul(e, NULL, 0);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)(ts.tv_nsec ^ ts.tv_sec) | 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int count_fds(void)
{
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the directory's own */
}

static int destroy(int iommufd, uint32_t id)
{
	struct iommu_destroy d = { .size = sizeof(d), .id = id };

	return ioctl(iommufd, IOMMU_DESTROY, &d) ? -errno : 0;
}

static void reliability(const char *name, unsigned long iterations,
			unsigned int failures, double secs)
{
	printf("# reliability {\"scenario\": \"%s\", \"iterations\": %lu, \"failures\": %u, \"duration_s\": %.1f}\n",
	       name, iterations, failures, secs);
}

/* ---- a running stream: guest_prod_loop in a vCPU thread ---- */

struct stream {
	struct vmm v;
	pthread_t t;
	bool running;
	bool stop;		/* __atomic */
	int err;		/* KVM_RUN's errno, or 0 */
	unsigned long mmio_exits;
};

static void on_usr1(int sig)
{
	(void)sig;
}

static void *stream_vcpu(void *arg)
{
	struct stream *s = arg;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		if (ioctl(s->v.vm.vcpu_fd, KVM_RUN, 0)) {
			if (errno == EINTR)
				continue;
			s->err = errno;
			return NULL;
		}
		/* a PROD store with no queue behind it: slow the guest down */
		if (s->v.vm.run->exit_reason == KVM_EXIT_MMIO) {
			s->mmio_exits++;
			usleep(1000);
		}
	}
	return NULL;
}

/* A new VM with a queue whose guest stores PROD in a loop */
static int stream_start(struct stream *s)
{
	struct vmm_cmd cmd = cmd_tlbi_nh_asid(0x9a1), sync = cmd_sync();
	struct vmm *v = &s->v;
	uint64_t regs[7];
	unsigned int i;
	int ret;

	memset(s, 0, sizeof(*s));
	ret = vmm_setup(v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8);
	if (!ret)
		ret = vmm_alloc_queue(v);
	if (!ret)
		ret = vmm_start_events(v);
	if (ret)
		return ret;
	sync.w[0] |= 1ULL << 12 | 3ULL << 22 | 0xfULL << 24 | 1ULL << 32;
	sync.w[1] = FLAG_GPA;
	for (i = 0; i < 1U << v->log2size; i++)
		memcpy(v->ram + QUEUE_GPA + i * 16, (i & 1 ? &sync : &cmd)->w,
		       16);
	regs[0] = REG_GPA;
	regs[1] = 0;
	regs[2] = RES_GPA;
	regs[3] = FLAG_GPA;
	regs[4] = QUEUE_GPA;
	regs[5] = v->log2size;
	regs[6] = v->prod_off;
	memset(v->ram + RES_GPA, 0, 16);
	ret = kvm_vm_load(&v->vm, v->ram, guest_prod_loop_start,
			  guest_prod_loop_end, regs, 7);
	if (ret)
		return ret;
	if (pthread_create(&s->t, NULL, stream_vcpu, s))
		return -EAGAIN;
	s->running = true;
	return 0;
}

/* Turns the guest completed by the MSI */
static uint64_t stream_turns(const struct stream *s)
{
	return vmm_result(&s->v, 0);
}

static int stream_wait_turns(const struct stream *s, uint64_t turns,
			     unsigned int ms)
{
	unsigned int i;

	for (i = 0; i < ms; i++) {
		if (stream_turns(s) >= turns)
			return 0;
		usleep(1000);
	}
	return -ETIMEDOUT;
}

static void stream_stop(struct stream *s)
{
	if (!s->running)
		return;
	__atomic_store_n(&s->stop, true, __ATOMIC_RELEASE);
	pthread_kill(s->t, SIGUSR1);
	pthread_join(s->t, NULL);
	s->running = false;
}

/* ---- chaos ---- */

enum chaos_action {
	CHAOS_SIGKILL, CHAOS_DESTROY, CHAOS_IOAS_UNMAP, CHAOS_VDEVICE,
	CHAOS_CLOSE_IOMMUFD, CHAOS_VM_DESTROY, CHAOS_PAUSE_RESTORE,
	CHAOS_ACTIONS
};

static const char *const chaos_name[CHAOS_ACTIONS] = {
	"SIGKILL of the VMM", "IOMMU_DESTROY of the queue",
	"IOAS unmap of the queue pages", "vDEVICE destroy",
	"close of the iommufd", "VM destroy", "pause and restore",
};

/* The VMM as a child process: a stream, then it waits to be killed */
static void chaos_child(int ready)
{
	struct stream s;
	char c = 1;

	if (stream_start(&s) || stream_wait_turns(&s, 1, 10000))
		c = 0;
	if (write(ready, &c, 1) != 1)
		_exit(2);
	for (;;)
		pause();
}

static int chaos_sigkill(unsigned int delay_us)
{
	int p[2], status;
	char c = 0;
	pid_t pid;

	if (pipe(p))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		close(p[0]);
		chaos_child(p[1]);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		c = 0;
	close(p[0]);
	usleep(delay_us);
	kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) != pid)
		return -ECHILD;
	if (!c)
		return -EIO;	/* the child's stream never ran */
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? 0 : -EPROTO;
}

/* Pause, save, destroy, restore into a new queue, unpause: it goes on */
static int chaos_pause_restore(struct stream *s)
{
	struct iommu_hw_queue_arm_smmuv3_cmdq_sw d;
	struct iommu_hw_queue_alloc alloc;
	struct vcmdq_sw_state st = { .size = sizeof(st) };
	struct vmm *v = &s->v;
	uint64_t turns;
	int ret;

	if (ioctl(v->evfd, VCMDQ_SW_PAUSE) ||
	    ioctl(v->evfd, VCMDQ_SW_GET_STATE, &st))
		return -errno;
	vmm_stop_events(v);
	ret = vmm_destroy_queue(v);
	if (ret)
		return ret;
	vmm_fill_alloc(v, &d);
	d.flags = VCMDQ_SW_ALLOC_PAUSED;
	d.cons = st.cons;
	d.prod = st.prod;
	d.gerror = st.gerror;
	d.gerrorn = st.gerrorn;
	vmm_fill_hw_queue_alloc(v, &alloc, &d);
	if (ioctl(v->st.iommufd, IOMMU_HW_QUEUE_ALLOC, &alloc))
		return -errno;
	st.size = sizeof(st);
	if (ioctl(d.out_event_fd, VCMDQ_SW_SET_STATE, &st)) {
		ret = -errno;
		close(d.out_event_fd);
		destroy(v->st.iommufd, alloc.out_hw_queue_id);
		return ret;
	}
	ret = vmm_attach_queue(v, alloc.out_hw_queue_id, &d);
	if (!ret)
		ret = vmm_start_events(v);
	if (ret)
		return ret;
	turns = stream_turns(s);
	if (ioctl(v->evfd, VCMDQ_SW_UNPAUSE))
		return -errno;
	return stream_wait_turns(s, turns + 2, 10000);
}

/*
 * One action under the stream of @s. Returns 0 if the kernel answered as
 * documented, or -errno of what did not; @teardown says what of @s is
 * left to undo.
 */
static int chaos_act(struct stream *s, enum chaos_action a)
{
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap), .ioas_id = s->v.st.ioas_id,
		.iova = QUEUE_GPA, .length = QUEUE_MAP_LEN,
	};
	struct vmm *v = &s->v;
	int ret;

	switch (a) {
	case CHAOS_DESTROY:
		/* mapped: busy; the documented order then destroys it */
		ret = destroy(v->st.iommufd, v->hwq_id);
		if (ret != -EBUSY)
			return ret ? ret : -EPROTO;
		return vmm_destroy_queue(v);
	case CHAOS_IOAS_UNMAP:
		/* the queue's pages stay pinned while it lives */
		if (!ioctl(v->st.iommufd, IOMMU_IOAS_UNMAP, &unmap))
			return -EPROTO;
		return errno == EBUSY ? 0 : -errno;
	case CHAOS_VDEVICE:
		ret = destroy(v->st.iommufd, v->st.vdev_id);
		return ret == -EBUSY ? 0 : ret;
	case CHAOS_CLOSE_IOMMUFD:
		/* the mapping holds the queue; unmapping it frees everything */
		vmm_stop_events(v);
		close(v->st.iommufd);
		v->st.iommufd = -1;
		v->hwq_live = false;
		return 0;
	case CHAOS_VM_DESTROY:
		/*
		 * The VM's files closed with its memslot still on the
		 * register page, then the page unmapped: the queue holds
		 * the VM until vmm_teardown() destroys it.
		 */
		stream_stop(s);
		kvm_vm_destroy(&v->vm);
		ret = munmap(v->regs, v->regs_len) ? -errno : 0;
		v->regs = NULL;
		return ret;
	case CHAOS_PAUSE_RESTORE:
		return chaos_pause_restore(s);
	default:
		return -EINVAL;
	}
}

/* The harness's per-test timeout (30 s) is too short for these */
FIXTURE(rel) {
};

FIXTURE_SETUP(rel)
{
}

FIXTURE_TEARDOWN(rel)
{
}

TEST_F_TIMEOUT(rel, chaos_teardown, 3600)
{
	const unsigned int iters = stress() ? 1000 : 200;
	const uint32_t seed = pick_seed();
	unsigned int count[CHAOS_ACTIONS] = {}, bad[CHAOS_ACTIONS] = {};
	unsigned int i, failures = 0;
	struct sigaction sa = { .sa_handler = on_usr1 };
	int fds;
	double t0 = now_s();
	struct stream s;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	srandom(seed);
	printf("# chaos_teardown: seed 0x%x (VCMDQ_SEED), %u iterations\n",
	       seed, iters);
	fds = count_fds();
	for (i = 0; i < iters; i++) {
		enum chaos_action a = random() % CHAOS_ACTIONS;
		unsigned int delay_us = random() % 20000;
		int ret;

		count[a]++;
		if (a == CHAOS_SIGKILL) {
			ret = chaos_sigkill(delay_us);
		} else {
			ret = stream_start(&s);
			/* the previous iteration left a kernel that works */
			if (!ret)
				ret = stream_wait_turns(&s, 1, 10000);
			if (ret) {
				TH_LOG("iteration %u: a new queue on a new VM does not run: %s",
				       i, strerror(-ret));
				failures++;
				stream_stop(&s);
				vmm_teardown(&s.v);
				break;
			}
			usleep(delay_us);
			ret = chaos_act(&s, a);
			stream_stop(&s);
			EXPECT_EQ(0, s.err) TH_LOG("KVM_RUN: %s", strerror(s.err));
			vmm_teardown(&s.v);
		}
		if (ret) {
			bad[a]++;
			failures++;
			TH_LOG("iteration %u: %s after %u us: %s", i,
			       chaos_name[a], delay_us, strerror(-ret));
		}
		if (i % 50 == 49) {
			printf("# progress: chaos_teardown: %u of %u iterations, %u failures\n",
			       i + 1, iters, failures);
			fflush(stdout);
		}
	}
	/* and once more, after the last */
	ASSERT_EQ(0, stream_start(&s));
	EXPECT_EQ(0, stream_wait_turns(&s, 2, 10000));
	stream_stop(&s);
	vmm_teardown(&s.v);
	EXPECT_EQ(fds, count_fds()) TH_LOG("files left behind");
	for (i = 0; i < CHAOS_ACTIONS; i++)
		printf("# chaos_teardown: %-30s %4u times, %u not as documented\n",
		       chaos_name[i], count[i], bad[i]);
	EXPECT_EQ(0U, failures);
	reliability("chaos_teardown", iters, failures, now_s() - t0);
}

/* ---- fail_nth ---- */

static int fail_nth_setup(void)
{
	static const char *const knobs[][2] = {
		{ "/sys/kernel/debug/failslab/ignore-gfp-wait", "N" },
		{ "/sys/kernel/debug/failslab/verbose", "0" },
		{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N" },
		{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", "N" },
		{ "/sys/kernel/debug/fail_page_alloc/verbose", "0" },
	};
	unsigned int i;
	int ret;

	for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		ret = vmm_write_file(knobs[i][0], knobs[i][1]);
		if (ret)
			return ret;
	}
	return 0;
}

static int fail_nth_fd = -1;

/* Fail the @nth fault point this thread passes from now on (0: none) */
static int fail_nth_arm(unsigned int nth)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%u", nth);

	if (fail_nth_fd < 0) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth",
			 gettid());
		fail_nth_fd = open(path, O_RDWR);
		if (fail_nth_fd < 0)
			return -errno;
	}
	return pwrite(fail_nth_fd, buf, n, 0) == n ? 0 : -errno;
}

/* The points left to pass before the fault: 0 once it was injected */
static int fail_nth_left(void)
{
	char buf[16] = {};

	if (pread(fail_nth_fd, buf, sizeof(buf) - 1, 0) <= 0)
		return -errno;
	return atoi(buf);
}

/*
 * The fault attributes fail-nth can fire, and how each shows: an
 * allocation fails -ENOMEM; iommufd's test fault point
 * (CONFIG_IOMMUFD_TEST's fail_iommufd) fails the call it sits in as that
 * call fails: an object lookup -ENOENT, a page pin -EFAULT, the pinned
 * accounting -ENOMEM, reserved regions, the xarray and the remote access
 * -EINVAL. Which one fired shows in its "times" count, which the
 * injected fault decrements.
 */
static const struct fail_attr {
	const char *name;
	int errs[4];	/* what the fault may make the operation return */
} fail_attrs[] = {
	{ "failslab", { -ENOMEM } },
	{ "fail_page_alloc", { -ENOMEM } },
	{ "fail_iommufd", { -ENOENT, -EFAULT, -ENOMEM, -EINVAL } },
};
#define NR_FAIL_ATTRS	(sizeof(fail_attrs) / sizeof(fail_attrs[0]))
#define FAIL_TIMES	1000000

static long fail_attr_times(unsigned int i)
{
	char path[96], buf[32] = {};
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/debug/%s/times",
		 fail_attrs[i].name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	if (read(fd, buf, sizeof(buf) - 1) <= 0) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return atol(buf);
}

static int fail_attrs_reset(void)
{
	char path[96], val[16];
	unsigned int i;
	int ret;

	snprintf(val, sizeof(val), "%d", FAIL_TIMES);
	for (i = 0; i < NR_FAIL_ATTRS; i++) {
		snprintf(path, sizeof(path), "/sys/kernel/debug/%s/times",
			 fail_attrs[i].name);
		ret = vmm_write_file(path, val);
		if (ret)
			return ret;
	}
	return 0;
}

/* The attribute whose fault fired since fail_attrs_reset(), or -1 */
static int fail_attr_fired(void)
{
	unsigned int i;
	int fired = -1;

	for (i = 0; i < NR_FAIL_ATTRS; i++) {
		if (fail_attr_times(i) == FAIL_TIMES)
			continue;
		if (fired >= 0)
			return -1;	/* two: cannot be */
		fired = i;
	}
	return fired;
}

/* @err is what a fault of fail_attrs[@a] may make the operation return */
static bool fail_err_expected(int a, int err)
{
	unsigned int i;

	for (i = 0; a >= 0 && i < 4; i++)
		if (fail_attrs[a].errs[i] && fail_attrs[a].errs[i] == err)
			return true;
	return false;
}

/*
 * One batch (TLBI_NH_ASID, CMD_SYNC by MSI) through @v's live queue:
 * the guest sees it complete, CONS reaches PROD. 0 or an error.
 */
static int queue_runs(struct vmm *v, uint16_t asid)
{
	struct vmm_batch b = {};
	int ret;

	batch_add(&b, cmd_tlbi_nh_asid(asid));
	batch_sync(&b, true);
	ret = vmm_load(v, &b, 1, 1);
	if (!ret)
		ret = vmm_run(v, 20);
	if (!ret && (vmm_result(v, 0) || vmm_result(v, 2) != 1))
		ret = -EIO;
	if (!ret && vmm_reg(v, v->cons_off) != vmm_reg(v, v->prod_off))
		ret = -EIO;
	return ret;
}

/* One batch through a fresh queue of @v: the kernel still works */
static int queue_works(struct vmm *v, uint16_t asid)
{
	int ret;

	ret = vmm_alloc_queue(v);
	if (!ret)
		ret = queue_runs(v, asid);
	if (v->hwq_live && vmm_destroy_queue(v) && !ret)
		ret = -EIO;
	if (v->evfd >= 0)
		close(v->evfd);
	v->evfd = -1;
	return ret;
}

enum fail_op { OP_ALLOC, OP_RESTORE, OP_CONSUMER };

/*
 * The operation under test, from a vIOMMU with no queue to one queue
 * (left for the caller to destroy): 0, or the first error.
 */
static int fail_op_run(struct vmm *v, enum fail_op op, const char **step)
{
	struct iommu_hw_queue_arm_smmuv3_cmdq_sw d;
	struct iommu_hw_queue_alloc alloc;
	struct vcmdq_sw_state st = {
		.size = sizeof(st), .version = VCMDQ_SW_STATE_VERSION,
		.cons = 3, .prod = 3,
	};
	struct vcmdq_sw_consumer_mode m = {
		.size = sizeof(m), .mode = VCMDQ_SW_CONSUMER_WORKER,
	};
	int ret;

	vmm_fill_alloc(v, &d);
	if (op == OP_RESTORE) {
		d.flags = VCMDQ_SW_ALLOC_PAUSED;
		d.cons = d.prod = 3;
	}
	vmm_fill_hw_queue_alloc(v, &alloc, &d);
	*step = "IOMMU_HW_QUEUE_ALLOC";
	if (ioctl(v->st.iommufd, IOMMU_HW_QUEUE_ALLOC, &alloc))
		return -errno;
	/* takes the queue on before what may fail: the caller undoes it */
	*step = "mmap and memslot";
	ret = vmm_attach_queue(v, alloc.out_hw_queue_id, &d);
	if (ret)
		return ret;
	*step = "SET_STATE";
	if (op == OP_RESTORE && ioctl(v->evfd, VCMDQ_SW_SET_STATE, &st))
		return -errno;
	*step = "UNPAUSE";
	if (op == OP_RESTORE && ioctl(v->evfd, VCMDQ_SW_UNPAUSE))
		return -errno;
	*step = "SET_CONSUMER";
	if (op == OP_CONSUMER && ioctl(v->evfd, VCMDQ_SW_SET_CONSUMER, &m))
		return -errno;
	return 0;
}

static void run_fail_nth(struct __test_metadata *_metadata, const char *name,
			 enum fail_op op, uint16_t asid)
{
	unsigned int nth, errs[64] = {}, failures = 0, ok_anyway = 0;
	unsigned int fired_by[NR_FAIL_ATTRS] = {};
	const char *step = "";
	double t0 = now_s();
	struct vmm v;
	int fds, ret, left, i, a;

	ASSERT_EQ(0, fail_nth_setup()) TH_LOG("fault injection knobs in debugfs");
	ASSERT_EQ(0, fail_attrs_reset()) TH_LOG("the fault attributes' times");
	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	/* the first alloc warms up what is allocated once (the worker pool) */
	ASSERT_EQ(0, queue_works(&v, asid));
	ASSERT_EQ(0, fail_nth_arm(0));	/* its file open before counting */
	fds = count_fds();
	for (nth = 1; nth < 10000; nth++) {
		ASSERT_EQ(0, fail_attrs_reset());
		ASSERT_EQ(0, fail_nth_arm(nth));
		ret = fail_op_run(&v, op, &step);
		left = fail_nth_left();
		ASSERT_EQ(0, fail_nth_arm(0));
		ASSERT_LE(0, left);
		a = left ? -1 : fail_attr_fired();
		if (!left && a < 0) {
			failures++;
			TH_LOG("point %u: no fault attribute (or two) counted the fault",
			       nth);
		} else if (a >= 0) {
			fired_by[a]++;
		}
		/*
		 * A queue made despite the fault must work: a batch runs
		 * through it before it is destroyed.
		 */
		if (!left && !ret && v.hwq_live) {
			int run = queue_runs(&v, asid);

			if (run) {
				failures++;
				TH_LOG("point %u (%s): the queue made despite the fault does not run a batch: %s",
				       nth, a >= 0 ? fail_attrs[a].name : "?",
				       strerror(-run));
			}
		}
		if (v.hwq_live)
			ASSERT_EQ(0, vmm_destroy_queue(&v));
		if (v.evfd >= 0) {
			close(v.evfd);
			v.evfd = -1;
		}
		if (left) {
			/* it never reached the nth point: walked them all */
			EXPECT_EQ(0, ret) TH_LOG("no fault, yet %s", strerror(-ret));
			break;
		}
		if (!ret)
			ok_anyway++;
		else if (-ret < 64)
			errs[-ret]++;
		/* only what the attribute that fired makes it fail with */
		if (ret && !fail_err_expected(a, ret)) {
			failures++;
			TH_LOG("point %u: %s: %s, from a fault of %s", nth, step,
			       strerror(-ret), a >= 0 ? fail_attrs[a].name : "?");
		}
		if (count_fds() != fds) {
			failures++;
			TH_LOG("point %u: files left behind", nth);
		}
		ret = queue_works(&v, asid);
		if (ret) {
			failures++;
			TH_LOG("point %u: the next queue does not work: %s", nth,
			       strerror(-ret));
			break;
		}
	}
	printf("# %s: %u fault points walked (%u failslab, %u fail_page_alloc, %u fail_iommufd), %u succeeded anyway and ran a batch; errors:",
	       name, nth - 1, fired_by[0], fired_by[1], fired_by[2], ok_anyway);
	for (i = 0; i < 64; i++)
		if (errs[i])
			printf(" %s %u", strerror(i), errs[i]);
	printf("\n");
	EXPECT_LT(1U, nth) TH_LOG("no fault point reached: is fail-nth working?");
	EXPECT_EQ(0U, failures);
	printf("# trace-expect %s: invalidate asid=%d " "vmid=\\d+\n", name, asid);
	reliability(name, nth - 1, failures, now_s() - t0);
	vmm_teardown(&v);
}

TEST_F_TIMEOUT(rel, fail_nth_alloc, 1800)
{
	run_fail_nth(_metadata, "fail_nth_alloc", OP_ALLOC, 0x9b1);
}

TEST_F_TIMEOUT(rel, fail_nth_restore, 1800)
{
	run_fail_nth(_metadata, "fail_nth_restore", OP_RESTORE, 0x9b2);
}

TEST_F_TIMEOUT(rel, fail_nth_consumer, 1800)
{
	run_fail_nth(_metadata, "fail_nth_consumer", OP_CONSUMER, 0x9b3);
}

/* ---- uAPI fuzz ---- */

#define FUZZ_THREADS	4
#define FUZZ_SLOTS	6

enum fuzz_kind {
	FZ_ALLOC, FZ_DESTROY, FZ_READ, FZ_WRITE, FZ_IOCTL, FZ_MMAP, FZ_CLOSE,
	FZ_KINDS
};

static const char *const fuzz_name[FZ_KINDS] = {
	"IOMMU_HW_QUEUE_ALLOC", "IOMMU_DESTROY", "read", "write", "ioctl",
	"mmap", "close",
};

/* A queue the threads share; @lock taken for writing to end it */
struct fuzz_slot {
	pthread_rwlock_t lock;
	bool live;
	uint32_t id;
	int evfd;		/* -1 once closed */
	uint64_t off, len;	/* its register page's mmap */
};

struct fuzz {
	struct vmm *v;
	struct fuzz_slot slot[FUZZ_SLOTS];
	double end;
	unsigned long calls[FZ_KINDS];	/* __atomic */
	unsigned long allocated;	/* __atomic */
};

struct fuzz_thread {
	struct fuzz *f;
	unsigned int seed;
};

static uint64_t rnd64(unsigned int *seed)
{
	return (uint64_t)rand_r(seed) << 33 ^ (uint64_t)rand_r(seed) << 11 ^
	       rand_r(seed);
}

static void rnd_fill(unsigned int *seed, void *p, size_t len)
{
	uint8_t *b = p;

	while (len--)
		*b++ = rand_r(seed);
}

/* A valid alloc with some of its fields, and its size, made up */
static void fuzz_alloc(struct fuzz *f, unsigned int *seed)
{
	struct {
		struct iommu_hw_queue_arm_smmuv3_cmdq_sw d;
		uint8_t tail[64];
	} buf;
	struct iommu_hw_queue_arm_smmuv3_cmdq_sw *d = &buf.d;
	struct iommu_hw_queue_alloc alloc;
	struct vmm *v = f->v;
	unsigned int i, n = rand_r(seed) % 4;
	int fds[5] = { v->vm.vm_fd, -1, v->st.iommufd, 0, 1000 };

	memset(&buf, 0, sizeof(buf));
	vmm_fill_alloc(v, d);
	vmm_fill_hw_queue_alloc(v, &alloc, d);
	alloc.index = rand_r(seed) % 3;
	for (i = 0; i < n; i++) {
		switch (rand_r(seed) % 16) {
		case 0: d->flags = rnd64(seed); break;
		case 1: d->layout = rand_r(seed) % 4; break;
		case 2: d->vm_fd = fds[rand_r(seed) % 5]; break;
		case 3: d->log2size = rand_r(seed) % 24; break;
		case 4: d->caps = rnd64(seed); break;
		case 5: d->irq_eventfd = fds[rand_r(seed) % 5]; break;
		case 6: d->gerror_eventfd = fds[rand_r(seed) % 5]; break;
		case 7: d->cons = rnd64(seed); d->prod = rnd64(seed); break;
		case 8: d->gerror = rnd64(seed); d->gerrorn = rnd64(seed); break;
		case 9: d->__reserved = rnd64(seed); break;
		case 10: d->reg_gpa = rnd64(seed); break;
		case 11: d->out_event_fd = rnd64(seed); break;
		case 12: rnd_fill(seed, buf.tail, sizeof(buf.tail)); break;
		case 13: alloc.data_len = rand_r(seed) % sizeof(buf); break;
		case 14: alloc.index = rnd64(seed); break;
		default:
			alloc.nesting_parent_iova = rnd64(seed) % RAM_SIZE;
			alloc.length = 1 << (rand_r(seed) % 20);
			break;
		}
	}
	alloc.data_uptr = (uintptr_t)&buf;
	if (ioctl(v->st.iommufd, IOMMU_HW_QUEUE_ALLOC, &alloc))
		return;
	__atomic_add_fetch(&f->allocated, 1, __ATOMIC_RELAXED);
	for (i = 0; i < FUZZ_SLOTS; i++) {
		struct fuzz_slot *s = &f->slot[i];

		if (pthread_rwlock_trywrlock(&s->lock))
			continue;
		if (!s->live) {
			s->live = true;
			s->id = alloc.out_hw_queue_id;
			s->evfd = d->out_event_fd;
			s->off = d->out_reg_mmap_offset;
			s->len = d->out_reg_mmap_length;
			pthread_rwlock_unlock(&s->lock);
			return;
		}
		pthread_rwlock_unlock(&s->lock);
	}
	destroy(v->st.iommufd, alloc.out_hw_queue_id);
	close(d->out_event_fd);
}

static void fuzz_end(struct fuzz *f, struct fuzz_slot *s, bool close_only)
{
	if (!s->live)
		return;
	if (s->evfd >= 0)
		close(s->evfd);
	s->evfd = -1;
	if (close_only)
		return;
	destroy(f->v->st.iommufd, s->id);
	s->live = false;
}

static void fuzz_on_slot(struct fuzz *f, struct fuzz_slot *s,
			 enum fuzz_kind k, unsigned int *seed)
{
	static const unsigned long cmds[] = {
		VCMDQ_SW_GET_STATS, VCMDQ_SW_SET_CONSUMER, VCMDQ_SW_PAUSE,
		VCMDQ_SW_UNPAUSE, VCMDQ_SW_GET_STATE, VCMDQ_SW_SET_STATE,
	};
	uint8_t buf[512];
	uint32_t size;
	struct pollfd p;
	void *m;

	if (!s->live || s->evfd < 0)
		return;
	rnd_fill(seed, buf, sizeof(buf));
	switch (k) {
	case FZ_READ:
		p = (struct pollfd){ .fd = s->evfd, .events = POLLIN };
		if (poll(&p, 1, 0) == 1)
			(void)!read(s->evfd, buf, rand_r(seed) % 80);
		break;
	case FZ_WRITE:
		if (rand_r(seed) & 1)	/* an answer to no EXIT, or to one */
			memset(buf, 0, 4);
		(void)!write(s->evfd, buf, rand_r(seed) % 40);
		break;
	case FZ_IOCTL: {
		unsigned long cmd = cmds[rand_r(seed) % 6];
		const uint32_t sizes[] = {
			sizeof(struct vcmdq_sw_stats), sizeof(struct vcmdq_sw_state),
			sizeof(struct vcmdq_sw_consumer_mode), 0, 4, 8,
			rand_r(seed) % 512, 0xffffffff,
		};

		if (rand_r(seed) % 8 == 0)
			cmd = _IO(VCMDQ_SW_TYPE, rand_r(seed) % 0x40);
		size = sizes[rand_r(seed) % 8];
		memcpy(buf, &size, 4);
		if (rand_r(seed) % 2)		/* a version that exists */
			buf[4] = 1, buf[5] = buf[6] = buf[7] = 0;
		if (rand_r(seed) % 16 == 0)
			(void)!ioctl(s->evfd, cmd, (void *)8);
		else
			(void)!ioctl(s->evfd, cmd, buf);
		break;
	}
	case FZ_MMAP: {
		uint64_t off = s->off + (int64_t)(rand_r(seed) % 5 - 2) * 4096;
		size_t len = (rand_r(seed) % 3) * s->len;

		m = mmap(NULL, len, PROT_READ | (rand_r(seed) & 1 ? PROT_WRITE : 0),
			 MAP_SHARED, f->v->st.iommufd, off);
		if (m != MAP_FAILED)
			munmap(m, len);
		break;
	}
	default:
		break;
	}
}

static void *fuzz_thread(void *arg)
{
	struct fuzz_thread *t = arg;
	struct fuzz *f = t->f;

	while (now_s() < f->end) {
		enum fuzz_kind k = rand_r(&t->seed) % FZ_KINDS;
		struct fuzz_slot *s = &f->slot[rand_r(&t->seed) % FUZZ_SLOTS];

		__atomic_add_fetch(&f->calls[k], 1, __ATOMIC_RELAXED);
		switch (k) {
		case FZ_ALLOC:
			fuzz_alloc(f, &t->seed);
			break;
		case FZ_DESTROY:
		case FZ_CLOSE:
			pthread_rwlock_wrlock(&s->lock);
			if (k == FZ_DESTROY && rand_r(&t->seed) % 4 == 0) {
				/* anything's id but the vIOMMU's and vDEVICE's */
				uint32_t id = rand_r(&t->seed) % 64;

				if (id != f->v->st.viommu_id &&
				    id != f->v->st.vdev_id)
					(void)!destroy(f->v->st.iommufd, id);
			} else {
				fuzz_end(f, s, k == FZ_CLOSE);
			}
			pthread_rwlock_unlock(&s->lock);
			break;
		default:
			pthread_rwlock_rdlock(&s->lock);
			fuzz_on_slot(f, s, k, &t->seed);
			pthread_rwlock_unlock(&s->lock);
			break;
		}
	}
	return NULL;
}

TEST_F_TIMEOUT(rel, uapi_fuzz_threads, 1800)
{
	const unsigned int secs = stress() ? 300 : 20;
	const uint32_t seed = pick_seed();
	struct fuzz_thread ft[FUZZ_THREADS];
	pthread_t t[FUZZ_THREADS];
	unsigned long total = 0;
	struct fuzz f = {};
	double t0 = now_s();
	int fds, i, left;
	struct vmm v;

	printf("# uapi_fuzz_threads: seed 0x%x (VCMDQ_SEED), %u threads, %u s\n",
	       seed, FUZZ_THREADS, secs);
	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	fds = count_fds();
	f.v = &v;
	f.end = t0 + secs;
	for (i = 0; i < FUZZ_SLOTS; i++)
		ASSERT_EQ(0, pthread_rwlock_init(&f.slot[i].lock, NULL));
	for (i = 0; i < FUZZ_THREADS; i++) {
		ft[i] = (struct fuzz_thread){ .f = &f, .seed = seed + i };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, fuzz_thread, &ft[i]));
	}
	while (now_s() < f.end) {
		sleep(1);
		if ((int)(now_s() - t0) % 30 == 0) {
			printf("# progress: uapi_fuzz_threads: %.0f of %u s\n",
			       now_s() - t0, secs);
			fflush(stdout);
		}
	}
	for (i = 0; i < FUZZ_THREADS; i++)
		pthread_join(t[i], NULL);
	for (i = 0, left = 0; i < FUZZ_SLOTS; i++) {
		left += f.slot[i].live;
		fuzz_end(&f, &f.slot[i], false);
	}
	EXPECT_EQ(fds, count_fds()) TH_LOG("files left behind");
	printf("# uapi_fuzz_threads: %.1f s:", now_s() - t0);
	for (i = 0; i < FZ_KINDS; i++) {
		printf(" %s %lu,", fuzz_name[i], f.calls[i]);
		total += f.calls[i];
	}
	printf(" %lu calls in all, %lu queues allocated (%d live at the end)\n",
	       total, f.allocated, left);
	EXPECT_LT(0UL, f.allocated) TH_LOG("no alloc ever succeeded");
	/* and the vIOMMU takes a queue that works */
	EXPECT_EQ(0, queue_works(&v, 0x9b4));
	printf("# trace-expect uapi_fuzz_threads: invalidate asid=%d vmid=\\d+\n",
	       0x9b4);
	reliability("uapi_fuzz_threads", total,
		    _metadata->exit_code == KSFT_FAIL, now_s() - t0);
	vmm_teardown(&v);
}

/* ---- scale: several VMs, each with several queues ---- */

#define SCALE_VMS	8	/* at most; 4 in make check */
#define SCALE_QUEUES	4
#define SCALE_LOG2SIZE	8
#define SCALE_RES(j)	(RES_GPA + (j) * 0x9000UL)
#define SCALE_SCRIPT(j)	(SCRIPT_GPA + (j) * 0x100UL)

struct scale_vm;

struct scale_vcpu {
	struct scale_vm *vm;
	int fd;
	struct kvm_run *run;
	pthread_t t;
	bool started;
	bool stop;		/* __atomic */
	bool done;		/* __atomic */
	int err;
};

/* A VM of its own, on a vIOMMU of its own (its own S2, so its own VMID) */
struct scale_vm {
	struct kvm_vm vm;
	uint8_t *ram;
	uint32_t ioas, s2, viommu;
	uint32_t hwq[SCALE_QUEUES];
	int evfd[SCALE_QUEUES];
	void *regs;
	size_t regs_len;
	struct scale_vcpu cpu[SCALE_QUEUES];
};

static uint16_t scale_asid(unsigned int k, unsigned int j)
{
	return 0xa00 + k * 16 + j;
}

static void *scale_vcpu_run(void *arg)
{
	struct scale_vcpu *c = arg;

	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		if (ioctl(c->fd, KVM_RUN, 0)) {
			if (errno == EINTR)
				continue;
			c->err = -errno;
			return NULL;
		}
		if (c->run->exit_reason != KVM_EXIT_MMIO)
			continue;
		if (c->run->mmio.phys_addr == REG_GPA + REG_DONE) {
			__atomic_store_n(&c->done, true, __ATOMIC_RELEASE);
			return NULL;
		}
		c->err = -EPROTO;	/* nothing else exits */
		return NULL;
	}
	return NULL;
}

/* vCPU @j of @s runs guest_cmdq on queue @j, @nrun batches */
static int scale_vcpu_start(struct scale_vm *s, unsigned int j,
			    unsigned int nrun)
{
	struct scale_vcpu *c = &s->cpu[j];
	const uint32_t blk = j * 0x80;
	const uint64_t regs[12] = {
		REG_GPA, nrun, SCALE_RES(j), SCALE_SCRIPT(j),
		QUEUE_GPA + j * (16UL << SCALE_LOG2SIZE), SCALE_LOG2SIZE,
		blk + 0x04, blk + 0x00, blk + 0x10, blk + 0x14, 1, blk + 0x00,
	};
	int ret;

	c->vm = s;
	ret = kvm_vcpu_add(&s->vm, j, 0, regs, 12, &c->fd, &c->run);
	if (ret)
		return ret;
	if (pthread_create(&c->t, NULL, scale_vcpu_run, c))
		return -EAGAIN;
	c->started = true;
	return 0;
}

static int scale_vm_setup(struct scale_vm *s, struct vmm *v, unsigned int k)
{
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.length = RAM_SIZE,
	};
	struct iommu_hwpt_alloc s2 = {
		.size = sizeof(s2), .flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
		.dev_id = v->st.dev_id,
	};
	struct iommu_viommu_alloc viommu = {
		.size = sizeof(viommu), .type = IOMMU_VIOMMU_TYPE_ARM_SMMUV3,
		.dev_id = v->st.dev_id,
	};
	const int fd = v->st.iommufd;
	unsigned int j;
	int ret;

	memset(s, 0, sizeof(*s));
	for (j = 0; j < SCALE_QUEUES; j++)
		s->evfd[j] = -1;
	ret = kvm_vm_create(&s->vm);
	if (ret)
		return ret;
	s->ram = kvm_vm_add_slot(&s->vm, 0, RAM_SIZE, 0);
	if (!s->ram)
		return -ENOMEM;
	if (ioctl(fd, IOMMU_IOAS_ALLOC, &ioas))
		return -errno;
	s->ioas = ioas.out_ioas_id;
	map.ioas_id = s->ioas;
	map.user_va = (uintptr_t)s->ram;
	if (ioctl(fd, IOMMU_IOAS_MAP, &map))
		return -errno;
	s2.pt_id = s->ioas;
	if (ioctl(fd, IOMMU_HWPT_ALLOC, &s2))
		return -errno;
	s->s2 = s2.out_hwpt_id;
	viommu.hwpt_id = s->s2;
	if (ioctl(fd, IOMMU_VIOMMU_ALLOC, &viommu))
		return -errno;
	s->viommu = viommu.out_viommu_id;

	memcpy(s->ram, guest_cmdq_start, guest_cmdq_end - guest_cmdq_start);
	for (j = 0; j < SCALE_QUEUES; j++) {
		struct iommu_hw_queue_arm_smmuv3_cmdq_sw d = {
			.layout = VCMDQ_SW_LAYOUT_TEGRA241,
			.vm_fd = s->vm.vm_fd, .log2size = SCALE_LOG2SIZE,
			.caps = VCMDQ_SW_CAP_MSI, .irq_eventfd = -1,
			.gerror_eventfd = -1, .reg_gpa = REG_GPA,
			.out_event_fd = -1,
		};
		struct iommu_hw_queue_alloc alloc = {
			.size = sizeof(alloc), .viommu_id = s->viommu,
			.type = IOMMU_HW_QUEUE_TYPE_ARM_SMMUV3_CMDQ_SW,
			.index = j,
			.nesting_parent_iova = QUEUE_GPA +
					       j * (16UL << SCALE_LOG2SIZE),
			.length = 16UL << SCALE_LOG2SIZE,
			.data_len = sizeof(d), .data_uptr = (uintptr_t)&d,
		};
		struct vmm_cmd c[2] = {
			cmd_tlbi_nh_asid(scale_asid(k, j)), cmd_sync(),
		};
		const uint32_t hdr[4] = { 2, 0, 0, 0 };

		if (ioctl(fd, IOMMU_HW_QUEUE_ALLOC, &alloc))
			return -errno;
		s->hwq[j] = alloc.out_hw_queue_id;
		s->evfd[j] = d.out_event_fd;
		if (!j) {
			s->regs_len = d.out_reg_mmap_length;
			s->regs = mmap(NULL, s->regs_len, PROT_READ | PROT_WRITE,
				       MAP_SHARED, fd, d.out_reg_mmap_offset);
			if (s->regs == MAP_FAILED) {
				s->regs = NULL;
				return -errno;
			}
			ret = kvm_vm_add_slot_mem(&s->vm, REG_GPA, s->regs_len,
						  KVM_MEM_READONLY, s->regs);
			if (ret)
				return ret;
		}
		memcpy(s->ram + SCALE_SCRIPT(j), hdr, sizeof(hdr));
		memcpy(s->ram + SCALE_SCRIPT(j) + 16, c, sizeof(c));
	}
	return 0;
}

static void scale_vm_teardown(struct scale_vm *s, int fd)
{
	int j;

	for (j = 0; j < SCALE_QUEUES; j++) {
		struct scale_vcpu *c = &s->cpu[j];

		if (c->started) {
			__atomic_store_n(&c->stop, true, __ATOMIC_RELEASE);
			pthread_kill(c->t, SIGUSR1);
			pthread_join(c->t, NULL);
		}
		if (c->run)
			munmap(c->run, s->vm.run_size);
		if (c->fd > 0)
			close(c->fd);
	}
	kvm_vm_destroy(&s->vm);
	if (s->regs)
		munmap(s->regs, s->regs_len);
	/* tegra241's order: the highest index first */
	for (j = SCALE_QUEUES - 1; j >= 0; j--) {
		if (s->evfd[j] < 0)
			continue;
		destroy(fd, s->hwq[j]);
		close(s->evfd[j]);
	}
	if (s->viommu)
		destroy(fd, s->viommu);
	if (s->s2)
		destroy(fd, s->s2);
	if (s->ioas)
		destroy(fd, s->ioas);
	if (s->ram)
		munmap(s->ram, RAM_SIZE);
}

TEST_F_TIMEOUT(rel, scale_vms_queues, 1800)
{
	const unsigned int nrun = stress() ? 2000 : 100;
	const unsigned int nvms = stress() ? SCALE_VMS : 4;
	struct sigaction sa = { .sa_handler = on_usr1 };
	static struct scale_vm vms[SCALE_VMS];
	unsigned int k, j, failures = 0, done = 0;
	double t0 = now_s(), deadline;
	struct vmm v;
	int fds;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, vmm_setup(&v, VMM_FAST, VCMDQ_SW_LAYOUT_SMMUV3, 8));
	fds = count_fds();
	for (k = 0; k < nvms; k++)
		ASSERT_EQ(0, scale_vm_setup(&vms[k], &v, k))
			TH_LOG("VM %u", k);
	for (k = 0; k < nvms; k++)
		for (j = 0; j < SCALE_QUEUES; j++)
			ASSERT_EQ(0, scale_vcpu_start(&vms[k], j, nrun));
	deadline = now_s() + 600;
	while (done < nvms * SCALE_QUEUES && now_s() < deadline) {
		usleep(20000);
		for (k = 0, done = 0; k < nvms; k++)
			for (j = 0; j < SCALE_QUEUES; j++)
				done += __atomic_load_n(&vms[k].cpu[j].done,
							__ATOMIC_ACQUIRE) ||
					vms[k].cpu[j].err;
	}
	for (k = 0; k < nvms; k++) {
		for (j = 0; j < SCALE_QUEUES; j++) {
			struct scale_vcpu *c = &vms[k].cpu[j];
			uint64_t res[3];

			memcpy(res, vms[k].ram + SCALE_RES(j), sizeof(res));
			if (!c->done || c->err || res[0] || res[2] != nrun) {
				failures++;
				TH_LOG("VM %u queue %u: %s, err %d, status 0x%llx, %llu of %u batches",
				       k, j, c->done ? "done" : "not done",
				       c->err, (unsigned long long)res[0],
				       (unsigned long long)res[2], nrun);
			}
		}
		printf("# trace-same scale#vm%u: %u: IOTLB invalidate asid=(%u|%u|%u|%u) vmid=(?P<vmid>\\d+)\\b\n",
		       k, SCALE_QUEUES * nrun, scale_asid(k, 0),
		       scale_asid(k, 1), scale_asid(k, 2), scale_asid(k, 3));
	}
	printf("# scale_vms_queues: %u VMs x %u queues (tegra241 layout, one vIOMMU and S2 per VM), %u batches each, %.1f s\n",
	       nvms, SCALE_QUEUES, nrun, now_s() - t0);
	for (k = 0; k < nvms; k++)
		scale_vm_teardown(&vms[k], v.st.iommufd);
	EXPECT_EQ(fds, count_fds()) TH_LOG("files left behind");
	EXPECT_EQ(0U, failures);
	reliability("scale_vms_queues", nvms * SCALE_QUEUES * nrun,
		    failures, now_s() - t0);
	vmm_teardown(&v);
}

TEST_HARNESS_MAIN
