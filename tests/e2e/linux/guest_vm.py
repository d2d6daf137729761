"""What every Linux-guest script here shares: the Debian kernel and initramfs, and
starting a vhost-user-fs daemon and waiting for its socket."""
import os
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))


class KernelUnavailable(Exception):
    """Debian's kernel package could not be fetched (no mirror reachable, ...)."""


def prepare_boot(probe, workdir, kernel_cache=None):
    """Fetches the kernel once (cached under $VFS_CACHE/kernel) and builds the initramfs;
    returns both paths. Raises KernelUnavailable if the kernel cannot be had."""
    fetch = ["bash", os.path.join(HERE, "fetch_kernel.sh")] + ([kernel_cache] if kernel_cache else [])
    got = subprocess.run(fetch, capture_output=True, text=True)
    if got.returncode != 0:
        raise KernelUnavailable(got.stderr.strip()[-2000:])
    kroot = got.stdout.strip()
    boot = os.path.join(kroot, "boot")
    vmlinuz = sorted(os.path.join(boot, f) for f in os.listdir(boot) if f.startswith("vmlinuz-"))[0]
    initramfs = os.path.join(workdir, "initramfs.cpio.gz")
    subprocess.run(["bash", os.path.join(HERE, "build_initramfs.sh"), kroot, probe, initramfs],
                   check=True)
    return vmlinuz, initramfs


def start_daemon(cmd, sock, log_path):
    """Starts a daemon and waits (up to 10 s) until it listens on sock."""
    out = open(log_path, "w")
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    for _ in range(200):
        if os.path.exists(sock):
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"daemon did not start: {' '.join(cmd)} (see {log_path})")
