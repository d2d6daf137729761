#!/bin/bash
# Runs the built virtiofsd-cxx binary the way QEMU, libvirt and users do at start-up:
# --print-capabilities, --version, a missing shared directory, a bad --modcaps, bad
# --translate-uid and --xattrmap rules, and a real start (default sandbox and seccomp) that listens, chgrps its socket and
# exits cleanly on SIGTERM.
# Usage: cli_smoke.sh PATH/TO/virtiofsd-cxx
set -u
daemon=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# --print-capabilities: valid JSON, type fs, precopy migration claimed (as virtiofsd 1.13); exit 0.
if caps=$("$daemon" --print-capabilities); then
    python3 -c '
import json, sys
doc = json.loads(sys.argv[1])
assert doc["type"] == "fs", doc
assert "migrate-precopy" in doc.get("features", []), doc
' "$caps" || fail "--print-capabilities printed bad JSON: $caps"
else
    fail "--print-capabilities exited non-zero"
fi

# --version and --help exit 0.
"$daemon" --version | grep -q virtiofsd-cxx || fail "--version"
"$daemon" --help | grep -q -- --shared-dir || fail "--help does not list --shared-dir"

# A missing shared directory: non-zero, with a message naming it.
if out=$("$daemon" --socket-path="$work/s" --shared-dir="$work/missing" 2>&1); then
    fail "a missing shared dir exited 0"
fi
grep -q "$work/missing" <<<"$out" || fail "missing shared dir message: $out"

# An unknown capability in --modcaps: non-zero, naming it.
if out=$("$daemon" --socket-path="$work/s" --shared-dir="$work" --modcaps=-chown:+nosuchcap 2>&1); then
    fail "--modcaps=+nosuchcap exited 0"
fi
grep -q -- "nosuchcap" <<<"$out" || fail "--modcaps=+nosuchcap message: $out"

# A --translate-uid rule that does not parse: non-zero, naming the flag.
if out=$("$daemon" --socket-path="$work/s" --shared-dir="$work" --translate-uid=map:1000:x:1 2>&1); then
    fail "--translate-uid=map:1000:x:1 exited 0"
fi
grep -q -- "--translate-uid" <<<"$out" || fail "--translate-uid message: $out"

# An --xattrmap rule that does not parse: non-zero, naming the rule and where.
if out=$("$daemon" --socket-path="$work/s" --shared-dir="$work" --xattrmap=:prefix:all:a 2>&1); then
    fail "--xattrmap=:prefix:all:a exited 0"
fi
grep -q -- "rule 1" <<<"$out" || fail "--xattrmap message: $out"

# A bad compat value: non-zero.
"$daemon" --socket-path="$work/s" -o source="$work",cache=bogus 2>/dev/null &&
    fail "-o cache=bogus exited 0"

# A real start (C virtiofsd's form): the socket appears, gets the group, and SIGTERM
# ends the daemon with status 0.
mkdir "$work/share"
group=$(id -gn)
"$daemon" --socket-path="$work/vfs.sock" -o source="$work/share",cache=auto \
    --socket-group="$group" --rlimit-nofile=0 2>"$work/log" &
pid=$!
for _ in $(seq 100); do
    [ -S "$work/vfs.sock" ] && break
    sleep 0.05
done
if [ -S "$work/vfs.sock" ]; then
    [ "$(stat -c %G "$work/vfs.sock")" = "$group" ] || fail "socket group is not $group"
    [ "$(stat -c %a "$work/vfs.sock")" = 770 ] || fail "socket mode is not 770"
else
    fail "the socket never appeared: $(cat "$work/log")"
fi
kill -TERM "$pid"
wait "$pid" || fail "SIGTERM exit status $? ($(cat "$work/log"))"

if [ "$failures" -ne 0 ]; then
    exit 1
fi
echo "cli smoke: all passed"
