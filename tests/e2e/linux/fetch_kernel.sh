#!/usr/bin/env bash
# Fetches Debian bookworm's own kernel package with `apt-get download` and unpacks it
# (never installs it) into a cache outside the tree. Prints the unpacked root, which
# holds boot/vmlinuz-* and lib/modules/*/. Idempotent: a second run only prints.
#   usage: fetch_kernel.sh [CACHE_DIR]   (default $VFS_CACHE/kernel,
#                                       $VFS_CACHE defaulting to /var/tmp/vfs-cache)
set -euo pipefail
cache=${1:-${VFS_CACHE:-/var/tmp/vfs-cache}/kernel}
mkdir -p "$cache"
if compgen -G "$cache/root/boot/vmlinuz-*" >/dev/null; then echo "$cache/root"; exit 0; fi
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}')
if [ -z "$pkg" ]; then
  apt-get update -qq >&2
  pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
fi
[ -n "$pkg" ] || { echo "fetch_kernel: cannot resolve linux-image-amd64" >&2; exit 1; }
(cd "$cache" && rm -f ./*.deb && apt-get download -q "$pkg" >&2)
rm -rf "$cache/root.tmp"
dpkg -x "$cache"/linux-image-*.deb "$cache/root.tmp"
mv "$cache/root.tmp" "$cache/root"
echo "$cache/root"
