#!/bin/busybox sh
# The migration e2e's guest (vfs.script=migrate): holds files open on the share and keeps
# appending numbered lines to them, through whatever migration the host runs, until the
# host creates MNT/stop. Prints MIG-TICK as it goes, and at the end MIG-DONE with the line
# count, the number of failed writes and the guest's checksum of each file.
# It also reads MNT/blobs/b0, b1, ... one per line written into the page cache (FUSE READs:
# the daemon writes guest RAM), over and over (the cache dropped after each round, so the
# daemon keeps refilling the same pages), until the host creates MNT/on-destination after
# the migration; at the end it prints each blob's checksum as the page cache holds it
# (MIG-BLOB): a page the daemon filled after QEMU copied it, and did not mark in the dirty
# log, arrives stale on the destination.
#   usage: guest_migrate.sh MNT
mnt=$1
# Opened before the migration and never reopened: the destination must serve these fds.
exec 3>>"$mnt/log-a.txt"
exec 4>>"$mnt/renamed-src.txt"
nblobs=$(ls "$mnt/blobs" 2>/dev/null | wc -l)
echo "MIG-OPEN blobs=$nblobs"
i=0 errs=0 reads=0 frozen=0
while [ ! -e "$mnt/stop" ]; do
  i=$((i + 1))
  echo "a $i" >&3 || errs=$((errs + 1))
  echo "r $i" >&4 || errs=$((errs + 1))
  if [ "$frozen" = 0 ] && [ "$nblobs" -gt 0 ]; then
    if [ -e "$mnt/on-destination" ]; then
      frozen=1
      echo "MIG-FROZEN line=$i reads=$reads"
    else
      k=$((reads % nblobs))
      [ "$k" -eq 0 ] && [ "$reads" -gt 0 ] && echo 1 >/proc/sys/vm/drop_caches
      cat "$mnt/blobs/b$k" >/dev/null || errs=$((errs + 1))
      reads=$((reads + 1))
    fi
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
