#!/usr/bin/env python3
"""pjdfstest in the e2e Linux guest, by hand (a recorded measurement, not a ctest; the
suite is never fetched or built by the tree). PJDFSTEST is an upstream pjd/pjdfstest
checkout built with `make LDFLAGS=-static`, with docs/security.md's two edits to
tests/conf and tests/misc.sh. Its tests/ and binary go into a second cpio appended to
the e2e initramfs; guest_pjdfstest.sh runs the chosen groups and leaves each file's
output in the share, which this script counts.

    run_pjdfstest.py --pjdfstest /tmp/pjdfstest --daemon-bin build/host-daemon/virtiofsd-cxx \
        --probe build/tests/e2e/linux/vfs-probe --groups chmod,chown --out results.json
    run_pjdfstest.py ... --daemon rust      # Rust virtiofsd 1.13 (tools/peers) instead

Prints one line per file (assertions, failures, TODO-marked failures) and every failing
assertion; exit status 0 if every chosen file ran to its plan.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import guest_vm

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tools", "peers"))
import peers  # noqa: E402


def pjd_initramfs(base, pjdfstest, workdir):
    """The e2e initramfs with /pjd (tests/ and the static binary) and this directory's
    guest_pjdfstest.sh in place of guest_fs_test.sh appended as a second cpio."""
    stage = os.path.join(workdir, "pjd-stage")
    os.makedirs(os.path.join(stage, "bin"))
    shutil.copytree(os.path.join(pjdfstest, "tests"), os.path.join(stage, "pjd", "tests"))
    shutil.copy2(os.path.join(pjdfstest, "pjdfstest"), os.path.join(stage, "pjd", "pjdfstest"))
    shutil.copy2(os.path.join(HERE, "guest_pjdfstest.sh"), os.path.join(stage, "bin", "guest_fs_test.sh"))
    # utimensat/*.t ask `id -u nobody` and `id -u root`: Debian's ids.
    os.makedirs(os.path.join(stage, "etc"))
    with open(os.path.join(stage, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n")
    with open(os.path.join(stage, "etc", "group"), "w") as f:
        f.write("root:x:0:\nnogroup:x:65534:\n")
    out = os.path.join(workdir, "initramfs-pjd.cpio.gz")
    subprocess.run(f"cat {base} > {out} && cd {stage} && find . | cpio -o -H newc --quiet | gzip -1 >> {out}",
                   shell=True, check=True)
    return out


def count(path):
    """(plan, ok, failures, skipped) of one .t file's output. A file that only printed
    misc.sh's quick_exit ("1..1", "ok 1") does not apply here (chflags, UFS/ZFS only,
    st_birthtime, ...): skipped, its one "ok" not counted."""
    plan, ok, fails = 0, 0, []
    with open(path, errors="replace") as f:
        text = f.read()
    for line in text.splitlines():
        m = re.match(r"^1\.\.(\d+)", line)
        if m:
            plan = int(m.group(1))
        elif line.startswith("ok "):
            ok += 1
        elif line.startswith("not ok"):
            fails.append(line)
    skipped = text == "1..1\nok 1\n"
    return plan, ok, fails, skipped


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pjdfstest", required=True, help="a built pjd/pjdfstest checkout")
    ap.add_argument("--daemon", default="cxx", choices=["cxx", "rust"])
    ap.add_argument("--daemon-bin", help="virtiofsd-cxx (with --daemon cxx)")
    ap.add_argument("--probe", required=True, help="vfs-probe (for the base initramfs)")
    ap.add_argument("--groups", default="", help="comma-separated tests/ groups (default all)")
    ap.add_argument("--jobs", type=int, default=2, help=".t files run at once in the guest")
    ap.add_argument("--file-limit", type=int, default=1200, help="seconds per .t file")
    ap.add_argument("--timeout", type=int, default=2400, help="seconds for the whole VM")
    ap.add_argument("--out", help="JSON of every file's counts and failures")
    ap.add_argument("--daemon-arg", action="append", default=[])
    args = ap.parse_args()
    if args.daemon == "cxx" and not args.daemon_bin:
        ap.error("--daemon cxx needs --daemon-bin")

    workdir = tempfile.mkdtemp(prefix="vfs-pjd-")
    vmlinuz, base = guest_vm.prepare_boot(args.probe, workdir)
    initramfs = pjd_initramfs(base, args.pjdfstest, workdir)
    share = os.path.join(workdir, "share")
    os.makedirs(share)
    sock = os.path.join(workdir, "vfs.sock")
    if args.daemon == "cxx":
        cmd = [args.daemon_bin, f"--socket-path={sock}", f"--shared-dir={share}",
               "--cache=never", "--xattr", *args.daemon_arg]
    else:
        rust = peers.rust_virtiofsd()
        if rust is None:
            sys.exit("run_pjdfstest: Rust virtiofsd 1.13 is not available (tools/peers)")
        cmd = [rust, f"--socket-path={sock}", f"--shared-dir={share}",
               "--cache=never", "--xattr", *args.daemon_arg]
    print("[pjd] " + " ".join(cmd), flush=True)
    daemon = guest_vm.start_daemon(cmd, sock, os.path.join(workdir, "daemon.log"))
    append = (f"console=ttyS0 panic=-1 quiet vfs.tag=e2efs vfs.script=full vfs.cache=never "
              f"vfs.pjd={args.groups} vfs.pjd_jobs={args.jobs} vfs.pjd_limit={args.file_limit}")
    qemu_cmd = [
        "qemu-system-x86_64", "-machine", "pc", "-accel", "tcg", "-cpu", "max", "-smp", "2",
        "-m", "1024", "-object", "memory-backend-memfd,id=mem,size=1024M,share=on",
        "-numa", "node,memdev=mem", "-chardev", f"socket,id=vfs,path={sock}",
        "-device", "vhost-user-fs-pci,chardev=vfs,tag=e2efs,queue-size=1024,num-request-queues=1",
        "-kernel", vmlinuz, "-initrd", initramfs, "-append", append,
        "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot"]
    print("[pjd] " + " ".join(qemu_cmd), flush=True)
    start = time.time()
    qemu = subprocess.Popen(qemu_cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, errors="replace")
    timer = threading.Timer(args.timeout, qemu.kill)
    timer.start()
    done = False
    with open(os.path.join(workdir, "qemu.log"), "w") as serial:
        for line in qemu.stdout:
            serial.write(line)
            if "E2E-" in line:
                print("[pjd] guest: " + line.rstrip(), flush=True)
            done = done or "E2E-PJD done" in line
    qemu.wait()
    timer.cancel()
    daemon.terminate()
    status = daemon.wait(10)
    print(f"[pjd] VM {time.time() - start:.0f}s, daemon exit status {status}, workdir {workdir}")

    results, total, failed, todo, skips = {}, 0, 0, 0, 0
    complete = done and status == 0
    rdir = os.path.join(share, "pjd-results")
    for name in sorted(os.listdir(rdir)) if os.path.isdir(rdir) else []:
        plan, ok, fails, skipped = count(os.path.join(rdir, name))
        ran = ok + len(fails)
        if skipped:
            results[name] = {"skipped": True}
            skips += 1
            print(f"  {name:28} skipped (quick_exit: not for Linux/this fs)")
            continue
        ftodo = sum(1 for f in fails if "# TODO" in f)
        results[name] = {"plan": plan, "ok": ok, "failed": fails}
        total, failed, todo = total + ran, failed + len(fails), todo + ftodo
        cut = "" if ran == plan else f" INCOMPLETE ({ran} of {plan})"
        complete = complete and ran == plan
        print(f"  {name:28} {ran:5} run {len(fails):4} failed ({ftodo} TODO){cut}")
        for f in fails:
            print(f"      {f}")
    print(f"pjdfstest: {len(results)} files ({skips} skipped), {total} assertions, {failed} failed "
          f"({todo} of them pjdfstest TODOs){'' if complete else ', NOT COMPLETE'}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
