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
    # trace-count NAME: N: REGEX  exactly N trace lines match REGEX
    # trace-window NAME: START => END => FORBID
                                  no line between the first START match and
                                  the next END match matches FORBID, where
                                  {group} stands for START's named group
    # trace-same NAME: N: REGEX    exactly N lines match, all with the same
                                  values of REGEX's named groups; checks
                                  named PREFIX#A, PREFIX#B, ... must each
                                  find values the others do not
    # trace-once NAME: FIRST-LAST: REGEX
                                  REGEX has a group named n (digits): every n
                                  from FIRST to LAST (decimal) matches
                                  exactly one line (others are ignored)
(forwarded by tests/vm-init.sh as "VCMDQ-TAP SOURCE: # trace-...").
Trace lines are QEMU's log backend ("PID@SECONDS.USEC:event args"); the
prefix is stripped before matching. Named groups of a match are reported.
Result lines are labelled LABEL (default "vm", e.g. "vm-debug").
Prints one TAP line per expectation and exits 0 (the TAP lines carry the
verdict), or 2 if a file is missing.
"""
import re
import sys

LINE = re.compile(r"^VCMDQ-TAP (\S+): # trace-(expect|forbid|order|count|once|window|same) ([\w.#-]+): (.*)$")
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


def check_count(tag, src, name, spec, trace):
    """"N: REGEX": exactly N lines match."""
    m = re.match(r"(\d+): (.*)$", spec)
    if not m:
        print(f"not ok - {tag}: trace {src} {name}: bad spec (N: REGEX)")
        return
    want, regex = int(m.group(1)), m.group(2)
    try:
        pat = re.compile(regex)
    except re.error as e:
        print(f"not ok - {tag}: trace {src} {name}: bad regex: {e}")
        return
    n = sum(1 for t in trace if pat.search(t))
    verdict = "ok" if n == want else "not ok"
    print(f"{verdict} - {tag}: trace {src} {name}: /{regex}/ executed {n} times"
          + ("" if n == want else f", not {want}"))


def check_window(tag, src, name, spec, trace):
    """"START => END => FORBID": nothing in the window matches FORBID."""
    parts = spec.split(" => ")
    if len(parts) != 3:
        print(f"not ok - {tag}: trace {src} {name}: bad spec (START => END => FORBID)")
        return
    try:
        start, end = re.compile(parts[0]), re.compile(parts[1])
    except re.error as e:
        print(f"not ok - {tag}: trace {src} {name}: bad regex: {e}")
        return
    first = next(((i, h) for i, h in enumerate(start.search(t) for t in trace)
                  if h), None)
    if first is None:
        print(f"not ok - {tag}: trace {src} {name}: no start /{parts[0]}/")
        return
    at, h = first
    last = next((i for i in range(at + 1, len(trace)) if end.search(trace[i])),
                None)
    if last is None:
        print(f"not ok - {tag}: trace {src} {name}: no end /{parts[1]}/")
        return
    regex = parts[2]
    for k, v in h.groupdict().items():
        regex = regex.replace("{" + k + "}", re.escape(v or ""))
    try:
        forbid = re.compile(regex)
    except re.error as e:
        print(f"not ok - {tag}: trace {src} {name}: bad regex: {e}")
        return
    bad = next((t for t in trace[at + 1:last] if forbid.search(t)), None)
    groups = " ".join(f"{k}={v}" for k, v in h.groupdict().items())
    if bad is None:
        print(f"ok - {tag}: trace {src} {name}: {last - at - 1} lines "
              f"({groups}), none matches /{regex}/")
    else:
        print(f"not ok - {tag}: trace {src} {name}: forbidden ({groups}): {bad}")


def check_same(tag, src, name, spec, trace, families):
    """"N: REGEX": N lines, one value per named group (see families)."""
    m = re.match(r"(\d+): (.*)$", spec)
    if not m:
        print(f"not ok - {tag}: trace {src} {name}: bad spec (N: REGEX)")
        return
    want, regex = int(m.group(1)), m.group(2)
    try:
        pat = re.compile(regex)
    except re.error as e:
        print(f"not ok - {tag}: trace {src} {name}: bad regex: {e}")
        return
    hits = [h for h in (pat.search(t) for t in trace) if h]
    values = {tuple(sorted(h.groupdict().items())) for h in hits}
    shown = "; ".join(" ".join(f"{k}={v}" for k, v in val)
                      for val in sorted(values))
    if len(hits) != want or len(values) != 1:
        print(f"not ok - {tag}: trace {src} {name}: /{regex}/ executed "
              f"{len(hits)} times (not {want}) with {shown or 'no values'}"
              if len(hits) != want else
              f"not ok - {tag}: trace {src} {name}: more than one value: {shown}")
        return
    family = name.split("#")[0] if "#" in name else None
    if family:
        others = families.setdefault(family, {})
        clash = [n for n, v in others.items() if v in values]
        others[name] = next(iter(values))
        if clash:
            print(f"not ok - {tag}: trace {src} {name}: {shown}, as {clash[0]}")
            return
    print(f"ok - {tag}: trace {src} {name}: {len(hits)} lines, all {shown}"
          + (f", none of the others of {family}" if family else ""))


def check_once(tag, src, name, spec, trace):
    """"FIRST-LAST: REGEX": each n of FIRST..LAST matches exactly once."""
    m = re.match(r"(\d+)-(\d+): (.*)$", spec)
    if not m:
        print(f"not ok - {tag}: trace {src} {name}: bad spec (FIRST-LAST: REGEX)")
        return
    first, last, regex = int(m.group(1)), int(m.group(2)), m.group(3)
    try:
        pat = re.compile(regex)
    except re.error as e:
        print(f"not ok - {tag}: trace {src} {name}: bad regex: {e}")
        return
    if "n" not in pat.groupindex:
        print(f"not ok - {tag}: trace {src} {name}: no group (?P<n>...) in /{regex}/")
        return
    seen = {}
    for t in trace:
        h = pat.search(t)
        if h:
            n = int(h.group("n"))
            if first <= n <= last:
                seen[n] = seen.get(n, 0) + 1
    missing = [n for n in range(first, last + 1) if n not in seen]
    twice = sorted(n for n, c in seen.items() if c > 1)
    if not missing and not twice:
        print(f"ok - {tag}: trace {src} {name}: each of {first}..{last} "
              f"executed once ({last - first + 1})")
        return
    why = []
    if missing:
        why.append(f"{len(missing)} never executed (first {missing[0]})")
    if twice:
        why.append(f"{len(twice)} more than once (first {twice[0]}: "
                   f"{seen[twice[0]]} times)")
    print(f"not ok - {tag}: trace {src} {name}: of {first}..{last}, "
          + ", ".join(why))


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
    families = {}
    for line in log:
        m = LINE.match(line)
        if not m:
            continue
        src, kind, name, regex = m.groups()
        if kind == "order":
            check_order(tag, src, name, regex, trace)
            continue
        if kind == "count":
            check_count(tag, src, name, regex, trace)
            continue
        if kind == "same":
            check_same(tag, src, name, regex, trace, families)
            continue
        if kind == "window":
            check_window(tag, src, name, regex, trace)
            continue
        if kind == "once":
            check_once(tag, src, name, regex, trace)
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
