#!/usr/bin/env bash
# bench-smoke for vfs-bigread-bench: a tiny run (64 MiB memory cgroup, 256 MiB file, 0.2 s
# cells, qd 1 and 16) of ours, native and, when it can be had (always with CI=true), Rust
# virtiofsd. Checks the JSON is well formed, every cell ran and verified, each reader's
# page cache stayed within its cgroup's limit, the reads went to the device, and that no
# cgroup was left behind. Speed is never checked. Needs root and cgroup v1's memory
# controller: without them it skips (77), or fails with CI=true.
set -euo pipefail
bench=$1
cg_line=$(grep -E '^[0-9]+:([^:]*,)?memory(,[^:]*)?:' /proc/self/cgroup || true)
parent=/sys/fs/cgroup/memory${cg_line##*:}
parent=${parent%/}
if [[ $(id -u) != 0 || ! -w $parent/cgroup.procs ]]; then
  echo "needs root and a writable cgroup v1 memory controller (parent: $parent)"
  [[ ${CI:-} == true ]] && exit 1
  exit 77
fi
backends=ours,native
script_dir=$(cd "$(dirname "$0")" && pwd)
if [[ ${CI:-} == true ]] || bash "$script_dir/../peers/get-virtiofsd.sh" >/dev/null 2>&1; then
  backends=ours,rust,native
fi
before=$(ls -d "$parent"/vfs-bigread-* 2>/dev/null | sort || true)
work=$(mktemp -d /var/tmp/vfs-bigread-smoke-XXXXXX)
trap 'rm -rf "$work"' EXIT
"$bench" --backends "$backends" --memory-limit 64 --file-mib 256 --duration 0.2 --rounds 1 \
  --qd 1,16 --dir "$work/run" --json "$work/out.json"
after=$(ls -d "$parent"/vfs-bigread-* 2>/dev/null | sort || true)
[[ $before == "$after" ]] || { echo "memory cgroups left behind: $after"; exit 1; }
python3 - "$work/out.json" "$backends" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["tool"] == "vfs-bigread-bench", doc.get("tool")
assert doc["memory_limit_mib"] == 64 and doc["file_mib"] == 256, doc
limit = 64 << 20
cells = doc["cells"]
want = {(b, q) for b in sys.argv[2].split(",") for q in (1, 16)}
got = {(c["backend"], c["qd"]) for c in cells}
assert got == want, sorted(got ^ want)
for c in cells:
    print(f"{c['backend']} qd{c['qd']}: {c['ops']} reads, device/requested "
          f"{c['device_per_requested']:.2f}, cgroup cache {c['cgroup_cache_bytes'] >> 20} MiB")
    assert c["error"] == "" and c["failures"] == 0, c
    assert c["ops"] > 0 and c["ops_checked"] >= c["ops"], c
    assert c["cgroup_max_usage_bytes"] <= limit, c
    assert c["cgroup_cache_bytes"] <= limit, c
    assert c["device_read_bytes"] > 0, c
    assert c["reader_rss_kib"] > 0, c
print(f"bigread-smoke: {len(cells)} cells ran, verified and read from the device")
PY
