"""The thesis's three figures from an evaluation JSON, as SVG (matplotlib, Agg): read and
write throughput over buffer size (sequential and random side by side, log x), and
create/remove/list time over file count. One line per measured row, min/max error bars,
the machine and the scaling in the caption."""
import os
import textwrap

import matplotlib

matplotlib.use("Agg")
# Text stays text in the SVG (searchable, smaller), rather than glyph outlines.
matplotlib.rcParams["svg.fonttype"] = "none"
matplotlib.rcParams["svg.hashsalt"] = "virtiofs-cxx"  # stable ids: a re-plot is the same file
import matplotlib.pyplot as plt  # noqa: E402

from summary import series  # noqa: E402

FIGURES = {
    "read.svg": ("Read throughput", [("seq_read", "sequential read"), ("rand_read", "random read")]),
    "write.svg": ("Write throughput",
                  [("seq_write", "sequential write"), ("rand_write", "random write")]),
    "fileops.svg": ("File operations", [("create", "create"), ("remove", "remove"),
                                        ("list", "list")]),
}


def size_label(b):
    for unit, n in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if b >= n:
            return f"{b // n} {unit}"
    return f"{b} B"


def caption(data):
    m = data["machine"]
    s = data["scaling"]
    return textwrap.fill(
        f"{m['description']}; QEMU {data['qemu'].get('tcg', '?')} (TCG) for the VM rows. "
        f"Matrix '{s['name']}': {s['note']} Means of {s['reps_rw']} (read/write) and "
        f"{s['reps_file']} (file ops) repetitions; bars are min/max. Run on a shared machine.",
        150)


def draw(data, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    rows = [r for r in data["rows"] if r.get("points")]
    written = []
    for name, (title, panels) in FIGURES.items():
        fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 6.2), squeeze=False)
        file_ops = name == "fileops.svg"
        for ax, (op, panel_title) in zip(axes[0], panels):
            for r in rows:
                xs, mean, lo, hi = series(r, op)
                if not xs:
                    continue
                style = dict(r.get("style", {}))
                ax.errorbar(xs, mean, yerr=[[m - a for m, a in zip(mean, lo)],
                                            [b - m for m, b in zip(mean, hi)]],
                            label=r["label"], capsize=2, markersize=4, linewidth=1.2, **style)
            ax.set_xscale("log", base=2)
            ax.set_title(panel_title)
            ax.grid(True, which="both", alpha=0.3)
            if file_ops:
                ax.set_yscale("log")
                ax.set_xlabel("files")
                ax.set_ylabel("time (ms)")
            else:
                ax.set_yscale("log")
                ax.set_xlabel("buffer size")
                ax.set_ylabel("MiB/s")
                ticks = sorted({x for r in rows for x in series(r, op)[0]})
                ax.set_xticks(ticks)
                ax.set_xticklabels([size_label(t) for t in ticks], rotation=45, fontsize=8)
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.suptitle(title, y=0.99)
        fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.95), ncol=3,
                   fontsize=8, frameon=False)
        fig.text(0.01, 0.005, caption(data), fontsize=6.5, va="bottom", ha="left")
        fig.tight_layout(rect=(0, 0.15, 1, 0.85))
        path = os.path.join(out_dir, name)
        # No timestamps in the SVG, so a re-plot of the same JSON is the same file.
        fig.savefig(path, format="svg", metadata={"Date": None})
        plt.close(fig)
        written.append(path)
    return written
