#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The figures of `make bench-vm`: tests/fastpath's trap_vs_fast and vcpus2
as scripts/vm.sh prints them ("# vm fastpath_test: bench-json {...}").

    scripts/bench-vm-json.py LOG VM_STATUS OUT

LOG is scripts/vm.sh's output, VM_STATUS its exit status. A run that
failed (status not 0, a "not ok" line, figures missing) writes no JSON: OUT
is removed, the reason printed, exit 1. Otherwise OUT gets

  streams.<stream>.<mode>   p50_us, p99_us; exits_per_batch only when the
                            test counts that stream's exits on its own
                            ("stream_exits" and "stream_batches")
  modes.<mode>              exits_per_batch_all_streams: the run's
                            user-space exits over all its batches, the
                            three streams together
  host_issue.<stream>       p50_us, p99_us (the IOMMU_HWPT_INVALIDATE
                            ioctl, its syscall included)
  floor_store               p50_us, p99_us (an empty PROD store)
  ratios.<stream>           trap/inline p50 and p99, inline p50 over
                            floor_store + host_issue p50
  vcpus2.<mode>.<n>vcpu     p50_us, p99_us, exits_per_batch, owner_wait_us,
                            gathered, less_wait_p50_us/_p99_us
  vcpus2.<mode>.ratio_2_over_1_p50 (and _p99)
  samples                   how many samples each percentile is taken from
                            and which sample p99 is
  targets                   the targets of issue 10, each with its figures
                            and "pass" true/false

and the targets are printed, one "PASS" or "MISS" line each. They are
figures, not assertions: a MISS does not fail the run (exit 0).
"""
import json
import os
import re
import sys

PREFIX = "# vm fastpath_test: "
FAST = ("worker", "worker+poll", "inline")


def fail(out, why):
    if os.path.exists(out):
        os.remove(out)
    print(f"bench-vm: {why}: no JSON written")
    return 1


def rank(n):
    """Which sample p99 is: the tests take sorted[n * 99 / 100]."""
    top = n - n * 99 // 100
    nth = {1: "largest", 2: "2nd largest", 3: "3rd largest"}.get(top, f"{top}th largest")
    return f"the {nth} of {n}"


def parse(lines):
    out = {"streams": {}, "modes": {}, "host_issue": {}, "floor_store": None,
           "ratios": {}, "vcpus2": {}}
    rounds = mp_rounds = None
    for line in lines:
        line = line.rstrip("\n")
        if not line.startswith(PREFIX):
            continue
        body = line[len(PREFIX):]
        m = re.match(r"bench: (\d+) rounds of 3 batches", body)
        if m:
            rounds = int(m.group(1))
        m = re.match(r"bench: vcpus2: .*, (\d+) batches per vCPU", body)
        if m:
            mp_rounds = int(m.group(1))
        if not body.startswith("bench-json "):
            continue
        row = json.loads(body[len("bench-json "):])
        fig = {k: row[k] for k in ("p50_us", "p99_us") if k in row}
        sec = row["section"]
        if sec == "streams":
            if "stream_exits" in row and row.get("stream_batches"):
                fig["exits_per_batch"] = round(
                    row["stream_exits"] / row["stream_batches"], 3)
            out["streams"].setdefault(row["stream"], {})[row["mode"]] = fig
            if "exits_per_batch" in row:
                mode = out["modes"].setdefault(row["mode"], {})
                mode["exits_per_batch_all_streams"] = row["exits_per_batch"]
        elif sec == "host_issue":
            fig["includes"] = "the IOMMU_HWPT_INVALIDATE ioctl, its syscall entry and exit"
            out["host_issue"][row["stream"]] = fig
        elif sec == "vcpus2":
            fig.update({k: row[k] for k in ("exits_per_batch", "owner_wait_us",
                                            "gathered", "less_wait_p50_us",
                                            "less_wait_p99_us") if k in row})
            mode = out["vcpus2"].setdefault(row["mode"], {})
            mode[f'{row["vcpus"]}vcpu'] = fig
        elif sec == "floor_store":
            fig["what"] = "an empty PROD store: doorbell and empty inline turn"
            out["floor_store"] = fig
    return out, rounds, mp_rounds


def ratios(out):
    floor = out["floor_store"]["p50_us"]
    for stream, modes in out["streams"].items():
        trap, inl = modes.get("trap"), modes.get("inline")
        hi = out["host_issue"].get(stream)
        if not trap or not inl or not hi:
            continue
        out["ratios"][stream] = {
            "trap_over_inline_p50": round(trap["p50_us"] / inl["p50_us"], 2),
            "trap_over_inline_p99": round(trap["p99_us"] / inl["p99_us"], 2),
            "inline_over_floor_plus_host_issue_p50":
                round(inl["p50_us"] / (floor + hi["p50_us"]), 2),
        }
    for mode in out["vcpus2"].values():
        one, two = mode.get("1vcpu"), mode.get("2vcpu")
        if one and two:
            for q in ("p50", "p99"):
                mode[f"ratio_2_over_1_{q}"] = round(
                    two[f"{q}_us"] / one[f"{q}_us"], 2)


def targets(out):
    """Issue 10's targets, each (name, pass, figures)."""
    t = []
    floor = out["floor_store"]["p50_us"]
    for s, modes in out["streams"].items():
        inl, trap, hi = modes.get("inline"), modes.get("trap"), out["host_issue"].get(s)
        if inl and hi:
            bound = 1.3 * (floor + hi["p50_us"])
            t.append((f"inline_near_floor {s}", inl["p50_us"] <= bound,
                      f"inline p50 {inl['p50_us']:.1f} us, at most 1.3 x (floor_store"
                      f" {floor:.1f} + host_issue {hi['p50_us']:.1f}) = {bound:.1f} us"
                      " (host_issue includes the syscall)"))
        if inl and trap:
            ok = inl["p50_us"] <= trap["p50_us"] and inl["p99_us"] <= trap["p99_us"]
            t.append((f"inline_not_worse_than_trap {s}", ok,
                      f"inline p50 {inl['p50_us']:.1f} / p99 {inl['p99_us']:.1f} us, at most"
                      f" trap's p50 {trap['p50_us']:.1f} / p99 {trap['p99_us']:.1f} us"))
    r = out["ratios"].get("asid")
    if r:
        t.append(("trap_over_inline_asid", r["trap_over_inline_p50"] >= 2,
                  f"trap/inline p50 {r['trap_over_inline_p50']:.2f}x, at least 2x"))
    inl2, trap2 = out["vcpus2"].get("inline", {}), out["vcpus2"].get("trap", {})
    if "ratio_2_over_1_p50" in inl2:
        t.append(("vcpus2_inline_flat", inl2["ratio_2_over_1_p50"] <= 1.3,
                  f"inline 2/1 vCPU p50 {inl2['ratio_2_over_1_p50']:.2f}x, at most 1.3x"
                  f" (trap {trap2.get('ratio_2_over_1_p50', float('nan')):.2f}x)"))
    fast = {m: out["modes"][m]["exits_per_batch_all_streams"]
            for m in FAST if m in out["modes"]}
    for m, d in out["vcpus2"].items():
        if m != "trap":
            for n, fig in d.items():
                if isinstance(fig, dict) and "exits_per_batch" in fig:
                    fast[f"vcpus2 {m} {n}"] = fig["exits_per_batch"]
    if fast:
        t.append(("fast_path_no_exits", all(v == 0 for v in fast.values()),
                  "user-space exits per batch: "
                  + ", ".join(f"{k} {v:.2f}" for k, v in fast.items())))
    return t


def main():
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[3].strip(), file=sys.stderr)
        return 2
    log, status, outpath = sys.argv[1:]
    with open(log, errors="replace") as f:
        lines = f.readlines()
    if status != "0":
        return fail(outpath, f"the VM run failed (exit {status})")
    bad = [l.strip() for l in lines if l.startswith("not ok")]
    if bad:
        return fail(outpath, f"{len(bad)} failed result(s), first: {bad[0]}")
    out, rounds, mp_rounds = parse(lines)
    missing = [k for k in ("trap",) + FAST
               if any(k not in m for m in out["streams"].values())]
    if len(out["streams"]) != 3 or missing or out["floor_store"] is None \
            or len(out["host_issue"]) != 3 or rounds is None:
        return fail(outpath, "incomplete figures (trap_vs_fast did not finish?)")
    ratios(out)
    out["samples"] = {
        "streams": rounds, "host_issue": rounds, "floor_store": rounds,
        "vcpus2_1vcpu": mp_rounds, "vcpus2_2vcpu": mp_rounds and 2 * mp_rounds,
        "p99_is": {"streams": rank(rounds)},
    }
    if mp_rounds:
        out["samples"]["p99_is"]["vcpus2_1vcpu"] = rank(mp_rounds)
        out["samples"]["p99_is"]["vcpus2_2vcpu"] = rank(2 * mp_rounds)
    tg = targets(out)
    out["targets"] = [{"target": n, "pass": ok, "figures": d} for n, ok, d in tg]
    with open(outpath, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"bench-vm: percentiles of {rounds} samples per stream: p99 is"
          f" {rank(rounds)}, so read it as a tail figure, not a 1% bound")
    for m, e in sorted(out["modes"].items()):
        print(f"bench-vm: {m}: {e['exits_per_batch_all_streams']:.2f} user-space"
              " exits per batch, the three streams together")
    for st, modes in out["streams"].items():
        for m, fig in modes.items():
            if "exits_per_batch" in fig:
                print(f"bench-vm: {m} {st}: {fig['exits_per_batch']:.2f}"
                      " user-space exits per batch")
    for n, ok, d in tg:
        print(f"bench-vm target: {'PASS' if ok else 'MISS'} {n}: {d}")
    print(f"bench-vm: {sum(ok for _, ok, _ in tg)} of {len(tg)} targets met;"
          f" figures in {outpath}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
