#!/usr/bin/env python3
"""Guest-side file-system benchmarks in one run, side by side: a Debian bookworm kernel in
QEMU (TCG) runs the thesis's workloads (sequential and random read/write over buffer
sizes, create, list, remove) on a folder shared by

  cxx   virtiofsd-cxx            (vhost-user-fs-pci)
  rust  Debian's Rust virtiofsd  (vhost-user-fs-pci)
  9p    QEMU's built-in virtio-9p (-fsdev local)
  dax-always, dax-never
        virtiofsd-cxx with --dax-window under QEMU 11.1's vhost-user-test-device-pci (the
        only device with a DAX window), mounted with dax=always or dax=never

It prints a table with ratios and writes JSON. Under TCG absolute numbers are low; compare
the columns of one run. This is a benchmark, not a test: it asserts nothing about speed.

    tools/guest-bench/linux_guest_bench.py --daemon-bin build/host-daemon/virtiofsd-cxx \\
        --probe build/tests/e2e/linux/vfs-probe --json guest-bench.json
"""
import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
E2E = os.path.join(ROOT, "tests", "e2e", "linux")
sys.path.insert(0, E2E)
sys.path.insert(0, os.path.join(ROOT, "tools", "peers"))
from guest_vm import prepare_boot, start_daemon  # noqa: E402
import peers  # noqa: E402


def daemon_cost(pid):
    """CPU seconds and context switches of all of a daemon's threads so far."""
    ticks, switches = 0, 0
    tick = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt", "nonvoluntary_ctxt")):
                        switches += int(line.split()[1])
        except (OSError, ValueError, IndexError):  # a thread that ended meanwhile
            pass
    return ticks / tick, switches


def run_backend(args, kind, work):
    share = os.path.join(work, f"share-{kind}")
    os.makedirs(share)
    sock = os.path.join(work, f"{kind}.sock")
    daemon = None
    # Both daemons run unconfined (--sandbox=none --seccomp=none) here on purpose: the
    # table compares their data paths, so neither pays for a sandbox the other lacks.
    dax = kind.startswith("dax-")
    wrap = [w.replace("{log}", os.path.join(work, f"{kind}.wrap")) for w in
            shlex.split(args.daemon_wrapper)]
    if kind in ("cxx", "cxx-alt") or dax:
        extra = [f"--dax-window={args.dax_window}", "--num-queues=2", "--tag=bench"] if dax else []
        binary = args.alt_daemon_bin if kind == "cxx-alt" else args.daemon_bin
        daemon = start_daemon([*wrap, binary, f"--socket-path={sock}", f"--shared-dir={share}",
                               f"--cache={args.cache}", "--sandbox=none", "--seccomp=none",
                               *extra, *shlex.split(args.cxx_args)], sock,
                              os.path.join(work, f"{kind}.log"))
    elif kind == "rust":
        daemon = start_daemon([*wrap, args.rust_bin, f"--socket-path={sock}", f"--shared-dir={share}",
                               f"--cache={args.cache}", "--sandbox=none", "--seccomp=none",
                               *shlex.split(args.rust_args)],
                              sock, os.path.join(work, "rust.log"))
    if kind == "9p":
        dev = ["-fsdev", f"local,id=fs9,path={share},security_model=passthrough",
               "-device", "virtio-9p-pci,fsdev=fs9,mount_tag=bench"]
        fstype = "9p"
    elif dax:
        dev = ["-nic", "none", "-chardev", f"socket,id=vfs,path={sock}",
               "-device", "vhost-user-test-device-pci,chardev=vfs,virtio-id=26,num_vqs=2,"
                          "config_size=40,vq_size=1024"]
        fstype = "virtiofs"
    else:
        dev = ["-chardev", f"socket,id=vfs,path={sock}",
               "-device", "vhost-user-fs-pci,chardev=vfs,tag=bench,queue-size=1024"]
        fstype = "virtiofs"
    extra_append = f" vfs.mountopts=dax={kind[4:]}" if dax else ""
    if args.files_only:
        extra_append += " vfs.bench_files_only=1"
    if args.read_ahead_kb is not None:
        extra_append += f" vfs.read_ahead_kb={args.read_ahead_kb}"
    if args.block_sizes:
        extra_append += f" vfs.bench_bs={args.block_sizes} vfs.bench_seq_only=1"
    cmd = [args.qemu if dax else "qemu-system-x86_64", "-machine", "pc", "-accel", "tcg", "-cpu", "max", "-smp", "2",
           "-m", "1024", "-object", "memory-backend-memfd,id=mem,size=1024M,share=on",
           "-numa", "node,memdev=mem", *dev, "-kernel", args.vmlinuz, "-initrd", args.initramfs,
           "-append", f"console=ttyS0 panic=-1 quiet vfs.tag=bench vfs.fstype={fstype} "
                      f"vfs.script=bench vfs.bench_size={args.size} vfs.bench_files={args.files}"
                      f"{extra_append}",
           "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot"]
    print(f"[bench] {kind}: booting", flush=True)
    results = []
    # The daemon exits when QEMU hangs up, so its cost is sampled while the guest runs.
    cost, stop = [None], threading.Event()

    def sample():
        while daemon and not wrap and daemon.poll() is None and not stop.wait(0.2):
            cost[0] = daemon_cost(daemon.pid)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                             timeout=args.timeout).stdout
    finally:
        stop.set()
        sampler.join()
        if cost[0]:
            print(f"[bench] {kind}: daemon {cost[0][0]:.2f} s CPU, {cost[0][1]} context "
                  "switches (all threads, whole boot)", flush=True)
        if daemon and daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(10)
    for line in out.splitlines():
        if "BENCH " in line:
            results.append(json.loads(line[line.index("BENCH ") + 6:]))
        elif "E2E-READAHEAD" in line and kind not in args.readahead_shown:
            print(f"[bench] {kind}: {line.strip()}", flush=True)
            args.readahead_shown.add(kind)
        elif "error:" in line or "E2E-FATAL" in line:
            print(f"[bench] {kind}: {line.strip()}", flush=True)
    if "E2E-END" not in out:
        print(f"[bench] {kind}: the guest did not finish; last lines:\n" +
              "\n".join(out.splitlines()[-15:]), flush=True)
    if args.log_dir:
        for name in os.listdir(work):
            if name.endswith((".log", ".wrap")):
                shutil.copy(os.path.join(work, name),
                            os.path.join(args.log_dir, f"{os.path.basename(work)}-{name}"))
    return results


def key(r):
    return (r["op"], r["bs"])


def value(r):
    """MiB/s for data workloads, ops/s for file workloads."""
    if r["seconds"] <= 0:
        return 0.0
    if r["bytes"]:
        return r["bytes"] / r["seconds"] / (1 << 20)
    return r["ops"] / r["seconds"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon-bin", required=True)
    ap.add_argument("--probe", required=True)
    ap.add_argument("--alt-daemon-bin", help="backend cxx-alt: another virtiofsd-cxx build, "
                                             "for an A/B in one run")
    ap.add_argument("--backends", default="cxx,rust,9p")
    ap.add_argument("--cache", default="auto")
    ap.add_argument("--size", type=int, default=32 << 20, help="bytes per read/write workload")
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3,
                    help="boots per backend, taken in turns so that load on the host hits "
                         "every backend alike; each cell is the median")
    ap.add_argument("--timeout", type=int, default=1800)
    ap.add_argument("--json")
    ap.add_argument("--dax-window", default="64M", help="for the dax-* backends")
    ap.add_argument("--block-sizes", help="comma-separated; sequential workloads only "
                                          "(e.g. 4096,1048576 for the DAX row)")
    ap.add_argument("--cxx-args", default="", help="more virtiofsd-cxx flags, e.g. "
                                                   "'--log-level=debug' (its request counts)")
    ap.add_argument("--rust-args", default="", help="more Rust virtiofsd flags")
    ap.add_argument("--read-ahead-kb", type=int, help="the guest mount's read_ahead_kb")
    ap.add_argument("--log-dir", help="keep each run's daemon log here")
    ap.add_argument("--daemon-wrapper", default="",
                    help="runs both daemons under this, {log} its output file, e.g. "
                         "'strace -c -f -o {log}'")
    ap.add_argument("--files-only", action="store_true", help="only create, list, remove")
    args = ap.parse_args()
    args.readahead_shown = set()
    if args.log_dir:
        os.makedirs(args.log_dir, exist_ok=True)

    work = tempfile.mkdtemp(prefix="vfs-guest-bench-")
    args.vmlinuz, args.initramfs = prepare_boot(args.probe, work)
    backends = args.backends.split(",")
    if "rust" in backends:
        args.rust_bin = peers.rust_virtiofsd()
        if args.rust_bin is None:
            sys.exit("guest-bench: Rust virtiofsd (tools/peers/get-virtiofsd.sh) is not available")
    if any(b.startswith("dax-") for b in backends):
        args.qemu = peers.qemu_11()
        if args.qemu is None:
            sys.exit("guest-bench: QEMU 11.1 (tools/peers/get-qemu.sh) is not available")
    samples = {kind: {} for kind in backends}
    try:
        # Round-robin: TCG timing swings with whatever else the host runs, so each backend
        # gets a boot in every round rather than all of its boots in a row.
        for rnd in range(args.rounds):
            for kind in backends:
                run_dir = os.path.join(work, f"{kind}-{rnd}")
                os.makedirs(run_dir)
                for r in run_backend(args, kind, run_dir):
                    samples[kind].setdefault(key(r), []).append(r)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    runs = print_table(args, backends, samples)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cache": args.cache, "size": args.size, "files": args.files,
                       "rounds": args.rounds, "read_ahead_kb": args.read_ahead_kb,
                       "samples": {b: [r for rs in by_key.values() for r in rs]
                                   for b, by_key in samples.items()},
                       "results": {b: list(r.values()) for b, r in runs.items()}}, f, indent=2)
    return 0 if all(runs.get(b) for b in backends) else 1


def print_table(args, backends, samples):
    """Each cell the median of its samples; prints the table and returns the medians."""
    runs = {kind: {k: sorted(rs, key=value)[len(rs) // 2] for k, rs in by_key.items()}
            for kind, by_key in samples.items()}

    rows = sorted({k for r in runs.values() for k in r}, key=lambda k: (k[0], k[1]))
    head = f"{'workload':>12} {'bs':>8} " + " ".join(f"{b:>10}" for b in backends)
    ratio_cols = [b for b in backends if b != "cxx" and "cxx" in backends and not b.startswith("dax-")]
    head += " " + " ".join(f"{'cxx/' + b:>9}" for b in ratio_cols)
    print(f"\nLinux guest (TCG), cache={args.cache}, {args.size >> 20} MiB per data workload, "
          f"{args.files} files, median of {args.rounds} boots"
          f"{'' if args.read_ahead_kb is None else f', read_ahead_kb={args.read_ahead_kb}'}. MiB/s for read/write, ops/s for "
          f"create/list/remove.")
    print(head)
    for k in rows:
        vals = {b: value(runs[b][k]) if k in runs[b] else None for b in backends}
        line = f"{k[0]:>12} {k[1] or '-':>8} " + " ".join(
            f"{vals[b]:10.1f}" if vals[b] is not None else f"{'-':>10}" for b in backends)
        for b in ratio_cols:
            ok = vals.get("cxx") and vals.get(b)
            line += f" {vals['cxx'] / vals[b]:8.2f}x" if ok else f" {'-':>9}"
        if vals.get("dax-always") and vals.get("dax-never"):
            line += f"  always/never {vals['dax-always'] / vals['dax-never']:.2f}x"
        print(line)
    return runs


if __name__ == "__main__":
    sys.exit(main())
