#!/usr/bin/env python3
"""bench-smoke: runs the unikernel bench app briefly through unikernel_run.py (every
argument is passed on) and checks its JSON lines: each parses, there is one "meta" and one
"done" line, every workload has a point, every content check passed. Nothing about speed
is asserted. Exit status as unikernel_run.py's (77: skipped)."""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OPS = {"seq_write", "seq_read", "rand_write", "rand_read", "create", "list", "remove"}


def main():
    run = subprocess.run([sys.executable, os.path.join(HERE, "unikernel_run.py")] + sys.argv[1:],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(run.stdout)
    if run.returncode != 0:
        return run.returncode
    records, errors = [], []
    for line in run.stdout.splitlines():
        if not line.startswith('{"bench"'):
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as e:
            errors.append(f"not JSON ({e}): {line}")
    kinds = [r["bench"] for r in records]
    if kinds.count("meta") != 1 or kinds.count("done") != 1:
        errors.append(f"want one meta and one done line, got {kinds.count('meta')} and "
                      f"{kinds.count('done')}")
    points = [r for r in records if r["bench"] == "point"]
    missing = OPS - {p["op"] for p in points}
    if missing:
        errors.append(f"no point for {sorted(missing)}")
    errors += [f"content check failed: {p}" for p in points if p.get("check") != "ok"]
    errors += [f"failed repetition: {r}" for r in records
               if r["bench"] == "rep" and r.get("ns", -1) < 0]
    done = [r for r in records if r["bench"] == "done"]
    if done and done[0].get("checks_failed") != 0:
        errors.append(f"done line reports failures: {done[0]}")
    for e in errors:
        print("FAIL: " + e)
    print("bench-smoke: " + ("PASS" if not errors else "FAIL") + f" ({len(points)} points)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
