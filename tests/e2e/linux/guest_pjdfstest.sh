#!/bin/busybox sh
# Runs pjdfstest .t files in the e2e guest (by hand, run_pjdfstest.py; not a ctest). The
# guest has no perl/prove, so each file runs under busybox sh and its whole output goes to
# MNT/pjd-results/GROUP_NN.out, which the host counts. Kernel command line:
#   vfs.pjd=GROUP[,GROUP...]  the tests/GROUP/*.t files of /pjd (all groups if absent)
#   vfs.pjd_jobs=N            files run N at a time, each in its own directory (default 2)
#   vfs.pjd_limit=SECS        a file still running after SECS is killed (default 1200)
#   usage (from guest_init.sh, in place of guest_fs_test.sh): guest_pjdfstest.sh MNT ...
mnt=$1
groups="" jobs=2 limit=1200
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    vfs.pjd=*) groups=$(echo "${arg#vfs.pjd=}" | tr , ' ') ;;
    vfs.pjd_jobs=*) jobs=${arg#vfs.pjd_jobs=} ;;
    vfs.pjd_limit=*) limit=${arg#vfs.pjd_limit=} ;;
  esac
done
[ -n "$groups" ] || groups=$(cd /pjd/tests && ls -d */ | tr -d /)
files=""
for g in $groups; do files="$files $(ls /pjd/tests/$g/*.t)"; done
mkdir -p "$mnt/pjd-results" /tmp/claimed
echo "E2E-PJD start groups=$(echo $groups) files=$(echo $files | wc -w) jobs=$jobs limit=$limit"

# Every worker walks the whole list and runs the files it claims first (mkdir is atomic).
worker() {
  dir="$mnt/pjd-work-$1"
  mkdir -p "$dir" && cd "$dir" || return
  for t in $files; do
    name=$(echo "${t#/pjd/tests/}" | tr / _)
    mkdir "/tmp/claimed/$name" 2>/dev/null || continue
    start=$(date +%s)
    timeout -s KILL "$limit" sh "$t" >"$mnt/pjd-results/$name.out" 2>&1
    rc=$?
    out="$mnt/pjd-results/$name.out"
    echo "E2E-PJD file $name rc=$rc secs=$(($(date +%s) - start)) ok=$(grep -c '^ok ' "$out")" \
         "notok=$(grep -c '^not ok ' "$out")"
  done
}
i=0
while [ "$i" -lt "$jobs" ]; do worker "$i" & i=$((i + 1)); done
wait
sync
echo "E2E-PJD done"
