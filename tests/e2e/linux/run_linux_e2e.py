#!/usr/bin/env python3
"""End-to-end test: a real Debian bookworm kernel in QEMU (TCG) mounts a folder served by
a vhost-user-fs daemon, runs guest_fs_test.sh on it, and the host then checks the files it
left behind byte for byte. It also changes files while the guest runs and checks that the
guest sees the changes.

    run_linux_e2e.py --daemon cxx --daemon-bin build/host-daemon/virtiofsd-cxx \
        --probe build/tests/e2e/linux/vfs-probe --cache auto --queues 1 --script full
    run_linux_e2e.py ... --compare-with rust   # differential run against Rust virtiofsd
    run_linux_e2e.py ... --dax always          # DAX: QEMU 11.1, vhost-user-test-device-pci,
                                               # the daemon with --dax-window, dax=always

Exit status 0 only if every guest and host check passed (and, with --compare-with, the
two daemons agreed or differed only where EXPECTED_DIFFERENCES says why).
"""
import argparse
import fcntl
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

import guest_vm

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tools", "peers"))
import peers  # noqa: E402

HOST_FILE_SIZE = 3145851  # 3 MiB and a ragged tail
HOST_FILE_SEED = 11

# Where our daemon and Rust virtiofsd 1.13 legitimately behave differently, and why.
# Keys are check names; a difference not listed here fails the differential run.
EXPECTED_DIFFERENCES = {}
# Checks only our daemon is put to (the peer is not ours to hold to an exit status).
OURS_ONLY_CHECKS = {"daemon_exit_status_0"}


def log(msg):
    print(f"[e2e] {msg}", flush=True)


def prepare_share(share, probe):
    os.makedirs(share)
    with open(os.path.join(share, "shared.txt"), "w") as f:
        f.write("original\n")
    with open(os.path.join(share, "host-deleted.txt"), "w") as f:
        f.write("to be deleted\n")
    subprocess.run([probe, "pattern", os.path.join(share, "host.bin"), str(HOST_FILE_SIZE),
                    str(HOST_FILE_SEED)], check=True)
    hostdir = os.path.join(share, "hostdir")
    os.makedirs(hostdir)
    for i in range(5000):
        open(os.path.join(hostdir, f"h{i:05d}"), "w").close()
    owned = os.path.join(share, "host-owned-101000")
    open(owned, "w").close()
    if os.geteuid() == 0:
        os.chown(owned, 101000, 101000)


def hold_host_locks(share):
    """With remote locks on, the host holds a write lock on bytes 0-9 of host-locked and an
    exclusive flock on it for the whole run; the guest's `host_locks_seen` check must see
    both through the daemon. Returns the open files, which hold the locks."""
    path = os.path.join(share, "host-locked")
    with open(path, "w") as f:
        f.write("x" * 200)
    record = open(path, "r+")
    fcntl.lockf(record, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)
    whole = open(path, "r+")
    fcntl.flock(whole, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return [record, whole]


def change_share_from_host(share):
    with open(os.path.join(share, "shared.txt.tmp"), "w") as f:
        f.write("changed-by-the-host\n")
    # Rewrite in place (same inode), as an editor that truncates would.
    with open(os.path.join(share, "shared.txt"), "w") as f:
        f.write("changed-by-the-host\n")
    os.unlink(os.path.join(share, "shared.txt.tmp"))
    with open(os.path.join(share, "host-new.txt"), "w") as f:
        f.write("new-from-host\n")
    os.unlink(os.path.join(share, "host-deleted.txt"))
    open(os.path.join(share, "host-changed"), "w").close()


def host_checks(share, probe, script):
    """What the guest left behind, checked on the host side of the share."""
    w = os.path.join(share, "guest")
    results = {}

    def check(name, fn):
        try:
            ok = fn()
            results[name] = "PASS" if ok else "FAIL"
        except Exception as e:  # a missing file is a failed check, not a crash
            results[name] = f"FAIL {e}"

    def read(path, mode="r"):
        with open(os.path.join(w, path), mode) as f:
            return f.read()

    def probe_verify(path, size, seed):
        return subprocess.run([probe, "verify", os.path.join(w, path), str(size), str(seed)]).returncode == 0

    if script == "xattrmap":
        xm = os.path.join(w, "xm")
        check("host_xattrmap_trusted", lambda: os.getxattr(xm, "user.virtiofs.trusted.foo") == b"bar")
        check("host_xattrmap_security", lambda: os.getxattr(
            xm, "user.virtiofs.security.selinux") == b"system_u:object_r:e2e_t:s0")
        check("host_xattrmap_names", lambda: sorted(os.listxattr(xm)) == [
            "user.virtiofs.security.selinux", "user.virtiofs.trusted.foo"])
    if script == "idmap":
        def owner(path):
            st = os.lstat(os.path.join(w, path))
            return (st.st_uid, st.st_gid)
        # map:1000:101000:1 for uids and gids: the guest's 1000 is stored as 101000.
        check("host_idmap_file_owner", lambda: owner("by1000") == (101000, 101000))
        check("host_idmap_dir_owner", lambda: owner("dir1000") == (101000, 101000))
        check("host_idmap_chown_owner", lambda: owner("chowned") == (101000, 101000))
        check("host_idmap_no_forbidden_file", lambda: not os.path.exists(os.path.join(w, "by5000")))
        return results
    if script not in ("full", "basic"):
        return results  # other scripts (netfs_killed) leave nothing to check
    check("host_a_txt", lambda: read("a.txt", "rb") == b"hel" + b"\0" * (100000 - 3))
    check("host_small_writes", lambda: probe_verify("small-writes.bin", 300000, 5))
    if script == "full":
        check("host_big_file", lambda: probe_verify("big.bin", 67108864, 7))
        check("host_big_checksum", lambda: read("big.sha256").strip() == subprocess.run(
            ["sha256sum", os.path.join(w, "big.bin")], capture_output=True, text=True).stdout.split()[0])
        check("host_rename", lambda: read("r2") == "r\n" and not os.path.exists(os.path.join(w, "r1")))
        check("host_exchange", lambda: read("x1") == "y\n" and read("y1") == "x\n")
        check("host_hardlink", lambda: os.stat(os.path.join(w, "l1")).st_ino == os.stat(os.path.join(w, "l2")).st_ino)
        check("host_symlink", lambda: os.readlink(os.path.join(w, "sym")) == "../host.bin")
        check("host_dirs", lambda: os.path.isdir(os.path.join(w, "d1/d2")) and not os.path.exists(os.path.join(w, "d1/d2/d3")))
        check("host_readdir_5000", lambda: len(os.listdir(os.path.join(w, "many"))) == 5000)
        st = None
        try:
            st = os.stat(os.path.join(w, "meta"))
        except OSError:
            pass
        check("host_chmod", lambda: stat.S_IMODE(st.st_mode) == 0o640)
        check("host_chown", lambda: (st.st_uid, st.st_gid) == (1234, 5678))
        check("host_utimes", lambda: int(st.st_mtime) == 1234567890 and int(st.st_atime) == 1000000000)
        check("host_xattr", lambda: os.getxattr(os.path.join(w, "meta"), "user.vfs") == b"hello-xattr"
              and "user.gone" not in os.listxattr(os.path.join(w, "meta")))
        check("host_o_direct", lambda: probe_verify("direct.bin", 1048576, 9))
        check("host_overwrite_in_place", lambda: read("inplace") == "abcXYfgQij")
        check("host_copy_file_range", lambda: probe_verify("copy.bin", HOST_FILE_SIZE, HOST_FILE_SEED))
    return results


def start_daemon(kind, binary, sock, share, cache, log_path, extra=()):
    if kind == "cxx":
        cmd = [binary, f"--socket-path={sock}", f"--shared-dir={share}", f"--cache={cache}",
               "--xattr", *extra]
    elif kind == "rust":
        cmd = [binary, f"--socket-path={sock}", f"--shared-dir={share}", f"--cache={cache}",
               "--xattr", "--sandbox=none", "--seccomp=none"]
    else:
        raise ValueError(kind)
    log(" ".join(cmd))
    return guest_vm.start_daemon(cmd, sock, log_path)


def dax_checks(args, lines, daemon_log):
    """With --dax: the mount shows the option, the daemon served mappings (dax=always) or
    none (dax=never), and QEMU never overflowed the backend's memory table."""
    results = {}
    mounts = [l for l in lines if "E2E-MOUNTS " in l]
    opts = mounts[0].split() if mounts else []
    want = f"dax={args.dax}"
    results["dax_mount_option"] = "PASS" if any(want in o for o in opts) or (
        args.dax == "never" and not any("dax=always" in o for o in opts)) else f"FAIL {mounts}"
    try:
        with open(daemon_log) as f:
            text = f.read()
    except OSError as e:
        text = ""
        log(f"no daemon log: {e}")
    served = [int(l.split("SETUPMAPPING served ")[1].split(",")[0])
              for l in text.splitlines() if "SETUPMAPPING served " in l]
    most = max(served) if served else 0
    log(f"daemon: SETUPMAPPING served {most} (counter lines: {len(served)})")
    if args.dax == "always":
        results["dax_setupmapping_served"] = "PASS" if most > 0 else "FAIL none served"
    else:
        results["dax_no_setupmapping"] = "PASS" if most == 0 else f"FAIL {most} served"
    bad = [l for l in lines if "vhost_set_mem_table failed" in l]
    results["dax_qemu_mem_table_ok"] = "PASS" if not bad else f"FAIL {bad[0]}"
    return results


def qemu_device(args, sock):
    """The QEMU binary and the virtio-fs device arguments."""
    if not args.dax:
        return "qemu-system-x86_64", [
            "-chardev", f"socket,id=vfs,path={sock}",
            "-device", f"vhost-user-fs-pci,chardev=vfs,tag=e2efs,queue-size=1024,num-request-queues={args.queues}"]
    # QEMU 11.1's only device with a shared-memory window; virtio-id 26 is virtio-fs.
    # The tag and queue count come from the daemon's config space (--tag, --num-queues).
    # -nic none: sid's QEMU has no option ROM for the default NIC here.
    return args.qemu, [
        "-nic", "none",
        "-chardev", f"socket,id=vfs,path={sock}",
        "-device", f"vhost-user-test-device-pci,chardev=vfs,virtio-id=26,num_vqs={args.queues + 1},"
                   "config_size=40,vq_size=1024"]


def run_guest(args, kind, workdir, share=None, on_line=None):
    """share: where to create the share (default WORKDIR/share; tests/e2e/sshfs puts it on
    a network file system). on_line(line, daemon, qemu): called for every serial line,
    with the daemon's and QEMU's Popen, while the guest runs."""
    share = share or os.path.join(workdir, "share")
    sock = os.path.join(workdir, "vfs.sock")
    prepare_share(share, args.probe)
    ours = kind == args.daemon
    host_locks = hold_host_locks(share) if ours and "posix_lock" in " ".join(args.daemon_arg) else []
    daemon_bin = args.daemon_bin if kind == args.daemon else args.peer_bin
    extra = list(args.daemon_arg) if kind == args.daemon else []
    mount_opts = ""
    if args.dax:
        extra += [f"--dax-window={args.dax_window}", f"--num-queues={args.queues + 1}",
                  "--tag=e2efs"]
        mount_opts = f" vfs.mountopts=dax={args.dax}"
    daemon_log = os.path.join(workdir, f"{kind}-daemon.log")
    daemon = start_daemon(kind, daemon_bin, sock, share, args.cache, daemon_log, extra)
    qemu_bin, device = qemu_device(args, sock)
    qemu_cmd = [
        qemu_bin, "-machine", "pc", "-accel", "tcg", "-cpu", "max", "-smp", "2",
        "-m", "1024", "-object", "memory-backend-memfd,id=mem,size=1024M,share=on",
        "-numa", "node,memdev=mem",
        *device,
        "-kernel", args.vmlinuz, "-initrd", args.initramfs,
        "-append", f"console=ttyS0 panic=-1 quiet vfs.tag=e2efs vfs.script={args.script} vfs.cache={args.cache}{mount_opts}",
        "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot",
    ]
    log(" ".join(qemu_cmd))
    guest = {}
    lines = []
    qemu = subprocess.Popen(qemu_cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            errors="replace")
    deadline = time.time() + args.timeout
    timer = threading.Timer(args.timeout, qemu.kill)
    timer.start()
    try:
        for line in qemu.stdout:
            line = line.rstrip("\r\n")
            lines.append(line)
            if line.startswith("E2E-") or "E2E-" in line:
                log(f"guest: {line}")
            if on_line:
                on_line(line, daemon, qemu)
            if "E2E-CHECK " in line:
                parts = line[line.index("E2E-CHECK "):].split(" ", 3)
                guest[parts[1]] = parts[2] if len(parts) < 4 else f"{parts[2]} {parts[3]}"
            elif "E2E-PHASE host-change" in line:
                change_share_from_host(share)
        qemu.wait()
    finally:
        timer.cancel()
    with open(os.path.join(workdir, "qemu.log"), "w") as f:
        f.write("\n".join(lines) + "\n")
    ended = any("E2E-END" in l for l in lines)
    if not ended:
        log(f"guest did not finish (timeout {args.timeout}s or crash); last serial lines:")
        for l in lines[-40:]:
            print("    " + l)
    for f in host_locks:
        f.close()
    daemon_status = daemon.poll()
    if daemon_status is None:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon_status = daemon.wait(10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon_status = "killed"
    log(f"{kind} daemon exit status: {daemon_status}; guest took {args.timeout - (deadline - time.time()):.0f}s")
    results = {f"guest_{k}": v for k, v in guest.items()}
    results["guest_finished"] = "PASS" if ended else "FAIL"
    if kind == "cxx":
        # Ours ends with 0 when QEMU goes (or on SIGTERM). A daemon the seccomp filter
        # killed (-31, SIGSYS) or that crashed fails here, even if the guest finished.
        results["daemon_exit_status_0"] = "PASS" if daemon_status == 0 else \
            f"FAIL exit status {daemon_status}"
    results.update(host_checks(share, args.probe, args.script))
    if args.dax:
        results.update(dax_checks(args, lines, daemon_log))
    return results


def report(kind, results):
    failed = [k for k, v in results.items() if v != "PASS"]
    for k, v in sorted(results.items()):
        print(f"  {kind:5} {k:28} {v}")
    return failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", default="cxx", choices=["cxx", "rust"])
    ap.add_argument("--daemon-bin", required=True)
    ap.add_argument("--probe", required=True)
    ap.add_argument("--cache", default="auto")
    ap.add_argument("--queues", type=int, default=1)
    ap.add_argument("--script", default="full", choices=["full", "basic", "xattrmap", "idmap"])
    ap.add_argument("--compare-with", choices=["rust"])
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--kernel-cache", help="default: $VFS_CACHE/kernel")
    ap.add_argument("--json")
    ap.add_argument("--daemon-arg", action="append", default=[],
                    help="an extra flag for our daemon (repeatable)")
    ap.add_argument("--dax", choices=["always", "never"],
                    help="QEMU 11.1 with vhost-user-test-device-pci and a DAX window; the "
                         "guest mounts with dax=always or dax=never")
    ap.add_argument("--dax-window", default="64M")
    args = ap.parse_args()
    if args.dax:
        if args.compare_with:
            ap.error("--dax runs our daemon only")
        args.qemu = peers.qemu_11()
        if args.qemu is None:
            return peers.unavailable("QEMU 11.1 (tools/peers/get-qemu.sh)")

    workdir = tempfile.mkdtemp(prefix="vfs-e2e-")
    try:
        args.vmlinuz, args.initramfs = guest_vm.prepare_boot(args.probe, workdir,
                                                             args.kernel_cache)
    except guest_vm.KernelUnavailable as e:
        print(e)
        return peers.unavailable("Debian bookworm's kernel package (linux-image-amd64)")
    kinds = [args.daemon]
    if args.compare_with:
        args.peer_bin = peers.rust_virtiofsd()
        if args.peer_bin is None:
            return peers.unavailable(f"the {args.compare_with} daemon")
        kinds.append(args.compare_with)
    all_results = {}
    ok = True
    finished = False
    try:
        for kind in kinds:
            d = os.path.join(workdir, kind)
            os.makedirs(d)
            all_results[kind] = run_guest(args, kind, d)
            failed = report(kind, all_results[kind])
            if failed and kind == args.daemon:
                ok = False
                log(f"{kind}: FAILED checks: {', '.join(failed)}")
        if args.compare_with:
            ours, theirs = all_results[args.daemon], all_results[args.compare_with]
            for k in sorted((set(ours) | set(theirs)) - OURS_ONLY_CHECKS):
                a, b = ours.get(k, "missing"), theirs.get(k, "missing")
                if (a == "PASS") != (b == "PASS"):
                    why = EXPECTED_DIFFERENCES.get(k)
                    log(f"difference {k}: {args.daemon}={a} {args.compare_with}={b}" +
                        (f" (expected: {why})" if why else " (UNEXPECTED)"))
                    if not why:
                        ok = False
        if args.json:
            with open(args.json, "w") as f:
                json.dump(all_results, f, indent=2)
        finished = True
    finally:
        if ok and finished and not os.environ.get("VFS_E2E_KEEP"):
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"kept {workdir} (daemon logs, share) for inspection")
    passed = sum(1 for r in all_results.values() for v in r.values() if v == "PASS")
    failed = sum(1 for r in all_results.values() for v in r.values() if v != "PASS")
    print(f"e2e linux: {passed} checks passed, {failed} failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
