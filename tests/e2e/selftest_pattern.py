"""The selftest's byte pattern (guest/apps/selftest/main.cpp, pattern_byte), so a runner can
check on the host a file the guest wrote: NAME:SEED:SIZE specs for --host-pattern."""
import os


def pattern(size, seed):
    return bytes(((i * 131) ^ (i >> 9) ^ seed) & 0xFF for i in range(size))


def check_host_patterns(shared, specs):
    """True if every NAME:SEED:SIZE file in shared holds the pattern; prints what differs."""
    ok = True
    for spec in specs:
        name, seed, size = spec.rsplit(":", 2)
        path = os.path.join(shared, name)
        if not os.path.exists(path):
            print(f"FAIL: the guest left no {name} on the host")
            ok = False
            continue
        data = open(path, "rb").read()
        want = pattern(int(size), int(seed))
        if data != want:
            first = next((i for i, (a, b) in enumerate(zip(data, want)) if a != b),
                         min(len(data), len(want)))
            print(f"FAIL: {name} on the host: {len(data)} bytes, expected {len(want)}; "
                  f"first difference at {first}")
            ok = False
        else:
            print(f"host check: {name}: {len(data)} bytes as the guest wrote them")
    return ok
