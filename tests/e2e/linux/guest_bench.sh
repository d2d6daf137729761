#!/bin/sh
# The thesis's file-system benchmarks, run inside the Linux guest on the mount: sequential
# and random read and write over buffer sizes (and a sequential rewrite of the existing
# file, which no write extends), then create, list and remove. vfs-probe
# times each one and prints a BENCH line; tools/guest-bench collects them.
#   usage: guest_bench.sh MOUNT SIZE_BYTES FILES [BLOCK_SIZES [SEQ_ONLY [FILES_ONLY]]]
M=$1 size=$2 files=$3 sizes=${4:-"4096 16384 65536 262144 1048576"} seq_only=${5:-0}
[ "${6:-0}" = 1 ] && sizes="" seq_only=files
B=$M/bench
mkdir -p "$B/files"
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }
for bs in $sizes; do
  vfs-probe bench-write "$B/seq.bin" "$size" $bs seq
  drop_caches
  vfs-probe bench-read "$B/seq.bin" $bs seq
  drop_caches
  vfs-probe bench-write "$B/seq.bin" "$size" $bs rewrite
done
if [ "$seq_only" != 1 ]; then
  [ "$seq_only" = files ] || for bs in 4096 65536; do
    drop_caches
    vfs-probe bench-read "$B/seq.bin" $bs rand
    vfs-probe bench-write "$B/seq.bin" "$size" $bs rand
  done
  vfs-probe bench-files "$B/files" "$files"
fi
rm -rf "$B"
