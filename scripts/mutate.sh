#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make mutate: prove that each test fails when the feature it is named for
# is broken. Every mutant of tests/mutants/list is applied to a scratch copy
# of this tree, the copy is rebuilt and the mutant's test is run there; the
# mutant is killed when the test fails. Prints a table (mutant, test,
# killed) and ends with "N passed, N failed" (passed = killed); exits
# non-zero if a mutant survived, no longer applies (its original text is
# not in the file exactly once: a stale mutant) or its copy did not build.
#
#   scripts/mutate.sh [ID...]        the named mutants, or all of them
#   scripts/mutate.sh --check [LIST] only check that every mutant applies
#   scripts/mutate.sh --selftest     the parser's own test (make check-user)
#   MUTATE_LIST=FILE                 another list (default tests/mutants/list)
#   MUTATE_BASELINE=0                skip the unmutated runs (see below)
#
# Before the mutants, each test runs once on the unmodified copy (user
# tests one by one, the VM tests in one boot) and must pass there: a test
# that fails anyway kills nothing. Engine mutants run in user space; kernel
# mutants each get their own module build and VM boot (VARIANT=base).
# The copy lives in $MUTATE_DIR (default /tmp/vcmdq-mutate.PID), removed at
# the end unless MUTATE_KEEP=1.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
LIST=${MUTATE_LIST:-$top/tests/mutants/list}
BASELINE=${MUTATE_BASELINE:-1}
S=${MUTATE_DIR:-/tmp/vcmdq-mutate.$$}

say() { printf 'mutate: %s\n' "$*"; }
die() { printf 'mutate: ERROR: %s\n' "$*"; exit 1; }

# The list's parser and the mutation itself; see tests/mutants/list for the
# format.
#   mutant.py parse LIST            one line per mutant: ID<TAB>FILE<TAB>KIND<TAB>SPEC
#   mutant.py apply LIST ID TREE    mutate TREE/FILE in place
#   mutant.py check LIST TREE       every mutant applies to TREE (nothing written)
mutant_py() {
	python3 - "$@" <<'EOF'
import re
import sys

def fail(msg):
    print("mutate: ERROR: " + msg)
    sys.exit(1)

def parse(path):
    muts, cur, hunk, where = [], None, None, path
    try:
        lines = open(path).read().split("\n")
    except OSError as e:
        fail("%s: %s" % (path, e.strerror))
    for n, raw in enumerate(lines, 1):
        where = "%s:%d" % (path, n)
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            hunk = None
            continue
        m = re.match(r"^\[([A-Za-z0-9_.-]+)\]$", line)
        if m:
            cur = {"id": m.group(1), "hunks": [], "where": where}
            if any(x["id"] == cur["id"] for x in muts):
                fail("%s: mutant %s listed twice" % (where, cur["id"]))
            muts.append(cur)
            hunk = None
            continue
        if cur is None:
            fail("%s: text before the first [mutant]" % where)
        m = re.match(r"^(file|test|why)\s*=\s*(.*)$", line)
        if m:
            key, val = m.group(1), m.group(2).strip()
            if key == "why" and cur.get("why"):
                val = cur["why"] + " " + val
            elif key in cur:
                fail("%s: mutant %s: %s given twice" % (where, cur["id"], key))
            cur[key] = val
            hunk = None
            continue
        m = re.match(r"^([-+])( (.*))?$", raw)
        if not m:
            fail("%s: not 'key = value', '- old' or '+ new': %r" % (where, raw))
        text = m.group(3) or ""
        if m.group(1) == "-":
            if hunk is None or hunk["new"]:
                hunk = {"old": [], "new": []}
                cur["hunks"].append(hunk)
            hunk["old"].append(text)
        else:
            if hunk is None:
                fail("%s: '+' line without the '-' lines it replaces" % where)
            hunk["new"].append(text)
    for m in muts:
        for key in ("file", "test"):
            if not m.get(key):
                fail("%s: mutant %s has no %s" % (m["where"], m["id"], key))
        if not m["hunks"]:
            fail("%s: mutant %s changes nothing" % (m["where"], m["id"]))
        kind = m["test"].split(None, 1)
        if len(kind) != 2 or kind[0] not in ("user", "vm"):
            fail("%s: mutant %s: test must be 'user CMD' or 'vm PROG:CASE[,...]'"
                 % (m["where"], m["id"]))
        if kind[0] == "vm" and not re.match(r"^[a-z0-9_-]+(:[a-z0-9_]+)?(,[a-z0-9_-]+(:[a-z0-9_]+)?)*$", kind[1]):
            fail("%s: mutant %s: bad VM test list %r" % (m["where"], m["id"], kind[1]))
    return muts

def mutate(m, text):
    """The mutated text; each hunk's old lines (compared without their
    leading and trailing blanks) must occur exactly once. New lines take
    the indentation of the first old line."""
    lines = text.split("\n")
    for h in m["hunks"]:
        old = [x.strip() for x in h["old"]]
        hits = [i for i in range(len(lines) - len(old) + 1)
                if [x.strip() for x in lines[i:i + len(old)]] == old]
        if len(hits) != 1:
            fail("mutant %s: %s: '%s' found %d times (want exactly 1): stale mutant?"
                 % (m["id"], m["file"], old[0] + (" ..." if len(old) > 1 else ""),
                    len(hits)))
        i = hits[0]
        indent = re.match(r"^\s*", lines[i]).group(0)
        lines[i:i + len(old)] = [indent + x for x in h["new"]]
    new = "\n".join(lines)
    if new == text:
        fail("mutant %s: the mutation changes nothing" % m["id"])
    return new

def apply(muts, ident, tree, write):
    for m in muts:
        if ident is not None and m["id"] != ident:
            continue
        path = tree + "/" + m["file"]
        try:
            text = open(path).read()
        except OSError as e:
            fail("mutant %s: %s: %s" % (m["id"], m["file"], e.strerror))
        new = mutate(m, text)
        if write:
            open(path, "w").write(new)
        if ident is not None:
            return
    if ident is not None:
        fail("no mutant %s in the list" % ident)

cmd, lst = sys.argv[1], sys.argv[2]
muts = parse(lst)
if cmd == "parse":
    for m in muts:
        kind, spec = m["test"].split(None, 1)
        print("\t".join((m["id"], m["file"], kind, spec)))
elif cmd == "apply":
    apply(muts, sys.argv[3], sys.argv[4], True)
elif cmd == "check":
    apply(muts, None, sys.argv[3], False)
    print("mutate: %d mutants apply to %s" % (len(muts), sys.argv[3]))
else:
    fail("unknown command " + cmd)
EOF
}

# --selftest (make check-user): the list parser and the mutation on a
# scratch file, and the real list against this tree; TAP.
selftest() {
	local d n=0 failed=0 out
	d=$(mktemp -d)
	mkdir -p "$d/tree"
	printf 'a\n\tint x = 1;\n\tint x = 1;\nb\n\tif (c)\n\t\tfoo();\nend\n' >"$d/tree/f.c"
	# t NAME WANT(0|1) GREP LIST-TEXT: check LIST-TEXT against the file;
	# WANT 0: it must apply, 1: it must be refused saying GREP
	t() {
		local name=$1 want=$2 pat=$3 rc
		printf '%s\n' "$4" >"$d/list"
		out=$(mutant_py check "$d/list" "$d/tree" 2>&1)
		rc=$?
		n=$((n + 1))
		if { [ "$want" = 0 ] && [ $rc = 0 ]; } ||
		   { [ "$want" = 1 ] && [ $rc != 0 ] && grep -q -- "$pat" <<<"$out"; }; then
			echo "ok $n - mutate.sh: $name"
		else
			echo "not ok $n - mutate.sh: $name: exit $rc: $out"
			failed=1
		fi
	}
	t "a two-line hunk applies" 0 "" "$(printf '[m]\nfile = f.c\ntest = user true\n- if (c)\n- foo();\n+ if (!c)\n+ \tfoo();')"
	t "a stale mutant is refused" 1 "found 0 times" "$(printf '[m]\nfile = f.c\ntest = user true\n- bar();\n+ baz();')"
	t "an ambiguous mutant is refused" 1 "found 2 times" "$(printf '[m]\nfile = f.c\ntest = vm p:c\n- int x = 1;\n+ int x = 2;')"
	t "a mutant that changes nothing is refused" 1 "changes nothing" "$(printf '[m]\nfile = f.c\ntest = user true\n- foo();\n+ foo();')"
	t "a test that is neither user nor vm is refused" 1 "test must be" "$(printf '[m]\nfile = f.c\ntest = make check\n- foo();\n+ bar();')"
	t "a mutant listed twice is refused" 1 "listed twice" "$(printf '[m]\nfile = f.c\ntest = user true\n- foo();\n\n[m]\nfile = f.c\ntest = user true\n- foo();')"
	t "a '+' line without '-' lines is refused" 1 "without the" "$(printf '[m]\nfile = f.c\ntest = user true\n+ foo();')"
	# what apply writes: the new lines indented like the old first line
	printf '[m]\nfile = f.c\ntest = user true\n- if (c)\n- foo();\n+ if (!c)\n+ \tfoo();\n- end\n' >"$d/list"
	n=$((n + 1))
	if mutant_py apply "$d/list" m "$d/tree" >/dev/null &&
	   [ "$(cat "$d/tree/f.c")" = "$(printf 'a\n\tint x = 1;\n\tint x = 1;\nb\n\tif (!c)\n\t\tfoo();')" ]; then
		echo "ok $n - mutate.sh: apply writes the replacement, indented, and deletes"
	else
		echo "not ok $n - mutate.sh: apply wrote: $(cat "$d/tree/f.c" | tr '\n\t' '|>')"
		failed=1
	fi
	n=$((n + 1))
	if out=$(mutant_py check "$LIST" "$top" 2>&1); then
		echo "ok $n - mutate.sh: every mutant of tests/mutants/list applies to this tree ($out)"
	else
		echo "not ok $n - mutate.sh: tests/mutants/list: $out"
		failed=1
	fi
	rm -rf "$d"
	echo "1..$n"
	return $failed
}

case "${1:-}" in
--check)
	mutant_py check "${2:-$LIST}" "$top"
	exit $?
	;;
--selftest)
	selftest
	exit $?
	;;
esac

mapfile -t MUTANTS < <(mutant_py parse "$LIST") || exit 1
[ ${#MUTANTS[@]} -gt 0 ] || die "no mutants in $LIST"
case "${MUTANTS[0]}" in "mutate: ERROR"*) die "${MUTANTS[0]#mutate: ERROR: }" ;; esac
mutant_py check "$LIST" "$top" >/dev/null || { mutant_py check "$LIST" "$top"; exit 1; }
if [ $# -gt 0 ]; then
	sel=()
	for id in "$@"; do
		found=
		for m in "${MUTANTS[@]}"; do
			[ "${m%%	*}" = "$id" ] && { sel+=("$m"); found=1; }
		done
		[ -n "$found" ] || die "no mutant $id in $LIST"
	done
	MUTANTS=("${sel[@]}")
fi

mkdir -p "$S" || die "cannot make $S"
[ "${MUTATE_KEEP:-0}" = 1 ] || trap 'rm -rf "$S"' EXIT
T=$S/tree

# A fresh copy of the work tree as it is (uncommitted changes included),
# without git and build output.
fresh() {
	rsync -a --delete --exclude=/.git --exclude=/build --exclude='/crash-*' \
		"$top/" "$T/"
}

# Run one user-space test in the copy: build the program it names
# (build/...), then the command. 0 = passed, 1 = failed, 2 = no build.
user_test() {
	local cmd=$1 log=$2 prog
	prog=$(printf '%s\n' "$cmd" | grep -oE '(^|[[:space:]])build/[A-Za-z0-9_-]+' |
		sed 's/^[[:space:]]*//' | sort -u)
	if ! (cd "$T" && nice -n 10 make -s $prog) >"$log" 2>&1; then
		return 2
	fi
	(cd "$T" && nice -n 10 bash -c "$cmd") >>"$log" 2>&1
	local rc=$?
	[ $rc = 0 ] && ! grep -q '^not ok' "$log" && return 0
	return 1
}

# Run VM tests in the copy, one boot. 0 = passed, 1 = a test failed (or
# the VM hung or crashed), 2 = the module or the tests did not build.
vm_test() {
	local tests=$1 log=$2 rc
	(cd "$T" && VM_DIR=$S/vm VM_TESTS=$tests VARIANT=base nice -n 10 \
		scripts/vm.sh) >"$log" 2>&1
	rc=$?
	grep -qE '^(module|selftests|kernel): ERROR' "$log" && return 2
	[ $rc = 0 ] && ! grep -q '^not ok' "$log" && return 0
	return 1
}

run_test() {
	case "$1" in
	user) user_test "$2" "$3" ;;
	vm) vm_test "$2" "$3" ;;
	esac
}

total=${#MUTANTS[@]}
if [ "$BASELINE" = 1 ]; then
	say "baseline: the tests on the unmodified tree must pass"
	fresh
	vmtests=
	declare -A seen=()
	for m in "${MUTANTS[@]}"; do
		IFS=$'\t' read -r id file kind spec <<<"$m"
		if [ "$kind" = vm ]; then
			case ",$vmtests," in *",$spec,"*) ;; *) vmtests=${vmtests:+$vmtests,}$spec ;; esac
			continue
		fi
		[ -n "${seen[$spec]:-}" ] && continue
		seen[$spec]=1
		log=$S/baseline-user-${#seen[@]}.log
		run_test user "$spec" "$log"
		rc=$?
		[ $rc = 0 ] || { tail -20 "$log"; die "baseline: '$spec' fails without any mutant (log above)"; }
		say "baseline: ok: $spec"
	done
	if [ -n "$vmtests" ]; then
		say "baseline: one VM boot: $vmtests"
		run_test vm "$vmtests" "$S/baseline-vm.log"
		rc=$?
		if [ $rc != 0 ]; then
			grep -E '^not ok|ERROR' "$S/baseline-vm.log" | head -20
			die "baseline: the VM tests fail without any mutant"
		fi
		say "baseline: ok: VM $vmtests"
	fi
fi

i=0 pass=0 fail=0
rows=()
for m in "${MUTANTS[@]}"; do
	IFS=$'\t' read -r id file kind spec <<<"$m"
	i=$((i + 1))
	say "[$i/$total] $id: $file; $kind $spec"
	fresh
	log=$S/$id.log
	start=$(date +%s)
	if ! mutant_py apply "$LIST" "$id" "$T" >"$log" 2>&1; then
		cat "$log"
		verdict="ERROR (does not apply)"
	else
		run_test "$kind" "$spec" "$log"
		case $? in
		0) verdict=SURVIVED ;;
		1) verdict=killed ;;
		*) verdict="ERROR (mutant did not build)" ;;
		esac
	fi
	secs=$(( $(date +%s) - start ))
	if [ "$verdict" = killed ]; then
		pass=$((pass + 1))
		{ grep -m3 '^not ok' "$log" || tail -3 "$log"; } |
			sed 's/^/mutate:     /'
	else
		fail=$((fail + 1))
		tail -15 "$log" | sed 's/^/mutate:     /'
		cp "$log" "$top/build/mutate-$id.log" 2>/dev/null &&
			say "    log kept in build/mutate-$id.log"
	fi
	say "[$i/$total] $id: $verdict (${secs}s)"
	rows+=("$id	$kind $spec	$verdict")
done

echo
printf '%-28s %-56s %s\n' mutant test killed
printf '%-28s %-56s %s\n' ------ ---- ------
for r in "${rows[@]}"; do
	IFS=$'\t' read -r id test verdict <<<"$r"
	printf '%-28s %-56s %s\n' "$id" "$test" "$verdict"
done
echo "$pass passed, $fail failed"
[ $fail = 0 ]
