#!/usr/bin/env bash
# Context switches per operation of every thread of a backend daemon, while vfs-bench runs
# one 5 s cell against it: /proc/PID/task/*/status is read 2.5 s in and 2 s later, and
# the differences are divided by the operations of those 2 s (the cell's rate x 2).
# voluntary = the thread went to sleep; involuntary = it was preempted.
#   tools/vfs-bench/context_switches.sh build/tools/vfs-bench/vfs-bench ours lookup_forget 1
set -euo pipefail
bench=$1 backend=$2 workload=$3 qd=$4
shift 4
work=$(mktemp -d /tmp/vfs-ctxsw-XXXXXX)
trap 'rm -rf "$work"' EXIT
"$bench" --backends "$backend" --workloads "$workload" --qd "$qd" --duration 5 \
  --dir "$work/run" "$@" >"$work/out" 2>"$work/err" &
bench_pid=$!
pid=
for _ in $(seq 1 200); do
  pid=$(pgrep -f -- "--socket-path=$work/run/" | head -1 || true)
  [ -n "$pid" ] && break
  sleep 0.1
done
[ -n "$pid" ] || { echo "no daemon found" >&2; exit 1; }
snap() {
  for t in /proc/"$pid"/task/*; do
    echo "$(basename "$t") $(tr ' ' _ <"$t/comm") $(awk '/^voluntary_ctxt/{v=$2} /^nonvoluntary_ctxt/{n=$2} END{print v, n}' "$t/status")"
  done | sort
}
sleep 2.5
snap >"$work/a"
sleep 2
snap >"$work/b"
wait "$bench_pid"
ops=$(awk -v q="qd$qd" '$3 == q {print $4; exit}' "$work/err")
echo "$backend $workload qd$qd: $ops ops/s"
join "$work/a" "$work/b" | awk -v ops="$ops" \
  '{printf "  tid %s %-16s voluntary/op %.3f  involuntary/op %.3f\n", $1, $2, ($6-$3)/(ops*2), ($7-$4)/(ops*2)}'
