#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check what QEMU's emulated SMMUv3 executed against what the VM tests expect.

    scripts/trace-check.py SERIAL_LOG SMMU_TRACE [LABEL]

The in-VM tests print, through the serial console,
    # trace-expect NAME: REGEX     a trace line must match REGEX
    # trace-forbid NAME: REGEX     no trace line may match REGEX
    # trace-order NAME: R1 => R2 => ...
                                  lines matching R1, R2, ... appear in
                                  that order (each after the previous)
(forwarded by tests/vm-init.sh as "VCMDQ-TAP SOURCE: # trace-...").
Trace lines are QEMU's log backend ("PID@SECONDS.USEC:event args"); the
prefix is stripped before matching. Named groups of a match are reported.
Result lines are labelled LABEL (default "vm", e.g. "vm-debug").
Prints one TAP line per expectation and exits 0 (the TAP lines carry the
verdict), or 2 if a file is missing.
"""
import re
import sys

LINE = re.compile(r"^VCMDQ-TAP (\S+): # trace-(expect|forbid|order) ([\w.-]+): (.*)$")
PREFIX = re.compile(r"^\d+@\d+\.\d+:")


def check_order(tag, src, name, spec, trace):
    """Each regex of "R1 => R2 => ..." must match a line after the last."""
    at, seen = 0, []
    for regex in (r.strip() for r in spec.split(" => ")):
        try:
            pat = re.compile(regex)
        except re.error as e:
            print(f"not ok - {tag}: trace {src} {name}: bad regex: {e}")
            return
        i = next((i for i in range(at, len(trace)) if pat.search(trace[i])), None)
        if i is None:
            before = any(pat.search(t) for t in trace[:at])
            print(f"not ok - {tag}: trace {src} {name}: /{regex}/ "
                  + ("only before /" + seen[-1] + "/" if before else "never executed"))
            return
        seen.append(regex)
        at = i + 1
    print(f"ok - {tag}: trace {src} {name}: executed in order: {' => '.join(seen)}")


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    try:
        with open(sys.argv[1], errors="replace") as f:
            log = [l.rstrip("\r\n") for l in f]
        with open(sys.argv[2], errors="replace") as f:
            trace = [PREFIX.sub("", l.rstrip("\n")) for l in f]
    except OSError as e:
        print(f"trace-check: {e}", file=sys.stderr)
        return 2

    tag = sys.argv[3] if len(sys.argv) == 4 else "vm"
    for line in log:
        m = LINE.match(line)
        if not m:
            continue
        src, kind, name, regex = m.groups()
        if kind == "order":
            check_order(tag, src, name, regex, trace)
            continue
        try:
            pat = re.compile(regex)
        except re.error as e:
            print(f"not ok - {tag}: trace {src} {name}: bad regex: {e}")
            continue
        hits = [h for h in (pat.search(t) for t in trace) if h]
        if kind == "expect":
            if hits:
                groups = " ".join(f"{k}={v}" for k, v in hits[0].groupdict().items())
                print(f"ok - {tag}: trace {src} {name}: SMMU executed it"
                      + (f" ({groups})" if groups else ""))
                print(f"# trace {name}: {hits[0].string}")
            else:
                print(f"not ok - {tag}: trace {src} {name}: no trace line matches /{regex}/")
        else:
            if hits:
                print(f"not ok - {tag}: trace {src} {name}: forbidden: {hits[0].string}")
            else:
                print(f"ok - {tag}: trace {src} {name}: never executed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
