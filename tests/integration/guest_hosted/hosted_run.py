#!/usr/bin/env python3
"""Runs a hosted guest app (guest/hosted/: the unikernel's virtio-fs stack as a Linux
program) against a vhost-user-fs daemon serving a fresh directory, and checks it.

The share holds hello.txt ("hello from the host\\n"). With --host-change it also holds
host-change.txt ("before\\n"); once the app creates guest-waiting, this script rewrites
host-change.txt to "after\\n" while the app runs (the cache=never test). Asserts the exit
status and that every --expect regex matches an output line. Exit 0 pass, 1 fail, 77 skip (a
peer unavailable outside CI; under CI=true that is a failure).
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tools", "peers"))
import peers  # noqa: E402
sys.path.insert(0, os.path.join(HERE, "..", "..", "e2e"))
import selftest_pattern  # noqa: E402


def daemon_command(kind, binary, socket, shared, extra):
    if kind == "cxx":
        return [binary, f"--socket-path={socket}", f"--shared-dir={shared}"] + extra
    wrapper = peers.rust_virtiofsd()
    if wrapper is None:
        return None
    return [wrapper, f"--socket-path={socket}", f"--shared-dir={shared}"] + extra


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--app", required=True)
    ap.add_argument("--daemon", default="cxx", choices=["cxx", "rust"])
    ap.add_argument("--daemon-bin")
    ap.add_argument("--daemon-arg", action="append", default=[])
    ap.add_argument("--devices", type=int, default=1, help="daemons, tags myfs, myfs2, ...")
    ap.add_argument("--host-change", action="store_true")
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("--host-pattern", action="append", default=[], metavar="NAME:SEED:SIZE",
                    help="a file the guest must leave in the (first) shared folder, holding "
                         "the selftest pattern")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("args", nargs="*", help="app arguments (after --)")
    a = ap.parse_args()

    work = tempfile.mkdtemp(prefix="vfs-hosted-")
    daemons = []
    try:
        fs_args = []
        for i in range(a.devices):
            shared = os.path.join(work, f"shared{i}")
            os.mkdir(shared)
            with open(os.path.join(shared, "hello.txt"), "w") as f:
                f.write("hello from the host\n")
            if a.host_change:
                with open(os.path.join(shared, "host-change.txt"), "w") as f:
                    f.write("before\n")
            sock = os.path.join(work, f"fs{i}.sock")
            cmd = daemon_command(a.daemon, a.daemon_bin, sock, shared, a.daemon_arg)
            if cmd is None:
                return peers.unavailable(f"the {a.daemon} daemon")
            log = open(os.path.join(work, f"daemon{i}.log"), "w")
            daemons.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True))
            deadline = time.monotonic() + 15
            while not os.path.exists(sock):
                if daemons[-1].poll() is not None or time.monotonic() > deadline:
                    print("FAIL: daemon did not create its socket")
                    print(open(os.path.join(work, f"daemon{i}.log")).read())
                    return 1
                time.sleep(0.05)
            fs_args.append(f"fs={'myfs' if i == 0 else f'myfs{i + 1}'}@{sock}")

        done = threading.Event()
        changed = []

        def change_when_waiting():
            shared = os.path.join(work, "shared0")
            while not done.is_set():
                if os.path.exists(os.path.join(shared, "guest-waiting")):
                    with open(os.path.join(shared, "host-change.txt.new"), "w") as f:
                        f.write("after\n")
                    os.rename(os.path.join(shared, "host-change.txt.new"),
                              os.path.join(shared, "host-change.txt"))
                    changed.append(True)
                    return
                time.sleep(0.01)

        watcher = None
        if a.host_change:
            watcher = threading.Thread(target=change_when_waiting)
            watcher.start()
        cmd = [a.app] + fs_args + a.args
        print("+ " + " ".join(cmd), flush=True)
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout)
            out, status = p.stdout + p.stderr, p.returncode
        except subprocess.TimeoutExpired as e:
            out, status = (e.stdout or b"").decode(errors="replace"), "timeout"
        done.set()
        if watcher:
            watcher.join()
        print(out)
        ok = status == 0
        if not ok:
            print(f"FAIL: app exit status {status}")
        for pat in a.expect:
            if not any(re.search(pat, l) for l in out.splitlines()):
                print(f"FAIL: no output line matches {pat!r}")
                ok = False
        if a.host_pattern and not selftest_pattern.check_host_patterns(
                os.path.join(work, "shared0"), a.host_pattern):
            ok = False
        if a.host_change and not changed:
            print("FAIL: the app never asked for the host change")
            ok = False
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        for d in daemons:
            if d.poll() is None:
                d.send_signal(signal.SIGTERM)
                try:
                    d.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    d.kill()
                    d.wait()
        for i in range(len(daemons)):
            path = os.path.join(work, f"daemon{i}.log")
            if os.path.exists(path):
                print(f"--- daemon {i} ---\n" + open(path, errors="replace").read()[-3000:])
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
