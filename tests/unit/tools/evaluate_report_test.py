#!/usr/bin/python3
"""tools/evaluate's report half on a small checked-in JSON (evaluate_fixture.json): the
three figures must come out as well-formed SVG with a line per measured row, and the doc
must hold the targets table, the thesis anchors, "pending DAX" for the DAX rows and the
tables. Keeps the figure and doc code from rotting between real runs; measures nothing.
The fixture's numbers are made up and say nothing about any backend."""
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
FIXTURE = os.path.join(HERE, "evaluate_fixture.json")
SVG_NS = "{http://www.w3.org/2000/svg}"


def main():
    errors = []
    with tempfile.TemporaryDirectory(prefix="vfs-evaluate-test-") as out:
        doc = os.path.join(out, "evaluation.md")
        run = subprocess.run([os.path.join(ROOT, "tools", "evaluate"), "--report-only", FIXTURE,
                              "--out-dir", os.path.join(out, "evaluation"), "--doc", doc],
                             capture_output=True, text=True)
        print(run.stdout + run.stderr)
        if run.returncode != 0:
            print(f"FAIL: tools/evaluate --report-only exited {run.returncode}")
            return 1
        for name in ("read.svg", "write.svg", "fileops.svg"):
            path = os.path.join(out, "evaluation", name)
            if not os.path.exists(path):
                errors.append(f"{name} not written")
                continue
            try:
                root = ET.parse(path).getroot()
            except ET.ParseError as e:
                errors.append(f"{name} is not well-formed XML: {e}")
                continue
            if root.tag != SVG_NS + "svg":
                errors.append(f"{name}: root element is {root.tag}, not svg")
            text = "".join(root.itertext())
            # Four measured rows in the fixture: each must be in the legend; the caption too.
            for label in ("virtiofsd-cxx (FUSE)", "Rust virtiofsd", "virtio-9p", "native"):
                if label not in text:
                    errors.append(f"{name}: no legend entry for {label!r}")
            if "shared machine" not in text:
                errors.append(f"{name}: the caption does not say it ran on a shared machine")
        md = open(doc).read() if os.path.exists(doc) else ""
        for needle in ("## Targets", "84.3", "1287", "pending DAX", "**seq_read** (MiB/s",
                       "**remove** (ms", "evaluation/read.svg", "## Microseconds per call"):
            if needle not in md:
                errors.append(f"evaluation.md lacks {needle!r}")
    for e in errors:
        print("FAIL: " + e)
    print("evaluate report: " + ("PASS" if not errors else f"FAIL ({len(errors)})"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
