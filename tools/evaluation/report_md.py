"""docs/evaluation.md from an evaluation JSON: how it was run, the targets of issue 12 with
their ratios, the thesis's numbers beside ours, the per-call cost that shows 9p's one
request at a time, every table, and the hand-written analysis (analysis.md beside the
figures) included as it is."""
import os

from matrix import DATA_OPS, FILE_OPS, THESIS
from summary import row_by_id, value

FILE_OPS_SET = set(FILE_OPS)


def fmt(v, digits=None):
    if v is None:
        return "–"
    if digits is not None:
        return f"{v:.{digits}f}"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def size_label(b):
    for unit, n in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if b >= n:
            return f"{b // n} {unit}"
    return f"{b} B"


def speed_ratio(a, b, op, x, best=False):
    """How many times faster row a is than row b at (op, x): throughput a/b for data,
    time b/a for file operations; of the means, or (best) of each row's fastest
    repetition, which other work on a shared machine disturbs least. None when either is
    missing."""
    if a is None or b is None:
        return None
    stat = ("min" if op in FILE_OPS_SET else "max") if best else "mean"
    va, vb = value(a, op, x, stat), value(b, op, x, stat)
    if not va or not vb:
        return None
    return vb / va if op in FILE_OPS_SET else va / vb


def measured(r):
    return r is not None and bool(r.get("points"))


def xs_of(data, op):
    return sorted({p["x"] for r in data["rows"] for p in r.get("points", []) if p["op"] == op})


def verdict(ratio, target):
    if ratio is None:
        return "not measured"
    if ratio >= target:
        return f"**met** ({ratio:.2f}× ≥ {target:g}×)"
    return f"**missed** by {(1 - ratio / target) * 100:.0f}% ({ratio:.2f}× of {target:g}×)"


def worst(rs):
    rs = [t for t in rs if t[0] is not None]
    return (min(rs), sum(1 for t in rs if t[0] < 1.0), len(rs)) if rs else (None, 0, 0)


def where(op, x):
    return f"{op} {size_label(x)}" if op in DATA_OPS else f"{op} {x} files"


def targets(data):
    cxx, p9, rust = (row_by_id(data, i) for i in ("uk-cxx", "uk-9p", "uk-rust"))
    dax, hdax = row_by_id(data, "uk-dax"), row_by_id(data, "hosted-dax")
    out = ["| target (issue 12) | ratio of the means | verdict | ratio of the best repetitions |",
           "| :-- | :-- | :-- | :-- |"]
    pending = " | – | pending DAX | – |"
    for op, t in (("seq_write", 5), ("seq_read", 2)):
        r, rb = speed_ratio(cxx, p9, op, 4096), speed_ratio(cxx, p9, op, 4096, best=True)
        out.append(f"| unikernel FUSE / 9p, 4 KiB {op.replace('_', ' ')} ≥ {t}× | {fmt(r)}× | "
                   f"{verdict(r, t)} | {fmt(rb)}× |")
    for op, t in (("seq_read", 17), ("seq_write", 106)):
        name = f"| unikernel DAX / 9p, 4 KiB {op.replace('_', ' ')} ≥ {t}×"
        if measured(dax):
            r, rb = speed_ratio(dax, p9, op, 4096), speed_ratio(dax, p9, op, 4096, best=True)
            out.append(f"{name} | {fmt(r)}× | {verdict(r, t)} | {fmt(rb)}× |")
        else:
            out.append(name + pending)
    groups = [
        ("reads with buffers over 128 KiB ≥ 1.0× 9p (every point)", cxx, p9,
         [(op, x) for op in ("seq_read", "rand_read") for x in xs_of(data, op) if x > 131072]),
        ("remove ≥ 1.0× 9p (every count)", cxx, p9, [("remove", x) for x in xs_of(data, "remove")]),
        ("unikernel FUSE ≥ Rust virtiofsd on every row", cxx, rust,
         [(op, x) for op in DATA_OPS + FILE_OPS for x in xs_of(data, op)]),
    ]
    for name, a, b, points in groups:
        (w, below, n) = worst([(speed_ratio(a, b, op, x), op, x) for op, x in points])
        (wb, below_b, nb) = worst([(speed_ratio(a, b, op, x, True), op, x) for op, x in points])
        if w is None:
            out.append(f"| {name} | – | not measured | – |")
            continue
        out.append(f"| {name} | worst {fmt(w[0])}× ({where(w[1], w[2])}); {below} of {n} "
                   f"points below 1.0 | {verdict(w[0], 1.0)} | worst {fmt(wb[0])}× "
                   f"({where(wb[1], wb[2])}); {below_b} of {nb} below 1.0 |")
    for op, t in (("seq_read", 1287), ("seq_write", 947)):
        name = f"| hosted DAX 4 KiB {op.replace('_', ' ')} ≥ {t} MiB/s"
        if measured(hdax):
            v, vb = value(hdax, op, 4096), value(hdax, op, 4096, "max")
            out.append(f"{name} | {fmt(v)} MiB/s | {verdict(v / t if v else None, 1.0)} | "
                       f"{fmt(vb)} MiB/s |")
        else:
            out.append(name + pending)
    return out


def ratio_table(data, a_id, b_id, ops):
    """a/b speed ratios (means) at every point, one column per op."""
    a, b = row_by_id(data, a_id), row_by_id(data, b_id)
    if not (measured(a) and measured(b)):
        return []
    xs = sorted({x for op in ops for x in xs_of(data, op)})
    out = [f"| x | " + " | ".join(ops) + " |", "| --: |" + " --: |" * len(ops)]
    for x in xs:
        cells = [fmt(speed_ratio(a, b, op, x)) for op in ops]
        if all(c == "–" for c in cells):
            continue
        label = size_label(x) if ops[0] in DATA_OPS else f"{x} files"
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return out + [""]


def thesis_table(data):
    ids = [i for i in ("uk-9p", "uk-cxx", "uk-rust", "hosted-fuse", "native")
           if measured(row_by_id(data, i))]
    head = "| op | buffer | thesis 9pfs (CSV) | thesis 9pfs (README) | " + \
        " | ".join(f"ours: {row_by_id(data, i)['label']}" for i in ids) + " |"
    out = [head, "| :-- | --: | --: | --: |" + " --: |" * len(ids)]
    for op in ("seq_read", "seq_write"):
        for x in (4096, 65536, 1048576):
            readme = THESIS["9p_readme"].get(op, {}).get(x)
            cells = [fmt(value(row_by_id(data, i), op, x)) for i in ids]
            out.append(f"| {op} | {size_label(x)} | {THESIS['9p'][op][x]} | "
                       f"{readme if readme else '–'} | " + " | ".join(cells) + " |")
    out += ["", "DAX at 4 KiB (MiB/s): the thesis's DAX beside ours.", "",
            "| op | thesis DAX | ours: unikernel DAX | ours: hosted DAX |",
            "| :-- | --: | --: | --: |"]
    dax, hdax = row_by_id(data, "uk-dax"), row_by_id(data, "hosted-dax")
    for op in DATA_OPS:
        cells = [fmt(value(r, op, 4096)) if measured(r) else "pending DAX" for r in (dax, hdax)]
        thesis = THESIS["dax"].get(op, {}).get(4096)
        out.append(f"| {op} | {fmt(thesis) if thesis else '–'} | " + " | ".join(cells) + " |")
    return out


def per_call_table(data):
    """Microseconds per call at the smallest buffers and at 1 MiB: the cost of one
    synchronous round trip, which is what 9p pays for every msize-sized piece."""
    ids = [r["id"] for r in data["rows"] if measured(r)]
    xs = [x for x in xs_of(data, "seq_read") if x in (16, 4096, 65536, 1048576)]
    out = ["| op | buffer | " + " | ".join(ids) + " |", "| :-- | --: |" + " --: |" * len(ids)]
    for op in ("seq_read", "seq_write"):
        for x in xs:
            cells = []
            for i in ids:
                r = row_by_id(data, i)
                p = next((p for p in r["points"] if p["op"] == op and p["x"] == x), None)
                if p and p.get("bytes") and p["ns"]:
                    calls = p["bytes"] / x
                    cells.append(fmt(min(p["ns"]) / calls / 1000))
                else:
                    cells.append("–")
            out.append(f"| {op} | {size_label(x)} | " + " | ".join(cells) + " |")
    return out


def op_table(data, op, group_ids):
    ids = [i for i in group_ids if measured(row_by_id(data, i))]
    if not ids:
        return []
    unit = "ms" if op in FILE_OPS_SET else "MiB/s"
    key = "files" if op in FILE_OPS_SET else "buffer"
    out = [f"**{op}** ({unit}, mean of the repetitions)", "",
           f"| {key} | " + " | ".join(ids) + " |", "| --: |" + " --: |" * len(ids)]
    for x in xs_of(data, op):
        vals = [value(row_by_id(data, i), op, x) for i in ids]
        if all(v is None for v in vals):
            continue
        label = size_label(x) if key == "buffer" else str(x)
        out.append(f"| {label} | " + " | ".join(fmt(v) for v in vals) + " |")
    return out + [""]


def write(data, path, analysis_path=None, figure_dir="evaluation"):
    m, s, q = data["machine"], data["scaling"], data["qemu"]
    rows = data["rows"]
    L = ["# Evaluation: the thesis's benchmarks, reproduced", "",
         "Generated by `tools/evaluate` from "
         f"[`{figure_dir}/results.json`]({figure_dir}/results.json) (raw nanoseconds of every "
         "repetition, and the summaries). Do not edit by hand: edit "
         f"`{figure_dir}/analysis.md` (included below) or `tools/evaluation/`, and re-run.", "",
         "## How it was run", "",
         f"- Command: `{data['command']}` ({data['started']} to {data['finished']}, "
         f"{data['wall_s'] / 60:.1f} min).",
         *[f"- Rows `{x['rows']}` added to this run afterwards by `{x['command']}` "
           f"({x['started']})." for x in data.get("merged", [])],
         "- The binaries were built before the run (`tools/evaluate` without `--no-build` "
         "builds them: CMake, RelWithDebInfo, as tools/test)." if "--no-build" in
         data["command"] else "- Built by the command itself (CMake, RelWithDebInfo).",
         f"- Machine: {m['description']}. **A shared machine**: other work (builds, tests) ran "
         "at the same time. Rounds are interleaved (every row once per round, in turn), so "
         "load falls on every row alike and the ratios within one run hold better than the "
         "absolute numbers.",
         f"- QEMU: {q.get('tcg', '?')} (`/usr/bin/qemu-system-x86_64`, TCG) for every VM row; "
         f"DAX rows need QEMU {q.get('dax', '11.1')} (`tools/peers/get-qemu.sh`).",
         f"- Matrix `{s['name']}`: {s['note']}",
         f"- Bench app parameters: multiplier {s['multiplier']}, scale {s['scale']} (unikernel), "
         f"{s['hosted_scale']} (hosted FUSE); native {s['native_bytes'] >> 20} MiB per run / "
         f"{s.get('native_scale', 1)}; DAX {s['native_bytes'] >> 20} MiB per run / "
         f"{s.get('dax_scale', 1)}. `tools/evaluate --full` runs "
         "the thesis's whole matrix (many hours under TCG).",
         "- Rows:", ""]
    for r in rows:
        status = "measured" if measured(r) else r.get("status", "not run")
        L.append(f"  - `{r['id']}`: {r['label']} — {status}")
    L += ["", "## Figures", "",
          f"![read]({figure_dir}/read.svg)", "", f"![write]({figure_dir}/write.svg)", "",
          f"![file operations]({figure_dir}/fileops.svg)", "",
          "## Targets", "", "Ratios are speed ratios from the same run (above 1: the first "
          "row is faster; for file operations the inverse of the times).", ""]
    L += targets(data)
    for a, b in (("uk-cxx", "uk-9p"), ("uk-cxx", "uk-rust")):
        t1 = ratio_table(data, a, b, DATA_OPS)
        if t1:
            L += ["", f"{a} / {b} at every point (speed ratio of the means):", ""] + t1
            L += ratio_table(data, a, b, FILE_OPS)
    L += ["", "## The thesis's numbers beside ours", "",
          "MiB/s. The thesis measured Unikraft's 9pfs over legacy virtio-9p under KVM; ours is "
          "the same kind of client in our unikernel under TCG (see below for why that is not a "
          "fair comparison of absolute numbers).", ""]
    L += thesis_table(data)
    L += ["", "## Microseconds per call", "",
          "The fastest repetition's time divided by the calls it made: at small buffers this "
          "is one synchronous round trip through the stack.", ""]
    L += per_call_table(data)
    L += ["", "## Tables", "", "### Unikernel and hosted rows", ""]
    ids = [r["id"] for r in rows if r["group"] in ("unikernel", "hosted")]
    for op in DATA_OPS + FILE_OPS:
        L += op_table(data, op, ids)
    lids = [r["id"] for r in rows if r["group"] == "linux"]
    if any(measured(row_by_id(data, i)) for i in lids):
        L += ["### Linux guest (tools/guest-bench)", "",
              "Its own script (tests/e2e/linux/guest_bench.sh): writes end with fsync, the "
              "page cache is dropped before reads, list is getdents64 of the whole directory.", ""]
        for op in DATA_OPS + FILE_OPS:
            L += op_table(data, op, lids)
    L += ["## Where TCG makes the comparison with the thesis unfair", "",
          "- The thesis ran under KVM: guest instructions at native speed, exits only for "
          "I/O. Under TCG every guest instruction is translated; a guest-side memcpy, the "
          "FUSE/9p encoding and the ring handling cost several times more, while the daemon "
          "(virtiofsd-cxx, Rust virtiofsd) and QEMU's 9p server run natively on the host. "
          "This makes request-heavy paths look relatively cheaper on the host side and "
          "guest-side copies relatively dearer than under KVM.",
          "- A virtqueue kick under KVM is an ioeventfd exit; under TCG it is an MMIO write "
          "emulated in QEMU's TCG thread. QEMU's 9p server runs in QEMU's main loop (and its "
          "coroutine worker threads), competing with the vCPU thread on a 2-core host, "
          "whereas vhost-user daemons run in their own processes.",
          "- The host here is itself a VM (nested), with 2 cores shared with other work; the "
          "thesis's host was bare metal. Absolute MiB/s are therefore not comparable with the "
          "thesis's; the ratios between rows of one run are what this document compares.",
          "- The thesis's runs moved buffer × 8192 bytes (up to 8 GiB) per repetition; ours "
          "are scaled down (above), so the fixed costs (open, first request, cache warm-up) "
          "weigh more in our short runs, especially at small buffers.", ""]
    if analysis_path and os.path.exists(analysis_path):
        L += [open(analysis_path).read().rstrip(), ""]
    with open(path, "w") as f:
        f.write("\n".join(L))
    return path
