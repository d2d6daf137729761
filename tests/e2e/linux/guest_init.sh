#!/bin/busybox sh
# /init of the e2e guest. Kernel command line parameters:
#   vfs.tag=TAG        virtio-fs tag to mount at /mnt (or vfs.fstype=9p with a 9p tag)
#   vfs.script=NAME    full | basic (the e2e checks) | demo (list, read, write back)
#                      | shell (an interactive busybox shell, for tools/demo --linux)
#                      | migrate (tests/e2e/migration: writes through a live migration)
#                      | bench (tools/guest-bench; vfs.bench_size=BYTES vfs.bench_files=N
#                        vfs.bench_repeat=R vfs.bench_bs=4096,1048576 vfs.bench_seq_only=1
#                        vfs.bench_files_only=1)
#   vfs.cache=MODE     the daemon's cache mode, which the test script adapts to
#   vfs.mountopts=OPTS virtio-fs mount options (dax=always); the mount line is printed
#   vfs.read_ahead_kb=KB the mount's readahead (its bdi's read_ahead_kb), set after mount
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /lib/modules/order); do
  insmod "/lib/modules/$m.ko" 2>/dev/null || echo "init: insmod $m failed"
done
tag=myfs script=shell cache=auto fstype=virtiofs
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    vfs.tag=*) tag=${arg#vfs.tag=} ;;
    vfs.script=*) script=${arg#vfs.script=} ;;
    vfs.cache=*) cache=${arg#vfs.cache=} ;;
    vfs.fstype=*) fstype=${arg#vfs.fstype=} ;;
    vfs.mountopts=*) mountopts=${arg#vfs.mountopts=} ;;
    vfs.read_ahead_kb=*) read_ahead_kb=${arg#vfs.read_ahead_kb=} ;;
    vfs.bench_size=*) bench_size=${arg#vfs.bench_size=} ;;
    vfs.bench_files=*) bench_files=${arg#vfs.bench_files=} ;;
    vfs.bench_repeat=*) bench_repeat=${arg#vfs.bench_repeat=} ;;
    vfs.bench_bs=*) bench_bs=${arg#vfs.bench_bs=} ;;
    vfs.bench_seq_only=*) bench_seq_only=${arg#vfs.bench_seq_only=} ;;
    vfs.bench_files_only=*) bench_files_only=${arg#vfs.bench_files_only=} ;;
  esac
done
if [ "$fstype" = 9p ]; then
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 "$tag" /mnt
else
  mount -t virtiofs ${mountopts:+-o "$mountopts"} "$tag" /mnt
fi || { echo "E2E-FATAL mount $fstype $tag failed"; poweroff -f; }
echo "E2E-MOUNTED $fstype $tag"
[ -n "$mountopts" ] && echo "E2E-MOUNTS $(grep ' /mnt ' /proc/mounts)"
bdi=/sys/class/bdi/$(awk '$5 == "/mnt" { print $3 }' /proc/self/mountinfo)
[ -n "$read_ahead_kb" ] && echo "$read_ahead_kb" >"$bdi/read_ahead_kb"
[ "$script" = bench ] && echo "E2E-READAHEAD $(cat "$bdi/read_ahead_kb" 2>/dev/null) KiB," \
  "virtio features $(cat /sys/bus/virtio/devices/*/features 2>/dev/null | tr '\n' ' ')"
if [ "$script" = shell ]; then
  echo "The host folder is mounted at /mnt. Type 'poweroff -f' to leave."
  cd /mnt && setsid cttyhack sh
elif [ "$script" = bench ]; then
  for _ in $(seq "${bench_repeat:-1}"); do
    sh /bin/guest_bench.sh /mnt "${bench_size:-33554432}" "${bench_files:-1000}" \
      "$(echo "${bench_bs:-}" | tr , ' ')" "${bench_seq_only:-0}" "${bench_files_only:-0}"
  done
  echo "E2E-END"
elif [ "$script" = migrate ]; then
  sh /bin/guest_migrate.sh /mnt
  echo "E2E-END"
elif [ "$script" = demo ]; then
  echo "guest\$ ls -l /mnt" && ls -l /mnt
  echo "guest\$ cat /mnt/notes.txt" && cat /mnt/notes.txt
  echo "guest\$ echo ... > /mnt/from-guest.txt"
  echo "hello from a $(uname -s) $(uname -r) guest, written at $(date -u)" >/mnt/from-guest.txt
  echo "E2E-END"
else
  sh /bin/guest_fs_test.sh /mnt "$script" "$cache"
  echo "E2E-END"
fi
cd /
sync
umount /mnt
poweroff -f
