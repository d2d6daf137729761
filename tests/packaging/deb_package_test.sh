#!/usr/bin/env bash
# Packaging test: builds the Debian package from a copy of the source tree with
# `dpkg-buildpackage -us -uc -b`, runs lintian on it, installs it into a scratch root with
# `dpkg --root` and runs the installed daemon from there. Checks that the vhost-user JSON
# names the installed binary, and that the man page and unikernel images are in place.
#   usage: deb_package_test.sh SOURCE_DIR
set -euo pipefail
src=$(cd "$1" && pwd)
work=$(mktemp -d /tmp/vfs-deb-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/src"
# The tree without build folders, .git or the demo's share.
tar -C "$src" --exclude='./build*' --exclude=./.git --exclude=./share -cf - . |
  tar -C "$work/src" -xf -

echo "== dpkg-buildpackage"
(cd "$work/src" && dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) ||
  { tail -n 60 "$work/build.log"; echo "FAIL: dpkg-buildpackage"; exit 1; }
deb=$(ls "$work"/virtiofsd-cxx_*_amd64.deb)
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'
dpkg-deb --contents "$deb" | awk '{print $6}'

echo "== lintian"
lintian --fail-on error,warning --suppress-tags bad-distribution-in-changes-file "$deb"

echo "== install into a scratch root"
root=$work/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
: >"$root/var/lib/dpkg/status"
# The scratch root has no packages, so its dependencies (libc, liburing, ...) are
# unmet there by construction; the binary runs with this system's libraries.
dpkg --root="$root" --force-depends --install "$deb" >/dev/null

fail=0
daemon=$root/usr/libexec/virtiofsd-cxx
json=$root/usr/share/qemu/vhost-user/50-virtiofsd-cxx.json
"$daemon" --version || fail=1
caps=$("$daemon" --print-capabilities) || fail=1
echo "$caps"
python3 - "$json" "$root" <<'PY' || fail=1
import json, os, sys
desc = json.load(open(sys.argv[1]))
assert desc["type"] == "fs", desc
assert desc["binary"] == "/usr/libexec/virtiofsd-cxx", desc
assert os.access(sys.argv[2] + desc["binary"], os.X_OK), "binary missing"
print("json: binary", desc["binary"], "installed")
PY
[ -s "$root/usr/share/man/man8/virtiofsd-cxx.8.gz" ] || { echo "FAIL: no man page"; fail=1; }
# roff spells each '-' of a flag as '\-'.
zcat "$root/usr/share/man/man8/virtiofsd-cxx.8.gz" | grep -qF 'shared\-dir' ||
  { echo "FAIL: the man page lacks --shared-dir"; fail=1; }
for img in probe selftest shell; do
  [ -s "$root/usr/lib/virtiofs-cxx/$img.elf" ] || { echo "FAIL: no $img.elf"; fail=1; }
done
[ $fail -eq 0 ] || exit 1
echo "PASS: the package builds, is lintian clean, installs and runs"
