#!/usr/bin/env bash
# bench-instructions-smoke: vfs-bench --instructions against ours, one short cell per
# workload the instruction figure is published for (GETATTR, LOOKUP+FORGET, 4 KiB READ):
# each must run under callgrind, verify, and carry a positive instruction count per
# operation in the JSON. A daemon thread that sleeps where Valgrind keeps its scheduler
# lock (io_uring_enter in Valgrind 3.19) stalls the daemon, and this fails on the timeout.
# The figures themselves are printed, never checked.
set -euo pipefail
bench=$1
command -v valgrind >/dev/null || { echo "valgrind is not installed (tools/setup installs it)"; exit 1; }
work=$(mktemp -d /tmp/vfs-bench-instr-XXXXXX)
trap 'rm -rf "$work"' EXIT
"$bench" --instructions --backends ours --workloads getattr,lookup_forget,randread_4k --qd 1 \
  --duration 0.3 --dir "$work/run" --json "$work/out.json"
python3 - "$work/out.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["options"]["instructions"] == "callgrind", doc["options"]
cells = doc["cells"]
assert {c["workload"] for c in cells} == {"getattr", "lookup_forget", "randread_4k"}, cells
for c in cells:
    ok = c["ran"] and c["error"] == "" and c["verified"]["ok"] and c.get("instructions_per_op", 0) > 0
    print(f"{c['workload']} qd{c['qd']}: {c.get('instructions_per_op')} instructions, "
          f"{c.get('syscalls_per_op')} system calls per operation")
    assert ok, f"cell did not run, verify and count: {c}"
print(f"bench-instructions-smoke: {len(cells)} cells counted")
PY
