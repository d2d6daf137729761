#!/usr/bin/env bash
# bench-smoke: runs vfs-bench very briefly against ours only, then checks that the JSON is
# well formed and that every cell of the matrix ran and verified its content. Timing is
# never checked: this guards the benchmark, not the daemon's speed.
set -euo pipefail
bench=$1
work=$(mktemp -d /tmp/vfs-bench-smoke-XXXXXX)
trap 'rm -rf "$work"' EXIT
"$bench" --backends ours --duration 0.05 --qd 1,16 --dir "$work/run" --json "$work/out.json" \
  --verify-all
python3 - "$work/out.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["tool"] == "vfs-bench", doc.get("tool")
cells = doc["cells"]
workloads = {"getattr", "lookup_forget", "randread_4k", "seqread_4k", "seqread_64k", "seqread_1m",
             "seqwrite_4k", "seqwrite_1m", "create_unlink", "readdirplus_10k"}
seen = {(c["workload"], c["qd"]) for c in cells}
missing = {(w, q) for w in workloads for q in (1, 16)} - seen
assert not missing, f"cells missing: {sorted(missing)}"
bad = [c for c in cells
       if not (c["ran"] and c["ops"] > 0 and c["error"] == "" and c["verified"]["ok"]
               and c["verified"]["failures"] == 0 and c["verified"]["ops_checked"] > 0)]
for c in bad:
    print(f"cell {c['workload']} qd{c['qd']}: error={c['error']!r} verified={c['verified']}")
assert not bad, f"{len(bad)} cells did not run and verify"
print(f"bench-smoke: {len(cells)} cells ran and verified")
PY
