#!/bin/busybox sh
# The migration e2e's guest (vfs.script=migrate): holds files open on the share and keeps
# appending numbered lines to them, through whatever migration the host runs, until the
# host creates MNT/stop. Prints MIG-TICK as it goes, and at the end MIG-DONE with the line
# count, the number of failed writes and the guest's checksum of each file.
# It also reads MNT/blobs/b0, b1, ... one per line written, each once, into the page cache
# (FUSE READs: the daemon writes guest RAM), and at the end prints each one's checksum as
# the page cache holds it (MIG-BLOB): a blob read while RAM was being copied and not
# marked in the dirty log arrives stale on the destination.
#   usage: guest_migrate.sh MNT
mnt=$1
# Opened before the migration and never reopened: the destination must serve these fds.
exec 3>>"$mnt/log-a.txt"
exec 4>>"$mnt/renamed-src.txt"
nblobs=$(ls "$mnt/blobs" 2>/dev/null | wc -l)
echo "MIG-OPEN blobs=$nblobs"
i=0 errs=0
while [ ! -e "$mnt/stop" ]; do
  i=$((i + 1))
  echo "a $i" >&3 || errs=$((errs + 1))
  echo "r $i" >&4 || errs=$((errs + 1))
  k=$((i - 1))
  if [ "$k" -lt "$nblobs" ]; then
    cat "$mnt/blobs/b$k" >/dev/null || errs=$((errs + 1))
  fi
  [ $((i % 20)) -eq 0 ] && echo "MIG-TICK $i errs=$errs"
  usleep 20000
done
exec 3>&- 4>&-
# A new file after the migration: the session serves fresh requests without a new INIT.
echo "after $i" >"$mnt/after.txt" || errs=$((errs + 1))
sync
a=$(md5sum "$mnt/log-a.txt" | cut -d' ' -f1)
r=$(ls "$mnt" | grep -q renamed-dst.txt && md5sum "$mnt/renamed-dst.txt" | cut -d' ' -f1)
k=0
while [ "$k" -lt "$nblobs" ]; do
  echo "MIG-BLOB $k $(md5sum "$mnt/blobs/b$k" | cut -d' ' -f1)"
  k=$((k + 1))
done
echo "MIG-DONE lines=$i errs=$errs a=$a r=${r:-none}"
