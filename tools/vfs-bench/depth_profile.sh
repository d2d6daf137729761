#!/usr/bin/env bash
# Where the CPU goes while vfs-bench runs one cell against one backend: perf samples
# every CPU (cpu-clock; no hardware PMU is needed) for 4 s in the middle of an 8 s cell,
# then prints the share of all samples per (thread name, binary or [kernel]), idle
# included, and the top symbols of the daemon's threads (self time, user and kernel).
#   tools/vfs-bench/depth_profile.sh build/tools/vfs-bench/vfs-bench ours lookup_forget 16
# Extra arguments go to vfs-bench (e.g. --ours-path).
set -euo pipefail
bench=$1 backend=$2 workload=$3 qd=$4
shift 4
command -v perf >/dev/null || { echo "perf is not installed" >&2; exit 1; }
work=$(mktemp -d /tmp/vfs-profile-XXXXXX)
trap 'rm -rf "$work"' EXIT
"$bench" --backends "$backend" --workloads "$workload" --qd "$qd" --duration 8 \
  --dir "$work/run" "$@" >"$work/out" 2>"$work/err" &
bench_pid=$!
pid=
for _ in $(seq 1 200); do
  pid=$(pgrep -f -- "--socket-path=$work/run/" | head -1 || true)
  [ -n "$pid" ] && break
  sleep 0.1
done
[ -n "$pid" ] || { echo "no daemon found" >&2; exit 1; }
sleep 2
perf record -q -a -e cpu-clock -F 4000 -o "$work/perf.data" -- sleep 4 2>/dev/null
wait "$bench_pid"
ops=$(awk -v q="qd$qd" '$3 == q {print $4; exit}' "$work/err")
echo "$backend $workload qd$qd: $ops ops/s"
echo "-- share of all CPU samples (2 CPUs = 100%) by thread and binary"
perf report -i "$work/perf.data" --stdio --sort comm,dso 2>/dev/null |
  grep -v '^#' | grep -v '^$' | head -25
echo "-- the daemon's top symbols (self time, % of the daemon's samples)"
perf report -i "$work/perf.data" --stdio --pid "$pid" --sort dso,sym 2>/dev/null |
  grep -v '^#' | grep -v '^$' | head -40
