#!/bin/busybox sh
# The migration e2e's guest (vfs.script=migrate): holds files open on the share and keeps
# appending numbered lines to them, through whatever migration the host runs, until the
# host creates MNT/stop. Prints MIG-TICK as it goes, and at the end MIG-DONE with the line
# count, the number of failed writes and the guest's checksum of each file.
#   usage: guest_migrate.sh MNT
mnt=$1
# Opened before the migration and never reopened: the destination must serve these fds.
exec 3>>"$mnt/log-a.txt"
exec 4>>"$mnt/renamed-src.txt"
echo "MIG-OPEN"
i=0 errs=0
while [ ! -e "$mnt/stop" ]; do
  i=$((i + 1))
  echo "a $i" >&3 || errs=$((errs + 1))
  echo "r $i" >&4 || errs=$((errs + 1))
  [ $((i % 20)) -eq 0 ] && echo "MIG-TICK $i errs=$errs"
  usleep 20000
done
exec 3>&- 4>&-
# A new file after the migration: the session serves fresh requests without a new INIT.
echo "after $i" >"$mnt/after.txt" || errs=$((errs + 1))
sync
a=$(md5sum "$mnt/log-a.txt" | cut -d' ' -f1)
r=$(ls "$mnt" | grep -q renamed-dst.txt && md5sum "$mnt/renamed-dst.txt" | cut -d' ' -f1)
echo "MIG-DONE lines=$i errs=$errs a=$a r=${r:-none}"
