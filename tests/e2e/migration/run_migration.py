#!/usr/bin/env python3
"""Live migration e2e (issue 16): two QEMU 11.1 instances on this machine, a source and a
destination started with -incoming, each with its own daemon on the same shared folder.
A Debian Linux guest holds two files open and keeps appending to them (guest_migrate.sh);
the host renames one of them before the migration (find-paths must follow the rename),
migrates over QMP to a Unix socket, and then checks that the guest went on writing through
the same fds on the destination and that every line it wrote is on the host. The guest
also reads random blobs from the share, one per line written, round after round with its
page cache dropped in between, across the migration (FUSE READs: the daemon writes guest
RAM, which its dirty log must mark while QEMU copies RAM) until the host says it runs on
the destination; it then prints each blob's checksum from its page cache, and the host
compares every one with what it wrote.

    run_migration.py --daemon-bin build/host-daemon/virtiofsd-cxx \
        --probe build/tests/e2e/linux/vfs-probe --case live
    run_migration.py ... --case refused   # the destination's share lacks the open files,
                                          # --migration-on-error=abort: the migration
                                          # fails and the guest carries on on the source
    run_migration.py ... --pair rust      # Rust virtiofsd at both ends

Exit status 0 only if every check passed; 77 (skip) when a peer is missing outside CI.
"""
import argparse
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "linux"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tools", "peers"))
import guest_vm  # noqa: E402
import peers  # noqa: E402


def log(msg):
    print(f"[migration] {msg}", flush=True)


class Qmp:
    """A minimal QMP client over QEMU's Unix socket."""

    def __init__(self, path, timeout=30):
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        self.buf = b""
        self._read()  # the greeting
        self.cmd("qmp_capabilities")

    def _read(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("QMP closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, **arguments):
        msg = {"execute": name}
        if arguments:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = self._read()
            if "return" in r or "error" in r:
                return r


def serial_lines(path):
    try:
        with open(path, errors="replace") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    # Complete lines only: a line QEMU is still writing (a MIG-DONE cut after "r=2f")
    # must not be read as the guest's answer.
    lines = data.splitlines()
    if data and not data.endswith(("\n", "\r")):
        lines.pop()
    return lines


def wait_for(pred, timeout, what, procs=()):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = pred()
        if got:
            return got
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"{what}: a process exited early (status {p.returncode})")
        time.sleep(0.2)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


def last_tick(lines):
    ticks = [int(l.split()[1]) for l in lines if l.startswith("MIG-TICK ")]
    return ticks[-1] if ticks else 0


NBLOBS = 128
BLOB_BYTES = 64 * 1024


def make_blobs(share):
    """Random blobs the guest reads across the migration; returns their md5s."""
    d = os.path.join(share, "blobs")
    os.makedirs(d)
    sums = []
    for k in range(NBLOBS):
        data = os.urandom(BLOB_BYTES)
        with open(os.path.join(d, f"b{k}"), "wb") as f:
            f.write(data)
        sums.append(hashlib.md5(data).hexdigest())
    return sums


def daemon_cmd(args, kind, sock, share, extra):
    # --cache=always (FOPEN_KEEP_CACHE): the guest keeps its page cache across opens, so its
    # final checksums read the pages the daemon filled on the source, not fresh READs.
    if kind == "cxx":
        # The defaults (--sandbox=namespace --seccomp=kill) on: migration must work confined.
        return [args.daemon_bin, f"--socket-path={sock}", f"--shared-dir={share}", "--cache=always",
                *extra]
    return [args.rust_bin, f"--socket-path={sock}", f"--shared-dir={share}", "--cache=always",
            "--sandbox=none", "--seccomp=none", *extra]


def qemu_cmd(args, sock, qmp, serial, incoming=None):
    cmd = [args.qemu, "-machine", "pc", "-accel", "tcg", "-cpu", "max", "-smp", "1",
           "-m", "512", "-object", "memory-backend-memfd,id=mem,size=512M,share=on",
           "-numa", "node,memdev=mem", "-nic", "none",
           "-chardev", f"socket,id=vfs,path={sock}",
           "-device", "vhost-user-fs-pci,chardev=vfs,tag=migfs,queue-size=1024",
           "-kernel", args.vmlinuz, "-initrd", args.initramfs,
           # init_on_alloc=0: Debian's kernel zeroes every page it allocates, a vCPU write
           # QEMU tracks itself, which would hide a page-cache page the daemon filled but
           # did not mark (only the daemon writes it then).
           "-append", "console=ttyS0 panic=-1 quiet init_on_alloc=0 vfs.tag=migfs "
           "vfs.script=migrate vfs.cache=auto",
           "-display", "none", "-serial", f"file:{serial}", "-monitor", "none", "-no-reboot",
           "-qmp", f"unix:{qmp},server=on,wait=off"]
    if incoming:
        cmd += ["-incoming", incoming]
    return cmd


def run(args, work):
    results = {}
    share = os.path.join(work, "share")
    os.makedirs(share)
    blob_sums = make_blobs(share)
    # The refused case: the destination serves a copy of the share that lacks the files
    # the guest holds open, so the state names paths the destination cannot find.
    dst_share = share
    if args.case == "refused":
        dst_share = os.path.join(work, "share-dst")
        os.makedirs(dst_share)
    src_sock, dst_sock = os.path.join(work, "src.sock"), os.path.join(work, "dst.sock")
    mig_sock = os.path.join(work, "mig.sock")
    src_serial, dst_serial = os.path.join(work, "src-serial.log"), os.path.join(work, "dst-serial.log")
    src_qmp, dst_qmp = os.path.join(work, "src.qmp"), os.path.join(work, "dst.qmp")
    extra = ["--migration-on-error=abort"] if args.kind == "cxx" else []
    procs = []
    try:
        src_d = guest_vm.start_daemon(daemon_cmd(args, args.kind, src_sock, share, extra), src_sock,
                                      os.path.join(work, "src-daemon.log"))
        procs.append(src_d)
        dst_d = guest_vm.start_daemon(daemon_cmd(args, args.kind, dst_sock, dst_share, extra),
                                      dst_sock, os.path.join(work, "dst-daemon.log"))
        procs.append(dst_d)
        src_log = open(os.path.join(work, "src-qemu.log"), "w")
        src_cmd = qemu_cmd(args, src_sock, src_qmp, src_serial)
        log("source: " + " ".join(src_cmd))
        src = subprocess.Popen(src_cmd, stdout=src_log, stderr=subprocess.STDOUT)
        procs.append(src)
        dst_log = open(os.path.join(work, "dst-qemu.log"), "w")
        dst_cmd = qemu_cmd(args, dst_sock, dst_qmp, dst_serial, f"unix:{mig_sock}")
        log("destination: " + " ".join(dst_cmd))
        dst = subprocess.Popen(dst_cmd, stdout=dst_log, stderr=subprocess.STDOUT)
        procs.append(dst)

        wait_for(lambda: last_tick(serial_lines(src_serial)) >= 40, 150,
                 "the guest writing on the source", [src, dst])
        # find-paths must follow a rename the host makes while the guest holds the file.
        os.rename(os.path.join(share, "renamed-src.txt"), os.path.join(share, "renamed-dst.txt"))
        before = last_tick(serial_lines(src_serial))
        log(f"guest at line {before}; migrating")
        qmp = Qmp(src_qmp)
        dst_qmp_conn = Qmp(dst_qmp)  # it answers: it is waiting for the stream
        # The return path: the source hears of a destination that fails to load (our
        # daemon's CHECK_DEVICE_STATE failing), fails the migration and resumes the guest;
        # without it the source reports "completed" and stays paused.
        for q in (qmp, dst_qmp_conn):
            r = q.cmd("migrate-set-capabilities",
                      capabilities=[{"capability": "return-path", "state": True}])
            if "return" not in r:
                raise RuntimeError(f"migrate-set-capabilities refused: {r}")
        # RAM copied at 16 MiB/s: the first pass (~90 MiB of non-zero pages) takes several
        # seconds, so the guest's READs land on pages QEMU has already sent, which only the
        # daemon's dirty log brings across again.
        r = qmp.cmd("migrate-set-parameters", **{"max-bandwidth": 16 << 20})
        if "return" not in r:
            raise RuntimeError(f"migrate-set-parameters refused: {r}")
        t_migrate = time.time()
        r = qmp.cmd("migrate", uri=f"unix:{mig_sock}")
        results["qmp_migrate_accepted"] = "PASS" if "return" in r else f"FAIL {r}"
        if "return" not in r:
            raise RuntimeError(f"migrate refused: {r}")

        seen = []

        def migration_over():
            info = qmp.cmd("query-migrate")["return"]
            s = info.get("status")
            if not seen or seen[-1] != s:
                seen.append(s)
                log(f"migration status {s} {info.get('error-desc', '')}")
            return info if s in ("completed", "failed", "cancelled") else None

        info = wait_for(migration_over, 120, "the migration to end", [src])
        status = info["status"]
        t_over = time.time()
        ram = info.get("ram", {})
        log(f"migration {status} after {t_over - t_migrate:.1f} s (QEMU: total-time "
            f"{info.get('total-time')} ms, downtime {info.get('downtime')} ms, setup "
            f"{info.get('setup-time')} ms, RAM passes {ram.get('dirty-sync-count')}, "
            f"{ram.get('transferred', 0) >> 20} MiB sent, {ram.get('normal', 0)} normal pages, "
            f"{ram.get('duplicate', 0)} zero pages)")
        log(f"migration info: {json.dumps(info)[:1200]}")
        results["timings"] = {"wall_s": round(t_over - t_migrate, 2),
                              "total_time_ms": info.get("total-time"),
                              "downtime_ms": info.get("downtime"),
                              "setup_time_ms": info.get("setup-time"),
                              "dirty_sync_count": ram.get("dirty-sync-count")}
        if args.case == "live":
            results["migration_completed"] = "PASS" if status == "completed" else f"FAIL {status}"
            # The guest stops refilling its page cache: what it holds now was read on the source.
            open(os.path.join(share, "on-destination"), "w").close()
            qmp.cmd("quit")
            src.wait(timeout=30)
            # The guest goes on on the destination, through the same fds.
            wait_for(lambda: last_tick(serial_lines(dst_serial)) > 0, 60,
                     "the guest writing on the destination", [dst])
            resumed_at = last_tick(serial_lines(dst_serial))
            wait_for(lambda: last_tick(serial_lines(dst_serial)) >= resumed_at + 40, 60,
                     "the guest going on writing on the destination", [dst])
        else:
            results["migration_refused"] = "PASS" if status == "failed" else f"FAIL {status}"
            dst.wait(timeout=30)
            results["destination_gave_up"] = "PASS" if dst.returncode != 0 else "FAIL exit 0"
            results["source_still_running"] = "PASS" if src.poll() is None else "FAIL exited"
            after = before
            wait_for(lambda: last_tick(serial_lines(src_serial)) >= after + 40, 120,
                     "the guest writing on the source after the refusal", [src])
        runner, serial = (dst, dst_serial) if args.case == "live" else (src, src_serial)
        open(os.path.join(share, "stop"), "w").close()
        done = wait_for(lambda: [l for l in serial_lines(serial) if l.startswith("MIG-DONE")], 90,
                        "the guest to finish", [runner])[0]
        runner.wait(timeout=60)
        fields = dict(kv.split("=", 1) for kv in done.split()[1:])
        n = int(fields["lines"])
        results["guest_write_errors_0"] = "PASS" if fields["errs"] == "0" else f"FAIL {done}"
        results["guest_continued"] = "PASS" if n > before + 20 else f"FAIL {n} <= {before}+20"
        want_a = "".join(f"a {i}\n" for i in range(1, n + 1))
        want_r = "".join(f"r {i}\n" for i in range(1, n + 1))
        with open(os.path.join(share, "log-a.txt")) as f:
            got_a = f.read()
        with open(os.path.join(share, "renamed-dst.txt")) as f:
            got_r = f.read()
        results["host_every_line_a"] = "PASS" if got_a == want_a else f"FAIL {len(got_a)} vs {len(want_a)} bytes"
        results["host_every_line_renamed"] = "PASS" if got_r == want_r else f"FAIL {len(got_r)} vs {len(want_r)} bytes"
        results["guest_checksum_matches_host"] = "PASS" if (
            fields["a"] == hashlib.md5(got_a.encode()).hexdigest()
            and fields["r"] == hashlib.md5(got_r.encode()).hexdigest()) else f"FAIL {done}"
        blobs = {}
        for l in serial_lines(serial):
            if l.startswith("MIG-BLOB "):
                parts = l.split()
                if len(parts) == 3:
                    blobs[int(parts[1])] = parts[2]
        bad = [k for k in range(NBLOBS) if blobs.get(k) != blob_sums[k]]
        results["guest_read_every_blob_byte"] = (
            "PASS" if not bad else f"FAIL {len(bad)} of {NBLOBS} blobs differ: {bad[:10]}")
        counts = {"lines_per_file": n, "bytes_a": len(got_a), "bytes_renamed": len(got_r),
                  "blobs_checked": NBLOBS - len(bad), "blob_bytes": NBLOBS * BLOB_BYTES,
                  "line_before_migration": before}
        frozen = [l for l in serial_lines(serial) if l.startswith("MIG-FROZEN")]
        if frozen:
            counts["guest_stopped_reading"] = frozen[0].split(" ", 1)[1]
        log(f"data checked: {json.dumps(counts)}")
        results["counts"] = counts
        results["session_serves_new_files"] = "PASS" if os.path.exists(
            os.path.join(share, "after.txt")) else "FAIL no after.txt"
        if args.kind == "cxx":
            dlog = open(os.path.join(work, "dst-daemon.log")).read()
            slog = open(os.path.join(work, "src-daemon.log")).read()
            results["source_daemon_saved"] = "PASS" if "migration: saved" in slog else "FAIL"
            if args.case == "live":
                results["destination_daemon_loaded"] = "PASS" if "migration: loaded" in dlog else "FAIL"
            else:
                results["destination_daemon_refused"] = "PASS" if "cannot be re-established" in dlog else "FAIL"
        for name, d in (("source", src_d), ("destination", dst_d)):
            try:
                d.wait(timeout=15)
            except subprocess.TimeoutExpired:
                d.kill()
                d.wait()
            if args.kind == "cxx":
                results[f"{name}_daemon_exit_not_signal"] = (
                    "PASS" if d.returncode >= 0 else f"FAIL signal {-d.returncode}")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--daemon-bin", required=True)
    ap.add_argument("--probe", required=True, help="vfs-probe (for the initramfs)")
    ap.add_argument("--case", choices=["live", "refused"], default="live")
    ap.add_argument("--pair", choices=["cxx", "rust"], default="cxx", help="the daemon at both ends")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    args.kind = args.pair
    args.qemu = peers.qemu_11()
    if args.qemu is None:
        return peers.unavailable("QEMU 11.1 (tools/peers/get-qemu.sh)")
    if args.pair == "rust":
        args.rust_bin = peers.rust_virtiofsd()
        if args.rust_bin is None:
            return peers.unavailable("Rust virtiofsd (tools/peers/get-virtiofsd.sh)")
    work = tempfile.mkdtemp(prefix="vfs-migration-")
    try:
        args.vmlinuz, args.initramfs = guest_vm.prepare_boot(args.probe, work)
    except guest_vm.KernelUnavailable as e:
        return peers.unavailable(f"the Debian guest kernel ({e})")
    t0 = time.time()
    try:
        results = run(args, work)
    except Exception as e:  # a hang or an early exit is a failed run, with its logs
        results = {"run": f"FAIL {e}"}
    log(f"took {time.time() - t0:.0f} s")
    info = {k: results.pop(k) for k in ("timings", "counts") if k in results}
    failed = [k for k, v in results.items() if v != "PASS"]
    for k, v in results.items():
        log(f"{v:5s} {k}")
    for k, v in info.items():
        log(f"{k}: {json.dumps(v)}")
    if failed:
        for name in ("src-daemon.log", "dst-daemon.log", "src-qemu.log", "dst-qemu.log",
                     "src-serial.log", "dst-serial.log"):
            path = os.path.join(work, name)
            if os.path.exists(path):
                log(f"--- {name} (last lines)")
                print("\n".join(serial_lines(path)[-25:]))
    if not args.keep and not failed:
        shutil.rmtree(work, ignore_errors=True)
    else:
        log(f"work directory kept: {work}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
