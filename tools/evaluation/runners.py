"""Runs one row of the matrix once (one repetition of reads and writes, some of file
operations) and returns its raw samples: {(op, x): {"ns": [...], "bytes": N, "ok": bool}}
plus the bench app's meta line. Every run is a fresh process (a fresh boot for the VM
rows) on a fresh shared folder; what it started is stopped before it returns."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "peers"))
import peers  # noqa: E402

UNIKERNEL_RUN = os.path.join(ROOT, "tests", "e2e", "unikernel_run.py")
LINUX_BENCH = os.path.join(ROOT, "tools", "guest-bench", "linux_guest_bench.py")


class RowUnavailable(Exception):
    """The row cannot run here (a peer or a feature is missing); the report says why."""


def bench_params(scaling, reps, file_reps, scale, fixed_bytes=0, sizes=None, counts=None):
    sizes = scaling.sizes if sizes is None else sizes
    counts = scaling.counts if counts is None else counts
    p = [f"sizes={','.join(map(str, sizes)) or 'none'}",
         f"counts={','.join(map(str, counts)) or 'none'}",
         f"reps={reps}", f"file_reps={file_reps}", f"multiplier={scaling.multiplier}",
         f"scale={scale}"]
    if fixed_bytes:
        p.append(f"fixed_bytes={fixed_bytes}")
    return p


def parse_bench_lines(text):
    """The bench app's JSON lines into (meta, samples, done)."""
    meta, done, samples = None, None, {}
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith('{"bench"'):
            continue
        r = json.loads(line)
        kind = r["bench"]
        if kind == "meta":
            meta = r
        elif kind == "done":
            done = r
        elif kind in ("rep", "point"):
            x = r.get("buffer", r.get("files"))
            s = samples.setdefault((r["op"], x), {"ns": [], "bytes": 0, "ok": True})
            if kind == "rep":
                if r["ns"] < 0:
                    s["ok"] = False
                else:
                    s["ns"].append(r["ns"])
            else:
                s["bytes"] = r["bytes"]
                s["ok"] = s["ok"] and r["check"] == "ok"
    return meta, samples, done


def _check(meta, done, out, what):
    if meta is None or done is None:
        tail = "\n".join(out.splitlines()[-30:])
        raise RuntimeError(f"{what}: no complete bench output; last lines:\n{tail}")
    if done.get("checks_failed"):
        print(f"[evaluate] {what}: {done['checks_failed']} content checks FAILED", flush=True)


def run_unikernel(ctx, row, scaling, file_reps, dax=False):
    tag = "p9share" if row.backend == "9p" else "myfs"
    params = bench_params(scaling, 1, file_reps, scaling.dax_scale if dax else scaling.scale,
                          fixed_bytes=scaling.native_bytes if dax else 0,
                          counts=[] if dax else None)
    append = " ".join([f"tag={tag}", f"machine={ctx.machine_tag}",
                       f"qemu={ctx.qemu_dax_version if dax else ctx.qemu_version}"] + params +
                      (["dax=1"] if dax else []))
    cmd = [sys.executable, UNIKERNEL_RUN, "--image", ctx.bench_elf, "--machine", "q35",
           "--timeout", str(ctx.boot_timeout), "--append", append]
    if dax:
        cmd += ["--daemon", "cxx", "--daemon-bin", ctx.daemon_bin, "--qemu", "11",
                "--dax-window", DAX_WINDOW]
    elif row.backend == "9p":
        cmd += ["--daemon", "none", "--p9-tag", tag]
    elif row.backend == "rust":
        cmd += ["--daemon", "rust"]
    else:
        cmd += ["--daemon", "cxx", "--daemon-bin", ctx.daemon_bin]
    run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         errors="replace")
    if run.returncode == peers.SKIP:
        raise RowUnavailable(run.stdout.strip().splitlines()[-1])
    if dax:
        _refuse_fuse_fallback(run.stdout)
    meta, samples, done = parse_bench_lines(run.stdout)
    _check(meta, done, run.stdout, row.id)
    return meta, samples


def hosted_share(work):
    """A shared folder in work holding the bench's first_byte file, hello.txt; returns it
    and the daemon's socket path beside it."""
    share = os.path.join(work, "share")
    os.mkdir(share)
    with open(os.path.join(share, "hello.txt"), "w") as f:
        f.write("hello from the host\n")
    return share, os.path.join(work, "fs.sock")


def start_daemon(daemon_bin, sock, share, log_path, extra=()):
    """virtiofsd-cxx on share, its output in log_path; returns once its socket exists."""
    log = open(log_path, "w")
    d = subprocess.Popen([daemon_bin, f"--socket-path={sock}", f"--shared-dir={share}",
                          *extra], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 15
    while not os.path.exists(sock):
        if d.poll() is not None or time.monotonic() > deadline:
            d.kill()
            raise RuntimeError("virtiofsd-cxx did not create its socket: " +
                               open(log_path).read()[-1000:])
        time.sleep(0.05)
    return d


def stop(proc):
    """SIGTERM, then SIGKILL after 10 s."""
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_hosted(ctx, row, scaling, file_reps, dax=False):
    work = tempfile.mkdtemp(prefix="vfs-evaluate-")
    daemon = None
    try:
        share, sock = hosted_share(work)
        # bench-hosted starts two rings (hiprio + one request queue). With a window the
        # daemon serves SETUPMAPPING only once every announced ring runs, so announce two.
        log_path = os.path.join(work, "daemon.log")
        daemon = start_daemon(ctx.daemon_bin, sock, share, log_path,
                               [f"--dax-window={DAX_WINDOW}", "--num-queues=2"] if dax else [])
        if dax:  # the thesis's DAX method: fixed bytes per run, as native
            params = bench_params(scaling, 1, file_reps, scaling.dax_scale,
                                  fixed_bytes=scaling.native_bytes, counts=[]) + ["dax=1"]
        else:
            params = bench_params(scaling, 1, file_reps, scaling.hosted_scale)
        cmd = [ctx.bench_hosted, f"fs=myfs@{sock}", "tag=myfs", f"machine={ctx.machine_tag}",
               "qemu=none"] + params
        run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             errors="replace", timeout=ctx.boot_timeout)
        daemon_log = open(log_path, errors="replace").read() if dax else ""
    finally:
        stop(daemon)
        shutil.rmtree(work, ignore_errors=True)
    if dax:
        _refuse_fuse_fallback(daemon_log)
    meta, samples, done = parse_bench_lines(run.stdout)
    _check(meta, done, run.stdout, row.id)
    return meta, samples


def run_native(ctx, row, scaling, file_reps):
    work = tempfile.mkdtemp(prefix="vfs-evaluate-native-")
    try:
        cmd = [ctx.bench_native, f"tag={work}", f"machine={ctx.machine_tag}", "qemu=none",
               "first_byte="] + bench_params(scaling, 1, file_reps, scaling.native_scale,
                                             fixed_bytes=scaling.native_bytes)
        run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             errors="replace", timeout=ctx.boot_timeout)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    meta, samples, done = parse_bench_lines(run.stdout)
    _check(meta, done, run.stdout, row.id)
    return meta, samples


def _supports(cmd, flag):
    try:
        out = subprocess.run(cmd + ["--help"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return flag in out.stdout + out.stderr


DAX_WINDOW = "512M"


def _refuse_fuse_fallback(daemon_log):
    """A DAX row must measure the window, not the FUSE fallback behind failed mappings."""
    failed = [l for l in daemon_log.splitlines() if "SETUPMAPPING" in l and "warning" in l]
    if failed:
        raise RowUnavailable(f"pending DAX: {len(failed)}+ SETUPMAPPING failures in the "
                             f"daemon's log (the guest fell back to FUSE): "
                             f"{failed[-1].split('] ', 1)[-1]}")


def run_dax(ctx, row, scaling, file_reps):
    """The DAX rows: the unikernel in QEMU 11.1 with vhost-user-test-device-pci's window
    (unikernel_run.py --qemu 11 --dax-window), and the hosted bench with the window in
    tools/frontend. Both mount with dax=always and move fixed bytes per run at every buffer
    size, as the thesis's DAX runs did (8 GiB, / dax_scale); no file operations."""
    if not _supports([ctx.daemon_bin], "--dax-window"):
        raise RowUnavailable("pending DAX (virtiofsd-cxx has no --dax-window in this build)")
    if row.kind == "unikernel-dax":
        if not _supports([sys.executable, UNIKERNEL_RUN], "--dax-window"):
            raise RowUnavailable("pending DAX (tests/e2e/unikernel_run.py cannot start QEMU "
                                 "11.1 with a DAX window)")
        return run_unikernel(ctx, row, scaling, file_reps, dax=True)
    return run_hosted(ctx, row, scaling, file_reps, dax=True)


def run_linux(ctx, rows, scaling):
    """The Linux guest's rows, all backends in one call (linux_guest_bench.py boots them in
    turns). Returns {row_id: samples}."""
    backends = ",".join(r.backend for r in rows)
    out_json = tempfile.mktemp(prefix="vfs-evaluate-linux-", suffix=".json")
    cmd = [sys.executable, LINUX_BENCH, "--daemon-bin", ctx.daemon_bin, "--probe", ctx.probe,
           "--backends", backends, "--size", str(scaling.linux_size), "--files",
           str(scaling.linux_files), "--rounds", str(scaling.linux_rounds), "--json", out_json]
    run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         errors="replace")
    print(run.stdout[-3000:], flush=True)
    if not os.path.exists(out_json):
        raise RowUnavailable("tools/guest-bench wrote no JSON: " +
                             run.stdout.strip().splitlines()[-1] if run.stdout.strip() else "")
    data = json.load(open(out_json))
    os.unlink(out_json)
    result = {}
    for r in rows:
        samples = {}
        for s in data["samples"].get(r.backend, []):
            x = s["bs"] if s["bytes"] else scaling.linux_files
            e = samples.setdefault((s["op"], x), {"ns": [], "bytes": s["bytes"], "ok": True})
            e["ns"].append(int(s["seconds"] * 1e9))
        result[r.id] = samples
    return result


RUNNERS = {"unikernel": run_unikernel, "hosted": run_hosted, "native": run_native,
           "unikernel-dax": run_dax, "hosted-dax": run_dax}
