# SPDX-License-Identifier: GPL-2.0
#
# vcmdq-sw: everything but the kernel module build (that is ./Kbuild,
# driven by scripts/vm.sh against the test kernel).
#
#   make bench        the main benchmark: a Linux L2 guest under the patched
#                     QEMU on the trap path and on vcmdq-sw (and Debian's
#                     QEMU 11.1.3), then bench-vm, then the engine alone;
#                     build/bench.json, build/bench.png
#   make bench-engine only tools/vcmdq-bench (user space)
#   make bench-vm     the kernel fast path against the trap path in the VM
#   make bench-guest  only the real guest: dma_map_benchmark, NVMe
#                     latency, exits per unmap (build/bench-guest.json)
#   make check        install what it needs, run every test (user space and
#                     the arm64 VM); ends with "N passed, N failed"
#   make check-user   only the user-space tests (no kernel, no VM)
#   make check-vm     only the VM tests
#   make stress       the reliability tests' long forms on the debug kernel,
#                     and their table (build/reliability.json)
#   make fuzz FUZZ_SECONDS=600   a longer fuzzing run
#   make insn         callgrind instructions per command on the fast path
#   make mutate       tests/mutants/list: each deliberate breakage applied to
#                     a scratch copy must make the test named for it fail
#                     (engine mutants in user space, kernel ones in the VM;
#                     not part of check); ends with "N passed, N failed"

CC	?= gcc
CLANG	?= clang
B	:= build
CFLAGS	:= -O2 -g -std=gnu11 -Wall -Wextra -Werror
# The engine includes kernel headers only: tools/vcmdq-sw/include stands in
# for them (<linux/errno.h> is the system's uapi header). Includes across
# directories name the file from the repository root.
CPPFLAGS := -Itools/vcmdq-sw/include -I.
FUZZ_SECONDS ?= 20

ENGINE	:= $(addprefix drivers/iommu/vcmdq-sw/,engine.c policy.c sidmap.c)
EHDRS	:= $(wildcard drivers/iommu/vcmdq-sw/*.h) \
	   $(wildcard tools/vcmdq-sw/include/linux/*.h)
MODEL	:= tests/model/smmu_model.c tests/prop/scenario.c
MHDRS	:= tests/model/smmu_model.h tests/prop/scenario.h tests/lib/tap.h
BENCH	:= $(addprefix tools/vcmdq-bench/,bench.c harness.c replay.c)

USER_BINS := $(B)/unit_test $(B)/prop_test $(B)/fuzz_engine $(B)/vcmdq-bench \
	     $(B)/harness_test

.PHONY: all deps-user deps-kernel bench bench-engine bench-vm bench-guest check check-user check-vm stress \
	fuzz insn mutate clean

all: $(USER_BINS)

deps-user:
	@scripts/bootstrap.sh user

deps-kernel:
	@scripts/bootstrap.sh kernel

$(B):
	@mkdir -p $(B)

$(B)/unit_test: tests/unit/unit_test.c tests/vectors/vectors.c \
		tests/vectors/vectors.h $(ENGINE) $(EHDRS) | $(B)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ tests/unit/unit_test.c \
		tests/vectors/vectors.c $(ENGINE)

$(B)/prop_test: tests/prop/prop_test.c $(MODEL) $(MHDRS) $(ENGINE) $(EHDRS) | $(B)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ tests/prop/prop_test.c $(MODEL) $(ENGINE)

$(B)/fuzz_engine: tests/fuzz/fuzz_engine.c $(MODEL) $(MHDRS) $(ENGINE) $(EHDRS) | $(B)
	$(CLANG) $(CPPFLAGS) -g -O1 -Wall -Wextra -Werror \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o $@ tests/fuzz/fuzz_engine.c $(MODEL) $(ENGINE)

$(B)/vcmdq-bench: $(BENCH) tools/vcmdq-bench/harness.h $(ENGINE) $(EHDRS) | $(B)
	$(CC) $(CPPFLAGS) $(CFLAGS) -pthread -o $@ $(BENCH) $(ENGINE) -luring

$(B)/harness_test: tests/unit/harness_test.c tools/vcmdq-bench/harness.c \
		tools/vcmdq-bench/harness.h $(ENGINE) $(EHDRS) | $(B)
	$(CC) $(CPPFLAGS) $(CFLAGS) -pthread -o $@ tests/unit/harness_test.c \
		tools/vcmdq-bench/harness.c $(ENGINE) -luring

bench: deps-user deps-kernel
	@$(MAKE) --no-print-directory $(B)/vcmdq-bench
	@scripts/bench.sh

bench-engine: deps-user
	@$(MAKE) --no-print-directory $(B)/vcmdq-bench
	$(B)/vcmdq-bench --json $(B)/bench-engine.json

bench-vm: deps-kernel
	@scripts/bench-vm.sh

bench-guest: deps-kernel | $(B)
	@scripts/guest.sh bench

check-user: deps-user
	@$(MAKE) --no-print-directory $(USER_BINS)
	@scripts/run-tests.sh user

stress: deps-kernel
	@scripts/stress.sh

check-vm: deps-user deps-kernel
	@$(MAKE) --no-print-directory $(USER_BINS)
	@scripts/run-tests.sh vm

check: deps-user deps-kernel
	@$(MAKE) --no-print-directory $(USER_BINS)
	@scripts/run-tests.sh all

fuzz: deps-user
	@$(MAKE) --no-print-directory $(B)/fuzz_engine
	@mkdir -p $(B)/corpus
	$(B)/fuzz_engine -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(B)/ \
		$(B)/corpus tests/fuzz/seeds

$(B)/insn_count: tests/perf/insn_count.c $(ENGINE) $(EHDRS) | $(B)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ tests/perf/insn_count.c $(ENGINE)

# Instructions per TLBI_NH_VA on the fast path (64-command batches), callgrind.
insn: deps-user $(B)/insn_count
	@valgrind --tool=callgrind --callgrind-out-file=$(B)/callgrind.out \
		--toggle-collect=vcmdq_process $(B)/insn_count >$(B)/insn.txt 2>&1
	@cmds=$$(awk '/commands/ { print $$1 }' $(B)/insn.txt); \
	 ir=$$(awk '/Collected/ { print $$4 }' $(B)/insn.txt); \
	 echo "vcmdq_process: $$ir instructions / $$cmds TLBI_NH_VA = $$(echo "scale=2; $$ir / $$cmds" | bc) per command (incl. the backend's read)"

mutate: deps-user deps-kernel | $(B)
	@scripts/mutate.sh

clean:
	rm -rf $(B)
