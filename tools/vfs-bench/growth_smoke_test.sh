#!/usr/bin/env bash
# bench-smoke for vfs-growth-bench: a tiny run against ours only (2,000 files, 50 ms
# probes, 50 open handles); checks the JSON is well formed and that every stage, probe and
# the open-handle phase ran. Memory and timing are never checked: this guards the
# benchmark, not the daemon.
set -euo pipefail
bench=$1
work=$(mktemp -d /tmp/vfs-growth-smoke-XXXXXX)
trap 'rm -rf "$work"' EXIT
"$bench" --backends ours --inodes 2000 --small 1000 --mid 1500 --probe-seconds 0.05 \
  --open-handles 50 --handles-from 10 --dir "$work/run" --json "$work/out.json"
python3 - "$work/out.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["tool"] == "vfs-growth-bench", doc.get("tool")
(run,) = doc["runs"]
assert run["error"] == "", run["error"]
assert [s["held"] for s in run["stages"]] == [1000, 1500, 2000], run["stages"]
assert all(s["vm_rss_kib"] > 0 for s in run["stages"]), run["stages"]
probes = {(p["what"], p["table"], p["qd"]) for p in run["probes"]}
want = {(w, t, q) for w in ("lookup_held", "lookup_forget_new") for t in (1000, 2000)
        for q in (1, 16)}
assert probes == want, sorted(probes ^ want)
assert all(p["ops_per_s"] > 0 for p in run["probes"]), run["probes"]
assert run["readdirplus_entries"] == 2000, run["readdirplus_entries"]
assert doc["open_handles"] == 50 and doc["handles_from"] == 10, doc
assert [h["open"] for h in run["handle_stages"]] == [10, 50], run["handle_stages"]
assert all(h["vm_rss_kib"] > 0 for h in run["handle_stages"]), run["handle_stages"]
assert run["rss_after_release_kib"]["vm"] > 0, run["rss_after_release_kib"]
assert run["opens_per_s_qd1"] > 0, run["opens_per_s_qd1"]
print("growth-smoke: every stage, probe, the listing and the open handles ran and verified")
PY
