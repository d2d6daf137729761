#!/usr/bin/env bash
# Fetches QEMU 11.1 (Debian sid's `qemu-system-x86`, the first QEMU with the vhost-user
# shared-memory messages DAX needs) with the libraries it links against into
# $VFS_CACHE/peers (default /var/tmp/vfs-cache/peers), through a private apt state.
# Prints the path of a wrapper that takes qemu-system-x86_64's flags and runs it with
# sid's loader, libraries, firmware and module folder. Once fetched it works offline.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/private_apt.sh"
dest=$(vfs_cache_dir)/peers
root=$dest/qemu-sid
wrapper=$dest/qemu-sid.sh
if [ -x "$wrapper" ] && "$wrapper" --version >/dev/null 2>&1; then
  echo "$wrapper"
  exit 0
fi
rm -rf "$root" "$dest/apt-sid/debs"
private_apt_init sid "$dest/apt-sid"
# The run-time closure of qemu-system-x86, without the packages that only exist for
# maintainer scripts, users or init systems (a private run needs none of them).
not_needed='^(base-passwd|debconf|cdebconf|libdebconfclient0|libdebian-installer4|passwd|login\.defs|opensysusers|systemd|systemd-standalone-sysusers|systemd-sysv|libpam-.*|libsemanage.*|readline-common|libtextwrap1|libnewt0\.52|libslang2|ipxe-qemu.*|adduser|init-system-helpers)$'
packages=$(private_apt_cache depends --recurse --no-recommends --no-suggests --no-conflicts \
  --no-breaks --no-replaces --no-enhances qemu-system-x86 |
  grep -v '^[ <]' | sort -u | grep -Ev "$not_needed")
# zlib and slirp are reached through alternatives apt-cache does not expand.
private_apt_unpack "$root" $packages zlib1g libslirp0
cat >"$wrapper" <<WRAP
#!/bin/sh
# qemu-system-x86_64 from Debian sid, with sid's loader, libraries, firmware and modules
# (without QEMU_MODULE_DIR it would load the system QEMU's modules and abort).
lib=$root/usr/lib/x86_64-linux-gnu
QEMU_MODULE_DIR=\$lib/qemu
export QEMU_MODULE_DIR
exec "\$lib/ld-linux-x86-64.so.2" --library-path "\$lib" "$root/usr/bin/qemu-system-x86_64" \\
  -L "$root/usr/share/qemu" -L "$root/usr/share/seabios" "\$@"
WRAP
chmod +x "$wrapper"
"$wrapper" --version >&2
echo "$wrapper"
