#!/usr/bin/env bash
# Where the CPU goes while vfs-bench runs one cell against one backend: perf samples
# every CPU (cpu-clock, kernel call chains; no hardware PMU is needed) for 4 s in the
# middle of an 8 s cell, and each thread's run time is read from /proc/PID/task/*/schedstat
# over the same time. Prints the CPU each thread of the daemon and of vfs-bench (the
# client) used, the share of busy samples per (thread name, binary or [kernel]) (an idle
# tickless CPU takes no samples, so these are shares of busy time), the daemon's kernel
# time by system call (inclusive), and its top symbols (self time).
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
runtime() {  # "tid comm ns" for every thread of the daemon and of vfs-bench
  for p in "$pid" "$bench_pid"; do
    for t in /proc/"$p"/task/*; do
      echo "$(basename "$t") $(tr ' ' _ <"$t/comm") $(cut -d' ' -f1 "$t/schedstat")"
    done
  done | sort
}
sleep 2
t0=$(date +%s%N)
runtime >"$work/a"
perf record -q -a -g -e cpu-clock -F 4000 -o "$work/perf.data" -- sleep 4 2>/dev/null
runtime >"$work/b"
t1=$(date +%s%N)
wait "$bench_pid"
ops=$(awk -v q="qd$qd" '$3 == q {print $4; exit}' "$work/err")
echo "$backend $workload qd$qd: $ops ops/s"
echo "-- CPU used per thread while perf ran (1.00 = one CPU all the time)"
join "$work/a" "$work/b" | awk -v ns=$((t1 - t0)) '{printf "  tid %s %-16s %.2f CPU\n", $1, $2, ($5-$3)/ns}'
echo "-- share of busy samples by thread and binary"
perf report -i "$work/perf.data" --stdio --no-children --sort comm,dso -g none 2>/dev/null |
  grep -v '^#' | grep -v '^$' | head -25
echo "-- the daemon's time per system call (inclusive, % of all busy samples)"
perf report -i "$work/perf.data" --stdio --pid "$pid" --children --sort sym -g none 2>/dev/null |
  grep -E '\] (__x64_sys_|__do_sys_|do_syscall_64|entry_SYSCALL)' | head -20
echo "-- the daemon's top symbols (self time, % of all busy samples)"
perf report -i "$work/perf.data" --stdio --pid "$pid" --no-children --sort dso,sym -g none \
  2>/dev/null | grep -v '^#' | grep -v '^$' | head -30
