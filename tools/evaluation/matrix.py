"""The evaluation matrix: which rows run, and how far the thesis's workloads are scaled.

The thesis (its benchmark sources): buffers 2^4..2^20 B; FUSE and 9p paths move
buffer x 8192 bytes per run, DAX and native 8 GiB; file counts 2^1..2^17; 3 repetitions
for reads and writes, 6 for file operations. `full` is exactly that. `default` keeps the
method and divides the bytes per run (the same divisor for every path, so the ratios
between paths hold), thins the size and count grids, and takes the repetitions as rounds:
each round boots every row once, in turn, so load from other work on a shared machine
falls on every row alike.
"""
from dataclasses import dataclass, field, asdict

GIB = 1 << 30


@dataclass
class Scaling:
    name: str
    sizes: list
    counts: list
    rounds: int            # one repetition of reads and writes per row per round
    file_reps_per_round: int
    multiplier: int = 8192  # FUSE and 9p: bytes per run = buffer x multiplier / scale
    scale: int = 1          # divisor of the unikernel's bytes per run (TCG)
    hosted_scale: int = 1   # divisor for the hosted FUSE row (real CPU)
    native_bytes: int = 8 * GIB  # native and DAX: fixed bytes per run
    native_scale: int = 1   # divisor of native_bytes for the native row
    dax_scale: int = 1      # divisor of native_bytes for the DAX rows (no file ops there:
                            # create/list/remove do not touch the window)
    linux_size: int = 32 << 20   # the Linux guest: bytes per data workload
    linux_files: int = 1000
    linux_rounds: int = 1
    note: str = ""

    def as_json(self):
        d = asdict(self)
        d["reps_rw"] = self.rounds
        d["reps_file"] = self.rounds * self.file_reps_per_round
        return d


def default_scaling():
    return Scaling(
        name="default",
        sizes=[1 << e for e in range(4, 21)],
        counts=[1 << e for e in range(1, 14)],
        rounds=3, file_reps_per_round=2, scale=16, hosted_scale=16, native_scale=256,
        dax_scale=4096,
        linux_size=32 << 20, linux_files=1000, linux_rounds=2,
        note="Scaled for a 2-core TCG machine: all 17 buffer sizes; bytes per run divided by "
             "16 on the FUSE and 9p paths (buffer x 512: 4 KiB moves 2 MiB, 1 MiB moves "
             "512 MiB), native by 256 (32 MiB at every size; by 16 its 16-byte runs alone "
             "would take minutes), DAX by 4096 (2 MiB at every size: each extending 16-byte write "
             "is a SETATTR round trip, so its small-buffer sequential writes are slow; no "
             "file operations, which do not use the window); file counts 2^1..2^13 "
             "(13 of 17); 3 rounds, so 3 repetitions of reads and writes and 6 of file "
             "operations. The Linux guest runs its own script: buffers 4 KiB..1 MiB, 32 MiB "
             "per data workload, 1000 files, two boots per backend, in turns.")


def full_scaling():
    return Scaling(
        name="full",
        sizes=[1 << e for e in range(4, 21)],
        counts=[1 << e for e in range(1, 18)],
        rounds=3, file_reps_per_round=2, scale=1, hosted_scale=1,
        linux_size=32 << 20, linux_files=1000, linux_rounds=3,
        note="The thesis's matrix: buffers 2^4..2^20, file counts 2^1..2^17, buffer x 8192 "
             "bytes per run on the FUSE and 9p paths, 8 GiB on native and DAX, 3 repetitions of "
             "reads and writes, 6 of file operations.")


@dataclass
class Row:
    id: str
    label: str
    group: str      # unikernel, hosted, linux
    kind: str       # how it runs (runners.py)
    backend: str    # cxx, rust, 9p, native, dax
    style: dict = field(default_factory=dict)
    needs_dax: bool = False


ROWS = [
    Row("uk-cxx", "unikernel, virtiofsd-cxx (FUSE)", "unikernel", "unikernel", "cxx",
        {"color": "tab:blue", "marker": "o"}),
    Row("uk-rust", "unikernel, Rust virtiofsd (FUSE)", "unikernel", "unikernel", "rust",
        {"color": "tab:orange", "marker": "s"}),
    Row("uk-9p", "unikernel, QEMU virtio-9p", "unikernel", "unikernel", "9p",
        {"color": "tab:green", "marker": "^"}),
    Row("uk-dax", "unikernel, virtiofsd-cxx (DAX, QEMU 11.1)", "unikernel", "unikernel-dax",
        "dax", {"color": "tab:red", "marker": "D"}, needs_dax=True),
    Row("hosted-fuse", "hosted bench, virtiofsd-cxx (FUSE)", "hosted", "hosted", "cxx",
        {"color": "tab:purple", "marker": "v", "linestyle": "--"}),
    Row("hosted-dax", "hosted bench, virtiofsd-cxx (DAX window)", "hosted", "hosted-dax", "dax",
        {"color": "tab:pink", "marker": "P", "linestyle": "--"}, needs_dax=True),
    Row("native", "native syscalls on the host", "hosted", "native", "native",
        {"color": "black", "marker": "x", "linestyle": "--"}),
    Row("linux-cxx", "Linux guest, virtiofsd-cxx", "linux", "linux", "cxx",
        {"color": "tab:blue", "marker": "o", "linestyle": ":"}),
    Row("linux-rust", "Linux guest, Rust virtiofsd", "linux", "linux", "rust",
        {"color": "tab:orange", "marker": "s", "linestyle": ":"}),
    Row("linux-9p", "Linux guest, QEMU virtio-9p", "linux", "linux", "9p",
        {"color": "tab:green", "marker": "^", "linestyle": ":"}),
]

DATA_OPS = ["seq_read", "rand_read", "seq_write", "rand_write"]
FILE_OPS = ["create", "remove", "list"]

# The thesis's published numbers (Unikraft 9pfs over legacy virtio-9p, KVM; DAX).
THESIS = {
    "9p": {"seq_read": {4096: 84.3, 65536: 766.8, 1048576: 1036.5},
           "seq_write": {4096: 11.9, 65536: 185.6, 1048576: 621.8}},
    "9p_readme": {"seq_read": {4096: 73.0}, "seq_write": {4096: 12.0}},
    "dax": {"seq_read": {4096: 1287.0}, "seq_write": {4096: 947.0}},
}
