// How the unikernel reports its outcome to whoever runs QEMU.
//
// QEMU's `-device isa-debug-exit,iobase=0xf4,iosize=0x04` ends the VM when a value is
// written to port 0xf4, with process exit status (value << 1) | 1. QEMU's own statuses
// (0 = guest powered off / -no-reboot reset, 1 = QEMU error) are therefore never produced
// by a write, and "pass" is a deliberately non-trivial value so that neither a crash, a
// triple fault nor a missing device can look like success:
//
//   written  QEMU status  meaning
//   0x10     33           pass: the app returned 0
//   0x01      3           fail: the app returned non-zero
//   0x02      5           panic / failed assertion
//   0x03      7           CPU exception
//
// Without the device the write is ignored and the CPU halts forever.
#pragma once

#include <stdint.h>

namespace vfs::guest {

enum class ExitCode : uint8_t {
    kPass = 0x10,
    kFail = 0x01,
    kPanic = 0x02,
    kException = 0x03,
};

inline constexpr int qemu_status_for(ExitCode c) {
    return (static_cast<int>(c) << 1) | 1;
}
static_assert(qemu_status_for(ExitCode::kPass) == 33);

[[noreturn]] void exit_qemu(ExitCode code);

}  // namespace vfs::guest
