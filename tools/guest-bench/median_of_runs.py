#!/usr/bin/env python3
"""The table of several linux_guest_bench.py --json files taken as rounds of one run (each
cell the median of all their samples): short runs of --rounds 1 in turn, so that no one
run holds the machine's build lock for long.

    tools/guest-bench/median_of_runs.py run-1.json run-2.json run-3.json
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from linux_guest_bench import key, print_table  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+")
    files = ap.parse_args().runs
    runs = [json.load(open(p)) for p in files]
    first = runs[0]
    backends = list(first["samples"])
    samples = {b: {} for b in backends}
    for run in runs:
        for b in backends:
            for r in run["samples"].get(b, []):
                samples[b].setdefault(key(r), []).append(r)
    args = argparse.Namespace(cache=first["cache"], size=first["size"], files=first["files"],
                              rounds=sum(r["rounds"] for r in runs),
                              read_ahead_kb=first.get("read_ahead_kb"))
    print_table(args, backends, samples)
    return 0


if __name__ == "__main__":
    sys.exit(main())
