#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The reliability table from a scripts/vm.sh log (stdin):

    scripts/reliability-table.py OUT.json < vm.log

Rows come from the tests' lines
    # vm PROGRAM: reliability {"scenario": ..., "iterations": N,
                               "failures": N, "duration_s": X}
and their result lines (ok/not ok naming the scenario); kernel reports
are per program (tests/vm-init.sh prints "# vm PROGRAM: kernel-reports:
N" after each), and the run's own kernel-log verdict is added as the last
row. Prints the table as reStructuredText and writes it as JSON to OUT.
Exits 1 if there is no row.
"""
import json
import re
import sys

REL = re.compile(r"^# vm (\S+): reliability (\{.*\})$")
KREP = re.compile(r"^# vm (\S+): kernel-reports: (\d+)$")
RESULT = re.compile(r"^(ok|not ok) - vm(?:-\w+)?: (\S+) (?:\w+\.)?(\S+)")


def main():
    rows, reports, verdict, klog = [], {}, {}, []
    for line in sys.stdin:
        line = line.rstrip("\n")
        m = REL.match(line)
        if m:
            row = json.loads(m.group(2))
            row["program"] = m.group(1)
            rows.append(row)
            continue
        m = KREP.match(line)
        if m:
            reports[m.group(1)] = int(m.group(2))
            continue
        m = RESULT.match(line)
        if m:
            verdict[m.group(3)] = m.group(1)
            if m.group(2) == "kernel-log":
                klog.append(line)
    if not rows:
        sys.exit("reliability-table: no reliability lines in the log")
    for row in rows:
        row["kernel_reports"] = reports.get(row["program"])
        row["result"] = verdict.get(row["scenario"], "no result line")
    head = ("scenario", "iterations or calls", "failures",
            "kernel reports (program)", "duration s", "result")
    body = [(r["scenario"], str(r["iterations"]), str(r["failures"]),
             "?" if r["kernel_reports"] is None else str(r["kernel_reports"]),
             f'{r["duration_s"]:.1f}', r["result"]) for r in rows]
    width = [max(len(x) for x in col) for col in zip(head, *body)]
    rule = "  ".join("=" * w for w in width)
    print(rule)
    print("  ".join(h.ljust(w) for h, w in zip(head, width)).rstrip())
    print(rule)
    for b in body:
        print("  ".join(x.ljust(w) for x, w in zip(b, width)).rstrip())
    print(rule)
    for k in klog:
        print(f"\n{k}")
    with open(sys.argv[1], "w") as f:
        json.dump({"rows": rows, "kernel_log": klog}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
