#!/usr/bin/env bash
# Fetches the reference Rust virtiofsd (Debian trixie's `virtiofsd` package, 1.13) and
# trixie's C library into $VFS_CACHE/peers (default /var/tmp/vfs-cache/peers), through a
# private apt state. Prints the path of a wrapper that takes virtiofsd's flags and runs it
# with trixie's own loader and libraries. Once fetched it works offline.
#   "$(tools/peers/get-virtiofsd.sh)" --socket-path=/tmp/fs.sock --shared-dir=/srv/share
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/private_apt.sh"
dest=$(vfs_cache_dir)/peers
root=$dest/virtiofsd-trixie
wrapper=$dest/virtiofsd-trixie.sh
if [ -x "$wrapper" ] && "$wrapper" --version >/dev/null 2>&1; then
  echo "$wrapper"
  exit 0
fi
rm -rf "$root" "$dest/apt-trixie/debs"
private_apt_init trixie "$dest/apt-trixie"
private_apt_unpack "$root" virtiofsd libc6 libgcc-s1 libcap-ng0 libseccomp2
cat >"$wrapper" <<WRAP
#!/bin/sh
# Rust virtiofsd from Debian trixie, with trixie's loader and libraries.
lib=$root/usr/lib/x86_64-linux-gnu
exec "\$lib/ld-linux-x86-64.so.2" --library-path "\$lib" "$root/usr/libexec/virtiofsd" "\$@"
WRAP
chmod +x "$wrapper"
"$wrapper" --version >&2
echo "$wrapper"
