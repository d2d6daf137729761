#!/usr/bin/env bash
# Builds the e2e guest's initramfs: busybox-static, the virtio/fuse/virtiofs (and 9p)
# modules from the unpacked Debian kernel, vfs-probe, the init script and the guest test
# scripts. The guest's behaviour is chosen on the kernel command line (see guest_init.sh).
#   usage: build_initramfs.sh KERNEL_ROOT PROBE_BIN OUT.cpio.gz
set -euo pipefail
kroot=$1 probe=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
kver=$(basename "$(ls -d "$kroot"/lib/modules/*/ | head -n1)")
mods=$kroot/lib/modules/$kver/kernel
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
# mktemp -d is 0700: the guest's "/" must let non-root users (the idmap script) through.
chmod 0755 "$stage"
mkdir -p "$stage"/{bin,dev,proc,sys,mnt,tmp,lib/modules}
cp /bin/busybox "$stage/bin/busybox"
cp "$probe" "$stage/bin/vfs-probe"
# Load order matters: each module's dependencies come first.
for m in drivers/virtio/virtio_ring.ko drivers/virtio/virtio.ko \
         drivers/virtio/virtio_pci_legacy_dev.ko drivers/virtio/virtio_pci_modern_dev.ko \
         drivers/virtio/virtio_pci.ko fs/fuse/fuse.ko fs/fuse/virtiofs.ko \
         fs/netfs/netfs.ko fs/fscache/fscache.ko net/9p/9pnet.ko net/9p/9pnet_virtio.ko fs/9p/9p.ko; do
  src=$mods/$m
  [ -f "$src" ] || src=$(ls "$src".* 2>/dev/null | head -n1 || true)
  [ -n "$src" ] && [ -f "$src" ] || continue
  case "$src" in
    *.xz) xz -dc "$src" >"$stage/lib/modules/$(basename "$m")" ;;
    *.zst) zstd -qdc "$src" >"$stage/lib/modules/$(basename "$m")" ;;
    *) cp "$src" "$stage/lib/modules/$(basename "$m")" ;;
  esac
  basename "$m" .ko >>"$stage/lib/modules/order"
done
install -m 0755 "$here/guest_init.sh" "$stage/init"
install -m 0755 "$here/guest_fs_test.sh" "$stage/bin/guest_fs_test.sh"
install -m 0755 "$here/guest_bench.sh" "$stage/bin/guest_bench.sh"
install -m 0755 "$here/guest_migrate.sh" "$stage/bin/guest_migrate.sh"
(cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
