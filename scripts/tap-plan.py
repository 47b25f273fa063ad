#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check TAP plans: every "1..N" must be followed (or preceded, for a plan
at the end) by exactly N results at its own indentation.

    scripts/tap-plan.py [--require-plan] FILE       one program's output
    scripts/tap-plan.py --serial LOG                the test VM's serial log

--serial reads the lines tests/vm-init.sh forwards ("VCMDQ-TAP SOURCE:
LINE") and checks each source on its own. KTAP nests subtests by
indentation (KUnit: the suite's cases four spaces in, a parameterised
case's parameters eight): a plan counts the results at its indentation
until a result or plan less indented closes it. A program that crashed
or hung part way, after a failure or not, reports fewer results than it
planned.

Prints one line per problem ("SOURCE: 3 of 5 planned results"; "no TAP
plan" with --require-plan when FILE has no top-level plan) and exits 1
if there was any, 0 otherwise.
"""
import re
import sys

RESULT = re.compile(r"^(\s*)(?:not )?ok\b")
PLAN = re.compile(r"^(\s*)1\.\.(\d+)\s*(?:#.*)?$")


class Stream:
    """The plans and results of one source."""

    def __init__(self, name):
        self.name = name
        self.levels = {}        # indentation -> [plan or None, results]
        self.top_plan = False
        self.problems = []

    def _close(self, indent):
        plan, n = self.levels.pop(indent)
        if plan is not None and n != plan:
            where = f" (subtest, indented {len(indent)})" if indent else ""
            self.problems.append(f"{self.name}: {n} of {plan} planned results{where}")

    def _close_deeper(self, indent):
        for i in [i for i in self.levels if len(i) > len(indent)]:
            self._close(i)

    def line(self, text):
        m = PLAN.match(text)
        if m:
            indent, plan = m.group(1), int(m.group(2))
            self.top_plan |= indent == ""
            self._close_deeper(indent)
            level = self.levels.get(indent)
            if level and level[0] is None and level[1]:
                # a plan at the end of its results
                level[0] = plan
                self._close(indent)
                return
            if level:
                self._close(indent)
            self.levels[indent] = [plan, 0]
            return
        m = RESULT.match(text)
        if m:
            indent = m.group(1)
            self._close_deeper(indent)
            self.levels.setdefault(indent, [None, 0])[1] += 1

    def end(self):
        for indent in sorted(self.levels, key=len, reverse=True):
            self._close(indent)
        return self.problems


def main():
    args = sys.argv[1:]
    serial = require = False
    if args and args[0] == "--serial":
        serial, args = True, args[1:]
    elif args and args[0] == "--require-plan":
        require, args = True, args[1:]
    if len(args) != 1:
        print(__doc__.strip().splitlines()[3].strip(), file=sys.stderr)
        return 2
    streams = {}
    with open(args[0], errors="replace") as f:
        for raw in f:
            text = raw.rstrip("\n").rstrip("\r")
            if serial:
                m = re.match(r"^VCMDQ-TAP ([^:]+): (.*)$", text)
                if not m:
                    continue
                src, text = m.group(1), m.group(2)
            else:
                src = "program"
            streams.setdefault(src, Stream(src)).line(text)
    problems = []
    for s in streams.values():
        problems += s.end()
        if require and not s.top_plan:
            problems.append(f"{s.name}: no TAP plan (1..N)")
    if require and not streams:
        problems.append("program: no output, no TAP plan (1..N)")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
