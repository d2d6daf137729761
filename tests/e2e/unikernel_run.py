#!/usr/bin/env python3
"""Boots a unikernel image under QEMU (TCG), optionally with a vhost-user-fs device backed
by a running virtio-fs daemon or with QEMU's own virtio-9p device (--p9-tag) on the same
shared folder, and checks the outcome.

The guest reports through isa-debug-exit (guest/arch/x86_64/debug_exit.h: 33 = pass) and
on serial; this script asserts the exit status, that every --expect regex matches a
serial line, and that QEMU did not report a failed vhost-user start (which a guest cannot
see). Everything it starts is bounded by timeouts and cleaned up. Exit status: 0 pass,
1 fail, 77 skip (a peer unavailable outside CI; under CI=true that is a failure).
"""
import argparse
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "peers"))
import peers  # noqa: E402
import selftest_pattern  # noqa: E402


def daemon_command(kind, binary, socket, shared):
    if kind == "rust":
        wrapper = peers.rust_virtiofsd()
        if wrapper is None:
            return None
        return [wrapper, f"--socket-path={socket}", f"--shared-dir={shared}"]
    if kind == "qemu-c":
        path = binary or "/usr/lib/qemu/virtiofsd"
        if not os.path.exists(path):
            return None
        return [path, f"--socket-path={socket}", "-o", f"source={shared}"]
    if kind == "cxx":  # virtiofsd-cxx follows the Rust daemon's flags
        if not binary or not os.path.exists(binary):
            return None
        return [binary, f"--socket-path={socket}", f"--shared-dir={shared}"]
    raise ValueError(kind)


def stop(proc, grace=5.0):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class ThreadCpuSampler:
    """CPU seconds of every thread of a process, from /proc/PID/task/*/stat, sampled
    every 20 ms until the process ends (the last sample of each thread is kept)."""

    def __init__(self, pid):
        self.pid = pid
        self.last = {}
        self.done = threading.Event()
        self.tick = os.sysconf("SC_CLK_TCK")
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _sample(self):
        try:
            tids = os.listdir(f"/proc/{self.pid}/task")
        except OSError:
            return
        for tid in tids:
            try:
                with open(f"/proc/{self.pid}/task/{tid}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            name = stat[stat.index("(") + 1:stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2:].split()
            self.last[f"{tid} {name}"] = (int(fields[11]) + int(fields[12])) / self.tick

    def _run(self):
        while not self.done.wait(0.02):
            self._sample()

    def stop(self):
        self.done.set()
        self.thread.join()
        return {k: round(v, 3) for k, v in sorted(self.last.items())}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--image", required=True)
    ap.add_argument("--machine", default="q35", choices=["pc", "q35"])
    ap.add_argument("--daemon", default="rust", choices=["rust", "qemu-c", "cxx", "none"])
    ap.add_argument("--daemon-bin", help="daemon binary (qemu-c, cxx)")
    ap.add_argument("--tag", default="myfs")
    ap.add_argument("--request-queues", type=int, default=1)
    ap.add_argument("--memory", default="512M")
    ap.add_argument("--append", default="", help="kernel command line")
    ap.add_argument("--expect-status", type=int, default=33)
    ap.add_argument("--expect", action="append", default=[], help="regex a serial line must match")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--extra-device", action="append", default=[], metavar="TAG",
                    help="another vhost-user-fs device with this tag, served by its own "
                         "daemon of the same kind on its own folder")
    ap.add_argument("--p9-tag", metavar="TAG",
                    help="a modern virtio-9p device with this mount tag serving the shared "
                         "folder (QEMU's local fsdev; use with --daemon none)")
    ap.add_argument("--daemon-arg", action="append", default=[],
                    help="one more argument for the daemon")
    ap.add_argument("--qemu", default="system", choices=["system", "11"],
                    help="the system QEMU (7.2) or Debian sid's 11.1 from tools/peers")
    ap.add_argument("--dax-window", metavar="SIZE",
                    help="DAX: the daemon (cxx) gets --dax-window=SIZE and the device is "
                         "QEMU 11.1's vhost-user-test-device-pci as virtio-fs, whose BAR 4 "
                         "is the window (needs --qemu 11)")
    ap.add_argument("--host-pattern", action="append", default=[], metavar="NAME:SEED:SIZE",
                    help="a file the guest must leave in the shared folder, holding the "
                         "selftest pattern")
    ap.add_argument("--high-bars", action="store_true",
                    help="add a device with a 4 GiB BAR so firmware moves 64-bit BARs above 4 GiB")
    ap.add_argument("--cpu-sample", action="store_true",
                    help="report QEMU's CPU time (whole process, and per thread, e.g. the vCPU)")
    args = ap.parse_args()

    qemu_bin = "qemu-system-x86_64"
    if args.qemu == "11":
        qemu_bin = peers.qemu_11()
        if qemu_bin is None:
            return peers.unavailable("QEMU 11.1 (tools/peers/get-qemu.sh)")
    elif not shutil.which(qemu_bin):
        return peers.unavailable("qemu-system-x86_64")
    if args.dax_window and (args.qemu != "11" or args.daemon != "cxx"):
        print("FAIL: --dax-window needs --qemu 11 and --daemon cxx")
        return 1
    work = tempfile.mkdtemp(prefix="vfs-unikernel-")
    daemon = None
    qemu = None
    extra_daemons = []
    try:
        socket = os.path.join(work, "vhost-fs.sock")
        shared = os.path.join(work, "shared")
        os.mkdir(shared)
        with open(os.path.join(shared, "hello.txt"), "w") as f:
            f.write("hello from the host\n")
        serial_path = os.path.join(work, "serial.log")

        cmd = [qemu_bin, "-machine", f"{args.machine},accel=tcg", "-cpu", "max",
               "-m", args.memory, "-kernel", args.image, "-append", args.append,
               "-nographic", "-no-reboot", "-net", "none", "-monitor", "none",
               "-serial", f"file:{serial_path}",
               "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
        if args.daemon != "none":
            dcmd = daemon_command(args.daemon, args.daemon_bin, socket, shared)
            if dcmd is None:
                return peers.unavailable(f"the {args.daemon} daemon")
            dcmd += args.daemon_arg
            if args.dax_window:
                # The test device takes its config (tag, request queues) from the daemon,
                # which must offer exactly num_vqs queues.
                dcmd += [f"--dax-window={args.dax_window}", f"--tag={args.tag}",
                         f"--num-queues={args.request_queues + 1}"]
            daemon_log = open(os.path.join(work, "daemon.log"), "w")
            daemon = subprocess.Popen(dcmd, stdout=daemon_log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
            deadline = time.monotonic() + 15
            while not os.path.exists(socket):
                if daemon.poll() is not None or time.monotonic() > deadline:
                    print("FAIL: daemon did not create its socket")
                    print(open(os.path.join(work, "daemon.log")).read())
                    return 1
                time.sleep(0.05)
            cmd += ["-object", f"memory-backend-memfd,id=mem,size={args.memory},share=on",
                    "-numa", "node,memdev=mem",
                    "-chardev", f"socket,id=char0,path={socket}"]
            if args.dax_window:
                cmd += ["-device", "vhost-user-test-device-pci,chardev=char0,virtio-id=26,"
                                   f"num_vqs={args.request_queues + 1},config_size=40,"
                                   "vq_size=1024"]
            else:
                cmd += ["-device", f"vhost-user-fs-pci,chardev=char0,tag={args.tag},"
                                   f"num-request-queues={args.request_queues}"]

        for i, tag in enumerate(args.extra_device):
            xsock = os.path.join(work, f"vhost-fs-{i}.sock")
            xshared = os.path.join(work, f"shared-{i}")
            os.mkdir(xshared)
            xcmd = daemon_command(args.daemon, args.daemon_bin, xsock, xshared)
            xlog = open(os.path.join(work, f"daemon-{i}.log"), "w")
            extra_daemons.append(subprocess.Popen(xcmd, stdout=xlog, stderr=subprocess.STDOUT,
                                                  start_new_session=True))
            deadline = time.monotonic() + 15
            while not os.path.exists(xsock):
                if extra_daemons[-1].poll() is not None or time.monotonic() > deadline:
                    print("FAIL: extra daemon did not create its socket")
                    return 1
                time.sleep(0.05)
            cmd += ["-chardev", f"socket,id=xchar{i},path={xsock}",
                    "-device", f"vhost-user-fs-pci,chardev=xchar{i},tag={tag}"]

        if args.p9_tag:
            cmd += ["-fsdev", f"local,id=p9fs,path={shared},security_model=none",
                    "-device", f"virtio-9p-pci,fsdev=p9fs,mount_tag={args.p9_tag},"
                               "disable-legacy=on"]

        if args.cpu_sample:
            cmd += ["-name", "vfs,debug-threads=on"]  # the vCPU thread is "CPU 0/TCG"
        if args.high_bars:
            # The backing memory is never touched, so it costs nothing.
            cmd += ["-object", "memory-backend-ram,id=bigbar,size=4G",
                    "-device", "ivshmem-plain,memdev=bigbar"]
        print("+ " + " ".join(cmd), flush=True)
        started = time.monotonic()
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        qemu = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        sampler = ThreadCpuSampler(qemu.pid) if args.cpu_sample else None
        try:
            qemu_out, _ = qemu.communicate(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            stop(qemu)
            qemu_out = qemu.stdout.read() if qemu.stdout else ""
            print(f"FAIL: QEMU still running after {args.timeout}s")
            print(open(serial_path, errors="replace").read() if os.path.exists(serial_path) else "")
            return 1
        elapsed = time.monotonic() - started
        if sampler:
            # The daemon is reaped later: the children's usage grew by QEMU's alone.
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            threads = sampler.stop()
            process_s = (after.ru_utime - children_before.ru_utime
                         + after.ru_stime - children_before.ru_stime)
            print("BENCH " + json.dumps({"name": "unikernel_qemu_cpu", "wall_s": round(elapsed, 3),
                                         "process_cpu_s": round(process_s, 3),
                                         "threads_cpu_s": threads}), flush=True)
        serial = open(serial_path, errors="replace").read() if os.path.exists(serial_path) else ""
        print("--- serial ---\n" + serial + "--- qemu ---\n" + qemu_out, flush=True)

        ok = True
        if qemu.returncode != args.expect_status:
            print(f"FAIL: QEMU exit status {qemu.returncode}, expected {args.expect_status}")
            ok = False
        lines = serial.splitlines()
        for pattern in args.expect:
            if not any(re.search(pattern, l) for l in lines):
                print(f"FAIL: no serial line matches {pattern!r}")
                ok = False
        if re.search(r"vhost\S* failed|Error starting vhost|vhost-user.*error", qemu_out, re.I):
            print("FAIL: QEMU reports a vhost-user failure")
            ok = False
        if args.daemon == "cxx":
            # Ours exits 0 once QEMU, its front-end, is gone. A daemon the seccomp filter
            # killed (SIGSYS: -31) or that crashed fails the run, even if the guest passed.
            for d in [daemon] + extra_daemons:
                try:
                    status = d.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    continue
                if status != 0:
                    print(f"FAIL: virtiofsd-cxx exit status {status}")
                    ok = False
        if args.host_pattern and not selftest_pattern.check_host_patterns(shared,
                                                                          args.host_pattern):
            ok = False
        image_bytes = os.path.getsize(args.image)
        print(f'BENCH {{"name":"unikernel_qemu_run","machine":"{args.machine}",'
              f'"daemon":"{"9p" if args.p9_tag else args.daemon}","wall_s":{elapsed:.3f},"image_file_bytes":{image_bytes}}}')
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        stop(qemu)
        stop(daemon)
        for d in extra_daemons:
            stop(d)
        if daemon is not None and os.path.exists(os.path.join(work, "daemon.log")):
            log = open(os.path.join(work, "daemon.log"), errors="replace").read()
            print("--- daemon ---\n" + log[-2000:])
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
