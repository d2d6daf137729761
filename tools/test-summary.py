#!/usr/bin/env python3
"""Closing lines of tools/test: counts from ctest's JUnit file, and every skipped test by
name, so that a skip (a peer that could not be had outside CI) is never silent. Exits 1 if
the file is missing or names a failure."""
import sys
import xml.etree.ElementTree as ET


def main(path):
    try:
        cases = ET.parse(path).getroot().iter("testcase")
    except (OSError, ET.ParseError) as e:
        print(f"test summary: cannot read {path}: {e}")
        return 1
    passed, failed, skipped = [], [], []
    for c in cases:
        status = c.get("status", "")
        if c.find("failure") is not None or status == "fail":
            failed.append(c.get("name"))
        elif c.find("skipped") is not None or status in ("notrun", "disabled"):
            skipped.append(c.get("name"))
        else:
            passed.append(c.get("name"))
    for name in skipped:
        print(f"skipped: {name}")
    for name in failed:
        print(f"failed: {name}")
    print(f"{len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
