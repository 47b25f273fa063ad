#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the bench-json lines of tests/fastpath's trap_vs_fast (stdin, one
JSON object per line) into build/bench-vm.json (stdout):

  streams.<stream>.<mode>   p50_us, p99_us, exits_per_batch
  host_issue.<stream>       p50_us, p99_us (IOMMU_HWPT_INVALIDATE, ioctl
                            included)
  floor_store               p50_us, p99_us (an empty PROD store)
  ratios.<stream>           trap/inline p50 and p99, inline p50 over
                            floor_store + host_issue p50
  vcpus2.<mode>.<n>vcpu     p50_us, p99_us, exits_per_batch, owner_wait_us,
                            gathered, less_wait_p50_us/_p99_us (each
                            batch's time less its wait for the previous
                            owner's PROD store): n guest vCPUs, one queue
  vcpus2.<mode>.ratio_2_over_1_p50 (and _p99)
"""
import json
import sys


def main():
    out = {"streams": {}, "host_issue": {}, "floor_store": None,
           "ratios": {}, "vcpus2": {}}
    for line in sys.stdin:
        row = json.loads(line)
        fig = {k: row[k] for k in ("p50_us", "p99_us", "exits_per_batch")
               if k in row}
        if row["section"] == "streams":
            out["streams"].setdefault(row["stream"], {})[row["mode"]] = fig
        elif row["section"] == "host_issue":
            fig["includes"] = "the IOMMU_HWPT_INVALIDATE ioctl"
            out["host_issue"][row["stream"]] = fig
        elif row["section"] == "vcpus2":
            fig.update({k: row[k] for k in ("owner_wait_us", "gathered",
                                            "less_wait_p50_us",
                                            "less_wait_p99_us")})
            mode = out["vcpus2"].setdefault(row["mode"], {})
            mode[f'{row["vcpus"]}vcpu'] = fig
        elif row["section"] == "floor_store":
            fig["what"] = "an empty PROD store: doorbell and empty inline turn"
            out["floor_store"] = fig
    if not out["streams"] or out["floor_store"] is None:
        sys.exit("bench-vm-json: incomplete figures")
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
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
