#!/usr/bin/env python3
"""The unikernel's completion, polling against interrupts (issue 14, item 5): queue-depth-1
latency and the guest's CPU for completion=poll and completion=irq, in interleaved rounds.

  tcg     the bench app under QEMU 7.2 TCG with vhost-user-fs-pci (MSI-X), over
          virtiofsd-cxx; CPU is QEMU's: the vCPU thread ("CPU 0/TCG", from
          /proc/PID/task/*/stat) and the whole process (its rusage)
  hosted  bench-hosted over virtiofsd-cxx (the "interrupt" is the call eventfd); CPU is
          the bench process's rusage, and the daemon's from /proc/PID/stat

Both daemons run --sandbox=none (as every benchmark here: one process to account).
Workloads: "getattr" is N fstat calls (GETATTR: the daemon runs --cache=never so no
attribute is cached), "4k" the bench's 4 KiB sequential/random write/read points at
`--ios` requests each (latency is reported for rand_read, a pread loop). Every run is
paired with an empty one (nothing but boot/attach/mount) whose CPU is subtracted, so CPU
per request is the workload's. A benchmark, not a test: it asserts nothing about speed.

    tools/completion-bench/completion_bench.py --build build --rounds 3 --json out.json
"""
import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
UNIKERNEL_RUN = os.path.join(ROOT, "tests", "e2e", "unikernel_run.py")
sys.path.insert(0, os.path.join(ROOT, "tools", "evaluation"))
import runners  # noqa: E402  (the evaluation's daemon start and stop)
TICK = os.sysconf("SC_CLK_TCK")


def points(out):
    pts = {}
    for line in out.splitlines():
        if line.startswith('{"bench":"point"'):
            p = json.loads(line)
            if p["check"] != "ok":
                raise RuntimeError("bench check failed: " + line)
            pts[p["op"]] = p
    return pts


def workload_params(kind, a):
    base = ["counts=none", f"reps={a.reps}", "first_byte=hello.txt"]
    if kind == "empty":
        return base + ["sizes=none"]
    if kind == "getattr":
        return base + ["sizes=none", f"getattr={a.getattrs}"]
    return base + ["sizes=4096", f"multiplier={a.ios}"]


def requests(kind, a):
    return {"empty": 0, "getattr": a.getattrs * a.reps, "4k": 4 * a.ios * a.reps}[kind]


def run_tcg(a, mode, kind):
    cmd = [sys.executable, UNIKERNEL_RUN, "--image", os.path.join(a.build, "guest", "bench.elf"),
           "--machine", "q35", "--daemon", "cxx", "--daemon-bin", a.daemon_bin,
           "--daemon-arg=--cache=never", "--daemon-arg=--sandbox=none", "--timeout", "300",
           "--cpu-sample",
           "--append", " ".join([f"completion={mode}"] + workload_params(kind, a))]
    run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         errors="replace", timeout=400)
    if run.returncode != 0 or f"completion by {'MSI-X interrupt' if mode == 'irq' else 'polling'}" not in run.stdout:
        raise RuntimeError(f"tcg {mode} {kind} failed:\n" + run.stdout[-3000:])
    cpu = json.loads(re.search(r"^BENCH (\{\"name\": \"unikernel_qemu_cpu\".*)$", run.stdout,
                               re.M).group(1))
    vcpu = sum(v for k, v in cpu["threads_cpu_s"].items() if "/TCG" in k)
    return {"points": points(run.stdout), "wall_s": cpu["wall_s"], "cpu_s": cpu["process_cpu_s"],
            "vcpu_s": vcpu}


def proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def run_hosted(a, mode, kind):
    work = tempfile.mkdtemp(prefix="vfs-completion-")
    daemon = None
    try:
        share, sock = runners.hosted_share(work)
        daemon = runners.start_daemon(a.daemon_bin, sock, share, os.path.join(work, "daemon.log"),
                                      ["--cache=never", "--sandbox=none"])
        cmd = [os.path.join(a.build, "guest-hosted", "bench-hosted"), f"fs=myfs@{sock}",
               "tag=myfs", f"completion={mode}"] + workload_params(kind, a)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             errors="replace", timeout=300)
        wall = time.monotonic() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        daemon_cpu = proc_cpu(daemon.pid)
    finally:
        runners.stop(daemon)
        shutil.rmtree(work, ignore_errors=True)
    want = "call eventfd" if mode == "irq" else "polling"
    if run.returncode != 0 or f"completion by {want}" not in run.stdout:
        raise RuntimeError(f"hosted {mode} {kind} failed:\n" + run.stdout[-3000:])
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return {"points": points(run.stdout), "wall_s": wall, "cpu_s": cpu, "daemon_cpu_s": daemon_cpu}


def per_op_ns(p, key):
    n = p["calls"] if "calls" in p else p["bytes"] // p["buffer"]
    return p["mean_ns"] / n


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--daemon-bin")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--getattrs", type=int, default=10000)
    ap.add_argument("--ios", type=int, default=5000)
    ap.add_argument("--platforms", default="tcg,hosted")
    ap.add_argument("--json")
    a = ap.parse_args()
    a.build = os.path.abspath(a.build)
    a.daemon_bin = a.daemon_bin or os.path.join(a.build, "host-daemon", "virtiofsd-cxx")
    runners = {"tcg": run_tcg, "hosted": run_hosted}
    samples = []
    for r in range(a.rounds):
        modes = ["poll", "irq"] if r % 2 == 0 else ["irq", "poll"]
        for platform in a.platforms.split(","):
            for mode in modes:
                runs = {k: runners[platform](a, mode, k) for k in ("empty", "getattr", "4k")}
                for kind in ("getattr", "4k"):
                    res, empty = runs[kind], runs["empty"]
                    op = "getattr" if kind == "getattr" else "rand_read"
                    s = {"round": r, "platform": platform, "mode": mode, "workload": kind,
                         "latency_ns": per_op_ns(res["points"][op], op),
                         "requests": requests(kind, a), "wall_s": res["wall_s"],
                         "cpu_s": res["cpu_s"],
                         "cpu_us_per_request": (res["cpu_s"] - empty["cpu_s"]) * 1e6
                         / requests(kind, a)}
                    if "vcpu_s" in res:
                        s["vcpu_us_per_request"] = ((res["vcpu_s"] - empty["vcpu_s"]) * 1e6
                                                    / requests(kind, a))
                        s["vcpu_busy"] = res["vcpu_s"] / res["wall_s"]
                    if "daemon_cpu_s" in res:
                        s["daemon_us_per_request"] = ((res["daemon_cpu_s"] - empty["daemon_cpu_s"])
                                                      * 1e6 / requests(kind, a))
                    samples.append(s)
                    print(json.dumps(s), flush=True)
    print("\n| platform | workload | completion | qd 1 latency (µs) | guest CPU per request (µs) "
          "| vCPU / daemon CPU per request (µs) | vCPU busy |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for platform in a.platforms.split(","):
        for kind in ("getattr", "4k"):
            for mode in ("poll", "irq"):
                ss = [s for s in samples if s["platform"] == platform and s["workload"] == kind
                      and s["mode"] == mode]
                if not ss:
                    continue
                lat = median([s["latency_ns"] for s in ss]) / 1000
                cpu = median([s["cpu_us_per_request"] for s in ss])
                other = median([s.get("vcpu_us_per_request", s.get("daemon_us_per_request", 0))
                                for s in ss])
                busy = (f"{median([s['vcpu_busy'] for s in ss]):.0%}" if "vcpu_busy" in ss[0]
                        else "")
                name = "GETATTR (fstat)" if kind == "getattr" else "4 KiB pread (rand_read)"
                print(f"| {platform} | {name} | {mode} | {lat:.1f} | {cpu:.1f} | {other:.1f} "
                      f"| {busy} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"params": vars(a), "samples": samples}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
