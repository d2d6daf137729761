"""Summaries of the raw samples: per point, mean/min/max of the per-repetition throughput
(MiB/s, data ops) or time (ms, file ops), and the lookups the report and figures share."""
from statistics import mean

MIB = 1 << 20


def summarize_point(op, x, sample):
    ns = [n for n in sample["ns"] if n > 0]
    p = {"op": op, "x": x, "bytes": sample["bytes"], "ns": sample["ns"], "ok": sample["ok"]}
    if not ns:
        return p
    if sample["bytes"]:
        v = [sample["bytes"] / (n / 1e9) / MIB for n in ns]
        p["mib_s"] = {"mean": mean(v), "min": min(v), "max": max(v)}
    else:
        v = [n / 1e6 for n in ns]
        p["ms"] = {"mean": mean(v), "min": min(v), "max": max(v)}
    return p


def summarize(samples):
    """{(op, x): sample} into a sorted list of points."""
    return [summarize_point(op, x, s) for (op, x), s in
            sorted(samples.items(), key=lambda kv: (kv[0][0], kv[0][1]))]


def merge(into, samples):
    for key, s in samples.items():
        e = into.setdefault(key, {"ns": [], "bytes": s["bytes"], "ok": True})
        e["ns"] += s["ns"]
        e["bytes"] = e["bytes"] or s["bytes"]
        e["ok"] = e["ok"] and s["ok"]


def value(row, op, x, stat="mean"):
    """A row's MiB/s (data) or ms (file ops) at (op, x), or None."""
    for p in row.get("points", []):
        if p["op"] == op and p["x"] == x:
            s = p.get("mib_s") or p.get("ms")
            return s[stat] if s else None
    return None


def series(row, op):
    """(xs, means, mins, maxs) of one op of a row, sorted by x."""
    pts = sorted((p for p in row.get("points", []) if p["op"] == op and
                  (p.get("mib_s") or p.get("ms"))), key=lambda p: p["x"])
    stat = [p.get("mib_s") or p.get("ms") for p in pts]
    return ([p["x"] for p in pts], [s["mean"] for s in stat], [s["min"] for s in stat],
            [s["max"] for s in stat])


def row_by_id(data, row_id):
    return next((r for r in data["rows"] if r["id"] == row_id), None)
