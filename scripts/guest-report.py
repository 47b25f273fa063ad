#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Results of one real-guest boot (scripts/guest.sh).

    scripts/guest-report.py check|bench SERIAL_LOG SMMU_TRACE JSON_OUT

SERIAL_LOG is L0's serial console, each line stamped with the host's wall
clock ("SECONDS LINE"); L1 and L2 speak through lines starting with
"VCMDQ-L1 " and "VCMDQ-L2 " (tests/guest/l1-init.sh, l2-init.sh).

check: prints the guests' own results as TAP ("ok - guest: NAME ...") and
checks QEMU's L0 SMMU trace (log backend, "PID@SECONDS.USEC:event args"):
  l2_trace_vmid   every invalidation L0 executed after L2 started carries
                  one VMID, the host's (not 0, what the L2 driver writes),
                  and every StreamID is one of L1's (never an L2 vSID)
  l2_trace_count  TLBI_NH_VA executed at L0 == TLBI_NH_VA L2 issued to its
                  vSMMU (L1 QEMU's own trace) == range invalidations at L0
                  with the host VMID
bench: writes JSON_OUT and prints the table. exits_per_unmap is the L1
VMM's user-space exits (KVM mmio_exit_user) in a benchmark window, less
those of an empty window (the markers' own console output), divided by the
unmaps L2 counted with the iommu:unmap tracepoint. A window whose counters
L1 could not read ("user=unreadable"), or a missing empty window, gives no
figure and fails l2_bench_figures.

Every result of EXPECTED[mode] must be in the log: one that is not (L2
never booted, a program died before its line) is a "not ok" naming it.

    scripts/guest-report.py check|bench SERIAL_LOG SMMU_TRACE JSON_OUT RUNS

RUNS (comma-separated, e.g. trap,sw-main) are the L2 runs of one L1 boot
(tests/guest/l1-init.sh): L1 starts each with "VCMDQ-L1 RUN NAME", and the
results of run NAME are named qemu_NAME_... (l2_dma_integrity becomes
qemu_NAME_integrity, the other l2_X qemu_NAME_X; "-" and "." become "_").
Each run's L0 trace window runs from its start to the next run's. A run
whose path is sw-main is counted by what vcmdq-sw in L1 sent to the SMMU
(KCMDS), since its commands never pass through QEMU; a run of RUNS that
is not in the log fails all its expected results. Without RUNS, the log
is one run of the old form and the names stay l2_X.
Exit status 0; the TAP lines carry the verdicts.
"""
import json
import os
import re
import sys

# L1's BDFs 00:01.0, 00:02.0; L2 sees them at 00:03.0 and 00:04.0, and
# has an emulated root port at 00:05.0 (tests/guest/l1-init.sh).
PSIDS = {0x8, 0x10}
VSIDS = {0x18, 0x20, 0x28}
GRANULE = {1: "4K", 4: "16K", 16: "64K", 64: "256K"}
# Published dma_map_benchmark figures on NVIDIA Grace (HW QUEUE series v9
# cover letter, 2025): 4K unmap, trapped vs on a HW VCMDQ, avg us.
GRACE = {1: {"trap": 35.7, "hw_vcmdq": 5.3}, 2: {"trap": 96.9, "hw_vcmdq": 6.8}}

# The results a complete run reports, in the order it reports them.
GUEST = ["l2_boot", "l2_smmu_probe", "l2_dma_integrity", "l2_dma_map_benchmark"]
EXPECTED = {
    "check": GUEST + ["l2_trace_vmid", "l2_trace_count"],
    "bench": GUEST + ["l2_nvme_latency", "l2_bench_figures"],
}

# SMMUv3 command opcodes (the kernel's vcmdq_sw_exit prints them in hex,
# QEMU's smmuv3_cmdq_opcode by name).
OPS = {0x01: "PREFETCH_CONFIG", 0x02: "PREFETCH_ADDR", 0x03: "CFGI_STE",
       0x04: "CFGI_STE_RANGE", 0x05: "CFGI_CD", 0x06: "CFGI_CD_ALL",
       0x10: "TLBI_NH_ALL", 0x11: "TLBI_NH_ASID", 0x12: "TLBI_NH_VA",
       0x13: "TLBI_NH_VAA", 0x28: "TLBI_S12_VMALL", 0x2a: "TLBI_S2_IPA",
       0x30: "TLBI_NSNH_ALL", 0x40: "ATC_INV", 0x41: "PRI_RESP", 0x44: "RESUME",
       0x45: "STALL_TERM", 0x46: "SYNC"}

# More results a run of the sw-main path reports (issue 19).
SW_MAIN = ["exit_order", "reset", "unknown_sid"]
# A run of the sw-tegra241 path (issue 21): its _boot also covers the
# guest's CMDQV driver (L2's l2_cmdqv_probe and the queues L1 saw), and
# _queues stands for _trace_count.
SW_TEGRA241 = ["queues", "error", "no_module", "reset"]

tap = []
seen = set()
# the run whose results are being read (None: a log of one unnamed run)
cur_run = None


def run_id(run):
    return re.sub(r"[-.]", "_", run)


def rename(name, run):
    """l2_X of run RUN -> qemu_RUN_X (l2_dma_integrity -> qemu_RUN_integrity)."""
    if run is None:
        return name
    base = name[3:] if name.startswith("l2_") else name
    base = {"dma_integrity": "integrity"}.get(base, base)
    return f"qemu_{run_id(run)}_{base}"


def expected(mode, runs):
    if runs is None:
        return EXPECTED[mode]
    names = []
    for r in runs:
        base = EXPECTED[mode]
        if mode == "check" and r == "sw-tegra241":
            base = [n for n in base if n != "l2_trace_count"] + SW_TEGRA241
        names += [rename(n, r) for n in base]
        if mode == "check" and r == "sw-main":
            names += [rename(n, r) for n in SW_MAIN + ["no_module"]]
    return names


def result(ok, name, detail):
    name = rename(name, cur_run)
    seen.add(name)
    tap.append(f"{'ok' if ok else 'not ok'} - guest: {name}: {detail}")


def kv(line):
    return {k: v for k, v in re.findall(r"(\w+)=(\S+)", line)}


def parse_log(path):
    lines = []
    with open(path, errors="replace") as f:
        for raw in f:
            stamp, _, text = raw.rstrip("\n").partition(" ")
            try:
                lines.append((float(stamp), text.rstrip("\r")))
            except ValueError:
                lines.append((0.0, raw.rstrip("\n")))
    return lines


def guest_results(lines):
    global cur_run
    run = cur_run
    for _, text in lines:
        m = re.match(r"^VCMDQ-L([12]) ((?:not )?ok) - (\w+): ?(.*)$", text)
        if m:
            # L1's own results are named already
            cur_run = run if m.group(1) == "2" else None
            result(m.group(2) == "ok", m.group(3), m.group(4))
            cur_run = run
        elif re.match(r"^VCMDQ-L[12] # ", text):
            tap.append("# " + text.split(" # ", 1)[1])


def split_runs(lines):
    """[(run, lines)] by L1's "RUN NAME" lines; what comes before the first
    one (L1's boot, the floor, no_module) is run None."""
    out = [(None, [])]
    for stamp, text in lines:
        m = re.match(r"^VCMDQ-L1 RUN (\S+)$", text)
        if m:
            out.append((m.group(1), []))
        out[-1][1].append((stamp, text))
    return out


def l2_start(lines):
    for stamp, text in lines:
        if text.startswith("VCMDQ-L1 # starting L2"):
            return stamp
    return None


def check_trace(lines, trace_path, end=float("inf"), sw=False, start=None,
                tegra=False):
    start = l2_start(lines) if start is None else start
    l1, kcmds = {}, None
    kqueues = [kv(text) for _, text in lines if text.startswith("VCMDQ-L1 KQUEUE ")]
    for _, text in lines:
        m = re.match(r"^VCMDQ-L1 (L2TLBI|L2CMDS) (\d+)$", text)
        if m:
            l1[m.group(1)] = int(m.group(2))
        elif text.startswith("VCMDQ-L1 KCMDS "):
            kcmds = {k: int(v) for k, v in kv(text).items()}
        elif text.startswith(("VCMDQ-L1 KEXITS", "VCMDQ-L1 QOPS")):
            l1[text.split()[1]] = text.split()[2:]
    count = "queues" if tegra else "l2_trace_count"
    if start is None:
        result(False, "l2_trace_vmid", "L1 never started L2")
        result(False, count, "L1 never started L2")
        return
    vmids, sids, tlbi, tlbi_asid, inval = {}, {}, 0, 0, {}
    try:
        with open(trace_path, errors="replace") as f:
            for raw in f:
                m = re.match(r"^\d+@(\d+\.\d+):(\w+) ?(.*)$", raw.rstrip("\n"))
                if not m or not start <= float(m.group(1)) < end:
                    continue
                event, args = m.group(2), m.group(3)
                a = kv(args)
                if event.startswith(("smmuv3_range_inval", "smmu_iotlb_inv")) \
                        and "vmid" in a:
                    v = int(a["vmid"], 0)
                    vmids[v] = vmids.get(v, 0) + 1
                    if event == "smmuv3_range_inval":
                        inval[v] = inval.get(v, 0) + 1
                if "sid" in a:
                    s = int(a["sid"], 0)
                    sids[s] = sids.get(s, 0) + 1
                if event == "smmuv3_cmdq_opcode" and args.endswith("SMMU_CMD_TLBI_NH_VA"):
                    tlbi += 1
                if event == "smmuv3_cmdq_opcode" and args.endswith("SMMU_CMD_TLBI_NH_ASID"):
                    tlbi_asid += 1
    except OSError as e:
        result(False, "l2_trace_vmid", f"no L0 trace: {e}")
        result(False, count, f"no L0 trace: {e}")
        return

    fmt = lambda d: ", ".join(f"{k:#x}: {v}" for k, v in sorted(d.items())) or "none"
    host = [v for v in vmids if v != 0]
    ok = len(vmids) == 1 and len(host) == 1 and set(sids) <= PSIDS and not set(sids) & VSIDS
    result(ok, "l2_trace_vmid",
           f"L0 invalidations by VMID {{{fmt(vmids)}}}, StreamIDs {{{fmt(sids)}}}"
           f" (L1's pSIDs {sorted(hex(s) for s in PSIDS)}; L2's vSIDs"
           f" {sorted(hex(s) for s in VSIDS)} must never reach L0)")
    vmid = host[0] if len(host) == 1 else None
    if tegra:
        tegra_queues(l1, kcmds, kqueues, tlbi, tlbi_asid, inval.get(vmid, 0),
                     cmdqv_vcmdqs(lines))
        return
    if sw:
        exit_order(l1, kcmds)
        # sw-main: the guest's commands go from its queue to the SMMU in
        # vcmdq-sw (KCMDS: what the kernel's batches carried), none
        # through QEMU's CMDQ emulation (L2TLBI 0); every TLBI_NH_VA at L0
        # is one range invalidation with the host VMID
        k = kcmds or {}
        ok = (kcmds is not None and k.get("cmds", 0) > 0 and k.get("failed") == 0
              and k.get("errors", 0) == 0
              and k.get("lost") == 0 and l1.get("L2TLBI") == 0 and tlbi > 0
              and inval.get(vmid) == tlbi and tlbi <= k["cmds"])
        result(ok, "l2_trace_count",
               f"vcmdq-sw sent {k.get('cmds')} commands in {k.get('batches')} batches"
               f" ({k.get('failed')} failed, {k.get('errors', 0)} CERROR, {k.get('exits')} exits to"
               f" QEMU, trace lost"
               f" {k.get('lost')}); QEMU's CMDQ saw {l1.get('L2TLBI')} TLBI_NH_VA;"
               f" L0 executed {tlbi} TLBI_NH_VA, {inval.get(vmid, 0)} range invalidations"
               f" with the host VMID")
        return
    want = l1.get("L2TLBI")
    ok = want is not None and want > 0 and tlbi == want and inval.get(vmid) == want
    result(ok, "l2_trace_count",
           f"L2 issued {want} TLBI_NH_VA to its vSMMU (of {l1.get('L2CMDS')} commands);"
           f" L0 executed {tlbi} TLBI_NH_VA, {inval.get(vmid, 0)} range invalidations"
           f" with the host VMID")


# cmdqv-vcmdqs= of each run's QEMU, for its -reset segment (one QEMU)
VCMDQS = {}


def cmdqv_vcmdqs(lines):
    """The LVCMDQs L1 gave the run's CMDQV (cmdqv-vcmdqs= of its SMMU)."""
    path = (cur_run or "").split("-reset")[0]
    for _, text in lines:
        m = re.search(r"cmdqv-vcmdqs=(\d+)", text)
        if text.startswith("VCMDQ-L1 # starting L2") and m:
            VCMDQS[path] = int(m.group(1))
    return VCMDQS.get(path)


def tegra_queues(l1, kcmds, kqueues, tlbi, tlbi_asid, inval_host, n):
    """sw-tegra241: the guest's invalidations went through its LVCMDQs,
    which vcmdq-sw ran: the kernel's per-queue counters (fdinfo of each
    queue's event file, read by L1 before L2 shut down) show more than one
    of the LVCMDQs L2's CPUs pick carrying commands (the last one is the
    error test's: it does not count), all of the tegra241 layout; QEMU's
    own CMDQ (the trap path) saw no TLBI_NH_VA; every TLBI_NH_VA L0
    executed is a range invalidation with the host VMID; and every
    invalidation the queues issued reached L0 once: the commands they
    issued (vcmdq_host_cmds: all but the CMD_SYNCs they completed and the
    illegal one) are exactly the TLBI_NH_VA and TLBI_NH_ASID L0 executed
    in the run's window. Nothing failed or was lost."""
    k = kcmds or {}
    used = {int(q.get("vcmdq_index", -1)): int(q.get("vcmdq_cmds", 0)) for q in kqueues}
    issued = sum(int(q.get("vcmdq_host_cmds", -1)) for q in kqueues)
    busy = [i for i, c in used.items() if c > 0 and n is not None and i < n - 1]
    tegra = all(q.get("vcmdq_layout") == "tegra241" for q in kqueues)
    ok = (len(busy) > 1 and tegra and kcmds is not None and k.get("failed") == 0
          and k.get("lost") == 0 and l1.get("L2TLBI") == 0 and tlbi > 0
          and inval_host == tlbi and issued == tlbi + tlbi_asid)
    result(ok, "queues",
           f"commands per LVCMDQ {{{', '.join(f'{i}: {c}' for i, c in sorted(used.items()))}}}"
           f" ({len(busy)} used by L2's CPUs, layouts {sorted({q.get('vcmdq_layout') for q in kqueues})});"
           f" they issued {issued} to the SMMU; L0 executed {tlbi} TLBI_NH_VA +"
           f" {tlbi_asid} TLBI_NH_ASID, {inval_host} range invalidations with the host VMID;"
           f" QEMU's CMDQ saw {l1.get('L2TLBI')} TLBI_NH_VA; vcmdq-sw's batches: {k.get('cmds')}"
           f" commands, {k.get('failed')} failed, trace lost {k.get('lost')}")


def tegra_fold(seg, mark):
    """sw-tegra241: qemu_sw_tegra241_boot holds L2's boot, its CMDQV
    driver's probe (l2_cmdqv_probe) and the LVCMDQs L1 saw as vcmdq-sw
    queues; qemu_sw_tegra241_error holds L2's error test and the kernel's
    count of it: one CERROR on the last LVCMDQ, none on the others."""
    def take(name):
        """Remove the run's result NAME from tap[mark:] and return it."""
        full = rename(name, cur_run)
        for i in range(mark, len(tap)):
            if tap[i].split(" - guest: ", 1)[-1].split(":")[0] == full:
                seen.discard(full)
                return tap.pop(i)
        return None

    n = cmdqv_vcmdqs(seg)
    kq = [kv(text) for _, text in seg if text.startswith("VCMDQ-L1 KQUEUE ")]
    boot, probe = take("l2_boot"), take("l2_cmdqv_probe")
    idx = sorted(int(q.get("vcmdq_index", -1)) for q in kq)
    okq = n is not None and idx == list(range(n)) and all(
        q.get("vcmdq_layout") == "tegra241" for q in kq)
    if boot is not None or probe is not None:
        ok = (boot or "").startswith("ok") and (probe or "").startswith("ok") and okq
        detail = lambda t, w: (t.split(" - guest: ", 1)[1].split(": ", 1)[-1] if t
                               else f"({w} missing)")
        result(ok, "l2_boot", f"{detail(boot, 'l2_boot')}; CMDQV: {detail(probe, 'l2_cmdqv_probe')};"
               f" L1's QEMU holds {len(kq)} vcmdq-sw queues, LVCMDQs {idx} (expected {n})")
    err = take("l2_error")
    if err is not None:
        errs = {int(q.get("vcmdq_index", -1)): int(q.get("vcmdq_errors", -1)) for q in kq}
        want = {i: (1 if n is not None and i == n - 1 else 0) for i in errs}
        ok = err.startswith("ok") and bool(errs) and errs == want
        result(ok, "l2_error", f"{err.split(' - guest: ', 1)[1].split(': ', 1)[-1]};"
               f" kernel CERRORs per LVCMDQ {errs} (expected one on the last)")


def reset_result(run, seg, results):
    """qemu_RUN_reset: after L2 rebooted (QEMU reset the vSMMU, the queue
    was torn down and made again) every check of the second boot passed,
    the queue carried commands again, and once QEMU exited vcmdq_sw.ko
    held no reference (nothing leaked)."""
    global cur_run
    bad = [t.split(" - guest: ", 1)[1].split(":")[0] for t in results
           if t.startswith("not ok")]
    good = [t for t in results if t.startswith("ok")]
    ref = next((text.split()[3] for _, text in seg
                if text.startswith("VCMDQ-L1 MODREF vcmdq_sw ")), None)
    count = "queues" if run == "sw-tegra241" else "l2_trace_count"
    need = {rename(n, run + "-reset") for n in ("l2_boot", "l2_dma_integrity", count)}
    have = {t.split(" - guest: ", 1)[1].split(":")[0] for t in good}
    # (a run off the sw paths may have no module loaded at all: "-")
    ok = not bad and need <= have and (
        ref == "0" or (ref == "-" and run not in ("sw-main", "sw-tegra241")))
    cur_run = run
    result(ok, "reset", f"second boot after a reset: {len(good)} ok, failed {bad or 'none'},"
           f" missing {sorted(need - have) or 'none'}; vcmdq_sw references after QEMU"
           f" exited: {ref}")
    cur_run = None


def exit_order(l1, kcmds):
    """sw-main: the commands vcmdq-sw stopped at (vcmdq_sw_exit, ring
    order) are exactly the ones QEMU ran, in the same order; some are
    CFGI_STE/CFGI_CD, and invalidations went to the SMMU in the same run."""
    if "KEXITS" not in l1 or "QOPS" not in l1:
        result(False, "exit_order", "L1 printed no KEXITS/QOPS (no vcmdq_sw trace)")
        return
    kx = [OPS.get(int(o, 16), o) for o in l1["KEXITS"]]
    qo = l1["QOPS"]
    cfgi = sum(1 for o in kx if o.startswith("CFGI_"))
    first = next((i for i, (a, b) in enumerate(zip(kx, qo)) if a != b), min(len(kx), len(qo)))
    ok = kx == qo and cfgi > 0 and (kcmds or {}).get("cmds", 0) > 0
    result(ok, "exit_order",
           f"{len(kx)} commands exited ({cfgi} CFGI), QEMU ran {len(qo)}"
           + ("" if kx == qo else f", first difference at #{first}:"
              f" exited {kx[first:first + 3]}, QEMU {qo[first:first + 3]}")
           + f"; {(kcmds or {}).get('cmds', 0)} commands to the SMMU meanwhile")


def bench(lines, out):
    rows, floor, exits, nvme = {}, {}, {}, None
    for _, text in lines:
        if text.startswith("VCMDQ-L2 RUN "):
            name = text.split()[2]
            rows[name] = kv(text)
        elif text.startswith("VCMDQ-L1 FLOOR "):
            floor[text.split()[2]] = kv(text)
        elif text.startswith("VCMDQ-L1 EXITS "):
            exits[text.split()[2]] = kv(text)
        elif text.startswith("VCMDQ-L2 VCMDQ-BENCH "):
            nvme = json.loads(text.split(" ", 2)[2])["nvme_4k_read_us"]
    def count(name):
        """The user exits of window NAME, None if missing or unreadable."""
        v = exits.get(name, {}).get("user")
        return int(v) if v is not None and re.fullmatch(r"-?\d+", v) else None

    null = count("null")
    no_exits = []

    def row(name, r, with_exits):
        d = {"granule": GRANULE.get(int(r["granule"]), r["granule"]),
             "granule_pages": int(r["granule"]), "threads": int(r["threads"]),
             "map_avg_us": float(r["map_avg"]), "map_sd_us": float(r["map_sd"]),
             "unmap_avg_us": float(r["unmap_avg"]), "unmap_sd_us": float(r["unmap_sd"]),
             "unmaps": int(r["unmaps"])}
        n = count(name)
        if with_exits and n is not None and null is not None and d["unmaps"] > 0:
            d["exits_user"] = n - null
            d["exits_per_unmap"] = round(d["exits_user"] / d["unmaps"], 3)
        elif with_exits:
            no_exits.append(name)
        return d

    data = {
        "description": "dma_map_benchmark (avg and sd as the tool prints them, us) in an "
                       "L2 Linux guest under QEMU 11.1 (accel vSMMU, trap path) and directly "
                       "in L1 on the same SMMU; exits are the L1 VMM's user-space exits",
        "paths": {"trap": [row(n, r, True) for n, r in rows.items()]},
        "l1_floor": [row(n, r, False) for n, r in floor.items()],
        "nvme_4k_read_us": {"trap": nvme},
        "exits_null_window": null,
        "grace_published_us": GRACE,
    }
    with open(out, "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")

    fl = {(d["granule_pages"], d["threads"]): d for d in data["l1_floor"]}
    print("dma_map_benchmark, avg +- sd in us (trap = L2 under stock QEMU 11.1;"
          " floor = the same unmap issued directly in L1)")
    print(f"{'granule':>8} {'thr':>3} {'trap map':>14} {'trap unmap':>16} {'exits/unmap':>11}"
          f" {'floor unmap':>14} {'trap/floor':>10}")
    for d in data["paths"]["trap"]:
        f_ = fl.get((d["granule_pages"], d["threads"]))
        fu = f"{f_['unmap_avg_us']:.1f} +- {f_['unmap_sd_us']:.1f}" if f_ else "-"
        ratio = f"{d['unmap_avg_us'] / f_['unmap_avg_us']:.0f}x" if f_ and f_["unmap_avg_us"] else "-"
        print(f"{d['granule']:>8} {d['threads']:>3} "
              f"{d['map_avg_us']:>6.1f} +- {d['map_sd_us']:<5.1f} "
              f"{d['unmap_avg_us']:>7.1f} +- {d['unmap_sd_us']:<6.1f} "
              f"{d.get('exits_per_unmap', float('nan')):>11.2f} {fu:>14} {ratio:>10}")
    if nvme:
        print(f"NVMe 4K O_DIRECT read in L2 (strict mode): p50 {nvme['p50']} us,"
              f" mean {nvme['mean']} us, p99 {nvme['p99']} us over {nvme['reads']} reads")
    print(f"Grace, published (4K unmap avg): trap {GRACE[1]['trap']} us, HW VCMDQ"
          f" {GRACE[1]['hw_vcmdq']} us; 2 threads {GRACE[2]['trap']} / {GRACE[2]['hw_vcmdq']} us")
    print(f"written to {out}")
    why = ""
    if null is None:
        why += f"; empty window's exits {exits.get('null', {}).get('user', 'missing')}"
    if no_exits:
        why += "; no exits per unmap for " + ", ".join(
            f"{n} ({exits.get(n, {}).get('user', 'no EXITS line')})" for n in no_exits)
    ok = bool(data["paths"]["trap"]) and not no_exits
    result(ok, "l2_bench_figures", f"{len(data['paths']['trap'])} L2 runs,"
           f" {len(data['l1_floor'])} L1 floor runs, NVMe latency {'yes' if nvme else 'missing'}"
           + why)


def bench_runs(segs, runs, out):
    """bench of several runs: one row set per run, the L1 floor, the table
    with the runs side by side; JSON_OUT only if every run gave figures."""
    global cur_run
    floor = {}
    for _, text in segs[0][1]:
        if text.startswith("VCMDQ-L1 FLOOR "):
            floor[text.split()[2]] = kv(text)

    def mk(r):
        return {"granule": GRANULE.get(int(r["granule"]), r["granule"]),
                "granule_pages": int(r["granule"]), "threads": int(r["threads"]),
                "map_avg_us": float(r["map_avg"]), "map_sd_us": float(r["map_sd"]),
                "unmap_avg_us": float(r["unmap_avg"]), "unmap_sd_us": float(r["unmap_sd"]),
                "unmap_us": {"avg": float(r["unmap_avg"]), "sd": float(r["unmap_sd"])},
                "unmaps": int(r["unmaps"])}

    paths, nvmes, complete = {}, {}, True
    for run, seg in segs[1:]:
        rows, exits, nvme = {}, {}, None
        for _, text in seg:
            if text.startswith("VCMDQ-L2 RUN "):
                rows[text.split()[2]] = kv(text)
            elif text.startswith("VCMDQ-L1 EXITS "):
                exits[text.split()[2]] = kv(text)
            elif text.startswith("VCMDQ-L2 VCMDQ-BENCH "):
                nvme = json.loads(text.split(" ", 2)[2])["nvme_4k_read_us"]

        def count(name):
            v = exits.get(name, {}).get("user")
            return int(v) if v is not None and re.fullmatch(r"-?\d+", v) else None

        null, data, no_exits = count("null"), [], []
        for name, r in rows.items():
            d = mk(r)
            n = count(name)
            if n is not None and null is not None and d["unmaps"] > 0:
                d["exits_user"] = n - null
                d["exits_per_unmap"] = round(d["exits_user"] / d["unmaps"], 3)
            else:
                no_exits.append(name)
            if nvme:
                d["nvme_4k_read_us"] = {"p50": nvme["p50"], "p99": nvme["p99"]}
            data.append(d)
        paths[run], nvmes[run] = data, nvme
        cur_run = run
        why = ""
        if null is None:
            why += f"; empty window's exits {exits.get('null', {}).get('user', 'missing')}"
        if no_exits:
            why += "; no exits per unmap for " + ", ".join(no_exits)
        if not nvme:
            why += "; no NVMe latency"
        ok = bool(data) and not no_exits and nvme is not None
        complete = complete and ok
        result(ok, "l2_bench_figures", f"{len(data)} L2 runs, NVMe latency"
               f" {'yes' if nvme else 'missing'}" + why)
        cur_run = None
    missing = [r for r in runs if r not in paths]
    fl = {(d["granule_pages"], d["threads"]): d for d in (mk(r) for r in floor.values())}

    order = [r for r in runs if r in paths]
    print("dma_map_benchmark unmap per path (L2 under L1's QEMU): avg +- sd in us and"
          " the L1 VMM's user exits per unmap; floor = the same unmap issued directly in L1")
    print(f"{'granule':>8} {'thr':>3} " + " ".join(f"{r:>24}" for r in order)
          + f" {'floor':>14}")
    keys = sorted({(d["granule_pages"], d["threads"]) for r in order for d in paths[r]},
                  key=lambda k: (k[1], k[0]))
    for k in keys:
        cells = []
        for r in order:
            d = next((d for d in paths[r] if (d["granule_pages"], d["threads"]) == k), None)
            cells.append(f"{d['unmap_avg_us']:7.1f} +- {d['unmap_sd_us']:<6.1f} {d.get('exits_per_unmap', float('nan')):5.2f}"
                         if d else "-")
        f_ = fl.get(k)
        fu = f"{f_['unmap_avg_us']:.1f} +- {f_['unmap_sd_us']:.1f}" if f_ else "-"
        print(f"{GRANULE.get(k[0], k[0]):>8} {k[1]:>3} " + " ".join(f"{c:>24}" for c in cells)
              + f" {fu:>14}")
    for r in order:
        n = nvmes[r]
        if n:
            print(f"NVMe 4K O_DIRECT read in L2 (strict), {r}: p50 {n['p50']} us,"
                  f" p99 {n['p99']} us over {n['reads']} reads")
    print(f"Grace, published (4K unmap avg): trap {GRACE[1]['trap']} us, HW VCMDQ"
          f" {GRACE[1]['hw_vcmdq']} us; 2 threads {GRACE[2]['trap']} / {GRACE[2]['hw_vcmdq']} us")
    if complete and not missing:
        data = {
            "description": "dma_map_benchmark (avg and sd as the tool prints them, us) in an "
                           "L2 Linux guest under QEMU in L1 (accel vSMMU) per path, and "
                           "directly in L1 on the same SMMU (l1_floor); exits are the L1 "
                           "VMM's user-space exits (KVM mmio_exit_user) per unmap",
            "paths": paths,
            "l1_floor": [mk(r) for r in floor.values()],
            "nvme_4k_read_us": nvmes,
            "grace_published_us": GRACE,
        }
        # a failed run writes nothing: the file appears whole or not at all
        tmp = out if out == "/dev/null" else out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
        if tmp != out:
            os.replace(tmp, out)
        print(f"written to {out}")
    else:
        print(f"no figures written: {', '.join(missing) or 'no run'} missing"
              if missing else "no figures written: a run gave no complete figures")


# --- two physical SMMUs, two vSMMUs (scripts/guest.sh multi, multi-bench)
# L1's StreamIDs of the e1000e and the NVMe, each behind its own SMMU, and
# the first SMMU's root port (tests/guest/l1-multi.sh)
MULTI_PSID = {"e1000e": 0x1100, "nvme": 0x2100}
MULTI = ["qemu_multi_vsmmu_boot", "qemu_multi_vsmmu_integrity",
         "qemu_multi_vsmmu_isolation", "qemu_multi_vsmmu_teardown"]
MULTI_BENCH = ["qemu_multi_bench_figures"]
def multi_trace_blocks(path):
    """L0's SMMU trace (11.1's log backend: "ISO-TIME event args") as
    command blocks: one smmuv3_cmdq_consume line per command (with its
    queue index and wrap) up to smmuv3_cmdq_consume_out. Each SMMU's
    consume runs whole under QEMU's lock, so blocks do not interleave."""
    import datetime
    out, cur = [], None
    with open(path, errors="replace") as f:
        for raw in f:
            m = re.match(r"^(\S+Z) (\w+) ?(.*)$", raw.rstrip("\n"))
            if not m:
                continue
            t, ev, a = m.groups()
            if ev == "smmuv3_cmdq_consume":
                d = dict(re.findall(r"([\w.]+)=(\w+)", a))
                pos = (int(d["cons.wrap"]), int(d["cons"]))
                if cur is None:
                    # (QEMU leaves the fraction out when it is .000000)
                    stamp = datetime.datetime.fromisoformat(
                        t.replace("Z", "+00:00")).timestamp()
                    cur = {"t": stamp, "first": pos, "cmds": []}
                cur["cmds"].append({"pos": pos, "op": None, "ev": []})
            elif ev == "smmuv3_cmdq_consume_out":
                d = dict(re.findall(r"(\w+):(\d+)", a))
                if cur:
                    cur["last"] = (int(d["cons_wrap"]), int(d["cons"]))
                    out.append(cur)
                cur = None
            elif cur and cur["cmds"]:
                c = cur["cmds"][-1]
                if ev == "smmuv3_cmdq_opcode":
                    c["op"] = a.split("SMMU_CMD_")[-1]
                else:
                    c["ev"].append((ev, dict(re.findall(r"(\w+)= ?(0x[0-9a-f]+|\d+)", a))))
    return out


def multi_chains(blocks):
    """Split L0's blocks between its two SMMUs by queue index: each SMMU's
    next block starts where its last one ended. Both start at 0, so an
    index both are at is ambiguous; such blocks are listed (with their
    time), never guessed from their content, which is what is checked."""
    pos = [(0, 0), (0, 0)]
    chains, ambiguous, lost = [[], []], [], []
    for b in blocks:
        cand = [k for k in (0, 1) if pos[k] == b["first"]]
        if not cand:
            lost.append(b)
            continue
        if len(cand) == 2:
            ambiguous.append(b)
        k = cand[0]
        pos[k] = b["last"]
        chains[k].append(b)
    return chains, ambiguous, lost


def multi_summary(chain, t0, t1):
    """What one SMMU executed in [t0, t1): commands by opcode, StreamIDs,
    the VMIDs and ASIDs of its stage-1 invalidations (TLBI_NH_*), and the
    VMIDs of its stage-2 ones (TLBI_S12_VMALL, TLBI_S2_IPA: the L1
    kernel's own, on the nesting parent, i.e. the vIOMMU's VMID)."""
    ops, sids, vmids, asids, s2 = {}, {}, {}, {}, {}

    def add(acc, v):
        acc[v] = acc.get(v, 0) + 1
    for b in chain:
        if not t0 <= b["t"] < t1:
            continue
        for c in b["cmds"]:
            op = c["op"] or "?"
            add(ops, op)
            for ev, d in c["ev"]:
                for key in ("streamid", "sid"):
                    if key in d:
                        add(sids, int(d[key], 0))
                if op.startswith("TLBI_NH_"):
                    if "vmid" in d and ev != "smmu_iotlb_inv_vmid_s1":
                        add(vmids, int(d["vmid"], 0))
                    if "asid" in d and ev == "smmuv3_range_inval" or \
                            ev == "smmuv3_cmdq_tlbi_nh_asid":
                        add(asids, int(d["asid"], 0))
                elif op in ("TLBI_S12_VMALL", "TLBI_S2_IPA") and "vmid" in d:
                    add(s2, int(d["vmid"], 0))
    return ops, sids, vmids, asids, s2


def multi_check(lines, trace_path):
    l2, qalloc, qfree, queues, qcmds, ends, qviommu = {}, {}, {}, [], {}, {}, {}
    start = end = l0_start = l1_up = None
    results = {}
    for stamp, text in lines:
        if text.startswith("L0-START"):
            l0_start = stamp
        elif "VCMDQ-L1 # L1 up" in text and l1_up is None:
            l1_up = stamp
        elif text.startswith("VCMDQ-L1 # starting L2"):
            start = stamp
        elif text.startswith("VCMDQ-L2 MULTI"):
            key, _, rest = text[len("VCMDQ-L2 "):].partition(" ")
            l2[key] = kv(rest)
        elif text.startswith("VCMDQ-L1 QALLOC "):
            d = kv(text)
            qalloc[d["q"]] = int(d["gpa"], 0)
            qviommu[d["q"]] = d.get("viommu")
        elif text.startswith("VCMDQ-L1 QFREE "):
            qfree[kv(text)["q"]] = stamp
        elif text.startswith("VCMDQ-L1 QUEUES "):
            queues.append(kv(text))
        elif text.startswith("VCMDQ-L1 QCMDS-END "):
            end = ends[text.split()[2]] = stamp
        elif text.startswith("VCMDQ-L1 QCMDS "):
            name = text.split()[2]
            d = kv(text)
            qcmds.setdefault(name, {})[d["q"]] = d
        elif re.match(r"^VCMDQ-L2 (not )?ok - l2_boot", text):
            results["l2_boot"] = text.startswith("VCMDQ-L2 ok")
    if l0_start and l1_up:
        tap.append(f"# multi: L0 (sid's amd64 QEMU 11.1.3, UEFI) start to L1 /init"
                   f" {l1_up - l0_start:.1f}s")

    # which queue is whose: the vSMMU L2 found each device behind is named
    # after its registers' address, the address QEMU gave the queue
    m = l2.get("MULTI", {})
    dev = {}
    for name in ("e1000e", "nvme"):
        mm = re.match(r"^(\S+)@smmu3\.(0x[0-9a-f]+):(\S+)$", m.get(name, ""))
        if mm:
            gpa = int(mm.group(2), 0)
            dev[name] = {"bdf": mm.group(1), "gpa": gpa, "type": mm.group(3),
                         "q": next((q for q, g in qalloc.items() if g == gpa), None)}
    first_live = queues[0].get("live") if queues else None
    ok = (results.get("l2_boot") is True and m.get("smmus") == "2" and len(dev) == 2
          and dev["e1000e"]["gpa"] != dev["nvme"]["gpa"]
          and all(d["type"].startswith("DMA") and d["q"] for d in dev.values())
          and dev["e1000e"]["q"] != dev["nvme"]["q"] and first_live == "2"
          and None not in (qviommu.get(d["q"]) for d in dev.values())
          and qviommu[dev["e1000e"]["q"]] != qviommu[dev["nvme"]["q"]])
    result(ok, "qemu_multi_vsmmu_boot",
           f"L2 sees {m.get('smmus', '?')} SMMUs; "
           + ", ".join(f"{n} {d['bdf']} on the vSMMU at {d['gpa']:#x} ({d['type']}),"
                       f" queue {d['q']} on vIOMMU {qviommu.get(d['q'])}" for n, d in dev.items())
           + f"; L1: {len(qalloc)} queues made, {first_live} alive when L2 asked")

    # both devices at once, and both queues carried commands meanwhile
    dma = l2.get("MULTI-DMA", {})
    qd = qcmds.get("dma", {})
    per = {n: qd.get(d["q"], {}) for n, d in dev.items()}
    ok = (dma.get("nvme") == "ok" and dma.get("e1000e_bench") == "ok" and len(dev) == 2
          and all(int(p.get("cmds", 0)) > 0 and p.get("failed") == "0"
                  and p.get("errors") == "0" for p in per.values()))
    result(ok, "qemu_multi_vsmmu_integrity",
           f"NVMe dmacheck {dma.get('nvme', 'missing')} while dma_map_benchmark on the"
           f" e1000e {dma.get('e1000e_bench', 'missing')} ({dma.get('unmaps', '?')} unmaps);"
           + "".join(f" {n}'s queue sent {p.get('cmds', '?')} commands ({p.get('failed', '?')}"
                     f" failed, {p.get('errors', '?')} CERROR);" for n, p in per.items()))

    # teardown: the e1000e left L2, its queue went, the NVMe's went on
    # (the NVMe's queue goes only once L2 is done and QEMU exits)
    up = l2.get("MULTI-UNPLUG", {})
    after = l2.get("MULTI-AFTER", {})
    qa = qcmds.get("after", {})
    eq, nq = (dev.get("e1000e", {}).get("q"), dev.get("nvme", {}).get("q"))
    live_after = queues[1].get("live") if len(queues) > 1 else None
    t_after = ends.get("after")
    # (freed before L2 went on: at the unplug, not when QEMU exits)
    e_gone = eq in qfree and qfree[eq] <= ends.get("unplug", float("-inf"))
    ok = (eq is not None and nq is not None and e_gone and live_after == "1"
          and up.get("slot_off") == "0" and after.get("nvme") == "ok"
          and int(qa.get(nq, {}).get("cmds", 0)) > 0 and eq not in qa
          and t_after is not None and qfree.get(nq, float("inf")) > t_after)
    result(ok, "qemu_multi_vsmmu_teardown",
           f"e1000e unbound, removed and its slot powered off in L2 (exit"
           f" {up.get('slot_off', '?')}): its queue {eq} {'freed' if e_gone else 'NOT freed'},"
           f" {live_after} queue(s) alive; then NVMe dmacheck {after.get('nvme', 'missing')},"
           f" its queue {nq} sent {qa.get(nq, {}).get('cmds', 0)} commands"
           f" ({'alive' if qfree.get(nq, float('inf')) > (t_after or 0) else 'freed'} till the end),"
           f" queue {eq} {qa.get(eq, {}).get('cmds', 0)}")

    # isolation: L0's trace of each physical SMMU from L2's start on (QEMU's
    # exit included) for who saw what; counts from the moment both queues
    # existed and L2 waited (summary "boot") to the last summary, the
    # window L1's per-queue counts cover
    t0, t1 = ends.get("boot"), ends.get("after")
    if start is None or t0 is None or t1 is None or len(dev) != 2:
        result(False, "qemu_multi_vsmmu_isolation", "no L2 window (L2 did not get to the end)")
        return
    try:
        chains, ambiguous, lost = multi_chains(multi_trace_blocks(trace_path))
    except OSError as e:
        result(False, "qemu_multi_vsmmu_isolation", f"no L0 trace: {e}")
        return
    amb = [b for b in ambiguous if start <= b["t"]]
    lst = [b for b in lost if start <= b["t"]]
    sums = [multi_summary(c, t0, t1) for c in chains]
    # from L2's start on (QEMU's exit included): the StreamIDs each SMMU
    # saw, and the VMID of its stage-2 invalidations
    whole = [multi_summary(c, start, float("inf")) for c in chains]
    refs = [w[4] for w in whole]
    # an SMMU is the one whose device's StreamID it carries (L1 itself
    # installs that device's STEs there); each must carry exactly one
    label = {}
    for k, w in enumerate(whole):
        for name, psid in MULTI_PSID.items():
            if psid in w[1]:
                label.setdefault(name, set()).add(k)
    why, detail = [], []
    if amb or lst:
        why.append(f"{len(amb)} ambiguous and {len(lst)} unattributable command blocks")
    if len(label) != 2 or any(len(v) != 1 for v in label.values()) \
            or label["e1000e"] == label["nvme"]:
        why.append(f"the devices' StreamIDs are not one per SMMU ({label})")
    fmt = lambda d: "{" + ", ".join(f"{k:#x}: {v}" for k, v in sorted(d.items())) + "}"
    asid_sets = {}
    for name, psid in MULTI_PSID.items():
        if len(label.get(name, ())) != 1:
            continue
        k = next(iter(label[name]))
        ops = sums[k][0]
        _, sids, vmids, asids, ref = whole[k]
        q = dev[name]["q"]
        win = [w for w in qcmds if w != "boot"]
        ktl = sum(int(qcmds[w].get(q, {}).get("tlbi", 0)) for w in win)
        kunk = sum(int(qcmds[w].get(q, {}).get("unknown", 0)) for w in win)
        ltl = sum(n for o, n in ops.items() if o.startswith("TLBI_NH_"))
        asid_sets[name] = set(asids)
        detail.append(f"{name}'s SMMU: StreamIDs {fmt(sids)}, stage-1 TLBI VMIDs {fmt(vmids)},"
                      f" its nesting parent's (stage-2 TLBI) VMID {sorted(ref)}, ASIDs"
                      f" {sorted(asids)}, {ltl} TLBI_NH_* = queue {q}'s {ktl}"
                      + (f" (+{kunk} not known)" if kunk else ""))
        if set(sids) != {psid}:
            why.append(f"{name}'s SMMU saw StreamIDs {sorted(hex(s) for s in sids)}")
        if len(ref) != 1 or not vmids or set(vmids) != set(ref):
            why.append(f"{name}'s SMMU: stage-1 VMIDs {sorted(vmids)}, its vIOMMU's {sorted(ref)}")
        if ltl == 0 or not ktl <= ltl <= ktl + kunk:
            why.append(f"{name}'s SMMU executed {ltl} TLBI_NH_*, its queue sent {ktl}"
                       + (f" + up to {kunk}" if kunk else ""))
    if len(asid_sets) == 2:
        both = asid_sets["e1000e"] & asid_sets["nvme"]
        if both or not all(asid_sets.values()):
            why.append(f"ASIDs on both SMMUs (or none): {sorted(both)}")
    result(not why, "qemu_multi_vsmmu_isolation",
           "; ".join(detail) + (" -- " + "; ".join(why) if why else ""))


def multi_bench(lines, out):
    data = None
    for _, text in lines:
        if text.startswith("VCMDQ-L2 MULTI-BENCH "):
            try:
                data = json.loads(text.split(" ", 2)[2])
            except ValueError:
                data = None
    need = ("e1000e_alone", "e1000e_both", "nvme_alone", "nvme_both")
    if not data or any(not data.get(k) for k in need):
        result(False, "qemu_multi_bench_figures", f"incomplete: {data}; no figures written")
        return
    ea, eb = data["e1000e_alone"]["unmap_avg"], data["e1000e_both"]["unmap_avg"]
    na = data["nvme_alone"]["nvme_4k_read_us"]["p50"]
    nb = data["nvme_both"]["nvme_4k_read_us"]["p50"]
    bad = data["nvme_alone"]["nvme_4k_read_us"]["mismatched_blocks"] + \
        data["nvme_both"]["nvme_4k_read_us"]["mismatched_blocks"]
    fig = {"e1000e_dma_map_benchmark_4k_1t_unmap_us": {"alone": ea, "both": eb,
                                                       "ratio": round(eb / ea, 2)},
           "nvme_4k_read_p50_us": {"alone": na, "both": nb, "ratio": round(nb / na, 2)},
           "target_ratio": 1.3, "raw": data}
    # the control (L2's other vCPU busy, no DMA): what sharing the host's
    # two cores costs by itself
    ec = (data.get("e1000e_beside_cpu_loop") or {}).get("unmap_avg")
    if ec:
        fig["e1000e_dma_map_benchmark_4k_1t_unmap_us"]["beside_cpu_loop"] = ec
        fig["e1000e_dma_map_benchmark_4k_1t_unmap_us"]["control_ratio"] = round(ec / ea, 2)
    fig["pass"] = fig["e1000e_dma_map_benchmark_4k_1t_unmap_us"]["ratio"] <= 1.3 and \
        fig["nvme_4k_read_p50_us"]["ratio"] <= 1.3
    print("two vSMMUs (each its own vcmdq-sw queue on its own SMMU), alone vs both at once:")
    print(f"  e1000e dma_map_benchmark 4K 1 thread unmap avg: {ea:.1f} us alone, {eb:.1f} us"
          f" both ({eb / ea:.2f}x)")
    print(f"  NVMe 4K O_DIRECT read p50: {na:.1f} us alone, {nb:.1f} us both ({nb / na:.2f}x)")
    if ec:
        print(f"  control: e1000e unmap avg beside a busy loop on L2's other vCPU (no DMA):"
              f" {ec:.1f} us ({ec / ea:.2f}x alone)")
    print(f"  {'PASS' if fig['pass'] else 'MISS'} both at once no worse than 1.3x alone")
    result(bad == 0, "qemu_multi_bench_figures", f"{bad} mismatched blocks in the NVMe reads")
    if bad:
        print("no figures written: the NVMe reads were not intact")
        return
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(fig, f, indent=1)
        f.write("\n")
    os.replace(tmp, out)
    print(f"written to {out}")


def multi_main(mode, log, trace, out):
    global cur_run
    lines = parse_log(log)
    cur_run = "multi"   # L2's l2_boot is qemu_multi_boot
    guest_results(lines)
    cur_run = None
    if mode == "multi":
        multi_check(lines, trace)
    else:
        multi_bench(lines, out)
    for name in (MULTI if mode == "multi" else MULTI_BENCH):
        if name not in seen:
            result(False, name, f"missing from the log (a {mode} run reports it)")
    for t in tap:
        print(t)
    return 0


def main():
    if len(sys.argv) == 6 and sys.argv[1] in ("multi", "multi-bench"):
        return multi_main(*sys.argv[1:5])
    if len(sys.argv) not in (5, 6) or sys.argv[1] not in ("check", "bench"):
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    global cur_run
    mode, log, trace, out = sys.argv[1:5]
    lines = parse_log(log)
    if len(sys.argv) == 5:
        runs = None
        guest_results(lines)
        if mode == "check":
            check_trace(lines, trace)
        else:
            bench(lines, out)
    else:
        runs = [r for r in sys.argv[5].split(",") if r]
        segs = split_runs(lines)
        guest_results(segs[0][1])
        for i, (run, seg) in enumerate(segs[1:], 1):
            cur_run = run
            mark = len(tap)
            guest_results(seg)
            path = run.split("-reset")[0]
            if mode == "check" and path == "sw-tegra241":
                tegra_fold(seg, mark)
            if mode == "check":
                end = segs[i + 1][1][0][0] if i + 1 < len(segs) else float("inf")
                check_trace(seg, trace, end, path == "sw-main",
                            seg[0][0] if run.endswith("-reset") else None,
                            path == "sw-tegra241")
            cur_run = None
            if run.endswith("-reset"):
                reset_result(run[:-len("-reset")], seg, tap[mark:])
        if mode == "bench":
            bench_runs(segs, runs, out)
    for name in expected(mode, runs):
        if name not in seen:
            result(False, name, f"missing from the log (a {mode} run reports it)")
    for t in tap:
        print(t)
    return 0


if __name__ == "__main__":
    sys.exit(main())
