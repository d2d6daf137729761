#!/usr/bin/env python3
"""End-to-end test: virtiofsd-cxx serves a directory inside an sshfs mount (Debian's sshfs
over an sshd that this test starts on 127.0.0.1, with its own keys and config), and the
Linux e2e guest (../linux) runs its smoke script over it.

    run_sshfs_e2e.py --daemon-bin build/host-daemon/virtiofsd-cxx \
        --probe build/tests/e2e/linux/vfs-probe --mode default|never|prefer|mandatory|killed

--mode default|never|prefer|mandatory: the inode handling (--inode-file-handles=MODE, or
no flag). The guest runs the `basic` script (or --script full); every check must pass
except those EXPECTED_FAILURES names, with the reason, for that mode. A daemon that
refuses to start must say why (EXPECTED_START_ERRORS), and only where that is expected.
--mode killed: the guest loops I/O (guest_fs_test.sh netfs_killed) and the test SIGKILLs
the sshfs process under it (--mode killed_sshd: the sshd and its sessions instead); the guest must see EIO or ENOTCONN, later calls must fail
promptly, and the daemon must still be running and exit 0 on SIGTERM.

Exit 0 on success, 1 on failure, 77 when a prerequisite is missing outside CI (under
CI=true a missing prerequisite fails; tools/peers/peers.py).
"""
import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "linux"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tools", "peers"))
import guest_vm  # noqa: E402
import peers  # noqa: E402
import run_linux_e2e as linux  # noqa: E402

# Checks of the smoke scripts that cannot pass over sshfs, and why (measured; see
# docs/deploying.md "sshfs"). Keyed by mode; "*" applies to every mode. A listed check
# that passes is reported but does not fail the run; an unlisted failure does.
EXPECTED_FAILURES = {
    "*": {
        # All of these are in the full script only; measured with sshfs 3.7.3 and
        # OpenSSH 9.2's internal-sftp (Debian bookworm).
        "guest_hardlink": "sshfs makes the link on the server (hardlink@openssh.com) but "
                          "numbers its inodes per path: both names show st_nlink 1",
        "host_hardlink": "sshfs gives the two names of one server file different st_ino",
        "guest_xattr": "sshfs has no xattr support: setxattr fails with EOPNOTSUPP",
        "host_xattr": "sshfs has no xattr support: getxattr fails with EOPNOTSUPP",
        "guest_rename2_exchange": "sftp has no atomic exchange: sshfs refuses "
                                  "RENAME_EXCHANGE with EINVAL",
        "host_exchange": "follows from guest_rename2_exchange: the files were not swapped",
        "guest_symlink_readlink": "sshfs refuses a symlink whose target starts with '..' "
                                  "or '/' with EPERM (symlink and readlink)",
        "host_symlink": "follows from guest_symlink_readlink: readlink fails with EPERM",
        "guest_seek_data": "sshfs has no SEEK_DATA/SEEK_HOLE: the whole file is data, so "
                           "SEEK_DATA from 0 returns 0, not the first written block",
        # Measured in the fresh-clone run of session 4, once issue 13's checks joined the
        # full script.
        "guest_mknod_devices": "sftp has no mknod: sshfs makes only regular files and "
                               "refuses device nodes with EPERM",
        "guest_symlink_utimes_nofollow": "sftp's SETSTAT follows the link and sshfs has no "
                                         "lsetstat, so a symlink's own times are not set",
    },
}
# Modes in which the daemon must refuse to start, and what its log must then say.
# FUSE's file handles go stale (ESTALE) once the host kernel evicts the inode, so the
# daemon holds no FUSE inode by handle (fs/file_handles.h, handles_survive_eviction).
EXPECTED_START_ERRORS = {
    "mandatory": ("with --inode-file-handles=mandatory: its file system has no file handles",
                  "FUSE file handles do not survive inode eviction (ESTALE)"),
}
# Modes whose daemon log must say something: prefer falls back to O_PATH fds on FUSE.
EXPECTED_LOG = {
    "prefer": "file handles are not usable on",
}


def log(msg):
    print(f"[sshfs-e2e] {msg}", flush=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what}")


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, timeout=60, **kw)


def kill_group(proc, sig=signal.SIGTERM, wait=10):
    """Ends a process this test started (in its own session) and its children."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(wait)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(wait)


class Sshfs:
    """sshd on 127.0.0.1:<free port> with a private config and keys made here, and an
    sshfs mount of WORKDIR/remote at WORKDIR/mnt. Always torn down by close()."""

    def __init__(self, workdir, sshd, sshfs, fusermount):
        self.workdir, self.sshd_bin, self.sshfs_bin = workdir, sshd, sshfs
        self.fusermount = fusermount
        self.sshd = self.sshfs = None
        self.mnt = os.path.join(workdir, "mnt")
        self.remote = os.path.join(workdir, "remote")
        self.made_privsep = False

    def open(self):
        d = self.workdir
        os.makedirs(self.mnt)
        os.makedirs(self.remote)
        hostkey, userkey = os.path.join(d, "host_key"), os.path.join(d, "user_key")
        for k in (hostkey, userkey):
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "vfs-e2e", "-f", k])
        auth = os.path.join(d, "authorized_keys")
        shutil.copy(userkey + ".pub", auth)
        os.chmod(auth, 0o600)
        self.port = free_port()
        with open(hostkey + ".pub") as f:
            hostpub = " ".join(f.read().split()[:2])
        known = os.path.join(d, "known_hosts")
        with open(known, "w") as f:
            f.write(f"[127.0.0.1]:{self.port} {hostpub}\n")
        config = os.path.join(d, "sshd_config")
        with open(config, "w") as f:
            f.write(f"""# private to this test; the system's sshd_config is not read
ListenAddress 127.0.0.1
Port {self.port}
HostKey {hostkey}
AuthorizedKeysFile {auth}
PidFile {os.path.join(d, "sshd.pid")}
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowUsers {os.environ.get("USER") or "root"} root
Subsystem sftp internal-sftp
""")
        # sshd insists on its privilege-separation directory; make it only if missing.
        if not os.path.isdir("/run/sshd"):
            os.makedirs("/run/sshd", mode=0o755)
            self.made_privsep = True
        run([self.sshd_bin, "-t", "-f", config])
        self.sshd_log = open(os.path.join(d, "sshd.log"), "w")
        self.sshd = subprocess.Popen([self.sshd_bin, "-D", "-e", "-f", config],
                                     stdout=self.sshd_log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log(f"sshd pid {self.sshd.pid} on 127.0.0.1:{self.port}")

        def listening():
            if self.sshd.poll() is not None:
                raise RuntimeError(f"sshd exited with {self.sshd.returncode}; see sshd.log")
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", self.port)) == 0
        wait_for(listening, 15, "sshd to listen")
        user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
        opts = ",".join([f"port={self.port}", f"IdentityFile={userkey}",
                         f"UserKnownHostsFile={known}", "StrictHostKeyChecking=yes",
                         "BatchMode=yes", "GlobalKnownHostsFile=/dev/null",
                         "ConnectTimeout=10", "ServerAliveInterval=5"])
        cmd = [self.sshfs_bin, "-f", "-F", "/dev/null", "-o", opts,
               f"{user}@127.0.0.1:{self.remote}", self.mnt]
        log(" ".join(cmd))
        self.sshfs_log = open(os.path.join(d, "sshfs.log"), "w")
        self.sshfs = subprocess.Popen(cmd, stdout=self.sshfs_log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True)

        def mounted():
            if self.sshfs.poll() is not None:
                raise RuntimeError(f"sshfs exited with {self.sshfs.returncode}; see sshfs.log")
            return os.path.ismount(self.mnt)
        wait_for(mounted, 30, "the sshfs mount")
        log(f"sshfs pid {self.sshfs.pid} mounted {self.mnt}")
        return self

    def kill_sshfs(self):
        """The network file system dies: SIGKILL to the sshfs process (and its ssh)."""
        log(f"killing sshfs (pid {self.sshfs.pid}) with SIGKILL")
        kill_group(self.sshfs, signal.SIGKILL)

    def kill_sshd(self):
        """The server dies: SIGKILL to our sshd and its per-connection children."""
        pids = [self.sshd.pid]
        i = 0
        while i < len(pids):
            got = subprocess.run(["pgrep", "-P", str(pids[i])], capture_output=True, text=True)
            pids += [int(p) for p in got.stdout.split()]
            i += 1
        log(f"killing sshd and its sessions (pids {pids}) with SIGKILL")
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.sshd.wait(10)

    def close(self):
        kill_group(self.sshfs)
        # A dead FUSE mount fails lstat (ENOTCONN), so ask /proc/mounts, not ismount().
        with open("/proc/self/mounts") as f:
            mounted = any(l.split()[1] == self.mnt for l in f if len(l.split()) > 1)
        if mounted:
            for cmd in ([self.fusermount, "-u", "-z", self.mnt], ["umount", "-l", self.mnt]):
                with contextlib.suppress(Exception):
                    if subprocess.run(cmd, capture_output=True, timeout=20).returncode == 0:
                        break
        if self.sshd is not None and self.sshd.poll() is None:
            # Let the session's sshd end with the connection, so its parent reaps it.
            with contextlib.suppress(RuntimeError):
                wait_for(lambda: subprocess.run(["pgrep", "-P", str(self.sshd.pid)],
                                                capture_output=True).returncode != 0,
                         10, "sshd's session to end")
        kill_group(self.sshd)
        if self.made_privsep:
            with contextlib.suppress(OSError):
                os.rmdir("/run/sshd")
        if self.sshd is not None:
            alive = subprocess.run(["pgrep", "-s", str(self.sshd.pid)], capture_output=True)
            if alive.returncode == 0:
                log(f"WARNING: processes of our sshd session remain: {alive.stdout!r}")


def prerequisites():
    """The first missing prerequisite, named, or None; and the tools found."""
    tools = {}
    for name, cand in (("sshfs", ["sshfs"]), ("sshd", ["sshd", "/usr/sbin/sshd"]),
                       ("ssh", ["ssh"]), ("ssh-keygen", ["ssh-keygen"]),
                       ("fusermount", ["fusermount3", "fusermount"])):
        found = next((shutil.which(c) for c in cand if shutil.which(c)), None)
        if not found:
            pkg = {"sshfs": "sshfs", "sshd": "openssh-server", "fusermount": "fuse3"}.get(name, "openssh-client")
            return f"the {name} binary (Debian package {pkg}; tools/setup installs it)", tools
        tools[name] = found
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse (the FUSE device sshfs needs)", tools
    return None, tools


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon-bin", required=True)
    ap.add_argument("--probe", required=True)
    ap.add_argument("--mode", default="default",
                    choices=["default", "never", "prefer", "mandatory", "killed",
                             "killed_sshd"])
    ap.add_argument("--script", default="basic", choices=["basic", "full"])
    ap.add_argument("--cache", default="auto")
    ap.add_argument("--timeout", type=int, default=600, help="for the guest run")
    ap.add_argument("--kill-after", type=float, default=3.0,
                    help="killed mode: seconds of guest I/O before sshfs is killed")
    ap.add_argument("--kernel-cache", help="default: $VFS_CACHE/kernel")
    args = ap.parse_args()

    missing, tools = prerequisites()
    if missing:
        return peers.unavailable(missing)
    workdir = tempfile.mkdtemp(prefix="vfs-sshfs-e2e-")
    ok = False
    net = Sshfs(workdir, tools["sshd"], tools["sshfs"], tools["fusermount"])
    try:
        try:
            vmlinuz, initramfs = guest_vm.prepare_boot(args.probe, workdir, args.kernel_cache)
        except guest_vm.KernelUnavailable as e:
            print(e)
            return peers.unavailable("Debian bookworm's kernel package (linux-image-amd64) for the guest")
        net.open()
        ok = run_mode(args, net, workdir, vmlinuz, initramfs)
    finally:
        net.close()
        if ok and not os.environ.get("VFS_E2E_KEEP"):
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"kept {workdir} (daemon, sshd and sshfs logs) for inspection")
    print(f"e2e sshfs ({args.mode}): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def run_mode(args, net, workdir, vmlinuz, initramfs):
    share = os.path.join(net.mnt, "share")
    extra = []
    if args.mode in ("never", "prefer", "mandatory"):
        extra.append(f"--inode-file-handles={args.mode}")
    killed = args.mode in ("killed", "killed_sshd")
    kill = net.kill_sshd if args.mode == "killed_sshd" else net.kill_sshfs
    script = "netfs_killed" if killed else args.script
    gargs = types.SimpleNamespace(
        daemon="cxx", daemon_bin=args.daemon_bin, probe=args.probe, cache=args.cache,
        queues=1, script=script, timeout=args.timeout, daemon_arg=extra,
        vmlinuz=vmlinuz, initramfs=initramfs, dax=None, dax_window=None)  # no DAX over sshfs
    d = os.path.join(workdir, "cxx")
    os.makedirs(d)
    on_line = None
    daemon_checks = {}
    if killed:
        def on_line(line, daemon, qemu):
            if "E2E-PHASE netfs-io" in line:
                threading.Timer(args.kill_after, kill).start()
            elif "E2E-END" in line:
                # The guest has seen the dead share; the daemon must still be running
                # (not crashed), and end with status 0 on SIGTERM while the guest is up.
                status = daemon.poll()
                daemon_checks["daemon_alive_after_kill"] = \
                    "PASS" if status is None else f"FAIL exited with {status}"
                if status is None:
                    log(f"daemon (pid {daemon.pid}) alive; sending SIGTERM")
                    daemon.send_signal(signal.SIGTERM)
                    try:
                        status = daemon.wait(15)
                    except subprocess.TimeoutExpired:
                        status = "hung (no exit 15 s after SIGTERM)"
                    daemon_checks["daemon_sigterm_exit_0"] = \
                        "PASS" if status == 0 else f"FAIL status {status}"
                    log(f"daemon exit status after SIGTERM: {status}")
                # The guest's own umount/poweroff may wait on the stopped daemon.
                threading.Timer(10, qemu.kill).start()
    try:
        results = linux.run_guest(gargs, "cxx", d, share=share, on_line=on_line)
        results.update(daemon_checks)
    except RuntimeError as e:  # the daemon did not start
        with open(os.path.join(d, "cxx-daemon.log")) as f:
            daemon_log = f.read()
        log(f"{e}\n--- daemon log ---\n{daemon_log.strip()}\n---")
        want = EXPECTED_START_ERRORS.get(args.mode)
        if want and want[0] not in daemon_log:
            log(f"the daemon's start-up error does not say '{want[0]}'")
        if want and want[0] in daemon_log:
            log(f"the daemon refused to start, as expected for {args.mode}: {want[1]}")
            return True
        log(f"the daemon refused to start in mode {args.mode}: UNEXPECTED")
        return False
    ok = True
    if args.mode in EXPECTED_START_ERRORS:
        log(f"mode {args.mode} started although it must refuse: {EXPECTED_START_ERRORS[args.mode][1]}")
        ok = False
    if args.mode in EXPECTED_LOG:
        with open(os.path.join(d, "cxx-daemon.log")) as f:
            if EXPECTED_LOG[args.mode] in f.read():
                log(f"daemon log says, as expected: ...{EXPECTED_LOG[args.mode]}...")
            else:
                log(f"daemon log lacks '{EXPECTED_LOG[args.mode]}' (UNEXPECTED)")
                ok = False
    expected = dict(EXPECTED_FAILURES.get("*", {}))
    expected.update(EXPECTED_FAILURES.get(args.mode, {}))
    if killed:
        expected = {}
    for k, v in sorted(results.items()):
        why = expected.get(k)
        if v == "PASS":
            note = "  (listed as an expected failure, but passed)" if why else ""
        elif why:
            note = f"  (expected over sshfs: {why})"
        else:
            note = "  (UNEXPECTED)"
            ok = False
        print(f"  {k:28} {v}{note}")
    if killed:
        for k in ("guest_netfs_before_kill", "guest_netfs_io_error", "guest_netfs_statfs_after",
                  "guest_netfs_ls_after", "guest_netfs_read_after", "guest_netfs_create_after",
                  "daemon_alive_after_kill", "daemon_sigterm_exit_0"):
            if results.get(k) != "PASS":
                log(f"killed-server check {k} missing or failed")
                ok = False
    elif not any(k.startswith("guest_") and k != "guest_finished" for k in results):
        ok = False
    return ok


if __name__ == "__main__":
    sys.exit(main())
