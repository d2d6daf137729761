#!/usr/bin/env python3
"""End-to-end test: Debian bookworm's libvirt 9.0 starts virtiofsd-cxx for a TCG domain's
<filesystem><driver type='virtiofs'/>, and the e2e Debian kernel mounts the share and runs
the Linux e2e smoke script (guest_fs_test.sh basic).

This machine has no running systemd, and the system's libvirt setup must stay untouched,
so libvirtd runs in a private mount and PID namespace (unshare) with private directories
bound over /etc/libvirt, /run, /var/{lib,cache,log}/libvirt and /usr/share/qemu/vhost-user.
When the namespace's first process ends, the kernel kills whatever is left in it
(libvirtd, QEMU, the daemon), so nothing outlives the test.

    run_libvirt_e2e.py --daemon-bin build/host-daemon/virtiofsd-cxx \
        --probe build/tests/e2e/linux/vfs-probe

Two domains run one after the other:
  binary-path   <binary path='.../virtiofsd-cxx'>: libvirt starts the daemon we name;
  json          no <binary path>: libvirt must find the daemon through our vhost-user
                JSON (10-virtiofsd-cxx.json, ahead of Debian's 50-qemu-virtiofsd.json).
Each checks that the daemon libvirt started is ours (/proc/PID/exe), prints the command
line libvirt gave it, and checks the guest's and the host's results.
Exit status 0 only if every check passed; 77 (outside CI) if a peer is missing.
"""
import argparse
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from xml.sax.saxutils import quoteattr

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "linux"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tools", "peers"))
import guest_vm  # noqa: E402
import peers  # noqa: E402
import run_linux_e2e  # noqa: E402  (the share the smoke script expects, and its host checks)

LIBVIRTD = "/usr/sbin/libvirtd"
QEMU = "/usr/bin/qemu-system-x86_64"
VIRSH = ["virsh", "-c", "qemu:///system"]
TAG = "e2efs"
CACHE = "always"
# With cache=always the guest keeps attributes and pages for 86400 s (FOPEN_KEEP_CACHE),
# so it is not meant to see the host rewrite a file it already read: that check's outcome
# is printed but not counted.
NOT_COUNTED = {"guest_host_change_content": "cache=always: the guest keeps its cached copy"}
# The private directories bound over the system's, so libvirt's state stays in the test.
PRIVATE_DIRS = {
    "etc": "/etc/libvirt",
    "run": "/run",  # /run/libvirt does not exist here, and mkdir there would leak
    "lib": "/var/lib/libvirt",
    "cache": "/var/cache/libvirt",
    "log": "/var/log/libvirt",
    "vhost-user": "/usr/share/qemu/vhost-user",
}
QEMU_CONF = """# No systemd, no cgroups, no SELinux/AppArmor, no virtlogd: root runs everything.
user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
cgroup_controllers = [ ]
stdio_handler = "file"
"""
# Debug logs of the qemu driver and of every command libvirt runs: they show whether it
# probed the daemon with --print-capabilities.
LIBVIRTD_CONF = """log_outputs = "1:file:/var/log/libvirt/libvirtd.log"
log_filters = "1:qemu 1:command 3:util 3:rpc 3:event 3:object"
"""


def log(msg):
    print(f"[libvirt-e2e] {msg}", flush=True)


def run(cmd, timeout=60, check=True):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr.strip()}")
    return out


def domain_xml(name, args, share, serial, with_path):
    path = f" path={quoteattr(args.daemon_bin)}" if with_path else ""
    # The binary-path case also asks for the sandbox (libvirt passes -o sandbox=namespace);
    # the json case leaves it to the daemon's default, which is the same.
    sandbox = "<sandbox mode='namespace'/>" if with_path else ""
    cmdline = f"console=ttyS0 panic=-1 quiet vfs.tag={TAG} vfs.script=basic vfs.cache={CACHE}"
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>1024</memory>
  <vcpu>1</vcpu>
  <memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{args.vmlinuz}</kernel>
    <initrd>{args.initramfs}</initrd>
    <cmdline>{cmdline}</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot><on_crash>destroy</on_crash>
  <devices>
    <emulator>{QEMU}</emulator>
    <filesystem type='mount' accessmode='passthrough'>
      <driver type='virtiofs' queue='1024'/>
      <binary{path} xattr='on'><cache mode='{CACHE}'/>{sandbox}<lock posix='on' flock='on'/></binary>
      <source dir={quoteattr(share)}/>
      <target dir='{TAG}'/>
    </filesystem>
    <serial type='file'><source path={quoteattr(serial)}/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>
"""


def daemon_process():
    """The daemon libvirt started (from its pid file): (pid, exe, argv), or None."""
    for pidfile in glob.glob("/run/libvirt/qemu/*-fs*-fs.pid"):
        try:
            pid = int(open(pidfile).read().strip())
            exe = os.readlink(f"/proc/{pid}/exe")
            argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")[:-1]
            return pid, exe, [a.decode() for a in argv]
        except (OSError, ValueError):
            continue
    return None


def sandbox_check(pid):
    """PASS when the process serving (the namespace sandbox's child of pid) runs under
    seccomp with the share as its only mount tree (no host /proc)."""
    try:
        children = open(f"/proc/{pid}/task/{pid}/children").read().split()
        if not children:
            return "FAIL no sandboxed child: the daemon did not enter its namespace sandbox"
        child = children[0]
        status = dict(line.split(":", 1) for line in open(f"/proc/{child}/status").read().splitlines()
                      if ":" in line)
        mount_points = [line.split()[4] for line in open(f"/proc/{child}/mountinfo")]
    except OSError as e:
        return f"FAIL {e}"
    if status.get("Seccomp", "").strip() != "2":
        return f"FAIL Seccomp: {status.get('Seccomp')}"
    if "/proc" in mount_points:
        return f"FAIL the host's mounts are visible: {mount_points}"
    return "PASS"


def domain_state(name):
    out = run(VIRSH + ["domstate", name], check=False)
    return out.stdout.strip() if out.returncode == 0 else f"unknown ({out.stderr.strip()})"


def run_domain(args, case, workdir):
    """Defines, starts and watches one domain; returns its check results."""
    name = f"vfs-e2e-{case}"
    d = os.path.join(workdir, case)
    os.makedirs(d)
    share, serial, xml = (os.path.join(d, f) for f in ("share", "serial.log", "domain.xml"))
    run_linux_e2e.prepare_share(share, args.probe)
    with open(xml, "w") as f:
        f.write(domain_xml(name, args, share, serial, with_path=case == "binary-path"))
    results = {}
    run(VIRSH + ["define", xml])
    started = time.time()
    out = run(VIRSH + ["start", name], timeout=120, check=False)
    results["domain_started"] = "PASS" if out.returncode == 0 else f"FAIL {out.stderr.strip()}"
    if out.returncode != 0:
        log(f"{case}: virsh start failed: {out.stderr.strip()}")
    # libvirt starts the daemon before QEMU, so it is up once `virsh start` returns.
    proc = daemon_process() if out.returncode == 0 else None
    if proc:
        pid, exe, argv = proc
        log(f"{case}: libvirt started pid {pid}, exe {exe}")
        log(f"{case}: command line libvirt gave it: {' '.join(argv)}")
        ours = os.path.realpath(exe) == os.path.realpath(args.daemon_bin)
        results["daemon_is_virtiofsd_cxx"] = "PASS" if ours else f"FAIL exe is {exe}"
        results["daemon_given_fd"] = "PASS" if any(a.startswith("--fd=") for a in argv) else "FAIL no --fd="
        results["daemon_sandboxed"] = sandbox_check(pid)
    elif out.returncode == 0:
        results["daemon_is_virtiofsd_cxx"] = "FAIL no daemon pid file under /run/libvirt/qemu"

    guest, lines, pos, buf = {}, [], 0, ""
    deadline = started + args.timeout
    while out.returncode == 0 and time.time() < deadline:
        if os.path.exists(serial):
            with open(serial, errors="replace") as f:
                f.seek(pos)
                chunk = f.read()
                pos = f.tell()
            buf += chunk
            *complete, buf = buf.split("\n")
            for line in complete:
                line = line.rstrip("\r")
                lines.append(line)
                if "E2E-" in line:
                    log(f"{case}: guest: {line}")
                if "E2E-CHECK " in line:
                    parts = line[line.index("E2E-CHECK "):].split(" ", 3)
                    guest[parts[1]] = parts[2] if len(parts) < 4 else f"{parts[2]} {parts[3]}"
                elif "E2E-PHASE host-change" in line:
                    run_linux_e2e.change_share_from_host(share)
        if domain_state(name) == "shut off":  # the guest powered off: on_poweroff destroy
            break
        time.sleep(0.5)
    ended = any("E2E-END" in line for line in lines)
    if not ended:
        log(f"{case}: guest did not finish (state {domain_state(name)}); last serial lines:")
        for line in lines[-40:]:
            print("    " + line)
    run(VIRSH + ["destroy", name], check=False)
    log(f"{case}: guest took {time.time() - started:.0f}s")
    run(VIRSH + ["undefine", name], check=False)
    results.update({f"guest_{k}": v for k, v in guest.items()})
    results["guest_finished"] = "PASS" if ended else "FAIL"
    results.update(run_linux_e2e.host_checks(share, args.probe, "basic"))
    # libvirt writes the daemon's command line into the domain's log, after this line.
    domain_log = open(f"/var/log/libvirt/qemu/{name}.log", errors="replace").read().splitlines()
    logged = [domain_log[i + 1] for i, line in enumerate(domain_log[:-1])
              if line.endswith("Starting external device: virtiofsd")]
    log(f"{case}: the domain log records: {logged[0] if logged else '(nothing)'}")
    if proc:
        results["domain_log_has_cmdline"] = "PASS" if logged == [" ".join(proc[2])] else \
            f"FAIL logged {logged}"
    # The daemon's own output, which libvirt keeps in <domain>-fs0-virtiofsd.log.
    for f in sorted(glob.glob(f"/var/log/libvirt/qemu/{name}-*virtiofsd.log")):
        tail = "\n".join(open(f, errors="replace").read().splitlines()[-8:])
        log(f"{case}: {os.path.basename(f)} (last lines):\n{tail}")
    return results


def start_libvirtd(root):
    for sub, target in PRIVATE_DIRS.items():
        src = os.path.join(root, sub)
        os.makedirs(src, exist_ok=True)
        if not os.path.isdir(target):
            raise RuntimeError(f"{target} does not exist; not creating it on the host")
        run(["mount", "--bind", src, target])
    with open("/etc/libvirt/qemu.conf", "w") as f:
        f.write(QEMU_CONF)
    with open("/etc/libvirt/libvirtd.conf", "w") as f:
        f.write(LIBVIRTD_CONF)
    out = open(os.path.join(root, "libvirtd.out"), "w")
    # In the foreground, as our child: no pid file or systemd socket activation needed.
    proc = subprocess.Popen([LIBVIRTD], stdout=out, stderr=subprocess.STDOUT)
    for _ in range(200):
        if os.path.exists("/run/libvirt/libvirt-sock") and run(VIRSH + ["version"], check=False).returncode == 0:
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"libvirtd did not come up (status {proc.poll()}): "
                       + open(os.path.join(root, "libvirtd.out")).read()[-2000:])


def stop_libvirtd(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def inside(args):
    """In the private namespace: libvirtd, then each domain. Returns the exit status."""
    root = os.path.join(args.workdir, "libvirt")
    os.makedirs(os.path.join(root, "vhost-user"), exist_ok=True)
    # Ours with a lower number than Debian's, which stays beside it: libvirt takes the
    # first "fs" backend in file-name order, so it must pick ours over QEMU's virtiofsd.
    with open(os.path.join(root, "vhost-user", "10-virtiofsd-cxx.json"), "w") as f:
        f.write(open(args.vhost_user_json).read())
    debian = "/usr/share/qemu/vhost-user/50-qemu-virtiofsd.json"
    if os.path.exists(debian):
        shutil.copy(debian, os.path.join(root, "vhost-user"))
    libvirtd = start_libvirtd(root)
    log(f"libvirtd {run(VIRSH + ['version', '--daemon']).stdout.split()[-1]} is up in a private namespace")
    all_results = {}
    try:
        for case in args.cases:
            all_results[case] = run_domain(args, case, args.workdir)
    finally:
        stop_libvirtd(libvirtd)
        try:
            probes = [line for line in open("/var/log/libvirt/libvirtd.log", errors="replace")
                      if "print-capabilities" in line]
        except OSError:
            probes = []
        log("libvirt probed the daemon with --print-capabilities: "
            + (probes[0].strip()[-300:] if probes else "no"))
    failed = 0
    for case, results in all_results.items():
        for k, v in sorted(results.items()):
            note = f"  (not counted: {NOT_COUNTED[k]})" if k in NOT_COUNTED else ""
            print(f"  {case:12} {k:34} {v}{note}")
            if v != "PASS" and k not in NOT_COUNTED:
                failed += 1
    print(f"e2e libvirt: {len(all_results)} domain(s), {failed} failed check(s)")
    return 0 if failed == 0 and len(all_results) == len(args.cases) else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon-bin", required=True)
    ap.add_argument("--probe", required=True)
    ap.add_argument("--vhost-user-json-in", required=True,
                    help="host-daemon/50-virtiofsd-cxx.json.in, the JSON we install")
    ap.add_argument("--cases", nargs="+", default=["binary-path", "json"],
                    choices=["binary-path", "json"])
    ap.add_argument("--timeout", type=int, default=600, help="per domain, in seconds")
    ap.add_argument("--kernel-cache", help="default: $VFS_CACHE/kernel")
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--vhost-user-json", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    ap.add_argument("--vmlinuz", help=argparse.SUPPRESS)
    ap.add_argument("--initramfs", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.daemon_bin = os.path.abspath(args.daemon_bin)
    if args.inside:
        return inside(args)

    for what, path in (("libvirtd (Debian's libvirt-daemon-system)", LIBVIRTD),
                       ("virsh (Debian's libvirt-clients)", shutil.which("virsh")),
                       ("qemu-system-x86_64", QEMU), ("unshare (util-linux)", shutil.which("unshare"))):
        if not path or not os.access(path, os.X_OK):
            return peers.unavailable(what)
    if os.geteuid() != 0:
        return peers.unavailable("root (libvirtd and the mount namespace need it)")
    workdir = tempfile.mkdtemp(prefix="vfs-libvirt-")
    failed = False  # a failed run keeps its workdir for inspection
    try:
        try:
            vmlinuz, initramfs = guest_vm.prepare_boot(args.probe, workdir, args.kernel_cache)
        except guest_vm.KernelUnavailable as e:
            print(e)
            return peers.unavailable("Debian bookworm's kernel package (linux-image-amd64)")
        # The JSON we install, pointing at the daemon under test instead of /usr/libexec.
        json_path = os.path.join(workdir, "10-virtiofsd-cxx.json")
        with open(args.vhost_user_json_in) as f, open(json_path, "w") as out:
            out.write(f.read().replace("@VFS_DAEMON_INSTALLED_PATH@", args.daemon_bin))
        inner = [sys.executable, os.path.abspath(__file__), "--inside", "--workdir", workdir,
                 "--daemon-bin", args.daemon_bin, "--probe", os.path.abspath(args.probe),
                 "--vhost-user-json-in", args.vhost_user_json_in,
                 "--vhost-user-json", json_path, "--vmlinuz", vmlinuz, "--initramfs", initramfs,
                 "--timeout", str(args.timeout), "--cases", *args.cases]
        # The namespace's PID 1 is bash, which reaps the daemon and QEMU that libvirt
        # daemonizes (a zombie would make libvirt wait for it to die). --kill-child: if
        # unshare is killed (a ctest timeout), the namespace and all in it go too.
        cmd = ["unshare", "--mount", "--propagation", "private", "--pid", "--fork",
               "--kill-child", "--mount-proc", "bash", "-c", '"$@"; exit $?', "pid1", *inner]
        try:
            status = subprocess.run(cmd, timeout=len(args.cases) * (args.timeout + 60) + 60).returncode
        except subprocess.TimeoutExpired:
            log("the namespace did not finish in time; killed")
            status = 1
        failed = status != 0
        return status
    finally:
        if not failed and not os.environ.get("VFS_E2E_KEEP"):
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"kept {workdir} (serial logs, libvirt logs, shares) for inspection")


if __name__ == "__main__":
    sys.exit(main())
