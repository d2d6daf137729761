"""The peers the tests and benchmarks compare against, fetched by the scripts beside this
file (never from outside the repository), and the one policy for a peer that cannot be
had: under CI (CI=true) that is a failure, elsewhere a skip. Both print what was missing.
"""
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77
FAIL = 1


def in_ci():
    return os.environ.get("CI", "").lower() == "true"


def unavailable(what):
    """Prints why a peer is missing; returns the exit status the runner should use."""
    if in_ci():
        print(f"FAIL: {what} is not available, and CI=true requires every peer to run")
        return FAIL
    print(f"SKIP: {what} is not available")
    return SKIP


def _fetch(script):
    try:
        out = subprocess.run(["bash", os.path.join(HERE, script)], capture_output=True,
                             text=True, timeout=900)
    except subprocess.SubprocessError as e:
        print(f"{script}: {e}")
        return None
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines or not os.access(lines[-1], os.X_OK):
        print(f"{script} failed (status {out.returncode}):\n{out.stderr[-2000:]}")
        return None
    return lines[-1]


def rust_virtiofsd():
    """The wrapper that runs Debian trixie's Rust virtiofsd, or None (reason printed)."""
    return _fetch("get-virtiofsd.sh")


def qemu_11():
    """The wrapper that runs Debian sid's qemu-system-x86_64, or None (reason printed)."""
    return _fetch("get-qemu.sh")
