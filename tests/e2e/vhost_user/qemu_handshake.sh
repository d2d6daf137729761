#!/usr/bin/env bash
# e2e: QEMU 7.2 (TCG) starts a VM with vhost-user-fs-pci attached to virtiofsd-cxx.
# No guest kernel is needed: QEMU performs the vhost-user handshake while it realizes the
# device, then SeaBIOS runs for a few seconds. Passes if the daemon's log shows the
# handshake (protocol features negotiated, backend channel, per-queue call fds), QEMU
# reports no error, and the daemon exits 0 once QEMU quits.
#
#   usage: qemu_handshake.sh VIRTIOFSD_CXX [sid]
# With "sid" the QEMU is Debian sid's 11.1, fetched by tools/peers/get-qemu.sh.
set -u
daemon=$1
qemu=${QEMU:-qemu-system-x86_64}
if [ "${2:-}" = sid ]; then
  qemu=$("$(dirname "$0")/../../../tools/peers/get-qemu.sh" 2>/dev/null | tail -n1) || qemu=qemu-sid-unavailable
fi
if ! command -v "$qemu" >/dev/null; then
  # Under CI a missing peer is a failure, elsewhere a skip.
  [ "${CI:-}" = true ] && { echo "FAIL: $qemu not installed (CI=true requires it)"; exit 1; }
  echo "SKIP: $qemu not installed"
  exit 77
fi
work=$(mktemp -d /tmp/vfs-e2e-XXXXXX)
trap 'kill $dpid 2>/dev/null; rm -rf "$work"' EXIT
mkdir "$work/share"
sock=$work/vhost.sock

"$daemon" --socket-path="$sock" --shared-dir="$work/share" --log-level=debug \
    >"$work/daemon.log" 2>&1 &
dpid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || { echo "FAIL: daemon did not listen"; cat "$work/daemon.log"; exit 1; }

# QEMU runs until the timeout sends SIGTERM, which QEMU handles as a clean shutdown.
timeout -s TERM 8 "$qemu" -machine q35,accel=tcg -m 256M \
    -object memory-backend-memfd,id=mem,size=256M,share=on -numa node,memdev=mem \
    -chardev socket,id=char0,path="$sock" \
    -device vhost-user-fs-pci,chardev=char0,tag=myfs \
    -nographic -display none -serial none -monitor none -nodefaults \
    >"$work/qemu.log" 2>&1
qrc=$?

# The daemon exits on its own once QEMU closes the socket.
for _ in $(seq 50); do kill -0 $dpid 2>/dev/null || break; sleep 0.1; done
wait $dpid
drc=$?

fail=0
check() { grep -q "$1" "$work/daemon.log" || { echo "FAIL: daemon log lacks: $1"; fail=1; }; }
check "Client connected"
check "protocol features set"
check "GET_QUEUE_NUM"
check "GET_MAX_MEM_SLOTS"
check "backend request channel received"
check "SET_VRING_CALL"
check "Client disconnected"
if grep -qiE "error|fail" "$work/qemu.log"; then echo "FAIL: QEMU reported an error"; fail=1; fi
# timeout returns 124 when it had to stop QEMU, which is the expected way to end it.
if [ $qrc -ne 124 ] && [ $qrc -ne 0 ]; then echo "FAIL: QEMU exited $qrc"; fail=1; fi
[ $drc -eq 0 ] || { echo "FAIL: daemon exited $drc"; fail=1; }
if [ $fail -ne 0 ]; then
    echo "--- daemon log"; cat "$work/daemon.log"; echo "--- qemu log"; cat "$work/qemu.log"
    exit 1
fi
grep -E "protocol features set|backend request|Client" "$work/daemon.log"
echo "PASS: QEMU completed the vhost-user handshake with virtiofsd-cxx"
