#!/usr/bin/env python3
"""Start-up and memory of AppGrant beside the floor app (run by bench/startup.sh, under Xvfb).

Each run starts one app with a throw-away home (a new user's first start), then records:
  window mapped         from spawn until `xwininfo -name TITLE` reports the window viewable;
  first interactive     from spawn until the app logged "first screen interactive" (the first
                        command its window called; the line carries the wall-clock time);
  PSS at 3 s and 10 s   the sum of Pss in /proc/PID/smaps_rollup over the process and all its
                        descendants (WebKit's web and network processes), 3 s and 10 s after
                        spawn; beside it the private memory (Private_Clean + Private_Dirty).
Runs alternate between the two apps so that load on the machine hits both alike. Writes a
table (OUT.txt) and the raw figures (OUT.json).
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

INTERACTIVE = re.compile(r"first screen interactive.*unix_ms=(\d+)")


def children_map():
    """Parent pid -> child pids, from /proc/*/stat."""
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The name may hold spaces and parentheses: fields start after the last ')'.
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        kids.setdefault(ppid, []).append(int(name))
    return kids


def tree(pid):
    kids = children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def memory_kb(pid):
    """(Pss, private = Private_Clean + Private_Dirty) in kB."""
    pss = private = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key == "Pss":
                    pss = int(rest.split()[0])
                elif key in ("Private_Clean", "Private_Dirty"):
                    private += int(rest.split()[0])
    except OSError:
        pass
    return pss, private


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def tree_memory(pid):
    """(PSS MB, private MB, {process name: PSS MB}) of the process tree."""
    parts = {}
    private = 0
    for p in tree(pid):
        name = comm(p)
        pss_kb, private_kb = memory_kb(p)
        parts[name] = parts.get(name, 0) + pss_kb / 1024
        private += private_kb / 1024
    return sum(parts.values()), private, parts


def mapped(title):
    r = subprocess.run(["xwininfo", "-name", title], capture_output=True, text=True)
    return r.returncode == 0 and "IsViewable" in r.stdout


def one_run(binary, title, env_extra, timeout=30.0):
    home = tempfile.mkdtemp(prefix="appgrant-startup-")
    env = dict(os.environ, **env_extra)
    env.update(
        HOME=home,
        XDG_CONFIG_HOME=f"{home}/.config",
        XDG_CACHE_HOME=f"{home}/.cache",
        XDG_DATA_HOME=f"{home}/.local/share",
        APPGRANT_DATA_DIR=f"{home}/data",
    )
    log_path = f"{home}/stderr.log"
    result = {"mappedMs": None, "interactiveMs": None}
    with open(log_path, "w") as log:
        t0 = time.time()
        proc = subprocess.Popen([binary], env=env, stdout=log, stderr=log, start_new_session=True)
    try:
        while result["mappedMs"] is None and time.time() - t0 < timeout:
            if mapped(title):
                result["mappedMs"] = (time.time() - t0) * 1000
            elif proc.poll() is not None:
                break
        for key, at in (("pss3", 3.0), ("pss10", 10.0)):
            time.sleep(max(0.0, t0 + at - time.time()))
            total, private, parts = tree_memory(proc.pid)
            result[key + "Mb"] = total
            result[key.replace("pss", "private") + "Mb"] = private
            result[key + "Parts"] = parts
        with open(log_path) as f:
            text = f.read()
        m = INTERACTIVE.search(text)
        if m:
            result["interactiveMs"] = int(m.group(1)) - t0 * 1000
        if proc.poll() is not None:
            result["error"] = f"exited early with {proc.returncode}: {text[-500:]}"
    finally:
        # Only the process group this run started.
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()
        shutil.rmtree(home, ignore_errors=True)
    return result


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def fmt(s, unit):
    if s is None:
        return "n/a"
    return f"{s['min']:.0f} / {s['median']:.0f} / {s['max']:.0f} {unit}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--app", required=True)
    ap.add_argument("--floor", required=True)
    ap.add_argument("--out", required=True, help="path without extension")
    ap.add_argument("--app-env", action="append", default=[], metavar="KEY=VALUE",
                    help="extra environment for AppGrant only (to compare settings)")
    args = ap.parse_args()

    apps = {
        "floor": (args.floor, "floor", {}),
        "appgrant": (
            args.app,
            "AppGrant",
            dict([("APPGRANT_LOG", "info,appgrant_lib::startup=debug")] + [kv.split("=", 1) for kv in args.app_env]),
        ),
    }
    # The X server answers before the first start (xvfb-run returns as soon as it listens).
    deadline = time.time() + 10
    while subprocess.run(["xwininfo", "-root"], capture_output=True).returncode != 0:
        if time.time() > deadline:
            print("no X server on DISPLAY", file=sys.stderr)
            return 1
        time.sleep(0.2)
    runs = {name: [] for name in apps}
    for i in range(args.runs):
        for name, (binary, title, env) in apps.items():
            # A start that dies before its window (GTK could not reach the X server, which
            # happens while another Xvfb on the machine comes or goes) is tried again twice.
            for _attempt in range(3):
                r = one_run(binary, title, env)
                if "error" not in r:
                    break
                time.sleep(1)
            runs[name].append(r)
            print(
                f"run {i + 1}/{args.runs} {name:<9} mapped {r['mappedMs'] or float('nan'):6.0f} ms"
                f"  interactive {r['interactiveMs'] or float('nan'):6.0f} ms"
                f"  PSS {r['pss3Mb']:5.0f} MB at 3 s, {r['pss10Mb']:5.0f} MB at 10 s"
                + (f"  ERROR {r['error']}" if "error" in r else ""),
                file=sys.stderr,
                flush=True,
            )

    figures = {}
    for name, rs in runs.items():
        figures[name] = {
            key: stats([r.get(key) for r in rs if "error" not in r])
            for key in ("mappedMs", "interactiveMs", "pss3Mb", "pss10Mb", "private3Mb", "private10Mb")
        }
        # Median PSS of each kind of process at 10 s (where the memory goes).
        names = sorted({p for r in rs for p in r["pss10Parts"]})
        ok = [r for r in rs if "error" not in r] or rs
        figures[name]["pss10ByProcess"] = {
            p: statistics.median([r["pss10Parts"].get(p, 0) for r in ok]) for p in names
        }
    f, a = figures["floor"], figures["appgrant"]

    def goal_mapped():
        if not (f["mappedMs"] and a["mappedMs"]):
            return "n/a"
        ok = a["mappedMs"]["median"] <= 1.2 * f["mappedMs"]["median"]
        return f"<= 1.2 x floor ({1.2 * f['mappedMs']['median']:.0f} ms): {'met' if ok else 'NOT met'}"

    def goal_pss(key):
        if not (f[key] and a[key]):
            return "n/a"
        limit = f[key]["median"] + 40
        ok = a[key]["median"] <= limit
        return f"<= floor + 40 MB ({limit:.0f} MB): {'met' if ok else 'NOT met'}"

    lines = [
        f"Start-up and memory, {args.runs} run(s) each, alternating, release builds under Xvfb, "
        f"fresh home per run ({time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())})",
        "figures are min / median / max; PSS is the process tree (app + WebKit processes)",
        "",
        f"{'figure':<38} {'floor':<24} {'AppGrant':<24} goal (median)",
        f"{'window mapped after spawn':<38} {fmt(f['mappedMs'], 'ms'):<24} {fmt(a['mappedMs'], 'ms'):<24} {goal_mapped()}",
        f"{'first screen interactive after spawn':<38} {fmt(f['interactiveMs'], 'ms'):<24} {fmt(a['interactiveMs'], 'ms'):<24}",
        f"{'PSS of the process tree at 3 s':<38} {fmt(f['pss3Mb'], 'MB'):<24} {fmt(a['pss3Mb'], 'MB'):<24} {goal_pss('pss3Mb')}",
        f"{'PSS of the process tree at 10 s':<38} {fmt(f['pss10Mb'], 'MB'):<24} {fmt(a['pss10Mb'], 'MB'):<24} {goal_pss('pss10Mb')}",
        f"{'private memory (USS) at 3 s':<38} {fmt(f['private3Mb'], 'MB'):<24} {fmt(a['private3Mb'], 'MB'):<24}",
        f"{'private memory (USS) at 10 s':<38} {fmt(f['private10Mb'], 'MB'):<24} {fmt(a['private10Mb'], 'MB'):<24}",
        "(PSS shares libraries' pages among every process mapping them, so it drops while other",
        " WebKit apps run on the machine; private memory does not depend on them)",
        "",
        "PSS at 10 s by process (median MB):",
    ]
    for name in ("floor", "appgrant"):
        parts = ", ".join(f"{p} {mb:.0f}" for p, mb in figures[name]["pss10ByProcess"].items() if mb >= 0.5)
        lines.append(f"  {name:<9} {parts}")
    errors = [f"{n} run {i + 1}: {r['error']}" for n, rs in runs.items() for i, r in enumerate(rs) if "error" in r]
    lines += [""] + errors if errors else []
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".txt", "w") as fh:
        fh.write(text)
    with open(args.out + ".json", "w") as fh:
        json.dump({"runs": args.runs, "figures": figures, "raw": runs}, fh, indent=2)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
