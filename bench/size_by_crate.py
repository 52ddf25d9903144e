#!/usr/bin/env python3
"""What a release binary is made of, by crate (run by bench/size.sh).

Reads the symbol table of an unstripped build (`nm -C --print-size`) and adds up the sizes
of its functions (.text) and named data (.rodata/.data) by the crate at the front of each
symbol's path (`<serde_json::Value as Clone>::clone` counts for serde_json; C and assembly
symbols go to "[C]"), like `cargo bloat --crates`, which only counts .text. The sections'
totals come from `size -A`; what no symbol names (string literals, embedded files) shows as
"[unnamed data]".

Usage: size_by_crate.py BINARY [--before OLD_BINARY] [--top N] [--json OUT]
(with --before: the top N of either build, side by side, with the change)
"""

import argparse
import collections
import json
import re
import subprocess
import sys

PREFIXES = ("<", "&", "mut ", "dyn ", "*const ", "*mut ", "[", "(", "impl ")
CRATE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)::")


def crate_of(name):
    s = name.strip()
    changed = True
    while changed:
        changed = False
        for p in PREFIXES:
            if s.startswith(p):
                s = s[len(p):]
                changed = True
    m = CRATE.match(s)
    return m.group(1) if m else "[C]"


def sections(binary):
    out = subprocess.run(["size", "-A", binary], capture_output=True, text=True, check=True).stdout
    sizes = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    return sizes


def by_crate(binary):
    """({crate: bytes of code + named data, "[unnamed data]": rest of .rodata}, sections)"""
    nm = subprocess.run(
        ["nm", "-C", "--print-size", "--size-sort", binary],
        capture_output=True, text=True, check=True,
    ).stdout
    total = collections.Counter()
    named_data = 0
    for line in nm.splitlines():
        parts = line.split(" ", 3)
        if len(parts) < 4:
            continue
        size, kind, name = int(parts[1], 16), parts[2], parts[3]
        if kind in "tTwW":
            total[crate_of(name)] += size
        elif kind in "rRdDbB":
            total[crate_of(name)] += size
            named_data += size
    secs = sections(binary)
    total["[unnamed data]"] = max(0, secs.get(".rodata", 0) - named_data)
    return total, secs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--before")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--json")
    args = ap.parse_args()

    after, secs = by_crate(args.binary)
    before, old_secs = by_crate(args.before) if args.before else (collections.Counter(), {})
    names = [c for c, _ in after.most_common(args.top)]
    names += [c for c, _ in before.most_common(args.top) if c not in names]
    kb = lambda b: f"{b / 1024:,.0f}"
    if args.before:
        print(f"{'crate (code + named data)':<28} {'before KB':>10} {'after KB':>10} {'change KB':>10}")
        for c in sorted(names, key=lambda c: -max(before[c], after[c])):
            print(f"{c:<28} {kb(before[c]):>10} {kb(after[c]):>10} {kb(after[c] - before[c]):>10}")
        for sec in (".text", ".rodata", ".eh_frame", ".gcc_except_table"):
            print(f"{'section ' + sec:<28} {kb(old_secs.get(sec, 0)):>10} {kb(secs.get(sec, 0)):>10} {kb(secs.get(sec, 0) - old_secs.get(sec, 0)):>10}")
    else:
        print(f"{'crate (code + named data)':<28} {'KB':>10}")
        for c in names:
            print(f"{c:<28} {kb(after[c]):>10}")
        for sec in (".text", ".rodata", ".eh_frame", ".gcc_except_table"):
            print(f"{'section ' + sec:<28} {kb(secs.get(sec, 0)):>10}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"sections": secs, "byCrate": dict(after), "before": dict(before)}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
